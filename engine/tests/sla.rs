//! SLA clocks end to end, through the shipped workflows and real plugins, on SQLite and
//! PostgreSQL: an automatic reply does not meet a deadline, an agent's reply does, "no response
//! needed" stops it; and deadlines are durable timers: stop the engine, let a deadline pass,
//! start a new engine on the same database, and the warnings and the breach fire once, at
//! start, and the escalation workflow acts on them; a second start fires nothing.
//!
//! Clocks over a conversation: a buyer who writes again before anyone answered starts no new
//! clock, a reply the channel saw go out meets the response deadlines, the next buyer message
//! starts next-response, and `waiting-on-buyer` pauses the business-hours resolution clock,
//! which resumes (moved by exactly the paused business time) when the buyer writes or an agent
//! reopens the ticket. Expected times are worked out by hand from the Berlin calendar of
//! `workflows/inbound.yaml` in the comments, not by the calendar code.
//!
//! Time never passes in these tests: every drain says which "now" its timers fire by.

mod common;

use std::path::Path;
use std::sync::Arc;
use weft::exec::clocks::{self, Reply, Status};
use weft::exec::{self, DrainOptions, Pipeline};
use weft::runtime::{Runtime, RuntimeConfig};
use weft::store::Store;

/// This worktree's root (the engine crate's parent), for the shipped workflows.
fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap()
}

/// A whole engine: a fresh runtime, the shipped workflows, the store. Dropping it drops all.
struct Engine {
    store: Store,
    pipeline: Pipeline,
}

async fn start(url: &str) -> Engine {
    let runtime = Runtime::new(RuntimeConfig {
        cache_dir: Some(std::env::temp_dir().join("weft-test-cache")),
        ..RuntimeConfig::default()
    })
    .unwrap();
    let pipeline = Pipeline::load(
        Arc::new(runtime),
        weft_test_support::plugins_dir(),
        &[root().join("workflows")],
    )
    .await
    .unwrap();
    Engine {
        store: Store::open(url).await.unwrap(),
        pipeline,
    }
}

fn ms(rfc3339: &str) -> i64 {
    rfc3339.parse::<jiff::Timestamp>().unwrap().as_millisecond()
}

async fn drain(engine: &Engine, now: &str) -> exec::DrainReport {
    let options = DrainOptions {
        timers_until: Some(ms(now)),
        ..DrainOptions::default()
    };
    let report = exec::drain(&engine.store, &engine.pipeline, &options).await.unwrap();
    assert!(report.dead.is_empty(), "{:#?}", report.dead);
    report
}

/// Three Amazon buyers write on Friday 2026-11-20 at 08:00 UTC: each message opens a ticket
/// with `amazon-24h` (24/7, due Saturday 08:00 UTC, warnings 4 h and 1 h before) and
/// `team-hours` (Berlin business hours: 09:00 Berlin on a Friday, so due Monday 10:00 Berlin)
/// deadlines.
fn traffic(dir: &Path) -> std::path::PathBuf {
    let lines = [
        (
            "amz-a",
            "thread-a",
            "A1AAAA",
            "Jürgen Groß",
            "Wo ist mein Paket? Bestellung 302-0000001-0000001",
        ),
        (
            "amz-b",
            "thread-b",
            "B2BBBB",
            "Élodie Dupré",
            "Où est mon colis ? Commande 302-0000002-0000002",
        ),
        (
            "amz-c",
            "thread-c",
            "C3CCCC",
            "山田 花子",
            "ありがとうございました。注文 302-0000003-0000003",
        ),
    ];
    let text: Vec<String> = lines
        .iter()
        .map(|(id, thread, buyer, name, body)| {
            serde_json::json!({
                "channel": "amazon", "id": id, "thread": thread, "at": "2026-11-20T08:00:00Z",
                "marketplace": "amazon", "from": { "name": name, "buyer_id": buyer }, "body": body,
            })
            .to_string()
        })
        .collect();
    let path = dir.join("amazon.jsonl");
    std::fs::write(&path, text.join("\n")).unwrap();
    path
}

fn reply(id: &str, thread: &str, at: &str, automatic: bool) -> Reply {
    let mut message = weft_sdk::Message::new("amazon", id, ms(at));
    message.thread = Some(thread.to_owned());
    message.body = "Vielen Dank, wir kümmern uns darum. / Merci, nous nous en occupons.".into();
    Reply {
        message,
        automatic,
        ticket: None,
    }
}

/// The exported ticket whose first message has this id.
async fn ticket(store: &Store, message: &str) -> serde_json::Value {
    store
        .export_tickets()
        .await
        .unwrap()
        .into_iter()
        .find(|t| t["messages"][0] == message)
        .unwrap_or_else(|| panic!("no ticket starts with {message}"))
}

fn deadline_state(ticket: &serde_json::Value, kind: &str, policy: &str) -> String {
    ticket["deadlines"]
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["kind"] == kind && d["policy"] == policy)
        .unwrap_or_else(|| panic!("no {kind} ({policy}) deadline on {ticket}"))["state"]
        .as_str()
        .unwrap()
        .to_owned()
}

async fn run_scenario(url: &str) {
    let dir = tempfile::tempdir().unwrap();
    let engine = start(url).await;
    exec::ingest_paths(&engine.store, None, &engine.pipeline, &[traffic(dir.path())])
        .await
        .unwrap();
    let first = drain(&engine, "2026-11-20T08:00:00Z").await;
    assert_eq!(first.timers, 0, "nothing is due yet");

    // Automatic acknowledgements to A and B: no clock stops.
    for (id, thread) in [("ack-a", "thread-a"), ("ack-b", "thread-b")] {
        assert!(
            clocks::record_reply(&engine.store, &reply(id, thread, "2026-11-20T08:01:00Z", true))
                .await
                .unwrap()
                .is_some()
        );
    }
    drain(&engine, "2026-11-20T08:02:00Z").await;
    let a = ticket(&engine.store, "amz-a").await;
    assert_eq!(deadline_state(&a, "first-response", "amazon-24h"), "pending");
    assert_eq!(deadline_state(&a, "first-response", "team-hours"), "pending");
    assert!(a["messages"].as_array().unwrap().iter().any(|m| m == "ack-a"), "{a}");

    // An agent answers A; C needs no answer.
    clocks::record_reply(
        &engine.store,
        &reply("agent-a", "thread-a", "2026-11-20T09:30:00Z", false),
    )
    .await
    .unwrap();
    let c_number = ticket(&engine.store, "amz-c").await["ticket"].as_i64().unwrap();
    let stopped = clocks::set_status(
        &engine.store,
        c_number,
        Status::NoResponseNeeded,
        ms("2026-11-20T09:40:00Z"),
    )
    .await
    .unwrap();
    assert_eq!(
        stopped.stopped.len(),
        2,
        "both first-response clocks of C stop: {stopped:?}"
    );
    // The same reply again is recognized and changes nothing.
    assert!(
        clocks::record_reply(
            &engine.store,
            &reply("agent-a", "thread-a", "2026-11-20T09:30:00Z", false)
        )
        .await
        .unwrap()
        .is_none()
    );
    drain(&engine, "2026-11-20T10:00:00Z").await;
    let a = ticket(&engine.store, "amz-a").await;
    assert_eq!(deadline_state(&a, "first-response", "amazon-24h"), "met");
    assert_eq!(deadline_state(&a, "first-response", "team-hours"), "met");
    assert_eq!(
        deadline_state(&a, "resolution", "team-hours"),
        "pending",
        "a reply does not resolve"
    );
    let c = ticket(&engine.store, "amz-c").await;
    assert_eq!(c["status"], "no-response-needed");
    assert_eq!(deadline_state(&c, "first-response", "amazon-24h"), "met");

    // The engine stops, all of it.
    drop(engine);

    // Saturday 09:00 UTC: B's amazon warnings (04:00, 07:00) and breach (08:00) have passed.
    let engine = start(url).await;
    let restarted = drain(&engine, "2026-11-21T09:00:00Z").await;
    // B: amazon-24h warnings at 04:00 and 07:00 and its breach at 08:00 UTC Saturday; the
    // team-hours warning (2 business hours before Monday 10:00 Berlin) at Friday 15:00 Berlin.
    assert_eq!(restarted.timers, 4, "three warnings and one breach, all for B");
    let b = ticket(&engine.store, "amz-b").await;
    assert_eq!(deadline_state(&b, "first-response", "amazon-24h"), "breached");
    assert_eq!(deadline_state(&b, "first-response", "team-hours"), "warned");
    assert_eq!(b["priority"], "urgent", "{b}");
    assert_eq!(b["assignee"], "marie");
    assert_eq!(b["team"], "leads");
    let a = ticket(&engine.store, "amz-a").await;
    assert_eq!(
        deadline_state(&a, "first-response", "amazon-24h"),
        "met",
        "met deadlines never breach"
    );
    let (cancelled, fired, _waiting) = engine.store.timer_counts().await.unwrap();
    assert_eq!(fired, 4);
    assert!(
        cancelled >= 6,
        "A's and C's first-response timers are cancelled: {cancelled}"
    );
    drop(engine);

    // Started again at the same moment: nothing fires twice.
    let engine = start(url).await;
    let again = drain(&engine, "2026-11-21T09:00:00Z").await;
    assert_eq!(again.timers, 0);
    assert_eq!(again.events, 0);

    // The report sees it all: A on time, B breached, C stopped.
    let rows = engine.store.sla_deadlines().await.unwrap();
    let report = weft::sla_report::build(
        &rows,
        ms("2026-11-21T09:00:00Z"),
        std::time::Duration::from_secs(4 * 3600),
    );
    let amazon = report
        .compliance
        .iter()
        .find(|c| c.channel == "amazon" && c.policy == "amazon-24h")
        .unwrap();
    assert_eq!(
        (amazon.on_time, amazon.breached, amazon.stopped),
        (1, 1, 1),
        "{amazon:?}"
    );
    let times = &report.first_response[0];
    assert_eq!(
        (times.channel.as_str(), times.answered, times.median_minutes),
        ("amazon", 1, 90.0)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn clocks_stop_on_replies_and_breaches_fire_once_across_restarts_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    run_scenario(&format!("sqlite://{}", dir.path().join("weft.db").display())).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn clocks_stop_on_replies_and_breaches_fire_once_across_restarts_postgres() {
    let Some(url) = common::postgres_database("sla_restart").await else {
        return;
    };
    run_scenario(&url).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reply_to_no_known_ticket_is_a_dead_letter() {
    let dir = tempfile::tempdir().unwrap();
    let engine = start(&format!("sqlite://{}", dir.path().join("weft.db").display())).await;
    clocks::record_reply(
        &engine.store,
        &reply("lost", "thread-nowhere", "2026-11-20T09:00:00Z", false),
    )
    .await
    .unwrap();
    let options = DrainOptions {
        timers_until: Some(ms("2026-11-20T09:00:00Z")),
        ..DrainOptions::default()
    };
    let report = exec::drain(&engine.store, &engine.pipeline, &options).await.unwrap();
    assert_eq!(report.dead.len(), 1);
    assert!(
        report.dead[0].1.contains("reply `lost` on amazon matches no ticket"),
        "{}",
        report.dead[0].1
    );
    // Replayed while it still matches no ticket: the same dead letter, open again with a
    // second attempt, not a second row.
    for letter in engine.store.dead_letters(true).await.unwrap() {
        engine.store.requeue_dead_letter(&letter).await.unwrap();
    }
    let report = exec::drain(&engine.store, &engine.pipeline, &options).await.unwrap();
    assert_eq!(report.dead.len(), 1, "it failed again, and says so");
    let letters = engine.store.dead_letters(false).await.unwrap();
    assert_eq!(letters.len(), 1, "{letters:#?}");
    assert_eq!((letters[0].attempts, letters[0].replayed_at), (2, None), "{letters:#?}");
    let error = clocks::set_status(&engine.store, 99, Status::Solved, 0)
        .await
        .unwrap_err();
    assert_eq!(error.to_string(), "ticket 99 does not exist");
}

/// Feeds JSON lines through the json channel, as a file named `name`, and drains at `now`.
async fn say(engine: &Engine, dir: &Path, name: &str, lines: &[serde_json::Value], now: &str) {
    let path = dir.join(format!("{name}.jsonl"));
    let text: Vec<String> = lines.iter().map(|l| l.to_string()).collect();
    std::fs::write(&path, text.join("\n")).unwrap();
    exec::ingest_paths(&engine.store, None, &engine.pipeline, &[path])
        .await
        .unwrap();
    drain(engine, now).await;
}

fn deadline(ticket: &serde_json::Value, kind: &str, policy: &str) -> Option<serde_json::Value> {
    ticket["deadlines"]
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["kind"] == kind && d["policy"] == policy)
        .cloned()
}

fn buyer(id: &str, at: &str, body: &str) -> serde_json::Value {
    serde_json::json!({
        "channel": "amazon", "id": id, "thread": "t-lea", "at": at, "marketplace": "amazon",
        "from": { "name": "Léa Martínez", "buyer_id": "A9LEA" }, "body": body,
    })
}

fn seller(id: &str, at: &str, automatic: bool) -> serde_json::Value {
    serde_json::json!({
        "channel": "amazon", "id": id, "thread": "t-lea", "at": at, "marketplace": "amazon",
        "direction": "outbound", "automatic": automatic,
        "body": "Hola Léa, su pedido sale hoy. / Ihre Bestellung geht heute raus.",
    })
}

async fn run_conversation(url: &str) {
    let dir = tempfile::tempdir().unwrap();
    let engine = start(url).await;
    // Monday 2026-11-23 08:00 UTC = 09:00 Berlin, when the team opens. team-hours first
    // response: 8 business hours = 09:00-12:30 and 13:30-18:00, due 18:00 Berlin = 17:00 UTC.
    say(
        &engine,
        dir.path(),
        "1",
        &[buyer("lea-1", "2026-11-23T08:00:00Z", "¿Dónde está mi pedido?")],
        "2026-11-23T08:00:00Z",
    )
    .await;
    // She writes again before anyone answered: the running clocks cover it.
    say(
        &engine,
        dir.path(),
        "2",
        &[buyer("lea-2", "2026-11-23T08:30:00Z", "¿Hola? ¿Alguien?")],
        "2026-11-23T08:30:00Z",
    )
    .await;
    let t = ticket(&engine.store, "lea-1").await;
    assert_eq!(t["messages"].as_array().unwrap().len(), 2, "{t}");
    assert_eq!(
        deadline(&t, "first-response", "team-hours").unwrap()["due"],
        "2026-11-23T17:00:00Z"
    );
    assert_eq!(
        deadline(&t, "first-response", "amazon-24h").unwrap()["due"],
        "2026-11-24T08:00:00Z"
    );
    assert!(
        deadline(&t, "next-response", "amazon-24h").is_none(),
        "no new clock before an answer: {t}"
    );

    // The seller's answer, seen by the channel going out, meets both first-response clocks.
    say(
        &engine,
        dir.path(),
        "3",
        &[seller("seller-1", "2026-11-23T09:00:00Z", false)],
        "2026-11-23T09:00:00Z",
    )
    .await;
    let t = ticket(&engine.store, "lea-1").await;
    assert_eq!(deadline_state(&t, "first-response", "amazon-24h"), "met");
    assert_eq!(deadline_state(&t, "first-response", "team-hours"), "met");

    // Her next message at 10:00 UTC (11:00 Berlin) starts next-response: 24 h on Amazon's
    // clock; 8 business hours = 11:00-12:30, 13:30-18:00 (6 h) + Tuesday 09:00-11:00 Berlin.
    say(
        &engine,
        dir.path(),
        "4",
        &[buyer(
            "lea-3",
            "2026-11-23T10:00:00Z",
            "Gracias, ¿y el número de seguimiento?",
        )],
        "2026-11-23T10:00:00Z",
    )
    .await;
    // An automatic acknowledgement stops nothing.
    say(
        &engine,
        dir.path(),
        "5",
        &[seller("seller-auto", "2026-11-23T10:01:00Z", true)],
        "2026-11-23T10:01:00Z",
    )
    .await;
    let t = ticket(&engine.store, "lea-1").await;
    let next = deadline(&t, "next-response", "amazon-24h").unwrap();
    assert_eq!(
        (next["due"].as_str(), next["state"].as_str()),
        (Some("2026-11-24T10:00:00Z"), Some("pending"))
    );
    let next = deadline(&t, "next-response", "team-hours").unwrap();
    assert_eq!(
        (next["due"].as_str(), next["state"].as_str()),
        (Some("2026-11-24T10:00:00Z"), Some("pending"))
    );

    // The agent asks her something at 14:00 UTC (15:00 Berlin): waiting-on-buyer stops the
    // response clocks and pauses team-hours resolution (pause_on), after 3.5 + 1.5 = 5 of its
    // 72 business hours. Unpaused it was due Friday 2026-12-04 10:00 Berlin (39 h a week).
    let number = t["ticket"].as_i64().unwrap();
    assert_eq!(
        deadline(&t, "resolution", "team-hours").unwrap()["due"],
        "2026-12-04T09:00:00Z"
    );
    let effect = clocks::set_status(
        &engine.store,
        number,
        Status::WaitingOnBuyer,
        ms("2026-11-23T14:00:00Z"),
    )
    .await
    .unwrap();
    assert_eq!(effect.paused.len(), 1, "{effect:?}");
    assert_eq!(effect.stopped.len(), 2, "both next-response clocks: {effect:?}");
    drain(&engine, "2026-11-23T14:00:00Z").await;
    let t = ticket(&engine.store, "lea-1").await;
    let resolution = deadline(&t, "resolution", "team-hours").unwrap();
    assert_eq!(resolution["paused_since"], "2026-11-23T14:00:00Z", "{resolution}");

    // Paused, the resolution warning (Friday 08:00 Berlin) does not fire.
    drain(&engine, "2026-11-25T08:59:00Z").await;

    // She answers on Wednesday 2026-11-25 09:00 UTC (10:00 Berlin): the ticket reopens and the
    // 67 hours left count from there: Wed 7, Thu 8, Fri 7, Mon-Thu 32, Fri 7 = 61, then
    // Monday 2026-12-07 09:00-12:30 and 13:30-16:00 Berlin: due 16:00 Berlin = 15:00 UTC.
    say(
        &engine,
        dir.path(),
        "6",
        &[buyer("lea-4", "2026-11-25T09:00:00Z", "Sí, la dirección es correcta.")],
        "2026-11-25T09:00:00Z",
    )
    .await;
    let t = ticket(&engine.store, "lea-1").await;
    assert_eq!(t["status"], "open");
    let resolution = deadline(&t, "resolution", "team-hours").unwrap();
    assert_eq!(resolution["due"], "2026-12-07T15:00:00Z", "{t}");
    assert!(resolution.get("paused_since").is_none(), "{resolution}");
    assert_eq!(resolution["state"], "pending");
    assert_eq!(deadline(&t, "next-response", "team-hours").unwrap()["state"], "pending");
    let explained = weft::explain::ticket(&engine.store, number).await.unwrap();
    assert!(
        explained.contains("resolution resumed under policy \"team-hours\""),
        "{explained}"
    );

    // A second pause, ended by an agent: waiting-on-buyer on Thursday 2026-11-26 08:00 UTC
    // (09:00 Berlin), after Wednesday's 7 business hours: 60 left. Reopened on Friday
    // 2026-11-27 08:00 UTC (09:00 Berlin): Fri 7, Mon-Thu 32, Fri 7, Mon 8 = 54, then Tuesday
    // 2026-12-08 09:00-12:30 and 13:30-16:00 Berlin: due 16:00 Berlin = 15:00 UTC.
    drain(&engine, "2026-11-26T07:59:00Z").await;
    clocks::set_status(
        &engine.store,
        number,
        Status::WaitingOnBuyer,
        ms("2026-11-26T08:00:00Z"),
    )
    .await
    .unwrap();
    drain(&engine, "2026-11-26T08:00:00Z").await;
    clocks::set_status(&engine.store, number, Status::Open, ms("2026-11-27T08:00:00Z"))
        .await
        .unwrap();
    drain(&engine, "2026-11-27T08:00:00Z").await;
    let t = ticket(&engine.store, "lea-1").await;
    assert_eq!(
        deadline(&t, "resolution", "team-hours").unwrap()["due"],
        "2026-12-08T15:00:00Z",
        "{t}"
    );

    // The 2 h warning fires once, two business hours before the moved deadline: 14:00 Berlin.
    let before = drain(&engine, "2026-12-08T12:59:00Z").await;
    assert_eq!(before.timers, 0, "{before:?}");
    let at = drain(&engine, "2026-12-08T13:00:00Z").await;
    assert_eq!(at.timers, 1, "{at:?}");
    let t = ticket(&engine.store, "lea-1").await;
    assert_eq!(deadline_state(&t, "resolution", "team-hours"), "warned");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replies_next_response_and_paused_clocks_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    run_conversation(&format!("sqlite://{}", dir.path().join("weft.db").display())).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replies_next_response_and_paused_clocks_postgres() {
    let Some(url) = common::postgres_database("sla_pause").await else {
        return;
    };
    run_conversation(&url).await;
}
