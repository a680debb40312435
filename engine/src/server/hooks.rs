//! Webhooks: `POST /hooks/{id}` verified by the channel, kept, then answered; `GET /hooks/{id}`
//! answers the vendor's subscription check through the channel.

use super::{ApiError, AppState};
use axum::body::Body;
use axum::extract::{OriginalUri, Path, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::json;
use weft_sdk::{HandshakeRequest, Inbound};

use crate::exec::Receipt;
use crate::store::now_ms;

/// Every header as sent, values read as UTF-8 where they are not ASCII.
fn header_list(headers: &HeaderMap) -> Vec<(String, String)> {
    headers
        .iter()
        .map(|(name, value)| {
            (
                name.as_str().to_owned(),
                String::from_utf8_lossy(value.as_bytes()).into_owned(),
            )
        })
        .collect()
}

/// `POST /hooks/{id}`: 202 once kept (200 for a delivery kept before), 401 when the channel
/// refuses it, 404 for an unknown hook, 413 past the body limit.
pub(super) async fn receive(
    State(state): State<AppState>,
    Path(hook): Path<String>,
    OriginalUri(uri): OriginalUri,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, ApiError> {
    let received_at = now_ms();
    let live = &state.live;
    if !live.knows(&hook) {
        return Err(live.unknown_hook(&hook).into());
    }
    let limit = state.config.max_body_bytes;
    let too_large = || {
        let message = format!("the body is larger than the limit of {limit} bytes");
        live.refused(&hook, "too_large", &message);
        ApiError::new(StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large", message)
            .with_details(json!({ "hook": hook, "limit": limit }))
    };
    let declared = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > limit as u64) {
        // The body is not read: the connection cannot carry another request after this answer.
        let mut response = too_large().into_response();
        response
            .headers_mut()
            .insert(header::CONNECTION, header::HeaderValue::from_static("close"));
        return Ok(response);
    }
    // A body cut off or longer than declared fails here too; either way it is not kept.
    let body = axum::body::to_bytes(body, limit).await.map_err(|_| too_large())?;
    let inbound = Inbound {
        // The path and query as requested: some vendors sign the URL they called (Twilio).
        source: match uri.query() {
            Some(query) => format!("/hooks/{hook}?{query}"),
            None => format!("/hooks/{hook}"),
        },
        hook: Some(hook.clone()),
        received_at,
        content_type: headers
            .get(header::CONTENT_TYPE)
            .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned()),
        headers: header_list(&headers),
        body: body.to_vec(),
    };
    let answer = match live.receive(&hook, inbound).await? {
        Receipt::Kept(id) => (StatusCode::ACCEPTED, json!({ "accepted": true, "inbound": id })),
        Receipt::Duplicate(id) => (
            StatusCode::OK,
            json!({ "accepted": true, "inbound": id, "duplicate": true }),
        ),
    };
    Ok((answer.0, axum::Json(answer.1)).into_response())
}

/// `GET /hooks/{id}`: the channel's answer to a subscription check; 405 when it has none.
pub(super) async fn handshake(
    State(state): State<AppState>,
    Path(hook): Path<String>,
    Query(query): Query<Vec<(String, String)>>,
    OriginalUri(uri): OriginalUri,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let request = HandshakeRequest {
        hook: hook.clone(),
        query,
        headers: header_list(&headers),
        target: uri
            .path_and_query()
            .map_or_else(|| uri.path().to_owned(), |p| p.as_str().to_owned()),
    };
    match state.live.handshake(&request).await? {
        Some(answer) => {
            let status = StatusCode::from_u16(answer.status).unwrap_or(StatusCode::OK);
            Ok((status, [(header::CONTENT_TYPE, answer.content_type)], answer.body).into_response())
        }
        None => Err(ApiError::new(
            StatusCode::METHOD_NOT_ALLOWED,
            "no_handshake",
            format!("the channel at hook `{hook}` answers no subscription check here; send webhooks with POST"),
        )
        .with_details(json!({ "hook": hook }))),
    }
}
