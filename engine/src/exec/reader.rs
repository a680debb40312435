//! The store's [`Unit`] as the [`ContextReader`] steps read through.

use crate::runtime::ContextReader;
use crate::store::Unit;
use weft_sdk::{CustomerView, DeadlineView, Identity, MessageSummary, OrderView, ShipmentView, TicketView};

fn signed(n: u64) -> anyhow::Result<i64> {
    i64::try_from(n).map_err(|_| anyhow::anyhow!("id {n} is out of range"))
}

impl ContextReader for Unit {
    async fn find_customers(&mut self, identity: &Identity) -> anyhow::Result<Vec<CustomerView>> {
        Ok(Unit::find_customers(self, identity).await?)
    }

    async fn customer(&mut self, id: u64) -> anyhow::Result<Option<CustomerView>> {
        Ok(self.customer_view(signed(id)?).await?)
    }

    async fn customer_tickets(&mut self, customer: u64, limit: u32) -> anyhow::Result<Vec<TicketView>> {
        Ok(Unit::customer_tickets(self, customer, limit).await?)
    }

    async fn ticket(&mut self, number: u64) -> anyhow::Result<Option<TicketView>> {
        Ok(self.ticket_view(signed(number)?).await?)
    }

    async fn order_tickets(&mut self, order: &str) -> anyhow::Result<Vec<TicketView>> {
        Ok(Unit::order_tickets(self, order).await?)
    }

    async fn message_ticket(&mut self, message_id: &str) -> anyhow::Result<Option<u64>> {
        Ok(Unit::message_ticket(self, message_id).await?)
    }

    async fn thread_ticket(&mut self, channel: &str, thread: &str) -> anyhow::Result<Option<u64>> {
        Ok(Unit::thread_ticket(self, channel, thread).await?)
    }

    async fn ticket_messages(&mut self, ticket: u64, limit: u32) -> anyhow::Result<Vec<MessageSummary>> {
        Ok(Unit::ticket_messages(self, ticket, limit).await?)
    }

    async fn ticket_deadlines(&mut self, ticket: u64) -> anyhow::Result<Vec<DeadlineView>> {
        Ok(Unit::ticket_deadlines(self, signed(ticket)?).await?)
    }

    async fn model_version(&mut self, name: &str) -> anyhow::Result<Option<u64>> {
        Ok(Unit::model_version(self, name).await?)
    }

    async fn model(&mut self, name: &str) -> anyhow::Result<Option<String>> {
        Ok(Unit::model(self, name).await?)
    }

    async fn order(&mut self, channel: &str, number: &str) -> anyhow::Result<Option<OrderView>> {
        Ok(Unit::order(self, channel, number).await?)
    }

    async fn customer_orders(&mut self, customer: u64, limit: u32) -> anyhow::Result<Vec<OrderView>> {
        Ok(Unit::customer_orders(self, customer, limit).await?)
    }

    async fn order_shipments(&mut self, channel: &str, number: &str) -> anyhow::Result<Vec<ShipmentView>> {
        Ok(Unit::order_shipments(self, channel, number).await?)
    }
}
