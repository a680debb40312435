//! What a plugin implements ([`Step`], [`Channel`]) and what it may ask of the host
//! ([`Context`], [`Host`]).

use crate::model::*;
use serde::de::DeserializeOwned;

/// Why a plugin call failed. The engine adds the plugin, its version and the step id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Error {
    /// Worth trying again later (a remote API was down).
    Retryable(String),
    /// Will fail the same way every time (the input is malformed).
    Permanent(String),
    /// The step's `with:` configuration is wrong.
    BadConfig(String),
}

impl Error {
    pub fn permanent(message: impl Into<String>) -> Self {
        Error::Permanent(message.into())
    }
    pub fn retryable(message: impl Into<String>) -> Self {
        Error::Retryable(message.into())
    }
    pub fn bad_config(message: impl Into<String>) -> Self {
        Error::BadConfig(message.into())
    }
    pub fn message(&self) -> &str {
        match self {
            Error::Retryable(m) | Error::Permanent(m) | Error::BadConfig(m) => m,
        }
    }
}

impl std::fmt::Display for Error {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Error::Retryable(m) => write!(f, "retryable: {m}"),
            Error::Permanent(m) => write!(f, "permanent: {m}"),
            Error::BadConfig(m) => write!(f, "bad config: {m}"),
        }
    }
}

impl std::error::Error for Error {}

/// What a plugin says about itself: the engine checks workflows against `config_schema`.
#[derive(Debug, Clone, PartialEq)]
pub struct PluginInfo {
    pub name: String,
    pub version: String,
    pub description: String,
    /// JSON Schema of the `with:` configuration.
    pub config_schema: serde_json::Value,
}

/// Severity of a plugin's log line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogLevel {
    Trace,
    Debug,
    Info,
    Warn,
    Error,
}

/// What every plugin may ask of the host. Each capability must be granted to the step in its
/// workflow (`allow:`); a refusal comes back as `Err` with what to add.
pub trait Host {
    /// An HTTP request to a host listed in the step's `allow: { http: [...] }`.
    fn fetch(&self, request: &HttpRequest) -> Result<HttpResponse, String>;
    /// A secret listed in the step's `allow: { secrets: [...] }`.
    fn secret(&self, name: &str) -> Result<String, String>;
    /// A diagnostic line, recorded with the step.
    fn log(&self, level: LogLevel, message: &str);
    /// One sentence embedding per text (L2-normalized, so a dot product is a cosine
    /// similarity), when the step's workflow grants `allow: { embeddings: true }` and the host
    /// has a model loaded. Steps only; channels always get `Err`.
    fn embed(&self, texts: &[String]) -> Result<Vec<Vec<f32>>, String>;
}

/// Read-only access to what the engine knows, for steps. Answers reflect the decisions already
/// applied for the current event by earlier steps.
pub trait Context: Host {
    /// Customers known by exactly this identifier (a blocking key too).
    ///
    /// A view lists every identity of the customer and of the customers merged into it, except
    /// blocking keys ([`crate::BLOCKING_KEY_PREFIX`]).
    fn find_customers(&self, identity: &Identity) -> Vec<CustomerView>;
    fn customer(&self, id: u64) -> Option<CustomerView>;
    /// A customer's most recently updated tickets, newest first.
    fn customer_tickets(&self, customer: u64, limit: u32) -> Vec<TicketView>;
    fn ticket(&self, number: u64) -> Option<TicketView>;
    /// Tickets about this order number, newest first.
    fn order_tickets(&self, order: &str) -> Vec<TicketView>;
    /// The ticket holding the message with this channel id or email Message-ID.
    fn message_ticket(&self, message_id: &str) -> Option<u64>;
    /// The ticket of a channel conversation.
    fn thread_ticket(&self, channel: &str, thread: &str) -> Option<u64>;
    /// The most recent messages of a ticket and of the tickets merged into it, newest first,
    /// at most `limit`.
    fn ticket_messages(&self, ticket: u64, limit: u32) -> Vec<MessageSummary>;
    /// The deadlines of a ticket and of the tickets merged into it, by due time.
    fn ticket_deadlines(&self, ticket: u64) -> Vec<DeadlineView>;
}

/// A workflow step. It decides; the engine acts.
pub trait Step {
    /// The step's `with:` configuration. Its JSON Schema is published to the engine, which
    /// checks every workflow against it when the workflow loads.
    type Config: DeserializeOwned + schemars::JsonSchema;
    /// One line on what the step decides.
    const DESCRIPTION: &'static str;

    fn decide(event: &Event, config: &Self::Config, ctx: &dyn Context) -> Result<Vec<Decision>, Error>;
}

/// A channel connector.
pub trait Channel {
    type Config: DeserializeOwned + schemars::JsonSchema;
    const DESCRIPTION: &'static str;

    /// Checks that the traffic really comes from the channel (a webhook signature, say).
    /// The default accepts everything, for channels that have nothing to verify.
    fn verify(inbound: &Inbound, config: &Self::Config, host: &dyn Host) -> Result<(), Error> {
        let _ = (inbound, config, host);
        Ok(())
    }

    /// Answers a vendor's subscription check on the hook (`GET /hooks/{id}`), such as Meta's
    /// `hub.challenge` or eBay's `challenge_code`. `None` (the default) when the channel has
    /// none: the engine answers 405.
    fn handshake(
        request: &HandshakeRequest,
        config: &Self::Config,
        host: &dyn Host,
    ) -> Result<Option<HandshakeResponse>, Error> {
        let _ = (request, config, host);
        Ok(None)
    }

    /// Normalizes raw traffic into messages. Malformed input is a [`Error::Permanent`] that
    /// says what was wrong and where.
    fn parse(inbound: &Inbound, config: &Self::Config) -> Result<Vec<Message>, Error>;

    /// Delivers a reply through the channel's API. The default refuses: the channel is
    /// inbound only.
    fn deliver(outbound: &Outbound, config: &Self::Config, host: &dyn Host) -> Result<Delivery, Error> {
        let _ = (outbound, config, host);
        Err(Error::permanent("this channel cannot deliver messages"))
    }
}

/// Parses a `with:` configuration, as the export macros do before every call.
pub fn parse_config<C: DeserializeOwned>(json: &str) -> Result<C, Error> {
    let json = if json.trim().is_empty() { "{}" } else { json };
    serde_json::from_str(json).map_err(|e| Error::bad_config(e.to_string()))
}

/// The JSON Schema of a configuration type, as published in [`PluginInfo`].
pub fn config_schema<C: schemars::JsonSchema>() -> serde_json::Value {
    schemars::schema_for!(C).to_value()
}
