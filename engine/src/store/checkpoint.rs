//! Copying SQLite's write-ahead log back into the database file on a thread of its own.
//!
//! Every commit appends the pages it changed to the log; a checkpoint copies them into the
//! database file (with an fsync) so that the log can start over. Left to the writing
//! connection, the checkpoint runs inside a commit, on the thread that processes events, and
//! its cost grows with the file: the pages are scattered all over it. [`Checkpointer`] runs
//! passive checkpoints on a second connection every [`INTERVAL`] instead, so the copying
//! overlaps with processing. A passive checkpoint never waits for the writer and never blocks
//! it; the writer's own automatic checkpoint (`wal_autocheckpoint`) stays as the backstop and,
//! finding the pages already copied, only finishes the job so that the log can be reused.
//! Once nothing has been committed for [`IDLE`], the thread also cuts the log's file back to
//! nothing, which a file left at its largest size would otherwise keep while weft runs.

use std::path::PathBuf;
use std::sync::{Arc, Condvar, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// How often the log is copied back.
pub(crate) const INTERVAL: Duration = Duration::from_millis(250);

/// How long the log must stand still (nothing committed, everything copied) before its file is
/// cut back to nothing. Each time the writer pauses long enough for this thread to copy the
/// whole log, its next transaction starts the log over at its beginning and the file keeps the
/// size it reached: writing over pages the system already holds costs a copy, where a file cut
/// back on every start (`journal_size_limit`) is cut, its blocks freed and allocated again as
/// it regrows. Once the traffic stops, the space goes back to the disk.
#[cfg(not(test))]
pub(crate) const IDLE: Duration = Duration::from_secs(30);
#[cfg(test)]
pub(crate) const IDLE: Duration = Duration::from_millis(600);

/// The checkpoint thread; stopped (and joined) when dropped.
pub(crate) struct Checkpointer {
    stop: Arc<(Mutex<bool>, Condvar)>,
    thread: Option<JoinHandle<()>>,
}

impl std::fmt::Debug for Checkpointer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Checkpointer").finish_non_exhaustive()
    }
}

impl Checkpointer {
    /// Starts checkpointing the database file at `path` (already open, in WAL mode).
    pub(crate) fn start(path: PathBuf) -> std::io::Result<Checkpointer> {
        let stop = Arc::new((Mutex::new(false), Condvar::new()));
        let signal = Arc::clone(&stop);
        let thread = std::thread::Builder::new()
            .name("weft-checkpoint".into())
            .spawn(move || run(&path, &signal))?;
        Ok(Checkpointer {
            stop,
            thread: Some(thread),
        })
    }
}

impl Drop for Checkpointer {
    fn drop(&mut self) {
        let (stopped, wake) = &*self.stop;
        *stopped.lock().unwrap_or_else(|e| e.into_inner()) = true;
        wake.notify_all();
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

fn run(path: &std::path::Path, stop: &(Mutex<bool>, Condvar)) {
    use rusqlite::OpenFlags;
    let conn = match rusqlite::Connection::open_with_flags(
        path,
        OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    ) {
        Ok(conn) => conn,
        Err(error) => {
            tracing::warn!(path = %path.display(), %error, "no background checkpoints: the writer checkpoints alone");
            return;
        }
    };
    let (stopped, wake) = stop;
    let mut idle = Idle::default();
    loop {
        let done = stopped.lock().unwrap_or_else(|e| e.into_inner());
        let (done, _) = wake
            .wait_timeout_while(done, INTERVAL, |done| !*done)
            .unwrap_or_else(|e| e.into_inner());
        if *done {
            break;
        }
        drop(done);
        // The row it answers: busy (another checkpoint was running: what is left is copied
        // next time), frames in the log, frames copied.
        let result = conn.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |row| {
            Ok((row.get::<_, i64>(1)?, row.get::<_, i64>(2)?))
        });
        match result {
            Ok((log, copied)) => {
                if idle.observe(log, copied, Instant::now()) {
                    truncate(&conn, path);
                }
            }
            Err(error) => {
                tracing::debug!(path = %path.display(), %error, "background checkpoint failed; the next one retries");
            }
        }
    }
}

/// Whether the log has stood still, all copied, for [`IDLE`]: nothing was committed since.
#[derive(Debug, Default)]
struct Idle {
    /// The log's frames at the last check, and since when they have been that many.
    last: Option<(i64, Instant)>,
}

impl Idle {
    /// Takes what a passive checkpoint answered at `now`; true when the log should be cut back.
    fn observe(&mut self, log: i64, copied: i64, now: Instant) -> bool {
        if log <= 0 || copied < log {
            // Empty (nothing to cut back), or still being copied.
            self.last = None;
            return false;
        }
        match self.last {
            Some((frames, since)) if frames == log => now.duration_since(since) >= IDLE,
            _ => {
                self.last = Some((log, now));
                false
            }
        }
    }
}

/// Copies what is left and cuts the log file back to nothing. It must not wait for anyone:
/// the connection has no busy handler, so a writer or a reader on an older snapshot makes it
/// answer busy at once, and the next quiet moment tries again.
fn truncate(conn: &rusqlite::Connection, path: &std::path::Path) {
    match conn.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |row| row.get::<_, i64>(0)) {
        Ok(0) => tracing::debug!(path = %path.display(), "write-ahead log cut back after a quiet spell"),
        Ok(_) => {}
        Err(error) => {
            tracing::debug!(path = %path.display(), %error, "cutting the write-ahead log back failed; tried again later")
        }
    }
}

#[cfg(test)]
mod tests {
    use super::{IDLE, INTERVAL, Idle};
    use crate::store::{Store, query};
    use std::time::{Duration, Instant};

    /// The log is cut back only once it has stood still, all copied, for [`IDLE`].
    #[test]
    fn idle_after_a_quiet_spell() {
        let start = Instant::now();
        let at = |ms: u64| start + Duration::from_millis(ms);
        let idle_ms = IDLE.as_millis() as u64;
        // What it is fed (frames in the log, frames copied, milliseconds in) and whether it
        // says to cut back.
        type Step = (i64, i64, u64, bool);
        let cases: &[(&str, &[Step])] = &[
            (
                "an empty log is left alone",
                &[(0, 0, 0, false), (0, 0, idle_ms * 2, false)],
            ),
            (
                "copied and still for the whole spell",
                &[
                    (500, 500, 0, false),
                    (500, 500, idle_ms - 1, false),
                    (500, 500, idle_ms, true),
                ],
            ),
            (
                "new frames start the spell again",
                &[
                    (500, 500, 0, false),
                    (700, 700, idle_ms - 1, false),
                    (700, 700, idle_ms, false),
                    (700, 700, 2 * idle_ms - 1, true),
                ],
            ),
            (
                "frames not yet copied are no quiet",
                &[
                    (500, 400, 0, false),
                    (500, 400, idle_ms * 2, false),
                    (500, 500, idle_ms * 2, false),
                    (500, 500, idle_ms * 3, true),
                ],
            ),
            (
                "a log that started over is a new spell",
                &[
                    (500, 500, 0, false),
                    (20, 20, idle_ms, false),
                    (20, 20, idle_ms * 2, true),
                ],
            ),
        ];
        for (what, steps) in cases {
            let mut idle = Idle::default();
            for (n, &(log, copied, ms, expected)) in steps.iter().enumerate() {
                assert_eq!(idle.observe(log, copied, at(ms)), expected, "{what}: step {n}");
            }
        }
        assert!(INTERVAL < IDLE);
    }

    /// What a unit commits reaches the database file itself within a few intervals, long
    /// before the writer's own checkpoint (100,000 pages) would copy it; and the thread stops
    /// with the store.
    #[tokio::test]
    async fn commits_reach_the_file_in_the_background() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("weft.db");
        let store = Store::open(&format!("sqlite://{}", file.display())).await.unwrap();
        assert!(store._checkpointer.is_some(), "a file in WAL mode is checkpointed");
        let before = std::fs::metadata(&file).unwrap().len();
        let mut unit = store.unit().await.unwrap();
        for n in 0..2_000_i64 {
            query("INSERT INTO customers (created_at) VALUES ($1)")
                .bind(n)
                .execute(unit.conn())
                .await
                .unwrap();
            query("INSERT INTO identities (customer_id, kind, value, strong, score, created_at) VALUES ($1, 'name', $2, 0, 1.0, 0)")
                .bind(n + 1)
                .bind(format!("Søren Kierkegaard-Müller 山田 {n}"))
                .execute(unit.conn())
                .await
                .unwrap();
        }
        unit.commit().await.unwrap();
        let deadline = Instant::now() + Duration::from_secs(10);
        while std::fs::metadata(&file).unwrap().len() <= before {
            assert!(
                Instant::now() < deadline,
                "the database file never grew: no checkpoint ran"
            );
            tokio::time::sleep(super::INTERVAL).await;
        }
        // Nothing more is written: after a quiet spell the log's file is cut back to nothing.
        let log = dir.path().join("weft.db-wal");
        let deadline = Instant::now() + super::IDLE + Duration::from_secs(10);
        while std::fs::metadata(&log).map_or(0, |m| m.len()) > 0 {
            assert!(
                Instant::now() < deadline,
                "the write-ahead log was never cut back: {} bytes",
                std::fs::metadata(&log).unwrap().len()
            );
            tokio::time::sleep(super::INTERVAL).await;
        }
        // The store still reads and writes after the cut.
        let mut unit = store.unit().await.unwrap();
        query("INSERT INTO customers (created_at) VALUES (1)")
            .execute(unit.conn())
            .await
            .unwrap();
        unit.commit().await.unwrap();
        let mut unit = store.unit().await.unwrap();
        let count: i64 = query("SELECT COUNT(*) AS n FROM customers")
            .fetch_one(unit.conn())
            .await
            .unwrap()
            .try_get("n")
            .unwrap();
        assert_eq!(count, 2_001);
        drop(unit);
        drop(store);

        let memory = Store::open("sqlite::memory:").await.unwrap();
        assert!(memory._checkpointer.is_none(), "a memory database has no log to copy");
    }
}
