//! Replies through the Graph API, within Meta's rules.
//!
//! **The window.** Meta lets a business answer a buyer freely for 24 hours after the buyer's
//! last message. After that, Messenger and Instagram allow a person's reply for up to 7 days
//! with the `HUMAN_AGENT` tag (when the seller enabled `human_agent`; never for an automatic
//! message), and WhatsApp only an
//! approved template. The engine says when the buyer last wrote ([`Outbound::last_inbound_at`]);
//! [`permit`] decides before anything is sent, and a reply the platform would refuse is refused
//! here, for good, with a reason that says why; so is a text longer than the platform takes
//! in one message ([`check_text`]).
//!
//! **Requests.** `POST {graph_url}/{api_version}/{sender_id}/messages` with `Authorization:
//! Bearer <token>` and the JSON of the Send API (Messenger, Instagram) or of the Cloud API
//! (WhatsApp). A Messenger or Instagram reply carries `metadata: "weft:<key>"`, which Meta
//! sends back in its echo, so the echo is known as weft's own.
//!
//! **Answers.** 2xx: delivered, as the id Meta gave it (`message_id`, or `messages[0].id`).
//! Meta's errors are `{"error": {"message", "type", "code", "error_subcode", "fbtrace_id"}}`,
//! often with status 400 even for a rate limit: an answer is retryable when its status is 408,
//! 429 or 5xx, or its code says to wait (1, 2: temporary; 4, 17, 32, 613, 80006: call limits;
//! 130429, 131056: WhatsApp's throughput and pair limits), and not before its `Retry-After`
//! when it has one. Meta refused the message then, so sending it again cannot deliver it twice.
//! Every other answer is a refusal for good, with Meta's own words. No answer at all may mean
//! the message went out: it is not sent again by itself.

use crate::config::{Config, Platform};
use crate::messenger::WEFT_METADATA;
use serde_json::{Value, json};
use weft_sdk::{Delivery, Error, Host, HttpRequest, HttpResponse, Outbound};

/// 24 hours, in milliseconds.
const WINDOW_MS: i64 = 24 * 3_600_000;
/// How long after the buyer's last message the `HUMAN_AGENT` tag allows a person's reply.
const HUMAN_AGENT_MS: i64 = 7 * 24 * 3_600_000;
/// The longest free-form text each platform takes in one message, in characters (Messenger's
/// Send API: 2000; Instagram: 1000; WhatsApp's Cloud API: 4096).
const MAX_TEXT_CHARS: [(Platform, usize); 3] = [
    (Platform::Messenger, 2000),
    (Platform::Instagram, 1000),
    (Platform::Whatsapp, 4096),
];
/// Error codes that ask to try again later (see the module documentation).
const RETRY_CODES: [i64; 9] = [1, 2, 4, 17, 32, 613, 80006, 130429, 131056];

/// How a reply may go out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Permit {
    /// Free-form, within the 24-hour window.
    Response,
    /// Free-form with the `HUMAN_AGENT` tag (Messenger, Instagram), within 7 days.
    HumanAgent,
    /// As the configured template (WhatsApp), outside the window.
    Template,
}

/// How a reply may go out at `now` when the buyer last wrote at `last` (milliseconds), or why
/// it may not: the reason shown on the ticket.
/// `automatic` replies never get the human-agent tag.
pub fn permit(config: &Config, last: Option<i64>, automatic: bool, now: i64) -> Result<Permit, String> {
    let channel = config.platform.channel();
    let whatsapp = config.platform == Platform::Whatsapp;
    let Some(last) = last else {
        if whatsapp && config.template.is_some() {
            return Ok(Permit::Template);
        }
        return Err(format!(
            "{channel}: the reply was not sent: the buyer has not written on {channel} about this ticket, and Meta \
             lets a business write there only once the buyer has{}",
            if whatsapp {
                " (or with an approved template, and this channel's `with:` names no `template`)"
            } else {
                ""
            }
        ));
    };
    let age = now.saturating_sub(last);
    if age <= WINDOW_MS {
        return Ok(Permit::Response);
    }
    let when = format!("the buyer last wrote {} ago ({})", age_words(age), rfc3339(last));
    if whatsapp {
        if config.template.is_some() {
            return Ok(Permit::Template);
        }
        return Err(format!(
            "{channel}: the reply was not sent: {when}; outside WhatsApp's 24-hour customer-service window only an \
             approved template may be sent, and this channel's `with:` names no `template`"
        ));
    }
    if config.human_agent && age <= HUMAN_AGENT_MS && !automatic {
        return Ok(Permit::HumanAgent);
    }
    let hint = match (config.human_agent, age <= HUMAN_AGENT_MS) {
        (true, true) => "; the human-agent tag is for a person's reply, and this one is automatic",
        (true, false) => "; the human-agent tag allows a person's reply for 7 days only, and they have passed",
        (false, true) => {
            "; `human_agent: true` in the channel's `with:` would let a person's reply go out with Meta's HUMAN_AGENT tag within 7 days"
        }
        (false, false) => "",
    };
    Err(format!(
        "{channel}: the reply was not sent: {when}; outside Meta's 24-hour window a free-form reply is refused{hint}"
    ))
}

/// Refuses, before sending, a free-form text the platform would refuse: empty, or longer than
/// it takes in one message. A template carries the text as a parameter and is not checked here.
pub fn check_text(config: &Config, outbound: &Outbound, permit: Permit) -> Result<(), String> {
    let channel = config.platform.channel();
    if permit == Permit::Template {
        return Ok(());
    }
    if outbound.body.trim().is_empty() {
        return Err(format!("{channel}: the reply was not sent: its text is empty"));
    }
    let limit = MAX_TEXT_CHARS
        .iter()
        .find(|(platform, _)| *platform == config.platform)
        .map_or(usize::MAX, |(_, limit)| *limit);
    let length = outbound.body.chars().count();
    if length > limit {
        return Err(format!(
            "{channel}: the reply was not sent: its text is {length} characters long, and {channel} takes at most \
             {limit} in one message"
        ));
    }
    Ok(())
}

/// The JSON body of the request that sends `outbound` as `permit` allows.
pub fn request_body(config: &Config, outbound: &Outbound, permit: Permit) -> Value {
    match (config.platform, permit, &config.template) {
        (Platform::Whatsapp, Permit::Template, Some(template)) => {
            let mut body = json!({
                "messaging_product": "whatsapp",
                "recipient_type": "individual",
                "to": outbound.to,
                "type": "template",
                "template": { "name": template.name, "language": { "code": template.language } },
            });
            if !template.parameters.is_empty() {
                let parameters: Vec<Value> = template
                    .parameters
                    .iter()
                    .map(|p| json!({ "type": "text", "text": p.replace("{body}", &outbound.body) }))
                    .collect();
                body["template"]["components"] = json!([{ "type": "body", "parameters": parameters }]);
            }
            body
        }
        (Platform::Whatsapp, _, _) => json!({
            "messaging_product": "whatsapp",
            "recipient_type": "individual",
            "to": outbound.to,
            "type": "text",
            "text": { "preview_url": false, "body": outbound.body },
        }),
        (Platform::Messenger | Platform::Instagram, permit, _) => {
            let mut body = json!({
                "recipient": { "id": outbound.to },
                "messaging_type": "RESPONSE",
                "message": { "text": outbound.body, "metadata": format!("{WEFT_METADATA}{}", outbound.key) },
            });
            if permit == Permit::HumanAgent {
                body["messaging_type"] = json!("MESSAGE_TAG");
                body["tag"] = json!("HUMAN_AGENT");
            }
            body
        }
    }
}

/// Sends `outbound` (see the module documentation).
pub fn deliver(outbound: &Outbound, config: &Config, host: &dyn Host) -> Result<Delivery, Error> {
    let channel = config.platform.channel();
    let now = jiff::Timestamp::now().as_millisecond();
    let permit = permit(config, outbound.last_inbound_at, outbound.automatic, now).map_err(Error::Permanent)?;
    check_text(config, outbound, permit).map_err(Error::Permanent)?;
    let token = host.secret(&config.access_token).map_err(Error::bad_config)?;
    let body = request_body(config, outbound, permit);
    let request = HttpRequest {
        method: "POST".into(),
        url: config.messages_url(),
        headers: vec![
            ("Content-Type".into(), "application/json".into()),
            ("Authorization".into(), format!("Bearer {token}")),
        ],
        body: serde_json::to_vec(&body).map_err(|e| Error::permanent(format!("{channel}: {e}")))?,
    };
    let response = host.fetch(&request).map_err(|e| {
        Error::permanent(format!(
            "{channel}: the Graph API gave no answer ({e}); the reply may have gone out, so it is not sent again \
             by itself: check the conversation, then `weft outbox retry {}`",
            outbound.key
        ))
    })?;
    answer(channel, &response)
}

/// What a Graph API answer means for the reply.
pub fn answer(channel: &str, response: &HttpResponse) -> Result<Delivery, Error> {
    let json: Option<Value> = serde_json::from_slice(&response.body).ok();
    if response.is_success() {
        let id = json.as_ref().and_then(|v| {
            v["message_id"]
                .as_str()
                .or_else(|| v["messages"][0]["id"].as_str())
                .map(str::to_owned)
        });
        return Ok(Delivery { external_id: id });
    }
    let error = json.as_ref().map(|v| &v["error"]).filter(|e| e.is_object());
    let Some(error) = error else {
        // Not Meta's error format (a proxy's page, say): the status decides.
        return Err(response.error(&format!("{channel}: the Graph API refused the reply")));
    };
    let code = error["code"].as_i64();
    let mut reason = format!(
        "{channel}: the Graph API refused the reply (HTTP {}): {}",
        response.status,
        error["message"].as_str().unwrap_or("no message")
    );
    let details: Vec<String> = [
        ("type", error["type"].as_str().map(str::to_owned)),
        ("code", code.map(|c| c.to_string())),
        ("subcode", error["error_subcode"].as_i64().map(|c| c.to_string())),
        ("fbtrace_id", error["fbtrace_id"].as_str().map(str::to_owned)),
    ]
    .into_iter()
    .filter_map(|(name, value)| value.map(|v| format!("{name} {v}")))
    .collect();
    if !details.is_empty() {
        reason.push_str(&format!(" ({})", details.join(", ")));
    }
    let retry = matches!(response.status, 408 | 429 | 500..=599) || code.is_some_and(|c| RETRY_CODES.contains(&c));
    if !retry {
        return Err(Error::Permanent(reason));
    }
    let wait = response
        .header("retry-after")
        .and_then(|value| weft_sdk::http::retry_after(value, response.header("date")));
    Err(match wait {
        Some(after) => Error::retry_later(after, reason),
        None => Error::Retryable(reason),
    })
}

fn age_words(ms: i64) -> String {
    let hours = ms / 3_600_000;
    if hours < 72 {
        format!("{hours} hours")
    } else {
        format!("{} days", hours / 24)
    }
}

fn rfc3339(ms: i64) -> String {
    jiff::Timestamp::from_millisecond(ms).map_or_else(|_| ms.to_string(), |t| t.to_string())
}
