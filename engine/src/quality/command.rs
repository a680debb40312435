//! The `weft generate` and `weft report quality` commands: their arguments and what they do.

use super::generate::{GenerateOptions, generate};
use super::report::{quality, read_truth};
use crate::store::Store;
use anyhow::Context as _;
use clap::{Args, Subcommand};
use std::path::PathBuf;

/// `weft generate`: traffic with ground truth.
#[derive(Debug, Args)]
pub struct GenerateArgs {
    /// How many real customers.
    #[arg(long, default_value_t = 1000)]
    pub customers: usize,
    /// How many messages in all.
    #[arg(long, default_value_t = 5000)]
    pub messages: usize,
    /// The seed; the same seed gives the same traffic.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Where to write the traffic (JSON lines for the `json` channel).
    #[arg(long)]
    pub out: PathBuf,
    /// Where to write the truth (the true customer and issue of every message).
    #[arg(long)]
    pub truth: PathBuf,
    /// Where to write the orders the messages are about, as the seller's order export has
    /// them (for `weft import orders`).
    #[arg(long)]
    pub orders: Option<PathBuf>,
}

/// `weft report ...`.
#[derive(Debug, Subcommand)]
pub enum ReportCommand {
    /// Compare the store's customers and tickets with a truth file from `weft generate`.
    Quality {
        /// The truth file.
        #[arg(long)]
        truth: PathBuf,
        /// Database URL: sqlite://FILE or postgres://USER@HOST/DB.
        #[arg(long, env = "WEFT_DB", default_value = "sqlite://weft.db")]
        db: String,
        /// Print one JSON object instead of a table.
        #[arg(long)]
        json: bool,
    },
}

/// Runs `weft generate`.
pub fn run_generate(args: &GenerateArgs) -> anyhow::Result<()> {
    let traffic = generate(&GenerateOptions {
        customers: args.customers,
        messages: args.messages,
        seed: args.seed,
    })?;
    traffic.write(&args.out, &args.truth)?;
    eprintln!(
        "wrote {} messages of {} customers to {} and their truth to {}",
        traffic.lines.len(),
        args.customers.min(args.messages),
        args.out.display(),
        args.truth.display()
    );
    if let Some(path) = &args.orders {
        traffic.write_orders(path)?;
        eprintln!("wrote {} orders to {}", traffic.orders.len(), path.display());
    }
    Ok(())
}

/// Runs `weft report ...`.
pub async fn run_report(command: &ReportCommand) -> anyhow::Result<()> {
    match command {
        ReportCommand::Quality { truth, db, json } => {
            let truth = read_truth(truth)?;
            let store = Store::open_existing(db)
                .await
                .with_context(|| format!("opening {db}"))?;
            let report = quality(&store, &truth).await?;
            if *json {
                println!("{}", report.to_json());
            } else {
                print!("{}", report.table());
            }
        }
    }
    Ok(())
}
