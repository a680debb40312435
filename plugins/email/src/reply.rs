//! Outbound mail: a reply rendered as RFC 5322 / MIME (with `mail-builder`), checked against
//! the rules of mail before it is handed to the host's SMTP relay.
//!
//! - **Threading** (RFC 5322 §3.6.4): `In-Reply-To` is the answered mail's `Message-ID`,
//!   `References` its references (or, lacking them, its `In-Reply-To`) followed by its id. The
//!   reply's own `Message-ID` is made from the outbox key on the seller's domain, so the same
//!   key always gets the same id, and it is the delivery's external id: the buyer's answer
//!   names it in `In-Reply-To`, and the engine finds the ticket by it.
//! - **RFC 3834**: nothing automatic goes to mail that is itself automatic (`Auto-Submitted`
//!   other than `no`), to a mailing list (`List-*` fields), to bulk mail (`Precedence: bulk`,
//!   `junk` or `list`), to a sender that asks for none (`X-Auto-Response-Suppress`) or to an
//!   empty return path (`<>`): refused before sending, with the reason. An agent's reply by hand
//!   goes out all the same. Automatic mail carries `Auto-Submitted: auto-replied` (a reply) or
//!   `auto-generated` (a notice on its own).
//! - **Marketplace relays**: a reply to mail relayed by a marketplace (Amazon, Walmart) goes to
//!   the relay address it came from (`Reply-To`, else `From`), from the sender address that
//!   marketplace authorized (`relay_senders`); without one it is refused, since the marketplace
//!   would drop it.

use crate::config::Config;
use crate::headers::HeaderBlock;
use crate::mail::parse_mail;
use mail_builder::MessageBuilder;
use mail_builder::headers::address::Address;
use mail_builder::headers::raw::Raw;
use mail_parser::MessageParser;
use sha2::{Digest, Sha256};
use weft_sdk::{Delivery, Error, Host, MailEnvelope, Outbound, SubmitError};

/// A mail ready to submit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rendered {
    pub envelope: MailEnvelope,
    /// Its `Message-ID`, without angle brackets.
    pub message_id: String,
    /// The whole message, CRLF line ends.
    pub bytes: Vec<u8>,
}

/// Sends `outbound`: rendered, checked, submitted through the host's relay. The delivery's
/// external id is the mail's `Message-ID`.
pub fn deliver(outbound: &Outbound, config: &Config, host: &dyn Host) -> Result<Delivery, Error> {
    let rendered = render(outbound, config)?;
    match host.submit_mail(&rendered.envelope, &rendered.bytes) {
        Ok(answer) => {
            host.log(
                weft_sdk::LogLevel::Info,
                &format!("email: {} accepted by the relay: {answer}", rendered.message_id),
            );
            Ok(Delivery {
                external_id: Some(rendered.message_id),
            })
        }
        Err(SubmitError::Transient(text)) => Err(Error::retryable(format!("email: not sent yet: {text}"))),
        Err(SubmitError::Permanent(text)) => Err(Error::permanent(format!("email: refused by the relay: {text}"))),
        Err(SubmitError::Refused(text)) => Err(Error::permanent(format!("email: cannot submit: {text}"))),
    }
}

/// Renders `outbound` as the mail to submit; a reason when it must not be sent.
pub fn render(outbound: &Outbound, config: &Config) -> Result<Rendered, Error> {
    let from_text = config.from.as_deref().ok_or_else(|| {
        Error::bad_config("email: `from` is not set: the channel needs the seller's address to send replies from")
    })?;
    let (from_name, from_address) = mailbox(from_text)
        .ok_or_else(|| Error::bad_config(format!("email: `from` `{from_text}` is not a mail address")))?;
    let replied = outbound
        .replying_to
        .as_ref()
        .map(|inbound| Replied::read(&inbound.body, config))
        .transpose()?;

    if outbound.automatic
        && let Some(why) = replied.as_ref().and_then(Replied::no_automatic_answer)
    {
        return Err(Error::permanent(format!(
            "email: not sent: no automatic answer goes to this mail (RFC 3834): {why}; an agent can still reply by hand"
        )));
    }

    // Relayed mail is answered to the relay, from the address the marketplace authorized.
    let (sender_name, sender_address) = match replied.as_ref().and_then(|r| r.marketplace.as_deref()) {
        Some(marketplace) => {
            let authorized = config.relay_senders.get(marketplace).ok_or_else(|| {
                Error::permanent(format!(
                    "email: not sent: a reply to {marketplace}-relayed mail must come from the sender address {marketplace} \
                     authorized, and none is configured: set `relay_senders: {{ {marketplace}: ... }}` in the mount's `with:`"
                ))
            })?;
            mailbox(authorized).ok_or_else(|| {
                Error::bad_config(format!(
                    "email: `relay_senders.{marketplace}` `{authorized}` is not a mail address"
                ))
            })?
        }
        None => (from_name, from_address),
    };
    let to = match &replied {
        Some(replied) if replied.marketplace.is_some() => replied.reply_address.clone(),
        _ if outbound.to.contains('@') => Some(outbound.to.trim().to_owned()),
        Some(replied) => replied.reply_address.clone(),
        None => None,
    }
    .ok_or_else(|| {
        Error::permanent(format!(
            "email: not sent: `{}` is not a mail address and there is no mail to answer",
            outbound.to
        ))
    })?;

    let domain = config
        .message_id_domain
        .clone()
        .or_else(|| sender_address.rsplit_once('@').map(|(_, d)| d.to_owned()))
        .unwrap_or_else(|| "localhost".to_owned());
    let message_id = format!(
        "weft.{}@{domain}",
        &hex::encode(Sha256::digest(outbound.key.as_bytes()))[..32]
    );
    let subject = outbound
        .subject
        .clone()
        .or_else(|| replied.as_ref().and_then(|r| r.subject.as_deref()).map(reply_subject))
        .unwrap_or_default();

    let mut builder = MessageBuilder::new()
        .from(Address::new_address(sender_name.clone(), sender_address.clone()))
        .to(Address::new_address(None::<String>, to.clone()))
        .subject(subject)
        .message_id(message_id.clone())
        .text_body(outbound.body.clone());
    if let Some(replied) = &replied {
        builder = builder.in_reply_to(replied.id.clone());
        if !replied.references.is_empty() {
            builder = builder.references(replied.references.clone());
        }
    }
    if let Some(lang) = &outbound.lang {
        builder = builder.header("Content-Language", Raw::new(lang.clone()));
    }
    if outbound.automatic {
        let kind = if replied.is_some() {
            "auto-replied"
        } else {
            "auto-generated"
        };
        builder = builder.header("Auto-Submitted", Raw::new(kind));
    }
    let bytes = builder
        .write_to_vec()
        .map_err(|e| Error::permanent(format!("email: the reply could not be rendered: {e}")))?;
    Ok(Rendered {
        envelope: MailEnvelope {
            sender: sender_address,
            recipients: vec![to],
        },
        message_id,
        bytes,
    })
}

/// `Re: ` before a subject that has none yet.
fn reply_subject(subject: &str) -> String {
    let lower = subject.trim_start().to_lowercase();
    if ["re:", "aw:", "sv:", "antw:", "réf:", "rif:"]
        .iter()
        .any(|p| lower.starts_with(p))
    {
        subject.to_owned()
    } else {
        format!("Re: {subject}")
    }
}

/// What a reply needs of the mail it answers.
#[derive(Debug, Clone, PartialEq)]
struct Replied {
    /// Its `Message-ID`.
    id: String,
    /// What the reply's `References` holds: the answered mail's chain, then its id.
    references: Vec<String>,
    subject: Option<String>,
    /// Where an answer goes: `Reply-To`, else `From`.
    reply_address: Option<String>,
    /// The marketplace that relayed it.
    marketplace: Option<String>,
    /// RFC 3834 and its de-facto companions, as found.
    auto_submitted: Option<String>,
    list: Option<String>,
    precedence: Option<String>,
    suppress: Option<String>,
    empty_return_path: bool,
}

impl Replied {
    fn read(raw: &[u8], config: &Config) -> Result<Replied, Error> {
        let unreadable = |e: String| Error::permanent(format!("email: the mail this answers cannot be read: {e}"));
        let headers = HeaderBlock::scan(raw).map_err(|e| unreadable(e.to_string()))?;
        let message = parse_mail(raw, config).map_err(|e| unreadable(e.to_string()))?;
        let parsed = MessageParser::default()
            .parse(&raw[headers.start..])
            .ok_or_else(|| unreadable("the MIME structure could not be read".to_owned()))?;
        let first = |list: Option<&mail_parser::Address<'_>>| {
            list.and_then(|l| l.first())
                .and_then(|a| a.address())
                .map(str::trim)
                .filter(|a| a.contains('@'))
                .map(str::to_owned)
        };
        let reply_address = first(parsed.reply_to()).or_else(|| first(parsed.from()));
        // The chain before it: its References, else its In-Reply-To (RFC 5322 §3.6.4).
        let mut references: Vec<String> = message.replies_to.iter().rev().cloned().collect();
        references.retain(|id| id.contains('@'));
        let id_is_real = message.id.contains('@') && !message.id.starts_with("sha256:");
        if id_is_real {
            references.push(message.id.clone());
        }
        let value = |name: &str| headers.get(name).map(|f| f.value.trim().to_owned());
        Ok(Replied {
            id: message.id.clone(),
            references,
            subject: message.subject.clone(),
            reply_address,
            marketplace: message.marketplace.clone(),
            auto_submitted: value("auto-submitted")
                .filter(|v| !v.split(';').next().unwrap_or("").trim().eq_ignore_ascii_case("no")),
            list: headers
                .fields
                .iter()
                .find(|f| f.name.to_ascii_lowercase().starts_with("list-"))
                .map(|f| format!("{}: {}", f.name, f.value.trim())),
            precedence: value("precedence")
                .filter(|v| ["bulk", "junk", "list"].contains(&v.to_ascii_lowercase().as_str())),
            suppress: value("x-auto-response-suppress"),
            empty_return_path: headers.all("return-path").next().is_some_and(|f| {
                f.value
                    .trim()
                    .trim_start_matches('<')
                    .trim_end_matches('>')
                    .trim()
                    .is_empty()
            }),
        })
    }

    /// Why no automatic answer may go to this mail, if so.
    fn no_automatic_answer(&self) -> Option<String> {
        if let Some(value) = &self.auto_submitted {
            return Some(format!("it is auto-submitted (`Auto-Submitted: {value}`)"));
        }
        if self.empty_return_path {
            return Some("its return path is empty (`Return-Path: <>`)".to_owned());
        }
        if let Some(list) = &self.list {
            return Some(format!("it came from a mailing list (`{list}`)"));
        }
        if let Some(precedence) = &self.precedence {
            return Some(format!("it is bulk mail (`Precedence: {precedence}`)"));
        }
        if let Some(suppress) = &self.suppress {
            return Some(format!(
                "its sender asks for none (`X-Auto-Response-Suppress: {suppress}`)"
            ));
        }
        None
    }
}

/// A mailbox as written in the configuration: `Name <address>` or a bare address; the display
/// name (without quotes) and the address. None when there is no usable address.
pub(crate) fn mailbox(text: &str) -> Option<(Option<String>, String)> {
    let text = text.trim();
    let (name, address) = match (text.rfind('<'), text.ends_with('>')) {
        (Some(open), true) => {
            let name = text[..open].trim().trim_matches('"').trim();
            (
                (!name.is_empty()).then(|| name.to_owned()),
                text[open + 1..text.len() - 1].trim(),
            )
        }
        _ => (None, text),
    };
    let (local, domain) = address.rsplit_once('@')?;
    let fine = !local.is_empty()
        && !domain.is_empty()
        && domain.contains('.')
        && !address.contains(char::is_whitespace)
        && !address.contains(['<', '>', ',']);
    fine.then(|| (name, address.to_owned()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mailboxes_as_configured() {
        assert_eq!(
            mailbox("Shop Support <support@shop.example>"),
            Some((Some("Shop Support".into()), "support@shop.example".into()))
        );
        assert_eq!(
            mailbox("\"Laden Müller\" <info@müller.de>"),
            Some((Some("Laden Müller".into()), "info@müller.de".into()))
        );
        assert_eq!(mailbox("a@b.example"), Some((None, "a@b.example".into())));
        assert_eq!(mailbox("not an address"), None);
        assert_eq!(mailbox("a@localhost"), None);
        assert_eq!(mailbox("Name <>"), None);
    }

    #[test]
    fn subjects_get_one_prefix() {
        assert_eq!(reply_subject("Wo ist mein Paket?"), "Re: Wo ist mein Paket?");
        assert_eq!(reply_subject("Re: Wo ist mein Paket?"), "Re: Wo ist mein Paket?");
        assert_eq!(reply_subject("AW: Lieferung"), "AW: Lieferung");
        assert_eq!(reply_subject("注文について"), "Re: 注文について");
    }
}
