//! The step: which ticket event starts which clocks, and the `set-deadline` decisions.
//!
//! Events the step understands (anything else gets no decision):
//! - `message.received` with `event.ticket` and `event.message`: the **first message** of a
//!   ticket starts first-response and resolution; a later buyer message starts next-response.
//!   The first message is the one whose ticket was opened no earlier than the message was sent
//!   (`ticket.opened_at >= message.at`); an explicit payload `first_message: true|false` wins.
//! - `message.sent` (a reply): clocks are stopped by the engine when an agent answers; an
//!   automatic reply (payload `automatic: true`) never stops a clock. This step sets no
//!   deadline for either; [`Signal::Reply`] carries the flag so the rule lives here.
//!
//! Clocks start at `event.at`. Priority comes from the payload's `priority` (the ticket view has
//! none yet), category from the payload's `category` or the ticket view.

use crate::calendar::add_business_duration;
use crate::policy::{Clock, Compiled, Policy, Target, TicketFacts, show_duration};
use jiff::{SignedDuration, Timestamp};
use weft_sdk::prelude::*;

/// What happened to the ticket, as far as clocks care.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Signal {
    /// The ticket's first message: first-response and resolution start.
    NewTicket,
    /// A later message from the buyer: next-response starts.
    BuyerMessage,
    /// A reply went out; `automatic` replies (auto-acknowledgements) never stop a clock.
    Reply { automatic: bool },
}

/// The clocks an event starts, or `None` when it starts none.
pub fn read_event(event: &Event, ctx: &dyn Context) -> Option<(Signal, TicketFacts)> {
    let number = event.ticket?;
    let ticket = ctx.ticket(number);
    let payload_str = |key: &str| event.payload.get(key).and_then(|v| v.as_str()).map(str::to_owned);
    let message = event.message.as_ref();
    let facts = TicketFacts {
        channel: message.map(|m| m.channel.clone()),
        marketplace: message.and_then(|m| m.marketplace.clone()),
        priority: payload_str("priority"),
        category: payload_str("category").or_else(|| ticket.as_ref().and_then(|t| t.category.clone())),
    };
    let signal = match event.kind.as_str() {
        "message.received" => {
            let message = message?;
            let first = match event.payload.get("first_message").and_then(|v| v.as_bool()) {
                Some(first) => first,
                None => ticket.as_ref().is_some_and(|t| t.opened_at >= message.at),
            };
            if first { Signal::NewTicket } else { Signal::BuyerMessage }
        }
        "message.sent" => Signal::Reply {
            automatic: event
                .payload
                .get("automatic")
                .and_then(|v| v.as_bool())
                .unwrap_or(false),
        },
        _ => return None,
    };
    Some((signal, facts))
}

/// The targets a signal starts.
fn targets(signal: Signal) -> &'static [Target] {
    match signal {
        Signal::NewTicket => &[Target::FirstResponse, Target::Resolution],
        Signal::BuyerMessage => &[Target::NextResponse],
        Signal::Reply { .. } => &[],
    }
}

/// One `set-deadline` decision per matching policy and started target, from `at`.
pub fn deadlines(
    compiled: &Compiled,
    signal: Signal,
    facts: &TicketFacts,
    at: Timestamp,
) -> Result<Vec<Decision>, Error> {
    let mut out = Vec::new();
    for policy in &compiled.policies {
        let Some(why) = policy.matcher.check(facts) else {
            continue;
        };
        for &(target, duration) in &policy.targets {
            if targets(signal).contains(&target) {
                out.push(deadline(policy, &why, target, duration, at)?);
            }
        }
    }
    Ok(out)
}

fn deadline(
    policy: &Policy,
    why: &[String],
    target: Target,
    duration: SignedDuration,
    at: Timestamp,
) -> Result<Decision, Error> {
    let fail = |e: crate::calendar::CalendarError| Error::permanent(format!("policy {:?}: {e}", policy.name));
    let mut evidence = vec![Evidence::new(
        "policy",
        format!("policy {:?} applies: {}", policy.name, why.join(", ")),
        1.0,
    )];
    let leads: Vec<SignedDuration> = policy.warn_before.iter().copied().filter(|l| *l < duration).collect();
    let dropped: Vec<String> = policy
        .warn_before
        .iter()
        .filter(|l| **l >= duration)
        .map(|l| show_duration(*l))
        .collect();
    let (due, warn_at, clock, local) = match &policy.clock {
        Clock::Always => {
            let due = at.checked_add(duration).map_err(|e| Error::permanent(e.to_string()))?;
            let mut warn_at = Vec::new();
            for lead in &leads {
                warn_at.push(due.checked_sub(*lead).map_err(|e| Error::permanent(e.to_string()))?);
            }
            let clock = "clock always: 24/7, weekends and holidays count".to_owned();
            (due, warn_at, clock, String::new())
        }
        Clock::Business(calendar) => {
            let reached = add_business_duration(at, duration, calendar).map_err(fail)?;
            let mut warn_at = Vec::new();
            for lead in &leads {
                // A lead time is business time: the warning fires when `lead` of open hours is
                // left before the deadline.
                warn_at.push(add_business_duration(at, duration - *lead, calendar).map_err(fail)?.at);
            }
            if !reached.skipped.is_empty() {
                let days: Vec<String> = reached
                    .skipped
                    .iter()
                    .map(|s| format!("{} {}", s.date, s.why))
                    .collect();
                evidence.push(Evidence::new(
                    "skipped",
                    format!("closed days skipped: {}", days.join("; ")),
                    1.0,
                ));
            }
            if !reached.uncovered_years.is_empty() {
                let years: Vec<String> = reached.uncovered_years.iter().map(i16::to_string).collect();
                evidence.push(Evidence::new(
                    "holidays",
                    format!(
                        "no holiday data for {}: counted weekly hours and closed dates only",
                        years.join(", ")
                    ),
                    0.5,
                ));
            }
            let holidays = calendar
                .holiday_label()
                .map(|h| format!(", holidays {h}"))
                .unwrap_or_default();
            let clock = format!(
                "clock business-hours: calendar {:?} ({}{holidays}), open hours only",
                calendar.name(),
                calendar.zone_name()
            );
            let local = format!(" ({})", calendar.local(reached.at));
            (reached.at, warn_at, clock, local)
        }
    };
    evidence.push(Evidence::new("clock", clock, 1.0));
    evidence.push(Evidence::new(
        "started",
        format!("{} of {} from {at}", show_duration(duration), target.as_str()),
        1.0,
    ));
    if !leads.is_empty() {
        let shown: Vec<String> = leads.iter().map(|l| show_duration(*l)).collect();
        evidence.push(Evidence::new(
            "warnings",
            format!("warnings {} before due", shown.join(", ")),
            1.0,
        ));
    }
    if !dropped.is_empty() {
        evidence.push(Evidence::new(
            "warnings",
            format!(
                "warnings {} dropped: not shorter than the {} target",
                dropped.join(", "),
                show_duration(duration)
            ),
            1.0,
        ));
    }
    if !policy.pause_on.is_empty() {
        evidence.push(Evidence::new(
            "pause_on",
            format!("clock pauses while status is {}", policy.pause_on.join(" or ")),
            1.0,
        ));
    }
    let reason = format!(
        "{} due {due}{local} under policy {:?} ({} on its clock)",
        target.as_str(),
        policy.name,
        show_duration(duration)
    );
    let command = Command::SetDeadline(SetDeadline {
        ticket: TicketRef::Current,
        kind: target.as_str().to_owned(),
        policy: policy.name.clone(),
        due: due.as_millisecond(),
        warn_at: warn_at.iter().map(|w| w.as_millisecond()).collect(),
    });
    Ok(Decision::new(command, reason).with_evidence(evidence))
}
