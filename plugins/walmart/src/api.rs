//! Calls to Walmart's Marketplace API: the access token, kept in the mount's cache until
//! shortly before it expires; the headers every call carries; and what Walmart's answers mean
//! (its error list, 429 with `Retry-After`, 5xx).
//!
//! **Token.** `POST {api}/v3/token`, form `grant_type=client_credentials`, the API key as
//! `Authorization: Basic base64(clientId:clientSecret)`, answered (with `Accept:
//! application/json`) `{"access_token", "token_type": "Bearer", "expires_in": 900}`. A call
//! answered 401 gets a fresh token once and is tried again: a token can be revoked before it
//! expires.
//!
//! **Headers** on every call, the token request too: `WM_SVC.NAME`, `WM_QOS.CORRELATION_ID`
//! (a new UUID each call, as Walmart asks, so its support can find the call), `Accept:
//! application/json` (Walmart answers XML otherwise) and, for Solution Providers,
//! `WM_CONSUMER.CHANNEL.TYPE`; on API calls `WM_SEC.ACCESS_TOKEN`.

use crate::config::Config;
use base64::Engine as _;
use serde::Deserialize;
use std::time::Duration;
use weft_sdk::{Error, Host, HttpRequest, HttpResponse};

/// How long before Walmart's `expires_in` a cached token is no longer used: a call that
/// starts just before expiry must not arrive just after it.
const EXPIRY_MARGIN: Duration = Duration::from_secs(60);
/// The header that carries the access token.
pub const ACCESS_TOKEN: &str = "WM_SEC.ACCESS_TOKEN";
/// The header with a new UUID per call.
pub const CORRELATION_ID: &str = "WM_QOS.CORRELATION_ID";
/// The header naming the service.
pub const SERVICE_NAME: &str = "WM_SVC.NAME";
/// The header of a Solution Provider's channel type.
pub const CHANNEL_TYPE: &str = "WM_CONSUMER.CHANNEL.TYPE";

/// A secret granted to the mount; a missing one is the configuration's fault.
pub fn secret(host: &dyn Host, name: &str) -> Result<String, Error> {
    host.secret(name)
        .map_err(|e| Error::bad_config(format!("walmart: {e}")))
}

/// `request` with the headers every Walmart call carries.
fn with_walmart_headers(request: HttpRequest, config: &Config) -> HttpRequest {
    let mut request = request
        .with_header(SERVICE_NAME, config.service_name.trim())
        .with_header(CORRELATION_ID, uuid::Uuid::new_v4().to_string())
        .with_header("Accept", "application/json");
    if let Some(channel_type) = config.channel_type.as_deref().map(str::trim).filter(|c| !c.is_empty()) {
        request = request.with_header(CHANNEL_TYPE, channel_type);
    }
    request
}

/// The access token: from the mount's cache, or fetched (and cached) when there is none or
/// `fresh` asks for a new one.
pub fn access_token(config: &Config, host: &dyn Host, fresh: bool) -> Result<String, Error> {
    let client_id = secret(host, &config.client_id)?;
    let key = format!("token:{client_id}");
    if !fresh && let Some(token) = host.cache_get(&key).and_then(|bytes| String::from_utf8(bytes).ok()) {
        return Ok(token);
    }
    let client_secret = secret(host, &config.client_secret)?;
    let basic = base64::engine::general_purpose::STANDARD.encode(format!("{client_id}:{client_secret}"));
    let form = form_urlencoded::Serializer::new(String::new())
        .append_pair("grant_type", "client_credentials")
        .finish();
    let request = with_walmart_headers(HttpRequest::new("POST", config.token_url()), config)
        .with_header("Content-Type", "application/x-www-form-urlencoded")
        .with_header("Authorization", format!("Basic {basic}"))
        .with_body(form);
    let what = "getting an access token";
    let response = host
        .fetch(&request)
        .map_err(|e| Error::retryable(format!("walmart: {what}: no answer: {e}")))?;
    if !response.is_success() {
        return Err(api_error(what, &response));
    }
    #[derive(Deserialize)]
    struct Granted {
        access_token: String,
        expires_in: u64,
    }
    let granted: Granted = serde_json::from_slice(&response.body).map_err(|e| {
        Error::permanent(format!(
            "walmart: {what}: the answer is not Walmart's token format: {e}"
        ))
    })?;
    let ttl = Duration::from_secs(granted.expires_in).saturating_sub(EXPIRY_MARGIN);
    host.cache_set(&key, granted.access_token.as_bytes(), ttl);
    Ok(granted.access_token)
}

/// A `GET` of `url` with the token and Walmart's headers; on 401 once more with a fresh
/// token. The answer, whatever its status; `Err` only when none came (retryable) or no token
/// could be had.
pub fn get(config: &Config, host: &dyn Host, url: &str, what: &str) -> Result<HttpResponse, Error> {
    let mut fresh = false;
    loop {
        let token = access_token(config, host, fresh)?;
        let request = with_walmart_headers(HttpRequest::new("GET", url), config).with_header(ACCESS_TOKEN, token);
        let response = host
            .fetch(&request)
            .map_err(|e| Error::retryable(format!("walmart: {what}: no answer: {e}")))?;
        if response.status == 401 && !fresh {
            fresh = true;
            continue;
        }
        return Ok(response);
    }
}

/// What an answer that is not a success means, in Walmart's own words: 429 (waiting at least
/// its `Retry-After`) and 5xx are worth another try, any other 4xx is not. The message names
/// Walmart, what was tried, the status and each of Walmart's errors (`code`, `field`,
/// `description`).
pub fn api_error(what: &str, response: &HttpResponse) -> Error {
    response.error_in_words(&format!("walmart: {what}"), walmart_errors(&response.body))
}

/// Walmart's error list as text: `INVALID_REQUEST_PARAM.GMP_ORDER_API (createdStartDate):
/// ...; ...`. Walmart writes it `{"errors": [...]}`, in some APIs `{"error": [...]}`, and the
/// token endpoint `{"error": "...", "error_description": "..."}`.
fn walmart_errors(body: &[u8]) -> Option<String> {
    #[derive(Deserialize)]
    struct Errors {
        #[serde(default, alias = "error")]
        errors: ErrorList,
        #[serde(default)]
        error_description: Option<String>,
    }
    #[derive(Deserialize, Default)]
    #[serde(untagged)]
    enum ErrorList {
        List(Vec<WalmartError>),
        Code(String),
        #[default]
        None,
    }
    #[derive(Deserialize)]
    struct WalmartError {
        #[serde(default)]
        code: Option<String>,
        #[serde(default)]
        field: Option<String>,
        #[serde(default)]
        description: Option<String>,
        #[serde(default)]
        info: Option<String>,
    }
    let errors: Errors = serde_json::from_slice(body).ok()?;
    let parts: Vec<String> = match errors.errors {
        ErrorList::List(list) => list
            .iter()
            .map(|e| {
                let mut part = e.code.clone().unwrap_or_else(|| "error".to_owned());
                if let Some(field) = e.field.as_deref().filter(|f| !f.is_empty()) {
                    part.push_str(&format!(" ({field})"));
                }
                if let Some(text) = e.description.as_deref().or(e.info.as_deref()) {
                    part.push_str(": ");
                    part.push_str(text);
                }
                part
            })
            .collect(),
        ErrorList::Code(code) => vec![match errors.error_description {
            Some(description) => format!("{code} ({description})"),
            None => code,
        }],
        ErrorList::None => Vec::new(),
    };
    (!parts.is_empty()).then(|| parts.join("; "))
}

#[cfg(test)]
mod tests {
    use super::*;
    use weft_sdk::testing::TestHost;

    fn config(channel_type: Option<&str>) -> Config {
        weft_sdk::testing::channel_config::<crate::Walmart>(serde_json::json!({
            "api_url": "https://sandbox.walmartapis.com/",
            "client_id": "id", "client_secret": "secret", "channel_type": channel_type,
        }))
        .unwrap()
    }

    fn host() -> TestHost {
        TestHost::new()
            .with_secret("id", "0f1e2d3c-Kundennummer-Ü")
            .with_secret("secret", "ABCD-geheim")
    }

    const TOKEN_URL: &str = "https://sandbox.walmartapis.com/v3/token";

    #[test]
    fn the_token_is_asked_for_with_basic_auth_and_walmarts_headers_and_cached() {
        let host = host().respond(
            "POST",
            TOKEN_URL,
            HttpResponse::new(200).with_json(
                &serde_json::json!({"access_token": "eyJraWQi.1", "token_type": "Bearer", "expires_in": 900}),
            ),
        );
        let config = config(Some("0f3e4dd4-0514-4346-b39d-af0e00ea8ab5"));
        assert_eq!(access_token(&config, &host, false).unwrap(), "eyJraWQi.1");
        assert_eq!(access_token(&config, &host, false).unwrap(), "eyJraWQi.1");
        let requests = host.requests();
        assert_eq!(requests.len(), 1, "the second came from the cache");
        let request = &requests[0];
        let basic = base64::engine::general_purpose::STANDARD.encode("0f1e2d3c-Kundennummer-Ü:ABCD-geheim");
        assert_eq!(request.header("authorization"), Some(format!("Basic {basic}").as_str()));
        assert_eq!(request.body, b"grant_type=client_credentials");
        assert_eq!(request.header("wm_svc.name"), Some("Walmart Marketplace"));
        assert_eq!(request.header("accept"), Some("application/json"));
        assert_eq!(
            request.header("wm_consumer.channel.type"),
            Some("0f3e4dd4-0514-4346-b39d-af0e00ea8ab5")
        );
        let correlation = request.header("wm_qos.correlation_id").unwrap();
        assert!(uuid::Uuid::parse_str(correlation).is_ok(), "{correlation}");
        let cached = host.cache.lock().unwrap();
        let (_, ttl) = &cached["token:0f1e2d3c-Kundennummer-Ü"];
        assert_eq!(*ttl, Duration::from_secs(900 - 60), "kept until shortly before expiry");
    }

    #[test]
    fn a_401_gets_one_fresh_token_and_every_call_a_new_correlation_id() {
        let url = "https://sandbox.walmartapis.com/v3/orders?limit=1";
        let token =
            |t: &str| HttpResponse::new(200).with_json(&serde_json::json!({"access_token": t, "expires_in": 900}));
        let host = host()
            .respond("POST", TOKEN_URL, token("alt"))
            .respond("POST", TOKEN_URL, token("neu"))
            .respond("GET", url, HttpResponse::new(401))
            .respond("GET", url, HttpResponse::new(200).with_body("{}"));
        let response = get(&config(None), &host, url, "listing orders").unwrap();
        assert_eq!(response.status, 200);
        let calls: Vec<_> = host.requests().into_iter().filter(|r| r.method == "GET").collect();
        let tokens: Vec<Option<&str>> = calls.iter().map(|r| r.header("wm_sec.access_token")).collect();
        assert_eq!(tokens, [Some("alt"), Some("neu")]);
        assert_ne!(
            calls[0].header("wm_qos.correlation_id"),
            calls[1].header("wm_qos.correlation_id")
        );
        assert!(calls.iter().all(|r| r.header("wm_consumer.channel.type").is_none()));
    }

    #[test]
    fn errors_in_walmarts_words() {
        let cases: Vec<(HttpResponse, Error)> = vec![
            (
                HttpResponse::new(400).with_json(&serde_json::json!({"errors": [{"code": "INVALID_REQUEST_PARAM.GMP_ORDER_API", "field": "createdStartDate", "description": "createdStartDate darf nicht in der Zukunft liegen — 日付が不正です", "info": "Request invalid", "severity": "ERROR", "category": "DATA", "causes": [], "errorIdentifiers": {}}]})),
                Error::permanent("walmart: listing orders: HTTP 400: INVALID_REQUEST_PARAM.GMP_ORDER_API (createdStartDate): createdStartDate darf nicht in der Zukunft liegen — 日付が不正です"),
            ),
            (
                HttpResponse::new(429).with_header("Retry-After", "3").with_json(&serde_json::json!({"errors": [{"code": "TOO_MANY_REQUESTS", "description": "Request limit exceeded"}]})),
                Error::retry_later(Duration::from_secs(3), "walmart: listing orders: HTTP 429, retry after 3s: TOO_MANY_REQUESTS: Request limit exceeded"),
            ),
            (
                HttpResponse::new(503).with_body("<html>Service Unavailable</html>"),
                Error::retryable("walmart: listing orders: HTTP 503: <html>Service Unavailable</html>"),
            ),
            (
                HttpResponse::new(401).with_json(&serde_json::json!({"error": [{"code": "UNAUTHORIZED.GMP_GATEWAY_API", "description": "Unauthorized"}]})),
                Error::permanent("walmart: listing orders: HTTP 401: UNAUTHORIZED.GMP_GATEWAY_API: Unauthorized"),
            ),
            (
                HttpResponse::new(400).with_json(&serde_json::json!({"error": "invalid_client", "error_description": "client authentication failed"})),
                Error::permanent("walmart: listing orders: HTTP 400: invalid_client (client authentication failed)"),
            ),
        ];
        for (response, expected) in cases {
            assert_eq!(api_error("listing orders", &response), expected);
        }
    }
}
