//! Language identification on sentences the router never trained on (`data/langid_other.csv`:
//! two buyer messages in each of 56 languages, every script) and on the router's own held-out
//! sets: how many are right, how many are answered "unknown", how many are wrong.
//!
//! `cargo test -p weft-plugin-router --test lang -- --nocapture` prints every miss.

use weft_plugin_router::Model;
use weft_plugin_router::lang::{LANGUAGES, UNKNOWN};

const OTHER: &str = include_str!("../data/langid_other.csv");

fn rows() -> Vec<(String, String)> {
    csv::Reader::from_reader(OTHER.as_bytes())
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
