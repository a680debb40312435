//! Benchmark: how fast the engine fires due timers, and how fast the sla step computes
//! deadlines on business-hours calendars.
//!
//! `cargo bench -p weft --bench timers [-- TIMERS TICKETS]` (defaults 100000 and 100000).
//! - **Timers**: TIMERS SLA timers (a deadline row each) are stored, all due; then the engine's
//!   own firing routine (`Unit::fire_due_timers`, batches of 256 as the drain loop uses, one
//!   transaction per batch) turns them into events and moves their deadlines' state. Reported as
//!   timers fired per second, on SQLite (a file) and, with `WEFT_TEST_POSTGRES` set, PostgreSQL.
//! - **Deadlines**: TICKETS new tickets through the sla step natively (the plugin crate as an
//!   rlib), with the `with:` of the shipped `workflows/inbound.yaml` (Amazon and eBay 24/7
//!   clocks, the Berlin business-hours calendar with DE-BE holidays and a lunch break), arrival
//!   times spread over 2026. Reported per ticket for the whole step call (config checked and
//!   compiled each call, as in the sandbox) and for the deadline arithmetic alone.

use std::path::Path;
use std::time::Instant;
use weft::store::Store;
use weft_plugin_sla::policy::TicketFacts;
use weft_plugin_sla::step::{Signal, deadlines};
use weft_sdk::testing::MemoryContext;
use weft_sdk::{Event, Message, Step};

/// The allocator the `weft` binary uses (see `src/main.rs`).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() {
    let mut args = std::env::args().skip(1).filter(|a| !a.starts_with('-'));
    let timers: i64 = args.next().and_then(|n| n.parse().ok()).unwrap_or(100_000);
    let tickets: usize = args.next().and_then(|n| n.parse().ok()).unwrap_or(100_000);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("a tokio runtime");
    let dir = tempfile::tempdir().expect("a temporary folder");
    let sqlite = format!("sqlite://{}", dir.path().join("timers.db").display());
    runtime.block_on(fire_timers("sqlite", &sqlite, timers));
    if let Ok(admin) = std::env::var("WEFT_TEST_POSTGRES") {
        let url = runtime.block_on(fresh_postgres(&admin));
        runtime.block_on(fire_timers("postgres", &url, timers));
    } else {
        println!("timers on postgres: skipped (set WEFT_TEST_POSTGRES to run)");
    }
    compute_deadlines(tickets);
}

async fn fresh_postgres(admin: &str) -> String {
    use sqlx::Connection as _;
    use sqlx::Executor as _;
    let name = format!("weft_bench_timers_{}", std::process::id());
    let mut conn = sqlx::PgConnection::connect(admin)
        .await
        .expect("connect to WEFT_TEST_POSTGRES");
    conn.execute(sqlx::AssertSqlSafe(format!(
        "DROP DATABASE IF EXISTS {name} WITH (FORCE)"
    )))
    .await
    .expect("drop the bench database");
    conn.execute(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
        .await
        .expect("create the bench database");
    let base = admin.rsplit_once('/').map(|(base, _)| base).unwrap_or(admin);
    format!("{base}/{name}")
}

async fn fire_timers(label: &str, url: &str, timers: i64) {
    let store = Store::open(url).await.expect("open the store");
    let due = 1_795_163_400_000_i64;
    let began = Instant::now();
    let chunk = 2_000;
    let mut n = 0;
    while n < timers {
        let mut unit = store.unit().await.expect("a unit");
        for i in n..(n + chunk).min(timers) {
            let (kind, policy) = ("first-response", "amazon-24h");
            unit.set_deadline(i, kind, policy, due + i, due - 86_400_000, &[])
                .await
                .expect("a deadline");
            let payload = serde_json::json!({ "ticket": i, "kind": kind, "policy": policy, "due": due + i });
            unit.schedule_timer(
                &format!("deadline:{i}:{kind}:{policy}:breach"),
                due + i,
                "sla.breached",
                &payload,
                Some(i),
            )
            .await
            .expect("a timer");
        }
        unit.commit().await.expect("commit");
        n += chunk;
    }
    let stored = began.elapsed();
    let began = Instant::now();
    let mut fired = 0usize;
    loop {
        let mut unit = store.unit().await.expect("a unit");
        let batch = unit.fire_due_timers(due + timers, 256).await.expect("fire due timers");
        unit.commit().await.expect("commit");
        if batch.is_empty() {
            break;
        }
        fired += batch.len();
    }
    let elapsed = began.elapsed();
    assert_eq!(fired as i64, timers, "every timer fires once");
    println!(
        "timers on {label}: {timers} stored in {:.2} s; {fired} fired in {:.2} s: {:.0} timers/s ({:.1} µs each)",
        stored.as_secs_f64(),
        elapsed.as_secs_f64(),
        fired as f64 / elapsed.as_secs_f64(),
        elapsed.as_secs_f64() * 1e6 / fired as f64
    );
}

/// The sla step's `with:` from the shipped inbound workflow.
fn shipped_sla_config() -> serde_json::Value {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../workflows/inbound.yaml");
    let text = std::fs::read_to_string(&path).expect("workflows/inbound.yaml");
    let workflow: serde_json::Value = serde_yaml::from_str(&text).expect("the shipped workflow is YAML");
    workflow["steps"]
        .as_array()
        .expect("steps")
        .iter()
        .find(|s| s["uses"] == "sla")
        .expect("an sla step")["with"]
        .clone()
}

fn compute_deadlines(tickets: usize) {
    let with = shipped_sla_config();
    let config: weft_plugin_sla::Config = serde_json::from_value(with).expect("the shipped sla config");
    let compiled = weft_plugin_sla::compile(&config).expect("the shipped sla config compiles");
    let channels = ["amazon", "ebay", "email", "chat"];
    let start = 1_767_225_600_000_i64; // 2026-01-01T00:00:00Z
    let mut seed: u64 = 0x51a;
    let arrivals: Vec<(usize, i64)> = (0..tickets)
        .map(|i| {
            seed = seed
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1_442_695_040_888_963_407);
            (i % channels.len(), start + ((seed >> 33) % (364 * 86_400_000)) as i64)
        })
        .collect();

    let ctx = MemoryContext::new();
    let began = Instant::now();
    let mut total = 0usize;
    for (i, &(channel, at)) in arrivals.iter().enumerate() {
        let event = Event {
            id: i as u64,
            kind: "message.received".into(),
            at,
            message: Some(Message::new(channels[channel], format!("m{i}"), at)),
            customer: None,
            ticket: Some(i as u64 + 1),
            payload: serde_json::json!({ "first_message": true }),
        };
        total += weft_plugin_sla::Sla::decide(&event, &config, &ctx)
            .expect("deadlines")
            .len();
    }
    let step = began.elapsed();

    let began = Instant::now();
    let mut arithmetic = 0usize;
    for &(channel, at) in &arrivals {
        let facts = TicketFacts {
            channel: Some(channels[channel].to_owned()),
            ..TicketFacts::default()
        };
        let at = jiff::Timestamp::from_millisecond(at).expect("a time");
        arithmetic += deadlines(&compiled, Signal::NewTicket, &facts, at)
            .expect("deadlines")
            .len();
    }
    let alone = began.elapsed();
    assert_eq!(total, arithmetic);
    println!(
        "deadlines: {tickets} tickets, {total} deadlines; whole step {:.2} s ({:.1} µs/ticket, {:.0} tickets/s); \
         arithmetic alone {:.2} s ({:.1} µs/ticket)",
        step.as_secs_f64(),
        step.as_secs_f64() * 1e6 / tickets as f64,
        tickets as f64 / step.as_secs_f64(),
        alone.as_secs_f64(),
        alone.as_secs_f64() * 1e6 / tickets as f64
    );
}
