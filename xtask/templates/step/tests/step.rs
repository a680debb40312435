//! The `{{name}}` step, run natively against the SDK's in-memory context.

use serde_json::json;
use {{lib}}::{Config, {{Type}}};
use weft_sdk::prelude::*;
use weft_sdk::testing::{MemoryContext, check_step_config};

fn config() -> Config {
    Config {
        words: vec!["refund".into(), "Erstattung".into(), "返金".into()],
        tag: "refund".into(),
    }
}

fn received(body: &str) -> Event {
    let mut message = Message::new("email", "m-1", 1_796_000_000_000);
    message.body = body.into();
    Event {
        id: 1,
        kind: "message.received".into(),
        at: message.at,
        message: Some(message),
        customer: None,
        ticket: None,
        payload: json!({}),
    }
}

#[test]
fn a_message_that_mentions_a_word_tags_its_ticket() {
    for body in [
        "I want a REFUND",
        "Bitte um Erstattung des Betrags",
        "返金をお願いします",
    ] {
        let decisions = {{Type}}::decide(&received(body), &config(), &MemoryContext::new()).unwrap();
        assert_eq!(decisions.len(), 1, "{body}");
        assert_eq!(decisions[0].command, Command::SetField(SetField::new("tag", "refund")));
        assert!(!decisions[0].evidence.is_empty());
    }
    let none = {{Type}}::decide(&received("Où est mon colis ?"), &config(), &MemoryContext::new()).unwrap();
    assert!(none.is_empty());
}

#[test]
fn config_problems_name_their_place() {
    let problems = check_step_config::<{{Type}}>(&json!({ "words": ["refund", " "], "tag": "" }));
    let pointers: Vec<&str> = problems.iter().map(|p| p.pointer.as_str()).collect();
    assert_eq!(pointers, ["/words/1", "/tag"]);
    let problems = check_step_config::<{{Type}}>(&json!({ "words": [] }));
    assert!(problems[0].message.contains("missing field `tag`"), "{problems:?}");
}
