//! Text to features: normalized text, word unigrams and bigrams, character 2–4-grams, and single
//! Han, kana and Hangul characters, hashed into a fixed number of buckets.
//!
//! Character n-grams make the classifier work across scripts without a word segmenter
//! (Japanese and Chinese are written without spaces) and tolerate typos and inflection. In
//! Chinese and Japanese one character already carries a word's meaning (退 "back", 款 "money",
//! 届 "deliver"), so those characters count alone too.
//! Digits are folded into one `0` per run, so every order number looks alike. For the intent
//! model ([`normalize_intent`]) accents and other marks on Latin letters are dropped and
//! fullwidth letters read as ASCII: buyers type `remboursé` and `rembourse`, `Rücksendung` and
//! `Rucksendung`, `ｒｅｆｕｎｄ` and `refund`, and each pair should weigh the same. (Language
//! identification keeps the marks: they tell languages apart.)

use unicode_normalization::char::{decompose_canonical, is_combining_mark};
use weft_sdk::text::{fold_width, is_cjk};

/// Text lowercased, digits folded, punctuation turned into spaces; `?` kept as a token.
pub fn normalize(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 2);
    out.push(' ');
    for c in text.chars() {
        let last = out.chars().next_back();
        if c.is_numeric() {
            if last != Some('0') {
                out.push('0');
            }
        } else if c.is_alphabetic() {
            out.extend(c.to_lowercase());
        } else if c == '?' || c == '？' {
            if last != Some(' ') {
                out.push(' ');
            }
            out.push_str("? ");
        } else if last != Some(' ') {
            out.push(' ');
        }
    }
    if !out.ends_with(' ') {
        out.push(' ');
    }
    out
}

/// [`normalize`]d text with marks dropped from Latin letters (`é` → `e`, `ñ` → `n`, `ü` → `u`,
/// by canonical decomposition) and fullwidth ASCII folded to ASCII: what the intent model sees.
/// Other scripts are left as they are (a kana's voicing mark changes the word).
pub fn normalize_intent(text: &str) -> String {
    let norm = normalize(text);
    let mut out = String::with_capacity(norm.len());
    for c in norm.chars().map(fold_width) {
        if c.is_ascii() || !('\u{00C0}'..'\u{0250}').contains(&c) {
            out.push(c);
        } else {
            decompose_canonical(c, |d| {
                if !is_combining_mark(d) {
                    out.push(d);
                }
            });
        }
    }
    out
}

/// A sparse feature vector: (bucket, value) pairs sorted by bucket, L2-normalized.
pub type Sparse = Vec<(u32, f32)>;

const FNV_OFFSET: u64 = 0xcbf2_9ce4_8422_2325;
const FNV_PRIME: u64 = 0x0000_0100_0000_01b3;

#[derive(Clone, Copy)]
struct Fnv(u64);

impl Fnv {
    fn new(kind: u8) -> Self {
        Fnv(FNV_OFFSET).byte(kind)
    }
    fn byte(self, b: u8) -> Self {
        Fnv((self.0 ^ u64::from(b)).wrapping_mul(FNV_PRIME))
    }
    fn bytes(self, bytes: &[u8]) -> Self {
        bytes.iter().fold(self, |h, &b| h.byte(b))
    }
    fn char(self, c: char) -> Self {
        self.bytes(c.encode_utf8(&mut [0; 4]).as_bytes())
    }
    fn bucket(self, dim: u32) -> u32 {
        let h = self.0 ^ (self.0 >> 29);
        (h % u64::from(dim)) as u32
    }
}

/// One feature, for explanations.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Gram<'a> {
    /// A word.
    Word(&'a str),
    /// Two words in a row.
    Bigram(&'a str, &'a str),
    /// Two to four characters in a row (spaces included), or one Han, kana or Hangul character.
    Chars(&'a [char]),
}

impl std::fmt::Display for Gram<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Gram::Word(w) => write!(f, "word \"{w}\""),
            Gram::Bigram(a, b) => write!(f, "words \"{a} {b}\""),
            Gram::Chars(c) => write!(
                f,
                "chars \"{}\"",
                c.iter().map(|&c| if c == ' ' { '_' } else { c }).collect::<String>()
            ),
        }
    }
}

/// Calls `f(bucket, gram)` for every feature of an already [`normalize`]d text, duplicates
/// included.
pub fn visit(norm: &str, dim: u32, mut f: impl FnMut(u32, Gram<'_>)) {
    let words: Vec<&str> = norm.split(' ').filter(|w| !w.is_empty()).collect();
    for (i, word) in words.iter().enumerate() {
        f(Fnv::new(b'w').bytes(word.as_bytes()).bucket(dim), Gram::Word(word));
        if let Some(next) = words.get(i + 1) {
            let h = Fnv::new(b'b').bytes(word.as_bytes()).byte(0xff).bytes(next.as_bytes());
            f(h.bucket(dim), Gram::Bigram(word, next));
        }
    }
    let chars: Vec<char> = norm.chars().collect();
    for start in 0..chars.len() {
        if is_cjk(chars[start]) {
            f(
                Fnv::new(b'u').char(chars[start]).bucket(dim),
                Gram::Chars(&chars[start..start + 1]),
            );
        }
        let mut h = Fnv::new(b'c').char(chars[start]);
        // The 2-, 3- and 4-grams starting here, hashed incrementally.
        for (len, &c) in chars[start + 1..].iter().take(3).enumerate() {
            h = h.char(c);
            f(h.bucket(dim), Gram::Chars(&chars[start..start + len + 2]));
        }
    }
}

/// The hashed, normalized features of a text ([`normalize_intent`]), for a model with `dim`
/// buckets.
pub fn extract(text: &str, dim: u32) -> Sparse {
    let norm = normalize_intent(text);
    let mut raw: Vec<u32> = Vec::with_capacity(norm.len() * 4);
    visit(&norm, dim, |bucket, _| raw.push(bucket));
    raw.sort_unstable();
    let mut sparse: Sparse = Vec::with_capacity(raw.len());
    for bucket in raw {
        match sparse.last_mut() {
            Some((last, count)) if *last == bucket => *count += 1.0,
            _ => sparse.push((bucket, 1.0)),
        }
    }
    let norm2: f32 = sparse.iter().map(|(_, v)| v * v).sum();
    if norm2 > 0.0 {
        let scale = 1.0 / norm2.sqrt();
        for (_, v) in &mut sparse {
            *v *= scale;
        }
    }
    sparse
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalization_folds_case_digits_and_punctuation() {
        assert_eq!(
            normalize("Wo ist Bestellung #302-1234567?"),
            " wo ist bestellung 0 0 ? "
        );
        assert_eq!(normalize("荷物はどこ？"), " 荷物はどこ ? ");
        assert_eq!(normalize("ÉTÉ"), " été ");
        for (text, folded) in [
            ("Remboursé ÉTÉ", " rembourse ete "),
            ("Rücksendung für Größe 42", " rucksendung fur große 0 "),
            ("devolución señor", " devolucion senor "),
            ("ｒｅｆｕｎｄ　ＯＫ", " refund ok "),
            ("返品できますか？", " 返品できますか ? "),
            ("ガイド", " ガイド "),
            ("Возврат", " возврат "),
        ] {
            assert_eq!(normalize_intent(text), folded, "{text}");
        }
    }

    #[test]
    fn features_are_sorted_unique_and_unit_length() {
        let f = extract("Where is my order 12345? where is it", 1 << 18);
        assert!(f.windows(2).all(|w| w[0].0 < w[1].0));
        let len: f32 = f.iter().map(|(_, v)| v * v).sum();
        assert!((len - 1.0).abs() < 1e-4);
        assert!(extract("", 1 << 18).is_empty());
        assert_ne!(extract("退款", 1 << 18), extract("退货", 1 << 18));
    }
}
