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

use std::path::PathBuf;
use std::sync::{Arc, Condvar, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

/// How often the log is copied back.
pub(crate) const INTERVAL: Duration = Duration::from_millis(250);

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
    loop {
        let done = stopped.lock().unwrap_or_else(|e| e.into_inner());
        let (done, _) = wake
            .wait_timeout_while(done, INTERVAL, |done| !*done)
            .unwrap_or_else(|e| e.into_inner());
        if *done {
            break;
        }
        drop(done);
        // The row it answers (busy, frames in the log, frames copied) needs no action: busy
        // only means another checkpoint was running, and what is left is copied next time.
        let result = conn.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |_| Ok(()));
        if let Err(error) = result {
            tracing::debug!(path = %path.display(), %error, "background checkpoint failed; the next one retries");
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::store::{Store, query};
    use std::time::{Duration, Instant};

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
        drop(store);

        let memory = Store::open("sqlite::memory:").await.unwrap();
        assert!(memory._checkpointer.is_none(), "a memory database has no log to copy");
    }
}
