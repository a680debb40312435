//! Draining the queue: claim a batch, process its events in one unit and commit them together,
//! retry what is worth retrying, dead-letter the rest, fire due timers; until nothing is left.
//!
//! Events share a transaction in groups of [`DrainOptions::events_per_commit`]: one commit
//! writes the pages those events touched once instead of once per event. When an event of a
//! group fails, the group is rolled back and its events are processed again one unit each, so
//! a failure still loses nothing and takes nothing else with it.
//!
//! Timers fire only once no event is ready, so that what they change (a deadline marked
//! breached, an escalation) comes between the same events whether a run went through at once
//! or was interrupted and resumed: a crash changes no result. A drain first joins the nodes of
//! the database (`store::node`), taking over at once the claims of a process that stopped.
//!
//! An event whose step fails for good (a permanent failure, or a retryable one after its last
//! try) is processed once more with [`Failures::Land`]: the failed step's decisions are left
//! out, the message lands on a customer and a ticket all the same, and the failure is
//! recorded on the ticket for `weft replay`. Only what is no step's failure (the database, a
//! reply that matches no ticket) still dead-letters the event.

use super::Pipeline;
use super::process::{Decided, FailedStep, Failures, Processed, StepError, StepRun, process_event};
use crate::metrics::Metrics;
use crate::store::node::Takeover;
use crate::store::queue::QueuedEvent;
use crate::store::{Store, Unit, now_ms};
use std::sync::Arc;
use std::time::Duration;
use tracing::Instrument;

/// Whether decisions are applied, or only shown.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Apply and commit, event by event.
    Apply,
    /// Process inside one transaction that is rolled back at the end: nothing is written.
    DryRun,
}

/// What a drain did.
#[derive(Debug, Default)]
pub struct DrainReport {
    pub events: usize,
    pub failed: usize,
    pub retried: usize,
    pub timers: usize,
    /// Every decision, in order, when asked for.
    pub decided: Vec<Decided>,
    /// Events that failed for good, with the reason.
    pub dead: Vec<(i64, String)>,
    /// Claims of processes that stopped, taken over.
    pub taken_over: Takeover,
    /// Events processed with one or more failed steps.
    pub with_failed_steps: usize,
    /// Every step that failed on an event that was processed anyway.
    pub failed_steps: Vec<FailedStep>,
    /// How many claims the drain made (each names its claim after this count).
    pub claims: u64,
}

/// How far a drain has come, for progress shown while it runs: counts since it began.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct DrainProgress {
    /// Events processed, those of the group not committed yet included (a group in which an
    /// event fails goes again one event at a time, so this can fall back).
    pub events: usize,
    /// Events processed with one or more failed steps.
    pub with_failed_steps: usize,
    /// Events dead-lettered.
    pub dead: usize,
    /// Events that failed and wait for another try.
    pub retried: usize,
    /// Timers fired.
    pub timers: usize,
}

impl DrainReport {
    /// The counts so far, with `uncommitted` events of the current group processed too.
    fn so_far(&self, uncommitted: usize) -> DrainProgress {
        DrainProgress {
            events: self.events + uncommitted,
            with_failed_steps: self.with_failed_steps,
            dead: self.failed,
            retried: self.retried,
            timers: self.timers,
        }
    }

    /// Adds what a committed event did; counts its step runs and failures in `metrics`.
    fn add(&mut self, processed: Processed, collect: bool, metrics: Option<&Metrics>) {
        if let Some(metrics) = metrics {
            metrics.step_runs(&processed.runs);
            for failed in &processed.failed {
                metrics.step_failed(&failed.workflow, &failed.step);
            }
        }
        if !processed.failed.is_empty() {
            self.with_failed_steps += 1;
        }
        self.failed_steps.extend(processed.failed);
        if collect {
            self.decided.extend(processed.decided);
        }
    }
}

/// How often a drain that has nothing to claim looks again while other nodes hold events.
const CLAIMED_ELSEWHERE_POLL: Duration = Duration::from_millis(250);

/// Options of a drain.
#[derive(Debug, Clone)]
pub struct DrainOptions {
    /// Names this node's claims: unique to this process (see `store::node`).
    pub node: String,
    /// How many events one claim takes: two groups of [`DrainOptions::events_per_commit`].
    pub batch: i64,
    /// How long a claim holds before another node may take the event, unless the node is known
    /// to have stopped before (see `store::node`).
    pub lease: Duration,
    /// Keep every decision in the report.
    pub collect: bool,
    /// Fire timers due by this time (ms); None fires those due by the wall clock. Timers fire
    /// when no event is ready.
    pub timers_until: Option<i64>,
    /// Retry attempts for failures outside a step (the database).
    pub store_attempts: i64,
    /// How many events share one transaction (1: a transaction each). Default 8,192: each
    /// event dirties a dozen index pages all over the file, and a commit writes every dirty page
    /// once, so the more events share a commit, the fewer pages each costs. Once an index has
    /// fewer leaf pages than a group has events, a commit rewrites nearly all of them, so with a
    /// fixed group the pages written per event grow with the store. On the identity benchmark
    /// (50,000 messages after 20,000 orders), commits took 1.7 s in groups of 128 and 1.0 s in
    /// groups of 512; once the writer no longer checkpoints (see `store::open_sqlite`), 0.36 s
    /// in groups of 2,048 (39 commits writing 68,500 pages) and 0.18 s in groups of 8,192 (12
    /// commits, 45,100 pages), the whole drain 5.81 s against 5.62 s (means of four alternating
    /// medians). A failing event costs a replay of its group, one event at a time, and a group
    /// holds the write lock throughout (about 1 s at this size on the benchmark).
    pub events_per_commit: usize,
    /// When nothing is ready but retries are pending: wait for them (a batch run) or return
    /// (the live loop of `weft serve`, which sleeps until the next retry, timer or arrival).
    pub wait_for_retries: bool,
    /// Where to count step runs, their latencies and failures by workflow and step, as each
    /// group commits (`weft serve`'s `/metrics`); None counts nothing.
    pub metrics: Option<Arc<Metrics>>,
}

impl Default for DrainOptions {
    fn default() -> Self {
        DrainOptions {
            node: crate::store::node::process_node_name().to_owned(),
            batch: 16_384,
            lease: Duration::from_secs(300),
            collect: false,
            timers_until: None,
            store_attempts: 3,
            events_per_commit: 8192,
            wait_for_retries: true,
            metrics: None,
        }
    }
}

fn attempts_and_backoff(pipeline: &Pipeline, error: &StepError, options: &DrainOptions) -> (i64, Duration) {
    if let (Some(workflow), Some(step), _) = error.place()
        && let Some(step) = pipeline
            .workflows
            .iter()
            .filter(|w| w.name == workflow)
            .flat_map(|w| w.steps.iter())
            .find(|s| s.id.to_string() == step)
    {
        return (i64::from(step.retry.attempts), step.retry.backoff);
    }
    (options.store_attempts, Duration::from_secs(1))
}

/// What one [`drain_step`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Progress {
    /// Claimed events and processed them: there may be more.
    Processed,
    /// Nothing was ready: fired due timers, or waited (for another node's claims or, with
    /// [`DrainOptions::wait_for_retries`], for a retry): look again.
    Again,
    /// Nothing was ready and nothing is due: the drain is over.
    Done,
}

/// Where a drain tells how far it has come: called after every event it processes and after
/// timers fire, on the drain's task, so it should be quick (a bar, a line now and then).
pub type Observer<'a> = &'a mut (dyn FnMut(&DrainProgress) + Send);

/// Processes queued events until none is ready (waiting out pending retries).
pub async fn drain(store: &Store, pipeline: &Pipeline, options: &DrainOptions) -> anyhow::Result<DrainReport> {
    drain_with(store, pipeline, options, &mut |_| {}).await
}

/// [`drain`], telling `progress` how far it has come.
pub async fn drain_with(
    store: &Store,
    pipeline: &Pipeline,
    options: &DrainOptions,
    progress: Observer<'_>,
) -> anyhow::Result<DrainReport> {
    let mut report = join(store, options).await?;
    while drain_step(store, pipeline, options, &mut report, &mut *progress).await? != Progress::Done {}
    Ok(report)
}

/// Joins the nodes of the database before a drain (see `store::node`), taking over at once
/// the claims of a process that stopped: the report a drain starts with.
pub async fn join(store: &Store, options: &DrainOptions) -> anyhow::Result<DrainReport> {
    Ok(DrainReport {
        taken_over: store
            .join(
                &options.node,
                &|holder| tracing::warn!(%holder, "another process drains this database: waiting for it to finish"),
            )
            .await?,
        ..DrainReport::default()
    })
}

/// One step of a drain: claims a batch and processes it in groups; or, with nothing ready,
/// fires due timers or waits. [`drain`] repeats it with one pipeline; the live loop of `weft
/// serve` calls it with the pipeline current at each step, so a reloaded workflow takes over
/// between claims (a claim of the live loop is one group). `progress` hears of every event
/// processed and of timers fired.
pub async fn drain_step(
    store: &Store,
    pipeline: &Pipeline,
    options: &DrainOptions,
    report: &mut DrainReport,
    progress: Observer<'_>,
) -> anyhow::Result<Progress> {
    report.taken_over.add(store.take_over_stopped().await?);
    report.claims += 1;
    let claim = format!("{}:{}", options.node, report.claims);
    let events = store
        .claim(&claim, options.batch, options.lease.as_millis() as i64)
        .await?;
    if events.is_empty() {
        // Events another node holds come first: timers fire after every event before them.
        if store.claimed_elsewhere(&options.node).await? > 0 {
            tracing::info!("waiting for events that another node claimed");
            tokio::time::sleep(CLAIMED_ELSEWHERE_POLL).await;
            return Ok(Progress::Again);
        }
        let mut unit = store.unit().await?;
        let fired = unit
            .fire_due_timers(options.timers_until.unwrap_or_else(now_ms), options.batch)
            .await?;
        unit.commit().await?;
        report.timers += fired.len();
        if !fired.is_empty() {
            progress(&report.so_far(0));
            return Ok(Progress::Again);
        }
        return match store.next_retry_at().await? {
            Some(at) if options.wait_for_retries => {
                let wait = (at - now_ms()).clamp(1, 60_000) as u64;
                tokio::time::sleep(Duration::from_millis(wait)).await;
                Ok(Progress::Again)
            }
            _ => Ok(Progress::Done),
        };
    }
    for group in events.chunks(options.events_per_commit.max(1)) {
        if group.len() > 1 && process_together(store, pipeline, options, group, report, &mut *progress).await? {
            continue;
        }
        for event in group {
            process_one(store, pipeline, options, event, report).await?;
            progress(&report.so_far(0));
        }
    }
    Ok(Progress::Processed)
}

/// Processes `group` in one unit and commits it. Returns false, having rolled everything
/// back, when one of its events failed: the caller then processes them one by one.
async fn process_together(
    store: &Store,
    pipeline: &Pipeline,
    options: &DrainOptions,
    group: &[QueuedEvent],
    report: &mut DrainReport,
    progress: Observer<'_>,
) -> anyhow::Result<bool> {
    let mut unit = store.unit().await?;
    let mut decided = Vec::new();
    let mut runs: Vec<StepRun> = Vec::new();
    for (done, event) in group.iter().enumerate() {
        let span = tracing::info_span!("event", id = event.id, kind = %event.kind);
        let result;
        (unit, result) = process_event(unit, pipeline, event, Failures::FailEvent)
            .instrument(span)
            .await;
        match result {
            Ok(mut processed) => {
                if options.collect {
                    decided.append(&mut processed.decided);
                }
                if options.metrics.is_some() {
                    runs.append(&mut processed.runs);
                }
                progress(&report.so_far(done + 1));
            }
            Err(error) => {
                tracing::debug!(event = event.id, %error, "an event of a group failed: the group goes again one by one");
                roll_back(unit, &error).await?;
                return Ok(false);
            }
        }
    }
    // The group's decision log, written now so that a failure there (a step claimed twice)
    // sends the group one by one like any failed event.
    if let Err(error) = unit.flush_log().await {
        tracing::debug!(%error, "the decision log of a group failed: the group goes again one by one");
        roll_back(unit, &error).await?;
        return Ok(false);
    }
    unit.commit().await?;
    report.events += group.len();
    report.decided.append(&mut decided);
    if let Some(metrics) = &options.metrics {
        metrics.step_runs(&runs);
    }
    Ok(true)
}

/// Rolls `unit` back after `cause`. Should that fail too, the error says `cause` first: it is
/// why the unit ended, and the failed rollback only what came of it.
async fn roll_back(unit: Unit, cause: &(dyn std::fmt::Display + Sync)) -> anyhow::Result<()> {
    unit.rollback()
        .await
        .map_err(|error| anyhow::anyhow!("{cause} (and rolling back failed too: {error})"))
}

/// [`process_event`] with the event's decision log written, so that a failure there (a step
/// claimed twice) is the event's failure.
async fn process_and_log(
    unit: Unit,
    pipeline: &Pipeline,
    event: &QueuedEvent,
    failures: Failures,
) -> (Unit, Result<Processed, StepError>) {
    let (mut unit, result) = process_event(unit, pipeline, event, failures).await;
    let result = match result {
        Ok(processed) => unit.flush_log().await.map(|()| processed).map_err(StepError::from),
        Err(error) => Err(error),
    };
    (unit, result)
}

async fn process_one(
    store: &Store,
    pipeline: &Pipeline,
    options: &DrainOptions,
    event: &QueuedEvent,
    report: &mut DrainReport,
) -> anyhow::Result<()> {
    let span = tracing::info_span!("event", id = event.id, kind = %event.kind);
    let _enter = span.enter();
    report.events += 1;
    let unit = store.unit().await?;
    let (unit, result) = process_and_log(unit, pipeline, event, Failures::FailEvent).await;
    let error = match result {
        Ok(processed) => {
            unit.commit().await?;
            report.add(processed, options.collect, options.metrics.as_deref());
            return Ok(());
        }
        Err(error) => {
            roll_back(unit, &error).await?;
            error
        }
    };
    let message = error.to_string();
    let (attempts, backoff) = attempts_and_backoff(pipeline, &error, options);
    if error.is_retryable() && event.attempts + 1 < attempts {
        let delay = backoff
            .saturating_mul(1 << event.attempts.clamp(0, 16) as u32)
            .max(error.retry_after().unwrap_or_default());
        tracing::warn!(error = %message, attempt = event.attempts + 1, "event failed, will retry");
        store.retry_later(event.id, delay.as_millis() as i64, &message).await?;
        report.retried += 1;
        return Ok(());
    }
    // A step failed for good: the event goes through again, each step on its own, so that the
    // message still lands and the failure is kept on its ticket.
    let error = if error.is_step_failure() {
        let unit = store.unit().await?;
        let (unit, result) = process_and_log(unit, pipeline, event, Failures::Land).await;
        match result {
            Ok(processed) => {
                unit.commit().await?;
                report.add(processed, options.collect, options.metrics.as_deref());
                return Ok(());
            }
            Err(error) => {
                roll_back(unit, &error).await?;
                error
            }
        }
    } else {
        error
    };
    let message = error.to_string();
    tracing::warn!(error = %message, "event dead-lettered");
    let (workflow, step, plugin) = error.place();
    store
        .dead_letter_event(event.id, workflow, step, plugin, &message)
        .await?;
    if let (Some(metrics), Some(workflow), Some(step)) = (&options.metrics, workflow, step) {
        metrics.step_failed(workflow, step);
    }
    report.failed += 1;
    report.dead.push((event.id, message));
    Ok(())
}

/// Processes every pending event inside `unit`, each in a savepoint, its steps as
/// [`Failures::Land`] says (without retries): an event that fails all the same is rolled back
/// alone and dead-lettered inside the unit. For dry runs; the caller rolls `unit` back.
pub async fn drain_within(mut unit: Unit, pipeline: &Pipeline, batch: i64) -> (Unit, anyhow::Result<DrainReport>) {
    let mut report = DrainReport::default();
    let mut after = 0;
    loop {
        let events = match unit.pending_after(after, batch).await {
            Ok(events) if events.is_empty() => break,
            Ok(events) => events,
            Err(e) => return (unit, Err(e.into())),
        };
        for event in events {
            after = event.id;
            report.events += 1;
            if let Err(e) = unit.savepoint().await {
                return (unit, Err(e.into()));
            }
            let result;
            (unit, result) = process_and_log(unit, pipeline, &event, Failures::Land).await;
            let step = match result {
                Ok(processed) => {
                    report.add(processed, true, None);
                    unit.release().await
                }
                Err(error) => {
                    let message = error.to_string();
                    report.failed += 1;
                    report.dead.push((event.id, message.clone()));
                    let (workflow, step, plugin) = error.place();
                    let (workflow, step, plugin) = (
                        workflow.map(str::to_owned),
                        step.map(str::to_owned),
                        plugin.map(str::to_owned),
                    );
                    match unit.rollback_to_savepoint().await {
                        Ok(()) => {
                            unit.dead_letter_event(
                                event.id,
                                workflow.as_deref(),
                                step.as_deref(),
                                plugin.as_deref(),
                                &message,
                            )
                            .await
                        }
                        Err(e) => Err(e),
                    }
                }
            };
            if let Err(e) = step {
                return (unit, Err(e.into()));
            }
        }
    }
    (unit, Ok(report))
}

/// What [`replay_failed_steps`] did.
#[derive(Debug, Default)]
pub struct ReplayReport {
    /// Events whose failed steps were run again.
    pub events: usize,
    /// Failed steps that now succeeded, their decisions applied.
    pub resolved: usize,
    /// Failed steps that failed again (their records updated, not added to).
    pub failed_again: Vec<FailedStep>,
}

/// Runs the open step failures (all, or those with the given ids) again, event by event, each
/// event in a unit of its own (see [`super::process::replay_event`]). Events the replayed
/// steps derive (`ticket.merged`, ...) are queued; drain the queue afterwards.
pub async fn replay_failed_steps(store: &Store, pipeline: &Pipeline, ids: &[i64]) -> anyhow::Result<ReplayReport> {
    let failures = store.open_step_failures(ids).await?;
    let mut by_event: std::collections::BTreeMap<i64, Vec<_>> = std::collections::BTreeMap::new();
    for failure in failures {
        by_event.entry(failure.event).or_default().push(failure);
    }
    let mut report = ReplayReport::default();
    for (event, failures) in by_event {
        let mut unit = store.unit().await?;
        let Some(queued) = unit.event_by_id(event).await? else {
            anyhow::bail!("step failure {}: event {event} does not exist", failures[0].id);
        };
        let (mut unit, result) = super::process::replay_event(unit, pipeline, &queued, &failures).await;
        let result = match result {
            Ok(replayed) => unit.flush_log().await.map(|()| replayed).map_err(StepError::from),
            Err(error) => Err(error),
        };
        match result {
            Ok(replayed) => {
                unit.commit().await?;
                report.events += 1;
                report.resolved += replayed.resolved;
                report.failed_again.extend(replayed.failed_again);
            }
            Err(error) => {
                unit.rollback().await?;
                return Err(anyhow::anyhow!(error).context(format!("replaying the failed steps of event {event}")));
            }
        }
    }
    Ok(report)
}
