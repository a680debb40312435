//! Dead letters: what could not be processed, and replaying it (admins).

use super::extract::Path;
use super::types::*;
use crate::exec::replay::{LetterReplayed, replay_dead_letter};
use crate::server::auth::{Admin, Auth, Read};
use crate::server::{ApiError, AppState};
use axum::extract::State;
use axum::http::StatusCode;

/// The open dead letters, oldest first.
#[utoipa::path(
    get,
    path = "/api/v1/dead-letters",
    tag = "dead letters",
    security(("bearer" = [])),
    responses((status = OK, body = DeadLetterList))
)]
pub(super) async fn list(
    _caller: Auth<Read>,
    State(state): State<AppState>,
) -> Result<axum::Json<DeadLetterList>, ApiError> {
    let letters = state.live.store().dead_letters(true).await?;
    Ok(axum::Json(DeadLetterList {
        dead_letters: letters.into_iter().map(DeadLetterView::from).collect(),
    }))
}

/// Replay a dead letter (admins): its event runs again, or its raw input is parsed again with
/// the channels and workflows loaded now.
#[utoipa::path(
    post,
    path = "/api/v1/dead-letters/{id}/replay",
    tag = "dead letters",
    params(("id" = i64, Path, description = "The dead letter id")),
    security(("bearer" = [])),
    responses(
        (status = OK, body = Replayed),
        (status = NOT_FOUND, body = ErrorBody, description = "No open dead letter with that id"),
        (status = FORBIDDEN, body = ErrorBody, description = "Only admins replay"),
    )
)]
pub(super) async fn replay(
    caller: Auth<Admin>,
    State(state): State<AppState>,
    Path(id): Path<i64>,
) -> Result<axum::Json<Replayed>, ApiError> {
    let live = &state.live;
    let letter = live
        .store()
        .dead_letters(true)
        .await?
        .into_iter()
        .find(|l| l.id == id)
        .ok_or_else(|| {
            ApiError::new(
                StatusCode::NOT_FOUND,
                "no_dead_letter",
                format!("dead letter {id} does not exist or was already replayed"),
            )
        })?;
    let outcome = replay_dead_letter(live.store(), &live.pipeline(), &letter)
        .await
        .map_err(|e| ApiError::new(StatusCode::SERVICE_UNAVAILABLE, "replay_failed", format!("{e:#}")))?;
    tracing::info!(dead_letter = id, by = %caller.name, ?outcome, "dead letter replayed");
    live.wake();
    Ok(axum::Json(match outcome {
        LetterReplayed::Requeued => Replayed {
            id,
            outcome: "requeued".into(),
            messages: None,
            reason: None,
        },
        LetterReplayed::Parsed(n) => Replayed {
            id,
            outcome: "parsed".into(),
            messages: Some(n),
            reason: None,
        },
        LetterReplayed::FailedAgain(reason) => Replayed {
            id,
            outcome: "failed_again".into(),
            messages: None,
            reason: Some(reason),
        },
    }))
}
