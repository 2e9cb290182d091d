//! Rendering diagnostics at the edge: terminal text (miette), JSON, SARIF 2.1.0.

use miette::{
    GraphicalReportHandler, GraphicalTheme, LabeledSpan, MietteError, MietteSpanContents,
    SourceCode, SourceSpan, SpanContents,
};
use riposte_dsl::source::SourceFile;
use riposte_dsl::{Diagnostic, Severity, SourceMap};
use std::borrow::Cow;

use serde::Serialize;
use serde_json::json;

/// A diagnostic with its file, in the shape miette renders.
#[derive(Debug)]
struct Report<'a> {
    diag: &'a Diagnostic,
    source: FileSource<'a>,
    labels: Vec<LabeledSpan>,
}

/// A loaded file as miette reads it: only the lines around a span, found by the file's line
/// index. (miette's own `str` source counts lines from the start of the file for every
/// label, which made a file with thousands of diagnostics take minutes to print.) The text is
/// [`SourceFile::shown_text`]: what a terminal may show, at the file's offsets.
struct FileSource<'a>(&'a SourceFile);

impl std::fmt::Debug for FileSource<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_tuple("FileSource").field(&self.0.name).finish()
    }
}

/// `diag` with its texts (message, help, labels, notes), which quote the file, made printable.
fn inert_diagnostic(diag: &Diagnostic) -> Cow<'_, Diagnostic> {
    use riposte_engine::plan::text::printable_lines as shown;
    let texts = std::iter::once(Some(diag.message.as_str()))
        .chain([diag.help.as_deref(), diag.label.as_deref()])
        .chain(diag.related.iter().map(|r| Some(r.message.as_str())));
    if texts
        .flatten()
        .all(|t| matches!(shown(t), Cow::Borrowed(_)))
    {
        return Cow::Borrowed(diag);
    }
    let mut d = diag.clone();
    d.message = shown(&d.message).into_owned();
    d.help = d.help.map(|h| shown(&h).into_owned());
    d.label = d.label.map(|l| shown(&l).into_owned());
    for r in &mut d.related {
        r.message = shown(&r.message).into_owned();
    }
    Cow::Owned(d)
}

impl SourceCode for FileSource<'_> {
    fn read_span<'b>(
        &'b self,
        span: &SourceSpan,
        context_lines_before: usize,
        context_lines_after: usize,
    ) -> Result<Box<dyn SpanContents<'b> + 'b>, MietteError> {
        let file = self.0;
        let shown = file.shown_text();
        let (window, first_line) = file.lines_around(
            span.offset(),
            span.offset() + span.len(),
            context_lines_before,
            context_lines_after,
        );
        let text = shown.as_bytes();
        let lines = text.get(window.clone()).ok_or(MietteError::OutOfBounds)?;
        let inner = SourceSpan::new(
            span.offset().saturating_sub(window.start).into(),
            span.len(),
        );
        // miette's own reading, over the few lines that matter, shifted back into the file.
        let part = lines.read_span(&inner, context_lines_before, context_lines_after)?;
        let data = part.data();
        let at = window.start + part.span().offset();
        Ok(Box::new(MietteSpanContents::new_named(
            file.name.clone(),
            text.get(at..at + data.len())
                .ok_or(MietteError::OutOfBounds)?,
            SourceSpan::new(at.into(), data.len()),
            first_line + part.line(),
            // Without context lines the span's own column is asked for (the `file:line:col`
            // header): in characters, as the JSON and SARIF positions count it, where miette
            // would count bytes.
            if context_lines_before == 0 {
                file.line_col(span.offset()).column.saturating_sub(1)
            } else {
                part.column()
            },
            first_line + part.line_count(),
        )))
    }
}

impl std::fmt::Display for Report<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{}[{}]: {}",
            self.diag.severity, self.diag.code, self.diag.message
        )
    }
}

impl std::error::Error for Report<'_> {}

impl miette::Diagnostic for Report<'_> {
    fn severity(&self) -> Option<miette::Severity> {
        Some(match self.diag.severity {
            Severity::Error => miette::Severity::Error,
            Severity::Warning => miette::Severity::Warning,
        })
    }
    fn help<'b>(&'b self) -> Option<Box<dyn std::fmt::Display + 'b>> {
        self.diag
            .help
            .as_ref()
            .map(|h| Box::new(h) as Box<dyn std::fmt::Display>)
    }
    fn source_code(&self) -> Option<&dyn miette::SourceCode> {
        Some(&self.source)
    }
    fn labels(&self) -> Option<Box<dyn Iterator<Item = LabeledSpan> + '_>> {
        Some(Box::new(self.labels.iter().cloned()))
    }
}

fn source_span(span: riposte_dsl::Span, text_len: usize) -> SourceSpan {
    let start = (span.start as usize).min(text_len);
    let len = span.len().min(text_len - start);
    SourceSpan::new(start.into(), len)
}

/// Renders one diagnostic like a compiler: `file:line:col`, the source line, a caret, help.
pub fn text(diag: &Diagnostic, sources: &SourceMap, color: bool) -> String {
    let diag = &*inert_diagnostic(diag);
    let file = sources.get(diag.file);
    let mut labels = vec![LabeledSpan::new_primary_with_span(
        diag.label.clone(),
        source_span(diag.span, file.text.len()),
    )];
    for r in diag.related.iter().filter(|r| r.file == diag.file) {
        labels.push(LabeledSpan::new_with_span(
            Some(r.message.clone()),
            source_span(r.span, file.text.len()),
        ));
    }
    if labels.iter().any(|l| too_wide(file, l.inner())) {
        return plain(diag, sources);
    }
    let report = Report {
        diag,
        source: FileSource(file),
        labels,
    };
    let theme = if color {
        GraphicalTheme::unicode()
    } else {
        GraphicalTheme::unicode_nocolor()
    };
    let mut out = String::new();
    let handler = GraphicalReportHandler::new_themed(theme).with_width(100);
    if handler.render_report(&mut out, &report).is_err() {
        return plain(diag, sources);
    }
    related_elsewhere(diag, sources, &mut out);
    out
}

/// Lines longer than this are not shown under a diagnostic: unreadable on a terminal, and
/// miette cannot pad past column 65,535 (a generated one-line file panicked it).
const MAX_SHOWN_LINE: usize = 4_096;

/// Whether a line `span` touches, or one around it, is too long to show.
fn too_wide(file: &SourceFile, span: &SourceSpan) -> bool {
    let (window, _) = file.lines_around(span.offset(), span.offset() + span.len(), 1, 1);
    file.text
        .get(window)
        .is_some_and(|w| w.lines().any(|l| l.len() > MAX_SHOWN_LINE))
}

/// A diagnostic without its source lines: `file:line:col: severity[code]: message`, the help.
fn plain(diag: &Diagnostic, sources: &SourceMap) -> String {
    let file = sources.get(diag.file);
    let lc = file.line_col(diag.span.start as usize);
    let mut out = format!(
        "{}:{lc}: {}[{}]: {}\n",
        file.name, diag.severity, diag.code, diag.message
    );
    if let Some(help) = &diag.help {
        out.push_str(&format!("  help: {help}\n"));
    }
    for r in diag.related.iter().filter(|r| r.file == diag.file) {
        let lc = file.line_col(r.span.start as usize);
        out.push_str(&format!("  note: {} at {}:{lc}\n", r.message, file.name));
    }
    related_elsewhere(diag, sources, &mut out);
    out
}

/// The notes of `diag` in other files than its own.
fn related_elsewhere(diag: &Diagnostic, sources: &SourceMap, out: &mut String) {
    for r in diag.related.iter().filter(|r| r.file != diag.file) {
        let other = sources.get(r.file);
        let lc = other.line_col(r.span.start as usize);
        out.push_str(&format!("  note: {} at {}:{lc}\n", r.message, other.name));
    }
}

/// The JSON form of a diagnostic (`riposte check --format json`).
#[derive(Debug, Serialize)]
pub struct JsonDiagnostic {
    pub severity: Severity,
    pub code: &'static str,
    pub message: String,
    pub file: String,
    pub line: usize,
    pub column: usize,
    pub end_line: usize,
    pub end_column: usize,
    pub help: Option<String>,
}

pub fn json_diagnostic(d: &Diagnostic, sources: &SourceMap) -> JsonDiagnostic {
    let file = sources.get(d.file);
    let start = file.line_col(d.span.start as usize);
    let end = file.line_col(d.span.end as usize);
    JsonDiagnostic {
        severity: d.severity,
        code: d.code.as_str(),
        message: d.message.clone(),
        file: file.name.clone(),
        line: start.line,
        column: start.column,
        end_line: end.line,
        end_column: end.column,
        help: d.help.clone(),
    }
}

/// A SARIF 2.1.0 log for code-scanning uploads.
/// A file path as a SARIF artifact URI (RFC 3986): relative paths as relative references,
/// absolute ones as `file://` URIs, every byte but unreserved characters and `/`
/// percent-encoded (`my file#1.yaml` → `my%20file%231.yaml`).
fn uri(path: &str) -> String {
    let mut out = String::with_capacity(path.len() + 8);
    if path.starts_with('/') {
        out.push_str("file://");
    }
    for b in path.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~' | b'/') {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

pub fn sarif(diags: &[Diagnostic], sources: &SourceMap) -> serde_json::Value {
    let rules: Vec<serde_json::Value> = riposte_dsl::Code::ALL
        .iter()
        .map(|c| {
            json!({
                "id": c.as_str(),
                "shortDescription": {"text": c.summary()},
                "defaultConfiguration": {"level": level(c.severity())},
            })
        })
        .collect();
    let results: Vec<serde_json::Value> = diags
        .iter()
        .map(|d| {
            let j = json_diagnostic(d, sources);
            let mut message = d.message.clone();
            if let Some(h) = &d.help {
                message.push_str("\nhelp: ");
                message.push_str(h);
            }
            json!({
                "ruleId": j.code,
                "level": level(d.severity),
                "message": {"text": message},
                "locations": [{
                    "physicalLocation": {
                        "artifactLocation": {"uri": uri(&j.file)},
                        "region": {
                            "startLine": j.line, "startColumn": j.column,
                            "endLine": j.end_line, "endColumn": j.end_column,
                        }
                    }
                }]
            })
        })
        .collect();
    json!({
        "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
        "version": "2.1.0",
        "runs": [{
            "tool": {"driver": {
                "name": "riposte",
                "version": env!("CARGO_PKG_VERSION"),
                "informationUri": "https://github.com/riposte-security/riposte",
                "rules": rules,
            }},
            "results": results,
        }]
    })
}

fn level(s: Severity) -> &'static str {
    match s {
        Severity::Error => "error",
        Severity::Warning => "warning",
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn text_and_json_columns_count_characters() {
        let mut sources = riposte_dsl::SourceMap::new();
        let file = sources.add(riposte_dsl::SourceFile::new(
            "u.yaml",
            "kind: gamebook\ncomment: \"héllo 🦀 {{ x }}\"\n",
        ));
        let at = "kind: gamebook\ncomment: \"héllo 🦀 {{ ".len();
        let d = riposte_dsl::Diagnostic::new(
            riposte_dsl::Code::UnknownName,
            file,
            riposte_dsl::Span::new(at, at + 1),
            "unknown variable `x`",
        );
        let json = super::json_diagnostic(&d, &sources);
        assert_eq!((json.line, json.column), (2, 22));
        let text = super::text(&d, &sources, false);
        assert!(text.contains("[u.yaml:2:22]"), "{text}");
    }

    #[test]
    fn text_from_a_file_cannot_drive_the_terminal() {
        let mut sources = riposte_dsl::SourceMap::new();
        let raw = "kind: gamebook\naction: \"nope\u{1b}]0;PWNED\u{7}\u{202e}exe.gnp\"\n";
        let file = sources.add(riposte_dsl::SourceFile::new("e.yaml", raw));
        let at = raw.find("nope").unwrap();
        let d = riposte_dsl::Diagnostic::new(
            riposte_dsl::Code::UnknownAction,
            file,
            riposte_dsl::Span::new(at, at + 20),
            "unknown action `nope\u{1b}]0;PWNED\u{7}\u{202e}exe.gnp`",
        )
        .with_help("did you mean `\u{1b}[2J`?");
        let text = super::text(&d, &sources, false);
        for c in ['\u{1b}', '\u{7}', '\u{202e}'] {
            assert!(!text.contains(c), "{c:?} in {text}");
        }
        // The message, the source line and the help are all still there, made inert.
        assert!(
            text.contains("unknown action `nope�]0;PWNED��exe.gnp`"),
            "{text}"
        );
        assert!(
            text.contains("action: \"nope?]0;PWNED?�exe.gnp\""),
            "{text}"
        );
        assert!(text.contains("[e.yaml:2:10]"), "{text}");
    }

    #[test]
    fn sarif_uris_are_percent_encoded() {
        assert_eq!(super::uri("gamebooks/a.yaml"), "gamebooks/a.yaml");
        assert_eq!(super::uri("my file#1.yaml"), "my%20file%231.yaml");
        assert_eq!(super::uri("/tmp/é.yaml"), "file:///tmp/%C3%A9.yaml");
    }
}
