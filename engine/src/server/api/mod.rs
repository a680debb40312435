//! `/api/v1`: the REST API agents, admins and integrators use. JSON in and out; every refusal
//! is an [`ApiError`](super::ApiError).
//!
//! Every route is mounted through [`routes`], which takes each handler's `#[utoipa::path]`
//! description with it, so the OpenAPI 3.1 document (`GET /api/v1/openapi.json`) is generated
//! from the same code that serves and cannot drift from it.
//!
//! # Layout
//! - [`types`]: the API's own types (what the document describes), apart from store rows.
//! - `extract`: axum's extractors, refusing with [`ApiError`](super::ApiError)s.
//! - `me`: who a token is.
//! - `tickets`: lists, one ticket with its timeline, status, assignment, merge, unmerge.
//! - `replies`: replies guarded by the ticket version, and drafts.
//! - `customers`: search, one customer with the evidence of its links, merge, split.
//! - `dead_letters`: listing and replaying them.
//! - `tokens`: making, listing and revoking tokens (admins), as `weft token` does.
//! - `presence`: who is viewing or typing on a ticket (posted, read, left).
//! - `stream`: `GET /api/v1/stream`, Server-Sent Events of ticket changes, messages, replies
//!   and presence as they commit on any node (fed by `exec::Feed`).

mod customers;
mod dead_letters;
mod erasures;
pub(super) mod extract;
mod me;
mod presence;
mod replies;
mod stream;
mod tickets;
mod tokens;
pub mod types;

use super::AppState;
use axum::response::{IntoResponse, Response};
use utoipa::openapi::security::{Http, HttpAuthScheme, SecurityScheme};
use utoipa::{Modify, OpenApi};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

/// The path every route of the API starts with.
pub const PREFIX: &str = "/api/v1";

#[derive(OpenApi)]
#[openapi(
    info(
        title = "weft",
        description = "The API of `weft serve`: tickets, customers and the actions agents take on them. \
                       Every route but this document needs `Authorization: Bearer <token>` \
                       (`weft token create`); errors are `{\"error\": {\"code\", \"message\", \"details\"}}`."
    ),
    modifiers(&BearerScheme),
    components(schemas(types::ErrorBody, types::ErrorDetail))
)]
struct ApiDoc;

/// Declares the bearer scheme the routes' `security(("bearer" = []))` name.
struct BearerScheme;

impl Modify for BearerScheme {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme("bearer", SecurityScheme::Http(Http::new(HttpAuthScheme::Bearer)));
    }
}

/// Every route of the API with its description. Routes are only ever added here, through
/// `routes!`, so each is in the document (a test checks that no route bypasses it).
pub(crate) fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::with_openapi(ApiDoc::openapi())
        .routes(routes!(openapi_json))
        .routes(routes!(me::me))
        .routes(routes!(tickets::list))
        .routes(routes!(tickets::get))
        .routes(routes!(tickets::status))
        .routes(routes!(tickets::assign))
        .routes(routes!(tickets::merge))
        .routes(routes!(tickets::unmerge))
        .routes(routes!(replies::create))
        .routes(routes!(replies::discard))
        .routes(routes!(customers::search))
        .routes(routes!(customers::get))
        .routes(routes!(customers::merge))
        .routes(routes!(customers::split))
        .routes(routes!(dead_letters::list))
        .routes(routes!(dead_letters::replay))
        .routes(routes!(erasures::list))
        .routes(routes!(erasures::get))
        .routes(routes!(presence::post, presence::get, presence::delete))
        .routes(routes!(stream::stream))
        .routes(routes!(tokens::list, tokens::create))
        .routes(routes!(tokens::revoke))
}

/// The OpenAPI document of the API, as `GET /api/v1/openapi.json` serves it.
pub fn openapi() -> utoipa::openapi::OpenApi {
    routes().into_openapi()
}

/// `GET /api/v1/openapi.json`: this API's OpenAPI 3.1 document. Needs no token.
#[utoipa::path(
    get,
    path = "/api/v1/openapi.json",
    tag = "meta",
    responses((status = OK, description = "The OpenAPI 3.1 document", content_type = "application/json"))
)]
async fn openapi_json(axum::extract::State(state): axum::extract::State<AppState>) -> Response {
    (
        [(axum::http::header::CONTENT_TYPE, "application/json")],
        state.openapi.as_str().to_owned(),
    )
        .into_response()
}
