//! The `context` capability: read-only answers about customers, tickets and orders, from a
//! [`ContextReader`] the caller lends to the call.

use crate::runtime::bindings::step::weft::plugin::context as wit;
use crate::runtime::convert;
use crate::runtime::failure::HostFault;
use crate::runtime::state::CallState;
use std::any::Any;
use std::future::Future;
use std::pin::Pin;
use weft_sdk::testing::MemoryContext;
use weft_sdk::{Context, CustomerView, DeadlineView, Identity, MessageSummary, OrderView, ShipmentView, TicketView};

/// Where a step's `context` import is answered from. The engine's store implements it over an
/// open transaction, so answers reflect the decisions already applied for the current event;
/// tests use [`MemoryReader`].
///
/// An error fails the step as [`crate::runtime::StepFailure::Host`]; the plugin never sees a
/// partial answer.
pub trait ContextReader: Send + 'static {
    /// Customers known by exactly this identifier.
    fn find_customers(&mut self, identity: &Identity)
    -> impl Future<Output = anyhow::Result<Vec<CustomerView>>> + Send;
    /// One customer by id.
    fn customer(&mut self, id: u64) -> impl Future<Output = anyhow::Result<Option<CustomerView>>> + Send;
    /// A customer's most recently updated tickets, newest first, at most `limit`.
    fn customer_tickets(
        &mut self,
        customer: u64,
        limit: u32,
    ) -> impl Future<Output = anyhow::Result<Vec<TicketView>>> + Send;
    /// One ticket by number.
    fn ticket(&mut self, number: u64) -> impl Future<Output = anyhow::Result<Option<TicketView>>> + Send;
    /// Tickets about this order number, newest first.
    fn order_tickets(&mut self, order: &str) -> impl Future<Output = anyhow::Result<Vec<TicketView>>> + Send;
    /// The ticket holding the message with this channel id or email Message-ID.
    fn message_ticket(&mut self, message_id: &str) -> impl Future<Output = anyhow::Result<Option<u64>>> + Send;
    /// The ticket of a channel conversation.
    fn thread_ticket(
        &mut self,
        channel: &str,
        thread: &str,
    ) -> impl Future<Output = anyhow::Result<Option<u64>>> + Send;
    /// The most recent messages of a ticket and of the tickets merged into it, newest first,
    /// at most `limit`.
    fn ticket_messages(
        &mut self,
        ticket: u64,
        limit: u32,
    ) -> impl Future<Output = anyhow::Result<Vec<MessageSummary>>> + Send;
    /// The deadlines of a ticket and of the tickets merged into it, by due time.
    fn ticket_deadlines(&mut self, ticket: u64) -> impl Future<Output = anyhow::Result<Vec<DeadlineView>>> + Send;
    /// The version of the model stored under `name`; none before the first training.
    fn model_version(&mut self, name: &str) -> impl Future<Output = anyhow::Result<Option<u64>>> + Send;
    /// The model stored under `name`, as JSON.
    fn model(&mut self, name: &str) -> impl Future<Output = anyhow::Result<Option<String>>> + Send;
    /// The order with this number (any written form) at this channel.
    fn order(&mut self, channel: &str, number: &str) -> impl Future<Output = anyhow::Result<Option<OrderView>>> + Send;
    /// A customer's orders and those of the customers merged into it, newest first.
    fn customer_orders(
        &mut self,
        customer: u64,
        limit: u32,
    ) -> impl Future<Output = anyhow::Result<Vec<OrderView>>> + Send;
    /// The shipments of an order, oldest first, with their timelines.
    fn order_shipments(
        &mut self,
        channel: &str,
        number: &str,
    ) -> impl Future<Output = anyhow::Result<Vec<ShipmentView>>> + Send;
}

/// A [`ContextReader`] over customers and tickets held in memory, for tests.
#[derive(Debug, Default)]
pub struct MemoryReader {
    /// What the reader answers from.
    pub data: MemoryContext,
    /// When set, every lookup fails with this message.
    pub fail_with: Option<String>,
    /// How many lookups were made.
    pub lookups: usize,
}

impl MemoryReader {
    /// A reader answering from `data`.
    pub fn new(data: MemoryContext) -> Self {
        MemoryReader {
            data,
            fail_with: None,
            lookups: 0,
        }
    }

    fn answer<T>(&mut self, lookup: impl FnOnce(&MemoryContext) -> T) -> anyhow::Result<T> {
        self.lookups += 1;
        match &self.fail_with {
            Some(message) => Err(anyhow::anyhow!("{message}")),
            None => Ok(lookup(&self.data)),
        }
    }
}

impl ContextReader for MemoryReader {
    async fn find_customers(&mut self, identity: &Identity) -> anyhow::Result<Vec<CustomerView>> {
        self.answer(|d| d.find_customers(identity))
    }
    async fn customer(&mut self, id: u64) -> anyhow::Result<Option<CustomerView>> {
        self.answer(|d| d.customer(id))
    }
    async fn customer_tickets(&mut self, customer: u64, limit: u32) -> anyhow::Result<Vec<TicketView>> {
        self.answer(|d| d.customer_tickets(customer, limit))
    }
    async fn ticket(&mut self, number: u64) -> anyhow::Result<Option<TicketView>> {
        self.answer(|d| d.ticket(number))
    }
    async fn order_tickets(&mut self, order: &str) -> anyhow::Result<Vec<TicketView>> {
        self.answer(|d| d.order_tickets(order))
    }
    async fn message_ticket(&mut self, message_id: &str) -> anyhow::Result<Option<u64>> {
        self.answer(|d| d.message_ticket(message_id))
    }
    async fn thread_ticket(&mut self, channel: &str, thread: &str) -> anyhow::Result<Option<u64>> {
        self.answer(|d| d.thread_ticket(channel, thread))
    }
    async fn ticket_messages(&mut self, ticket: u64, limit: u32) -> anyhow::Result<Vec<MessageSummary>> {
        self.answer(|d| d.ticket_messages(ticket, limit))
    }
    async fn ticket_deadlines(&mut self, ticket: u64) -> anyhow::Result<Vec<DeadlineView>> {
        self.answer(|d| d.ticket_deadlines(ticket))
    }
    async fn model_version(&mut self, name: &str) -> anyhow::Result<Option<u64>> {
        self.answer(|d| d.model_version(name))
    }
    async fn model(&mut self, name: &str) -> anyhow::Result<Option<String>> {
        self.answer(|d| d.model(name))
    }
    async fn order(&mut self, channel: &str, number: &str) -> anyhow::Result<Option<OrderView>> {
        self.answer(|d| d.order(channel, number))
    }
    async fn customer_orders(&mut self, customer: u64, limit: u32) -> anyhow::Result<Vec<OrderView>> {
        self.answer(|d| d.customer_orders(customer, limit))
    }
    async fn order_shipments(&mut self, channel: &str, number: &str) -> anyhow::Result<Vec<ShipmentView>> {
        self.answer(|d| d.order_shipments(channel, number))
    }
}

type Answer<'a, T> = Pin<Box<dyn Future<Output = anyhow::Result<T>> + Send + 'a>>;

/// [`ContextReader`] made object-safe, so one store data type serves every reader type.
pub(crate) trait DynReader: Send {
    fn find_customers<'a>(&'a mut self, identity: &'a Identity) -> Answer<'a, Vec<CustomerView>>;
    fn customer(&mut self, id: u64) -> Answer<'_, Option<CustomerView>>;
    fn customer_tickets(&mut self, customer: u64, limit: u32) -> Answer<'_, Vec<TicketView>>;
    fn ticket(&mut self, number: u64) -> Answer<'_, Option<TicketView>>;
    fn order_tickets<'a>(&'a mut self, order: &'a str) -> Answer<'a, Vec<TicketView>>;
    fn message_ticket<'a>(&'a mut self, message_id: &'a str) -> Answer<'a, Option<u64>>;
    fn thread_ticket<'a>(&'a mut self, channel: &'a str, thread: &'a str) -> Answer<'a, Option<u64>>;
    fn ticket_messages(&mut self, ticket: u64, limit: u32) -> Answer<'_, Vec<MessageSummary>>;
    fn ticket_deadlines(&mut self, ticket: u64) -> Answer<'_, Vec<DeadlineView>>;
    fn model_version<'a>(&'a mut self, name: &'a str) -> Answer<'a, Option<u64>>;
    fn model<'a>(&'a mut self, name: &'a str) -> Answer<'a, Option<String>>;
    fn order<'a>(&'a mut self, channel: &'a str, number: &'a str) -> Answer<'a, Option<OrderView>>;
    fn customer_orders(&mut self, customer: u64, limit: u32) -> Answer<'_, Vec<OrderView>>;
    fn order_shipments<'a>(&'a mut self, channel: &'a str, number: &'a str) -> Answer<'a, Vec<ShipmentView>>;
    fn into_any(self: Box<Self>) -> Box<dyn Any>;
}

impl<R: ContextReader> DynReader for R {
    fn find_customers<'a>(&'a mut self, identity: &'a Identity) -> Answer<'a, Vec<CustomerView>> {
        Box::pin(ContextReader::find_customers(self, identity))
    }
    fn customer(&mut self, id: u64) -> Answer<'_, Option<CustomerView>> {
        Box::pin(ContextReader::customer(self, id))
    }
    fn customer_tickets(&mut self, customer: u64, limit: u32) -> Answer<'_, Vec<TicketView>> {
        Box::pin(ContextReader::customer_tickets(self, customer, limit))
    }
    fn ticket(&mut self, number: u64) -> Answer<'_, Option<TicketView>> {
        Box::pin(ContextReader::ticket(self, number))
    }
    fn order_tickets<'a>(&'a mut self, order: &'a str) -> Answer<'a, Vec<TicketView>> {
        Box::pin(ContextReader::order_tickets(self, order))
    }
    fn message_ticket<'a>(&'a mut self, message_id: &'a str) -> Answer<'a, Option<u64>> {
        Box::pin(ContextReader::message_ticket(self, message_id))
    }
    fn thread_ticket<'a>(&'a mut self, channel: &'a str, thread: &'a str) -> Answer<'a, Option<u64>> {
        Box::pin(ContextReader::thread_ticket(self, channel, thread))
    }
    fn ticket_messages(&mut self, ticket: u64, limit: u32) -> Answer<'_, Vec<MessageSummary>> {
        Box::pin(ContextReader::ticket_messages(self, ticket, limit))
    }
    fn ticket_deadlines(&mut self, ticket: u64) -> Answer<'_, Vec<DeadlineView>> {
        Box::pin(ContextReader::ticket_deadlines(self, ticket))
    }
    fn model_version<'a>(&'a mut self, name: &'a str) -> Answer<'a, Option<u64>> {
        Box::pin(ContextReader::model_version(self, name))
    }
    fn model<'a>(&'a mut self, name: &'a str) -> Answer<'a, Option<String>> {
        Box::pin(ContextReader::model(self, name))
    }
    fn order<'a>(&'a mut self, channel: &'a str, number: &'a str) -> Answer<'a, Option<OrderView>> {
        Box::pin(ContextReader::order(self, channel, number))
    }
    fn customer_orders(&mut self, customer: u64, limit: u32) -> Answer<'_, Vec<OrderView>> {
        Box::pin(ContextReader::customer_orders(self, customer, limit))
    }
    fn order_shipments<'a>(&'a mut self, channel: &'a str, number: &'a str) -> Answer<'a, Vec<ShipmentView>> {
        Box::pin(ContextReader::order_shipments(self, channel, number))
    }
    fn into_any(self: Box<Self>) -> Box<dyn Any> {
        self
    }
}

/// The reader lent to one call; channels get none.
#[derive(Default)]
pub(crate) struct ContextState {
    pub reader: Option<Box<dyn DynReader>>,
}

impl ContextState {
    /// Lends `reader` to a call.
    pub fn lend<R: ContextReader>(reader: R) -> Self {
        ContextState {
            reader: Some(Box::new(reader)),
        }
    }

    /// Hands the lent reader back; `None` when the state holds no reader of type `R`.
    pub fn give_back<R: ContextReader>(self) -> Option<R> {
        self.reader?.into_any().downcast::<R>().ok().map(|r| *r)
    }
}

/// The borrowed view the generated `context` host trait is implemented on.
pub(crate) struct ContextView<'a> {
    state: &'a mut ContextState,
}

impl ContextView<'_> {
    fn reader(&mut self) -> wasmtime::Result<&mut dyn DynReader> {
        match self.state.reader.as_deref_mut() {
            Some(reader) => Ok(reader),
            None => Err(HostFault("no context reader was lent to this call".into()).into()),
        }
    }
}

/// A reader error stops the guest: it must not decide on a partial answer.
fn fault(lookup: &str, error: anyhow::Error) -> wasmtime::Error {
    HostFault(format!("context lookup `{lookup}` failed: {error:#}")).into()
}

impl wit::Host for ContextView<'_> {
    async fn find_customers(&mut self, identity: wit::Identity) -> wasmtime::Result<Vec<wit::Customer>> {
        let identity = convert::identity_from(identity);
        let found = self
            .reader()?
            .find_customers(&identity)
            .await
            .map_err(|e| fault("find-customers", e))?;
        Ok(found.into_iter().map(convert::customer_to).collect())
    }

    async fn get_customer(&mut self, id: u64) -> wasmtime::Result<Option<wit::Customer>> {
        let found = self
            .reader()?
            .customer(id)
            .await
            .map_err(|e| fault("get-customer", e))?;
        Ok(found.map(convert::customer_to))
    }

    async fn customer_tickets(&mut self, customer: u64, limit: u32) -> wasmtime::Result<Vec<wit::Ticket>> {
        let found = self
            .reader()?
            .customer_tickets(customer, limit)
            .await
            .map_err(|e| fault("customer-tickets", e))?;
        Ok(found.into_iter().take(limit as usize).map(convert::ticket_to).collect())
    }

    async fn get_ticket(&mut self, number: u64) -> wasmtime::Result<Option<wit::Ticket>> {
        let found = self
            .reader()?
            .ticket(number)
            .await
            .map_err(|e| fault("get-ticket", e))?;
        Ok(found.map(convert::ticket_to))
    }

    async fn order_tickets(&mut self, order: String) -> wasmtime::Result<Vec<wit::Ticket>> {
        let found = self
            .reader()?
            .order_tickets(&order)
            .await
            .map_err(|e| fault("order-tickets", e))?;
        Ok(found.into_iter().map(convert::ticket_to).collect())
    }

    async fn message_ticket(&mut self, message_id: String) -> wasmtime::Result<Option<u64>> {
        self.reader()?
            .message_ticket(&message_id)
            .await
            .map_err(|e| fault("message-ticket", e))
    }

    async fn thread_ticket(&mut self, channel: String, thread: String) -> wasmtime::Result<Option<u64>> {
        self.reader()?
            .thread_ticket(&channel, &thread)
            .await
            .map_err(|e| fault("thread-ticket", e))
    }

    async fn ticket_messages(&mut self, ticket: u64, limit: u32) -> wasmtime::Result<Vec<wit::MessageSummary>> {
        let found = self
            .reader()?
            .ticket_messages(ticket, limit)
            .await
            .map_err(|e| fault("ticket-messages", e))?;
        Ok(found
            .into_iter()
            .take(limit as usize)
            .map(convert::summary_to)
            .collect())
    }

    async fn ticket_deadlines(&mut self, ticket: u64) -> wasmtime::Result<Vec<wit::Deadline>> {
        let found = self
            .reader()?
            .ticket_deadlines(ticket)
            .await
            .map_err(|e| fault("ticket-deadlines", e))?;
        Ok(found.into_iter().map(convert::deadline_to).collect())
    }

    async fn model_version(&mut self, name: String) -> wasmtime::Result<Option<u64>> {
        self.reader()?
            .model_version(&name)
            .await
            .map_err(|e| fault("model-version", e))
    }

    async fn get_model(&mut self, name: String) -> wasmtime::Result<Option<String>> {
        self.reader()?.model(&name).await.map_err(|e| fault("get-model", e))
    }

    async fn get_order(&mut self, channel: String, number: String) -> wasmtime::Result<Option<String>> {
        let found = self
            .reader()?
            .order(&channel, &number)
            .await
            .map_err(|e| fault("get-order", e))?;
        found.map(|order| json_of("get-order", &order)).transpose()
    }

    async fn customer_orders(&mut self, customer: u64, limit: u32) -> wasmtime::Result<Vec<String>> {
        let found = self
            .reader()?
            .customer_orders(customer, limit)
            .await
            .map_err(|e| fault("customer-orders", e))?;
        found.iter().map(|order| json_of("customer-orders", order)).collect()
    }

    async fn order_shipments(&mut self, channel: String, number: String) -> wasmtime::Result<Vec<String>> {
        let found = self
            .reader()?
            .order_shipments(&channel, &number)
            .await
            .map_err(|e| fault("order-shipments", e))?;
        found
            .iter()
            .map(|shipment| json_of("order-shipments", shipment))
            .collect()
    }
}

/// An order or shipment view as the JSON the SDK reads back.
fn json_of(lookup: &str, value: &impl serde::Serialize) -> wasmtime::Result<String> {
    serde_json::to_string(value).map_err(|e| fault(lookup, e.into()))
}

struct ContextData;

impl wasmtime::component::HasData for ContextData {
    type Data<'a> = ContextView<'a>;
}

/// Links the `context` import into a step linker.
pub(crate) fn add_to_linker(linker: &mut wasmtime::component::Linker<CallState>) -> wasmtime::Result<()> {
    wit::add_to_linker::<CallState, ContextData>(linker, |state| ContextView {
        state: &mut state.context,
    })
}
