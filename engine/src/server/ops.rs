//! Operations: liveness, readiness and metrics.

use super::{ApiError, AppState};
use crate::exec::live::ReloadState;
use axum::extract::State;
use axum::http::{StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use serde_json::json;

/// `GET /healthz`: the process answers.
pub(super) async fn healthz() -> Response {
    axum::Json(json!({ "status": "ok" })).into_response()
}

/// `GET /readyz`: the database answers; says what is loaded (each workflow with its version)
/// and what became of the last reload. A refused reload leaves the server ready, running the
/// version before it: the answer lists the problems that refused it.
pub(super) async fn readyz(State(state): State<AppState>) -> Result<Response, ApiError> {
    let live = &state.live;
    live.store().ping().await.map_err(|e| {
        ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "not_ready",
            format!("the database does not answer: {e}"),
        )
    })?;
    let pipeline = live.pipeline();
    let channels: Vec<&str> = pipeline.channels.mounts.iter().map(|m| m.id.as_str()).collect();
    let workflows: Vec<&str> = pipeline.workflows.iter().map(|w| w.name.as_str()).collect();
    let versions: serde_json::Map<String, serde_json::Value> = pipeline
        .workflows
        .iter()
        .map(|w| (w.name.clone(), w.version.clone().into()))
        .collect();
    let reload = live.last_reload();
    let at = crate::store::report::rfc3339(reload.at);
    let reload = match reload.state {
        ReloadState::None => json!({ "state": "none" }),
        ReloadState::Applied => json!({ "state": "applied", "at": at }),
        ReloadState::Refused(problems) => json!({
            "state": "refused",
            "at": at,
            "message": "the change was refused; the version loaded before it keeps running",
            "problems": problems,
        }),
    };
    Ok(axum::Json(json!({
        "status": "ready",
        "database": "ok",
        "workflows": workflows,
        "workflow_versions": versions,
        "channels": channels,
        "reload": reload,
    }))
    .into_response())
}

/// `GET /metrics`: Prometheus text format.
pub(super) async fn metrics(State(state): State<AppState>) -> Result<Response, ApiError> {
    let text = state.live.metrics_text().await.map_err(|e| {
        ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "store_unavailable",
            format!("the queue cannot be read: {e}"),
        )
    })?;
    Ok(([(header::CONTENT_TYPE, crate::metrics::CONTENT_TYPE)], text).into_response())
}

/// Any other path.
pub(super) async fn not_found(uri: Uri) -> ApiError {
    ApiError::new(
        StatusCode::NOT_FOUND,
        "not_found",
        format!("no route for `{}`", uri.path()),
    )
}
