//! The router step through the real runtime (its WASM component, warm instances, the host's
//! embedding model): classifications per second on the n-gram path and with embeddings.
//!
//! `cargo bench -p weft --bench router` (or `cargo xtask bench --bench router`). The route
//! step's `with:` and grants come from the shipped `workflows/inbound.yaml`; the n-gram rows
//! run it without the `embeddings` grant. Messages are the router's held-out (ten languages)
//! and English evaluation sets; every message of the embeddings rows is new to the host's
//! vector cache (the prototypes are embedded once, on a first call that is not timed).
//! `WEFT_BENCH_ROUNDS` sets how many times the n-gram rows go over the messages (default 20).

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};
use weft::exec::Pipeline;
use weft::runtime::{CallOptions, MemoryReader, Runtime, RuntimeConfig};
use weft_sdk::testing::MemoryContext;
use weft_sdk::{Event, Message};

/// The allocator the `weft` binary uses (see `src/main.rs`).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn messages(file: &str, english_only: bool) -> Vec<String> {
    let path = weft_test_support::workspace_root()
        .join("plugins/router/data")
        .join(file);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    weft_plugin_router::parse_csv(&text)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
        .into_iter()
        .filter(|e| !english_only || e.lang == "en")
        .map(|e| e.text)
        .collect()
}

fn event(i: usize, body: &str) -> Event {
    let mut message = Message::new("email", format!("m{i}"), 1_795_000_000 + i as i64);
    message.body = body.to_owned();
    Event {
        id: i as u64,
        kind: "message.received".into(),
        at: 1_795_000_000 + i as i64,
        message: Some(message),
        customer: Some(1),
        ticket: Some(i as u64 + 1),
        payload: serde_json::Value::Null,
    }
}

/// Calls the step on every event, `concurrency` calls at a time; returns calls per second.
async fn rate(
    pipeline: &Arc<Pipeline>,
    with: &serde_json::Value,
    options: &CallOptions,
    events: &[Event],
    concurrency: usize,
) -> f64 {
    let start = Instant::now();
    let chunks: Vec<Vec<Event>> = events
        .chunks(events.len().div_ceil(concurrency))
        .map(<[Event]>::to_vec)
        .collect();
    let tasks: Vec<_> = chunks
        .into_iter()
        .map(|chunk| {
            let (pipeline, with, options) = (pipeline.clone(), with.clone(), options.clone());
            tokio::spawn(async move {
                let plugin = &pipeline.plugins["router"];
                let mut reader = MemoryReader::new(MemoryContext::new());
                for event in &chunk {
                    let (back, result) = plugin.decide(event, &with, &options, reader).await;
                    reader = back;
                    let output = result.expect("the router runs");
                    assert!(!output.decisions.is_empty(), "the router decided nothing");
                    std::hint::black_box(output);
                }
            })
        })
        .collect();
    for task in tasks {
        task.await.expect("a bench task panicked");
    }
    events.len() as f64 / start.elapsed().as_secs_f64()
}

async fn run() {
    let root = weft_test_support::workspace_root();
    let plugins = weft_test_support::plugins_dir();
    let models = std::env::var_os("WEFT_MODELS")
        .map(PathBuf::from)
        .unwrap_or_else(|| root.join("target/models"));
    let runtime = Arc::new(
        Runtime::new(RuntimeConfig {
            cache_dir: Some(std::env::temp_dir().join("weft-bench-cache")),
            models_dir: Some(models),
            ..RuntimeConfig::default()
        })
        .expect("runtime"),
    );
    let has_model = runtime.embedder().is_ok();
    let pipeline = Arc::new(
        Pipeline::load(runtime, plugins, &[root.join("workflows/inbound.yaml")])
            .await
            .expect("the shipped workflow loads"),
    );
    let step = pipeline.workflows[0]
        .steps
        .iter()
        .find(|s| s.id.to_string() == "route")
        .expect("inbound has a route step");
    let with = step.with.clone();
    let mut ngram_only = CallOptions::new("route", Duration::from_secs(5));
    ngram_only.grants.embeddings = false;
    let mut with_embeddings = CallOptions::new("route", Duration::from_secs(30));
    with_embeddings.grants.embeddings = step.allow.embeddings;

    let rounds = std::env::var("WEFT_BENCH_ROUNDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(20usize);
    let all = messages("heldout.csv", false);
    let events: Vec<Event> = (0..rounds)
        .flat_map(|_| all.iter())
        .enumerate()
        .map(|(i, text)| event(i, text))
        .collect();
    println!(
        "router benchmark: the route step of workflows/inbound.yaml through the runtime ({} cores)",
        std::thread::available_parallelism().map_or(1, |n| n.get())
    );
    // Warm-up: instances created, configuration compiled.
    rate(&pipeline, &with, &ngram_only, &events[..all.len()], 2).await;
    for concurrency in [1, 2] {
        let r = rate(&pipeline, &with, &ngram_only, &events, concurrency).await;
        println!(
            "  n-gram path, {concurrency} call(s) at a time: {r:>8.0} classifications/s ({:.1} µs each; {} messages, 10 languages)",
            1e6 / r * concurrency as f64,
            events.len()
        );
    }

    if !has_model {
        println!("  embeddings: SKIPPED, no model (run `cargo xtask plugins` to obtain it)");
        return;
    }
    if !step.allow.embeddings {
        println!("  embeddings: SKIPPED, the route step of inbound.yaml is not granted embeddings");
        return;
    }
    let english: Vec<String> = [
        "eval_en.csv",
        "eval_fresh_en.csv",
        "eval_fresh2_en.csv",
        "heldout.csv",
        "train.csv",
    ]
    .iter()
    .flat_map(|f| messages(f, true))
    .collect();
    let events: Vec<Event> = english.iter().enumerate().map(|(i, t)| event(i, t)).collect();
    // Warm-up: the prototypes are embedded on the first call of each instance.
    let warm: Vec<Event> = (0..4)
        .map(|i| event(i, &format!("warm-up message number {i}")))
        .collect();
    rate(&pipeline, &with, &with_embeddings, &warm, 2).await;
    // Each row takes its own quarter of the messages, so every one is new to the vector cache.
    let quarter = events.len() / 4;
    for (row, concurrency) in [1, 2, 4, 8].into_iter().enumerate() {
        let slice = &events[row * quarter..(row + 1) * quarter];
        let r = rate(&pipeline, &with, &with_embeddings, slice, concurrency).await;
        println!(
            "  with embeddings, {concurrency} call(s) at a time: {r:>6.0} classifications/s ({:.2} ms each; {} English messages new to the vector cache)",
            1e3 / r * concurrency as f64,
            slice.len()
        );
    }
}

fn main() {
    // SAFETY: the first statement of `main`: no other thread exists yet.
    #[allow(unsafe_code)]
    unsafe {
        weft::runtime::one_core_per_pass();
    }
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("tokio runtime")
        .block_on(run());
}
