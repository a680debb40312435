//! Unit tests of the escalate step: warning and breach in, decisions out.

use super::*;
use serde_json::json;

fn event(kind: &str, payload: serde_json::Value) -> Event {
    Event {
        id: 7,
        kind: kind.into(),
        at: 1_795_163_400_000,
        message: None,
        customer: Some(3),
        ticket: Some(12),
        payload,
    }
}

fn config(yaml: serde_json::Value) -> Config {
    serde_json::from_value(yaml).unwrap()
}

fn commands(decisions: &[Decision]) -> Vec<serde_json::Value> {
    decisions
        .iter()
        .map(|d| serde_json::to_value(&d.command).unwrap())
        .collect()
}

fn lead() -> Config {
    config(json!({
        "warning": { "priority": "high" },
        "breach": { "priority": "urgent", "assign": { "team": "leads", "agent": "marie" } }
    }))
}

#[test]
fn a_warning_raises_priority_to_high() {
    let e = event(
        "sla.warning",
        json!({ "kind": "first-response", "policy": "amazon-24h", "priority": "normal", "worst": "warned" }),
    );
    let decisions = decide(&e, &lead()).unwrap();
    assert_eq!(decisions.len(), 1);
    let command = &commands(&decisions)[0];
    assert_eq!(command["value"], "high", "{command}");
    assert_eq!(command["name"], "priority", "{command}");
    assert!(
        decisions[0].reason.starts_with("priority normal → high"),
        "{}",
        decisions[0].reason
    );
    assert!(decisions[0].reason.contains("amazon-24h"));
}

#[test]
fn a_breach_makes_it_urgent_and_hands_it_to_the_lead() {
    let e = event(
        "sla.breached",
        json!({ "kind": "first-response", "policy": "équipe-berlin 東京", "priority": "high", "worst": "breached" }),
    );
    let decisions = decide(&e, &lead()).unwrap();
    let names: Vec<&str> = decisions.iter().map(|d| d.command.name()).collect();
    assert_eq!(names, ["set-field", "assign"]);
    assert!(decisions[0].reason.contains("high → urgent"));
    assert!(decisions[1].reason.contains("marie / leads"), "{}", decisions[1].reason);
    assert!(decisions[1].reason.contains("équipe-berlin 東京"));
    match &decisions[1].command {
        Command::Assign(a) => {
            assert_eq!(a.ticket, TicketRef::Existing(12));
            assert_eq!(a.team.as_deref(), Some("leads"));
        }
        other => panic!("not an assign: {other:?}"),
    }
}

#[test]
fn priority_is_never_lowered() {
    // Urgent from the router stays urgent when a warning fires.
    let e = event(
        "sla.warning",
        json!({ "kind": "first-response", "policy": "p", "priority": "urgent" }),
    );
    assert!(decide(&e, &lead()).unwrap().is_empty());
    // A warning after another deadline breached keeps the breach level, without reassigning.
    let e = event(
        "sla.warning",
        json!({ "kind": "resolution", "policy": "p", "priority": "high", "worst": "breached" }),
    );
    let decisions = decide(&e, &lead()).unwrap();
    assert_eq!(decisions.len(), 1);
    assert!(decisions[0].reason.contains("high → urgent"));
    assert_eq!(decisions[0].evidence.len(), 2);
}

#[test]
fn unset_priority_and_defaults() {
    let e = event("sla.breached", json!({ "kind": "next-response", "policy": "ebay-24h" }));
    let decisions = decide(&e, &Config::default()).unwrap();
    assert_eq!(decisions.len(), 1, "no assign configured by default");
    assert!(decisions[0].reason.starts_with("priority unset → urgent"));
}

#[test]
fn other_events_get_nothing_and_a_ticketless_timer_is_an_error() {
    let e = event("message.received", json!({}));
    assert!(decide(&e, &lead()).unwrap().is_empty());
    let mut e = event("sla.breached", json!({}));
    e.ticket = None;
    let error = decide(&e, &lead()).unwrap_err();
    assert!(error.message().contains("names no ticket"), "{error}");
}

#[test]
fn bad_config_is_rejected() {
    let bad: Result<Config, _> = serde_json::from_value(json!({ "warning": { "priority": "very-high" } }));
    assert!(bad.unwrap_err().to_string().contains("unknown variant `very-high`"));
    let bad: Result<Config, _> = serde_json::from_value(json!({ "breach": { "escalate": true } }));
    assert!(bad.unwrap_err().to_string().contains("unknown field `escalate`"));
}
