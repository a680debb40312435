//! What semantic routing costs: the shipped workflow (`workflows/inbound.yaml`: identify →
//! thread → route → deadlines, the route step granted embeddings) over traffic from
//! `weft generate` (buyers in eight countries and their languages, every message a text of
//! its own, the orders imported first), once without the sentence-embedding model and once
//! with it. Each run is a child process of its own, so the peak memory printed is that run's.
//!
//! `cargo xtask bench` runs it with the model from `target/models` (`cargo bench -p weft
//! --bench semantic` needs `WEFT_MODELS`, or the model in `target/models`). `WEFT_BENCH_MESSAGES`
//! sets the message count (default 20000), `WEFT_BENCH_CUSTOMERS` the buyers (default a
//! quarter of that).

use std::path::PathBuf;
use std::process::Command;
use std::sync::Arc;
use std::time::Instant;
use weft::exec::{self, DrainOptions, Pipeline};
use weft::quality::generate::{GenerateOptions, generate};
use weft::runtime::{MODEL_FOLDER, Runtime, RuntimeConfig};
use weft::store::Store;

/// The allocator the `weft` binary uses (see `src/main.rs`).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// The variable that tells a child process which run it is.
const VARIANT: &str = "WEFT_BENCH_SEMANTIC_VARIANT";

fn env_usize(name: &str, default: usize) -> usize {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

fn models_dir() -> PathBuf {
    std::env::var_os("WEFT_MODELS")
        .map(PathBuf::from)
        .unwrap_or_else(|| weft_test_support::workspace_root().join("target/models"))
}

/// What one run measured.
struct Run {
    messages: usize,
    seconds: f64,
    peak_mib: f64,
    english: usize,
    /// Texts the sentence encoder ran on during the timed part (the prototypes, embedded
    /// before it, not counted).
    encoded: u64,
}

/// One run in this process: generate, import the orders, ingest and drain the traffic (timed).
async fn run(with_model: bool) -> Run {
    let messages = env_usize("WEFT_BENCH_MESSAGES", 20_000);
    let customers = env_usize("WEFT_BENCH_CUSTOMERS", (messages / 4).max(1));
    let root = weft_test_support::workspace_root();
    let dir = tempfile::tempdir().unwrap();
    let traffic = generate(&GenerateOptions {
        customers,
        messages,
        seed: 7,
    })
    .unwrap();
    let english = traffic
        .lines
        .iter()
        .filter(|l| l.get("lang").and_then(|v| v.as_str()) == Some("en"))
        .count();
    let lines = dir.path().join("traffic.jsonl");
    let orders = dir.path().join("orders.jsonl");
    traffic.write(&lines, &dir.path().join("truth.jsonl")).unwrap();
    traffic.write_orders(&orders).unwrap();
    drop(traffic);

    let runtime = Runtime::new(RuntimeConfig {
        cache_dir: Some(std::env::temp_dir().join("weft-bench-cache")),
        models_dir: with_model.then(models_dir),
        ..RuntimeConfig::default()
    })
    .unwrap();
    if with_model {
        runtime
            .embedder()
            .unwrap_or_else(|e| panic!("no embedding model in {}: {e}", models_dir().display()));
    }
    let pipeline = Pipeline::load(
        Arc::new(runtime),
        weft_test_support::plugins_dir(),
        &[root.join("workflows/inbound.yaml")],
    )
    .await
    .unwrap();
    let store = Store::open(&format!("sqlite://{}", dir.path().join("bench.db").display()))
        .await
        .unwrap();
    exec::orders::import_orders(&store, &[orders]).await.unwrap();
    let drained = exec::drain(&store, &pipeline, &DrainOptions::default()).await.unwrap();
    assert_eq!(drained.failed, 0, "{:?}", drained.dead.first());

    let encoded_before = pipeline.runtime.embedder().map_or(0, |e| e.encoded());
    let start = Instant::now();
    let ingested = exec::ingest_paths(&store, None, &pipeline, &[lines]).await.unwrap();
    let drained = exec::drain(&store, &pipeline, &DrainOptions::default()).await.unwrap();
    let seconds = start.elapsed().as_secs_f64();
    assert_eq!(ingested.messages, messages);
    assert_eq!(drained.failed, 0, "{:?}", drained.dead.first());
    Run {
        messages,
        seconds,
        peak_mib: weft_test_support::peak_rss_mib().unwrap_or(0.0),
        english,
        encoded: pipeline.runtime.embedder().map_or(0, |e| e.encoded()) - encoded_before,
    }
}

/// Runs one variant in a child process and reads its result line.
fn child(variant: &str) -> Run {
    let output = Command::new(std::env::current_exe().unwrap())
        .env(VARIANT, variant)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "the {variant} run failed:\n{stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let line = stdout
        .lines()
        .find_map(|l| l.strip_prefix("result "))
        .unwrap_or_else(|| panic!("the {variant} run printed no result:\n{stdout}"));
    let fields: Vec<f64> = line.split(' ').map(|f| f.parse().unwrap()).collect();
    Run {
        messages: fields[0] as usize,
        seconds: fields[1],
        peak_mib: fields[2],
        english: fields[3] as usize,
        encoded: fields[4] as u64,
    }
}

fn main() {
    if let Ok(variant) = std::env::var(VARIANT) {
        let run = tokio::runtime::Builder::new_multi_thread()
            .enable_all()
            .build()
            .unwrap()
            .block_on(run(variant == "with"));
        println!(
            "result {} {} {} {} {}",
            run.messages, run.seconds, run.peak_mib, run.english, run.encoded
        );
        return;
    }
    if !models_dir().join(MODEL_FOLDER).is_dir() {
        println!(
            "weft semantic routing benchmark: SKIPPED, no embedding model in {} (`cargo xtask plugins` obtains it)",
            models_dir().display()
        );
        return;
    }
    let without = child("without");
    let with = child("with");
    let rate = |r: &Run| r.messages as f64 / r.seconds;
    println!(
        "weft semantic routing benchmark: workflow inbound over `weft generate` traffic ({} messages, {} in English, seed 7, orders imported first)",
        with.messages, with.english
    );
    println!(
        "  without the model: {:>7.0} messages/s ({:.1} s), peak memory {:.0} MiB",
        rate(&without),
        without.seconds,
        without.peak_mib
    );
    println!(
        "  with the model:    {:>7.0} messages/s ({:.1} s), peak memory {:.0} MiB, {} texts through the encoder ({:.1}% of the English messages)",
        rate(&with),
        with.seconds,
        with.peak_mib,
        with.encoded,
        100.0 * with.encoded as f64 / with.english.max(1) as f64
    );
    println!(
        "  cost with the model / without: {:.2}x (target at most 1.5x)",
        with.seconds / without.seconds
    );
}
