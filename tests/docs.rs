//! The documentation is tested: every complete document in `docs/language.md` compiles together
//! with the example library (`gamebooks/`, `sops/`), the README's tour compiles in place of the
//! files it abridges, and `docs/diagnostics.md` has a section for every diagnostic code of the
//! registry.
//!
//! Conventions of `docs/language.md`: a ```` ```yaml ```` block is a complete document and starts
//! with `kind:`; fragments are marked ```` ```yaml-fragment ```` (or any other tag) and skipped.

use std::path::{Path, PathBuf};

use riposte_dsl::compile::compile;
use riposte_dsl::syntax::Limits;
use riposte_dsl::{Code, SourceFile};

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn read(relative: &str) -> String {
    std::fs::read_to_string(root().join(relative))
        .unwrap_or_else(|e| panic!("cannot read {relative}: {e}"))
}

/// A fenced code block of a Markdown file.
struct Block {
    /// The info string after the opening fence (`yaml`, `yaml-fragment`, `text`, …).
    info: String,
    /// 1-based line of the opening fence.
    line: usize,
    text: String,
}

/// Every block fenced by ```` ``` ```` lines at the start of a line.
fn fenced_blocks(markdown: &str) -> Vec<Block> {
    let mut blocks = Vec::new();
    let mut open: Option<Block> = None;
    for (i, line) in markdown.lines().enumerate() {
        match open.as_mut() {
            None => {
                if let Some(info) = line.strip_prefix("```") {
                    open = Some(Block {
                        info: info.trim().to_string(),
                        line: i + 1,
                        text: String::new(),
                    });
                }
            }
            Some(block) => {
                if line.trim_end() == "```" {
                    blocks.extend(open.take());
                } else {
                    block.text.push_str(line);
                    block.text.push('\n');
                }
            }
        }
    }
    if let Some(block) = open {
        panic!(
            "the code block opened at line {} is never closed",
            block.line
        );
    }
    blocks
}

#[test]
fn language_examples_compile_with_the_library() {
    let markdown = read("docs/language.md");
    let limits = Limits::default();
    let library: [PathBuf; 2] = [root().join("gamebooks"), root().join("sops")];
    let loaded = riposte_engine::load_library(&library, limits.max_file_bytes)
        .expect("the example library is readable");
    let mut compiled = 0;
    let mut failures = Vec::new();
    for block in fenced_blocks(&markdown)
        .into_iter()
        .filter(|b| b.info == "yaml")
    {
        if !block.text.starts_with("kind:") {
            failures.push(format!(
                "docs/language.md line {}: a ```yaml block is a complete document starting with \
                 `kind:`; mark fragments ```yaml-fragment",
                block.line
            ));
            continue;
        }
        compiled += 1;
        let mut sources = loaded.sources.clone();
        sources.add(SourceFile::new(
            format!("docs/language.md#block-{compiled}"),
            block.text,
        ));
        let c = compile(&sources, &limits, loaded.diagnostics.clone());
        let unexpected: Vec<_> = c.diagnostics.iter().collect();
        if !unexpected.is_empty() {
            let rendered: String = unexpected
                .iter()
                .map(|d| riposte::render::text(d, &sources, false))
                .collect();
            failures.push(format!(
                "block-{compiled} (docs/language.md line {}):\n{rendered}",
                block.line
            ));
        }
    }
    assert!(compiled > 0, "docs/language.md has no ```yaml document");
    assert!(
        failures.is_empty(),
        "examples of docs/language.md that do not compile:\n{}",
        failures.join("\n")
    );
}

#[test]
fn readme_tour_compiles_in_place_of_the_files_it_abridges() {
    // The tour's gamebook and SOP stand in for the library files they abridge.
    let tour: Vec<Block> = fenced_blocks(&read("README.md"))
        .into_iter()
        .filter(|b| b.info == "yaml" && b.text.starts_with("kind:"))
        .collect();
    let replaced = [
        "gamebooks/contain-compromised-device.yaml",
        "sops/ransomware-containment.yaml",
    ];
    assert_eq!(
        tour.len(),
        replaced.len(),
        "the README's tour has a gamebook and a SOP"
    );
    let mut files: Vec<PathBuf> = Vec::new();
    for dir in ["gamebooks", "sops"] {
        for entry in std::fs::read_dir(root().join(dir)).expect("library directory") {
            let path = entry.expect("entry").path();
            let name = path.to_string_lossy();
            let library_file = name.ends_with(".yaml") && !name.ends_with(".test.yaml");
            if library_file && !replaced.iter().any(|r| name.ends_with(r)) {
                files.push(path);
            }
        }
    }
    let limits = Limits::default();
    let loaded = riposte_engine::load_library(&files, limits.max_file_bytes).expect("readable");
    let mut sources = loaded.sources.clone();
    for (block, file) in tour.iter().zip(replaced) {
        sources.add(SourceFile::new(
            format!("README.md ({file})"),
            block.text.clone(),
        ));
    }
    let c = compile(&sources, &limits, loaded.diagnostics);
    let errors: String = c
        .diagnostics
        .iter()
        .filter(|d| d.is_error())
        .map(|d| riposte::render::text(d, &sources, false))
        .collect();
    assert!(
        errors.is_empty(),
        "the README's tour does not compile:\n{errors}"
    );
}

#[test]
fn diagnostics_reference_covers_every_code() {
    let markdown = read("docs/diagnostics.md");
    let documented: Vec<&str> = markdown
        .lines()
        .filter_map(|l| l.strip_prefix("## "))
        .filter(|h| h.starts_with("RP"))
        .map(|h| h.split_whitespace().next().unwrap_or(h))
        .collect();
    for code in Code::ALL {
        assert!(
            documented.contains(&code.as_str()),
            "docs/diagnostics.md has no section `## {code} — {}`",
            code.summary()
        );
        // And a row in the table of codes at the top, which links to it.
        let severity = format!("{:?}", code.severity()).to_lowercase();
        let row = format!("| {severity} | {} |", code.summary());
        assert!(
            markdown
                .lines()
                .any(|l| l.starts_with(&format!("| [{code}](#")) && l.ends_with(&row)),
            "docs/diagnostics.md's table has no row `| [{code}](#…) {row}`"
        );
    }
    for heading in &documented {
        assert!(
            Code::ALL.iter().any(|c| c.as_str() == *heading),
            "docs/diagnostics.md documents `{heading}`, which is not in the registry (dsl/src/codes.rs)"
        );
    }
}

#[test]
fn workspaces_reference_example_is_a_valid_workspaces_file() {
    let markdown = read("docs/workspaces.md");
    let blocks: Vec<Block> = fenced_blocks(&markdown)
        .into_iter()
        .filter(|b| b.info == "yaml")
        .collect();
    assert_eq!(
        blocks.len(),
        1,
        "docs/workspaces.md has one ```yaml example"
    );
    let workspaces =
        riposte_engine::workspace::parse_workspaces("docs/workspaces.md", &blocks[0].text)
            .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(workspaces.len(), 2);
}

/// The diagnostics shown in `docs/diagnostics.md` are what `riposte check` prints for the
/// corpus entry they name (`invalid/RPxxxx-….yaml`), as its snapshot holds: each shown block is
/// a run of the snapshot's lines, where a line ending in `…` may stand for a longer one.
#[test]
fn diagnostics_reference_shows_real_output() {
    let markdown = read("docs/diagnostics.md");
    let mut checked = 0;
    for block in fenced_blocks(&markdown).iter().filter(|b| b.info == "text") {
        let Some(entry) = block
            .text
            .split("╭─[invalid/")
            .nth(1)
            .and_then(|rest| rest.split([':', ']']).next())
        else {
            continue;
        };
        let name = entry.trim_end_matches(".yaml").trim_end_matches('/');
        let name = name.split('/').next().unwrap_or(name);
        let snapshot = read(&format!("tests/snapshots/corpus__{name}.snap"));
        let body: Vec<&str> = snapshot
            .splitn(3, "---\n")
            .nth(2)
            .unwrap_or("")
            .lines()
            .collect();
        let shown: Vec<&str> = block.text.lines().collect();
        let same = |doc: &str, real: &str| {
            doc == real || doc.strip_suffix('…').is_some_and(|p| real.starts_with(p))
        };
        let found = body
            .windows(shown.len())
            .any(|w| w.iter().zip(&shown).all(|(real, doc)| same(doc, real)));
        assert!(
            found,
            "docs/diagnostics.md:{}: the output shown for `{name}` is not what `riposte check` prints (tests/snapshots/corpus__{name}.snap)",
            block.line
        );
        checked += 1;
    }
    assert!(checked > 30, "only {checked} outputs found");
}

/// The command synopses of the README and `docs/testing.md` show how options are repeated as
/// the CLI reads them: an option takes one value per flag (`[--library DIR]...`) or a
/// comma-separated list (`STEP[,STEP...]`), never several words after one flag
/// (`[--library DIR...]`, which reads the second word as an argument of its own).
#[test]
fn synopses_repeat_options_as_the_cli_reads_them() {
    for file in ["README.md", "docs/testing.md"] {
        for (i, line) in read(file).lines().enumerate() {
            if !line.contains("riposte ") {
                continue;
            }
            for option in line.split("[--").skip(1) {
                let Some(end) = option.find(']') else {
                    continue;
                };
                let shown = &option[..end];
                let (name, value) = shown.split_once(' ').unwrap_or((shown, ""));
                assert!(
                    !value.ends_with("...") || value.contains('['),
                    "{file}:{}: `[--{name} {value}]` reads as several words after one `--{name}`; write `[--{name} X]...` (repeated) or `X[,X...]` (comma-separated)",
                    i + 1
                );
            }
        }
    }
}
