//! What each command means, applied to the store inside the event's unit.
//!
//! The executor keeps an [`EventState`] per event: the customer and ticket the event concerns
//! so far. `CustomerRef::New` creates a customer, `TicketRef::Current` is the ticket an earlier
//! command opened or appended to. Derived events (`ticket.opened`, ...) are collected and
//! queued when the event commits, for the workflows that listen.

use super::clocks::{Status, change_status, queue_met, status_changed_payload};
use crate::store::outbox::NewOutbound;
use crate::store::queue::QueuedEvent;
use crate::store::sla::{DeadlineSet, deadline_timer_base};
use crate::store::{StoreError, Unit};
use serde::Deserialize as _;
use serde_json::json;
use weft_sdk::{Command, CustomerRef, Decision, TicketRef};

/// Why a decision could not be applied.
#[derive(Debug, thiserror::Error)]
pub enum ApplyError {
    #[error("{0}")]
    Invalid(String),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// What an event concerns, as its steps decide it.
#[derive(Debug, Clone, Default)]
pub struct EventState {
    pub message: Option<i64>,
    pub customer: Option<i64>,
    pub customer_new: bool,
    pub ticket: Option<i64>,
    pub ticket_opened: bool,
    /// Events to queue when this one commits.
    pub derived: Vec<(String, serde_json::Value)>,
    /// When a failed step is replayed: the customer the engine made for the message because
    /// the step failed. The step's `link-customer` to a new customer means this one; to
    /// another, this one is merged into it.
    pub own_customer: Option<i64>,
    /// When a failed step is replayed: the ticket the engine opened for the message because
    /// the step failed. The step's `open-ticket` means this one; its `append-to-ticket` to
    /// another merges this one into it.
    pub own_ticket: Option<i64>,
    /// The merges a replay made of them, for the decision log: (decision, customer, ticket).
    pub merged: Vec<(Decision, Option<i64>, Option<i64>)>,
}

impl EventState {
    pub fn from_event(event: &QueuedEvent) -> Self {
        EventState {
            message: event.message.as_ref().map(|(id, _)| *id),
            customer: event.customer,
            ticket: event.ticket,
            ..EventState::default()
        }
    }
}

fn signed(n: u64) -> Result<i64, ApplyError> {
    i64::try_from(n).map_err(|_| ApplyError::Invalid(format!("number {n} is out of range")))
}

async fn ticket_of(unit: &mut Unit, state: &EventState, ticket: TicketRef) -> Result<i64, ApplyError> {
    match ticket {
        TicketRef::Existing(n) => Ok(unit.root_ticket(signed(n)?).await?),
        TicketRef::Current => state.ticket.ok_or_else(|| {
            ApplyError::Invalid("it names the current ticket, but no earlier step opened or chose one".into())
        }),
    }
}

/// Applies one decision. Returns the customer and ticket it was about, for the decision log.
pub async fn apply(
    unit: &mut Unit,
    event: &QueuedEvent,
    state: &mut EventState,
    decision: &Decision,
) -> Result<(Option<i64>, Option<i64>), ApplyError> {
    let message = event.message.as_ref().map(|(_, m)| m);
    let mut about_ticket = state.ticket;
    match &decision.command {
        Command::LinkCustomer(link) => {
            let customer = match (link.customer, state.own_customer) {
                (CustomerRef::Existing(id), _) => unit.root_customer(signed(id)?).await?,
                // Replayed: the customer made when the step failed is the new one (it has no
                // identities, so it is as fresh as one made now).
                (CustomerRef::New, Some(own)) => unit.root_customer(own).await?,
                (CustomerRef::New, None) => unit.create_customer(event.at).await?,
            };
            let fresh = link.customer == CustomerRef::New;
            unit.add_identities(customer, &link.identities, state.message, link.score, fresh)
                .await?;
            if let Some(message) = state.message {
                unit.set_message_customer(message, customer).await?;
            }
            if let Some(own) = state.own_customer.take() {
                let own = unit.root_customer(own).await?;
                if own != customer {
                    let reason = format!(
                        "replayed after it failed, the step linked the message to customer {customer}: the customer made for it meanwhile joins that one ({})",
                        decision.reason
                    );
                    unit.merge_customers(customer as u64, &[own as u64], Some(event.id), &reason)
                        .await?;
                    let merge = weft_sdk::MergeCustomers {
                        into: customer as u64,
                        from: vec![own as u64],
                    };
                    state.merged.push((
                        Decision::new(Command::MergeCustomers(merge), reason),
                        Some(customer),
                        None,
                    ));
                    state
                        .derived
                        .push(("customer.merged".into(), json!({ "into": customer, "from": [own] })));
                }
            }
            // An order's buyer linked: the order is that customer's.
            if weft_sdk::is_order_event(&event.kind)
                && let Ok(order) = weft_sdk::Order::deserialize(&event.payload)
            {
                unit.link_order_customer(&order.channel, &order.number, customer)
                    .await?;
            }
            state.customer = Some(customer);
            state.customer_new = link.customer == CustomerRef::New;
        }
        Command::MergeCustomers(merge) => {
            unit.merge_customers(merge.into, &merge.from, Some(event.id), &decision.reason)
                .await?;
            if let Some(customer) = state.customer {
                state.customer = Some(unit.root_customer(customer).await?);
            }
            state.derived.push((
                "customer.merged".into(),
                json!({ "into": merge.into, "from": merge.from }),
            ));
        }
        Command::OpenTicket(_) if state.own_ticket.is_some() => {
            // Replayed: the ticket opened when the step failed is the one it opens.
            let own = state.own_ticket.take().unwrap_or_default();
            let number = unit.root_ticket(own).await?;
            state.ticket = Some(number);
            state.ticket_opened = true;
            about_ticket = Some(number);
        }
        Command::AppendToTicket(append) if state.own_ticket.is_some() => {
            // Replayed: the message is on the ticket opened when the step failed; that ticket
            // joins the one the step chose (a merge, which `weft unmerge` undoes).
            let own = state.own_ticket.take().unwrap_or_default();
            let own = unit.root_ticket(own).await?;
            let number = unit.root_ticket(signed(append.ticket)?).await?;
            if number != own {
                let reason = format!(
                    "replayed after it failed, the step put the message on ticket {number}: the ticket opened for it meanwhile joins that one ({})",
                    decision.reason
                );
                let merged = unit
                    .merge_tickets(number as u64, &[own as u64], Some(event.id), &reason)
                    .await?;
                let merge = weft_sdk::MergeTickets {
                    into: number as u64,
                    from: vec![own as u64],
                };
                state.merged.push((
                    Decision::new(Command::MergeTickets(merge), reason),
                    state.customer,
                    Some(number),
                ));
                state
                    .derived
                    .push(("ticket.merged".into(), json!({ "into": number, "from": merged })));
            }
            if let Some(message) = message
                && let Some(thread) = &message.thread
            {
                unit.register_thread(&message.channel, thread, number).await?;
            }
            state.ticket = Some(number);
            about_ticket = Some(number);
        }
        Command::OpenTicket(open) => {
            let number = unit
                .open_ticket(state.customer, open.subject.as_deref(), open.order.as_deref(), event.at)
                .await?;
            if let (Some(row), Some(message)) = (state.message, message) {
                unit.append_message(number, row, None, message.at).await?;
                if let Some(thread) = &message.thread {
                    unit.register_thread(&message.channel, thread, number).await?;
                }
            }
            state.ticket = Some(number);
            state.ticket_opened = true;
            about_ticket = Some(number);
            state
                .derived
                .push(("ticket.opened".into(), json!({ "ticket": number })));
        }
        Command::AppendToTicket(append) => {
            let number = unit.root_ticket(signed(append.ticket)?).await?;
            let (Some(row), Some(message)) = (state.message, message) else {
                return Err(ApplyError::Invalid(
                    "append-to-ticket needs an event with a message".into(),
                ));
            };
            // The buyer wrote again: a solved or closed ticket reopens, and one waiting on the
            // buyer is open again (which resumes clocks paused while waiting). A system copy or
            // an automatic message (an out-of-office answer) changes nothing.
            let reopens = matches!(
                unit.ticket_status(number).await?.as_deref(),
                Some("solved" | "closed" | "waiting-on-buyer")
            );
            if reopens && append.duplicate_of.is_none() && !message.automatic {
                let effect = change_status(unit, number, &Status::Open, message.at).await?;
                state.derived.push((
                    "ticket.status_changed".into(),
                    status_changed_payload(number, &effect, Status::Open.as_str()),
                ));
            }
            unit.append_message(number, row, append.duplicate_of.as_deref(), message.at)
                .await?;
            if let Some(thread) = &message.thread {
                unit.register_thread(&message.channel, thread, number).await?;
            }
            state.ticket = Some(number);
            about_ticket = Some(number);
        }
        Command::MergeTickets(merge) => {
            let merged = unit
                .merge_tickets(merge.into, &merge.from, Some(event.id), &decision.reason)
                .await?;
            if let Some(ticket) = state.ticket {
                state.ticket = Some(unit.root_ticket(ticket).await?);
            }
            about_ticket = Some(signed(merge.into)?);
            state
                .derived
                .push(("ticket.merged".into(), json!({ "into": merge.into, "from": merged })));
        }
        Command::SetField(set) if set.name == "status" => {
            let number = ticket_of(unit, state, set.ticket).await?;
            let status = Status::parse(&set.value).map_err(ApplyError::Invalid)?;
            let effect = change_status(unit, number, &status, event.at).await?;
            queue_met(state, number, &effect.stopped, status.as_str());
            if effect.from != status.as_str() {
                state.derived.push((
                    "ticket.status_changed".into(),
                    status_changed_payload(number, &effect, status.as_str()),
                ));
            }
            about_ticket = Some(number);
        }
        Command::SetField(set) => {
            let number = ticket_of(unit, state, set.ticket).await?;
            unit.set_ticket_field(number, &set.name, &set.value, set.confidence)
                .await?;
            about_ticket = Some(number);
        }
        Command::Assign(assign) => {
            let number = ticket_of(unit, state, assign.ticket).await?;
            unit.assign_ticket(number, assign.agent.as_deref(), assign.team.as_deref())
                .await?;
            about_ticket = Some(number);
        }
        Command::SetDeadline(deadline) => {
            let number = ticket_of(unit, state, deadline.ticket).await?;
            let set = unit
                .set_deadline(
                    number,
                    &deadline.kind,
                    &deadline.policy,
                    deadline.due,
                    event.at,
                    &deadline.pause_on,
                )
                .await?;
            let base = deadline_timer_base(number, &deadline.kind, &deadline.policy);
            let payload =
                json!({ "ticket": number, "kind": deadline.kind, "policy": deadline.policy, "due": deadline.due });
            let timers = std::iter::zip(
                (0..deadline.warn_at.len()).map(|i| (format!("{base}:warn:{i}"), "sla.warning")),
                deadline.warn_at.iter().copied(),
            )
            .chain([((format!("{base}:breach"), "sla.breached"), deadline.due)]);
            for ((key, kind), at) in timers {
                match set {
                    // A restarted clock re-arms every timer; a resumed one moves only those
                    // that have not fired, so each warning still fires once.
                    DeadlineSet::Started => unit.schedule_timer(&key, at, kind, &payload, Some(number)).await?,
                    DeadlineSet::Resumed { .. } => {
                        unit.reschedule_timer(&key, at, kind, &payload, Some(number)).await?
                    }
                }
            }
            about_ticket = Some(number);
        }
        Command::SendMessage(send) => {
            let number = match send.ticket {
                TicketRef::Current if state.ticket.is_none() => None,
                other => Some(ticket_of(unit, state, other).await?),
            };
            // No person wrote it: delivered, it stops no response clock (marketplaces do not
            // count automatic answers either).
            unit.queue_outbound(&NewOutbound {
                key: &send.key,
                channel: &send.channel,
                recipient: &send.to,
                ticket: number,
                subject: send.subject.as_deref(),
                body: &send.body,
                lang: send.lang.as_deref(),
                automatic: true,
                ..Default::default()
            })
            .await?;
            about_ticket = number;
        }
        Command::ScheduleTimer(timer) => {
            unit.schedule_timer(&timer.key, timer.at, &timer.kind, &timer.payload, state.ticket)
                .await?;
        }
        Command::EmitEvent(emit) => {
            unit.enqueue_event(&emit.kind, event.at, state.customer, state.ticket, &emit.payload)
                .await?;
        }
    }
    Ok((state.customer, about_ticket))
}

/// What [`land`] gave a message whose step failed.
#[derive(Debug, Clone, Copy, Default)]
pub struct Landed {
    /// A customer of its own, made because no step linked one.
    pub customer: Option<i64>,
    /// A ticket of its own, opened because no step put the message on one.
    pub ticket: Option<i64>,
}

/// Gives the message of `event` what a failed step left it without, so that it reaches the
/// inbox: a customer of its own when none is linked yet; and, with `ticket`, a ticket of its
/// own when it is on none (with its conversation registered, so that the buyer's next message
/// in it joins that ticket). Events without a message get nothing.
pub async fn land(
    unit: &mut Unit,
    event: &QueuedEvent,
    state: &mut EventState,
    ticket: bool,
) -> Result<Landed, StoreError> {
    let mut landed = Landed::default();
    let (Some(row), Some((_, message))) = (state.message, event.message.as_ref()) else {
        return Ok(landed);
    };
    if event.kind != "message.received" {
        return Ok(landed);
    }
    if state.customer.is_none() {
        let customer = unit.create_customer(event.at).await?;
        unit.set_message_customer(row, customer).await?;
        state.customer = Some(customer);
        state.customer_new = true;
        landed.customer = Some(customer);
    }
    if ticket && state.ticket.is_none() {
        let number = unit
            .open_ticket(state.customer, message.subject.as_deref(), None, event.at)
            .await?;
        unit.append_message(number, row, None, message.at).await?;
        if let Some(thread) = &message.thread {
            unit.register_thread(&message.channel, thread, number).await?;
        }
        state.ticket = Some(number);
        state.ticket_opened = true;
        state
            .derived
            .push(("ticket.opened".into(), json!({ "ticket": number })));
        landed.ticket = Some(number);
    }
    Ok(landed)
}
