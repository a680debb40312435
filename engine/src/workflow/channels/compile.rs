//! The channels file loader: YAML text -> marked tree -> checks -> [`Channels`], every problem
//! reported at once with file:line:column.

use super::model::{ChannelMount, Channels};
use crate::workflow::catalog::{Catalog, PluginKind};
use crate::workflow::compile::{Checker, ConfigCheck, is_null};
use crate::workflow::diagnostic::{Diagnostic, Diagnostics, did_you_mean};
use crate::workflow::model::Grants;
use crate::workflow::names::{HookId, HostPattern, PluginName, SecretName};
use crate::workflow::yaml::{Node, Value};
use std::collections::HashMap;
use std::path::Path;

/// Keys of the top level of a channels file.
pub(crate) const TOP_KEYS: [&str; 2] = ["version", "channels"];
/// Keys of a channel.
pub(crate) const CHANNEL_KEYS: [&str; 7] = ["id", "uses", "with", "allow", "poll", "maildir", "smtp"];
/// Keys of a channel's `allow:`.
pub(crate) const ALLOW_KEYS: [&str; 2] = ["http", "secrets"];

/// Loads and checks the channels file at `file` against the plugins in `catalog`; fails with
/// every problem found.
pub fn load_channels(file: &Path, catalog: &Catalog) -> Result<Channels, Diagnostics> {
    let text = std::fs::read_to_string(file).map_err(|error| {
        Diagnostics::new(vec![Diagnostic {
            file: file.to_path_buf(),
            line: 0,
            column: 0,
            message: format!("cannot read the channels file: {error}"),
        }])
    })?;
    load_channels_str(file, &text, catalog)
}

/// [`load_channels`] from text; `file` names it in diagnostics.
pub fn load_channels_str(file: &Path, text: &str, catalog: &Catalog) -> Result<Channels, Diagnostics> {
    load_channels_checking_str(file, text, catalog).map(|loading| loading.channels)
}

/// The shortest and longest interval a channel's `poll:` may set.
const POLL_RANGE: (std::time::Duration, std::time::Duration) = (
    std::time::Duration::from_secs(1),
    std::time::Duration::from_secs(24 * 60 * 60),
);

/// The time limit of a channel plugin's `check-config` of a mount's `with:`.
const CHECK_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(10);

/// A channels file checked as far as the loader can alone, waiting for each channel plugin's
/// `check-config` of its mounts' `with:` (as [`crate::workflow::Loading`] waits for steps').
#[derive(Debug)]
pub struct ChannelsLoading {
    channels: Channels,
    checks: Vec<ConfigCheck>,
}

impl ChannelsLoading {
    /// The `with:` values that their plugins must check, in file order.
    pub fn config_checks(&self) -> &[ConfigCheck] {
        &self.checks
    }

    /// The channels, once every check was answered (in the same order) with the problems the
    /// plugin found or why the check failed; otherwise every problem at its line and column.
    pub fn finish(self, answers: Vec<Result<Vec<weft_sdk::ConfigProblem>, String>>) -> Result<Channels, Diagnostics> {
        let mut answers = answers.into_iter();
        let mut diagnostics = Vec::new();
        for check in self.checks {
            let answer = answers
                .next()
                .unwrap_or_else(|| Err("the engine did not ask the plugin to check it".to_owned()));
            diagnostics.extend(check.diagnostics(answer));
        }
        if diagnostics.is_empty() {
            Ok(self.channels)
        } else {
            Err(Diagnostics::new(diagnostics))
        }
    }
}

/// Loads and checks the channels file at `file` as [`load_channels`] does, keeping each
/// mount's `with:` for its plugin's own check.
pub fn load_channels_checking(file: &Path, catalog: &Catalog) -> Result<ChannelsLoading, Diagnostics> {
    let text = std::fs::read_to_string(file).map_err(|error| {
        Diagnostics::new(vec![Diagnostic {
            file: file.to_path_buf(),
            line: 0,
            column: 0,
            message: format!("cannot read the channels file: {error}"),
        }])
    })?;
    load_channels_checking_str(file, &text, catalog)
}

fn load_channels_checking_str(file: &Path, text: &str, catalog: &Catalog) -> Result<ChannelsLoading, Diagnostics> {
    let mut checker = Checker::new(file, text, catalog);
    let mounts = channels(&mut checker);
    match mounts {
        Some(mounts) if checker.diagnostics.is_empty() => Ok(ChannelsLoading {
            checks: checker.take_checks(),
            channels: Channels {
                file: Some(file.to_path_buf()),
                mounts,
            },
        }),
        _ => Err(Diagnostics::new(checker.diagnostics)),
    }
}

fn channels(checker: &mut Checker<'_>) -> Option<Vec<ChannelMount>> {
    let root = checker.root("a channels file", "expected a mapping with keys: version, channels")?;
    checker.check_keys(&root, &TOP_KEYS, "at the top level");
    checker.version(&root);
    let Some(list) = root.get("channels") else {
        checker.report(
            root.pos,
            "missing key `channels` at the top level, expected a list of channels like `channels: [{ id: shop-de, uses: json }]`",
        );
        return None;
    };
    let Value::Seq(items) = &list.value else {
        checker.report(
            list.pos,
            format!("`channels` must be a list of channels, found {}", list.type_name()),
        );
        return None;
    };
    if items.is_empty() {
        checker.report(list.pos, "`channels` is empty, expected at least one channel");
    }
    let mut first_seen: HashMap<String, usize> = HashMap::new();
    let mut mounts = Vec::new();
    for (index, item) in items.iter().enumerate() {
        if let Some(mount) = channel(checker, index, item, &mut first_seen) {
            mounts.push(mount);
        }
    }
    Some(mounts)
}

fn channel(
    checker: &mut Checker<'_>,
    index: usize,
    node: &Node,
    first_seen: &mut HashMap<String, usize>,
) -> Option<ChannelMount> {
    if node.as_map().is_none() {
        checker.report(
            node.pos,
            format!(
                "channel {} must be a mapping with keys id and uses, found {}",
                index + 1,
                node.type_name()
            ),
        );
        return None;
    }
    let label = match node.get("id").and_then(Node::as_scalar) {
        Some(id) if !id.is_empty() => format!("channel `{id}`"),
        _ => format!("channel {}", index + 1),
    };
    checker.check_keys(node, &CHANNEL_KEYS, &format!("in {label}"));
    let before = checker.diagnostics.len();

    let id = match node.get("id") {
        None => {
            checker.report(
                node.pos,
                format!("missing key `id` in {label}, expected a hook id like `id: shop-de`"),
            );
            None
        }
        Some(id_node) => match id_node.as_str().map(HookId::parse) {
            Some(Ok(id)) => {
                if let Some(first) = first_seen.get(id.as_str()) {
                    checker.report(
                        id_node.pos,
                        format!("duplicate hook id `{id}`, first defined at line {first}"),
                    );
                } else {
                    first_seen.insert(id.as_str().to_owned(), id_node.pos.line);
                }
                Some(id)
            }
            Some(Err(error)) => {
                checker.report(id_node.pos, error.to_string());
                None
            }
            None => {
                checker.report(
                    id_node.pos,
                    format!("the id of {label} must be a string, found {}", id_node.type_name()),
                );
                None
            }
        },
    };

    let with_node = node.get("with").filter(|w| !is_null(w));
    if let Some(with) = with_node
        && with.as_map().is_none()
    {
        checker.report(
            with.pos,
            format!("`with:` of {label} must be a mapping, found {}", with.type_name()),
        );
    }
    let before_with = checker.diagnostics.len();
    if let Some(with) = with_node {
        checker.check_data_keys(with, &format!("`with:` of {label}"));
    }
    let with_checkable = checker.diagnostics.len() == before_with && with_node.is_none_or(|w| w.as_map().is_some());

    let uses = match node.get("uses") {
        None => {
            checker.report(
                node.pos,
                format!("missing key `uses` in {label}, expected the name of a channel plugin"),
            );
            None
        }
        Some(uses) => plugin(checker, uses, &label, with_node, with_checkable),
    };
    let allow = match node.get("allow") {
        None => Grants::default(),
        Some(allow) => grants(checker, allow, &label),
    };
    let poll = node
        .get("poll")
        .and_then(|poll| checker.duration(poll, &format!("`poll` of {label}"), POLL_RANGE, "1s to 24h"));
    let maildir = node
        .get("maildir")
        .map(|folders| super::mail::maildirs(checker, folders, &label))
        .unwrap_or_default();
    let smtp = node
        .get("smtp")
        .and_then(|relay| super::mail::smtp(checker, relay, &label));
    if checker.diagnostics.len() > before {
        return None;
    }
    Some(ChannelMount {
        id: id?,
        uses: uses?,
        with: with_node.map_or_else(|| serde_json::json!({}), Node::to_json),
        allow,
        poll,
        maildir,
        smtp,
    })
}

/// Checks `uses:` against the catalog (it must name a channel plugin) and `with:` against the
/// plugin's schema.
fn plugin(
    checker: &mut Checker<'_>,
    uses: &Node,
    label: &str,
    with: Option<&Node>,
    with_checkable: bool,
) -> Option<PluginName> {
    let Some(text) = uses.as_str() else {
        checker.report(
            uses.pos,
            format!("`uses` of {label} must be a plugin name, found {}", uses.type_name()),
        );
        return None;
    };
    let catalog: &Catalog = checker.catalog;
    let channel_plugins: Vec<&str> = catalog.names(PluginKind::Channel).collect();
    let known = if channel_plugins.is_empty() {
        "no channel plugins are installed".to_owned()
    } else {
        format!("expected one of the channel plugins: {}", channel_plugins.join(", "))
    };
    let Some(summary) = catalog.get(text) else {
        let hint = did_you_mean(text, channel_plugins.iter().copied())
            .map(|s| format!(" (did you mean `{s}`?)"))
            .unwrap_or_default();
        checker.report(uses.pos, format!("unknown plugin `{text}` in {label}{hint}, {known}"));
        return None;
    };
    if summary.kind == PluginKind::Step {
        checker.report(
            uses.pos,
            format!("plugin `{text}` in {label} is a step plugin, not a channel; {known}"),
        );
        return None;
    }
    let name = match PluginName::parse(text) {
        Ok(name) => name,
        Err(error) => {
            checker.report(uses.pos, error.to_string());
            return None;
        }
    };
    if with_checkable && checker.check_with(text, summary, with, uses, label) {
        let file = checker.file().to_path_buf();
        checker.add_check(ConfigCheck::channel(text, label, &file, uses.pos, with, CHECK_TIMEOUT));
    }
    Some(name)
}

fn grants(checker: &mut Checker<'_>, node: &Node, label: &str) -> Grants {
    let mut grants = Grants::default();
    if node.as_map().is_none() {
        checker.report(
            node.pos,
            format!(
                "`allow` of {label} must be a mapping like `{{ http: [api.example.com], secrets: [token] }}`, found {}",
                node.type_name()
            ),
        );
        return grants;
    }
    checker.check_keys(node, &ALLOW_KEYS, &format!("in `allow` of {label}"));
    if let Some(http) = node.get("http") {
        let what = format!("`allow.http` of {label}");
        for item in checker.string_list(http, &what, "[api.example.com, \"*.shopify.com\"]") {
            match HostPattern::parse(item.as_scalar().unwrap_or_default()) {
                Ok(host) => grants.http.push(host),
                Err(error) => checker.report(item.pos, error.to_string()),
            }
        }
    }
    if let Some(secrets) = node.get("secrets") {
        let what = format!("`allow.secrets` of {label}");
        for item in checker.string_list(secrets, &what, "[shop_de_signing]") {
            match SecretName::parse(item.as_scalar().unwrap_or_default()) {
                Ok(secret) => grants.secrets.push(secret),
                Err(error) => checker.report(item.pos, error.to_string()),
            }
        }
    }
    grants
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::workflow::PluginSummary;

    /// The keys the checker accepts are the keys the file types (and so the JSON Schema) declare.
    #[test]
    fn checker_keys_match_the_file_format() {
        let schema = super::super::file::json_schema();
        let keys = |value: &serde_json::Value| -> Vec<String> {
            let mut keys: Vec<String> = value["properties"].as_object().unwrap().keys().cloned().collect();
            keys.sort();
            keys
        };
        let sorted = |list: &[&str]| -> Vec<String> {
            let mut list: Vec<String> = list.iter().map(|s| (*s).to_owned()).collect();
            list.sort();
            list
        };
        assert_eq!(keys(&schema), sorted(&TOP_KEYS));
        assert_eq!(keys(&schema["$defs"]["ChannelFile"]), sorted(&CHANNEL_KEYS));
        assert_eq!(keys(&schema["$defs"]["ChannelAllowFile"]), sorted(&ALLOW_KEYS));
        assert_eq!(
            keys(&schema["$defs"]["SmtpFile"]),
            sorted(&super::super::mail::SMTP_KEYS)
        );
    }

    fn catalog() -> Catalog {
        let mut catalog = Catalog::new();
        let schema = serde_json::json!({
            "type": "object",
            "additionalProperties": false,
            "properties": { "default_channel": { "type": "string" }, "signature_secret": { "type": "string" } }
        });
        catalog.insert(
            "json",
            PluginSummary {
                version: "0.1.0".into(),
                kind: PluginKind::Channel,
                config_schema: schema,
            },
        );
        catalog.insert(
            "router",
            PluginSummary {
                version: "0.1.0".into(),
                kind: PluginKind::Step,
                config_schema: serde_json::json!({}),
            },
        );
        catalog
    }

    /// Each file, and the diagnostics it gets (`line:column: message`), or the mounts it gives.
    #[test]
    fn files_and_their_problems() {
        let table: &[(&str, &[&str])] = &[
            (
                "version: 1\nchannels:\n  - id: shop-de\n    uses: json\n    with: { default_channel: 'ショップ' }\n    allow: { http: [api.example.com], secrets: [shop_signing] }\n  - { id: chat, uses: json }\n",
                &[],
            ),
            (
                "version: 2\nchannels:\n  - id: Shop\n    uses: jsn\n    colour: red\n  - id: b\n    uses: router\n    with: { default_chanel: x }\n  - id: b\n    uses: json\n    with: { default_chanel: x }\n    allow: { embeddings: true, secrets: [Bad-Name] }\n",
                &[
                    "1:10: unsupported version `2`, expected `version: 1`",
                    "3:9: invalid hook id `Shop`: it starts with `S`, expected a lowercase letter followed by lowercase letters, digits, `_` or `-`",
                    "4:11: unknown plugin `jsn` in channel `Shop` (did you mean `json`?), expected one of the channel plugins: json",
                    "5:5: unknown key `colour` in channel `Shop`, expected one of: id, uses, with, allow, poll, maildir, smtp",
                    "7:11: plugin `router` in channel `b` is a step plugin, not a channel; expected one of the channel plugins: json",
                    "9:9: duplicate hook id `b`, first defined at line 6",
                    "11:13: unknown key `default_chanel` in `with:` of channel `b`, expected one of: default_channel, signature_secret",
                    "12:14: unknown key `embeddings` in `allow` of channel `b`, expected one of: http, secrets",
                    "12:42: invalid secret name `Bad-Name`: it starts with `B`, expected a lowercase letter followed by lowercase letters, digits or `_`",
                ],
            ),
            (
                "version: 1\nchannels:\n  - { id: feed, uses: json, poll: 5m }\n  - { id: slow, uses: json, poll: 2d }\n  - { id: fast, uses: json, poll: 100ms }\n  - { id: odd, uses: json, poll: [5m] }\n",
                &[
                    "4:35: `poll` of channel `slow` is 2d, out of range, expected 1s to 24h",
                    "5:35: `poll` of channel `fast` is 100ms, out of range, expected 1s to 24h",
                    "6:34: `poll` of channel `odd` must be a duration like 200ms, found a list",
                ],
            ),
            (
                "channels: []\n",
                &[
                    "1:1: missing key `version` at the top level, expected `version: 1`",
                    "1:11: `channels` is empty, expected at least one channel",
                ],
            ),
            (
                "",
                &["1:1: the file is empty, expected a mapping with keys: version, channels"],
            ),
            (
                "version: 1\nchannels: {id: x}\n",
                &["2:11: `channels` must be a list of channels, found a mapping"],
            ),
        ];
        for (text, expected) in table {
            let result = load_channels_str(Path::new("channels.yaml"), text, &catalog());
            let got: Vec<String> = match &result {
                Ok(_) => Vec::new(),
                Err(diagnostics) => diagnostics
                    .iter()
                    .map(|d| format!("{}:{}: {}", d.line, d.column, d.message))
                    .collect(),
            };
            assert_eq!(got, *expected, "{text}");
        }
        let channels = load_channels_str(Path::new("c.yaml"), table[0].0, &catalog()).unwrap();
        let shop = channels.get("shop-de").unwrap();
        assert_eq!(shop.with, serde_json::json!({ "default_channel": "ショップ" }));
        assert_eq!(shop.poll, None);
        let feed = "version: 1\nchannels:\n  - { id: feed, uses: json, poll: 1m30s }\n";
        let polled = load_channels_str(Path::new("c.yaml"), feed, &catalog()).unwrap();
        assert_eq!(
            polled.get("feed").unwrap().poll,
            Some(std::time::Duration::from_secs(90))
        );
        assert_eq!(shop.allow.secrets[0].as_str(), "shop_signing");
        assert_eq!(channels.get("chat").unwrap().with, serde_json::json!({}));
        assert!(channels.get("nope").is_none());
    }
}
