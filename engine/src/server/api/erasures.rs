//! Erasures of personal data that marketplaces asked for (Shopify's `customers/redact` and
//! `shop/redact`, eBay's account deletion): what asked, and what was erased.

use super::extract::Path;
use super::types::*;
use crate::server::auth::{Auth, Read};
use crate::server::{ApiError, AppState};
use axum::extract::State;
use axum::http::StatusCode;

/// Every erasure, newest first.
#[utoipa::path(
    get,
    path = "/api/v1/erasures",
    tag = "erasures",
    security(("bearer" = [])),
    responses((status = OK, body = ErasureList))
)]
pub(super) async fn list(
    _caller: Auth<Read>,
    State(state): State<AppState>,
) -> Result<axum::Json<ErasureList>, ApiError> {
    let erasures = state.live.store().erasures().await?;
    Ok(axum::Json(ErasureList {
        erasures: erasures.into_iter().map(ErasureView::from).collect(),
    }))
}

/// One erasure, with the customers and tickets it touched.
#[utoipa::path(
    get,
    path = "/api/v1/erasures/{id}",
    tag = "erasures",
    params(("id" = i64, Path, description = "The erasure id")),
    security(("bearer" = [])),
    responses(
        (status = OK, body = ErasureView),
        (status = NOT_FOUND, body = ErrorBody, description = "No erasure with that id"),
    )
)]
pub(super) async fn get(
    _caller: Auth<Read>,
    State(state): State<AppState>,
    Path(id): Path<i64>,
) -> Result<axum::Json<ErasureView>, ApiError> {
    let erasure = state.live.store().erasure(id).await?.ok_or_else(|| {
        ApiError::new(
            StatusCode::NOT_FOUND,
            "no_erasure",
            format!("erasure {id} does not exist"),
        )
    })?;
    Ok(axum::Json(ErasureView::from(erasure)))
}
