//! The `cache` capability of channels: a small in-memory store per channel mount, for values
//! that are costly to fetch and good for a while (an OAuth access token, a vendor's public key
//! by key id).
//!
//! Every entry is filed under its scope (the plugin and the mount the call runs for), so one
//! mount never reads another's entries, even of the same plugin. The store is bounded: keys up
//! to [`MAX_KEY_BYTES`], values up to [`MAX_VALUE_BYTES`], at most [`MAX_ENTRIES`] entries in
//! all; when it is full, expired entries go first, then the ones that expire soonest. It lives
//! in the server's memory and nowhere else: what it holds can always be fetched again from the
//! vendor, so losing it (a restart, an eviction) costs one request, and writing it to the
//! database would only keep credentials on disk that need not be there.

use crate::runtime::bindings::channel::weft::plugin::cache as wit;
use crate::runtime::state::CallState;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// The longest key stored, in bytes.
pub(crate) const MAX_KEY_BYTES: usize = 256;
/// The largest value stored, in bytes.
pub(crate) const MAX_VALUE_BYTES: usize = 64 * 1024;
/// How many entries the store holds at most, over all mounts.
pub(crate) const MAX_ENTRIES: usize = 4096;

struct Entry {
    value: Vec<u8>,
    expires: Instant,
}

/// The entries of every mount, by (scope, key).
#[derive(Default)]
pub(crate) struct MountCache {
    entries: Mutex<HashMap<(Arc<str>, String), Entry>>,
}

impl MountCache {
    /// The value under `key` in `scope`, unless it expired.
    pub fn get(&self, scope: &Arc<str>, key: &str, now: Instant) -> Option<Vec<u8>> {
        let mut entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        let id = (scope.clone(), key.to_owned());
        match entries.get(&id) {
            Some(entry) if entry.expires > now => Some(entry.value.clone()),
            Some(_) => {
                entries.remove(&id);
                None
            }
            None => None,
        }
    }

    /// Stores `value` under `key` in `scope` until `now + ttl`; a zero `ttl` removes the entry.
    /// Whether it was stored (a key or value over the limits is not).
    pub fn set(&self, scope: &Arc<str>, key: &str, value: Vec<u8>, ttl: Duration, now: Instant) -> bool {
        let mut entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        let id = (scope.clone(), key.to_owned());
        if ttl.is_zero() || key.len() > MAX_KEY_BYTES || value.len() > MAX_VALUE_BYTES {
            entries.remove(&id);
            return false;
        }
        if !entries.contains_key(&id) && entries.len() >= MAX_ENTRIES {
            entries.retain(|_, entry| entry.expires > now);
            if entries.len() >= MAX_ENTRIES {
                // Full of live entries: the one that would expire first goes.
                let soonest = entries
                    .iter()
                    .min_by_key(|(_, entry)| entry.expires)
                    .map(|(id, _)| id.clone());
                if let Some(soonest) = soonest {
                    entries.remove(&soonest);
                }
            }
        }
        let expires = now
            .checked_add(ttl)
            .unwrap_or(now + Duration::from_secs(365 * 24 * 3600));
        entries.insert(id, Entry { value, expires });
        true
    }

    #[cfg(test)]
    fn len(&self) -> usize {
        self.entries.lock().unwrap().len()
    }
}

/// What the `cache` import of one call reaches: the shared store and the call's scope.
#[derive(Clone)]
pub(crate) struct CacheState {
    pub store: Arc<MountCache>,
    /// The plugin and the mount (or step) the call runs for.
    pub scope: Arc<str>,
}

impl wit::Host for CacheState {
    async fn get(&mut self, key: String) -> wasmtime::Result<Option<Vec<u8>>> {
        Ok(self.store.get(&self.scope, &key, Instant::now()))
    }

    async fn set(&mut self, key: String, value: Vec<u8>, ttl_ms: u64) -> wasmtime::Result<()> {
        let stored = self
            .store
            .set(&self.scope, &key, value, Duration::from_millis(ttl_ms), Instant::now());
        if !stored && ttl_ms > 0 {
            tracing::debug!(scope = %self.scope, key = %key, "cache entry over the limits, not stored");
        }
        Ok(())
    }
}

/// Links the `cache` import (channels only).
pub(crate) fn add_to_linker(linker: &mut wasmtime::component::Linker<CallState>) -> wasmtime::Result<()> {
    wit::add_to_linker::<CallState, wasmtime::component::HasSelf<CacheState>>(linker, |state| &mut state.cache)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scope(s: &str) -> Arc<str> {
        Arc::from(s)
    }

    #[test]
    fn entries_are_the_scopes_own_and_expire() {
        let cache = MountCache::default();
        let now = Instant::now();
        let (de, fr) = (scope("ebay/ebay-de"), scope("ebay/ebay-fr"));
        assert!(cache.set(&de, "token", b"Zugang".to_vec(), Duration::from_secs(60), now));
        assert_eq!(cache.get(&de, "token", now), Some(b"Zugang".to_vec()));
        assert_eq!(cache.get(&fr, "token", now), None, "another mount sees nothing");
        assert_eq!(cache.get(&de, "token", now + Duration::from_secs(60)), None, "expired");
        assert_eq!(cache.len(), 0, "an expired entry is dropped when read");
        cache.set(
            &fr,
            "clé",
            "jeton 鍵 مفتاح".as_bytes().to_vec(),
            Duration::from_secs(5),
            now,
        );
        cache.set(&fr, "clé", Vec::new(), Duration::ZERO, now);
        assert_eq!(cache.get(&fr, "clé", now), None, "a zero ttl removes");
    }

    #[test]
    fn limits_hold() {
        let cache = MountCache::default();
        let now = Instant::now();
        let s = scope("p/m");
        assert!(!cache.set(&s, &"k".repeat(MAX_KEY_BYTES + 1), vec![1], Duration::from_secs(1), now));
        assert!(!cache.set(&s, "big", vec![0; MAX_VALUE_BYTES + 1], Duration::from_secs(1), now));
        for i in 0..MAX_ENTRIES {
            cache.set(&s, &format!("k{i}"), vec![1], Duration::from_secs(10 + i as u64), now);
        }
        assert_eq!(cache.len(), MAX_ENTRIES);
        cache.set(&s, "new", vec![2], Duration::from_secs(100_000), now);
        assert_eq!(cache.len(), MAX_ENTRIES);
        assert_eq!(cache.get(&s, "k0", now), None, "the soonest to expire went");
        assert_eq!(cache.get(&s, "new", now), Some(vec![2]));
        assert_eq!(cache.get(&s, "k1", now), Some(vec![1]));
    }
}
