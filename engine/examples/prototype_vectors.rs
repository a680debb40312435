//! Writes the prototype vectors the router ships (`plugins/router/model/prototypes.bin`, see
//! `weft_plugin_router::vectors`): every sentence of `plugins/router/data/prototypes.csv` run
//! through the embedding model on its own (no padding), described by the SHA-256 of the
//! model's files.
//!
//! ```text
//! cargo run -p weft --release --example prototype_vectors -- target/models plugins/router/model/prototypes.bin
//! ```
//!
//! then `cargo xtask plugins` to rebuild the router with them. The test
//! `shipped_prototype_vectors_are_the_models` (`engine/tests/router_eval.rs`) says when this is
//! due: after `prototypes.csv` changes, or with another model.

use anyhow::{Context, bail};
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
use std::path::PathBuf;
use weft::runtime::{Embedder, MODEL_FOLDER};
use weft_plugin_router::{PrototypeVectors, Prototypes};

/// The model's files, in the order their digests are written.
const MODEL_FILES: [&str; 3] = ["model.safetensors", "tokenizer.json", "config.json"];

fn main() -> anyhow::Result<()> {
    let args: Vec<PathBuf> = std::env::args_os().skip(1).map(PathBuf::from).collect();
    let [models, out] = args.as_slice() else {
        bail!("usage: prototype_vectors <models folder> <out file>");
    };
    let folder = models.join(MODEL_FOLDER);
    let mut description = MODEL_FOLDER.to_owned();
    for file in MODEL_FILES {
        let path = folder.join(file);
        let bytes = std::fs::read(&path).with_context(|| format!("cannot read {}", path.display()))?;
        description.push_str(&format!("; {file} sha256 {}", hex::encode(Sha256::digest(&bytes))));
    }
    let embedder = Embedder::load(&folder).with_context(|| format!("cannot load the model in {}", folder.display()))?;
    let prototypes = Prototypes::new(&BTreeMap::new()).map_err(|problems| {
        let problems: Vec<String> = problems.iter().map(ToString::to_string).collect();
        anyhow::anyhow!("the shipped prototypes are broken: {}", problems.join("; "))
    })?;
    let mut entries = Vec::with_capacity(prototypes.len());
    for sentence in prototypes.sentences() {
        let vector = embedder
            .embed(&[sentence.to_owned()])
            .map_err(|e| anyhow::anyhow!("cannot embed {sentence:?}: {e}"))?
            .pop()
            .with_context(|| format!("no vector for {sentence:?}"))?;
        entries.push((sentence.to_owned(), vector));
    }
    let table = PrototypeVectors::new(&description, entries)?;
    let bytes = table.to_bytes()?;
    std::fs::write(out, &bytes).with_context(|| format!("cannot write {}", out.display()))?;
    println!(
        "wrote {} vectors of {} components ({} bytes) to {}\nmodel: {description}",
        table.len(),
        table.dim(),
        bytes.len(),
        out.display()
    );
    Ok(())
}
