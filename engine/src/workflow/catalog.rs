//! What the loader knows of the installed plugins: name, version, kind and config schema.

use std::collections::BTreeMap;

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
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Catalog {
    /// Plugins by name.
    pub plugins: BTreeMap<String, PluginSummary>,
}

impl Catalog {
    /// An empty catalog.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds or replaces a plugin.
    pub fn insert(&mut self, name: impl Into<String>, summary: PluginSummary) {
        self.plugins.insert(name.into(), summary);
    }

    /// The plugin of that name, if known.
    pub fn get(&self, name: &str) -> Option<&PluginSummary> {
        self.plugins.get(name)
    }

    /// Names of the plugins of one kind, sorted.
    pub fn names(&self, kind: PluginKind) -> impl Iterator<Item = &str> {
        self.plugins
            .iter()
            .filter(move |(_, p)| p.kind == kind)
            .map(|(n, _)| n.as_str())
    }
}
