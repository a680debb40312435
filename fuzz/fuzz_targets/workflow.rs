//! The workflow loader: any text is either a compiled workflow or diagnostics, each at a line
//! and column inside the text (or of the whole file), and nothing panics, hangs or grows
//! without bound (YAML aliases, nesting and size are bounded at load).

#![no_main]

use std::path::Path;
use std::sync::LazyLock;

use libfuzzer_sys::fuzz_target;
use weft::workflow::{Catalog, load_str};

static CATALOG: LazyLock<Catalog> = LazyLock::new(weft_fuzz::catalog);

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    // Lines as YAML counts them (and the diagnostics): LF, CRLF and a lone CR each end one.
    let lines = text.replace("\r\n", "\n").split(['\n', '\r']).count();
    match weft_fuzz::finish(load_str(Path::new("fuzz.yaml"), text, &CATALOG)) {
        Ok(workflows) => {
            assert_eq!(workflows.len(), 1, "one file, one workflow");
            // The engine's own rendering of what it will run.
            let _ = workflows[0].to_string();
        }
        Err(diagnostics) => {
            assert!(!diagnostics.is_empty(), "refused without a reason");
            for diagnostic in diagnostics.iter() {
                assert!(
                    diagnostic.line <= lines + 1 && (diagnostic.line == 0) == (diagnostic.column == 0),
                    "{diagnostic} is not a place in a text of {lines} lines"
                );
                assert!(!diagnostic.message.is_empty(), "{diagnostic} says nothing");
            }
        }
    }
});
