//! Text → [`Ast`]: bounds checks, pest, and a Pratt parser for precedence.
//!
//! The order matters for safety: the length and bracket nesting are checked on the raw text
//! first, so pest (which recurses once per bracket) only ever sees shallow input; then runs of
//! prefix operators are bounded before the Pratt parser (which recurses once per prefix
//! operator) folds the flat token sequence; the tree depth is bounded while it is built, so
//! the checker and evaluator recurse a bounded number of times.

use pest::iterators::{Pair, Pairs};
use pest::pratt_parser::{Assoc, ConstPrattParser, Op};
use pest::Parser as _;

use super::ast::{Arg, Ast, AstKind, BinOp, LogicOp, UnOp};
use crate::codes::Code;
use crate::diagnostic::Diagnostic;
use crate::source::{FileId, Span};

/// Longest expression text, in bytes.
pub(crate) const MAX_LEN: usize = 8 * 1024;
/// Deepest nesting of brackets (`(`, `[`) and longest run of prefix operators.
pub(crate) const MAX_NESTING: usize = 64;
/// Deepest syntax tree (long operator chains count too).
pub(crate) const MAX_DEPTH: u32 = 128;

#[derive(pest_derive::Parser)]
#[grammar = "expr/grammar.pest"]
struct ExprParser;

static PRATT: ConstPrattParser<Rule, 23> = ConstPrattParser::new_const(pest::pratt_precedence![
    Op::infix(Rule::op_or, Assoc::Left),
    Op::infix(Rule::op_and, Assoc::Left),
    Op::prefix(Rule::op_not),
    Op::infix(Rule::op_eq, Assoc::Left)
        | Op::infix(Rule::op_ne, Assoc::Left)
        | Op::infix(Rule::op_lt, Assoc::Left)
        | Op::infix(Rule::op_le, Assoc::Left)
        | Op::infix(Rule::op_gt, Assoc::Left)
        | Op::infix(Rule::op_ge, Assoc::Left)
        | Op::infix(Rule::op_in, Assoc::Left)
        | Op::infix(Rule::op_not_in, Assoc::Left)
        | Op::infix(Rule::op_contains, Assoc::Left)
        | Op::infix(Rule::op_starts_with, Assoc::Left)
        | Op::infix(Rule::op_ends_with, Assoc::Left)
        | Op::infix(Rule::op_matches, Assoc::Left),
    Op::infix(Rule::op_add, Assoc::Left) | Op::infix(Rule::op_sub, Assoc::Left),
    Op::infix(Rule::op_mul, Assoc::Left)
        | Op::infix(Rule::op_div, Assoc::Left)
        | Op::infix(Rule::op_rem, Assoc::Left),
    Op::prefix(Rule::op_neg),
    Op::postfix(Rule::field) | Op::postfix(Rule::index),
]);

/// Parses one expression. `offset` is the file offset of `text[0]`; every span in the result
/// (and in the diagnostics) is a file span.
pub(crate) fn parse(text: &str, file: FileId, offset: u32) -> Result<Ast, Diagnostic> {
    let cx = Cx { file, offset, text };
    if text.len() > MAX_LEN {
        return Err(Diagnostic::new(
            Code::ExprTooComplex,
            file,
            cx.span(0, text.len()),
            format!(
                "expression is too long ({} bytes; the limit is {MAX_LEN})",
                text.len()
            ),
        )
        .with_help("split the logic into several steps or conditions"));
    }
    cx.scan_brackets()?;
    let mut pairs = ExprParser::parse(Rule::main, text).map_err(|e| cx.pest_error(&e))?;
    cx.check_prefix_runs(pairs.clone())?;
    let expr = pairs
        .next()
        .and_then(|main| main.into_inner().next())
        .ok_or_else(|| cx.error(Code::ExprSyntax, cx.span(0, text.len()), "empty expression"))?;
    Ok(cx.expr(expr)?.ast)
}

struct Cx<'t> {
    file: FileId,
    offset: u32,
    text: &'t str,
}

/// A node under construction, with what the Pratt callbacks need to know about it.
struct Built {
    ast: Ast,
    depth: u32,
    /// A comparison not wrapped in parentheses (comparisons do not chain).
    bare_cmp: bool,
}

type R<T> = Result<T, Diagnostic>;

impl<'t> Cx<'t> {
    fn span(&self, start: usize, end: usize) -> Span {
        Span::new(start, end).shift(self.offset)
    }

    fn pspan(&self, s: pest::Span<'_>) -> Span {
        self.span(s.start(), s.end())
    }

    fn error(&self, code: Code, span: Span, message: impl Into<String>) -> Diagnostic {
        Diagnostic::new(code, self.file, span, message)
    }

    /// Bounds bracket nesting and reports unbalanced brackets and unclosed strings, before pest
    /// sees the text.
    fn scan_brackets(&self) -> R<()> {
        let bytes = self.text.as_bytes();
        let mut stack: Vec<(u8, usize)> = Vec::new();
        let mut i = 0;
        // Whether a `\'` (or `\"`) kept a string open: the usual cause of one left unclosed.
        let mut escaped_quote = None;
        while i < bytes.len() {
            let Some(&b) = bytes.get(i) else { break };
            match b {
                b'\'' | b'"' => {
                    let start = i;
                    i += 1;
                    loop {
                        match bytes.get(i) {
                            None => {
                                let quote = char::from(b);
                                let help = match escaped_quote {
                                    // `'\'` meant as one backslash: YAML's double quotes
                                    // already took one of the two written.
                                    Some(q) => format!(
                                        "`\\{}` is a quote inside the string, not its end: \
                                         write a backslash as `\\\\` (inside YAML double \
                                         quotes, which unescape too, as `\\\\\\\\`)",
                                        char::from(q)
                                    ),
                                    None => format!("end the string with `{quote}`"),
                                };
                                return Err(self
                                    .error(
                                        Code::ExprSyntax,
                                        self.span(start, start + 1),
                                        "unclosed string literal",
                                    )
                                    .with_help(help));
                            }
                            Some(b'\\') => {
                                if bytes.get(i + 1) == Some(&b) {
                                    escaped_quote.get_or_insert(b);
                                }
                                i += 2;
                            }
                            Some(&c) if c == b => break,
                            Some(_) => i += 1,
                        }
                    }
                }
                b'(' | b'[' => {
                    stack.push((b, i));
                    if stack.len() > MAX_NESTING {
                        return Err(self
                            .error(
                                Code::ExprTooComplex,
                                self.span(i, i + 1),
                                format!(
                                    "expression is nested too deeply (more than {MAX_NESTING} levels)"
                                ),
                            )
                            .with_help("flatten the expression or split it into several steps"));
                    }
                }
                b')' | b']' => {
                    let open = if b == b')' { b'(' } else { b'[' };
                    match stack.pop() {
                        Some((o, _)) if o == open => {}
                        Some((o, at)) => {
                            return Err(self
                                .error(
                                    Code::ExprSyntax,
                                    self.span(i, i + 1),
                                    format!(
                                        "`{}` does not close `{}`",
                                        char::from(b),
                                        char::from(o)
                                    ),
                                )
                                .with_related(self.file, self.span(at, at + 1), "opened here")
                                .with_help(format!(
                                    "close it with `{}`",
                                    if o == b'(' { ')' } else { ']' }
                                )));
                        }
                        None => {
                            return Err(self
                                .error(
                                    Code::ExprSyntax,
                                    self.span(i, i + 1),
                                    format!("unexpected `{}`", char::from(b)),
                                )
                                .with_help("remove it, or add the opening bracket it closes"));
                        }
                    }
                }
                _ => {}
            }
            i += 1;
        }
        if let Some(&(o, at)) = stack.last() {
            let close = if o == b'(' { ')' } else { ']' };
            return Err(self
                .error(
                    Code::ExprSyntax,
                    self.span(at, at + 1),
                    format!("unclosed `{}`", char::from(o)),
                )
                .with_help(format!("close it with `{close}`")));
        }
        Ok(())
    }

    /// Bounds runs of prefix operators (`not not not …`, `- - - …`): the Pratt parser recurses
    /// once per prefix operator.
    fn check_prefix_runs(&self, pairs: Pairs<'_, Rule>) -> R<()> {
        let mut run = 0usize;
        for pair in pairs.flatten() {
            if matches!(pair.as_rule(), Rule::op_not | Rule::op_neg) {
                run += 1;
                if run > MAX_NESTING {
                    return Err(self
                        .error(
                            Code::ExprTooComplex,
                            self.pspan(pair.as_span()),
                            format!("more than {MAX_NESTING} prefix operators in a row"),
                        )
                        .with_help("remove the redundant operators"));
                }
            } else {
                run = 0;
            }
        }
        Ok(())
    }

    fn too_deep(&self, span: Span) -> Diagnostic {
        self.error(
            Code::ExprTooComplex,
            span,
            format!("expression is too complex (its tree is deeper than {MAX_DEPTH})"),
        )
        .with_help(
            "split the logic into several conditions, or use `in [..]` instead of long `or` chains",
        )
    }

    fn node(&self, kind: AstKind, span: Span, depth: u32, bare_cmp: bool) -> R<Built> {
        if depth > MAX_DEPTH {
            return Err(self.too_deep(span));
        }
        Ok(Built {
            ast: Ast { kind, span },
            depth,
            bare_cmp,
        })
    }

    /// Folds the flat operand/operator sequence of an `expr` pair.
    fn expr(&self, pair: Pair<'t, Rule>) -> R<Built> {
        PRATT
            .map_primary(|p| self.primary(p))
            .map_prefix(|op, rhs| {
                let rhs = rhs?;
                let op_kind = if op.as_rule() == Rule::op_not {
                    UnOp::Not
                } else {
                    UnOp::Neg
                };
                let span = self.pspan(op.as_span()).join(rhs.ast.span);
                // `not` binds looser than comparisons, so `a == not b == c` reads
                // `a == not (b == c)`: still a chain of comparisons, and refused as one.
                let bare_cmp = op_kind == UnOp::Not && rhs.bare_cmp;
                self.node(
                    AstKind::Unary {
                        op: op_kind,
                        operand: Box::new(rhs.ast),
                    },
                    span,
                    rhs.depth + 1,
                    bare_cmp,
                )
            })
            .map_postfix(|lhs, op| {
                let lhs = lhs?;
                let span = lhs.ast.span.join(self.pspan(op.as_span()));
                let inner = op.into_inner().next();
                match inner {
                    Some(p) if p.as_rule() == Rule::name => {
                        let name_span = self.pspan(p.as_span());
                        self.node(
                            AstKind::Field {
                                base: Box::new(lhs.ast),
                                name: p.as_str().to_string(),
                                name_span,
                            },
                            span,
                            lhs.depth + 1,
                            false,
                        )
                    }
                    Some(p) => {
                        let index = self.expr(p)?;
                        let depth = lhs.depth.max(index.depth) + 1;
                        self.node(
                            AstKind::Index {
                                base: Box::new(lhs.ast),
                                index: Box::new(index.ast),
                            },
                            span,
                            depth,
                            false,
                        )
                    }
                    None => Err(self.error(Code::ExprSyntax, span, "malformed postfix operator")),
                }
            })
            .map_infix(|lhs, op, rhs| self.infix(lhs?, op, rhs?))
            .parse(pair.into_inner())
    }

    fn infix(&self, lhs: Built, op: Pair<'t, Rule>, rhs: Built) -> R<Built> {
        let span = lhs.ast.span.join(rhs.ast.span);
        let bin = match op.as_rule() {
            Rule::op_or => return self.logic(LogicOp::Or, lhs, rhs, span),
            Rule::op_and => return self.logic(LogicOp::And, lhs, rhs, span),
            rule => binop(rule),
        };
        if bin.is_comparison() && (lhs.bare_cmp || rhs.bare_cmp) {
            return Err(self
                .error(
                    Code::ExprSyntax,
                    span,
                    format!("comparisons cannot be chained: `{}`", bin.as_str()),
                )
                .with_label("this compares the result of another comparison")
                .with_help("join the comparisons with `and`, or add parentheses"));
        }
        let depth = lhs.depth.max(rhs.depth) + 1;
        self.node(
            AstKind::Binary {
                op: bin,
                lhs: Box::new(lhs.ast),
                rhs: Box::new(rhs.ast),
            },
            span,
            depth,
            bin.is_comparison(),
        )
    }

    /// `and`/`or` are associative: a chain (parenthesized or not) becomes one node.
    fn logic(&self, op: LogicOp, lhs: Built, rhs: Built, span: Span) -> R<Built> {
        let (kind, depth) = match lhs.ast.kind {
            AstKind::Logic { op: lop, mut items } if lop == op => {
                items.push(rhs.ast);
                (AstKind::Logic { op, items }, lhs.depth.max(rhs.depth + 1))
            }
            kind => {
                let first = Ast {
                    kind,
                    span: lhs.ast.span,
                };
                let items = vec![first, rhs.ast];
                (AstKind::Logic { op, items }, lhs.depth.max(rhs.depth) + 1)
            }
        };
        self.node(kind, span, depth, false)
    }

    fn primary(&self, pair: Pair<'t, Rule>) -> R<Built> {
        let span = self.pspan(pair.as_span());
        let leaf = |kind| self.node(kind, span, 1, false);
        match pair.as_rule() {
            Rule::paren => match pair.into_inner().next() {
                Some(inner) => {
                    let mut b = self.expr(inner)?;
                    b.ast.span = span;
                    b.bare_cmp = false;
                    Ok(b)
                }
                None => Err(self.error(Code::ExprSyntax, span, "empty parentheses")),
            },
            Rule::list => {
                let mut items = Vec::new();
                let mut depth = 0;
                for p in pair.into_inner() {
                    let b = self.expr(p)?;
                    depth = depth.max(b.depth);
                    items.push(b.ast);
                }
                self.node(AstKind::List(items), span, depth + 1, false)
            }
            Rule::call => {
                let mut inner = pair.into_inner();
                let Some(name) = inner.next() else {
                    return Err(self.error(Code::ExprSyntax, span, "malformed call"));
                };
                let name_span = self.pspan(name.as_span());
                let mut args = Vec::new();
                let mut depth = 0;
                for p in inner {
                    if p.as_rule() == Rule::lambda {
                        let lspan = self.pspan(p.as_span());
                        let mut li = p.into_inner();
                        let (Some(param), Some(body)) = (li.next(), li.next()) else {
                            return Err(self.error(Code::ExprSyntax, lspan, "malformed lambda"));
                        };
                        let body = self.expr(body)?;
                        depth = depth.max(body.depth);
                        args.push(Arg::Lambda {
                            param: param.as_str().to_string(),
                            param_span: self.pspan(param.as_span()),
                            body: body.ast,
                            span: lspan,
                        });
                    } else {
                        let b = self.expr(p)?;
                        depth = depth.max(b.depth);
                        args.push(Arg::Value(b.ast));
                    }
                }
                self.node(
                    AstKind::Call {
                        name: name.as_str().to_string(),
                        name_span,
                        args,
                    },
                    span,
                    depth + 1,
                    false,
                )
            }
            Rule::string => {
                let raw = pair.into_inner().next().map_or("", |p| p.as_str());
                leaf(AstKind::String(Self::unescape(raw)))
            }
            Rule::duration => leaf(AstKind::Duration(self.duration(pair.as_str(), span)?)),
            Rule::number => match pair.as_str().parse::<f64>() {
                Ok(n) if n.is_finite() => leaf(AstKind::Number(n)),
                Ok(_) => Err(self.error(
                    Code::ExprSyntax,
                    span,
                    format!(
                        "`{}` is too large a number",
                        crate::diagnostic::clip(pair.as_str(), 40)
                    ),
                )),
                Err(_) => Err(self.error(
                    Code::ExprSyntax,
                    span,
                    format!("`{}` is not a number", pair.as_str()),
                )),
            },
            Rule::kw_true => leaf(AstKind::Bool(true)),
            Rule::kw_false => leaf(AstKind::Bool(false)),
            Rule::kw_null => leaf(AstKind::Null),
            Rule::severity => {
                let level = match pair.as_str() {
                    "informational" => 0,
                    "low" => 1,
                    "medium" => 2,
                    _ => 3,
                };
                leaf(AstKind::Severity(level))
            }
            Rule::ident => leaf(AstKind::Var(pair.as_str().to_string())),
            Rule::expr => {
                let mut b = self.expr(pair)?;
                b.bare_cmp = false;
                Ok(b)
            }
            _ => Err(self.error(
                Code::ExprSyntax,
                span,
                format!("unexpected `{}`", pair.as_str()),
            )),
        }
    }

    /// Resolves the escapes `\n \t \\ \' \"` of a string literal's content. Any other
    /// backslash is kept as written, so regular expressions read naturally: `'\d+\.\d+'`.
    fn unescape(raw: &str) -> String {
        let mut out = String::with_capacity(raw.len());
        let mut chars = raw.chars();
        while let Some(c) = chars.next() {
            if c != '\\' {
                out.push(c);
                continue;
            }
            match chars.next() {
                Some('n') => out.push('\n'),
                Some('t') => out.push('\t'),
                Some('\\') => out.push('\\'),
                Some('\'') => out.push('\''),
                Some('"') => out.push('"'),
                Some(other) => {
                    out.push('\\');
                    out.push(other);
                }
                None => out.push('\\'),
            }
        }
        out
    }

    fn duration(&self, text: &str, span: Span) -> R<i64> {
        crate::duration::parse_duration(text).ok_or_else(|| {
            self.error(
                Code::ExprSyntax,
                span,
                format!("duration `{text}` is too large"),
            )
            .with_help("use a duration of less than about 290 million years")
        })
    }

    /// A pest failure as a diagnostic with a friendly message.
    fn pest_error(&self, e: &pest::error::Error<Rule>) -> Diagnostic {
        let pos = match e.location {
            pest::error::InputLocation::Pos(p) => p,
            pest::error::InputLocation::Span((s, _)) => s,
        };
        let positives: &[Rule] = match &e.variant {
            pest::error::ErrorVariant::ParsingError { positives, .. } => positives,
            pest::error::ErrorVariant::CustomError { .. } => &[],
        };
        let rest = self.text.get(pos..).unwrap_or("");
        let before = self.text.get(..pos).unwrap_or("").trim_end();
        let (token, mut help) = unexpected_token(rest);
        // `low => …`, `in => …`: the lambda is where it belongs, but its parameter is a
        // reserved word. The parser stops at the arrow after a value word, at an operator word
        // itself.
        let word_before = || {
            let at = before
                .rfind(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
                .map_or(0, |i| i + 1);
            before.get(at..).unwrap_or("")
        };
        let parameter = match token {
            Some(t) if rest[t.len()..].trim_start().starts_with("=>") => Some(t),
            _ if rest.starts_with("=>") => Some(word_before()),
            _ => None,
        };
        if let Some(word) = parameter.filter(|w| KEYWORDS.contains(w)) {
            help = Some(format!(
                "`{word}` is a reserved word and cannot name a lambda parameter; use another \
                 name, as in `any(list, x => …)`"
            ));
        }
        if rest.starts_with('(')
            && before.ends_with(|c: char| c.is_ascii_alphanumeric() || c == '_')
        {
            help =
                Some("only functions can be called, as in `len(x)`; there are no methods".into());
        }
        let d = match token {
            None => self.error(
                Code::ExprSyntax,
                self.span(pos, pos),
                "unexpected end of expression",
            ),
            Some(tok) => self.error(
                Code::ExprSyntax,
                self.span(pos, pos + tok.len()),
                format!("unexpected `{tok}`"),
            ),
        };
        if help.is_none() {
            help = expected(positives);
        }
        match help {
            Some(h) => d.with_help(h),
            None => d,
        }
    }
}

fn binop(rule: Rule) -> BinOp {
    match rule {
        Rule::op_eq => BinOp::Eq,
        Rule::op_ne => BinOp::Ne,
        Rule::op_lt => BinOp::Lt,
        Rule::op_le => BinOp::Le,
        Rule::op_gt => BinOp::Gt,
        Rule::op_ge => BinOp::Ge,
        Rule::op_in => BinOp::In,
        Rule::op_not_in => BinOp::NotIn,
        Rule::op_contains => BinOp::Contains,
        Rule::op_starts_with => BinOp::StartsWith,
        Rule::op_ends_with => BinOp::EndsWith,
        Rule::op_matches => BinOp::Matches,
        Rule::op_add => BinOp::Add,
        Rule::op_sub => BinOp::Sub,
        Rule::op_mul => BinOp::Mul,
        Rule::op_div => BinOp::Div,
        // The Pratt table holds no other infix rule.
        _ => BinOp::Rem,
    }
}

/// The words of the grammar's `keyword` rule: no variable or parameter takes these names.
pub(crate) const KEYWORDS: &[&str] = &[
    "and",
    "or",
    "not",
    "in",
    "contains",
    "starts_with",
    "ends_with",
    "matches",
    "true",
    "false",
    "null",
    "informational",
    "low",
    "medium",
    "high",
];

/// The token at the start of `rest` and, for common slips, what to write instead.
fn unexpected_token(rest: &str) -> (Option<&str>, Option<String>) {
    let Some(c) = rest.chars().next() else {
        return (None, None);
    };
    let numeric = c.is_ascii_digit();
    let word_len = rest
        .find(|c: char| !(c.is_alphanumeric() || c == '_' || (numeric && c == '.')))
        .unwrap_or(rest.len());
    if word_len > 0 {
        // `find` returns char boundaries.
        let word = rest.get(..word_len).unwrap_or(rest);
        let help = if c.is_ascii_uppercase() {
            Some(format!(
                "names start with a lowercase letter; did you mean `{}`?",
                word.to_ascii_lowercase()
            ))
        } else if numeric && word.contains(|c: char| c.is_alphabetic()) {
            Some("numbers are written `42` or `4.2`; durations `500ms`, `30s`, `15m`, `4h`, `7d` or `2w`".to_string())
        } else {
            None
        };
        return (Some(word), help);
    }
    for (tok, help) in [
        ("&&", "write `and` instead of `&&`"),
        ("||", "write `or` instead of `||`"),
        (
            "=>",
            "a lambda `x => …` is only allowed as a function argument, as in `any(list, x => …)`",
        ),
        ("===", "compare with `==`"),
    ] {
        if rest.starts_with(tok) {
            return (rest.get(..tok.len()), Some(help.to_string()));
        }
    }
    let one = rest.get(..c.len_utf8()).unwrap_or(rest);
    let help = match c {
        '!' => Some("write `not` instead of `!`".to_string()),
        '=' => Some("compare with `==`".to_string()),
        '&' => Some("write `and` instead of `&`".to_string()),
        '|' => Some("write `or` instead of `|`".to_string()),
        '{' | '}' => {
            Some("`{{ }}` templates are not expressions; write the expression alone".to_string())
        }
        _ => None,
    };
    (Some(one), help)
}

/// "expected …" help from pest's list of rules it tried.
fn expected(positives: &[Rule]) -> Option<String> {
    let mut parts: Vec<&str> = Vec::new();
    for rule in positives {
        let what = match rule {
            Rule::EOI => "the end of the expression",
            Rule::name => "a field name",
            Rule::ident
            | Rule::expr
            | Rule::paren
            | Rule::list
            | Rule::call
            | Rule::lambda
            | Rule::string
            | Rule::duration
            | Rule::number
            | Rule::kw_true
            | Rule::kw_false
            | Rule::kw_null
            | Rule::severity
            | Rule::op_not
            | Rule::op_neg => "a value",
            Rule::field | Rule::index => "an operator",
            r if format!("{r:?}").starts_with("op_") => "an operator",
            _ => continue,
        };
        if !parts.contains(&what) {
            parts.push(what);
        }
    }
    match parts.as_slice() {
        [] => None,
        [one] => Some(format!("expected {one}")),
        [init @ .., last] => Some(format!("expected {} or {last}", init.join(", "))),
    }
}
