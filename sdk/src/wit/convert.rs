//! Conversions between generated WIT types and the SDK's model, and the guest side of [`Host`].

use crate::model as m;
use crate::plugin::{ConfigProblem, Error, Host, LogLevel, PluginInfo};
use crate::wit::common::weft::plugin::{http, log, secrets, types as w};

pub(crate) fn party_from(p: w::Party) -> m::Party {
    m::Party {
        name: p.name,
        email: p.email,
        phone: p.phone,
        handle: p.handle,
        buyer_id: p.buyer_id,
    }
}

pub(crate) fn party_to(p: m::Party) -> w::Party {
    w::Party {
        name: p.name,
        email: p.email,
        phone: p.phone,
        handle: p.handle,
        buyer_id: p.buyer_id,
    }
}

pub(crate) fn address_from(a: w::Address) -> m::Address {
    m::Address {
        line1: a.line1,
        line2: a.line2,
        city: a.city,
        postcode: a.postcode,
        region: a.region,
        country: a.country,
    }
}

pub(crate) fn address_to(a: m::Address) -> w::Address {
    w::Address {
        line1: a.line1,
        line2: a.line2,
        city: a.city,
        postcode: a.postcode,
        region: a.region,
        country: a.country,
    }
}

pub(crate) fn message_from(msg: w::Message) -> m::Message {
    m::Message {
        channel: msg.channel,
        id: msg.id,
        thread: msg.thread,
        at: msg.at,
        from: party_from(msg.sender),
        address: msg.address.map(address_from),
        order: msg.order,
        subject: msg.subject,
        body: msg.body,
        quoted: msg.quoted,
        lang: msg.lang,
        marketplace: msg.marketplace,
        replies_to: msg.replies_to,
        attachments: msg
            .attachments
            .into_iter()
            .map(|a| m::Attachment {
                filename: a.filename,
                content_type: a.content_type,
                size: a.size,
            })
            .collect(),
        direction: match msg.direction {
            w::Direction::Inbound => m::Direction::Inbound,
            w::Direction::Outbound => m::Direction::Outbound,
        },
        automatic: msg.automatic,
    }
}

pub(crate) fn message_to(msg: m::Message) -> w::Message {
    w::Message {
        channel: msg.channel,
        id: msg.id,
        thread: msg.thread,
        at: msg.at,
        sender: party_to(msg.from),
        address: msg.address.map(address_to),
        order: msg.order,
        subject: msg.subject,
        body: msg.body,
        quoted: msg.quoted,
        lang: msg.lang,
        marketplace: msg.marketplace,
        replies_to: msg.replies_to,
        attachments: msg
            .attachments
            .into_iter()
            .map(|a| w::Attachment {
                filename: a.filename,
                content_type: a.content_type,
                size: a.size,
            })
            .collect(),
        direction: match msg.direction {
            m::Direction::Inbound => w::Direction::Inbound,
            m::Direction::Outbound => w::Direction::Outbound,
        },
        automatic: msg.automatic,
    }
}

/// An item as the `parse` and `poll` exports answer it: orders and shipments become facts of
/// their event kind, with the SDK type as JSON.
pub(crate) fn item_to(item: crate::Item) -> w::Item {
    let fact = |kind: &str, at: Option<m::Timestamp>, payload: serde_json::Value, id: Option<String>| {
        w::Item::Fact(w::Fact {
            kind: kind.to_owned(),
            at,
            payload: json_to(&payload),
            id,
        })
    };
    // Serializing plain data (strings, numbers, lists) cannot fail.
    match item {
        crate::Item::Message(message) => w::Item::Message(message_to(message)),
        crate::Item::Order { change, order, id } => fact(
            change.kind(),
            None,
            serde_json::to_value(&order).unwrap_or_default(),
            id,
        ),
        crate::Item::Shipment(update) => fact(
            crate::SHIPMENT_UPDATED,
            None,
            serde_json::to_value(&update).unwrap_or_default(),
            None,
        ),
        crate::Item::Fact { kind, at, payload, id } => fact(&kind, at, payload, id),
    }
}

pub(crate) fn event_from(e: w::Event) -> m::Event {
    m::Event {
        id: e.id,
        kind: e.kind,
        at: e.at,
        message: e.message.map(message_from),
        customer: e.customer,
        ticket: e.ticket,
        payload: json_from(&e.payload),
    }
}

fn json_from(text: &str) -> serde_json::Value {
    if text.is_empty() {
        serde_json::Value::Null
    } else {
        serde_json::from_str(text).unwrap_or(serde_json::Value::Null)
    }
}

fn json_to(value: &serde_json::Value) -> String {
    if value.is_null() {
        String::new()
    } else {
        value.to_string()
    }
}

pub(crate) fn kind_from(k: w::IdentityKind) -> m::IdentityKind {
    match k {
        w::IdentityKind::Email => m::IdentityKind::Email,
        w::IdentityKind::Phone => m::IdentityKind::Phone,
        w::IdentityKind::BuyerId => m::IdentityKind::BuyerId,
        w::IdentityKind::Handle => m::IdentityKind::Handle,
        w::IdentityKind::Order => m::IdentityKind::Order,
        w::IdentityKind::Name => m::IdentityKind::Name,
        w::IdentityKind::Address => m::IdentityKind::Address,
    }
}

pub(crate) fn kind_to(k: m::IdentityKind) -> w::IdentityKind {
    match k {
        m::IdentityKind::Email => w::IdentityKind::Email,
        m::IdentityKind::Phone => w::IdentityKind::Phone,
        m::IdentityKind::BuyerId => w::IdentityKind::BuyerId,
        m::IdentityKind::Handle => w::IdentityKind::Handle,
        m::IdentityKind::Order => w::IdentityKind::Order,
        m::IdentityKind::Name => w::IdentityKind::Name,
        m::IdentityKind::Address => w::IdentityKind::Address,
    }
}

pub(crate) fn identity_from(i: w::Identity) -> m::Identity {
    m::Identity {
        kind: kind_from(i.kind),
        value: i.value,
    }
}

pub(crate) fn identity_to(i: &m::Identity) -> w::Identity {
    w::Identity {
        kind: kind_to(i.kind),
        value: i.value.clone(),
    }
}

fn ticket_ref_to(t: m::TicketRef) -> w::TicketRef {
    match t {
        m::TicketRef::Existing(n) => w::TicketRef::Existing(n),
        m::TicketRef::Current => w::TicketRef::Current,
    }
}

fn command_to(c: m::Command) -> w::Command {
    match c {
        m::Command::LinkCustomer(l) => w::Command::LinkCustomer(w::LinkCustomer {
            customer: match l.customer {
                m::CustomerRef::Existing(id) => w::CustomerRef::Existing(id),
                m::CustomerRef::New => w::CustomerRef::New,
            },
            identities: l.identities.iter().map(identity_to).collect(),
            score: l.score,
        }),
        m::Command::MergeCustomers(x) => w::Command::MergeCustomers(w::MergeCustomers {
            into: x.into,
            from: x.from,
        }),
        m::Command::OpenTicket(x) => w::Command::OpenTicket(w::OpenTicket {
            subject: x.subject,
            order: x.order,
        }),
        m::Command::AppendToTicket(x) => w::Command::AppendToTicket(w::AppendToTicket {
            ticket: x.ticket,
            duplicate_of: x.duplicate_of,
        }),
        m::Command::MergeTickets(x) => w::Command::MergeTickets(w::MergeTickets {
            into: x.into,
            from: x.from,
        }),
        m::Command::SetField(x) => w::Command::SetField(w::SetField {
            ticket: ticket_ref_to(x.ticket),
            name: x.name,
            value: x.value,
            confidence: x.confidence,
        }),
        m::Command::Assign(x) => w::Command::Assign(w::Assign {
            ticket: ticket_ref_to(x.ticket),
            agent: x.agent,
            team: x.team,
        }),
        m::Command::SetDeadline(x) => w::Command::SetDeadline(w::SetDeadline {
            ticket: ticket_ref_to(x.ticket),
            kind: x.kind,
            policy: x.policy,
            due: x.due,
            warn_at: x.warn_at,
            pause_on: x.pause_on,
        }),
        m::Command::SendMessage(x) => w::Command::SendMessage(w::SendMessage {
            channel: x.channel,
            to: x.to,
            ticket: ticket_ref_to(x.ticket),
            subject: x.subject,
            body: x.body,
            lang: x.lang,
            key: x.key,
        }),
        m::Command::ScheduleTimer(x) => w::Command::ScheduleTimer(w::ScheduleTimer {
            key: x.key,
            at: x.at,
            kind: x.kind,
            payload: json_to(&x.payload),
        }),
        m::Command::EmitEvent(x) => w::Command::EmitEvent(w::EmitEvent {
            kind: x.kind,
            payload: json_to(&x.payload),
        }),
    }
}

pub(crate) fn decision_to(d: m::Decision) -> w::Decision {
    w::Decision {
        command: command_to(d.command),
        reason: d.reason,
        evidence: d
            .evidence
            .into_iter()
            .map(|e| w::Evidence {
                field: e.field,
                detail: e.detail,
                weight: e.weight,
            })
            .collect(),
    }
}

pub(crate) fn error_to(e: Error) -> w::PluginError {
    match e {
        Error::Retryable(m) => w::PluginError::Retryable(m),
        Error::RetryLater { after, reason } => w::PluginError::RetryLater(w::RetryLater {
            after_ms: u64::try_from(after.as_millis()).unwrap_or(u64::MAX),
            reason,
        }),
        Error::Permanent(m) => w::PluginError::Permanent(m),
        Error::BadConfig(m) => w::PluginError::BadConfig(m),
        Error::OptedOut(m) => w::PluginError::OptedOut(m),
    }
}

pub(crate) fn problem_to(p: ConfigProblem) -> w::ConfigProblem {
    w::ConfigProblem {
        pointer: p.pointer,
        message: p.message,
        expected: p.expected,
    }
}

pub(crate) fn info_to(info: PluginInfo) -> w::PluginInfo {
    w::PluginInfo {
        name: info.name,
        version: info.version,
        description: info.description,
        config_schema: info.config_schema.to_string(),
    }
}

/// The plugin name a crate publishes: its package name without the `weft-plugin-` prefix.
pub fn plugin_name(package: &str) -> String {
    package.strip_prefix("weft-plugin-").unwrap_or(package).to_owned()
}

pub(crate) fn inbound_from(i: w::Inbound) -> m::Inbound {
    m::Inbound {
        source: i.source,
        hook: i.hook,
        received_at: i.received_at,
        content_type: i.content_type,
        headers: i.headers,
        body: i.body,
    }
}

/// The host's capabilities, reached through the imports.
#[derive(Debug, Clone, Copy, Default)]
pub struct GuestHost;

impl Host for GuestHost {
    fn submit_mail(&self, envelope: &m::MailEnvelope, message: &[u8]) -> Result<String, m::SubmitError> {
        use crate::wit::common::weft::plugin::mail;
        let envelope = mail::Envelope {
            sender: envelope.sender.clone(),
            recipients: envelope.recipients.clone(),
        };
        mail::submit(&envelope, message).map_err(|error| match error {
            mail::SubmitError::Transient(text) => m::SubmitError::Transient(text),
            mail::SubmitError::Permanent(text) => m::SubmitError::Permanent(text),
            mail::SubmitError::Refused(text) => m::SubmitError::Refused(text),
        })
    }

    fn fetch(&self, request: &m::HttpRequest) -> Result<m::HttpResponse, String> {
        let request = http::Request {
            method: request.method.clone(),
            url: request.url.clone(),
            headers: request.headers.clone(),
            body: request.body.clone(),
        };
        http::fetch(&request).map(|r| m::HttpResponse {
            status: r.status,
            headers: r.headers,
            body: r.body,
        })
    }

    fn secret(&self, name: &str) -> Result<String, String> {
        secrets::get(name)
    }

    fn log(&self, level: LogLevel, message: &str) {
        let level = match level {
            LogLevel::Trace => log::Level::Trace,
            LogLevel::Debug => log::Level::Debug,
            LogLevel::Info => log::Level::Info,
            LogLevel::Warn => log::Level::Warn,
            LogLevel::Error => log::Level::Error,
        };
        log::log(level, message);
    }

    fn embed(&self, _texts: &[String]) -> Result<Vec<Vec<f32>>, String> {
        Err("the embeddings capability is only available to steps".to_owned())
    }

    // The `common` world imports no `cache` (only `channel` does, through `ChannelHost`).
    fn cache_get(&self, _key: &str) -> Option<Vec<u8>> {
        None
    }

    fn cache_set(&self, _key: &str, _value: &[u8], _ttl: std::time::Duration) {}
}

pub(crate) fn notice_to(n: m::Notice) -> w::Notice {
    match n {
        m::Notice::DeliveryStatus(s) => w::Notice::DeliveryStatus(w::DeliveryStatus {
            external_id: s.external_id,
            state: match s.state {
                m::DeliveryState::Queued => w::DeliveryState::Queued,
                m::DeliveryState::Sent => w::DeliveryState::Sent,
                m::DeliveryState::Delivered => w::DeliveryState::Delivered,
                m::DeliveryState::Read => w::DeliveryState::Read,
                m::DeliveryState::Failed => w::DeliveryState::Failed,
            },
            at: s.at,
            reason: s.reason,
        }),
        m::Notice::Consent(c) => w::Notice::Consent(w::Consent {
            address: c.address,
            opted_out: c.opted_out,
            reason: c.reason,
            at: c.at,
        }),
    }
}
