//! The plugins and workflows a run uses, loaded and checked together.

use crate::runtime::{CallOptions, GrantedBy, Plugin, PluginKind, Runtime, StepFailure};
use crate::workflow::{self, Catalog, Channels, Diagnostics, PluginSummary, Workflow};
use anyhow::Context as _;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

/// How long a channel plugin's call (verify, handshake, parse) may take.
const CHANNEL_TIMEOUT: Duration = Duration::from_secs(10);

/// Loaded plugins by name, the workflows that use them and the channels mounted at hooks.
pub struct Pipeline {
    pub runtime: Arc<Runtime>,
    pub plugins: BTreeMap<String, Plugin>,
    pub workflows: Vec<Workflow>,
    /// The channels file's mounts; none until [`Pipeline::mount_channels`].
    pub channels: Channels,
}

/// What a call to a channel plugin needs: the plugin, its `with:` and its grants.
#[derive(Debug)]
pub struct ChannelCall<'a> {
    pub plugin: &'a Plugin,
    pub config: serde_json::Value,
    pub options: CallOptions,
}

impl std::fmt::Debug for Pipeline {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Pipeline")
            .field("plugins", &self.plugins.keys().collect::<Vec<_>>())
            .field(
                "workflows",
                &self.workflows.iter().map(|w| w.name.to_string()).collect::<Vec<_>>(),
            )
            .finish()
    }
}

/// The catalog the workflow compiler checks `uses:` and `with:` against.
pub fn catalog(plugins: &BTreeMap<String, Plugin>) -> Catalog {
    let mut catalog = Catalog::new();
    for (name, plugin) in plugins {
        let info = plugin.info();
        catalog.insert(
            name.clone(),
            PluginSummary {
                version: info.version.clone(),
                kind: match plugin.kind() {
                    PluginKind::Step => workflow::PluginKind::Step,
                    PluginKind::Channel => workflow::PluginKind::Channel,
                },
                config_schema: info.config_schema.clone(),
            },
        );
    }
    catalog
}

/// Loads the workflows at `paths` and checks them against the plugins: their schemas, then
/// each step's `with:` through its plugin's `check-config` (under the step's time limit), so
/// that every problem is reported before anything runs.
pub async fn load_workflows(
    paths: &[PathBuf],
    plugins: &BTreeMap<String, Plugin>,
) -> Result<Vec<Workflow>, workflow::Diagnostics> {
    let loading = workflow::load(paths, &catalog(plugins));
    let mut answers = Vec::new();
    for check in loading.config_checks() {
        let answer = match plugins.get(&check.plugin) {
            Some(plugin) => plugin
                .check_config(&check.config, &CallOptions::new(check.step.clone(), check.timeout))
                .await
                .map_err(|failure| why_unchecked(&failure)),
            None => Err(format!("plugin `{}` is not loaded", check.plugin)),
        };
        answers.push(answer);
    }
    loading.finish(answers)
}

/// Loads the channels file at `file` and checks it against the plugins: their schemas, then
/// each mount's `with:` through its channel plugin's `check-config`, every problem at once.
pub async fn load_channels(file: &Path, plugins: &BTreeMap<String, Plugin>) -> Result<Channels, workflow::Diagnostics> {
    let loading = workflow::load_channels_checking(file, &catalog(plugins))?;
    let mut answers = Vec::new();
    for check in loading.config_checks() {
        let answer = match plugins.get(&check.plugin) {
            Some(plugin) => plugin
                .check_config(&check.config, &CallOptions::new(check.step.clone(), check.timeout))
                .await
                .map_err(|failure| why_unchecked(&failure)),
            None => Err(format!("plugin `{}` is not loaded", check.plugin)),
        };
        answers.push(answer);
    }
    loading.finish(answers)
}

/// Why a plugin's check failed, on one line for its diagnostic (which names the plugin and the
/// step already): the failure without its origin, a trap without its wasm backtrace.
fn why_unchecked(failure: &StepFailure) -> String {
    let text = failure.to_string();
    let origin = format!("{}: ", failure.origin());
    let text = text.strip_prefix(&origin).unwrap_or(&text);
    let frame = |line: &str| {
        let line = line.trim_start();
        line.split_once(':')
            .is_some_and(|(n, rest)| n.bytes().all(|b| b.is_ascii_digit()) && rest.trim_start().starts_with("0x"))
    };
    text.lines()
        .map(str::trim)
        .filter(|line| !line.is_empty() && *line != "Caused by:" && !frame(line))
        .collect::<Vec<_>>()
        .join(" ")
}

/// Loads every plugin in `dir`.
pub async fn load_plugins(runtime: &Runtime, dir: &Path) -> anyhow::Result<BTreeMap<String, Plugin>> {
    let plugins = runtime
        .load_dir(dir)
        .await
        .with_context(|| format!("loading plugins from {}", dir.display()))?;
    Ok(plugins.into_iter().map(|p| (p.info().name.clone(), p)).collect())
}

impl Pipeline {
    /// Loads the plugins in `plugin_dir` and the workflows at `workflow_paths`, checking the
    /// workflows against the plugins.
    pub async fn load(
        runtime: Arc<Runtime>,
        plugin_dir: &Path,
        workflow_paths: &[PathBuf],
    ) -> anyhow::Result<Pipeline> {
        let plugins = load_plugins(&runtime, plugin_dir).await?;
        let workflows = load_workflows(workflow_paths, &plugins)
            .await
            .map_err(|d| anyhow::anyhow!("{d}"))?;
        Ok(Pipeline {
            runtime,
            plugins,
            workflows,
            channels: Channels::default(),
        })
    }

    /// Mounts the channels of a channels file, checked against the loaded plugins.
    pub fn mount_channels(&mut self, file: &Path) -> Result<(), Diagnostics> {
        self.channels = workflow::load_channels(file, &catalog(&self.plugins))?;
        Ok(())
    }

    /// [`Pipeline::mount_channels`], with each mount's `with:` checked by its channel plugin
    /// too (`check-config`), as `weft serve` and `weft validate` load them.
    pub async fn mount_channels_checked(&mut self, file: &Path) -> Result<(), Diagnostics> {
        self.channels = load_channels(file, &self.plugins).await?;
        Ok(())
    }

    /// How to call the channel that reads traffic: the mount of `hook` (its plugin, `with:`
    /// and grants) for traffic that came through a hook, the plugin `channel` with no config
    /// and no grants otherwise (files).
    pub fn channel_call(&self, channel: &str, hook: Option<&str>) -> anyhow::Result<ChannelCall<'_>> {
        let Some(hook) = hook else {
            return Ok(ChannelCall {
                plugin: self.channel(channel)?,
                config: serde_json::json!({}),
                options: CallOptions::new(format!("channel:{channel}"), CHANNEL_TIMEOUT),
            });
        };
        let Some(mount) = self.channels.get(hook) else {
            anyhow::bail!("hook `{hook}` is not in the channels file");
        };
        let mut options = CallOptions::new(hook, CHANNEL_TIMEOUT);
        options.granted_by = GrantedBy::ChannelsFile;
        options.grants.http_hosts = mount.allow.http.iter().map(|h| h.to_string()).collect();
        options.grants.secrets = mount.allow.secrets.iter().map(|s| s.to_string()).collect();
        options.grants.smtp = mount.smtp.clone();
        Ok(ChannelCall {
            plugin: self.channel(mount.uses.as_str())?,
            config: mount.with.clone(),
            options,
        })
    }

    /// The channel plugin with this name.
    pub fn channel(&self, name: &str) -> anyhow::Result<&Plugin> {
        match self.plugins.get(name) {
            Some(p) if p.kind() == PluginKind::Channel => Ok(p),
            Some(_) => anyhow::bail!("plugin `{name}` is a step, not a channel"),
            None => anyhow::bail!(
                "no channel plugin `{name}` is loaded (loaded: {})",
                self.plugins.keys().cloned().collect::<Vec<_>>().join(", ")
            ),
        }
    }

    /// Whether some workflow reacts to events of this kind.
    pub fn listens_to(&self, kind: &str) -> bool {
        self.workflows.iter().any(|w| w.triggered_by(kind))
    }
}
