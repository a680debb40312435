//! Data-driven step tests: each `cases/<name>.in.json` holds a `with:` configuration, an event
//! and optionally the ticket the context knows and its `deadlines`; the decisions (or the error) are compared with
//! `cases/<name>.out.json`. `BLESS=1 cargo test -p weft-plugin-sla --test cases` rewrites them.

use serde_json::{Value, json};
use std::path::Path;
use weft_plugin_sla::Sla;
use weft_sdk::plugin::parse_config;
use weft_sdk::testing::MemoryContext;
use weft_sdk::{Command, Event, Step, TicketView};

fn run(input: &Value) -> Value {
    let config = match parse_config(&input["with"].to_string()) {
        Ok(config) => config,
        Err(e) => return json!({ "error": e.to_string() }),
    };
    let event: Event = serde_json::from_value(input["event"].clone()).expect("event in the case file");
    let mut ctx = MemoryContext::new();
    if let Some(ticket) = input.get("ticket") {
        let ticket: TicketView = serde_json::from_value(ticket.clone()).expect("ticket in the case file");
        let number = ticket.number;
        ctx = ctx.with_ticket(ticket);
        if let Some(deadlines) = input.get("deadlines") {
            let deadlines = serde_json::from_value(deadlines.clone()).expect("deadlines in the case file");
            ctx.ticket_deadlines.insert(number, deadlines);
        }
    }
    match Sla::decide(&event, &config, &ctx) {
        Ok(decisions) => {
            let readable: Vec<String> = decisions
                .iter()
                .map(|d| match &d.command {
                    Command::SetDeadline(s) => {
                        let show = |ms: i64| jiff::Timestamp::from_millisecond(ms).unwrap().to_string();
                        let warn: Vec<String> = s.warn_at.iter().map(|w| show(*w)).collect();
                        format!(
                            "{} {}: due {}, warn [{}]",
                            s.policy,
                            s.kind,
                            show(s.due),
                            warn.join(", ")
                        )
                    }
                    other => format!("unexpected {}", other.name()),
                })
                .collect();
            json!({ "readable": readable, "decisions": decisions })
        }
        Err(e) => json!({ "error": e.to_string() }),
    }
}

#[test]
fn cases() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/cases");
    let bless = std::env::var_os("BLESS").is_some();
    let mut names: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .filter_map(|e| e.ok()?.file_name().into_string().ok())
        .filter(|n| n.ends_with(".in.json"))
        .collect();
    names.sort();
    assert!(!names.is_empty(), "no cases in {}", dir.display());
    let mut failed = Vec::new();
    for name in names {
        let input: Value = serde_json::from_str(&std::fs::read_to_string(dir.join(&name)).unwrap())
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        let got = serde_json::to_string_pretty(&run(&input)).unwrap() + "\n";
        let out = dir.join(name.replace(".in.json", ".out.json"));
        if bless {
            std::fs::write(&out, &got).unwrap();
        } else if std::fs::read_to_string(&out).ok().as_deref() != Some(got.as_str()) {
            failed.push(format!("{name}:\n{got}"));
        }
    }
    assert!(
        failed.is_empty(),
        "cases differ (BLESS=1 to accept):\n{}",
        failed.join("\n")
    );
}
