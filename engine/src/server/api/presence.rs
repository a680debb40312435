//! Presence: `POST`, `GET` and `DELETE /api/v1/tickets/{n}/presence` — who is viewing a ticket
//! and who is typing a reply on it, each for a while unless their client renews it.

use super::types::{ErrorBody, PresenceRequest, TicketPresence};
use crate::server::auth::{Auth, Work};
use crate::server::{ApiError, AppState};
use crate::store::StoreError;
use crate::store::presence::{Presence, PresenceState};
use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use serde_json::json;

fn unavailable(error: StoreError) -> ApiError {
    ApiError::new(
        StatusCode::SERVICE_UNAVAILABLE,
        "store_unavailable",
        format!("presence cannot be read or kept now: {error}"),
    )
}

fn no_ticket(number: i64) -> ApiError {
    ApiError::new(StatusCode::NOT_FOUND, "ticket_not_found", format!("there is no ticket {number}"))
        .with_details(json!({ "ticket": number }))
}

fn answer(number: i64, agents: Option<Vec<Presence>>) -> Result<Json<TicketPresence>, ApiError> {
    let agents = agents.ok_or_else(|| no_ticket(number))?;
    Ok(Json(TicketPresence::new(number, &agents)))
}

/// Says that the caller is viewing the ticket or typing a reply on it (renewing it: a
/// presence lasts the server's presence TTL unless posted again), or that they left.
#[utoipa::path(
    post,
    path = "/api/v1/tickets/{number}/presence",
    tag = "presence",
    security(("bearer" = [])),
    params(("number" = i64, Path, description = "The ticket's number")),
    request_body = PresenceRequest,
    responses(
        (status = OK, body = TicketPresence, description = "Who is on the ticket now, the caller included"),
        (status = BAD_REQUEST, body = ErrorBody, description = "The body is not `{\"state\": \"viewing\" | \"typing\" | \"left\"}`"),
        (status = UNAUTHORIZED, body = ErrorBody, description = "No valid bearer token"),
        (status = FORBIDDEN, body = ErrorBody, description = "The token's role does not work tickets"),
        (status = NOT_FOUND, body = ErrorBody, description = "No such ticket"),
    )
)]
pub(super) async fn post_presence(
    State(state): State<AppState>,
    caller: Auth<Work>,
    Path(number): Path<i64>,
    body: axum::body::Bytes,
) -> Result<Json<TicketPresence>, ApiError> {
    let request: PresenceRequest = serde_json::from_slice(&body).map_err(|e| {
        ApiError::new(
            StatusCode::BAD_REQUEST,
            "invalid_body",
            format!("the body must be {{\"state\": \"viewing\" | \"typing\" | \"left\"}}: {e}"),
        )
    })?;
    let feed = state.live.feed();
    let agents = match request.state.as_str() {
        "left" => feed.leave(number, &caller.name).await,
        other => {
            let presence = PresenceState::parse(other).ok_or_else(|| {
                ApiError::new(
                    StatusCode::BAD_REQUEST,
                    "invalid_body",
                    format!("unknown presence state `{other}`: expected `viewing`, `typing` or `left`"),
                )
                .with_details(json!({ "state": other }))
            })?;
            feed.set_presence(number, &caller.name, presence).await
        }
    };
    answer(number, agents.map_err(unavailable)?)
}

/// Who is viewing the ticket and who is typing on it.
#[utoipa::path(
    get,
    path = "/api/v1/tickets/{number}/presence",
    tag = "presence",
    security(("bearer" = [])),
    params(("number" = i64, Path, description = "The ticket's number")),
    responses(
        (status = OK, body = TicketPresence),
        (status = UNAUTHORIZED, body = ErrorBody, description = "No valid bearer token"),
        (status = FORBIDDEN, body = ErrorBody, description = "The token's role does not work tickets"),
        (status = NOT_FOUND, body = ErrorBody, description = "No such ticket"),
    )
)]
pub(super) async fn get_presence(
    State(state): State<AppState>,
    _caller: Auth<Work>,
    Path(number): Path<i64>,
) -> Result<Json<TicketPresence>, ApiError> {
    answer(number, state.live.feed().presence(number).await.map_err(unavailable)?)
}

/// The caller leaves the ticket (as `POST` with `{"state": "left"}` does).
#[utoipa::path(
    delete,
    path = "/api/v1/tickets/{number}/presence",
    tag = "presence",
    security(("bearer" = [])),
    params(("number" = i64, Path, description = "The ticket's number")),
    responses(
        (status = OK, body = TicketPresence, description = "Who is still on the ticket"),
        (status = UNAUTHORIZED, body = ErrorBody, description = "No valid bearer token"),
        (status = FORBIDDEN, body = ErrorBody, description = "The token's role does not work tickets"),
        (status = NOT_FOUND, body = ErrorBody, description = "No such ticket"),
    )
)]
pub(super) async fn delete_presence(
    State(state): State<AppState>,
    caller: Auth<Work>,
    Path(number): Path<i64>,
) -> Result<Json<TicketPresence>, ApiError> {
    answer(
        number,
        state.live.feed().leave(number, &caller.name).await.map_err(unavailable)?,
    )
}
