//! Identity and merger on generated traffic, through the real engine on a fresh SQLite file:
//! messages per second and the quality report against the generator's truth.
//!
//! `cargo bench -p weft --bench identity` (or `cargo xtask bench --bench identity`). The scale
//! is chosen with `WEFT_BENCH_SCALE`: a comma-separated list of factors of the base traffic of
//! 10,000 customers and 50,000 messages (default `0.1,1`, which shows the scaling from 1/10 to
//! the base; `1,10` shows it from the base to ten times). `WEFT_BENCH_SEED` sets the seed.
//! The seller's orders (the generator's order export) are imported and run through the
//! identity step first, timed apart; `WEFT_BENCH_ORDERS=0` leaves them out.

use std::path::Path;
use std::sync::Arc;
use std::time::Instant;
use weft::exec::{self, DrainOptions, Pipeline};
use weft::quality::generate::{GenerateOptions, generate};
use weft::quality::report::quality;
use weft::runtime::{Runtime, RuntimeConfig};
use weft::store::Store;

/// The allocator the `weft` binary uses (see `src/main.rs`).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

const BASE_CUSTOMERS: f64 = 10_000.0;
const BASE_MESSAGES: f64 = 50_000.0;

const WORKFLOW: &str = "\
version: 1
name: identity-bench
on: [message.received, order.placed]
steps:
  - id: identify
    uses: identity
    with:
      default_region: DE
      fuzzy: { enabled: true, min_score: 0.9 }
    timeout: 500ms
  - id: thread
    if: event.kind == 'message.received'
    uses: merger
    with:
      window: 72h
      reopen_window: 7d
      on_solved: reopen
    timeout: 500ms
";

struct Run {
    customers: usize,
    messages: usize,
    orders: usize,
    orders_s: f64,
    ingest_s: f64,
    drain_s: f64,
}

async fn run_once(
    pipeline: &Pipeline,
    dir: &Path,
    customers: usize,
    messages: usize,
    seed: u64,
    with_orders: bool,
) -> Run {
    let traffic = generate(&GenerateOptions {
        customers,
        messages,
        seed,
    })
    .expect("generate");
    // One file per 1,000 messages, as a connector would deliver batches (and under the size
    // limit of one inbound body).
    let mut inputs = Vec::new();
    for (n, chunk) in traffic.lines.chunks(1_000).enumerate() {
        let path = dir.join(format!("traffic-{messages}-{n:04}.jsonl"));
        let text: String = chunk.iter().map(|l| format!("{l}\n")).collect();
        std::fs::write(&path, text).expect("write traffic");
        inputs.push(path);
    }
    let db = dir.join(format!("bench-{messages}.db"));
    let store = Store::open(&format!("sqlite://{}", db.display()))
        .await
        .expect("open store");

    // The seller's orders first, as an import before the buyers write.
    let (mut orders, mut orders_s) = (0, 0.0);
    if with_orders {
        let orders_path = dir.join(format!("orders-{messages}.jsonl"));
        traffic.write_orders(&orders_path).expect("write orders");
        let started = Instant::now();
        orders = exec::orders::import_orders(&store, &[orders_path])
            .await
            .expect("import orders")
            .queued;
        let drained = exec::drain(&store, pipeline, &DrainOptions::default())
            .await
            .expect("drain orders");
        assert!(
            drained.dead.is_empty(),
            "orders dead-lettered: {:?}",
            drained.dead.first()
        );
        orders_s = started.elapsed().as_secs_f64();
    }

    let started = Instant::now();
    let ingested = exec::ingest_paths(&store, None, pipeline, &inputs)
        .await
        .expect("ingest");
    let ingest_s = started.elapsed().as_secs_f64();
    assert_eq!(ingested.messages, messages, "every generated message is ingested");
    let started = Instant::now();
    let drained = exec::drain(&store, pipeline, &DrainOptions::default())
        .await
        .expect("drain");
    let drain_s = started.elapsed().as_secs_f64();
    let dead = drained.dead.len();

    let report = quality(&store, &traffic.truth).await.expect("report");
    println!(
        "\n== {customers} customers, {messages} messages (seed {seed}) ==\n\
         orders: {}\n\
         ingest: {ingest_s:.2} s ({:.0} messages/s); identity + merger: {drain_s:.2} s ({:.0} messages/s)\n\
         dead letters: {dead}{}\n",
        if with_orders {
            format!(
                "{orders} imported, identity over them {orders_s:.2} s ({:.0} orders/s)",
                orders as f64 / orders_s
            )
        } else {
            "none (WEFT_BENCH_ORDERS=0)".into()
        },
        messages as f64 / ingest_s,
        messages as f64 / drain_s,
        drained
            .dead
            .first()
            .map(|(_, reason)| format!(" (the first: {reason})"))
            .unwrap_or_default()
    );
    print!("{}", report.table());
    Run {
        customers,
        messages,
        orders,
        orders_s,
        ingest_s,
        drain_s,
    }
}

fn main() {
    let scales: Vec<f64> = std::env::var("WEFT_BENCH_SCALE")
        .unwrap_or_else(|_| "0.1,1".into())
        .split(',')
        .map(|s| {
            s.trim()
                .parse()
                .expect("WEFT_BENCH_SCALE: a comma-separated list of numbers")
        })
        .collect();
    let seed: u64 = std::env::var("WEFT_BENCH_SEED")
        .ok()
        .map(|s| s.parse().expect("WEFT_BENCH_SEED: a number"))
        .unwrap_or(1);
    let with_orders = std::env::var("WEFT_BENCH_ORDERS").map_or(true, |v| v != "0");
    println!(
        "command: WEFT_BENCH_SCALE={} WEFT_BENCH_SEED={seed} WEFT_BENCH_ORDERS={} cargo bench -p weft --bench identity",
        scales.iter().map(f64::to_string).collect::<Vec<_>>().join(","),
        u8::from(with_orders)
    );
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("tokio");
    runtime.block_on(async {
        let dir = tempfile::tempdir().expect("temp dir");
        let workflow = dir.path().join("identity-bench.yaml");
        std::fs::write(&workflow, WORKFLOW).expect("write workflow");
        let plugin_runtime = Runtime::new(RuntimeConfig {
            cache_dir: Some(std::env::temp_dir().join("weft-test-cache")),
            perf_map: weft::cli::perf_map_wanted().expect("WEFT_WASM_PROFILE"),
            ..RuntimeConfig::default()
        })
        .expect("runtime");
        let pipeline = Pipeline::load(Arc::new(plugin_runtime), weft_test_support::plugins_dir(), &[workflow])
            .await
            .expect("pipeline");
        let mut runs = Vec::new();
        for scale in &scales {
            let customers = (BASE_CUSTOMERS * scale).round().max(1.0) as usize;
            let messages = (BASE_MESSAGES * scale).round().max(1.0) as usize;
            runs.push(run_once(&pipeline, dir.path(), customers, messages, seed, with_orders).await);
        }
        println!("\n== scaling ==");
        for run in &runs {
            println!(
                "{:>7} customers {:>8} messages: identity + merger {:>8.2} s, {:>6.0} messages/s (ingest {:.2} s; {} orders before, {:.2} s)",
                run.customers,
                run.messages,
                run.drain_s,
                run.messages as f64 / run.drain_s,
                run.ingest_s,
                run.orders,
                run.orders_s
            );
        }
        if let (Some(first), Some(last)) = (runs.first(), runs.last())
            && runs.len() > 1
        {
            println!(
                "{:.1}x the traffic took {:.2}x the time (target: 10x the traffic at most 12x the time)",
                last.messages as f64 / first.messages as f64,
                last.drain_s / first.drain_s
            );
        }
    });
}
