//! The email channel's parse, compiled natively: any bytes are one message or an error naming
//! the source; nothing panics or hangs.

#![no_main]

use libfuzzer_sys::fuzz_target;
use weft_plugin_email::{Config, Email};
use weft_sdk::{Channel, Inbound};

fuzz_target!(|data: &[u8]| {
    let inbound = Inbound {
        source: "fuzz.eml".to_owned(),
        body: data.to_vec(),
        ..Inbound::default()
    };
    match Email::parse(&inbound, &Config::default()) {
        Ok(messages) => assert_eq!(messages.len(), 1, "one mail, one message"),
        Err(error) => {
            let text = error.to_string();
            assert!(text.contains("fuzz.eml"), "the error names no place: {text}");
        }
    }
});
