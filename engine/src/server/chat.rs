//! The live chat of the seller's website over HTTP: the widget script, conversations, visitor
//! posts and the visitor's stream. Each handler translates to a function of
//! [`crate::exec::Live`] (`exec::chat`), which checks the conversation's token.
//!
//! - `GET /chat/{hook}/widget.js`: the widget, for one `<script>` tag on the shop's pages;
//! - `POST /chat/{hook}/conversations`: 201 `{"conversation", "token", "position"}` (the
//!   stream's position now: a stream started `after` it misses nothing of the conversation);
//! - `POST /chat/{hook}/messages?conversation=ID` with `X-Weft-Chat-Token: TOKEN`: the
//!   visitor's post (JSON, see the `chat` plugin), 202 once kept, 401 with the reason when the
//!   token or a signed identity is refused;
//! - `GET /chat/{hook}/stream?conversation=ID&token=TOKEN[&after=POSITION]`: Server-Sent
//!   Events: `ready` (with the position it starts from), then a `message` event per message
//!   of the conversation, both ways, its position as `id:`; `Last-Event-ID` (sent by the
//!   browser when it reconnects) or `after` resumes after a position. (`EventSource` cannot
//!   send headers, so the token is in the query.)
//!
//! The shop's pages are on another origin: every answer allows any origin, and preflight
//! requests (`OPTIONS`) are answered here. No cookie is used: the token is the credential.

use super::api::extract::Query;
use super::{ApiError, AppState};
use crate::exec::Receipt;
use crate::exec::chat::{ChatError, ChatLine};
use crate::store::changes::Position;
use crate::store::now_ms;
use axum::Router;
use axum::body::Body;
use axum::extract::{Path, Request, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use futures_util::StreamExt as _;
use serde::Deserialize;
use serde_json::json;
use weft_sdk::Inbound;

/// The widget, served as it is written: plain JavaScript, no build step.
const WIDGET: &str = include_str!("chat/widget.js");
/// The header that carries a conversation's token on posts.
const TOKEN_HEADER: &str = "x-weft-chat-token";

impl From<ChatError> for ApiError {
    fn from(error: ChatError) -> Self {
        match error {
            ChatError::Hook(error) => error.into(),
            ChatError::NotChat { hook } => ApiError::new(
                StatusCode::NOT_FOUND,
                "unknown_chat",
                format!("no chat channel is mounted at hook `{hook}`"),
            )
            .with_details(json!({ "hook": hook })),
            ChatError::Refused { hook, reason } => ApiError::new(
                StatusCode::UNAUTHORIZED,
                "unauthenticated",
                format!("chat `{hook}`: {reason}"),
            )
            .with_details(json!({ "hook": hook })),
            ChatError::Store { hook, source } => ApiError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "store_unavailable",
                format!("chat `{hook}`: the database cannot answer now: {source}"),
            )
            .with_details(json!({ "hook": hook })),
        }
    }
}

/// The routes under `/chat/{hook}`.
pub(super) fn routes() -> Router<AppState> {
    Router::new()
        .route("/chat/{hook}/widget.js", get(widget))
        .route("/chat/{hook}/conversations", post(open))
        .route("/chat/{hook}/messages", post(message))
        .route("/chat/{hook}/stream", get(stream))
        .layer(axum::middleware::from_fn(cross_origin))
}

/// Any origin may call: answers preflights, and marks every answer as readable cross-origin.
async fn cross_origin(request: Request, next: Next) -> Response {
    let mut response = if request.method() == Method::OPTIONS {
        let mut response = StatusCode::NO_CONTENT.into_response();
        let headers = response.headers_mut();
        headers.insert(
            header::ACCESS_CONTROL_ALLOW_METHODS,
            HeaderValue::from_static("GET, POST, OPTIONS"),
        );
        headers.insert(
            header::ACCESS_CONTROL_ALLOW_HEADERS,
            HeaderValue::from_static("content-type, x-weft-chat-token, last-event-id"),
        );
        headers.insert(header::ACCESS_CONTROL_MAX_AGE, HeaderValue::from_static("600"));
        response
    } else {
        next.run(request).await
    };
    response
        .headers_mut()
        .insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, HeaderValue::from_static("*"));
    response
}

/// `GET /chat/{hook}/widget.js`.
async fn widget(State(state): State<AppState>, Path(hook): Path<String>) -> Result<Response, ApiError> {
    state.live.serves_chat(&hook)?;
    Ok((
        [
            (header::CONTENT_TYPE, "text/javascript; charset=utf-8"),
            (header::CACHE_CONTROL, "public, max-age=300"),
        ],
        WIDGET,
    )
        .into_response())
}

/// `POST /chat/{hook}/conversations`: 201 with the conversation's id and token.
async fn open(State(state): State<AppState>, Path(hook): Path<String>) -> Result<Response, ApiError> {
    let conversation = state.live.open_conversation(&hook).await?;
    let body = json!({
        "conversation": conversation.id,
        "token": conversation.token,
        "position": conversation.position.to_string(),
    });
    Ok((StatusCode::CREATED, axum::Json(body)).into_response())
}

#[derive(Debug, Deserialize)]
struct PostQuery {
    conversation: String,
}

/// `POST /chat/{hook}/messages?conversation=ID`: 202 once kept (200 for a post kept before).
async fn message(
    State(state): State<AppState>,
    Path(hook): Path<String>,
    Query(query): Query<PostQuery>,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, ApiError> {
    let received_at = now_ms();
    let token = headers
        .get(TOKEN_HEADER)
        .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned())
        .unwrap_or_default();
    let limit = state.config.max_body_bytes;
    let body = axum::body::to_bytes(body, limit).await.map_err(|_| {
        ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "payload_too_large",
            format!("chat `{hook}`: the post is larger than the limit of {limit} bytes"),
        )
    })?;
    let inbound = Inbound {
        source: format!("/chat/{hook}/messages"),
        hook: Some(hook.clone()),
        received_at,
        content_type: headers
            .get(header::CONTENT_TYPE)
            .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned()),
        headers: headers
            .iter()
            .map(|(name, value)| {
                (
                    name.as_str().to_owned(),
                    String::from_utf8_lossy(value.as_bytes()).into_owned(),
                )
            })
            .collect(),
        body: body.to_vec(),
    };
    let receipt = state
        .live
        .visitor_post(&hook, &query.conversation, &token, TOKEN_HEADER, inbound)
        .await?;
    let (status, answer) = match receipt {
        Receipt::Kept(id) => (StatusCode::ACCEPTED, json!({ "accepted": true, "inbound": id })),
        Receipt::Duplicate(id) => (
            StatusCode::OK,
            json!({ "accepted": true, "inbound": id, "duplicate": true }),
        ),
    };
    Ok((status, axum::Json(answer)).into_response())
}

#[derive(Debug, Deserialize)]
struct StreamQuery {
    conversation: String,
    token: String,
    /// Resume after this position (what `Last-Event-ID` says, for a page loaded afresh).
    #[serde(default)]
    after: Option<String>,
}

fn line_event(line: &ChatLine) -> Event {
    let message = &line.message;
    Event::default()
        .event("message")
        .id(line.position.to_string())
        .json_data(json!({
            "id": message.id,
            "direction": line.direction,
            "body": message.body,
            "lang": message.lang,
            "at": message.at,
        }))
        .unwrap_or_else(|e| Event::default().event("error").data(e.to_string()))
}

/// `GET /chat/{hook}/stream`: the conversation's messages as Server-Sent Events.
async fn stream(
    State(state): State<AppState>,
    Path(hook): Path<String>,
    Query(query): Query<StreamQuery>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let resume = headers
        .get("last-event-id")
        .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned())
        .or(query.after)
        .filter(|text| !text.is_empty());
    let after = match resume {
        None => None,
        Some(text) => Some(text.parse::<Position>().map_err(|e| {
            ApiError::new(StatusCode::BAD_REQUEST, "invalid_last_event_id", e.to_string())
                .with_details(json!({ "hook": hook }))
        })?),
    };
    let stream = state
        .live
        .visitor_stream(&hook, &query.conversation, &query.token, after)
        .await?
        .ok_or_else(|| ApiError::new(StatusCode::SERVICE_UNAVAILABLE, "stopping", "the server is stopping"))?;
    let start = stream.start();
    let ready = Event::default()
        .event("ready")
        .id(start.to_string())
        .json_data(json!({ "position": start.to_string(), "conversation": query.conversation }))
        .unwrap_or_default();
    let lines = futures_util::stream::unfold(stream, |mut stream| async move {
        let line = stream.next().await?;
        Some((Ok::<_, std::convert::Infallible>(line_event(&line)), stream))
    });
    let events = futures_util::stream::once(async move { Ok(ready) }).chain(lines);
    Ok(Sse::new(events)
        .keep_alive(KeepAlive::new().interval(state.config.keep_alive).text("keep-alive"))
        .into_response())
}
