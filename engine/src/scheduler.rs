//! The scheduler: walks a compiled gamebook's graph for one incident — conditions, for-each
//! fan-out, dependencies and joins, sub-gamebooks, approvals, policy, retries and error edges —
//! and hands the actions that may run to an [`Executor`]. Dry-run and live share it; only the
//! executor differs.
//!
//! Runs are deterministic: steps in topological order (document order among independent ones),
//! for-each items in list order, no clocks but `RunConfig::now_ms`.

use std::borrow::Cow;
use std::cell::RefCell;
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::{Arc, LazyLock};

use crate::plan::text::plural;

use riposte_dsl::ast::{AgentMode, Protected, Role, SeverityLevel};
use riposte_dsl::catalog::{
    ActionSpec, Consent, Impact, Provider, ProviderSupport, Target as ActionTarget,
};
use riposte_dsl::checked::{self as c, Library, ParamValue};
use riposte_dsl::expr::{Env, Expr};
use riposte_dsl::graph::ExecGraph;
use riposte_dsl::types::{EntityKind, RecordType, Type};
use riposte_dsl::value::{RecordValue, Value};
use sha2::{Digest, Sha256};

use crate::executor::{ActionOutcome, ActionRequest, Executor};
use crate::plan::model::{
    Approval, Execution, PlannedAction, PlannedTask, Status, Target, TaskStatus,
};
use crate::workspace::{
    canonical_name, glob_match_within, same_ignoring_case, GlobName, ProtectedEntity, Workspace,
};

/// Which approvals are granted for a run (`--approve all|none|STEP...`).
#[derive(Clone, Debug, Default, PartialEq)]
pub enum Approvals {
    #[default]
    None,
    All,
    /// Step ids or paths (`isolate`, `contain.isolate`).
    Steps(Vec<String>),
}

impl Approvals {
    /// The approvals command-line words grant: `all` or `none` alone, or step ids and paths
    /// of `library`. A name no gamebook has is an error, so a typo cannot silently leave a
    /// gate closed.
    pub fn from_words(words: &[String], library: &Library) -> Result<Approvals, String> {
        // `--approve "isolate, revoke"`: the spaces around commas are no part of the names.
        let words: Vec<String> = words.iter().map(|w| w.trim().to_string()).collect();
        // An empty name (`--approve ""`, `--approve isolate,`) is most likely an unset
        // variable: refused, rather than silently leaving gates closed.
        if words.iter().any(String::is_empty) {
            return Err(
                "`--approve` got an empty step name; give `all`, `none`, or step names separated by commas"
                    .to_string(),
            );
        }
        match words.as_slice() {
            [] => Ok(Approvals::None),
            [one] if one == "all" => Ok(Approvals::All),
            [one] if one == "none" => Ok(Approvals::None),
            _ => {
                let keywords = words.iter().filter(|w| *w == "all" || *w == "none");
                if let Some(w) = keywords.clone().next() {
                    if keywords.clone().any(|other| other != w) {
                        return Err(
                            "`--approve all` and `--approve none` contradict each other; give one"
                                .to_string(),
                        );
                    }
                    // As a step named twice is: most likely a slip in a script.
                    if words.iter().all(|other| other == w) {
                        return Err(format!("`--approve {w}` is given twice; give it once"));
                    }
                    return Err(format!(
                        "`--approve {w}` cannot be combined with step names; give `{w}` alone"
                    ));
                }
                if let Some(w) = words.iter().find(|w| !is_step_name(library, w)) {
                    // `ALL`, `None`: the keywords are written in lowercase.
                    if let Some(k) = ["all", "none"].iter().find(|k| w.eq_ignore_ascii_case(k)) {
                        return Err(format!(
                            "`--approve {w}`: no gamebook of the library has a step `{w}`; did you mean `{k}`?"
                        ));
                    }
                    return Err(unknown_step("--approve", w, library));
                }
                Ok(Approvals::Steps(words.to_vec()))
            }
        }
    }

    /// Whether the approval of the step at `path` of gamebook `label` is granted.
    fn granted(&self, label: &str, path: &str) -> bool {
        match self {
            Approvals::None => false,
            Approvals::All => true,
            Approvals::Steps(steps) => steps.iter().any(|s| names_step_of(s, label, path)),
        }
    }
}

/// The approvals refused in a run: the steps whose approval is rejected (`--reject`), and the
/// steps whose approval gate times out (`--time-out`), where the gate's `on_timeout` decides.
/// A step named here is not granted by [`Approvals`], not even by `all`.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Refusals {
    pub rejected: Vec<String>,
    pub timed_out: Vec<String>,
}

impl Refusals {
    /// The refusals of command-line words (`--reject`, `--time-out`): step ids and paths of
    /// `library`, none named twice or also granted by name (`--approve`); a step left to time
    /// out has an approval gate.
    pub fn from_words(
        rejected: &[String],
        timed_out: &[String],
        approvals: &Approvals,
        library: &Library,
    ) -> Result<Refusals, String> {
        let clean = |option: &str, words: &[String]| -> Result<Vec<String>, String> {
            let words: Vec<String> = words.iter().map(|w| w.trim().to_string()).collect();
            if words.iter().any(String::is_empty) {
                return Err(format!(
                    "`{option}` got an empty step name; give step names separated by commas"
                ));
            }
            if let Some(w) = words.iter().find(|w| !is_step_name(library, w)) {
                return Err(unknown_step(option, w, library));
            }
            Ok(words)
        };
        let refusals = Refusals {
            rejected: clean("--reject", rejected)?,
            timed_out: clean("--time-out", timed_out)?,
        };
        if let Some(w) = refusals
            .timed_out
            .iter()
            .find(|w| !can_time_out(library, w))
        {
            return Err(no_gate("--time-out", w));
        }
        let granted = match approvals {
            Approvals::Steps(steps) => steps.as_slice(),
            Approvals::None | Approvals::All => &[],
        };
        let named = [
            ("--approve", granted),
            ("--reject", refusals.rejected.as_slice()),
            ("--time-out", refusals.timed_out.as_slice()),
        ];
        for (i, (option, words)) in named.iter().enumerate() {
            for (j, w) in words.iter().enumerate() {
                let earlier = named[..i]
                    .iter()
                    .flat_map(|(o, ws)| ws.iter().map(move |b| (*o, b)))
                    .chain(words[..j].iter().map(|b| (*option, b)));
                // A refusal narrower than an approval refines it: `--approve isolate --reject
                // contain-device/isolate` approves every `isolate` but that one.
                let refines = |other: &str, b: &str| other == "--approve" && narrower(w, b);
                if let Some((other, b)) = earlier
                    .into_iter()
                    .find(|(o, b)| same_step(b, w) && !refines(o, b))
                {
                    if other == *option && b == w {
                        return Err(format!("`{option} {w}` is given twice; give it once"));
                    }
                    return Err(format!(
                        "`{option} {w}` and `{other} {b}` name the same step; decide its \
                         approval once"
                    ));
                }
            }
        }
        Ok(refusals)
    }

    fn rejects(&self, label: &str, path: &str) -> bool {
        self.rejected.iter().any(|s| names_step_of(s, label, path))
    }

    fn times_out(&self, label: &str, path: &str) -> bool {
        self.timed_out.iter().any(|s| names_step_of(s, label, path))
    }
}

/// Whether two step names can name the same step (`isolate` and `contain.isolate` can, and
/// `isolate` and `contain-device/isolate`; names qualified by two gamebooks are taken apart).
pub fn same_step(a: &str, b: &str) -> bool {
    let (ga, a) = qualified(a);
    let (gb, b) = qualified(b);
    let same_gamebook = match (ga, gb) {
        (Some(x), Some(y)) => x == y,
        _ => true,
    };
    same_gamebook && (names_step(a, b) || names_step(b, a))
}

/// Whether step name `a` names the steps `b` names in one gamebook only: `a` has the gamebook
/// qualifier `b` lacks (`contain-device/isolate` within `isolate`). (A longer path in one
/// gamebook names the same step, most often: no refinement.)
pub fn narrower(a: &str, b: &str) -> bool {
    let (ga, sa) = qualified(a);
    let (gb, sb) = qualified(b);
    ga.is_some() && gb.is_none() && names_step(sb, sa)
}

/// A step name split at its gamebook qualifier: `compromised-user/revoke` is step `revoke` of
/// gamebook `compromised-user`; `revoke` alone is of any gamebook.
fn qualified(name: &str) -> (Option<&str>, &str) {
    match name.split_once('/') {
        Some((gamebook, step)) => (Some(gamebook), step),
        None => (None, name),
    }
}

/// Whether gamebook `pattern` is the gamebook of `label`: a gamebook matches the actions it
/// runs itself and through calls (`malware-cleanup` and `block-malicious-indicators` both
/// match `malware-cleanup > block-malicious-indicators`); the whole label matches too.
pub fn gamebook_matches(pattern: &str, label: &str) -> bool {
    label == pattern || label.split(" > ").any(|g| g == pattern)
}

/// Whether `name`, qualified by a gamebook (`compromised-user/revoke`) or not, names the step
/// at `path` of the gamebook run labelled `label` ([`names_step`]; the qualifier is any
/// gamebook of the label).
pub fn names_step_of(name: &str, label: &str, path: &str) -> bool {
    let (gamebook, step) = qualified(name);
    gamebook.is_none_or(|g| gamebook_matches(g, label)) && names_step(step, path)
}

/// Whether a step `name` names has an approval gate.
pub fn can_time_out(library: &Library, name: &str) -> bool {
    steps_named(library, name)
        .iter()
        .any(|s| s.approval.is_some() || task_times_out(s))
}

/// Whether timing out the step `s` times out its task: a task step with a `timeout` and no
/// approval gate (a gate's timeout comes first, and is what a time-out decides there).
fn task_times_out(s: &c::Step) -> bool {
    matches!(s.kind, c::StepKind::Task(_)) && s.timeout_ms.is_some() && s.approval.is_none()
}

/// What a step that cannot time out is, for the errors that name one: neither an approval gate
/// nor a task with a `timeout`.
pub const NOTHING_TIMES_OUT: &str = "has no approval gate and is no task with a `timeout`, so \
     nothing of it times out; a gate's `on_timeout` decides what a timeout does, and a task not \
     completed within its `timeout` fails its step (to refuse the approval an action needs, \
     reject the step instead)";

/// The error for a step left to time out that cannot time out.
pub fn no_gate(option: &str, step: &str) -> String {
    format!("`{option} {step}`: step `{step}` {NOTHING_TIMES_OUT}")
}

/// Whether `step` holds an action `is` holds for, through its groups and the gamebooks it calls
/// (each called gamebook walked once, its answer kept in `held`: calls can make the walk
/// exponential).
fn holds<'l>(
    library: &'l Library,
    step: &c::Step,
    depth: usize,
    held: &mut BTreeMap<&'l str, bool>,
    is: &dyn Fn(&ActionSpec) -> bool,
) -> bool {
    match &step.kind {
        c::StepKind::Action { spec, .. } => is(spec),
        c::StepKind::Group(inner) => inner.iter().any(|s| holds(library, s, depth, held, is)),
        c::StepKind::Call { gamebook, .. } if depth < MAX_CALL_DEPTH => {
            let Some(callee) = library.gamebook(gamebook) else {
                return false;
            };
            if let Some(&h) = held.get(callee.name.as_str()) {
                return h;
            }
            let h = callee
                .steps
                .iter()
                .any(|s| holds(library, s, depth + 1, held, is));
            held.insert(callee.name.as_str(), h);
            h
        }
        c::StepKind::Call { .. } | c::StepKind::Task(_) => false,
    }
}

/// Every step id and step path (`contain.isolate`) of the library's gamebooks.
pub fn step_names(library: &Library) -> BTreeSet<String> {
    names_of(library.gamebooks.iter())
}

/// Every step id and step path (`contain.isolate`) of the gamebooks.
fn names_of<'l>(gamebooks: impl Iterator<Item = &'l c::Gamebook>) -> BTreeSet<String> {
    fn add(steps: &[c::Step], prefix: &str, out: &mut BTreeSet<String>) {
        for s in steps {
            let path = format!("{prefix}{}", s.id);
            out.insert(s.id.clone());
            if let c::StepKind::Group(inner) = &s.kind {
                add(inner, &format!("{path}."), out);
            }
            out.insert(path);
        }
    }
    let mut out = BTreeSet::new();
    for gb in gamebooks {
        add(&gb.steps, "", &mut out);
    }
    out
}

/// Whether `name` names the step at `path`: the path itself, or its end after a `.` (`isolate`
/// and `contain.isolate` name `contain.isolate`, and `second.note` in a called gamebook).
pub fn names_step(name: &str, path: &str) -> bool {
    path.strip_suffix(name)
        .is_some_and(|before| before.is_empty() || before.ends_with('.'))
}

/// Whether `name` names a step of the library as plans show it: a step id, or a path through
/// groups and call steps such as `contain.isolate` or `indicators.block_files` (step
/// `block_files` of the gamebook step `indicators` calls), or any end of such a path after a
/// `.`. Each `.` must lead into the group or the called gamebook before it, so ids of the
/// library put together in an order no plan shows are no step name.
pub fn is_step_name(library: &Library, name: &str) -> bool {
    !steps_named(library, name).is_empty()
}

/// What the steps `name` names are when none of them is an action step (`a group`, `a
/// gamebook call`, `a task`): what a script that fails actions cannot fail.
pub fn names_no_action(library: &Library, name: &str) -> Option<&'static str> {
    let steps = steps_named(library, name);
    let what = |s: &c::Step| match s.kind {
        c::StepKind::Action { .. } => None,
        c::StepKind::Group(_) => Some("a group"),
        c::StepKind::Call { .. } => Some("a gamebook call"),
        c::StepKind::Task(_) => Some("a task"),
    };
    let first = what(steps.first()?)?;
    steps.iter().all(|s| what(s).is_some()).then_some(first)
}

/// The steps of the library `name` names (see [`is_step_name`]).
pub(crate) fn steps_named<'l>(library: &'l Library, name: &str) -> Vec<&'l c::Step> {
    fn walk<'l>(
        library: &'l Library,
        steps: &'l [c::Step],
        segments: &[&str],
        depth: usize,
        out: &mut Vec<&'l c::Step>,
    ) {
        let [first, rest @ ..] = segments else {
            return;
        };
        let Some(step) = steps.iter().find(|s| s.id == *first) else {
            return;
        };
        if rest.is_empty() {
            out.push(step);
            return;
        }
        match &step.kind {
            c::StepKind::Group(inner) => walk(library, inner, rest, depth, out),
            c::StepKind::Call { gamebook, .. } if depth < MAX_CALL_DEPTH => {
                if let Some(callee) = library.gamebook(gamebook) {
                    walk(library, &callee.steps, rest, depth + 1, out);
                }
            }
            _ => {}
        }
    }
    /// Every list of sibling steps: a gamebook's, and each group's.
    fn lists<'l>(steps: &'l [c::Step], out: &mut Vec<&'l [c::Step]>) {
        out.push(steps);
        for s in steps {
            if let c::StepKind::Group(inner) = &s.kind {
                lists(inner, out);
            }
        }
    }
    // A qualified name is of its gamebook, or of one it calls (as plans label them).
    let (gamebook, name) = qualified(name);
    let gamebooks: Vec<&c::Gamebook> = match gamebook {
        None => library.gamebooks.iter().collect(),
        Some(g) => library.with_callees(g).0,
    };
    let segments: Vec<&str> = name.split('.').collect();
    let mut all = Vec::new();
    for gb in gamebooks {
        lists(&gb.steps, &mut all);
    }
    let mut out = Vec::new();
    for steps in all {
        walk(library, steps, &segments, 0, &mut out);
    }
    out
}

/// The error for an option naming a step no gamebook of the library has, with the nearest
/// step name.
pub fn unknown_step(option: &str, step: &str, library: &Library) -> String {
    if let (Some(gamebook), name) = qualified(step) {
        if gamebook.is_empty() || name.is_empty() {
            return format!(
                "`{option} {step}`: give `GAMEBOOK/STEP`, both parts non-empty (e.g. \
                 `contain-compromised-device/isolate`)"
            );
        }
        if library.gamebook(gamebook).is_none() {
            let near = riposte_dsl::diagnostic::did_you_mean(
                gamebook,
                library.gamebooks.iter().map(|g| g.name.as_str()),
            )
            .map(|n| format!("; did you mean `{n}`?"))
            .unwrap_or_default();
            return format!("`{option} {step}`: the library has no gamebook `{gamebook}`{near}");
        }
        // What to write instead is a step of that gamebook: the nearest to what was written,
        // else its first.
        let gamebooks = library.with_callees(gamebook).0;
        let names = names_of(gamebooks.iter().copied());
        let hint =
            match riposte_dsl::diagnostic::did_you_mean(name, names.iter().map(String::as_str)) {
                Some(near) => format!("; did you mean `{gamebook}/{near}`?"),
                None => gamebooks
                    .first()
                    .and_then(|g| g.steps.first())
                    .map(|s| format!(" (e.g. `{gamebook}/{}`)", s.id))
                    .unwrap_or_default(),
            };
        return format!(
            "`{option} {step}`: gamebook `{gamebook}` has no step `{name}`, nor do the gamebooks \
             it calls; give a step id or path as plans show it after the `/`{hint}"
        );
    }
    let names = step_names(library);
    let near = riposte_dsl::diagnostic::did_you_mean(step, names.iter().map(String::as_str))
        .map(|n| format!("; did you mean `{n}`?"))
        .unwrap_or_default();
    format!(
        "`{option} {step}`: no gamebook of the library has a step `{step}`; give a step id or \
         path as plans show it (e.g. `isolate` or `contain.isolate`), with its gamebook in front \
         to name only that gamebook's (`contain-compromised-device/isolate`){near}"
    )
}

/// Knobs of one run.
#[derive(Clone, Debug)]
pub struct RunConfig {
    pub approvals: Approvals,
    pub refusals: Refusals,
    /// Most items one for-each fans out to; the rest are blocked.
    pub max_fanout: usize,
    /// Most actions one plan holds: for-each items that start past it are blocked, so
    /// nested fan-outs (each device × each file) cannot multiply without bound.
    pub max_actions: usize,
    /// What `now()` returns.
    pub now_ms: i64,
    /// Record the branch points a run goes through ([`TraceEvent`]), for `riposte test`
    /// coverage; off by default, as nothing else reads them.
    pub trace: bool,
    /// The evaluation work the classification and each response SOP may spend (see
    /// [`riposte_dsl::expr::with_run_budget`]).
    pub max_work: u64,
    /// The work the plan's protection checks may spend (see [`MAX_PLAN_PROTECTION_WORK`]).
    pub max_protection_work: u64,
}

/// What happens at an approval gate in a run.
#[derive(Clone, Debug, PartialEq)]
enum GateDecision {
    /// Granted, or timed out with `on_timeout: approve`: the step starts.
    Open,
    /// Not granted yet: the step and what needs it wait.
    Pending,
    /// Rejected, or timed out with `on_timeout: reject` (the step is `rejected`) or `fail` (it
    /// fails): the step does not start, for this reason.
    Refused(StepStatus, String),
}

impl RunConfig {
    /// The decision at the approval gate of the step `id`, shown in plans at `path`.
    fn gate(
        &self,
        step: &c::Step,
        label: &str,
        path: &str,
        gate: &c::ApprovalGate,
    ) -> GateDecision {
        let id = &step.id;
        use riposte_dsl::ast::TimeoutOutcome;
        let timed_out = || {
            format!(
                "the approval gate of step `{id}` timed out after {}",
                riposte_dsl::duration::format_duration(gate.timeout_ms)
            )
        };
        if self.refusals.rejects(label, path) {
            GateDecision::Refused(
                StepStatus::Rejected,
                format!("the approval gate of step `{id}` was rejected: the step does not run"),
            )
        } else if self.refusals.times_out(label, path) {
            match gate.on_timeout {
                TimeoutOutcome::Approve => GateDecision::Open,
                TimeoutOutcome::Reject => GateDecision::Refused(
                    StepStatus::Rejected,
                    format!(
                        "{} (on_timeout: reject): the step does not run",
                        timed_out()
                    ),
                ),
                TimeoutOutcome::Fail => {
                    // Under `continue` its items fail, and the step goes on.
                    let continues = step
                        .for_each
                        .as_ref()
                        .is_some_and(|f| f.on_error == riposte_dsl::ast::ErrorStrategy::Continue);
                    let fails = if continues {
                        "its items fail (on_error: continue: the step goes on)"
                    } else {
                        "the step fails"
                    };
                    GateDecision::Refused(
                        StepStatus::Failed,
                        format!("{} (on_timeout: fail): {fails}", timed_out()),
                    )
                }
            }
        } else if self.approvals.granted(label, path) {
            GateDecision::Open
        } else {
            GateDecision::Pending
        }
    }

    /// The largest `max_fanout` one may ask for: past it a plan's memory is no longer small.
    pub const FANOUT_CEILING: usize = 100_000;
    /// The largest `max_actions` one may ask for (a plan takes about 2 KB per action).
    pub const ACTIONS_CEILING: usize = 100_000;
}

impl Default for RunConfig {
    fn default() -> Self {
        RunConfig {
            approvals: Approvals::None,
            refusals: Refusals::default(),
            max_fanout: 1_000,
            max_actions: 10_000,
            now_ms: 0,
            trace: false,
            max_work: crate::plan::RUN_WORK,
            max_protection_work: MAX_PLAN_PROTECTION_WORK,
        }
    }
}

/// The incident as the scheduler sees it.
#[derive(Clone, Debug)]
pub struct IncidentContext {
    /// A record of `riposte_dsl::model::incident()`.
    pub value: Value,
    pub id: String,
    pub source: String,
    pub workspace: Option<String>,
    pub severity: Option<SeverityLevel>,
}

/// The state of a step after it ran (or did not).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StepStatus {
    Succeeded,
    Failed,
    Skipped,
    Blocked,
    AwaitingApproval,
    /// Its approval was refused: the step did not run, and what needs it does not either.
    Rejected,
    /// Not run because a dependency failed, was blocked or was itself cancelled. Reads as
    /// `skipped`, but unlike a step whose `if` was false it stops its dependents too.
    Cancelled,
}

impl StepStatus {
    fn as_str(self) -> &'static str {
        match self {
            StepStatus::Succeeded => "succeeded",
            StepStatus::Failed => "failed",
            StepStatus::Skipped | StepStatus::Cancelled => "skipped",
            StepStatus::Blocked => "blocked",
            StepStatus::AwaitingApproval => "awaiting_approval",
            StepStatus::Rejected => "rejected",
        }
    }

    /// [`StepStatus::as_str`] as a value, shared: every step publishes its status.
    fn value(self) -> Value {
        static NAMES: LazyLock<[Value; 6]> = LazyLock::new(|| {
            [
                "succeeded",
                "failed",
                "skipped",
                "blocked",
                "awaiting_approval",
                "rejected",
            ]
            .map(Value::from)
        });
        let i = match self {
            StepStatus::Succeeded => 0,
            StepStatus::Failed => 1,
            StepStatus::Skipped | StepStatus::Cancelled => 2,
            StepStatus::Blocked => 3,
            StepStatus::AwaitingApproval => 4,
            StepStatus::Rejected => 5,
        };
        NAMES
            .get(i)
            .cloned()
            .unwrap_or_else(|| Value::from(self.as_str()))
    }
}

/// The status of a step's item results, gathered one by one (a step runs once per item, and
/// most steps have one): failure beats waiting, which beats success (a failure is final
/// whatever the approvals: what needs the step is cancelled now, as it would be once they are
/// given). When no item ran, blocked beats rejected beats skipped.
#[derive(Clone, Debug, Default)]
struct Combined {
    items: usize,
    awaiting: bool,
    failed: bool,
    blocked: usize,
    not_run: usize,
    rejected: usize,
}

impl Combined {
    fn push(&mut self, s: StepStatus) {
        self.items += 1;
        match s {
            StepStatus::AwaitingApproval => self.awaiting = true,
            StepStatus::Failed => self.failed = true,
            StepStatus::Blocked => self.blocked += 1,
            StepStatus::Skipped | StepStatus::Cancelled => self.not_run += 1,
            StepStatus::Rejected => self.rejected += 1,
            StepStatus::Succeeded => {}
        }
    }

    fn status(&self) -> StepStatus {
        let nothing_ran =
            self.items > 0 && self.blocked + self.not_run + self.rejected == self.items;
        if self.failed {
            StepStatus::Failed
        } else if self.awaiting {
            StepStatus::AwaitingApproval
        } else if nothing_ran && self.blocked > 0 {
            StepStatus::Blocked
        } else if nothing_ran && self.rejected > 0 {
            StepStatus::Rejected
        } else if nothing_ran {
            StepStatus::Skipped
        } else {
            StepStatus::Succeeded
        }
    }
}

/// What happened at a branch point of a run; `riposte test` turns these into coverage.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum TraceEvent {
    /// The step ran: its condition held, nothing upstream awaits approval, its own gate (if
    /// any) is granted, and for an action step an action reached the executor (once per
    /// action; an item may repeat it).
    Ran { gamebook: String, step: String },
    /// The step's `if` was evaluated.
    Condition {
        gamebook: String,
        step: String,
        value: bool,
    },
    /// The step's approval gate was granted (or timed out with `on_timeout: approve`), or
    /// refused (rejected, or timed out with `reject` or `fail`); not while it waits.
    Gate {
        gamebook: String,
        step: String,
        granted: bool,
        /// The step waited on another approval first: what the gate decided is seen only
        /// once that one is granted.
        behind_another: bool,
    },
    /// The step failed and its `on_error` handler ran.
    ErrorEdge { gamebook: String, step: String },
}

/// Why actions wait instead of running: an ungranted gate on the way.
#[derive(Clone, Debug)]
struct Wait {
    /// The gate's approver and why, when the wait is that gate's own (not a dependency's).
    gate: Option<(Role, String)>,
    reason: String,
}

impl Wait {
    /// The approval an action behind this wait needs: the gate's, by a Workspace Owner when
    /// the action is high-impact, whatever role the gate names (on the action's step, an
    /// enclosing group or a calling step alike).
    fn approval(&self, spec: &ActionSpec) -> Option<Approval> {
        self.gate.as_ref().map(|(role, why)| {
            let (role, owner) = high_impact_role(spec, *role);
            Approval {
                role: role.as_str(),
                reason: format!("{why}{owner}"),
            }
        })
    }
}

/// The per-step results accumulated into `steps.<id>`.
#[derive(Clone, Debug, Default)]
struct StepAgg {
    status: Option<StepStatus>,
    outputs: Vec<Value>,
    succeeded: u32,
    failed: u32,
    blocked: u32,
    /// For a step inside a for-each group: the statuses of the items' branches so far, which
    /// `status` combines (see [`merge_branch`]).
    branches: Combined,
}

/// One gamebook invocation's variables and step results.
struct Frame<'g> {
    gb: &'g c::Gamebook,
    /// The action-key hash state after the parts every action of this run shares: for a
    /// called gamebook, the caller's, its call step and items, then the callee.
    key_prefix: Sha256,
    label: String,
    /// The call steps leading to this run, as a path prefix (`second.`; empty at the top), so
    /// that the actions of one gamebook called from two steps stay apart in plans and tests.
    call_prefix: String,
    /// Identities of the for-each items being run in this frame, outermost first.
    items: Vec<String>,
    vars: Vec<Value>,
    aggs: Vec<StepAgg>,
    /// The inputs were computed from results of a step still awaiting a gate (`with: {n:
    /// "{{ steps.isolate.succeeded }}"}`): what reads them is decided only once it is passed.
    inputs_waiting: bool,
}

impl Frame<'_> {
    /// A step path as plans show it and approvals and scripted failures name it: with the call
    /// steps in front.
    fn shown(&self, path: &str) -> String {
        join_path(&self.call_prefix, path).into_owned()
    }

    /// The action key of `path` in this frame.
    fn key(
        &self,
        path: &str,
        spec: &ActionSpec,
        target: Option<&Value>,
        params: &serde_json::Map<String, serde_json::Value>,
    ) -> String {
        finish_key(&self.key_prefix, path, &self.items, spec, target, params)
    }
}

/// The SOP's counts of actions against its limits: in all, and per action.
type Counts = (u32, BTreeMap<&'static str, u32>);

const STEPS_SLOT: usize = 2;
use riposte_dsl::compile::MAX_CALL_DEPTH;

/// Runs the gamebooks of one response SOP for one incident.
pub struct Scheduler<'a, E: Executor> {
    pub library: &'a Library,
    pub workspace: &'a Workspace,
    pub incident: &'a IncidentContext,
    pub executor: &'a E,
    pub config: &'a RunConfig,
    sop_name: String,
    sop: &'a c::ResponseSop,
    pub actions: Vec<PlannedAction>,
    /// The rows of `actions` that are not `skipped`: what the plan limit counts.
    counted: usize,
    /// The actions done, by what they do: the same action on the same target with the same
    /// params runs once, so another row of it is a repeat, whose output is the first's.
    planned: Planned,
    pub tasks: Vec<PlannedTask>,
    pub trace: Vec<TraceEvent>,
    total: u32,
    per_action: BTreeMap<&'static str, u32>,
    wait: Option<Wait>,
    /// Gates granted by a person, of the steps being run, each on an action's step, an
    /// enclosing group or a calling step: passing one is the approval the actions behind it
    /// need, whatever asks for it (the mode, an SOP rule). A gate timed out with
    /// `on_timeout: approve` is none: nobody approved.
    passed_gates: u32,
    depth: usize,
    /// Rows of actions not run that were past the plan's room (see `not_run`).
    pub unlisted: usize,
    /// Step items run so far (see [`MAX_STEP_RUNS`]).
    steps_run: usize,
    /// Whether the rows being written say what a limit left out (see `listing_full`).
    explaining: bool,
    /// How many refused gates the step being run is behind: what waits on them is rejected
    /// once planned, so it takes nothing of the plan's or the SOP's limits meanwhile.
    refusing: u32,
    /// How many error handlers waiting on a gated step (they run only if it fails) the step
    /// being run is in: they count against the SOP's limits from where that step left them,
    /// apart from the actions after its success (only one of the two runs), and what they
    /// await is none of the effects later actions repeat.
    waiting_handlers: u32,
    /// Set while the rows of a for-each whose items are not known yet are listed: each stands
    /// for the step's actions ([`PlannedAction::items_unknown`]).
    items_unknown: bool,
    /// How many for-each steps skipped before listing their items the rows being written are
    /// in ([`PlannedAction::items_not_listed`]).
    items_not_listed: u32,
    /// The approval gate of the step being run, or of a group or calling step around it, that
    /// sits behind something else already waiting ([`PlannedAction::own_approval`]).
    own_gate: Option<Wait>,
    /// What this SOP's actions awaiting approval that count against its limits would do: the
    /// same action again (a step after the gate repeating it) runs at most once with them, so
    /// it counts once.
    awaiting: std::collections::HashSet<Vec<u8>, foldhash::fast::RandomState>,
    /// How many action rows each gamebook holds, through its groups and calls, once counted.
    held: BTreeMap<&'a str, usize>,
    /// Whether each gamebook holds a high-impact action, through its groups and calls, once
    /// known.
    high_impact_held: BTreeMap<&'a str, bool>,
    /// Whether each gamebook holds an action the SOP has a Workspace Owner approve, through its
    /// groups and calls, once known.
    owner_ruled_held: BTreeMap<&'a str, bool>,
}

/// The most step items one SOP's run may start. Calls can nest a library's work
/// exponentially without an action to count (16 gamebooks of 8 calls each: 8^15 runs, tasks
/// at the bottom), so the plan limit on actions alone would not stop it.
pub const MAX_STEP_RUNS: usize = 100_000;

/// How many rows saying what a limit left out may be listed past the room of other rows not
/// run: enough for the first limits a plan meets to show.
pub(crate) const LIMIT_ROWS: usize = 100;

impl<'a, E: Executor> Scheduler<'a, E> {
    pub fn new(
        library: &'a Library,
        workspace: &'a Workspace,
        incident: &'a IncidentContext,
        executor: &'a E,
        config: &'a RunConfig,
        sop_name: &str,
        sop: &'a c::ResponseSop,
    ) -> Self {
        Scheduler {
            library,
            workspace,
            incident,
            executor,
            config,
            sop_name: sop_name.to_string(),
            sop,
            actions: Vec::new(),
            counted: 0,
            planned: Planned::default(),
            tasks: Vec::new(),
            trace: Vec::new(),
            total: 0,
            per_action: BTreeMap::new(),
            wait: None,
            passed_gates: 0,
            depth: 0,
            unlisted: 0,
            steps_run: 0,
            explaining: false,
            refusing: 0,
            waiting_handlers: 0,
            items_unknown: false,
            items_not_listed: 0,
            own_gate: None,
            awaiting: Default::default(),
            held: BTreeMap::new(),
            high_impact_held: BTreeMap::new(),
            owner_ruled_held: BTreeMap::new(),
        }
    }

    /// Whether the run stopped starting steps at [`MAX_STEP_RUNS`]: what came after is not
    /// planned (actions among it are `blocked` rows; tasks are not opened).
    pub fn step_limit_reached(&self) -> bool {
        self.steps_run >= MAX_STEP_RUNS
    }

    /// Goes on with the plan so far (earlier SOPs' actions and what they planned): the plan
    /// limit is the plan's, not each SOP's, and an action runs once in the whole plan.
    pub fn continue_plan(&mut self, actions: Vec<PlannedAction>, planned: Planned) {
        self.counted = actions.iter().filter(|a| a.status.counts()).count();
        self.planned = planned;
        self.actions = actions;
    }

    /// The plan so far, for the next SOP (see [`Scheduler::continue_plan`]).
    pub fn into_plan(self) -> (Vec<PlannedAction>, Planned) {
        (self.actions, self.planned)
    }

    /// Pushes `row` as `blocked` for `reason`: the outcome of a step item blocked.
    fn push_blocked(
        &mut self,
        mut row: PlannedAction,
        reason: String,
    ) -> (StepStatus, Option<Value>) {
        row.status = Status::Blocked;
        row.reason = reason;
        self.push_row(row);
        (StepStatus::Blocked, None)
    }

    /// Lists a row. One that does not count against the plan limit (skipped, rejected) is
    /// counted instead past the listing's room: a for-each of 1,000 items under a false `if`
    /// in each of a hundred calls must not list 100,000 rows.
    fn push_row(&mut self, row: PlannedAction) {
        // A row waiting on a refused gate is rejected once its step is planned: it does not
        // count, and is listed until then (see `unlist_past_room`).
        let refused = self.refusing > 0 && row.status == Status::AwaitingApproval;
        if row.status.counts() {
            self.counted += usize::from(!refused);
        } else if self.listing_full() {
            self.unlisted += 1;
            return;
        }
        self.actions.push(row);
    }

    /// Whether rows of `status` are actions of the plan listed while it has room: rows waiting
    /// on a gate, but for a refused one (they are rejected once planned, and count no more
    /// than rejected rows do).
    fn waiting_with_room(&self, status: Status) -> bool {
        status == Status::AwaitingApproval
            && self.refusing == 0
            && self.counted < self.config.max_actions
    }

    /// Counts instead of listing the rows from `first` on that do not count against the plan
    /// limit and lie past the listing's room (see [`Self::push_row`]): rows listed while
    /// they counted (awaiting a gate) that a refusal then rejected.
    fn unlist_past_room(&mut self, first: usize) {
        let room = self.config.max_actions.saturating_mul(2);
        let from = first.max(room);
        if self.actions.len() <= from {
            return;
        }
        let before = self.actions.len();
        let mut at = 0;
        self.actions.retain(|row| {
            let keep = at < from || row.status.counts();
            at += 1;
            keep
        });
        self.unlisted = self.unlisted.saturating_add(before - self.actions.len());
    }

    /// Whether the rows of actions not run are past twice the plan limit, where they are
    /// counted, not listed (see `not_run`); rows saying what a limit left out have
    /// [`LIMIT_ROWS`] more.
    fn listing_full(&self) -> bool {
        let extra = if self.explaining { LIMIT_ROWS } else { 0 };
        self.actions.len()
            >= self
                .config
                .max_actions
                .saturating_mul(2)
                .saturating_add(extra)
    }

    /// Counts the rows of actions not run that a call to `callee` holds, instead of walking it
    /// for them, when the walk would list none: the listing is full, or the callee holds no
    /// action. Whether it did.
    fn rows_counted(&mut self, callee: &'a c::Gamebook) -> bool {
        let n = self.actions_held(callee, self.depth + 1);
        if self.listing_full() || n == 0 {
            self.unlisted = self.unlisted.saturating_add(n);
            return true;
        }
        false
    }

    /// The action rows `gb` holds, through its groups and calls: what walking it for rows
    /// would count, without the walk, which calls can make exponential.
    fn actions_held(&mut self, gb: &'a c::Gamebook, depth: usize) -> usize {
        if let Some(&n) = self.held.get(gb.name.as_str()) {
            return n;
        }
        let n = self.steps_held(&gb.steps, depth);
        self.held.insert(gb.name.as_str(), n);
        n
    }

    fn steps_held(&mut self, steps: &'a [c::Step], depth: usize) -> usize {
        let mut n: usize = 0;
        for step in steps {
            let more = match &step.kind {
                c::StepKind::Action { .. } => 1,
                c::StepKind::Group(inner) => self.steps_held(inner, depth),
                c::StepKind::Call { gamebook, .. } if depth < MAX_CALL_DEPTH => {
                    match self.library.gamebook(gamebook) {
                        Some(callee) => self.actions_held(callee, depth + 1),
                        None => 0,
                    }
                }
                c::StepKind::Call { .. } | c::StepKind::Task(_) => 0,
            };
            n = n.saturating_add(more);
        }
        n
    }

    /// Whether `step` holds a high-impact action, itself or through its groups and calls.
    fn holds_high_impact(&mut self, step: &c::Step, depth: usize) -> bool {
        let high = |spec: &ActionSpec| spec.impact == Impact::High;
        holds(self.library, step, depth, &mut self.high_impact_held, &high)
    }

    /// Whether `step` holds an action this SOP has a Workspace Owner approve whatever the
    /// target (an approval rule without `approve_if`): a gate in front of it is then one, as
    /// for a high-impact action, since one approval passes it.
    fn holds_owner_ruled(&mut self, step: &c::Step, depth: usize) -> bool {
        let rules = &self.sop.approvals;
        // A Workspace Owner's rule that holds decides, wherever it is (see `rule_approval`).
        let ruled = |spec: &ActionSpec| {
            rules.iter().any(|r| {
                r.covers(spec.id) && r.approve_if.is_none() && r.role == Role::WorkspaceOwner
            })
        };
        holds(
            self.library,
            step,
            depth,
            &mut self.owner_ruled_held,
            &ruled,
        )
    }

    /// What waits on the approval gate of `step`, if it has one: its role, raised to a
    /// Workspace Owner's when it holds a high-impact action or one the SOP has a Workspace
    /// Owner approve (one approval passes the gate), and why.
    fn gate_wait(&mut self, step: &c::Step) -> Option<Wait> {
        let g = step.approval.as_ref()?;
        let (role, raised) = if g.role == Role::WorkspaceOwner {
            (g.role, "")
        } else if self.holds_high_impact(step, self.depth) {
            (
                Role::WorkspaceOwner,
                "; it holds a high-impact action, which only a Workspace Owner approves",
            )
        } else if self.holds_owner_ruled(step, self.depth) {
            (
                Role::WorkspaceOwner,
                "; it holds an action the SOP has a Workspace Owner approve",
            )
        } else {
            (g.role, "")
        };
        Some(Wait {
            gate: Some((
                role,
                format!(
                    "approval gate of step `{}` (quorum {}, timeout {}, then {}){raised}",
                    step.id,
                    g.quorum,
                    riposte_dsl::duration::format_duration(g.timeout_ms),
                    g.on_timeout
                ),
            )),
            reason: format!("awaits the approval gate of step `{}`", step.id),
        })
    }

    fn env<'v>(&self, vars: &'v [Value]) -> Env<'v> {
        Env {
            vars,
            now_ms: self.config.now_ms,
        }
    }

    /// Runs the SOP: its tasks, then each gamebook whose condition holds, in order.
    pub fn run_sop(&mut self) {
        let incident_vars = [self.incident.value.clone()];
        for t in &self.sop.tasks {
            let title = self.task_title(&t.title, &incident_vars);
            self.tasks.push(PlannedTask {
                sop: self.sop_name.clone(),
                gamebook: String::new(),
                step: String::new(),
                title,
                role: t.role.as_str(),
                checklist: t.checklist.clone(),
                status: TaskStatus::Open,
                reason: String::new(),
            });
        }
        for u in &self.sop.gamebooks {
            let Some(gb) = self.library.gamebook(&u.gamebook) else {
                continue;
            };
            let env = self.env(&incident_vars);
            let run = u.condition.as_ref().is_none_or(|c| c.eval_bool(&env));
            let inputs = self.inputs(gb, &u.with, &incident_vars);
            if let Some(reason) = run.then(|| invalid_input(gb, &u.with, &inputs)).flatten() {
                // Run on an input out of its contract, the gamebook could act on what its
                // author ruled out: none of it runs, and its rows say why.
                let frame = self.frame(gb, gb.name.clone(), None, Value::Null);
                for s in &gb.steps {
                    self.not_planned(s, &frame, &s.id, Status::Blocked, &reason);
                }
            } else if run {
                self.run_gamebook(gb, inputs, gb.name.clone(), None, false);
            } else {
                let was = self.wait.take();
                let reason = if riposte_dsl::expr::run_out_of_work() {
                    "the SOP's `if` for this gamebook did not hold: the SOP's expressions ran out \
                     of work (evaluation limit), so it may not have been decided"
                } else {
                    "the SOP's `if` for this gamebook is false"
                };
                self.skip_gamebook(gb, &gb.name, None, reason);
                self.wait = was;
            }
        }
    }

    /// The inputs record of `gb`: defaults, overridden by the evaluated `with:` values that
    /// are not null.
    fn inputs(&self, gb: &c::Gamebook, with: &[(String, ParamValue)], vars: &[Value]) -> Value {
        let env = self.env(vars);
        let pairs: Vec<(&str, Value)> = gb
            .inputs
            .iter()
            .map(|i| {
                // A value computed to null is no value, as for an action param: the
                // input's default applies.
                let given = with
                    .iter()
                    .find(|(n, _)| *n == i.name)
                    .map(|(_, v)| eval_param(v, &env))
                    .filter(|v| !v.is_null());
                (
                    i.name.as_str(),
                    given.or_else(|| i.default.clone()).unwrap_or(Value::Null),
                )
            })
            .collect();
        Value::record(gb.inputs_type.clone(), pairs)
    }

    /// A frame for a run of `gb`: at the top, or called by the step at `path` of `caller`.
    fn frame<'g>(
        &self,
        gb: &'g c::Gamebook,
        label: String,
        caller: Option<(&Frame, &str)>,
        inputs: Value,
    ) -> Frame<'g> {
        let (key_prefix, call_prefix) = match caller {
            None => (
                key_prefix(
                    &canonical_name(&self.workspace.name),
                    &self.incident.source,
                    &self.incident.id,
                    gb,
                ),
                String::new(),
            ),
            Some((caller, path)) => (
                called_key_prefix(&caller.key_prefix, path, &caller.items, gb),
                format!("{}.", caller.shown(path)),
            ),
        };
        Frame {
            gb,
            key_prefix,
            label,
            call_prefix,
            items: Vec::new(),
            vars: vec![self.incident.value.clone(), inputs, Value::Null],
            aggs: vec![StepAgg::default(); gb.steps_type.fields.len()],
            inputs_waiting: false,
        }
    }

    /// Runs a gamebook, at the top or called by a step; returns its status and its outputs
    /// record.
    fn run_gamebook(
        &mut self,
        gb: &c::Gamebook,
        inputs: Value,
        label: String,
        caller: Option<(&Frame, &str)>,
        inputs_waiting: bool,
    ) -> (StepStatus, Value) {
        if self.depth >= MAX_CALL_DEPTH {
            return (StepStatus::Failed, Value::Null);
        }
        self.depth += 1;
        let mut frame = self.frame(gb, label, caller, inputs);
        frame.inputs_waiting = inputs_waiting;
        publish_steps(&mut frame);
        let status = self.run_list(&gb.steps, &gb.graph, &mut frame, "");
        let env = self.env(&frame.vars);
        let outputs = Value::record(
            gb.outputs_type.clone(),
            gb.outputs
                .iter()
                .map(|(n, e)| (n.as_str(), e.eval(&env)))
                .collect::<Vec<_>>(),
        );
        self.depth -= 1;
        (status, outputs)
    }

    /// Records every action of a gamebook that does not run, as skipped with `reason`.
    fn skip_gamebook(
        &mut self,
        gb: &c::Gamebook,
        label: &str,
        caller: Option<(&Frame, &str)>,
        reason: &str,
    ) {
        let mut frame = self.frame(gb, label.to_string(), caller, Value::Null);
        for s in &gb.steps {
            self.skip_step(s, &mut frame, "", reason);
        }
    }

    /// Runs sibling steps in dependency order.
    fn run_list(
        &mut self,
        steps: &[c::Step],
        graph: &ExecGraph,
        frame: &mut Frame,
        prefix: &str,
    ) -> StepStatus {
        // A gamebook has a handful of steps: a scan beats hashing their ids.
        let mut done: Vec<(&str, StepStatus)> = Vec::with_capacity(steps.len());
        let status_of = |done: &[(&str, StepStatus)], id: &str| {
            done.iter().find(|(d, _)| *d == id).map(|(_, s)| *s)
        };
        // For each step awaiting approval, the step whose approval it waits for: itself, or
        // the gate upstream it waits behind, so a chain of waiting steps names the gate.
        let mut gates: Vec<(&str, String)> = Vec::new();
        let gate_of = |gates: &[(&str, String)], id: &str| {
            gates
                .iter()
                .find(|(d, _)| *d == id)
                .map_or_else(|| id.to_string(), |(_, g)| g.clone())
        };
        let waits_for = |gate: &str| format!("waits for step `{gate}`, which awaits approval");
        // The SOP's counts once each step awaiting approval with an error handler was planned:
        // where its handler, which runs only if it fails, counts from (the actions after its
        // success do not run then).
        let mut counts_after: Vec<(&str, Counts)> = Vec::new();
        for &ix in graph.topo_order() {
            let id = graph.graph[ix].id.as_str();
            let Some(step) = steps.iter().find(|s| s.id == id) else {
                continue;
            };
            let path = join_path(prefix, id);
            let path = path.as_ref();
            let status = 'decided: {
                let is_handler = graph.graph[ix].handler;
                // The strongest reason among the dependencies (a handler's too): failure, then
                // blocked, then cancelled upstream, then waiting for an approval.
                let mut blocker: Option<(u8, StepStatus, String)> = None;
                let mut gate = None;
                // A step the handler handles failed: that is why it runs, not a reason not to.
                let handled = |n: &str| {
                    steps
                        .iter()
                        .any(|s| s.id == n && s.on_error.as_deref() == Some(id))
                };
                for n in step.needs.iter().filter(|n| !(is_handler && handled(n))) {
                    let found = match status_of(&done, n) {
                        Some(StepStatus::Failed) => {
                            Some((3, StepStatus::Cancelled, format!("dependency `{n}` failed")))
                        }
                        Some(StepStatus::Blocked) => Some((
                            2,
                            StepStatus::Cancelled,
                            format!("dependency `{n}` is blocked"),
                        )),
                        Some(StepStatus::Rejected) => Some((
                            2,
                            StepStatus::Cancelled,
                            format!("dependency `{n}` was rejected"),
                        )),
                        Some(StepStatus::Cancelled) => Some((
                            1,
                            StepStatus::Cancelled,
                            format!("dependency `{n}` did not run"),
                        )),
                        // A step that waited is decided only once the gate is passed, even
                        // when it will then be skipped: what needs it waits too.
                        Some(StepStatus::AwaitingApproval | StepStatus::Skipped)
                            if gates.iter().any(|(d, _)| *d == n)
                                || status_of(&done, n) == Some(StepStatus::AwaitingApproval) =>
                        {
                            let g = gate_of(&gates, n);
                            let reason = waits_for(&g);
                            gate.get_or_insert(g);
                            Some((0, StepStatus::AwaitingApproval, reason))
                        }
                        _ => None,
                    };
                    if let Some(f) = found {
                        if blocker.as_ref().is_none_or(|b| f.0 > b.0) {
                            blocker = Some(f);
                        }
                    }
                }
                let blocker = blocker.map(|(_, status, reason)| (status, reason));
                let mut failed: Vec<&str> = Vec::new();
                if is_handler {
                    failed = steps
                        .iter()
                        .filter(|s| {
                            s.on_error.as_deref() == Some(id)
                                && status_of(&done, &s.id) == Some(StepStatus::Failed)
                        })
                        .map(|s| s.id.as_str())
                        .collect();
                    // A step that still awaits approval may yet fail: its handler waits with it.
                    let waiting_on = || {
                        steps.iter().find(|s| {
                            s.on_error.as_deref() == Some(id)
                                && status_of(&done, &s.id) == Some(StepStatus::AwaitingApproval)
                        })
                    };
                    if let Some(w) = failed.is_empty().then(waiting_on).flatten() {
                        // A dependency that will never let it run cancels it now.
                        if let Some((_, reason)) = blocker
                            .as_ref()
                            .filter(|(status, _)| *status != StepStatus::AwaitingApproval)
                        {
                            self.skip_step(step, frame, prefix, reason);
                            break 'decided StepStatus::Cancelled;
                        }
                        let gate = gate_of(&gates, &w.id);
                        let handler = format!("error handler: runs only if `{}` fails", w.id);
                        let was = self.wait.clone();
                        self.wait = Some(match was.clone() {
                            // Inside a gated group or call, that gate is what everything awaits.
                            Some(outer) => Wait {
                                reason: format!("{}; {handler}", outer.reason),
                                ..outer
                            },
                            None => Wait {
                                gate: None,
                                reason: format!("{}; {handler}", waits_for(&gate)),
                            },
                        });
                        // Counted from where the step it handles left the counts, and not
                        // against what follows: only one of the two runs.
                        let base = counts_after
                            .iter()
                            .find(|(d, _)| *d == w.id.as_str())
                            .map(|(_, c)| c.clone());
                        let after = base.map(|base| {
                            let (total, per_action) = base;
                            let total = std::mem::replace(&mut self.total, total);
                            (total, std::mem::replace(&mut self.per_action, per_action))
                        });
                        self.waiting_handlers += 1;
                        let s = self.run_step(step, graph, ix, frame, path);
                        self.waiting_handlers -= 1;
                        if let Some((total, per_action)) = after {
                            self.total = total;
                            self.per_action = per_action;
                        }
                        self.wait = was;
                        gates.push((id, gate));
                        break 'decided still_waiting(s);
                    }
                    if failed.is_empty() {
                        let referrers: Vec<String> = steps
                            .iter()
                            .filter(|s| s.on_error.as_deref() == Some(id))
                            .map(|s| format!("`{}`", s.id))
                            .collect();
                        self.skip_step(
                            step,
                            frame,
                            prefix,
                            &format!(
                                "error handler: runs only when {} fails",
                                referrers.join(" or ")
                            ),
                        );
                        break 'decided StepStatus::Skipped;
                    }
                }
                match blocker {
                    Some((StepStatus::AwaitingApproval, reason)) => {
                        // Inside a gated group or call, that gate is what everything awaits.
                        let was = match &self.wait {
                            Some(_) => self.wait.clone(),
                            None => self.wait.replace(Wait { gate: None, reason }),
                        };
                        let s = self.run_step(step, graph, ix, frame, path);
                        self.wait = was;
                        if let Some(g) = gate {
                            gates.push((id, g));
                        }
                        still_waiting(s)
                    }
                    Some((_, reason)) => {
                        self.skip_step(step, frame, prefix, &reason);
                        StepStatus::Cancelled
                    }
                    None => {
                        let s = self.run_step(step, graph, ix, frame, path);
                        if is_handler {
                            // The edge is taken once the handler starts: not while it awaits approval,
                            // nor when its approval is refused, its `if` is false or it is cancelled
                            // or blocked.
                            let refused = step.approval.as_ref().is_some_and(|g| {
                                matches!(
                                    self.config.gate(step, &frame.label, &frame.shown(path), g),
                                    GateDecision::Refused(..)
                                )
                            });
                            if matches!(s, StepStatus::Succeeded | StepStatus::Failed) && !refused {
                                for f in &failed {
                                    self.record_trace(|| TraceEvent::ErrorEdge {
                                        gamebook: frame.gb.name.clone(),
                                        step: format!("{prefix}{f}"),
                                    });
                                }
                            }
                        }
                        s
                    }
                }
            };
            if status == StepStatus::AwaitingApproval && step.on_error.is_some() {
                counts_after.push((id, (self.total, self.per_action.clone())));
            }
            done.push((id, status));
        }
        // A failure is handled only by a handler that takes it: one that runs (or awaits
        // approval to), not one skipped by its `if`, cancelled, blocked or rejected. An
        // unhandled failure is final, whatever still awaits approval. Steps that did not run
        // (blocked, skipped, rejected) fail nothing: the list succeeds, and what follows reads
        // the inner steps to tell.
        let unhandled = |&&(id, status): &&(&str, StepStatus)| {
            status == StepStatus::Failed
                && !steps
                    .iter()
                    .find(|s| s.id == id)
                    .and_then(|s| s.on_error.as_deref())
                    .is_some_and(|h| {
                        matches!(
                            status_of(&done, h),
                            Some(
                                StepStatus::Succeeded
                                    | StepStatus::Failed
                                    | StepStatus::AwaitingApproval
                            )
                        )
                    })
        };
        if done.iter().any(|d| unhandled(&d)) {
            StepStatus::Failed
        } else if done.iter().any(|(_, s)| *s == StepStatus::AwaitingApproval) {
            StepStatus::AwaitingApproval
        } else {
            StepStatus::Succeeded
        }
    }

    /// Records a step (and everything inside it) as not running.
    fn skip_step(&mut self, step: &c::Step, frame: &mut Frame, prefix: &str, reason: &str) {
        self.skip_rows(step, frame, prefix, reason, true);
        record(frame, &step.id, StepStatus::Skipped, None);
        if let Some((i, _)) = frame.gb.steps_type.field(&step.id) {
            publish_step(frame, i);
        }
    }

    /// The rows of a step that does not run (and of everything inside it), without its own
    /// result; the steps inside a group record theirs when `inner_results` says so. An item a
    /// `fail_fast` stop left unstarted has no result, in the step or the steps inside it.
    fn skip_rows(
        &mut self,
        step: &c::Step,
        frame: &mut Frame,
        prefix: &str,
        reason: &str,
        inner_results: bool,
    ) {
        let path = join_path(prefix, &step.id);
        let path = path.as_ref();
        let fans_out = u32::from(step.for_each.is_some());
        self.items_not_listed += fans_out;
        self.skip_kind(step, frame, path, reason, inner_results);
        self.items_not_listed -= fans_out;
    }

    /// [`Scheduler::skip_rows`] of the step at `path`, by its kind.
    fn skip_kind(
        &mut self,
        step: &c::Step,
        frame: &mut Frame,
        path: &str,
        reason: &str,
        inner_results: bool,
    ) {
        match &step.kind {
            c::StepKind::Action { spec, target, .. } => {
                // The target of a step that fans out is one of the items, unknown here.
                let target = target.as_ref().filter(|_| step.for_each.is_none());
                self.skip_action(frame, path, spec, target, reason);
            }
            c::StepKind::Group(inner) => {
                let prefix = format!("{path}.");
                for s in inner {
                    if inner_results {
                        self.skip_step(s, frame, &prefix, reason);
                    } else {
                        self.skip_rows(s, frame, &prefix, reason, false);
                    }
                }
            }
            c::StepKind::Call { gamebook, .. } => {
                if self.depth < MAX_CALL_DEPTH {
                    if let Some(callee) = self.library.gamebook(gamebook) {
                        if !self.rows_counted(callee) {
                            self.depth += 1;
                            let label = format!("{} > {}", frame.label, callee.name);
                            self.skip_gamebook(callee, &label, Some((frame, path)), reason);
                            self.depth -= 1;
                        }
                    }
                }
            }
            c::StepKind::Task(_) => {}
        }
    }

    fn run_step(
        &mut self,
        step: &c::Step,
        graph: &ExecGraph,
        ix: petgraph::graph::NodeIndex,
        frame: &mut Frame,
        path: &str,
    ) -> StepStatus {
        // A refused gate of the step counts while it runs (see `refusing`), and a gate of its
        // own behind another is its actions' (see `own_gate`).
        let (refusing, own_gate) = (self.refusing, self.own_gate.clone());
        let status = self.run_step_decided(step, graph, ix, frame, path);
        self.refusing = refusing;
        self.own_gate = own_gate;
        status
    }

    fn run_step_decided(
        &mut self,
        step: &c::Step,
        graph: &ExecGraph,
        ix: petgraph::graph::NodeIndex,
        frame: &mut Frame,
        path: &str,
    ) -> StepStatus {
        // Behind an ungranted gate, a condition that reads a step still awaiting it is decided
        // only once the gate is passed: the step waits with the rest, rather than being
        // judged on results that do not exist yet.
        let undecided = self.wait.is_some()
            && step
                .condition
                .as_ref()
                .is_some_and(|c| reads_waiting(c, frame));
        if let Some(cond) = step.condition.as_ref().filter(|_| !undecided) {
            let value = cond.eval_bool(&self.env(&frame.vars));
            self.record_trace(|| TraceEvent::Condition {
                gamebook: frame.gb.name.clone(),
                step: path.to_string(),
                value,
            });
            if !value {
                let prefix = &path[..path.len() - step.id.len()];
                let reason = if riposte_dsl::expr::run_out_of_work() {
                    "condition `if` did not hold: the SOP's expressions ran out of work \
                     (evaluation limit), so it may not have been decided"
                } else {
                    "condition `if` is false"
                };
                self.skip_step(step, frame, prefix, reason);
                return StepStatus::Skipped;
            }
        }
        let decision = match &step.approval {
            None => GateDecision::Open,
            Some(g) => self.config.gate(step, &frame.label, &frame.shown(path), g),
        };
        let gate_open = decision == GateDecision::Open;
        // A refusal is reached only with nothing upstream awaiting approval: behind a pending
        // gate the step waits with the rest.
        let refused = match &decision {
            GateDecision::Refused(status, reason) if self.wait.is_none() => {
                Some((*status, reason.clone()))
            }
            _ => None,
        };
        self.refusing += u32::from(refused.is_some());
        // A step behind an ungranted gate (its own or one upstream) has not started: only its
        // plan is known. An action step runs when an action reaches the executor (`action`).
        if self.wait.is_none() && gate_open && !matches!(step.kind, c::StepKind::Action { .. }) {
            self.record_trace(|| TraceEvent::Ran {
                gamebook: frame.gb.name.clone(),
                step: path.to_string(),
            });
        }
        // A gate left waiting is neither granted nor refused; one that is, is covered so once
        // it is known to have held something back (`trace_gate`).
        let decided_gate = step.approval.is_some() && decision != GateDecision::Pending;
        let behind_another = self.wait.is_some();
        // An approval gate in front of the step: the whole step waits unless granted. A refused
        // gate is planned as a waiting one (what would be blocked or skipped even once approved
        // is reported so), then what waited on it is rejected.
        // One approval passes the whole gate: when anything behind it is high-impact, it is a
        // Workspace Owner's, for every action behind it alike.
        let gate_wait = if gate_open {
            None
        } else {
            self.gate_wait(step)
        };
        // A gate behind something already waiting is what the actions behind it need once
        // that is done: kept apart, the first of them (until the step ends, `run_step`).
        let was = match gate_wait {
            Some(w) if self.wait.is_none() => self.wait.replace(w),
            Some(w) => {
                if self.own_gate.is_none() {
                    self.own_gate = Some(w);
                }
                self.wait.clone()
            }
            None => self.wait.clone(),
        };
        // Before a refusal: where the step's rows and tasks start.
        let (first_row, first_task) = (self.actions.len(), self.tasks.len());
        // Items that come from a step still awaiting the gate are not known yet: one row per
        // action says so (a refused gate rejects those rows).
        if let (Some(f), Some(w)) = (&step.for_each, &self.wait) {
            if reads_waiting(&f.items, frame)
                || f.filter.as_ref().is_some_and(|e| reads_waiting(e, frame))
            {
                // Past the plan limit, these rows say so, as they would once the items are
                // known: the plan has no room for what the step will do.
                if self.refusing == 0 && self.counted >= self.config.max_actions {
                    let reason = format!(
                        "plan limit: the plan reached {}; the step is not planned (raise \
                         --max-plan-actions)",
                        plural(self.config.max_actions, "action")
                    );
                    self.explaining = true;
                    self.not_planned(step, frame, path, Status::Blocked, &reason);
                    self.explaining = false;
                } else {
                    let reason = format!("{}; its for-each items are known once it runs", w.reason);
                    self.items_unknown = true;
                    self.not_planned(step, frame, path, Status::AwaitingApproval, &reason);
                    self.items_unknown = false;
                }
                if decided_gate {
                    let held = self.actions.len() > first_row;
                    self.trace_gate(frame, path, gate_open, held, behind_another);
                }
                self.wait = was;
                let status = match &refused {
                    Some((refusal, why)) => {
                        self.reject_since(first_row, first_task, why);
                        self.unlist_past_room(first_row);
                        *refusal
                    }
                    None => StepStatus::AwaitingApproval,
                };
                settle(frame, &step.id, status);
                return status;
            }
        }
        // Only a person's grant: a gate timing out with `on_timeout: approve` lets the step
        // start, but nobody approved what an SOP rule or the mode asks approval for.
        let passed_gate = step.approval.is_some()
            && gate_open
            && self.wait.is_none()
            && !self
                .config
                .refusals
                .times_out(&frame.label, &frame.shown(path));
        self.passed_gates += u32::from(passed_gate);
        // The items: one run without for-each, one per (filtered) item with it.
        static ONE_RUN: [Option<Value>; 1] = [None];
        let items: Cow<[Option<Value>]> = match &step.for_each {
            None => Cow::Borrowed(&ONE_RUN),
            Some(f) => Cow::Owned({
                let list = f.items.eval(&self.env(&frame.vars));
                let all: &[Value] = match &list {
                    Value::List(l) => l,
                    Value::Null => &[],
                    other => std::slice::from_ref(other),
                };
                match &f.filter {
                    None => all.iter().cloned().map(Some).collect(),
                    Some(filter) => {
                        // The item variable's slot is the next one (`f.slot`, as `run_item` pushes
                        // it), on top of the frame's, while the filter runs.
                        frame.vars.push(Value::Null);
                        let mut kept = Vec::new();
                        for item in all {
                            if let Some(slot) = frame.vars.get_mut(f.slot) {
                                *slot = item.clone();
                            }
                            if filter.eval_bool(&self.env(&frame.vars)) {
                                kept.push(Some(item.clone()));
                            }
                        }
                        frame.vars.pop();
                        kept
                    }
                }
            }),
        };
        let over = items.len().saturating_sub(self.config.max_fanout);
        let mut statuses = Combined::default();
        let strategy = step.for_each.as_ref().map(|f| f.on_error);
        // Items start `concurrency` at a time; a plan takes them to finish together, wave by
        // wave. Under `fail_fast` a failure starts no new items, so the rest of its wave (in
        // flight already) still runs, and later waves do not.
        let wave = step
            .for_each
            .as_ref()
            .map_or(1, |f| usize::try_from(f.concurrency).unwrap_or(1).max(1));
        let mut stop_at = usize::MAX;
        let mut unplanned = 0;
        // The steps inside a for-each group: each item's branch reads its own results of them
        // (`steps.<inner>`); what earlier items did is set aside and merged back after it.
        let mut inner = Vec::new();
        if let (c::StepKind::Group(steps), Some(_)) = (&step.kind, &step.for_each) {
            inner_fields(frame.gb, steps, &mut inner);
        }
        let mut earlier: Vec<StepAgg> = Vec::with_capacity(inner.len());
        let mut held_items: u32 = 0;
        // Equal items are told apart by their place among them: each is an action of its own
        // (a repeat that failed is tried again), so each has its own key. Identities are kept
        // by a 64-bit digest, not copied (an item's JSON can be long).
        let mut seen: HashMap<u64, usize> = HashMap::new();
        for (n, item) in items.iter().enumerate() {
            if n >= self.config.max_fanout {
                break;
            }
            let item = item.as_ref().map(|v| {
                let mut identity = item_identity(v);
                if items.len() > 1 {
                    let digest = {
                        use std::hash::{Hash, Hasher};
                        let mut h = std::hash::DefaultHasher::new();
                        identity.hash(&mut h);
                        h.finish()
                    };
                    let earlier = seen.entry(digest).or_insert(0);
                    if *earlier > 0 {
                        identity.push_str(&format!("#{earlier}"));
                    }
                    *earlier += 1;
                }
                (v, identity)
            });
            // Skipped rows do not count as actions: a for-each goes on past twice the limit,
            // where they are counted instead of listed, until the actions reach it.
            if self.counted >= self.config.max_actions || self.steps_run >= MAX_STEP_RUNS {
                unplanned = items.len().min(self.config.max_fanout) - n;
                break;
            }
            self.steps_run += 1;
            earlier.clear();
            earlier.extend(inner.iter().map(|&i| take_agg(frame, i)));
            if n >= stop_at {
                self.skip_item(
                    step,
                    frame,
                    path,
                    item,
                    "for-each stopped after a failed item (on_error: fail_fast)",
                );
                merge_branches(frame, &inner, &mut earlier);
                statuses.push(StepStatus::Skipped);
                continue;
            }
            let (rows, tasks) = (self.actions.len(), self.tasks.len());
            let mut s = self.run_item(step, graph, ix, frame, path, item);
            // An item with something waiting on the refused gate has the refusal's outcome.
            // Its rows are rejected now, not after the last item, and past the listing's room
            // counted instead: an item of many actions holds them all until then.
            if let Some((refusal, why)) = &refused {
                if self.waits_since(rows, tasks) {
                    held_items += 1;
                    s = *refusal;
                    self.reject_since(rows, tasks, why);
                    self.unlist_past_room(rows);
                }
            }
            merge_branches(frame, &inner, &mut earlier);
            // A refused gate stands before every item: none of them stops the others.
            if s == StepStatus::Failed
                && refused.is_none()
                && strategy == Some(riposte_dsl::ast::ErrorStrategy::FailFast)
            {
                stop_at = stop_at.min((n / wave + 1).saturating_mul(wave));
            }
            statuses.push(s);
        }
        // One row per action for everything not planned, with every limit that stopped it.
        let mut reasons = Vec::new();
        if unplanned > 0 {
            let what = match &step.for_each {
                Some(_) => format!("{} not planned", plural(unplanned, "item")),
                None => "the step is not planned".to_string(),
            };
            reasons.push(if self.steps_run >= MAX_STEP_RUNS {
                format!(
                    "plan limit: {MAX_STEP_RUNS} steps run, as calls and for-each multiply; \
                     {what}"
                )
            } else {
                format!(
                    "plan limit: the plan reached {}; {what} (raise --max-plan-actions)",
                    plural(self.config.max_actions, "action")
                )
            });
        }
        if over > 0 {
            reasons.push(format!(
                "fan-out limit: {}, limit {}; {} not planned (raise --max-fanout)",
                plural(items.len(), "item"),
                self.config.max_fanout,
                plural(over, "item")
            ));
        }
        if !reasons.is_empty() {
            // Rows saying what a limit left out are listed past the others' room: a plan
            // must not end silently short.
            self.explaining = true;
            self.not_planned(step, frame, path, Status::Blocked, &reasons.join("; "));
            self.explaining = false;
        }
        if over + unplanned > 0 {
            statuses.push(StepStatus::Blocked);
            if let Some((i, _)) = frame.gb.steps_type.field(&step.id) {
                if let Some(agg) = frame.aggs.get_mut(i) {
                    let n = u32::try_from(over + unplanned).unwrap_or(u32::MAX);
                    agg.blocked = agg.blocked.saturating_add(n);
                }
            }
        }
        // The steps of a for-each group with no items read as a for-each step with no items
        // does: succeeded with nothing counted (`steps.x.succeeded == 0`), and so does an
        // enclosing group's item whose inner fan-out is empty, like a for-each step there.
        if items.is_empty() {
            for &i in &inner {
                let unset = frame.aggs.get_mut(i).is_some_and(|agg| {
                    let unset = agg.status.is_none();
                    if unset {
                        agg.status = Some(StepStatus::Succeeded);
                    }
                    unset
                });
                if unset {
                    publish_step(frame, i);
                }
            }
        }
        self.wait = was;
        self.passed_gates -= u32::from(passed_gate);
        let mut status = if step.for_each.is_some() && items.is_empty() {
            StepStatus::Succeeded
        } else {
            // A failed item fails the step, whatever other items still await.
            statuses.status()
        };
        // Under `continue` failed items fail nothing: the step is what the others make it.
        if status == StepStatus::Failed
            && strategy == Some(riposte_dsl::ast::ErrorStrategy::Continue)
        {
            status = if statuses.awaiting {
                StepStatus::AwaitingApproval
            } else {
                StepStatus::Succeeded
            };
        }
        if let Some((refusal, reason)) = &refused {
            if held_items > 0 {
                self.reject_since(first_row, first_task, reason);
                self.unlist_past_room(first_row);
                // A rejection stands for the step whatever its items did; a failure counts as
                // the items' failures do under the for-each's strategy.
                if *refusal == StepStatus::Rejected {
                    status = StepStatus::Rejected;
                }
                if let Some((i, _)) = frame.gb.steps_type.field(&step.id) {
                    if let Some(agg) = frame.aggs.get_mut(i) {
                        if *refusal == StepStatus::Failed {
                            agg.failed = agg.failed.saturating_add(held_items);
                        }
                        // It did not run, so it has no output (a called gamebook's outputs
                        // were worked out while it waited).
                        agg.outputs.iter_mut().for_each(|o| *o = Value::Null);
                    }
                }
                // The steps inside waited on the gate with the rest: they were rejected too,
                // and did not run, so they have no output.
                let mut held = Vec::new();
                if let c::StepKind::Group(steps) = &step.kind {
                    inner_fields(frame.gb, steps, &mut held);
                }
                for &i in &held {
                    if let Some(agg) = frame.aggs.get_mut(i) {
                        if agg.status == Some(StepStatus::AwaitingApproval) {
                            agg.status = Some(StepStatus::Rejected);
                            agg.outputs.iter_mut().for_each(|o| *o = Value::Null);
                        }
                    }
                    publish_step(frame, i);
                }
            }
        }
        // Published once, after the last item: inside the branches only their own results
        // were read.
        for &i in &inner {
            publish_step(frame, i);
        }
        if decided_gate {
            // An approval binds to what it lets run or holds back: a gate with nothing behind
            // it (no item, every step skipped or blocked) was asked nothing.
            let held = match &refused {
                Some(_) => held_items > 0,
                None if gate_open => self.acts_since(first_row, first_task),
                None => self.waits_since(first_row, first_task),
            };
            self.trace_gate(frame, path, gate_open, held, behind_another);
        }
        settle(frame, &step.id, status);
        status
    }

    /// Whether rows or tasks planned since `rows` and `tasks` await approval.
    /// Whether anything planned since `rows` and `tasks` would act: a task, or a row neither
    /// skipped nor blocked (what a gate lets run).
    fn acts_since(&self, rows: usize, tasks: usize) -> bool {
        self.actions.get(rows..).is_some_and(|r| {
            r.iter()
                .any(|a| !matches!(a.status, Status::Skipped | Status::Blocked))
        }) || self.tasks.len() > tasks
    }

    /// Covers a decided gate of the step at `path`, granted or denied, when it `held`
    /// something back.
    fn trace_gate(
        &mut self,
        frame: &Frame,
        path: &str,
        granted: bool,
        held: bool,
        behind_another: bool,
    ) {
        if held {
            self.record_trace(|| TraceEvent::Gate {
                gamebook: frame.gb.name.clone(),
                step: path.to_string(),
                granted,
                behind_another,
            });
        }
    }

    fn waits_since(&self, rows: usize, tasks: usize) -> bool {
        self.actions
            .get(rows..)
            .is_some_and(|r| r.iter().any(|a| a.status == Status::AwaitingApproval))
            || self
                .tasks
                .get(tasks..)
                .is_some_and(|t| t.iter().any(|t| t.status == TaskStatus::AwaitingApproval))
    }

    /// Rejects what waited on a refused gate: the rows and tasks planned since `rows` and
    /// `tasks` that await approval, for `reason`. Rejected rows do not count against the plan
    /// limit.
    fn reject_since(&mut self, rows: usize, tasks: usize, reason: &str) {
        for row in self.actions.iter_mut().skip(rows) {
            // Planned behind the refused gate, it was not counted (see `push_row`).
            if row.status == Status::AwaitingApproval {
                row.status = Status::Rejected;
                row.reason = reason.to_string();
            }
        }
        for task in self.tasks.iter_mut().skip(tasks) {
            if task.status == TaskStatus::AwaitingApproval {
                task.status = TaskStatus::Rejected;
                task.reason = reason.to_string();
            }
        }
    }

    /// One item of a step (or the step itself without for-each).
    fn run_item(
        &mut self,
        step: &c::Step,
        graph: &ExecGraph,
        ix: petgraph::graph::NodeIndex,
        frame: &mut Frame,
        path: &str,
        item: Option<(&Value, String)>,
    ) -> StepStatus {
        let has_item = item.is_some();
        if let Some((v, identity)) = item {
            frame.vars.push(v.clone());
            frame.items.push(identity);
        }
        let status = match &step.kind {
            c::StepKind::Action {
                spec,
                target,
                params,
            } => {
                let (status, output) =
                    self.action(step, spec, target.as_ref(), params, frame, path);
                record(frame, &step.id, status, output);
                status
            }
            c::StepKind::Task(t) => {
                let title = self.task_title(&t.title, &frame.vars);
                let timed_out = task_times_out(step)
                    && self
                        .config
                        .refusals
                        .times_out(&frame.label, &frame.shown(path));
                let (status, task_status, reason) = match (&self.wait, step.timeout_ms) {
                    (Some(w), _) => (
                        StepStatus::AwaitingApproval,
                        TaskStatus::AwaitingApproval,
                        w.reason.clone(),
                    ),
                    (None, Some(timeout)) if timed_out => (
                        StepStatus::Failed,
                        TaskStatus::TimedOut,
                        format!(
                            "not completed within its timeout ({}): the step fails",
                            riposte_dsl::duration::format_duration(timeout)
                        ),
                    ),
                    (None, _) => (StepStatus::Succeeded, TaskStatus::Open, String::new()),
                };
                self.tasks.push(PlannedTask {
                    sop: self.sop_name.clone(),
                    gamebook: frame.label.clone(),
                    step: frame.shown(path),
                    title,
                    role: t.role.as_str(),
                    checklist: t.checklist.clone(),
                    status: task_status,
                    reason,
                });
                // Nobody completed a task that timed out.
                let out_ty = output_record_type(frame.gb, &step.id)
                    .filter(|_| task_status != TaskStatus::TimedOut);
                let output = out_ty
                    .map(|ty| Value::record(ty, [("completed_by", Value::from(t.role.as_str()))]));
                record(frame, &step.id, status, output);
                status
            }
            c::StepKind::Call { gamebook, with } => match self.library.gamebook(gamebook) {
                Some(callee) => {
                    let inputs = self.inputs(callee, with, &frame.vars);
                    let label = format!("{} > {}", frame.label, callee.name);
                    let inputs_waiting = self.wait.is_some()
                        && (frame.inputs_waiting
                            || with.iter().any(|(_, v)| param_reads_waiting(v, frame)));
                    // Inputs read from a step still waiting are not known yet: checked once
                    // they are.
                    let invalid = (!inputs_waiting)
                        .then(|| invalid_input(callee, with, &inputs))
                        .flatten();
                    if let Some(reason) = invalid {
                        self.not_planned(step, frame, path, Status::Blocked, &reason);
                        record(frame, &step.id, StepStatus::Blocked, None);
                        StepStatus::Blocked
                    } else {
                        let (status, outputs) = self.run_gamebook(
                            callee,
                            inputs,
                            label,
                            Some((frame, path)),
                            inputs_waiting,
                        );
                        record(frame, &step.id, status, Some(outputs));
                        status
                    }
                }
                None => StepStatus::Failed,
            },
            c::StepKind::Group(inner) => {
                let body = graph.graph[ix].body.as_deref();
                let status = match body {
                    Some(body) => self.run_list(inner, body, frame, &format!("{path}.")),
                    None => StepStatus::Failed,
                };
                record(frame, &step.id, status, None);
                status
            }
        };
        if has_item {
            frame.vars.pop();
            frame.items.pop();
        }
        status
    }

    fn skip_item(
        &mut self,
        step: &c::Step,
        frame: &mut Frame,
        path: &str,
        item: Option<(&Value, String)>,
        reason: &str,
    ) {
        let has_item = item.is_some();
        if let Some((v, identity)) = item {
            frame.vars.push(v.clone());
            frame.items.push(identity);
        }
        if let c::StepKind::Action { spec, target, .. } = &step.kind {
            self.skip_action(frame, path, spec, target.as_ref(), reason);
        } else {
            // The item is known: its rows are its own, not the whole step's.
            self.skip_kind(step, frame, path, reason, false);
        }
        if has_item {
            frame.vars.pop();
            frame.items.pop();
        }
    }

    /// The `skipped` row of action step `path`, naming the target where the frame's variables
    /// tell it.
    fn skip_action(
        &mut self,
        frame: &Frame,
        path: &str,
        spec: &'static ActionSpec,
        target: Option<&Expr>,
        reason: &str,
    ) {
        let target = target.map(|t| t.eval(&self.env(&frame.vars)));
        self.not_run(frame, path, spec, target.as_ref(), Status::Skipped, reason);
    }

    /// The row of an action that does not reach the executor for a reason of the plan's own
    /// (skipped, or past a limit): no params, no approver, no provider.
    fn not_run(
        &mut self,
        frame: &Frame,
        path: &str,
        spec: &'static ActionSpec,
        target: Option<&Value>,
        status: Status,
        reason: &str,
    ) {
        // These rows walk a step's whole structure, calls included, which a library can make
        // grow fast: past twice the plan limit they are counted, not listed. Rows waiting on a
        // gate are actions of the plan, listed while it has room for them, as any action is.
        let waiting_with_room = self.waiting_with_room(status);
        if self.listing_full() && !waiting_with_room {
            self.unlisted += 1;
            return;
        }
        self.push_row(PlannedAction {
            key: frame.key(path, spec, target, &serde_json::Map::new()),
            sop: self.sop_name.clone(),
            gamebook: frame.label.clone(),
            step: frame.shown(path),
            action: spec.id,
            target: target.and_then(entity_target),
            params: serde_json::Map::new(),
            status,
            approval: None,
            reason: reason.to_string(),
            provider: None,
            execution: None,
            pending_params: Vec::new(),
            items_unknown: self.items_unknown,
            items_not_listed: self.items_not_listed > 0 && status == Status::Skipped,
            own_approval: None,
        });
    }

    /// A `blocked` row, with no target, for each action `step` (at `path`) holds, through its
    /// groups and called gamebooks: for-each items past a limit are not planned, and nothing
    /// is dropped silently.
    fn not_planned(
        &mut self,
        step: &c::Step,
        frame: &Frame,
        path: &str,
        status: Status,
        reason: &str,
    ) {
        // A gate on a step inside is what its actions need once what they wait on is done.
        let own_was = self.own_gate.clone();
        if self.own_gate.is_none() && step.approval.is_some() && status == Status::AwaitingApproval
        {
            self.own_gate = self.gate_wait(step);
        }
        self.not_planned_kind(step, frame, path, status, reason);
        self.own_gate = own_was;
    }

    /// [`Scheduler::not_planned`] of `step`, by its kind.
    fn not_planned_kind(
        &mut self,
        step: &c::Step,
        frame: &Frame,
        path: &str,
        status: Status,
        reason: &str,
    ) {
        match &step.kind {
            c::StepKind::Action { spec, .. } => {
                let row = self.actions.len();
                self.not_run(frame, path, spec, None, status, reason);
                if status == Status::AwaitingApproval {
                    let approval = self.wait.as_ref().and_then(|w| w.approval(spec));
                    let own = match approval {
                        None => self.own_approval(spec, None),
                        Some(_) => None,
                    };
                    if let Some(row) = self.actions.get_mut(row) {
                        row.approval = approval;
                        row.own_approval = own;
                    }
                }
            }
            c::StepKind::Group(inner) => {
                for s in inner {
                    self.not_planned(s, frame, &format!("{path}.{}", s.id), status, reason);
                }
            }
            c::StepKind::Call { gamebook, .. } => {
                if self.depth < MAX_CALL_DEPTH {
                    if let Some(callee) = self.library.gamebook(gamebook) {
                        // Rows waiting on a gate are listed while the plan has room, as in
                        // `not_run`: only rows that do not count may be counted unwalked.
                        if !self.waiting_with_room(status) && self.rows_counted(callee) {
                            return;
                        }
                        self.depth += 1;
                        let label = format!("{} > {}", frame.label, callee.name);
                        let inner = self.frame(callee, label, Some((frame, path)), Value::Null);
                        for s in &callee.steps {
                            self.not_planned(s, &inner, &s.id, status, reason);
                        }
                        self.depth -= 1;
                    }
                }
            }
            c::StepKind::Task(_) => {}
        }
    }

    /// One action on one target: evaluate, decide, and run it if it may run.
    fn action(
        &mut self,
        step: &c::Step,
        spec: &'static ActionSpec,
        target: Option<&Expr>,
        params: &[(&'static str, ParamValue)],
        frame: &Frame,
        path: &str,
    ) -> (StepStatus, Option<Value>) {
        let env = self.env(&frame.vars);
        let target_value = target.map(|t| t.eval(&env));
        // Past the plan's room for params, they are not even rendered.
        if self.planned.param_bytes >= MAX_PLAN_PARAM_BYTES {
            return self.params_full(spec, frame, path, target_value.as_ref());
        }
        let mut param_values: Vec<(&'static str, Value)> = Vec::with_capacity(params.len());
        let mut params_json = serde_json::Map::new();
        // A computed value the action cannot take (`expires_in: "{{ -2h }}"`, a rendered
        // enumeration value that is not one): the action is blocked, and this says why.
        let mut refused = None;
        // Params that read results of a step still awaiting the gate are not known yet: they
        // are left out (and not checked) rather than shown from results that do not exist.
        let mut unknown: Vec<&'static str> = Vec::new();
        for (name, param) in params {
            if self.wait.is_some() && param_reads_waiting(param, frame) {
                unknown.push(name);
                continue;
            }
            let (mut value, mut json) = match param {
                // The rendered text goes to the JSON as it is; the value gets its own copy.
                ParamValue::Template(t) => {
                    let text = t.render(&env);
                    (Value::from(text.as_str()), serde_json::Value::String(text))
                }
                other => {
                    let value = eval_param(other, &env);
                    // A computed list or record can be far larger written out than the work of
                    // building it: measured first, within the plan's room for params.
                    let room = MAX_PLAN_PARAM_BYTES.saturating_sub(self.planned.param_bytes);
                    if matches!(value, Value::List(_) | Value::Record(_))
                        && value.json_len_within(room).is_none()
                    {
                        self.planned.param_bytes = MAX_PLAN_PARAM_BYTES;
                        return self.params_full(spec, frame, path, target_value.as_ref());
                    }
                    let json = value.to_json();
                    (value, json)
                }
            };
            if !matches!(param, ParamValue::Const(_)) {
                if let Some(p) = spec.param(name) {
                    if value.is_null() || p.is_blank(&value) {
                        // Null is no value, nor is blank text where the service needs text:
                        // the catalog default applies, as when omitted.
                        match riposte_dsl::compile::default_value(p) {
                            Some(d) => {
                                json = d.to_json();
                                value = d;
                            }
                            None if p.required => {
                                let gave = if value.is_null() {
                                    "its expression gave null"
                                } else {
                                    "it rendered empty text"
                                };
                                refused.get_or_insert_with(|| {
                                    format!("parameter `{name}` has no value: {gave}")
                                });
                            }
                            None => {}
                        }
                    } else if let Some(why) = p.refuses(&value) {
                        refused.get_or_insert(why);
                    }
                }
            }
            param_values.push((name, value));
            params_json.insert((*name).to_string(), json);
        }
        // What the plan holds of params is bounded: a long field rendered into the params of
        // every item of a for-each would otherwise fill gigabytes, 1 MiB a rendering. The
        // action that fills it is planned without them, as every one after it.
        let bytes = params_json
            .values()
            .fold(0usize, |n, v| n.saturating_add(json_bytes(v)));
        self.planned.param_bytes = self.planned.param_bytes.saturating_add(bytes);
        if self.planned.param_bytes > MAX_PLAN_PARAM_BYTES {
            return self.params_full(spec, frame, path, target_value.as_ref());
        }
        if let Some(check) = spec
            .params_check
            .filter(|_| refused.is_none() && unknown.is_empty())
        {
            let given: Vec<(&str, &Value)> = param_values.iter().map(|(n, v)| (*n, v)).collect();
            refused = check(&given).map(|p| p.message().to_string());
        }
        let key = frame.key(path, spec, target_value.as_ref(), &params_json);
        let mut planned = PlannedAction {
            key,
            sop: self.sop_name.clone(),
            gamebook: frame.label.clone(),
            step: frame.shown(path),
            action: spec.id,
            target: target_value.as_ref().and_then(entity_target),
            params: params_json,
            status: Status::WouldRun,
            approval: None,
            reason: String::new(),
            provider: None,
            execution: None,
            pending_params: Vec::new(),
            items_unknown: false,
            items_not_listed: false,
            own_approval: None,
        };
        if spec.target != ActionTarget::Incident && planned.target.is_none() {
            planned.status = Status::Skipped;
            planned.reason = "the target expression gave no entity".into();
            // As every skipped row: no params.
            planned.params = serde_json::Map::new();
            self.push_row(planned);
            return (StepStatus::Skipped, None);
        }
        let provider = self.provider_for(spec, target_value.as_ref());
        if let Some(p) = provider {
            planned.provider = Some([p.provider.as_str(), "/", p.application.as_str()].concat());
        }
        if let Some(reason) =
            refused.or_else(|| self.blocked(spec, target_value.as_ref(), &param_values, provider))
        {
            return self.push_blocked(planned, reason);
        }
        // The same action on the same target with the same params, already done in this plan
        // (by a repeated for-each item, the same gamebook run by two SOPs, or another
        // gamebook), is not done again: this row says so, and what follows sees it succeeded.
        // Only one that succeeded: one that failed is tried again, one awaiting approval may
        // never run. Nor is there anything left to approve or to count against a limit.
        let effect = Effect::of(spec, target_value.as_ref(), &planned.params);
        if let Some(first) = self.planned.done.get(&effect.what) {
            let output = first.output.clone();
            let reason = match self.actions.get(first.row) {
                Some(a) => format!(
                    "already done by step `{}` of gamebook `{}` (SOP `{}`): the same action on the same target with the same params runs once",
                    a.step, a.gamebook, a.sop
                ),
                None => "the same action is already done: it runs once".to_string(),
            };
            self.push_row(repeat_of(planned, reason));
            return (StepStatus::Succeeded, output);
        }
        // Awaiting approval itself, while the same action awaits approval, it already counts
        // for it: approved, the first runs, and this one is a repeat (what decides otherwise,
        // the first failing, is for the plan once the approval is given). One that would run
        // now counts. Only then are its own rules evaluated here: a limit stops the rest
        // before any `approve_if` costs work.
        let counted = self.refusing == 0
            && self.awaiting.contains(&effect.what)
            && (self.wait.is_some()
                || (self.passed_gates == 0
                    && !self
                        .config
                        .approvals
                        .granted(&planned.gamebook, &planned.step)
                    && self.approval_for(spec, target_value.as_ref()).is_some()));
        if !counted {
            if let Some(reason) = self.limit_reached(spec) {
                return self.push_blocked(planned, reason);
            }
        }
        // The approval the action itself needs (policy, mode), granted or not: what it awaits
        // when nothing before it is waiting, and whether a person signs in for it.
        let delegated = provider.is_some_and(|p| p.consent == Consent::DelegatedOnly);
        let required = if self.wait.is_none() || delegated {
            self.approval_for(spec, target_value.as_ref())
        } else {
            None
        };
        let approval = match &self.wait {
            Some(w) => Some((
                w.approval(spec)
                    .map(|gate| self.gate_approval(gate, spec, target_value.as_ref())),
                w.reason.clone(),
            )),
            None if self.passed_gates > 0
                || self
                    .config
                    .approvals
                    .granted(&planned.gamebook, &planned.step) =>
            {
                None
            }
            None => required.clone().map(|a| {
                let reason = format!("awaits approval: {}", a.reason);
                (Some(a), reason)
            }),
        };
        // An `approve_if` that ran out of work may have let the action through on a null.
        if riposte_dsl::expr::run_out_of_work() {
            return self.push_blocked(planned, self.out_of_work());
        }
        // The approval it needs, refused: rejected rows carry who refused it and why it was
        // asked for.
        // Behind a granted gate nothing is asked, so nothing is refused.
        if let Some(a) = required.as_ref().filter(|_| {
            self.wait.is_none()
                && self.passed_gates == 0
                && self
                    .config
                    .refusals
                    .rejects(&planned.gamebook, &planned.step)
        }) {
            planned.status = Status::Rejected;
            planned.reason = format!("approval rejected: {}", a.reason);
            planned.approval = Some(a.clone());
            self.push_row(planned);
            return (StepStatus::Rejected, None);
        }
        // A delegated-only action runs on behalf of a signed-in user: the workspace's session,
        // else the person who approves it (signing in to do so). Unattended, with neither, it
        // cannot run.
        // An approval of something before it (an upstream gate) is no sign-in for it.
        let signed_in =
            self.workspace.delegated_session || required.is_some() || step.approval.is_some();
        if delegated && !signed_in {
            return self.push_blocked(
                planned,
                format!(
                "`{}` needs a signed-in (delegated) session: none is available in workspace `{}`, \
                 and no approval puts a person before it (an approval gate would: the approver \
                 signs in)",
                spec.id, self.workspace.name
            ),
            );
        }
        if !counted {
            self.count(spec);
        }
        if let Some((approval, reason)) = approval {
            if self.refusing == 0 && self.waiting_handlers == 0 {
                self.awaiting.insert(effect.what.clone());
            }
            planned.status = Status::AwaitingApproval;
            if approval.is_none() {
                planned.own_approval = self.own_approval(spec, target_value.as_ref());
            }
            planned.approval = approval;
            planned.pending_params.clone_from(&unknown);
            planned.reason = match unknown.as_slice() {
                [] => reason,
                names => format!(
                    "{reason}; {} {} known once it runs",
                    plural_names("param", names),
                    if names.len() == 1 { "is" } else { "are" }
                ),
            };
            self.push_row(planned);
            return (StepStatus::AwaitingApproval, None);
        }
        // Would run: ask the executor, retrying as the step says.
        let Some(provider) = provider else {
            // `blocked` already reported a missing provider.
            return (StepStatus::Blocked, None);
        };
        self.record_trace(|| TraceEvent::Ran {
            gamebook: frame.gb.name.clone(),
            step: path.to_string(),
        });
        let attempts = step.retry.map_or(1, |r| r.attempts.max(1));
        let (target_id, target_name) = match &planned.target {
            Some(t) => (Some(t.id.as_str()), Some(t.name.as_str())),
            None => (None, None),
        };
        let mut outcome = ActionOutcome::Failed("not attempted".into());
        let mut tries = 0;
        for attempt in 1..=attempts {
            tries = attempt;
            let request = ActionRequest {
                key: &planned.key,
                action: spec,
                provider,
                gamebook: &frame.label,
                step: &planned.step,
                target_id,
                target_name,
                params: &param_values,
                attempt,
            };
            outcome = self.executor.execute(&request);
            if matches!(outcome, ActionOutcome::Succeeded(_)) {
                break;
            }
        }
        let (status, output, execution) = match outcome {
            ActionOutcome::Succeeded(v) => (
                StepStatus::Succeeded,
                Some(v),
                Execution {
                    outcome: "succeeded",
                    attempts: tries,
                    error: None,
                },
            ),
            ActionOutcome::Failed(e) => (
                StepStatus::Failed,
                Some(crate::executor::failed_output(spec)),
                Execution {
                    outcome: "failed",
                    attempts: tries,
                    error: Some(e),
                },
            ),
        };
        planned.reason = runs_via(provider.application).to_string();
        planned.execution = Some(execution);
        if status == StepStatus::Succeeded {
            // Done after its reverse (`device.unisolate` after `device.isolate`), an action
            // undoes what the reverse did: done again, that is no repeat.
            if let Some(reverse) = spec.reverse {
                self.planned
                    .undone(&acted_on(reverse, target_value.as_ref()));
            }
            let row = self.actions.len();
            self.planned
                .remember(effect, spec.replaces, row, output.clone());
        }
        self.push_row(planned);
        (status, output)
    }

    /// The row of an action planned once the plan's params reached [`MAX_PLAN_PARAM_BYTES`]:
    /// `blocked`, without params (its key is over none), or `skipped` as any action whose
    /// target expression gave no entity.
    fn params_full(
        &mut self,
        spec: &'static ActionSpec,
        frame: &Frame,
        path: &str,
        target: Option<&Value>,
    ) -> (StepStatus, Option<Value>) {
        let shown = target.and_then(entity_target);
        if spec.target != ActionTarget::Incident && shown.is_none() {
            self.not_run(
                frame,
                path,
                spec,
                None,
                Status::Skipped,
                "the target expression gave no entity",
            );
            return (StepStatus::Skipped, None);
        }
        let reason = format!(
            "plan limit: the params and task titles of the plan reached {} MiB of text, so \
             this action's params are not rendered; render less text per action (a long field such as \
             `incident.description` in the params of a for-each step is rendered for every \
             item: put it in one `incident.comment` instead)",
            MAX_PLAN_PARAM_BYTES >> 20
        );
        self.not_run(frame, path, spec, target, Status::Blocked, &reason);
        (StepStatus::Blocked, None)
    }

    /// A task's title, rendered and counted with the params against [`MAX_PLAN_PARAM_BYTES`]
    /// (a for-each task renders its title for every item); past it, a title saying so.
    fn task_title(&mut self, title: &riposte_dsl::expr::Template, vars: &[Value]) -> String {
        if self.planned.param_bytes < MAX_PLAN_PARAM_BYTES {
            let text = title.render(&self.env(vars));
            self.planned.param_bytes = self.planned.param_bytes.saturating_add(text.len());
            if self.planned.param_bytes <= MAX_PLAN_PARAM_BYTES {
                return text;
            }
        }
        format!(
            "(not rendered: plan limit: the params and task titles of the plan reached {} MiB \
             of text)",
            MAX_PLAN_PARAM_BYTES >> 20
        )
    }

    /// Records a branch point, built only when the run is traced.
    fn record_trace(&mut self, event: impl FnOnce() -> TraceEvent) {
        if self.config.trace {
            self.trace.push(event());
        }
    }

    /// Counts an action against the SOP's limits, unless a refused gate holds it (it is
    /// rejected once planned).
    fn count(&mut self, spec: &ActionSpec) {
        if self.refusing > 0 {
            return;
        }
        self.total += 1;
        *self.per_action.entry(spec.id).or_default() += 1;
    }

    /// The provider implementation that would carry the action out: where the entity comes
    /// from, or the incident's source for incident actions.
    fn provider_for(
        &self,
        spec: &ActionSpec,
        target: Option<&Value>,
    ) -> Option<&'static ProviderSupport> {
        let wanted = match target.and_then(|t| entity_str(t, ENTITY_PROVIDER)) {
            Some(p) => provider_named(p),
            // QRadar and Splunk have no response integration: what they report is acted on
            // only through an entity's own provider.
            None => match self.incident.source.as_str() {
                "defender_xdr" => Some(Provider::Microsoft),
                "sentinel" => Some(Provider::Sentinel),
                "crowdstrike" => Some(Provider::CrowdStrike),
                "sentinelone" => Some(Provider::SentinelOne),
                _ => None,
            },
        }?;
        riposte_dsl::catalog::lookup(spec.id)?
            .providers
            .iter()
            .find(|p| p.provider == wanted)
    }

    /// Why the action may not run at all, if it may not.
    fn blocked(
        &self,
        spec: &ActionSpec,
        target: Option<&Value>,
        params: &[(&'static str, Value)],
        provider: Option<&ProviderSupport>,
    ) -> Option<String> {
        let ws = self.workspace;
        // What an expression decided once the work ran out is unknown (`not any(…)` holds on
        // null): nothing more runs on it.
        if riposte_dsl::expr::run_out_of_work() {
            return Some(self.out_of_work());
        }
        if let Some(sev) = self.incident.severity {
            if !ws.agent.gamebooks.iter().any(|s| s.level() == sev) {
                return Some(format!(
                    "the Gamebooks capability is off for {sev} incidents in workspace `{}`",
                    ws.name
                ));
            }
        }
        if ws.parent.is_some() && !ws.allow_service_provider_gamebooks {
            return Some(format!(
                "workspace `{}` does not allow the service provider to run gamebooks",
                ws.name
            ));
        }
        if let Some(tenant) = &self.incident.workspace {
            if !ws.owns_tenant(tenant) {
                let what = if target.is_some() {
                    "entity"
                } else {
                    "incident"
                };
                // Named as the workspace, yet another workspace's tenant id or Sentinel
                // workspace: say why the name does not make it this workspace's.
                let elsewhere = if same_ignoring_case(tenant, &ws.name) {
                    " (another workspace of the file has it as its tenant id or Sentinel \
                     workspace, which a name does not override)"
                } else {
                    ""
                };
                return Some(format!(
                    "the {what} belongs to tenant `{tenant}`, not to workspace `{}`{elsewhere}",
                    ws.name
                ));
            }
        }
        // The entity the action acts on besides its target, found once for the checks below.
        let mut acted = None;
        if let Some(t) = target {
            if let Some(rule) = self.protected(t) {
                return Some(format!("protected entity ({rule})"));
            }
            acted = self.acted_through(spec, t, params);
            if let Some((name, others)) = &acted {
                // Every entity of that name (a mailbox's owner and the mailbox itself); none in
                // the incident (a mailbox or device without evidence of its own), and what the
                // action names it by is all there is to protect it by.
                let hit = if others.is_empty() {
                    self.protected_as(Subject {
                        id: name,
                        kind: None,
                        identifiers: &[],
                        names: &[name],
                        tags: &[],
                    })
                    .map(|rule| (name.as_str(), rule))
                } else {
                    others.iter().find_map(|e| {
                        let shown = entity_str(e, ENTITY_NAME).unwrap_or(name);
                        self.protected(e).map(|rule| (shown, rule))
                    })
                };
                if let Some((shown, rule)) = hit {
                    return Some(format!("it acts on protected entity `{shown}` ({rule})"));
                }
            }
        }
        let Some(p) = provider else {
            let from = target
                .and_then(|t| entity_str(t, ENTITY_PROVIDER))
                .unwrap_or(&self.incident.source);
            let what = if target.is_some() {
                "entities"
            } else {
                "incidents"
            };
            return Some(format!(
                "no implementation of `{}` for {what} from `{from}`",
                spec.id
            ));
        };
        if let Some(t) = target {
            // The identifiers the service acts on the entity by: without them the call has
            // nothing to name it by (a device MDE does not know, a user with only a SID).
            // A param of the same name stands in for the field (`file.quarantine`'s
            // `device_id` names the device to act on).
            let given = |v: Option<&Value>| match v {
                Some(Value::String(s)) => !s.trim().is_empty(),
                Some(v) => !v.is_null(),
                None => false,
            };
            let has = |field: &str| {
                given(record_field(t, field))
                    || given(params.iter().find(|(n, _)| *n == field).map(|(_, v)| v))
            };
            if let Some(group) = p.needs.iter().find(|g| !g.iter().any(|f| has(f))) {
                let kind = entity_str(t, ENTITY_KIND).unwrap_or("entity");
                return Some(format!(
                    "the {kind} has no {}, which {} acts on it by",
                    riposte_dsl::catalog::needs_text(&[group]),
                    p.service
                ));
            }
            if let Some(why) = acted
                .as_ref()
                .and_then(|acted| named_otherwise(spec, acted, p))
            {
                return Some(why);
            }
            let acted_on = acted
                .as_ref()
                .map_or(&[][..], |(_, found)| found.as_slice());
            if let Some(why) = p.refuses.and_then(|refuses| refuses(t, params, acted_on)) {
                return Some(why);
            }
        }
        if !ws.consented(p.application) {
            return Some(format!(
                "application `{}` ({}) is not consented in workspace `{}`",
                p.application.as_str(),
                p.application.display_name(),
                ws.name
            ));
        }
        if !ws.partner_may_use(p.application) {
            return Some(format!(
                "application `{}` ({}) is consented in workspace `{}` but not for its partner \
                 `{}`: the partner's gamebooks cannot act through it (grant `Consent for \
                 Partner`, or list it in `consented_for_partner`)",
                p.application.as_str(),
                p.application.display_name(),
                ws.name,
                ws.parent.as_deref().unwrap_or_default()
            ));
        }
        None
    }

    /// The reason of an action blocked because an expression ran out of work.
    fn out_of_work(&self) -> String {
        format!(
            "evaluation limit: an expression of SOP `{}` ran out of work (lambda calls, list \
             items, text), so what it decided is unknown; simplify the expressions that loop \
             over long lists",
            self.sop_name
        )
    }

    /// Why the action is blocked by the SOP's limits, if it is: checked after repeats, which
    /// do nothing more and so count against no limit.
    fn limit_reached(&self, spec: &ActionSpec) -> Option<String> {
        let g = &self.sop.guardrails;
        if let Some((_, limit)) = g.limits.iter().find(|(a, _)| a.value == spec.id) {
            if self.per_action.get(spec.id).copied().unwrap_or(0) >= *limit {
                return Some(format!(
                    "limit reached: at most {limit} `{}` per incident (SOP `{}`)",
                    spec.id, self.sop_name
                ));
            }
        }
        if let Some(max) = g.max_actions {
            if self.total >= max {
                return Some(format!(
                    "limit reached: at most {} per incident (SOP `{}`)",
                    plural(u64::from(max), "action"),
                    self.sop_name
                ));
            }
        }
        None
    }

    /// The protection rule an entity falls under, if any. An `id` rule names it by its id or
    /// by any identifier the sources know it by (a user's SID or UPN, a device's MDE id); a
    /// `name` rule by its name, host name (the FQDN Defender shows) or display name.
    fn protected(&self, entity: &Value) -> Option<String> {
        let text = |field: &str| match record_field(entity, field) {
            Some(Value::String(s)) if !s.is_empty() => Some(Cow::Borrowed(s.as_str())),
            Some(Value::Ip(ip)) => Some(Cow::Owned(ip.to_string())),
            _ => None,
        };
        let id = entity_str(entity, ENTITY_ID).unwrap_or_default();
        let kind = match entity {
            Value::Record(r) => r.ty().entity,
            _ => None,
        };
        let (mut identifier_fields, mut name_fields) = kind.map_or((&[][..], &[][..]), known_by);
        // Read only for the kinds of rule there are (most SOPs protect by name or tag).
        let (mut id_rules, mut name_rules) = (false, false);
        for (_, k, _) in self.protection_rules() {
            id_rules |= k == RuleKind::Id;
            name_rules |= k == RuleKind::Name;
        }
        if !id_rules {
            identifier_fields = &[];
        }
        if !name_rules {
            name_fields = &[];
        }
        // On the stack: this runs for every target (at most three identifiers, one other name).
        let mut values: [Cow<str>; 3] = Default::default();
        let mut found = 0;
        for value in identifier_fields.iter().filter_map(|f| text(f)) {
            if let Some(slot) = values.get_mut(found) {
                *slot = value;
                found += 1;
            }
        }
        let [a, b, c] = &values;
        let identifiers = [&**a, &**b, &**c];
        let name = entity_str(entity, ENTITY_NAME).unwrap_or_default();
        // Most often the name is one of them: it is matched once.
        let other = name_fields
            .iter()
            .filter_map(|f| text(f))
            .find(|other| !same_ignoring_case(name, other));
        let names = [name, other.as_deref().unwrap_or_default()];
        let named = if other.is_some() { 2 } else { 1 };
        self.protected_as(Subject {
            id,
            kind,
            identifiers: identifiers.get(..found).unwrap_or_default(),
            names: names.get(..named).unwrap_or_default(),
            tags: entity_tags(entity),
        })
    }

    /// The protection rule `subject` falls under, if any; or, once the plan's work of checking rules is spent (see
    /// [`MAX_PLAN_PROTECTION_WORK`]), that not every rule was checked: protection errs on the
    /// side of not acting.
    fn protected_as(&self, subject: Subject<'_>) -> Option<String> {
        let max = self.config.max_protection_work;
        let mut work = max.saturating_sub(self.planned.protection_work.get());
        let checked = self.check_rules(&subject, &mut work);
        self.planned.protection_work.set(max.saturating_sub(work));
        checked.unwrap_or_else(|| {
            Some(format!(
                "not every protection rule was checked: the plan's checks of protection rules \
                 reached their limit ({max} units: rules checked, and bytes of ids, names and \
                 patterns compared), so it counts as protected; use fewer rules, `tag` rules, \
                 or name patterns with fewer `*`"
            ))
        })
    }

    /// The SOP's protection rules, then the workspace's, as one list: (origin, rule kind, its
    /// text).
    fn protection_rules(&self) -> impl Iterator<Item = (&'static str, RuleKind, &str)> {
        let sop_rules = self.sop.guardrails.protected.iter().map(|r| match r {
            Protected::Id(v) => ("SOP rule", RuleKind::Id, v.as_str()),
            Protected::Name(p) => ("SOP rule", RuleKind::Name, p.as_str()),
            Protected::Tag(t) => ("SOP rule", RuleKind::Tag, t.as_str()),
        });
        let workspace_rules = self.workspace.protected_entities.iter().map(|r| match r {
            ProtectedEntity::Id(v) => ("workspace rule", RuleKind::Id, v.as_str()),
            ProtectedEntity::Name(p) => ("workspace rule", RuleKind::Name, p.as_str()),
            ProtectedEntity::Tag(t) => ("workspace rule", RuleKind::Tag, t.as_str()),
        });
        sop_rules.chain(workspace_rules)
    }

    /// [`Scheduler::protected_as`], spending `work`: `None` when it runs out.
    fn check_rules(&self, subject: &Subject<'_>, work: &mut u64) -> Option<Option<String>> {
        let Subject {
            id,
            kind,
            identifiers,
            names,
            tags,
        } = *subject;
        use crate::workspace::spend_glob_work as spend;
        // Lowercased once, when a name rule needs them.
        let mut lowered: Option<Vec<GlobName>> = None;
        let mut name_matches = |p: &str, work: &mut u64| -> Option<bool> {
            let names = match &mut lowered {
                Some(n) => n,
                None => {
                    spend(work, names.iter().map(|n| n.len()).sum())?;
                    lowered.insert(names.iter().map(|n| GlobName::new(n)).collect())
                }
            };
            for n in names.iter() {
                if glob_match_within(p, n, work)? {
                    return Some(true);
                }
            }
            Some(false)
        };
        let has_tag = |t: &str| {
            tags.iter()
                .any(|x| matches!(x, Value::String(s) if same_ignoring_case(s, t)))
        };
        // The whole id (`user:7d8e…`), or the rule's value (without a kind, or with the
        // entity's own) as the id without its kind or another identifier, ignoring case: ids
        // are imported lowercase, and a rule is written as the source writes them
        // (`S-1-5-…`, `user:S-1-5-…`, `User:S-1-5-…`); addresses in their canonical spelling.
        let key = id.split_once(':').map_or(id, |(_, key)| key);
        let id_matches = |v: &str| {
            let (rule_kind, value) = match v.split_once(':') {
                Some((k, rest)) => match EntityKind::parse(&k.to_ascii_lowercase()) {
                    Some(k) => (Some(k), rest),
                    None => (None, v),
                },
                None => (None, v),
            };
            let same_kind = rule_kind.is_none() || kind.is_none() || rule_kind == kind;
            let canonical;
            // An address in any spelling, an IPv4-mapped one as its IPv4 address, as imported.
            let value = match value.trim().parse::<std::net::IpAddr>() {
                Ok(ip) => {
                    canonical = ip.to_canonical().to_string();
                    canonical.as_str()
                }
                Err(_) => value,
            };
            same_ignoring_case(v, id)
                || (same_kind
                    && (same_ignoring_case(value, key)
                        || identifiers.iter().any(|i| same_ignoring_case(value, i))))
        };
        // An id rule reads the id, a tag rule the entity's tags; a name rule is charged by
        // `glob_match_within`.
        for (origin, kind, text) in self.protection_rules() {
            let hit = match kind {
                RuleKind::Id => {
                    let compared: usize = identifiers.iter().map(|i| i.len()).sum();
                    spend(
                        work,
                        text.len()
                            .saturating_mul(identifiers.len() + 1)
                            .saturating_add(id.len())
                            .saturating_add(compared),
                    )?;
                    id_matches(text)
                }
                RuleKind::Name => name_matches(text, work)?,
                RuleKind::Tag => {
                    spend(work, tags.len().saturating_mul(text.len()))?;
                    has_tag(text)
                }
            };
            if hit {
                // Clipped: the reason is on every row the rule blocks, and a pattern can be
                // a megabyte (a thousand rows of it were a gigabyte of plan).
                return Some(Some(format!(
                    "{origin}: {} `{}`",
                    kind.as_str(),
                    riposte_dsl::diagnostic::clip(text, MAX_SHOWN_RULE_CHARS)
                )));
            }
        }
        Some(None)
    }

    /// What an action acts on besides its target, which protection covers too, as the catalog
    /// locates it ([`riposte_dsl::catalog::ActsOn`]): its name (a mailbox address, a device id),
    /// and the entities of the incident of that name (a user and a mailbox may share one).
    fn acted_through(
        &self,
        spec: &ActionSpec,
        target: &Value,
        params: &[(&'static str, Value)],
    ) -> Option<(String, Vec<&Value>)> {
        let on = spec.acts_on.as_ref()?;
        let text = |v: Option<&'_ Value>| match v {
            Some(Value::String(s)) => Some(s.to_string()),
            _ => None,
        };
        let from_param = on
            .param
            .and_then(|name| text(params.iter().find(|(n, _)| *n == name).map(|(_, v)| v)));
        let name = from_param.or_else(|| text(record_field(target, on.target_field)))?;
        let mut entities = Vec::new();
        for (collection, field) in on.found_in {
            if let Some(Value::List(items)) = record_field(&self.incident.value, collection) {
                entities.extend(items.iter().filter(|e| {
                    matches!(record_field(e, field), Some(Value::String(s)) if same_ignoring_case(s, &name))
                }));
            }
        }
        Some((name, entities))
    }

    /// The approval an action waiting on a step before it needs itself once that is done
    /// ([`PlannedAction::own_approval`]): a gate of its own behind the wait, else the SOP's
    /// policy or the mode's.
    fn own_approval(&self, spec: &ActionSpec, target: Option<&Value>) -> Option<Approval> {
        self.own_gate
            .as_ref()
            .and_then(|g| g.approval(spec))
            .map(|gate| self.gate_approval(gate, spec, target))
            .or_else(|| self.approval_for(spec, target))
    }

    /// The approval an action needs, if any: SOP policy, then the agent mode's defaults.
    fn approval_for(&self, spec: &ActionSpec, target: Option<&Value>) -> Option<Approval> {
        self.rule_approval(spec, target)
            .or_else(|| self.mode_approval(spec))
    }

    /// The approval of a gate in front of an action, by a Workspace Owner when an SOP approval
    /// rule asks one for the action: the SOP's policy holds whatever role a gamebook's gate
    /// names, as for high-impact actions. Roles are not ranked otherwise, so a rule naming
    /// another role leaves the gate's as it is (a gate is never lowered).
    fn gate_approval(&self, gate: Approval, spec: &ActionSpec, target: Option<&Value>) -> Approval {
        let owner = Role::WorkspaceOwner.as_str();
        match self.rule_approval(spec, target) {
            Some(rule) if rule.role == owner && gate.role != owner => Approval {
                role: owner,
                reason: format!("{}; {}", gate.reason, rule.reason),
            },
            _ => gate,
        }
    }

    /// The approval an SOP approval rule asks for the action, if one covers it and holds.
    fn rule_approval(&self, spec: &ActionSpec, target: Option<&Value>) -> Option<Approval> {
        let item_not_known = target.is_none()
            && self.items_unknown
            && matches!(spec.target, ActionTarget::Entity(_));
        let reads_entity = |e: &Expr| e.paths().any(|p| p.first().is_some_and(|r| r == "entity"));
        let approval = |rule: &c::ApprovalRule, why: &str| {
            let (role, owner) = high_impact_role(spec, rule.role);
            Approval {
                role: role.as_str(),
                reason: format!(
                    "SOP `{}` requires approval of `{}`{why}{owner}",
                    self.sop_name, spec.id
                ),
            }
        };
        // The first rule that holds decides, unless a later one that holds asks a Workspace
        // Owner: the SOP's owner policy holds whatever rule comes first, as it holds whatever
        // a gamebook's gate asks.
        let mut first = None;
        for rule in &self.sop.approvals {
            let owner = rule.role == Role::WorkspaceOwner;
            if !rule.covers(spec.id) || (first.is_some() && !owner) {
                continue;
            }
            // The variables of `approve_if`, built only for a rule that has one.
            let vars = || {
                [
                    self.incident.value.clone(),
                    target.cloned().unwrap_or(Value::Null),
                    Value::from(spec.id),
                ]
            };
            let why = match &rule.approve_if {
                None => "",
                // A row standing for the items of a for-each not known yet has no target: a
                // rule deciding by its `entity` may hold for them, and is taken to (what a
                // backtest compares for the row), as it would be asked of each item.
                Some(e) if item_not_known && reads_entity(e) => {
                    " (if its `approve_if` holds for the item)"
                }
                Some(e) if e.eval_bool(&self.env(&vars())) => " (its `approve_if` holds)",
                Some(_) => continue,
            };
            if owner {
                return Some(approval(rule, why));
            }
            first = Some(approval(rule, why));
        }
        first
    }

    /// The approval the agent's mode (capped by the SOP's) asks for the action, if any.
    fn mode_approval(&self, spec: &ActionSpec) -> Option<Approval> {
        // The more cautious of the agent's mode and the mode the SOP allows.
        let agent = self.workspace.agent.mode.agent_mode();
        let mode = self.sop.mode.map_or(agent, |m| m.min(agent));
        // Who set the mode: the SOP when it is more cautious than the agent.
        // Only built when an approval is needed: most actions need none.
        let whose = || {
            if mode < agent {
                format!("SOP `{}` runs in {mode} mode", self.sop_name)
            } else {
                format!("the agent is in {mode} mode")
            }
        };
        match mode {
            AgentMode::Manual => Some(Approval {
                role: if spec.impact == Impact::High {
                    Role::WorkspaceOwner
                } else {
                    Role::IncidentResponder
                }
                .as_str(),
                reason: format!("{}: every action awaits approval", whose()),
            }),
            AgentMode::Automatic if spec.impact == Impact::High => Some(Approval {
                role: Role::WorkspaceOwner.as_str(),
                reason: format!(
                    "`{}` is high-impact and {}: a Workspace Owner approves it",
                    spec.id,
                    whose()
                ),
            }),
            // Unattended runs cannot act on behalf of a signed-in user.
            AgentMode::Autonomous if spec.delegated_only() => Some(Approval {
                role: high_impact_role(spec, Role::IncidentResponder).0.as_str(),
                reason: format!(
                    "`{}` runs only on behalf of a signed-in user and {}: it cannot run \
                     unattended",
                    spec.id,
                    whose()
                ),
            }),
            _ => None,
        }
    }
}

/// The `skipped` row of an action that repeats one already done, saying which.
fn repeat_of(mut row: PlannedAction, reason: String) -> PlannedAction {
    // As every skipped row: no params, approver, provider or execution; the key says which
    // action it is.
    row.status = Status::Skipped;
    row.reason = reason;
    row.params = serde_json::Map::new();
    row.approval = None;
    row.provider = None;
    row.execution = None;
    row
}

/// What an action does, spelled out: the action on its target (the action id and the target's
/// id, each after its length, so that no id can pass for another), then its params in
/// canonical order, without notes and without those given no value. Compared whole, not by a
/// hash that incident data could be made to collide.
struct Effect {
    what: Vec<u8>,
    /// The length of the action-on-target part of `what`.
    acted_on: usize,
}

impl Effect {
    fn of(
        spec: &ActionSpec,
        target: Option<&Value>,
        params: &serde_json::Map<String, serde_json::Value>,
    ) -> Effect {
        let mut what = acted_on(spec.id, target);
        let acted_on = what.len();
        // Notes (see `riposte_dsl::catalog::ParamSpec::note`) do not change what it does; a
        // param computed to null is not sent. serde_json maps are sorted by key, so the pairs
        // written in order are canonical; names are the catalog's (no NUL), and each value is
        // tagged: text after its length, anything else as JSON (self-delimiting, no NUL).
        for (name, v) in params.iter().filter(|(name, v)| {
            !v.is_null()
                && !spec
                    .params
                    .iter()
                    .any(|p| p.note && p.name == name.as_str())
        }) {
            what.push(0);
            what.extend_from_slice(name.as_bytes());
            what.push(0);
            match v {
                // Text, the usual param, after its length: no escaping to do.
                serde_json::Value::String(text) => {
                    what.push(b's');
                    what.extend_from_slice(&(text.len() as u64).to_le_bytes());
                    what.extend_from_slice(text.as_bytes());
                }
                // Into a `Vec`, serializing a JSON value cannot fail.
                other => {
                    what.push(b'j');
                    let _ = serde_json::to_writer(&mut what, other);
                }
            }
        }
        Effect { what, acted_on }
    }
}

/// The action-on-target part of an [`Effect`]: the action id and the target's id, each after
/// its length.
fn acted_on(action: &str, target: Option<&Value>) -> Vec<u8> {
    let target_id = target
        .and_then(|t| entity_str(t, ENTITY_ID))
        .unwrap_or_default();
    let mut out = Vec::with_capacity(16 + action.len() + target_id.len() + 64);
    for part in [action, target_id] {
        out.extend_from_slice(&(part.len() as u64).to_le_bytes());
        out.extend_from_slice(part.as_bytes());
    }
    out
}

/// The most bytes of params (text, and JSON for other values; see [`json_bytes`]) a plan
/// renders for its actions, and of titles for its tasks, over every SOP: 64 MiB. Params of the usual actions take well
/// under a kilobyte, so even a plan at the `--max-plan-actions` ceiling (100 000 actions) fits;
/// a template renders up to 1 MiB, which 5 000 for-each items would make 5 GB.
pub const MAX_PLAN_PARAM_BYTES: usize = 64 << 20;

/// The work a plan may spend checking protection rules, over every action of every SOP: each
/// rule checked costs [`GLOB_STEP`](crate::workspace::GLOB_STEP) units and the bytes of ids,
/// names and patterns it compares (see [`glob_match_within`]). Rules × actions × name length would otherwise grow without
/// bound (66 000 patterns against thousands of long host names: most of a minute). 2^30 units
/// are about a second at worst; a plan of 10 000 actions against 2 000 rules spends well under
/// it. Past it, an action counts as protected, and its reason says so.
pub const MAX_PLAN_PROTECTION_WORK: u64 = 1 << 30;

/// The most characters of a protection rule's text a row's reason shows, then `…`.
const MAX_SHOWN_RULE_CHARS: usize = 100;

/// The bytes [`MAX_PLAN_PARAM_BYTES`] counts for a param's value: its text, or roughly its
/// JSON (text, names and a few bytes of punctuation per item; 8 per number or boolean).
fn json_bytes(v: &serde_json::Value) -> usize {
    match v {
        serde_json::Value::String(s) => s.len(),
        serde_json::Value::Array(items) => items
            .iter()
            .fold(items.len(), |n, v| n.saturating_add(json_bytes(v))),
        serde_json::Value::Object(fields) => fields.iter().fold(fields.len(), |n, (k, v)| {
            n.saturating_add(k.len()).saturating_add(json_bytes(v))
        }),
        _ => 8,
    }
}

/// The actions a plan has done (that succeeded), by what they do: where they are and what
/// they gave, so that a repeat is found in constant time and takes the first one's output.
/// Also what the plan spent of its bounds that go from SOP to SOP with it.
#[derive(Default)]
pub struct Planned {
    /// Bytes of params rendered so far (see [`MAX_PLAN_PARAM_BYTES`]).
    param_bytes: usize,
    /// Work spent checking protection rules so far (see [`MAX_PLAN_PROTECTION_WORK`]).
    protection_work: std::cell::Cell<u64>,
    done: std::collections::HashMap<Vec<u8>, Done, foldhash::fast::RandomState>,
    /// What the actions remembered on each action and target did: what a reverse action
    /// undoes, or, for an action that replaces (see `ActionSpec::replaces`), the same action
    /// with other params.
    by_target: std::collections::HashMap<Vec<u8>, Vec<Vec<u8>>, foldhash::fast::RandomState>,
}

struct Done {
    /// Its index in the plan's actions, which go from SOP to SOP with this.
    row: usize,
    output: Option<Value>,
}

impl Planned {
    /// Remembers an action done. Of an action that replaces, only the last one done on a
    /// target holds (isolating `full`, then `selective`, then `full` again does the third).
    fn remember(&mut self, effect: Effect, replaces: bool, row: usize, output: Option<Value>) {
        let acted_on = &effect.what[..effect.acted_on];
        if replaces {
            self.undone(acted_on);
        }
        self.by_target
            .entry(acted_on.to_vec())
            .or_default()
            .push(effect.what.clone());
        self.done.insert(effect.what, Done { row, output });
    }

    /// Forgets what actions on a target (`acted_on`) did: done again after a reverse action,
    /// they are no repeats.
    fn undone(&mut self, acted_on: &[u8]) {
        for before in self.by_target.remove(acted_on).unwrap_or_default() {
            self.done.remove(&before);
        }
    }
}

/// Records a step's final status in `steps.<id>`.
fn settle(frame: &mut Frame, id: &str, status: StepStatus) {
    if let Some((i, _)) = frame.gb.steps_type.field(id) {
        if let Some(agg) = frame.aggs.get_mut(i) {
            agg.status = Some(status);
        }
        publish_step(frame, i);
    }
}

/// Whether `e` reads the results of a step of `frame` that awaits approval (`steps.<id>…`, or
/// `steps` whole while any does), or inputs computed from such results.
fn reads_waiting(e: &Expr, frame: &Frame) -> bool {
    let waiting = |i: usize| {
        frame
            .aggs
            .get(i)
            .is_some_and(|a| a.status == Some(StepStatus::AwaitingApproval))
    };
    e.paths().any(|path| match path {
        [root, id, ..] if root == "steps" => frame
            .gb
            .steps_type
            .field(id)
            .is_some_and(|(i, _)| waiting(i)),
        [root] if root == "steps" => (0..frame.aggs.len()).any(waiting),
        [root, ..] if root == "inputs" => frame.inputs_waiting,
        _ => false,
    })
}

/// [`reads_waiting`] for a param or input value.
fn param_reads_waiting(v: &ParamValue, frame: &Frame) -> bool {
    match v {
        ParamValue::Expr(e) => reads_waiting(e, frame),
        ParamValue::Template(t) => t.exprs().any(|e| reads_waiting(e, frame)),
        ParamValue::Const(_) => false,
    }
}

/// `param `a``, `params `a` and `b``.
fn plural_names(word: &str, names: &[&str]) -> String {
    let quoted: Vec<String> = names.iter().map(|n| format!("`{n}`")).collect();
    match quoted.as_slice() {
        [one] => format!("{word} {one}"),
        [init @ .., last] => format!("{word}s {} and {last}", init.join(", ")),
        [] => String::new(),
    }
}

/// The status of a step run behind an ungranted gate: waiting, unless it would not run even
/// once approved (skipped by its condition, or blocked).
fn still_waiting(ran: StepStatus) -> StepStatus {
    match ran {
        StepStatus::Skipped | StepStatus::Blocked => ran,
        _ => StepStatus::AwaitingApproval,
    }
}

/// `prefix` (`group.` or empty) followed by a step id, without the formatting machinery, and
/// without a copy when there is no prefix (most steps): this runs for every step of every plan.
fn join_path<'a>(prefix: &str, id: &'a str) -> Cow<'a, str> {
    if prefix.is_empty() {
        return Cow::Borrowed(id);
    }
    let mut path = String::with_capacity(prefix.len() + id.len());
    path.push_str(prefix);
    path.push_str(id);
    Cow::Owned(path)
}

/// Who approves `spec` when a rule names `role`: only a Workspace Owner approves a high-impact
/// action (the product's rule), whatever the rule says; the text says so when it changes who.
fn high_impact_role(spec: &ActionSpec, role: Role) -> (Role, &'static str) {
    if spec.impact == Impact::High && role != Role::WorkspaceOwner {
        (
            Role::WorkspaceOwner,
            "; high-impact: only a Workspace Owner approves it",
        )
    } else {
        (role, "")
    }
}

/// The reason of an action that would run.
fn runs_via(app: riposte_dsl::catalog::Application) -> &'static str {
    use riposte_dsl::catalog::Application as A;
    match app {
        A::Mde => "runs via Riposte for MDE",
        A::GamebooksMde => "runs via Riposte Gamebooks for MDE",
        A::GamebooksIdentity => "runs via Riposte Gamebooks for Identity",
        A::GamebooksEmail => "runs via Riposte Gamebooks for Email",
        A::Api => "runs via Riposte API",
        A::CrowdStrikeResponse => "runs via CrowdStrike Falcon response API client",
        A::SentinelOneResponse => "runs via SentinelOne response service user",
    }
}

fn eval_param(v: &ParamValue, env: &Env) -> Value {
    match v {
        ParamValue::Const(v) => v.clone(),
        ParamValue::Template(t) => Value::from(t.render(env)),
        ParamValue::Expr(e) => e.eval(env),
    }
}

/// The fields of `steps` of the steps inside a group, nested groups included (a called
/// gamebook's steps are its own frame's).
fn inner_fields(gb: &c::Gamebook, steps: &[c::Step], into: &mut Vec<usize>) {
    for s in steps {
        if let Some((i, _)) = gb.steps_type.field(&s.id) {
            into.push(i);
        }
        if let c::StepKind::Group(inner) = &s.kind {
            inner_fields(gb, inner, into);
        }
    }
}

/// What protection rules are checked against: an entity's id (or, for what an action acts
/// through that is no entity of the incident, the name it goes by), its kind when known, the
/// other identifiers and names it is known by, and its tags.
#[derive(Clone, Copy)]
struct Subject<'a> {
    id: &'a str,
    kind: Option<EntityKind>,
    identifiers: &'a [&'a str],
    names: &'a [&'a str],
    tags: &'a [Value],
}

/// What a protection rule (of an SOP or of a workspace) matches an entity by.
#[derive(Clone, Copy, PartialEq, Eq)]
enum RuleKind {
    Id,
    Name,
    Tag,
}

impl RuleKind {
    fn as_str(self) -> &'static str {
        match self {
            RuleKind::Id => "id",
            RuleKind::Name => "name",
            RuleKind::Tag => "tag",
        }
    }
}

/// Field `i` of `steps`' results so far, taken out (an item's branch starts from none), and
/// unpublished: a step the branch never settles (an empty inner for-each) reads as null, not
/// as an earlier item's.
fn take_agg(frame: &mut Frame, i: usize) -> StepAgg {
    if let Some(Value::Record(rec)) = frame.vars.get_mut(STEPS_SLOT) {
        rec.set(i, Value::Null);
    }
    frame
        .aggs
        .get_mut(i)
        .map(std::mem::take)
        .unwrap_or_default()
}

/// Merges one item's branch of the group's steps (`inner`, in `frame`) into what the earlier
/// items did (`earlier`, taken out before the branch ran).
fn merge_branches(frame: &mut Frame, inner: &[usize], earlier: &mut Vec<StepAgg>) {
    for (&i, before) in inner.iter().zip(earlier.drain(..)) {
        if let Some(agg) = frame.aggs.get_mut(i) {
            *agg = merge_branch(before, std::mem::take(agg));
        }
    }
}

/// A step's results over the items of an enclosing for-each group: the earlier items'
/// (`before`) and one more item's branch. Counts and outputs add up; the status combines the
/// branches' as a for-each step combines its items' (waiting, then failed, then blocked,
/// skipped or rejected when every branch was, else succeeded). A failure an error handler
/// took is still the step's failure here, though it did not fail the group.
fn merge_branch(before: StepAgg, branch: StepAgg) -> StepAgg {
    let mut merged = before;
    if let Some(status) = branch.status {
        merged.branches.push(status);
        merged.status = Some(merged.branches.status());
    }
    merged.outputs.extend(branch.outputs);
    merged.succeeded = merged.succeeded.saturating_add(branch.succeeded);
    merged.failed = merged.failed.saturating_add(branch.failed);
    merged.blocked = merged.blocked.saturating_add(branch.blocked);
    merged
}

/// Adds one item's result to `steps.<id>` and republishes that field of the `steps` record.
fn record(frame: &mut Frame, id: &str, status: StepStatus, output: Option<Value>) {
    let Some((i, _)) = frame.gb.steps_type.field(id) else {
        return;
    };
    if let Some(agg) = frame.aggs.get_mut(i) {
        match status {
            StepStatus::Succeeded => agg.succeeded += 1,
            StepStatus::Failed => agg.failed += 1,
            StepStatus::Blocked => agg.blocked += 1,
            _ => {}
        }
        agg.outputs.push(output.unwrap_or(Value::Null));
        agg.status = Some(status);
    }
    // Published once the whole step is done (`run_step`): no expression of the step itself can
    // read `steps.<its id>`, so per-item publishing would be wasted work.
}

/// Sets `vars[steps]` to an empty `steps` record (every step null).
fn publish_steps(frame: &mut Frame) {
    let ty = frame.gb.steps_type.clone();
    if let Some(slot) = frame.vars.get_mut(STEPS_SLOT) {
        *slot = Value::Record(RecordValue::filled(ty, |_| {}));
    }
}

/// Rebuilds field `i` of `vars[steps]` from its accumulated results. The record is shared
/// only while an evaluation holds it, so this updates in place.
fn publish_step(frame: &mut Frame, i: usize) {
    let (Some(f), Some(agg)) = (frame.gb.steps_type.fields.get(i), frame.aggs.get(i)) else {
        return;
    };
    let Type::Record(rt) = &f.ty else { return };
    let Some(status) = agg.status else { return };
    // Field order of `riposte_dsl::compile::step_record`.
    let fields = [
        status.value(),
        agg.outputs.last().cloned().unwrap_or(Value::Null),
        Value::list(agg.outputs.iter().cloned()),
        Value::Number(f64::from(agg.succeeded)),
        Value::Number(f64::from(agg.failed)),
        Value::Number(f64::from(agg.blocked)),
    ];
    let value = Value::Record(RecordValue::filled(rt.clone(), |slots| {
        for (slot, v) in slots.iter_mut().zip(fields) {
            *slot = v;
        }
    }));
    if let Some(Value::Record(rec)) = frame.vars.get_mut(STEPS_SLOT) {
        rec.set(i, value);
    }
}

/// The record type of `steps.<id>.output`.
fn output_record_type(gb: &c::Gamebook, id: &str) -> Option<Arc<RecordType>> {
    let (_, f) = gb.steps_type.field(id)?;
    let Type::Record(step) = &f.ty else {
        return None;
    };
    let (_, out) = step.field("output")?;
    match &out.ty {
        Type::Record(r) => Some(r.clone()),
        _ => None,
    }
}

/// Positions of the common entity fields (see `riposte_dsl::model::COMMON_FIELDS`): every
/// entity record starts with them, so they are read by index, without lookups or copies.
const ENTITY_ID: usize = 0;
const ENTITY_KIND: usize = 1;
const ENTITY_NAME: usize = 2;
const ENTITY_TAGS: usize = 5;
const ENTITY_PROVIDER: usize = 8;

/// A common string field of an entity value.
fn entity_str(v: &Value, index: usize) -> Option<&str> {
    match v {
        Value::Record(r) if r.ty().entity.is_some() || r.ty().name == "entity" => {
            match r.fields().get(index)? {
                Value::String(s) => Some(s),
                _ => None,
            }
        }
        _ => None,
    }
}

/// The field `name` of a record value, by name (for the few fields read this way).
fn record_field<'v>(v: &'v Value, name: &str) -> Option<&'v Value> {
    match v {
        Value::Record(r) => r.fields().get(r.ty().field(name)?.0),
        _ => None,
    }
}

/// The tags of an entity value.
/// The fields of an entity of `kind` a protection rule also matches: for an `id` rule, what
/// the sources identify it by besides the id Riposte builds from the strongest of them; for a
/// `name` rule, besides the name, the host name as Defender shows it (the FQDN) or a display
/// name.
fn known_by(kind: EntityKind) -> (&'static [&'static str], &'static [&'static str]) {
    match kind {
        EntityKind::Device => (&["mde_device_id", "aad_device_id"], &["hostname"]),
        EntityKind::User => (&["aad_user_id", "upn", "sid"], &["display_name"]),
        EntityKind::Mailbox => (&["primary_address", "upn"], &["display_name"]),
        EntityKind::Ip => (&["address"], &[]),
        EntityKind::Url => (&["url"], &[]),
        EntityKind::File => (&["sha256", "sha1", "md5"], &[]),
        EntityKind::Email => (&["network_message_id", "internet_message_id"], &[]),
        EntityKind::CloudApp => (&[], &["display_name"]),
        EntityKind::Process => (&[], &[]),
    }
}

fn entity_tags(v: &Value) -> &[Value] {
    match v {
        Value::Record(r) if r.ty().entity.is_some() || r.ty().name == "entity" => {
            match r.fields().get(ENTITY_TAGS) {
                Some(Value::List(items)) => items,
                _ => &[],
            }
        }
        _ => &[],
    }
}

fn provider_named(s: &str) -> Option<Provider> {
    match s {
        "microsoft" => Some(Provider::Microsoft),
        "crowdstrike" => Some(Provider::CrowdStrike),
        "sentinelone" => Some(Provider::SentinelOne),
        _ => None,
    }
}

/// The plan's view of an entity value.
fn entity_target(v: &Value) -> Option<Target> {
    match v {
        Value::Record(r) if r.ty().entity.is_some() || r.ty().name == "entity" => Some(Target {
            kind: entity_str(v, ENTITY_KIND).map_or_else(|| r.ty().name.clone(), str::to_string),
            id: entity_str(v, ENTITY_ID).unwrap_or_default().to_string(),
            name: entity_str(v, ENTITY_NAME).unwrap_or_default().to_string(),
        }),
        _ => None,
    }
}

/// The hash state for a gamebook called by the step at `path` of a run whose state is
/// `caller`, inside the for-each `items` of that run.
fn called_key_prefix(caller: &Sha256, path: &str, items: &[String], gb: &c::Gamebook) -> Sha256 {
    let mut h = caller.clone();
    hash_part(&mut h, path);
    hash_items(&mut h, items);
    hash_part(&mut h, &gb.name);
    hash_part(&mut h, &gb.version);
    h
}

fn hash_items(h: &mut Sha256, items: &[String]) {
    h.update((items.len() as u64).to_le_bytes());
    for item in items {
        hash_part(h, item);
    }
}

/// Why the inputs `inputs` of `gb`, some computed from `with`, are out of the contract the
/// gamebook declares, if they are: a required input computed to null, a text not among its
/// `values`, a duration not positive. Constants were checked when the library was compiled.
fn invalid_input(
    gb: &c::Gamebook,
    with: &[(String, ParamValue)],
    inputs: &Value,
) -> Option<String> {
    let Value::Record(record) = inputs else {
        return None;
    };
    for (name, given) in with {
        if matches!(given, ParamValue::Const(_)) {
            continue;
        }
        let Some(input) = gb.inputs.iter().find(|i| i.name == *name) else {
            continue;
        };
        let value = record.get(name).unwrap_or(&Value::Null);
        let problem = match value {
            Value::Null if input.default.is_none() => {
                Some("is required, and was computed to null".to_string())
            }
            Value::String(s) => input
                .values
                .as_ref()
                .filter(|allowed| !allowed.iter().any(|a| a == &**s))
                .map(|allowed| {
                    let allowed: Vec<String> = allowed.iter().map(|a| format!("`{a}`")).collect();
                    format!(
                        "was computed to `{}`, which is not one of {}",
                        riposte_dsl::diagnostic::clip(s, 80),
                        allowed.join(", ")
                    )
                }),
            Value::Duration(ms) if input.ty == riposte_dsl::types::Type::Duration && *ms <= 0 => {
                Some(format!(
                    "was computed to `{}`, which is not a duration (a duration is positive)",
                    riposte_dsl::duration::format_duration(*ms)
                ))
            }
            _ => None,
        };
        if let Some(problem) = problem {
            return Some(format!(
                "input `{name}` of gamebook `{}` {problem}: the gamebook does not run on it",
                gb.name
            ));
        }
    }
    None
}

/// Why the entity an action acts on besides its target (`acted`: its name, and the entities of
/// the incident it finds) cannot be named to the service, if it cannot: the name finds them only
/// by a field other than the one the service acts by (a file's device by its host name, as
/// Sentinel gives it for a host without an MDE id, where Defender for Endpoint names machines by
/// their MDE id). A name that finds no entity is passed on as it is.
fn named_otherwise(
    spec: &ActionSpec,
    (name, found): &(String, Vec<&Value>),
    provider: &ProviderSupport,
) -> Option<String> {
    let by = spec.acts_on.as_ref()?.named_by?;
    let first = found.first()?;
    let id_of = |e: &Value| match record_field(e, by) {
        Some(Value::String(s)) if !s.trim().is_empty() => Some(s.to_string()),
        _ => None,
    };
    if found
        .iter()
        .any(|e| id_of(e).is_some_and(|id| same_ignoring_case(&id, name)))
    {
        return None;
    }
    let kind = entity_str(first, ENTITY_KIND).unwrap_or("entity");
    let shown = entity_str(first, ENTITY_NAME).unwrap_or(name);
    let has = match id_of(first) {
        Some(id) => format!("that is `{id}`"),
        None => "it has none".to_string(),
    };
    Some(format!(
        "`{name}` names {kind} `{shown}`, but not by its `{by}`, which {} acts on it by \
         ({has})",
        provider.service
    ))
}

/// What tells one for-each item from another in action keys: an entity's id, else the item
/// itself as JSON, its first [`MAX_ITEM_IDENTITY_BYTES`] (items equal that far are told apart
/// by their place, as equal items are).
fn item_identity(item: &Value) -> String {
    match entity_str(item, ENTITY_ID) {
        Some(id) => id.to_string(),
        None => {
            let mut out = String::new();
            // Past the limit, its beginning.
            let _ = item.write_json(&mut riposte_dsl::value::BoundedText {
                out: &mut out,
                max: MAX_ITEM_IDENTITY_BYTES,
            });
            out
        }
    }
}

/// The most of an item's JSON [`item_identity`] writes. An item built by an expression can be
/// far larger written out than the work of building it (a list holding one long text a
/// million times over): written in full, one for-each would take minutes and gigabytes.
const MAX_ITEM_IDENTITY_BYTES: usize = 4096;

/// Length-prefixed fields: no two different inputs give the same byte stream.
fn hash_part(h: &mut Sha256, part: &str) {
    h.update((part.len() as u64).to_le_bytes());
    h.update(part.as_bytes());
}

/// The hash state after the parts of [`finish_key`] that every action of one gamebook run
/// shares; computed once per run, not once per action. `workspace` is the canonical name
/// ([`canonical_name`]).
fn key_prefix(workspace: &str, source: &str, incident: &str, gb: &c::Gamebook) -> Sha256 {
    let mut h = Sha256::new();
    // The source with the id: a Sentinel incident and a Defender one may share an id.
    for part in [
        workspace,
        source,
        incident,
        gb.name.as_str(),
        gb.version.as_str(),
    ] {
        hash_part(&mut h, part);
    }
    h
}

/// The idempotency key of an action (docs/plan-format.md, `key`): SHA-256 over the shared
/// prefix, the step path, the for-each items, the target id, the target's fields the action's
/// services act on it by, and the params (canonical JSON), first 128 bits in hex.
fn finish_key(
    prefix: &Sha256,
    step: &str,
    items: &[String],
    spec: &ActionSpec,
    target: Option<&Value>,
    params: &serde_json::Map<String, serde_json::Value>,
) -> String {
    let target_id = target
        .and_then(|t| entity_str(t, ENTITY_ID))
        .unwrap_or_default();
    let mut h = prefix.clone();
    hash_part(&mut h, step);
    hash_items(&mut h, items);
    hash_part(&mut h, target_id);
    // What the call names the target by (a device's `mde_device_id`, the device a file is
    // quarantined on), which the entity id need not tell: an id of a hand-written file, or a
    // file seen on another device first. One tag byte per field the action needs (the step's
    // action, and so which fields, is fixed by the gamebook version the key covers): absent,
    // the id's own key (the usual case, hashed once), or another value, after it.
    if let Some(t) = target {
        let key = target_id.split_once(':').map_or(target_id, |(_, key)| key);
        // Of each group of fields the call takes any one of, the first the target has: the
        // one it names the target by.
        for group in spec.providers.iter().flat_map(|p| p.needs.iter()) {
            let named_by = group
                .iter()
                .find_map(|field| record_field(t, field).filter(|v| !v.is_null()));
            match named_by {
                None => h.update([0]),
                Some(Value::String(s)) if s.eq_ignore_ascii_case(key) => h.update([1]),
                Some(Value::String(s)) => {
                    h.update([2]);
                    hash_part(&mut h, s);
                }
                Some(other) => {
                    h.update([2]);
                    hash_part(&mut h, &other.to_json().to_string());
                }
            }
        }
    }
    // The params are serialized into one reused buffer and hashed in one call: serializing
    // them straight into the hasher costs a buffered update per JSON token.
    thread_local! {
        static PARAMS: RefCell<Vec<u8>> = const { RefCell::new(Vec::new()) };
    }
    PARAMS.with(|buf| {
        let mut fresh = Vec::new();
        let mut borrowed = buf.try_borrow_mut();
        let buf = match borrowed.as_deref_mut() {
            Ok(buf) => buf,
            Err(_) => &mut fresh,
        };
        buf.clear();
        // serde_json maps are sorted by key, so this text is canonical.
        if serde_json::to_writer(&mut *buf, params).is_err() {
            buf.clear();
            buf.extend_from_slice(b"unserializable params");
        }
        h.update(&*buf);
    });
    let digest = h.finalize();
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(32);
    for b in &digest[..16] {
        out.push(char::from(HEX[usize::from(b >> 4)]));
        out.push(char::from(HEX[usize::from(b & 15)]));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An item's identity is at most its first bytes written out: an item built in a few steps
    /// can be an exabyte written out (2^60 copies of one text).
    #[test]
    fn item_identities_are_bounded() {
        let mut huge = Value::from("item");
        for _ in 0..60 {
            huge = Value::list([huge.clone(), huge]);
        }
        let id = item_identity(&huge);
        assert!(id.len() <= MAX_ITEM_IDENTITY_BYTES + 1, "{}", id.len());
        assert!(id.starts_with("[[[["));
        let small = Value::list([Value::from("a"), Value::Number(1.0)]);
        assert_eq!(item_identity(&small), r#"["a",1]"#);
    }

    #[test]
    fn shared_status_values_spell_the_statuses() {
        for s in [
            StepStatus::Succeeded,
            StepStatus::Failed,
            StepStatus::Skipped,
            StepStatus::Blocked,
            StepStatus::AwaitingApproval,
            StepStatus::Cancelled,
        ] {
            assert_eq!(s.value(), Value::from(s.as_str()), "{s:?}");
        }
    }
}
