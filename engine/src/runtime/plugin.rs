//! A loaded [`Plugin`] and its calls: a fresh instance per call, under the call's deadline,
//! memory cap and grants.

#![allow(
    clippy::result_large_err,
    reason = "StepFailure carries the call's origin (plugin, mount, grants) for its message; it is made once per failed call, where boxing would only add an allocation"
)]

use crate::runtime::bindings::{channel, step};
use crate::runtime::call::{CallOptions, GrantedBy, StepOutput};
use crate::runtime::context::{ContextReader, ContextState};
use crate::runtime::embeddings::{Embedder, EmbeddingsState};
use crate::runtime::engine::{RuntimeError, Ticker};
use crate::runtime::failure::{CallFacts, Origin, StepFailure, classify};
use crate::runtime::http::HttpState;
use crate::runtime::log::LogState;
use crate::runtime::mail::MailState;
use crate::runtime::mount_cache::{CacheState, MountCache};
use crate::runtime::secrets::SecretsState;
use crate::runtime::state::{CallParts, CallState};
use crate::runtime::{PluginError, convert, validate};
use std::future::Future;
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::sync::Arc;
use std::time::{Duration, Instant};
use wasmtime::component::{Component, Linker};
use wasmtime::{Engine, Store, UpdateDeadline};
use weft_sdk::{
    ConfigProblem, Delivery, Event, HandshakeRequest, HandshakeResponse, Inbound, Item, Notice, Outbound, PluginInfo,
    Polled,
};

/// How long `info` may take when a plugin loads.
const INFO_TIMEOUT: Duration = Duration::from_secs(5);
/// How long past its timeout a call stuck in a host import (not in wasm, where the epoch
/// stops it) is given before it is abandoned.
const HOST_GRACE: Duration = Duration::from_millis(50);

/// What every plugin of a runtime shares.
pub(crate) struct Shared {
    pub engine: Engine,
    pub http_client: reqwest::Client,
    pub memory_limit: usize,
    /// Step instances kept warm per plugin.
    pub warm_instances: usize,
    /// The sentence-embedding model, or why there is none.
    pub embedder: Result<Arc<Embedder>, Arc<str>>,
    /// The channels' `cache`, an area per mount.
    pub cache: Arc<MountCache>,
    /// Kept alive as long as any plugin may run.
    pub _ticker: Ticker,
}

/// Which world a plugin implements.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PluginKind {
    /// A workflow step: `decide`.
    Step,
    /// A channel connector: `verify`, `parse`, `deliver`.
    Channel,
}

impl std::fmt::Display for PluginKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            PluginKind::Step => "step",
            PluginKind::Channel => "channel",
        })
    }
}

#[derive(Clone)]
enum World {
    Step(step::StepPre<CallState>),
    Channel(channel::ChannelPre<CallState>),
}

/// A loaded plugin, ready to be called any number of times, concurrently.
pub struct Plugin {
    shared: Arc<Shared>,
    path: PathBuf,
    world: World,
    info: PluginInfo,
    loaded_from_cache: bool,
    /// `info.name` and `info.version`, shared by every failure's [`Origin`].
    name: Arc<str>,
    version: Arc<str>,
    /// Step instances that finished their last call cleanly, ready for the next.
    warm: std::sync::Mutex<Vec<WarmStep>>,
}

/// A step instance kept between calls, with its store.
struct WarmStep {
    store: Store<CallState>,
    instance: step::Step,
}

impl std::fmt::Debug for Plugin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Plugin")
            .field("path", &self.path)
            .field("kind", &self.kind())
            .field("info", &self.info)
            .field("loaded_from_cache", &self.loaded_from_cache)
            .finish()
    }
}

/// Where a call stopped.
enum Stage {
    Instantiate(wasmtime::Error),
    Call(wasmtime::Error),
}

type CallFuture<'a, T> = Pin<Box<dyn Future<Output = Result<T, Stage>> + Send + 'a>>;

/// Runs `body` in a fresh store with the call's limits and grants; returns the store's state
/// (with the lent reader) whatever happened.
async fn invoke<T>(
    shared: &Shared,
    origin: &Origin,
    call: &CallOptions,
    context: ContextState,
    body: impl for<'a> FnOnce(&'a mut Store<CallState>) -> CallFuture<'a, T>,
) -> (CallState, Result<T, StepFailure>) {
    let (memory_limit, deadline) = limits(shared, call);
    let state = CallState::new(call_parts(shared, origin, call, context, memory_limit, deadline));
    let mut store = Store::new(&shared.engine, state);
    store.limiter(|state| &mut state.limiter);
    arm(&mut store, deadline);
    let outcome = tokio::time::timeout(call.timeout + HOST_GRACE, body(&mut store)).await;
    let state = store.into_data();
    let result = settle(outcome, origin, call, memory_limit, &state);
    (state, result)
}

/// The memory cap and the deadline of a call.
fn limits(shared: &Shared, call: &CallOptions) -> (usize, Instant) {
    let memory_limit = call
        .memory_limit_bytes
        .map_or(shared.memory_limit, |m| m.min(shared.memory_limit));
    (memory_limit, Instant::now() + call.timeout)
}

/// The store data of one call: its limits, its grants, the lent reader.
fn call_parts(
    shared: &Shared,
    origin: &Origin,
    call: &CallOptions,
    context: ContextState,
    memory_limit: usize,
    deadline: Instant,
) -> CallParts {
    CallParts {
        memory_limit,
        context,
        http: HttpState {
            client: shared.http_client.clone(),
            grants: call.grants.clone(),
            step: call.step.clone(),
            granted_by: call.granted_by,
            deadline,
        },
        secrets: SecretsState {
            grants: call.grants.clone(),
            step: call.step.clone(),
            granted_by: call.granted_by,
        },
        mail: MailState {
            relay: call.grants.smtp.clone(),
            step: call.step.clone(),
            deadline,
        },
        log: LogState::new(format!("{}@{}", origin.plugin, origin.version), call.step.clone()),
        embeddings: EmbeddingsState {
            model: shared.embedder.clone(),
            granted: call.grants.embeddings,
            step: call.step.clone(),
        },
        cache: CacheState {
            store: shared.cache.clone(),
            // The plugin and the mount: one mount never sees another's entries.
            scope: format!("{}\u{1f}{:?}\u{1f}{}", origin.plugin, call.granted_by, call.step).into(),
        },
    }
}

/// Stops the guest at `deadline` (epoch interruption), yielding to the async runtime on every
/// tick before it.
fn arm(store: &mut Store<CallState>, deadline: Instant) {
    store.set_epoch_deadline(1);
    store.epoch_deadline_callback(move |_| {
        Ok(if Instant::now() >= deadline {
            UpdateDeadline::Interrupt
        } else {
            UpdateDeadline::Yield(1)
        })
    });
}

/// What a call came to, from how its future ended.
fn settle<T>(
    outcome: Result<Result<T, Stage>, tokio::time::error::Elapsed>,
    origin: &Origin,
    call: &CallOptions,
    memory_limit: usize,
    state: &CallState,
) -> Result<T, StepFailure> {
    let result = match outcome {
        Ok(Ok(value)) => Ok(value),
        Err(_) => Err(StepFailure::Timeout {
            origin: origin.clone(),
            after: call.timeout,
        }),
        Ok(Err(Stage::Instantiate(error))) => Err(StepFailure::Host {
            origin: origin.clone(),
            error: format!("cannot instantiate the plugin: {error:#}"),
        }),
        Ok(Err(Stage::Call(error))) => {
            let guest_stderr = state.guest_stderr();
            Err(classify(
                &error,
                CallFacts {
                    origin: origin.clone(),
                    timeout: call.timeout,
                    memory_limit,
                    guest_stderr: &guest_stderr,
                },
            ))
        }
    };
    if let Err(failure) = &result {
        tracing::warn!(plugin = %origin.plugin, step = %origin.step, error = %failure, "plugin call failed");
    }
    result
}

/// A plugin error, attributed to a denial when the host refused the plugin something first.
fn plugin_failure(origin: Origin, error: PluginError, denials: &[String]) -> StepFailure {
    match denials.first() {
        Some(denial) => StepFailure::Denied {
            origin,
            denial: denial.clone(),
            error,
        },
        None => StepFailure::Plugin { origin, error },
    }
}

impl Plugin {
    /// Detects the world, reads `info` and checks it.
    pub(crate) async fn new(
        shared: Arc<Shared>,
        path: &Path,
        component: &Component,
        step_linker: &Linker<CallState>,
        channel_linker: &Linker<CallState>,
        loaded_from_cache: bool,
    ) -> Result<Plugin, RuntimeError> {
        let as_step = step_linker.instantiate_pre(component).and_then(step::StepPre::new);
        let world = match as_step {
            Ok(pre) => World::Step(pre),
            Err(step_error) => match channel_linker
                .instantiate_pre(component)
                .and_then(channel::ChannelPre::new)
            {
                Ok(pre) => World::Channel(pre),
                Err(channel_error) => {
                    return Err(RuntimeError::WrongWorld {
                        path: path.to_owned(),
                        as_step: format!("{step_error:#}"),
                        as_channel: format!("{channel_error:#}"),
                    });
                }
            },
        };
        let file = path
            .file_name()
            .map_or_else(|| path.display().to_string(), |f| f.to_string_lossy().into_owned());
        let origin = Origin {
            plugin: file.into(),
            version: "?".into(),
            step: "info".into(),
            granted_by: GrantedBy::Workflow,
        };
        let call = CallOptions::new("info", INFO_TIMEOUT);
        let (_, raw) = match world.clone() {
            World::Step(pre) => {
                invoke(&shared, &origin, &call, ContextState::default(), move |store| {
                    Box::pin(async move {
                        let instance = pre.instantiate_async(&mut *store).await.map_err(Stage::Instantiate)?;
                        instance.call_info(&mut *store).await.map_err(Stage::Call)
                    })
                })
                .await
            }
            World::Channel(pre) => {
                invoke(&shared, &origin, &call, ContextState::default(), move |store| {
                    Box::pin(async move {
                        let instance = pre.instantiate_async(&mut *store).await.map_err(Stage::Instantiate)?;
                        instance.call_info(&mut *store).await.map_err(Stage::Call)
                    })
                })
                .await
            }
        };
        let raw = raw.map_err(|failure| RuntimeError::Info {
            path: path.to_owned(),
            problem: failure.to_string(),
        })?;
        let info = convert::info_from(raw).map_err(|problem| RuntimeError::BadSchema {
            path: path.to_owned(),
            problem,
        })?;
        if info.name.trim().is_empty() {
            return Err(RuntimeError::Info {
                path: path.to_owned(),
                problem: "the plugin has an empty name".into(),
            });
        }
        tracing::debug!(plugin = %info.name, version = %info.version, path = %path.display(), loaded_from_cache, "plugin loaded");
        Ok(Plugin {
            shared,
            path: path.to_owned(),
            world,
            name: info.name.as_str().into(),
            version: info.version.as_str().into(),
            info,
            loaded_from_cache,
            warm: std::sync::Mutex::new(Vec::new()),
        })
    }

    /// What the plugin says about itself.
    pub fn info(&self) -> &PluginInfo {
        &self.info
    }

    /// Whether it is a step or a channel.
    pub fn kind(&self) -> PluginKind {
        match self.world {
            World::Step(_) => PluginKind::Step,
            World::Channel(_) => PluginKind::Channel,
        }
    }

    /// The file it was loaded from.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Whether its compiled code came from the compile cache.
    pub fn loaded_from_cache(&self) -> bool {
        self.loaded_from_cache
    }

    fn origin(&self, call: &CallOptions) -> Origin {
        Origin {
            plugin: self.name.clone(),
            version: self.version.clone(),
            step: call.step.clone(),
            granted_by: call.granted_by,
        }
    }

    fn wrong_kind(&self, call: &CallOptions, expected: PluginKind) -> StepFailure {
        StepFailure::WrongKind {
            origin: self.origin(call),
            expected,
            actual: self.kind(),
        }
    }

    fn step_pre(&self) -> Option<step::StepPre<CallState>> {
        match &self.world {
            World::Step(pre) => Some(pre.clone()),
            World::Channel(_) => None,
        }
    }

    fn channel_pre(&self) -> Option<channel::ChannelPre<CallState>> {
        match &self.world {
            World::Channel(pre) => Some(pre.clone()),
            World::Step(_) => None,
        }
    }

    /// Runs `check-config` (steps and channels alike) on a fresh instance, under the call's
    /// limits and with no capability whatever `call` grants: the problems the plugin finds in
    /// a `with:` value beyond its schema, each checked (a pointer, a message). A trap, a
    /// timeout or malformed problems come back as a [`StepFailure`] like any call's.
    pub async fn check_config(
        &self,
        config: &serde_json::Value,
        call: &CallOptions,
    ) -> Result<Vec<ConfigProblem>, StepFailure> {
        let origin = self.origin(call);
        let call = &CallOptions {
            grants: Default::default(),
            ..call.clone()
        };
        let config = convert::json_to(config);
        let (_, result) = match self.world.clone() {
            World::Step(pre) => {
                invoke(&self.shared, &origin, call, ContextState::default(), move |store| {
                    Box::pin(async move {
                        let instance = pre.instantiate_async(&mut *store).await.map_err(Stage::Instantiate)?;
                        instance
                            .call_check_config(&mut *store, &config)
                            .await
                            .map_err(Stage::Call)
                    })
                })
                .await
            }
            World::Channel(pre) => {
                invoke(&self.shared, &origin, call, ContextState::default(), move |store| {
                    Box::pin(async move {
                        let instance = pre.instantiate_async(&mut *store).await.map_err(Stage::Instantiate)?;
                        instance
                            .call_check_config(&mut *store, &config)
                            .await
                            .map_err(Stage::Call)
                    })
                })
                .await
            }
        };
        validate::config_problems(result?).map_err(|problem| StepFailure::InvalidOutput { origin, problem })
    }

    /// Runs a step's `decide`, on a warm instance when one is free (see
    /// [`RuntimeConfig::warm_instances`](crate::runtime::RuntimeConfig)) and on a fresh one
    /// otherwise. The reader answers the plugin's context lookups and is handed back in every
    /// case, also after a trap or a timeout.
    pub async fn decide<R: ContextReader>(
        &self,
        event: &Event,
        config: &serde_json::Value,
        call: &CallOptions,
        reader: R,
    ) -> (R, Result<StepOutput, StepFailure>) {
        let Some(pre) = self.step_pre() else {
            return (reader, Err(self.wrong_kind(call, PluginKind::Step)));
        };
        let origin = self.origin(call);
        let (event, config) = (convert::event_to(event), convert::json_to(config));
        let (memory_limit, deadline) = limits(&self.shared, call);
        let parts = call_parts(
            &self.shared,
            &origin,
            call,
            ContextState::lend(reader),
            memory_limit,
            deadline,
        );
        let warm = self.warm.lock().unwrap_or_else(|e| e.into_inner()).pop();
        let (mut store, instance) = match warm {
            Some(WarmStep { mut store, instance }) => {
                store.data_mut().renew(parts);
                (store, Some(instance))
            }
            None => {
                let mut store = Store::new(&self.shared.engine, CallState::new(parts));
                store.limiter(|state| &mut state.limiter);
                (store, None)
            }
        };
        arm(&mut store, deadline);
        let outcome = tokio::time::timeout(call.timeout + HOST_GRACE, async {
            let instance = match instance {
                Some(instance) => instance,
                None => pre.instantiate_async(&mut store).await.map_err(Stage::Instantiate)?,
            };
            let answer = instance
                .call_decide(&mut store, &event, &config)
                .await
                .map_err(Stage::Call)?;
            Ok((instance, answer))
        })
        .await;
        let result = settle(outcome, &origin, call, memory_limit, store.data());
        let state = store.data_mut();
        let context = std::mem::take(&mut state.context);
        let log = std::mem::replace(&mut state.log, LogState::new(String::new(), String::new()));
        let denials = std::mem::take(&mut state.denials);
        let Some(reader) = context.give_back::<R>() else {
            unreachable!("the store holds the reader lent to it until it is handed back here")
        };
        let result = result.and_then(|(instance, answer)| {
            let output = match answer {
                Ok(raw) => validate::decisions(raw)
                    .map(|decisions| StepOutput {
                        decisions,
                        logs: log.finish(),
                    })
                    .map_err(|problem| StepFailure::InvalidOutput {
                        origin: origin.clone(),
                        problem,
                    }),
                Err(error) => Err(plugin_failure(
                    origin.clone(),
                    convert::plugin_error_from(error),
                    &denials,
                )),
            };
            // Only an instance that returned normally goes back; one that produced output the
            // host rejected is not trusted again.
            if !matches!(output, Err(StepFailure::InvalidOutput { .. })) {
                let mut warm = self.warm.lock().unwrap_or_else(|e| e.into_inner());
                if warm.len() < self.shared.warm_instances {
                    warm.push(WarmStep { store, instance });
                }
            }
            output
        });
        (reader, result)
    }

    /// Runs a channel's `verify`: does the traffic really come from the channel?
    pub async fn verify(
        &self,
        inbound: &Inbound,
        config: &serde_json::Value,
        call: &CallOptions,
    ) -> Result<(), StepFailure> {
        let pre = self
            .channel_pre()
            .ok_or_else(|| self.wrong_kind(call, PluginKind::Channel))?;
        let origin = self.origin(call);
        let (inbound, config) = (convert::inbound_to(inbound), convert::json_to(config));
        let (state, result) = invoke(&self.shared, &origin, call, ContextState::default(), move |store| {
            Box::pin(async move {
                let instance = pre.instantiate_async(&mut *store).await.map_err(Stage::Instantiate)?;
                instance
                    .call_verify(&mut *store, &inbound, &config)
                    .await
                    .map_err(Stage::Call)
            })
        })
        .await;
        result?.map_err(|e| plugin_failure(origin, convert::plugin_error_from(e), &state.denials))
    }

    /// Runs a channel's `handshake`: a vendor's subscription check on its hook. `None` when the
    /// channel has no such check.
    pub async fn handshake(
        &self,
        request: &HandshakeRequest,
        config: &serde_json::Value,
        call: &CallOptions,
    ) -> Result<Option<HandshakeResponse>, StepFailure> {
        let pre = self
            .channel_pre()
            .ok_or_else(|| self.wrong_kind(call, PluginKind::Channel))?;
        let origin = self.origin(call);
        let (request, config) = (convert::handshake_to(request), convert::json_to(config));
        let (state, result) = invoke(&self.shared, &origin, call, ContextState::default(), move |store| {
            Box::pin(async move {
                let instance = pre.instantiate_async(&mut *store).await.map_err(Stage::Instantiate)?;
                instance
                    .call_handshake(&mut *store, &request, &config)
                    .await
                    .map_err(Stage::Call)
            })
        })
        .await;
        result?
            .map(|answer| answer.map(convert::handshake_from))
            .map_err(|e| plugin_failure(origin, convert::plugin_error_from(e), &state.denials))
    }

    /// Runs a channel's `parse`: raw traffic in, checked items (messages, orders, shipment
    /// updates, facts) out.
    pub async fn parse(
        &self,
        inbound: &Inbound,
        config: &serde_json::Value,
        call: &CallOptions,
    ) -> Result<Vec<Item>, StepFailure> {
        let pre = self
            .channel_pre()
            .ok_or_else(|| self.wrong_kind(call, PluginKind::Channel))?;
        let origin = self.origin(call);
        let (inbound, config) = (convert::inbound_to(inbound), convert::json_to(config));
        let (state, result) = invoke(&self.shared, &origin, call, ContextState::default(), move |store| {
            Box::pin(async move {
                let instance = pre.instantiate_async(&mut *store).await.map_err(Stage::Instantiate)?;
                instance
                    .call_parse(&mut *store, &inbound, &config)
                    .await
                    .map_err(Stage::Call)
            })
        })
        .await;
        match result? {
            Ok(raw) => validate::items(raw).map_err(|problem| StepFailure::InvalidOutput { origin, problem }),
            Err(e) => Err(plugin_failure(origin, convert::plugin_error_from(e), &state.denials)),
        }
    }

    /// Runs a channel's `poll-updates`: what is new since `cursor`, checked, and the next cursor. `None`
    /// when the channel is not polled.
    pub async fn poll(
        &self,
        cursor: Option<&str>,
        config: &serde_json::Value,
        call: &CallOptions,
    ) -> Result<Option<Polled>, StepFailure> {
        let pre = self
            .channel_pre()
            .ok_or_else(|| self.wrong_kind(call, PluginKind::Channel))?;
        let origin = self.origin(call);
        let (cursor, config) = (cursor.map(str::to_owned), convert::json_to(config));
        let (state, result) = invoke(&self.shared, &origin, call, ContextState::default(), move |store| {
            Box::pin(async move {
                let instance = pre.instantiate_async(&mut *store).await.map_err(Stage::Instantiate)?;
                instance
                    .call_poll_updates(&mut *store, cursor.as_deref(), &config)
                    .await
                    .map_err(Stage::Call)
            })
        })
        .await;
        match result? {
            Ok(None) => Ok(None),
            Ok(Some(raw)) => validate::items(raw.items)
                .map(|items| {
                    Some(Polled {
                        items,
                        cursor: raw.cursor,
                    })
                })
                .map_err(|problem| StepFailure::InvalidOutput { origin, problem }),
            Err(e) => Err(plugin_failure(origin, convert::plugin_error_from(e), &state.denials)),
        }
    }

    /// Runs a channel's `notices`: what the traffic says besides messages (delivery statuses,
    /// opt-outs).
    pub async fn notices(
        &self,
        inbound: &Inbound,
        config: &serde_json::Value,
        call: &CallOptions,
    ) -> Result<Vec<Notice>, StepFailure> {
        let pre = self
            .channel_pre()
            .ok_or_else(|| self.wrong_kind(call, PluginKind::Channel))?;
        let origin = self.origin(call);
        let (inbound, config) = (convert::inbound_to(inbound), convert::json_to(config));
        let (state, result) = invoke(&self.shared, &origin, call, ContextState::default(), move |store| {
            Box::pin(async move {
                let instance = pre.instantiate_async(&mut *store).await.map_err(Stage::Instantiate)?;
                instance
                    .call_notices(&mut *store, &inbound, &config)
                    .await
                    .map_err(Stage::Call)
            })
        })
        .await;
        match result? {
            Ok(raw) => validate::notices(raw).map_err(|problem| StepFailure::InvalidOutput { origin, problem }),
            Err(e) => Err(plugin_failure(origin, convert::plugin_error_from(e), &state.denials)),
        }
    }

    /// Runs a channel's `deliver`: sends one outbound message through the channel's API. The
    /// outcome says too whether any HTTP request left the host, so that a failure without an
    /// answer from the plugin (a timeout, a trap) can be told apart: nothing sent, or perhaps
    /// delivered.
    pub async fn deliver(&self, outbound: &Outbound, config: &serde_json::Value, call: &CallOptions) -> DeliverOutcome {
        let Some(pre) = self.channel_pre() else {
            return DeliverOutcome {
                result: Err(self.wrong_kind(call, PluginKind::Channel)),
                requests_sent: 0,
            };
        };
        let origin = self.origin(call);
        let (outbound, config) = (convert::outbound_to(outbound), convert::json_to(config));
        let (state, result) = invoke(&self.shared, &origin, call, ContextState::default(), move |store| {
            Box::pin(async move {
                let instance = pre.instantiate_async(&mut *store).await.map_err(Stage::Instantiate)?;
                instance
                    .call_deliver(&mut *store, &outbound, &config)
                    .await
                    .map_err(Stage::Call)
            })
        })
        .await;
        let result = result.and_then(|answer| {
            answer
                .map(convert::delivery_from)
                .map_err(|e| plugin_failure(origin, convert::plugin_error_from(e), &state.denials))
        });
        DeliverOutcome {
            result,
            requests_sent: state.requests_sent,
        }
    }
}

/// What [`Plugin::deliver`] came to.
#[derive(Debug)]
pub struct DeliverOutcome {
    /// The channel's answer, or why there is none.
    pub result: Result<Delivery, StepFailure>,
    /// HTTP requests the plugin handed to the network during the call, whatever became of
    /// them: 0 means the vendor cannot have received anything.
    pub requests_sent: u32,
}
