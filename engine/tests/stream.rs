//! The live stream and presence: the change log in commit order on both databases, the feed's
//! subscribers (resuming, falling behind), and `weft serve` as agents' clients use it — the
//! real binary on `127.0.0.1:0`, real plugins, SQLite and PostgreSQL, a real SSE client
//! (reqwest and `eventsource-stream`): a buyer's signed webhook, an API action, presence of
//! other agents, presence that expires, two nodes on one PostgreSQL database.

mod common;

use futures_util::StreamExt as _;
use hmac::Mac as _;
use serde_json::{Value, json};
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};
use weft::exec::{Change, Feed, FeedOptions, Published};
use weft::store::Store;
use weft::store::changes::Position;

/// How long a wait for something the server or the feed does in the background may take
/// before the test fails. Generous: this only bounds a hang, it measures nothing.
const PATIENCE: Duration = Duration::from_secs(120);

async fn sqlite(dir: &std::path::Path) -> String {
    format!("sqlite://{}", dir.join("weft.db").display())
}

/// Opens `n` tickets in one unit and commits; their numbers.
async fn open_tickets(store: &Store, subjects: &[&str]) -> Vec<i64> {
    let mut unit = store.unit().await.unwrap();
    let mut numbers = Vec::new();
    for subject in subjects {
        numbers.push(
            unit.open_ticket(None, Some(subject), None, 1_700_000_000_000)
                .await
                .unwrap(),
        );
    }
    unit.commit().await.unwrap();
    numbers
}

/// The ticket numbers of every change the store has after `after` that is final now.
async fn final_changes(store: &Store, after: Position) -> Vec<(Position, i64)> {
    let horizon = store.change_horizon().await.unwrap();
    let through = Position {
        txn: horizon - 1,
        id: i64::MAX,
    };
    store
        .changes(after, through, None, 1000)
        .await
        .unwrap()
        .into_iter()
        .map(|c| (c.position, c.ticket))
        .collect()
}

/// Two transactions, the first to write commits last: a reader never takes the second's
/// change before the first's is final, so reading on from where it stood loses neither.
/// (On PostgreSQL ids are drawn at write time: reading by id alone would pass the first by.)
async fn changes_are_read_in_commit_order(db: &str) {
    let store = Store::open(db).await.unwrap();
    let start = store.change_start().await.unwrap();
    let mut first = store.unit().await.unwrap();
    let early = first.open_ticket(None, Some("Rückerstattung"), None, 1).await.unwrap();
    if store.dialect() == weft::store::Dialect::Sqlite {
        // One writer at a time: the second transaction could only begin after the first.
        first.commit().await.unwrap();
        let late = open_tickets(&store, &["配送の遅れ"]).await[0];
        let seen: Vec<i64> = final_changes(&store, start).await.iter().map(|c| c.1).collect();
        assert_eq!(seen, [early, late]);
        return;
    }
    let late = open_tickets(&store, &["配送の遅れ"]).await[0];
    // The later transaction has committed, the earlier is still open: nothing is final past
    // the earlier one, so the later change waits.
    let seen = final_changes(&store, start).await;
    assert!(seen.iter().all(|c| c.1 != late && c.1 != early), "{seen:?}");
    first.commit().await.unwrap();
    // Final once every transaction that began before them has ended: those of other databases
    // on the same server too (transaction ids are the server's), so this may take a moment.
    let waiting = Instant::now();
    let seen = loop {
        let seen = final_changes(&store, start).await;
        if seen.len() >= 2 || waiting.elapsed() > PATIENCE {
            break seen;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    let tickets: Vec<i64> = seen.iter().map(|c| c.1).collect();
    assert_eq!(tickets, [early, late], "{seen:?}");
    assert!(seen[0].0 < seen[1].0);
}

#[tokio::test(flavor = "multi_thread")]
async fn changes_are_read_in_commit_order_on_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    changes_are_read_in_commit_order(&sqlite(dir.path()).await).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn changes_are_read_in_commit_order_on_postgres() {
    let Some(db) = common::postgres_database("stream_commit_order").await else {
        return;
    };
    changes_are_read_in_commit_order(&db).await;
}

/// A feed running over `store`, stopped when dropped.
struct Running {
    feed: Arc<Feed>,
    stop: tokio::sync::watch::Sender<bool>,
    task: Option<tokio::task::JoinHandle<()>>,
}

impl Running {
    fn start(store: &Store, options: FeedOptions) -> Running {
        let feed = Arc::new(Feed::new(store.clone(), options));
        let (stop, stopped) = tokio::sync::watch::channel(false);
        let task = tokio::spawn({
            let feed = Arc::clone(&feed);
            async move { feed.run(stopped).await }
        });
        Running {
            feed,
            stop,
            task: Some(task),
        }
    }

    async fn stop(mut self) {
        self.stop.send_replace(true);
        self.task.take().unwrap().await.unwrap();
    }
}

/// The next change of `subscription`, within [`PATIENCE`].
async fn next(subscription: &mut weft::exec::Subscription) -> Arc<Published> {
    tokio::time::timeout(PATIENCE, subscription.next())
        .await
        .expect("a change within the patience")
        .expect("the subscription is open")
}

fn subject(change: &Published) -> Option<&str> {
    match &change.change {
        Change::Ticket { ticket, .. } => ticket.subject.as_deref(),
        _ => None,
    }
}

/// A subscriber that falls further behind than the bus holds reads what it missed from the
/// store: every change once, in order. One that resumes from a position gets what came after
/// it, then what comes next.
async fn subscribers_miss_nothing(db: &str) {
    let store = Store::open(db).await.unwrap();
    let running = Running::start(
        &store,
        FeedOptions {
            buffer: 2,
            ..FeedOptions::default()
        },
    );
    let feed = Arc::clone(&running.feed);
    let mut slow = feed.subscribe(None, None).await.unwrap();
    let start = slow.start();
    let subjects: Vec<String> = (0..40)
        .map(|n| format!("Bestellung {n} – où est mon colis ?"))
        .collect();
    let refs: Vec<&str> = subjects.iter().map(String::as_str).collect();
    let numbers = open_tickets(&store, &refs[..20]).await;
    feed.wake();
    let numbers = [numbers, open_tickets(&store, &refs[20..]).await].concat();
    feed.wake();
    let mut seen = Vec::new();
    let mut last = start;
    while seen.len() < numbers.len() {
        let change = next(&mut slow).await;
        assert!(change.position > last, "{:?} after {last:?}", change.position);
        last = change.position;
        seen.push((change.ticket, subject(&change).unwrap().to_owned()));
    }
    let expected: Vec<(i64, String)> = numbers.iter().copied().zip(subjects.iter().cloned()).collect();
    assert_eq!(seen, expected);

    // Resuming from the position of the tenth change: the thirty after it, then a new one.
    let mut resumed = feed
        .subscribe(Some(expected_position(&store, start, 10).await), None)
        .await
        .unwrap();
    let later = open_tickets(&store, &["Reklamation: Gerät defekt"]).await[0];
    feed.wake();
    let mut again = Vec::new();
    while again.last() != Some(&later) {
        again.push(next(&mut resumed).await.ticket);
    }
    assert_eq!(again, [&numbers[10..], &[later]].concat());

    // Only one ticket's changes.
    let one = numbers[3];
    let mut filtered = feed.subscribe(Some(start), Some(one)).await.unwrap();
    assert_eq!(next(&mut filtered).await.ticket, one);
    let mut unit = store.unit().await.unwrap();
    unit.assign_ticket(numbers[4], Some("ben"), None).await.unwrap();
    unit.assign_ticket(one, Some("anna"), Some("de")).await.unwrap();
    unit.commit().await.unwrap();
    feed.wake();
    let change = next(&mut filtered).await;
    match &change.change {
        Change::Ticket { ticket, .. } => assert_eq!(
            (ticket.number, ticket.assignee.as_deref(), ticket.team.as_deref()),
            (one, Some("anna"), Some("de"))
        ),
        other => panic!("{other:?}"),
    }
    running.stop().await;
}

/// The position of the `n`th change (from 1) after `start`.
async fn expected_position(store: &Store, start: Position, n: usize) -> Position {
    final_changes(store, start).await[n - 1].0
}

#[tokio::test(flavor = "multi_thread")]
async fn subscribers_miss_nothing_on_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    subscribers_miss_nothing(&sqlite(dir.path()).await).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn subscribers_miss_nothing_on_postgres() {
    let Some(db) = common::postgres_database("stream_subscribers").await else {
        return;
    };
    subscribers_miss_nothing(&db).await;
}

// ---------------------------------------------------------------------------------------------
// `weft serve` over HTTP.

const SECRET: &str = "geheim-秘密-سر";

const CHANNELS: &str = "\
version: 1
channels:
  - id: shop
    uses: json
    with: { signature_secret: shop_signing }
    allow: { secrets: [shop_signing] }
";

/// A running `weft serve`, killed when dropped.
struct Serve {
    child: Child,
    base: String,
    log: PathBuf,
}

impl Serve {
    fn start(dir: &Path, db: &str, name: &str, presence_ttl: &str) -> Serve {
        let channels = dir.join("channels.yaml");
        std::fs::write(&channels, CHANNELS).unwrap();
        let log = dir.join(format!("{name}.log"));
        let mut child = Command::new(env!("CARGO_BIN_EXE_weft"))
            .args(["serve", "--listen", "127.0.0.1:0", "--db", db])
            .arg("--workflows")
            .arg(weft_test_support::workspace_root().join("workflows"))
            .arg("--channels")
            .arg(&channels)
            .arg("--plugins")
            .arg(weft_test_support::plugins_dir())
            .arg("--models")
            .arg(dir.join("no-models"))
            .args(["--presence-ttl", presence_ttl])
            .env("WEFT_CACHE", std::env::temp_dir().join("weft-test-cache"))
            .env("WEFT_SECRET_SHOP_SIGNING", SECRET)
            .env("WEFT_LOG", "info")
            .stdout(Stdio::piped())
            .stderr(std::fs::File::create(&log).unwrap())
            .spawn()
            .expect("start weft serve");
        let mut stdout = BufReader::new(child.stdout.take().unwrap());
        let mut line = String::new();
        stdout.read_line(&mut line).unwrap();
        let Some(base) = line.trim().strip_prefix("listening on ").map(str::to_owned) else {
            panic!(
                "weft serve printed {line:?}; its log:\n{}",
                std::fs::read_to_string(&log).unwrap_or_default()
            )
        };
        Serve { child, base, log }
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// SIGTERM, with streams still open: the process must end them and exit 0.
    fn stop(mut self) -> String {
        let status = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .unwrap();
        assert!(status.success());
        let status = self.child.wait().unwrap();
        let log = self.log();
        assert!(status.success(), "weft serve exited with {status}; its log:\n{log}");
        log
    }
}

impl Drop for Serve {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A new token with `role`, as `weft token create` prints it.
fn token(db: &str, name: &str, role: &str) -> String {
    let output = Command::new(env!("CARGO_BIN_EXE_weft"))
        .args(["token", "create", "--name", name, "--role", role, "--db", db])
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    String::from_utf8(output.stdout)
        .unwrap()
        .lines()
        .last()
        .unwrap()
        .trim()
        .to_owned()
}

fn sign(body: &[u8]) -> String {
    let mut mac = hmac::Hmac::<sha2::Sha256>::new_from_slice(SECRET.as_bytes()).unwrap();
    mac.update(body);
    format!("sha256={}", hex::encode(mac.finalize().into_bytes()))
}

/// Posts a buyer's message as a signed webhook; it must be accepted.
async fn buyer_writes(
    client: &reqwest::Client,
    serve: &Serve,
    id: &str,
    name: &str,
    email: &str,
    body: &str,
    lang: &str,
) {
    let line = json!({
        "channel": "shop", "id": id, "at": jiff::Timestamp::now().to_string(), "lang": lang,
        "body": body, "from": { "name": name, "email": email },
    })
    .to_string();
    let response = client
        .post(serve.url("/hooks/shop"))
        .header("content-type", "application/x-ndjson")
        .header("X-Weft-Signature", sign(line.as_bytes()))
        .body(line)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 202, "{}", response.text().await.unwrap());
}

/// An API call's status and JSON body.
async fn call(request: reqwest::RequestBuilder) -> (u16, Value) {
    let response = request.send().await.expect("request");
    let status = response.status().as_u16();
    let text = response.text().await.unwrap();
    (status, serde_json::from_str(&text).unwrap_or(Value::String(text)))
}

type EventStream = Pin<
    Box<
        dyn futures_util::Stream<
                Item = Result<eventsource_stream::Event, eventsource_stream::EventStreamError<reqwest::Error>>,
            > + Send,
    >,
>;

/// One client's live stream, read as an SSE client reads it.
struct Events {
    stream: EventStream,
    /// Who reads it, for failure messages.
    who: String,
}

/// One event: its name, id and data.
#[derive(Debug, Clone)]
struct Received {
    event: String,
    id: String,
    data: Value,
}

impl Events {
    /// Connects; the answer's status, and the stream when it is 200.
    async fn open(
        client: &reqwest::Client,
        url: &str,
        token: Option<&str>,
        last_event_id: Option<&str>,
    ) -> Result<Events, (u16, Value)> {
        let mut request = client.get(url);
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        if let Some(id) = last_event_id {
            request = request.header("Last-Event-ID", id);
        }
        let response = request.send().await.expect("connect to the stream");
        let status = response.status().as_u16();
        if status != 200 {
            let text = response.text().await.unwrap();
            return Err((status, serde_json::from_str(&text).unwrap_or(Value::String(text))));
        }
        let content_type = response.headers()["content-type"].to_str().unwrap().to_owned();
        assert_eq!(content_type, "text/event-stream");
        use eventsource_stream::Eventsource as _;
        Ok(Events {
            stream: Box::pin(response.bytes_stream().eventsource()),
            who: url.to_owned(),
        })
    }

    /// The next event, or None when the server ended the stream.
    async fn next(&mut self) -> Option<Received> {
        let event = tokio::time::timeout(PATIENCE, self.stream.next())
            .await
            .unwrap_or_else(|_| panic!("{}: no event within {PATIENCE:?}", self.who))?;
        let event = event.unwrap_or_else(|e| panic!("{}: {e}", self.who));
        Some(Received {
            data: serde_json::from_str(&event.data).unwrap_or_else(|e| panic!("{}: {e}: {}", self.who, event.data)),
            event: event.event,
            id: event.id,
        })
    }

    /// Events until one that `wanted` accepts, which is returned with those before it.
    async fn until(&mut self, what: &str, wanted: impl Fn(&Received) -> bool) -> (Received, Vec<Received>) {
        let mut before = Vec::new();
        loop {
            match self.next().await {
                Some(event) if wanted(&event) => return (event, before),
                Some(event) => before.push(event),
                None => panic!("{}: the stream ended before {what}; it had {before:#?}", self.who),
            }
        }
    }
}

fn is_presence(event: &Received, ticket: i64, viewing: &[&str], typing: &[&str]) -> bool {
    event.event == "presence"
        && event.data["ticket"] == ticket
        && event.data["viewing"] == json!(viewing)
        && event.data["typing"] == json!(typing)
}

/// What agents' clients see: a buyer's message as it is threaded, the ticket it opened,
/// presence of other agents (two viewing, one typing), leaving; only one ticket when asked;
/// what came after a `Last-Event-ID` on reconnecting; and the end of the stream when the
/// server stops.
async fn agents_see_changes_live(db: &str, dir: &Path) {
    // Tokens are rows: made before the server starts, on the database it opens.
    drop(Store::open(db).await.unwrap());
    let anna = token(db, "anna", "agent");
    let ben = token(db, "ben", "agent");
    let chiara = token(db, "chiara", "admin");
    let ines = token(db, "ines", "integrator");
    let serve = Serve::start(dir, db, "serve", "10m");
    let client = reqwest::Client::new();
    let stream_url = serve.url("/api/v1/stream");

    // Who may listen: agents and admins.
    let (status, body) = Events::open(&client, &stream_url, None, None).await.err().unwrap();
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (401, Some("token_missing")),
        "{body}"
    );
    let (status, body) = Events::open(&client, &stream_url, Some(&ines), None)
        .await
        .err()
        .unwrap();
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (403, Some("forbidden")),
        "{body}"
    );
    let (status, body) = Events::open(&client, &stream_url, Some(&anna), Some("gestern"))
        .await
        .err()
        .unwrap();
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (400, Some("invalid_last_event_id")),
        "{body}"
    );

    let mut events = Events::open(&client, &stream_url, Some(&anna), None).await.unwrap();
    let ready = events.next().await.unwrap();
    assert_eq!(ready.event, "ready", "{ready:?}");
    assert_eq!(ready.data["position"], json!(ready.id));

    // A buyer writes: the message, on the ticket it opened, with its text as sent.
    buyer_writes(
        &client,
        &serve,
        "de-1",
        "Jürgen Groß",
        "juergen@example.de",
        "Wo bleibt meine Bestellung? Die Lieferung ist überfällig.",
        "de",
    )
    .await;
    let (message, before) = events
        .until("the buyer's message", |e| {
            e.event == "message" && e.data["message"]["id"] == "de-1"
        })
        .await;
    let sent = &message.data["message"];
    assert_eq!(sent["direction"], "in", "{message:?}");
    assert_eq!(sent["from"]["name"], "Jürgen Groß");
    assert_eq!(
        sent["body"],
        "Wo bleibt meine Bestellung? Die Lieferung ist überfällig."
    );
    assert_eq!(sent["lang"], "de");
    let number = message.data["ticket"].as_i64().unwrap();
    let first_message = message.clone();
    let opened = |e: &Received| e.event == "ticket" && e.data["ticket"] == number;
    if !before.iter().any(opened) {
        events.until("the new ticket", opened).await;
    }

    // A second ticket, in Japanese, for the filtered client below.
    buyer_writes(
        &client,
        &serve,
        "ja-1",
        "山田 花子",
        "hanako@example.jp",
        "注文した商品がまだ届きません。",
        "ja",
    )
    .await;
    let (message, _) = events
        .until("the second message", |e| {
            e.event == "message" && e.data["message"]["id"] == "ja-1"
        })
        .await;
    let other = message.data["ticket"].as_i64().unwrap();
    assert_ne!(other, number);
    let mut only_other = Events::open(&client, &format!("{stream_url}?ticket={other}"), Some(&chiara), None)
        .await
        .unwrap();
    assert_eq!(only_other.next().await.unwrap().event, "ready");

    // API actions: Ben takes the ticket, then answers at the version the stream showed him.
    let (status, body) = call(
        client
            .post(serve.url(&format!("/api/v1/tickets/{number}/assignment")))
            .bearer_auth(&ben)
            .header("content-type", "application/json")
            .body(json!({ "agent": "ben", "team": "de" }).to_string()),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let (assigned, _) = events
        .until("the assignment", |e| {
            e.event == "ticket" && e.data["ticket"] == number && e.data["assignee"] == "ben"
        })
        .await;
    assert_eq!(assigned.data["number"], number);
    assert_eq!(assigned.data["team"], "de");
    let version = assigned.data["version"].as_i64().unwrap();
    let answer = "Guten Tag Herr Groß, Ihr Paket ist unterwegs und kommt morgen an.";
    let (status, body) = call(
        client
            .post(serve.url(&format!("/api/v1/tickets/{number}/replies")))
            .bearer_auth(&ben)
            .header("content-type", "application/json")
            .body(json!({ "body": answer, "expected_version": version }).to_string()),
    )
    .await;
    assert_eq!(status, 201, "{body}");
    // The reply, and the version it made (one transaction: in either order).
    let is_reply = |e: &Received| e.event == "reply" && e.data["ticket"] == number;
    let (bumped, before) = events
        .until("the version the reply made", |e| {
            e.event == "ticket" && e.data["ticket"] == number && e.data["version"].as_i64() > Some(version)
        })
        .await;
    let reply = match before.into_iter().find(is_reply) {
        Some(reply) => reply,
        None => events.until("Ben's reply", is_reply).await.0,
    };
    assert_eq!(reply.data["reply"]["body"], answer, "{reply:?}");
    assert_eq!(reply.data["reply"]["author"], "ben");
    // The stream shows the row as it is when read: the outbox sender may have claimed it.
    assert!(
        ["pending", "sending", "delivered", "failed", "uncertain"]
            .contains(&reply.data["reply"]["state"].as_str().unwrap_or("")),
        "{reply:?}"
    );
    assert_eq!(
        reply.data["reply"]["ticket_version"], bumped.data["version"],
        "{reply:?} {bumped:?}"
    );

    // Presence: Ben views, Chiara types, Anna views; each change reaches Anna's stream.
    let presence = |token: &str, state: &str| {
        client
            .post(serve.url(&format!("/api/v1/tickets/{number}/presence")))
            .bearer_auth(token)
            .header("content-type", "application/json")
            .body(json!({ "state": state }).to_string())
    };
    let (status, body) = call(presence(&ben, "viewing")).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        (&body["viewing"], &body["typing"]),
        (&json!(["ben"]), &json!([])),
        "{body}"
    );
    events
        .until("Ben viewing", |e| is_presence(e, number, &["ben"], &[]))
        .await;
    let (status, body) = call(presence(&chiara, "typing")).await;
    assert_eq!(status, 200, "{body}");
    events
        .until("Chiara typing", |e| is_presence(e, number, &["ben"], &["chiara"]))
        .await;
    let (status, body) = call(presence(&anna, "viewing")).await;
    assert_eq!(status, 200, "{body}");
    let (seen, _) = events
        .until("Anna and Ben viewing, Chiara typing", |e| {
            is_presence(e, number, &["anna", "ben"], &["chiara"])
        })
        .await;
    let agents = seen.data["agents"].as_array().unwrap();
    assert_eq!(agents.len(), 3, "{seen:?}");
    assert!(
        agents
            .iter()
            .all(|a| a["expires_at"].as_str().unwrap() > a["since"].as_str().unwrap())
    );
    // Who is on the ticket, as anyone who opens it reads it.
    let (status, body) = call(
        client
            .get(serve.url(&format!("/api/v1/tickets/{number}/presence")))
            .bearer_auth(&ben),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["viewing"], json!(["anna", "ben"]), "{body}");
    assert_eq!(body["typing"], json!(["chiara"]), "{body}");
    let (status, body) = call(
        client
            .get(serve.url(&format!("/api/v1/tickets/{number}")))
            .bearer_auth(&ines),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["presence"]["viewing"], json!(["anna", "ben"]), "{body}");
    assert_eq!(body["presence"]["typing"], json!(["chiara"]), "{body}");

    // Refusals: an unknown state, a ticket that does not exist, an integrator.
    let (status, body) = call(presence(&ben, "schlafend")).await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (422, Some("invalid_presence")),
        "{body}"
    );
    let (status, body) = call(
        client
            .post(serve.url("/api/v1/tickets/999999/presence"))
            .bearer_auth(&ben)
            .header("content-type", "application/json")
            .body(json!({ "state": "viewing" }).to_string()),
    )
    .await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (404, Some("no_ticket")),
        "{body}"
    );
    let (status, body) = call(presence(&ines, "viewing")).await;
    assert_eq!(status, 403, "{body}");

    // Leaving, both ways.
    let (status, body) = call(
        client
            .delete(serve.url(&format!("/api/v1/tickets/{number}/presence")))
            .bearer_auth(&ben),
    )
    .await;
    assert_eq!((status, &body["viewing"]), (200, &json!(["anna"])), "{body}");
    let (status, body) = call(presence(&chiara, "left")).await;
    assert_eq!((status, &body["typing"]), (200, &json!([])), "{body}");
    let (left, _) = events
        .until("Ben and Chiara gone", |e| is_presence(e, number, &["anna"], &[]))
        .await;

    // The filtered client saw nothing of the first ticket: its first change is the other's.
    let (status, body) = call(
        client
            .post(serve.url(&format!("/api/v1/tickets/{other}/presence")))
            .bearer_auth(&ben)
            .header("content-type", "application/json")
            .body(json!({ "state": "typing" }).to_string()),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let first = only_other.next().await.unwrap();
    assert!(is_presence(&first, other, &[], &["ben"]), "{first:?}");

    // Reconnecting after the buyer's message: every later change again, in order, then on.
    let mut resumed = Events::open(&client, &stream_url, Some(&anna), Some(&first_message.id))
        .await
        .unwrap();
    assert_eq!(resumed.next().await.unwrap().event, "ready");
    // Changes of one ticket read together are shown once, at the last one's position: the
    // leave may come at a later position than it first did, never at an earlier one.
    let left_at: Position = left.id.parse().unwrap();
    let (again, replayed) = resumed
        .until("the leave again", |e| {
            e.event == "presence" && e.data["ticket"] == number && e.id.parse::<Position>().unwrap() >= left_at
        })
        .await;
    assert!(is_presence(&again, number, &["anna"], &[]));
    assert!(
        replayed.iter().all(|e| e.data["message"]["id"] != "de-1"),
        "{replayed:#?}"
    );
    assert!(replayed.iter().any(|e| e.event == "reply"), "{replayed:#?}");
    let ids: Vec<&str> = replayed.iter().map(|e| e.id.as_str()).collect();
    let mut sorted = ids.clone();
    sorted.sort_by_key(|id| id.parse::<Position>().unwrap());
    sorted.dedup();
    assert_eq!(ids, sorted, "ids in order, each once");

    // Stopping ends every stream; the process exits 0.
    serve.stop();
    while let Some(event) = events.next().await {
        assert_ne!(event.event, "ready");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn agents_see_changes_live_on_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    agents_see_changes_live(&sqlite(dir.path()).await, dir.path()).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn agents_see_changes_live_on_postgres() {
    let Some(db) = common::postgres_database("stream_live").await else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    agents_see_changes_live(&db, dir.path()).await;
}

/// A presence lasts while its client renews it, and lapses once it stops: the ticket shows
/// no one, and the stream says so.
async fn presence_expires(db: &str, dir: &Path) {
    drop(Store::open(db).await.unwrap());
    let anna = token(db, "anna", "agent");
    let ben = token(db, "ben", "agent");
    let serve = Serve::start(dir, db, "serve-ttl", "3s");
    let client = reqwest::Client::new();
    let mut events = Events::open(&client, &serve.url("/api/v1/stream"), Some(&ben), None)
        .await
        .unwrap();
    assert_eq!(events.next().await.unwrap().event, "ready");
    buyer_writes(
        &client,
        &serve,
        "es-1",
        "Begoña Muñoz",
        "begona@example.es",
        "¿Dónde está mi pedido? Quiero una devolución.",
        "es",
    )
    .await;
    let (message, _) = events
        .until("the buyer's message", |e| {
            e.event == "message" && e.data["message"]["id"] == "es-1"
        })
        .await;
    let number = message.data["ticket"].as_i64().unwrap();
    let url = serve.url(&format!("/api/v1/tickets/{number}/presence"));
    let view = || {
        client
            .post(&url)
            .bearer_auth(&anna)
            .header("content-type", "application/json")
            .body(json!({ "state": "viewing" }).to_string())
    };
    let (status, first) = call(view()).await;
    assert_eq!((status, &first["viewing"]), (200, &json!(["anna"])), "{first}");
    let since = first["agents"][0]["since"].clone();

    // Renewed every half second for three lifetimes: still there, since the first post.
    let renewing = Instant::now();
    while renewing.elapsed() < Duration::from_secs(9) {
        tokio::time::sleep(Duration::from_millis(500)).await;
        let (status, body) = call(view()).await;
        assert_eq!((status, &body["viewing"]), (200, &json!(["anna"])), "{body}");
        assert_eq!(body["agents"][0]["since"], since, "a renewal keeps `since`");
    }

    // No more renewals: gone, from the ticket and on the stream.
    let stopped = Instant::now();
    loop {
        let (status, body) = call(client.get(&url).bearer_auth(&ben)).await;
        assert_eq!(status, 200, "{body}");
        if body["agents"] == json!([]) {
            break;
        }
        assert!(stopped.elapsed() < PATIENCE, "{body}\n{}", serve.log());
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    events
        .until("Anna's presence lapsing", |e| is_presence(e, number, &[], &[]))
        .await;
    serve.stop();
}

#[tokio::test(flavor = "multi_thread")]
async fn presence_expires_on_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    presence_expires(&sqlite(dir.path()).await, dir.path()).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn presence_expires_on_postgres() {
    let Some(db) = common::postgres_database("stream_presence_ttl").await else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    presence_expires(&db, dir.path()).await;
}

/// Two nodes on one PostgreSQL database: a client of one sees what the other did — a buyer's
/// message it took in, presence posted to it — because the stream is fed from rows.
#[tokio::test(flavor = "multi_thread")]
async fn a_second_node_streams_the_first_nodes_changes() {
    let Some(db) = common::postgres_database("stream_two_nodes").await else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    drop(Store::open(&db).await.unwrap());
    let anna = token(&db, "anna", "agent");
    let ben = token(&db, "ben", "agent");
    let first = Serve::start(dir.path(), &db, "node-1", "10m");
    let second = Serve::start(dir.path(), &db, "node-2", "10m");
    let client = reqwest::Client::new();
    let mut events = Events::open(&client, &second.url("/api/v1/stream"), Some(&anna), None)
        .await
        .unwrap();
    assert_eq!(events.next().await.unwrap().event, "ready");
    buyer_writes(
        &client,
        &first,
        "it-1",
        "Niccolò Rossi",
        "niccolo@example.it",
        "Dov'è il mio ordine? È già passata una settimana.",
        "it",
    )
    .await;
    let (message, _) = events
        .until("the message taken in by the other node", |e| {
            e.event == "message" && e.data["message"]["id"] == "it-1"
        })
        .await;
    let number = message.data["ticket"].as_i64().unwrap();
    let (status, body) = call(
        client
            .post(first.url(&format!("/api/v1/tickets/{number}/presence")))
            .bearer_auth(&ben)
            .header("content-type", "application/json")
            .body(json!({ "state": "typing" }).to_string()),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    events
        .until("Ben typing, posted to the other node", |e| {
            is_presence(e, number, &[], &["ben"])
        })
        .await;
    let (status, body) = call(
        client
            .get(second.url(&format!("/api/v1/tickets/{number}/presence")))
            .bearer_auth(&anna),
    )
    .await;
    assert_eq!((status, &body["typing"]), (200, &json!(["ben"])), "{body}");
    second.stop();
    first.stop();
}
