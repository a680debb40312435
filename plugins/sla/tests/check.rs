//! The configuration check agrees with the step: over every `cases/*.in.json`, `check-config`
//! finds problems exactly when `decide` fails for the configuration (`bad config`), so a
//! workflow that validates never fails every event for its `with:`; and the problems it finds
//! for the issue's examples point at the values to fix.

use serde_json::{Value, json};
use std::path::Path;
use weft_plugin_sla::Sla;
use weft_sdk::testing::{MemoryContext, check_step_config};
use weft_sdk::{Error, Event, Step};

#[test]
fn check_config_finds_problems_exactly_when_decide_refuses_the_configuration() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/cases");
    let mut names: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .filter_map(|e| e.ok()?.file_name().into_string().ok())
        .filter(|n| n.ends_with(".in.json"))
        .collect();
    names.sort();
    let (mut refused, mut accepted) = (0, 0);
    for name in &names {
        let input: Value = serde_json::from_str(&std::fs::read_to_string(dir.join(name)).unwrap()).unwrap();
        let problems = check_step_config::<Sla>(&input["with"]);
        let Ok(config) = weft_sdk::plugin::parse_config(&input["with"].to_string()) else {
            assert_eq!(problems.len(), 1, "{name}: a config serde refuses is one problem");
            continue;
        };
        let event: Event = serde_json::from_value(input["event"].clone()).unwrap();
        let ctx = match input.get("ticket") {
            Some(ticket) => MemoryContext::new().with_ticket(serde_json::from_value(ticket.clone()).unwrap()),
            None => MemoryContext::new(),
        };
        match Sla::decide(&event, &config, &ctx) {
            Err(Error::BadConfig(message)) => {
                refused += 1;
                assert!(
                    !problems.is_empty(),
                    "{name}: decide refuses the config ({message}), the check passes it"
                );
            }
            _ => {
                accepted += 1;
                assert!(
                    problems.is_empty(),
                    "{name}: decide takes the config, the check finds {problems:?}"
                );
            }
        }
    }
    assert!(refused >= 1 && accepted >= 10, "{refused} refused, {accepted} accepted");
}

#[test]
fn the_issues_examples_point_at_the_value_to_fix() {
    let calendar = |holidays: Value| {
        json!({
            "calendars": { "c": { "timezone": "Europe/London", "hours": { "mon": ["09:00-17:00"] }, "holidays": holidays } },
            "policies": [{ "first_response": "8h", "resolution": "3650d", "clock": "business-hours", "calendar": "c" }]
        })
    };
    let table = [
        (
            calendar(json!({ "country": "GB" })),
            vec![
                "/calendars/c/holidays/region: holidays for GB depend on the region: name one of ENG, NIR, SCT, WLS",
                "/policies/0/resolution: 3650d is more business time than calendar `c` is open in a year (8h a week), expected at most 416h",
            ],
        ),
        (
            calendar(json!({ "country": "EN", "region": "ENG" })),
            vec![
                "/calendars/c/holidays/country: unknown holiday country `EN` (expected an ISO 3166-1 alpha-2 code of one of the 251 countries with holiday data, e.g. DE, FR, US, JP, CN)",
                "/policies/0/resolution: 3650d is more business time than calendar `c` is open in a year (8h a week), expected at most 416h",
            ],
        ),
        (
            calendar(json!({ "country": "GB", "region": "XYZ" })),
            vec![
                "/calendars/c/holidays/region: unknown region `XYZ` for GB (expected one of ENG, NIR, SCT, WLS)",
                "/policies/0/resolution: 3650d is more business time than calendar `c` is open in a year (8h a week), expected at most 416h",
            ],
        ),
    ];
    for (with, expected) in table {
        let found: Vec<String> = check_step_config::<Sla>(&with)
            .iter()
            .map(ToString::to_string)
            .collect();
        assert_eq!(found, expected);
    }
}
