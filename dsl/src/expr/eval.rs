//! The checked form of an expression ([`Ir`]) and its evaluation.
//!
//! Names are resolved to slots and field indices by the checker, so evaluation does no string
//! lookups (except on `any`-typed values). Evaluation borrows from the environment whenever it
//! can ([`Cow`]), so reading `incident.severity` or testing `d.verdict == 'malicious'` over a
//! list clones nothing.
//!
//! Conditions evaluated with [`Expr::eval_bool`](super::Expr::eval_bool) are compiled further
//! (`cond.rs`); [`Ir::test`] evaluates the shapes that compilation leaves to it.
//!
//! Architecture Invariant: evaluation is total. Every operator accepts every value: a value of
//! an unexpected shape yields null (or `false` for tests), division by zero yields null, and
//! ordering comparisons with null are false. Recursion depth is the tree depth, which the parser
//! bounds.

use std::borrow::Cow;
use std::cell::Cell;
use std::cmp::Ordering;
use std::collections::HashMap;
use std::hash::{DefaultHasher, Hasher};
use std::net::IpAddr;
use std::sync::atomic::{self, AtomicUsize};

use super::regexes::Regex;
use ipnet::IpNet;

use super::cond::{Check, Holds};
use super::Env;
use crate::value::Value;

static NULL: Value = Value::Null;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum CmpOp {
    Lt,
    Le,
    Gt,
    Ge,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum ArithOp {
    Add,
    Sub,
    Mul,
    Div,
    Rem,
}

/// Where a [`Ir::Test`] path starts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Root {
    Var(u32),
    Local(u32),
}

impl CmpOp {
    /// Whether an ordering satisfies the operator.
    pub(crate) fn holds(self, o: Ordering) -> bool {
        match self {
            CmpOp::Lt => o == Ordering::Less,
            CmpOp::Le => o != Ordering::Greater,
            CmpOp::Gt => o == Ordering::Greater,
            CmpOp::Ge => o != Ordering::Less,
        }
    }

    /// The operator with its operands swapped: `a < b` is `b > a`.
    pub(crate) fn flip(self) -> CmpOp {
        match self {
            CmpOp::Lt => CmpOp::Gt,
            CmpOp::Le => CmpOp::Ge,
            CmpOp::Gt => CmpOp::Lt,
            CmpOp::Ge => CmpOp::Le,
        }
    }
}

/// The operator of a [`Ir::Test`]: the path's value on the left, the constant on the right.
/// (`!=` is `==` negated.)
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum TestOp {
    Eq,
    Cmp(CmpOp),
    In,
    Contains,
    StartsWith,
    EndsWith,
}

/// List functions that take a lambda.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Quant {
    Any,
    All,
    Count,
    Filter,
    Map,
}

/// A checked expression, names resolved.
#[derive(Clone, Debug)]
pub(crate) enum Ir {
    Const(Value),
    /// `path op constant`, the usual shape of a condition (`incident.severity >= high`,
    /// `d.verdict == 'malicious'`), evaluated by reference without recursion.
    Test {
        root: Root,
        path: Box<[u32]>,
        check: Check,
        /// The result is negated: `!=`, `not in`, `not (path == constant)`.
        negate: bool,
    },
    /// `count(list) op number`, without building the count as a value.
    CountCmp {
        list: Box<Ir>,
        op: CmpOp,
        n: f64,
    },
    /// A variable of the scope, by slot.
    Var(u32),
    /// `var.f.g…`, by slot and field indices.
    VarPath(u32, Box<[u32]>),
    /// A lambda parameter, by nesting depth.
    Local(u32),
    LocalPath(u32, Box<[u32]>),
    Field(Box<Ir>, u32),
    /// A field of an `any`-typed value, looked up by name at run time.
    FieldByName(Box<Ir>, Box<str>),
    Index(Box<Ir>, Box<Ir>),
    List(Box<[Ir]>),
    Not(Box<Ir>),
    Neg(Box<Ir>),
    /// `a and b and …`, short-circuit.
    And(Box<[Ir]>),
    /// `a or b or …`, short-circuit.
    Or(Box<[Ir]>),
    Eq(Box<Ir>, Box<Ir>),
    Ne(Box<Ir>, Box<Ir>),
    Cmp(CmpOp, Box<Ir>, Box<Ir>),
    In(Box<Ir>, Box<Ir>),
    Contains(Box<Ir>, Box<Ir>),
    StartsWith(Box<Ir>, Box<Ir>),
    EndsWith(Box<Ir>, Box<Ir>),
    Matches(Box<Ir>, Regex),
    Arith(ArithOp, Box<Ir>, Box<Ir>),
    /// `text + text`.
    Concat(Box<Ir>, Box<Ir>),
    Quant {
        kind: Quant,
        list: Box<Ir>,
        slot: u32,
        body: Box<Ir>,
    },
    Count(Box<Ir>),
    First(Box<Ir>),
    Distinct(Box<Ir>),
    Len(Box<Ir>),
    Lower(Box<Ir>),
    Upper(Box<Ir>),
    Now,
    InCidr(Box<Ir>, IpNet),
    ParseIp(Box<Ir>),
}

/// At most this many units of work per evaluation: lambda calls, list items built, and work
/// that grows with the data (text in kilobytes, list items; see [`scan_work`], [`items_work`]).
/// Nested list functions over long lists (`count([…1000…], a => count([…1000…], b => …))`), or
/// a search of a long description once per pair of entities, would otherwise run for hours.
/// Beyond it, list functions, and the operation that ran out, yield null.
pub const MAX_LAMBDA_CALLS: u64 = 10_000_000;

thread_local! {
    /// Work one run may spend across all its evaluations (see [`with_run_budget`]); `None`
    /// outside a run, where each evaluation has [`MAX_LAMBDA_CALLS`] of its own.
    static RUN_BUDGET: Cell<Option<u64>> = const { Cell::new(None) };
    /// Whether an evaluation of the current run ran out of work (its own budget or the run's).
    static RUN_EXHAUSTED: Cell<bool> = const { Cell::new(false) };
}

/// How many runs (see [`with_run_budget`]) are going on, on all threads. A thread always sees
/// its own runs counted, so at zero it is in none, and a loop that runs without a [`Cx`]
/// (`cond::QuantTest`) learns so without reading the thread-local budget: the compiler treats
/// that read as a call, whose saving of registers costs more than the short loops conditions
/// usually run.
static RUNS: AtomicUsize = AtomicUsize::new(0);

/// Whether this thread may be in a run: when false, it is not (see [`RUNS`]).
#[inline(always)]
pub(crate) fn maybe_in_run() -> bool {
    RUNS.load(atomic::Ordering::Relaxed) != 0
}

/// Runs `f` with `units` of evaluation work (lambda calls, list items built, text scanned in
/// kilobytes) shared by every evaluation it makes on this thread, and says whether they ran
/// out. Each evaluation still stops at [`MAX_LAMBDA_CALLS`]; this bounds a run that evaluates
/// a costly expression once per item of a long list. Once the units are spent, list functions
/// yield null, as when one evaluation's budget runs out.
pub fn with_run_budget<R>(units: u64, f: impl FnOnce() -> R) -> (R, bool) {
    let (r, exhausted, _) = with_run_budget_spent(units, f);
    (r, exhausted)
}

/// [`with_run_budget`], also saying how many of the `units` the run spent: what a caller
/// bounding several runs together (a plan's classification and SOPs) charges to its total.
pub fn with_run_budget_spent<R>(units: u64, f: impl FnOnce() -> R) -> (R, bool, u64) {
    let was = RUN_BUDGET.with(|b| b.replace(Some(units)));
    let was_exhausted = RUN_EXHAUSTED.with(|e| e.replace(false));
    RUNS.fetch_add(1, atomic::Ordering::Relaxed);
    let r = f();
    RUNS.fetch_sub(1, atomic::Ordering::Relaxed);
    let left = RUN_BUDGET.with(|b| b.replace(was));
    let exhausted = RUN_EXHAUSTED.with(|e| e.replace(was_exhausted));
    let spent = units.saturating_sub(left.unwrap_or(units));
    (r, exhausted || left == Some(0), spent)
}

/// Whether an evaluation of the current run (see [`with_run_budget`]) has run out of work: its
/// list functions gave null, so what it decided is unknown (`not any(…)` held). A run checks
/// this before acting, so that running out never lets it do more.
pub fn run_out_of_work() -> bool {
    RUN_EXHAUSTED.with(Cell::get) || RUN_BUDGET.with(Cell::get) == Some(0)
}

/// The work the current run (see [`with_run_budget`]) has left; `None` outside a run. A loop
/// that runs without a [`Cx`] (`cond::QuantTest`) checks that it covers every item, then
/// charges what it spent ([`charge_run`]), as a [`Cx`] would.
#[inline]
pub(crate) fn run_left() -> Option<u64> {
    RUN_BUDGET.with(Cell::get)
}

/// Charges the current run (if any) `spent` units of work.
#[inline]
pub(crate) fn charge_run(spent: u64) {
    RUN_BUDGET.with(|b| {
        if let Some(left) = b.get() {
            b.set(Some(left.saturating_sub(spent)));
        }
    });
}

/// The state of one evaluation. Cheap to set up (five words, nothing to drop): a condition
/// without lambdas is evaluated millions of times and uses none of it but `env`.
pub(crate) struct Cx<'a> {
    /// Borrowed, not copied: the caller has usually just built the [`Env`] on its stack, and a
    /// copy of its fields can be compiled to one wide load over two narrower stores, which the
    /// CPU cannot forward (a stall that cost more than evaluating `x == high` itself).
    env: &'a Env<'a>,
    /// The innermost lambda parameter bound, if any.
    params: Option<&'a Param<'a>>,
    /// Lambda calls left.
    budget: u64,
    /// The budget at the start, so that [`Cx::settle`] can charge the run what was spent.
    start: u64,
    /// Set when the budget ran out.
    exhausted: bool,
}

#[cfg(test)]
impl<'a> Cx<'a> {
    /// A context with only `budget` lambda calls left.
    pub(crate) fn with_budget(env: &'a Env<'a>, budget: u64) -> Self {
        Cx {
            budget,
            ..Cx::new(env)
        }
    }

    /// Lambda calls left, and whether the budget ran out.
    pub(crate) fn budget_left(&self) -> (u64, bool) {
        (self.budget, self.exhausted)
    }
}

/// A bound lambda parameter, on the stack of the list function that binds it, linked to the
/// parameters of the enclosing lambdas.
struct Param<'a> {
    slot: u32,
    value: &'a Value,
    outer: Option<&'a Param<'a>>,
}

impl<'a> Cx<'a> {
    pub fn new(env: &'a Env<'a>) -> Self {
        let budget = run_left().map_or(MAX_LAMBDA_CALLS, |left| left.min(MAX_LAMBDA_CALLS));
        Cx {
            env,
            params: None,
            budget,
            start: budget,
            exhausted: false,
        }
    }

    /// Charges the run (if any) what this evaluation spent. Called where an evaluation
    /// starts and ends (`Expr::eval`, `Expr::eval_bool`); contexts made from this one by
    /// `enter` and `narrow` give theirs back through `leave` first.
    pub(crate) fn settle(&self) {
        // Only a run (see `with_run_budget`) keeps the flag; it clears it when it starts.
        if self.exhausted && RUN_BUDGET.with(Cell::get).is_some() {
            RUN_EXHAUSTED.with(|e| e.set(true));
        }
        let spent = self.start.saturating_sub(self.budget);
        if spent > 0 {
            charge_run(spent);
        }
    }

    /// Where a [`Ir::Test`] path starts.
    #[inline]
    pub(crate) fn root(&self, root: Root) -> &'a Value {
        match root {
            Root::Var(slot) => self.var(slot),
            Root::Local(slot) => self.param(slot),
        }
    }

    /// The variable of `slot`; null if there is none.
    #[inline]
    pub(crate) fn var(&self, slot: u32) -> &'a Value {
        self.env.vars.get(slot as usize).unwrap_or(&NULL)
    }

    /// The lambda parameter of `slot` (its nesting depth); null if it is not bound.
    pub(crate) fn param(&self, slot: u32) -> &'a Value {
        let mut p = self.params;
        while let Some(param) = p {
            if param.slot == slot {
                return param.value;
            }
            p = param.outer;
        }
        &NULL
    }

    /// A context with `param` bound as well, for one lambda call; its lifetime is the
    /// binding's. [`Cx::leave`] takes back what it spent.
    fn enter<'f>(&self, param: &'f Param<'f>) -> Cx<'f>
    where
        'a: 'f,
    {
        Cx {
            env: self.env,
            params: Some(param),
            budget: self.budget,
            start: self.budget,
            exhausted: self.exhausted,
        }
    }

    /// A context for values that live shorter than this one's (a list computed by `filter`),
    /// with the same parameters bound.
    fn narrow<'f>(&self) -> Cx<'f>
    where
        'a: 'f,
    {
        Cx {
            env: self.env,
            params: self.params,
            budget: self.budget,
            start: self.budget,
            exhausted: self.exhausted,
        }
    }

    /// Takes back the budget that a context from [`Cx::enter`] or [`Cx::narrow`] spent.
    fn leave(&mut self, inner: Cx<'_>) {
        self.budget = inner.budget;
        self.exhausted = inner.exhausted;
    }
}

/// Constant folding at compile time spends at most this many lambda calls; beyond it the
/// expression is left for run time.
const FOLD_LAMBDA_CALLS: u64 = 100_000;

impl Ir {
    pub fn as_const(&self) -> Option<&Value> {
        match self {
            Ir::Const(v) => Some(v),
            _ => None,
        }
    }

    /// Where the value is read from, when it is a variable or a parameter and record fields.
    pub fn as_path(&self) -> Option<(Root, &[u32])> {
        match self {
            Ir::Var(s) => Some((Root::Var(*s), &[])),
            Ir::VarPath(s, p) => Some((Root::Var(*s), p)),
            Ir::Local(s) => Some((Root::Local(*s), &[])),
            Ir::LocalPath(s, p) => Some((Root::Local(*s), p)),
            _ => None,
        }
    }

    /// Whether the condition is seen never to hold, whatever the incident: a constant that is
    /// not `true`, a severity above the highest level or below the lowest, a count below zero,
    /// one value equal to two different constants. Certain, not complete: `false` says nothing.
    pub fn never_holds(&self) -> bool {
        match self {
            Ir::Const(v) => !v.truthy(),
            Ir::Test {
                check,
                negate: false,
                ..
            } => check.passes_nothing(),
            Ir::CountCmp { op, n, .. } => match op {
                CmpOp::Lt => *n <= 0.0,
                CmpOp::Le => *n < 0.0,
                CmpOp::Gt | CmpOp::Ge => false,
            },
            Ir::And(items) => {
                items.iter().any(Ir::never_holds)
                    || items
                        .iter()
                        .enumerate()
                        .any(|(i, a)| items[i + 1..].iter().any(|b| Ir::exclude(a, b)))
            }
            Ir::Or(items) => items.iter().all(Ir::never_holds),
            _ => false,
        }
    }

    /// Whether two tests of one path cannot both pass.
    fn exclude(a: &Ir, b: &Ir) -> bool {
        match (a, b) {
            (
                Ir::Test {
                    root: ra,
                    path: pa,
                    check: ca,
                    negate: false,
                },
                Ir::Test {
                    root: rb,
                    path: pb,
                    check: cb,
                    negate: false,
                },
            ) => ra == rb && pa == pb && ca.excludes(cb),
            _ => false,
        }
    }

    /// Folds constants, then turns `path op constant` into a [`Ir::Test`].
    pub fn optimize(self) -> Ir {
        self.fold().specialize()
    }

    fn specialize(self) -> Ir {
        match self {
            // `not (path op constant)`, `path not in list`: one test, negated.
            Ir::Not(a) => match *a {
                Ir::Test {
                    root,
                    path,
                    check,
                    negate,
                } => Ir::Test {
                    root,
                    path,
                    check,
                    negate: !negate,
                },
                other => Ir::Not(Box::new(other)),
            },
            // `count(list) >= 1`: the length compared, no count value built.
            Ir::Cmp(op, a, b) => match (*a, *b) {
                (Ir::Count(list), Ir::Const(Value::Number(n))) => Ir::CountCmp { list, op, n },
                (Ir::Const(Value::Number(n)), Ir::Count(list)) => Ir::CountCmp {
                    list,
                    op: op.flip(),
                    n,
                },
                (a, b) => Ir::Cmp(op, Box::new(a), Box::new(b)).specialize_test(),
            },
            other => other.specialize_test(),
        }
    }

    /// `path op constant` (or `constant op path` for symmetric operators) → [`Ir::Test`].
    fn specialize_test(self) -> Ir {
        let (a, b, op, symmetric, negate) = match &self {
            Ir::Eq(a, b) => (a, b, TestOp::Eq, true, false),
            Ir::Ne(a, b) => (a, b, TestOp::Eq, true, true),
            Ir::Cmp(op, a, b) => (a, b, TestOp::Cmp(*op), true, false),
            Ir::In(a, b) => (a, b, TestOp::In, false, false),
            Ir::Contains(a, b) => (a, b, TestOp::Contains, false, false),
            Ir::StartsWith(a, b) => (a, b, TestOp::StartsWith, false, false),
            Ir::EndsWith(a, b) => (a, b, TestOp::EndsWith, false, false),
            _ => return self,
        };
        let (path_side, value, op) = match (a.as_path(), b.as_const(), b.as_path(), a.as_const()) {
            (Some(p), Some(v), _, _) => (p, v, op),
            (_, _, Some(p), Some(v)) if symmetric => {
                let flipped = match op {
                    TestOp::Cmp(op) => TestOp::Cmp(op.flip()),
                    other => other,
                };
                (p, v, flipped)
            }
            _ => return self,
        };
        let ((root, path), value) = (path_side, value.clone());
        let path: Box<[u32]> = path.into();
        let check = Check::new(op, value);
        // Past the budget `a != b` is null, which does not hold, where a negated test holds
        // (as `not (a == b)` does): a comparison that can run out stays one.
        if negate && check.has_work() {
            return self;
        }
        Ir::Test {
            root,
            path,
            check,
            negate,
        }
    }

    /// Replaces a node whose operands are all constants by its value.
    fn fold(self) -> Ir {
        let foldable = match &self {
            Ir::Const(_)
            | Ir::Test { .. }
            | Ir::CountCmp { .. }
            | Ir::Var(_)
            | Ir::VarPath(..)
            | Ir::Local(_)
            | Ir::LocalPath(..)
            | Ir::Now => false,
            Ir::Field(a, _)
            | Ir::FieldByName(a, _)
            | Ir::Not(a)
            | Ir::Neg(a)
            | Ir::Matches(a, _)
            | Ir::Count(a)
            | Ir::First(a)
            | Ir::Distinct(a)
            | Ir::Len(a)
            | Ir::Lower(a)
            | Ir::Upper(a)
            | Ir::InCidr(a, _)
            | Ir::ParseIp(a) => a.is_const(),
            Ir::Index(a, b)
            | Ir::Eq(a, b)
            | Ir::Ne(a, b)
            | Ir::Cmp(_, a, b)
            | Ir::In(a, b)
            | Ir::Contains(a, b)
            | Ir::StartsWith(a, b)
            | Ir::EndsWith(a, b)
            | Ir::Arith(_, a, b)
            | Ir::Concat(a, b) => a.is_const() && b.is_const(),
            // `count([1, 2], x => x > 1)`: the body reads only its own parameter.
            Ir::Quant {
                list, body, slot, ..
            } => list.is_const() && body.is_closed(*slot),
            Ir::List(items) | Ir::And(items) | Ir::Or(items) => items.iter().all(Ir::is_const),
        };
        if !foldable {
            return self;
        }
        let env = Env {
            vars: &[],
            now_ms: 0,
        };
        let mut cx = Cx::new(&env);
        cx.budget = FOLD_LAMBDA_CALLS;
        let value = self.eval(&mut cx).into_owned();
        if cx.exhausted {
            return self;
        }
        Ir::Const(value)
    }

    fn is_const(&self) -> bool {
        matches!(self, Ir::Const(_))
    }

    /// Whether the value depends on nothing outside: no variable, no `now()`, no lambda
    /// parameter of a slot below `min_slot`.
    fn is_closed(&self, min_slot: u32) -> bool {
        match self {
            Ir::Const(_) => true,
            Ir::Test {
                root: Root::Local(s),
                ..
            } => *s >= min_slot,
            Ir::Test { .. } | Ir::Var(_) | Ir::VarPath(..) | Ir::Now => false,
            Ir::Local(s) | Ir::LocalPath(s, _) => *s >= min_slot,
            Ir::Field(a, _)
            | Ir::FieldByName(a, _)
            | Ir::Not(a)
            | Ir::Neg(a)
            | Ir::Matches(a, _)
            | Ir::Count(a)
            | Ir::First(a)
            | Ir::Distinct(a)
            | Ir::Len(a)
            | Ir::Lower(a)
            | Ir::Upper(a)
            | Ir::InCidr(a, _)
            | Ir::ParseIp(a)
            | Ir::CountCmp { list: a, .. } => a.is_closed(min_slot),
            Ir::Index(a, b)
            | Ir::Eq(a, b)
            | Ir::Ne(a, b)
            | Ir::Cmp(_, a, b)
            | Ir::In(a, b)
            | Ir::Contains(a, b)
            | Ir::StartsWith(a, b)
            | Ir::EndsWith(a, b)
            | Ir::Arith(_, a, b)
            | Ir::Concat(a, b)
            | Ir::Quant {
                list: a, body: b, ..
            } => a.is_closed(min_slot) && b.is_closed(min_slot),
            Ir::List(items) | Ir::And(items) | Ir::Or(items) => {
                items.iter().all(|i| i.is_closed(min_slot))
            }
        }
    }

    /// Evaluates. Stack discipline: every arm is a call, so the frame that recursion stacks
    /// up stays small even in unoptimized builds.
    pub fn eval<'a>(&'a self, cx: &mut Cx<'a>) -> Cow<'a, Value> {
        match self {
            Ir::Const(v) => Cow::Borrowed(v),
            Ir::CountCmp { .. } | Ir::Not(_) | Ir::And(_) | Ir::Or(_) => bool_value(self.test(cx)),
            Ir::Test {
                root,
                path,
                check,
                negate,
            } => match check_within(check, walk(cx.root(*root), path), cx) {
                Some(holds) => bool_value(holds != *negate),
                // Past the budget the test is null, as its operator's would be. Only
                // `not (…)` negates a test that can run out (`!=` stays a comparison, see
                // `specialize_test`): `not null` holds.
                None if *negate => bool_value(true),
                None => Cow::Borrowed(&NULL),
            },
            Ir::Eq(a, b) => opt_bool(eq_test(a, b, cx)),
            Ir::Ne(a, b) => opt_bool(eq_test(a, b, cx).map(|eq| !eq)),
            Ir::Cmp(op, a, b) => opt_bool(cmp_test(*op, a, b, cx)),
            Ir::Var(slot) => Cow::Borrowed(cx.var(*slot)),
            Ir::VarPath(slot, path) => Cow::Borrowed(walk(cx.var(*slot), path)),
            Ir::Local(slot) => local(cx, *slot, &[]),
            Ir::LocalPath(slot, path) => local(cx, *slot, path),
            Ir::Field(base, i) => project(base.eval(cx), |v| v.get(*i as usize)),
            Ir::FieldByName(base, name) => project(base.eval(cx), |v| match v {
                Value::Record(r) => r.get(name).unwrap_or(&NULL),
                _ => &NULL,
            }),
            Ir::Index(base, index) => eval_index(base, index, cx),
            Ir::List(items) => eval_list(items, cx),
            Ir::Neg(a) => neg(&a.eval(cx)),
            Ir::In(x, list) => {
                let (x, list) = (x.eval(cx), list.eval(cx));
                opt_bool(match &*list {
                    Value::List(items) => list_has(items, &x, cx),
                    _ => Some(false),
                })
            }
            Ir::Contains(a, b) => opt_bool(contains_test(a, b, cx)),
            Ir::StartsWith(a, b) => opt_bool(affix_test(a, b, cx, |s, t| s.starts_with(t))),
            Ir::EndsWith(a, b) => opt_bool(affix_test(a, b, cx, |s, t| s.ends_with(t))),
            Ir::Matches(a, re) => opt_bool(match &*a.eval(cx) {
                Value::String(s) => afford(cx, scan_work(s.len())).then(|| re.is_match(&**s)),
                _ => Some(false),
            }),
            Ir::Arith(op, a, b) => Cow::Owned(eval_pair(a, b, cx, |a, b| arith(*op, a, b))),
            Ir::Concat(a, b) => Cow::Owned(concat(a, b, cx)),
            Ir::Quant {
                kind,
                list,
                slot,
                body,
            } => quant(*kind, list, *slot, body, cx),
            Ir::Count(list) => Cow::Owned(count(&list.eval(cx))),
            Ir::First(list) => project(list.eval(cx), |v| match v {
                Value::List(items) => items.first().unwrap_or(&NULL),
                _ => &NULL,
            }),
            Ir::Distinct(list) => Cow::Owned(distinct(&list.eval(cx), cx)),
            Ir::Len(a) => {
                let v = a.eval(cx);
                if !afford_text(cx, &v, |s| scan_work(s.len())) {
                    return Cow::Owned(Value::Null);
                }
                Cow::Owned(len(&v))
            }
            Ir::Lower(a) => {
                let v = a.eval(cx);
                if !afford_text(cx, &v, |s| built_work(s.len())) {
                    return Cow::Owned(Value::Null);
                }
                match &*v {
                    // Already lowercase: the same text, shared rather than copied.
                    Value::String(s)
                        if s.is_ascii() && !s.bytes().any(|c| c.is_ascii_uppercase()) =>
                    {
                        Cow::Owned(Value::String(s.clone()))
                    }
                    other => Cow::Owned(map_str(other, str::to_lowercase)),
                }
            }
            Ir::Upper(a) => {
                let v = a.eval(cx);
                if !afford_text(cx, &v, |s| built_work(s.len())) {
                    return Cow::Owned(Value::Null);
                }
                Cow::Owned(map_str(&v, str::to_uppercase))
            }
            Ir::Now => Cow::Owned(Value::Time(cx.env.now_ms)),
            Ir::InCidr(a, net) => bool_value(match &*a.eval(cx) {
                Value::Ip(ip) => net_contains(net, ip),
                _ => false,
            }),
            Ir::ParseIp(a) => {
                let v = a.eval(cx);
                if !afford_text(cx, &v, |s| scan_work(s.len())) {
                    return Cow::Owned(Value::Null);
                }
                Cow::Owned(parse_ip(&v))
            }
        }
    }
}

impl Ir {
    /// Evaluates a condition: whether the value is `true`, without building it.
    ///
    /// The arms that make up most conditions are here; the rest are in `test_other`, so this
    /// function stays small (no large stack frame to set up on every call).
    pub fn test<'a>(&'a self, cx: &mut Cx<'a>) -> bool {
        match self {
            Ir::Test {
                root,
                path,
                check,
                negate,
            } => check_within(check, walk(cx.root(*root), path), cx).unwrap_or(false) != *negate,
            Ir::And(items) => items.iter().all(|i| i.test(cx)),
            Ir::Or(items) => items.iter().any(|i| i.test(cx)),
            Ir::Not(a) => !a.test(cx),
            _ => self.test_other(cx),
        }
    }

    #[inline(never)]
    fn test_other<'a>(&'a self, cx: &mut Cx<'a>) -> bool {
        match self {
            Ir::CountCmp { list, op, n } => {
                let len = items_of(&list.eval_ref(cx)).len();
                (len as f64).partial_cmp(n).is_some_and(|o| op.holds(o))
            }
            Ir::Const(v) => v.truthy(),
            // Past the budget a comparison is null, which does not hold.
            Ir::Eq(a, b) => eq_test(a, b, cx).unwrap_or(false),
            Ir::Ne(a, b) => eq_test(a, b, cx).is_some_and(|eq| !eq),
            Ir::Cmp(op, a, b) => cmp_test(*op, a, b, cx).unwrap_or(false),
            _ => self.eval(cx).truthy(),
        }
    }

    /// [`Ir::eval`], with a path (the usual list of a list function) read inline.
    #[inline]
    fn eval_ref<'a>(&'a self, cx: &mut Cx<'a>) -> Cow<'a, Value> {
        match self {
            Ir::VarPath(slot, path) => Cow::Borrowed(walk(cx.var(*slot), path)),
            _ => self.eval(cx),
        }
    }
}

/// The work of `v op c` ([`test_op`]), as the operator spends it on any operands ([`eq_test`],
/// [`cmp_test`], [`list_has`], [`contains_test`], [`affix_test`]). Only `contains` scans all of
/// `v`; every other operator reads no more of it than the size of `c`, so its work is bounded
/// by the constant.
#[inline(never)]
pub(crate) fn test_work(op: TestOp, v: &Value, c: &Value) -> u64 {
    match (op, v, c) {
        (TestOp::Eq, v, c) => eq_work(v, c, u64::MAX),
        (TestOp::Cmp(_), Value::String(s), Value::String(t)) => scan_work(s.len().min(t.len())),
        (TestOp::In, x, Value::List(items)) => in_work(items, x, u64::MAX),
        (TestOp::Contains, Value::List(items), x) => in_work(items, x, u64::MAX),
        (TestOp::Contains, Value::String(s), Value::String(t)) => text_contains_work(s, t),
        (TestOp::StartsWith | TestOp::EndsWith, Value::String(s), Value::String(t)) => {
            affix_work(s, t)
        }
        _ => 0,
    }
}

/// Whether [`test_work`] of `op` and the constant `c` is more than zero for some value: always
/// for `contains`, which scans the value; for the other operators only when `c` holds text of
/// a kilobyte or more or a list of more than [`FREE_ITEMS`] items ([`value_work`]), as the
/// work of comparing with `c` needs.
pub(crate) fn test_may_work(op: TestOp, c: &Value) -> bool {
    op == TestOp::Contains || value_work(c, 0) > 0
}

#[inline(never)]
pub(crate) fn test_op(op: TestOp, v: &Value, c: &Value) -> bool {
    match op {
        TestOp::Eq => v == c,
        TestOp::Cmp(op) => compare(op, v, c),
        TestOp::In => match c {
            Value::List(items) => items.contains(v),
            _ => false,
        },
        TestOp::Contains => match (v, c) {
            (Value::List(items), x) => items.contains(x),
            (Value::String(s), Value::String(t)) => s.contains(&**t),
            _ => false,
        },
        TestOp::StartsWith => match (v, c) {
            (Value::String(s), Value::String(t)) => s.starts_with(&**t),
            _ => false,
        },
        TestOp::EndsWith => match (v, c) {
            (Value::String(s), Value::String(t)) => s.ends_with(&**t),
            _ => false,
        },
    }
}

/// Evaluates two operands and combines them by reference.
fn eval_pair<'a, T>(
    a: &'a Ir,
    b: &'a Ir,
    cx: &mut Cx<'a>,
    f: impl FnOnce(&Value, &Value) -> T,
) -> T {
    let a = a.eval(cx);
    let b = b.eval(cx);
    f(&a, &b)
}

#[inline(never)]
fn local<'a>(cx: &Cx<'a>, slot: u32, path: &[u32]) -> Cow<'a, Value> {
    Cow::Borrowed(walk(cx.param(slot), path))
}

#[inline(never)]
fn eval_index<'a>(base: &'a Ir, index: &'a Ir, cx: &mut Cx<'a>) -> Cow<'a, Value> {
    let i = match &*index.eval(cx) {
        // Below 1e15 the conversion is exact.
        Value::Number(n) if *n >= 0.0 && n.fract() == 0.0 && *n < 1e15 => Some(*n as usize),
        _ => None,
    };
    let base = base.eval(cx);
    match i {
        Some(i) => project(base, |v| match v {
            Value::List(items) => items.get(i).unwrap_or(&NULL),
            _ => &NULL,
        }),
        None => Cow::Borrowed(&NULL),
    }
}

#[inline(never)]
fn eval_list<'a>(items: &'a [Ir], cx: &mut Cx<'a>) -> Cow<'a, Value> {
    // Built inside a lambda, a literal list multiplies: its items count as work.
    if !spend_n(cx, items.len() as u64) {
        return Cow::Owned(Value::Null);
    }
    let values: Vec<Value> = items.iter().map(|i| i.eval(cx).into_owned()).collect();
    Cow::Owned(Value::List(values.into()))
}

#[inline(never)]
fn neg(v: &Value) -> Cow<'static, Value> {
    Cow::Owned(match v {
        Value::Number(n) => Value::Number(-n),
        Value::Duration(d) => d.checked_neg().map_or(Value::Null, Value::Duration),
        _ => Value::Null,
    })
}

fn compare(op: CmpOp, a: &Value, b: &Value) -> bool {
    order(a, b).is_some_and(|o| op.holds(o))
}

#[inline(never)]
fn count(v: &Value) -> Value {
    Value::Number(match v {
        Value::List(items) => items.len() as f64,
        _ => 0.0,
    })
}

#[inline(never)]
fn len(v: &Value) -> Value {
    Value::Number(match v {
        Value::List(items) => items.len() as f64,
        Value::String(s) => s.chars().count() as f64,
        _ => 0.0,
    })
}

#[inline(never)]
fn map_str(v: &Value, f: impl FnOnce(&str) -> String) -> Value {
    match v {
        Value::String(s) => Value::from(f(s)),
        _ => Value::Null,
    }
}

/// `lower(place) == 'text'` or `lower(place) contains 'text'` (as `op` decides), without the
/// lowercase copy, when the place holds ASCII text and the constant has no ASCII capital:
/// then ASCII case folding is exactly `lower`. `None` for any other shape or value, and the
/// caller evaluates as usual; reading a place spends no lambda call, so reading it twice is
/// harmless. Otherwise it spends what `lower` and then the comparison (its work given by
/// `work`) would, and decides as they would past the budget: `Some(Some(false))` when `lower`
/// runs out (`null == 'text'` and `null contains 'text'` are false), `Some(None)` (null) when
/// the comparison does.
fn lower_vs_text<'a>(
    a: &'a Ir,
    b: &'a Ir,
    cx: &mut Cx<'a>,
    op: fn(&str, &str) -> bool,
    work: fn(&str, &str) -> u64,
) -> Option<Option<bool>> {
    let (Ir::Lower(place), Ir::Const(Value::String(text))) = (a, b) else {
        return None;
    };
    if !matches!(
        **place,
        Ir::Var(_) | Ir::VarPath(..) | Ir::Local(_) | Ir::LocalPath(..)
    ) || text.bytes().any(|c| c.is_ascii_uppercase())
    {
        return None;
    }
    match &*place.eval(cx) {
        Value::String(s) if s.is_ascii() => {
            if !spend_n(cx, built_work(s.len())) {
                return Some(Some(false));
            }
            // ASCII text lowercased keeps its length.
            Some(afford(cx, work(s, text)).then(|| op(s, text)))
        }
        _ => None,
    }
}

/// `a == b` or `a != b` (as [`Ir::Eq`]); `None` (null) past the budget.
#[inline(never)]
fn eq_test<'a>(a: &'a Ir, b: &'a Ir, cx: &mut Cx<'a>) -> Option<bool> {
    if let Some(eq) = lower_vs_text(a, b, cx, ascii_eq_lowered, text_eq_work) {
        return eq;
    }
    let (a, b) = (a.eval(cx), b.eval(cx));
    afford(cx, eq_work(&a, &b, cx.budget)).then(|| *a == *b)
}

/// `a < b`, …; `None` (null) past the budget.
#[inline(never)]
fn cmp_test<'a>(op: CmpOp, a: &'a Ir, b: &'a Ir, cx: &mut Cx<'a>) -> Option<bool> {
    let (a, b) = (a.eval(cx), b.eval(cx));
    let work = match (&*a, &*b) {
        // Text is ordered by its first difference, at most the shorter text away.
        (Value::String(s), Value::String(t)) => scan_work(s.len().min(t.len())),
        _ => 0,
    };
    afford(cx, work).then(|| compare(op, &a, &b))
}

/// `a contains b`: a list holding a value, or text holding text; `None` (null) past the budget.
#[inline(never)]
fn contains_test<'a>(a: &'a Ir, b: &'a Ir, cx: &mut Cx<'a>) -> Option<bool> {
    if let Some(hit) = lower_vs_text(a, b, cx, ascii_contains_lowered, text_contains_work) {
        return hit;
    }
    let (a, b) = (a.eval(cx), b.eval(cx));
    match (&*a, &*b) {
        (Value::List(items), x) => list_has(items, x, cx),
        (Value::String(s), Value::String(t)) => {
            afford(cx, text_contains_work(s, t)).then(|| s.contains(&**t))
        }
        _ => Some(false),
    }
}

/// Whether `items` holds `x`, spending [`in_work`]; `None` (null) past the budget.
fn list_has(items: &[Value], x: &Value, cx: &mut Cx<'_>) -> Option<bool> {
    afford(cx, in_work(items, x, cx.budget)).then(|| items.contains(x))
}

/// `None` as null, a boolean as itself.
fn opt_bool(b: Option<bool>) -> Cow<'static, Value> {
    match b {
        Some(b) => bool_value(b),
        None => Cow::Borrowed(&NULL),
    }
}

/// `s.to_lowercase() == text` for ASCII `s` and `text` without ASCII capitals.
fn ascii_eq_lowered(s: &str, text: &str) -> bool {
    s.eq_ignore_ascii_case(text)
}

/// `s.to_lowercase().contains(text)` for ASCII `s` and `text` without ASCII capitals.
fn ascii_contains_lowered(s: &str, text: &str) -> bool {
    let (s, text) = (s.as_bytes(), text.as_bytes());
    text.is_empty() || s.windows(text.len()).any(|w| w.eq_ignore_ascii_case(text))
}

#[inline(never)]
fn parse_ip(v: &Value) -> Value {
    match v {
        // An IPv4-mapped address is its IPv4 address, as the importer writes it.
        Value::String(s) => s
            .trim()
            .parse::<IpAddr>()
            .map_or(Value::Null, |ip| Value::Ip(ip.to_canonical())),
        Value::Ip(ip) => Value::Ip(ip.to_canonical()),
        _ => Value::Null,
    }
}

fn bool_value(b: bool) -> Cow<'static, Value> {
    static TRUE: Value = Value::Bool(true);
    static FALSE: Value = Value::Bool(false);
    Cow::Borrowed(if b { &TRUE } else { &FALSE })
}

/// Follows record fields by index; anything but a record yields null.
pub(crate) fn walk<'v>(mut v: &'v Value, path: &[u32]) -> &'v Value {
    for &i in path {
        v = v.get(i as usize);
    }
    v
}

/// A part of a value, borrowed when the value is borrowed.
fn project<'a>(v: Cow<'a, Value>, part: impl for<'v> Fn(&'v Value) -> &'v Value) -> Cow<'a, Value> {
    match v {
        Cow::Borrowed(v) => Cow::Borrowed(part(v)),
        Cow::Owned(v) => Cow::Owned(part(&v).clone()),
    }
}

/// Ordering of two values of the same orderable kind; `None` otherwise (null included).
fn order(a: &Value, b: &Value) -> Option<Ordering> {
    match (a, b) {
        (Value::Number(a), Value::Number(b)) => a.partial_cmp(b),
        (Value::String(a), Value::String(b)) => Some(a.cmp(b)),
        (Value::Duration(a), Value::Duration(b)) | (Value::Time(a), Value::Time(b)) => {
            Some(a.cmp(b))
        }
        (Value::Severity(a), Value::Severity(b)) => Some(a.cmp(b)),
        (Value::Ip(a), Value::Ip(b)) => Some(a.cmp(b)),
        _ => None,
    }
}

#[inline(never)]
fn arith(op: ArithOp, a: &Value, b: &Value) -> Value {
    use Value::{Duration as D, Number as N, Time as T};
    let r = match (op, a, b) {
        (ArithOp::Add, N(x), N(y)) => Some(N(x + y)),
        (ArithOp::Sub, N(x), N(y)) => Some(N(x - y)),
        (ArithOp::Mul, N(x), N(y)) => Some(N(x * y)),
        (ArithOp::Div, N(x), N(y)) => (*y != 0.0).then(|| N(x / y)),
        (ArithOp::Rem, N(x), N(y)) => (*y != 0.0).then(|| N(x % y)),
        (ArithOp::Add, T(t), D(d)) | (ArithOp::Add, D(d), T(t)) => t.checked_add(*d).map(T),
        (ArithOp::Sub, T(t), D(d)) => t.checked_sub(*d).map(T),
        (ArithOp::Sub, T(x), T(y)) => x.checked_sub(*y).map(D),
        (ArithOp::Add, D(x), D(y)) => x.checked_add(*y).map(D),
        (ArithOp::Sub, D(x), D(y)) => x.checked_sub(*y).map(D),
        (ArithOp::Mul, D(d), N(n)) | (ArithOp::Mul, N(n), D(d)) => {
            let r = (*d as f64) * n;
            // Inside ±2^63 the conversion is exact enough and cannot saturate.
            (r.is_finite() && r.abs() < 9.2e18).then_some(D(r as i64))
        }
        _ => None,
    };
    match r {
        // A number past the largest float (`1e300 * 1e300`, and what follows from it) is no
        // number, and a time outside years 0000–9999 has no RFC 3339 form: null, as for any
        // value that cannot be.
        Some(N(n)) if !n.is_finite() => Value::Null,
        Some(T(t)) if !crate::value::writable_time(t) => Value::Null,
        Some(v) => v,
        None => Value::Null,
    }
}

/// `a + b` of two texts; null when either is not text, or when the text written is past the
/// evaluation's work budget ([`built_work`], as `lower` writes it).
#[inline(never)]
fn concat<'a>(a: &'a Ir, b: &'a Ir, cx: &mut Cx<'a>) -> Value {
    let (a, b) = (a.eval(cx), b.eval(cx));
    let (Value::String(a), Value::String(b)) = (&*a, &*b) else {
        return Value::Null;
    };
    if !spend_n(cx, built_work(a.len() + b.len())) {
        return Value::Null;
    }
    let mut joined = String::with_capacity(a.len() + b.len());
    joined.push_str(a);
    joined.push_str(b);
    Value::from(joined)
}

/// Takes one lambda call from the budget; false when it is spent.
fn spend(cx: &mut Cx<'_>) -> bool {
    spend_n(cx, 1)
}

/// Takes `n` units of work from the budget (items of a list built, kilobytes of text
/// scanned); false, with nothing left, when there are fewer.
fn spend_n(cx: &mut Cx<'_>, n: u64) -> bool {
    match cx.budget.checked_sub(n) {
        Some(left) => {
            cx.budget = left;
            true
        }
        None => {
            cx.budget = 0;
            cx.exhausted = true;
            false
        }
    }
}

/// The work of writing `len` bytes of new text (`+`, `lower`, `upper`): a unit per started
/// 8 bytes, so that what an evaluation builds (and the values it returns keep) is bounded by
/// its budget to 80 MB, where reading is charged by the kilobyte.
fn built_work(len: usize) -> u64 {
    (len as u64).div_ceil(8)
}

/// Takes `n` units of work, if any (see [`spend_n`]); false, with nothing left, when there
/// are fewer.
#[inline]
fn afford(cx: &mut Cx<'_>, n: u64) -> bool {
    n == 0 || spend_n(cx, n)
}

/// Lists of up to this many items are compared and searched without spending work.
const FREE_ITEMS: usize = 64;

/// Whether the work `work` counts for `v`'s text (none when it is not text) is paid; when
/// not, the function reading it yields null.
#[inline]
fn afford_text(cx: &mut Cx<'_>, v: &Value, work: impl Fn(&str) -> u64) -> bool {
    match v {
        Value::String(s) => afford(cx, work(s)),
        _ => true,
    }
}

/// The work of reading `len` bytes of text in a comparison or a search: one unit per whole
/// kilobyte, so text under a kilobyte (names, ids, the constants of an expression) is free.
#[inline]
fn scan_work(len: usize) -> u64 {
    (len / 1024) as u64
}

/// The work of visiting `n` items of a list in a comparison or a search: one unit an item,
/// free up to [`FREE_ITEMS`].
#[inline]
fn items_work(n: usize) -> u64 {
    if n > FREE_ITEMS {
        n as u64
    } else {
        0
    }
}

/// The work of `s == t`: text of different lengths differs at once.
fn text_eq_work(s: &str, t: &str) -> u64 {
    if s.len() == t.len() {
        scan_work(s.len())
    } else {
        0
    }
}

/// The work of `s contains t`: a scan of `s`.
fn text_contains_work(s: &str, _t: &str) -> u64 {
    scan_work(s.len())
}

/// `a starts_with b` or `a ends_with b` (`test`), charging its work: false unless both are
/// text, none when the work is not affordable.
fn affix_test<'a>(
    a: &'a Ir,
    b: &'a Ir,
    cx: &mut Cx<'a>,
    test: fn(&str, &str) -> bool,
) -> Option<bool> {
    let (a, b) = (a.eval(cx), b.eval(cx));
    match (&*a, &*b) {
        (Value::String(s), Value::String(t)) => afford(cx, affix_work(s, t)).then(|| test(s, t)),
        _ => Some(false),
    }
}

/// The work of `s starts_with t` (or `ends_with`): `t` compared, when it fits in `s`.
fn affix_work(s: &str, t: &str) -> u64 {
    if t.len() <= s.len() {
        scan_work(t.len())
    } else {
        0
    }
}

/// The work of `a == b`, as [`Value`]'s `==` may do it: kilobytes of text of equal lengths,
/// items of lists of equal lengths and the work of each pair, fields of records of one type.
/// It depends on the values alone, not on whether they share memory (which `==` uses to stop
/// early), so that plans do not depend on it. Past `cap`, any number above it: the walk stops.
fn eq_work(a: &Value, b: &Value, cap: u64) -> u64 {
    let pairs = |x: &[Value], y: &[Value], mut work: u64| {
        for (i, j) in x.iter().zip(y) {
            if work > cap {
                break;
            }
            if may_work(i) {
                work = work.saturating_add(eq_work(i, j, cap - work));
            }
        }
        work
    };
    match (a, b) {
        (Value::String(s), Value::String(t)) => text_eq_work(s, t),
        (Value::List(x), Value::List(y)) if x.len() == y.len() => pairs(x, y, items_work(x.len())),
        (Value::Record(x), Value::Record(y))
            if x.fields().len() == y.fields().len() && x.ty().name == y.ty().name =>
        {
            pairs(x.fields(), y.fields(), 0)
        }
        _ => 0,
    }
}

/// Whether comparing `v` with anything may cost work: long text, a list or a record.
#[inline]
fn may_work(v: &Value) -> bool {
    match v {
        Value::String(s) => s.len() >= 1024,
        Value::List(_) | Value::Record(_) => true,
        _ => false,
    }
}

/// The work of `x in items`: the items visited, and the work of comparing `x` with each. Past
/// `cap`, any number above it.
fn in_work(items: &[Value], x: &Value, cap: u64) -> u64 {
    let mut work = items_work(items.len());
    if may_work(x) {
        for item in items {
            if work > cap {
                break;
            }
            work = work.saturating_add(eq_work(x, item, cap - work));
        }
    }
    work
}

/// The work of hashing `v` (and of comparing it with an equal value): kilobytes of its text
/// and the items of its lists, nested ones included. Past `cap`, any number above it.
fn value_work(v: &Value, cap: u64) -> u64 {
    let all = |values: &[Value], mut work: u64| {
        for v in values {
            if work > cap {
                break;
            }
            work = work.saturating_add(value_work(v, cap - work));
        }
        work
    };
    match v {
        Value::String(s) => scan_work(s.len()),
        Value::List(items) => all(items, items_work(items.len())),
        Value::Record(r) => all(r.fields(), 0),
        _ => 0,
    }
}

/// [`Holds::holds`], after spending the check's work ([`Holds::work`]); `None` (null) past
/// the budget. Only checks that may have work ([`Check::has_work`]) have any: for the others
/// this is `holds`.
#[inline(always)]
pub(crate) fn check_within<C: Holds>(check: &C, v: &Value, cx: &mut Cx<'_>) -> Option<bool> {
    afford(cx, check.work(v)).then(|| check.holds(v))
}

/// The body of `any`, `all` or `count` when it only tests a path of its own parameter
/// (`d => d.verdict in ['malicious', 'suspicious']`), the usual shape: [`tally`] runs the whole
/// call as one loop, without binding the parameter for each item. Not for a check that spends
/// work of its own (`contains`, a long constant, see [`Check::has_work`]): the lambda is called
/// as written. (Compiled conditions have their own, specialized, form of this:
/// `cond::QuantTest`.)
#[derive(Clone, Copy)]
struct ItemTest<'a> {
    path: &'a [u32],
    check: &'a Check,
    negate: bool,
}

impl<'a> ItemTest<'a> {
    fn of(kind: Quant, body: &'a Ir, slot: u32) -> Option<Self> {
        match body {
            Ir::Test {
                root: Root::Local(s),
                path,
                check,
                negate,
            } if *s == slot
                && matches!(kind, Quant::Any | Quant::All | Quant::Count)
                && !check.has_work() =>
            {
                Some(ItemTest {
                    path,
                    check,
                    negate: *negate,
                })
            }
            _ => None,
        }
    }

    /// What the lambda returns for `item`, as [`Ir::test`] would with the parameter bound.
    #[inline]
    fn passes(self, item: &Value) -> bool {
        self.check.holds(walk(item, self.path)) != self.negate
    }
}

/// `any`, `all` or `count` whose lambda is `passes`: for `count` the number of passing items,
/// for `any` 1 if an item passes, for `all` 1 if an item fails (else 0). It visits the items in
/// order and stops at the same item as [`run_quant`], spending one lambda call per item
/// visited; `None` (null) when the budget runs out first.
#[inline]
pub(crate) fn tally(
    kind: Quant,
    items: &[Value],
    passes: impl Fn(&Value) -> bool,
    cx: &mut Cx<'_>,
) -> Option<usize> {
    let allowed = usize::try_from(cx.budget).map_or(items.len(), |b| b.min(items.len()));
    let visible = items.get(..allowed).unwrap_or_default();
    let (visited, hits) = visit(kind, visible, passes);
    // `visited <= allowed <= budget`: this never saturates.
    cx.budget = cx.budget.saturating_sub(visited as u64);
    let decided = allowed == items.len() || (kind != Quant::Count && hits > 0);
    if !decided {
        cx.exhausted = true;
        return None;
    }
    Some(hits)
}

/// [`tally`] without a budget: how many items it visits, and its result.
#[inline]
pub(crate) fn visit(
    kind: Quant,
    items: &[Value],
    passes: impl Fn(&Value) -> bool,
) -> (usize, usize) {
    // `any` stops at the first item that passes, `all` at the first that fails.
    match kind {
        Quant::Any => until(items, |i| passes(i)),
        Quant::All => until(items, |i| !passes(i)),
        _ => (items.len(), items.iter().filter(|i| passes(i)).count()),
    }
}

/// How many items `stop` visits until it holds, and 1 if it does (else 0).
#[inline]
fn until(items: &[Value], stop: impl Fn(&Value) -> bool) -> (usize, usize) {
    for (i, item) in items.iter().enumerate() {
        if stop(item) {
            return (i + 1, 1);
        }
    }
    (items.len(), 0)
}

/// The items of a list; null (or anything else) is an empty list.
fn items_of(v: &Value) -> &[Value] {
    match v {
        Value::List(items) => items,
        _ => &[],
    }
}

/// `any`, `all`, `count`, `filter` and `map`: null counts as an empty list.
#[inline(never)]
fn quant<'a>(
    kind: Quant,
    list: &'a Ir,
    slot: u32,
    body: &'a Ir,
    cx: &mut Cx<'a>,
) -> Cow<'a, Value> {
    if let Some(t) = ItemTest::of(kind, body, slot) {
        let list = list.eval_ref(cx);
        return bool_or_value(match tally(kind, items_of(&list), |i| t.passes(i), cx) {
            None => Value::Null,
            Some(hits) => match kind {
                Quant::Any => Value::Bool(hits > 0),
                Quant::All => Value::Bool(hits == 0),
                _ => Value::Number(hits as f64),
            },
        });
    }
    match list.eval(cx) {
        Cow::Borrowed(Value::List(items)) => run_quant(kind, items, slot, body, cx),
        Cow::Owned(Value::List(items)) => {
            // A computed list (`filter(…)`, `map(…)`) lives only in this frame: evaluate the
            // body in a context of that shorter lifetime, so parameters are still borrowed.
            let mut inner = cx.narrow();
            let result = run_quant(kind, &items, slot, body, &mut inner).into_owned();
            cx.leave(inner);
            Cow::Owned(result)
        }
        _ => run_quant(kind, &[], slot, body, cx),
    }
}

fn run_quant<'b>(
    kind: Quant,
    items: &'b [Value],
    slot: u32,
    body: &'b Ir,
    cx: &mut Cx<'b>,
) -> Cow<'b, Value> {
    let mut hits = 0usize;
    let mut out: Vec<Value> = Vec::new();
    for item in items {
        if !spend(cx) {
            return Cow::Borrowed(&NULL);
        }
        let param = Param {
            slot,
            value: item,
            outer: cx.params,
        };
        let mut inner = cx.enter(&param);
        let stop = match kind {
            Quant::Any => body.test(&mut inner),
            Quant::All => !body.test(&mut inner),
            Quant::Count => {
                hits += usize::from(body.test(&mut inner));
                false
            }
            Quant::Filter => {
                if body.test(&mut inner) {
                    out.push(item.clone());
                }
                false
            }
            Quant::Map => {
                out.push(body.eval(&mut inner).into_owned());
                false
            }
        };
        cx.leave(inner);
        if stop {
            hits += 1;
            break;
        }
    }
    bool_or_value(match kind {
        Quant::Any => Value::Bool(hits > 0),
        Quant::All => Value::Bool(hits == 0),
        Quant::Count => Value::Number(hits as f64),
        Quant::Filter | Quant::Map => Value::List(out.into()),
    })
}

fn bool_or_value(v: Value) -> Cow<'static, Value> {
    match v {
        Value::Bool(b) => bool_value(b),
        other => Cow::Owned(other),
    }
}

/// The first occurrence of every value, in order; null is an empty list. It spends an item
/// of work for each item, and the work of hashing it ([`value_work`]), before it starts, and
/// the work of each comparison of items of one hash; null past the budget.
#[inline(never)]
fn distinct(list: &Value, cx: &mut Cx<'_>) -> Value {
    let Value::List(items) = list else {
        return Value::List(Vec::new().into());
    };
    let mut work = items.len() as u64;
    for item in items.iter() {
        if work > cx.budget {
            break;
        }
        work = work.saturating_add(value_work(item, cx.budget - work));
    }
    if !spend_n(cx, work) {
        return Value::Null;
    }
    let mut seen: HashMap<u64, Vec<usize>> = HashMap::new();
    let mut out: Vec<Value> = Vec::new();
    for item in items.iter() {
        let mut h = DefaultHasher::new();
        item.hash_into(&mut h);
        let bucket = seen.entry(h.finish()).or_default();
        let mut found = false;
        for &i in bucket.iter() {
            let Some(seen_item) = out.get(i) else {
                continue;
            };
            if !afford(cx, eq_work(seen_item, item, cx.budget)) {
                return Value::Null;
            }
            if seen_item == item {
                found = true;
                break;
            }
        }
        if found {
            continue;
        }
        bucket.push(out.len());
        out.push(item.clone());
    }
    Value::List(out.into())
}

/// Whether `net` holds `ip`; IPv4-mapped IPv6 addresses count as their IPv4 address.
fn net_contains(net: &IpNet, ip: &IpAddr) -> bool {
    if net.contains(ip) {
        return true;
    }
    // An address in its IPv4 and IPv4-mapped spellings is one address, whichever spelling the
    // network is written in.
    match ip {
        IpAddr::V6(v6) => v6
            .to_ipv4_mapped()
            .is_some_and(|v4| net.contains(&IpAddr::V4(v4))),
        IpAddr::V4(v4) => net.contains(&IpAddr::V6(v4.to_ipv6_mapped())),
    }
}
