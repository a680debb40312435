//! The mounted channels the engine serves: checked, not deserializable.

use crate::workflow::{Grants, HookId, PluginName};
use std::path::PathBuf;

/// The channels of one channels file, by hook id.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Channels {
    /// The file they came from; `None` when no channels file was given.
    pub file: Option<PathBuf>,
    /// The mounts, in the file's order; hook ids are unique.
    pub mounts: Vec<ChannelMount>,
}

impl Channels {
    /// The mount of a hook id.
    pub fn get(&self, hook: &str) -> Option<&ChannelMount> {
        self.mounts.iter().find(|m| m.id.as_str() == hook)
    }
}

/// One channel plugin mounted at `/hooks/{id}`.
#[derive(Debug, Clone, PartialEq)]
pub struct ChannelMount {
    pub id: HookId,
    /// The channel plugin (known to the catalog, and a channel, when the file loaded).
    pub uses: PluginName,
    /// The plugin's config, valid against its schema; `{}` when none was written.
    pub with: serde_json::Value,
    /// Hosts and secrets the plugin may use (never embeddings).
    pub allow: Grants,
    /// How often `weft serve` polls the channel (its plugin's `poll`); none for a channel
    /// that only receives webhooks.
    pub poll: Option<std::time::Duration>,
    /// The Maildir folders `weft serve` watches for new mail to parse with the plugin (as if
    /// each mail had come through the hook); none for a channel without mail.
    pub maildir: Vec<PathBuf>,
    /// The SMTP relay the plugin submits outbound mail through (the `mail` import); none
    /// refuses every submission.
    pub smtp: Option<crate::runtime::SmtpRelay>,
}
