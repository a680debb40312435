//! The HTTP face of `weft serve`, and nothing else: handlers parse the request, call a
//! function of [`crate::exec::Live`] that the CLI could call too, and render its answer.
//! No SQL, no wasmtime, no business rule here.
//!
//! # Layout
//! - [`error`]: [`ApiError`], the one error type, rendered as `{"error": {"code", "message",
//!   "details"}}` with its status.
//! - `hooks`: `POST /hooks/{id}` (webhooks) and `GET /hooks/{id}` (subscription checks).
//! - `chat`: `/chat/{hook}/...`, the live chat of the seller's website: the widget script,
//!   conversations, visitor posts and the visitor's stream (open to any origin; a
//!   conversation's token is the credential).
//! - `ops`: `/healthz`, `/readyz`, `/metrics`.
//! - [`auth`]: bearer tokens and roles as an extractor (`Auth<Work>` in a handler's signature).
//! - [`api`]: `/api/v1`, with its OpenAPI document generated from the handlers; among them
//!   the live stream (`GET /api/v1/stream`, Server-Sent Events) and presence on tickets.
//!
//! The live stream is fed from rows, not from handlers: every change writes a row of the
//! store's change log in its own transaction (`store::changes`), and `exec::Feed` reads them
//! in commit order, so a change made through this node's API, its live loop, a command or
//! another node reaches every node's clients. A request under `/api/v1` that may have written
//! only wakes the feed, so that its change goes out at once rather than at the next poll.
//! Stopping the server ends every stream first (they would otherwise never finish).
//!
//! Open without a token: `/healthz`, `/readyz`, `/metrics` (counts only, no buyer data or
//! names; Prometheus scrapes it from inside the network), the webhooks (their channel checks
//! the vendor's signature), the chat routes (the conversation's token) and
//! `/api/v1/openapi.json`. Everything else under `/api/v1` needs a
//! bearer token whose role the route names.

pub mod api;
pub mod auth;
mod chat;
pub mod error;
mod hooks;
mod ops;

pub use error::ApiError;

use crate::exec::Live;
use axum::Router;
use axum::extract::{Request, State};
use axum::http::Method;
use axum::middleware::Next;
use axum::response::Response;
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
    let api = api.layer(axum::middleware::from_fn_with_state(state.clone(), wake_stream));
    Router::new()
        .merge(api)
        .route("/hooks/{id}", get(hooks::handshake).post(hooks::receive))
        .merge(chat::routes())
        .route("/healthz", get(ops::healthz))
        .route("/readyz", get(ops::readyz))
        .route("/metrics", get(ops::metrics))
        .fallback(ops::not_found)
        .with_state(state)
}

/// After an API request that may have written (anything but `GET` and `HEAD`) and succeeded,
/// the stream reads the change log now instead of at its next poll.
async fn wake_stream(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let writes = !matches!(*request.method(), Method::GET | Method::HEAD);
    let response = next.run(request).await;
    if writes && response.status().is_success() {
        state.live.feed().wake();
    }
    response
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
