//! `riposte backtest` end to end: a temporary git repository holding a copy of the example
//! library and incidents, an edit in its working tree, and the reports that follow.

use std::path::{Path, PathBuf};

use assert_cmd::Command;
use serde_json::Value;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &to.join(entry.file_name()));
        } else {
            std::fs::copy(entry.path(), to.join(entry.file_name())).unwrap();
        }
    }
}

fn git(dir: &Path, args: &[&str]) {
    let out = std::process::Command::new("git")
        .args([
            "-c",
            "user.name=Riposte Tests",
            "-c",
            "user.email=tests@example.com",
            "-c",
            "commit.gpgsign=false",
            "-c",
            "init.defaultBranch=main",
        ])
        .args(args)
        .current_dir(dir)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "git {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A git repository with the example library and incidents (`corpus/`) committed.
fn repo() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    copy_dir(&root().join("gamebooks"), &dir.path().join("gamebooks"));
    copy_dir(&root().join("sops"), &dir.path().join("sops"));
    copy_dir(
        &root().join("examples/incidents"),
        &dir.path().join("corpus"),
    );
    git(dir.path(), &["init", "-q"]);
    git(dir.path(), &["add", "-A"]);
    git(dir.path(), &["commit", "-q", "-m", "library"]);
    dir
}

/// The edit the tests make: `ransomware-containment` no longer protects domain controllers, so
/// the isolation of `dc-01` in the ransomware example goes before an approver instead of being
/// blocked.
fn edit(repo: &Path) {
    let path = repo.join("sops/ransomware-containment.yaml");
    let text = std::fs::read_to_string(&path).unwrap();
    let edited = text.replace("    - {name: \"dc-*\"}\n", "");
    assert_ne!(text, edited);
    std::fs::write(path, edited).unwrap();
}

fn riposte(dir: &Path) -> Command {
    let mut cmd = Command::cargo_bin("riposte").unwrap();
    cmd.current_dir(dir);
    cmd
}

/// The stderr of `cmd`, which exits with `code`.
#[track_caller]
fn stderr_of(cmd: &mut Command, code: i32) -> String {
    let out = cmd.output().unwrap();
    assert_eq!(out.status.code(), Some(code), "{out:?}");
    String::from_utf8_lossy(&out.stderr).into_owned()
}

fn stdout_of(cmd: &mut Command) -> String {
    let out = cmd.output().unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "stderr: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// The JSON report of a backtest, which must be what docs/schema/backtest.schema.json describes.
fn json_of(cmd: &mut Command) -> Value {
    let report: Value = serde_json::from_str(&stdout_of(cmd)).unwrap();
    let errors: Vec<String> = backtest_schema()
        .iter_errors(&report)
        .map(|e| format!("{e} at {}", e.instance_path()))
        .collect();
    assert!(errors.is_empty(), "{errors:#?}\n{report:#}");
    report
}

fn backtest_schema() -> &'static jsonschema::Validator {
    static VALIDATOR: std::sync::OnceLock<jsonschema::Validator> = std::sync::OnceLock::new();
    VALIDATOR.get_or_init(|| {
        let text = std::fs::read_to_string(root().join("docs/schema/backtest.schema.json"))
            .expect("the backtest schema");
        let schema: Value = serde_json::from_str(&text).expect("schema is JSON");
        jsonschema::draft7::new(&schema).expect("the schema compiles")
    })
}

#[test]
fn text_report_shows_the_diff_and_totals() {
    let repo = repo();
    edit(repo.path());
    let text = doc_commit(&stdout_of(
        riposte(repo.path()).args(["backtest", "--corpus", "corpus", "--base", "HEAD"]),
    ));
    assert!(
        text.starts_with(
            "corpus/ransomware-two-devices.json[0] 31001 · high · Ransomware activity on multiple endpoints"
        ),
        "{text}"
    );
    assert!(
        text.contains(
            "  ~ blocked → awaiting approval  device.isolate         device dc-01 (device:5521ae5be3f8e6a06e3b4a8a95c3d1023696de78)  — ransomware-containment › contain-compromised-device › contain.isolate\n"
        ),
        "{text}"
    );
    assert!(
        text.contains(
            "actions that would run or await approval (HEAD = 5f0c2a91d3e7 → working tree)\n"
        ),
        "{text}"
    );
    let isolate = text
        .lines()
        .find(|l| l.starts_with("  device.isolate "))
        .unwrap_or_else(|| panic!("{text}"));
    assert!(isolate.ends_with(" +1   1 → 2"), "{isolate}");
    assert!(
        text.contains(
            "\nincidents matched per SOP (HEAD = 5f0c2a91d3e7 → working tree): no change\n"
        ),
        "{text}"
    );
    assert!(text.ends_with("\n10 incidents, 1 changed\n"), "{text}");
    // docs/backtest.md shows this very run.
    assert_eq!(
        documented("$ riposte backtest --corpus corpus --base HEAD\n"),
        text
    );
    // And the totals of the working tree, without `--base`, abridged where it says `…`.
    let totals = stdout_of(riposte(repo.path()).args(["backtest", "--corpus", "corpus"]));
    let shown = documented("$ riposte backtest --corpus corpus\n");
    let mut lines = totals.lines();
    for line in shown.lines().filter(|l| l.trim() != "…") {
        assert!(
            lines.any(|real| real == line),
            "docs/backtest.md shows `{line}`, which the run does not print in that order:\n{totals}"
        );
    }
}

/// The output docs/backtest.md shows after the command line `command`.
/// The commit docs/backtest.md shows for the base: the tests' commits differ run to run.
const DOC_COMMIT: &str = "5f0c2a91d3e7";

/// `text` with the 12-digit commit after each `REV = ` replaced by [`DOC_COMMIT`].
fn doc_commit(text: &str) -> String {
    let mut out = String::new();
    let mut rest = text;
    while let Some(i) = rest.find(" = ") {
        let (before, after) = rest.split_at(i + 3);
        out.push_str(before);
        let commit = after
            .get(..12)
            .filter(|c| c.bytes().all(|b| b.is_ascii_hexdigit()));
        match commit {
            Some(_) => {
                out.push_str(DOC_COMMIT);
                rest = &after[12..];
            }
            None => rest = after,
        }
    }
    out.push_str(rest);
    out
}

fn documented(command: &str) -> String {
    let doc = std::fs::read_to_string(root().join("docs/backtest.md")).unwrap();
    let start = doc
        .find(command)
        .unwrap_or_else(|| panic!("no `{command}` in docs/backtest.md"));
    let rest = &doc[start + command.len()..];
    rest[..rest.find("```").unwrap_or(rest.len())].to_string()
}

#[test]
fn json_report_shows_the_diff_and_totals() {
    let repo = repo();
    edit(repo.path());
    let v = json_of(riposte(repo.path()).args([
        "backtest", "--corpus", "corpus", "--base", "HEAD", "--format", "json",
    ]));
    assert_eq!(v["format"], "riposte.backtest/v1");
    assert_eq!(v["base"], "HEAD");
    let incidents = v["incidents"].as_array().unwrap();
    assert_eq!(incidents.len(), 1);
    assert_eq!(incidents[0]["file"], "corpus/ransomware-two-devices.json");
    assert_eq!(incidents[0]["index"], 0);
    assert_eq!(incidents[0]["id"], "31001");
    let first = &incidents[0]["changes"][0];
    assert_eq!(first["change"], "status", "{first}");
    assert_eq!(first["action"], "device.isolate");
    assert_eq!(first["sop"], "ransomware-containment");
    assert_eq!(first["step"], "contain.isolate");
    assert_eq!(first["target"]["name"], "dc-01");
    assert_eq!(first["from"], "blocked");
    assert_eq!(first["to"], "awaiting_approval");
    let isolate = v["totals"]["actions"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["action"] == "device.isolate")
        .unwrap();
    assert_eq!(
        isolate,
        &serde_json::json!({"action": "device.isolate", "base": 1, "head": 2, "delta": 1})
    );
    assert_eq!(
        v["totals"]["sops"],
        serde_json::json!([]),
        "no SOP matches more or less"
    );
    assert_eq!(
        v["summary"],
        serde_json::json!({"files": 10, "incidents": 10, "changed": 1, "errors": 0, "without_alerts": 0, "duplicates": 1})
    );
}

#[test]
fn a_committed_change_against_its_parent_from_a_subdirectory() {
    let repo = repo();
    edit(repo.path());
    git(
        repo.path(),
        &[
            "commit",
            "-q",
            "-am",
            "domain controllers no longer protected",
        ],
    );
    // Paths are relative to the current directory, whatever it is in the repository.
    let v = json_of(riposte(&repo.path().join("corpus")).args([
        "backtest",
        "--corpus",
        ".",
        "--library",
        "../gamebooks",
        "--library",
        "../sops/",
        "--base",
        "HEAD~1",
        "--format",
        "json",
    ]));
    assert_eq!(v["summary"]["changed"], 1, "{v:#}");
    assert_eq!(v["incidents"][0]["file"], "ransomware-two-devices.json");
    // Against itself, nothing changes.
    let text = doc_commit(&stdout_of(
        riposte(repo.path()).args(["backtest", "--corpus", "corpus", "--base", "HEAD"]),
    ));
    assert!(
        text.contains("(HEAD = 5f0c2a91d3e7 → working tree): no change\n"),
        "{text}"
    );
    assert!(text.ends_with("\n10 incidents, 0 changed\n"), "{text}");
}

#[test]
fn without_a_base_the_totals() {
    let repo = repo();
    edit(repo.path());
    let text = stdout_of(riposte(repo.path()).args(["backtest", "--corpus", "corpus"]));
    assert!(text.starts_with("actions by status\n"), "{text}");
    assert!(text.contains("\nSOPs\n"), "{text}");
    let isolate = text
        .lines()
        .find(|l| l.starts_with("  device.isolate "))
        .unwrap_or_else(|| panic!("{text}"));
    let counts: Vec<&str> = isolate.split_whitespace().skip(1).collect();
    assert_eq!(counts, ["0", "2", "0", "0"], "{isolate}");
    assert!(text.contains("\n10 incidents, "), "{text}");

    let v =
        json_of(riposte(repo.path()).args(["backtest", "--corpus", "corpus", "--format", "json"]));
    assert_eq!(v["base"], Value::Null);
    assert_eq!(v["incidents"], serde_json::json!([]));
    let isolate = v["totals"]["actions"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["action"] == "device.isolate")
        .unwrap();
    assert_eq!(isolate["awaiting_approval"], 2);
    assert_eq!(isolate["blocked"], 0);
    let sop = v["totals"]["sops"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["sop"] == "ransomware-containment")
        .unwrap();
    assert_eq!(sop["incidents"], 1);
    assert_eq!(v["totals"]["incidents"], 10);
}

#[test]
fn a_missing_revision_or_git_is_a_clear_error() {
    let repo = repo();
    let out = riposte(repo.path())
        .args(["backtest", "--corpus", "corpus", "--base", "no-such-branch"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("error: unknown revision `no-such-branch`: no such commit, branch or tag"),
        "{err}"
    );
    assert!(out.stdout.is_empty());

    let out = riposte(repo.path())
        .args(["backtest", "--corpus", "corpus", "--base", "HEAD"])
        .env("PATH", repo.path().join("no-bin"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("error: cannot run `git`"), "{err}");

    // Outside any repository.
    let plain = tempfile::tempdir().unwrap();
    copy_dir(&root().join("gamebooks"), &plain.path().join("gamebooks"));
    copy_dir(&root().join("sops"), &plain.path().join("sops"));
    std::fs::create_dir(plain.path().join("corpus")).unwrap();
    let out = riposte(plain.path())
        .args(["backtest", "--corpus", "corpus", "--base", "HEAD"])
        .env("GIT_CEILING_DIRECTORIES", plain.path().parent().unwrap())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    // Said plainly, with what to do; not git's own words.
    assert!(
        err.contains("is not inside a git repository; run riposte from inside the repository"),
        "{err}"
    );
    assert!(err.contains("or leave out `--base`"), "{err}");
    assert!(!err.contains(".git"), "{err}");

    // A library path outside the repository names the repository's root.
    let out = riposte(repo.path())
        .args([
            "backtest",
            "--corpus",
            "corpus",
            "--base",
            "HEAD",
            "--library",
        ])
        .arg(plain.path().join("sops"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    let top = repo.path().canonicalize().unwrap();
    assert!(
        err.contains(&format!(
            "is outside the git repository at `{}`",
            top.display()
        )),
        "{err}"
    );
}

/// An empty revision, and one that names a tree or a file rather than a commit, say so.
#[test]
fn a_revision_that_is_no_commit_says_what_it_is() {
    let repo = repo();
    let err = |rev: &str| {
        let out = riposte(repo.path())
            .args(["backtest", "--corpus", "corpus", "--base", rev])
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(2), "{rev}");
        String::from_utf8_lossy(&out.stderr).into_owned()
    };
    assert_eq!(
        err(""),
        "error: `--base` is empty; give a git revision: a commit, branch or tag (`HEAD~1`, \
         `main`)\n"
    );
    let tree = std::process::Command::new("git")
        .args(["rev-parse", "HEAD^{tree}"])
        .current_dir(repo.path())
        .output()
        .unwrap();
    let tree = String::from_utf8(tree.stdout).unwrap();
    let tree = tree.trim();
    assert_eq!(
        err(tree),
        format!(
            "error: revision `{tree}` names a tree (a directory's content), not a commit; give a \
             commit, branch or tag (`HEAD~1`, `main`)\n"
        )
    );
    assert!(err("HEAD:sops/ransomware-containment.yaml")
        .contains("names a blob (a file's content), not a commit"),);
}

/// A path given with an option that cannot be read is named with the option, and the message
/// says what to do.
#[test]
fn a_bad_path_names_its_option() {
    let repo = repo();
    let err = |args: &[&str]| {
        let out = riposte(repo.path()).args(args).output().unwrap();
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        assert!(out.stdout.is_empty(), "{args:?}");
        String::from_utf8_lossy(&out.stderr).into_owned()
    };
    assert_eq!(
        err(&["backtest", "--corpus", "missing"]),
        "error: corpus `missing` (`--corpus`) does not exist; check its spelling (a corpus is a \
         directory of incident files, `*.json`)\n"
    );
    assert_eq!(
        err(&["backtest", "--corpus", "corpus/ransomware-two-devices.json"]),
        "error: `--corpus` takes a directory of incident files, and \
         `corpus/ransomware-two-devices.json` is a file; to plan the incidents of one file, run \
         `riposte simulate --incident corpus/ransomware-two-devices.json`\n"
    );
    assert_eq!(
        err(&["backtest", "--corpus", "corpus", "--library", "nolib"]),
        "error: library path `nolib` (`--library`) does not exist; check its spelling\n"
    );
    assert_eq!(
        err(&[
            "backtest",
            "--corpus",
            "corpus",
            "--workspaces",
            "nope.yaml"
        ]),
        "error: workspaces file `nope.yaml` (`--workspaces`) does not exist; check its \
         spelling, or leave out `--workspaces` for the built-in demo workspace\n"
    );
    // Where no default library is, the message says where that is.
    let here = repo.path().join("corpus");
    let out = riposte(&here)
        .args(["backtest", "--corpus", "."])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(
        String::from_utf8_lossy(&out.stderr),
        format!(
            "error: no library: the current directory `{}` holds no `gamebooks/` or `sops/`; \
             run riposte from the directory that holds them, or pass `--library DIR`\n",
            here.canonicalize().unwrap().display()
        )
    );
}

#[test]
fn corrupt_corpus_files_are_reported_and_counted() {
    let repo = repo();
    edit(repo.path());
    std::fs::create_dir(repo.path().join("corpus/more")).unwrap();
    std::fs::write(
        repo.path().join("corpus/more/broken.json"),
        "{\"format\": \"riposte.incident/v1\", \"incidents\": [",
    )
    .unwrap();
    std::fs::write(repo.path().join("corpus/more/other.json"), "[1, 2]").unwrap();
    let text =
        stdout_of(riposte(repo.path()).args(["backtest", "--corpus", "corpus", "--base", "HEAD"]));
    // Errors come in corpus order, like the incidents.
    assert!(
        text.starts_with(
            "error: `corpus/more/broken.json`:1:48: invalid JSON: EOF while parsing a list: the \
             file ends too early (truncated, or a bracket is never closed)\n\
             error: `corpus/more/other.json` at `$[0]`: expected an incident object, found a number\n\
             corpus/ransomware-two-devices.json[0] 31001"
        ),
        "{text}"
    );
    assert!(
        text.ends_with("\n10 incidents, 1 changed, 2 errors\n"),
        "{text}"
    );

    let v = json_of(riposte(repo.path()).args([
        "backtest", "--corpus", "corpus", "--base", "HEAD", "--format", "json",
    ]));
    let errors = v["errors"].as_array().unwrap();
    assert_eq!(errors.len(), 2);
    assert_eq!(errors[0]["file"], "corpus/more/broken.json");
    assert!(errors[0]["reason"]
        .as_str()
        .unwrap()
        .contains("invalid JSON"));
    assert_eq!(v["summary"]["errors"], 2);
    assert_eq!(v["summary"]["files"], 12);
    assert_eq!(v["summary"]["changed"], 1);
}

#[test]
fn generated_corpora_are_deterministic_and_backtest() {
    let dir = tempfile::tempdir().unwrap();
    let generate = |out: &str, seed: &str| {
        let done = riposte(dir.path())
            .args([
                "corpus",
                "generate",
                "--from",
                root().join("examples/incidents").to_str().unwrap(),
                "--count",
                "250",
                "--per-file",
                "100",
                "--seed",
                seed,
                "--out",
                out,
            ])
            .output()
            .unwrap();
        assert_eq!(done.status.code(), Some(0));
        // The summary is on stderr: stdout stays empty, so it cannot fail the run.
        assert!(done.stdout.is_empty());
        let text = String::from_utf8_lossy(&done.stderr);
        assert!(
            text.starts_with("wrote 250 incidents from 9 examples in 3 files"),
            "{text}"
        );
    };
    generate("a", "9");
    generate("b", "9");
    for f in [
        "incidents-00000.json",
        "incidents-00001.json",
        "incidents-00002.json",
    ] {
        let a = std::fs::read(dir.path().join("a").join(f)).unwrap();
        let b = std::fs::read(dir.path().join("b").join(f)).unwrap();
        assert!(a == b, "{f} differs");
    }
    // Not into a directory that holds files.
    let out = riposte(dir.path())
        .args([
            "corpus",
            "generate",
            "--from",
            root().join("examples/incidents").to_str().unwrap(),
        ])
        .args(["--count", "1", "--out", "a"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("`a` is not empty"));

    let v = json_of(
        riposte(&root())
            .args(["backtest", "--format", "json", "--corpus"])
            .arg(dir.path().join("a")),
    );
    assert_eq!(v["summary"]["incidents"], 250);
    assert_eq!(v["summary"]["errors"], 0);
    assert!(v["totals"]["overall"]["would_run"].as_u64().unwrap() > 250);
}

/// The library at the base is the one the working tree loader reads: a symlinked file is read
/// at its target, and a library with no files at the base is an error, not an empty library.
#[cfg(unix)]
#[test]
fn the_base_library_follows_symlinks_and_is_never_silently_empty() {
    let repo = repo();
    let dir = repo.path();
    std::fs::create_dir(dir.join("shared")).unwrap();
    std::fs::rename(
        dir.join("gamebooks/triage-escalation.yaml"),
        dir.join("shared/triage-escalation.yaml"),
    )
    .unwrap();
    std::os::unix::fs::symlink(
        "../shared/triage-escalation.yaml",
        dir.join("gamebooks/triage-escalation.yaml"),
    )
    .unwrap();
    git(dir, &["add", "-A"]);
    git(dir, &["commit", "-q", "-m", "shared gamebook"]);
    let report = json_of(riposte(dir).args([
        "backtest", "--corpus", "corpus", "--base", "HEAD", "--format", "json",
    ]));
    assert_eq!(report["summary"]["changed"], 0, "{report}");

    // A link to a link is followed; a link to nothing at the base is an error.
    std::os::unix::fs::symlink("triage-escalation.yaml", dir.join("shared/again.yaml")).unwrap();
    std::os::unix::fs::symlink("../shared/again.yaml", dir.join("gamebooks/again.yaml")).unwrap();
    std::os::unix::fs::symlink("../shared/nothing.yaml", dir.join("sops/gone.yaml")).unwrap();
    git(dir, &["add", "-A"]);
    git(dir, &["commit", "-q", "-m", "links"]);
    std::fs::remove_file(dir.join("sops/gone.yaml")).unwrap();
    let err = stderr_of(
        riposte(dir).args(["backtest", "--corpus", "corpus", "--base", "HEAD"]),
        2,
    );
    assert!(
        err.contains("`sops/gone.yaml` is a symbolic link to `shared/nothing.yaml`, which does not exist at `HEAD`"),
        "{err}"
    );
    git(dir, &["rm", "-q", "sops/gone.yaml"]);
    git(dir, &["commit", "-q", "-m", "no dangling link"]);
    let report = json_of(riposte(dir).args([
        "backtest", "--corpus", "corpus", "--base", "HEAD", "--format", "json",
    ]));
    assert_eq!(report["summary"]["changed"], 0, "{report}");

    // A library directory that is not in the base revision.
    copy_dir(&dir.join("sops"), &dir.join("lib2"));
    copy_dir(&dir.join("gamebooks"), &dir.join("lib2"));
    // Copied, the link to a link is a second file of the same gamebook.
    std::fs::remove_file(dir.join("lib2/again.yaml")).unwrap();
    let base_with = |libraries: &[&str]| {
        let mut args = vec!["backtest", "--corpus", "corpus", "--base", "HEAD"];
        for l in libraries {
            args.extend(["--library", l]);
        }
        let out = riposte(dir).args(args).output().unwrap();
        (
            out.status.code(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };
    let (code, err) = base_with(&["lib2"]);
    assert_eq!(code, Some(2));
    assert!(
        err.contains("no library files (`*.yaml`, `*.yml`) at revision `HEAD` under `lib2`"),
        "{err}"
    );
    assert!(!err.contains("note:"), "{err}");

    // Gamebooks moved to a new directory beside the SOPs: the SOPs at the base find none, and
    // the error says which library path the base does not have.
    copy_dir(&dir.join("gamebooks"), &dir.join("lib3"));
    std::fs::remove_file(dir.join("lib3/again.yaml")).unwrap();
    let (code, err) = base_with(&["lib3", "sops"]);
    assert_eq!(code, Some(1));
    assert!(
        err.contains("note: library path `lib3` does not exist at `HEAD`"),
        "{err}"
    );
}

/// Errors of the library at the base are named there, and the advice is for the base: choose
/// another one (a commit cannot be fixed in place, and `riposte check` reads the working tree);
/// those of the working tree say to fix them.
#[test]
fn errors_of_the_base_library_advise_another_base() {
    let repo = repo();
    let dir = repo.path();
    let path = dir.join("gamebooks/contain-compromised-device.yaml");
    let good = std::fs::read_to_string(&path).unwrap();
    let bad = good.replacen("incident.severity", "incident.severty", 1);
    assert_ne!(good, bad);
    std::fs::write(&path, &bad).unwrap();
    git(dir, &["commit", "-q", "-am", "typo"]);
    std::fs::write(&path, &good).unwrap();
    let err = stderr_of(
        riposte(dir).args(["backtest", "--corpus", "corpus", "--base", "HEAD"]),
        1,
    );
    assert!(
        err.contains("HEAD:gamebooks/contain-compromised-device.yaml:"),
        "{err}"
    );
    assert!(
        err.ends_with(
            "\nthe library at `HEAD` has errors; a commit cannot be fixed in place: choose \
             another `--base`, such as a later commit where they are fixed\n"
        ),
        "{err}"
    );
    assert!(!err.contains("riposte check"), "{err}");

    // The same errors in the working tree are to be fixed.
    std::fs::write(&path, &bad).unwrap();
    let err = stderr_of(
        riposte(dir).args(["backtest", "--corpus", "corpus", "--base", "HEAD"]),
        1,
    );
    assert!(
        err.ends_with(
            "\nthe library has errors; fix them (see `riposte check`) before backtesting\n"
        ),
        "{err}"
    );
}

/// A base older than the library (the root commit) holds none of it: the run stops with that
/// error and its fix alone, not after notes that each library path was added since.
#[test]
fn a_base_older_than_the_library_is_one_error() {
    let dir = tempfile::tempdir().unwrap();
    let dir = dir.path();
    std::fs::write(dir.join("README.md"), "library to come\n").unwrap();
    git(dir, &["init", "-q"]);
    git(dir, &["add", "-A"]);
    git(dir, &["commit", "-q", "-m", "readme"]);
    copy_dir(&root().join("gamebooks"), &dir.join("gamebooks"));
    copy_dir(&root().join("sops"), &dir.join("sops"));
    copy_dir(&root().join("examples/incidents"), &dir.join("corpus"));
    git(dir, &["add", "-A"]);
    git(dir, &["commit", "-q", "-m", "library"]);
    let out = riposte(dir)
        .args(["backtest", "--corpus", "corpus", "--base", "HEAD~1"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.starts_with(
            "error: no library files (`*.yaml`, `*.yml`) at revision `HEAD~1` under \
             `gamebooks`, `sops`"
        ),
        "{err}"
    );
    assert!(err.contains("choose a later `--base`"), "{err}");
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(out.stdout.is_empty());
}

/// A backtest that planned nothing checked nothing: an empty corpus, or one whose every file is
/// unreadable, is an error (exit 2), and writes no report that could pass for one: the errors
/// of the files go to stderr, above the message.
#[test]
fn a_corpus_without_incidents_is_an_error() {
    let repo = repo();
    let dir = repo.path();
    std::fs::create_dir(dir.join("empty")).unwrap();
    std::fs::create_dir(dir.join("broken")).unwrap();
    std::fs::write(dir.join("broken/a.json"), "{\"value\": [").unwrap();
    for format in ["text", "json"] {
        let run = |corpus: &str| {
            let out = riposte(dir)
                .args(["backtest", "--corpus", corpus, "--base", "HEAD"])
                .args(["--format", format])
                .output()
                .unwrap();
            assert_eq!(out.status.code(), Some(2), "{corpus}");
            assert!(
                out.stdout.is_empty(),
                "{corpus}: {}",
                String::from_utf8_lossy(&out.stdout)
            );
            String::from_utf8_lossy(&out.stderr).into_owned()
        };
        let err = run("empty");
        assert_eq!(
            err,
            "error: no incidents in the corpus `empty`: it holds no incident files; a corpus is \
             a directory of incident files (`*.json`, in any of its subdirectories)\n"
        );
        let err = run("broken");
        assert!(
            err.starts_with("error: `broken/a.json`:1:11: invalid JSON: "),
            "{err}"
        );
        assert!(
            err.ends_with(
                "\nerror: every file of the corpus `broken` failed to read (see the errors \
                 above)\n"
            ),
            "{err}"
        );
    }
}

/// A corpus fetched without `$expand=alerts` (or Sentinel incidents without their alerts and
/// entities) has no evidence: the backtest says so, once for each source, rather than pass for
/// one that found nothing to change.
#[test]
fn incidents_without_alerts_are_counted_and_named() {
    let repo = repo();
    edit(repo.path());
    for (file, members) in [
        ("ransomware-two-devices.json", &["alerts"][..]),
        (
            "sentinel/c2-powershell-download.json",
            &["alerts", "entities"][..],
        ),
    ] {
        let path = repo.path().join("corpus").join(file);
        let mut doc: Value =
            serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
        for member in members {
            assert!(doc.as_object_mut().unwrap().remove(*member).is_some());
        }
        std::fs::write(&path, doc.to_string()).unwrap();
    }
    let err = stderr_of(
        riposte(repo.path()).args(["backtest", "--corpus", "corpus", "--base", "HEAD"]),
        0,
    );
    assert!(
        err.contains(
            "warning: 1 Microsoft Graph incident without alerts, so without evidence: if they \
             were fetched without `$expand=alerts`"
        ),
        "{err}"
    );
    assert!(
        err.contains(
            "warning: 1 Microsoft Sentinel incident without its `alerts` or `entities` member, \
             so without alerts or entities there: the incident resource"
        ),
        "{err}"
    );
    let v = json_of(riposte(repo.path()).args([
        "backtest", "--corpus", "corpus", "--base", "HEAD", "--format", "json",
    ]));
    assert_eq!(v["summary"]["without_alerts"], 2);
    assert_eq!(v["summary"]["changed"], 0);
}

/// CI can gate on behaviour: `--fail-on` exits 3 after the whole report.
#[test]
fn fail_on_changes_or_errors_exits_3() {
    let repo = repo();
    let code = |args: &[&str]| {
        let out = riposte(repo.path())
            .args(["backtest", "--corpus", "corpus", "--base", "HEAD"])
            .args(args)
            .output()
            .unwrap();
        (out.status.code(), out.stdout.is_empty())
    };
    // Nothing changed, nothing failed.
    assert_eq!(code(&["--fail-on", "changes,errors"]), (Some(0), false));
    edit(repo.path());
    assert_eq!(code(&[]), (Some(0), false));
    assert_eq!(code(&["--fail-on", "errors"]), (Some(0), false));
    assert_eq!(code(&["--fail-on", "changes"]), (Some(3), false));
    std::fs::write(repo.path().join("corpus/broken.json"), "[").unwrap();
    git(repo.path(), &["checkout", "-q", "--", "sops"]);
    assert_eq!(code(&["--fail-on", "changes"]), (Some(0), false));
    assert_eq!(code(&["--fail-on", "errors"]), (Some(3), false));
    // Anything else is a usage error that names the values.
    let out = riposte(repo.path())
        .args(["backtest", "--corpus", "corpus", "--fail-on", "changed"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("[possible values: changes, errors]"));
    // Without a base nothing is compared: a gate on changes could never fail.
    let out = riposte(repo.path())
        .args(["backtest", "--corpus", "corpus", "--fail-on", "changes"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("needs `--base GIT_REV`"));
}

/// A step given a condition that holds wherever it did something changes no incident: where
/// it is now skipped before its items are listed (an incident without URLs), it did nothing
/// before either. `--fail-on changes` lets such a change through.
#[test]
fn a_step_skipped_where_it_did_nothing_changes_no_incident() {
    let repo = repo();
    let path = repo
        .path()
        .join("gamebooks/block-malicious-indicators.yaml");
    let text = std::fs::read_to_string(&path).unwrap();
    let step = "  - id: block_urls\n";
    assert!(text.contains(step), "the example changed");
    let edited = text.replace(step, &format!("{step}    if: \"len(incident.urls) > 0\"\n"));
    std::fs::write(&path, edited).unwrap();
    let out = riposte(repo.path())
        .args([
            "backtest",
            "--corpus",
            "corpus",
            "--base",
            "HEAD",
            "--fail-on",
            "changes",
        ])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{text}");
    assert!(text.ends_with("10 incidents, 0 changed\n"), "{text}");
    // The totals by status count no row of a step that did not run.
    assert!(
        text.lines()
            .any(|l| l.starts_with("actions by status (") && l.ends_with("): no change")),
        "{text}"
    );
}

/// CI checkouts are often shallow: a base they do not hold says so, and what to do.
#[test]
fn a_base_beyond_a_shallow_clone_says_to_fetch_it() {
    let repo = repo();
    edit(repo.path());
    git(repo.path(), &["commit", "-q", "-am", "edit"]);
    let clone = tempfile::tempdir().unwrap();
    let url = format!("file://{}", repo.path().display());
    git(
        clone.path(),
        &["clone", "-q", "--depth", "1", &url, "shallow"],
    );
    let out = riposte(&clone.path().join("shallow"))
        .args(["backtest", "--corpus", "corpus", "--base", "HEAD~1"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("unknown revision `HEAD~1`: no such commit, branch or tag in this clone, which is shallow"),
        "{err}"
    );
    assert!(err.contains("git fetch --unshallow"), "{err}");
}

/// With `--fail-on`, a reader that stops reading early does not change the answer: the run
/// goes on to the end, and exits 3 for the changes it finds.
#[test]
fn fail_on_holds_when_the_reader_leaves_early() {
    use std::io::Read;
    let repo = repo();
    let out = riposte(repo.path())
        .args(["corpus", "generate", "--from"])
        .arg(root().join("examples/incidents"))
        .args(["--count", "2000", "--out", "big"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    edit(repo.path());
    let mut child = std::process::Command::new(assert_cmd::cargo::cargo_bin("riposte"))
        .current_dir(repo.path())
        .args([
            "backtest",
            "--corpus",
            "big",
            "--base",
            "HEAD",
            "--fail-on",
            "changes",
        ])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let mut stdout = child.stdout.take().unwrap();
    let mut first = [0u8; 64];
    stdout.read_exact(&mut first).unwrap();
    drop(stdout);
    assert_eq!(child.wait().unwrap().code(), Some(3));
}

/// A repository another user owns: git refuses it, and the message gives the line to run.
/// (Only where the tests may give files away, as root does.)
#[cfg(unix)]
#[test]
fn a_repository_another_user_owns_gives_the_line_to_run() {
    let parent = tempfile::tempdir().unwrap();
    let dir = parent.path().join("their repo");
    std::fs::create_dir(&dir).unwrap();
    copy_dir(&root().join("gamebooks"), &dir.join("gamebooks"));
    copy_dir(&root().join("examples/incidents"), &dir.join("corpus"));
    git(&dir, &["init", "-q"]);
    git(&dir, &["add", "-A"]);
    git(&dir, &["commit", "-q", "-m", "library"]);
    use std::os::unix::fs::MetadataExt;
    let mine = std::fs::metadata(&dir).unwrap();
    if std::os::unix::fs::chown(&dir, Some(65534), Some(65534)).is_err() {
        return;
    }
    let out = riposte(&dir)
        .args([
            "backtest",
            "--corpus",
            "corpus",
            "--library",
            "gamebooks",
            "--base",
            "HEAD",
        ])
        .env("HOME", parent.path())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("which another user owns (\"dubious ownership\")")
            && err.contains("safe.directory '"),
        "{err}"
    );
    // Given back, so that the directory can be removed.
    let _ = std::os::unix::fs::chown(&dir, Some(mine.uid()), Some(mine.gid()));
}

/// A change of params in the JSON report, as the schema and docs describe it; the schema
/// refuses what the format does not have.
#[test]
fn a_params_change_in_json_fits_the_schema() {
    let repo = repo();
    let path = repo.path().join("sops/phishing-campaign.yaml");
    let text = std::fs::read_to_string(&path).unwrap();
    let edited = text.replace("url_block_duration: 30d", "url_block_duration: 3650d");
    assert_ne!(text, edited);
    std::fs::write(&path, edited).unwrap();
    let v = json_of(riposte(repo.path()).args([
        "backtest", "--corpus", "corpus", "--base", "HEAD", "--format", "json",
    ]));
    let change = v["incidents"][0]["changes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["action"] == "url.block")
        .unwrap()
        .clone();
    assert_eq!(change["change"], "params");
    assert_eq!(
        change["params"],
        serde_json::json!({"expires_in": {"from": "30d", "to": "3650d"}})
    );
    for (pointer, bad) in [
        (
            "/incidents/0/changes/0/change",
            serde_json::json!("renamed"),
        ),
        ("/summary/changed", serde_json::json!(-1)),
        ("/base_commit", serde_json::json!("HEAD")),
        ("/format", serde_json::json!("riposte.backtest/v2")),
    ] {
        let mut broken = v.clone();
        *broken.pointer_mut(pointer).unwrap() = bad;
        assert!(!backtest_schema().is_valid(&broken), "{pointer}");
    }
}

/// A change of who approves, in the JSON report, as the schema and docs describe it.
#[test]
fn an_approval_change_in_json_fits_the_schema() {
    let repo = repo();
    let path = repo.path().join("sops/phishing-campaign.yaml");
    let text = std::fs::read_to_string(&path).unwrap();
    let rule = |role: &str| format!("approval:\n  - {{actions: [url.block], role: {role}}}\n");
    std::fs::write(
        &path,
        text.replace("approval:\n", &rule("incident_responder")),
    )
    .unwrap();
    git(
        repo.path(),
        &["commit", "-qam", "url blocks approved by responders"],
    );
    std::fs::write(&path, text.replace("approval:\n", &rule("workspace_admin"))).unwrap();
    let v = json_of(riposte(repo.path()).args([
        "backtest", "--corpus", "corpus", "--base", "HEAD", "--format", "json",
    ]));
    let change = v["incidents"][0]["changes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["action"] == "url.block")
        .unwrap()
        .clone();
    assert_eq!(change["change"], "approval", "{change}");
    assert_eq!(change["approval"]["from"]["role"], "incident_responder");
    assert_eq!(change["approval"]["to"]["role"], "workspace_admin");
    // An approval change is no added action.
    let mut broken = v.clone();
    let approval_at = v["incidents"][0]["changes"]
        .as_array()
        .unwrap()
        .iter()
        .position(|c| c["change"] == "approval")
        .unwrap();
    *broken
        .pointer_mut(&format!("/incidents/0/changes/{approval_at}/change"))
        .unwrap() = serde_json::json!("added");
    assert!(!backtest_schema().is_valid(&broken));
}

/// A library directory deleted from the working tree is backtested as deleted: its SOPs stop
/// matching, and stderr says the path is gone.
#[test]
fn a_library_directory_deleted_since_the_base_is_backtested_as_deleted() {
    let repo = repo();
    std::fs::create_dir(repo.path().join("extra")).unwrap();
    git(
        repo.path(),
        &["mv", "sops/phishing-campaign.yaml", "extra/"],
    );
    git(repo.path(), &["commit", "-q", "-m", "move"]);
    std::fs::remove_dir_all(repo.path().join("extra")).unwrap();
    let args = [
        "backtest",
        "--corpus",
        "corpus",
        "--base",
        "HEAD",
        "--library",
        "gamebooks",
        "--library",
        "sops",
        "--library",
        "extra",
    ];
    let out = riposte(repo.path()).args(args).output().unwrap();
    assert_eq!(out.status.code(), Some(0));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("note: library path `extra` does not exist in the working tree"),
        "{err}"
    );
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("  phishing-campaign  −2   2 → 0\n"), "{text}");
    // Without a base, a missing path is a mistake.
    let out = riposte(repo.path())
        .args(["backtest", "--corpus", "corpus", "--library", "extra"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
}

/// A library path that exists on neither side is a typo, not a library deleted or added: it
/// stops the backtest before it can pass for `0 changed`.
#[test]
fn a_library_path_on_neither_side_is_an_error() {
    let repo = repo();
    let out = riposte(repo.path())
        .args([
            "backtest",
            "--corpus",
            "corpus",
            "--base",
            "HEAD",
            "--library",
            "gamebooks",
            "--library",
            "sopz",
            "--fail-on",
            "changes",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(out.stdout.is_empty());
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(
        err,
        "error: library path `sopz` exists neither in the working tree nor at `HEAD`; check its \
         spelling (the default library is `--library gamebooks --library sops`)\n"
    );
}

/// A library without a response SOP plans nothing on its side: `--library gamebooks` alone
/// forgets that `--library` replaces both default paths, and stderr says so, once for both
/// sides.
#[test]
fn a_library_without_response_sops_is_warned_about() {
    let repo = repo();
    let err = stderr_of(
        riposte(repo.path()).args([
            "backtest",
            "--corpus",
            "corpus",
            "--base",
            "HEAD",
            "--library",
            "gamebooks",
        ]),
        0,
    );
    assert!(
        err.contains(
            "warning: neither the working-tree library nor the library at `HEAD` (`gamebooks`) \
             has a response SOP, so nothing can be planned from either; `--library` replaces \
             the default library: to read both of its paths, give `--library gamebooks \
             --library sops`\n"
        ),
        "{err}"
    );
    assert_eq!(err.matches("response SOP").count(), 1, "{err}");
    // The default library has response SOPs on both sides: no warning.
    let out = riposte(repo.path())
        .args(["backtest", "--corpus", "corpus", "--base", "HEAD"])
        .output()
        .unwrap();
    assert!(!String::from_utf8_lossy(&out.stderr).contains("response SOP"));
}

/// An agent's SOP that neither side's library has is an error at its line and column in the
/// workspaces file, as `simulate` reports it.
#[test]
fn an_unknown_sop_of_an_agent_is_named_where_it_is_written() {
    let repo = repo();
    let text = std::fs::read_to_string(root().join("examples/workspaces.yaml")).unwrap();
    let contoso = "      sops: all\n\n  - name: fabrikam";
    assert!(text.contains(contoso));
    let edited = text.replacen(contoso, &contoso.replace("all", "[no-such-sop]"), 1);
    std::fs::write(repo.path().join("ws.yaml"), &edited).unwrap();
    let line = edited
        .lines()
        .position(|l| l.contains("no-such-sop"))
        .unwrap()
        + 1;
    let err = stderr_of(
        riposte(repo.path()).args([
            "backtest",
            "--corpus",
            "corpus",
            "--base",
            "HEAD",
            "--workspaces",
            "ws.yaml",
        ]),
        2,
    );
    assert!(
        err.starts_with(&format!(
            "error: ws.yaml:{line}:14: workspace `contoso`: its agent runs SOP `no-such-sop`, \
             which the library does not have; expected one of "
        )),
        "{err}"
    );
}

/// A library path added since the base (not committed) holds nothing there, and stderr says
/// so, as it does for one deleted since.
#[test]
fn a_library_path_added_since_the_base_is_noted() {
    let repo = repo();
    copy_dir(&repo.path().join("sops"), &repo.path().join("lib2/sops"));
    let out = riposte(repo.path())
        .args([
            "backtest",
            "--corpus",
            "corpus",
            "--base",
            "HEAD",
            "--library",
            "gamebooks",
            "--library",
            "lib2/sops",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains(
            "note: library path `lib2/sops` does not exist at `HEAD`; it holds nothing there, as \
             if added since (files moved there since are not part of the library at `HEAD`)\n"
        ),
        "{err}"
    );
    // One side without a response SOP is warned about alone.
    assert!(
        err.contains(
            "warning: the library at `HEAD` (`gamebooks`) has no response SOP, so nothing can be \
             planned from it; `--library` replaces the default library"
        ),
        "{err}"
    );
    assert_eq!(err.matches("response SOP").count(), 1, "{err}");
    // Its SOPs match only in the working tree.
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.lines()
            .any(|l| l.starts_with("  identity-compromise ") && l.ends_with(" +3   0 → 3")),
        "{text}"
    );
}

/// A corpus whose every incident is unreadable planned nothing: that is no clean backtest.
#[test]
fn a_corpus_of_unreadable_incidents_is_an_error() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("corpus")).unwrap();
    std::fs::write(
        dir.path().join("corpus/page.json"),
        r#"{"value": [{"displayName": "x", "alerts": []}, {"displayName": "y", "alerts": []}]}"#,
    )
    .unwrap();
    let out = riposte(dir.path())
        .args(["backtest", "--corpus", "corpus", "--library"])
        .arg(root().join("gamebooks"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.ends_with(
            "error: no incident of the corpus `corpus` could be read (1 file read, 2 errors; see \
             the errors above)\n"
        ),
        "{err}"
    );
    assert_eq!(err.matches("error: corpus/page.json[").count(), 2, "{err}");
    assert!(out.stdout.is_empty());
}

/// A corpus file that is not JSON says what an incident file is, and nothing of test files.
#[test]
fn a_corpus_file_in_yaml_says_incident_files_are_json() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("corpus")).unwrap();
    std::fs::write(dir.path().join("corpus/a.json"), "id: x\nseverity: high\n").unwrap();
    let out = riposte(dir.path())
        .args(["backtest", "--corpus", "corpus", "--library"])
        .arg(root().join("gamebooks"))
        .arg("--library")
        .arg(root().join("sops"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains(
            "the file is not JSON: incident files are JSON (Microsoft Graph, Sentinel, or \
             Riposte's normalized format)\n"
        ),
        "{err}"
    );
    assert!(!err.contains("test file"), "{err}");
}

/// A library file over the size limit at the base revision is an error of that revision's
/// library, named by revision and path, not read into memory and not skipped silently.
#[test]
fn an_oversized_file_at_the_base_is_named() {
    let repo = repo();
    let big = repo.path().join("gamebooks/huge.yaml");
    std::fs::write(&big, "#".repeat(3 * 1024 * 1024)).unwrap();
    git(repo.path(), &["add", "-A"]);
    git(repo.path(), &["commit", "-q", "-m", "huge"]);
    std::fs::remove_file(&big).unwrap();
    let out = riposte(repo.path())
        .args(["backtest", "--corpus", "corpus", "--base", "HEAD"])
        .output()
        .unwrap();
    assert_ne!(out.status.code(), Some(0));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("HEAD:gamebooks/huge.yaml"), "{err}");
    assert!(
        err.contains("larger than the limit of 2097152 bytes"),
        "{err}"
    );
}

/// A library path that is a symbolic link to a directory (`policy` → `sops`), or lies under
/// one (`current/sops`, `current` → `.`), is read at its target at the revision too, as the
/// working tree's file system reads it: the same library on both sides changes nothing.
#[cfg(unix)]
#[test]
fn a_library_path_through_a_linked_directory_is_read_at_the_revision_too() {
    for (link, target, library) in [
        ("policy", "sops", ["gamebooks", "policy"]),
        ("current", ".", ["current/gamebooks", "current/sops"]),
    ] {
        let repo = repo();
        std::os::unix::fs::symlink(target, repo.path().join(link)).unwrap();
        git(repo.path(), &["add", link]);
        git(repo.path(), &["commit", "-q", "-m", "link"]);
        let mut args = vec![
            "backtest", "--corpus", "corpus", "--base", "HEAD", "--format", "json",
        ];
        for path in library {
            args.extend(["--library", path]);
        }
        let out = riposte(repo.path()).args(&args).output().unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(!err.contains("holds nothing"), "{link}: {err}");
        let v: serde_json::Value =
            serde_json::from_str(&String::from_utf8_lossy(&out.stdout)).expect("json report");
        assert_eq!(v["summary"]["changed"], 0, "{link}: {v:#}");
        edit(repo.path());
        let v: serde_json::Value =
            serde_json::from_str(&stdout_of(riposte(repo.path()).args(&args)))
                .expect("json report");
        assert_eq!(v["summary"]["changed"], 1, "{link}: {:#}", v["summary"]);
    }
}
