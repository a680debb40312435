//! Every glue host of the SDK (the types in `src/wit/` that implement [`weft_sdk::Host`] and
//! [`weft_sdk::Context`] over the WIT imports) defines every method of those traits itself.
//!
//! The traits give some capabilities a default (`submit_mail` refuses, `cache_get` misses) so
//! that hosts written for tests need not spell them out. A glue host that relied on one would
//! silently refuse what the engine grants: a merge once left the channels' host without
//! `submit_mail` that way. The glue only runs inside a WASM guest, so this test reads its source
//! (parsed with `syn`) instead of calling it.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

fn sdk_source(path: &str) -> syn::File {
    let file = Path::new(env!("CARGO_MANIFEST_DIR")).join(path);
    let text = std::fs::read_to_string(&file).unwrap_or_else(|e| panic!("{}: {e}", file.display()));
    syn::parse_file(&text).unwrap_or_else(|e| panic!("{}: {e}", file.display()))
}

/// The methods of trait `name` in `src/plugin.rs`.
fn trait_methods(name: &str) -> BTreeSet<String> {
    let file = sdk_source("src/plugin.rs");
    let methods: BTreeSet<String> = file
        .items
        .iter()
        .find_map(|item| match item {
            syn::Item::Trait(t) if t.ident == name => Some(t),
            _ => None,
        })
        .unwrap_or_else(|| panic!("no trait {name} in src/plugin.rs"))
        .items
        .iter()
        .filter_map(|item| match item {
            syn::TraitItem::Fn(f) => Some(f.sig.ident.to_string()),
            _ => None,
        })
        .collect();
    assert!(!methods.is_empty(), "trait {name} has no methods");
    methods
}

/// Each `impl TRAIT for TYPE` in `file` whose trait is named `name`: (type, methods defined).
fn impls_of(file: &syn::File, name: &str) -> Vec<(String, BTreeSet<String>)> {
    file.items
        .iter()
        .filter_map(|item| match item {
            syn::Item::Impl(i) => Some(i),
            _ => None,
        })
        .filter(|i| {
            i.trait_
                .as_ref()
                .and_then(|(_, path, _)| path.segments.last())
                .is_some_and(|last| last.ident == name)
        })
        .map(|i| {
            let ty = match &*i.self_ty {
                syn::Type::Path(p) => p.path.segments.last().unwrap().ident.to_string(),
                other => format!("{other:?}"),
            };
            let methods = i
                .items
                .iter()
                .filter_map(|item| match item {
                    syn::ImplItem::Fn(f) => Some(f.sig.ident.to_string()),
                    _ => None,
                })
                .collect();
            (ty, methods)
        })
        .collect()
}

fn glue_files() -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("src/wit");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "rs"))
        .collect();
    files.sort();
    files
}

#[test]
fn every_glue_host_defines_every_capability() {
    // (trait, the glue types that must implement it)
    let expected = [
        ("Host", vec!["ChannelHost", "GuestContext", "GuestHost"]),
        ("Context", vec!["GuestContext"]),
    ];
    let mut problems = Vec::new();
    for (name, types) in expected {
        let wanted = trait_methods(name);
        let mut seen = Vec::new();
        for path in glue_files() {
            let relative = path
                .strip_prefix(env!("CARGO_MANIFEST_DIR"))
                .unwrap()
                .display()
                .to_string();
            for (ty, defined) in impls_of(&sdk_source(&relative), name) {
                let missing: Vec<&String> = wanted.difference(&defined).collect();
                if !missing.is_empty() {
                    problems.push(format!(
                        "{relative}: `impl {name} for {ty}` leaves {missing:?} to the trait's default"
                    ));
                }
                seen.push(ty);
            }
        }
        seen.sort();
        // A glue type renamed or moved must be named here again, or it would go unchecked.
        assert_eq!(seen, types, "the glue implementations of {name}");
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}
