//! The json channel's parse, compiled natively: any bytes are messages or one error naming
//! the line, nothing panics; a batch that parses gives the messages its lines give one by
//! one (the engine re-parses a refused chunk line by line and relies on that).

#![no_main]

use libfuzzer_sys::fuzz_target;
use weft_plugin_json::{Config, FIRST_LINE_HEADER, JsonLines};
use weft_sdk::{Channel, Inbound};

fn inbound(body: &[u8], first_line: usize) -> Inbound {
    Inbound {
        source: "fuzz.jsonl".to_owned(),
        headers: vec![(FIRST_LINE_HEADER.to_owned(), first_line.to_string())],
        body: body.to_vec(),
        ..Inbound::default()
    }
}

fuzz_target!(|data: &[u8]| {
    // The first byte picks the configuration; the rest is the body.
    let Some((&pick, body)) = data.split_first() else {
        return;
    };
    let config = Config {
        default_channel: (pick & 1 == 1).then(|| "chat".to_owned()),
        signature_secret: None,
    };
    match JsonLines::parse(&inbound(body, 1), &config) {
        Ok(batch) => {
            let mut one_by_one = Vec::new();
            for (index, line) in body.split(|&b| b == b'\n').enumerate() {
                let messages = JsonLines::parse(&inbound(line, index + 1), &config)
                    .expect("a line of a batch that parses parses alone");
                one_by_one.extend(messages);
            }
            assert_eq!(batch, one_by_one);
        }
        Err(error) => {
            let text = error.to_string();
            assert!(text.contains("fuzz.jsonl:"), "the error names no place: {text}");
        }
    }
});
