//! Making plans: for a compiled library, a workspace and an incident, everything the engine
//! would do — on-queue eligibility, the classification, the matching response SOPs and every
//! action of their gamebooks with its status. [`simulate`] is the dry-run entry point.

pub mod model;
mod policy;
#[cfg(test)]
mod tests;
pub mod text;

use riposte_dsl::ast::SeverityLevel;
use riposte_dsl::checked::{Library, SopBody};
use riposte_dsl::expr::with_run_budget_spent;

use crate::executor::Executor;
use crate::incident::Incident;
use crate::scheduler::{Approvals, IncidentContext, RunConfig, Scheduler};
use crate::workspace::Workspace;
use model::{IncidentSummary, Plan, SopMatch, Summary};

/// The context an incident is evaluated in.
pub fn incident_context(incident: &Incident) -> IncidentContext {
    IncidentContext {
        value: incident.to_value(),
        id: incident.id.clone(),
        source: incident.source.clone(),
        workspace: incident.workspace.clone(),
        severity: SeverityLevel::parse(&incident.severity),
    }
}

/// Whether `plan` shows a rejection of the step `name` names (`--reject`, a test's
/// `reject:`): a rejected action or task at that step, or inside it (a gated group or call
/// step), or, in a traced run, a gate of that step refused with something behind it (its rows
/// may all be past the plan's listing). A name that rejects nothing is most likely a step
/// whose actions needed no approval.
pub fn rejects_something(plan: &Plan, name: &str) -> bool {
    let within = |label: &str, path: &str| names_step_or_within(name, label, path);
    let refused = plan.trace.iter().any(|e| match e {
        crate::scheduler::TraceEvent::Gate {
            gamebook,
            step,
            granted: false,
            behind_another: false,
        } => crate::scheduler::names_step_of(name, gamebook, step),
        _ => false,
    });
    refused
        || plan
            .actions
            .iter()
            .any(|a| a.status == model::Status::Rejected && within(&a.gamebook, &a.step))
        || plan
            .tasks
            .iter()
            .any(|t| t.status == model::TaskStatus::Rejected && within(&t.gamebook, &t.step))
}

/// Whether a time-out of the step `name` names (`--time-out`, a test's `time_out:`) decided
/// something in `plan`: a gate of the step decided with something behind it and nothing waiting
/// before it (read from the plan's trace), or a task of it timed out.
pub fn decides_a_time_out(plan: &Plan, name: &str) -> bool {
    let gate = plan.trace.iter().any(|e| match e {
        crate::scheduler::TraceEvent::Gate {
            gamebook,
            step,
            behind_another: false,
            ..
        } => crate::scheduler::names_step_of(name, gamebook, step),
        _ => false,
    });
    // Or a task it timed out.
    gate || plan.tasks.iter().any(|t| {
        t.status == model::TaskStatus::TimedOut
            && crate::scheduler::names_step_of(name, &t.gamebook, &t.step)
    })
}

/// Whether `plan` has an action or task at the step `name` names, or inside it: what an
/// approval of that step (`--approve`) can decide.
pub fn has_rows_of(plan: &Plan, name: &str) -> bool {
    plan.actions
        .iter()
        .any(|a| names_step_or_within(name, &a.gamebook, &a.step))
        || plan
            .tasks
            .iter()
            .any(|t| names_step_or_within(name, &t.gamebook, &t.step))
}

/// Marks in `used` (one flag per step `config.approvals` grants by name) the names that approve
/// something in `plan`, planned with `config`: the plan without the name differs, or (another
/// name granting the same step) the plan with it alone differs from the plan without any. Only
/// a name not yet marked, with rows at its step, is planned again; a name that approves nothing
/// leaves a gate closed that its author believes open.
pub fn mark_approvals_used<E: Executor>(
    library: &Library,
    workspace: &Workspace,
    incident: &Incident,
    config: &RunConfig,
    executor: &E,
    plan: &Plan,
    used: &mut [bool],
) {
    let Approvals::Steps(granted) = &config.approvals else {
        return;
    };
    let replan = |approvals: Approvals| {
        let config = RunConfig {
            approvals,
            ..config.clone()
        };
        simulate(library, workspace, incident, &config, executor)
    };
    let differ = |a: &Plan, b: &Plan| a.actions != b.actions || a.tasks != b.tasks;
    let mut none = None;
    for (name, used) in granted.iter().zip(used.iter_mut()) {
        if *used || !has_rows_of(plan, name) {
            continue;
        }
        let others = granted.iter().filter(|n| *n != name).cloned().collect();
        *used = differ(&replan(Approvals::Steps(others)), plan)
            || differ(
                &replan(Approvals::Steps(vec![name.clone()])),
                none.get_or_insert_with(|| replan(Approvals::None)),
            );
    }
}

/// Whether `name` names the step at `path` of gamebook `label`, or a group or call step
/// holding it.
fn names_step_or_within(name: &str, label: &str, path: &str) -> bool {
    path.match_indices('.')
        .map(|(i, _)| &path[..i])
        .chain(std::iter::once(path))
        .any(|p| crate::scheduler::names_step_of(name, label, p))
}

/// The time a plan is made at when no `--now` is given: the incident's last update (so the
/// same incident always gives the same plan), else its creation, else the epoch.
pub fn default_now(incident: &Incident) -> i64 {
    incident
        .updated
        .as_deref()
        .or(incident.created.as_deref())
        .and_then(riposte_dsl::value::parse_time)
        .unwrap_or(0)
}

/// Plans what the engine would do for `incident` in `workspace`, with `executor` answering for
/// the actions that would run.
pub fn simulate<E: Executor>(
    library: &Library,
    workspace: &Workspace,
    incident: &Incident,
    config: &RunConfig,
    executor: &E,
) -> Plan {
    let ctx = incident_context(incident);
    plan_with_context(library, workspace, incident, &ctx, config, executor)
}

/// The evaluation work (see [`riposte_dsl::expr::with_run_budget`]) the classification and each response SOP may
/// spend: a costly expression in a `for_each` filter, once per item of a long list, would
/// otherwise run for minutes.
pub const RUN_WORK: u64 = 20_000_000;

/// How many runs' worth of evaluation work (`RunConfig::max_work` each) a whole plan may
/// spend, the classification and every response SOP together: each run keeps its own budget
/// within it, but a library of a hundred SOPs whose `when` each spend theirs would otherwise
/// take a hundred times as long. Five runs' worth is about a second; SOPs that read an
/// incident as usual spend almost none of it (short text and lists are free).
pub const PLAN_WORK_RUNS: u64 = 5;

/// [`simulate`] with the incident already converted (benchmarks and backtests reuse it).
pub fn plan_with_context<E: Executor>(
    library: &Library,
    workspace: &Workspace,
    incident: &Incident,
    ctx: &IncidentContext,
    config: &RunConfig,
    executor: &E,
) -> Plan {
    let eligibility = policy::eligibility(workspace, incident);
    let mut plan = Plan {
        incident: IncidentSummary {
            id: incident.id.clone(),
            number: incident.number.clone(),
            source: incident.source.clone(),
            workspace: incident.workspace.clone(),
            severity: incident.severity.clone(),
            title: incident.title.clone(),
        },
        workspace: workspace.name.clone(),
        now: riposte_dsl::value::format_time(config.now_ms),
        eligibility,
        classification: None,
        unclassified: String::new(),
        sops: Vec::new(),
        actions: Vec::new(),
        tasks: Vec::new(),
        summary: Summary::default(),
        trace: Vec::new(),
    };
    if plan.eligibility.iter().any(|c| !c.passed) {
        return plan;
    }
    // The work of the whole plan (see `PLAN_WORK_RUNS`): each run spends within its own
    // budget and what is left of this one, whichever is less.
    let plan_work = config.max_work.saturating_mul(PLAN_WORK_RUNS);
    let mut work_left = plan_work;
    let (classification, classification_out_of_work, spent) =
        with_run_budget_spent(config.max_work.min(work_left), || {
            policy::classify(library, workspace, ctx, config)
        });
    work_left = work_left.saturating_sub(spent);
    // A verdict reached once the work ran out may rest on a `not any(…)` that held on null: no
    // verdict then, and no response SOP runs on it.
    plan.classification = classification.filter(|_| !classification_out_of_work);
    if classification_out_of_work {
        plan.unclassified =
            "no verdict: the classification's expressions ran out of work (evaluation limit)"
                .into();
    } else if plan.classification.is_none() {
        // Classification SOPs the agent does not run decide nothing: name them.
        let off: Vec<String> = library
            .sops
            .iter()
            .filter(|s| matches!(s.body, SopBody::Classification(_)))
            .filter(|s| !workspace.agent.sops.includes(&s.name))
            .map(|s| format!("`{}`", s.name))
            .collect();
        if !off.is_empty() {
            plan.unclassified = format!(
                "no classification SOP matched; the agent of workspace `{}` does not run the \
                 classification SOPs {}",
                workspace.name,
                off.join(", ")
            );
        }
    }
    let verdict = plan
        .classification
        .as_ref()
        .map(|c| c.classification.to_string())
        .unwrap_or_else(|| incident.classification.clone());
    // Written only when a limit was reached.
    let limits = || {
        format!(
            "lambda calls, list items, kilobytes of text read, 8-byte pieces of text written: {} \
             units for a run, {} for one expression",
            config.max_work,
            riposte_dsl::expr::MAX_LAMBDA_CALLS
        )
    };
    // Written only when the plan's work ran out.
    let plan_limit = || {
        format!(
            "{plan_work} units for the whole plan, the classification and every response SOP \
             together ({PLAN_WORK_RUNS} runs' worth)"
        )
    };
    let mut unlisted = 0;
    let mut planned = crate::scheduler::Planned::default();
    for sop in &library.sops {
        let SopBody::Response(r) = &sop.body else {
            continue;
        };
        if !workspace.agent.sops.includes(&sop.name) {
            // Listed, so that a SOP missing from a plan is never a mystery.
            plan.sops.push(SopMatch {
                name: sop.name.clone(),
                matched: false,
                detail: format!(
                    "the agent of workspace `{}` does not run it: it is not in the agent's \
                     `sops:` list",
                    workspace.name
                ),
            });
            continue;
        }
        // Only SOPs that depend on the verdict wait for one.
        if classification_out_of_work && !r.classifications.is_empty() {
            plan.sops.push(SopMatch {
                name: sop.name.clone(),
                matched: false,
                detail: format!(
                    "evaluation limit: the classification's expressions ran out of work \
                     ({}), so the incident's verdict, which this SOP routes on, is unknown",
                    limits()
                ),
            });
            continue;
        }
        // Once the plan's work is spent, nothing more is decided: what would run on `null`s
        // might do more than it should.
        if work_left == 0 {
            plan.sops.push(SopMatch {
                name: sop.name.clone(),
                matched: false,
                detail: format!(
                    "evaluation limit: the plan's expressions ran out of work ({}) before this \
                     SOP, so it is not decided; simplify the expressions that loop over long \
                     lists, or run fewer SOPs on such incidents",
                    plan_limit()
                ),
            });
            continue;
        }
        // A run that gets less than its own budget is bounded by the plan's.
        let budget = config.max_work.min(work_left);
        let plan_bound = budget < config.max_work;
        // Whether the SOP applies is decided within its run's work, like what it does.
        let ((mut m, ran), out_of_work, spent) = with_run_budget_spent(budget, || {
            let mut m = policy::matches(sop, r, workspace, ctx, &verdict, config);
            if riposte_dsl::expr::run_out_of_work() {
                m.matched = false;
                m.detail = if plan_bound {
                    format!(
                        "evaluation limit: the plan's expressions ran out of work ({}) while \
                         its `when` was evaluated, so it is not decided",
                        plan_limit()
                    )
                } else {
                    format!(
                        "evaluation limit: its `when` ran out of work ({}), so it is not decided",
                        limits()
                    )
                };
            }
            if !m.matched {
                return (m, None);
            }
            let mut s = Scheduler::new(library, workspace, ctx, executor, config, &sop.name, r);
            s.continue_plan(
                std::mem::take(&mut plan.actions),
                std::mem::take(&mut planned),
            );
            s.run_sop();
            (m, Some(s))
        });
        work_left = work_left.saturating_sub(spent);
        let Some(mut s) = ran else {
            plan.sops.push(m);
            continue;
        };
        if s.step_limit_reached() {
            m.detail = format!(
                "matched; plan limit: the SOP's gamebooks started {} steps (calls and for-each \
                 multiply), and the rest is not planned: its actions are blocked, its tasks not \
                 opened",
                crate::scheduler::MAX_STEP_RUNS
            );
        } else if out_of_work && plan_bound {
            m.detail = format!(
                "matched; evaluation limit: the plan's expressions ran out of work ({}) \
                 during this SOP, and list functions evaluated after that gave null; its \
                 actions after that are blocked",
                plan_limit()
            );
        } else if out_of_work {
            m.detail = format!(
                "matched; evaluation limit: the SOP's expressions ran out of work ({}), and \
                 list functions evaluated after that gave null; its actions after that are \
                 blocked",
                limits()
            );
        }
        plan.sops.push(m);
        unlisted = s.unlisted.saturating_add(unlisted).min(model::MAX_UNLISTED);
        plan.tasks.append(&mut s.tasks);
        plan.trace.append(&mut s.trace);
        (plan.actions, planned) = s.into_plan();
    }
    plan.summary = Summary::of(&plan.actions);
    plan.summary.unlisted = unlisted;
    plan
}
