//! The router's classifiers measured with the real embedding model: macro-F1 (and F1 per
//! intent) of the n-gram model, the semantic classifier and their combination on the three
//! English evaluation sets (`plugins/router/data/eval_en.csv`, `eval_fresh_en.csv` and
//! `eval_fresh2_en.csv`, 11 intents and 7 coarse groups) and on the multilingual held-out set, with floors. Without the
//! model (`WEFT_MODELS` or `target/models`) it says SKIPPED. Run with `--nocapture` to see the
//! tables and the misses.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Instant;
use weft::runtime::Embedder;
use weft_plugin_router::combine::{ask_embeddings, combine};
use weft_plugin_router::step::{Semantic, classify};
use weft_plugin_router::vectors::{TOLERANCE, same_vector};
use weft_plugin_router::{Example, Model, PrototypeVectors, Prototypes, parse_csv};
use weft_sdk::{Host, HttpRequest, HttpResponse, LogLevel};

struct EmbedHost(Arc<Embedder>);

impl Host for EmbedHost {
    fn fetch(&self, _: &HttpRequest) -> Result<HttpResponse, String> {
        Err("no http here".into())
    }
    fn secret(&self, _: &str) -> Result<String, String> {
        Err("no secrets here".into())
    }
    fn log(&self, _: LogLevel, _: &str) {}
    fn embed(&self, texts: &[String]) -> Result<Vec<Vec<f32>>, String> {
        self.0.embed(texts)
    }
}

/// The model's folder: `WEFT_MODELS` or `target/models`.
fn model_dir() -> PathBuf {
    std::env::var_os("WEFT_MODELS")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target/models"))
        .join(weft::runtime::MODEL_FOLDER)
}

fn embedder() -> Option<Arc<Embedder>> {
    match Embedder::load(&model_dir()) {
        Ok(e) => Some(Arc::new(e)),
        Err(e) => {
            eprintln!("SKIPPED: no embedding model ({e}); run `cargo xtask plugins` to obtain it");
            None
        }
    }
}

fn coarse(label: &str) -> &'static str {
    match label {
        "where-is-my-order" => "delivery",
        "refund" | "return" => "refund-return",
        "cancellation" | "order-change" => "cancel-change",
        "product-question" => "product",
        "damaged-defective-wrong" => "item-problem",
        "billing" => "billing",
        _ => "feedback-other",
    }
}

/// Macro-F1 over the labels that occur in `gold`.
fn macro_f1(gold: &[&str], predicted: &[&str]) -> f64 {
    let labels: std::collections::BTreeSet<&str> = gold.iter().copied().collect();
    let mut sum = 0.0;
    for label in &labels {
        let tp = gold
            .iter()
            .zip(predicted)
            .filter(|(g, p)| g == &label && p == &label)
            .count() as f64;
        let fp = gold
            .iter()
            .zip(predicted)
            .filter(|(g, p)| g != &label && p == &label)
            .count() as f64;
        let fn_ = gold
            .iter()
            .zip(predicted)
            .filter(|(g, p)| g == &label && p != &label)
            .count() as f64;
        let f1 = if tp == 0.0 {
            0.0
        } else {
            2.0 * tp / (2.0 * tp + fp + fn_)
        };
        sum += f1;
    }
    sum / labels.len().max(1) as f64
}

/// F1 of every label that occurs in `gold`, in label order.
fn per_label_f1(gold: &[&str], predicted: &[&str]) -> Vec<(String, f64)> {
    let labels: std::collections::BTreeSet<&str> = gold.iter().copied().collect();
    labels
        .into_iter()
        .map(|label| {
            let pairs = || gold.iter().zip(predicted);
            let tp = pairs().filter(|(g, p)| **g == label && **p == label).count() as f64;
            let fp = pairs().filter(|(g, p)| **g != label && **p == label).count() as f64;
            let fn_ = pairs().filter(|(g, p)| **g == label && **p != label).count() as f64;
            let f1 = if tp == 0.0 {
                0.0
            } else {
                2.0 * tp / (2.0 * tp + fp + fn_)
            };
            (label.to_owned(), f1)
        })
        .collect()
}

/// Prints an English set's table: macro-F1 of the three classifiers on 11 intents and 7 coarse
/// groups, F1 per intent, and the combination's misses.
fn print_english(name: &str, examples: &[Example], p: &[Vec<String>; 3]) -> Scores {
    let s = scores(examples, p);
    println!("{name} ({} messages)      n-gram  embeddings  combined", examples.len());
    println!(
        "  macro-F1, 11 intents         {:.3}   {:.3}       {:.3}",
        s.fine[0], s.fine[1], s.fine[2]
    );
    println!(
        "  macro-F1, 7 coarse groups    {:.3}   {:.3}       {:.3}",
        s.coarse[0], s.coarse[1], s.coarse[2]
    );
    let gold: Vec<&str> = examples.iter().map(|e| e.intent.as_str()).collect();
    let per: Vec<Vec<(String, f64)>> = p
        .iter()
        .map(|k| per_label_f1(&gold, &k.iter().map(String::as_str).collect::<Vec<_>>()))
        .collect();
    for (i, (label, _)) in per[0].iter().enumerate() {
        println!(
            "  F1 {label:<26} {:.3}   {:.3}       {:.3}",
            per[0][i].1, per[1][i].1, per[2][i].1
        );
    }
    for (e, (n, (sem, c))) in examples.iter().zip(p[0].iter().zip(p[1].iter().zip(&p[2]))) {
        if c != e.intent.as_str() {
            println!(
                "    miss: {:?} is {}; n-gram {n}, embeddings {sem}, combined {c}",
                e.text, e.intent
            );
        }
    }
    s
}

struct Scores {
    fine: [f64; 3],
    coarse: [f64; 3],
}

/// (n-gram, embeddings, combined) predictions for every example, classified as its labeled language.
fn predict(examples: &[Example], model: &Model, semantic: &Semantic<'_>) -> [Vec<String>; 3] {
    let mut out: [Vec<String>; 3] = Default::default();
    for e in examples {
        // Every message of the semantic classifier's languages embedded, whether or not its
        // answer can change the outcome (the combination as measured before the gate).
        let c = if semantic.languages.contains(&e.lang) {
            combine(
                model.predict(&e.text),
                ask_embeddings(&e.text, semantic.prototypes, semantic.host),
            )
        } else {
            classify(&e.text, Some(&e.lang), model, Some(semantic))
        };
        out[0].push(c.ngram.top().0.as_str().to_owned());
        let sem = match &c.semantic {
            Some(s) => s.top().0.to_owned(),
            // Not asked (another language): embeddings only still means embeddings.
            None => ask_embeddings(&e.text, semantic.prototypes, semantic.host)
                .map(|s| s.top().0.to_owned())
                .unwrap_or_default(),
        };
        out[1].push(sem);
        out[2].push(c.top().0.to_owned());
    }
    out
}

/// Macro-F1 (11 intents) of the shipped classification (embeddings only where the n-gram model
/// is unsure) and how many messages were embedded.
fn gated_scores(examples: &[Example], model: &Model, gated: &Semantic<'_>) -> (f64, usize) {
    let mut predicted = Vec::new();
    let mut embedded = 0;
    for e in examples {
        let c = classify(&e.text, Some(&e.lang), model, Some(gated));
        embedded += usize::from(c.semantic.is_some());
        predicted.push(c.top().0.to_owned());
    }
    let gold: Vec<&str> = examples.iter().map(|e| e.intent.as_str()).collect();
    let p: Vec<&str> = predicted.iter().map(String::as_str).collect();
    (macro_f1(&gold, &p), embedded)
}

fn scores(examples: &[Example], predicted: &[Vec<String>; 3]) -> Scores {
    let gold: Vec<&str> = examples.iter().map(|e| e.intent.as_str()).collect();
    let gold_coarse: Vec<&str> = gold.iter().map(|g| coarse(g)).collect();
    let mut s = Scores {
        fine: [0.0; 3],
        coarse: [0.0; 3],
    };
    for (k, predicted) in predicted.iter().enumerate() {
        let p: Vec<&str> = predicted.iter().map(String::as_str).collect();
        s.fine[k] = macro_f1(&gold, &p);
        let pc: Vec<&str> = p.iter().map(|x| coarse(x)).collect();
        s.coarse[k] = macro_f1(&gold_coarse, &pc);
    }
    s
}

#[test]
fn router_classifiers_on_unseen_english_and_multilingual_sets() {
    let Some(embedder) = embedder() else { return };
    let host = EmbedHost(embedder.clone());
    let prototypes = Prototypes::new(&BTreeMap::new()).unwrap();
    let languages = vec!["en".to_owned()];
    // Every English message embedded (the combination as measured before issue 28) ...
    let semantic = Semantic {
        prototypes: &prototypes,
        languages: &languages,
        below: 1.0,
        min_confidence: 0.35,
        host: &host,
    };
    // ... and as shipped: embedded only where its answer can change the outcome (at the
    // shipped workflow's min_confidence).
    let gated = Semantic {
        below: weft_plugin_router::config::DEFAULT_EMBEDDINGS_BELOW as f32,
        ..semantic
    };
    let model = Model::shipped().unwrap();
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../plugins/router/data");
    let eval_en = parse_csv(&std::fs::read_to_string(root.join("eval_en.csv")).unwrap()).unwrap();
    let heldout = parse_csv(&std::fs::read_to_string(root.join("heldout.csv")).unwrap()).unwrap();
    let fresh = parse_csv(&std::fs::read_to_string(root.join("eval_fresh_en.csv")).unwrap()).unwrap();
    let fresh2 = parse_csv(&std::fs::read_to_string(root.join("eval_fresh2_en.csv")).unwrap()).unwrap();

    let start = Instant::now();
    let p = predict(&eval_en, model, &semantic);
    println!(
        "first pass over eval_en (prototypes embedded once): {:.2}s",
        start.elapsed().as_secs_f64()
    );
    let en = print_english("eval_en.csv", &eval_en, &p);
    let fresh_set = fresh;
    let fresh2_set = fresh2;
    let p = predict(&fresh_set, model, &semantic);
    let fresh = print_english("eval_fresh_en.csv", &fresh_set, &p);
    let p = predict(&fresh2_set, model, &semantic);
    let fresh2 = print_english("eval_fresh2_en.csv", &fresh2_set, &p);

    let mut shipped = Vec::new();
    for (name, set) in [
        ("eval_en", &eval_en),
        ("eval_fresh_en", &fresh_set),
        ("eval_fresh2_en", &fresh2_set),
    ] {
        let (f1, embedded) = gated_scores(set, model, &gated);
        println!(
            "{name} as shipped (embedded only where the encoder can change the outcome): combined macro-F1 {f1:.3}, {embedded} of {} messages embedded",
            set.len()
        );
        shipped.push(f1);
    }

    let p = predict(&heldout, model, &semantic);
    let all = scores(&heldout, &p);
    println!(
        "heldout.csv ({} messages, 10 languages): macro-F1 11 intents n-gram {:.3}, embeddings {:.3}, combined {:.3}",
        heldout.len(),
        all.fine[0],
        all.fine[1],
        all.fine[2]
    );
    let mut by_lang: BTreeMap<&str, [usize; 4]> = BTreeMap::new();
    for (i, e) in heldout.iter().enumerate() {
        let row = by_lang.entry(&e.lang).or_default();
        row[0] += 1;
        for k in 0..3 {
            row[k + 1] += usize::from(p[k][i] == e.intent.as_str());
        }
    }
    println!("  lang  n   accuracy: n-gram embeddings combined");
    for (lang, [n, a, b, c]) in &by_lang {
        let r = |x: &usize| *x as f64 / *n as f64;
        println!("  {lang:<5} {n:<3} {:.2}   {:.2}       {:.2}", r(a), r(b), r(c));
    }

    // Rates: the n-gram path and the semantic path on messages not seen before (the cache
    // holds the prototypes, as it does in the engine after the first call).
    let texts: Vec<String> = heldout.iter().map(|e| format!("{} (rate)", e.text)).collect();
    let start = Instant::now();
    for t in &texts {
        std::hint::black_box(model.predict(t));
    }
    let ngram_rate = texts.len() as f64 / start.elapsed().as_secs_f64();
    let start = Instant::now();
    for t in &texts {
        std::hint::black_box(weft_plugin_router::combine::ask_embeddings(t, &prototypes, &host).unwrap());
    }
    let one_rate = texts.len() as f64 / start.elapsed().as_secs_f64();
    println!(
        "rate (this build, not asserted): n-gram {ngram_rate:.0}/s natively; embeddings one message per call {one_rate:.0}/s"
    );

    // Floors: measured on this machine minus a margin (see plugins/router/data/README.md).
    // eval_en and eval_fresh_en (the prototypes were worded while looking at their misses):
    // 11 intents n-gram 0.677 / 0.700, embeddings 0.951 / 0.951, combined 0.963 / 0.967;
    // coarse combined 0.979 / 0.965. eval_fresh2_en (written before the router3 prototypes,
    // measured once at the end, never tuned on): embeddings 0.898, combined 0.903; coarse
    // combined 0.912. Issue 28 (373 English training lines, semantic weight 0.4): combined
    // 0.962 / 0.958 / 0.957, n-gram 0.805 / 0.870 / 0.883.
    assert!(
        en.fine[2] >= 0.93,
        "combined macro-F1 on eval_en fell to {:.3}",
        en.fine[2]
    );
    assert!(
        en.coarse[2] >= 0.95,
        "combined coarse macro-F1 on eval_en fell to {:.3}",
        en.coarse[2]
    );
    assert!(
        en.fine[1] >= 0.92,
        "embeddings macro-F1 on eval_en fell to {:.3}",
        en.fine[1]
    );
    assert!(
        en.fine[0] >= 0.77,
        "n-gram macro-F1 on eval_en fell to {:.3}",
        en.fine[0]
    );
    assert!(
        fresh.fine[2] >= 0.93,
        "combined macro-F1 on eval_fresh_en fell to {:.3}",
        fresh.fine[2]
    );
    assert!(
        fresh.coarse[2] >= 0.93,
        "combined coarse macro-F1 on eval_fresh_en fell to {:.3}",
        fresh.coarse[2]
    );
    assert!(
        fresh.fine[1] >= 0.92,
        "embeddings macro-F1 on eval_fresh_en fell to {:.3}",
        fresh.fine[1]
    );
    assert!(
        fresh2.fine[2] >= 0.93,
        "combined macro-F1 on eval_fresh2_en fell to {:.3}",
        fresh2.fine[2]
    );
    assert!(
        fresh2.coarse[2] >= 0.88,
        "combined coarse macro-F1 on eval_fresh2_en fell to {:.3}",
        fresh2.coarse[2]
    );
    assert!(
        fresh2.fine[1] >= 0.86,
        "embeddings macro-F1 on eval_fresh2_en fell to {:.3}",
        fresh2.fine[1]
    );
    assert!(
        all.fine[2] >= all.fine[0] - 0.02,
        "the combination made the multilingual set worse"
    );
    // As shipped, English stays where the always-embedded combination is (within 0.01).
    for (i, (name, always)) in [
        ("eval_en", en.fine[2]),
        ("eval_fresh_en", fresh.fine[2]),
        ("eval_fresh2_en", fresh2.fine[2]),
    ]
    .into_iter()
    .enumerate()
    {
        assert!(
            shipped[i] >= always - 0.01,
            "{name}: shipped {:.3} against {always:.3} with every message embedded",
            shipped[i]
        );
    }
}

/// The shipped route step, granted embeddings, on a runtime without the model: it still
/// classifies (n-gram model alone) and its evidence says why the embeddings were not used.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_shipped_route_step_works_without_the_model() {
    use weft::exec::Pipeline;
    use weft::runtime::{CallOptions, MemoryReader, Runtime, RuntimeConfig};
    use weft_sdk::testing::MemoryContext;
    use weft_sdk::{Command, Event, Message};

    let root = weft_test_support::workspace_root();
    let runtime = Runtime::new(RuntimeConfig {
        models_dir: None,
        ..RuntimeConfig::default()
    })
    .unwrap();
    assert!(runtime.embedder().is_err());
    let pipeline = Pipeline::load(
        Arc::new(runtime),
        weft_test_support::plugins_dir(),
        &[root.join("workflows/inbound.yaml")],
    )
    .await
    .unwrap();
    let step = pipeline.workflows[0]
        .steps
        .iter()
        .find(|s| s.id.to_string() == "route")
        .unwrap();
    assert!(step.allow.embeddings, "inbound.yaml grants the route step embeddings");
    let mut options = CallOptions::new("route", std::time::Duration::from_secs(5));
    options.grants.embeddings = step.allow.embeddings;
    let mut message = Message::new("email", "m1", 1_795_000_000);
    message.body = "Hello, where is my parcel? I ordered two weeks ago and the tracking has not moved.".into();
    let event = Event {
        id: 1,
        kind: "message.received".into(),
        at: 1_795_000_000,
        message: Some(message),
        customer: Some(1),
        ticket: Some(1),
        payload: serde_json::Value::Null,
    };
    // A category of the workflow's own, which only the encoder knows: the encoder is asked
    // for every message (the shipped workflow would skip it for this clear one).
    let mut with = step.with.clone();
    with["examples"] = serde_json::json!({ "gift-wrap": ["Can you wrap it as a present?"] });
    let (_, result) = pipeline.plugins["router"]
        .decide(&event, &with, &options, MemoryReader::new(MemoryContext::new()))
        .await;
    let output = result.expect("the router runs without the model");
    let category = output
        .decisions
        .iter()
        .find(|d| matches!(&d.command, Command::SetField(f) if f.name == "category"))
        .expect("a category decision");
    let Command::SetField(field) = &category.command else {
        unreachable!()
    };
    assert_eq!(field.value, "where-is-my-order", "{category:?}");
    assert!(
        category
            .evidence
            .iter()
            .any(|e| e.field == "embeddings" && e.detail.starts_with("not used: no embedding model loaded")),
        "{:?}",
        category.evidence
    );
}

/// Below `min_confidence` a ticket goes to triage, and `weft explain` says which two intents
/// the router hesitated between, through the real engine, store and plugins.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unsure_ticket_goes_to_triage_and_explain_names_the_two_intents() {
    use weft::exec::{self, DrainOptions, Pipeline};
    use weft::runtime::{Runtime, RuntimeConfig};
    use weft::store::Store;

    let dir = tempfile::tempdir().unwrap();
    let workflow = dir.path().join("inbound.yaml");
    std::fs::write(
        &workflow,
        "version: 1
name: inbound
on: message.received
steps:
  - id: identify
    uses: identity
    with: { default_region: DE }
  - id: thread
    uses: merger
    with: { window: 72h }
  - id: route
    uses: router
    with: { min_confidence: 0.97, default_team: general, teams: { general: { agents: [marie] } } }
",
    )
    .unwrap();
    let runtime = Runtime::new(RuntimeConfig {
        cache_dir: Some(std::env::temp_dir().join("weft-test-cache")),
        ..RuntimeConfig::default()
    })
    .unwrap();
    let pipeline = Pipeline::load(Arc::new(runtime), weft_test_support::plugins_dir(), &[workflow])
        .await
        .unwrap();
    let traffic = dir.path().join("traffic.jsonl");
    let line = serde_json::json!({
        "channel": "chat",
        "id": "unsure-1",
        "at": "2026-12-01T10:00:00Z",
        "from": { "name": "Sofia Ricci", "email": "sofia@example.it" },
        "body": "Buongiorno, il pacco è arrivato ma vorrei sapere come funziona il reso o se posso avere i soldi indietro.",
    });
    std::fs::write(&traffic, format!("{line}\n")).unwrap();
    let store = Store::open(&format!("sqlite://{}", dir.path().join("triage.db").display()))
        .await
        .unwrap();
    exec::ingest_paths(&store, None, &pipeline, &[traffic]).await.unwrap();
    let drained = exec::drain(&store, &pipeline, &DrainOptions::default()).await.unwrap();
    assert_eq!(drained.failed, 0);
    let explained = weft::explain::ticket(&store, 1).await.unwrap();
    assert!(explained.contains("category: triage"), "{explained}");
    let line = explained
        .lines()
        .find(|l| l.contains("not sure between"))
        .unwrap_or_else(|| panic!("no hesitation in:\n{explained}"));
    // The two intents it hesitated between, each with its probability.
    let named: Vec<&str> = ["refund", "return", "where-is-my-order", "damaged-defective-wrong"]
        .into_iter()
        .filter(|i| line.contains(&format!("{i} (")))
        .collect();
    assert_eq!(named.len(), 2, "{line}");
    assert!(explained.contains("hesitated between"), "{explained}");
    assert!(explained.contains("language: it"), "{explained}");
}

/// How [`weft_plugin_router::combine::SEMANTIC_WEIGHT`] is chosen without any evaluation set:
/// the English lines of `train.csv` in five folds, each scored by an n-gram model trained
/// without it (every other line, every language) and by the semantic classifier, combined
/// with each candidate weight. Prints macro-F1 per weight; asserts that the shipped weight is
/// within 0.01 of the best. `--nocapture` shows the table.
#[test]
fn semantic_weight_by_cross_validation_on_the_training_lines() {
    use weft_plugin_router::{Intent, TrainOptions, train};
    let Some(embedder) = embedder() else { return };
    let host = EmbedHost(embedder);
    let prototypes = Prototypes::new(&BTreeMap::new()).unwrap();
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../plugins/router/data");
    let all = parse_csv(&std::fs::read_to_string(root.join("train.csv")).unwrap()).unwrap();
    let english: Vec<usize> = (0..all.len()).filter(|&i| all[i].lang == "en").collect();
    const FOLDS: usize = 5;
    // (gold, n-gram probabilities, semantic probabilities) per English line, in Intent::ALL order.
    let mut scored: Vec<(Intent, Vec<f32>, Vec<f32>)> = Vec::new();
    for fold in 0..FOLDS {
        let out: std::collections::BTreeSet<usize> = english
            .iter()
            .enumerate()
            .filter(|(n, _)| n % FOLDS == fold)
            .map(|(_, &i)| i)
            .collect();
        let training: Vec<Example> = (0..all.len())
            .filter(|i| !out.contains(i))
            .map(|i| all[i].clone())
            .collect();
        let model = train(&training, &TrainOptions::default());
        for &i in &out {
            let e = &all[i];
            let ngram = model.predict(&e.text);
            let semantic = weft_plugin_router::combine::ask_embeddings(&e.text, &prototypes, &host).unwrap();
            let n: Vec<f32> = Intent::ALL
                .iter()
                .map(|intent| ngram.ranked.iter().find(|(x, _)| x == intent).map_or(0.0, |(_, p)| *p))
                .collect();
            let s: Vec<f32> = Intent::ALL
                .iter()
                .map(|intent| semantic.probability(intent.as_str()))
                .collect();
            scored.push((e.intent, n, s));
        }
    }
    let gold: Vec<&str> = scored.iter().map(|(g, _, _)| g.as_str()).collect();
    let mut results = Vec::new();
    for step in 0..=10 {
        let w = step as f32 / 10.0;
        let predicted: Vec<&str> = scored
            .iter()
            .map(|(_, n, s)| {
                let best = (0..n.len())
                    .max_by(|&a, &b| (w * s[a] + (1.0 - w) * n[a]).total_cmp(&(w * s[b] + (1.0 - w) * n[b])))
                    .unwrap();
                Intent::ALL[best].as_str()
            })
            .collect();
        let f1 = macro_f1(&gold, &predicted);
        println!(
            "semantic weight {w:.1}: macro-F1 {f1:.3} on {} English training lines, out of fold",
            gold.len()
        );
        results.push((w, f1));
    }
    let best = results.iter().map(|r| r.1).fold(0.0, f64::max);
    let shipped = results
        .iter()
        .find(|(w, _)| (w - weft_plugin_router::combine::SEMANTIC_WEIGHT).abs() < 1e-6)
        .expect("the shipped weight is one of the candidates")
        .1;
    assert!(
        shipped >= best - 0.01,
        "shipped weight gives {shipped:.3}, the best {best:.3}"
    );
}

/// The prototype vectors the router ships (`plugins/router/model/prototypes.bin`) are this
/// model's vectors of exactly the sentences of `prototypes.csv`, within the tolerance the
/// router's probe allows, computed here in batches of mixed lengths as the runtime computes
/// them. Also: the router, given this host, takes them from the table with one pass.
#[test]
fn shipped_prototype_vectors_are_the_models() {
    const WRITE: &str = "write them again: `cargo run -p weft --release --example prototype_vectors -- target/models plugins/router/model/prototypes.bin`, then `cargo xtask plugins`";
    let Some(embedder) = embedder() else { return };
    let table = PrototypeVectors::shipped().unwrap_or_else(|e| panic!("model/prototypes.bin: {e}; {WRITE}"));
    let prototypes = Prototypes::new(&BTreeMap::new()).unwrap();
    let sentences: Vec<String> = prototypes.sentences().map(str::to_owned).collect();
    let in_table: Vec<&str> = table.entries().map(|(s, _)| s).collect();
    assert_eq!(
        in_table, sentences,
        "the table's sentences are not prototypes.csv's; {WRITE}"
    );
    let mut worst = 0.0f32;
    for chunk in sentences.chunks(128) {
        for (sentence, vector) in chunk.iter().zip(embedder.embed(chunk).unwrap()) {
            let shipped = table.get(sentence).unwrap();
            assert!(
                same_vector(&vector, shipped),
                "{sentence:?}: the shipped vector is not this model's ({}); {WRITE}",
                table.model()
            );
            worst = vector
                .iter()
                .zip(shipped)
                .map(|(a, b)| (a - b).abs())
                .fold(worst, f32::max);
        }
    }
    println!(
        "{} shipped prototype vectors match the model; largest difference {worst:e} (tolerance {TOLERANCE:e})",
        table.len()
    );

    let fresh = Arc::new(Embedder::load(&model_dir()).unwrap());
    let host = EmbedHost(fresh.clone());
    let vectors = Prototypes::new(&BTreeMap::new())
        .unwrap()
        .vectors(|t| host.embed(t))
        .unwrap()
        .to_vec();
    assert_eq!(vectors.len(), sentences.len());
    assert_eq!(fresh.encoded(), 1, "the probe alone is embedded");
}
