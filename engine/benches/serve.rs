//! Benchmark of `weft serve` over real HTTP on 127.0.0.1, with concurrent reqwest clients in
//! the same process (they share the machine's cores with the server, as a load generator on
//! the same host would):
//!
//! - **Intake**: signed webhooks (`X-Weft-Signature`, HMAC-SHA256, checked by the `json`
//!   channel plugin in its sandbox) accepted per second, each kept durably in SQLite before
//!   its 202. First with the HTTP server alone (the live loop not running: only the intake
//!   path), then with the live loop processing what arrives (the shipped workflows) at the
//!   same time; the second also says how long processing took to catch up.
//! - **Visibility**: at a steady rate of new messages (each from a new buyer, so each opens
//!   a ticket, its subject naming the message), the delay from each webhook's 2xx answer to
//!   its ticket being listed by the API (`GET /api/v1/tickets`, newest first, with an agent's
//!   token, polled every [`POLL`] and paged back to the last ticket seen), p50 and p99.
//!
//! `cargo xtask bench` (or `cargo bench -p weft --bench serve`). `WEFT_BENCH_WEBHOOKS` sets
//! the webhooks of each intake run (default 20000), `WEFT_BENCH_CLIENTS` the concurrent
//! clients (64), `WEFT_BENCH_RATE` the messages per second of the visibility run (200) and
//! `WEFT_BENCH_SECONDS` its length (60). `WEFT_MODELS` (set by xtask) lets the router embed
//! English messages as `weft serve --models` would.

use hmac::Mac;
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use weft::exec::{Live, LiveOptions};
use weft::metrics::Metrics;
use weft::reload::{self, Sources};
use weft::runtime::{Runtime, RuntimeConfig};
use weft::server::ServeConfig;
use weft::store::Store;

/// The allocator the `weft` binary uses (see `src/main.rs`).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

const SECRET: &str = "bench-Geheimnis-秘密";

const CHANNELS: &str = "\
version: 1
channels:
  - id: shop
    uses: json
    with: { signature_secret: shop_signing }
    allow: { secrets: [shop_signing] }
";

fn env_usize(name: &str, default: usize) -> usize {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

const NAMES: [&str; 8] = [
    "Jürgen Groß",
    "Zoé Lefèvre",
    "Begoña Muñoz",
    "Niccolò Rossi",
    "山田 花子",
    "王 小明",
    "ليلى حداد",
    "Emily Brown",
];
const BODIES: [(&str, &str); 7] = [
    (
        "de",
        "Hallo, wo bleibt meine Bestellung? Die Sendungsverfolgung zeigt seit Tagen nichts.",
    ),
    ("fr", "Bonjour, je voudrais être remboursé, l'article est arrivé cassé."),
    ("es", "Hola, ¿podéis enviarme la factura del pedido? Gracias."),
    ("it", "Buongiorno, il pacco non è ancora arrivato. Potete controllare?"),
    ("ja", "注文した商品がまだ届きません。いつ届きますか？"),
    ("zh", "你好，我想退货，商品有质量问题。"),
    ("en", "Hi, I'd like to change the delivery address of my order please."),
];
const CHANNEL_NAMES: [&str; 4] = ["chat", "email", "amazon", "instagram"];

/// Message `i` of a run tagged `run` from a buyer of its own, with subject `run-i`.
fn first_message(run: &str, i: usize) -> String {
    let (lang, body) = BODIES[i % BODIES.len()];
    serde_json::json!({
        "channel": CHANNEL_NAMES[i % CHANNEL_NAMES.len()],
        "id": format!("{run}-{i}"),
        "at": jiff::Timestamp::now().to_string(),
        "from": { "name": NAMES[i % NAMES.len()], "email": format!("{run}{i}@example.com"), "buyer_id": format!("{run}{i}") },
        "subject": format!("{run}-{i}"),
        "body": body,
        "lang": lang,
    })
    .to_string()
}

/// Message `i` of a run tagged `run`, from one of `i / 4` customers, as one JSON line.
fn line(run: &str, i: usize) -> String {
    let customers = (i / 4).max(1);
    let c = (i * 7919) % customers;
    let (lang, body) = BODIES[c % BODIES.len()];
    let channel = CHANNEL_NAMES[i % CHANNEL_NAMES.len()];
    let mut from = serde_json::json!({ "name": NAMES[c % NAMES.len()] });
    match channel {
        "amazon" => from["buyer_id"] = format!("A{run}{c:09}").into(),
        "instagram" => from["handle"] = format!("instagram:{run}buyer{c}").into(),
        _ => from["email"] = format!("{run}buyer{c}@example.com").into(),
    }
    serde_json::json!({
        "channel": channel,
        "id": format!("{run}-{i}"),
        "at": jiff::Timestamp::now().to_string(),
        "from": from,
        "order": format!("{:03}-{:07}-{:07}", c % 1000, c, c * 3 % 10_000_000),
        "body": body,
        "lang": lang,
    })
    .to_string()
}

fn sign(body: &[u8]) -> String {
    let mut mac = hmac::Hmac::<sha2::Sha256>::new_from_slice(SECRET.as_bytes()).expect("any key length");
    mac.update(body);
    format!("sha256={}", hex::encode(mac.finalize().into_bytes()))
}

/// A `weft serve` in this process, on its own SQLite file.
struct Server {
    url: String,
    live: Arc<Live>,
    stop: oneshot::Sender<()>,
    task: tokio::task::JoinHandle<()>,
}

impl Server {
    /// Starts the HTTP server, and the live loop beside it when `processing`.
    async fn start(runtime: &Arc<Runtime>, dir: &Path, name: &str, processing: bool) -> Server {
        let channels = dir.join("channels.yaml");
        std::fs::write(&channels, CHANNELS).expect("write the channels file");
        let sources = Sources {
            plugins: weft_test_support::plugins_dir().to_path_buf(),
            workflows: vec![weft_test_support::workspace_root().join("workflows")],
            channels: Some(channels),
        };
        let pipeline = reload::load(runtime, &sources)
            .await
            .expect("the shipped workflows load");
        let store = Store::open(&format!("sqlite://{}", dir.join(format!("{name}.db")).display()))
            .await
            .expect("open the store");
        let live = Arc::new(Live::new(
            store,
            Arc::new(pipeline),
            Arc::new(Metrics::default()),
            LiveOptions::default(),
        ));
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let url = format!("http://{}/hooks/shop", listener.local_addr().expect("an address"));
        let (stop, stopped) = oneshot::channel::<()>();
        let stopped = async {
            let _ = stopped.await;
        };
        let config = ServeConfig::default();
        let served = Arc::clone(&live);
        let task = tokio::spawn(async move {
            if processing {
                weft::serve::serve_until(listener, config, served, stopped)
                    .await
                    .expect("serve");
            } else {
                weft::server::serve(listener, config, served, stopped)
                    .await
                    .expect("serve");
            }
        });
        Server { url, live, stop, task }
    }

    async fn stop(self) {
        let _ = self.stop.send(());
        self.task.await.expect("the server stops");
    }
}

/// The p-th percentile (0..=100) of sorted `values`.
fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let rank = (p / 100.0 * (sorted.len() - 1) as f64).round() as usize;
    sorted[rank.min(sorted.len() - 1)]
}

fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .pool_max_idle_per_host(1024)
        .build()
        .expect("a client")
}

/// Posts `n` signed webhooks with `clients` concurrent clients; returns (webhooks/s, latency
/// of each answer in ms, sorted).
async fn flood(server: &Server, run: &str, n: usize, clients: usize) -> (f64, Vec<f64>) {
    let bodies: Arc<Vec<(String, String)>> = Arc::new(
        (0..n)
            .map(|i| {
                let body = line(run, i);
                let signature = sign(body.as_bytes());
                (body, signature)
            })
            .collect(),
    );
    let next = Arc::new(AtomicUsize::new(0));
    let client = client();
    let start = Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..clients {
        let (bodies, next, client, url) = (
            Arc::clone(&bodies),
            Arc::clone(&next),
            client.clone(),
            server.url.clone(),
        );
        tasks.push(tokio::spawn(async move {
            let mut latencies = Vec::new();
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                let Some((body, signature)) = bodies.get(i) else {
                    return latencies;
                };
                let sent = Instant::now();
                let response = client
                    .post(&url)
                    .header("content-type", "application/x-ndjson")
                    .header("X-Weft-Signature", signature)
                    .body(body.clone())
                    .send()
                    .await
                    .expect("the server answers");
                assert_eq!(response.status().as_u16(), 202, "webhook {i}");
                latencies.push(sent.elapsed().as_secs_f64() * 1000.0);
            }
        }));
    }
    let mut latencies = Vec::with_capacity(n);
    for task in tasks {
        latencies.extend(task.await.expect("a client"));
    }
    let rate = n as f64 / start.elapsed().as_secs_f64();
    latencies.sort_by(f64::total_cmp);
    (rate, latencies)
}

/// How often the API is asked for new tickets.
const POLL: Duration = Duration::from_millis(10);

/// Lists tickets through the API, newest first, until reaching `known` (the highest ticket
/// number seen before): the subjects of the new ones, and the new highest number.
async fn new_tickets(client: &reqwest::Client, base: &str, token: &str, known: i64) -> (Vec<String>, i64) {
    let mut subjects = Vec::new();
    let mut highest = known;
    let mut cursor: Option<String> = None;
    loop {
        let mut url = format!("{base}/api/v1/tickets?limit=200");
        if let Some(cursor) = &cursor {
            url.push_str(&format!("&cursor={cursor}"));
        }
        let page: serde_json::Value = client
            .get(&url)
            .bearer_auth(token)
            .send()
            .await
            .expect("the API answers")
            .error_for_status()
            .expect("the API lists tickets")
            .json()
            .await
            .expect("a ticket page");
        let tickets = page["tickets"].as_array().expect("tickets");
        let mut reached = tickets.is_empty();
        for ticket in tickets {
            let number = ticket["number"].as_i64().expect("a number");
            if number <= known {
                reached = true;
                break;
            }
            highest = highest.max(number);
            if let Some(subject) = ticket["subject"].as_str() {
                subjects.push(subject.to_owned());
            }
        }
        match page["next_cursor"].as_str() {
            Some(next) if !reached => cursor = Some(next.to_owned()),
            _ => return (subjects, highest),
        }
    }
}

/// At `rate` messages per second for `seconds`, the delay from each 2xx to its ticket being
/// visible; returns the sorted delays in ms and how many were acknowledged.
async fn visibility(server: &Server, rate: usize, seconds: usize) -> (Vec<f64>, usize) {
    let acknowledged: Arc<Mutex<HashMap<String, Instant>>> = Arc::default();
    let seen: Arc<Mutex<HashMap<String, Instant>>> = Arc::default();
    let token = weft::auth::new_token().expect("a token");
    server
        .live
        .store()
        .create_token("bench-agent", "agent", &token.hash)
        .await
        .expect("store the token");
    let base = server.url.trim_end_matches("/hooks/shop").to_owned();
    let (done, mut stop_polling) = oneshot::channel::<()>();
    let poller = tokio::spawn({
        let seen = Arc::clone(&seen);
        let client = client();
        async move {
            let mut known = 0;
            let mut tick = tokio::time::interval(POLL);
            loop {
                let (ids, highest) = new_tickets(&client, &base, &token.secret, known).await;
                known = highest;
                let now = Instant::now();
                {
                    let mut seen = seen.lock().expect("not poisoned");
                    for id in ids {
                        seen.entry(id).or_insert(now);
                    }
                }
                tokio::select! {
                    _ = tick.tick() => {}
                    _ = &mut stop_polling => return,
                }
            }
        }
    });
    let client = client();
    let total = rate * seconds;
    let mut tick = tokio::time::interval(Duration::from_secs_f64(1.0 / rate as f64));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Burst);
    let mut sends = Vec::with_capacity(total);
    for i in 0..total {
        tick.tick().await;
        let (client, url, acknowledged) = (client.clone(), server.url.clone(), Arc::clone(&acknowledged));
        sends.push(tokio::spawn(async move {
            let body = first_message("steady", i);
            let response = client
                .post(&url)
                .header("X-Weft-Signature", sign(body.as_bytes()))
                .body(body)
                .send()
                .await
                .expect("the server answers");
            let at = Instant::now();
            assert_eq!(response.status().as_u16(), 202);
            acknowledged
                .lock()
                .expect("not poisoned")
                .insert(format!("steady-{i}"), at);
        }));
    }
    for send in sends {
        send.await.expect("a send");
    }
    // Until every acknowledged message is visible (or a minute more has passed).
    let waited = Instant::now();
    while waited.elapsed() < Duration::from_secs(60) {
        let all = {
            let seen = seen.lock().expect("not poisoned");
            acknowledged
                .lock()
                .expect("not poisoned")
                .keys()
                .all(|id| seen.contains_key(id))
        };
        if all {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let _ = done.send(());
    poller.await.expect("the poller");
    let acknowledged = acknowledged.lock().expect("not poisoned");
    let seen = seen.lock().expect("not poisoned");
    let mut delays: Vec<f64> = acknowledged
        .iter()
        .map(|(id, at)| {
            let visible = seen.get(id).unwrap_or_else(|| panic!("{id} never became visible"));
            visible.saturating_duration_since(*at).as_secs_f64() * 1000.0
        })
        .collect();
    delays.sort_by(f64::total_cmp);
    (delays, acknowledged.len())
}

async fn run() {
    let webhooks = env_usize("WEFT_BENCH_WEBHOOKS", 20_000);
    let clients = env_usize("WEFT_BENCH_CLIENTS", 64);
    let rate = env_usize("WEFT_BENCH_RATE", 200);
    let seconds = env_usize("WEFT_BENCH_SECONDS", 60);
    // SAFETY: set before any other thread of this process reads the environment.
    #[allow(unsafe_code, reason = "the bench's one secret, set before the runtime starts")]
    unsafe {
        std::env::set_var("WEFT_SECRET_SHOP_SIGNING", SECRET)
    };
    let runtime = Arc::new(
        Runtime::new(RuntimeConfig {
            cache_dir: Some(std::env::temp_dir().join("weft-bench-cache")),
            models_dir: std::env::var_os("WEFT_MODELS").map(PathBuf::from),
            ..RuntimeConfig::default()
        })
        .expect("a runtime"),
    );
    let dir = tempfile::tempdir().expect("a temporary folder");
    println!(
        "weft serve benchmark: SQLite, {} cores, {clients} concurrent clients in this process",
        std::thread::available_parallelism().map_or(0, |n| n.get())
    );

    let server = Server::start(&runtime, dir.path(), "intake", false).await;
    let (per_second, latencies) = flood(&server, "intake", webhooks, clients).await;
    println!(
        "  intake, HTTP server alone: {per_second:.0} signed webhooks/s accepted ({webhooks}, verified and kept; answer p50 {:.1} ms, p99 {:.1} ms)",
        percentile(&latencies, 50.0),
        percentile(&latencies, 99.0)
    );
    server.stop().await;

    let server = Server::start(&runtime, dir.path(), "busy", true).await;
    let start = Instant::now();
    let (per_second, latencies) = flood(&server, "busy", webhooks, clients).await;
    let accepted = start.elapsed();
    loop {
        let stats = server.live.store().queue_stats().await.expect("queue stats");
        if stats.unparsed_webhooks == 0 && stats.pending_events == 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let processed = start.elapsed();
    println!(
        "  intake, live loop processing: {per_second:.0} signed webhooks/s accepted (answer p50 {:.1} ms, p99 {:.1} ms); all {webhooks} processed after {:.1} s ({:.0} messages/s; accepting took {:.1} s)",
        percentile(&latencies, 50.0),
        percentile(&latencies, 99.0),
        processed.as_secs_f64(),
        webhooks as f64 / processed.as_secs_f64(),
        accepted.as_secs_f64()
    );
    server.stop().await;

    let server = Server::start(&runtime, dir.path(), "steady", true).await;
    let (delays, acknowledged) = visibility(&server, rate, seconds).await;
    println!(
        "  2xx to ticket listed by GET /api/v1/tickets (polled every {} ms), {rate} new tickets/s for {seconds} s ({acknowledged} messages): p50 {:.1} ms, p99 {:.1} ms, max {:.1} ms",
        POLL.as_millis(),
        percentile(&delays, 50.0),
        percentile(&delays, 99.0),
        delays.last().copied().unwrap_or(f64::NAN)
    );
    server.stop().await;
    if let Some(peak) = weft_test_support::peak_rss_mib() {
        println!("  peak memory (VmHWM): {peak:.0} MiB");
    }
}

fn main() {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("a tokio runtime")
        .block_on(run());
}
