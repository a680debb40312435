//! Signed visitor identity: the shop vouches for who is logged in.
//!
//! When the shop knows its visitor, its server signs the visitor's email and/or customer id
//! with the secret it shares with weft, and hands the result to the widget (`data-` attributes
//! of the script tag, or `weft.identify({...})`). weft puts the email on `party.email` and the
//! customer id on `party.buyer-id`, where identity matching uses them, only when the signature
//! holds.
//!
//! **What is signed.** The UTF-8 bytes of these six lines joined by `\n` (no trailing newline):
//!
//! ```text
//! weft-chat-identity:v1
//! <hook id of the chat mount>
//! <email, or empty>
//! <customer id, or empty>
//! <name, or empty>
//! <expires: Unix time in seconds>
//! ```
//!
//! `signature` is the lowercase hex HMAC-SHA256 of that text under the secret. The hook id
//! binds a signature to one mount; `expires` bounds how long it can be replayed: weft refuses it
//! once that second has passed, and refuses one that expires further ahead than the mount's
//! `identity_lifetime` (24 hours by default), so the shop signs afresh on each page (a few
//! minutes ahead is plenty). No value may hold a line break.
//!
//! **A bad signature is refused, not downgraded.** The post is answered 401 with the reason
//! (expired, signed for another mount, does not match...) and counted and logged by weft, and
//! the widget sends the visitor's message again without the identity: the buyer still reaches
//! an agent, as an anonymous visitor, and the shop's developer sees at once in the browser and
//! in weft's log why the identity was not taken. Silently accepting the message as anonymous
//! would hide a broken integration behind working chat.

use hmac::{Hmac, Mac};
use serde::Deserialize;
use sha2::Sha256;
use weft_sdk::{Error, Timestamp};

/// The first line of the signed text: the scheme and its version.
pub const SCHEME: &str = "weft-chat-identity:v1";

/// A logged-in visitor as the shop's page passes it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SignedIdentity {
    #[serde(default)]
    pub email: Option<String>,
    #[serde(default)]
    pub customer_id: Option<String>,
    #[serde(default)]
    pub name: Option<String>,
    /// Unix time in seconds after which the signature is no longer taken.
    pub expires: i64,
    /// Lowercase hex HMAC-SHA256 of [`signed_text`] under the shared secret.
    pub signature: String,
}

/// The text the shop signs (see the module's documentation).
pub fn signed_text(hook: &str, email: &str, customer_id: &str, name: &str, expires: i64) -> String {
    format!("{SCHEME}\n{hook}\n{email}\n{customer_id}\n{name}\n{expires}")
}

/// The signature the shop computes, as lowercase hex.
pub fn sign(secret: &[u8], text: &str) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret).expect("HMAC takes keys of any length");
    mac.update(text.as_bytes());
    hex::encode(mac.finalize().into_bytes())
}

impl SignedIdentity {
    /// Checks the signature for mount `hook` under `secret` at `now` (ms), allowing at most
    /// `lifetime_ms` ahead; the error says what was wrong, naming the channel.
    pub fn check(&self, hook: &str, secret: &[u8], now: Timestamp, lifetime_ms: i64) -> Result<(), Error> {
        let refuse =
            |why: String| Error::permanent(format!("chat: the visitor's signed identity is not trusted: {why}"));
        let email = self.email.as_deref().unwrap_or_default();
        let customer_id = self.customer_id.as_deref().unwrap_or_default();
        let name = self.name.as_deref().unwrap_or_default();
        if email.trim().is_empty() && customer_id.trim().is_empty() {
            return Err(refuse("it names neither an email nor a customer id".into()));
        }
        if [email, customer_id, name].iter().any(|v| v.contains(['\n', '\r'])) {
            return Err(refuse(
                "a value holds a line break, which the signed text cannot carry".into(),
            ));
        }
        let Ok(expected) = hex::decode(self.signature.trim()) else {
            return Err(refuse("`signature` is not hexadecimal".into()));
        };
        let mut mac = Hmac::<Sha256>::new_from_slice(secret).map_err(|e| Error::bad_config(e.to_string()))?;
        mac.update(signed_text(hook, email, customer_id, name, self.expires).as_bytes());
        if mac.verify_slice(&expected).is_err() {
            return Err(refuse(format!(
                "the signature does not match: it was made with another secret, for another mount than `{hook}`, \
                 or over other values (sign `{SCHEME}`, the hook id, email, customer id, name and expires, one a line)"
            )));
        }
        let expires_ms = self.expires.saturating_mul(1000);
        if expires_ms <= now {
            return Err(refuse(format!(
                "it expired {} s ago (expires {}); sign it afresh for each page",
                (now - expires_ms) / 1000,
                self.expires
            )));
        }
        if expires_ms - now > lifetime_ms {
            return Err(refuse(format!(
                "it expires {} s from now, beyond this mount's identity_lifetime of {} s",
                (expires_ms - now) / 1000,
                lifetime_ms / 1000
            )));
        }
        Ok(())
    }
}
