//! Subject lines without the `Re:`/`AW:`/`Fwd:`/`回复：` prefixes mail clients pile up, and a
//! subject for messages that have none (chat, SMS, social), taken from the start of the text.

use weft_sdk::text::{fold_width, is_cjk};

/// A subject with its reply and forward prefixes taken off.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Subject<'a> {
    /// What remains, trimmed, in its original spelling.
    pub text: &'a str,
    /// A reply prefix was removed (`Re:`, `AW:`, `回复：`, ...).
    pub replied: bool,
    /// A forward prefix was removed (`Fwd:`, `WG:`, `TR:`, `RV:`, `转发：`, `転送：`, ...).
    pub forwarded: bool,
}

/// Reply prefixes, written lowercase (matching ignores case and width). Each must be followed by
/// `:` or `：`, optionally after a counter (`Re[2]:`, `Re(3):`, `Re^2:`), a dot (`Réf.`) or
/// spaces (the French `RE :`).
const REPLY: &[&str] = &[
    "re",   // Latin "in the matter of": English and most clients
    "aw",   // German "Antwort"
    "antw", // Dutch, German
    "ref",  // French "référence"
    "réf",  // French
    "rif",  // Italian "riferimento"
    "r",    // Italian
    "res",  // Portuguese "resposta"
    "sv",   // Swedish, Danish, Norwegian "svar"
    "vs",   // Finnish "vastaus"
    "odp",  // Polish "odpowiedź"
    "ynt",  // Turkish "yanıt"
    "отв",  // Russian "ответ"
    "απ",   // Greek
    "σχετ", // Greek
    "回复", // Chinese, simplified
    "回覆", // Chinese, traditional
    "答复", // Chinese
    "返信", // Japanese
    "답장", // Korean
    "회신", // Korean
];

/// Forward prefixes, written lowercase, with the same rules as [`REPLY`].
const FORWARD: &[&str] = &[
    "fwd",    // English
    "fw",     // English (Outlook)
    "wg",     // German "weitergeleitet"
    "tr",     // French "transféré"
    "rv",     // Spanish "reenviado"
    "i",      // Italian "inoltrato"
    "enc",    // Portuguese "encaminhado"
    "doorst", // Dutch "doorgestuurd"
    "vl",     // Finnish "välitetty"
    "pd",     // Polish "przekazane dalej"
    "пересл", // Russian
    "转发",   // Chinese, simplified
    "轉寄",   // Chinese, traditional
    "转寄",   // Chinese
    "転送",   // Japanese
    "전달",   // Korean
];

/// Takes every leading reply or forward prefix off a subject: `"RE : AW: Fwd: Rechnung"` is
/// `"Rechnung"`, `"Ｒｅ：注文について"` is `"注文について"`. A subject that is only prefixes
/// keeps an empty `text`.
pub fn strip_prefixes(subject: &str) -> Subject<'_> {
    let mut rest = subject.trim_start_matches(is_space);
    let mut replied = false;
    let mut forwarded = false;
    loop {
        if let Some(after) = REPLY.iter().find_map(|p| strip_one(rest, p)) {
            replied = true;
            rest = after;
        } else if let Some(after) = FORWARD.iter().find_map(|p| strip_one(rest, p)) {
            forwarded = true;
            rest = after;
        } else if let Some(after) = strip_bracket_tag(rest) {
            // `[Fwd: ...]`-style wrappers are rare; only a leading `[ext]`/`[extern]` is taken off.
            rest = after;
        } else {
            break;
        }
    }
    Subject {
        text: rest.trim_matches(is_space),
        replied,
        forwarded,
    }
}

fn is_space(c: char) -> bool {
    c.is_whitespace() || c == '\u{3000}'
}

/// `text` without one leading `prefix` and its colon, or `None` when it does not start so.
fn strip_one<'a>(text: &'a str, prefix: &str) -> Option<&'a str> {
    let mut chars = text.char_indices().peekable();
    for p in prefix.chars() {
        let (_, c) = chars.next()?;
        if !fold_width(c).to_lowercase().eq(p.to_lowercase()) {
            return None;
        }
    }
    // A counter: `[2]`, `(2)`, `^2`, `*2`.
    if let Some(&(_, open)) = chars.peek()
        && matches!(fold_width(open), '[' | '(' | '^' | '*')
    {
        let close = match fold_width(open) {
            '[' => Some(']'),
            '(' => Some(')'),
            _ => None,
        };
        chars.next();
        let mut digits = 0;
        while let Some(&(_, c)) = chars.peek() {
            if !fold_width(c).is_ascii_digit() {
                break;
            }
            digits += 1;
            chars.next();
        }
        if digits == 0 {
            return None;
        }
        if let Some(close) = close {
            let (_, c) = chars.next()?;
            if fold_width(c) != close {
                return None;
            }
        }
    }
    if chars.peek().is_some_and(|&(_, c)| c == '.') {
        chars.next();
    }
    while chars
        .peek()
        .is_some_and(|&(_, c)| c == ' ' || c == '\u{3000}' || c == '\u{A0}')
    {
        chars.next();
    }
    let (at, colon) = chars.next()?;
    if fold_width(colon) != ':' {
        return None;
    }
    Some(text[at + colon.len_utf8()..].trim_start_matches(is_space))
}

/// A leading `[EXT]` / `[EXTERN]` / `[EXTERNAL]` / `[外部]` tag some mail gateways add.
fn strip_bracket_tag(text: &str) -> Option<&str> {
    const TAGS: &[&str] = &[
        "[ext]",
        "[extern]",
        "[external]",
        "[externe]",
        "[externo]",
        "[esterno]",
        "[外部]",
    ];
    TAGS.iter().find_map(|tag| {
        let head = text.get(..tag.len())?;
        head.to_lowercase()
            .eq(tag)
            .then(|| text[tag.len()..].trim_start_matches(is_space))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strips_prefixes_in_many_languages() {
        // (subject, remaining text, replied, forwarded)
        let cases: &[(&str, &str, bool, bool)] = &[
            ("Re: Where is my order?", "Where is my order?", true, false),
            ("RE: RE: re: Refund", "Refund", true, false),
            ("Re[2]: Refund", "Refund", true, false),
            ("Re(3): Refund", "Refund", true, false),
            ("Re^2: Refund", "Refund", true, false),
            ("AW: Wo ist mein Paket?", "Wo ist mein Paket?", true, false),
            ("AW: WG: Rechnung 2026-0042", "Rechnung 2026-0042", true, true),
            ("WG: Rücksendung", "Rücksendung", false, true),
            ("RE : Où est mon colis ?", "Où est mon colis ?", true, false),
            ("Réf. : commande 123", "commande 123", true, false),
            ("TR: Remboursement", "Remboursement", false, true),
            ("RV: ¿Dónde está mi pedido?", "¿Dónde está mi pedido?", false, true),
            ("R: Reso ordine", "Reso ordine", true, false),
            ("I: Fattura", "Fattura", false, true),
            ("SV: Retur", "Retur", true, false),
            ("Fwd: Fw: FWD: broken lamp", "broken lamp", false, true),
            ("Re：注文について", "注文について", true, false),
            ("Ｒｅ：注文について", "注文について", true, false),
            ("転送：商品が届きません", "商品が届きません", false, true),
            ("返信: 返品について", "返品について", true, false),
            ("回复：我的订单还没到", "我的订单还没到", true, false),
            ("回复: 转发: 退款", "退款", true, true),
            ("转发：发票", "发票", false, true),
            ("回覆：退貨", "退貨", true, false),
            ("[EXT] Re: Invoice", "Invoice", true, false),
            ("Отв: Возврат", "Возврат", true, false),
            // Not prefixes: words that merely start like one, or a prefix without its colon.
            ("Return request", "Return request", false, false),
            ("Refund: still waiting", "Refund: still waiting", false, false),
            ("Rechnung: falsch", "Rechnung: falsch", false, false),
            ("Re order 123", "Re order 123", false, false),
            ("Tracking number", "Tracking number", false, false),
            ("Re[]: odd", "Re[]: odd", false, false),
            ("Re:", "", true, false),
            ("", "", false, false),
        ];
        for &(subject, text, replied, forwarded) in cases {
            assert_eq!(
                strip_prefixes(subject),
                Subject {
                    text,
                    replied,
                    forwarded
                },
                "{subject:?}"
            );
        }
    }
}

/// The shortest opening a subject taken from a text aims for (a CJK character counts twice): a greeting alone (`Hallo!`) says
/// nothing about the issue, so the next sentence is added.
const MIN_SUBJECT_CHARS: usize = 24;
/// The longest subject taken from a text, in characters.
pub const MAX_SUBJECT_CHARS: usize = 100;

/// A subject for a message that has none: the first sentences of its text until
/// [`MIN_SUBJECT_CHARS`], cut at a word (or, in CJK text, a character) before
/// [`MAX_SUBJECT_CHARS`] with `…`. `None` for a text without letters or digits.
pub fn subject_from_body(body: &str) -> Option<String> {
    let text: String = body.split_whitespace().collect::<Vec<_>>().join(" ");
    if !text.chars().any(char::is_alphanumeric) {
        return None;
    }
    let chars: Vec<char> = text.chars().collect();
    let mut end = chars.len();
    // A CJK character says about as much as two Latin ones.
    let mut width = 0;
    for (i, c) in chars.iter().enumerate() {
        width += if is_cjk(*c) { 2 } else { 1 };
        let full_stop =
            matches!(c, '。' | '！' | '？' | '!' | '?') || (*c == '.' && chars.get(i + 1).is_none_or(|n| *n == ' '));
        if full_stop && width >= MIN_SUBJECT_CHARS {
            end = i + 1;
            break;
        }
    }
    if end > MAX_SUBJECT_CHARS {
        let cut = chars[..MAX_SUBJECT_CHARS]
            .iter()
            .rposition(|c| *c == ' ')
            .filter(|at| *at >= MAX_SUBJECT_CHARS / 2)
            .unwrap_or(MAX_SUBJECT_CHARS - 1);
        let head: String = chars[..cut].iter().collect();
        return Some(format!("{}…", head.trim_end_matches([' ', ',', ';', ':', '、', '，'])));
    }
    Some(chars[..end].iter().collect::<String>().trim().to_owned())
}

#[cfg(test)]
mod body_tests {
    use super::*;

    #[test]
    fn subjects_from_text() {
        assert_eq!(
            subject_from_body("Hallo! Meine Bestellung ist nicht angekommen. Wann kommt sie?").as_deref(),
            Some("Hallo! Meine Bestellung ist nicht angekommen.")
        );
        assert_eq!(
            subject_from_body("你好，订单的包裹今天到了，但是商品坏了。我拍了照片。").as_deref(),
            Some("你好，订单的包裹今天到了，但是商品坏了。")
        );
        let long = "Hi, my order still hasn't arrived and the tracking has not moved since last Monday, which is really annoying because it was a gift";
        let subject = subject_from_body(long).unwrap();
        assert!(
            subject.ends_with('…') && subject.chars().count() <= MAX_SUBJECT_CHARS,
            "{subject}"
        );
        assert!(subject.starts_with("Hi, my order still hasn't arrived"), "{subject}");
        assert_eq!(subject_from_body("  ?! "), None);
        assert_eq!(subject_from_body("ok").as_deref(), Some("ok"));
    }
}
