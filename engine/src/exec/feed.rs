//! The live stream of `weft serve` without HTTP: what changed on tickets (their rows and
//! deadlines, new messages both ways, replies queued and delivered, who is viewing or typing),
//! read from the store's change log and handed to every subscriber; and presence, with its
//! expiry.
//!
//! The change log is written by the database itself in the transaction that changes something
//! (`store::changes`), whoever writes: this node's live loop or API, a command, another node.
//! One loop per process ([`Feed::run`]) reads it in commit order, sweeps expired presence,
//! turns each change into what a client is shown, and broadcasts it in memory to this
//! process's subscribers. It reads when this process says something changed ([`Feed::wake`]:
//! after each round of the live loop, after each API request that writes, after a presence is
//! set) and otherwise every
//! [`FeedOptions::poll`], which bounds how late another node's change reaches this node's
//! clients. A subscriber that starts at a position ([`Feed::subscribe`], a client's
//! `Last-Event-ID`), or that falls more than [`FeedOptions::buffer`] changes behind, reads what
//! it missed from the log, then goes on with the broadcast; positions make the seam exact.

use crate::store::changes::{ChangeKind, ChangeRow, MessageHead, Position};
use crate::store::presence::{Presence, PresenceState};
use crate::store::tickets::{OutboxRow, TicketDeadline, TicketRow};
use crate::store::{Store, StoreError, now_ms};
use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::sync::{Notify, broadcast, watch};

/// How many change rows one read takes.
const BATCH: i64 = 512;
/// How long the loop waits before reading again after the database failed.
const ERROR_PAUSE: Duration = Duration::from_secs(1);
/// How often change rows older than [`FeedOptions::retention`] are deleted.
const PRUNE_EVERY: Duration = Duration::from_secs(60);

/// How the stream and presence work.
#[derive(Debug, Clone)]
pub struct FeedOptions {
    /// How often the change log is read when this process saw nothing change: the most a
    /// change made by another node (or a command) waits before this node's clients get it, and
    /// how late an expired presence is reported.
    pub poll: Duration,
    /// How long a presence lasts unless the agent's client renews it.
    pub presence_ttl: Duration,
    /// How long changes are kept for clients that resume (`Last-Event-ID`).
    pub retention: Duration,
    /// How many changes a slow subscriber may fall behind before it reads them from the store.
    pub buffer: usize,
}

impl Default for FeedOptions {
    fn default() -> Self {
        FeedOptions {
            poll: Duration::from_millis(250),
            presence_ttl: Duration::from_secs(30),
            retention: Duration::from_secs(3600),
            buffer: 1024,
        }
    }
}

/// What changed, as a client is shown it: the state now, not the difference.
#[derive(Debug, Clone, PartialEq)]
pub enum Change {
    /// A ticket's row (its version included) or one of its deadlines changed.
    Ticket {
        ticket: Box<TicketRow>,
        deadlines: Vec<TicketDeadline>,
    },
    /// A message joined a ticket: a buyer's, a reply delivered, an automatic one.
    Message(Box<MessageHead>),
    /// A reply was queued in the outbox, or its delivery moved on (`sent`, `failed`, ...).
    Reply(Box<OutboxRow>),
    /// Who is on the ticket now changed.
    Presence { ticket: i64, agents: Vec<Presence> },
}

/// One change, with its place in the log.
#[derive(Debug, Clone, PartialEq)]
pub struct Published {
    /// Resume after this to get every later change.
    pub position: Position,
    pub ticket: i64,
    pub change: Change,
}

/// The stream's loop, its subscribers' bus, and presence.
#[derive(Debug)]
pub struct Feed {
    store: Store,
    options: FeedOptions,
    bus: broadcast::Sender<Arc<Published>>,
    /// Where publishing stands: every change at or before it was sent on the bus. None until
    /// the loop has started. Locked while a read's changes are sent, so that a subscriber's
    /// start and what it then receives fit together.
    published: Mutex<Option<Position>>,
    started: Notify,
    wake: Notify,
    /// Set when the server stops: subscriptions end, so their responses can finish.
    closed: watch::Sender<bool>,
}

impl Feed {
    pub fn new(store: Store, options: FeedOptions) -> Feed {
        let (bus, _) = broadcast::channel(options.buffer.max(1));
        Feed {
            store,
            options,
            bus,
            published: Mutex::new(None),
            started: Notify::new(),
            wake: Notify::new(),
            closed: watch::Sender::new(false),
        }
    }

    pub fn options(&self) -> &FeedOptions {
        &self.options
    }

    /// Says that something may have changed: the loop reads the log now rather than at its next
    /// poll.
    pub fn wake(&self) {
        self.wake.notify_one();
    }

    /// Ends every subscription (the server is stopping); the loop itself runs until its
    /// shutdown.
    pub fn close(&self) {
        self.closed.send_replace(true);
    }

    /// Reads and publishes changes until `shutdown` turns true. Database failures are logged
    /// and tried again a second later.
    pub async fn run(&self, mut shutdown: watch::Receiver<bool>) {
        let mut position = loop {
            match self.store.change_start().await {
                Ok(position) => break position,
                Err(error) => {
                    tracing::error!(%error, "the stream cannot find where the change log ends; trying again");
                    tokio::select! {
                        () = tokio::time::sleep(ERROR_PAUSE) => {}
                        _ = shutdown.changed() => return,
                    }
                }
            }
        };
        *self.published.lock().expect("feed lock") = Some(position);
        self.started.notify_waiters();
        tracing::info!(%position, "stream started");
        let mut pruned = Instant::now();
        loop {
            let woken = self.wake.notified();
            tokio::pin!(woken);
            woken.as_mut().enable();
            let pause = match self.publish(&mut position).await {
                Ok(true) => continue,
                Ok(false) => self.options.poll,
                Err(error) => {
                    tracing::error!(%error, "the stream could not read the change log; trying again");
                    ERROR_PAUSE
                }
            };
            if pruned.elapsed() >= PRUNE_EVERY {
                pruned = Instant::now();
                let before = now_ms() - self.options.retention.as_millis() as i64;
                match self.store.prune_changes(before).await {
                    Ok(0) => {}
                    Ok(n) => tracing::debug!(rows = n, "old changes pruned"),
                    Err(error) => tracing::warn!(%error, "old changes could not be pruned"),
                }
            }
            if *shutdown.borrow() {
                break;
            }
            tokio::select! {
                () = &mut woken => {}
                () = tokio::time::sleep(pause) => {}
                _ = shutdown.changed() => {}
            }
        }
        tracing::info!("stream stopped");
    }

    /// One read: expired presence swept, then the final changes after `position` published.
    /// Whether there may be more to read at once.
    async fn publish(&self, position: &mut Position) -> Result<bool, StoreError> {
        let expired = self.store.expire_presence(now_ms()).await?;
        if expired > 0 {
            tracing::debug!(expired, "presence expired");
        }
        let horizon = self.store.change_horizon().await?;
        let through = Position {
            txn: horizon - 1,
            id: i64::MAX,
        };
        let rows = self.store.changes(*position, through, None, BATCH).await?;
        let Some(last) = rows.last().map(|r| r.position) else {
            return Ok(false);
        };
        let more = rows.len() as i64 == BATCH;
        let changes = self.load(rows).await?;
        let mut published = self.published.lock().expect("feed lock");
        for change in changes {
            // No subscriber is no error.
            let _ = self.bus.send(Arc::new(change));
        }
        *published = Some(last);
        *position = last;
        Ok(more)
    }

    /// What the clients are shown of `rows`: each ticket's and each presence's latest state
    /// once (at the position of its last row), each message once.
    async fn load(&self, rows: Vec<ChangeRow>) -> Result<Vec<Published>, StoreError> {
        let mut last = HashMap::new();
        for (index, row) in rows.iter().enumerate() {
            last.insert((row.kind, row.ticket, row.item), index);
        }
        let now = now_ms();
        let mut out = Vec::with_capacity(last.len());
        for (index, row) in rows.into_iter().enumerate() {
            if last[&(row.kind, row.ticket, row.item)] != index {
                continue;
            }
            let change = match (row.kind, row.item) {
                (ChangeKind::Ticket, _) => match self.store.ticket_row(row.ticket).await? {
                    Some(ticket) => Some(Change::Ticket {
                        deadlines: self.store.ticket_deadlines(row.ticket).await?,
                        ticket: Box::new(ticket),
                    }),
                    None => None,
                },
                (ChangeKind::Message, Some(id)) => {
                    self.store.message_head(id).await?.map(|m| Change::Message(Box::new(m)))
                }
                (ChangeKind::Reply, Some(id)) => self.store.outbox_row(id).await?.map(|r| Change::Reply(Box::new(r))),
                (ChangeKind::Message | ChangeKind::Reply, None) => None,
                (ChangeKind::Presence, _) => {
                    self.store
                        .presence(row.ticket, now)
                        .await?
                        .map(|agents| Change::Presence {
                            ticket: row.ticket,
                            agents,
                        })
                }
            };
            if let Some(change) = change {
                let ticket = match &change {
                    Change::Ticket { ticket, .. } => ticket.number,
                    Change::Message(head) => head.ticket,
                    Change::Reply(reply) => reply.ticket.unwrap_or(row.ticket),
                    Change::Presence { ticket, .. } => *ticket,
                };
                out.push(Published {
                    position: row.position,
                    ticket,
                    change,
                });
            }
        }
        Ok(out)
    }

    /// The bus and where publishing stands, together; waits for the loop to start.
    async fn attach(&self) -> Option<(broadcast::Receiver<Arc<Published>>, Position)> {
        let mut closed = self.closed.subscribe();
        loop {
            let started = self.started.notified();
            tokio::pin!(started);
            started.as_mut().enable();
            if *closed.borrow_and_update() {
                return None;
            }
            if let Some(position) = *self.published.lock().expect("feed lock") {
                return Some((self.bus.subscribe(), position));
            }
            tokio::select! {
                () = started => {}
                _ = closed.changed() => {}
            }
        }
    }

    /// A subscription to every change from now on, or, given `after` (a position a client
    /// was sent), every change after it that is still kept; of one ticket when `ticket` is
    /// given. None when the server is stopping.
    pub async fn subscribe(self: &Arc<Self>, after: Option<Position>, ticket: Option<i64>) -> Option<Subscription> {
        let (bus, now) = self.attach().await?;
        let start = after.unwrap_or(now);
        Some(Subscription {
            feed: Arc::clone(self),
            bus,
            start,
            cursor: start,
            catch_up: (start < now).then_some(now),
            backlog: VecDeque::new(),
            ticket,
            closed: self.closed.subscribe(),
        })
    }

    /// Records that `agent` is in `state` on ticket `ticket` for [`FeedOptions::presence_ttl`]
    /// from now, and returns who is on it; None when there is no such ticket.
    pub async fn set_presence(
        &self,
        ticket: i64,
        agent: &str,
        state: PresenceState,
    ) -> Result<Option<Vec<Presence>>, StoreError> {
        let now = now_ms();
        let expires_at = now + self.options.presence_ttl.as_millis() as i64;
        if !self.store.set_presence(ticket, agent, state, now, expires_at).await? {
            return Ok(None);
        }
        self.wake();
        self.store.presence(ticket, now).await
    }

    /// `agent` leaves ticket `ticket`; who is still on it, None when there is no such ticket.
    pub async fn leave(&self, ticket: i64, agent: &str) -> Result<Option<Vec<Presence>>, StoreError> {
        if self.store.clear_presence(ticket, agent).await? {
            self.wake();
        }
        self.store.presence(ticket, now_ms()).await
    }

    /// Who is on ticket `ticket` now; None when there is no such ticket.
    pub async fn presence(&self, ticket: i64) -> Result<Option<Vec<Presence>>, StoreError> {
        self.store.presence(ticket, now_ms()).await
    }
}

/// One client's view of the stream: the changes after its start, in order, each once.
#[derive(Debug)]
pub struct Subscription {
    feed: Arc<Feed>,
    bus: broadcast::Receiver<Arc<Published>>,
    start: Position,
    /// Every change at or before this was handed out or passed over.
    cursor: Position,
    /// Changes up to here are read from the store before the bus is listened to again.
    catch_up: Option<Position>,
    backlog: VecDeque<Arc<Published>>,
    ticket: Option<i64>,
    closed: watch::Receiver<bool>,
}

impl Subscription {
    /// Where the subscription started: a client that resumes from here misses nothing.
    pub fn start(&self) -> Position {
        self.start
    }

    /// The next change; None once the server stops (or the store failed while this
    /// subscription caught up: the client resumes from the last position it got).
    pub async fn next(&mut self) -> Option<Arc<Published>> {
        loop {
            if *self.closed.borrow_and_update() {
                return None;
            }
            if let Some(change) = self.backlog.pop_front() {
                return Some(change);
            }
            if let Some(through) = self.catch_up {
                let feed = &self.feed;
                let rows = match feed.store.changes(self.cursor, through, self.ticket, BATCH).await {
                    Ok(rows) => rows,
                    Err(error) => {
                        tracing::warn!(%error, "a stream client could not catch up; it may resume");
                        return None;
                    }
                };
                if (rows.len() as i64) < BATCH {
                    self.catch_up = None;
                    self.cursor = through;
                } else if let Some(last) = rows.last() {
                    self.cursor = last.position;
                }
                match feed.load(rows).await {
                    Ok(changes) => self.backlog.extend(changes.into_iter().map(Arc::new)),
                    Err(error) => {
                        tracing::warn!(%error, "a stream client could not catch up; it may resume");
                        return None;
                    }
                }
                continue;
            }
            let received = tokio::select! {
                received = self.bus.recv() => received,
                // Seen at the top of the loop.
                _ = self.closed.changed() => continue,
            };
            match received {
                Ok(change) => {
                    if change.position <= self.cursor {
                        continue;
                    }
                    self.cursor = change.position;
                    if self.ticket.is_some_and(|t| t != change.ticket) {
                        continue;
                    }
                    return Some(change);
                }
                Err(broadcast::error::RecvError::Lagged(missed)) => {
                    tracing::info!(
                        missed,
                        "a stream client fell behind; reading what it missed from the store"
                    );
                    let (bus, now) = self.feed.attach().await?;
                    self.bus = bus;
                    self.catch_up = Some(now);
                }
                Err(broadcast::error::RecvError::Closed) => return None,
            }
        }
    }
}
