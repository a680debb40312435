//! The new text of a mail apart from the quoted history and the signature.
//!
//! History is recognized by `>` quoting, by attribution lines ("On ... wrote:", "Am ... schrieb
//! ...:", "Le ... a écrit :", "El ... escribió:", "Il ... ha scritto:", "Em ... escreveu:",
//! "Op ... schreef:", "...さんは書きました:", "...写道：") with the quoted lines after them, and by
//! Outlook-style separators (`-----Original Message-----` in any language, or a `From:` /
//! `Sent:` header block) after which everything is history. A signature (`-- ` on its own line)
//! ends the new text and is dropped: it is neither new text nor history. The new text is kept
//! as written, only trailing blank lines removed; quoted lines inside it (interleaved replies)
//! go to the history.

/// A mail's text, split.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Split {
    /// The new text.
    pub body: String,
    /// The quoted history, if there is any.
    pub quoted: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Class {
    Body,
    Quoted,
    Blank,
    Signature,
}

/// Splits a mail's plain text (lines separated by `\n`).
pub(crate) fn split(text: &str) -> Split {
    let lines: Vec<&str> = text.split('\n').collect();
    let mut classes = Vec::with_capacity(lines.len());
    let mut outlook = false;
    let mut signature = false;
    let mut index = 0;
    while index < lines.len() {
        let line = lines[index];
        if outlook {
            classes.push(Class::Quoted);
        } else if is_outlook_start(&lines, index) {
            outlook = true;
            classes.push(Class::Quoted);
        } else if let Some(n) = attribution_len(&lines, index) {
            classes.extend(std::iter::repeat_n(Class::Quoted, n));
            index += n;
            continue;
        } else if is_quote_line(line) {
            classes.push(Class::Quoted);
        } else if line.trim().is_empty() {
            classes.push(Class::Blank);
        } else if signature || line == "-- " || line == "--" {
            signature = true;
            classes.push(Class::Signature);
        } else {
            classes.push(Class::Body);
        }
        index += 1;
    }
    // A blank line belongs to the history only inside it (or between it and an edge).
    let resolved: Vec<Class> = (0..classes.len())
        .map(|i| {
            if classes[i] != Class::Blank {
                return classes[i];
            }
            let before = classes[..i].iter().rev().find(|c| **c != Class::Blank);
            let after = classes[i + 1..].iter().find(|c| **c != Class::Blank);
            let quoted_or_edge = |c: Option<&Class>| matches!(c, None | Some(Class::Quoted));
            let inside = quoted_or_edge(before) && quoted_or_edge(after) && (before.is_some() || after.is_some());
            if inside { Class::Quoted } else { Class::Body }
        })
        .collect();
    let pick = |class: Class| -> Vec<&str> {
        lines
            .iter()
            .zip(&resolved)
            .filter(|(_, c)| **c == class)
            .map(|(l, _)| *l)
            .collect()
    };
    // Where quoted lines were taken out of the new text, the blank lines around them would
    // pile up: keep one, and none ahead of the first line of new text.
    let mut body_lines: Vec<&str> = Vec::new();
    let mut gap = false;
    for (line, class) in lines.iter().zip(&resolved) {
        match class {
            Class::Body => {
                let blank = line.trim().is_empty();
                let first = !body_lines.iter().any(|l| !l.trim().is_empty());
                let doubled = body_lines.last().is_some_and(|l| l.trim().is_empty());
                if !(blank && gap && (first || doubled)) {
                    body_lines.push(line);
                    gap = false;
                }
            }
            Class::Quoted => gap = true,
            _ => {}
        }
    }
    let body = trim_trailing_blank(&body_lines);
    let quoted = pick(Class::Quoted);
    let start = quoted.iter().position(|l| !l.trim().is_empty()).unwrap_or(quoted.len());
    let quoted = trim_trailing_blank(&quoted[start..]);
    Split {
        body,
        quoted: (!quoted.is_empty()).then_some(quoted),
    }
}

fn trim_trailing_blank(lines: &[&str]) -> String {
    let end = lines.iter().rposition(|l| !l.trim().is_empty()).map_or(0, |p| p + 1);
    lines[..end].join("\n")
}

fn is_quote_line(line: &str) -> bool {
    line.trim_start().starts_with(['>', '＞'])
}

/// Where Outlook-style history starts: everything after is history, unquoted.
fn is_outlook_start(lines: &[&str], index: usize) -> bool {
    let line = lines[index].trim();
    // `-----Original Message-----`, `-----Ursprüngliche Nachricht-----`, `----- 原始邮件 -----`, ...
    // Only the known banners: marketplaces frame the buyer's own text with dashed banners too.
    if line.starts_with("---") && line.ends_with("---") {
        let inner = line.trim_matches('-').trim().to_lowercase();
        if BANNERS.iter().any(|banner| inner == *banner) {
            return true;
        }
    }
    // Outlook's rule line, then a header block.
    if line.len() >= 10 && line.chars().all(|c| c == '_') {
        return lines[index + 1..].iter().take(3).any(|l| header_key(l, FROM_KEYS));
    }
    header_key(line, FROM_KEYS)
        && lines[index + 1..]
            .iter()
            .take(5)
            .filter(|l| header_key(l, OTHER_KEYS))
            .count()
            >= 2
}

/// The text of the dashed banners mailers put ahead of history or a forwarded mail.
const BANNERS: &[&str] = &[
    "original message",
    "ursprüngliche nachricht",
    "originalnachricht",
    "message d'origine",
    "message d’origine",
    "mensaje original",
    "messaggio originale",
    "mensagem original",
    "oorspronkelijk bericht",
    "originalmeddelande",
    "oprindelig meddelelse",
    "opprinnelig melding",
    "元のメッセージ",
    "原始邮件",
    "原始郵件",
    "forwarded message",
    "weitergeleitete nachricht",
    "message transféré",
    "mensaje reenviado",
    "messaggio inoltrato",
    "mensagem encaminhada",
    "doorgestuurd bericht",
    "転送メッセージ",
    "转发邮件",
    "轉寄郵件",
];

/// The `From:` of a quoted header block, by language.
const FROM_KEYS: &[&str] = &[
    "from",
    "von",
    "de",
    "da",
    "van",
    "från",
    "fra",
    "od",
    "差出人",
    "送信者",
    "发件人",
    "寄件者",
    "寄件人",
];
/// The other fields of a quoted header block, by language.
const OTHER_KEYS: &[&str] = &[
    "sent",
    "date",
    "to",
    "cc",
    "subject",
    "gesendet",
    "datum",
    "an",
    "betreff",
    "envoyé",
    "à",
    "objet",
    "enviado",
    "fecha",
    "para",
    "asunto",
    "inviato",
    "data",
    "a",
    "oggetto",
    "verzonden",
    "aan",
    "onderwerp",
    "送信日時",
    "日時",
    "宛先",
    "件名",
    "发送时间",
    "时间",
    "收件人",
    "主题",
    "日期",
    "主旨",
];

/// Whether the line is `Key: ...` for one of the keys (also `*Key:*`, as Outlook text writes it).
fn header_key(line: &str, keys: &[&str]) -> bool {
    let line = line.trim().trim_start_matches('*');
    let Some(colon) = line.find([':', '：']) else {
        return false;
    };
    let key = line[..colon].trim().trim_end_matches('*').trim().to_lowercase();
    keys.contains(&key.as_str())
}

/// How many lines an attribution starting at `index` takes (mailers wrap long ones), if one
/// starts there.
fn attribution_len(lines: &[&str], index: usize) -> Option<usize> {
    let mut joined = String::new();
    let first = lines[index].trim_start().to_lowercase();
    let may_wrap = ["on ", "am ", "le ", "el ", "il ", "em ", "op "]
        .iter()
        .any(|p| first.starts_with(p))
        || first.starts_with(|c: char| c.is_ascii_digit());
    let most = if may_wrap { 3 } else { 1 };
    for (n, line) in lines[index..].iter().take(most).enumerate() {
        if line.trim().is_empty() || is_quote_line(line) {
            return None;
        }
        if n > 0 {
            joined.push(' ');
        }
        joined.push_str(line.trim());
        if is_attribution(&joined) {
            return Some(n + 1);
        }
    }
    None
}

/// Whether a (joined) line introduces quoted history.
fn is_attribution(line: &str) -> bool {
    let line: String = line.replace('\u{a0}', " ");
    let line = line.trim();
    if line.chars().count() > 300 || !line.ends_with([':', '：']) {
        return false;
    }
    let lower = line.to_lowercase();
    let starts = |prefix: &str| lower.starts_with(prefix);
    let has = |part: &str| lower.contains(part);
    let ends = |suffixes: &[&str]| suffixes.iter().any(|s| lower.ends_with(s));
    // English, and what many mailers write whatever the language.
    ends(&["wrote:", "writes:"])
        // German: "Am 16.11.2026 um 09:12 schrieb Anna Müller <...>:".
        || (starts("am ") && has(" schrieb ")) || has(" schrieb am ") || ends(&["schrieb:"])
        // French: "Le lun. 16 nov. 2026 à 09:12, Pierre Dubois <...> a écrit :".
        || ends(&["a écrit :", "a écrit:", "a écrit :"])
        // Spanish: "El lun, 16 nov 2026 a las 9:12, Carmen García (<...>) escribió:".
        || (starts("el ") && has("escribió")) || ends(&["escribió:"])
        // Italian: "Il giorno lun 16 nov 2026 alle ore 09:12 Marco <...> ha scritto:".
        || (starts("il ") && has("ha scritto")) || ends(&["ha scritto:"])
        // Portuguese: "Em seg., 16 de nov. de 2026 às 09:12, João <...> escreveu:".
        || (starts("em ") && has("escreveu")) || ends(&["escreveu:"])
        // Dutch: "Op ma 16 nov. 2026 om 09:12 schreef Jan <...>:".
        || (starts("op ") && has("schreef")) || ends(&["schreef:", "het volgende geschreven:"])
        // Japanese: "田中さんは書きました:", or Gmail's "2026年11月16日(月) 9:12 Yuki <...>:".
        || has("書きました") || has("書き込みました")
        || (starts_with_year(line, '年') && (has("<") || has("@")))
        // Chinese: "李伟 <li.wei@example.cn> 于2026年11月16日周一 上午9:12写道：".
        || has("写道") || has("寫道")
}

/// Whether the line starts with four digits and then `mark` (`2026年`).
fn starts_with_year(line: &str, mark: char) -> bool {
    let mut chars = line.chars();
    (0..4).all(|_| chars.next().is_some_and(|c| c.is_ascii_digit())) && chars.next() == Some(mark)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(text: &str, body: &str, quoted: Option<&str>) {
        let split = split(text);
        assert_eq!(split.body, body, "body of {text:?}");
        assert_eq!(split.quoted.as_deref(), quoted, "quoted of {text:?}");
    }

    #[test]
    fn top_posting_in_many_languages() {
        check(
            "Hi,\n\nstill nothing.\n\nOn Mon, 16 Nov 2026 at 09:12, Anna <a@x.de> wrote:\n> Where is it?\n",
            "Hi,\n\nstill nothing.",
            Some("On Mon, 16 Nov 2026 at 09:12, Anna <a@x.de> wrote:\n> Where is it?"),
        );
        check(
            "Danke\n\nAm 16.11.2026 um 09:12 schrieb Anna Müller <anna@x.de>:\n> Hallo",
            "Danke",
            Some("Am 16.11.2026 um 09:12 schrieb Anna Müller <anna@x.de>:\n> Hallo"),
        );
        check(
            "Merci\nLe lun. 16 nov. 2026 à 09:12, Pierre <p@x.fr> a écrit :\n> Bonjour",
            "Merci",
            Some("Le lun. 16 nov. 2026 à 09:12, Pierre <p@x.fr> a écrit :\n> Bonjour"),
        );
        check(
            "Gracias\n\nEl lun, 16 nov 2026 a las 9:12, Carmen\n<c@x.es> escribió:\n> Hola",
            "Gracias",
            Some("El lun, 16 nov 2026 a las 9:12, Carmen\n<c@x.es> escribió:\n> Hola"),
        );
        check(
            "了解しました。\n\n田中さんは書きました:\n> よろしく",
            "了解しました。",
            Some("田中さんは書きました:\n> よろしく"),
        );
        check(
            "谢谢\n\n李伟 <li@x.cn> 于2026年11月16日写道：\n> 你好",
            "谢谢",
            Some("李伟 <li@x.cn> 于2026年11月16日写道：\n> 你好"),
        );
    }

    #[test]
    fn outlook_blocks_signatures_and_interleaving() {
        check(
            "Ok\n\n-----Ursprüngliche Nachricht-----\nVon: A\nGesendet: Montag\nhistory",
            "Ok",
            Some("-----Ursprüngliche Nachricht-----\nVon: A\nGesendet: Montag\nhistory"),
        );
        check(
            "Ok\n\nFrom: Shop <s@x.com>\nSent: Monday\nTo: me\nSubject: x\n\nold text",
            "Ok",
            Some("From: Shop <s@x.com>\nSent: Monday\nTo: me\nSubject: x\n\nold text"),
        );
        check(
            "New\n-- \nAnna\nTel 123\n\nOn Mon Anna wrote:\n> old",
            "New",
            Some("On Mon Anna wrote:\n> old"),
        );
        check(
            "> question?\nanswer\n\n> second?\n\nsecond answer\n",
            "answer\n\nsecond answer",
            Some("> question?\n> second?"),
        );
        check(
            "------------- Message: -------------\n\nBonjour\n",
            "------------- Message: -------------\n\nBonjour",
            None,
        );
        check(
            "  indented first line\n\nplain\n\n\n",
            "  indented first line\n\nplain",
            None,
        );
        check(
            "From: here to there we go\nno header block follows",
            "From: here to there we go\nno header block follows",
            None,
        );
    }
}
