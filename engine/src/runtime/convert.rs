//! Conversions between the generated WIT types and the `weft_sdk` model.

use crate::runtime::PluginError;
use crate::runtime::bindings::step::weft::plugin::context as c;
use crate::runtime::bindings::step::weft::plugin::types as w;
use weft_sdk as m;

fn party_to(p: &m::Party) -> w::Party {
    w::Party {
        name: p.name.clone(),
        email: p.email.clone(),
        phone: p.phone.clone(),
        handle: p.handle.clone(),
        buyer_id: p.buyer_id.clone(),
    }
}

fn party_from(p: w::Party) -> m::Party {
    m::Party {
        name: p.name,
        email: p.email,
        phone: p.phone,
        handle: p.handle,
        buyer_id: p.buyer_id,
    }
}

fn address_to(a: &m::Address) -> w::Address {
    w::Address {
        line1: a.line1.clone(),
        line2: a.line2.clone(),
        city: a.city.clone(),
        postcode: a.postcode.clone(),
        region: a.region.clone(),
        country: a.country.clone(),
    }
}

fn address_from(a: w::Address) -> m::Address {
    m::Address {
        line1: a.line1,
        line2: a.line2,
        city: a.city,
        postcode: a.postcode,
        region: a.region,
        country: a.country,
    }
}

fn message_to(msg: &m::Message) -> w::Message {
    w::Message {
        channel: msg.channel.clone(),
        id: msg.id.clone(),
        thread: msg.thread.clone(),
        at: msg.at,
        sender: party_to(&msg.from),
        address: msg.address.as_ref().map(address_to),
        order: msg.order.clone(),
        subject: msg.subject.clone(),
        body: msg.body.clone(),
        quoted: msg.quoted.clone(),
        lang: msg.lang.clone(),
        marketplace: msg.marketplace.clone(),
        replies_to: msg.replies_to.clone(),
        attachments: msg
            .attachments
            .iter()
            .map(|a| w::Attachment {
                filename: a.filename.clone(),
                content_type: a.content_type.clone(),
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

/// JSON as the guest sees it: `null` is the empty string.
pub(crate) fn json_to(value: &serde_json::Value) -> String {
    if value.is_null() {
        String::new()
    } else {
        value.to_string()
    }
}

/// JSON text from the guest; empty text is `null`.
pub(crate) fn json_from(text: &str) -> Result<serde_json::Value, String> {
    if text.trim().is_empty() {
        return Ok(serde_json::Value::Null);
    }
    serde_json::from_str(text).map_err(|e| format!("not valid JSON ({e})"))
}

pub(crate) fn event_to(e: &m::Event) -> w::Event {
    w::Event {
        id: e.id,
        kind: e.kind.clone(),
        at: e.at,
        message: e.message.as_ref().map(message_to),
        customer: e.customer,
        ticket: e.ticket,
        payload: json_to(&e.payload),
    }
}

fn kind_from(k: w::IdentityKind) -> m::IdentityKind {
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

fn kind_to(k: m::IdentityKind) -> w::IdentityKind {
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

fn identity_to(i: m::Identity) -> w::Identity {
    w::Identity {
        kind: kind_to(i.kind),
        value: i.value,
    }
}

pub(crate) fn customer_to(v: m::CustomerView) -> c::Customer {
    c::Customer {
        id: v.id,
        identities: v.identities.into_iter().map(identity_to).collect(),
        merged_into: v.merged_into,
        kept_apart: v.kept_apart,
    }
}

pub(crate) fn ticket_to(t: m::TicketView) -> c::Ticket {
    c::Ticket {
        number: t.number,
        customer: t.customer,
        status: t.status,
        subject: t.subject,
        order: t.order,
        category: t.category,
        opened_at: t.opened_at,
        updated_at: t.updated_at,
        merged_into: t.merged_into,
        assignee: t.assignee,
        priority: t.priority,
    }
}

pub(crate) fn deadline_to(d: m::DeadlineView) -> c::Deadline {
    c::Deadline {
        kind: d.kind,
        policy: d.policy,
        due: d.due,
        state: d.state,
        started_at: d.started_at,
        stopped_at: d.stopped_at,
        paused_since: d.paused_since,
    }
}

pub(crate) fn summary_to(s: m::MessageSummary) -> c::MessageSummary {
    c::MessageSummary {
        id: s.id,
        at: s.at,
        sender_key: s.sender_key,
        subject: s.subject,
        body_fingerprint: s.body_fingerprint,
        duplicate_of: s.duplicate_of,
    }
}

fn ticket_ref_from(t: w::TicketRef) -> m::TicketRef {
    match t {
        w::TicketRef::Existing(n) => m::TicketRef::Existing(n),
        w::TicketRef::Current => m::TicketRef::Current,
    }
}

fn command_from(c: w::Command) -> Result<m::Command, String> {
    Ok(match c {
        w::Command::LinkCustomer(x) => m::Command::LinkCustomer(m::LinkCustomer {
            customer: match x.customer {
                w::CustomerRef::Existing(id) => m::CustomerRef::Existing(id),
                w::CustomerRef::New => m::CustomerRef::New,
            },
            identities: x.identities.into_iter().map(identity_from).collect(),
            score: x.score,
        }),
        w::Command::MergeCustomers(x) => m::Command::MergeCustomers(m::MergeCustomers {
            into: x.into,
            from: x.from,
        }),
        w::Command::OpenTicket(x) => m::Command::OpenTicket(m::OpenTicket {
            subject: x.subject,
            order: x.order,
        }),
        w::Command::AppendToTicket(x) => m::Command::AppendToTicket(m::AppendToTicket {
            ticket: x.ticket,
            duplicate_of: x.duplicate_of,
        }),
        w::Command::MergeTickets(x) => m::Command::MergeTickets(m::MergeTickets {
            into: x.into,
            from: x.from,
        }),
        w::Command::SetField(x) => m::Command::SetField(m::SetField {
            ticket: ticket_ref_from(x.ticket),
            name: x.name,
            value: x.value,
            confidence: x.confidence,
        }),
        w::Command::Assign(x) => m::Command::Assign(m::Assign {
            ticket: ticket_ref_from(x.ticket),
            agent: x.agent,
            team: x.team,
        }),
        w::Command::SetDeadline(x) => m::Command::SetDeadline(m::SetDeadline {
            ticket: ticket_ref_from(x.ticket),
            kind: x.kind,
            policy: x.policy,
            due: x.due,
            warn_at: x.warn_at,
            pause_on: x.pause_on,
        }),
        w::Command::SendMessage(x) => m::Command::SendMessage(m::SendMessage {
            channel: x.channel,
            to: x.to,
            ticket: ticket_ref_from(x.ticket),
            subject: x.subject,
            body: x.body,
            lang: x.lang,
            key: x.key,
        }),
        w::Command::ScheduleTimer(x) => m::Command::ScheduleTimer(m::ScheduleTimer {
            payload: json_from(&x.payload).map_err(|e| format!("payload is {e}"))?,
            key: x.key,
            at: x.at,
            kind: x.kind,
        }),
        w::Command::EmitEvent(x) => m::Command::EmitEvent(m::EmitEvent {
            payload: json_from(&x.payload).map_err(|e| format!("payload is {e}"))?,
            kind: x.kind,
        }),
    })
}

/// A decision from the guest; its JSON payload must parse.
pub(crate) fn decision_from(d: w::Decision) -> Result<m::Decision, String> {
    Ok(m::Decision {
        command: command_from(d.command)?,
        reason: d.reason,
        evidence: d
            .evidence
            .into_iter()
            .map(|e| m::Evidence {
                field: e.field,
                detail: e.detail,
                weight: e.weight,
            })
            .collect(),
    })
}

pub(crate) fn plugin_error_from(e: w::PluginError) -> PluginError {
    match e {
        w::PluginError::Retryable(m) => PluginError::Retryable(m),
        // Capped as the SDK caps a vendor's `Retry-After`: any plugin may send any u64, and
        // the wait is added to a time in milliseconds as an i64.
        w::PluginError::RetryLater(r) => PluginError::RetryLater {
            after: std::time::Duration::from_millis(r.after_ms).min(weft_sdk::http::MAX_WAIT),
            reason: r.reason,
        },
        w::PluginError::Permanent(m) => PluginError::Permanent(m),
        w::PluginError::BadConfig(m) => PluginError::BadConfig(m),
        w::PluginError::OptedOut(m) => PluginError::OptedOut(m),
    }
}

/// What the plugin says about itself; its config schema must be a JSON document.
pub(crate) fn info_from(i: w::PluginInfo) -> Result<m::PluginInfo, String> {
    let config_schema = serde_json::from_str(&i.config_schema).map_err(|e| {
        format!(
            "plugin `{}` publishes a config schema that is not valid JSON: {e}",
            i.name
        )
    })?;
    Ok(m::PluginInfo {
        name: i.name,
        version: i.version,
        description: i.description,
        config_schema,
    })
}

pub(crate) fn inbound_to(i: &m::Inbound) -> w::Inbound {
    w::Inbound {
        source: i.source.clone(),
        hook: i.hook.clone(),
        received_at: i.received_at,
        content_type: i.content_type.clone(),
        headers: i.headers.clone(),
        body: i.body.clone(),
    }
}

pub(crate) fn handshake_to(r: &m::HandshakeRequest) -> w::HandshakeRequest {
    w::HandshakeRequest {
        hook: r.hook.clone(),
        query: r.query.clone(),
        headers: r.headers.clone(),
        target: r.target.clone(),
    }
}

pub(crate) fn handshake_from(r: w::HandshakeResponse) -> m::HandshakeResponse {
    m::HandshakeResponse {
        status: r.status,
        content_type: r.content_type,
        body: r.body,
    }
}

pub(crate) fn outbound_to(o: &m::Outbound) -> w::Outbound {
    w::Outbound {
        key: o.key.clone(),
        to: o.to.clone(),
        thread: o.thread.clone(),
        subject: o.subject.clone(),
        body: o.body.clone(),
        lang: o.lang.clone(),
        last_inbound_at: o.last_inbound_at,
        automatic: o.automatic,
        replying_to: o.replying_to.as_ref().map(inbound_to),
    }
}

pub(crate) fn notice_from(n: w::Notice) -> m::Notice {
    match n {
        w::Notice::DeliveryStatus(s) => m::Notice::DeliveryStatus(m::DeliveryStatus {
            external_id: s.external_id,
            state: match s.state {
                w::DeliveryState::Queued => m::DeliveryState::Queued,
                w::DeliveryState::Sent => m::DeliveryState::Sent,
                w::DeliveryState::Delivered => m::DeliveryState::Delivered,
                w::DeliveryState::Read => m::DeliveryState::Read,
                w::DeliveryState::Failed => m::DeliveryState::Failed,
            },
            at: s.at,
            reason: s.reason,
        }),
        w::Notice::Consent(c) => m::Notice::Consent(m::Consent {
            address: c.address,
            opted_out: c.opted_out,
            reason: c.reason,
            at: c.at,
        }),
    }
}

pub(crate) fn delivery_from(d: w::Delivery) -> m::Delivery {
    m::Delivery {
        external_id: d.external_id,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn info(schema: &str) -> w::PluginInfo {
        w::PluginInfo {
            name: "router".into(),
            version: "1.2.0".into(),
            description: "routes tickets".into(),
            config_schema: schema.into(),
        }
    }

    #[test]
    fn a_schema_must_be_json() {
        let parsed = info_from(info(r#"{"type":"object"}"#)).unwrap();
        assert_eq!(parsed.config_schema, serde_json::json!({"type": "object"}));
        let problem = info_from(info("{type: object")).unwrap_err();
        assert!(
            problem.starts_with("plugin `router` publishes a config schema that is not valid JSON"),
            "{problem}"
        );
    }

    #[test]
    fn a_wait_is_capped_at_what_a_retry_after_gives() {
        let max = u64::try_from(weft_sdk::http::MAX_WAIT.as_millis()).unwrap();
        for (after_ms, wait) in [(0, 0), (7_000, 7_000), (max, max), (max + 1, max), (u64::MAX, max)] {
            let error = plugin_error_from(w::PluginError::RetryLater(w::RetryLater {
                after_ms,
                reason: "später".into(),
            }));
            assert!(
                matches!(error, PluginError::RetryLater { after, .. } if after.as_millis() == u128::from(wait)),
                "{after_ms}: {error:?}"
            );
        }
    }

    #[test]
    fn events_round_trip_their_payload() {
        let mut event = m::Event {
            id: 1,
            kind: "timer.fired".into(),
            at: 5,
            message: None,
            customer: Some(2),
            ticket: None,
            payload: serde_json::json!({"key": "sla:42", "note": "délai dépassé"}),
        };
        assert_eq!(json_from(&event_to(&event).payload), Ok(event.payload.clone()));
        event.payload = serde_json::Value::Null;
        assert_eq!(event_to(&event).payload, "");
    }
}
