//! The HTTP face of `weft serve`, and nothing else: handlers parse the request, call a
//! function of [`crate::exec::Live`] that the CLI could call too, and render its answer.
//! No SQL, no wasmtime, no business rule here.
//!
//! # Layout
//! - [`error`]: [`ApiError`], the one error type, rendered as `{"error": {"code", "message",
//!   "details"}}` with its status.
//! - `hooks`: `POST /hooks/{id}` (webhooks) and `GET /hooks/{id}` (subscription checks).
//! - `ops`: `/healthz`, `/readyz`, `/metrics`.

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
    /// How often a quiet live stream sends a comment, so that proxies keep it open.
    pub keep_alive: std::time::Duration,
}

impl Default for ServeConfig {
    fn default() -> Self {
        ServeConfig {
            max_body_bytes: 1024 * 1024,
            keep_alive: std::time::Duration::from_secs(15),
        }
    }
}

/// What every handler gets.
#[derive(Debug, Clone)]
pub(crate) struct AppState {
    pub live: Arc<Live>,
    pub config: Arc<ServeConfig>,
}

/// The routes.
pub fn router(config: ServeConfig, live: Arc<Live>) -> Router {
    let state = AppState {
        live,
        config: Arc::new(config),
    };
    Router::new()
        .route("/hooks/{id}", get(hooks::handshake).post(hooks::receive))
        .route("/healthz", get(ops::healthz))
        .route("/readyz", get(ops::readyz))
        .route("/metrics", get(ops::metrics))
        .fallback(ops::not_found)
        .with_state(state)
}

/// Serves on `listener` until `shutdown` completes, then stops accepting, ends the live
/// streams (which would otherwise never finish), and returns once the requests in flight are
/// answered.
pub async fn serve(
    listener: TcpListener,
    config: ServeConfig,
    live: Arc<Live>,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let feed = Arc::clone(live.feed());
    let shutdown = async move {
        shutdown.await;
        feed.close();
    };
    axum::serve(listener, router(config, live))
        .with_graceful_shutdown(shutdown)
        .await
}
