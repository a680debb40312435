//! The shipped prototype vectors: the unit vectors of the prototype sentences
//! (`data/prototypes.csv`), computed once with the embedding model and shipped with the router
//! (`model/prototypes.bin`), so that a process does not run the sentence encoder over every
//! prototype sentence before its first semantic answer.
//!
//! The router cannot ask the host which model it runs, so the table is trusted only after a
//! check: [`crate::semantic::Prototypes::vectors`] has the host embed one sentence of the table
//! (the probe, [`PrototypeVectors::probe`]) and uses the table only when the answer is the
//! shipped vector ([`same_vector`]). Another model, or the same model with another tokenizer,
//! answers otherwise, and then every prototype sentence is embedded as before. Sentences are
//! looked up by their text, so a sentence not in the table (a workflow's own `examples`, or a
//! line of `prototypes.csv` changed since the table was written) is embedded too. Stale vectors
//! are therefore never used; a stale table only costs encoder passes, and the test
//! `shipped_prototype_vectors_are_the_models` (`engine/tests/router_eval.rs`) fails until it
//! is written again:
//!
//! ```text
//! cargo run -p weft --release --example prototype_vectors -- target/models plugins/router/model/prototypes.bin
//! ```
//!
//! # File format (`model/prototypes.bin`), all integers little-endian
//!
//! | bytes | what |
//! | --- | --- |
//! | 8 | magic `WEFTPRV` followed by format version `0x01` |
//! | 4 | `dim`: u32, the vectors' dimension |
//! | 4 | `n`: u32, how many sentences |
//! | 2 + m | u16 length, then the UTF-8 description of the model the vectors came from |
//! | n × (4 + s + 4·dim) | per sentence: u32 length, its UTF-8 text, then `dim` f32 |

use std::collections::HashMap;

const MAGIC: &[u8; 8] = b"WEFTPRV\x01";

/// The largest difference, component by component, between a shipped vector and the host's
/// vector of the same sentence for the two to count as the same model's. The host's vectors
/// of one sentence differ in the last bits with the batch it was run in (padding changes the
/// order of the sums); another model differs in the second decimal.
pub const TOLERANCE: f32 = 1e-4;

/// Whether two vectors are the same model's vector of one sentence (see [`TOLERANCE`]).
pub fn same_vector(a: &[f32], b: &[f32]) -> bool {
    a.len() == b.len() && a.iter().zip(b).all(|(x, y)| (x - y).abs() <= TOLERANCE)
}

/// A table of prototype vectors that cannot be read or built.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum VectorsError {
    /// The file does not start with the expected magic and version.
    #[error("not a prototype vector file (bad magic or version)")]
    BadMagic,
    /// The file ends early.
    #[error("prototype vector file truncated while reading {what}")]
    Truncated {
        /// What was being read.
        what: &'static str,
    },
    /// Bytes are left after the last vector.
    #[error("prototype vector file has {0} bytes after its last vector")]
    TrailingBytes(usize),
    /// A text is not UTF-8.
    #[error("prototype vector file: {what} is not UTF-8")]
    NotUtf8 {
        /// Which text.
        what: &'static str,
    },
    /// A sentence's vector is not as long as the table's dimension.
    #[error("the vector of {sentence:?} has {got} components, the table {dim}")]
    Dimension {
        /// The sentence.
        sentence: String,
        /// Its vector's length.
        got: usize,
        /// The table's dimension.
        dim: usize,
    },
    /// A sentence is in the table twice.
    #[error("{0:?} is in the table twice")]
    Duplicate(String),
    /// A sentence or the model description is too long for its length field.
    #[error("{what} is too long for the file format")]
    TooLong {
        /// Which text.
        what: &'static str,
    },
}

/// Prototype sentences and their vectors, made with one model.
#[derive(Debug, Clone, PartialEq)]
pub struct PrototypeVectors {
    model: String,
    dim: usize,
    entries: Vec<(String, Vec<f32>)>,
    index: HashMap<String, usize>,
}

impl PrototypeVectors {
    /// A table from `(sentence, vector)` pairs, every vector of one dimension, every sentence
    /// once. `model` says which model made them (for people and tests; the router checks the
    /// model with the probe, not by this name).
    pub fn new(model: &str, entries: Vec<(String, Vec<f32>)>) -> Result<PrototypeVectors, VectorsError> {
        let dim = entries.first().map_or(0, |(_, v)| v.len());
        let mut index = HashMap::with_capacity(entries.len());
        for (i, (sentence, vector)) in entries.iter().enumerate() {
            if vector.len() != dim {
                return Err(VectorsError::Dimension {
                    sentence: sentence.clone(),
                    got: vector.len(),
                    dim,
                });
            }
            if index.insert(sentence.clone(), i).is_some() {
                return Err(VectorsError::Duplicate(sentence.clone()));
            }
        }
        Ok(PrototypeVectors {
            model: model.to_owned(),
            dim,
            entries,
            index,
        })
    }

    /// The table the router ships (`model/prototypes.bin`), read once.
    pub fn shipped() -> Result<&'static PrototypeVectors, VectorsError> {
        static SHIPPED: std::sync::OnceLock<Result<PrototypeVectors, VectorsError>> = std::sync::OnceLock::new();
        SHIPPED
            .get_or_init(|| PrototypeVectors::from_bytes(include_bytes!("../model/prototypes.bin")))
            .as_ref()
            .map_err(Clone::clone)
    }

    /// The model the vectors came from, as the file describes it.
    pub fn model(&self) -> &str {
        &self.model
    }

    /// The vectors' dimension (0 for an empty table).
    pub fn dim(&self) -> usize {
        self.dim
    }

    /// How many sentences the table holds.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether it holds none.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Every sentence with its vector, in the table's order.
    pub fn entries(&self) -> impl Iterator<Item = (&str, &[f32])> {
        self.entries.iter().map(|(s, v)| (s.as_str(), v.as_slice()))
    }

    /// The shipped vector of a sentence, if the table has it.
    pub fn get(&self, sentence: &str) -> Option<&[f32]> {
        self.index.get(sentence).map(|&i| self.entries[i].1.as_slice())
    }

    /// The sentence the host is asked to embed before the table is trusted, with its shipped
    /// vector: the first one (`None` for an empty table).
    pub fn probe(&self) -> Option<(&str, &[f32])> {
        self.entries.first().map(|(s, v)| (s.as_str(), v.as_slice()))
    }

    /// The file's bytes (see the module documentation).
    pub fn to_bytes(&self) -> Result<Vec<u8>, VectorsError> {
        let mut out = Vec::with_capacity(18 + self.model.len() + self.entries.len() * (64 + 4 * self.dim));
        out.extend_from_slice(MAGIC);
        let too_long = |what| VectorsError::TooLong { what };
        out.extend_from_slice(
            &u32::try_from(self.dim)
                .map_err(|_| too_long("the dimension"))?
                .to_le_bytes(),
        );
        out.extend_from_slice(
            &u32::try_from(self.entries.len())
                .map_err(|_| too_long("the sentence count"))?
                .to_le_bytes(),
        );
        out.extend_from_slice(
            &u16::try_from(self.model.len())
                .map_err(|_| too_long("the model description"))?
                .to_le_bytes(),
        );
        out.extend_from_slice(self.model.as_bytes());
        for (sentence, vector) in &self.entries {
            out.extend_from_slice(
                &u32::try_from(sentence.len())
                    .map_err(|_| too_long("a sentence"))?
                    .to_le_bytes(),
            );
            out.extend_from_slice(sentence.as_bytes());
            for x in vector {
                out.extend_from_slice(&x.to_le_bytes());
            }
        }
        Ok(out)
    }

    /// Reads a file written by [`PrototypeVectors::to_bytes`].
    pub fn from_bytes(bytes: &[u8]) -> Result<PrototypeVectors, VectorsError> {
        let mut r = Reader { bytes, at: 0 };
        if r.take(MAGIC.len(), "the magic")? != MAGIC {
            return Err(VectorsError::BadMagic);
        }
        let dim = r.u32("the dimension")? as usize;
        let n = r.u32("the sentence count")? as usize;
        let model_len = r.u16("the model description's length")? as usize;
        let model = r.text(model_len, "the model description")?;
        let mut entries = Vec::with_capacity(n.min(bytes.len() / 4));
        for _ in 0..n {
            let len = r.u32("a sentence's length")? as usize;
            let sentence = r.text(len, "a sentence")?;
            let raw = r.take(
                dim.checked_mul(4).ok_or(VectorsError::Truncated { what: "a vector" })?,
                "a vector",
            )?;
            let vector = raw
                .chunks_exact(4)
                .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
                .collect();
            entries.push((sentence, vector));
        }
        if r.at != bytes.len() {
            return Err(VectorsError::TrailingBytes(bytes.len() - r.at));
        }
        let mut table = PrototypeVectors::new(&model, entries)?;
        table.dim = dim;
        Ok(table)
    }
}

/// A cursor over a vector file.
struct Reader<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize, what: &'static str) -> Result<&'a [u8], VectorsError> {
        let end = self
            .at
            .checked_add(n)
            .filter(|&e| e <= self.bytes.len())
            .ok_or(VectorsError::Truncated { what })?;
        let slice = &self.bytes[self.at..end];
        self.at = end;
        Ok(slice)
    }

    fn u16(&mut self, what: &'static str) -> Result<u16, VectorsError> {
        let b = self.take(2, what)?;
        Ok(u16::from_le_bytes([b[0], b[1]]))
    }

    fn u32(&mut self, what: &'static str) -> Result<u32, VectorsError> {
        let b = self.take(4, what)?;
        Ok(u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
    }

    fn text(&mut self, n: usize, what: &'static str) -> Result<String, VectorsError> {
        let bytes = self.take(n, what)?;
        std::str::from_utf8(bytes)
            .map(str::to_owned)
            .map_err(|_| VectorsError::NotUtf8 { what })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn table() -> PrototypeVectors {
        PrototypeVectors::new(
            "test model",
            vec![
                ("Où est mon colis ?".to_owned(), vec![0.6, 0.8, 0.0]),
                ("返品したいです".to_owned(), vec![0.0, -1.0, 0.0]),
                ("I want my money back".to_owned(), vec![0.0, 0.0, 1.0]),
            ],
        )
        .unwrap()
    }

    #[test]
    fn a_table_survives_its_file() {
        let table = table();
        let bytes = table.to_bytes().unwrap();
        let read = PrototypeVectors::from_bytes(&bytes).unwrap();
        assert_eq!(read, table);
        assert_eq!(read.model(), "test model");
        assert_eq!(read.dim(), 3);
        assert_eq!(read.get("返品したいです"), Some(&[0.0, -1.0, 0.0][..]));
        assert_eq!(read.get("返品したい"), None);
        assert_eq!(read.probe().map(|(s, _)| s), Some("Où est mon colis ?"));
    }

    #[test]
    fn broken_files_say_what_is_wrong() {
        let bytes = table().to_bytes().unwrap();
        let cases: Vec<(Vec<u8>, VectorsError)> = vec![
            (b"WEFTRTR\x01rest".to_vec(), VectorsError::BadMagic),
            (
                bytes[..bytes.len() - 1].to_vec(),
                VectorsError::Truncated { what: "a vector" },
            ),
            ([&bytes[..], &[0u8, 0][..]].concat(), VectorsError::TrailingBytes(2)),
            (
                {
                    let mut b = bytes.clone();
                    // The first byte of the model description ("t") made invalid UTF-8.
                    b[18] = 0xff;
                    b
                },
                VectorsError::NotUtf8 {
                    what: "the model description",
                },
            ),
        ];
        for (bytes, expected) in cases {
            assert_eq!(PrototypeVectors::from_bytes(&bytes), Err(expected));
        }
    }

    #[test]
    fn tables_refuse_mixed_dimensions_and_repeated_sentences() {
        let mixed = PrototypeVectors::new("m", vec![("a".into(), vec![1.0, 0.0]), ("b".into(), vec![1.0])]);
        assert_eq!(
            mixed,
            Err(VectorsError::Dimension {
                sentence: "b".into(),
                got: 1,
                dim: 2
            })
        );
        let twice = PrototypeVectors::new("m", vec![("a".into(), vec![1.0]), ("a".into(), vec![0.0])]);
        assert_eq!(twice, Err(VectorsError::Duplicate("a".into())));
    }

    #[test]
    fn same_vector_allows_the_last_bits_only() {
        let v = [0.6f32, 0.8, 0.0];
        assert!(same_vector(&v, &[0.600_01, 0.799_99, 0.000_02]));
        assert!(!same_vector(&v, &[0.61, 0.79, 0.0]));
        assert!(!same_vector(&v, &[0.6, 0.8]));
    }
}
