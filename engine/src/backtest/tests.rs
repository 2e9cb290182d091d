//! Backtests of small corpora against the example library and an edited copy of it.

use std::path::{Path, PathBuf};

use riposte_dsl::compile::compile;
use riposte_dsl::syntax::Limits;
use riposte_dsl::{SourceFile, SourceMap};

use super::diff::{action_deltas, ChangeKind};
use super::render::{JsonReport, TextReport};
use super::*;
use crate::plan::model::Status;

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// The example library, with `edit(name, text)` applied to every file.
fn library(edit: impl Fn(&str, &str) -> String) -> Library {
    let limits = Limits::default();
    let loaded = crate::load_library(
        &[root().join("gamebooks"), root().join("sops")],
        limits.max_file_bytes,
    )
    .unwrap();
    let mut sources = SourceMap::new();
    for (_, f) in loaded.sources.iter() {
        sources.add(SourceFile::new(f.name.clone(), edit(&f.name, &f.text)));
    }
    let c = compile(&sources, &limits, Vec::new());
    assert!(!c.has_errors(), "{:?}", c.diagnostics);
    c.library
}

/// A corpus of the example incidents, plus `extra` files.
fn corpus(extra: &[(&str, &str)]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let src = root().join("examples/incidents");
    for entry in std::fs::read_dir(&src).unwrap() {
        let entry = entry.unwrap();
        if entry.file_type().unwrap().is_file() {
            std::fs::copy(entry.path(), dir.path().join(entry.file_name())).unwrap();
        }
    }
    std::fs::create_dir(dir.path().join("more")).unwrap();
    for (name, text) in extra {
        std::fs::write(dir.path().join(name), text).unwrap();
    }
    dir
}

#[derive(Default)]
struct Collect {
    diffs: Vec<IncidentDiff>,
    errors: Vec<CorpusError>,
    progress: Vec<Progress>,
}

impl Sink for Collect {
    fn incident(&mut self, diff: &IncidentDiff) -> io::Result<()> {
        self.diffs.push(diff.clone());
        Ok(())
    }
    fn error(&mut self, error: &CorpusError) -> io::Result<()> {
        self.errors.push(error.clone());
        Ok(())
    }
    fn progress(&mut self, progress: &Progress) {
        self.progress.push(*progress);
    }
}

/// The example library with `ransomware-containment` no longer restricted to managed-XDR
/// workspaces (so it matches the ransomware example in the demo workspace).
fn any_workspace(name: &str, text: &str) -> String {
    if name.ends_with("ransomware-containment.yaml") {
        text.replace("  workspace_tags: [managed-xdr]\n", "")
    } else {
        text.to_string()
    }
}

fn backtest<'a>(
    head: &'a Library,
    base: Option<&'a Library>,
    ws: &'a [Workspace],
    jobs: usize,
) -> Backtest<'a> {
    Backtest {
        head,
        base,
        workspaces: ws,
        workspace: None,
        limits: ImportLimits::default(),
        max_fanout: 1_000,
        max_plan_actions: 10_000,
        jobs,
    }
}

#[test]
fn an_edited_gate_changes_statuses_in_corpus_order() {
    let base = library(|_, t| t.to_string());
    let head = library(any_workspace);
    let ws = [Workspace::demo()];
    let dir = corpus(&[
        (
            "more/broken.json",
            "{\"format\": \"riposte.incident/v1\", \"incidents\": [}",
        ),
        ("more/notes.txt", "not a corpus file"),
    ]);
    let listing = list_corpus(dir.path()).unwrap();
    assert_eq!(listing.files.len(), 9);
    let mut sink = Collect::default();
    let report = backtest(&head, Some(&base), &ws, 2)
        .run(&listing, &mut sink)
        .unwrap();
    assert_eq!(report.files, 9);
    assert_eq!(report.incidents, 8);
    assert_eq!(report.file_errors, 1);
    assert_eq!(sink.errors.len(), 1);
    assert!(
        sink.errors[0].file.ends_with("more/broken.json"),
        "{:?}",
        sink.errors
    );
    assert!(
        sink.errors[0].reason.contains("invalid JSON"),
        "{:?}",
        sink.errors
    );
    let files: Vec<&str> = sink
        .diffs
        .iter()
        .map(|d| d.file.rsplit('/').next().unwrap())
        .collect();
    assert_eq!(files, ["ransomware-two-devices.json"]);
    assert_eq!(report.changed, 1);
    let isolate: Vec<_> = sink.diffs[0]
        .changes
        .iter()
        .filter(|c| c.action == "device.isolate")
        .map(|c| (c.change, c.to, c.target.as_ref().unwrap().name.as_str()))
        .collect();
    assert_eq!(
        isolate,
        [
            (
                ChangeKind::Added,
                Some(Status::AwaitingApproval),
                "srv-fs-01"
            ),
            (ChangeKind::Added, Some(Status::Blocked), "dc-01"),
        ]
    );
    // Only the isolation that awaits approval counts: the protected `dc-01` is blocked.
    let deltas = action_deltas(report.base.as_ref().unwrap(), &report.head);
    let isolate = deltas.iter().find(|d| d.name == "device.isolate").unwrap();
    assert_eq!((isolate.base, isolate.head, isolate.delta), (0, 1, 1));
    assert_eq!(sink.progress.last().map(|p| p.files), Some(9));

    // The same on one thread, byte for byte.
    let mut one = Collect::default();
    let again = backtest(&head, Some(&base), &ws, 1)
        .run(&listing, &mut one)
        .unwrap();
    assert_eq!(again, report);
    assert_eq!(one.diffs, sink.diffs);
}

#[test]
fn reports_render_as_text_and_json() {
    let base = library(|_, t| t.to_string());
    let head = library(any_workspace);
    let ws = [Workspace::demo()];
    let dir = corpus(&[]);
    let listing = list_corpus(dir.path()).unwrap();

    let mut text = TextReport::new(Vec::new(), Some("HEAD"));
    let report = backtest(&head, Some(&base), &ws, 2)
        .run(&listing, &mut text)
        .unwrap();
    let text = String::from_utf8(text.finish(&report).unwrap()).unwrap();
    assert!(
        text.contains("  + awaiting approval  device.isolate"),
        "{text}"
    );
    assert!(
        text.lines()
            .any(|l| l.starts_with("  device.isolate ") && l.ends_with(" +1   0 → 1")),
        "{text}"
    );
    assert!(text.ends_with("8 incidents, 1 changed\n"), "{text}");

    let mut json = JsonReport::new(Vec::new(), Some("HEAD"));
    let report = backtest(&head, Some(&base), &ws, 2)
        .run(&listing, &mut json)
        .unwrap();
    let out = json.finish(&report).unwrap();
    let v: serde_json::Value = serde_json::from_slice(&out).unwrap();
    assert_eq!(v["format"], "riposte.backtest/v1");
    assert_eq!(v["incidents"].as_array().unwrap().len(), 1);
    assert_eq!(v["incidents"][0]["changes"][0]["change"], "added");
    let isolate = v["totals"]["actions"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["action"] == "device.isolate")
        .unwrap();
    assert_eq!(isolate["delta"], 1);
    assert_eq!(v["summary"]["changed"], 1);

    // Without a base: the totals.
    let mut text = TextReport::new(Vec::new(), None);
    let report = backtest(&head, None, &ws, 2)
        .run(&listing, &mut text)
        .unwrap();
    let text = String::from_utf8(text.finish(&report).unwrap()).unwrap();
    assert!(text.contains("actions by status"), "{text}");
    assert!(text.contains("identity-compromise"), "{text}");
    assert!(text.contains("\n8 incidents, "), "{text}");
}

#[test]
fn an_unknown_workspace_is_fatal_and_an_unowned_tenant_is_counted() {
    let lib = library(|_, t| t.to_string());
    let dir = corpus(&[]);
    let listing = list_corpus(dir.path()).unwrap();
    let demo = Workspace::demo();
    let mut bt = backtest(&lib, None, std::slice::from_ref(&demo), MAX_JOBS + 1);
    let err = bt.run(&listing, &mut Collect::default()).unwrap_err();
    assert_eq!(
        err.to_string(),
        "257 worker threads are too many; the most is 256"
    );
    bt.jobs = 1;
    bt.workspace = Some("nope");
    let err = bt.run(&listing, &mut Collect::default()).unwrap_err();
    assert_eq!(
        err.to_string(),
        "no workspace named `nope`; the workspaces are: `demo`"
    );
    // Names ignore case, as `simulate` reads them.
    bt.workspace = Some("DEMO");
    assert!(bt.run(&listing, &mut Collect::default()).is_ok());
    bt.workspace = Some("dmeo");
    let err = bt.run(&listing, &mut Collect::default()).unwrap_err();
    assert_eq!(
        err.to_string(),
        "no workspace named `dmeo`; did you mean `demo`?"
    );

    let mut a = Workspace::demo();
    a.name = "a".into();
    a.tenant_id = "tenant-a".into();
    let mut b = a.clone();
    b.name = "b".into();
    b.tenant_id = "tenant-b".into();
    let two = [a, b];
    let mut sink = Collect::default();
    let report = backtest(&lib, None, &two, 2)
        .run(&listing, &mut sink)
        .unwrap();
    assert_eq!(report.incidents, 8);
    assert_eq!(report.incident_errors, 8);
    assert!(sink.errors.iter().all(|e| e.index.is_some()));
}

#[test]
fn a_missing_corpus_is_an_error() {
    let err = list_corpus(Path::new("/nonexistent/corpus")).unwrap_err();
    assert!(
        err.to_string()
            .starts_with("cannot read `/nonexistent/corpus`"),
        "{err}"
    );
    let file = root().join("Cargo.toml");
    assert!(matches!(
        list_corpus(&file),
        Err(BacktestError::NotADirectory(_))
    ));
}

#[cfg(unix)]
#[test]
fn corpus_files_that_are_not_regular_files_are_reported_not_read() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("sub")).unwrap();
    // A device that never ends, and a link to a directory, read like the directory.
    std::os::unix::fs::symlink("/dev/zero", dir.path().join("zero.json")).unwrap();
    std::os::unix::fs::symlink(dir.path().join("sub"), dir.path().join("dir.json")).unwrap();
    let listing = list_corpus(dir.path()).unwrap();
    assert!(listing.files.is_empty());
    assert_eq!(listing.errors.len(), 1, "{:?}", listing.errors);
    assert!(listing.errors[0].file.ends_with("zero.json"));
    assert!(listing.errors[0].reason.contains("not a regular file"));
}

/// Files behind a link to a directory are part of the corpus, read once however many links
/// lead to them, and a link back up the tree is no loop.
#[cfg(unix)]
#[test]
fn links_to_directories_are_followed_once() {
    let dir = tempfile::tempdir().unwrap();
    let elsewhere = tempfile::tempdir().unwrap();
    std::fs::write(elsewhere.path().join("a.json"), "{}").unwrap();
    std::os::unix::fs::symlink(elsewhere.path(), dir.path().join("linked")).unwrap();
    std::os::unix::fs::symlink(elsewhere.path(), dir.path().join("again")).unwrap();
    std::os::unix::fs::symlink(dir.path(), dir.path().join("up")).unwrap();
    let listing = list_corpus(dir.path()).unwrap();
    assert_eq!(listing.files.len(), 1, "{:?}", listing.files);
    assert!(listing.errors.is_empty(), "{:?}", listing.errors);
    // Named through the first link in name order, whatever the file system's order.
    assert!(
        listing.files[0].name.ends_with("again/a.json"),
        "{:?}",
        listing.files
    );
}

#[test]
fn a_bad_incident_of_a_page_is_an_error_of_its_own() {
    let lib = library(|_, t| t.to_string());
    let good =
        std::fs::read_to_string(root().join("examples/incidents/phishing-two-mailboxes.json"))
            .unwrap();
    let page =
        format!(r#"{{"value": [{good}, {{"displayName": "no id", "alerts": []}}, 7, {good}]}}"#);
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("page.json"), page).unwrap();
    let listing = list_corpus(dir.path()).unwrap();
    let mut sink = Collect::default();
    let ws = [Workspace::demo()];
    let report = backtest(&lib, None, &ws, 2)
        .run(&listing, &mut sink)
        .unwrap();
    assert_eq!(report.incidents, 2);
    assert_eq!((report.file_errors, report.incident_errors), (0, 2));
    let errors: Vec<_> = sink
        .errors
        .iter()
        .map(|e| (e.index, e.reason.as_str()))
        .collect();
    assert_eq!(
        errors,
        [
            (Some(1), "at `$.value[1].id`: the incident has no `id`"),
            (
                Some(2),
                "at `$.value[2]`: expected an incident object, found a number"
            ),
        ]
    );
    // The two good incidents were planned.
    let one = {
        let mut sink = Collect::default();
        std::fs::write(dir.path().join("page.json"), &good).unwrap();
        backtest(&lib, None, &ws, 1)
            .run(&list_corpus(dir.path()).unwrap(), &mut sink)
            .unwrap()
            .head
    };
    assert_eq!((one.incidents, report.head.incidents), (1, 2));
    assert!(!one.actions.is_empty());
    assert_eq!(report.head.actions.len(), one.actions.len());
}

#[test]
fn a_changed_param_is_a_change() {
    let base = library(|_, t| t.to_string());
    let head = edited(
        "phishing-campaign.yaml",
        "url_block_duration: 30d",
        "url_block_duration: 3650d",
    );
    let (report, sink) = over_examples(&head, &base);
    assert_eq!(report.changed, 1);
    let block = sink.diffs[0]
        .changes
        .iter()
        .find(|c| c.action == "url.block")
        .unwrap();
    assert_eq!(block.change, ChangeKind::Params);
    assert_eq!(
        (block.from, block.to),
        (Some(Status::WouldRun), Some(Status::WouldRun))
    );
    let expires = &block.params["expires_in"];
    assert_eq!(
        (expires.from.as_ref(), expires.to.as_ref()),
        (
            Some(&serde_json::json!("30d")),
            Some(&serde_json::json!("3650d"))
        )
    );
    assert_eq!(block.params.len(), 1);
    // The totals count actions, which did not change.
    assert!(action_deltas(report.base.as_ref().unwrap(), &report.head).is_empty());

    let mut text = TextReport::new(Vec::new(), Some("HEAD"));
    text.incident(&sink.diffs[0]).unwrap();
    let text = String::from_utf8(text.finish(&report).unwrap()).unwrap();
    assert!(text.contains("  ~ params             url.block "), "{text}");
    assert!(text.contains("\n      expires_in: 30d → 3650d\n"), "{text}");
}

/// Who approves is policy: an approval asked of another role is a change, though the status
/// and params are the same.
#[test]
fn a_changed_approver_is_a_change() {
    let with_rule = |role: &'static str| {
        library(move |name, t| {
            if name.ends_with("phishing-campaign.yaml") {
                t.replace(
                    "approval:\n",
                    &format!("approval:\n  - {{actions: [url.block], role: {role}}}\n"),
                )
            } else {
                t.to_string()
            }
        })
    };
    let (base, head) = (
        with_rule("incident_responder"),
        with_rule("workspace_admin"),
    );
    let ws = [Workspace::demo()];
    let dir = corpus(&[]);
    let listing = list_corpus(dir.path()).unwrap();
    let mut sink = Collect::default();
    let report = backtest(&head, Some(&base), &ws, 2)
        .run(&listing, &mut sink)
        .unwrap();
    assert_eq!(report.changed, 1);
    let block = sink.diffs[0]
        .changes
        .iter()
        .find(|c| c.action == "url.block")
        .unwrap();
    assert_eq!(block.change, ChangeKind::Approval);
    assert_eq!(
        (block.from, block.to),
        (
            Some(Status::AwaitingApproval),
            Some(Status::AwaitingApproval)
        )
    );
    let approval = block.approval.as_ref().unwrap();
    let role = |a: &Option<crate::plan::model::Approval>| a.as_ref().map(|a| a.role);
    assert_eq!(
        (role(&approval.from), role(&approval.to)),
        (Some("incident_responder"), Some("workspace_admin"))
    );
    let mut text = TextReport::new(Vec::new(), Some("HEAD"));
    text.incident(&sink.diffs[0]).unwrap();
    let text = String::from_utf8(text.finish(&report).unwrap()).unwrap();
    assert!(text.contains("  ~ approval           url.block "), "{text}");
    assert!(
        text.contains("\n      approver: incident_responder → workspace_admin\n"),
        "{text}"
    );
}

/// A gate behind another that changes is a change: the password reset waits on the disable
/// step's gate, and its own gate now times out into an approval.
#[test]
fn a_changed_gate_behind_another_is_a_change() {
    let base = library(|_, t| t.to_string());
    let head = edited(
        "compromised-user.yaml",
        "approval: {role: workspace_owner, timeout: 4h, on_timeout: reject}",
        "approval: {role: workspace_owner, timeout: 4h, on_timeout: approve}",
    );
    let (report, sink) = over_examples(&head, &base);
    assert!(report.changed > 0, "{:#?}", sink.diffs);
    let resets: Vec<_> = sink
        .diffs
        .iter()
        .flat_map(|d| &d.changes)
        .filter(|c| c.step.ends_with("reset_password"))
        .collect();
    assert!(!resets.is_empty(), "{:#?}", sink.diffs);
    for c in resets {
        assert_eq!(c.change, ChangeKind::Approval, "{c:#?}");
        let approval = c.approval.as_ref().expect("an approval change");
        let reason = |a: &Option<crate::plan::model::Approval>| {
            a.as_ref().map(|a| a.reason.clone()).unwrap_or_default()
        };
        assert!(reason(&approval.from).contains("then reject"), "{c:#?}");
        assert!(reason(&approval.to).contains("then approve"), "{c:#?}");
    }
}

#[test]
fn hidden_files_are_not_corpus_files_and_the_extension_ignores_case() {
    let dir = tempfile::tempdir().unwrap();
    for name in ["._a.json", ".b.json", "C.JSON", "d.Json", "e.txt"] {
        std::fs::write(dir.path().join(name), "{}").unwrap();
    }
    let listing = list_corpus(dir.path()).unwrap();
    let names: Vec<_> = listing
        .files
        .iter()
        .map(|f| f.path.file_name().unwrap().to_string_lossy().into_owned())
        .collect();
    assert_eq!(names, ["C.JSON", "d.Json"]);
}

#[test]
fn an_incident_read_twice_is_counted_as_a_duplicate() {
    let lib = library(|_, t| t.to_string());
    let again =
        std::fs::read_to_string(root().join("examples/incidents/ransomware-two-devices.json"))
            .unwrap();
    let dir = corpus(&[("more/again.json", &again)]);
    let listing = list_corpus(dir.path()).unwrap();
    let ws = [Workspace::demo()];
    let report = backtest(&lib, None, &ws, 2)
        .run(&listing, &mut Collect::default())
        .unwrap();
    assert_eq!((report.incidents, report.duplicates), (9, 1));
    let d = report.first_duplicate.unwrap();
    assert_eq!(d.id, "31001");
    assert!(d.first.ends_with("more/again.json[0]"), "{d:?}");
    assert!(
        d.again.ends_with("/ransomware-two-devices.json[0]"),
        "{d:?}"
    );
}

#[test]
fn long_param_values_are_shown_where_they_differ() {
    use serde_json::json;
    let head = "Riposte containment: 2 device(s) isolated; ".repeat(4);
    let (from, to) = super::render::param_texts(
        Some(&json!(format!("{head}left alone."))),
        Some(&json!(format!("{head}not touched."))),
    );
    assert!(
        from.starts_with('…') && from.ends_with("left alone."),
        "{from}"
    );
    assert!(to.starts_with('…') && to.ends_with("not touched."), "{to}");
    // Short values whole; a param one side lacks.
    assert_eq!(
        super::render::param_texts(Some(&json!("30d")), None),
        ("30d".to_string(), "(none)".to_string())
    );
    assert_eq!(
        super::render::param_texts(Some(&json!(5)), Some(&json!(["a"]))),
        ("5".to_string(), "[\"a\"]".to_string())
    );
}

/// The example library with step `block_urls`, a for-each over the incident's URLs, run only
/// for high-severity incidents: on others it is skipped before its URLs are listed, a row
/// with no target.
/// The example library with `from` (which `file` must hold) replaced by `to` in `file`.
fn edited(file: &'static str, from: &'static str, to: &'static str) -> Library {
    library(move |name, t| {
        if name.ends_with(file) {
            assert!(t.contains(from), "the example changed");
            t.replace(from, to)
        } else {
            t.to_string()
        }
    })
}

/// The backtest of the example incidents in the demo workspace, `base` → `head`.
fn over_examples(head: &Library, base: &Library) -> (super::Report, Collect) {
    let ws = [Workspace::demo()];
    let dir = corpus(&[]);
    let listing = list_corpus(dir.path()).unwrap();
    let mut sink = Collect::default();
    let report = backtest(head, Some(base), &ws, 2)
        .run(&listing, &mut sink)
        .unwrap();
    (report, sink)
}

fn urls_blocked_when_high(name: &str, text: &str) -> String {
    if !name.ends_with("block-malicious-indicators.yaml") {
        return text.to_string();
    }
    let step = "  - id: block_urls\n";
    assert!(text.contains(step), "the example changed");
    text.replace(
        step,
        &format!("{step}    if: \"incident.severity == high\"\n"),
    )
}

/// A for-each step skipped before its items are known changes nothing on an incident where it
/// had nothing to do (31003 has no URLs); where it had, each URL it no longer blocks is shown
/// as skipped, with its target, and the totals count no target-less row.
#[test]
fn a_step_that_stops_running_is_a_change_only_where_it_did_something() {
    let base = library(|_, t| t.to_string());
    let head = library(urls_blocked_when_high);
    let ws = [Workspace::demo()];
    let dir = corpus(&[]);
    let listing = list_corpus(dir.path()).unwrap();
    let mut sink = Collect::default();
    let report = backtest(&head, Some(&base), &ws, 2)
        .run(&listing, &mut sink)
        .unwrap();
    let ids: Vec<&str> = sink.diffs.iter().map(|d| d.id.as_str()).collect();
    assert_eq!(ids, ["31004", "31002"], "{:#?}", sink.diffs);
    assert_eq!(report.changed, 2);
    let blocks: Vec<_> = sink.diffs[0]
        .changes
        .iter()
        .filter(|c| c.action == "url.block")
        .map(|c| {
            (
                c.change,
                c.from,
                c.to,
                c.target.as_ref().map(|t| t.kind.as_str()),
            )
        })
        .collect();
    let stopped = (
        ChangeKind::Status,
        Some(Status::WouldRun),
        Some(Status::Skipped),
        Some("url"),
    );
    assert_eq!(blocks, [stopped, stopped]);
    // The totals count the URLs no longer blocked, and no skipped row without a target.
    let statuses = super::diff::status_deltas(report.base.as_ref().unwrap(), &report.head);
    let statuses: Vec<_> = statuses
        .iter()
        .map(|(s, d)| (d.name.as_str(), *s, d.delta))
        .collect();
    assert_eq!(statuses, [("url.block", Status::WouldRun, -3)]);

    let mut text = TextReport::new(Vec::new(), Some("HEAD"));
    for d in &sink.diffs {
        text.incident(d).unwrap();
    }
    let text = String::from_utf8(text.finish(&report).unwrap()).unwrap();
    assert!(
        text.contains("  ~ would run → skipped  url.block              url http://update-cdn-check.example.org/gate.php "),
        "{text}"
    );
    assert!(!text.contains("url.block              incident"), "{text}");

    // The other way, the step runs again: each URL is no longer skipped.
    let mut sink = Collect::default();
    let report = backtest(&base, Some(&head), &ws, 2)
        .run(&listing, &mut sink)
        .unwrap();
    assert_eq!(report.changed, 2);
    let blocks: Vec<_> = sink.diffs[0]
        .changes
        .iter()
        .filter(|c| c.action == "url.block")
        .map(|c| (c.change, c.from, c.to))
        .collect();
    let resumed = (
        ChangeKind::Status,
        Some(Status::Skipped),
        Some(Status::WouldRun),
    );
    assert_eq!(blocks, [resumed, resumed]);
}

/// `block-malicious-indicators` with a comment per file, run when `only_if` holds (always
/// without one).
fn note_per_file(only_if: Option<&'static str>) -> impl Fn(&str, &str) -> String {
    move |name, text| {
        if !name.ends_with("block-malicious-indicators.yaml") {
            return text.to_string();
        }
        let at = "  - id: summary\n";
        assert!(text.contains(at), "the example changed");
        let condition = only_if.map_or(String::new(), |c| format!("    if: \"{c}\"\n"));
        text.replace(
            at,
            &format!(
                "  - id: note_files\n{condition}    for_each: {{items: incident.files, as: f}}\n    \
                 action: incident.comment\n    params: {{comment: \"File {{{{ f.file_name }}}} seen.\"}}\n{at}"
            ),
        )
    }
}

/// A for-each of comments that stops running is a change only where it commented: each comment
/// becomes skipped, none is removed, the row standing for the step is no comment of the
/// totals, and an incident without files has not changed.
#[test]
fn a_comment_per_item_that_stops_running_is_a_change_only_where_it_commented() {
    let base = library(note_per_file(None));
    let head = library(note_per_file(Some("incident.severity == 'informational'")));
    let ws = [Workspace::demo()];
    let dir = corpus(&[]);
    let listing = list_corpus(dir.path()).unwrap();
    for (from, to) in [(&base, &head), (&head, &base)] {
        let mut sink = Collect::default();
        let report = backtest(to, Some(from), &ws, 2)
            .run(&listing, &mut sink)
            .unwrap();
        let mut changed: Vec<&str> = Vec::new();
        for d in &sink.diffs {
            for c in d.changes.iter().filter(|c| c.step.ends_with("note_files")) {
                assert_eq!(c.change, ChangeKind::Status, "{}: {c:#?}", d.id);
                assert!(
                    c.from == Some(Status::Skipped) || c.to == Some(Status::Skipped),
                    "{}: {c:#?}",
                    d.id
                );
                changed.push(d.id.as_str());
            }
        }
        changed.dedup();
        // Those with files: ransomware (31001), indicators (31004), resolved malware (31008),
        // the admin tool (31005).
        for id in &changed {
            assert!(
                ["31001", "31004", "31005", "31008"].contains(id),
                "{changed:?}"
            );
        }
        assert!(!changed.is_empty());
        // The comments that stopped leave `would run` (or `awaiting approval`), and join no
        // other status: the row standing for the step is no comment.
        let statuses = super::diff::status_deltas(report.base.as_ref().unwrap(), &report.head);
        assert!(
            !statuses
                .iter()
                .any(|(s, d)| d.name == "incident.comment" && *s == Status::Skipped),
            "{statuses:?}"
        );
    }
}

/// A change without a target names the incident only for an action on the incident; any
/// other action's row without a target (items past a limit) shows `-`, as `simulate` does.
#[test]
fn a_change_without_a_target_names_the_incident_only_for_incident_actions() {
    let change = |action, status| super::diff::Change {
        change: ChangeKind::Added,
        sop: "sop".into(),
        gamebook: "gb".into(),
        step: "step".into(),
        action,
        target: None,
        from: None,
        to: Some(status),
        params: Default::default(),
        approval: None,
    };
    let diff = IncidentDiff {
        file: "corpus/a.json".into(),
        index: 0,
        id: "1".into(),
        severity: "high".into(),
        title: "t".into(),
        changes: vec![
            change("url.block", Status::Blocked),
            change("incident.comment", Status::WouldRun),
        ],
    };
    let mut out = Vec::new();
    TextReport::new(&mut out, Some("HEAD"))
        .incident(&diff)
        .unwrap();
    let text = String::from_utf8(out).unwrap();
    assert!(
        text.contains("  + blocked            url.block              -  — sop › gb › step\n"),
        "{text}"
    );
    assert!(
        text.contains(
            "  + would run          incident.comment       incident  — sop › gb › step\n"
        ),
        "{text}"
    );
}
