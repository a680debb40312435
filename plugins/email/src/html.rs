//! HTML bodies as readable plain text: tags dropped, entities decoded, `<br>`, `<p>` and `<li>`
//! as line breaks, `<blockquote>` as `> ` quoted lines (so that the quote splitter sees the
//! history), `<script>`, `<style>` and `<head>` left out.

/// Elements whose content is not text for a reader.
const SKIPPED: [&str; 4] = ["script", "style", "head", "title"];
/// Elements that stand apart as a paragraph.
const PARAGRAPHS: [&str; 12] = [
    "p", "h1", "h2", "h3", "h4", "h5", "h6", "ul", "ol", "table", "hr", "pre",
];
/// Elements that start on a line of their own.
const LINES: [&str; 10] = [
    "div", "tr", "section", "article", "header", "footer", "dl", "dt", "dd", "address",
];

/// Readable text for an HTML document or fragment. Never fails: broken markup is read as far
/// as it makes sense.
pub(crate) fn html_to_text(html: &str) -> String {
    let mut out = String::with_capacity(html.len() / 2);
    let mut quotes: Vec<usize> = Vec::new();
    let mut pre = 0usize;
    let mut rest = html;
    while !rest.is_empty() {
        let Some(open) = rest.find('<') else {
            push_text(&mut out, rest, pre > 0);
            break;
        };
        push_text(&mut out, &rest[..open], pre > 0);
        rest = &rest[open..];
        if let Some(after) = rest.strip_prefix("<!--") {
            rest = after.find("-->").map_or("", |end| &after[end + 3..]);
            continue;
        }
        let end = tag_end(rest);
        let whole = &rest[..end];
        let tag = whole.strip_suffix('>').unwrap_or(whole).get(1..).unwrap_or("");
        rest = &rest[end..];
        let closing = tag.starts_with('/');
        let name: String = tag
            .trim_start_matches('/')
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric())
            .collect::<String>()
            .to_ascii_lowercase();
        if name.is_empty() {
            if !tag.starts_with(['!', '?', '/']) {
                // A lone `<` in text, as careless HTML writes it.
                push_text(&mut out, "<", pre > 0);
                rest = &html[html.len() - rest.len() - end + 1..];
            }
            continue;
        }
        match name.as_str() {
            "br" => {
                trim_line_end(&mut out);
                out.push('\n');
            }
            "li" if !closing => {
                new_line(&mut out);
                out.push_str("- ");
            }
            "td" | "th" if closing => out.push(' '),
            "blockquote" if !closing => {
                new_line(&mut out);
                quotes.push(out.len());
            }
            "blockquote" => {
                if let Some(start) = quotes.pop() {
                    quote_from(&mut out, start);
                }
            }
            "pre" => {
                pre = if closing { pre.saturating_sub(1) } else { pre + 1 };
                paragraph(&mut out);
            }
            n if SKIPPED.contains(&n) && !closing && !tag.ends_with('/') => {
                rest = skip_element(rest, n);
            }
            n if PARAGRAPHS.contains(&n) => paragraph(&mut out),
            n if LINES.contains(&n) => new_line(&mut out),
            _ => {}
        }
    }
    while let Some(start) = quotes.pop() {
        quote_from(&mut out, start);
    }
    tidy(&out.replace('\u{a0}', " "))
}

/// The byte length of the tag at the start of `text` (which starts with `<`), quotes in
/// attribute values respected; the whole rest if it never closes.
fn tag_end(text: &str) -> usize {
    let mut quote = None;
    for (i, c) in text.char_indices().skip(1) {
        match (quote, c) {
            (None, '>') => return i + 1,
            (None, '"' | '\'') => quote = Some(c),
            (Some(q), c) if c == q => quote = None,
            (None, '<') => return i,
            _ => {}
        }
    }
    text.len()
}

/// What follows the closing tag of `name`, or nothing if it never closes.
fn skip_element<'a>(text: &'a str, name: &str) -> &'a str {
    let lower = text.to_ascii_lowercase();
    let close = format!("</{name}");
    match lower.find(&close) {
        Some(at) => {
            let after = &text[at..];
            &after[tag_end(after)..]
        }
        None => "",
    }
}

/// Appends text, entities decoded and white space collapsed (kept as is inside `<pre>`).
fn push_text(out: &mut String, text: &str, keep_space: bool) {
    let decoded = decode_entities(text);
    if keep_space {
        out.push_str(&decoded);
        return;
    }
    for c in decoded.chars() {
        if c.is_ascii_whitespace() {
            if !(out.is_empty() || out.ends_with([' ', '\n'])) {
                out.push(' ');
            }
        } else {
            out.push(c);
        }
    }
}

fn trim_line_end(out: &mut String) {
    while out.ends_with(' ') {
        out.pop();
    }
}

fn new_line(out: &mut String) {
    trim_line_end(out);
    if !out.is_empty() && !out.ends_with('\n') {
        out.push('\n');
    }
}

fn paragraph(out: &mut String) {
    new_line(out);
    if !out.is_empty() && !out.ends_with("\n\n") {
        out.push('\n');
    }
}

/// Turns everything written since `start` into `> ` quoted lines.
fn quote_from(out: &mut String, start: usize) {
    let inner = tidy(&out[start..]);
    out.truncate(start);
    for line in inner.lines() {
        out.push('>');
        if !line.is_empty() {
            if !line.starts_with('>') {
                out.push(' ');
            }
            out.push_str(line);
        }
        out.push('\n');
    }
}

/// Trailing spaces off every line, at most one blank line in a row, no blank lines around.
fn tidy(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut blank = 0;
    for line in text.lines().map(str::trim_end) {
        if line.is_empty() {
            blank += 1;
            continue;
        }
        if !out.is_empty() {
            out.push_str(if blank > 0 { "\n\n" } else { "\n" });
        }
        blank = 0;
        out.push_str(line);
    }
    out
}

/// Decodes character references as an HTML parser does in text: every name of the WHATWG
/// table (`&scaron;`, `&rarr;`, `&NotEqualTilde;`), the legacy names that may go without a
/// semicolon (`&eacute`, `&copy`), and decimal and hexadecimal references, with the standard's
/// replacements (`&#128;` is `€`, `&#0;` and surrogates are U+FFFD). Unknown names stay as
/// written. The table and the rules are `htmlize`'s, which follows the standard.
fn decode_entities(text: &str) -> std::borrow::Cow<'_, str> {
    htmlize::unescape(text)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn structure_becomes_lines() {
        let text = html_to_text(
            "<html><head><style>p{color:red}</style></head><body><p>Hallo&nbsp;Team,</p>\
             <p>Zeile&nbsp;1<br>Zeile 2</p><ul><li>eins</li><li>zwei &amp; drei</li></ul>\
             <script>alert(1)</script><p>Gr&uuml;&szlig;e &#x2014; &#8364;5 &lt;ok&gt;</p></body></html>",
        );
        assert_eq!(
            text,
            "Hallo Team,\n\nZeile 1\nZeile 2\n\n- eins\n- zwei & drei\n\nGrüße — €5 <ok>"
        );
    }

    #[test]
    fn blockquote_is_quoted_and_broken_markup_survives() {
        let text = html_to_text(
            "<div>Merci</div><div>Le lundi, Anna a écrit :<blockquote>Bonjour<br>x <blockquote>old</blockquote></blockquote>",
        );
        assert_eq!(text, "Merci\nLe lundi, Anna a écrit :\n> Bonjour\n> x\n>> old");
        assert_eq!(html_to_text("a < b &bogus; &amp"), "a < b &bogus; &");
        assert_eq!(html_to_text("<p unclosed=\"x>y"), "");
    }

    #[test]
    fn every_named_reference_numeric_ones_and_bare_legacy_names() {
        let table = [
            // Czech, Polish, Nordic, Greek, symbols: missing from the table of old.
            (
                "Dobr&yacute; den, Tom&aacute;&scaron; &Scaron;koda",
                "Dobrý den, Tomáš Škoda",
            ),
            ("&Zcaron;lut&yacute; k&uring;&ncaron;, &ccaron;", "Žlutý kůň, č"),
            ("Gr&oslash;nland, &AElig;r&oslash;, &aring;", "Grønland, Ærø, å"),
            ("&THORN;&oacute;r &eth;", "Þór ð"),
            ("&alpha; &beta; &Omega;", "α β Ω"),
            (
                "&rarr; &larr; &check; &hearts; &minus; &permil; &frac12; &sup2;",
                "→ ← ✓ ♥ − ‰ ½ ²",
            ),
            ("Zaż&oacute;łć g&eogon;ślą", "Zażółć gęślą"),
            ("a&zwnj;b&shy;c", "a\u{200c}b\u{ad}c"),
            // Two code points for one name.
            ("&NotEqualTilde;", "\u{2242}\u{338}"),
            // Legacy names without a semicolon; a longer name is not cut.
            ("caf&eacute cr&egrave;me &copy2026", "café crème ©2026"),
            ("&notit; &notin;", "¬it; ∉"),
            // Numeric references: decimal, hexadecimal, no semicolon, the standard's fixes.
            ("&#233;t&#xE9; &#65 &#x6F22;&#23383;", "été A 漢字"),
            (
                "&#128;5 &#150; &#0; &#xD800; &#x110000;",
                "€5 – \u{fffd} \u{fffd} \u{fffd}",
            ),
            // Right-to-left text and unknown names stay as written.
            (
                "&#x5E9;&#x5DC;&#x5D5;&#x5DD; &amp; مرحبا &bogus; & &;",
                "שלום & مرحبا &bogus; & &;",
            ),
        ];
        for (html, text) in table {
            assert_eq!(decode_entities(html), text, "{html}");
        }
        // The whole WHATWG list: 2,125 names with a semicolon and 106 legacy ones without.
        assert_eq!(htmlize::ENTITIES.len(), 2_231);
    }
}
