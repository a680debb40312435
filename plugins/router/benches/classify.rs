//! Classifications per second, natively: `cargo bench -p weft-plugin-router --bench classify`.
//!
//! Runs the shipped model over the held-out messages (ten languages) many times and prints the
//! rate for intent prediction alone and for the whole step (intent, language, urgency,
//! priority, routing).

use std::hint::black_box;
use std::time::Instant;
use weft_plugin_router::routing::Routing;
use weft_plugin_router::step::decide_with;
use weft_plugin_router::{Config, Model, parse_csv};
use weft_sdk::{Event, Message};

fn main() {
    let examples = parse_csv(include_str!("../data/heldout.csv")).expect("held-out data parses");
    let bytes = include_bytes!("../model/model.bin");
    let loads = 50;
    let start = Instant::now();
    for _ in 0..loads {
        black_box(Model::from_bytes(black_box(bytes)).expect("shipped model loads"));
    }
    println!(
        "model load:  {:.2} ms ({} bytes)",
        start.elapsed().as_secs_f64() * 1e3 / f64::from(loads),
        bytes.len()
    );
    let model = Model::shipped().expect("shipped model loads");
    let texts: Vec<&str> = examples.iter().map(|e| e.text.as_str()).collect();

    let rounds = 200;
    let start = Instant::now();
    for _ in 0..rounds {
        for text in &texts {
            black_box(model.predict(black_box(text)));
        }
    }
    let n = (rounds * texts.len()) as f64;
    let secs = start.elapsed().as_secs_f64();
    println!(
        "intent only: {:.0} classifications/s ({:.1} µs each)",
        n / secs,
        secs / n * 1e6
    );

    let config: Config = serde_json::from_str(
        r#"{"teams":{"refunds":{"agents":["ana","li"],"skills":["refund","return"]},"general":{"agents":["joe"]}},"rules":[{"if_channel":"amazon","team":"general"}]}"#,
    )
    .expect("config parses");
    let routing = Routing::compile(&config).expect("config compiles");
    let events: Vec<Event> = texts
        .iter()
        .enumerate()
        .map(|(i, text)| {
            let mut message = Message::new("email", format!("m{i}"), 0);
            message.body = (*text).to_owned();
            Event {
                id: i as u64,
                kind: "message.received".into(),
                at: 0,
                message: Some(message),
                customer: None,
                ticket: Some(i as u64),
                payload: serde_json::Value::Null,
            }
        })
        .collect();
    let start = Instant::now();
    for _ in 0..rounds {
        for event in &events {
            black_box(decide_with(black_box(event), &routing, model, None, None));
        }
    }
    let secs = start.elapsed().as_secs_f64();
    println!(
        "whole step:  {:.0} decisions/s ({:.1} µs each)",
        n / secs,
        secs / n * 1e6
    );
}
