//! The untyped syntax tree of one expression, as the parser builds it.
//!
//! Every node carries its span (a file span: the parser has already added the expression's
//! offset) beside it, so the checker can point at any sub-expression.

use crate::source::Span;

/// One node and where it is.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Ast {
    pub kind: AstKind,
    pub span: Span,
}

#[derive(Clone, Debug, PartialEq)]
pub(crate) enum AstKind {
    Null,
    Bool(bool),
    Number(f64),
    /// The unescaped text of a string literal.
    String(String),
    /// Milliseconds.
    Duration(i64),
    /// 0 informational … 3 high.
    Severity(u8),
    List(Vec<Ast>),
    Var(String),
    Field {
        base: Box<Ast>,
        name: String,
        name_span: Span,
    },
    Index {
        base: Box<Ast>,
        index: Box<Ast>,
    },
    Call {
        name: String,
        name_span: Span,
        args: Vec<Arg>,
    },
    Unary {
        op: UnOp,
        operand: Box<Ast>,
    },
    Binary {
        op: BinOp,
        lhs: Box<Ast>,
        rhs: Box<Ast>,
    },
    /// `a and b and c` / `a or b or c`, flattened: long chains add no depth.
    Logic {
        op: LogicOp,
        items: Vec<Ast>,
    },
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum LogicOp {
    And,
    Or,
}

impl LogicOp {
    pub fn as_str(self) -> &'static str {
        match self {
            LogicOp::And => "and",
            LogicOp::Or => "or",
        }
    }
}

/// A function argument: a value or a one-parameter lambda.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum Arg {
    Value(Ast),
    Lambda {
        param: String,
        param_span: Span,
        body: Ast,
        span: Span,
    },
}

impl Arg {
    pub fn span(&self) -> Span {
        match self {
            Arg::Value(a) => a.span,
            Arg::Lambda { span, .. } => *span,
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum UnOp {
    Not,
    Neg,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum BinOp {
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
    In,
    NotIn,
    Contains,
    StartsWith,
    EndsWith,
    Matches,
    Add,
    Sub,
    Mul,
    Div,
    Rem,
}

impl BinOp {
    pub fn as_str(self) -> &'static str {
        match self {
            BinOp::Eq => "==",
            BinOp::Ne => "!=",
            BinOp::Lt => "<",
            BinOp::Le => "<=",
            BinOp::Gt => ">",
            BinOp::Ge => ">=",
            BinOp::In => "in",
            BinOp::NotIn => "not in",
            BinOp::Contains => "contains",
            BinOp::StartsWith => "starts_with",
            BinOp::EndsWith => "ends_with",
            BinOp::Matches => "matches",
            BinOp::Add => "+",
            BinOp::Sub => "-",
            BinOp::Mul => "*",
            BinOp::Div => "/",
            BinOp::Rem => "%",
        }
    }

    /// The non-associative comparison level.
    pub fn is_comparison(self) -> bool {
        matches!(
            self,
            BinOp::Eq
                | BinOp::Ne
                | BinOp::Lt
                | BinOp::Le
                | BinOp::Gt
                | BinOp::Ge
                | BinOp::In
                | BinOp::NotIn
                | BinOp::Contains
                | BinOp::StartsWith
                | BinOp::EndsWith
                | BinOp::Matches
        )
    }
}

impl Ast {
    /// The text of a string literal.
    pub fn as_str_lit(&self) -> Option<&str> {
        match &self.kind {
            AstKind::String(s) => Some(s),
            _ => None,
        }
    }
}

#[cfg(test)]
impl Ast {
    /// A compact S-expression, for tests: `(or a (and b (not (== c d))))`.
    pub fn sexpr(&self) -> String {
        let mut out = String::new();
        self.write_sexpr(&mut out);
        out
    }

    fn write_sexpr(&self, out: &mut String) {
        use std::fmt::Write;
        match &self.kind {
            AstKind::Null => out.push_str("null"),
            AstKind::Bool(b) => {
                let _ = write!(out, "{b}");
            }
            AstKind::Number(n) => {
                let _ = write!(out, "{n}");
            }
            AstKind::String(s) => {
                let _ = write!(out, "{s:?}");
            }
            AstKind::Duration(ms) => {
                let _ = write!(out, "{ms}ms");
            }
            AstKind::Severity(s) => {
                let _ = write!(out, "sev{s}");
            }
            AstKind::List(items) => {
                out.push('[');
                for (i, item) in items.iter().enumerate() {
                    if i > 0 {
                        out.push(' ');
                    }
                    item.write_sexpr(out);
                }
                out.push(']');
            }
            AstKind::Var(name) => out.push_str(name),
            AstKind::Field { base, name, .. } => {
                out.push_str("(. ");
                base.write_sexpr(out);
                let _ = write!(out, " {name})");
            }
            AstKind::Index { base, index } => {
                out.push_str("([] ");
                base.write_sexpr(out);
                out.push(' ');
                index.write_sexpr(out);
                out.push(')');
            }
            AstKind::Call { name, args, .. } => {
                let _ = write!(out, "({name}");
                for arg in args {
                    out.push(' ');
                    match arg {
                        Arg::Value(a) => a.write_sexpr(out),
                        Arg::Lambda { param, body, .. } => {
                            let _ = write!(out, "(=> {param} ");
                            body.write_sexpr(out);
                            out.push(')');
                        }
                    }
                }
                out.push(')');
            }
            AstKind::Unary { op, operand } => {
                out.push_str(match op {
                    UnOp::Not => "(not ",
                    UnOp::Neg => "(neg ",
                });
                operand.write_sexpr(out);
                out.push(')');
            }
            AstKind::Logic { op, items } => {
                let _ = write!(out, "({}", op.as_str());
                for item in items {
                    out.push(' ');
                    item.write_sexpr(out);
                }
                out.push(')');
            }
            AstKind::Binary { op, lhs, rhs, .. } => {
                let _ = write!(out, "({} ", op.as_str());
                lhs.write_sexpr(out);
                out.push(' ');
                rhs.write_sexpr(out);
                out.push(')');
            }
        }
    }
}
