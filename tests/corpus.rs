//! Corpus tests: `tests/corpus/valid/` must compile without diagnostics (as one library);
//! every entry of `tests/corpus/invalid/` (a file, or a directory compiled as one library) is
//! named after the code it must produce, and its rendered diagnostics are an insta snapshot.

use std::path::{Path, PathBuf};

use riposte_dsl::compile::compile;
use riposte_dsl::syntax::Limits;
use riposte_dsl::Code;

fn corpus() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/corpus")
}

/// Compiles paths and renders every diagnostic as a terminal would show it, without color.
fn check(paths: &[PathBuf]) -> (Vec<Code>, String) {
    let limits = Limits::default();
    let loaded =
        riposte_engine::load_library(paths, limits.max_file_bytes).expect("corpus is readable");
    let c = compile(&loaded.sources, &limits, loaded.diagnostics);
    let text: String = c
        .diagnostics
        .iter()
        .map(|d| riposte::render::text(d, &loaded.sources, false))
        .collect();
    // Paths are machine-specific; keep the snapshot relative to the corpus.
    let root = format!("{}/", corpus().display());
    (
        c.diagnostics.iter().map(|d| d.code).collect(),
        text.replace(&root, ""),
    )
}

#[test]
fn valid_corpus_has_no_diagnostics() {
    let (codes, text) = check(&[corpus().join("valid")]);
    assert!(codes.is_empty(), "unexpected diagnostics:\n{text}");
}

#[test]
fn example_library_has_no_errors() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let (codes, text) = check(&[root.join("gamebooks"), root.join("sops")]);
    // The only warning the library shows on purpose: password reset needs a signed-in user.
    let unexpected: Vec<&Code> = codes
        .iter()
        .filter(|c| **c != Code::DelegatedOnly)
        .collect();
    assert!(unexpected.is_empty(), "unexpected diagnostics:\n{text}");
}

#[test]
fn invalid_corpus_matches_snapshots() {
    let mut entries: Vec<PathBuf> = std::fs::read_dir(corpus().join("invalid"))
        .expect("tests/corpus/invalid exists")
        .map(|e| e.expect("readable entry").path())
        .collect();
    entries.sort();
    let mut covered = Vec::new();
    for path in entries {
        let name = path
            .file_stem()
            .and_then(|s| s.to_str())
            .expect("utf-8 name")
            .to_string();
        let code = &name[..6];
        let (codes, text) = check(std::slice::from_ref(&path));
        assert!(
            codes.iter().any(|c| c.as_str() == code),
            "{name}: expected a {code} diagnostic, got {codes:?}:\n{text}"
        );
        covered.push(code.to_string());
        insta::assert_snapshot!(name, text);
    }
    // Every code has a corpus entry, except those that need inputs too big to check in
    // (tested in riposte-dsl and riposte-engine unit tests).
    let exempt = [Code::FileTooLarge];
    for code in Code::ALL {
        if !exempt.contains(code) {
            assert!(
                covered.iter().any(|c| c == code.as_str()),
                "no corpus file for {code}: add tests/corpus/invalid/{code}-….yaml"
            );
        }
    }
}
