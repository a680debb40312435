//! Retrains the router's model: `cargo run -p weft-plugin-router --example train -- data/train.csv model/model.bin`
//! (paths relative to the crate), then prints its scores on `data/heldout.csv` when it exists.

use std::process::ExitCode;
use weft_plugin_router::{TrainOptions, evaluate, parse_csv, train};

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [input, output] = args.as_slice() else {
        eprintln!("usage: train <train.csv> <model.bin>");
        return ExitCode::from(2);
    };
    let run = || -> Result<(), String> {
        let text = std::fs::read_to_string(input).map_err(|e| format!("{input}: {e}"))?;
        let examples = parse_csv(&text).map_err(|e| format!("{input}: {e}"))?;
        let model = train(&examples, &TrainOptions::default());
        let bytes = model.to_bytes();
        std::fs::write(output, &bytes).map_err(|e| format!("{output}: {e}"))?;
        println!(
            "trained on {} examples, wrote {} bytes to {output}",
            examples.len(),
            bytes.len()
        );
        let heldout = std::path::Path::new(input).with_file_name("heldout.csv");
        if let Ok(text) = std::fs::read_to_string(&heldout) {
            let examples = parse_csv(&text).map_err(|e| format!("{}: {e}", heldout.display()))?;
            println!(
                "held-out ({} examples):\n{}",
                examples.len(),
                evaluate(&model, &examples)
            );
            for threshold in [0.3f32, 0.5, 0.7] {
                let answered: Vec<bool> = examples
                    .iter()
                    .filter_map(|e| {
                        let (intent, p) = model.predict(&e.text).top();
                        (p >= threshold).then_some(intent == e.intent)
                    })
                    .collect();
                let right = answered.iter().filter(|r| **r).count();
                println!(
                    "min_confidence {threshold}: {} of {} classified ({:.0}%), {:.3} of those right",
                    answered.len(),
                    examples.len(),
                    100.0 * answered.len() as f64 / examples.len() as f64,
                    right as f64 / answered.len().max(1) as f64
                );
            }
        }
        Ok(())
    };
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}
