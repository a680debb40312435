//! The classifier against its data: held-out scores, reproducible shipped bytes, and model
//! files that cannot be read.
//!
//! `cargo test -p weft-plugin-router --test model -- --nocapture` prints the full report.

use weft_plugin_router::model::ModelError;
use weft_plugin_router::{Model, TrainOptions, evaluate, parse_csv, train};

const TRAIN: &str = include_str!("../data/train.csv");
const HELDOUT: &str = include_str!("../data/heldout.csv");
const SHIPPED: &[u8] = include_bytes!("../model/model.bin");

#[test]
fn heldout_scores() {
    let model = train(&parse_csv(TRAIN).unwrap(), &TrainOptions::default());
    let heldout = parse_csv(HELDOUT).unwrap();
    let report = evaluate(&model, &heldout);
    println!("{report}");
    for (text, labeled, predicted) in &report.errors {
        println!("  {labeled} -> {predicted}: {text}");
    }
    // Measured 0.597 macro-F1 before issue 28, 0.716 after its training text (lowest language, pl, 0.500).
    assert!(
        report.macro_f1 >= 0.55,
        "macro-F1 {:.3} fell below the floor",
        report.macro_f1
    );
    for lang in &report.languages {
        assert!(
            lang.intent_accuracy >= 0.4,
            "{}: intent accuracy {:.3}",
            lang.lang,
            lang.intent_accuracy
        );
        // Measured 2026-12-07 with whatlang in the loop: 1.000 for de en es fr it ja pl zh,
        // nl 0.773 and pt 0.864 (short Dutch and Portuguese lines that whatlang reads as
        // Afrikaans or that the profiles confuse with Spanish are answered "und", not guessed).
        assert!(
            lang.lang_id_accuracy >= 0.75,
            "{}: language accuracy {:.3}",
            lang.lang,
            lang.lang_id_accuracy
        );
    }
    // On its own training data the model must be nearly perfect, or training is broken.
    let on_train = evaluate(&model, &parse_csv(TRAIN).unwrap());
    assert!(on_train.accuracy >= 0.97, "training accuracy {:.3}", on_train.accuracy);
}

/// The per-language held-out sets of issue 28 (written before any tuning, see the data
/// README), scored with the shipped model: outside English the n-gram model decides alone.
const PER_LANGUAGE: [(&str, &str); 6] = [
    ("de", include_str!("../data/eval_de.csv")),
    ("fr", include_str!("../data/eval_fr.csv")),
    ("es", include_str!("../data/eval_es.csv")),
    ("it", include_str!("../data/eval_it.csv")),
    ("ja", include_str!("../data/eval_ja.csv")),
    ("zh", include_str!("../data/eval_zh.csv")),
];

#[test]
fn per_language_heldout_sets() {
    let model = Model::shipped().unwrap();
    let mut failures = Vec::new();
    for (lang, text) in PER_LANGUAGE {
        let examples = parse_csv(text).unwrap();
        assert!(examples.iter().all(|e| e.lang == lang));
        let report = evaluate(model, &examples);
        println!(
            "{lang}: macro-F1 {:.3}, accuracy {:.3}, language identified {:.3} ({} messages)",
            report.macro_f1,
            report.accuracy,
            report.languages[0].lang_id_accuracy,
            examples.len()
        );
        for (text, labeled, predicted) in &report.errors {
            println!("    {labeled} -> {predicted}: {text}");
        }
        if report.macro_f1 < MIN_MACRO_F1_PER_LANGUAGE {
            failures.push(format!("{lang}: macro-F1 {:.3}", report.macro_f1));
        }
        if report.languages[0].lang_id_accuracy < 0.97 {
            failures.push(format!(
                "{lang}: language identified for {:.3}",
                report.languages[0].lang_id_accuracy
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("; "));
}

/// The floor of [`per_language_heldout_sets`]: measured 0.902 (it) to 0.933 (ja) on 2026-12-07
/// with the second session's training text; the figures are in the data README. The target of
/// issue 28 is 0.90; the floor leaves a margin for retraining noise (a message or three).
const MIN_MACRO_F1_PER_LANGUAGE: f64 = 0.88;

#[test]
fn shipped_model_is_the_one_the_committed_data_gives() {
    let model = train(&parse_csv(TRAIN).unwrap(), &TrainOptions::default());
    let bytes = model.to_bytes();
    assert!(
        bytes == SHIPPED,
        "model/model.bin is stale: run `cargo run -p weft-plugin-router --release --example train -- data/train.csv model/model.bin` in plugins/router"
    );
    let loaded = Model::from_bytes(SHIPPED).unwrap();
    assert_eq!(loaded, model);
    assert_eq!(Model::shipped().unwrap(), &model);
    assert!(SHIPPED.len() < 2 << 20, "the model grew to {} bytes", SHIPPED.len());
}

#[test]
fn unreadable_model_files_say_why() {
    assert_eq!(Model::from_bytes(b"not a model"), Err(ModelError::BadMagic));
    assert_eq!(
        Model::from_bytes(&SHIPPED[..8]),
        Err(ModelError::Truncated { what: "dim" })
    );
    assert!(matches!(
        Model::from_bytes(&SHIPPED[..SHIPPED.len() - 1]),
        Err(ModelError::Truncated { .. })
    ));
    let mut longer = SHIPPED.to_vec();
    longer.push(0);
    assert_eq!(
        Model::from_bytes(&longer),
        Err(ModelError::Invalid("1 unexpected bytes at the end".into()))
    );
    let mut renamed = SHIPPED.to_vec();
    renamed[14] = b'W';
    let err = Model::from_bytes(&renamed).unwrap_err();
    assert!(
        err.to_string()
            .starts_with("model file invalid: class 0 is `Where-is-my-order`"),
        "{err}"
    );
}

#[test]
fn predictions_in_ten_languages() {
    let model = Model::shipped().unwrap();
    for (text, intent) in [
        (
            "Where is my order? Tracking has not moved for a week",
            "where-is-my-order",
        ),
        ("Bitte stornieren Sie die Bestellung 4711", "cancellation"),
        ("Je voudrais être remboursé", "refund"),
        ("¿Cómo devuelvo las zapatillas?", "return"),
        ("Il vaso è arrivato rotto", "damaged-defective-wrong"),
        ("注文をキャンセルしてください", "cancellation"),
        ("我要退款", "refund"),
    ] {
        let prediction = model.predict(text);
        assert_eq!(
            prediction.top().0.as_str(),
            intent,
            "{text}: {:?}",
            &prediction.ranked[..3]
        );
        let total: f32 = prediction.ranked.iter().map(|r| r.1).sum();
        assert!((total - 1.0).abs() < 1e-4);
    }
}
