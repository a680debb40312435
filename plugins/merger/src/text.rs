//! Folding text for comparison: width, case and punctuation, the same way for every language.
//!
//! No tokenizer and no stemmer: Latin, Cyrillic, Greek, CJK and the rest are treated alike.
//! Fullwidth ASCII (`Ｒｅ：`, `１２３`) and the ideographic space become plain ASCII, letters are
//! lowercased, and everything that is neither a letter nor a digit becomes a single space.

/// Fullwidth ASCII to ASCII and the ideographic space to a space; every other char unchanged.
pub fn fold_width(c: char) -> char {
    match c {
        '\u{FF01}'..='\u{FF5E}' => char::from_u32(c as u32 - 0xFEE0).unwrap_or(c),
        '\u{3000}' => ' ',
        _ => c,
    }
}

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

/// Whether a char belongs to a script written without spaces between words (Han, kana,
/// Hangul), where one or two chars already carry a word's meaning.
pub fn is_cjk(c: char) -> bool {
    matches!(c,
        '\u{3040}'..='\u{30FF}'   // hiragana, katakana
        | '\u{3400}'..='\u{4DBF}' // CJK extension A
        | '\u{4E00}'..='\u{9FFF}' // CJK unified ideographs
        | '\u{AC00}'..='\u{D7AF}' // Hangul syllables
        | '\u{F900}'..='\u{FAFF}' // CJK compatibility ideographs
        | '\u{FF66}'..='\u{FF9F}' // halfwidth katakana
        | '\u{20000}'..='\u{2FA1F}')
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

    #[test]
    fn knows_cjk_from_other_scripts() {
        assert!("届漢カ한".chars().all(is_cjk));
        assert!(!"aé Жα1".chars().any(is_cjk));
    }
}
