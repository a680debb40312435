//! What `weft serve` counts, and its rendering in the Prometheus text format (OpenMetrics).
//!
//! Counters are bumped where things happen (`exec::live`, the server's body limit); gauges of
//! the queue are read from the store when `/metrics` is scraped ([`Metrics::render`]).

use crate::store::hooks::QueueStats;
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::Registry;
use std::sync::atomic::AtomicU64;

/// The content type of [`Metrics::render`]'s text.
pub const CONTENT_TYPE: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

/// Labels of a webhook counted by channel (hook id).
#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct HookLabels {
    pub channel: String,
}

/// Labels of a refused webhook: the channel and why (`bad_signature`, `too_large`, ...).
#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct RejectLabels {
    pub channel: String,
    pub reason: String,
}

/// The counters and gauges of one `weft serve` process.
pub struct Metrics {
    registry: Registry,
    pub webhooks_accepted: Family<HookLabels, Counter>,
    pub webhooks_duplicate: Family<HookLabels, Counter>,
    pub webhooks_rejected: Family<RejectLabels, Counter>,
    pub webhooks_dead_lettered: Family<HookLabels, Counter>,
    pub messages_parsed: Counter,
    pub events_processed: Counter,
    pub events_failed: Counter,
    pub events_retried: Counter,
    pub timers_fired: Counter,
    queue_depth: Gauge,
    oldest_waiting_seconds: Gauge<f64, AtomicU64>,
    unparsed_webhooks: Gauge,
    dead_letters: Gauge,
    pub outbox: OutboxMetrics,
}

impl std::fmt::Debug for Metrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Metrics").finish_non_exhaustive()
    }
}

impl Default for Metrics {
    fn default() -> Self {
        let mut metrics = Metrics {
            registry: Registry::default(),
            webhooks_accepted: Family::default(),
            webhooks_duplicate: Family::default(),
            webhooks_rejected: Family::default(),
            webhooks_dead_lettered: Family::default(),
            messages_parsed: Counter::default(),
            events_processed: Counter::default(),
            events_failed: Counter::default(),
            events_retried: Counter::default(),
            timers_fired: Counter::default(),
            queue_depth: Gauge::default(),
            oldest_waiting_seconds: Gauge::default(),
            unparsed_webhooks: Gauge::default(),
            dead_letters: Gauge::default(),
            outbox: OutboxMetrics::default(),
        };
        let r = &mut metrics.registry;
        r.register(
            "weft_webhooks_accepted",
            "Webhooks verified and kept, by channel",
            metrics.webhooks_accepted.clone(),
        );
        r.register(
            "weft_webhooks_duplicate",
            "Webhooks whose body had come on the same hook before (kept once), by channel",
            metrics.webhooks_duplicate.clone(),
        );
        r.register(
            "weft_webhooks_rejected",
            "Webhooks refused, by channel and reason",
            metrics.webhooks_rejected.clone(),
        );
        r.register(
            "weft_webhooks_dead_lettered",
            "Authentic webhooks their channel could not parse, kept as dead letters, by channel",
            metrics.webhooks_dead_lettered.clone(),
        );
        r.register(
            "weft_messages_parsed",
            "New messages parsed from webhooks",
            metrics.messages_parsed.clone(),
        );
        r.register(
            "weft_events_processed",
            "Events run through the workflows",
            metrics.events_processed.clone(),
        );
        r.register(
            "weft_events_failed",
            "Events dead-lettered after their last try",
            metrics.events_failed.clone(),
        );
        r.register(
            "weft_events_retried",
            "Event failures put back for a later try",
            metrics.events_retried.clone(),
        );
        r.register(
            "weft_timers_fired",
            "Timers turned into events",
            metrics.timers_fired.clone(),
        );
        r.register(
            "weft_queue_depth",
            "Events waiting to be processed",
            metrics.queue_depth.clone(),
        );
        r.register(
            "weft_queue_oldest_waiting_seconds",
            "How long the oldest waiting event has waited",
            metrics.oldest_waiting_seconds.clone(),
        );
        r.register(
            "weft_webhooks_unparsed",
            "Webhooks kept and not parsed yet",
            metrics.unparsed_webhooks.clone(),
        );
        r.register(
            "weft_dead_letters",
            "Dead letters not replayed",
            metrics.dead_letters.clone(),
        );
        metrics.outbox.register(r);
        metrics
    }
}

impl Metrics {
    /// Counts a refused webhook.
    pub fn rejected(&self, channel: &str, reason: &str) {
        self.webhooks_rejected
            .get_or_create(&RejectLabels {
                channel: channel.to_owned(),
                reason: reason.to_owned(),
            })
            .inc();
    }

    /// Counts a webhook by channel in `family`.
    pub fn count(family: &Family<HookLabels, Counter>, channel: &str) {
        family
            .get_or_create(&HookLabels {
                channel: channel.to_owned(),
            })
            .inc();
    }

    /// Everything, with the queue's gauges as `stats` says at `now` (ms).
    pub fn render(&self, stats: &QueueStats, now: i64) -> String {
        self.queue_depth.set(stats.pending_events);
        self.unparsed_webhooks.set(stats.unparsed_webhooks);
        self.dead_letters.set(stats.open_dead_letters);
        let waited = stats
            .oldest_pending_at
            .map_or(0.0, |at| (now - at).max(0) as f64 / 1000.0);
        self.oldest_waiting_seconds.set(waited);
        let mut text = String::new();
        // Writing to a String cannot fail.
        let _ = prometheus_client::encoding::text::encode(&mut text, &self.registry);
        text
    }
}

/// The outbox's counters and gauges (`exec::outbox`): deliveries by result, counted as they
/// end; rows waiting, failed and uncertain, read from the store when `/metrics` is scraped.
#[derive(Default)]
pub struct OutboxMetrics {
    deliveries: Family<ResultLabels, Counter>,
    pending: Gauge,
    failed: Gauge,
    uncertain: Gauge,
}

/// Labels of a delivery counted by what came of it.
#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ResultLabels {
    /// `delivered`, `retried`, `failed` or `uncertain`.
    pub result: String,
}

impl OutboxMetrics {
    fn register(&self, r: &mut Registry) {
        let deliveries =
            "Calls to deliver outbox messages and rows given up, by result (delivered, retried, failed, uncertain)";
        r.register("weft_outbox_deliveries", deliveries, self.deliveries.clone());
        r.register(
            "weft_outbox_pending",
            "Outbox messages waiting to be sent or being sent",
            self.pending.clone(),
        );
        r.register(
            "weft_outbox_failed",
            "Outbox messages refused for good or out of attempts",
            self.failed.clone(),
        );
        let uncertain = "Outbox messages that may have been delivered by a sender that stopped: a person decides";
        r.register("weft_outbox_uncertain", uncertain, self.uncertain.clone());
    }

    /// Counts one delivery's result.
    pub fn delivered(&self, result: &str) {
        self.deliveries
            .get_or_create(&ResultLabels {
                result: result.to_owned(),
            })
            .inc();
    }

    /// Sets the gauges to what the store says.
    pub fn observe(&self, stats: &crate::store::outbox::OutboxStats) {
        self.pending.set(stats.pending);
        self.failed.set(stats.failed);
        self.uncertain.set(stats.uncertain);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_counters_by_label_and_gauges() {
        let metrics = Metrics::default();
        metrics.rejected("shop-de", "bad_signature");
        metrics.rejected("shop-de", "bad_signature");
        Metrics::count(&metrics.webhooks_accepted, "shop-de");
        metrics.events_processed.inc_by(3);
        let stats = QueueStats {
            pending_events: 4,
            oldest_pending_at: Some(1_000),
            unparsed_webhooks: 1,
            open_dead_letters: 2,
        };
        let text = metrics.render(&stats, 3_500);
        for line in [
            r#"weft_webhooks_rejected_total{channel="shop-de",reason="bad_signature"} 2"#,
            r#"weft_webhooks_accepted_total{channel="shop-de"} 1"#,
            "weft_events_processed_total 3",
            "weft_queue_depth 4",
            "weft_queue_oldest_waiting_seconds 2.5",
            "weft_dead_letters 2",
            "# EOF",
        ] {
            assert!(text.lines().any(|l| l == line), "{line} not in\n{text}");
        }
    }

    #[test]
    fn renders_the_outbox() {
        let metrics = Metrics::default();
        metrics.outbox.delivered("retried");
        metrics.outbox.delivered("retried");
        metrics.outbox.delivered("delivered");
        metrics.outbox.observe(&crate::store::outbox::OutboxStats {
            pending: 3,
            failed: 1,
            uncertain: 2,
        });
        let text = metrics.render(&QueueStats::default(), 0);
        for line in [
            r#"weft_outbox_deliveries_total{result="retried"} 2"#,
            r#"weft_outbox_deliveries_total{result="delivered"} 1"#,
            "weft_outbox_pending 3",
            "weft_outbox_failed 1",
            "weft_outbox_uncertain 2",
        ] {
            assert!(text.lines().any(|l| l == line), "{line} not in\n{text}");
        }
    }
}
