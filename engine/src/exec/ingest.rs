//! Files and folders in: each file is read in bounded pieces (see [`records`](super::records)),
//! each piece kept raw, handed to its channel plugin, and the messages it yields queued, one
//! committed unit per piece. What a channel cannot parse is dead-lettered with its place.
//!
//! `.jsonl`/`.ndjson` files go to the `json` channel in chunks of lines; `.eml` files, mbox
//! files (`.mbox`, mail by mail) and Maildir folders (`cur/`, `new/`) to the `email` channel;
//! other folders are walked for those. A folder reached twice (a symlink cycle, or two links to
//! one folder) is read once and the other paths are reported. A chunk of lines that fails as a
//! whole is kept and parsed again line by line, so only the bad lines are dead-lettered, each
//! with its line number.

use super::Pipeline;
use super::records::{Framing, MAX_RECORD_BYTES, Piece, Pieces};
use crate::store::Unit;
use crate::store::ingest::{Enqueued, Recorded, Renamed};
use anyhow::Context as _;
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use weft_sdk::Inbound;

/// The header that tells the `json` channel which line of its file a chunk starts on.
pub const FIRST_LINE_HEADER: &str = "weft-first-line";

/// What ingesting some files did.
#[derive(Debug, Default, Clone)]
pub struct IngestReport {
    pub files: usize,
    /// New messages queued.
    pub messages: usize,
    /// Events queued for orders, shipment updates and other facts.
    pub facts: usize,
    /// Files seen before and already parsed, all of them.
    pub unchanged: usize,
    /// Messages stored before with the same id and content: true duplicates, skipped.
    pub duplicates: usize,
    /// Messages whose id an earlier message with other content has: kept under a new id.
    pub renamed: Vec<Renamed>,
    /// Messages whose text held U+0000, stored with U+FFFD in its place.
    pub replaced_text: usize,
    /// Traffic dead-lettered: the file and the reason, which names the line where there is one.
    pub rejected: Vec<(PathBuf, String)>,
    /// Paths not read, with the reason (a folder reached again through a symlink cycle, a
    /// folder that cannot be listed).
    pub skipped: Vec<(PathBuf, String)>,
}

impl IngestReport {
    fn add(&mut self, enqueued: Enqueued) {
        self.messages += enqueued.new;
        self.facts += enqueued.facts;
        self.duplicates += enqueued.duplicates;
        self.renamed.extend(enqueued.renamed);
        self.replaced_text += enqueued.replaced_text;
    }
}

/// How far an ingest has come, for progress shown while it runs.
#[derive(Debug, Clone, Copy, Default)]
pub struct Progress {
    /// Bytes of input read, of `total_bytes`.
    pub bytes: u64,
    pub total_bytes: u64,
    /// Files begun, of `total_files`.
    pub files: usize,
    pub total_files: usize,
    /// New messages queued so far.
    pub messages: usize,
    /// Dead letters so far.
    pub rejected: usize,
}

/// One file to read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InputFile {
    pub path: PathBuf,
    pub channel: &'static str,
    pub framing: Framing,
}

/// The files under some paths, and what was not read.
#[derive(Debug, Default)]
pub struct Walk {
    pub files: Vec<InputFile>,
    pub skipped: Vec<(PathBuf, String)>,
}

/// Which channel reads a file, by its name, and how the file is cut.
fn kind_of(path: &Path) -> Option<(&'static str, Framing)> {
    match path
        .extension()
        .and_then(|e| e.to_str())
        .map(str::to_ascii_lowercase)
        .as_deref()
    {
        Some("jsonl" | "ndjson") => Some(("json", Framing::Lines)),
        Some("eml") => Some(("email", Framing::Whole)),
        Some("mbox" | "mbx") => Some(("email", Framing::Mbox)),
        _ => None,
    }
}

/// A folder's identity on disk, whatever path reached it.
#[cfg(unix)]
fn folder_id(meta: &std::fs::Metadata) -> (u64, u64) {
    use std::os::unix::fs::MetadataExt as _;
    (meta.dev(), meta.ino())
}

/// Elsewhere folders are told apart by their canonical path.
#[cfg(not(unix))]
fn folder_id(_: &std::fs::Metadata) -> (u64, u64) {
    (0, 0)
}

/// Walks the given paths into files, in a stable order. A path given that does not exist, or
/// a file given of an unknown kind, is an error; inside folders, what cannot be read is
/// reported in [`Walk::skipped`] and everything else is read.
pub fn walk(paths: &[PathBuf]) -> anyhow::Result<Walk> {
    let mut walk = Walk::default();
    let mut seen = HashMap::new();
    for path in paths {
        let meta = std::fs::metadata(path).with_context(|| format!("cannot read {}", path.display()))?;
        if meta.is_file() {
            let (channel, framing) = kind_of(path).with_context(|| {
                format!(
                    "{}: unknown kind of file: expected .jsonl, .ndjson, .eml or .mbox, or a Maildir folder",
                    path.display()
                )
            })?;
            walk.files.push(InputFile {
                path: path.clone(),
                channel,
                framing,
            });
        } else {
            walk_folder(path, &meta, &mut Vec::new(), &mut seen, &mut walk);
        }
    }
    Ok(walk)
}

/// Walks one folder. `ancestors` are the folders above it on this path (by identity on disk,
/// with the path that reached each), `seen` every folder read so far.
fn walk_folder(
    path: &Path,
    meta: &std::fs::Metadata,
    ancestors: &mut Vec<((u64, u64), PathBuf)>,
    seen: &mut HashMap<(u64, u64), PathBuf>,
    walk: &mut Walk,
) {
    let id = folder_id(meta);
    if cfg!(unix) {
        if let Some((_, above)) = ancestors.iter().find(|(a, _)| *a == id) {
            walk.skipped.push((
                path.to_owned(),
                format!(
                    "a symlink cycle: this is the folder {} again; not read twice",
                    above.display()
                ),
            ));
            return;
        }
        if let Some(first) = seen.get(&id) {
            walk.skipped.push((
                path.to_owned(),
                format!("the same folder as {}, read once", first.display()),
            ));
            return;
        }
        seen.insert(id, path.to_owned());
    }
    let list = |dir: &Path, walk: &mut Walk| -> Vec<PathBuf> {
        let entries = std::fs::read_dir(dir).and_then(|entries| {
            entries
                .map(|entry| entry.map(|e| e.path()))
                .collect::<std::io::Result<Vec<_>>>()
        });
        match entries {
            Ok(mut entries) => {
                entries.sort();
                entries
            }
            Err(e) => {
                walk.skipped
                    .push((dir.to_owned(), format!("cannot list the folder: {e}")));
                Vec::new()
            }
        }
    };
    let maildir = path.join("cur").is_dir() || path.join("new").is_dir();
    if maildir {
        // A Maildir: every file in new/ and cur/ is one mail (tmp/ holds mail being written).
        let mut files = Vec::new();
        for sub in ["new", "cur"] {
            let dir = path.join(sub);
            if dir.is_dir() {
                files.extend(list(&dir, walk).into_iter().filter(|f| f.is_file()));
            }
        }
        files.sort();
        walk.files.extend(files.into_iter().map(|path| InputFile {
            path,
            channel: "email",
            framing: Framing::Whole,
        }));
        return;
    }
    ancestors.push((id, path.to_owned()));
    for entry in list(path, walk) {
        match std::fs::metadata(&entry) {
            Ok(meta) if meta.is_dir() => walk_folder(&entry, &meta, ancestors, seen, walk),
            Ok(_) => {
                if let Some((channel, framing)) = kind_of(&entry) {
                    walk.files.push(InputFile {
                        path: entry,
                        channel,
                        framing,
                    });
                }
            }
            Err(e) => walk.skipped.push((entry, format!("cannot read: {e}"))),
        }
    }
    ancestors.pop();
}

/// Keeps `inbound`, parses it with `channel` and queues its items, inside `unit`. Returns
/// how many messages were new, or the reason the traffic was rejected.
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

/// Parses kept traffic and queues its items (messages, orders, shipments, facts), or
/// dead-letters it.
pub async fn parse_recorded(
    unit: &mut Unit,
    pipeline: &Pipeline,
    id: i64,
    channel: &str,
    inbound: Inbound,
) -> anyhow::Result<Result<usize, String>> {
    Ok(parse_kept(unit, pipeline, id, channel, inbound, true)
        .await?
        .map(|enqueued| enqueued.new))
}

/// Parses kept traffic and queues its messages; the reason when the channel refused it, which
/// is then dead-lettered if `dead_letter` says so.
async fn parse_kept(
    unit: &mut Unit,
    pipeline: &Pipeline,
    id: i64,
    channel: &str,
    inbound: Inbound,
    dead_letter: bool,
) -> anyhow::Result<Result<Enqueued, String>> {
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
    // Webhook traffic may say more than messages: statuses, opt-outs (`exec::notices`).
    let parsed = match (parsed, &inbound.hook) {
        (Ok(items), Some(hook)) => match plugin.notices(&inbound, config, options).await {
            Ok(notices) => Ok((items, notices, hook.as_str())),
            Err(failure) => Err(failure),
        },
        (parsed, _) => parsed.map(|items| (items, Vec::new(), "")),
    };
    match parsed {
        Ok((items, notices, hook)) => {
            if !notices.is_empty() {
                let info = plugin.info();
                let name = format!("{}@{}", info.name, info.version);
                super::notices::apply(unit, hook, &name, &notices).await?;
            }
            // Traffic read from a file has no time of arrival: a fact without a time of its
            // own happened when it is read.
            let received_at = match inbound.received_at {
                0 => crate::store::now_ms(),
                at => at,
            };
            Ok(Ok(unit.enqueue_items(id, &items, received_at).await?))
        }
        Err(failure) => {
            let reason = format!("{}: {failure}", inbound.source);
            if dead_letter {
                unit.dead_letter_inbound(id, channel, &reason).await?;
            }
            Ok(Err(reason))
        }
    }
}

/// The raw traffic of one piece of `file`.
fn inbound_of(file: &InputFile, piece: &Piece, bytes: Vec<u8>) -> Inbound {
    let path = file.path.display().to_string();
    let (source, headers) = match file.framing {
        // The json channel numbers the lines of a chunk from the line it starts on.
        Framing::Lines => (path, vec![(FIRST_LINE_HEADER.to_owned(), piece.first_line.to_string())]),
        Framing::Mbox => (format!("{path}:{}", piece.first_line), Vec::new()),
        Framing::Whole => (path, Vec::new()),
    };
    Inbound {
        source,
        content_type: None,
        headers,
        body: bytes,
        ..Inbound::default()
    }
}

/// What became of one piece.
enum Outcome {
    /// Parsed before: nothing to do.
    Unchanged,
    Queued(Enqueued),
    /// Dead-lettered (all of it, or some of its lines), with the reasons.
    Rejected(Enqueued, Vec<String>),
}

/// Keeps one piece of `file`, parses it and queues its messages, inside `unit`. A chunk of
/// lines that the channel refuses as a whole goes again line by line; a part of an oversized
/// record is kept and dead-lettered unparsed.
async fn ingest_piece(unit: &mut Unit, pipeline: &Pipeline, file: &InputFile, piece: Piece) -> anyhow::Result<Outcome> {
    let channel = file.channel;
    if let Some(part) = piece.oversized_part {
        let reason = format!(
            "{}:{}: the {} is longer than the {} MiB one record may have: kept raw in parts, part {part} here, not parsed",
            file.path.display(),
            piece.first_line,
            match file.framing {
                Framing::Lines => "line",
                Framing::Mbox => "mail",
                Framing::Whole => "file",
            },
            MAX_RECORD_BYTES / (1024 * 1024)
        );
        let inbound = inbound_of(file, &piece, piece.bytes.clone());
        return Ok(match unit.record_inbound(channel, &inbound).await? {
            // Kept and dead-lettered before: `weft replay` is the way to try it again.
            Recorded::AlreadyParsed(_) | Recorded::Retry(_) => Outcome::Unchanged,
            Recorded::New(id) => {
                unit.dead_letter_inbound(id, channel, &reason).await?;
                Outcome::Rejected(Enqueued::default(), vec![reason])
            }
        });
    }
    let several = piece.records > 1;
    let inbound = inbound_of(file, &piece, piece.bytes.clone());
    let id = match unit.record_inbound(channel, &inbound).await? {
        Recorded::AlreadyParsed(_) => return Ok(Outcome::Unchanged),
        Recorded::New(id) | Recorded::Retry(id) => id,
    };
    let reason = match parse_kept(unit, pipeline, id, channel, inbound, !several).await? {
        Ok(enqueued) => return Ok(Outcome::Queued(enqueued)),
        Err(reason) if !several => return Ok(Outcome::Rejected(Enqueued::default(), vec![reason])),
        Err(reason) => reason,
    };
    // The chunk stays kept, marked as split; each of its lines is kept and parsed alone.
    unit.split_inbound(id, &reason).await?;
    let mut enqueued = Enqueued::default();
    let mut reasons = Vec::new();
    for (this, line) in (piece.first_line..).zip(piece.bytes.split_inclusive(|&b| b == b'\n')) {
        if line.iter().all(u8::is_ascii_whitespace) {
            continue;
        }
        let single = Piece {
            first_line: this,
            records: 1,
            oversized_part: None,
            bytes: Vec::new(),
        };
        let inbound = inbound_of(file, &single, line.to_vec());
        let id = match unit.record_inbound(channel, &inbound).await? {
            Recorded::AlreadyParsed(_) => continue,
            Recorded::New(id) | Recorded::Retry(id) => id,
        };
        match parse_kept(unit, pipeline, id, channel, inbound, true).await? {
            Ok(done) => {
                enqueued.new += done.new;
                enqueued.duplicates += done.duplicates;
                enqueued.renamed.extend(done.renamed);
                enqueued.replaced_text += done.replaced_text;
                enqueued.facts += done.facts;
            }
            Err(reason) => reasons.push(reason),
        }
    }
    Ok(Outcome::Rejected(enqueued, reasons))
}

/// Reads every file under `paths` into the queue, each piece in `unit` or, with `unit` None,
/// in a unit of its own that is committed.
pub async fn ingest_paths(
    store: &crate::store::Store,
    unit: Option<&mut Unit>,
    pipeline: &Pipeline,
    paths: &[PathBuf],
) -> anyhow::Result<IngestReport> {
    ingest_paths_with(store, unit, pipeline, paths, &mut |_| {}).await
}

/// [`ingest_paths`], telling `progress` how far it has come after every piece.
pub async fn ingest_paths_with(
    store: &crate::store::Store,
    mut unit: Option<&mut Unit>,
    pipeline: &Pipeline,
    paths: &[PathBuf],
    progress: &mut dyn FnMut(&Progress),
) -> anyhow::Result<IngestReport> {
    let walked = walk(paths)?;
    let mut report = IngestReport {
        skipped: walked.skipped,
        ..IngestReport::default()
    };
    let mut seen = Progress {
        total_files: walked.files.len(),
        total_bytes: walked
            .files
            .iter()
            .filter_map(|f| std::fs::metadata(&f.path).ok())
            .map(|m| m.len())
            .sum(),
        ..Progress::default()
    };
    for file in &walked.files {
        let handle = match std::fs::File::open(&file.path) {
            Ok(handle) => handle,
            Err(e) => {
                report.skipped.push((file.path.clone(), format!("cannot read: {e}")));
                continue;
            }
        };
        report.files += 1;
        seen.files += 1;
        let before = seen.bytes;
        let mut pieces = Pieces::new(std::io::BufReader::with_capacity(256 * 1024, handle), file.framing);
        let mut changed = false;
        while let Some(piece) = pieces.next() {
            let piece = match piece {
                Ok(piece) => piece,
                Err(e) => {
                    // What was read of the file so far is kept; the rest cannot be read.
                    report.skipped.push((
                        file.path.clone(),
                        format!("cannot read past byte {}: {e}", pieces.bytes_read()),
                    ));
                    changed = true;
                    break;
                }
            };
            let outcome = match unit.as_deref_mut() {
                Some(unit) => ingest_piece(unit, pipeline, file, piece).await?,
                None => {
                    let mut own = store.unit().await?;
                    let outcome = ingest_piece(&mut own, pipeline, file, piece).await?;
                    own.commit().await?;
                    outcome
                }
            };
            match outcome {
                Outcome::Unchanged => {}
                Outcome::Queued(enqueued) => {
                    changed = true;
                    report.add(enqueued);
                }
                Outcome::Rejected(enqueued, reasons) => {
                    changed = true;
                    report.add(enqueued);
                    report
                        .rejected
                        .extend(reasons.into_iter().map(|reason| (file.path.clone(), reason)));
                }
            }
            seen.bytes = before + pieces.bytes_read();
            seen.messages = report.messages;
            seen.rejected = report.rejected.len();
            progress(&seen);
        }
        if !changed {
            report.unchanged += 1;
        }
    }
    Ok(report)
}
