//! Hot reload for `weft serve`: the workflows, the channels file and the plugins are watched
//! (with `notify`), and a change is loaded while serving.
//!
//! A burst of file events (an editor's save: a temporary file, a rename, a write) is waited
//! out until the files have been quiet for [`QUIET`]; then everything is loaded again from
//! [`Sources`] and checked as at startup ([`load`]). A sound result replaces the running
//! pipeline between event groups ([`Live::replace_pipeline`]); its workflows carry the
//! versions of their files, which every decision records. A change with problems is refused
//! with all of them, each `file:line:column: message` as `weft validate` prints it: they are
//! logged and shown by `/readyz`, and the version before keeps running.

use crate::exec::{Live, Pipeline};
use crate::runtime::Runtime;
use crate::workflow::{self, Diagnostic};
use anyhow::Context as _;
use notify::{EventKind, RecursiveMode, Watcher as _};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::mpsc;

/// How long the watched files must be quiet before a change is loaded.
pub const QUIET: Duration = Duration::from_millis(300);

/// Where `weft serve` loads its pipeline from.
#[derive(Debug, Clone)]
pub struct Sources {
    /// The folder of plugins (`*.wasm`).
    pub plugins: PathBuf,
    /// Workflow files and folders (every `*.yaml` / `*.yml` in a folder).
    pub workflows: Vec<PathBuf>,
    /// The channels file, if any.
    pub channels: Option<PathBuf>,
}

/// Why a load was refused: every problem, one line each.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}", self.problems.join("\n"))]
pub struct Refused {
    /// `file:line:column: message` for the problems of a workflow or the channels file;
    /// the folder and what went wrong for plugins that could not be loaded.
    pub problems: Vec<String>,
}

/// Loads the plugins, the workflows and the channels file of `sources` and checks them
/// together, as `weft serve` does at startup: every problem of every file, or the pipeline.
pub async fn load(runtime: &Arc<Runtime>, sources: &Sources) -> Result<Pipeline, Refused> {
    let plugins = crate::exec::pipeline::load_plugins(runtime, &sources.plugins)
        .await
        .map_err(|error| Refused {
            problems: vec![format!("{error:#}")],
        })?;
    let mut problems: Vec<Diagnostic> = Vec::new();
    let workflows = match crate::exec::pipeline::load_workflows(&sources.workflows, &plugins).await {
        Ok(workflows) => workflows,
        Err(diagnostics) => {
            problems.extend(diagnostics.iter().cloned());
            Vec::new()
        }
    };
    let channels = match &sources.channels {
        // Each mount's `with:` checked by its channel plugin too (`check-config`).
        Some(file) => match crate::exec::pipeline::load_channels(file, &plugins).await {
            Ok(channels) => channels,
            Err(diagnostics) => {
                problems.extend(diagnostics.iter().cloned());
                workflow::Channels::default()
            }
        },
        None => workflow::Channels::default(),
    };
    if !problems.is_empty() {
        let sorted = workflow::Diagnostics::new(problems);
        return Err(Refused {
            problems: sorted.iter().map(ToString::to_string).collect(),
        });
    }
    Ok(Pipeline {
        runtime: Arc::clone(runtime),
        plugins,
        workflows,
        channels,
    })
}

/// The watch of [`watch`]: dropping it stops watching.
pub struct Watching {
    _watcher: notify::RecommendedWatcher,
    task: tokio::task::JoinHandle<()>,
}

impl std::fmt::Debug for Watching {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Watching").finish_non_exhaustive()
    }
}

impl Drop for Watching {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// What is watched: folders, and in them either every file of some extensions or one file.
#[derive(Debug)]
struct Watched {
    /// (folder, canonical folder, the file names watched in it, or None for every file with
    /// one of `extensions`, extensions)
    places: Vec<(PathBuf, PathBuf, Option<std::ffi::OsString>, &'static [&'static str])>,
}

impl Watched {
    fn new(sources: &Sources) -> anyhow::Result<Watched> {
        let mut places = Vec::new();
        let mut add = |path: &Path, extensions: &'static [&'static str]| -> anyhow::Result<()> {
            let (folder, name) = if path.is_dir() {
                (path.to_path_buf(), None)
            } else {
                // A file is watched through its folder: editors replace files by renaming.
                let folder = match path.parent() {
                    Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
                    _ => PathBuf::from("."),
                };
                (folder, path.file_name().map(ToOwned::to_owned))
            };
            let canonical = folder
                .canonicalize()
                .with_context(|| format!("cannot watch {}", folder.display()))?;
            places.push((folder, canonical, name, extensions));
            Ok(())
        };
        add(&sources.plugins, &["wasm"])?;
        for path in &sources.workflows {
            add(path, &["yaml", "yml"])?;
        }
        if let Some(file) = &sources.channels {
            add(file, &[])?;
        }
        Ok(Watched { places })
    }

    /// Every file that is loaded (or would be, were it there), with its size and time of
    /// change: equal fingerprints mean nothing changed since.
    fn fingerprint(&self) -> Vec<(PathBuf, Option<(u64, std::time::SystemTime)>)> {
        let stamp = |path: &Path| {
            std::fs::metadata(path)
                .ok()
                .and_then(|m| Some((m.len(), m.modified().ok()?)))
        };
        let mut files = Vec::new();
        for (folder, _, file, extensions) in &self.places {
            match file {
                Some(name) => {
                    let path = folder.join(name);
                    files.push((path.clone(), stamp(&path)));
                }
                None => {
                    for entry in std::fs::read_dir(folder).into_iter().flatten().flatten() {
                        let path = entry.path();
                        if path.extension().is_some_and(|e| extensions.iter().any(|x| e == *x)) {
                            files.push((path.clone(), stamp(&path)));
                        }
                    }
                }
            }
        }
        files.sort();
        files
    }

    /// Whether a file event at `path` concerns what is loaded.
    fn concerns(&self, path: &Path) -> bool {
        let (Some(parent), Some(name)) = (path.parent(), path.file_name()) else {
            return false;
        };
        let Ok(parent) = parent.canonicalize() else {
            return false;
        };
        self.places.iter().any(|(_, folder, file, extensions)| {
            *folder == parent
                && match file {
                    Some(file) => file == name,
                    None => Path::new(name)
                        .extension()
                        .is_some_and(|e| extensions.iter().any(|x| e == *x)),
                }
        })
    }
}

/// Watches `sources` and reloads `live`'s pipeline when they change, until the returned
/// [`Watching`] is dropped.
pub fn watch(live: Arc<Live>, runtime: Arc<Runtime>, sources: Sources) -> anyhow::Result<Watching> {
    let watched = Watched::new(&sources)?;
    let (sender, mut events) = mpsc::unbounded_channel::<notify::Result<notify::Event>>();
    let mut watcher = notify::recommended_watcher(move |event| {
        // The receiver is gone only when serving stopped.
        let _ = sender.send(event);
    })
    .context("cannot watch the workflows, channels file and plugins")?;
    let mut folders: Vec<&PathBuf> = watched.places.iter().map(|(folder, ..)| folder).collect();
    folders.sort();
    folders.dedup();
    for folder in folders {
        watcher
            .watch(folder, RecursiveMode::NonRecursive)
            .with_context(|| format!("cannot watch {}", folder.display()))?;
    }
    tracing::info!(
        places = watched.places.len(),
        "watching the workflows, channels file and plugins for changes"
    );
    let task = tokio::spawn(async move {
        let mut last = watched.fingerprint();
        loop {
            // Wait for a change that concerns what is loaded ...
            loop {
                match events.recv().await {
                    None => return,
                    Some(Ok(event)) if relevant(&watched, &event) => break,
                    Some(Ok(_)) => {}
                    Some(Err(error)) => tracing::warn!(%error, "watching files failed"),
                }
            }
            // ... then until the files are quiet (an editor's save is several events).
            loop {
                match tokio::time::timeout(QUIET, events.recv()).await {
                    Ok(None) => return,
                    Ok(Some(_)) => {}
                    Err(_quiet) => break,
                }
            }
            // Files touched but not changed (or changed back) are not loaded again.
            let now = watched.fingerprint();
            if now == last {
                tracing::debug!("watched files touched, nothing changed");
                continue;
            }
            last = now;
            reload(&live, &runtime, &sources).await;
        }
    });
    Ok(Watching {
        _watcher: watcher,
        task,
    })
}

fn relevant(watched: &Watched, event: &notify::Event) -> bool {
    !matches!(event.kind, EventKind::Access(_)) && event.paths.iter().any(|p| watched.concerns(p))
}

/// Loads `sources` again and puts the result in place, or refuses it with its problems.
pub async fn reload(live: &Live, runtime: &Arc<Runtime>, sources: &Sources) {
    let before = live.pipeline();
    match load(runtime, sources).await {
        Ok(pipeline) => {
            for workflow in &pipeline.workflows {
                let previous = before.workflows.iter().find(|w| w.name == workflow.name);
                if previous.is_none_or(|p| p.version != workflow.version) {
                    tracing::info!(
                        workflow = %workflow.name,
                        version = %workflow.version,
                        previous = previous.map_or("-", |p| p.version.as_str()),
                        file = %workflow.file.display(),
                        "workflow reloaded"
                    );
                }
            }
            for gone in before
                .workflows
                .iter()
                .filter(|w| !pipeline.workflows.iter().any(|n| n.name == w.name))
            {
                tracing::info!(workflow = %gone.name, version = %gone.version, "workflow unloaded");
            }
            tracing::info!(
                workflows = pipeline.workflows.len(),
                channels = pipeline.channels.mounts.len(),
                plugins = pipeline.plugins.len(),
                "reload applied"
            );
            live.replace_pipeline(Arc::new(pipeline));
        }
        Err(refused) => {
            for problem in &refused.problems {
                tracing::error!(problem = %problem, "reload refused");
            }
            tracing::error!(
                problems = refused.problems.len(),
                "reload refused: the version loaded before keeps running"
            );
            live.refuse_reload(refused.problems);
        }
    }
}
