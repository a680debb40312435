//! Golden tests of the workflow loader: every `workflow_diagnostics/*.yaml` is loaded and its
//! diagnostics (or, for a valid file, a rendering of the compiled workflow) compared with the
//! `.stderr` file beside it; every sub-directory is loaded as a whole with `load`.
//! `BLESS=1 cargo test -p weft --test workflow_diagnostics` rewrites the expectations.

use std::path::{Path, PathBuf};

use serde_json::json;
use weft::workflow::file::WorkflowFile;
use weft::workflow::{Catalog, Diagnostics, Loading, PluginKind, PluginSummary, Workflow, load, load_str};

/// Plugins as the engine would register them, with realistic config schemas.
fn catalog() -> Catalog {
    let mut catalog = Catalog::new();
    let step = |schema: serde_json::Value| PluginSummary {
        version: "0.1.0".to_owned(),
        kind: PluginKind::Step,
        config_schema: schema,
    };
    catalog.insert(
        "identity",
        step(json!({
            "type": "object",
            "additionalProperties": false,
            "properties": {
                "exact": { "type": "array", "items": { "enum": ["email", "phone", "order", "buyer_id"] } },
                "fuzzy": {
                    "type": "object",
                    "additionalProperties": false,
                    "properties": {
                        "min_score": { "type": "number", "minimum": 0, "maximum": 1 },
                        "fields": { "type": "array", "items": { "enum": ["name", "address"] } }
                    }
                }
            }
        })),
    );
    catalog.insert(
        "merger",
        step(json!({
            "type": "object",
            "additionalProperties": false,
            "required": ["window"],
            "properties": {
                "window": { "type": "string", "pattern": "^([0-9]+d)?([0-9]+h)?([0-9]+m)?$", "minLength": 2 },
                "same_order_only": { "type": "boolean" }
            }
        })),
    );
    catalog.insert(
        "router",
        step(json!({
            "type": "object",
            "additionalProperties": false,
            "properties": {
                "teams": {
                    "type": "object",
                    "minProperties": 1,
                    "additionalProperties": { "type": "array", "items": { "type": "string" }, "minItems": 1 }
                },
                "fallback": { "type": "string" }
            }
        })),
    );
    catalog.insert(
        "sla",
        step(json!({
            "type": "object",
            "additionalProperties": false,
            "required": ["policies"],
            "properties": {
                "policies": {
                    "type": "array",
                    "minItems": 1,
                    "items": {
                        "type": "object",
                        "additionalProperties": false,
                        "required": ["match", "first_response", "clock"],
                        "properties": {
                            "match": {
                                "type": "object",
                                "additionalProperties": false,
                                "properties": { "channel": { "type": "string" } }
                            },
                            "first_response": { "type": "string" },
                            "clock": { "enum": ["always", "business-hours"] }
                        }
                    }
                }
            }
        })),
    );
    catalog.insert(
        "json",
        PluginSummary {
            version: "0.1.0".to_owned(),
            kind: PluginKind::Channel,
            config_schema: json!({}),
        },
    );
    catalog
}

/// The loader's result when every plugin's own check finds nothing: the catalog above
/// describes plugins without running any (`config_checks.rs` runs the real ones).
fn finish(loading: Loading) -> Result<Vec<Workflow>, Diagnostics> {
    let answers = loading.config_checks().iter().map(|_| Ok(Vec::new())).collect();
    loading.finish(answers)
}

/// The test's cases directory, and paths shown relative to the crate.
fn cases_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/workflow_diagnostics")
}

fn relative(path: &Path) -> PathBuf {
    path.strip_prefix(env!("CARGO_MANIFEST_DIR"))
        .unwrap_or(path)
        .to_path_buf()
}

/// Runs one case (a file through `load_str`, a directory through `load`) and renders the result.
fn run(case: &Path, catalog: &Catalog) -> String {
    if case.is_dir() {
        return match finish(load(&[case.to_path_buf()], catalog)) {
            Ok(workflows) => workflows.iter().map(ToString::to_string).collect(),
            Err(diagnostics) => {
                let prefix = format!("{}/", env!("CARGO_MANIFEST_DIR"));
                format!("{diagnostics}\n").replace(&prefix, "")
            }
        };
    }
    let text = std::fs::read_to_string(case).expect("case is readable");
    match finish(load_str(&relative(case), &text, catalog)).map(|mut w| w.remove(0)) {
        Ok(workflow) => {
            // A file the loader accepts also reads through the documented file types.
            if let Err(error) = serde_yaml::from_str::<WorkflowFile>(&text) {
                return format!("accepted by the loader but not by the file types: {error}\n");
            }
            workflow.to_string()
        }
        Err(diagnostics) => format!("{diagnostics}\n"),
    }
}

#[test]
fn check() {
    let bless = std::env::var_os("BLESS").is_some_and(|v| v == "1");
    let catalog = catalog();
    let mut cases: Vec<PathBuf> = std::fs::read_dir(cases_dir())
        .expect("cases directory")
        .map(|entry| entry.expect("directory entry").path())
        .filter(|path| path.is_dir() || path.extension().is_some_and(|ext| ext == "yaml"))
        .collect();
    cases.sort();
    assert!(cases.len() >= 20, "only {} cases", cases.len());

    let mut failures = Vec::new();
    for case in &cases {
        let actual = run(case, &catalog);
        let expected_path = case.with_extension("stderr");
        if bless {
            std::fs::write(&expected_path, &actual).expect("write expectation");
            continue;
        }
        let expected = std::fs::read_to_string(&expected_path).unwrap_or_default();
        if expected != actual {
            failures.push(format!(
                "--- {}\n--- expected\n{expected}--- actual\n{actual}",
                relative(case).display()
            ));
        }
    }
    // Every expectation belongs to a case.
    for entry in std::fs::read_dir(cases_dir()).expect("cases directory") {
        let path = entry.expect("directory entry").path();
        if path.extension().is_some_and(|ext| ext == "stderr") {
            let yaml = path.with_extension("yaml");
            let dir = path.with_extension("");
            if !yaml.exists() && !dir.is_dir() {
                failures.push(format!("{} has no case", relative(&path).display()));
            }
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

#[test]
fn loaded_workflows_answer_the_engine() {
    let text = std::fs::read_to_string(cases_dir().join("valid_full.yaml")).expect("case");
    let workflow = finish(load_str(Path::new("valid_full.yaml"), &text, &catalog())).expect("valid")[0].clone();
    assert!(workflow.triggered_by("message.received"));
    assert!(workflow.triggered_by("ticket.reopened"));
    assert!(!workflow.triggered_by("timer.fired"));
    let route = workflow
        .steps
        .iter()
        .find(|s| s.id.as_str() == "route")
        .expect("route step");
    assert!(route.allow.allows_host("acme.myshopify.com"));
    assert!(!route.allow.allows_host("myshopify.com.evil.example"));
    assert!(route.allow.allows_secret("shopify_token"));
    assert!(!route.allow.allows_secret("stripe_key"));
    let scope = json!({
        "event": { "kind": "message.received", "id": "e1" },
        "message": { "channel": "ebay" },
        "customer": null,
        "ticket": { "opened": true }
    });
    assert!(route.condition.as_ref().expect("condition").eval(&scope));
}

#[test]
fn unreadable_paths_are_reported_with_the_other_files() {
    let missing = cases_dir().join("no_such_workflow.yaml");
    let broken = cases_dir().join("unknown_plugin.yaml");
    let valid = cases_dir().join("valid_minimal.yaml");
    let error = finish(load(&[missing.clone(), valid.clone(), broken], &catalog())).unwrap_err();
    let rendered = error.to_string();
    assert!(
        rendered.contains(&format!("{}: cannot read the file: ", missing.display())),
        "{rendered}"
    );
    assert!(rendered.contains("unknown plugin `identiy`"), "{rendered}");
    assert!(rendered.ends_with("4 problems in 2 files"), "{rendered}");
    assert_eq!(finish(load(&[valid], &catalog())).expect("valid").len(), 1);
}
