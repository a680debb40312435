//! Subject lines without the `Re:`/`AW:`/`Fwd:`/`回复：` prefixes mail clients pile up.

use crate::text::fold_width;

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
