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
