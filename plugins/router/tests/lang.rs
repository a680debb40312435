//! Language identification on sentences the router never trained on (`data/langid_other.csv`:
//! two buyer messages in each of 56 languages, every script) and on the router's own held-out
//! sets: how many are right, how many are answered "unknown", how many are wrong.
//!
//! `cargo test -p weft-plugin-router --test lang -- --nocapture` prints every miss.

use weft_plugin_router::Model;
use weft_plugin_router::lang::{LANGUAGES, UNKNOWN};

const OTHER: &str = include_str!("../data/langid_other.csv");
const FRESH: &str = include_str!("../data/langid_fresh.csv");

fn rows() -> Vec<(String, String)> {
    read(OTHER)
}

fn read(csv: &str) -> Vec<(String, String)> {
    csv::Reader::from_reader(csv.as_bytes())
        .records()
        .map(|r| {
            let r = r.unwrap();
            (r[0].to_owned(), r[1].to_owned())
        })
        .collect()
}

#[test]
fn other_languages_are_named_or_unknown_never_confidently_wrong() {
    let model = Model::shipped().unwrap();
    let rows = rows();
    let languages: std::collections::BTreeSet<&str> = rows.iter().map(|r| r.1.as_str()).collect();
    assert!(languages.len() >= 40, "{} languages", languages.len());
    let (mut right, mut unknown, mut wrong) = (0, 0, Vec::new());
    for (text, lang) in &rows {
        let guess = model.lang.detect(text).expect("every sentence has letters");
        if guess.lang == *lang {
            right += 1;
        } else if guess.lang == UNKNOWN {
            unknown += 1;
            println!("  unknown ({lang}): {text}  [{:?}]", guess.method);
        } else {
            println!(
                "  WRONG {lang} -> {} at {:.2}: {text}  [{:?}]",
                guess.lang, guess.confidence, guess.method
            );
            wrong.push(format!("{lang} -> {}", guess.lang));
        }
    }
    println!(
        "{} sentences in {} languages: {right} right, {unknown} unknown, {} wrong",
        rows.len(),
        languages.len(),
        wrong.len()
    );
    // Every language of the set is one the identifier can answer.
    for lang in &languages {
        assert!(LANGUAGES.iter().any(|l| l.0 == *lang), "{lang} is not in LANGUAGES");
    }
    assert!(right * 100 >= rows.len() * 85, "only {right} of {} right", rows.len());
    assert!(wrong.len() * 100 <= rows.len() * 3, "wrong: {wrong:?}");
}

/// `data/langid_fresh.csv`, written after the identifier was built and never used to adjust
/// it: two buyer messages in each of 56 languages it knows and 14 it does not (Icelandic,
/// Irish, Basque, Swahili, Somali, Hausa, Maltese, Albanian, Lao, Mongolian, Kazakh, Dhivehi,
/// Tigrinya, Pashto), where the right answer is "unknown". Prints the table of the data README.
#[test]
fn a_set_never_tuned_on_known_languages_named_others_unknown() {
    let model = Model::shipped().unwrap();
    let rows = read(FRESH);
    let knows = |lang: &str| LANGUAGES.iter().any(|l| l.0 == lang);
    // (right, unknown, wrong) for languages it knows, then for the others.
    let mut known = (0, 0, Vec::new());
    let mut others = (0, 0, Vec::new());
    for (text, lang) in &rows {
        let guess = model.lang.detect(text).expect("every sentence has letters");
        let tally = if knows(lang) { &mut known } else { &mut others };
        let expected = if knows(lang) { lang.as_str() } else { UNKNOWN };
        if guess.lang == expected {
            tally.0 += 1;
        } else if guess.lang == UNKNOWN {
            tally.1 += 1;
            println!("  unknown ({lang}): {text}  [{:?}]", guess.method);
        } else {
            println!(
                "  WRONG {lang} -> {} at {:.2}: {text}  [{:?}]",
                guess.lang, guess.confidence, guess.method
            );
            tally.2.push(format!("{lang} -> {}", guess.lang));
        }
    }
    let n_known = known.0 + known.1 + known.2.len();
    let n_others = others.0 + others.1 + others.2.len();
    println!(
        "langid_fresh.csv, languages it knows: {n_known} sentences, {} right, {} unknown, {} wrong",
        known.0,
        known.1,
        known.2.len()
    );
    println!(
        "langid_fresh.csv, languages it does not know: {n_others} sentences, {} answered unknown, {} named (wrong)",
        others.0,
        others.2.len()
    );
    assert!(n_known >= 100 && n_others >= 20, "{n_known} {n_others}");
    // Floors at what was measured the first time the set was run (2026-12-07: 85 of 112
    // right, 22 unknown, 5 wrong; 13 of the 25 other sentences answered unknown), not tuned on.
    assert!(known.0 * 100 >= n_known * 75, "only {} of {n_known} right", known.0);
    assert!(known.2.len() * 100 <= n_known * 5, "wrong: {:?}", known.2);
    assert!(others.0 >= 12, "only {} of {n_others} unknown", others.0);
}

#[test]
fn no_letters_no_language_and_scripts_decide_cjk() {
    let model = Model::shipped().unwrap();
    assert_eq!(model.lang.detect("12345 !!! 302-1234567-7654321"), None);
    for (text, lang) in [
        ("荷物はまだ届いていません", "ja"),
        ("我的包裹还没到", "zh"),
        ("주문이 아직 안 왔어요", "ko"),
        ("注文 302-1234 の件", "ja"),
        (
            "Доброго дня, де моє замовлення? Минуло вже два тижні, а посилка так і не прийшла.",
            "uk",
        ),
        ("Πού είναι η παραγγελία μου; Έχουν περάσει δύο εβδομάδες.", "el"),
        ("איפה ההזמנה שלי? עברו כבר שבועיים.", "he"),
        ("أين طلبي؟ لقد مر أسبوعان.", "ar"),
        ("Var är min beställning? Det har gått två veckor nu.", "sv"),
        ("Wo ist meine Bestellung 302-1234567-7654321?", "de"),
    ] {
        let guess = model.lang.detect(text).unwrap();
        assert_eq!(guess.lang, lang, "{text}: {guess:?}");
    }
    // Two words of nothing in particular: unknown, not a confident guess.
    let guess = model.lang.detect("ok ok").unwrap();
    assert!(guess.lang == UNKNOWN || guess.lang == "en", "{guess:?}");
}
