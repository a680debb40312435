//! Operating `weft serve`: `/metrics` after real traffic (webhooks signed and forged, a step
//! that fails, deadlines at risk and breached), read back by parsing the Prometheus text; and
//! hot reload of the workflows while serving: a valid edit takes over and later decisions
//! carry its version, a broken one is refused with its diagnostics on `/readyz` while the
//! previous version keeps processing, and fixing it loads again.
//!
//! The real binary on `127.0.0.1:0`, the real plugins, a SQLite file, reqwest.

use hmac::Mac;
use std::collections::BTreeMap;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};
use weft::store::Store;
use weft::workflow::Workflow;

const SECRET: &str = "Schlüssel-鍵-مفتاح";
/// How long a poll waits for something the server does in the background.
const PATIENCE: Duration = Duration::from_secs(120);

const CHANNELS: &str = "\
version: 1
channels:
  - id: shop
    uses: json
    with: { signature_secret: shop_signing }
    allow: { secrets: [shop_signing] }
  - id: open
    uses: json
    with: { default_channel: chat }
";

/// A running `weft serve` on the workflows in `workflows`, killed when dropped.
struct Serve {
    child: Child,
    base: String,
    log: PathBuf,
}

impl Serve {
    fn start(dir: &Path, db: &str, workflows: &Path) -> Serve {
        let channels = dir.join("channels.yaml");
        std::fs::write(&channels, CHANNELS).unwrap();
        let log = dir.join("serve.log");
        let mut child = Command::new(env!("CARGO_BIN_EXE_weft"))
            .args(["serve", "--listen", "127.0.0.1:0", "--db", db])
            .arg("--workflows")
            .arg(workflows)
            .arg("--channels")
            .arg(&channels)
            .arg("--plugins")
            .arg(weft_test_support::plugins_dir())
            .arg("--models")
            .arg(dir.join("no-models"))
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
            );
        };
        Serve { child, base, log }
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// SIGTERM, and the exit, which must be a success; returns the log.
    fn stop(mut self) -> String {
        let pid = self.child.id().to_string();
        assert!(Command::new("kill").args(["-TERM", &pid]).status().unwrap().success());
        let status = self.child.wait().unwrap();
        let log = self.log();
        assert!(status.success(), "weft serve exited with {status}; its log:\n{log}");
        log
    }

    /// Polls `check` until it gives a value or [`PATIENCE`] runs out.
    async fn eventually<T>(&self, what: &str, mut check: impl AsyncFnMut() -> Option<T>) -> T {
        let start = Instant::now();
        loop {
            if let Some(value) = check().await {
                return value;
            }
            assert!(
                start.elapsed() < PATIENCE,
                "{what} did not happen; the server's log:\n{}",
                self.log()
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
}

impl Drop for Serve {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn sign(body: &[u8]) -> String {
    let mut mac = hmac::Hmac::<sha2::Sha256>::new_from_slice(SECRET.as_bytes()).unwrap();
    mac.update(body);
    format!("sha256={}", hex::encode(mac.finalize().into_bytes()))
}

/// A JSON line from `buyer` (who is also the email's local part) written `ago`, on `channel`
/// or, without one, on the hook's default channel.
fn message(id: &str, channel: Option<&str>, buyer: &str, body: &str, ago: Duration) -> String {
    let at = jiff::Timestamp::now() - jiff::SignedDuration::try_from(ago).unwrap();
    let mut line = serde_json::json!({
        "id": id, "at": at.to_string(), "body": body,
        "from": { "name": buyer, "email": format!("{buyer}@example.com"), "buyer_id": buyer },
    });
    if let Some(channel) = channel {
        line["channel"] = channel.into();
    }
    line.to_string()
}

async fn post(client: &reqwest::Client, url: &str, body: &str, signature: Option<&str>) -> u16 {
    let mut request = client.post(url).body(body.to_owned());
    if let Some(signature) = signature {
        request = request.header("X-Weft-Signature", signature);
    }
    request.send().await.expect("post").status().as_u16()
}

async fn get(client: &reqwest::Client, url: &str) -> (u16, String) {
    let response = client.get(url).send().await.expect("get");
    (response.status().as_u16(), response.text().await.unwrap())
}

/// The samples of a Prometheus text exposition: series (name and labels, as written) to value.
fn samples(text: &str) -> BTreeMap<String, f64> {
    text.lines()
        .filter(|l| !l.starts_with('#') && !l.is_empty())
        .map(|l| {
            let (series, value) = l.rsplit_once(' ').unwrap_or_else(|| panic!("not a sample: {l}"));
            let value = value.parse().unwrap_or_else(|_| panic!("not a number in {l}"));
            (series.to_owned(), value)
        })
        .collect()
}

fn step(name: &str, workflow: &str, step: &str) -> String {
    format!(r#"{name}{{workflow="{workflow}",step="{step}"}}"#)
}

/// identify → thread → tag (always fine) → boom (traps, on chat messages only) → deadlines.
const FAILING: &str = "\
version: 1
name: ops
on: message.received
steps:
  - id: identify
    uses: identity
  - id: thread
    uses: merger
  - id: tag
    uses: weft-test-faulty
    with: { fault: ok }
  - id: boom
    if: message.channel == 'chat'
    uses: weft-test-faulty
    with: { fault: trap }
    retry: { attempts: 1 }
  - id: deadlines
    uses: sla
    with:
      policies:
        - name: amazon-24h
          match: { channel: amazon }
          first_response: 24h
          clock: always
          warn_before: [4h]
";

/// After webhooks, a forged one and a step that fails on two of them, `/metrics` counts each
/// by channel, workflow and step, times every step call, and reads the deadlines at risk and
/// breached from the store.
#[tokio::test(flavor = "multi_thread")]
async fn metrics_count_what_happened() {
    let dir = tempfile::tempdir().unwrap();
    let workflows = dir.path().join("workflows");
    std::fs::create_dir(&workflows).unwrap();
    std::fs::write(workflows.join("ops.yaml"), FAILING).unwrap();
    let db = format!("sqlite://{}", dir.path().join("weft.db").display());
    let serve = Serve::start(dir.path(), &db, &workflows);
    let client = reqwest::Client::new();
    let hour = Duration::from_secs(3600);
    let shop = [
        // Past due already: breached as soon as its timer fires.
        message(
            "amz-1",
            Some("amazon"),
            "A1B2C3",
            "Wo ist meine Bestellung? Sie ist überfällig.",
            25 * hour,
        ),
        // Past its 4-hour warning, not due: at risk.
        message(
            "amz-2",
            Some("amazon"),
            "D4E5F6",
            "Où est mon colis ? Il devait arriver hier.",
            21 * hour,
        ),
        message(
            "amz-3",
            Some("amazon"),
            "G7H8I9",
            "注文した商品がまだ届きません。",
            Duration::ZERO,
        ),
    ];
    for body in &shop {
        assert_eq!(
            post(&client, &serve.url("/hooks/shop"), body, Some(&sign(body.as_bytes()))).await,
            202
        );
    }
    let forged = message("forged", Some("amazon"), "X", "Erstatten Sie mir alles", Duration::ZERO);
    assert_eq!(
        post(&client, &serve.url("/hooks/shop"), &forged, Some("sha256=00")).await,
        401
    );
    // Chat messages (the open hook's default channel): `boom` fails on each.
    for (id, buyer, body) in [
        ("chat-1", "rosa", "¿Dónde está mi pedido?"),
        ("chat-2", "yasmin", "أين طلبي؟ لم يصل بعد."),
    ] {
        let body = message(id, None, buyer, body, Duration::ZERO);
        assert_eq!(post(&client, &serve.url("/hooks/open"), &body, None).await, 202);
    }

    let store = Store::open(&db).await.unwrap();
    serve
        .eventually("both failures of `boom` kept, and the breach", async || {
            let failures = store.open_step_failures(&[]).await.unwrap();
            let tickets = store.export_tickets().await.unwrap();
            let breached = tickets.iter().any(|t| {
                t["deadlines"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .any(|d| d["state"] == "breached")
            });
            (failures.len() == 2 && breached && tickets.len() == 5).then_some(())
        })
        .await;
    let text = serve
        .eventually("the queue empty", async || {
            let (status, text) = get(&client, &serve.url("/metrics")).await;
            assert_eq!(status, 200);
            (samples(&text)["weft_queue_depth"] == 0.0).then_some(text)
        })
        .await;
    let samples = samples(&text);
    let expected = [
        (r#"weft_webhooks_accepted_total{channel="shop"}"#.to_owned(), 3.0),
        (r#"weft_webhooks_accepted_total{channel="open"}"#.to_owned(), 2.0),
        (
            r#"weft_webhooks_rejected_total{channel="shop",reason="unauthenticated"}"#.to_owned(),
            1.0,
        ),
        ("weft_messages_parsed_total".to_owned(), 5.0),
        (step("weft_step_events_processed_total", "ops", "identify"), 5.0),
        (step("weft_step_events_processed_total", "ops", "thread"), 5.0),
        (step("weft_step_events_processed_total", "ops", "tag"), 5.0),
        (step("weft_step_events_processed_total", "ops", "deadlines"), 5.0),
        (step("weft_step_events_failed_total", "ops", "boom"), 2.0),
        // Every call is timed: five of each step, two of `boom` (which runs on chat only).
        (step("weft_step_duration_seconds_count", "ops", "identify"), 5.0),
        (step("weft_step_duration_seconds_count", "ops", "deadlines"), 5.0),
        (step("weft_step_duration_seconds_count", "ops", "boom"), 2.0),
        // The unauthenticated delivery, kept (refused) so it can be replayed once its secret is right.
        ("weft_dead_letters".to_owned(), 1.0),
        ("weft_deadlines_at_risk".to_owned(), 1.0),
        ("weft_deadlines_breached".to_owned(), 1.0),
        ("weft_outbox_pending".to_owned(), 0.0),
        ("weft_outbox_failed".to_owned(), 0.0),
        ("weft_webhooks_unparsed".to_owned(), 0.0),
    ];
    for (series, value) in &expected {
        assert_eq!(samples.get(series), Some(value), "{series} in\n{text}");
    }
    // Failed calls are timed but not counted as processed.
    assert_eq!(
        samples.get(&step("weft_step_events_processed_total", "ops", "boom")),
        None,
        "{text}"
    );
    // Histogram buckets are cumulative and end with every call.
    let identify_inf = r#"weft_step_duration_seconds_bucket{le="+Inf",workflow="ops",step="identify"}"#.to_owned();
    assert_eq!(samples.get(&identify_inf), Some(&5.0), "{text}");
    assert!(
        samples[&step("weft_step_duration_seconds_sum", "ops", "identify")] > 0.0,
        "{text}"
    );
    // Message events and the timers' events (two warnings, one breach; nobody listens).
    assert!(samples["weft_events_processed_total"] >= 5.0, "{text}");
    assert_eq!(samples["weft_events_failed_total"], 0.0, "{text}");
    let version = Workflow::version_of(FAILING);
    let loaded = format!(r#"weft_workflow_loaded{{workflow="ops",version="{version}"}}"#);
    assert_eq!(samples.get(&loaded), Some(&1.0), "{text}");

    let log = serve.stop();
    assert!(log.contains("round done"), "{log}");
    assert!(
        log.contains("step failed; the message landed without its decisions"),
        "{log}"
    );
}

/// The workflow of the reload test: identify and thread, and with `tag` the faulty step's
/// `ok` too.
fn tagging(tag: bool, extra: &str) -> String {
    let mut text = String::from(
        "version: 1\nname: tagging\non: message.received\nsteps:\n  - id: identify\n    uses: identity\n  - id: thread\n    uses: merger\n",
    );
    if tag {
        text.push_str("  - id: tag\n    uses: weft-test-faulty\n    with: { fault: ok }\n");
    }
    text.push_str(extra);
    text
}

/// Waits until `/readyz` says the workflow `tagging` runs at `version`; returns the answer.
async fn running(serve: &Serve, client: &reqwest::Client, version: &str) -> serde_json::Value {
    serve
        .eventually(&format!("version {version} running"), async || {
            let (status, body) = get(client, &serve.url("/readyz")).await;
            assert_eq!(status, 200, "{body}");
            let ready: serde_json::Value = serde_json::from_str(&body).unwrap();
            (ready["workflow_versions"]["tagging"] == version).then_some(ready)
        })
        .await
}

/// Sends a chat message and waits until it is on a ticket; returns who decided about that
/// ticket: (workflow version, step), once each, in order.
async fn decided(
    serve: &Serve,
    client: &reqwest::Client,
    store: &Store,
    id: &str,
    body: &str,
) -> Vec<(String, String)> {
    let line = serde_json::json!({
        "id": id, "at": jiff::Timestamp::now().to_string(), "body": body,
        "from": { "name": id, "email": format!("{id}@example.org") },
    })
    .to_string();
    assert_eq!(post(client, &serve.url("/hooks/open"), &line, None).await, 202);
    let ticket = serve
        .eventually(&format!("{id} on a ticket"), async || {
            let tickets = store.export_tickets().await.unwrap();
            tickets
                .iter()
                .find(|t| t["messages"].as_array().unwrap().iter().any(|m| m == id))
                .and_then(|t| t["ticket"].as_i64())
        })
        .await;
    let mut steps: Vec<(String, String)> = Vec::new();
    for d in store.ticket_decisions(ticket).await.unwrap() {
        let step = (d.workflow_version.unwrap_or_default(), d.step);
        if !steps.contains(&step) {
            steps.push(step);
        }
    }
    steps
}

/// Editing the workflow while serving: valid, broken, fixed.
#[tokio::test(flavor = "multi_thread")]
async fn workflows_reload_while_serving() {
    let dir = tempfile::tempdir().unwrap();
    let workflows = dir.path().join("workflows");
    std::fs::create_dir(&workflows).unwrap();
    let file = workflows.join("tagging.yaml");
    let first = tagging(false, "");
    std::fs::write(&file, &first).unwrap();
    let db = format!("sqlite://{}", dir.path().join("weft.db").display());
    let serve = Serve::start(dir.path(), &db, &workflows);
    let client = reqwest::Client::new();
    let store = Store::open(&db).await.unwrap();

    let v1 = Workflow::version_of(&first);
    let ready = running(&serve, &client, &v1).await;
    assert_eq!(ready["reload"]["state"], "none", "{ready}");
    let before = decided(&serve, &client, &store, "vorher", "Guten Tag, wo ist mein Paket?").await;
    assert_eq!(
        before,
        [(v1.clone(), "identify".to_owned()), (v1.clone(), "thread".to_owned())]
    );

    // A valid edit, saved as editors do: written beside the file, then renamed over it.
    let second = tagging(true, "");
    let v2 = Workflow::version_of(&second);
    let temporary = workflows.join(".tagging.yaml.swp");
    std::fs::write(&temporary, &second).unwrap();
    std::fs::rename(&temporary, &file).unwrap();
    let ready = running(&serve, &client, &v2).await;
    assert_eq!(ready["reload"]["state"], "applied", "{ready}");
    let after = decided(&serve, &client, &store, "nachher", "Bonjour, où est mon colis ?").await;
    let steps: Vec<(String, String)> = ["identify", "thread", "tag"]
        .iter()
        .map(|s| (v2.clone(), (*s).to_owned()))
        .collect();
    assert_eq!(after, steps);

    // A broken edit (written in place): refused with every problem, the previous version runs.
    let broken = tagging(
        true,
        "  - id: route\n    uses: routr\n    timeout: 5 minutes\n    colour: grün\n",
    );
    std::fs::write(&file, &broken).unwrap();
    let ready = serve
        .eventually("the broken edit refused", async || {
            let (_, body) = get(&client, &serve.url("/readyz")).await;
            let ready: serde_json::Value = serde_json::from_str(&body).unwrap();
            (ready["reload"]["state"] == "refused").then_some(ready)
        })
        .await;
    assert_eq!(ready["status"], "ready", "{ready}");
    assert_eq!(ready["workflow_versions"]["tagging"], v2.as_str(), "{ready}");
    let name = file.display();
    let problems: Vec<&str> = ready["reload"]["problems"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p.as_str().unwrap())
        .collect();
    let expected = [
        format!(
            "{name}:13:11: unknown plugin `routr` in step `route` (did you mean `router`?), expected one of the step plugins: escalate, identity, merger, router, sla, weft-test-faulty"
        ),
        format!(
            "{name}:14:14: `timeout` of step `route`: invalid duration `5 minutes`: white space after `5`, write the parts without spaces; expected a number with a unit (ms, s, m, h, d) such as 200ms, 30s, 15m, 72h, 2d, or units combined from largest to smallest such as 1h30m"
        ),
        format!(
            "{name}:15:5: unknown key `colour` in step `route`, expected one of: id, uses, with, if, timeout, retry, allow, on_error"
        ),
    ];
    assert_eq!(problems, expected, "the problems of the broken edit");
    // Exactly as `weft validate` prints them.
    let validate = Command::new(env!("CARGO_BIN_EXE_weft"))
        .arg("validate")
        .arg(&file)
        .arg("--plugins")
        .arg(weft_test_support::plugins_dir())
        .env("WEFT_CACHE", std::env::temp_dir().join("weft-test-cache"))
        .output()
        .unwrap();
    let printed = String::from_utf8(validate.stderr).unwrap();
    assert_eq!(
        printed.lines().collect::<Vec<_>>(),
        [&problems[..], &["3 problems in 1 file"]].concat(),
        "{printed}"
    );
    let meanwhile = decided(&serve, &client, &store, "waehrenddessen", "Ciao, dov'è il mio ordine?").await;
    assert_eq!(meanwhile, steps, "the previous version keeps running");

    // Fixed: loaded again.
    let fixed = tagging(
        true,
        "  - id: retag\n    uses: weft-test-faulty\n    with: { fault: ok }\n",
    );
    let v3 = Workflow::version_of(&fixed);
    std::fs::write(&file, &fixed).unwrap();
    let ready = running(&serve, &client, &v3).await;
    assert_eq!(ready["reload"]["state"], "applied", "{ready}");
    let last = decided(&serve, &client, &store, "zuletzt", "你好，我的订单到哪里了？").await;
    assert!(
        last.iter().all(|(v, _)| *v == v3) && last.iter().any(|(_, s)| s == "retag"),
        "{last:?}"
    );

    // `weft explain` names the version that decided.
    let ticket = store.export_tickets().await.unwrap();
    let number = ticket
        .iter()
        .find(|t| t["messages"].as_array().unwrap().iter().any(|m| m == "vorher"))
        .and_then(|t| t["ticket"].as_i64())
        .unwrap();
    let (_, metrics) = get(&client, &serve.url("/metrics")).await;
    let samples = samples(&metrics);
    assert_eq!(
        samples.get(r#"weft_reloads_total{outcome="applied"}"#),
        Some(&2.0),
        "{metrics}"
    );
    assert_eq!(
        samples.get(r#"weft_reloads_total{outcome="refused"}"#),
        Some(&1.0),
        "{metrics}"
    );
    let log = serve.stop();
    assert!(log.contains("reload refused"), "{log}");
    assert!(log.contains("unknown plugin `routr`"), "{log}");
    let explained = Command::new(env!("CARGO_BIN_EXE_weft"))
        .args(["explain", "ticket", &number.to_string(), "--db", &db])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&explained.stdout);
    assert!(explained.status.success(), "{text}");
    assert!(text.contains(" · tagging/identify · identity@"), "{text}");
    assert!(text.contains(&format!(" · version {v1}\n")), "{text}");
    assert!(!text.contains(&v2), "{text}");
}
