//! Syntax → AST: reads the [`Node`] tree of one file into an [`ast::Document`], reporting every
//! unknown, duplicate, missing or mistyped key of the file (not only the first).

pub(crate) mod gamebook;
pub(crate) mod sop;

/// How many attempts a step with a `retry` makes, at least and at most.
pub use gamebook::ATTEMPTS as RETRY_ATTEMPTS;

use crate::ast::{self, ExprText, Meta, Spanned};
use crate::codes::Code;
use crate::diagnostic::{suggestion, Diagnostic};
use crate::duration::parse_duration;
use crate::source::{FileId, SourceFile, Span};
use crate::syntax::{Node, NodeValue};

/// Lowers one parsed file. Returns `None` when the document is too broken to use; the
/// diagnostics say why.
pub fn lower(
    file: FileId,
    src: &SourceFile,
    root: &Node,
    diags: &mut Vec<Diagnostic>,
) -> Option<ast::Document> {
    let mut cx = Lowerer { file, src, diags };
    let Some(map) = root.as_map() else {
        cx.error(
            Code::WrongYamlType,
            root.span,
            format!(
                "expected a mapping at the top of the document, found {}",
                root.type_name()
            ),
            "a document starts with `kind: gamebook` or `kind: sop`",
        );
        return None;
    };
    let _ = map;
    let Some(kind) = root.get("kind") else {
        // A workspaces file given as a library file: said so, rather than asking for a `kind`.
        let help = if root.get("workspaces").is_some() {
            "this looks like a workspaces file, not a gamebook or SOP: pass it with \
             `--workspaces FILE` (`riposte check --workspaces FILE` checks it with the library)"
        } else {
            "add `kind: gamebook` or `kind: sop` at the top of the document"
        };
        cx.error(
            Code::MissingKey,
            Span::new(root.span.start as usize, root.span.start as usize),
            "missing key `kind`",
            help,
        );
        return None;
    };
    match kind.as_str() {
        Some("gamebook") => {
            gamebook::lower_gamebook(&mut cx, root).map(|g| ast::Document::Gamebook(Box::new(g)))
        }
        Some("sop") => sop::lower_sop(&mut cx, root).map(|s| ast::Document::Sop(Box::new(s))),
        // A list or a mapping is no name: its type is what is wrong.
        _ if matches!(kind.value, NodeValue::Seq(_) | NodeValue::Map(_)) => {
            cx.error(
                Code::WrongYamlType,
                kind.span,
                format!("expected `kind` to be a string, found {}", kind.type_name()),
                "write `kind: gamebook` or `kind: sop`",
            );
            None
        }
        _ => {
            let found = kind
                .scalar_text()
                .unwrap_or_else(|| kind.type_name().into());
            // A test file not named `*.test.yaml` is read as a library file.
            let help = if found == "test" {
                "a test file is named `*.test.yaml`, which a library skips: rename the file and \
                 run it with `riposte test`"
                    .to_string()
            } else {
                suggestion(&found, ["gamebook", "sop"])
            };
            cx.error(
                Code::UnknownKind,
                kind.span,
                format!("unknown kind `{found}`"),
                help,
            );
            None
        }
    }
}

pub(crate) struct Lowerer<'a> {
    pub file: FileId,
    pub src: &'a SourceFile,
    pub diags: &'a mut Vec<Diagnostic>,
}

impl Lowerer<'_> {
    pub fn error(
        &mut self,
        code: Code,
        span: Span,
        message: impl Into<String>,
        help: impl Into<String>,
    ) {
        self.diags
            .push(Diagnostic::new(code, self.file, span, message).with_help(help));
    }

    /// Reports RP0102 at `span`, pointing back at the `first` definition.
    pub fn duplicate(
        &mut self,
        span: Span,
        first: Span,
        message: String,
        help: &str,
        first_note: &str,
    ) -> &mut Diagnostic {
        let d = Diagnostic::new(Code::DuplicateKey, self.file, span, message)
            .with_help(help)
            .with_related(self.file, first, first_note);
        self.diags.push(d);
        let last = self.diags.len() - 1;
        &mut self.diags[last]
    }

    /// Checks that `node` is a mapping whose keys are all in `allowed`, reporting unknown and
    /// duplicate keys. Returns the node for lookups when it is a mapping.
    pub fn mapping<'n>(
        &mut self,
        node: &'n Node,
        what: &str,
        allowed: &[&str],
    ) -> Option<&'n Node> {
        let Some(entries) = node.as_map() else {
            self.error(
                Code::WrongYamlType,
                node.span,
                format!(
                    "expected {what} to be a mapping, found {}",
                    node.type_name()
                ),
                format!(
                    "write {what} as `key: value` lines; allowed keys: {}",
                    allowed.join(", ")
                ),
            );
            return None;
        };
        let mut seen: Vec<(&str, Span)> = Vec::new();
        for (key, _) in entries {
            let Some(k) = key.as_str() else {
                self.error(
                    Code::WrongYamlType,
                    key.span,
                    format!("expected a string key in {what}, found {}", key.type_name()),
                    "keys are plain words such as `id` or `action`",
                );
                continue;
            };
            if let Some((_, first)) = seen.iter().find(|(s, _)| *s == k) {
                let first = *first;
                self.duplicate(
                    key.span,
                    first,
                    format!("duplicate key `{k}` in {what}"),
                    "remove one of the two entries",
                    "first defined here",
                )
                .label = Some("defined again here".into());
                continue;
            }
            seen.push((k, key.span));
            if !allowed.contains(&k) {
                self.error(
                    Code::UnknownKey,
                    key.span,
                    format!("unknown key `{k}` in {what}"),
                    suggestion(k, allowed.iter().copied()),
                );
            }
        }
        Some(node)
    }

    /// A required key; reports it missing at `at`.
    pub fn required<'n>(
        &mut self,
        map: &'n Node,
        key: &str,
        what: &str,
        help: &str,
    ) -> Option<&'n Node> {
        let found = map.get(key);
        if found.is_none() {
            let at = Span::new(map.span.start as usize, map.span.start as usize);
            self.error(
                Code::MissingKey,
                at,
                format!("missing key `{key}` in {what}"),
                help.to_string(),
            );
        }
        found
    }

    pub fn string(&mut self, node: &Node, what: &str) -> Option<Spanned<String>> {
        match &node.value {
            NodeValue::Str(s) => Some(Spanned::new(s.clone(), node.span)),
            // Plain scalars that YAML typed as numbers (`version: 1.0`) are meant as text.
            NodeValue::Int(_) | NodeValue::Float(_) | NodeValue::Bool(_) => Some(Spanned::new(
                node.scalar_source_text(&self.src.text).unwrap_or_default(),
                node.span,
            )),
            _ => {
                self.error(
                    Code::WrongYamlType,
                    node.span,
                    format!("expected {what} to be a string, found {}", node.type_name()),
                    "write a single value on one line",
                );
                None
            }
        }
    }

    pub fn string_list(&mut self, node: &Node, what: &str) -> Vec<Spanned<String>> {
        match &node.value {
            NodeValue::Seq(items) => items.iter().filter_map(|n| self.string(n, what)).collect(),
            // One value for the list, a number or a boolean read as its text, as in a list.
            NodeValue::Str(_) | NodeValue::Int(_) | NodeValue::Float(_) | NodeValue::Bool(_) => {
                self.string(node, what).into_iter().collect()
            }
            _ => {
                self.error(
                    Code::WrongYamlType,
                    node.span,
                    format!("expected {what} to be a list, found {}", node.type_name()),
                    "write a list such as `[a, b]`",
                );
                Vec::new()
            }
        }
    }

    pub fn seq<'n>(&mut self, node: &'n Node, what: &str) -> &'n [Node] {
        match &node.value {
            NodeValue::Seq(items) => items,
            _ => {
                self.error(
                    Code::WrongYamlType,
                    node.span,
                    format!("expected {what} to be a list, found {}", node.type_name()),
                    "write a list of `- ` entries",
                );
                &[]
            }
        }
    }

    pub fn integer(&mut self, node: &Node, what: &str, min: i64, max: i64) -> Option<i64> {
        match node.value {
            NodeValue::Int(i) if (min..=max).contains(&i) => Some(i),
            NodeValue::Int(i) => {
                self.error(
                    Code::InvalidValue,
                    node.span,
                    format!("{what} is `{i}`, outside {min}..={max}"),
                    format!("use a whole number from {min} to {max}"),
                );
                None
            }
            // Digits too many for a 64-bit integer: YAML reads them as a float.
            NodeValue::Float(f) if f.fract() == 0.0 && f.abs() > i64::MAX as f64 => {
                self.error(
                    Code::InvalidValue,
                    node.span,
                    format!("{what} is far outside {min}..={max}"),
                    format!("use a whole number from {min} to {max}"),
                );
                None
            }
            _ => {
                self.error(
                    Code::WrongYamlType,
                    node.span,
                    format!(
                        "expected {what} to be a whole number, found {}",
                        node.type_name()
                    ),
                    format!("use a whole number from {min} to {max}"),
                );
                None
            }
        }
    }

    pub fn duration(&mut self, node: &Node, what: &str) -> Option<Spanned<i64>> {
        let text = node.scalar_text();
        match text.as_deref().and_then(parse_duration) {
            Some(ms) if ms > 0 => Some(Spanned::new(ms, node.span)),
            Some(_) => {
                self.error(
                    Code::InvalidValue,
                    node.span,
                    format!(
                        "{what} `{}` is zero; it must be longer",
                        text.unwrap_or_default()
                    ),
                    "write a duration longer than zero: `30s`, `15m`, `4h`, `7d`",
                );
                None
            }
            None => {
                // Digits and a unit that overflow: a duration, only far too long.
                let too_long = text.as_deref().is_some_and(|t| {
                    let t = t.trim();
                    let digits = t.bytes().take_while(u8::is_ascii_digit).count();
                    digits > 0 && matches!(&t[digits..], "ms" | "s" | "m" | "h" | "d" | "w")
                });
                let message = if too_long {
                    format!("{what} `{}` is far too long", text.unwrap_or_default())
                } else {
                    format!(
                        "{what} `{}` is not a duration",
                        text.unwrap_or_else(|| node.type_name().into())
                    )
                };
                self.error(
                    Code::InvalidValue,
                    node.span,
                    message,
                    "write a number and a unit: `30s`, `15m`, `4h`, `7d`",
                );
                None
            }
        }
    }

    /// A keyword from a fixed set, with a suggestion when misspelled.
    pub fn keyword<T: Copy>(
        &mut self,
        node: &Node,
        what: &str,
        names: &'static [&'static str],
        parse: fn(&str) -> Option<T>,
    ) -> Option<Spanned<T>> {
        self.keyword_coded(Code::InvalidValue, node, what, names, parse)
    }

    /// A role name (`workspace_owner`, …).
    pub fn role(&mut self, node: &Node) -> Option<Spanned<ast::Role>> {
        self.keyword_coded(
            Code::UnknownRole,
            node,
            "role",
            ast::Role::NAMES,
            ast::Role::parse,
        )
    }

    fn keyword_coded<T: Copy>(
        &mut self,
        code: Code,
        node: &Node,
        what: &str,
        names: &'static [&'static str],
        parse: fn(&str) -> Option<T>,
    ) -> Option<Spanned<T>> {
        let s = self.string(node, what)?;
        match parse(&s.value) {
            Some(v) => Some(Spanned::new(v, s.span)),
            None => {
                self.error(
                    code,
                    s.span,
                    format!("unknown {what} `{}`", s.value),
                    suggestion(&s.value, names.iter().copied()),
                );
                None
            }
        }
    }

    pub fn keyword_list<T: Copy>(
        &mut self,
        node: &Node,
        what: &str,
        names: &'static [&'static str],
        parse: fn(&str) -> Option<T>,
    ) -> Vec<T> {
        let items: Vec<Node> = match &node.value {
            NodeValue::Seq(items) => items.clone(),
            _ => vec![node.clone()],
        };
        items
            .iter()
            .filter_map(|n| self.keyword(n, what, names, parse))
            .map(|s| s.value)
            .collect()
    }

    /// An expression written as a YAML scalar. Booleans are accepted (`if: false`).
    pub fn expr(&mut self, node: &Node, what: &str) -> Option<ExprText> {
        let text = match &node.value {
            NodeValue::Str(s) => s.clone(),
            NodeValue::Bool(_) | NodeValue::Int(_) | NodeValue::Float(_) => {
                node.scalar_source_text(&self.src.text)?
            }
            _ => {
                let help = if node.is_unquoted_template(&self.src.text) {
                    "write the expression in quotes, without `{{ }}`: unquoted, YAML reads `{{ … }}` as a mapping"
                } else if let NodeValue::Seq(_) = node.value {
                    "a list is an expression too: quote it, as in `\"[incident.users[0]]\"`"
                } else {
                    "write the expression as a string, e.g. `incident.severity == high`"
                };
                self.error(
                    Code::WrongYamlType,
                    node.span,
                    format!(
                        "expected {what} to be an expression, found {}",
                        node.type_name()
                    ),
                    help,
                );
                return None;
            }
        };
        Some(self.expr_text(text, node.span))
    }

    /// Locates `text` inside the scalar at `span` so expression spans map to the file.
    pub fn expr_text(&self, text: String, span: Span) -> ExprText {
        ExprText::locate(self.src, text, span)
    }

    /// `name`, `description`, `tags`, `mitre` of any document.
    pub fn meta(&mut self, root: &Node, what: &str) -> Option<Meta> {
        let kind_span = root.get("kind").map_or_else(Span::default, |k| k.span);
        let name_node = self.required(
            root,
            "name",
            what,
            "add `name: my-name` (lowercase words joined by `-`)",
        );
        let name = name_node.and_then(|n| self.string(n, "`name`"));
        if let Some(name) = &name {
            if !is_document_name(&name.value) {
                self.error(
                    Code::InvalidValue,
                    name.span,
                    format!(
                        "name `{}` is not a valid document name",
                        crate::diagnostic::clip(&name.value, 80)
                    ),
                    document_name_help(&name.value),
                );
            }
        }
        let description = root
            .get("description")
            .and_then(|n| self.string(n, "`description`"))
            .map(|s| s.value);
        let tags = root
            .get("tags")
            .map(|n| {
                self.string_list(n, "`tags`")
                    .into_iter()
                    .map(|s| s.value)
                    .collect()
            })
            .unwrap_or_default();
        let mitre = root
            .get("mitre")
            .map(|n| self.string_list(n, "`mitre`"))
            .unwrap_or_default();
        for t in &mitre {
            if !is_mitre_technique(&t.value) {
                self.error(
                    Code::InvalidValue,
                    t.span,
                    format!("`{}` is not a MITRE ATT&CK technique id", t.value),
                    "write a technique id such as `T1566` or a sub-technique such as `T1566.001`",
                );
            }
        }
        Some(Meta {
            file: self.file,
            name: name?,
            description,
            tags,
            mitre,
            kind_span,
        })
    }

    pub fn task(&mut self, node: &Node, what: &str) -> Option<ast::Task> {
        let map = self.mapping(node, what, &["title", "role", "description", "checklist"])?;
        let title = self.required(map, "title", what, "add `title: what the person should do`");
        let role = self.required(
            map,
            "role",
            what,
            "add `role: incident_responder` (who does the task)",
        );
        let title = title.and_then(|t| self.expr(t, "`title`"));
        // A missing or unknown role is reported where it belongs; the task is kept with a
        // stand-in, so that its title is still checked and its step stays known to `needs` and
        // `steps.<id>` (no error of the role is reported again as an unknown step). Nothing runs
        // a library with errors.
        let role = role
            .and_then(|r| self.role(r))
            .unwrap_or(Spanned::new(ast::Role::IncidentResponder, node.span));
        let description = map
            .get("description")
            .and_then(|d| self.string(d, "`description`"))
            .map(|s| s.value);
        let checklist = map
            .get("checklist")
            .map(|c| {
                self.string_list(c, "`checklist`")
                    .into_iter()
                    .map(|s| s.value)
                    .collect()
            })
            .unwrap_or_default();
        Some(ast::Task {
            title: title?,
            role,
            description,
            checklist,
        })
    }

    /// A mapping of values by name (`with:` inputs, `params`, `limits`), each `entry` of it
    /// (`input`, `param`) written `entry: value`; `None` when it is no mapping (reported).
    pub fn with_values(
        &mut self,
        node: &Node,
        what: &str,
        entry: &str,
    ) -> Option<Vec<(Spanned<String>, Node)>> {
        let Some(entries) = node.as_map() else {
            self.error(
                Code::WrongYamlType,
                node.span,
                format!(
                    "expected {what} to be a mapping, found {}",
                    node.type_name()
                ),
                format!("write one `{entry}: value` line per {entry}"),
            );
            return None;
        };
        let mut out: Vec<(Spanned<String>, Node)> = Vec::new();
        for (k, v) in entries {
            let Some(key) = self.string(k, "an input name") else {
                continue;
            };
            if let Some((first, _)) = out.iter().find(|(f, _)| f.value == key.value) {
                let first = first.span;
                self.duplicate(
                    key.span,
                    first,
                    format!("duplicate key `{}` in {what}", key.value),
                    "remove one of the two entries",
                    "first defined here",
                );
                continue;
            }
            out.push((key, v.clone()));
        }
        Some(out)
    }
}

fn is_mitre_technique(s: &str) -> bool {
    let b = s.as_bytes();
    let main = b.len() >= 5 && b[0] == b'T' && b[1..5].iter().all(u8::is_ascii_digit);
    match b.len() {
        5 => main,
        9 => main && b[5] == b'.' && b[6..9].iter().all(u8::is_ascii_digit),
        _ => false,
    }
}

/// Words that cannot name a variable: the expression language's keywords and its roots.
pub(crate) fn is_reserved(word: &str) -> bool {
    crate::expr::KEYWORDS.contains(&word) || ["incident", "inputs", "steps"].contains(&word)
}

/// Longest step id, input, output or item name.
pub(crate) const IDENTIFIER_MAX_LEN: usize = 64;
/// Longest gamebook or SOP name.
pub(crate) const DOCUMENT_NAME_MAX_LEN: usize = 100;

/// Step ids, input, output and item names are used in expressions, so they must be
/// identifiers.
pub(crate) fn is_identifier(s: &str) -> bool {
    s.starts_with(|c: char| c.is_ascii_lowercase() || c == '_')
        && s.chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
        && s.len() <= IDENTIFIER_MAX_LEN
}

/// The help for `s`, which is no identifier: the rule, where `read_as` says how it is read
/// (`steps.<id>`), and the identifier nearest to it, when there is one (`isolate_device` for
/// `Isolate Device`; `step_123` for `123`, with `prefix` `step`).
pub(crate) fn identifier_help(s: &str, read_as: Option<&str>, prefix: &str) -> String {
    let mut help = format!(
        "use lowercase letters, digits and `_`, at most {IDENTIFIER_MAX_LEN} characters, not \
         starting with a digit"
    );
    if let Some(read_as) = read_as {
        help.push_str(&format!(" ({read_as})"));
    }
    if let Some(near) = nearest_identifier(s, prefix) {
        help.push_str(&format!(", e.g. `{near}`"));
    }
    help
}

/// The identifier nearest to `s`, which is none (`isolate_device` for `Isolate Device`), if
/// there is one.
pub(crate) fn nearest_identifier(s: &str, prefix: &str) -> Option<String> {
    nearest_name(s, '_', prefix, IDENTIFIER_MAX_LEN).filter(|n| is_identifier(n))
}

/// The help for `s`, which is no document name: the rule and the name nearest to it.
pub(crate) fn document_name_help(s: &str) -> String {
    let near = nearest_name(s, '-', "gamebook", DOCUMENT_NAME_MAX_LEN)
        .filter(|n| is_document_name(n))
        .unwrap_or_else(|| "contain-compromised-device".to_string());
    format!(
        "use lowercase letters, digits and `-`, starting with a letter, at most \
         {DOCUMENT_NAME_MAX_LEN} characters (e.g. `{near}`)"
    )
}

/// `s` lowercased, each run of other characters than ASCII letters and digits one `joint`,
/// none at either end, `prefix` and a `joint` before a leading digit, cut at `max` bytes.
fn nearest_name(s: &str, joint: char, prefix: &str, max: usize) -> Option<String> {
    let mut out = String::new();
    for c in s.chars() {
        if c.is_ascii_alphanumeric() {
            out.push(c.to_ascii_lowercase());
        } else if !out.is_empty() && !out.ends_with(joint) {
            out.push(joint);
        }
    }
    // A name too long is told the limit: the same name cut is no nearer.
    if s.len() > max {
        return None;
    }
    if out.starts_with(|c: char| c.is_ascii_digit()) {
        out.insert(0, joint);
        out.insert_str(0, prefix);
    }
    out.truncate(max);
    let out = out.trim_end_matches(joint);
    (!out.is_empty()).then(|| out.to_string())
}

/// A gamebook or SOP name: lowercase words joined by `-`.
pub(crate) fn is_document_name(s: &str) -> bool {
    s.starts_with(|c: char| c.is_ascii_lowercase())
        && s.chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
        && s.len() <= DOCUMENT_NAME_MAX_LEN
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The name a help suggests is itself valid, and near what was written.
    #[test]
    fn suggested_names_are_valid() {
        let near = |s: &str| identifier_help(s, None, "step");
        assert!(near("Isolate Device").ends_with("e.g. `isolate_device`"));
        assert!(near("123").ends_with("e.g. `step_123`"));
        assert!(near("step!").ends_with("e.g. `step`"));
        assert!(near("--a--b--").ends_with("e.g. `a_b`"));
        // Nothing near to suggest: the rule alone.
        assert!(!near("é").contains("e.g."));
        assert!(!near("!!").contains("e.g."));
        let long = identifier_help(&"a".repeat(200), None, "step");
        assert!(long.contains("at most 64 characters") && !long.contains("e.g."));
        assert!(document_name_help("My Gamebook").ends_with("(e.g. `my-gamebook`)"));
        assert!(document_name_help("42").ends_with("(e.g. `gamebook-42`)"));
        assert!(document_name_help("---").ends_with("(e.g. `contain-compromised-device`)"));
    }
}
