//! The checked program: every name resolved, every expression parsed and type-checked, every
//! action bound to its catalog entry. This is what the graph compiler and the engine consume.

use std::sync::Arc;

use crate::ast::{
    AgentMode, Backoff, Classification, ErrorStrategy, Guardrails, IncidentSource, Role,
    SeverityLevel, Spanned, TimeoutOutcome,
};
use crate::catalog::ActionSpec;
use crate::expr::{Expr, Scope, Template};
use crate::graph::ExecGraph;
use crate::source::{FileId, Span};
use crate::types::{RecordType, Type};
use crate::value::Value;

/// A compiled library: gamebooks and SOPs, sorted by name.
#[derive(Debug, Default)]
pub struct Library {
    pub gamebooks: Vec<Gamebook>,
    pub sops: Vec<Sop>,
}

impl Library {
    pub fn gamebook(&self, name: &str) -> Option<&Gamebook> {
        self.gamebooks.iter().find(|g| g.name == name)
    }

    pub fn sop(&self, name: &str) -> Option<&Sop> {
        self.sops.iter().find(|s| s.name == name)
    }

    /// Gamebook `name`, if the library has it, then the gamebooks it calls, directly or
    /// through others, each once; and whether the library has every gamebook they call.
    pub fn with_callees(&self, name: &str) -> (Vec<&Gamebook>, bool) {
        /// The gamebooks the steps call.
        fn called<'l>(steps: &'l [Step], out: &mut Vec<&'l str>) {
            for s in steps {
                match &s.kind {
                    StepKind::Call { gamebook, .. } => out.push(gamebook),
                    StepKind::Group(inner) => called(inner, out),
                    _ => {}
                }
            }
        }
        let mut gamebooks: Vec<&Gamebook> = self.gamebook(name).into_iter().collect();
        let mut all_found = true;
        let mut i = 0;
        while i < gamebooks.len() {
            let mut calls = Vec::new();
            called(&gamebooks[i].steps, &mut calls);
            for callee in calls {
                match self.gamebook(callee) {
                    Some(g) if !gamebooks.iter().any(|known| known.name == g.name) => {
                        gamebooks.push(g)
                    }
                    Some(_) => {}
                    None => all_found = false,
                }
            }
            i += 1;
        }
        (gamebooks, all_found)
    }
}

#[derive(Debug)]
pub struct Gamebook {
    pub name: String,
    pub version: String,
    pub file: FileId,
    pub name_span: Span,
    pub description: Option<String>,
    pub tags: Vec<String>,
    pub mitre: Vec<String>,
    pub inputs: Vec<Input>,
    pub inputs_type: Arc<RecordType>,
    /// The `steps` record: one field per step id, each a [`crate::checked::step_record`].
    pub steps_type: Arc<RecordType>,
    pub outputs_type: Arc<RecordType>,
    /// Variables every expression of the gamebook sees: `incident`, `inputs`, `steps`.
    pub scope: Scope,
    pub steps: Vec<Step>,
    pub outputs: Vec<(String, Expr)>,
    pub graph: ExecGraph,
}

#[derive(Debug)]
pub struct Input {
    pub name: String,
    pub ty: Type,
    pub default: Option<Value>,
    pub values: Option<Vec<String>>,
    pub description: Option<String>,
}

#[derive(Debug)]
pub struct Step {
    pub id: String,
    pub name: Option<String>,
    pub span: Span,
    pub id_span: Span,
    pub kind: StepKind,
    pub condition: Option<Expr>,
    /// Ids of sibling steps this one waits for.
    pub needs: Vec<String>,
    pub for_each: Option<ForEach>,
    pub approval: Option<ApprovalGate>,
    pub retry: Option<RetryPolicy>,
    pub timeout_ms: Option<i64>,
    /// A sibling step to run when this one fails.
    pub on_error: Option<String>,
}

#[derive(Debug)]
pub enum StepKind {
    Action {
        spec: &'static ActionSpec,
        /// `None` for incident actions.
        target: Option<Expr>,
        /// Every catalog parameter that has a value (given or defaulted), in catalog order.
        params: Vec<(&'static str, ParamValue)>,
    },
    Task(Task),
    Call {
        gamebook: String,
        with: Vec<(String, ParamValue)>,
    },
    Group(Vec<Step>),
}

/// A parameter or input value: a constant, a string template, or a typed expression.
#[derive(Debug, Clone)]
pub enum ParamValue {
    Const(Value),
    Template(Template),
    Expr(Expr),
}

#[derive(Debug)]
pub struct Task {
    pub title: Template,
    pub role: Role,
    pub description: Option<String>,
    pub checklist: Vec<String>,
}

#[derive(Debug)]
pub struct ForEach {
    pub items: Expr,
    pub var: String,
    /// The variable's slot in the scope of the step's per-item expressions.
    pub slot: usize,
    pub filter: Option<Expr>,
    pub concurrency: u32,
    pub on_error: ErrorStrategy,
}

#[derive(Debug, Clone)]
pub struct ApprovalGate {
    pub role: Role,
    pub timeout_ms: i64,
    pub on_timeout: TimeoutOutcome,
    pub quorum: u32,
}

#[derive(Debug, Clone, Copy)]
pub struct RetryPolicy {
    pub attempts: u32,
    pub backoff_ms: i64,
    pub strategy: Backoff,
}

#[derive(Debug)]
pub struct Sop {
    pub name: String,
    pub file: FileId,
    pub name_span: Span,
    pub priority: i64,
    pub description: Option<String>,
    pub tags: Vec<String>,
    pub mitre: Vec<String>,
    pub body: SopBody,
}

#[derive(Debug)]
pub enum SopBody {
    Classification(Vec<ClassificationRule>),
    Response(Box<ResponseSop>),
}

#[derive(Debug)]
pub struct ClassificationRule {
    pub name: String,
    pub when: Expr,
    pub classification: Classification,
    pub reason: String,
    pub confidence: u8,
}

#[derive(Debug)]
pub struct ResponseSop {
    /// The most autonomy this SOP allows; `None` follows the workspace's agent. The
    /// effective mode is the more cautious of this and the agent's.
    pub mode: Option<AgentMode>,
    pub sources: Vec<IncidentSource>,
    pub severities: Vec<SeverityLevel>,
    pub classifications: Vec<Classification>,
    /// Names and tags each where it is written: `riposte check --workspaces` points at those
    /// no workspace has.
    pub workspaces: Vec<Spanned<String>>,
    pub workspace_tags: Vec<Spanned<String>>,
    pub when: Option<Expr>,
    pub gamebooks: Vec<GamebookUse>,
    pub tasks: Vec<Task>,
    pub approvals: Vec<ApprovalRule>,
    pub guardrails: Guardrails,
}

#[derive(Debug)]
pub struct GamebookUse {
    pub gamebook: String,
    pub with: Vec<(String, ParamValue)>,
    pub condition: Option<Expr>,
}

#[derive(Debug)]
pub struct ApprovalRule {
    /// Action ids or `kind.*` patterns.
    pub actions: Vec<String>,
    pub role: Role,
    /// Approval is needed only when this holds (scope: `incident`, `entity`).
    pub approve_if: Option<Expr>,
}

impl ApprovalRule {
    pub fn covers(&self, action: &str) -> bool {
        self.actions.iter().any(|p| action_matches(p, action))
    }

    /// Whether the rule can ever require approval: not when its `approve_if` is seen never to
    /// hold (`"false"`, `"null"`, `"incident.severity > high"`).
    pub fn can_hold(&self) -> bool {
        self.approve_if.as_ref().is_none_or(|e| !e.never_holds())
    }
}

/// `device.*` matches every device action; anything else matches exactly.
pub fn action_matches(pattern: &str, action: &str) -> bool {
    match pattern.strip_suffix(".*") {
        Some(prefix) => action
            .strip_prefix(prefix)
            .is_some_and(|rest| rest.starts_with('.')),
        None => pattern == action,
    }
}
