//! The workflow file format as sellers write it, and its JSON Schema for editors.
//!
//! These types describe the YAML; they are not what the engine runs. The loader checks the
//! YAML against the same keys (a test keeps the two in step) and compiles it into
//! [`super::Workflow`].

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// A workflow file: which events start it and which steps run, in order.
///
/// ```yaml
/// version: 1
/// name: inbound
/// on: message.received
/// steps:
///   - id: identify
///     uses: identity
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(title = "weft workflow")]
pub struct WorkflowFile {
    /// Version of the file format; only `1` exists. Example: `version: 1`
    #[schemars(range(min = 1, max = 1))]
    pub version: u32,
    /// Name of the workflow, unique among the loaded workflows. Example: `name: inbound`
    #[schemars(length(min = 1))]
    pub name: String,
    /// Event kinds that start the workflow; `family.*` matches a family.
    /// Example: `on: message.received` or `on: [message.received, ticket.*]`
    pub on: OneOrMany,
    /// The steps, run in order for each event. Example: `steps: [{ id: identify, uses: identity }]`
    #[schemars(length(min = 1))]
    pub steps: Vec<StepFile>,
}

/// One event pattern or a list of them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(untagged)]
pub enum OneOrMany {
    /// A single event pattern. Example: `message.received`
    One(#[schemars(regex(pattern = r"^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)*(\.\*)?$"))] String),
    /// Several event patterns. Example: `[message.received, timer.fired]`
    Many(Vec<String>),
}

/// One step of a workflow: a step plugin with its config and limits.
///
/// ```yaml
/// - id: route
///   uses: router
///   if: ticket.opened
///   with: { teams: { refunds: [ana, li] } }
///   timeout: 200ms
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct StepFile {
    /// Id of the step, unique in the workflow: a lowercase letter, then lowercase letters,
    /// digits, `_` or `-`. Example: `id: route`
    #[schemars(regex(pattern = r"^[a-z][a-z0-9_-]*$"))]
    pub id: String,
    /// Name of the step plugin to run. Example: `uses: router`
    #[schemars(regex(pattern = r"^[a-z][a-z0-9_-]*$"))]
    pub uses: String,
    /// Config of the plugin, checked against the plugin's schema when the workflow loads.
    /// Example: `with: { fuzzy: { min_score: 0.9 } }`
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub with: Option<serde_json::Map<String, serde_json::Value>>,
    /// Condition under which the step runs; paths start at event, message, customer or ticket.
    /// Example: `if: ticket.opened && message.channel != 'amazon'`
    #[serde(rename = "if", default, skip_serializing_if = "Option::is_none")]
    pub condition: Option<String>,
    /// Time limit of one run of the step, 1ms to 60s; default 1s. Example: `timeout: 200ms`
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(regex(pattern = DURATION_PATTERN))]
    pub timeout: Option<String>,
    /// How often to try the step when it fails with a retryable error.
    /// Example: `retry: { attempts: 3, backoff: 2s }`
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retry: Option<RetryFile>,
    /// What the step may use outside its sandbox.
    /// Example: `allow: { http: [api.example.com], secrets: [shopify_token] }`
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub allow: Option<AllowFile>,
    /// What happens when the step fails for good: `continue` (default) runs the later steps
    /// as if this one had decided nothing; `stop` skips the later steps of the workflow for
    /// this event. Either way the message keeps a customer and a ticket, the failure shows on
    /// the ticket, and `weft replay` runs the step again. Example: `on_error: stop`
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub on_error: Option<OnErrorFile>,
}

/// `on_error:` of a step.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum OnErrorFile {
    /// Run the later steps as if this one had decided nothing.
    Continue,
    /// Skip the later steps of the workflow for this event.
    Stop,
}

/// Durations: whole numbers with units from largest to smallest, e.g. `200ms`, `1h30m`.
const DURATION_PATTERN: &str = weft_sdk::duration::PATTERN;

/// Retry policy of a step.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RetryFile {
    /// Tries in all, the first included, 1 to 10; default 3. Example: `attempts: 5`
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1, max = 10))]
    pub attempts: Option<u32>,
    /// Wait before the second try, doubled for each further try, up to 1h; default 1s.
    /// Example: `backoff: 2s`
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(regex(pattern = DURATION_PATTERN))]
    pub backoff: Option<String>,
}

/// Grants of a step: outbound hosts, secrets and sentence embeddings.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct AllowFile {
    /// Hosts the step may call over HTTPS: a host name or `*.domain`, no scheme, path or port.
    /// Example: `http: [api.example.com, "*.shopify.com"]`
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub http: Vec<String>,
    /// Names of the secrets the step may read. Example: `secrets: [shopify_token]`
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub secrets: Vec<String>,
    /// Whether the step may compute sentence embeddings with the host's model.
    /// Example: `embeddings: true`
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub embeddings: bool,
}

/// The JSON Schema of the workflow file format, with descriptions, for editors (`weft schema`).
pub fn json_schema() -> serde_json::Value {
    schemars::schema_for!(WorkflowFile).to_value()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn schema_describes_every_field() {
        let schema = json_schema();
        let step = &schema["$defs"]["StepFile"];
        for key in ["id", "uses", "with", "if", "timeout", "retry", "allow", "on_error"] {
            let description = step["properties"][key]["description"].as_str().unwrap_or_default();
            assert!(description.contains("Example"), "{key}: {description}");
        }
        assert_eq!(step["additionalProperties"], serde_json::Value::Bool(false));
        assert_eq!(schema["additionalProperties"], serde_json::Value::Bool(false));
        let required: Vec<_> = schema["required"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(|v| v.as_str())
            .collect();
        assert_eq!(required, ["version", "name", "on", "steps"]);
    }

    #[test]
    fn file_types_read_the_documented_example() {
        let text = "version: 1\nname: inbound\non: [message.received, ticket.*]\nsteps:\n  - id: route\n    uses: router\n    if: ticket.opened\n    timeout: 200ms\n    retry: { attempts: 3, backoff: 2s }\n    allow: { http: [api.example.com], secrets: [shopify_token] }\n    on_error: stop\n";
        let file: WorkflowFile = serde_yaml::from_str(text).unwrap();
        assert_eq!(file.steps[0].condition.as_deref(), Some("ticket.opened"));
        assert_eq!(file.steps[0].on_error, Some(OnErrorFile::Stop));
        assert!(serde_yaml::from_str::<WorkflowFile>(&text.replace("on_error: stop", "on_error: skip")).is_err());
        assert!(serde_yaml::from_str::<WorkflowFile>(&text.replace("timeout", "tiemout")).is_err());
    }

    #[test]
    fn the_duration_pattern_agrees_with_the_parser() {
        let validator =
            jsonschema::validator_for(&serde_json::json!({ "type": "string", "pattern": DURATION_PATTERN })).unwrap();
        let forms = [
            "200ms",
            "30s",
            "15m",
            "72h",
            "2d",
            "1h30m",
            "1d2h3m4s5ms",
            "0s",
            " 2h ",
            "1m30s250ms",
            "",
            " ",
            "72",
            "h",
            "1.5h",
            "72 h",
            "1h 30m",
            "30m1h",
            "1h1h",
            "1s2m",
            "-5s",
            "3w",
            "2sec",
            "72H",
            "１h",
            "3日",
            "1h30",
            "ms",
            "5msx",
        ];
        for text in forms {
            let parsed = weft_sdk::duration::Duration::parse(text).is_ok();
            assert_eq!(validator.is_valid(&serde_json::json!(text)), parsed, "{text:?}");
        }
    }
}
