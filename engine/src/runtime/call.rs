//! What a call is given ([`CallOptions`], [`Grants`]) and what a step call returns ([`StepOutput`]).

use std::time::Duration;
use weft_sdk::{Decision, LogLevel};

/// How one call runs: for which step, how long, with how much memory and which capabilities.
#[derive(Debug, Clone)]
pub struct CallOptions {
    /// The step id, named in failures, log lines and denial messages.
    pub step: String,
    /// Wall-clock time the call may take, host calls included.
    pub timeout: Duration,
    /// Memory cap for this call; `None` takes the runtime's default. A value above the
    /// runtime's `memory_limit_bytes` is lowered to it.
    pub memory_limit_bytes: Option<usize>,
    /// What the step may use beyond the read-only context.
    pub grants: Grants,
    /// Who granted them, so that a denial says where to add a grant.
    pub granted_by: GrantedBy,
}

/// Who granted a call its capabilities: a denial tells the author where to add the grant.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum GrantedBy {
    /// A workflow step's `allow:`; the call's `step` is the step id.
    #[default]
    Workflow,
    /// A channel's `allow:` in the channels file; the call's `step` is the hook id.
    ChannelsFile,
}

impl GrantedBy {
    /// What was refused the capability: "step `notify`", "channel `shop-de`".
    pub(crate) fn who(self, id: &str) -> String {
        match self {
            GrantedBy::Workflow => format!("step `{id}`"),
            GrantedBy::ChannelsFile => format!("channel `{id}`"),
        }
    }

    /// Where the grant goes: "to the step", "to channel `shop-de` in the channels file".
    pub(crate) fn place(self, id: &str) -> String {
        match self {
            GrantedBy::Workflow => "to the step".to_owned(),
            GrantedBy::ChannelsFile => format!("to channel `{id}` in the channels file"),
        }
    }

    /// The message a refused capability gets: what was refused, and the `allow:` that grants
    /// it, with what is granted already (`had`) and what was missing (`wanted` is `had` with
    /// `item` added), so it can be pasted over the old one.
    pub(crate) fn denial(self, refused: &str, id: &str, item: &str, had: &Grants, wanted: &Grants) -> String {
        let who = self.who(id);
        let place = self.place(id);
        if had.is_empty() {
            format!(
                "{refused} is not allowed for {who}: add `{}` {place}",
                wanted.allow_line()
            )
        } else {
            format!(
                "{refused} is not allowed for {who}: add {item} {place}: `{}`",
                wanted.allow_line()
            )
        }
    }
}

impl CallOptions {
    /// Options for `step` with a timeout and no grants.
    pub fn new(step: impl Into<String>, timeout: Duration) -> Self {
        CallOptions {
            step: step.into(),
            timeout,
            memory_limit_bytes: None,
            grants: Grants::default(),
            granted_by: GrantedBy::Workflow,
        }
    }
}

/// Capabilities granted to a step by its workflow (`allow:`). Everything else is denied.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Grants {
    /// Hosts the step may fetch from: an exact host (`api.example.com`, `127.0.0.1`) or a
    /// pattern `*.example.com` that matches every subdomain (not `example.com` itself).
    pub http_hosts: Vec<String>,
    /// Secret names the step may read.
    pub secrets: Vec<String>,
    /// Whether the step may compute sentence embeddings with the runtime's model.
    pub embeddings: bool,
    /// The SMTP relay a channel submits mail through (its mount's `smtp:`); none for steps.
    pub smtp: Option<crate::runtime::SmtpRelay>,
}

impl Grants {
    /// Whether nothing is granted.
    pub fn is_empty(&self) -> bool {
        self.http_hosts.is_empty() && self.secrets.is_empty() && !self.embeddings && self.smtp.is_none()
    }

    /// The grants as the `allow:` of a step or a channels file entry, on one line:
    /// `allow: { http: [api.example.com, "*.shop.de"], secrets: [token] }`. Values that YAML
    /// would not read back as the same plain string are quoted.
    pub fn allow_line(&self) -> String {
        let list = |items: &[String]| {
            items
                .iter()
                .map(|item| {
                    let plain = !item.is_empty()
                        && item
                            .bytes()
                            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'));
                    if plain {
                        item.clone()
                    } else {
                        serde_json::Value::String(item.clone()).to_string()
                    }
                })
                .collect::<Vec<_>>()
                .join(", ")
        };
        let mut parts = Vec::new();
        if !self.http_hosts.is_empty() {
            parts.push(format!("http: [{}]", list(&self.http_hosts)));
        }
        if !self.secrets.is_empty() {
            parts.push(format!("secrets: [{}]", list(&self.secrets)));
        }
        if self.embeddings {
            parts.push("embeddings: true".to_owned());
        }
        format!("allow: {{ {} }}", parts.join(", "))
    }
}

/// What a successful step call produced.
#[derive(Debug, Clone, PartialEq)]
pub struct StepOutput {
    /// The decisions, checked by the runtime.
    pub decisions: Vec<Decision>,
    /// The log lines the plugin wrote, in order (bounded; a final line says how many were
    /// dropped).
    pub logs: Vec<(LogLevel, String)>,
}
