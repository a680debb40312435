//! Who may use the API of `weft serve`: bearer tokens, each with a name and a role, made and
//! revoked with `weft token create|list|revoke`.
//!
//! A token is 256 bits from the operating system, written `weft_<64 hex digits>`. It is shown
//! once, when it is made; the store keeps only its SHA-256 (see `store/tokens.rs` for why a
//! fast hash is enough), so a copy of the database does not hand out working tokens.

use crate::store::Store;
use crate::store::tokens::TokenRow;
use clap::{Args, Subcommand};
use sha2::{Digest, Sha256};

/// What a token may do. Agents work tickets; admins do that and also merge, split, replay and
/// manage tokens; integrators read (tickets, customers, exports) but change nothing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, clap::ValueEnum)]
pub enum Role {
    Agent,
    Admin,
    Integrator,
}

impl Role {
    pub const ALL: [Role; 3] = [Role::Agent, Role::Admin, Role::Integrator];

    pub fn as_str(self) -> &'static str {
        match self {
            Role::Agent => "agent",
            Role::Admin => "admin",
            Role::Integrator => "integrator",
        }
    }

    pub fn parse(text: &str) -> Option<Role> {
        Role::ALL.into_iter().find(|r| r.as_str() == text)
    }
}

impl std::fmt::Display for Role {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What a route asks of its caller.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Need {
    /// Reading tickets and customers: any role.
    Read,
    /// Working tickets (reply, status, assign): agents and admins.
    Work,
    /// Merges, splits, replays, tokens: admins.
    Admin,
    /// Exports: integrators and admins.
    Export,
}

impl Need {
    /// The roles that satisfy this need.
    pub fn roles(self) -> &'static [Role] {
        match self {
            Need::Read => &[Role::Agent, Role::Admin, Role::Integrator],
            Need::Work => &[Role::Agent, Role::Admin],
            Need::Admin => &[Role::Admin],
            Need::Export => &[Role::Integrator, Role::Admin],
        }
    }

    pub fn allows(self, role: Role) -> bool {
        self.roles().contains(&role)
    }

    /// `the agent or admin role`, for messages.
    pub fn describe(self) -> String {
        let names: Vec<&str> = self.roles().iter().map(|r| r.as_str()).collect();
        match names.as_slice() {
            [one] => format!("the {one} role"),
            [rest @ .., last] => format!("the {} or {last} role", rest.join(", ")),
            [] => "no role".to_owned(),
        }
    }
}

/// A new token: what the caller is shown once, and what the store keeps.
#[derive(Debug)]
pub struct NewToken {
    /// `weft_<64 hex digits>`; never stored, never logged.
    pub secret: String,
    /// Its SHA-256, hex.
    pub hash: String,
}

/// The prefix of every token, so that a leaked one is recognizable (secret scanners).
pub const TOKEN_PREFIX: &str = "weft_";

/// Makes a token from 32 bytes of the operating system's randomness.
pub fn new_token() -> anyhow::Result<NewToken> {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes).map_err(|e| anyhow::anyhow!("the operating system gave no random bytes: {e}"))?;
    let secret = format!("{TOKEN_PREFIX}{}", hex::encode(bytes));
    let hash = token_hash(&secret);
    Ok(NewToken { secret, hash })
}

/// The SHA-256 of a token as the store keeps it.
pub fn token_hash(secret: &str) -> String {
    hex::encode(Sha256::digest(secret.as_bytes()))
}

/// Why a token could not be made.
#[derive(Debug, thiserror::Error)]
pub enum IssueError {
    /// The name breaks [`check_name`]'s rule.
    #[error("{0}")]
    BadName(String),
    /// No randomness from the operating system.
    #[error("{0:#}")]
    Random(anyhow::Error),
    /// The store refused (a live token has that name) or failed.
    #[error(transparent)]
    Store(#[from] crate::store::StoreError),
}

/// Makes a token named `name` with `role` and keeps its hash: what `weft token create` and
/// `POST /api/v1/tokens` both do. Returns the row and the token itself, to be shown once.
pub async fn issue_token(store: &Store, name: &str, role: Role) -> Result<(TokenRow, String), IssueError> {
    check_name(name).map_err(IssueError::BadName)?;
    let token = new_token().map_err(IssueError::Random)?;
    let row = store.create_token(name, role.as_str(), &token.hash).await?;
    Ok((row, token.secret))
}

/// `weft token ...`.
#[derive(Debug, Subcommand)]
pub enum TokenCommand {
    /// Make a bearer token for the API; it is printed once, alone on the last line.
    Create(CreateArgs),
    /// List tokens (names, roles, when made and revoked; never the tokens).
    List {
        #[command(flatten)]
        db: crate::operations::Db,
    },
    /// Revoke the live token of that name: requests with it get 401 from then on.
    Revoke {
        /// The token's name.
        name: String,
        #[command(flatten)]
        db: crate::operations::Db,
    },
}

/// Arguments of `weft token create`.
#[derive(Debug, Args)]
pub struct CreateArgs {
    /// Who or what uses it (an agent's name, `shop-sync`); shown in logs and on replies.
    #[arg(long)]
    pub name: String,
    /// agent: works tickets; admin: also merges, splits, replays, manages tokens; integrator:
    /// reads tickets, customers and exports.
    #[arg(long, value_enum)]
    pub role: Role,
    #[command(flatten)]
    pub db: crate::operations::Db,
}

/// Checks a token name: 1 to 64 characters, letters (any script), digits, `.`, `_`, `-`, `@`.
pub fn check_name(name: &str) -> Result<(), String> {
    let fine = |c: char| c.is_alphanumeric() || matches!(c, '.' | '_' | '-' | '@');
    if name.is_empty() || name.chars().count() > 64 || !name.chars().all(fine) {
        return Err(format!(
            "token name {name:?}: expected 1 to 64 letters, digits, `.`, `_`, `-` or `@`"
        ));
    }
    Ok(())
}

/// Runs `weft token ...`; returns what to print.
pub async fn run(command: TokenCommand) -> anyhow::Result<String> {
    match command {
        TokenCommand::Create(args) => {
            check_name(&args.name).map_err(anyhow::Error::msg)?;
            let store = Store::open_existing(&args.db.db).await?;
            let (_, secret) = issue_token(&store, &args.name, args.role).await?;
            Ok(format!(
                "created token `{}` with role {}; it is shown only now (only its hash is kept):\n{secret}",
                args.name, args.role
            ))
        }
        TokenCommand::List { db } => {
            let store = Store::open_existing(&db.db).await?;
            let tokens = store.tokens().await?;
            if tokens.is_empty() {
                return Ok("no tokens; make one with `weft token create --name NAME --role agent`".to_owned());
            }
            Ok(tokens.iter().map(describe).collect::<Vec<_>>().join("\n"))
        }
        TokenCommand::Revoke { name, db } => {
            let store = Store::open_existing(&db.db).await?;
            if store.revoke_token(&name).await? {
                Ok(format!("revoked token `{name}`"))
            } else {
                anyhow::bail!("there is no live token named `{name}` (`weft token list` shows them)")
            }
        }
    }
}

fn describe(token: &TokenRow) -> String {
    let revoked = token
        .revoked_at
        .map(|at| format!(" · revoked {}", crate::store::report::rfc3339(at)))
        .unwrap_or_default();
    format!(
        "{} · {} · created {}{revoked}",
        token.name,
        token.role,
        crate::store::report::rfc3339(token.created_at)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_random_prefixed_and_hashed() {
        let a = new_token().unwrap();
        let b = new_token().unwrap();
        assert_ne!(a.secret, b.secret);
        assert!(a.secret.starts_with(TOKEN_PREFIX));
        assert_eq!(a.secret.len(), TOKEN_PREFIX.len() + 64);
        assert_eq!(a.hash, token_hash(&a.secret));
        assert_eq!(a.hash.len(), 64);
        assert!(!a.hash.contains(&a.secret[TOKEN_PREFIX.len()..]));
    }

    #[test]
    fn needs_name_their_roles() {
        let cases = [
            (Need::Read, "the agent, admin or integrator role", [true, true, true]),
            (Need::Work, "the agent or admin role", [true, true, false]),
            (Need::Admin, "the admin role", [false, true, false]),
            (Need::Export, "the integrator or admin role", [false, true, true]),
        ];
        for (need, text, allowed) in cases {
            assert_eq!(need.describe(), text);
            for (role, allowed) in Role::ALL.into_iter().zip(allowed) {
                assert_eq!(need.allows(role), allowed, "{need:?} {role}");
            }
        }
    }

    #[test]
    fn names_are_checked() {
        for good in ["anna", "agent.müller", "山田", "shop-sync_2", "a@b"] {
            assert_eq!(check_name(good), Ok(()), "{good}");
        }
        for bad in ["", "two words", "semi;colon", &"x".repeat(65)] {
            assert!(check_name(bad).is_err(), "{bad}");
        }
    }
}
