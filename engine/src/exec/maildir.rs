//! The Maildir reader of `weft serve`: the folders a mount's `maildir:` names are watched
//! (with `notify`), and each new mail is kept as traffic of that hook, then parsed like a
//! webhook by the live loop.
//!
//! **Nothing read twice, nothing lost.** A mail in `new/` is read, kept in the store (its own
//! committed transaction, as a webhook is kept before its 2xx), and only then moved to `cur/`
//! with the Maildir info `:2,S` (seen), as mail clients do: the folder itself says what weft
//! has read, and any other reader of the Maildir sees it as read. Should weft stop between
//! keeping and moving, the mail is still in `new/` at the next start: it is kept again, and the
//! store recognizes the same bytes on the same hook (the webhook digest) and keeps it once,
//! then it is moved. Mail that the channel cannot parse is dead-lettered with the plugin's
//! reason by the live loop, like any other traffic; the raw mail stays in the store.
//!
//! Only `new/` is read (mail that arrived and no client has seen), never `tmp/` (still being
//! written) or `cur/`. Mail already in `new/` when `weft serve` starts is read first. Besides
//! the file events, every folder is looked at again every [`RESCAN`], so a missed event delays
//! a mail, never loses it.

use super::{HookError, Live};
use notify::{EventKind, RecursiveMode, Watcher as _};
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{mpsc, watch};
use weft_sdk::Inbound;

/// How often every folder is looked at again without a file event.
pub const RESCAN: Duration = Duration::from_secs(30);
/// The largest mail read; a larger one stays in `new/`, logged, for a person to look at.
pub const MAX_MAIL_BYTES: u64 = 50 * 1024 * 1024;
/// How long to wait after a failure to keep a mail (the database was away).
const ERROR_PAUSE: Duration = Duration::from_secs(1);

/// One watched folder of one mount.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
struct Folder {
    hook: String,
    path: PathBuf,
}

/// What one look at a folder did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Read {
    /// Mails kept now.
    pub kept: usize,
    /// Mails kept before (a restart between keeping and moving): moved now.
    pub seen_before: usize,
    /// Mails left in `new/`: refused by the channel, too large, or not kept (the store failed).
    pub left: usize,
}

/// The Maildir reader: runs beside the live loop, on its store and pipeline.
#[derive(Debug)]
pub struct Mailboxes {
    live: Arc<Live>,
}

impl Mailboxes {
    pub fn new(live: Arc<Live>) -> Mailboxes {
        Mailboxes { live }
    }

    /// The folders the loaded channels file names, by hook.
    fn folders(&self) -> BTreeSet<Folder> {
        self.live
            .pipeline()
            .channels
            .mounts
            .iter()
            .flat_map(|mount| {
                mount.maildir.iter().map(|path| Folder {
                    hook: mount.id.to_string(),
                    path: path.clone(),
                })
            })
            .collect()
    }

    /// Reads until `shutdown` turns true: every folder at once, then again on each file event
    /// in a `new/` folder and every [`RESCAN`]. The folders follow the channels file as it is
    /// reloaded.
    pub async fn run(self, mut shutdown: watch::Receiver<bool>) {
        let (events_in, mut events) = mpsc::unbounded_channel::<()>();
        let mut watched: BTreeSet<Folder> = BTreeSet::new();
        let mut watcher: Option<notify::RecommendedWatcher> = None;
        loop {
            if *shutdown.borrow() {
                break;
            }
            let folders = self.folders();
            if folders != watched {
                watcher = watch_folders(&folders, events_in.clone());
                watched = folders;
            }
            let mut pause = RESCAN;
            for folder in &watched {
                match self.read(&folder.hook, &folder.path).await {
                    Ok(read) if read.left > 0 => {
                        tracing::warn!(hook = %folder.hook, folder = %folder.path.display(), left = read.left, "mail left in new/")
                    }
                    Ok(_) => {}
                    Err(error) => {
                        tracing::error!(hook = %folder.hook, folder = %folder.path.display(), %error, "reading the Maildir failed; trying again");
                        pause = ERROR_PAUSE;
                    }
                }
            }
            if watched.is_empty() {
                pause = Duration::from_secs(1);
            }
            tokio::select! {
                Some(()) = events.recv() => {
                    // A burst of deliveries is many events: take them all, read once.
                    while events.try_recv().is_ok() {}
                }
                () = tokio::time::sleep(pause) => {}
                _ = shutdown.changed() => {}
            }
        }
        drop(watcher);
        tracing::info!("Maildir reader stopped");
    }

    /// Reads what is in `folder`'s `new/` now, for `hook`: each mail kept, then moved to
    /// `cur/`. An error only when the folder cannot be listed or the store failed.
    pub async fn read(&self, hook: &str, folder: &Path) -> anyhow::Result<Read> {
        let mut names: Vec<String> = std::fs::read_dir(folder.join("new"))?
            .filter_map(|entry| entry.ok())
            .filter(|entry| entry.file_type().is_ok_and(|t| t.is_file()))
            .filter_map(|entry| entry.file_name().into_string().ok())
            .filter(|name| !name.starts_with('.'))
            .collect();
        // Maildir names begin with the delivery time: in name order is in arrival order.
        names.sort();
        let mut read = Read::default();
        for name in names {
            let path = folder.join("new").join(&name);
            let size = match std::fs::metadata(&path) {
                Ok(meta) => meta.len(),
                // Moved away by another reader meanwhile: not ours to read.
                Err(_) => continue,
            };
            if size > MAX_MAIL_BYTES {
                tracing::error!(hook, mail = %path.display(), size, limit = MAX_MAIL_BYTES, "mail larger than the limit left in new/");
                read.left += 1;
                continue;
            }
            let Ok(body) = std::fs::read(&path) else { continue };
            let inbound = Inbound {
                source: path.display().to_string(),
                hook: Some(hook.to_owned()),
                received_at: crate::store::now_ms(),
                content_type: Some("message/rfc822".to_owned()),
                headers: Vec::new(),
                body,
            };
            match self.live.receive(hook, inbound).await {
                Ok(receipt) => {
                    match receipt {
                        super::Receipt::Kept(id) => {
                            tracing::info!(hook, mail = %name, inbound = id, "mail kept");
                            read.kept += 1;
                        }
                        super::Receipt::Duplicate(id) => {
                            tracing::info!(hook, mail = %name, inbound = id, "mail kept before, now marked read");
                            read.seen_before += 1;
                        }
                    }
                    mark_seen(folder, &name)?;
                }
                Err(error @ HookError::Store { .. }) => return Err(error.into()),
                Err(error) => {
                    tracing::warn!(hook, mail = %name, %error, "mail not kept, left in new/");
                    read.left += 1;
                }
            }
        }
        Ok(read)
    }
}

/// Moves `new/NAME` to `cur/NAME:2,S` (the info part kept, `S` added, flags in ASCII order).
fn mark_seen(folder: &Path, name: &str) -> std::io::Result<()> {
    let (base, flags) = match name.split_once(":2,") {
        Some((base, flags)) => (base, flags.to_owned()),
        None => (name, String::new()),
    };
    let mut flags: Vec<char> = flags.chars().chain(['S']).collect();
    flags.sort_unstable();
    flags.dedup();
    let seen = format!("{base}:2,{}", flags.into_iter().collect::<String>());
    std::fs::rename(folder.join("new").join(name), folder.join("cur").join(seen))
}

/// A watcher of the `new/` folders, sending a unit on every change; none (logged) when the
/// system refuses one: the rescans still read everything.
fn watch_folders(folders: &BTreeSet<Folder>, events: mpsc::UnboundedSender<()>) -> Option<notify::RecommendedWatcher> {
    if folders.is_empty() {
        return None;
    }
    let mut watcher = match notify::recommended_watcher(move |event: notify::Result<notify::Event>| {
        if event.is_ok_and(|e| !matches!(e.kind, EventKind::Access(_))) {
            let _ = events.send(());
        }
    }) {
        Ok(watcher) => watcher,
        Err(error) => {
            tracing::error!(%error, rescan = ?RESCAN, "cannot watch Maildir folders; reading them every rescan only");
            return None;
        }
    };
    for folder in folders {
        let new = folder.path.join("new");
        if let Err(error) = watcher.watch(&new, RecursiveMode::NonRecursive) {
            tracing::error!(hook = %folder.hook, folder = %new.display(), %error, "cannot watch the folder; reading it every rescan only");
        }
    }
    tracing::info!(folders = folders.len(), "watching Maildir folders");
    Some(watcher)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seen_mail_keeps_its_name_and_flags_in_order() {
        let dir = std::env::temp_dir().join(format!("weft-maildir-{}", std::process::id()));
        for sub in ["new", "cur", "tmp"] {
            std::fs::create_dir_all(dir.join(sub)).unwrap();
        }
        let table = [
            ("1700000000.M1P2.host", "1700000000.M1P2.host:2,S"),
            ("1700000001.M1P2.host:2,FR", "1700000001.M1P2.host:2,FRS"),
            ("1700000002.M1P2.host:2,S", "1700000002.M1P2.host:2,S"),
            ("1700000003.M1P2.host:2,T", "1700000003.M1P2.host:2,ST"),
        ];
        for (name, seen) in table {
            std::fs::write(dir.join("new").join(name), b"x").unwrap();
            mark_seen(&dir, name).unwrap();
            assert!(dir.join("cur").join(seen).is_file(), "{name} -> {seen}");
            assert!(!dir.join("new").join(name).exists());
        }
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
