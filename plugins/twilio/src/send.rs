//! Replies through Twilio's Messages API.
//!
//! `POST {api_base}/2010-04-01/Accounts/{AccountSid}/Messages.json`, HTTP Basic with the
//! Account SID and the auth token, a form body with `To`, `From` (or `MessagingServiceSid`),
//! `Body` and, when the hook's public URL is known, `StatusCallback` (so that Twilio reports
//! what became of it to the hook). Twilio answers 201 with the message as JSON (`sid`,
//! `status`), or an error as JSON: `{"code", "message", "more_info", "status"}`.
//!
//! Twilio splits a long body into segments itself (153 GSM-7 characters each, 67 for UCS-2
//! text such as German umlauts outside GSM-7, Japanese or Arabic) and refuses a body of more
//! than 1,600 characters (error 21617); such a body is refused here before anything is sent.
//!
//! Twilio documents no idempotency key for creating a Message (`outbound.key` has nowhere to
//! go), so a try is repeated only when Twilio refused
//! it as a whole: 429 (rate limit) and 503 (unavailable), not before `Retry-After`. Without an
//! answer, or with another 5xx, the message may have been created: it is failed with a reason
//! that says to check the Twilio console before sending it again by hand (`weft outbox retry`).
//! Error 21610 (the number opted out of the sender) is an opt-out; other 4xx are final.

use crate::config::{Config, is_e164};
use crate::webhook::{UNSUBSCRIBED, seller_of};
use base64::Engine as _;
use serde::Deserialize;
use weft_sdk::{Delivery, Error, Host, HttpRequest, HttpResponse, Outbound};

/// The most characters Twilio takes in one message's body.
pub const MAX_BODY_CHARS: usize = 1600;

/// A message as Twilio answers it.
#[derive(Debug, Deserialize)]
struct Created {
    sid: String,
}

/// An error as Twilio answers it.
#[derive(Debug, Deserialize)]
struct TwilioError {
    code: Option<serde_json::Value>,
    message: Option<String>,
    more_info: Option<String>,
}

/// Sends `outbound`.
pub fn deliver(outbound: &Outbound, config: &Config, host: &dyn Host) -> Result<Delivery, Error> {
    if !is_e164(&outbound.to) {
        return Err(Error::permanent(format!(
            "`{}` is not a phone number in E.164 (`+` and 8 to 15 digits), so Twilio cannot text it",
            outbound.to
        )));
    }
    let length = outbound.body.chars().count();
    if length > MAX_BODY_CHARS {
        return Err(Error::permanent(format!(
            "the reply is {length} characters long; Twilio takes at most {MAX_BODY_CHARS} in one SMS (error 21617): shorten it"
        )));
    }
    if outbound.body.trim().is_empty() {
        return Err(Error::permanent(
            "the reply is empty; Twilio sends no SMS without a body",
        ));
    }
    let sender = match outbound
        .thread
        .as_deref()
        .and_then(seller_of)
        .or(config.from.as_deref())
    {
        Some(number) => ("From", number),
        None => match &config.messaging_service_sid {
            Some(service) => ("MessagingServiceSid", service.as_str()),
            None => {
                return Err(Error::bad_config(
                    "nothing says which number to send from: the conversation names none, and neither `from` nor \
                     `messaging_service_sid` is set",
                ));
            }
        },
    };
    let account = host.secret(config.account_sid_secret()).map_err(Error::bad_config)?;
    let token = host.secret(config.auth_token_secret()).map_err(Error::bad_config)?;
    let mut form = form_urlencoded::Serializer::new(String::new());
    form.append_pair("To", &outbound.to)
        .append_pair(sender.0, sender.1)
        .append_pair("Body", &outbound.body);
    if let Some(url) = &config.public_url {
        form.append_pair("StatusCallback", url);
    }
    let credentials = base64::engine::general_purpose::STANDARD.encode(format!("{account}:{token}"));
    let request = HttpRequest::new(
        "POST",
        format!("{}/2010-04-01/Accounts/{account}/Messages.json", config.api_base()),
    )
    .with_header("Authorization", format!("Basic {credentials}"))
    .with_header("Content-Type", "application/x-www-form-urlencoded")
    .with_header("Accept", "application/json")
    .with_body(form.finish());
    let response = host.fetch(&request).map_err(|e| {
        Error::permanent(format!(
            "Twilio did not answer ({e}); the message may have been created all the same: check the Twilio console \
             for a message to {} before sending it again",
            outbound.to
        ))
    })?;
    answer(&response, &outbound.to)
}

/// What Twilio's answer means.
fn answer(response: &HttpResponse, to: &str) -> Result<Delivery, Error> {
    if response.is_success() {
        let created: Created = serde_json::from_slice(&response.body).map_err(|e| {
            Error::permanent(format!(
                "Twilio answered {} with a body that is not a message ({e}); it was probably sent: check the Twilio console",
                response.status
            ))
        })?;
        return Ok(Delivery {
            external_id: Some(created.sid),
        });
    }
    let error: Option<TwilioError> = serde_json::from_slice(&response.body).ok();
    let code = error.as_ref().and_then(|e| e.code.as_ref()).map(|c| match c {
        serde_json::Value::String(s) => s.clone(),
        other => other.to_string(),
    });
    let mut reason = format!("Twilio answered {}", response.status);
    if let Some(code) = &code {
        reason.push_str(&format!(", error {code}"));
    }
    match error.as_ref().and_then(|e| e.message.as_deref()) {
        Some(message) => reason.push_str(&format!(": {message}")),
        None => {
            let text = response.text();
            let text = text.trim();
            if !text.is_empty() {
                reason.push_str(&format!(": {}", text.chars().take(300).collect::<String>()));
            }
        }
    }
    if let Some(more) = error.as_ref().and_then(|e| e.more_info.as_deref()) {
        reason.push_str(&format!(" ({more})"));
    }
    match response.status {
        429 | 503 => Err(match response.retry_after() {
            Some(wait) => Error::retry_later(wait, reason),
            None => Error::retryable(reason),
        }),
        _ if code.as_deref() == Some(UNSUBSCRIBED) => Err(Error::opted_out(format!(
            "{to} has replied STOP to this sender: {reason}"
        ))),
        500..=599 => Err(Error::permanent(format!(
            "{reason}; the message may have been created all the same: check the Twilio console before sending it again"
        ))),
        _ => Err(Error::permanent(reason)),
    }
}
