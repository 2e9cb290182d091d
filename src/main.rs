//! `riposte`: the command line. Arguments and rendering only; the work happens in
//! `riposte-dsl` (compiling) and `riposte-engine` (files, running).

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
use riposte_dsl::SourceMap;

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
        #[arg(long, value_enum, default_value_t = CheckFormat::Text)]
        format: CheckFormat,
        /// Treat warnings as errors (exit 1).
        #[arg(long)]
        deny_warnings: bool,
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
        #[arg(long, value_enum, default_value_t = ListFormat::Text)]
        format: ListFormat,
    },
    /// Plan what the engine would do for an incident, without doing it (dry-run).
    Simulate(SimulateArgs),
    /// Print the JSON Schema of gamebook or SOP files (for yaml-language-server).
    Schema {
        #[arg(value_enum, default_value_t = SchemaKind::Gamebook)]
        kind: SchemaKind,
    },
}

#[derive(clap::Args)]
struct SimulateArgs {
    /// An incident file: Graph security incident(s), Sentinel incident(s) or Riposte JSON.
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
    /// Make matching actions fail in the simulation: `STEP`, `STEP:TARGET` (id or name).
    #[arg(long = "fail")]
    fail: Vec<String>,
    /// The time `now()` returns (RFC 3339; default: the incident's last update).
    #[arg(long)]
    now: Option<String>,
    /// Most items one for-each fans out to.
    #[arg(long, default_value_t = 1_000)]
    max_fanout: usize,
    /// Most entities one incident may carry.
    #[arg(long, default_value_t = 5_000)]
    max_entities: usize,
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
enum SchemaKind {
    Gamebook,
    Sop,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Check {
            paths,
            format,
            deny_warnings,
        } => check(paths, format, deny_warnings),
        Command::Graph {
            file,
            format,
            library,
        } => graph(file, format, library),
        Command::Actions { format } => actions(format),
        Command::Simulate(args) => simulate(args),
        Command::Schema { kind } => {
            let schema = match kind {
                SchemaKind::Gamebook => riposte_dsl::schema::gamebook(),
                SchemaKind::Sop => riposte_dsl::schema::sop(),
            };
            print_json(&schema);
            Ok(ExitCode::SUCCESS)
        }
    };
    result.unwrap_or_else(|e| {
        eprintln!("error: {e}");
        ExitCode::from(2)
    })
}

fn default_library() -> Vec<PathBuf> {
    ["gamebooks", "sops"]
        .iter()
        .map(PathBuf::from)
        .filter(|p| p.is_dir())
        .collect()
}

fn load(paths: Vec<PathBuf>) -> Result<(SourceMap, Compilation), String> {
    let limits = Limits::default();
    let loaded =
        riposte_engine::load_library(&paths, limits.max_file_bytes).map_err(|e| e.to_string())?;
    let compilation = compile(&loaded.sources, &limits, loaded.diagnostics);
    Ok((loaded.sources, compilation))
}

fn check(
    paths: Vec<PathBuf>,
    format: CheckFormat,
    deny_warnings: bool,
) -> Result<ExitCode, String> {
    let paths = if paths.is_empty() {
        default_library()
    } else {
        paths
    };
    if paths.is_empty() {
        return Err(
            "nothing to check: no `gamebooks/` or `sops/` here; pass files or directories".into(),
        );
    }
    let (sources, compilation) = load(paths)?;
    let diags = &compilation.diagnostics;
    match format {
        CheckFormat::Text => {
            let color = std::io::stderr().is_terminal();
            let mut err = std::io::stderr().lock();
            for d in diags {
                let _ = write!(err, "{}", render::text(d, &sources, color));
            }
            let errors = diags.iter().filter(|d| d.is_error()).count();
            let warnings = diags.len() - errors;
            let lib = &compilation.library;
            let _ = writeln!(
                err,
                "checked {}: {}, {}; {}, {}",
                plural(sources.len(), "file"),
                plural(lib.gamebooks.len(), "gamebook"),
                plural(lib.sops.len(), "SOP"),
                plural(errors, "error"),
                plural(warnings, "warning"),
            );
        }
        CheckFormat::Json => {
            let list: Vec<_> = diags
                .iter()
                .map(|d| render::json_diagnostic(d, &sources))
                .collect();
            print_json(&list);
        }
        CheckFormat::Sarif => print_json(&render::sarif(diags, &sources)),
    }
    let failed = compilation.has_errors() || (deny_warnings && !diags.is_empty());
    Ok(if failed {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}

fn graph(file: PathBuf, format: GraphFormat, library: Vec<PathBuf>) -> Result<ExitCode, String> {
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
    let (sources, compilation) = load(paths)?;
    let file_id = sources
        .iter()
        .find(|(_, f)| {
            std::path::Path::new(&f.name) == file.as_path() || f.name == file.to_string_lossy()
        })
        .map(|(id, _)| id);
    let gamebook = compilation
        .library
        .gamebooks
        .iter()
        .find(|g| Some(g.file) == file_id)
        .map(|g| g.name.clone());
    let errors: Vec<_> = compilation
        .diagnostics
        .iter()
        .filter(|d| d.is_error())
        .collect();
    if !errors.is_empty() {
        let color = std::io::stderr().is_terminal();
        for d in &errors {
            eprint!("{}", render::text(d, &sources, color));
        }
        return Ok(ExitCode::from(1));
    }
    let Some(name) = gamebook else {
        return Err(format!("`{}` holds no gamebook", file.display()));
    };
    let out = match format {
        GraphFormat::Dot => riposte_dsl::graph::to_dot(&compilation.library, Some(&name)),
        GraphFormat::Mermaid => riposte_dsl::graph::to_mermaid(&compilation.library, Some(&name)),
    };
    print!("{out}");
    Ok(ExitCode::SUCCESS)
}

fn library(paths: Vec<PathBuf>) -> Result<Result<riposte_dsl::checked::Library, ExitCode>, String> {
    let paths = if paths.is_empty() {
        default_library()
    } else {
        paths
    };
    if paths.is_empty() {
        return Err("no library: no `gamebooks/` or `sops/` here; pass `--library DIR`".into());
    }
    let (sources, compilation) = load(paths)?;
    if compilation.has_errors() {
        let color = std::io::stderr().is_terminal();
        for d in compilation.diagnostics.iter().filter(|d| d.is_error()) {
            eprint!("{}", render::text(d, &sources, color));
        }
        eprintln!("the library has errors; fix them (see `riposte check`) before simulating");
        return Ok(Err(ExitCode::from(1)));
    }
    Ok(Ok(compilation.library))
}

fn simulate(args: SimulateArgs) -> Result<ExitCode, String> {
    use riposte_engine::executor::{RecordingExecutor, ScriptedFailure};
    use riposte_engine::scheduler::{Approvals, RunConfig};

    let limits = riposte_engine::incident::ImportLimits {
        max_entities: args.max_entities,
        ..Default::default()
    };
    let (_, incidents) = riposte_engine::incident::read_incidents(&args.incident, &limits)
        .map_err(|e| e.to_string())?;
    let workspaces = match &args.workspaces {
        Some(path) => {
            riposte_engine::workspace::read_workspaces(path).map_err(|e| e.to_string())?
        }
        None => vec![riposte_engine::workspace::Workspace::demo()],
    };
    let library = match library(args.library)? {
        Ok(l) => l,
        Err(code) => return Ok(code),
    };
    let approvals = match args.approve.as_slice() {
        [one] if one == "all" => Approvals::All,
        [one] if one == "none" => Approvals::None,
        steps => Approvals::Steps(steps.to_vec()),
    };
    let executor = RecordingExecutor {
        failures: args
            .fail
            .iter()
            .map(|f| {
                let (step, target) = match f.split_once(':') {
                    Some((s, t)) => (s, Some(t.to_string())),
                    None => (f.as_str(), None),
                };
                ScriptedFailure {
                    step: Some(step.to_string()),
                    target,
                    error: "simulated failure (--fail)".into(),
                    ..Default::default()
                }
            })
            .collect(),
    };
    let now = match &args.now {
        Some(t) => Some(riposte_dsl::value::parse_time(t).ok_or_else(|| {
            format!("`--now {t}` is not an RFC 3339 time such as 2026-01-31T12:00:00Z")
        })?),
        None => None,
    };
    let mut plans = Vec::new();
    for incident in &incidents {
        let ws = riposte_engine::workspace::select(
            &workspaces,
            args.workspace.as_deref(),
            incident.workspace.as_deref(),
        )
        .map_err(|e| e.to_string())?;
        let config = RunConfig {
            approvals: approvals.clone(),
            max_fanout: args.max_fanout,
            now_ms: now.unwrap_or_else(|| riposte_engine::plan::default_now(incident)),
        };
        plans.push(riposte_engine::plan::simulate(
            &library, ws, incident, &config, &executor,
        ));
    }
    match args.format {
        ListFormat::Json if plans.len() == 1 => print_json(&plans[0]),
        ListFormat::Json => print_json(&plans),
        ListFormat::Text => {
            let color = std::io::stdout().is_terminal();
            let texts: Vec<String> = plans
                .iter()
                .map(|p| riposte_engine::plan::text::render(p, color))
                .collect();
            print!("{}", texts.join("\n"));
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn actions(format: ListFormat) -> Result<ExitCode, String> {
    match format {
        ListFormat::Json => print_json(&riposte_dsl::catalog::to_json()),
        ListFormat::Text => print!("{}", riposte_dsl::catalog::to_text()),
    }
    Ok(ExitCode::SUCCESS)
}

fn plural(n: usize, word: &str) -> String {
    if n == 1 {
        format!("1 {word}")
    } else {
        format!("{n} {word}s")
    }
}

fn print_json<T: serde::Serialize>(value: &T) {
    match serde_json::to_string_pretty(value) {
        Ok(s) => println!("{s}"),
        Err(e) => eprintln!("error: cannot serialize output: {e}"),
    }
}
