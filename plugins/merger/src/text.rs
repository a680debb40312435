//! Folding text for comparison: width, case and punctuation, the same way for every language.
//!
//! No tokenizer and no stemmer: Latin, Cyrillic, Greek, CJK and the rest are treated alike.
//! Fullwidth ASCII (`Ｒｅ：`, `１２３`) and the ideographic space become plain ASCII, letters are
//! lowercased, and everything that is neither a letter nor a digit becomes a single space.

use weft_sdk::text::fold_width;

/// Lowercase, width-folded text with punctuation and runs of whitespace turned into one space,
/// no leading or trailing space. `"Où est  MON colis ?!"` becomes `"où est mon colis"`.
pub fn normalize(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut pending_space = false;
    for c in text.chars().map(fold_width) {
        if c.is_alphanumeric() {
            if pending_space && !out.is_empty() {
                out.push(' ');
            }
            pending_space = false;
            out.extend(c.to_lowercase());
        } else {
            pending_space = true;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn folds_case_width_and_punctuation() {
        let cases = [
            ("Où est  MON colis ?!", "où est mon colis"),
            ("Ｒｅ：ＡＢＣ１２３", "re abc123"),
            ("  Wo ist mein Paket?\n\n-- \nJürgen", "wo ist mein paket jürgen"),
            ("注文番号：１２３、届きません。", "注文番号 123 届きません"),
            ("¿Dónde está mi pedido?", "dónde está mi pedido"),
            ("", ""),
            ("?!…", ""),
        ];
        for (input, expected) in cases {
            assert_eq!(normalize(input), expected, "{input:?}");
        }
    }
}
