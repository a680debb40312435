//! The `embeddings` capability: sentence embeddings computed natively in the host (candle,
//! all-MiniLM-L6-v2: mean-pooled over tokens, L2-normalized), for steps granted
//! `allow: { embeddings: true }`.
//!
//! The model is loaded once per [`crate::runtime::Runtime`] from `<models_dir>/all-minilm-l6-v2/`
//! (`model.safetensors`, `tokenizer.json`, `config.json`; `cargo xtask` downloads them). Without
//! it the capability answers every call with `Err("no embedding model loaded: ...")`. Vectors of
//! texts already seen are kept in a bounded cache, so a step that embeds the same prototype
//! sentences on every call pays for them once.

use crate::runtime::bindings::step::weft::plugin::embeddings as wit;
use crate::runtime::state::CallState;
use candle_core::{DType, Device, Tensor};
use candle_nn::VarBuilder;
use candle_transformers::models::bert::{BertModel, Config};
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
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
        let weights = VarBuilder::from_buffered_safetensors(read("model.safetensors")?, DType::F32, &device)
            .map_err(|e| invalid("model.safetensors", format!("not a safetensors file: {e}")))?;
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
        })
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
            let cache = self.cache.lock().unwrap_or_else(|e| e.into_inner());
            texts.iter().map(|t| cache.get(t).cloned()).collect()
        };
        let mut missing: Vec<usize> = (0..texts.len()).filter(|&i| out[i].is_none()).collect();
        // Similar lengths together waste less padding.
        missing.sort_by(|&a, &b| {
            texts[a]
                .len()
                .cmp(&texts[b].len())
                .then_with(|| texts[a].cmp(&texts[b]))
        });
        missing.dedup_by_key(|&mut i| &texts[i]);
        for chunk in missing.chunks(BATCH) {
            let batch: Vec<&str> = chunk.iter().map(|&i| texts[i].as_str()).collect();
            let vectors = self
                .run(&batch)
                .map_err(|e| format!("the embedding model failed: {e}"))?;
            let mut cache = self.cache.lock().unwrap_or_else(|e| e.into_inner());
            if cache.len() + vectors.len() > CACHE_ENTRIES {
                cache.clear();
            }
            for (&i, vector) in chunk.iter().zip(vectors) {
                let vector: Arc<[f32]> = vector.into();
                cache.insert(texts[i].clone(), vector.clone());
                out[i] = Some(vector);
            }
        }
        // Duplicates of a text computed in this call were skipped above: take them from the cache.
        let cache = self.cache.lock().unwrap_or_else(|e| e.into_inner());
        out.into_iter()
            .zip(texts)
            .map(|(v, t)| {
                v.or_else(|| cache.get(t).cloned())
                    .map(|v| v.to_vec())
                    .ok_or_else(|| "an embedding was dropped from the cache during the call".to_owned())
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
