//! The store: the only place that speaks SQL.
//!
//! One schema, two dialects: an SQLite file (the embedded default) and PostgreSQL (several
//! nodes sharing one database). Both go through sqlx's `Any` driver with the same statements,
//! written with `$N` parameters, which SQLite accepts too; where the dialects differ (claiming
//! work, migrations) the code says so.
//!
//! Work on one event happens in a [`Unit`]: one connection with an open transaction, in which
//! the engine reads the context for each step and applies that step's commands, so later steps
//! see what earlier ones decided. A unit commits or rolls back as a whole; a dry run nests each
//! event in a savepoint of one outer transaction that is rolled back at the end.
//!
//! - [`ingest`]: raw traffic and normalized messages in, events queued.
//! - [`queue`]: claiming events, finishing them, retries and dead letters.
//! - [`apply`]: commands applied inside a unit, and the decision log.
//! - [`context`]: the read-only queries steps make.
//! - [`manual`]: merges, unmerges and splits made by hand, with their decision-log rows.
//! - [`report`]: exports, explanations and the demo's summary.
//! - [`sla`]: replies and status changes stopping deadline clocks; the SLA report's rows.

pub mod apply;
pub mod context;
pub mod ingest;
pub mod manual;
pub mod queue;
pub mod report;
pub mod sla;

use sqlx::any::{AnyConnectOptions, AnyPoolOptions};
use sqlx::pool::PoolConnection;
use sqlx::{Any, AnyPool, Executor};
use std::str::FromStr;
use std::time::Duration;

static SQLITE_MIGRATIONS: sqlx::migrate::Migrator = sqlx::migrate!("src/store/migrations/sqlite");
static POSTGRES_MIGRATIONS: sqlx::migrate::Migrator = sqlx::migrate!("src/store/migrations/postgres");

/// What went wrong talking to the database.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("cannot open database `{url}`: {source}")]
    Open { url: String, source: sqlx::Error },
    #[error("unsupported database url `{0}`: expected sqlite://PATH, sqlite::memory: or postgres://...")]
    UnsupportedUrl(String),
    #[error("database migration failed: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    #[error("database error: {0}")]
    Sql(#[from] sqlx::Error),
    #[error("stored JSON is corrupt: {0}")]
    Json(#[from] serde_json::Error),
    #[error("{0}")]
    Invalid(String),
}

pub type Result<T, E = StoreError> = std::result::Result<T, E>;

/// Which SQL dialect the store speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dialect {
    Sqlite,
    Postgres,
}

/// A handle to the database; cheap to clone.
#[derive(Debug, Clone)]
pub struct Store {
    pool: AnyPool,
    dialect: Dialect,
}

impl Store {
    /// Opens (creating it if needed) and migrates the database at `url`:
    /// `sqlite://weft.db`, `sqlite::memory:` or `postgres://user@host/db`.
    pub async fn open(url: &str) -> Result<Store> {
        sqlx::any::install_default_drivers();
        let dialect = if url.starts_with("sqlite:") {
            Dialect::Sqlite
        } else if url.starts_with("postgres:") || url.starts_with("postgresql:") {
            Dialect::Postgres
        } else {
            return Err(StoreError::UnsupportedUrl(url.to_owned()));
        };
        let open_err = |source| StoreError::Open {
            url: url.to_owned(),
            source,
        };
        // SQLite: one connection. Writers take turns anyway (`BEGIN IMMEDIATE`), and a
        // connection's page cache is dropped whenever another connection has written, so with
        // several every unit started cold and read its pages back through the kernel.
        let (url, max) = match dialect {
            Dialect::Sqlite if url.contains('?') || url.contains(":memory:") => (url.to_owned(), 1),
            Dialect::Sqlite => (format!("{url}?mode=rwc"), 1),
            Dialect::Postgres => (url.to_owned(), 8),
        };
        let options = AnyConnectOptions::from_str(&url).map_err(open_err)?;
        let pool = AnyPoolOptions::new()
            .max_connections(max)
            .acquire_timeout(Duration::from_secs(30))
            // An in-memory SQLite database lives as long as its one connection.
            .idle_timeout(None)
            .max_lifetime(None)
            .after_connect(move |conn, _| {
                Box::pin(async move {
                    if dialect == Dialect::Sqlite {
                        conn.execute("PRAGMA journal_mode = WAL").await?;
                        conn.execute("PRAGMA synchronous = NORMAL").await?;
                        conn.execute("PRAGMA busy_timeout = 10000").await?;
                        // Lookups walk indexes all over a growing file: keep more of its pages
                        // per connection than SQLite's default 2 MiB, or every lookup becomes a
                        // read() once the file outgrows it. (A memory map was tried: remapping
                        // the growing file cost more than it saved.)
                        conn.execute("PRAGMA cache_size = -32768").await?;
                    }
                    Ok(())
                })
            })
            .connect_with(options)
            .await
            .map_err(open_err)?;
        match dialect {
            Dialect::Sqlite => SQLITE_MIGRATIONS.run(&pool).await?,
            Dialect::Postgres => POSTGRES_MIGRATIONS.run(&pool).await?,
        }
        Ok(Store { pool, dialect })
    }

    pub fn dialect(&self) -> Dialect {
        self.dialect
    }

    pub(crate) fn pool(&self) -> &AnyPool {
        &self.pool
    }

    /// Starts a unit of work: a connection with an open transaction.
    pub async fn unit(&self) -> Result<Unit> {
        let mut conn = self.pool.acquire().await?;
        let begin = match self.dialect {
            // Take the write lock up front: a read that later upgrades can deadlock.
            Dialect::Sqlite => "BEGIN IMMEDIATE",
            Dialect::Postgres => "BEGIN",
        };
        conn.execute(begin).await?;
        Ok(Unit {
            conn: Some(conn),
            dialect: self.dialect,
            savepoints: 0,
        })
    }
}

/// One connection with an open transaction. Dropping it without [`Unit::commit`] rolls back
/// (the connection is closed rather than returned to the pool mid-transaction).
pub struct Unit {
    conn: Option<PoolConnection<Any>>,
    dialect: Dialect,
    savepoints: u32,
}

impl std::fmt::Debug for Unit {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Unit")
            .field("dialect", &self.dialect)
            .field("savepoints", &self.savepoints)
            .finish()
    }
}

impl Unit {
    pub(crate) fn conn(&mut self) -> &mut sqlx::AnyConnection {
        self.conn.as_mut().expect("unit used after it ended")
    }

    pub fn dialect(&self) -> Dialect {
        self.dialect
    }

    /// Opens a savepoint; everything until the matching release or rollback can be undone alone.
    pub async fn savepoint(&mut self) -> Result<()> {
        self.savepoints += 1;
        let sql = format!("SAVEPOINT sp{}", self.savepoints);
        self.conn().execute(sql.as_str()).await?;
        Ok(())
    }

    /// Keeps what happened since the last savepoint.
    pub async fn release(&mut self) -> Result<()> {
        let sql = format!("RELEASE SAVEPOINT sp{}", self.savepoints);
        self.savepoints -= 1;
        self.conn().execute(sql.as_str()).await?;
        Ok(())
    }

    /// Undoes what happened since the last savepoint.
    pub async fn rollback_to_savepoint(&mut self) -> Result<()> {
        let n = self.savepoints;
        self.savepoints -= 1;
        let sql = format!("ROLLBACK TO SAVEPOINT sp{n}");
        self.conn().execute(sql.as_str()).await?;
        let sql = format!("RELEASE SAVEPOINT sp{n}");
        self.conn().execute(sql.as_str()).await?;
        Ok(())
    }

    pub async fn commit(mut self) -> Result<()> {
        let mut conn = self.conn.take().expect("unit used after it ended");
        conn.execute("COMMIT").await?;
        Ok(())
    }

    pub async fn rollback(mut self) -> Result<()> {
        let mut conn = self.conn.take().expect("unit used after it ended");
        conn.execute("ROLLBACK").await?;
        Ok(())
    }
}

impl Drop for Unit {
    fn drop(&mut self) {
        let Some(mut conn) = self.conn.take() else { return };
        // Never hand a connection with an open transaction back to the pool: roll back first,
        // or, outside a runtime, close the connection.
        match tokio::runtime::Handle::try_current() {
            Ok(handle) => {
                handle.spawn(async move {
                    if conn.execute("ROLLBACK").await.is_err() {
                        drop(conn.detach());
                    }
                });
            }
            Err(_) => drop(conn.detach()),
        }
    }
}

/// Milliseconds since the epoch, now.
pub fn now_ms() -> i64 {
    jiff::Timestamp::now().as_millisecond()
}

fn to_i64(n: u64) -> Result<i64> {
    i64::try_from(n).map_err(|_| StoreError::Invalid(format!("number {n} is out of range")))
}
