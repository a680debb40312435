//! The live engine of `weft serve`, without HTTP: webhooks verified and kept, events processed
//! as they arrive, timers fired when they fall due.
//!
//! A webhook is handed to its channel plugin's `verify` with the mount's `with:` and grants,
//! kept in the store (its own committed transaction), and only then acknowledged; the
//! [`Live::run`] loop is woken, parses what was kept through the same path as files, and drains
//! the queue with the same code as `weft run`. Between rounds the loop sleeps until the next
//! timer or retry is due, a webhook arrives, or shutdown is asked for; on shutdown it finishes
//! its round (everything kept is parsed and processed) and returns.
//!
//! Beside it runs the live stream's loop ([`Feed`]), woken after each round: agents' clients
//! are told what the round changed.
//!
//! A webhook its channel refuses (a missing or wrong signature) is answered 401 and kept as a
//! dead letter with the reason (`Store::keep_refused_webhook`), so that a delivery refused
//! for a secret set wrong is replayed once the secret is fixed: once per body and hook, at
//! most [`LiveOptions::refused_per_hook`] open ones per hook, each for a week. Past the cap a
//! refusal is counted and logged, not kept: junk posted to a public hook cannot fill the disk.
//!
//! The pipeline is held behind a lock as an `Arc` and can be replaced while serving
//! ([`Live::replace_pipeline`], called by `crate::reload`): each webhook is verified with the
//! pipeline current when it arrives, and the loop takes the current one again before each
//! parse batch and each claim of events (one commit group), so a new version takes over
//! between groups and a group is processed by one version from start to end.

use super::dispatch::{Progress, drain_step, join};
use super::feed::{Feed, FeedOptions};
use super::{DrainOptions, Pipeline, ingest};
use crate::metrics::Metrics;
use crate::runtime::{PluginError, StepFailure};
use crate::store::hooks::{Kept, KeptRefused};
use crate::store::{Store, StoreError, now_ms};
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;
use tokio::sync::{Notify, watch};
use weft_sdk::{HandshakeRequest, HandshakeResponse, Inbound};

/// The longest the loop sleeps with nothing due: it looks again at least this often (a timer
/// another node scheduled, a retry).
const MAX_SLEEP: Duration = Duration::from_secs(1);
/// How long the loop waits before trying again after the database failed.
const ERROR_PAUSE: Duration = Duration::from_secs(1);

/// How the live loop works.
#[derive(Debug, Clone)]
pub struct LiveOptions {
    /// How the queue is drained. Small groups: a group holds the SQLite write lock, which
    /// webhooks wait for before they are answered.
    pub drain: DrainOptions,
    /// How many kept webhooks one transaction parses.
    pub parse_batch: i64,
    /// The live stream and presence.
    pub feed: FeedOptions,
    /// How many refused requests a hook keeps as open dead letters at most.
    pub refused_per_hook: i64,
}

impl Default for LiveOptions {
    fn default() -> Self {
        LiveOptions {
            // One group per claim: the pipeline is looked up again between claims.
            drain: DrainOptions {
                batch: 64,
                events_per_commit: 64,
                wait_for_retries: false,
                ..DrainOptions::default()
            },
            parse_batch: 256,
            feed: FeedOptions::default(),
            refused_per_hook: 100,
        }
    }
}

/// Why a webhook or a handshake was not accepted.
#[derive(Debug, thiserror::Error)]
pub enum HookError {
    /// No channel is mounted at this hook id.
    #[error("no channel is mounted at hook `{hook}`")]
    UnknownHook { hook: String },
    /// The channel says the traffic is not from its vendor (a bad signature).
    #[error("hook `{hook}` refused the request: {reason}")]
    Rejected { hook: String, reason: String },
    /// The channel could not check it: its configuration, a secret, the plugin itself.
    #[error("hook `{hook}` cannot check requests now: {reason}")]
    Unavailable { hook: String, reason: String },
    /// The request could not be kept.
    #[error("the request to hook `{hook}` could not be kept: {source}")]
    Store { hook: String, source: StoreError },
}

/// What happened to an accepted webhook.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Receipt {
    /// Kept now under this inbound id; it will be parsed and processed.
    Kept(i64),
    /// The same body came on this hook before and was kept then: nothing new to do.
    Duplicate(i64),
}

/// What became of the last change to the workflows, channels file or plugins seen while
/// serving (`/readyz` shows it).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReloadState {
    /// Nothing changed since the start.
    None,
    /// The change was loaded and runs.
    Applied,
    /// The change was refused for these problems (each `file:line:column: message`, as
    /// `weft validate` prints them); the version before it keeps running.
    Refused(Vec<String>),
}

/// The last reload: what became of it, and when (ms).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reload {
    pub state: ReloadState,
    pub at: i64,
}

/// The live engine: a store, the loaded pipeline, the counters, and the wake-up of its loop.
#[derive(Debug)]
pub struct Live {
    store: Store,
    pipeline: RwLock<Arc<Pipeline>>,
    reload: Mutex<Reload>,
    metrics: Arc<Metrics>,
    options: LiveOptions,
    wake: Notify,
    feed: Arc<Feed>,
    /// Wakes the outbox sender (`exec::outbox`): rows may have been queued.
    outbox: Notify,
}

impl Live {
    pub fn new(store: Store, pipeline: Arc<Pipeline>, metrics: Arc<Metrics>, mut options: LiveOptions) -> Self {
        options.drain.metrics = Some(Arc::clone(&metrics));
        metrics.workflows_loaded(pipeline.workflows.iter().map(|w| (w.name.as_str(), w.version.as_str())));
        Live {
            feed: Arc::new(Feed::new(store.clone(), options.feed.clone())),
            store,
            pipeline: RwLock::new(pipeline),
            reload: Mutex::new(Reload {
                state: ReloadState::None,
                at: now_ms(),
            }),
            metrics,
            options,
            wake: Notify::new(),
            outbox: Notify::new(),
        }
    }

    pub fn store(&self) -> &Store {
        &self.store
    }

    /// The pipeline that runs now. Hold it for one piece of work only: a reload replaces it.
    pub fn pipeline(&self) -> Arc<Pipeline> {
        Arc::clone(&self.pipeline.read().unwrap_or_else(|e| e.into_inner()))
    }

    /// Puts `pipeline` in place of the one running: what starts from now on uses it (the
    /// webhooks that arrive, the loop's next claim); what runs finishes with the old one.
    pub fn replace_pipeline(&self, pipeline: Arc<Pipeline>) {
        self.metrics
            .workflows_loaded(pipeline.workflows.iter().map(|w| (w.name.as_str(), w.version.as_str())));
        *self.pipeline.write().unwrap_or_else(|e| e.into_inner()) = pipeline;
        self.metrics.reload("applied");
        self.set_reload(ReloadState::Applied);
        // Events that waited for a workflow that is loaded only now are looked at again.
        self.wake.notify_one();
    }

    /// Records a change that was refused for `problems`; the running pipeline stays.
    pub fn refuse_reload(&self, problems: Vec<String>) {
        self.metrics.reload("refused");
        self.set_reload(ReloadState::Refused(problems));
    }

    fn set_reload(&self, state: ReloadState) {
        *self.reload.lock().unwrap_or_else(|e| e.into_inner()) = Reload { state, at: now_ms() };
    }

    /// What became of the last reload.
    pub fn last_reload(&self) -> Reload {
        self.reload.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }

    pub fn metrics(&self) -> &Metrics {
        &self.metrics
    }

    /// The live stream and presence.
    pub fn feed(&self) -> &Arc<Feed> {
        &self.feed
    }

    /// Wakes the loop: something was queued outside it (a status change through the API, a
    /// delivered reply's `message.sent`) that it should process now rather than at its next look.
    pub fn wake(&self) {
        self.wake.notify_one();
    }

    /// Wakes the outbox sender: call it after queueing outbox rows (an agent's reply), so that
    /// they go out now rather than at the sender's next look.
    pub fn outbox_queued(&self) {
        self.outbox.notify_one();
    }

    /// What the outbox sender waits on.
    pub(crate) fn outbox_wakeup(&self) -> &Notify {
        &self.outbox
    }

    /// Whether a channel is mounted at `hook`.
    pub fn knows(&self, hook: &str) -> bool {
        self.pipeline().channels.get(hook).is_some()
    }

    /// The refusal of a request to a hook id that is not mounted: counted under the channel
    /// `_unknown` (counting by the requested id would let anyone grow the metrics) and logged.
    pub fn unknown_hook(&self, hook: &str) -> HookError {
        self.metrics.rejected("_unknown", "unknown_hook");
        tracing::warn!(hook, reason = "unknown_hook", "webhook refused");
        HookError::UnknownHook { hook: hook.to_owned() }
    }

    /// Counts and logs a webhook refused before its channel saw it (`too_large`, ...).
    pub fn refused(&self, hook: &str, reason: &str, detail: &str) {
        self.metrics.rejected(hook, reason);
        tracing::warn!(hook, reason, detail, "webhook refused");
    }

    /// Verifies a webhook with its channel, keeps it, and wakes the loop. Only an `Ok` may be
    /// acknowledged: the request is then in the store.
    pub async fn receive(&self, hook: &str, inbound: Inbound) -> Result<Receipt, HookError> {
        let pipeline = self.pipeline();
        let call = self.channel_call(&pipeline, hook)?;
        if let Err(failure) = call.plugin.verify(&inbound, &call.config, &call.options).await {
            let refusal = self.refusal(hook, failure);
            if let HookError::Rejected { reason, .. } = &refusal {
                self.keep_refused(hook, call.plugin.info().name.as_str(), &inbound, reason)
                    .await;
            }
            return Err(refusal);
        }
        let kept = self
            .store
            .keep_webhook(hook, call.plugin.info().name.as_str(), &inbound)
            .await
            .map_err(|source| {
                self.metrics.rejected(hook, "store");
                tracing::error!(hook, error = %source, "webhook could not be kept");
                HookError::Store {
                    hook: hook.to_owned(),
                    source,
                }
            })?;
        Ok(match kept {
            Kept::New(id) => {
                Metrics::count(&self.metrics.webhooks_accepted, hook);
                tracing::debug!(hook, inbound = id, bytes = inbound.body.len(), "webhook kept");
                self.wake.notify_one();
                Receipt::Kept(id)
            }
            Kept::Duplicate(id) => {
                Metrics::count(&self.metrics.webhooks_duplicate, hook);
                tracing::info!(hook, inbound = id, "webhook seen before, kept once");
                Receipt::Duplicate(id)
            }
        })
    }

    /// Keeps a refused request as a dead letter, within the hook's cap; logs what became of it.
    /// A store that fails here costs only the copy: the request is refused either way.
    async fn keep_refused(&self, hook: &str, channel: &str, inbound: &Inbound, reason: &str) {
        let error = format!("{}: refused by channel {channel}: {reason}", inbound.source);
        let kept = self
            .store
            .keep_refused_webhook(hook, channel, inbound, &error, self.options.refused_per_hook, now_ms())
            .await;
        match kept {
            Ok(KeptRefused::New { letter }) => {
                Metrics::count(&self.metrics.webhooks_dead_lettered, hook);
                tracing::info!(hook, dead_letter = letter, "refused webhook kept as a dead letter");
            }
            Ok(KeptRefused::Seen { letter }) => {
                tracing::info!(hook, dead_letter = letter, "refused webhook kept before");
            }
            Ok(KeptRefused::Full { open }) => {
                self.metrics.rejected(hook, "refused_not_kept");
                tracing::warn!(
                    hook,
                    open,
                    "refused webhook not kept: the hook holds as many refusals as it may"
                );
            }
            Err(error) => {
                self.metrics.rejected(hook, "refused_not_kept");
                tracing::error!(hook, error = %error, "refused webhook could not be kept");
            }
        }
    }

    /// Answers a vendor's subscription check on `hook` through its channel; `None` when the
    /// channel has none.
    pub async fn handshake(&self, request: &HandshakeRequest) -> Result<Option<HandshakeResponse>, HookError> {
        let pipeline = self.pipeline();
        let call = self.channel_call(&pipeline, &request.hook)?;
        call.plugin
            .handshake(request, &call.config, &call.options)
            .await
            .map_err(|failure| self.refusal(&request.hook, failure))
    }

    fn channel_call<'p>(
        &self,
        pipeline: &'p Pipeline,
        hook: &str,
    ) -> Result<super::pipeline::ChannelCall<'p>, HookError> {
        if pipeline.channels.get(hook).is_none() {
            return Err(self.unknown_hook(hook));
        }
        pipeline
            .channel_call("", Some(hook))
            .map_err(|e| HookError::Unavailable {
                hook: hook.to_owned(),
                reason: e.to_string(),
            })
    }

    /// A failed `verify` or `handshake`: the sender's fault when the plugin says the input is
    /// wrong (`permanent`), the channel's otherwise. Counted and logged with its reason.
    fn refusal(&self, hook: &str, failure: StepFailure) -> HookError {
        let hook = hook.to_owned();
        match failure {
            StepFailure::Plugin {
                error: PluginError::Permanent(reason),
                ..
            } => {
                self.metrics.rejected(&hook, "unauthenticated");
                tracing::warn!(hook = %hook, reason = %reason, "webhook refused");
                HookError::Rejected { hook, reason }
            }
            other => {
                self.metrics.rejected(&hook, "channel_unavailable");
                let reason = other.to_string();
                tracing::error!(hook = %hook, reason = %reason, "channel cannot check webhooks");
                HookError::Unavailable { hook, reason }
            }
        }
    }

    /// Processes what arrives until `shutdown` turns true, then finishes the round in hand and
    /// returns; the stream's loop runs beside it until then. Database failures are logged and
    /// tried again a second later.
    pub async fn run(&self, shutdown: watch::Receiver<bool>) {
        tokio::join!(self.process(shutdown.clone()), self.feed.run(shutdown));
    }

    async fn process(&self, mut shutdown: watch::Receiver<bool>) {
        loop {
            // Seen before the round: shutdown is asked for only once nothing more can be
            // kept, so a round that starts after it covers everything that was acknowledged.
            let stopping = *shutdown.borrow();
            // Registered before the round, so that a webhook kept during it wakes the next.
            let woken = self.wake.notified();
            tokio::pin!(woken);
            woken.as_mut().enable();
            let pause = match self.round().await {
                Ok(()) => {
                    self.feed.wake();
                    self.until_due().await
                }
                Err(error) => {
                    tracing::error!(error = %format!("{error:#}"), "live loop round failed; trying again");
                    ERROR_PAUSE
                }
            };
            if stopping {
                break;
            }
            tokio::select! {
                () = &mut woken => {}
                () = tokio::time::sleep(pause) => {}
                _ = shutdown.changed() => {}
            }
        }
        tracing::info!("live loop stopped");
    }

    /// How long to sleep: until the next timer or retry, at most [`MAX_SLEEP`].
    async fn until_due(&self) -> Duration {
        let timer = self.store.next_timer_due().await.ok().flatten();
        let retry = self.store.next_retry_at().await.ok().flatten();
        let next = match (timer, retry) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
        match next {
            Some(at) => Duration::from_millis((at - now_ms()).max(0) as u64).min(MAX_SLEEP),
            None => MAX_SLEEP,
        }
    }

    /// One round: parse every kept webhook, then drain the queue (due timers included), each
    /// parse batch and each claim with the pipeline current when it starts.
    pub async fn round(&self) -> anyhow::Result<()> {
        let started = std::time::Instant::now();
        let mut parsed = (0usize, 0u64);
        loop {
            let received = self.store.received_webhooks(self.options.parse_batch).await?;
            if received.is_empty() {
                break;
            }
            let pipeline = self.pipeline();
            let mut unit = self.store.unit().await?;
            let mut outcomes = Vec::with_capacity(received.len());
            for record in received {
                let hook = record.inbound.hook.clone().unwrap_or_default();
                let outcome = if pipeline.channels.get(&hook).is_some() {
                    ingest::parse_recorded(&mut unit, &pipeline, record.id, &record.channel, record.inbound).await?
                } else {
                    let reason = format!("hook `{hook}` is no longer in the channels file");
                    unit.dead_letter_inbound(record.id, &record.channel, &reason).await?;
                    Err(reason)
                };
                outcomes.push((hook, record.id, outcome));
            }
            unit.commit().await?;
            parsed.0 += outcomes.len();
            for (hook, id, outcome) in outcomes {
                match outcome {
                    Ok(messages) => {
                        parsed.1 += messages as u64;
                        self.metrics.messages_parsed.inc_by(messages as u64);
                    }
                    Err(reason) => {
                        Metrics::count(&self.metrics.webhooks_dead_lettered, &hook);
                        tracing::warn!(hook = %hook, inbound = id, reason = %reason, "webhook dead-lettered");
                    }
                };
            }
        }
        let options = &self.options.drain;
        let mut report = join(&self.store, options).await?;
        loop {
            let pipeline = self.pipeline();
            let (events, failed, retried, timers) = (report.events, report.failed, report.retried, report.timers);
            let progress = drain_step(&self.store, &pipeline, options, &mut report, &mut |_| {}).await?;
            self.metrics.events_processed.inc_by((report.events - events) as u64);
            self.metrics.events_failed.inc_by((report.failed - failed) as u64);
            self.metrics.events_retried.inc_by((report.retried - retried) as u64);
            self.metrics.timers_fired.inc_by((report.timers - timers) as u64);
            if progress == Progress::Done {
                break;
            }
        }
        if report.events > 0 {
            // Their decisions may have queued messages.
            self.outbox_queued();
        }
        for (event, reason) in &report.dead {
            tracing::warn!(event = *event, reason = %reason, "event dead-lettered");
        }
        for failed in &report.failed_steps {
            tracing::warn!(
                event = failed.event,
                workflow = %failed.workflow,
                step = %failed.step,
                ticket = ?failed.ticket,
                error = %failed.error,
                "step failed; the message landed without its decisions"
            );
        }
        if parsed.0 > 0 || report.events > 0 || report.timers > 0 {
            tracing::info!(
                webhooks = parsed.0,
                messages = parsed.1,
                events = report.events,
                failed = report.failed,
                retried = report.retried,
                steps_failed = report.failed_steps.len(),
                timers = report.timers,
                took_ms = started.elapsed().as_millis() as u64,
                "round done"
            );
        }
        Ok(())
    }

    /// `/metrics`: the counters, with the queue as the store says now.
    pub async fn metrics_text(&self) -> Result<String, StoreError> {
        let stats = self.store.queue_stats().await?;
        self.metrics.outbox.observe(&self.store.outbox_stats().await?);
        Ok(self.metrics.render(&stats, now_ms()))
    }
}
