//! The `embeddings` capability: sentence embeddings computed natively in the host (candle,
//! all-MiniLM-L6-v2: mean-pooled over tokens, L2-normalized), for steps granted
//! `allow: { embeddings: true }`.
//!
//! The model is loaded once per [`crate::runtime::Runtime`] from `<models_dir>/all-minilm-l6-v2/`
//! (`model.safetensors`, `tokenizer.json`, `config.json`; `cargo xtask` downloads them). Without
//! it the capability answers every call with `Err("no embedding model loaded: ...")`. Vectors of
//! texts already seen are kept in a bounded cache, so a step that embeds the same prototype
//! sentences on every call pays for them once.
//!
//! Calls are batched while the model is busy: each call queues its texts; when a pass can
//! start (at most one per core at a time), the call that starts it takes everything queued
//! and answers every caller in it. A lone call runs at once; under load, one pass serves
//! several messages. Each pass runs on one core ([`one_core_per_pass`]), and the linear
//! layers' weights are stored column by column so no pass repacks them.

use crate::runtime::bindings::step::weft::plugin::embeddings as wit;
use crate::runtime::state::CallState;
use candle_core::{DType, Device, Tensor};
use candle_nn::VarBuilder;
use candle_transformers::models::bert::{BertModel, Config};
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Condvar, Mutex};
use tokenizers::{PaddingParams, PaddingStrategy, Tokenizer, TruncationParams};

/// The folder under the models directory that holds the model.
pub const MODEL_FOLDER: &str = "all-minilm-l6-v2";
/// The most texts one `embed` call may ask for.
pub const MAX_TEXTS_PER_CALL: usize = 256;
/// Texts are cut to this many tokens (the length the model was trained with).
const MAX_TOKENS: usize = 256;
/// Texts run through the model in batches of this size.
const BATCH: usize = 32;
/// How many vectors the cache keeps before it starts over.
const CACHE_ENTRIES: usize = 8192;

/// Why the embedding model could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum EmbeddingsError {
    /// A model file is missing or unreadable.
    #[error("cannot read {}: {source}", path.display())]
    Read {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// A model file is there but not what the model needs.
    #[error("{}: {problem}", path.display())]
    Invalid {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        problem: String,
    },
}

/// all-MiniLM-L6-v2 on the CPU: texts in, 384-dimensional unit vectors out.
pub struct Embedder {
    model: BertModel,
    tokenizer: Tokenizer,
    device: Device,
    cache: Mutex<HashMap<String, Arc<[f32]>>>,
    /// The calls waiting for the model and the answers not yet taken.
    shared: Mutex<Shared>,
    /// Signalled whenever a pass ends (and its answers are ready).
    done: Condvar,
    /// How many passes may run at once: one per core.
    passes: usize,
    /// How many texts went through the model (cache misses), for benchmarks and reports.
    encoded: std::sync::atomic::AtomicU64,
}

#[derive(Default)]
struct Shared {
    queue: Vec<Queued>,
    /// How many calls are running the model now.
    running: usize,
    answers: HashMap<u64, Answer>,
    next_id: u64,
}

/// What a queued call gets back: a vector per text it queued, or why not.
type Answer = Result<Vec<Arc<[f32]>>, String>;

/// One call's texts in the queue.
struct Queued {
    id: u64,
    texts: Vec<String>,
}

impl std::fmt::Debug for Embedder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Embedder").finish_non_exhaustive()
    }
}

impl Embedder {
    /// Loads the model from a folder holding `model.safetensors`, `tokenizer.json` and
    /// `config.json`.
    pub fn load(dir: &Path) -> Result<Embedder, EmbeddingsError> {
        let read = |name: &str| {
            let path = dir.join(name);
            std::fs::read(&path).map_err(|source| EmbeddingsError::Read { path, source })
        };
        let invalid = |name: &str, problem: String| EmbeddingsError::Invalid {
            path: dir.join(name),
            problem,
        };
        let config: Config = serde_json::from_slice(&read("config.json")?)
            .map_err(|e| invalid("config.json", format!("not a BERT configuration: {e}")))?;
        let mut tokenizer = Tokenizer::from_bytes(read("tokenizer.json")?)
            .map_err(|e| invalid("tokenizer.json", format!("not a tokenizer: {e}")))?;
        tokenizer.with_padding(Some(PaddingParams {
            strategy: PaddingStrategy::BatchLongest,
            ..PaddingParams::default()
        }));
        tokenizer
            .with_truncation(Some(TruncationParams {
                max_length: MAX_TOKENS,
                ..TruncationParams::default()
            }))
            .map_err(|e| invalid("tokenizer.json", format!("cannot set truncation: {e}")))?;
        let device = Device::Cpu;
        let mut tensors = candle_core::safetensors::load_buffer(&read("model.safetensors")?, &device)
            .map_err(|e| invalid("model.safetensors", format!("not a safetensors file: {e}")))?;
        for (name, tensor) in tensors.iter_mut() {
            if name.contains("encoder.layer.") && name.ends_with(".weight") && tensor.rank() == 2 {
                *tensor = column_major(tensor).map_err(|e| invalid("model.safetensors", format!("{name}: {e}")))?;
            }
        }
        let weights = VarBuilder::from_tensors(tensors, DType::F32, &device);
        let model = BertModel::load(weights, &config).map_err(|e| {
            invalid(
                "model.safetensors",
                format!("does not hold the model config.json describes: {e}"),
            )
        })?;
        Ok(Embedder {
            model,
            tokenizer,
            device,
            cache: Mutex::new(HashMap::new()),
            shared: Mutex::new(Shared::default()),
            done: Condvar::new(),
            passes: std::thread::available_parallelism().map_or(1, |n| n.get()),
            encoded: std::sync::atomic::AtomicU64::new(0),
        })
    }

    /// How many texts this embedder has run through the model so far (texts answered from its
    /// cache are not counted).
    pub fn encoded(&self) -> u64 {
        self.encoded.load(std::sync::atomic::Ordering::Relaxed)
    }

    /// One unit vector per text, in order. Texts seen before come from the cache; the others
    /// run through the model in batches of similar length.
    pub fn embed(&self, texts: &[String]) -> Result<Vec<Vec<f32>>, String> {
        if texts.len() > MAX_TEXTS_PER_CALL {
            return Err(format!(
                "{} texts in one call, at most {MAX_TEXTS_PER_CALL} are allowed: split the call",
                texts.len()
            ));
        }
        let mut out: Vec<Option<Arc<[f32]>>> = {
            let cache = lock(&self.cache);
            texts.iter().map(|t| cache.get(t).cloned()).collect()
        };
        let mut missing: Vec<&String> = (0..texts.len())
            .filter(|&i| out[i].is_none())
            .map(|i| &texts[i])
            .collect();
        missing.sort_unstable();
        missing.dedup();
        if !missing.is_empty() {
            let computed = self.compute(missing.iter().map(|t| (*t).clone()).collect())?;
            let found: HashMap<&String, Arc<[f32]>> = missing.into_iter().zip(computed).collect();
            for (slot, text) in out.iter_mut().zip(texts) {
                if slot.is_none() {
                    *slot = found.get(text).cloned();
                }
            }
        }
        out.into_iter()
            .map(|v| {
                v.map(|v| v.to_vec())
                    .ok_or_else(|| "the model returned fewer vectors than texts".to_owned())
            })
            .collect()
    }

    /// Vectors for texts not in the cache, in order: queued, then computed by this call or by
    /// the call that runs the model when they are queued (see the module documentation).
    fn compute(&self, texts: Vec<String>) -> Answer {
        let mut shared = lock(&self.shared);
        let id = shared.next_id;
        shared.next_id += 1;
        shared.queue.push(Queued { id, texts });
        loop {
            if let Some(answer) = shared.answers.remove(&id) {
                return answer;
            }
            if shared.running >= self.passes || shared.queue.is_empty() {
                shared = self.done.wait(shared).unwrap_or_else(|e| e.into_inner());
                continue;
            }
            shared.running += 1;
            let queued = std::mem::take(&mut shared.queue);
            drop(shared);
            let answers = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| self.run_queued(&queued)))
                .unwrap_or_else(|_| {
                    let why = "the embedding model panicked".to_owned();
                    queued.iter().map(|_| Err(why.clone())).collect()
                });
            shared = lock(&self.shared);
            shared.answers.extend(queued.iter().map(|q| q.id).zip(answers));
            shared.running -= 1;
            self.done.notify_all();
        }
    }

    /// Runs every text of the queued calls through the model, shortest first in batches of
    /// [`BATCH`] (similar lengths waste less padding), fills the cache and answers each call.
    fn run_queued(&self, queued: &[Queued]) -> Vec<Answer> {
        let mut all: Vec<&str> = queued.iter().flat_map(|q| q.texts.iter().map(String::as_str)).collect();
        all.sort_by(|a, b| a.len().cmp(&b.len()).then_with(|| a.cmp(b)));
        all.dedup();
        self.encoded
            .fetch_add(all.len() as u64, std::sync::atomic::Ordering::Relaxed);
        let mut vectors: HashMap<&str, Arc<[f32]>> = HashMap::with_capacity(all.len());
        let mut failure = None;
        for chunk in all.chunks(BATCH) {
            match self.run(chunk) {
                Ok(got) => vectors.extend(chunk.iter().copied().zip(got.into_iter().map(Arc::from))),
                Err(e) => {
                    failure = Some(format!("the embedding model failed: {e}"));
                    break;
                }
            }
        }
        {
            let mut cache = lock(&self.cache);
            if cache.len() + vectors.len() > CACHE_ENTRIES {
                cache.clear();
            }
            for (text, vector) in &vectors {
                cache.insert((*text).to_owned(), vector.clone());
            }
        }
        queued
            .iter()
            .map(|call| match &failure {
                Some(why) => Err(why.clone()),
                None => call
                    .texts
                    .iter()
                    .map(|t| {
                        vectors
                            .get(t.as_str())
                            .cloned()
                            .ok_or_else(|| "the model returned fewer vectors than texts".to_owned())
                    })
                    .collect(),
            })
            .collect()
    }

    /// The model on one batch: token embeddings averaged over the attention mask, normalized.
    fn run(&self, texts: &[&str]) -> Result<Vec<Vec<f32>>, Box<dyn std::error::Error + Send + Sync>> {
        let encodings = self.tokenizer.encode_batch(texts.to_vec(), true)?;
        let rows = encodings.len();
        let width = encodings.first().map_or(0, |e| e.get_ids().len());
        let mut ids = Vec::with_capacity(rows * width);
        let mut mask = Vec::with_capacity(rows * width);
        for encoding in &encodings {
            ids.extend_from_slice(encoding.get_ids());
            mask.extend_from_slice(encoding.get_attention_mask());
        }
        let ids = Tensor::from_vec(ids, (rows, width), &self.device)?;
        let mask = Tensor::from_vec(mask, (rows, width), &self.device)?;
        let types = ids.zeros_like()?;
        let hidden = self.model.forward(&ids, &types, Some(&mask))?;
        let mask = mask.to_dtype(DType::F32)?.unsqueeze(2)?;
        let summed = hidden.broadcast_mul(&mask)?.sum(1)?;
        let counts = mask.sum(1)?.clamp(1e-9, f64::MAX)?;
        let mean = summed.broadcast_div(&counts)?;
        let norms = mean.sqr()?.sum_keepdim(1)?.sqrt()?.clamp(1e-12, f64::MAX)?;
        Ok(mean.broadcast_div(&norms)?.to_vec2::<f32>()?)
    }
}

/// The same matrix stored column by column. A linear layer multiplies by its weight's
/// transpose; stored this way, that transpose is row-major already, and the matrix multiply
/// skips repacking the whole weight on every pass (measured: that repacking was over a third
/// of a pass for a short message).
fn column_major(weight: &Tensor) -> candle_core::Result<Tensor> {
    weight.t()?.contiguous()?.t()
}

/// Makes every pass of the model run on one core, so that the passes of concurrent calls run
/// side by side, one per core (see [`Embedder`]). candle otherwise splits each pass over all
/// cores; on this project's 2-core machine that cost more in synchronisation than it gained
/// (a short message: 8.5 ms on two cores, 6.7 ms on one). candle and the matrix multiply read
/// the thread count from `CANDLE_NUM_THREADS` and `RAYON_NUM_THREADS`, so this sets both to 1,
/// unless either is set already (an integrator's choice wins).
///
/// # Safety
/// It writes the process environment: call it at the start of `main`, before any other
/// thread exists (the `weft` command does).
#[allow(unsafe_code)]
pub unsafe fn one_core_per_pass() {
    if std::env::var_os("CANDLE_NUM_THREADS").is_none() && std::env::var_os("RAYON_NUM_THREADS").is_none() {
        // SAFETY: the caller guarantees no other thread reads or writes the environment now.
        unsafe {
            std::env::set_var("CANDLE_NUM_THREADS", "1");
            std::env::set_var("RAYON_NUM_THREADS", "1");
        }
    }
}

/// A lock that a panicking holder did not spoil: every value behind these locks is whole
/// between statements.
fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|e| e.into_inner())
}

/// Loads the model from `<models_dir>/all-minilm-l6-v2/`, or says why there is none.
pub(crate) fn load(models_dir: Option<&Path>) -> Result<Arc<Embedder>, String> {
    let Some(dir) = models_dir else {
        return Err("no models folder configured (`--models DIR` or WEFT_MODELS)".to_owned());
    };
    let dir = dir.join(MODEL_FOLDER);
    if !dir.is_dir() {
        return Err(format!(
            "{} does not exist (`cargo xtask plugins` downloads it)",
            dir.display()
        ));
    }
    Embedder::load(&dir).map(Arc::new).map_err(|e| e.to_string())
}

/// What the `embeddings` import of one call may use.
pub(crate) struct EmbeddingsState {
    /// The runtime's model, or why it has none.
    pub model: Result<Arc<Embedder>, Arc<str>>,
    pub granted: bool,
    pub step: String,
}

/// The message a refused call gets: what to add to the workflow.
pub(crate) fn denial(step: &str) -> String {
    format!("embeddings are not allowed for step `{step}`: add `allow: {{ embeddings: true }}` to the step")
}

/// The borrowed view the generated `embeddings` host trait is implemented on.
pub(crate) struct EmbeddingsView<'a> {
    state: &'a EmbeddingsState,
    denials: &'a mut Vec<String>,
}

impl wit::Host for EmbeddingsView<'_> {
    async fn embed(&mut self, texts: Vec<String>) -> wasmtime::Result<Result<Vec<Vec<f32>>, String>> {
        if !self.state.granted {
            let message = denial(&self.state.step);
            self.denials.push(message.clone());
            return Ok(Err(message));
        }
        let model = match &self.state.model {
            Ok(model) => model.clone(),
            Err(why) => return Ok(Err(format!("no embedding model loaded: {why}"))),
        };
        // The model keeps a core busy for milliseconds per text: off the async workers.
        let answer = tokio::task::spawn_blocking(move || model.embed(&texts))
            .await
            .unwrap_or_else(|e| Err(format!("the embedding task stopped: {e}")));
        Ok(answer)
    }
}

struct EmbeddingsData;

impl wasmtime::component::HasData for EmbeddingsData {
    type Data<'a> = EmbeddingsView<'a>;
}

/// Links the `embeddings` import (steps only).
pub(crate) fn add_to_linker(linker: &mut wasmtime::component::Linker<CallState>) -> wasmtime::Result<()> {
    wit::add_to_linker::<CallState, EmbeddingsData>(linker, |state| EmbeddingsView {
        state: &state.embeddings,
        denials: &mut state.denials,
    })
}
