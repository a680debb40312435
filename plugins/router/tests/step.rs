//! The step end to end with `MemoryContext`: each `cases/<name>.json` holds a `config` and an
//! `event`; the decisions it gives are compared with `cases/<name>.out.json`
//! (regenerate with `BLESS=1`).

use std::path::Path;
use weft_plugin_router::{Config, Router};
use weft_sdk::Step;
use weft_sdk::testing::MemoryContext;
use weft_sdk::{Event, plugin::parse_config};

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct Case {
    config: serde_json::Value,
    event: Event,
}

fn check(path: &Path) -> Result<(), String> {
    let case: Case = serde_json::from_str(&std::fs::read_to_string(path).unwrap())
        .map_err(|e| format!("{}: {e}", path.display()))?;
    let config: Config = parse_config(&case.config.to_string()).map_err(|e| format!("{}: {e}", path.display()))?;
    let actual = match Router::decide(&case.event, &config, &MemoryContext::new()) {
        Ok(decisions) => serde_json::to_string_pretty(&decisions).unwrap(),
        Err(e) => format!("error: {e}"),
    } + "\n";
    let expected_path = path.with_extension("out.json");
    if std::env::var_os("BLESS").is_some() {
        std::fs::write(&expected_path, &actual).unwrap();
        return Ok(());
    }
    let expected = std::fs::read_to_string(&expected_path).unwrap_or_default();
    if expected != actual {
        return Err(format!(
            "{}: decisions differ from {}; got:\n{actual}",
            path.display(),
            expected_path.display()
        ));
    }
    Ok(())
}

#[test]
fn cases() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/cases");
    let mut paths: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.to_string_lossy().ends_with(".json") && !p.to_string_lossy().ends_with(".out.json"))
        .collect();
    paths.sort();
    assert!(paths.len() >= 8, "expected the case files in {}", dir.display());
    let failures: Vec<String> = paths.iter().filter_map(|p| check(p).err()).collect();
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

#[test]
fn config_problems_are_all_reported() {
    let config: Config = parse_config(
        r#"{"min_confidence": 1.5, "teams": {"a": {"agents": [], "skills": ["refunds"]}},
            "rules": [{"team": "b"}, {"if_intent": "refund", "team": "a", "agent": "zed"}],
            "default_team": "c"}"#,
    )
    .unwrap();
    let event: Event = serde_json::from_str(
        r#"{"id":1,"kind":"message.received","at":0,"ticket":7,"message":{"channel":"email","id":"m","at":0,"body":"hi"}}"#,
    )
    .unwrap();
    let err = Router::decide(&event, &config, &MemoryContext::new()).unwrap_err();
    let message = err.message();
    for expected in [
        "min_confidence: 1.5 is not between 0 and 1",
        "teams.a.agents: a team needs at least one agent",
        "teams.a.skills[0]: unknown intent `refunds`",
        "rules[0]: a rule needs at least one condition",
        "rules[0].team: unknown team `b`, expected one of a",
        "rules[1].agent: `zed` is not an agent of team `a`",
        "default_team: unknown team `c`",
    ] {
        assert!(message.contains(expected), "missing `{expected}` in: {message}");
    }
    let err = parse_config::<Config>(r#"{"teams": {"a": {"agents": ["x"], "skils": []}}}"#).unwrap_err();
    assert!(err.message().contains("unknown field `skils`"), "{err}");
    let err = parse_config::<Config>(r#"{"strategy": "random"}"#).unwrap_err();
    assert!(err.message().contains("unknown variant `random`"), "{err}");
}

#[test]
fn schema_is_published() {
    let schema = weft_sdk::plugin::config_schema::<Config>().to_string();
    for field in [
        "min_confidence",
        "teams",
        "strategy",
        "rules",
        "default_team",
        "if_keyword",
        "skill-language",
    ] {
        assert!(schema.contains(field), "schema lacks {field}");
    }
}

/// A message that follows up on a ticket an earlier message classified keeps the ticket's
/// category, and the evidence says the encoder was not asked for it. A ticket's first message,
/// or a ticket only triage has seen, is classified as usual.
#[test]
fn follow_ups_keep_their_tickets_category() {
    use weft_sdk::{Command, MessageSummary, TicketView};
    // (ticket's category, an earlier message on it?, follow-up text, expected category, kept?)
    let cases: &[(Option<&str>, bool, &str, &str, bool)] = &[
        (
            Some("refund"),
            true,
            "I'm still waiting for an answer about my order 302-1234567-7654321. Please get back to me.",
            "refund",
            true,
        ),
        (
            Some("refund"),
            true,
            "Ich warte noch auf eine Antwort zu meiner Bestellung 48213. Bitte melden Sie sich.",
            "refund",
            true,
        ),
        (
            Some("damaged-defective-wrong"),
            true,
            "J'attends toujours une réponse concernant ma commande 4471. Merci de me répondre.",
            "damaged-defective-wrong",
            true,
        ),
        (
            Some("cancellation"),
            true,
            "Sigo esperando una respuesta sobre mi pedido 1182. Por favor contéstenme.",
            "cancellation",
            true,
        ),
        (
            Some("product-question"),
            true,
            "Sto ancora aspettando una risposta sul mio ordine 7781.",
            "product-question",
            true,
        ),
        (
            Some("return"),
            true,
            "注文2231について、まだ返信をいただいていません。ご対応をお願いします。",
            "return",
            true,
        ),
        (
            Some("where-is-my-order"),
            true,
            "关于订单5521我还在等回复，请尽快处理。",
            "where-is-my-order",
            true,
        ),
        (
            Some("refund"),
            true,
            "لم أتلق أي رد بعد بخصوص طلبي 8812",
            "refund",
            true,
        ),
        (Some("gift-wrap"), true, "Any update on this?", "gift-wrap", true),
        // Even where the n-gram model reads something else with some certainty.
        (
            Some("product-question"),
            true,
            "This is unacceptable, nobody answers my emails. Worst service ever!",
            "product-question",
            true,
        ),
        // Triage saw it before: classified as a first message would be.
        (
            Some("triage"),
            true,
            "Hi, my order 302-1234567-7654321 still hasn't arrived. The tracking hasn't updated in days. Where is my parcel?",
            "where-is-my-order",
            false,
        ),
        // The ticket's first message (a replay): classified as usual.
        (
            Some("refund"),
            false,
            "Hi, my order 302-1234567-7654321 still hasn't arrived. The tracking hasn't updated in days. Where is my parcel?",
            "where-is-my-order",
            false,
        ),
        (
            None,
            true,
            "Hi, my order 302-1234567-7654321 still hasn't arrived. The tracking hasn't updated in days. Where is my parcel?",
            "where-is-my-order",
            false,
        ),
    ];
    let config: Config = parse_config(
        r#"{"min_confidence": 0.35, "default_team": "general", "teams": {"general": {"agents": ["pat"]}}}"#,
    )
    .unwrap();
    let mut failures = Vec::new();
    for (i, (category, earlier, text, expected, kept)) in cases.iter().enumerate() {
        let ticket = 40 + i as u64;
        let mut ctx = MemoryContext::new().with_ticket(TicketView {
            number: ticket,
            customer: Some(1),
            status: "open".into(),
            subject: None,
            order: None,
            category: category.map(str::to_owned),
            opened_at: 1_795_000_000_000,
            updated_at: 1_795_000_000_000,
            merged_into: None,
            assignee: None,
            priority: None,
        });
        let this = weft_sdk::Message {
            body: text.to_string(),
            ..weft_sdk::Message::new("email", format!("m-{i}"), 1_795_000_100_000)
        };
        ctx = ctx.with_message(ticket, MessageSummary::of(&this));
        if *earlier {
            let first = weft_sdk::Message {
                body: "the first message".into(),
                ..weft_sdk::Message::new("email", format!("m-{i}-first"), 1_795_000_000_000)
            };
            ctx = ctx.with_message(ticket, MessageSummary::of(&first));
        }
        let event = Event {
            id: 1,
            kind: "message.received".into(),
            at: 1_795_000_100_000,
            message: Some(this),
            customer: Some(1),
            ticket: Some(ticket),
            payload: serde_json::Value::Null,
        };
        let decisions = Router::decide(&event, &config, &ctx).unwrap();
        let decision = decisions
            .iter()
            .find(|d| matches!(&d.command, Command::SetField(f) if f.name == "category"))
            .unwrap();
        let Command::SetField(field) = &decision.command else {
            unreachable!()
        };
        let was_kept = decision.reason.starts_with("kept ");
        let said_why = decision.evidence.iter().any(|e| {
            e.field == "embeddings"
                && e.detail
                    .starts_with("not used: a follow-up on a ticket already classified")
        });
        if field.value != *expected || was_kept != *kept || (*kept && !said_why) {
            failures.push(format!(
                "case {i} ({text}): got {} (reason: {}; evidence {:?})",
                field.value, decision.reason, decision.evidence
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
