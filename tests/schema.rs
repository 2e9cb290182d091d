//! The JSON Schemas of `docs/schema/` accept what the compiler accepts: every gamebook and SOP
//! of the example library validates (Draft-7), and for action params the schema and the
//! compiler agree value by value, templates included. `tests/cli.rs` keeps the checked-in
//! files equal to `riposte schema`, so validating against the generated schemas covers them.

use std::path::Path;

use riposte_dsl::compile::compile;
use riposte_dsl::syntax::{load, Limits, Node, NodeValue};
use riposte_dsl::{FileId, SourceFile, SourceMap};
use serde_json::Value;

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// The YAML as the compiler reads it (its own parser, so `1.0.0` is a string and `yes` is
/// not a boolean exactly when the compiler thinks so), as JSON.
fn to_json(node: &Node) -> Value {
    match &node.value {
        NodeValue::Null => Value::Null,
        NodeValue::Bool(b) => Value::Bool(*b),
        NodeValue::Int(i) => Value::from(*i),
        NodeValue::Float(f) => Value::from(*f),
        NodeValue::Str(s) => Value::String(s.clone()),
        NodeValue::Seq(items) => Value::Array(items.iter().map(to_json).collect()),
        NodeValue::Map(entries) => Value::Object(
            entries
                .iter()
                .map(|(k, v)| (k.scalar_text().unwrap_or_default(), to_json(v)))
                .collect(),
        ),
    }
}

fn yaml(name: &str, text: &str) -> Value {
    let src = SourceFile::new(name, text);
    let node = load(FileId(0), &src, &Limits::default())
        .unwrap_or_else(|d| panic!("{name}: {}", d.message));
    to_json(&node)
}

/// Every error the schema finds in `doc`, one per line.
fn schema_errors(schema: &Value, doc: &Value) -> Vec<String> {
    let validator = jsonschema::draft7::new(schema).expect("the schema compiles");
    validator
        .iter_errors(doc)
        .map(|e| format!("{}: {e}", e.instance_path()))
        .collect()
}

/// Validates one document against the schema of its `kind`, if it has one; `false` if none.
fn validate(name: &str, text: &str, failures: &mut Vec<String>) -> bool {
    let doc = yaml(name, text);
    let schema = match doc["kind"].as_str() {
        Some("gamebook") => riposte_dsl::schema::gamebook(),
        Some("sop") => riposte_dsl::schema::sop(),
        _ => return false,
    };
    for e in schema_errors(&schema, &doc) {
        failures.push(format!("{name}: {e}"));
    }
    true
}

#[test]
fn every_library_document_validates_against_its_schema() {
    let mut failures = Vec::new();
    // `examples/` holds incidents (JSON) and a workspaces file: neither has a schema.
    for dir in ["gamebooks", "sops"] {
        let mut paths: Vec<_> = std::fs::read_dir(root().join(dir))
            .expect("read dir")
            .map(|e| e.expect("dir entry").path())
            .filter(|p| p.extension().is_some_and(|x| x == "yaml"))
            // Gamebook tests (`kind: test`, several documents a file) have no schema.
            .filter(|p| !p.to_string_lossy().ends_with(".test.yaml"))
            .collect();
        paths.sort();
        assert!(paths.len() >= 10, "{dir}: {paths:?}");
        for path in paths {
            let name = path
                .strip_prefix(root())
                .expect("under root")
                .display()
                .to_string();
            let text = std::fs::read_to_string(&path).expect("read");
            assert!(
                validate(&name, &text, &mut failures),
                "{name}: no schema for its kind"
            );
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// The complete documents of the language reference (```` ```yaml ```` blocks, see
/// `tests/docs.rs`) validate too: they show the forms the compiler accepts.
#[test]
fn language_reference_documents_validate_against_their_schema() {
    let text = std::fs::read_to_string(root().join("docs/language.md")).expect("read");
    let mut failures = Vec::new();
    let mut checked = 0;
    let mut block: Option<(usize, String)> = None;
    for (i, line) in text.lines().enumerate() {
        match block.as_mut() {
            None if line.trim_end() == "```yaml" => block = Some((i + 1, String::new())),
            None => {}
            Some(_) if line.trim_end() == "```" => {
                if let Some((at, doc)) = block.take() {
                    let name = format!("docs/language.md:{at}");
                    checked += usize::from(validate(&name, &doc, &mut failures));
                }
            }
            Some((_, doc)) => {
                doc.push_str(line);
                doc.push('\n');
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    assert!(checked >= 5, "only {checked} documents found");
}

/// A gamebook with one `file.block` step whose param `name` is the YAML `value`.
fn file_block(name: &str, value: &str) -> String {
    format!(
        "kind: gamebook
name: t
version: 1.0.0
inputs:
  b: {{type: bool, default: true}}
  d: {{type: duration, default: 30d}}
  sev: {{type: severity, default: high}}
  s: {{type: string, default: x}}
steps:
  - id: block
    for_each: incident.files
    action: file.block
    params:
      {name}: {value}
"
    )
}

#[test]
fn schema_and_compiler_agree_on_param_values() {
    let schema = riposte_dsl::schema::gamebook();
    // (param, YAML value). Expressions are well-typed: the schema checks a template's shape,
    // not the expression inside it.
    let cases = [
        // An enum: its values, or any template (the slot is a string).
        ("action", "block"),
        ("action", "partial"),
        ("action", "1"),
        ("action", "true"),
        ("action", "'{{ inputs.s }}'"),
        ("action", "'x-{{ inputs.s }}'"),
        // A duration: a duration literal or one whole expression.
        ("expires_in", "30d"),
        ("expires_in", "'30 d'"),
        ("expires_in", "30"),
        ("expires_in", "'{{ inputs.d }}'"),
        ("expires_in", "'{{inputs.d}}'"),
        ("expires_in", "'{{ inputs.d }}d'"),
        ("expires_in", "'{{ inputs.d }} '"),
        ("expires_in", "'{{ inputs.d }}{{ inputs.d }}'"),
        // A severity, in any case.
        ("severity", "high"),
        ("severity", "High"),
        ("severity", "HIGH"),
        ("severity", "critical"),
        ("severity", "3"),
        ("severity", "'{{ inputs.sev }}'"),
        ("severity", "'level {{ inputs.sev }}'"),
        // A boolean: YAML true/false or one whole expression, whose string literals may
        // hold `}}`.
        ("generate_alert", "true"),
        ("generate_alert", "'true'"),
        ("generate_alert", "'{{ inputs.b }}'"),
        ("generate_alert", "'{{ not inputs.b }}'"),
        ("generate_alert", "'{{ inputs.s == \"}}\" }}'"),
        ("generate_alert", "'{{ inputs.s == \"a\" }} }}'"),
        ("generate_alert", "'{{ inputs.b }} '"),
        ("generate_alert", "[true]"),
        // A string: any scalar, any template.
        ("title", "blocked"),
        ("title", "42"),
        ("title", "false"),
        ("title", "'blocked {{ inputs.s }}'"),
        ("title", "[a]"),
        ("title", "{a: 1}"),
        ("title", "null"),
    ];
    let mut disagree = Vec::new();
    for (param, value) in cases {
        let text = file_block(param, value);
        let mut sources = SourceMap::new();
        sources.add(SourceFile::new("t.yaml", text.as_str()));
        let compiled = compile(&sources, &Limits::default(), Vec::new());
        let compiler: Vec<&str> = compiled
            .diagnostics
            .iter()
            .filter(|d| d.is_error())
            .map(|d| d.message.as_str())
            .collect();
        let schema_says = schema_errors(&schema, &yaml("t.yaml", &text));
        if compiler.is_empty() != schema_says.is_empty() {
            disagree.push(format!(
                "{param}: {value}\n  compiler: {compiler:?}\n  schema: {schema_says:?}"
            ));
        }
    }
    assert!(disagree.is_empty(), "{}", disagree.join("\n"));
}
