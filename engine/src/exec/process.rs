//! One event through every workflow that reacts to it, inside one unit.

use super::Pipeline;
use super::apply::{EventState, apply};
use crate::runtime::{CallOptions, Grants, StepFailure};
use crate::store::Unit;
use crate::store::apply::Origin;
use crate::store::queue::QueuedEvent;
use crate::workflow::{Condition, Step, Workflow};
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
    };
    options
}

/// Runs `event` through every workflow of `pipeline` that reacts to it, applying decisions in
/// `unit`. Returns the unit (it is lent to each step) and what was decided.
pub async fn process_event(
    mut unit: Unit,
    pipeline: &Pipeline,
    event: &QueuedEvent,
) -> (Unit, Result<Vec<Decided>, StepError>) {
    let mut decided = Vec::new();
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
            let result;
            (unit, result) = run_step(unit, pipeline, workflow, step, event, &mut state).await;
            match result {
                Ok(mut list) => decided.append(&mut list),
                Err(error) => return (unit, Err(error)),
            }
        }
    }
    let result = async {
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
    (unit, result.map(|()| decided))
}

async fn run_step(
    mut unit: Unit,
    pipeline: &Pipeline,
    workflow: &Workflow,
    step: &Step,
    event: &QueuedEvent,
    state: &mut EventState,
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
    unit.hold_reads();
    let (returned, result) = plugin.decide(&sdk_event, &step.with, &call_options(step), unit).await;
    unit = returned;
    unit.release_reads();
    let output = match result {
        Ok(output) => output,
        Err(failure) => {
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
