//! The poller of `weft serve`: channels whose vendor has no webhooks (an orders API, a message
//! API) are asked for what is new at the interval their mount sets (`poll:` in the channels
//! file), through their plugin's `poll`.
//!
//! **Neither skipped nor repeated.** Each hook's cursor is a row ([`crate::store::orders`]).
//! A poll starts from the cursor kept; what it brings is kept as traffic (the items as JSON,
//! with the cursor they were asked from), queued (messages, orders, shipment updates, facts,
//! through the same path as a webhook's) and the next cursor written, all in one transaction.
//! A restart before the commit asks again from the same cursor; after it, from the next.
//!
//! **Unreadable traffic is kept, not queued.** An item of kind [`weft_sdk::UNREADABLE`] (a
//! malformed message a channel took off its queue) becomes a dead letter of the hook with its
//! reason, in the same transaction; `weft replay` parses it again through the channel.
//!
//! **A failing poll loses nothing.** The cursor stays; the failure is counted and the next try
//! waits about twice as long each time (from the interval, at most [`MAX_BACKOFF`], with
//! jitter between half and all of it), never less than a vendor's `Retry-After`. The reason is logged with the hook and kept with the cursor.
//!
//! Polls run one hook at a time, each under the channel's time limit; the pipeline current
//! when a hook's turn comes is used, so a changed channels file takes effect at the next poll.

use super::Live;
use crate::runtime::{PluginError, StepFailure};
use crate::store::ingest::Recorded;
use crate::store::{Store, now_ms};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::watch;
use weft_sdk::{Inbound, Item, Polled};

/// The longest a failing hook waits before it is polled again.
pub const MAX_BACKOFF: Duration = Duration::from_secs(60 * 60);
/// How often the poller looks for a hook whose turn has come.
const TICK: Duration = Duration::from_millis(250);

/// What one poll of a hook came to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Polling {
    /// Not due yet (or not a polled hook).
    NotDue,
    /// Polled: how many items were new, and where the next poll starts.
    Done { items: usize, cursor: Option<String> },
    /// The poll failed; the cursor stays, and the next try is not before `next_at`.
    Failed { reason: String, next_at: i64 },
}

/// Polls the channels that ask for it until shutdown.
pub struct Poller {
    live: Arc<Live>,
}

impl Poller {
    pub fn new(live: Arc<Live>) -> Self {
        Poller { live }
    }

    /// Polls each hook whose turn has come, until `shutdown` turns true.
    pub async fn run(self, mut shutdown: watch::Receiver<bool>) {
        loop {
            if *shutdown.borrow() {
                break;
            }
            let pipeline = self.live.pipeline();
            let hooks: Vec<(String, Duration)> = pipeline
                .channels
                .mounts
                .iter()
                .filter_map(|mount| mount.poll.map(|every| (mount.id.to_string(), every)))
                .collect();
            for (hook, every) in hooks {
                match poll_hook(&self.live, &hook, every, now_ms()).await {
                    Ok(Polling::Done { items, .. }) if items > 0 => self.live.wake(),
                    Ok(_) => {}
                    Err(error) => {
                        tracing::error!(hook = %hook, error = %format!("{error:#}"), "poll could not be kept; trying again")
                    }
                }
            }
            tokio::select! {
                () = tokio::time::sleep(TICK) => {}
                _ = shutdown.changed() => {}
            }
        }
        tracing::info!("poller stopped");
    }
}

/// Polls `hook` if its turn has come at `now` (its last poll `every` ago, or its backoff
/// over): keeps what the poll brought and the next cursor in one transaction, or the failure.
/// An error is the store's: nothing was kept, and the cursor stays.
pub async fn poll_hook(live: &Live, hook: &str, every: Duration, now: i64) -> anyhow::Result<Polling> {
    let store = live.store();
    let state = {
        let mut unit = store.unit().await?;
        let state = unit.poll_state(hook).await?;
        unit.commit().await?;
        state
    };
    if state.next_at > now {
        return Ok(Polling::NotDue);
    }
    let pipeline = live.pipeline();
    let Some(mount) = pipeline.channels.get(hook) else {
        return Ok(Polling::NotDue);
    };
    let call = pipeline.channel_call("", Some(hook))?;
    let polled = call
        .plugin
        .poll(state.cursor.as_deref(), &call.config, &call.options)
        .await;
    let polled = match polled {
        Ok(Some(polled)) => polled,
        Ok(None) => {
            let reason = format!(
                "channel plugin `{}` of hook `{hook}` does not poll, but its mount sets `poll:`",
                mount.uses
            );
            return failed(store, hook, reason, state.failures, every, None, now).await;
        }
        Err(failure) => {
            let wait = match &failure {
                StepFailure::Plugin {
                    error: PluginError::RetryLater { after, .. },
                    ..
                } => Some(*after),
                _ => None,
            };
            let reason = format!("the poll of hook `{hook}` failed: {failure}");
            return failed(store, hook, reason, state.failures, every, wait, now).await;
        }
    };
    let next_at = now.saturating_add(every.as_millis() as i64);
    let mut unit = store.unit().await?;
    let mut items = 0;
    // What the channel could not read is kept as dead letters of the hook, not queued.
    let (unreadable, readable): (Vec<Item>, Vec<Item>) = polled
        .items
        .iter()
        .cloned()
        .partition(|item| item.as_unreadable().is_some());
    for item in &unreadable {
        let Some((source, reason, body, content_type)) = item.as_unreadable() else {
            continue;
        };
        let inbound = Inbound {
            source: format!("poll:{hook}:{source}"),
            hook: Some(hook.to_owned()),
            received_at: now,
            content_type: content_type.map(str::to_owned),
            headers: Vec::new(),
            body: body.as_bytes().to_vec(),
        };
        let reason = format!("poll of hook `{hook}`, {source}: {reason}");
        if unit
            .keep_unreadable(hook, mount.uses.as_str(), &inbound, &reason)
            .await?
        {
            tracing::warn!(hook, source, reason = %reason, "polled traffic could not be read: kept as a dead letter");
        }
    }
    let polled = Polled {
        items: readable,
        cursor: polled.cursor,
    };
    if !polled.items.is_empty() {
        let inbound = poll_inbound(hook, state.cursor.as_deref(), &polled, now);
        let id = match unit.record_inbound(mount.uses.as_str(), &inbound).await? {
            Recorded::New(id) | Recorded::Retry(id) => Some(id),
            // The same items from the same cursor: kept and queued by an earlier poll.
            Recorded::AlreadyParsed(_) => None,
        };
        if let Some(id) = id {
            let done = unit.enqueue_items(id, &polled.items, now).await?;
            items = done.new + done.facts;
        }
    }
    unit.poll_succeeded(hook, polled.cursor.as_deref(), now, next_at)
        .await?;
    unit.commit().await?;
    if items > 0 {
        tracing::info!(hook, items, cursor = ?polled.cursor, "polled");
    }
    Ok(Polling::Done {
        items,
        cursor: polled.cursor,
    })
}

/// Keeps a failed poll: the cursor stays, and the next try waits between half and all of
/// `every × 2^failures` (at most [`MAX_BACKOFF`]), never less than the vendor asked.
async fn failed(
    store: &Store,
    hook: &str,
    reason: String,
    failures: i64,
    every: Duration,
    at_least: Option<Duration>,
    now: i64,
) -> anyhow::Result<Polling> {
    let doubled = every
        .saturating_mul(1u32 << failures.clamp(0, 16) as u32)
        .min(MAX_BACKOFF);
    // Equal jitter: between half and all of the doubled wait, so that hooks of one vendor that
    // failed together (an outage) do not all come back in the same second.
    let half = doubled.as_millis() as u64 / 2;
    let jittered = Duration::from_millis(half + fastrand::u64(0..=half));
    let wait = jittered.max(at_least.unwrap_or_default());
    let next_at = now.saturating_add(wait.as_millis() as i64);
    tracing::warn!(hook, reason = %reason, retry_in_ms = wait.as_millis() as u64, "poll failed");
    let mut unit = store.unit().await?;
    unit.poll_failed(hook, &reason, next_at).await?;
    unit.commit().await?;
    Ok(Polling::Failed { reason, next_at })
}

/// What a poll brought, kept as traffic of its hook: the items as JSON, with the cursor they
/// were asked from (so the same answer to the same cursor is recognized as kept). The row
/// names the hook like a webhook's, so a reply to a polled message goes back through the
/// mount that polled it (`ebay-de` answers its own buyers), and a vendor's event id is
/// recognized per mount; it is parsed in the transaction that keeps it, so the live loop never
/// takes it for a webhook still to parse.
fn poll_inbound(hook: &str, cursor: Option<&str>, polled: &Polled, now: i64) -> Inbound {
    let items: Vec<serde_json::Value> = polled.items.iter().map(item_json).collect();
    let body = serde_json::json!({ "hook": hook, "cursor": cursor, "next_cursor": polled.cursor, "items": items });
    Inbound {
        source: format!("poll:{hook}"),
        hook: Some(hook.to_owned()),
        received_at: now,
        content_type: Some("application/json".into()),
        headers: Vec::new(),
        body: body.to_string().into_bytes(),
    }
}

/// One polled item as JSON, tagged with what it is.
fn item_json(item: &Item) -> serde_json::Value {
    match item {
        Item::Message(message) => serde_json::json!({ "message": message }),
        Item::Order { change, order, id } => serde_json::json!({ "kind": change.kind(), "order": order, "id": id }),
        Item::Shipment(update) => serde_json::json!({ "shipment": update }),
        Item::Fact { kind, at, payload, id } => {
            serde_json::json!({ "kind": kind, "at": at, "payload": payload, "id": id })
        }
    }
}
