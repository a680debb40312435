//! eBay's Notification API: the `X-EBAY-SIGNATURE` of every notification, the endpoint
//! challenge, and what a notification says.
//!
//! **Signature.** The header is base64 of `{"alg":"ecdsa","kid":…,"signature":…,"digest":"SHA1"}`:
//! an ECDSA P-256 signature (DER, base64) over the SHA-1 digest of the notification's JSON,
//! by the key `kid`, which the Notification API hands out
//! (`GET {api}/commerce/notification/v1/public_key/{kid}`, application token). Keys are kept
//! in the mount's cache for [`KEY_TTL`]. eBay's own SDKs verify the JSON re-serialized compactly
//! (`JSON.stringify`, Go's `json.Marshal`), so the raw body is tried first and then its compact
//! form, keys in the order sent ([`compact`]).
//!
//! **Challenge.** eBay checks an endpoint with `GET <endpoint>?challenge_code=…`, answered with
//! `{"challengeResponse": hex(SHA-256(code ‖ verification token ‖ endpoint))}`, the endpoint
//! exactly as registered.
//!
//! **Topics.** `MARKETPLACE_ACCOUNT_DELETION` becomes a `customer.erase` fact: the engine
//! erases what it keeps of that eBay user. Every other topic is kept as a fact of kind
//! `ebay.<topic in lowercase>` (`ebay.authorization_revocation`), for workflows to match.

use crate::api::{self, Token};
use crate::config::Config;
use base64::Engine as _;
use p256::ecdsa::signature::hazmat::PrehashVerifier as _;
use p256::ecdsa::{Signature, VerifyingKey};
use p256::pkcs8::DecodePublicKey as _;
use serde::Deserialize;
use sha1::Digest as _;
use std::time::Duration;
use weft_sdk::{Error, HandshakeRequest, HandshakeResponse, Host, HttpRequest, Inbound, Item};

/// The header eBay signs notifications in.
pub const HEADER: &str = "x-ebay-signature";
/// How long a public key is kept in the mount's cache.
pub const KEY_TTL: Duration = Duration::from_secs(60 * 60);
/// The topic of an account deletion or closure.
pub const ACCOUNT_DELETION: &str = "MARKETPLACE_ACCOUNT_DELETION";

/// The decoded `X-EBAY-SIGNATURE` header.
#[derive(Debug, Deserialize)]
struct SignatureHeader {
    alg: String,
    kid: String,
    signature: String,
    digest: String,
}

fn refuse(reason: impl std::fmt::Display) -> Error {
    Error::permanent(format!("ebay notification: {reason}"))
}

/// Checks the notification's `X-EBAY-SIGNATURE` against eBay's key of its `kid`.
pub fn verify(inbound: &Inbound, config: &Config, host: &dyn Host) -> Result<(), Error> {
    let header = inbound
        .header(HEADER)
        .ok_or_else(|| refuse("the X-EBAY-SIGNATURE header is missing: the request is not from eBay"))?;
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(header.trim())
        .map_err(|e| refuse(format!("the X-EBAY-SIGNATURE header is not base64: {e}")))?;
    let header: SignatureHeader = serde_json::from_slice(&decoded)
        .map_err(|e| refuse(format!("the X-EBAY-SIGNATURE header is not eBay's signature JSON: {e}")))?;
    if !header.alg.eq_ignore_ascii_case("ecdsa") {
        return Err(refuse(format!(
            "the X-EBAY-SIGNATURE algorithm is `{}`, not ecdsa",
            header.alg
        )));
    }
    if !header.digest.eq_ignore_ascii_case("sha1") {
        return Err(refuse(format!(
            "the X-EBAY-SIGNATURE digest is `{}`, not SHA1",
            header.digest
        )));
    }
    let der = base64::engine::general_purpose::STANDARD
        .decode(header.signature.trim())
        .map_err(|e| refuse(format!("the X-EBAY-SIGNATURE signature is not base64: {e}")))?;
    let signature =
        Signature::from_der(&der).map_err(|_| refuse("the X-EBAY-SIGNATURE signature is not a DER ECDSA signature"))?;
    let key = public_key(&header.kid, config, host)?;
    if signed_by(&key, &signature, &inbound.body) {
        return Ok(());
    }
    if let Some(compact) = compact(&inbound.body)
        && compact != inbound.body
        && signed_by(&key, &signature, &compact)
    {
        return Ok(());
    }
    Err(refuse(format!(
        "the X-EBAY-SIGNATURE signature does not match the body (key {})",
        header.kid
    )))
}

/// Whether `signature` by `key` signs the SHA-1 digest of `bytes`.
fn signed_by(key: &VerifyingKey, signature: &Signature, bytes: &[u8]) -> bool {
    let digest = sha1::Sha1::digest(bytes);
    key.verify_prehash(&digest, signature).is_ok()
}

/// eBay's public key `kid`: from the mount's cache, or fetched with the application token. An
/// unknown key id is refused for good (the notification is not eBay's); a key API that is down
/// is worth another try (eBay sends the notification again).
pub fn public_key(kid: &str, config: &Config, host: &dyn Host) -> Result<VerifyingKey, Error> {
    let cache_key = format!("public-key:{kid}");
    if let Some(der) = host.cache_get(&cache_key)
        && let Ok(key) = VerifyingKey::from_public_key_der(&der)
    {
        return Ok(key);
    }
    let what = format!("fetching the public key {kid}");
    let request = HttpRequest::new("GET", config.public_key_url(kid)).with_header("Accept", "application/json");
    let response = api::call(Token::App, config, host, &request, &what)?;
    if !response.is_success() {
        return Err(match api::api_error(&what, &response) {
            Error::Permanent(reason) => refuse(format!("key id {kid} is not one of eBay's: {reason}")),
            other => other,
        });
    }
    #[derive(Deserialize)]
    struct PublicKey {
        key: String,
        #[serde(default)]
        algorithm: Option<String>,
    }
    let answer: PublicKey = serde_json::from_slice(&response.body)
        .map_err(|e| Error::permanent(format!("ebay: {what}: the answer is not eBay's key format: {e}")))?;
    if let Some(algorithm) = &answer.algorithm
        && !algorithm.eq_ignore_ascii_case("ecdsa")
    {
        return Err(Error::permanent(format!(
            "ebay: {what}: the key is for `{algorithm}`, not ECDSA"
        )));
    }
    let der = key_der(&answer.key).ok_or_else(|| {
        Error::permanent(format!(
            "ebay: {what}: the key is not a base64 SubjectPublicKeyInfo between PEM armour"
        ))
    })?;
    let key = VerifyingKey::from_public_key_der(&der)
        .map_err(|e| Error::permanent(format!("ebay: {what}: the key is not a P-256 public key: {e}")))?;
    host.cache_set(&cache_key, &der, KEY_TTL);
    Ok(key)
}

/// The DER of a key as eBay sends it: PEM armour on one line, or on several.
fn key_der(pem: &str) -> Option<Vec<u8>> {
    let inner = pem
        .trim()
        .strip_prefix("-----BEGIN PUBLIC KEY-----")?
        .trim_end()
        .strip_suffix("-----END PUBLIC KEY-----")?;
    let b64: String = inner.chars().filter(|c| !c.is_whitespace()).collect();
    base64::engine::general_purpose::STANDARD.decode(b64).ok()
}

/// `body` as compact JSON, its keys in the order sent: whitespace between tokens dropped,
/// each string written again as JSON writes it (`JSON.stringify`, `serde_json`: only `"`, `\`
/// and control characters escaped), numbers and literals as sent. None when it is not JSON.
///
/// Written here rather than with `serde_json`'s `preserve_order` feature: cargo unifies
/// features across the plugins built together, and that feature would change the key order of
/// every other plugin's JSON.
pub fn compact(body: &[u8]) -> Option<Vec<u8>> {
    serde_json::from_slice::<serde::de::IgnoredAny>(body).ok()?;
    let text = std::str::from_utf8(body).ok()?;
    let mut out = String::with_capacity(text.len());
    let mut chars = text.char_indices();
    while let Some((start, c)) = chars.next() {
        match c {
            '"' => {
                let mut end = start + 1;
                let mut escaped = false;
                for (i, c) in chars.by_ref() {
                    end = i + c.len_utf8();
                    match c {
                        _ if escaped => escaped = false,
                        '\\' => escaped = true,
                        '"' => break,
                        _ => {}
                    }
                }
                let value: String = serde_json::from_str(&text[start..end]).ok()?;
                out.push_str(&serde_json::to_string(&value).ok()?);
            }
            c if c.is_ascii_whitespace() => {}
            c => out.push(c),
        }
    }
    Some(out.into_bytes())
}

/// The answer to eBay's endpoint challenge, or None when the request is not one.
pub fn answer_challenge(
    request: &HandshakeRequest,
    config: &Config,
    host: &dyn Host,
) -> Result<Option<HandshakeResponse>, Error> {
    let Some(code) = request
        .query
        .iter()
        .find(|(name, _)| name == "challenge_code")
        .map(|(_, value)| value)
    else {
        return Ok(None);
    };
    let token = api::secret(host, &config.verification_token)?;
    let body = serde_json::json!({ "challengeResponse": challenge_response(code, &token, &config.endpoint) });
    Ok(Some(HandshakeResponse {
        status: 200,
        content_type: "application/json".into(),
        body: body.to_string().into_bytes(),
    }))
}

/// hex(SHA-256(code ‖ verification token ‖ endpoint)).
pub fn challenge_response(code: &str, token: &str, endpoint: &str) -> String {
    let input = [code.as_bytes(), token.as_bytes(), endpoint.as_bytes()].concat();
    hex::encode(<sha2::Sha256 as sha2::Digest>::digest(&input))
}

/// A notification as eBay sends it.
#[derive(Debug, Deserialize)]
struct Envelope {
    metadata: Metadata,
    notification: Notification,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Metadata {
    topic: String,
    #[serde(default)]
    schema_version: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Notification {
    notification_id: String,
    #[serde(default)]
    event_date: Option<String>,
    #[serde(default)]
    data: serde_json::Value,
}

/// The items of a notification: the erasure of a deleted account, or the topic as a fact.
pub fn parse(body: &[u8]) -> Result<Vec<Item>, Error> {
    let envelope: Envelope = serde_json::from_slice(body).map_err(|e| {
        let what = if e.is_syntax() || e.is_eof() {
            "is not JSON"
        } else {
            "is not eBay's notification format"
        };
        refuse(format!("the body {what}: {e}"))
    })?;
    let Envelope { metadata, notification } = envelope;
    let at = match notification.event_date.as_deref() {
        Some(date) => Some(
            date.parse::<jiff::Timestamp>()
                .map_err(|e| refuse(format!("`eventDate` {date:?} is not an ISO 8601 time: {e}")))?
                .as_millisecond(),
        ),
        None => None,
    };
    if metadata.topic == ACCOUNT_DELETION {
        return Ok(vec![erasure(&notification, at)?]);
    }
    let kind = format!("ebay.{}", metadata.topic.to_lowercase());
    Ok(vec![Item::Fact {
        kind,
        at,
        payload: serde_json::json!({
            "channel": "ebay",
            "topic": metadata.topic,
            "schema_version": metadata.schema_version,
            "notification": notification.notification_id,
            "data": notification.data,
        }),
        id: Some(notification.notification_id),
    }])
}

/// `customer.erase` for a deleted eBay account: the user's id and name, as messages carry them.
fn erasure(notification: &Notification, at: Option<i64>) -> Result<Item, Error> {
    let field = |name: &str| {
        notification.data[name]
            .as_str()
            .map(str::trim)
            .filter(|v| !v.is_empty())
            .map(str::to_owned)
    };
    let (user_id, username) = (field("userId"), field("username"));
    if user_id.is_none() && username.is_none() {
        return Err(refuse(format!(
            "{ACCOUNT_DELETION} {} names neither `userId` nor `username`",
            notification.notification_id
        )));
    }
    let identities: Vec<serde_json::Value> = [user_id, username]
        .into_iter()
        .flatten()
        .map(|value| serde_json::json!({ "kind": "buyer-id", "value": value }))
        .collect();
    Ok(Item::Fact {
        kind: "customer.erase".into(),
        at,
        payload: serde_json::json!({
            "channel": "ebay",
            "identities": identities,
            "reason": "ebay marketplace account deletion",
            "request": notification.notification_id,
        }),
        id: Some(notification.notification_id.clone()),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use weft_sdk::HttpResponse;
    use weft_sdk::testing::TestHost;

    /// eBay's own test case: `eBay/event-notification-nodejs-sdk:test/test.json` (the same in
    /// the Go SDK), as CHANNELS.md records it.
    const SDK_HEADER: &str = "eyJhbGciOiJlY2RzYSIsImtpZCI6Ijk5MzYyNjFhLTdkN2ItNDYyMS1hMGYxLTk2Y2NiNDI4YWY0OSIsInNpZ25hdHVyZSI6Ik1FWUNJUUNmeGZJV3V4bVdjSUJRSjljNS9YN2lHREpxczJSQ0dzQkVhQWppbnlycmZBSWhBSVY2d0djVGlCdVY1S0pVaWYyaG9reXJMK1E5c3NIa2FkK214Mm5FRTI1dyIsImRpZ2VzdCI6IlNIQTEifQ==";
    const SDK_KID: &str = "9936261a-7d7b-4621-a0f1-96ccb428af49";
    const SDK_KEY: &str = "-----BEGIN PUBLIC KEY-----MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEZhhxXKtR+TOvtDbgTPCkSof02qgBB7IsYOyf76ilExJ/upAa/vKIKheOoCyOpcLmi4t0b4uepb7LLjmMr90FUg==-----END PUBLIC KEY-----";
    const SDK_BODY: &str = r#"{"metadata":{"topic":"MARKETPLACE_ACCOUNT_DELETION","schemaVersion":"1.0","deprecated":false},"notification":{"notificationId":"49feeaeb-4982-42d9-a377-9645b8479411_33f7e043-fed8-442b-9d44-791923bd9a6d","eventDate":"2021-03-19T20:43:59.462Z","publishDate":"2021-03-19T20:43:59.679Z","publishAttemptCount":1,"data":{"username":"test_user","userId":"ma8vp1jySJC","eiasToken":"nY+sHZ2PrBmdj6wVnY+sEZ2PrA2dj6wJnY+gAZGEpwmdj6x9nY+seQ=="}}}"#;

    fn config() -> Config {
        weft_sdk::testing::channel_config::<crate::Ebay>(serde_json::json!({
            "client_id": "id", "client_secret": "secret", "refresh_token": "refresh",
            "verification_token": "vt", "endpoint": "https://example.com/ebay/notifications", "seller": "laden",
        }))
        .unwrap()
    }

    fn host() -> TestHost {
        TestHost::new()
            .with_secret("id", "client")
            .with_secret("secret", "cert")
            .with_secret("vt", "weft_test_verification_token_0123456789")
            .respond(
                "POST",
                "https://api.ebay.com/identity/v1/oauth2/token",
                HttpResponse::new(200).with_json(&serde_json::json!({"access_token": "app", "expires_in": 7200, "token_type": "Application Access Token"})),
            )
            .respond(
                "GET",
                &format!("https://api.ebay.com/commerce/notification/v1/public_key/{SDK_KID}"),
                HttpResponse::new(200).with_json(&serde_json::json!({"algorithm": "ECDSA", "digest": "SHA1", "key": SDK_KEY})),
            )
    }

    fn inbound(body: &[u8], header: Option<&str>) -> Inbound {
        Inbound {
            source: "/hooks/ebay".into(),
            hook: Some("ebay".into()),
            headers: header
                .map(|h| vec![(HEADER.to_owned(), h.to_owned())])
                .unwrap_or_default(),
            body: body.to_vec(),
            ..Inbound::default()
        }
    }

    #[test]
    fn the_sdk_vector_verifies_and_its_key_is_cached() {
        let host = host();
        let config = config();
        verify(&inbound(SDK_BODY.as_bytes(), Some(SDK_HEADER)), &config, &host).unwrap();
        verify(&inbound(SDK_BODY.as_bytes(), Some(SDK_HEADER)), &config, &host).unwrap();
        let fetched: Vec<String> = host
            .requests()
            .iter()
            .map(|r| format!("{} {}", r.method, r.url))
            .collect();
        assert_eq!(fetched.len(), 2, "one token, one key: {fetched:?}");
        let key_request = &host.requests()[1];
        assert_eq!(key_request.header("authorization"), Some("Bearer app"));
        // Pretty-printed, it verifies through its compact form.
        let pretty = serde_json::to_vec_pretty(&serde_json::from_str::<serde_json::Value>(SDK_BODY).unwrap()).unwrap();
        assert!(compact(&pretty).is_some());
        let spaced = SDK_BODY.replace(",\"", ", \"").replace("\":", "\": ");
        verify(&inbound(spaced.as_bytes(), Some(SDK_HEADER)), &config, &host).unwrap();
    }

    #[test]
    fn bad_signatures_are_refused_naming_ebay_and_what_was_wrong() {
        let host = host();
        let config = config();
        let tampered = SDK_BODY.replace("test_user", "test_usex");
        let other_digest = base64::engine::general_purpose::STANDARD.encode(
            String::from_utf8(base64::engine::general_purpose::STANDARD.decode(SDK_HEADER).unwrap())
                .unwrap()
                .replace("SHA1", "SHA256"),
        );
        let cases: [(&[u8], Option<&str>, &str); 5] = [
            (
                tampered.as_bytes(),
                Some(SDK_HEADER),
                "signature does not match the body (key 9936261a",
            ),
            (SDK_BODY.as_bytes(), None, "the X-EBAY-SIGNATURE header is missing"),
            (
                SDK_BODY.as_bytes(),
                Some("kein base64!"),
                "the X-EBAY-SIGNATURE header is not base64",
            ),
            (SDK_BODY.as_bytes(), Some("e30="), "is not eBay's signature JSON"),
            (SDK_BODY.as_bytes(), Some(&other_digest), "digest is `SHA256`, not SHA1"),
        ];
        for (body, header, expected) in cases {
            let error = verify(&inbound(body, header), &config, &host).unwrap_err();
            let Error::Permanent(reason) = &error else {
                panic!("{error:?}")
            };
            assert!(
                reason.starts_with("ebay notification: ") && reason.contains(expected),
                "{reason}"
            );
        }
    }

    #[test]
    fn the_challenge_vector() {
        assert_eq!(
            challenge_response(
                "71745723-d031-455c-bfa5-f90d11b4f20a",
                "weft_test_verification_token_0123456789",
                "https://example.com/ebay/notifications"
            ),
            "b98bf5b352f960ed5efebc27dbbcc48cdccd1cdeae5b06f9a5f8ea8ec932a520"
        );
        let request = HandshakeRequest {
            hook: "ebay".into(),
            query: vec![("challenge_code".into(), "71745723-d031-455c-bfa5-f90d11b4f20a".into())],
            headers: Vec::new(),
            target: "/hooks/ebay?challenge_code=71745723-d031-455c-bfa5-f90d11b4f20a".into(),
        };
        let answer = answer_challenge(&request, &config(), &host()).unwrap().unwrap();
        assert_eq!(answer.status, 200);
        assert_eq!(
            String::from_utf8(answer.body).unwrap(),
            r#"{"challengeResponse":"b98bf5b352f960ed5efebc27dbbcc48cdccd1cdeae5b06f9a5f8ea8ec932a520"}"#
        );
    }

    #[test]
    fn compact_keeps_order_escapes_and_text() {
        let body = "{ \"z\" : 1,\n  \"a\": [ true, null, 1.50 ],\t\"t\": \"Grüße \\u00e9 \\\"x\\\" 配達 مرحبا\" }";
        assert_eq!(
            String::from_utf8(compact(body.as_bytes()).unwrap()).unwrap(),
            "{\"z\":1,\"a\":[true,null,1.50],\"t\":\"Grüße é \\\"x\\\" 配達 مرحبا\"}"
        );
        assert_eq!(compact(b"{\"a\": "), None);
    }

    #[test]
    fn topics_become_facts() {
        let items = parse(SDK_BODY.as_bytes()).unwrap();
        let Item::Fact { kind, at, payload, .. } = &items[0] else {
            panic!("{items:?}")
        };
        assert_eq!(kind, "customer.erase");
        assert_eq!(*at, Some(1_616_186_639_462));
        assert_eq!(
            *payload,
            serde_json::json!({"channel": "ebay", "identities": [{"kind": "buyer-id", "value": "ma8vp1jySJC"}, {"kind": "buyer-id", "value": "test_user"}],
                "reason": "ebay marketplace account deletion", "request": "49feeaeb-4982-42d9-a377-9645b8479411_33f7e043-fed8-442b-9d44-791923bd9a6d"})
        );
        let revoked = r#"{"metadata":{"topic":"AUTHORIZATION_REVOCATION","schemaVersion":"1.0","deprecated":false},"notification":{"notificationId":"n-2","eventDate":"2026-11-20T10:00:00.000Z","publishDate":"2026-11-20T10:00:01.000Z","publishAttemptCount":1,"data":{"username":"händler"}}}"#;
        let items = parse(revoked.as_bytes()).unwrap();
        let Item::Fact { kind, payload, .. } = &items[0] else {
            panic!("{items:?}")
        };
        assert_eq!(kind, "ebay.authorization_revocation");
        assert_eq!(payload["data"]["username"], "händler");
        for (body, expected) in [
            (&b"nicht json"[..], "the body is not JSON"),
            (br#"{"metadata":{}}"#, "is not eBay's notification format"),
            (
                br#"{"metadata":{"topic":"MARKETPLACE_ACCOUNT_DELETION"},"notification":{"notificationId":"n","data":{}}}"#,
                "names neither `userId` nor `username`",
            ),
        ] {
            let error = parse(body).unwrap_err();
            assert!(error.message().contains(expected) && error.message().starts_with("ebay notification"), "{error}");
        }
    }
}
