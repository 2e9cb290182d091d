//! The plan: what the engine would do (or did) for one incident. Serialized as the stable JSON of
//! `riposte simulate --format json` (documented in docs/plan-format.md).

use serde::Serialize;

/// Everything decided for one incident.
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct Plan {
    pub incident: IncidentSummary,
    /// The workspace the plan was made for.
    pub workspace: String,
    /// The time `now()` returned (RFC 3339): the incident's last update, unless `--now` says otherwise.
    pub now: String,
    pub eligibility: Vec<Check>,
    pub classification: Option<ClassificationResult>,
    /// Why there is no classification, when there is none and more than "no rule matched" is
    /// worth saying (not part of the JSON; the text plan shows it).
    #[serde(skip)]
    pub unclassified: String,
    pub sops: Vec<SopMatch>,
    pub actions: Vec<PlannedAction>,
    pub tasks: Vec<PlannedTask>,
    pub summary: Summary,
    /// Branch points the run went through (not part of the JSON; `riposte test` coverage).
    #[serde(skip)]
    pub trace: Vec<crate::scheduler::TraceEvent>,
}

#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct IncidentSummary {
    pub id: String,
    /// The number its source's portal shows it by (Sentinel's), when it has one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub number: Option<String>,
    pub source: String,
    pub workspace: Option<String>,
    pub severity: String,
    pub title: String,
}

/// One on-queue prerequisite.
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct Check {
    pub check: &'static str,
    pub passed: bool,
    pub detail: String,
}

#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct ClassificationResult {
    pub sop: String,
    pub rule: String,
    pub classification: &'static str,
    pub reason: String,
    pub confidence: u8,
}

#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct SopMatch {
    pub name: String,
    pub matched: bool,
    /// Why it did not match (or `matched`).
    pub detail: String,
}

/// The state of a planned action.
#[derive(Clone, Copy, Debug, Serialize, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    WouldRun,
    AwaitingApproval,
    Blocked,
    Skipped,
    /// Its approval was refused (rejected, or its gate timed out): it does not run.
    Rejected,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::WouldRun => "would_run",
            Status::AwaitingApproval => "awaiting_approval",
            Status::Blocked => "blocked",
            Status::Skipped => "skipped",
            Status::Rejected => "rejected",
        }
    }

    /// Whether the row counts against the plan limit: an action the plan would do, or one a
    /// person or a guardrail stops at the last moment; not a skipped or rejected one.
    pub fn counts(self) -> bool {
        !matches!(self, Status::Skipped | Status::Rejected)
    }
}

#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct Target {
    pub kind: String,
    pub id: String,
    pub name: String,
}

#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct Approval {
    pub role: &'static str,
    pub reason: String,
}

/// What the executor reported for an action that ran.
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct Execution {
    /// `succeeded` or `failed`.
    pub outcome: &'static str,
    pub attempts: u32,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct PlannedAction {
    /// Hash of workspace, incident, gamebook and version, step, target and params: the
    /// idempotency key, and what an approval is bound to.
    pub key: String,
    pub sop: String,
    /// The gamebook the step belongs to; sub-gamebooks as `caller > callee`.
    pub gamebook: String,
    /// The step id, with enclosing groups: `contain.isolate`.
    pub step: String,
    pub action: &'static str,
    pub target: Option<Target>,
    pub params: serde_json::Map<String, serde_json::Value>,
    pub status: Status,
    pub approval: Option<Approval>,
    /// Why the action is blocked, skipped or waiting; what runs it otherwise.
    pub reason: String,
    /// `provider/application` that would carry the action out.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub provider: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub execution: Option<Execution>,
    /// Params left out because they read results of a step still awaiting approval: not known
    /// until it runs (the `reason` names them). Not absent: a backtest and a test compare
    /// them as unknown.
    #[serde(skip)]
    pub pending_params: Vec<&'static str>,
    /// A row of a for-each whose items are not known yet (`…; its for-each items are known once
    /// it runs`): it stands for the step's actions, whatever they turn out to be.
    #[serde(skip)]
    pub items_unknown: bool,
    /// A row of a for-each step (or of a step inside one) that did not run before its items
    /// were listed: it stands for the step's actions, whatever its action (a comment per user
    /// has no target either way).
    #[serde(skip)]
    pub items_not_listed: bool,
    /// The approval the action needs itself (its own gate, the SOP's policy, the agent's
    /// mode) when it waits on a step before it, which its `approval` then says nothing of:
    /// compared by a backtest, so that a gate behind another that changes is a change.
    #[serde(skip)]
    pub own_approval: Option<Approval>,
}

impl PlannedAction {
    /// Whether this row says its step did not run at all, before the step's targets were
    /// known: skipped, with no target, of a for-each whose items were never listed (its
    /// condition is false), or of an action that acts on an entity. It stands for no action:
    /// whatever the step would have acted on, nothing happens to it.
    pub fn is_step_not_run(&self) -> bool {
        self.status == Status::Skipped
            && self.target.is_none()
            && (self.items_not_listed || !targets_the_incident(self.action))
    }

    /// Whether this row stands for every action of its step rather than being one: the step
    /// did not run ([`PlannedAction::is_step_not_run`]), or its for-each items are not known
    /// yet ([`PlannedAction::items_unknown`]).
    pub fn stands_for_its_step(&self) -> bool {
        self.is_step_not_run() || self.items_unknown
    }
}

/// Whether `action` acts on the incident itself (`incident.comment`), so that a row of it has
/// no target entity; any other action's row without a target names none.
pub fn targets_the_incident(action: &str) -> bool {
    riposte_dsl::catalog::lookup(action)
        .is_some_and(|spec| spec.target == riposte_dsl::catalog::Target::Incident)
}

#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct PlannedTask {
    pub sop: String,
    /// Empty for tasks the SOP itself lists.
    pub gamebook: String,
    pub step: String,
    pub title: String,
    pub role: &'static str,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub checklist: Vec<String>,
    pub status: TaskStatus,
    /// Why the task waits; empty when it would be opened.
    pub reason: String,
}

/// Whether a task would be opened now, waits behind an ungranted approval, is never opened
/// because that approval was refused, or was opened and not completed within its step's
/// `timeout` (a run that times it out: `--time-out`, a test's `time_out`).
#[derive(Clone, Copy, Debug, Serialize, serde::Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum TaskStatus {
    Open,
    AwaitingApproval,
    Rejected,
    TimedOut,
}

impl TaskStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            TaskStatus::Open => "open",
            TaskStatus::AwaitingApproval => "awaiting_approval",
            TaskStatus::Rejected => "rejected",
            TaskStatus::TimedOut => "timed_out",
        }
    }
}

#[derive(Clone, Copy, Debug, Serialize, PartialEq, Default)]
pub struct Summary {
    pub would_run: usize,
    pub awaiting_approval: usize,
    pub blocked: usize,
    pub skipped: usize,
    /// Actions whose approval was refused (`--reject`, `--time-out`).
    pub rejected: usize,
    /// Of the actions that would run, those whose simulated execution failed (`--fail`, a
    /// test's `fail`); absent when none did.
    #[serde(skip_serializing_if = "is_zero")]
    pub failed: usize,
    /// Rows of blocked or skipped actions past twice `--max-plan-actions`, counted but not
    /// listed; absent when there are none. At most [`MAX_UNLISTED`], which means at least that
    /// many.
    #[serde(skip_serializing_if = "is_zero")]
    pub unlisted: usize,
}

/// The largest `unlisted` count: 2^53 − 1, the largest integer every JSON reader holds
/// exactly (a call tree can hold more rows than a 64-bit count).
pub const MAX_UNLISTED: usize = (1 << 53) - 1;

fn is_zero(n: &usize) -> bool {
    *n == 0
}

impl Summary {
    pub fn of(actions: &[PlannedAction]) -> Summary {
        let mut s = Summary::default();
        for a in actions {
            match a.status {
                Status::WouldRun => {
                    s.would_run += 1;
                    s.failed +=
                        usize::from(a.execution.as_ref().is_some_and(|e| e.outcome == "failed"));
                }
                Status::AwaitingApproval => s.awaiting_approval += 1,
                Status::Blocked => s.blocked += 1,
                Status::Skipped => s.skipped += 1,
                Status::Rejected => s.rejected += 1,
            }
        }
        s
    }
}
