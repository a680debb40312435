//! Hostile input: every prefix of every fixture, and deterministic corruptions of them, must
//! parse or fail with an error, never panic.

use std::path::Path;
use weft_plugin_email::{Config, parse_mail};

fn fixtures() -> Vec<Vec<u8>> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures");
    let mut files: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "eml"))
        .collect();
    files.sort();
    files.into_iter().map(|p| std::fs::read(p).unwrap()).collect()
}

#[test]
fn every_prefix_of_every_fixture() {
    let config = Config::default();
    for raw in fixtures() {
        for len in 0..=raw.len() {
            let _ = parse_mail(&raw[..len], &config);
        }
    }
}

#[test]
fn corrupted_bytes() {
    let config = Config::default();
    // A small xorshift generator: the same corruptions on every run.
    let mut state: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut next = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    let nasty = [
        b'<', b'>', b'=', b'?', b'&', b';', b'\r', b'\n', b'-', b':', 0x00, 0xff, 0x1b, b'"',
    ];
    for raw in fixtures() {
        if raw.is_empty() {
            continue;
        }
        for _ in 0..200 {
            let mut copy = raw.clone();
            for _ in 0..1 + next() % 8 {
                let at = (next() % copy.len() as u64) as usize;
                copy[at] = nasty[(next() % nasty.len() as u64) as usize];
            }
            let _ = parse_mail(&copy, &config);
        }
    }
}

#[test]
fn empty_and_tiny_inputs_are_errors() {
    let config = Config::default();
    for raw in [
        &b""[..],
        b"\r\n",
        b":",
        b"From:",
        b"From: <>",
        b"\xff\xfe",
        b"From: a@b\n\n",
    ] {
        assert!(parse_mail(raw, &config).is_err(), "{raw:?}");
    }
}
