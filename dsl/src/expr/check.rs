//! [`Ast`] → [`Ir`]: name resolution, static types, literal checks, constant folding.
//!
//! Errors are collected, not returned early: a sub-expression with an error gets type
//! [`Type::Any`], which fits everywhere, so one mistake gives one message and independent
//! mistakes in one expression are all reported.

use std::sync::Arc;

use super::ast::{Ast, AstKind, BinOp, LogicOp, UnOp};
use super::eval::{ArithOp, CmpOp, Ir};
use super::functions::FUNCTIONS;
use super::regexes::{RegexError, Regexes, MAX_REGEX_SIZE};
use super::Scope;
use crate::codes::Code;
use crate::diagnostic::{suggestion, Diagnostic};
use crate::source::{FileId, Span};
use crate::types::{Field, RecordType, Spelling, Type, GROUP_OUTPUT};
use crate::value::Value;

/// How to make a pattern smaller, for the help of RP0204.
const SMALLER_PATTERNS: &str = "`contains`, `starts_with` and `ends_with` need no pattern; a repetition such as `{20}` copies what it repeats; Unicode classes such as `\\w` and `\\d` are large, while `(?-u:\\w)` or `[0-9A-Za-z_]` match ASCII only and are far smaller";

pub(crate) const SEVERITY_LIST: &str = "`informational`, `low`, `medium` or `high`";

pub(crate) struct Checker<'s> {
    pub scope: &'s Scope,
    pub file: FileId,
    /// The compilation's regexes, shared by its expressions.
    pub regexes: &'s mut Regexes,
    /// Lambda parameters in scope, outermost first; the index is the parameter's slot.
    pub locals: Vec<Local>,
    pub diags: Vec<Diagnostic>,
}

/// A lambda parameter in scope.
pub(crate) struct Local {
    pub name: String,
    pub ty: Type,
    /// The field whose values the list's items are, when it lists them (`r` of
    /// `any(e.roles, r => …)`), so that literals compared with the parameter are checked.
    pub origin: Option<Origin>,
}

/// A checked sub-expression.
pub(crate) struct Typed {
    pub ir: Ir,
    pub ty: Type,
    /// The record field the value was read from, when that field lists its known values.
    pub origin: Option<Origin>,
}

#[derive(Clone, Debug)]
pub(crate) enum Origin {
    /// A field of a record.
    Field {
        record: Arc<RecordType>,
        index: usize,
    },
    /// A variable of the scope (`action`).
    Var {
        name: String,
        values: Arc<[&'static str]>,
    },
}

impl Origin {
    /// What the value is, for messages, and what is known of its values.
    fn known(&self) -> Option<(String, Known<'_>)> {
        match self {
            Origin::Field { record, index } => {
                let field: &Field = record.fields.get(*index)?;
                let known = match field.values {
                    Some(values) => Known::Values(values),
                    None => Known::Spelled(field.spelling?),
                };
                Some((format!("{}.{}", record.name, field.name), known))
            }
            Origin::Var { name, values } => Some((name.clone(), Known::Values(values))),
        }
    }
}

/// What the checker knows of the values a string may take.
#[derive(Clone, Copy)]
enum Known<'v> {
    /// One of these (or a value a source added since).
    Values(&'v [&'static str]),
    /// Any value, spelled so.
    Spelled(Spelling),
}

impl Typed {
    pub fn new(ir: Ir, ty: Type) -> Typed {
        Typed {
            ir: ir.optimize(),
            ty,
            origin: None,
        }
    }

    /// This value, holding values of the field `origin` names (if any).
    pub fn with_origin(mut self, origin: Option<Origin>) -> Typed {
        self.origin = origin;
        self
    }

    /// The result of a sub-expression with an error.
    pub fn error() -> Typed {
        Typed::new(Ir::Const(Value::Null), Type::Any)
    }

    fn constant(v: Value, ty: Type) -> Typed {
        Typed::new(Ir::Const(v), ty)
    }
}

fn b(ir: Ir) -> Box<Ir> {
    Box::new(ir)
}

impl<'s> Checker<'s> {
    pub fn new(scope: &'s Scope, file: FileId, regexes: &'s mut Regexes) -> Self {
        Checker {
            scope,
            file,
            regexes,
            locals: Vec::new(),
            diags: Vec::new(),
        }
    }

    /// Records an error and returns it for adding help.
    pub fn error(&mut self, code: Code, span: Span, message: impl Into<String>) -> &mut Diagnostic {
        let d = Diagnostic::new(code, self.file, span, message);
        self.diags.push(d);
        // Just pushed, so the vector is not empty.
        let last = self.diags.len() - 1;
        &mut self.diags[last]
    }

    /// Records a type error with help text.
    pub fn mismatch(&mut self, span: Span, message: impl Into<String>, help: Option<String>) {
        let d = self.error(Code::TypeMismatch, span, message);
        d.help = help;
    }

    /// Checks a sub-expression.
    ///
    /// Stack discipline: this function and every function it recurses through only check
    /// operands and hand the results to a `finish_*` function, so the frames that stay on the
    /// stack while operands are checked are small (this matters for unoptimized builds, where
    /// every local of a function has its own stack slot).
    pub fn check(&mut self, ast: &Ast) -> Typed {
        match &ast.kind {
            AstKind::Null
            | AstKind::Bool(_)
            | AstKind::Number(_)
            | AstKind::String(_)
            | AstKind::Duration(_)
            | AstKind::Severity(_) => literal(&ast.kind),
            AstKind::List(items) => self.list(items),
            AstKind::Var(name) => self.var(name, ast.span),
            AstKind::Field {
                base,
                name,
                name_span,
            } => {
                let base = self.check(base);
                self.field(base, name, *name_span)
            }
            AstKind::Index { base, index } => {
                let b = self.check(base);
                let i = self.check(index);
                self.finish_index(base, index, b, i)
            }
            AstKind::Call {
                name,
                name_span,
                args,
            } => self.call(name, *name_span, args, ast.span),
            AstKind::Unary { op, operand } => {
                let t = self.check(operand);
                self.finish_unary(*op, operand, t)
            }
            AstKind::Binary { op, lhs, rhs } => {
                let l = self.check(lhs);
                if *op == BinOp::Matches {
                    return self.finish_matches(lhs, rhs, l);
                }
                let r = self.check(rhs);
                self.finish_binary(*op, lhs, rhs, l, r, ast.span)
            }
            AstKind::Logic { op, items } => self.logic(*op, items),
        }
    }

    fn logic(&mut self, op: LogicOp, items: &[Ast]) -> Typed {
        let mut irs = Vec::with_capacity(items.len());
        for item in items {
            let t = self.check(item);
            self.expect_bool(&t, item.span, op.as_str());
            irs.push(t.ir);
        }
        let ir = match op {
            LogicOp::And => Ir::And(irs.into()),
            LogicOp::Or => Ir::Or(irs.into()),
        };
        Typed::new(ir, Type::Bool)
    }

    fn list(&mut self, items: &[Ast]) -> Typed {
        let mut elem: Option<Type> = None;
        let mut irs = Vec::with_capacity(items.len());
        // `[incident.status]`: when the values all come from one field, the list holds values
        // of that field, and literals compared with it are checked.
        let mut origins: Vec<Option<Origin>> = Vec::with_capacity(items.len());
        for item in items {
            let t = self.check(item);
            self.unify_element(&mut elem, &t.ty, item.span);
            irs.push(t.ir);
            origins.push(t.origin);
        }
        let null_only = elem.is_none() && !items.is_empty();
        let elem = elem.unwrap_or(if null_only { Type::Null } else { Type::Any });
        let what = |o: &Option<Origin>| o.as_ref().and_then(|o| o.known()).map(|(w, _)| w);
        let one = origins.first().map(what).filter(|w| w.is_some());
        let origin = match one {
            Some(w) if origins.iter().all(|o| what(o) == w) => origins.swap_remove(0),
            _ => None,
        };
        Typed::new(Ir::List(irs.into()), Type::list(elem)).with_origin(origin)
    }

    fn unify_element(&mut self, elem: &mut Option<Type>, ty: &Type, span: Span) {
        match (&*elem, ty) {
            (_, Type::Null | Type::Any) => {}
            (None, ty) | (Some(Type::Null | Type::Any), ty) => *elem = Some(ty.clone()),
            (Some(e), ty) if ty.fits(e) => {}
            (Some(e), ty) if e.fits(ty) => *elem = Some(ty.clone()),
            (Some(e), ty) => {
                let msg = format!("list elements must have one type: found `{ty}` after `{e}`");
                let help = format!(
                    "write every element as a `{e}` (quote numbers meant as text: `'1'`), or \
                     compare with separate lists"
                );
                self.mismatch(span, msg, Some(help));
            }
        }
    }

    fn var(&mut self, name: &str, span: Span) -> Typed {
        if let Some((slot, local)) = self
            .locals
            .iter()
            .enumerate()
            .rev()
            .find(|(_, l)| l.name == name)
        {
            return Typed::new(Ir::Local(slot_u32(slot)), local.ty.clone())
                .with_origin(local.origin.clone());
        }
        if let Some((slot, ty)) = self.scope.get(name) {
            let mut t = Typed::new(Ir::Var(slot_u32(slot)), ty.clone());
            t.origin = self.scope.origin(slot).cloned();
            return t;
        }
        // Outside a lambda only: there, a near parameter name is the likelier meaning.
        let in_lambda = !self.locals.is_empty();
        let yaml_11_bool = |truth: bool| -> Option<&str> {
            let words: &[&str] = match (in_lambda, truth) {
                (true, _) => &[],
                (false, true) => &["yes", "on"],
                (false, false) => &["no", "off"],
            };
            words
                .iter()
                .any(|w| w.eq_ignore_ascii_case(name))
                .then_some(if truth { "true" } else { "false" })
        };
        let help = if FUNCTIONS.contains(&name) {
            format!("`{name}` is a function: call it as `{name}(…)`")
        } else if let Some(word) = yaml_11_bool(true).or_else(|| yaml_11_bool(false)) {
            // YAML 1.1 read these as booleans; Riposte's YAML (1.2) reads them as text, which
            // an expression reads as a name.
            format!("`{name}` is no boolean here (YAML 1.2): write `{word}`")
        } else {
            let names: Vec<&str> = self
                .locals
                .iter()
                .rev()
                .map(|l| l.name.as_str())
                .chain(self.scope.names())
                .collect();
            suggestion(name, names.iter().copied())
        };
        self.error(
            Code::UnknownName,
            span,
            format!("unknown variable `{name}`"),
        )
        .help = Some(help);
        Typed::error()
    }

    fn field(&mut self, base: Typed, name: &str, name_span: Span) -> Typed {
        match &base.ty {
            Type::Record(record) => {
                let Some((index, field)) = record.field(name) else {
                    let help = if record.name == GROUP_OUTPUT {
                        "a group has no output (it is `null`): read the steps inside it, \
                         as `steps.<inner step>.output`"
                            .to_string()
                    } else {
                        suggestion(name, record.field_names())
                    };
                    self.error(
                        Code::UnknownName,
                        name_span,
                        format!("unknown field `{name}` on `{}`", record.name),
                    )
                    .help = Some(help);
                    return Typed::error();
                };
                let ty = field.ty.clone();
                let origin =
                    (field.values.is_some() || field.spelling.is_some()).then(|| Origin::Field {
                        record: record.clone(),
                        index,
                    });
                let i = slot_u32(index);
                let ir = match base.ir {
                    Ir::Var(slot) => Ir::VarPath(slot, Box::new([i])),
                    Ir::VarPath(slot, path) => Ir::VarPath(slot, extend(path, i)),
                    Ir::Local(slot) => Ir::LocalPath(slot, Box::new([i])),
                    Ir::LocalPath(slot, path) => Ir::LocalPath(slot, extend(path, i)),
                    other => Ir::Field(b(other), i),
                };
                let mut t = Typed::new(ir, ty);
                t.origin = origin;
                t
            }
            Type::Any => Typed::new(Ir::FieldByName(b(base.ir), name.into()), Type::Any),
            Type::Null => Typed::constant(Value::Null, Type::Null),
            Type::List(elem) if matches!(**elem, Type::Record(_)) => {
                let msg = format!("cannot read field `{name}` of a list (`{}`)", base.ty);
                let help = if matches!(name, "length" | "len" | "size" | "count") {
                    "a list's length is `count(list)`".to_string()
                } else {
                    format!(
                        "read it from every element with `map(list, x => x.{name})`, or test the elements with `any` or `all`"
                    )
                };
                self.mismatch(name_span, msg, Some(help));
                Typed::error()
            }
            other => {
                let msg = format!("cannot read field `{name}` of `{other}`");
                self.mismatch(name_span, msg, Some("only records have fields".into()));
                Typed::error()
            }
        }
    }

    fn finish_index(
        &mut self,
        base_ast: &Ast,
        index_ast: &Ast,
        base: Typed,
        index: Typed,
    ) -> Typed {
        if !index.ty.fits(&Type::Number) {
            let msg = format!("a list index must be a `number`, found `{}`", index.ty);
            self.mismatch(index_ast.span, msg, None);
        }
        let ty = match &base.ty {
            Type::List(elem) => (**elem).clone(),
            Type::Any => Type::Any,
            Type::Null => Type::Null,
            other => {
                let msg = format!("cannot index `{other}`: only lists can be indexed");
                self.mismatch(base_ast.span, msg, None);
                return Typed::error();
            }
        };
        // An item of a list holds values of the field the list's items came from.
        Typed::new(Ir::Index(b(base.ir), b(index.ir)), ty).with_origin(base.origin)
    }

    fn finish_unary(&mut self, op: UnOp, operand_ast: &Ast, t: Typed) -> Typed {
        match op {
            UnOp::Not => {
                self.expect_bool(&t, operand_ast.span, "not");
                Typed::new(Ir::Not(b(t.ir)), Type::Bool)
            }
            UnOp::Neg => {
                let ty = match t.ty {
                    Type::Number | Type::Duration | Type::Any => t.ty.clone(),
                    Type::Null => Type::Null,
                    ref other => {
                        let msg = format!("cannot negate `{other}`");
                        self.mismatch(
                            operand_ast.span,
                            msg,
                            Some("`-` negates numbers and durations".into()),
                        );
                        return Typed::error();
                    }
                };
                Typed::new(Ir::Neg(b(t.ir)), ty)
            }
        }
    }

    fn expect_bool(&mut self, t: &Typed, span: Span, op: &str) {
        if !t.ty.fits(&Type::Bool) {
            let msg = format!("`{op}` needs a `bool`, found `{}`", t.ty);
            let help = match &t.ty {
                Type::List(_) => Some(
                    "test a list with `any(list, x => …)`, `all(…)` or `count(list) > 0`".into(),
                ),
                Type::String => Some("compare the text, as in `x == 'value'`".into()),
                _ => None,
            };
            self.mismatch(span, msg, help);
        }
    }

    fn finish_binary(
        &mut self,
        op: BinOp,
        lhs: &Ast,
        rhs: &Ast,
        l: Typed,
        r: Typed,
        span: Span,
    ) -> Typed {
        match op {
            BinOp::Eq | BinOp::Ne | BinOp::Lt | BinOp::Le | BinOp::Gt | BinOp::Ge => {
                self.comparison(op, lhs, rhs, l, r, span)
            }
            BinOp::In | BinOp::NotIn => {
                // `incident.severity in ['high', 'medium']`, `'high' in severities`
                let r = match &l.ty {
                    Type::Severity => self.severity_list_literal(rhs, r),
                    _ => r,
                };
                let l = match &r.ty {
                    Type::List(e) if **e == Type::Severity => self.severity_literal(lhs, l),
                    _ => l,
                };
                self.known_values(l.origin.as_ref(), rhs);
                self.known_values(r.origin.as_ref(), lhs);
                match &r.ty {
                    Type::List(elem) => {
                        if !(l.ty.fits(elem) || elem.fits(&l.ty)) {
                            let msg = format!("cannot look for `{}` in `{}`", l.ty, r.ty);
                            self.mismatch(span, msg, ip_text_help(&l.ty, elem));
                        }
                    }
                    Type::Any | Type::Null => {}
                    Type::String => {
                        let msg = format!(
                            "`{}` needs a list on the right, found `string`",
                            op.as_str()
                        );
                        let help =
                            "to test for a substring, write `text contains part`".to_string();
                        self.mismatch(rhs.span, msg, Some(help));
                    }
                    other => {
                        let msg = format!(
                            "`{}` needs a list on the right, found `{other}`",
                            op.as_str()
                        );
                        self.mismatch(rhs.span, msg, None);
                    }
                }
                let ir = Ir::In(b(l.ir), b(r.ir));
                let ir = if op == BinOp::NotIn {
                    Ir::Not(b(ir.optimize()))
                } else {
                    ir
                };
                Typed::new(ir, Type::Bool)
            }
            BinOp::Contains => {
                // `severities contains 'high'`, `['high', 'medium'] contains incident.severity`
                let r = match &l.ty {
                    Type::List(e) if **e == Type::Severity => self.severity_literal(rhs, r),
                    _ => r,
                };
                let l = match &r.ty {
                    Type::Severity => self.severity_list_literal(lhs, l),
                    _ => l,
                };
                // `roles contains 'compromised'` names a whole value, as does each item of
                // `['resolved', 'closed'] contains incident.status`; `text contains 'acc'` only
                // a part of one.
                if matches!(l.ty, Type::List(_)) {
                    self.known_values(l.origin.as_ref(), rhs);
                    self.known_values(r.origin.as_ref(), lhs);
                }
                match &l.ty {
                    Type::List(elem) => {
                        if !(r.ty.fits(elem) || elem.fits(&r.ty)) {
                            let msg = format!("cannot look for `{}` in `{}`", r.ty, l.ty);
                            self.mismatch(span, msg, ip_text_help(&r.ty, elem));
                        }
                    }
                    Type::String => {
                        if !r.ty.fits(&Type::String) {
                            let msg = format!(
                                "`contains` on a string needs a `string`, found `{}`",
                                r.ty
                            );
                            self.mismatch(rhs.span, msg, None);
                        }
                    }
                    Type::Any | Type::Null => {}
                    other => {
                        let msg = format!(
                            "`contains` needs a list or a string on the left, found `{other}`"
                        );
                        self.mismatch(lhs.span, msg, None);
                    }
                }
                Typed::new(Ir::Contains(b(l.ir), b(r.ir)), Type::Bool)
            }
            BinOp::StartsWith | BinOp::EndsWith => {
                for (t, a) in [(&l, lhs), (&r, rhs)] {
                    if !t.ty.fits(&Type::String) {
                        let msg = format!(
                            "`{}` needs `string` operands, found `{}`",
                            op.as_str(),
                            t.ty
                        );
                        self.mismatch(a.span, msg, None);
                    }
                }
                let ir = if op == BinOp::StartsWith {
                    Ir::StartsWith(b(l.ir), b(r.ir))
                } else {
                    Ir::EndsWith(b(l.ir), b(r.ir))
                };
                Typed::new(ir, Type::Bool)
            }
            BinOp::Matches => self.finish_matches(lhs, rhs, l),
            BinOp::Add | BinOp::Sub | BinOp::Mul | BinOp::Div | BinOp::Rem => {
                self.arith(op, lhs, rhs, l, r)
            }
        }
    }

    fn comparison(
        &mut self,
        op: BinOp,
        lhs: &Ast,
        rhs: &Ast,
        l: Typed,
        r: Typed,
        span: Span,
    ) -> Typed {
        let l = if r.ty == Type::Severity {
            self.severity_literal(lhs, l)
        } else {
            l
        };
        let r = if l.ty == Type::Severity {
            self.severity_literal(rhs, r)
        } else {
            r
        };
        let equality = matches!(op, BinOp::Eq | BinOp::Ne);
        if equality {
            self.known_values(l.origin.as_ref(), rhs);
            self.known_values(r.origin.as_ref(), lhs);
        }
        let ok = if equality {
            l.ty.fits(&r.ty) || r.ty.fits(&l.ty)
        } else {
            orderable(&l.ty, &r.ty)
        };
        if !ok {
            let (msg, help) = comparison_error(op, &l.ty, &r.ty);
            let d = self.error(Code::TypeMismatch, span, msg);
            d.help = help;
        } else if !equality {
            // Enumerated text orders alphabetically (`'none' >= 'medium'`), never by rank.
            if let Some((what, known)) = l
                .origin
                .as_ref()
                .or(r.origin.as_ref())
                .and_then(Origin::known)
            {
                let help = match known {
                    // Which values are meant, the model cannot tell (its values are not listed
                    // by rank): the example starts from the one compared with.
                    Known::Values(values) => {
                        let compared = [lhs, rhs]
                            .into_iter()
                            .filter_map(Ast::as_str_lit)
                            .find(|t| values.contains(t))
                            .or_else(|| values.first().copied())
                            .unwrap_or_default();
                        format!(
                            "list the values meant with `in`, e.g. `{what} in ['{compared}', …]`; \
                             its values are {}",
                            crate::diagnostic::ticked(values)
                        )
                    }
                    Known::Spelled(_) => format!("list the values meant with `{what} in [...]`"),
                };
                let d = self.error(
                    Code::TypeMismatch,
                    span,
                    format!("`{what}` is a name, not a rank: `{}` would compare its text alphabetically", op.as_str()),
                );
                d.help = Some(help);
            }
        }
        let ir = match op {
            BinOp::Eq => Ir::Eq(b(l.ir), b(r.ir)),
            BinOp::Ne => Ir::Ne(b(l.ir), b(r.ir)),
            BinOp::Lt => Ir::Cmp(CmpOp::Lt, b(l.ir), b(r.ir)),
            BinOp::Le => Ir::Cmp(CmpOp::Le, b(l.ir), b(r.ir)),
            BinOp::Gt => Ir::Cmp(CmpOp::Gt, b(l.ir), b(r.ir)),
            _ => Ir::Cmp(CmpOp::Ge, b(l.ir), b(r.ir)),
        };
        Typed::new(ir, Type::Bool)
    }

    /// A string literal used as a severity (`incident.severity >= 'High'`) becomes one.
    pub(crate) fn severity_literal(&mut self, ast: &Ast, t: Typed) -> Typed {
        let Some(text) = ast.as_str_lit() else {
            return t;
        };
        match Value::parse_severity(text) {
            Some(level) => Typed::constant(Value::Severity(level), Type::Severity),
            None => {
                let help = format!("use one of {SEVERITY_LIST}");
                self.mismatch(ast.span, format!("`{text}` is not a severity"), Some(help));
                Typed::error()
            }
        }
    }

    /// A list literal of string literals used as severities becomes a list of severities.
    fn severity_list_literal(&mut self, ast: &Ast, t: Typed) -> Typed {
        let AstKind::List(items) = &ast.kind else {
            return t;
        };
        if items.is_empty() || !items.iter().all(|i| i.as_str_lit().is_some()) {
            return t;
        }
        let mut irs = Vec::with_capacity(items.len());
        for item in items {
            let it = self.check(item);
            irs.push(self.severity_literal(item, it).ir);
        }
        Typed::new(Ir::List(irs.into()), Type::list(Type::Severity))
    }

    /// String literals compared with a field that lists its known values must be one of them;
    /// compared with an open `snake_case` field, they must be spelled so.
    fn known_values(&mut self, origin: Option<&Origin>, ast: &Ast) {
        let Some(origin) = origin else {
            return;
        };
        let Some((what, known)) = origin.known() else {
            return;
        };
        let literals: Vec<&Ast> = match &ast.kind {
            AstKind::String(_) => vec![ast],
            AstKind::List(items) => items.iter().filter(|i| i.as_str_lit().is_some()).collect(),
            _ => return,
        };
        for lit in literals {
            let Some(text) = lit.as_str_lit() else {
                continue;
            };
            match known {
                Known::Values(values) if !values.contains(&text) => {
                    let msg = format!("`{text}` is not a known value of `{what}`");
                    let help = suggestion(text, values.iter().copied());
                    self.mismatch(lit.span, msg, Some(help));
                }
                Known::Spelled(Spelling::SnakeCase) if !crate::snake::is_snake(text) => {
                    let msg = format!(
                        "`{text}` never equals `{what}`: its values are written in snake_case"
                    );
                    let help = format!("write `{}`", crate::snake::snake(text));
                    self.mismatch(lit.span, msg, Some(help));
                }
                Known::Spelled(Spelling::Lowercase) if text.chars().any(char::is_uppercase) => {
                    let msg = format!(
                        "`{text}` never equals `{what}`: its values are written in lowercase"
                    );
                    let help = format!("write `{}`", text.to_lowercase());
                    self.mismatch(lit.span, msg, Some(help));
                }
                _ => {}
            }
        }
    }

    fn finish_matches(&mut self, lhs: &Ast, rhs: &Ast, l: Typed) -> Typed {
        if !l.ty.fits(&Type::String) {
            let msg = format!("`matches` needs a `string` on the left, found `{}`", l.ty);
            self.mismatch(lhs.span, msg, None);
        }
        let Some(pattern) = rhs.as_str_lit() else {
            let _ = self.check(rhs);
            self.mismatch(
                rhs.span,
                "the pattern of `matches` must be a string literal",
                Some("write the pattern in quotes, as in `name matches '^adm-'`".into()),
            );
            return Typed::error();
        };
        let (message, label, help) = match self.regexes.get(pattern) {
            Ok(re) => return Typed::new(Ir::Matches(b(l.ir), re), Type::Bool),
            Err(RegexError::Syntax(detail)) => (
                format!("`{pattern}` is not a valid regular expression"),
                detail,
                "patterns use Rust `regex` syntax; escape special characters with `\\\\`"
                    .to_string(),
            ),
            Err(RegexError::TooLarge) => (
                format!("`{pattern}` is too large a regular expression"),
                format!("it compiles to more than {}", bytes(MAX_REGEX_SIZE)),
                format!("simplify the pattern: {SMALLER_PATTERNS}"),
            ),
            Err(RegexError::OverBudget { budget }) => (
                format!("`{pattern}` does not fit in the library's memory for regular expressions"),
                format!(
                    "the library's patterns take more than {} together",
                    bytes(budget)
                ),
                format!(
                    "use fewer distinct patterns (identical ones are compiled once) or smaller ones: {SMALLER_PATTERNS}"
                ),
            ),
        };
        let d = self.error(Code::InvalidRegex, rhs.span, message);
        d.label = Some(label);
        d.help = Some(help);
        Typed::error()
    }

    fn arith(&mut self, op: BinOp, lhs: &Ast, rhs: &Ast, l: Typed, r: Typed) -> Typed {
        use Type::{Any, Duration as D, Null, Number as N, String as S, Time as T};
        // `text + text` joins them (`u.domain + '\\' + u.account_name`).
        if op == BinOp::Add && matches!((&l.ty, &r.ty), (S, S | Null | Any) | (Null | Any, S)) {
            return Typed::new(Ir::Concat(b(l.ir), b(r.ir)), S);
        }
        let aop = match op {
            BinOp::Add => ArithOp::Add,
            BinOp::Sub => ArithOp::Sub,
            BinOp::Mul => ArithOp::Mul,
            BinOp::Div => ArithOp::Div,
            _ => ArithOp::Rem,
        };
        let ty = match (aop, &l.ty, &r.ty) {
            (_, Any, _) | (_, _, Any) => Some(Any),
            (_, Null, _) | (_, _, Null) => Some(Null),
            (_, N, N) => Some(N),
            (ArithOp::Add, T, D) | (ArithOp::Add, D, T) | (ArithOp::Sub, T, D) => Some(T),
            (ArithOp::Sub, T, T) => Some(D),
            (ArithOp::Add | ArithOp::Sub, D, D) => Some(D),
            (ArithOp::Mul, D, N) | (ArithOp::Mul, N, D) => Some(D),
            _ => None,
        };
        let Some(ty) = ty else {
            let msg = format!(
                "cannot apply `{}` to `{}` and `{}`",
                op.as_str(),
                l.ty,
                r.ty
            );
            let help = match (&l.ty, &r.ty) {
                // A part of a duration is a product: `1h * 0.5`.
                (D, N) if aop == ArithOp::Div => {
                    "a duration multiplies by a number: write `… * 0.5` for half of it, or a duration such as `30m`".to_string()
                }
                (T, N) | (N, T) | (D, N) | (N, D) if aop != ArithOp::Mul => {
                    "write a duration such as `30m`, `4h` or `7d`".to_string()
                }
                (T, T) => "only the difference of two times is defined: `now() - incident.created`".to_string(),
                (S, _) | (_, S) if aop == ArithOp::Add => {
                    "`+` joins two texts; write the other side as text".to_string()
                }
                (S, _) | (_, S) => "`+` joins texts; no other arithmetic applies to them".to_string(),
                _ => "arithmetic works on numbers, and `+` joins texts; times and durations add and subtract, and a duration multiplies by a number".to_string(),
            };
            let d = self.error(Code::TypeMismatch, lhs.span.join(rhs.span), msg);
            d.help = Some(help);
            return Typed::error();
        };
        Typed::new(Ir::Arith(aop, b(l.ir), b(r.ir)), ty)
    }
}

fn literal(kind: &AstKind) -> Typed {
    match kind {
        AstKind::Bool(v) => Typed::constant(Value::Bool(*v), Type::Bool),
        AstKind::Number(n) => Typed::constant(Value::Number(*n), Type::Number),
        AstKind::String(s) => Typed::constant(Value::from(s.as_str()), Type::String),
        AstKind::Duration(ms) => Typed::constant(Value::Duration(*ms), Type::Duration),
        AstKind::Severity(s) => Typed::constant(Value::Severity(*s), Type::Severity),
        _ => Typed::constant(Value::Null, Type::Null),
    }
}

/// A size for messages: `64 MiB`, `300 KiB`.
fn bytes(n: usize) -> String {
    if n >= 1 << 20 && n.is_multiple_of(1 << 20) {
        format!("{} MiB", n >> 20)
    } else {
        format!("{} KiB", n.div_ceil(1 << 10))
    }
}

fn extend(path: Box<[u32]>, i: u32) -> Box<[u32]> {
    let mut v = path.into_vec();
    v.push(i);
    v.into_boxed_slice()
}

/// Slots and field indices are bounded by the text size (8 KiB) or the record size, far below
/// `u32::MAX`; saturate rather than wrap if that ever changes.
pub(crate) fn slot_u32(i: usize) -> u32 {
    u32::try_from(i).unwrap_or(u32::MAX)
}

fn orderable(l: &Type, r: &Type) -> bool {
    match (l, r) {
        (Type::Any, _) | (_, Type::Any) => true,
        (a, b) if a == b => matches!(
            a,
            Type::Number | Type::String | Type::Duration | Type::Time | Type::Severity | Type::Ip
        ),
        _ => false,
    }
}

/// The help for an address compared with text (`i.address == '10.0.0.1'`): the text is read
/// as an address with `ip(…)`.
fn ip_text_help(a: &Type, b: &Type) -> Option<String> {
    matches!(
        (a, b),
        (Type::Ip, Type::String) | (Type::String, Type::Ip)
    )
    .then(|| {
        "an address in quotes is text: read it as an address with `ip(…)`, as in `i.address == ip('10.0.0.1')` or `i.address in [ip('10.0.0.1'), ip('10.0.0.2')]`".to_string()
    })
}

fn comparison_error(op: BinOp, l: &Type, r: &Type) -> (String, Option<String>) {
    use Type::{Duration as D, Number as N, Severity as S, String as Str, Time as T};
    let msg = format!("cannot compare `{l}` with `{r}`");
    if let Some(help) = ip_text_help(l, r) {
        return (msg, Some(help));
    }
    let help = match (l, r) {
        (S, _) | (_, S) => format!("compare with a severity: {SEVERITY_LIST}"),
        (D, N) | (N, D) => "write a duration such as `30m`, `4h` or `7d`".to_string(),
        (T, D) | (D, T) => {
            "subtract times to get a duration, as in `now() - incident.created > 1h`".to_string()
        }
        (T, N) | (N, T) | (T, Str) | (Str, T) => {
            "compare with another time, such as `now() - 1d`".to_string()
        }
        (a, b) if a == b => {
            let msg = format!("`{}` cannot order `{a}` values", op.as_str());
            let help = "`<`, `<=`, `>` and `>=` compare numbers, strings, durations, times, severities and ips";
            return (msg, Some(help.to_string()));
        }
        (Type::Null, _) | (_, Type::Null) => "null is only compared with `==` and `!=`".to_string(),
        _ => "both sides must have the same type".to_string(),
    };
    (msg, Some(help))
}
