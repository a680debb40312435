//! Character classes the engine and plugins must agree on: which characters are CJK, and the
//! width folding of fullwidth ASCII. Both come from Unicode data, not from hand-kept ranges.

use unicode_script::{Script, UnicodeScript};

/// The East Asian scripts written without spaces between words, where one or two characters
/// already carry a word's meaning.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Cjk {
    /// Han ideographs (Chinese hanzi, Japanese kanji, Korean hanja), all extensions included.
    Han,
    /// Hiragana and Katakana, halfwidth Katakana and the marks used only with kana (`ー`).
    Kana,
    /// Hangul syllables, Jamo, compatibility and halfwidth Jamo.
    Hangul,
}

/// The CJK script of a character, from the Unicode `Script` property, or for a character
/// shared between scripts (`Common`/`Inherited`, such as the prolonged sound mark `ー` or the
/// voicing marks `゛`) from its `Script_Extensions`, when those name exactly one of the three.
/// Punctuation shared by all of them (`、`, `。`, `・`) and everything else is `None`.
pub fn cjk_script(c: char) -> Option<Cjk> {
    // Below U+1100 (Hangul Jamo) no character is CJK: the common case costs one comparison.
    if (c as u32) < 0x1100 {
        return None;
    }
    let single = |script| match script {
        Script::Han => Some(Cjk::Han),
        Script::Hiragana | Script::Katakana => Some(Cjk::Kana),
        Script::Hangul => Some(Cjk::Hangul),
        _ => None,
    };
    match c.script() {
        Script::Common | Script::Inherited => {
            let extensions = c.script_extension();
            // A plain Common or Inherited character "contains" every script: it has none.
            if extensions.is_common() || extensions.is_inherited() {
                return None;
            }
            let han = extensions.contains_script(Script::Han);
            let kana = extensions.contains_script(Script::Hiragana) || extensions.contains_script(Script::Katakana);
            let hangul = extensions.contains_script(Script::Hangul);
            match (han, kana, hangul) {
                (true, false, false) => Some(Cjk::Han),
                (false, true, false) => Some(Cjk::Kana),
                (false, false, true) => Some(Cjk::Hangul),
                _ => None,
            }
        }
        script => single(script),
    }
}

/// Whether a character is Han, kana or Hangul (see [`cjk_script`]).
pub fn is_cjk(c: char) -> bool {
    cjk_script(c).is_some()
}

/// Fullwidth ASCII to ASCII and the ideographic space to a space; every other char unchanged.
///
/// These are exactly the characters whose Unicode compatibility decomposition is `<wide>` of an
/// ASCII character (U+FF01..U+FF5E and U+3000, see the test against NFKC). Other width variants
/// (halfwidth kana, `￥`) are left alone: [`crate::fingerprint::body_fingerprint`] uses this
/// folding and its values are stored, so it must never change.
pub fn fold_width(c: char) -> char {
    match c {
        '\u{FF01}'..='\u{FF5E}' => char::from_u32(c as u32 - 0xFEE0).unwrap_or(c),
        '\u{3000}' => ' ',
        _ => c,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use unicode_normalization::UnicodeNormalization;

    #[test]
    fn scripts_of_cjk_text() {
        let table: &[(&str, Option<Cjk>)] = &[
            ("漢字汉语𠮷㐀豈𰀀", Some(Cjk::Han)),
            ("々〆〇", Some(Cjk::Han)),
            ("ひらがなカタカナーｶﾀｶﾅｰﾞ゛ㇰ", Some(Cjk::Kana)),
            ("한국어각ㄱㅏﾡ", Some(Cjk::Hangul)),
            ("、。・「」〜！１ａ", None),
            ("Grüße éàñ ß Ωμέγα Москва", None),
            ("مرحبا שלום नमस्ते ไทย", None),
            ("0123 ,.;:-!? \u{3000}\u{0301}", None),
        ];
        for (text, expected) in table {
            for c in text.chars().filter(|c| *c != ' ') {
                assert_eq!(cjk_script(c), *expected, "{c} U+{:04X}", c as u32);
                assert_eq!(is_cjk(c), expected.is_some(), "{c}");
            }
        }
    }

    #[test]
    fn width_folding_is_nfkc_of_the_wide_forms_of_ascii() {
        let mut folded = 0;
        for c in (0..=0x10FFFF).filter_map(char::from_u32) {
            let nfkc: String = c.to_string().nfkc().collect();
            let wide_ascii = nfkc.len() == 1
                && nfkc.is_ascii()
                && (matches!(c, '\u{3000}') || ('\u{FF00}'..='\u{FFEF}').contains(&c));
            if wide_ascii {
                folded += 1;
                assert_eq!(fold_width(c).to_string(), nfkc, "U+{:04X}", c as u32);
            } else {
                assert_eq!(fold_width(c), c, "U+{:04X}", c as u32);
            }
        }
        assert_eq!(folded, 95);
    }
}
