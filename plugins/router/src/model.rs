//! The intent classifier: multinomial logistic regression over hashed features, its training
//! by stochastic gradient descent, and its compact binary file format.
//!
//! # File format (`model/model.bin`), all integers little-endian
//!
//! | bytes | what |
//! | --- | --- |
//! | 8 | magic `WEFTRTR` followed by format version `0x01` |
//! | 4 | `dim`: u32, number of hashed feature buckets |
//! | 1 + names | `k`: u8 classes, then per class a u8 length and its UTF-8 name (intent names, in [`Intent::ALL`] order) |
//! | 4·k | bias per class, f32 |
//! | 4·k | dequantization scale per class, f32 |
//! | 4 + rows | u32 row count, then per non-zero bucket: LEB128 varint gap from the previous bucket (first gap from 0), then `k` weights as i8 |
//! | rest | the language profiles, see [`crate::lang::Profiles`] |
//!
//! A weight is `i8 × scale[class]`. Buckets whose weights all quantize to zero are left out.

use crate::data::Example;
use crate::features::{Gram, Sparse, extract, normalize_intent, visit};
use crate::intent::Intent;
use crate::lang::Profiles;

const MAGIC: &[u8; 8] = b"WEFTRTR\x01";
const K: usize = Intent::ALL.len();

/// How [`train`] runs. The defaults are what the shipped model was trained with.
#[derive(Debug, Clone, PartialEq)]
pub struct TrainOptions {
    /// Hashed feature buckets; a power of two keeps the hash uniform.
    pub dim: u32,
    /// Passes over the training set.
    pub epochs: u32,
    /// Initial step size; it decays as `lr / (1 + decay · epoch)`.
    pub learning_rate: f32,
    /// Step size decay per epoch.
    pub decay: f32,
    /// L2 regularization strength, applied to the weights an example touches.
    pub l2: f32,
    /// Seed of the shuffling order: the same seed and data give the same bytes.
    pub seed: u64,
}

impl Default for TrainOptions {
    fn default() -> Self {
        TrainOptions {
            dim: 1 << 18,
            epochs: 40,
            learning_rate: 2.0,
            decay: 0.1,
            l2: 3e-4,
            seed: 0x5eed_3eef,
        }
    }
}

/// A trained classifier, ready to predict; also holds the language profiles trained with it.
#[derive(Debug, Clone, PartialEq)]
pub struct Model {
    dim: u32,
    bias: [f32; K],
    scale: [f32; K],
    /// `dim × K` quantized weights, bucket-major.
    weights: Vec<i8>,
    /// Language identification profiles for Latin-script languages.
    pub lang: Profiles,
}

/// A model file that cannot be read.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ModelError {
    /// The file does not start with the expected magic and version.
    #[error("not a router model file (bad magic or version)")]
    BadMagic,
    /// The file ends early.
    #[error("model file truncated while reading {what}")]
    Truncated {
        /// What was being read.
        what: &'static str,
    },
    /// A field holds an impossible value.
    #[error("model file invalid: {0}")]
    Invalid(String),
}

/// The classifier's answer: every intent with its probability, most likely first.
#[derive(Debug, Clone, PartialEq)]
pub struct Prediction {
    /// (intent, probability), sorted by probability, highest first; probabilities sum to 1.
    pub ranked: Vec<(Intent, f32)>,
}

impl Prediction {
    /// The most likely intent and its probability.
    pub fn top(&self) -> (Intent, f32) {
        self.ranked[0]
    }

    /// The probability of the category named `label` (0 for one that is not an intent).
    pub fn probability(&self, label: &str) -> f32 {
        self.ranked
            .iter()
            .find(|(i, _)| i.as_str() == label)
            .map_or(0.0, |(_, p)| *p)
    }
}

/// A small deterministic random generator (SplitMix64) for shuffling.
struct SplitMix(u64);

impl SplitMix {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
}

fn softmax(logits: &mut [f32; K]) {
    let max = logits.iter().copied().fold(f32::NEG_INFINITY, f32::max);
    let mut sum = 0.0;
    for l in logits.iter_mut() {
        *l = (*l - max).exp();
        sum += *l;
    }
    for l in logits.iter_mut() {
        *l /= sum;
    }
}

/// Trains a classifier (and the language profiles) on labeled examples. Deterministic: the
/// same examples in the same order with the same options give a model with the same bytes.
pub fn train(examples: &[Example], options: &TrainOptions) -> Model {
    let dim = options.dim.max(1);
    let data: Vec<(Sparse, usize)> = examples
        .iter()
        .map(|e| (extract(&e.text, dim), e.intent.index()))
        .collect();
    let mut w = vec![0f32; dim as usize * K];
    let mut bias = [0f32; K];
    let mut order: Vec<usize> = (0..data.len()).collect();
    let mut rng = SplitMix(options.seed);
    for epoch in 0..options.epochs {
        for i in (1..order.len()).rev() {
            let j = (rng.next() % (i as u64 + 1)) as usize;
            order.swap(i, j);
        }
        let lr = options.learning_rate / (1.0 + options.decay * epoch as f32);
        for &i in &order {
            let (x, label) = &data[i];
            let mut p = bias;
            for &(j, v) in x {
                let row = &w[j as usize * K..][..K];
                for k in 0..K {
                    p[k] += row[k] * v;
                }
            }
            softmax(&mut p);
            p[*label] -= 1.0;
            for k in 0..K {
                bias[k] -= lr * p[k];
            }
            for &(j, v) in x {
                let row = &mut w[j as usize * K..][..K];
                for k in 0..K {
                    row[k] -= lr * (p[k] * v + options.l2 * row[k]);
                }
            }
        }
    }
    let mut scale = [0f32; K];
    for row in w.chunks_exact(K) {
        for k in 0..K {
            scale[k] = scale[k].max(row[k].abs());
        }
    }
    for s in &mut scale {
        *s = if *s > 0.0 { *s / 127.0 } else { 1.0 };
    }
    let weights = w
        .chunks_exact(K)
        .flat_map(|row| (0..K).map(move |k| (row[k] / scale[k]).round().clamp(-127.0, 127.0) as i8))
        .collect();
    Model {
        dim,
        bias,
        scale,
        weights,
        lang: Profiles::train(examples),
    }
}

impl Model {
    /// The model shipped with the plugin, trained from `data/train.csv`.
    pub fn shipped() -> Result<&'static Model, ModelError> {
        static SHIPPED: std::sync::OnceLock<Result<Model, ModelError>> = std::sync::OnceLock::new();
        SHIPPED
            .get_or_init(|| Model::from_bytes(include_bytes!("../model/model.bin")))
            .as_ref()
            .map_err(Clone::clone)
    }

    /// Every intent's probability for this text.
    pub fn predict(&self, text: &str) -> Prediction {
        let x = extract(text, self.dim);
        let mut acc = [0f32; K];
        for &(j, v) in &x {
            let row = &self.weights[j as usize * K..][..K];
            for k in 0..K {
                acc[k] += f32::from(row[k]) * v;
            }
        }
        let mut p = self.bias;
        for k in 0..K {
            p[k] += acc[k] * self.scale[k];
        }
        softmax(&mut p);
        let mut ranked: Vec<(Intent, f32)> = Intent::ALL.into_iter().zip(p).collect();
        ranked.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
        Prediction { ranked }
    }

    /// The features that most favour `intent` over `against` in this text, strongest first:
    /// (feature, weight difference times its value), at most `n`, only those that favour it.
    /// Two-character grams of Latin letters and spaces are left out: they weigh in the
    /// decision but mean nothing to a reader.
    pub fn explain(&self, text: &str, intent: Intent, against: Intent, n: usize) -> Vec<(String, f32)> {
        let (a, b) = (intent.index(), against.index());
        let norm = normalize_intent(text);
        let x = extract(text, self.dim);
        let readable =
            |gram: &Gram<'_>| !matches!(gram, Gram::Chars(c) if c.len() == 2 && c.iter().all(|c| (*c as u32) < 0x250));
        // First pass: each bucket's contribution, without rendering any gram.
        let mut best: Vec<(f32, u32)> = Vec::new();
        visit(&norm, self.dim, |bucket, gram| {
            if !readable(&gram) {
                return;
            }
            let row = &self.weights[bucket as usize * K..][..K];
            let diff = f32::from(row[a]) * self.scale[a] - f32::from(row[b]) * self.scale[b];
            let value = x.binary_search_by_key(&bucket, |e| e.0).map_or(0.0, |i| x[i].1);
            if diff * value > 0.0 {
                best.push((diff * value, bucket));
            }
        });
        best.sort_unstable_by_key(|e| e.1);
        best.dedup_by_key(|e| e.1);
        best.sort_by(|x, y| y.0.total_cmp(&x.0).then(x.1.cmp(&y.1)));
        best.truncate(n);
        // Second pass: the first readable gram of each chosen bucket, as text.
        let mut ranked: Vec<(String, f32)> = Vec::with_capacity(best.len());
        visit(&norm, self.dim, |bucket, gram| {
            if readable(&gram)
                && let Some(&(weight, _)) = best.iter().find(|(_, b)| *b == bucket)
            {
                let text = gram.to_string();
                if !ranked.iter().any(|(t, _)| *t == text) && ranked.len() < best.len() {
                    ranked.push((text, weight));
                }
            }
        });
        ranked.sort_by(|x, y| y.1.total_cmp(&x.1).then_with(|| x.0.cmp(&y.0)));
        ranked.truncate(n);
        ranked
    }

    /// The model in its file format (see the module documentation).
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::new();
        out.extend_from_slice(MAGIC);
        out.extend_from_slice(&self.dim.to_le_bytes());
        out.push(K as u8);
        for intent in Intent::ALL {
            out.push(intent.as_str().len() as u8);
            out.extend_from_slice(intent.as_str().as_bytes());
        }
        for b in self.bias.iter().chain(&self.scale) {
            out.extend_from_slice(&b.to_le_bytes());
        }
        let rows: Vec<(usize, &[i8])> = self
            .weights
            .chunks_exact(K)
            .enumerate()
            .filter(|(_, row)| row.iter().any(|&q| q != 0))
            .collect();
        out.extend_from_slice(&(rows.len() as u32).to_le_bytes());
        let mut previous = 0;
        for (bucket, row) in rows {
            write_varint(&mut out, (bucket - previous) as u64);
            previous = bucket;
            out.extend(row.iter().map(|&q| q as u8));
        }
        self.lang.write(&mut out);
        out
    }

    /// Reads a model written by [`Model::to_bytes`].
    pub fn from_bytes(bytes: &[u8]) -> Result<Model, ModelError> {
        let mut r = Reader { bytes, at: 0 };
        if r.take(8, "magic")? != MAGIC {
            return Err(ModelError::BadMagic);
        }
        let dim = r.u32("dim")?;
        if dim == 0 || dim > 1 << 24 {
            return Err(ModelError::Invalid(format!("dim {dim} is out of range 1..=16777216")));
        }
        let k = r.u8("class count")? as usize;
        if k != K {
            return Err(ModelError::Invalid(format!("{k} classes, expected {K}")));
        }
        for intent in Intent::ALL {
            let len = r.u8("class name")? as usize;
            let name = r.take(len, "class name")?;
            if name != intent.as_str().as_bytes() {
                return Err(ModelError::Invalid(format!(
                    "class {} is `{}`, expected `{intent}`",
                    intent.index(),
                    String::from_utf8_lossy(name)
                )));
            }
        }
        let mut bias = [0f32; K];
        let mut scale = [0f32; K];
        for b in bias.iter_mut().chain(scale.iter_mut()) {
            *b = r.f32("bias and scale")?;
        }
        let rows = r.u32("row count")?;
        let mut weights = vec![0i8; dim as usize * K];
        let mut bucket = 0u64;
        for _ in 0..rows {
            bucket += r.varint("row bucket")?;
            if bucket >= u64::from(dim) {
                return Err(ModelError::Invalid(format!(
                    "row bucket {bucket} is not below dim {dim}"
                )));
            }
            let row = r.take(K, "row weights")?;
            for (slot, &q) in weights[bucket as usize * K..][..K].iter_mut().zip(row) {
                *slot = q as i8;
            }
        }
        let lang = Profiles::read(&mut r)?;
        if r.at != bytes.len() {
            return Err(ModelError::Invalid(format!(
                "{} unexpected bytes at the end",
                bytes.len() - r.at
            )));
        }
        Ok(Model {
            dim,
            bias,
            scale,
            weights,
            lang,
        })
    }
}

pub(crate) fn write_varint(out: &mut Vec<u8>, mut value: u64) {
    loop {
        let byte = (value & 0x7f) as u8;
        value >>= 7;
        if value == 0 {
            out.push(byte);
            return;
        }
        out.push(byte | 0x80);
    }
}

/// A cursor over a model file.
pub(crate) struct Reader<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl<'a> Reader<'a> {
    pub(crate) fn take(&mut self, n: usize, what: &'static str) -> Result<&'a [u8], ModelError> {
        let end = self
            .at
            .checked_add(n)
            .filter(|&e| e <= self.bytes.len())
            .ok_or(ModelError::Truncated { what })?;
        let slice = &self.bytes[self.at..end];
        self.at = end;
        Ok(slice)
    }
    pub(crate) fn u8(&mut self, what: &'static str) -> Result<u8, ModelError> {
        Ok(self.take(1, what)?[0])
    }
    pub(crate) fn u32(&mut self, what: &'static str) -> Result<u32, ModelError> {
        let b = self.take(4, what)?;
        Ok(u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
    }
    pub(crate) fn f32(&mut self, what: &'static str) -> Result<f32, ModelError> {
        let b = self.take(4, what)?;
        Ok(f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
    }
    pub(crate) fn varint(&mut self, what: &'static str) -> Result<u64, ModelError> {
        let mut value = 0u64;
        for shift in (0..64).step_by(7) {
            let byte = self.u8(what)?;
            value |= u64::from(byte & 0x7f) << shift;
            if byte & 0x80 == 0 {
                return Ok(value);
            }
        }
        Err(ModelError::Invalid(format!("varint too long in {what}")))
    }
}
