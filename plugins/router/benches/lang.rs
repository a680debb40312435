//! Language identifications per second, natively: `cargo bench -p weft-plugin-router --bench
//! lang`. Runs the shipped identifier over every sentence of the three language sets
//! (`data/langid_*.csv`, 427 buyer messages in 100 languages, every script) many times and
//! prints the median time per message over several rounds.

use std::hint::black_box;
use std::time::Instant;
use weft_plugin_router::Model;

fn main() {
    let mut texts = Vec::new();
    for csv in [
        include_str!("../data/langid_other.csv"),
        include_str!("../data/langid_fresh.csv"),
        include_str!("../data/langid_heldout.csv"),
    ] {
        for record in csv::Reader::from_reader(csv.as_bytes()).records() {
            texts.push(record.expect("language sets parse")[0].to_owned());
        }
    }
    let model = Model::shipped().expect("shipped model loads");
    let repeats = 20;
    let mut per_message: Vec<f64> = (0..9)
        .map(|_| {
            let start = Instant::now();
            for _ in 0..repeats {
                for text in &texts {
                    black_box(model.lang.detect(black_box(text)));
                }
            }
            start.elapsed().as_secs_f64() / (repeats * texts.len()) as f64
        })
        .collect();
    per_message.sort_by(f64::total_cmp);
    let median = per_message[per_message.len() / 2];
    println!(
        "language identification: {:.1} µs per message, {:.0}/s (median of {} rounds over {} messages)",
        median * 1e6,
        1.0 / median,
        per_message.len(),
        texts.len()
    );
}
