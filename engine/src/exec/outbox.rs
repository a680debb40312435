//! The sender of `weft serve`: delivers outbox rows through their channel plugins, retries
//! what the vendor refused for now, records on the ticket what it refused for good, and sends
//! each key at most once.
//!
//! **Which mount delivers a row.** A row names a `channel` (`send-message`'s `channel`, an
//! agent's reply's channel). The sender takes, in this order: the row's `mount` when its
//! creator set one; the mount of the channels file whose id is the row's channel (a workflow
//! may name a mount id there, `channel: shop-de`; a row without a conversation then takes the
//! one its ticket's buyer last wrote in on that channel); the hook through which the ticket's
//! latest message on that channel arrived (a reply goes back the way the buyer wrote; that
//! message's conversation becomes the reply's `thread` unless the row has one). A row none of these
//! finds fails, saying so. The mount's plugin is called with the mount's `with:` and grants,
//! under [`SenderOptions::call_timeout`] and the runtime's memory limit.
//!
//! **At most once per key.** A row is claimed in a committed statement before its channel is
//! called, so no two senders ever call for the same key at once, and only a plugin's own
//! answer lets a key be sent again:
//! - delivered: never sent again;
//! - `retryable` / `retry-later` (429, 5xx, no answer): tried again later. A channel answers so
//!   only when another try cannot deliver twice: the vendor refused the message, or dedupes by
//!   the key it was given (the `json` channel sends it as `Idempotency-Key`);
//! - `permanent`, a denial, a bad config: `failed`, with the vendor's reason;
//! - `opted-out` (the vendor refused it: the recipient opted out, Twilio's 21610): `failed`,
//!   and the opt-out recorded for the mount and the recipient;
//! - no answer (a timeout, a trap): when no HTTP request had left the host, nothing can have
//!   been delivered, and it is retried (timeout) or failed (trap); once one had, the message
//!   may have gone out: `uncertain`;
//! - a sender that stops during the call (killed, crashed, its task dropped) leaves the claim:
//!   a sender of the same process sees at once that the claimer is gone, any other once the
//!   claim's lease (the call's time limit plus [`SenderOptions::lease_margin`]) has run out,
//!   and marks the row `uncertain`;
//! - the store failing while the row is prepared (its route, an opt-out, the buyer's last
//!   message), before the channel is called: nothing can have gone out, so the row is retried.
//!
//! An `uncertain` row is never sent again by itself: a person checks with the vendor and runs
//! `weft outbox retry KEY` to send it again (or leaves it). Being sent twice is worse than
//! waiting for a person: a buyer who gets two replies, or two refunds promised, loses trust in
//! the seller, while an uncertain row is counted in `/metrics` and shown on its ticket.
//!
//! **Opt-outs.** A row to an address that opted out of its mount (an SMS `STOP`, reported by
//! the channel's `notices` or by an `opted-out` answer of `deliver`) fails without calling the
//! channel, with a reason that says so; a later consent from the buyer (`START`) lifts it.
//!
//! **Retries** wait a random time between zero and `backoff_base × 2^(attempts − 1)` (at most
//! `backoff_cap`: exponential backoff with full jitter, so that senders that failed together
//! do not come back together), and never less than the vendor's `Retry-After`. After
//! `max_attempts` calls the row fails with its last error.
//!
//! **On the ticket.** Delivered, failed and uncertain rows are logged as decisions of workflow
//! `outbox` (step: the mount) with the reason, so they show in `weft explain ticket` and the
//! ticket's timeline; a delivered row on a ticket becomes an outbound message there through the
//! `message.sent` path, which stops the ticket's response clocks unless the row is automatic.
//!
//! **Threads.** The channel is also given the raw traffic of the message the row answers
//! (`Outbound::replying_to`: the ticket's newest inbound message on the row's channel through
//! the mount), so a mail reply carries `In-Reply-To` and `References` and no automatic answer
//! goes to auto-submitted mail (RFC 3834).
//!
//! **Reply windows.** The channel is told when the ticket's buyer last wrote on the row's
//! channel (`Outbound::last_inbound_at`), so that a platform's rule (Meta's 24 hours after the
//! buyer's last message) is judged by the channel before anything is sent; its refusal is a
//! `permanent` error, shown on the ticket like any other.

use super::Live;
use super::clocks::Reply;
use crate::metrics::Metrics;
use crate::runtime::{DeliverOutcome, PluginError, StepFailure};
use crate::store::apply::Origin;
use crate::store::outbox::{OutboundRow, Settlement};
use crate::store::{Store, now_ms};
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::watch;
use tokio::task::JoinSet;
use tracing::Instrument as _;
use weft_sdk::{Consent, Decision, Direction, Evidence, Message, Outbound};

/// How long past its timeout a call may still be settling (the runtime's grace, and more).
const CALL_GRACE: Duration = Duration::from_secs(1);
/// How long the sender waits before looking again after the database failed.
const ERROR_PAUSE: Duration = Duration::from_secs(1);

/// How the sender works.
#[derive(Debug, Clone)]
pub struct SenderOptions {
    /// Calls to channels at once.
    pub concurrency: usize,
    /// Calls per row before a retryable failure becomes `failed`.
    pub max_attempts: i64,
    /// The longest wait before the first retry (full jitter: a random wait up to it).
    pub backoff_base: Duration,
    /// The longest wait before any retry.
    pub backoff_cap: Duration,
    /// The time limit of one `deliver` call.
    pub call_timeout: Duration,
    /// How long a claim outlives its call's time limit: a claim older than both belongs to a
    /// sender that stopped.
    pub lease_margin: Duration,
    /// The longest the sender sleeps before looking again (rows queued by another process).
    pub max_sleep: Duration,
}

impl Default for SenderOptions {
    fn default() -> Self {
        SenderOptions {
            concurrency: 4,
            max_attempts: 8,
            backoff_base: Duration::from_secs(2),
            backoff_cap: Duration::from_secs(15 * 60),
            call_timeout: Duration::from_secs(10),
            lease_margin: Duration::from_secs(60),
            max_sleep: Duration::from_secs(1),
        }
    }
}

impl SenderOptions {
    /// How long a claim holds.
    fn lease(&self) -> Duration {
        self.call_timeout + CALL_GRACE + self.lease_margin
    }

    /// The wait before try `attempts + 1`: random up to `base × 2^(attempts − 1)`, capped, and
    /// at least `at_least`.
    pub fn backoff(&self, attempts: i64, at_least: Duration) -> Duration {
        let doublings = attempts.saturating_sub(1).clamp(0, 30) as u32;
        let ceiling = self.backoff_base.saturating_mul(1 << doublings).min(self.backoff_cap);
        let jittered = Duration::from_millis(fastrand::u64(0..=ceiling.as_millis() as u64));
        jittered.max(at_least)
    }
}

/// Senders running in this process, by instance number (with how many runs of each): a
/// claim of this process whose sender is not here was left by a sender that stopped.
static RUNNING: Mutex<BTreeMap<u64, usize>> = Mutex::new(BTreeMap::new());
static INSTANCES: AtomicU64 = AtomicU64::new(1);

/// Marks a sender as running while it lives.
struct Running(u64);

impl Running {
    fn start(instance: u64) -> Running {
        *RUNNING
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .entry(instance)
            .or_default() += 1;
        Running(instance)
    }

    fn is_running(instance: u64) -> bool {
        RUNNING
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .contains_key(&instance)
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        let mut running = RUNNING.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(count) = running.get_mut(&self.0) {
            *count -= 1;
            if *count == 0 {
                running.remove(&self.0);
            }
        }
    }
}

/// What became of one claimed row, for logs and counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Outcome {
    Delivered,
    Retried,
    Failed,
    Uncertain,
}

impl Outcome {
    /// As counted in `/metrics`.
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Delivered => "delivered",
            Outcome::Retried => "retried",
            Outcome::Failed => "failed",
            Outcome::Uncertain => "uncertain",
        }
    }
}

/// The sender: runs beside the live loop, on its store and pipeline.
#[derive(Debug)]
pub struct Sender {
    live: Arc<Live>,
    options: SenderOptions,
    /// This sender's claims are `<node>/outbox-<instance>:<round>`.
    instance: u64,
    rounds: AtomicU64,
}

impl Sender {
    pub fn new(live: Arc<Live>, options: SenderOptions) -> Arc<Sender> {
        Arc::new(Sender {
            live,
            options,
            instance: INSTANCES.fetch_add(1, Ordering::Relaxed),
            rounds: AtomicU64::new(0),
        })
    }

    fn store(&self) -> &Store {
        self.live.store()
    }

    fn metrics(&self) -> &Metrics {
        self.live.metrics()
    }

    /// Delivers until `shutdown` turns true; then claims nothing more, waits for the calls in
    /// flight and records their outcome, and returns. Dropping the future instead abandons the
    /// calls in flight: their rows become `uncertain` (see the module documentation).
    pub async fn run(self: Arc<Self>, mut shutdown: watch::Receiver<bool>) {
        let _running = Running::start(self.instance);
        let mut calls: JoinSet<()> = JoinSet::new();
        let mut stopping = false;
        loop {
            stopping |= *shutdown.borrow();
            let woken = self.live.outbox_wakeup().notified();
            tokio::pin!(woken);
            woken.as_mut().enable();
            let mut pause = self.options.max_sleep;
            if !stopping {
                match self.start_calls(&mut calls).await {
                    Ok(()) => pause = self.until_due().await,
                    Err(error) => {
                        tracing::error!(error = %format!("{error:#}"), "outbox round failed; trying again");
                        pause = ERROR_PAUSE;
                    }
                }
            } else if calls.is_empty() {
                break;
            }
            tokio::select! {
                Some(_) = calls.join_next(), if !calls.is_empty() => {}
                () = &mut woken, if !stopping => {}
                () = tokio::time::sleep(pause) => {}
                _ = shutdown.changed(), if !stopping => {}
            }
        }
        tracing::info!("outbox sender stopped");
    }

    /// Gives up the claims of senders that stopped, then claims due rows for the free call
    /// slots and starts their calls.
    async fn start_calls(self: &Arc<Self>, calls: &mut JoinSet<()>) -> anyhow::Result<()> {
        self.abandon_stopped().await?;
        if self.live.pipeline().channels.mounts.is_empty() {
            // Nothing can be delivered without a channels file: rows wait for one.
            return Ok(());
        }
        let free = self.options.concurrency.saturating_sub(calls.len());
        if free == 0 {
            return Ok(());
        }
        let round = self.rounds.fetch_add(1, Ordering::Relaxed) + 1;
        let claim = format!(
            "{}/outbox-{}:{round}",
            crate::store::node::process_node_name(),
            self.instance
        );
        let rows = self
            .store()
            .claim_outbound(&claim, free as i64, self.options.lease().as_millis() as i64)
            .await?;
        for row in rows {
            let sender = Arc::clone(self);
            let claim = claim.clone();
            calls.spawn(async move { sender.deliver(row, &claim).await });
        }
        Ok(())
    }

    /// How long to sleep: until the next try or claim end, at most `max_sleep`.
    async fn until_due(&self) -> Duration {
        match self.store().next_outbound_at().await {
            Ok(Some(at)) => Duration::from_millis((at - now_ms()).max(0) as u64).min(self.options.max_sleep),
            _ => self.options.max_sleep,
        }
    }

    /// One pass without the loop: gives up stopped senders' claims, delivers every due row
    /// (waiting for each call) and returns what became of each, by key.
    pub async fn round(self: &Arc<Self>) -> anyhow::Result<Vec<(String, Outcome)>> {
        let _running = Running::start(self.instance);
        let mut outcomes = self.abandon_stopped().await?;
        if self.live.pipeline().channels.mounts.is_empty() {
            return Ok(outcomes);
        }
        loop {
            let round = self.rounds.fetch_add(1, Ordering::Relaxed) + 1;
            let claim = format!(
                "{}/outbox-{}:{round}",
                crate::store::node::process_node_name(),
                self.instance
            );
            let rows = self
                .store()
                .claim_outbound(
                    &claim,
                    self.options.concurrency.max(1) as i64,
                    self.options.lease().as_millis() as i64,
                )
                .await?;
            if rows.is_empty() {
                return Ok(outcomes);
            }
            for row in rows {
                let key = row.key.clone();
                if let Some(outcome) = self.deliver_one(row, &claim).await? {
                    outcomes.push((key, outcome));
                }
            }
        }
    }

    /// Marks `uncertain` every row claimed by a sender that stopped: one of this process that
    /// is not running any more, or any whose lease ran out.
    async fn abandon_stopped(&self) -> anyhow::Result<Vec<(String, Outcome)>> {
        let now = now_ms();
        let node = crate::store::node::process_node_name();
        let mut given_up = Vec::new();
        for row in self.store().outbound_in_flight().await? {
            let Some(claim) = row.claimed_by.clone() else { continue };
            let lease_over = row.claimed_until.is_none_or(|until| until < now);
            let ours_stopped = claim
                .rsplit_once(':')
                .and_then(|(sender, _)| sender.rsplit_once("/outbox-"))
                .filter(|(claim_node, _)| *claim_node == node)
                .and_then(|(_, instance)| instance.parse::<u64>().ok())
                .is_some_and(|instance| !Running::is_running(instance));
            if !(lease_over || ours_stopped) {
                continue;
            }
            let error = format!(
                "its sender ({claim}) stopped while delivering it, after attempt {}: it may have been delivered; \
                 check with the receiver, then `weft outbox retry {}` sends it again",
                row.attempts, row.key
            );
            let settlement = Settlement::Uncertain { error };
            if self.record(&row, &claim, &settlement, None, None, None).await? {
                tracing::warn!(key = %row.key, %claim, "outbox row left by a stopped sender: uncertain");
                self.count(Outcome::Uncertain);
                given_up.push((row.key.clone(), Outcome::Uncertain));
            }
        }
        Ok(given_up)
    }

    /// A spawned call: delivers and records, logging what cannot be recorded (the claim then
    /// runs out and the row becomes `uncertain`, never sent twice).
    async fn deliver(self: Arc<Self>, row: OutboundRow, claim: &str) {
        let key = row.key.clone();
        if let Err(error) = self.deliver_one(row, claim).await {
            tracing::error!(%key, error = %format!("{error:#}"), "outbox delivery could not be recorded");
        }
    }

    /// Delivers one claimed row and records the outcome; None when the claim was no longer
    /// this sender's to settle.
    async fn deliver_one(&self, row: OutboundRow, claim: &str) -> anyhow::Result<Option<Outcome>> {
        let span = tracing::info_span!("deliver", key = %row.key, attempt = row.attempts);
        self.deliver_in_span(row, claim).instrument(span).await
    }

    async fn deliver_in_span(&self, row: OutboundRow, claim: &str) -> anyhow::Result<Option<Outcome>> {
        let pipeline = self.live.pipeline();
        let route = match self.route(&row).await {
            Err(error) => return self.retry_unsent(&row, claim, error).await,
            Ok(Ok(route)) => route,
            Ok(Err(reason)) => {
                let settlement = Settlement::Failed { error: reason };
                return self.settle(&row, claim, &settlement, None, None, None).await;
            }
        };
        let call = match pipeline.channel_call("", Some(&route.mount)) {
            Ok(call) => call,
            Err(error) => {
                let settlement = Settlement::Failed {
                    error: format!("mount `{}` cannot deliver: {error:#}", route.mount),
                };
                return self
                    .settle(&row, claim, &settlement, Some(&route.mount), None, None)
                    .await;
            }
        };
        // A buyer who opted out of the mount (an SMS `STOP`) gets nothing more through it.
        let opt_out = match self.store().opt_out(&route.mount, &row.recipient).await {
            Ok(opt_out) => opt_out,
            Err(error) => return self.retry_unsent(&row, claim, error).await,
        };
        if let Some(opt_out) = opt_out {
            let settlement = Settlement::Failed {
                error: format!(
                    "not sent: {} opted out of messages through mount `{}` ({}, at {}); nothing is sent to them \
                     there until they opt back in",
                    row.recipient,
                    route.mount,
                    opt_out.reason,
                    jiff::Timestamp::from_millisecond(opt_out.at)
                        .map_or_else(|_| opt_out.at.to_string(), |t| t.to_string())
                ),
            };
            return self
                .settle(
                    &row,
                    claim,
                    &settlement,
                    Some(&route.mount),
                    route.thread.as_deref(),
                    None,
                )
                .await;
        }
        let mut options = call.options;
        options.timeout = self.options.call_timeout;
        let last_inbound_at = match row.ticket {
            Some(ticket) => match self.store().last_inbound_at(ticket, &row.channel).await {
                Ok(at) => at,
                Err(error) => return self.retry_unsent(&row, claim, error).await,
            },
            None => None,
        };
        let replying_to = match row.ticket {
            Some(ticket) => self.store().replied_inbound(ticket, &row.channel, &route.mount).await?,
            None => None,
        };
        let outbound = Outbound {
            key: row.key.clone(),
            to: row.recipient.clone(),
            thread: route.thread.clone(),
            subject: row.subject.clone(),
            body: row.body.clone(),
            lang: row.lang.clone(),
            last_inbound_at,
            automatic: row.automatic,
            replying_to,
        };
        let outcome = call.plugin.deliver(&outbound, &call.config, &options).await;
        let plugin = format!("{}@{}", call.plugin.info().name, call.plugin.info().version);
        // The vendor refused it because the recipient opted out: recorded, so that nothing more
        // is tried there until they opt back in.
        if let Err(StepFailure::Plugin {
            error: PluginError::OptedOut(reason),
            ..
        }) = &outcome.result
        {
            let consent = Consent {
                address: row.recipient.clone(),
                opted_out: true,
                reason: format!("the channel refused a reply: {reason}"),
                at: now_ms(),
            };
            self.store().record_consent(&route.mount, &consent).await?;
        }
        let settlement = self.judge(&row, outcome);
        self.settle(
            &row,
            claim,
            &settlement,
            Some(&route.mount),
            route.thread.as_deref(),
            Some(&plugin),
        )
        .await
    }

    /// The store failed while `row` was being prepared, before its channel was called: nothing
    /// can have gone out, so the row is tried again later (with backoff, counting the attempt)
    /// rather than left claimed for the stopped-sender sweep to call `uncertain`.
    async fn retry_unsent(
        &self,
        row: &OutboundRow,
        claim: &str,
        error: impl Into<anyhow::Error>,
    ) -> anyhow::Result<Option<Outcome>> {
        let error = format!("could not prepare the delivery: {:#}", error.into());
        let settlement = if row.attempts >= self.options.max_attempts {
            Settlement::Failed {
                error: format!("gave up after {} attempts; the last: {error}", row.attempts),
            }
        } else {
            Settlement::Retry {
                at: now_ms() + self.options.backoff(row.attempts, Duration::ZERO).as_millis() as i64,
                error,
            }
        };
        self.settle(row, claim, &settlement, None, None, None).await
    }

    /// Which mount delivers `row`, and in which conversation; the reason when none does.
    async fn route(&self, row: &OutboundRow) -> anyhow::Result<Result<Route, String>> {
        let channels = &self.live.pipeline().channels;
        if let Some(mount) = &row.mount {
            return Ok(match channels.get(mount) {
                Some(_) => Ok(Route {
                    mount: mount.clone(),
                    thread: row.thread.clone(),
                }),
                None => Err(format!("mount `{mount}` is not in the channels file")),
            });
        }
        if channels.get(&row.channel).is_some() {
            // The conversation, when the row has none, is the one the buyer last wrote in on
            // that channel (a chat mounted under the id `chat` needs it).
            let thread = match (&row.thread, row.ticket) {
                (Some(thread), _) => Some(thread.clone()),
                (None, Some(ticket)) => self
                    .store()
                    .reply_route(ticket, &row.channel)
                    .await?
                    .and_then(|route| route.thread),
                (None, None) => None,
            };
            return Ok(Ok(Route {
                mount: row.channel.clone(),
                thread,
            }));
        }
        if let Some(ticket) = row.ticket
            && let Some(route) = self.store().reply_route(ticket, &row.channel).await?
            && channels.get(&route.hook).is_some()
        {
            return Ok(Ok(Route {
                mount: route.hook,
                thread: row.thread.clone().or(route.thread),
            }));
        }
        Ok(Err(format!(
            "no mount of the channels file delivers channel `{}`: name a mount id as the message's channel, \
             or reply on a ticket whose buyer wrote on `{}` through a hook",
            row.channel, row.channel
        )))
    }

    /// What a call's outcome means for its row.
    fn judge(&self, row: &OutboundRow, outcome: DeliverOutcome) -> Settlement {
        let failure = match outcome.result {
            Ok(delivery) => {
                return Settlement::Delivered {
                    at: now_ms(),
                    external_id: delivery.external_id,
                };
            }
            Err(failure) => failure,
        };
        let reason = reason_of(&failure);
        let retry = |after: Duration, reason: String| {
            if row.attempts >= self.options.max_attempts {
                Settlement::Failed {
                    error: format!("gave up after {} attempts; the last: {reason}", row.attempts),
                }
            } else {
                Settlement::Retry {
                    at: now_ms() + self.options.backoff(row.attempts, after).as_millis() as i64,
                    error: reason,
                }
            }
        };
        match &failure {
            StepFailure::Plugin { error, .. } if error.is_retryable() => {
                retry(failure.retry_after().unwrap_or_default(), reason)
            }
            StepFailure::Plugin { .. } | StepFailure::Denied { .. } | StepFailure::WrongKind { .. } => {
                Settlement::Failed { error: reason }
            }
            _ if outcome.requests_sent > 0 => Settlement::Uncertain {
                error: format!(
                    "the channel failed after {} request(s) had left: {reason}; it may have been delivered: \
                     check with the receiver, then `weft outbox retry {}` sends it again",
                    outcome.requests_sent, row.key
                ),
            },
            StepFailure::Timeout { .. } | StepFailure::Host { .. } => retry(Duration::ZERO, reason),
            StepFailure::Trap { .. } | StepFailure::MemoryLimit { .. } | StepFailure::InvalidOutput { .. } => {
                Settlement::Failed { error: reason }
            }
        }
    }

    /// Records `settlement`, counts it and logs it.
    async fn settle(
        &self,
        row: &OutboundRow,
        claim: &str,
        settlement: &Settlement,
        mount: Option<&str>,
        thread: Option<&str>,
        plugin: Option<&str>,
    ) -> anyhow::Result<Option<Outcome>> {
        let outcome = match settlement {
            Settlement::Delivered { .. } => Outcome::Delivered,
            Settlement::Retry { .. } => Outcome::Retried,
            Settlement::Failed { .. } => Outcome::Failed,
            Settlement::Uncertain { .. } => Outcome::Uncertain,
        };
        let settled = self.record(row, claim, settlement, mount, thread, plugin).await?;
        if !settled {
            tracing::warn!(key = %row.key, %claim, "outbox claim settled elsewhere; outcome not recorded");
            return Ok(None);
        }
        self.count(outcome);
        match settlement {
            Settlement::Delivered { external_id, .. } => {
                tracing::info!(key = %row.key, mount, external_id = external_id.as_deref().unwrap_or(""), "delivered")
            }
            Settlement::Retry { at, error } => {
                tracing::warn!(key = %row.key, mount, %error, retry_in_ms = at - now_ms(), "delivery failed; will retry")
            }
            Settlement::Failed { error } => tracing::warn!(key = %row.key, mount, %error, "delivery failed for good"),
            Settlement::Uncertain { error } => tracing::error!(key = %row.key, mount, %error, "delivery uncertain"),
        }
        if outcome == Outcome::Delivered {
            self.live.wake();
        }
        Ok(Some(outcome))
    }

    /// Writes `settlement` in one unit: the row (with the mount and conversation it went to);
    /// for a final outcome the decision-log line on the ticket, in the name of the channel
    /// `plugin` (`name@version`) when one was called; for a delivery on a ticket the reply
    /// (`message.sent`).
    async fn record(
        &self,
        row: &OutboundRow,
        claim: &str,
        settlement: &Settlement,
        mount: Option<&str>,
        thread: Option<&str>,
        plugin: Option<&str>,
    ) -> anyhow::Result<bool> {
        let thread = thread.or(row.thread.as_deref());
        let mut unit = self.store().unit().await?;
        if !unit.settle_outbound(row.id, claim, settlement, mount, thread).await? {
            unit.rollback().await?;
            return Ok(false);
        }
        let mount_shown = mount.or(row.mount.as_deref()).unwrap_or("none");
        let (reason, delivery) = match settlement {
            Settlement::Retry { .. } => {
                unit.commit().await?;
                return Ok(true);
            }
            Settlement::Delivered { external_id, .. } => (
                format!("delivered through mount `{mount_shown}` at attempt {}", row.attempts),
                external_id
                    .as_deref()
                    .map_or_else(|| "delivered".to_owned(), |id| format!("delivered as {id}")),
            ),
            Settlement::Failed { error } => (format!("not delivered: {error}"), "failed".to_owned()),
            Settlement::Uncertain { error } => (
                format!("perhaps delivered, not sent again by itself: {error}"),
                "uncertain".to_owned(),
            ),
        };
        let decision = Decision::new(row.send_command(), reason).with_evidence([
            Evidence::new("delivery", delivery, 1.0),
            Evidence::new("attempts", row.attempts.to_string(), 0.0),
        ]);
        let plugin = plugin.map_or_else(|| format!("weft@{}", env!("CARGO_PKG_VERSION")), str::to_owned);
        let origin = Origin {
            event: None,
            workflow: "outbox",
            workflow_version: None,
            step: mount.or(row.mount.as_deref()).unwrap_or("deliver"),
            plugin: &plugin,
        };
        unit.record_decision(origin, &decision, None, row.ticket).await?;
        if let Settlement::Delivered { at, .. } = settlement
            && let Some(ticket) = row.ticket
        {
            let reply = self.reply(row, *at, thread);
            if unit
                .enqueue_reply(&reply.message, reply.automatic, Some(ticket))
                .await?
                .is_none()
            {
                tracing::warn!(key = %row.key, "a message with this key is already on the channel: the reply is not recorded twice");
            }
        }
        unit.commit().await?;
        Ok(true)
    }

    /// The delivered row as the reply the ticket's timeline shows (its id on the channel is
    /// the key, unique in weft; the vendor's id stays on the outbox row).
    fn reply(&self, row: &OutboundRow, at: i64, thread: Option<&str>) -> Reply {
        let mut message = Message::new(row.channel.clone(), row.key.clone(), at);
        message.thread = thread.map(str::to_owned);
        message.subject = row.subject.clone();
        message.body = row.body.clone();
        message.lang = row.lang.clone();
        message.direction = Direction::Outbound;
        message.automatic = row.automatic;
        Reply {
            message,
            automatic: row.automatic,
            ticket: row.ticket,
        }
    }

    fn count(&self, outcome: Outcome) {
        self.metrics().outbox.delivered(outcome.as_str());
    }
}

/// Where a row goes.
#[derive(Debug, Clone)]
struct Route {
    mount: String,
    thread: Option<String>,
}

/// What a failure says, as the ticket shows it: the plugin's own words (the vendor's reason)
/// when it gave them.
fn reason_of(failure: &StepFailure) -> String {
    match failure {
        StepFailure::Plugin { error, .. } => error.message().to_owned(),
        StepFailure::Denied { denial, error, .. } => format!("{denial} (the channel then said: {})", error.message()),
        other => other.to_string(),
    }
}
