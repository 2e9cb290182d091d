//! End-to-end tests of the `riposte` binary: exit codes and machine-readable output.

use std::path::Path;

use assert_cmd::Command;
use serde_json::Value;

fn riposte() -> Command {
    let mut cmd = Command::cargo_bin("riposte").expect("binary is built");
    cmd.current_dir(env!("CARGO_MANIFEST_DIR"));
    cmd
}

/// Runs `cmd`, which must exit with `code`; its stderr.
fn stderr_of(cmd: &mut Command, code: i32) -> String {
    let out = cmd.assert().code(code).get_output().stderr.clone();
    String::from_utf8_lossy(&out).into_owned()
}

/// The README's example that starts with `prompt`: the rest of the prompt's line, and the
/// output shown below it.
fn readme_example(prompt: &str) -> (String, String) {
    let readme = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("README.md"))
        .expect("README.md");
    let start = readme.find(prompt).expect("the README has the example");
    let block = &readme[start + prompt.len()..];
    let (line, rest) = block.split_once('\n').expect("a command line");
    let shown = &rest[..rest.find("```").expect("the example's block is closed")];
    (line.to_string(), shown.to_string())
}

/// Runs `cmd`, which must exit with `code`; its stdout, JSON.
fn json_of(cmd: &mut Command, code: i32) -> Value {
    json(&cmd.assert().code(code).get_output().stdout)
}

fn json(out: &[u8]) -> Value {
    serde_json::from_slice(out).expect("valid JSON on stdout")
}

#[test]
fn check_passes_on_the_example_library() {
    let out = riposte()
        .arg("check")
        .assert()
        .success()
        .get_output()
        .stderr
        .clone();
    let text = String::from_utf8_lossy(&out);
    assert!(text.contains("; 0 errors, "), "{text}");
}

/// The README's `riposte check` example is what the command prints, to the last line.
#[test]
fn readme_check_example_is_real_output() {
    let (path, shown) = readme_example("$ cargo run -q -- check ");
    let out = riposte()
        .args(["check", &path])
        .assert()
        .code(1)
        .get_output()
        .clone();
    assert!(out.stdout.is_empty());
    assert_eq!(shown, String::from_utf8_lossy(&out.stderr));
}

#[test]
fn readme_simulate_example_is_real_output() {
    let (args, shown) = readme_example("$ cargo run --release -- simulate ");
    let out = riposte()
        .arg("simulate")
        .args(args.split_whitespace())
        .assert()
        .success()
        .get_output()
        .clone();
    assert_eq!(shown, String::from_utf8_lossy(&out.stdout));
}

#[test]
fn check_reports_errors_with_location_and_exit_1() {
    let out = riposte()
        .args(["check", "tests/corpus/invalid/RP0202-unknown-name.yaml"])
        .assert()
        .code(1)
        .get_output()
        .stderr
        .clone();
    let text = String::from_utf8_lossy(&out);
    assert!(text.contains("RP0202"), "{text}");
    assert!(
        text.contains("tests/corpus/invalid/RP0202-unknown-name.yaml:6:"),
        "{text}"
    );
    assert!(text.contains("did you mean `severity`?"), "{text}");
}

#[test]
fn check_json_lists_every_diagnostic_with_positions() {
    let out = riposte()
        .args([
            "check",
            "--format",
            "json",
            "tests/corpus/invalid/RP0101-unknown-key.yaml",
        ])
        .assert()
        .code(1)
        .get_output()
        .stdout
        .clone();
    let list = json(&out);
    let list = list.as_array().expect("an array");
    // Three unknown keys in one file: all are reported, not only the first.
    assert_eq!(list.len(), 3, "{list:#?}");
    let first = &list[0];
    assert_eq!(first["severity"], "error");
    assert_eq!(first["code"], "RP0101");
    assert_eq!(
        first["file"],
        "tests/corpus/invalid/RP0101-unknown-key.yaml"
    );
    assert_eq!(first["line"], 4);
    assert_eq!(first["column"], 1);
    assert_eq!(first["end_line"], 4);
    assert_eq!(first["end_column"], 11);
    assert_eq!(first["help"], "did you mean `description`?");
    for key in [
        "message",
        "file",
        "line",
        "column",
        "end_line",
        "end_column",
        "help",
    ] {
        assert!(first.get(key).is_some(), "missing {key}");
    }
}

#[test]
fn check_sarif_is_a_sarif_log() {
    let out = riposte()
        .args([
            "check",
            "--format",
            "sarif",
            "tests/corpus/invalid/RP0306-cycle.yaml",
        ])
        .assert()
        .code(1)
        .get_output()
        .stdout
        .clone();
    let log = json(&out);
    assert_eq!(log["version"], "2.1.0");
    let result = &log["runs"][0]["results"][0];
    assert_eq!(result["ruleId"], "RP0306");
    assert_eq!(result["level"], "error");
    assert!(
        result["locations"][0]["physicalLocation"]["region"]["startLine"]
            .as_u64()
            .is_some()
    );
    let rules = log["runs"][0]["tool"]["driver"]["rules"]
        .as_array()
        .expect("rules");
    assert!(rules.iter().any(|r| r["id"] == "RP0306"));
}

#[test]
fn warnings_alone_exit_0_unless_denied() {
    let file = "tests/corpus/invalid/RP0408-delegated-only.yaml";
    riposte().args(["check", file]).assert().success();
    riposte()
        .args(["check", "--deny-warnings", file])
        .assert()
        .code(1);
}

/// One file checked within its library: what it names is found there, and only its own
/// problems are reported, also a name it defines that the library defines too.
#[test]
fn a_file_is_checked_within_its_library() {
    let err = stderr_of(
        riposte().args(["check", "sops/ransomware-containment.yaml"]),
        1,
    );
    assert!(err.contains("RP0303"), "{err}");
    let err = stderr_of(
        riposte().args([
            "check",
            "sops/ransomware-containment.yaml",
            "--library",
            "gamebooks",
            "--library",
            "sops",
        ]),
        0,
    );
    assert!(
        err.contains("checked 1 file (within a library of "),
        "{err}"
    );
    assert!(
        err.contains(": 0 gamebooks, 1 SOP; 0 errors, 0 warnings"),
        "{err}"
    );
    // A copy of a gamebook of the library defines its name twice.
    let dir = tempfile::tempdir().unwrap();
    let copy = dir.path().join("copy.yaml");
    std::fs::copy("gamebooks/compromised-user.yaml", &copy).unwrap();
    let err = stderr_of(
        riposte()
            .arg("check")
            .arg(&copy)
            .args(["--library", "gamebooks"]),
        1,
    );
    assert!(err.contains("RP0309"), "{err}");
    // An error of another file of the library is not shown as this file's, but it fails the
    // check, as this file may have caused it.
    let broken = dir.path().join("lib");
    std::fs::create_dir(&broken).unwrap();
    std::fs::write(broken.join("bad.yaml"), "kind: gamebook\nname: bad\n").unwrap();
    let err = stderr_of(
        riposte()
            .args(["check", "gamebooks/compromised-user.yaml", "--library"])
            .arg(&broken),
        1,
    );
    assert!(!err.contains("RP0"), "{err}");
    assert!(
        err.contains("error: the library has errors in other files (`")
            && err.contains("bad.yaml`), which may be these files' doing"),
        "{err}"
    );
    // A tool reading JSON or SARIF is given those errors, after the checked files' own.
    for format in ["json", "sarif"] {
        let out = riposte()
            .args([
                "check",
                "gamebooks/compromised-user.yaml",
                "--format",
                format,
            ])
            .arg("--library")
            .arg(&broken)
            .assert()
            .code(1)
            .get_output()
            .stdout
            .clone();
        let out = String::from_utf8_lossy(&out);
        assert!(
            out.contains("bad.yaml") && out.contains("RP01"),
            "{format}: {out}"
        );
    }
    // Warnings elsewhere are the library's own business.
    let clean = stderr_of(
        riposte().args([
            "check",
            "gamebooks/compromised-user.yaml",
            "--library",
            "tests/corpus/invalid/RP0313-unread-input.yaml",
        ]),
        0,
    );
    assert!(!clean.contains("RP0313"), "{clean}");
}

/// A workspaces file given to `check` as a library file is named as one, with the option that
/// reads it.
#[test]
fn check_names_a_workspaces_file_given_as_a_library_file() {
    let text = stderr_of(riposte().args(["check", "examples/workspaces.yaml"]), 1);
    assert!(text.contains("missing key `kind`"), "{text}");
    assert!(text.contains("this looks like a workspaces file"), "{text}");
    assert!(text.contains("`--workspaces FILE`"), "{text}");
}

/// A test file not named `*.test.yaml` is read as a library file: the error says how to name it.
#[test]
fn check_names_a_test_file_that_is_not_named_as_one() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("mc-tests.yaml");
    std::fs::write(&file, "kind: test\nname: t\nincident: x.json\nexpect: {}\n").unwrap();
    let text = stderr_of(riposte().arg("check").arg(&file), 1);
    assert!(text.contains("unknown kind `test`"), "{text}");
    assert!(text.contains("`*.test.yaml`"), "{text}");
    assert!(text.contains("`riposte test`"), "{text}");
    // Several tests in it: the file of several documents is told the same.
    std::fs::write(
        &file,
        "kind: test\nname: a\nincident: x.json\nexpect: {}\n---\nkind: test\nname: b\nincident: x.json\nexpect: {}\n",
    )
    .unwrap();
    let text = stderr_of(riposte().arg("check").arg(&file), 1);
    assert!(text.contains("more than one YAML document"), "{text}");
    assert!(text.contains("`*.test.yaml`"), "{text}");
}

/// `--incident -` reads the standard input, as a pipe from an API call gives the incident.
#[test]
fn simulate_reads_the_incident_from_stdin() {
    let text = std::fs::read_to_string(RANSOMWARE).unwrap();
    let piped = riposte()
        .args(["simulate", "--incident", "-", "--format", "json"])
        .write_stdin(text)
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let from_file = riposte()
        .args(["simulate", "--incident", RANSOMWARE, "--format", "json"])
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    assert_eq!(piped, from_file);
    let err = stderr_of(
        riposte()
            .args(["simulate", "--incident", "-"])
            .write_stdin("{\"id\": "),
        2,
    );
    assert!(err.contains("`<stdin>`:1:7: invalid JSON"), "{err}");
}

#[test]
fn usage_and_io_errors_exit_2() {
    riposte().args(["check", "no/such/dir"]).assert().code(2);
    riposte()
        .args(["check", "--format", "xml"])
        .assert()
        .code(2);
    riposte().args(["check", "Cargo.toml"]).assert().code(2);
}

/// Text from the incident cannot drive the terminal or forge a row of the plan: control
/// characters are shown as `�`.
#[test]
fn incident_text_cannot_drive_the_terminal() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("ansi.json");
    let doc = serde_json::json!({"format": "riposte.incident/v1", "incident": {
        "id": "1", "source": "defender_xdr", "severity": "high", "status": "active",
        "title": "title\u{1b}[2J\u{7}\nincident 999 · forged",
        "updated": "2026-01-01T00:00:00Z", "entities": []}});
    std::fs::write(&path, doc.to_string()).unwrap();
    let out = riposte()
        .args(["simulate", "--incident"])
        .arg(&path)
        .assert()
        .code(0)
        .get_output()
        .stdout
        .clone();
    let text = String::from_utf8(out).unwrap();
    assert!(
        text.contains("  title�[2J��incident 999 · forged\n"),
        "{text}"
    );
    assert!(!text.contains('\u{1b}'), "{text}");
    // Nor through an error quoting it.
    let bad = doc
        .to_string()
        .replace("2026-01-01T00:00:00Z", "\\u001b[2Jnot a time");
    std::fs::write(&path, bad).unwrap();
    let err = stderr_of(riposte().args(["simulate", "--incident"]).arg(&path), 2);
    assert!(
        err.contains("`�[2Jnot a time` is not an RFC 3339 time"),
        "{err}"
    );
    assert!(!err.contains('\u{1b}'), "{err}");
    // Nor forge a line of its own in an error naming the incident, nor reorder one.
    let doc = serde_json::json!({"format": "riposte.incident/v1", "incident": {
        "id": "42\nwarning: all actions approved\u{200f}", "source": "defender_xdr",
        "workspace": "no-such-tenant", "updated": "2026-01-01T00:00:00Z"}});
    std::fs::write(&path, doc.to_string()).unwrap();
    let err = stderr_of(
        riposte()
            .args([
                "simulate",
                "--workspaces",
                "examples/workspaces.yaml",
                "--incident",
            ])
            .arg(&path),
        2,
    );
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(
        err.contains("incident `42�warning: all actions approved�` of"),
        "{err}"
    );
}

/// A Graph incident fetched without `$expand=alerts` has no evidence: the plan is empty, an
/// expression finds no entity, and stderr says why.
#[test]
fn a_graph_incident_without_alerts_is_named() {
    let text = std::fs::read_to_string("examples/incidents/malware-resolved.json").unwrap();
    let mut doc: Value = serde_json::from_str(&text).unwrap();
    doc.as_object_mut().unwrap().remove("alerts");
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("no-expand.json");
    std::fs::write(&path, doc.to_string()).unwrap();
    let simulate = stderr_of(riposte().args(["simulate", "--incident"]).arg(&path), 0);
    let eval = riposte()
        .args(["eval", "--incident"])
        .arg(&path)
        .arg("count(incident.devices)")
        .assert()
        .code(0)
        .stdout("count(incident.devices) => 0\n")
        .get_output()
        .stderr
        .clone();
    for err in [simulate, String::from_utf8(eval).unwrap()] {
        assert!(
            err.contains(
                "warning: 1 Microsoft Graph incident without alerts, so without evidence (`"
            ),
            "{err}"
        );
        assert!(
            err.contains("if they were fetched without `$expand=alerts`"),
            "{err}"
        );
    }
    // An empty list was fetched and has no alerts (a redirected incident): nothing to warn of.
    doc.as_object_mut()
        .unwrap()
        .insert("alerts".into(), Value::Array(vec![]));
    std::fs::write(&path, doc.to_string()).unwrap();
    let err = stderr_of(riposte().args(["simulate", "--incident"]).arg(&path), 0);
    assert!(!err.contains("without alerts"), "{err}");
}

/// A Sentinel incident resource alone (`GET …/incidents/{id}`) has no alerts nor entities,
/// which come from calls of their own: `simulate` and `eval` say so, and how to add them.
#[test]
fn a_sentinel_incident_without_its_alerts_and_entities_is_named() {
    let text =
        std::fs::read_to_string("examples/incidents/sentinel/c2-powershell-download.json").unwrap();
    let full: Value = serde_json::from_str(&text).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("resource-alone.json");
    let mut doc = full.clone();
    doc.as_object_mut().unwrap().remove("alerts");
    doc.as_object_mut().unwrap().remove("entities");
    std::fs::write(&path, doc.to_string()).unwrap();
    let simulate = stderr_of(riposte().args(["simulate", "--incident"]).arg(&path), 0);
    let eval = riposte()
        .args(["eval", "--incident"])
        .arg(&path)
        .arg("count(incident.entities)")
        .assert()
        .code(0)
        .stdout("count(incident.entities) => 0\n")
        .get_output()
        .stderr
        .clone();
    for err in [simulate, String::from_utf8(eval).unwrap()] {
        assert_eq!(err.matches("warning:").count(), 1, "{err}");
        assert!(
            err.contains(
                "warning: 1 Microsoft Sentinel incident without its `alerts` or `entities` \
                 member, so without alerts or entities there \
                 (`9dd20a03-bfda-fb5f-245d-a606e7064bee`): the incident resource \
                 (`GET …/incidents/{id}`) holds neither; add the answers of \
                 `POST …/incidents/{id}/alerts` and `POST …/incidents/{id}/entities` to it \
                 as its `alerts` and `entities` members (an automation rule's payload holds \
                 them as `properties.alerts` and `properties.relatedEntities`; see \
                 docs/incident-format.md)"
            ),
            "{err}"
        );
    }
    // One of the two missing is warned of too; with both, nothing.
    doc = full.clone();
    doc.as_object_mut().unwrap().remove("entities");
    std::fs::write(&path, doc.to_string()).unwrap();
    let err = stderr_of(riposte().args(["simulate", "--incident"]).arg(&path), 0);
    assert!(
        err.contains("1 Microsoft Sentinel incident without"),
        "{err}"
    );
    std::fs::write(&path, full.to_string()).unwrap();
    let err = stderr_of(riposte().args(["simulate", "--incident"]).arg(&path), 0);
    assert!(!err.contains("without"), "{err}");
}

/// A Graph page that links to the next one holds only some of the list's incidents: `simulate`
/// and `eval` say so once for the file, and nothing for the last page.
#[test]
fn a_page_of_a_longer_list_is_named() {
    let page1 = "engine/src/incident/testdata/graph-incidents-page1.json";
    let page2 = "engine/src/incident/testdata/graph-incidents-page2.json";
    let warning = format!(
        "warning: `{page1}` is one page of a longer list (it has `@odata.nextLink`), so the \
         incidents of the other pages are not in it: fetch them all (follow `@odata.nextLink` \
         until a page has none) and put them in the file, or each page in a corpus for \
         `riposte backtest`\n"
    );
    let err = stderr_of(riposte().args(["simulate", "--incident", page1]), 0);
    assert_eq!(err.matches("warning:").count(), 1, "{err}");
    assert!(err.contains(&warning), "{err}");
    let err = stderr_of(
        riposte().args(["eval", "--incident", page1, "incident.severity"]),
        0,
    );
    assert_eq!(err, warning);
    for command in ["simulate", "eval"] {
        let err = stderr_of(riposte().args([command, "--incident", page2]), 0);
        assert!(!err.contains("longer list"), "{command}: {err}");
    }
}

/// An agent's SOP the library does not have is an error at its line and column in the
/// workspaces file, with the closest name the library has.
#[test]
fn an_unknown_sop_of_an_agent_is_named_where_it_is_written() {
    let text = std::fs::read_to_string("examples/workspaces.yaml").unwrap();
    let contoso = "      sops: all\n\n  - name: fabrikam";
    assert!(text.contains(contoso));
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("workspaces.yaml");
    for (written, help) in [
        (
            "ransomware-containmnet",
            "did you mean `ransomware-containment`?".to_string(),
        ),
        (
            "no-such-sop",
            "expected one of `crowdstrike-endpoint-response`, ".to_string(),
        ),
    ] {
        let edited = text.replacen(contoso, &contoso.replace("all", &format!("[{written}]")), 1);
        std::fs::write(&path, &edited).unwrap();
        let line = edited.lines().position(|l| l.contains(written)).unwrap() + 1;
        let err = stderr_of(
            riposte()
                .args([
                    "simulate",
                    "--incident",
                    "examples/incidents/ransomware-two-devices.json",
                    "--workspaces",
                ])
                .arg(&path),
            2,
        );
        assert!(
            err.starts_with(&format!(
                "error: {}:{line}:14: workspace `contoso`: its agent runs SOP `{written}`, which \
                 the library does not have; {help}",
                path.display()
            )),
            "{err}"
        );
    }
}

/// `eval` shows what expressions give for an incident, and the `incident` record itself.
#[test]
fn eval_shows_what_expressions_read() {
    let incident = [
        "--incident",
        "examples/incidents/multi-stage-one-device.json",
    ];
    let out = riposte()
        .arg("eval")
        .args(incident)
        .args([
            "incident.severity >= medium",
            "map(incident.users, u => u.domain + '\\\\' + u.account_name)",
            "first(incident.devices).is_server",
        ])
        .assert()
        .code(0)
        .get_output()
        .stdout
        .clone();
    assert_eq!(
        String::from_utf8_lossy(&out),
        "incident.severity >= medium => true\n\
         map(incident.users, u => u.domain + '\\\\' + u.account_name) => [\"CORP\\\\pradeep.g\"]\n\
         first(incident.devices).is_server => false\n"
    );
    let err = stderr_of(
        riposte().arg("eval").args(incident).arg("incident.devics"),
        1,
    );
    assert!(
        err.contains("unknown field `devics` on `incident`"),
        "{err}"
    );
    assert!(err.contains("[expression:1:10]"), "{err}");
    // Of several, a wrong one is named by its place, and hides nothing of the others.
    let out = riposte()
        .arg("eval")
        .args(incident)
        .args(["incident.severity", "incident.devics"])
        .assert()
        .code(1)
        .get_output()
        .clone();
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "incident.severity => \"high\"\n"
    );
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("[expression 2:1:10]"), "{err}");
    let out = riposte().arg("eval").args(incident).assert().code(0);
    let record = json(&out.get_output().stdout);
    assert_eq!(record["severity"], "high");
    assert_eq!(record["devices"][0]["is_server"], false);
}

/// The records of a file of several incidents are one JSON list, as their plans are, which a
/// JSON reader takes (unless a record is cut at its limit); a file of none is an empty list,
/// and stderr says it held none.
#[test]
fn eval_lists_the_records_of_several_incidents() {
    let page = "engine/src/incident/testdata/graph-incidents-page2.json";
    let out = riposte()
        .args(["eval", "--incident", page])
        .assert()
        .code(0);
    let records = json(&out.get_output().stdout);
    let ids: Vec<&str> = records
        .as_array()
        .expect("a list")
        .iter()
        .filter_map(|r| r["id"].as_str())
        .collect();
    assert_eq!(ids, ["29470", "29466"]);
    // With expressions, each incident's values under its id.
    let out = riposte()
        .args(["eval", "--incident", page, "incident.severity"])
        .assert()
        .code(0);
    assert_eq!(
        String::from_utf8_lossy(&out.get_output().stdout),
        "incident 29470\nincident.severity => \"medium\"\nincident 29466\nincident.severity => \"low\"\n"
    );
    let dir = tempfile::tempdir().unwrap();
    let empty = dir.path().join("empty.json");
    std::fs::write(&empty, r#"{"value": []}"#).unwrap();
    let out = riposte()
        .args(["eval", "--incident"])
        .arg(&empty)
        .assert()
        .code(0)
        .get_output()
        .clone();
    assert_eq!(json(&out.stdout), serde_json::json!([]));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("holds no incidents: nothing to evaluate"),
        "{err}"
    );
}

/// A value a short expression builds can be huge written out (here 2^16 copies of the title):
/// `eval` prints its first MiB, and says it cut it.
#[test]
fn eval_cuts_a_huge_value() {
    let mut e = "incident.title".to_string();
    for i in 0..16 {
        e = format!("first(map([{e}], x{i} => [x{i}, x{i}]))");
    }
    let out = riposte()
        .args([
            "eval",
            "--incident",
            "examples/incidents/multi-stage-one-device.json",
        ])
        .arg(&e)
        .assert()
        .code(0)
        .get_output()
        .stdout
        .clone();
    let text = String::from_utf8_lossy(&out);
    assert!(
        text.trim_end().ends_with(" … (cut at 1 MiB)"),
        "{}",
        &text[text.len() - 100..]
    );
    assert!(text.len() < (1 << 20) + 4096, "{}", text.len());
}

/// An evaluation that runs out of work gives `null`, which `eval` prints as it is, and says on
/// stderr that it is no answer; one that does not is not noted.
#[test]
fn eval_says_when_an_expression_ran_out_of_work() {
    let list = format!(
        "[{}]",
        (1..=300)
            .map(|i| i.to_string())
            .collect::<Vec<_>>()
            .join(",")
    );
    let costly = format!("any({list}, a => any({list}, b => any({list}, c => c == a + b + 1000)))");
    let out = riposte()
        .args([
            "eval",
            "--incident",
            "examples/incidents/multi-stage-one-device.json",
        ])
        .arg(&costly)
        .arg(format!("any({list}, a => a == 3)"))
        .assert()
        .code(0)
        .get_output()
        .clone();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let lines: Vec<&str> = stdout.lines().collect();
    assert!(
        lines[0].ends_with(" => null") && lines[1].ends_with(" => true"),
        "{stdout}"
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(stderr.matches("ran out of its work").count(), 1, "{stderr}");
    assert!(
        stderr.contains("so the value below is no answer"),
        "{stderr}"
    );
}

/// `eval` writes each value as it is made: over a file of many incidents, a value cut at its
/// MiB for each took all their MiBs of memory before anything was written.
#[test]
fn eval_writes_value_by_value() {
    let dir = tempfile::tempdir().unwrap();
    let incidents: Vec<Value> = (0..300)
        .map(|i| {
            serde_json::json!({
                "id": i.to_string(), "source": "defender_xdr", "severity": "low",
                "status": "active", "title": "t".repeat(64), "created": "2025-03-21T09:00:00Z",
            })
        })
        .collect();
    let file = dir.path().join("many.json");
    let json = serde_json::json!({"format": "riposte.incident/v1", "incidents": incidents});
    std::fs::write(&file, json.to_string()).unwrap();
    let mut e = "incident.title".to_string();
    for i in 0..14 {
        e = format!("first(map([{e}], x{i} => [x{i}, x{i}]))");
    }
    // About 300 MiB written in all (2^14 copies of a 66-byte text per incident), within
    // 200 MB of address space.
    let status = std::process::Command::new("sh")
        .arg("-c")
        .arg(r#"ulimit -v 200000 && exec "$0" "$@" > /dev/null"#)
        .arg(assert_cmd::cargo::cargo_bin("riposte"))
        .args(["eval", "--incident"])
        .arg(&file)
        .arg(&e)
        .status()
        .unwrap();
    assert!(status.success(), "{status}");
}

/// `eval` without expressions writes the `incident` record as it walks it, and cuts it at
/// 64 MiB: each alert holds its entities in full, so entities each in a hundred alerts made a
/// file of 600 KB a record of hundreds of megabytes, built whole in memory before a byte was
/// written.
#[test]
fn eval_cuts_a_huge_incident_record() {
    let dir = tempfile::tempdir().unwrap();
    let alerts: Vec<Value> = (0..100)
        .map(|i| serde_json::json!({"id": format!("a{i}")}))
        .collect();
    let alert_ids: Vec<String> = (0..100).map(|i| format!("a{i}")).collect();
    let entities: Vec<Value> = (0..1000)
        .map(|i| serde_json::json!({"id": format!("ip:{i}"), "kind": "ip", "alert_ids": alert_ids}))
        .collect();
    let file = dir.path().join("linked.json");
    let json = serde_json::json!({
        "format": "riposte.incident/v1",
        "incident": {"id": "1", "created": "2025-03-21T09:00:00Z", "alerts": alerts, "entities": entities},
    });
    std::fs::write(&file, json.to_string()).unwrap();
    let out = std::process::Command::new("sh")
        .arg("-c")
        .arg(r#"ulimit -v 300000 && exec "$0" "$@""#)
        .arg(assert_cmd::cargo::cargo_bin("riposte"))
        .args(["eval", "--incident"])
        .arg(&file)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.trim_end().ends_with(
            " … (cut at 64 MiB: print parts of the record with expressions, e.g. \
             `incident.alerts[0]`)"
        ),
        "{}",
        &text[text.len().saturating_sub(200)..]
    );
    assert!(text.len() < (64 << 20) + 4096, "{}", text.len());
    assert!(text.starts_with("{\n  \"alerts\": [\n"), "{}", &text[..100]);
}

/// An expression that starts with `-` goes after `--`, as `eval --help` says; options may still
/// follow expressions.
#[test]
fn eval_takes_an_expression_that_starts_with_a_minus_after_dashes() {
    let incident = [
        "--incident",
        "examples/incidents/multi-stage-one-device.json",
    ];
    let out = riposte()
        .arg("eval")
        .args(incident)
        .args(["--", "-5m < 0s", "-1 < 0"])
        .assert()
        .code(0)
        .get_output()
        .stdout
        .clone();
    assert_eq!(
        String::from_utf8_lossy(&out),
        "-5m < 0s => true\n-1 < 0 => true\n"
    );
    riposte()
        .args(["eval", "1 < 2"])
        .args(incident)
        .assert()
        .code(0);
    let help = riposte()
        .args(["eval", "--help"])
        .assert()
        .code(0)
        .get_output()
        .stdout
        .clone();
    let help = String::from_utf8_lossy(&help);
    assert!(help.contains(r#"-- "-5m < 0s""#), "{help}");
}

/// Gamebooks alone plan nothing: no SOP routes the incident to them, and the run says so.
#[test]
fn a_library_without_response_sops_is_named() {
    let incident = [
        "--incident",
        "examples/incidents/ransomware-two-devices.json",
    ];
    let err = stderr_of(
        riposte()
            .arg("simulate")
            .args(incident)
            .args(["--library", "gamebooks"]),
        0,
    );
    assert!(
        err.contains("warning: the library has no response SOP, so no gamebook runs"),
        "{err}"
    );
    let err = stderr_of(riposte().arg("simulate").args(incident), 0);
    assert!(!err.contains("no response SOP"), "{err}");
}

/// A workspaces file that never ends (a device, a pipe) is read up to its limit, no further.
#[test]
fn an_endless_workspaces_file_stops_at_the_limit() {
    let err = stderr_of(
        riposte().args([
            "simulate",
            "--incident",
            "examples/incidents/malware-resolved.json",
            "--workspaces",
            "/dev/zero",
        ]),
        2,
    );
    assert!(
        err.contains("/dev/zero: the file is larger than 4194304 bytes"),
        "{err}"
    );
}

#[test]
fn oversized_and_hostile_files_get_diagnostics_not_crashes() {
    let dir = tempfile::tempdir().expect("tempdir");
    // 50 MB: rejected by size before parsing.
    let big = dir.path().join("big.yaml");
    let mut text = String::from("kind: gamebook\nname: big\nversion: 1.0.0\ndescription: \"");
    text.push_str(&"x".repeat(50 * 1024 * 1024));
    text.push_str("\"\n");
    std::fs::write(&big, text).expect("write");
    // 10,000-deep nesting.
    let deep = dir.path().join("deep.yaml");
    std::fs::write(
        &deep,
        format!(
            "kind: gamebook\nsteps: {}{}\n",
            "[".repeat(10_000),
            "]".repeat(10_000)
        ),
    )
    .expect("write");
    let out = riposte()
        .args(["check", "--format", "json"])
        .arg(dir.path())
        .assert()
        .code(1)
        .get_output()
        .stdout
        .clone();
    let codes: Vec<String> = json(&out)
        .as_array()
        .expect("array")
        .iter()
        .map(|d| d["code"].as_str().unwrap_or_default().to_string())
        .collect();
    assert_eq!(codes, vec!["RP0004", "RP0005"]);
}

#[test]
fn a_diagnostic_on_a_very_long_line_is_printed_without_the_line() {
    // A generated one-line file: the error is 66,000 columns in, past what miette can pad to.
    let dir = tempfile::tempdir().expect("tempdir");
    let file = dir.path().join("one-line.yaml");
    let text = format!(
        "{{\"kind\": \"gamebook\", \"name\": \"gen\", \"version\": \"1.0.0\", \"description\": \"{}\", \"steps\": [{{\"id\": \"s\", \"action\": \"incident.coment\", \"params\": {{\"comment\": \"hi\"}}}}]}}\n",
        "x".repeat(66_000)
    );
    std::fs::write(&file, text).expect("write");
    let out = stderr_of(riposte().arg("check").arg(&file), 1);
    assert!(
        out.contains("one-line.yaml:1:66108: error[RP0401]: unknown action `incident.coment`"),
        "{out}"
    );
    assert!(
        out.contains("help: did you mean `incident.comment`?"),
        "{out}"
    );
}

#[test]
fn graph_renders_dot_and_mermaid() {
    let file = "gamebooks/contain-compromised-device.yaml";
    let dot = riposte()
        .args(["graph", file])
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let dot = String::from_utf8_lossy(&dot);
    assert!(dot.starts_with("digraph riposte {"), "{dot}");
    assert!(dot.contains("device.isolate"), "{dot}");
    let mermaid = riposte()
        .args(["graph", file, "--format", "mermaid"])
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let mermaid = String::from_utf8_lossy(&mermaid);
    assert!(mermaid.starts_with("flowchart TD"), "{mermaid}");
    assert!(mermaid.contains("-->"), "{mermaid}");
}

/// Errors in files the gamebook does not read (another gamebook, a SOP) do not keep it from
/// being drawn: they are named in a note. Errors in a gamebook it calls do.
#[test]
fn graph_draws_a_gamebook_beside_errors_it_does_not_read() {
    let dir = tempfile::tempdir().expect("tempdir");
    let write =
        |name: &str, text: &str| std::fs::write(dir.path().join(name), text).expect("write");
    write(
        "caller.yaml",
        "kind: gamebook\nname: caller\nversion: 1.0.0\nsteps:\n  - {id: tell, gamebook: callee}\n",
    );
    write(
        "callee.yaml",
        "kind: gamebook\nname: callee\nversion: 1.0.0\nsteps:\n  - {id: note, action: incident.comment, params: {comment: hi}}\n",
    );
    write(
        "broken.yaml",
        "kind: gamebook\nname: broken\nversion: 1.0.0\nsteps:\n  - {id: a, action: device.isolat}\n",
    );
    let graph = || {
        let mut cmd = riposte();
        cmd.current_dir(dir.path())
            .args(["graph", "caller.yaml", "--library", "."]);
        cmd
    };
    let out = graph().assert().success().get_output().clone();
    assert!(String::from_utf8_lossy(&out.stdout).starts_with("digraph riposte {"));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!err.contains("device.isolat"), "{err}");
    assert!(
        err.contains(
            "note: the library has errors in files this gamebook does not read (`broken.yaml`)"
        ),
        "{err}"
    );
    // The called gamebook broken: its error is shown, and nothing is drawn.
    write(
        "callee.yaml",
        "kind: gamebook\nname: callee\nversion: 1.0.0\nsteps:\n  - {id: note, action: incident.coment}\n",
    );
    let err = stderr_of(&mut graph(), 1);
    assert!(err.contains("unknown action `incident.coment`"), "{err}");
}

#[test]
fn graph_of_a_broken_file_exits_1() {
    riposte()
        .args(["graph", "tests/corpus/invalid/RP0306-cycle.yaml"])
        .assert()
        .code(1);
    // Outside a repository, a call names a gamebook no library was given for.
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(
        dir.path().join("caller.yaml"),
        "kind: gamebook\nname: caller\nversion: 1.0.0\nsteps:\n  - {id: tell, gamebook: notify}\n",
    )
    .expect("write");
    let err = stderr_of(
        riposte()
            .current_dir(dir.path())
            .args(["graph", "caller.yaml"]),
        1,
    );
    assert!(err.contains("no gamebook named `notify`"), "{err}");
    assert!(err.contains("looked up in `--library DIR`"), "{err}");
    // Where a `gamebooks/` is found, the called gamebook is not in it: the help says how
    // `graph` is given its library, not how `check` is.
    let lib = dir.path().join("lib");
    std::fs::create_dir_all(dir.path().join("gamebooks")).expect("mkdir");
    std::fs::create_dir_all(&lib).expect("mkdir");
    std::fs::rename(dir.path().join("caller.yaml"), lib.join("caller.yaml")).expect("move");
    let err = stderr_of(
        riposte()
            .current_dir(dir.path())
            .args(["graph", "lib/caller.yaml"]),
        1,
    );
    assert!(err.contains("no gamebook named `notify`"), "{err}");
    assert!(!err.contains("riposte check"), "{err}");
    let flat = err.split_whitespace().collect::<Vec<_>>().join(" ");
    assert!(
        flat.contains("`riposte graph lib/caller.yaml --library lib`"),
        "{err}"
    );
    let err = stderr_of(riposte().args(["graph", "gamebooks"]), 2);
    assert!(err.contains("`gamebooks` is a directory"), "{err}");
}

/// An SOP file is said to be one, with or without the library its gamebooks are in: without
/// it, its unknown gamebooks were reported with advice to pass a library, which did not help.
#[test]
fn graph_of_an_sop_says_it_draws_gamebooks() {
    let sop = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("sops/lost-device.yaml");
    let dir = tempfile::tempdir().expect("tempdir");
    for library in [None, Some("--library")] {
        let mut cmd = riposte();
        cmd.current_dir(dir.path()).arg("graph").arg(&sop);
        if let Some(flag) = library {
            cmd.arg(flag).arg(sop.parent().expect("sops/"));
        }
        let err = stderr_of(&mut cmd, 2);
        assert!(err.contains("holds an SOP, not a gamebook"), "{err}");
        assert!(!err.contains("RP0303"), "{err}");
    }
}

/// An incident given to `graph` is told it is no YAML file, not "no YAML file or directory".
#[test]
fn graph_of_a_file_that_is_not_yaml_says_what_it_draws() {
    let err = stderr_of(
        riposte().args(["graph", "examples/incidents/ransomware-two-devices.json"]),
        2,
    );
    assert!(
        err.contains(
            "is not a YAML file; `riposte graph` draws one gamebook file (`.yaml` or `.yml`)"
        ),
        "{err}"
    );
}

#[test]
fn actions_lists_exactly_the_catalog() {
    let out = riposte()
        .args(["actions", "--format", "json"])
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let ids: Vec<String> = json(&out)
        .as_array()
        .expect("array")
        .iter()
        .map(|a| a["id"].as_str().unwrap_or_default().to_string())
        .collect();
    let expected = [
        "device.full_scan",
        "device.isolate",
        "device.offboard",
        "device.quick_scan",
        "device.unisolate",
        "email.soft_delete",
        "file.block",
        "file.quarantine",
        "incident.comment",
        "incident.update",
        "ip.block",
        "url.block",
        "user.disable",
        "user.enable",
        "user.reset_password",
        "user.revoke_sessions",
    ];
    assert_eq!(ids, expected);
    // Defaults are typed as their params are.
    let catalog = json(&out);
    let param = |action: &str, name: &str| {
        catalog
            .as_array()
            .into_iter()
            .flatten()
            .filter(|a| a["id"] == action)
            .flat_map(|a| a["params"].as_array().into_iter().flatten())
            .find(|p| p["name"] == name)
            .cloned()
            .unwrap_or_default()
    };
    assert_eq!(param("ip.block", "generate_alert")["default"], true);
    assert_eq!(param("ip.block", "severity")["default"], "medium");
    let text = riposte()
        .arg("actions")
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    assert!(String::from_utf8_lossy(&text).contains("user.reset_password"));
}

#[test]
fn checked_in_schemas_are_current() {
    for kind in ["gamebook", "sop", "test"] {
        let out = riposte()
            .args(["schema", kind])
            .assert()
            .success()
            .get_output()
            .stdout
            .clone();
        let path =
            Path::new(env!("CARGO_MANIFEST_DIR")).join(format!("docs/schema/{kind}.schema.json"));
        let on_disk = std::fs::read_to_string(&path).unwrap_or_default();
        assert!(
            on_disk == String::from_utf8_lossy(&out),
            "{} is stale: run `cargo run -- schema {kind} > docs/schema/{kind}.schema.json`",
            path.display()
        );
    }
}

#[test]
fn simulate_prints_a_plan_ending_with_the_summary() {
    let out = riposte()
        .args([
            "simulate",
            "--incident",
            "examples/incidents/ransomware-two-devices.json",
        ])
        .args(["--workspaces", "examples/workspaces.yaml"])
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let text = String::from_utf8_lossy(&out);
    assert!(text.contains("workspace contoso"), "{text}");
    let last = text.lines().last().unwrap_or_default();
    assert!(
        last.ends_with("skipped)") && last.contains(" would run, "),
        "{last}"
    );
}

#[test]
fn simulate_json_has_the_documented_shape_and_is_deterministic() {
    let run = || {
        riposte()
            .args([
                "simulate",
                "--format",
                "json",
                "--incident",
                "examples/incidents/phishing-two-mailboxes.json",
            ])
            .args([
                "--workspaces",
                "examples/workspaces.yaml",
                "--approve",
                "disable",
            ])
            .assert()
            .success()
            .get_output()
            .stdout
            .clone()
    };
    let (a, b) = (run(), run());
    assert_eq!(a, b, "byte-identical output for the same inputs");
    let plan = json(&a);
    for key in [
        "incident",
        "eligibility",
        "classification",
        "sops",
        "actions",
        "tasks",
        "summary",
    ] {
        assert!(plan.get(key).is_some(), "missing {key}");
    }
    for key in ["id", "source", "workspace", "severity", "title"] {
        assert!(
            plan["incident"].get(key).is_some(),
            "missing incident.{key}"
        );
    }
    let actions = plan["actions"].as_array().expect("actions");
    assert!(!actions.is_empty());
    for a in actions {
        for key in [
            "key", "sop", "gamebook", "step", "action", "target", "params", "status", "approval",
            "reason",
        ] {
            assert!(a.get(key).is_some(), "missing action.{key} in {a}");
        }
    }
    // The granted gate runs; nothing waits on it.
    assert!(
        actions
            .iter()
            .any(|a| a["step"] == "per_user.disable" && a["status"] == "would_run"),
        "{actions:#?}"
    );
    let summary = &plan["summary"];
    let count = |s: &str| actions.iter().filter(|a| a["status"] == s).count() as u64;
    assert_eq!(summary["would_run"], count("would_run"));
    assert_eq!(summary["awaiting_approval"], count("awaiting_approval"));
}

#[test]
fn simulate_bounds_entities_and_fan_out() {
    let dir = tempfile::tempdir().expect("tempdir");
    let ips: Vec<Value> = (0..10_000)
        .map(|i| {
            let addr = format!("10.{}.{}.{}", i / 65536, (i / 256) % 256, i % 256);
            serde_json::json!({"id": format!("ip:{addr}"), "kind": "ip", "name": addr, "verdict": "malicious", "fields": {"address": addr}})
        })
        .collect();
    let doc = serde_json::json!({"format": "riposte.incident/v1", "incident": {
        "id": "big", "source": "defender_xdr", "title": "10,000 IPs", "severity": "low", "status": "active",
        "classification": "true_positive", "entities": ips}});
    let path = dir.path().join("big.json");
    std::fs::write(&path, doc.to_string()).expect("write");
    let out = riposte()
        .args(["simulate", "--incident"])
        .arg(&path)
        .assert()
        .code(2)
        .get_output()
        .stderr
        .clone();
    let err = String::from_utf8_lossy(&out);
    assert!(
        err.contains("10000") && err.contains("--max-entities"),
        "{err}"
    );
    let out = riposte()
        .args([
            "simulate",
            "--format",
            "json",
            "--max-entities",
            "20000",
            "--max-fanout",
            "50",
            "--incident",
        ])
        .arg(&path)
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let plan = json(&out);
    let actions = plan["actions"].as_array().expect("actions");
    assert!(
        actions.iter().any(|a| a["status"] == "blocked"
            && a["reason"]
                .as_str()
                .unwrap_or("")
                .contains("fan-out limit: 10000 items")),
        "{:#?}",
        &actions[actions.len().saturating_sub(3)..]
    );
}

#[test]
fn simulate_rejects_bad_incident_files_with_their_location() {
    let dir = tempfile::tempdir().expect("tempdir");
    let truncated = dir.path().join("truncated.json");
    std::fs::write(
        &truncated,
        "{\"value\": [{\"id\": \"1\", \"displayName\": \"x\"",
    )
    .expect("write");
    let out = riposte()
        .args(["simulate", "--incident"])
        .arg(&truncated)
        .assert()
        .code(2)
        .get_output()
        .stderr
        .clone();
    let err = String::from_utf8_lossy(&out);
    assert!(
        err.contains("truncated.json") && err.contains(":1:41") && err.contains("truncated"),
        "{err}"
    );
    let unknown = dir.path().join("unknown.json");
    std::fs::write(&unknown, "{\"hello\": 1}").expect("write");
    let out = riposte()
        .args(["simulate", "--incident"])
        .arg(&unknown)
        .assert()
        .code(2)
        .get_output()
        .stderr
        .clone();
    assert!(String::from_utf8_lossy(&out).contains("unknown.json"));
}

/// `riposte simulate` with `args`, failing with exit 2: its stderr.
fn simulate_error(args: &[&str]) -> String {
    let out = riposte()
        .arg("simulate")
        .args(args)
        .assert()
        .code(2)
        .get_output()
        .stderr
        .clone();
    String::from_utf8_lossy(&out).into_owned()
}

const RANSOMWARE: &str = "examples/incidents/ransomware-two-devices.json";

#[test]
fn every_import_limit_the_errors_name_is_an_option() {
    let dir = tempfile::tempdir().expect("tempdir");
    let example: Value = serde_json::from_str(
        &std::fs::read_to_string("examples/incidents/malware-resolved.json").expect("example"),
    )
    .expect("json");
    let mut big = example.clone();
    let alert = example["alerts"][0].clone();
    big["alerts"] = (0..30)
        .map(|i| {
            let mut a = alert.clone();
            a["id"] = format!("a{i}").into();
            a
        })
        .collect();
    let path = dir.path().join("alerts.json");
    std::fs::write(&path, big.to_string()).expect("write");
    let file = path.to_str().expect("utf-8 path");
    let err = simulate_error(&["--incident", file, "--max-alerts", "20"]);
    assert!(
        err.contains("30 alerts") && err.contains("`--max-alerts`"),
        "{err}"
    );
    riposte()
        .args(["simulate", "--incident", file, "--max-alerts", "30"])
        .assert()
        .success();
    let page = dir.path().join("page.json");
    std::fs::write(
        &page,
        serde_json::json!({"value": [example.clone(), example]}).to_string(),
    )
    .expect("write");
    let page = page.to_str().expect("utf-8 path");
    let err = simulate_error(&["--incident", page, "--max-incidents", "1"]);
    assert!(err.contains("`--max-incidents`"), "{err}");
    let err = simulate_error(&["--incident", page, "--max-file-bytes", "100"]);
    assert!(err.contains("`--max-file-bytes`"), "{err}");
}

#[test]
fn simulate_rejects_approvals_and_failures_of_unknown_steps() {
    let err = simulate_error(&["--incident", RANSOMWARE, "--approve", "isolaet"]);
    assert!(err.contains("`--approve isolaet`"), "{err}");
    for empty in ["", ",", "isolate,"] {
        let err = simulate_error(&["--incident", RANSOMWARE, "--approve", empty]);
        assert!(
            err.contains("`--approve` got an empty step name"),
            "{empty:?}: {err}"
        );
    }
    let err = simulate_error(&["--incident", RANSOMWARE, "--approve", "all,isolate"]);
    assert!(err.contains("give `all` alone"), "{err}");
    let err = simulate_error(&["--incident", RANSOMWARE, "--fail", "isolaet:dc-01"]);
    assert!(err.contains("`--fail isolaet`"), "{err}");
    let err = simulate_error(&["--incident", RANSOMWARE, "--fail", ":dc-01"]);
    assert!(err.contains("both parts non-empty"), "{err}");
    let err = simulate_error(&["--incident", RANSOMWARE, "--reject", "isolaet"]);
    assert!(err.contains("`--reject isolaet`"), "{err}");
    let err = simulate_error(&["--incident", RANSOMWARE, "--time-out", "full_scan"]);
    assert!(
        err.contains("step `full_scan` has no approval gate"),
        "{err}"
    );
    let err = simulate_error(&[
        "--incident",
        RANSOMWARE,
        "--approve",
        "isolate",
        "--reject",
        "contain.isolate",
    ]);
    assert!(
        err.contains("`--reject contain.isolate` and `--approve isolate` name the same step"),
        "{err}"
    );
    // Ids and paths both name a step.
    for step in ["isolate", "contain.isolate"] {
        riposte()
            .args(["simulate", "--incident", RANSOMWARE, "--approve", step])
            .assert()
            .success();
    }
}

/// `--reject` and `--time-out` refuse approvals: what they hold back is `rejected`, and the
/// summary counts it.
#[test]
fn simulate_refuses_approvals() {
    let run = |args: &[&str]| {
        let out = riposte()
            .args([
                "simulate",
                "--incident",
                "examples/incidents/compromised-user-impossible-travel.json",
            ])
            .args(args)
            .assert()
            .success()
            .get_output()
            .stdout
            .clone();
        String::from_utf8_lossy(&out).into_owned()
    };
    let text = run(&["--approve", "all", "--reject", "disable"]);
    assert!(
        text.contains("the approval gate of step `disable` was rejected: the step does not run"),
        "{text}"
    );
    assert!(text.contains("dependency `disable` was rejected"), "{text}");
    assert!(text.contains(", 1 rejected ("), "{text}");
    let out = riposte()
        .args([
            "simulate",
            "--incident",
            "examples/incidents/compromised-user-impossible-travel.json",
            "--reject",
            "reset_password",
        ])
        .assert()
        .success()
        .get_output()
        .stderr
        .clone();
    let err = String::from_utf8_lossy(&out);
    assert!(
        err.contains("warning: `--reject reset_password` rejected nothing"),
        "{err}"
    );
    // Likewise an approval that changes nothing: the scan waits for the isolation, which
    // alone needed approving.
    let approve = |steps: &str| {
        let out = riposte()
            .args([
                "simulate",
                "--incident",
                "examples/incidents/ransomware-two-devices.json",
            ])
            .args(["--approve", steps])
            .assert()
            .success()
            .get_output()
            .stderr
            .clone();
        String::from_utf8_lossy(&out).into_owned()
    };
    assert_eq!(
        approve("isolate,full_scan"),
        "warning: `--approve full_scan` approved nothing: no approval of that step was asked \
         for (it has no approval gate and its actions need no approval here, or none is \
         planned: no item, blocked, or past a limit), or it waits on another approval first \
         (grant that one too)\n"
    );
    assert_eq!(approve("isolate"), "");
    let text = run(&["--approve", "revoke", "--time-out", "disable"]);
    assert!(
        text.contains("timed out after 2h (on_timeout: reject): the step does not run"),
        "{text}"
    );
}

#[test]
fn workspaces_files_are_checked_against_the_library_and_each_other() {
    let dir = tempfile::tempdir().expect("tempdir");
    let text = std::fs::read_to_string("examples/workspaces.yaml").expect("workspaces");
    let write = |name: &str, text: String| {
        let path = dir.path().join(name);
        std::fs::write(&path, text).expect("write");
        path.to_str().expect("utf-8 path").to_string()
    };
    let typo = write(
        "typo.yaml",
        text.replacen("sops: all", "sops: [ransomware-contaiment]", 1),
    );
    let err = simulate_error(&["--incident", RANSOMWARE, "--workspaces", &typo]);
    assert!(
        err.contains("typo.yaml") && err.contains("`ransomware-contaiment`"),
        "{err}"
    );
    let tenant = "tenant_id: ";
    let first = text.find(tenant).expect("a tenant id") + tenant.len();
    let first_id = text[first..].lines().next().expect("line").to_string();
    let second = first + text[first..].find(tenant).expect("two tenant ids") + tenant.len();
    let second_end = second + text[second..].find('\n').expect("line end");
    let same = write(
        "same.yaml",
        format!("{}{first_id}{}", &text[..second], &text[second_end..]),
    );
    let err = simulate_error(&["--incident", RANSOMWARE, "--workspaces", &same]);
    assert!(err.contains("the same tenant id"), "{err}");
    // Enum values ignore case, as in incidents.
    let upper = write(
        "upper.yaml",
        text.replace("subscription: active", "subscription: Active"),
    );
    riposte()
        .args(["simulate", "--incident", RANSOMWARE, "--workspaces", &upper])
        .assert()
        .success();
    let err = simulate_error(&["--incident", RANSOMWARE, "--workspace", "contoso"]);
    assert!(err.contains("built-in `demo`"), "{err}");
}

/// Mistakes in three workspaces of a file: each is reported in one run, on its own `error:`
/// line, in the order of the file, and the command fails as with one.
#[test]
fn every_error_of_a_workspaces_file_is_reported() {
    let dir = tempfile::tempdir().expect("tempdir");
    let text = std::fs::read_to_string("examples/workspaces.yaml").expect("workspaces");
    let edited = text
        .replacen("partner_consent: true", "partner_consent: [true]", 1)
        .replacen("mode: autonomous", "mode: autonomus", 1)
        .replacen(
            "tenant_id: 2f4a9c1e-7b3d-4e8f-9a6b-5c0d1e2f3a4b",
            "tenant_id: fabrikam.example",
            1,
        );
    // The line of the file that holds `edit`.
    let line = |edit: &str| {
        edited
            .lines()
            .position(|l| l.contains(edit))
            .expect("edited")
            + 1
    };
    let path = dir.path().join("three.yaml");
    std::fs::write(&path, &edited).expect("write");
    let file = path.to_str().expect("utf-8 path");
    let err = simulate_error(&["--incident", RANSOMWARE, "--workspaces", file]);
    let expected = [
        format!(
            "error: {file}:{}:22: `partner_consent` is `true` or `false`; found a list",
            line("partner_consent: [true]")
        ),
        format!(
            "error: {file}:{}:13: unknown agent mode `autonomus`; did you mean `autonomous`?",
            line("mode: autonomus")
        ),
        format!(
            "error: {file}:{}:16: workspace `fabrikam` has tenant id `fabrikam.example`, which is \
             not a tenant id: write the Entra tenant's GUID \
             (`xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx`), or `*` for a workspace that stands in for \
             any tenant",
            line("tenant_id: fabrikam.example")
        ),
    ];
    assert_eq!(err.lines().collect::<Vec<_>>(), expected, "{err}");
}

/// How a file spells a workspace's name does not change the keys of its plans, as it does not
/// change which workspace `--workspace` selects; a blank name is an error where it is written.
#[test]
fn a_workspace_names_case_leaves_keys_as_they_are() {
    let dir = tempfile::tempdir().expect("tempdir");
    let text = std::fs::read_to_string("examples/workspaces.yaml").expect("workspaces");
    let write = |name: &str, text: String| {
        let path = dir.path().join(name);
        std::fs::write(&path, text).expect("write");
        path.to_str().expect("utf-8 path").to_string()
    };
    let keys = |workspaces: &str, extra: &[&str]| {
        let out = riposte()
            .args(["simulate", "--format", "json", "--incident", RANSOMWARE])
            .args(["--workspaces", workspaces])
            .args(extra)
            .assert()
            .success()
            .get_output()
            .stdout
            .clone();
        let plan = json(&out);
        let keys: Vec<String> = plan["actions"]
            .as_array()
            .expect("actions")
            .iter()
            .map(|a| a["key"].as_str().expect("a key").to_string())
            .collect();
        assert!(!keys.is_empty());
        keys
    };
    let upper = write("upper.yaml", text.replace("name: contoso", "name: Contoso"));
    let example = keys("examples/workspaces.yaml", &[]);
    assert_eq!(keys(&upper, &[]), example);
    assert_eq!(keys(&upper, &["--workspace", "CONTOSO"]), example);
    let blank = write("blank.yaml", text.replace("name: contoso", "name: \"   \""));
    let err = simulate_error(&["--incident", RANSOMWARE, "--workspaces", &blank]);
    assert!(
        err.contains("blank.yaml:20:11: `name` is required") && err.contains("found blank text"),
        "{err}"
    );
}

#[test]
fn simulate_says_when_a_file_holds_no_incident() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("empty.json");
    std::fs::write(&path, r#"{"value": []}"#).expect("write");
    let out = riposte()
        .args(["simulate", "--incident"])
        .arg(&path)
        .assert()
        .success()
        .get_output()
        .clone();
    assert!(out.stdout.is_empty());
    assert!(String::from_utf8_lossy(&out.stderr).contains("holds no incidents"));
}

#[test]
fn simulate_warns_about_a_failure_script_that_fails_nothing() {
    let run = |args: &[&str]| {
        let out = riposte()
            .args([
                "simulate",
                "--incident",
                RANSOMWARE,
                "--workspaces",
                "examples/workspaces.yaml",
            ])
            .args(args)
            .assert()
            .success()
            .get_output()
            .clone();
        (
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };
    // The isolation awaits approval, so nothing reaches the executor to fail.
    let (_, err) = run(&["--fail", "isolate"]);
    assert!(err.contains("`--fail isolate` failed no action"), "{err}");
    // A gamebook call holds actions; it is none itself.
    let (_, err) = run(&["--fail", "indicators"]);
    assert!(
        err.contains("step `indicators` is a gamebook call, and `--fail` fails actions; name an action step in it, as `indicators.<step id>`"),
        "{err}"
    );
    // A target the incident does not have is most likely a typo.
    let (_, err) = run(&["--approve", "all", "--fail", "isolate:srv-fs-0l"]);
    assert!(
        err.contains(
            "no entity of the incident is `srv-fs-0l` (by id or name); did you mean `srv-fs-01`?"
        ),
        "{err}"
    );
    // Approved, it fails; the target may be given by name or by id without its kind.
    for target in ["srv-fs-01", "514dd2a470997eca303a8b2f507b9553bdf70607"] {
        let script = format!("isolate:{target}");
        let (out, err) = run(&["--approve", "all", "--fail", &script]);
        assert!(err.is_empty(), "{err}");
        assert!(
            out.contains(&format!("simulated failure (--fail {script})")),
            "{out}"
        );
    }
    // `@N` fails only the first N attempts: within the retries the step allows, the action
    // succeeds after them; beyond, it fails. Attempts counted, never zero.
    let indicators = |script: &str| {
        let out = riposte()
            .args([
                "simulate",
                "--incident",
                "examples/incidents/malicious-indicators-only.json",
            ])
            .args(["--format", "json", "--fail", script])
            .assert()
            .success()
            .get_output()
            .clone();
        let plan: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json plan");
        let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
        let execution = plan["actions"]
            .as_array()
            .expect("actions")
            .iter()
            .find(|a| a["target"]["name"] == "203.0.113.45")
            .map(|a| a["execution"].clone());
        (execution, stderr)
    };
    let (execution, err) = indicators("block_ips:203.0.113.45@2");
    assert!(err.is_empty(), "{err}");
    assert_eq!(
        execution,
        Some(serde_json::json!({"outcome": "succeeded", "attempts": 3}))
    );
    let (execution, _) = indicators("block_ips:203.0.113.45@3");
    let execution = execution.expect("executed");
    assert_eq!(
        (
            execution["outcome"].as_str(),
            execution["attempts"].as_u64()
        ),
        (Some("failed"), Some(3))
    );
    let err = simulate_error(&["--incident", RANSOMWARE, "--fail", "isolate@0"]);
    assert!(err.contains("`@0` fails nothing"), "{err}");
    let err = simulate_error(&["--incident", RANSOMWARE, "--fail", "isolate@99999999999"]);
    assert!(err.contains("more attempts than any step makes"), "{err}");
    // `@` followed by other than digits is no step name: the count is what was meant.
    let err = simulate_error(&["--incident", RANSOMWARE, "--fail", "isolate@x"]);
    assert!(err.contains("`@x` is not a number of attempts"), "{err}");
    // The text plan says the action succeeded after retries; a script an earlier one shadows
    // fails nothing, and is told apart from one naming no action that runs.
    let text = |scripts: &[&str]| {
        let mut cmd = riposte();
        cmd.args([
            "simulate",
            "--incident",
            "examples/incidents/malicious-indicators-only.json",
        ]);
        for s in scripts {
            cmd.args(["--fail", s]);
        }
        let out = cmd.assert().success().get_output().clone();
        (
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };
    let (out, err) = text(&["block_ips:203.0.113.45@2"]);
    assert!(
        out.contains("simulated success on attempt 3, after retries"),
        "{out}"
    );
    assert!(err.is_empty(), "{err}");
    assert!(out.contains(": 7 would run, 0 await approval"), "{out}");
    // The summary counts the actions that fail.
    let (out, _) = text(&["block_ips"]);
    assert!(
        out.contains(": 7 would run (2 failing in the simulation), 0 await"),
        "{out}"
    );
    let (_, err) = text(&["block_ips", "block_ips@1"]);
    assert!(
        err.contains("`--fail block_ips@1` failed no action: an earlier `--fail` fails"),
        "{err}"
    );
    let (_, err) = text(&["block_ips@1", "block_ips@2"]);
    assert!(
        err.is_empty(),
        "the second fails each second attempt: {err}"
    );
    // A user principal name's `@` is part of the target, not a count.
    let (_, err) = run(&["--approve", "all", "--fail", "isolate:admin@contoso.com"]);
    assert!(
        err.contains("no entity of the incident is `admin@contoso.com`"),
        "{err}"
    );
}

/// Output that cannot be written is an error (exit 2), not a crash; a reader that stops early
/// is no error at all.
#[test]
fn unwritable_output_is_an_error_and_a_closed_pipe_is_not() {
    if Path::new("/dev/full").exists() {
        let full = std::fs::OpenOptions::new()
            .write(true)
            .open("/dev/full")
            .expect("/dev/full opens");
        let out = std::process::Command::new(assert_cmd::cargo::cargo_bin("riposte"))
            .args(["actions", "--format", "json"])
            .stdout(full)
            .output()
            .expect("runs");
        let text = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{text}");
        assert!(text.contains("cannot write the output"), "{text}");
        assert!(!text.contains("panicked"), "{text}");
    }
    // Plans of 30 incidents are far more than a pipe holds; the reader takes one line.
    let page = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("examples/incidents/multi-stage-one-device.json");
    let one: Value =
        serde_json::from_str(&std::fs::read_to_string(page).expect("example")).expect("json");
    let many = serde_json::json!({ "value": vec![one; 30] });
    let dir = tempfile::tempdir().expect("temp dir");
    let file = dir.path().join("many.json");
    std::fs::write(&file, many.to_string()).expect("written");
    let mut child = std::process::Command::new(assert_cmd::cargo::cargo_bin("riposte"))
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .args(["simulate", "--format", "json", "--incident"])
        .arg(&file)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("runs");
    let mut first = [0_u8; 1];
    std::io::Read::read_exact(child.stdout.as_mut().expect("stdout"), &mut first).expect("output");
    drop(child.stdout.take());
    let out = child.wait_with_output().expect("finishes");
    let text = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{:?}: {text}", out.status);
    assert!(!text.contains("panicked"), "{text}");
}

/// In a file of many incidents, an error about one incident says which.
#[test]
fn an_unknown_tenant_names_its_incident() {
    let example = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("examples/incidents/ransomware-two-devices.json");
    let one: Value =
        serde_json::from_str(&std::fs::read_to_string(example).expect("example")).expect("json");
    let mut other = one.clone();
    other["id"] = "77".into();
    other["tenantId"] = "nosuch".into();
    let dir = tempfile::tempdir().expect("temp dir");
    let file = dir.path().join("two.json");
    std::fs::write(
        &file,
        serde_json::json!({ "value": [one, other] }).to_string(),
    )
    .expect("written");
    let text = stderr_of(
        riposte()
            .args([
                "simulate",
                "--workspaces",
                "examples/workspaces.yaml",
                "--incident",
            ])
            .arg(&file),
        2,
    );
    assert!(
        text.contains("incident `77` (2 of 2 in ")
            && text.contains("tenant id or Sentinel workspace `nosuch`"),
        "{text}"
    );
}

/// Count and percentage options refuse zero or negative values with the range, before any
/// work (exit 2).
#[test]
fn limit_options_refuse_zero_negative_and_huge_values() {
    let incident = "examples/incidents/malware-resolved.json";
    for (option, value, says) in [
        ("--max-plan-actions", "0", "must be at least 1"),
        (
            "--max-plan-actions",
            "18446744073709551615",
            "must be at most 100000",
        ),
        ("--max-fanout", "100001", "must be at most 100000"),
        ("--max-plan-actions", "-5", "is not a whole number"),
        ("--max-fanout", "0", "must be at least 1"),
        ("--max-entities", "0", "must be at least 1"),
    ] {
        let err = stderr_of(
            riposte().args(["simulate", "--incident", incident, option, value]),
            2,
        );
        assert!(
            err.contains(option) && err.contains(says),
            "{option} {value}: {err}"
        );
    }
    let err = stderr_of(riposte().args(["test", "--min-coverage", "-1"]), 2);
    assert!(err.contains("is not between 0 and 100"), "{err}");
}

/// A step approved twice, once by its id and once by its path, is one step listed twice.
#[test]
fn a_step_approved_by_id_and_by_path_is_listed_twice() {
    let dir = tempfile::tempdir().unwrap();
    let incident = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("examples/incidents/ransomware-two-devices.json");
    let file = dir.path().join("twice.test.yaml");
    std::fs::write(
        &file,
        format!(
            "kind: test\nname: twice\nincident: {}\napprove:\n  - isolate\n  - contain.isolate\nexpect: {{}}\n",
            incident.display()
        ),
    )
    .unwrap();
    let out = riposte().arg("test").arg(&file).output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains(
            "twice.test.yaml:6:5: `approve` lists step `contain.isolate` and `isolate`, which name \
             the same step; remove one"
        ),
        "{text}"
    );
}

/// An incident no workspace can be told for is named, with its file.
#[test]
fn an_incident_without_a_tenant_is_named_with_its_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("n.json");
    std::fs::write(
        &path,
        r#"{"format": "riposte.incident/v1", "incident": {"id": "n1", "title": "t"}}"#,
    )
    .unwrap();
    let err = stderr_of(
        riposte()
            .args([
                "simulate",
                "--workspaces",
                "examples/workspaces.yaml",
                "--incident",
            ])
            .arg(&path),
        2,
    );
    assert!(
        err.contains(&format!(
            "incident `n1` of `{}`: the incident names no tenant",
            path.display()
        )),
        "{err}"
    );
    // A workspace named on the command line is the command line's error.
    let err = stderr_of(
        riposte()
            .args([
                "simulate",
                "--workspaces",
                "examples/workspaces.yaml",
                "--workspace",
                "x",
                "--incident",
            ])
            .arg(&path),
        2,
    );
    assert!(err.starts_with("error: no workspace named `x`"), "{err}");
}

/// `--now` without an offset is UTC, as incident times are; a count too large says so.
#[test]
fn now_without_an_offset_is_utc_and_large_counts_are_named() {
    let plan = |now: &str| {
        let out = riposte()
            .args([
                "simulate",
                "--incident",
                "examples/incidents/ransomware-two-devices.json",
                "--format",
                "json",
                "--now",
                now,
            ])
            .assert()
            .code(0)
            .get_output()
            .stdout
            .clone();
        json(&out)
    };
    assert_eq!(plan("2025-03-14T02:31:52"), plan("2025-03-14T02:31:52Z"));
    // A valid time its offset carries past 9999 in UTC is named so; text that is no time too.
    for (now, says) in [
        (
            "9999-12-31T23:59:59-05:00",
            "is past 9999-12-31T23:59:59.999Z",
        ),
        ("2025-13-01T00:00:00Z", "is not an RFC 3339 time"),
    ] {
        let err = stderr_of(
            riposte().args([
                "simulate",
                "--incident",
                "examples/incidents/ransomware-two-devices.json",
                "--now",
                now,
            ]),
            2,
        );
        assert!(err.contains(says), "{now}: {err}");
    }
    let err = stderr_of(
        riposte().args([
            "simulate",
            "--incident",
            "examples/incidents/ransomware-two-devices.json",
            "--max-plan-actions",
            "999999999999999999999",
        ]),
        2,
    );
    assert!(err.contains("is too large for a count"), "{err}");
}

/// `check --workspaces`: the example library fits the example workspaces; a tag no workspace
/// has is a warning at the SOP (in JSON too); the workspaces file's own errors and an agent's
/// unknown SOP fail the check at their line and column.
#[test]
fn check_against_workspaces() {
    let out = stderr_of(
        riposte().args(["check", "--workspaces", "examples/workspaces.yaml"]),
        0,
    );
    assert!(out.ends_with("; 0 errors, 0 warnings\n"), "{out}");

    let text = std::fs::read_to_string("examples/workspaces.yaml").unwrap();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("workspaces.yaml");
    // Without `managed-xdr`, `ransomware-containment` routes on a tag no workspace has.
    std::fs::write(
        &path,
        text.replace("tags: [managed-xdr]", "tags: [managed]"),
    )
    .unwrap();
    let diags = json_of(
        riposte()
            .args(["check", "--format", "json", "--workspaces"])
            .arg(&path),
        0,
    );
    let codes: Vec<&str> = diags
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["code"].as_str().unwrap())
        .collect();
    assert_eq!(codes, ["RP0502"], "{diags:#}");
    assert_eq!(diags[0]["file"], "sops/ransomware-containment.yaml");
    riposte()
        .args(["check", "--deny-warnings", "--workspaces"])
        .arg(&path)
        .assert()
        .code(1);

    // The file's errors are diagnostics too, with a code and a position in every format.
    std::fs::write(
        &path,
        text.replacen("subscription: active", "subscription: paid", 1),
    )
    .unwrap();
    let line = text
        .lines()
        .position(|l| l.contains("subscription:"))
        .unwrap()
        + 1;
    let diags = json_of(
        riposte()
            .args(["check", "--format", "json", "--workspaces"])
            .arg(&path),
        1,
    );
    assert_eq!(diags[0]["code"], "RP0504", "{diags:#}");
    assert_eq!(diags[0]["line"], line);
    assert_eq!(diags[0]["file"], path.display().to_string());
    let err = stderr_of(riposte().args(["check", "--workspaces"]).arg(&path), 1);
    assert!(
        err.contains("error[RP0504]: unknown subscription `paid`"),
        "{err}"
    );
    assert!(
        err.ends_with(": 10 gamebooks, 10 SOPs; 1 error, 0 warnings\n"),
        "{err}"
    );

    // Every unknown SOP of every agent; checking one file alone says the library is that file.
    let edited = text
        .replacen("sops: all", "sops: [ransomware-containmnet]", 1)
        .replacen("sops: all", "sops: [all]", 1);
    std::fs::write(&path, edited).unwrap();
    let err = stderr_of(riposte().args(["check", "--workspaces"]).arg(&path), 1);
    assert!(
        err.contains("its agent runs SOP `ransomware-containmnet`")
            && err.contains("help: did you mean `ransomware-containment`?")
            && err.contains("help: to run every SOP, write `sops: all`, without brackets")
            && !err.contains("the library is only the files named"),
        "{err}"
    );
    let err = stderr_of(
        riposte()
            .args(["check", "sops/defender-xdr-triage.yaml", "--workspaces"])
            .arg(&path),
        1,
    );
    assert!(
        err.contains("`defender-xdr-triage` (the library is only the files named"),
        "{err}"
    );
    // The library's directories named are the library; its gamebooks alone are not.
    let err = stderr_of(
        riposte()
            .args(["check", "gamebooks", "sops", "--workspaces"])
            .arg(&path),
        1,
    );
    assert!(
        err.contains("help: did you mean `ransomware-containment`?")
            && !err.contains("the library is only the files named"),
        "{err}"
    );
    let err = stderr_of(
        riposte()
            .args(["check", "gamebooks", "--workspaces"])
            .arg(&path),
        1,
    );
    assert!(
        err.contains("(the library is only the files named"),
        "{err}"
    );
    // Another library named, with SOPs of its own, is a library too.
    let other = tempfile::tempdir().unwrap();
    std::fs::create_dir(other.path().join("sops")).unwrap();
    std::fs::write(
        other.path().join("sops/s.yaml"),
        "kind: sop\ntype: response\nname: s\ngamebooks: []\ntasks: [{title: t, role: incident_responder}]\n",
    )
    .unwrap();
    let err = stderr_of(
        riposte()
            .arg("check")
            .arg(other.path())
            .arg("--workspaces")
            .arg(&path),
        1,
    );
    assert!(
        err.contains("error[RP0505]") && !err.contains("the library is only the files named"),
        "{err}"
    );
    // Errors past those shown count in the summary.
    let many: Vec<String> = (0..25).map(|i| format!("nope-{i}")).collect();
    let edited = text.replacen("sops: all", &format!("sops: [{}]", many.join(", ")), 1);
    std::fs::write(&path, edited).unwrap();
    let err = stderr_of(riposte().args(["check", "--workspaces"]).arg(&path), 1);
    assert!(
        err.contains("note: 5 more errors of")
            && err.ends_with(": 10 gamebooks, 10 SOPs; 25 errors, 0 warnings\n"),
        "{err}"
    );

    // Text that is not UTF-8 is the file's error, at its start; one that cannot be read at all
    // is a usage error.
    std::fs::write(&path, b"workspaces:\n  - name: \xff\n").unwrap();
    let err = stderr_of(riposte().args(["check", "--workspaces"]).arg(&path), 1);
    assert!(
        err.contains("error[RP0504]: not UTF-8 text") && err.contains("save the file as UTF-8"),
        "{err}"
    );
    let err = stderr_of(riposte().args(["check", "--workspaces", "no/such.yaml"]), 2);
    assert_eq!(
        err,
        "error: workspaces file `no/such.yaml` (`--workspaces`) does not exist; check its \
         spelling\n"
    );
}

/// A library path given with `--library` that does not exist is named with the option, by
/// every command that takes one.
#[test]
fn a_missing_library_path_names_the_option() {
    for command in [
        &["test", "--library", "nolib"][..],
        &[
            "simulate",
            "--incident",
            "examples/incidents/ransomware-two-devices.json",
            "--library",
            "nolib",
        ],
        &[
            "graph",
            "gamebooks/compromised-user.yaml",
            "--library",
            "nolib",
        ],
    ] {
        let err = stderr_of(riposte().args(command), 2);
        assert_eq!(
            err, "error: library path `nolib` (`--library`) does not exist; check its spelling\n",
            "{command:?}"
        );
    }
}

/// What the importer writes for a value the source left out (`unknown`) is a known value of
/// its field: a condition can test for it.
#[test]
fn the_values_an_import_writes_for_missing_ones_can_be_tested() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bare.json");
    std::fs::write(
        &path,
        r#"{"format": "riposte.incident/v1", "incident": {"id": "1", "title": "t",
            "entities": [{"kind": "device", "id": "device:a", "name": "a"}]}}"#,
    )
    .unwrap();
    riposte()
        .args(["eval", "--incident"])
        .arg(&path)
        .args([
            "incident.status == 'unknown'",
            "incident.source == 'unknown'",
            "incident.classification == 'unknown'",
            "incident.entities[0].verdict == 'unknown'",
            "incident.entities[0].provider == 'unknown'",
        ])
        .assert()
        .code(0)
        .stdout(
            "incident.status == 'unknown' => true\n\
             incident.source == 'unknown' => true\n\
             incident.classification == 'unknown' => true\n\
             incident.entities[0].verdict == 'unknown' => true\n\
             incident.entities[0].provider == 'unknown' => true\n",
        );
}
