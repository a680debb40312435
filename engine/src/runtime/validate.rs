//! Checks of what a plugin returns: the engine acts only on well-formed decisions.

use crate::runtime::bindings::step::weft::plugin::types as w;
use crate::runtime::convert;
use crate::store::erasure::{CHANNEL_ERASE, CUSTOMER_ERASE, DATA_REQUEST, ERASED, ErasureRequest};
use crate::store::orders::{order_times, shipment_times};
use weft_sdk::{
    Command, ConfigProblem, Decision, Item, Message, Notice, Order, OrderChange, SHIPMENT_UPDATED, ShipmentUpdate,
};

/// The most decisions one call may return.
pub(crate) const MAX_DECISIONS: usize = 1000;
/// The most items (messages, facts) one `parse` or `poll` may return.
pub(crate) const MAX_MESSAGES: usize = 10_000;
/// The most problems one `check-config` may return.
pub(crate) const MAX_PROBLEMS: usize = 1000;
/// The longest string a plugin may return, in bytes.
pub(crate) const MAX_STRING_BYTES: usize = 1024 * 1024;

/// Converts and checks a step's decisions; the problem names the decision by index.
pub(crate) fn decisions(raw: Vec<w::Decision>) -> Result<Vec<Decision>, String> {
    if raw.len() > MAX_DECISIONS {
        return Err(format!(
            "{} decisions, more than the {MAX_DECISIONS} allowed",
            raw.len()
        ));
    }
    raw.into_iter()
        .enumerate()
        .map(|(index, raw)| {
            let name = command_name(&raw.command);
            let at = |problem: String| format!("decision {index} ({name}): {problem}");
            let decision = convert::decision_from(raw).map_err(at)?;
            check_decision(&decision).map_err(at)?;
            Ok(decision)
        })
        .collect()
}

fn command_name(c: &w::Command) -> &'static str {
    match c {
        w::Command::LinkCustomer(_) => "link-customer",
        w::Command::MergeCustomers(_) => "merge-customers",
        w::Command::OpenTicket(_) => "open-ticket",
        w::Command::AppendToTicket(_) => "append-to-ticket",
        w::Command::MergeTickets(_) => "merge-tickets",
        w::Command::SetField(_) => "set-field",
        w::Command::Assign(_) => "assign",
        w::Command::SetDeadline(_) => "set-deadline",
        w::Command::SendMessage(_) => "send-message",
        w::Command::ScheduleTimer(_) => "schedule-timer",
        w::Command::EmitEvent(_) => "emit-event",
    }
}

fn unit_interval(what: &str, value: f64) -> Result<(), String> {
    if value.is_nan() || !(0.0..=1.0).contains(&value) {
        return Err(format!("{what} is {value}, expected a number from 0 to 1"));
    }
    Ok(())
}

fn not_empty(what: &str, value: &str) -> Result<(), String> {
    if value.trim().is_empty() {
        return Err(format!("{what} is empty"));
    }
    Ok(())
}

fn merge(into: u64, from: &[u64]) -> Result<(), String> {
    if from.is_empty() {
        return Err("`from` is empty".into());
    }
    if from.contains(&into) {
        return Err(format!("`into` ({into}) is also in `from`"));
    }
    Ok(())
}

fn opt<'a>(all: &mut Vec<(&'static str, &'a str)>, name: &'static str, value: &'a Option<String>) {
    if let Some(value) = value {
        all.push((name, value.as_str()));
    }
}

/// Every string a decision carries, named.
fn strings(d: &Decision) -> Vec<(&'static str, &str)> {
    let mut all = vec![("reason", d.reason.as_str())];
    for e in &d.evidence {
        all.push(("evidence field", &e.field));
        all.push(("evidence detail", &e.detail));
    }
    match &d.command {
        Command::LinkCustomer(x) => all.extend(x.identities.iter().map(|i| ("identity value", i.value.as_str()))),
        Command::OpenTicket(x) => {
            opt(&mut all, "subject", &x.subject);
            opt(&mut all, "order", &x.order);
        }
        Command::AppendToTicket(x) => opt(&mut all, "duplicate_of", &x.duplicate_of),
        Command::SetField(x) => all.extend([("name", x.name.as_str()), ("value", x.value.as_str())]),
        Command::Assign(x) => {
            opt(&mut all, "agent", &x.agent);
            opt(&mut all, "team", &x.team);
        }
        Command::SetDeadline(x) => all.extend([("kind", x.kind.as_str()), ("policy", x.policy.as_str())]),
        Command::SendMessage(x) => {
            all.extend([
                ("channel", x.channel.as_str()),
                ("to", &x.to),
                ("body", &x.body),
                ("key", &x.key),
            ]);
            opt(&mut all, "subject", &x.subject);
            opt(&mut all, "lang", &x.lang);
        }
        Command::ScheduleTimer(x) => all.extend([("key", x.key.as_str()), ("kind", x.kind.as_str())]),
        Command::EmitEvent(x) => all.push(("kind", x.kind.as_str())),
        Command::MergeCustomers(_) | Command::MergeTickets(_) => {}
    }
    all
}

/// What is wrong with one decision, if anything.
pub(crate) fn check_decision(d: &Decision) -> Result<(), String> {
    not_empty("the reason", &d.reason)?;
    for (name, value) in strings(d) {
        if value.len() > MAX_STRING_BYTES {
            return Err(format!(
                "{name} is {} bytes, longer than {MAX_STRING_BYTES}",
                value.len()
            ));
        }
    }
    for (index, e) in d.evidence.iter().enumerate() {
        not_empty(&format!("evidence {index}: the field"), &e.field)?;
        if !e.weight.is_finite() {
            return Err(format!(
                "evidence {index}: the weight is {}, expected a finite number",
                e.weight
            ));
        }
    }
    match &d.command {
        Command::LinkCustomer(x) => {
            unit_interval("the score", x.score)?;
            // A new customer without identifiers is an anonymous sender's (a chat visitor's
            // "hello"): a customer of its own. An existing one gains nothing from an empty link.
            if x.identities.is_empty() && x.customer != weft_sdk::CustomerRef::New {
                return Err("no identities to link to an existing customer".into());
            }
            for (index, identity) in x.identities.iter().enumerate() {
                not_empty(&format!("identity {index} ({})", identity.kind), &identity.value)?;
            }
        }
        Command::MergeCustomers(x) => merge(x.into, &x.from)?,
        Command::MergeTickets(x) => merge(x.into, &x.from)?,
        Command::SetField(x) => {
            not_empty("the field name", &x.name)?;
            unit_interval("the confidence", x.confidence)?;
        }
        Command::Assign(x) => {
            if x.agent.is_none() && x.team.is_none() {
                return Err("neither an agent nor a team".into());
            }
        }
        Command::SetDeadline(x) => {
            not_empty("the deadline kind", &x.kind)?;
            not_empty("the policy", &x.policy)?;
        }
        Command::SendMessage(x) => {
            not_empty("the channel", &x.channel)?;
            not_empty("the recipient", &x.to)?;
            not_empty("the key", &x.key)?;
        }
        Command::ScheduleTimer(x) => {
            not_empty("the key", &x.key)?;
            not_empty("the event kind", &x.kind)?;
        }
        Command::EmitEvent(x) => not_empty("the event kind", &x.kind)?,
        Command::OpenTicket(_) | Command::AppendToTicket(_) => {}
    }
    Ok(())
}

/// Converts and checks one parsed message.
fn message(raw: w::Message) -> Result<Message, String> {
    let message = convert::message_from(raw);
    not_empty("the channel", &message.channel)?;
    not_empty("the id", &message.id)?;
    if message.body.len() > MAX_STRING_BYTES {
        return Err(format!(
            "the body is {} bytes, longer than {MAX_STRING_BYTES}",
            message.body.len()
        ));
    }
    Ok(message)
}

/// Converts and checks what a channel's `parse` or `poll` found; the problem names the item by
/// index. A fact of an order's kind must hold an order, one of `shipment.updated` a shipment
/// update, each with its times in RFC 3339 and its money as decimal text with a currency; the
/// engine's own kinds (`message.*`, `ticket.*`, `timer.*`) are not a channel's to claim.
pub(crate) fn items(raw: Vec<w::Item>) -> Result<Vec<Item>, String> {
    if raw.len() > MAX_MESSAGES {
        return Err(format!("{} items, more than the {MAX_MESSAGES} allowed", raw.len()));
    }
    raw.into_iter()
        .enumerate()
        .map(|(index, raw)| match raw {
            w::Item::Message(raw) => message(raw)
                .map(Item::Message)
                .map_err(|p| format!("item {index}: {p}")),
            w::Item::Fact(fact) => fact_item(fact).map_err(|p| format!("item {index}: {p}")),
        })
        .collect()
}

/// A fact as the item it stands for.
fn fact_item(fact: w::Fact) -> Result<Item, String> {
    not_empty("the fact's kind", &fact.kind)?;
    if ["message.", "ticket.", "timer."]
        .iter()
        .any(|engine| fact.kind.starts_with(engine))
    {
        return Err(format!(
            "the fact's kind `{}` is one the engine raises itself",
            fact.kind
        ));
    }
    if fact.payload.len() > MAX_STRING_BYTES {
        return Err(format!(
            "the payload of `{}` is {} bytes, longer than {MAX_STRING_BYTES}",
            fact.kind,
            fact.payload.len()
        ));
    }
    if let Some(id) = &fact.id
        && (id.trim().is_empty() || id.len() > MAX_FACT_ID_BYTES)
    {
        return Err(format!(
            "the id of `{}` must be 1 to {MAX_FACT_ID_BYTES} bytes, not {} ({:?})",
            fact.kind,
            id.len(),
            id.chars().take(40).collect::<String>()
        ));
    }
    let payload = convert::json_from(&fact.payload).map_err(|e| format!("the payload of `{}` is {e}", fact.kind))?;
    // Requests about personal data are carried out by the store (`store::erasure`): one that
    // names nobody is refused here, with the traffic that carried it.
    if [CUSTOMER_ERASE, CHANNEL_ERASE, DATA_REQUEST].contains(&fact.kind.as_str()) {
        let request: ErasureRequest = serde_json::from_value(payload.clone()).map_err(|e| {
            format!(
                "the payload of `{}` is not a request about personal data: {e}",
                fact.kind
            )
        })?;
        if fact.kind != CHANNEL_ERASE && request.identities.is_empty() {
            return Err(format!("the payload of `{}` names no identity", fact.kind));
        }
    }
    if fact.kind == ERASED {
        return Err(format!("the fact's kind `{ERASED}` is one the engine raises itself"));
    }
    if let Some(change) = OrderChange::from_kind(&fact.kind) {
        let order: Order = serde_json::from_value(payload)
            .map_err(|e| format!("the payload of `{}` is not an order: {e}", fact.kind))?;
        order_times(&order)?;
        return Ok(Item::Order {
            change,
            order,
            id: fact.id,
        });
    }
    if fact.kind == SHIPMENT_UPDATED {
        let update: ShipmentUpdate = serde_json::from_value(payload)
            .map_err(|e| format!("the payload of `{}` is not a shipment update: {e}", fact.kind))?;
        shipment_times(&update)?;
        return Ok(Item::Shipment(update));
    }
    Ok(Item::Fact {
        kind: fact.kind,
        at: fact.at,
        payload,
        id: fact.id,
    })
}

/// The longest vendor event id a fact may carry (Amazon's and Walmart's are UUIDs, Shopify's a
/// number).
pub(crate) const MAX_FACT_ID_BYTES: usize = 256;

/// The most notices one `notices` may return.
pub(crate) const MAX_NOTICES: usize = 10_000;

/// Converts and checks a channel's notices: each names the message or the address it is about.
pub(crate) fn notices(raw: Vec<w::Notice>) -> Result<Vec<Notice>, String> {
    if raw.len() > MAX_NOTICES {
        return Err(format!("{} notices, more than the {MAX_NOTICES} allowed", raw.len()));
    }
    raw.into_iter()
        .enumerate()
        .map(|(index, raw)| {
            let notice = convert::notice_from(raw);
            let (what, value) = match &notice {
                Notice::DeliveryStatus(status) => ("the external id", &status.external_id),
                Notice::Consent(consent) => ("the address", &consent.address),
            };
            not_empty(what, value).map_err(|problem| format!("notice {index}: {problem}"))?;
            Ok(notice)
        })
        .collect()
}

/// Converts and checks what `check-config` found; the problem names the entry by index.
pub(crate) fn config_problems(raw: Vec<w::ConfigProblem>) -> Result<Vec<ConfigProblem>, String> {
    if raw.len() > MAX_PROBLEMS {
        return Err(format!(
            "{} config problems, more than the {MAX_PROBLEMS} allowed",
            raw.len()
        ));
    }
    raw.into_iter()
        .enumerate()
        .map(|(index, raw)| {
            let at = |problem: String| format!("config problem {index}: {problem}");
            not_empty("the message", &raw.message).map_err(at)?;
            for (name, value) in [
                ("the pointer", raw.pointer.as_str()),
                ("the message", &raw.message),
                ("expected", raw.expected.as_deref().unwrap_or_default()),
            ] {
                if value.len() > MAX_STRING_BYTES {
                    return Err(at(format!(
                        "{name} is {} bytes, longer than {MAX_STRING_BYTES}",
                        value.len()
                    )));
                }
            }
            check_pointer(&raw.pointer).map_err(at)?;
            Ok(ConfigProblem {
                pointer: raw.pointer,
                message: raw.message,
                expected: raw.expected,
            })
        })
        .collect()
}

/// A JSON Pointer (RFC 6901): empty, or `/`-separated segments in which `~` is followed by
/// `0` or `1`.
fn check_pointer(pointer: &str) -> Result<(), String> {
    if !pointer.is_empty() && !pointer.starts_with('/') {
        return Err(format!("the pointer {pointer:?} does not start with `/`"));
    }
    let mut chars = pointer.chars();
    while let Some(c) = chars.next() {
        if c == '~' && !matches!(chars.next(), Some('0' | '1')) {
            return Err(format!("the pointer {pointer:?} has a `~` not followed by 0 or 1"));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use weft_sdk::*;

    fn problem(command: Command) -> String {
        check_decision(&Decision::new(command, "because")).unwrap_err()
    }

    #[test]
    fn config_problems_need_a_message_and_a_json_pointer() {
        let raw = |pointer: &str, message: &str| w::ConfigProblem {
            pointer: pointer.to_owned(),
            message: message.to_owned(),
            expected: None,
        };
        let good = config_problems(vec![
            raw("", "la configuration est vide"),
            raw("/calendars/東京~1大阪/holidays", "地域が必要です"),
            raw("/a~0b/0", "x"),
        ])
        .expect("well-formed");
        assert_eq!(good[1].pointer, "/calendars/東京~1大阪/holidays");
        let table = [
            (raw("/fuzzy", " "), "config problem 0: the message is empty"),
            (raw("fuzzy/min_score", "x"), "does not start with `/`"),
            (raw("/a~2", "x"), "has a `~` not followed by 0 or 1"),
            (raw("/a~", "x"), "has a `~` not followed by 0 or 1"),
        ];
        for (problem, expected) in table {
            let error = config_problems(vec![problem]).unwrap_err();
            assert!(error.contains(expected), "{error}");
        }
        let many = (0..=MAX_PROBLEMS).map(|_| raw("", "x")).collect();
        assert!(
            config_problems(many)
                .unwrap_err()
                .contains("more than the 1000 allowed")
        );
    }

    #[test]
    fn well_formed_decisions_pass() {
        let d = Decision::new(
            Command::SetField(SetField::new("category", "refund")),
            "der Kunde will sein Geld zurück",
        )
        .with_evidence([Evidence::new("body", "« remboursement »", -2.5)]);
        assert_eq!(check_decision(&d), Ok(()));
        let link = Command::LinkCustomer(LinkCustomer {
            customer: CustomerRef::New,
            identities: vec![Identity::new(IdentityKind::Name, "山田太郎")],
            score: 0.0,
        });
        assert_eq!(check_decision(&Decision::new(link, "新しい顧客")), Ok(()));
        // An anonymous chat visitor: a new customer with nothing to recognize it by.
        let anonymous = Command::LinkCustomer(LinkCustomer {
            customer: CustomerRef::New,
            identities: vec![],
            score: 1.0,
        });
        assert_eq!(check_decision(&Decision::new(anonymous, "زائر مجهول")), Ok(()));
    }

    #[test]
    fn malformed_decisions_say_what_is_wrong() {
        let empty_reason = Decision::new(Command::OpenTicket(OpenTicket::default()), " ");
        assert_eq!(check_decision(&empty_reason).unwrap_err(), "the reason is empty");
        let mut field = SetField::new("tag", "x");
        field.confidence = f64::NAN;
        assert_eq!(
            problem(Command::SetField(field.clone())),
            "the confidence is NaN, expected a number from 0 to 1"
        );
        field.confidence = 1.5;
        assert!(problem(Command::SetField(field)).contains("1.5"));
        assert_eq!(
            problem(Command::SetField(SetField::new("", "x"))),
            "the field name is empty"
        );
        let link = LinkCustomer {
            customer: CustomerRef::Existing(1),
            identities: vec![Identity::new(IdentityKind::Email, "")],
            score: 0.9,
        };
        assert_eq!(problem(Command::LinkCustomer(link)), "identity 0 (email) is empty");
        let nothing = LinkCustomer {
            customer: CustomerRef::Existing(1),
            identities: vec![],
            score: 0.9,
        };
        assert_eq!(
            problem(Command::LinkCustomer(nothing)),
            "no identities to link to an existing customer"
        );
        assert_eq!(
            problem(Command::MergeTickets(MergeTickets { into: 3, from: vec![] })),
            "`from` is empty"
        );
        assert_eq!(
            problem(Command::MergeCustomers(MergeCustomers {
                into: 3,
                from: vec![4, 3]
            })),
            "`into` (3) is also in `from`"
        );
        let weightless = Decision::new(Command::OpenTicket(OpenTicket::default()), "neu")
            .with_evidence([Evidence::new("order", "x", f64::INFINITY)]);
        assert!(check_decision(&weightless).unwrap_err().contains("finite"));
        let long = Decision::new(Command::OpenTicket(OpenTicket::default()), "ü".repeat(MAX_STRING_BYTES));
        assert!(
            check_decision(&long)
                .unwrap_err()
                .starts_with("reason is 2097152 bytes")
        );
    }

    #[test]
    fn bad_payload_json_and_too_many_decisions_are_named() {
        let timer = |payload: &str| w::Decision {
            command: w::Command::EmitEvent(w::EmitEvent {
                kind: "k".into(),
                payload: payload.into(),
            }),
            reason: "r".into(),
            evidence: vec![],
        };
        let problem = decisions(vec![timer("{}"), timer("{nope")]).unwrap_err();
        assert!(
            problem.starts_with("decision 1 (emit-event): payload is not valid JSON"),
            "{problem}"
        );
        assert_eq!(decisions(vec![timer("")]).map(|d| d.len()), Ok(1));
        let problem = decisions((0..=MAX_DECISIONS).map(|_| timer("")).collect()).unwrap_err();
        assert_eq!(problem, "1001 decisions, more than the 1000 allowed");
    }
}
