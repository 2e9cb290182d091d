//! Compiles arbitrary bytes as a one-file library: YAML loading, lowering, checking and graph
//! building. Must never panic or hang.
#![no_main]

use libfuzzer_sys::fuzz_target;
use riposte_dsl::compile::compile;
use riposte_dsl::syntax::{decode, Limits};
use riposte_dsl::{FileId, SourceMap};

fuzz_target!(|data: &[u8]| {
    let Ok(file) = decode("fuzz.yaml", data.to_vec(), FileId(0)) else { return };
    let mut sources = SourceMap::new();
    sources.add(file);
    let _ = compile(&sources, &Limits::default(), Vec::new());
});
