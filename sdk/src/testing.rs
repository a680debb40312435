//! An in-memory [`Context`] for unit tests and for running a plugin's logic natively, and the
//! engine's configuration check as a function ([`check_step_config`], [`check_channel_config`]).
//!
//! The context answers from what the test put in it and grants no capability unless told to.

use crate::model::*;
use crate::plugin::{Channel, ConfigProblem, Context, Host, LogLevel, Step, config_problems};
use std::collections::BTreeMap;
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
        Err(format!("http to {} is not granted in this test context", request.url))
    }

    fn secret(&self, name: &str) -> Result<String, String> {
        self.secrets
            .get(name)
            .cloned()
            .ok_or_else(|| format!("secret `{name}` is not granted"))
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
