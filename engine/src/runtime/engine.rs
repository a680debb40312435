//! The [`Runtime`]: one wasmtime engine (pooling allocator, epoch interruption), its epoch
//! ticker, the linkers of both worlds and the compile cache.

use crate::runtime::cache::{self, CompileCache};
use crate::runtime::plugin::{Plugin, Shared};
use crate::runtime::state::CallState;
use crate::runtime::{context, embeddings, http, log, mail, mount_cache, secrets};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc;
use std::thread::JoinHandle;
use std::time::Duration;
use wasmtime::component::{Component, Linker};
use wasmtime::{Engine, InstanceAllocationStrategy, PoolingAllocationConfig};

/// How a [`Runtime`] is set up.
#[derive(Debug, Clone)]
pub struct RuntimeConfig {
    /// Where compiled components are cached; `None` compiles on every load.
    pub cache_dir: Option<PathBuf>,
    /// The memory cap of a call unless its options set a lower one, and the most any instance
    /// can get. Default 64 MiB.
    pub memory_limit_bytes: usize,
    /// How many instances may be alive at once (one per running call). Default 64.
    pub max_instances: u32,
    /// How often the epoch advances: the granularity of timeouts. Default 1 ms.
    pub epoch_tick: Duration,
    /// The client `http` requests go through; `None` builds one that follows no redirects
    /// (a redirect could lead to a host the step was not granted).
    pub http_client: Option<reqwest::Client>,
    /// How many instances of each step plugin are kept warm between calls (0: a fresh
    /// instance for every call). A warm instance keeps what the plugin cached in memory (a
    /// parsed model, say); it is dropped after any failure. Default 2.
    pub warm_instances: usize,
    /// The folder that holds `all-minilm-l6-v2/` for the `embeddings` capability; `None` (or a
    /// folder without the model) leaves steps without embeddings, said once in the log.
    pub models_dir: Option<PathBuf>,
    /// Names the plugins' compiled functions for Linux `perf` (`/tmp/perf-<pid>.map`), so a
    /// profile shows which plugin function the time went to (plugins built without `strip`
    /// keep their function names). Off by default: the map grows with every compiled plugin.
    pub perf_map: bool,
}

impl Default for RuntimeConfig {
    fn default() -> Self {
        RuntimeConfig {
            cache_dir: None,
            memory_limit_bytes: 64 * 1024 * 1024,
            max_instances: 64,
            epoch_tick: Duration::from_millis(1),
            http_client: None,
            warm_instances: 2,
            perf_map: false,
            models_dir: None,
        }
    }
}

/// The plugin contract this engine speaks: the package of `sdk/wit/weft.wit`.
pub const CONTRACT: &str = "weft:plugin@0.6.0";

/// Why a plugin could not be loaded, or the runtime not set up.
#[derive(Debug, thiserror::Error)]
pub enum RuntimeError {
    /// The wasmtime engine (or the http client) could not be configured.
    #[error("cannot set up the plugin runtime: {problem}")]
    Setup {
        /// What failed.
        problem: String,
    },
    /// A file or directory could not be read.
    #[error("cannot read {}: {source}", path.display())]
    Read {
        /// The file or directory.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The compile cache could not be written.
    #[error("cannot write the compile cache in {}: {source}", dir.display())]
    Cache {
        /// The cache directory.
        dir: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The file is not a WASM component this engine can compile.
    #[error("{} is not a WASM component: {problem}", path.display())]
    NotAComponent {
        /// The file.
        path: PathBuf,
        /// What the compiler said.
        problem: String,
    },
    /// The component is neither a `step` nor a `channel` of this engine's contract.
    #[error(
        "{} is neither a weft step nor a weft channel of {CONTRACT} (a plugin built against another version of the contract must be rebuilt with this weft-sdk): as a step: {as_step}; as a channel: {as_channel}",
        path.display()
    )]
    WrongWorld {
        /// The file.
        path: PathBuf,
        /// Why it is not a step.
        as_step: String,
        /// Why it is not a channel.
        as_channel: String,
    },
    /// Calling the plugin's `info` export failed.
    #[error("{}: calling `info` failed: {problem}", path.display())]
    Info {
        /// The file.
        path: PathBuf,
        /// What went wrong.
        problem: String,
    },
    /// The plugin's config schema is not valid JSON.
    #[error("{}: {problem}", path.display())]
    BadSchema {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        problem: String,
    },
    /// Two files publish a plugin of the same name.
    #[error("plugin `{name}` is defined twice: by {} and by {}", first.display(), second.display())]
    DuplicatePlugin {
        /// The plugin name.
        name: String,
        /// The file loaded first.
        first: PathBuf,
        /// The file that repeats the name.
        second: PathBuf,
    },
}

fn setup(error: impl std::fmt::Display) -> RuntimeError {
    RuntimeError::Setup {
        problem: error.to_string(),
    }
}

/// Advances the engine's epoch until dropped.
pub(crate) struct Ticker {
    stop: Option<mpsc::Sender<()>>,
    thread: Option<JoinHandle<()>>,
}

impl Ticker {
    fn start(engine: Engine, tick: Duration) -> std::io::Result<Ticker> {
        let (stop, stopped) = mpsc::channel::<()>();
        let thread = std::thread::Builder::new().name("weft-epoch".into()).spawn(move || {
            while let Err(mpsc::RecvTimeoutError::Timeout) = stopped.recv_timeout(tick) {
                engine.increment_epoch();
            }
        })?;
        Ok(Ticker {
            stop: Some(stop),
            thread: Some(thread),
        })
    }
}

impl Drop for Ticker {
    fn drop(&mut self) {
        drop(self.stop.take());
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// Core instances, memories and tables a component may bring per component instance. A Rust
/// wasm32-wasip2 component has one memory and a handful of core instances.
const CORE_INSTANCES_PER_COMPONENT: u32 = 16;
const MEMORIES_PER_COMPONENT: u32 = 2;
const TABLES_PER_COMPONENT: u32 = 4;

/// Runs plugins: loads components and hands out [`Plugin`]s that call them.
pub struct Runtime {
    shared: Arc<Shared>,
    step_linker: Linker<CallState>,
    channel_linker: Linker<CallState>,
    cache: Option<CompileCache>,
    compilations: AtomicU64,
}

impl std::fmt::Debug for Runtime {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Runtime")
            .field("cache", &self.cache)
            .field("compilations", &self.compilations)
            .finish_non_exhaustive()
    }
}

impl Runtime {
    /// Sets up the engine, the linkers and the epoch ticker.
    pub fn new(config: RuntimeConfig) -> Result<Runtime, RuntimeError> {
        let max = config.max_instances.max(1);
        let mut pool = PoolingAllocationConfig::default();
        pool.total_component_instances(max)
            .total_core_instances(max * CORE_INSTANCES_PER_COMPONENT)
            .total_memories(max * MEMORIES_PER_COMPONENT)
            .total_tables(max * TABLES_PER_COMPONENT)
            .total_stacks(max)
            .max_core_instances_per_component(CORE_INSTANCES_PER_COMPONENT)
            .max_memories_per_component(MEMORIES_PER_COMPONENT)
            .max_tables_per_component(TABLES_PER_COMPONENT)
            .max_memory_size(config.memory_limit_bytes);
        let mut wasm = wasmtime::Config::new();
        wasm.epoch_interruption(true)
            .allocation_strategy(InstanceAllocationStrategy::Pooling(pool));
        if config.perf_map {
            wasm.profiler(wasmtime::ProfilingStrategy::PerfMap);
        }
        let engine = Engine::new(&wasm).map_err(setup)?;

        let mut step_linker = Linker::new(&engine);
        let mut channel_linker = Linker::new(&engine);
        for linker in [&mut step_linker, &mut channel_linker] {
            wasmtime_wasi::p2::add_to_linker_async(linker).map_err(setup)?;
            log::add_to_linker(linker).map_err(setup)?;
            http::add_to_linker(linker).map_err(setup)?;
            secrets::add_to_linker(linker).map_err(setup)?;
            mail::add_to_linker(linker).map_err(setup)?;
        }
        context::add_to_linker(&mut step_linker).map_err(setup)?;
        embeddings::add_to_linker(&mut step_linker).map_err(setup)?;
        mount_cache::add_to_linker(&mut channel_linker).map_err(setup)?;
        let embedder = match embeddings::load(config.models_dir.as_deref()) {
            Ok(model) => {
                tracing::info!(folder = embeddings::MODEL_FOLDER, "embedding model loaded");
                Ok(model)
            }
            Err(why) => {
                tracing::warn!(
                    reason = %why,
                    "no embedding model loaded: steps granted embeddings get an error and the router uses its n-gram model only"
                );
                Err(Arc::from(why))
            }
        };

        let http_client = match config.http_client {
            Some(client) => client,
            None => reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .map_err(setup)?,
        };
        if let Some(dir) = &config.cache_dir {
            std::fs::create_dir_all(dir).map_err(|source| RuntimeError::Cache {
                dir: dir.clone(),
                source,
            })?;
        }
        let ticker = Ticker::start(engine.clone(), config.epoch_tick).map_err(setup)?;
        Ok(Runtime {
            shared: Arc::new(Shared {
                engine,
                http_client,
                memory_limit: config.memory_limit_bytes,
                warm_instances: config.warm_instances,
                embedder,
                cache: Default::default(),
                _ticker: ticker,
            }),
            step_linker,
            channel_linker,
            cache: config.cache_dir.map(CompileCache::new),
            compilations: AtomicU64::new(0),
        })
    }

    /// The sentence-embedding model the `embeddings` capability uses, or why there is none.
    pub fn embedder(&self) -> Result<Arc<embeddings::Embedder>, Arc<str>> {
        self.shared.embedder.clone()
    }

    /// How many components this runtime compiled (rather than loaded from its cache).
    pub fn compilations(&self) -> u64 {
        self.compilations.load(Ordering::Relaxed)
    }

    /// Loads one component: from the compile cache or compiled (and cached), its world
    /// detected, its `info` read.
    pub async fn load(&self, path: &Path) -> Result<Plugin, RuntimeError> {
        let bytes = tokio::fs::read(path).await.map_err(|source| RuntimeError::Read {
            path: path.to_owned(),
            source,
        })?;
        let (component, from_cache) = self.compile(path, bytes).await?;
        Plugin::new(
            self.shared.clone(),
            path,
            &component,
            &self.step_linker,
            &self.channel_linker,
            from_cache,
        )
        .await
    }

    /// Loads every `*.wasm` file of a directory, in name order. Two files that publish the
    /// same plugin name are an error naming both.
    pub async fn load_dir(&self, dir: &Path) -> Result<Vec<Plugin>, RuntimeError> {
        let read = |source| RuntimeError::Read {
            path: dir.to_owned(),
            source,
        };
        let mut paths = Vec::new();
        for entry in std::fs::read_dir(dir).map_err(read)? {
            let path = entry.map_err(read)?.path();
            if path.extension().is_some_and(|e| e == "wasm") && path.is_file() {
                paths.push(path);
            }
        }
        paths.sort();
        let mut seen: BTreeMap<String, PathBuf> = BTreeMap::new();
        let mut plugins = Vec::with_capacity(paths.len());
        for path in paths {
            let plugin = self.load(&path).await?;
            let name = plugin.info().name.clone();
            if let Some(first) = seen.get(&name) {
                return Err(RuntimeError::DuplicatePlugin {
                    name,
                    first: first.clone(),
                    second: path,
                });
            }
            seen.insert(name, path);
            plugins.push(plugin);
        }
        Ok(plugins)
    }

    /// The compiled component and whether it came from the cache.
    async fn compile(&self, path: &Path, bytes: Vec<u8>) -> Result<(Component, bool), RuntimeError> {
        let engine = self.shared.engine.clone();
        let cache = self.cache.clone();
        let task = tokio::task::spawn_blocking(move || {
            let key = cache::key(&engine, &bytes);
            if let Some(component) = cache.as_ref().and_then(|c| c.get(&engine, &key)) {
                return Ok((component, true, None));
            }
            let component = Component::new(&engine, &bytes).map_err(|e| format!("{e:#}"))?;
            let stored = cache
                .as_ref()
                .map(|c| c.put(&key, &component).map_err(|e| (c.dir().to_owned(), e)));
            Ok((component, false, stored))
        });
        let joined = task.await.map_err(|e| RuntimeError::NotAComponent {
            path: path.to_owned(),
            problem: format!("the compiler stopped: {e}"),
        })?;
        let (component, from_cache, stored) = joined.map_err(|problem| RuntimeError::NotAComponent {
            path: path.to_owned(),
            problem,
        })?;
        if !from_cache {
            self.compilations.fetch_add(1, Ordering::Relaxed);
        }
        if let Some(Err((dir, source))) = stored {
            return Err(RuntimeError::Cache { dir, source });
        }
        Ok((component, from_cache))
    }
}

#[cfg(test)]
mod tests {
    /// The version in messages is the version the bindings were generated from.
    #[test]
    fn the_contract_named_is_the_wit_package() {
        let wit = include_str!("../../../sdk/wit/weft.wit");
        assert!(
            wit.contains(&format!("package {};", super::CONTRACT)),
            "{}",
            super::CONTRACT
        );
    }
}
