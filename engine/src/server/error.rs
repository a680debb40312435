//! The one error type of the HTTP layer: every refusal is `{"error": {"code", "message",
//! "details"}}` with the status that fits, so no handler builds an error response by hand.

use crate::exec::HookError;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

/// An answer that is not a success.
#[derive(Debug)]
pub struct ApiError {
    pub status: StatusCode,
    /// Stable and machine-readable: `unknown_hook`, `unauthenticated`, `payload_too_large`, ...
    pub code: &'static str,
    /// For people: what was wrong and what to do.
    pub message: String,
    pub details: Value,
}

impl ApiError {
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        ApiError {
            status,
            code,
            message: message.into(),
            details: Value::Null,
        }
    }

    pub fn with_details(mut self, details: Value) -> Self {
        self.details = details;
        self
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = json!({
            "error": { "code": self.code, "message": self.message, "details": self.details }
        });
        (self.status, axum::Json(body)).into_response()
    }
}

impl From<HookError> for ApiError {
    fn from(error: HookError) -> Self {
        let message = error.to_string();
        let (status, code) = match &error {
            HookError::UnknownHook { .. } => (StatusCode::NOT_FOUND, "unknown_hook"),
            HookError::Rejected { .. } => (StatusCode::UNAUTHORIZED, "unauthenticated"),
            // The sender did nothing wrong: it may try again later.
            HookError::Unavailable { .. } => (StatusCode::SERVICE_UNAVAILABLE, "channel_unavailable"),
            HookError::Store { .. } => (StatusCode::SERVICE_UNAVAILABLE, "store_unavailable"),
        };
        let hook = match &error {
            HookError::UnknownHook { hook }
            | HookError::Rejected { hook, .. }
            | HookError::Unavailable { hook, .. }
            | HookError::Store { hook, .. } => hook.clone(),
        };
        ApiError::new(status, code, message).with_details(json!({ "hook": hook }))
    }
}
