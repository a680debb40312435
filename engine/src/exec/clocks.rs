//! What stops a deadline's clock: an agent's reply, or a status that ends the wait.
//!
//! Replies reach the engine as `message.sent` events ([`record_reply`]). Before any workflow
//! sees one, the engine puts the reply on its ticket (the event's ticket, else the channel
//! conversation, the messages it replies to, or its order) and, unless it is automatic (an
//! auto-acknowledgement), stops the ticket's first- and next-response clocks that started
//! before it. Stopped deadlines are `met` and their pending warnings and breach never fire; a
//! deadline that was already breached stays breached. `sla.met` is queued for workflows that
//! listen. A status change ([`set_status`]) stops clocks the same way and is logged as a
//! decision. A status also pauses the clocks whose policy lists it in `pause_on`; every status
//! change queues `ticket.status_changed`, on which the `sla` step resumes paused clocks when the
//! new status no longer pauses them (only the step knows its calendars). SLA timer events (`sla.warning`, `sla.breached`) reach their workflows with the
//! ticket's current `priority` and the `worst` deadline state when they fired.

use super::apply::EventState;
use super::process::StepError;
use crate::store::apply::Origin;
use crate::store::queue::QueuedEvent;
use crate::store::sla::{Paused, Stopped};
use crate::store::{Store, StoreError, Unit};
use serde_json::json;
use weft_sdk::{Command, Decision, Evidence, Message, SetField, TicketRef};

/// The deadlines a reply answers.
pub const RESPONSE_KINDS: &[&str] = &["first-response", "next-response"];

/// The deadline kind that only solving a ticket stops.
const RESOLUTION: &str = "resolution";

/// A ticket status an agent can set, and the clocks it stops. Any status can also pause the
/// clocks of policies that list it in `pause_on`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Status {
    /// Being worked on; stops nothing (and resumes clocks paused by another status).
    Open,
    /// Nothing to answer (a "thank you", spam): response clocks stop; resolution runs on.
    NoResponseNeeded,
    /// Done: every clock stops.
    Solved,
    /// The agent asked the buyer something: response clocks stop until the buyer writes again.
    WaitingOnBuyer,
    /// A seller's own status (`waiting-on-supplier`): stops nothing, may pause clocks.
    Other(String),
}

impl Status {
    /// Reads a status: lowercase letters, digits and `-`, starting with a letter.
    pub fn parse(text: &str) -> Result<Status, String> {
        let valid = text.starts_with(|c: char| c.is_ascii_lowercase())
            && text
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-');
        if !valid {
            return Err(format!(
                "status {text:?}: expected lowercase letters, digits and `-`, like `waiting-on-buyer`"
            ));
        }
        Ok(match text {
            "open" => Status::Open,
            "no-response-needed" => Status::NoResponseNeeded,
            "solved" => Status::Solved,
            "waiting-on-buyer" => Status::WaitingOnBuyer,
            other => Status::Other(other.to_owned()),
        })
    }

    /// The status as stored: `open`, `no-response-needed`, `solved`, `waiting-on-buyer`, ...
    pub fn as_str(&self) -> &str {
        match self {
            Status::Open => "open",
            Status::NoResponseNeeded => "no-response-needed",
            Status::Solved => "solved",
            Status::WaitingOnBuyer => "waiting-on-buyer",
            Status::Other(other) => other,
        }
    }

    /// The deadline kinds this status stops.
    pub fn stops(&self) -> &'static [&'static str] {
        match self {
            Status::Solved => &["first-response", "next-response", RESOLUTION],
            Status::NoResponseNeeded | Status::WaitingOnBuyer => RESPONSE_KINDS,
            Status::Open | Status::Other(_) => &[],
        }
    }
}

/// What a status change did to a ticket's clocks.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StatusEffect {
    /// The status before.
    pub from: String,
    /// Clocks the new status stopped.
    pub stopped: Vec<Stopped>,
    /// Clocks the new status paused.
    pub paused: Vec<Paused>,
}

/// Sets `ticket`'s status at `at` and applies it to the clocks: stops what it ends, pauses
/// what pauses on it. The caller queues `ticket.status_changed` when `from` differs.
pub(crate) async fn change_status(
    unit: &mut Unit,
    ticket: i64,
    status: &Status,
    at: i64,
) -> Result<StatusEffect, StoreError> {
    let from = unit.ticket_status(ticket).await?.unwrap_or_default();
    unit.set_ticket_field(ticket, "status", status.as_str(), 1.0).await?;
    if from != status.as_str() {
        let detail = json!({ "from": from, "to": status.as_str() });
        unit.ticket_changed(ticket, "status", &detail).await?;
    }
    let stopped = unit.stop_deadlines(ticket, status.stops(), at, status.as_str()).await?;
    let paused = unit.pause_deadlines(ticket, status.as_str(), at).await?;
    Ok(StatusEffect { from, stopped, paused })
}

/// The payload of `ticket.status_changed`.
pub(crate) fn status_changed_payload(ticket: i64, effect: &StatusEffect, to: &str) -> serde_json::Value {
    json!({
        "ticket": ticket,
        "from": effect.from,
        "to": to,
        "paused": effect.paused.iter().map(|p| json!({ "kind": p.kind, "policy": p.policy })).collect::<Vec<_>>(),
    })
}

/// Why a clock command could not be carried out.
#[derive(Debug, thiserror::Error)]
pub enum ClockError {
    #[error("ticket {0} does not exist")]
    NoTicket(i64),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// A reply that went out, as an integrator reports it.
#[derive(Debug, Clone)]
pub struct Reply {
    /// The message as sent: channel, id, time, and the thread/replies-to/order that find its
    /// ticket when `ticket` is not given.
    pub message: Message,
    /// Sent by a machine (an auto-acknowledgement): it stops no clock.
    pub automatic: bool,
    /// The ticket it answers, when the sender knows it.
    pub ticket: Option<i64>,
}

/// Stores a reply and queues its `message.sent` event. Returns the event id, or None when the
/// same reply (channel and id) was recorded before.
pub async fn record_reply(store: &Store, reply: &Reply) -> Result<Option<i64>, StoreError> {
    let mut unit = store.unit().await?;
    let event = unit
        .enqueue_reply(&reply.message, reply.automatic, reply.ticket)
        .await?;
    unit.commit().await?;
    Ok(event)
}

/// Puts a `message.sent` event's reply on its ticket and stops the clocks it answers.
pub(super) async fn on_reply(unit: &mut Unit, event: &QueuedEvent, state: &mut EventState) -> Result<(), StepError> {
    let Some((row, message)) = &event.message else {
        return Err(StepError::Reply(format!(
            "event {} (message.sent) carries no message",
            event.id
        )));
    };
    let automatic = event
        .payload
        .get("automatic")
        .and_then(|v| v.as_bool())
        .unwrap_or(false);
    let ticket = match event.ticket {
        Some(number) => unit.root_ticket(number).await?,
        None => unit.reply_ticket(message).await?.ok_or_else(|| {
            StepError::Reply(format!(
                "reply `{}` on {} matches no ticket: no known thread ({}), replied-to message ({}) or order ({})",
                message.id,
                message.channel,
                message.thread.as_deref().unwrap_or("none"),
                if message.replies_to.is_empty() {
                    "none".to_owned()
                } else {
                    message.replies_to.join(", ")
                },
                message.order.as_deref().unwrap_or("none"),
            ))
        })?,
    };
    unit.attach_reply(ticket, *row).await?;
    if let Some(thread) = &message.thread {
        unit.register_thread(&message.channel, thread, ticket).await?;
    }
    state.ticket = Some(ticket);
    if automatic {
        return Ok(());
    }
    let stopped = unit.stop_deadlines(ticket, RESPONSE_KINDS, message.at, "reply").await?;
    queue_met(state, ticket, &stopped, "reply");
    Ok(())
}

/// An SLA timer event with the ticket's `priority` as it is now, when its workflows run (not
/// when the timer fired: an earlier event of the same batch may have raised it).
pub(super) async fn with_ticket_priority(unit: &mut Unit, event: &QueuedEvent) -> Result<QueuedEvent, StoreError> {
    let mut event = event.clone();
    if let (Some(ticket), serde_json::Value::Object(map)) = (event.ticket, &mut event.payload) {
        let ticket = unit.root_ticket(ticket).await?;
        map.insert("priority".into(), unit.ticket_priority(ticket).await?.into());
    }
    Ok(event)
}

pub(super) fn queue_met(state: &mut EventState, ticket: i64, stopped: &[Stopped], by: &str) {
    for s in stopped {
        state.derived.push((
            "sla.met".into(),
            json!({ "ticket": ticket, "kind": s.kind, "policy": s.policy, "state": s.state, "by": by }),
        ));
    }
}

/// Sets a ticket's status as an agent would, at `at` (ms): stops the clocks the status ends,
/// pauses those that pause on it, and queues `ticket.status_changed` (when the status changed)
/// for the workflows that resume clocks; logged as a `set-field` decision of step
/// `cli/ticket-status`. Returns what it did to the clocks.
pub async fn set_status(store: &Store, ticket: i64, status: Status, at: i64) -> Result<StatusEffect, ClockError> {
    set_status_for(store, ticket, status, at, None).await
}

/// [`set_status`] on behalf of `author` (an agent's token name), who is named in the ticket's
/// changes and the decision's reason.
pub async fn set_status_for(
    store: &Store,
    ticket: i64,
    status: Status,
    at: i64,
    author: Option<&str>,
) -> Result<StatusEffect, ClockError> {
    let mut unit = store.unit().await?;
    if let Some(author) = author {
        unit.act_for(author);
    }
    if unit.ticket_status(ticket).await?.is_none() {
        return Err(ClockError::NoTicket(ticket));
    }
    let number = unit.root_ticket(ticket).await?;
    let effect = change_status(&mut unit, number, &status, at).await?;
    let mut shown: Vec<String> = effect
        .stopped
        .iter()
        .map(|s| format!("stopped {} ({}) {}", s.kind, s.policy, s.state))
        .collect();
    shown.extend(
        effect
            .paused
            .iter()
            .map(|p| format!("paused {} ({})", p.kind, p.policy)),
    );
    let mut field = SetField::new("status", status.as_str());
    field.ticket = TicketRef::Existing(number as u64);
    let decision = Decision::new(
        Command::SetField(field),
        match author {
            Some(author) => format!("{author} set the status to {}", status.as_str()),
            None => format!("an agent set the status to {}", status.as_str()),
        },
    )
    .with_evidence([Evidence::new(
        "clocks",
        if shown.is_empty() {
            "no running clock to stop or pause".to_owned()
        } else {
            shown.join(", ")
        },
        1.0,
    )]);
    let plugin = format!("weft@{}", env!("CARGO_PKG_VERSION"));
    let origin = Origin {
        event: None,
        workflow: "cli",
        workflow_version: None,
        step: "ticket-status",
        plugin: &plugin,
    };
    unit.record_decision(origin, &decision, None, Some(number)).await?;
    if effect.from != status.as_str() {
        let payload = status_changed_payload(number, &effect, status.as_str());
        unit.enqueue_event("ticket.status_changed", at, None, Some(number), &payload)
            .await?;
    }
    unit.commit().await?;
    Ok(effect)
}
