//! The API's own types: what requests carry and answers hold, as the OpenAPI document
//! describes them. Store rows are turned into these in one place each (`From` impls below), so
//! a column added to a table changes the API only when someone decides it should.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// Every refusal: `{"error": {...}}`.
#[derive(Debug, Serialize, ToSchema)]
pub struct ErrorBody {
    pub error: ErrorDetail,
}

/// What went wrong.
#[derive(Debug, Serialize, ToSchema)]
pub struct ErrorDetail {
    /// Stable and machine-readable: `token_missing`, `forbidden`, `stale_version`, ...
    pub code: String,
    /// For people: what was wrong and what to do.
    pub message: String,
    /// More about it, per code (for `stale_version`: what changed, and the draft kept).
    #[schema(value_type = Object)]
    pub details: serde_json::Value,
}

/// The caller's token.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct Me {
    pub name: String,
    /// `agent`, `admin` or `integrator`.
    pub role: String,
}

/// RFC 3339 in UTC, to the millisecond.
pub fn time(ms: i64) -> String {
    jiff::Timestamp::from_millisecond(ms)
        .map(|t| format!("{t:.3}"))
        .unwrap_or_else(|_| ms.to_string())
}

/// A ticket in a list.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct TicketSummary {
    pub number: i64,
    /// Moves with every message, queued reply, status, assignment or merge: send it back as
    /// `expected_version` with a reply.
    pub version: i64,
    pub status: String,
    pub subject: Option<String>,
    pub customer: Option<i64>,
    /// The order number.
    pub order: Option<String>,
    /// The channel of its first message.
    pub channel: Option<String>,
    pub category: Option<String>,
    pub language: Option<String>,
    pub priority: Option<String>,
    pub assignee: Option<String>,
    pub team: Option<String>,
    pub merged_into: Option<i64>,
    pub opened_at: String,
    pub updated_at: String,
    /// The earliest due time of its running clocks.
    pub next_due: Option<String>,
}

impl From<crate::store::tickets::TicketRow> for TicketSummary {
    fn from(row: crate::store::tickets::TicketRow) -> Self {
        TicketSummary {
            number: row.number,
            version: row.version,
            status: row.status,
            subject: row.subject,
            customer: row.customer,
            order: row.order,
            channel: row.channel,
            category: row.category,
            language: row.language,
            priority: row.priority,
            assignee: row.assignee,
            team: row.team,
            merged_into: row.merged_into,
            opened_at: time(row.opened_at),
            updated_at: time(row.updated_at),
            next_due: row.next_due.map(time),
        }
    }
}

/// A page of tickets.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct TicketPage {
    pub tickets: Vec<TicketSummary>,
    /// Pass as `cursor` for the next page; absent on the last.
    pub next_cursor: Option<String>,
}

/// Filters and paging of `GET /api/v1/tickets`.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct TicketListQuery {
    /// `open`, `waiting-on-buyer`, `solved`, ...
    pub status: Option<String>,
    pub assignee: Option<String>,
    pub team: Option<String>,
    /// Tickets with a message on this channel.
    pub channel: Option<String>,
    pub category: Option<String>,
    /// `true`: only tickets with a running clock that warned, breached, or falls due within
    /// `at_risk_within`.
    pub at_risk: Option<bool>,
    /// How soon counts as at risk (`30m`, `2h`); 1h by default.
    pub at_risk_within: Option<String>,
    /// From a previous page's `next_cursor`.
    pub cursor: Option<String>,
    /// 1 to 200; 50 by default.
    pub limit: Option<i64>,
}

/// One deadline of a ticket.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct Deadline {
    /// `first-response`, `next-response`, `resolution`.
    pub kind: String,
    pub policy: String,
    pub due: String,
    /// `pending`, `warned`, `breached` or `met`.
    pub state: String,
    pub started_at: Option<String>,
    /// When its clock stopped, and what stopped it (`reply`, a status).
    pub stopped_at: Option<String>,
    pub stopped_by: Option<String>,
    /// Set while its clock is paused by a status.
    pub paused_since: Option<String>,
}

impl From<crate::store::tickets::TicketDeadline> for Deadline {
    fn from(d: crate::store::tickets::TicketDeadline) -> Self {
        Deadline {
            kind: d.kind,
            policy: d.policy,
            due: time(d.due),
            state: d.state,
            started_at: d.started_at.map(time),
            stopped_at: d.met_at.map(time),
            stopped_by: d.stopped_by,
            paused_since: d.paused_at.map(time),
        }
    }
}

/// Who sent a message, as the channel said.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct Sender {
    pub name: Option<String>,
    pub email: Option<String>,
    pub phone: Option<String>,
    pub handle: Option<String>,
    pub buyer_id: Option<String>,
}

/// A message on a timeline.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct MessageItem {
    /// Its id on the channel.
    pub id: String,
    pub channel: String,
    /// `in` (the buyer), `out` (a reply), `auto` (an automatic reply).
    pub direction: String,
    pub from: Sender,
    pub subject: Option<String>,
    pub body: String,
    pub lang: Option<String>,
    pub order: Option<String>,
    /// The ticket it came on, when that is a ticket merged into this one.
    pub via_ticket: Option<i64>,
}

impl MessageItem {
    pub fn new(message: weft_sdk::Message, direction: String, via_ticket: Option<i64>) -> Self {
        MessageItem {
            id: message.id,
            channel: message.channel,
            direction,
            from: Sender {
                name: message.from.name,
                email: message.from.email,
                phone: message.from.phone,
                handle: message.from.handle,
                buyer_id: message.from.buyer_id,
            },
            subject: message.subject,
            body: message.body,
            lang: message.lang,
            order: message.order,
            via_ticket,
        }
    }
}

/// A reply in the outbox.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct OutboxReply {
    /// Its unique outbox key.
    pub key: String,
    pub channel: String,
    pub recipient: String,
    pub subject: Option<String>,
    pub body: String,
    pub lang: Option<String>,
    /// `pending` until the sender delivers it (`sent`) or gives up (`failed`).
    pub state: String,
    /// The agent's token name; absent for a workflow's message.
    pub author: Option<String>,
    /// The ticket version queuing it made.
    pub ticket_version: Option<i64>,
    pub created_at: String,
    pub sent_at: Option<String>,
    pub error: Option<String>,
    /// What the channel's vendor reported after delivering it: `queued`, `sent`, `delivered`,
    /// `read` or `failed` (then `state` is `failed` too, with the vendor's reason in `error`);
    /// absent when it reported nothing.
    pub delivery_state: Option<String>,
}

impl From<crate::store::tickets::OutboxRow> for OutboxReply {
    fn from(row: crate::store::tickets::OutboxRow) -> Self {
        OutboxReply {
            key: row.key,
            channel: row.channel,
            recipient: row.recipient,
            subject: row.subject,
            body: row.body,
            lang: row.lang,
            state: row.state,
            author: row.author,
            ticket_version: row.ticket_version,
            created_at: time(row.created_at),
            sent_at: row.sent_at.map(time),
            error: row.error,
            delivery_state: row.delivery_state,
        }
    }
}

/// One piece of evidence behind a decision.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct EvidenceItem {
    pub field: String,
    pub detail: String,
    pub weight: f64,
}

/// A logged decision: who decided what, and why.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct DecisionItem {
    /// The event it was made on; absent for changes made by hand.
    pub event: Option<i64>,
    pub workflow: String,
    /// The version of the workflow file that made it (the first 12 hex digits of its
    /// SHA-256); absent for changes made by hand.
    pub workflow_version: Option<String>,
    pub step: String,
    /// `name@version`.
    pub plugin: String,
    /// The command as applied, with a `command` field naming it.
    #[schema(value_type = Object)]
    pub command: serde_json::Value,
    pub reason: String,
    pub evidence: Vec<EvidenceItem>,
}

/// One entry of a ticket's timeline, oldest first.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum TimelineItem {
    /// A message, either way, on any channel.
    Message {
        at: String,
        #[serde(flatten)]
        message: MessageItem,
    },
    /// A reply queued in the outbox.
    Reply {
        at: String,
        #[serde(flatten)]
        reply: OutboxReply,
    },
    /// A decision of a step or a person, with its reason and evidence.
    Decision {
        at: String,
        #[serde(flatten)]
        decision: DecisionItem,
    },
    /// A ticket merged into this one, or this one into another (and undone, when it was).
    Merge {
        at: String,
        into: i64,
        from: i64,
        reason: String,
        undone_at: Option<String>,
    },
    /// A status, an assignment, ...: what changed and who did it.
    Change {
        at: String,
        version: i64,
        kind: String,
        #[schema(value_type = Object)]
        detail: serde_json::Value,
        author: Option<String>,
    },
}

/// A customer as a ticket shows it.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct CustomerBrief {
    pub id: i64,
    pub identities: Vec<IdentityBrief>,
}

/// An identity without its history.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct IdentityBrief {
    /// `email`, `phone`, `buyer-id`, `handle`, `name`, `address`, ...
    pub kind: String,
    pub value: String,
}

/// The order a ticket is about.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct OrderInfo {
    pub number: String,
    /// Other tickets about the same order.
    pub other_tickets: Vec<i64>,
    /// The order as its channel reported it (one per channel that has an order with this
    /// number; none when only the number is known), with its shipments.
    pub orders: Vec<OrderRecord>,
}

/// An order as its channel last reported it, with where its parcels are.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct OrderRecord {
    /// Where it was placed (`shopify`, `amazon`, ...), in lower case.
    pub channel: String,
    /// The number in canonical form (`302-1234567-7654321`, `1001`).
    pub number: String,
    /// The number as the marketplace writes it (`#1001`).
    pub written: String,
    /// `pending`, `paid`, `partially_shipped`, `shipped`, `delivered`, `cancelled`,
    /// `refunded`; none when the channel did not say.
    pub status: Option<String>,
    /// The last report: `placed`, `updated` or `cancelled`.
    pub last_change: String,
    pub placed_at: String,
    pub updated_at: String,
    /// The customer its buyer is, once linked.
    pub customer: Option<i64>,
    pub buyer: Sender,
    /// What the buyer pays in all.
    pub total: Option<MoneyRecord>,
    pub lines: Vec<OrderLineRecord>,
    pub shipments: Vec<ShipmentRecord>,
}

/// An amount of money, exact: decimal text and an ISO 4217 currency.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct MoneyRecord {
    /// `1299.90`
    pub amount: String,
    /// `EUR`
    pub currency: String,
}

/// One line of an order.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct OrderLineRecord {
    pub sku: Option<String>,
    pub title: String,
    pub quantity: u32,
    pub unit_price: Option<MoneyRecord>,
}

/// A parcel of an order: where it is, and how it got there.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct ShipmentRecord {
    pub carrier: String,
    pub tracking_number: String,
    /// `pending`, `in_transit`, `out_for_delivery`, `delivered`, `exception`, `returned`.
    pub status: String,
    pub estimated_delivery: Option<String>,
    pub delivered_at: Option<String>,
    /// Every status the carrier reported, oldest first.
    pub history: Vec<ShipmentStepRecord>,
}

/// One status a carrier reported.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct ShipmentStepRecord {
    pub at: String,
    pub status: String,
    /// The carrier's words (`Ankunft im Paketzentrum`).
    pub detail: Option<String>,
}

impl From<weft_sdk::Money> for MoneyRecord {
    fn from(money: weft_sdk::Money) -> Self {
        MoneyRecord {
            amount: money.amount,
            currency: money.currency,
        }
    }
}

impl From<crate::store::orders::TicketOrder> for OrderRecord {
    fn from(found: crate::store::orders::TicketOrder) -> Self {
        let view = found.order;
        let order = view.order;
        OrderRecord {
            channel: order.channel.trim().to_lowercase(),
            number: view.number,
            written: order.number,
            status: order.status.map(|s| s.as_str().to_owned()),
            last_change: view.last_change,
            placed_at: order.placed_at,
            updated_at: time(view.updated_at),
            customer: view.customer.map(|c| c as i64),
            buyer: Sender {
                name: order.buyer.name,
                email: order.buyer.email,
                phone: order.buyer.phone,
                handle: order.buyer.handle,
                buyer_id: order.buyer.buyer_id,
            },
            total: order.total.map(MoneyRecord::from),
            lines: order
                .lines
                .into_iter()
                .map(|line| OrderLineRecord {
                    sku: line.sku,
                    title: line.title,
                    quantity: line.quantity,
                    unit_price: line.unit_price.map(MoneyRecord::from),
                })
                .collect(),
            shipments: found
                .shipments
                .into_iter()
                .map(|shipment| ShipmentRecord {
                    carrier: shipment.carrier,
                    tracking_number: shipment.tracking_number,
                    status: shipment.status.as_str().to_owned(),
                    estimated_delivery: shipment.estimated_delivery.map(time),
                    delivered_at: shipment.delivered_at.map(time),
                    history: shipment
                        .history
                        .into_iter()
                        .map(|step| ShipmentStepRecord {
                            at: time(step.at),
                            status: step.status.as_str().to_owned(),
                            detail: step.detail,
                        })
                        .collect(),
                })
                .collect(),
        }
    }
}

/// One ticket with everything about it.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct TicketDetail {
    #[serde(flatten)]
    pub ticket: TicketSummary,
    pub confidence: Option<f64>,
    pub customer_detail: Option<CustomerBrief>,
    pub order_detail: Option<OrderInfo>,
    pub deadlines: Vec<Deadline>,
    pub timeline: Vec<TimelineItem>,
    /// Replies kept because the ticket had changed; send or discard them.
    pub drafts: Vec<DraftView>,
    /// Who is viewing the ticket and who is typing on it now.
    pub presence: TicketPresence,
}

/// A reply kept on the server after a 409.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct DraftView {
    pub id: i64,
    pub author: String,
    pub body: String,
    pub subject: Option<String>,
    pub lang: Option<String>,
    /// The version the agent had seen.
    pub based_on: i64,
    pub created_at: String,
}

impl From<crate::store::tickets::Draft> for DraftView {
    fn from(d: crate::store::tickets::Draft) -> Self {
        DraftView {
            id: d.id,
            author: d.author,
            body: d.body,
            subject: d.subject,
            lang: d.lang,
            based_on: d.based_on,
            created_at: time(d.created_at),
        }
    }
}

/// `POST /api/v1/tickets/{n}/replies`.
#[derive(Debug, Default, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReplyBody {
    /// The text. With `draft`, replaces the draft's text.
    pub body: Option<String>,
    /// `Re: <the buyer's subject>` by default.
    pub subject: Option<String>,
    /// The buyer's language by default.
    pub lang: Option<String>,
    /// The ticket version you last saw (`version` of `GET /api/v1/tickets/{n}`). If the ticket
    /// changed since, nothing is sent: 409 with what changed, and the reply kept as a draft.
    pub expected_version: Option<i64>,
    /// A draft kept by an earlier 409, to send now: with the current `expected_version`, or
    /// with `send_anyway`.
    pub draft: Option<i64>,
    /// Send `draft` whatever changed since.
    #[serde(default)]
    pub send_anyway: bool,
}

/// A reply accepted into the outbox.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct ReplyAccepted {
    pub ticket: i64,
    /// The ticket's version now.
    pub version: i64,
    pub reply: OutboxReply,
    /// The draft sent, when one was.
    pub draft: Option<i64>,
}

/// What changed since a version, as a 409 carries it in `error.details`.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct StaleDetails {
    pub ticket: i64,
    /// The version the reply expected.
    pub expected_version: i64,
    pub current_version: i64,
    /// Every change since `expected_version`, in order.
    pub changes: Vec<ChangeItem>,
    /// The reply, kept: send it with `{"draft": id, "expected_version": current_version}` or
    /// `{"draft": id, "send_anyway": true}`, or discard it with
    /// `DELETE /api/v1/tickets/{n}/drafts/{id}`.
    pub draft: i64,
}

/// One change of a ticket.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ChangeItem {
    /// A message put on the ticket (a buyer's, or a reply that went out).
    Message {
        version: i64,
        at: String,
        #[serde(flatten)]
        message: MessageItem,
    },
    /// A reply queued by an agent or a workflow.
    Reply {
        version: i64,
        #[serde(flatten)]
        reply: OutboxReply,
    },
    /// `status` (`detail.from`, `detail.to`), `assigned`, `merged`, `merged_into`, `unmerged`,
    /// `unmerged_from`.
    Change {
        version: i64,
        at: String,
        kind: String,
        #[schema(value_type = Object)]
        detail: serde_json::Value,
        author: Option<String>,
    },
}

impl From<crate::store::tickets::Change> for ChangeItem {
    fn from(change: crate::store::tickets::Change) -> Self {
        use crate::store::tickets::Change;
        match change {
            Change::Message {
                version,
                direction,
                message,
            } => ChangeItem::Message {
                version,
                at: time(message.at),
                message: MessageItem::new(*message, direction, None),
            },
            Change::Reply { version, reply } => ChangeItem::Reply {
                version,
                reply: (*reply).into(),
            },
            Change::Other {
                version,
                kind,
                detail,
                author,
                at,
            } => ChangeItem::Change {
                version,
                at: time(at),
                kind,
                detail,
                author,
            },
        }
    }
}

/// `POST /api/v1/tickets/{n}/status`.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct StatusBody {
    /// `open`, `no-response-needed`, `waiting-on-buyer`, `solved`, or a status of your own.
    pub status: String,
}

/// What a status change did.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct StatusChanged {
    pub ticket: i64,
    pub from: String,
    pub to: String,
    /// Clocks stopped: `kind (policy): state`.
    pub stopped: Vec<String>,
    /// Clocks paused: `kind (policy)`.
    pub paused: Vec<String>,
    pub version: i64,
}

/// `POST /api/v1/tickets/{n}/assignment`.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AssignBody {
    /// The agent; null to unassign.
    pub agent: Option<String>,
    pub team: Option<String>,
}

/// `POST /api/v1/tickets/{n}/merge` and `POST /api/v1/customers/{id}/merge`.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MergeBody {
    /// The tickets (or customers) that join this one.
    pub from: Vec<u64>,
    /// Why, for the decision log.
    pub reason: Option<String>,
}

/// What a merge did.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct Merged {
    pub into: i64,
    /// Those merged now (others already were).
    pub merged: Vec<i64>,
}

/// `POST /api/v1/tickets/{n}/unmerge`.
#[derive(Debug, Default, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReasonBody {
    pub reason: Option<String>,
}

/// What an unmerge did.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct Unmerged {
    pub ticket: i64,
    /// The ticket it had joined.
    pub was_in: i64,
}

/// `POST /api/v1/customers/{id}/split`.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SplitBody {
    /// Identities to move to a new customer, as `kind:value` (`email:anna@example.de`); none
    /// undoes the merge that formed the customer.
    #[serde(default)]
    pub identities: Vec<String>,
    pub reason: Option<String>,
}

/// What a split did.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct SplitDone {
    pub kept: i64,
    pub split: i64,
    pub messages: Vec<String>,
    pub tickets: Vec<i64>,
    pub summary: String,
}

/// A customer with every identity of its family and the evidence of each link.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct CustomerDetail {
    pub id: i64,
    pub merged_into: Option<i64>,
    /// Where it lives now: itself unless merged.
    pub root: i64,
    /// Customers merged into it.
    pub members: Vec<i64>,
    /// Customers split from it by hand: not to be merged again on the same evidence.
    pub kept_apart: Vec<i64>,
    pub identities: Vec<IdentityView>,
    pub tickets: Vec<i64>,
    /// Merges and splits of the family, with reasons and evidence.
    pub links: Vec<LinkView>,
    pub created_at: String,
}

/// An identity and how it got onto the customer.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct IdentityView {
    pub kind: String,
    pub value: String,
    /// Exclusive to one customer (email, phone, buyer id, handle).
    pub strong: bool,
    pub score: f64,
    /// The customer row that holds it (this one or one merged into it).
    pub customer: i64,
    pub seen_on: Option<SeenOn>,
    /// The decisions that linked that message to the customer.
    pub linked_by: Vec<LinkView>,
}

/// The message an identity was seen on.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct SeenOn {
    pub channel: String,
    pub message: String,
    pub at: String,
}

/// A decision that linked, merged or split.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct LinkView {
    pub command: String,
    pub workflow: String,
    pub step: String,
    pub plugin: String,
    pub reason: String,
    #[schema(value_type = Object)]
    pub evidence: serde_json::Value,
    pub at: String,
}

impl From<crate::store::customers::LinkRecord> for LinkView {
    fn from(l: crate::store::customers::LinkRecord) -> Self {
        LinkView {
            command: l.command,
            workflow: l.workflow,
            step: l.step,
            plugin: l.plugin,
            reason: l.reason,
            evidence: l.evidence,
            at: time(l.at),
        }
    }
}

impl From<crate::store::customers::CustomerRecord> for CustomerDetail {
    fn from(c: crate::store::customers::CustomerRecord) -> Self {
        CustomerDetail {
            id: c.id,
            merged_into: c.merged_into,
            root: c.root,
            members: c.members,
            kept_apart: c.kept_apart,
            identities: c
                .identities
                .into_iter()
                .map(|i| IdentityView {
                    kind: i.kind,
                    value: i.value,
                    strong: i.strong,
                    score: i.score,
                    customer: i.customer,
                    seen_on: i.message.map(|(channel, message, at)| SeenOn {
                        channel,
                        message,
                        at: time(at),
                    }),
                    linked_by: i.linked_by.into_iter().map(LinkView::from).collect(),
                })
                .collect(),
            tickets: c.tickets,
            links: c.links.into_iter().map(LinkView::from).collect(),
            created_at: time(c.created_at),
        }
    }
}

/// `GET /api/v1/customers`: at least one of these.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct CustomerSearch {
    /// An email address (case does not matter).
    pub email: Option<String>,
    /// A phone number; its digits must end a stored number's (`+49 151 2345678`, `01512345678`).
    pub phone: Option<String>,
    /// An order number, as the marketplace writes it.
    pub order: Option<String>,
    /// Part of a name.
    pub name: Option<String>,
    /// 1 to 200; 50 by default.
    pub limit: Option<i64>,
}

/// Customers found.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct CustomerList {
    pub customers: Vec<CustomerDetail>,
}

/// A dead letter: what could not be processed, and why.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct DeadLetterView {
    pub id: i64,
    pub event: Option<i64>,
    pub inbound: Option<i64>,
    pub workflow: Option<String>,
    pub step: Option<String>,
    pub plugin: Option<String>,
    pub error: String,
    pub attempts: i64,
    pub created_at: String,
    pub replayed_at: Option<String>,
}

impl From<crate::store::queue::DeadLetter> for DeadLetterView {
    fn from(d: crate::store::queue::DeadLetter) -> Self {
        DeadLetterView {
            id: d.id,
            event: d.event,
            inbound: d.inbound,
            workflow: d.workflow,
            step: d.step,
            plugin: d.plugin,
            error: d.error,
            attempts: d.attempts,
            created_at: time(d.created_at),
            replayed_at: d.replayed_at.map(time),
        }
    }
}

/// Open dead letters.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct DeadLetterList {
    pub dead_letters: Vec<DeadLetterView>,
}

/// What a replay did.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct Replayed {
    pub id: i64,
    /// `requeued` (its event runs again now), `parsed` (its raw input became `messages`
    /// messages) or `failed_again` (with `reason`; the dead letter is open again).
    pub outcome: String,
    pub messages: Option<usize>,
    pub reason: Option<String>,
}

/// `POST /api/v1/tickets/{n}/presence`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PresenceBody {
    /// `viewing` (the ticket is open on the agent's screen), `typing` (they are writing a
    /// reply) or `left`.
    pub state: String,
}

/// One agent on a ticket.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct AgentPresence {
    /// The agent's token name.
    pub agent: String,
    /// `viewing` or `typing`.
    pub state: String,
    /// Since when it is in this state.
    pub since: String,
    /// When it lapses unless the agent's client posts again.
    pub expires_at: String,
}

/// Who is on a ticket now.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct TicketPresence {
    pub ticket: i64,
    /// Agents viewing it (and not typing).
    pub viewing: Vec<String>,
    /// Agents typing a reply on it.
    pub typing: Vec<String>,
    /// Each of them, by name.
    pub agents: Vec<AgentPresence>,
}

impl TicketPresence {
    pub fn new(ticket: i64, agents: &[crate::store::presence::Presence]) -> TicketPresence {
        use crate::store::presence::PresenceState;
        let named = |state: PresenceState| {
            agents
                .iter()
                .filter(|a| a.state == state)
                .map(|a| a.agent.clone())
                .collect()
        };
        TicketPresence {
            ticket,
            viewing: named(PresenceState::Viewing),
            typing: named(PresenceState::Typing),
            agents: agents
                .iter()
                .map(|a| AgentPresence {
                    agent: a.agent.clone(),
                    state: a.state.as_str().to_owned(),
                    since: time(a.since),
                    expires_at: time(a.expires_at),
                })
                .collect(),
        }
    }
}

/// `GET /api/v1/stream`: which changes.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct StreamQuery {
    /// Only this ticket's changes (its number exactly: a ticket merged into it has its own).
    pub ticket: Option<i64>,
}

/// The data of the `ready` event: the subscription is in place.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct StreamReady {
    /// Where it starts (also the event's `id:`): every change after this follows.
    pub position: String,
    /// The ticket it is limited to, if any.
    pub ticket: Option<i64>,
}

/// The data of a `ticket`, `message`, `reply` or `presence` event: the state now, not the
/// difference. Every one names its `ticket`.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(untagged)]
pub enum StreamEvent {
    /// `ticket`: its row (with the version a reply must name) or a deadline changed.
    Ticket(StreamTicket),
    /// `message`: a message joined the ticket, a buyer's or a reply that went out.
    Message(StreamMessage),
    /// `reply`: a reply was queued, or its delivery moved on.
    Reply(StreamReply),
    /// `presence`: who is viewing or typing on it now.
    Presence(TicketPresence),
}

impl StreamEvent {
    /// The SSE event name.
    pub fn name(&self) -> &'static str {
        match self {
            StreamEvent::Ticket(_) => "ticket",
            StreamEvent::Message(_) => "message",
            StreamEvent::Reply(_) => "reply",
            StreamEvent::Presence(_) => "presence",
        }
    }
}

/// A ticket that changed, with its deadlines.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct StreamTicket {
    pub ticket: i64,
    #[serde(flatten)]
    pub summary: TicketSummary,
    pub deadlines: Vec<Deadline>,
}

/// A message that joined a ticket.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct StreamMessage {
    pub ticket: i64,
    pub at: String,
    pub message: MessageItem,
}

/// A reply in a ticket's outbox.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct StreamReply {
    pub ticket: i64,
    pub reply: OutboxReply,
}

impl From<crate::exec::Published> for StreamEvent {
    fn from(published: crate::exec::Published) -> StreamEvent {
        use crate::exec::Change;
        let ticket = published.ticket;
        match published.change {
            Change::Ticket { ticket: row, deadlines } => StreamEvent::Ticket(StreamTicket {
                ticket,
                summary: (*row).into(),
                deadlines: deadlines.into_iter().map(Deadline::from).collect(),
            }),
            Change::Message(head) => {
                let head = *head;
                StreamEvent::Message(StreamMessage {
                    ticket,
                    at: time(head.message.at),
                    message: MessageItem::new(head.message, head.direction, None),
                })
            }
            Change::Reply(row) => StreamEvent::Reply(StreamReply {
                ticket,
                reply: (*row).into(),
            }),
            Change::Presence { ticket, agents } => StreamEvent::Presence(TicketPresence::new(ticket, &agents)),
        }
    }
}

/// A token as admins see it: never the token itself, which is shown once, when it is made.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct TokenView {
    pub name: String,
    /// `agent`, `admin` or `integrator`.
    pub role: String,
    pub created_at: String,
    /// When it was revoked; absent while it is live.
    pub revoked_at: Option<String>,
}

impl From<crate::store::tokens::TokenRow> for TokenView {
    fn from(row: crate::store::tokens::TokenRow) -> Self {
        TokenView {
            name: row.name,
            role: row.role,
            created_at: time(row.created_at),
            revoked_at: row.revoked_at.map(time),
        }
    }
}

/// `GET /api/v1/tokens`: every token, live and revoked, oldest first.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct TokenList {
    pub tokens: Vec<TokenView>,
}

/// `POST /api/v1/tokens`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TokenBody {
    /// 1 to 64 letters (any script), digits, `.`, `_`, `-` or `@`; no live token may have it.
    pub name: String,
    /// `agent`, `admin` or `integrator`.
    pub role: String,
}

/// A token just made: `secret` is the bearer token, shown only in this answer.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct CreatedToken {
    pub token: TokenView,
    pub secret: String,
}

/// An erasure of personal data: what asked for it, and what it erased.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct ErasureView {
    pub id: i64,
    /// `customer` (one buyer) or `channel` (everything from a shop).
    pub scope: String,
    /// The channel that asked (`shopify`, `ebay`).
    pub channel: String,
    /// The vendor's id of the request.
    pub request: Option<String>,
    pub reason: String,
    /// How many records of each kind lost their personal data (`messages`, `orders`,
    /// `identities`, `raw_webhooks`, ...).
    pub counts: std::collections::BTreeMap<String, i64>,
    pub customers: Vec<i64>,
    pub tickets: Vec<i64>,
    /// RFC 3339.
    pub at: String,
}

impl From<crate::store::erasure::Erasure> for ErasureView {
    fn from(erasure: crate::store::erasure::Erasure) -> Self {
        ErasureView {
            id: erasure.id,
            scope: erasure.scope,
            channel: erasure.channel,
            request: erasure.request,
            reason: erasure.reason,
            counts: erasure.counts,
            customers: erasure.customers,
            tickets: erasure.tickets,
            at: crate::store::report::rfc3339(erasure.at),
        }
    }
}

/// Erasures, newest first.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct ErasureList {
    pub erasures: Vec<ErasureView>,
}
