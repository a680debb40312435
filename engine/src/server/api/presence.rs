//! Presence: `POST`, `GET` and `DELETE /api/v1/tickets/{number}/presence` — who is viewing a
//! ticket and who is typing a reply on it, each for a while unless their client posts again.

use super::extract::{Json, Path};
use super::types::{ErrorBody, PresenceBody, TicketPresence};
use crate::server::auth::{Auth, Work};
use crate::server::{ApiError, AppState};
use crate::store::presence::PresenceState;
use axum::extract::State;
use axum::http::StatusCode;
use serde_json::json;

/// Says that the caller is viewing the ticket or typing a reply on it, for the server's
/// presence time (`weft serve --presence-ttl`, 30 s by default) unless posted again, or that
/// they left (for clients that can only post as a page closes).
#[utoipa::path(
    post,
    path = "/api/v1/tickets/{number}/presence",
    tag = "presence",
    params(("number" = i64, Path, description = "The ticket number")),
    request_body = PresenceBody,
    security(("bearer" = [])),
    responses(
        (status = OK, body = TicketPresence, description = "Who is on the ticket now, the caller included"),
        (status = UNPROCESSABLE_ENTITY, body = ErrorBody, description = "`state` is not `viewing`, `typing` or `left`"),
        (status = NOT_FOUND, body = ErrorBody),
        (status = UNAUTHORIZED, body = ErrorBody),
        (status = FORBIDDEN, body = ErrorBody, description = "Integrators work no tickets"),
    )
)]
pub(super) async fn post(
    caller: Auth<Work>,
    State(state): State<AppState>,
    Path(number): Path<i64>,
    Json(body): Json<PresenceBody>,
) -> Result<axum::Json<TicketPresence>, ApiError> {
    let feed = state.live.feed();
    let agents = match body.state.as_str() {
        "left" => feed.leave(number, &caller.name).await?,
        other => {
            let presence = PresenceState::parse(other).ok_or_else(|| {
                ApiError::new(
                    StatusCode::UNPROCESSABLE_ENTITY,
                    "invalid_presence",
                    format!("unknown presence state `{other}`: expected `viewing`, `typing` or `left`"),
                )
                .with_details(json!({ "state": other }))
            })?;
            feed.set_presence(number, &caller.name, presence).await?
        }
    };
    let agents = agents.ok_or_else(|| ApiError::no_ticket(number))?;
    Ok(axum::Json(TicketPresence::new(number, &agents)))
}

/// Who is viewing the ticket and who is typing on it now.
#[utoipa::path(
    get,
    path = "/api/v1/tickets/{number}/presence",
    tag = "presence",
    params(("number" = i64, Path, description = "The ticket number")),
    security(("bearer" = [])),
    responses(
        (status = OK, body = TicketPresence),
        (status = NOT_FOUND, body = ErrorBody),
        (status = UNAUTHORIZED, body = ErrorBody),
        (status = FORBIDDEN, body = ErrorBody, description = "Integrators work no tickets"),
    )
)]
pub(super) async fn get(
    _caller: Auth<Work>,
    State(state): State<AppState>,
    Path(number): Path<i64>,
) -> Result<axum::Json<TicketPresence>, ApiError> {
    let agents = state
        .live
        .feed()
        .presence(number)
        .await?
        .ok_or_else(|| ApiError::no_ticket(number))?;
    Ok(axum::Json(TicketPresence::new(number, &agents)))
}

/// The caller leaves the ticket (as `POST` with `{"state": "left"}`).
#[utoipa::path(
    delete,
    path = "/api/v1/tickets/{number}/presence",
    tag = "presence",
    params(("number" = i64, Path, description = "The ticket number")),
    security(("bearer" = [])),
    responses(
        (status = OK, body = TicketPresence, description = "Who is still on the ticket"),
        (status = NOT_FOUND, body = ErrorBody),
        (status = UNAUTHORIZED, body = ErrorBody),
        (status = FORBIDDEN, body = ErrorBody, description = "Integrators work no tickets"),
    )
)]
pub(super) async fn delete(
    caller: Auth<Work>,
    State(state): State<AppState>,
    Path(number): Path<i64>,
) -> Result<axum::Json<TicketPresence>, ApiError> {
    let agents = state
        .live
        .feed()
        .leave(number, &caller.name)
        .await?
        .ok_or_else(|| ApiError::no_ticket(number))?;
    Ok(axum::Json(TicketPresence::new(number, &agents)))
}
