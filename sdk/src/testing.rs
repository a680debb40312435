//! Test doubles for running a plugin's logic natively, in `cargo test`: the host a channel
//! talks to ([`TestHost`]: secrets, canned HTTP answers, log lines), an in-memory [`Context`]
//! for steps ([`MemoryContext`]), and the engine's configuration check as a function
//! ([`channel_config`], [`check_step_config`], [`check_channel_config`]).
//!
//! Nothing here is granted unless the test says so, like in the engine. HTTP never leaves the
//! process: each request is answered from the responses registered for its method and URL
//! ([`CannedHttp`]), recorded for the test to inspect, and refused with a message that lists
//! what was registered when nothing matches.
//!
//! ```
//! use weft_sdk::testing::TestHost;
//! use weft_sdk::{Host, HttpRequest, HttpResponse};
//!
//! let host = TestHost::new()
//!     .with_secret("api_token", "t0ken")
//!     .respond("POST", "https://api.example.com/v1/messages", HttpResponse::new(429).with_header("Retry-After", "30"))
//!     .respond("POST", "https://api.example.com/v1/messages", HttpResponse::new(201));
//! // What a channel's `deliver` would do:
//! let token = host.secret("api_token").unwrap();
//! let request = HttpRequest::new("POST", "https://api.example.com/v1/messages")
//!     .with_header("Authorization", format!("Bearer {token}"));
//! assert_eq!(host.fetch(&request).unwrap().retry_after(), Some(std::time::Duration::from_secs(30)));
//! assert_eq!(host.fetch(&request).unwrap().status, 201);
//! // Every request is kept, to check headers, signatures and bodies.
//! assert_eq!(host.requests()[1].header("authorization"), Some("Bearer t0ken"));
//! // Nothing registered for this one: an `Err` that says so.
//! let stray = host.fetch(&HttpRequest::new("GET", "https://api.example.com/v1/me")).unwrap_err();
//! assert!(stray.starts_with("no canned response for GET https://api.example.com/v1/me"), "{stray}");
//! ```

use crate::model::*;
use crate::plugin::{Channel, ConfigProblem, Context, Host, LogLevel, Step, config_problems};
use std::collections::{BTreeMap, VecDeque};
use std::sync::Mutex;

/// What the engine hears from a step's `check-config` export for this `with:` value: a
/// configuration serde refuses is one problem, otherwise [`Step::check_config`]'s.
pub fn check_step_config<S: Step>(config: &serde_json::Value) -> Vec<ConfigProblem> {
    config_problems::<S::Config>(&config.to_string(), S::check_config)
}

/// What the engine hears from a channel's `check-config` export for this `with:` value.
pub fn check_channel_config<C: Channel>(config: &serde_json::Value) -> Vec<ConfigProblem> {
    config_problems::<C::Config>(&config.to_string(), C::check_config)
}

/// A channel's `with:` as its calls receive it: parsed into `C::Config` as the export macro
/// does before every call, after [`Channel::check_config`] found no problem (the engine
/// refuses a channels file whose mounts have problems). The JSON Schema check that comes
/// first in the engine is not repeated here.
///
/// ```
/// # use weft_sdk::prelude::*;
/// # struct Shop;
/// # #[derive(serde::Deserialize, schemars::JsonSchema)]
/// # struct Config { api_base: String }
/// # impl Channel for Shop {
/// #     type Config = Config;
/// #     const DESCRIPTION: &'static str = "a shop";
/// #     fn check_config(config: &Config) -> Vec<ConfigProblem> {
/// #         if config.api_base.starts_with("http") { vec![] } else { vec![ConfigProblem::at(["api_base"], "not a URL")] }
/// #     }
/// #     fn parse(_: &Inbound, _: &Config) -> Result<Vec<Message>, Error> { Ok(vec![]) }
/// # }
/// use weft_sdk::testing::channel_config;
/// let config = channel_config::<Shop>(serde_json::json!({"api_base": "http://127.0.0.1:9"})).unwrap();
/// assert_eq!(config.api_base, "http://127.0.0.1:9");
/// let problems = channel_config::<Shop>(serde_json::json!({"api_base": "ftp://x"})).err().unwrap();
/// assert_eq!(problems[0].to_string(), "/api_base: not a URL");
/// ```
pub fn channel_config<C: Channel>(with: serde_json::Value) -> Result<C::Config, Vec<ConfigProblem>> {
    let problems = check_channel_config::<C>(&with);
    if !problems.is_empty() {
        return Err(problems);
    }
    crate::plugin::parse_config(&with.to_string()).map_err(|e| vec![ConfigProblem::at([] as [&str; 0], e.message())])
}

/// HTTP answered from responses registered per method and URL, with every request recorded.
///
/// A request matches a registration when its method is the same (ignoring ASCII case) and its
/// URL is the same string, query included. The responses registered for one method and URL
/// answer in the order they were registered; the last one then answers every later request
/// (register `503`, `429`, `200` to see a delivery fail twice and then go through). A request
/// that matches nothing gets an `Err` naming it and listing what was registered, as a
/// refused or failed request does in the engine.
#[derive(Debug, Default)]
pub struct CannedHttp {
    state: Mutex<Canned>,
}

#[derive(Debug, Default)]
struct Canned {
    /// (method uppercased, url) -> responses still to give; the last one stays.
    routes: Vec<((String, String), VecDeque<HttpResponse>)>,
    requests: Vec<HttpRequest>,
}

impl CannedHttp {
    /// Adds `response` to those that answer `method` `url`.
    pub fn respond(&self, method: &str, url: &str, response: HttpResponse) {
        let key = (method.to_ascii_uppercase(), url.to_owned());
        let mut state = self.lock();
        match state.routes.iter_mut().find(|(k, _)| *k == key) {
            Some((_, responses)) => responses.push_back(response),
            None => state.routes.push((key, VecDeque::from([response]))),
        }
    }

    /// Every request made so far, in order, the unanswered ones too.
    pub fn requests(&self) -> Vec<HttpRequest> {
        self.lock().requests.clone()
    }

    /// Answers `request` from the registered responses, and records it.
    pub fn fetch(&self, request: &HttpRequest) -> Result<HttpResponse, String> {
        let mut state = self.lock();
        state.requests.push(request.clone());
        let key = (request.method.to_ascii_uppercase(), request.url.clone());
        if let Some((_, responses)) = state.routes.iter_mut().find(|(k, _)| *k == key) {
            let response = if responses.len() > 1 {
                responses.pop_front()
            } else {
                responses.front().cloned()
            };
            if let Some(response) = response {
                return Ok(response);
            }
        }
        let registered: Vec<String> = state
            .routes
            .iter()
            .map(|((method, url), _)| format!("{method} {url}"))
            .collect();
        Err(format!(
            "no canned response for {} {} (registered: {})",
            request.method,
            request.url,
            if registered.is_empty() {
                "none".to_owned()
            } else {
                registered.join(", ")
            }
        ))
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Canned> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// The host a channel's `verify`, `handshake` and `deliver` get, natively: granted secrets,
/// canned HTTP ([`CannedHttp`]) and the log lines written. Build it with the `with_*` and
/// [`respond`](Self::respond) calls, pass `&host` where a `&dyn Host` is expected, then look at
/// [`requests`](Self::requests) and [`logs`](Self::logs).
#[derive(Debug, Default)]
pub struct TestHost {
    /// Granted secrets by name. A name missing here is refused, as an ungranted one is.
    pub secrets: BTreeMap<String, String>,
    /// The answers to `fetch`, and the requests made.
    pub http: CannedHttp,
    /// Every log line the plugin wrote.
    pub logs: Mutex<Vec<(LogLevel, String)>>,
    /// Every mail the plugin submitted, and the answers to give, in order (then "250 OK").
    pub mail: Mutex<TestRelay>,
    /// The mount's cache ([`Host::cache_set`]), by key: the value and the time to live it was
    /// stored with. Nothing expires by itself (a test has no clock to move); clear it, or
    /// store with a zero time to live, to see what a plugin does on a miss.
    pub cache: Mutex<BTreeMap<String, (Vec<u8>, std::time::Duration)>>,
}

/// What [`TestHost::submit_mail`] answered and was given.
#[derive(Debug, Default)]
pub struct TestRelay {
    /// The mails submitted, with their envelopes, in order.
    pub submitted: Vec<(MailEnvelope, Vec<u8>)>,
    /// The answers still to give, first first; when none is left, `Ok("250 OK")`.
    pub answers: std::collections::VecDeque<Result<String, SubmitError>>,
}

impl TestHost {
    /// A host that grants nothing and answers no request.
    pub fn new() -> Self {
        Self::default()
    }

    /// Grants the secret `name` with this value (in the engine: `allow: { secrets: [name] }`
    /// and the environment variable `WEFT_SECRET_<NAME>`).
    pub fn with_secret(mut self, name: &str, value: &str) -> Self {
        self.secrets.insert(name.to_owned(), value.to_owned());
        self
    }

    /// Answers `method` `url` with `response` (see [`CannedHttp`] for the order of answers).
    pub fn respond(self, method: &str, url: &str, response: HttpResponse) -> Self {
        self.http.respond(method, url, response);
        self
    }

    /// Every request the plugin made, in order.
    pub fn requests(&self) -> Vec<HttpRequest> {
        self.http.requests()
    }

    /// Answers the next mail submission with `answer` (in the engine: the SMTP relay's reply).
    pub fn answer_mail(self, answer: Result<String, SubmitError>) -> Self {
        self.mail
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .answers
            .push_back(answer);
        self
    }

    /// Every mail the plugin submitted, with its envelope, in order.
    pub fn submitted(&self) -> Vec<(MailEnvelope, Vec<u8>)> {
        self.mail.lock().unwrap_or_else(|e| e.into_inner()).submitted.clone()
    }

    /// Every line the plugin logged, in order.
    pub fn logs(&self) -> Vec<(LogLevel, String)> {
        self.logs.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }
}

impl Host for TestHost {
    fn fetch(&self, request: &HttpRequest) -> Result<HttpResponse, String> {
        self.http.fetch(request)
    }

    fn secret(&self, name: &str) -> Result<String, String> {
        granted_secret(&self.secrets, name)
    }

    fn log(&self, level: LogLevel, message: &str) {
        self.logs
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push((level, message.to_owned()));
    }

    fn embed(&self, _texts: &[String]) -> Result<Vec<Vec<f32>>, String> {
        Err("embeddings are for steps; a channel gets none".to_owned())
    }

    fn submit_mail(&self, envelope: &MailEnvelope, message: &[u8]) -> Result<String, SubmitError> {
        let mut relay = self.mail.lock().unwrap_or_else(|e| e.into_inner());
        let answer = relay.answers.pop_front().unwrap_or_else(|| Ok("250 OK".to_owned()));
        if answer.is_ok() {
            relay.submitted.push((envelope.clone(), message.to_vec()));
        }
        answer
    }

    fn cache_get(&self, key: &str) -> Option<Vec<u8>> {
        let cache = self.cache.lock().unwrap_or_else(|e| e.into_inner());
        cache.get(key).map(|(value, _)| value.clone())
    }

    fn cache_set(&self, key: &str, value: &[u8], ttl: std::time::Duration) {
        let mut cache = self.cache.lock().unwrap_or_else(|e| e.into_inner());
        if ttl.is_zero() {
            cache.remove(key);
        } else {
            cache.insert(key.to_owned(), (value.to_vec(), ttl));
        }
    }
}

fn granted_secret(secrets: &BTreeMap<String, String>, name: &str) -> Result<String, String> {
    secrets
        .get(name)
        .cloned()
        .ok_or_else(|| format!("secret `{name}` is not granted in this test (give it with `with_secret`)"))
}

/// Customers and tickets held in memory.
#[derive(Debug, Default)]
pub struct MemoryContext {
    pub customers: BTreeMap<u64, CustomerView>,
    pub tickets: BTreeMap<u64, TicketView>,
    /// Message id -> ticket number.
    pub message_tickets: BTreeMap<String, u64>,
    /// (channel, thread) -> ticket number.
    pub thread_tickets: BTreeMap<(String, String), u64>,
    /// Ticket number -> the messages on it, in any order (answers come newest first).
    pub ticket_messages: BTreeMap<u64, Vec<MessageSummary>>,
    /// Ticket number -> its deadlines, as [`Context::ticket_deadlines`] shows them.
    pub ticket_deadlines: BTreeMap<u64, Vec<DeadlineView>>,
    /// Granted secrets by name.
    pub secrets: BTreeMap<String, String>,
    /// The answers to `fetch` (none unless the test registers them), and the requests made.
    pub http: CannedHttp,
    /// Every log line the plugin wrote.
    pub logs: Mutex<Vec<(LogLevel, String)>>,
    /// Sentence embeddings by text. Empty means the capability is not granted; a text without
    /// a vector here is refused too.
    pub embeddings: BTreeMap<String, Vec<f32>>,
    /// Stored models by name: (version, JSON).
    pub models: BTreeMap<String, (u64, String)>,
}

impl MemoryContext {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn with_customer(mut self, id: u64, identities: &[Identity]) -> Self {
        self.customers.insert(
            id,
            CustomerView {
                id,
                identities: identities.to_vec(),
                merged_into: None,
                kept_apart: Vec::new(),
            },
        );
        self
    }

    pub fn with_ticket(mut self, ticket: TicketView) -> Self {
        self.tickets.insert(ticket.number, ticket);
        self
    }

    /// Records that customers `a` and `b` were split apart: each lists the other as kept apart.
    pub fn with_kept_apart(mut self, a: u64, b: u64) -> Self {
        for (one, other) in [(a, b), (b, a)] {
            if let Some(customer) = self.customers.get_mut(&one)
                && !customer.kept_apart.contains(&other)
            {
                customer.kept_apart.push(other);
            }
        }
        self
    }

    /// Puts `message` on ticket `ticket`'s history, as [`Context::ticket_messages`] shows it.
    pub fn with_message(mut self, ticket: u64, message: MessageSummary) -> Self {
        self.message_tickets.insert(message.id.clone(), ticket);
        self.ticket_messages.entry(ticket).or_default().push(message);
        self
    }
}

impl Host for MemoryContext {
    fn fetch(&self, request: &HttpRequest) -> Result<HttpResponse, String> {
        self.http.fetch(request)
    }

    fn secret(&self, name: &str) -> Result<String, String> {
        granted_secret(&self.secrets, name)
    }

    fn log(&self, level: LogLevel, message: &str) {
        self.logs
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push((level, message.to_owned()));
    }

    fn embed(&self, texts: &[String]) -> Result<Vec<Vec<f32>>, String> {
        if self.embeddings.is_empty() {
            return Err("embeddings are not granted in this test context".to_owned());
        }
        texts
            .iter()
            .map(|t| {
                self.embeddings
                    .get(t)
                    .cloned()
                    .ok_or_else(|| format!("no embedding given to this test context for `{t}`"))
            })
            .collect()
    }
}

/// A customer as the engine shows it: without its blocking keys.
fn view(customer: &CustomerView) -> CustomerView {
    CustomerView {
        identities: customer
            .identities
            .iter()
            .filter(|i| !i.is_blocking_key())
            .cloned()
            .collect(),
        ..customer.clone()
    }
}

impl Context for MemoryContext {
    fn find_customers(&self, identity: &Identity) -> Vec<CustomerView> {
        self.customers
            .values()
            .filter(|c| c.identities.contains(identity))
            .map(view)
            .collect()
    }

    fn customer(&self, id: u64) -> Option<CustomerView> {
        self.customers.get(&id).map(view)
    }

    fn customer_tickets(&self, customer: u64, limit: u32) -> Vec<TicketView> {
        let mut tickets: Vec<_> = self
            .tickets
            .values()
            .filter(|t| t.customer == Some(customer))
            .cloned()
            .collect();
        tickets.sort_by_key(|t| std::cmp::Reverse(t.updated_at));
        tickets.truncate(limit as usize);
        tickets
    }

    fn ticket(&self, number: u64) -> Option<TicketView> {
        self.tickets.get(&number).cloned()
    }

    fn order_tickets(&self, order: &str) -> Vec<TicketView> {
        let mut tickets: Vec<_> = self
            .tickets
            .values()
            .filter(|t| t.order.as_deref() == Some(order))
            .cloned()
            .collect();
        tickets.sort_by_key(|t| std::cmp::Reverse(t.updated_at));
        tickets
    }

    fn message_ticket(&self, message_id: &str) -> Option<u64> {
        self.message_tickets.get(message_id).copied()
    }

    fn thread_ticket(&self, channel: &str, thread: &str) -> Option<u64> {
        self.thread_tickets
            .get(&(channel.to_owned(), thread.to_owned()))
            .copied()
    }

    fn ticket_messages(&self, ticket: u64, limit: u32) -> Vec<MessageSummary> {
        let family: Vec<u64> = self
            .tickets
            .values()
            .filter(|t| t.number == ticket || t.merged_into == Some(ticket))
            .map(|t| t.number)
            .chain([ticket])
            .collect();
        let mut messages: Vec<MessageSummary> = self
            .ticket_messages
            .iter()
            .filter(|(number, _)| family.contains(number))
            .flat_map(|(_, messages)| messages.iter().cloned())
            .collect();
        messages.sort_by(|a, b| b.at.cmp(&a.at).then_with(|| b.id.cmp(&a.id)));
        messages.truncate(limit as usize);
        messages
    }

    fn ticket_deadlines(&self, ticket: u64) -> Vec<DeadlineView> {
        let mut deadlines: Vec<DeadlineView> = self
            .ticket_deadlines
            .iter()
            .filter(|(number, _)| {
                **number == ticket || self.tickets.get(number).is_some_and(|t| t.merged_into == Some(ticket))
            })
            .flat_map(|(_, d)| d.iter().cloned())
            .collect();
        deadlines.sort_by(|a, b| a.due.cmp(&b.due).then_with(|| a.kind.cmp(&b.kind)));
        deadlines
    }
    fn model_version(&self, name: &str) -> Option<u64> {
        self.models.get(name).map(|(version, _)| *version)
    }
    fn model(&self, name: &str) -> Option<String> {
        self.models.get(name).map(|(_, json)| json.clone())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const URL: &str = "https://api.example.com/v1/messages?lang=日本語";

    #[test]
    fn canned_answers_come_in_order_and_the_last_one_stays() {
        let host = TestHost::new()
            .respond("POST", URL, HttpResponse::new(503))
            .respond("post", URL, HttpResponse::new(429).with_header("Retry-After", "7"))
            .respond("POST", URL, HttpResponse::new(201).with_body("{\"id\":\"m-1\"}"));
        let request = HttpRequest::new("Post", URL).with_json(&serde_json::json!({"text": "مرحبا"}));
        let statuses: Vec<u16> = (0..5).map(|_| host.fetch(&request).unwrap().status).collect();
        assert_eq!(statuses, [503, 429, 201, 201, 201]);
        let made = host.requests();
        assert_eq!(made.len(), 5);
        assert_eq!(made[0].body, "{\"text\":\"مرحبا\"}".as_bytes());
        assert_eq!(made[0].header("CONTENT-TYPE"), Some("application/json"));
    }

    #[test]
    fn a_request_nothing_answers_fails_naming_it_and_what_was_registered() {
        let empty = TestHost::new();
        let err = empty
            .fetch(&HttpRequest::new("GET", "http://127.0.0.1:9/"))
            .unwrap_err();
        assert_eq!(err, "no canned response for GET http://127.0.0.1:9/ (registered: none)");
        let host = TestHost::new().respond("GET", URL, HttpResponse::new(200)).respond(
            "DELETE",
            "https://api.example.com/x",
            HttpResponse::new(204),
        );
        // Another method, another query: no match. The request is recorded all the same.
        let err = host.fetch(&HttpRequest::new("POST", URL)).unwrap_err();
        assert_eq!(
            err,
            format!("no canned response for POST {URL} (registered: GET {URL}, DELETE https://api.example.com/x)")
        );
        assert!(
            host.fetch(&HttpRequest::new("GET", "https://api.example.com/v1/messages"))
                .is_err()
        );
        assert_eq!(host.requests().len(), 2);
    }

    #[test]
    fn secrets_are_refused_unless_given() {
        let host = TestHost::new().with_secret("shop_token", "schlüssel-鍵");
        assert_eq!(host.secret("shop_token").as_deref(), Ok("schlüssel-鍵"));
        let err = host.secret("other").unwrap_err();
        assert!(err.starts_with("secret `other` is not granted"), "{err}");
        assert!(host.embed(&["x".into()]).is_err());
        host.log(LogLevel::Warn, "Zustellung verzögert");
        assert_eq!(host.logs(), [(LogLevel::Warn, "Zustellung verzögert".to_owned())]);
    }

    #[test]
    fn answers_that_are_not_a_success_become_retryable_or_permanent() {
        use crate::plugin::Error;
        let cases = [
            (HttpResponse::new(500), true),
            (HttpResponse::new(503).with_header("retry-after", "120"), true),
            (HttpResponse::new(408), true),
            (HttpResponse::new(429), true),
            (HttpResponse::new(400), false),
            (HttpResponse::new(401), false),
            (HttpResponse::new(404), false),
            (HttpResponse::new(302), false),
        ];
        for (response, retryable) in cases {
            let error = response.error("sending");
            assert_eq!(
                matches!(error, Error::Retryable(_) | Error::RetryLater { .. }),
                retryable,
                "{}: {error}",
                response.status
            );
            assert!(
                matches!(
                    error,
                    Error::Retryable(_) | Error::RetryLater { .. } | Error::Permanent(_)
                ),
                "{error}"
            );
        }
        assert_eq!(
            HttpResponse::new(503)
                .with_header("Retry-After", "120")
                .error("sending")
                .message(),
            "sending: HTTP 503, retry after 120s"
        );
        // A Retry-After on a 4xx that no retry fixes is not repeated.
        assert_eq!(
            HttpResponse::new(400)
                .with_header("Retry-After", "5")
                .error("x")
                .message(),
            "x: HTTP 400"
        );
        // An HTTP-date is a floor too, measured from the answer's own Date; without a Date it
        // says nothing the channel can know.
        let dated = HttpResponse::new(429)
            .with_header("Date", "Wed, 21 Oct 2026 07:27:00 GMT")
            .with_header("Retry-After", "Wed, 21 Oct 2026 07:28:00 GMT");
        assert_eq!(
            dated.error("sending"),
            Error::retry_later(std::time::Duration::from_secs(60), "sending: HTTP 429, retry after 60s")
        );
        let undated = HttpResponse::new(429).with_header("Retry-After", "Wed, 21 Oct 2026 07:28:00 GMT");
        assert_eq!(undated.error("sending"), Error::Retryable("sending: HTTP 429".into()));
        // The vendor's reason on one line, cut after 300 characters.
        let long = HttpResponse::new(422).with_body(format!("{{\"error\":\n\"{}\"}}", "é".repeat(400)));
        let message = long.error("x").message().to_owned();
        assert!(message.starts_with("x: HTTP 422: {\"error\": \"éé"), "{message}");
        assert!(message.ends_with('…'), "{message}");
        assert_eq!(message.chars().count(), "x: HTTP 422: ".len() + 300 + 1);
    }
}
