//! `weft train router`: trains the router's n-gram model from labeled tickets (CSV or the
//! `weft export tickets` JSON lines), prints held-out per-intent precision, recall, F1 and
//! macro-F1, and writes the model file.
//!
//! The router plugin has no files at run time: a retrained model replaces
//! `plugins/router/model/model.bin`, and `cargo xtask plugins` rebuilds the component with it.

use anyhow::{Context as _, bail};
use std::path::Path;
use weft_plugin_router::{Example, Intent, TrainOptions, evaluate, train};

/// Reads labeled examples: CSV with a header naming the columns `text`, `intent` and optionally
/// `lang` (in any order, other columns ignored, quoted fields may hold line breaks: see
/// [`weft_plugin_router::parse_csv`]), or JSON lines as `weft export tickets` writes them (the `category` is the label; the text is
/// `first_message`, `body` or `text` when present, else the `subject`). Lines whose label is
/// not a router intent (`triage`, empty) are skipped and counted.
pub fn read_examples(path: &Path) -> anyhow::Result<(Vec<Example>, usize)> {
    let text = std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
    let is_jsonl = path.extension().is_some_and(|e| e == "jsonl" || e == "json");
    if !is_jsonl {
        let examples = weft_plugin_router::parse_csv(&text).with_context(|| format!("{}", path.display()))?;
        return Ok((examples, 0));
    }
    let mut examples = Vec::new();
    let mut skipped = 0;
    for (i, line) in text.lines().enumerate().filter(|(_, l)| !l.trim().is_empty()) {
        let value: serde_json::Value =
            serde_json::from_str(line).with_context(|| format!("{}:{}: not a JSON object", path.display(), i + 1))?;
        let label = value.get("category").and_then(|c| c.as_str()).unwrap_or("");
        let Some(intent) = Intent::parse(label) else {
            skipped += 1;
            continue;
        };
        let body = ["first_message", "body", "text", "subject"]
            .iter()
            .find_map(|k| value.get(*k).and_then(|v| v.as_str()).filter(|s| !s.trim().is_empty()));
        let Some(body) = body else {
            skipped += 1;
            continue;
        };
        let lang = value
            .get("language")
            .and_then(|l| l.as_str())
            .unwrap_or("und")
            .to_owned();
        examples.push(Example {
            text: body.to_owned(),
            intent,
            lang,
        });
    }
    Ok((examples, skipped))
}

/// Trains, evaluates on `heldout` (or on every fifth example, kept out of training, when there
/// is none), prints the scores and writes the model to `out`.
pub fn run(data: &Path, heldout: Option<&Path>, out: &Path) -> anyhow::Result<()> {
    let (examples, skipped) = read_examples(data)?;
    if skipped > 0 {
        println!(
            "{}: skipped {skipped} lines without a router intent or a text",
            data.display()
        );
    }
    let (training, testing) = match heldout {
        Some(path) => {
            let (testing, _) = read_examples(path)?;
            (examples, testing)
        }
        None => {
            let mut training = Vec::new();
            let mut testing = Vec::new();
            for (i, e) in examples.into_iter().enumerate() {
                if i % 5 == 4 { testing.push(e) } else { training.push(e) }
            }
            (training, testing)
        }
    };
    if training.is_empty() {
        bail!("{}: no labeled examples to train on", data.display());
    }
    let model = train(&training, &TrainOptions::default());
    println!("trained on {} examples", training.len());
    if testing.is_empty() {
        println!("no held-out examples: nothing to score");
    } else {
        println!(
            "held-out ({} examples{}):\n{}",
            testing.len(),
            if heldout.is_none() {
                ", every fifth line of the data"
            } else {
                ""
            },
            evaluate(&model, &testing)
        );
    }
    let bytes = model.to_bytes();
    std::fs::write(out, &bytes).with_context(|| format!("cannot write {}", out.display()))?;
    println!(
        "wrote {} bytes to {}; to use it, copy it to plugins/router/model/model.bin and run `cargo xtask plugins`",
        bytes.len(),
        out.display()
    );
    Ok(())
}
