//! `weft demo`: the shipped workflows over the sample traffic, on a fresh embedded database,
//! and a readable account of what happened: customers, tickets, and what each step decided;
//! then the live half ([`live`]): the real `weft serve` over the same database, with one
//! buyer's order, mail, Instagram, WhatsApp, parcel news and logged-in chat, and an agent's
//! answer that reaches her chat; then a second buyer across the marketplaces: her mail relayed
//! by Amazon, her eBay message and Amazon's order notification, polled from stand-ins of the
//! two vendors ([`vendors`]).

mod live;
mod vendors;

use crate::exec::{self, DrainOptions, Pipeline};
use crate::explain::describe_command;
use crate::runtime::Runtime;
use crate::store::Store;
use anyhow::Context as _;
use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::Path;
use std::sync::Arc;

/// Where the compiled plugins and the models are (as `--plugins` and `--models` give them).
pub struct Plugins<'a> {
    pub plugins: &'a Path,
    pub models: &'a Path,
}

/// Runs the demo and prints its account to stdout.
pub async fn run(
    db: &str,
    folders: &Plugins<'_>,
    examples: &Path,
    workflows: &Path,
    runtime: Arc<Runtime>,
) -> anyhow::Result<()> {
    if let Some(file) = db.strip_prefix("sqlite://") {
        for suffix in ["", "-wal", "-shm"] {
            let path = format!("{file}{suffix}");
            if Path::new(&path).exists() {
                std::fs::remove_file(&path).with_context(|| format!("removing the previous demo database {path}"))?;
            }
        }
    }
    let plugins = folders.plugins;
    let pipeline = Pipeline::load(runtime, plugins, &[workflows.to_path_buf()])
        .await
        .with_context(|| {
            format!(
                "loading plugins from {} (built by `cargo xtask demo`)",
                plugins.display()
            )
        })?;
    let store = Store::open(db).await?;
    // The shop's orders first (`examples/orders/`, as `weft import orders` reads them), then
    // the buyers' messages (every other file and folder of `examples/`).
    let orders_dir = examples.join("orders");
    let mut order_files = Vec::new();
    let mut inputs = Vec::new();
    for entry in std::fs::read_dir(examples).with_context(|| format!("listing {}", examples.display()))? {
        let path = entry?.path();
        if path == orders_dir {
            for order_file in std::fs::read_dir(&path)? {
                order_files.push(order_file?.path());
            }
        } else {
            inputs.push(path);
        }
    }
    order_files.sort();
    inputs.sort();
    let orders = exec::orders::read_orders(&order_files)?;
    let imported = exec::orders::queue_orders(&store, &orders).await?;
    let ingested = exec::ingest_paths(&store, None, &pipeline, &inputs).await?;
    let now = sla_setup(&store).await?;
    let options = DrainOptions {
        collect: true,
        timers_until: Some(now),
        ..DrainOptions::default()
    };
    let drained = exec::drain(&store, &pipeline, &options).await?;
    print!(
        "{}",
        account(&store, &pipeline, (&ingested, imported.queued), &drained, db).await?
    );
    print!("{}", sla_account(&store, &drained, now, db).await?);
    drop(store);
    print!("{}", live::run(db, folders, workflows).await?);
    Ok(())
}

// ---- SLA: the demo's clock, replies, and the warnings and breaches that fired ----

/// How long after the newest sample message the demo's "now" is.
const DEMO_HOURS_AFTER: i64 = 4;

/// The demo's "now" (the newest sample message plus [`DEMO_HOURS_AFTER`]), so that deadlines
/// are met, pending, warned and breached in a way one can follow; and two replies: an
/// automatic acknowledgement of the German buyer's Amazon message (it stops no clock) and an
/// agent's answer to the French buyer's Amazon-relayed mail (it meets both first-response
/// deadlines, on the 24/7 and the business-hours clock).
async fn sla_setup(store: &Store) -> anyhow::Result<i64> {
    use crate::exec::clocks::{Reply, record_reply};
    let newest = store.newest_message_at().await?.unwrap_or_else(crate::store::now_ms);
    let ack_at: jiff::Timestamp = "2026-11-17T07:46:00Z".parse()?;
    let mut ack = weft_sdk::Message::new("amazon", "amz-ack-5501", ack_at.as_millisecond());
    ack.thread = Some("amz-thread-88412".into());
    ack.body = "Danke für Ihre Nachricht! Wir melden uns innerhalb von 24 Stunden.".into();
    let reply_at: jiff::Timestamp = "2026-11-17T16:30:00Z".parse()?;
    let mut reply = weft_sdk::Message::new("email", "reply-pierre-1@shop.example", reply_at.as_millisecond());
    reply.replies_to = vec!["0102018f-pierre-4711@eu-west-1.amazonses.com".into()];
    reply.body = "Bonjour Pierre, nous vous remboursons l'article endommagé aujourd'hui.".into();
    for (message, automatic) in [(ack, true), (reply, false)] {
        record_reply(
            store,
            &Reply {
                message,
                automatic,
                ticket: None,
            },
        )
        .await?;
    }
    Ok(newest + DEMO_HOURS_AFTER * 3_600_000)
}

/// The SLA section: the demo's clock, every warning and breach that fired, what escalation did.
async fn sla_account(store: &Store, drained: &exec::DrainReport, now: i64, db: &str) -> anyhow::Result<String> {
    use crate::store::report::rfc3339;
    let mut out = String::new();
    let _ = writeln!(
        out,
        "\nSLA (clock set to {}, {DEMO_HOURS_AFTER}h after the newest message; timers are rows and fire once)",
        rfc3339(now)
    );
    let _ = writeln!(
        out,
        "  replies: an automatic acknowledgement on Amazon thread amz-thread-88412 (stops no clock) and an agent's\n  \
         answer to the mail 0102018f-pierre-4711@eu-west-1.amazonses.com (meets its first-response deadlines)"
    );
    for (kind, due, ticket, payload) in store.sla_timer_events().await? {
        let what = if kind == "sla.warning" { "warning" } else { "BREACH " };
        let _ = writeln!(
            out,
            "  {} {what} ticket {} · {} ({}) due {}",
            rfc3339(due),
            ticket.map(|t| t.to_string()).unwrap_or_default(),
            payload["kind"].as_str().unwrap_or("?"),
            payload["policy"].as_str().unwrap_or("?"),
            payload["due"].as_i64().map(rfc3339).unwrap_or_default()
        );
    }
    for decided in drained.decided.iter().filter(|d| d.workflow == "escalation") {
        let ticket = match &decided.decision.command {
            weft_sdk::Command::SetField(f) => f.ticket,
            weft_sdk::Command::Assign(a) => a.ticket,
            _ => weft_sdk::TicketRef::Current,
        };
        let ticket = match ticket {
            weft_sdk::TicketRef::Existing(n) => format!("ticket {n}"),
            weft_sdk::TicketRef::Current => "its ticket".to_owned(),
        };
        let _ = writeln!(out, "  escalated {ticket}: {}", decided.decision.reason);
    }
    let _ = writeln!(out, "\nSLA report: weft report sla --db {db} --now {}", rfc3339(now));
    Ok(out)
}

async fn account(
    store: &Store,
    pipeline: &Pipeline,
    (ingested, orders): (&exec::IngestReport, usize),
    drained: &exec::DrainReport,
    db: &str,
) -> anyhow::Result<String> {
    let mut out = String::new();
    let customers = store.export_customers().await?;
    let tickets = store.export_tickets().await?;
    let totals = store.totals().await?;
    let _ = writeln!(out, "weft demo");
    let _ = writeln!(
        out,
        "  {orders} orders imported, {} files in, {} messages, {} events processed, {} with failed steps, {} decisions, {} dead letters",
        ingested.files,
        totals.messages,
        drained.events,
        drained.with_failed_steps,
        totals.decisions,
        totals.dead_letters
    );
    for workflow in &pipeline.workflows {
        let steps: Vec<String> = workflow
            .steps
            .iter()
            .map(|s| format!("{} ({})", s.id, s.uses))
            .collect();
        let on: Vec<String> = workflow.on.iter().map(|p| p.to_string()).collect();
        let _ = writeln!(
            out,
            "  workflow {} on {}: {}",
            workflow.name,
            on.join(", "),
            steps.join(" → ")
        );
    }

    // Channels and languages per customer, from the timeline of its tickets.
    let mut channels_of: BTreeMap<i64, Vec<String>> = BTreeMap::new();
    let mut names_of: BTreeMap<i64, String> = BTreeMap::new();
    for ticket in &tickets {
        let (Some(number), Some(customer)) = (ticket["ticket"].as_i64(), ticket["customer"].as_i64()) else {
            continue;
        };
        for entry in store.ticket_timeline(number).await? {
            if entry.ticket != number {
                continue;
            }
            let channels = channels_of.entry(customer).or_default();
            if !channels.contains(&entry.message.channel) {
                channels.push(entry.message.channel.clone());
            }
            if let Some(name) = &entry.message.from.name {
                names_of.entry(customer).or_insert_with(|| name.clone());
            }
        }
    }

    let live: Vec<_> = customers.iter().filter(|c| c["merged_into"].is_null()).collect();
    let _ = writeln!(out, "\nCustomers ({})", live.len());
    for customer in live {
        let id = customer["customer"].as_i64().unwrap_or_default();
        let identities: Vec<String> = customer["identities"]
            .as_array()
            .into_iter()
            .flatten()
            .filter(|i| {
                !i["value"]
                    .as_str()
                    .unwrap_or_default()
                    .starts_with(weft_sdk::BLOCKING_KEY_PREFIX)
            })
            .map(|i| {
                format!(
                    "{} {}",
                    i["kind"].as_str().unwrap_or("?"),
                    i["value"].as_str().unwrap_or("?")
                )
            })
            .collect();
        let merged: Vec<i64> = customers
            .iter()
            .filter(|c| c["merged_into"].as_i64() == Some(id))
            .filter_map(|c| c["customer"].as_i64())
            .collect();
        let channels = channels_of.get(&id).map(|c| c.join(", ")).unwrap_or_default();
        let _ = writeln!(
            out,
            "  customer {id} {} · channels: {channels} · tickets: {}{}",
            names_of.get(&id).map(String::as_str).unwrap_or("(anonymous)"),
            customer["tickets"],
            if merged.is_empty() {
                String::new()
            } else {
                format!(" · merged from {merged:?}")
            }
        );
        if identities.is_empty() {
            let _ = writeln!(out, "      no identifiers: an anonymous sender, a customer of its own");
        } else {
            let _ = writeln!(out, "      {}", identities.join(" · "));
        }
    }

    let _ = writeln!(
        out,
        "\nTickets ({} open threads, {} merged)",
        totals.tickets, totals.merged_tickets
    );
    for ticket in &tickets {
        let number = ticket["ticket"].as_i64().unwrap_or_default();
        let mut facts = vec![format!("customer {}", ticket["customer"])];
        for key in ["status", "order", "category", "language", "priority", "assignee"] {
            if let Some(value) = ticket[key].as_str() {
                facts.push(format!("{key} {value}"));
            }
        }
        if let Some(into) = ticket["merged_into"].as_i64() {
            facts.push(format!("merged into {into}"));
        }
        let _ = writeln!(out, "  ticket {number} · {}", facts.join(" · "));
        let _ = writeln!(out, "      subject: {}", ticket["subject"].as_str().unwrap_or("(none)"));
        let _ = writeln!(out, "      messages: {}", ticket["messages"]);
        for deadline in ticket["deadlines"].as_array().into_iter().flatten() {
            let _ = writeln!(
                out,
                "      deadline {} ({}) due {} · {}",
                deadline["kind"].as_str().unwrap_or("?"),
                deadline["policy"].as_str().unwrap_or("?"),
                deadline["due"].as_str().unwrap_or("?"),
                deadline["state"].as_str().unwrap_or("?")
            );
        }
    }

    let _ = writeln!(out, "\nWhat each step decided");
    for (workflow, step, command, n) in store.decision_counts().await? {
        let _ = writeln!(out, "  {workflow}/{step}: {n} × {command}");
    }
    let _ = writeln!(out, "\nA few decisions, with their reasons");
    let mut shown = BTreeMap::new();
    for decided in &drained.decided {
        let seen = shown
            .entry((decided.step.clone(), decided.decision.command.name()))
            .or_insert(0);
        if *seen >= 2 {
            continue;
        }
        *seen += 1;
        let command = serde_json::to_value(&decided.decision.command)?;
        let _ = writeln!(
            out,
            "  event {} · {}: {}",
            decided.event,
            decided.step,
            describe_command(&command)
        );
        let _ = writeln!(out, "      why: {}", decided.decision.reason);
    }

    let letters = store.dead_letters(true).await?;
    if !letters.is_empty() {
        let _ = writeln!(
            out,
            "\nDead letters (kept with their reason; `weft replay` processes them again)"
        );
        for letter in letters {
            let _ = writeln!(out, "  #{}: {}", letter.id, letter.error);
        }
    }
    let _ = writeln!(out, "\nExplore: weft explain ticket 1 --db {db}");
    let _ = writeln!(out, "         weft explain customer 1 --db {db}");
    let _ = writeln!(out, "         weft export tickets --db {db}");
    Ok(out)
}
