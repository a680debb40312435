//! Why a plugin call failed ([`StepFailure`]), and how a wasmtime error is classified into one.

use crate::runtime::{GrantedBy, PluginError, PluginKind};
use std::fmt;
use std::sync::Arc;
use std::time::Duration;

/// Which plugin, in which step (or channel mount), a failure comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Origin {
    /// The plugin's name.
    pub plugin: Arc<str>,
    /// The plugin's version.
    pub version: Arc<str>,
    /// The step id; for a channel mounted in the channels file, its hook id.
    pub step: String,
    /// Whether `step` is a step of a workflow or a channel of the channels file.
    pub granted_by: GrantedBy,
}

impl fmt::Display for Origin {
    /// `step `route` (router@0.1.0)`, `channel `shop-de` (json@0.1.0)`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} ({}@{})",
            self.granted_by.who(&self.step),
            self.plugin,
            self.version
        )
    }
}

/// Why a call into a plugin failed. Every variant names the plugin, its version and the step.
#[derive(Debug, Clone, thiserror::Error)]
pub enum StepFailure {
    /// The call ran past its deadline and was stopped.
    #[error("{origin}: timed out after {after:?}")]
    Timeout {
        /// Where.
        origin: Origin,
        /// The call's timeout.
        after: Duration,
    },
    /// The plugin tried to grow its memory past the limit.
    #[error("{origin}: ran out of memory (limit {limit} bytes)")]
    MemoryLimit {
        /// Where.
        origin: Origin,
        /// The memory cap of the call, in bytes.
        limit: usize,
    },
    /// The plugin trapped: it panicked, executed `unreachable`, divided by zero, ...
    #[error("{origin}: trapped: {message}{}", stderr_suffix(guest_stderr))]
    Trap {
        /// Where.
        origin: Origin,
        /// What wasmtime reported, with the wasm backtrace when there is one.
        message: String,
        /// What the plugin wrote to stderr before it trapped (a panic message, say).
        guest_stderr: String,
    },
    /// The plugin returned an error.
    #[error("{origin}: {error}")]
    Plugin {
        /// Where.
        origin: Origin,
        /// The plugin's error.
        error: PluginError,
    },
    /// The plugin returned something the engine will not act on.
    #[error("{origin}: invalid output: {problem}")]
    InvalidOutput {
        /// Where.
        origin: Origin,
        /// What is wrong, with the index of the offending decision or message.
        problem: String,
    },
    /// The host could not serve the call (the context reader failed, the instance pool is
    /// exhausted, ...).
    #[error("{origin}: host error: {error}")]
    Host {
        /// Where.
        origin: Origin,
        /// What went wrong on the host's side.
        error: String,
    },
    /// The plugin was called as the wrong kind (a channel asked to decide, say).
    #[error("{origin}: the plugin is a {actual}, not a {expected}")]
    WrongKind {
        /// Where.
        origin: Origin,
        /// The kind the call needs.
        expected: PluginKind,
        /// The plugin's kind.
        actual: PluginKind,
    },
    /// The plugin failed after the host denied it a capability the step was not granted. The
    /// plugin's own error is left out when it only repeats the denial.
    #[error("{origin}: {denial}{}", then_failed(denial, error))]
    Denied {
        /// Where.
        origin: Origin,
        /// The first denial, saying what to add to the workflow.
        denial: String,
        /// What the plugin made of it.
        error: PluginError,
    },
}

/// What a plugin made of a denial, unless its error only passes the denial on.
fn then_failed(denial: &str, error: &PluginError) -> String {
    if error.message().contains(denial) {
        String::new()
    } else {
        format!(" (the plugin then failed: {error})")
    }
}

fn stderr_suffix(stderr: &str) -> String {
    let stderr = stderr.trim();
    if stderr.is_empty() {
        String::new()
    } else {
        format!("; plugin stderr: {stderr}")
    }
}

impl StepFailure {
    /// Whether trying the same call again later may succeed.
    pub fn is_retryable(&self) -> bool {
        match self {
            StepFailure::Timeout { .. } | StepFailure::Host { .. } => true,
            StepFailure::Plugin { error, .. } => error.is_retryable(),
            StepFailure::MemoryLimit { .. }
            | StepFailure::Trap { .. }
            | StepFailure::InvalidOutput { .. }
            | StepFailure::WrongKind { .. }
            | StepFailure::Denied { .. } => false,
        }
    }

    /// How long the plugin asked to wait before the next try (a vendor's `Retry-After`).
    pub fn retry_after(&self) -> Option<Duration> {
        match self {
            StepFailure::Plugin {
                error: PluginError::RetryLater { after, .. },
                ..
            } => Some(*after),
            _ => None,
        }
    }

    /// The plugin and step the failure comes from.
    pub fn origin(&self) -> &Origin {
        match self {
            StepFailure::Timeout { origin, .. }
            | StepFailure::MemoryLimit { origin, .. }
            | StepFailure::Trap { origin, .. }
            | StepFailure::Plugin { origin, .. }
            | StepFailure::InvalidOutput { origin, .. }
            | StepFailure::Host { origin, .. }
            | StepFailure::WrongKind { origin, .. }
            | StepFailure::Denied { origin, .. } => origin,
        }
    }
}

/// Raised by the memory limiter: the guest asked for more memory than its cap.
#[derive(Debug, thiserror::Error)]
#[error("memory growth to {desired} bytes is over the limit of {limit} bytes")]
pub(crate) struct MemoryLimitHit {
    pub desired: usize,
    pub limit: usize,
}

/// Raised by a host import that could not answer (the context reader failed): the guest is
/// stopped rather than handed a partial answer.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub(crate) struct HostFault(pub String);

/// What the host knows about a call besides the error itself.
pub(crate) struct CallFacts<'a> {
    pub origin: Origin,
    pub timeout: Duration,
    pub memory_limit: usize,
    pub guest_stderr: &'a str,
}

/// The first error of type `E` in `error`'s chain, context included.
fn find<E: std::error::Error + Send + Sync + 'static>(error: &wasmtime::Error) -> Option<&E> {
    error
        .downcast_ref::<E>()
        .or_else(|| error.chain().find_map(|cause| cause.downcast_ref::<E>()))
}

/// Classifies an error from calling a plugin by walking its chain.
pub(crate) fn classify(error: &wasmtime::Error, facts: CallFacts<'_>) -> StepFailure {
    let CallFacts {
        origin,
        timeout,
        memory_limit,
        guest_stderr,
    } = facts;
    if let Some(fault) = find::<HostFault>(error) {
        return StepFailure::Host {
            origin,
            error: fault.0.clone(),
        };
    }
    if let Some(hit) = find::<MemoryLimitHit>(error) {
        return StepFailure::MemoryLimit {
            origin,
            limit: hit.limit,
        };
    }
    match find::<wasmtime::Trap>(error) {
        Some(wasmtime::Trap::Interrupt) => StepFailure::Timeout { origin, after: timeout },
        // A grow refused below the limiter (by the pool's own bound) leaves the guest's
        // allocator to abort; its stderr says so.
        Some(_) if guest_stderr.contains("memory allocation of") => StepFailure::MemoryLimit {
            origin,
            limit: memory_limit,
        },
        _ => StepFailure::Trap {
            origin,
            message: format!("{error:?}"),
            guest_stderr: guest_stderr.to_owned(),
        },
    }
}
