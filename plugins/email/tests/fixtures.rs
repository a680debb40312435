//! Data-driven tests: every `tests/fixtures/*.eml` is parsed and compared with the `*.json`
//! beside it (the messages, or `{"error": "..."}`). `BLESS=1 cargo test` rewrites the
//! expectations; read every rewritten file before committing it.
//!
//! A fixture may come with `*.config.json`, the channel's `with:` for it.

use std::path::{Path, PathBuf};
use weft_plugin_email::{Config, Email};
use weft_sdk::{Channel, Inbound};

fn fixtures() -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures");
    let mut paths: Vec<PathBuf> = std::fs::read_dir(&dir)
        .expect("tests/fixtures exists")
        .map(|entry| entry.expect("readable entry").path())
        .filter(|path| path.extension().is_some_and(|e| e == "eml"))
        .collect();
    paths.sort();
    paths
}

fn config_for(eml: &Path) -> Config {
    let path = eml.with_extension("config.json");
    match std::fs::read_to_string(&path) {
        Ok(text) => serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display())),
        Err(_) => Config::default(),
    }
}

fn actual(eml: &Path) -> serde_json::Value {
    let inbound = Inbound {
        source: eml.file_name().unwrap().to_string_lossy().into_owned(),
        content_type: Some("message/rfc822".into()),
        body: std::fs::read(eml).unwrap(),
        ..Inbound::default()
    };
    match Email::parse(&inbound, &config_for(eml)) {
        Ok(messages) => serde_json::to_value(messages).unwrap(),
        Err(error) => serde_json::json!({ "error": error.to_string() }),
    }
}

#[test]
fn check() {
    let bless = std::env::var_os("BLESS").is_some();
    let mut failures = Vec::new();
    let all = fixtures();
    assert!(all.len() >= 20, "expected at least 20 fixtures, found {}", all.len());
    for eml in all {
        let expected_path = eml.with_extension("json");
        let actual = actual(&eml);
        let rendered = serde_json::to_string_pretty(&actual).unwrap() + "\n";
        if bless {
            std::fs::write(&expected_path, &rendered).unwrap();
            continue;
        }
        match std::fs::read_to_string(&expected_path) {
            Ok(expected) if expected == rendered => {}
            Ok(expected) => failures.push(format!(
                "{}: output differs\n--- expected\n{expected}\n--- actual\n{rendered}",
                eml.display()
            )),
            Err(_) => failures.push(format!("{}: no expectation (run with BLESS=1)", eml.display())),
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
