//! Strings with `{{ expr }}` holes: `"Isolated {{ entity.hostname }} for {{ incident.id }}"`.

use std::fmt::Write as _;

use super::{compile_with, Env, Expr, ExprSource, Regexes, Scope};
use crate::codes::Code;
use crate::diagnostic::Diagnostic;
use crate::source::Span;
use crate::value::{format_time, BoundedText, Value};

/// A compiled template: literal text and checked expressions, in order.
#[derive(Clone, Debug)]
pub struct Template {
    parts: Vec<Part>,
}

#[derive(Clone, Debug)]
enum Part {
    Text(String),
    Hole(Expr),
}

/// The most text a template renders to (1 MiB); the rest is cut, marked with [`CUT`].
pub const MAX_RENDERED_BYTES: usize = 1 << 20;

/// What ends a rendering cut at [`MAX_RENDERED_BYTES`].
pub const CUT: &str = " … [cut: the text passed 1 MiB]";

impl Template {
    /// The text with every hole replaced by its value ([`crate::value::Value`]'s `Display`:
    /// null renders as nothing, lists as `a, b`). Text past [`MAX_RENDERED_BYTES`] is cut, and
    /// the cut says so: a thousand holes over a megabyte title would take a gigabyte.
    pub fn render(&self, env: &Env) -> String {
        // Room for the text and a short value per hole, so most renderings allocate once.
        let room = self
            .parts
            .iter()
            .map(|p| match p {
                Part::Text(t) => t.len(),
                Part::Hole(_) => 24,
            })
            .sum();
        let mut out = String::with_capacity(room);
        for part in &self.parts {
            match part {
                Part::Text(t) => out.push_str(t),
                Part::Hole(e) => match &e.eval(env) {
                    // Text, the usual hole, without the formatting machinery.
                    Value::String(s) => {
                        let _ = bounded(&mut out).write_str(s);
                    }
                    Value::Null => {}
                    Value::Time(ms) => out.push_str(&format_time(*ms)),
                    // Stops once past the limit: a list of a million copies of a long text
                    // would take gigabytes, only to be cut below.
                    other => {
                        let _ = write!(bounded(&mut out), "{other}");
                    }
                },
            }
            if out.len() > MAX_RENDERED_BYTES {
                let mut end = MAX_RENDERED_BYTES;
                while !out.is_char_boundary(end) {
                    end -= 1;
                }
                out.truncate(end);
                out.push_str(CUT);
                break;
            }
        }
        out
    }

    /// The expression, when the whole string is exactly one hole (`"{{ inputs.x }}"`), so the
    /// caller can type it against a parameter instead of rendering it to text.
    pub fn single(&self) -> Option<&Expr> {
        match self.parts.as_slice() {
            [Part::Hole(e)] => Some(e),
            _ => None,
        }
    }

    /// True when rendering needs no environment: no holes, or only constant ones.
    pub fn is_constant(&self) -> bool {
        self.exprs().all(|e| e.constant().is_some())
    }

    pub fn exprs(&self) -> impl Iterator<Item = &Expr> {
        self.parts.iter().filter_map(|p| match p {
            Part::Hole(e) => Some(e),
            Part::Text(_) => None,
        })
    }
}

/// A rendering being written: text goes in up to the first character boundary past
/// [`MAX_RENDERED_BYTES`], where writing fails, so a value that would render to more stops
/// there (the rendering is then cut at the limit).
fn bounded(out: &mut String) -> BoundedText<'_> {
    BoundedText {
        out,
        max: MAX_RENDERED_BYTES,
    }
}

/// Compiles a template; every hole is checked against `scope`. An unclosed or empty `{{` is
/// RP0207; errors inside holes are reported as expression errors.
pub fn compile_template(src: ExprSource, scope: &Scope) -> Result<Template, Vec<Diagnostic>> {
    compile_template_with(src, scope, &mut Regexes::new())
}

/// [`compile_template`] as part of a compilation, whose `regexes` the holes share.
pub fn compile_template_with(
    src: ExprSource,
    scope: &Scope,
    regexes: &mut Regexes,
) -> Result<Template, Vec<Diagnostic>> {
    let text = src.text;
    let bytes = text.as_bytes();
    let span = |start: usize, end: usize| Span::new(start, end).shift(src.offset);
    let mut parts = Vec::new();
    let mut diags = Vec::new();
    let unclosed = |open: usize, help: &str| {
        Diagnostic::new(
            Code::InvalidTemplate,
            src.file,
            span(open, open + 2),
            "unclosed `{{` in a template",
        )
        .with_help(help)
    };
    let mut pos = 0;
    while let Some(rel) = text.get(pos..).and_then(|rest| rest.find("{{")) {
        let open = pos + rel;
        if open > pos {
            parts.push(Part::Text(text.get(pos..open).unwrap_or("").to_string()));
        }
        let start = open + 2;
        let close = find_close(bytes, start).or_else(|| {
            text.get(start..)
                .and_then(|rest| rest.find("}}"))
                .map(|r| start + r)
        });
        let Some(close) = close else {
            diags.push(unclosed(open, "close the expression with `}}`"));
            pos = text.len();
            break;
        };
        // `open`, `start` and `close` sit at ASCII braces, so they are char boundaries.
        let content = text.get(start..close).unwrap_or("");
        match stray_brace(content.as_bytes()) {
            // `{{ a } and {{ b }}`: the first hole lacks its `}}`; the second is read anew.
            Some((at, Brace::Open)) => {
                diags.push(unclosed(
                    open,
                    "another `{{` opens before it is closed: close the expression with `}}`",
                ));
                pos = start + at;
                continue;
            }
            Some((at, Brace::Close)) => {
                diags.push(
                    Diagnostic::new(
                        Code::InvalidTemplate,
                        src.file,
                        span(start + at, start + at + 1),
                        "a single `}` in a template expression",
                    )
                    .with_help(
                        "close the expression with `}}`; an expression has no `}` of its own",
                    ),
                );
                pos = close + 2;
                continue;
            }
            None => {}
        }
        if content.trim().is_empty() {
            diags.push(
                Diagnostic::new(
                    Code::InvalidTemplate,
                    src.file,
                    span(open, close + 2),
                    "empty `{{ }}` in a template",
                )
                .with_help("write an expression between the braces, such as `{{ incident.id }}`"),
            );
        } else {
            let hole = ExprSource {
                text: content,
                file: src.file,
                offset: src.offset.saturating_add(super::parser_offset(start)),
            };
            match compile_with(hole, scope, None, regexes) {
                Ok(e) => parts.push(Part::Hole(e)),
                Err(ds) => diags.extend(ds),
            }
        }
        pos = close + 2;
    }
    if pos < text.len() {
        parts.push(Part::Text(text.get(pos..).unwrap_or("").to_string()));
    }
    if diags.is_empty() {
        Ok(Template { parts })
    } else {
        Err(diags)
    }
}

/// A brace of a hole's text outside its string literals.
enum Brace {
    /// `{{`, the start of another hole.
    Open,
    /// `}` alone.
    Close,
}

/// The first `{{` or `}` of a hole's text outside string literals, and where it is: neither
/// belongs to an expression, so the hole's own `}}` is mistyped.
fn stray_brace(bytes: &[u8]) -> Option<(usize, Brace)> {
    let mut quote: Option<u8> = None;
    let mut i = 0;
    while let Some(&c) = bytes.get(i) {
        match (quote, c) {
            (Some(_), b'\\') => i += 1,
            (Some(q), c) if c == q => quote = None,
            (None, b'\'' | b'"') => quote = Some(c),
            (None, b'{') if bytes.get(i + 1) == Some(&b'{') => return Some((i, Brace::Open)),
            (None, b'}') => return Some((i, Brace::Close)),
            _ => {}
        }
        i += 1;
    }
    None
}

/// The `}}` that closes a hole opened before `start`, skipping string literals.
fn find_close(bytes: &[u8], start: usize) -> Option<usize> {
    let mut quote: Option<u8> = None;
    let mut i = start;
    while let Some(&c) = bytes.get(i) {
        match (quote, c) {
            (Some(_), b'\\') => i += 1,
            (Some(q), c) if c == q => quote = None,
            (None, b'\'' | b'"') => quote = Some(c),
            (None, b'}') if bytes.get(i + 1) == Some(&b'}') => return Some(i),
            _ => {}
        }
        i += 1;
    }
    None
}
