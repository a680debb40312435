//! The `merger` step: which ticket a message belongs to.
//!
//! It runs after the `identity` step, so the event names its customer, and answers with one
//! `append-to-ticket` or `open-ticket` (plus a `merge-tickets` when the message shows that two
//! open tickets are one issue, and a `set-field linked-to` when a new ticket follows up on a
//! solved one). The rules, in order (see [`rules`]):
//!
//! 1. the channel's conversation id and the email `In-Reply-To`/`References` ids;
//! 2. the same order number, across channels, unless its ticket is another customer's;
//! 3. a system copy (forwarded, or one mail through two mailboxes) is appended as a copy;
//! 4. a follow-up on a solved ticket reopens it within `reopen_window`, else opens a linked one;
//! 5. the same customer about the same thing within `window` (n-gram and topic similarity);
//! 6. a bare follow-up ("any news?", "Gibt es Neuigkeiten?", "有进展吗", in seven languages:
//!    [`followup`]) without an order number joins the customer's ticket active last (an open
//!    one within `window`, else a solved one within `reopen_window`, which rule 4 handles);
//! 7. else a new ticket, its subject stripped of `Re:`/`AW:`/`回复：` prefixes (a message without a
//!    subject, from chat, SMS or social, gives the start of its text as the subject).
//!
//! Order numbers are compared in canonical form ([`weft_sdk::order`]); a message whose channel
//! reports none gives the first one its subject or body names.
//!
//! ```yaml
//! - id: thread
//!   uses: merger
//!   with: { window: 72h, reopen_window: 7d, on_solved: reopen, similarity_threshold: 0.5 }
//! ```
//!
//! # Layout
//! - [`config`]: the `with:` configuration and the checked [`Policy`].
//! - [`rules`]: the decision, one function per rule.
//! - [`duplicate`]: system copies, over a ticket's recent messages (`Context::ticket_messages`).
//! - [`similarity`]: the language-independent n-gram and topic similarity.
//! - [`topic`]: the topic cue lists.
//! - [`followup`]: the cue phrases of a follow-up that names nothing.
//! - [`subject`]: reply and forward prefixes.
//! - [`text`]: case and punctuation folding (width folding and CJK from [`weft_sdk::text`]).

pub mod config;
pub mod duplicate;
pub mod followup;
pub mod rules;
pub mod similarity;
pub mod subject;
pub mod text;
pub mod topic;

pub use config::{Config, OnSolved, Policy};
/// `72h`-style durations, in the grammar every weft component reads ([`weft_sdk::duration`]).
pub use weft_sdk::duration::Duration;

use weft_sdk::prelude::*;

/// The step.
pub struct Merger;

impl Step for Merger {
    type Config = Config;
    const DESCRIPTION: &'static str =
        "which ticket a message belongs to: its thread, its order, a system copy, a follow-up or the same issue";

    fn check_config(config: &Config) -> Vec<ConfigProblem> {
        config.policy().err().map(|e| e.config_problem()).into_iter().collect()
    }

    fn decide(event: &Event, config: &Config, ctx: &dyn Context) -> Result<Vec<Decision>, Error> {
        let policy = config.policy().map_err(|e| Error::bad_config(e.to_string()))?;
        rules::decide(event, &policy, ctx)
    }
}

#[cfg(target_arch = "wasm32")]
weft_sdk::export_step!(Merger);
