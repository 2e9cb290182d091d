//! The library against a workspaces file (`riposte check --workspaces`): what an SOP routes on
//! that no workspace has, and SOPs no workspace would run. Each is a warning at the SOP: the
//! library is sound on its own, but with these workspaces part of it is dead.

use riposte_dsl::ast::{IncidentSource, SeverityLevel};
use riposte_dsl::checked::{Library, ResponseSop, Sop, SopBody, Step, StepKind};
use riposte_dsl::diagnostic::{did_you_mean, suggestion};
use riposte_dsl::{Code, Diagnostic, FileId, SourceFile, Span};

use crate::workspace::{
    same_ignoring_case, unknown_sop_offsets, Module, Subscription, UnknownSop, Workspace,
    WorkspaceError, MAX_REPORTED_ERRORS,
};

/// At most this many workspaces are named in the help of [`Code::SopRunsNowhere`].
const MAX_NAMED: usize = 3;

/// At most this many tags are listed in the help of [`Code::UnknownWorkspaceTag`].
const MAX_TAGS_LISTED: usize = 12;

/// The warnings for `library` against `workspaces`, in library order.
pub fn check(library: &Library, workspaces: &[Workspace]) -> Vec<Diagnostic> {
    let mut diags = Vec::new();
    for sop in &library.sops {
        let typos = match &sop.body {
            SopBody::Response(r) => unknown_names(sop, r, workspaces, &mut diags),
            SopBody::Classification(_) => Typos::default(),
        };
        let tasks = match &sop.body {
            SopBody::Response(r) => !r.tasks.is_empty() || opens_tasks(library, r),
            SopBody::Classification(_) => false,
        };
        if let Some(d) = runs_nowhere(sop, workspaces, Running { typos, tasks }) {
            diags.push(d);
        }
    }
    diags
}

/// What tells where an SOP runs besides the workspaces: its [`Typos`], and whether it opens
/// tasks (its own, or task steps of its gamebooks), which need no capability to run.
#[derive(Clone, Copy)]
struct Running {
    typos: Typos,
    tasks: bool,
}

/// Whether a gamebook the SOP `r` runs opens a task with no action run: a task step, in a
/// group or a gamebook it calls, that needs only task steps (directly or through the steps it
/// needs): one behind an action, which may be blocked, may never be reached.
fn opens_tasks(library: &Library, r: &ResponseSop) -> bool {
    fn has_task(library: &Library, steps: &[Step], seen: &mut Vec<String>) -> bool {
        // Steps that need nothing, or only task steps that do, to a fixed point (at most one
        // round a step).
        let mut free = vec![false; steps.len()];
        for _ in 0..steps.len() {
            let mut changed = false;
            for (i, s) in steps.iter().enumerate() {
                let needs_free = s.needs.iter().all(|n| {
                    steps
                        .iter()
                        .position(|o| o.id == *n)
                        .is_some_and(|j| free[j] && matches!(steps[j].kind, StepKind::Task(_)))
                });
                if !free[i] && needs_free {
                    free[i] = true;
                    changed = true;
                }
            }
            if !changed {
                break;
            }
        }
        steps.iter().zip(&free).any(|(s, &free)| {
            free && match &s.kind {
                StepKind::Task(_) => true,
                StepKind::Group(inner) => has_task(library, inner, seen),
                StepKind::Call { gamebook, .. } => gamebook_has_task(library, gamebook, seen),
                StepKind::Action { .. } => false,
            }
        })
    }
    fn gamebook_has_task(library: &Library, name: &str, seen: &mut Vec<String>) -> bool {
        // Each gamebook once: calls may form a diamond (cycles are compile errors).
        if seen.iter().any(|s| s == name) {
            return false;
        }
        seen.push(name.to_string());
        library
            .gamebook(name)
            .is_some_and(|g| has_task(library, &g.steps, seen))
    }
    let mut seen = Vec::new();
    r.gamebooks
        .iter()
        .any(|u| gamebook_has_task(library, &u.gamebook, &mut seen))
}

/// Which of an SOP's `applies_to` lists name what no workspace has: such a list is taken to
/// admit every workspace when telling where the SOP runs, as fixing the typo might make it so.
#[derive(Clone, Copy, Default)]
struct Typos {
    workspaces: bool,
    tags: bool,
}

/// What checking a workspaces file found: its diagnostics, and how many errors of the file
/// were left out past the first [`MAX_REPORTED_ERRORS`].
#[derive(Debug, Default)]
pub struct FileCheck {
    pub diagnostics: Vec<Diagnostic>,
    pub left_out: usize,
}

/// Every diagnostic of the workspaces file `source` (`file`): its errors (RP0504), else,
/// against `library`, agents' unknown SOPs (RP0505), else the warnings of [`check`]. Without
/// a library (one with errors, which lacks what it could not compile), only the file's errors.
pub fn check_file(library: Option<&Library>, file: FileId, source: &SourceFile) -> FileCheck {
    let workspaces = match crate::workspace::parse_workspaces(&source.name, &source.text) {
        Ok(w) => w,
        Err(e) => return file_errors(e, file, source),
    };
    let Some(library) = library else {
        return FileCheck::default();
    };
    let sops = library.sops.iter().map(|s| &*s.name);
    match crate::workspace::check_sops(&workspaces, sops) {
        Err(unknown) => unknown_sop_errors(unknown, file, source),
        Ok(()) => FileCheck {
            diagnostics: check(library, &workspaces),
            left_out: 0,
        },
    }
}

/// The errors of the workspaces file `source` (`file`), RP0504, each at its line and
/// column.
pub fn file_errors(e: WorkspaceError, file: FileId, source: &SourceFile) -> FileCheck {
    let (errors, left_out) = match e {
        WorkspaceError::Several {
            errors, left_out, ..
        } => (errors, left_out),
        one => (vec![one], 0),
    };
    let diagnostics = errors
        .into_iter()
        .map(|e| {
            let (at, message) = match e {
                WorkspaceError::Invalid {
                    line,
                    column,
                    message,
                    ..
                } => (source.offset_of(line as usize, column as usize), message),
                WorkspaceError::Inconsistent { message, .. } => (None, message),
                WorkspaceError::Io { source, .. } => (None, source.to_string()),
                several @ WorkspaceError::Several { .. } => (None, several.to_string()),
            };
            let span = match at {
                Some(start) => Span::new(start, start + word_at(&source.text[start..])),
                None => Span::new(0, 0),
            };
            Diagnostic::new(Code::InvalidWorkspaces, file, span, message)
        })
        .collect();
    FileCheck {
        diagnostics,
        left_out,
    }
}

/// The agents' SOPs the library lacks ([`crate::workspace::check_sops`]), RP0505, each at
/// the name in the workspaces file `source` (`file`), at most [`MAX_REPORTED_ERRORS`].
fn unknown_sop_errors(
    mut unknown: Vec<UnknownSop>,
    file: FileId,
    source: &SourceFile,
) -> FileCheck {
    let left_out = unknown.len().saturating_sub(MAX_REPORTED_ERRORS);
    unknown.truncate(MAX_REPORTED_ERRORS);
    let offsets = unknown_sop_offsets(&unknown, &source.text);
    let diagnostics = unknown
        .into_iter()
        .zip(offsets)
        .map(|(u, at)| {
            let span = match at {
                Some(start) => {
                    // The name, and its quotes when it is quoted.
                    let quoted = source.text[start..].starts_with(['"', '\'']);
                    let len = u.name().len() + if quoted { 2 } else { 0 };
                    Span::new(start, (start + len).min(source.text.len()))
                }
                None => Span::new(0, 0),
            };
            Diagnostic::new(Code::UnknownAgentSop, file, span, u.message())
                .with_label("not a SOP of the library")
                .with_help(u.help.clone())
        })
        .collect();
    FileCheck {
        diagnostics,
        left_out,
    }
}

/// The length of the word `text` starts with: to a space, a separator of a flow collection or
/// a key's colon.
fn word_at(text: &str) -> usize {
    text.find(|c: char| c.is_whitespace() || matches!(c, ',' | ']' | '}' | ':'))
        .unwrap_or(text.len())
}

/// RP0501 and RP0502: names and tags of `applies_to` no workspace has.
fn unknown_names(
    sop: &Sop,
    r: &ResponseSop,
    workspaces: &[Workspace],
    diags: &mut Vec<Diagnostic>,
) -> Typos {
    let mut typos = Typos::default();
    let names = || workspaces.iter().map(|w| w.name.as_str());
    for name in &r.workspaces {
        if !names().any(|n| same_ignoring_case(n, &name.value)) {
            typos.workspaces = true;
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
            typos.tags = true;
            let help = match did_you_mean(&tag.value, tags.iter().copied()) {
                Some(best) => format!("did you mean `{best}`? Else tag the workspaces meant"),
                None if tags.is_empty() => {
                    "no workspace has tags: give the workspaces meant `tags: [...]`".to_string()
                }
                None if tags.len() > MAX_TAGS_LISTED => format!(
                    "the workspaces' tags include {}, …; else tag the workspaces meant",
                    words_and(tags[..MAX_TAGS_LISTED].iter().copied())
                ),
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
    typos
}

/// RP0503: no workspace would run `sop`, each for a reason said in the help.
fn runs_nowhere(sop: &Sop, workspaces: &[Workspace], running: Running) -> Option<Diagnostic> {
    let mut reasons = Vec::new();
    for w in workspaces {
        match why_not(sop, w, running) {
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

/// Why workspace `w` never runs `sop`, or `None` when it may (for some incident): a response
/// SOP runs when its gamebooks may act or it has tasks to create; a classification SOP when
/// the workspace takes any incident.
fn why_not(sop: &Sop, w: &Workspace, running: Running) -> Option<String> {
    let typos = running.typos;
    if w.subscription == Subscription::Expired {
        return Some("has an expired subscription".into());
    }
    if !w.agent.sops.includes(&sop.name) {
        return Some("does not attach it to its agent (`agent.sops`)".into());
    }
    let r = match &sop.body {
        SopBody::Response(r) => Some(r.as_ref()),
        SopBody::Classification(_) => None,
    };
    if let Some(r) = r {
        let named = r.workspaces.is_empty()
            || typos.workspaces
            || r.workspaces
                .iter()
                .any(|n| same_ignoring_case(&n.value, &w.name));
        if !named {
            return Some("is not one of its `applies_to.workspaces`".into());
        }
        let tagged = r.workspace_tags.is_empty()
            || typos.tags
            || r.workspace_tags
                .iter()
                .any(|t| w.tags.iter().any(|x| same_ignoring_case(x, &t.value)));
        if !tagged {
            return Some("has none of its `applies_to.workspace_tags`".into());
        }
    }
    let sources = all_if_empty(r.map_or(&[][..], |r| &r.sources), IncidentSource::ALL);
    if !sources.iter().any(|&s| takes_incidents_from(w, s)) {
        return Some(no_incidents_from(w, sources));
    }
    let severities = all_if_empty(r.map_or(&[][..], |r| &r.severities), SeverityLevel::ALL);
    let processed = |s: &&SeverityLevel| w.agent.process_incident.iter().any(|p| p.level() == **s);
    if !severities.iter().any(|s| processed(&s)) {
        return Some(format!(
            "processes no {} incidents (`agent.process_incident`)",
            words(severities.iter().map(|s| s.as_str()))
        ));
    }
    // Tasks are created whatever the capability and the partner's permission; actions need
    // both.
    if r.is_some() && !running.tasks {
        if w.parent.is_some() && !w.allow_service_provider_gamebooks {
            return Some(
                "does not allow its service provider to run gamebooks \
                 (`allow_service_provider_gamebooks`), so none of its actions can run"
                    .into(),
            );
        }
        let acts = severities
            .iter()
            .filter(processed)
            .any(|s| w.agent.gamebooks.iter().any(|g| g.level() == *s));
        if !acts {
            return Some(format!(
                "has the Gamebooks capability for none of the {} incidents it processes \
                 (`agent.gamebooks`), so none of its actions can run",
                words(severities.iter().filter(processed).map(|s| s.as_str()))
            ));
        }
    }
    None
}

/// `list`, or `all` when it is empty (an `applies_to` list left out admits everything).
fn all_if_empty<'a, T>(list: &'a [T], all: &'a [T]) -> &'a [T] {
    if list.is_empty() {
        all
    } else {
        list
    }
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
    /// workspace `w` with the keys `keys` (indented for the mapping), and a manual agent
    /// processing high-severity incidents unless they give one.
    fn warnings(applies_to: &str, keys: &str) -> Vec<(Code, String)> {
        let sop = format!(
            "kind: sop\ntype: response\nname: s\nmode: manual\napplies_to: {applies_to}\n\
             gamebooks:\n  - gamebook: note\n"
        );
        warnings_of(&sop, keys)
    }

    /// [`warnings`] for the SOP `sop`.
    fn warnings_of(sop: &str, keys: &str) -> Vec<(Code, String)> {
        warnings_in(&[GAMEBOOK, sop], keys)
    }

    /// [`warnings`] for the library of `files`.
    fn warnings_in(files: &[&str], keys: &str) -> Vec<(Code, String)> {
        let mut sources = SourceMap::new();
        for (i, f) in files.iter().enumerate() {
            sources.add(SourceFile::new(format!("f{i}.yaml"), *f));
        }
        let c = compile(&sources, &Limits::default(), Vec::new());
        assert!(!c.has_errors(), "{:#?}", c.diagnostics);
        let agent = if keys.contains("agent:") {
            ""
        } else {
            "agent: {mode: manual, process_incident: [high], gamebooks: [high], sops: all}\n    "
        };
        let file = format!("workspaces:\n  - name: w\n    tenant_id: \"*\"\n    {agent}{keys}");
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

    /// A classification SOP runs where incidents are taken; a response SOP whose gamebooks
    /// can never act runs nowhere, unless it has tasks to create.
    #[test]
    fn what_running_takes_besides_matching() {
        let classification = "kind: sop\ntype: classification\nname: c\nrules:\n  - {name: r, \
                              when: 'true', classification: undetermined, reason: unknown, \
                              confidence: 10}\n";
        assert_eq!(warnings_of(classification, RUNS_ALL), []);
        assert_eq!(
            warnings_of(classification, "subscription: active\n    modules: []\n"),
            [(
                Code::SopRunsNowhere,
                "`w` enables no module for incidents from `defender_xdr`, `sentinel`, \
                 `crowdstrike`, `sentinelone`, `qradar` or `splunk` (`modules`)"
                    .to_string()
            )]
        );
        let no_gamebooks = format!(
            "{RUNS_ALL}    agent: {{mode: manual, process_incident: [high, low], gamebooks: \
             [low], sops: all}}\n"
        );
        assert_eq!(
            warnings("{severities: [high, medium]}", &no_gamebooks),
            [(
                Code::SopRunsNowhere,
                "`w` has the Gamebooks capability for none of the `high` incidents it processes \
                 (`agent.gamebooks`), so none of its actions can run"
                    .to_string()
            )]
        );
        let with_task = "kind: sop\ntype: response\nname: s\nmode: manual\napplies_to: \
                         {severities: [high]}\ngamebooks:\n  - gamebook: note\ntasks:\n  - \
                         {title: call the customer, role: incident_responder}\n";
        assert_eq!(warnings_of(with_task, &no_gamebooks), []);
        // A task step of a gamebook, even one it calls, opens its task whatever the capability.
        let task_step = "kind: gamebook\nname: ask\nversion: 1.0.0\nsteps:\n  - id: confirm\n    \
                         task: {title: confirm, role: incident_analyst}\n";
        let calls = GAMEBOOK
            .replace("name: note", "name: calls")
            .replace("steps:\n", "steps:\n  - id: ask\n    gamebook: ask\n");
        let sop = "kind: sop\ntype: response\nname: s\nmode: manual\napplies_to: {severities: \
                   [high]}\ngamebooks:\n  - gamebook: calls\n";
        assert_eq!(
            warnings_in(&[GAMEBOOK, task_step, &calls, sop], &no_gamebooks),
            []
        );
        // One that needs an action, which may be blocked, may never be reached.
        let behind = format!("{GAMEBOOK}  - id: follow_up\n    needs: [note]\n    task: {{title: t, role: incident_analyst}}\n");
        let sop_note = sop.replace("gamebook: calls", "gamebook: note");
        let warned = warnings_in(&[&behind, &sop_note], &no_gamebooks);
        assert_eq!(warned.len(), 1, "{warned:?}");
        // A customer that does not let its partner run gamebooks runs none of its actions.
        let managed = format!(
            "{RUNS_ALL}    parent: p\n    allow_service_provider_gamebooks: false\n    agent: {{mode: manual, process_incident: [high], \
             gamebooks: [high], sops: all}}\n  - name: p\n    tenant_id: 11111111-2222-3333-4444-555555555555\n    \
             subscription: active\n    agent: {{mode: manual, process_incident: [high], gamebooks: \
             [high], sops: []}}\n"
        );
        let warned = warnings("{severities: [high]}", &managed);
        assert_eq!(warned.len(), 1, "{warned:?}");
        assert!(
            warned[0].1.starts_with(
                "`w` does not allow its service provider to run gamebooks \
                 (`allow_service_provider_gamebooks`)"
            ),
            "{warned:?}"
        );
    }

    /// A misspelt tag already says why the SOP runs nowhere: no second warning; a typo that
    /// does not explain it leaves the warning that does.
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
        let warned = warnings(
            "{sources: [crowdstrike], workspace_tags: [managed-xdr, legacy-edr]}",
            &format!("{RUNS_ALL}    tags: [managed-xdr]\n"),
        );
        let codes: Vec<Code> = warned.iter().map(|(c, _)| *c).collect();
        assert_eq!(
            codes,
            [Code::UnknownWorkspaceTag, Code::SopRunsNowhere],
            "{warned:?}"
        );
    }
}
