//! Replies and drafts: `POST /api/v1/tickets/{n}/replies` queues a reply in the outbox if the
//! ticket is still at the version the agent saw, and answers 409 with what changed (keeping
//! the reply as a draft) if not; `DELETE .../drafts/{id}` discards a draft.

use super::extract::{Json, Path};
use super::types::*;
use crate::server::auth::{Auth, Work};
use crate::server::{ApiError, AppState};
use crate::ticket::{ReplyOutcome, ReplyRequest};
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};

/// Reply to the buyer on the ticket's channel. Give `expected_version`, the `version` you last
/// saw: if a buyer message, another reply, a status, an assignment or a merge came since,
/// nothing is sent and the answer is 409 with every change since that version in
/// `error.details.changes`, and the reply kept as `error.details.draft`. Send the draft with
/// `{"draft": id, "expected_version": <current>}` or `{"draft": id, "send_anyway": true}`.
#[utoipa::path(
    post,
    path = "/api/v1/tickets/{number}/replies",
    tag = "replies",
    params(("number" = i64, Path, description = "The ticket number")),
    request_body = ReplyBody,
    security(("bearer" = [])),
    responses(
        (status = CREATED, body = ReplyAccepted, description = "Queued in the outbox"),
        (status = CONFLICT, body = ErrorBody, description = "`stale_version`: the ticket changed since `expected_version`; `error.details` is a StaleDetails. Also `merged`, `draft_closed`"),
        (status = NOT_FOUND, body = ErrorBody),
        (status = UNPROCESSABLE_ENTITY, body = ErrorBody),
        (status = FORBIDDEN, body = ErrorBody, description = "Integrators do not reply"),
    )
)]
pub(super) async fn create(
    caller: Auth<Work>,
    State(state): State<AppState>,
    Path(number): Path<i64>,
    Json(body): Json<ReplyBody>,
) -> Result<Response, ApiError> {
    let request = ReplyRequest {
        ticket: number,
        author: caller.name,
        body: body.body,
        subject: body.subject,
        lang: body.lang,
        expected_version: body.expected_version,
        draft: body.draft,
        send_anyway: body.send_anyway,
    };
    match crate::ticket::reply(state.live.store(), &request).await? {
        ReplyOutcome::Queued { reply, version, draft } => {
            state.live.wake();
            state.live.outbox_queued();
            let accepted = ReplyAccepted {
                ticket: number,
                version,
                reply: (*reply).into(),
                draft,
            };
            Ok((StatusCode::CREATED, axum::Json(accepted)).into_response())
        }
        ReplyOutcome::Stale {
            seen,
            current,
            changes,
            draft,
        } => {
            let count = changes.len();
            let details = StaleDetails {
                ticket: number,
                expected_version: seen,
                current_version: current,
                changes: changes.into_iter().map(ChangeItem::from).collect(),
                draft,
            };
            let details = serde_json::to_value(details)
                .map_err(|e| ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "internal", e.to_string()))?;
            Err(ApiError::new(
                StatusCode::CONFLICT,
                "stale_version",
                format!(
                    "ticket {number} changed since version {seen} ({count} change{} since; now version {current}): nothing was sent; your reply is kept as draft {draft}",
                    if count == 1 { "" } else { "s" }
                ),
            )
            .with_details(details))
        }
    }
}

/// Discard a draft kept by a 409.
#[utoipa::path(
    delete,
    path = "/api/v1/tickets/{number}/drafts/{draft}",
    tag = "replies",
    params(
        ("number" = i64, Path, description = "The ticket number"),
        ("draft" = i64, Path, description = "The draft id from the 409"),
    ),
    security(("bearer" = [])),
    responses(
        (status = NO_CONTENT, description = "Discarded"),
        (status = NOT_FOUND, body = ErrorBody),
        (status = CONFLICT, body = ErrorBody, description = "Already sent or discarded"),
    )
)]
pub(super) async fn discard(
    _caller: Auth<Work>,
    State(state): State<AppState>,
    Path((number, draft)): Path<(i64, i64)>,
) -> Result<StatusCode, ApiError> {
    crate::ticket::discard_draft(state.live.store(), number, draft).await?;
    Ok(StatusCode::NO_CONTENT)
}
