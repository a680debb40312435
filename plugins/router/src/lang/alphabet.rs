//! Letter evidence: the letters each known language writes, so that a text using letters its
//! candidate never uses is not given that language (Kazakh's ә қ ң ө ү in Cyrillic are not
//! Russian or Belarusian, Maltese ħ ġ ċ are not Polish, Assamese ৰ ৱ are not Bengali,
//! Tigrinya's ቐ ኸ are not Amharic, Uyghur's ې ۆ ۈ are not Persian or Urdu) and a text in a
//! script that no known language writes (Thaana, Tibetan, Lao, Mongolian) is not given any.
//!
//! whatlang weighs alphabets as one score among others and picks the best language of the
//! script even when none fits; this module turns the same kind of fact into a veto. The
//! letter lists are written here (they are facts about each orthography, checked against the
//! languages' standard alphabets) because no maintained crate exposes them.

use unicode_normalization::UnicodeNormalization;

/// A writing system of the known languages.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Script {
    Latin,
    Cyrillic,
    Greek,
    Arabic,
    Hebrew,
    Devanagari,
    Bengali,
    Gurmukhi,
    Gujarati,
    Oriya,
    Tamil,
    Telugu,
    Kannada,
    Malayalam,
    Sinhala,
    Thai,
    Khmer,
    Myanmar,
    Georgian,
    Armenian,
    Ethiopic,
    Hangul,
    Kana,
    Han,
}

/// What a character is, for the letter check.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Class {
    /// Not a letter (digits, punctuation, spaces, combining marks outside a script's block).
    Other,
    /// A letter (or vowel sign) of a script some known language writes.
    Known(Script),
    /// A letter of a script no known language writes.
    Unclaimed,
}

fn class(c: char) -> Class {
    use Script::*;
    if !c.is_alphabetic() {
        return Class::Other;
    }
    let script = match c as u32 {
        0x0300..=0x036F => return Class::Other,
        0x0041..=0x02AF | 0x1E00..=0x1EFF | 0x2C60..=0x2C7F | 0xA720..=0xA7FF | 0xAB30..=0xAB6F | 0xFF21..=0xFF5A => {
            Latin
        }
        0x0370..=0x03FF | 0x1F00..=0x1FFF => Greek,
        0x0400..=0x052F | 0x1C80..=0x1C8F | 0x2DE0..=0x2DFF | 0xA640..=0xA69F => Cyrillic,
        0x0530..=0x058F | 0xFB13..=0xFB17 => Armenian,
        0x0590..=0x05FF | 0xFB1D..=0xFB4F => Hebrew,
        0x0600..=0x06FF | 0x0750..=0x077F | 0x08A0..=0x08FF | 0xFB50..=0xFDFF | 0xFE70..=0xFEFF => Arabic,
        0x0900..=0x097F | 0xA8E0..=0xA8FF => Devanagari,
        0x0980..=0x09FF => Bengali,
        0x0A00..=0x0A7F => Gurmukhi,
        0x0A80..=0x0AFF => Gujarati,
        0x0B00..=0x0B7F => Oriya,
        0x0B80..=0x0BFF => Tamil,
        0x0C00..=0x0C7F => Telugu,
        0x0C80..=0x0CFF => Kannada,
        0x0D00..=0x0D7F => Malayalam,
        0x0D80..=0x0DFF => Sinhala,
        0x0E00..=0x0E7F => Thai,
        0x1000..=0x109F | 0xA9E0..=0xA9FF | 0xAA60..=0xAA7F => Myanmar,
        0x10A0..=0x10FF | 0x1C90..=0x1CBF | 0x2D00..=0x2D2F => Georgian,
        0x1100..=0x11FF | 0x3130..=0x318F | 0xA960..=0xA97F | 0xAC00..=0xD7FF => Hangul,
        0x1200..=0x139F | 0x2D80..=0x2DDF | 0xAB00..=0xAB2F => Ethiopic,
        0x1780..=0x17FF | 0x19E0..=0x19FF => Khmer,
        0x3040..=0x30FF | 0x31F0..=0x31FF | 0xFF66..=0xFF9F => Kana,
        0x3400..=0x4DBF | 0x4E00..=0x9FFF | 0xF900..=0xFAFF | 0x20000..=0x3FFFF => Han,
        _ => return Class::Unclaimed,
    };
    Class::Known(script)
}

/// The script a known language is written in (ISO 639-1 code of [`super::LANGUAGES`]).
pub fn script_of(lang: &str) -> Script {
    use Script::*;
    match lang {
        "be" | "bg" | "mk" | "ru" | "sr" | "uk" => Cyrillic,
        "el" => Greek,
        "ar" | "fa" | "ur" => Arabic,
        "he" | "yi" => Hebrew,
        "hi" | "mr" | "ne" => Devanagari,
        "bn" => Bengali,
        "pa" => Gurmukhi,
        "gu" => Gujarati,
        "or" => Oriya,
        "ta" => Tamil,
        "te" => Telugu,
        "kn" => Kannada,
        "ml" => Malayalam,
        "si" => Sinhala,
        "th" => Thai,
        "km" => Khmer,
        "my" => Myanmar,
        "ka" => Georgian,
        "hy" => Armenian,
        "am" => Ethiopic,
        "ko" => Hangul,
        "ja" => Kana,
        "zh" => Han,
        _ => Latin,
    }
}

/// Letters beyond a–z of each Latin-script language (lowercase), including those its
/// everyday loanwords and names bring often enough (French é in Dutch, German, Swedish).
fn latin_extra(lang: &str) -> &'static str {
    match lang {
        "af" => "áéèêëíîïóôöúûüýŉ",
        "ak" => "ɛɔŋ",
        "az" => "çəğıöşü",
        "ca" => "àçèéíïòóúü",
        "cs" => "áčďéěíňóřšťúůýž",
        "cy" => "âêîôûŵŷáéíóúàèìòùäëïöüÿ",
        "da" => "æøåé",
        "de" => "äöüßé",
        "en" => "é",
        "eo" => "ĉĝĥĵŝŭ",
        "es" => "áéíóúüñ",
        "et" => "šžõäöü",
        "fi" => "äöåšž",
        "fr" => "àâæçéèêëîïôœùûüÿ",
        "hr" => "čćđšž",
        "hu" => "áéíóöőúüű",
        "id" => "é",
        "it" => "àèéìíîòóùú",
        "jv" => "éèê",
        "la" => "āēīōūȳæœ",
        "lt" => "ąčęėįšųūž",
        "lv" => "āčēģīķļņšūž",
        "nb" => "æøåéèêóòô",
        "nl" => "áàäéèëêíïóöôúüç",
        "pl" => "ąćęłńóśźż",
        "pt" => "áâãàçéêíóôõúü",
        "ro" => "ăâîșțşţ",
        "sk" => "áäčďéíĺľňóôŕšťúýž",
        "sl" => "čšžćđ",
        "sv" => "åäöé",
        "tk" => "äçňöşüýž",
        "tl" => "ñáéíóú",
        "tr" => "çğıöşüâîû",
        "vi" => {
            "àáâãèéêìíòóôõùúýăđĩũơư\u{1EA1}\u{1EA3}\u{1EA5}\u{1EA7}\u{1EA9}\u{1EAB}\u{1EAD}\u{1EAF}\u{1EB1}\u{1EB3}\u{1EB5}\u{1EB7}\u{1EB9}\u{1EBB}\u{1EBD}\u{1EBF}\u{1EC1}\u{1EC3}\u{1EC5}\u{1EC7}\u{1EC9}\u{1ECB}\u{1ECD}\u{1ECF}\u{1ED1}\u{1ED3}\u{1ED5}\u{1ED7}\u{1ED9}\u{1EDB}\u{1EDD}\u{1EDF}\u{1EE1}\u{1EE3}\u{1EE5}\u{1EE7}\u{1EE9}\u{1EEB}\u{1EED}\u{1EEF}\u{1EF1}\u{1EF3}\u{1EF5}\u{1EF7}\u{1EF9}"
        }
        // Shona, Uzbek (its oʻ gʻ use a modifier letter, not a Latin one), Zulu.
        _ => "",
    }
}

/// Whether `c` (lowercase, in `lang`'s script) is a letter `lang` writes.
fn writes(lang: &str, c: char) -> bool {
    // Arabic letters with the vowel marks, shadda, sukun, maddah, hamza marks, superscript
    // alef, alef wasla and tatweel.
    const ARABIC: &str = "ءآأؤإئابةتثجحخدذرزسشصضطظعغفقكلمنهوىيٱـ\u{064B}\u{064C}\u{064D}\u{064E}\u{064F}\u{0650}\u{0651}\u{0652}\u{0653}\u{0654}\u{0655}\u{0670}";
    // Persian adds pe, che, zhe, gaf, keheh, farsi yeh and heh with yeh above.
    const PERSIAN: &str = "پچژگکیۀ";
    // Urdu adds tteh, ddal, rreh, noon ghunna, heh goal, heh doachashmee, yeh barree (and their
    // hamza forms).
    const URDU: &str = "ٹڈڑںہھےۓۂۃ";
    match lang {
        "ar" => ARABIC.contains(c),
        "fa" => ARABIC.contains(c) || PERSIAN.contains(c),
        "ur" => ARABIC.contains(c) || PERSIAN.contains(c) || URDU.contains(c),
        "ru" => "абвгдежзийклмнопрстуфхцчшщъыьэюяё".contains(c),
        "uk" => "абвгдежзийклмнопрстуфхцчшщьюяєіїґ".contains(c),
        "be" => "абвгдежзйклмнопрстуфхцчшыьэюяёіў".contains(c),
        "bg" => "абвгдежзийклмнопрстуфхцчшщъьюяѝ".contains(c),
        "mk" => "абвгдѓежзѕијклљмнњопрстќуфхцчџшѐѝ".contains(c),
        "sr" => "абвгдђежзијклљмнњопрстћуфхцчџш".contains(c),
        // Yiddish's double vav, vav yod and double yod ligatures are not Hebrew.
        "he" => !matches!(c, '\u{05F0}'..='\u{05F2}'),
        // The labialized and velar series (ቐ ቘ ኸ ዀ ...) are Tigrinya's, not Amharic's.
        "am" => !matches!(c, '\u{1250}'..='\u{125D}' | '\u{12B8}'..='\u{12C5}'),
        // Assamese ra and wa.
        "bn" => !matches!(c, '\u{09F0}' | '\u{09F1}'),
        // The extensions for Mon, Shan, Karen and other languages of Myanmar.
        "my" => !matches!(c, '\u{105A}'..='\u{109F}' | '\u{A9E0}'..='\u{A9FF}' | '\u{AA60}'..='\u{AA7F}'),
        _ if script_of(lang) == Script::Latin => c.is_ascii_lowercase() || latin_extra(lang).contains(c),
        // The other scripts are each written by one known language (or, for Devanagari,
        // Greek and Han, the whole block is theirs).
        _ => true,
    }
}

/// How a text's letters fit one language.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fit {
    /// The language's script.
    pub script: Script,
    /// Letters of the language's script.
    pub letters: usize,
    /// Letters the language never writes: of its own script but not of its alphabet, or of a
    /// script no known language writes (in text order, each once).
    pub foreign: Vec<char>,
    /// How many foreign letters there are (with repeats).
    pub foreign_count: usize,
    /// How many words have a foreign letter.
    pub foreign_words: usize,
}

impl Fit {
    /// Whether the text can be in the language: some letters of its script, and no foreign
    /// letter, except in Latin script one word with foreign letters. Latin-script messages
    /// carry names and loanwords with other languages' letters ("Müller", "São Paulo",
    /// "Škoda") one word at a time; in other scripts names are spelled with the script's own
    /// letters, so one ә or ө in Cyrillic already says Kazakh or Mongolian, not Russian.
    pub fn admits(&self) -> bool {
        self.letters > 0
            && match self.script {
                Script::Latin => self.foreign_words < 2,
                _ => self.foreign_count == 0,
            }
    }
}

/// The text's letters, compatibility-normalized (fullwidth and presentation forms folded) and
/// lowercased, with their class.
/// A text's letters: how many of each known script, and every letter outside a–z with its
/// class and the number of the word it is in (a–z is in every Latin-script alphabet, so only
/// the other letters need looking at for each language).
pub struct Letters {
    counts: Vec<(Script, usize)>,
    rare: Vec<(char, Class, usize)>,
}

impl Letters {
    pub fn of(text: &str) -> Letters {
        let mut letters = Letters {
            counts: Vec::new(),
            rare: Vec::new(),
        };
        let mut word = 0;
        let mut in_word = false;
        for c in text.nfkc().flat_map(char::to_lowercase) {
            let k = if c.is_ascii_lowercase() {
                Class::Known(Script::Latin)
            } else {
                class(c)
            };
            match k {
                Class::Other => {
                    // Marks and joiners inside a word do not end it.
                    if in_word && !c.is_alphanumeric() && !is_joiner(c) {
                        word += 1;
                        in_word = false;
                    }
                    continue;
                }
                Class::Known(s) => match letters.counts.iter_mut().find(|(t, _)| *t == s) {
                    Some(entry) => entry.1 += 1,
                    None => letters.counts.push((s, 1)),
                },
                Class::Unclaimed => {}
            }
            in_word = true;
            if !c.is_ascii_lowercase() {
                letters.rare.push((c, k, word));
            }
        }
        letters
    }

    /// How the letters fit `lang` (an ISO 639-1 code of [`super::LANGUAGES`]).
    pub fn fit(&self, lang: &str) -> Fit {
        let script = script_of(lang);
        let mut fit = Fit {
            script,
            letters: self.counts.iter().find(|(s, _)| *s == script).map_or(0, |(_, n)| *n),
            foreign: Vec::new(),
            foreign_count: 0,
            foreign_words: 0,
        };
        let mut last_word = None;
        for &(c, k, word) in &self.rare {
            let foreign = match k {
                Class::Known(s) => s == script && !writes(lang, c),
                Class::Unclaimed => true,
                Class::Other => false,
            };
            if foreign {
                fit.foreign_count += 1;
                if last_word != Some(word) {
                    fit.foreign_words += 1;
                    last_word = Some(word);
                }
                if !fit.foreign.contains(&c) {
                    fit.foreign.push(c);
                }
            }
        }
        fit
    }

    /// The script most of the letters are in, if any letter is in a known one.
    pub fn main_script(&self) -> Option<Script> {
        self.counts
            .iter()
            .max_by_key(|&&(s, n)| (n, std::cmp::Reverse(s)))
            .map(|&(s, _)| s)
    }
}

/// Combining marks and zero-width joiners, which belong to the word around them.
fn is_joiner(c: char) -> bool {
    matches!(c, '\u{0300}'..='\u{036F}' | '\u{200C}' | '\u{200D}' | '\u{00AD}')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn letters_a_language_never_writes_rule_it_out() {
        for (text, lang, admits) in [
            ("Сәлеметсіз бе, менің тапсырысым әлі келмеді", "be", false),
            ("Сәлеметсіз бе, менің тапсырысым әлі келмеді", "ru", false),
            ("Добры дзень, я атрымаў не той памер", "be", true),
            ("Il-pakkett tiegħi għadu ma waslx, x'għandi nagħmel?", "pl", false),
            (
                "My order from Müller's shop never arrived, can you check it please?",
                "en",
                true,
            ),
            ("Nixtieq nirritorna ż-żraben għax huma żgħar wisq.", "pl", false),
            ("Гутал жижиг байгаа тул буцаахыг хүсч байна.", "ru", false),
            (
                "Chào shop, đơn hàng của tôi đã một tuần rồi mà vẫn chưa nhận được.",
                "vi",
                true,
            ),
            ("নমস্কাৰ, মোৰ অৰ্ডাৰ এতিয়াও অহা নাই", "bn", false),
            ("নমস্কার, আমার অর্ডার এখনো আসেনি", "bn", true),
            ("ياخشىمۇسىز، مېنىڭ زاكازىم تېخى كەلمىدى", "fa", false),
            ("سلام، سفارش من هنوز ارسال نشده است", "fa", true),
            ("ＷＯ ＩＳＴ meine Bestellung?", "de", true),
            ("Здравейте, поръчката ми не е пристигнала", "ru", true),
        ] {
            assert_eq!(Letters::of(text).fit(lang).admits(), admits, "{text} as {lang}");
        }
        // Thaana is no known language's script.
        let thaana = Letters::of("އަހަރެން އޯޑަރު ކުރި ތަކެތި");
        assert_eq!(thaana.main_script(), None);
        assert!(!thaana.fit("ar").admits());
    }
}
