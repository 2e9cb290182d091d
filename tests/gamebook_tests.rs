//! The gamebook tests of the example library (`gamebooks/*.test.yaml`) run in CI through the
//! `riposte test` binary, plus the exit codes and reports of failing and malformed test files.

use std::path::Path;

use assert_cmd::Command;

fn riposte() -> Command {
    let mut cmd = Command::cargo_bin("riposte").expect("binary is built");
    cmd.current_dir(env!("CARGO_MANIFEST_DIR"));
    cmd
}

/// The library's absolute paths, for tests that run from a temporary directory's files.
fn library_args() -> Vec<String> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    ["gamebooks", "sops"]
        .iter()
        .flat_map(|d| {
            [
                "--library".to_string(),
                root.join(d).to_string_lossy().into_owned(),
            ]
        })
        .collect()
}

fn stdout(out: &std::process::Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// The example library's tests pass and cover every step, and every branch but one (98.5%):
/// the false branch of `release-device`'s `release` cannot be reached in a dry-run (tasks
/// always complete). Every approval gate is covered granted and refused.
#[test]
fn the_example_gamebook_tests_pass_with_full_step_coverage() {
    let out = riposte()
        .args(["test", "--min-coverage", "98"])
        .assert()
        .success()
        .get_output()
        .clone();
    let text = stdout(&out);
    let last = text.lines().last().unwrap_or_default();
    let (passed, failed) = last
        .split_once(" passed, ")
        .and_then(|(p, f)| Some((p.parse::<usize>().ok()?, f.strip_suffix(" failed")?)))
        .unwrap_or_else(|| panic!("no closing line in:\n{text}"));
    assert!(passed >= 20, "{text}");
    assert_eq!(failed, "0", "{text}");
    let total = text
        .lines()
        .find(|l| l.trim_start().starts_with("total "))
        .unwrap_or_else(|| panic!("no coverage total in:\n{text}"));
    let steps = total
        .split_whitespace()
        .skip_while(|w| *w != "steps")
        .nth(1)
        .unwrap_or_default();
    let (covered, all) = steps.split_once('/').unwrap_or_default();
    assert_eq!(covered, all, "every step of every gamebook runs: {total}");
}

#[test]
fn json_reports_results_and_coverage() {
    let (report, stderr) = json_report(&["gamebooks/triage-escalation.test.yaml"], 0);
    assert_eq!(report["format"], "riposte.test-report/v1");
    assert_eq!(report["failed"], 0);
    assert_eq!(
        report["passed"],
        report["tests"].as_array().map_or(0, Vec::len)
    );
    let gamebooks = report["coverage"]["gamebooks"]
        .as_array()
        .expect("gamebooks");
    let triage = gamebooks
        .iter()
        .find(|g| g["gamebook"] == "triage-escalation")
        .expect("triage-escalation");
    assert_eq!(triage["steps"]["covered"], 3);
    assert_eq!(triage["percent"], 100.0);
    assert!(stderr.contains(" passed, 0 failed"));
    // One file's tests measure the gamebooks they reach; the others are counted, not listed.
    assert!(gamebooks.iter().all(|g| g["steps"]["covered"] != 0));
    let unreached = report["coverage"]["unreached"].as_u64().expect("unreached");
    let (all, _) = json_report(&[], 0);
    assert_eq!(
        all["coverage"].get("unreached"),
        None,
        "every test: every gamebook"
    );
    assert_eq!(
        gamebooks.len() as u64 + unreached,
        all["coverage"]["gamebooks"]
            .as_array()
            .map_or(0, |g| g.len() as u64)
    );
    // A coverage gate measures the whole library: the gamebooks one file leaves untested
    // count against it, wherever the tests are kept.
    let (gated, _) = json_report(
        &[
            "gamebooks/triage-escalation.test.yaml",
            "--min-coverage",
            "90",
        ],
        1,
    );
    assert_eq!(gated["coverage"].get("unreached"), None);
    assert_eq!(
        gated["coverage"]["gamebooks"].as_array().map(Vec::len),
        all["coverage"]["gamebooks"].as_array().map(Vec::len)
    );
    assert_eq!(gated["coverage_ok"], false);
}

#[test]
fn a_failing_test_exits_1_with_a_diff() {
    let dir = tempfile::tempdir().expect("tempdir");
    let incident = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("examples/incidents/ransomware-two-devices.json");
    let test = format!(
        "kind: test\nname: the DC is isolated\nincident: {}\nworkspaces: {}\nexpect:\n  actions:\n    - {{step: contain.isolate, target: dc-01, status: would_run}}\n",
        incident.display(),
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("examples/workspaces.yaml")
            .display()
    );
    std::fs::write(dir.path().join("dc.test.yaml"), test).expect("write");
    let out = riposte()
        .arg("test")
        .args(library_args())
        .arg(dir.path())
        .assert()
        .code(1)
        .get_output()
        .clone();
    let text = stdout(&out);
    assert!(
        text.contains("dc.test.yaml: the DC is isolated ... FAILED"),
        "{text}"
    );
    assert!(
        text.contains("dc.test.yaml:7) {step: contain.isolate, target: dc-01, status: would_run}"),
        "{text}"
    );
    assert!(
        text.contains("status: expected would_run, got blocked"),
        "{text}"
    );
    assert!(
        text.contains("protected entity (SOP rule: name `dc-*`)"),
        "{text}"
    );
    assert_eq!(text.lines().last(), Some("0 passed, 1 failed"), "{text}");
}

/// The report of `riposte test` (which must fail) on one test in `dir` of the ransomware
/// example with workspaces file `ws.yaml` holding `workspaces`, and that file's path.
fn test_with_workspaces(dir: &Path, workspaces: &str) -> (std::path::PathBuf, String) {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let path = dir.join("ws.yaml");
    std::fs::write(&path, workspaces).expect("write");
    let test = format!(
        "kind: test\nname: edited workspaces\nincident: {}\nworkspaces: ws.yaml\nexpect: {{}}\n",
        root.join("examples/incidents/ransomware-two-devices.json")
            .display(),
    );
    std::fs::write(dir.join("ws.test.yaml"), test).expect("write");
    let out = riposte()
        .arg("test")
        .args(library_args())
        .arg(dir)
        .assert()
        .code(1)
        .get_output()
        .clone();
    (path, stdout(&out))
}

/// A test's workspaces file whose agent names a SOP the library does not have fails the test
/// with the name's line and column in that file, as `simulate` reports it.
#[test]
fn an_unknown_sop_of_an_agent_is_named_where_it_is_written() {
    let dir = tempfile::tempdir().expect("tempdir");
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(root.join("examples/workspaces.yaml")).expect("read");
    let contoso = "      sops: all\n\n  - name: fabrikam";
    assert!(text.contains(contoso));
    let edited = text.replacen(contoso, &contoso.replace("all", "[no-such-sop]"), 1);
    let line = edited
        .lines()
        .position(|l| l.contains("no-such-sop"))
        .expect("edited")
        + 1;
    let (workspaces, text) = test_with_workspaces(dir.path(), &edited);
    let expected = format!(
        "{}:{line}:14: workspace `contoso`: its agent runs SOP `no-such-sop`, which the library \
         does not have; expected one of ",
        workspaces.display()
    );
    assert!(text.contains(&expected), "{text}");
    assert_eq!(text.lines().last(), Some("0 passed, 1 failed"), "{text}");
}

/// A test's workspaces file with mistakes in two workspaces fails the test with each, on its
/// own line.
#[test]
fn every_error_of_a_tests_workspaces_file_is_a_failure() {
    let dir = tempfile::tempdir().expect("tempdir");
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(root.join("examples/workspaces.yaml")).expect("read");
    let edited = text
        .replacen("partner_consent: true", "partner_consent: [true]", 1)
        .replacen("mode: autonomous", "mode: autonomus", 1);
    let (workspaces, text) = test_with_workspaces(dir.path(), &edited);
    let ws = workspaces.display();
    // The line of the file that holds `edit`.
    let line = |edit: &str| {
        edited
            .lines()
            .position(|l| l.contains(edit))
            .expect("edited")
            + 1
    };
    for error in [
        format!(
            "ws.test.yaml:4:13: {ws}:{}:22: `partner_consent` is `true` or `false`; found a list",
            line("partner_consent: [true]")
        ),
        format!(
            "ws.test.yaml:4:13: {ws}:{}:13: unknown agent mode `autonomus`; did you mean \
             `autonomous`?",
            line("mode: autonomus")
        ),
    ] {
        assert_eq!(
            text.lines().filter(|l| l.contains(&error)).count(),
            1,
            "{error}\n{text}"
        );
    }
    assert_eq!(text.lines().last(), Some("0 passed, 1 failed"), "{text}");
}

#[test]
fn a_malformed_test_file_is_a_failure_with_its_location() {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(
        dir.path().join("bad.test.yaml"),
        "kind: test\nname: typo\nincident: x.json\nexpect:\n  action: []\n",
    )
    .expect("write");
    let out = riposte()
        .arg("test")
        .args(library_args())
        .arg(dir.path())
        .assert()
        .code(1)
        .get_output()
        .clone();
    let text = stdout(&out);
    assert!(
        text.contains("bad.test.yaml:5:3: unknown key `action`: did you mean `actions`?"),
        "{text}"
    );
    assert_eq!(text.lines().last(), Some("0 passed, 1 failed"), "{text}");
}

#[test]
fn usage_and_io_errors_exit_2() {
    let stderr = |out: &std::process::Output| String::from_utf8_lossy(&out.stderr).into_owned();
    let out = riposte()
        .args(["test", "no/such/dir"])
        .assert()
        .code(2)
        .get_output()
        .clone();
    assert!(
        stderr(&out).contains("cannot read `no/such/dir`"),
        "{}",
        stderr(&out)
    );
    let empty = tempfile::tempdir().expect("tempdir");
    let out = riposte()
        .arg("test")
        .arg(empty.path())
        .assert()
        .code(2)
        .get_output()
        .clone();
    assert!(stderr(&out).contains("no test files"), "{}", stderr(&out));
    riposte()
        .args(["test", "--min-coverage", "120"])
        .assert()
        .code(2);
    // A gamebook or SOP where a test file is expected: `riposte check` checks it.
    for (file, what) in [
        ("gamebooks/release-device.yaml", "a gamebook"),
        ("sops/lost-device.yaml", "an SOP"),
    ] {
        let out = riposte()
            .args(["test", file])
            .assert()
            .code(2)
            .get_output()
            .clone();
        assert_eq!(
            stderr(&out),
            format!(
                "error: `{file}` is {what}, not a test file: test files are `*.test.yaml` files \
                 of `kind: test` documents; check it with `riposte check {file}`\n"
            )
        );
        assert!(out.stdout.is_empty());
    }
    // Named as a test file: to be renamed first, which `riposte check` says too.
    let dir = tempfile::tempdir().expect("tempdir");
    let named = dir.path().join("rd.test.yaml");
    std::fs::copy("gamebooks/release-device.yaml", &named).expect("copy");
    let renamed = dir.path().join("rd.yaml").display().to_string();
    let usage_error = |command: &str| {
        let out = riposte().arg(command).arg(&named).assert().code(2);
        stderr(out.get_output())
    };
    let err = usage_error("test");
    assert!(
        err.ends_with(&format!(
            "a library skips files named so: rename it `{renamed}`, then check it with \
             `riposte check {renamed}`\n"
        )),
        "{err}"
    );
    let err = usage_error("check");
    assert!(
        err.contains(&format!("holds a gamebook, but is named as a test file (`*.test.yaml`), which a library skips: rename it `{renamed}`")),
        "{err}"
    );
}

#[test]
fn coverage_below_the_minimum_fails() {
    // The first test of `release-device` alone: its error edge is never taken.
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let tests =
        std::fs::read_to_string(root.join("gamebooks/release-device.test.yaml")).expect("read");
    let first = tests
        .split("\n---\n")
        .next()
        .expect("a test")
        .replace("../examples/", &format!("{}/examples/", root.display()));
    let dir = tempfile::tempdir().expect("tempdir");
    let file = dir.path().join("release.test.yaml");
    std::fs::write(&file, first).expect("write");
    let out = riposte()
        .args(["test", "--min-coverage", "100"])
        .arg(&file)
        .assert()
        .code(1)
        .get_output()
        .clone();
    let text = stdout(&out);
    assert!(text.contains("is below --min-coverage 100%"), "{text}");
    assert!(
        text.contains("missed: `verify` error edge (`on_error`) never taken"),
        "{text}"
    );
    assert!(text.ends_with("\n1 passed, 0 failed\n"), "{text}");
    // In JSON, the verdict goes to stderr beside the closing line, as the document fills stdout.
    let path = file.to_str().expect("a UTF-8 path");
    let (report, err) = json_report(&["--min-coverage", "100", path], 1);
    assert_eq!(report["coverage_ok"], false);
    let verdict = text
        .lines()
        .find(|l| l.contains("is below --min-coverage 100%"))
        .expect("the verdict");
    assert_eq!(err, format!("{verdict}\n1 passed, 0 failed\n"));
}

/// 0 of 0 is not 100%: when the tests run reach no gamebook (every one of them has an error) or
/// the library has none, coverage is not measured (`n/a`, JSON `null`), and `--min-coverage`
/// fails.
#[test]
fn coverage_of_nothing_is_not_measured() {
    let dir = tempfile::tempdir().expect("tempdir");
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let file = dir.path().join("typo.test.yaml");
    std::fs::write(
        &file,
        format!(
            "kind: test\nname: typo\nincident: {}\nexpect:\n  actoins: []\n",
            root.join("examples/incidents/ransomware-two-devices.json")
                .display()
        ),
    )
    .expect("write");
    let path = file.to_str().expect("a UTF-8 path");
    let out = riposte()
        .args(["test", path])
        .assert()
        .code(1)
        .get_output()
        .clone();
    let text = stdout(&out);
    assert!(
        text.contains("\n  total  steps 0/0     branches 0/0     n/a\n"),
        "{text}"
    );
    let (report, _) = json_report(&[path], 1);
    assert_eq!(report["coverage"]["percent"], serde_json::Value::Null);
    assert_eq!(report["coverage_ok"], true);
    // A library with no gamebook has nothing to measure, which reaches no minimum.
    let lib = dir.path().join("lib");
    std::fs::create_dir(&lib).expect("mkdir");
    std::fs::copy(
        root.join("sops/defender-xdr-triage.yaml"),
        lib.join("triage.yaml"),
    )
    .expect("copy");
    let file = dir.path().join("runs.test.yaml");
    std::fs::write(
        &file,
        format!(
            "kind: test\nname: runs\nincident: {}\nexpect: {{}}\n",
            root.join("examples/incidents/ransomware-two-devices.json")
                .display()
        ),
    )
    .expect("write");
    let args = [
        "--library",
        lib.to_str().expect("a UTF-8 path"),
        "--min-coverage",
        "0",
        file.to_str().expect("a UTF-8 path"),
    ];
    let out = riposte()
        .arg("test")
        .args(args)
        .assert()
        .code(1)
        .get_output()
        .clone();
    let text = stdout(&out);
    let verdict = "coverage is not measured (no gamebook step or branch to count), so it does \
                   not reach --min-coverage 0%";
    assert!(text.contains(&format!("\n{verdict}\n")), "{text}");
    assert!(text.ends_with("\n1 passed, 0 failed\n"), "{text}");
    let (report, err) = json_report(&args, 1);
    assert_eq!(report["coverage"]["percent"], serde_json::Value::Null);
    assert_eq!(report["coverage_ok"], false);
    assert_eq!(err, format!("{verdict}\n1 passed, 0 failed\n"));
}

/// With errors in the library no test runs; the JSON report is still a document on stdout,
/// holding the errors as `riposte check --format json` gives them.
#[test]
fn a_library_with_errors_gives_a_json_document_of_its_errors() {
    let dir = tempfile::tempdir().expect("tempdir");
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let lib = dir.path().join("lib");
    std::fs::create_dir(&lib).expect("mkdir");
    std::fs::write(
        lib.join("empty.yaml"),
        "kind: gamebook\nname: empty\nversion: 1.0.0\nsteps: []\n",
    )
    .expect("write");
    let file = dir.path().join("runs.test.yaml");
    std::fs::write(
        &file,
        format!(
            "kind: test\nname: runs\nincident: {}\nexpect: {{}}\n",
            root.join("examples/incidents/ransomware-two-devices.json")
                .display()
        ),
    )
    .expect("write");
    let lib = lib.to_str().expect("a UTF-8 path");
    let (report, err) = json_report(&["--library", lib, file.to_str().expect("a UTF-8 path")], 1);
    assert_eq!(report["format"], "riposte.test-report/v1");
    let errors = report["library_errors"].as_array().expect("library_errors");
    assert_eq!(errors.len(), 1, "{report:#}");
    assert_eq!(errors[0]["code"], "RP0106");
    assert_eq!(errors[0]["message"], "the gamebook has no steps");
    assert_eq!(
        (&errors[0]["line"], &errors[0]["column"]),
        (&4.into(), &8.into())
    );
    assert!(
        err.contains("the library has errors; fix them (see `riposte check`) before testing"),
        "{err}"
    );
}

/// The fenced blocks of `doc` opened by the line `fence`, in order.
fn blocks(doc: &str, fence: &str) -> Vec<String> {
    let mut blocks = Vec::new();
    let mut open: Option<String> = None;
    for line in doc.lines() {
        match open.as_mut() {
            None if line.trim_end() == fence => open = Some(String::new()),
            None => {}
            Some(_) if line.trim_end() == "```" => blocks.extend(open.take()),
            Some(text) => {
                text.push_str(line);
                text.push('\n');
            }
        }
    }
    blocks
}

/// Every ```` ```yaml ```` block of `docs/testing.md` is a test that passes against the example
/// library (paths in them are relative to `gamebooks/`).
#[test]
fn the_documented_examples_pass() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let doc = std::fs::read_to_string(root.join("docs/testing.md")).expect("docs/testing.md");
    let blocks = blocks(&doc, "```yaml");
    assert!(blocks.len() >= 2, "{} yaml blocks", blocks.len());
    let dir = tempfile::tempdir().expect("tempdir");
    let examples = format!("{}/", root.join("examples").display());
    for (i, block) in blocks.iter().enumerate() {
        assert!(block.starts_with("kind: test\n"), "block {i}:\n{block}");
        std::fs::write(
            dir.path().join(format!("doc{i}.test.yaml")),
            block.replace("../examples/", &examples),
        )
        .expect("write");
    }
    let out = riposte()
        .arg("test")
        .args(library_args())
        .arg(dir.path())
        .output()
        .expect("runs");
    let text = stdout(&out);
    assert!(out.status.success(), "{text}");
    assert_eq!(
        text.lines().last(),
        Some(format!("{} passed, 0 failed", blocks.len()).as_str()),
        "{text}"
    );
}

/// The JSON report of `riposte test ARGS`, which exits with `code`, checked against its schema;
/// and stderr.
fn json_report(args: &[&str], code: i32) -> (serde_json::Value, String) {
    let out = riposte()
        .args(["test", "--format", "json"])
        .args(args)
        .assert()
        .code(code)
        .get_output()
        .clone();
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON on stdout");
    assert_fits_report_schema(&report);
    (report, String::from_utf8_lossy(&out.stderr).into_owned())
}

/// `report` is what docs/schema/test-report.schema.json describes.
fn assert_fits_report_schema(report: &serde_json::Value) {
    let text = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/schema/test-report.schema.json"),
    )
    .expect("the test report schema");
    let schema: serde_json::Value = serde_json::from_str(&text).expect("schema is JSON");
    let validator = jsonschema::draft7::new(&schema).expect("the schema compiles");
    let errors: Vec<String> = validator
        .iter_errors(report)
        .map(|e| format!("{e} at {}", e.instance_path()))
        .collect();
    assert!(errors.is_empty(), "{errors:#?}\n{report:#}");
}

/// Every kind of failure, as the JSON report gives it, fits the schema.
#[test]
fn failures_of_every_kind_fit_the_report_schema() {
    let dir = tempfile::tempdir().expect("tempdir");
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let incident = root.join("examples/incidents/ransomware-two-devices.json");
    let head = format!("kind: test\nincident: {}\n", incident.display());
    let tests = [
        "name: shapes\nexpect:\n  eligible: false\n  classification: {classification: false_positive}\n  sops: [phishing-campaign]\n  summary: {would_run: 0, failed: 1}\n",
        "name: actions\nexpect:\n  ordered: true\n  only: true\n  actions:\n    - {step: report}\n    - {step: contain.isolate, status: would_run}\n    - {action: file.quarantine, count: 7}\n    - {step: contain.isolate, target: srv-fs-01}\n",
        "name: tasks\nexpect:\n  only: true\n  tasks:\n    - {title: nothing like it}\n    - {role: incident_responder, count: 9}\n",
        "name: a failure that fails nothing\nfail: [{step: block_ips}]\nexpect: {}\n",
        "name: a rejection that rejects nothing\nreject: [reset_password]\nexpect: {}\n",
        "name: an approval that approves nothing\napprove: [reset_password]\nexpect: {}\n",
        "name: a time-out of a gate that holds nothing\ntime_out: [reset_password]\nexpect: {}\n",
        "name: bad\nexpect:\n  actoins: []\n",
    ];
    let text: Vec<String> = tests.iter().map(|t| format!("{head}{t}")).collect();
    std::fs::write(dir.path().join("all.test.yaml"), text.join("---\n")).expect("write");
    let dir = dir.path().to_str().expect("a UTF-8 path");
    let (report, _) = json_report(&[dir], 1);
    let mut kinds: Vec<&str> = report["tests"]
        .as_array()
        .expect("tests")
        .iter()
        .flat_map(|t| t["failures"].as_array().into_iter().flatten())
        .filter_map(|f| f["kind"].as_str())
        .collect();
    kinds.sort_unstable();
    kinds.dedup();
    assert_eq!(
        kinds,
        [
            "action_count",
            "classification",
            "eligibility",
            "error",
            "missing_action",
            "missing_task",
            "more_unexpected",
            "out_of_order",
            "sops",
            "summary",
            "task_count",
            "unexpected_action",
            "unexpected_task",
            "unmatched_approve",
            "unmatched_fail",
            "unmatched_reject",
            "unmatched_time_out"
        ]
    );
}

/// In an ordered list, an entry with `count` places every action it counts: the plan isolates
/// srv-fs-01 (1), scans it (2) and isolates dc-01 (4), so the scan is neither before nor after
/// both isolations.
#[test]
fn ordered_counts_place_every_action_they_count() {
    let dir = tempfile::tempdir().expect("tempdir");
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let head = format!(
        "kind: test
incident: {}
workspaces: {}
",
        root.join("examples/incidents/ransomware-two-devices.json")
            .display(),
        root.join("examples/workspaces.yaml").display()
    );
    let isolations = "    - {step: contain.isolate, count: 2}\n";
    let scan = "    - {step: contain.full_scan, target: srv-fs-01}\n";
    let tests = [
        format!("{head}name: isolations first\nexpect:\n  ordered: true\n  actions:\n{isolations}{scan}"),
        format!("{head}name: scan first\nexpect:\n  ordered: true\n  actions:\n{scan}{isolations}"),
    ];
    std::fs::write(dir.path().join("order.test.yaml"), tests.join("---\n")).expect("write");
    let dir = dir.path().to_str().expect("a UTF-8 path");
    let (report, _) = json_report(&["--library", "gamebooks", "--library", "sops", dir], 1);
    let failures: Vec<&serde_json::Value> = report["tests"]
        .as_array()
        .expect("tests")
        .iter()
        .map(|t| &t["failures"][0])
        .collect();
    assert_eq!(failures.len(), 2, "{report:#}");
    // The scan (plan row 2) comes before the last isolation (row 4).
    assert_eq!(failures[0]["kind"], "out_of_order", "{report:#}");
    assert_eq!(failures[0]["after_position"], 4, "{report:#}");
    assert_eq!(failures[0].get("position"), None, "{report:#}");
    // The first isolation (row 1) comes before the scan (row 2).
    assert_eq!(failures[1]["kind"], "out_of_order", "{report:#}");
    assert_eq!(failures[1]["after_position"], 2, "{report:#}");
    assert_eq!(failures[1]["position"], 1, "{report:#}");
}

/// `--filter` runs the tests whose name holds the text, ignoring case, and says how many it
/// left out; one that selects nothing is an error.
#[test]
fn filter_runs_the_tests_whose_name_holds_the_text() {
    let (report, _) = json_report(&["--filter", "ONCE APPROVED"], 0);
    let names: Vec<&str> = report["tests"]
        .as_array()
        .expect("tests")
        .iter()
        .filter_map(|t| t["name"].as_str())
        .collect();
    assert!(!names.is_empty());
    assert!(
        names
            .iter()
            .all(|n| n.to_lowercase().contains("once approved")),
        "{names:?}"
    );
    assert!(report["filtered_out"].as_u64().unwrap_or(0) > 0);
    let out = riposte()
        .args(["test", "--filter", "no test is called this"])
        .assert()
        .code(2)
        .get_output()
        .clone();
    assert!(String::from_utf8_lossy(&out.stderr)
        .contains("no test name holds `no test is called this`"));
}

/// The failing test `docs/testing.md` shows (its ```` ```yaml failing ```` block, as
/// `gamebooks/x.test.yaml`) prints what the text block after it shows, where `…` stands for
/// any lines.
#[test]
fn the_documented_failing_test_prints_what_is_shown() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let doc = std::fs::read_to_string(root.join("docs/testing.md")).expect("docs/testing.md");
    let [test] = &blocks(&doc, "```yaml failing")[..] else {
        panic!("one failing example");
    };
    let shown = &doc[doc.find("```yaml failing").expect("the block")..];
    let shown = blocks(shown, "```text")
        .into_iter()
        .next()
        .expect("its output");
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::create_dir(dir.path().join("gamebooks")).expect("mkdir");
    let examples = format!("{}/", root.join("examples").display());
    std::fs::write(
        dir.path().join("gamebooks/x.test.yaml"),
        test.replace("../examples/", &examples),
    )
    .expect("write");
    let out = riposte()
        .current_dir(dir.path())
        .args(["test", "gamebooks/x.test.yaml"])
        .args(library_args())
        .output()
        .expect("runs");
    assert_eq!(out.status.code(), Some(1));
    let printed = stdout(&out);
    let mut actual = printed.lines();
    let mut skipping = false;
    for want in shown.lines() {
        if want.trim() == "…" {
            skipping = true;
            continue;
        }
        loop {
            let got = actual.next();
            assert!(got.is_some(), "`{want}` is not printed:\n{printed}");
            if got == Some(want) {
                break;
            }
            assert!(skipping, "`{want}` is printed as `{got:?}`:\n{printed}");
        }
        skipping = false;
    }
    assert!(actual.next().is_none(), "more is printed:\n{printed}");
}
