//! The JSON Schemas of `docs/schema/` accept what the compiler accepts: every gamebook, SOP and
//! gamebook test of the example library validates (Draft-7); for action params the schema and
//! the compiler agree value by value, templates included; and documents with the mistakes the
//! schemas catch are refused by both. `tests/cli.rs` keeps the checked-in files equal to
//! `riposte schema`, so validating against the generated schemas covers them.

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

/// The example library's files whose names end with `suffix`, sorted.
fn library_files(suffix: &str) -> Vec<std::path::PathBuf> {
    let mut paths = Vec::new();
    for dir in ["gamebooks", "sops"] {
        paths.extend(
            std::fs::read_dir(root().join(dir))
                .expect("read dir")
                .map(|e| e.expect("dir entry").path())
                .filter(|p| p.to_string_lossy().ends_with(suffix)),
        );
    }
    paths.sort();
    paths
}

/// The documents of a test file, as `riposte test` reads them, as JSON.
fn test_documents(name: &str, text: &str) -> Vec<Value> {
    let mut options = serde_saphyr::Options::default();
    riposte_dsl::syntax::as_written(&mut options);
    serde_saphyr::from_multiple_with_options::<Value>(text, options)
        .unwrap_or_else(|e| panic!("{name}: {e}"))
}

#[test]
fn every_library_test_validates_against_the_test_schema() {
    let schema = riposte_engine::testing::schema::test_file();
    let paths = library_files(".test.yaml");
    assert!(paths.len() >= 10, "{paths:?}");
    let mut failures = Vec::new();
    let mut tests = 0;
    for path in paths {
        let name = path
            .strip_prefix(root())
            .expect("under root")
            .display()
            .to_string();
        let text = std::fs::read_to_string(&path).expect("read");
        for (i, doc) in test_documents(&name, &text).iter().enumerate() {
            tests += 1;
            for e in schema_errors(&schema, doc) {
                failures.push(format!("{name} (test {}): {e}", i + 1));
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    assert!(tests >= 20, "only {tests} tests found");
}

/// The test files of docs/testing.md (```` ```yaml ```` blocks) validate too.
#[test]
fn testing_guide_tests_validate_against_the_test_schema() {
    let schema = riposte_engine::testing::schema::test_file();
    let text = std::fs::read_to_string(root().join("docs/testing.md")).expect("read");
    let mut failures = Vec::new();
    let mut checked = 0;
    for (at, block) in yaml_blocks(&text) {
        for doc in test_documents(&format!("docs/testing.md:{at}"), &block) {
            checked += 1;
            for e in schema_errors(&schema, &doc) {
                failures.push(format!("docs/testing.md:{at}: {e}"));
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    assert!(checked >= 2, "only {checked} tests found");
}

/// The ```` ```yaml ```` blocks of a Markdown text, each with the line it starts on.
fn yaml_blocks(text: &str) -> Vec<(usize, String)> {
    let mut blocks = Vec::new();
    let mut block: Option<(usize, String)> = None;
    for (i, line) in text.lines().enumerate() {
        match block.as_mut() {
            None if line.trim_end() == "```yaml" => block = Some((i + 1, String::new())),
            None => {}
            Some(_) if line.trim_end() == "```" => blocks.extend(block.take()),
            Some((_, doc)) => {
                doc.push_str(line);
                doc.push('\n');
            }
        }
    }
    blocks
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
            // Gamebook tests (`kind: test`, several documents a file) have a schema of their
            // own, checked below.
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
    for (at, doc) in yaml_blocks(&text) {
        let name = format!("docs/language.md:{at}");
        checked += usize::from(validate(&name, &doc, &mut failures));
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
        ("expires_in", "0d"),
        ("expires_in", "'000s'"),
        ("expires_in", "' 7d '"),
        ("expires_in", "010m"),
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

/// A gamebook for the SOPs below to run.
const CALLED: &str = "kind: gamebook
name: called
version: 1.0.0
inputs:
  note: {type: string, default: x}
steps:
  - id: note
    action: incident.comment
    params: {comment: \"{{ inputs.note }}\"}
";

/// Whether the compiler reports an error in `text`, compiled in a library with [`CALLED`].
fn compiler_refuses(text: &str) -> Vec<String> {
    let mut sources = SourceMap::new();
    sources.add(SourceFile::new("called.yaml", CALLED));
    sources.add(SourceFile::new("t.yaml", text));
    let compiled = compile(&sources, &Limits::default(), Vec::new());
    compiled
        .diagnostics
        .iter()
        .filter(|d| d.is_error())
        .map(|d| d.message.clone())
        .collect()
}

/// Each document is accepted by both the compiler and its schema, or refused by both: the
/// schemas catch these mistakes in the editor, where the compiler would at `riposte check`.
#[test]
fn schemas_refuse_what_the_compiler_refuses() {
    let classification = "kind: sop
type: classification
name: c
rules:
  - {name: r, when: 'true', classification: true_positive, reason: malware, confidence: 80}
";
    let response = "kind: sop
type: response
name: r
gamebooks:
  - gamebook: called
";
    let gamebook =
        |step: &str| format!("kind: gamebook\nname: g\nversion: 1.0.0\nsteps:\n  - id: s\n{step}");
    // A gamebook declaring `inputs` (lines of `  name: {…}`) and running one step.
    let with_inputs = |inputs: &str| {
        format!("kind: gamebook\nname: g\nversion: 1.0.0\ninputs:\n{inputs}steps:\n  - id: s\n    action: incident.comment\n    params: {{comment: hi}}\n")
    };
    // (what, document, accepted)
    let cases: Vec<(&str, String, bool)> = vec![
        ("classification SOP", classification.to_string(), true),
        ("response SOP", response.to_string(), true),
        (
            "classification SOP with gamebooks",
            format!("{classification}gamebooks: [{{gamebook: called}}]\n"),
            false,
        ),
        (
            "classification SOP with a mode",
            format!("{classification}mode: manual\n"),
            false,
        ),
        (
            "classification SOP without rules",
            "kind: sop\ntype: classification\nname: c\n".to_string(),
            false,
        ),
        (
            "classification SOP with no rules",
            "kind: sop\ntype: classification\nname: c\nrules: []\n".to_string(),
            false,
        ),
        (
            "a reason of another classification",
            classification.replace("reason: malware", "reason: security_testing"),
            false,
        ),
        (
            "confidence over 100",
            classification.replace("confidence: 80", "confidence: 101"),
            false,
        ),
        (
            "priority over the maximum",
            format!("{classification}priority: 1000001\n"),
            false,
        ),
        (
            "response SOP with rules",
            format!("{response}rules: []\n"),
            false,
        ),
        (
            "response SOP without gamebooks",
            "kind: sop\ntype: response\nname: r\n".to_string(),
            false,
        ),
        (
            "response SOP running nothing",
            "kind: sop\ntype: response\nname: r\ngamebooks: []\n".to_string(),
            false,
        ),
        (
            "response SOP only opening tasks",
            "kind: sop\ntype: response\nname: r\ngamebooks: []\ntasks: [{title: t, role: incident_responder}]\n".to_string(),
            true,
        ),
        (
            "unknown key",
            format!("{response}gamebok: x\n"),
            false,
        ),
        (
            "approval of an action and a kind",
            format!("{response}approval:\n  - {{actions: [user.*, device.isolate], role: workspace_owner}}\n"),
            true,
        ),
        (
            "approval of one action, not in a list",
            format!("{response}approval:\n  - {{actions: device.isolate, role: workspace_owner}}\n"),
            true,
        ),
        (
            "approval of an unknown action",
            format!("{response}approval:\n  - {{actions: [device.isolat], role: workspace_owner}}\n"),
            false,
        ),
        (
            "approval of an unknown kind",
            format!("{response}approval:\n  - {{actions: [usr.*], role: workspace_owner}}\n"),
            false,
        ),
        (
            "approval of everything",
            format!("{response}approval:\n  - {{actions: ['*'], role: workspace_owner}}\n"),
            false,
        ),
        (
            "limits of actions",
            format!("{response}guardrails: {{max_actions: 10000, limits: {{user.disable: 10000}}}}\n"),
            true,
        ),
        (
            "a limit of an unknown action",
            format!("{response}guardrails: {{limits: {{user.disabel: 5}}}}\n"),
            false,
        ),
        (
            "a limit of a kind",
            format!("{response}guardrails: {{limits: {{user.*: 5}}}}\n"),
            false,
        ),
        (
            "a limit over the maximum",
            format!("{response}guardrails: {{limits: {{user.disable: 10001}}}}\n"),
            false,
        ),
        (
            "max_actions over the maximum",
            format!("{response}guardrails: {{max_actions: 10001}}\n"),
            false,
        ),
        (
            "an input of the gamebook that is no identifier",
            response.replace("gamebook: called", "gamebook: called\n    with: {Note: y}"),
            false,
        ),
        (
            "action step",
            gamebook("    action: incident.comment\n    params: {comment: hi}\n"),
            true,
        ),
        (
            "params on a task step",
            gamebook("    task: {title: t, role: incident_responder}\n    params: {comment: hi}\n"),
            false,
        ),
        (
            "target on a gamebook call",
            gamebook("    gamebook: called\n    target: first(incident.devices)\n"),
            false,
        ),
        (
            "with on an action step",
            gamebook("    action: incident.comment\n    params: {comment: hi}\n    with: {note: x}\n"),
            false,
        ),
        (
            "a required param missing",
            gamebook("    action: incident.comment\n    params: {}\n"),
            false,
        ),
        (
            "no params where one is required",
            gamebook("    action: incident.comment\n"),
            false,
        ),
        (
            "a target on an incident action",
            gamebook("    action: incident.comment\n    target: first(incident.devices)\n    params: {comment: hi}\n"),
            false,
        ),
        (
            "a step id that is no identifier",
            gamebook("    action: incident.comment\n    params: {comment: hi}\n").replace("id: s", "id: Bad-Name"),
            false,
        ),
        (
            "an input name that is no identifier",
            gamebook("    action: incident.comment\n    params: {comment: hi}\n")
                .replace("steps:", "inputs:\n  Bad-Name: {type: string, default: x}\nsteps:"),
            false,
        ),
        (
            "an output name that is no identifier",
            gamebook("    action: incident.comment\n    params: {comment: hi}\n")
                + "outputs:\n  Bad-Name: steps.s.status\n",
            false,
        ),
        (
            "an item named after a root of the language",
            gamebook("    for_each: {items: incident.devices, as: incident}\n    action: device.quick_scan\n"),
            false,
        ),
        (
            "a zero timeout",
            gamebook("    action: incident.comment\n    params: {comment: hi}\n    timeout: 0s\n"),
            false,
        ),
        (
            "a version that is no number",
            gamebook("    action: incident.comment\n    params: {comment: hi}\n")
                .replace("1.0.0", "1.x"),
            false,
        ),
        // Free text written as a number or a boolean is read as the text written.
        (
            "numbers where a gamebook takes text",
            gamebook("    name: 42\n    task: {title: 42, role: incident_responder, description: 9, checklist: [1, true]}\n")
                .replace("steps:", "description: 42\ntags: 7\ninputs:\n  n: {type: string, default: '2', values: [1.10, 2], description: 7}\nsteps:"),
            true,
        ),
        (
            "numbers where an SOP takes text",
            format!("{response}description: 5\ntags: [1, 2]\ntasks: [{{title: 77, role: incident_responder}}]\napplies_to: {{workspaces: [123], workspace_tags: 456}}\nguardrails: {{protected: [{{name: 1234}}, {{tag: 99}}, {{id: 12345}}]}}\n"),
            true,
        ),
        (
            "a number where a classification rule takes its name",
            classification.replace("{name: r,", "{name: 1,"),
            true,
        ),
        (
            "a list where an SOP takes one text",
            format!("{response}description: [a, b]\n"),
            false,
        ),
        // An output is an expression of any type: YAML's numbers and booleans are too.
        (
            "outputs written as a number and a boolean",
            gamebook("    action: incident.comment\n    params: {comment: hi}\n")
                + "outputs:\n  n: 42\n  f: 1.5\n  b: true\n",
            true,
        ),
        (
            "an output written as a list",
            gamebook("    action: incident.comment\n    params: {comment: hi}\n")
                + "outputs:\n  n: [1]\n",
            false,
        ),
        // Each input's default is of its type (a string input's may be written as a number).
        (
            "a default of each input type",
            with_inputs(
                "  s: {type: string, default: 42, values: ['42', x]}\n  n: {type: number, default: 5}\n  f: {type: number, default: 1.5}\n  b: {type: bool, default: false}\n  d: {type: duration, default: 30m}\n  sev: {type: severity, default: High}\n  v4: {type: ip, default: 10.0.0.1}\n  v6: {type: ip, default: '::ffff:10.0.0.1'}\n  l: {type: list<string>, default: [a, 1, true]}\n  none: {type: ip}\n",
            ),
            true,
        ),
        (
            "a number input whose default is a string",
            with_inputs("  n: {type: number, default: '5'}\n"),
            false,
        ),
        (
            "a string input whose default is a list",
            with_inputs("  s: {type: string, default: [a]}\n"),
            false,
        ),
        (
            "a string input whose default is left empty",
            with_inputs("  s: {type: string, default: }\n"),
            false,
        ),
        (
            "a bool input whose default is a string",
            with_inputs("  b: {type: bool, default: 'true'}\n"),
            false,
        ),
        (
            "a duration input whose default is a number",
            with_inputs("  d: {type: duration, default: 30}\n"),
            false,
        ),
        (
            "a duration input whose default is zero",
            with_inputs("  d: {type: duration, default: 0s}\n"),
            false,
        ),
        (
            "a severity input whose default is no severity",
            with_inputs("  sev: {type: severity, default: severe}\n"),
            false,
        ),
        (
            "an ip input whose default is no address",
            with_inputs("  ip: {type: ip, default: 10.0.0.256}\n"),
            false,
        ),
        (
            "a list input whose default is one string",
            with_inputs("  l: {type: list<string>, default: a}\n"),
            false,
        ),
        (
            "values of a number input",
            with_inputs("  n: {type: number, default: 1, values: [1, 2]}\n"),
            false,
        ),
        (
            "values of a severity input",
            std::fs::read_to_string(
                root().join("tests/corpus/invalid/RP0106-values-of-an-input-not-a-string.yaml"),
            )
            .expect("read"),
            false,
        ),
        // Whole numbers where the compiler takes them. (`quorum: 2.0` the compiler refuses
        // too, but JSON Schema cannot: to it, 2.0 is the integer 2.)
        (
            "a quorum and a concurrency that are whole numbers",
            gamebook("    for_each: {items: incident.devices, concurrency: 4}\n    action: device.quick_scan\n    approval: {role: workspace_owner, timeout: 1h, on_timeout: reject, quorum: 2}\n"),
            true,
        ),
        (
            "a fractional quorum",
            gamebook("    action: incident.comment\n    params: {comment: hi}\n    approval: {role: workspace_owner, timeout: 1h, on_timeout: reject, quorum: 1.5}\n"),
            false,
        ),
        (
            "a fractional concurrency",
            gamebook("    for_each: {items: incident.devices, concurrency: 4.5}\n    action: device.quick_scan\n"),
            false,
        ),
        (
            "a quorum written as a string",
            gamebook("    action: incident.comment\n    params: {comment: hi}\n    approval: {role: workspace_owner, timeout: 1h, on_timeout: reject, quorum: '2'}\n"),
            false,
        ),
        // A protected entity names something: not blank, as `trim` sees it.
        (
            "protected entities not blank",
            format!("{response}guardrails: {{protected: [{{id: ' x '}}, {{name: \"\\uFEFF\"}}, {{tag: 0}}]}}\n"),
            true,
        ),
        (
            "a protected id that is empty",
            format!("{response}guardrails: {{protected: [{{id: ''}}]}}\n"),
            false,
        ),
        (
            "a protected name of spaces",
            format!("{response}guardrails: {{protected: [{{name: '   '}}]}}\n"),
            false,
        ),
        (
            "a protected tag of other white space",
            format!("{response}guardrails: {{protected: [{{tag: \"\\t\\u0085\\u3000\"}}]}}\n"),
            false,
        ),
    ];
    let mut disagree = Vec::new();
    for (what, text, accepted) in &cases {
        let doc = yaml("t.yaml", text);
        let schema = match doc["kind"].as_str() {
            Some("gamebook") => riposte_dsl::schema::gamebook(),
            _ => riposte_dsl::schema::sop(),
        };
        let schema_says = schema_errors(&schema, &doc);
        let compiler = compiler_refuses(text);
        if schema_says.is_empty() != *accepted || compiler.is_empty() != *accepted {
            disagree.push(format!(
                "{what} (expected {}):\n{text}  compiler: {compiler:?}\n  schema: {schema_says:?}",
                if *accepted { "accepted" } else { "refused" }
            ));
        }
    }
    assert!(disagree.is_empty(), "{}", disagree.join("\n"));
}

/// Each test document is accepted by both `riposte test` and the test schema, or refused by
/// both.
#[test]
fn test_schema_refuses_what_the_runner_refuses() {
    let incident = root().join("examples/incidents/informational-no-entities.json");
    let base = format!("kind: test\nname: t\nincident: '{}'\n", incident.display());
    // (what, the document past `base`, accepted)
    let cases = [
        ("a test", "expect: {}\n", true),
        (
            "every name and word known",
            "approve: all\nexpect: {eligible: true, sops: [], summary: {blocked: 0}, actions: [{action: device.*, count: 0}, {action: incident.comment, status: would_run, count: 0}], tasks: [{role: incident_responder, status: open, count: 0}]}\n",
            true,
        ),
        ("no expect", "", false),
        ("an unknown key", "expect: {}\napprove: all\nexpct: {}\n", false),
        (
            "an unknown action",
            "expect: {actions: [{action: device.isolat, count: 0}]}\n",
            false,
        ),
        (
            "an unknown kind of action",
            "expect: {actions: [{action: dev.*, count: 0}]}\n",
            false,
        ),
        (
            "an unknown status",
            "expect: {actions: [{status: done, count: 0}]}\n",
            false,
        ),
        (
            "an unknown role",
            "expect: {tasks: [{role: boss, count: 0}]}\n",
            false,
        ),
        (
            "a failure that fails nothing",
            "fail: [{attempts: 0}]\nexpect: {}\n",
            false,
        ),
        ("too large a fan-out", "max_fanout: 100001\nexpect: {}\n", false),
        ("a step that is no step id", "approve: [Bad-Step]\nexpect: {}\n", false),
        (
            "inputs without a gamebook",
            "with: {note: x}\nexpect: {}\n",
            false,
        ),
        // `now` is an RFC 3339 time, as the runner reads one.
        ("a time", "now: 2025-03-14T03:00:00Z\nexpect: {}\n", true),
        (
            "a time with a fraction and an offset",
            "now: '2024-02-29 03:00:00.123456+02:00'\nexpect: {}\n",
            true,
        ),
        ("a date alone", "now: 2025-03-14\nexpect: {}\n", false),
        (
            "a time without an offset",
            "now: 2025-03-14T03:00:00\nexpect: {}\n",
            false,
        ),
        (
            "a day that does not exist",
            "now: 2025-02-29T03:00:00Z\nexpect: {}\n",
            false,
        ),
        ("a word for a time", "now: yesterday\nexpect: {}\n", false),
    ];
    let schema = riposte_engine::testing::schema::test_file();
    let dir = tempfile::tempdir().expect("temp dir");
    let mut disagree = Vec::new();
    for (what, rest, accepted) in cases {
        let text = format!("{base}{rest}");
        let docs = test_documents(what, &text);
        let schema_says: Vec<String> = docs
            .iter()
            .flat_map(|d| schema_errors(&schema, d))
            .collect();
        let path = dir.path().join("case.test.yaml");
        std::fs::write(&path, &text).expect("write");
        let out = assert_cmd::Command::cargo_bin("riposte")
            .expect("binary is built")
            .current_dir(root())
            .arg("test")
            .arg(&path)
            .output()
            .expect("runs");
        let runner_accepts = out.status.code() == Some(0);
        if schema_says.is_empty() != accepted || runner_accepts != accepted {
            disagree.push(format!(
                "{what} (expected {}):\n{text}  runner: {}\n  schema: {schema_says:?}",
                if accepted { "accepted" } else { "refused" },
                String::from_utf8_lossy(&out.stdout)
            ));
        }
    }
    assert!(disagree.is_empty(), "{}", disagree.join("\n"));
}

/// The test schema's `now` takes exactly the times the runner reads: dates of every month of
/// common, leap and century years, times, fractions and offsets.
#[test]
fn test_schema_reads_now_as_the_runner_does() {
    let schema = riposte_engine::testing::schema::test_file();
    let validator =
        jsonschema::draft7::new(&schema["properties"]["now"]).expect("the schema compiles");
    let mut samples = Vec::new();
    for year in [
        "0000", "1900", "1970", "2000", "2023", "2024", "2100", "2400", "9999",
    ] {
        for month in 0..=13 {
            for day in 0..=32 {
                samples.push(format!("{year}-{month:02}-{day:02}T12:00:00Z"));
            }
        }
    }
    for time in [
        "00:00:00",
        "23:59:59",
        "23:59:60",
        "24:00:00",
        "12:60:00",
        "12:00:61",
        "1:00:00",
        "12:00:00.",
        "12:00:00.1",
        "12:00:00.123456789",
        "12:00:00,1",
    ] {
        for offset in [
            "Z", "z", "+00:00", "-23:59", "+24:00", "+01:60", "+0100", "", " Z",
        ] {
            for sep in ["T", "t", " ", "_"] {
                samples.push(format!("2025-03-14{sep}{time}{offset}"));
            }
        }
    }
    samples.extend(
        [
            "2025-3-14T12:00:00Z",
            "2025-03-14",
            "+2025-03-14T12:00:00Z",
            "",
        ]
        .map(String::from),
    );
    let disagree: Vec<&String> = samples
        .iter()
        .filter(|s| {
            let by_schema = validator.is_valid(&Value::String(s.to_string()));
            by_schema != riposte_dsl::value::parse_time(s).is_some()
        })
        .collect();
    assert!(disagree.is_empty(), "{disagree:?}");
}
