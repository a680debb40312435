//! Bearer-token authentication and role checks as an extractor: a handler that names
//! `Auth<Work>` in its signature runs only for a live token whose role may work tickets, so
//! what a route needs is visible at a glance. 401 when there is no valid token, 403 when its
//! role is not enough, each saying which. Tokens are never logged; their names are.

use super::{ApiError, AppState};
use crate::auth::{Need, Role, token_hash};
use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{HeaderValue, StatusCode, header};
use serde_json::json;
use std::marker::PhantomData;

/// What a route needs, as a type: [`Read`], [`Work`], [`Admin`], [`Export`].
pub trait Requirement: Send + Sync + 'static {
    const NEED: Need;
}

/// Reading tickets and customers: any role.
#[derive(Debug)]
pub struct Read;
/// Working tickets: agents and admins.
#[derive(Debug)]
pub struct Work;
/// Merges, splits, replays, tokens: admins.
#[derive(Debug)]
pub struct Admin;
/// Exports: integrators and admins.
#[derive(Debug)]
pub struct Export;

impl Requirement for Read {
    const NEED: Need = Need::Read;
}
impl Requirement for Work {
    const NEED: Need = Need::Work;
}
impl Requirement for Admin {
    const NEED: Need = Need::Admin;
}
impl Requirement for Export {
    const NEED: Need = Need::Export;
}

/// The caller of a route: a live token whose role meets `R`.
#[derive(Debug)]
pub struct Auth<R> {
    /// The token's name: who did it, in the decision log and on replies.
    pub name: String,
    pub role: Role,
    need: PhantomData<R>,
}

/// A 401 with the challenge RFC 6750 asks for.
fn unauthenticated(code: &'static str, message: String) -> ApiError {
    tracing::warn!(code, "api request refused: {message}");
    ApiError::new(StatusCode::UNAUTHORIZED, code, message).with_header(
        header::WWW_AUTHENTICATE,
        HeaderValue::from_static("Bearer realm=\"weft\""),
    )
}

impl<R: Requirement> FromRequestParts<AppState> for Auth<R> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let need = R::NEED;
        let Some(value) = parts.headers.get(header::AUTHORIZATION) else {
            return Err(unauthenticated(
                "token_missing",
                format!(
                    "this route needs a bearer token with {}: send `Authorization: Bearer <token>` (`weft token create` makes one)",
                    need.describe()
                ),
            ));
        };
        let text = value.to_str().unwrap_or("");
        let (scheme, secret) = text.split_once(' ').unwrap_or((text, ""));
        if !scheme.eq_ignore_ascii_case("bearer") || secret.trim().is_empty() {
            // Whatever was sent is not repeated: it may be a credential.
            return Err(unauthenticated(
                "token_missing",
                "the Authorization header must be `Bearer <token>`".to_owned(),
            ));
        }
        let found = state
            .live
            .store()
            .token_by_hash(&token_hash(secret.trim()))
            .await
            .map_err(|e| {
                ApiError::new(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "store_unavailable",
                    format!("tokens cannot be checked now: {e}"),
                )
            })?;
        let Some(token) = found else {
            return Err(unauthenticated(
                "token_invalid",
                "the bearer token is not valid: no live token has it (it was revoked, or made for another database)"
                    .to_owned(),
            ));
        };
        let Some(role) = Role::parse(&token.role) else {
            return Err(unauthenticated(
                "token_invalid",
                format!("token `{}` has an unknown role `{}`", token.name, token.role),
            ));
        };
        if !need.allows(role) {
            let message = format!(
                "this route needs {}; token `{}` has {role}",
                need.describe(),
                token.name
            );
            tracing::warn!(token = %token.name, %role, "api request forbidden");
            return Err(
                ApiError::new(StatusCode::FORBIDDEN, "forbidden", message).with_details(json!({
                    "token": token.name,
                    "role": role.as_str(),
                    "needs": need.roles().iter().map(|r| r.as_str()).collect::<Vec<_>>(),
                })),
            );
        }
        Ok(Auth {
            name: token.name,
            role,
            need: PhantomData,
        })
    }
}
