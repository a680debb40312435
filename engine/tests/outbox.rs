//! The outbox against a real receiver: a local HTTP server on `127.0.0.1:0` speaking the json
//! channel's delivery format (signed JSON in, status and `Retry-After` out), the real json
//! plugin through the real runtime, the shipped workflows, and a real store (SQLite, and
//! PostgreSQL when `WEFT_TEST_POSTGRES` is set). Backoffs are short; nothing here times speed.
//!
//! The channel's secret comes from the environment (`WEFT_SECRET_HELPDESK_SIGNING`), which a
//! threaded test process must not write: each test runs itself again in a child process that
//! has it.

mod common;

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use hmac::Mac;
use std::collections::VecDeque;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use weft::exec::outbox::Outcome;
use weft::exec::{Live, LiveOptions, Pipeline, Sender, SenderOptions};
use weft::metrics::Metrics;
use weft::runtime::{Runtime, RuntimeConfig};
use weft::store::Store;
use weft::store::outbox::{NewOutbound, OutboxState};
use weft_sdk::Inbound;

const SECRET: &str = "geheim-秘密-سر-clé";
const SECRET_VAR: &str = "WEFT_SECRET_HELPDESK_SIGNING";
/// How long a poll waits for something the sender does.
const PATIENCE: Duration = Duration::from_secs(60);

/// Runs `test` in a child process with the channel's secret in its environment, unless this
/// is that child. Returns true in the child (go on), false in the parent (done).
fn in_child_with_secret(test: &str) -> bool {
    if std::env::var(SECRET_VAR).as_deref() == Ok(SECRET) {
        return true;
    }
    let output = std::process::Command::new(std::env::current_exe().expect("test binary"))
        .args(["--exact", test, "--nocapture", "--test-threads=1"])
        .env(SECRET_VAR, SECRET)
        .output()
        .expect("run the test binary");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(stdout.contains("1 passed"), "{stdout}");
    false
}

fn sign(body: &[u8]) -> String {
    let mut mac = hmac::Hmac::<sha2::Sha256>::new_from_slice(SECRET.as_bytes()).unwrap();
    mac.update(body);
    format!("sha256={}", hex::encode(mac.finalize().into_bytes()))
}

/// One request the receiver got.
#[derive(Debug, Clone)]
struct Received {
    key: String,
    at: Instant,
    signed: bool,
    body: serde_json::Value,
    status: u16,
}

/// The receiver's script and memory.
#[derive(Default)]
struct ReceiverState {
    /// Answers to give, in order (status, `Retry-After`, body); then 200 with an id.
    script: VecDeque<(u16, Option<&'static str>, String)>,
    requests: Vec<Received>,
    /// Keys it accepted, in order, each once: what the integrator's system delivered.
    delivered: Vec<String>,
    /// A key whose request is held open until `release` is notified.
    hold: Option<String>,
}

#[derive(Clone, Default)]
struct Receiver {
    state: Arc<Mutex<ReceiverState>>,
    /// Notified when the held request has arrived.
    arrived: Arc<tokio::sync::Notify>,
    /// Lets the held request be answered.
    release: Arc<tokio::sync::Notify>,
}

impl Receiver {
    fn requests(&self) -> Vec<Received> {
        self.state.lock().unwrap().requests.clone()
    }

    fn delivered(&self) -> Vec<String> {
        self.state.lock().unwrap().delivered.clone()
    }

    fn script(&self, answers: impl IntoIterator<Item = (u16, Option<&'static str>, &'static str)>) {
        let mut state = self.state.lock().unwrap();
        state.script = answers.into_iter().map(|(s, r, b)| (s, r, b.to_owned())).collect();
    }
}

/// `POST /replies`, as an integrator's system would answer it: checks the signature, dedupes
/// by `Idempotency-Key`, answers what its script says.
async fn replies(
    State(receiver): State<Receiver>,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> axum::response::Response {
    let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok()).map(str::to_owned);
    let key = header("idempotency-key").unwrap_or_default();
    let signed = header("x-weft-signature").as_deref() == Some(sign(&body).as_str());
    let parsed: serde_json::Value = serde_json::from_slice(&body).unwrap_or(serde_json::Value::Null);
    // Taken (or refused) as it arrives; a held request is answered only later, as when the
    // receiver processed it and its answer was lost.
    let (status, retry_after, text, held) = {
        let mut state = receiver.state.lock().unwrap();
        let answer = if !signed {
            (401, None, r#"{"error":"bad signature"}"#.to_owned())
        } else {
            state.script.pop_front().unwrap_or_else(|| {
                let n = state.delivered.len() + 1;
                (200, None, format!(r#"{{"id":"hd-{n}"}}"#))
            })
        };
        if (200..300).contains(&answer.0) && !state.delivered.contains(&key) {
            state.delivered.push(key.clone());
        }
        let held = state.hold.as_deref() == Some(key.as_str());
        state.requests.push(Received {
            key,
            at: Instant::now(),
            signed,
            body: parsed,
            status: answer.0,
        });
        (answer.0, answer.1, answer.2, held)
    };
    if held {
        receiver.arrived.notify_one();
        receiver.release.notified().await;
    }
    let mut response = axum::response::Response::new(axum::body::Body::from(text));
    *response.status_mut() = StatusCode::from_u16(status).unwrap();
    if let Some(value) = retry_after {
        response.headers_mut().insert("retry-after", value.parse().unwrap());
    }
    response
}

/// Starts the receiver on `127.0.0.1:0`; returns it and its port.
async fn receiver() -> (Receiver, u16) {
    let receiver = Receiver::default();
    let app = axum::Router::new()
        .route("/replies", axum::routing::post(replies))
        .with_state(receiver.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (receiver, port)
}

fn channels_file(dir: &Path, port: u16) -> PathBuf {
    let path = dir.join("channels.yaml");
    std::fs::write(
        &path,
        format!(
            "version: 1
channels:
  - id: helpdesk
    uses: json
    with:
      default_channel: chat
      signature_secret: helpdesk_signing
      deliver_url: http://127.0.0.1:{port}/replies
    allow: {{ http: [127.0.0.1], secrets: [helpdesk_signing] }}
"
        ),
    )
    .unwrap();
    path
}

async fn live(db: &str, channels: &Path) -> Arc<Live> {
    let runtime = Runtime::new(RuntimeConfig {
        cache_dir: Some(std::env::temp_dir().join("weft-test-cache")),
        ..RuntimeConfig::default()
    })
    .unwrap();
    let root = weft_test_support::workspace_root();
    let mut pipeline = Pipeline::load(
        Arc::new(runtime),
        weft_test_support::plugins_dir(),
        &[root.join("workflows")],
    )
    .await
    .unwrap();
    pipeline.mount_channels_checked(channels).await.unwrap();
    let store = Store::open(db).await.unwrap();
    Arc::new(Live::new(
        store,
        Arc::new(pipeline),
        Arc::new(Metrics::default()),
        LiveOptions::default(),
    ))
}

fn quick() -> SenderOptions {
    SenderOptions {
        backoff_base: Duration::from_millis(20),
        backoff_cap: Duration::from_millis(100),
        max_attempts: 5,
        ..SenderOptions::default()
    }
}

/// A buyer's chat message through the hook, processed by the shipped workflows: the number of
/// the ticket it opened.
async fn buyer_writes(live: &Live, id: &str, body: &str) -> i64 {
    let line = serde_json::json!({
        "id": id, "at": jiff::Timestamp::now().to_string(), "thread": format!("conv-{id}"),
        "from": { "name": "Léa Dubois", "email": "lea@example.fr" }, "body": body, "lang": "fr",
    })
    .to_string();
    let inbound = Inbound {
        source: "/hooks/helpdesk".into(),
        hook: Some("helpdesk".into()),
        received_at: jiff::Timestamp::now().as_millisecond(),
        content_type: Some("application/x-ndjson".into()),
        headers: vec![("X-Weft-Signature".into(), sign(line.as_bytes()))],
        body: line.into_bytes(),
    };
    live.receive("helpdesk", inbound).await.unwrap();
    live.round().await.unwrap();
    let tickets = live.store().export_tickets().await.unwrap();
    tickets
        .iter()
        .find(|t| t["messages"].as_array().unwrap().iter().any(|m| m == id))
        .and_then(|t| t["ticket"].as_i64())
        .unwrap_or_else(|| panic!("message {id} is on no ticket: {tickets:#?}"))
}

/// Queues an agent's reply on `ticket` (channel `chat`: the sender finds the hook it came by).
async fn queue_reply(store: &Store, key: &str, ticket: i64, body: &str) {
    let mut unit = store.unit().await.unwrap();
    let queued = unit
        .queue_outbound(&NewOutbound {
            key,
            channel: "chat",
            recipient: "lea@example.fr",
            ticket: Some(ticket),
            body,
            lang: Some("fr"),
            ..Default::default()
        })
        .await
        .unwrap();
    assert!(queued);
    unit.commit().await.unwrap();
}

/// Runs sender rounds until `key` leaves `pending` and `sending` (waiting between rounds for
/// its next try), collecting what each round did.
async fn until_settled(sender: &Arc<Sender>, store: &Store, key: &str) -> Vec<(String, Outcome)> {
    let start = Instant::now();
    let mut outcomes = Vec::new();
    loop {
        outcomes.extend(sender.round().await.unwrap());
        let row = store.outbound_by_key(key).await.unwrap().unwrap();
        if !matches!(row.state, OutboxState::Pending | OutboxState::Sending) {
            return outcomes;
        }
        assert!(start.elapsed() < PATIENCE, "{key} still {:?}: {row:?}", row.state);
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
}

/// Runs the `weft` binary: whether it succeeded, and its stdout and stderr.
fn weft(args: &[&str]) -> (bool, String) {
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_weft"))
        .args(args)
        .output()
        .expect("run weft");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    (output.status.success(), text)
}

fn metric(text: &str, series: &str) -> f64 {
    text.lines()
        .find_map(|l| l.strip_prefix(series).and_then(|rest| rest.strip_prefix(' ')))
        .map_or(0.0, |v| v.trim().parse().unwrap())
}

async fn fails_then_rate_limits_then_delivers_once(db: &str, dir: &Path) {
    let (receiver, port) = receiver().await;
    let live = live(db, &channels_file(dir, port)).await;
    let store = live.store().clone();
    let ticket = buyer_writes(&live, "chat-1", "Bonjour, où est mon colis ? 我的包裹在哪里？").await;
    let deadlines = store.ticket_json(ticket).await.unwrap().unwrap()["deadlines"].clone();
    assert!(
        deadlines
            .as_array()
            .unwrap()
            .iter()
            .any(|d| d["kind"] == "first-response" && d["state"] == "pending"),
        "{deadlines:#}"
    );

    receiver.script([
        (500, None, "upstream exploded"),
        (429, Some("1"), r#"{"error":"too many requests"}"#),
    ]);
    let text = "Bonjour Léa, votre colis arrive demain. 明日到着します。";
    queue_reply(&store, "ticket-reply-1", ticket, text).await;
    let sender = Sender::new(Arc::clone(&live), quick());
    let outcomes = until_settled(&sender, &store, "ticket-reply-1").await;
    let results: Vec<Outcome> = outcomes.iter().map(|(_, o)| *o).collect();
    assert_eq!(results, [Outcome::Retried, Outcome::Retried, Outcome::Delivered]);

    // Three calls for the one key, each signed; the receiver delivered it once.
    let requests = receiver.requests();
    assert_eq!(
        requests
            .iter()
            .map(|r| (r.key.as_str(), r.status, r.signed))
            .collect::<Vec<_>>(),
        [
            ("ticket-reply-1", 500, true),
            ("ticket-reply-1", 429, true),
            ("ticket-reply-1", 200, true)
        ]
    );
    assert_eq!(receiver.delivered(), ["ticket-reply-1"]);
    assert_eq!(requests[2].body["body"], text);
    assert_eq!(requests[2].body["to"], "lea@example.fr");
    assert_eq!(requests[2].body["thread"], "conv-chat-1");
    // Retry-After: 1 was honored (a lower bound, not a speed).
    assert!(requests[2].at - requests[1].at >= Duration::from_secs(1));

    let row = store.outbound_by_key("ticket-reply-1").await.unwrap().unwrap();
    assert_eq!(row.state, OutboxState::Delivered);
    assert_eq!(row.attempts, 3);
    assert_eq!(row.mount.as_deref(), Some("helpdesk"));
    assert_eq!(row.external_id.as_deref(), Some("hd-1"));

    // Nothing more goes out, however often the sender looks.
    assert!(sender.round().await.unwrap().is_empty());
    assert_eq!(receiver.requests().len(), 3);

    // The live loop takes the reply: on the timeline as outbound, the first response met.
    live.round().await.unwrap();
    let timeline = store.ticket_timeline(ticket).await.unwrap();
    let reply = timeline
        .iter()
        .find(|e| e.message.id == "ticket-reply-1")
        .expect("the reply is on the timeline");
    assert_eq!(reply.message.direction, weft_sdk::Direction::Outbound);
    assert_eq!(reply.message.body, text);
    let deadlines = store.ticket_json(ticket).await.unwrap().unwrap()["deadlines"].clone();
    let first = deadlines
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["kind"] == "first-response")
        .unwrap();
    assert_eq!(first["state"], "met", "{deadlines:#}");
    let decisions = store.ticket_decisions(ticket).await.unwrap();
    assert!(
        decisions.iter().any(|d| d.workflow == "outbox"
            && d.step == "helpdesk"
            && d.reason.starts_with("delivered through mount `helpdesk` at attempt 3")),
        "{decisions:#?}"
    );

    let metrics = live.metrics_text().await.unwrap();
    assert_eq!(
        metric(&metrics, r#"weft_outbox_deliveries_total{result="retried"}"#),
        2.0
    );
    assert_eq!(
        metric(&metrics, r#"weft_outbox_deliveries_total{result="delivered"}"#),
        1.0
    );
    assert_eq!(metric(&metrics, "weft_outbox_pending"), 0.0);
}

async fn refusals_are_recorded_with_their_reason(db: &str, dir: &Path) {
    let (receiver, port) = receiver().await;
    let live = live(db, &channels_file(dir, port)).await;
    let store = live.store().clone();
    let ticket = buyer_writes(&live, "chat-2", "¿Dónde está mi pedido?").await;
    let reason = "destinataire inconnu — 宛先が不明です";
    receiver.script([(
        422,
        None,
        r#"{"error":{"message":"destinataire inconnu — 宛先が不明です"}}"#,
    )]);
    queue_reply(&store, "ticket-reply-2", ticket, "Hola, su pedido está en camino.").await;
    let sender = Sender::new(Arc::clone(&live), quick());
    let outcomes = until_settled(&sender, &store, "ticket-reply-2").await;
    assert_eq!(outcomes, [("ticket-reply-2".to_owned(), Outcome::Failed)]);
    let row = store.outbound_by_key("ticket-reply-2").await.unwrap().unwrap();
    assert_eq!((row.state, row.attempts), (OutboxState::Failed, 1));
    assert_eq!(
        row.error.as_deref(),
        Some(format!("the receiver answered 422: {reason}").as_str())
    );
    assert!(receiver.delivered().is_empty());

    // On the ticket: in its explanation and its decision log; the clock still runs.
    let explained = weft::explain::ticket(&store, ticket).await.unwrap();
    assert!(
        explained.contains("ticket-reply-2 · failed · 1 attempt(s)"),
        "{explained}"
    );
    assert!(explained.contains(reason), "{explained}");
    let decisions = store.ticket_decisions(ticket).await.unwrap();
    assert!(
        decisions.iter().any(
            |d| d.workflow == "outbox" && d.reason == format!("not delivered: the receiver answered 422: {reason}")
        ),
        "{decisions:#?}"
    );
    live.round().await.unwrap();
    let deadlines = store.ticket_json(ticket).await.unwrap().unwrap()["deadlines"].clone();
    assert!(
        deadlines
            .as_array()
            .unwrap()
            .iter()
            .any(|d| d["kind"] == "first-response" && d["state"] == "pending"),
        "{deadlines:#}"
    );
    let metrics = live.metrics_text().await.unwrap();
    assert_eq!(metric(&metrics, "weft_outbox_failed"), 1.0);

    // A person lists what failed, fixes the receiver and sends it again with the command
    // line: delivered, once.
    let (ok, out) = weft(&["outbox", "list", "--state", "failed", "--db", db]);
    assert!(ok, "{out}");
    assert!(
        out.contains("ticket-reply-2 · failed · 1 attempt(s) · channel chat · mount helpdesk"),
        "{out}"
    );
    assert!(out.contains(reason), "{out}");
    let (ok, out) = weft(&["outbox", "retry", "ticket-reply-2", "--db", db]);
    assert!(ok, "{out}");
    assert!(out.contains("ticket-reply-2: was failed, queued again"), "{out}");
    let outcomes = until_settled(&sender, &store, "ticket-reply-2").await;
    assert_eq!(outcomes, [("ticket-reply-2".to_owned(), Outcome::Delivered)]);
    assert_eq!(receiver.delivered(), ["ticket-reply-2"]);
    // Delivered rows are not retried by hand, unknown keys neither: both said, exit 1.
    let (ok, out) = weft(&["outbox", "retry", "ticket-reply-2", "no-such-key", "--db", db]);
    assert!(!ok, "{out}");
    assert!(
        out.contains("ticket-reply-2: is delivered; only failed or uncertain messages are retried by hand"),
        "{out}"
    );
    assert!(out.contains("no-such-key: no outbox message has this key"), "{out}");
    assert!(sender.round().await.unwrap().is_empty());
    assert_eq!(store.retry_outbound("no-such-key").await.unwrap(), None);

    // Out of attempts: a receiver that keeps failing gets `max_attempts` calls, then the row
    // fails with the last error.
    receiver.script((0..10).map(|_| (503, None, "maintenance")));
    queue_reply(&store, "ticket-reply-3", ticket, "Hola otra vez.").await;
    let options = SenderOptions {
        max_attempts: 3,
        ..quick()
    };
    let sender = Sender::new(Arc::clone(&live), options);
    until_settled(&sender, &store, "ticket-reply-3").await;
    let row = store.outbound_by_key("ticket-reply-3").await.unwrap().unwrap();
    assert_eq!((row.state, row.attempts), (OutboxState::Failed, 3));
    assert_eq!(
        row.error.as_deref(),
        Some("gave up after 3 attempts; the last: the receiver answered 503: maintenance")
    );
    let calls = receiver.requests().iter().filter(|r| r.key == "ticket-reply-3").count();
    assert_eq!(calls, 3);
}

async fn a_restart_never_sends_a_key_twice(db: &str, dir: &Path) {
    let (receiver, port) = receiver().await;
    let channels = channels_file(dir, port);
    let live_before = live(db, &channels).await;
    let ticket = buyer_writes(&live_before, "chat-3", "Wo bleibt meine Bestellung?").await;
    let store = live_before.store().clone();
    queue_reply(&store, "held", ticket, "Ihre Bestellung ist unterwegs.").await;
    drop(store);
    receiver.state.lock().unwrap().hold = Some("held".into());

    // The sender calls for `held`; the receiver has it and has not answered when the sender is
    // killed (its task dropped) and the store closed.
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let task = tokio::spawn(Sender::new(Arc::clone(&live_before), quick()).run(stopped));
    tokio::time::timeout(PATIENCE, receiver.arrived.notified())
        .await
        .expect("the receiver got the held reply");
    task.abort();
    assert!(task.await.unwrap_err().is_cancelled());
    drop(stop);
    drop(live_before);
    // The receiver goes on and takes it: it was delivered, and weft cannot know.
    receiver.release.notify_one();

    // Reopened: a row claimed long ago by a node that is gone, one still claimed by a live
    // node elsewhere, and a new reply.
    let live = live(db, &channels).await;
    let store = live.store().clone();
    queue_reply(&store, "orphan", ticket, "Eine Antwort eines anderen Knotens.").await;
    let claimed = store.claim_outbound("gone-node/outbox-1:1", 1, 0).await.unwrap();
    assert_eq!(claimed.len(), 1);
    queue_reply(&store, "elsewhere", ticket, "Noch in Arbeit.").await;
    let claimed = store
        .claim_outbound("busy-node/outbox-1:1", 1, 3_600_000)
        .await
        .unwrap();
    assert_eq!(claimed[0].key, "elsewhere");
    queue_reply(&store, "after", ticket, "Und noch etwas: 追伸です。").await;
    tokio::time::sleep(Duration::from_millis(5)).await;

    let sender = Sender::new(Arc::clone(&live), quick());
    let mut outcomes = sender.round().await.unwrap();
    outcomes.sort();
    assert_eq!(
        outcomes,
        [
            ("after".to_owned(), Outcome::Delivered),
            ("held".to_owned(), Outcome::Uncertain),
            ("orphan".to_owned(), Outcome::Uncertain),
        ]
    );
    let state = |key: &'static str| {
        let store = store.clone();
        async move { store.outbound_by_key(key).await.unwrap().unwrap() }
    };
    let held = state("held").await;
    assert_eq!((held.state, held.attempts), (OutboxState::Uncertain, 1));
    assert!(
        held.error.as_deref().unwrap().contains("weft outbox retry held"),
        "{held:?}"
    );
    assert_eq!(state("elsewhere").await.state, OutboxState::Sending);

    // Rounds later, still: `held` went out once, `after` once, `orphan` never here.
    for _ in 0..3 {
        assert!(sender.round().await.unwrap().is_empty());
    }
    let sent: Vec<String> = receiver.requests().into_iter().map(|r| r.key).collect();
    assert_eq!(sent, ["held", "after"]);
    assert_eq!(receiver.delivered(), ["held", "after"]);
    let explained = weft::explain::ticket(&store, ticket).await.unwrap();
    assert!(explained.contains("held · uncertain · 1 attempt(s)"), "{explained}");
    let metrics = live.metrics_text().await.unwrap();
    assert_eq!(metric(&metrics, "weft_outbox_uncertain"), 2.0);
    assert_eq!(metric(&metrics, "weft_outbox_pending"), 1.0);

    // `weft serve`'s way: the sender runs beside the live loop and stops when asked, finishing
    // the call in flight.
    receiver.script([(200, None, r#"{"id":"late"}"#)]);
    queue_reply(&store, "on-shutdown", ticket, "Letzte Nachricht.").await;
    receiver.state.lock().unwrap().hold = Some("on-shutdown".into());
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let task = tokio::spawn(Sender::new(Arc::clone(&live), quick()).run(stopped));
    live.outbox_queued();
    tokio::time::timeout(PATIENCE, receiver.arrived.notified())
        .await
        .expect("the receiver got the last reply");
    stop.send(true).unwrap();
    receiver.release.notify_one();
    tokio::time::timeout(PATIENCE, task).await.unwrap().unwrap();
    let row = state("on-shutdown").await;
    assert_eq!(
        (row.state, row.external_id.as_deref()),
        (OutboxState::Delivered, Some("late"))
    );
}

fn sqlite(dir: &Path) -> String {
    format!("sqlite://{}", dir.join("weft.db").display())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn outbox_retries_then_delivers_once() {
    if !in_child_with_secret("outbox_retries_then_delivers_once") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    fails_then_rate_limits_then_delivers_once(&sqlite(dir.path()), dir.path()).await;
    if let Some(db) = common::postgres_database("outbox_retries").await {
        fails_then_rate_limits_then_delivers_once(&db, dir.path()).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn outbox_records_refusals() {
    if !in_child_with_secret("outbox_records_refusals") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    refusals_are_recorded_with_their_reason(&sqlite(dir.path()), dir.path()).await;
    if let Some(db) = common::postgres_database("outbox_refusals").await {
        refusals_are_recorded_with_their_reason(&db, dir.path()).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn outbox_restart_sends_no_key_twice() {
    if !in_child_with_secret("outbox_restart_sends_no_key_twice") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    a_restart_never_sends_a_key_twice(&sqlite(dir.path()), dir.path()).await;
    if let Some(db) = common::postgres_database("outbox_restart").await {
        a_restart_never_sends_a_key_twice(&db, dir.path()).await;
    }
}

/// `weft serve` itself: a workflow acknowledges every buyer message (`send-message`), and the
/// server delivers the acknowledgement to the receiver while it runs, once; an automatic
/// message goes on the timeline but meets no deadline. SIGTERM stops it cleanly.
async fn served(db: &str, dir: &Path) {
    let (receiver, port) = receiver().await;
    let channels = channels_file(dir, port);
    let ack = dir.join("ack.yaml");
    std::fs::write(
        &ack,
        "version: 1\nname: ack\non: [message.received]\nsteps:\n  - id: acknowledge\n    uses: weft-test-faulty\n    with: { fault: acknowledge }\n",
    )
    .unwrap();
    let root = weft_test_support::workspace_root();
    let log = dir.join("serve.log");
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_weft"))
        .args(["serve", "--listen", "127.0.0.1:0", "--db", db])
        .arg("--workflows")
        .arg(root.join("workflows"))
        .arg("--workflows")
        .arg(&ack)
        .arg("--channels")
        .arg(&channels)
        .arg("--plugins")
        .arg(weft_test_support::plugins_dir())
        .arg("--models")
        .arg(dir.join("no-models"))
        .env("WEFT_CACHE", std::env::temp_dir().join("weft-test-cache"))
        .env(SECRET_VAR, SECRET)
        .env("WEFT_LOG", "info")
        .stdout(std::process::Stdio::piped())
        .stderr(std::fs::File::create(&log).unwrap())
        .spawn()
        .expect("start weft serve");
    let mut stdout = std::io::BufReader::new(child.stdout.take().unwrap());
    let mut line = String::new();
    std::io::BufRead::read_line(&mut stdout, &mut line).unwrap();
    let base = line
        .trim()
        .strip_prefix("listening on ")
        .unwrap_or_else(|| panic!("{line:?}; log:\n{}", std::fs::read_to_string(&log).unwrap_or_default()))
        .to_owned();

    let body = serde_json::json!({
        "id": "web-1", "at": jiff::Timestamp::now().to_string(), "thread": "conv-web-1",
        "from": { "name": "Zoé Lefèvre", "email": "zoe@example.fr" }, "body": "Où est ma commande ?", "lang": "fr",
    })
    .to_string();
    let response = reqwest::Client::new()
        .post(format!("{base}/hooks/helpdesk"))
        .header("X-Weft-Signature", sign(body.as_bytes()))
        .body(body)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 202);
    let start = Instant::now();
    while receiver.delivered().is_empty() {
        assert!(
            start.elapsed() < PATIENCE,
            "nothing delivered; log:\n{}",
            std::fs::read_to_string(&log).unwrap_or_default()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    // Let the server look a few more times: still one delivery.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let status = std::process::Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let exit = child.wait().unwrap();
    let log = std::fs::read_to_string(&log).unwrap_or_default();
    assert!(exit.success(), "{exit}; log:\n{log}");
    assert!(log.contains("outbox sender stopped"), "{log}");
    assert_eq!(receiver.delivered(), ["ack:chat:web-1"]);
    let requests = receiver.requests();
    assert_eq!(requests.len(), 1);
    assert!(requests[0].signed);
    assert_eq!(requests[0].body["to"], "zoe@example.fr");
    assert_eq!(requests[0].body["thread"], "conv-web-1");

    let store = Store::open(db).await.unwrap();
    let row = store.outbound_by_key("ack:chat:web-1").await.unwrap().unwrap();
    assert_eq!((row.state, row.automatic), (OutboxState::Delivered, true));
    let ticket = row.ticket.expect("the acknowledgement is about the buyer's ticket");
    let timeline = store.ticket_timeline(ticket).await.unwrap();
    let ack = timeline
        .iter()
        .find(|e| e.message.id == "ack:chat:web-1")
        .unwrap_or_else(|| panic!("the acknowledgement is not on the timeline; log:\n{log}"));
    assert!(ack.message.automatic);
    // Automatic: the buyer still waits for a person's answer.
    let deadlines = store.ticket_json(ticket).await.unwrap().unwrap()["deadlines"].clone();
    assert!(
        deadlines
            .as_array()
            .unwrap()
            .iter()
            .any(|d| d["kind"] == "first-response" && d["state"] == "pending"),
        "{deadlines:#}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn outbox_of_weft_serve() {
    let dir = tempfile::tempdir().unwrap();
    served(&sqlite(dir.path()), dir.path()).await;
    if let Some(db) = common::postgres_database("outbox_serve").await {
        served(&db, dir.path()).await;
    }
}
