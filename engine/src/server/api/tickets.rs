//! Tickets: lists with filters and cursors, one ticket with its timeline, and what agents and
//! admins do to them (status, assignment, merge, unmerge).

use super::extract::{Json, Path, Query};
use super::types::*;
use crate::exec::clocks::{Status, set_status_for};
use crate::server::auth::{Admin, Auth, Read, Work};
use crate::server::{ApiError, AppState};
use crate::store::tickets::TicketFilter;
use axum::extract::State;
use axum::http::StatusCode;

const DEFAULT_LIMIT: i64 = 50;
const MAX_LIMIT: i64 = 200;

fn invalid(message: String) -> ApiError {
    ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "invalid", message)
}

/// The limit asked for, checked.
pub(super) fn limit(asked: Option<i64>) -> Result<i64, ApiError> {
    match asked {
        None => Ok(DEFAULT_LIMIT),
        Some(n) if (1..=MAX_LIMIT).contains(&n) => Ok(n),
        Some(n) => Err(invalid(format!("limit {n}: expected 1 to {MAX_LIMIT}"))),
    }
}

/// List tickets (unmerged ones, newest first), filtered, a page at a time.
#[utoipa::path(
    get,
    path = "/api/v1/tickets",
    tag = "tickets",
    params(TicketListQuery),
    security(("bearer" = [])),
    responses(
        (status = OK, body = TicketPage),
        (status = UNPROCESSABLE_ENTITY, body = ErrorBody, description = "A filter or the cursor is malformed"),
        (status = UNAUTHORIZED, body = ErrorBody),
    )
)]
pub(super) async fn list(
    _caller: Auth<Read>,
    State(state): State<AppState>,
    Query(query): Query<TicketListQuery>,
) -> Result<axum::Json<TicketPage>, ApiError> {
    let limit = limit(query.limit)?;
    let before = match &query.cursor {
        None => None,
        Some(cursor) => Some(
            cursor
                .parse::<i64>()
                .ok()
                .filter(|n| *n > 0)
                .ok_or_else(|| invalid(format!("cursor {cursor:?} is not one this API gave")))?,
        ),
    };
    let at_risk_before = if query.at_risk.unwrap_or(false) {
        let within = match &query.at_risk_within {
            Some(text) => weft_sdk::duration::Duration::parse(text)
                .map_err(|e| invalid(format!("at_risk_within {text:?}: {e}")))?
                .as_millis(),
            None => 3_600_000,
        };
        Some(crate::store::now_ms() + within)
    } else {
        if query.at_risk_within.is_some() {
            return Err(invalid("at_risk_within needs at_risk=true".to_owned()));
        }
        None
    };
    let filter = TicketFilter {
        status: query.status,
        assignee: query.assignee,
        team: query.team,
        channel: query.channel,
        category: query.category,
        at_risk_before,
        before,
        // One more than asked says whether there is a next page.
        limit: limit + 1,
    };
    let mut rows = state.live.store().list_tickets(&filter).await?;
    let next_cursor = if rows.len() as i64 > limit {
        rows.truncate(limit as usize);
        rows.last().map(|r| r.number.to_string())
    } else {
        None
    };
    Ok(axum::Json(TicketPage {
        tickets: rows.into_iter().map(TicketSummary::from).collect(),
        next_cursor,
    }))
}

/// One ticket with its version, customer, order, deadlines, drafts, and its timeline across
/// channels: messages both ways, queued replies, decisions with reasons and evidence, merges,
/// status and assignment changes.
#[utoipa::path(
    get,
    path = "/api/v1/tickets/{number}",
    tag = "tickets",
    params(("number" = i64, Path, description = "The ticket number")),
    security(("bearer" = [])),
    responses(
        (status = OK, body = TicketDetail),
        (status = NOT_FOUND, body = ErrorBody),
        (status = UNAUTHORIZED, body = ErrorBody),
    )
)]
pub(super) async fn get(
    _caller: Auth<Read>,
    State(state): State<AppState>,
    Path(number): Path<i64>,
) -> Result<axum::Json<TicketDetail>, ApiError> {
    let snapshot = state
        .live
        .store()
        .ticket_snapshot(number)
        .await?
        .ok_or_else(|| ApiError::no_ticket(number))?;
    let row = snapshot.row;
    let mut timeline: Vec<(i64, TimelineItem)> = Vec::new();
    for entry in snapshot.timeline {
        let at = entry.message.at;
        let via = (entry.ticket != number).then_some(entry.ticket);
        timeline.push((
            at,
            TimelineItem::Message {
                at: time(at),
                message: MessageItem::new(entry.message, entry.direction, via),
            },
        ));
    }
    for reply in snapshot.outbox {
        let at = reply.created_at;
        timeline.push((
            at,
            TimelineItem::Reply {
                at: time(at),
                reply: reply.into(),
            },
        ));
    }
    for d in snapshot.decisions {
        timeline.push((
            d.at,
            TimelineItem::Decision {
                at: time(d.at),
                decision: DecisionItem {
                    event: d.event,
                    workflow: d.workflow,
                    workflow_version: d.workflow_version,
                    step: d.step,
                    plugin: d.plugin,
                    command: d.command,
                    reason: d.reason,
                    evidence: d
                        .evidence
                        .into_iter()
                        .map(|e| EvidenceItem {
                            field: e.field,
                            detail: e.detail,
                            weight: e.weight,
                        })
                        .collect(),
                },
            },
        ));
    }
    for m in snapshot.merges {
        timeline.push((
            m.at,
            TimelineItem::Merge {
                at: time(m.at),
                into: m.into,
                from: m.from,
                reason: m.reason,
                undone_at: m.undone_at.map(time),
            },
        ));
    }
    for change in snapshot.changes {
        if let crate::store::tickets::Change::Other {
            version,
            kind,
            detail,
            author,
            at,
        } = change
        {
            timeline.push((
                at,
                TimelineItem::Change {
                    at: time(at),
                    version,
                    kind,
                    detail,
                    author,
                },
            ));
        }
    }
    // Stable: entries of one time keep the order above (a message before what it caused).
    timeline.sort_by_key(|(at, _)| *at);
    let customer_detail = snapshot.customer.map(|c| CustomerBrief {
        id: c.root,
        identities: c
            .identities
            .into_iter()
            .map(|i| IdentityBrief {
                kind: i.kind,
                value: i.value,
            })
            .collect(),
    });
    let order_detail = row.order.clone().map(|order| OrderInfo {
        number: order,
        other_tickets: snapshot.order_tickets,
        orders: snapshot.orders.into_iter().map(OrderRecord::from).collect(),
    });
    let deadlines = snapshot.deadlines.into_iter().map(Deadline::from).collect();
    let drafts = snapshot.drafts.into_iter().map(DraftView::from).collect();
    let agents = state.live.feed().presence(number).await?.unwrap_or_default();
    let confidence = row.confidence;
    Ok(axum::Json(TicketDetail {
        ticket: row.into(),
        confidence,
        customer_detail,
        order_detail,
        deadlines,
        timeline: timeline.into_iter().map(|(_, item)| item).collect(),
        drafts,
        presence: TicketPresence::new(number, &agents),
    }))
}

/// Set a ticket's status: stops the clocks it ends, pauses those that pause on it.
#[utoipa::path(
    post,
    path = "/api/v1/tickets/{number}/status",
    tag = "tickets",
    params(("number" = i64, Path, description = "The ticket number")),
    request_body = StatusBody,
    security(("bearer" = [])),
    responses(
        (status = OK, body = StatusChanged),
        (status = NOT_FOUND, body = ErrorBody),
        (status = UNPROCESSABLE_ENTITY, body = ErrorBody),
        (status = FORBIDDEN, body = ErrorBody, description = "Integrators change nothing"),
    )
)]
pub(super) async fn status(
    caller: Auth<Work>,
    State(state): State<AppState>,
    Path(number): Path<i64>,
    Json(body): Json<StatusBody>,
) -> Result<axum::Json<StatusChanged>, ApiError> {
    let status = Status::parse(&body.status).map_err(invalid)?;
    let to = status.as_str().to_owned();
    let store = state.live.store();
    let effect = set_status_for(store, number, status, crate::store::now_ms(), Some(&caller.name)).await?;
    state.live.wake();
    let row = store
        .ticket_row(number)
        .await?
        .ok_or_else(|| ApiError::no_ticket(number))?;
    Ok(axum::Json(StatusChanged {
        ticket: row.merged_into.unwrap_or(number),
        from: effect.from,
        to,
        stopped: effect
            .stopped
            .iter()
            .map(|s| format!("{} ({}): {}", s.kind, s.policy, s.state))
            .collect(),
        paused: effect
            .paused
            .iter()
            .map(|p| format!("{} ({})", p.kind, p.policy))
            .collect(),
        version: row.version,
    }))
}

/// Assign a ticket to an agent and/or a team.
#[utoipa::path(
    post,
    path = "/api/v1/tickets/{number}/assignment",
    tag = "tickets",
    params(("number" = i64, Path, description = "The ticket number")),
    request_body = AssignBody,
    security(("bearer" = [])),
    responses(
        (status = OK, body = TicketSummary),
        (status = NOT_FOUND, body = ErrorBody),
        (status = FORBIDDEN, body = ErrorBody),
    )
)]
pub(super) async fn assign(
    caller: Auth<Work>,
    State(state): State<AppState>,
    Path(number): Path<i64>,
    Json(body): Json<AssignBody>,
) -> Result<axum::Json<TicketSummary>, ApiError> {
    let store = state.live.store();
    let assigned =
        crate::ticket::assign(store, number, body.agent.as_deref(), body.team.as_deref(), &caller.name).await?;
    let row = store
        .ticket_row(assigned)
        .await?
        .ok_or_else(|| ApiError::no_ticket(assigned))?;
    Ok(axum::Json(row.into()))
}

/// Merge tickets into this one (admins). They keep their numbers; undo with unmerge.
#[utoipa::path(
    post,
    path = "/api/v1/tickets/{number}/merge",
    tag = "tickets",
    params(("number" = i64, Path, description = "The ticket the others join")),
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
    Path(number): Path<u64>,
    Json(body): Json<MergeBody>,
) -> Result<axum::Json<Merged>, ApiError> {
    let merged =
        crate::operations::merge_tickets(state.live.store(), number, &body.from, body.reason, Some(&caller.name))
            .await?;
    Ok(axum::Json(Merged {
        into: number as i64,
        merged,
    }))
}

/// Take a merged ticket out again (admins).
#[utoipa::path(
    post,
    path = "/api/v1/tickets/{number}/unmerge",
    tag = "tickets",
    params(("number" = i64, Path, description = "The merged ticket")),
    request_body = ReasonBody,
    security(("bearer" = [])),
    responses(
        (status = OK, body = Unmerged),
        (status = UNPROCESSABLE_ENTITY, body = ErrorBody, description = "Not merged, or no such ticket"),
        (status = FORBIDDEN, body = ErrorBody, description = "Only admins unmerge"),
    )
)]
pub(super) async fn unmerge(
    caller: Auth<Admin>,
    State(state): State<AppState>,
    Path(number): Path<u64>,
    Json(body): Json<ReasonBody>,
) -> Result<axum::Json<Unmerged>, ApiError> {
    let was_in = crate::operations::unmerge_ticket(state.live.store(), number, body.reason, Some(&caller.name)).await?;
    Ok(axum::Json(Unmerged {
        ticket: number as i64,
        was_in,
    }))
}
