//! Conditions compiled for [`Expr::eval_bool`](super::Expr::eval_bool).
//!
//! The [`Ir`] of a condition becomes a tree of [`Cond`] nodes: small structs, each specialized
//! (by generics) for one shape, so evaluating `incident.severity == high` is one call of code
//! that reads one field and compares one byte. The match-based interpreter ([`Ir::test`]) pays
//! for its generality on every node: a dispatch over every kind of node, a large stack frame,
//! a dispatch over the kind of constant, a loop over the path. On the `conditions` benchmark
//! (`cargo bench -p riposte-engine --bench engine -- conditions`) the compiled form is several
//! times faster.
//!
//! Semantics are exactly [`Ir::test`]'s: every node documents the [`Ir`] shape it replaces,
//! the shapes it does not cover stay [`Ir`] ([`Interpreted`]), and `expr_compiled_agrees` in
//! the tests compares both on many expressions and odd values. Nodes read lambda parameters
//! and spend lambda calls through the same [`Cx`] as the interpreter, so the budget holds.

use std::fmt;
use std::sync::Arc;

use super::eval::{tally, test_op, walk, CmpOp, Cx, Ir, Quant, Root, TestOp};
use crate::value::Value;

/// A compiled condition: whether it holds (only `true` holds; null does not).
pub(crate) trait Cond: Send + Sync + fmt::Debug {
    fn test<'a>(&'a self, cx: &mut Cx<'a>) -> bool;
}

/// Compiles a checked condition; `None` when the whole condition is a shape left to the
/// interpreter.
pub(crate) fn compile(ir: &Ir) -> Option<Box<dyn Cond>> {
    node(ir)
}

fn compile_or_interpret(ir: &Ir) -> Box<dyn Cond> {
    node(ir).unwrap_or_else(|| Box::new(Interpreted(ir.clone())))
}

fn node(ir: &Ir) -> Option<Box<dyn Cond>> {
    Some(match ir {
        Ir::Test {
            root,
            path,
            check,
            negate,
        } => specialize(
            path,
            check,
            LeafOf {
                root: *root,
                negate: *negate,
            },
        ),
        Ir::And(items) => Box::new(And(items.iter().map(compile_or_interpret).collect())),
        Ir::Or(items) => Box::new(Or(items.iter().map(compile_or_interpret).collect())),
        Ir::Not(a) => Box::new(Not(compile_or_interpret(a))),
        Ir::Const(v) => Box::new(Constant(v.truthy())),
        Ir::CountCmp { list, op, n } => match list.as_path() {
            Some((root, path)) => Box::new(CountCmp {
                root,
                path: path.into(),
                op: *op,
                n: *n,
            }),
            None => return None,
        },
        Ir::Quant {
            kind: kind @ (Quant::Any | Quant::All),
            list,
            slot,
            body,
        } => match (list.as_path(), &**body) {
            (
                Some((list_root, list_path)),
                Ir::Test {
                    root: Root::Local(s),
                    path,
                    check,
                    negate,
                },
            ) if s == slot => specialize(
                path,
                check,
                QuantOf {
                    any: *kind == Quant::Any,
                    root: list_root,
                    list: list_path.into(),
                    negate: *negate,
                },
            ),
            _ => return None,
        },
        _ => return None,
    })
}

// ---- checks ----------------------------------------------------------------------------------

/// A test of one value against a constant.
pub(crate) trait Holds: Clone + Send + Sync + fmt::Debug + 'static {
    fn holds(&self, v: &Value) -> bool;
}

/// `== level`.
#[derive(Clone, Debug)]
pub(crate) struct SeverityIs(u8);

/// `== 'text'`.
#[derive(Clone, Debug)]
pub(crate) struct TextIs(Arc<str>);

/// `< level`, `>= level`, …
#[derive(Clone, Debug)]
pub(crate) struct SeverityCmp(CmpOp, u8);

/// `< 3`, `>= 1.5`, …: false for NaN, as `partial_cmp` is.
#[derive(Clone, Debug)]
pub(crate) struct NumberCmp(CmpOp, f64);

/// `in [high, medium]`: the levels as a set of bits (a severity is a `u8`).
#[derive(Clone, Debug)]
pub(crate) struct SeverityIn([u64; 4]);

impl SeverityIn {
    fn new(levels: &[u8]) -> Self {
        let mut bits = [0u64; 4];
        for &l in levels {
            if let Some(word) = bits.get_mut(usize::from(l >> 6)) {
                *word |= 1 << (l & 63);
            }
        }
        SeverityIn(bits)
    }
}

/// `in ['Malware', 'Ransomware']`.
#[derive(Clone, Debug)]
pub(crate) struct TextIn(StrSet);

/// Any other operator or constant: the general comparison.
#[derive(Clone, Debug)]
pub(crate) struct General(TestOp, Value);

impl Holds for SeverityIs {
    #[inline]
    fn holds(&self, v: &Value) -> bool {
        matches!(v, Value::Severity(x) if *x == self.0)
    }
}

impl Holds for TextIs {
    #[inline]
    fn holds(&self, v: &Value) -> bool {
        matches!(v, Value::String(x) if **x == *self.0)
    }
}

impl Holds for SeverityCmp {
    #[inline]
    fn holds(&self, v: &Value) -> bool {
        matches!(v, Value::Severity(x) if self.0.holds(x.cmp(&self.1)))
    }
}

impl Holds for NumberCmp {
    #[inline]
    fn holds(&self, v: &Value) -> bool {
        matches!(v, Value::Number(x) if x.partial_cmp(&self.1).is_some_and(|o| self.0.holds(o)))
    }
}

impl Holds for SeverityIn {
    #[inline]
    fn holds(&self, v: &Value) -> bool {
        let has = |l: u8| {
            self.0
                .get(usize::from(l >> 6))
                .is_some_and(|word| word >> (l & 63) & 1 == 1)
        };
        matches!(v, Value::Severity(x) if has(*x))
    }
}

impl Holds for TextIn {
    #[inline]
    fn holds(&self, v: &Value) -> bool {
        matches!(v, Value::String(x) if self.0.contains(x))
    }
}

impl Holds for General {
    #[inline]
    fn holds(&self, v: &Value) -> bool {
        test_op(self.0, v, &self.1)
    }
}

/// What a [`Ir::Test`] checks the path's value against (`op constant`), resolved at compile
/// time: the usual constants (a severity, a string, a number, a list of strings) compare
/// directly instead of through [`Value`]'s general `==`, which dispatches on both kinds.
/// Every variant is exactly `test_op` for its operator and constant.
#[derive(Clone, Debug)]
pub(crate) enum Check {
    SeverityIs(SeverityIs),
    TextIs(TextIs),
    SeverityCmp(SeverityCmp),
    NumberCmp(NumberCmp),
    SeverityIn(SeverityIn),
    TextIn(TextIn),
    General(General),
}

impl Check {
    pub(crate) fn new(op: TestOp, c: Value) -> Check {
        match (op, c) {
            (TestOp::Eq, Value::Severity(s)) => Check::SeverityIs(SeverityIs(s)),
            (TestOp::Eq, Value::String(s)) => Check::TextIs(TextIs(s)),
            (TestOp::Cmp(op), Value::Severity(s)) => Check::SeverityCmp(SeverityCmp(op, s)),
            (TestOp::Cmp(op), Value::Number(n)) => Check::NumberCmp(NumberCmp(op, n)),
            (TestOp::In, Value::List(items)) => {
                // Only a non-empty list of one kind; `x in [high, null]` stays general.
                let levels: Option<Box<[u8]>> = items
                    .iter()
                    .map(|i| match i {
                        Value::Severity(s) => Some(*s),
                        _ => None,
                    })
                    .collect();
                let texts: Option<Vec<Box<str>>> = items
                    .iter()
                    .map(|i| match i {
                        Value::String(s) => Some(Box::from(&**s)),
                        _ => None,
                    })
                    .collect();
                match (levels, texts) {
                    (Some(levels), _) if !levels.is_empty() => {
                        Check::SeverityIn(SeverityIn::new(&levels))
                    }
                    (_, Some(texts)) if !texts.is_empty() => {
                        Check::TextIn(TextIn(StrSet::new(texts)))
                    }
                    _ => Check::General(General(TestOp::In, Value::List(items))),
                }
            }
            (op, c) => Check::General(General(op, c)),
        }
    }
}

impl Holds for Check {
    #[inline]
    fn holds(&self, v: &Value) -> bool {
        match self {
            Check::SeverityIs(c) => c.holds(v),
            Check::TextIs(c) => c.holds(v),
            Check::SeverityCmp(c) => c.holds(v),
            Check::NumberCmp(c) => c.holds(v),
            Check::SeverityIn(c) => c.holds(v),
            Check::TextIn(c) => c.holds(v),
            Check::General(c) => c.holds(v),
        }
    }
}

/// The strings of an `in [...]` list, sorted and without duplicates: a short list is scanned
/// (comparing lengths first rejects most entries at once), a long one binary-searched.
#[derive(Clone, Debug)]
pub(crate) struct StrSet(Box<[Box<str>]>);

impl StrSet {
    /// Up to this many strings, a scan is as fast as a binary search.
    const SCAN: usize = 8;

    fn new(mut texts: Vec<Box<str>>) -> StrSet {
        texts.sort_unstable();
        texts.dedup();
        StrSet(texts.into())
    }

    #[inline]
    fn contains(&self, s: &str) -> bool {
        if self.0.len() <= Self::SCAN {
            self.0.iter().any(|t| **t == *s)
        } else {
            self.search(s)
        }
    }

    /// Out of line, so the scan above stays small enough to inline.
    #[inline(never)]
    fn search(&self, s: &str) -> bool {
        self.0.binary_search_by(|t| (**t).cmp(s)).is_ok()
    }
}

// ---- paths -----------------------------------------------------------------------------------

/// Record fields to follow from a value.
trait Path: Send + Sync + fmt::Debug + 'static {
    fn walk<'v>(&self, v: &'v Value) -> &'v Value;
}

/// One field, the usual case: `incident.severity`, `d.verdict`.
#[derive(Debug)]
struct Field(u32);

/// Any number of fields (none: the value itself).
#[derive(Debug)]
struct Fields(Box<[u32]>);

impl Path for Field {
    #[inline]
    fn walk<'v>(&self, v: &'v Value) -> &'v Value {
        v.get(self.0 as usize)
    }
}

impl Path for Fields {
    #[inline]
    fn walk<'v>(&self, v: &'v Value) -> &'v Value {
        walk(v, &self.0)
    }
}

/// Builds a node for a path and a check of concrete types, chosen by [`specialize`].
trait Build {
    fn build<P: Path, C: Holds>(self, path: P, check: C) -> Box<dyn Cond>;
}

/// `build(path, check)` with the path and the check as their concrete types.
fn specialize(path: &[u32], check: &Check, b: impl Build) -> Box<dyn Cond> {
    match path {
        [i] => with_check(Field(*i), check, b),
        _ => with_check(Fields(path.into()), check, b),
    }
}

fn with_check<P: Path>(path: P, check: &Check, b: impl Build) -> Box<dyn Cond> {
    match check.clone() {
        Check::SeverityIs(c) => b.build(path, c),
        Check::TextIs(c) => b.build(path, c),
        Check::SeverityCmp(c) => b.build(path, c),
        Check::NumberCmp(c) => b.build(path, c),
        Check::SeverityIn(c) => b.build(path, c),
        Check::TextIn(c) => b.build(path, c),
        Check::General(c) => b.build(path, c),
    }
}

// ---- nodes -----------------------------------------------------------------------------------

/// [`Ir::Test`]: `path op constant` from a variable or a lambda parameter.
#[derive(Debug)]
struct Leaf<P, C> {
    root: Root,
    path: P,
    check: C,
    negate: bool,
}

impl<P: Path, C: Holds> Cond for Leaf<P, C> {
    fn test<'a>(&'a self, cx: &mut Cx<'a>) -> bool {
        self.check.holds(self.path.walk(cx.root(self.root))) != self.negate
    }
}

struct LeafOf {
    root: Root,
    negate: bool,
}

impl Build for LeafOf {
    fn build<P: Path, C: Holds>(self, path: P, check: C) -> Box<dyn Cond> {
        Box::new(Leaf {
            root: self.root,
            path,
            check,
            negate: self.negate,
        })
    }
}

/// [`Ir::Quant`] `any` or `all` over a path, whose lambda is an [`Ir::Test`] of its own
/// parameter: `any(incident.devices, d => d.verdict in ['malicious', 'suspicious'])`. One
/// loop over the items, no parameter bound; [`tally`] spends the lambda calls.
#[derive(Debug)]
struct QuantTest<P, C> {
    any: bool,
    root: Root,
    list: Box<[u32]>,
    path: P,
    check: C,
    negate: bool,
}

impl<P: Path, C: Holds> Cond for QuantTest<P, C> {
    fn test<'a>(&'a self, cx: &mut Cx<'a>) -> bool {
        let items = match walk(cx.root(self.root), &self.list) {
            Value::List(items) => &**items,
            _ => &[],
        };
        let kind = if self.any { Quant::Any } else { Quant::All };
        let passes = |item: &Value| self.check.holds(self.path.walk(item)) != self.negate;
        // Null (the budget ran out) does not hold.
        tally(kind, items, passes, cx).is_some_and(|hits| (hits > 0) == self.any)
    }
}

struct QuantOf {
    any: bool,
    root: Root,
    list: Box<[u32]>,
    negate: bool,
}

impl Build for QuantOf {
    fn build<P: Path, C: Holds>(self, path: P, check: C) -> Box<dyn Cond> {
        Box::new(QuantTest {
            any: self.any,
            root: self.root,
            list: self.list,
            path,
            check,
            negate: self.negate,
        })
    }
}

/// [`Ir::CountCmp`] over a path: `count(incident.users) >= 1`.
#[derive(Debug)]
struct CountCmp {
    root: Root,
    path: Box<[u32]>,
    op: CmpOp,
    n: f64,
}

impl Cond for CountCmp {
    fn test<'a>(&'a self, cx: &mut Cx<'a>) -> bool {
        let len = match walk(cx.root(self.root), &self.path) {
            Value::List(items) => items.len(),
            _ => 0,
        };
        (len as f64)
            .partial_cmp(&self.n)
            .is_some_and(|o| self.op.holds(o))
    }
}

/// [`Ir::And`].
#[derive(Debug)]
struct And(Box<[Box<dyn Cond>]>);

impl Cond for And {
    fn test<'a>(&'a self, cx: &mut Cx<'a>) -> bool {
        self.0.iter().all(|c| c.test(cx))
    }
}

/// [`Ir::Or`].
#[derive(Debug)]
struct Or(Box<[Box<dyn Cond>]>);

impl Cond for Or {
    fn test<'a>(&'a self, cx: &mut Cx<'a>) -> bool {
        self.0.iter().any(|c| c.test(cx))
    }
}

/// [`Ir::Not`].
#[derive(Debug)]
struct Not(Box<dyn Cond>);

impl Cond for Not {
    fn test<'a>(&'a self, cx: &mut Cx<'a>) -> bool {
        !self.0.test(cx)
    }
}

/// [`Ir::Const`].
#[derive(Debug)]
struct Constant(bool);

impl Cond for Constant {
    fn test<'a>(&'a self, _: &mut Cx<'a>) -> bool {
        self.0
    }
}

/// Any other shape, left to the interpreter.
#[derive(Debug)]
struct Interpreted(Ir);

impl Cond for Interpreted {
    fn test<'a>(&'a self, cx: &mut Cx<'a>) -> bool {
        self.0.test(cx)
    }
}
