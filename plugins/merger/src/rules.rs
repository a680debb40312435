//! The merger's rules, in the order they are tried: the thread, the order, a system copy, a
//! follow-up on a solved ticket, the same issue within the window, and else a new ticket.
//!
//! Thread and order are *leads*: tickets the message names outright. A system copy is looked
//! for on the leads and the customer's recent tickets before anything else, so that a copy is
//! never answered as a new question. When the leads name two open tickets of the same customer
//! whose orders do not conflict, they are one issue and are merged into the older one.
//! A conversation id or reply header is followed whoever owns the ticket (the channel says it
//! is one conversation); an order number is not, when its ticket is another customer's.

use crate::config::{OnSolved, Policy};
use crate::duplicate::{CopyKind, Duplicate, find_duplicate};
use crate::followup::follow_up_cue;
use crate::similarity::{Side, Similarity, compare_profiles};
use crate::subject::{strip_prefixes, subject_from_body};
use std::cell::OnceCell;
use weft_sdk::duration::Duration;
use weft_sdk::order::{canonical_order, find_order};
use weft_sdk::prelude::*;

/// How many of a customer's most recently updated tickets are looked at.
pub const RECENT_TICKETS: u32 = 20;
/// How many messages of a ticket the copy check looks at.
pub const RECENT_MESSAGES: u32 = 50;
/// How much of a message body is compared with a ticket: the question is near the top, and
/// long mails would only cost time.
pub const MAX_COMPARED_CHARS: usize = 2_000;
/// How many `merged_into` hops are followed before giving up on a loop.
const MAX_MERGE_HOPS: usize = 16;

/// Decides which ticket the event's message belongs to.
///
/// Answers exactly one `append-to-ticket` or `open-ticket`, preceded by a `merge-tickets` when
/// the message ties two open tickets together and followed by a `set-field linked-to` when a
/// new ticket follows up on a solved one.
pub fn decide(event: &Event, policy: &Policy, ctx: &dyn Context) -> Result<Vec<Decision>, Error> {
    let Some(message) = &event.message else {
        return Err(Error::permanent(format!(
            "the merger step needs an event with a message, event {} (`{}`) has none",
            event.id, event.kind
        )));
    };
    let customer = event.customer;
    let recent = RecentTickets::new(customer);
    let mut notes = Vec::new();

    let mut leads = thread_leads(message, ctx);
    for lead in order_leads(message, customer, ctx, &mut notes) {
        add_lead(&mut leads, lead);
    }

    if let Some((ticket, copy)) = system_copy(message, &leads, &recent, policy, ctx) {
        return Ok(vec![append_copy(ticket, copy)]);
    }

    if let Some(target) = pick_target(&leads) {
        if is_solved(&target.ticket) {
            return Ok(follow_up(message, target, policy, notes));
        }
        return Ok(continue_leads(target, &leads, ctx, notes));
    }

    if let Some(lead) = same_issue(message, &recent, policy, ctx, &mut notes) {
        let reason = format!(
            "same customer and same issue as open ticket #{}, active within the {} window",
            lead.ticket.number, policy.window
        );
        return Ok(vec![append(lead.ticket.number, reason, lead.evidence, notes)]);
    }

    if let Some(lead) = bare_follow_up(message, &recent, policy, ctx) {
        if is_solved(&lead.ticket) {
            return Ok(follow_up(message, &lead, policy, notes));
        }
        let reason = format!(
            "a follow-up that names no order or issue (\"{}\"): it belongs to the customer's open ticket #{}, active within the {} window",
            lead.how, lead.ticket.number, policy.window
        );
        return Ok(vec![append(lead.ticket.number, reason, lead.evidence, notes)]);
    }

    Ok(vec![open_new(message, notes)])
}

/// Rule 4b: a follow-up that names nothing ("any news?", "Gibt es Neuigkeiten?", "有进展吗";
/// see [`crate::followup`]) and carries no order number belongs to the customer's most recently
/// active open ticket within `window`, else to the ticket solved last within `reopen_window`
/// (which rule 5 then reopens or links). Its `how` is the cue that was found.
fn bare_follow_up(message: &Message, recent: &RecentTickets, policy: &Policy, ctx: &dyn Context) -> Option<Lead> {
    let customer = recent.customer?;
    if order_of(message).is_some() {
        return None;
    }
    let cue = follow_up_cue(message.subject.as_deref(), &message.body)?;
    let tickets: Vec<&TicketView> = recent
        .read(ctx)
        .iter()
        .filter(|t| t.merged_into.is_none() && t.updated_at <= message.at)
        .collect();
    let open = tickets
        .iter()
        .filter(|t| !is_solved(t) && message.at - t.updated_at <= policy.window.as_millis())
        .max_by_key(|t| (t.updated_at, t.number));
    let solved = || {
        tickets
            .iter()
            .filter(|t| is_solved(t) && message.at - t.updated_at <= policy.reopen_window.as_millis())
            .max_by_key(|t| (t.updated_at, t.number))
    };
    let ticket = (*open.or_else(solved)?).clone();
    let evidence = vec![
        Evidence::new("customer", format!("customer {customer} owns #{}", ticket.number), 0.3),
        Evidence::new(
            "follow-up",
            format!(
                "\"{cue}\": a follow-up without an order number; #{} is the customer's ticket active last",
                ticket.number
            ),
            0.7,
        ),
    ];
    Some(Lead {
        ticket,
        how: cue.to_owned(),
        evidence,
    })
}

/// The customer's most recently updated tickets ([`RECENT_TICKETS`] of them), read once per
/// decision: the copy check, the same-issue rule and the bare follow-up all look at them, and
/// the context does not change while a step decides.
struct RecentTickets {
    customer: Option<u64>,
    tickets: OnceCell<Vec<TicketView>>,
}

impl RecentTickets {
    fn new(customer: Option<u64>) -> Self {
        RecentTickets {
            customer,
            tickets: OnceCell::new(),
        }
    }

    /// The tickets, newest first; none without a customer.
    fn read(&self, ctx: &dyn Context) -> &[TicketView] {
        self.tickets.get_or_init(|| match self.customer {
            Some(customer) => ctx.customer_tickets(customer, RECENT_TICKETS),
            None => Vec::new(),
        })
    }
}

/// A ticket the message points to, how, and the evidence.
#[derive(Debug, Clone)]
struct Lead {
    ticket: TicketView,
    /// `same conversation`, `reply to an earlier message`, `same order`, ...
    how: String,
    evidence: Vec<Evidence>,
}

/// Rule 1: the channel's own conversation id, then the messages it replies to (nearest first).
fn thread_leads(message: &Message, ctx: &dyn Context) -> Vec<Lead> {
    let mut leads = Vec::new();
    if let Some(thread) = message.thread.as_deref().filter(|t| !t.trim().is_empty())
        && let Some(number) = ctx.thread_ticket(&message.channel, thread)
    {
        let evidence = Evidence::new(
            "thread",
            format!("{} conversation {thread} is on #{number}", message.channel),
            1.0,
        );
        if let Some(lead) = lead_for(ctx, number, "same conversation", evidence) {
            add_lead(&mut leads, lead);
        }
    }
    for id in message.replies_to.iter().filter(|id| !id.trim().is_empty()) {
        if let Some(number) = ctx.message_ticket(id) {
            let evidence = Evidence::new("replies-to", format!("replies to {id}, which is on #{number}"), 0.9);
            if let Some(lead) = lead_for(ctx, number, "reply to a message on it", evidence) {
                add_lead(&mut leads, lead);
            }
        }
    }
    leads
}

/// Rule 2: the same order number is the same ticket, whatever the channel, unless the ticket
/// belongs to another customer.
fn order_leads(message: &Message, customer: Option<u64>, ctx: &dyn Context, notes: &mut Vec<Evidence>) -> Vec<Lead> {
    let Some(order) = order_of(message) else {
        return Vec::new();
    };
    let mut leads: Vec<Lead> = Vec::new();
    for ticket in ctx.order_tickets(&order) {
        let number = ticket.number;
        let evidence = Evidence::new("order", format!("order {order} is on #{number}"), 0.8);
        let lead = lead_from(ctx, ticket, "same order", evidence);
        if let Some(owner) = other_customer(ctx, &lead.ticket, customer) {
            notes.push(Evidence::new(
                "order",
                format!(
                    "order {order} is on #{} of customer {owner}, not of customer {}: kept apart",
                    lead.ticket.number,
                    customer.unwrap_or_default()
                ),
                1.0,
            ));
            continue;
        }
        add_lead(&mut leads, lead);
    }
    leads
}

/// Rule 3: the customer's recent open ticket most like the message, if alike enough.
/// Tickets about another order, or about clearly different issues, are set aside with a note.
fn same_issue(
    message: &Message,
    recent: &RecentTickets,
    policy: &Policy,
    ctx: &dyn Context,
    notes: &mut Vec<Evidence>,
) -> Option<Lead> {
    let customer = recent.customer?;
    let subject = message
        .subject
        .as_deref()
        .map(|s| strip_prefixes(s).text)
        .filter(|s| !s.is_empty());
    let body: String = message.body.chars().take(MAX_COMPARED_CHARS).collect();
    let said = Side {
        subject,
        body: Some(&body),
        category: None,
    };
    // Read once, and only when a ticket gets as far as being compared.
    let mut said_read = None;
    let ours = order_of(message);
    let mut best: Option<(Similarity, TicketView)> = None;
    for ticket in recent.read(ctx) {
        let idle = message.at - ticket.updated_at;
        if ticket.merged_into.is_some() || is_solved(ticket) || idle > policy.window.as_millis() {
            continue;
        }
        if let (Some(ours), Some(theirs)) = (ours.as_deref(), ticket.order.as_deref())
            && !same_order(ours, theirs)
        {
            notes.push(Evidence::new(
                "order",
                format!(
                    "#{} is about order {theirs}, the message about order {ours}: kept apart",
                    ticket.number
                ),
                1.0,
            ));
            continue;
        }
        let subject = ticket.subject.as_deref().map(|s| strip_prefixes(s).text);
        let on_file = Side {
            subject,
            body: None,
            category: ticket.category.as_deref(),
        };
        let said = said_read.get_or_insert_with(|| said.profile());
        let similarity = compare_profiles(&on_file.profile(), said);
        if similarity.different_issue {
            notes.push(Evidence::new(
                "topic",
                format!("#{} is about a different issue: kept apart", ticket.number),
                1.0,
            ));
            continue;
        }
        if similarity.score >= policy.similarity_threshold
            && best.as_ref().is_none_or(|(b, _)| similarity.score > b.score)
        {
            best = Some((similarity, ticket.clone()));
        }
    }
    let (similarity, ticket) = best?;
    let topics: Vec<&str> = similarity.shared_topics.iter().map(|t| t.as_str()).collect();
    let idle = minutes(message.at - ticket.updated_at);
    let evidence = vec![
        Evidence::new("customer", format!("customer {customer} owns #{}", ticket.number), 0.3),
        Evidence::new(
            "similarity",
            format!(
                "{:.2} (text {:.2}, shared topics: {}) against threshold {}",
                similarity.score,
                similarity.text,
                if topics.is_empty() {
                    "none".to_owned()
                } else {
                    topics.join(", ")
                },
                policy.similarity_threshold
            ),
            similarity.score,
        ),
        Evidence::new(
            "window",
            format!("#{} was active {idle} before, within {}", ticket.number, policy.window),
            0.2,
        ),
    ];
    Some(Lead {
        ticket,
        how: "same issue".into(),
        evidence,
    })
}

/// Rule 4: a system copy of a message already on one of the leads or on one of the customer's
/// tickets active within the window.
fn system_copy(
    message: &Message,
    leads: &[Lead],
    recent: &RecentTickets,
    policy: &Policy,
    ctx: &dyn Context,
) -> Option<(u64, Duplicate)> {
    let mut tickets: Vec<u64> = leads.iter().map(|l| l.ticket.number).collect();
    for ticket in recent.read(ctx) {
        let active = message.at - ticket.updated_at <= policy.window.as_millis();
        if active && ticket.merged_into.is_none() && !tickets.contains(&ticket.number) {
            tickets.push(ticket.number);
        }
    }
    tickets.into_iter().find_map(|number| {
        let recent = ctx.ticket_messages(number, RECENT_MESSAGES);
        find_duplicate(message, &recent, policy.window).map(|copy| (number, copy))
    })
}

/// Rule 5: a message for a solved or closed ticket. Within `reopen_window` (and with
/// `on_solved: reopen`) it is appended and the engine reopens the ticket; otherwise it opens a
/// new ticket linked to the old one.
fn follow_up(message: &Message, lead: &Lead, policy: &Policy, notes: Vec<Evidence>) -> Vec<Decision> {
    let old = &lead.ticket;
    let since = minutes(message.at - old.updated_at);
    let status = Evidence::new(
        "status",
        format!("#{} is {} since {since}", old.number, old.status),
        1.0,
    );
    let within = message.at - old.updated_at <= policy.reopen_window.as_millis();
    if policy.on_solved == OnSolved::Reopen && within {
        let reason = format!(
            "follow-up on #{} ({}), {} since {since}, within reopen_window {}: appended, the ticket reopens",
            old.number, lead.how, old.status, policy.reopen_window
        );
        let evidence = lead.evidence.iter().cloned().chain([status]);
        return vec![append(old.number, reason, evidence, notes)];
    }
    let why = match policy.on_solved {
        OnSolved::Link => "on_solved is link".to_owned(),
        OnSolved::Reopen => format!("beyond reopen_window {}", policy.reopen_window),
    };
    let reason = format!(
        "follow-up on #{} ({}), {} since {since}, {why}: new ticket linked to #{}",
        old.number, lead.how, old.status, old.number
    );
    let open = OpenTicket {
        subject: new_subject(message),
        order: order_of(message).or(old.order.clone()),
    };
    let evidence: Vec<Evidence> = lead.evidence.iter().cloned().chain([status]).chain(notes).collect();
    vec![
        Decision::new(Command::OpenTicket(open), reason).with_evidence(evidence),
        Decision::new(
            Command::SetField(SetField::new("linked-to", old.number.to_string())),
            format!("the new ticket follows up on #{}", old.number),
        )
        .with_evidence([Evidence::new("ticket", format!("#{}", old.number), 1.0)]),
    ]
}

/// Rules 1 and 2 found open tickets: append to the target, after merging the other open leads
/// that are the same issue (same customer, no conflicting orders) into the oldest.
fn continue_leads(target: &Lead, leads: &[Lead], ctx: &dyn Context, mut notes: Vec<Evidence>) -> Vec<Decision> {
    let mut group: Vec<&Lead> = vec![target];
    for lead in leads
        .iter()
        .filter(|l| l.ticket.number != target.ticket.number && !is_solved(&l.ticket))
    {
        if let Some(conflict) = group.iter().find_map(|g| orders_conflict(&g.ticket, &lead.ticket)) {
            notes.push(Evidence::new(
                "order",
                format!(
                    "#{} and #{} are about different orders ({conflict}): not merged",
                    target.ticket.number, lead.ticket.number
                ),
                1.0,
            ));
            continue;
        }
        if group.iter().any(|g| different_owners(ctx, &g.ticket, &lead.ticket)) {
            notes.push(Evidence::new(
                "customer",
                format!(
                    "#{} and #{} belong to different customers: not merged",
                    target.ticket.number, lead.ticket.number
                ),
                1.0,
            ));
            continue;
        }
        group.push(lead);
    }

    if group.len() == 1 {
        let reason = format!("continues #{}: {}", target.ticket.number, target.how);
        return vec![append(target.ticket.number, reason, target.evidence.clone(), notes)];
    }

    let into = group
        .iter()
        .map(|l| l.ticket.number)
        .min()
        .unwrap_or(target.ticket.number);
    let mut from: Vec<u64> = group.iter().map(|l| l.ticket.number).filter(|n| *n != into).collect();
    from.sort_unstable();
    let ties: Vec<String> = group
        .iter()
        .map(|l| format!("#{} ({})", l.ticket.number, l.how))
        .collect();
    let evidence: Vec<Evidence> = group.iter().flat_map(|l| l.evidence.iter().cloned()).collect();
    let merge = Decision::new(
        Command::MergeTickets(MergeTickets {
            into,
            from: from.clone(),
        }),
        format!(
            "the message ties {} together: one issue, kept as #{into}",
            ties.join(" and ")
        ),
    )
    .with_evidence(evidence.clone());
    let verb = if from.len() == 1 { "is" } else { "are" };
    let reason = format!("continues #{into}, into which {} {verb} merged", list(&from));
    vec![merge, append(into, reason, evidence, notes)]
}

/// Rule 6: a new ticket, with the subject stripped of reply prefixes and the message's order.
fn open_new(message: &Message, notes: Vec<Evidence>) -> Decision {
    let open = OpenTicket {
        subject: new_subject(message),
        order: order_of(message),
    };
    let mut evidence = Vec::new();
    if let Some(subject) = &open.subject {
        evidence.push(Evidence::new("subject", format!("\"{subject}\""), 0.0));
    }
    if let Some(order) = &open.order {
        evidence.push(Evidence::new(
            "order",
            format!("order {order} is on no ticket of this customer"),
            0.0,
        ));
    }
    let reason = if notes.is_empty() {
        "no conversation, order or recent ticket of the customer matches: new ticket".to_owned()
    } else {
        "no ticket it may join: new ticket".to_owned()
    };
    Decision::new(Command::OpenTicket(open), reason).with_evidence(evidence.into_iter().chain(notes))
}

fn append_copy(ticket: u64, copy: Duplicate) -> Decision {
    let what = match copy.kind {
        CopyKind::Forwarded => "a forwarded copy",
        CopyKind::SecondMailbox => "the same mail through a second mailbox",
    };
    let reason = format!(
        "{what} of message {} on #{ticket}: kept as a copy, not a new question",
        copy.original
    );
    Decision::new(
        Command::AppendToTicket(AppendToTicket {
            ticket,
            duplicate_of: Some(copy.original),
        }),
        reason,
    )
    .with_evidence(copy.evidence)
}

fn append(ticket: u64, reason: String, evidence: impl IntoIterator<Item = Evidence>, notes: Vec<Evidence>) -> Decision {
    Decision::new(
        Command::AppendToTicket(AppendToTicket {
            ticket,
            duplicate_of: None,
        }),
        reason,
    )
    // What was set aside did not weigh on appending here: it is kept for the record.
    .with_evidence(
        evidence
            .into_iter()
            .chain(notes.into_iter().map(|note| Evidence { weight: 0.0, ..note })),
    )
}

/// The lead to follow: the first open one in rule order, else the first (solved) one.
fn pick_target(leads: &[Lead]) -> Option<&Lead> {
    leads.iter().find(|l| !is_solved(&l.ticket)).or(leads.first())
}

/// A lead for ticket `number`, following merges to the ticket that holds it now.
fn lead_for(ctx: &dyn Context, number: u64, how: &str, evidence: Evidence) -> Option<Lead> {
    Some(lead_from(ctx, ctx.ticket(number)?, how, evidence))
}

/// A lead for a ticket already read (as [`Context::order_tickets`] answers them), following
/// merges to the ticket that holds it now: the view in hand is what [`Context::ticket`] would
/// answer for its number, so it is not read again.
fn lead_from(ctx: &dyn Context, ticket: TicketView, how: &str, evidence: Evidence) -> Lead {
    let mut ticket = ticket;
    let mut evidence = vec![evidence];
    for _ in 0..MAX_MERGE_HOPS {
        let Some(into) = ticket.merged_into else {
            break;
        };
        let Some(next) = ctx.ticket(into) else { break };
        evidence.push(Evidence::new(
            "merged",
            format!("#{} was merged into #{into}", ticket.number),
            0.0,
        ));
        ticket = next;
    }
    Lead {
        ticket,
        how: how.to_owned(),
        evidence,
    }
}

/// Adds a lead, or its evidence to the lead already there for the same ticket.
fn add_lead(leads: &mut Vec<Lead>, lead: Lead) {
    match leads.iter_mut().find(|l| l.ticket.number == lead.ticket.number) {
        Some(known) => {
            known.evidence.extend(lead.evidence);
            if !known.how.contains(&lead.how) {
                known.how = format!("{}, {}", known.how, lead.how);
            }
        }
        None => leads.push(lead),
    }
}

fn is_solved(ticket: &TicketView) -> bool {
    ticket.status.eq_ignore_ascii_case("solved") || ticket.status.eq_ignore_ascii_case("closed")
}

/// The message's order number in canonical form ([`canonical_order`]): the one its channel
/// reported, else the first one its subject or body names ([`find_order`]).
fn order_of(message: &Message) -> Option<String> {
    if let Some(order) = message.order.as_deref().and_then(canonical_order) {
        return Some(order);
    }
    [message.subject.as_deref(), Some(message.body.as_str())]
        .into_iter()
        .flatten()
        .find_map(find_order)
        .and_then(|found| canonical_order(&found))
}

/// Order numbers compared in canonical form, so that `302-1234567-7654321` and
/// `30212345677654321` are one order.
fn same_order(a: &str, b: &str) -> bool {
    match (canonical_order(a), canonical_order(b)) {
        (Some(x), Some(y)) => x == y,
        _ => a.trim().eq_ignore_ascii_case(b.trim()),
    }
}

/// `a != b` in words when both tickets name an order and they differ.
fn orders_conflict(a: &TicketView, b: &TicketView) -> Option<String> {
    match (a.order.as_deref(), b.order.as_deref()) {
        (Some(x), Some(y)) if !same_order(x, y) => Some(format!("{x} != {y}")),
        _ => None,
    }
}

/// The customer a ticket belongs to when it is not `customer` (after customer merges).
///
/// A ticket of the customer itself (the usual case: the identity step links a message to the
/// customer that lives on as itself) needs no lookup: one id has one canonical customer.
fn other_customer(ctx: &dyn Context, ticket: &TicketView, customer: Option<u64>) -> Option<u64> {
    let (owner, customer) = (ticket.customer?, customer?);
    if owner == customer {
        return None;
    }
    (canonical_customer(ctx, owner) != canonical_customer(ctx, customer)).then_some(owner)
}

fn different_owners(ctx: &dyn Context, a: &TicketView, b: &TicketView) -> bool {
    other_customer(ctx, a, b.customer).is_some()
}

/// The customer profile `id` was merged into, or `id` itself.
fn canonical_customer(ctx: &dyn Context, id: u64) -> u64 {
    let mut id = id;
    for _ in 0..MAX_MERGE_HOPS {
        match ctx.customer(id).and_then(|c| c.merged_into) {
            Some(into) if into != id => id = into,
            _ => break,
        }
    }
    id
}

/// The subject of a new ticket: the message's, without reply prefixes; for a message without
/// one (chat, SMS, social), the start of its text, so that the same-issue rule has something
/// to compare later messages with.
fn new_subject(message: &Message) -> Option<String> {
    let written = message
        .subject
        .as_deref()
        .map(|s| strip_prefixes(s).text)
        .filter(|s| !s.is_empty());
    match written {
        Some(subject) => Some(subject.to_owned()),
        None => subject_from_body(&message.body),
    }
}

/// A span of milliseconds to the minute, for reasons (`2d3h`, not `2d3h4m5s120ms`).
fn minutes(millis: i64) -> Duration {
    Duration::from_millis(millis - millis.rem_euclid(60_000))
}

fn list(numbers: &[u64]) -> String {
    numbers.iter().map(|n| format!("#{n}")).collect::<Vec<_>>().join(", ")
}
