//! An in-memory [`Context`] for unit tests and for running a plugin's logic natively.
//!
//! It answers from what the test put in it and grants no capability unless told to.

use crate::model::*;
use crate::plugin::{Context, Host, LogLevel};
use std::collections::BTreeMap;
use std::sync::Mutex;

/// Customers and tickets held in memory.
#[derive(Debug, Default)]
pub struct MemoryContext {
    pub customers: BTreeMap<u64, CustomerView>,
    pub tickets: BTreeMap<u64, TicketView>,
    /// Message id -> ticket number.
    pub message_tickets: BTreeMap<String, u64>,
    /// (channel, thread) -> ticket number.
    pub thread_tickets: BTreeMap<(String, String), u64>,
    /// Granted secrets by name.
    pub secrets: BTreeMap<String, String>,
    /// Every log line the plugin wrote.
    pub logs: Mutex<Vec<(LogLevel, String)>>,
    /// Sentence embeddings by text. Empty means the capability is not granted; a text without
    /// a vector here is refused too.
    pub embeddings: BTreeMap<String, Vec<f32>>,
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
            },
        );
        self
    }

    pub fn with_ticket(mut self, ticket: TicketView) -> Self {
        self.tickets.insert(ticket.number, ticket);
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

impl Context for MemoryContext {
    fn find_customers(&self, identity: &Identity) -> Vec<CustomerView> {
        self.customers
            .values()
            .filter(|c| c.identities.contains(identity))
            .cloned()
            .collect()
    }

    fn customer(&self, id: u64) -> Option<CustomerView> {
        self.customers.get(&id).cloned()
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
}
