//! The loader: YAML text -> marked tree -> checks -> [`Workflow`], with every problem of every
//! file reported at once: its own, the plugins' JSON Schemas', and what each step plugin's
//! `check-config` found in its `with:` ([`Loading`]), each at the line and column it concerns.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::time::Duration;

use super::catalog::{Catalog, PluginKind, PluginSummary};
use super::condition::Condition;
use super::diagnostic::{Diagnostic, Diagnostics, did_you_mean};
use super::model::{
    DEFAULT_TIMEOUT, Grants, MAX_ATTEMPTS, MAX_BACKOFF, MAX_TIMEOUT, MIN_TIMEOUT, OnError, Retry, Step, Workflow,
};
use super::names::{EventPattern, HostPattern, PluginName, SecretName, StepId};
use super::yaml::{self, Node, Pos, Style, Value};
use weft_sdk::ConfigProblem;

/// Keys of the top level of a workflow file.
pub(crate) const TOP_KEYS: [&str; 4] = ["version", "name", "on", "steps"];
/// Keys of a step.
pub(crate) const STEP_KEYS: [&str; 8] = ["id", "uses", "with", "if", "timeout", "retry", "allow", "on_error"];
/// Keys of `retry:`.
pub(crate) const RETRY_KEYS: [&str; 2] = ["attempts", "backoff"];
/// Keys of `allow:`.
pub(crate) const ALLOW_KEYS: [&str; 3] = ["http", "secrets", "embeddings"];

/// Workflows checked as far as the loader can check them alone, waiting for the step plugins'
/// own checks of their `with:` ([`Loading::config_checks`]): only [`Loading::finish`], given
/// the plugins' answers, hands the workflows out, or every problem of every file.
#[derive(Debug)]
pub struct Loading {
    workflows: Vec<Workflow>,
    diagnostics: Vec<Diagnostic>,
    checks: Vec<ConfigCheck>,
}

/// One step's `with:` that its JSON Schema accepted, for the step's plugin to check
/// (`check-config`).
#[derive(Debug)]
pub struct ConfigCheck {
    /// The step plugin.
    pub plugin: String,
    /// The step's id, as far as it could be read (for the call's failures and logs).
    pub step: String,
    /// The `with:` value; `{}` when the step has none.
    pub config: serde_json::Value,
    /// The step's time limit, which its check runs under too.
    pub timeout: Duration,
    file: PathBuf,
    label: String,
    uses: Pos,
    with: Option<Node>,
}

impl Loading {
    /// The `with:` values that their plugins must check, in file order.
    pub fn config_checks(&self) -> &[ConfigCheck] {
        &self.checks
    }

    /// The workflows, once every check of [`Self::config_checks`] was answered (in the same
    /// order) with the problems the plugin found or why the check itself failed; otherwise
    /// every problem, each at the file, line and column of the value it concerns.
    pub fn finish(self, answers: Vec<Result<Vec<ConfigProblem>, String>>) -> Result<Vec<Workflow>, Diagnostics> {
        let Loading {
            workflows,
            mut diagnostics,
            checks,
        } = self;
        let mut answers = answers.into_iter();
        for check in checks {
            let answer = answers
                .next()
                .unwrap_or_else(|| Err("the engine did not ask the plugin to check it".to_owned()));
            diagnostics.extend(check.diagnostics(answer));
        }
        if diagnostics.is_empty() {
            Ok(workflows)
        } else {
            Err(Diagnostics::new(diagnostics))
        }
    }
}

impl ConfigCheck {
    /// The check of a channel's `with:` in a channels file (`with` as written, `uses` where its
    /// plugin is named), for the channel's plugin to run under `timeout`.
    pub(super) fn channel(
        plugin: &str,
        label: &str,
        file: &Path,
        uses: Pos,
        with: Option<&Node>,
        timeout: Duration,
    ) -> ConfigCheck {
        ConfigCheck {
            plugin: plugin.to_owned(),
            step: label.to_owned(),
            config: with.map_or_else(|| serde_json::json!({}), Node::to_json),
            timeout,
            file: file.to_path_buf(),
            label: label.to_owned(),
            uses,
            with: with.cloned(),
        }
    }

    /// The plugin's answer as diagnostics: each problem at the node its pointer names (at the
    /// nearest enclosing node written in the file when the pointer names a missing key), a
    /// failed check at `uses:`.
    pub(super) fn diagnostics(&self, answer: Result<Vec<ConfigProblem>, String>) -> Vec<Diagnostic> {
        let at = |pos: Pos, message: String| Diagnostic {
            file: self.file.clone(),
            line: pos.line,
            column: pos.column,
            message,
        };
        let problems = match answer {
            Ok(problems) => problems,
            Err(failure) => {
                let message = format!(
                    "plugin `{}` could not check `with:` of {}: {failure}",
                    self.plugin, self.label
                );
                return vec![at(self.uses, message)];
            }
        };
        problems
            .into_iter()
            .map(|problem| {
                let segments = pointer_segments(&problem.pointer);
                let pos = match &self.with {
                    Some(with) => locate(with, &segments).0.pos,
                    None => self.uses,
                };
                let place = if segments.is_empty() {
                    String::new()
                } else {
                    format!(" at `{}`", dotted(&segments))
                };
                let expected = problem.expected.map(|e| format!(", expected {e}")).unwrap_or_default();
                at(
                    pos,
                    format!("in `with:` of {}{place}: {}{expected}", self.label, problem.message),
                )
            })
            .collect()
    }
}

/// Loads workflows from files and directories (every `*.yaml` / `*.yml` in a directory, sorted
/// by name), checking all of them; the plugins' own checks of `with:` are still to be run
/// ([`Loading`]).
pub fn load(paths: &[PathBuf], catalog: &Catalog) -> Loading {
    let mut diagnostics = Vec::new();
    let mut files = Vec::new();
    for path in paths {
        if path.is_dir() {
            match workflow_files(path) {
                Ok(found) if found.is_empty() => diagnostics.push(whole_file(
                    path,
                    "no workflow files (*.yaml, *.yml) in this directory".to_owned(),
                )),
                Ok(found) => files.extend(found),
                Err(error) => diagnostics.push(whole_file(path, format!("cannot read the directory: {error}"))),
            }
        } else {
            files.push(path.clone());
        }
    }
    // A file named twice (directly and through its directory) is loaded once.
    let mut seen = std::collections::HashSet::new();
    files.retain(|file| seen.insert(file.clone()));
    let mut workflows = Vec::new();
    let mut checks = Vec::new();
    // Where each workflow name was first defined, to report duplicates across files.
    let mut names: HashMap<String, (PathBuf, usize)> = HashMap::new();
    for file in &files {
        let text = match yaml::read_bounded(file) {
            Ok(text) => text,
            Err(problem) => {
                diagnostics.push(whole_file(file, problem));
                continue;
            }
        };
        let mut checker = Checker::new(file, &text, catalog);
        let compiled = checker.workflow();
        diagnostics.extend(checker.diagnostics);
        checks.extend(checker.checks);
        if let Some((workflow, name_pos)) = compiled {
            match names.get(&workflow.name) {
                Some((first_file, first_line)) => diagnostics.push(Diagnostic {
                    file: file.clone(),
                    line: name_pos.line,
                    column: name_pos.column,
                    message: format!(
                        "duplicate workflow name `{}`, first defined at {}:{}",
                        workflow.name,
                        first_file.display(),
                        first_line
                    ),
                }),
                None => {
                    names.insert(workflow.name.clone(), (file.clone(), name_pos.line));
                }
            }
            workflows.push(workflow);
        }
    }
    Loading {
        workflows,
        diagnostics,
        checks,
    }
}

/// Compiles one workflow from text; `file` is used in diagnostics and kept in the workflow.
/// As with [`load`], the plugins' checks are still to be run.
pub fn load_str(file: &Path, text: &str, catalog: &Catalog) -> Loading {
    let mut checker = Checker::new(file, text, catalog);
    let compiled = checker.workflow();
    let workflows = match compiled {
        Some((workflow, _)) if checker.diagnostics.is_empty() => vec![workflow],
        _ => Vec::new(),
    };
    Loading {
        workflows,
        diagnostics: checker.diagnostics,
        checks: checker.checks,
    }
}

fn workflow_files(dir: &Path) -> std::io::Result<Vec<PathBuf>> {
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir)? {
        let path = entry?.path();
        let is_yaml = path.extension().is_some_and(|ext| ext == "yaml" || ext == "yml");
        if is_yaml && path.is_file() {
            files.push(path);
        }
    }
    files.sort();
    Ok(files)
}

fn whole_file(file: &Path, message: String) -> Diagnostic {
    Diagnostic {
        file: file.to_path_buf(),
        line: 0,
        column: 0,
        message,
    }
}

/// Checks one file, collecting diagnostics, and builds the workflow if it is sound. The
/// channels file (`super::channels`) is checked with the same pieces.
pub(super) struct Checker<'a> {
    file: &'a Path,
    lines: Vec<&'a str>,
    pub(super) text: &'a str,
    pub(super) catalog: &'a Catalog,
    pub(super) diagnostics: Vec<Diagnostic>,
    /// The `with:` values the schemas accepted, for their plugins to check.
    checks: Vec<ConfigCheck>,
}

impl<'a> Checker<'a> {
    pub(super) fn new(file: &'a Path, text: &'a str, catalog: &'a Catalog) -> Self {
        Checker {
            file,
            lines: text.lines().collect(),
            text,
            catalog,
            diagnostics: Vec::new(),
            checks: Vec::new(),
        }
    }

    /// The file being checked.
    pub(super) fn file(&self) -> &'a Path {
        self.file
    }

    /// Keeps a `with:` for its plugin to check.
    pub(super) fn add_check(&mut self, check: ConfigCheck) {
        self.checks.push(check);
    }

    /// The checks kept so far.
    pub(super) fn take_checks(&mut self) -> Vec<ConfigCheck> {
        std::mem::take(&mut self.checks)
    }

    pub(super) fn report(&mut self, pos: Pos, message: impl Into<String>) {
        self.diagnostics.push(Diagnostic {
            file: self.file.to_path_buf(),
            line: pos.line,
            column: pos.column,
            message: message.into(),
        });
    }

    /// The one YAML document of the file, a mapping, or `None` once that was reported; `what`
    /// names the file in the message about extra documents, `expected` what the top holds.
    pub(super) fn root(&mut self, what: &str, expected: &str) -> Option<Node> {
        let documents = match yaml::parse(self.text) {
            Ok(documents) => documents,
            Err(error) => {
                self.report(error.pos, format!("yaml syntax error: {}", error.message));
                return None;
            }
        };
        if documents.docs.len() > 1 {
            let (pos, _) = documents.docs[1];
            self.report(
                pos,
                format!("{what} holds one YAML document, found {}", documents.docs.len()),
            );
        }
        let Some((_, Some(root))) = documents.docs.into_iter().next() else {
            self.report(Pos { line: 1, column: 1 }, format!("the file is empty, {expected}"));
            return None;
        };
        if root.as_map().is_none() {
            self.report(root.pos, format!("{expected}, found {}", root.type_name()));
            return None;
        }
        Some(root)
    }

    /// Checks the top level's `version:`, which must be 1.
    pub(super) fn version(&mut self, root: &Node) {
        match root.get("version") {
            None => self.report(
                root.pos,
                "missing key `version` at the top level, expected `version: 1`",
            ),
            Some(node) => match node.to_json() {
                serde_json::Value::Number(n) if n.as_u64() == Some(1) => {}
                serde_json::Value::Number(n) => {
                    self.report(node.pos, format!("unsupported version `{n}`, expected `version: 1`"));
                }
                _ => self.report(node.pos, format!("expected `version: 1`, found {}", node.type_name())),
            },
        }
    }

    /// The workflow and the position of its name, or `None` if anything was wrong.
    fn workflow(&mut self) -> Option<(Workflow, Pos)> {
        let root = self.root(
            "a workflow file",
            "expected a mapping with keys: version, name, on, steps",
        )?;
        self.check_keys(&root, &TOP_KEYS, "at the top level");
        self.version(&root);

        let name = match root.get("name") {
            None => {
                self.report(
                    root.pos,
                    "missing key `name` at the top level, expected a name like `name: inbound`",
                );
                None
            }
            Some(node) => match node.as_str() {
                Some(text) if !text.trim().is_empty() && !text.contains('\n') => {
                    Some((text.trim().to_owned(), node.pos))
                }
                Some(_) => {
                    self.report(node.pos, "`name` must be a non-empty single line");
                    None
                }
                None => {
                    self.report(node.pos, format!("`name` must be a string, found {}", node.type_name()));
                    None
                }
            },
        };

        let on = match root.get("on") {
            None => {
                self.report(
                    root.pos,
                    "missing key `on` at the top level, expected the events that start the workflow, like `on: message.received`",
                );
                Vec::new()
            }
            Some(node) => self.event_patterns(node),
        };

        let steps = match root.get("steps") {
            None => {
                self.report(
                    root.pos,
                    "missing key `steps` at the top level, expected a list of steps",
                );
                Vec::new()
            }
            Some(node) => self.steps(node),
        };

        if !self.diagnostics.is_empty() {
            return None;
        }
        let (name, name_pos) = name?;
        Some((
            Workflow {
                name,
                file: self.file.to_path_buf(),
                version: Workflow::version_of(self.text),
                on,
                steps,
            },
            name_pos,
        ))
    }

    /// Reports keys not in `allowed`, duplicate keys and keys that are not plain names.
    pub(super) fn check_keys(&mut self, map: &Node, allowed: &[&str], context: &str) {
        let Some(entries) = map.as_map() else { return };
        let mut seen: HashMap<&str, usize> = HashMap::new();
        for (key, _) in entries {
            let Some(name) = key.as_scalar() else {
                self.report(
                    key.pos,
                    format!("keys must be names, found {} {context}", key.type_name()),
                );
                continue;
            };
            if let Some(first) = seen.get(name) {
                self.report(
                    key.pos,
                    format!("duplicate key `{name}` {context}, first at line {first}"),
                );
                continue;
            }
            seen.insert(name, key.pos.line);
            if !allowed.contains(&name) {
                self.report(
                    key.pos,
                    format!(
                        "unknown key `{name}` {context}, expected one of: {}",
                        allowed.join(", ")
                    ),
                );
            }
        }
    }

    /// Reports keys inside plugin config that JSON cannot hold: repeated keys (YAML would keep
    /// only one of them) and keys that are lists or mappings.
    pub(super) fn check_data_keys(&mut self, node: &Node, context: &str) {
        match &node.value {
            Value::Map(entries) => {
                let mut seen: HashMap<&str, usize> = HashMap::new();
                for (key, value) in entries {
                    match key.as_scalar() {
                        None => self.report(
                            key.pos,
                            format!("keys in {context} must be names, found {}", key.type_name()),
                        ),
                        Some(name) => match seen.get(name) {
                            Some(first) => self.report(
                                key.pos,
                                format!("duplicate key `{name}` in {context}, first at line {first}"),
                            ),
                            None => {
                                seen.insert(name, key.pos.line);
                            }
                        },
                    }
                    self.check_data_keys(value, context);
                }
            }
            Value::Seq(items) => {
                for item in items {
                    self.check_data_keys(item, context);
                }
            }
            Value::Scalar { .. } => {}
        }
    }

    fn event_patterns(&mut self, node: &Node) -> Vec<EventPattern> {
        let items: Vec<&Node> = match &node.value {
            Value::Seq(items) => {
                if items.is_empty() {
                    self.report(
                        node.pos,
                        "`on` is empty, expected at least one event like `message.received`",
                    );
                }
                items.iter().collect()
            }
            _ => vec![node],
        };
        let mut patterns = Vec::new();
        for item in items {
            match item.as_str() {
                Some(text) => match EventPattern::parse(text) {
                    Ok(pattern) => patterns.push(pattern),
                    Err(error) => self.report(item.pos, error.to_string()),
                },
                None => self.report(
                    item.pos,
                    format!(
                        "expected an event kind like `message.received` or a family like `ticket.*`, found {}",
                        item.type_name()
                    ),
                ),
            }
        }
        patterns
    }

    fn steps(&mut self, node: &Node) -> Vec<Step> {
        let Value::Seq(items) = &node.value else {
            self.report(
                node.pos,
                format!("`steps` must be a list of steps, found {}", node.type_name()),
            );
            return Vec::new();
        };
        if items.is_empty() {
            self.report(node.pos, "`steps` is empty, expected at least one step");
        }
        let mut first_seen: BTreeMap<String, usize> = BTreeMap::new();
        let mut steps = Vec::new();
        for (index, item) in items.iter().enumerate() {
            if let Some(step) = self.step(index, item, &mut first_seen) {
                steps.push(step);
            }
        }
        steps
    }

    fn step(&mut self, index: usize, node: &Node, first_seen: &mut BTreeMap<String, usize>) -> Option<Step> {
        if node.as_map().is_none() {
            self.report(
                node.pos,
                format!(
                    "step {} must be a mapping with keys id and uses, found {}",
                    index + 1,
                    node.type_name()
                ),
            );
            return None;
        }
        let label = match node.get("id").and_then(Node::as_scalar) {
            Some(id) if !id.is_empty() => format!("step `{id}`"),
            _ => format!("step {}", index + 1),
        };
        self.check_keys(node, &STEP_KEYS, &format!("in {label}"));
        let before = self.diagnostics.len();

        let id = match node.get("id") {
            None => {
                self.report(
                    node.pos,
                    format!("missing key `id` in {label}, expected an id like `id: route`"),
                );
                None
            }
            Some(id_node) => match id_node.as_str().map(StepId::parse) {
                Some(Ok(id)) => {
                    match first_seen.get(id.as_str()) {
                        Some(first) => self.report(
                            id_node.pos,
                            format!("duplicate step id `{id}`, first defined at line {first}"),
                        ),
                        None => {
                            first_seen.insert(id.as_str().to_owned(), id_node.pos.line);
                        }
                    }
                    Some(id)
                }
                Some(Err(error)) => {
                    self.report(id_node.pos, error.to_string());
                    None
                }
                None => {
                    self.report(
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
            self.report(
                with.pos,
                format!("`with:` of {label} must be a mapping, found {}", with.type_name()),
            );
        }
        let before_with = self.diagnostics.len();
        if let Some(with) = with_node {
            self.check_data_keys(with, &format!("`with:` of {label}"));
        }
        // The plugin's schema only sees a config that converts to JSON faithfully.
        let with_checkable = self.diagnostics.len() == before_with && with_node.is_none_or(|w| w.as_map().is_some());

        let uses = match node.get("uses") {
            None => {
                self.report(
                    node.pos,
                    format!("missing key `uses` in {label}, expected the name of a step plugin"),
                );
                None
            }
            Some(uses_node) => self.plugin(uses_node, &label, with_node, with_checkable),
        };
        let schema_passed = uses.as_ref().is_some_and(|(_, passed)| *passed);
        let uses = uses.map(|(name, _)| name);

        let condition = node.get("if").and_then(|cond| self.condition(cond, &label));

        let timeout = match node.get("timeout") {
            None => DEFAULT_TIMEOUT,
            Some(t) => self
                .duration(
                    t,
                    &format!("`timeout` of {label}"),
                    (MIN_TIMEOUT, MAX_TIMEOUT),
                    "1ms to 60s",
                )
                .unwrap_or(DEFAULT_TIMEOUT),
        };
        if schema_passed && let (Some(uses_node), Some(plugin)) = (node.get("uses"), &uses) {
            self.checks.push(ConfigCheck {
                plugin: plugin.to_string(),
                step: id.as_ref().map_or_else(|| label.clone(), ToString::to_string),
                config: with_node.map_or_else(|| serde_json::json!({}), Node::to_json),
                timeout,
                file: self.file.to_path_buf(),
                label: label.clone(),
                uses: uses_node.pos,
                with: with_node.cloned(),
            });
        }
        let retry = match node.get("retry") {
            None => Retry::default(),
            Some(r) => self.retry(r, &label),
        };
        let allow = match node.get("allow") {
            None => Grants::default(),
            Some(a) => self.grants(a, &label),
        };
        let on_error = match node.get("on_error") {
            None => OnError::default(),
            Some(o) => self.on_error(o, &label),
        };

        if self.diagnostics.len() > before {
            return None;
        }
        let with = with_node.map_or_else(|| serde_json::json!({}), Node::to_json);
        Some(Step {
            id: id?,
            uses: uses?,
            with,
            condition,
            timeout,
            retry,
            allow,
            on_error,
        })
    }

    /// Checks `on_error:`, one of `continue` and `stop`.
    fn on_error(&mut self, node: &Node, label: &str) -> OnError {
        let expected = "expected `continue` (the later steps run) or `stop` (they do not)";
        match node.as_str() {
            Some(text) => OnError::parse(text).unwrap_or_else(|| {
                let hint = did_you_mean(text, ["continue", "stop"])
                    .map(|s| format!(" (did you mean `{s}`?)"))
                    .unwrap_or_default();
                self.report(
                    node.pos,
                    format!("unknown `on_error` value `{text}` in {label}{hint}, {expected}"),
                );
                OnError::default()
            }),
            None => {
                self.report(
                    node.pos,
                    format!(
                        "`on_error` of {label} must be a word, found {}, {expected}",
                        node.type_name()
                    ),
                );
                OnError::default()
            }
        }
    }

    /// Checks `uses:` against the catalog and `with:` against the plugin's schema: the plugin,
    /// and whether `with:` passed the schema (so that the plugin's own check can follow).
    fn plugin(
        &mut self,
        uses: &Node,
        label: &str,
        with: Option<&Node>,
        with_checkable: bool,
    ) -> Option<(PluginName, bool)> {
        let Some(text) = uses.as_str() else {
            self.report(
                uses.pos,
                format!("`uses` of {label} must be a plugin name, found {}", uses.type_name()),
            );
            return None;
        };
        let catalog = self.catalog;
        let step_plugins: Vec<&str> = catalog.names(PluginKind::Step).collect();
        let known = if step_plugins.is_empty() {
            "no step plugins are installed".to_owned()
        } else {
            format!("expected one of the step plugins: {}", step_plugins.join(", "))
        };
        let Some(summary) = catalog.get(text) else {
            let hint = did_you_mean(text, step_plugins.iter().copied())
                .map(|s| format!(" (did you mean `{s}`?)"))
                .unwrap_or_default();
            self.report(uses.pos, format!("unknown plugin `{text}` in {label}{hint}, {known}"));
            return None;
        };
        if summary.kind == PluginKind::Channel {
            self.report(
                uses.pos,
                format!("plugin `{text}` in {label} is a channel plugin, not a step; {known}"),
            );
            return None;
        }
        let name = match PluginName::parse(text) {
            Ok(name) => name,
            Err(error) => {
                self.report(uses.pos, error.to_string());
                return None;
            }
        };
        if !with_checkable {
            return Some((name, false));
        }
        let passed = self.check_with(text, summary, with, uses, label);
        Some((name, passed))
    }

    /// Checks `with:` (or `{}` when there is none) against the config schema of plugin `text`,
    /// reporting each problem at the key or value it concerns; whether it passed.
    pub(super) fn check_with(
        &mut self,
        text: &str,
        summary: &PluginSummary,
        with: Option<&Node>,
        uses: &Node,
        label: &str,
    ) -> bool {
        let catalog = self.catalog;
        let validator = match catalog.schema(text) {
            Some(Ok(v)) => v,
            None => {
                let message = format!("plugin `{text}` is not in the catalog its summary came from");
                self.report(uses.pos, message);
                return false;
            }
            Some(Err(error)) => {
                let message = format!("plugin `{text}` publishes an invalid config schema: {error}");
                self.report(uses.pos, message);
                return false;
            }
        };
        let instance = with.map_or_else(|| serde_json::json!({}), Node::to_json);
        let mut found = Vec::new();
        for error in validator.iter_errors(&instance) {
            let segments = pointer_segments(error.instance_path.as_str());
            let (node, exact) = match with {
                Some(with) => locate(with, &segments),
                None => (uses, false),
            };
            let at = if segments.is_empty() {
                String::new()
            } else {
                format!(" at `{}`", dotted(&segments))
            };
            match &error.kind {
                jsonschema::error::ValidationErrorKind::AdditionalProperties { unexpected } => {
                    let expected = expected_properties(&summary.config_schema, error.schema_path.as_str());
                    for key in unexpected {
                        let pos = if exact {
                            key_pos(node, key).unwrap_or(node.pos)
                        } else {
                            node.pos
                        };
                        found.push((
                            pos,
                            format!("unknown key `{key}` in `with:` of {label}{at}, {expected}"),
                        ));
                    }
                }
                jsonschema::error::ValidationErrorKind::Required { property } => {
                    let key = property.as_str().map_or_else(|| property.to_string(), str::to_owned);
                    found.push((node.pos, format!("missing key `{key}` in `with:` of {label}{at}")));
                }
                _ => {
                    let message = lowercase_first(&error.to_string());
                    found.push((node.pos, format!("in `with:` of {label}{at}: {message}")));
                }
            }
        }
        let passed = found.is_empty();
        for (pos, message) in found {
            self.report(pos, message);
        }
        passed
    }

    fn condition(&mut self, node: &Node, label: &str) -> Option<Condition> {
        let Some(text) = node.as_scalar() else {
            self.report(
                node.pos,
                format!("`if` of {label} must be a condition, found {}", node.type_name()),
            );
            return None;
        };
        match Condition::parse(text) {
            Ok(condition) => Some(condition),
            Err(error) => {
                let pos = self.offset_pos(node, text, error.offset);
                self.report(pos, format!("invalid condition in {label}: {}", error.message));
                None
            }
        }
    }

    /// The file position of the character at `offset` in a scalar's text, when the text can be
    /// found verbatim on the scalar's line; the scalar's own position otherwise.
    fn offset_pos(&self, node: &Node, text: &str, offset: usize) -> Pos {
        let Value::Scalar { style, .. } = &node.value else {
            return node.pos;
        };
        let skip = match style {
            Style::Plain => 0,
            Style::SingleQuoted | Style::DoubleQuoted => 1,
            Style::Block => return node.pos,
        };
        let Some(line) = self.lines.get(node.pos.line - 1) else {
            return node.pos;
        };
        let rest: String = line.chars().skip(node.pos.column - 1 + skip).collect();
        if text.contains('\n') || !rest.starts_with(text) {
            return node.pos;
        }
        Pos {
            line: node.pos.line,
            column: node.pos.column + skip + offset,
        }
    }

    /// A duration within `min..=max`; `range` says the same in words for the error.
    pub(crate) fn duration(
        &mut self,
        node: &Node,
        what: &str,
        (min, max): (Duration, Duration),
        range: &str,
    ) -> Option<Duration> {
        let Some(text) = node.as_scalar() else {
            self.report(
                node.pos,
                format!("{what} must be a duration like 200ms, found {}", node.type_name()),
            );
            return None;
        };
        match weft_sdk::duration::Duration::parse(text).map(Duration::from) {
            Ok(duration) if duration < min || duration > max => {
                self.report(node.pos, format!("{what} is {text}, out of range, expected {range}"));
                None
            }
            Ok(duration) => Some(duration),
            Err(error) => {
                self.report(node.pos, format!("{what}: {error}"));
                None
            }
        }
    }

    fn retry(&mut self, node: &Node, label: &str) -> Retry {
        let mut retry = Retry::default();
        if node.as_map().is_none() {
            self.report(
                node.pos,
                format!(
                    "`retry` of {label} must be a mapping like `{{ attempts: 3, backoff: 2s }}`, found {}",
                    node.type_name()
                ),
            );
            return retry;
        }
        self.check_keys(node, &RETRY_KEYS, &format!("in `retry` of {label}"));
        if let Some(attempts) = node.get("attempts") {
            match attempts.to_json().as_u64() {
                Some(n @ 1..=10) => retry.attempts = u32::try_from(n).unwrap_or(MAX_ATTEMPTS),
                _ => self.report(
                    attempts.pos,
                    format!(
                        "`retry.attempts` of {label} must be a whole number from 1 to {MAX_ATTEMPTS}, found `{}`",
                        attempts.as_scalar().unwrap_or(attempts.type_name())
                    ),
                ),
            }
        }
        if let Some(backoff) = node.get("backoff") {
            let what = format!("`retry.backoff` of {label}");
            if let Some(duration) = self.duration(backoff, &what, (Duration::ZERO, MAX_BACKOFF), "0s to 1h") {
                retry.backoff = duration;
            }
        }
        retry
    }

    fn grants(&mut self, node: &Node, label: &str) -> Grants {
        let mut grants = Grants::default();
        if node.as_map().is_none() {
            self.report(
                node.pos,
                format!("`allow` of {label} must be a mapping like `{{ http: [api.example.com], secrets: [token] }}`, found {}", node.type_name()),
            );
            return grants;
        }
        self.check_keys(node, &ALLOW_KEYS, &format!("in `allow` of {label}"));
        if let Some(http) = node.get("http") {
            for item in self.string_list(
                http,
                &format!("`allow.http` of {label}"),
                "[api.example.com, \"*.shopify.com\"]",
            ) {
                match HostPattern::parse(item.as_scalar().unwrap_or_default()) {
                    Ok(host) => grants.http.push(host),
                    Err(error) => self.report(item.pos, error.to_string()),
                }
            }
        }
        if let Some(secrets) = node.get("secrets") {
            for item in self.string_list(secrets, &format!("`allow.secrets` of {label}"), "[shopify_token]") {
                match SecretName::parse(item.as_scalar().unwrap_or_default()) {
                    Ok(secret) => grants.secrets.push(secret),
                    Err(error) => self.report(item.pos, error.to_string()),
                }
            }
        }
        if let Some(embeddings) = node.get("embeddings") {
            match embeddings.to_json() {
                serde_json::Value::Bool(granted) => grants.embeddings = granted,
                _ => self.report(
                    embeddings.pos,
                    format!(
                        "`allow.embeddings` of {label} must be `true` or `false`, found {}",
                        embeddings.type_name()
                    ),
                ),
            }
        }
        grants
    }

    /// The string items of a list, reporting a non-list and non-string items.
    pub(super) fn string_list<'n>(&mut self, node: &'n Node, what: &str, example: &str) -> Vec<&'n Node> {
        let Value::Seq(items) = &node.value else {
            self.report(
                node.pos,
                format!("{what} must be a list like {example}, found {}", node.type_name()),
            );
            return Vec::new();
        };
        let mut strings = Vec::new();
        for item in items {
            if item.as_str().is_some() {
                strings.push(item);
            } else {
                self.report(
                    item.pos,
                    format!("{what} must hold strings, found {}", item.type_name()),
                );
            }
        }
        strings
    }
}

pub(super) fn is_null(node: &Node) -> bool {
    node.to_json().is_null()
}

/// Splits a JSON pointer (`/teams/refunds/1`) into unescaped segments.
fn pointer_segments(pointer: &str) -> Vec<String> {
    pointer
        .split('/')
        .skip(1)
        .map(|s| s.replace("~1", "/").replace("~0", "~"))
        .collect()
}

/// The node at `segments` below `node`, and whether the whole path was found.
fn locate<'n>(node: &'n Node, segments: &[String]) -> (&'n Node, bool) {
    let mut current = node;
    for segment in segments {
        let next = match &current.value {
            Value::Map(_) => current.get(segment),
            Value::Seq(items) => segment.parse::<usize>().ok().and_then(|i| items.get(i)),
            Value::Scalar { .. } => None,
        };
        match next {
            Some(next) => current = next,
            None => return (current, false),
        }
    }
    (current, true)
}

/// `policies[0].match` from `["policies", "0", "match"]`.
fn dotted(segments: &[String]) -> String {
    let mut out = String::new();
    for segment in segments {
        if !segment.is_empty() && segment.bytes().all(|b| b.is_ascii_digit()) {
            out.push_str(&format!("[{segment}]"));
        } else {
            if !out.is_empty() {
                out.push('.');
            }
            out.push_str(segment);
        }
    }
    out
}

fn key_pos(map: &Node, key: &str) -> Option<Pos> {
    map.as_map()?
        .iter()
        .find(|(k, _)| k.as_scalar() == Some(key))
        .map(|(k, _)| k.pos)
}

/// "expected one of: a, b" from the `properties` next to the failing `additionalProperties`.
fn expected_properties(schema: &serde_json::Value, schema_path: &str) -> String {
    let parent = schema_path.strip_suffix("/additionalProperties").unwrap_or(schema_path);
    let properties = schema
        .pointer(parent)
        .and_then(|s| s.get("properties"))
        .and_then(|p| p.as_object());
    match properties {
        Some(props) if !props.is_empty() => {
            format!(
                "expected one of: {}",
                props.keys().map(String::as_str).collect::<Vec<_>>().join(", ")
            )
        }
        Some(_) => "expected no keys here".to_owned(),
        None => "no other keys are allowed here".to_owned(),
    }
}

fn lowercase_first(text: &str) -> String {
    let mut chars = text.chars();
    match (chars.next(), chars.clone().next()) {
        (Some(first), Some(second)) if first.is_uppercase() && second.is_lowercase() => {
            first.to_lowercase().chain(chars).collect()
        }
        _ => text.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The keys the checker accepts are the keys the file types (and so the JSON Schema) declare.
    #[test]
    fn checker_keys_match_the_file_format() {
        let schema = super::super::file::json_schema();
        let keys = |value: &serde_json::Value| -> Vec<String> {
            let mut keys: Vec<String> = value["properties"]
                .as_object()
                .expect("properties")
                .keys()
                .cloned()
                .collect();
            keys.sort();
            keys
        };
        let sorted = |list: &[&str]| -> Vec<String> {
            let mut list: Vec<String> = list.iter().map(|s| (*s).to_owned()).collect();
            list.sort();
            list
        };
        assert_eq!(keys(&schema), sorted(&TOP_KEYS));
        assert_eq!(keys(&schema["$defs"]["StepFile"]), sorted(&STEP_KEYS));
        assert_eq!(keys(&schema["$defs"]["RetryFile"]), sorted(&RETRY_KEYS));
        assert_eq!(keys(&schema["$defs"]["AllowFile"]), sorted(&ALLOW_KEYS));
    }

    #[test]
    fn paths_read_like_the_yaml() {
        let segments = ["policies", "0", "match"].map(String::from);
        assert_eq!(dotted(&segments), "policies[0].match");
        assert_eq!(pointer_segments("/a~1b/c~0d/2"), ["a/b", "c~d", "2"]);
        assert_eq!(lowercase_first("Additional properties"), "additional properties");
        assert_eq!(lowercase_first("URL is bad"), "URL is bad");
    }
}
