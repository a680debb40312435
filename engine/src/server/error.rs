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
    /// Headers the answer carries besides its body (`WWW-Authenticate` on a 401).
    pub headers: Vec<(axum::http::HeaderName, axum::http::HeaderValue)>,
}

impl ApiError {
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        ApiError {
            status,
            code,
            message: message.into(),
            details: Value::Null,
            headers: Vec::new(),
        }
    }

    /// The 404 for a ticket number that names no ticket, the same from every route.
    pub fn no_ticket(number: i64) -> Self {
        ApiError::new(
            StatusCode::NOT_FOUND,
            "no_ticket",
            format!("ticket {number} does not exist"),
        )
        .with_details(json!({ "ticket": number }))
    }

    pub fn with_details(mut self, details: Value) -> Self {
        self.details = details;
        self
    }

    pub fn with_header(mut self, name: axum::http::HeaderName, value: axum::http::HeaderValue) -> Self {
        self.headers.push((name, value));
        self
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = json!({
            "error": { "code": self.code, "message": self.message, "details": self.details }
        });
        let mut response = (self.status, axum::Json(body)).into_response();
        response.headers_mut().extend(self.headers);
        response
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

impl From<crate::store::StoreError> for ApiError {
    fn from(error: crate::store::StoreError) -> Self {
        use crate::store::StoreError;
        match error {
            // What the request asked for cannot be done as asked (a merge into itself, an
            // identity the customer does not have): the caller's to fix.
            StoreError::Invalid(message) => ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "invalid", message),
            StoreError::Json(e) => ApiError::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                "corrupt_data",
                format!("stored JSON is corrupt: {e}"),
            ),
            other => ApiError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "store_unavailable",
                format!("the database cannot answer now: {other}"),
            ),
        }
    }
}

impl From<crate::ticket::ReplyError> for ApiError {
    fn from(error: crate::ticket::ReplyError) -> Self {
        use crate::ticket::ReplyError;
        let message = error.to_string();
        let (status, code, details) = match error {
            ReplyError::Store(e) => return e.into(),
            ReplyError::NoTicket(n) => (StatusCode::NOT_FOUND, "no_ticket", json!({ "ticket": n })),
            ReplyError::Merged { ticket, into } => (
                StatusCode::CONFLICT,
                "merged",
                json!({ "ticket": ticket, "merged_into": into }),
            ),
            ReplyError::NoDraft { ticket, draft } => (
                StatusCode::NOT_FOUND,
                "no_draft",
                json!({ "ticket": ticket, "draft": draft }),
            ),
            ReplyError::DraftClosed { draft, state } => (
                StatusCode::CONFLICT,
                "draft_closed",
                json!({ "draft": draft, "state": state }),
            ),
            ReplyError::NoRecipient(n) => (StatusCode::UNPROCESSABLE_ENTITY, "no_recipient", json!({ "ticket": n })),
            ReplyError::EmptyBody
            | ReplyError::NoVersion
            | ReplyError::FutureVersion { .. }
            | ReplyError::AnywayWithoutDraft => (StatusCode::UNPROCESSABLE_ENTITY, "invalid", Value::Null),
        };
        ApiError::new(status, code, message).with_details(details)
    }
}

impl From<crate::exec::clocks::ClockError> for ApiError {
    fn from(error: crate::exec::clocks::ClockError) -> Self {
        use crate::exec::clocks::ClockError;
        match error {
            ClockError::NoTicket(n) => ApiError::no_ticket(n),
            ClockError::Store(e) => e.into(),
        }
    }
}

/// A JSON body that did not parse, said as the API says every refusal.
impl From<axum::extract::rejection::JsonRejection> for ApiError {
    fn from(rejection: axum::extract::rejection::JsonRejection) -> Self {
        ApiError::new(rejection.status(), "bad_body", rejection.body_text())
    }
}

/// A query string that did not parse.
impl From<axum::extract::rejection::QueryRejection> for ApiError {
    fn from(rejection: axum::extract::rejection::QueryRejection) -> Self {
        ApiError::new(StatusCode::BAD_REQUEST, "bad_query", rejection.body_text())
    }
}

/// A path parameter that did not parse (`/api/v1/tickets/abc`).
impl From<axum::extract::rejection::PathRejection> for ApiError {
    fn from(rejection: axum::extract::rejection::PathRejection) -> Self {
        ApiError::new(StatusCode::BAD_REQUEST, "bad_path", rejection.body_text())
    }
}
