//! Corpus tests: `tests/corpus/valid/` must compile without diagnostics (as one library);
//! every entry of `tests/corpus/invalid/` (a file, or a directory compiled as one library) is
//! named after the code it must produce, and its rendered diagnostics are an insta snapshot.
//! A directory holding `workspaces.yaml` and `library/` is the library checked against those
//! workspaces, as `riposte check --workspaces` does.

use std::path::{Path, PathBuf};

use riposte_dsl::compile::compile;
use riposte_dsl::syntax::Limits;
use riposte_dsl::Code;

fn corpus() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/corpus")
}

/// Compiles paths and renders every diagnostic as a terminal would show it, without color.
fn check(paths: &[PathBuf]) -> (Vec<Code>, String) {
    check_against(paths, None)
}

/// [`check`], then the library against the workspaces of `workspaces` (a file).
fn check_against(paths: &[PathBuf], workspaces: Option<&Path>) -> (Vec<Code>, String) {
    let limits = Limits::default();
    let loaded =
        riposte_engine::load_library(paths, limits.max_file_bytes).expect("corpus is readable");
    let mut sources = loaded.sources;
    let mut c = compile(&sources, &limits, loaded.diagnostics);
    if let Some(path) = workspaces {
        let text = std::fs::read_to_string(path).expect("corpus workspaces");
        let file = sources.add(riposte_dsl::SourceFile::new(
            path.display().to_string(),
            text,
        ));
        let library = (!c.has_errors()).then_some(&c.library);
        let found = riposte_engine::workspace_fit::check_file(library, file, sources.get(file));
        c.diagnostics.extend(found.diagnostics);
        c.diagnostics
            .sort_by_key(|d| (d.file, d.span.start, d.code));
    }
    let text: String = c
        .diagnostics
        .iter()
        .map(|d| riposte::render::text(d, &sources, false))
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
    assert!(codes.is_empty(), "unexpected diagnostics:\n{text}");
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
        let workspaces = path.join("workspaces.yaml");
        let (codes, text) = if workspaces.is_file() {
            check_against(&[path.join("library")], Some(&workspaces))
        } else {
            check(std::slice::from_ref(&path))
        };
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

/// Damaged copies of the example library's files, compiled with the rest of the library: a
/// line deleted, repeated, moved or re-indented, or a token replaced. Whatever the damage, the
/// compiler never panics and every diagnostic points inside its file and renders.
#[test]
fn damaged_library_files_give_diagnostics_not_panics() {
    use riposte_dsl::{SourceFile, SourceMap};
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let limits = Limits::default();
    let loaded =
        riposte_engine::load_library(&[root.join("gamebooks"), root.join("sops")], 1 << 20)
            .expect("library");
    let files: Vec<(String, String)> = loaded
        .sources
        .iter()
        .map(|(_, f)| (f.name.clone(), f.text.clone()))
        .collect();
    // A linear congruential sequence from a fixed seed, so a failure reproduces.
    let mut seed = 42_u64;
    let mut pick = move |n: usize| {
        seed = seed
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        (seed >> 33) as usize % n.max(1)
    };
    const TOKENS: &[&str] = &[
        "",
        "-",
        ":",
        "[",
        "]",
        "{",
        "}",
        "'",
        "\"",
        "{{",
        "}}",
        "&a",
        "*a",
        "!!str",
        "|",
        ">",
        "\t",
        "needs: [",
        "steps.",
        "for_each:",
        "null",
        "1e9",
        "incident.",
        " and ",
        "(",
    ];
    let mut diagnostics = 0;
    for damaged in 0..files.len() {
        for _ in 0..12 {
            let mut lines: Vec<String> = files[damaged].1.lines().map(String::from).collect();
            let at = pick(lines.len());
            match pick(5) {
                0 => {
                    lines.remove(at);
                }
                1 => lines.insert(at, lines[at].clone()),
                2 => {
                    let line = lines.remove(at);
                    let to = pick(lines.len() + 1);
                    lines.insert(to, line);
                }
                3 => lines[at] = format!("  {}", lines[at]),
                _ => {
                    let line = &mut lines[at];
                    let mut cut = pick(line.len() + 1);
                    while !line.is_char_boundary(cut) {
                        cut -= 1;
                    }
                    line.insert_str(cut, TOKENS[pick(TOKENS.len())]);
                }
            }
            let mut sources = SourceMap::new();
            for (i, (name, text)) in files.iter().enumerate() {
                let text = if i == damaged {
                    lines.join("\n")
                } else {
                    text.clone()
                };
                sources.add(SourceFile::new(name.clone(), text));
            }
            let c = compile(&sources, &limits, Vec::new());
            for d in &c.diagnostics {
                let file = sources.get(d.file);
                assert!(
                    d.span.end as usize <= file.text.len(),
                    "{}: span {:?} is past the end of `{}`",
                    d.message,
                    d.span,
                    file.name
                );
                assert!(!riposte::render::text(d, &sources, false).is_empty());
                diagnostics += 1;
            }
        }
    }
    assert!(
        diagnostics > 100,
        "the damage gave only {diagnostics} diagnostics"
    );
}
