//! `riposte`: the command line. Arguments and rendering only; the work happens in
//! `riposte-dsl` (compiling) and `riposte-engine` (files, running).

use riposte::render;

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
    /// Print the JSON Schema of gamebook or SOP files (for yaml-language-server).
    Schema {
        #[arg(value_enum, default_value_t = SchemaKind::Gamebook)]
        kind: SchemaKind,
    },
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
