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
        let value = serde_json::to_value(&plan).expect("plan serializes");
        assert_fits_plan_schema(&value, &path.display().to_string());
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

/// `json` (one plan) is what docs/schema/plan.schema.json describes.
fn assert_fits_plan_schema(plan: &serde_json::Value, what: &str) {
    static VALIDATOR: std::sync::OnceLock<jsonschema::Validator> = std::sync::OnceLock::new();
    let validator = VALIDATOR.get_or_init(|| {
        let text = std::fs::read_to_string(root().join("docs/schema/plan.schema.json"))
            .expect("the plan schema");
        let schema: serde_json::Value = serde_json::from_str(&text).expect("schema is JSON");
        jsonschema::draft7::new(&schema).expect("the schema compiles")
    });
    let errors: Vec<String> = validator
        .iter_errors(plan)
        .map(|e| format!("{} at {}", e, e.instance_path()))
        .collect();
    assert!(errors.is_empty(), "{what}: {errors:#?}");
}

/// The schema holds plans to the documented format: a status, a key or a would-run action
/// without its execution that the format does not have is refused.
#[test]
fn the_plan_schema_refuses_what_the_format_does_not_have() {
    let library = library();
    let path = root().join("examples/incidents/ransomware-two-devices.json");
    let (_, json) = plans(&library, &path);
    let plan: serde_json::Value = serde_json::from_str(&json).unwrap();
    let text = std::fs::read_to_string(root().join("docs/schema/plan.schema.json")).unwrap();
    let validator =
        jsonschema::draft7::new(&serde_json::from_str::<serde_json::Value>(&text).unwrap())
            .unwrap();
    assert!(validator.is_valid(&plan));
    let would_run = plan["actions"]
        .as_array()
        .unwrap()
        .iter()
        .position(|a| a["status"] == "would_run")
        .unwrap();
    for (pointer, bad) in [
        ("/actions/0/status", serde_json::json!("maybe")),
        ("/actions/0/key", serde_json::json!("not-a-key")),
        ("/eligibility/0/check", serde_json::json!("vibes")),
        ("/summary/would_run", serde_json::json!(-1)),
    ] {
        let mut broken = plan.clone();
        *broken.pointer_mut(pointer).unwrap() = bad;
        assert!(!validator.is_valid(&broken), "{pointer}");
    }
    let mut broken = plan.clone();
    broken["actions"][would_run]
        .as_object_mut()
        .unwrap()
        .remove("execution");
    assert!(!validator.is_valid(&broken));
    // Several plans are an array of them.
    assert!(validator.is_valid(&serde_json::json!([plan.clone(), plan])));
}

/// Plans with refused approvals (`--reject`, `--time-out`) have `rejected` actions, and fit
/// the schema.
#[test]
fn plans_with_refused_approvals_fit_the_schema() {
    use riposte_engine::scheduler::{Approvals, Refusals};
    let library = library();
    let path = root().join("examples/incidents/compromised-user-impossible-travel.json");
    let (_, incidents) = read_incidents(&path, &ImportLimits::default()).expect("imports");
    let workspace = riposte_engine::workspace::Workspace::demo_for(&library.sops);
    for (rejected, timed_out) in [
        (vec!["disable".to_string()], vec![]),
        (vec![], vec!["disable".to_string()]),
    ] {
        let config = RunConfig {
            now_ms: default_now(&incidents[0]),
            refusals: Refusals::from_words(&rejected, &timed_out, &Approvals::All, &library)
                .expect("valid"),
            approvals: Approvals::All,
            ..RunConfig::default()
        };
        let plan = simulate(
            &library,
            &workspace,
            &incidents[0],
            &config,
            &RecordingExecutor::default(),
        );
        let value = serde_json::to_value(&plan).expect("plan serializes");
        assert_fits_plan_schema(&value, "refused");
        assert_eq!(value["summary"]["rejected"], 1, "{value:#}");
        let disable = value["actions"]
            .as_array()
            .expect("actions")
            .iter()
            .find(|a| a["step"] == "per_user.disable")
            .expect("the disable row");
        assert_eq!(disable["status"], "rejected");
    }
}

/// A plan with scripted failures fits the schema too, and counts them.
#[test]
fn plans_with_failures_fit_the_schema() {
    let library = library();
    let path = root().join("examples/incidents/malicious-indicators-only.json");
    let (_, incidents) = read_incidents(&path, &ImportLimits::default()).expect("imports");
    let workspace = riposte_engine::workspace::Workspace::demo_for(&library.sops);
    let config = RunConfig {
        now_ms: default_now(&incidents[0]),
        ..RunConfig::default()
    };
    let executor = RecordingExecutor {
        failures: vec![riposte_engine::executor::ScriptedFailure {
            step: Some("block_urls".into()),
            error: "quota exceeded".into(),
            ..Default::default()
        }],
    };
    let plan = simulate(&library, &workspace, &incidents[0], &config, &executor);
    let value = serde_json::to_value(&plan).expect("plan serializes");
    assert_fits_plan_schema(&value, "failed");
    assert_eq!(value["summary"]["failed"], 2, "{value:#}");
}
