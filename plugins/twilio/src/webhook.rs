//! What Twilio posts to the hook: an incoming SMS, or the status of a message sent.
//!
//! Both are `application/x-www-form-urlencoded`. An incoming message carries `MessageSid`,
//! `From`, `To` (E.164), `Body`, `NumMedia` and `MediaUrl{n}` / `MediaContentType{n}`; a status
//! callback carries `MessageSid` and `MessageStatus` (with `ErrorCode` when it failed). Twilio
//! adds parameters without notice, so unknown ones are ignored (and still signed over).

use crate::config::Config;
use weft_sdk::{Attachment, Consent, DeliveryState, DeliveryStatus, Inbound, Message, Party};

/// The channel name messages carry.
pub const CHANNEL: &str = "sms";

/// Twilio's default opt-out words on long codes: the whole message, any case.
pub const OPT_OUT_WORDS: [&str; 8] = [
    "STOP",
    "STOPALL",
    "UNSUBSCRIBE",
    "CANCEL",
    "END",
    "QUIT",
    "REVOKE",
    "OPTOUT",
];
/// Twilio's default words that opt a buyer back in.
pub const OPT_IN_WORDS: [&str; 3] = ["START", "YES", "UNSTOP"];

/// Twilio's error for a send to a number that opted out of the sender.
pub const UNSUBSCRIBED: &str = "21610";

/// The form parameters of a request, in order, repeated names kept.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Form(pub Vec<(String, String)>);

impl Form {
    /// Reads a form body. Percent-escapes that are not UTF-8 become U+FFFD, as Twilio's text
    /// is UTF-8 throughout.
    pub fn parse(body: &[u8]) -> Form {
        Form(
            form_urlencoded::parse(body)
                .map(|(k, v)| (k.into_owned(), v.into_owned()))
                .collect(),
        )
    }

    /// The first value of `name`.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.0.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
    }

    /// The first value of `name`, or why the request is unusable without it.
    fn required(&self, inbound: &Inbound, name: &str) -> Result<&str, String> {
        match self.get(name) {
            Some(value) if !value.trim().is_empty() => Ok(value),
            _ => Err(format!(
                "{}: the Twilio request has no `{name}` parameter{}",
                inbound.source,
                if self.0.is_empty() {
                    " (no form parameters at all)"
                } else {
                    ""
                }
            )),
        }
    }
}

/// The URL Twilio requested: the configured public URL, or the one the request names.
pub fn requested_url(inbound: &Inbound, config: &Config) -> Result<String, String> {
    let query = inbound.source.split_once('?').map(|(_, q)| q);
    if let Some(url) = &config.public_url {
        return Ok(match query {
            Some(query) if !url.contains('?') => format!("{url}?{query}"),
            _ => url.clone(),
        });
    }
    let host = inbound
        .header("host")
        .filter(|h| !h.is_empty())
        .ok_or("the request has no Host header to rebuild the URL Twilio called from; set `public_url`")?;
    Ok(format!("http://{host}{}", inbound.source))
}

/// What one request is.
#[derive(Debug, Clone, PartialEq)]
pub enum Request {
    /// A buyer's message, and the opt-out or opt-in it is, if it is one.
    Message(Box<Message>, Option<Consent>),
    /// The status of a message sent, and the opt-out it reveals (error 21610), if any.
    Status(DeliveryStatus, Option<Consent>),
}

/// Reads one request Twilio posted.
pub fn read(inbound: &Inbound, config: &Config) -> Result<Request, String> {
    if let Some(kind) = &inbound.content_type {
        let essence = kind.split(';').next().unwrap_or("").trim();
        if !essence.eq_ignore_ascii_case("application/x-www-form-urlencoded") {
            return Err(format!(
                "{}: the Twilio request is `{essence}`, not a form (application/x-www-form-urlencoded)",
                inbound.source
            ));
        }
    }
    let form = Form::parse(&inbound.body);
    let sid = form.required(inbound, "MessageSid")?;
    match form.get("MessageStatus") {
        Some(status) => read_status(inbound, &form, sid, status).map(|(s, c)| Request::Status(s, c)),
        None => read_message(inbound, config, &form, sid).map(|(m, c)| Request::Message(Box::new(m), c)),
    }
}

fn read_message(
    inbound: &Inbound,
    config: &Config,
    form: &Form,
    sid: &str,
) -> Result<(Message, Option<Consent>), String> {
    let from = form.required(inbound, "From")?;
    let to = form.required(inbound, "To")?;
    let body = form.get("Body").unwrap_or("");
    let mut message = Message::new(CHANNEL, sid, inbound.received_at);
    // One conversation per buyer's number and seller's number: the seller's is where replies
    // come from (`deliver` reads it back).
    message.thread = Some(thread(from, to));
    message.from = Party {
        phone: Some(from.to_owned()),
        ..Party::default()
    };
    message.body = body.to_owned();
    let media: usize = match form.get("NumMedia") {
        None => 0,
        Some(n) => n
            .trim()
            .parse()
            .map_err(|_| format!("{}: `NumMedia` is {n:?}, not a number of attachments", inbound.source))?,
    };
    for n in 0..media {
        let url = form.get(&format!("MediaUrl{n}"));
        let kind = form.get(&format!("MediaContentType{n}"));
        message.attachments.push(Attachment {
            filename: url.map(str::to_owned),
            content_type: kind.unwrap_or("application/octet-stream").to_owned(),
            size: 0,
        });
    }
    let consent = consent_in(form, config, body).map(|opted_out| Consent {
        address: from.to_owned(),
        opted_out,
        reason: format!("replied {:?} to {to}", body.trim()),
        at: inbound.received_at,
    });
    Ok((message, consent))
}

/// Whether the message opts out (true) or back in (false). Twilio says so itself in
/// `OptOutType` when the sender has Advanced Opt-Out; otherwise the body must be one keyword.
fn consent_in(form: &Form, config: &Config, body: &str) -> Option<bool> {
    match form.get("OptOutType").map(str::to_ascii_uppercase).as_deref() {
        Some("STOP") => return Some(true),
        Some("START") => return Some(false),
        Some(_) => return None,
        None => {}
    }
    let word = body.trim().trim_end_matches(['.', '!']).trim();
    let listed = |custom: &Option<Vec<String>>, default: &[&str]| match custom {
        Some(words) => words.iter().any(|w| w.trim().eq_ignore_ascii_case(word)),
        None => default.iter().any(|w| w.eq_ignore_ascii_case(word)),
    };
    if listed(&config.opt_out_keywords, &OPT_OUT_WORDS) {
        Some(true)
    } else if listed(&config.opt_in_keywords, &OPT_IN_WORDS) {
        Some(false)
    } else {
        None
    }
}

fn read_status(
    inbound: &Inbound,
    form: &Form,
    sid: &str,
    status: &str,
) -> Result<(DeliveryStatus, Option<Consent>), String> {
    let state = match status.to_ascii_lowercase().as_str() {
        "accepted" | "scheduled" | "queued" | "sending" => DeliveryState::Queued,
        "sent" => DeliveryState::Sent,
        "delivered" => DeliveryState::Delivered,
        "read" => DeliveryState::Read,
        "undelivered" | "failed" | "canceled" => DeliveryState::Failed,
        other => {
            return Err(format!(
                "{}: `MessageStatus` is {other:?}, which is no status of a sent message Twilio documents",
                inbound.source
            ));
        }
    };
    let code = form
        .get("ErrorCode")
        .map(str::trim)
        .filter(|c| !c.is_empty() && *c != "0");
    let reason = (state == DeliveryState::Failed).then(|| {
        let mut reason = format!("Twilio reports it {status}");
        if let Some(code) = code {
            reason.push_str(&format!(", error {code}"));
        }
        if let Some(text) = form.get("ErrorMessage").filter(|t| !t.trim().is_empty()) {
            reason.push_str(&format!(": {text}"));
        }
        if let Some(code) = code {
            reason.push_str(&format!(" (https://www.twilio.com/docs/errors/{code})"));
        }
        reason
    });
    let consent = match (code, form.get("To")) {
        (Some(UNSUBSCRIBED), Some(to)) => Some(Consent {
            address: to.to_owned(),
            opted_out: true,
            reason: format!("Twilio error {UNSUBSCRIBED}: the number unsubscribed from the sender"),
            at: inbound.received_at,
        }),
        _ => None,
    };
    Ok((
        DeliveryStatus {
            external_id: sid.to_owned(),
            state,
            at: inbound.received_at,
            reason,
        },
        consent,
    ))
}

/// The conversation of a buyer's number and a seller's number.
pub fn thread(buyer: &str, seller: &str) -> String {
    format!("{buyer}|{seller}")
}

/// The seller's number of a conversation, if the thread is one of this channel's.
pub fn seller_of(thread: &str) -> Option<&str> {
    thread
        .split_once('|')
        .map(|(_, seller)| seller)
        .filter(|s| !s.is_empty())
}
