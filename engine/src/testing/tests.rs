//! The runner on a small inline library and test files in a temporary directory.

use std::fs;
use std::path::{Path, PathBuf};

use riposte_dsl::compile::compile;
use riposte_dsl::syntax::Limits as DslLimits;
use riposte_dsl::{SourceFile, SourceMap};

use super::coverage::{Count, Item};
use super::expect::Failure;
use super::*;

const GAMEBOOK: &str = r#"
kind: gamebook
name: iso
version: 1.0.0
inputs:
  level: {type: string, default: full, values: [full, selective]}
steps:
  - id: isolate
    if: "incident.severity == high"
    for_each: {items: incident.devices, as: d}
    action: device.isolate
    target: d
    params: {isolation: "{{ inputs.level }}"}
    approval: {role: workspace_owner, timeout: 1h, on_timeout: reject}
    retry: {attempts: 2, backoff: 1s}
    on_error: tell
  - id: tell
    action: incident.comment
    params: {comment: "isolation failed"}
"#;

const SOP: &str = "kind: sop\ntype: response\nname: s\nmode: autonomous\ngamebooks:\n  - gamebook: iso\ntasks:\n  - {title: Call the customer, role: incident_responder}\n";

fn sources() -> SourceMap {
    let mut sources = SourceMap::new();
    sources.add(SourceFile::new("g.yaml", GAMEBOOK));
    sources.add(SourceFile::new("s.yaml", SOP));
    sources
}

fn library() -> Library {
    let c = compile(&sources(), &DslLimits::default(), Vec::new());
    assert!(!c.has_errors(), "{:#?}", c.diagnostics);
    c.library
}

fn run_files(files: &[PathBuf], limits: &Limits) -> Report {
    run(&sources(), &library(), files, limits, None).expect("runs")
}

/// An inline normalized incident with one device, at `severity`.
fn incident(severity: &str) -> String {
    format!(
        r#"incident:
  format: riposte.incident/v1
  incident:
    id: "7"
    source: defender_xdr
    title: t
    severity: {severity}
    updated: "2026-01-01T00:00:00Z"
    entities:
      - {{id: "device:d1", kind: device, name: ws-1, verdict: malicious, provider: microsoft, fields: {{hostname: ws-1, mde_device_id: d1}}}}
"#
    )
}

fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
    let p = dir.join(name);
    fs::write(&p, text).expect("write test file");
    p
}

fn run_one(text: &str) -> Report {
    let dir = tempfile::tempdir().expect("tempdir");
    let p = write(dir.path(), "t.test.yaml", text);
    run_files(&[p], &Limits::default())
}

/// The report of test file `tests` (its text) run against the example library and the
/// library files `extra` (name, text), which must compile.
fn run_with_library(extra: &[(&str, &str)], tests: &str) -> Report {
    let mut sources = sources();
    for (name, text) in extra {
        sources.add(SourceFile::new(*name, *text));
    }
    let c = compile(&sources, &DslLimits::default(), Vec::new());
    assert!(!c.has_errors(), "{:#?}", c.diagnostics);
    let dir = tempfile::tempdir().expect("tempdir");
    let p = write(dir.path(), "t.test.yaml", tests);
    run(&sources, &c.library, &[p], &Limits::default(), None).expect("runs")
}

fn messages(r: &Report) -> Vec<String> {
    r.tests
        .iter()
        .flat_map(|t| &t.failures)
        .map(|f| match f {
            Failure::Error { message } => message.clone(),
            other => format!("{other:?}"),
        })
        .collect()
}

#[test]
fn passing_tests_and_branch_coverage_across_documents() {
    let text = format!(
        "kind: test\nname: waits\n{inc}expect:\n  actions:\n    - {{step: isolate, target: ws-1, status: awaiting_approval, approver: workspace_owner}}\n    - {{step: tell, status: awaiting_approval, reason_contains: \"runs only if `isolate` fails\"}}\n  tasks: [{{title_contains: customer, status: open}}]\n  only: true\n  summary: {{awaiting_approval: 2}}\n---\nkind: test\nname: fails after approval\n{inc}approve: [isolate]\nfail: [{{step: isolate, error: offline}}]\nexpect:\n  actions:\n    - {{step: isolate, outcome: failed, attempts: 2, error_contains: offline}}\n    - {{step: tell, status: would_run}}\n---\nkind: test\nname: low severity skips\n{low}expect:\n  actions: [{{step: isolate, status: skipped, reason_contains: condition}}]\n---\nkind: test\nname: rejected\n{inc}reject: isolate\nexpect:\n  actions: [{{step: isolate, status: rejected}}, {{step: tell, status: skipped}}]\n",
        inc = incident("high"),
        low = incident("low"),
    );
    let r = run_one(&text);
    assert_eq!(messages(&r), Vec::<String>::new());
    assert_eq!((r.passed(), r.failed()), (4, 0));
    assert_eq!(r.tests[1].name, "fails after approval");
    assert_eq!(r.tests[1].line, 22);
    let g = &r.coverage.gamebooks[0];
    assert_eq!(
        g.steps,
        Count {
            covered: 2,
            total: 2
        }
    );
    assert_eq!(
        g.branches,
        Count {
            covered: 5,
            total: 5
        }
    );
    assert!(r.coverage_ok(Some(100.0)));
    let text = text::render(&r, Some(100.0), false);
    assert!(text.ends_with("\n4 passed, 0 failed\n"), "{text}");
    assert!(text.contains("t.test.yaml: waits ... ok"), "{text}");
}

#[test]
fn a_failing_test_reports_a_diff_and_missed_coverage() {
    let r = run_one(&format!(
        "kind: test\nname: wrong\n{}expect:\n  actions: [{{step: isolate, status: would_run}}]\n",
        incident("high")
    ));
    assert_eq!((r.passed(), r.failed()), (0, 1));
    let text = text::render(&r, Some(100.0), false);
    assert!(text.contains("t.test.yaml: wrong ... FAILED"), "{text}");
    assert!(
        text.contains("t.test.yaml:14) {step: isolate, status: would_run}"),
        "{text}"
    );
    assert!(
        text.contains("status: expected would_run, got awaiting_approval"),
        "{text}"
    );
    assert!(text.contains("missed: `tell` step never ran"), "{text}");
    assert!(text.contains("is below --min-coverage 100%"), "{text}");
    assert!(text.ends_with("\n0 passed, 1 failed\n"), "{text}");
    let missed: Vec<(&str, Item)> = r.coverage.gamebooks[0]
        .missed
        .iter()
        .map(|m| (m.step.as_str(), m.item))
        .collect();
    assert_eq!(
        missed,
        [
            // Reached, but waiting behind its own gate: it did not run.
            ("isolate", Item::Step),
            ("isolate", Item::IfFalse),
            ("isolate", Item::ApprovalGranted),
            ("isolate", Item::ApprovalDenied),
            ("isolate", Item::OnError),
            ("tell", Item::Step)
        ]
    );
    let json = r.to_json(Some(100.0));
    assert_eq!(json["format"], REPORT_FORMAT);
    assert_eq!(json["failed"], 1);
    assert_eq!(json["coverage_ok"], false);
    assert_eq!(json["tests"][0]["failures"][0]["kind"], "missing_action");
}

/// A count that differs lists five of the matching actions and says how many more there are.
#[test]
fn an_action_count_lists_five_matches_and_counts_the_rest() {
    let devices: String = (1..=7)
        .map(|i| {
            format!("      - {{id: \"device:d{i}\", kind: device, name: ws-{i}, verdict: malicious, provider: microsoft, fields: {{hostname: ws-{i}, mde_device_id: d{i}}}}}\n")
        })
        .collect();
    let inc = incident("high").replace(
        "      - {id: \"device:d1\", kind: device, name: ws-1, verdict: malicious, provider: microsoft, fields: {hostname: ws-1, mde_device_id: d1}}\n",
        &devices,
    );
    let r = run_one(&format!(
        "kind: test\nname: count\n{inc}expect:\n  actions: [{{step: isolate, count: 1}}]\n"
    ));
    let text = text::render(&r, None, false);
    assert!(text.contains("expected 1, the plan has 7"), "{text}");
    assert_eq!(text.matches("      plan has isolate").count(), 5, "{text}");
    assert!(text.contains("      … and 2 more\n"), "{text}");
    // JSON alike: `actual` counts them all, `matched` lists the first 5.
    let json = r.to_json(None);
    let failure = &json["tests"][0]["failures"][0];
    assert_eq!(failure["actual"], 7, "{failure}");
    assert_eq!(
        failure["matched"].as_array().map(Vec::len),
        Some(5),
        "{failure}"
    );
}

#[test]
fn unknown_keys_and_bad_yaml_say_where() {
    let r = run_one("kind: test\nname: x\nincident: a.json\nexpect:\n  actoins: []\n");
    let m = messages(&r);
    assert_eq!(m.len(), 1);
    assert!(
        m[0].contains("t.test.yaml:5:3: unknown key `actoins`: did you mean `actions`?"),
        "{m:?}"
    );
    // The file's one test fails, named as it is, and a filter leaves it out by that name.
    assert_eq!((r.tests[0].name.as_str(), r.tests[0].line), ("x", 2));
    let dir = tempfile::tempdir().expect("tempdir");
    let p = write(
        dir.path(),
        "t.test.yaml",
        "kind: test\nname: x\nincident: a.json\nexpect:\n  actoins: []\n",
    );
    let filtered = run(
        &sources(),
        &library(),
        &[p],
        &Limits::default(),
        Some("zzz"),
    );
    assert!(filtered.is_ok_and(|r| r.tests.is_empty() && r.filtered_out == 1));
    // A value outside a list of words gets the likely one meant; one far from all, the list.
    let inc = incident("high");
    let m = messages(&run_one(&format!(
        "kind: test\nname: x\n{inc}expect:\n  actions: [{{step: isolate, status: block}}]\n"
    )));
    assert!(
        m[0].contains("unknown value `block`: did you mean `blocked`?"),
        "{m:?}"
    );
    let m = messages(&run_one(&format!(
        "kind: test\nname: x\n{inc}expect:\n  actions: [{{step: isolate, outcome: zzz}}]\n"
    )));
    assert!(
        m[0].contains("unknown value `zzz`: expected one of `succeeded`, `failed`"),
        "{m:?}"
    );

    let m = messages(&run_one("kind: test\nname: [unclosed\n"));
    assert!(m[0].contains("t.test.yaml:2:"), "{m:?}");
    // A syntax error says what usually causes one; an error about a value does not.
    for broken in [
        "kind: test\nname: x: y\n",
        "kind: test\nname: x\nexpect: {actions: [{step: a}}\n",
        "kind: test\nname: x\nexpect:\n  actions:\n    - {step: isolate\n  sops: []\n",
    ] {
        let m = messages(&run_one(broken));
        assert!(
            m[0].ends_with("indentation and unclosed quotes or brackets are the usual causes"),
            "{m:?}"
        );
    }
    let m = messages(&run_one("kind: test\nname: x\nincident: a.json\n"));
    assert!(!m[0].contains("usual causes"), "{m:?}");

    let m = messages(&run_one(
        "kind: tset\nname: x\nincident: a.json\nexpect: {}\n",
    ));
    assert!(m[0].contains("t.test.yaml:1:7: "), "{m:?}");

    let m = messages(&run_one("kind: test\nname: x\nincident: a.json\n"));
    assert!(
        m[0].contains("the test has no `expect` (what the plan must show"),
        "{m:?}"
    );

    // A missing key is reported where the mapping lacking it starts, not at its last key.
    let m = messages(&run_one(
        "kind: test\nname: x\ndescription: |\n  long\n  text\nexpect:\n  actions:\n    - {step: isolate}\n",
    ));
    assert!(
        m[0].contains("t.test.yaml:1:1: the test has no `incident`"),
        "{m:?}"
    );
    let m = messages(&run_one(&format!(
        "kind: test\nname: a\n{}expect: {{}}\n---\n# the second test\n  kind: test\n  name: b\n  expect: {{}}\n",
        incident("high")
    )));
    assert!(
        m[0].contains("t.test.yaml:16:3: the test has no `incident`"),
        "{m:?}"
    );
    let m = messages(&run_one("{kind: test, name: x, expect: {}}\n"));
    assert!(
        m[0].contains("t.test.yaml:1:1: the test has no `incident`"),
        "{m:?}"
    );

    let m = messages(&run_one("# nothing\n"));
    assert!(m[0].contains("holds no test"), "{m:?}");

    let m = messages(&run_one(&format!(
        "kind: test\nname: x\n{}expect:\n  actions: [{{status: maybe}}]\n",
        incident("high")
    )));
    assert!(m[0].contains("t.test.yaml:14:"), "{m:?}");
    assert!(m[0].contains("maybe"), "{m:?}");

    let nested = format!("{}1{}", "{a: ".repeat(60), "}".repeat(60));
    let m = messages(&run_one(&format!(
        "kind: test\nname: x\n{}expect:\n  actions: [{{status: skipped, params: {nested}}}]\n",
        incident("high")
    )));
    assert!(m[0].contains("nested too deeply for a test"), "{m:?}");
    for bad in ["-2", "1.5", "99999999999999999999999"] {
        let m = messages(&run_one(&format!(
            "kind: test\nname: x\n{}expect:\n  actions: [{{status: skipped, count: {bad}}}]\n",
            incident("high")
        )));
        assert!(
            m[0].contains("t.test.yaml:14:") && m[0].contains("expected a whole number, 0 or more"),
            "{bad}: {m:?}"
        );
    }
    for absent in ["null", "~"] {
        let r = run_one(&format!(
            "kind: test\nname: x\n{}expect:\n  classification: {{classification: true_positive, confidence: {absent}}}\n",
            incident("high")
        ));
        assert!(
            messages(&r).iter().all(|m| !m.contains("confidence")),
            "{absent}: {:?}",
            messages(&r)
        );
    }
    for bad in ["101", "-1", "80.5", "1e308", "high"] {
        let m = messages(&run_one(&format!(
            "kind: test\nname: x\n{}expect:\n  classification: {{confidence: {bad}}}\n",
            incident("high")
        )));
        assert!(
            m[0].contains("t.test.yaml:14:") && m[0].contains("from 0 to 100"),
            "{bad}: {m:?}"
        );
    }
}

/// An incident file that is not JSON (YAML, most often) is the one place to say that a test
/// may write its incident inline.
#[test]
fn a_referenced_incident_in_yaml_suggests_writing_it_inline() {
    let dir = tempfile::tempdir().expect("tempdir");
    write(dir.path(), "incident.yaml", "id: x\nseverity: high\n");
    let p = write(
        dir.path(),
        "t.test.yaml",
        "kind: test\nname: x\nincident: incident.yaml\nexpect: {}\n",
    );
    let m = messages(&run_files(&[p], &Limits::default()));
    assert!(
        m[0].contains("the file is not JSON: incident files are JSON")
            && m[0].contains("; a test may write its incident inline instead, in YAML"),
        "{m:?}"
    );
}

#[test]
fn references_are_checked_with_their_location() {
    let cases = [
        (
            "incident: missing.json\n",
            "t.test.yaml:3:11: cannot read `",
        ),
        (
            "incident: missing.json\n",
            "; `incident` is a path relative to the test file's directory (`",
        ),
        ("incident: 3\n", "t.test.yaml:3:11: `incident` is a path"),
        (
            "incident: {format: riposte.incident/v1}\n",
            "t.test.yaml:3:11: inline incident at `$`: ",
        ),
    ];
    for (incident_line, want) in cases {
        let m = messages(&run_one(&format!(
            "kind: test\nname: x\n{incident_line}expect: {{}}\n"
        )));
        assert!(m[0].contains(want), "{m:?} should contain {want}");
    }
    // An absolute path is read as written: no hint about relative ones.
    let m = messages(&run_one(
        "kind: test\nname: x\nincident: /no/such/dir/missing.json\nexpect: {}\n",
    ));
    assert!(
        m[0].contains("cannot read `/no/such/dir/missing.json`") && !m[0].contains("relative"),
        "{m:?}"
    );
    let with = |extra: &str| {
        messages(&run_one(&format!(
            "kind: test\nname: x\n{}{extra}expect: {{}}\n",
            incident("high")
        )))
    };
    let m = with("approve: [isolate, tell, isolat]\n");
    assert!(
        m[0].contains("t.test.yaml:13:26: unknown step `isolat`"),
        "{m:?}"
    );
    let m = with("approve: [isolat]\n");
    assert!(
        m[0].contains(
            "t.test.yaml:13:11: unknown step `isolat` in `approve`; did you mean `isolate`?"
        ),
        "{m:?}"
    );
    let m = with("fail: [{action: device.explode}]\n");
    assert!(m[0].contains("action `device.explode`"), "{m:?}");
    let m = with("fail: [{step: isolate, attempts: 0}]\n");
    assert!(m[0].contains("`attempts: 0`"), "{m:?}");
    // Out of range, `attempts` says the range it takes, up to the 10 attempts a step makes.
    for bad in ["-1", "1.5", "4294967296", "11"] {
        let m = with(&format!("fail: [{{step: isolate, attempts: {bad}}}]\n"));
        assert!(
            m[0].contains("t.test.yaml:13:")
                && m[0].contains("a whole number from 1 to 10 (a step makes at most 10 attempts)")
                && !m[0].contains("0 or more"),
            "{bad}: {m:?}"
        );
    }
    let m = with("now: yesterday\n");
    assert!(
        m[0].contains("`now: yesterday` is not an RFC 3339 time"),
        "{m:?}"
    );
    let m = with("workspace: nope\n");
    assert!(
        m[0].contains("t.test.yaml:13:12: no workspace named `nope`"),
        "{m:?}"
    );
    let m = with("max_fanout: 0\n");
    assert!(m[0].contains("`max_fanout` is between 1 and"), "{m:?}");
}

#[test]
fn duplicate_names_in_a_file_fail() {
    let doc = format!("kind: test\nname: same\n{}expect: {{}}\n", incident("high"));
    let r = run_one(&format!("{doc}---\n{doc}"));
    assert_eq!((r.passed(), r.failed()), (1, 1));
    assert!(messages(&r)[0].contains("is used twice in this file (first on line 2)"));
}

#[test]
fn incident_files_resolve_next_to_the_test_and_pick_by_id() {
    let dir = tempfile::tempdir().expect("tempdir");
    fs::create_dir(dir.path().join("tests")).expect("mkdir");
    let list = r#"{"format": "riposte.incident/v1", "incidents": [
        {"id": "a", "source": "defender_xdr", "severity": "high", "updated": "2026-01-01T00:00:00Z"},
        {"id": "b", "source": "defender_xdr", "severity": "low", "updated": "2026-01-01T00:00:00Z"}]}"#;
    write(dir.path(), "two.json", list);
    let ws = "- name: w\n  tenant_id: '*'\n  subscription: expired\n  agent: {mode: automatic, process_incident: [high], gamebooks: [high], sops: all}\n";
    let t = write(
        &dir.path().join("tests"),
        "x.test.yaml",
        &format!(
            "kind: test\nname: ambiguous\nincident: ../two.json\nexpect: {{}}\n---\nkind: test\nname: by id\nincident: ./../two.json\nincident_id: b\nworkspaces:\n{}expect:\n  eligible: false\n  classification: none\n  sops: []\n  only: true\n",
            ws.lines().map(|l| format!("  {l}\n")).collect::<String>()
        ),
    );
    let r = run_files(&[t], &Limits::default());
    let m = messages(&r);
    assert_eq!(m.len(), 1, "{m:?}");
    assert!(
        m[0].contains("holds 2 incidents; choose one with `incident_id:` (`a`, `b`)"),
        "{m:?}"
    );
    assert!(r.tests[1].passed);
    // Two incidents with the id asked for: which one is meant is not guessed.
    write(
        dir.path(),
        "same.json",
        &list.replace("\"id\": \"b\"", "\"id\": \"a\""),
    );
    let t = write(
        &dir.path().join("tests"),
        "y.test.yaml",
        "kind: test\nname: twice\nincident: ../same.json\nincident_id: a\nexpect: {}\n",
    );
    let m = messages(&run_files(&[t], &Limits::default()));
    assert!(
        m[0].contains("several incidents of the incident file have id `a`"),
        "{m:?}"
    );
}

#[test]
fn discovery_finds_test_files_only() {
    let dir = tempfile::tempdir().expect("tempdir");
    fs::create_dir_all(dir.path().join("sub/.hidden")).expect("mkdir");
    write(dir.path(), "g.yaml", "kind: gamebook\n");
    write(&dir.path().join("sub"), "a.test.yaml", "");
    write(&dir.path().join("sub"), "b.test.yml", "");
    write(&dir.path().join("sub/.hidden"), "c.test.yaml", "");
    let found = discover(&[dir.path().to_path_buf()], &Limits::default()).expect("found");
    let names: Vec<String> = found
        .iter()
        .filter_map(|p| p.file_name().map(|n| n.to_string_lossy().into_owned()))
        .collect();
    assert_eq!(names, ["a.test.yaml", "b.test.yml"]);
    // The same files by other paths are found once.
    let again = [
        dir.path().to_path_buf(),
        dir.path().join("sub/../sub"),
        dir.path().join("sub/./a.test.yaml"),
    ];
    assert_eq!(
        discover(&again, &Limits::default()).expect("found").len(),
        2
    );
    assert!(matches!(
        discover(&[dir.path().join("sub/.hidden/none")], &Limits::default()),
        Err(TestError::Io { .. })
    ));
    let empty = tempfile::tempdir().expect("tempdir");
    assert!(matches!(
        discover(&[empty.path().to_path_buf()], &Limits::default()),
        Err(TestError::NoTests(_))
    ));
    let limits = Limits {
        max_files: 1,
        ..Limits::default()
    };
    assert!(matches!(
        discover(&[dir.path().to_path_buf()], &limits),
        Err(TestError::TooManyFiles { limit: 1 })
    ));
}

#[test]
fn oversized_and_non_utf8_files_fail_without_reading_them_whole() {
    let dir = tempfile::tempdir().expect("tempdir");
    let big = write(dir.path(), "big.test.yaml", &"#".repeat(200));
    let bad = dir.path().join("bad.test.yaml");
    fs::write(&bad, b"kind: \xff\n").expect("write");
    let limits = Limits {
        max_file_bytes: 100,
        ..Limits::default()
    };
    let r = run_files(&[big, bad], &limits);
    let m = messages(&r);
    assert!(m[0].contains("larger than the limit of 100 bytes"), "{m:?}");
    assert!(
        m[1].contains("invalid UTF-8 byte 0xff at line 1, column 7"),
        "{m:?}"
    );
    let utf16 = dir.path().join("utf16.test.yaml");
    fs::write(&utf16, b"\xff\xfek\x00").expect("write");
    let m = messages(&run_files(&[utf16], &Limits::default()));
    assert!(m[0].contains("the file is UTF-16 text, not UTF-8"), "{m:?}");
    let no_bom = dir.path().join("no-bom.test.yaml");
    let text: Vec<u8> = "kind: test\nname: x\n"
        .encode_utf16()
        .flat_map(u16::to_le_bytes)
        .collect();
    fs::write(&no_bom, text).expect("write");
    let m = messages(&run_files(&[no_bom], &Limits::default()));
    assert!(
        m[0].contains("looks like UTF-16 or UTF-32 text without a byte order mark"),
        "{m:?}"
    );
}

#[test]
fn lexical_join_folds_dots() {
    assert_eq!(
        lexical_join(Path::new("gamebooks"), "../examples/a.json"),
        PathBuf::from("examples/a.json")
    );
    assert_eq!(
        lexical_join(Path::new("a/b"), "./c/../d.json"),
        PathBuf::from("a/b/d.json")
    );
    assert_eq!(
        lexical_join(Path::new(""), "../x.json"),
        PathBuf::from("../x.json")
    );
}

#[test]
fn gamebook_tests_run_one_gamebook_with_inputs() {
    let r = run_one(&format!(
        "kind: test\nname: direct\ngamebook: iso\nwith: {{level: selective}}\n{}approve: all\nexpect:\n  classification: none\n  sops: [gamebook-test]\n  actions: [{{step: isolate, params: {{isolation: selective}}, status: would_run, sop: gamebook-test}}, {{step: tell, status: skipped}}]\n  tasks: []\n  only: true\n---\nkind: test\nname: wrong param\ngamebook: iso\n{}approve: all\nexpect:\n  actions: [{{step: isolate, params: {{isolation: selective}}}}]\n",
        incident("high"),
        incident("high")
    ));
    let m = messages(&r);
    assert_eq!(m.len(), 1, "{m:?}");
    let text = text::render(&r, None, false);
    assert!(
        text.contains("params.isolation: expected \"selective\", got \"full\""),
        "{text}"
    );
    assert!(
        text.contains("{step: isolate, params: {isolation: selective}}"),
        "{text}"
    );

    let m = messages(&run_one(&format!(
        "kind: test\nname: x\ngamebook: iso\nwith: {{level: sideways}}\n{}expect: {{}}\n",
        incident("high")
    )));
    assert!(
        m[0].contains("t.test.yaml:4:7: the gamebook cannot run with these inputs: "),
        "{m:?}"
    );
    assert!(m[0].contains("sideways"), "{m:?}");
    let m = messages(&run_one(&format!(
        "kind: test\nname: x\ngamebook: iso\nwith: {{levle: full}}\n{}expect: {{}}\n",
        incident("high")
    )));
    assert!(
        m[0].contains("has no input `levle`; did you mean `level`?"),
        "{m:?}"
    );
    let m = messages(&run_one(&format!(
        "kind: test\nname: x\ngamebook: nope\n{}expect: {{}}\n",
        incident("high")
    )));
    assert!(
        m[0].contains("t.test.yaml:3:11: no gamebook `nope` in the library; the gamebooks are iso"),
        "{m:?}"
    );
    let m = messages(&run_one(&format!(
        "kind: test\nname: x\nwith: {{}}\n{}expect: {{}}\n",
        incident("high")
    )));
    assert!(m[0].contains("add `gamebook: NAME`"), "{m:?}");
}

#[test]
fn duplicate_keys_and_too_many_tests_are_errors() {
    let m = messages(&run_one("kind: test\nname: a\nname: b\n"));
    assert!(
        m[0].contains("t.test.yaml:3:1: duplicate key `name`"),
        "{m:?}"
    );

    let dir = tempfile::tempdir().expect("tempdir");
    let doc = format!("kind: test\nname: n\n{}expect: {{}}\n", incident("high"));
    let p = write(
        dir.path(),
        "many.test.yaml",
        &[doc.as_str(); 3].join("---\n"),
    );
    let limits = Limits {
        max_tests_per_file: 2,
        ..Limits::default()
    };
    let m = messages(&run_files(&[p], &limits));
    assert_eq!(m.len(), 1, "{m:?}");
    assert!(
        m[0].contains("more than 2 tests in one file; split it"),
        "{m:?}"
    );
    // A list past its bound is named, at its first entry past it.
    let entries = "    - {step: isolate}\n".repeat(1001);
    let m = messages(&run_one(&format!(
        "kind: test\nname: n\n{}expect:\n  actions:\n{entries}",
        incident("high")
    )));
    assert!(
        m[0].contains(
            "t.test.yaml:1015:7: `expect.actions` has more than 1000 entries; split the test"
        ),
        "{m:?}"
    );
}

const GATED: &str = r#"
kind: gamebook
name: gated
version: 1.0.0
steps:
  - id: gate
    action: incident.comment
    params: {comment: gate}
    approval: {role: workspace_owner, timeout: 1h, on_timeout: reject}
  - id: later
    needs: [gate]
    task: {title: Follow up, role: incident_responder}
  - id: grp
    needs: [later]
    steps:
      - id: inner
        action: incident.comment
        params: {comment: inner}
"#;

fn gated_report(tests: &str) -> Report {
    let mut sources = SourceMap::new();
    sources.add(SourceFile::new("g.yaml", GATED));
    sources.add(SourceFile::new(
        "s.yaml",
        "kind: sop\ntype: response\nname: s\nmode: autonomous\ngamebooks:\n  - gamebook: gated\n",
    ));
    let c = compile(&sources, &DslLimits::default(), Vec::new());
    assert!(!c.has_errors(), "{:#?}", c.diagnostics);
    let dir = tempfile::tempdir().expect("tempdir");
    let p = write(dir.path(), "t.test.yaml", tests);
    run(&sources, &c.library, &[p], &Limits::default(), None).expect("runs")
}

#[test]
fn steps_waiting_behind_an_ungranted_gate_are_not_covered() {
    let waits = format!(
        "kind: test\nname: waits\n{inc}expect:\n  actions:\n    - {{step: gate, status: awaiting_approval}}\n    - {{step: inner, status: awaiting_approval, reason_contains: waits for step}}\n  tasks: [{{step: later}}]\n",
        inc = incident("high"),
    );
    let r = gated_report(&waits);
    assert_eq!(messages(&r), Vec::<String>::new());
    let g = &r.coverage.gamebooks[0];
    // Every step started, but behind the gate: none ran. The gate was neither granted nor
    // refused: it waits.
    assert_eq!(
        g.steps,
        Count {
            covered: 0,
            total: 4
        }
    );
    assert_eq!(
        g.branches,
        Count {
            covered: 0,
            total: 2
        }
    );
    assert!(!r.coverage.meets(50.0));

    let approved = format!(
        "{waits}---\nkind: test\nname: approved\n{inc}approve: all\nexpect:\n  actions: [{{step: inner, status: would_run}}]\n---\nkind: test\nname: rejected\n{inc}reject: gate\nexpect: {{}}\n",
        inc = incident("high"),
    );
    let r = gated_report(&approved);
    assert_eq!(messages(&r), Vec::<String>::new());
    assert_eq!(r.coverage.gamebooks[0].missed, []);
    assert!(r.coverage.meets(100.0));
}

/// A rejected gate is a denied approval: its step and what needs it do not run, and the
/// plan says `rejected`; a wrong expectation of it fails with the difference.
#[test]
fn a_rejected_gate_counts_as_denied_and_its_rows_are_rejected() {
    let rejected = format!(
        "kind: test\nname: rejected\n{inc}reject: gate\nexpect:\n  actions:\n    - {{step: gate, status: rejected, reason_contains: \"approval gate of step `gate` was rejected\"}}\n    - {{step: grp.inner, status: skipped, reason_contains: \"dependency `later` did not run\"}}\n  tasks: []\n  summary: {{rejected: 1, would_run: 0}}\n---\nkind: test\nname: wrong\n{inc}reject: [gate]\nexpect:\n  actions: [{{step: gate, status: awaiting_approval}}]\n",
        inc = incident("high"),
    );
    let r = gated_report(&rejected);
    let m = messages(&r);
    assert_eq!(m.len(), 1, "{m:?}");
    assert!(
        m[0].contains("status: expected awaiting_approval, got rejected"),
        "{m:?}"
    );
    let g = &r.coverage.gamebooks[0];
    assert_eq!(g.branches.covered, 1, "{:?}", g.missed);
    assert!(g
        .missed
        .iter()
        .any(|m| m.step == "gate" && m.item == Item::ApprovalGranted));
}

/// A `reject` entry that rejects nothing fails the test: its plan never showed the refusal.
#[test]
fn a_reject_entry_that_rejects_nothing_fails_the_test() {
    let r = run_one(&format!(
        "kind: test\nname: x\n{inc}approve: all\nreject: [isolate, tell]\nexpect: {{}}\n",
        inc = incident("high"),
    ));
    let f = &r.tests[0].failures;
    assert_eq!(f.len(), 1, "{f:?}");
    let Failure::UnmatchedReject { message } = &f[0] else {
        panic!("{f:?}");
    };
    assert!(
        message.contains("`reject` entry `tell` at ")
            && message.contains("t.test.yaml:14:19 rejected nothing"),
        "{message}"
    );
}

/// So does an `approve` entry that approves nothing: the test believed a gate open that its
/// plan never asked for.
#[test]
fn an_approve_entry_that_approves_nothing_fails_the_test() {
    let r = run_one(&format!(
        "kind: test\nname: x\n{inc}approve: [isolate, tell]\nexpect: {{}}\n",
        inc = incident("high"),
    ));
    let f = &r.tests[0].failures;
    assert_eq!(f.len(), 1, "{f:?}");
    let Failure::UnmatchedApprove { message } = &f[0] else {
        panic!("{f:?}");
    };
    assert!(
        message.contains("`approve` entry `tell` at ")
            && message.contains("t.test.yaml:13:20 approved nothing"),
        "{message}"
    );
    // Granted alone, the isolation it needs is approved: nothing to say.
    let r = run_one(&format!(
        "kind: test\nname: x\n{inc}approve: isolate\nexpect: {{}}\n",
        inc = incident("high"),
    ));
    assert!(r.tests[0].failures.is_empty(), "{:?}", r.tests[0].failures);
}

#[test]
fn fail_targets_take_the_forms_expect_takes() {
    // The device's id without its kind, as `expect.target` accepts it.
    let r = run_one(&format!(
        "kind: test\nname: short id\n{inc}approve: all\nfail: [{{step: isolate, target: d1, error: offline}}]\nexpect:\n  actions:\n    - {{step: isolate, target: d1, outcome: failed, error_contains: offline}}\n    - {{step: tell, status: would_run}}\n",
        inc = incident("high"),
    ));
    assert_eq!(messages(&r), Vec::<String>::new());
}

#[test]
fn a_fail_entry_that_matches_no_action_fails_the_test() {
    // The isolation awaits approval, so it never reaches the executor.
    let r = run_one(&format!(
        "kind: test\nname: fails nothing\n{inc}fail:\n  - {{step: isolate, target: ws-1}}\n  - {{step: isolate}}\nexpect: {{}}\n",
        inc = incident("high"),
    ));
    assert_eq!(r.failed(), 1);
    let f = &r.tests[0].failures;
    assert_eq!(f.len(), 2, "{f:#?}");
    let Failure::UnmatchedFail { message } = &f[0] else {
        panic!("{f:#?}")
    };
    assert!(
        message.ends_with(
            "t.test.yaml:14:5 matched no action: {step: isolate, target: ws-1}; only actions that would run reach the executor: check its gamebook, step, action and target against the plan, and grant the step's approval with `approve`"
        ) && message.starts_with("`fail` entry at "),
        "{message}"
    );
    let text = text::render(&r, None, false);
    assert!(text.contains("unmatched fail: `fail` entry at"), "{text}");
    assert_eq!(
        r.to_json(None)["tests"][0]["failures"][0]["kind"],
        "unmatched_fail"
    ); // Every field the entry gives is shown, its gamebook and attempts too, in JSON alike.
    let r = run_one(&format!(
        "kind: test\nname: of a gamebook\n{inc}fail:\n  - {{gamebook: iso}}\n  - {{gamebook: iso, target: ws-1, attempts: 2}}\nexpect: {{}}\n",
        inc = incident("high"),
    ));
    let json = r.to_json(None);
    let failures = &json["tests"][0]["failures"];
    for (i, fields) in [
        "{gamebook: iso}",
        "{gamebook: iso, target: ws-1, attempts: 2}",
    ]
    .iter()
    .enumerate()
    {
        let message = failures[i]["message"].as_str().unwrap_or_default();
        assert!(
            message.contains(&format!("matched no action: {fields}; ")),
            "{message}"
        );
    }
}

#[test]
fn every_name_in_expectations_is_checked_with_a_suggestion() {
    let with = |extra: &str| {
        messages(&run_one(&format!(
            "kind: test\nname: x\n{}{extra}",
            incident("high")
        )))
    };
    let cases = [
        (
            "expect:\n  actions: [{action: device.isolat, count: 0}]\n",
            "t.test.yaml:14:22: unknown action `device.isolat` in `expect.actions`: it is not in the action catalog (see `riposte actions`); did you mean `device.isolate`?",
        ),
        (
            "expect:\n  actions: [{action: devise.*, count: 0}]\n",
            "unknown action `devise.*` in `expect.actions`: it is not in the action catalog (see `riposte actions`); did you mean `device.*`?",
        ),
        (
            "expect:\n  actions: [{step: isoo, count: 0}]\n",
            "unknown step `isoo` in `expect.actions`; did you mean `isolate`?",
        ),
        (
            "expect:\n  actions: [{gamebook: isx, count: 0}]\n",
            "unknown gamebook `isx` in `expect.actions`; did you mean `iso`?",
        ),
        (
            "expect:\n  actions: [{gamebook: \"iso > nope\", count: 0}]\n",
            "unknown gamebook `nope`",
        ),
        (
            "expect:\n  actions: [{sop: s1, count: 0}]\n",
            "unknown SOP `s1` in `expect.actions`; did you mean `s`?",
        ),
        (
            "expect:\n  actions: [{approver: workspace_ownr}]\n",
            "t.test.yaml:14:24: unknown role `workspace_ownr` in `expect.actions`; did you mean `workspace_owner`?",
        ),
        (
            "expect:\n  actions: [{action: device.isolate, params: {isolaton: full}, count: 0}]\n",
            "`device.isolate` has no parameter `isolaton` (in `expect.actions`); did you mean `isolation`?",
        ),
        (
            "expect:\n  actions: [{step: isolate, params: {isolaton: full}, count: 0}]\n",
            "`device.isolate` has no parameter `isolaton` (in `expect.actions`); did you mean `isolation`?",
        ),
        (
            "expect:\n  actions: [{step: isolate, target: ws-l, count: 0}]\n",
            "t.test.yaml:14:37: target `ws-l` in `expect.actions` is no entity of the incident (by id or name); did you mean `ws-1`?",
        ),
        (
            "fail: [{step: isolate, target: d2}]\nexpect: {}\n",
            "t.test.yaml:13:32: target `d2` in `fail` is no entity of the incident (by id or name)",
        ),
        (
            "fail: [{step: tell, target: ws-1}]\nexpect: {}\n",
            "t.test.yaml:13:29: target `ws-1` in `fail` is not the incident; `incident.comment` acts on the incident (write `target: incident`, or leave it out)",
        ),
        (
            "fail: [{action: user.*, target: ws-1}]\nexpect: {}\n",
            "t.test.yaml:13:33: target `ws-1` in `fail` is no user of the incident; `user.*` acts on users only",
        ),
        (
            "expect:\n  actions: [{step: isolate, params: {isolation: fulll}, count: 0}]\n",
            "t.test.yaml:14:37: `fulll` is not a value the action takes; did you mean `full`? (param `isolation` of `device.isolate`, in `expect.actions`)",
        ),
        (
            "expect:\n  actions: [{step: isolate, params: {comment: [a]}, count: 0}]\n",
            "`[\"a\"]` is not a value of type `string` (param `comment` of `device.isolate`, in `expect.actions`)",
        ),
        (
            "expect:\n  actions: [{action: ip.block, params: {expires_in: soon}, count: 0}]\n",
            "`soon` is not a duration such as `30d` or `1h30m` (param `expires_in` of `ip.block`",
        ),
        (
            "expect:\n  actions: [{step: isolate, action: user.disable, count: 0}]\n",
            "step `isolate` runs `device.isolate`, never `user.disable` (in `expect.actions`); expect its action, or name another step",
        ),
        (
            "expect:\n  actions: [{step: tell, target: ws-1, count: 0}]\n",
            "target `ws-1` in `expect.actions` is not the incident; `incident.comment` acts on the incident (write `target: incident`, or leave it out)",
        ),
        (
            "expect:\n  actions: [{action: user.disable, target: ws-1, count: 0}]\n",
            "target `ws-1` in `expect.actions` is no user of the incident; `user.disable` acts on users only",
        ),
        (
            "expect:\n  actions: [{action: user.*, target: ws-1, count: 0}]\n",
            "target `ws-1` in `expect.actions` is no user of the incident; `user.*` acts on users only",
        ),
        (
            "expect:\n  actions: [{step: isolate, action: device.*, params: {isolation: fulll}, count: 0}]\n",
            "`fulll` is not a value the action takes; did you mean `full`? (param `isolation` of `device.isolate`",
        ),
        (
            "expect:\n  tasks: [{step: isolate, count: 0}]\n",
            "step `isolate` runs `device.isolate`: it opens no task (in `expect.tasks`); expect its action in `expect.actions`",
        ),
        (
            "expect:\n  tasks: [{step: nosuch, count: 0}]\n",
            "t.test.yaml:14:18: unknown step `nosuch` in `expect.tasks`",
        ),
        (
            "expect:\n  tasks: [{sop: x, count: 0}]\n",
            "unknown SOP `x` in `expect.tasks`",
        ),
        (
            "expect:\n  tasks: [{role: responder}]\n",
            "unknown role `responder` in `expect.tasks`",
        ),
        (
            "expect:\n  sops: [s, nope]\n",
            "t.test.yaml:14:13: unknown SOP `nope` in `expect.sops`",
        ),
        (
            "expect:\n  sops: [s, s]\n",
            "t.test.yaml:14:13: `expect.sops` lists SOP `s` twice; remove one",
        ),
        (
            "approve: [isolate, isolate]\nexpect: {}\n",
            "`approve` lists step `isolate` twice",
        ),
        (
            "approve: Al\nexpect: {}\n",
            "t.test.yaml:13:10: unknown step `Al` in `approve`; did you mean `all`?",
        ),
        (
            "approve: nnone\nexpect: {}\n",
            "unknown step `nnone` in `approve`; did you mean `none`?",
        ),
        (
            "approve: tel\nexpect: {}\n",
            "unknown step `tel` in `approve`; did you mean `tell`?",
        ),
        (
            "reject: [isolat]\nexpect: {}\n",
            "t.test.yaml:13:10: unknown step `isolat` in `reject`; did you mean `isolate`?",
        ),
        (
            "time_out: [tell]\nexpect: {}\n",
            "t.test.yaml:13:12: step `tell` in `time_out` has no approval gate",
        ),
        (
            "approve: [isolate]\ntime_out: [isolate]\nexpect: {}\n",
            "t.test.yaml:14:12: `time_out` lists step `isolate`, which `approve` decides already (`isolate`)",
        ),
        (
            "expect:\n  classification: {classification: true_positve}\n",
            "t.test.yaml:14:36: unknown classification `true_positve` in `expect.classification`; did you mean `true_positive`?",
        ),
        (
            "expect:\n  classification: {sop: triage}\n",
            "t.test.yaml:14:25: unknown SOP `triage` in `expect.classification`",
        ),
    ];
    for (extra, want) in cases {
        let m = with(extra);
        assert!(
            m.first().is_some_and(|m| m.contains(want)),
            "{m:?} should contain {want}"
        );
    }
    // Known names, an SOP's own task (empty gamebook and step) and `kind.*` pass.
    let m = with("expect:\n  actions: [{sop: s, gamebook: iso, step: isolate, action: device.*}]\n  tasks: [{sop: s, gamebook: \"\", step: \"\", role: incident_responder}]\n  sops: [s]\n");
    assert_eq!(m, Vec::<String>::new());
}

/// A target that names nothing is offered the names of the entities the entry's action acts
/// on (of every kind when nothing says which), each name once: entities of several alerts or
/// mailboxes share one.
#[test]
fn unknown_targets_are_offered_the_entities_of_the_kind_acted_on_once() {
    let inc = r#"incident:
  format: riposte.incident/v1
  incident:
    id: "7"
    source: defender_xdr
    title: t
    severity: high
    updated: "2026-01-01T00:00:00Z"
    entities:
      - {id: "device:d1", kind: device, name: ws-1, verdict: malicious, provider: microsoft, fields: {hostname: ws-1, mde_device_id: d1}}
      - {id: "device:d9", kind: device, name: WS-1, verdict: malicious, provider: microsoft, fields: {hostname: ws-1, mde_device_id: d9}}
      - {id: "device:d2", kind: device, name: ws-2, verdict: malicious, provider: microsoft, fields: {hostname: ws-2, mde_device_id: d2}}
      - {id: "mailbox:a@c.com", kind: mailbox, name: a@c.com, provider: microsoft, fields: {upn: a@c.com}}
      - {id: "user:u1", kind: user, name: a@c.com, provider: microsoft, fields: {upn: a@c.com}}
      - {id: "ip:192.0.2.1", kind: ip, name: 192.0.2.1, provider: microsoft, fields: {address: 192.0.2.1}}
"#;
    let with = |extra: &str| messages(&run_one(&format!("kind: test\nname: x\n{inc}{extra}")));
    let cases = [
        (
            "approve: all\nfail: [{step: isolate, target: zzzzzzzz}]\nexpect: {}\n",
            "in `fail` is no entity of the incident (by id or name); expected one of `ws-1`, `ws-2`",
        ),
        (
            "expect:\n  actions: [{action: user.*, target: zzzzzzzz, count: 0}]\n",
            "in `expect.actions` is no entity of the incident (by id or name); expected one of `a@c.com`",
        ),
        (
            "expect:\n  actions: [{step: tell, target: zzzzzzzz, count: 0}]\n",
            "in `expect.actions` is no entity of the incident (by id or name); expected one of `incident`",
        ),
        (
            "expect:\n  actions: [{action: file.*, target: zzzzzzzz, count: 0}]\n",
            "in `expect.actions` is no entity of the incident (by id or name); the incident has no file, which `file.*` acts on",
        ),
        (
            "approve: all\nfail: [{target: zzzzzzzz}]\nexpect: {}\n",
            "in `fail` is no entity of the incident (by id or name); expected one of `ws-1`, `ws-2`, `a@c.com`, `192.0.2.1`",
        ),
    ];
    for (extra, want) in cases {
        let m = with(extra);
        assert!(
            m.len() == 1 && m[0].ends_with(want),
            "{extra}: {m:#?}\nwant: {want}"
        );
    }
}

/// A step named with its gamebook or SOP in fields of their own is checked among that
/// gamebook's steps (those the SOP runs): a task step `isolate` of another gamebook, whose
/// name an action step of this one shares, cannot make a `count: 0` pass unchecked.
#[test]
fn a_step_is_checked_within_the_gamebook_or_sop_named() {
    let other = "kind: gamebook\nname: manual\nversion: 1.0.0\nsteps:\n  - {id: isolate, task: {title: Isolate by hand, role: incident_responder}}\n  - {id: note, action: incident.comment, params: {comment: hi}}\n";
    let other_sop = "kind: sop\ntype: response\nname: by-hand\ngamebooks:\n  - gamebook: manual\n";
    let with = |expect: &str| {
        messages(&run_with_library(
            &[("m.yaml", other), ("b.yaml", other_sop)],
            &format!("kind: test\nname: x\n{}expect:\n{expect}", incident("high")),
        ))
    };
    for (expect, want) in [
        (
            "  actions: [{gamebook: manual, step: isolate, count: 0}]\n",
            "step `isolate` opens a task: it plans no action (in `expect.actions`); expect its task in `expect.tasks`",
        ),
        (
            "  actions: [{sop: by-hand, step: isolate, count: 0}]\n",
            "step `isolate` opens a task: it plans no action (in `expect.actions`)",
        ),
        (
            "  tasks: [{gamebook: iso, step: isolate, count: 0}]\n",
            "step `isolate` runs `device.isolate`: it opens no task (in `expect.tasks`)",
        ),
        (
            "  tasks: [{sop: s, step: isolate, count: 0}]\n",
            "step `isolate` runs `device.isolate`: it opens no task (in `expect.tasks`)",
        ),
    ] {
        let m = with(expect);
        assert!(
            m.first().is_some_and(|m| m.contains(want)),
            "{expect}: {m:?} should contain {want}"
        );
    }
    // `approve: Note` is the step `note` misspelt, not `none`.
    let m = messages(&run_with_library(
        &[("m.yaml", other), ("b.yaml", other_sop)],
        &format!(
            "kind: test\nname: x\n{}approve: Note\nexpect: {{}}\n",
            incident("high")
        ),
    ));
    assert!(
        m.first()
            .is_some_and(|m| m.ends_with("unknown step `Note` in `approve`; did you mean `note`?")),
        "{m:?}"
    );
    // Through a call: the caller's label and path, or the callee's name with that path.
    let caller =
        "kind: gamebook\nname: caller\nversion: 1.0.0\nsteps:\n  - {id: via, gamebook: manual}\n";
    for gamebook in ["caller > manual", "manual", "caller"] {
        let m = messages(&run_with_library(
            &[("m.yaml", other), ("b.yaml", other_sop), ("c.yaml", caller)],
            &format!(
                "kind: test\nname: x\n{}expect:\n  tasks: [{{gamebook: {gamebook}, step: via.note, count: 0}}]\n",
                incident("high")
            ),
        ));
        assert!(
            m.first().is_some_and(
                |m| m.contains("step `via.note` runs `incident.comment`: it opens no task")
            ),
            "{gamebook}: {m:?}"
        );
    }
    // Each where it is what the entry expects.
    let m = with("  actions: [{gamebook: iso, step: isolate, count: 1}, {sop: by-hand, step: note}]\n  tasks: [{gamebook: manual, step: isolate, count: 0}]\n");
    assert!(
        m.iter()
            .all(|m| !m.contains("plans no action") && !m.contains("opens no task")),
        "{m:?}"
    );
}

/// A `fail` entry whose step runs another action than it names, or none, or that is no step
/// of its gamebook, fails nothing: an error when the test is read, as for an expected action,
/// not an `unmatched fail` after the run (with the failures of what the run did instead).
#[test]
fn a_fail_entry_of_a_step_that_never_runs_its_action_is_an_error() {
    let other = "kind: gamebook\nname: manual\nversion: 1.0.0\nsteps:\n  - {id: verify, task: {title: Look, role: incident_responder}}\n  - {id: note, action: incident.comment, params: {comment: hi}}\n";
    let other_sop = "kind: sop\ntype: response\nname: by-hand\ngamebooks:\n  - gamebook: manual\n";
    let with = |fail: &str| {
        let r = run_with_library(
            &[("m.yaml", other), ("b.yaml", other_sop)],
            &format!(
                "kind: test\nname: x\n{}approve: all\nfail: [{fail}]\nexpect: {{}}\n",
                incident("high")
            ),
        );
        let only_errors = r.tests[0]
            .failures
            .iter()
            .all(|f| matches!(f, Failure::Error { .. }));
        assert!(only_errors, "{fail}: {:?}", r.tests[0].failures);
        messages(&r)
    };
    for (fail, want) in [
        (
            "{step: isolate, action: user.disable}",
            "t.test.yaml:14:15: step `isolate` runs `device.isolate`, never `user.disable` (in `fail`), so this entry fails nothing; fail its action, or name another step",
        ),
        (
            "{step: verify}",
            "t.test.yaml:14:15: step `verify` opens a task: it plans no action (in `fail`), so this entry fails nothing; a task step fails when `time_out` times out its task (with a `timeout`)",
        ),
        (
            "{gamebook: manual, step: isolate}",
            "t.test.yaml:14:33: step `isolate` (in `fail`) is no step of gamebook `manual` nor of a gamebook it calls, so this entry fails nothing; it is a step of `iso`",
        ),
    ] {
        let m = with(fail);
        assert!(
            m.len() == 1 && m[0].ends_with(want),
            "{fail}: {m:#?}\nwant: {want}"
        );
    }
    // What the step does run, it fails.
    let m = with("{step: isolate, action: device.*}, {gamebook: manual, step: note}");
    assert_eq!(m, Vec::<String>::new());
}

#[test]
fn a_document_that_cannot_be_read_fails_alone() {
    let inc = incident("low");
    let text = format!(
        "kind: test\nname: one\n{inc}expect: {{}}\n---\n# typo\nkind: test\nname: \"two\"\n{inc}expect:\n  actoins: []\n---\nkind: test\nname: three\n{inc}expect: {{}}\n--- # broken\nkind: test\nincident: [\n"
    );
    let r = run_one(&text);
    let results: Vec<(&str, u64, bool)> = r
        .tests
        .iter()
        .map(|t| (t.name.as_str(), t.line, t.passed))
        .collect();
    assert_eq!(
        results,
        [
            ("one", 2, true),
            ("two", 17, false),
            ("three", 32, true),
            ("document 4", 44, false)
        ]
    );
    let m = messages(&r);
    assert_eq!(m.len(), 2, "{m:?}");
    // Lines and columns are the file's.
    assert!(
        m[0].contains("t.test.yaml:29:3: unknown key `actoins`"),
        "{m:?}"
    );
    assert!(m[1].contains("t.test.yaml:46:11: "), "{m:?}");
    // The tests that could be read ran, and count towards coverage.
    assert!(r.coverage.gamebooks[0].branches.covered > 0);
}

#[test]
fn every_problem_of_a_test_is_reported() {
    let r = run_one(&format!(
        "kind: test\nname: x\n{}approve: [isolat]\nexpect:\n  actions:\n    - {{step: isoo, count: 0}}\n    - {{action: device.isolat, count: 0}}\n  sops: [s1]\n",
        incident("high")
    ));
    let m = messages(&r);
    assert_eq!(m.len(), 4, "{m:?}");
    assert!(m[0].contains("unknown step `isolat` in `approve`"), "{m:?}");
    assert!(m[1].contains("unknown SOP `s1`"), "{m:?}");
    assert!(m[2].contains("unknown step `isoo`"), "{m:?}");
    assert!(m[3].contains("unknown action `device.isolat`"), "{m:?}");
}

#[test]
fn documents_split_at_markers_with_their_directives() {
    let lines = |text: &str| -> Vec<usize> { documents(text).iter().map(|(l, _)| *l).collect() };
    assert_eq!(lines("a: 1\n---\nb: 2\n"), [1, 2]);
    // A first `---`, comments and `--- # note` hold nothing of their own.
    assert_eq!(lines("# c\n---\na: 1\n--- # two\nb: 2\n"), [1, 4]);
    // `...` ends a document; the directives after it go with the next one.
    assert_eq!(lines("a: 1\n...\n%YAML 1.2\n---\nb: 2\n"), [1, 3]);
    assert_eq!(lines("%YAML 1.2\n---\na: 1\n---\nb: 2\n"), [1, 4]);
    // A bare document after `...`.
    assert_eq!(lines("a: 1\n...\nb: 2\n---\nc: 3\n"), [1, 3, 4]);
    // `---` inside an indented block scalar is text, and `--- {flow}` a document.
    assert_eq!(lines("a: |\n  ---\n  x\n--- {b: 2}\n"), [1, 4]);
    assert_eq!(lines("---\n---\n"), Vec::<usize>::new());
}

#[test]
fn a_mistyped_alias_fails_its_document_alone() {
    let inc = incident("low");
    let r = run_one(&format!(
        "kind: test\nname: one\n{inc}expect: {{}}\n---\nkind: test\nname: two # the alias\n{inc}expect: *nope\n---\nkind: test\nname: three\n{inc}expect: {{}}\n"
    ));
    let results: Vec<(&str, bool)> = r
        .tests
        .iter()
        .map(|t| (t.name.as_str(), t.passed))
        .collect();
    assert_eq!(results, [("one", true), ("two", false), ("three", true)]);
}

/// Documents read one by one (after a typo) share the file's budget for alias expansion: a
/// typo does not multiply it by the number of documents.
#[test]
fn documents_read_one_by_one_share_the_alias_budget() {
    let doc = |n: usize| {
        format!(
            "kind: test\nname: t{n}\nincident:\n  format: riposte.incident/v1\n  a: &a [1,1,1,1,1,1,1,1,1,1]\n  b: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a,*a]\n  c: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b,*b]\n  d: [*c,*c,*c,*c,*c,*c,*c,*c,*c,*c]\nexpect: {{}}\n"
        )
    };
    // Alone, a document replays about 1,100 events: well within a file's budget.
    let alone = messages(&run_one(&doc(0)));
    assert!(alone.iter().all(|m| !m.contains("alias")), "{alone:?}");
    let mut docs: Vec<String> = (0..200).map(doc).collect();
    docs[0] = docs[0].replace("expect: {}", "expect: [");
    let r = run_one(&docs.join("---\n"));
    assert_eq!(r.tests.len(), 200);
    let m = messages(&r);
    assert!(
        m.iter()
            .skip(1)
            .all(|m| m.contains("too many alias expansions")),
        "{:?}",
        &m[..3]
    );
}

#[test]
fn target_problems_are_reported_with_the_others() {
    let r = run_one(&format!(
        "kind: test\nname: x\n{}expect:\n  actions:\n    - {{step: isoo, count: 0}}\n    - {{step: tell, target: ws-1, count: 0}}\n    - {{action: user.disable, target: ws-1, count: 0}}\n",
        incident("high")
    ));
    let m = messages(&r);
    assert_eq!(m.len(), 3, "{m:?}");
    assert!(m[0].contains("unknown step `isoo`"), "{m:?}");
    assert!(m[1].contains("is not the incident"), "{m:?}");
    assert!(m[2].contains("is no user of the incident"), "{m:?}");
}

/// A tab in the indentation is the dsl's RP0006, at the tab, not the parser's error at the
/// scalar before it; in a file of several tests, it fails its own test alone.
#[test]
fn a_tab_in_the_indentation_is_reported_at_the_tab() {
    let m = messages(&run_one("kind: test\nname: tab\n\tincident: x\n"));
    assert_eq!(m.len(), 1, "{m:?}");
    assert!(
        m[0].ends_with(
            "/t.test.yaml:3:1: tab character used for indentation: YAML indentation must be \
             spaces; replace the tab with spaces"
        ),
        "{m:?}"
    );
    let inc = incident("low");
    let r = run_one(&format!(
        "kind: test\nname: one\n{inc}expect: {{}}\n---\nkind: test\nname: two\nexpect:\n  \tonly: true\n"
    ));
    let results: Vec<(&str, bool)> = r
        .tests
        .iter()
        .map(|t| (t.name.as_str(), t.passed))
        .collect();
    assert_eq!(results, [("one", true), ("two", false)]);
    assert!(
        messages(&r)[0].contains("/t.test.yaml:18:3: tab character used for indentation"),
        "{:?}",
        messages(&r)
    );
    // A tab inside a block scalar is text, which YAML allows.
    let r = run_one(&format!(
        "kind: test\nname: tabbed text\ndescription: |\n  checks.\n  \ttabbed note\n{inc}expect: {{}}\n"
    ));
    assert!(r.tests.iter().all(|t| t.passed), "{:?}", messages(&r));
}

/// An inline incident's error is at the node its JSON path names, in block or flow style; a
/// member that is missing, at the mapping that lacks it.
#[test]
fn an_inline_incident_error_points_at_the_node_of_its_path() {
    let block = incident("high").replace(
        "      - {id: \"device:d1\", kind: device,",
        "      - id: \"device:d1\"\n        kind: devic\n        name: ws-1\n      - {id: \"device:d2\", kind: device,",
    );
    let m = messages(&run_one(&format!(
        "kind: test\nname: x\n{block}expect: {{}}\n"
    )));
    assert_eq!(m.len(), 1, "{m:?}");
    assert!(
        m[0].contains(
            "t.test.yaml:13:15: inline incident at `$.incident.entities[0].kind`: unknown entity \
             kind `devic`"
        ),
        "{m:?}"
    );
    let flow = incident("high").replace("kind: device,", "kind: devic,");
    let m = messages(&run_one(&format!(
        "kind: test\nname: x\n{flow}expect: {{}}\n"
    )));
    assert!(
        m[0].contains("t.test.yaml:12:33: inline incident at `$.incident.entities[0].kind`"),
        "{m:?}"
    );
    let no_id = incident("high").replace("    id: \"7\"\n", "");
    let m = messages(&run_one(&format!(
        "kind: test\nname: x\n{no_id}expect: {{}}\n"
    )));
    assert!(
        m[0].contains("t.test.yaml:6:5: inline incident at `$.incident.id`: `id` is required"),
        "{m:?}"
    );
}

/// An inline incident that is no incident at all is said to be one, once, without the test
/// file's name repeated inside the message.
#[test]
fn an_inline_document_of_no_format_says_so_without_repeating_the_file() {
    let cases = [
        (
            "incident: {hello: world}\n",
            "t.test.yaml:3:11: inline incident is not an incident file Riposte can read; the \
             accepted formats are",
        ),
        (
            "incident: {error: {code: TooManyRequests, message: slow down}}\n",
            "t.test.yaml:3:11: inline incident holds an error response of the API, not \
             incidents: `TooManyRequests` (slow down)",
        ),
    ];
    for (incident_line, want) in cases {
        let m = messages(&run_one(&format!(
            "kind: test\nname: x\n{incident_line}expect: {{}}\n"
        )));
        assert!(m[0].contains(want), "{m:?} should contain {want}");
        assert_eq!(m[0].matches("t.test.yaml").count(), 1, "{m:?}");
    }
}

/// Every unknown key and word of a test is reported at once, in the order written, with the
/// error that stopped reading when it is another.
#[test]
fn every_unknown_key_and_word_of_a_file_is_reported() {
    let r = run_one(
        "kind: test\nname: x\nincident: a.json\ndescripton: d\naprove: all\nexpect:\n  actions:\n    - {step: isolate, status: awaiting}\n    - {step: isolate, stauts: blocked}\n  tasks: [{status: opened}]\n  summary: {skiped: 1}\n",
    );
    let m = messages(&r);
    let tail: Vec<&str> = m
        .iter()
        .map(|m| m.split_once("t.test.yaml:").map_or(m.as_str(), |(_, t)| t))
        .collect();
    assert_eq!(
        tail,
        [
            "4:1: unknown key `descripton`: did you mean `description`?",
            "5:1: unknown key `aprove`: did you mean `approve`?",
            "8:31: unknown value `awaiting`: did you mean `awaiting_approval`?",
            "9:23: unknown key `stauts`: did you mean `status`?",
            "10:20: unknown value `opened`: did you mean `open`?",
            "11:13: unknown key `skiped`: did you mean `skipped`?",
        ]
    );
    // Roles and classifications are words too: reported with the keys, as once it reads.
    let r = run_one(
        "kind: test\nname: x\nincident: a.json\nexpect:\n  classification: {classification: true_postive}\n  actions: [{approver: workspace_ownr}]\n  tasks: [{role: incident_respnder}]\n  actionz: []\n",
    );
    let m = messages(&r);
    let tail: Vec<&str> = m
        .iter()
        .map(|m| m.split_once("t.test.yaml:").map_or(m.as_str(), |(_, t)| t))
        .collect();
    assert_eq!(
        tail,
        [
            "5:36: unknown classification `true_postive` in `expect.classification`; did you mean `true_positive`?",
            "6:24: unknown role `workspace_ownr` in `expect.actions`; did you mean `workspace_owner`?",
            "7:18: unknown role `incident_respnder` in `expect.tasks`; did you mean `incident_responder`?",
            "8:3: unknown key `actionz`: did you mean `actions`?",
        ]
    );
    // A count that is not one stops reading before the typo after it: both are reported.
    let inc = incident("high");
    let r = run_one(&format!(
        "kind: test\nname: one\n{inc}expect: {{}}\n---\nkind: test\nname: two\n{inc}expect:\n  actions:\n    - {{step: isolate, count: -1}}\n    - {{step: isolate, stauts: blocked}}\n"
    ));
    assert_eq!(r.tests.len(), 2);
    assert!(r.tests[0].passed);
    let m = messages(&r);
    assert_eq!(m.len(), 2, "{m:?}");
    assert!(
        m[0].contains("t.test.yaml:29:30: expected a whole number"),
        "{m:?}"
    );
    assert!(
        m[1].contains("t.test.yaml:30:23: unknown key `stauts`"),
        "{m:?}"
    );
}

/// A test names a step with its gamebook in front (`iso/isolate`), and a `fail` entry may name
/// the gamebook by itself; a gamebook the library lacks is an error at its place.
#[test]
fn steps_and_failures_name_their_gamebook() {
    let inc = incident("high");
    let r = run_one(&format!(
        "kind: test\nname: qualified\n{inc}approve: [iso/isolate]\nfail: [{{gamebook: iso, step: isolate}}]\nexpect:\n  actions:\n    - {{step: iso/isolate, outcome: failed}}\n    - {{step: tell, status: would_run}}\n"
    ));
    assert!(r.tests.iter().all(|t| t.passed), "{:?}", messages(&r));
    let m = messages(&run_one(&format!(
        "kind: test\nname: unknown\n{inc}fail: [{{gamebook: isp, step: isolate}}]\nexpect: {{}}\n"
    )));
    assert!(
        m[0].contains("unknown gamebook `isp` in `fail`; did you mean `iso`?"),
        "{m:?}"
    );
    let m = messages(&run_one(&format!(
        "kind: test\nname: unknown\n{inc}approve: [isp/isolate]\nexpect: {{}}\n"
    )));
    assert!(
        m[0].contains("unknown gamebook `isp` in `approve`; did you mean `iso`?"),
        "{m:?}"
    );
}

/// Inline workspaces are read as written: each error at its line and column in the test file,
/// an unknown SOP at its name; a flow list is read from its values, its errors at the list.
#[test]
fn inline_workspaces_errors_are_where_they_are_written() {
    let test = |workspaces: &str| {
        let doc = format!(
            "kind: test\nname: inline\n{}workspaces:\n{workspaces}workspace: a\nexpect: {{}}\n",
            incident("high")
        );
        let line = |text: &str| doc.lines().position(|l| l.contains(text)).unwrap() + 1;
        (messages(&run_one(&doc)), line("workspaces:"), doc.clone())
    };
    let agent = "agent: {mode: manual, process_incident: [high], gamebooks: [high], sops: all}";
    let (m, _, doc) = test(&format!(
        "  - name: a\n    tenant_id: \"*\"\n    subscription: active\n    {agent}\n  - name: b\n    tenant_id: t2\n    \
         subscription: actve\n    {}\n",
        agent.replace("sops: all", "sops: [s, sopp]")
    ));
    let line = doc.lines().position(|l| l.contains("actve")).unwrap() + 1;
    assert_eq!(m.len(), 1, "{m:?}");
    assert!(
        m[0].contains(&format!(
            "t.test.yaml:{line}:19: unknown subscription `actve`"
        )),
        "{m:?}"
    );
    let (m, _, doc) = test(&format!(
        "  - name: a\n    tenant_id: \"*\"\n    subscription: active\n    {}\n",
        agent.replace("sops: all", "sops: [s, sopp]")
    ));
    let line = doc.lines().position(|l| l.contains("sopp")).unwrap() + 1;
    assert!(
        m[0].contains(&format!("t.test.yaml:{line}:")) && m[0].contains("SOP `sopp`"),
        "{m:?}"
    );
    // What the test runs with are the values read: an alias to an anchor outside the list
    // resolves, and a comment indented with a tab cuts nothing out.
    let doc = format!(
        "kind: test\nname: alias\n{}workspace: &w a\nworkspaces:\n  - name: *w\n    \
         tenant_id: \"*\"\n\t# a comment\n    subscription: active\n    {agent}\nexpect: {{}}\n",
        incident("high")
    );
    let r = run_one(&doc);
    assert!(r.tests[0].passed, "{:?}", messages(&r));
    let (m, list, _) = test(&format!(
        "  [{{name: a, tenant_id: \"*\", subscription: actve, {agent}}}]\n"
    ));
    assert!(
        m[0].contains(&format!(
            "t.test.yaml:{}:3: inline workspaces: unknown subscription",
            list + 1
        )),
        "{m:?}"
    );
}

/// A gate with nothing behind it (a for-each over no item) asks for nothing: granting or
/// timing it out covers neither approval branch, and an `approve` or `time_out` of it fails the
/// test, as a `reject` that rejects nothing does.
#[test]
fn a_gate_with_nothing_behind_it_covers_no_approval_branch() {
    let inc = incident("high");
    let no_device = format!(
        "{}    entities: []\n",
        &inc[..inc.find("    entities:").expect("entities")]
    );
    let r = run_one(&format!(
        "kind: test\nname: granted\n{no_device}approve: [isolate]\nexpect: {{}}\n---\n\
         kind: test\nname: timed out\n{no_device}time_out: [isolate]\nexpect: {{}}\n"
    ));
    let g = &r.coverage.gamebooks[0];
    for item in [Item::ApprovalGranted, Item::ApprovalDenied] {
        assert!(
            g.missed
                .iter()
                .any(|m| m.step == "isolate" && m.item == item),
            "{:?}",
            g.missed
        );
    }
    let f = &r.tests[0].failures;
    assert!(
        matches!(&f[..], [Failure::UnmatchedApprove { message }] if message.contains("approved nothing")),
        "{f:?}"
    );
    let f = &r.tests[1].failures;
    assert!(
        matches!(&f[..], [Failure::UnmatchedTimeOut { message }] if message.contains("timed out nothing")),
        "{f:?}"
    );
    // With a device behind it, the grant is covered.
    let r = run_one(&format!(
        "kind: test\nname: granted\n{inc}approve: [isolate]\nexpect: {{}}\n"
    ));
    let g = &r.coverage.gamebooks[0];
    assert!(
        !g.missed.iter().any(|m| m.item == Item::ApprovalGranted),
        "{:?}",
        g.missed
    );
}

/// An expectation naming a gamebook and a step of another gamebook can match nothing: it is
/// an error, as `gamebook/step` is, rather than a `count: 0` that passes whatever the plan. A
/// step of a gamebook it calls is one of its own.
#[test]
fn a_step_of_another_gamebook_is_an_error() {
    let caller = "kind: gamebook\nname: caller\nversion: 1.0.0\nsteps:\n  - {id: note, action: incident.comment, params: {comment: hi}}\n  - {id: call, gamebook: iso}\n";
    let inc = incident("high");
    let r = run_with_library(
        &[("caller.yaml", caller)],
        &format!(
            "kind: test\nname: action\n{inc}expect:\n  actions: [{{gamebook: iso, step: note, count: 0}}]\n---\n\
             kind: test\nname: task\n{inc}expect:\n  tasks: [{{gamebook: iso, step: note, count: 0}}]\n---\n\
             kind: test\nname: callee\n{inc}expect:\n  actions: [{{gamebook: caller, step: isolate, count: 0}}, {{gamebook: \"caller > iso\", step: tell, count: 0}}, {{gamebook: iso, step: call.isolate, count: 0}}, {{gamebook: \"caller > iso\", step: call.tell, count: 0}}]\n"
        ),
    );
    let m = messages(&r);
    assert_eq!(m.len(), 2, "{m:?}");
    assert!(
        m[0].contains("t.test.yaml:14:35: step `note` (in `expect.actions`) is no step of gamebook `iso` nor of a gamebook it calls, so nothing can match; it is a step of `caller`"),
        "{m:?}"
    );
    assert!(
        m[1].contains("step `note` (in `expect.tasks`) is no step of gamebook `iso`"),
        "{m:?}"
    );
    assert!(r.tests[2].passed, "{:?}", r.tests[2].failures);
}

/// An expectation naming an SOP with a gamebook or step that SOP never runs could never
/// match: an error at the step (or gamebook), saying what the SOP runs. What a gamebook it
/// calls plans, and the SOP's own tasks, are accepted.
#[test]
fn a_step_an_sop_does_not_run_is_an_error() {
    let other = "kind: gamebook\nname: other\nversion: 1.0.0\nsteps:\n  - {id: note, action: incident.comment, params: {comment: hi}}\n  - {id: call, gamebook: iso}\n";
    let classification = "kind: sop\ntype: classification\nname: c\nrules:\n  - {name: r, when: \"true\", classification: true_positive, reason: malware, confidence: 90}\n";
    let inc = incident("high");
    let r = run_with_library(
        &[("other.yaml", other), ("c.yaml", classification)],
        &format!(
            "kind: test\nname: action\n{inc}expect:\n  actions: [{{sop: s, step: note, count: 0}}]\n---\n\
             kind: test\nname: gamebook\n{inc}expect:\n  actions: [{{sop: s, gamebook: other, count: 0}}]\n---\n\
             kind: test\nname: classification\n{inc}expect:\n  actions: [{{sop: c, step: isolate, count: 0}}]\n---\n\
             kind: test\nname: fine\n{inc}expect:\n  actions: [{{sop: s, step: isolate, count: 1}}]\n  tasks: [{{sop: s, title: Call the customer}}]\n"
        ),
    );
    let m = messages(&r);
    assert_eq!(m.len(), 3, "{m:?}");
    assert!(
        m[0].contains("t.test.yaml:14:28: SOP `s` (in `expect.actions`) plans no step `note`: it runs `iso` (and what they call), so this expectation could never match"),
        "{m:?}"
    );
    assert!(
        m[1].contains("SOP `s` (in `expect.actions`) plans no gamebook `other`"),
        "{m:?}"
    );
    assert!(
        m[2].contains("SOP `c` (in `expect.actions`) plans no step `isolate`: it runs no gamebook"),
        "{m:?}"
    );
    assert!(r.tests[3].passed, "{:?}", r.tests[3].failures);
}

/// A step id several steps share (a group in one gamebook, an action step in another) holds
/// a target to the kinds the actions of those steps act on, as the candidates of an unknown
/// target are, and says which actions they run when none is the one named.
#[test]
fn a_step_name_several_steps_share_holds_targets_to_their_actions() {
    let grp = "kind: gamebook\nname: grp\nversion: 1.0.0\nsteps:\n  - id: isolate\n    steps:\n      - {id: note, action: incident.comment, params: {comment: hi}}\n";
    let note = "kind: gamebook\nname: note\nversion: 1.0.0\nsteps:\n  - {id: isolate, action: incident.comment, params: {comment: hi}}\n";
    let inc = r#"incident:
  format: riposte.incident/v1
  incident:
    id: "7"
    source: defender_xdr
    title: t
    severity: high
    updated: "2026-01-01T00:00:00Z"
    entities:
      - {id: "device:d1", kind: device, name: ws-1, verdict: malicious, provider: microsoft, fields: {hostname: ws-1, mde_device_id: d1}}
      - {id: "user:u1", kind: user, name: a@c.com, provider: microsoft, fields: {upn: a@c.com}}
"#;
    let tests = format!(
        "kind: test\nname: expect\n{inc}expect:\n  actions: [{{step: isolate, target: a@c.com, count: 0}}]\n---\n\
         kind: test\nname: fail\n{inc}fail: [{{step: isolate, target: a@c.com}}]\nexpect: {{}}\n---\n\
         kind: test\nname: incident\n{inc}fail: [{{step: isolate, target: incident}}]\nexpect: {{}}\n---\n\
         kind: test\nname: fits\n{inc}expect:\n  actions: [{{step: isolate, target: ws-1, count: 1}}]\n"
    );
    let m = messages(&run_with_library(&[("a.yaml", grp)], &tests));
    let want = [
        "target `a@c.com` in `expect.actions` is no device of the incident; `device.isolate` acts on devices only",
        "target `a@c.com` in `fail` is no device of the incident; `device.isolate` acts on devices only",
        "target `incident` in `fail` names the incident itself, which `device.isolate` does not act on: it acts on devices only",
    ];
    assert_eq!(m.len(), want.len(), "{m:#?}");
    for (m, want) in m.iter().zip(want) {
        assert!(m.ends_with(want), "{m}\nwant: {want}");
    }
    // Steps of that name running actions of two kinds take a target of either.
    let tests = format!(
        "kind: test\nname: user\n{inc}expect:\n  actions: [{{step: isolate, target: a@c.com, count: 0}}]\n---\n\
         kind: test\nname: fits\n{inc}expect:\n  actions: [{{step: isolate, target: incident, count: 0}}, {{step: isolate, target: ws-1, count: 1}}]\n"
    );
    let m = messages(&run_with_library(
        &[("a.yaml", grp), ("n.yaml", note)],
        &tests,
    ));
    assert_eq!(m.len(), 1, "{m:#?}");
    assert!(
        m[0].ends_with("target `a@c.com` in `expect.actions` is no device of the incident, nor the incident; the steps `isolate` (running `device.isolate` or `incident.comment`) act on devices or the incident"),
        "{m:#?}"
    );
}

/// An `action` no step of a shared step id runs is reported as such, whichever step of that
/// name comes first: not as a group that plans no action when another step of that name does.
#[test]
fn an_action_no_step_of_a_shared_id_runs_names_the_actions_they_run() {
    let grp = "kind: gamebook\nname: grp\nversion: 1.0.0\nsteps:\n  - id: isolate\n    steps:\n      - {id: note, action: incident.comment, params: {comment: hi}}\n";
    let inc = incident("high");
    let tests = format!(
        "kind: test\nname: expect\n{inc}expect:\n  actions: [{{step: isolate, action: user.disable, count: 0}}]\n---\n\
         kind: test\nname: fail\n{inc}fail: [{{step: isolate, action: user.*}}]\nexpect: {{}}\n"
    );
    let m = messages(&run_with_library(&[("a.yaml", grp)], &tests));
    let want = [
        "t.test.yaml:14:20: no step `isolate` runs `user.disable` (in `expect.actions`); the steps of that name that run an action run `device.isolate`: expect one of those, or name another step",
        "t.test.yaml:28:15: no step `isolate` runs `user.*` (in `fail`), so this entry fails nothing; the steps of that name that run an action run `device.isolate`: fail one of those, or name another step",
    ];
    assert_eq!(m.len(), want.len(), "{m:#?}");
    for (m, want) in m.iter().zip(want) {
        assert!(m.ends_with(want), "{m}\nwant: {want}");
    }
}
