//! Reading a library as it was at a git revision: `git ls-tree` lists its files, `git show`
//! reads each. Git runs as a subprocess from the repository root; nothing is checked out.

use std::ffi::OsStr;
use std::path::{Component, Path, PathBuf};
use std::process::{Command, Output};

use riposte_dsl::{FileId, SourceFile};

use crate::load::{is_test_file, Loaded, MAX_FILES};

/// Why the library at a revision could not be read.
#[derive(Debug, thiserror::Error)]
pub enum GitError {
    #[error("cannot run `git`: {0}; is git installed and on the PATH?")]
    Spawn(#[source] std::io::Error),
    #[error(
        "`--base` reads the library from git history, but the current directory `{0}` is not \
         inside a git repository; run riposte from inside the repository that holds the \
         library, or leave out `--base` for the totals of the working-tree plans alone"
    )]
    NotARepository(String),
    #[error("cannot read the current directory: {0}")]
    CurrentDir(#[source] std::io::Error),
    #[error("`--base` is empty; give a git revision: a commit, branch or tag (`HEAD~1`, `main`)")]
    EmptyRevision,
    #[error("unknown revision `{rev}`: {message}")]
    UnknownRevision { rev: String, message: String },
    /// The revision names an object of the repository, but no commit: a tree, a file, a tag of
    /// either.
    #[error(
        "revision `{rev}` names {kind}, not a commit; give a commit, branch or tag (`HEAD~1`, \
         `main`)"
    )]
    NotACommit { rev: String, kind: &'static str },
    #[error(
        "library path `{path}` is outside the git repository at `{top}`, whose history \
         `--base` reads; give library paths inside it"
    )]
    OutsideRepository { path: String, top: String },
    #[error("`git {command}` failed: {message}")]
    Failed { command: String, message: String },
    #[error("library file `{path}` at revision `{rev}` has a name that is not UTF-8; rename it")]
    NotUtf8Path { rev: String, path: String },
    #[error("more than {limit} library files at revision `{rev}`")]
    TooManyFiles { rev: String, limit: usize },
    #[error(
        "no library files (`*.yaml`, `*.yml`) at revision `{rev}` under {paths}: the library was \
         not committed there yet, or lived under other paths; choose a later `--base`, one that \
         holds the library"
    )]
    Empty { rev: String, paths: String },
}

/// Runs git in `dir` and returns its output, whatever the exit status.
fn git<I, S>(dir: &Path, args: I) -> Result<Output, GitError>
where
    I: IntoIterator<Item = S>,
    S: AsRef<OsStr>,
{
    Command::new("git")
        .arg("--no-pager")
        .arg("--literal-pathspecs")
        .args(args)
        .current_dir(dir)
        .env("GIT_TERMINAL_PROMPT", "0")
        // Git's messages in English: some are recognized by their words.
        .env("LC_ALL", "C")
        .env("LANGUAGE", "C")
        .stdin(std::process::Stdio::null())
        .output()
        .map_err(GitError::Spawn)
}

/// The first lines of git's complaint, for messages.
fn complaint(out: &Output) -> String {
    let text = String::from_utf8_lossy(&out.stderr);
    let text = text.trim();
    let text = text.strip_prefix("fatal: ").unwrap_or(text);
    let mut short: String = text.lines().take(3).collect::<Vec<_>>().join("; ");
    if short.chars().count() > 300 {
        short = short.chars().take(300).collect::<String>() + "…";
    }
    if short.is_empty() {
        format!("git exited with {}", out.status)
    } else {
        short
    }
}

/// Why git would not name the repository of `cwd`: not in one, or one it refuses to use.
fn not_a_repository(cwd: &Path, out: &Output) -> GitError {
    let text = String::from_utf8_lossy(&out.stderr);
    // "not a git repository (or any of the parent directories)", "(or any parent up to mount
    // point …)"; not "not a git repository: /path/.git", a repository git cannot open.
    if text.contains("not a git repository (or any") {
        return GitError::NotARepository(cwd.display().to_string());
    }
    if !text.contains("dubious ownership") {
        return GitError::Failed {
            command: "rev-parse --show-toplevel".into(),
            message: complaint(out),
        };
    }
    // "detected dubious ownership in repository at '/path'"
    let dir = text
        .split_once(" at '")
        .and_then(|(_, rest)| rest.split_once('\''))
        .map_or("<repository>", |(dir, _)| dir);
    // Quoted for the shell when it needs to be, so that the line can be copied.
    let arg = if dir
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || b"/._-+@:".contains(&b))
    {
        dir.to_string()
    } else {
        format!("'{}'", dir.replace('\'', "'\\''"))
    };
    GitError::Failed {
        command: "rev-parse".into(),
        message: format!(
            "git refuses to use the repository at `{dir}`, which another user owns (\"dubious \
             ownership\"); if it is yours to read, mark it safe with `git config --global --add \
             safe.directory {arg}` (CI containers often need this)"
        ),
    }
}

/// Why `rev` names no commit: an object that is no commit, no such name, a short id several
/// objects share, or history a shallow clone does not have.
fn unknown_revision(top: &Path, rev: &str) -> Result<GitError, GitError> {
    let loud = git(top, ["rev-parse", "--verify", &format!("{rev}^{{commit}}")])?;
    let said = String::from_utf8_lossy(&loud.stderr);
    // What it names, past any tags (`REV:path` names a tree or file with no tag to peel).
    let mut kind = git(top, ["cat-file", "-t", rev])?;
    if stdout_line(&kind) == "tag" {
        kind = git(top, ["cat-file", "-t", &format!("{rev}^{{}}")])?;
    }
    if kind.status.success() {
        let kind = match stdout_line(&kind).as_str() {
            "tree" => Some("a tree (a directory's content)"),
            "blob" => Some("a blob (a file's content)"),
            _ => None,
        };
        if let Some(kind) = kind {
            return Ok(GitError::NotACommit {
                rev: rev.to_string(),
                kind,
            });
        }
    }
    let shallow = git(top, ["rev-parse", "--is-shallow-repository"])?;
    let message = if said.contains("ambiguous") {
        "several objects of the repository (commits, or the trees and files they hold) have \
         ids that start with it; give more of the commit's digits"
            .to_string()
    } else if stdout_line(&shallow) == "true" {
        "no such commit, branch or tag in this clone, which is shallow (it holds only recent \
         history, as CI checkouts often do): fetch the history it needs, e.g. `git fetch \
         --unshallow`, or check out with full depth"
            .to_string()
    } else {
        "no such commit, branch or tag in this repository".to_string()
    };
    Ok(GitError::UnknownRevision {
        rev: rev.to_string(),
        message,
    })
}

fn stdout_line(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout)
        .trim_end_matches(['\n', '\r'])
        .to_string()
}

/// `path` (relative to `prefix`, the current directory inside the repository, or absolute)
/// as a path relative to the repository root `top`, lexically normalized.
fn repo_relative(top: &Path, prefix: &str, cwd: &Path, path: &Path) -> Option<String> {
    let joined = if path.is_absolute() {
        let rel = path
            .strip_prefix(top)
            .ok()
            .map(Path::to_path_buf)
            .or_else(|| {
                // The root git reports is canonical; the path may not be.
                let canon_top = top.canonicalize().ok()?;
                let canon = path.canonicalize().ok()?;
                canon.strip_prefix(&canon_top).ok().map(Path::to_path_buf)
            })
            .or_else(|| {
                // A path under the current directory spelled through a symlinked prefix.
                path.strip_prefix(cwd)
                    .ok()
                    .map(|r| Path::new(prefix).join(r))
            })?;
        rel
    } else {
        Path::new(prefix).join(path)
    };
    let mut parts: Vec<String> = Vec::new();
    for c in joined.components() {
        match c {
            Component::Normal(p) => parts.push(p.to_string_lossy().into_owned()),
            Component::CurDir => {}
            Component::ParentDir => {
                parts.pop()?;
            }
            Component::RootDir | Component::Prefix(_) => return None,
        }
    }
    Some(parts.join("/"))
}

fn is_yaml(p: &str) -> bool {
    p.ends_with(".yaml") || p.ends_with(".yml")
}

/// A library as it was at a revision.
pub struct AtRevision {
    /// The library files at the revision; none when no library path holds any there (the
    /// caller says which paths exist nowhere before calling that an error).
    pub loaded: Loaded,
    /// The library paths, as given, that do not exist at the revision (created since, or
    /// misspelled).
    pub missing: Vec<PathBuf>,
    /// The commit the revision names, in full.
    pub commit: String,
}

/// Reads the library files under `paths` (relative to the current directory, as for
/// [`crate::load_library`]) as they were at revision `rev`: the same selection (`*.yaml`,
/// `*.yml`, no `*.test.yaml`, no hidden directories below a given path), in path order. Files
/// are named `REV:path/from/root.yaml` in diagnostics. No file at all is no error here: see
/// [`GitError::Empty`].
pub fn library_at(
    rev: &str,
    paths: &[PathBuf],
    max_file_bytes: usize,
) -> Result<AtRevision, GitError> {
    if rev.is_empty() {
        return Err(GitError::EmptyRevision);
    }
    if rev.starts_with('-') {
        return Err(GitError::UnknownRevision {
            rev: rev.to_string(),
            message: "a revision is a commit, branch or tag name and does not start with `-`"
                .into(),
        });
    }
    let cwd = std::env::current_dir().map_err(GitError::CurrentDir)?;
    let top = git(&cwd, ["rev-parse", "--show-toplevel"])?;
    if !top.status.success() {
        return Err(not_a_repository(&cwd, &top));
    }
    let top = PathBuf::from(stdout_line(&top));
    let prefix = git(&cwd, ["rev-parse", "--show-prefix"])?;
    let prefix = stdout_line(&prefix);
    let verify = git(
        &top,
        [
            "rev-parse",
            "--verify",
            "--quiet",
            &format!("{rev}^{{commit}}"),
        ],
    )?;
    if !verify.status.success() {
        return Err(unknown_revision(&top, rev)?);
    }
    let commit = stdout_line(&verify);

    let mut specs = Vec::new();
    for p in paths {
        let rel =
            repo_relative(&top, &prefix, &cwd, p).ok_or_else(|| GitError::OutsideRepository {
                path: p.display().to_string(),
                top: top.display().to_string(),
            })?;
        // A library path that is a symbolic link (to a directory) at the revision is read
        // at its target, as the working tree reads the path given.
        specs.push(resolve_spec(&top, &commit, rev, rel)?);
    }
    let mut args: Vec<String> = ["ls-tree", "-r", "-l", "-z", "--full-tree", &commit, "--"]
        .iter()
        .map(|s| s.to_string())
        .collect();
    // The empty path (the whole repository) is `.` to git.
    args.extend(specs.iter().map(|s| {
        if s.is_empty() {
            ".".to_string()
        } else {
            s.clone()
        }
    }));
    let listing = git(&top, &args)?;
    if !listing.status.success() {
        return Err(GitError::Failed {
            command: format!("ls-tree {rev}"),
            message: complaint(&listing),
        });
    }
    // (path shown, path read, size if known): a symlink is read at its target, as the working
    // tree loader follows it.
    let mut files: Vec<(String, String, Option<u64>)> = Vec::new();
    let mut present = vec![false; specs.len()];
    for entry in listing.stdout.split(|b| *b == 0).filter(|e| !e.is_empty()) {
        let entry = match std::str::from_utf8(entry) {
            Ok(text) => std::borrow::Cow::Borrowed(text),
            // Git is given paths as text: one that is not UTF-8 could not be read back.
            Err(_) => {
                let lossy = String::from_utf8_lossy(entry);
                let path = lossy.split_once('\t').map_or(&*lossy, |(_, p)| p);
                if !is_yaml(path) {
                    continue;
                }
                return Err(GitError::NotUtf8Path {
                    rev: rev.to_string(),
                    path: path.to_string(),
                });
            }
        };
        // `<mode> SP <type> SP <object> SP+ <size> TAB <path>`
        let Some((meta, path)) = entry.split_once('\t') else {
            continue;
        };
        for (spec, seen) in specs.iter().zip(&mut present) {
            *seen |= spec.is_empty()
                || path
                    .strip_prefix(spec.as_str())
                    .is_some_and(|rest| rest.is_empty() || rest.starts_with('/'));
        }
        let mut fields = meta.split_whitespace();
        let (Some(mode), Some(kind), Some(_object), Some(size)) =
            (fields.next(), fields.next(), fields.next(), fields.next())
        else {
            continue;
        };
        // Submodules and directories are no library files.
        if kind != "blob" || !is_yaml(path) || is_test_file(Path::new(path)) {
            continue;
        }
        if hidden_below_spec(path, &specs) {
            continue;
        }
        if mode == "120000" {
            let target = resolve_link(&top, &commit, rev, path)?;
            files.push((path.to_string(), target, None));
        } else {
            files.push((path.to_string(), path.to_string(), size.parse().ok()));
        }
        if files.len() > MAX_FILES {
            return Err(GitError::TooManyFiles {
                rev: rev.to_string(),
                limit: MAX_FILES,
            });
        }
    }
    files.sort();
    // A file reached twice (itself and a link to it) is read once, as in the working tree.
    let mut seen = std::collections::HashSet::new();
    files.retain(|(_, read, _)| seen.insert(read.clone()));

    let mut loaded = Loaded::default();
    for (path, read, size) in files {
        let name = format!("{rev}:{path}");
        let size = match size {
            Some(size) => size,
            None => {
                let out = git(&top, ["cat-file", "-s", &format!("{commit}:{read}")])?;
                if !out.status.success() {
                    return Err(GitError::Failed {
                        command: format!("cat-file -s {rev}:{read}"),
                        message: complaint(&out),
                    });
                }
                stdout_line(&out).parse().unwrap_or(u64::MAX)
            }
        };
        if size > max_file_bytes as u64 {
            crate::load::too_large(&mut loaded, name, max_file_bytes);
            continue;
        }
        let shown = git(&top, ["show", &format!("{commit}:{read}")])?;
        if !shown.status.success() {
            return Err(GitError::Failed {
                command: format!("show {rev}:{read}"),
                message: complaint(&shown),
            });
        }
        let next = FileId(loaded.sources.len() as u32);
        let bytes = shown.stdout;
        let lossy = String::from_utf8_lossy(&bytes).into_owned();
        match riposte_dsl::syntax::decode(&name, bytes, next) {
            Ok(src) => {
                loaded.sources.add(src);
            }
            Err(d) => {
                loaded.sources.add(SourceFile::new(name, lossy));
                loaded.diagnostics.push(d);
            }
        }
    }
    let missing = paths
        .iter()
        .zip(&present)
        .filter(|(_, seen)| !**seen)
        .map(|(p, _)| p.clone())
        .collect();
    Ok(AtRevision {
        loaded,
        missing,
        commit,
    })
}

/// The file a symbolic link at `path` leads to at `commit`, through links to links (at most 8).
/// A link out of the repository, to nothing or to a directory is an error: the working tree
/// loader would read something there, and the base library must not silently lack it.
fn resolve_link(top: &Path, commit: &str, rev: &str, path: &str) -> Result<String, GitError> {
    follow_links(top, commit, rev, path, Follow::ToFile)
}

/// The library path `spec` at `commit`, or, when it is a symbolic link there, what it leads
/// to (through links to links, at most 8). A link out of the repository is an error: the
/// library at the revision would silently lack what the working tree reads.
fn resolve_spec(top: &Path, commit: &str, rev: &str, spec: String) -> Result<String, GitError> {
    follow_links(top, commit, rev, &spec, Follow::ToAnything)
}

/// Where [`follow_links`] stops: at a file (a library file), or at whatever is not a link (a
/// library path: a directory, a file, or nothing).
#[derive(Clone, Copy, PartialEq)]
enum Follow {
    ToFile,
    ToAnything,
}

fn follow_links(
    top: &Path,
    commit: &str,
    rev: &str,
    path: &str,
    follow: Follow,
) -> Result<String, GitError> {
    let (named, out_of_repository) = match follow {
        Follow::ToFile => (
            format!("`{path}`"),
            "its content is unknown (commit the file itself)".to_string(),
        ),
        Follow::ToAnything => (
            format!("library path `{path}`"),
            "give the directory it leads to with `--library`".to_string(),
        ),
    };
    let fail = |message: String| GitError::Failed {
        command: format!("show {rev}:{path}"),
        message,
    };
    let mut current = path.to_string();
    for _ in 0..8 {
        // The whole repository is no link.
        if current.is_empty() {
            return Ok(current);
        }
        // The path and every directory on the way to it, in one listing: a link among the
        // directories (`shared/policy` through `shared` → `common`) is followed first, as the
        // working tree's file system does.
        let mut args = vec!["ls-tree", "-z", "--full-tree", commit, "--"];
        args.extend(
            current
                .match_indices('/')
                .map(|(i, _)| &current[..i])
                .chain([current.as_str()]),
        );
        let listed = git(top, args)?;
        let entries: Vec<(&str, &str, &str)> = listed
            .stdout
            .split(|b| *b == 0)
            .filter_map(|e| std::str::from_utf8(e).ok())
            .filter_map(|e| {
                let (meta, path) = e.split_once('\t')?;
                let mut meta = meta.split_whitespace();
                Some((meta.next()?, meta.next()?, path))
            })
            .collect();
        let linked_dir = entries
            .iter()
            // A directory's listing may come with its other entries: only those on the way.
            .filter(|(mode, _, p)| {
                *mode == "120000"
                    && current.starts_with(p)
                    && current.as_bytes().get(p.len()) == Some(&b'/')
            })
            .min_by_key(|(_, _, p)| p.len());
        if let Some((_, _, dir)) = linked_dir {
            let link = git(top, ["show", &format!("{commit}:{dir}")])?;
            let target =
                link_target(dir, &String::from_utf8_lossy(&link.stdout)).ok_or_else(|| {
                    fail(format!(
                        "{named} is under `{dir}`, a symbolic link out of the repository at \
                         `{rev}`; {out_of_repository}"
                    ))
                })?;
            let rest = &current[dir.len()..];
            current = format!("{target}{rest}")
                .trim_start_matches('/')
                .to_string();
            continue;
        }
        let whole = entries.iter().find(|(_, _, p)| *p == current);
        match whole.map(|(mode, kind, _)| (*mode, *kind)) {
            Some(("120000", "blob")) => {
                let link = git(top, ["show", &format!("{commit}:{current}")])?;
                current = link_target(&current, &String::from_utf8_lossy(&link.stdout))
                    .ok_or_else(|| {
                        fail(format!(
                            "{named} is a symbolic link out of the repository at `{rev}`; \
                             {out_of_repository}"
                        ))
                    })?;
            }
            _ if follow == Follow::ToAnything => return Ok(current),
            Some((_, "blob")) => return Ok(current),
            Some(_) => {
                return Err(fail(format!(
                    "{named} is a symbolic link to `{current}`, which is not a file at `{rev}`"
                )))
            }
            _ => {
                return Err(fail(format!(
                    "{named} is a symbolic link to `{current}`, which does not exist at `{rev}`"
                )))
            }
        }
    }
    Err(fail(format!(
        "{named} is a chain of more than 8 symbolic links"
    )))
}

/// The repository path a symlink at `path` (repository-relative) points to, from its target
/// text; `None` for an absolute target or one that leaves the repository.
fn link_target(path: &str, target: &str) -> Option<String> {
    let target = target.trim_end_matches(['\n', '\r']);
    if target.is_empty() || target.starts_with('/') {
        return None;
    }
    let mut parts: Vec<&str> = path.split('/').collect();
    parts.pop();
    for seg in target.split('/') {
        match seg {
            "" | "." => {}
            ".." => {
                parts.pop()?;
            }
            s => parts.push(s),
        }
    }
    Some(parts.join("/"))
}

/// Whether `path` lies in a hidden directory below the pathspec it was listed for (the working
/// tree loader never enters those).
fn hidden_below_spec(path: &str, specs: &[String]) -> bool {
    let below = specs
        .iter()
        .filter_map(|s| {
            if s.is_empty() {
                Some(path)
            } else if path == s {
                Some("")
            } else {
                path.strip_prefix(s.as_str())?.strip_prefix('/')
            }
        })
        .min_by_key(|rest| rest.len());
    match below {
        // The directories between the spec and the file name.
        Some(rest) => rest
            .rsplit_once('/')
            .is_some_and(|(dirs, _)| dirs.split('/').any(|d| d.starts_with('.'))),
        None => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_become_repository_relative() {
        let top = Path::new("/repo");
        let cwd = Path::new("/repo/sub");
        let rel = |p: &str| repo_relative(top, "sub/", cwd, Path::new(p));
        assert_eq!(rel("gamebooks").as_deref(), Some("sub/gamebooks"));
        assert_eq!(rel("./a/../sops/").as_deref(), Some("sub/sops"));
        assert_eq!(rel("../lib").as_deref(), Some("lib"));
        assert_eq!(rel("../..").as_deref(), None);
        assert_eq!(rel("/repo/x").as_deref(), Some("x"));
        assert_eq!(rel(".").as_deref(), Some("sub"));
    }

    #[test]
    fn symlinks_are_read_at_their_target() {
        assert_eq!(
            link_target("gamebooks/a.yaml", "../shared/a.yaml").as_deref(),
            Some("shared/a.yaml")
        );
        assert_eq!(link_target("a.yaml", "b.yaml\n").as_deref(), Some("b.yaml"));
        assert_eq!(link_target("a.yaml", "../outside.yaml"), None);
        assert_eq!(link_target("g/a.yaml", "/etc/passwd"), None);
    }

    #[test]
    fn hidden_directories_below_a_spec_are_skipped() {
        let specs = ["lib".to_string(), String::new()];
        assert!(!hidden_below_spec("lib/a.yaml", &specs[..1]));
        assert!(hidden_below_spec("lib/.github/a.yaml", &specs[..1]));
        assert!(!hidden_below_spec(".lib/a.yaml", &[".lib".to_string()]));
        assert!(hidden_below_spec(".github/a.yaml", &specs[1..]));
    }
}
