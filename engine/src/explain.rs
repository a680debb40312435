//! `weft explain`: a ticket's or a customer's history across channels, and every decision
//! about it with its reason and evidence, as text for people.

use crate::store::Store;
use crate::store::erasure::Erasure;
use crate::store::failures::StepFailureRecord;
use crate::store::orders::TicketOrder;
use crate::store::report::{LoggedDecision, rfc3339};
use std::fmt::Write as _;

fn one_line(text: &str, max: usize) -> String {
    let flat: String = text.split_whitespace().collect::<Vec<_>>().join(" ");
    if flat.chars().count() <= max {
        flat
    } else {
        let mut cut: String = flat.chars().take(max.saturating_sub(1)).collect();
        cut.push('…');
        cut
    }
}

/// A command in a few words: `link-customer existing 3 (score 0.97)`.
pub fn describe_command(command: &serde_json::Value) -> String {
    let name = command["command"].as_str().unwrap_or("?");
    let fields: Vec<String> = command
        .as_object()
        .into_iter()
        .flatten()
        .filter(|(k, v)| *k != "command" && !v.is_null() && *v != &serde_json::json!([]))
        .map(|(k, v)| match v {
            serde_json::Value::String(s) => format!("{k}={}", one_line(s, 40)),
            serde_json::Value::Array(items) if k == "identities" => format!(
                "{k}=[{}]",
                items
                    .iter()
                    .map(|i| format!(
                        "{}:{}",
                        i["kind"].as_str().unwrap_or("?"),
                        i["value"].as_str().unwrap_or("?")
                    ))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
            other => format!("{k}={other}"),
        })
        .collect();
    format!("{name} {}", fields.join(" "))
}

fn write_decisions(out: &mut String, decisions: &[LoggedDecision]) {
    for d in decisions {
        let event = match (d.event, d.event_kind.as_deref()) {
            (Some(e), None | Some("message.received")) => format!("event {e}"),
            // An imported order, a status change, ...: say which.
            (Some(e), Some(kind)) => format!("event {e} ({kind})"),
            (None, _) => "by hand".into(),
        };
        // The version of the workflow file that decided, when the log has it.
        let version = d
            .workflow_version
            .as_ref()
            .map(|v| format!(" · version {v}"))
            .unwrap_or_default();
        let _ = writeln!(out, "  {event} · {}/{} · {}{version}", d.workflow, d.step, d.plugin);
        let _ = writeln!(out, "    {}", describe_command(&d.command));
        let _ = writeln!(out, "    why: {}", d.reason);
        for e in &d.evidence {
            let _ = writeln!(out, "      - {}: {} (weight {:+.2})", e.field, e.detail, e.weight);
        }
        if let Some(waterfall) = waterfall(&d.evidence) {
            let _ = writeln!(out, "    {waterfall}");
        }
    }
}

/// A match-weight waterfall in words, for evidence that starts from a prior (a link or merge on
/// names and addresses): the prior odds in bits, each comparison's weight added in turn with
/// the running total, and the probability the total comes to. Strong identifiers link by rule,
/// so evidence without a prior has none.
fn waterfall(evidence: &[weft_sdk::Evidence]) -> Option<String> {
    let prior = evidence.iter().find(|e| e.field == "prior")?;
    let mut total = prior.weight;
    let mut steps = vec![format!("starts at {:+.2} bits (the prior)", prior.weight)];
    for e in evidence
        .iter()
        .filter(|e| e.field != "prior" && e.weight != 0.0 && e.weight.is_finite())
    {
        // Vetoes (a conflicting email, ...) are reported with the strong tables' weights but
        // are rules, not part of the sum.
        if !matches!(
            e.field.as_str(),
            "postcode" | "city" | "address" | "name" | "name frequency"
        ) {
            continue;
        }
        total += e.weight;
        steps.push(format!("{} {:+.2} → {:+.2}", e.field, e.weight, total));
    }
    let probability = 1.0 / (1.0 + (-total).exp2());
    Some(format!(
        "weights: {}; total {:+.2} bits: probability {:.4}",
        steps.join(", "),
        total,
        probability
    ))
}

/// Failed steps, each with where it failed, why, when, how often, and whether a replay has
/// resolved it.
fn write_failures(out: &mut String, failures: &[StepFailureRecord]) {
    if failures.is_empty() {
        return;
    }
    let open = failures.iter().filter(|f| f.resolved_at.is_none()).count();
    let _ = writeln!(
        out,
        "\nFailed steps ({open} open): the message is here all the same; `weft replay` runs an open one again once it is fixed"
    );
    for f in failures {
        let state = match f.resolved_at {
            Some(at) => format!("resolved {} by a replay", rfc3339(at)),
            None => "OPEN".to_owned(),
        };
        let tries = if f.attempts > 1 {
            format!(", failed {} times, last {}", f.attempts, rfc3339(f.last_failed_at))
        } else {
            String::new()
        };
        let _ = writeln!(
            out,
            "  #{} event {} · {}/{} · {} · on_error {} · {}{tries} · {state}",
            f.id,
            f.event,
            f.workflow,
            f.step,
            f.plugin,
            f.on_error,
            rfc3339(f.failed_at)
        );
        let _ = writeln!(out, "    error: {}", one_line(&f.error, 2000));
        if let Some(customer) = f.own_customer {
            let _ = writeln!(out, "    the message got a customer of its own: {customer}");
        }
        if let Some(ticket) = f.own_ticket {
            let _ = writeln!(out, "    the message got a ticket of its own: {ticket}");
        }
    }
}

/// The orders a ticket is about: status, total, lines, and each parcel's timeline.
fn write_orders(out: &mut String, orders: &[TicketOrder]) {
    for found in orders {
        let (view, order) = (&found.order, &found.order.order);
        let _ = writeln!(
            out,
            "  order {} at {} · {} · {} · placed {} · customer {}",
            order.number,
            order.channel,
            order.status.map_or(view.last_change.as_str(), |s| s.as_str()),
            order.total.as_ref().map_or("-".into(), ToString::to_string),
            order.placed_at,
            view.customer.map_or("-".into(), |c| c.to_string()),
        );
        for line in &order.lines {
            let sku = line.sku.as_ref().map(|s| format!(" ({s})")).unwrap_or_default();
            let price = line.unit_price.as_ref().map(|p| format!(" at {p}")).unwrap_or_default();
            let _ = writeln!(out, "    {} × {}{sku}{price}", line.quantity, one_line(&line.title, 60));
        }
        for shipment in &found.shipments {
            let expected = match (shipment.delivered_at, shipment.estimated_delivery) {
                (Some(at), _) => format!(" · delivered {}", rfc3339(at)),
                (None, Some(at)) => format!(" · expected {}", rfc3339(at)),
                (None, None) => String::new(),
            };
            let _ = writeln!(
                out,
                "    shipment {} {} · {}{expected}",
                shipment.carrier,
                shipment.tracking_number,
                shipment.status.as_str()
            );
            for step in &shipment.history {
                let detail = step
                    .detail
                    .as_deref()
                    .map(|d| format!(" · {}", one_line(d, 80)))
                    .unwrap_or_default();
                let _ = writeln!(out, "      {} · {}{detail}", rfc3339(step.at), step.status.as_str());
            }
        }
    }
}

/// The explanation of ticket `number`.
pub async fn ticket(store: &Store, number: i64) -> anyhow::Result<String> {
    let Some(ticket) = store.ticket_json(number).await? else {
        anyhow::bail!("there is no ticket {number}");
    };
    let mut out = String::new();
    let _ = writeln!(
        out,
        "Ticket {number} · {} · customer {} · order {} · {}",
        ticket["status"].as_str().unwrap_or("?"),
        ticket["customer"],
        ticket["order"].as_str().unwrap_or("-"),
        one_line(ticket["subject"].as_str().unwrap_or("(no subject)"), 60),
    );
    if let Some(into) = ticket["merged_into"].as_i64() {
        let _ = writeln!(out, "Merged into ticket {into}; its messages show there too.");
    }
    for key in ["category", "language", "priority", "assignee", "team"] {
        if let Some(value) = ticket[key].as_str() {
            let _ = writeln!(out, "  {key}: {value}");
        }
    }
    for deadline in ticket["deadlines"].as_array().into_iter().flatten() {
        let _ = writeln!(
            out,
            "  deadline {} ({}): due {} · {}",
            deadline["kind"].as_str().unwrap_or("?"),
            deadline["policy"].as_str().unwrap_or("?"),
            deadline["due"].as_str().unwrap_or("?"),
            deadline["state"].as_str().unwrap_or("?")
        );
    }
    if let Some(order_no) = ticket["order"].as_str() {
        write_orders(&mut out, &store.ticket_orders(order_no).await?);
    }
    write_erasures(&mut out, &store.erasures_of("ticket", number).await?);
    write_failures(&mut out, &store.ticket_step_failures(number).await?);
    let _ = writeln!(out, "\nTimeline");
    for entry in store.ticket_timeline(number).await? {
        let m = &entry.message;
        let who = m
            .from
            .name
            .clone()
            .or_else(|| m.from.email.clone())
            .or_else(|| m.from.handle.clone())
            .or_else(|| m.from.buyer_id.clone())
            .unwrap_or_else(|| "?".into());
        let via = if entry.ticket == number {
            String::new()
        } else {
            format!(" (from ticket {})", entry.ticket)
        };
        let copy = entry
            .duplicate_of
            .as_ref()
            .map(|d| format!(" [copy of {d}]"))
            .unwrap_or_default();
        let renamed = entry
            .arrived_as
            .as_ref()
            .map(|original| format!(" [arrived as {original}, the id of an earlier message with other content]"))
            .unwrap_or_default();
        let _ = writeln!(
            out,
            "  {} · {:<9} · {} · {}{via}{copy}{renamed}",
            rfc3339(m.at),
            m.channel,
            who,
            m.id
        );
        let text = if m.body.trim().is_empty() {
            m.subject.clone().unwrap_or_default()
        } else {
            m.body.clone()
        };
        let _ = writeln!(out, "      {}", one_line(&text, 100));
    }
    let outbox = store.ticket_outbound(number).await?;
    if !outbox.is_empty() {
        let _ = writeln!(out, "\nOutbox");
        for row in &outbox {
            let _ = writeln!(out, "  {}", crate::outbox::describe(row).replace('\n', "\n  "));
        }
    }
    let _ = writeln!(out, "\nDecisions");
    write_decisions(&mut out, &store.ticket_decisions(number).await?);
    Ok(out)
}

/// One line per erasure of personal data: when, why, at whose request, and what it erased.
fn write_erasures(out: &mut String, erasures: &[Erasure]) {
    for erasure in erasures {
        let _ = writeln!(out, "  {}", describe_erasure(erasure));
    }
}

/// An erasure in one line: `personal data erased (erasure 1, 2026-...): shopify customers/redact
/// ... · request b54557e4 · customers 1, identities 3, messages 2, ...`.
pub fn describe_erasure(erasure: &Erasure) -> String {
    let counts: Vec<String> = erasure.counts.iter().map(|(kind, n)| format!("{kind} {n}")).collect();
    format!(
        "personal data erased (erasure {}, {}, {} at {}): {} · request {} · {}",
        erasure.id,
        rfc3339(erasure.at),
        erasure.scope,
        erasure.channel,
        erasure.reason,
        erasure.request.as_deref().unwrap_or("-"),
        counts.join(", ")
    )
}

/// The explanation of erasure `id`: what asked for it, what it erased, whom it touched.
pub async fn erasure(store: &Store, id: i64) -> anyhow::Result<String> {
    let Some(erasure) = store.erasure(id).await? else {
        anyhow::bail!("there is no erasure {id}");
    };
    let mut out = String::new();
    let _ = writeln!(out, "Erasure {id}");
    let _ = writeln!(out, "  {}", describe_erasure(&erasure));
    let list = |ids: &[i64]| ids.iter().map(i64::to_string).collect::<Vec<_>>().join(", ");
    let _ = writeln!(out, "  customers: {}", list(&erasure.customers));
    let _ = writeln!(out, "  tickets: {}", list(&erasure.tickets));
    Ok(out)
}

/// The explanation of customer `id`.
pub async fn customer(store: &Store, id: i64) -> anyhow::Result<String> {
    let Some(customer) = store.customer_json(id).await? else {
        anyhow::bail!("there is no customer {id}");
    };
    let mut out = String::new();
    let _ = writeln!(out, "Customer {id}");
    if let Some(into) = customer["merged_into"].as_i64() {
        let _ = writeln!(out, "Merged into customer {into}.");
    }
    if let Some(apart) = customer["kept_apart"].as_array().filter(|a| !a.is_empty()) {
        let ids: Vec<String> = apart.iter().map(|c| c.to_string()).collect();
        let _ = writeln!(
            out,
            "Kept apart from customer {}: split by hand, not to be merged again on the same evidence.",
            ids.join(", ")
        );
    }
    write_erasures(&mut out, &store.erasures_of("customer", id).await?);
    let _ = writeln!(out, "\nIdentities");
    for identity in customer["identities"].as_array().into_iter().flatten() {
        let _ = writeln!(
            out,
            "  {}: {} (score {:.2})",
            identity["kind"].as_str().unwrap_or("?"),
            identity["value"].as_str().unwrap_or("?"),
            identity["score"].as_f64().unwrap_or(0.0)
        );
    }
    let _ = writeln!(
        out,
        "\nMessages: {}",
        customer["messages"].as_array().map(|m| m.len()).unwrap_or(0)
    );
    let _ = writeln!(out, "Tickets: {}", customer["tickets"]);
    let _ = writeln!(out, "\nDecisions");
    write_decisions(&mut out, &store.customer_decisions(id).await?);
    Ok(out)
}

/// The explanation of event `id`: what it was, what its steps decided, and which failed.
pub async fn event(store: &Store, id: i64) -> anyhow::Result<String> {
    let Some(event) = store.event(id).await? else {
        anyhow::bail!("there is no event {id}");
    };
    let mut out = String::new();
    let _ = writeln!(out, "Event {id} · {} · {}", event.kind, rfc3339(event.at));
    if let Some((_, m)) = &event.message {
        let who = m
            .from
            .name
            .clone()
            .or_else(|| m.from.email.clone())
            .or_else(|| m.from.handle.clone())
            .unwrap_or_else(|| "?".into());
        let _ = writeln!(out, "  message {} on {} from {who}", m.id, m.channel);
        let text = if m.body.trim().is_empty() {
            m.subject.clone().unwrap_or_default()
        } else {
            m.body.clone()
        };
        let _ = writeln!(out, "      {}", one_line(&text, 100));
    }
    if let Some(ticket) = event.ticket {
        let _ = writeln!(out, "  ticket {ticket}");
    }
    write_failures(&mut out, &store.event_step_failures(id).await?);
    let _ = writeln!(out, "\nDecisions");
    write_decisions(&mut out, &store.event_decisions(id).await?);
    Ok(out)
}
