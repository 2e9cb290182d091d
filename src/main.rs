//! `riposte`: the command line. Arguments and rendering only; the work happens in
//! `riposte-dsl` (compiling) and `riposte-engine` (files, running).

#![deny(unsafe_code)]

use riposte::render;

// Plans and backtests allocate many small strings and records; mimalloc serves them faster
// than the system allocator.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

use std::io::{IsTerminal, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand, ValueEnum};
use riposte_dsl::compile::{compile, Compilation};
use riposte_dsl::syntax::Limits;
use riposte_dsl::{Code, Diagnostic, SourceMap};
use riposte_engine::incident::ImportLimits;
use riposte_engine::plan::text::plural;

/// `eprintln!` that never panics: a closed stderr (`2>&1 | head`) loses the message, not the
/// run.
macro_rules! stderr_line {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        // Messages quote incident text: it cannot drive the terminal.
        let line = format!($($arg)*);
        let _ = writeln!(
            std::io::stderr(),
            "{}",
            riposte_engine::plan::text::printable_lines(&line)
        );
    }};
}

/// `eprint!` that never panics.
macro_rules! stderr_text {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        let _ = write!(std::io::stderr(), $($arg)*);
    }};
}

#[derive(Parser)]
#[command(
    name = "riposte",
    version,
    about = "Security-response gamebooks and SOPs as code"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Check gamebooks and SOPs: exit 0 without errors, 1 with errors, 2 on usage or I/O errors.
    Check {
        /// Files or directories (default: `gamebooks/` and `sops/`).
        paths: Vec<PathBuf>,
        /// The library the files belong to: what they name (called gamebooks, the gamebooks of
        /// an SOP) is looked up there, and only the files named are reported on (with `--library`
        /// alone, the library is checked).
        #[arg(long = "library")]
        library: Vec<PathBuf>,
        #[arg(long, value_enum, default_value_t = CheckFormat::Text)]
        format: CheckFormat,
        /// Treat warnings as errors (exit 1).
        #[arg(long)]
        deny_warnings: bool,
        /// Also check the library against these workspaces: the file's own errors, agents that
        /// name SOPs the library lacks, and SOPs routed to workspaces or tags no workspace has or
        /// that no workspace would run (warnings RP0501–RP0503).
        #[arg(long, value_name = "FILE")]
        workspaces: Option<PathBuf>,
    },
    /// Print the compiled execution graph of a gamebook file.
    Graph {
        /// A gamebook file.
        file: PathBuf,
        #[arg(long, value_enum, default_value_t = GraphFormat::Dot)]
        format: GraphFormat,
        /// Where sub-gamebooks are found (default: `gamebooks/` when it exists).
        #[arg(long = "library")]
        library: Vec<PathBuf>,
    },
    /// List the action catalog.
    Actions {
        #[arg(long, value_enum, default_value_t = ActionsFormat::Text)]
        format: ActionsFormat,
    },
    /// Replay a corpus of incidents through the library at a git revision and in the working
    /// tree, and report what would change: exit 0 (corpus files that cannot be read are reported
    /// and counted), 1 when a library has errors, 2 on usage, git or I/O errors or a corpus with
    /// no incident (see docs/backtest.md).
    Backtest(BacktestArgs),
    /// Incident corpora for backtests and benchmarks.
    Corpus {
        #[command(subcommand)]
        command: CorpusCommand,
    },
    /// Plan what the engine would do for an incident, without doing it (dry-run).
    Simulate(SimulateArgs),
    /// Run gamebook tests (`*.test.yaml`) and report gamebook coverage: exit 0 when every test
    /// passes, 1 on a failed test or coverage below `--min-coverage`, 2 on usage or I/O errors.
    Test(TestArgs),
    /// Evaluate expressions over an incident, as conditions see it; without expressions, print
    /// the `incident` record itself: exit 0, 1 when an expression has errors, 2 on usage or
    /// I/O errors.
    Eval(EvalArgs),
    /// Print the JSON Schema of gamebook, SOP or test files (for yaml-language-server).
    Schema {
        #[arg(value_enum, default_value_t = SchemaKind::Gamebook)]
        kind: SchemaKind,
    },
}

#[derive(clap::Args)]
struct SimulateArgs {
    /// An incident file: Graph security incident(s), Sentinel incident(s) or Riposte JSON
    /// (`-`: the standard input).
    #[arg(long)]
    incident: PathBuf,
    /// Workspaces and agents (default: a built-in demo workspace with everything enabled).
    #[arg(long)]
    workspaces: Option<PathBuf>,
    /// The workspace to plan for (default: the one whose tenant id is the incident's).
    #[arg(long)]
    workspace: Option<String>,
    /// Library directories or files (default: `gamebooks/` and `sops/`).
    #[arg(long = "library")]
    library: Vec<PathBuf>,
    /// Approvals granted: `all`, `none`, or step ids (repeat or comma-separate).
    #[arg(long, value_delimiter = ',', default_value = "none")]
    approve: Vec<String>,
    /// Approvals rejected: step ids (repeat or comma-separate); these steps do not run, even
    /// with `--approve all`.
    #[arg(long, value_delimiter = ',')]
    reject: Vec<String>,
    /// Steps that time out: of a step with an `approval:` gate, the gate, whose `on_timeout`
    /// decides (`reject`, `approve` or `fail`); of a task step with a `timeout`, the task,
    /// which is not completed and fails the step.
    #[arg(long = "time-out", value_delimiter = ',')]
    time_out: Vec<String>,
    /// Make matching actions fail in the simulation: `STEP`, `STEP:TARGET` (id or name);
    /// a trailing `@N` fails only the first N attempts, so a retry after them succeeds.
    #[arg(long = "fail")]
    fail: Vec<String>,
    /// The time `now()` returns (RFC 3339; a time without an offset is UTC; default: the
    /// incident's last update, else its creation).
    #[arg(long)]
    now: Option<String>,
    #[command(flatten)]
    plan: PlanLimitArgs,
    #[command(flatten)]
    import: ImportLimitArgs,
    #[arg(long, value_enum, default_value_t = ListFormat::Text)]
    format: ListFormat,
}

#[derive(clap::Args)]
struct EvalArgs {
    /// Expressions of the language (docs/language.md §7), with `incident` in scope. Options
    /// may follow them, so an expression that starts with `-` goes after `--`, which ends the
    /// options: `riposte eval --incident FILE -- "-5m < 0s"`.
    exprs: Vec<String>,
    /// An incident file: Graph security incident(s), Sentinel incident(s) or Riposte JSON
    /// (`-`: the standard input).
    #[arg(long)]
    incident: PathBuf,
    /// The time `now()` returns (RFC 3339; a time without an offset is UTC; default: the
    /// incident's last update, else its creation).
    #[arg(long)]
    now: Option<String>,
    #[command(flatten)]
    import: ImportLimitArgs,
}

/// Bounds on incident files (the defaults of `ImportLimits`).
#[derive(clap::Args)]
struct ImportLimitArgs {
    /// Largest incident file, in bytes.
    #[arg(long, value_name = "BYTES", default_value_t = ImportLimits::default().max_file_bytes, value_parser = at_least_one, allow_negative_numbers = true)]
    max_file_bytes: usize,
    /// Most incidents in one file.
    #[arg(long, value_name = "N", default_value_t = ImportLimits::default().max_incidents, value_parser = at_least_one, allow_negative_numbers = true)]
    max_incidents: usize,
    /// Most alerts in one incident.
    #[arg(long, value_name = "N", default_value_t = ImportLimits::default().max_alerts, value_parser = at_least_one, allow_negative_numbers = true)]
    max_alerts: usize,
    /// Most entities one incident may carry.
    #[arg(long, value_name = "N", default_value_t = ImportLimits::default().max_entities, value_parser = at_least_one, allow_negative_numbers = true)]
    max_entities: usize,
}

impl ImportLimitArgs {
    fn limits(&self) -> ImportLimits {
        ImportLimits {
            max_file_bytes: self.max_file_bytes,
            max_incidents: self.max_incidents,
            max_alerts: self.max_alerts,
            max_entities: self.max_entities,
        }
    }
}

/// Bounds on one plan (the defaults of `RunConfig`).
#[derive(clap::Args)]
struct PlanLimitArgs {
    /// Most items one for-each fans out to (at most 100000); the rest are blocked.
    #[arg(long, value_name = "N", default_value_t = riposte_engine::scheduler::RunConfig::default().max_fanout, value_parser = fanout_limit, allow_negative_numbers = true)]
    max_fanout: usize,
    /// Most actions one plan holds (at most 100000); steps and for-each items that would start past it are blocked.
    #[arg(long, value_name = "N", default_value_t = riposte_engine::scheduler::RunConfig::default().max_actions, value_parser = plan_actions_limit, allow_negative_numbers = true)]
    max_plan_actions: usize,
}

#[derive(clap::Args)]
struct TestArgs {
    /// Test files or directories searched for `*.test.yaml` (default: `gamebooks/` and `sops/`).
    paths: Vec<PathBuf>,
    /// Library directories or files (default: `gamebooks/` and `sops/`).
    #[arg(long = "library")]
    library: Vec<PathBuf>,
    /// Run only the tests whose name holds TEXT (ignoring case); coverage is then of those.
    #[arg(long, value_name = "TEXT")]
    filter: Option<String>,
    /// Fail (exit 1) when the total coverage of steps and branches is below PCT percent.
    #[arg(long, value_name = "PCT", value_parser = parse_percent, allow_negative_numbers = true)]
    min_coverage: Option<f64>,
    #[command(flatten)]
    import: ImportLimitArgs,
    #[arg(long, value_enum, default_value_t = ListFormat::Text)]
    format: ListFormat,
}

#[derive(Clone, Copy, ValueEnum)]
enum CheckFormat {
    Text,
    Json,
    Sarif,
}

#[derive(Clone, Copy, ValueEnum)]
enum GraphFormat {
    Dot,
    Mermaid,
}

#[derive(Clone, Copy, ValueEnum)]
enum ListFormat {
    Text,
    Json,
}

#[derive(Clone, Copy, ValueEnum)]
enum ActionsFormat {
    Text,
    Json,
    /// The reference page, as in docs/actions.md.
    Markdown,
}

#[derive(Clone, Copy, ValueEnum)]
enum SchemaKind {
    Gamebook,
    Sop,
    /// Gamebook tests (`*.test.yaml`).
    Test,
}

#[derive(clap::Args)]
struct BacktestArgs {
    /// A directory of incident files (`*.json`, recursively; any supported format).
    #[arg(long, value_name = "DIR")]
    corpus: PathBuf,
    /// The git revision to compare the working tree with (`HEAD`, `HEAD~1`, `main`, a tag);
    /// without it, the totals of the working-tree plans.
    #[arg(long, value_name = "GIT_REV")]
    base: Option<String>,
    /// Library directories or files (default: `gamebooks/` and `sops/`), relative to the
    /// current directory; the same paths are read at the base revision.
    #[arg(long = "library", value_name = "DIR")]
    library: Vec<PathBuf>,
    /// Workspaces and agents (default: a built-in demo workspace with everything enabled).
    #[arg(long, value_name = "FILE")]
    workspaces: Option<PathBuf>,
    /// Plan every incident in this workspace (default: the one whose tenant id is the incident's).
    #[arg(long, value_name = "NAME")]
    workspace: Option<String>,
    #[arg(long, value_enum, default_value_t = ListFormat::Text)]
    format: ListFormat,
    /// Worker threads; 0, the default, is one per core.
    #[arg(long, value_name = "N", default_value_t = 0)]
    jobs: usize,
    /// Exit 3 when an incident's plan changed (`changes`) or a corpus file or incident could
    /// not be backtested (`errors`), after the whole report: for CI that gates on behaviour.
    #[arg(long, value_enum, value_name = "WHAT", value_delimiter = ',')]
    fail_on: Vec<FailOn>,
    #[command(flatten)]
    plan: PlanLimitArgs,
    #[command(flatten)]
    import: ImportLimitArgs,
}

/// What makes `backtest --fail-on` exit 3.
#[derive(Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum FailOn {
    Changes,
    Errors,
}

#[derive(Subcommand)]
enum CorpusCommand {
    /// Generate a deterministic corpus of variations of example incidents (Riposte normalized
    /// JSON; the recipe is in docs/backtest.md).
    Generate(GenerateArgs),
}

#[derive(clap::Args)]
struct GenerateArgs {
    /// The example incidents (`*.json`, recursively), e.g. `examples/incidents`.
    #[arg(long, value_name = "DIR")]
    from: PathBuf,
    /// How many incidents to generate (at most 10,000,000).
    #[arg(long, value_name = "N")]
    count: u64,
    /// A new or empty directory to write the corpus to.
    #[arg(long, value_name = "DIR")]
    out: PathBuf,
    /// The same seed gives the same corpus, byte for byte.
    #[arg(long, value_name = "S", default_value_t = 1)]
    seed: u64,
    /// Incidents per file (at most 100,000).
    #[arg(long, value_name = "N", default_value_t = riposte_engine::backtest::generate::DEFAULT_PER_FILE)]
    per_file: u64,
    /// Worker threads; 0, the default, is one per core.
    #[arg(long, value_name = "N", default_value_t = 0)]
    jobs: usize,
    #[command(flatten)]
    import: ImportLimitArgs,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Check {
            paths,
            library,
            format,
            deny_warnings,
            workspaces,
        } => check(paths, library, format, deny_warnings, workspaces.as_deref()),
        Command::Graph {
            file,
            format,
            library,
        } => graph(file, format, library),
        Command::Actions { format } => actions(format),
        Command::Backtest(args) => backtest(args),
        Command::Corpus { command } => corpus(command),
        Command::Simulate(args) => simulate(args),
        Command::Test(args) => test(args),
        Command::Eval(args) => eval(args),
        Command::Schema { kind } => {
            let schema = match kind {
                SchemaKind::Gamebook => riposte_dsl::schema::gamebook(),
                SchemaKind::Sop => riposte_dsl::schema::sop(),
                SchemaKind::Test => riposte_engine::testing::schema::test_file(),
            };
            print_json(&schema).map(|()| ExitCode::SUCCESS)
        }
    };
    result.unwrap_or_else(|e| {
        stderr_line!("error: {e}");
        ExitCode::from(2)
    })
}

/// Says which links to directories a library's directories hold: they are not read.
fn note_linked_dirs(loaded: &riposte_engine::Loaded) {
    for dir in &loaded.linked_dirs {
        stderr_line!(
            "note: `{dir}` is a link to a directory, which a library does not follow; give its \
             target with `--library`"
        );
    }
}

fn default_library() -> Vec<PathBuf> {
    ["gamebooks", "sops"]
        .iter()
        .map(PathBuf::from)
        .filter(|p| p.is_dir())
        .collect()
}

/// The error of a command run where the default library is not: `what` is missing, and
/// `instead` is what to give.
fn no_default_library(what: &str, instead: &str) -> String {
    let here = std::env::current_dir()
        .map(|d| format!(" `{}`", d.display()))
        .unwrap_or_default();
    format!(
        "{what}: the current directory{here} holds no `gamebooks/` or `sops/`; run riposte from \
         the directory that holds them, or {instead}"
    )
}

/// The error of a path given with `option` that cannot be read: `what` it is, and what to do.
fn unreadable(what: &str, option: &str, path: &std::path::Path, e: &std::io::Error) -> String {
    if e.kind() == std::io::ErrorKind::NotFound {
        format!(
            "{what} `{}` (`{option}`) does not exist; check its spelling",
            path.display()
        )
    } else {
        format!(
            "cannot read the {what} `{}` (`{option}`): {e}",
            path.display()
        )
    }
}

/// The error of a library that cannot be read, naming `--library` for a path it gave (`given`).
fn library_error(e: riposte_engine::load::LoadError, given: &[PathBuf]) -> String {
    match e {
        riposte_engine::load::LoadError::Io { path, source } if given.contains(&path) => {
            unreadable("library path", "--library", &path, &source)
        }
        e => e.to_string(),
    }
}

/// Reads and compiles a library; `given` are the paths `--library` gave, which errors name so.
fn load(paths: Vec<PathBuf>, given: &[PathBuf]) -> Result<(SourceMap, Compilation), String> {
    let limits = Limits::default();
    let loaded = riposte_engine::load_library(&paths, limits.max_file_bytes)
        .map_err(|e| library_error(e, given))?;
    note_linked_dirs(&loaded);
    let compilation = compile(&loaded.sources, &limits, loaded.diagnostics);
    Ok((loaded.sources, compilation))
}

fn check(
    paths: Vec<PathBuf>,
    library: Vec<PathBuf>,
    format: CheckFormat,
    deny_warnings: bool,
    workspaces: Option<&std::path::Path>,
) -> Result<ExitCode, String> {
    // With `--library`, the paths are checked within it; without, they are the library.
    let within = !library.is_empty() && !paths.is_empty();
    // Files named without `--library` are the whole library checked: unless what was named
    // holds a library's `sops/` (this one's, or another's), an agent's SOPs may be missing
    // only from what was named.
    let partial_library = library.is_empty() && !paths.is_empty() && {
        let sops = std::fs::canonicalize("sops").ok();
        sops.is_some_and(|sops| {
            !paths.iter().any(|p| {
                p.join("sops").is_dir()
                    || std::fs::canonicalize(p).is_ok_and(|p| sops.starts_with(p))
            })
        })
    };
    let paths = match (paths.is_empty(), library.is_empty()) {
        (false, _) => paths,
        (true, false) => library.clone(),
        (true, true) => default_library(),
    };
    if paths.is_empty() {
        return Err(no_default_library(
            "nothing to check",
            "pass files or directories",
        ));
    }
    let checked: Vec<PathBuf> = paths
        .iter()
        .map(|p| std::fs::canonicalize(p).unwrap_or_else(|_| p.clone()))
        .collect();
    let all = if within {
        library.into_iter().chain(paths).collect()
    } else {
        paths
    };
    let (mut sources, mut compilation) = load(all, &[])?;
    // The files checked: those under the paths named. A diagnostic is theirs when it is at one
    // of them or points at one (a name defined twice, once in the library).
    let mut is_checked: Vec<riposte_dsl::FileId> = sources
        .iter()
        .filter(|(_, f)| {
            let path = std::fs::canonicalize(&f.name).unwrap_or_else(|_| PathBuf::from(&f.name));
            !within || checked.iter().any(|c| path.starts_with(c))
        })
        .map(|(id, _)| id)
        .collect();
    let files_checked = is_checked.len();
    // Errors of the workspaces file past those shown (a note says how many).
    let mut left_out = 0;
    if let Some(path) = workspaces {
        // The workspaces file joins the files checked: its errors are diagnostics too.
        let (file, found, not_shown) =
            check_workspaces(path, &mut sources, &compilation, partial_library)?;
        left_out = not_shown;
        is_checked.push(file);
        compilation.diagnostics.extend(found);
        compilation
            .diagnostics
            .sort_by_key(|d| (d.file, d.span.start, d.code));
    }
    let diags: Vec<Diagnostic> = compilation
        .diagnostics
        .iter()
        .filter(|d| {
            is_checked.contains(&d.file) || d.related.iter().any(|r| is_checked.contains(&r.file))
        })
        .cloned()
        .collect();
    let diags = &diags;
    // Errors in other files of the library fail the check too (below): machine formats carry
    // them after the checked files' own, so a tool reading them sees why it failed.
    let with_elsewhere = || -> Vec<Diagnostic> {
        let others = compilation
            .diagnostics
            .iter()
            .filter(|d| d.is_error() && !diags.contains(d));
        diags.iter().chain(others).cloned().collect()
    };
    match format {
        CheckFormat::Text => {
            let color = colored(&std::io::stderr());
            let mut err = std::io::stderr().lock();
            for d in diags {
                let _ = write!(err, "{}", render::text(d, &sources, color));
            }
            let shown_errors = diags.iter().filter(|d| d.is_error()).count();
            let warnings = diags.len() - shown_errors;
            let errors = shown_errors + left_out;
            let lib = &compilation.library;
            let within_library = if within {
                format!(" (within a library of {})", plural(sources.len(), "file"))
            } else {
                String::new()
            };
            let mine = |file: riposte_dsl::FileId| is_checked.contains(&file);
            let against = workspaces
                .map(|p| format!(" against `{}`", p.display()))
                .unwrap_or_default();
            let _ = writeln!(
                err,
                "checked {}{within_library}{against}: {}, {}; {}, {}",
                plural(files_checked, "file"),
                plural(
                    lib.gamebooks.iter().filter(|g| mine(g.file)).count(),
                    "gamebook"
                ),
                plural(lib.sops.iter().filter(|s| mine(s.file)).count(), "SOP"),
                plural(errors, "error"),
                plural(warnings, "warning"),
            );
        }
        CheckFormat::Json => {
            let list: Vec<_> = with_elsewhere()
                .iter()
                .map(|d| render::json_diagnostic(d, &sources))
                .collect();
            print_json(&list)?;
        }
        CheckFormat::Sarif => print_json(&render::sarif(&with_elsewhere(), &sources))?,
    }
    // An error elsewhere in the library may be the checked files' doing (a gamebook renamed
    // its input, and a caller still gives the old one): the check fails, and says where.
    let elsewhere: Vec<&str> = {
        let mut files: Vec<&str> = compilation
            .diagnostics
            .iter()
            .filter(|d| d.is_error() && !diags.contains(d))
            .map(|d| sources.get(d.file).name.as_str())
            .collect();
        files.sort_unstable();
        files.dedup();
        files
    };
    if !elsewhere.is_empty() {
        let named: Vec<String> = elsewhere.iter().take(3).map(|f| format!("`{f}`")).collect();
        let more = if elsewhere.len() > 3 { ", …" } else { "" };
        stderr_line!(
            "error: the library has errors in other files ({}{more}), which may be these files' \
             doing: `riposte check` the library to see them",
            named.join(", ")
        );
    }
    let failed = diags.iter().any(Diagnostic::is_error)
        || !elsewhere.is_empty()
        || (deny_warnings && !diags.is_empty());
    Ok(if failed {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}

/// The workspaces file `path`, added to `sources`, and its diagnostics: its own errors, else
/// agents' unknown SOPs, else the warnings of the library against it. A library with errors
/// is checked no further: an SOP it could not compile is missing from it, and every agent
/// attaching that SOP would be reported. `partial_library` says the library is only the
/// files named, which the help of an unknown SOP says. Last, how many errors are not shown.
/// An unreadable file is a usage error.
fn check_workspaces(
    path: &std::path::Path,
    sources: &mut SourceMap,
    compilation: &Compilation,
    partial_library: bool,
) -> Result<(riposte_dsl::FileId, Vec<Diagnostic>, usize), String> {
    use riposte_engine::workspace::{self, WorkspaceError};
    use riposte_engine::workspace_fit;
    let name = path.display().to_string();
    let text = match workspace::read_text(path) {
        Ok(text) => Ok(text),
        // Text that is not UTF-8 is the file's error, not a failure to read it.
        Err(WorkspaceError::Io { source, .. })
            if source.kind() == std::io::ErrorKind::InvalidData =>
        {
            Err(WorkspaceError::Inconsistent {
                path: name.clone(),
                message: format!("{source}; save the file as UTF-8"),
            })
        }
        Err(WorkspaceError::Io { path, source }) => {
            return Err(unreadable(
                "workspaces file",
                "--workspaces",
                path.as_ref(),
                &source,
            ))
        }
        // Too large: said at the file's start.
        Err(e) => Err(e),
    };
    let (file, found) = match text {
        Ok(text) => {
            let file = sources.add(riposte_dsl::SourceFile::new(name.clone(), text));
            let library = (!compilation.has_errors()).then_some(&compilation.library);
            let found = workspace_fit::check_file(library, file, sources.get(file));
            if library.is_none() && !found.diagnostics.iter().any(Diagnostic::is_error) {
                stderr_line!(
                    "note: the library is not checked against `{name}` while it has errors: \
                     fix them first"
                );
            }
            (file, found)
        }
        Err(e) => {
            let file = sources.add(riposte_dsl::SourceFile::new(name.clone(), ""));
            (file, workspace_fit::file_errors(e, file, sources.get(file)))
        }
    };
    if found.left_out > 0 {
        stderr_line!(
            "note: {} more {} of `{name}` not shown (at most {} are shown at once)",
            found.left_out,
            if found.left_out == 1 {
                "error"
            } else {
                "errors"
            },
            riposte_engine::workspace::MAX_REPORTED_ERRORS
        );
    }
    let mut diagnostics = found.diagnostics;
    if partial_library {
        for d in diagnostics
            .iter_mut()
            .filter(|d| d.code == Code::UnknownAgentSop)
        {
            let note = "the library is only the files named: check them within it with \
                        `--library gamebooks --library sops`";
            d.help = Some(match d.help.take() {
                Some(help) => format!("{help} ({note})"),
                None => note.to_string(),
            });
        }
    }
    Ok((file, diagnostics, found.left_out))
}

fn graph(file: PathBuf, format: GraphFormat, library: Vec<PathBuf>) -> Result<ExitCode, String> {
    if file.is_dir() {
        return Err(format!(
            "`{}` is a directory; `riposte graph` draws one gamebook file (its called gamebooks \
             are looked up in `--library`)",
            file.display()
        ));
    }
    if file.exists() && !riposte_engine::load::is_yaml(&file) {
        return Err(format!(
            "`{}` is not a YAML file; `riposte graph` draws one gamebook file (`.yaml` or \
             `.yml`)",
            file.display()
        ));
    }
    let no_library = library.is_empty() && !std::path::Path::new("gamebooks").is_dir();
    let given = library.clone();
    let mut paths = if library.is_empty() {
        ["gamebooks"]
            .iter()
            .map(PathBuf::from)
            .filter(|p| p.is_dir())
            .collect()
    } else {
        library
    };
    paths.push(file.clone());
    let (sources, compilation) = load(paths, &given)?;
    let file_id = sources
        .iter()
        .find(|(_, f)| same_file(std::path::Path::new(&f.name), &file))
        .map(|(id, _)| id);
    let gamebook = compilation
        .library
        .gamebooks
        .iter()
        .find(|g| Some(g.file) == file_id)
        .map(|g| g.name.clone());
    // An SOP is not drawn, whatever errors it has: its gamebooks are (its errors would send
    // the user looking for a library to pass, which would not draw it either).
    if gamebook.is_none()
        && compilation
            .library
            .sops
            .iter()
            .any(|s| Some(s.file) == file_id)
    {
        return Err(format!(
            "`{}` holds an SOP, not a gamebook; `riposte graph` draws a gamebook file (the \
             gamebooks this SOP runs are in its `gamebooks:` list), and `riposte check` checks \
             SOPs",
            file.display()
        ));
    }
    // The files the drawing reads: the gamebook's and those of the gamebooks it calls (or,
    // when the file's gamebook did not compile, the file). Errors elsewhere in the library are
    // only named: a broken SOP or another gamebook does not keep this one from being drawn.
    let (read_files, complete) = match gamebook.as_deref() {
        Some(name) => {
            let (gamebooks, all_found) = compilation.library.with_callees(name);
            (gamebooks.iter().map(|g| g.file).collect(), all_found)
        }
        None => (file_id.into_iter().collect::<Vec<_>>(), false),
    };
    let read = |f: riposte_dsl::FileId| read_files.contains(&f);
    let (mut errors, mut elsewhere): (Vec<&Diagnostic>, Vec<&Diagnostic>) = compilation
        .diagnostics
        .iter()
        .filter(|d| d.is_error())
        .partition(|d| read(d.file) || d.related.iter().any(|r| read(r.file)));
    // Nothing wrong in what is read, yet something it needs did not compile (a called
    // gamebook with errors of its own): the errors are all shown, as which is the cause is
    // not known.
    if errors.is_empty() && !complete {
        errors.append(&mut elsewhere);
    }
    let errors: Vec<Diagnostic> = errors
        .into_iter()
        .map(|d| as_graph_sees_it(d.clone(), &file))
        .collect();
    if !errors.is_empty() {
        let color = colored(&std::io::stderr());
        for d in &errors {
            stderr_text!("{}", render::text(d, &sources, color));
        }
        if no_library && errors.iter().any(|d| d.code == Code::UnknownGamebook) {
            stderr_line!(
                "note: called gamebooks are looked up in `--library DIR` (default: `gamebooks/` \
                 of the current directory, which has none); pass the library the file belongs to"
            );
        }
        note_errors_elsewhere(&elsewhere, &sources);
        return Ok(ExitCode::from(1));
    }
    let Some(name) = gamebook else {
        return Err(format!("`{}` holds no gamebook", file.display()));
    };
    let out = match format {
        GraphFormat::Dot => riposte_dsl::graph::to_dot(&compilation.library, Some(&name)),
        GraphFormat::Mermaid => riposte_dsl::graph::to_mermaid(&compilation.library, Some(&name)),
    };
    emit(&out)?;
    note_errors_elsewhere(&elsewhere, &sources);
    Ok(ExitCode::SUCCESS)
}

/// The note of `riposte graph` naming the files of the library with errors that the drawn
/// gamebook does not read.
fn note_errors_elsewhere(elsewhere: &[&Diagnostic], sources: &SourceMap) {
    let mut files: Vec<&str> = elsewhere
        .iter()
        .map(|d| sources.get(d.file).name.as_str())
        .collect();
    if files.is_empty() {
        return;
    }
    files.sort_unstable();
    files.dedup();
    let named: Vec<String> = files.iter().take(3).map(|f| format!("`{f}`")).collect();
    let more = if files.len() > 3 { ", …" } else { "" };
    stderr_line!(
        "note: the library has errors in files this gamebook does not read ({}{more}): \
         `riposte check` the library to see them",
        named.join(", ")
    );
}

/// A diagnostic of `riposte graph FILE`: a gamebook the file calls that is not found is fixed
/// with `--library`, not by checking files together as the compiler's help says.
fn as_graph_sees_it(mut d: Diagnostic, file: &std::path::Path) -> Diagnostic {
    let lead = d
        .help
        .as_deref()
        .filter(|_| d.code == Code::UnknownGamebook)
        .and_then(|h| h.strip_suffix(riposte_dsl::compile::CHECK_TOGETHER_HINT));
    if let Some(lead) = lead {
        let dir = file
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
            .unwrap_or(std::path::Path::new("."));
        d.help = Some(format!(
            "{lead}`riposte graph` finds the gamebooks a file calls in `--library DIR` (default: \
             `gamebooks/` of the current directory): pass the library the file belongs to, e.g. \
             `riposte graph {} --library {}`",
            file.display(),
            dir.display()
        ));
    }
    d
}

/// Whether two paths name one file (`gamebooks/a.yaml`, `./gamebooks/a.yaml`, absolute).
fn same_file(a: &std::path::Path, b: &std::path::Path) -> bool {
    match (std::fs::canonicalize(a), std::fs::canonicalize(b)) {
        (Ok(a), Ok(b)) => a == b,
        _ => a == b,
    }
}

fn library(given: Vec<PathBuf>) -> Result<Result<riposte_dsl::checked::Library, ExitCode>, String> {
    let paths = if given.is_empty() {
        default_library()
    } else {
        given.clone()
    };
    if paths.is_empty() {
        return Err(no_default_library("no library", "pass `--library DIR`"));
    }
    let (sources, compilation) = load(paths, &given)?;
    if compilation.has_errors() {
        let color = colored(&std::io::stderr());
        for d in compilation.diagnostics.iter().filter(|d| d.is_error()) {
            stderr_text!("{}", render::text(d, &sources, color));
        }
        stderr_line!("the library has errors; fix them (see `riposte check`) before simulating");
        return Ok(Err(ExitCode::from(1)));
    }
    Ok(Ok(compilation.library))
}

/// The warning about incidents of `format` fetched without their alerts
/// (`Incident::alerts_not_fetched`), naming the first few `ids`: what each source leaves out,
/// and how to fetch it.
fn without_alerts_message(
    format: riposte_engine::incident::Format,
    count: u64,
    ids: &[String],
) -> String {
    use riposte_engine::incident::Format;
    let named = match ids {
        [] => String::new(),
        _ => {
            let more = if ids.len() > 3 { ", …" } else { "" };
            format!(" ({}{more})", ids[..ids.len().min(3)].join(", "))
        }
    };
    match format {
        Format::Sentinel => format!(
            "{} without {} `alerts` or `entities` member{}, so without alerts or entities \
             there{named}: the incident resource (`GET …/incidents/{{id}}`) holds neither; add \
             the answers of `POST …/incidents/{{id}}/alerts` and `POST \
             …/incidents/{{id}}/entities` to it as its `alerts` and `entities` members (an \
             automation rule's payload holds them as `properties.alerts` and \
             `properties.relatedEntities`; see docs/incident-format.md)",
            plural(count, "Microsoft Sentinel incident"),
            if count == 1 { "its" } else { "their" },
            if count == 1 { "" } else { "s" },
        ),
        _ => format!(
            "{} without alerts, so without evidence{named}: if they were fetched without \
             `$expand=alerts` (`/security/incidents?$expand=alerts`), Microsoft Graph left the \
             alerts out",
            plural(count, "Microsoft Graph incident")
        ),
    }
}

/// Warns of what an incident file lacks without saying so. One page of a longer list: import
/// does not follow the link to the next page, so the incidents of the other pages are absent
/// (`backtest` does not warn: a corpus of pages holds the others as files of their own).
/// Incidents without alerts: Graph lists an incident's alerts, and so its evidence, only when
/// asked to, and Sentinel gives an incident's alerts and entities only through calls of their
/// own; without them a plan has no entity to act on, and an expression finds none.
fn warn_of_missing_incident_data(
    file: &std::path::Path,
    info: riposte_engine::incident::FileInfo,
    incidents: &[riposte_engine::incident::Incident],
) {
    if info.more_pages {
        let link = info.format.next_link_member().unwrap_or("@odata.nextLink");
        stderr_line!(
            "warning: {} is one page of a longer list (it has `{link}`), so the incidents of \
             the other pages are not in it: fetch them all (follow `{link}` until a page has \
             none) and put them in the file, or each page in a corpus for `riposte backtest`",
            format!("`{}`", riposte_engine::incident::shown_path(file))
        );
    }
    let bare: Vec<String> = incidents
        .iter()
        .filter(|i| i.alerts_not_fetched)
        .map(|i| format!("`{}`", riposte_engine::plan::text::printable(&i.id)))
        .collect();
    if !bare.is_empty() {
        stderr_line!(
            "warning: {}",
            without_alerts_message(info.format, bare.len() as u64, &bare)
        );
    }
}

fn simulate(args: SimulateArgs) -> Result<ExitCode, String> {
    use riposte_engine::executor::{RecordingExecutor, ScriptedFailure};
    use riposte_engine::scheduler::{Approvals, Refusals, RunConfig};

    let (info, incidents) =
        riposte_engine::incident::read_incidents(&args.incident, &args.import.limits())
            .map_err(|e| e.to_string())?;
    warn_of_missing_incident_data(&args.incident, info, &incidents);
    let workspaces = match &args.workspaces {
        Some(path) => {
            Some(riposte_engine::workspace::read_workspaces(path).map_err(workspaces_error)?)
        }
        None => None,
    };
    let library = match library(args.library)? {
        Ok(l) => l,
        Err(code) => return Ok(code),
    };
    // Gamebooks run only through a response SOP: without one, every plan is empty.
    if !has_response_sop(&library) {
        stderr_line!(
            "warning: the library has no response SOP, so no gamebook runs and every plan is \
             empty: add the SOPs (`--library gamebooks --library sops`), or test one gamebook \
             with `riposte test` (`gamebook:`)"
        );
    }
    let workspaces = workspaces.unwrap_or_else(|| {
        vec![riposte_engine::workspace::Workspace::demo_for(
            &library.sops,
        )]
    });
    riposte_engine::workspace::check_sops(&workspaces, library.sops.iter().map(|s| &*s.name))
        .map_err(|e| unknown_sops_error(args.workspaces.as_deref(), e))?;
    let approvals = Approvals::from_words(&args.approve, &library)?;
    let refusals = Refusals::from_words(&args.reject, &args.time_out, &approvals, &library)?;
    let failures = args
        .fail
        .iter()
        .map(|f| {
            let (named, attempts) = fail_attempts(f)?;
            let (step, target) = match named.split_once(':') {
                Some((s, t)) => (s.trim(), Some(t.trim().to_string())),
                None => (named.trim(), None),
            };
            if step.is_empty() || target.as_deref() == Some("") {
                return Err(format!(
                    "`--fail {f}`: give `STEP` or `STEP:TARGET`, both parts non-empty (e.g. \
                     `isolate` or `contain.isolate:srv-fs-01`), then `@N` to fail only the \
                     first N attempts"
                ));
            }
            if !riposte_engine::scheduler::is_step_name(&library, step) {
                // No step id holds `@`: what follows it was meant as a count of attempts.
                if let Some((_, n)) = step.split_once('@') {
                    return Err(format!(
                        "`--fail {f}`: `@{n}` is not a number of attempts; give `@N` with N \
                         digits (e.g. `isolate@2` fails the first 2 attempts), and a target \
                         after `:` (`isolate:srv-fs-01@2`)"
                    ));
                }
                return Err(riposte_engine::scheduler::unknown_step(
                    "--fail", step, &library,
                ));
            }
            Ok(ScriptedFailure {
                step: Some(step.to_string()),
                target,
                attempts,
                error: format!("simulated failure (--fail {f})"),
                ..Default::default()
            })
        })
        .collect::<Result<_, _>>()?;
    let executor = RecordingExecutor { failures };
    let now = now_option(args.now.as_deref())?;
    // Every incident's workspace first: a file that names one that does not exist is an error
    // before any plan is written.
    let mut runs = Vec::with_capacity(incidents.len());
    for (n, incident) in incidents.iter().enumerate() {
        let ws = riposte_engine::workspace::select(
            &workspaces,
            args.workspace.as_deref(),
            incident.workspace.as_deref(),
        )
        .map_err(|e| {
            // Say which incident, of which file: a workspace named by `--workspace` is
            // the command line's.
            // One line: the id and tenant are the incident's, and may hold line breaks.
            let id = riposte_engine::plan::text::printable(&incident.id);
            let which = match e {
                riposte_engine::workspace::SelectError::Unknown { .. } => String::new(),
                _ if incidents.len() > 1 => format!(
                    "incident `{id}` ({} of {} in `{}`): ",
                    n + 1,
                    incidents.len(),
                    riposte_engine::incident::shown_path(&args.incident)
                ),
                _ => format!(
                    "incident `{id}` of `{}`: ",
                    riposte_engine::incident::shown_path(&args.incident)
                ),
            };
            let e = riposte_engine::plan::text::printable(&e.to_string()).into_owned();
            match &args.workspaces {
                Some(_) => format!("{which}{e}"),
                None => format!(
                    "{which}{e} (without `--workspaces FILE`, only the built-in `demo` workspace \
                     exists)"
                ),
            }
        })?;
        if now.is_none() && riposte_engine::plan::default_now(incident) == 0 {
            stderr_line!(
                "warning: incident `{}` has no update or creation time; `now()` is \
                 1970-01-01T00:00:00Z (pass `--now`)",
                riposte_engine::plan::text::printable(&riposte_dsl::diagnostic::clip(
                    &incident.id,
                    80
                ))
            );
        }
        runs.push((incident, ws));
    }
    if runs.is_empty() && matches!(args.format, ListFormat::Text) {
        stderr_line!(
            "`{}` holds no incidents: nothing to plan",
            riposte_engine::incident::shown_path(&args.incident)
        );
    }
    // Each plan is written as soon as it is made and dropped: a file of many incidents takes
    // the memory of one plan, not of all.
    // Per script: whether it failed an attempt, and whether it names an action that ran.
    let mut failed_something = vec![false; executor.failures.len()];
    let mut reached_something = vec![false; executor.failures.len()];
    let mut rejected_something = vec![false; refusals.rejected.len()];
    // Steps granted by name, and whether granting each changed a plan.
    let granted: Vec<String> = match &approvals {
        Approvals::Steps(names) => names.clone(),
        _ => Vec::new(),
    };
    let mut approved_something = vec![false; granted.len()];
    let mut plan = |&(incident, ws): &(
        &riposte_engine::incident::Incident,
        &riposte_engine::workspace::Workspace,
    )| {
        let config = RunConfig {
            approvals: approvals.clone(),
            refusals: refusals.clone(),
            max_fanout: args.plan.max_fanout,
            max_actions: args.plan.max_plan_actions,
            now_ms: now.unwrap_or_else(|| riposte_engine::plan::default_now(incident)),
            // The gates decided, for the warning of a `--reject` that rejected nothing.
            trace: !refusals.rejected.is_empty(),
            ..RunConfig::default()
        };
        let p = riposte_engine::plan::simulate(&library, ws, incident, &config, &executor);
        for (rejected, name) in rejected_something.iter_mut().zip(&refusals.rejected) {
            *rejected |= riposte_engine::plan::rejects_something(&p, name);
        }
        riposte_engine::plan::mark_approvals_used(
            &library,
            ws,
            incident,
            &config,
            &executor,
            &p,
            &mut approved_something,
        );
        let (failed, reached) = scripts_that_failed(&executor.failures, &p);
        for i in failed {
            failed_something[i] = true;
        }
        for i in reached {
            reached_something[i] = true;
        }
        p
    };
    let mut out = ReaderMayLeave {
        inner: std::io::BufWriter::new(std::io::stdout().lock()),
        gone: false,
    };
    let written = match args.format {
        ListFormat::Json if runs.len() == 1 => {
            serde_json::to_writer_pretty(&mut out, &plan(&runs[0])).map_err(std::io::Error::from)
        }
        ListFormat::Json => {
            let mut json = serde_json::Serializer::pretty(&mut out);
            serde::Serializer::collect_seq(&mut json, runs.iter().map(&mut plan))
                .map_err(std::io::Error::from)
        }
        ListFormat::Text => {
            let color = colored(&std::io::stdout());
            runs.iter().enumerate().try_for_each(|(n, run)| {
                if n > 0 {
                    out.write_all(b"\n")?;
                }
                let text = riposte_engine::plan::text::render(&plan(run), color);
                out.write_all(text.as_bytes())
            })
        }
    };
    let written = written.and_then(|()| match args.format {
        ListFormat::Json => out.write_all(b"\n"),
        ListFormat::Text => Ok(()),
    });
    written
        .and_then(|()| out.flush())
        .map_err(|e| format!("cannot write the output: {e}"))?;
    // A script that fails nothing is almost always a typo in its target, or an action that
    // never reaches the executor (awaiting approval, blocked): say so.
    let scripts = args.fail.iter().zip(&executor.failures);
    let outcomes = failed_something.into_iter().zip(reached_something);
    for ((given, script), (failed, reached)) in scripts.zip(outcomes) {
        // A target no incident of the file has is a typo: name the nearest entity.
        let target = script
            .target
            .as_deref()
            .filter(|t| !t.eq_ignore_ascii_case("incident"));
        let entities = || incidents.iter().flat_map(|i| &i.entities);
        let unknown_target = target.filter(|t| {
            !entities().any(|e| riposte_engine::executor::target_key_matches(t, &e.id, &e.name))
        });
        if let (Some(t), false) = (unknown_target, failed) {
            stderr_line!(
                "warning: `--fail {given}` failed no action: no entity of the incident is `{t}` \
                 (by id or name); {}",
                riposte_dsl::diagnostic::suggestion(t, entities().map(|e| e.name.as_str()))
            );
            continue;
        }
        if !failed && reached {
            stderr_line!(
                "warning: `--fail {given}` failed no action: an earlier `--fail` fails the \
                 attempts of the actions it names first"
            );
        } else if let Some(what) =
            script.step.as_deref().filter(|_| !failed).and_then(|s| {
                riposte_engine::scheduler::names_no_action(&library, s).map(|w| (s, w))
            })
        {
            let (step, what) = what;
            let instead = match what {
                "a task" => format!(
                    "a task fails once not completed within its `timeout`: `--time-out {step}`"
                ),
                _ => format!("name an action step in it, as `{step}.<step id>`"),
            };
            stderr_line!(
                "warning: `--fail {given}` failed no action: step `{step}` is {what}, and \
                 `--fail` fails actions; {instead}"
            );
        } else if !failed && !runs.is_empty() {
            stderr_line!(
                "warning: `--fail {given}` failed no action: no action of that step and target \
                 would run (check the target, or grant the approval it waits for with \
                 `--approve`, and refuse none of it with `--reject` or `--time-out`)"
            );
        }
    }
    // An approval that approves nothing: as a rejection that rejects nothing, below.
    for (name, approved) in granted.iter().zip(approved_something) {
        if !approved && !runs.is_empty() {
            stderr_line!(
                "warning: `--approve {name}` approved nothing: no approval of that step was \
                 asked for (it has no approval gate and its actions need no approval here, or \
                 none is planned: no item, blocked, or past a limit), or it waits on another \
                 approval first (grant that one too)"
            );
        }
    }
    // A rejection that rejects nothing: the step's actions needed no approval (no gate, no
    // SOP rule, a mode that lets them run), or waited on another approval first.
    for (name, rejected) in refusals.rejected.iter().zip(rejected_something) {
        if !rejected && !runs.is_empty() {
            stderr_line!(
                "warning: `--reject {name}` rejected nothing: no approval of that step was asked \
                 for (it has no approval gate and its actions need no approval here, or none is \
                 planned: no item, blocked, or past a limit), or it waits on another approval \
                 first (grant that one with `--approve`)"
            );
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// Which `--fail` scripts failed an attempt of an action of plan `p`, as the executor chose
/// them (each attempt by the first script naming the action that fails that attempt), and
/// which name an action that reached the executor.
fn scripts_that_failed(
    scripts: &[riposte_engine::executor::ScriptedFailure],
    p: &riposte_engine::plan::model::Plan,
) -> (Vec<usize>, Vec<usize>) {
    let names = |f: &riposte_engine::executor::ScriptedFailure,
                 a: &riposte_engine::plan::model::PlannedAction| {
        f.step
            .as_deref()
            .is_none_or(|s| riposte_engine::scheduler::names_step_of(s, &a.gamebook, &a.step))
            && f.target.as_deref().is_none_or(|t| {
                riposte_engine::testing::expect::target_matches(t, a.target.as_ref(), a.action)
            })
    };
    let (mut failed, mut reached) = (Vec::new(), Vec::new());
    for a in &p.actions {
        // Retries are at most 10 attempts.
        let attempts = a.execution.as_ref().map_or(0, |e| e.attempts);
        if attempts > 0 {
            reached.extend((0..scripts.len()).filter(|&i| names(&scripts[i], a)));
        }
        for attempt in 1..=attempts {
            let first = scripts
                .iter()
                .position(|f| names(f, a) && f.attempts.is_none_or(|n| attempt <= n));
            failed.extend(first);
        }
    }
    (failed, reached)
}

/// `--fail` text split at a trailing `@N` (digits only, so a target's `@`, as in a user
/// principal name, is left alone): what it names, and how many first attempts fail.
fn fail_attempts(f: &str) -> Result<(&str, Option<u32>), String> {
    let Some((named, n)) = f
        .rsplit_once('@')
        .filter(|(_, n)| !n.trim().is_empty() && n.trim().bytes().all(|b| b.is_ascii_digit()))
    else {
        return Ok((f, None));
    };
    match n.trim().parse::<u32>() {
        Ok(n) if n > 0 => Ok((named, Some(n))),
        Ok(_) => Err(format!(
            "`--fail {f}`: `@0` fails nothing; give the number of attempts that fail (1 or \
             more), or leave `@N` out to fail every attempt"
        )),
        Err(_) => Err(format!(
            "`--fail {f}`: `@{}` is more attempts than any step makes (at most 10); leave `@N` \
             out to fail every attempt",
            n.trim()
        )),
    }
}

/// `--now`, when given: the time `now()` returns, in milliseconds.
fn now_option(now: Option<&str>) -> Result<Option<i64>, String> {
    now.map(|t| {
        // Without an offset, UTC: as incident times are read.
        riposte_dsl::value::parse_time(t)
            .or_else(|| riposte_dsl::value::parse_time(&format!("{t}Z")))
            .ok_or_else(|| {
                if riposte_dsl::value::time_out_of_range(t) {
                    format!(
                        "`--now {t}` is past 9999-12-31T23:59:59.999Z or before \
                         0000-01-01T00:00:00Z once in UTC, the times RFC 3339 writes"
                    )
                } else {
                    format!("`--now {t}` is not an RFC 3339 time such as 2026-01-31T12:00:00Z")
                }
            })
    })
    .transpose()
}

/// The most of one `incident` record `eval` prints, in bytes of JSON.
const MAX_EVAL_RECORD_BYTES: usize = 64 << 20;

/// Writes to `inner` up to `left` bytes (cut at a character boundary), then fails, setting
/// `cut`.
struct CappedWriter<'w, W: Write> {
    inner: &'w mut W,
    left: usize,
    cut: bool,
}

impl<W: Write> Write for CappedWriter<'_, W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        if buf.len() <= self.left {
            self.inner.write_all(buf)?;
            self.left -= buf.len();
            return Ok(buf.len());
        }
        // Back to the start of a character: a continuation byte is `10xxxxxx`.
        let mut end = self.left;
        while end > 0 && buf.get(end).is_some_and(|b| b & 0xC0 == 0x80) {
            end -= 1;
        }
        self.inner.write_all(buf.get(..end).unwrap_or_default())?;
        self.left = 0;
        self.cut = true;
        Err(std::io::Error::other("cut"))
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.inner.flush()
    }
}

/// `riposte eval`: what an expression gives for an incident, or the `incident` record whole.
/// The most of one value `eval` prints, in bytes of JSON.
const MAX_EVAL_JSON_BYTES: usize = 1 << 20;

fn eval(args: EvalArgs) -> Result<ExitCode, String> {
    use riposte_dsl::expr::{compile, Env, ExprSource, Scope};
    use riposte_dsl::types::Type;

    let (info, incidents) =
        riposte_engine::incident::read_incidents(&args.incident, &args.import.limits())
            .map_err(|e| e.to_string())?;
    warn_of_missing_incident_data(&args.incident, info, &incidents);
    let now = now_option(args.now.as_deref())?;
    // Each expression is checked as a condition's would be, and shown against its own text.
    let scope = Scope::new().with("incident", Type::Record(riposte_dsl::model::incident()));
    let mut sources = SourceMap::new();
    let mut compiled = Vec::new();
    let mut errors = false;
    for (n, text) in args.exprs.iter().enumerate() {
        // Named by their place when there are several, so an error says which one.
        let name = if args.exprs.len() > 1 {
            format!("expression {}", n + 1)
        } else {
            "expression".to_string()
        };
        let file = sources.add(riposte_dsl::SourceFile::new(name, text.as_str()));
        let src = ExprSource {
            text,
            file,
            offset: 0,
        };
        match compile(src, &scope, None) {
            Ok(e) => compiled.push((text.as_str(), e)),
            Err(diags) => {
                errors = true;
                let color = colored(&std::io::stderr());
                for d in &diags {
                    stderr_text!("{}", render::text(d, &sources, color));
                }
            }
        }
    }
    // The others are still shown: one mistyped expression hides nothing of the rest.
    if errors && compiled.is_empty() {
        return Ok(ExitCode::from(1));
    }
    // Written value by value: each expression's value can be a megabyte, and a file can hold a
    // hundred thousand incidents.
    let mut out = ReaderMayLeave {
        inner: std::io::BufWriter::new(std::io::stdout().lock()),
        gone: false,
    };
    let write = |out: &mut ReaderMayLeave<_>, text: &str| {
        out.write_all(text.as_bytes())
            .map_err(|e| format!("cannot write the output: {e}"))
    };
    if incidents.is_empty() {
        stderr_line!(
            "`{}` holds no incidents: nothing to evaluate",
            riposte_engine::incident::shown_path(&args.incident)
        );
    }
    // The records of a file of several incidents (or none) are a JSON list, as their plans are.
    let records_listed = args.exprs.is_empty() && incidents.len() != 1;
    if records_listed {
        write(&mut out, "[")?;
    }
    for (n, incident) in incidents.iter().enumerate() {
        let record = incident.to_value();
        if records_listed {
            write(&mut out, if n == 0 { "\n" } else { ",\n" })?;
        } else if incidents.len() > 1 {
            write(
                &mut out,
                &format!(
                    "incident {}\n",
                    riposte_engine::plan::text::printable(&incident.id)
                ),
            )?;
        }
        if args.exprs.is_empty() {
            // Written as it is walked, up to a limit: an entity is written in full wherever
            // the record holds it (in each of its alerts), so a 35 MB file whose entities are
            // each in a thousand alerts makes tens of gigabytes of JSON.
            let mut capped = CappedWriter {
                inner: &mut out,
                left: MAX_EVAL_RECORD_BYTES,
                cut: false,
            };
            let written = serde_json::to_writer_pretty(&mut capped, &record);
            if capped.cut {
                write(
                    &mut out,
                    &format!(
                        " … (cut at {} MiB: print parts of the record with expressions, e.g. \
                         `incident.alerts[0]`)\n",
                        MAX_EVAL_RECORD_BYTES >> 20
                    ),
                )?;
            } else {
                written.map_err(|e| format!("cannot write the output: {e}"))?;
                if !records_listed {
                    write(&mut out, "\n")?;
                }
            }
            continue;
        }
        let vars = [record];
        let env = Env {
            vars: &vars,
            now_ms: now.unwrap_or_else(|| riposte_engine::plan::default_now(incident)),
        };
        for (text, e) in &compiled {
            // Written out up to a limit: a value a short expression builds can be an exabyte
            // of JSON (a list of copies of copies of one text).
            let mut json = String::new();
            // In a run of its own, which says whether the evaluation ran out of work: its
            // `null` is then no answer, and looks like one.
            let (value, exhausted) =
                riposte_dsl::expr::with_run_budget(riposte_dsl::expr::MAX_LAMBDA_CALLS, || {
                    e.eval(&env)
                });
            if exhausted {
                stderr_line!(
                    "note: `{}` ran out of its work (10,000,000 units) on incident `{}`: what \
                     ran out gave `null`, so the value below is no answer",
                    riposte_engine::plan::text::printable(&riposte_dsl::diagnostic::clip(text, 80)),
                    riposte_engine::plan::text::printable(&incident.id)
                );
            }
            let cut = value
                .write_json(&mut riposte_dsl::value::BoundedText {
                    out: &mut json,
                    max: MAX_EVAL_JSON_BYTES,
                })
                .is_err();
            if cut {
                json.push_str(&format!(" … (cut at {} MiB)", MAX_EVAL_JSON_BYTES >> 20));
            }
            write(
                &mut out,
                &format!(
                    "{} => {}\n",
                    riposte_engine::plan::text::printable(text),
                    riposte_engine::plan::text::printable(&json)
                ),
            )?;
        }
    }
    if records_listed {
        write(&mut out, if incidents.is_empty() { "]\n" } else { "\n]\n" })?;
    }
    out.flush()
        .map_err(|e| format!("cannot write the output: {e}"))?;
    Ok(if errors {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}

fn test(args: TestArgs) -> Result<ExitCode, String> {
    use riposte_engine::testing;

    // Some of the tests (files named, or a filter) measure the gamebooks they reach only; a
    // coverage gate measures the whole library, or tests kept apart from it would pass the
    // gate for every gamebook they leave untested.
    let partial = (!args.paths.is_empty() || args.filter.is_some()) && args.min_coverage.is_none();
    let paths = if args.paths.is_empty() {
        default_library()
    } else {
        args.paths
    };
    if paths.is_empty() {
        return Err(no_default_library(
            "no tests",
            "pass test files or directories",
        ));
    }
    let limits = testing::Limits {
        import: args.import.limits(),
        ..testing::Limits::default()
    };
    let files = testing::discover(&paths, &limits).map_err(|e| e.to_string())?;
    let lib_paths = if args.library.is_empty() {
        default_library()
    } else {
        args.library.clone()
    };
    if lib_paths.is_empty() {
        return Err(no_default_library("no library", "pass `--library DIR`"));
    }
    let (sources, compilation) = load(lib_paths, &args.library)?;
    if compilation.has_errors() {
        let color = colored(&std::io::stderr());
        for d in compilation.diagnostics.iter().filter(|d| d.is_error()) {
            stderr_text!("{}", render::text(d, &sources, color));
        }
        stderr_line!("the library has errors; fix them (see `riposte check`) before testing");
        // A tool reading the JSON report still reads a document, which says why no test ran.
        if let ListFormat::Json = args.format {
            let errors: Vec<_> = compilation
                .diagnostics
                .iter()
                .filter(|d| d.is_error())
                .map(|d| render::json_diagnostic(d, &sources))
                .collect();
            print_json(&serde_json::json!({
                "format": testing::REPORT_FORMAT,
                "library_errors": errors,
            }))?;
        }
        return Ok(ExitCode::from(1));
    }
    let mut report = testing::run(
        &sources,
        &compilation.library,
        &files,
        &limits,
        args.filter.as_deref(),
    )
    .map_err(|e| e.to_string())?;
    if partial {
        report.coverage = std::mem::take(&mut report.coverage).reached();
    }
    // A filter that selects nothing is a typo more likely than a passing run.
    if let (Some(filter), true) = (&args.filter, report.tests.is_empty()) {
        return Err(format!(
            "no test name holds `{filter}` ({} in all); `--filter` selects tests by a part of \
             their `name`",
            plural(report.filtered_out, "test")
        ));
    }
    match args.format {
        ListFormat::Json => {
            print_json(&report.to_json(args.min_coverage))?;
            if let Some(verdict) = testing::text::coverage_verdict(&report, args.min_coverage) {
                stderr_line!("{verdict}");
            }
            stderr_line!("{} passed, {} failed", report.passed(), report.failed());
        }
        ListFormat::Text => {
            let color = colored(&std::io::stdout());
            emit(&testing::text::render(&report, args.min_coverage, color))?;
        }
    }
    Ok(
        if report.failed() > 0 || !report.coverage_ok(args.min_coverage) {
            ExitCode::from(1)
        } else {
            ExitCode::SUCCESS
        },
    )
}

/// A count that must be at least 1, such as `--max-fanout`: 0 would block every action.
fn at_least_one(s: &str) -> Result<usize, String> {
    match s.parse::<usize>() {
        Ok(0) => Err("must be at least 1".into()),
        Ok(n) => Ok(n),
        Err(e) if *e.kind() == std::num::IntErrorKind::PosOverflow => {
            Err(format!("`{s}` is too large for a count"))
        }
        Err(_) => Err(format!("`{s}` is not a whole number")),
    }
}

/// `--max-fanout`: from 1 to [`RunConfig::FANOUT_CEILING`].
fn fanout_limit(s: &str) -> Result<usize, String> {
    at_most(s, riposte_engine::scheduler::RunConfig::FANOUT_CEILING)
}

/// `--max-plan-actions`: from 1 to [`RunConfig::ACTIONS_CEILING`].
fn plan_actions_limit(s: &str) -> Result<usize, String> {
    at_most(s, riposte_engine::scheduler::RunConfig::ACTIONS_CEILING)
}

fn at_most(s: &str, ceiling: usize) -> Result<usize, String> {
    match at_least_one(s)? {
        n if n > ceiling => Err(format!(
            "must be at most {ceiling}: a larger plan would take gigabytes"
        )),
        n => Ok(n),
    }
}

/// `--min-coverage`: a percentage from 0 to 100.
fn parse_percent(s: &str) -> Result<f64, String> {
    let v: f64 = s
        .trim_end_matches('%')
        .parse()
        .map_err(|_| format!("`{s}` is not a number; give a percentage such as 90"))?;
    if (0.0..=100.0).contains(&v) {
        Ok(v)
    } else {
        Err(format!("`{s}` is not between 0 and 100"))
    }
}

fn actions(format: ActionsFormat) -> Result<ExitCode, String> {
    match format {
        ActionsFormat::Json => print_json(&riposte_dsl::catalog::to_json())?,
        ActionsFormat::Text => emit(&riposte_dsl::catalog::to_text())?,
        ActionsFormat::Markdown => emit(&riposte_dsl::catalog::to_markdown())?,
    }
    Ok(ExitCode::SUCCESS)
}

/// Whether to color what goes to `stream`: on a terminal, unless `NO_COLOR` is set to
/// anything but the empty string (no-color.org).
fn colored(stream: &impl IsTerminal) -> bool {
    stream.is_terminal() && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
}

/// The errors of a workspaces file, each on its own `error:` line (the first one's is
/// written with the message).
fn workspaces_error(e: riposte_engine::workspace::WorkspaceError) -> String {
    use riposte_engine::workspace::WorkspaceError;
    if let WorkspaceError::Io { path, source } = &e {
        let it = unreadable("workspaces file", "--workspaces", path.as_ref(), source);
        return if source.kind() == std::io::ErrorKind::NotFound {
            format!("{it}, or leave out `--workspaces` for the built-in demo workspace")
        } else {
            it
        };
    }
    let lines: Vec<String> = e.into_each().iter().map(ToString::to_string).collect();
    lines.join("\nerror: ")
}

/// Agents' unknown SOPs, each on its own `error:` line at its line and column in the
/// workspaces `file` they were read from.
fn unknown_sops_error(
    file: Option<&std::path::Path>,
    unknown: Vec<riposte_engine::workspace::UnknownSop>,
) -> String {
    match file {
        Some(f) => workspaces_error(riposte_engine::workspace::locate_unknown_sops(unknown, f)),
        None => unknown
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join("\nerror: "),
    }
}

fn print_json<T: serde::Serialize>(value: &T) -> Result<(), String> {
    let mut text =
        serde_json::to_string_pretty(value).map_err(|e| format!("cannot serialize output: {e}"))?;
    text.push('\n');
    emit(&text)
}

/// Writes the output. A reader that stops early (`| head`) is no error: the command still
/// exits with its own status. Any other failure (a full disk) is.
fn emit(text: &str) -> Result<(), String> {
    let mut out = std::io::stdout().lock();
    match out.write_all(text.as_bytes()).and_then(|()| out.flush()) {
        Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => {
            Err(format!("cannot write the output: {e}"))
        }
        _ => Ok(()),
    }
}

/// Compiles a library read by `riposte-engine`; its errors are printed (exit 1), then that
/// `which` has errors and `advice`.
fn compile_library(
    loaded: riposte_engine::Loaded,
    which: &str,
    advice: &str,
) -> Result<riposte_dsl::checked::Library, ExitCode> {
    let compilation = compile(&loaded.sources, &Limits::default(), loaded.diagnostics);
    if compilation.has_errors() {
        let color = colored(&std::io::stderr());
        for d in compilation.diagnostics.iter().filter(|d| d.is_error()) {
            stderr_text!("{}", render::text(d, &loaded.sources, color));
        }
        stderr_line!("{which} has errors; {advice}");
        return Err(ExitCode::from(1));
    }
    Ok(compilation.library)
}

/// The error for library paths that exist neither in the working tree nor at the base
/// revision: most likely misspelled.
fn library_nowhere(paths: &[PathBuf], rev: &str, library_given: bool) -> String {
    let (what, exist, its) = if paths.len() == 1 {
        ("library path", "exists", "its")
    } else {
        ("library paths", "exist", "their")
    };
    let default = if library_given {
        " (the default library is `--library gamebooks --library sops`)"
    } else {
        ""
    };
    format!(
        "{what} {} {exist} neither in the working tree nor at `{rev}`; check {its} \
         spelling{default}",
        riposte_engine::load::quoted_paths(paths)
    )
}

/// Whether `library` holds a response SOP: gamebooks run only through one.
fn has_response_sop(library: &riposte_dsl::checked::Library) -> bool {
    library
        .sops
        .iter()
        .any(|s| matches!(s.body, riposte_dsl::checked::SopBody::Response(_)))
}

/// Warns, once, about the backtested libraries that hold no response SOP, each named with the
/// paths read: no incident can get an action from one, which a backtest would report as nothing
/// to do rather than as a mistake. Both sides are named in one warning, which is then the same
/// slip.
fn warn_without_response_sops(sides: &[(String, Vec<PathBuf>)], library_given: bool) {
    // The usual slip: one `--library` given, forgetting that it replaces both defaults.
    let hint = if library_given {
        "; `--library` replaces the default library: to read both of its paths, give \
         `--library gamebooks --library sops`"
    } else {
        ""
    };
    let quoted = riposte_engine::load::quoted_paths;
    match sides {
        [] => {}
        [(which, paths)] => stderr_line!(
            "warning: {which} ({}) has no response SOP, so nothing can be planned from it{hint}",
            quoted(paths)
        ),
        [(first, first_paths), (second, second_paths), ..] if first_paths == second_paths => {
            stderr_line!(
                "warning: neither {first} nor {second} ({}) has a response SOP, so nothing can \
                 be planned from either{hint}",
                quoted(first_paths)
            )
        }
        [(first, first_paths), (second, second_paths), ..] => stderr_line!(
            "warning: neither {first} ({}) nor {second} ({}) has a response SOP, so nothing \
             can be planned from either{hint}",
            quoted(first_paths),
            quoted(second_paths)
        ),
    }
}

/// Most corpus errors held back until an incident is read (a few hundred bytes each): past
/// them, the report is begun.
const MAX_HELD_ERRORS: usize = 1_000;

/// A backtest sink that keeps a progress bar (on a terminal) out of the report's way, and holds
/// back the errors met before any incident is read: a corpus of which no incident can be read
/// is no backtest, and gets no report (its errors go to stderr, above the message that says
/// so).
struct WithProgress<S> {
    inner: S,
    bar: Option<indicatif::ProgressBar>,
    /// Whether output shares the terminal with the bar, which must then step aside for it.
    suspend: bool,
    /// The errors held back while `holding`.
    held: Vec<riposte_engine::backtest::CorpusError>,
    /// Whether no incident has been read yet (and at most [`MAX_HELD_ERRORS`] errors met).
    holding: bool,
}

impl<S: riposte_engine::backtest::Sink> WithProgress<S> {
    fn inner_error(
        &mut self,
        error: &riposte_engine::backtest::CorpusError,
    ) -> std::io::Result<()> {
        let inner = &mut self.inner;
        match &self.bar {
            Some(bar) => bar.suspend(|| inner.error(error)),
            None => inner.error(error),
        }
    }

    /// Begins the report: hands the errors held back to the inner sink.
    fn release(&mut self) -> std::io::Result<()> {
        self.holding = false;
        for error in std::mem::take(&mut self.held) {
            self.inner_error(&error)?;
        }
        Ok(())
    }
}

impl<S: riposte_engine::backtest::Sink> riposte_engine::backtest::Sink for WithProgress<S> {
    fn incident(&mut self, diff: &riposte_engine::backtest::IncidentDiff) -> std::io::Result<()> {
        self.release()?;
        let inner = &mut self.inner;
        match &self.bar {
            Some(bar) if self.suspend => bar.suspend(|| inner.incident(diff)),
            _ => inner.incident(diff),
        }
    }

    fn error(&mut self, error: &riposte_engine::backtest::CorpusError) -> std::io::Result<()> {
        if self.holding && self.held.len() < MAX_HELD_ERRORS {
            self.held.push(error.clone());
            return Ok(());
        }
        self.release()?;
        self.inner_error(error)
    }

    fn progress(&mut self, p: &riposte_engine::backtest::Progress) {
        // The errors held are released with the next result, or at the end.
        if p.incidents > 0 {
            self.holding = false;
        }
        if let Some(bar) = &self.bar {
            // The message first: a redraw between the two shows both of the same moment.
            bar.set_message(format!("{} incidents", p.incidents));
            bar.set_position(p.bytes);
        }
    }
}

/// A progress bar on stderr when it is a terminal.
fn progress_bar(len: u64, template: &str) -> Option<indicatif::ProgressBar> {
    if !std::io::stderr().is_terminal() {
        return None;
    }
    let bar = indicatif::ProgressBar::new(len);
    if let Ok(style) = indicatif::ProgressStyle::with_template(template) {
        // Nothing done yet tells no time left: `?` rather than indicatif's `0s`.
        bar.set_style(style.with_key(
            "eta",
            |state: &indicatif::ProgressState, w: &mut dyn std::fmt::Write| {
                let _ = if state.pos() == 0 {
                    w.write_str("?")
                } else {
                    write!(w, "{:#}", indicatif::HumanDuration(state.eta()))
                };
            },
        ));
    }
    Some(bar)
}

fn backtest(args: BacktestArgs) -> Result<ExitCode, String> {
    use riposte_engine::backtest::render::{JsonReport, TextReport};
    use riposte_engine::backtest::{git, list_corpus, Backtest};

    // `--library` replaces the default paths, which the messages then recall.
    let library_given = !args.library.is_empty();
    let paths = if library_given {
        args.library
    } else {
        default_library()
    };
    if paths.is_empty() {
        return Err(no_default_library("no library", "pass `--library DIR`"));
    }
    // Without a base nothing is compared, so nothing can change: a gate that can never fail.
    if args.base.is_none() && args.fail_on.contains(&FailOn::Changes) {
        return Err(
            "`--fail-on changes` needs `--base GIT_REV`: without a base, the plans are not \
             compared, so nothing can change"
                .into(),
        );
    }
    let workspaces = match &args.workspaces {
        Some(path) => {
            Some(riposte_engine::workspace::read_workspaces(path).map_err(workspaces_error)?)
        }
        None => None,
    };
    let listing = list_corpus(&args.corpus).map_err(|e| corpus_error(&args.corpus, e))?;
    let limits = Limits::default();
    // Against a base, a library path missing on one side holds nothing there: what adding or
    // deleting it changes is the backtest's to show. Missing on both sides, or without a base,
    // it is a mistake.
    let (in_tree, at_base) = match &args.base {
        Some(rev) => {
            let at =
                git::library_at(rev, &paths, limits.max_file_bytes).map_err(|e| e.to_string())?;
            let (in_tree, not_in_tree): (Vec<PathBuf>, Vec<PathBuf>) = paths
                .iter()
                .cloned()
                .partition(|p| std::fs::symlink_metadata(p).is_ok());
            let nowhere: Vec<PathBuf> = not_in_tree
                .iter()
                .filter(|p| at.missing.contains(p))
                .cloned()
                .collect();
            if !nowhere.is_empty() {
                return Err(library_nowhere(&nowhere, rev, library_given));
            }
            // Before the notes: a run that stops says only why.
            if at.loaded.sources.is_empty() {
                return Err(git::GitError::Empty {
                    rev: rev.clone(),
                    paths: riposte_engine::load::quoted_paths(&paths),
                }
                .to_string());
            }
            for p in &not_in_tree {
                stderr_line!(
                    "note: library path `{}` does not exist in the working tree; it holds \
                     nothing there, as if deleted since `{rev}`",
                    p.display()
                );
            }
            for p in &at.missing {
                stderr_line!(
                    "note: library path `{}` does not exist at `{rev}`; it holds nothing there, \
                     as if added since (files moved there since are not part of the library at \
                     `{rev}`)",
                    p.display()
                );
            }
            (in_tree, Some((rev, at)))
        }
        None => (paths.clone(), None),
    };
    if in_tree.is_empty() {
        return Err(format!(
            "none of the library paths exists in the working tree ({}); check `--library`",
            riposte_engine::load::quoted_paths(&paths)
        ));
    }
    let given = if library_given { &paths[..] } else { &[] };
    let loaded = riposte_engine::load_library(&in_tree, limits.max_file_bytes)
        .map_err(|e| library_error(e, given))?;
    note_linked_dirs(&loaded);
    let head = match compile_library(
        loaded,
        "the library",
        "fix them (see `riposte check`) before backtesting",
    ) {
        Ok(l) => l,
        Err(code) => return Ok(code),
    };
    // The sides without a response SOP, warned about together once both are known.
    let mut without_response = Vec::new();
    if !has_response_sop(&head) {
        without_response.push(("the working-tree library".to_string(), in_tree));
    }
    let (base, base_commit) = match at_base {
        // A commit's library cannot be fixed where it is, nor does `riposte check` read it.
        Some((rev, at)) => match compile_library(
            at.loaded,
            &format!("the library at `{rev}`"),
            "a commit cannot be fixed in place: choose another `--base`, such as a later commit \
             where they are fixed",
        ) {
            Ok(l) => {
                if !has_response_sop(&l) {
                    let read: Vec<PathBuf> = paths
                        .iter()
                        .filter(|p| !at.missing.contains(p))
                        .cloned()
                        .collect();
                    without_response.push((format!("the library at `{rev}`"), read));
                }
                (Some(l), Some(at.commit))
            }
            Err(code) => {
                warn_without_response_sops(&without_response, library_given);
                return Ok(code);
            }
        },
        None => (None, None),
    };
    warn_without_response_sops(&without_response, library_given);
    let all_sops = || head.sops.iter().chain(base.iter().flat_map(|b| &b.sops));
    let workspaces = workspaces
        .unwrap_or_else(|| vec![riposte_engine::workspace::Workspace::demo_for(all_sops())]);
    let sop_names = all_sops().map(|s| &*s.name);
    riposte_engine::workspace::check_sops(&workspaces, sop_names)
        .map_err(|e| unknown_sops_error(args.workspaces.as_deref(), e))?;
    // The libraries and the base are checked first: their errors matter more.
    if listing.files.is_empty() && listing.errors.is_empty() {
        // Nothing to report: say so before anything is printed that could pass for a report.
        return Err(no_incidents(&args.corpus, 0, 0));
    }
    let run = Backtest {
        head: &head,
        base: base.as_ref(),
        workspaces: &workspaces,
        workspace: args.workspace.as_deref(),
        limits: args.import.limits(),
        max_fanout: args.plan.max_fanout,
        max_plan_actions: args.plan.max_plan_actions,
        jobs: args.jobs,
    };
    let bar = progress_bar(
        listing.bytes(),
        "{bar:40} {percent:>3}% {msg} · {elapsed} (eta {eta})",
    );
    if let Some(bar) = &bar {
        bar.set_message("0 incidents");
    }
    // Unbuffered lines when a progress bar shares the terminal; buffered otherwise.
    let suspend = bar.is_some() && std::io::stdout().is_terminal();
    let out: Box<dyn Write> = if suspend {
        Box::new(std::io::stdout().lock())
    } else {
        Box::new(std::io::BufWriter::new(std::io::stdout().lock()))
    };
    // With `--fail-on`, the exit status is the answer: a reader that stops reading (`| head`)
    // must not end the run before it is known.
    let out: Box<dyn Write> = if args.fail_on.is_empty() {
        out
    } else {
        Box::new(ReaderMayLeave {
            inner: out,
            gone: false,
        })
    };
    let base_rev = args.base.as_deref();
    // The revision as given, and the commit it named (names move; commits do not).
    let base_label = base_rev
        .zip(base_commit.as_deref())
        .map(|(rev, commit)| format!("{rev} = {}", commit.get(..12).unwrap_or(commit)));
    let (report, finished) = match args.format {
        ListFormat::Text => {
            let sink = TextReport::new(out, base_label.as_deref());
            match run_with_progress(&run, &listing, sink, bar, suspend, TextReport::finish) {
                Ok(done) => done,
                Err(e) => return reader_gone(e),
            }
        }
        ListFormat::Json => {
            let sink = JsonReport::new(out, base_rev).with_commit(base_commit.as_deref());
            match run_with_progress(&run, &listing, sink, bar, suspend, JsonReport::finish) {
                Ok(done) => done,
                Err(e) => return reader_gone(e),
            }
        }
    };
    match finished {
        Written::Report(Err(e)) if e.kind() != std::io::ErrorKind::BrokenPipe => {
            return Err(format!("cannot write the report: {e}"))
        }
        Written::Report(_) => {}
        Written::Withheld(errors) => {
            // Each as the text report shows it.
            let mut errors_out = TextReport::new(std::io::stderr().lock(), None);
            for e in &errors {
                let _ = riposte_engine::backtest::Sink::error(&mut errors_out, e);
            }
        }
    }
    if let Some(d) = &report.first_duplicate {
        stderr_line!(
            "warning: {} of the corpus {} an incident read before (the same source and id; the \
             first, `{}`, at {} and again at {}): each copy is planned and counted in the totals",
            plural(report.duplicates, "incident"),
            if report.duplicates == 1 {
                "repeats"
            } else {
                "repeat"
            },
            riposte_engine::plan::text::printable(&d.id),
            riposte_engine::plan::text::printable(&d.first),
            riposte_engine::plan::text::printable(&d.again),
        );
    }
    let sentinel = report.sentinel_without_alerts;
    let graph = report.without_alerts.saturating_sub(sentinel);
    for (format, count) in [
        (riposte_engine::incident::Format::Graph, graph),
        (riposte_engine::incident::Format::Sentinel, sentinel),
    ] {
        if count > 0 {
            stderr_line!("warning: {}", without_alerts_message(format, count, &[]));
        }
    }
    // A backtest that planned nothing checked nothing: never let it pass for a clean one.
    if report.incidents == 0 {
        let read = report.files + listing.errors.len() as u64;
        return Err(no_incidents(
            &args.corpus,
            read.saturating_sub(report.file_errors),
            report.errors(),
        ));
    }
    let failed = args.fail_on.iter().any(|f| match f {
        FailOn::Changes => report.changed > 0,
        FailOn::Errors => report.errors() > 0,
    });
    Ok(if failed {
        ExitCode::from(3)
    } else {
        ExitCode::SUCCESS
    })
}

/// Output that a reader may stop reading: past a broken pipe, what is written is dropped.
struct ReaderMayLeave<W: Write> {
    inner: W,
    gone: bool,
}

impl<W: Write> ReaderMayLeave<W> {
    /// `r`, unless the reader left: then `nothing`, and from now on nothing is written.
    fn unless_left<T>(&mut self, r: std::io::Result<T>, nothing: T) -> std::io::Result<T> {
        match r {
            Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => {
                self.gone = true;
                Ok(nothing)
            }
            r => r,
        }
    }
}

impl<W: Write> Write for ReaderMayLeave<W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        if self.gone {
            return Ok(buf.len());
        }
        let r = self.inner.write(buf);
        self.unless_left(r, buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        if self.gone {
            return Ok(());
        }
        let r = self.inner.flush();
        self.unless_left(r, ())
    }
}

/// What became of a backtest's report.
enum Written {
    /// It was written (or failed to be).
    Report(std::io::Result<()>),
    /// No incident was read: no report was written; the errors met, to show instead.
    Withheld(Vec<riposte_engine::backtest::CorpusError>),
}

/// Runs a backtest into `sink` with the progress bar, then has the sink write its end, unless
/// no incident was read.
fn run_with_progress<S: riposte_engine::backtest::Sink, W>(
    run: &riposte_engine::backtest::Backtest,
    listing: &riposte_engine::backtest::Listing,
    sink: S,
    bar: Option<indicatif::ProgressBar>,
    suspend: bool,
    finish: impl FnOnce(S, &riposte_engine::backtest::Report) -> std::io::Result<W>,
) -> Result<(riposte_engine::backtest::Report, Written), riposte_engine::backtest::BacktestError> {
    let mut sink = WithProgress {
        inner: sink,
        bar,
        suspend,
        held: Vec::new(),
        holding: true,
    };
    let report = run.run(listing, &mut sink)?;
    if let Some(bar) = &sink.bar {
        bar.finish_and_clear();
    }
    // Past the errors it could hold, the report was begun: it is ended as any other.
    if report.incidents == 0 && sink.holding {
        return Ok((report, Written::Withheld(sink.held)));
    }
    let finished = sink
        .release()
        .and_then(|()| finish(sink.inner, &report).map(drop));
    Ok((report, Written::Report(finished)))
}

/// A backtest that could not finish: a reader that stopped reading (`| head`) is not an error.
fn reader_gone(e: riposte_engine::backtest::BacktestError) -> Result<ExitCode, String> {
    match e {
        riposte_engine::backtest::BacktestError::Output(io)
            if io.kind() == std::io::ErrorKind::BrokenPipe =>
        {
            Ok(ExitCode::SUCCESS)
        }
        e => Err(e.to_string()),
    }
}

/// The error of a corpus (`--corpus`) that cannot be listed.
fn corpus_error(corpus: &std::path::Path, e: riposte_engine::backtest::BacktestError) -> String {
    use riposte_engine::backtest::BacktestError;
    match e {
        BacktestError::Io { source, .. } => {
            let it = unreadable("corpus", "--corpus", corpus, &source);
            if source.kind() == std::io::ErrorKind::NotFound {
                format!("{it} (a corpus is a directory of incident files, `*.json`)")
            } else {
                it
            }
        }
        BacktestError::NotADirectory(_) if corpus.is_file() => format!(
            "`--corpus` takes a directory of incident files, and `{0}` is a file; to plan the \
             incidents of one file, run `riposte simulate --incident {0}`",
            corpus.display()
        ),
        BacktestError::NotADirectory(_) => format!(
            "`--corpus` takes a directory of incident files, and `{}` is none",
            corpus.display()
        ),
        e => e.to_string(),
    }
}

/// The error of a corpus of which no incident was read: `read` files of it were read (without
/// an error of the whole file), and `errors` errors met.
fn no_incidents(corpus: &std::path::Path, read: u64, errors: u64) -> String {
    let corpus = corpus.display();
    match (read, errors) {
        (0, 0) => format!(
            "no incidents in the corpus `{corpus}`: it holds no incident files; a corpus is a \
             directory of incident files (`*.json`, in any of its subdirectories)"
        ),
        (0, _) => {
            format!("every file of the corpus `{corpus}` failed to read (see the errors above)")
        }
        (_, 0) => format!(
            "no incidents in the corpus `{corpus}`: {} read, none holding an incident",
            plural(read, "file")
        ),
        _ => format!(
            "no incident of the corpus `{corpus}` could be read ({} read, {}; see the errors \
             above)",
            plural(read, "file"),
            plural(errors, "error")
        ),
    }
}

fn corpus(command: CorpusCommand) -> Result<ExitCode, String> {
    use riposte_engine::backtest::generate::{read_templates, Generator};
    use std::sync::atomic::{AtomicU64, Ordering};

    let CorpusCommand::Generate(args) = command;
    let templates = read_templates(&args.from, &args.import.limits()).map_err(|e| e.to_string())?;
    let generator = Generator::new(&templates, args.seed);
    let bar = progress_bar(
        args.count,
        "{bar:40} {pos}/{len} incidents · {elapsed} (eta {eta})",
    );
    let done = AtomicU64::new(0);
    let written = generator
        .write(
            args.count,
            args.per_file,
            args.import.max_file_bytes as u64,
            &args.out,
            args.jobs,
            &|n| {
                let total = done.fetch_add(n, Ordering::Relaxed) + n;
                if let Some(bar) = &bar {
                    bar.set_position(total);
                }
            },
        )
        .map_err(|e| e.to_string())?;
    if let Some(bar) = &bar {
        bar.finish_and_clear();
    }
    // On stderr, as the progress bar: the corpus is the output, and a summary that cannot be
    // written does not make a complete corpus a failed run.
    stderr_line!(
        "wrote {} from {} in {} ({:.1} MiB) to {}",
        plural(written.incidents, "incident"),
        plural(templates.len(), "example"),
        plural(written.files, "file"),
        written.bytes as f64 / (1024.0 * 1024.0),
        args.out.display()
    );
    Ok(ExitCode::SUCCESS)
}
