//! The Selling Partner API's Messaging API, with Login with Amazon (LWA) access tokens: which
//! messages the seller may send the buyer of an order now, and sending one of them.
//!
//! **Tokens.** `POST {lwa_url}` with the form `grant_type=refresh_token`, the refresh token and
//! the app's client id and secret answers `{"access_token": "Atza|…", "expires_in": 3600}`.
//! The token is kept in the mount's cache until five minutes before it expires; a call answered
//! 401 or 403 with `Unauthorized` gets a fresh token once and is tried again (a token can be
//! revoked before it expires). Every call carries it as `x-amz-access-token`.
//!
//! **Actions.** `GET /messaging/v1/orders/{amazonOrderId}?marketplaceIds=…` answers HAL:
//! `_links.actions[]` (`{"href": "/messaging/v1/orders/…/messages/confirmDeliveryDetails?…",
//! "name": "confirmDeliveryDetails"}`) lists what may be sent now; anything else is refused by
//! Amazon, so it is refused here first, naming what is permitted.
//!
//! **Sending.** An outbound on an Amazon mount names the order in `to` (its number,
//! `302-1234567-7654321`) and the action in `subject` (`confirmDeliveryDetails`); the body is
//! the message's `text`. `POST /messaging/v1/orders/{id}/messages/{action}?marketplaceIds=…`
//! with `{"text": …}` (`negativeFeedbackRemoval` takes no body). Actions that need an uploaded
//! document (`legalDisclosure`, `invoice`, `warranty`, `amazonMotors`) are refused: weft does
//! not upload documents (the Uploads API).
//!
//! **Answers.** 429 (with its `Retry-After`, when sent) and 5xx are worth another try; any
//! other 4xx is permanent, in Amazon's own words (`errors[].code`, `message`, `details`). A
//! message whose answer was lost is not sent again by itself: Amazon takes no idempotency key.

use crate::config::{SpApiConfig, encode};
use serde::Deserialize;
use std::time::Duration;
use weft_sdk::{Delivery, Error, Host, HttpRequest, HttpResponse, Outbound};

/// How long before LWA's `expires_in` a cached token is no longer used.
const EXPIRY_MARGIN: Duration = Duration::from_secs(5 * 60);

/// Actions whose request is `{"text": …}` (attachments optional or none).
pub const TEXT_ACTIONS: &[&str] = &[
    "confirmCustomizationDetails",
    "confirmDeliveryDetails",
    "confirmOrderDetails",
    "confirmServiceDetails",
    "unexpectedProblem",
    "digitalAccessKey",
];
/// Actions with no body.
pub const BARE_ACTIONS: &[&str] = &["negativeFeedbackRemoval"];
/// Actions that need a document uploaded through the Uploads API.
pub const DOCUMENT_ACTIONS: &[&str] = &["legalDisclosure", "invoice", "warranty", "amazonMotors"];

fn secret(host: &dyn Host, name: &str) -> Result<String, Error> {
    host.secret(name).map_err(|e| Error::bad_config(format!("amazon: {e}")))
}

/// An LWA access token: from the mount's cache, or exchanged for the refresh token (and cached)
/// when there is none or `fresh` asks for a new one.
pub fn access_token(config: &SpApiConfig, host: &dyn Host, fresh: bool) -> Result<String, Error> {
    let client_id = secret(host, &config.client_id)?;
    let key = format!("lwa:{client_id}");
    if !fresh && let Some(token) = host.cache_get(&key).and_then(|bytes| String::from_utf8(bytes).ok()) {
        return Ok(token);
    }
    let refresh_token = secret(host, &config.refresh_token)?;
    let client_secret = secret(host, &config.client_secret)?;
    let form = form_urlencoded::Serializer::new(String::new())
        .append_pair("grant_type", "refresh_token")
        .append_pair("refresh_token", &refresh_token)
        .append_pair("client_id", &client_id)
        .append_pair("client_secret", &client_secret)
        .finish();
    let request = HttpRequest::new("POST", config.lwa_url.trim())
        .with_header("Content-Type", "application/x-www-form-urlencoded;charset=UTF-8")
        .with_body(form);
    let what = "getting an LWA access token";
    let response = host
        .fetch(&request)
        .map_err(|e| Error::retryable(format!("amazon: {what}: no answer: {e}")))?;
    if !response.is_success() {
        return Err(lwa_error(what, &response));
    }
    #[derive(Deserialize)]
    struct Granted {
        access_token: String,
        expires_in: u64,
    }
    let granted: Granted = serde_json::from_slice(&response.body)
        .map_err(|e| Error::permanent(format!("amazon: {what}: the answer is not LWA's token format: {e}")))?;
    let ttl = Duration::from_secs(granted.expires_in).saturating_sub(EXPIRY_MARGIN);
    host.cache_set(&key, granted.access_token.as_bytes(), ttl);
    Ok(granted.access_token)
}

/// Sends `request` with an LWA token; once more with a fresh one when it is refused as
/// unauthorized. The answer, whatever its status.
pub fn call(config: &SpApiConfig, host: &dyn Host, request: &HttpRequest, what: &str) -> Result<HttpResponse, Error> {
    let mut fresh = false;
    loop {
        let token = access_token(config, host, fresh)?;
        let mut sent = request.clone();
        sent.headers.push(("x-amz-access-token".into(), token));
        let response = host
            .fetch(&sent)
            .map_err(|e| Error::retryable(format!("amazon: {what}: no answer: {e}")))?;
        let unauthorized = response.status == 401
            || (response.status == 403 && sp_api_errors(&response.body).is_some_and(|e| e.contains("Unauthorized")));
        if unauthorized && !fresh {
            fresh = true;
            continue;
        }
        return Ok(response);
    }
}

/// The actions Amazon permits now for the order, by name.
pub fn permitted_actions(config: &SpApiConfig, host: &dyn Host, order: &str) -> Result<Vec<String>, Error> {
    let url = format!(
        "{}/messaging/v1/orders/{}?marketplaceIds={}",
        config.api(),
        encode(order),
        encode(&config.marketplace_id)
    );
    let what = format!("reading the messaging actions of order {order}");
    let request = HttpRequest::new("GET", url).with_header("Accept", "application/hal+json");
    let response = call(config, host, &request, &what)?;
    if !response.is_success() {
        return Err(api_error(&what, &response));
    }
    let answer: serde_json::Value = serde_json::from_slice(&response.body)
        .map_err(|e| Error::permanent(format!("amazon: {what}: the answer is not JSON: {e}")))?;
    let links = answer["_links"]["actions"].as_array().cloned().unwrap_or_default();
    Ok(links
        .iter()
        .filter_map(|link| {
            link["name"].as_str().map(str::to_owned).or_else(|| {
                // A link without a name: the action is the last segment of its path.
                let href = link["href"].as_str()?;
                let path = href.split('?').next()?;
                path.rsplit('/').next().map(str::to_owned)
            })
        })
        .collect())
}

/// Sends the Messaging action `outbound` names (see the module docs).
pub fn deliver(outbound: &Outbound, config: &SpApiConfig, host: &dyn Host) -> Result<Delivery, Error> {
    let order = outbound.to.trim();
    if !crate::notification::is_amazon_order(order) {
        return Err(Error::permanent(format!(
            "amazon messaging: the message is addressed to {order:?}, not to an Amazon order number (ddd-ddddddd-ddddddd): \
             a Messaging API message goes to the buyer of an order"
        )));
    }
    let action = outbound.subject.as_deref().map(str::trim).unwrap_or_default();
    if action.is_empty() {
        return Err(Error::permanent(format!(
            "amazon messaging: the message to order {order} names no action: set its subject to one of {}",
            TEXT_ACTIONS
                .iter()
                .chain(BARE_ACTIONS)
                .copied()
                .collect::<Vec<_>>()
                .join(", ")
        )));
    }
    if DOCUMENT_ACTIONS.contains(&action) {
        return Err(Error::permanent(format!(
            "amazon messaging: `{action}` needs a document uploaded through the Uploads API, which weft does not do"
        )));
    }
    let bare = BARE_ACTIONS.contains(&action);
    if !bare && !TEXT_ACTIONS.contains(&action) {
        return Err(Error::permanent(format!(
            "amazon messaging: `{action}` is not a Messaging API action weft sends; expected one of {}",
            TEXT_ACTIONS
                .iter()
                .chain(BARE_ACTIONS)
                .copied()
                .collect::<Vec<_>>()
                .join(", ")
        )));
    }
    let permitted = permitted_actions(config, host, order)?;
    if !permitted.iter().any(|p| p == action) {
        let now = if permitted.is_empty() {
            "none".to_owned()
        } else {
            permitted.join(", ")
        };
        return Err(Error::permanent(format!(
            "amazon messaging: `{action}` is not permitted for order {order} now; Amazon permits: {now}"
        )));
    }
    if !bare && outbound.body.trim().is_empty() {
        return Err(Error::permanent(format!(
            "amazon messaging: `{action}` for order {order} has no text"
        )));
    }
    let url = format!(
        "{}/messaging/v1/orders/{}/messages/{action}?marketplaceIds={}",
        config.api(),
        encode(order),
        encode(&config.marketplace_id)
    );
    let mut request = HttpRequest::new("POST", url).with_header("Accept", "application/hal+json");
    if !bare {
        request = request.with_json(&serde_json::json!({ "text": outbound.body }));
    }
    let what = format!("sending {action} for order {order}");
    let response = call(config, host, &request, &what).map_err(|error| match error {
        // No answer: Amazon may have taken it, and it takes no idempotency key.
        Error::Retryable(reason) => Error::permanent(format!(
            "{reason}; the message may have gone out, so it is not sent again by itself: check the order's messages in Seller Central, then `weft outbox retry {}`",
            outbound.key
        )),
        other => other,
    })?;
    if !response.is_success() {
        return Err(api_error(&what, &response));
    }
    Ok(Delivery {
        external_id: Some(format!("{order}/{action}")),
    })
}

/// SP-API's error list, `{"errors": [{"code", "message", "details"}]}`, as text.
fn sp_api_errors(body: &[u8]) -> Option<String> {
    #[derive(Deserialize)]
    struct Errors {
        errors: Vec<SpError>,
    }
    #[derive(Deserialize)]
    struct SpError {
        #[serde(default)]
        code: Option<String>,
        #[serde(default)]
        message: Option<String>,
        #[serde(default)]
        details: Option<String>,
    }
    let errors: Errors = serde_json::from_slice(body).ok()?;
    if errors.errors.is_empty() {
        return None;
    }
    let parts: Vec<String> = errors
        .errors
        .iter()
        .map(|e| {
            let mut part = e.code.clone().unwrap_or_else(|| "error".into());
            if let Some(message) = &e.message {
                part.push_str(": ");
                part.push_str(message);
            }
            if let Some(details) = e.details.as_deref().filter(|d| !d.trim().is_empty()) {
                part.push_str(&format!(" ({details})"));
            }
            part
        })
        .collect();
    Some(parts.join("; "))
}

/// What an SP-API answer that is not a success means (see the module docs), in Amazon's
/// words (`errors[]`) where the body has them.
pub fn api_error(what: &str, response: &HttpResponse) -> Error {
    response.error_in_words(&format!("amazon: {what}"), sp_api_errors(&response.body))
}

/// LWA's errors are OAuth's (`{"error", "error_description"}`).
fn lwa_error(what: &str, response: &HttpResponse) -> Error {
    let words = weft_sdk::http::oauth_error_words(&response.body).or_else(|| sp_api_errors(&response.body));
    response.error_in_words(&format!("amazon: {what}"), words)
}

#[cfg(test)]
mod tests {
    use super::*;
    use weft_sdk::testing::TestHost;

    const LWA: &str = "https://api.amazon.com/auth/o2/token";
    const API: &str = "https://sellingpartnerapi-eu.amazon.com/messaging/v1/orders/302-1234567-7654321";

    fn config() -> SpApiConfig {
        serde_json::from_value(serde_json::json!({"endpoint": "https://sellingpartnerapi-eu.amazon.com",
            "marketplace_id": "A1PA6795UKMFR9", "client_id": "id", "client_secret": "secret", "refresh_token": "refresh"}))
        .unwrap()
    }

    fn host() -> TestHost {
        TestHost::new()
            .with_secret("id", "amzn1.application-oa2-client.0123")
            .with_secret("secret", "amzn1.oa2-cs.v1.geheim")
            .with_secret("refresh", "Atzr|IwEBI-ü")
    }

    fn actions(names: &[&str]) -> HttpResponse {
        let links: Vec<serde_json::Value> = names
            .iter()
            .map(|name| serde_json::json!({"href": format!("/messaging/v1/orders/302-1234567-7654321/messages/{name}?marketplaceIds=A1PA6795UKMFR9"), "name": name}))
            .collect();
        HttpResponse::new(200).with_json(&serde_json::json!({"_links": {"self": {"href": "/messaging/v1/orders/302-1234567-7654321?marketplaceIds=A1PA6795UKMFR9"}, "actions": links}}))
    }

    fn outbound(action: &str, body: &str) -> Outbound {
        Outbound {
            key: "notify:1".into(),
            to: "302-1234567-7654321".into(),
            subject: Some(action.into()),
            body: body.into(),
            ..Outbound::default()
        }
    }

    #[test]
    fn a_permitted_action_is_sent_with_a_cached_token() {
        let permitted = actions(&["confirmDeliveryDetails", "unexpectedProblem"]);
        let post = format!("{API}/messages/confirmDeliveryDetails?marketplaceIds=A1PA6795UKMFR9");
        let host = host()
            .respond("POST", LWA, HttpResponse::new(200).with_json(&serde_json::json!({"access_token": "Atza|eins", "refresh_token": "Atzr|IwEBI-ü", "token_type": "bearer", "expires_in": 3600})))
            .respond("GET", &format!("{API}?marketplaceIds=A1PA6795UKMFR9"), permitted.clone())
            .respond("GET", &format!("{API}?marketplaceIds=A1PA6795UKMFR9"), permitted)
            .respond("POST", &post, HttpResponse::new(201).with_json(&serde_json::json!({})));
        let config = config();
        let sent = deliver(
            &outbound("confirmDeliveryDetails", "Zustellung am Dienstag — 火曜日にお届け"),
            &config,
            &host,
        )
        .unwrap();
        assert_eq!(
            sent.external_id.as_deref(),
            Some("302-1234567-7654321/confirmDeliveryDetails")
        );
        let refused = deliver(&outbound("confirmOrderDetails", "x"), &config, &host).unwrap_err();
        assert_eq!(
            refused,
            Error::permanent(
                "amazon messaging: `confirmOrderDetails` is not permitted for order 302-1234567-7654321 now; Amazon permits: confirmDeliveryDetails, unexpectedProblem"
            )
        );
        let requests = host.requests();
        let token_calls: Vec<_> = requests.iter().filter(|r| r.url == LWA).collect();
        assert_eq!(token_calls.len(), 1, "the token is cached");
        let form: Vec<(String, String)> = form_urlencoded::parse(&token_calls[0].body).into_owned().collect();
        assert_eq!(
            form,
            [
                ("grant_type".into(), "refresh_token".into()),
                ("refresh_token".into(), "Atzr|IwEBI-ü".into()),
                ("client_id".into(), "amzn1.application-oa2-client.0123".into()),
                ("client_secret".into(), "amzn1.oa2-cs.v1.geheim".into()),
            ]
        );
        let sent = requests.iter().find(|r| r.url == post).unwrap();
        assert_eq!(sent.header("x-amz-access-token"), Some("Atza|eins"));
        assert_eq!(
            serde_json::from_slice::<serde_json::Value>(&sent.body).unwrap(),
            serde_json::json!({"text": "Zustellung am Dienstag — 火曜日にお届け"})
        );
        let (_, ttl) = &host.cache.lock().unwrap()["lwa:amzn1.application-oa2-client.0123"];
        assert_eq!(*ttl, Duration::from_secs(3600 - 300));
    }

    #[test]
    fn what_cannot_be_sent_is_refused_before_amazon_is_asked() {
        let host = host();
        let config = config();
        for (outbound, expected) in [
            (
                Outbound {
                    to: "anna@example.de".into(),
                    ..outbound("confirmDeliveryDetails", "x")
                },
                "not to an Amazon order number",
            ),
            (
                Outbound {
                    subject: None,
                    ..outbound("", "x")
                },
                "names no action: set its subject to one of confirmCustomizationDetails",
            ),
            (
                outbound("invoice", "x"),
                "needs a document uploaded through the Uploads API",
            ),
            (
                outbound("sendHello", "x"),
                "`sendHello` is not a Messaging API action weft sends",
            ),
        ] {
            let error = deliver(&outbound, &config, &host).unwrap_err();
            assert!(
                matches!(&error, Error::Permanent(m) if m.contains(expected)),
                "{error:?}"
            );
        }
        assert!(host.requests().is_empty());
    }

    #[test]
    fn errors_in_amazons_words() {
        let cases = [
            (
                HttpResponse::new(400).with_json(&serde_json::json!({"errors": [{"code": "InvalidInput", "message": "Der Text ist zu lang", "details": "text"}]})),
                Error::permanent("amazon: sending: HTTP 400: InvalidInput: Der Text ist zu lang (text)"),
            ),
            (
                HttpResponse::new(429).with_header("Retry-After", "3").with_json(&serde_json::json!({"errors": [{"code": "QuotaExceeded", "message": "You exceeded your quota for the requested resource."}]})),
                Error::retry_later(Duration::from_secs(3), "amazon: sending: HTTP 429, retry after 3s: QuotaExceeded: You exceeded your quota for the requested resource."),
            ),
            (
                HttpResponse::new(500).with_json(&serde_json::json!({"errors": [{"code": "InternalFailure", "message": "We encountered an internal error. Please try again."}]})),
                Error::retryable("amazon: sending: HTTP 500: InternalFailure: We encountered an internal error. Please try again."),
            ),
        ];
        for (response, expected) in cases {
            assert_eq!(api_error("sending", &response), expected);
        }
        let refused = HttpResponse::new(400).with_json(&serde_json::json!({"error": "invalid_grant", "error_description": "The request has an invalid grant parameter : refresh_token"}));
        assert_eq!(
            lwa_error("getting an LWA access token", &refused),
            Error::permanent(
                "amazon: getting an LWA access token: HTTP 400: invalid_grant (The request has an invalid grant parameter : refresh_token)"
            )
        );
    }

    #[test]
    fn a_401_gets_one_fresh_token() {
        let url = format!("{API}?marketplaceIds=A1PA6795UKMFR9");
        let host = host()
            .respond("POST", LWA, HttpResponse::new(200).with_json(&serde_json::json!({"access_token": "Atza|alt", "expires_in": 3600})))
            .respond("POST", LWA, HttpResponse::new(200).with_json(&serde_json::json!({"access_token": "Atza|neu", "expires_in": 3600})))
            .respond("GET", &url, HttpResponse::new(403).with_json(&serde_json::json!({"errors": [{"code": "Unauthorized", "message": "Access to requested resource is denied.", "details": "The access token you provided has expired."}]})))
            .respond("GET", &url, actions(&["unexpectedProblem"]));
        let permitted = permitted_actions(&config(), &host, "302-1234567-7654321").unwrap();
        assert_eq!(permitted, ["unexpectedProblem"]);
        let tokens: Vec<Option<String>> = host
            .requests()
            .iter()
            .filter(|r| r.method == "GET")
            .map(|r| r.header("x-amz-access-token").map(str::to_owned))
            .collect();
        assert_eq!(tokens, [Some("Atza|alt".into()), Some("Atza|neu".into())]);
    }
}
