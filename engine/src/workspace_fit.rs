//! The library against a workspaces file (`riposte check --workspaces`): what an SOP routes on
//! that no workspace has, and SOPs no workspace would run. Each is a warning at the SOP: the
//! library is sound on its own, but with these workspaces part of it is dead.

use riposte_dsl::ast::{IncidentSource, SeverityLevel};
use riposte_dsl::checked::{Library, ResponseSop, Sop, SopBody};
use riposte_dsl::diagnostic::{did_you_mean, suggestion};
use riposte_dsl::{Code, Diagnostic};

use crate::workspace::{same_ignoring_case, Module, Subscription, Workspace};

/// At most this many workspaces are named in the help of [`Code::SopRunsNowhere`].
const MAX_NAMED: usize = 3;

/// The warnings for `library` against `workspaces`, in library order.
pub fn check(library: &Library, workspaces: &[Workspace]) -> Vec<Diagnostic> {
    let mut diags = Vec::new();
    for sop in &library.sops {
        let before = diags.len();
        if let SopBody::Response(r) = &sop.body {
            unknown_names(sop, r, workspaces, &mut diags);
        }
        // A misspelt name or tag already explains why the SOP runs nowhere.
        if diags.len() == before {
            if let Some(d) = runs_nowhere(sop, workspaces) {
                diags.push(d);
            }
        }
    }
    diags
}

/// RP0501 and RP0502: names and tags of `applies_to` no workspace has.
fn unknown_names(
    sop: &Sop,
    r: &ResponseSop,
    workspaces: &[Workspace],
    diags: &mut Vec<Diagnostic>,
) {
    let names = || workspaces.iter().map(|w| w.name.as_str());
    for name in &r.workspaces {
        if !names().any(|n| same_ignoring_case(n, &name.value)) {
            diags.push(
                Diagnostic::new(
                    Code::UnknownWorkspace,
                    sop.file,
                    name.span,
                    format!(
                        "SOP `{}` applies to workspace `{}`, which the workspaces file does not \
                         define",
                        sop.name, name.value
                    ),
                )
                .with_label("no such workspace")
                .with_help(suggestion(&name.value, names())),
            );
        }
    }
    let mut tags: Vec<&str> = workspaces
        .iter()
        .flat_map(|w| w.tags.iter().map(String::as_str))
        .collect();
    tags.sort_unstable();
    tags.dedup();
    for tag in &r.workspace_tags {
        if !tags.iter().any(|t| same_ignoring_case(t, &tag.value)) {
            let help = match did_you_mean(&tag.value, tags.iter().copied()) {
                Some(best) => format!("did you mean `{best}`? Else tag the workspaces meant"),
                None if tags.is_empty() => {
                    "no workspace has tags: give the workspaces meant `tags: [...]`".to_string()
                }
                None => format!(
                    "the workspaces' tags are {}; else tag the workspaces meant",
                    words_and(tags.iter().copied())
                ),
            };
            diags.push(
                Diagnostic::new(
                    Code::UnknownWorkspaceTag,
                    sop.file,
                    tag.span,
                    format!("no workspace has tag `{}`", tag.value),
                )
                .with_label("no workspace has this tag")
                .with_help(help),
            );
        }
    }
}

/// RP0503: no workspace would run `sop`, each for a reason said in the help.
fn runs_nowhere(sop: &Sop, workspaces: &[Workspace]) -> Option<Diagnostic> {
    let mut reasons = Vec::new();
    for w in workspaces {
        match why_not(sop, w) {
            None => return None,
            Some(reason) => reasons.push(format!("`{}` {reason}", w.name)),
        }
    }
    let more = reasons.len().saturating_sub(MAX_NAMED);
    reasons.truncate(MAX_NAMED);
    let mut help = reasons.join("; ");
    if more > 0 {
        help.push_str(&format!("; and {more} more"));
    }
    Some(
        Diagnostic::new(
            Code::SopRunsNowhere,
            sop.file,
            sop.name_span,
            format!(
                "no workspace of the workspaces file runs SOP `{}`",
                sop.name
            ),
        )
        .with_label("never runs")
        .with_help(if workspaces.is_empty() {
            "the workspaces file defines no workspace".to_string()
        } else {
            help
        }),
    )
}

/// Why workspace `w` never runs `sop`, or `None` when it may (for some incident).
fn why_not(sop: &Sop, w: &Workspace) -> Option<String> {
    if w.subscription == Subscription::Expired {
        return Some("has an expired subscription".into());
    }
    if !w.agent.sops.includes(&sop.name) {
        return Some("does not attach it to its agent (`agent.sops`)".into());
    }
    let SopBody::Response(r) = &sop.body else {
        return None;
    };
    if !r.workspaces.is_empty()
        && !r
            .workspaces
            .iter()
            .any(|n| same_ignoring_case(&n.value, &w.name))
    {
        return Some("is not one of its `applies_to.workspaces`".into());
    }
    if !r.workspace_tags.is_empty()
        && !r
            .workspace_tags
            .iter()
            .any(|t| w.tags.iter().any(|x| same_ignoring_case(x, &t.value)))
    {
        return Some("has none of its `applies_to.workspace_tags`".into());
    }
    let sources: &[IncidentSource] = if r.sources.is_empty() {
        IncidentSource::ALL
    } else {
        &r.sources
    };
    if !sources.iter().any(|&s| takes_incidents_from(w, s)) {
        return Some(no_incidents_from(w, sources));
    }
    let severities: &[SeverityLevel] = if r.severities.is_empty() {
        SeverityLevel::ALL
    } else {
        &r.severities
    };
    if !severities
        .iter()
        .any(|s| w.agent.process_incident.iter().any(|p| p.level() == *s))
    {
        return Some(format!(
            "processes no {} incidents (`agent.process_incident`)",
            words(severities.iter().map(|s| s.as_str()))
        ));
    }
    None
}

/// Whether incidents from `source` pass the module checks of eligibility in `w`.
fn takes_incidents_from(w: &Workspace, source: IncidentSource) -> bool {
    let module = Module::of(source);
    w.modules.contains(&module)
        && (module != Module::DefenderXdr || (w.partner_consent && !w.fetch_to_sentinel))
}

/// Why `w` takes incidents from none of `sources`: the Defender XDR pipeline's own checks
/// when its module is what is enabled, else the modules.
fn no_incidents_from(w: &Workspace, sources: &[IncidentSource]) -> String {
    let defender =
        w.modules.contains(&Module::DefenderXdr) && sources.contains(&IncidentSource::DefenderXdr);
    if defender && w.fetch_to_sentinel {
        "forwards its Defender XDR incidents to Sentinel (`fetch_to_sentinel`)".into()
    } else if defender {
        "has not granted the Defender partner consent Defender XDR incidents need \
         (`partner_consent`)"
            .into()
    } else {
        format!(
            "enables no module for incidents from {} (`modules`)",
            words(sources.iter().map(|s| s.as_str()))
        )
    }
}

/// `a`, `a or b`, `a, b or c`, each in backticks.
fn words<'a>(items: impl Iterator<Item = &'a str>) -> String {
    joined(items, "or")
}

/// `a`, `a and b`, `a, b and c`, each in backticks.
fn words_and<'a>(items: impl Iterator<Item = &'a str>) -> String {
    joined(items, "and")
}

fn joined<'a>(items: impl Iterator<Item = &'a str>, last_with: &str) -> String {
    let items: Vec<String> = items.map(|i| format!("`{i}`")).collect();
    match items.split_last() {
        Some((last, [])) => last.clone(),
        Some((last, rest)) => format!("{} {last_with} {last}", rest.join(", ")),
        None => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use riposte_dsl::compile::compile;
    use riposte_dsl::syntax::Limits;
    use riposte_dsl::{SourceFile, SourceMap};

    const GAMEBOOK: &str = "kind: gamebook\nname: note\nversion: 1.0.0\nsteps:\n  - id: note\n    \
                            action: incident.comment\n    params: {comment: seen}\n";

    /// A workspace that runs every SOP for high-severity Defender XDR incidents.
    const RUNS_ALL: &str = "subscription: active\n    modules: [defender_xdr]\n    \
                            partner_consent: true\n";

    /// The codes and helps of the warnings for a response SOP with `applies_to` and one
    /// workspace `w` with the keys `keys` (indented for the mapping) and a manual agent.
    fn warnings(applies_to: &str, keys: &str) -> Vec<(Code, String)> {
        let mut sources = SourceMap::new();
        sources.add(SourceFile::new("g.yaml", GAMEBOOK));
        let sop = format!(
            "kind: sop\ntype: response\nname: s\nmode: manual\napplies_to: {applies_to}\n\
             gamebooks:\n  - gamebook: note\n"
        );
        sources.add(SourceFile::new("s.yaml", sop));
        let c = compile(&sources, &Limits::default(), Vec::new());
        assert!(!c.has_errors(), "{:#?}", c.diagnostics);
        let file = format!(
            "workspaces:\n  - name: w\n    tenant_id: \"*\"\n    agent: {{mode: manual, \
             process_incident: [high], gamebooks: [high], sops: all}}\n    {keys}"
        );
        let ws = crate::workspace::parse_workspaces("w.yaml", &file).expect("workspaces");
        check(&c.library, &ws)
            .into_iter()
            .map(|d| (d.code, d.help.unwrap_or_default()))
            .collect()
    }

    #[test]
    fn names_and_tags_ignore_case_as_routing_does() {
        let keys = format!("{RUNS_ALL}    tags: [Managed-XDR]\n");
        let fits = "{workspaces: [W], workspace_tags: [managed-xdr]}";
        assert_eq!(warnings(fits, &keys), []);
        assert_eq!(
            warnings("{workspaces: [v]}", &keys),
            [(Code::UnknownWorkspace, "expected one of `w`".to_string())]
        );
        assert_eq!(
            warnings("{workspace_tags: [internal, managed-xdr]}", &keys),
            [(
                Code::UnknownWorkspaceTag,
                "the workspaces' tags are `Managed-XDR`; else tag the workspaces meant".to_string()
            )]
        );
    }

    #[test]
    fn each_reason_a_workspace_never_runs_a_sop() {
        assert_eq!(warnings("{severities: [high]}", RUNS_ALL), []);
        for (applies_to, keys, reason) in [
            (
                "{}",
                "subscription: expired\n",
                "has an expired subscription",
            ),
            (
                "{severities: [low, medium]}",
                RUNS_ALL,
                "processes no `low` or `medium` incidents (`agent.process_incident`)",
            ),
            (
                "{sources: [defender_xdr]}",
                "subscription: trial\n    modules: [defender_xdr]\n",
                "has not granted the Defender partner consent Defender XDR incidents need \
                 (`partner_consent`)",
            ),
            (
                "{sources: [defender_xdr]}",
                "subscription: active\n    modules: [defender_xdr, sentinel]\n    \
                 partner_consent: true\n    fetch_to_sentinel: true\n",
                "forwards its Defender XDR incidents to Sentinel (`fetch_to_sentinel`)",
            ),
            (
                "{sources: [crowdstrike, sentinelone]}",
                RUNS_ALL,
                "enables no module for incidents from `crowdstrike` or `sentinelone` (`modules`)",
            ),
        ] {
            assert_eq!(
                warnings(applies_to, keys),
                [(Code::SopRunsNowhere, format!("`w` {reason}"))],
                "{applies_to} in {keys}"
            );
        }
    }

    /// A misspelt tag already says why the SOP runs nowhere: no second warning.
    #[test]
    fn a_typo_is_not_reported_twice() {
        assert_eq!(
            warnings(
                "{workspace_tags: [managed-xrd]}",
                &format!("{RUNS_ALL}    tags: [managed-xdr]\n")
            ),
            [(
                Code::UnknownWorkspaceTag,
                "did you mean `managed-xdr`? Else tag the workspaces meant".to_string()
            )]
        );
    }
}
