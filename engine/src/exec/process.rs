//! One event through every workflow that reacts to it, inside one unit.

use super::Pipeline;
use super::apply::{EventState, Landed, apply, land};
use crate::runtime::{CallOptions, Grants, StepFailure};
use crate::store::Unit;
use crate::store::apply::Origin;
use crate::store::failures::{NewStepFailure, StepFailureRecord};
use crate::store::queue::QueuedEvent;
use crate::workflow::{Condition, OnError, Step, Workflow};
use serde_json::{Value, json};
use weft_sdk::{Decision, Event};

/// Why an event could not be processed.
#[derive(Debug, thiserror::Error)]
pub enum StepError {
    /// A step's plugin failed.
    #[error("workflow `{workflow}`, {failure}")]
    Plugin {
        workflow: String,
        step: String,
        plugin: String,
        failure: StepFailure,
    },
    /// A step named a plugin that is not loaded (workflows are checked at load, so this
    /// means the plugin set changed under a running engine).
    #[error("workflow `{workflow}`, step `{step}`: plugin `{plugin}` is not loaded")]
    MissingPlugin {
        workflow: String,
        step: String,
        plugin: String,
    },
    /// A decision could not be applied.
    #[error(
        "workflow `{workflow}`, step `{step}` ({plugin}): decision {index} ({command}) cannot be applied: {problem}"
    )]
    Apply {
        workflow: String,
        step: String,
        plugin: String,
        index: usize,
        command: &'static str,
        problem: String,
    },
    /// A reply (`message.sent`) could not be put on a ticket.
    #[error("{0}")]
    Reply(String),
    /// The database failed.
    #[error("database: {0}")]
    Store(#[from] crate::store::StoreError),
}

impl StepError {
    /// Worth trying the event again later.
    pub fn is_retryable(&self) -> bool {
        match self {
            StepError::Plugin { failure, .. } => failure.is_retryable(),
            StepError::Store(_) => true,
            StepError::MissingPlugin { .. } | StepError::Apply { .. } | StepError::Reply(_) => false,
        }
    }

    /// How long the plugin asked to wait before the next try, if it said.
    pub fn retry_after(&self) -> Option<std::time::Duration> {
        match self {
            StepError::Plugin { failure, .. } => failure.retry_after(),
            _ => None,
        }
    }

    /// A failure of one step (its plugin, or its decisions), which the event survives when it
    /// is processed with [`Failures::Land`]; the others (the database, a reply that matches no
    /// ticket) fail the event.
    pub fn is_step_failure(&self) -> bool {
        matches!(
            self,
            StepError::Plugin { .. } | StepError::MissingPlugin { .. } | StepError::Apply { .. }
        )
    }

    /// (workflow, step, plugin) where it happened, if in a step.
    pub fn place(&self) -> (Option<&str>, Option<&str>, Option<&str>) {
        match self {
            StepError::Plugin {
                workflow, step, plugin, ..
            }
            | StepError::MissingPlugin { workflow, step, plugin }
            | StepError::Apply {
                workflow, step, plugin, ..
            } => (Some(workflow), Some(step), Some(plugin)),
            StepError::Store(_) | StepError::Reply(_) => (None, None, None),
        }
    }
}

/// One decision as a step made it, for dry runs and the demo.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Decided {
    pub event: i64,
    pub workflow: String,
    pub step: String,
    pub plugin: String,
    #[serde(flatten)]
    pub decision: Decision,
}

/// The JSON that `condition` is evaluated against. The message and the ticket are looked up
/// only when the condition reads them; otherwise they are `null`, which such a condition
/// never sees.
async fn scope(
    unit: &mut Unit,
    event: &QueuedEvent,
    state: &EventState,
    condition: &Condition,
) -> Result<Value, StepError> {
    let message = event
        .message
        .as_ref()
        .filter(|_| condition.uses("message"))
        .map(|(_, m)| serde_json::to_value(m).unwrap_or(Value::Null));
    let ticket = match state.ticket.filter(|_| condition.uses("ticket")) {
        Some(number) => unit.ticket_view(number).await?.map(|t| {
            json!({
                "number": t.number,
                "opened": state.ticket_opened,
                "status": t.status,
                "category": t.category,
                "order": t.order,
            })
        }),
        None => None,
    };
    Ok(json!({
        "event": { "kind": event.kind, "id": event.id },
        "message": message,
        "customer": state.customer.map(|id| json!({ "id": id, "new": state.customer_new })),
        "ticket": ticket,
    }))
}

fn call_options(step: &Step) -> CallOptions {
    let mut options = CallOptions::new(step.id.to_string(), step.timeout);
    options.grants = Grants {
        http_hosts: step.allow.http.iter().map(|h| h.to_string()).collect(),
        secrets: step.allow.secrets.iter().map(|s| s.to_string()).collect(),
        embeddings: step.allow.embeddings,
        smtp: None,
    };
    options
}

/// How [`process_event`] takes a step that fails.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Failures {
    /// The event fails with the step's error: the caller rolls it back, and retries it or
    /// processes it again with [`Failures::Land`]. No savepoints: the common case costs nothing.
    FailEvent,
    /// Each step runs in a savepoint. A step that fails is rolled back alone (its decisions are
    /// all or nothing) and recorded; the message still gets a customer and a ticket of its own
    /// where no step gave it one ([`land`]); the step's `on_error` says whether the later steps
    /// of its workflow run.
    Land,
}

/// A step that failed on an event that was processed anyway.
#[derive(Debug, Clone, serde::Serialize)]
pub struct FailedStep {
    pub event: i64,
    pub workflow: String,
    pub step: String,
    pub plugin: String,
    /// The ticket the event's message landed on (or the event's ticket), if any.
    pub ticket: Option<i64>,
    pub error: String,
}

/// What processing an event did.
#[derive(Debug, Default)]
pub struct Processed {
    /// Every decision applied, in order.
    pub decided: Vec<Decided>,
    /// The steps that failed (only with [`Failures::Land`]).
    pub failed: Vec<FailedStep>,
    /// Every step whose plugin was called, in order, with how long it took.
    pub runs: Vec<StepRun>,
}

/// One call of a step's plugin on an event, for the metrics of `weft serve`: how long the call
/// and the applying of its decisions took, and whether the step failed. A step whose `if:`
/// did not hold is not called and has no run.
#[derive(Debug, Clone)]
pub struct StepRun {
    pub workflow: String,
    pub step: String,
    pub seconds: f64,
    pub failed: bool,
}

/// A step failure kept in memory until the event's ticket is known.
struct Pending {
    workflow: String,
    workflow_version: String,
    step: String,
    plugin: String,
    on_error: OnError,
    error: String,
    retryable: bool,
    landed: Landed,
}

/// The plugin of a step as the log names it: `name@version`, or the name when not loaded.
fn plugin_ref(pipeline: &Pipeline, step: &Step) -> String {
    match pipeline.plugins.get(step.uses.as_str()) {
        Some(plugin) => format!("{}@{}", plugin.info().name, plugin.info().version),
        None => step.uses.to_string(),
    }
}

/// Runs `event` through every workflow of `pipeline` that reacts to it, applying decisions in
/// `unit`. Returns the unit (it is lent to each step) and what was decided.
pub async fn process_event(
    mut unit: Unit,
    pipeline: &Pipeline,
    event: &QueuedEvent,
    failures: Failures,
) -> (Unit, Result<Processed, StepError>) {
    let mut decided = Vec::new();
    let mut runs = Vec::new();
    let mut pending: Vec<Pending> = Vec::new();
    let mut state = EventState::from_event(event);
    if event.kind == "message.sent"
        && let Err(error) = super::clocks::on_reply(&mut unit, event, &mut state).await
    {
        return (unit, Err(error));
    }
    let refreshed;
    let event = if event.kind.starts_with("sla.") {
        match super::clocks::with_ticket_priority(&mut unit, event).await {
            Ok(e) => {
                refreshed = e;
                &refreshed
            }
            Err(error) => return (unit, Err(error.into())),
        }
    } else {
        event
    };
    for workflow in pipeline.workflows.iter().filter(|w| w.triggered_by(&event.kind)) {
        for step in &workflow.steps {
            if failures == Failures::FailEvent {
                let result;
                (unit, result) = run_step(unit, pipeline, workflow, step, event, &mut state, &mut runs).await;
                match result {
                    Ok(mut list) => decided.append(&mut list),
                    Err(error) => return (unit, Err(error)),
                }
                continue;
            }
            let result;
            (unit, result) = run_guarded(unit, pipeline, workflow, step, event, &mut state, &mut runs).await;
            match result {
                Ok(Ok(mut list)) => decided.append(&mut list),
                Ok(Err(error)) => {
                    tracing::warn!(%error, "a step failed; the event goes on without its decisions");
                    // What the failed step was to give the message, it gets of its own: a
                    // customer when it had none; a ticket when it had a customer already (so
                    // the step was the one to place it), or at the end of the event.
                    let ticket = state.customer.is_some();
                    let landed = match land(&mut unit, event, &mut state, ticket).await {
                        Ok(landed) => landed,
                        Err(e) => return (unit, Err(e.into())),
                    };
                    let failed = Pending {
                        workflow: workflow.name.clone(),
                        workflow_version: workflow.version.clone(),
                        step: step.id.to_string(),
                        plugin: plugin_ref(pipeline, step),
                        on_error: step.on_error,
                        retryable: error.is_retryable(),
                        error: error.to_string(),
                        landed,
                    };
                    let key = format!("{}:failed", failed.step);
                    if let Err(e) = log_landing(&mut unit, event, &state, &failed, landed, &key) {
                        return (unit, Err(e.into()));
                    }
                    pending.push(failed);
                    if step.on_error == OnError::Stop {
                        break;
                    }
                }
                Err(error) => return (unit, Err(error)),
            }
        }
    }
    let mut failed = Vec::with_capacity(pending.len());
    let result = async {
        if let Some(last) = pending.last_mut() {
            let landed = land(&mut unit, event, &mut state, true).await?;
            // Its own key: the same step may have given the message a customer already.
            let key = format!("{}:failed-end", last.step);
            log_landing(&mut unit, event, &state, last, landed, &key)?;
            last.landed.customer = last.landed.customer.or(landed.customer);
            last.landed.ticket = last.landed.ticket.or(landed.ticket);
        }
        for p in &pending {
            unit.record_step_failure(&NewStepFailure {
                event: event.id,
                workflow: &p.workflow,
                step: &p.step,
                plugin: &p.plugin,
                on_error: p.on_error.as_str(),
                error: &p.error,
                retryable: p.retryable,
                message: state.message,
                ticket: state.ticket,
                own_customer: p.landed.customer,
                own_ticket: p.landed.ticket,
            })
            .await?;
            failed.push(FailedStep {
                event: event.id,
                workflow: p.workflow.clone(),
                step: p.step.clone(),
                plugin: p.plugin.clone(),
                ticket: state.ticket,
                error: p.error.clone(),
            });
        }
        unit.finish_event(event.id);
        for (kind, payload) in std::mem::take(&mut state.derived) {
            if pipeline.listens_to(&kind) {
                unit.enqueue_event(&kind, event.at, state.customer, state.ticket, &payload)
                    .await?;
            }
        }
        Ok(())
    }
    .await;
    (unit, result.map(|()| Processed { decided, failed, runs }))
}

/// The decision log's account of what the engine gave a message because a step failed: under
/// `key` (the step's id with `:failed`, or `:failed-end` at the end of the event), by the
/// engine itself.
fn log_landing(
    unit: &mut Unit,
    event: &QueuedEvent,
    state: &EventState,
    failed: &Pending,
    landed: Landed,
    key: &str,
) -> Result<(), crate::store::StoreError> {
    use weft_sdk::{Command, CustomerRef, LinkCustomer, OpenTicket};
    let mut decisions = Vec::new();
    if let Some(customer) = landed.customer {
        let decision = Decision::new(
            Command::LinkCustomer(LinkCustomer {
                customer: CustomerRef::New,
                identities: Vec::new(),
                score: 0.0,
            }),
            format!(
                "step `{}` ({}) failed, so no customer was linked: the message gets a customer of its own until a replay of the step links it",
                failed.step, failed.plugin
            ),
        );
        decisions.push((decision, Some(customer), None));
    }
    if let Some(ticket) = landed.ticket {
        let subject = event.message.as_ref().and_then(|(_, m)| m.subject.clone());
        let decision = Decision::new(
            Command::OpenTicket(OpenTicket { subject, order: None }),
            format!(
                "step `{}` ({}) failed, so the message was on no ticket: it gets a ticket of its own, with the failure shown, until a replay of the step places it",
                failed.step, failed.plugin
            ),
        );
        decisions.push((decision, state.customer, Some(ticket)));
    }
    log_engine(
        unit,
        event,
        (&failed.workflow, &failed.workflow_version),
        key,
        &decisions,
    )
}

/// Logs what the engine itself did about a step (under a step id with a colon, which no
/// step's id has, so its (event, workflow, step) key is its own), by `weft@version`.
fn log_engine(
    unit: &mut Unit,
    event: &QueuedEvent,
    (workflow, version): (&str, &str),
    step: &str,
    decisions: &[(Decision, Option<i64>, Option<i64>)],
) -> Result<(), crate::store::StoreError> {
    if decisions.is_empty() {
        return Ok(());
    }
    let origin = Origin {
        event: Some(event.id),
        workflow,
        workflow_version: Some(version),
        step,
        plugin: concat!("weft@", env!("CARGO_PKG_VERSION")),
    };
    let log: Vec<_> = decisions.iter().map(|(d, c, t)| (d, *c, *t)).collect();
    unit.log_step(origin, &log)
}

/// [`run_step`] in a savepoint: a step failure is rolled back alone, with what it did to
/// `state`, and returned as `Ok(Err(..))`; any other error is the event's.
async fn run_guarded(
    mut unit: Unit,
    pipeline: &Pipeline,
    workflow: &Workflow,
    step: &Step,
    event: &QueuedEvent,
    state: &mut EventState,
    runs: &mut Vec<StepRun>,
) -> (Unit, Result<Result<Vec<Decided>, StepError>, StepError>) {
    if let Err(e) = unit.savepoint().await {
        return (unit, Err(e.into()));
    }
    let before = state.clone();
    let result;
    (unit, result) = run_step(unit, pipeline, workflow, step, event, state, runs).await;
    match result {
        Ok(list) => match unit.release().await {
            Ok(()) => (unit, Ok(Ok(list))),
            Err(e) => (unit, Err(e.into())),
        },
        Err(error) if error.is_step_failure() => {
            *state = before;
            match unit.rollback_to_savepoint().await {
                Ok(()) => (unit, Ok(Err(error))),
                Err(e) => (unit, Err(e.into())),
            }
        }
        Err(error) => (unit, Err(error)),
    }
}

/// What replaying failed steps did.
#[derive(Debug, Default)]
pub struct Replayed {
    /// Failures whose step now succeeded: its decisions are applied, the failure resolved.
    pub resolved: usize,
    /// Failures whose step failed again: the record has one more attempt and the last error.
    pub failed_again: Vec<FailedStep>,
    /// Every decision applied.
    pub decided: Vec<Decided>,
}

/// Runs the failed steps of one event again, in the order they failed, against the customer
/// and ticket its message landed on, each in a savepoint: a step that succeeds has its
/// decisions applied as if it had not failed (the customer or ticket made for the message
/// meanwhile joins the one the step finds, by a merge that can be undone) and its failure
/// resolved; a step with `on_error: stop` is followed by the later steps of its workflow that
/// did not run. A step that fails again updates its record.
pub async fn replay_event(
    mut unit: Unit,
    pipeline: &Pipeline,
    event: &QueuedEvent,
    failures: &[StepFailureRecord],
) -> (Unit, Result<Replayed, StepError>) {
    // `?` for a function that hands the unit back with its error.
    macro_rules! tri {
        ($result:expr) => {
            match $result {
                Ok(value) => value,
                Err(error) => return (unit, Err(error.into())),
            }
        };
    }
    let mut replayed = Replayed::default();
    let mut state = EventState::from_event(event);
    if let Some(message) = state.message
        && let Some(customer) = tri!(unit.message_customer(message).await)
    {
        state.customer = Some(tri!(unit.root_customer(customer).await));
    }
    for failure in failures {
        if let Some(ticket) = failure.ticket.or(state.ticket) {
            state.ticket = Some(tri!(unit.root_ticket(ticket).await));
        }
        let found = pipeline
            .workflows
            .iter()
            .find(|w| w.name == failure.workflow)
            .and_then(|w| {
                w.steps
                    .iter()
                    .position(|s| s.id.as_str() == failure.step)
                    .map(|i| (w, i))
            });
        let Some((workflow, index)) = found else {
            let error = format!(
                "workflow `{}` has no step `{}` now: load the workflow that has it to replay it",
                failure.workflow, failure.step
            );
            tri!(again(&mut unit, event, &state, failure, &error, false, &mut replayed).await);
            continue;
        };
        // The failed step, then, after `stop`, the later steps that did not run.
        let mut steps = vec![&workflow.steps[index]];
        if failure.on_error == OnError::Stop.as_str() {
            for later in &workflow.steps[index + 1..] {
                if !tri!(unit.step_ran(event.id, &workflow.name, later.id.as_str()).await) {
                    steps.push(later);
                }
            }
        }
        tri!(unit.savepoint().await);
        let before = state.clone();
        state.own_customer = failure.own_customer;
        state.own_ticket = failure.own_ticket;
        let mut decided = Vec::new();
        let mut failed = None;
        for step in steps {
            let result;
            (unit, result) = run_step(unit, pipeline, workflow, step, event, &mut state, &mut Vec::new()).await;
            match result {
                Ok(mut list) => decided.append(&mut list),
                Err(error) if error.is_step_failure() => {
                    failed = Some(error);
                    break;
                }
                Err(error) => return (unit, Err(error)),
            }
        }
        state.own_customer = None;
        state.own_ticket = None;
        match failed {
            None => {
                let merged = std::mem::take(&mut state.merged);
                let step = format!("{}:replayed", failure.step);
                tri!(log_engine(
                    &mut unit,
                    event,
                    (&failure.workflow, &workflow.version),
                    &step,
                    &merged
                ));
                tri!(unit.release().await);
                tri!(unit.resolve_step_failure(failure.id).await);
                replayed.resolved += 1;
                replayed.decided.append(&mut decided);
            }
            Some(error) => {
                tri!(unit.rollback_to_savepoint().await);
                state = before;
                let retryable = error.is_retryable();
                tri!(
                    again(
                        &mut unit,
                        event,
                        &state,
                        failure,
                        &error.to_string(),
                        retryable,
                        &mut replayed
                    )
                    .await
                );
            }
        }
    }
    for (kind, payload) in std::mem::take(&mut state.derived) {
        if pipeline.listens_to(&kind) {
            tri!(
                unit.enqueue_event(&kind, event.at, state.customer, state.ticket, &payload)
                    .await
            );
        }
    }
    (unit, Ok(replayed))
}

/// A replayed step that failed again: its record gets one more attempt and the last error.
async fn again(
    unit: &mut Unit,
    event: &QueuedEvent,
    state: &EventState,
    failure: &StepFailureRecord,
    error: &str,
    retryable: bool,
    replayed: &mut Replayed,
) -> Result<(), crate::store::StoreError> {
    unit.record_step_failure(&NewStepFailure {
        event: event.id,
        workflow: &failure.workflow,
        step: &failure.step,
        plugin: &failure.plugin,
        on_error: &failure.on_error,
        error,
        retryable,
        message: state.message,
        ticket: failure.ticket,
        own_customer: failure.own_customer,
        own_ticket: failure.own_ticket,
    })
    .await?;
    replayed.failed_again.push(FailedStep {
        event: event.id,
        workflow: failure.workflow.clone(),
        step: failure.step.clone(),
        plugin: failure.plugin.clone(),
        ticket: failure.ticket,
        error: error.to_owned(),
    });
    Ok(())
}

/// Runs one step on `event` and applies its decisions; a call of its plugin is added to `runs`.
async fn run_step(
    mut unit: Unit,
    pipeline: &Pipeline,
    workflow: &Workflow,
    step: &Step,
    event: &QueuedEvent,
    state: &mut EventState,
    runs: &mut Vec<StepRun>,
) -> (Unit, Result<Vec<Decided>, StepError>) {
    let workflow_name = workflow.name.to_string();
    let step_id = step.id.to_string();
    let plugin_name = step.uses.to_string();
    if let Some(condition) = &step.condition {
        match scope(&mut unit, event, state, condition).await {
            Ok(scope) if !condition.eval(&scope) => return (unit, Ok(Vec::new())),
            Ok(_) => {}
            Err(e) => return (unit, Err(e)),
        }
    }
    let Some(plugin) = pipeline.plugins.get(&plugin_name) else {
        return (
            unit,
            Err(StepError::MissingPlugin {
                workflow: workflow_name,
                step: step_id,
                plugin: plugin_name,
            }),
        );
    };
    let sdk_event = Event {
        id: event.id as u64,
        kind: event.kind.clone(),
        at: event.at,
        message: event.message.as_ref().map(|(_, m)| m.clone()),
        customer: state.customer.map(|c| c as u64),
        ticket: state.ticket.map(|t| t as u64),
        payload: event.payload.clone(),
    };
    let started = std::time::Instant::now();
    let mut run = |failed: bool| {
        runs.push(StepRun {
            workflow: workflow_name.clone(),
            step: step_id.clone(),
            seconds: started.elapsed().as_secs_f64(),
            failed,
        });
    };
    unit.hold_reads();
    let (returned, result) = plugin.decide(&sdk_event, &step.with, &call_options(step), unit).await;
    unit = returned;
    unit.release_reads();
    let output = match result {
        Ok(output) => output,
        Err(failure) => {
            run(true);
            return (
                unit,
                Err(StepError::Plugin {
                    workflow: workflow_name,
                    step: step_id,
                    plugin: plugin_name,
                    failure,
                }),
            );
        }
    };
    let info = plugin.info();
    let plugin_ref = format!("{}@{}", info.name, info.version);
    let origin = Origin {
        event: Some(event.id),
        workflow: &workflow_name,
        workflow_version: Some(&workflow.version),
        step: &step_id,
        plugin: &plugin_ref,
    };
    let mut about = Vec::with_capacity(output.decisions.len());
    for (index, decision) in output.decisions.iter().enumerate() {
        let applied = apply(&mut unit, event, state, decision).await;
        let problem = match applied {
            Ok(subject) => {
                about.push(subject);
                continue;
            }
            Err(problem) => problem,
        };
        {
            let error = match problem {
                super::apply::ApplyError::Store(crate::store::StoreError::Invalid(problem))
                | super::apply::ApplyError::Invalid(problem) => StepError::Apply {
                    workflow: workflow_name.clone(),
                    step: step_id.clone(),
                    plugin: plugin_ref.clone(),
                    index,
                    command: decision.command.name(),
                    problem,
                },
                super::apply::ApplyError::Store(e) => StepError::Store(e),
            };
            run(true);
            return (unit, Err(error));
        }
    }
    // The log of this step, and its (event, workflow, step) idempotency key: applying the same
    // step of the same event twice fails the unit instead of applying it again. Kept in the
    // unit and written with the rest of its group when the caller flushes it.
    let log: Vec<_> = output
        .decisions
        .iter()
        .zip(&about)
        .map(|(d, (c, t))| (d, *c, *t))
        .collect();
    if let Err(e) = unit.log_step(origin, &log) {
        return (unit, Err(e.into()));
    }
    run(false);
    let decided = output
        .decisions
        .into_iter()
        .map(|decision| Decided {
            event: event.id,
            workflow: workflow_name.clone(),
            step: step_id.clone(),
            plugin: plugin_ref.clone(),
            decision,
        })
        .collect();
    (unit, Ok(decided))
}
