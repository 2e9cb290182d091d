//! Compile-time benchmarks.
//!
//! - `library/1000_gamebooks`: compile 1,000 gamebook files generated from the example library
//!   (each example renamed `-N`), side by side with the YAML parse alone (serde-saphyr into
//!   `serde_json::Value`, the floor any YAML-based tool pays).
//! - `expression/parse_check`: parse + type-check one typical condition, side by side with the
//!   `cel` crate parsing the same predicate.
//!
//! Run: `cargo bench -p riposte-dsl --bench compile`

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use riposte_dsl::compile::compile;
use riposte_dsl::expr::{self, ExprSource, Scope};
use riposte_dsl::syntax::Limits;
use riposte_dsl::types::Type;
use riposte_dsl::{model, FileId, SourceFile, SourceMap};

/// The example gamebooks, embedded so the benchmark needs no working directory.
fn examples() -> Vec<String> {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../gamebooks");
    let mut paths: Vec<_> = std::fs::read_dir(dir)
        .expect("gamebooks/ exists")
        .map(|e| e.expect("entry").path())
        .filter(|p| {
            p.extension().is_some_and(|e| e == "yaml")
                && !p.to_string_lossy().ends_with(".test.yaml")
        })
        .collect();
    paths.sort();
    paths
        .iter()
        .map(|p| std::fs::read_to_string(p).expect("readable"))
        .collect()
}

/// `n` gamebook files: copies of the examples with unique names (calls keep their targets,
/// which stay in the set as the unrenamed first copies).
fn generated(n: usize) -> Vec<(String, String)> {
    let examples = examples();
    (0..n)
        .map(|i| {
            let text = &examples[i % examples.len()];
            let copy = i / examples.len();
            let text = if copy == 0 {
                text.clone()
            } else {
                text.lines()
                    .map(|l| match l.strip_prefix("name: ") {
                        Some(name) => format!("name: {name}-{copy}"),
                        None => l.to_string(),
                    })
                    .collect::<Vec<_>>()
                    .join("\n")
            };
            (format!("gb{i}.yaml"), text)
        })
        .collect()
}

fn bench_library(c: &mut Criterion) {
    let files = generated(1000);
    let mut sources = SourceMap::new();
    for (name, text) in &files {
        sources.add(SourceFile::new(name.clone(), text.clone()));
    }
    // The generated library must compile cleanly, or the benchmark measures error paths.
    let check = compile(&sources, &Limits::default(), Vec::new());
    assert!(
        !check.has_errors(),
        "{:?}",
        check.diagnostics.iter().find(|d| d.is_error())
    );
    assert_eq!(check.library.gamebooks.len(), 1000);

    let mut group = c.benchmark_group("library");
    group.throughput(Throughput::Elements(files.len() as u64));
    group.sample_size(20);
    group.bench_function(BenchmarkId::new("riposte_compile", "1000_gamebooks"), |b| {
        b.iter(|| compile(black_box(&sources), &Limits::default(), Vec::new()))
    });
    group.bench_function(BenchmarkId::new("yaml_parse_only", "1000_gamebooks"), |b| {
        b.iter(|| {
            for (_, text) in &files {
                let v: serde_json::Value =
                    serde_saphyr::from_str(black_box(text)).expect("valid YAML");
                black_box(v);
            }
        })
    });
    group.finish();
}

const PREDICATE: &str = "incident.severity >= medium and incident.status != 'resolved' and any(incident.alerts, a => a.category in ['malware', 'ransomware', 'initial_access'])";
const CEL_PREDICATE: &str = "incident.severity >= 2 && incident.status != 'resolved' && incident.alerts.exists(a, a.category in ['malware', 'ransomware', 'initial_access'])";

fn bench_expression(c: &mut Criterion) {
    let scope = Scope::new().with("incident", Type::Record(model::incident()));
    let mut group = c.benchmark_group("expression");
    group.bench_function("riposte_parse_check", |b| {
        b.iter(|| {
            let src = ExprSource {
                text: black_box(PREDICATE),
                file: FileId(0),
                offset: 0,
            };
            expr::compile(src, &scope, Some(&Type::Bool)).expect("compiles")
        })
    });
    group.bench_function("cel_parse", |b| {
        b.iter(|| cel::Program::compile(black_box(CEL_PREDICATE)).expect("compiles"))
    });
    group.finish();
}

criterion_group!(benches, bench_library, bench_expression);
criterion_main!(benches);
