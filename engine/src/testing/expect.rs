//! Checking a plan against a test's `expect:`: which expectations failed, with enough of the
//! plan beside each to see why (the nearest actions and how they differ, the plan's reasons).

use std::collections::BTreeSet;

use serde::Serialize;

use super::file::{Expect, ExpectAction, ExpectClassification, ExpectTask, Text};
use crate::executor::target_key_matches;
use crate::plan::model::{
    targets_the_incident, Plan, PlannedAction, PlannedTask, Target, TaskStatus,
};
use crate::scheduler::{gamebook_matches, names_step_of};

/// Most plan entries shown beside one failed expectation.
const MAX_SHOWN: usize = 5;
/// Most unexpected actions (and tasks) listed one by one for `only: true`.
const MAX_UNEXPECTED: usize = 20;

/// One way a test failed.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Failure {
    /// The test could not run: a bad test file, an unreadable incident, no such workspace.
    Error {
        message: String,
    },
    /// A `fail` entry matched no action the run sent to the executor.
    UnmatchedFail {
        message: String,
    },
    /// An `approve` entry approved nothing in the run.
    UnmatchedApprove {
        message: String,
    },
    /// A `reject` entry rejected nothing in the run.
    UnmatchedReject {
        message: String,
    },
    /// A `time_out` entry timed out no gate in the run.
    UnmatchedTimeOut {
        message: String,
    },
    Eligibility {
        expected: bool,
        actual: bool,
        /// The prerequisites that failed.
        failed_checks: Vec<String>,
    },
    Classification {
        expected: String,
        actual: String,
    },
    Sops {
        missing: Vec<String>,
        unexpected: Vec<String>,
    },
    /// No plan action matches an expected one.
    MissingAction {
        line: u64,
        expected: String,
        /// Plan actions of the same step, action and target, with the fields that differ.
        near: Vec<Near<ActionView>>,
        #[serde(skip_serializing_if = "Option::is_none")]
        hint: Option<String>,
    },
    /// `count:` differs from the number of plan actions that match.
    ActionCount {
        line: u64,
        expected: String,
        count: usize,
        actual: usize,
        matched: Vec<ActionView>,
    },
    /// `ordered: true` and the action comes before one expected earlier.
    OutOfOrder {
        line: u64,
        expected: String,
        /// The line of the expectation it should come after, and the plan position (from 1) of
        /// the action that one matched.
        after_line: u64,
        after_position: usize,
        /// For an entry with `count`, the plan position (from 1) of its first action, which
        /// comes at or before `after_position`.
        #[serde(skip_serializing_if = "Option::is_none")]
        position: Option<usize>,
    },
    /// `only: true` and no expected action matches this plan action.
    UnexpectedAction {
        action: ActionView,
    },
    MissingTask {
        line: u64,
        expected: String,
        /// Plan tasks of the same origin and title, or else every task, with the fields
        /// that differ.
        near: Vec<Near<TaskView>>,
    },
    TaskCount {
        line: u64,
        expected: String,
        count: usize,
        actual: usize,
    },
    UnexpectedTask {
        task: TaskView,
    },
    /// More unexpected entries than are listed one by one.
    MoreUnexpected {
        what: &'static str,
        count: usize,
    },
    Summary {
        field: &'static str,
        expected: usize,
        actual: usize,
    },
}

/// A plan entry close to an expectation, and how it differs.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Near<T> {
    #[serde(flatten)]
    pub entry: T,
    /// `status: expected blocked, got awaiting_approval`.
    pub differences: Vec<String>,
}

/// A plan action, as failures show it.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ActionView {
    pub sop: String,
    pub gamebook: String,
    pub step: String,
    pub action: String,
    /// `name (id)`, `incident` or null.
    pub target: Option<String>,
    pub status: &'static str,
    pub reason: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub approver: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub approval_reason: Option<String>,
    /// `succeeded after 1 attempt(s)`, `failed after 3 attempt(s): device offline`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub execution: Option<String>,
}

impl ActionView {
    pub fn of(a: &PlannedAction) -> ActionView {
        let target = match &a.target {
            Some(t) if t.name.is_empty() || t.name == t.id => Some(t.id.clone()),
            Some(t) => Some(format!("{} ({})", t.name, t.id)),
            None if targets_the_incident(a.action) => Some("incident".to_string()),
            None => None,
        };
        ActionView {
            sop: a.sop.clone(),
            gamebook: a.gamebook.clone(),
            step: a.step.clone(),
            action: a.action.to_string(),
            target,
            status: a.status.as_str(),
            reason: a.reason.clone(),
            approver: a.approval.as_ref().map(|ap| ap.role),
            approval_reason: a.approval.as_ref().map(|ap| ap.reason.clone()),
            execution: a.execution.as_ref().map(|e| match &e.error {
                Some(err) => format!("{} after {} attempt(s): {err}", e.outcome, e.attempts),
                None => format!("{} after {} attempt(s)", e.outcome, e.attempts),
            }),
        }
    }
}

/// A plan task, as failures show it.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct TaskView {
    pub sop: String,
    pub gamebook: String,
    pub step: String,
    pub title: String,
    pub role: &'static str,
}

impl TaskView {
    pub fn of(t: &PlannedTask) -> TaskView {
        TaskView {
            sop: t.sop.clone(),
            gamebook: t.gamebook.clone(),
            step: t.step.clone(),
            title: t.title.clone(),
            role: t.role,
        }
    }
}

/// Every way `plan` falls short of `expect`, in the order the expectations are written.
pub fn check(plan: &Plan, expect: &Expect) -> Vec<Failure> {
    let mut out = Vec::new();
    if let Some(expected) = expect.eligible {
        let failed: Vec<String> = plan
            .eligibility
            .iter()
            .filter(|c| !c.passed)
            .map(|c| format!("{}: {}", c.check, c.detail))
            .collect();
        let actual = failed.is_empty();
        if actual != expected {
            out.push(Failure::Eligibility {
                expected,
                actual,
                failed_checks: failed,
            });
        }
    }
    if let Some(c) = &expect.classification {
        check_classification(plan, &c.value, &mut out);
    }
    if let Some(sops) = &expect.sops {
        let want: BTreeSet<&str> = sops.iter().map(|s| s.value.as_str()).collect();
        let got: BTreeSet<&str> = plan
            .sops
            .iter()
            .filter(|s| s.matched)
            .map(|s| s.name.as_str())
            .collect();
        let missing: Vec<String> = want.difference(&got).map(|s| s.to_string()).collect();
        let unexpected: Vec<String> = got.difference(&want).map(|s| s.to_string()).collect();
        if !missing.is_empty() || !unexpected.is_empty() {
            out.push(Failure::Sops {
                missing,
                unexpected,
            });
        }
    }
    check_actions(plan, expect, &mut out);
    check_tasks(plan, expect, &mut out);
    if let Some(s) = &expect.summary {
        let fields = [
            ("would_run", s.would_run, plan.summary.would_run),
            (
                "awaiting_approval",
                s.awaiting_approval,
                plan.summary.awaiting_approval,
            ),
            ("blocked", s.blocked, plan.summary.blocked),
            ("skipped", s.skipped, plan.summary.skipped),
            ("rejected", s.rejected, plan.summary.rejected),
            ("failed", s.failed, plan.summary.failed),
        ];
        for (field, expected, actual) in fields {
            if let Some(expected) = expected.filter(|e| *e != actual) {
                out.push(Failure::Summary {
                    field,
                    expected,
                    actual,
                });
            }
        }
    }
    out
}

fn check_classification(plan: &Plan, expected: &ExpectClassification, out: &mut Vec<Failure>) {
    let actual = match &plan.classification {
        None => "none".to_string(),
        Some(c) => format!(
            "{{classification: {}, reason: {}, sop: {}, rule: {}, confidence: {}}}",
            c.classification,
            c.reason,
            c.sop,
            yaml_str(&c.rule),
            c.confidence
        ),
    };
    let ok = match (expected, &plan.classification) {
        (ExpectClassification::None, None) => true,
        (ExpectClassification::Is(f), Some(c)) => {
            f.classification
                .as_deref()
                .is_none_or(|v| v == c.classification)
                && f.reason.as_deref().is_none_or(|v| v == c.reason)
                && f.sop.as_deref().is_none_or(|v| v == c.sop)
                && f.rule.as_deref().is_none_or(|v| v == c.rule)
                && f.confidence.is_none_or(|v| v == c.confidence)
        }
        _ => false,
    };
    if !ok {
        let expected = match expected {
            ExpectClassification::None => "none".to_string(),
            ExpectClassification::Is(f) => flow(&[
                (
                    "classification",
                    f.classification.as_ref().map(|t| t.text.clone()),
                ),
                ("reason", f.reason.clone()),
                ("sop", f.sop.as_ref().map(|t| t.text.clone())),
                ("rule", f.rule.clone()),
                ("confidence", f.confidence.map(|c| c.to_string())),
            ]),
        };
        out.push(Failure::Classification { expected, actual });
    }
}

/// The positions of the `items` an expectation `matches`, each marked in `covered` (the
/// plan's entries some expectation names, for "nothing else").
fn mark_matches<T>(items: &[T], covered: &mut [bool], matches: impl Fn(&T) -> bool) -> Vec<usize> {
    let mut matched = Vec::new();
    for (i, (item, covered)) in items.iter().zip(covered).enumerate() {
        if matches(item) {
            *covered = true;
            matched.push(i);
        }
    }
    matched
}

fn check_actions(plan: &Plan, expect: &Expect, out: &mut Vec<Failure>) {
    let entries = expect.actions.as_deref().unwrap_or_default();
    let mut covered = vec![false; plan.actions.len()];
    // The plan position after the last action matched in order, and that expectation's line.
    let (mut cursor, mut cursor_line) = (0, 0);
    for entry in entries {
        let e = &entry.value;
        let line = entry.referenced.line();
        let matched = mark_matches(&plan.actions, &mut covered, |a| action_matches(e, a));
        match e.count {
            Some(count) if count != matched.len() => out.push(Failure::ActionCount {
                line,
                expected: describe_action(e),
                count,
                actual: matched.len(),
                matched: matched
                    .iter()
                    .take(MAX_SHOWN)
                    .filter_map(|&i| plan.actions.get(i))
                    .map(ActionView::of)
                    .collect(),
            }),
            None if matched.is_empty() => out.push(missing_action(plan, e, line)),
            _ => {}
        }
        if expect.ordered && !matched.is_empty() {
            // An entry with `count` stands for all the actions it matches, so every one of
            // them must follow the previous entry's; the next entry follows the last of them.
            // Without `count`, the first matching action that follows is the entry's.
            let (first, last) = match e.count {
                Some(_) => (matched.first(), matched.last()),
                None => {
                    let next = matched.iter().find(|&&i| i >= cursor);
                    (next, next)
                }
            };
            match (first, last) {
                (Some(&first), Some(&last)) if first >= cursor => {
                    (cursor, cursor_line) = (last + 1, line)
                }
                _ => out.push(Failure::OutOfOrder {
                    line,
                    expected: describe_action(e),
                    after_line: cursor_line,
                    after_position: cursor,
                    position: e.count.and(first.map(|&i| i + 1)),
                }),
            }
        }
    }
    if expect.only {
        let unexpected: Vec<&PlannedAction> = plan
            .actions
            .iter()
            .zip(&covered)
            .filter(|(_, c)| !**c)
            .map(|(a, _)| a)
            .collect();
        for a in unexpected.iter().take(MAX_UNEXPECTED) {
            out.push(Failure::UnexpectedAction {
                action: ActionView::of(a),
            });
        }
        if unexpected.len() > MAX_UNEXPECTED {
            out.push(Failure::MoreUnexpected {
                what: "actions",
                count: unexpected.len() - MAX_UNEXPECTED,
            });
        }
    }
}

fn missing_action(plan: &Plan, e: &ExpectAction, line: u64) -> Failure {
    let has_identity = e.sop.is_some()
        || e.gamebook.is_some()
        || e.step.is_some()
        || e.action.is_some()
        || e.target.is_some();
    let mut near: Vec<Near<ActionView>> = Vec::new();
    if has_identity {
        near = plan
            .actions
            .iter()
            .filter(|a| identity_matches(e, a))
            .take(MAX_SHOWN)
            .map(|a| Near {
                entry: ActionView::of(a),
                differences: differences(e, a),
            })
            .collect();
        // Nothing of that identity: the same step at least (the target or action may be off).
        if near.is_empty() {
            if let Some(step) = &e.step {
                near = plan
                    .actions
                    .iter()
                    .filter(|a| names_step_of(step, &a.gamebook, &a.step))
                    .take(MAX_SHOWN)
                    .map(|a| Near {
                        entry: ActionView::of(a),
                        differences: identity_differences(e, a),
                    })
                    .collect();
            }
        }
    }
    // Step names were checked against the library when the test file was read.
    let hint = match &e.step {
        Some(step) if near.is_empty() => Some(format!(
            "the plan has no action of step `{step}`: its SOP or gamebook did not match, or its for-each had no items"
        )),
        _ => None,
    };
    Failure::MissingAction {
        line,
        expected: describe_action(e),
        near,
        hint,
    }
}

fn check_tasks(plan: &Plan, expect: &Expect, out: &mut Vec<Failure>) {
    let entries = expect.tasks.as_deref().unwrap_or_default();
    let mut covered = vec![false; plan.tasks.len()];
    for entry in entries {
        let e = &entry.value;
        let line = entry.referenced.line();
        let matched = mark_matches(&plan.tasks, &mut covered, |t| task_matches(e, t));
        match e.count {
            Some(count) if count != matched.len() => out.push(Failure::TaskCount {
                line,
                expected: describe_task(e),
                count,
                actual: matched.len(),
            }),
            None if matched.is_empty() => out.push(Failure::MissingTask {
                line,
                expected: describe_task(e),
                near: near_tasks(plan, e),
            }),
            _ => {}
        }
    }
    if expect.only {
        let unexpected: Vec<&PlannedTask> = plan
            .tasks
            .iter()
            .zip(&covered)
            .filter(|(_, c)| !**c)
            .map(|(t, _)| t)
            .collect();
        for t in unexpected.iter().take(MAX_UNEXPECTED) {
            out.push(Failure::UnexpectedTask {
                task: TaskView::of(t),
            });
        }
        if unexpected.len() > MAX_UNEXPECTED {
            out.push(Failure::MoreUnexpected {
                what: "tasks",
                count: unexpected.len() - MAX_UNEXPECTED,
            });
        }
    }
}

/// A target by id (with or without its `kind:` prefix) or name, case-insensitive; `incident`
/// for incident actions.
pub fn target_matches(pattern: &str, target: Option<&Target>, action: &str) -> bool {
    match target {
        Some(t) => target_key_matches(pattern, &t.id, &t.name),
        None => pattern.eq_ignore_ascii_case("incident") && targets_the_incident(action),
    }
}

fn contains_ci(haystack: &str, needle: &str) -> bool {
    haystack.to_lowercase().contains(&needle.to_lowercase())
}

fn identity_matches(e: &ExpectAction, a: &PlannedAction) -> bool {
    e.sop.as_deref().is_none_or(|s| s == a.sop)
        && e.gamebook
            .as_deref()
            .is_none_or(|g| gamebook_matches(g, &a.gamebook))
        && e.step
            .as_deref()
            .is_none_or(|s| names_step_of(s, &a.gamebook, &a.step))
        && e.action
            .as_deref()
            .is_none_or(|p| riposte_dsl::checked::action_matches(p, a.action))
        && e.target
            .as_deref()
            .is_none_or(|t| target_matches(t, a.target.as_ref(), a.action))
}

/// Whether plan action `a` has every field `e` gives.
pub fn action_matches(e: &ExpectAction, a: &PlannedAction) -> bool {
    identity_matches(e, a) && differences(e, a).is_empty()
}

/// The state fields (status, reason, approver, execution) where `a` differs from `e`.
fn differences(e: &ExpectAction, a: &PlannedAction) -> Vec<String> {
    let mut d = Vec::new();
    for (k, want) in e.params.iter().flat_map(|p| p.value.iter()) {
        let got = a.params.get(k);
        let ty = riposte_dsl::catalog::lookup(a.action)
            .and_then(|spec| spec.param(k))
            .map(|p| p.ty);
        // An expected null is a param the action does not have (a param computed to null is
        // left out of it).
        // One not known until a step it reads runs is neither absent nor any value yet.
        let pending = a.pending_params.contains(&k.as_str());
        let holds = match (got, want) {
            _ if pending => false,
            (None | Some(serde_json::Value::Null), serde_json::Value::Null) => true,
            (Some(g), _) => param_eq(ty, g, want),
            (None, _) => false,
        };
        if !holds {
            d.push(format!(
                "params.{k}: expected {want}, got {}",
                match got {
                    _ if pending => "a value known only once the step it reads has run".into(),
                    Some(g) => g.to_string(),
                    None => "none".to_string(),
                }
            ));
        }
    }
    if let Some(s) = e.status.filter(|s| s.status() != a.status) {
        d.push(format!(
            "status: expected {}, got {}",
            s.status().as_str(),
            a.status.as_str()
        ));
    }
    let approval_reason = a.approval.as_ref().map_or("", |ap| ap.reason.as_str());
    if let Some(r) = e
        .reason_contains
        .as_deref()
        .filter(|r| !contains_ci(&a.reason, r) && !contains_ci(approval_reason, r))
    {
        let also = if approval_reason.is_empty() {
            String::new()
        } else {
            format!(" (approval: `{approval_reason}`)")
        };
        d.push(format!(
            "reason: expected to contain `{r}`, got `{}`{also}",
            a.reason
        ));
    }
    if let Some(r) = &e.approver {
        let got = a.approval.as_ref().map(|ap| ap.role);
        if got != Some(&**r) {
            d.push(format!(
                "approver: expected {r}, got {}",
                got.unwrap_or("none")
            ));
        }
    }
    let exec = a.execution.as_ref();
    if let Some(o) = e.outcome {
        let got = exec.map(|x| x.outcome);
        if got != Some(o.as_str()) {
            d.push(format!(
                "outcome: expected {}, got {}",
                o.as_str(),
                got.unwrap_or("none (not executed)")
            ));
        }
    }
    if let Some(n) = e.attempts {
        let got = exec.map(|x| x.attempts);
        if got != Some(n) {
            d.push(format!(
                "attempts: expected {n}, got {}",
                got.map_or_else(|| "none (not executed)".to_string(), |g| g.to_string())
            ));
        }
    }
    if let Some(err) = &e.error_contains {
        let got = exec.and_then(|x| x.error.as_deref());
        if !got.is_some_and(|g| contains_ci(g, err)) {
            d.push(format!(
                "error: expected to contain `{err}`, got {}",
                got.map_or_else(|| "none".to_string(), |g| format!("`{g}`"))
            ));
        }
    }
    d
}

/// A param as the plan has it against one a test expects, as values of the param's type: a
/// duration by its length (`14d` is the `2w` a plan writes), a severity ignoring case.
fn param_eq(
    ty: Option<riposte_dsl::catalog::ParamType>,
    got: &serde_json::Value,
    want: &serde_json::Value,
) -> bool {
    use riposte_dsl::catalog::ParamType;
    use serde_json::Value as J;
    match (ty, got, want) {
        (Some(ParamType::Duration), J::String(g), J::String(w)) => {
            match (
                riposte_dsl::duration::parse_formatted(g),
                riposte_dsl::duration::parse_formatted(w),
            ) {
                (Some(g), Some(w)) => g == w,
                _ => g == w,
            }
        }
        (Some(ParamType::Severity), J::String(g), J::String(w)) => g.eq_ignore_ascii_case(w),
        _ => json_eq(got, want),
    }
}

/// JSON equality where numbers compare by value (`1` equals `1.0`).
fn json_eq(a: &serde_json::Value, b: &serde_json::Value) -> bool {
    use serde_json::Value as J;
    match (a, b) {
        (J::Number(x), J::Number(y)) => x.as_f64() == y.as_f64(),
        (J::Array(x), J::Array(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(x, y)| json_eq(x, y))
        }
        (J::Object(x), J::Object(y)) => {
            x.len() == y.len()
                && x.iter()
                    .all(|(k, v)| y.get(k).is_some_and(|w| json_eq(v, w)))
        }
        _ => a == b,
    }
}

/// The identity fields (sop, gamebook, action, target) where `a` differs from `e`, then the
/// state fields.
fn identity_differences(e: &ExpectAction, a: &PlannedAction) -> Vec<String> {
    let mut d = Vec::new();
    if let Some(s) = e.sop.as_deref().filter(|s| *s != a.sop) {
        d.push(format!("sop: expected {s}, got {}", a.sop));
    }
    if let Some(g) = e
        .gamebook
        .as_deref()
        .filter(|g| !gamebook_matches(g, &a.gamebook))
    {
        d.push(format!("gamebook: expected {g}, got {}", a.gamebook));
    }
    if let Some(p) = e
        .action
        .as_deref()
        .filter(|p| !riposte_dsl::checked::action_matches(p, a.action))
    {
        d.push(format!("action: expected {p}, got {}", a.action));
    }
    if let Some(t) = e
        .target
        .as_deref()
        .filter(|t| !target_matches(t, a.target.as_ref(), a.action))
    {
        let got = ActionView::of(a).target.unwrap_or_else(|| "none".into());
        d.push(format!("target: expected {t}, got {got}"));
    }
    d.extend(differences(e, a));
    d
}

/// Whether plan task `t` has every field `e` gives.
pub fn task_matches(e: &ExpectTask, t: &PlannedTask) -> bool {
    task_differences(e, t).is_empty()
}

/// Where plan task `t` differs from `e`: its origin and title first, then its role and status.
fn task_differences(e: &ExpectTask, t: &PlannedTask) -> Vec<String> {
    let title = |s: &str| s == t.title;
    // (field, expected, what the plan has, whether they match)
    let fields: [(&str, Option<&str>, &str, bool); 7] = [
        (
            "sop",
            e.sop.as_deref(),
            &t.sop,
            e.sop.as_deref().is_none_or(|s| s == t.sop),
        ),
        (
            "gamebook",
            e.gamebook.as_deref(),
            &t.gamebook,
            e.gamebook
                .as_deref()
                .is_none_or(|g| gamebook_matches(g, &t.gamebook)),
        ),
        (
            "step",
            e.step.as_deref(),
            &t.step,
            e.step
                .as_deref()
                .is_none_or(|s| names_step_of(s, &t.gamebook, &t.step)),
        ),
        (
            "title",
            e.title.as_deref(),
            &t.title,
            e.title.as_deref().is_none_or(title),
        ),
        (
            "title_contains",
            e.title_contains.as_deref(),
            &t.title,
            e.title_contains
                .as_deref()
                .is_none_or(|s| contains_ci(&t.title, s)),
        ),
        (
            "role",
            e.role.as_deref(),
            t.role,
            e.role.as_deref().is_none_or(|r| r == t.role),
        ),
        (
            "status",
            e.status.map(TaskStatus::as_str),
            t.status.as_str(),
            e.status.is_none_or(|s| s == t.status),
        ),
    ];
    fields
        .iter()
        .filter(|(_, _, _, same)| !same)
        .filter_map(|(field, want, got, _)| {
            want.map(|w| match *field {
                // A part of the title, as an action's `reason_contains` is shown.
                "title_contains" => format!("{field}: expected to contain `{w}`, got `{got}`"),
                _ => format!("{field}: expected {w}, got {got}"),
            })
        })
        .collect()
}

/// The plan tasks closest to `e`: those that differ only in role or status, or else every
/// task, each with how it differs.
fn near_tasks(plan: &Plan, e: &ExpectTask) -> Vec<Near<TaskView>> {
    let near = |t: &PlannedTask| Near {
        entry: TaskView::of(t),
        differences: task_differences(e, t),
    };
    let same_origin = |t: &&PlannedTask| {
        task_differences(e, t)
            .iter()
            .all(|d| d.starts_with("role:") || d.starts_with("status:"))
    };
    let close: Vec<Near<TaskView>> = plan
        .tasks
        .iter()
        .filter(same_origin)
        .take(MAX_SHOWN)
        .map(near)
        .collect();
    if close.is_empty() {
        plan.tasks.iter().take(MAX_SHOWN).map(near).collect()
    } else {
        close
    }
}

/// An expected action as a YAML flow mapping, fields in a fixed order.
pub fn describe_action(e: &ExpectAction) -> String {
    flow(&[
        ("sop", text(&e.sop)),
        ("gamebook", text(&e.gamebook)),
        ("step", text(&e.step)),
        ("action", text(&e.action)),
        ("target", text(&e.target)),
        (
            "params",
            e.params
                .as_ref()
                .map(|p| yaml_value(&serde_json::Value::Object(p.value.clone()))),
        ),
        ("status", e.status.map(|s| s.status().as_str().to_string())),
        ("reason_contains", e.reason_contains.clone()),
        ("approver", text(&e.approver)),
        ("outcome", e.outcome.map(|o| o.as_str().to_string())),
        ("attempts", e.attempts.map(|n| n.to_string())),
        ("error_contains", e.error_contains.clone()),
        ("count", e.count.map(|n| n.to_string())),
    ])
}

/// A name of an expectation as the text it is.
fn text(t: &Option<Text>) -> Option<String> {
    t.as_deref().map(str::to_string)
}

/// An expected task as a YAML flow mapping.
pub fn describe_task(e: &ExpectTask) -> String {
    flow(&[
        ("sop", text(&e.sop)),
        ("gamebook", text(&e.gamebook)),
        ("step", text(&e.step)),
        ("title", e.title.clone()),
        ("title_contains", e.title_contains.clone()),
        ("role", text(&e.role)),
        ("status", e.status.map(|s| s.as_str().to_string())),
        ("count", e.count.map(|n| n.to_string())),
    ])
}

/// A YAML flow mapping of the fields given; values are quoted where needed, except `params`
/// (already a flow mapping, [`yaml_value`]).
fn flow(fields: &[(&str, Option<String>)]) -> String {
    let parts: Vec<String> = fields
        .iter()
        .filter_map(|(k, v)| {
            v.as_ref().map(|v| match *k {
                // Flow text already, and numbers.
                "params" | "count" | "attempts" | "confidence" => format!("{k}: {v}"),
                _ => format!("{k}: {}", yaml_str(v)),
            })
        })
        .collect();
    format!("{{{}}}", parts.join(", "))
}

/// A JSON value as YAML flow text, as a test file would write it: `{isolation: full}`.
fn yaml_value(v: &serde_json::Value) -> String {
    use serde_json::Value as J;
    match v {
        J::String(s) => yaml_str(s),
        J::Array(items) => {
            let items: Vec<String> = items.iter().map(yaml_value).collect();
            format!("[{}]", items.join(", "))
        }
        J::Object(m) => {
            let members: Vec<String> = m
                .iter()
                .map(|(k, v)| format!("{}: {}", yaml_str(k), yaml_value(v)))
                .collect();
            format!("{{{}}}", members.join(", "))
        }
        other => other.to_string(),
    }
}

/// A string as a YAML flow scalar: plain when that reads back the same string, quoted
/// otherwise (`"true"`, `"42"` and `"null"` would read back as other types).
fn yaml_str(s: &str) -> String {
    let other_type = matches!(
        s.to_ascii_lowercase().as_str(),
        "true" | "false" | "null" | "yes" | "no" | "on" | "off"
    ) || s.parse::<f64>().is_ok();
    let plain = !s.is_empty()
        && !other_type
        && s.chars()
            .all(|c| c.is_alphanumeric() || matches!(c, '-' | '_' | '.' | '*' | '/' | '@' | ' '))
        && !s.starts_with(['-', '*', ' '])
        && !s.ends_with(' ');
    if plain {
        s.to_string()
    } else {
        serde_json::to_string(s).unwrap_or_else(|_| format!("\"{s}\""))
    }
}

#[cfg(test)]
mod tests {

    /// Params compare as values of their type: a duration by its length, however written.
    #[test]
    fn params_compare_as_their_type() {
        use riposte_dsl::catalog::ParamType;
        use serde_json::json;
        let d = Some(ParamType::Duration);
        assert!(super::param_eq(d, &json!("2w"), &json!("14d")));
        assert!(super::param_eq(d, &json!("1d"), &json!("24h")));
        assert!(!super::param_eq(d, &json!("2w"), &json!("7d")));
        assert!(super::param_eq(d, &json!("1h30m1ms"), &json!("5400001ms")));
        assert!(super::param_eq(d, &json!("30d"), &json!("4w2d")));
        assert!(super::param_eq(
            Some(ParamType::Severity),
            &json!("high"),
            &json!("High")
        ));
        assert!(!super::param_eq(
            Some(ParamType::String),
            &json!("a"),
            &json!("A")
        ));
        assert!(super::param_eq(None, &json!(2), &json!(2.0)));
    }

    use super::*;
    use crate::plan::model::{Approval, Check, Execution, IncidentSummary, Status, Summary};

    fn action(
        step: &str,
        action: &'static str,
        target: Option<(&str, &str)>,
        status: Status,
    ) -> PlannedAction {
        PlannedAction {
            key: String::new(),
            sop: "sop-a".into(),
            gamebook: "gb".into(),
            step: step.into(),
            action,
            target: target.map(|(id, name)| Target {
                kind: "device".into(),
                id: id.into(),
                name: name.into(),
            }),
            params: serde_json::Map::new(),
            status,
            approval: None,
            reason: "runs via Riposte Gamebooks for MDE".into(),
            provider: None,
            execution: None,
            pending_params: Vec::new(),
            items_unknown: false,
            items_not_listed: false,
            own_approval: None,
        }
    }

    fn plan(actions: Vec<PlannedAction>) -> Plan {
        Plan {
            incident: IncidentSummary {
                id: "1".into(),
                number: None,
                source: "defender_xdr".into(),
                workspace: None,
                severity: "high".into(),
                title: "t".into(),
            },
            workspace: "demo".into(),
            now: String::new(),
            eligibility: vec![Check {
                check: "subscription",
                passed: true,
                detail: "ok".into(),
            }],
            classification: None,
            unclassified: String::new(),
            sops: Vec::new(),
            summary: Summary::of(&actions),
            actions,
            tasks: vec![PlannedTask {
                sop: "sop-a".into(),
                gamebook: String::new(),
                step: String::new(),
                title: "Check backups and shadow copies".into(),
                role: "incident_responder",
                checklist: Vec::new(),
                status: crate::plan::model::TaskStatus::Open,
                reason: String::new(),
            }],
            trace: Vec::new(),
        }
    }

    fn sample() -> Plan {
        let mut blocked = action(
            "contain.isolate",
            "device.isolate",
            Some(("device:dc1", "dc-01")),
            Status::Blocked,
        );
        blocked.reason = "protected entity (SOP rule: name `dc-*`)".into();
        let mut ran = action(
            "contain.isolate",
            "device.isolate",
            Some(("device:ws7", "ws-finance-07")),
            Status::WouldRun,
        );
        ran.execution = Some(Execution {
            outcome: "failed",
            attempts: 3,
            error: Some("device offline".into()),
        });
        let mut waits = action("report", "incident.comment", None, Status::AwaitingApproval);
        waits.approval = Some(Approval {
            role: "workspace_owner",
            reason: "gate".into(),
        });
        plan(vec![ran, blocked, waits])
    }

    fn expect_yaml(yaml: &str) -> Expect {
        serde_saphyr::from_str(yaml).expect("valid expectations")
    }

    fn failures(yaml: &str) -> Vec<Failure> {
        check(&sample(), &expect_yaml(yaml))
    }

    #[test]
    fn a_null_param_expects_the_action_without_it() {
        let mut update = action("close", "incident.update", None, Status::WouldRun);
        update
            .params
            .insert("status".into(), serde_json::json!("resolved"));
        let p = plan(vec![update]);
        let f = |y: &str| check(&p, &expect_yaml(y));
        assert_eq!(
            f("actions: [{action: incident.update, params: {status: resolved, reason: null}}]\n"),
            vec![]
        );
        assert_eq!(
            f("actions: [{action: incident.update, params: {status: null}}]\n").len(),
            1
        );
        // A param not known until the step it reads has run is neither absent nor a value.
        let mut waiting = action("note", "incident.comment", None, Status::AwaitingApproval);
        waiting.pending_params = vec!["comment"];
        let p = plan(vec![waiting]);
        let f = |y: &str| check(&p, &expect_yaml(y));
        for y in [
            "actions: [{step: note, params: {comment: null}}]\n",
            "actions: [{step: note, params: {comment: seen}}]\n",
        ] {
            let failed = format!("{:?}", f(y));
            assert!(
                failed.contains("known only once the step it reads has run"),
                "{failed}"
            );
        }
        assert_eq!(f("actions: [{step: note}]\n"), vec![]);
    }

    #[test]
    fn fields_match_by_id_name_path_and_pattern() {
        let p = sample();
        let e = |y: &str| -> ExpectAction { serde_saphyr::from_str(y).unwrap() };
        let a = &p.actions[0];
        assert!(action_matches(
            &e("{step: isolate, target: WS-FINANCE-07}"),
            a
        ));
        assert!(action_matches(
            &e("{step: contain.isolate, target: ws7}"),
            a
        ));
        assert!(action_matches(
            &e("{target: device:ws7, action: device.*}"),
            a
        ));
        assert!(action_matches(
            &e("{outcome: failed, attempts: 3, error_contains: OFFLINE}"),
            a
        ));
        assert!(!action_matches(&e("{step: solate}"), a));
        assert!(!action_matches(&e("{status: blocked}"), a));
        assert!(!action_matches(&e("{action: user.*}"), a));
        assert!(action_matches(
            &e("{target: incident, approver: workspace_owner}"),
            &p.actions[2]
        ));
        assert!(!action_matches(&e("{target: incident}"), &p.actions[0]));
        assert!(gamebook_matches("b", "a > b"));
        assert!(gamebook_matches("a", "a > b"));
        assert!(gamebook_matches("a > b", "a > b"));
        assert!(!gamebook_matches("a >", "a > b"));
        assert!(!gamebook_matches("c", "a > b"));
    }

    #[test]
    fn a_passing_expectation_reports_nothing() {
        let f = failures(
            "actions:\n  - {step: isolate, target: ws-finance-07, status: would_run}\n  - {target: dc-01, status: blocked, reason_contains: protected}\n  - {step: report}\nordered: true\nonly: true\ntasks: [{title_contains: BACKUPS, role: incident_responder}]\nsummary: {would_run: 1, blocked: 1, awaiting_approval: 1, skipped: 0}\nclassification: none\neligible: true\nsops: []\n",
        );
        assert_eq!(f, vec![]);
    }

    #[test]
    fn a_wrong_status_shows_the_plan_action_and_its_reason() {
        let f =
            failures("actions:\n  - {step: contain.isolate, target: dc-01, status: would_run}\n");
        let [Failure::MissingAction {
            line,
            near,
            expected,
            ..
        }] = f.as_slice()
        else {
            panic!("{f:#?}")
        };
        assert_eq!(*line, 2);
        assert_eq!(
            expected,
            "{step: contain.isolate, target: dc-01, status: would_run}"
        );
        assert_eq!(near.len(), 1);
        assert_eq!(
            near[0].entry.reason,
            "protected entity (SOP rule: name `dc-*`)"
        );
        assert_eq!(
            near[0].differences,
            ["status: expected would_run, got blocked"]
        );
    }

    #[test]
    fn a_missing_task_shows_the_plan_task_and_how_it_differs() {
        let f = failures("tasks: [{title_contains: backups, role: incident_analyst}]\n");
        let [Failure::MissingTask { near, .. }] = f.as_slice() else {
            panic!("{f:#?}")
        };
        assert_eq!(near.len(), 1);
        assert_eq!(near[0].entry.title, "Check backups and shadow copies");
        assert_eq!(
            near[0].differences,
            ["role: expected incident_analyst, got incident_responder"]
        );
        let f = failures("tasks: [{title_contains: restore}]\n");
        let [Failure::MissingTask { near, .. }] = f.as_slice() else {
            panic!("{f:#?}")
        };
        assert_eq!(
            near[0].differences,
            ["title_contains: expected to contain `restore`, got `Check backups and shadow copies`"]
        );
        // Nothing of that title: every task is shown, with every difference.
        let f = failures("tasks: [{title: Call the customer, status: awaiting_approval}]\n");
        let [Failure::MissingTask { near, .. }] = f.as_slice() else {
            panic!("{f:#?}")
        };
        assert_eq!(
            near[0].differences,
            [
                "title: expected Call the customer, got Check backups and shadow copies",
                "status: expected awaiting_approval, got open"
            ]
        );
    }

    #[test]
    fn only_reports_unexpected_actions_and_tasks() {
        let f = failures("actions: [{target: dc-01}]\nonly: true\n");
        let unexpected: Vec<&str> = f
            .iter()
            .filter_map(|x| match x {
                Failure::UnexpectedAction { action } => Some(action.step.as_str()),
                _ => None,
            })
            .collect();
        assert_eq!(unexpected, ["contain.isolate", "report"]);
        assert!(f
            .iter()
            .any(|x| matches!(x, Failure::UnexpectedTask { .. })));
    }

    #[test]
    fn unexpected_actions_are_listed_up_to_a_bound() {
        let actions = (0..25)
            .map(|i| {
                let mut a = action("s", "incident.comment", None, Status::WouldRun);
                a.step = format!("s{i}");
                a
            })
            .collect();
        let f = check(&plan(actions), &expect_yaml("only: true\ntasks: [{}]\n"));
        assert_eq!(f.len(), MAX_UNEXPECTED + 1, "{f:#?}");
        assert_eq!(
            f.last(),
            Some(&Failure::MoreUnexpected {
                what: "actions",
                count: 5
            })
        );
    }

    #[test]
    fn counts_order_and_summary() {
        let f = failures(
            "actions:\n  - {action: device.isolate, count: 3}\n  - {step: report}\n  - {target: dc-01}\nordered: true\nsummary: {would_run: 2}\n",
        );
        assert!(
            matches!(
                f.as_slice(),
                [
                    Failure::ActionCount {
                        count: 3,
                        actual: 2,
                        ..
                    },
                    Failure::OutOfOrder {
                        line: 4,
                        after_line: 3,
                        after_position: 3,
                        ..
                    },
                    Failure::Summary {
                        field: "would_run",
                        expected: 2,
                        actual: 1
                    },
                ]
            ),
            "{f:#?}"
        );
        // `count: 0` asserts absence.
        assert_eq!(failures("actions: [{status: skipped, count: 0}]\n"), vec![]);
    }

    /// In an ordered list, an entry with `count` stands for every action it matches: all of
    /// them follow the previous entry's, and the next entry follows the last of them.
    #[test]
    fn ordered_counts_order_every_action_they_match() {
        // The plan: isolate ws-finance-07 (1), isolate dc-01 (2), report (3).
        assert_eq!(
            failures(
                "actions:\n  - {action: device.isolate, count: 2}\n  - {step: report}\nordered: true\n"
            ),
            vec![]
        );
        let f = failures(
            "actions:\n  - {step: report}\n  - {action: device.isolate, count: 2}\nordered: true\n",
        );
        assert!(
            matches!(
                f.as_slice(),
                [Failure::OutOfOrder {
                    line: 3,
                    after_line: 2,
                    after_position: 3,
                    position: Some(1),
                    ..
                }]
            ),
            "{f:#?}"
        );
        // The entry after a count follows the last action counted, not the first.
        let f = failures(
            "actions:\n  - {action: device.isolate, count: 2}\n  - {target: ws-finance-07}\nordered: true\n",
        );
        assert!(
            matches!(
                f.as_slice(),
                [Failure::OutOfOrder {
                    line: 3,
                    after_line: 2,
                    after_position: 2,
                    position: None,
                    ..
                }]
            ),
            "{f:#?}"
        );
        // One counted action before the previous entry's is out of order too.
        let f = failures(
            "actions:\n  - {target: ws-finance-07}\n  - {step: report}\n  - {action: device.isolate, count: 2}\nordered: true\n",
        );
        assert!(
            matches!(
                f.as_slice(),
                [Failure::OutOfOrder {
                    line: 4,
                    after_position: 3,
                    position: Some(1),
                    ..
                }]
            ),
            "{f:#?}"
        );
        // `count: 0` matches nothing, so it orders nothing.
        assert_eq!(
            failures(
                "actions:\n  - {target: dc-01}\n  - {status: skipped, count: 0}\n  - {step: report}\nordered: true\n"
            ),
            vec![]
        );
    }

    /// A confidence is shown as the number it is, as the plan's is.
    #[test]
    fn an_expected_confidence_shows_unquoted() {
        let mut p = sample();
        p.classification = Some(crate::plan::model::ClassificationResult {
            classification: "true_positive",
            reason: "malware".into(),
            sop: "triage".into(),
            rule: "Ransomware".into(),
            confidence: 95,
        });
        let f = check(
            &p,
            &expect_yaml("classification: {classification: false_positive, confidence: 50}\n"),
        );
        let [Failure::Classification { expected, actual }] = f.as_slice() else {
            panic!("{f:#?}")
        };
        assert_eq!(expected, "{classification: false_positive, confidence: 50}");
        assert!(actual.ends_with("confidence: 95}"), "{actual}");
    }

    #[test]
    fn classification_and_eligibility() {
        let f = failures("classification: {classification: true_positive}\neligible: false\n");
        assert!(
            matches!(
                f.as_slice(),
                [
                    Failure::Eligibility {
                        expected: false,
                        actual: true,
                        ..
                    },
                    Failure::Classification { .. }
                ]
            ),
            "{f:#?}"
        );
    }

    #[test]
    fn descriptions_quote_what_needs_quoting() {
        let e = ExpectAction {
            step: Some("a.b".into()),
            reason_contains: Some("needs: quoting".into()),
            count: Some(2),
            ..Default::default()
        };
        assert_eq!(
            describe_action(&e),
            "{step: a.b, reason_contains: \"needs: quoting\", count: 2}"
        );
    }

    /// An action acts on the incident when the catalog says so, not by the spelling of its id:
    /// its row reads `incident`, and `incident` names its target.
    #[test]
    fn the_incident_is_the_target_the_catalog_gives() {
        let comment = action("report", "incident.comment", None, Status::WouldRun);
        assert_eq!(ActionView::of(&comment).target.as_deref(), Some("incident"));
        assert!(target_matches("incident", None, "incident.comment"));
        assert!(target_matches("INCIDENT", None, "incident.update"));
        // A row without a target of an action the catalog does not have names nothing.
        let unknown = action(
            "report",
            "incident.not_in_the_catalog",
            None,
            Status::WouldRun,
        );
        assert_eq!(ActionView::of(&unknown).target, None);
        assert!(!target_matches(
            "incident",
            None,
            "incident.not_in_the_catalog"
        ));
        // An entity action's row without a target (a step that did not run) names nothing.
        let skipped = action("contain.isolate", "device.isolate", None, Status::Skipped);
        assert_eq!(ActionView::of(&skipped).target, None);
        assert!(!target_matches("incident", None, "device.isolate"));
    }
}
