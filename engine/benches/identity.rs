//! Identity and merger on generated traffic, through the real engine on a fresh SQLite file:
//! messages per second and the quality report against the generator's truth.
//!
//! `cargo bench -p weft --bench identity` (or `cargo xtask bench --bench identity`). The scale
//! is chosen with `WEFT_BENCH_SCALE`: a comma-separated list of factors of the base traffic of
//! 10,000 customers and 50,000 messages (default `0.1,1`, which shows the scaling from 1/10 to
//! the base; `1,10` shows it from the base to ten times). `WEFT_BENCH_SEED` sets the seed.
//! The seller's orders (the generator's order export) are imported and run through the
//! identity step first, timed apart; `WEFT_BENCH_ORDERS=0` leaves them out.
//!
//! Each scale runs `WEFT_BENCH_RUNS` times (default 3), each on a fresh database, after one
//! run of the smallest scale that is not counted (a warm-up). The scales
//! take turns (all of them once, then all again) rather than one scale's runs following the
//! other's: a shared 2-core machine varies by 10-15% from run to run and drifts over minutes,
//! and a slow minute then slows a run of each scale instead of only the larger one. The
//! scaling is given twice: as the ratio of the medians, and as the median (and range) of the
//! ratios of the runs that took turns together. The processor time of each drain (all of the
//! process's threads: the engine's, the checkpoint thread's) is given beside its time on the
//! clock, with its scaling: it leaves out the waits that make a shared machine's clock times
//! differ from run to run (another process on the CPU, the disk), though not the slowdowns
//! (caches shared with other machines' work). So is what each drain read and wrote through
//! system calls (the database file, its write-ahead log, temporary files), with the ratio of
//! the medians. The writer's part does not vary with the machine: the same work writes the
//! same pages. The checkpoint thread's copies do, with when it wakes (at 5,000 messages the
//! drain wrote 16-23 MiB in one series, at 50,000 332-376 MiB), so a part whose writes grow
//! faster than the traffic shows here when the times are too noisy to tell, if its share is
//! larger than that spread. The peak resident memory of the process is printed at the end.
//!
//! To profile the drain alone: `mkfifo /tmp/ctl`, then run the bench under
//! `perf record -D -1 --control fifo:/tmp/ctl ...` with `WEFT_BENCH_PERF_CTL=/tmp/ctl`; the
//! bench enables recording for each drain and disables it after.

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

/// The customers and messages of a scale: that factor of the base traffic, at least one each.
fn traffic(scale: f64) -> (usize, usize) {
    let count = |base: f64| (base * scale).round().max(1.0) as usize;
    (count(BASE_CUSTOMERS), count(BASE_MESSAGES))
}

/// The `run` of the warm-up before the measured runs.
const WARM_UP: usize = usize::MAX;

struct Run {
    customers: usize,
    messages: usize,
    orders: usize,
    orders_s: f64,
    ingest_s: f64,
    drain_s: f64,
    /// Processor time of the drain, when the platform tells it.
    drain_cpu_s: Option<f64>,
    /// What the drain read and wrote through system calls (all threads).
    drain_io: Option<weft_test_support::Io>,
}

/// Tells `perf` (through its control FIFO) to start or stop recording, when asked to.
fn perf_control(command: &str) {
    if let Ok(fifo) = std::env::var("WEFT_BENCH_PERF_CTL") {
        std::fs::write(&fifo, format!("{command}\n")).expect("WEFT_BENCH_PERF_CTL: write to perf's control FIFO");
    }
}

async fn run_once(
    pipeline: &Pipeline,
    dir: &Path,
    customers: usize,
    messages: usize,
    seed: u64,
    with_orders: bool,
    run: usize,
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
        let path = dir.join(format!("traffic-{messages}-{run}-{n:04}.jsonl"));
        let text: String = chunk.iter().map(|l| format!("{l}\n")).collect();
        std::fs::write(&path, text).expect("write traffic");
        inputs.push(path);
    }
    let db = dir.join(format!("bench-{messages}-{run}.db"));
    let store = Store::open(&format!("sqlite://{}", db.display()))
        .await
        .expect("open store");

    // The seller's orders first, as an import before the buyers write.
    let (mut orders, mut orders_s) = (0, 0.0);
    if with_orders {
        let orders_path = dir.join(format!("orders-{messages}-{run}.jsonl"));
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
    perf_control("enable");
    let cpu_before = weft_test_support::cpu_seconds();
    let io_before = weft_test_support::io_so_far();
    let started = Instant::now();
    let drained = exec::drain(&store, pipeline, &DrainOptions::default())
        .await
        .expect("drain");
    let drain_s = started.elapsed().as_secs_f64();
    let drain_cpu_s = cpu_before
        .zip(weft_test_support::cpu_seconds())
        .map(|(before, after)| after - before);
    let drain_io = io_before
        .zip(weft_test_support::io_so_far())
        .map(|(before, after)| after.since(before));
    perf_control("disable");
    let dead = drained.dead.len();

    let report = quality(&store, &traffic.truth).await.expect("report");
    let mib = |bytes: u64| bytes as f64 / (1024.0 * 1024.0);
    let file_mib = mib(["", "-wal"]
        .iter()
        .filter_map(|suffix| std::fs::metadata(format!("{}{suffix}", db.display())).ok())
        .map(|m| m.len())
        .sum());
    let timing = format!(
        "ingest: {ingest_s:.2} s ({:.0} messages/s); identity + merger: {drain_s:.2} s ({:.0} messages/s){}",
        messages as f64 / ingest_s,
        messages as f64 / drain_s,
        drain_cpu_s
            .map(|cpu| format!(", processor time {cpu:.2} s"))
            .unwrap_or_default(),
    );
    let io = drain_io
        .map(|io| {
            format!(
                "; the drain wrote {:.0} MiB in {} calls and read {:.0} MiB",
                mib(io.written),
                io.write_calls,
                mib(io.read)
            )
        })
        .unwrap_or_default();
    if run == 0 {
        println!(
            "\n== {customers} customers, {messages} messages (seed {seed}) ==\n\
             orders: {}\n\
             run 1: {timing}{io}\n\
             dead letters: {dead}{}; database file with its write-ahead log: {file_mib:.0} MiB\n",
            if with_orders {
                format!(
                    "{orders} imported, identity over them {orders_s:.2} s ({:.0} orders/s)",
                    orders as f64 / orders_s
                )
            } else {
                "none (WEFT_BENCH_ORDERS=0)".into()
            },
            drained
                .dead
                .first()
                .map(|(_, reason)| format!(" (the first: {reason})"))
                .unwrap_or_default()
        );
        print!("{}", report.table());
    } else if run == WARM_UP {
        println!("warm-up, not counted: {timing}{io}");
    } else {
        // The same seed makes the same traffic and the same decisions: only the time differs.
        println!("run {}: {timing}{io}; dead letters: {dead}", run + 1);
    }
    drop(store);
    for file in std::fs::read_dir(dir).expect("read temp dir").flatten() {
        if file
            .file_name()
            .to_string_lossy()
            .contains(&format!("-{messages}-{run}"))
        {
            let _ = std::fs::remove_file(file.path());
        }
    }
    Run {
        customers,
        messages,
        orders,
        orders_s,
        ingest_s,
        drain_s,
        drain_cpu_s,
        drain_io,
    }
}

fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(f64::total_cmp);
    let mid = values.len() / 2;
    if values.len() % 2 == 1 {
        values[mid]
    } else {
        (values[mid - 1] + values[mid]) / 2.0
    }
}

/// The ratios of runs that took turns together: their median, range and each.
fn print_ratios(what: &str, ratios: &[f64]) {
    let listed: Vec<String> = ratios.iter().map(|r| format!("{r:.2}")).collect();
    println!(
        "{what}: median {:.2}x, from {:.2}x to {:.2}x ({})",
        median(ratios.to_vec()),
        ratios.iter().copied().fold(f64::INFINITY, f64::min),
        ratios.iter().copied().fold(0.0, f64::max),
        listed.join(", ")
    );
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
    let runs: usize = std::env::var("WEFT_BENCH_RUNS")
        .ok()
        .map(|s| s.parse().expect("WEFT_BENCH_RUNS: a number"))
        .unwrap_or(3)
        .max(1);
    let with_orders = std::env::var("WEFT_BENCH_ORDERS").map_or(true, |v| v != "0");
    println!(
        "command: WEFT_BENCH_SCALE={} WEFT_BENCH_SEED={seed} WEFT_BENCH_RUNS={runs} WEFT_BENCH_ORDERS={} cargo bench -p weft --bench identity",
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
        // One run of the smallest scale first, not counted: the first drain of a process pays
        // for what later ones find ready (plugin instances, the allocator's memory, the
        // files' pages), and the first small run was often 20-50% slower than the
        // others (1.72 s against a median of 1.14 s, 1.33 s against 1.05 s).
        if let Some(&scale) = scales.first() {
            let (customers, messages) = traffic(scale);
            run_once(&pipeline, dir.path(), customers, messages, seed, with_orders, WARM_UP).await;
        }
        // For each scale, its runs; the scales take turns.
        let mut scaled: Vec<Vec<Run>> = scales.iter().map(|_| Vec::new()).collect();
        for run in 0..runs {
            for (scale, runs_here) in scales.iter().zip(&mut scaled) {
                let (customers, messages) = traffic(*scale);
                runs_here.push(run_once(&pipeline, dir.path(), customers, messages, seed, with_orders, run).await);
            }
        }
        println!("\n== scaling (median of {runs} run(s) each) ==");
        let mut medians = Vec::new();
        for runs_here in &scaled {
            let first = &runs_here[0];
            let drain = median(runs_here.iter().map(|r| r.drain_s).collect());
            let all: Vec<String> = runs_here.iter().map(|r| format!("{:.2}", r.drain_s)).collect();
            println!(
                "{:>7} customers {:>8} messages: identity + merger {:>8.2} s, {:>6.0} messages/s (runs: {} s; ingest {:.2} s; {} orders before, {:.2} s)",
                first.customers,
                first.messages,
                drain,
                first.messages as f64 / drain,
                all.join(", "),
                median(runs_here.iter().map(|r| r.ingest_s).collect()),
                first.orders,
                median(runs_here.iter().map(|r| r.orders_s).collect()),
            );
            let cpu: Option<Vec<f64>> = runs_here.iter().map(|r| r.drain_cpu_s).collect();
            let cpu = cpu.map(median);
            if let Some(cpu) = cpu {
                println!("{:>34} processor time {cpu:>8.2} s (median)", "");
            }
            medians.push((first.messages, drain, cpu));
        }
        if let (Some(first), Some(last)) = (medians.first(), medians.last())
            && medians.len() > 1
        {
            println!(
                "{:.1}x the traffic took {:.2}x the time (target: 10x the traffic at most 12x the time)",
                last.0 as f64 / first.0 as f64,
                last.1 / first.1
            );
            // The runs that took turns together, each a ratio of its own.
            let (smallest, largest) = (&scaled[0], &scaled[scaled.len() - 1]);
            let ratios: Vec<f64> = smallest
                .iter()
                .zip(largest)
                .map(|(small, large)| large.drain_s / small.drain_s)
                .collect();
            print_ratios("run by run", &ratios);
            if let (Some(small), Some(large)) = (first.2, last.2) {
                println!(
                    "processor time: {:.1}x the traffic took {:.2}x the time",
                    last.0 as f64 / first.0 as f64,
                    large / small
                );
                let ratios: Option<Vec<f64>> = smallest
                    .iter()
                    .zip(largest)
                    .map(|(small, large)| Some(large.drain_cpu_s? / small.drain_cpu_s?))
                    .collect();
                if let Some(ratios) = ratios {
                    print_ratios("processor time run by run", &ratios);
                }
            }
            // The medians: the checkpoint thread's copies vary with when it wakes.
            let written = |runs: &[Run]| -> Option<(f64, f64)> {
                let io: Option<Vec<weft_test_support::Io>> = runs.iter().map(|r| r.drain_io).collect();
                let io = io?;
                Some((
                    median(io.iter().map(|i| i.written as f64).collect()),
                    median(io.iter().map(|i| i.write_calls as f64).collect()),
                ))
            };
            if let (Some(small), Some(large)) = (written(smallest), written(largest)) {
                println!(
                    "written (medians): {:.1}x the traffic wrote {:.2}x the bytes in {:.2}x the calls",
                    last.0 as f64 / first.0 as f64,
                    large.0 / small.0.max(1.0),
                    large.1 / small.1.max(1.0)
                );
            }
        }
        if let Some(peak) = weft_test_support::peak_rss_mib() {
            println!("peak resident memory of the bench process: {peak:.0} MiB");
        }
    });
}
