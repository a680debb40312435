//! The step end to end with `MemoryContext`: each `cases/<name>.json` holds a `config` and an
//! `event`; the decisions it gives are compared with `cases/<name>.out.json`
//! (regenerate with `BLESS=1`).

use std::path::Path;
use weft_plugin_router::{Config, Router};
use weft_sdk::Step;
use weft_sdk::testing::MemoryContext;
use weft_sdk::{Event, plugin::parse_config};

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct Case {
    config: serde_json::Value,
    event: Event,
}

fn check(path: &Path) -> Result<(), String> {
    let case: Case = serde_json::from_str(&std::fs::read_to_string(path).unwrap())
        .map_err(|e| format!("{}: {e}", path.display()))?;
    let config: Config = parse_config(&case.config.to_string()).map_err(|e| format!("{}: {e}", path.display()))?;
    let actual = match Router::decide(&case.event, &config, &MemoryContext::new()) {
        Ok(decisions) => serde_json::to_string_pretty(&decisions).unwrap(),
        Err(e) => format!("error: {e}"),
    } + "\n";
    let expected_path = path.with_extension("out.json");
    if std::env::var_os("BLESS").is_some() {
        std::fs::write(&expected_path, &actual).unwrap();
        return Ok(());
    }
    let expected = std::fs::read_to_string(&expected_path).unwrap_or_default();
    if expected != actual {
        return Err(format!(
            "{}: decisions differ from {}; got:\n{actual}",
            path.display(),
            expected_path.display()
        ));
    }
    Ok(())
}

#[test]
fn cases() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/cases");
    let mut paths: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.to_string_lossy().ends_with(".json") && !p.to_string_lossy().ends_with(".out.json"))
        .collect();
    paths.sort();
    assert!(paths.len() >= 8, "expected the case files in {}", dir.display());
    let failures: Vec<String> = paths.iter().filter_map(|p| check(p).err()).collect();
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

#[test]
fn config_problems_are_all_reported() {
    let config: Config = parse_config(
        r#"{"min_confidence": 1.5, "teams": {"a": {"agents": [], "skills": ["refunds"]}},
            "rules": [{"team": "b"}, {"if_intent": "refund", "team": "a", "agent": "zed"}],
            "default_team": "c"}"#,
    )
    .unwrap();
    let event: Event = serde_json::from_str(
        r#"{"id":1,"kind":"message.received","at":0,"ticket":7,"message":{"channel":"email","id":"m","at":0,"body":"hi"}}"#,
    )
    .unwrap();
    let err = Router::decide(&event, &config, &MemoryContext::new()).unwrap_err();
    let message = err.message();
    for expected in [
        "min_confidence: 1.5 is not between 0 and 1",
        "teams.a.agents: a team needs at least one agent",
        "teams.a.skills[0]: unknown intent `refunds`",
        "rules[0]: a rule needs at least one condition",
        "rules[0].team: unknown team `b`, expected one of a",
        "rules[1].agent: `zed` is not an agent of team `a`",
        "default_team: unknown team `c`",
    ] {
        assert!(message.contains(expected), "missing `{expected}` in: {message}");
    }
    let err = parse_config::<Config>(r#"{"teams": {"a": {"agents": ["x"], "skils": []}}}"#).unwrap_err();
    assert!(err.message().contains("unknown field `skils`"), "{err}");
    let err = parse_config::<Config>(r#"{"strategy": "random"}"#).unwrap_err();
    assert!(err.message().contains("unknown variant `random`"), "{err}");
}

#[test]
fn schema_is_published() {
    let schema = weft_sdk::plugin::config_schema::<Config>().to_string();
    for field in [
        "min_confidence",
        "teams",
        "strategy",
        "rules",
        "default_team",
        "if_keyword",
        "skill-language",
    ] {
        assert!(schema.contains(field), "schema lacks {field}");
    }
}
