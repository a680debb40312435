//! The executor: traffic in, events through workflows, decisions applied.
//!
//! Steps decide, the executor acts. For each queued event it opens a [`Unit`](crate::store::Unit),
//! runs every matching workflow's steps in order, lends the unit to each step as its read-only
//! context, applies the step's decisions inside the unit (so the next step sees them), logs
//! every decision with its reason, and commits once. A step that fails rolls the whole event
//! back; the event is retried if the failure is worth retrying. A step that fails for good
//! does not cost the buyer's message its place: the event goes through again with that step's
//! decisions left out, the message lands on a customer and a ticket, and the failure is kept
//! on the ticket until `weft replay` runs the step again. What is no step's failure is
//! dead-lettered; the executor goes on with the next event.
//!
//! # Layout
//! - [`pipeline`]: the loaded plugins and workflows a run uses.
//! - [`records`]: input files cut into bounded pieces (chunks of lines, mails of an mbox).
//! - [`ingest`]: files and folders in, piece by piece, through channel plugins, into the queue.
//! - [`orders`]: the seller's orders in, as `order.placed` events.
//! - [`process`]: one event through its workflows.
//! - [`apply`]: what each command means, applied to the store.
//! - [`dispatch`]: draining the queue, retries, dead letters, due timers.
//! - [`live`]: `weft serve` without HTTP: webhooks verified and kept, the continuous loop.
//! - [`chat`]: live chat on the seller's website: conversations and their tokens, visitor
//!   posts, the visitor's stream of one conversation.
//! - [`feed`]: the live stream (changes read from the store's change log, fanned out to
//!   subscribers) and presence on tickets.
//! - [`maildir`]: the Maildir folders of mail mounts watched, each new mail kept as the
//!   mount's traffic, then marked read.
//! - [`replay`]: dead letters tried again (`weft replay`, the API).
//! - [`poll`]: the poller beside it: channels without webhooks asked for what is new, their
//!   cursors kept with what they brought.
//! - [`notices`]: what webhooks say besides messages: delivery statuses, opt-outs.
//! - [`outbox`]: the sender beside it: outbox rows delivered through channel plugins, at most
//!   once per key.
//! - [`clocks`]: replies and status changes that stop deadline clocks.
//! - `reader`: the store's unit as the steps' read-only context.

pub mod apply;
pub mod chat;
pub mod clocks;
pub mod dispatch;
pub mod feed;
pub mod ingest;
pub mod live;
pub mod maildir;
pub mod notices;
pub mod orders;
pub mod outbox;
pub mod pipeline;
pub mod poll;
pub mod process;
mod reader;
pub mod records;
pub mod replay;

pub use dispatch::{
    DrainOptions, DrainProgress, DrainReport, Mode, Observer, Progress, ReplayReport, drain, drain_step, drain_with,
    drain_within, replay_failed_steps,
};
pub use feed::{Change, Feed, FeedOptions, Published, Subscription};
pub use ingest::{IngestReport, ingest_paths, ingest_paths_with};
pub use live::{HookError, Live, LiveOptions, Receipt};
pub use maildir::Mailboxes;
pub use outbox::{Sender, SenderOptions};
pub use pipeline::Pipeline;
pub use poll::Poller;
pub use process::{StepError, StepRun};
