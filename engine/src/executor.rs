//! The action executor: the one part of a run that differs between dry-run and live.
//!
//! The scheduler hands each action that may run to an [`Executor`]. The [`RecordingExecutor`]
//! performs nothing: it returns a deterministic simulated result, or the failure
//! `simulate --fail` scripted (`riposte test` has its own, `testing::executor`, which also
//! tells which scripts matched nothing). The live executor (connectors acting in the customer tenant) implements the same
//! trait; the scheduler stays synchronous and deterministic either way.

use std::collections::HashMap;
use std::sync::{Arc, LazyLock, OnceLock};

use riposte_dsl::catalog::{ActionSpec, ParamType, ProviderSupport};
use riposte_dsl::types::{Field, RecordType, Type};
use riposte_dsl::value::{RecordValue, Value};

use crate::plan::model::targets_the_incident;

/// One attempt at one action.
pub struct ActionRequest<'a> {
    pub key: &'a str,
    pub action: &'static ActionSpec,
    pub provider: &'static ProviderSupport,
    /// The gamebook, as plans label it (a called one `caller > callee`).
    pub gamebook: &'a str,
    /// The step path (`contain.isolate`).
    pub step: &'a str,
    pub target_id: Option<&'a str>,
    pub target_name: Option<&'a str>,
    pub params: &'a [(&'static str, Value)],
    /// 1 for the first try.
    pub attempt: u32,
}

/// The result of one attempt.
#[derive(Clone, Debug)]
pub enum ActionOutcome {
    /// The action's output record (fields of the catalog's `outputs`).
    Succeeded(Value),
    Failed(String),
}

/// Carries out actions. Dry-run and live differ only here.
pub trait Executor {
    fn execute(&self, request: &ActionRequest<'_>) -> ActionOutcome;
}

/// A scripted outcome: make matching actions fail (`simulate --fail`), matched as
/// [`names_action`] says.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ScriptedFailure {
    /// Step path or an end of it; `None` matches every step.
    pub step: Option<String>,
    /// Action id or `kind.*`; `None` matches every action.
    pub action: Option<String>,
    /// Target id (with or without its kind) or name, case-insensitive, or `incident`; `None`
    /// matches every target.
    pub target: Option<String>,
    /// Fail only the first N attempts (so a retry succeeds); `None` fails every attempt.
    pub attempts: Option<u32>,
    pub error: String,
}

impl ScriptedFailure {
    fn matches(&self, r: &ActionRequest<'_>) -> bool {
        names_action(
            self.step.as_deref(),
            self.action.as_deref(),
            self.target.as_deref(),
            r,
        ) && self.attempts.is_none_or(|n| r.attempt <= n)
    }
}

/// Whether a script naming `step`, `action` and `target` (each optional: `None` names any)
/// names the action of `r`: a step by its path or an end of it, an action by its id or
/// `kind.*`, a target as [`target_key_matches`] says, or `incident` for incident actions. The
/// forms `--fail` and a test's `fail` accept, as a test's `expect` does.
pub fn names_action(
    step: Option<&str>,
    action: Option<&str>,
    target: Option<&str>,
    r: &ActionRequest<'_>,
) -> bool {
    step.is_none_or(|s| crate::scheduler::names_step_of(s, r.gamebook, r.step))
        && action.is_none_or(|a| riposte_dsl::checked::action_matches(a, r.action.id))
        && target.is_none_or(|t| match r.target_id {
            Some(id) => target_key_matches(t, id, r.target_name.unwrap_or("")),
            None => t.eq_ignore_ascii_case("incident") && targets_the_incident(r.action.id),
        })
}

/// An entity target by its id (`device:5521…`), its id without the kind (`5521…`) or its name,
/// case-insensitive: the forms `--fail`, and a test's `fail` and `expect`, accept.
pub fn target_key_matches(pattern: &str, id: &str, name: &str) -> bool {
    eq_ignore_case(id, pattern)
        || eq_ignore_case(name, pattern)
        || id
            .split_once(':')
            .is_some_and(|(_, key)| eq_ignore_case(key, pattern))
}

/// Whether `a` and `b` are the same text ignoring case, in any script (`PC-JÖRG` is `pc-jörg`),
/// without allocating.
fn eq_ignore_case(a: &str, b: &str) -> bool {
    a.eq_ignore_ascii_case(b)
        || (!a.is_ascii()
            && !b.is_ascii()
            && a.chars()
                .flat_map(char::to_lowercase)
                .eq(b.chars().flat_map(char::to_lowercase)))
}

/// The dry-run executor: records nothing itself (the scheduler records), acts on nothing, and
/// answers deterministically.
#[derive(Clone, Debug, Default)]
pub struct RecordingExecutor {
    pub failures: Vec<ScriptedFailure>,
}

impl Executor for RecordingExecutor {
    fn execute(&self, request: &ActionRequest<'_>) -> ActionOutcome {
        match self.failures.iter().find(|f| f.matches(request)) {
            Some(f) => ActionOutcome::Failed(if f.error.is_empty() {
                "scripted failure".to_string()
            } else {
                f.error.clone()
            }),
            None => ActionOutcome::Succeeded(simulated_output(request.action, request.key)),
        }
    }
}

/// The output record a simulated success returns: `status: succeeded`, ids derived from the
/// action key, zeros and empty values elsewhere.
pub fn simulated_output(action: &ActionSpec, key: &str) -> Value {
    static SUCCEEDED: LazyLock<Value> = LazyLock::new(|| Value::from("succeeded"));
    let ty = output_type(action);
    let mut sim_id = None;
    let pairs = action.outputs.iter().map(|o| {
        let v = match (o.name, o.ty) {
            ("status", _) => SUCCEEDED.clone(),
            (_, ParamType::String) => sim_id
                .get_or_insert_with(|| Value::from(["sim-", key.get(..12).unwrap_or(key)].concat()))
                .clone(),
            (_, ParamType::Enum(values)) => Value::from(values.first().copied().unwrap_or("")),
            (_, ParamType::Bool) => Value::Bool(true),
            (_, ParamType::Number) => Value::Number(0.0),
            (_, ParamType::StringList) => Value::list([]),
            _ => Value::Null,
        };
        (o.name, v)
    });
    Value::Record(RecordValue::from_pairs(ty, pairs))
}

/// The output record of an action that failed: `status: failed`, the rest null (nothing it
/// would have returned exists). `steps.<id>.results` holds one per failed item, so a filter on
/// `r.status == 'failed'` finds them.
pub fn failed_output(action: &ActionSpec) -> Value {
    static FAILED: LazyLock<Value> = LazyLock::new(|| Value::from("failed"));
    let pairs = action.outputs.iter().map(|o| {
        let v = if o.name == "status" {
            FAILED.clone()
        } else {
            Value::Null
        };
        (o.name, v)
    });
    Value::Record(RecordValue::from_pairs(output_type(action), pairs))
}

/// The record type of an action's outputs (named like the compiler names it), built once
/// per action.
pub fn output_type(action: &ActionSpec) -> Arc<RecordType> {
    static TYPES: OnceLock<HashMap<&'static str, Arc<RecordType>>> = OnceLock::new();
    let types = TYPES.get_or_init(|| {
        riposte_dsl::catalog::catalog()
            .iter()
            .map(|a| {
                let ty = RecordType::new(
                    format!("{}.output", a.id),
                    a.outputs
                        .iter()
                        .map(|o| Field::new(o.name, o.ty.expr_type(), o.doc))
                        .collect(),
                );
                (a.id, Arc::new(ty))
            })
            .collect()
    });
    match types.get(action.id) {
        Some(t) => t.clone(),
        // Only catalog actions reach the executor; an empty record is the safe answer anyway.
        None => Arc::new(RecordType::new(format!("{}.output", action.id), Vec::new())),
    }
}

/// The expression type of outputs, for callers that build step records.
pub fn output_expr_type(action: &ActionSpec) -> Type {
    Type::Record(output_type(action))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A request for `action` without a target entity.
    fn untargeted(action: &'static ActionSpec) -> ActionRequest<'static> {
        ActionRequest {
            key: "k",
            action,
            provider: &action.providers[0],
            gamebook: "g",
            step: "s",
            target_id: None,
            target_name: None,
            params: &[],
            attempt: 1,
        }
    }

    /// `incident` names an action on the incident by what the catalog says the action targets,
    /// not by how its id is spelt.
    #[test]
    fn incident_names_the_actions_the_catalog_says_target_it() {
        let catalog = |id| riposte_dsl::catalog::lookup(id).expect("a catalog action");
        let comment = untargeted(catalog("incident.comment"));
        assert!(names_action(None, None, Some("incident"), &comment));
        assert!(names_action(None, None, Some("Incident"), &comment));
        assert!(!names_action(None, None, Some("device"), &comment));
        // An action the catalog does not have is no action on the incident, whatever its id.
        let spec: &'static ActionSpec = Box::leak(Box::new(ActionSpec {
            id: "incident.not_in_the_catalog",
            ..*catalog("device.isolate")
        }));
        assert!(!names_action(
            None,
            None,
            Some("incident"),
            &untargeted(spec)
        ));
    }

    /// A target is named ignoring case in any script, as an ASCII one is.
    #[test]
    fn targets_are_named_ignoring_case_beyond_ascii() {
        assert!(target_key_matches("PC-JÖRG", "device:aa01", "pc-jörg"));
        assert!(target_key_matches("ws-07", "device:aa01", "WS-07"));
        assert!(target_key_matches("ÄA01", "device:äa01", ""));
        assert!(target_key_matches("DEVICE:ÄA01", "device:äa01", ""));
        assert!(!target_key_matches("pc-jorg", "device:aa01", "pc-jörg"));
    }
}
