//! Chooses training options without touching any evaluation set: k-fold cross-validation on the
//! training data alone, macro-F1 per language and overall, for the default options or the ones
//! given.
//!
//! ```sh
//! cargo run -p weft-plugin-router --release --example crossval -- data/train.csv [epochs=40] [l2=3e-4] [lr=2] [decay=0.1] [folds=5] [plain=true]
//! ```
//!
//! Folds are cut by a fixed shuffle of the lines, so two runs with the same options print the
//! same figures; every fold trains on the other folds and is scored as the shipped model would be.

use std::collections::BTreeMap;
use std::process::ExitCode;
use weft_plugin_router::{Example, TrainOptions, parse_csv, train};

fn main() -> ExitCode {
    let mut args = std::env::args().skip(1);
    let Some(input) = args.next() else {
        eprintln!("usage: crossval <train.csv> [epochs=N] [l2=X] [lr=X] [decay=X] [folds=N] [plain=true]");
        return ExitCode::from(2);
    };
    let mut options = TrainOptions::default();
    let mut folds = 5usize;
    // `plain=true`: the held-out fold is scored with its accents and marks removed, the way many
    // buyers type, while training keeps them.
    let mut plain = false;
    for arg in args {
        let Some((key, value)) = arg.split_once('=') else {
            eprintln!("error: `{arg}` is not key=value");
            return ExitCode::from(2);
        };
        let parsed = match key {
            "epochs" => value.parse().map(|v| options.epochs = v).is_ok(),
            "l2" => value.parse().map(|v| options.l2 = v).is_ok(),
            "lr" => value.parse().map(|v| options.learning_rate = v).is_ok(),
            "decay" => value.parse().map(|v| options.decay = v).is_ok(),
            "folds" => value.parse().map(|v| folds = v).is_ok(),
            "plain" => value.parse().map(|v| plain = v).is_ok(),
            _ => false,
        };
        if !parsed || folds < 2 {
            eprintln!("error: bad option `{arg}`");
            return ExitCode::from(2);
        }
    }
    let examples = match std::fs::read_to_string(&input)
        .map_err(|e| e.to_string())
        .and_then(|t| parse_csv(&t).map_err(|e| e.to_string()))
    {
        Ok(examples) => examples,
        Err(e) => {
            eprintln!("error: {input}: {e}");
            return ExitCode::FAILURE;
        }
    };
    // A fixed permutation (multiplicative hashing of the index), so folds mix languages and intents.
    let mut order: Vec<usize> = (0..examples.len()).collect();
    order.sort_by_key(|&i| (i as u64).wrapping_mul(0x9e37_79b9_7f4a_7c15).rotate_left(17));
    let mut predicted: Vec<Example> = Vec::new();
    let mut gold: Vec<Example> = Vec::new();
    for fold in 0..folds {
        let (test, rest): (Vec<_>, Vec<_>) = order.iter().enumerate().partition(|(n, _)| n % folds == fold);
        let training: Vec<Example> = rest.iter().map(|&(_, &i)| examples[i].clone()).collect();
        let model = train(&training, &options);
        for (_, &i) in test {
            let e = &examples[i];
            let mut guess = e.clone();
            let text = if plain { without_marks(&e.text) } else { e.text.clone() };
            guess.intent = model.predict(&text).top().0;
            predicted.push(guess);
            gold.push(e.clone());
        }
    }
    let mut by_lang: BTreeMap<&str, (Vec<Example>, Vec<Example>)> = BTreeMap::new();
    for (g, p) in gold.iter().zip(&predicted) {
        let entry = by_lang.entry(g.lang.as_str()).or_default();
        entry.0.push(g.clone());
        entry.1.push(p.clone());
    }
    println!("{options:?}, {folds} folds, {} examples", examples.len());
    let mut sum = 0.0;
    for (lang, (g, p)) in &by_lang {
        let f1 = macro_f1(g, p);
        sum += f1;
        println!("  {lang}: macro-F1 {f1:.3} ({} examples)", g.len());
    }
    println!("  mean over languages {:.3}", sum / by_lang.len() as f64);
    ExitCode::SUCCESS
}

/// Macro-F1 over the intents present in `gold`.
fn macro_f1(gold: &[Example], predicted: &[Example]) -> f64 {
    let labels: std::collections::BTreeSet<_> = gold.iter().map(|e| e.intent).collect();
    let mut sum = 0.0;
    for label in &labels {
        let pairs = || gold.iter().zip(predicted);
        let tp = pairs()
            .filter(|(g, p)| g.intent == *label && p.intent == *label)
            .count() as f64;
        let fp = pairs()
            .filter(|(g, p)| g.intent != *label && p.intent == *label)
            .count() as f64;
        let fn_ = pairs()
            .filter(|(g, p)| g.intent == *label && p.intent != *label)
            .count() as f64;
        if tp > 0.0 {
            sum += 2.0 * tp / (2.0 * tp + fp + fn_);
        }
    }
    sum / labels.len().max(1) as f64
}

/// The text with combining marks removed from Latin letters (`é` → `e`), as typed without accents.
fn without_marks(text: &str) -> String {
    use unicode_normalization::UnicodeNormalization;
    use unicode_normalization::char::is_combining_mark;
    text.chars()
        .flat_map(|c| {
            let latin = ('\u{00C0}'..'\u{0250}').contains(&c);
            let decomposed: Vec<char> = if latin { c.nfd().collect() } else { vec![c] };
            decomposed
                .into_iter()
                .filter(move |d| !(latin && is_combining_mark(*d)))
        })
        .collect()
}
