//! `weft demo`: the shipped workflows over the sample traffic, on a fresh embedded database,
//! and a readable account of what happened: customers, tickets, and what each step decided.

use crate::exec::{self, DrainOptions, Pipeline};
use crate::explain::describe_command;
use crate::runtime::Runtime;
use crate::store::Store;
use anyhow::Context as _;
use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::Path;
use std::sync::Arc;

/// Runs the demo and prints its account to stdout.
pub async fn run(
    db: &str,
    plugins: &Path,
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
    let pipeline = Pipeline::load(runtime, plugins, &[workflows.to_path_buf()])
        .await
        .with_context(|| {
            format!(
                "loading plugins from {} (built by `cargo xtask demo`)",
                plugins.display()
            )
        })?;
    let store = Store::open(db).await?;
    let ingested = exec::ingest_paths(&store, None, &pipeline, &[examples.to_path_buf()]).await?;
    let options = DrainOptions {
        collect: true,
        ..DrainOptions::default()
    };
    let drained = exec::drain(&store, &pipeline, &options).await?;
    print!("{}", account(&store, &pipeline, &ingested, &drained, db).await?);
    Ok(())
}

async fn account(
    store: &Store,
    pipeline: &Pipeline,
    ingested: &exec::IngestReport,
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
        "  {} files in, {} messages, {} events processed, {} decisions, {} dead letters",
        ingested.files, totals.messages, drained.events, totals.decisions, totals.dead_letters
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
            .filter(|i| !i["value"].as_str().unwrap_or_default().starts_with("blk:"))
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
            names_of.get(&id).map(String::as_str).unwrap_or(""),
            customer["tickets"],
            if merged.is_empty() {
                String::new()
            } else {
                format!(" · merged from {merged:?}")
            }
        );
        let _ = writeln!(out, "      {}", identities.join(" · "));
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
