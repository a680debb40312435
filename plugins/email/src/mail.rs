//! The whole parse: raw mail bytes in, one normalized [`Message`] out.

use crate::config::Config;
use crate::date::parse_date;
use crate::error::{MailError, excerpt};
use crate::headers::HeaderBlock;
use crate::html::html_to_text;
use crate::order::{Formats, find_order};
use crate::quote::split;
use crate::sender::attribute;
use mail_parser::{MessageParser, MimeHeaders};
use sha2::{Digest, Sha256};
use weft_sdk::{Attachment, Direction, Message, Timestamp};

/// Normalizes one raw RFC 5322 / MIME mail. Malformed mail is a [`MailError`] that says what
/// was wrong and where; nothing here panics, whatever the bytes.
pub fn parse_mail(raw: &[u8], config: &Config) -> Result<Message, MailError> {
    let headers = HeaderBlock::scan(raw)?;
    let from_field = headers.get("from").ok_or(MailError::MissingFrom)?;
    let raw = &raw[headers.start..];
    let parsed = MessageParser::default().parse(raw).ok_or(MailError::Mime)?;

    let bad_from = || MailError::BadFrom {
        line: from_field.line,
        value: excerpt(from_field.value.as_bytes()),
    };
    let from = parsed.from().and_then(|list| list.first()).ok_or_else(bad_from)?;
    let address = from
        .address()
        .map(str::trim)
        .filter(|a| a.contains('@'))
        .ok_or_else(bad_from)?;
    let subject = parsed
        .subject()
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_owned);
    // Mail from the seller's own address (a copy of sent mail) is their reply to whom it went
    // to: that buyer is the party, and the channel is theirs (a relay's, for a relay alias).
    let own = config.is_own(address);
    let recipient = own
        .then(|| {
            parsed
                .to()
                .into_iter()
                .flat_map(|list| list.iter())
                .filter_map(|a| a.address().map(|address| (a.name(), address.trim())))
                .find(|(_, address)| address.contains('@') && !config.is_own(address))
        })
        .flatten();
    let sender = match recipient {
        Some((name, address)) => attribute(name, address, &headers, subject.as_deref(), config),
        None => attribute(from.name(), address, &headers, subject.as_deref(), config),
    };

    let id = headers
        .get("message-id")
        .and_then(|field| message_ids(&field.value).into_iter().next())
        .unwrap_or_else(|| format!("sha256:{}", hex::encode(Sha256::digest(raw))));
    let references: Vec<String> = headers.all("references").flat_map(|f| message_ids(&f.value)).collect();
    let in_reply_to: Vec<String> = headers.all("in-reply-to").flat_map(|f| message_ids(&f.value)).collect();
    let mut replies_to: Vec<String> = Vec::new();
    for reply in in_reply_to.into_iter().chain(references.iter().rev().cloned()) {
        if reply != id && !replies_to.contains(&reply) {
            replies_to.push(reply);
        }
    }

    let text = split(&body_text(&parsed));
    let formats = match sender.marketplace.as_deref() {
        Some("amazon" | "ebay") => Formats::Marketplace,
        Some("walmart") => Formats::Walmart,
        _ => Formats::All,
    };
    // Subject, then the new text, then the history (a reply often names the order only there).
    let order = [subject.as_deref(), Some(text.body.as_str()), text.quoted.as_deref()]
        .into_iter()
        .flatten()
        .find_map(|text| find_order(text, formats));

    let mut message = Message::new(sender.channel, id, date(&headers)?);
    message.thread = references.first().filter(|root| **root != message.id).cloned();
    message.from = sender.party;
    message.marketplace = sender.marketplace;
    message.order = order;
    message.subject = subject;
    message.body = text.body;
    message.quoted = text.quoted;
    message.lang = headers.get("content-language").and_then(|f| {
        f.value
            .split(',')
            .map(str::trim)
            .find(|tag| !tag.is_empty())
            .map(str::to_owned)
    });
    message.replies_to = replies_to;
    message.attachments = attachments(&parsed);
    message.automatic = automatic(&headers);
    if own {
        message.direction = Direction::Outbound;
    }
    Ok(message)
}

/// Whether a machine sent the mail: RFC 3834 `Auto-Submitted` with any value but `no`, or the
/// older `X-Autoreply`/`X-Autorespond` and `Precedence: auto_reply` that responders still set.
fn automatic(headers: &HeaderBlock) -> bool {
    let value = |name: &str| headers.get(name).map(|f| f.value.trim().to_ascii_lowercase());
    if let Some(submitted) = value("auto-submitted") {
        // The value may carry parameters: `auto-replied; owner-email="..."`.
        let keyword = submitted.split(';').next().unwrap_or("").trim();
        return !keyword.is_empty() && keyword != "no";
    }
    value("x-autoreply").is_some_and(|v| v != "no")
        || value("x-autorespond").is_some()
        || value("precedence").is_some_and(|v| v == "auto_reply")
}

/// The ids in a `Message-ID`, `In-Reply-To` or `References` value, without angle brackets.
/// Values that forgot the brackets are read as white-space separated ids.
fn message_ids(value: &str) -> Vec<String> {
    let mut ids = Vec::new();
    let mut rest = value;
    while let Some(open) = rest.find('<') {
        let Some(close) = rest[open..].find('>') else {
            break;
        };
        let id = rest[open + 1..open + close].trim();
        if !id.is_empty() {
            ids.push(id.to_owned());
        }
        rest = &rest[open + close + 1..];
    }
    if ids.is_empty() {
        ids.extend(
            value
                .split([' ', '\t', ','])
                .map(|t| t.trim().trim_matches(['<', '>']))
                .filter(|t| t.contains('@'))
                .map(str::to_owned),
        );
    }
    ids
}

/// When the mail was written: its `Date`, or else when the newest hop (the topmost `Received`
/// field carrying a date) got it.
fn date(headers: &HeaderBlock) -> Result<Timestamp, MailError> {
    let why = match headers.get("date") {
        Some(field) => match parse_date(&field.value) {
            Ok(at) => return Ok(at),
            Err(e) => format!("line {}: header `Date` is not an RFC 5322 date: {e}", field.line),
        },
        None => "no `Date` header".to_owned(),
    };
    headers
        .all("received")
        .find_map(|field| field.value.rsplit_once(';').and_then(|(_, when)| parse_date(when).ok()))
        .ok_or(MailError::NoDate { why })
}

/// The readable text of the mail: its text parts, HTML ones converted, with `\n` line ends.
fn body_text(parsed: &mail_parser::Message<'_>) -> String {
    let parts = if parsed.text_body.is_empty() {
        &parsed.html_body
    } else {
        &parsed.text_body
    };
    let mut texts = Vec::new();
    for id in parts {
        let Some(part) = parsed.part(*id) else {
            continue;
        };
        let Some(text) = part.text_contents() else {
            continue;
        };
        let text = text.replace("\r\n", "\n").replace('\r', "\n");
        texts.push(if part.is_text_html() { html_to_text(&text) } else { text });
    }
    texts.join("\n\n")
}

/// What came attached, as metadata. A nameless text part that is not marked as an attachment
/// is a body alternative left over from a broken structure, not a file.
fn attachments(parsed: &mail_parser::Message<'_>) -> Vec<Attachment> {
    parsed
        .attachments()
        .filter(|part| {
            let marked = part
                .content_disposition()
                .is_some_and(|d| d.ctype().eq_ignore_ascii_case("attachment"));
            let text = part.is_content_type("text", "plain") || part.is_content_type("text", "html");
            marked || part.attachment_name().is_some() || !text
        })
        .map(|part| Attachment {
            filename: part.attachment_name().map(str::to_owned),
            content_type: part
                .content_type()
                .map(|ct| match ct.subtype() {
                    Some(sub) => format!("{}/{sub}", ct.ctype()),
                    None => ct.ctype().to_owned(),
                })
                .unwrap_or_else(|| "application/octet-stream".to_owned())
                .to_ascii_lowercase(),
            size: part.contents().len() as u64,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn message_ids_with_and_without_brackets() {
        assert_eq!(message_ids("<a@x> <b@y>\t<c@z>"), ["a@x", "b@y", "c@z"]);
        assert_eq!(message_ids("a@x b@y"), ["a@x", "b@y"]);
        assert_eq!(message_ids("<unclosed@x"), ["unclosed@x"]);
    }
}
