//! Language identification: the writing system first (kana means Japanese, Han without kana
//! Chinese, Hangul Korean), then, for Latin script, character-trigram profiles trained from the
//! router's own example messages (naive Bayes over hashed trigrams).
//!
//! # File section
//! Written after the intent weights in the model file: u32 trigram buckets, u8 language count,
//! then per language a u8 length and its code, a u32 trigram total, a u32 entry count and per
//! entry a varint bucket gap and a varint count.

use crate::data::Example;
use crate::features::normalize;
use crate::model::{ModelError, Reader, write_varint};
use std::collections::BTreeMap;
use weft_sdk::text::{Cjk, cjk_script};

const DIM: u32 = 1 << 14;

/// Trigram counts per Latin-script language, and the log-probabilities derived from them.
#[derive(Debug, Clone, PartialEq)]
pub struct Profiles {
    dim: u32,
    langs: Vec<Profile>,
}

#[derive(Debug, Clone, PartialEq)]
struct Profile {
    code: String,
    total: u32,
    counts: Vec<(u32, u32)>,
    /// `dim` smoothed log-probabilities, derived from `counts`.
    logp: Vec<f32>,
}

/// How the language was found.
#[derive(Debug, Clone, PartialEq)]
pub enum Method {
    /// The writing system alone decides (kana, Han, Hangul).
    Script(&'static str),
    /// The trigram profiles; the runner-up and the mean log-likelihood gap per trigram.
    Profile {
        /// The second best language, if any.
        runner_up: Option<String>,
        /// How much better the winner explains each trigram, in nats.
        margin: f32,
        /// How many trigrams were scored.
        trigrams: usize,
    },
}

/// A language guess.
#[derive(Debug, Clone, PartialEq)]
pub struct Guess {
    /// ISO 639-1 code.
    pub lang: String,
    /// 0..=1, how sure the guess is.
    pub confidence: f64,
    /// What decided it.
    pub method: Method,
}

#[derive(Default)]
struct Scripts {
    kana: usize,
    han: usize,
    hangul: usize,
    latin: usize,
}

fn scripts(text: &str) -> Scripts {
    let mut s = Scripts::default();
    for c in text.chars() {
        match cjk_script(c) {
            Some(Cjk::Kana) => s.kana += 1,
            Some(Cjk::Han) => s.han += 1,
            Some(Cjk::Hangul) => s.hangul += 1,
            None if c.is_alphabetic() && (c as u32) < 0x0250 => s.latin += 1,
            None => {}
        }
    }
    s
}

fn trigrams(text: &str, dim: u32) -> Vec<u32> {
    let norm: Vec<char> = normalize(text)
        .chars()
        .filter(|c| !c.is_numeric() && *c != '?')
        .collect();
    norm.windows(3)
        .filter(|w| w.iter().any(|c| c.is_alphabetic()))
        .map(|w| {
            let mut h: u32 = 0x811c_9dc5;
            for c in w {
                for b in c.encode_utf8(&mut [0; 4]).bytes() {
                    h = (h ^ u32::from(b)).wrapping_mul(0x0100_0193);
                }
            }
            h % dim
        })
        .collect()
}

impl Profiles {
    /// Trigram profiles for every language of the examples whose texts are mostly Latin script.
    pub fn train(examples: &[Example]) -> Profiles {
        let mut counts: BTreeMap<&str, BTreeMap<u32, u32>> = BTreeMap::new();
        let mut latin: BTreeMap<&str, (usize, usize)> = BTreeMap::new();
        for e in examples {
            let s = scripts(&e.text);
            let entry = latin.entry(&e.lang).or_default();
            entry.0 += s.latin;
            entry.1 += s.kana + s.han + s.hangul;
            let profile = counts.entry(&e.lang).or_default();
            for t in trigrams(&e.text, DIM) {
                *profile.entry(t).or_default() += 1;
            }
        }
        let langs = counts
            .into_iter()
            .filter(|(code, _)| latin.get(code).is_some_and(|(l, other)| l > other))
            .map(|(code, c)| Profile::new(code.to_owned(), c.into_iter().collect(), DIM))
            .collect();
        Profiles { dim: DIM, langs }
    }

    /// The languages the profiles know.
    pub fn languages(&self) -> impl Iterator<Item = &str> {
        self.langs.iter().map(|p| p.code.as_str())
    }

    /// The language of a text, or `None` when it has no letters to go by.
    pub fn detect(&self, text: &str) -> Option<Guess> {
        let s = scripts(text);
        let cjk = s.kana + s.han + s.hangul;
        if cjk > 0 && cjk >= s.latin {
            let (lang, script, share) = if s.hangul > s.kana + s.han {
                ("ko", "hangul", s.hangul)
            } else if s.kana > 0 {
                ("ja", "kana", s.kana + s.han)
            } else {
                ("zh", "han without kana", s.han)
            };
            let confidence = share as f64 / (cjk + s.latin) as f64;
            return Some(Guess {
                lang: lang.into(),
                confidence,
                method: Method::Script(script),
            });
        }
        if s.latin == 0 || self.langs.is_empty() {
            return None;
        }
        let grams = trigrams(text, self.dim);
        if grams.is_empty() {
            return None;
        }
        let mut scores: Vec<(f32, &str)> = self
            .langs
            .iter()
            .map(|p| (grams.iter().map(|&g| p.logp[g as usize]).sum::<f32>(), p.code.as_str()))
            .collect();
        scores.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(b.1)));
        let best = scores[0];
        let runner_up = scores.get(1).copied();
        // Posterior under equal priors, from the log-likelihoods.
        let denominator: f64 = scores.iter().map(|(s, _)| f64::from(s - best.0).exp()).sum();
        let margin = runner_up.map_or(0.0, |r| (best.0 - r.0) / grams.len() as f32);
        Some(Guess {
            lang: best.1.to_owned(),
            confidence: 1.0 / denominator,
            method: Method::Profile {
                runner_up: runner_up.map(|r| r.1.to_owned()),
                margin,
                trigrams: grams.len(),
            },
        })
    }

    pub(crate) fn write(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.dim.to_le_bytes());
        out.push(self.langs.len() as u8);
        for p in &self.langs {
            out.push(p.code.len() as u8);
            out.extend_from_slice(p.code.as_bytes());
            out.extend_from_slice(&p.total.to_le_bytes());
            out.extend_from_slice(&(p.counts.len() as u32).to_le_bytes());
            let mut previous = 0;
            for &(bucket, count) in &p.counts {
                write_varint(out, u64::from(bucket - previous));
                write_varint(out, u64::from(count));
                previous = bucket;
            }
        }
    }

    pub(crate) fn read(r: &mut Reader<'_>) -> Result<Profiles, ModelError> {
        let dim = r.u32("language trigram buckets")?;
        if dim == 0 || dim > 1 << 20 {
            return Err(ModelError::Invalid(format!(
                "language trigram buckets {dim} out of range"
            )));
        }
        let n = r.u8("language count")?;
        let mut langs = Vec::with_capacity(n.into());
        for _ in 0..n {
            let len = r.u8("language code")? as usize;
            let code = std::str::from_utf8(r.take(len, "language code")?)
                .map_err(|_| ModelError::Invalid("language code is not UTF-8".into()))?
                .to_owned();
            let total = r.u32("trigram total")?;
            let entries = r.u32("trigram entries")?;
            let mut counts = Vec::new();
            let mut bucket = 0u64;
            for _ in 0..entries {
                bucket += r.varint("trigram bucket")?;
                let count = r.varint("trigram count")?;
                if bucket >= u64::from(dim) || count > u64::from(u32::MAX) {
                    return Err(ModelError::Invalid(format!(
                        "trigram entry {bucket}:{count} of `{code}` out of range"
                    )));
                }
                counts.push((bucket as u32, count as u32));
            }
            let profile = Profile::new(code, counts, dim);
            if profile.total != total {
                return Err(ModelError::Invalid(format!(
                    "trigram total of `{}` does not add up",
                    profile.code
                )));
            }
            langs.push(profile);
        }
        Ok(Profiles { dim, langs })
    }
}

impl Profile {
    fn new(code: String, counts: Vec<(u32, u32)>, dim: u32) -> Profile {
        let total: u32 = counts.iter().map(|c| c.1).sum();
        // Additive smoothing: an unseen trigram counts as half an occurrence.
        let alpha = 0.5f64;
        let denominator = f64::from(total) + alpha * f64::from(dim);
        let mut logp = vec![(alpha / denominator).ln() as f32; dim as usize];
        for &(bucket, count) in &counts {
            logp[bucket as usize] = ((f64::from(count) + alpha) / denominator).ln() as f32;
        }
        Profile {
            code,
            total,
            counts,
            logp,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scripts_decide_cjk() {
        let p = Profiles {
            dim: DIM,
            langs: vec![],
        };
        assert_eq!(p.detect("荷物はまだ届いていません").unwrap().lang, "ja");
        assert_eq!(p.detect("我的包裹还没到").unwrap().lang, "zh");
        assert_eq!(p.detect("주문이 아직 안 왔어요").unwrap().lang, "ko");
        assert_eq!(p.detect("注文 302-1234 の件").unwrap().lang, "ja");
        assert_eq!(p.detect("12345 !!!"), None);
    }
}
