//! Which weft processes drain the queue, and taking over the claims of one that stopped.
//!
//! A drain claims events for a lease ([`super::queue`]). A process killed in the middle (by
//! `kill -9`, the kernel's out-of-memory killer, a full disk) leaves its claims leased, and
//! waiting the lease out is the fallback. Where the next process can know that the claimer
//! is gone, it takes the claims over at once:
//!
//! - **SQLite** has one writer at a time, so one process drains a file at a time. A process
//!   joins by taking an exclusive lock on a file beside the database (`weft.db-lock`: an
//!   advisory lock that the kernel releases when the process ends, however it ends) and
//!   writing who it is into it. Whoever holds the lock knows that every claim left in the
//!   database was made by a process that has stopped, and releases them all. A process that
//!   finds the lock held says who holds it and waits for it.
//! - **PostgreSQL** has several nodes at once. Each holds a session-level advisory lock keyed
//!   by its name, on a connection of its own, for as long as it may claim events; PostgreSQL
//!   releases it when that session ends (the process died, or its host did and TCP said so).
//!   A node that can take another node's lock knows that node is gone and releases its
//!   claims; it looks at every round of its drain.

use super::{Conn, Dialect, Result, Store, StoreError, now_ms, query};
use std::collections::BTreeSet;
use std::io::{Read as _, Seek as _, Write as _};
use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock, Weak};

/// Claims taken over from processes that stopped.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Takeover {
    /// Events whose claims were released, to be processed again from the start.
    pub events: u64,
    /// Who had claimed them, as far as is known (the process that last held an SQLite file,
    /// the nodes on PostgreSQL).
    pub from: Vec<String>,
}

impl Takeover {
    /// Adds what a later look took over.
    pub fn add(&mut self, other: Takeover) {
        self.events += other.events;
        for from in other.from {
            if !self.from.contains(&from) {
                self.from.push(from);
            }
        }
    }
}

impl std::fmt::Display for Takeover {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "resumed {} events left claimed by ", self.events)?;
        if self.from.is_empty() {
            write!(f, "a weft that stopped")
        } else {
            write!(f, "{}, which stopped", self.from.join("; "))
        }
    }
}

/// This process's name as a node: host, process id and start time, so that no other process,
/// here or on another host, before or after, has it.
pub fn process_node_name() -> &'static str {
    static NAME: OnceLock<String> = OnceLock::new();
    NAME.get_or_init(|| {
        let host = ["/proc/sys/kernel/hostname", "/etc/hostname"]
            .iter()
            .find_map(|file| std::fs::read_to_string(file).ok())
            .or_else(|| std::env::var("HOSTNAME").ok())
            .map(|h| h.trim().replace(':', "-"))
            .filter(|h| !h.is_empty())
            .unwrap_or_else(|| "host".to_owned());
        format!("{host}-{}-{:x}", std::process::id(), now_ms())
    })
}

/// What this process holds to drain a database: kept by the [`Store`] (shared by its clones)
/// and released when the last clone is dropped.
#[derive(Default)]
pub(crate) struct Membership {
    /// SQLite: this process's hold on the file's writer lock.
    lock: Option<Arc<FileLock>>,
    /// PostgreSQL: each node name this store drains as, with the connection whose session
    /// holds its advisory lock.
    sessions: Vec<(String, Conn)>,
}

impl Drop for Membership {
    fn drop(&mut self) {
        // A pooled connection would go back to the pool still holding its node's lock: close
        // it instead, which ends the session and so releases the lock.
        for (_, conn) in self.sessions.drain(..) {
            if let Conn::Postgres(conn) = conn {
                drop(conn.detach());
            }
        }
    }
}

/// The writer lock file of an SQLite database at `file`.
fn lock_file(file: &Path) -> PathBuf {
    let mut name = file.as_os_str().to_owned();
    name.push("-lock");
    PathBuf::from(name)
}

/// An exclusive lock on an SQLite database's lock file, held while the value lives.
struct FileLock {
    path: PathBuf,
    _file: std::fs::File,
}

/// The lock files this process holds, by path: a second store on the same file in this process
/// shares the lock instead of waiting for itself.
static HELD: tokio::sync::Mutex<Vec<(PathBuf, Weak<FileLock>)>> = tokio::sync::Mutex::const_new(Vec::new());

/// Who this process is, as written into the lock file.
fn who_am_i() -> String {
    let command: Vec<String> = std::env::args()
        .take(2)
        .enumerate()
        .map(|(i, arg)| {
            if i == 0 {
                Path::new(&arg)
                    .file_name()
                    .map(|n| n.to_string_lossy().into_owned())
                    .unwrap_or(arg)
            } else {
                arg
            }
        })
        .collect();
    format!(
        "weft process {} (`{}`, started {})",
        std::process::id(),
        command.join(" "),
        super::report::rfc3339(now_ms())
    )
}

/// Who holds the writer lock of the SQLite database at `file`, as the holder wrote it; None
/// when nobody does (or this process does).
pub(crate) fn lock_holder(file: &Path) -> Option<String> {
    let path = lock_file(file);
    let mut lock = std::fs::OpenOptions::new().read(true).open(&path).ok()?;
    match lock.try_lock_shared() {
        Ok(()) => None,
        Err(std::fs::TryLockError::WouldBlock) => {
            let mut text = String::new();
            lock.read_to_string(&mut text).ok()?;
            let text = text.trim();
            Some(if text.is_empty() {
                "another weft process".to_owned()
            } else {
                text.to_owned()
            })
        }
        Err(std::fs::TryLockError::Error(_)) => None,
    }
}

impl FileLock {
    /// Takes the lock on `path`, waiting for it when another process holds it (after telling
    /// `waiting` who does).
    async fn acquire(path: PathBuf, waiting: &(dyn Fn(&str) + Sync)) -> Result<Acquired> {
        let mut held = HELD.lock().await;
        held.retain(|(_, lock)| lock.strong_count() > 0);
        if let Some(lock) = held.iter().find(|(p, _)| *p == path).and_then(|(_, l)| l.upgrade()) {
            return Ok(Acquired::Shared(lock));
        }
        let fail = |e: std::io::Error| StoreError::Open {
            url: path.display().to_string(),
            problem: format!("cannot use the writer lock file: {e}"),
        };
        let file = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&path)
            .map_err(fail)?;
        let mut file = match file.try_lock() {
            Ok(()) => file,
            Err(std::fs::TryLockError::WouldBlock) => {
                let holder = read_all(&file).unwrap_or_default();
                let holder = holder.trim();
                waiting(if holder.is_empty() {
                    "another weft process"
                } else {
                    holder
                });
                tokio::task::spawn_blocking(move || file.lock().map(|()| file))
                    .await
                    .map_err(|e| fail(std::io::Error::other(e)))?
                    .map_err(fail)?
            }
            Err(std::fs::TryLockError::Error(e)) => return Err(fail(e)),
        };
        let previous = read_all(&file).map_err(fail)?.trim().to_owned();
        file.set_len(0).map_err(fail)?;
        file.rewind().map_err(fail)?;
        writeln!(file, "{}", who_am_i()).map_err(fail)?;
        file.flush().map_err(fail)?;
        let lock = Arc::new(FileLock {
            path: path.clone(),
            _file: file,
        });
        held.push((path, Arc::downgrade(&lock)));
        Ok(Acquired::Taken {
            lock,
            previous: Some(previous).filter(|p| !p.is_empty()),
        })
    }
}

/// What [`FileLock::acquire`] got.
enum Acquired {
    /// Another store of this process holds the lock: this one shares it.
    Shared(Arc<FileLock>),
    /// The lock was free or became free; `previous` is who held it last, as it wrote.
    Taken {
        lock: Arc<FileLock>,
        previous: Option<String>,
    },
}

fn read_all(mut file: &std::fs::File) -> std::io::Result<String> {
    let mut text = String::new();
    file.rewind()?;
    file.read_to_string(&mut text)?;
    Ok(text)
}

impl std::fmt::Debug for FileLock {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FileLock").field("path", &self.path).finish()
    }
}

/// The advisory lock key of a node name on PostgreSQL.
const NODE_KEY: &str = "hashtextextended('weft-node:' || $1, 0)";

impl Store {
    /// Joins the nodes that drain this database as `node` (the prefix of its claims, see
    /// [`Store::claim`]), and takes over the claims of processes that stopped. On SQLite this
    /// waits while another process drains the file, after calling `waiting` with who it is.
    /// Joining again (any clone of this store) takes nothing more over.
    pub async fn join(&self, node: &str, waiting: &(dyn Fn(&str) + Sync)) -> Result<Takeover> {
        let mut membership = self.membership.lock().await;
        match self.dialect() {
            Dialect::Sqlite => {
                let Some(file) = &self.file else {
                    return Ok(Takeover::default());
                };
                if membership.lock.is_some() {
                    return Ok(Takeover::default());
                }
                let previous = match FileLock::acquire(lock_file(file), waiting).await? {
                    // Another store of this process drains the file: nothing has stopped.
                    Acquired::Shared(lock) => {
                        membership.lock = Some(lock);
                        return Ok(Takeover::default());
                    }
                    Acquired::Taken { lock, previous } => {
                        membership.lock = Some(lock);
                        previous
                    }
                };
                // Only a process holding the lock claims events, so every claim still running
                // is a stopped process's.
                let released = release_claims(&mut self.conn().await?, "").await?;
                Ok(Takeover {
                    events: released,
                    from: previous.into_iter().filter(|_| released > 0).collect(),
                })
            }
            Dialect::Postgres => {
                if !membership.sessions.iter().any(|(name, _)| name == node) {
                    let mut conn = self.conn().await?;
                    let sql = format!("SELECT pg_try_advisory_lock({NODE_KEY}) AS locked");
                    let locked: bool = query(&sql).bind(node).fetch_one(&mut conn).await?.try_get("locked")?;
                    if !locked {
                        return Err(StoreError::Invalid(format!(
                            "another process drains this database as node `{node}`: give each node its own name"
                        )));
                    }
                    membership.sessions.push((node.to_owned(), conn));
                }
                take_over_stopped_nodes(&mut membership).await
            }
        }
    }

    /// On PostgreSQL, releases the claims of nodes whose session has ended (see the module
    /// documentation); on SQLite, where [`Store::join`] did it once, nothing. The store must
    /// have joined.
    pub async fn take_over_stopped(&self) -> Result<Takeover> {
        match self.dialect() {
            Dialect::Sqlite => Ok(Takeover::default()),
            Dialect::Postgres => take_over_stopped_nodes(&mut *self.membership.lock().await).await,
        }
    }
}

/// Releases the running claims whose name starts with `prefix` (all of them for ""), so that
/// their events can be claimed at once. Returns how many.
async fn release_claims(conn: &mut Conn, prefix: &str) -> Result<u64> {
    let done = query(
        "UPDATE events SET claimed_by = NULL, claimed_until = NULL
         WHERE state = 'pending' AND claimed_until >= $1 AND substr(claimed_by, 1, length($2)) = $2",
    )
    .bind(now_ms())
    .bind(prefix)
    .execute(conn)
    .await?;
    Ok(done.rows_affected())
}

/// Releases the running claims of every node whose advisory lock nobody holds.
async fn take_over_stopped_nodes(membership: &mut Membership) -> Result<Takeover> {
    let ours: Vec<String> = membership.sessions.iter().map(|(name, _)| name.clone()).collect();
    let Some((_, conn)) = membership.sessions.first_mut() else {
        return Err(StoreError::Invalid(
            "taking over stopped nodes needs a store that joined".to_owned(),
        ));
    };
    let now = now_ms();
    let rows = query("SELECT DISTINCT claimed_by FROM events WHERE state = 'pending' AND claimed_until >= $1")
        .bind(now)
        .fetch_all(&mut *conn)
        .await?;
    let mut claimers = BTreeSet::new();
    for row in rows {
        let claim: Option<String> = row.try_get("claimed_by")?;
        // A claim is `<node>:<round>`.
        if let Some((node, _)) = claim.as_deref().and_then(|c| c.rsplit_once(':'))
            && !ours.iter().any(|o| o == node)
        {
            claimers.insert(node.to_owned());
        }
    }
    let mut takeover = Takeover::default();
    for node in claimers {
        let sql = format!("SELECT pg_try_advisory_lock({NODE_KEY}) AS free");
        let free: bool = query(&sql).bind(&node).fetch_one(&mut *conn).await?.try_get("free")?;
        if !free {
            continue;
        }
        let released = release_claims(conn, &format!("{node}:")).await?;
        let sql = format!("SELECT pg_advisory_unlock({NODE_KEY}) AS unlocked");
        query(&sql).bind(&node).fetch_one(&mut *conn).await?;
        if released > 0 {
            takeover.events += released;
            takeover.from.push(format!("node {node}"));
        }
    }
    Ok(takeover)
}
