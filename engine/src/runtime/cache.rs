//! The on-disk cache of compiled components, keyed by the component's bytes and the engine's
//! compile settings.
//!
//! An entry is the SHA-256 of the compiled artifact followed by the artifact. It is written to a
//! temporary file and renamed into place, so readers never see half an entry; an entry whose
//! digest does not match is deleted and the component compiled again.

use sha2::{Digest, Sha256};
use std::hash::{Hash, Hasher};
use std::io;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use wasmtime::Engine;
use wasmtime::component::Component;

/// Feeds `Hash` output into a SHA-256, so the key does not depend on std's hasher.
struct ShaHasher(Sha256);

impl Hasher for ShaHasher {
    fn finish(&self) -> u64 {
        0
    }
    fn write(&mut self, bytes: &[u8]) {
        self.0.update(bytes);
    }
}

/// The cache key of a component: its bytes and every engine setting that changes the code.
pub(crate) fn key(engine: &Engine, component: &[u8]) -> String {
    let mut hasher = ShaHasher(Sha256::new());
    hasher.write(b"weft component cache v1\0");
    hasher.write(&Sha256::digest(component));
    engine.precompile_compatibility_hash().hash(&mut hasher);
    hex::encode(hasher.0.finalize())
}

/// A directory of compiled components.
#[derive(Debug, Clone)]
pub(crate) struct CompileCache {
    dir: PathBuf,
}

impl CompileCache {
    pub fn new(dir: PathBuf) -> Self {
        CompileCache { dir }
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    fn path(&self, key: &str) -> PathBuf {
        self.dir.join(format!("{key}.cwasm"))
    }

    /// The cached component, or `None` when there is none or it is damaged (then it is removed).
    pub fn get(&self, engine: &Engine, key: &str) -> Option<Component> {
        let path = self.path(key);
        let bytes = std::fs::read(&path).ok()?;
        match load(engine, &bytes) {
            Ok(component) => Some(component),
            Err(problem) => {
                tracing::warn!(path = %path.display(), %problem, "damaged compile cache entry, compiling again");
                let _ = std::fs::remove_file(&path);
                None
            }
        }
    }

    /// Stores a compiled component.
    pub fn put(&self, key: &str, component: &Component) -> io::Result<()> {
        let artifact = component.serialize().map_err(|e| io::Error::other(format!("{e:#}")))?;
        let mut entry = Vec::with_capacity(32 + artifact.len());
        entry.extend_from_slice(&Sha256::digest(&artifact));
        entry.extend_from_slice(&artifact);
        std::fs::create_dir_all(&self.dir)?;
        static NEXT: AtomicU64 = AtomicU64::new(0);
        let temp = self.dir.join(format!(
            ".{key}.{}.{}.tmp",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        ));
        std::fs::write(&temp, &entry)?;
        std::fs::rename(&temp, self.path(key)).inspect_err(|_| {
            let _ = std::fs::remove_file(&temp);
        })
    }
}

#[expect(unsafe_code, reason = "deserializing a compiled component is unsafe in wasmtime")]
fn load(engine: &Engine, entry: &[u8]) -> Result<Component, String> {
    if entry.len() < 32 {
        return Err("entry is truncated".into());
    }
    let (digest, artifact) = entry.split_at(32);
    if Sha256::digest(artifact).as_slice() != digest {
        return Err("entry does not match its digest".into());
    }
    // SAFETY: the artifact was written by `put` from `Component::serialize` (its digest matches,
    // so it is byte for byte what was written), and its key includes the engine's
    // compatibility hash; wasmtime checks the rest of its header itself.
    unsafe { Component::deserialize(engine, artifact) }.map_err(|e| format!("{e:#}"))
}
