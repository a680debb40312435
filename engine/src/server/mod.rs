//! The HTTP face of `weft serve`, and nothing else: handlers parse the request, call a
//! function of [`crate::exec::Live`] that the CLI could call too, and render its answer.
//! No SQL, no wasmtime, no business rule here.
//!
//! # Layout
//! - [`error`]: [`ApiError`], the one error type, rendered as `{"error": {"code", "message",
//!   "details"}}` with its status.
//! - `hooks`: `POST /hooks/{id}` (webhooks) and `GET /hooks/{id}` (subscription checks).
//! - `ops`: `/healthz`, `/readyz`, `/metrics`.
//! - [`auth`]: bearer tokens and roles as an extractor (`Auth<Work>` in a handler's signature).
//! - [`api`]: `/api/v1`, with its OpenAPI document generated from the handlers.
//!
//! Open without a token: `/healthz`, `/readyz`, `/metrics` (counts only, no buyer data or
//! names; Prometheus scrapes it from inside the network), the webhooks (their channel checks
//! the vendor's signature) and `/api/v1/openapi.json`. Everything else under `/api/v1` needs a
//! bearer token whose role the route names.

pub mod api;
pub mod auth;
pub mod error;
mod hooks;
mod ops;

pub use error::ApiError;

use crate::exec::Live;
use axum::Router;
use axum::routing::get;
use std::future::Future;
use std::sync::Arc;
use tokio::net::TcpListener;

/// What the server needs to know beyond the live engine.
#[derive(Debug, Clone)]
pub struct ServeConfig {
    /// The largest webhook body accepted; larger ones get 413.
    pub max_body_bytes: usize,
}

impl Default for ServeConfig {
    fn default() -> Self {
        ServeConfig {
            max_body_bytes: 1024 * 1024,
        }
    }
}

/// What every handler gets.
#[derive(Debug, Clone)]
pub(crate) struct AppState {
    pub live: Arc<Live>,
    pub config: Arc<ServeConfig>,
    /// The OpenAPI document of `/api/v1`, serialized once.
    pub openapi: Arc<String>,
}

/// The routes.
pub fn router(config: ServeConfig, live: Arc<Live>) -> Router {
    let (api, openapi) = api::routes().split_for_parts();
    let state = AppState {
        live,
        config: Arc::new(config),
        openapi: Arc::new(openapi.to_json().expect("the OpenAPI document serializes")),
    };
    Router::new()
        .merge(api)
        .route("/hooks/{id}", get(hooks::handshake).post(hooks::receive))
        .route("/healthz", get(ops::healthz))
        .route("/readyz", get(ops::readyz))
        .route("/metrics", get(ops::metrics))
        .fallback(ops::not_found)
        .with_state(state)
}

/// Serves on `listener` until `shutdown` completes, then stops accepting and returns once the
/// requests in flight are answered.
pub async fn serve(
    listener: TcpListener,
    config: ServeConfig,
    live: Arc<Live>,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    axum::serve(listener, router(config, live))
        .with_graceful_shutdown(shutdown)
        .await
}
