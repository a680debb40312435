//! The plugin runtime against real components: the json channel and the faulty test step,
//! built from source, under limits, grants and a context reader.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use weft::runtime::{
    CallOptions, Grants, MemoryReader, Plugin, PluginError, PluginKind, Runtime, RuntimeConfig, RuntimeError,
    StepFailure,
};
use weft_sdk::testing::MemoryContext;
use weft_sdk::*;

const FAULTY: &str = "weft_test_faulty.wasm";
const JSON: &str = "weft_plugin_json.wasm";

/// A fresh directory under the target dir, unique in this test process.
fn temp_dir(name: &str) -> PathBuf {
    static NEXT: AtomicUsize = AtomicUsize::new(0);
    let dir = weft_test_support::workspace_root()
        .join("target")
        .join("runtime-tests")
        .join(format!(
            "{name}-{}-{}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        ));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("create a test directory");
    dir
}

/// A compile cache shared by the tests of this process, so each component compiles once.
fn shared_cache() -> PathBuf {
    static DIR: std::sync::OnceLock<PathBuf> = std::sync::OnceLock::new();
    DIR.get_or_init(|| temp_dir("cache")).clone()
}

fn runtime_with_cache(cache_dir: PathBuf) -> Runtime {
    Runtime::new(RuntimeConfig {
        cache_dir: Some(cache_dir),
        max_instances: 8,
        ..RuntimeConfig::default()
    })
    .expect("runtime")
}

async fn load(name: &str) -> Plugin {
    let runtime = runtime_with_cache(shared_cache());
    runtime
        .load(&weft_test_support::plugins_dir().join(name))
        .await
        .expect("load plugin")
}

fn call(step: &str) -> CallOptions {
    CallOptions::new(step, Duration::from_secs(10))
}

fn fault(name: &str) -> serde_json::Value {
    serde_json::json!({ "fault": name })
}

/// A message from Anna, in German.
fn event() -> Event {
    let mut message = Message::new("email", "<m1@example.de>", 1_760_000_000_000);
    message.from.email = Some("anna@example.de".into());
    message.subject = Some("Wo ist meine Bestellung?".into());
    message.body = "Hallo, meine Bestellung 304-1234567 ist noch nicht angekommen.".into();
    message.lang = Some("de".into());
    Event {
        id: 7,
        kind: "message.received".into(),
        at: 1_760_000_000_000,
        message: Some(message),
        customer: None,
        ticket: None,
        payload: serde_json::Value::Null,
    }
}

fn reader() -> MemoryReader {
    MemoryReader::new(
        MemoryContext::new()
            .with_customer(1, &[Identity::new(IdentityKind::Email, "anna@example.de")])
            .with_customer(
                2,
                &[
                    Identity::new(IdentityKind::Email, "anna@example.de"),
                    Identity::new(IdentityKind::Name, "Anna Müller"),
                ],
            )
            .with_customer(3, &[Identity::new(IdentityKind::Email, "yuki@example.jp")]),
    )
}

fn tag_of(decisions: &[Decision]) -> Vec<String> {
    decisions
        .iter()
        .filter_map(|d| match &d.command {
            Command::SetField(f) if f.name == "tag" => Some(f.value.clone()),
            _ => None,
        })
        .collect()
}

/// The faulty step with `ok` still works: called after every failure.
async fn assert_still_good(plugin: &Plugin) {
    let (reader, result) = plugin.decide(&event(), &fault("ok"), &call("after"), reader()).await;
    let output = result.expect("a good call after a failure");
    assert_eq!(tag_of(&output.decisions), ["ok"]);
    assert_eq!(reader.lookups, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn json_channel_parses_lines() {
    let plugin = load(JSON).await;
    assert_eq!(plugin.kind(), PluginKind::Channel);
    assert_eq!(plugin.info().name, "json");
    assert!(plugin.info().config_schema.is_object());
    let body = [
        r#"{"channel":"chat","id":"c-1","at":"2026-03-01T10:00:00Z","from":{"email":"anna@example.de"},"body":"Wo ist meine Bestellung?","lang":"de"}"#,
        "",
        r#"{"channel":"amazon","id":"a-2","at":"2026-03-01T11:00:00+09:00","order":"250-1234567-7654321","body":"注文した商品がまだ届きません","lang":"ja"}"#,
        r#"{"channel":"email","id":"e-3","at":"2026-03-01T12:00:00Z","body":"Quiero devolver el pedido, 我想退货","lang":"es"}"#,
    ]
    .join("\n");
    let inbound = Inbound {
        source: "inbox.jsonl".into(),
        body: body.into_bytes(),
        ..Inbound::default()
    };
    let messages: Vec<weft_sdk::Message> = plugin
        .parse(&inbound, &serde_json::json!({}), &call("import"))
        .await
        .expect("parse")
        .into_iter()
        .map(|item| match item {
            weft_sdk::Item::Message(message) => message,
            other => panic!("a message, not {other:?}"),
        })
        .collect();
    assert_eq!(messages.len(), 3);
    assert_eq!(messages[0].from.email.as_deref(), Some("anna@example.de"));
    assert_eq!(messages[1].body, "注文した商品がまだ届きません");
    assert_eq!(messages[1].at, 1_772_330_400_000);
    assert_eq!(messages[2].body, "Quiero devolver el pedido, 我想退货");

    let bad = Inbound {
        source: "inbox.jsonl".into(),
        body: b"{\"id\":\"x\"}".to_vec(),
        ..Inbound::default()
    };
    match plugin.parse(&bad, &serde_json::json!({}), &call("import")).await {
        Err(StepFailure::Plugin {
            error: PluginError::Permanent(message),
            origin,
        }) => {
            assert!(message.starts_with("inbox.jsonl:1:"), "{message}");
            assert_eq!(origin.step, "import");
        }
        other => panic!("expected a permanent error, got {other:?}"),
    }
    assert!(
        plugin
            .verify(&inbound, &serde_json::json!({}), &call("import"))
            .await
            .is_ok()
    );

    let reply = Outbound {
        key: "k1".into(),
        to: "anna@example.de".into(),
        thread: None,
        subject: None,
        body: "Ihre Bestellung ist unterwegs.".into(),
        lang: Some("de".into()),
        ..Default::default()
    };
    // Without a `deliver_url`, the json channel refuses before any request leaves the host.
    let outcome = plugin.deliver(&reply, &serde_json::json!({}), &call("reply")).await;
    assert_eq!(outcome.requests_sent, 0);
    match outcome.result {
        Err(StepFailure::Plugin {
            error: PluginError::Permanent(message),
            ..
        }) => {
            assert!(message.contains("deliver_url"), "{message}")
        }
        other => panic!("expected a refusal, got {other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_calls_get_their_own_instances() {
    let plugin = std::sync::Arc::new(load(FAULTY).await);
    let spinning = plugin.clone();
    let slow = tokio::spawn(async move {
        let spin = CallOptions::new("spin", Duration::from_millis(100));
        let (_, result) = spinning.decide(&event(), &fault("loop"), &spin, reader()).await;
        result
    });
    let mut tags = Vec::new();
    for _ in 0..5 {
        let (_, result) = plugin.decide(&event(), &fault("ok"), &call("ok"), reader()).await;
        tags.extend(tag_of(&result.expect("ok").decisions));
    }
    let slow = slow.await.expect("the spinning task");
    assert!(matches!(slow, Err(StepFailure::Timeout { .. })), "{slow:?}");
    assert_eq!(tags, ["ok"; 5]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ok_reads_the_context_and_logs() {
    let plugin = load(FAULTY).await;
    assert_eq!(plugin.kind(), PluginKind::Step);
    assert_eq!(plugin.info().name, "weft-test-faulty");
    let (reader, result) = plugin.decide(&event(), &fault("ok"), &call("identify"), reader()).await;
    let output = result.expect("ok");
    assert_eq!(tag_of(&output.decisions), ["ok"]);
    assert_eq!(output.decisions[0].evidence[0].detail, "2 customers known");
    assert_eq!(output.logs, [(LogLevel::Info, "found 2 customers".to_owned())]);
    assert_eq!(reader.lookups, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn context_answers_reach_the_plugin_and_reader_errors_fail_the_step() {
    let plugin = load(FAULTY).await;
    let (_, result) = plugin
        .decide(&event(), &fault("context"), &call("identify"), reader())
        .await;
    let linked: Vec<_> = result
        .expect("context")
        .decisions
        .into_iter()
        .map(|d| match d.command {
            Command::LinkCustomer(l) => (l.customer, l.identities.len()),
            other => panic!("unexpected {other:?}"),
        })
        .collect();
    assert_eq!(linked, [(CustomerRef::Existing(1), 1), (CustomerRef::Existing(2), 2)]);

    let mut failing = reader();
    failing.fail_with = Some("database is locked".into());
    let (failing, result) = plugin
        .decide(&event(), &fault("context"), &call("identify"), failing)
        .await;
    match result {
        Err(failure @ StepFailure::Host { .. }) => {
            let text = failure.to_string();
            assert!(
                text.contains("find-customers") && text.contains("database is locked"),
                "{text}"
            );
            assert!(failure.is_retryable());
        }
        other => panic!("expected a host failure, got {other:?}"),
    }
    assert_eq!(failing.lookups, 1);
    assert_still_good(&plugin).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_loop_is_stopped_at_its_timeout_and_the_reader_comes_back() {
    let plugin = load(FAULTY).await;
    let options = CallOptions::new("spin", Duration::from_millis(100));
    let mut lent = reader();
    lent.lookups = 41;
    let (back, result) = plugin.decide(&event(), &fault("loop"), &options, lent).await;
    match result {
        Err(failure @ StepFailure::Timeout { .. }) => {
            assert_eq!(failure.origin().step, "spin");
            assert!(failure.to_string().contains("weft-test-faulty@0.1.0"), "{failure}");
        }
        other => panic!("expected a timeout, got {other:?}"),
    }
    assert_eq!(back.lookups, 41);
    assert_eq!(back.data.customers.len(), 3);
    assert_still_good(&plugin).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hog_is_stopped_at_its_memory_limit() {
    let plugin = load(FAULTY).await;
    let mut options = call("hog");
    options.memory_limit_bytes = Some(16 * 1024 * 1024);
    let (_, result) = plugin.decide(&event(), &fault("hog"), &options, reader()).await;
    match result {
        Err(StepFailure::MemoryLimit { limit, .. }) => assert_eq!(limit, 16 * 1024 * 1024),
        other => panic!("expected the memory limit, got {other:?}"),
    }
    assert_still_good(&plugin).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn traps_panics_and_garbage_fail_the_step() {
    let plugin = load(FAULTY).await;

    let (back, result) = plugin.decide(&event(), &fault("trap"), &call("trap"), reader()).await;
    assert_eq!(back.data.customers.len(), 3);
    match result {
        Err(StepFailure::Trap { message, .. }) => {
            assert!(message.contains("unreachable"), "{message}")
        }
        other => panic!("expected a trap, got {other:?}"),
    }
    assert_still_good(&plugin).await;

    let (_, result) = plugin.decide(&event(), &fault("panic"), &call("panic"), reader()).await;
    match result {
        Err(failure @ StepFailure::Trap { .. }) => {
            let text = failure.to_string();
            assert!(
                text.contains("faulty step panicked on purpose: 顧客 nicht gefunden"),
                "{text}"
            );
            assert!(!failure.is_retryable());
        }
        other => panic!("expected a trap, got {other:?}"),
    }
    assert_still_good(&plugin).await;

    let (_, result) = plugin
        .decide(&event(), &fault("garbage"), &call("garbage"), reader())
        .await;
    match result {
        Err(StepFailure::InvalidOutput { problem, .. }) => {
            assert_eq!(problem, "decision 0 (set-field): the reason is empty")
        }
        other => panic!("expected invalid output, got {other:?}"),
    }
    assert_still_good(&plugin).await;

    let (_, result) = plugin
        .decide(&event(), &serde_json::json!({"fault": "nap"}), &call("bad"), reader())
        .await;
    match result {
        Err(StepFailure::Plugin {
            error: PluginError::BadConfig(message),
            ..
        }) => {
            assert!(message.contains("nap"), "{message}")
        }
        other => panic!("expected bad config, got {other:?}"),
    }
}

/// Serves `body` to every request on 127.0.0.1, HTTP/1.1, one request per connection.
async fn serve(body: &'static str) -> u16 {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let port = listener.local_addr().expect("address").port();
    tokio::spawn(async move {
        while let Ok((mut stream, _)) = listener.accept().await {
            tokio::spawn(async move {
                let mut request = Vec::new();
                let mut buf = [0u8; 1024];
                while !request.windows(4).any(|w| w == b"\r\n\r\n") {
                    match stream.read(&mut buf).await {
                        Ok(0) | Err(_) => return,
                        Ok(n) => request.extend_from_slice(&buf[..n]),
                    }
                }
                let head = format!(
                    "HTTP/1.1 200 OK\r\ncontent-type: text/plain; charset=utf-8\r\ncontent-length: {}\r\nconnection: close\r\n\r\n",
                    body.len()
                );
                let _ = stream.write_all(head.as_bytes()).await;
                let _ = stream.write_all(body.as_bytes()).await;
                let _ = stream.shutdown().await;
            });
        }
    });
    port
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn http_is_denied_without_a_grant_and_allowed_with_one() {
    let body = "Grüße, ¡hola!, 你好, こんにちは";
    let port = serve(body).await;
    let plugin = load(FAULTY).await;
    let config = serde_json::json!({ "fault": "http", "port": port });

    let (_, result) = plugin.decide(&event(), &config, &call("notify"), reader()).await;
    match result {
        Err(StepFailure::Denied { denial, error, .. }) => {
            assert_eq!(
                denial,
                "http to 127.0.0.1 is not allowed for step `notify`: add `allow: { http: [127.0.0.1] }` to the step"
            );
            assert_eq!(error, PluginError::Permanent(denial.clone()));
        }
        other => panic!("expected a denial, got {other:?}"),
    }

    let mut other_host = call("notify");
    other_host.grants.http_hosts = vec!["*.example.com".into()];
    let (_, result) = plugin.decide(&event(), &config, &other_host, reader()).await;
    assert!(matches!(result, Err(StepFailure::Denied { .. })), "{result:?}");

    let mut granted = call("notify");
    granted.grants = Grants {
        http_hosts: vec!["127.0.0.1".into()],
        secrets: vec![],
        embeddings: false,
        smtp: None,
    };
    let (_, result) = plugin.decide(&event(), &config, &granted, reader()).await;
    assert_eq!(
        tag_of(&result.expect("granted fetch").decisions),
        [body.len().to_string()]
    );
    // Grants are per call: the warm instance that was just granted is refused again.
    let (_, result) = plugin.decide(&event(), &config, &call("notify"), reader()).await;
    assert!(matches!(result, Err(StepFailure::Denied { .. })), "{result:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn secrets_are_denied_without_a_grant() {
    let plugin = load(FAULTY).await;
    let (_, result) = plugin.decide(&event(), &fault("secret"), &call("sync"), reader()).await;
    match result {
        Err(StepFailure::Denied { denial, .. }) => assert_eq!(
            denial,
            "secret `api_token` is not allowed for step `sync`: add `allow: { secrets: [api_token] }` to the step"
        ),
        other => panic!("expected a denial, got {other:?}"),
    }
    assert_still_good(&plugin).await;
}

/// Setting an environment variable in a threaded test process is unsound, so this test runs
/// itself again in a child process that has the secret in its environment.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn granted_secrets_are_read_from_the_environment() {
    const SECRET: &str = "sk_Grüße_東京_123";
    if std::env::var("WEFT_SECRET_API_TOKEN").as_deref() != Ok(SECRET) {
        let output = std::process::Command::new(std::env::current_exe().expect("test binary"))
            .args([
                "--exact",
                "granted_secrets_are_read_from_the_environment",
                "--nocapture",
                "--test-threads=1",
            ])
            .env("WEFT_SECRET_API_TOKEN", SECRET)
            .output()
            .expect("run the test binary");
        let stdout = String::from_utf8_lossy(&output.stdout);
        assert!(
            output.status.success(),
            "{stdout}\n{}",
            String::from_utf8_lossy(&output.stderr)
        );
        assert!(stdout.contains("1 passed"), "{stdout}");
        return;
    }
    let plugin = load(FAULTY).await;
    let mut granted = call("sync");
    granted.grants.secrets = vec!["api_token".into()];
    let (_, result) = plugin.decide(&event(), &fault("secret"), &granted, reader()).await;
    assert_eq!(
        tag_of(&result.expect("granted secret").decisions),
        [SECRET.chars().count().to_string()]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn channels_are_not_steps() {
    let plugin = load(JSON).await;
    let (_, result) = plugin
        .decide(&event(), &serde_json::Value::Null, &call("x"), reader())
        .await;
    assert!(
        matches!(
            result,
            Err(StepFailure::WrongKind {
                expected: PluginKind::Step,
                ..
            })
        ),
        "{result:?}"
    );
}

fn cache_entries(dir: &Path) -> Vec<PathBuf> {
    let mut entries: Vec<_> = std::fs::read_dir(dir)
        .expect("cache dir")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "cwasm"))
        .collect();
    entries.sort();
    entries
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_compile_cache_is_hit_and_recovers_from_damage() {
    let dir = temp_dir("cache-hit");
    let path = weft_test_support::plugins_dir().join(FAULTY);

    let first = runtime_with_cache(dir.clone());
    let plugin = first.load(&path).await.expect("compile");
    assert!(!plugin.loaded_from_cache());
    assert_eq!(first.compilations(), 1);
    assert_eq!(cache_entries(&dir).len(), 1);

    let second = runtime_with_cache(dir.clone());
    let plugin = second.load(&path).await.expect("from cache");
    assert!(plugin.loaded_from_cache());
    assert_eq!(second.compilations(), 0);
    assert_still_good(&plugin).await;

    let entry = &cache_entries(&dir)[0];
    let mut bytes = std::fs::read(entry).expect("read entry");
    let middle = bytes.len() / 2;
    bytes[middle] ^= 0xff;
    std::fs::write(entry, &bytes).expect("damage entry");
    let third = runtime_with_cache(dir.clone());
    let plugin = third.load(&path).await.expect("recompiled");
    assert!(!plugin.loaded_from_cache());
    assert_eq!(third.compilations(), 1);
    assert_still_good(&plugin).await;

    std::fs::write(entry, b"short").expect("truncate entry");
    let fourth = runtime_with_cache(dir.clone());
    assert!(!fourth.load(&path).await.expect("recompiled").loaded_from_cache());
    let fifth = runtime_with_cache(dir);
    assert!(fifth.load(&path).await.expect("cached again").loaded_from_cache());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn load_dir_names_duplicates_and_rejects_non_components() {
    let dir = temp_dir("plugins");
    let built = weft_test_support::plugins_dir();
    std::fs::copy(built.join(FAULTY), dir.join("a-faulty.wasm")).expect("copy");
    std::fs::copy(built.join(JSON), dir.join("b-json.wasm")).expect("copy");
    std::fs::write(dir.join("notes.txt"), "not a plugin").expect("write");
    let runtime = runtime_with_cache(shared_cache());
    let plugins = runtime.load_dir(&dir).await.expect("load dir");
    let names: Vec<_> = plugins.iter().map(|p| p.info().name.as_str()).collect();
    assert_eq!(names, ["weft-test-faulty", "json"]);

    std::fs::copy(built.join(FAULTY), dir.join("c-faulty-again.wasm")).expect("copy");
    match runtime.load_dir(&dir).await {
        Err(error @ RuntimeError::DuplicatePlugin { .. }) => {
            let text = error.to_string();
            assert!(
                text.contains("a-faulty.wasm") && text.contains("c-faulty-again.wasm"),
                "{text}"
            );
        }
        other => panic!("expected a duplicate, got {other:?}"),
    }

    std::fs::write(dir.join("broken.wasm"), b"\0asm\x01\0\0\0garbage").expect("write");
    match runtime.load(&dir.join("broken.wasm")).await {
        Err(RuntimeError::NotAComponent { path, .. }) => assert!(path.ends_with("broken.wasm")),
        other => panic!("expected not a component, got {other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_perf_map_names_the_plugins_compiled_functions() {
    let runtime = Runtime::new(RuntimeConfig {
        cache_dir: Some(shared_cache()),
        max_instances: 2,
        perf_map: true,
        ..RuntimeConfig::default()
    })
    .expect("runtime");
    let plugin = runtime
        .load(&weft_test_support::plugins_dir().join(FAULTY))
        .await
        .expect("load plugin");
    let (_, result) = plugin.decide(&event(), &fault("ok"), &call("profiled"), reader()).await;
    assert_eq!(tag_of(&result.expect("a call").decisions), ["ok"]);
    // perf's convention: /tmp/perf-<pid>.map, one "start size name" line per function.
    let map = PathBuf::from(format!("/tmp/perf-{}.map", std::process::id()));
    let text = std::fs::read_to_string(&map).unwrap_or_else(|e| panic!("{}: {e}", map.display()));
    let wasm_lines = text.lines().filter(|line| line.contains("wasm")).count();
    assert!(
        wasm_lines > 10,
        "{} names {wasm_lines} wasm functions:\n{text:.2000}",
        map.display()
    );
    let _ = std::fs::remove_file(&map);
}
