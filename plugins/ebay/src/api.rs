//! Calls to eBay's REST APIs: OAuth access tokens (the application token and the seller's
//! user token), kept in the mount's cache until shortly before they expire, and what eBay's
//! answers mean (its error format, 429 with `Retry-After`, 5xx).
//!
//! Both tokens come from `POST {api}/identity/v1/oauth2/token` with the keyset as Basic auth:
//! the application token by the client-credentials grant (scope `api_scope`), the user token by
//! exchanging the seller's refresh token (`grant_type=refresh_token`). A call answered 401 gets
//! a fresh token once and is tried again: a token can be revoked before it expires.

use crate::config::{APP_SCOPE, Config};
use base64::Engine as _;
use serde::Deserialize;
use std::time::Duration;
use weft_sdk::{Error, Host, HttpRequest, HttpResponse};

/// How long before eBay's `expires_in` a cached token is no longer used: a call that starts
/// just before expiry must not arrive just after it.
const EXPIRY_MARGIN: Duration = Duration::from_secs(5 * 60);

/// Which token a call needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Token {
    /// The application token (client-credentials grant): the Notification API's public keys.
    App,
    /// The seller's user token (refresh-token grant): the Commerce Message API.
    User,
}

impl Token {
    fn cache_key(self, client_id: &str) -> String {
        match self {
            Token::App => format!("oauth:app:{client_id}"),
            Token::User => format!("oauth:user:{client_id}"),
        }
    }

    fn what(self) -> &'static str {
        match self {
            Token::App => "the application token (client credentials)",
            Token::User => "the seller's user token (refresh token)",
        }
    }
}

/// A secret granted to the mount; a missing one is the configuration's fault.
pub fn secret(host: &dyn Host, name: &str) -> Result<String, Error> {
    host.secret(name).map_err(|e| Error::bad_config(format!("ebay: {e}")))
}

/// An access token of `kind`: from the mount's cache, or fetched (and cached) when there is
/// none or `fresh` asks for a new one.
pub fn access_token(kind: Token, config: &Config, host: &dyn Host, fresh: bool) -> Result<String, Error> {
    let client_id = secret(host, &config.client_id)?;
    let key = kind.cache_key(&client_id);
    if !fresh && let Some(token) = host.cache_get(&key).and_then(|bytes| String::from_utf8(bytes).ok()) {
        return Ok(token);
    }
    let client_secret = secret(host, &config.client_secret)?;
    let mut form = form_urlencoded::Serializer::new(String::new());
    match kind {
        Token::App => {
            form.append_pair("grant_type", "client_credentials");
            form.append_pair("scope", APP_SCOPE);
        }
        Token::User => {
            let refresh = secret(host, &config.refresh_token)?;
            form.append_pair("grant_type", "refresh_token");
            form.append_pair("refresh_token", &refresh);
            form.append_pair("scope", &config.user_scopes.join(" "));
        }
    }
    let basic = base64::engine::general_purpose::STANDARD.encode(format!("{client_id}:{client_secret}"));
    let request = HttpRequest::new("POST", config.token_url())
        .with_header("Content-Type", "application/x-www-form-urlencoded")
        .with_header("Authorization", format!("Basic {basic}"))
        .with_body(form.finish());
    let what = format!("getting {}", kind.what());
    let response = host
        .fetch(&request)
        .map_err(|e| Error::retryable(format!("ebay: {what}: no answer: {e}")))?;
    if !response.is_success() {
        return Err(oauth_error(&what, &response));
    }
    #[derive(Deserialize)]
    struct Granted {
        access_token: String,
        expires_in: u64,
    }
    let granted: Granted = serde_json::from_slice(&response.body)
        .map_err(|e| Error::permanent(format!("ebay: {what}: the answer is not eBay's token format: {e}")))?;
    let ttl = Duration::from_secs(granted.expires_in).saturating_sub(EXPIRY_MARGIN);
    host.cache_set(&key, granted.access_token.as_bytes(), ttl);
    Ok(granted.access_token)
}

/// Sends `request` with a `kind` token; on 401 once more with a fresh one. The answer, whatever
/// its status; `Err` only when none came (retryable: nothing reached eBay, or eBay's answer was
/// lost) or no token could be had.
pub fn call(
    kind: Token,
    config: &Config,
    host: &dyn Host,
    request: &HttpRequest,
    what: &str,
) -> Result<HttpResponse, Error> {
    let mut fresh = false;
    loop {
        let token = access_token(kind, config, host, fresh)?;
        let mut sent = request.clone();
        sent.headers.push(("Authorization".into(), format!("Bearer {token}")));
        let response = host
            .fetch(&sent)
            .map_err(|e| Error::retryable(format!("ebay: {what}: no answer: {e}")))?;
        if response.status == 401 && !fresh {
            fresh = true;
            continue;
        }
        return Ok(response);
    }
}

/// What an answer that is not a success means, in eBay's own words: 429 (with its
/// `Retry-After`) and 5xx are worth another try, any other 4xx is not. The message names eBay,
/// what was tried, the status and each of eBay's errors (`errorId`, `domain`, `category`,
/// `message`).
pub fn api_error(what: &str, response: &HttpResponse) -> Error {
    response.error_in_words(&format!("ebay: {what}"), ebay_errors(&response.body))
}

/// The same for the OAuth endpoint, whose errors are OAuth's (`{"error", "error_description"}`).
fn oauth_error(what: &str, response: &HttpResponse) -> Error {
    let words = weft_sdk::http::oauth_error_words(&response.body).or_else(|| ebay_errors(&response.body));
    response.error_in_words(&format!("ebay: {what}"), words)
}

/// eBay's error list, `{"errors": [{"errorId", "domain", "category", "message", ...}]}`, as
/// text: `error 1100 (API_MESSAGE/REQUEST): Access denied; ...`.
fn ebay_errors(body: &[u8]) -> Option<String> {
    #[derive(Deserialize)]
    struct Errors {
        errors: Vec<EbayError>,
    }
    #[derive(Deserialize)]
    #[serde(rename_all = "camelCase")]
    struct EbayError {
        #[serde(default)]
        error_id: Option<u64>,
        #[serde(default)]
        domain: Option<String>,
        #[serde(default)]
        category: Option<String>,
        #[serde(default)]
        message: Option<String>,
        #[serde(default)]
        long_message: Option<String>,
    }
    let errors: Errors = serde_json::from_slice(body).ok()?;
    if errors.errors.is_empty() {
        return None;
    }
    let parts: Vec<String> = errors
        .errors
        .iter()
        .map(|e| {
            let mut part = String::from("error");
            if let Some(id) = e.error_id {
                part.push_str(&format!(" {id}"));
            }
            let place: Vec<&str> = [e.domain.as_deref(), e.category.as_deref()]
                .into_iter()
                .flatten()
                .collect();
            if !place.is_empty() {
                part.push_str(&format!(" ({})", place.join("/")));
            }
            if let Some(text) = e.long_message.as_deref().or(e.message.as_deref()) {
                part.push_str(": ");
                part.push_str(text);
            }
            part
        })
        .collect();
    Some(parts.join("; "))
}

#[cfg(test)]
mod tests {
    use super::*;
    use weft_sdk::testing::TestHost;

    fn config() -> Config {
        weft_sdk::testing::channel_config::<crate::Ebay>(serde_json::json!({
            "api_url": "https://api.sandbox.ebay.com",
            "client_id": "id", "client_secret": "secret", "refresh_token": "refresh",
            "verification_token": "vt", "endpoint": "https://weft.example.com/hooks/ebay", "seller": "laden",
        }))
        .unwrap()
    }

    fn host() -> TestHost {
        TestHost::new()
            .with_secret("id", "App-ID-Ä")
            .with_secret("secret", "Cert-ID")
            .with_secret("refresh", "v^1.1#i^1#r^1#p^3")
    }

    const TOKEN_URL: &str = "https://api.sandbox.ebay.com/identity/v1/oauth2/token";

    #[test]
    fn tokens_are_asked_for_with_basic_auth_and_cached() {
        let host = host().respond(
            "POST",
            TOKEN_URL,
            HttpResponse::new(200).with_json(
                &serde_json::json!({"access_token": "v^1.1#user", "expires_in": 7200, "refresh_token_expires_in": 47304000, "token_type": "User Access Token"}),
            ),
        );
        let config = config();
        assert_eq!(access_token(Token::User, &config, &host, false).unwrap(), "v^1.1#user");
        assert_eq!(access_token(Token::User, &config, &host, false).unwrap(), "v^1.1#user");
        let requests = host.requests();
        assert_eq!(requests.len(), 1, "the second came from the cache");
        let expected = base64::engine::general_purpose::STANDARD.encode("App-ID-Ä:Cert-ID");
        assert_eq!(
            requests[0].header("authorization"),
            Some(format!("Basic {expected}").as_str())
        );
        let form: Vec<(String, String)> = form_urlencoded::parse(&requests[0].body).into_owned().collect();
        assert_eq!(
            form,
            [
                ("grant_type".into(), "refresh_token".into()),
                ("refresh_token".into(), "v^1.1#i^1#r^1#p^3".into()),
                ("scope".into(), crate::config::MESSAGE_SCOPE.into()),
            ]
        );
        let cached = host.cache.lock().unwrap();
        let (_, ttl) = &cached["oauth:user:App-ID-Ä"];
        assert_eq!(
            *ttl,
            Duration::from_secs(7200 - 300),
            "kept until shortly before expiry"
        );
    }

    #[test]
    fn errors_in_ebays_words() {
        let cases: Vec<(HttpResponse, Error)> = vec![
            (
                HttpResponse::new(400).with_json(&serde_json::json!({"errors": [{"errorId": 355001, "domain": "API_MESSAGE", "category": "REQUEST", "message": "Conversation nicht gefunden — 会話が見つかりません"}]})),
                Error::permanent("ebay: sending: HTTP 400: error 355001 (API_MESSAGE/REQUEST): Conversation nicht gefunden — 会話が見つかりません"),
            ),
            (
                HttpResponse::new(429).with_header("Retry-After", "7").with_json(&serde_json::json!({"errors": [{"errorId": 2001, "domain": "ACCESS", "category": "REQUEST", "message": "Too many requests"}]})),
                Error::retry_later(Duration::from_secs(7), "ebay: sending: HTTP 429, retry after 7s: error 2001 (ACCESS/REQUEST): Too many requests"),
            ),
            (
                HttpResponse::new(503).with_body("<html>Wartung</html>"),
                Error::retryable("ebay: sending: HTTP 503: <html>Wartung</html>"),
            ),
        ];
        for (response, expected) in cases {
            assert_eq!(api_error("sending", &response), expected);
        }
        let refused = HttpResponse::new(400).with_json(&serde_json::json!({"error": "invalid_grant", "error_description": "the provided authorization refresh token is invalid or was issued to another client"}));
        assert_eq!(
            oauth_error("getting the token", &refused),
            Error::permanent(
                "ebay: getting the token: HTTP 400: invalid_grant (the provided authorization refresh token is invalid or was issued to another client)"
            )
        );
    }

    #[test]
    fn a_401_gets_one_fresh_token() {
        let url = "https://api.sandbox.ebay.com/commerce/message/v1/conversation";
        let host = host()
            .respond(
                "POST",
                TOKEN_URL,
                HttpResponse::new(200).with_json(&serde_json::json!({"access_token": "alt", "expires_in": 7200})),
            )
            .respond(
                "POST",
                TOKEN_URL,
                HttpResponse::new(200).with_json(&serde_json::json!({"access_token": "neu", "expires_in": 7200})),
            )
            .respond("GET", url, HttpResponse::new(401))
            .respond("GET", url, HttpResponse::new(200).with_body("{}"));
        let config = config();
        let response = call(Token::User, &config, &host, &HttpRequest::new("GET", url), "reading").unwrap();
        assert_eq!(response.status, 200);
        let auth: Vec<Option<String>> = host
            .requests()
            .iter()
            .filter(|r| r.method == "GET")
            .map(|r| r.header("authorization").map(str::to_owned))
            .collect();
        assert_eq!(auth, [Some("Bearer alt".into()), Some("Bearer neu".into())]);
    }
}
