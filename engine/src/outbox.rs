//! `weft outbox list|retry`: what the outbox holds, and sending again what a person decided
//! to send again (a `failed` or `uncertain` message; see `exec::outbox`).

use crate::cli::DbArg;
use crate::store::Store;
use crate::store::outbox::{OutboundRow, OutboxState};
use crate::store::report::rfc3339;
use clap::{Args, Subcommand};
use std::fmt::Write as _;

/// `weft outbox ...`.
#[derive(Debug, Subcommand)]
pub enum OutboxCommand {
    /// List outbox messages, newest first: state, attempts, mount, ticket, last error.
    List(ListArgs),
    /// Queue `failed` or `uncertain` messages again, to be sent at the next look of a running
    /// `weft serve`. For an uncertain one, check first that the receiver did not get it: it
    /// may be delivered twice.
    Retry(RetryArgs),
}

/// Arguments of `weft outbox list`.
#[derive(Debug, Args)]
pub struct ListArgs {
    /// Only messages in this state: pending, sending, delivered, failed, uncertain.
    #[arg(long, value_parser = parse_state)]
    pub state: Option<OutboxState>,
    /// At most this many.
    #[arg(long, default_value_t = 50)]
    pub limit: i64,
    #[command(flatten)]
    pub(crate) db: DbArg,
}

/// Arguments of `weft outbox retry`.
#[derive(Debug, Args)]
pub struct RetryArgs {
    /// The keys of the messages.
    #[arg(required = true)]
    pub keys: Vec<String>,
    #[command(flatten)]
    pub(crate) db: DbArg,
}

fn parse_state(text: &str) -> Result<OutboxState, String> {
    OutboxState::parse(text).ok_or_else(|| {
        format!("unknown state `{text}`, expected one of: pending, sending, delivered, failed, uncertain")
    })
}

/// One row as `weft outbox list` and `weft explain ticket` show it.
pub fn describe(row: &OutboundRow) -> String {
    let mut line = format!(
        "{} · {} · {} attempt(s) · channel {} · mount {}",
        row.key,
        row.state,
        row.attempts,
        row.channel,
        row.mount.as_deref().unwrap_or("-")
    );
    if let Some(ticket) = row.ticket {
        let _ = write!(line, " · ticket {ticket}");
    }
    match row.state {
        OutboxState::Delivered => {
            let _ = write!(
                line,
                " · sent {}{}",
                row.sent_at.map(rfc3339).unwrap_or_default(),
                row.external_id
                    .as_deref()
                    .map(|id| format!(" as {id}"))
                    .unwrap_or_default()
            );
        }
        OutboxState::Pending if row.attempts > 0 => {
            let _ = write!(line, " · next try {}", rfc3339(row.next_attempt_at));
        }
        _ => {}
    }
    if let Some(error) = row.error.as_deref().filter(|_| row.state != OutboxState::Delivered) {
        let _ = write!(line, "\n    {error}");
    }
    line
}

/// Runs `weft outbox ...`. Returns false when a key was unknown or could not be retried.
pub async fn run(command: OutboxCommand) -> anyhow::Result<bool> {
    match command {
        OutboxCommand::List(args) => {
            let store = Store::open_existing(&args.db.db).await?;
            let rows = store.outbound(args.state, args.limit).await?;
            if rows.is_empty() {
                println!("the outbox holds no such message");
            }
            for row in rows {
                println!("{}", describe(&row));
            }
            Ok(true)
        }
        OutboxCommand::Retry(args) => {
            let store = Store::open_existing(&args.db.db).await?;
            let mut all = true;
            for key in &args.keys {
                match store.retry_outbound(key).await? {
                    None => {
                        eprintln!("{key}: no outbox message has this key");
                        all = false;
                    }
                    Some(state @ (OutboxState::Failed | OutboxState::Uncertain)) => {
                        println!("{key}: was {state}, queued again");
                    }
                    Some(state) => {
                        eprintln!("{key}: is {state}; only failed or uncertain messages are retried by hand");
                        all = false;
                    }
                }
            }
            Ok(all)
        }
    }
}
