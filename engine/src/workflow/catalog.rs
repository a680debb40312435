//! What the loader knows of the installed plugins: name, version, kind and config schema
//! (compiled once per catalog, the first time a `with:` is checked against it).

use std::collections::BTreeMap;
use std::sync::{Arc, OnceLock};

/// Whether a plugin is a workflow step or a channel connector.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PluginKind {
    /// Decides: usable in a workflow's `uses:`.
    Step,
    /// Connects a channel: configured by the engine, not used as a step.
    Channel,
}

/// What a plugin publishes about itself.
#[derive(Debug, Clone, PartialEq)]
pub struct PluginSummary {
    /// The plugin's version, e.g. `0.1.0`.
    pub version: String,
    /// Step or channel.
    pub kind: PluginKind,
    /// JSON Schema of the plugin's config, checked against each step's `with:`.
    pub config_schema: serde_json::Value,
}

/// The plugins known to the loader, by name; the engine fills it from the loaded plugins.
///
/// Each plugin's config schema is compiled the first time a `with:` is checked against it and
/// kept for as long as the catalog (and its clones) live: compiling a schema costs far more
/// than checking a value against it, and a loader that checks many files, or one file many
/// times (the fuzz target), would otherwise compile it for each.
#[derive(Debug, Clone, Default)]
pub struct Catalog {
    plugins: BTreeMap<String, Known>,
}

/// A plugin in the catalog: what it publishes, and its schema once compiled (or why it does
/// not compile).
#[derive(Debug, Clone)]
struct Known {
    summary: PluginSummary,
    schema: Arc<OnceLock<Result<jsonschema::Validator, String>>>,
}

impl Catalog {
    /// An empty catalog.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds or replaces a plugin.
    pub fn insert(&mut self, name: impl Into<String>, summary: PluginSummary) {
        let known = Known {
            summary,
            schema: Arc::default(),
        };
        self.plugins.insert(name.into(), known);
    }

    /// The plugin of that name, if known.
    pub fn get(&self, name: &str) -> Option<&PluginSummary> {
        self.plugins.get(name).map(|known| &known.summary)
    }

    /// The compiled config schema of the plugin of that name (formats checked too), or why it
    /// does not compile; None for a plugin the catalog does not know.
    pub(super) fn schema(&self, name: &str) -> Option<&Result<jsonschema::Validator, String>> {
        let known = self.plugins.get(name)?;
        Some(known.schema.get_or_init(|| {
            jsonschema::options()
                .should_validate_formats(true)
                .build(&known.summary.config_schema)
                .map_err(|e| e.to_string())
        }))
    }

    /// Names of the plugins of one kind, sorted.
    pub fn names(&self, kind: PluginKind) -> impl Iterator<Item = &str> {
        self.plugins
            .iter()
            .filter(move |(_, p)| p.summary.kind == kind)
            .map(|(n, _)| n.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::{Catalog, PluginKind, PluginSummary};

    fn catalog() -> Catalog {
        let mut catalog = Catalog::new();
        let summary = |config_schema| PluginSummary {
            version: "0.1.0".into(),
            kind: PluginKind::Step,
            config_schema,
        };
        catalog.insert(
            "router",
            summary(serde_json::json!({"type": "object", "properties": {"min_confidence": {"type": "number"}}})),
        );
        catalog.insert("broken", summary(serde_json::json!({"type": "no such type"})));
        catalog
    }

    /// A schema is compiled once for the catalog and its clones, and a catalog can be shared
    /// between threads (the fuzz target keeps one in a static).
    #[test]
    fn a_schema_is_compiled_once_and_shared() {
        fn shared<T: Send + Sync>(_: &T) {}
        let catalog = catalog();
        shared(&catalog);
        let first = catalog.schema("router").unwrap().as_ref().unwrap();
        assert!(std::ptr::eq(first, catalog.schema("router").unwrap().as_ref().unwrap()));
        let clone = catalog.clone();
        assert!(std::ptr::eq(first, clone.schema("router").unwrap().as_ref().unwrap()));
        assert!(first.is_valid(&serde_json::json!({"min_confidence": 0.5})));
        assert!(!first.is_valid(&serde_json::json!({"min_confidence": "hoch"})));
        // A plugin inserted again (a reloaded plugin) gets its schema compiled afresh.
        let mut reloaded = catalog.clone();
        reloaded.insert("router", catalog.get("router").unwrap().clone());
        assert!(!std::ptr::eq(
            first,
            reloaded.schema("router").unwrap().as_ref().unwrap()
        ));
        // A schema that does not compile says why, every time; an unknown plugin has none.
        assert!(catalog.schema("broken").unwrap().is_err());
        assert!(catalog.schema("broken").unwrap().is_err());
        assert!(catalog.schema("unknown").is_none());
    }
}
