//! Data-driven decisions: each `tests/cases/<name>.json` (a context, an event, a config) is
//! decided, and the decisions, reasons and evidence are compared with `<name>.out.json` beside
//! it. `BLESS=1 cargo test -p weft-plugin-merger --test cases` rewrites the expected files.

use serde::Deserialize;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use weft_plugin_merger::{Config, rules};
use weft_sdk::prelude::*;
use weft_sdk::testing::MemoryContext;

/// One case file.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Case {
    #[serde(default)]
    config: serde_json::Value,
    #[serde(default)]
    customers: Vec<CustomerView>,
    #[serde(default)]
    tickets: Vec<TicketView>,
    /// Message id -> ticket number.
    #[serde(default)]
    message_tickets: BTreeMap<String, u64>,
    /// `[channel, thread, ticket]`.
    #[serde(default)]
    thread_tickets: Vec<(String, String, u64)>,
    /// Ticket number -> the messages on it, newest first, as `Context::ticket_messages` would
    /// summarize them.
    #[serde(default)]
    history: BTreeMap<u64, Vec<Message>>,
    event: Event,
}

fn run(path: &Path) -> Result<String, String> {
    let text = std::fs::read_to_string(path).map_err(|e| e.to_string())?;
    let case: Case = serde_json::from_str(&text).map_err(|e| format!("bad case file: {e}"))?;
    let config: Config = if case.config.is_null() {
        Config::default()
    } else {
        serde_json::from_value(case.config).map_err(|e| format!("bad config: {e}"))?
    };
    let policy = config.policy().map_err(|e| e.to_string())?;
    let mut ctx = MemoryContext::new();
    ctx.customers = case.customers.into_iter().map(|c| (c.id, c)).collect();
    ctx.tickets = case.tickets.into_iter().map(|t| (t.number, t)).collect();
    ctx.message_tickets = case.message_tickets;
    ctx.thread_tickets = case.thread_tickets.into_iter().map(|(c, t, n)| ((c, t), n)).collect();
    ctx.ticket_messages = case
        .history
        .into_iter()
        .map(|(n, ms)| (n, ms.iter().map(MessageSummary::of).collect()))
        .collect();
    let decisions = rules::decide(&case.event, &policy, &ctx).map_err(|e| e.to_string())?;
    serde_json::to_string_pretty(&decisions)
        .map(|s| s + "\n")
        .map_err(|e| e.to_string())
}

#[test]
fn cases() {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/cases");
    let bless = std::env::var_os("BLESS").is_some_and(|v| v == "1");
    let mut inputs: Vec<PathBuf> = std::fs::read_dir(&dir)
        .expect("tests/cases exists")
        .map(|entry| entry.expect("readable entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "json") && !p.to_string_lossy().ends_with(".out.json"))
        .collect();
    inputs.sort();
    assert!(!inputs.is_empty(), "no cases in {}", dir.display());

    let mut failures = Vec::new();
    for input in &inputs {
        let expected_path = input.with_extension("out.json");
        let actual = run(input).unwrap_or_else(|e| format!("error: {e}\n"));
        if bless {
            std::fs::write(&expected_path, &actual).expect("expected file is writable");
            continue;
        }
        let expected = std::fs::read_to_string(&expected_path).unwrap_or_default();
        if expected != actual {
            failures.push(format!(
                "{}:\n--- expected\n{expected}--- actual\n{actual}",
                input.display()
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "{} case(s) differ (BLESS=1 to accept):\n{}",
        failures.len(),
        failures.join("\n")
    );
}
