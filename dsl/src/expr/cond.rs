//! Conditions compiled for [`Expr::eval_bool`](super::Expr::eval_bool).
//!
//! The [`Ir`] of a condition becomes a tree of [`Cond`] nodes: small structs, each specialized
//! (by generics) for one shape, so evaluating `incident.severity == high` is one call of code
//! that reads one field and compares one byte. The match-based interpreter ([`Ir::test`]) pays
//! for its generality on every node: a dispatch over every kind of node, a large stack frame,
//! a dispatch over the kind of constant, a loop over the path. On the `conditions` benchmark
//! (`cargo bench -p riposte-engine --bench engine -- conditions`) the compiled form is several
//! times faster. Consecutive tests of fields of one variable in an `and`/`or`
//! (`incident.severity == high and count(incident.users) >= 1`) are one node ([`VarTests`]),
//! which finds the record once.
//!
//! Semantics are exactly [`Ir::test`]'s: every node documents the [`Ir`] shape it replaces,
//! the shapes it does not cover stay [`Ir`] ([`Interpreted`]), and the tests below compare
//! every fast path with the general semantics, on odd values too. Nodes read lambda parameters
//! and spend lambda calls through the same [`Cx`] as the interpreter, so the budget holds.

use std::fmt;

use super::eval::{
    charge_run, check_within, maybe_in_run, run_left, tally, test_may_work, test_op, test_work,
    visit, walk, CmpOp, Cx, Ir, Quant, Root, TestOp, MAX_LAMBDA_CALLS,
};
use super::Env;
use crate::text::{word, Str, Words};
use crate::value::Value;

/// A compiled condition: whether it holds (only `true` holds; null does not).
pub(crate) trait Cond: Send + Sync + fmt::Debug {
    fn test<'a>(&'a self, cx: &mut Cx<'a>) -> bool;

    /// [`Cond::test`] of a whole condition, from the environment's parts ([`Env`]). Nodes
    /// that read only variables (the usual top-level tests) override it to read them straight
    /// from `vars`, without a [`Cx`] between: a condition of one or two field tests costs
    /// little more than that fixed path. The parts come as scalars, so they are passed in
    /// registers: an [`Env`] would be stored by the caller and loaded again here.
    fn test_env(&self, vars: &[Value], now_ms: i64) -> bool {
        test_settled(self, vars, now_ms)
    }
}

/// [`Cond::test`] of a whole condition with a fresh [`Cx`], whose spending is charged to the
/// run (see [`super::eval::with_run_budget`]). Out of line and cold: the nodes that fall back to
/// it from [`Cond::test_env`] (a place that is not a variable's field, a check with work, a
/// list past the budget left) then need no stack frame for it on their usual path.
#[cold]
#[inline(never)]
fn test_settled<C: Cond + ?Sized>(c: &C, vars: &[Value], now_ms: i64) -> bool {
    let env = Env { vars, now_ms };
    let mut cx = Cx::new(&env);
    let holds = c.test(&mut cx);
    cx.settle();
    holds
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
        } => at_place(
            *root,
            path,
            LeafOf {
                check,
                negate: *negate,
            },
        ),
        Ir::And(items) => {
            let mut nodes = fuse::<true>(items);
            match nodes.as_mut_slice() {
                [_] => nodes.swap_remove(0),
                [a, b] => Box::new(And2(take(a), take(b))),
                _ => Box::new(And(nodes.into())),
            }
        }
        Ir::Or(items) => {
            let mut nodes = fuse::<false>(items);
            match nodes.as_mut_slice() {
                [_] => nodes.swap_remove(0),
                [a, b] => Box::new(Or2(take(a), take(b))),
                _ => Box::new(Or(nodes.into())),
            }
        }
        Ir::Not(a) => Box::new(Not(compile_or_interpret(a))),
        Ir::Const(v) => Box::new(Constant(v.truthy())),
        Ir::CountCmp { list, op, n } => {
            let (root, path) = list.as_path()?;
            let check = Check::LenCmp(LenCmp::new(*op, *n));
            at_place(
                root,
                path,
                LeafOf {
                    check: &check,
                    negate: false,
                },
            )
        }
        Ir::Quant {
            kind: Quant::Any, ..
        } => loop_node(ir, Mode::Any)?,
        Ir::Quant {
            kind: Quant::All, ..
        } => loop_node(ir, Mode::All)?,
        // `count(list, x => …) >= 2`
        Ir::Cmp(op, a, b) => match (&**a, &**b) {
            (count, Ir::Const(Value::Number(n))) => loop_node(count, Mode::Count(*op, *n))?,
            (Ir::Const(Value::Number(n)), count) => loop_node(count, Mode::Count(op.flip(), *n))?,
            _ => return None,
        },
        _ => return None,
    })
}

/// A node moved out of a list being rebuilt (the list is dropped right after).
fn take(node: &mut Box<dyn Cond>) -> Box<dyn Cond> {
    std::mem::replace(node, Box::new(Constant(false)))
}

/// The nodes of an [`Ir::And`] (`ALL`) or [`Ir::Or`], in order, each run of consecutive
/// tests of fields of one variable fused into one [`VarTests`]. Only consecutive tests, so
/// that every item is still evaluated in order, as far as the first that decides: lambda
/// calls are spent exactly as before.
fn fuse<const ALL: bool>(items: &[Ir]) -> Vec<Box<dyn Cond>> {
    let mut nodes: Vec<Box<dyn Cond>> = Vec::new();
    let mut run: Option<(u32, Vec<FieldTest>)> = None;
    let flush = |run: &mut Option<(u32, Vec<FieldTest>)>, nodes: &mut Vec<Box<dyn Cond>>| {
        if let Some((slot, tests)) = run.take() {
            nodes.push(var_tests::<ALL>(slot, tests));
        }
    };
    for (i, item) in items.iter().enumerate() {
        match FieldTest::of(item) {
            Some((slot, test)) => match &mut run {
                Some((s, tests)) if *s == slot => tests.push(test),
                _ => {
                    flush(&mut run, &mut nodes);
                    // A lone test stays a specialized leaf, unless another one follows.
                    let next = items.get(i + 1).and_then(FieldTest::of);
                    if next.is_some_and(|(s, _)| s == slot) {
                        run = Some((slot, vec![test]));
                    } else {
                        nodes.push(compile_or_interpret(item));
                    }
                }
            },
            None => {
                flush(&mut run, &mut nodes);
                nodes.push(compile_or_interpret(item));
            }
        }
    }
    flush(&mut run, &mut nodes);
    nodes
}

/// A [`QuantTest`], when `ir` is `any`, `all` or `count` (as `mode` says) over a place, with a
/// lambda that tests its own parameter.
fn loop_node(ir: &Ir, mode: Mode) -> Option<Box<dyn Cond>> {
    let Ir::Quant {
        kind,
        list,
        slot,
        body,
    } = ir
    else {
        return None;
    };
    let kind_fits = match mode {
        Mode::Any => *kind == Quant::Any,
        Mode::All => *kind == Quant::All,
        Mode::Count(..) => *kind == Quant::Count,
    };
    let (list_root, list_path) = list.as_path()?;
    match &**body {
        // A check with work of its own is left to the interpreter, which calls the lambda.
        Ir::Test {
            root: Root::Local(s),
            path,
            check,
            negate,
        } if s == slot && kind_fits && !check.has_work() => Some(at_place(
            list_root,
            list_path,
            QuantOf {
                mode,
                path,
                check,
                negate: *negate,
            },
        )),
        _ => None,
    }
}

// ---- checks ----------------------------------------------------------------------------------

/// A test of one value against a constant.
pub(crate) trait Holds: Clone + Send + Sync + fmt::Debug + 'static {
    fn holds(&self, v: &Value) -> bool;

    /// The work of testing `v` ([`test_work`]: kilobytes of text scanned or compared, items of
    /// lists over 64 visited), which the test spends from the budget first ([`check_within`]).
    /// Only checks that may have work ([`Check::has_work`]) have any.
    #[inline(always)]
    fn work(&self, _v: &Value) -> u64 {
        0
    }
}

/// `== level`.
#[derive(Clone, Debug)]
pub(crate) struct SeverityIs(u8);

/// `== 'text'`, for text short enough to be held inline (longer text is a [`TextSet`] of one):
/// only inline text can equal it, so a test is a few word comparisons, with no call.
#[derive(Clone, Debug)]
pub(crate) struct TextIs(Inline);

/// `< level`, `>= level`, …
#[derive(Clone, Debug)]
pub(crate) struct SeverityCmp(CmpOp, u8);

/// `< 3`, `>= 1.5`, …: false for NaN, as `partial_cmp` is.
#[derive(Clone, Debug)]
pub(crate) struct NumberCmp(CmpOp, f64);

/// `in [high, medium]`: the levels as a set of bits in one word. Levels are indices into the
/// severity names (`Value::parse_severity`), so every constant fits; a set of other levels is
/// left to the general comparison.
#[derive(Clone, Debug)]
pub(crate) struct SeverityIn(u64);

impl SeverityIn {
    /// `None` when a level does not fit in the word.
    fn new(levels: &[u8]) -> Option<Self> {
        levels
            .iter()
            .try_fold(0u64, |bits, &l| {
                Some(bits | 1u64.checked_shl(u32::from(l))?)
            })
            .map(SeverityIn)
    }
}

/// `in ['malware', 'ransomware']`, for a few texts short enough to be inline: only inline text
/// can be one of them, and its length picks the only ones it can equal ([`InlineSet`]).
#[derive(Clone, Debug)]
pub(crate) struct TextIn(InlineSet);

/// `in [...]` of any other texts (long ones, many of one length), and `==` a long text.
#[derive(Clone, Debug)]
pub(crate) struct TextSet {
    set: StrSet,
    /// The operator and the constant as written, when testing against them has work
    /// ([`test_may_work`]: a list of more than 64 texts, a text of a kilobyte or more).
    cost: Option<Box<(TestOp, Value)>>,
}

impl TextSet {
    fn new(texts: Vec<Box<str>>, op: TestOp, c: Value, costly: bool) -> TextSet {
        TextSet {
            set: StrSet::new(texts),
            cost: costly.then(|| Box::new((op, c))),
        }
    }
}

/// `count(list) op n` as a test of the list: its length (null and other values count as
/// empty) against `n`. Only compiled conditions build it, from [`Ir::CountCmp`]. The lengths
/// that satisfy `op n` are one range, worked out once, so a test is two integer comparisons
/// rather than a conversion to `f64` and a dispatch on the operator.
#[derive(Clone, Copy, Debug)]
pub(crate) struct LenCmp {
    /// The least length that satisfies the comparison.
    min: u64,
    /// The greatest; below `min` when none does (`count(l) < 0`, a NaN bound).
    max: u64,
}

impl LenCmp {
    /// `len op n` for every length `len`, as `(len as f64).partial_cmp(&n)` would decide it.
    /// Lengths are far below 2^53, where every integer is exactly an `f64`.
    pub(crate) fn new(op: CmpOp, n: f64) -> LenCmp {
        const NONE: LenCmp = LenCmp { min: 1, max: 0 };
        if n.is_nan() {
            return NONE;
        }
        // `as u64` saturates: negative values give 0, values past u64::MAX give u64::MAX.
        match op {
            CmpOp::Ge => LenCmp {
                min: n.ceil() as u64,
                max: u64::MAX,
            },
            CmpOp::Gt if n < 0.0 => LenCmp {
                min: 0,
                max: u64::MAX,
            },
            CmpOp::Gt => LenCmp {
                min: (n.floor() as u64).saturating_add(1),
                max: u64::MAX,
            },
            CmpOp::Le if n < 0.0 => NONE,
            CmpOp::Le => LenCmp {
                min: 0,
                max: n.floor() as u64,
            },
            CmpOp::Lt if n <= 0.0 => NONE,
            CmpOp::Lt => LenCmp {
                min: 0,
                max: (n.ceil() as u64) - 1,
            },
        }
    }

    #[inline]
    fn admits(&self, len: u64) -> bool {
        (self.min <= len) & (len <= self.max)
    }
}

/// Any other operator or constant: the general comparison. The flag says whether it may have
/// work ([`test_may_work`]), so that the others do not look for any.
#[derive(Clone, Debug)]
pub(crate) struct General(TestOp, Value, bool);

impl Holds for SeverityIs {
    #[inline]
    fn holds(&self, v: &Value) -> bool {
        matches!(v, Value::Severity(x) if *x == self.0)
    }
}

impl Holds for TextIs {
    #[inline]
    fn holds(&self, v: &Value) -> bool {
        // Forms are canonical: text too long to be inline is not this text.
        matches!(v, Value::String(x) if x.inline_bytes().is_some_and(|(len, buf)| self.0.matches(len, buf)))
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
        // `checked_shr` is `None` for levels past the word, which no set holds.
        matches!(v, Value::Severity(x) if self.0.checked_shr(u32::from(*x)).is_some_and(|b| b & 1 == 1))
    }
}

impl Holds for TextIn {
    // Inlined into loops over list items, as the lookup below is.
    #[inline(always)]
    fn holds(&self, v: &Value) -> bool {
        matches!(v, Value::String(x) if self.0.contains(x))
    }
}

impl Holds for TextSet {
    #[inline]
    fn holds(&self, v: &Value) -> bool {
        matches!(v, Value::String(x) if self.set.contains(x))
    }

    #[inline]
    fn work(&self, v: &Value) -> u64 {
        match &self.cost {
            Some(c) => test_work(c.0, v, &c.1),
            None => 0,
        }
    }
}

impl Holds for LenCmp {
    #[inline]
    fn holds(&self, v: &Value) -> bool {
        let len = match v {
            Value::List(items) => items.len() as u64,
            _ => 0,
        };
        self.admits(len)
    }
}

impl Holds for General {
    #[inline]
    fn holds(&self, v: &Value) -> bool {
        test_op(self.0, v, &self.1)
    }

    #[inline]
    fn work(&self, v: &Value) -> u64 {
        if self.2 {
            test_work(self.0, v, &self.1)
        } else {
            0
        }
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
    TextSet(TextSet),
    LenCmp(LenCmp),
    General(General),
}

impl Check {
    /// Whether no value passes the check: a severity above the highest level or below the
    /// lowest (`> high`, `< informational`).
    pub(crate) fn passes_nothing(&self) -> bool {
        let top = u8::try_from(crate::value::SEVERITIES.len() - 1).unwrap_or(u8::MAX);
        match self {
            Check::SeverityCmp(SeverityCmp(CmpOp::Gt, level)) => *level >= top,
            Check::SeverityCmp(SeverityCmp(CmpOp::Lt, level)) => *level == 0,
            _ => false,
        }
    }

    /// Whether one value cannot pass both checks: equal to two different constants.
    pub(crate) fn excludes(&self, other: &Check) -> bool {
        match (self, other) {
            (Check::SeverityIs(SeverityIs(a)), Check::SeverityIs(SeverityIs(b))) => a != b,
            (Check::TextIs(TextIs(a)), Check::TextIs(TextIs(b))) => {
                a.len != b.len || a.words != b.words
            }
            _ => false,
        }
    }

    pub(crate) fn new(op: TestOp, c: Value) -> Check {
        // The checks below that hold no copy of the constant as written have no work.
        let costly = test_may_work(op, &c);
        match (op, c) {
            (TestOp::Eq, Value::Severity(s)) => Check::SeverityIs(SeverityIs(s)),
            (TestOp::Eq, Value::String(s)) => match Inline::new(&s) {
                Some(c) => Check::TextIs(TextIs(c)),
                None => Check::TextSet(TextSet::new(
                    vec![Box::from(&*s)],
                    op,
                    Value::String(s),
                    costly,
                )),
            },
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
                let c = Value::List(items);
                match (levels.as_deref().and_then(SeverityIn::new), texts) {
                    (Some(set), _) if set.0 != 0 && !costly => Check::SeverityIn(set),
                    (_, Some(texts)) if !texts.is_empty() => match InlineSet::new(&texts) {
                        Some(set) if !costly => Check::TextIn(TextIn(set)),
                        _ => Check::TextSet(TextSet::new(texts, op, c, costly)),
                    },
                    _ => Check::General(General(TestOp::In, c, costly)),
                }
            }
            (op, c) => Check::General(General(op, c, costly)),
        }
    }
}

impl Holds for Check {
    #[inline]
    fn holds(&self, v: &Value) -> bool {
        holds_inline(self, v)
    }

    #[inline]
    fn work(&self, v: &Value) -> u64 {
        match self {
            Check::TextSet(c) => c.work(v),
            Check::General(c) => c.work(v),
            _ => 0,
        }
    }
}

impl Check {
    /// Whether testing a value may spend work ([`Holds::work`]): `contains`, and a comparison
    /// with a long text or a list of more than 64 items. Such a check needs a [`Cx`], so loops
    /// and fused tests that run without one leave it to a [`Leaf`] or the interpreter.
    pub(crate) fn has_work(&self) -> bool {
        match self {
            Check::TextSet(c) => c.cost.is_some(),
            Check::General(c) => c.2,
            _ => false,
        }
    }
}

/// A constant string, for a [`StrSet`]. Short enough to be held inline, it is compared with a
/// [`Str`] as its length byte and the words of its bytes, in the value itself: no pointer
/// followed, no call to `memcmp`. Forms are canonical ([`crate::text`]), so an inline constant
/// never equals shared text, nor a shared constant inline text.
#[derive(Clone, Debug)]
pub(crate) struct Text {
    text: Box<str>,
    inline: Option<Inline>,
}

/// A constant held inline: its length, and the words of its zero-padded bytes that hold text.
/// Once the lengths agree, the words past those are zeros in both.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Inline {
    len: u8,
    words: Words,
    /// 1 for up to 8 bytes, 2 for up to 16, else 3.
    count: u8,
}

impl Inline {
    /// `None` when `text` is too long to be held inline.
    fn new(text: &str) -> Option<Inline> {
        Str::words_of(text).map(|(len, words)| Inline {
            len,
            words,
            count: len.div_ceil(8).max(1),
        })
    }

    #[inline(always)]
    fn matches(&self, len: u8, buf: &[u8; Str::INLINE]) -> bool {
        len == self.len
            && word(buf, 0) == self.words[0]
            && (self.count < 2 || word(buf, 1) == self.words[1])
            && (self.count < 3 || word(buf, 2) == self.words[2])
    }
}

impl Text {
    fn new(text: &str) -> Text {
        Text {
            text: text.into(),
            inline: Inline::new(text),
        }
    }
}

/// The texts of an `in [...]` list when all are short enough to be inline and no two have
/// one length (the usual statuses, verdicts, categories): a table indexed by the length of the
/// text tested holds the words of the one constant of that length, so a text not in the list
/// is rejected by its length (a bit of a word held in a register) or by comparing words with
/// the one constant it could be. No call, no scan: a loop over list items testing it keeps its
/// values in registers.
#[derive(Clone, Debug)]
pub(crate) struct InlineSet {
    /// Bit `n` is set when a text has `n` bytes (inline lengths are below 32).
    lens: u32,
    /// The words of the text of each length (zeros when there is none).
    table: Box<[Words; 32]>,
}

impl InlineSet {
    /// `None` when a text is too long to be held inline, or two have one length.
    fn new(texts: &[Box<str>]) -> Option<InlineSet> {
        let mut lens = 0u32;
        let mut table = Box::new([[0u64; 3]; 32]);
        for t in texts {
            let c = Inline::new(t)?;
            let bit = 1u32.checked_shl(u32::from(c.len))?;
            let slot = table.get_mut(usize::from(c.len))?;
            if lens & bit != 0 && *slot != c.words {
                return None;
            }
            lens |= bit;
            *slot = c.words;
        }
        Some(InlineSet { lens, table })
    }

    #[inline(always)]
    fn contains(&self, s: &Str) -> bool {
        // Forms are canonical: text too long to be inline is none of these.
        let Some((len, buf)) = s.inline_bytes() else {
            return false;
        };
        // Inline lengths are below 32: `% 32` only spares a bounds check.
        let at = u32::from(len) % 32;
        if (self.lens >> at) & 1 == 0 {
            return false;
        }
        let words = &self.table[at as usize];
        // The lengths agree: the words past the text are zeros in both.
        word(buf, 0) == words[0]
            && (len <= 8 || word(buf, 1) == words[1])
            && (len <= 16 || word(buf, 2) == words[2])
    }
}

/// The strings of an `in [...]` list, sorted and without duplicates, with the set of their
/// lengths: most strings that are not in the list are rejected by their length alone, the rest
/// are looked up by a scan (short list) or a binary search (long list).
#[derive(Clone, Debug)]
pub(crate) struct StrSet {
    /// Bit `n` is set when a string has `n` bytes (bit 63: 63 bytes or more).
    lens: u64,
    texts: Box<[Text]>,
}

impl StrSet {
    /// Up to this many strings, a scan is as fast as a binary search.
    const SCAN: usize = 8;

    fn new(mut texts: Vec<Box<str>>) -> StrSet {
        texts.sort_unstable();
        texts.dedup();
        let lens = texts.iter().fold(0, |m, t| m | Self::len_bit(t.len()));
        StrSet {
            lens,
            texts: texts.iter().map(|t| Text::new(t)).collect(),
        }
    }

    #[inline]
    fn len_bit(len: usize) -> u64 {
        1 << len.min(63)
    }

    #[inline]
    fn contains(&self, s: &Str) -> bool {
        match s.inline_bytes() {
            Some((len, _)) if self.lens & Self::len_bit(usize::from(len)) == 0 => false,
            Some((len, buf)) if self.texts.len() <= Self::SCAN => self
                .texts
                .iter()
                .any(|t| t.inline.is_some_and(|c| c.matches(len, buf))),
            _ => self.search(s),
        }
    }

    /// Out of line, so the scan above stays small enough to inline.
    #[inline(never)]
    fn search(&self, s: &str) -> bool {
        self.lens & Self::len_bit(s.len()) != 0
            && self.texts.binary_search_by(|t| (*t.text).cmp(s)).is_ok()
    }
}

// ---- places and paths ------------------------------------------------------------------------

/// Where a value is read from: a variable or a lambda parameter, and record fields.
trait Place: Send + Sync + fmt::Debug + 'static {
    fn read<'a>(&self, cx: &Cx<'a>) -> &'a Value;

    /// The value read from the environment alone, for places that need nothing else.
    #[inline]
    fn read_env<'e>(&self, _vars: &'e [Value]) -> EnvRead<'e> {
        EnvRead::NeedsCx
    }
}

/// What [`Place::read_env`] finds.
enum EnvRead<'e> {
    Value(&'e Value),
    /// Null: a missing variable or field, or a field of something that is not a record. Nodes
    /// know their answer for null from when they were built, so they return it without
    /// testing a null value.
    Null,
    /// The place needs a [`Cx`] (a lambda parameter).
    NeedsCx,
}

/// One field of a variable, the usual case: `incident.severity`, `incident.alerts`.
#[derive(Debug)]
struct VarField(u32, u32);

/// One field of a lambda parameter: `d.verdict` (in a lambda not compiled into a loop).
#[derive(Debug)]
struct ParamField(u32, u32);

/// Any other place.
#[derive(Debug)]
struct AnyPlace(Root, Box<[u32]>);

impl Place for VarField {
    #[inline]
    fn read<'a>(&self, cx: &Cx<'a>) -> &'a Value {
        cx.var(self.0).get(self.1 as usize)
    }

    #[inline]
    fn read_env<'e>(&self, vars: &'e [Value]) -> EnvRead<'e> {
        // As `Cx::var` and `Value::get`: a missing variable is null, and so are the fields of
        // anything but a record.
        match vars.get(self.0 as usize) {
            Some(Value::Record(r)) => match r.fields().get(self.1 as usize) {
                Some(v) => EnvRead::Value(v),
                None => EnvRead::Null,
            },
            _ => EnvRead::Null,
        }
    }
}

/// Variable `slot` of `vars`; null if there is none.
#[inline]
fn var_in(vars: &[Value], slot: u32) -> &Value {
    static NULL: Value = Value::Null;
    vars.get(slot as usize).unwrap_or(&NULL)
}

impl Place for ParamField {
    #[inline]
    fn read<'a>(&self, cx: &Cx<'a>) -> &'a Value {
        cx.param(self.0).get(self.1 as usize)
    }
}

impl Place for AnyPlace {
    #[inline]
    fn read<'a>(&self, cx: &Cx<'a>) -> &'a Value {
        walk(cx.root(self.0), &self.1)
    }
}

/// Builds a node that reads a [`Place`] of a concrete type, chosen by [`at_place`].
trait AtPlace {
    fn build<L: Place>(self, place: L) -> Box<dyn Cond>;
}

/// `b.build(place)`, the place as its concrete type.
fn at_place(root: Root, path: &[u32], b: impl AtPlace) -> Box<dyn Cond> {
    match (root, path) {
        (Root::Var(slot), [i]) => b.build(VarField(slot, *i)),
        (Root::Local(slot), [i]) => b.build(ParamField(slot, *i)),
        _ => b.build(AnyPlace(root, path.into())),
    }
}

/// Record fields to follow from a value (a list item).
trait Path: Send + Sync + fmt::Debug + 'static {
    /// The value at the path; `None` where [`walk`] would give null for want of a field (a
    /// missing field, a field of something that is not a record). Loops then use the answer
    /// for null worked out when they were built, rather than test a null value.
    fn walk<'v>(&self, v: &'v Value) -> Option<&'v Value>;
}

/// One field, the usual case: `d.verdict`.
#[derive(Debug)]
struct Field(u32);

/// Any number of fields (none: the value itself).
#[derive(Debug)]
struct Fields(Box<[u32]>);

impl Path for Field {
    #[inline(always)]
    fn walk<'v>(&self, v: &'v Value) -> Option<&'v Value> {
        // As `Value::get`.
        match v {
            Value::Record(r) => r.fields().get(self.0 as usize),
            _ => None,
        }
    }
}

impl Path for Fields {
    #[inline]
    fn walk<'v>(&self, v: &'v Value) -> Option<&'v Value> {
        Some(walk(v, &self.0))
    }
}

/// Builds a node for a check of a concrete type, chosen by [`with_check`].
trait WithCheck {
    fn build<C: Holds>(self, check: C) -> Box<dyn Cond>;
}

/// `b.build(check)`, the check as its concrete type.
fn with_check(check: &Check, b: impl WithCheck) -> Box<dyn Cond> {
    match check.clone() {
        Check::SeverityIs(c) => b.build(c),
        Check::TextIs(c) => b.build(c),
        Check::SeverityCmp(c) => b.build(c),
        Check::NumberCmp(c) => b.build(c),
        Check::SeverityIn(c) => b.build(c),
        Check::TextIn(c) => b.build(c),
        Check::TextSet(c) => b.build(c),
        Check::LenCmp(c) => b.build(c),
        Check::General(c) => b.build(c),
    }
}

// ---- nodes -----------------------------------------------------------------------------------

/// [`Ir::Test`]: `place op constant`, as in `incident.severity == high`.
#[derive(Debug)]
struct Leaf<L, C> {
    place: L,
    check: C,
    negate: bool,
    /// The test's result when the place is null.
    on_null: bool,
}

impl<L: Place, C: Holds> Cond for Leaf<L, C> {
    fn test<'a>(&'a self, cx: &mut Cx<'a>) -> bool {
        // Past the budget the test is null, which does not hold (as `Ir::test`).
        check_within(&self.check, self.place.read(cx), cx).unwrap_or(false) != self.negate
    }

    fn test_env(&self, vars: &[Value], now_ms: i64) -> bool {
        match self.place.read_env(vars) {
            // Work is spent through a `Cx` (checks without work have none: this goes).
            EnvRead::Value(v) if self.check.work(v) > 0 => test_settled(self, vars, now_ms),
            EnvRead::Value(v) => self.check.holds(v) != self.negate,
            EnvRead::Null => self.on_null,
            EnvRead::NeedsCx => test_settled(self, vars, now_ms),
        }
    }
}

struct LeafOf<'c> {
    check: &'c Check,
    negate: bool,
}

impl AtPlace for LeafOf<'_> {
    fn build<L: Place>(self, place: L) -> Box<dyn Cond> {
        struct Of<L> {
            place: L,
            negate: bool,
        }
        impl<L: Place> WithCheck for Of<L> {
            fn build<C: Holds>(self, check: C) -> Box<dyn Cond> {
                Box::new(Leaf {
                    place: self.place,
                    on_null: check.holds(&Value::Null) != self.negate,
                    check,
                    negate: self.negate,
                })
            }
        }
        let negate = self.negate;
        with_check(self.check, Of { place, negate })
    }
}

/// What a [`QuantTest`] computes, while it is built (see [`Outcome`]).
#[derive(Clone, Copy, Debug)]
enum Mode {
    Any,
    All,
    /// `count(…) op n`: [`Ir::Cmp`] of a `count` with a lambda and a number.
    Count(CmpOp, f64),
}

/// What a [`QuantTest`] makes of the hits [`tally`] counts, as a type: each node's loop is
/// compiled for its own kind, with nothing to decide per item.
trait Outcome: Copy + Send + Sync + fmt::Debug + 'static {
    const KIND: Quant;
    fn holds(self, hits: usize) -> bool;
}

/// `any`: an item passes.
#[derive(Clone, Copy, Debug)]
struct Exists;

/// `all`: no item fails (for `all`, [`tally`] counts the items that fail).
#[derive(Clone, Copy, Debug)]
struct ForAll;

/// `count(…) op n`, as the range of counts that satisfy it.
#[derive(Clone, Copy, Debug)]
struct CountIs(LenCmp);

impl Outcome for Exists {
    const KIND: Quant = Quant::Any;
    #[inline]
    fn holds(self, hits: usize) -> bool {
        hits > 0
    }
}

impl Outcome for ForAll {
    const KIND: Quant = Quant::All;
    #[inline]
    fn holds(self, hits: usize) -> bool {
        hits == 0
    }
}

impl Outcome for CountIs {
    const KIND: Quant = Quant::Count;
    #[inline]
    fn holds(self, hits: usize) -> bool {
        self.0.admits(hits as u64)
    }
}

/// [`Ir::Quant`] `any`, `all` or `count` over a place, whose lambda is an [`Ir::Test`] of its
/// own parameter: `any(incident.devices, d => d.verdict in ['malicious', 'suspicious'])`. One
/// loop over the items, no parameter bound; [`tally`] spends the lambda calls.
#[derive(Debug)]
struct QuantTest<M, L, P, C> {
    outcome: M,
    list: L,
    path: P,
    check: C,
    negate: bool,
    /// What the lambda returns for an item whose path is null.
    on_null: bool,
}

impl<M: Outcome, L: Place, P: Path, C: Holds> QuantTest<M, L, P, C> {
    /// What the lambda returns for `item`.
    #[inline(always)]
    fn passes(&self, item: &Value) -> bool {
        match self.path.walk(item) {
            Some(v) => self.check.holds(v) != self.negate,
            None => self.on_null,
        }
    }
}

impl<M: Outcome, L: Place, P: Path, C: Holds> Cond for QuantTest<M, L, P, C> {
    fn test<'a>(&'a self, cx: &mut Cx<'a>) -> bool {
        let items = match self.list.read(cx) {
            Value::List(items) => &**items,
            _ => &[],
        };
        // Null (the budget ran out) does not hold, nor compare.
        tally(M::KIND, items, |i| self.passes(i), cx).is_some_and(|hits| self.outcome.holds(hits))
    }

    /// The whole condition: no node after this one would see what it spent, so the loop runs
    /// without a [`Cx`]. In a run (see [`super::eval::with_run_budget`]) it spends the run's
    /// budget ([`Self::scan_in_run`]); outside one, an evaluation's budget no shorter than the
    /// list cannot run out.
    fn test_env(&self, vars: &[Value], now_ms: i64) -> bool {
        let items = match self.list.read_env(vars) {
            EnvRead::Value(Value::List(items)) => &**items,
            EnvRead::Value(_) | EnvRead::Null => &[],
            EnvRead::NeedsCx => return test_settled(self, vars, now_ms),
        };
        if items.is_empty() {
            // No items, the usual case for most kinds of entity: nothing to set up (nor to
            // spend, as for `tally`).
            return self.outcome.holds(0);
        }
        if maybe_in_run() {
            return self.scan_in_run(items, vars, now_ms);
        }
        if items.len() as u64 > MAX_LAMBDA_CALLS {
            return test_settled(self, vars, now_ms);
        }
        self.scan(items)
    }
}

impl<M: Outcome, L: Place, P: Path, C: Holds> QuantTest<M, L, P, C> {
    /// The loop of [`Cond::test_env`] outside a run, out of line: the registers it needs are
    /// saved only when there are items to visit.
    #[inline(never)]
    fn scan(&self, items: &[Value]) -> bool {
        self.outcome
            .holds(visit(M::KIND, items, |i| self.passes(i)).1)
    }

    /// [`Self::scan`] in a run: only when the budget left covers a call for every item, so
    /// that it cannot run out, charging the run the calls made, as [`tally`] would. A shorter
    /// budget goes to [`tally`], which stops where it ends and says it ran out.
    #[inline(never)]
    fn scan_in_run(&self, items: &[Value], vars: &[Value], now_ms: i64) -> bool {
        let budget = run_left().map_or(MAX_LAMBDA_CALLS, |left| left.min(MAX_LAMBDA_CALLS));
        if items.len() as u64 > budget {
            return test_settled(self, vars, now_ms);
        }
        let (visited, hits) = visit(M::KIND, items, |i| self.passes(i));
        charge_run(visited as u64);
        self.outcome.holds(hits)
    }
}

struct QuantOf<'c> {
    mode: Mode,
    path: &'c [u32],
    check: &'c Check,
    negate: bool,
}

impl AtPlace for QuantOf<'_> {
    fn build<L: Place>(self, list: L) -> Box<dyn Cond> {
        struct Of<L, P> {
            mode: Mode,
            list: L,
            path: P,
            negate: bool,
        }
        impl<L: Place, P: Path> WithCheck for Of<L, P> {
            fn build<C: Holds>(self, check: C) -> Box<dyn Cond> {
                fn node<M: Outcome, L: Place, P: Path, C: Holds>(
                    outcome: M,
                    of: Of<L, P>,
                    check: C,
                ) -> Box<dyn Cond> {
                    Box::new(QuantTest {
                        outcome,
                        list: of.list,
                        path: of.path,
                        on_null: check.holds(&Value::Null) != of.negate,
                        check,
                        negate: of.negate,
                    })
                }
                match self.mode {
                    Mode::Any => node(Exists, self, check),
                    Mode::All => node(ForAll, self, check),
                    Mode::Count(op, n) => node(CountIs(LenCmp::new(op, n)), self, check),
                }
            }
        }
        let (mode, negate) = (self.mode, self.negate);
        match self.path {
            [i] => with_check(
                self.check,
                Of {
                    mode,
                    list,
                    path: Field(*i),
                    negate,
                },
            ),
            path => with_check(
                self.check,
                Of {
                    mode,
                    list,
                    path: Fields(path.into()),
                    negate,
                },
            ),
        }
    }
}

/// A test of one field of a variable, for [`VarTests`]: an [`Ir::Test`] of
/// `incident.severity`, or an [`Ir::CountCmp`] of `incident.users` (as a [`LenCmp`]).
#[derive(Debug)]
struct FieldTest {
    field: u32,
    check: Check,
    negate: bool,
}

impl FieldTest {
    /// The variable's slot and the test, when `ir` is such a test.
    fn of(ir: &Ir) -> Option<(u32, FieldTest)> {
        let (slot, field, check, negate) = match ir {
            Ir::Test {
                root: Root::Var(slot),
                path,
                check,
                negate,
            } => match **path {
                // A check with work of its own needs a `Cx`: it stays a `Leaf`.
                [field] if !check.has_work() => (*slot, field, check.clone(), *negate),
                _ => return None,
            },
            Ir::CountCmp { list, op, n } => match list.as_path()? {
                (Root::Var(slot), [field]) => {
                    (slot, *field, Check::LenCmp(LenCmp::new(*op, *n)), false)
                }
                _ => return None,
            },
            _ => return None,
        };
        Some((
            slot,
            FieldTest {
                field,
                check,
                negate,
            },
        ))
    }
}

/// [`Ir::And`] (`ALL`) or [`Ir::Or`] of two or more consecutive tests of fields of one
/// variable: `incident.severity in [high, medium] and incident.status != 'resolved'`. The
/// record is found once, and the tests are a list of [`Check`]s, dispatched by a `match`
/// instead of a call each.
#[derive(Debug)]
struct VarTests<const ALL: bool> {
    slot: u32,
    tests: Box<[FieldTest]>,
}

impl<const ALL: bool> VarTests<ALL> {
    #[inline(always)]
    fn hold(&self, var: &Value) -> bool {
        static NULL: Value = Value::Null;
        // As `Value::get`: the fields of anything but a record are null.
        let fields = match var {
            Value::Record(r) => r.fields(),
            _ => &[],
        };
        let passes = |t: &FieldTest| {
            let v = fields.get(t.field as usize).unwrap_or(&NULL);
            holds_inline(&t.check, v) != t.negate
        };
        // Two tests, the usual case, without a loop.
        match (&*self.tests, ALL) {
            ([a, b], true) => passes(a) && passes(b),
            ([a, b], false) => passes(a) || passes(b),
            (tests, true) => tests.iter().all(passes),
            (tests, false) => tests.iter().any(passes),
        }
    }
}

impl<const ALL: bool> Cond for VarTests<ALL> {
    fn test<'a>(&'a self, cx: &mut Cx<'a>) -> bool {
        self.hold(cx.var(self.slot))
    }

    fn test_env(&self, vars: &[Value], _: i64) -> bool {
        self.hold(var_in(vars, self.slot))
    }
}

/// A [`VarTests`], or a [`VarTests2`] for two tests.
fn var_tests<const ALL: bool>(slot: u32, tests: Vec<FieldTest>) -> Box<dyn Cond> {
    match <[FieldTest; 2]>::try_from(tests) {
        Ok([a, b]) => {
            // The first check's type, then the second's.
            struct First<'t, const ALL: bool> {
                slot: u32,
                a: &'t FieldTest,
                b: &'t FieldTest,
            }
            struct Second<const ALL: bool, A> {
                slot: u32,
                a: FieldOf<A>,
                b_field: u32,
                b_negate: bool,
            }
            impl<const ALL: bool> WithCheck for First<'_, ALL> {
                fn build<C: Holds>(self, check: C) -> Box<dyn Cond> {
                    let a = FieldOf::new(self.a.field, check, self.a.negate);
                    let second = Second::<ALL, C> {
                        slot: self.slot,
                        a,
                        b_field: self.b.field,
                        b_negate: self.b.negate,
                    };
                    with_check(&self.b.check, second)
                }
            }
            impl<const ALL: bool, A: Holds> WithCheck for Second<ALL, A> {
                fn build<C: Holds>(self, check: C) -> Box<dyn Cond> {
                    let b = FieldOf::new(self.b_field, check, self.b_negate);
                    let on_null = if ALL {
                        self.a.on_null & b.on_null
                    } else {
                        self.a.on_null | b.on_null
                    };
                    Box::new(VarTests2::<ALL, A, C> {
                        slot: self.slot,
                        a: self.a,
                        b,
                        on_null,
                    })
                }
            }
            with_check(&a.check, First::<ALL> { slot, a: &a, b: &b })
        }
        Err(tests) => Box::new(VarTests::<ALL> {
            slot,
            tests: tests.into(),
        }),
    }
}

/// A test of one field, its check as a concrete type.
#[derive(Debug)]
struct FieldOf<C> {
    field: u32,
    check: C,
    negate: bool,
    /// The test's result when the field is null.
    on_null: bool,
}

impl<C: Holds> FieldOf<C> {
    fn new(field: u32, check: C, negate: bool) -> Self {
        FieldOf {
            field,
            on_null: check.holds(&Value::Null) != negate,
            check,
            negate,
        }
    }

    #[inline(always)]
    fn passes(&self, fields: &[Value]) -> bool {
        match fields.get(self.field as usize) {
            Some(v) => self.check.holds(v) != self.negate,
            None => self.on_null,
        }
    }
}

/// [`VarTests`] of two tests, the usual case, specialized for their checks like a [`Leaf`]:
/// straight code, nothing dispatched.
#[derive(Debug)]
struct VarTests2<const ALL: bool, A, B> {
    slot: u32,
    a: FieldOf<A>,
    b: FieldOf<B>,
    /// The result when the variable is null (or not a record): both fields null.
    on_null: bool,
}

impl<const ALL: bool, A: Holds, B: Holds> VarTests2<ALL, A, B> {
    #[inline(always)]
    fn hold(&self, var: Option<&Value>) -> bool {
        let fields = match var {
            Some(Value::Record(r)) => r.fields(),
            _ => return self.on_null,
        };
        // Both, without a branch between: checks have no effects (no lambda is called), and
        // which way `a` goes varies from incident to incident, so a branch would be mispredicted.
        if ALL {
            self.a.passes(fields) & self.b.passes(fields)
        } else {
            self.a.passes(fields) | self.b.passes(fields)
        }
    }
}

impl<const ALL: bool, A: Holds, B: Holds> Cond for VarTests2<ALL, A, B> {
    fn test<'a>(&'a self, cx: &mut Cx<'a>) -> bool {
        self.hold(Some(cx.var(self.slot)))
    }

    fn test_env(&self, vars: &[Value], _: i64) -> bool {
        self.hold(vars.get(self.slot as usize))
    }
}

/// [`Check::holds`], with every check but the general one inlined: a call, and the registers
/// it must save, would cost more than the usual check itself.
#[inline(always)]
fn holds_inline(check: &Check, v: &Value) -> bool {
    match check {
        Check::SeverityIs(c) => c.holds(v),
        Check::TextIs(c) => c.holds(v),
        Check::SeverityCmp(c) => c.holds(v),
        Check::NumberCmp(c) => c.holds(v),
        Check::SeverityIn(c) => c.holds(v),
        Check::TextIn(c) => c.holds(v),
        Check::TextSet(c) => c.holds(v),
        Check::LenCmp(c) => c.holds(v),
        // `test_op`, out of line.
        Check::General(c) => c.holds(v),
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

/// [`Ir::And`] of two, the usual case: no loop.
#[derive(Debug)]
struct And2(Box<dyn Cond>, Box<dyn Cond>);

impl Cond for And2 {
    fn test<'a>(&'a self, cx: &mut Cx<'a>) -> bool {
        self.0.test(cx) && self.1.test(cx)
    }
}

/// [`Ir::Or`] of two.
#[derive(Debug)]
struct Or2(Box<dyn Cond>, Box<dyn Cond>);

impl Cond for Or2 {
    fn test<'a>(&'a self, cx: &mut Cx<'a>) -> bool {
        self.0.test(cx) || self.1.test(cx)
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::expr::{compile, Env, Expr, ExprSource, Scope};
    use crate::model;
    use crate::types::{EntityKind, Type};

    fn s(v: &str) -> Value {
        Value::from(v)
    }

    #[test]
    fn length_ranges_agree_with_comparing_as_numbers() {
        let bounds = [
            f64::NEG_INFINITY,
            -1.5,
            -1.0,
            -0.0,
            0.0,
            0.5,
            1.0,
            1.5,
            2.0,
            3.0,
            1e300,
            f64::INFINITY,
            f64::NAN,
        ];
        for op in [CmpOp::Lt, CmpOp::Le, CmpOp::Gt, CmpOp::Ge] {
            for n in bounds {
                let check = LenCmp::new(op, n);
                for len in 0..5 {
                    let list = Value::List((0..len).map(|_| Value::Null).collect());
                    let expected = f64::from(len).partial_cmp(&n).is_some_and(|o| op.holds(o));
                    assert_eq!(check.holds(&list), expected, "{len} {op:?} {n}");
                }
            }
        }
    }

    #[test]
    fn checks_agree_with_the_general_comparison() {
        let nine: Vec<Value> = (0..9).map(|i| s(&format!("v{i}"))).collect();
        // Strings of 63 bytes or more share a length bit.
        let (long, longer) = ("x".repeat(63), "x".repeat(70));
        let constants = [
            Value::Null,
            Value::Bool(true),
            Value::Number(1.0),
            Value::Number(-0.0),
            Value::Number(f64::NAN),
            Value::Number(f64::INFINITY),
            s(""),
            s("high"),
            s("v3"),
            Value::Severity(0),
            Value::Severity(2),
            Value::Severity(3),
            Value::Severity(200),
            Value::list([]),
            Value::list([Value::Severity(3), Value::Severity(2)]),
            Value::list([Value::Severity(255), Value::Severity(64)]),
            Value::list([s("a"), s("high"), s("a")]),
            Value::list(nine.clone()),
            Value::list([s(&long), s("a")]),
            Value::list([s(&longer)]),
            s(&longer),
            s(&"y".repeat(Str::INLINE)),
            s(&"y".repeat(Str::INLINE + 1)),
            Value::list([s("ab"), s("cd"), s("abc"), s(""), s("ef"), s("ab")]),
            Value::list([s(&"y".repeat(Str::INLINE)), s(&"y".repeat(Str::INLINE + 1))]),
            Value::list([s("high"), Value::Null]),
            Value::list([Value::Severity(3), s("high")]),
            Value::list([Value::Number(1.0), Value::Number(0.0)]),
        ];
        let mut values: Vec<Value> = constants.to_vec();
        values.extend([
            Value::Number(0.0),
            Value::Number(2.5),
            Value::Severity(1),
            Value::Severity(64),
            Value::Severity(255),
            s("a"),
            s("v8"),
            s("v9"),
            s("hig"),
            s(&long),
            s(&longer),
            s(&"x".repeat(64)),
            s(&"y".repeat(Str::INLINE)),
            s(&"y".repeat(Str::INLINE + 1)),
            s(&format!("{}z", "y".repeat(Str::INLINE - 1))),
            s("ab"),
            s("cd"),
            s("ce"),
            s("abc"),
            s(""),
            Value::Duration(1),
            Value::Time(1),
            Value::Ip("10.0.0.1".parse().unwrap()),
            Value::record(model::alert(), [("severity", Value::Severity(3))]),
        ]);
        let ops = [
            TestOp::Eq,
            TestOp::Cmp(CmpOp::Lt),
            TestOp::Cmp(CmpOp::Le),
            TestOp::Cmp(CmpOp::Gt),
            TestOp::Cmp(CmpOp::Ge),
            TestOp::In,
            TestOp::Contains,
            TestOp::StartsWith,
            TestOp::EndsWith,
        ];
        for op in ops {
            for c in &constants {
                let check = Check::new(op, c.clone());
                for v in &values {
                    assert_eq!(
                        check.holds(v),
                        test_op(op, v, c),
                        "{v:?} {op:?} {c:?} as {check:?}"
                    );
                }
            }
        }
    }

    fn scope() -> Scope {
        Scope::new().with("incident", Type::Record(model::incident()))
    }

    fn expr(text: &str) -> Expr {
        compile(ExprSource::detached(text), &scope(), None)
            .unwrap_or_else(|d| panic!("{text}: {d:?}"))
    }

    fn device(verdict: Value, os_build: Value) -> Value {
        Value::record(
            model::entity(EntityKind::Device),
            [
                ("kind", s("device")),
                ("verdict", verdict),
                ("os_build", os_build),
            ],
        )
    }

    fn alert(severity: Value, status: &str, category: &str, entities: Value) -> Value {
        Value::record(
            model::alert(),
            [
                ("severity", severity),
                ("status", s(status)),
                ("category", s(category)),
                ("entities", entities),
            ],
        )
    }

    /// Incidents of every shape, odd ones included: fields of the wrong kind, lists with
    /// nulls and records of other types, a record of another type, no record at all.
    fn incidents() -> Vec<Vec<Value>> {
        let ws = device(s("malicious"), Value::Number(22631.0));
        let srv = device(s("unknown"), Value::Number(f64::NAN));
        let typical = Value::record(
            model::incident(),
            [
                ("severity", Value::Severity(3)),
                ("status", s("active")),
                ("title", s("Ransomware on ws1")),
                ("tags", Value::list([s("vip")])),
                (
                    "alerts",
                    Value::list([
                        alert(
                            Value::Severity(3),
                            "new",
                            "ransomware",
                            Value::list([ws.clone()]),
                        ),
                        alert(Value::Severity(1), "resolved", "execution", Value::Null),
                    ]),
                ),
                ("devices", Value::list([ws.clone(), srv.clone()])),
                ("entities", Value::list([ws.clone(), srv.clone()])),
                ("users", Value::list([Value::Null])),
            ],
        );
        let quiet = Value::record(
            model::incident(),
            [
                ("severity", Value::Severity(1)),
                ("status", s("resolved")),
                ("alerts", Value::list([])),
                ("devices", Value::list([srv.clone()])),
                ("users", Value::list([])),
            ],
        );
        let odd = Value::record(
            model::incident(),
            [
                ("severity", s("high")),
                ("status", Value::Number(1.0)),
                ("title", Value::Severity(3)),
                (
                    "alerts",
                    Value::list([Value::Null, Value::Number(1.0), ws.clone()]),
                ),
                (
                    "devices",
                    Value::list([
                        Value::Null,
                        device(Value::Null, s("22631")),
                        alert(Value::Severity(3), "new", "malware", Value::Null),
                    ]),
                ),
                ("users", s("alice")),
            ],
        );
        let beyond = Value::record(
            model::incident(),
            [
                ("severity", Value::Severity(200)),
                ("status", s("")),
                ("alerts", Value::Null),
            ],
        );
        vec![
            vec![typical],
            vec![quiet],
            vec![odd],
            vec![beyond],
            vec![ws],
            vec![Value::Number(1.0)],
            vec![],
        ]
    }

    /// Each fast shape, and the same condition written so that no fast path applies: a place
    /// `p` read as `first([p])` is no longer a path, so comparisons use [`Value`]'s general
    /// `==` and ordering, and list functions bind their parameter for every item.
    const PAIRS: &[(&str, &str)] = &[
        // Items that are null, not records, or records without the field: the answer for null.
        (
            "any(incident.alerts, a => a.category not in ['malware', 'ransomware'])",
            "any(first([incident.alerts]), a => first([a.category]) not in ['malware', 'ransomware'])",
        ),
        (
            "all(incident.alerts, a => a.category in ['ransomware', 'execution', 'malware'])",
            "all(first([incident.alerts]), a => first([a.category]) in ['ransomware', 'execution', 'malware'])",
        ),
        (
            "count(incident.devices, d => d.verdict == null) >= 2",
            "count(first([incident.devices]), d => first([d.verdict]) == null) >= 2",
        ),
        (
            "all(incident.devices, d => d.verdict == null)",
            "all(first([incident.devices]), d => first([d.verdict]) == null)",
        ),
        (
            "any(incident.devices, d => d.verdict != 'unknown')",
            "any(first([incident.devices]), d => first([d.verdict]) != 'unknown')",
        ),
        (
            "count(incident.alerts, a => a.category in ['malware', 'exploits', 'discovery', 'execution']) < 2",
            "count(first([incident.alerts]), a => first([a.category]) in ['malware', 'exploits', 'discovery', 'execution']) < 2",
        ),
        // Texts too long to be held inline, alone and among short ones.
        (
            "incident.title == 'Ransomware on ws1 and on srv2'",
            "first([incident.title]) == 'Ransomware on ws1 and on srv2'",
        ),
        (
            "incident.title in ['Ransomware on ws1 and on srv2', 'Ransomware on ws1']",
            "first([incident.title]) in ['Ransomware on ws1 and on srv2', 'Ransomware on ws1']",
        ),
        (
            "any(incident.alerts, a => a.category != 'ransomware_and_something_longer')",
            "any(first([incident.alerts]), a => first([a.category]) != 'ransomware_and_something_longer')",
        ),
        ("incident.severity == high", "first([incident.severity]) == high"),
        ("incident.severity != high", "first([incident.severity]) != high"),
        ("high == incident.severity", "high == first([incident.severity])"),
        ("incident.severity >= medium", "first([incident.severity]) >= medium"),
        ("incident.severity < high", "first([incident.severity]) < high"),
        ("medium < incident.severity", "medium < first([incident.severity])"),
        ("incident.severity in [high, medium]", "first([incident.severity]) in [high, medium]"),
        ("incident.severity not in [low, high]", "first([incident.severity]) not in [low, high]"),
        ("not (incident.severity == low)", "not (first([incident.severity]) == low)"),
        ("incident.status == 'resolved'", "first([incident.status]) == 'resolved'"),
        ("incident.status != 'resolved'", "first([incident.status]) != 'resolved'"),
        ("incident.status in ['new', 'active']", "first([incident.status]) in ['new', 'active']"),
        (
            "incident.title in ['a', 'b', 'c', 'd', 'e', 'f', 'g', 'h', 'Ransomware on ws1']",
            "first([incident.title]) in ['a', 'b', 'c', 'd', 'e', 'f', 'g', 'h', 'Ransomware on ws1']",
        ),
        ("incident.status not in ['resolved']", "first([incident.status]) not in ['resolved']"),
        ("incident.title < 'b'", "first([incident.title]) < 'b'"),
        ("incident.status == null", "first([incident.status]) == null"),
        ("incident.title contains 'Ransom'", "first([incident.title]) contains 'Ransom'"),
        ("incident.title starts_with 'Ran'", "first([incident.title]) starts_with 'Ran'"),
        ("incident.tags contains 'vip'", "first([incident.tags]) contains 'vip'"),
        ("count(incident.users) >= 1", "count(incident.users) + 0 >= 1"),
        ("count(incident.users) > 0.5", "count(incident.users) + 0 > 0.5"),
        ("1 <= count(incident.alerts)", "1 <= count(incident.alerts) + 0"),
        ("count(incident.alerts) < 2", "count(incident.alerts) + 0 < 2"),
        (
            "any(incident.alerts, a => a.category in ['malware', 'ransomware'])",
            "any(first([incident.alerts]), a => first([a.category]) in ['malware', 'ransomware'])",
        ),
        (
            "all(incident.alerts, a => a.status != 'resolved')",
            "all(first([incident.alerts]), a => first([a.status]) != 'resolved')",
        ),
        (
            "any(incident.devices, d => d.verdict in ['malicious', 'suspicious'])",
            "any(first([incident.devices]), d => first([d.verdict]) in ['malicious', 'suspicious'])",
        ),
        (
            "not any(incident.devices, d => d.os_build > 1000)",
            "not any(first([incident.devices]), d => first([d.os_build]) > 1000)",
        ),
        (
            "all(incident.devices, d => d.os_build >= 1000)",
            "all(first([incident.devices]), d => first([d.os_build]) >= 1000)",
        ),
        (
            "count(incident.alerts, a => a.severity >= medium)",
            "count(first([incident.alerts]), a => first([a.severity]) >= medium)",
        ),
        (
            "count(incident.alerts, a => a.severity >= medium) >= 1",
            "count(first([incident.alerts]), a => first([a.severity]) >= medium) >= 1",
        ),
        (
            "count(incident.alerts, a => a.severity >= medium) <= 1.5",
            "count(first([incident.alerts]), a => first([a.severity]) >= medium) <= 1.5",
        ),
        (
            "2 > count(incident.devices, d => d.verdict != 'malicious')",
            "2 > count(first([incident.devices]), d => first([d.verdict]) != 'malicious')",
        ),
        (
            "any(incident.alerts, a => any(a.entities, e => e.verdict == 'malicious'))",
            "any(first([incident.alerts]), a => any(first([a.entities]), e => first([e.verdict]) == 'malicious'))",
        ),
        (
            "any(incident.alerts, a => a.severity == high and any(a.entities, e => e.verdict != 'unknown'))",
            "any(first([incident.alerts]), a => first([a.severity]) == high and any(first([a.entities]), e => first([e.verdict]) != 'unknown'))",
        ),
        (
            "any(filter(incident.devices, d => d.verdict != 'unknown'), d => d.os_build > 1)",
            "any(filter(first([incident.devices]), d => first([d.verdict]) != 'unknown'), d => first([d.os_build]) > 1)",
        ),
        (
            "incident.severity in [high, medium] and incident.status != 'resolved'",
            "first([incident.severity]) in [high, medium] and first([incident.status]) != 'resolved'",
        ),
        (
            "count(incident.users) >= 1 and incident.severity == high",
            "count(incident.users) + 0 >= 1 and first([incident.severity]) == high",
        ),
        (
            "incident.status == 'new' or any(incident.alerts, a => a.severity > low)",
            "first([incident.status]) == 'new' or any(first([incident.alerts]), a => first([a.severity]) > low)",
        ),
        (
            "incident.severity > low and incident.status != 'new' and count(incident.users) >= 1",
            "first([incident.severity]) > low and first([incident.status]) != 'new' and count(incident.users) + 0 >= 1",
        ),
        (
            "incident.severity == low or incident.status == 'new' or incident.severity > medium",
            "first([incident.severity]) == low or first([incident.status]) == 'new' or first([incident.severity]) > medium",
        ),
        (
            "incident.severity == high or incident.status in ['new', 'active']",
            "first([incident.severity]) == high or first([incident.status]) in ['new', 'active']",
        ),
        (
            "incident.severity != low and not (incident.status == 'new')",
            "first([incident.severity]) != low and not (first([incident.status]) == 'new')",
        ),
        (
            "count(incident.alerts) < 2 or incident.title contains 'Ransom'",
            "count(incident.alerts) + 0 < 2 or first([incident.title]) contains 'Ransom'",
        ),
        (
            "incident.title == null and count(incident.devices) >= 1",
            "first([incident.title]) == null and count(incident.devices) + 0 >= 1",
        ),
        (
            "incident.status == 'resolved' or incident.severity in [low] or count(incident.users) < 1",
            "first([incident.status]) == 'resolved' or first([incident.severity]) in [low] or count(incident.users) + 0 < 1",
        ),
        (
            "incident.severity >= medium and any(incident.devices, d => d.os_build > 1000) and incident.status != 'new' and count(incident.alerts) > 1",
            "first([incident.severity]) >= medium and any(first([incident.devices]), d => first([d.os_build]) > 1000) and first([incident.status]) != 'new' and count(incident.alerts) + 0 > 1",
        ),
        (
            "incident.severity == low or incident.status == 'active' or any(incident.alerts, a => a.severity > low)",
            "first([incident.severity]) == low or first([incident.status]) == 'active' or any(first([incident.alerts]), a => first([a.severity]) > low)",
        ),
        (
            "incident.title in ['abcdefghijklmnopq', 'Ransomware on ws1'] or incident.title in ['abcd', 'abc', '']",
            "first([incident.title]) in ['abcdefghijklmnopq', 'Ransomware on ws1'] or first([incident.title]) in ['abcd', 'abc', '']",
        ),
        ("true and incident.severity > low", "true and first([incident.severity]) > low"),
        ("false or not incident.severity > low", "false or not first([incident.severity]) > low"),
    ];

    #[test]
    fn compiled_conditions_agree_with_the_general_semantics() {
        for vars in incidents() {
            let env = Env {
                vars: &vars,
                now_ms: 0,
            };
            for (fast, general) in PAIRS {
                let (fast_e, general_e) = (expr(fast), expr(general));
                let want = general_e.eval(&env);
                let ctx = format!("{fast} on {vars:?}");
                assert_eq!(fast_e.eval(&env), want, "value of {ctx}");
                assert_eq!(fast_e.eval_bool(&env), want.truthy(), "compiled {ctx}");
                let mut cx = Cx::new(&env);
                assert_eq!(
                    fast_e.0.ir.test(&mut cx),
                    want.truthy(),
                    "interpreted {ctx}"
                );
                assert_eq!(general_e.eval_bool(&env), want.truthy(), "general {ctx}");
            }
        }
    }

    #[test]
    fn conditions_read_from_the_environment_agree_on_odd_variables() {
        let odd: [&[Value]; 4] = [
            &[],
            &[Value::Null],
            &[Value::from("incident")],
            &[Value::list([Value::Severity(3)])],
        ];
        for vars in odd {
            let env = Env { vars, now_ms: 0 };
            for (fast, _) in PAIRS {
                let e = expr(fast);
                let want = e.0.ir.test(&mut Cx::new(&env));
                assert_eq!(e.eval_bool(&env), want, "{fast} on {vars:?}");
            }
        }
    }

    #[test]
    fn the_usual_shapes_are_compiled() {
        for (fast, _) in PAIRS {
            let e = expr(fast);
            let shown = format!("{:?}", e.0.cond);
            // A list function over a computed list, or whose lambda does more than test its
            // parameter, is left to the interpreter.
            let interpreted =
                fast.contains("filter") || fast.contains("a.entities") || fast.ends_with("medium)");
            assert_eq!(
                e.0.cond.is_none() || shown.contains("Interpreted"),
                interpreted,
                "{fast}: {shown}"
            );
        }
    }

    #[test]
    fn texts_compare_like_strings() {
        let texts: Vec<String> = (0..30)
            .flat_map(|n: usize| {
                let base: String = (0..n).map(|i| char::from(b'a' + (i % 26) as u8)).collect();
                // The same length, differing at the start, the middle and the end.
                let mut variants = vec![base.clone()];
                for at in [0, n / 2, n.saturating_sub(1)] {
                    if at < n {
                        let mut b = base.clone().into_bytes();
                        b[at] = b'Z';
                        variants.push(String::from_utf8(b).unwrap());
                    }
                }
                variants
            })
            .chain(["é", "ée", "αβγδ"].map(String::from))
            .collect();
        let values: Vec<Value> = texts.iter().map(|t| s(t)).collect();
        // `==` each text: inline constants are compared as words, longer ones by a set of one.
        for c in &texts {
            let check = Check::new(TestOp::Eq, s(c));
            let inline = c.len() <= Str::INLINE;
            assert_eq!(
                (
                    matches!(check, Check::TextIs(_)),
                    matches!(check, Check::TextSet(_))
                ),
                (inline, !inline),
                "{c:?}: {check:?}"
            );
            for (t, v) in texts.iter().zip(&values) {
                assert_eq!(check.holds(v), c == t, "{c:?} {t:?}");
            }
        }
        // Sets small enough to scan and large enough to search, of short and long texts, many
        // of one length or each of its own.
        let sets = texts
            .chunks(3)
            .chain(texts.chunks(20))
            .map(<[String]>::to_vec)
            .chain((0..8).map(|from| texts.iter().skip(from).step_by(4).cloned().collect()));
        for set in sets {
            let strs = StrSet::new(set.iter().map(|t| t.as_str().into()).collect());
            let boxed: Vec<Box<str>> = set.iter().map(|t| t.as_str().into()).collect();
            let inline = InlineSet::new(&boxed);
            let distinct: std::collections::BTreeSet<&String> = set.iter().collect();
            let lens: std::collections::BTreeSet<usize> = set.iter().map(String::len).collect();
            assert_eq!(
                inline.is_some(),
                set.iter().all(|t| t.len() <= Str::INLINE) && lens.len() == distinct.len(),
                "{set:?}"
            );
            let check = Check::new(TestOp::In, Value::list(set.iter().map(|t| s(t))));
            assert_eq!(
                matches!(check, Check::TextIn(_)),
                inline.is_some(),
                "{set:?}: {check:?}"
            );
            for (t, v) in texts.iter().zip(&values) {
                let want = set.contains(t);
                assert_eq!(strs.contains(&Str::new(t)), want, "{set:?} {t:?}");
                if let Some(inline) = &inline {
                    assert_eq!(inline.contains(&Str::new(t)), want, "inline {set:?} {t:?}");
                }
                assert_eq!(check.holds(v), want, "check {set:?} {t:?}");
            }
        }
    }

    #[test]
    fn tests_of_one_variable_are_fused() {
        for (text, node) in [
            ("incident.severity in [high, medium] and incident.status != 'resolved'", "VarTests2"),
            ("count(incident.users) >= 1 and incident.severity == high", "VarTests2"),
            ("incident.severity == low or incident.status == 'new'", "VarTests2"),
            (
                "incident.severity > low and incident.status != 'new' and count(incident.users) >= 1",
                "VarTests {",
            ),
        ] {
            let shown = format!("{:?}", expr(text).0.cond);
            assert!(shown.starts_with(&format!("Some({node}")), "{text}: {shown}");
        }
        // A test alone between loops stays a leaf.
        let shown = format!(
            "{:?}",
            expr("any(incident.alerts, a => a.severity > low) and incident.severity == high and any(incident.devices, d => d.os_build > 1)").0.cond
        );
        assert!(
            shown.contains("Leaf") && !shown.contains("VarTests"),
            "{shown}"
        );
    }

    #[test]
    fn loops_spend_the_budget_like_bound_lambdas() {
        let vars = incidents().swap_remove(0);
        let env = Env {
            vars: &vars,
            now_ms: 0,
        };
        // The same conditions, with a lambda body the fused loops do not take (`and true`).
        for (fast, bound) in [
            (
                "any(incident.devices, d => d.os_build > 1000)",
                "any(incident.devices, d => d.os_build > 1000 and true)",
            ),
            (
                "all(incident.devices, d => d.os_build > 1000)",
                "all(incident.devices, d => d.os_build > 1000 and true)",
            ),
            (
                "any(incident.devices, d => d.os_build < 1000)",
                "any(incident.devices, d => d.os_build < 1000 and true)",
            ),
            (
                "count(incident.devices, d => d.os_build > 1000)",
                "count(incident.devices, d => d.os_build > 1000 and true)",
            ),
            (
                "count(incident.devices, d => d.os_build > 1000) >= 1",
                "count(incident.devices, d => d.os_build > 1000 and true) >= 1",
            ),
            (
                "count(incident.devices, d => d.os_build < 1000) < 1",
                "count(incident.devices, d => d.os_build < 1000 and true) < 1",
            ),
            // Fused tests keep their place among the loops: a loop after a test that decides
            // is not run, one before it is.
            (
                "any(incident.devices, d => d.os_build < 1000) or incident.severity == high and incident.status != 'new' or any(incident.devices, d => d.os_build > 1000)",
                "any(incident.devices, d => d.os_build < 1000 and true) or incident.severity == high and incident.status != 'new' or any(incident.devices, d => d.os_build > 1000 and true)",
            ),
            (
                "any(incident.devices, d => d.os_build < 1000) or incident.severity == low or incident.status == 'new' or any(incident.devices, d => d.os_build > 1000)",
                "any(incident.devices, d => d.os_build < 1000 and true) or incident.severity == low or incident.status == 'new' or any(incident.devices, d => d.os_build > 1000 and true)",
            ),
            (
                "incident.severity == high and incident.status != 'new' and any(incident.devices, d => d.os_build > 1000)",
                "incident.severity == high and incident.status != 'new' and any(incident.devices, d => d.os_build > 1000 and true)",
            ),
        ] {
            let (fast_e, bound_e) = (expr(fast), expr(bound));
            for budget in 0..4 {
                let mut want_cx = Cx::with_budget(&env, budget);
                let want = bound_e.0.ir.eval(&mut want_cx).into_owned();
                let want_left = want_cx.budget_left();
                let mut cx = Cx::with_budget(&env, budget);
                assert_eq!(
                    fast_e.0.ir.eval(&mut cx).into_owned(),
                    want,
                    "{fast} {budget}"
                );
                assert_eq!(cx.budget_left(), want_left, "{fast} {budget}");
                if let Some(cond) = &fast_e.0.cond {
                    let mut cx = Cx::with_budget(&env, budget);
                    assert_eq!(cond.test(&mut cx), want.truthy(), "{fast} {budget}");
                    assert_eq!(cx.budget_left(), want_left, "{fast} {budget}");
                }
            }
        }
    }

    /// An incident whose data is long: a description of `kb` kilobytes, `n` tags, `n` alerts
    /// with long entity id lists.
    fn long_incident(kb: usize, n: usize) -> Vec<Value> {
        let desc = format!("{}Ransomware", "d".repeat(kb * 1024));
        let tags = Value::list((0..n).map(|i| s(&format!("t{i}"))));
        let alerts = Value::list((0..3).map(|i| {
            Value::record(
                model::alert(),
                [
                    ("severity", Value::Severity(i)),
                    ("mitre_techniques", tags.clone()),
                    ("description", s(&desc[..desc.len() / (usize::from(i) + 1)])),
                ],
            )
        }));
        vec![Value::record(
            model::incident(),
            [
                ("severity", Value::Severity(3)),
                ("title", s(&desc)),
                ("description", s(&desc)),
                ("tags", tags),
                ("alerts", alerts),
            ],
        )]
    }

    /// A condition spends a run's budget (see `with_run_budget`) and notices that it ran out
    /// alike however it is spelled: as a shape that runs without a [`Cx`] (a loop over a
    /// variable's list, a test of a field) or written so that none applies. A loop that
    /// charged nothing let a run past its limit: a `for_each` filter of this shape cost items
    /// times list length, unbounded.
    #[test]
    fn fast_paths_spend_the_run_budget_as_written_out() {
        use crate::expr::with_run_budget_spent;
        let vars = long_incident(2, 1000);
        let env = Env {
            vars: &vars,
            now_ms: 0,
        };
        // The direct case: 1000 tags, a budget of 100.
        let e = expr("all(incident.tags, t => t != 'x')");
        assert!(format!("{:?}", e.0.cond).contains("QuantTest"));
        assert_eq!(
            with_run_budget_spent(100, || e.eval_bool(&env)),
            (false, true, 100)
        );
        assert_eq!(
            with_run_budget_spent(1000, || e.eval_bool(&env)),
            (true, true, 1000)
        );
        assert_eq!(
            with_run_budget_spent(1001, || e.eval_bool(&env)),
            (true, false, 1000)
        );

        // Lists of more than 64 items and texts of a kilobyte or more are compared at a cost.
        let many = (0..70)
            .map(|i| format!("'u{i}'"))
            .collect::<Vec<_>>()
            .join(", ");
        let highs = vec!["high"; 70].join(", ");
        let long = format!("{}Ransomware", "d".repeat(2048));
        // Each condition, the same written out, and the work the writing adds (a list built).
        let pairs = [
            (
                "all(incident.tags, t => t != 'x')".to_string(),
                "all(incident.tags, t => t != 'x' and true)".to_string(),
                0,
            ),
            (
                "any(incident.tags, t => t == 't999')".into(),
                "any(incident.tags, t => t == 't999' and true)".into(),
                0,
            ),
            (
                "any(incident.tags, t => t == 't5')".into(),
                "any(incident.tags, t => t == 't5' and true)".into(),
                0,
            ),
            (
                "count(incident.tags, t => t starts_with 't9') >= 2".into(),
                "count(incident.tags, t => t starts_with 't9' and true) >= 2".into(),
                0,
            ),
            (
                "incident.severity == high and all(incident.tags, t => t != 'x')".into(),
                "incident.severity == high and all(incident.tags, t => t != 'x' and true)".into(),
                0,
            ),
            (
                format!("any(incident.tags, t => t in [{many}])"),
                format!("any(incident.tags, t => t in [{many}] and true)"),
                0,
            ),
            (
                format!("incident.title in [{many}]"),
                format!("[{many}] contains incident.title"),
                0,
            ),
            (
                format!("incident.severity in [{highs}]"),
                format!("[{highs}] contains incident.severity"),
                0,
            ),
            (
                format!("incident.description == '{long}'"),
                format!("[incident.description] == ['{long}']"),
                1,
            ),
            (
                format!("incident.description != '{long}'"),
                format!("[incident.description] != ['{long}']"),
                1,
            ),
            (
                format!("incident.title < '{long}'"),
                format!("first([incident.title]) < '{long}'"),
                1,
            ),
            (
                format!("incident.title starts_with '{long}'"),
                format!("first([incident.title]) starts_with '{long}'"),
                1,
            ),
        ];
        for (fast, written, extra) in &pairs {
            let (fast_e, written_e) = (expr(fast), expr(written));
            for budget in [
                0,
                1,
                2,
                3,
                50,
                70,
                71,
                500,
                999,
                1000,
                1001,
                1002,
                70_000,
                71_000,
                100_000,
                u64::MAX,
            ] {
                let ctx = format!("{fast} with {budget}");
                let (held, out, spent) = with_run_budget_spent(budget, || fast_e.eval_bool(&env));
                let (v, v_out, v_spent) = with_run_budget_spent(budget, || fast_e.eval(&env));
                assert_eq!(
                    (v.truthy(), v_out, v_spent),
                    (held, out, spent),
                    "eval {ctx}"
                );
                let (w_held, w_out, w_spent) =
                    with_run_budget_spent(budget.saturating_add(*extra), || {
                        written_e.eval_bool(&env)
                    });
                assert_eq!(
                    (w_held, w_out, w_spent.saturating_sub(*extra)),
                    (held, out, spent),
                    "written out: {ctx}"
                );
            }
        }
    }

    /// Text an evaluation writes is bounded by its budget: copies of a long title built over
    /// and over give null once it is spent, where short ones do not.
    #[test]
    fn text_built_is_bounded_by_the_budget() {
        let items = vec!["1"; 100].join(", ");
        let copies = expr(&format!(
            "count(map([{items}], x => incident.title + lower(incident.title))) == 100"
        ));
        for (kb, holds) in [(0, true), (4096, false)] {
            let vars = long_incident(kb, 1);
            let env = Env {
                vars: &vars,
                now_ms: 0,
            };
            assert_eq!(copies.eval_bool(&env), holds, "{kb} KB");
        }
    }

    #[test]
    fn work_on_long_data_is_spent_alike_compiled_and_interpreted() {
        // Each condition, and the same written so that nothing is specialized (`first([x])`
        // builds a one-item list: one unit more).
        let pairs = [
            "incident.description contains 'Ransomware'",
            "incident.description contains 'absent'",
            "not (incident.description contains 'absent')",
            "incident.tags contains 't99'",
            "incident.tags contains 'absent'",
            "not (incident.tags contains 'absent')",
            "incident.severity == high and incident.tags contains 't5' and incident.title != ''",
            "incident.severity == low or incident.description contains 'Ransom'",
            "any(incident.alerts, a => a.mitre_techniques contains 't7')",
            "all(incident.alerts, a => a.description contains 'Ransom')",
            "count(incident.alerts, a => not (a.description contains 'Ransom')) < 1",
            "lower(incident.description) contains 'ransom'",
            "lower(incident.description) == 'x'",
            "incident.description starts_with incident.title",
            "incident.description ends_with incident.title",
            "incident.description == incident.title",
            "incident.description != incident.title",
            "incident.description < incident.title",
            "incident.description matches 'Ransom'",
            "'t9' in incident.tags",
            "incident.tags == incident.tags",
            "len(incident.description) > 10",
            "count(distinct(incident.tags)) > 10",
        ];
        let generalize = |text: &str| {
            text.replace("incident.description", "first([incident.description])")
                .replace("a.mitre_techniques", "first([a.mitre_techniques])")
                .replace("a.description", "first([a.description])")
                .replace("incident.tags contains", "first([incident.tags]) contains")
        };
        for (kb, n) in [(0, 10), (3, 100), (40, 2000)] {
            let vars = long_incident(kb, n);
            let env = Env {
                vars: &vars,
                now_ms: 0,
            };
            for fast in pairs {
                let general = generalize(fast);
                let (fast_e, general_e) = (expr(fast), expr(&general));
                let extra = general.matches("first([").count() as u64;
                for budget in [
                    0,
                    1,
                    2,
                    3,
                    10,
                    41,
                    100,
                    1000,
                    2_500,
                    10_000,
                    MAX_LAMBDA_CALLS,
                ] {
                    let ctx = format!("{fast} ({kb} KB, {n} items) with {budget}");
                    let mut cx = Cx::with_budget(&env, budget);
                    let want = fast_e.0.ir.eval(&mut cx).into_owned();
                    let want_left = cx.budget_left();
                    if !fast.contains("any(") && !fast.contains("all(") && !fast.contains("count(i")
                    {
                        // The general form's lists: only one of them per item in loops.
                        let mut cx = Cx::with_budget(&env, budget.saturating_add(extra));
                        let general_v = general_e.0.ir.eval(&mut cx).into_owned();
                        assert_eq!(general_v, want, "value of {ctx}");
                        assert_eq!(cx.budget_left(), want_left, "work of {ctx}");
                    }
                    let mut cx = Cx::with_budget(&env, budget);
                    let holds = fast_e.0.ir.test(&mut cx);
                    assert_eq!(holds, want.truthy(), "interpreted {ctx}");
                    assert_eq!(cx.budget_left(), want_left, "interpreted work of {ctx}");
                    if let Some(cond) = &fast_e.0.cond {
                        let mut cx = Cx::with_budget(&env, budget);
                        assert_eq!(cond.test(&mut cx), holds, "compiled {ctx}");
                        assert_eq!(cx.budget_left(), want_left, "compiled work of {ctx}");
                    }
                    if budget == MAX_LAMBDA_CALLS {
                        assert_eq!(fast_e.eval_bool(&env), holds, "from the environment {ctx}");
                        assert!(!want_left.1, "{ctx}: ran out");
                    }
                }
            }
        }
    }
}
