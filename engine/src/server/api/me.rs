//! `GET /api/v1/me`: which token this is, and what its role may do.

use super::types::{ErrorBody, Me};
use crate::server::auth::{Auth, Read};
use axum::Json;

/// Who the bearer token is: its name and role.
#[utoipa::path(
    get,
    path = "/api/v1/me",
    tag = "auth",
    security(("bearer" = [])),
    responses(
        (status = OK, body = Me),
        (status = UNAUTHORIZED, body = ErrorBody, description = "No valid bearer token"),
    )
)]
pub(super) async fn me(caller: Auth<Read>) -> Json<Me> {
    Json(Me {
        name: caller.name,
        role: caller.role.as_str().to_owned(),
    })
}
