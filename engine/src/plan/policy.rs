//! Policy decisions before any gamebook runs: on-queue eligibility, the active classification
//! SOP, and which response SOPs apply.

use riposte_dsl::checked::{Library, ResponseSop, Sop, SopBody};
use riposte_dsl::expr::Env;

use super::model::{Check, ClassificationResult, SopMatch};
use crate::incident::Incident;
use crate::scheduler::{IncidentContext, RunConfig};
use crate::workspace::{same_ignoring_case, Module, Subscription, Workspace};

/// The on-queue prerequisites, in the order the pipeline checks them.
pub fn eligibility(ws: &Workspace, incident: &Incident) -> Vec<Check> {
    let mut checks = Vec::new();
    let sub = ws.subscription;
    checks.push(Check {
        check: "subscription",
        passed: matches!(sub, Subscription::Active | Subscription::Trial),
        detail: format!("subscription is {}", sub.as_str()),
    });
    let module = Module::for_source(&incident.source);
    checks.push(match module {
        Some(m) => Check {
            check: "module",
            passed: ws.modules.contains(&m),
            detail: if ws.modules.contains(&m) {
                format!("module `{}` is enabled", m.as_str())
            } else {
                format!(
                    "module `{}` is not enabled in workspace `{}`",
                    m.as_str(),
                    ws.name
                )
            },
        },
        None => Check {
            check: "module",
            passed: false,
            detail: format!("no module ingests incidents from `{}`", incident.source),
        },
    });
    // The Microsoft Defender partner consent of onboarding (the consent flow of the XDR
    // module): the Defender XDR pipeline reads incidents through it, whoever manages the
    // workspace; other sources do not use it.
    checks.push(if module != Some(Module::DefenderXdr) {
        Check {
            check: "partner_consent",
            passed: true,
            detail: "Defender partner consent applies to Defender XDR incidents only".into(),
        }
    } else {
        Check {
            check: "partner_consent",
            passed: ws.partner_consent,
            detail: if ws.partner_consent {
                "partner consent is granted".into()
            } else {
                "partner consent is not granted".into()
            },
        }
    });
    // Every plan lists the same six checks, in the same order.
    checks.push(if module == Some(Module::DefenderXdr) {
        Check {
            check: "sentinel_forwarding",
            passed: !ws.fetch_to_sentinel,
            detail: if ws.fetch_to_sentinel {
                "Defender XDR incidents are forwarded to Sentinel and arrive through the Sentinel pipeline instead".into()
            } else {
                "Defender XDR incidents are not forwarded to Sentinel".into()
            },
        }
    } else {
        Check {
            check: "sentinel_forwarding",
            passed: true,
            detail: "Sentinel forwarding applies to Defender XDR incidents only".into(),
        }
    });
    let sev = incident.severity.as_str();
    let on = ws
        .agent
        .process_incident
        .iter()
        .any(|s| s.level().as_str() == sev);
    checks.push(Check {
        check: "process_incident",
        passed: on,
        detail: if on {
            format!("the agent processes {sev} incidents on-queue")
        } else if !riposte_dsl::value::SEVERITIES.contains(&sev) {
            // Capabilities are given per severity: an incident of none is never processed.
            format!(
                "the incident has no known severity (`{}`; the severities are informational, \
                 low, medium and high), and the agent's capabilities are given per severity",
                riposte_dsl::diagnostic::clip(sev, 40)
            )
        } else {
            format!("the agent's ProcessIncident capability is off for {sev} incidents")
        },
    });
    // Not among the on-queue prerequisites: a merged incident's alerts moved to the incident
    // it was merged into, which the pipeline fetches and processes instead; acting on both
    // would do everything twice.
    let merged = incident.status == "redirected";
    checks.push(Check {
        check: "not_merged",
        passed: !merged,
        detail: match (merged, &incident.redirected_to) {
            (false, _) => "the incident is not merged into another".into(),
            (true, Some(target)) => format!(
                "the incident was merged into incident `{}` (status `redirected`), which is \
                 processed instead",
                riposte_dsl::diagnostic::clip(target, 40)
            ),
            (true, None) => "the incident was merged into another (status `redirected`), \
                 which is processed instead"
                .into(),
        },
    });
    checks
}

/// The active classification: the first rule that matches, of the first classification SOP
/// (by priority) with a matching rule.
pub fn classify(
    library: &Library,
    ws: &Workspace,
    ctx: &IncidentContext,
    config: &RunConfig,
) -> Option<ClassificationResult> {
    let vars = [ctx.value.clone()];
    let env = Env {
        vars: &vars,
        now_ms: config.now_ms,
    };
    library
        .sops
        .iter()
        .filter(|s| ws.agent.sops.includes(&s.name))
        .find_map(|sop| match &sop.body {
            SopBody::Classification(rules) => {
                rules
                    .iter()
                    .find(|r| r.when.eval_bool(&env))
                    .map(|r| ClassificationResult {
                        sop: sop.name.clone(),
                        rule: r.name.clone(),
                        classification: r.classification.as_str(),
                        reason: r.reason.clone(),
                        confidence: r.confidence,
                    })
            }
            SopBody::Response(_) => None,
        })
}

/// Whether a response SOP applies; the detail names the first criterion that failed.
pub fn matches(
    sop: &Sop,
    r: &ResponseSop,
    ws: &Workspace,
    ctx: &IncidentContext,
    verdict: &str,
    config: &RunConfig,
) -> SopMatch {
    let fail = |detail: String| SopMatch {
        name: sop.name.clone(),
        matched: false,
        detail,
    };
    if !r.sources.is_empty() && !r.sources.iter().any(|s| s.as_str() == ctx.source) {
        return fail(format!(
            "source `{}` is not one of {}",
            ctx.source,
            list(r.sources.iter().map(|s| s.as_str()))
        ));
    }
    if !r.severities.is_empty() && !r.severities.iter().any(|s| Some(*s) == ctx.severity) {
        let sev = ctx.severity.map_or("unknown", |s| s.as_str());
        return fail(format!(
            "severity `{sev}` is not one of {}",
            list(r.severities.iter().map(|s| s.as_str()))
        ));
    }
    if !r.classifications.is_empty() && !r.classifications.iter().any(|c| c.as_str() == verdict) {
        return fail(format!(
            "classification `{verdict}` is not one of {}",
            list(r.classifications.iter().map(|c| c.as_str()))
        ));
    }
    // Workspace names and tags ignore case, as everywhere else.
    if !r.workspaces.is_empty()
        && !r
            .workspaces
            .iter()
            .any(|n| same_ignoring_case(&n.value, &ws.name))
    {
        return fail(format!(
            "workspace `{}` is not one of {}",
            ws.name,
            list(r.workspaces.iter().map(|n| n.value.as_str()))
        ));
    }
    if !r.workspace_tags.is_empty()
        && !r
            .workspace_tags
            .iter()
            .any(|t| ws.tags.iter().any(|w| same_ignoring_case(w, &t.value)))
    {
        return fail(format!(
            "workspace `{}` has none of the tags {}",
            ws.name,
            list(r.workspace_tags.iter().map(|t| t.value.as_str()))
        ));
    }
    if let Some(when) = &r.when {
        let vars = [ctx.value.clone()];
        let env = Env {
            vars: &vars,
            now_ms: config.now_ms,
        };
        if !when.eval_bool(&env) {
            return fail("its `when` condition is false".into());
        }
    }
    SopMatch {
        name: sop.name.clone(),
        matched: true,
        detail: "matched".into(),
    }
}

fn list<'a>(items: impl Iterator<Item = &'a str>) -> String {
    let mut out = String::from("[");
    for (i, s) in items.enumerate() {
        if i > 0 {
            out.push_str(", ");
        }
        out.push('`');
        out.push_str(s);
        out.push('`');
    }
    out.push(']');
    out
}
