//! The expression language: conditions (`incident.severity >= high and any(incident.devices,
//! d => d.risk_score == 'high')`) and `{{ }}` templates in strings.
//!
//! Pipeline: text → `parser` (bounds, pest, Pratt precedence) → untyped `ast` → `check`
//! (names resolved to slots and field indices, static types, regex and CIDR literals compiled,
//! constants folded) → [`Expr`], which `eval` evaluates against an [`Env`]. Conditions are
//! also compiled (`cond`) into specialized nodes for [`Expr::eval_bool`], the hot path of
//! planning.
//!
//! Grammar, lowest precedence first:
//!
//! | level | operators |
//! |---|---|
//! | 1 | `or` |
//! | 2 | `and` |
//! | 3 | prefix `not` |
//! | 4 | `==` `!=` `<` `<=` `>` `>=` `in` `not in` `contains` `starts_with` `ends_with` `matches` (do not chain) |
//! | 5 | `+` `-` |
//! | 6 | `*` `/` `%` |
//! | 7 | prefix `-` |
//! | 8 | `.field`, `[index]` |
//!
//! Literals: `'text'`/`"text"` (escapes `\n \t \\ \' \"`; any other backslash is kept, so
//! regexes read `'\d+'`), `42`, `4.2`, `true`, `false`, `null`, durations
//! `500ms 30s 15m 4h 7d 2w`, severities `informational low medium high`, lists `[a, b]`.
//! Functions are listed in `functions.rs`; lambdas `x => …` appear only as their arguments.
//!
//! Run-time semantics: a missing value is null; a field of null, an index out of range and a
//! division by zero are null; `<`, `<=`, `>`, `>=` with null are false; `null == null`; a
//! condition holds only for `true` (null is false); list functions treat null as `[]`.
//! Evaluation spends at most 10 million units of work (see `eval.rs`): lambda calls, list items
//! built, and the work that grows with the data (long text searched or compared, long lists
//! scanned, values hashed); beyond, list functions and the operation that ran out yield null.
//!
//! Architecture Invariant: compiling never panics and is bounded on any text (length, bracket
//! nesting, prefix-operator runs and tree depth are limited before anything recurses), and
//! evaluation is total: it never panics and yields null where a value does not exist.

mod ast;
mod check;
mod cond;
mod eval;
mod functions;
mod parser;
mod regexes;
mod template;
#[cfg(test)]
mod tests;

use std::sync::Arc;

use crate::diagnostic::Diagnostic;
use crate::source::{FileId, Span};
use crate::types::Type;
use crate::value::Value;

pub use eval::{run_out_of_work, with_run_budget, with_run_budget_spent, MAX_LAMBDA_CALLS};
pub(crate) use parser::KEYWORDS;
pub use regexes::{Regexes, MAX_LIBRARY_REGEX_MEMORY, MAX_REGEX_SIZE};
pub use template::{compile_template, compile_template_with, Template};

use ast::{Arg, Ast, AstKind};
use check::{Checker, Origin};
use cond::Cond;
use eval::{Cx, Ir};

/// Longest expression text, in bytes (RP0206 beyond).
pub const MAX_EXPR_LEN: usize = parser::MAX_LEN;
/// Deepest bracket nesting (RP0206 beyond).
pub const MAX_EXPR_NESTING: usize = parser::MAX_NESTING;

/// The variables an expression may read, in slot order.
#[derive(Clone, Debug, Default)]
pub struct Scope {
    vars: Vec<(String, Type)>,
    /// What is known of the values of some variables, by slot: the values of a string
    /// variable (`action`: the catalog's action ids, like [`crate::types::Field::values`]), or
    /// the field a for-each item's list was read from (`for_each: {items: u.roles, as: r}`).
    /// String literals compared with such a variable must be among them.
    origins: Vec<(usize, Origin)>,
}

impl Scope {
    pub fn new() -> Self {
        Scope::default()
    }

    /// Adds a variable; its slot is its index.
    pub fn with(mut self, name: &str, ty: Type) -> Self {
        self.push(name, ty);
        self
    }

    /// Adds a variable and returns its slot. A later variable of the same name shadows an
    /// earlier one.
    pub fn push(&mut self, name: &str, ty: Type) -> usize {
        self.vars.push((name.to_string(), ty));
        self.vars.len() - 1
    }

    /// [`Scope::with`] for a string variable whose values are known (`action`: the action ids
    /// an approval rule covers).
    pub fn with_values(
        mut self,
        name: &str,
        ty: Type,
        values: impl Into<std::sync::Arc<[&'static str]>>,
    ) -> Self {
        let slot = self.push(name, ty);
        let origin = Origin::Var {
            name: name.to_string(),
            values: values.into(),
        };
        self.origins.push((slot, origin));
        self
    }

    /// Adds a variable that ranges over the items of the list `items` computes (a for-each
    /// item), returning its slot: its values are those of the field the list's items came
    /// from, if any.
    pub fn push_item_of(&mut self, name: &str, ty: Type, items: Option<&Expr>) -> usize {
        let slot = self.push(name, ty);
        if let Some(origin) = items.and_then(|x| x.0.origin.clone()) {
            self.origins.push((slot, origin));
        }
        slot
    }

    /// What is known of the values of the variable in `slot`.
    pub(crate) fn origin(&self, slot: usize) -> Option<&Origin> {
        self.origins
            .iter()
            .find(|(s, _)| *s == slot)
            .map(|(_, o)| o)
    }

    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.vars.iter().map(|(n, _)| n.as_str())
    }

    /// The slot and type of a variable.
    pub fn get(&self, name: &str) -> Option<(usize, &Type)> {
        self.vars
            .iter()
            .enumerate()
            .rev()
            .find(|(_, (n, _))| n == name)
            .map(|(i, (_, t))| (i, t))
    }

    pub fn len(&self) -> usize {
        self.vars.len()
    }

    pub fn is_empty(&self) -> bool {
        self.vars.is_empty()
    }
}

/// What an evaluation reads: the variables' values in [`Scope`] slot order, and the time.
#[derive(Clone, Copy, Debug)]
pub struct Env<'a> {
    pub vars: &'a [Value],
    /// Milliseconds since the epoch, returned by `now()`.
    pub now_ms: i64,
}

/// Where the expression text sits: `offset` is the byte offset of `text[0]` in `file`, so
/// spans in diagnostics are file spans.
#[derive(Clone, Copy, Debug)]
pub struct ExprSource<'a> {
    pub text: &'a str,
    pub file: FileId,
    pub offset: u32,
}

impl<'a> ExprSource<'a> {
    /// Text that is a whole file of its own (offset 0), e.g. in tests and tools.
    pub fn detached(text: &'a str) -> Self {
        ExprSource {
            text,
            file: FileId::default(),
            offset: 0,
        }
    }
}

/// A parsed and type-checked expression, ready to evaluate. Cheap to clone.
#[derive(Clone, Debug)]
pub struct Expr(Arc<ExprInner>);

struct ExprInner {
    ir: Ir,
    /// `ir` compiled for [`Expr::eval_bool`]; `None` when it is a shape left to the
    /// interpreter.
    cond: Option<Box<dyn Cond>>,
    ty: Type,
    span: Span,
    refs: Vec<(Vec<String>, Span)>,
    /// The field the value's values come from (a list's: its items'), for variables that
    /// range over them.
    origin: Option<Origin>,
}

impl std::fmt::Debug for ExprInner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // `cond` is `ir` in another form.
        f.debug_struct("ExprInner")
            .field("ir", &self.ir)
            .field("ty", &self.ty)
            .field("span", &self.span)
            .field("refs", &self.refs)
            .finish()
    }
}

impl Expr {
    /// The static type of the result.
    pub fn ty(&self) -> &Type {
        &self.0.ty
    }

    /// The file span of the whole expression.
    pub fn span(&self) -> Span {
        self.0.span
    }

    /// Evaluates; never panics. Missing values are null.
    pub fn eval(&self, env: &Env) -> Value {
        if let Ir::Const(v) = &self.0.ir {
            return v.clone();
        }
        let mut cx = Cx::new(env);
        let value = self.0.ir.eval(&mut cx).into_owned();
        cx.settle();
        value
    }

    /// Evaluates a condition: true only for `true` (null is false). Faster than
    /// [`Expr::eval`]: nothing is built or cloned.
    #[inline]
    pub fn eval_bool(&self, env: &Env) -> bool {
        // Both ways take the environment's parts, so a caller that builds its `Env` on the
        // spot (as planning does) never stores it in memory.
        match &self.0.cond {
            Some(cond) => cond.test_env(env.vars, env.now_ms),
            None => self.test_interpreted(env.vars, env.now_ms),
        }
    }

    /// [`Expr::eval_bool`] by the interpreter: out of line, it needs no `Env` of the caller.
    #[inline(never)]
    fn test_interpreted(&self, vars: &[Value], now_ms: i64) -> bool {
        let env = Env { vars, now_ms };
        let mut cx = Cx::new(&env);
        let holds = self.0.ir.test(&mut cx);
        cx.settle();
        holds
    }

    /// The value, when the expression is a constant (a literal or folded, like `2 * 30m`).
    pub fn constant(&self) -> Option<Value> {
        self.0.ir.as_const().cloned()
    }

    /// Whether the expression, as a condition, is seen never to hold, whatever the incident:
    /// `false`, `incident.severity > high`, `count(x) < 0`, `a == 'x' and a == 'y'`.
    pub fn never_holds(&self) -> bool {
        self.0.ir.never_holds()
    }

    /// Every path read from a root variable, with its span: `steps.isolate.output.ok` gives
    /// `(["steps", "isolate", "output", "ok"], span)`. Paths stop at an index or a call.
    pub fn references(&self) -> Vec<(Vec<String>, Span)> {
        self.0.refs.clone()
    }

    /// The paths of [`Expr::references`], borrowed.
    pub fn paths(&self) -> impl Iterator<Item = &[String]> {
        self.0.refs.iter().map(|(path, _)| path.as_slice())
    }
}

/// Parses and type-checks. `expected`, if given, is the required result type (a mismatch is
/// RP0203 "expected `bool`, found `string`").
pub fn compile(
    src: ExprSource,
    scope: &Scope,
    expected: Option<&Type>,
) -> Result<Expr, Vec<Diagnostic>> {
    compile_with(src, scope, expected, &mut Regexes::new())
}

/// [`compile`] as one expression of a compilation: its `matches` patterns come from, and are
/// paid for by, the compilation's `regexes`.
pub fn compile_with(
    src: ExprSource,
    scope: &Scope,
    expected: Option<&Type>,
    regexes: &mut Regexes,
) -> Result<Expr, Vec<Diagnostic>> {
    let ast = parser::parse(src.text, src.file, src.offset).map_err(|d| vec![d])?;
    let mut ck = Checker::new(scope, src.file, regexes);
    let mut typed = ck.check(&ast);
    if let Some(expected) = expected {
        if *expected == Type::Severity && ast.as_str_lit().is_some() {
            typed = ck.severity_literal(&ast, typed);
        }
        if !typed.ty.fits(expected) {
            let msg = format!("expected `{expected}`, found `{}`", typed.ty);
            let help = match expected {
                Type::Bool => Some(
                    "write a condition, such as `x == 'value'` or `any(list, x => …)`".to_string(),
                ),
                _ => None,
            };
            ck.mismatch(ast.span, msg, help);
        }
    }
    if !ck.diags.is_empty() {
        return Err(ck.diags);
    }
    let mut refs = Vec::new();
    collect_refs(&ast, scope, &mut Vec::new(), &mut refs);
    Ok(Expr(Arc::new(ExprInner {
        cond: cond::compile(&typed.ir),
        ir: typed.ir,
        ty: typed.ty,
        span: ast.span,
        refs,
        origin: typed.origin,
    })))
}

pub(crate) fn parser_offset(n: usize) -> u32 {
    u32::try_from(n).unwrap_or(u32::MAX)
}

/// Collects the maximal field paths rooted at scope variables (not lambda parameters).
fn collect_refs<'a>(
    ast: &'a Ast,
    scope: &Scope,
    locals: &mut Vec<&'a str>,
    out: &mut Vec<(Vec<String>, Span)>,
) {
    match &ast.kind {
        AstKind::Null
        | AstKind::Bool(_)
        | AstKind::Number(_)
        | AstKind::String(_)
        | AstKind::Duration(_)
        | AstKind::Severity(_) => {}
        AstKind::Var(_) | AstKind::Field { .. } => {
            // Walk down the chain of field accesses to its root.
            let mut names = Vec::new();
            let mut node = ast;
            while let AstKind::Field { base, name, .. } = &node.kind {
                names.push(name.clone());
                node = base;
            }
            match &node.kind {
                AstKind::Var(root) => {
                    if !locals.contains(&root.as_str()) && scope.get(root).is_some() {
                        names.push(root.clone());
                        names.reverse();
                        out.push((names, ast.span));
                    }
                }
                _ => collect_refs(node, scope, locals, out),
            }
        }
        AstKind::List(items) | AstKind::Logic { items, .. } => {
            for item in items {
                collect_refs(item, scope, locals, out);
            }
        }
        AstKind::Index { base, index } => {
            collect_refs(base, scope, locals, out);
            collect_refs(index, scope, locals, out);
        }
        AstKind::Call { args, .. } => {
            for arg in args {
                match arg {
                    Arg::Value(a) => collect_refs(a, scope, locals, out),
                    Arg::Lambda { param, body, .. } => {
                        locals.push(param);
                        collect_refs(body, scope, locals, out);
                        locals.pop();
                    }
                }
            }
        }
        AstKind::Unary { operand, .. } => collect_refs(operand, scope, locals, out),
        AstKind::Binary { lhs, rhs, .. } => {
            collect_refs(lhs, scope, locals, out);
            collect_refs(rhs, scope, locals, out);
        }
    }
}
