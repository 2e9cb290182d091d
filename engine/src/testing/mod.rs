//! Gamebook tests: `*.test.yaml` files that run an incident through the library (a dry-run, with
//! scripted approvals and executor failures) and check the plan, plus coverage of the gamebooks
//! from the plans' traces. `riposte test` is the command line of this module; the format is
//! documented in `docs/testing.md`.
//!
//! Architecture Invariant: a test file never makes the runner panic, and what it controls is
//! bounded: file size ([`Limits::max_file_bytes`]), YAML nesting, nodes and aliases, tests per file,
//! list lengths, the fan-out of a run. Incident and workspace files go through their importers'
//! own limits.

pub mod coverage;
pub mod executor;
pub mod expect;
pub mod file;
mod names;
pub mod schema;
pub mod text;

use crate::load::display_path;
use std::collections::{BTreeSet, HashMap};
use std::io::Read;
use std::path::{Component, Path, PathBuf};

use riposte_dsl::checked::Library;
use riposte_dsl::{SourceFile, SourceMap};
use serde::Serialize;
use serde_saphyr::{Budget, DuplicateKeyPolicy, Location, Options};

use crate::incident::{self, ImportLimits, Incident};
use crate::plan;
use crate::scheduler::{Approvals, Refusals, RunConfig};
use crate::workspace::{self, SelectError, Workspace, WorkspaceError};
use coverage::{Coverage, Hits};
use expect::Failure;
use file::{Approve, ExpectClassification, TestDoc};

/// Bounds on what tests may hold.
#[derive(Clone, Debug)]
pub struct Limits {
    /// Largest test file, in bytes (1 MiB).
    pub max_file_bytes: usize,
    /// Most test files in one run (10 000).
    pub max_files: usize,
    /// Most tests (YAML documents) in one file (1 000).
    pub max_tests_per_file: usize,
    /// Largest `max_fanout` a test may ask for: as `simulate --max-fanout` allows, so that a
    /// plan can be reproduced as a test.
    pub max_fanout: usize,
    /// Bounds on the incident files tests read (`riposte test --max-entities` and the other
    /// import options).
    pub import: ImportLimits,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_file_bytes: 1024 * 1024,
            max_files: 10_000,
            max_tests_per_file: 1_000,
            max_fanout: crate::scheduler::RunConfig::FANOUT_CEILING,
            import: ImportLimits::default(),
        }
    }
}

/// Test files that could not be found or read (exit code 2 territory). Problems inside a test
/// file are failed tests, not errors.
#[derive(Debug, thiserror::Error)]
pub enum TestError {
    #[error("cannot read `{path}`: {source}")]
    Io {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error("`{0}` is not a YAML file or a directory")]
    NotYaml(String),
    #[error("no test files (`*.test.yaml`) under {0}")]
    NoTests(String),
    #[error("more than {limit} test files under the given paths")]
    TooManyFiles { limit: usize },
    /// A gamebook or SOP named where test files are expected.
    #[error(
        "`{path}` is {what}, not a test file: test files are `*.test.yaml` files of `kind: test` \
         documents; {fix}"
    )]
    LibraryFile {
        path: String,
        what: &'static str,
        /// What to do: check it, or first rename it where its name is a test file's (a
        /// library skips those).
        fix: String,
    },
}

/// The outcome of one test.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct TestResult {
    /// The test file, as found.
    pub file: String,
    /// The test's `name`; empty when the file could not be read as tests.
    pub name: String,
    /// The line of the test's `name` (0 when unknown).
    pub line: u64,
    pub passed: bool,
    pub failures: Vec<Failure>,
}

/// Every test's outcome, and the coverage of the library.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct Report {
    pub tests: Vec<TestResult>,
    pub coverage: Coverage,
    /// Tests `--filter` left out.
    pub filtered_out: usize,
}

/// The `format` of `riposte test --format json`.
pub const REPORT_FORMAT: &str = "riposte.test-report/v1";

impl Report {
    pub fn passed(&self) -> usize {
        self.tests.iter().filter(|t| t.passed).count()
    }

    pub fn failed(&self) -> usize {
        self.tests.len() - self.passed()
    }

    /// Whether coverage reaches `min` percent (no minimum: always).
    pub fn coverage_ok(&self, min: Option<f64>) -> bool {
        min.is_none_or(|m| self.coverage.meets(m))
    }

    /// The stable JSON document of `riposte test --format json` (see `docs/testing.md`).
    pub fn to_json(&self, min_coverage: Option<f64>) -> serde_json::Value {
        serde_json::json!({
            "format": REPORT_FORMAT,
            "tests": self.tests,
            "passed": self.passed(),
            "failed": self.failed(),
            "coverage": self.coverage,
            "min_coverage": min_coverage,
            "coverage_ok": self.coverage_ok(min_coverage),
            "filtered_out": self.filtered_out,
        })
    }
}

/// The test files under `paths`: directories recursively (`*.test.yaml`, `*.test.yml`; hidden
/// directories skipped), files as given. Sorted, without duplicates.
pub fn discover(paths: &[PathBuf], limits: &Limits) -> Result<Vec<PathBuf>, TestError> {
    let mut files = Vec::new();
    for p in paths {
        let meta = std::fs::metadata(p).map_err(|source| TestError::Io {
            path: display_path(p),
            source,
        })?;
        if meta.is_dir() {
            walk(p, &mut files, limits.max_files)?;
        } else if matches!(p.extension().and_then(|e| e.to_str()), Some("yaml" | "yml")) {
            files.push(p.clone());
        } else {
            return Err(TestError::NotYaml(display_path(p)));
        }
        if files.len() > limits.max_files {
            return Err(TestError::TooManyFiles {
                limit: limits.max_files,
            });
        }
    }
    files.sort();
    // The same file reached twice (`gamebooks ./gamebooks`, a directory and a file in it)
    // runs once.
    let mut seen = std::collections::HashSet::new();
    files.retain(|f| seen.insert(std::fs::canonicalize(f).unwrap_or_else(|_| f.clone())));
    if files.is_empty() {
        return Err(TestError::NoTests(crate::load::quoted_paths(paths)));
    }
    Ok(files)
}

fn walk(dir: &Path, out: &mut Vec<PathBuf>, max: usize) -> Result<(), TestError> {
    let io = |path: &Path| {
        let path = display_path(path);
        move |source| TestError::Io { path, source }
    };
    for entry in std::fs::read_dir(dir).map_err(io(dir))? {
        let entry = entry.map_err(io(dir))?;
        let path = entry.path();
        let ty = entry.file_type().map_err(io(&path))?;
        if ty.is_dir() {
            if !entry.file_name().to_string_lossy().starts_with('.') {
                walk(&path, out, max)?;
            }
        } else if crate::load::is_test_file(&path) {
            out.push(path);
            if out.len() > max {
                return Err(TestError::TooManyFiles { limit: max });
            }
        }
    }
    Ok(())
}

/// The name of the SOP a gamebook test (`gamebook:`) runs its gamebook through.
pub const DIRECT_SOP: &str = "gamebook-test";

/// Runs every test of `files` against `library`, compiled from `sources` (gamebook tests
/// compile their gamebook with a one-gamebook SOP).
/// Runs the tests of `files`; with `filter`, only those whose name holds it (ignoring case).
pub fn run(
    sources: &SourceMap,
    library: &Library,
    files: &[PathBuf],
    limits: &Limits,
    filter: Option<&str>,
) -> Result<Report, TestError> {
    let mut runner = Runner {
        sources,
        library,
        limits,
        filter: filter.map(str::to_lowercase),
        filtered_out: 0,
        direct: HashMap::new(),
        steps: crate::scheduler::step_names(library),
        runs: run_steps(library),
        incidents: HashMap::new(),
        workspaces: HashMap::new(),
        hits: Hits::default(),
    };
    let mut tests = Vec::new();
    for path in files {
        runner.run_file(path, &mut tests)?;
    }
    let coverage = coverage::compute(library, &runner.hits);
    Ok(Report {
        tests,
        coverage,
        filtered_out: runner.filtered_out,
    })
}

struct Runner<'a> {
    sources: &'a SourceMap,
    library: &'a Library,
    /// Libraries of gamebook tests: the library's gamebooks and one SOP running the gamebook
    /// with the test's inputs, by that SOP's text.
    direct: HashMap<String, Result<Library, String>>,
    limits: &'a Limits,
    /// Only tests whose name holds this (lowercase) run.
    filter: Option<String>,
    /// Tests the filter left out.
    filtered_out: usize,
    /// Every step id and path of the library, for suggestions.
    steps: BTreeSet<String>,
    /// Every step a run of each gamebook can plan, as plans label them ([`run_steps`]).
    runs: Option<Vec<RunStep>>,
    /// Incident files by path, read once.
    incidents: HashMap<PathBuf, Result<Vec<Incident>, String>>,
    /// Workspaces files by path, read once: their workspaces, or each error.
    workspaces: HashMap<PathBuf, Result<Vec<Workspace>, Vec<String>>>,
    hits: Hits,
}

/// A problem at a place in a test file.
struct At {
    line: u64,
    column: u64,
    message: String,
}

impl At {
    fn new(loc: &Location, message: impl Into<String>) -> At {
        At {
            line: loc.line(),
            column: loc.column(),
            message: message.into(),
        }
    }

    fn render(&self, file: &str) -> String {
        if self.line == 0 {
            format!("{file}: {}", self.message)
        } else {
            format!("{file}:{}:{}: {}", self.line, self.column, self.message)
        }
    }
}

/// An inline `workspaces:` list cut out of a test file, as a workspaces file of its own.
struct InlineWorkspaces {
    /// `workspaces:`, then the list's lines as the test file has them.
    text: String,
    /// The lines of the test file before the list's first, less the one `workspaces:` adds.
    lines_before: u64,
}

impl InlineWorkspaces {
    /// The block list whose first `-` is at `at` in the test file `text`: its lines up to the
    /// first one indented less, or as much but not an item, or a document marker. `None` for
    /// anything else (a flow list `[…]`).
    fn cut(text: &str, at: &Location) -> Option<InlineWorkspaces> {
        let first = usize::try_from(at.line()).ok()?.checked_sub(1)?;
        let indent = usize::try_from(at.column()).ok()?.checked_sub(1)?;
        let lines: Vec<&str> = text.split_inclusive('\n').collect();
        let start = lines.get(first)?;
        if start.get(indent..)?.starts_with("- ") || start.get(indent..)?.trim_end() == "-" {
            let ends = |l: &&str| {
                let body = l.trim_start_matches(' ');
                let col = l.len() - body.len();
                let blank = body.trim().is_empty() || body.trim_start().starts_with('#');
                !blank
                    && (col < indent
                        || (col == indent && !body.starts_with('-'))
                        || l.starts_with("---")
                        || l.starts_with("..."))
            };
            let end = lines[first + 1..]
                .iter()
                .position(ends)
                .map_or(lines.len(), |n| first + 1 + n);
            let mut cut = String::from("workspaces:\n");
            for l in &lines[first..end] {
                cut.push_str(l);
            }
            Some(InlineWorkspaces {
                text: cut,
                // Line 2 of the cut is line `first + 1` of the file.
                lines_before: u64::try_from(first).ok()?.checked_sub(1)?,
            })
        } else {
            None
        }
    }
}

/// The step names of a `reject` or `time_out` list, each with the list's place.
fn entries(
    list: &Option<serde_saphyr::Spanned<file::StepNames>>,
) -> impl Iterator<Item = (&serde_saphyr::Spanned<String>, &Location)> {
    list.iter()
        .flat_map(|r| r.value.0.iter().map(move |s| (s, &r.referenced)))
}

/// The messages of a workspaces error, without their places: what tells two readings of one
/// list apart.
fn messages(e: &WorkspaceError) -> Vec<String> {
    let one = |e: &WorkspaceError| match e {
        WorkspaceError::Invalid { message, .. } | WorkspaceError::Inconsistent { message, .. } => {
            message.clone()
        }
        other => other.to_string(),
    };
    match e {
        WorkspaceError::Several { errors, .. } => errors.iter().map(one).collect(),
        other => vec![one(other)],
    }
}

/// The errors of inline workspaces, each at its place in the test file where `inline` tells
/// it, else at `list` (the `workspaces:` value).
fn inline_problems(
    e: WorkspaceError,
    inline: Option<&InlineWorkspaces>,
    list: &Location,
) -> Problems {
    Problems(
        e.into_each()
            .into_iter()
            .map(|e| match (e, inline) {
                (
                    WorkspaceError::Invalid {
                        line,
                        column,
                        message,
                        ..
                    },
                    Some(inline),
                ) => At {
                    line: u64::from(line) + inline.lines_before,
                    column: u64::from(column),
                    message,
                },
                (e, _) => {
                    let message = match e {
                        WorkspaceError::Invalid { message, .. }
                        | WorkspaceError::Inconsistent { message, .. } => message,
                        WorkspaceError::Io { source, .. } => source.to_string(),
                        // `into_each` leaves none.
                        several @ WorkspaceError::Several { .. } => several.to_string(),
                    };
                    At::new(list, format!("inline workspaces: {message}"))
                }
            })
            .collect(),
    )
}

/// The problems found in one test, each at its place.
#[derive(Default)]
struct Problems(Vec<At>);

impl From<At> for Problems {
    fn from(at: At) -> Problems {
        Problems(vec![at])
    }
}

/// Everything one test runs with.
struct Prepared {
    /// The key of the gamebook test's library in `Runner::direct`.
    direct: Option<String>,
    incident: Incident,
    workspace: Workspace,
    config: RunConfig,
    executor: executor::TestExecutor,
}

impl<'a> Runner<'a> {
    fn run_file(&mut self, path: &Path, out: &mut Vec<TestResult>) -> Result<(), TestError> {
        let file = display_path(path);
        let file_errors = |messages: Vec<String>| TestResult {
            file: file.clone(),
            name: String::new(),
            line: 0,
            passed: false,
            failures: messages
                .into_iter()
                .map(|message| Failure::Error { message })
                .collect(),
        };
        let file_error = |message: String| file_errors(vec![message]);
        let bytes =
            read_bounded(path, self.limits.max_file_bytes).map_err(|source| TestError::Io {
                path: file.clone(),
                source,
            })?;
        if bytes.len() > self.limits.max_file_bytes {
            out.push(file_error(format!(
                "{file}: the file is larger than the limit of {} bytes; split it into several test files",
                self.limits.max_file_bytes
            )));
            return Ok(());
        }
        let text = match riposte_dsl::syntax::decode(&file, bytes, riposte_dsl::FileId(0)) {
            Ok(src) => src.text,
            // Bad UTF-8 at its line and column, or a file in another encoding.
            Err(d) => {
                out.push(file_error(format!(
                    "{file}: {}; save the file as UTF-8",
                    d.message
                )));
                return Ok(());
            }
        };
        let parsed = parse(&text, self.limits);
        let unreadable = match &parsed {
            Ok(docs) => docs
                .iter()
                .all(|d| matches!(d, Document::Unreadable { .. })),
            Err(_) => true,
        };
        if unreadable {
            if let Some(what) = library_kind(&text, self.limits) {
                let fix = match crate::load::library_name_of_test_file(&file) {
                    Some(renamed) => format!(
                        "a library skips files named so: rename it `{renamed}`, then check it \
                         with `riposte check {renamed}`"
                    ),
                    None => format!("check it with `riposte check {file}`"),
                };
                return Err(TestError::LibraryFile {
                    path: file,
                    what,
                    fix,
                });
            }
        }
        let docs = match parsed {
            Ok(docs) if docs.is_empty() => {
                out.push(file_error(format!(
                    "{file}: the file holds no test; start it with `kind: test`"
                )));
                return Ok(());
            }
            Ok(docs) => docs,
            Err(problems) => {
                out.push(file_errors(
                    problems.iter().map(|at| at.render(&file)).collect(),
                ));
                return Ok(());
            }
        };
        let mut names: HashMap<String, u64> = HashMap::new();
        for doc in &docs {
            let name = match doc {
                Document::Test(doc) => &doc.name.value,
                Document::Unreadable { name, .. } => name,
            };
            if !self.selected(name) {
                self.filtered_out += 1;
                continue;
            }
            let doc = match doc {
                Document::Test(doc) => doc,
                Document::Unreadable {
                    name,
                    line,
                    problems,
                } => {
                    out.push(TestResult {
                        file: file.clone(),
                        name: name.clone(),
                        line: *line,
                        passed: false,
                        failures: problems
                            .iter()
                            .map(|at| Failure::Error {
                                message: at.render(&file),
                            })
                            .collect(),
                    });
                    continue;
                }
            };
            let name = doc.name.value.clone();
            let line = doc.name.referenced.line();
            let mut failures = Vec::new();
            if let Some(first) = names.insert(name.clone(), line) {
                let at = At::new(
                    &doc.name.referenced,
                    format!(
                        "test name `{name}` is used twice in this file (first on line {first})"
                    ),
                );
                failures.push(Failure::Error {
                    message: at.render(&file),
                });
            } else {
                match self.prepare(path, &text, doc) {
                    Ok(p) => {
                        let library = match &p.direct {
                            Some(key) => match self.direct.get(key) {
                                Some(Ok(lib)) => lib,
                                // `prepare` compiled it, or failed.
                                _ => self.library,
                            },
                            None => self.library,
                        };
                        let plan = plan::simulate(
                            library,
                            &p.workspace,
                            &p.incident,
                            &p.config,
                            &p.executor,
                        );
                        self.hits.add(&plan.trace);
                        failures = expect::check(&plan, &doc.expect);
                        // A `fail` that fails nothing would let a retry or handler test pass
                        // without exercising it.
                        for i in p.executor.unmatched() {
                            if let Some(f) = doc.fail.get(i) {
                                failures.push(Failure::UnmatchedFail {
                                    message: unmatched_fail(&file, f),
                                });
                            }
                        }
                        // So does a `reject` that rejects nothing, or a `time_out` that times out
                        // no gate: the test would show the plan of an approval it never refused.
                        for (name, entry) in entries(&doc.reject) {
                            if !plan::rejects_something(&plan, &name.value) {
                                let at = place_or(&name.referenced, entry);
                                failures.push(Failure::UnmatchedReject {
                                    message: format!(
                                        "`reject` entry `{}` at {file}:{}:{} rejected nothing: no \
                                         approval of that step was asked for (it has no approval \
                                         gate and its actions need no approval here), or it waits \
                                         on another approval first (grant that one with `approve`)",
                                        name.value,
                                        at.line(),
                                        at.column()
                                    ),
                                });
                            }
                        }
                        // And an `approve` entry that approves nothing: the test would pass
                        // believing a gate open that its plan never reached, or that needed
                        // no approval. Planned again without it, after the `fail` check
                        // (the executor counts what it failed).
                        if let Some(Approve::Steps(steps)) = doc.approve.as_ref().map(|a| &a.value)
                        {
                            let mut used = vec![false; steps.len()];
                            plan::mark_approvals_used(
                                library,
                                &p.workspace,
                                &p.incident,
                                &p.config,
                                &p.executor,
                                &plan,
                                &mut used,
                            );
                            let whole = doc.approve.as_ref().map(|a| &a.referenced);
                            for (step, _) in steps.iter().zip(used).filter(|(_, used)| !used) {
                                let at = match whole {
                                    Some(w) => place_or(&step.referenced, w),
                                    None => &step.referenced,
                                };
                                failures.push(Failure::UnmatchedApprove {
                                    message: format!(
                                        "`approve` entry `{}` at {file}:{}:{} approved nothing: \
                                         no approval of that step was asked for (it has no \
                                         approval gate and its actions need no approval here, \
                                         or none is planned: no item, blocked, or past a \
                                         limit), or it waits on another approval first (grant \
                                         that one too)",
                                        step.value,
                                        at.line(),
                                        at.column()
                                    ),
                                });
                            }
                        }
                        for (name, entry) in entries(&doc.time_out) {
                            if !plan::decides_a_time_out(&plan, &name.value) {
                                let at = place_or(&name.referenced, entry);
                                failures.push(Failure::UnmatchedTimeOut {
                                    message: format!(
                                        "`time_out` entry `{}` at {file}:{}:{} timed out nothing: \
                                         no approval gate of that step held anything back (it \
                                         has no gate, its for-each had no item, or it waits on \
                                         another approval first: grant that one with `approve`)",
                                        name.value,
                                        at.line(),
                                        at.column()
                                    ),
                                });
                            }
                        }
                    }
                    Err(problems) => failures.extend(problems.0.iter().map(|at| Failure::Error {
                        message: at.render(&file),
                    })),
                }
            }
            out.push(TestResult {
                file: file.clone(),
                name,
                line,
                passed: failures.is_empty(),
                failures,
            });
        }
        Ok(())
    }

    /// Reads, resolves and checks everything a test refers to.
    /// Whether `--filter` lets the test named `name` run.
    fn selected(&self, name: &str) -> bool {
        self.filter
            .as_deref()
            .is_none_or(|f| name.to_lowercase().contains(f))
    }

    /// Every problem of the test is reported: those of its names, of what it refers to, and
    /// of the targets it names in its incident.
    /// The test `doc` of the file `path`, whose text is `text`, ready to run.
    fn prepare(&mut self, path: &Path, text: &str, doc: &TestDoc) -> Result<Prepared, Problems> {
        let mut problems = self.validate(doc).err().unwrap_or_default();
        match self.resolve(path, text, doc) {
            Ok(prepared) => {
                problems
                    .0
                    .extend(check_targets(self.library, doc, &prepared.incident));
                if problems.0.is_empty() {
                    return Ok(prepared);
                }
            }
            Err(more) => problems.0.extend(more.0),
        }
        Err(problems)
    }

    /// Reads and resolves what a checked test refers to: its incident, workspace, library.
    fn resolve(&mut self, path: &Path, text: &str, doc: &TestDoc) -> Result<Prepared, Problems> {
        let base = path.parent().unwrap_or(Path::new(""));
        let file = display_path(path);

        // The incident: a file next to the test, or inline.
        let inc = &doc.incident;
        let inline;
        let incidents: &[Incident] = match &inc.value.json {
            serde_json::Value::String(rel) => {
                let p = lexical_join(base, rel);
                let read = self.incidents.entry(p.clone()).or_insert_with(|| {
                    incident::read_incidents(&p, &self.limits.import)
                        .map(|(_, list)| list)
                        .map_err(|e| {
                            // A test's incident may be written in the test instead.
                            let inline = if e.is_not_json() {
                                "; a test may write its incident inline instead, in YAML, as a \
                                 mapping under `incident:`"
                            } else {
                                ""
                            };
                            format!("{e}{inline}{}", relative_hint("incident", rel, &p, base))
                        })
                });
                match read {
                    Ok(list) => list,
                    Err(e) => return Err(At::new(&inc.referenced, e.clone()).into()),
                }
            }
            serde_json::Value::Object(_) => {
                let json = inc.value.json.to_string();
                inline = incident::parse_incidents(&file, &json, &self.limits.import)
                    .map(|(_, list)| list)
                    .map_err(|e| {
                        // At the node the error's JSON path names, as written in the test.
                        let at = e.json_path().map_or(&inc.referenced, |path| {
                            inc.value.locate(&inc.referenced, &path)
                        });
                        At::new(at, format!("inline incident {}", e.message_in_file()))
                    })?;
                &inline
            }
            _ => {
                return Err(At::new(
                    &inc.referenced,
                    "`incident` is a path to an incident file or an inline incident document (a mapping)",
                ).into())
            }
        };
        let incident = match (&doc.incident_id, incidents) {
            (None, [one]) => one.clone(),
            (None, []) => {
                return Err(At::new(&inc.referenced, "the incident file holds no incident").into())
            }
            (None, many) => {
                let ids: Vec<String> = many
                    .iter()
                    .take(10)
                    .map(|i| format!("`{}`", i.id))
                    .collect();
                return Err(At::new(
                    &inc.referenced,
                    format!(
                        "the incident file holds {} incidents; choose one with `incident_id:` ({}{})",
                        many.len(),
                        ids.join(", "),
                        if many.len() > 10 { ", …" } else { "" }
                    ),
                ).into());
            }
            (Some(id), list) => {
                let mut found = list.iter().filter(|i| i.id == id.value);
                match (found.next(), found.next()) {
                    (Some(one), None) => one.clone(),
                    (None, _) => {
                        return Err(At::new(
                            &id.referenced,
                            format!("no incident with id `{}` in the incident file", id.value),
                        )
                        .into())
                    }
                    (Some(_), Some(_)) => {
                        return Err(At::new(
                            &id.referenced,
                            format!(
                                "several incidents of the incident file have id `{}`; a test \
                                 needs a file where its incident's id is unique",
                                id.value
                            ),
                        )
                        .into())
                    }
                }
            }
        };

        // The workspaces: a file, inline, or the demo.
        let owned;
        let mut inline_at: Option<InlineWorkspaces> = None;
        let workspaces: &[Workspace] = match &doc.workspaces {
            None => {
                owned = vec![Workspace::demo_for(&self.library.sops)];
                &owned
            }
            Some(ws) => match &ws.value {
                serde_json::Value::String(rel) => {
                    let p = lexical_join(base, rel);
                    let read = self.workspaces.entry(p.clone()).or_insert_with(|| {
                        workspace::read_workspaces(&p).map_err(|e| {
                            let hint = relative_hint("workspaces", rel, &p, base);
                            e.into_each().iter().map(|e| format!("{e}{hint}")).collect()
                        })
                    });
                    match read {
                        Ok(list) => list,
                        // Each error of the file, at the test's `workspaces`.
                        Err(errors) => {
                            return Err(Problems(
                                errors.iter().map(|e| At::new(&ws.referenced, e)).collect(),
                            ))
                        }
                    }
                }
                serde_json::Value::Array(_) => {
                    // The values read are what the test runs with (aliases to anchors
                    // elsewhere in the document resolved). The list cut out of the test file
                    // only places errors: where it reads as the values do (the same error, or
                    // the same workspaces), its positions are those of the file.
                    let json = serde_json::json!({ "workspaces": ws.value }).to_string();
                    // The cut is read only where an error is to be placed.
                    let cut = InlineWorkspaces::cut(text, &ws.referenced);
                    match workspace::parse_workspaces(&file, &json) {
                        Ok(read) => {
                            inline_at = cut;
                            owned = read;
                        }
                        Err(e) => {
                            let as_cut = cut
                                .as_ref()
                                .map(|c| workspace::parse_workspaces(&file, &c.text));
                            let same = |c: &WorkspaceError| messages(c) == messages(&e);
                            return Err(match as_cut {
                                Some(Err(c)) if same(&c) => {
                                    inline_problems(c, cut.as_ref(), &ws.referenced)
                                }
                                _ => inline_problems(e, None, &ws.referenced),
                            });
                        }
                    }
                    &owned
                }
                _ => return Err(At::new(
                    &ws.referenced,
                    "`workspaces` is a path to a workspaces file or an inline list of workspaces",
                )
                .into()),
            },
        };
        if let Some(ws) = &doc.workspaces {
            let sops = self.library.sops.iter().map(|s| &*s.name);
            workspace::check_sops(workspaces, sops).map_err(|unknown| {
                // A file's errors say where in it, as its other errors do.
                let each: Vec<String> = match &ws.value {
                    serde_json::Value::String(rel) => {
                        workspace::locate_unknown_sops(unknown, &lexical_join(base, rel))
                            .into_each()
                            .iter()
                            .map(ToString::to_string)
                            .collect()
                    }
                    _ => {
                        // Placed in the cut where it reads as the same workspaces.
                        let reads_same = |c: &&InlineWorkspaces| {
                            workspace::parse_workspaces(&file, &c.text).is_ok_and(|read| {
                                read.iter()
                                    .map(|w| &w.name)
                                    .eq(workspaces.iter().map(|w| &w.name))
                            })
                        };
                        if let Some(inline) = inline_at.as_ref().filter(reads_same) {
                            let located =
                                workspace::locate_unknown_sops_in(unknown, &file, &inline.text);
                            return inline_problems(located, Some(inline), &ws.referenced);
                        }
                        let shown = unknown.iter().take(workspace::MAX_REPORTED_ERRORS);
                        let mut each: Vec<String> = shown.map(ToString::to_string).collect();
                        let more = unknown.len().saturating_sub(workspace::MAX_REPORTED_ERRORS);
                        if more > 0 {
                            each.push(format!("{more} more unknown SOPs not shown"));
                        }
                        each
                    }
                };
                Problems(each.iter().map(|m| At::new(&ws.referenced, m)).collect())
            })?;
        }
        let named = doc.workspace.as_ref();
        let ws = workspace::select(
            workspaces,
            named.map(|n| n.value.as_str()),
            incident.workspace.as_deref(),
        )
        .map_err(|e| {
            let loc = named.map_or(&inc.referenced, |n| &n.referenced);
            let message = match e {
                SelectError::NoTenant { tenant, known } => format!(
                    "no workspace has the incident's tenant id `{tenant}`; name one with \
                     `workspace:` (the workspaces are: {known})"
                ),
                SelectError::Ambiguous { known } => format!(
                    "the incident names no tenant and there are several workspaces; name one \
                     with `workspace:` (the workspaces are: {known})"
                ),
                unknown @ SelectError::Unknown { .. } => unknown.to_string(),
            };
            At::new(loc, message)
        })?
        .clone();

        let approvals = match doc.approve.as_ref().map(|a| &a.value) {
            None | Some(Approve::None) => Approvals::None,
            Some(Approve::All) => Approvals::All,
            Some(Approve::Steps(s)) => {
                Approvals::Steps(s.iter().map(|step| step.value.clone()).collect())
            }
        };
        let names = |list: &Option<serde_saphyr::Spanned<file::StepNames>>| {
            list.iter()
                .flat_map(|l| l.value.0.iter().map(|s| s.value.clone()))
                .collect()
        };
        let refusals = Refusals {
            rejected: names(&doc.reject),
            timed_out: names(&doc.time_out),
        };
        let now_ms = match &doc.now {
            Some(t) => riposte_dsl::value::parse_time(&t.value).ok_or_else(|| {
                At::new(
                    &t.referenced,
                    format!(
                        "`now: {}` is not an RFC 3339 time such as 2025-03-14T03:00:00Z",
                        t.value
                    ),
                )
            })?,
            None => plan::default_now(&incident),
        };
        let executor =
            executor::TestExecutor::new(doc.fail.iter().map(|f| f.value.clone()).collect());
        let direct = self.direct_library(doc)?;
        Ok(Prepared {
            direct,
            incident,
            workspace: ws,
            config: RunConfig {
                approvals,
                refusals,
                max_fanout: doc.max_fanout.as_ref().map_or(1_000, |m| m.value),
                now_ms,
                // Coverage is measured from the trace.
                trace: true,
                ..RunConfig::default()
            },
            executor,
        })
    }

    /// For a gamebook test, compiles (once) the library's gamebooks with an SOP that runs the
    /// gamebook with the test's inputs; returns its key in `self.direct`.
    fn direct_library(&mut self, doc: &TestDoc) -> Result<Option<String>, At> {
        let Some(gb) = &doc.gamebook else {
            if let Some(w) = &doc.with {
                return Err(At::new(
                    &w.referenced,
                    "`with` gives the inputs of `gamebook`; add `gamebook: NAME` to test a gamebook directly",
                ));
            }
            return Ok(None);
        };
        let Some(gamebook) = self.library.gamebook(&gb.value) else {
            let mut known: Vec<&str> = self
                .library
                .gamebooks
                .iter()
                .map(|g| g.name.as_str())
                .collect();
            known.truncate(20);
            return Err(At::new(
                &gb.referenced,
                format!(
                    "no gamebook `{}` in the library; the gamebooks are {}",
                    gb.value,
                    known.join(", ")
                ),
            ));
        };
        let with = doc.with.as_ref().map_or_else(
            || "{}".to_string(),
            |w| serde_json::Value::Object(w.value.clone()).to_string(),
        );
        let text = format!(
            "kind: sop\ntype: response\nname: {DIRECT_SOP}\ngamebooks:\n  - gamebook: {}\n    with: {with}\n",
            serde_json::Value::from(gamebook.name.as_str())
        );
        if !self.direct.contains_key(&text) {
            let compiled = self.compile_direct(&text);
            self.direct.insert(text.clone(), compiled);
        }
        match self.direct.get(&text) {
            Some(Err(e)) => {
                let loc = doc.with.as_ref().map_or(&gb.referenced, |w| &w.referenced);
                Err(At::new(loc, e.clone()))
            }
            _ => Ok(Some(text)),
        }
    }

    fn compile_direct(&self, sop: &str) -> Result<Library, String> {
        let gamebook_files: BTreeSet<_> = self.library.gamebooks.iter().map(|g| g.file).collect();
        let mut sources = SourceMap::new();
        for (id, f) in self.sources.iter() {
            if gamebook_files.contains(&id) {
                sources.add(f.clone());
            }
        }
        sources.add(SourceFile::new(format!("({DIRECT_SOP})"), sop));
        let c = riposte_dsl::compile::compile(
            &sources,
            &riposte_dsl::syntax::Limits::default(),
            Vec::new(),
        );
        let errors: Vec<String> = c
            .diagnostics
            .iter()
            .filter(|d| d.is_error())
            .map(|d| match (&d.help, d.code) {
                // The suggestion of a misspelt input; other help speaks of the SOP made here.
                (Some(help), riposte_dsl::Code::UnknownInput) => format!("{}; {help}", d.message),
                _ => d.message.clone(),
            })
            .collect();
        if errors.is_empty() {
            Ok(c.library)
        } else {
            Err(format!(
                "the gamebook cannot run with these inputs: {}",
                errors.join("; ")
            ))
        }
    }

    /// The steps whose approval a test decides (`approve`, `reject`, `time_out`): steps of
    /// the library, each decided once; a step that times out has an approval gate.
    fn check_decided(&self, names: &Names, doc: &TestDoc) -> Vec<At> {
        let approved = doc.approve.as_ref().and_then(|a| match &a.value {
            Approve::Steps(list) => Some((&a.referenced, list.as_slice())),
            Approve::All | Approve::None => None,
        });
        fn refused<'d>(
            key: &'static str,
            l: &'d Option<serde_saphyr::Spanned<file::StepNames>>,
        ) -> Option<(
            &'static str,
            &'d Location,
            &'d [serde_saphyr::Spanned<String>],
        )> {
            l.as_ref()
                .map(|l| (key, &l.referenced, l.value.0.as_slice()))
        }
        let lists: Vec<(&str, &Location, &[serde_saphyr::Spanned<String>])> = approved
            .map(|(at, list)| ("approve", at, list))
            .into_iter()
            .chain(refused("reject", &doc.reject))
            .chain(refused("time_out", &doc.time_out))
            .collect();
        let mut found = Vec::new();
        let mut seen: Vec<(&str, &str)> = Vec::new();
        for (key, at, list) in lists {
            for step in list {
                let (s, loc) = (step.value.as_str(), place_or(&step.referenced, at));
                // `approve: Al` is `all` misspelt likelier than a step.
                let one_word = key == "approve" && step.referenced == Location::UNKNOWN;
                if one_word && !crate::scheduler::is_step_name(self.library, s) {
                    let words = ["all", "none"].into_iter();
                    let near = riposte_dsl::diagnostic::did_you_mean(
                        s,
                        words.chain(names.steps.iter().map(String::as_str)),
                    );
                    if let Some(word @ ("all" | "none")) = near {
                        found.push(At::new(
                            loc,
                            format!("unknown step `{s}` in `approve`; did you mean `{word}`?"),
                        ));
                        continue;
                    }
                }
                if let Err(e) = names.step(loc, key, s) {
                    found.push(e);
                    continue;
                }
                if key == "time_out" && !crate::scheduler::can_time_out(self.library, s) {
                    found.push(At::new(
                        loc,
                        format!(
                            "step `{s}` in `time_out` {}",
                            crate::scheduler::NOTHING_TIMES_OUT
                        ),
                    ));
                    continue;
                }
                // `isolate` names `contain.isolate` too.
                // A refusal narrower than an approval refines it (approve `isolate`, reject
                // `contain-device/isolate`).
                let refines = |k: &str, b: &str| {
                    k == "approve" && key != "approve" && crate::scheduler::narrower(s, b)
                };
                if let Some((k, b)) = seen
                    .iter()
                    .find(|(k, b)| crate::scheduler::same_step(b, s) && !refines(k, b))
                {
                    let what = match (*k == key, *b == s) {
                        (true, true) => format!("`{key}` lists step `{s}` twice; remove one"),
                        (true, false) => format!(
                            "`{key}` lists step `{s}` and `{b}`, which name the same step; \
                             remove one"
                        ),
                        (false, _) => format!(
                            "`{key}` lists step `{s}`, which `{k}` decides already (`{b}`); \
                             decide each step's approval once"
                        ),
                    };
                    found.push(At::new(loc, what));
                    continue;
                }
                seen.push((key, s));
            }
        }
        found
    }

    /// The names an expected action or a scripted failure gives, each reported where it is
    /// written (the entry, for what spans fields): each known, and together naming steps that
    /// plan that action in what the test runs. An entry naming a step of another gamebook, or
    /// one that runs another action or none, matches (or fails) nothing.
    fn check_named(
        &self,
        names: &Names,
        kind: Entry,
        entry: &Location,
        n: Named,
    ) -> Result<(), At> {
        let key = kind.key();
        if let Some(s) = n.sop {
            names.sop(place_or(&s.at, entry), key, s)?;
        }
        if let Some(g) = n.gamebook {
            names.gamebook(place_or(&g.at, entry), key, g)?;
        }
        if let Some(s) = n.step {
            names.step(place_or(&s.at, entry), key, s)?;
        }
        if let Some(x) = n.action {
            names.action(place_or(&x.at, entry), key, x)?;
        }
        if let (Some(g), Some(s)) = (n.gamebook, n.step) {
            check_step_of_gamebook(self.runs.as_deref(), place_or(&s.at, entry), kind, g, s)?;
        }
        if let Some(sop) = n.sop {
            let named = n.step.or(n.gamebook);
            let loc = place_or(named.map_or(&sop.at, |n| &n.at), entry);
            let (gamebook, step) = (n.gamebook.map(|g| &**g), n.step.map(|s| &**s));
            self.check_run_by_sop(loc, key, sop, gamebook, step)?;
        }
        if let Some(step) = n.step {
            let scope = (n.gamebook.map(|g| &**g), n.sop.map(|s| &**s));
            let steps = self.steps_in_scope(step, scope);
            let loc = place_or(&step.at, entry);
            check_step_plans_actions(&steps, loc, kind, step, n.action.map(|a| &**a))?;
        }
        Ok(())
    }

    /// A scripted failure: of steps and actions that exist, failing something.
    fn check_fail(&self, names: &Names, f: &serde_saphyr::Spanned<file::Fail>) -> Result<(), At> {
        let (fail, entry) = (&f.value, &f.referenced);
        let named = Named {
            sop: None,
            gamebook: fail.gamebook.as_ref(),
            step: fail.step.as_ref(),
            action: fail.action.as_ref(),
        };
        self.check_named(names, Entry::Fail, entry, named)?;
        let range = riposte_dsl::lower::RETRY_ATTEMPTS;
        match f.value.attempts {
            Some(0) => {
                return Err(At::new(
                    &f.referenced,
                    "`attempts: 0` fails nothing; give the number of attempts that fail (at least 1), or leave it out to fail every attempt",
                ))
            }
            Some(n) if i64::from(n) > *range.end() => {
                return Err(At::new(
                    &f.referenced,
                    format!("`attempts: {n}` in `fail`: {}", file::failing_attempts_help()),
                ))
            }
            _ => {}
        }
        Ok(())
    }

    /// An expected SOP: one of the library, listed once.
    fn check_expected_sop(
        &self,
        names: &Names,
        sops: &[serde_saphyr::Spanned<String>],
        i: usize,
        s: &serde_saphyr::Spanned<String>,
    ) -> Result<(), At> {
        names.sop(&s.referenced, "expect.sops", &s.value)?;
        if sops
            .get(..i)
            .is_some_and(|before| before.iter().any(|b| b.value == s.value))
        {
            return Err(At::new(
                &s.referenced,
                format!("`expect.sops` lists SOP `{}` twice; remove one", s.value),
            ));
        }
        Ok(())
    }

    /// An expectation naming an `sop` with a `gamebook` or `step` must name what a run of that
    /// SOP plans (its gamebooks, and those they call): no plan entry could match it otherwise,
    /// and a `count: 0` would pass whatever the plan. An SOP the library lacks was reported
    /// by name; a gamebook test's own SOP runs its gamebook, checked as such.
    /// The steps of the library an expectation's `step` names among the steps runs plan under
    /// its `gamebook` (as [`RunStep::named_by`] reads it: a label `caller > callee` too) and
    /// the gamebooks its `sop` runs, each given: a step of that name elsewhere is none it can
    /// match. Without either, or past the bound on runs, every step of that name.
    fn steps_in_scope(
        &self,
        step: &str,
        (gamebook, sop): (Option<&str>, Option<&str>),
    ) -> Vec<&'a riposte_dsl::checked::Step> {
        let library = self.library;
        let (Some(runs), true) = (self.runs.as_deref(), gamebook.is_some() || sop.is_some()) else {
            return crate::scheduler::steps_named(library, step);
        };
        let roots = sop.and_then(|s| self.sop_roots(s));
        let root = |r: &RunStep| r.label.split(" > ").next().unwrap_or_default().to_string();
        runs.iter()
            .filter(|r| r.named_by(gamebook, Some(step)))
            .filter(|r| {
                roots
                    .as_ref()
                    .is_none_or(|roots| roots.contains(&root(r).as_str()))
            })
            .flat_map(|r| {
                crate::scheduler::steps_named(library, &format!("{}/{}", root(r), r.path))
            })
            .collect()
    }

    /// The gamebooks SOP `sop` runs itself, if the library has it.
    fn sop_roots(&self, sop: &str) -> Option<Vec<&'a str>> {
        Some(match &self.library.sop(sop)?.body {
            riposte_dsl::checked::SopBody::Response(r) => {
                r.gamebooks.iter().map(|g| g.gamebook.as_str()).collect()
            }
            riposte_dsl::checked::SopBody::Classification(_) => Vec::new(),
        })
    }

    fn check_run_by_sop(
        &self,
        loc: &Location,
        key: &str,
        sop: &str,
        gamebook: Option<&str>,
        step: Option<&str>,
    ) -> Result<(), At> {
        let (Some(runs), Some(roots)) = (self.runs.as_deref(), self.sop_roots(sop)) else {
            return Ok(());
        };
        if gamebook.is_none() && step.is_none() {
            return Ok(());
        }
        let run_by_sop = |r: &&RunStep| {
            let root = r.label.split(" > ").next().unwrap_or_default();
            roots.contains(&root)
        };
        if runs
            .iter()
            .filter(run_by_sop)
            .any(|r| r.named_by(gamebook, step))
        {
            return Ok(());
        }
        let what = match (gamebook, step) {
            (Some(g), Some(s)) => format!("step `{s}` of gamebook `{g}`"),
            (Some(g), None) => format!("gamebook `{g}`"),
            (None, Some(s)) => format!("step `{s}`"),
            (None, None) => String::new(),
        };
        let runs_what = if roots.is_empty() {
            "it runs no gamebook".to_string()
        } else {
            let names: Vec<String> = roots.iter().map(|g| format!("`{g}`")).collect();
            format!("it runs {} (and what they call)", names.join(", "))
        };
        Err(At::new(
            loc,
            format!(
                "SOP `{sop}` (in `{key}`) plans no {what}: {runs_what}, so this expectation \
                 could never match; name the SOP that runs it"
            ),
        ))
    }

    /// An expected action: names that exist, and what a plan could hold.
    fn check_expected_action(
        &self,
        names: &Names,
        a: &serde_saphyr::Spanned<file::ExpectAction>,
    ) -> Result<(), At> {
        let (e, entry) = (&a.value, &a.referenced);
        let key = Entry::ExpectAction.key();
        let named = Named {
            sop: e.sop.as_ref(),
            gamebook: e.gamebook.as_ref(),
            step: e.step.as_ref(),
            action: e.action.as_ref(),
        };
        self.check_named(names, Entry::ExpectAction, entry, named)?;
        // The params are checked against the catalog, for the action named or the one the
        // step runs: a misspelt one, or a value the action cannot take, would pass silently
        // in a `count: 0`.
        let spec = expected_spec(self.library, e.action.as_deref(), e.step.as_deref());
        if let (Some(params), Some(spec)) = (&e.params, spec) {
            let loc = place_or(&params.referenced, entry);
            for (k, v) in &params.value {
                let Some(param) = spec.param(k) else {
                    return Err(At::new(
                        loc,
                        format!(
                            "`{}` has no parameter `{k}` (in `expect.actions`); {}",
                            spec.id,
                            spec.unknown_param_help(k)
                        ),
                    ));
                };
                if let Some(problem) = expected_param_problem(param, v) {
                    return Err(At::new(
                        loc,
                        format!(
                            "{problem} (param `{k}` of `{}`, in `expect.actions`)",
                            spec.id
                        ),
                    ));
                }
            }
        }
        if let Some(r) = &e.approver {
            names.role(place_or(&r.at, entry), key, r)?;
        }
        Ok(())
    }

    /// An expected task: names that exist, and a step that opens tasks.
    fn check_expected_task(
        &self,
        names: &Names,
        t: &serde_saphyr::Spanned<file::ExpectTask>,
    ) -> Result<(), At> {
        let (e, entry) = (&t.value, &t.referenced);
        let key = Entry::ExpectTask.key();
        if let Some(s) = &e.sop {
            names.sop(place_or(&s.at, entry), key, s)?;
        }
        // An SOP's own tasks have an empty gamebook and step.
        if let Some(g) = e.gamebook.as_ref().filter(|g| !g.is_empty()) {
            names.gamebook(place_or(&g.at, entry), key, g)?;
        }
        if let Some(s) = e.step.as_ref().filter(|s| !s.is_empty()) {
            names.step(place_or(&s.at, entry), key, s)?;
            if let Some(g) = e.gamebook.as_ref().filter(|g| !g.is_empty()) {
                let loc = place_or(&s.at, entry);
                check_step_of_gamebook(self.runs.as_deref(), loc, Entry::ExpectTask, g, s)?;
            }
            let scope = (e.gamebook.as_deref(), e.sop.as_deref());
            let steps = self.steps_in_scope(s, scope);
            check_step_opens_tasks(&steps, place_or(&s.at, entry), s)?;
        }
        if let Some(sop) = &e.sop {
            let gamebook = e.gamebook.as_ref().filter(|g| !g.is_empty());
            let step = e.step.as_ref().filter(|s| !s.is_empty());
            let loc = place_or(step.or(gamebook).map_or(&sop.at, |n| &n.at), entry);
            let (gamebook, step) = (gamebook.map(|g| &**g), step.map(|s| &**s));
            self.check_run_by_sop(loc, key, sop, gamebook, step)?;
        }
        if let Some(r) = &e.role {
            names.role(place_or(&r.at, entry), key, r)?;
        }
        Ok(())
    }

    /// Names that must exist: approved and failing steps, and every name an expectation gives
    /// (SOPs, gamebooks, steps, actions, roles, classifications). A typo in `count: 0` would
    /// otherwise pass silently.
    fn validate(&self, doc: &TestDoc) -> Result<(), Problems> {
        // Past the bounds on its lists nothing else of a test is checked.
        // Each list's first entry past the bound, where it is reported.
        fn past<T>(list: &[serde_saphyr::Spanned<T>]) -> Option<&Location> {
            list.get(file::MAX_LIST).map(|entry| &entry.referenced)
        }
        let lists = [
            ("fail", past(&doc.fail)),
            (
                "expect.actions",
                doc.expect.actions.as_deref().and_then(past),
            ),
            ("expect.tasks", doc.expect.tasks.as_deref().and_then(past)),
            ("expect.sops", doc.expect.sops.as_deref().and_then(past)),
        ];
        if let Some((key, at)) = lists.iter().find_map(|(key, at)| Some((key, (*at)?))) {
            return Err(At::new(
                place_or(at, &doc.name.referenced),
                format!(
                    "`{key}` has more than {} entries; split the test",
                    file::MAX_LIST
                ),
            )
            .into());
        }
        // Every problem is reported, the first of each entry.
        let mut found = Problems::default();
        let mut check = |r: Result<(), At>| found.0.extend(r.err());
        if doc.name.value.trim().is_empty() {
            check(Err(At::new(
                &doc.name.referenced,
                "the test's `name` is empty; name it after what it checks",
            )));
        }
        if doc.expect.ordered && doc.expect.actions.is_none() {
            check(Err(At::new(
                &doc.name.referenced,
                "`expect.ordered` orders the actions `expect.actions` lists, and this test lists \
                 none; list them, or remove `ordered`",
            )));
        }
        let names = Names::of(self.library, &self.steps, doc.gamebook.is_some());
        for e in self.check_decided(&names, doc) {
            check(Err(e));
        }
        for f in &doc.fail {
            check(self.check_fail(&names, f));
        }
        if let Some(sops) = &doc.expect.sops {
            for (i, s) in sops.iter().enumerate() {
                check(self.check_expected_sop(&names, sops, i, s));
            }
        }
        for a in doc.expect.actions.iter().flatten() {
            check(self.check_expected_action(&names, a));
        }
        for t in doc.expect.tasks.iter().flatten() {
            check(self.check_expected_task(&names, t));
        }
        if let Some(m) = &doc.max_fanout {
            if m.value == 0 || m.value > self.limits.max_fanout {
                check(Err(At::new(
                    &m.referenced,
                    format!("`max_fanout` is between 1 and {}", self.limits.max_fanout),
                )));
            }
        }
        if let Some(c) = &doc.expect.classification {
            if let ExpectClassification::Is(f) = &c.value {
                let unknown = f
                    .classification
                    .as_ref()
                    .filter(|v| riposte_dsl::ast::Classification::parse(v).is_none());
                if let Some(v) = unknown {
                    check(Err(Names::unknown(
                        place_or(&v.at, &c.referenced),
                        "expect.classification",
                        "classification",
                        v,
                        riposte_dsl::ast::Classification::NAMES.iter().copied(),
                    )));
                }
                if let Some(s) = &f.sop {
                    let at = place_or(&s.at, &c.referenced);
                    check(names.sop(at, "expect.classification", s));
                }
            }
        }
        if found.0.is_empty() {
            Ok(())
        } else {
            Err(found)
        }
    }
}

/// The `kind.*` a test may name an action by, one per kind of the catalog's action ids
/// (`device.*` for `device.isolate`).
pub(crate) fn action_kind_patterns() -> BTreeSet<String> {
    riposte_dsl::catalog::catalog()
        .iter()
        .filter_map(|a| a.id.split_once('.'))
        .map(|(kind, _)| format!("{kind}.*"))
        .collect()
}

/// The action a step runs, if it is an action step.
fn spec_of(step: &riposte_dsl::checked::Step) -> Option<&'static riposte_dsl::catalog::ActionSpec> {
    match &step.kind {
        riposte_dsl::checked::StepKind::Action { spec, .. } => Some(*spec),
        _ => None,
    }
}

/// What a step is, for an error about a step that cannot give what is expected of it (`verb`:
/// `expect` or `fail`, what to do with the steps of a group or call instead).
fn step_kind_text(step: &riposte_dsl::checked::Step, verb: &str) -> String {
    use riposte_dsl::checked::StepKind;
    match &step.kind {
        StepKind::Action { spec, .. } => format!("runs `{}`", spec.id),
        StepKind::Task(_) => "opens a task".to_string(),
        StepKind::Call { gamebook, .. } => {
            format!("calls gamebook `{gamebook}` ({verb} the steps of that gamebook)")
        }
        StepKind::Group(_) => format!("is a group ({verb} the steps inside it)"),
    }
}

/// `loc`, unless it is unknown (a value written without a place of its own): then `outer`.
fn place_or<'l>(loc: &'l Location, outer: &'l Location) -> &'l Location {
    if *loc == Location::UNKNOWN {
        outer
    } else {
        loc
    }
}

/// The actions an entry naming `action` and `step` can be of, each once: its `action` when that
/// is an id of the catalog; else those the steps named `step` run that its `action` (a
/// `kind.*`) takes in; else, with no such step, every action of the catalog its `action` takes
/// in. Empty when neither says (no step or action given, or steps that run no action).
fn entry_actions(
    library: &riposte_dsl::checked::Library,
    action: Option<&str>,
    step: Option<&str>,
) -> Vec<&'static riposte_dsl::catalog::ActionSpec> {
    if let Some(spec) = action.and_then(riposte_dsl::catalog::lookup) {
        return vec![spec];
    }
    let takes = |s: &&riposte_dsl::catalog::ActionSpec| {
        action.is_none_or(|a| riposte_dsl::checked::action_matches(a, s.id))
    };
    let mut specs: Vec<&'static riposte_dsl::catalog::ActionSpec> = Vec::new();
    let of_step = step
        .map(|s| crate::scheduler::steps_named(library, s))
        .unwrap_or_default();
    for spec in of_step.into_iter().filter_map(spec_of).filter(takes) {
        if !specs.iter().any(|s| s.id == spec.id) {
            specs.push(spec);
        }
    }
    if specs.is_empty() && action.is_some() {
        specs = riposte_dsl::catalog::catalog()
            .iter()
            .filter(takes)
            .collect();
    }
    specs
}

/// The action an expectation names, when it names one ([`entry_actions`]): its `action`, or
/// the one action the steps of its `step` run (that its `kind.*` takes in).
fn expected_spec(
    library: &riposte_dsl::checked::Library,
    action: Option<&str>,
    step: Option<&str>,
) -> Option<&'static riposte_dsl::catalog::ActionSpec> {
    match entry_actions(library, action, step)[..] {
        [spec] => Some(spec),
        _ => None,
    }
}

/// A step a run of a gamebook can plan, as plans label it: the gamebook `label` (`caller >
/// callee` in a call) and the step's `path` from the gamebook run, through groups and call
/// steps.
struct RunStep {
    label: String,
    path: String,
}

impl RunStep {
    /// Whether an expectation's `gamebook` and `step` (each, when given) name this step.
    fn named_by(&self, gamebook: Option<&str>, step: Option<&str>) -> bool {
        step.is_none_or(|s| crate::scheduler::names_step_of(s, &self.label, &self.path))
            && gamebook.is_none_or(|g| crate::scheduler::gamebook_matches(g, &self.label))
    }
}

/// Every step a run of each gamebook of the library can plan; `None` past a bound (calls
/// nested deep in a large library), where nothing is checked against them.
fn run_steps(library: &Library) -> Option<Vec<RunStep>> {
    const MAX_RUN_STEPS: usize = 100_000;
    fn walk(
        library: &Library,
        steps: &[riposte_dsl::checked::Step],
        (label, prefix): (&str, &str),
        depth: usize,
        out: &mut Vec<RunStep>,
    ) -> Option<()> {
        use riposte_dsl::checked::StepKind;
        for s in steps {
            let path = format!("{prefix}{}", s.id);
            if out.len() >= MAX_RUN_STEPS {
                return None;
            }
            out.push(RunStep {
                label: label.to_string(),
                path: path.clone(),
            });
            let inner = format!("{path}.");
            match &s.kind {
                StepKind::Group(steps) => walk(library, steps, (label, &inner), depth, out)?,
                StepKind::Call { gamebook, .. } if depth < riposte_dsl::compile::MAX_CALL_DEPTH => {
                    if let Some(callee) = library.gamebook(gamebook) {
                        let label = format!("{label} > {gamebook}");
                        walk(library, &callee.steps, (&label, &inner), depth + 1, out)?;
                    }
                }
                _ => {}
            }
        }
        Some(())
    }
    let mut out = Vec::new();
    for gb in &library.gamebooks {
        walk(library, &gb.steps, (&gb.name, ""), 0, &mut out)?;
    }
    Some(out)
}

/// An expectation naming a `gamebook` and a `step` must name a step that a run of some
/// gamebook plans under that gamebook (its own, or one it calls, labelled `caller > callee`
/// with the path from the caller): no plan entry could match it otherwise, and a `count: 0`
/// would pass whatever the plan.
/// What a test entry naming steps is: it matches plan actions or tasks, or fails actions.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Entry {
    ExpectAction,
    ExpectTask,
    Fail,
}

impl Entry {
    /// The key of the test file the entry is under.
    fn key(self) -> &'static str {
        match self {
            Entry::ExpectAction => "expect.actions",
            Entry::ExpectTask => "expect.tasks",
            Entry::Fail => "fail",
        }
    }

    /// What comes of an entry naming what plans no such action.
    fn in_vain(self) -> &'static str {
        match self {
            Entry::ExpectAction | Entry::ExpectTask => "so nothing can match",
            Entry::Fail => "so this entry fails nothing",
        }
    }
}

/// The names an expected action or a scripted failure gives.
struct Named<'e> {
    sop: Option<&'e file::Text>,
    gamebook: Option<&'e file::Text>,
    step: Option<&'e file::Text>,
    action: Option<&'e file::Text>,
}

fn check_step_of_gamebook(
    runs: Option<&[RunStep]>,
    loc: &Location,
    kind: Entry,
    gamebook: &str,
    step: &str,
) -> Result<(), At> {
    let Some(runs) = runs else {
        return Ok(());
    };
    if runs.iter().any(|r| r.named_by(Some(gamebook), Some(step))) {
        return Ok(());
    }
    let fits = |r: &&RunStep| r.named_by(None, Some(step));
    let mut owners: Vec<String> = Vec::new();
    for r in runs.iter().filter(fits) {
        let label = format!("`{}`", r.label);
        if owners.len() < 5 && !owners.contains(&label) {
            owners.push(label);
        }
    }
    Err(At::new(
        loc,
        format!(
            "step `{step}` (in `{}`) is no step of gamebook `{gamebook}` nor of a gamebook \
             it calls, {}; it is a step of {}",
            kind.key(),
            kind.in_vain(),
            owners.join(", ")
        ),
    ))
}

/// An expected action (`key` `expect.actions`) or a scripted failure (`fail`) of `step`
/// (running `action`, if given) must be of an action a step of that name can plan (`found`,
/// [`Runner::steps_in_scope`]): a task, group or call step plans none, and a step runs one
/// action.
fn check_step_plans_actions(
    found: &[&riposte_dsl::checked::Step],
    loc: &Location,
    kind: Entry,
    step: &str,
    action: Option<&str>,
) -> Result<(), At> {
    let plans = |s: &&riposte_dsl::checked::Step| {
        spec_of(s).is_some_and(|spec| {
            action.is_none_or(|a| riposte_dsl::checked::action_matches(a, spec.id))
        })
    };
    let Some(first) = found.first().filter(|_| !found.iter().any(plans)) else {
        return Ok(());
    };
    let (key, failing) = (kind.key(), kind == Entry::Fail);
    let verb = if failing { "fail" } else { "expect" };
    // Of several steps of that name, those that run an action say what the name can be of.
    let mut runs: Vec<String> = Vec::new();
    for spec in found.iter().filter_map(|s| spec_of(s)) {
        let id = format!("`{}`", spec.id);
        if !runs.contains(&id) {
            runs.push(id);
        }
    }
    if let (Some(a), true, false) = (action, found.len() > 1, runs.is_empty()) {
        return Err(At::new(
            loc,
            format!(
                "no step `{step}` runs `{a}` (in `{key}`){}; the steps of that name that run an \
                 action run {}: {verb} one of those, or name another step",
                if failing {
                    ", so this entry fails nothing"
                } else {
                    ""
                },
                runs.join(" or "),
            ),
        ));
    }
    let is_task = matches!(first.kind, riposte_dsl::checked::StepKind::Task(_));
    Err(At::new(
        loc,
        match action {
            Some(a) if spec_of(first).is_some() => format!(
                "step `{step}` {}, never `{a}` (in `{key}`){}; {verb} its action, or name another step",
                step_kind_text(first, verb),
                if failing { ", so this entry fails nothing" } else { "" },
            ),
            _ => format!(
                "step `{step}` {}: it plans no action (in `{key}`){}",
                step_kind_text(first, verb),
                match (failing, is_task) {
                    (false, true) => "; expect its task in `expect.tasks`",
                    (true, true) => ", so this entry fails nothing; a task step fails when \
                                     `time_out` times out its task (with a `timeout`)",
                    (true, false) => ", so this entry fails nothing",
                    (false, false) => "",
                }
            ),
        },
    ))
}

/// An expected task of `step` must be of a task step (`found`, [`Runner::steps_in_scope`]).
fn check_step_opens_tasks(
    found: &[&riposte_dsl::checked::Step],
    loc: &Location,
    step: &str,
) -> Result<(), At> {
    use riposte_dsl::checked::StepKind;
    match found.first() {
        Some(first) if !found.iter().any(|s| matches!(s.kind, StepKind::Task(_))) => Err(At::new(
            loc,
            format!(
                "step `{step}` {}: it opens no task (in `expect.tasks`){}",
                step_kind_text(first, "expect"),
                if spec_of(first).is_some() {
                    "; expect its action in `expect.actions`"
                } else {
                    ""
                }
            ),
        )),
        _ => Ok(()),
    }
}

/// Why an expected param value can never equal what the action is sent, if it cannot: a value
/// of another type, outside the action's values, or a duration that does not read as one.
fn expected_param_problem(
    param: &riposte_dsl::catalog::ParamSpec,
    v: &serde_json::Value,
) -> Option<String> {
    use riposte_dsl::catalog::ParamType;
    use serde_json::Value as J;
    let fits = match (param.ty, v) {
        // Null is how a param the action does not have is expected.
        (_, J::Null) => true,
        (ParamType::String, J::String(_))
        | (ParamType::Bool, J::Bool(_))
        | (ParamType::Number, J::Number(_)) => true,
        (ParamType::Duration, J::String(d)) => {
            return riposte_dsl::duration::parse_formatted(d)
                .is_none()
                .then(|| format!("`{d}` is not a duration such as `30d` or `1h30m`"))
        }
        (ParamType::Severity, J::String(s)) => {
            let known = ["informational", "low", "medium", "high"];
            return (!known.iter().any(|k| k.eq_ignore_ascii_case(s)))
                .then(|| format!("`{s}` is not a severity; it is one of {}", known.join(", ")));
        }
        (ParamType::Enum(values), J::String(s)) => {
            return (!values.contains(&s.as_str())).then(|| {
                format!(
                    "`{s}` is not a value the action takes; {}",
                    riposte_dsl::diagnostic::suggestion(s, values.iter().copied())
                )
            })
        }
        (ParamType::StringList, J::Array(items)) => items.iter().all(J::is_string),
        _ => false,
    };
    (!fits).then(|| {
        format!(
            "`{}` is not a value of type `{}`",
            riposte_dsl::diagnostic::clip(&v.to_string(), 80),
            param.ty.describe()
        )
    })
}

/// What to add to the error reading `p`, the path `rel` a test's `key` gives from `base`, the
/// test file's directory: where such paths are read from, when `rel` is relative and `p` does
/// not exist (a path written as if from the library or the shell).
fn relative_hint(key: &str, rel: &str, p: &Path, base: &Path) -> String {
    match p.try_exists() {
        Ok(false) if Path::new(rel).is_relative() => {
            let dir = if base.as_os_str().is_empty() {
                ".".to_string()
            } else {
                display_path(base)
            };
            format!("; `{key}` is a path relative to the test file's directory (`{dir}`)")
        }
        _ => String::new(),
    }
}

/// Targets an expectation or a scripted failure names must be entities of the incident (by
/// id, id without its kind, or name) or `incident`: a typo would otherwise pass silently,
/// least of all in a `count: 0`.
fn check_targets(
    library: &riposte_dsl::checked::Library,
    doc: &TestDoc,
    incident: &crate::incident::Incident,
) -> Vec<At> {
    let mut problems = Vec::new();
    let known = |t: &str| {
        t.eq_ignore_ascii_case("incident")
            || incident
                .entities
                .iter()
                .any(|e| crate::executor::target_key_matches(t, &e.id, &e.name))
    };
    let unknown = |loc: &Location, key: &str, t: &str, action: Option<&str>, step: Option<&str>| {
        let hint = if incident.entities.is_empty() {
            "the incident has no entity; `incident` names the incident itself".to_string()
        } else {
            let targets = entry_targets(library, action, step);
            let names = target_candidates(incident, targets.as_ref().map(|k| &k.kinds[..]));
            match targets {
                Some(targets) if names.is_empty() => format!(
                    "the incident has no {}, which {} {}",
                    targets
                        .kinds
                        .iter()
                        .map(|k| k.as_str())
                        .collect::<Vec<_>>()
                        .join(" or "),
                    targets.subject,
                    targets.acts()
                ),
                _ => riposte_dsl::diagnostic::suggestion(t, names.iter().copied()),
            }
        };
        At::new(
            loc,
            format!("target `{t}` in `{key}` is no entity of the incident (by id or name); {hint}"),
        )
    };
    // Each entry naming a target: where it is, and the action and step it names.
    let expected = doc.expect.actions.iter().flatten().map(|a| {
        let e = &a.value;
        (
            "expect.actions",
            &a.referenced,
            e.target.as_ref(),
            e.action.as_deref(),
            e.step.as_deref(),
        )
    });
    let failing = doc.fail.iter().map(|f| {
        let e = &f.value;
        (
            "fail",
            &f.referenced,
            e.target.as_ref(),
            e.action.as_deref(),
            e.step.as_deref(),
        )
    });
    for (key, referenced, target, action, step) in expected.chain(failing) {
        let Some(target) = target else {
            continue;
        };
        let (t, at) = (&**target, place_or(&target.at, referenced));
        if !known(t) {
            problems.push(unknown(at, key, t, action, step));
        } else if let Some(message) = wrong_kind(library, incident, action, step, t, key) {
            problems.push(At::new(at, message));
        }
    }
    problems
}

/// What the actions an entry names can act on ([`entry_actions`]), each kind once, and what
/// acts on them, as errors name it: the entry's `action`, else the action its steps run, else
/// the steps. `None` when nothing says (no step or action given, or a step that runs no
/// action).
fn entry_targets(
    library: &riposte_dsl::checked::Library,
    action: Option<&str>,
    step: Option<&str>,
) -> Option<EntryTargets> {
    let specs = entry_actions(library, action, step);
    let mut kinds = Vec::new();
    for spec in &specs {
        if !kinds.contains(&spec.target) {
            kinds.push(spec.target);
        }
    }
    if kinds.is_empty() {
        return None;
    }
    let (subject, plural) = match (action, step, &specs[..]) {
        (Some(a), _, _) => (format!("`{a}`"), false),
        (None, _, [spec]) => (format!("`{}`", spec.id), false),
        (None, s, _) => {
            let ids: Vec<String> = specs.iter().map(|s| format!("`{}`", s.id)).collect();
            let s = s.unwrap_or_default();
            (
                format!("the steps `{s}` (running {})", ids.join(" or ")),
                true,
            )
        }
    };
    Some(EntryTargets {
        kinds,
        subject,
        plural,
    })
}

/// The kinds of target an entry's actions act on, and what acts on them ([`entry_targets`]).
struct EntryTargets {
    kinds: Vec<riposte_dsl::catalog::Target>,
    /// What acts on them: `` `device.isolate` ``, or `` the steps `contain` (running …) ``.
    subject: String,
    /// Whether `subject` is plural.
    plural: bool,
}

impl EntryTargets {
    /// `acts on` or `act on`.
    fn acts(&self) -> &'static str {
        if self.plural {
            "act on"
        } else {
            "acts on"
        }
    }

    /// What the kinds are: `devices only`, `the incident (write …)`, `devices or the incident`.
    fn acts_on(&self) -> String {
        use riposte_dsl::catalog::Target;
        match self.kinds[..] {
            [Target::Incident] => {
                "the incident (write `target: incident`, or leave it out)".to_string()
            }
            [Target::Entity(kind)] => format!("{} only", kind.collection()),
            _ => self
                .kinds
                .iter()
                .map(|k| match k {
                    Target::Incident => "the incident".to_string(),
                    Target::Entity(kind) => kind.collection().to_string(),
                })
                .collect::<Vec<_>>()
                .join(" or "),
        }
    }

    /// The entity kinds, as one: `device or file`; empty when the incident is the only one.
    fn entity_kinds(&self) -> String {
        self.kinds
            .iter()
            .filter_map(|k| match k {
                riposte_dsl::catalog::Target::Entity(kind) => Some(kind.as_str()),
                riposte_dsl::catalog::Target::Incident => None,
            })
            .collect::<Vec<_>>()
            .join(" or ")
    }
}

/// The names a target of one of `kinds` (all kinds when `None`) can be written as, for a
/// target that names nothing: each name once (ignoring case; entities of several alerts or
/// mailboxes share one), and `incident` where the incident is a target.
fn target_candidates<'i>(
    incident: &'i crate::incident::Incident,
    kinds: Option<&[riposte_dsl::catalog::Target]>,
) -> Vec<&'i str> {
    use riposte_dsl::catalog::Target;
    let mut names: Vec<&str> = Vec::new();
    let mut seen = std::collections::HashSet::new();
    let entities = incident
        .entities
        .iter()
        .filter(|e| kinds.is_none_or(|k| k.contains(&Target::Entity(e.kind))));
    for e in entities {
        if seen.insert(e.name.to_lowercase()) {
            names.push(&e.name);
        }
    }
    if kinds.is_some_and(|k| k.contains(&Target::Incident)) {
        names.push("incident");
    }
    names
}

/// Why target `t` of an entry under `key` naming `action` and `step` cannot be what they act
/// on, if it cannot: it must be of a kind one of the actions of the entry acts on
/// ([`entry_targets`], as the candidates of an unknown target are). `None` when it fits, or
/// nothing says what they act on.
fn wrong_kind(
    library: &riposte_dsl::checked::Library,
    incident: &crate::incident::Incident,
    action: Option<&str>,
    step: Option<&str>,
    t: &str,
    key: &str,
) -> Option<String> {
    use riposte_dsl::catalog::Target;
    let targets = entry_targets(library, action, step)?;
    let named: Vec<&crate::incident::Entity> = incident
        .entities
        .iter()
        .filter(|e| crate::executor::target_key_matches(t, &e.id, &e.name))
        .collect();
    let fits = targets.kinds.iter().any(|k| match k {
        Target::Incident => t.eq_ignore_ascii_case("incident"),
        Target::Entity(kind) => named.iter().any(|e| e.kind == *kind),
    });
    if fits {
        return None;
    }
    let (subject, acts, acts_on) = (&targets.subject, targets.acts(), targets.acts_on());
    if named.is_empty() && t.eq_ignore_ascii_case("incident") {
        let (does, it) = if targets.plural {
            ("do", "they")
        } else {
            ("does", "it")
        };
        return Some(format!(
            "target `{t}` in `{key}` names the incident itself, which {subject} {does} not act \
             on: {it} {acts} {acts_on}"
        ));
    }
    let entities = targets.entity_kinds();
    let is_not = match (
        entities.is_empty(),
        targets.kinds.contains(&Target::Incident),
    ) {
        (true, _) => "is not the incident".to_string(),
        (false, false) => format!("is no {entities} of the incident"),
        (false, true) => format!("is no {entities} of the incident, nor the incident"),
    };
    Some(format!(
        "target `{t}` in `{key}` {is_not}; {subject} {acts} {acts_on}"
    ))
}

/// What names in a test may refer to.
struct Names<'a> {
    library: &'a Library,
    steps: &'a BTreeSet<String>,
    gamebooks: Vec<&'a str>,
    sops: Vec<&'a str>,
}

impl<'a> Names<'a> {
    fn of(library: &'a Library, steps: &'a BTreeSet<String>, direct: bool) -> Names<'a> {
        let mut sops: Vec<&str> = library.sops.iter().map(|s| s.name.as_str()).collect();
        if direct {
            sops.push(DIRECT_SOP);
        }
        Names {
            library,
            steps,
            gamebooks: library.gamebooks.iter().map(|g| g.name.as_str()).collect(),
            sops,
        }
    }

    /// `unknown step `isoo` in `expect.actions`; did you mean `iso`?`
    fn unknown<'c>(
        loc: &Location,
        key: &str,
        what: &str,
        name: &str,
        candidates: impl IntoIterator<Item = &'c str> + Clone,
    ) -> At {
        At::new(loc, unknown_in(what, name, key, candidates))
    }

    fn step(&self, loc: &Location, key: &str, step: &str) -> Result<(), At> {
        if crate::scheduler::is_step_name(self.library, step) {
            return Ok(());
        }
        // `gamebook/step`: the gamebook first.
        if let Some((gamebook, _)) = step.split_once('/') {
            self.gamebook(loc, key, gamebook)?;
        }
        Err(Self::unknown(
            loc,
            key,
            "step",
            step,
            self.steps.iter().map(String::as_str),
        ))
    }

    /// A gamebook, or a `caller > callee` label of gamebooks.
    fn gamebook(&self, loc: &Location, key: &str, label: &str) -> Result<(), At> {
        for g in label.split(" > ") {
            if !self.gamebooks.contains(&g) {
                return Err(Self::unknown(
                    loc,
                    key,
                    "gamebook",
                    g,
                    self.gamebooks.iter().copied(),
                ));
            }
        }
        Ok(())
    }

    fn sop(&self, loc: &Location, key: &str, sop: &str) -> Result<(), At> {
        if self.sops.contains(&sop) {
            return Ok(());
        }
        Err(Self::unknown(
            loc,
            key,
            "SOP",
            sop,
            self.sops.iter().copied(),
        ))
    }

    /// An action id of the catalog, or `kind.*` for a kind some action has.
    fn action(&self, loc: &Location, key: &str, action: &str) -> Result<(), At> {
        let catalog = riposte_dsl::catalog::catalog();
        let kinds = action_kind_patterns();
        let known = if action.ends_with(".*") {
            kinds.contains(action)
        } else {
            riposte_dsl::catalog::lookup(action).is_some()
        };
        if known {
            return Ok(());
        }
        // A pattern is compared with the patterns of the catalog's kinds, an id with the ids.
        let hint = if action.ends_with(".*") {
            riposte_dsl::diagnostic::suggestion(action, kinds.iter().map(String::as_str))
        } else {
            riposte_dsl::diagnostic::suggestion(action, catalog.iter().map(|a| a.id))
        };
        Err(At::new(
            loc,
            format!(
                "unknown action `{action}` in `{key}`: it is not in the action catalog (see `riposte actions`); {hint}"
            ),
        ))
    }

    fn role(&self, loc: &Location, key: &str, role: &str) -> Result<(), At> {
        if riposte_dsl::ast::Role::parse(role).is_some() {
            return Ok(());
        }
        Err(Self::unknown(
            loc,
            key,
            "role",
            role,
            riposte_dsl::ast::Role::NAMES.iter().copied(),
        ))
    }
}

/// The failure of a `fail` entry that matched no action of the run.
fn unmatched_fail(file: &str, f: &serde_saphyr::Spanned<file::Fail>) -> String {
    let e = &f.value;
    let attempts = e.attempts.map(|n| n.to_string());
    let fields: Vec<String> = [
        ("gamebook", e.gamebook.as_deref()),
        ("step", e.step.as_deref()),
        ("action", e.action.as_deref()),
        ("target", e.target.as_deref()),
        ("attempts", attempts.as_deref()),
    ]
    .iter()
    .filter_map(|(k, v)| v.map(|v| format!("{k}: {v}")))
    .collect();
    format!(
        "`fail` entry at {file}:{}:{} matched no action: {{{}}}; only actions that would run reach the executor: check its gamebook, step, action and target against the plan, and grant the step's approval with `approve`",
        f.referenced.line(),
        f.referenced.column(),
        fields.join(", ")
    )
}

/// A test document of a file, or why it could not be read.
enum Document {
    Test(Box<TestDoc>),
    /// Named after its `name:` line if it has one (else `document N`), at that line (or its
    /// first).
    Unreadable {
        name: String,
        line: u64,
        problems: Vec<At>,
    },
}

/// Parses the test documents of a file (separated by `---`). When the file as a whole cannot
/// be read, each document is read on its own, so that one test's typo fails that test alone
/// and the others still run; the error is the file's only when it is not about one document
/// (a file of one document, more documents than the limit).
fn parse(text: &str, limits: &Limits) -> Result<Vec<Document>, Vec<At>> {
    let whole = match parse_stream(text, limits, 1) {
        Ok(docs) => {
            return Ok(docs
                .into_iter()
                .map(|d| Document::Test(Box::new(d)))
                .collect())
        }
        // Past a budget, the file is too much to read again piece by piece.
        Err(StreamError {
            at,
            past_budget: true,
        }) => return Err(vec![at]),
        Err(StreamError { at, .. }) => at,
    };
    let parts = documents(text);
    if parts.len() > limits.max_tests_per_file {
        return Err(vec![At {
            line: 0,
            column: 0,
            message: too_many_tests(limits),
        }]);
    }
    // The blank lines put in front of each document are bounded too.
    let padded_bytes: usize = parts.iter().map(|(line, part)| line + part.len()).sum();
    if parts.is_empty() || padded_bytes > MAX_PADDED_BYTES_PER_FILE_BYTE * limits.max_file_bytes {
        return Err(with_unknown_names(text, limits, 1, whole));
    }
    // A file of one test: that test fails, named as it is (a `--filter` picks it by its name).
    if let [(first_line, part)] = parts[..] {
        let (name, line) = name_line(part)
            .map(|(name, at)| (name, first_line + at))
            .unwrap_or_else(|| ("document 1".to_string(), first_line));
        return Ok(vec![Document::Unreadable {
            name,
            line: line as u64,
            problems: with_unknown_names(text, limits, 1, whole),
        }]);
    }
    let mut out = Vec::new();
    let parts_len = parts.len();
    for (n, (first_line, part)) in parts.into_iter().enumerate() {
        // Blank lines in front keep every line and column of the document where it is in the
        // file, for its errors and for the locations its test reports.
        let padded = format!("{}{part}", "\n".repeat(first_line - 1));
        // The documents share the file's budget for alias expansion, the one thing whose cost
        // the text's size does not bound: a typo must not multiply it by the documents.
        match parse_stream(&padded, limits, parts_len) {
            Ok(docs) => out.extend(docs.into_iter().map(|d| Document::Test(Box::new(d)))),
            Err(StreamError { at, past_budget }) => {
                let (name, line) = name_line(part)
                    .map(|(name, at)| (name, first_line + at))
                    .unwrap_or_else(|| (format!("document {}", n + 1), first_line));
                let problems = if past_budget {
                    vec![at]
                } else {
                    with_unknown_names(&padded, limits, parts_len, at)
                };
                out.push(Document::Unreadable {
                    name,
                    line: line as u64,
                    problems,
                });
            }
        }
    }
    Ok(out)
}

/// The error that stopped serde, with every unknown key and word of the text (serde reports
/// only the first), in the order they are written.
fn with_unknown_names(text: &str, limits: &Limits, shares: usize, first: At) -> Vec<At> {
    let Ok(docs) = serde_saphyr::from_multiple_with_options::<riposte_dsl::syntax::Node>(
        text,
        options(limits, shares),
    ) else {
        return vec![first];
    };
    let mut problems: Vec<At> = docs
        .iter()
        .flat_map(names::unknown_names)
        .map(|(offset, message)| at_offset(text, offset, message))
        .collect();
    if !problems
        .iter()
        .any(|p| (p.line, p.column) == (first.line, first.column))
    {
        problems.push(first);
    }
    problems.sort_by_key(|p| (p.line, p.column));
    problems
}

/// A problem at a byte offset of `text`, with its line and column (in characters).
fn at_offset(text: &str, offset: usize, message: String) -> At {
    let before = text.get(..offset).unwrap_or_default();
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    At {
        line: before.matches('\n').count() as u64 + 1,
        column: before.get(line_start..).unwrap_or_default().chars().count() as u64 + 1,
        message,
    }
}

/// The documents of a YAML stream as (first line, text): a document starts at a line that
/// starts with the `---` marker (YAML forbids such a line inside a scalar, so it always starts
/// one) and ends after a `...` line; the directives (`%YAML`) and comments before a `---` go
/// with the document it starts. Stretches of nothing but blank lines, comments and markers are
/// no document.
fn documents(text: &str) -> Vec<(usize, &str)> {
    // `marker` alone on its line, or followed by a space or tab and what else the line holds.
    fn after_marker<'l>(line: &'l str, marker: &str) -> Option<&'l str> {
        let rest = line.strip_prefix(marker)?;
        let rest = rest.trim_end_matches(['\n', '\r']);
        (rest.is_empty() || rest.starts_with([' ', '\t'])).then(|| rest.trim())
    }
    let mut out = Vec::new();
    // The document being read: where it starts, and whether it holds anything yet.
    let (mut start, mut first_line, mut content) = (0, 1, false);
    let mut offset = 0;
    for (line_no, line) in (1..).zip(text.split_inclusive('\n')) {
        let starts = after_marker(line, "---");
        if starts.is_some() && content {
            out.push((first_line, &text[start..offset]));
            (start, first_line, content) = (offset, line_no, false);
        }
        offset += line.len();
        if after_marker(line, "...").is_some() {
            if content {
                out.push((first_line, &text[start..offset]));
            }
            (start, first_line, content) = (offset, line_no + 1, false);
            continue;
        }
        let t = line.trim();
        let nothing = match starts {
            // `--- {kind: test}` holds the document's start; `--- # note` nothing.
            Some(rest) => rest.is_empty() || rest.starts_with('#'),
            None => t.is_empty() || t.starts_with('#') || line.starts_with('%'),
        };
        content |= !nothing;
    }
    if content {
        out.push((first_line, &text[start..]));
    }
    out
}

/// The test name a document gives on a top-level `name:` line, with the line's index in the
/// document; for naming a document that cannot be read.
fn name_line(doc: &str) -> Option<(String, usize)> {
    doc.lines().enumerate().find_map(|(i, l)| {
        let value = l.strip_prefix("name:")?.trim();
        // A block scalar's text is on the lines below: no name to show from this line.
        if value.starts_with(['|', '>']) {
            return None;
        }
        let value = match value.find(" #") {
            Some(comment) => &value[..comment],
            None => value,
        };
        let value = value.trim().trim_matches(|c| c == '"' || c == '\'').trim();
        (!value.is_empty()).then(|| (riposte_dsl::diagnostic::clip(value, 200).into_owned(), i))
    })
}

/// How many bytes of documents (and the blank lines in front of them) reading a test file's
/// documents one by one may parse, per byte the file may have: a thousand tests of a few dozen
/// lines each fit.
const MAX_PADDED_BYTES_PER_FILE_BYTE: usize = 64;

fn too_many_tests(limits: &Limits) -> String {
    format!(
        "more than {} tests in one file; split it into several test files",
        limits.max_tests_per_file
    )
}

/// Events a test file's aliases may replay (and anchors record), in all.
const MAX_REPLAYED_EVENTS: usize = 200_000;
/// Events each document read on its own may replay, whatever its share.
const MIN_REPLAYED_EVENTS: usize = 1_000;

/// `a gamebook` or `an SOP` when every document of a file that cannot be read as tests is of
/// that kind: a library file named where tests are expected.
fn library_kind(text: &str, limits: &Limits) -> Option<&'static str> {
    /// A document's `kind`, whatever else it holds.
    #[derive(serde::Deserialize)]
    struct Kind {
        #[serde(default)]
        kind: Option<String>,
    }
    let docs = serde_saphyr::from_multiple_with_options::<Kind>(text, options(limits, 1)).ok()?;
    let what = |d: &Kind| match d.kind.as_deref() {
        Some("gamebook") => Some("a gamebook"),
        Some("sop") => Some("an SOP"),
        _ => None,
    };
    let first = what(docs.first()?)?;
    docs.iter().all(|d| what(d) == Some(first)).then_some(first)
}

/// Why a YAML stream of test documents could not be read.
struct StreamError {
    at: At,
    /// A budget ran out (nodes, aliases, nesting, documents), rather than the text being wrong.
    past_budget: bool,
}

/// Parses a YAML stream of test documents, with a `1/shares` part of a file's budget for
/// expanding aliases (at least a small one of its own).
fn parse_stream(text: &str, limits: &Limits, shares: usize) -> Result<Vec<TestDoc>, StreamError> {
    serde_saphyr::from_multiple_with_options::<TestDoc>(text, options(limits, shares)).map_err(
        |e| {
            // A tab in the indentation: the parser's error points elsewhere (at the scalar
            // before it). Checked only once reading failed, as a tab inside a block scalar is
            // text, not indentation.
            if let Some(tab) = riposte_dsl::syntax::tab_indentation(riposte_dsl::FileId(0), text) {
                let message = match &tab.help {
                    Some(help) => format!("{}: {help}", tab.message),
                    None => tab.message,
                };
                return StreamError {
                    at: at_offset(text, tab.span.start as usize, message),
                    past_budget: false,
                };
            }
            let raw = e.without_snippet().to_string();
            let first = raw.lines().next().unwrap_or("invalid YAML").trim();
            // serde-saphyr appends " at line L column C"; the location is said up front instead.
            let message = match first.find(" at line ") {
                Some(i) => &first[..i],
                None => first,
            };
            let missing_key = message.starts_with("missing field `");
            // What costs work to read again: alias expansions and the sheer number of nodes
            // (nesting and a mistyped alias cost nothing more per document).
            let past_budget = message.contains("alias replay")
                || message.contains("alias expansion")
                || [
                    "Aliases {",
                    "Events {",
                    "Nodes {",
                    "RecordedAnchor",
                    "Scalar",
                ]
                .iter()
                .any(|what| message.contains("udget") && message.contains(what));
            let message = if let Some(rest) = message.strip_prefix("duplicate mapping key: ") {
                let key = rest
                    .split(", set DuplicateKeyPolicy")
                    .next()
                    .unwrap_or(rest);
                format!("duplicate key `{key}`")
            } else if message.contains("budget") && message.contains("Documents") {
                too_many_tests(limits)
            } else if message.contains("budget") || message.contains("Budget") {
                riposte_dsl::syntax::budget_message(message)
            } else if message.starts_with("non-finite float") {
                "`.nan` and `.inf` are not values an incident holds: quote the text, or give a \
                 number"
                    .to_string()
            } else if message.contains("recursion limit") {
                "the YAML is nested too deeply for a test (flow collections inside one another); \
             a test needs a few levels"
                    .to_string()
            } else if message.strip_prefix("invalid ").is_some_and(is_unsigned) {
                // A count, or an expected `attempts`, that is negative, fractional or too large
                // (a `fail` entry's `attempts` says what it takes itself).
                "expected a whole number, 0 or more".to_string()
            } else if let Some(field) = message
                .strip_prefix("missing field `")
                .and_then(|rest| rest.strip_suffix('`'))
            {
                let what = match field {
                    "expect" => {
                        " (what the plan must show; `expect: {}` checks only that it is made)"
                    }
                    "incident" => {
                        " (an incident file, relative to the test, or one written inline)"
                    }
                    "name" => " (what the test checks, shown in the report)",
                    _ => "",
                };
                format!("the test has no `{field}`{what}")
            } else if let Some(named) = unknown_name(message) {
                named
            } else if message.contains("expected mapping start") {
                "expected a mapping here (`key: value` lines, or `{key: value}`)".to_string()
            } else if message.contains("expected sequence start") {
                "expected a list here (`- item` lines, or `[item, …]`)".to_string()
            } else if is_yaml_syntax(message) {
                format!(
                    "{message}: fix the YAML syntax at this position; indentation and unclosed \
                     quotes or brackets are the usual causes"
                )
            } else {
                message.to_string()
            };
            let at = match e.location() {
                // serde-saphyr places a missing key at the mapping's last key: it is said at the
                // start of the mapping that lacks it, as a gamebook's is.
                Some(loc) => match loc
                    .span()
                    .byte_offset()
                    .filter(|_| missing_key)
                    .and_then(|at| usize::try_from(at).ok())
                    .and_then(|at| mapping_start(text, limits, shares, at))
                {
                    Some(start) => at_offset(text, start, message),
                    None => At::new(&loc, message),
                },
                None => At {
                    line: 0,
                    column: 0,
                    message,
                },
            };
            StreamError { at, past_budget }
        },
    )
}

/// Where the innermost mapping holding byte `offset` of the YAML stream `text` starts (as a byte
/// offset); `None` when no mapping holds it or the text cannot be read as YAML.
fn mapping_start(text: &str, limits: &Limits, shares: usize, offset: usize) -> Option<usize> {
    use riposte_dsl::syntax::Node;
    let docs =
        serde_saphyr::from_multiple_with_options::<Node>(text, options(limits, shares)).ok()?;
    docs.iter()
        .find_map(|d| d.innermost_mapping_at(offset))
        .map(|m| m.span.start as usize)
}

/// Whether a YAML reader's message is about the syntax (as the scanner and parser say it),
/// rather than about a value.
fn is_yaml_syntax(message: &str) -> bool {
    message.starts_with("while ")
        || message.starts_with("unclosed ")
        || [
            "did not find expected",
            "mapping values are not allowed",
            "cannot start any token",
            "invalid indentation",
            "mismatched bracket",
        ]
        .iter()
        .any(|m| message.contains(m))
}

/// The parser options of a test file, with a `1/shares` part of a file's budget for expanding
/// aliases (at least a small one of its own).
fn options(limits: &Limits, shares: usize) -> Options {
    let replay = (MAX_REPLAYED_EVENTS / shares.max(1)).max(MIN_REPLAYED_EVENTS);
    let mut budget = Budget::default();
    budget.max_depth = 32;
    budget.flow_nesting_limit = 32;
    budget.max_nodes = 200_000;
    budget.max_aliases = 256;
    budget.max_anchors = 256;
    budget.max_total_scalar_bytes = limits.max_file_bytes;
    budget.max_documents = limits.max_tests_per_file;
    budget.max_events = 800_000;
    budget.max_recorded_anchor_events = replay;
    let mut options = Options::default();
    options.alias_limits.max_alias_expansions_per_anchor = 64;
    options.alias_limits.max_total_replayed_events = replay;
    options.alias_limits.max_replay_stack_depth = 32;
    options.budget = Some(budget);
    options.duplicate_keys = DuplicateKeyPolicy::Error;
    options.with_snippet = false;
    riposte_dsl::syntax::as_written(&mut options);
    options
}

/// serde's "unknown field `aprover`, expected one of sop, …, approver, …" (or "unknown
/// variant" of a value) as a test author reads it: the key or value, and the likely one meant
/// or the ones allowed.
fn unknown_name(message: &str) -> Option<String> {
    let (what, rest) = [("key", "unknown field `"), ("value", "unknown variant `")]
        .into_iter()
        .find_map(|(what, prefix)| Some((what, message.strip_prefix(prefix)?)))?;
    let (name, rest) = rest.split_once('`')?;
    let list = rest
        .strip_prefix(", expected one of ")
        .or_else(|| rest.strip_prefix(", expected "))?;
    let candidates: Vec<&str> = list
        .split([',', ' '])
        .map(|c| c.trim_matches('`'))
        .filter(|c| !c.is_empty() && *c != "or")
        .collect();
    Some(unknown_message(what, name, &candidates))
}

/// `unknown key `aprover`: did you mean `approver`?`
fn unknown_message(what: &str, name: &str, candidates: &[&str]) -> String {
    format!(
        "unknown {what} `{}`: {}",
        riposte_dsl::diagnostic::clip(name, 80),
        riposte_dsl::diagnostic::suggestion(name, candidates.iter().copied())
    )
}

/// `unknown step `isoo` in `expect.actions`; did you mean `iso`?`: a name of the library or the
/// language that `key` of a test holds.
fn unknown_in<'c>(
    what: &str,
    name: &str,
    key: &str,
    candidates: impl IntoIterator<Item = &'c str> + Clone,
) -> String {
    format!(
        "unknown {what} `{name}` in `{key}`; {}",
        riposte_dsl::diagnostic::suggestion(name, candidates)
    )
}

/// Whether serde names an unsigned integer type `ty` (`u32`, `usize`, …).
fn is_unsigned(ty: &str) -> bool {
    matches!(ty, "u8" | "u16" | "u32" | "u64" | "usize")
}

/// Reads at most `max + 1` bytes, so an oversized file is seen without reading it whole.
fn read_bounded(path: &Path, max: usize) -> std::io::Result<Vec<u8>> {
    crate::load::regular_file(path)?;
    let file = std::fs::File::open(path)?;
    let mut bytes = Vec::new();
    file.take(u64::try_from(max).unwrap_or(u64::MAX).saturating_add(1))
        .read_to_end(&mut bytes)?;
    Ok(bytes)
}

/// `base/rel` with `.` and `name/..` folded away (textually; symlinks are not resolved).
fn lexical_join(base: &Path, rel: &str) -> PathBuf {
    let mut out = PathBuf::new();
    for c in base.join(rel).components() {
        match c {
            Component::CurDir => {}
            Component::ParentDir
                if matches!(out.components().next_back(), Some(Component::Normal(_))) =>
            {
                out.pop();
            }
            other => out.push(other.as_os_str()),
        }
    }
    out
}

#[cfg(test)]
mod tests;
