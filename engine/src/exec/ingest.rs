//! Files and folders in: each file is kept raw, handed to its channel plugin, and the messages
//! it yields are queued. What a channel cannot parse is dead-lettered with its reason.
//!
//! `.jsonl`/`.ndjson` files go to the `json` channel, `.eml` files and Maildir folders (`cur/`,
//! `new/`) to the `email` channel; other folders are walked for those.

use super::Pipeline;
use crate::store::Unit;
use crate::store::ingest::Recorded;
use anyhow::Context as _;
use std::path::{Path, PathBuf};
use weft_sdk::Inbound;

/// What ingesting some files did.
#[derive(Debug, Default, Clone)]
pub struct IngestReport {
    pub files: usize,
    pub messages: usize,
    /// Files seen before and already parsed.
    pub unchanged: usize,
    /// Files dead-lettered, with the reason.
    pub rejected: Vec<(PathBuf, String)>,
}

/// Which channel reads a file, by its name.
fn channel_for(path: &Path) -> Option<&'static str> {
    match path
        .extension()
        .and_then(|e| e.to_str())
        .map(str::to_ascii_lowercase)
        .as_deref()
    {
        Some("jsonl" | "ndjson") => Some("json"),
        Some("eml") => Some("email"),
        _ => None,
    }
}

/// Expands the given paths into (file, channel) pairs, in a stable order.
pub fn expand(paths: &[PathBuf]) -> anyhow::Result<Vec<(PathBuf, &'static str)>> {
    let mut files = Vec::new();
    for path in paths {
        let meta = std::fs::metadata(path).with_context(|| format!("cannot read {}", path.display()))?;
        if meta.is_file() {
            let channel = channel_for(path).with_context(|| {
                format!(
                    "{}: unknown kind of file: expected .jsonl, .ndjson or .eml, or a Maildir folder",
                    path.display()
                )
            })?;
            files.push((path.clone(), channel));
            continue;
        }
        let maildir = path.join("cur").is_dir() || path.join("new").is_dir();
        let mut entries = Vec::new();
        if maildir {
            for sub in ["new", "cur"] {
                let dir = path.join(sub);
                if dir.is_dir() {
                    for entry in std::fs::read_dir(&dir).with_context(|| format!("cannot list {}", dir.display()))? {
                        let entry = entry?.path();
                        if entry.is_file() {
                            entries.push((entry, "email"));
                        }
                    }
                }
            }
        } else {
            let mut inner = Vec::new();
            for entry in std::fs::read_dir(path).with_context(|| format!("cannot list {}", path.display()))? {
                let entry = entry?.path();
                if entry.is_dir() || channel_for(&entry).is_some() {
                    inner.push(entry);
                }
            }
            inner.sort();
            entries.extend(expand(&inner)?);
        }
        entries.sort();
        files.extend(entries);
    }
    Ok(files)
}

/// Keeps `bytes` from `source`, parses them with `channel` and queues the messages, inside
/// `unit`. Returns how many messages were new, or the reason the traffic was rejected.
pub async fn ingest_bytes(
    unit: &mut Unit,
    pipeline: &Pipeline,
    channel: &str,
    inbound: Inbound,
) -> anyhow::Result<Result<usize, String>> {
    let id = match unit.record_inbound(channel, &inbound).await? {
        Recorded::AlreadyParsed(_) => return Ok(Ok(0)),
        Recorded::New(id) | Recorded::Retry(id) => id,
    };
    parse_recorded(unit, pipeline, id, channel, inbound).await
}

/// Parses kept traffic and queues its messages, or dead-letters it.
pub async fn parse_recorded(
    unit: &mut Unit,
    pipeline: &Pipeline,
    id: i64,
    channel: &str,
    inbound: Inbound,
) -> anyhow::Result<Result<usize, String>> {
    let call = pipeline.channel_call(channel, inbound.hook.as_deref())?;
    let (plugin, config, options) = (call.plugin, &call.config, &call.options);
    // Traffic from a hook was verified when it arrived (`exec::live`), before it was kept.
    let verified = match inbound.hook {
        Some(_) => Ok(()),
        None => plugin.verify(&inbound, config, options).await,
    };
    let parsed = match verified {
        Ok(()) => plugin.parse(&inbound, config, options).await,
        Err(failure) => Err(failure),
    };
    match parsed {
        Ok(messages) => Ok(Ok(unit.enqueue_messages(id, &messages).await?)),
        Err(failure) => {
            let reason = format!("{}: {failure}", inbound.source);
            unit.dead_letter_inbound(id, channel, &reason).await?;
            Ok(Err(reason))
        }
    }
}

/// Reads every file under `paths` into the queue, each in `unit` or, with `unit` None, in a
/// unit of its own that is committed.
pub async fn ingest_paths(
    store: &crate::store::Store,
    mut unit: Option<&mut Unit>,
    pipeline: &Pipeline,
    paths: &[PathBuf],
) -> anyhow::Result<IngestReport> {
    let mut report = IngestReport::default();
    for (path, channel) in expand(paths)? {
        let body = std::fs::read(&path).with_context(|| format!("cannot read {}", path.display()))?;
        let inbound = Inbound {
            source: path.display().to_string(),
            body,
            ..Inbound::default()
        };
        report.files += 1;
        let outcome = match unit.as_deref_mut() {
            Some(unit) => ingest_bytes(unit, pipeline, channel, inbound).await?,
            None => {
                let mut own = store.unit().await?;
                let outcome = ingest_bytes(&mut own, pipeline, channel, inbound).await?;
                own.commit().await?;
                outcome
            }
        };
        match outcome {
            Ok(0) => report.unchanged += 1,
            Ok(n) => report.messages += n,
            Err(reason) => report.rejected.push((path, reason)),
        }
    }
    Ok(report)
}
