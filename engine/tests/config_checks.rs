//! Golden tests of what the real plugins find in `with:` when a workflow loads (their
//! `check-config` export, called through the runtime): every `config_checks/*.yaml` is loaded
//! against the plugins built from source, and its diagnostics (or, for a valid file, a
//! rendering of the compiled workflow) compared with the `.stderr` file beside it.
//! `BLESS=1 cargo test -p weft --test config_checks` rewrites the expectations.
//!
//! Each broken case is a value that the plugin's JSON Schema lets through and that failed every
//! event at run time before the plugins could check their configuration: a GB calendar without
//! a region, an unknown country, `resolution: 36500d`, `min_score: 1.5`, and a plugin whose
//! check traps or loops.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;
use weft::exec::pipeline::{load_plugins, load_workflows};
use weft::runtime::{CallOptions, Plugin, Runtime, RuntimeConfig};

fn cases_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/config_checks")
}

/// The shipped plugins and the faulty test step, loaded once per test.
async fn plugins() -> BTreeMap<String, Plugin> {
    let runtime = Runtime::new(RuntimeConfig {
        cache_dir: Some(std::env::temp_dir().join("weft-test-cache")),
        ..RuntimeConfig::default()
    })
    .expect("runtime");
    load_plugins(&runtime, weft_test_support::plugins_dir())
        .await
        .expect("plugins load")
}

/// A case's diagnostics (paths relative to the crate), or the workflow it compiles to.
async fn run(case: &Path, plugins: &BTreeMap<String, Plugin>) -> String {
    let relative = case
        .strip_prefix(env!("CARGO_MANIFEST_DIR"))
        .expect("the case is in the crate")
        .to_path_buf();
    // Loaded by its path relative to the crate (cargo runs tests there), so that diagnostics
    // name it as a seller would see it.
    match load_workflows(&[relative], plugins).await {
        Ok(workflows) => workflows.iter().map(ToString::to_string).collect(),
        Err(diagnostics) => format!("{diagnostics}\n"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn check() {
    let bless = std::env::var_os("BLESS").is_some_and(|v| v == "1");
    let plugins = plugins().await;
    let mut cases: Vec<PathBuf> = std::fs::read_dir(cases_dir())
        .expect("cases directory")
        .map(|entry| entry.expect("directory entry").path())
        .filter(|path| path.extension().is_some_and(|ext| ext == "yaml"))
        .collect();
    cases.sort();
    assert!(cases.len() >= 6, "only {} cases", cases.len());
    let mut failures = Vec::new();
    for case in &cases {
        let actual = run(case, &plugins).await;
        let expected_path = case.with_extension("stderr");
        if bless {
            std::fs::write(&expected_path, &actual).expect("write expectation");
            continue;
        }
        let expected = std::fs::read_to_string(&expected_path).unwrap_or_default();
        if expected != actual {
            failures.push(format!(
                "--- {}\n--- expected\n{expected}--- actual\n{actual}",
                case.display()
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} cases differ (BLESS=1 to update):\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n")
    );
}

/// The shipped workflows pass their plugins' checks: what ships validates and runs.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_shipped_workflows_pass_their_plugins_checks() {
    let plugins = plugins().await;
    let shipped = Path::new(env!("CARGO_MANIFEST_DIR")).join("../workflows");
    let workflows = load_workflows(&[shipped], &plugins)
        .await
        .expect("the shipped workflows are valid");
    assert_eq!(workflows.len(), 2);
}

/// Channels answer `check-config` through the runtime too (the channels file checks theirs
/// with it); a channel whose configuration is fine has nothing to say.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn channels_check_their_configuration() {
    let plugins = plugins().await;
    let call = CallOptions::new("shop-de", Duration::from_secs(5));
    let json = &plugins["json"];
    let blank = serde_json::json!({ "default_channel": "  " });
    let problems = json.check_config(&blank, &call).await.expect("the check runs");
    assert_eq!(problems.len(), 1, "{problems:?}");
    assert_eq!(problems[0].pointer, "/default_channel");
    let fine = serde_json::json!({ "default_channel": "チャット" });
    assert_eq!(json.check_config(&fine, &call).await.expect("the check runs"), []);

    let email = &plugins["email"];
    let domains = serde_json::json!({ "marketplace_domains": { "relay.otto.de": "otto", "a b/c": " " } });
    let problems = email.check_config(&domains, &call).await.expect("the check runs");
    let pointers: Vec<&str> = problems.iter().map(|p| p.pointer.as_str()).collect();
    assert_eq!(pointers, ["/marketplace_domains/a b~1c", "/marketplace_domains/a b~1c"]);
}

/// A channels file gets its plugins' checks as a workflow does: each problem at the line and
/// column of the value it concerns, every one at once; a mount that passes loads.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn channels_files_get_their_plugins_checks() {
    let plugins = plugins().await;
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("channels.yaml");
    std::fs::write(
        &file,
        "version: 1
channels:
  - id: helpdesk
    uses: json
    with:
      default_channel: chat
      deliver_url: ftp://helpdesk.example.com/weft
  - id: signed
    uses: json
    with: { deliver_url: 'https://hd.example.com/replies', signature_secret: hd }
    allow: { http: [hd.example.com], secrets: [hd] }
",
    )
    .unwrap();
    let text = weft::exec::pipeline::load_channels(&file, &plugins)
        .await
        .unwrap_err()
        .to_string();
    let lines: Vec<&str> = text.lines().filter(|l| l.contains("channels.yaml:")).collect();
    assert_eq!(lines.len(), 2, "{text}");
    assert!(
        lines[0].ends_with("channels.yaml:7:20: in `with:` of channel `helpdesk` at `deliver_url`: `ftp://helpdesk.example.com/weft` is not an http or https URL, expected an http or https URL such as `https://helpdesk.example.com/weft/replies`"),
        "{text}"
    );
    assert!(
        lines[1].ends_with("channels.yaml:7:20: in `with:` of channel `helpdesk` at `deliver_url`: replies are signed, but no `signature_secret` is set, expected `signature_secret: NAME`, with NAME granted in `allow: { secrets: [NAME] }`"),
        "{text}"
    );

    std::fs::write(
        &file,
        "version: 1\nchannels:\n  - id: signed\n    uses: json\n    with: { deliver_url: 'https://hd.example.com/replies', signature_secret: hd }\n    allow: { http: [hd.example.com], secrets: [hd] }\n",
    )
    .unwrap();
    let channels = weft::exec::pipeline::load_channels(&file, &plugins).await.unwrap();
    assert_eq!(
        channels.get("signed").unwrap().with["deliver_url"],
        "https://hd.example.com/replies"
    );
}
