//! The engine benchmark: the shipped four-step workflow (identify → thread → route →
//! deadlines) over generated JSON traffic on a fresh SQLite file, end to end; then the cost of
//! one step call in a fresh WASM instance against the same step logic compiled natively.
//!
//! `cargo xtask bench` (or `cargo bench -p weft --bench pipeline`). `WEFT_BENCH_MESSAGES`
//! sets the message count (default 100000), `WEFT_BENCH_CALLS` the calls per step (2000).

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};
use weft::exec::{self, DrainOptions, Pipeline};
use weft::runtime::{CallOptions, MemoryReader, Runtime, RuntimeConfig};
use weft::store::Store;
use weft_sdk::testing::MemoryContext;
use weft_sdk::{Event, Message, Step};

/// The allocator the `weft` binary uses (see `src/main.rs`).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn env_usize(name: &str, default: usize) -> usize {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

const FIRST: [&str; 12] = [
    "Anna", "Jürgen", "Pierre", "Marie", "Carmen", "José", "Giulia", "John", "Emily", "Yuki", "Wei", "Fang",
];
const LAST: [&str; 12] = [
    "Müller",
    "Groß",
    "Dubois",
    "Lefèvre",
    "García",
    "Fernández",
    "Rossi",
    "Smith",
    "Brown",
    "Tanaka",
    "李",
    "王",
];
const BODIES: [(&str, &str); 6] = [
    (
        "de",
        "Hallo, wo bleibt meine Bestellung? Die Sendungsverfolgung zeigt seit Tagen nichts.",
    ),
    ("fr", "Bonjour, je voudrais être remboursé, l'article est arrivé cassé."),
    ("es", "Hola, ¿podéis enviarme la factura del pedido? Gracias."),
    ("ja", "注文した商品がまだ届きません。いつ届きますか？"),
    ("zh", "你好，我想退货，商品有质量问题。"),
    ("en", "Hi, I'd like to change the delivery address of my order please."),
];
const CHANNELS: [&str; 4] = ["chat", "email", "amazon", "instagram"];

/// `n` messages from `n / 4` customers, in files of at most 5000 lines.
fn traffic(dir: &Path, n: usize) -> Vec<PathBuf> {
    let customers = (n / 4).max(1);
    let start = jiff::Timestamp::from_second(1_795_000_000).unwrap();
    let mut files = Vec::new();
    let mut lines = Vec::new();
    for i in 0..n {
        let c = (i * 7919) % customers;
        let (lang, body) = BODIES[c % BODIES.len()];
        let channel = CHANNELS[i % CHANNELS.len()];
        let at = start + jiff::SignedDuration::from_secs(i as i64 * 7);
        let mut from = serde_json::json!({ "name": format!("{} {}", FIRST[c % 12], LAST[(c / 12) % 12]) });
        match channel {
            "amazon" => from["buyer_id"] = format!("A{c:09}").into(),
            "instagram" => from["handle"] = format!("instagram:buyer{c}").into(),
            _ => from["email"] = format!("buyer{c}@example.com").into(),
        }
        let line = serde_json::json!({
            "channel": channel,
            "id": format!("m{i}"),
            "at": at.to_string(),
            "from": from,
            "order": format!("{:03}-{:07}-{:07}", c % 1000, c, c * 3 % 10_000_000),
            "body": body,
            "lang": lang,
        });
        lines.push(line.to_string());
        if lines.len() == 5000 || i + 1 == n {
            let path = dir.join(format!("traffic-{:03}.jsonl", files.len()));
            std::fs::write(&path, lines.join("\n")).unwrap();
            files.push(path);
            lines.clear();
        }
    }
    files
}

fn sample_event(i: usize) -> Event {
    let (lang, body) = BODIES[i % BODIES.len()];
    let mut message = Message::new("chat", format!("s{i}"), 1_795_000_000_000 + i as i64 * 1000);
    message.from.name = Some(format!("{} {}", FIRST[i % 12], LAST[(i / 12) % 12]));
    message.from.email = Some(format!("buyer{i}@example.com"));
    message.order = Some(format!("302-{i:07}-7654321"));
    message.body = body.into();
    message.lang = Some(lang.into());
    Event {
        id: i as u64 + 1,
        kind: "message.received".into(),
        at: message.at,
        message: Some(message),
        customer: Some(1),
        ticket: Some(1),
        payload: serde_json::Value::Null,
    }
}

/// Mean cost of the step logic called natively, in µs.
fn native<S: Step>(with: &serde_json::Value, calls: usize) -> f64 {
    let config: S::Config = serde_json::from_value(with.clone()).expect("the workflow's with: fits the plugin");
    let ctx = MemoryContext::new();
    let events: Vec<Event> = (0..calls).map(sample_event).collect();
    let start = Instant::now();
    for event in &events {
        std::hint::black_box(S::decide(event, &config, &ctx).ok());
    }
    start.elapsed().as_secs_f64() * 1e6 / calls as f64
}

/// Mean cost of one call in a fresh instance, in µs.
async fn wasm(pipeline: &Pipeline, plugin: &str, with: &serde_json::Value, calls: usize) -> f64 {
    let plugin = &pipeline.plugins[plugin];
    let options = CallOptions::new("bench", Duration::from_secs(5));
    let events: Vec<Event> = (0..calls).map(sample_event).collect();
    let mut reader = MemoryReader::new(MemoryContext::new());
    let start = Instant::now();
    for event in &events {
        let (back, result) = plugin.decide(event, with, &options, reader).await;
        reader = back;
        std::hint::black_box(result.expect("the step runs"));
    }
    start.elapsed().as_secs_f64() * 1e6 / calls as f64
}

async fn run() {
    let messages = env_usize("WEFT_BENCH_MESSAGES", 100_000);
    let calls = env_usize("WEFT_BENCH_CALLS", 2000);
    let root = weft_test_support::workspace_root();
    let plugins = weft_test_support::plugins_dir();
    let dir = tempfile::tempdir().unwrap();
    let files = traffic(dir.path(), messages);
    let cache = std::env::temp_dir().join("weft-bench-cache");
    let runtime = Arc::new(
        Runtime::new(RuntimeConfig {
            cache_dir: Some(cache),
            ..RuntimeConfig::default()
        })
        .unwrap(),
    );
    let pipeline = Pipeline::load(runtime, plugins, &[root.join("workflows/inbound.yaml")])
        .await
        .unwrap();
    let store = Store::open(&format!("sqlite://{}", dir.path().join("bench.db").display()))
        .await
        .unwrap();

    println!("weft pipeline benchmark: {messages} messages, workflow inbound (identify → thread → route → deadlines)");
    let start = Instant::now();
    let ingested = exec::ingest_paths(&store, None, &pipeline, &files).await.unwrap();
    let ingest = start.elapsed();
    let drained = exec::drain(&store, &pipeline, &DrainOptions::default()).await.unwrap();
    let total = start.elapsed();
    assert_eq!(ingested.messages, messages);
    assert_eq!(drained.failed, 0, "{:?}", drained.dead.first());
    let totals = store.totals().await.unwrap();
    println!(
        "  end to end: {:.0} messages/s ({:.1} s; ingest {:.1} s, {:.0} messages/s; {} customers, {} tickets, {} decisions)",
        messages as f64 / total.as_secs_f64(),
        total.as_secs_f64(),
        ingest.as_secs_f64(),
        messages as f64 / ingest.as_secs_f64(),
        totals.customers,
        totals.tickets,
        totals.decisions
    );
    if let Some(peak) = weft_test_support::peak_rss_mib() {
        println!("  peak memory (VmHWM): {peak:.0} MiB");
    }

    println!("  step calls ({calls} each, empty in-memory context): fresh instance, warm instance, native");
    let fresh_runtime = Runtime::new(RuntimeConfig {
        warm_instances: 0,
        ..RuntimeConfig::default()
    })
    .unwrap();
    let fresh = Pipeline::load(Arc::new(fresh_runtime), plugins, &[root.join("workflows/inbound.yaml")])
        .await
        .unwrap();
    let workflow = &pipeline.workflows[0];
    let with = |id: &str| {
        workflow
            .steps
            .iter()
            .find(|s| s.id.to_string() == id)
            .unwrap()
            .with
            .clone()
    };
    let rows: [(&str, &str, f64); 4] = [
        (
            "identify",
            "identity",
            native::<weft_plugin_identity::Identify>(&with("identify"), calls),
        ),
        (
            "thread",
            "merger",
            native::<weft_plugin_merger::Merger>(&with("thread"), calls),
        ),
        (
            "route",
            "router",
            native::<weft_plugin_router::Router>(&with("route"), calls),
        ),
        (
            "deadlines",
            "sla",
            native::<weft_plugin_sla::Sla>(&with("deadlines"), calls),
        ),
    ];
    for (step, plugin, native_us) in rows {
        let fresh_us = wasm(&fresh, plugin, &with(step), calls).await;
        let warm_us = wasm(&pipeline, plugin, &with(step), calls).await;
        println!(
            "    {step:<10} {plugin:<9} fresh {fresh_us:>8.1} µs   warm {warm_us:>7.1} µs   native {native_us:>7.1} µs   warm/native {:>5.1}x",
            warm_us / native_us
        );
    }
}

fn main() {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap()
        .block_on(run());
}
