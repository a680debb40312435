//! What `weft serve` counts, and its rendering in the Prometheus text format (OpenMetrics).
//!
//! Counters are bumped where things happen (`exec::live`, `exec::dispatch` as each group
//! commits, the server's body limit, `reload`); gauges of the queue, the outbox and the
//! deadlines are read from the store when `/metrics` is scraped ([`Metrics::render`]).
//!
//! The struct and its registration are kept in blocks, one per subject (webhooks, events,
//! steps, reloads, what the store says at scrape time), so that a new subject is a block of
//! its own.

use crate::exec::StepRun;
use crate::store::hooks::QueueStats;
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::Registry;
use std::sync::atomic::AtomicU64;

/// The content type of [`Metrics::render`]'s text.
pub const CONTENT_TYPE: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

/// Upper bounds of the step latency buckets, in seconds: 100 µs (a native check) to 10 s
/// (a step's longest time limit is 60 s; past 10 s all that matters is that it was slow).
const STEP_SECONDS: [f64; 16] = [
    0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];

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

/// Labels of what a step did: its workflow and its id.
#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct StepLabels {
    pub workflow: String,
    pub step: String,
}

/// Labels of a reload: `applied` or `refused`.
#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ReloadLabels {
    pub outcome: String,
}

/// Labels of a loaded workflow: its name and version.
#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct WorkflowLabels {
    pub workflow: String,
    pub version: String,
}

type StepHistograms = Family<StepLabels, Histogram, fn() -> Histogram>;

fn step_histogram() -> Histogram {
    Histogram::new(STEP_SECONDS)
}

/// The counters and gauges of one `weft serve` process.
pub struct Metrics {
    registry: Registry,
    // Webhooks.
    pub webhooks_accepted: Family<HookLabels, Counter>,
    pub webhooks_duplicate: Family<HookLabels, Counter>,
    pub webhooks_rejected: Family<RejectLabels, Counter>,
    pub webhooks_dead_lettered: Family<HookLabels, Counter>,
    pub messages_parsed: Counter,
    // Events, all workflows together.
    pub events_processed: Counter,
    pub events_failed: Counter,
    pub events_retried: Counter,
    pub timers_fired: Counter,
    // Steps, by workflow and step.
    step_processed: Family<StepLabels, Counter>,
    step_failed: Family<StepLabels, Counter>,
    step_seconds: StepHistograms,
    // Reloads.
    reloads: Family<ReloadLabels, Counter>,
    workflows: Family<WorkflowLabels, Gauge>,
    // Read from the store at scrape time.
    queue_depth: Gauge,
    oldest_waiting_seconds: Gauge<f64, AtomicU64>,
    unparsed_webhooks: Gauge,
    dead_letters: Gauge,
    deadlines_at_risk: Gauge,
    deadlines_breached: Gauge,
    /// The outbox: deliveries as they end, rows by state at scrape time.
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
            step_processed: Family::default(),
            step_failed: Family::default(),
            step_seconds: Family::new_with_constructor(step_histogram),
            reloads: Family::default(),
            workflows: Family::default(),
            queue_depth: Gauge::default(),
            oldest_waiting_seconds: Gauge::default(),
            unparsed_webhooks: Gauge::default(),
            dead_letters: Gauge::default(),
            outbox: OutboxMetrics::default(),
            deadlines_at_risk: Gauge::default(),
            deadlines_breached: Gauge::default(),
        };
        metrics.register_webhooks();
        metrics.register_events();
        metrics.register_steps();
        metrics.register_reloads();
        metrics.register_store_gauges();
        metrics
    }
}

impl Metrics {
    fn register_webhooks(&mut self) {
        let r = &mut self.registry;
        r.register(
            "weft_webhooks_accepted",
            "Webhooks verified and kept, by channel",
            self.webhooks_accepted.clone(),
        );
        r.register(
            "weft_webhooks_duplicate",
            "Webhooks whose body had come on the same hook before (kept once), by channel",
            self.webhooks_duplicate.clone(),
        );
        r.register(
            "weft_webhooks_rejected",
            "Webhooks refused, by channel and reason (unauthenticated: the signature did not verify)",
            self.webhooks_rejected.clone(),
        );
        r.register(
            "weft_webhooks_dead_lettered",
            "Authentic webhooks their channel could not parse, kept as dead letters, by channel",
            self.webhooks_dead_lettered.clone(),
        );
        r.register(
            "weft_messages_parsed",
            "New messages parsed from webhooks",
            self.messages_parsed.clone(),
        );
    }

    fn register_events(&mut self) {
        let r = &mut self.registry;
        r.register(
            "weft_events_processed",
            "Events run through the workflows",
            self.events_processed.clone(),
        );
        r.register(
            "weft_events_failed",
            "Events dead-lettered after their last try",
            self.events_failed.clone(),
        );
        r.register(
            "weft_events_retried",
            "Event failures put back for a later try",
            self.events_retried.clone(),
        );
        r.register(
            "weft_timers_fired",
            "Timers turned into events",
            self.timers_fired.clone(),
        );
    }

    fn register_steps(&mut self) {
        let r = &mut self.registry;
        r.register(
            "weft_step_events_processed",
            "Events a step decided on, committed, by workflow and step",
            self.step_processed.clone(),
        );
        r.register(
            "weft_step_events_failed",
            "Events on which a step failed for good (the event landed without its decisions, or was dead-lettered), by workflow and step",
            self.step_failed.clone(),
        );
        r.register(
            "weft_step_duration_seconds",
            "How long a step took on one event: its plugin call and the applying of its decisions, by workflow and step",
            self.step_seconds.clone(),
        );
    }

    fn register_reloads(&mut self) {
        let r = &mut self.registry;
        r.register(
            "weft_reloads",
            "Changes to the workflows, channels file or plugins seen while serving, by outcome (applied, refused)",
            self.reloads.clone(),
        );
        r.register(
            "weft_workflow_loaded",
            "1 for each workflow running now, with the version of its file",
            self.workflows.clone(),
        );
    }

    fn register_store_gauges(&mut self) {
        let r = &mut self.registry;
        r.register(
            "weft_queue_depth",
            "Events waiting to be processed",
            self.queue_depth.clone(),
        );
        r.register(
            "weft_queue_oldest_waiting_seconds",
            "How long the oldest waiting event has waited",
            self.oldest_waiting_seconds.clone(),
        );
        r.register(
            "weft_webhooks_unparsed",
            "Webhooks kept and not parsed yet",
            self.unparsed_webhooks.clone(),
        );
        r.register(
            "weft_dead_letters",
            "Dead letters not replayed",
            self.dead_letters.clone(),
        );
        self.outbox.register(r);
        r.register(
            "weft_deadlines_at_risk",
            "Running deadlines past their warning and not yet due",
            self.deadlines_at_risk.clone(),
        );
        r.register(
            "weft_deadlines_breached",
            "Running deadlines past due and still unmet",
            self.deadlines_breached.clone(),
        );
    }

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

    /// Counts committed step runs: each one's latency, and the runs that succeeded as events
    /// the step processed.
    pub fn step_runs(&self, runs: &[StepRun]) {
        for run in runs {
            let labels = StepLabels {
                workflow: run.workflow.clone(),
                step: run.step.clone(),
            };
            self.step_seconds.get_or_create(&labels).observe(run.seconds);
            if !run.failed {
                self.step_processed.get_or_create(&labels).inc();
            }
        }
    }

    /// Counts an event on which a step failed for good.
    pub fn step_failed(&self, workflow: &str, step: &str) {
        self.step_failed
            .get_or_create(&StepLabels {
                workflow: workflow.to_owned(),
                step: step.to_owned(),
            })
            .inc();
    }

    /// Counts a reload (`applied` or `refused`).
    pub fn reload(&self, outcome: &str) {
        self.reloads
            .get_or_create(&ReloadLabels {
                outcome: outcome.to_owned(),
            })
            .inc();
    }

    /// Says which workflows run now, by name and version (replacing what was said before).
    pub fn workflows_loaded<'a>(&self, workflows: impl IntoIterator<Item = (&'a str, &'a str)>) {
        self.workflows.clear();
        for (workflow, version) in workflows {
            self.workflows
                .get_or_create(&WorkflowLabels {
                    workflow: workflow.to_owned(),
                    version: version.to_owned(),
                })
                .set(1);
        }
    }

    /// Everything, with the store's gauges as `stats` says at `now` (ms).
    pub fn render(&self, stats: &QueueStats, now: i64) -> String {
        self.queue_depth.set(stats.pending_events);
        self.unparsed_webhooks.set(stats.unparsed_webhooks);
        self.dead_letters.set(stats.open_dead_letters);
        self.deadlines_at_risk.set(stats.deadlines_at_risk);
        self.deadlines_breached.set(stats.deadlines_breached);
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

    fn run(workflow: &str, step: &str, seconds: f64, failed: bool) -> StepRun {
        StepRun {
            workflow: workflow.to_owned(),
            step: step.to_owned(),
            seconds,
            failed,
        }
    }

    #[test]
    fn renders_counters_by_label_histograms_and_gauges() {
        let metrics = Metrics::default();
        metrics.rejected("shop-de", "bad_signature");
        metrics.rejected("shop-de", "bad_signature");
        Metrics::count(&metrics.webhooks_accepted, "shop-de");
        metrics.events_processed.inc_by(3);
        metrics.step_runs(&[
            run("inbound", "identify", 0.0003, false),
            run("inbound", "identify", 0.02, false),
            run("inbound", "route", 0.7, true),
        ]);
        metrics.step_failed("inbound", "route");
        metrics.reload("refused");
        metrics.workflows_loaded([("inbound", "0123456789ab")]);
        metrics.workflows_loaded([("inbound", "ba9876543210")]);
        let stats = QueueStats {
            pending_events: 4,
            oldest_pending_at: Some(1_000),
            unparsed_webhooks: 1,
            open_dead_letters: 2,
            deadlines_at_risk: 7,
            deadlines_breached: 8,
        };
        let text = metrics.render(&stats, 3_500);
        for line in [
            r#"weft_webhooks_rejected_total{channel="shop-de",reason="bad_signature"} 2"#,
            r#"weft_webhooks_accepted_total{channel="shop-de"} 1"#,
            "weft_events_processed_total 3",
            r#"weft_step_events_processed_total{workflow="inbound",step="identify"} 2"#,
            r#"weft_step_events_failed_total{workflow="inbound",step="route"} 1"#,
            r#"weft_step_duration_seconds_count{workflow="inbound",step="identify"} 2"#,
            r#"weft_step_duration_seconds_bucket{le="0.0005",workflow="inbound",step="identify"} 1"#,
            r#"weft_step_duration_seconds_bucket{le="0.025",workflow="inbound",step="identify"} 2"#,
            r#"weft_step_duration_seconds_count{workflow="inbound",step="route"} 1"#,
            r#"weft_reloads_total{outcome="refused"} 1"#,
            r#"weft_workflow_loaded{workflow="inbound",version="ba9876543210"} 1"#,
            "weft_queue_depth 4",
            "weft_queue_oldest_waiting_seconds 2.5",
            "weft_dead_letters 2",
            "weft_deadlines_at_risk 7",
            "weft_deadlines_breached 8",
            "# EOF",
        ] {
            assert!(text.lines().any(|l| l == line), "{line} not in\n{text}");
        }
        // A failed run is timed, not counted as processed; the old version is gone.
        assert!(
            !text.contains(r#"processed_total{workflow="inbound",step="route"}"#),
            "{text}"
        );
        assert!(!text.contains("0123456789ab"), "{text}");
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
