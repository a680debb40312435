//! The store: the only place that speaks SQL.
//!
//! One schema, two dialects: an SQLite file (the embedded default) and PostgreSQL (several
//! nodes sharing one database). Statements are written once, with `$N` parameters, and run
//! through [`sql`]: SQLite in-process on the caller's thread (rusqlite, one connection,
//! statements prepared once), PostgreSQL through sqlx's `Any` driver (a pool). Where the
//! dialects differ (claiming work, migrations) the code says so.
//!
//! Work on one event happens in a [`Unit`]: one connection with an open transaction, in which
//! the engine reads the context for each step and applies that step's commands, so later steps
//! see what earlier ones decided. A unit commits or rolls back as a whole; a dry run nests each
//! event in a savepoint of one outer transaction that is rolled back at the end.
//!
//! - [`ingest`]: raw traffic and normalized messages in, events queued.
//! - [`hooks`]: webhooks kept before they are answered; what the live loop of `weft serve` asks.
//! - [`queue`]: claiming events, finishing them, retries and dead letters.
//! - [`orders`]: orders and shipments as channels report them, and polled channels' cursors.
//! - [`outbox`]: messages to send, claimed before their channel is called, and their outcome.
//! - [`failures`]: steps that failed on an event processed anyway, until a replay succeeds.
//! - [`apply`]: commands applied inside a unit, and the decision log.
//! - [`context`]: the read-only queries steps make.
//! - [`manual`]: merges, unmerges and splits made by hand, with their decision-log rows.
//! - [`report`]: exports, explanations and the demo's summary.
//! - [`sla`]: replies and status changes stopping deadline clocks; the SLA report's rows.
//! - [`tokens`]: API tokens, kept as hashes.
//! - [`customers`]: customers with the evidence of their links, and customer search.
//! - [`tickets`]: ticket versions and what changed since one, agents' replies queued with a
//!   compare-and-set, drafts, and the API's reads of tickets.
//! - [`sql`]: one way to write a statement for both databases, and rows read by column name.
//! - [`checkpoint`]: an SQLite file's write-ahead log copied back on a thread of its own.
//! - [`node`]: which processes drain the queue; the claims of one that stopped taken over.
//! - [`changes`]: the change log (written by triggers) that feeds the live stream, in commit
//!   order on both databases, and what a client is shown of each change.
//! - [`presence`]: agents viewing or typing on a ticket, as rows with an expiry.

pub mod apply;
pub mod changes;
pub mod chat;
mod checkpoint;
pub mod context;
pub mod customers;
pub mod erasure;
pub mod failures;
pub mod hooks;
pub mod ingest;
pub mod manual;
pub mod models;
pub mod node;
pub mod orders;
pub mod outbox;
pub mod presence;
pub mod queue;
pub mod report;
pub mod sla;
mod sql;
pub mod tickets;
pub mod tokens;

pub(crate) use sql::{Conn, Row, query};

use sqlx::AnyPool;
use sqlx::any::{AnyConnectOptions, AnyPoolOptions};
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

static SQLITE_MIGRATIONS: sqlx::migrate::Migrator = sqlx::migrate!("src/store/migrations/sqlite");
static POSTGRES_MIGRATIONS: sqlx::migrate::Migrator = sqlx::migrate!("src/store/migrations/postgres");

/// How long a caller waits for the connection (SQLite) or a pooled one (PostgreSQL).
const ACQUIRE_TIMEOUT: Duration = Duration::from_secs(30);

/// How long an SQLite statement waits for another process's write lock before it fails.
const SQLITE_BUSY_TIMEOUT: Duration = Duration::from_secs(10);

/// What went wrong talking to the database.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("cannot open database `{url}`: {problem}")]
    Open { url: String, problem: String },
    #[error(
        "database `{url}` does not exist: there is no file {}; give the file that `weft run` wrote with --db or WEFT_DB",
        .path.display()
    )]
    Missing { url: String, path: std::path::PathBuf },
    #[error("database `{url}` holds no weft data (no weft migration was ever applied to it); check --db or WEFT_DB")]
    NotWeft { url: String },
    #[error(
        "database {} is locked: {holder} is writing to it, and it stayed locked for {} s; try again once it has finished",
        .file.display(),
        SQLITE_BUSY_TIMEOUT.as_secs()
    )]
    Locked { file: std::path::PathBuf, holder: String },
    #[error("unsupported database url `{0}`: expected sqlite://PATH, sqlite::memory: or postgres://...")]
    UnsupportedUrl(String),
    #[error("database migration failed: {0}")]
    Migrate(String),
    #[error("database error: {0}")]
    Sql(#[from] sqlx::Error),
    #[error("database error: {0}")]
    Sqlite(#[from] rusqlite::Error),
    #[error("the database connection stayed busy for {} s", ACQUIRE_TIMEOUT.as_secs())]
    Busy,
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
#[derive(Clone)]
pub struct Store {
    db: Db,
    /// Background checkpoints of a SQLite file (see `checkpoint.rs`); stops with the last clone.
    _checkpointer: Option<Arc<checkpoint::Checkpointer>>,
    /// The SQLite file; None for a memory database and PostgreSQL.
    file: Option<std::path::PathBuf>,
    /// What this process holds to drain the database (see `node.rs`); released with the last
    /// clone.
    membership: Arc<tokio::sync::Mutex<node::Membership>>,
}

#[derive(Clone)]
enum Db {
    /// One connection. Writers take turns anyway (`BEGIN IMMEDIATE`), and a connection's page
    /// cache is dropped whenever another connection has written, so with several every unit
    /// started cold and read its pages back through the kernel.
    Sqlite(Arc<tokio::sync::Mutex<sql::Sqlite>>),
    Postgres(AnyPool),
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store").field("dialect", &self.dialect()).finish()
    }
}

impl Store {
    /// Opens (creating it if needed) and migrates the database at `url`:
    /// `sqlite://weft.db`, `sqlite::memory:` or `postgres://user@host/db`.
    pub async fn open(url: &str) -> Result<Store> {
        Store::open_as(url, Create::Yes).await
    }

    /// Opens the database at `url` only if it exists and holds weft's tables (as any version
    /// of weft left them: it is migrated): for commands that read or change what is there,
    /// which on a mistyped path must say so instead of making an empty database.
    pub async fn open_existing(url: &str) -> Result<Store> {
        Store::open_as(url, Create::No).await
    }

    async fn open_as(url: &str, create: Create) -> Result<Store> {
        if url.starts_with("sqlite:") {
            let conn = open_sqlite(url, create)?;
            let file = conn.path().filter(|p| !p.is_empty()).map(std::path::PathBuf::from);
            let checkpointer = checkpointed_file(&conn)
                .map(checkpoint::Checkpointer::start)
                .transpose()
                .map_err(|e| StoreError::Open {
                    url: url.to_owned(),
                    problem: format!("cannot start the checkpoint thread: {e}"),
                })?;
            return Ok(Store {
                db: Db::Sqlite(Arc::new(tokio::sync::Mutex::new(sql::Sqlite::new(conn)))),
                _checkpointer: checkpointer.map(Arc::new),
                file,
                membership: Arc::default(),
            });
        }
        if !(url.starts_with("postgres:") || url.starts_with("postgresql:")) {
            return Err(StoreError::UnsupportedUrl(url.to_owned()));
        }
        sqlx::any::install_default_drivers();
        let open_err = |source: sqlx::Error| StoreError::Open {
            url: url.to_owned(),
            problem: source.to_string(),
        };
        let options = AnyConnectOptions::from_str(url).map_err(open_err)?;
        let pool = AnyPoolOptions::new()
            .max_connections(8)
            .acquire_timeout(ACQUIRE_TIMEOUT)
            .connect_with(options)
            .await
            .map_err(open_err)?;
        if create == Create::No {
            let row = query(
                "SELECT COUNT(*) AS n FROM information_schema.tables
                 WHERE table_schema = current_schema() AND table_name = '_sqlx_migrations'",
            )
            .fetch_one(&mut Conn::Postgres(pool.acquire().await?))
            .await?;
            if row.try_get::<i64>("n")? == 0 {
                return Err(StoreError::NotWeft { url: url.to_owned() });
            }
        }
        POSTGRES_MIGRATIONS
            .run(&pool)
            .await
            .map_err(|e| StoreError::Migrate(e.to_string()))?;
        Ok(Store {
            db: Db::Postgres(pool),
            _checkpointer: None,
            file: None,
            membership: Arc::default(),
        })
    }

    pub fn dialect(&self) -> Dialect {
        match self.db {
            Db::Sqlite(_) => Dialect::Sqlite,
            Db::Postgres(_) => Dialect::Postgres,
        }
    }

    /// A connection for statements outside a unit: each runs in its own transaction.
    pub(crate) async fn conn(&self) -> Result<Conn> {
        match &self.db {
            Db::Sqlite(conn) => tokio::time::timeout(ACQUIRE_TIMEOUT, Arc::clone(conn).lock_owned())
                .await
                .map(Conn::Sqlite)
                .map_err(|_| StoreError::Busy),
            Db::Postgres(pool) => Ok(Conn::Postgres(pool.acquire().await?)),
        }
    }

    /// Starts a unit of work: a connection with an open transaction.
    pub async fn unit(&self) -> Result<Unit> {
        let mut conn = self.conn().await?;
        let begin = match self.dialect() {
            // Take the write lock up front: a read that later upgrades can deadlock.
            Dialect::Sqlite => "BEGIN IMMEDIATE",
            Dialect::Postgres => "BEGIN",
        };
        conn.batch(begin).await.map_err(|error| self.explained(error))?;
        // On SQLite, what the last unit remembered of customers is still true when no other
        // connection has committed since: `data_version` changes only with other connections'
        // commits, and this connection's units keep what they remember true of their own
        // writes (`context::Remembered`).
        let (remembered, data_version) = match &mut conn {
            Conn::Sqlite(sqlite) => {
                let version: i64 = sqlite.conn.query_row("PRAGMA data_version", [], |row| row.get(0))?;
                let kept = sqlite
                    .remembered
                    .take()
                    .filter(|(at, _)| *at == version)
                    .map(|(_, remembered)| remembered);
                (Some(kept.unwrap_or_default()), version)
            }
            Conn::Postgres(_) => (None, 0),
        };
        Ok(Unit {
            conn: Some(conn),
            dialect: self.dialect(),
            savepoints: 0,
            held: None,
            remembered,
            data_version,
            log: apply::PendingLog::default(),
            author: None,
            model_versions: std::collections::HashMap::new(),
        })
    }
}

/// Whether opening a database may create it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Create {
    Yes,
    No,
}

impl Store {
    /// `error`, or, when it is SQLite's "database is locked", an error that says who holds the
    /// file (when a weft process does, from its writer lock file).
    fn explained(&self, error: StoreError) -> StoreError {
        let busy = matches!(
            &error,
            StoreError::Sqlite(rusqlite::Error::SqliteFailure(e, _)) if e.code == rusqlite::ErrorCode::DatabaseBusy
        );
        match (&self.file, busy) {
            (Some(file), true) => StoreError::Locked {
                holder: node::lock_holder(file).unwrap_or_else(|| "another process".to_owned()),
                file: file.clone(),
            },
            _ => error,
        }
    }
}

/// The file of a writable SQLite database in WAL mode, which gets background checkpoints;
/// None for a memory or read-only database.
fn checkpointed_file(conn: &rusqlite::Connection) -> Option<std::path::PathBuf> {
    let path = conn.path().filter(|p| !p.is_empty())?;
    if conn.is_readonly(rusqlite::MAIN_DB).unwrap_or(true) {
        return None;
    }
    let mode: String = conn.query_row("PRAGMA journal_mode", [], |row| row.get(0)).ok()?;
    mode.eq_ignore_ascii_case("wal").then(|| path.into())
}

/// Opens the SQLite file (or memory database) of `url` and brings its schema up to date.
fn open_sqlite(url: &str, create: Create) -> Result<rusqlite::Connection> {
    use rusqlite::OpenFlags;
    let open_err = |problem: String| StoreError::Open {
        url: url.to_owned(),
        problem,
    };
    let rest = url
        .strip_prefix("sqlite://")
        .or_else(|| url.strip_prefix("sqlite:"))
        .unwrap_or(url);
    let (path, options) = rest.split_once('?').unwrap_or((rest, ""));
    let mut flags = OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_CREATE;
    for option in options.split('&').filter(|o| !o.is_empty()) {
        flags = match option {
            "mode=rwc" => OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_CREATE,
            "mode=rw" => OpenFlags::SQLITE_OPEN_READ_WRITE,
            "mode=ro" => OpenFlags::SQLITE_OPEN_READ_ONLY,
            "mode=memory" => flags | OpenFlags::SQLITE_OPEN_MEMORY,
            other => {
                return Err(open_err(format!(
                    "unknown option `{other}`: expected mode=rwc, mode=rw, mode=ro or mode=memory"
                )));
            }
        };
    }
    let memory = path == ":memory:" || path.is_empty() || flags.contains(OpenFlags::SQLITE_OPEN_MEMORY);
    if create == Create::No && !memory {
        flags.remove(OpenFlags::SQLITE_OPEN_CREATE);
        if !std::path::Path::new(path).exists() {
            return Err(StoreError::Missing {
                url: url.to_owned(),
                path: path.into(),
            });
        }
    }
    flags |= OpenFlags::SQLITE_OPEN_NO_MUTEX | OpenFlags::SQLITE_OPEN_URI;
    let conn = if path == ":memory:" || path.is_empty() {
        rusqlite::Connection::open_in_memory()
    } else {
        rusqlite::Connection::open_with_flags(path, flags)
    }
    .map_err(|e| open_err(e.to_string()))?;
    conn.set_prepared_statement_cache_capacity(sql::STATEMENT_CACHE);
    // The query planner stability guarantee: a statement's plan comes from its text alone, never
    // from the values bound to it. Without it, SQLite (built with STAT4, as rusqlite's bundled
    // copy is) peeks at bound values while planning and marks the statement to be prepared
    // again whenever such a parameter is bound anew: a cached statement was then parsed and
    // planned again on every run. Profiled on the identity benchmark's drain (5,000
    // messages, `perf record --call-graph dwarf`), `sqlite3Reprepare` under `sqlite3_step`
    // was 10.8% of the samples, nearly all of them in the context reads a step makes
    // (`read_found`, `order_tickets`, `read_customer_tickets`, `ticket_messages`). No plan
    // depends on a bound value: the conditions of partial indexes are written out in the
    // statements' text (see `read_found`).
    conn.set_db_config(rusqlite::config::DbConfig::SQLITE_DBCONFIG_ENABLE_QPSG, true)
        .map_err(|e| open_err(e.to_string()))?;
    // Before anything writes to it (switching to WAL rewrites the header of an empty file).
    if create == Create::No && !memory {
        let weft: i64 = conn
            .query_row(
                "SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name = '_sqlx_migrations'",
                [],
                |row| row.get(0),
            )
            .map_err(|e| open_err(e.to_string()))?;
        if weft == 0 {
            return Err(StoreError::NotWeft { url: url.to_owned() });
        }
    }
    conn.busy_timeout(SQLITE_BUSY_TIMEOUT)
        .map_err(|e| open_err(e.to_string()))?;
    // Lookups walk indexes all over a growing file: keep more of its pages than SQLite's
    // default 2 MiB, or every lookup becomes a read() once the file outgrows it. (A memory map
    // was tried: remapping the growing file cost more than it saved; a 256 MiB cache made no
    // measurable difference on the identity benchmark.)
    // The write-ahead log is copied back by the checkpoint thread (`checkpoint.rs`). It can
    // only start over when everything in it was copied before a write transaction begins; a
    // busy writer begins the next one right after each commit, so it never does, and the log
    // grows until the writer's own automatic checkpoint copies the rest, with two fsyncs, on
    // the thread that processes events. At 10,000 pages that happened every eleven commits of
    // the identity benchmark's 50,000 messages (commits 0.87 s in all); at 100,000 pages
    // (about 400 MiB) a tenth as often (0.65 s). Once the writer pauses, the checkpoint thread
    // catches up and the next transaction starts the log over, writing over the file from its
    // beginning. The file keeps its size while events flow (no `journal_size_limit`: cutting
    // it back at every start, to 64 MiB, cost the 50,000-message run 0.07 s of system time in
    // truncating and regrowing it); the checkpoint thread cuts it back to nothing once the
    // writer has been quiet for a while (`checkpoint::IDLE`).
    //
    // Temporary storage in memory: a statement that may fail halfway through inside a
    // transaction (the log's multi-row inserts, any insert under a constraint) keeps the pages
    // it changes in a statement journal, so that it can be undone alone. Past 64 KiB that
    // journal goes to a temporary file, and once an index has more leaves than such a
    // statement has rows, nearly every row changes a page of its own: on the identity
    // benchmark the drain of 50,000 messages wrote 259 MiB to these files (of 596 MiB written
    // in all, the log and the checkpoints included; 13 MiB at 5,000 messages, so 20 times as
    // much for 10 times the traffic), in 130,000 write calls. In memory, a journal holds what
    // one statement changes (a few hundred KiB for 64 rows) and is freed when it ends. The
    // setting keeps sorts and temporary tables in memory too; the benchmark's peak memory,
    // its quality report included, did not grow (458-463 MiB).
    conn.execute_batch(
        "PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; PRAGMA cache_size = -32768;
         PRAGMA wal_autocheckpoint = 100000; PRAGMA foreign_keys = ON; PRAGMA temp_store = MEMORY;",
    )
    .map_err(|e| open_err(e.to_string()))?;
    migrate_sqlite(&conn).map_err(|e| StoreError::Migrate(e.to_string()))?;
    Ok(conn)
}

/// Applies the SQLite migrations not yet applied, keeping sqlx's bookkeeping table
/// (`_sqlx_migrations`), so files made by earlier versions of weft open unchanged.
fn migrate_sqlite(conn: &rusqlite::Connection) -> Result<(), String> {
    migrate_sqlite_through(conn, i64::MAX)
}

/// [`migrate_sqlite`] up to and including migration `last` (a test makes a file as an earlier
/// version left it).
fn migrate_sqlite_through(conn: &rusqlite::Connection, last: i64) -> Result<(), String> {
    conn.execute_batch(
        "CREATE TABLE IF NOT EXISTS _sqlx_migrations (
             version BIGINT PRIMARY KEY, description TEXT NOT NULL,
             installed_on TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP, success BOOLEAN NOT NULL,
             checksum BLOB NOT NULL, execution_time BIGINT NOT NULL)",
    )
    .map_err(|e| e.to_string())?;
    for migration in SQLITE_MIGRATIONS.iter().filter(|m| m.version <= last) {
        let applied: Option<Vec<u8>> = conn
            .query_row(
                "SELECT checksum FROM _sqlx_migrations WHERE version = ?1 AND success",
                [migration.version],
                |row| row.get(0),
            )
            .map(Some)
            .or_else(|e| match e {
                rusqlite::Error::QueryReturnedNoRows => Ok(None),
                e => Err(e.to_string()),
            })?;
        match applied {
            Some(checksum) if checksum == *migration.checksum => continue,
            Some(_) => {
                return Err(format!(
                    "migration {} ({}) was changed after it was applied to this database",
                    migration.version, migration.description
                ));
            }
            None => {}
        }
        let started = std::time::Instant::now();
        let script = format!("BEGIN; {}\n; COMMIT;", migration.sql.as_str());
        conn.execute_batch(&script).map_err(|e| {
            let _ = conn.execute_batch("ROLLBACK");
            format!("migration {} ({}): {e}", migration.version, migration.description)
        })?;
        conn.execute(
            "INSERT INTO _sqlx_migrations (version, description, success, checksum, execution_time)
             VALUES (?1, ?2, TRUE, ?3, ?4)",
            rusqlite::params![
                migration.version,
                &*migration.description,
                &*migration.checksum,
                started.elapsed().as_nanos() as i64
            ],
        )
        .map_err(|e| e.to_string())?;
    }
    Ok(())
}

/// One connection with an open transaction. Dropping it without [`Unit::commit`] rolls back.
pub struct Unit {
    conn: Option<Conn>,
    dialect: Dialect,
    savepoints: u32,
    /// What was read while reads are held still ([`Unit::hold_reads`]).
    held: Option<context::Held>,
    /// Customer reads answered again from memory ([`context::Remembered`]).
    remembered: Option<context::Remembered>,
    /// SQLite's `PRAGMA data_version` when the unit began: what it remembers is handed to the
    /// next unit with it when it commits.
    data_version: i64,
    /// Decision-log rows not written yet ([`Unit::log_step`]).
    log: apply::PendingLog,
    /// Who the changes of this unit are made for (an agent's token name), when a person.
    author: Option<String>,
    /// Versions of stored models read by this unit ([`Unit::model_version`]).
    model_versions: std::collections::HashMap<String, Option<u64>>,
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
    pub(crate) fn conn(&mut self) -> &mut Conn {
        self.conn.as_mut().expect("unit used after it ended")
    }

    pub fn dialect(&self) -> Dialect {
        self.dialect
    }

    /// Makes the ticket changes of this unit on behalf of `name` (an agent's token name).
    pub fn act_for(&mut self, name: &str) {
        self.author = Some(name.to_owned());
    }

    /// Promises that nothing is written through this unit until [`Unit::release_reads`], so
    /// what is read meanwhile may be answered again from memory: a step's reads while it
    /// decides (steps only read; the engine writes once they have answered). An identity step
    /// finds the same customer through the email, the phone and the buyer id of one message;
    /// the merger reads a customer's tickets for two of its rules.
    pub fn hold_reads(&mut self) {
        self.held = Some(context::Held::default());
        if self.remembered.is_none() {
            self.remembered = Some(context::Remembered::default());
        }
    }

    /// Ends [`Unit::hold_reads`]: later reads go to the database again (on SQLite, customer
    /// reads are remembered for the whole unit: see [`context::Remembered`]).
    pub fn release_reads(&mut self) {
        self.held = None;
        if self.dialect != Dialect::Sqlite {
            self.remembered = None;
        }
    }

    /// Opens a savepoint; everything until the matching release or rollback can be undone alone.
    pub async fn savepoint(&mut self) -> Result<()> {
        // What was logged before the savepoint is kept by a rollback to it.
        self.flush_log().await?;
        self.savepoints += 1;
        let sql = format!("SAVEPOINT sp{}", self.savepoints);
        self.conn().batch(&sql).await
    }

    /// Keeps what happened since the last savepoint.
    pub async fn release(&mut self) -> Result<()> {
        let sql = format!("RELEASE SAVEPOINT sp{}", self.savepoints);
        self.savepoints -= 1;
        self.conn().batch(&sql).await
    }

    /// Undoes what happened since the last savepoint.
    pub async fn rollback_to_savepoint(&mut self) -> Result<()> {
        let n = self.savepoints;
        self.savepoints -= 1;
        self.discard_log();
        self.forget_customers();
        self.conn().batch(&format!("ROLLBACK TO SAVEPOINT sp{n}")).await?;
        self.conn().batch(&format!("RELEASE SAVEPOINT sp{n}")).await
    }

    pub async fn commit(mut self) -> Result<()> {
        self.flush_log().await?;
        self.conn().batch("COMMIT").await?;
        // Committed: nothing is left for `drop` to roll back. (A failed COMMIT leaves the
        // connection with the unit, whose `drop` rolls the transaction back, and what it
        // remembered is dropped with it, as after any rollback.)
        if let (Some(Conn::Sqlite(sqlite)), Some(remembered)) = (self.conn.as_mut(), self.remembered.take()) {
            sqlite.remembered = Some((self.data_version, remembered));
        }
        self.conn = None;
        Ok(())
    }

    /// Rolls the unit back. A transaction that SQLite already rolled back itself (it does
    /// after a full disk, an I/O error or running out of memory) is done with: rolling it
    /// back again would only fail with "no transaction is active" and hide why it ended.
    pub async fn rollback(mut self) -> Result<()> {
        let mut conn = self.conn.take().expect("unit used after it ended");
        if let Conn::Sqlite(sqlite) = &conn
            && sqlite.conn.is_autocommit()
        {
            return Ok(());
        }
        conn.batch("ROLLBACK").await
    }
}

impl Drop for Unit {
    fn drop(&mut self) {
        match self.conn.take() {
            None => {}
            // In-process: roll back here and now, before the connection is unlocked.
            Some(Conn::Sqlite(conn)) => {
                if conn.conn.is_autocommit() {
                    // SQLite ended the transaction itself (see `Unit::rollback`).
                } else if let Err(error) = conn.conn.execute_batch("ROLLBACK") {
                    tracing::warn!(%error, "rolling back an abandoned unit failed");
                }
            }
            // Never hand a connection with an open transaction back to the pool: roll back
            // first, or, outside a runtime, close the connection.
            Some(Conn::Postgres(mut conn)) => match tokio::runtime::Handle::try_current() {
                Ok(handle) => {
                    handle.spawn(async move {
                        if sqlx::Executor::execute(&mut *conn, "ROLLBACK").await.is_err() {
                            drop(conn.detach());
                        }
                    });
                }
                Err(_) => drop(conn.detach()),
            },
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

#[cfg(test)]
mod tests {
    use super::{Store, migrate_sqlite_through, query};

    /// A file as the version with migrations up to `last` left it, holding `rows` (SQL
    /// statements), opened by this version (which applies the later migrations). The directory
    /// holds the file: keep it while the store is used.
    async fn store_made_through(last: i64, rows: &str) -> (tempfile::TempDir, Store) {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("weft.db");
        {
            let conn = rusqlite::Connection::open(&file).unwrap();
            migrate_sqlite_through(&conn, last).unwrap();
            conn.execute_batch(rows).unwrap();
        }
        let store = Store::open(&format!("sqlite://{}", file.display())).await.unwrap();
        (dir, store)
    }

    /// The SQLite bundled with weft (rusqlite's `bundled` feature) carries the 2025 security
    /// fixes: CVE-2025-6965, memory corruption when an aggregate query has more terms than
    /// SQLite can count, is fixed in 3.50.2 (NVD; sqlite.org/cves.html). Asked of a store's
    /// own connection, so it is the library weft runs on.
    #[tokio::test]
    async fn bundled_sqlite_has_the_2025_security_fixes() {
        let store = Store::open("sqlite::memory:").await.unwrap();
        let mut unit = store.unit().await.unwrap();
        let version: String = query("SELECT sqlite_version() AS v")
            .fetch_one(unit.conn())
            .await
            .unwrap()
            .try_get("v")
            .unwrap();
        let parts: Vec<u32> = version.split('.').map(|p| p.parse().unwrap()).collect();
        assert!(parts >= vec![3, 50, 2], "SQLite {version} is older than 3.50.2");
    }

    /// A file made before migration 11 marks the customers that were merged into or split:
    /// their views still show the whole family and the customers kept apart.
    #[tokio::test]
    async fn merges_and_splits_made_before_migration_11_are_still_followed() {
        // The file as the version before migration 11 left it: 2 merged into 3, 5 split from
        // 4, 1 alone.
        let (_dir, store) = store_made_through(
            10,
            "INSERT INTO customers (id, created_at, merged_into) VALUES
                 (1, 1, NULL), (2, 2, 3), (3, 3, NULL), (4, 4, NULL), (5, 5, NULL);
             INSERT INTO identities (customer_id, kind, value, strong, score, created_at) VALUES
                 (1, 'email', 'anna@example.de', 1, 1.0, 1),
                 (2, 'email', 'chen.wei@example.cn', 1, 1.0, 2),
                 (3, 'phone', '+8613812345678', 1, 1.0, 3),
                 (4, 'email', 'lucia@example.es', 1, 1.0, 4),
                 (5, 'email', 'lucia.g@example.es', 1, 1.0, 5);
             INSERT INTO customer_merges (into_id, from_id, reason, created_at) VALUES (3, 2, 'same phone', 6);
             INSERT INTO customer_splits (kept_id, split_id, reason, created_at) VALUES (4, 5, 'two people', 7);",
        )
        .await;
        let mut unit = store.unit().await.unwrap();
        let related: Vec<(i64, i64)> = query("SELECT id, related FROM customers ORDER BY id")
            .fetch_all(unit.conn())
            .await
            .unwrap()
            .iter()
            .map(|r| (r.try_get("id").unwrap(), r.try_get("related").unwrap()))
            .collect();
        assert_eq!(related, [(1, 0), (2, 0), (3, 1), (4, 1), (5, 1)]);
        let found = unit
            .find_customers(&weft_sdk::Identity::new(
                weft_sdk::IdentityKind::Phone,
                "+8613812345678",
            ))
            .await
            .unwrap();
        let values: Vec<&str> = found[0].identities.iter().map(|i| i.value.as_str()).collect();
        assert_eq!((found.len(), found[0].id), (1, 3));
        assert_eq!(values, ["chen.wei@example.cn", "+8613812345678"]);
        let view = unit.customer_view(5).await.unwrap().unwrap();
        assert_eq!(view.kept_apart, [4]);
    }

    /// A file made before migration 9 keeps every identity row and its id, and then holds the
    /// two rules: a strong identifier belongs to one customer, any other identity is recorded
    /// once per customer.
    #[tokio::test]
    async fn identities_keep_their_rows_through_the_uniqueness_migration() {
        // The file as the version before migration 9 left it.
        let (_dir, store) = store_made_through(
            8,
            "INSERT INTO identities (id, customer_id, kind, value, strong, message_id, score, created_at) VALUES
                 (7, 1, 'email', 'jurgen.muller@example.de', 1, 3, 1.0, 10),
                 (8, 1, 'name', 'jürgen müller', 0, 3, 1.0, 10),
                 (12, 2, 'name', 'jürgen müller', 0, NULL, 0.93, 11),
                 (13, 2, 'phone', '+81312345678', 1, 4, 1.0, 12),
                 (14, 2, 'name', 'blk:cjk-山|JP-150', 0, 4, 1.0, 12)",
        )
        .await;
        let mut unit = store.unit().await.unwrap();
        // id, customer, kind, value, strong, message, score, created.
        type Row = (i64, i64, String, String, i64, Option<i64>, f64, i64);
        let rows: Vec<Row> = query(
            "SELECT id, customer_id, kind, value, strong, message_id, score, created_at FROM identities ORDER BY id",
        )
        .fetch_all(unit.conn())
        .await
        .unwrap()
        .iter()
        .map(|r| {
            (
                r.try_get("id").unwrap(),
                r.try_get("customer_id").unwrap(),
                r.try_get("kind").unwrap(),
                r.try_get("value").unwrap(),
                r.try_get("strong").unwrap(),
                r.try_get("message_id").unwrap(),
                r.try_get("score").unwrap(),
                r.try_get("created_at").unwrap(),
            )
        })
        .collect();
        assert_eq!(
            rows,
            [
                (
                    7,
                    1,
                    "email".into(),
                    "jurgen.muller@example.de".into(),
                    1,
                    Some(3),
                    1.0,
                    10
                ),
                (8, 1, "name".into(), "jürgen müller".into(), 0, Some(3), 1.0, 10),
                (12, 2, "name".into(), "jürgen müller".into(), 0, None, 0.93, 11),
                (13, 2, "phone".into(), "+81312345678".into(), 1, Some(4), 1.0, 12),
                (14, 2, "name".into(), "blk:cjk-山|JP-150".into(), 0, Some(4), 1.0, 12),
            ]
        );

        // (customer, kind, value, strong; rows inserted)
        let cases: &[(i64, &str, &str, i64, u64)] = &[
            (2, "email", "jurgen.muller@example.de", 1, 0),
            (1, "email", "jurgen.muller@example.de", 1, 0),
            (1, "phone", "+81312345678", 1, 0),
            (3, "name", "jürgen müller", 0, 1),
            (2, "name", "jürgen müller", 0, 0),
            (1, "name", "blk:cjk-山|JP-150", 0, 1),
            (3, "email", "jürgen@例え.jp", 1, 1),
        ];
        for &(customer, kind, value, strong, expected) in cases {
            let inserted = query(
                "INSERT INTO identities (customer_id, kind, value, strong, score, created_at)
                 VALUES ($1, $2, $3, $4, 1.0, 0) ON CONFLICT DO NOTHING",
            )
            .bind(customer)
            .bind(kind)
            .bind(value)
            .bind(strong)
            .execute(unit.conn())
            .await
            .unwrap();
            assert_eq!(
                inserted.rows_affected(),
                expected,
                "customer {customer}, {kind} {value}"
            );
        }
        // New rows take ids after the highest kept.
        let row = query("SELECT MIN(id) AS first, COUNT(*) AS n FROM identities WHERE created_at = 0")
            .fetch_one(unit.conn())
            .await
            .unwrap();
        let (first, n): (i64, i64) = (row.try_get("first").unwrap(), row.try_get("n").unwrap());
        assert!(first > 14, "a new row took id {first}");
        assert_eq!(n, 3);
    }
}
