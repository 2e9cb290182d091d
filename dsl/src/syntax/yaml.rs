//! Loading YAML text into [`Node`]s with serde-saphyr, inside tight resource budgets.
//!
//! serde-saphyr parses (rejecting nothing YAML allows), and our own [`Node`] visitor keeps every
//! entry with its span, duplicates included, so the lowering pass can report *all* unknown,
//! missing and duplicate keys of a file instead of stopping at the first.

use std::fmt;

use serde::de::{self, Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_saphyr::{Budget, DuplicateKeyPolicy, Options, Spanned};

use super::node::{Node, NodeValue};
use crate::codes::Code;
use crate::diagnostic::Diagnostic;
use crate::source::{FileId, SourceFile, Span};

/// Resource limits for one file. Every limit is far above what a hand-written gamebook needs
/// and far below what would hurt a CI runner.
#[derive(Clone, Debug)]
pub struct Limits {
    pub max_file_bytes: usize,
    pub max_depth: usize,
    pub max_nodes: usize,
    pub max_aliases: usize,
    pub max_scalar_bytes: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_file_bytes: 2 * 1024 * 1024,
            max_depth: 48,
            max_nodes: 200_000,
            max_aliases: 256,
            max_scalar_bytes: 4 * 1024 * 1024,
        }
    }
}

/// Bytes → text. Reports the position of the first byte that is not UTF-8.
pub fn decode(name: &str, bytes: Vec<u8>, file: FileId) -> Result<SourceFile, Diagnostic> {
    // A byte order mark of UTF-16 or UTF-32: a file saved by an editor in another encoding.
    let other = [
        (&[0xFF, 0xFE, 0x00, 0x00][..], "UTF-32"),
        (&[0x00, 0x00, 0xFE, 0xFF][..], "UTF-32"),
        (&[0xFF, 0xFE][..], "UTF-16"),
        (&[0xFE, 0xFF][..], "UTF-16"),
    ];
    if let Some((_, encoding)) = other.iter().find(|(bom, _)| bytes.starts_with(bom)) {
        return Err(Diagnostic::new(
            Code::NotUtf8,
            file,
            Span::new(0, 0),
            format!("the file is {encoding} text, not UTF-8"),
        )
        .with_help("save the file as UTF-8"));
    }
    if wide_without_bom(&bytes) {
        return Err(Diagnostic::new(
            Code::NotUtf8,
            file,
            Span::new(0, 0),
            "the file looks like UTF-16 or UTF-32 text without a byte order mark (many of its \
             first bytes are zero), not UTF-8",
        )
        .with_help("save the file as UTF-8"));
    }
    match String::from_utf8(bytes) {
        // A UTF-8 byte order mark is no part of the text: columns on the first line count
        // from after it.
        Ok(text) => Ok(SourceFile::new(
            name,
            match text.strip_prefix('\u{feff}') {
                Some(rest) => rest.to_string(),
                None => text,
            },
        )),
        Err(e) => {
            let valid = e.utf8_error().valid_up_to();
            let bytes = e.into_bytes();
            // Show the valid prefix so the caret lands on the bad byte.
            let text = String::from_utf8_lossy(&bytes).into_owned();
            let prefix_chars = String::from_utf8_lossy(&bytes[..valid]).len();
            let src = SourceFile::new(name, text);
            let lc = src.line_col(prefix_chars);
            Err(Diagnostic::new(
                Code::NotUtf8,
                file,
                Span::new(prefix_chars, prefix_chars + 1),
                format!(
                    "invalid UTF-8 byte 0x{:02x} at line {}, column {}",
                    bytes.get(valid).copied().unwrap_or(0),
                    lc.line,
                    lc.column
                ),
            )
            .with_help("save the file as UTF-8"))
        }
    }
}

/// Whether `bytes` look like UTF-16 or UTF-32 text saved without a byte order mark: at least a
/// quarter of the first 64 bytes are zero. Text in UTF-8 holds no zero byte (YAML and JSON
/// forbid the NUL character), while ASCII in UTF-16 has one every other byte.
pub fn wide_without_bom(bytes: &[u8]) -> bool {
    let head = &bytes[..bytes.len().min(64)];
    head.len() >= 2 && head.iter().filter(|&&b| b == 0).count() * 4 >= head.len()
}

/// Parses one YAML document into a [`Node`] tree.
pub fn load(file: FileId, src: &SourceFile, limits: &Limits) -> Result<Node, Diagnostic> {
    let text = src.text.as_str();
    if text.len() > limits.max_file_bytes {
        return Err(Diagnostic::new(
            Code::FileTooLarge,
            file,
            Span::new(0, 0),
            format!(
                "the file is {} bytes; the limit is {} bytes",
                text.len(),
                limits.max_file_bytes
            ),
        )
        .with_help("split the document into several gamebooks; sub-gamebook calls compose them"));
    }
    if text
        .lines()
        .all(|l| l.trim().is_empty() || l.trim_start().starts_with('#') || l.trim() == "---")
    {
        return Err(Diagnostic::new(
            Code::EmptyFile,
            file,
            Span::new(0, 0),
            "the file holds no YAML document",
        )
        .with_help("start the file with `kind: gamebook` or `kind: sop`"));
    }

    let mut budget = Budget::default();
    budget.max_depth = limits.max_depth;
    budget.flow_nesting_limit = limits.max_depth;
    budget.max_nodes = limits.max_nodes;
    budget.max_aliases = limits.max_aliases;
    budget.max_anchors = limits.max_aliases;
    budget.max_total_scalar_bytes = limits.max_scalar_bytes;
    budget.max_documents = 1;
    budget.max_events = limits.max_nodes.saturating_mul(4);
    budget.max_recorded_anchor_events = limits.max_nodes;
    let mut options = Options::default();
    options.alias_limits.max_alias_expansions_per_anchor = 64;
    options.alias_limits.max_total_replayed_events = limits.max_nodes;
    options.alias_limits.max_replay_stack_depth = limits.max_depth;
    options.budget = Some(budget);
    options.duplicate_keys = DuplicateKeyPolicy::PassThrough;
    options.with_snippet = false;
    as_written(&mut options);

    match serde_saphyr::from_str_with_options::<Option<Node>>(text, options) {
        Ok(Some(node)) => Ok(node),
        Ok(None) => Err(Diagnostic::new(
            Code::EmptyFile,
            file,
            Span::new(0, 0),
            "the document is empty",
        )
        .with_help("start the file with `kind: gamebook` or `kind: sop`")),
        // A tab in the indentation: the parser's error points elsewhere (at the scalar before
        // it). Checked only once reading failed, as a tab inside a block scalar is text.
        Err(e) => Err(tab_indentation(file, text).unwrap_or_else(|| yaml_error(file, src, &e))),
    }
}

/// The reading rules of every YAML file Riposte reads (gamebooks, SOPs, tests, workspaces):
/// what a reviewer reads is what runs. YAML 1.2 booleans only (`no`, `n`, `off` stay strings:
/// the "Norway problem"); `!!binary ZGV2aWNlLm9mZmJvYXJk` stays that text, not
/// `device.offboard`; a tag nothing here understands (`!custom`) is an error, not ignored.
pub fn as_written(options: &mut Options) {
    options.strict_booleans = true;
    options.ignore_binary_tag_for_string = true;
    options.reject_unsupported_tags = true;
}

fn yaml_error(file: FileId, src: &SourceFile, e: &serde_saphyr::Error) -> Diagnostic {
    let span = e
        .location()
        .and_then(|loc| {
            let start = loc
                .span()
                .byte_offset()
                .map(|o| o as usize)
                .or_else(|| src.offset_of(loc.line() as usize, loc.column() as usize))?;
            Some(Span::new(start, start + 1))
        })
        .unwrap_or_default();
    let raw = first_line(&e.without_snippet().to_string());
    let budget = raw.contains("budget breached")
        || raw.contains("recursion limit")
        || raw.contains("alias expansion limit")
        || matches!(e, serde_saphyr::Error::Budget { .. });
    let (code, message, help) = if raw.contains("Documents {")
        || matches!(e, serde_saphyr::Error::MultipleDocuments { .. })
    {
        // Tests are the one kind written several to a file: one not named so was found here.
        let tests = src.text.lines().any(|l| l.trim_end() == "kind: test");
        (
            Code::MultipleDocuments,
            "the file holds more than one YAML document".to_string(),
            if tests {
                "a file of tests is named `*.test.yaml`, which a library skips: rename the file \
                 and run it with `riposte test`"
            } else {
                "put each gamebook or SOP in its own file"
            },
        )
    } else if budget {
        (
            Code::YamlBudget,
            budget_message(&raw),
            "gamebooks need neither deep nesting nor many aliases; simplify the document",
        )
    } else if raw.to_lowercase().starts_with("unsupported tag") {
        (
            Code::YamlSyntax,
            lowercase_first(&raw),
            "gamebooks, SOPs and tests take no YAML tags (`!name`): remove it, and write the value itself",
        )
    } else if let Some(key) = raw
        .contains("mapping values are not allowed")
        .then(|| key_of_value_holding(&src.text, span.start as usize))
        .flatten()
    {
        let help = format!(
            "the value of `{key}` holds `: `, which YAML reads as the start of a mapping: quote \
             the whole value, `{key}: \"…\"` (expressions write text in single quotes inside)"
        );
        return Diagnostic::new(Code::YamlSyntax, file, span, lowercase_first(&raw))
            .with_help(help);
    } else if let Some(help) = (!raw.contains("flow"))
        .then(|| misaligned_key(&src.text, span.start as usize))
        .flatten()
    {
        return Diagnostic::new(Code::YamlSyntax, file, span, lowercase_first(&raw))
            .with_help(help);
    } else {
        (
            Code::YamlSyntax,
            lowercase_first(&raw),
            "fix the YAML syntax at this position; indentation and unclosed quotes or brackets are the usual causes",
        )
    };
    Diagnostic::new(code, file, span, message).with_help(help)
}

/// A key line (`key:` or `key: value`) where the parser stopped, whose key does not start in
/// the column of the key on the line above, when that one has its value on its line (so the
/// line is no nested mapping of it): the usual indentation mistake, said in columns. Only
/// where the columns surely belong together: a key further right than the one above, or one
/// further left than the first key of the list item above (`- id: x`), whose other keys
/// line up with it; a key further left may otherwise close a nested mapping.
fn misaligned_key(text: &str, offset: usize) -> Option<String> {
    // The column of a line's key (after a list item's `- `) and the key, when the line is one.
    fn key_at(line: &str) -> Option<(usize, &str, &str)> {
        let indent = line.len() - line.trim_start_matches(' ').len();
        let rest = &line[indent..];
        let (col, rest) = match rest.strip_prefix("- ") {
            Some(r) => (
                indent + 2 + (r.len() - r.trim_start().len()),
                r.trim_start(),
            ),
            None => (indent, rest),
        };
        let end = rest.find(':')?;
        let key = &rest[..end];
        let after = &rest[end + 1..];
        (is_plain_key(key) && (after.is_empty() || after.starts_with(' '))).then_some((
            col,
            key,
            after.trim(),
        ))
    }
    let (line_start, line) = line_at(text, offset)?;
    let (col, key, _) = key_at(line)?;
    // Where the parser stopped: at the key or its colon, not inside its value.
    if offset > line_start + col + key.len() {
        return None;
    }
    let mut lines_above = text[..line_start]
        .lines()
        .rev()
        .filter(|l| !l.trim().is_empty() && !l.trim_start().starts_with('#'));
    let above = lines_above.next()?;
    let (above_col, above_key, above_value) = key_at(above)?;
    // Text of a block scalar (`description: |`) is no key line, whatever it holds: the first
    // line left of it must not open one.
    let above_indent = above.len() - above.trim_start_matches(' ').len();
    let opener = lines_above.find(|l| l.len() - l.trim_start_matches(' ').len() < above_indent);
    let block = |l: &str| {
        let value = l.split_once(": ").map_or("", |(_, v)| v.trim());
        value.starts_with('|') || value.starts_with('>')
    };
    if opener.is_some_and(block) {
        return None;
    }
    let item_first_key = above.trim_start().starts_with("- ");
    let sure = col > above_col || item_first_key;
    (sure && col != above_col && !above_value.is_empty() && !above_value.starts_with('#')).then(
        || {
            format!(
                "`{key}` starts in column {}, and `{above_key}` on the line above in column {}: \
             keys of one mapping start in the same column (`{above_key}` has its value, so \
             nothing nests under it)",
                col + 1,
                above_col + 1
            )
        },
    )
}

/// The key of a plain `key: value` line whose value holds the `: ` at `offset` (`if:
/// incident.title contains "x: y"`), when that is what the parser stopped at.
fn key_of_value_holding(text: &str, offset: usize) -> Option<&str> {
    let (line_start, line) = line_at(text, offset)?;
    let entry = line.trim_start().trim_start_matches("- ").trim_start();
    let (key, value) = entry.split_once(": ")?;
    let value_start = line.len() - value.len() + line_start;
    // The parser stops at the colon inside the value, not at the key's own.
    (is_plain_key(key)
        && offset >= value_start
        && !value.starts_with(['"', '\'', '{', '[', '|', '>']))
    .then_some(key)
}

/// The line holding byte `offset` of `text`, with the offset it starts at.
fn line_at(text: &str, offset: usize) -> Option<(usize, &str)> {
    let start = text.get(..offset)?.rfind('\n').map_or(0, |i| i + 1);
    Some((start, text.get(start..)?.lines().next()?))
}

/// A key as gamebooks write them: letters, digits, `_` and `-`, nothing quoted.
fn is_plain_key(k: &str) -> bool {
    !k.is_empty()
        && k.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
}

/// Says which budget of the YAML parser was exceeded, in words, from its error.
pub fn budget_message(raw: &str) -> String {
    // `Anchors { anchors: N }` is the count of distinct anchors; `RecordedAnchorEvents`,
    // `Aliases` and the rest are what expanding aliases costs.
    let what = if raw.contains("Anchors {") && !raw.contains("Alias") {
        "too many anchors (`&name`)"
    } else if raw.contains("Alias")
        || raw.contains("alias")
        || raw.contains("Replay")
        || raw.contains("RecordedAnchor")
    {
        "too many alias expansions (a \"billion laughs\" document?)"
    } else if raw.contains("Depth") || raw.contains("recursion") || raw.contains("Nesting") {
        "nesting is too deep"
    } else if raw.contains("Nodes") || raw.contains("Events") {
        "too many YAML nodes"
    } else if raw.contains("Scalar") {
        "too much text in scalars"
    } else {
        "a resource limit was exceeded"
    };
    format!("the YAML exceeds a parser budget: {what}")
}

fn first_line(s: &str) -> String {
    let line = s.lines().next().unwrap_or("invalid YAML").trim();
    // serde-saphyr appends " at line X column Y"; the caret already says where.
    match line.find(" at line ") {
        Some(i) => line[..i].to_string(),
        None => line.to_string(),
    }
}

fn lowercase_first(s: &str) -> String {
    let mut c = s.chars();
    match c.next() {
        Some(f) => f.to_lowercase().collect::<String>() + c.as_str(),
        None => String::new(),
    }
}

/// The first tab in the indentation of a line that holds something (RP0006): YAML forbids it,
/// and the parser's own error points elsewhere (at the scalar before the tab). Gamebooks, SOPs
/// and test files are checked with this.
pub fn tab_indentation(file: FileId, text: &str) -> Option<Diagnostic> {
    let offset = tab_in_indentation(text)?;
    Some(
        Diagnostic::new(
            Code::TabIndent,
            file,
            Span::new(offset, offset + 1),
            "tab character used for indentation",
        )
        .with_label("tab")
        .with_help("YAML indentation must be spaces; replace the tab with spaces"),
    )
}

/// Offset of the first tab in the leading whitespace of a line, outside of block scalars we
/// cannot tell apart cheaply; YAML forbids tabs there in any case.
fn tab_in_indentation(text: &str) -> Option<usize> {
    let mut offset = 0;
    for line in text.split_inclusive('\n') {
        let indent_len = line.len() - line.trim_start_matches([' ', '\t']).len();
        let rest = line[indent_len..].trim_end();
        if let Some(i) = line[..indent_len].find('\t') {
            // A line of only whitespace is harmless.
            if !rest.is_empty() {
                return Some(offset + i);
            }
        }
        offset += line.len();
    }
    None
}

fn span_of<T>(s: &Spanned<T>) -> Span {
    let loc = s.referenced;
    let span = loc.span();
    match (span.byte_offset(), span.byte_len()) {
        (Some(o), Some(l)) => Span::new(o as usize, o as usize + l as usize),
        (Some(o), None) => Span::new(o as usize, o as usize),
        _ => Span::default(),
    }
}

impl<'de> Deserialize<'de> for Node {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let spanned = Spanned::<NodeValue>::deserialize(d)?;
        let mut span = span_of(&spanned);
        // Collections carry only their start; extend them over their children.
        match &spanned.value {
            NodeValue::Seq(items) => {
                for n in items {
                    span = span.join(n.span);
                }
            }
            NodeValue::Map(entries) => {
                for (k, v) in entries {
                    span = span.join(k.span).join(v.span);
                }
            }
            _ => {}
        }
        Ok(Node {
            value: spanned.value,
            span,
        })
    }
}

impl<'de> Deserialize<'de> for NodeValue {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(NodeVisitor)
    }
}

struct NodeVisitor;

impl<'de> Visitor<'de> for NodeVisitor {
    type Value = NodeValue;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("any YAML value")
    }

    fn visit_unit<E>(self) -> Result<NodeValue, E> {
        Ok(NodeValue::Null)
    }
    fn visit_none<E>(self) -> Result<NodeValue, E> {
        Ok(NodeValue::Null)
    }
    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<NodeValue, D::Error> {
        NodeValue::deserialize(d)
    }
    fn visit_bool<E>(self, v: bool) -> Result<NodeValue, E> {
        Ok(NodeValue::Bool(v))
    }
    fn visit_i64<E>(self, v: i64) -> Result<NodeValue, E> {
        Ok(NodeValue::Int(v))
    }
    fn visit_u64<E: de::Error>(self, v: u64) -> Result<NodeValue, E> {
        Ok(i64::try_from(v).map_or(NodeValue::Float(v as f64), NodeValue::Int))
    }
    fn visit_i128<E: de::Error>(self, v: i128) -> Result<NodeValue, E> {
        Ok(i64::try_from(v).map_or(NodeValue::Float(v as f64), NodeValue::Int))
    }
    fn visit_u128<E: de::Error>(self, v: u128) -> Result<NodeValue, E> {
        Ok(i64::try_from(v).map_or(NodeValue::Float(v as f64), NodeValue::Int))
    }
    fn visit_f64<E>(self, v: f64) -> Result<NodeValue, E> {
        Ok(NodeValue::Float(v))
    }
    fn visit_str<E>(self, v: &str) -> Result<NodeValue, E> {
        Ok(NodeValue::Str(v.to_string()))
    }
    fn visit_string<E>(self, v: String) -> Result<NodeValue, E> {
        Ok(NodeValue::Str(v))
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<NodeValue, A::Error> {
        let mut items = Vec::new();
        while let Some(n) = seq.next_element::<Node>()? {
            items.push(n);
        }
        Ok(NodeValue::Seq(items))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<NodeValue, A::Error> {
        let mut entries = Vec::new();
        while let Some(k) = map.next_key::<Node>()? {
            let v = map.next_value::<Node>()?;
            entries.push((k, v));
        }
        Ok(NodeValue::Map(entries))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The column help only where the columns surely belong together.
    #[test]
    fn misaligned_keys_are_told_only_where_they_surely_are() {
        let at = |text: &str, line: usize, col: usize| {
            let start: usize = text.lines().take(line - 1).map(|l| l.len() + 1).sum();
            misaligned_key(text, start + col - 1)
        };
        // Further right than the key above, which has its value.
        let deeper = "steps:\n  - id: a\n    action: incident.comment\n      params:\n";
        let help = at(deeper, 4, 13).unwrap_or_default();
        assert!(
            help.starts_with("`params` starts in column 7, and `action`"),
            "{help}"
        );
        // Further left than the first key of a list item.
        let item = "steps:\n      - id: a\n       needs: [b]\n";
        assert!(at(item, 3, 8).is_some_and(|h| h.contains("`id` on the line above in column 9")));
        // Further left than a nested key: it may close that mapping; no help.
        let dedent = "steps:\n  - id: a\n    params:\n      comment: x\n   description: y\n";
        assert_eq!(at(dedent, 5, 4), None);
        // Text of a block scalar is no key.
        let block = "description: |\n      Owner: SOC\n     action: y\n";
        assert_eq!(at(block, 3, 6), None);
        // Inside a value, or above a key with no value: no help.
        assert_eq!(at("a:\n  b: c\n", 2, 3), None);
        assert_eq!(at(deeper, 3, 15), None);
    }

    fn load_str(text: &str) -> Result<(SourceFile, Node), Diagnostic> {
        let src = SourceFile::new("t.yaml", text);
        let node = load(FileId(0), &src, &Limits::default())?;
        Ok((src, node))
    }

    #[test]
    fn keeps_spans_of_nested_values() {
        let (src, node) = load_str("kind: gamebook\nsteps:\n  - id: isolate\n    if: x\n").unwrap();
        let steps = node.get("steps").unwrap().as_seq().unwrap();
        let id = steps[0].get("id").unwrap();
        assert_eq!(src.slice(id.span), "isolate");
        assert_eq!(src.line_col(id.span.start as usize).line, 3);
    }

    #[test]
    fn keeps_duplicate_keys() {
        let (_, node) = load_str("a: 1\na: 2\n").unwrap();
        assert_eq!(node.as_map().unwrap().len(), 2);
    }

    #[test]
    fn rejects_tabs_with_location() {
        let err = load_str("kind: gamebook\nsteps:\n\t- id: x\n").unwrap_err();
        assert_eq!(err.code, Code::TabIndent);
        assert_eq!(err.span.start, 22);
        // A tab inside a block scalar is text, which YAML allows.
        let (_, node) = load_str("kind: gamebook\ndescription: |\n  checks.\n  \tnote\n").unwrap();
        let text = node.get("description").unwrap();
        assert_eq!(text.as_str(), Some("checks.\n\tnote\n"));
    }

    #[test]
    fn rejects_empty_and_comment_only_files() {
        assert_eq!(load_str("").unwrap_err().code, Code::EmptyFile);
        assert_eq!(load_str("# only\n\n").unwrap_err().code, Code::EmptyFile);
    }

    #[test]
    fn bounds_alias_bombs_and_nesting() {
        let mut bomb = String::from("a: &a [x, x, x, x, x, x, x, x, x, x]\n");
        for i in 1..12 {
            let prev = (b'a' + (i - 1) as u8) as char;
            let cur = (b'a' + i as u8) as char;
            bomb.push_str(&format!("{cur}: &{cur} [*{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}]\n"));
        }
        let e = load_str(&bomb).unwrap_err();
        assert_eq!(e.code, Code::YamlBudget, "{e:?}");
        assert!(e.message.contains("too many alias expansions"), "{e:?}");
        let anchors: String = (0..300).map(|i| format!("k{i}: &a{i} x\n")).collect();
        let e = load_str(&anchors).unwrap_err();
        assert!(e.message.contains("too many anchors"), "{e:?}");
        let deep = "[".repeat(10_000) + &"]".repeat(10_000);
        let e = load_str(&deep).unwrap_err();
        assert_eq!(e.code, Code::YamlBudget, "{e:?}");
        let deep_block: String = (0..10_000)
            .map(|i| format!("{}k:\n", " ".repeat(i)))
            .collect();
        let err = load_str(&deep_block).unwrap_err();
        assert!(
            matches!(err.code, Code::YamlBudget | Code::FileTooLarge),
            "{err:?}"
        );
    }

    #[test]
    fn reports_syntax_errors_with_location() {
        let err = load_str("kind: gamebook\nsteps: [a, b\n").unwrap_err();
        assert_eq!(err.code, Code::YamlSyntax);
        let err = load_str("a: 1\n---\nb: 2\n").unwrap_err();
        assert!(
            matches!(err.code, Code::MultipleDocuments | Code::YamlBudget),
            "{err:?}"
        );
    }

    #[test]
    fn reports_bad_utf8_position() {
        let err = decode("x.yaml", b"kind: g\xffamebook".to_vec(), FileId(0)).unwrap_err();
        assert_eq!(err.code, Code::NotUtf8);
        assert_eq!(err.span.start, 7);
        // Another encoding is named, not reported as a bad first byte.
        let err = decode("x.yaml", b"\xfe\xff\x00k".to_vec(), FileId(0)).unwrap_err();
        assert_eq!(err.message, "the file is UTF-16 text, not UTF-8");
    }
}
