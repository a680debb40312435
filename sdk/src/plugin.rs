//! What a plugin implements ([`Step`], [`Channel`]), what it may ask of the host
//! ([`Context`], [`Host`]), and what it reports of a bad configuration ([`ConfigProblem`]).

use crate::commerce::{Item, OrderView, Polled, ShipmentView};
use crate::model::*;
use serde::de::DeserializeOwned;

/// Why a plugin call failed. The engine adds the plugin, its version and the step id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Error {
    /// Worth trying again later (a remote API was down).
    Retryable(String),
    /// Worth trying again, but not before `after` has passed: a vendor's `Retry-After`.
    RetryLater {
        /// How long to wait at least.
        after: std::time::Duration,
        /// Why.
        reason: String,
    },
    /// Will fail the same way every time (the input is malformed).
    Permanent(String),
    /// The step's `with:` configuration is wrong.
    BadConfig(String),
    /// From [`Channel::deliver`] only: the vendor refused the message because the recipient
    /// opted out of the channel (an SMS `STOP`; Twilio's error 21610). Refused for good, like
    /// [`Error::Permanent`]; the engine also records the opt-out, so nothing more goes to
    /// that recipient through the mount until the channel reports them opted back in.
    OptedOut(String),
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
    pub fn opted_out(message: impl Into<String>) -> Self {
        Error::OptedOut(message.into())
    }
    /// Worth trying again after `after` (a vendor's `Retry-After`), not sooner.
    pub fn retry_later(after: std::time::Duration, reason: impl Into<String>) -> Self {
        Error::RetryLater {
            after,
            reason: reason.into(),
        }
    }
    pub fn message(&self) -> &str {
        match self {
            Error::Retryable(m) | Error::Permanent(m) | Error::BadConfig(m) | Error::OptedOut(m) => m,
            Error::RetryLater { reason, .. } => reason,
        }
    }
    /// Whether trying again later may succeed ([`Error::Retryable`], [`Error::RetryLater`]).
    pub fn is_retryable(&self) -> bool {
        matches!(self, Error::Retryable(_) | Error::RetryLater { .. })
    }
}

impl std::fmt::Display for Error {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Error::Retryable(m) => write!(f, "retryable: {m}"),
            Error::RetryLater { after, reason } => {
                write!(f, "retryable after {} ms: {reason}", after.as_millis())
            }
            Error::Permanent(m) => write!(f, "permanent: {m}"),
            Error::BadConfig(m) => write!(f, "bad config: {m}"),
            Error::OptedOut(m) => write!(f, "opted out: {m}"),
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

/// One problem in a `with:` configuration, found by the plugin when the workflow loads
/// ([`Step::check_config`], [`Channel::check_config`]). The engine reports it at the line and
/// column of the value [`pointer`](Self::pointer) names, beside the problems of the JSON Schema.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigProblem {
    /// A JSON Pointer (RFC 6901) into the `with:` value: `/calendars/london/holidays`,
    /// `/policies/0/resolution`; empty for the configuration as a whole. Build it with
    /// [`ConfigProblem::at`], which escapes `~` and `/` in keys.
    pub pointer: String,
    /// What is wrong, lowercase, without a trailing period: `country GB needs a region`.
    pub message: String,
    /// What would be accepted, when the plugin can say: `one of ENG, NIR, SCT, WLS`.
    pub expected: Option<String>,
}

impl ConfigProblem {
    /// A problem at the value reached by `path` (keys, and list indices written as numbers)
    /// from the top of `with:`; an empty path means the whole configuration.
    ///
    /// ```
    /// use weft_sdk::ConfigProblem;
    /// let problem = ConfigProblem::at(["policies", "0", "resolution"], "36500d is too long");
    /// assert_eq!(problem.pointer, "/policies/0/resolution");
    /// ```
    pub fn at<S: AsRef<str>>(path: impl IntoIterator<Item = S>, message: impl Into<String>) -> Self {
        let mut pointer = String::new();
        for segment in path {
            pointer.push('/');
            pointer.push_str(&segment.as_ref().replace('~', "~0").replace('/', "~1"));
        }
        ConfigProblem {
            pointer,
            message: message.into(),
            expected: None,
        }
    }

    /// The same problem, saying what would be accepted.
    pub fn expected(mut self, expected: impl Into<String>) -> Self {
        self.expected = Some(expected.into());
        self
    }
}

impl std::fmt::Display for ConfigProblem {
    /// `/pointer: message, expected ...`, or without the pointer for the whole configuration.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if !self.pointer.is_empty() {
            write!(f, "{}: ", self.pointer)?;
        }
        f.write_str(&self.message)?;
        if let Some(expected) = &self.expected {
            write!(f, ", expected {expected}")?;
        }
        Ok(())
    }
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

/// What every plugin may ask of the host. Each capability must be granted: to a step by its
/// workflow (`allow:` of the step), to a channel by its entry in the channels file (`allow:` of
/// the mount). A refusal comes back as `Err` saying what to add, and where; should the call
/// then fail, the engine reports it as denied, with that message, whatever the plugin's error.
pub trait Host {
    /// An HTTP request to a host listed in `allow: { http: [...] }` (an exact host name, or
    /// `*.domain` for its subdomains; any port). `Ok` for every answer, whatever its status;
    /// `Err` when there is none: the host is not granted, the URL is bad, the connection
    /// failed, the call's time ran out, or the body is over 5 MiB.
    fn fetch(&self, request: &HttpRequest) -> Result<HttpResponse, String>;
    /// A secret listed in `allow: { secrets: [...] }`, read by the engine from the environment
    /// variable `WEFT_SECRET_<NAME>` (uppercased, other characters as `_`).
    fn secret(&self, name: &str) -> Result<String, String>;
    /// A diagnostic line, recorded with the step.
    fn log(&self, level: LogLevel, message: &str);
    /// One sentence embedding per text (L2-normalized, so a dot product is a cosine
    /// similarity), when the step's workflow grants `allow: { embeddings: true }` and the host
    /// has a model loaded. Steps only; channels always get `Err`.
    fn embed(&self, texts: &[String]) -> Result<Vec<Vec<f32>>, String>;
    /// Submits one whole RFC 5322 message (rendered by the plugin) through the SMTP relay the
    /// channels file gives the mount (`smtp:`); the server's final answer when it took it.
    /// Channels with a relay only; everything else gets [`SubmitError::Refused`]. Since
    /// contract 0.5.0.
    fn submit_mail(&self, envelope: &MailEnvelope, message: &[u8]) -> Result<String, SubmitError> {
        let _ = (envelope, message);
        Err(SubmitError::Refused("this host submits no mail".to_owned()))
    }

    /// The value a call of the same channel mount stored under `key` with
    /// [`Host::cache_set`], unless it expired or the host dropped it. Channels only (steps
    /// always miss); no grant needed: the entries are the mount's own, kept in the server's
    /// memory. Since contract 0.5.0.
    ///
    /// The cache is for what is costly to fetch and good for a while (an OAuth access token,
    /// a vendor's public key by key id): any entry may be gone at any time (evicted, the
    /// server restarted), so a miss must only cost fetching the value again.
    fn cache_get(&self, key: &str) -> Option<Vec<u8>> {
        let _ = key;
        None
    }
    /// Stores `value` under `key` for this channel mount for `ttl`, replacing what was there;
    /// a zero `ttl` removes it. The host does not keep a key over 256 bytes or a value over
    /// 64 KiB. Channels only (for steps it does nothing). Since contract 0.5.0.
    fn cache_set(&self, key: &str, value: &[u8], ttl: std::time::Duration) {
        let _ = (key, value, ttl);
    }
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
    /// The version of the model stored with the data under `name` (it changes whenever the
    /// model is trained again); none before the first training.
    fn model_version(&self, name: &str) -> Option<u64> {
        let _ = name;
        None
    }
    /// The model stored under `name`, as the JSON its trainer wrote.
    fn model(&self, name: &str) -> Option<String> {
        let _ = name;
        None
    }
    /// The order with this number (in any written form) at this channel (`shopify`,
    /// `amazon`, ...), as the engine keeps it.
    fn order(&self, channel: &str, number: &str) -> Option<OrderView> {
        let _ = (channel, number);
        None
    }
    /// A customer's orders (and those of the customers merged into it), newest first, at most
    /// `limit`.
    fn customer_orders(&self, customer: u64, limit: u32) -> Vec<OrderView> {
        let _ = (customer, limit);
        Vec::new()
    }
    /// The shipments of an order, oldest first, each with its status history.
    fn order_shipments(&self, channel: &str, number: &str) -> Vec<ShipmentView> {
        let _ = (channel, number);
        Vec::new()
    }
}

/// A workflow step. It decides; the engine acts.
pub trait Step {
    /// The step's `with:` configuration. Its JSON Schema is published to the engine, which
    /// checks every workflow against it when the workflow loads.
    type Config: DeserializeOwned + schemars::JsonSchema;
    /// One line on what the step decides.
    const DESCRIPTION: &'static str;

    /// Checks what the JSON Schema of [`Self::Config`] cannot express, when the workflow loads:
    /// values that parse but that [`Self::decide`] would refuse (a country without its holiday
    /// data, a threshold outside 0 to 1, a team that a rule names but that does not exist).
    /// Return every problem, each at the value it concerns; the engine shows them with file,
    /// line and column and runs nothing until they are fixed. The default finds none.
    ///
    /// Whatever `decide` fails on for a given configuration, whatever the event, belongs here:
    /// a workflow that validates must not fail every message at run time. The check gets no
    /// context and no capabilities, and runs under the step's time and memory limits.
    fn check_config(config: &Self::Config) -> Vec<ConfigProblem> {
        let _ = config;
        Vec::new()
    }

    fn decide(event: &Event, config: &Self::Config, ctx: &dyn Context) -> Result<Vec<Decision>, Error>;
}

/// A channel connector: see [`crate::guide`] for what the engine does with each answer.
pub trait Channel {
    /// The `with:` of the channel's entry in the channels file. Its JSON Schema is published to
    /// the engine, which checks the channels file against it when the file loads.
    type Config: DeserializeOwned + schemars::JsonSchema;
    /// One line on what the channel connects.
    const DESCRIPTION: &'static str;

    /// Checks the channel's `with:` beyond its JSON Schema, as [`Step::check_config`] does for
    /// a step. The default finds no problem.
    fn check_config(config: &Self::Config) -> Vec<ConfigProblem> {
        let _ = config;
        Vec::new()
    }

    /// Checks that the traffic really comes from the channel (a webhook signature over the raw
    /// body, say), before the engine keeps it. [`Error::Permanent`] means it does not: the
    /// sender gets 401 and nothing is kept. Any other error means the channel cannot tell now
    /// (a secret missing): the sender gets 503 and sends it again later. The default accepts
    /// everything, for channels that have nothing to verify.
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

    /// Normalizes raw traffic into messages, after the webhook was kept and answered.
    /// Malformed input is a [`Error::Permanent`] that says what was wrong and where: the
    /// traffic becomes a dead letter with that reason, to be replayed once the plugin is fixed.
    /// A channel whose traffic holds orders or shipments too implements [`Self::parse_items`]
    /// instead; the default finds no message.
    fn parse(inbound: &Inbound, config: &Self::Config) -> Result<Vec<Message>, Error> {
        let _ = (inbound, config);
        Ok(Vec::new())
    }

    /// Normalizes raw traffic into [`Item`]s: messages, orders placed, updated or cancelled,
    /// shipment updates, other facts. The engine keeps the orders and shipments and queues an
    /// event for each item (see [`crate::commerce`]). Errors as for [`Self::parse`]. The
    /// default is the messages of [`Self::parse`].
    fn parse_items(inbound: &Inbound, config: &Self::Config) -> Result<Vec<Item>, Error> {
        Ok(Self::parse(inbound, config)?.into_iter().map(Item::Message).collect())
    }

    /// Asks the vendor for what is new since `cursor` (`None` on the very first poll), for a
    /// channel that must be polled (an API without webhooks). `weft serve` calls it at the
    /// interval of the channel's `poll:` in the channels file, with the cursor the last
    /// successful poll returned, and keeps the items and the next cursor in one transaction:
    /// a restart neither skips nor repeats. An error keeps the cursor, and the next poll
    /// (after a backoff) asks again from the same place, so answer [`Error::Retryable`] or
    /// [`Error::RetryLater`] when the vendor was down or said to wait. `Ok(None)` (the
    /// default) says the channel is not polled.
    fn poll(cursor: Option<&str>, config: &Self::Config, host: &dyn Host) -> Result<Option<Polled>, Error> {
        let _ = (cursor, config, host);
        Ok(None)
    }

    /// What webhook traffic says besides messages, called after [`Channel::parse`] succeeded
    /// on it: the [`DeliveryStatus`] of messages this channel delivered (a status callback,
    /// matched by the mount and [`Delivery::external_id`]; a failed one shows on its ticket),
    /// and [`Consent`]: a buyer who opted out (an SMS `STOP`) gets nothing more through the
    /// mount until a later consent opts them back in. An error dead-letters the traffic as a
    /// `parse` error does. The default says nothing.
    fn notices(inbound: &Inbound, config: &Self::Config) -> Result<Vec<Notice>, Error> {
        let _ = (inbound, config);
        Ok(Vec::new())
    }

    /// Delivers a reply through the channel's API: `Ok` once the vendor took it (with the
    /// vendor's id of it), [`Error::Retryable`] when a later try may succeed (no answer, 408,
    /// 429, 5xx: [`HttpResponse::error`] sorts answers), [`Error::Permanent`] when it never
    /// will as it is, with the vendor's reason for agents to read. The default refuses: the
    /// channel is inbound only.
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

/// What the `check-config` export answers: the configuration parsed as [`parse_config`] parses
/// it before every call, then checked by `check`. A configuration that does not parse (serde
/// refused a value the schema let through, such as a duration past its maximum) is one problem,
/// at the value serde refused.
pub fn config_problems<C: DeserializeOwned>(
    json: &str,
    check: impl FnOnce(&C) -> Vec<ConfigProblem>,
) -> Vec<ConfigProblem> {
    let json = if json.trim().is_empty() { "{}" } else { json };
    let mut deserializer = serde_json::Deserializer::from_str(json);
    match serde_path_to_error::deserialize::<_, C>(&mut deserializer) {
        Ok(config) => check(&config),
        Err(error) => {
            let mut path = Vec::new();
            for segment in error.path().iter() {
                match segment {
                    serde_path_to_error::Segment::Seq { index } => path.push(index.to_string()),
                    serde_path_to_error::Segment::Map { key } => path.push(key.clone()),
                    serde_path_to_error::Segment::Enum { .. } | serde_path_to_error::Segment::Unknown => break,
                }
            }
            let error = error.into_inner();
            // The place in the engine's JSON text means nothing to the workflow's author.
            let place = format!(" at line {} column {}", error.line(), error.column());
            let message = error.to_string();
            let message = message.strip_suffix(&place).unwrap_or(&message);
            vec![ConfigProblem::at(path, message)]
        }
    }
}

/// The JSON Schema of a configuration type, as published in [`PluginInfo`].
pub fn config_schema<C: schemars::JsonSchema>() -> serde_json::Value {
    schemars::schema_for!(C).to_value()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, serde::Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Config {
        #[serde(default)]
        #[expect(dead_code, reason = "only its parsing is under test")]
        teams: std::collections::BTreeMap<String, Vec<u8>>,
        #[serde(default)]
        threshold: f64,
    }

    fn check(config: &Config) -> Vec<ConfigProblem> {
        if (0.0..=1.0).contains(&config.threshold) {
            return Vec::new();
        }
        vec![ConfigProblem::at(["threshold"], format!("{} n'est pas entre 0 et 1", config.threshold)).expected("0 à 1")]
    }

    #[test]
    fn pointers_escape_keys_and_read_like_the_rfc() {
        let problem = ConfigProblem::at(["teams", "a/b~c", "0"], "leer");
        assert_eq!(problem.pointer, "/teams/a~1b~0c/0");
        assert_eq!(problem.to_string(), "/teams/a~1b~0c/0: leer");
        let whole = ConfigProblem::at([] as [&str; 0], "設定が空です").expected("a mapping");
        assert_eq!(whole.to_string(), "設定が空です, expected a mapping");
    }

    #[test]
    fn serde_refusals_and_the_plugins_check_are_problems_at_their_value() {
        assert_eq!(config_problems::<Config>("", check), []);
        let found = config_problems::<Config>(r#"{"threshold": 1.5}"#, check);
        assert_eq!(
            found[0].to_string(),
            "/threshold: 1.5 n'est pas entre 0 et 1, expected 0 à 1"
        );
        let found = config_problems::<Config>(r#"{"teams": {"東京": [1, 300]}}"#, check);
        assert_eq!(found.len(), 1, "{found:?}");
        assert_eq!(found[0].pointer, "/teams/東京/1");
        assert!(
            found[0].message.starts_with("invalid value: integer `300`"),
            "{}",
            found[0].message
        );
        assert!(!found[0].message.contains("line 1"), "{}", found[0].message);
    }
}
