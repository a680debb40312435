//! Merges, unmerges and splits made by hand: `weft merge`, `weft unmerge`,
//! `weft customer merge` and `weft customer split`. Each runs in one transaction and writes
//! decision-log rows ("by hand", with the reason given) that `weft explain` shows.

use crate::store::manual::Split;
use crate::store::{Store, StoreError};
use clap::{Args, Subcommand};
use weft_sdk::{Identity, IdentityKind};

/// The reason logged when none is given on the command line.
const NO_REASON: &str = "by hand, no reason given";

/// The database a hand operation works on.
#[derive(Debug, Args, Clone)]
pub struct Db {
    /// Database URL: sqlite://FILE or postgres://USER@HOST/DB.
    #[arg(long, env = "WEFT_DB", default_value = "sqlite://weft.db")]
    pub db: String,
}

/// `weft merge INTO FROM... [--reason TEXT]`.
#[derive(Debug, Args)]
pub struct MergeArgs {
    /// The ticket the others join; it keeps its number, and so do they.
    pub into: u64,
    /// Tickets to merge into it.
    #[arg(required = true)]
    pub from: Vec<u64>,
    /// Why, for the decision log.
    #[arg(long)]
    pub reason: Option<String>,
    #[command(flatten)]
    pub db: Db,
}

/// `weft unmerge N [--reason TEXT]`.
#[derive(Debug, Args)]
pub struct UnmergeArgs {
    /// The merged ticket to take out again.
    pub ticket: u64,
    /// Why, for the decision log.
    #[arg(long)]
    pub reason: Option<String>,
    #[command(flatten)]
    pub db: Db,
}

/// `weft customer ...`.
#[derive(Debug, Args)]
pub struct CustomerArgs {
    #[command(subcommand)]
    pub action: CustomerAction,
}

/// What to do to customers.
#[derive(Debug, Subcommand)]
pub enum CustomerAction {
    /// Merge customers into the first; reversible with `weft customer split`.
    Merge {
        /// The customer the others join.
        into: u64,
        /// Customers to merge into it.
        #[arg(required = true)]
        from: Vec<u64>,
        /// Why, for the decision log.
        #[arg(long)]
        reason: Option<String>,
        #[command(flatten)]
        db: Db,
    },
    /// Split a customer: undo the merge that formed it, or move the given identities (and the
    /// messages and tickets that came with them) to a new customer. The two are kept apart.
    Split {
        /// The customer to split.
        customer: u64,
        /// An identity to move to a new customer, as kind:value (email:anna@example.de).
        #[arg(long = "identity", value_parser = parse_identity)]
        identities: Vec<Identity>,
        /// Why, for the decision log.
        #[arg(long)]
        reason: Option<String>,
        #[command(flatten)]
        db: Db,
    },
}

/// Parses `kind:value`, e.g. `email:anna@example.de` or `buyer-id:amazon:A1B2`.
pub fn parse_identity(text: &str) -> Result<Identity, String> {
    let (kind, value) = text
        .split_once(':')
        .ok_or_else(|| format!("expected kind:value, e.g. email:anna@example.de, got `{text}`"))?;
    let kind = IdentityKind::parse(kind.trim()).ok_or_else(|| {
        let kinds: Vec<&str> = IdentityKind::ALL.iter().map(|k| k.as_str()).collect();
        format!("unknown identity kind `{kind}`, expected one of {}", kinds.join(", "))
    })?;
    if value.trim().is_empty() {
        return Err(format!("identity `{text}` has no value"));
    }
    Ok(Identity::new(kind, value))
}

fn reason(given: Option<String>) -> String {
    given
        .map(|r| r.trim().to_owned())
        .filter(|r| !r.is_empty())
        .unwrap_or_else(|| NO_REASON.to_owned())
}

fn list(numbers: &[i64], prefix: &str) -> String {
    numbers
        .iter()
        .map(|n| format!("{prefix}{n}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// The reason logged for a change by hand, naming who made it when a person did through the
/// API (`anna: same buyer, two channels`).
fn reason_of(given: Option<String>, author: Option<&str>) -> String {
    let reason = reason(given);
    match author {
        Some(author) => format!("{author}: {reason}"),
        None => reason,
    }
}

/// Merges tickets `from` into `into` in one transaction, on behalf of `author` when a person
/// did it through the API. Returns the tickets merged.
pub async fn merge_tickets(
    store: &Store,
    into: u64,
    from: &[u64],
    reason: Option<String>,
    author: Option<&str>,
) -> Result<Vec<i64>, StoreError> {
    let mut unit = store.unit().await?;
    if let Some(author) = author {
        unit.act_for(author);
    }
    let merged = unit
        .merge_tickets_by_hand(into, from, &reason_of(reason, author))
        .await?;
    unit.commit().await?;
    Ok(merged)
}

/// Takes merged ticket `ticket` out again; returns the ticket it had joined.
pub async fn unmerge_ticket(
    store: &Store,
    ticket: u64,
    reason: Option<String>,
    author: Option<&str>,
) -> Result<i64, StoreError> {
    let mut unit = store.unit().await?;
    if let Some(author) = author {
        unit.act_for(author);
    }
    let into = unit.unmerge_ticket_by_hand(ticket, &reason_of(reason, author)).await?;
    unit.commit().await?;
    Ok(into)
}

/// Merges customers `from` into `into`; returns the customers merged.
pub async fn merge_customers(
    store: &Store,
    into: u64,
    from: &[u64],
    reason: Option<String>,
    author: Option<&str>,
) -> Result<Vec<i64>, StoreError> {
    let mut unit = store.unit().await?;
    let merged = unit
        .merge_customers_by_hand(into, from, &reason_of(reason, author))
        .await?;
    unit.commit().await?;
    Ok(merged)
}

/// Splits a customer (see [`CustomerAction::Split`]).
pub async fn split_customer(
    store: &Store,
    customer: u64,
    identities: &[Identity],
    reason: Option<String>,
    author: Option<&str>,
) -> Result<Split, StoreError> {
    let mut unit = store.unit().await?;
    let split = unit
        .split_customer(customer, identities, &reason_of(reason, author))
        .await?;
    unit.commit().await?;
    Ok(split)
}

/// `weft merge`: merges tickets by hand. Returns what to print.
pub async fn merge(args: MergeArgs) -> anyhow::Result<String> {
    let store = Store::open_existing(&args.db.db).await?;
    let merged = merge_tickets(&store, args.into, &args.from, args.reason, None).await?;
    Ok(if merged.is_empty() {
        format!("nothing to merge: those tickets are already part of #{}", args.into)
    } else {
        format!(
            "merged {} into #{}; undo with `weft unmerge N`",
            list(&merged, "#"),
            args.into
        )
    })
}

/// `weft unmerge`: takes a merged ticket out again.
pub async fn unmerge(args: UnmergeArgs) -> anyhow::Result<String> {
    let store = Store::open_existing(&args.db.db).await?;
    let into = unmerge_ticket(&store, args.ticket, args.reason, None).await?;
    Ok(format!(
        "#{} is its own ticket again (it had joined #{into})",
        args.ticket
    ))
}

/// `weft customer merge|split`.
pub async fn customer(args: CustomerArgs) -> anyhow::Result<String> {
    match args.action {
        CustomerAction::Merge {
            into,
            from,
            reason: why,
            db,
        } => {
            let store = Store::open_existing(&db.db).await?;
            let merged = merge_customers(&store, into, &from, why, None).await?;
            Ok(if merged.is_empty() {
                format!("nothing to merge: those customers are already part of customer {into}")
            } else {
                format!(
                    "merged customer {} into customer {into}; undo with `weft customer split`",
                    list(&merged, "")
                )
            })
        }
        CustomerAction::Split {
            customer,
            identities,
            reason: why,
            db,
        } => {
            let store = Store::open_existing(&db.db).await?;
            let split = split_customer(&store, customer, &identities, why, None).await?;
            Ok(describe_split(&split))
        }
    }
}

/// What a split did, in a sentence.
pub fn describe_split(split: &Split) -> String {
    let how = match split.undone_merge {
        Some(_) => format!(
            "undid the merge of customer {} into customer {}",
            split.split, split.kept
        ),
        None => format!(
            "moved {} from customer {} to new customer {}",
            split
                .identities
                .iter()
                .map(Identity::to_string)
                .collect::<Vec<_>>()
                .join(", "),
            split.kept,
            split.split
        ),
    };
    format!(
        "{how}; {} messages and {} tickets went with customer {}; the two are kept apart",
        split.messages.len(),
        split.tickets.len(),
        split.split
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identities_parse_with_clear_errors() {
        assert_eq!(
            parse_identity("email:anna@example.de"),
            Ok(Identity::new(IdentityKind::Email, "anna@example.de"))
        );
        assert_eq!(
            parse_identity("buyer-id:amazon:A1B2"),
            Ok(Identity::new(IdentityKind::BuyerId, "amazon:A1B2"))
        );
        assert_eq!(
            parse_identity("name:山田 太郎"),
            Ok(Identity::new(IdentityKind::Name, "山田 太郎"))
        );
        assert!(
            parse_identity("anna@example.de")
                .unwrap_err()
                .contains("expected kind:value")
        );
        assert!(
            parse_identity("fax:123")
                .unwrap_err()
                .contains("unknown identity kind `fax`")
        );
        assert!(parse_identity("email: ").unwrap_err().contains("has no value"));
    }
}
