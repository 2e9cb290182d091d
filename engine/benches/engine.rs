//! Runtime benchmarks, each side by side with a peer in the same run.
//!
//! - `conditions/*`: five typical SOP predicates over the example incidents, evaluated by
//!   Riposte, by the `cel` crate (Google's Common Expression Language) on the same data, and by
//!   hand-written Rust over typed structs (the floor).
//! - `dry_run/*`: plans of the example incidents with the example library and workspaces,
//!   import excluded (incidents already converted) and included (JSON text to plan), and the
//!   two parts of import alone: reading the JSON (`import_only`) and building the `incident`
//!   record expressions see (`context_only`); beside them, `serde_json` parsing the same text
//!   into its generic value (`serde_json_parse_only`), the usual first step of an importer.
//!
//! Run: `cargo bench -p riposte-engine --bench engine`

use std::hint::black_box;

// The allocator the `riposte` binary uses.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;
use std::path::{Path, PathBuf};

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use riposte_dsl::compile::compile;
use riposte_dsl::expr::{self, Env, ExprSource, Scope};
use riposte_dsl::model;
use riposte_dsl::syntax::Limits;
use riposte_dsl::types::Type;
use riposte_dsl::value::Value;
use riposte_engine::executor::RecordingExecutor;
use riposte_engine::incident::{parse_incidents, Alert, Entity, ImportLimits, Incident};
use riposte_engine::plan::{default_now, incident_context, plan_with_context, simulate};
use riposte_engine::scheduler::RunConfig;
use riposte_engine::workspace::{read_workspaces, select};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// The example incidents: file text and imported incidents.
fn examples() -> (Vec<String>, Vec<Incident>) {
    let mut paths: Vec<PathBuf> = std::fs::read_dir(root().join("examples/incidents"))
        .expect("examples")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .collect();
    paths.sort();
    let texts: Vec<String> = paths
        .iter()
        .map(|p| std::fs::read_to_string(p).expect("readable"))
        .collect();
    let incidents = texts
        .iter()
        .flat_map(|t| {
            parse_incidents("bench.json", t, &ImportLimits::default())
                .expect("imports")
                .1
        })
        .collect();
    (texts, incidents)
}

/// Incident severity as hand-written Rust would type it.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Severity {
    Unknown,
    Informational,
    Low,
    Medium,
    High,
}

/// The same data as hand-written Rust holds it, for the floor: the engine's own typed structs
/// ([`Alert`], [`Entity`]), severity as an enum, texts as `String`, and the entities split by
/// kind as the `incident` record has them. Nothing of a predicate is computed ahead.
struct Floor {
    severity: Severity,
    status: String,
    alerts: Vec<Alert>,
    devices: Vec<Entity>,
    users: Vec<Entity>,
}

fn floor(i: &Incident) -> Floor {
    let of = |kind: &str| -> Vec<Entity> {
        i.entities
            .iter()
            .filter(|e| e.kind.as_str() == kind)
            .cloned()
            .collect()
    };
    Floor {
        severity: match i.severity.as_str() {
            "high" => Severity::High,
            "medium" => Severity::Medium,
            "low" => Severity::Low,
            "informational" => Severity::Informational,
            _ => Severity::Unknown,
        },
        status: i.status.clone(),
        alerts: i.alerts.clone(),
        devices: of("device"),
        users: of("user"),
    }
}

/// The same data as CEL sees it: plain maps and lists.
fn cel_json(i: &Incident) -> serde_json::Value {
    let of = |kind: &str| -> Vec<serde_json::Value> {
        i.entities
            .iter()
            .filter(|e| e.kind.as_str() == kind)
            .map(|e| serde_json::json!({"verdict": e.verdict, "name": e.name}))
            .collect()
    };
    serde_json::json!({
        "severity": i.severity,
        "status": i.status,
        "alerts": i.alerts.iter().map(|a| serde_json::json!({"category": a.category.clone().unwrap_or_default()})).collect::<Vec<_>>(),
        "devices": of("device"),
        "users": of("user"),
    })
}

type FloorFn = fn(&Floor) -> bool;

const PREDICATES: &[(&str, &str, &str, FloorFn)] = &[
    (
        "severity_high",
        "incident.severity == high",
        "incident.severity == 'high'",
        |f| f.severity == Severity::High,
    ),
    (
        "high_or_medium_not_resolved",
        "incident.severity in [high, medium] and incident.status != 'resolved'",
        "incident.severity in ['high', 'medium'] && incident.status != 'resolved'",
        |f| f.severity >= Severity::Medium && f.status != "resolved",
    ),
    (
        "alert_category",
        // Categories as the importer writes them (`InitialAccess` → `initial_access`).
        "any(incident.alerts, a => a.category in ['malware', 'ransomware', 'initial_access'])",
        "incident.alerts.exists(a, a.category in ['malware', 'ransomware', 'initial_access'])",
        |f| {
            f.alerts.iter().any(|a| {
                matches!(
                    a.category.as_deref(),
                    Some("malware" | "ransomware" | "initial_access")
                )
            })
        },
    ),
    (
        "device_verdict",
        "any(incident.devices, d => d.verdict in ['malicious', 'suspicious'])",
        "incident.devices.exists(d, d.verdict in ['malicious', 'suspicious'])",
        |f| {
            f.devices
                .iter()
                .any(|d| d.verdict == "malicious" || d.verdict == "suspicious")
        },
    ),
    (
        "user_and_high",
        "count(incident.users) >= 1 and incident.severity == high",
        "size(incident.users) >= 1 && incident.severity == 'high'",
        |f| !f.users.is_empty() && f.severity == Severity::High,
    ),
];

fn bench_conditions(c: &mut Criterion) {
    let (_, incidents) = examples();
    let values: Vec<Value> = incidents.iter().map(Incident::to_value).collect();
    let floors: Vec<Floor> = incidents.iter().map(floor).collect();
    let cel_contexts: Vec<cel::Context> = incidents
        .iter()
        .map(|i| {
            let mut ctx = cel::Context::default();
            ctx.add_variable("incident", cel_json(i))
                .expect("serializable");
            ctx
        })
        .collect();
    let scope = Scope::new().with("incident", Type::Record(model::incident()));
    let mut group = c.benchmark_group("conditions");
    group.throughput(Throughput::Elements(incidents.len() as u64));
    for (name, riposte_src, cel_src, floor_fn) in PREDICATES {
        let compiled = expr::compile(ExprSource::detached(riposte_src), &scope, Some(&Type::Bool))
            .expect("compiles");
        let program = cel::Program::compile(cel_src).expect("cel compiles");
        // The three agree on every incident, or the comparison is meaningless.
        let mut held = 0;
        for ((v, ctx), f) in values.iter().zip(&cel_contexts).zip(&floors) {
            let vars = [v.clone()];
            let ours = compiled.eval_bool(&Env {
                vars: &vars,
                now_ms: 0,
            });
            let theirs = matches!(program.execute(ctx), Ok(cel::Value::Bool(true)));
            assert_eq!(ours, theirs, "{name}: riposte and cel disagree");
            assert_eq!(ours, floor_fn(f), "{name}: riposte and the floor disagree");
            held += usize::from(ours);
        }
        // How often it holds decides how far `any` scans; say so beside the figures.
        eprintln!("{name}: holds for {held} of {} incidents", values.len());
        group.bench_function(format!("{name}/riposte"), |b| {
            b.iter(|| {
                let mut n = 0;
                for v in &values {
                    let vars = std::slice::from_ref(v);
                    n += usize::from(compiled.eval_bool(&Env { vars, now_ms: 0 }));
                }
                black_box(n)
            })
        });
        group.bench_function(format!("{name}/cel"), |b| {
            b.iter(|| {
                let mut n = 0;
                for ctx in &cel_contexts {
                    n += usize::from(matches!(program.execute(ctx), Ok(cel::Value::Bool(true))));
                }
                black_box(n)
            })
        });
        group.bench_function(format!("{name}/rust_floor"), |b| {
            b.iter(|| {
                let mut n = 0;
                for f in &floors {
                    n += usize::from(floor_fn(black_box(f)));
                }
                black_box(n)
            })
        });
    }
    group.finish();
}

fn bench_dry_run(c: &mut Criterion) {
    let limits = Limits::default();
    let loaded = riposte_engine::load_library(
        &[root().join("gamebooks"), root().join("sops")],
        limits.max_file_bytes,
    )
    .expect("library");
    let compiled = compile(&loaded.sources, &limits, loaded.diagnostics);
    assert!(!compiled.has_errors());
    let library = compiled.library;
    let workspaces = read_workspaces(&root().join("examples/workspaces.yaml")).expect("workspaces");
    let (texts, incidents) = examples();
    let contexts: Vec<_> = incidents.iter().map(incident_context).collect();
    let executor = RecordingExecutor::default();
    let configs: Vec<RunConfig> = incidents
        .iter()
        .map(|i| RunConfig {
            now_ms: default_now(i),
            ..RunConfig::default()
        })
        .collect();
    let mut group = c.benchmark_group("dry_run");
    group.throughput(Throughput::Elements(incidents.len() as u64));
    group.bench_function("plan/import_excluded", |b| {
        b.iter(|| {
            let mut actions = 0;
            for ((i, ctx), config) in incidents.iter().zip(&contexts).zip(&configs) {
                let ws = select(&workspaces, None, i.workspace.as_deref()).expect("workspace");
                actions += plan_with_context(&library, ws, i, ctx, config, &executor)
                    .actions
                    .len();
            }
            black_box(actions)
        })
    });
    group.bench_function("import_only", |b| {
        b.iter(|| {
            let mut n = 0;
            for text in &texts {
                let (_, list) =
                    parse_incidents("bench.json", text, &ImportLimits::default()).expect("imports");
                n += list.len();
            }
            black_box(n)
        })
    });
    // The peer of `import_only`: `serde_json` merely parsing the same text into its
    // generic value, which is what most importers start from.
    group.bench_function("serde_json_parse_only", |b| {
        b.iter(|| {
            let mut n = 0;
            for text in &texts {
                let doc: serde_json::Value = serde_json::from_str(text).expect("parses");
                n += usize::from(doc.is_object());
            }
            black_box(n)
        })
    });
    group.bench_function("context_only", |b| {
        b.iter(|| {
            let mut n = 0;
            for i in &incidents {
                n += incident_context(i).id.len();
            }
            black_box(n)
        })
    });
    group.bench_function("plan/import_included", |b| {
        b.iter(|| {
            let mut actions = 0;
            for text in &texts {
                let (_, list) =
                    parse_incidents("bench.json", text, &ImportLimits::default()).expect("imports");
                for i in &list {
                    let ws = select(&workspaces, None, i.workspace.as_deref()).expect("workspace");
                    let config = RunConfig {
                        now_ms: default_now(i),
                        ..RunConfig::default()
                    };
                    actions += simulate(&library, ws, i, &config, &executor).actions.len();
                }
            }
            black_box(actions)
        })
    });
    group.finish();
}

criterion_group!(benches, bench_conditions, bench_dry_run);
criterion_main!(benches);
