//! Customers: search by email, phone, order number or name; one customer with identities and
//! the evidence of every link; merges and splits (admins).

use super::extract::{Json, Path, Query};
use super::types::*;
use crate::server::auth::{Admin, Auth, Read};
use crate::server::{ApiError, AppState};
use crate::store::customers::CustomerQuery;
use axum::extract::State;
use axum::http::StatusCode;

fn no_customer(id: i64) -> ApiError {
    ApiError::new(
        StatusCode::NOT_FOUND,
        "no_customer",
        format!("customer {id} does not exist"),
    )
    .with_details(serde_json::json!({ "customer": id }))
}

/// Find customers by email, phone, order number or name (all given must match).
#[utoipa::path(
    get,
    path = "/api/v1/customers",
    tag = "customers",
    params(CustomerSearch),
    security(("bearer" = [])),
    responses(
        (status = OK, body = CustomerList),
        (status = UNPROCESSABLE_ENTITY, body = ErrorBody, description = "Nothing to search by"),
    )
)]
pub(super) async fn search(
    _caller: Auth<Read>,
    State(state): State<AppState>,
    Query(search): Query<CustomerSearch>,
) -> Result<axum::Json<CustomerList>, ApiError> {
    let limit = super::tickets::limit(search.limit)?;
    let blank = |v: &Option<String>| v.as_deref().is_none_or(|v| v.trim().is_empty());
    if blank(&search.email) && blank(&search.phone) && blank(&search.order) && blank(&search.name) {
        return Err(ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid",
            "search by at least one of email, phone, order, name",
        ));
    }
    if let Some(phone) = &search.phone
        && phone.chars().filter(char::is_ascii_digit).count() < 6
    {
        return Err(ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid",
            format!("phone {phone:?}: give at least 6 digits"),
        ));
    }
    let store = state.live.store();
    let found = store
        .search_customers(&CustomerQuery {
            email: search.email.filter(|v| !v.trim().is_empty()),
            phone: search.phone.filter(|v| !v.trim().is_empty()),
            order: search.order.filter(|v| !v.trim().is_empty()),
            name: search.name.filter(|v| !v.trim().is_empty()),
            limit,
        })
        .await?;
    let mut customers = Vec::with_capacity(found.len());
    for id in found {
        if let Some(record) = store.customer_record(id).await? {
            customers.push(record.into());
        }
    }
    Ok(axum::Json(CustomerList { customers }))
}

/// One customer: identities of it and of the customers merged into it, each with the message
/// it came on and the decisions (reason, evidence) that linked it; merges and splits.
#[utoipa::path(
    get,
    path = "/api/v1/customers/{id}",
    tag = "customers",
    params(("id" = i64, Path, description = "The customer id")),
    security(("bearer" = [])),
    responses(
        (status = OK, body = CustomerDetail),
        (status = NOT_FOUND, body = ErrorBody),
    )
)]
pub(super) async fn get(
    _caller: Auth<Read>,
    State(state): State<AppState>,
    Path(id): Path<i64>,
) -> Result<axum::Json<CustomerDetail>, ApiError> {
    let record = state
        .live
        .store()
        .customer_record(id)
        .await?
        .ok_or_else(|| no_customer(id))?;
    Ok(axum::Json(record.into()))
}

/// Merge customers into this one (admins); undo with split.
#[utoipa::path(
    post,
    path = "/api/v1/customers/{id}/merge",
    tag = "customers",
    params(("id" = i64, Path, description = "The customer the others join")),
    request_body = MergeBody,
    security(("bearer" = [])),
    responses(
        (status = OK, body = Merged),
        (status = UNPROCESSABLE_ENTITY, body = ErrorBody),
        (status = FORBIDDEN, body = ErrorBody, description = "Only admins merge"),
    )
)]
pub(super) async fn merge(
    caller: Auth<Admin>,
    State(state): State<AppState>,
    Path(id): Path<u64>,
    Json(body): Json<MergeBody>,
) -> Result<axum::Json<Merged>, ApiError> {
    let merged =
        crate::operations::merge_customers(state.live.store(), id, &body.from, body.reason, Some(&caller.name)).await?;
    Ok(axum::Json(Merged {
        into: id as i64,
        merged,
    }))
}

/// Split a customer (admins): undo the merge that formed it, or move the given identities (and
/// the messages and tickets that came with them) to a new customer.
#[utoipa::path(
    post,
    path = "/api/v1/customers/{id}/split",
    tag = "customers",
    params(("id" = i64, Path, description = "The customer to split")),
    request_body = SplitBody,
    security(("bearer" = [])),
    responses(
        (status = OK, body = SplitDone),
        (status = UNPROCESSABLE_ENTITY, body = ErrorBody),
        (status = FORBIDDEN, body = ErrorBody, description = "Only admins split"),
    )
)]
pub(super) async fn split(
    caller: Auth<Admin>,
    State(state): State<AppState>,
    Path(id): Path<u64>,
    Json(body): Json<SplitBody>,
) -> Result<axum::Json<SplitDone>, ApiError> {
    let mut identities = Vec::with_capacity(body.identities.len());
    for (i, text) in body.identities.iter().enumerate() {
        let identity = crate::operations::parse_identity(text).map_err(|e| {
            ApiError::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "invalid",
                format!("identities[{i}]: {e}"),
            )
        })?;
        identities.push(identity);
    }
    let split =
        crate::operations::split_customer(state.live.store(), id, &identities, body.reason, Some(&caller.name)).await?;
    Ok(axum::Json(SplitDone {
        kept: split.kept,
        split: split.split,
        summary: crate::operations::describe_split(&split),
        messages: split.messages,
        tickets: split.tickets,
    }))
}
