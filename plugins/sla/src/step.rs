//! The step: which ticket event starts which clocks, and the `set-deadline` decisions.
//!
//! Events the step understands (anything else gets no decision):
//! - `message.received` with `event.ticket` and `event.message`: the **first message** of a
//!   ticket starts first-response and resolution; a later buyer message starts next-response,
//!   unless a response clock of the same policy still runs (the buyer wrote again before anyone
//!   answered: the running clock already covers it). The first message is the one whose ticket
//!   was opened no earlier than the message was sent (`ticket.opened_at >= message.at`); an
//!   explicit payload `first_message: true|false` wins. An automatic message (an out-of-office
//!   answer) starts nothing.
//! - `message.sent` (a reply): clocks are stopped by the engine when an agent answers; an
//!   automatic reply (payload `automatic: true`) never stops a clock. This step sets no
//!   deadline for either; [`Signal::Reply`] carries the flag so the rule lives here.
//! - `ticket.status_changed`, and every buyer message: clocks paused by a status the policy
//!   lists in `pause_on` resume once the ticket's status is no longer one of them. The time
//!   left on the clock when it paused (business time on a business clock) is counted again
//!   from the resume, so a deadline moves by exactly the paused time of its own clock.
//!
//! Clocks start at `event.at`. Priority comes from the payload's `priority` (the ticket view has
//! none yet), category from the payload's `category` or the ticket view.

use crate::calendar::{add_business_duration, business_duration_between};
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
    /// A machine wrote (an out-of-office answer): no clock starts.
    Automatic,
    /// The ticket's status changed: paused clocks may resume.
    StatusChanged,
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
            if message.automatic {
                Signal::Automatic
            } else if first {
                Signal::NewTicket
            } else {
                Signal::BuyerMessage
            }
        }
        "ticket.status_changed" => Signal::StatusChanged,
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
        Signal::Reply { .. } | Signal::Automatic | Signal::StatusChanged => &[],
    }
}

/// Every decision of one event: clocks the event starts, and paused clocks it resumes.
pub fn decide(compiled: &Compiled, event: &Event, ctx: &dyn Context) -> Result<Vec<Decision>, Error> {
    let Some((signal, facts)) = read_event(event, ctx) else {
        return Ok(Vec::new());
    };
    let Some(number) = event.ticket else {
        return Ok(Vec::new());
    };
    let at = Timestamp::from_millisecond(event.at)
        .map_err(|e| Error::permanent(format!("event.at {} is not a time: {e}", event.at)))?;
    let existing = match signal {
        Signal::BuyerMessage | Signal::StatusChanged => ctx.ticket_deadlines(number),
        _ => Vec::new(),
    };
    let mut out = Vec::new();
    if !existing.is_empty() {
        let status = ctx.ticket(number).map(|t| t.status).unwrap_or_default();
        out.extend(resumed(compiled, &existing, &status, at)?);
    }
    for decision in deadlines(compiled, signal, &facts, at)? {
        let Command::SetDeadline(set) = &decision.command else {
            continue;
        };
        // A buyer writing again before anyone answered is covered by the clock that runs.
        let running = existing.iter().any(|d| {
            d.is_open() && d.policy == set.policy && RESPONSE.contains(&d.kind.as_str()) && d.state != "breached"
        });
        if signal == Signal::BuyerMessage && running {
            continue;
        }
        out.push(decision);
    }
    Ok(out)
}

/// The deadline kinds an answer stops.
const RESPONSE: [&str; 2] = ["first-response", "next-response"];

/// Resumes the paused deadlines whose policy does not pause on `status`.
fn resumed(
    compiled: &Compiled,
    existing: &[DeadlineView],
    status: &str,
    at: Timestamp,
) -> Result<Vec<Decision>, Error> {
    let mut out = Vec::new();
    for d in existing {
        let (Some(since), true) = (d.paused_since, d.is_open()) else {
            continue;
        };
        let Some(policy) = compiled.policies.iter().find(|p| p.name == d.policy) else {
            continue;
        };
        if policy.pause_on.iter().any(|s| s == status) {
            continue;
        }
        let Some(&(target, duration)) = policy.targets.iter().find(|(t, _)| t.as_str() == d.kind) else {
            continue;
        };
        out.push(resume(policy, target, duration, d, since, status, at)?);
    }
    Ok(out)
}

/// One paused deadline resumed at `at`: the time its clock had left at the pause counts on.
fn resume(
    policy: &Policy,
    target: Target,
    duration: SignedDuration,
    d: &DeadlineView,
    since: i64,
    status: &str,
    at: Timestamp,
) -> Result<Decision, Error> {
    let fail = |e: crate::calendar::CalendarError| Error::permanent(format!("policy {:?}: {e}", policy.name));
    let time =
        |ms: i64| Timestamp::from_millisecond(ms).map_err(|e| Error::permanent(format!("deadline time {ms}: {e}")));
    let (paused_at, due) = (time(since)?, time(d.due)?);
    let add = |from: Timestamp, span: SignedDuration| -> Result<Timestamp, Error> {
        match &policy.clock {
            Clock::Always => from.checked_add(span).map_err(|e| Error::permanent(e.to_string())),
            Clock::Business(calendar) => Ok(add_business_duration(from, span, calendar).map_err(fail)?.at),
        }
    };
    let left = match &policy.clock {
        Clock::Always => due.duration_since(paused_at),
        Clock::Business(calendar) => business_duration_between(paused_at, due, calendar).map_err(fail)?,
    };
    // Paused after it was due (a backlog): it stays due when it was.
    let new_due = if left.is_positive() { add(at, left)? } else { due };
    let mut warn_at = Vec::new();
    for lead in policy.warn_before.iter().filter(|l| **l < duration) {
        // A warning whose time had come before the pause fires now if it has not fired yet;
        // the engine never fires one twice.
        warn_at.push(if left > *lead { add(at, left - *lead)? } else { at }.as_millisecond());
    }
    let reason = format!(
        "{} resumed under policy {:?}: paused since {paused_at}, status now {status}; {} left on its clock, due {new_due}",
        target.as_str(),
        policy.name,
        show_duration(left.max(SignedDuration::ZERO)),
    );
    let evidence = vec![
        Evidence::new(
            "paused",
            format!(
                "paused from {paused_at} to {at} ({}), while the status was one of {}",
                show_duration(at.duration_since(paused_at)),
                policy.pause_on.join(", ")
            ),
            1.0,
        ),
        Evidence::new("moved", format!("due moved from {due} to {new_due}"), 1.0),
    ];
    let command = Command::SetDeadline(SetDeadline {
        ticket: TicketRef::Current,
        kind: target.as_str().to_owned(),
        policy: policy.name.clone(),
        due: new_due.as_millisecond(),
        warn_at,
        pause_on: policy.pause_on.clone(),
    });
    Ok(Decision::new(command, reason).with_evidence(evidence))
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
    // Said in the reason too when the holiday data did not cover a year the clock ran through.
    let mut uncovered = String::new();
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
                let set = calendar.holiday_label().unwrap_or_default();
                let covered = calendar
                    .holiday_years()
                    .map(|y| format!(" (data covers {}..={})", y.start(), y.end()))
                    .unwrap_or_default();
                let text = format!(
                    "no holiday data for {set} in {}{covered}: counted weekly hours and closed dates only",
                    years.join(", ")
                );
                uncovered = format!("; {text}");
                evidence.push(Evidence::new("holidays", text, 0.5));
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
        "{} due {due}{local} under policy {:?} ({} on its clock){uncovered}",
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
        pause_on: policy.pause_on.clone(),
    });
    Ok(Decision::new(command, reason).with_evidence(evidence))
}
