//! What Messenger, Instagram and WhatsApp webhooks share: the subscription check and the
//! signature.
//!
//! **Subscription check.** Meta calls `GET <hook>?hub.mode=subscribe&hub.verify_token=TOKEN&
//! hub.challenge=N` when the webhook is set up; the answer is 200 with `N` as the bare body when
//! the token is the one typed into the app's settings, else 403.
//!
//! **Signature.** Every `POST` carries `X-Hub-Signature-256: sha256=<hex HMAC-SHA256 of the raw
//! body under the app secret>`. Meta writes non-ASCII text as `\uXXXX` escapes, so the MAC holds
//! only over the bytes as received, never over a body parsed and written again.

use hmac::{Hmac, Mac};
use sha2::Sha256;
use weft_sdk::{Error, HandshakeRequest, HandshakeResponse, Inbound};

/// The header that carries the signature.
pub const SIGNATURE_HEADER: &str = "X-Hub-Signature-256";

/// The answer to a subscription check, given the verify token the seller chose; None when the
/// request is no subscription check (no `hub.mode`).
pub fn answer_check(channel: &str, request: &HandshakeRequest, verify_token: &str) -> Option<HandshakeResponse> {
    let mode = request.param("hub.mode")?;
    let refuse = |why: String| HandshakeResponse {
        status: 403,
        content_type: "text/plain; charset=utf-8".into(),
        body: format!("{channel}: subscription check refused: {why}").into_bytes(),
    };
    if mode != "subscribe" {
        return Some(refuse(format!("hub.mode is `{mode}`, not `subscribe`")));
    }
    let Some(token) = request.param("hub.verify_token") else {
        return Some(refuse("hub.verify_token is missing".into()));
    };
    if !same_bytes(token.as_bytes(), verify_token.as_bytes()) {
        return Some(refuse(
            "hub.verify_token is not the verify token of this channel".into(),
        ));
    }
    let Some(challenge) = request.param("hub.challenge") else {
        return Some(refuse("hub.challenge is missing".into()));
    };
    Some(HandshakeResponse {
        status: 200,
        content_type: "text/plain; charset=utf-8".into(),
        body: challenge.as_bytes().to_vec(),
    })
}

/// Checks `X-Hub-Signature-256` of `inbound` under `app_secret`; the error names the channel and
/// what was wrong.
pub fn check_signature(channel: &str, inbound: &Inbound, app_secret: &[u8]) -> Result<(), Error> {
    let refuse = |why: &str| Error::permanent(format!("{channel} webhook refused: {why}"));
    let Some(header) = inbound.header(SIGNATURE_HEADER) else {
        return Err(refuse(&format!(
            "the {SIGNATURE_HEADER} header is missing (Meta signs every webhook; is this from Meta?)"
        )));
    };
    let Some(digest) = header.trim().strip_prefix("sha256=") else {
        return Err(refuse(&format!(
            "the {SIGNATURE_HEADER} header does not start with `sha256=`"
        )));
    };
    let Ok(expected) = hex::decode(digest) else {
        return Err(refuse(&format!(
            "the {SIGNATURE_HEADER} header is not hexadecimal after `sha256=`"
        )));
    };
    let mut mac = Hmac::<Sha256>::new_from_slice(app_secret).map_err(|e| Error::bad_config(e.to_string()))?;
    mac.update(&inbound.body);
    mac.verify_slice(&expected).map_err(|_| {
        refuse(&format!(
            "the {SIGNATURE_HEADER} header does not match the body: the body was changed on the way, \
             or it was signed with another app secret than this channel's"
        ))
    })
}

/// The `X-Hub-Signature-256` value of `body` under `app_secret`: what Meta sends.
pub fn sign(app_secret: &[u8], body: &[u8]) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(app_secret).expect("HMAC takes keys of any length");
    mac.update(body);
    format!("sha256={}", hex::encode(mac.finalize().into_bytes()))
}

/// Equal bytes, compared in a time that depends only on their lengths.
fn same_bytes(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}
