//! `GET /api/v1/stream`: Server-Sent Events of what changes on tickets — their state, new
//! messages both ways, who is viewing or typing — as it happens, on any node.
//!
//! Each event's `id:` is its position in the change log; a client that reconnects with
//! `Last-Event-ID` gets every change after it that is still kept, then the live ones. The first
//! event, `ready`, says the subscription is in place and carries the position it starts from.
//! A comment every [`ServeConfig::keep_alive`](crate::server::ServeConfig) keeps proxies from
//! closing a quiet connection.

use super::extract::Query;
use super::types::{ErrorBody, StreamEvent, StreamQuery, StreamReady};
use crate::exec::Published;
use crate::server::auth::{Auth, Work};
use crate::server::{ApiError, AppState};
use crate::store::changes::Position;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::sse::{Event, KeepAlive, Sse};
use futures_util::{Stream, StreamExt as _};
use serde_json::json;
use std::convert::Infallible;

/// The header an SSE client sends back when it reconnects.
const LAST_EVENT_ID: &str = "last-event-id";

fn event(change: &Published) -> Event {
    let rendered = StreamEvent::from(change.clone());
    Event::default()
        .event(rendered.name())
        .id(change.position.to_string())
        .json_data(&rendered)
        .unwrap_or_else(|e| Event::default().event("error").data(e.to_string()))
}

/// The changes as they happen (`text/event-stream`): `ready` first, then `ticket`, `message`,
/// `reply` and `presence` events, each with its position as `id:`.
#[utoipa::path(
    get,
    path = "/api/v1/stream",
    tag = "stream",
    security(("bearer" = [])),
    params(
        StreamQuery,
        ("Last-Event-ID" = Option<String>, Header, description = "Resume after this event id (a position `TXN-ID`)"),
    ),
    responses(
        (status = OK, content_type = "text/event-stream", body = StreamEvent,
         description = "Server-Sent Events: `ready` first (data: StreamReady), then `ticket`, `message`, `reply` and `presence` events (data: StreamEvent) as changes commit"),
        (status = BAD_REQUEST, body = ErrorBody, description = "`Last-Event-ID` is not a position"),
        (status = UNAUTHORIZED, body = ErrorBody, description = "No valid bearer token"),
        (status = FORBIDDEN, body = ErrorBody, description = "The token's role does not work tickets"),
        (status = SERVICE_UNAVAILABLE, body = ErrorBody, description = "The server is stopping"),
    )
)]
pub(super) async fn stream(
    _caller: Auth<Work>,
    State(state): State<AppState>,
    Query(query): Query<StreamQuery>,
    headers: HeaderMap,
) -> Result<Sse<impl Stream<Item = Result<Event, Infallible>>>, ApiError> {
    let after = match headers.get(LAST_EVENT_ID) {
        None => None,
        Some(value) => {
            let text = String::from_utf8_lossy(value.as_bytes());
            let position = text.parse::<Position>().map_err(|e| {
                ApiError::new(StatusCode::BAD_REQUEST, "invalid_last_event_id", e.to_string())
                    .with_details(json!({ "header": "Last-Event-ID" }))
            })?;
            Some(position)
        }
    };
    let subscription = state
        .live
        .feed()
        .subscribe(after, query.ticket)
        .await
        .ok_or_else(|| ApiError::new(StatusCode::SERVICE_UNAVAILABLE, "stopping", "the server is stopping"))?;
    let start = subscription.start();
    let ready = Event::default()
        .event("ready")
        .id(start.to_string())
        .json_data(StreamReady {
            position: start.to_string(),
            ticket: query.ticket,
        })
        .unwrap_or_default();
    let changes = futures_util::stream::unfold(subscription, |mut subscription| async move {
        let change = subscription.next().await?;
        Some((Ok(event(&change)), subscription))
    });
    let events = futures_util::stream::once(async move { Ok(ready) }).chain(changes);
    Ok(Sse::new(events).keep_alive(KeepAlive::new().interval(state.config.keep_alive).text("keep-alive")))
}
