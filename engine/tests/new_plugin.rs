//! `cargo xtask new-plugin channel NAME --dir DIR` end to end: the crate it makes outside the
//! workspace builds for wasm32-wasip2 and passes the tests it comes with; the engine loads the
//! component by the name it reports; `weft validate --channels` checks a mount of it against
//! its schema; `weft serve` verifies its signed webhooks, refuses forged ones and puts the
//! message on a ticket; and through the runtime it delivers replies to a vendor on 127.0.0.1
//! (429 with Retry-After, then 201), while a host or secret the mount does not grant is refused
//! with a message that names the channels file.

use hmac::Mac;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};
use weft::runtime::{CallOptions, GrantedBy, Grants, PluginError, PluginKind, Runtime, RuntimeConfig, StepFailure};
use weft::store::Store;
use weft_sdk::{Delivery, Outbound};

/// The plugin's name, as `uses:` names it.
const NAME: &str = "acme-chat";
/// Its component, as cargo names it.
const WASM: &str = "weft_plugin_acme_chat.wasm";
const SIGNING: &str = "geheim-秘密-سر";
const TOKEN: &str = "tok_3xampl3";
/// Set in the child process that runs [`delivers_through_the_runtime`] with the secret.
const WASM_VAR: &str = "WEFT_TEST_NEW_PLUGIN_WASM";

fn root() -> &'static Path {
    weft_test_support::workspace_root()
}

/// Where the crate is built, beside weft's own plugins (same profile, so their dependencies
/// are built once): a target dir of its own, not locked by the cargo that runs this test.
fn target_dir() -> PathBuf {
    root().join("target").join("wasm-plugins")
}

/// Runs `command`; panics with everything it printed when it fails. Returns its stdout.
fn run(command: &mut Command) -> String {
    let shown = format!("{command:?}");
    let output = command.output().unwrap_or_else(|e| panic!("cannot run {shown}: {e}"));
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    assert!(
        output.status.success(),
        "{shown} failed ({}):\n{stdout}\n{}",
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );
    stdout
}

fn cargo(dir: &Path) -> Command {
    let mut command = Command::new(std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into()));
    command
        .current_dir(dir)
        .env("CARGO_TARGET_DIR", target_dir())
        .env_remove("RUSTFLAGS")
        .env_remove("CARGO_ENCODED_RUSTFLAGS");
    command
}

/// What the command made and built, once per test process.
struct Made {
    /// A plugins folder: weft's own plugins and the new one.
    plugins: PathBuf,
    /// The new one's component.
    wasm: PathBuf,
}

fn made() -> &'static Made {
    static MADE: OnceLock<Made> = OnceLock::new();
    MADE.get_or_init(|| {
        let base = root()
            .join("target")
            .join("new-plugin-tests")
            .join(std::process::id().to_string());
        let _ = std::fs::remove_dir_all(&base);
        std::fs::create_dir_all(&base).unwrap();
        let dir = base.join(NAME);
        // The command itself, as a developer types it (the alias `cargo xtask`).
        let said = run(cargo(root())
            .args([
                "run",
                "--quiet",
                "--package",
                "xtask",
                "--",
                "new-plugin",
                "channel",
                NAME,
                "--dir",
            ])
            .arg(&dir));
        assert!(said.contains(&format!("made the channel plugin `{NAME}`")), "{said}");
        // Its own tests, natively. Offline: the lock file is weft's, every crate is at hand.
        let tested = run(cargo(&dir).args(["test", "--offline"]));
        assert!(tested.contains("test result: ok. 5 passed"), "{tested}");
        run(cargo(&dir).args(["build", "--offline", "--target", "wasm32-wasip2", "--profile", "plugin"]));
        let built = target_dir().join("wasm32-wasip2").join("plugin").join(WASM);
        let plugins = base.join("plugins");
        std::fs::create_dir_all(&plugins).unwrap();
        for entry in std::fs::read_dir(weft_test_support::plugins_dir()).unwrap() {
            let path = entry.unwrap().path();
            if path.extension().is_some_and(|e| e == "wasm") {
                std::fs::copy(&path, plugins.join(path.file_name().unwrap())).unwrap();
            }
        }
        let wasm = plugins.join(WASM);
        std::fs::copy(&built, &wasm).unwrap();
        Made { plugins, wasm }
    })
}

fn sign(body: &[u8]) -> String {
    let mut mac = hmac::Hmac::<sha2::Sha256>::new_from_slice(SIGNING.as_bytes()).unwrap();
    mac.update(body);
    format!("sha256={}", hex::encode(mac.finalize().into_bytes()))
}

fn channels_file(dir: &Path, with: &str) -> PathBuf {
    let file = dir.join("channels.yaml");
    std::fs::write(
        &file,
        format!(
            "version: 1\nchannels:\n  - id: acme\n    uses: {NAME}\n    with: {with}\n    allow: {{ http: [127.0.0.1], secrets: [acme_signing, acme_token] }}\n"
        ),
    )
    .unwrap();
    file
}

/// `weft SUBCOMMAND ARGS` with the plugins folder that holds the new one.
fn weft(dir: &Path, args: &[&str]) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_weft"));
    command
        .args(args)
        .arg("--plugins")
        .arg(&made().plugins)
        .arg("--models")
        .arg(dir.join("no-models"))
        .env("WEFT_CACHE", std::env::temp_dir().join("weft-test-cache"));
    command
}

#[test]
fn validate_checks_a_mount_against_the_new_plugins_schema() {
    let dir = tempfile::tempdir().unwrap();
    let good = channels_file(
        dir.path(),
        "{ api_base: \"http://127.0.0.1:9\", signature_secret: acme_signing }",
    );
    let output = weft(dir.path(), &["validate", "--channels", good.to_str().unwrap()])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(stdout.contains("ok: 1 channels"), "{stdout}");
    let bad = channels_file(dir.path(), "{ api_bse: \"http://127.0.0.1:9\" }");
    let output = weft(dir.path(), &["validate", "--channels", bad.to_str().unwrap()])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!output.status.success());
    assert!(
        stderr.contains("unknown key `api_bse` in `with:` of channel `acme`"),
        "{stderr}"
    );
    assert!(
        stderr.contains("expected one of: api_base, channel, signature_secret, token_secret"),
        "{stderr}"
    );
}

/// `weft serve` with the new channel mounted; killed when dropped.
struct Serve(std::process::Child, String);

impl Drop for Serve {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serve_feeds_the_new_channels_webhooks_to_a_ticket() {
    let dir = tempfile::tempdir().unwrap();
    let db = format!("sqlite://{}", dir.path().join("weft.db").display());
    let channels = channels_file(
        dir.path(),
        "{ api_base: \"http://127.0.0.1:9\", signature_secret: acme_signing, channel: chat }",
    );
    let log = dir.path().join("serve.log");
    let mut child = weft(dir.path(), &["serve", "--listen", "127.0.0.1:0", "--db", &db])
        .arg("--workflows")
        .arg(root().join("workflows"))
        .arg("--channels")
        .arg(&channels)
        .env("WEFT_SECRET_ACME_SIGNING", SIGNING)
        .env("WEFT_LOG", "info")
        .stdout(Stdio::piped())
        .stderr(std::fs::File::create(&log).unwrap())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let Some(base) = line.trim().strip_prefix("listening on ").map(str::to_owned) else {
        panic!(
            "weft serve printed {line:?}: {}",
            std::fs::read_to_string(&log).unwrap_or_default()
        );
    };
    let serve = Serve(child, base);
    let hook = format!("{}/hooks/acme", serve.1);
    let client = reqwest::Client::new();
    let post = |body: String, signature: Option<String>| {
        let mut request = client.post(&hook).header("content-type", "application/json").body(body);
        if let Some(signature) = signature {
            request = request.header("X-Signature-256", signature);
        }
        async move {
            let response = request.send().await.unwrap();
            (response.status().as_u16(), response.text().await.unwrap())
        }
    };

    let body = serde_json::json!({
        "id": "acme-m-1", "conversation": "conv-9",
        "from": { "name": "Zoé Lefèvre", "email": "zoe@example.fr" },
        "text": "Où est ma commande ? 注文はどこですか。", "lang": "fr",
    })
    .to_string();
    let (status, answer) = post(body.clone(), None).await;
    assert_eq!(status, 401, "{answer}");
    assert!(answer.contains("X-Signature-256 header is missing"), "{answer}");
    let (status, answer) = post(body.clone(), Some(sign(b"another body"))).await;
    assert_eq!(status, 401, "{answer}");
    let (status, answer) = post(body.clone(), Some(sign(body.as_bytes()))).await;
    assert_eq!(status, 202, "{answer}");
    // Authentic but no event: kept, answered, then a dead letter with the plugin's reason.
    let broken = r#"{"id":"acme-m-2"}"#.to_owned();
    let (status, answer) = post(broken.clone(), Some(sign(broken.as_bytes()))).await;
    assert_eq!(status, 202, "{answer}");

    let store = Store::open_existing(&db).await.unwrap();
    let start = Instant::now();
    loop {
        let tickets = store.export_tickets().await.unwrap();
        let letters = store.dead_letters(true).await.unwrap();
        let on_ticket = tickets.iter().any(|t| {
            t["messages"]
                .as_array()
                .is_some_and(|m| m.iter().any(|id| id == "acme-m-1"))
        });
        if on_ticket && !letters.is_empty() {
            let reasons: Vec<&str> = letters.iter().map(|l| l.error.as_str()).collect();
            assert!(
                reasons
                    .iter()
                    .any(|r| r.contains("cannot read the acme-chat webhook: missing field `text`")),
                "{reasons:?}"
            );
            break;
        }
        assert!(
            start.elapsed() < Duration::from_secs(120),
            "the webhook did not reach a ticket: {tickets:?} {letters:?}\n{}",
            std::fs::read_to_string(&log).unwrap_or_default()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// What the vendor on 127.0.0.1 received: authorization, idempotency key, body.
type Received = Arc<Mutex<Vec<(Option<String>, Option<String>, serde_json::Value)>>>;

/// A vendor API that rate-limits the first reply and takes the second.
async fn vendor() -> (u16, Received) {
    use axum::http::{HeaderMap, StatusCode};
    let received: Received = Arc::default();
    let seen = Arc::clone(&received);
    let app = axum::Router::new().route(
        "/v1/messages",
        axum::routing::post(move |headers: HeaderMap, body: axum::body::Bytes| {
            let seen = Arc::clone(&seen);
            async move {
                let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok()).map(str::to_owned);
                let json = serde_json::from_slice(&body).unwrap_or(serde_json::Value::Null);
                let count = {
                    let mut seen = seen.lock().unwrap();
                    seen.push((header("authorization"), header("idempotency-key"), json));
                    seen.len()
                };
                if count == 1 {
                    (
                        StatusCode::TOO_MANY_REQUESTS,
                        [("retry-after", "30")],
                        "{\"error\":\"slow down\"}".to_owned(),
                    )
                } else {
                    (
                        StatusCode::CREATED,
                        [("content-type", "application/json")],
                        "{\"id\":\"acme-out-1\"}".to_owned(),
                    )
                }
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move { axum::serve(listener, app).await });
    (port, received)
}

/// A delivery's result. (The one place that reads what `Plugin::deliver` returns.)
async fn deliver(
    plugin: &weft::runtime::Plugin,
    config: &serde_json::Value,
    call: &CallOptions,
) -> Result<Delivery, StepFailure> {
    let reply = Outbound {
        key: "ticket-1-reply-1".into(),
        to: "zoe@example.fr".into(),
        thread: Some("conv-9".into()),
        subject: None,
        body: "Votre colis arrive demain. 明日届きます。 سيصل غداً".into(),
        lang: Some("fr".into()),
        ..Default::default()
    };
    plugin.deliver(&reply, config, call).await.result
}

/// Setting an environment variable in a threaded test process is unsound: the test runs
/// itself again in a child process that has the token's secret in its environment.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn delivers_through_the_runtime() {
    let Ok(wasm) = std::env::var(WASM_VAR) else {
        let output = Command::new(std::env::current_exe().unwrap())
            .args([
                "--exact",
                "delivers_through_the_runtime",
                "--nocapture",
                "--test-threads=1",
            ])
            .env(WASM_VAR, &made().wasm)
            .env("WEFT_SECRET_ACME_TOKEN", TOKEN)
            .output()
            .unwrap();
        let stdout = String::from_utf8_lossy(&output.stdout);
        assert!(
            output.status.success(),
            "{stdout}\n{}",
            String::from_utf8_lossy(&output.stderr)
        );
        assert!(stdout.contains("1 passed"), "{stdout}");
        return;
    };
    let cache = tempfile::tempdir().unwrap();
    let runtime = Runtime::new(RuntimeConfig {
        cache_dir: Some(cache.path().to_owned()),
        ..RuntimeConfig::default()
    })
    .unwrap();
    let plugin = runtime.load(Path::new(&wasm)).await.unwrap();
    assert_eq!(plugin.kind(), PluginKind::Channel);
    assert_eq!(
        (plugin.info().name.as_str(), plugin.info().version.as_str()),
        (NAME, "0.1.0")
    );

    let (port, received) = vendor().await;
    let config = serde_json::json!({ "api_base": format!("http://127.0.0.1:{port}"), "token_secret": "acme_token" });
    let mut call = CallOptions::new("acme", Duration::from_secs(10));
    call.granted_by = GrantedBy::ChannelsFile;
    call.grants = Grants {
        http_hosts: vec!["127.0.0.1".into()],
        secrets: vec!["acme_token".into()],
        embeddings: false,
        smtp: None,
    };

    // Rate-limited: retryable, with the vendor's delay and words, from the channel named by its mount.
    let failure = deliver(&plugin, &config, &call).await.unwrap_err();
    assert!(failure.is_retryable(), "{failure}");
    assert!(
        matches!(&failure, StepFailure::Plugin { error: PluginError::RetryLater { after, reason }, .. }
            if after.as_secs() == 30 && reason.contains("HTTP 429, retry after 30s") && reason.contains("slow down")),
        "{failure}"
    );
    assert!(
        failure.to_string().starts_with("channel `acme` (acme-chat@0.1.0): "),
        "{failure}"
    );
    // Then taken.
    let delivery = deliver(&plugin, &config, &call).await.unwrap();
    assert_eq!(delivery.external_id.as_deref(), Some("acme-out-1"));
    {
        let received = received.lock().unwrap();
        assert_eq!(received.len(), 2);
        for (authorization, key, body) in received.iter() {
            assert_eq!(authorization.as_deref(), Some(&*format!("Bearer {TOKEN}")));
            assert_eq!(key.as_deref(), Some("ticket-1-reply-1"));
            assert_eq!(body["text"], "Votre colis arrive demain. 明日届きます。 سيصل غداً");
            assert_eq!(body["conversation"], "conv-9");
        }
    }

    // A host the mount does not grant: denied, and the message says what the entry of the
    // channels file must read.
    let mut no_http = call.clone();
    no_http.grants.http_hosts.clear();
    let failure = deliver(&plugin, &config, &no_http).await.unwrap_err();
    let StepFailure::Denied { denial, .. } = &failure else {
        panic!("expected a denial, got {failure:?}");
    };
    assert_eq!(
        denial,
        "http to 127.0.0.1 is not allowed for channel `acme`: add 127.0.0.1 to channel `acme` in the channels file: `allow: { http: [127.0.0.1], secrets: [acme_token] }`"
    );
    assert!(!failure.is_retryable());
    assert!(!failure.to_string().contains("step"), "{failure}");
    // A secret it does not grant.
    let mut no_secret = call.clone();
    no_secret.grants.secrets.clear();
    let failure = deliver(&plugin, &config, &no_secret).await.unwrap_err();
    assert_eq!(
        failure.to_string(),
        "channel `acme` (acme-chat@0.1.0): secret `acme_token` is not allowed for channel `acme`: add acme_token to channel `acme` in the channels file: `allow: { http: [127.0.0.1], secrets: [acme_token] }`"
    );
    // Neither refused call reached the vendor.
    assert_eq!(received.lock().unwrap().len(), 2);
}
