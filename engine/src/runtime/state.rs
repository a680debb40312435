//! What a wasmtime store holds during one call: an empty WASI context, the memory limiter and
//! the state of each host capability.

use crate::runtime::context::ContextState;
use crate::runtime::embeddings::EmbeddingsState;
use crate::runtime::failure::MemoryLimitHit;
use crate::runtime::http::HttpState;
use crate::runtime::log::LogState;
use crate::runtime::mail::MailState;
use crate::runtime::mount_cache::CacheState;
use crate::runtime::secrets::SecretsState;
use wasmtime::component::ResourceTable;
use wasmtime::{ResourceLimiter, StoreLimits, StoreLimitsBuilder};
use wasmtime_wasi::p2::pipe::MemoryOutputPipe;
use wasmtime_wasi::{WasiCtx, WasiCtxView, WasiView};

/// How much of the guest's stderr is kept for a failure report.
const STDERR_CAPACITY: usize = 16 * 1024;

/// The store data of one call. Dropped with the store when the call ends.
pub(crate) struct CallState {
    wasi: WasiCtx,
    table: ResourceTable,
    stderr: MemoryOutputPipe,
    pub limiter: MemoryLimiter,
    pub context: ContextState,
    pub http: HttpState,
    pub secrets: SecretsState,
    pub mail: MailState,
    pub log: LogState,
    pub embeddings: EmbeddingsState,
    pub cache: CacheState,
    /// Every capability the host refused, as the message the guest got.
    pub denials: Vec<String>,
    /// HTTP requests handed to the network during the call (their outcome aside): none means
    /// nothing the plugin did can have reached a vendor.
    pub requests_sent: u32,
}

/// What is particular to one call: its memory cap, the reader lent to it, its grants and log.
pub(crate) struct CallParts {
    pub memory_limit: usize,
    pub context: ContextState,
    pub http: HttpState,
    pub secrets: SecretsState,
    pub mail: MailState,
    pub log: LogState,
    pub embeddings: EmbeddingsState,
    pub cache: CacheState,
}

impl CallState {
    pub fn new(parts: CallParts) -> Self {
        let stderr = MemoryOutputPipe::new(STDERR_CAPACITY);
        // No preopened directories, no environment, no arguments, no network, stdin closed and
        // stdout discarded: a plugin has no ambient authority.
        let wasi = WasiCtx::builder()
            .stderr(stderr.clone())
            .allow_tcp(false)
            .allow_udp(false)
            .build();
        CallState {
            wasi,
            table: ResourceTable::new(),
            stderr,
            limiter: MemoryLimiter::new(parts.memory_limit),
            context: parts.context,
            http: parts.http,
            secrets: parts.secrets,
            mail: parts.mail,
            log: parts.log,
            embeddings: parts.embeddings,
            cache: parts.cache,
            denials: Vec::new(),
            requests_sent: 0,
        }
    }

    /// Readies the state of a store that served an earlier call for the next one: the new
    /// limits, grants, log and reader, with the WASI context (and the resources the instance
    /// holds in it) kept. (Building a WASI context seeds its random generators: a tenth of the
    /// cost of a call on a warm instance.)
    pub fn renew(&mut self, parts: CallParts) {
        self.limiter = MemoryLimiter::new(parts.memory_limit);
        self.context = parts.context;
        self.http = parts.http;
        self.secrets = parts.secrets;
        self.mail = parts.mail;
        self.log = parts.log;
        self.embeddings = parts.embeddings;
        self.cache = parts.cache;
        self.denials.clear();
        self.requests_sent = 0;
    }

    /// What the guest wrote to stderr so far, as text.
    pub fn guest_stderr(&self) -> String {
        String::from_utf8_lossy(&self.stderr.contents()).into_owned()
    }
}

impl WasiView for CallState {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        WasiCtxView {
            ctx: &mut self.wasi,
            table: &mut self.table,
        }
    }
}

/// A [`StoreLimits`] memory cap whose refusal is a typed error, so it can be told apart from
/// other traps.
pub(crate) struct MemoryLimiter {
    limit: usize,
    inner: StoreLimits,
}

impl MemoryLimiter {
    fn new(limit: usize) -> Self {
        MemoryLimiter {
            limit,
            inner: StoreLimitsBuilder::new()
                .memory_size(limit)
                .trap_on_grow_failure(true)
                .build(),
        }
    }
}

impl ResourceLimiter for MemoryLimiter {
    fn memory_growing(&mut self, current: usize, desired: usize, maximum: Option<usize>) -> wasmtime::Result<bool> {
        self.inner.memory_growing(current, desired, maximum).map_err(|_| {
            MemoryLimitHit {
                desired,
                limit: self.limit,
            }
            .into()
        })
    }

    fn table_growing(&mut self, current: usize, desired: usize, maximum: Option<usize>) -> wasmtime::Result<bool> {
        self.inner.table_growing(current, desired, maximum)
    }
}
