//! The `escalate` step: what a ticket gets when one of its SLA deadlines warns or breaches.
//!
//! It listens to the engine's timer events `sla.warning` and `sla.breached` (anything else gets
//! no decision). Their payload names the deadline (`kind`, `policy`, `due`) and, as the engine
//! saw the ticket when the timer fired, its `priority` and `worst` deadline state (`warned` or
//! `breached`). The step raises the priority to the configured level of the worst state (never
//! lowers it: an `urgent` ticket stays urgent when a later warning fires) and, on a breach,
//! hands the ticket to the configured lead or team.
//!
//! ```yaml
//! - id: escalate
//!   uses: escalate
//!   with:
//!     warning: { priority: high }
//!     breach: { priority: urgent, assign: { team: leads, agent: marie } }
//! ```

use schemars::JsonSchema;
use serde::Deserialize;
use weft_sdk::prelude::*;

/// The step.
pub struct Escalate;

/// `with:` for the escalate step.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// What a warning does. Example: `{ priority: high }`.
    #[serde(default = "warning_default")]
    pub warning: Action,
    /// What a breach does. Example: `{ priority: urgent, assign: { team: leads } }`.
    #[serde(default = "breach_default")]
    pub breach: Action,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            warning: warning_default(),
            breach: breach_default(),
        }
    }
}

fn warning_default() -> Action {
    Action {
        priority: Some(Priority::High),
        assign: None,
    }
}

fn breach_default() -> Action {
    Action {
        priority: Some(Priority::Urgent),
        assign: None,
    }
}

/// What one kind of SLA event does to the ticket.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Action {
    /// The priority the ticket is raised to (at least). Example: `urgent`.
    #[serde(default)]
    pub priority: Option<Priority>,
    /// Who takes the ticket over; `agent`, `team` or both. Example: `{ team: leads, agent: marie }`.
    #[serde(default)]
    pub assign: Option<AssignTo>,
}

/// A lead or a team to hand a ticket to.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct AssignTo {
    /// The agent. Example: `marie`.
    #[serde(default)]
    pub agent: Option<String>,
    /// The team. Example: `leads`.
    #[serde(default)]
    pub team: Option<String>,
}

/// Ticket priorities, lowest first (the router's levels).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum Priority {
    /// Example: `low`.
    Low,
    /// Example: `normal`.
    Normal,
    /// Example: `high`.
    High,
    /// Example: `urgent`.
    Urgent,
}

impl Priority {
    /// The value of the `priority` field.
    pub fn as_str(self) -> &'static str {
        match self {
            Priority::Low => "low",
            Priority::Normal => "normal",
            Priority::High => "high",
            Priority::Urgent => "urgent",
        }
    }

    /// Reads a stored priority; unknown values are None.
    pub fn parse(value: &str) -> Option<Priority> {
        match value.trim().to_ascii_lowercase().as_str() {
            "low" => Some(Priority::Low),
            "normal" => Some(Priority::Normal),
            "high" => Some(Priority::High),
            "urgent" => Some(Priority::Urgent),
            _ => None,
        }
    }
}

impl Step for Escalate {
    type Config = Config;
    const DESCRIPTION: &'static str =
        "raises a ticket's priority on SLA warnings and breaches, and hands breached tickets to a lead";

    fn check_config(config: &Config) -> Vec<ConfigProblem> {
        check(config)
    }

    fn decide(event: &Event, config: &Config, _ctx: &dyn Context) -> Result<Vec<Decision>, Error> {
        decide(event, config)
    }
}

/// What the step could not act on as written: a hand-over on a warning (only a breach hands a
/// ticket over), a hand-over to nobody, a blank agent or team name (the engine refuses an
/// assignment to an empty name, so every breach would fail).
pub fn check(config: &Config) -> Vec<ConfigProblem> {
    let mut problems = Vec::new();
    if config.warning.assign.is_some() {
        problems.push(
            ConfigProblem::at(["warning", "assign"], "a warning never hands a ticket over")
                .expected("`assign` under `breach`"),
        );
    }
    if let Some(assign) = &config.breach.assign {
        if assign.agent.is_none() && assign.team.is_none() {
            problems.push(
                ConfigProblem::at(["breach", "assign"], "hands the ticket to nobody")
                    .expected("an `agent`, a `team` or both"),
            );
        }
        for (field, value) in [("agent", &assign.agent), ("team", &assign.team)] {
            if value.as_deref().is_some_and(|v| v.trim().is_empty()) {
                problems.push(ConfigProblem::at(
                    ["breach", "assign", field],
                    format!("the {field} is blank"),
                ));
            }
        }
    }
    problems
}

/// The decisions for one event.
pub fn decide(event: &Event, config: &Config) -> Result<Vec<Decision>, Error> {
    let this = match event.kind.as_str() {
        "sla.warning" => Level::Warned,
        "sla.breached" => Level::Breached,
        _ => return Ok(Vec::new()),
    };
    let Some(ticket) = event.ticket else {
        return Err(Error::permanent(format!(
            "{} event {} names no ticket",
            event.kind, event.id
        )));
    };
    let text = |key: &str| event.payload.get(key).and_then(|v| v.as_str());
    let kind = text("kind").unwrap_or("deadline");
    let policy = text("policy").unwrap_or("?");
    // The worst state of the ticket's deadlines when the timer fired; at least this event's.
    let worst = match text("worst") {
        Some("breached") => Level::Breached,
        _ => this,
    };
    let action = match worst {
        Level::Warned => &config.warning,
        Level::Breached => &config.breach,
    };
    let current = text("priority").and_then(Priority::parse);
    let what = format!(
        "{kind} deadline under policy {policy:?} {}",
        if this == Level::Breached {
            "was breached"
        } else {
            "is near"
        }
    );
    let mut evidence = vec![Evidence::new("deadline", what.clone(), 1.0)];
    if worst != this {
        evidence.push(Evidence::new(
            "worst",
            "another deadline of this ticket is already breached".to_owned(),
            1.0,
        ));
    }
    let mut out = Vec::new();
    if let Some(target) = action.priority
        && current.is_none_or(|c| c < target)
    {
        let from = current.map(Priority::as_str).unwrap_or("unset");
        let mut set = SetField::new("priority", target.as_str());
        set.ticket = TicketRef::Existing(ticket);
        out.push(
            Decision::new(
                Command::SetField(set),
                format!("priority {from} → {}: {what}", target.as_str()),
            )
            .with_evidence(evidence.clone()),
        );
    }
    if this == Level::Breached
        && let Some(assign) = &action.assign
        && (assign.agent.is_some() || assign.team.is_some())
    {
        let to: Vec<&str> = [assign.agent.as_deref(), assign.team.as_deref()]
            .into_iter()
            .flatten()
            .collect();
        out.push(
            Decision::new(
                Command::Assign(Assign {
                    ticket: TicketRef::Existing(ticket),
                    agent: assign.agent.clone(),
                    team: assign.team.clone(),
                }),
                format!("handed to {}: {what}", to.join(" / ")),
            )
            .with_evidence(evidence),
        );
    }
    Ok(out)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Level {
    Warned,
    Breached,
}

#[cfg(target_arch = "wasm32")]
weft_sdk::export_step!(Escalate);

#[cfg(test)]
mod tests;
