//! Backtesting: running a corpus of past incidents through two versions of a library — as it was
//! at a git revision and as it is in the working tree — and reporting the change in behaviour:
//! per incident the actions added, removed or with a changed status, and totals per action id
//! and SOP. Without a base revision, the totals of the working-tree plans. `riposte backtest`
//! is the command; `docs/backtest.md` the user guide.
//!
//! Architecture Invariant: memory does not grow with the corpus. Files are read a few at a time
//! (at most [`CHUNK_BYTES`] of JSON, or one larger file, and two per thread); each incident's plans are
//! made, compared and dropped at once; only the diffs of changed incidents reach the [`Sink`],
//! in corpus order (file path, then index in the file) whatever the thread scheduling, and only
//! totals are kept. Files that cannot be read are reported to the sink and counted, not fatal.
//!
//! The libraries, workspaces and executor are shared read-only by the worker threads (rayon).

pub mod diff;
pub mod generate;
pub mod git;
pub mod render;

use crate::load::display_path;
use std::collections::{BTreeMap, HashMap};
use std::io;
use std::panic::AssertUnwindSafe;
use std::path::{Path, PathBuf};

use rayon::prelude::*;
use riposte_dsl::checked::Library;
use serde::Serialize;

use crate::executor::RecordingExecutor;
use crate::incident::{read_incidents_each, Format, ImportLimits, Incident};
use crate::plan::{default_now, incident_context, plan_with_context};
use crate::scheduler::RunConfig;
use crate::workspace::{select, Workspace};
use diff::{diff, Change, Tally};

/// Most bytes of corpus files read and planned at once (more when a single file is larger).
pub const CHUNK_BYTES: u64 = 16 * 1024 * 1024;
/// Most worker threads.
pub const MAX_JOBS: usize = 256;
/// Most corpus files; a larger tree is almost certainly the wrong directory.
pub const MAX_CORPUS_FILES: usize = 1_000_000;

/// A fatal backtest error (the command's exit code 2). Problems of single corpus files are not
/// errors but [`CorpusError`]s.
#[derive(Debug, thiserror::Error)]
pub enum BacktestError {
    #[error("cannot read `{path}`: {source}")]
    Io {
        path: String,
        #[source]
        source: io::Error,
    },
    #[error("`{0}` is not a directory of incident files")]
    NotADirectory(String),
    #[error("more than {limit} files under `{path}`")]
    TooManyFiles { path: String, limit: usize },
    /// `--workspace` names none ([`crate::workspace::SelectError::Unknown`]).
    #[error("{0}")]
    UnknownWorkspace(String),
    #[error("cannot start {jobs} worker threads: {message}")]
    Threads { jobs: usize, message: String },
    #[error("{jobs} worker threads are too many; the most is {MAX_JOBS}")]
    TooManyJobs { jobs: usize },
    #[error("cannot write the report: {0}")]
    Output(#[source] io::Error),
}

/// A corpus file or incident that could not be backtested.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct CorpusError {
    pub file: String,
    /// The incident's index in the file, for an error of one incident.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub index: Option<usize>,
    pub reason: String,
}

/// One JSON file of a corpus.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CorpusFile {
    pub path: PathBuf,
    /// The path as shown in reports (`./` dropped).
    pub name: String,
    pub bytes: u64,
}

/// The files of a corpus, sorted by path, and the directories that could not be read.
#[derive(Clone, Debug, Default)]
pub struct Listing {
    pub files: Vec<CorpusFile>,
    pub errors: Vec<CorpusError>,
}

impl Listing {
    pub fn bytes(&self) -> u64 {
        self.files.iter().map(|f| f.bytes).sum()
    }
}

/// What a directory is, however it is reached. On Unix its device and inode: constant work,
/// where its real path (elsewhere) costs a lookup per component, which made a corpus nested
/// a thousand deep take seconds to list.
fn directory_identity(d: &Path) -> (u64, u64, Option<PathBuf>) {
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        if let Ok(m) = std::fs::metadata(d) {
            return (m.dev(), m.ino(), None);
        }
    }
    (
        0,
        0,
        Some(std::fs::canonicalize(d).unwrap_or_else(|_| d.to_path_buf())),
    )
}

/// Every `*.json` file under `dir` (the extension in any case), recursively (hidden files and
/// directories skipped; symbolic links followed, each directory read once however many links
/// lead to it), sorted by path.
pub fn list_corpus(dir: &Path) -> Result<Listing, BacktestError> {
    let meta = std::fs::metadata(dir).map_err(|source| BacktestError::Io {
        path: display_path(dir),
        source,
    })?;
    if !meta.is_dir() {
        return Err(BacktestError::NotADirectory(display_path(dir)));
    }
    let mut listing = Listing::default();
    let mut stack = vec![dir.to_path_buf()];
    // Directories read, by what they are (not by how they were reached): a link back up the
    // tree is not a loop.
    let mut read = std::collections::HashSet::new();
    while let Some(d) = stack.pop() {
        if !read.insert(directory_identity(&d)) {
            continue;
        }
        let entries = match std::fs::read_dir(&d) {
            Ok(e) => e,
            Err(e) if d == dir => {
                return Err(BacktestError::Io {
                    path: display_path(dir),
                    source: e,
                })
            }
            Err(e) => {
                listing.errors.push(CorpusError {
                    file: display_path(&d),
                    index: None,
                    reason: format!("cannot read the directory: {e}"),
                });
                continue;
            }
        };
        // In name order, and directories read in that order: which of two links to one
        // directory names its files does not depend on the file system's order.
        let mut sorted = Vec::new();
        for entry in entries {
            match entry {
                Ok(e) => sorted.push(e),
                Err(e) => {
                    listing.errors.push(CorpusError {
                        file: display_path(&d),
                        index: None,
                        reason: format!("cannot read the directory: {e}"),
                    });
                    break;
                }
            }
        }
        sorted.sort_by_key(std::fs::DirEntry::file_name);
        let mut subdirs = Vec::new();
        for entry in sorted {
            let path = entry.path();
            let Ok(ty) = entry.file_type() else { continue };
            let hidden = entry.file_name().to_string_lossy().starts_with('.');
            // A link to a directory is read like the directory.
            let linked_dir = ty.is_symlink() && std::fs::metadata(&path).is_ok_and(|m| m.is_dir());
            if ty.is_dir() || linked_dir {
                if !hidden {
                    subdirs.push(path);
                }
                continue;
            }
            let is_json = path
                .extension()
                .and_then(|e| e.to_str())
                .is_some_and(|e| e.eq_ignore_ascii_case("json"));
            // Hidden files are an editor's or an OS's (macOS writes `._name.json` beside
            // files copied to some disks), not incidents.
            if !is_json || hidden {
                continue;
            }
            // `metadata` follows a symbolic link.
            match std::fs::metadata(&path) {
                Ok(m) if m.is_file() => listing.files.push(CorpusFile {
                    name: display_path(&path),
                    path,
                    bytes: m.len(),
                }),
                // A FIFO could block the run and a device never end: reported, not read.
                Ok(_) => listing.errors.push(CorpusError {
                    file: display_path(&path),
                    index: None,
                    reason: "not a regular file (a device, FIFO or socket); corpus files are \
                             regular files"
                        .into(),
                }),
                Err(e) => listing.errors.push(CorpusError {
                    file: display_path(&path),
                    index: None,
                    reason: format!("cannot read the file: {e}"),
                }),
            }
            if listing.files.len() > MAX_CORPUS_FILES {
                return Err(BacktestError::TooManyFiles {
                    path: display_path(dir),
                    limit: MAX_CORPUS_FILES,
                });
            }
        }
        // Popped first to last.
        stack.extend(subdirs.into_iter().rev());
    }
    listing.files.sort_by(|a, b| a.path.cmp(&b.path));
    listing.errors.sort_by(|a, b| a.file.cmp(&b.file));
    Ok(listing)
}

/// The actions of one incident that differ between the base and the working tree.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct IncidentDiff {
    pub file: String,
    /// The incident's index in its file (from 0).
    pub index: usize,
    pub id: String,
    pub severity: String,
    pub title: String,
    pub changes: Vec<Change>,
}

/// How far a backtest has come.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Progress {
    pub files: u64,
    /// Bytes of the corpus files done.
    pub bytes: u64,
    pub incidents: u64,
}

/// Receives the results of a backtest in corpus order, on the calling thread.
pub trait Sink {
    fn incident(&mut self, diff: &IncidentDiff) -> io::Result<()>;
    fn error(&mut self, error: &CorpusError) -> io::Result<()>;
    /// Called after each file.
    fn progress(&mut self, _progress: &Progress) {}
}

/// The totals of a backtest.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Report {
    /// The totals of the base plans (with a base revision).
    pub base: Option<Tally>,
    /// The totals of the working-tree plans.
    pub head: Tally,
    /// Corpus files read (with or without errors).
    pub files: u64,
    /// Incidents read.
    pub incidents: u64,
    /// Incidents whose plans differ.
    pub changed: u64,
    /// Files and directories that could not be read.
    pub file_errors: u64,
    /// Incidents that could not be read or planned (no workspace fits).
    pub incident_errors: u64,
    /// Incidents fetched without their alerts ([`Incident::alerts_not_fetched`]): Microsoft
    /// Graph incidents without an `alerts` member (fetched without `$expand=alerts`), Microsoft
    /// Sentinel incidents without an `alerts` or `entities` member; their plans have no entity
    /// to act on.
    pub without_alerts: u64,
    /// Of `without_alerts`, the Microsoft Sentinel incidents.
    pub sentinel_without_alerts: u64,
    /// Incidents read again: the same source and id as one before them in the corpus (each
    /// copy is planned and counted).
    pub duplicates: u64,
    /// The first of them.
    pub first_duplicate: Option<Duplicate>,
}

/// An incident the corpus holds twice.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Duplicate {
    pub id: String,
    /// `file[index]` of the first copy, and of this one.
    pub first: String,
    pub again: String,
}

/// The incidents of the corpus so far, by a hash of their source and id, with where each was
/// first (file, index): some 20 bytes per incident, not its text, for the first
/// [`MAX_SEEN`]; later ones are checked against those only. (Two incidents sharing a 64-bit
/// hash would only make a false warning; plans do not depend on it.)
#[derive(Default)]
struct Seen(HashMap<u64, (u32, u32)>);

/// Most incidents [`Seen`] remembers: about 40 MB.
pub const MAX_SEEN: usize = 2_000_000;

/// A hash of an incident's source and id (`DefaultHasher::new` is the same in every run).
fn identity_hash(source: &str, id: &str) -> u64 {
    use std::hash::{Hash, Hasher};
    let mut h = std::collections::hash_map::DefaultHasher::new();
    (source, id).hash(&mut h);
    h.finish()
}

impl Report {
    pub fn errors(&self) -> u64 {
        self.file_errors + self.incident_errors
    }
}

/// A backtest: libraries, workspaces and knobs. [`Backtest::run`] does the work.
pub struct Backtest<'a> {
    /// The library in the working tree.
    pub head: &'a Library,
    /// The library at the base revision; `None` for totals only.
    pub base: Option<&'a Library>,
    pub workspaces: &'a [Workspace],
    /// Plan every incident in this workspace instead of the one its tenant selects.
    pub workspace: Option<&'a str>,
    pub limits: ImportLimits,
    /// Most items one for-each fans out to.
    pub max_fanout: usize,
    /// Most actions one plan holds.
    pub max_plan_actions: usize,
    /// Worker threads (0: one per core).
    pub jobs: usize,
}

enum Event {
    Changed(IncidentDiff),
    Error(CorpusError),
}

/// The results of part of a file.
struct Partial {
    events: Vec<(usize, Event)>,
    base: Option<Tally>,
    head: Tally,
}

impl Partial {
    fn new(with_base: bool) -> Partial {
        Partial {
            events: Vec::new(),
            base: with_base.then(Tally::default),
            head: Tally::default(),
        }
    }

    fn merge(mut self, other: Partial) -> Partial {
        self.events.extend(other.events);
        self.head.merge(other.head);
        if let (Some(a), Some(b)) = (self.base.as_mut(), other.base) {
            a.merge(b);
        }
        self
    }
}

enum FileOutcome {
    Failed(CorpusError),
    Done {
        incidents: u64,
        without_alerts: u64,
        /// Whether the file holds Sentinel incidents (`without_alerts` counts those).
        sentinel: bool,
        /// The identity hash and id of each incident read, by index.
        ids: Vec<(usize, u64, String)>,
        partial: Partial,
    },
}

impl Backtest<'_> {
    /// Backtests every incident of `listing`, handing diffs and errors to `sink` in corpus order.
    ///
    /// Files are read and planned on the worker threads, a few at a time (at most
    /// [`CHUNK_BYTES`] of JSON, or one larger file, and two files per thread), while the
    /// calling thread hands the results of finished files to `sink` in order.
    pub fn run(&self, listing: &Listing, sink: &mut dyn Sink) -> Result<Report, BacktestError> {
        if let Some(name) = self.workspace {
            // Named as `simulate` names it: ignoring case.
            select(self.workspaces, Some(name), None)
                .map_err(|e| BacktestError::UnknownWorkspace(e.to_string()))?;
        }
        if self.jobs > MAX_JOBS {
            return Err(BacktestError::TooManyJobs { jobs: self.jobs });
        }
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(self.jobs)
            .build()
            .map_err(|e| BacktestError::Threads {
                jobs: self.jobs,
                message: e.to_string(),
            })?;
        let executor = RecordingExecutor::default();
        let mut report = Report {
            base: self.base.map(|_| Tally::default()),
            ..Report::default()
        };
        for e in &listing.errors {
            report.file_errors += 1;
            sink.error(e).map_err(BacktestError::Output)?;
        }
        let files = listing.files.as_slice();
        let max_in_flight = 2 * pool.current_num_threads().max(1);
        let mut progress = Progress::default();
        let mut seen = Seen::default();
        let (tx, rx) = std::sync::mpsc::channel::<(usize, FileOutcome)>();
        let executor = &executor;
        pool.in_place_scope_fifo(|scope| {
            // Files started and not yet handed to the sink, and their bytes.
            let (mut next, mut done) = (0, 0);
            let mut in_flight_bytes = 0;
            let mut finished: BTreeMap<usize, FileOutcome> = BTreeMap::new();
            while done < files.len() {
                while let Some(f) = files.get(next) {
                    let in_flight = next - done;
                    let fits =
                        in_flight_bytes + f.bytes <= CHUNK_BYTES && in_flight < max_in_flight;
                    if in_flight > 0 && !fits {
                        break;
                    }
                    let tx = tx.clone();
                    let i = next;
                    scope.spawn_fifo(move |_| {
                        // Panics are caught per incident; this catches one while reading, so
                        // that every file sends exactly one result.
                        let outcome =
                            std::panic::catch_unwind(AssertUnwindSafe(|| self.file(f, executor)))
                                .unwrap_or_else(|panic| {
                                    FileOutcome::Failed(CorpusError {
                                        file: f.name.clone(),
                                        index: None,
                                        reason: format!(
                                    "internal error: the engine panicked while reading the file \
                                     ({}); please report this",
                                    panic_message(panic.as_ref())
                                ),
                                    })
                                });
                        // The receiver lives until every task is done; a failed send cannot
                        // happen, and would only mean the result is not wanted.
                        let _ = tx.send((i, outcome));
                    });
                    in_flight_bytes += f.bytes;
                    next += 1;
                }
                // Every started file sends exactly one result, so this waits for a file that
                // will finish.
                let Ok((i, outcome)) = rx.recv() else {
                    break;
                };
                finished.insert(i, outcome);
                while let Some(outcome) = finished.remove(&done) {
                    let Some(file) = files.get(done) else { break };
                    in_flight_bytes -= file.bytes;
                    let at = (files, done);
                    done += 1;
                    self.emit(&mut report, &mut progress, &mut seen, at, outcome, sink)?;
                }
            }
            Ok(())
        })?;
        Ok(report)
    }

    /// Hands one file's results to the sink and adds them to the report.
    fn emit(
        &self,
        report: &mut Report,
        progress: &mut Progress,
        seen: &mut Seen,
        (files, file_no): (&[CorpusFile], usize),
        outcome: FileOutcome,
        sink: &mut dyn Sink,
    ) -> Result<(), BacktestError> {
        let Some(file) = files.get(file_no) else {
            return Ok(());
        };
        report.files += 1;
        match outcome {
            FileOutcome::Failed(e) => {
                report.file_errors += 1;
                sink.error(&e).map_err(BacktestError::Output)?;
            }
            FileOutcome::Done {
                incidents,
                without_alerts,
                sentinel,
                ids,
                partial,
            } => {
                report.incidents += incidents;
                report.without_alerts += without_alerts;
                if sentinel {
                    report.sentinel_without_alerts += without_alerts;
                }
                for (index, hash, id) in ids {
                    let Some(&(first_file, first_index)) = seen.0.get(&hash) else {
                        let place = (u32::try_from(file_no), u32::try_from(index));
                        if let (Ok(f), Ok(i), true) = (place.0, place.1, seen.0.len() < MAX_SEEN) {
                            seen.0.insert(hash, (f, i));
                        }
                        continue;
                    };
                    report.duplicates += 1;
                    if report.first_duplicate.is_none() {
                        let name = |f: usize| files.get(f).map_or("", |f| f.name.as_str());
                        let first_file = first_file as usize;
                        report.first_duplicate = Some(Duplicate {
                            id,
                            first: format!("{}[{first_index}]", name(first_file)),
                            again: format!("{}[{index}]", name(file_no)),
                        });
                    }
                }
                progress.incidents += incidents;
                for (_, event) in partial.events {
                    match event {
                        Event::Changed(d) => {
                            report.changed += 1;
                            sink.incident(&d).map_err(BacktestError::Output)?;
                        }
                        Event::Error(e) => {
                            report.incident_errors += 1;
                            sink.error(&e).map_err(BacktestError::Output)?;
                        }
                    }
                }
                report.head.merge(partial.head);
                if let (Some(a), Some(b)) = (report.base.as_mut(), partial.base) {
                    a.merge(b);
                }
            }
        }
        progress.files += 1;
        progress.bytes += file.bytes;
        sink.progress(progress);
        Ok(())
    }

    /// Reads one file and backtests its incidents (in parallel). An incident that cannot be
    /// read is an error of its own; the file's others are backtested.
    fn file(&self, file: &CorpusFile, executor: &RecordingExecutor) -> FileOutcome {
        // A page that links to more (`info.more_pages`) is no cause for a note: a corpus holds
        // a paged export as one file per page, and the link (a URL) cannot tell whether the
        // next page is one of them.
        let (info, incidents) = match read_incidents_each(&file.path, &self.limits) {
            Ok(read) => read,
            Err(e) => {
                return FileOutcome::Failed(CorpusError {
                    file: file.name.clone(),
                    index: None,
                    reason: e.to_string(),
                })
            }
        };
        // Incidents read: one that cannot be read is an error, and a corpus of nothing else
        // planned nothing.
        let count = incidents.iter().filter(|i| i.is_ok()).count() as u64;
        let ids = incidents
            .iter()
            .enumerate()
            .filter_map(|(i, r)| {
                let inc = r.as_ref().ok()?;
                Some((i, identity_hash(&inc.source, &inc.id), inc.id.clone()))
            })
            .collect();
        let without_alerts = incidents
            .iter()
            .filter(|i| i.as_ref().is_ok_and(|i| i.alerts_not_fetched))
            .count() as u64;
        let with_base = self.base.is_some();
        let mut partial = incidents
            .into_par_iter()
            .enumerate()
            .fold(
                || Partial::new(with_base),
                |mut p, (i, incident)| {
                    match incident {
                        Ok(incident) => self.incident(&mut p, file, i, &incident, executor),
                        Err(e) => p.events.push((
                            i,
                            Event::Error(CorpusError {
                                file: file.name.clone(),
                                index: Some(i),
                                reason: e.message_in_file(),
                            }),
                        )),
                    }
                    p
                },
            )
            .reduce(|| Partial::new(with_base), Partial::merge);
        partial.events.sort_by_key(|(i, _)| *i);
        FileOutcome::Done {
            incidents: count,
            without_alerts,
            sentinel: info.format == Format::Sentinel,
            ids,
            partial,
        }
    }

    fn incident(
        &self,
        p: &mut Partial,
        file: &CorpusFile,
        index: usize,
        incident: &Incident,
        executor: &RecordingExecutor,
    ) {
        let error = |reason: String| {
            Event::Error(CorpusError {
                file: file.name.clone(),
                index: Some(index),
                reason,
            })
        };
        let ws = match select(
            self.workspaces,
            self.workspace,
            incident.workspace.as_deref(),
        ) {
            Ok(ws) => ws,
            Err(e) => {
                p.events
                    .push((index, error(format!("incident `{}`: {e}", incident.id))));
                return;
            }
        };
        // A panic is an engine bug; one incident that triggers it must not end the backtest
        // (nor leave the run waiting for its file), so it is reported like a bad incident.
        let planned = std::panic::catch_unwind(AssertUnwindSafe(|| {
            let ctx = incident_context(incident);
            let config = RunConfig {
                max_fanout: self.max_fanout,
                max_actions: self.max_plan_actions,
                now_ms: default_now(incident),
                ..RunConfig::default()
            };
            let head = plan_with_context(self.head, ws, incident, &ctx, &config, executor);
            let base = self
                .base
                .map(|lib| plan_with_context(lib, ws, incident, &ctx, &config, executor));
            (head, base)
        }));
        let (head, base) = match planned {
            Ok(plans) => plans,
            Err(panic) => {
                p.events.push((
                    index,
                    error(format!(
                        "incident `{}`: internal error: the engine panicked while planning it \
                         ({}); please report this",
                        incident.id,
                        panic_message(panic.as_ref())
                    )),
                ));
                return;
            }
        };
        p.head.add_plan(&head);
        let (Some(base), Some(base_tally)) = (base, p.base.as_mut()) else {
            return;
        };
        base_tally.add_plan(&base);
        let changes = diff(&base.actions, &head.actions);
        if !changes.is_empty() {
            p.events.push((
                index,
                Event::Changed(IncidentDiff {
                    file: file.name.clone(),
                    index,
                    id: incident.id.clone(),
                    severity: incident.severity.clone(),
                    title: incident.title.clone(),
                    changes,
                }),
            ));
        }
    }
}

/// The message of a caught panic.
fn panic_message(panic: &(dyn std::any::Any + Send)) -> String {
    panic
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| panic.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "no message".to_string())
}

#[cfg(test)]
mod tests;
