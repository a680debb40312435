//! Tokens, managed by admins: the same as `weft token create|list|revoke`, over the API.

use super::extract::{Json, Path};
use super::types::*;
use crate::auth::{IssueError, Role, issue_token};
use crate::server::auth::{Admin, Auth};
use crate::server::{ApiError, AppState};
use axum::extract::State;
use axum::http::StatusCode;
use serde_json::json;

/// Every token, live and revoked, oldest first (admins). Never the tokens themselves.
#[utoipa::path(
    get,
    path = "/api/v1/tokens",
    tag = "tokens",
    security(("bearer" = [])),
    responses(
        (status = OK, body = TokenList),
        (status = FORBIDDEN, body = ErrorBody, description = "Only admins manage tokens"),
    )
)]
pub(super) async fn list(
    _caller: Auth<Admin>,
    State(state): State<AppState>,
) -> Result<axum::Json<TokenList>, ApiError> {
    let tokens = state.live.store().tokens().await?;
    Ok(axum::Json(TokenList {
        tokens: tokens.into_iter().map(TokenView::from).collect(),
    }))
}

/// Make a token (admins). The answer holds the token; it is shown only there.
#[utoipa::path(
    post,
    path = "/api/v1/tokens",
    tag = "tokens",
    request_body = TokenBody,
    security(("bearer" = [])),
    responses(
        (status = CREATED, body = CreatedToken),
        (status = UNPROCESSABLE_ENTITY, body = ErrorBody, description = "A bad name or role, or a live token has the name"),
        (status = FORBIDDEN, body = ErrorBody, description = "Only admins manage tokens"),
    )
)]
pub(super) async fn create(
    caller: Auth<Admin>,
    State(state): State<AppState>,
    Json(body): Json<TokenBody>,
) -> Result<(StatusCode, axum::Json<CreatedToken>), ApiError> {
    let role = Role::parse(&body.role).ok_or_else(|| {
        ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid",
            format!("role {:?}: expected agent, admin or integrator", body.role),
        )
        .with_details(json!({ "field": "role" }))
    })?;
    let (row, secret) = issue_token(state.live.store(), &body.name, role)
        .await
        .map_err(|e| match e {
            IssueError::BadName(message) => ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "invalid", message)
                .with_details(json!({ "field": "name" })),
            IssueError::Random(e) => ApiError::new(StatusCode::SERVICE_UNAVAILABLE, "no_randomness", format!("{e:#}")),
            IssueError::Store(e) => e.into(),
        })?;
    tracing::info!(token = %row.name, role = %row.role, by = %caller.name, "token created");
    Ok((
        StatusCode::CREATED,
        axum::Json(CreatedToken {
            token: row.into(),
            secret,
        }),
    ))
}

/// Revoke the live token with this name (admins); requests with it fail from now on.
#[utoipa::path(
    delete,
    path = "/api/v1/tokens/{name}",
    tag = "tokens",
    params(("name" = String, Path, description = "The token's name")),
    security(("bearer" = [])),
    responses(
        (status = NO_CONTENT, description = "Revoked"),
        (status = NOT_FOUND, body = ErrorBody, description = "No live token has that name"),
        (status = FORBIDDEN, body = ErrorBody, description = "Only admins manage tokens"),
    )
)]
pub(super) async fn revoke(
    caller: Auth<Admin>,
    State(state): State<AppState>,
    Path(name): Path<String>,
) -> Result<StatusCode, ApiError> {
    if !state.live.store().revoke_token(&name).await? {
        return Err(ApiError::new(
            StatusCode::NOT_FOUND,
            "no_token",
            format!("there is no live token named `{name}`"),
        )
        .with_details(json!({ "name": name })));
    }
    tracing::info!(token = %name, by = %caller.name, "token revoked");
    Ok(StatusCode::NO_CONTENT)
}
