//! What the fuzz targets share: the shipped plugins as the workflow loader sees them (name,
//! kind, config schema), and their own configuration checks (`check-config`) run natively,
//! as the engine runs them in WASM when a workflow loads.

use weft::workflow::{Catalog, Diagnostics, Loading, PluginKind, PluginSummary, Workflow};
use weft_sdk::plugin::{config_problems, config_schema};
use weft_sdk::{Channel, ConfigProblem, Step};

type Identity = weft_plugin_identity::Identify;
type Merger = weft_plugin_merger::Merger;
type Router = weft_plugin_router::Router;
type Sla = weft_plugin_sla::Sla;
type Escalate = weft_plugin_escalate::Escalate;

/// The shipped plugins, as `exec::pipeline::catalog` describes them to the loader.
pub fn catalog() -> Catalog {
    let version = || env!("CARGO_PKG_VERSION").to_owned();
    let step = |config_schema| PluginSummary {
        version: version(),
        kind: PluginKind::Step,
        config_schema,
    };
    let channel = |config_schema| PluginSummary {
        version: version(),
        kind: PluginKind::Channel,
        config_schema,
    };
    let mut catalog = Catalog::new();
    catalog.insert("identity", step(config_schema::<<Identity as Step>::Config>()));
    catalog.insert("merger", step(config_schema::<<Merger as Step>::Config>()));
    catalog.insert("router", step(config_schema::<<Router as Step>::Config>()));
    catalog.insert("sla", step(config_schema::<<Sla as Step>::Config>()));
    catalog.insert("escalate", step(config_schema::<<Escalate as Step>::Config>()));
    catalog.insert(
        "json",
        channel(config_schema::<<weft_plugin_json::JsonLines as Channel>::Config>()),
    );
    catalog.insert(
        "email",
        channel(config_schema::<<weft_plugin_email::Email as Channel>::Config>()),
    );
    catalog
}

/// What the plugin named `plugin` answers to `check-config` for `config`.
pub fn check_config(plugin: &str, config: &serde_json::Value) -> Result<Vec<ConfigProblem>, String> {
    let json = config.to_string();
    Ok(match plugin {
        "identity" => config_problems(&json, <Identity as Step>::check_config),
        "merger" => config_problems(&json, <Merger as Step>::check_config),
        "router" => config_problems(&json, <Router as Step>::check_config),
        "sla" => config_problems(&json, <Sla as Step>::check_config),
        "escalate" => config_problems(&json, <Escalate as Step>::check_config),
        other => return Err(format!("no step plugin `{other}`")),
    })
}

/// Finishes a load with every plugin's own check answered.
pub fn finish(loading: Loading) -> Result<Vec<Workflow>, Diagnostics> {
    let answers = loading
        .config_checks()
        .iter()
        .map(|check| check_config(&check.plugin, &check.config))
        .collect();
    loading.finish(answers)
}
