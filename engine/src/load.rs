//! Finding and reading gamebook and SOP files.

use std::fs;
use std::io::Read;
use std::path::{Path, PathBuf};

use riposte_dsl::{Code, Diagnostic, SourceFile, SourceMap, Span};

/// What was read: the files, and diagnostics for files that could not become text.
#[derive(Debug, Default)]
pub struct Loaded {
    pub sources: SourceMap,
    pub diagnostics: Vec<Diagnostic>,
    /// Links to directories met in the directories walked, which are not followed: a link can
    /// loop, and a git revision holds the link, not the files (a backtest's base would not
    /// have them). The command line names them, so a gamebook not found there is explained.
    pub linked_dirs: Vec<String>,
}

/// A path that could not be read at all (exit code 2 territory).
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    #[error("cannot read `{path}`: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("`{0}` is not a YAML file or a directory")]
    NotYaml(PathBuf),
    #[error("more than {limit} files under the given paths")]
    TooManyFiles { limit: usize },
    #[error(
        "the library's files hold more than {limit} bytes in all (at `{at}`); a library is \
         gamebooks and SOPs, not data: check the paths given"
    )]
    TooLarge { limit: usize, at: String },
    #[error("`{0}` holds gamebook tests, not gamebooks or SOPs; run them with `riposte test {0}`")]
    TestFile(String),
    /// A gamebook or SOP in a file named as test files are, which a library skips.
    #[error(
        "`{path}` holds {what}, but is named as a test file (`*.test.yaml`), which a library \
         skips: rename it `{renamed}`"
    )]
    NamedAsTest {
        path: String,
        what: &'static str,
        renamed: String,
    },
    #[error("no gamebook or SOP files (`*.yaml`, `*.yml`) under {0}")]
    Empty(String),
}

/// Most files a library may hold; a larger tree is almost certainly the wrong directory.
pub const MAX_FILES: usize = 20_000;

/// Most bytes a library's files may hold in all (each file is bounded too): compiling takes
/// a few times its text in memory, so this bounds the whole compilation.
pub const MAX_LIBRARY_BYTES: usize = 128 * 1024 * 1024;

/// Reads every `*.yaml` / `*.yml` under `paths` (directories recursively, sorted by path).
/// Test files (`*.test.yaml`) are not part of a library and are skipped in directories; named
/// alone, one is an error. A file reached by two paths (`gamebooks` and `./gamebooks`, or an
/// absolute path) is read once.
pub fn load_library(paths: &[PathBuf], max_file_bytes: usize) -> Result<Loaded, LoadError> {
    load_within(paths, max_file_bytes, MAX_LIBRARY_BYTES)
}

fn load_within(
    paths: &[PathBuf],
    max_file_bytes: usize,
    max_library_bytes: usize,
) -> Result<Loaded, LoadError> {
    let mut files = Vec::new();
    let mut linked_dirs = Vec::new();
    for p in paths {
        let meta = fs::metadata(p).map_err(|source| LoadError::Io {
            path: p.clone(),
            source,
        })?;
        if meta.is_dir() {
            walk(p, &mut files, &mut linked_dirs)?;
        } else if is_test_file(p) {
            let path = display_path(p);
            return Err(
                match (
                    library_kind(p, max_file_bytes),
                    library_name_of_test_file(&path),
                ) {
                    (Some(what), Some(renamed)) => LoadError::NamedAsTest {
                        path,
                        what,
                        renamed,
                    },
                    _ => LoadError::TestFile(path),
                },
            );
        } else if is_yaml(p) {
            files.push(p.clone());
        } else {
            return Err(LoadError::NotYaml(p.clone()));
        }
        if files.len() > MAX_FILES {
            return Err(LoadError::TooManyFiles { limit: MAX_FILES });
        }
    }
    if files.is_empty() {
        return Err(LoadError::Empty(quoted_paths(paths)));
    }
    files.sort();
    let mut seen = std::collections::HashSet::new();
    files.retain(|f| seen.insert(fs::canonicalize(f).unwrap_or_else(|_| f.clone())));
    let mut loaded = Loaded {
        linked_dirs,
        ..Loaded::default()
    };
    let mut total = 0usize;
    for path in files {
        read_one(&path, max_file_bytes, &mut loaded)?;
        // `read_one` added one file (its text, or none when it was too large).
        if let Some(last) = loaded.sources.len().checked_sub(1) {
            total += loaded
                .sources
                .get(riposte_dsl::FileId(last as u32))
                .text
                .len();
        }
        if total > max_library_bytes {
            return Err(LoadError::TooLarge {
                limit: max_library_bytes,
                at: display_path(&path),
            });
        }
    }
    Ok(loaded)
}

/// An error unless `path` is a regular file (or a link to one): opening a FIFO blocks until
/// something writes to it, and a device may never end.
pub fn regular_file(path: &Path) -> std::io::Result<()> {
    if fs::metadata(path)?.is_file() {
        Ok(())
    } else {
        Err(std::io::Error::new(
            std::io::ErrorKind::InvalidInput,
            "not a regular file (a directory, FIFO, device or socket)",
        ))
    }
}

/// Records that the file `name` is over the size limit, in place of its diagnostics.
pub(crate) fn too_large(loaded: &mut Loaded, name: String, max_file_bytes: usize) {
    let id = loaded.sources.add(SourceFile::new(name, String::new()));
    loaded.diagnostics.push(
        Diagnostic::new(
            Code::FileTooLarge,
            id,
            Span::new(0, 0),
            format!("the file is larger than the limit of {max_file_bytes} bytes"),
        )
        .with_help("split it into several gamebooks; sub-gamebook calls compose them"),
    );
}

fn read_one(path: &Path, max_file_bytes: usize, loaded: &mut Loaded) -> Result<(), LoadError> {
    let name = display_path(path);
    let io = |source| LoadError::Io {
        path: path.to_path_buf(),
        source,
    };
    regular_file(path).map_err(io)?;
    let file = fs::File::open(path).map_err(io)?;
    // Read one byte past the limit so an oversized file is detected without reading it whole.
    let mut bytes = Vec::new();
    file.take(max_file_bytes as u64 + 1)
        .read_to_end(&mut bytes)
        .map_err(io)?;
    if bytes.len() > max_file_bytes {
        too_large(loaded, name, max_file_bytes);
        return Ok(());
    }
    // The id the file will get, so the diagnostic points at it.
    let next = riposte_dsl::FileId(loaded.sources.len() as u32);
    match riposte_dsl::syntax::decode(&name, bytes, next) {
        Ok(src) => {
            loaded.sources.add(src);
        }
        Err(d) => {
            let raw = fs::read(path).unwrap_or_default();
            // Text of another encoding would show as noise and NUL bytes under the message:
            // only UTF-8 with a bad byte is worth showing.
            let wide = riposte_dsl::syntax::wide_without_bom(&raw)
                || [&b"\xFF\xFE"[..], b"\xFE\xFF", b"\0\0\xFE\xFF"]
                    .iter()
                    .any(|bom| raw.starts_with(bom));
            let shown = if wide {
                String::new()
            } else {
                String::from_utf8_lossy(&raw).into_owned()
            };
            loaded.sources.add(SourceFile::new(name, shown));
            loaded.diagnostics.push(d);
        }
    }
    Ok(())
}

fn walk(
    dir: &Path,
    out: &mut Vec<PathBuf>,
    linked_dirs: &mut Vec<String>,
) -> Result<(), LoadError> {
    let entries = fs::read_dir(dir).map_err(|source| LoadError::Io {
        path: dir.to_path_buf(),
        source,
    })?;
    for entry in entries {
        let entry = entry.map_err(|source| LoadError::Io {
            path: dir.to_path_buf(),
            source,
        })?;
        let path = entry.path();
        let ty = entry.file_type().map_err(|source| LoadError::Io {
            path: path.clone(),
            source,
        })?;
        if ty.is_dir() {
            // Hidden directories (.git) are never part of a library.
            if !entry.file_name().to_string_lossy().starts_with('.') {
                walk(&path, out, linked_dirs)?;
            }
        } else if ty.is_symlink() && fs::metadata(&path).is_ok_and(|m| m.is_dir()) {
            if !entry.file_name().to_string_lossy().starts_with('.') {
                linked_dirs.push(display_path(&path));
            }
        } else if is_yaml(&path) && !is_test_file(&path) {
            out.push(path);
            if out.len() > MAX_FILES {
                return Err(LoadError::TooManyFiles { limit: MAX_FILES });
            }
        }
    }
    Ok(())
}

/// Library and test files are `*.yaml` or `*.yml`.
pub fn is_yaml(p: &Path) -> bool {
    matches!(p.extension().and_then(|e| e.to_str()), Some("yaml" | "yml"))
}

/// `*.test.yaml` files hold gamebook tests, not library documents.
pub fn is_test_file(p: &Path) -> bool {
    p.file_name()
        .and_then(|n| n.to_str())
        .is_some_and(|n| n.ends_with(".test.yaml") || n.ends_with(".test.yml"))
}

/// The name a library file named as a test file (`a.test.yaml`) would have as a library's
/// (`a.yaml`).
pub(crate) fn library_name_of_test_file(path: &str) -> Option<String> {
    let (stem, ext) = path
        .strip_suffix(".test.yaml")
        .map(|s| (s, ".yaml"))
        .or_else(|| path.strip_suffix(".test.yml").map(|s| (s, ".yml")))?;
    Some(format!("{stem}{ext}"))
}

/// What file `p` holds when it is a gamebook or an SOP (`a gamebook`, `an SOP`), read as the
/// library reads its files; `None` otherwise, or when it cannot be read so.
fn library_kind(p: &Path, max_file_bytes: usize) -> Option<&'static str> {
    let mut bytes = Vec::new();
    fs::File::open(p)
        .ok()?
        .take(u64::try_from(max_file_bytes).ok()?.saturating_add(1))
        .read_to_end(&mut bytes)
        .ok()?;
    if bytes.len() > max_file_bytes {
        return None;
    }
    let mut sources = SourceMap::new();
    let file = sources.add(SourceFile::new("", String::from_utf8(bytes).ok()?));
    let limits = riposte_dsl::syntax::Limits::default();
    let root = riposte_dsl::syntax::load(file, sources.get(file), &limits).ok()?;
    match root.get("kind")?.as_str()? {
        "gamebook" => Some("a gamebook"),
        "sop" => Some("an SOP"),
        _ => None,
    }
}

/// A path as users wrote it, with `./` dropped.
pub(crate) fn display_path(p: &Path) -> String {
    let s = p.to_string_lossy();
    s.strip_prefix("./").unwrap_or(&s).to_string()
}

/// Paths for messages: `` `gamebooks`, `sops` ``.
pub fn quoted_paths(paths: &[PathBuf]) -> String {
    paths
        .iter()
        .map(|p| format!("`{}`", display_path(p)))
        .collect::<Vec<_>>()
        .join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_yaml_recursively_and_reports_bad_files() {
        let dir = tempfile::tempdir().unwrap();
        fs::create_dir(dir.path().join("sub")).unwrap();
        fs::write(dir.path().join("a.yaml"), "kind: gamebook\n").unwrap();
        fs::write(dir.path().join("sub/b.yml"), b"kind: \xff\n").unwrap();
        fs::write(dir.path().join("sub/c.test.yaml"), "x: 1\n").unwrap();
        fs::write(dir.path().join("notes.txt"), "x").unwrap();
        fs::write(dir.path().join("big.yaml"), "#".repeat(100)).unwrap();
        let loaded = load_library(&[dir.path().to_path_buf()], 50).unwrap();
        assert_eq!(loaded.sources.len(), 3);
        let codes: Vec<Code> = loaded.diagnostics.iter().map(|d| d.code).collect();
        assert_eq!(codes, vec![Code::FileTooLarge, Code::NotUtf8]);
        assert!(matches!(
            load_library(&[dir.path().join("missing")], 50),
            Err(LoadError::Io { .. })
        ));
        // The same files by another spelling of the path are read once.
        let again = dir.path().join("sub/../a.yaml");
        let loaded = load_library(&[dir.path().to_path_buf(), again], 50).unwrap();
        assert_eq!(loaded.sources.len(), 3);
        assert!(matches!(
            load_library(&[dir.path().join("sub/c.test.yaml")], 50),
            Err(LoadError::TestFile(_))
        ));
        // A gamebook named as a test file is told to be renamed.
        let named = dir.path().join("g.test.yaml");
        fs::write(&named, "kind: gamebook\n").unwrap();
        let e = load_library(std::slice::from_ref(&named), 50).unwrap_err();
        assert!(
            e.to_string().ends_with(&format!(
                "holds a gamebook, but is named as a test file (`*.test.yaml`), which a library \
                 skips: rename it `{}`",
                dir.path().join("g.yaml").display()
            )),
            "{e}"
        );
        let empty = dir.path().join("empty");
        fs::create_dir(&empty).unwrap();
        assert!(matches!(
            load_library(&[empty], 50),
            Err(LoadError::Empty(_))
        ));
        // The files' bytes in all are bounded, not only each file's.
        {
            let dir = tempfile::tempdir().unwrap();
            for name in ["a.yaml", "b.yaml", "c.yaml"] {
                fs::write(dir.path().join(name), "x: 1\n".repeat(100)).unwrap();
            }
            // Three files of 500 bytes.
            assert!(load_within(&[dir.path().to_path_buf()], 1000, 1500).is_ok());
            let err = load_within(&[dir.path().to_path_buf()], 1000, 1499).unwrap_err();
            let text = err.to_string();
            assert!(text.contains("more than 1499 bytes in all"), "{text}");
            assert!(text.contains("c.yaml"), "{text}");
        }
        // A link to a directory is named, not followed.
        #[cfg(unix)]
        {
            let linked = tempfile::tempdir().unwrap();
            fs::write(linked.path().join("x.yaml"), "kind: gamebook\n").unwrap();
            std::os::unix::fs::symlink(linked.path(), dir.path().join("sub/shared")).unwrap();
            let loaded = load_library(&[dir.path().to_path_buf()], 50).unwrap();
            assert_eq!(loaded.sources.len(), 3);
            assert_eq!(
                loaded.linked_dirs,
                [display_path(&dir.path().join("sub/shared"))]
            );
            fs::remove_file(dir.path().join("sub/shared")).unwrap();
        }
        // A FIFO among the files would block the read forever.
        #[cfg(unix)]
        {
            let fifo_dir = dir.path().join("fifo");
            fs::create_dir(&fifo_dir).unwrap();
            let status = std::process::Command::new("mkfifo")
                .arg(fifo_dir.join("evil.yaml"))
                .status();
            if status.is_ok_and(|s| s.success()) {
                let err = load_library(&[fifo_dir], 50).unwrap_err();
                assert!(err.to_string().contains("not a regular file"), "{err}");
            }
        }
    }
}
