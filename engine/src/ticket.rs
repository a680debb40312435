//! `weft ticket status|reply`: what agents do that stops deadline clocks, from the command line.

use crate::cli::{DbArg, PluginsArg, new_runtime};
use crate::exec::Pipeline;
use crate::exec::clocks::{self, Reply, Status};
use crate::store::Store;
use anyhow::Context as _;
use clap::{Args, Subcommand};
use std::path::PathBuf;

/// `weft ticket ...`.
#[derive(Debug, Subcommand)]
pub enum TicketCommand {
    /// Set a ticket's status: `no-response-needed` and `waiting-on-buyer` stop response clocks,
    /// `solved` stops every clock, and a policy's `pause_on` statuses pause its clocks until
    /// the status changes again (to `open`, say). Workflows on `ticket.status_changed` run.
    Status(StatusArgs),
    /// Record a reply that went out to the buyer and process it: an agent's reply meets the
    /// ticket's response deadlines, an automatic one (`--automatic`) does not.
    Reply(ReplyArgs),
}

/// Arguments of `weft ticket status`.
#[derive(Debug, Args)]
pub struct StatusArgs {
    /// The ticket number.
    pub ticket: i64,
    /// `open`, `no-response-needed`, `waiting-on-buyer`, `solved`, or a status of your own
    /// (lowercase letters, digits and `-`) that policies may pause on.
    #[arg(value_parser = parse_status)]
    pub status: Status,
    /// When it happened (RFC 3339); now by default.
    #[arg(long)]
    pub at: Option<String>,
    /// Workflow files or folders (workflows on `ticket.status_changed` resume paused clocks).
    #[arg(long, default_value = "workflows")]
    pub workflows: Vec<PathBuf>,
    #[command(flatten)]
    pub(crate) plugins: PluginsArg,
    #[command(flatten)]
    pub(crate) db: DbArg,
}

fn parse_status(text: &str) -> Result<Status, String> {
    Status::parse(text)
}

/// Arguments of `weft ticket reply`.
#[derive(Debug, Args)]
pub struct ReplyArgs {
    /// The ticket answered.
    pub ticket: i64,
    /// When it was sent (RFC 3339); now by default.
    #[arg(long)]
    pub at: Option<String>,
    /// An automatic reply (an acknowledgement): it stops no clock.
    #[arg(long)]
    pub automatic: bool,
    /// The channel it went out on.
    #[arg(long, default_value = "helpdesk")]
    pub channel: String,
    /// Its id on the channel; recording the same id twice does nothing.
    #[arg(long)]
    pub id: Option<String>,
    /// The text.
    #[arg(long, default_value = "")]
    pub body: String,
    /// Workflow files or folders (workflows on `message.sent` and `sla.*` run too).
    #[arg(long, default_value = "workflows")]
    pub workflows: Vec<PathBuf>,
    #[command(flatten)]
    pub(crate) plugins: PluginsArg,
    #[command(flatten)]
    pub(crate) db: DbArg,
}

fn time(at: Option<&str>) -> anyhow::Result<i64> {
    match at {
        Some(text) => Ok(text
            .parse::<jiff::Timestamp>()
            .with_context(|| format!("--at {text:?} is not an RFC 3339 time"))?
            .as_millisecond()),
        None => Ok(crate::store::now_ms()),
    }
}

/// Runs `weft ticket ...`.
pub async fn run(command: TicketCommand) -> anyhow::Result<()> {
    match command {
        TicketCommand::Status(args) => {
            let at = time(args.at.as_deref())?;
            let store = Store::open_existing(&args.db.db).await?;
            let pipeline = Pipeline::load(new_runtime(&args.plugins)?, &args.plugins.plugins, &args.workflows).await?;
            let shown = args.status.as_str().to_owned();
            let effect = clocks::set_status(&store, args.ticket, args.status, at).await?;
            println!("ticket {}: status {} (was {})", args.ticket, shown, effect.from);
            for s in &effect.stopped {
                println!("  stopped {} ({}): {}", s.kind, s.policy, s.state);
            }
            for p in &effect.paused {
                println!("  paused {} ({})", p.kind, p.policy);
            }
            crate::cli::drain_reporting(&store, &pipeline).await?;
        }
        TicketCommand::Reply(args) => {
            let at = time(args.at.as_deref())?;
            let store = Store::open_existing(&args.db.db).await?;
            let pipeline = Pipeline::load(new_runtime(&args.plugins)?, &args.plugins.plugins, &args.workflows).await?;
            let id = args.id.unwrap_or_else(|| format!("reply-{}-{at}", args.ticket));
            let mut message = weft_sdk::Message::new(args.channel, id, at);
            message.body = args.body;
            let reply = Reply {
                message,
                automatic: args.automatic,
                ticket: Some(args.ticket),
            };
            if clocks::record_reply(&store, &reply).await?.is_none() {
                println!("reply {} was recorded before; nothing to do", reply.message.id);
                return Ok(());
            }
            let drained = crate::cli::drain_reporting(&store, &pipeline).await?;
            println!(
                "reply {} on ticket {} recorded ({} events processed)",
                reply.message.id, args.ticket, drained.events
            );
        }
    }
    Ok(())
}

/// An agent's reply through the API: queued in the outbox if the ticket is still as the agent
/// last saw it (`expected_version`), kept as a draft otherwise.
#[derive(Debug, Clone, Default)]
pub struct ReplyRequest {
    pub ticket: i64,
    /// The token name of the agent.
    pub author: String,
    /// The text; a draft's own when sending a draft without a new text.
    pub body: Option<String>,
    pub subject: Option<String>,
    pub lang: Option<String>,
    /// The version the agent last saw; required unless a draft is sent anyway.
    pub expected_version: Option<i64>,
    /// A draft kept from an earlier refusal, to send now.
    pub draft: Option<i64>,
    /// Send the draft whatever changed since (the agent has seen the changes).
    pub send_anyway: bool,
}

/// What became of a reply.
#[derive(Debug, Clone)]
pub enum ReplyOutcome {
    /// In the outbox; the ticket is now at `version`.
    Queued {
        reply: Box<crate::store::tickets::OutboxRow>,
        version: i64,
        /// The draft that was sent, if one was.
        draft: Option<i64>,
    },
    /// The ticket changed since `seen`: nothing was queued; the reply is kept as `draft`.
    Stale {
        seen: i64,
        current: i64,
        changes: Vec<crate::store::tickets::Change>,
        draft: i64,
    },
}

/// Why a reply was refused outright (a stale one is not refused: see [`ReplyOutcome::Stale`]).
#[derive(Debug, thiserror::Error)]
pub enum ReplyError {
    #[error("ticket {0} does not exist")]
    NoTicket(i64),
    #[error("ticket {ticket} was merged into ticket {into}: reply on ticket {into}")]
    Merged { ticket: i64, into: i64 },
    #[error("the reply has no text: give `body`")]
    EmptyBody,
    #[error("give `expected_version`, the ticket version you last saw, so that a reply to an older state is caught")]
    NoVersion,
    #[error("expected_version {seen} is newer than ticket {ticket}'s version {current}")]
    FutureVersion { ticket: i64, seen: i64, current: i64 },
    #[error("`send_anyway` sends a kept draft: give its id as `draft`")]
    AnywayWithoutDraft,
    #[error("draft {draft} of ticket {ticket} does not exist")]
    NoDraft { ticket: i64, draft: i64 },
    #[error("draft {draft} was already {state}")]
    DraftClosed { draft: i64, state: String },
    #[error("ticket {0} has no buyer message with an address to reply to")]
    NoRecipient(i64),
    #[error(transparent)]
    Store(#[from] crate::store::StoreError),
}

/// Queues an agent's reply if ticket `request.ticket` is at `expected_version` (moving it on in
/// the same transaction, so of two agents answering the same version one reply goes out and
/// the other is told what changed), or keeps it as a draft and says what changed since.
pub async fn reply(store: &Store, request: &ReplyRequest) -> Result<ReplyOutcome, ReplyError> {
    use crate::store::tickets::ReplyOut;
    let number = request.ticket;
    let mut unit = store.unit().await?;
    unit.act_for(&request.author);
    let Some(current) = unit.ticket_version(number).await? else {
        return Err(ReplyError::NoTicket(number));
    };
    let root = unit.root_ticket(number).await?;
    if root != number {
        return Err(ReplyError::Merged {
            ticket: number,
            into: root,
        });
    }
    let draft = match request.draft {
        Some(id) => {
            let draft = unit
                .draft(id)
                .await?
                .filter(|d| d.ticket == number)
                .ok_or(ReplyError::NoDraft {
                    ticket: number,
                    draft: id,
                })?;
            if draft.state != "kept" {
                return Err(ReplyError::DraftClosed {
                    draft: id,
                    state: draft.state,
                });
            }
            Some(draft)
        }
        None if request.send_anyway => return Err(ReplyError::AnywayWithoutDraft),
        None => None,
    };
    let body = request
        .body
        .clone()
        .or_else(|| draft.as_ref().map(|d| d.body.clone()))
        .filter(|b| !b.trim().is_empty())
        .ok_or(ReplyError::EmptyBody)?;
    let subject = request
        .subject
        .clone()
        .or_else(|| draft.as_ref().and_then(|d| d.subject.clone()));
    let lang = request
        .lang
        .clone()
        .or_else(|| draft.as_ref().and_then(|d| d.lang.clone()));
    let seen = request
        .expected_version
        .or_else(|| draft.as_ref().map(|d| d.based_on))
        .ok_or(ReplyError::NoVersion)?;
    if seen > current {
        return Err(ReplyError::FutureVersion {
            ticket: number,
            seen,
            current,
        });
    }
    let target = unit
        .reply_target(number)
        .await?
        .ok_or(ReplyError::NoRecipient(number))?;
    let out = ReplyOut {
        ticket: number,
        author: &request.author,
        body: &body,
        subject: subject.as_deref(),
        lang: lang.as_deref(),
    };
    let version = if request.send_anyway {
        Some(unit.bump_ticket(number).await?)
    } else {
        unit.bump_ticket_if(number, seen).await?
    };
    let Some(version) = version else {
        // Changed since the agent looked: keep the reply, say what changed.
        let current = unit.ticket_version(number).await?.unwrap_or(current);
        let changes = unit.changes_since(number, seen).await?;
        let draft = match &draft {
            Some(d) => {
                unit.rebase_draft(d.id, seen).await?;
                d.id
            }
            None => unit.keep_draft(&out, seen).await?,
        };
        unit.commit().await?;
        tracing::info!(ticket = number, author = %request.author, seen, current, draft, "stale reply kept as a draft");
        return Ok(ReplyOutcome::Stale {
            seen,
            current,
            changes,
            draft,
        });
    };
    let reply = unit.queue_reply(&out, &target, version).await?;
    if let Some(d) = &draft {
        unit.close_draft(d.id, "sent", Some(&reply.key)).await?;
    }
    unit.commit().await?;
    tracing::info!(ticket = number, author = %request.author, key = %reply.key, version, "reply queued");
    Ok(ReplyOutcome::Queued {
        reply: Box::new(reply),
        version,
        draft: draft.map(|d| d.id),
    })
}

/// Discards a kept draft of `ticket`.
pub async fn discard_draft(store: &Store, ticket: i64, draft: i64) -> Result<(), ReplyError> {
    let mut unit = store.unit().await?;
    let found = unit
        .draft(draft)
        .await?
        .filter(|d| d.ticket == ticket)
        .ok_or(ReplyError::NoDraft { ticket, draft })?;
    if !unit.close_draft(draft, "discarded", None).await? {
        return Err(ReplyError::DraftClosed {
            draft,
            state: found.state,
        });
    }
    unit.commit().await?;
    Ok(())
}

/// Assigns a ticket (as it lives now) to an agent and/or a team on behalf of `author`; logged
/// as an `assign` decision. Returns the ticket assigned.
pub async fn assign(
    store: &Store,
    ticket: i64,
    agent: Option<&str>,
    team: Option<&str>,
    author: &str,
) -> Result<i64, clocks::ClockError> {
    use weft_sdk::{Assign, Command, Decision, TicketRef};
    let mut unit = store.unit().await?;
    unit.act_for(author);
    if unit.ticket_status(ticket).await?.is_none() {
        return Err(clocks::ClockError::NoTicket(ticket));
    }
    let number = unit.root_ticket(ticket).await?;
    unit.assign_ticket(number, agent, team).await?;
    let decision = Decision::new(
        Command::Assign(Assign {
            ticket: TicketRef::Existing(number as u64),
            agent: agent.map(str::to_owned),
            team: team.map(str::to_owned),
        }),
        format!("assigned by {author}"),
    );
    unit.record_decision(crate::store::manual::by_hand("assign"), &decision, None, Some(number))
        .await?;
    unit.commit().await?;
    Ok(number)
}
