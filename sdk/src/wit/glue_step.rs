//! The guest side of the `step` world: what [`crate::export_step!`] expands to call.

use super::convert::*;
use crate::model as m;
use crate::plugin::{Context, Host, LogLevel, PluginInfo, Step, config_problems, config_schema, parse_config};
use crate::wit::common::weft::plugin::types as w;
use crate::wit::step::weft::plugin::context as c;

pub fn step_info<S: Step>(package: &str, version: &str) -> w::PluginInfo {
    info_to(PluginInfo {
        name: plugin_name(package),
        version: version.to_owned(),
        description: S::DESCRIPTION.to_owned(),
        config_schema: config_schema::<S::Config>(),
    })
}

pub fn step_check_config<S: Step>(config: String) -> Vec<w::ConfigProblem> {
    config_problems::<S::Config>(&config, S::check_config)
        .into_iter()
        .map(problem_to)
        .collect()
}

pub fn step_decide<S: Step>(event: w::Event, config: String) -> Result<Vec<w::Decision>, w::PluginError> {
    let config: S::Config = parse_config(&config).map_err(error_to)?;
    let event = event_from(event);
    let decisions = S::decide(&event, &config, &GuestContext).map_err(error_to)?;
    Ok(decisions.into_iter().map(decision_to).collect())
}

fn customer_from(c: c::Customer) -> m::CustomerView {
    m::CustomerView {
        id: c.id,
        identities: c.identities.into_iter().map(identity_from).collect(),
        merged_into: c.merged_into,
        kept_apart: c.kept_apart,
    }
}

fn ticket_from(t: c::Ticket) -> m::TicketView {
    m::TicketView {
        number: t.number,
        customer: t.customer,
        status: t.status,
        subject: t.subject,
        order: t.order,
        category: t.category,
        opened_at: t.opened_at,
        updated_at: t.updated_at,
        merged_into: t.merged_into,
        assignee: t.assignee,
        priority: t.priority,
    }
}

fn summary_from(s: c::MessageSummary) -> m::MessageSummary {
    m::MessageSummary {
        id: s.id,
        at: s.at,
        sender_key: s.sender_key,
        subject: s.subject,
        body_fingerprint: s.body_fingerprint,
        duplicate_of: s.duplicate_of,
    }
}

fn deadline_from(d: c::Deadline) -> m::DeadlineView {
    m::DeadlineView {
        kind: d.kind,
        policy: d.policy,
        due: d.due,
        state: d.state,
        started_at: d.started_at,
        stopped_at: d.stopped_at,
        paused_since: d.paused_since,
    }
}

/// [`Context`] over the `context` import.
struct GuestContext;

impl Host for GuestContext {
    fn fetch(&self, request: &m::HttpRequest) -> Result<m::HttpResponse, String> {
        GuestHost.fetch(request)
    }
    fn secret(&self, name: &str) -> Result<String, String> {
        GuestHost.secret(name)
    }
    fn log(&self, level: LogLevel, message: &str) {
        GuestHost.log(level, message)
    }
    fn embed(&self, texts: &[String]) -> Result<Vec<Vec<f32>>, String> {
        crate::wit::step::weft::plugin::embeddings::embed(texts)
    }
    // Steps import `mail` too: the host answers (it refuses steps, saying so).
    fn submit_mail(&self, envelope: &m::MailEnvelope, message: &[u8]) -> Result<String, m::SubmitError> {
        GuestHost.submit_mail(envelope, message)
    }
    // The step world imports no `cache`: a step always misses, and stores nothing.
    fn cache_get(&self, _key: &str) -> Option<Vec<u8>> {
        None
    }
    fn cache_set(&self, _key: &str, _value: &[u8], _ttl: std::time::Duration) {}
}

impl Context for GuestContext {
    fn find_customers(&self, identity: &m::Identity) -> Vec<m::CustomerView> {
        c::find_customers(&identity_to(identity))
            .into_iter()
            .map(customer_from)
            .collect()
    }
    fn customer(&self, id: u64) -> Option<m::CustomerView> {
        c::get_customer(id).map(customer_from)
    }
    fn customer_tickets(&self, customer: u64, limit: u32) -> Vec<m::TicketView> {
        c::customer_tickets(customer, limit)
            .into_iter()
            .map(ticket_from)
            .collect()
    }
    fn ticket(&self, number: u64) -> Option<m::TicketView> {
        c::get_ticket(number).map(ticket_from)
    }
    fn order_tickets(&self, order: &str) -> Vec<m::TicketView> {
        c::order_tickets(order).into_iter().map(ticket_from).collect()
    }
    fn message_ticket(&self, message_id: &str) -> Option<u64> {
        c::message_ticket(message_id)
    }
    fn thread_ticket(&self, channel: &str, thread: &str) -> Option<u64> {
        c::thread_ticket(channel, thread)
    }
    fn ticket_messages(&self, ticket: u64, limit: u32) -> Vec<m::MessageSummary> {
        c::ticket_messages(ticket, limit)
            .into_iter()
            .map(summary_from)
            .collect()
    }
    fn ticket_deadlines(&self, ticket: u64) -> Vec<m::DeadlineView> {
        c::ticket_deadlines(ticket).into_iter().map(deadline_from).collect()
    }
    fn model_version(&self, name: &str) -> Option<u64> {
        c::model_version(name)
    }
    fn model(&self, name: &str) -> Option<String> {
        c::get_model(name)
    }
    // The engine writes these views from the same SDK types, so they always read back.
    fn order(&self, channel: &str, number: &str) -> Option<crate::OrderView> {
        c::get_order(channel, number).and_then(|json| serde_json::from_str(&json).ok())
    }
    fn customer_orders(&self, customer: u64, limit: u32) -> Vec<crate::OrderView> {
        c::customer_orders(customer, limit)
            .iter()
            .filter_map(|json| serde_json::from_str(json).ok())
            .collect()
    }
    fn order_shipments(&self, channel: &str, number: &str) -> Vec<crate::ShipmentView> {
        c::order_shipments(channel, number)
            .iter()
            .filter_map(|json| serde_json::from_str(json).ok())
            .collect()
    }
}

/// Exports a [`Step`] implementation as the plugin's `step` world.
#[macro_export]
macro_rules! export_step {
    ($step:ty) => {
        #[doc(hidden)]
        pub struct __WeftStepExport;

        impl $crate::wit::step::Guest for __WeftStepExport {
            fn info() -> $crate::wit::step::PluginInfo {
                $crate::wit::step_info::<$step>(env!("CARGO_PKG_NAME"), env!("CARGO_PKG_VERSION"))
            }
            fn check_config(config: $crate::wit::step::Json) -> ::std::vec::Vec<$crate::wit::step::ConfigProblem> {
                $crate::wit::step_check_config::<$step>(config)
            }
            fn decide(
                event: $crate::wit::step::Event,
                config: $crate::wit::step::Json,
            ) -> ::core::result::Result<::std::vec::Vec<$crate::wit::step::Decision>, $crate::wit::step::PluginError> {
                $crate::wit::step_decide::<$step>(event, config)
            }
        }

        $crate::wit::step::__export_step_world!(__WeftStepExport with_types_in $crate::wit::step);
    };
}
