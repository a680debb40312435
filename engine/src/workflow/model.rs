//! The compiled workflow the engine runs: checked, defaulted, not deserializable.

use std::fmt;
use std::path::PathBuf;
use std::time::Duration;
use weft_sdk::duration::Duration as Span;

use super::condition::Condition;
use super::names::{EventPattern, HostPattern, PluginName, SecretName, StepId};

/// Time limit of a step when the workflow sets none.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(1);
/// Shortest time limit a step may set.
pub const MIN_TIMEOUT: Duration = Duration::from_millis(1);
/// Longest time limit a step may set.
pub const MAX_TIMEOUT: Duration = Duration::from_secs(60);
/// Tries of a step when the workflow sets none (the first try included).
pub const DEFAULT_ATTEMPTS: u32 = 3;
/// Most tries a step may set.
pub const MAX_ATTEMPTS: u32 = 10;
/// Wait before the second try when the workflow sets none.
pub const DEFAULT_BACKOFF: Duration = Duration::from_secs(1);
/// Longest first wait a step may set.
pub const MAX_BACKOFF: Duration = Duration::from_secs(3600);

/// A loaded workflow: the events that start it and its steps in order.
#[derive(Debug, Clone, PartialEq)]
pub struct Workflow {
    /// Name, unique among the loaded workflows.
    pub name: String,
    /// The file it was loaded from.
    pub file: PathBuf,
    /// Which version of the file this is: the first 12 hex digits of the SHA-256 of its text,
    /// as loaded. Every decision the workflow makes records it, so decisions made before and
    /// after a reload of `weft serve` can be told apart.
    pub version: String,
    /// Event patterns that start it.
    pub on: Vec<EventPattern>,
    /// Steps, run in order.
    pub steps: Vec<Step>,
}

impl Workflow {
    /// The version of a workflow file whose text is `text` (see [`Workflow::version`]).
    pub fn version_of(text: &str) -> String {
        use sha2::{Digest, Sha256};
        let digest = Sha256::digest(text.as_bytes());
        hex::encode(&digest[..6])
    }

    /// Whether an event of `kind` starts this workflow.
    pub fn triggered_by(&self, kind: &str) -> bool {
        self.on.iter().any(|pattern| pattern.matches(kind))
    }
}

/// One compiled step.
#[derive(Debug, Clone, PartialEq)]
pub struct Step {
    /// Id, unique in its workflow.
    pub id: StepId,
    /// The step plugin to run (known to the catalog when the workflow loaded).
    pub uses: PluginName,
    /// The plugin's config, valid against the plugin's schema; `{}` when none was written.
    pub with: serde_json::Value,
    /// Run the step only when this holds; always when `None`.
    pub condition: Option<Condition>,
    /// Time limit of one try, between [`MIN_TIMEOUT`] and [`MAX_TIMEOUT`].
    pub timeout: Duration,
    /// What to do when a try fails with a retryable error.
    pub retry: Retry,
    /// What the step may use outside its sandbox.
    pub allow: Grants,
    /// What happens to the event when the step fails for good.
    pub on_error: OnError,
}

/// What happens to an event when one of its steps fails for good (a trap, a time-out, output
/// that is no decision, a decision that cannot be applied, a retryable error after its last
/// try). Either way the step's own decisions are not applied (they are all or nothing), the
/// failure is recorded on the ticket, the message still gets a customer and a ticket, and
/// `weft replay` runs the step again once it is fixed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum OnError {
    /// The later steps of the workflow run as if the step had decided nothing.
    #[default]
    Continue,
    /// The later steps of the workflow do not run for this event; a replay runs them after the
    /// failed step.
    Stop,
}

impl OnError {
    /// The name in the workflow file.
    pub fn as_str(self) -> &'static str {
        match self {
            OnError::Continue => "continue",
            OnError::Stop => "stop",
        }
    }

    /// The value of a name in the workflow file.
    pub fn parse(text: &str) -> Option<OnError> {
        match text {
            "continue" => Some(OnError::Continue),
            "stop" => Some(OnError::Stop),
            _ => None,
        }
    }
}

/// Retry policy: `attempts` tries in all; the wait starts at `backoff` and doubles each time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Retry {
    /// Tries in all, the first included (1 means no retry).
    pub attempts: u32,
    /// Wait before the second try.
    pub backoff: Duration,
}

impl Default for Retry {
    fn default() -> Self {
        Retry {
            attempts: DEFAULT_ATTEMPTS,
            backoff: DEFAULT_BACKOFF,
        }
    }
}

/// Capabilities granted to a step: outbound HTTP hosts, readable secrets, sentence embeddings.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Grants {
    /// Hosts the step may call.
    pub http: Vec<HostPattern>,
    /// Secrets the step may read.
    pub secrets: Vec<SecretName>,
    /// Whether the step may compute sentence embeddings.
    pub embeddings: bool,
}

impl Grants {
    /// Whether the step may call `host`.
    pub fn allows_host(&self, host: &str) -> bool {
        self.http.iter().any(|pattern| pattern.matches(host))
    }

    /// Whether the step may read the secret `name`.
    pub fn allows_secret(&self, name: &str) -> bool {
        self.secrets.iter().any(|secret| secret.as_str() == name)
    }
}

impl fmt::Display for Workflow {
    /// A short, stable rendering: one line for the workflow, a few per step.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let on: Vec<String> = self.on.iter().map(ToString::to_string).collect();
        writeln!(f, "workflow `{}` on {}", self.name, on.join(", "))?;
        for step in &self.steps {
            writeln!(
                f,
                "  step `{}` uses {} (timeout {}, {} attempt{}, backoff {})",
                step.id,
                step.uses,
                Span::from(step.timeout),
                step.retry.attempts,
                if step.retry.attempts == 1 { "" } else { "s" },
                Span::from(step.retry.backoff)
            )?;
            if step.on_error != OnError::default() {
                writeln!(f, "    on_error: {}", step.on_error.as_str())?;
            }
            if let Some(condition) = &step.condition {
                writeln!(f, "    if: {condition}")?;
            }
            if step.with.as_object().is_some_and(|o| !o.is_empty()) {
                writeln!(f, "    with: {}", step.with)?;
            }
            if !step.allow.http.is_empty() {
                let hosts: Vec<String> = step.allow.http.iter().map(ToString::to_string).collect();
                writeln!(f, "    allow http: {}", hosts.join(", "))?;
            }
            if !step.allow.secrets.is_empty() {
                let secrets: Vec<&str> = step.allow.secrets.iter().map(SecretName::as_str).collect();
                writeln!(f, "    allow secrets: {}", secrets.join(", "))?;
            }
            if step.allow.embeddings {
                writeln!(f, "    allow embeddings")?;
            }
        }
        Ok(())
    }
}
