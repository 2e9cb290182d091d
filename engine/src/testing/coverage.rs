//! Gamebook coverage from the plans' traces: which steps ran, and which branches were taken —
//! both outcomes of every step `if`, both outcomes of every approval gate, and the error edge of
//! every step with `on_error`.

use std::collections::HashSet;

use riposte_dsl::checked::{Library, Step, StepKind};
use serde::Serialize;

use crate::plan::model::{PlannedAction, Status};
use crate::scheduler::TraceEvent;

/// One thing a test run can cover.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Item {
    /// The step ran.
    Step,
    /// Its `if` was true.
    IfTrue,
    /// Its `if` was false.
    IfFalse,
    /// Its approval gate was granted.
    ApprovalGranted,
    /// Its approval gate was not granted.
    ApprovalDenied,
    /// It failed and its `on_error` handler ran.
    OnError,
}

impl Item {
    pub fn is_branch(self) -> bool {
        self != Item::Step
    }

    /// Words for people: `if true`, `approval denied`, …
    pub fn describe(self) -> &'static str {
        match self {
            Item::Step => "step never ran",
            Item::IfTrue => "`if` never true",
            Item::IfFalse => "`if` never false",
            Item::ApprovalGranted => "approval never granted",
            Item::ApprovalDenied => "approval never denied",
            Item::OnError => "error edge (`on_error`) never taken",
        }
    }
}

/// What the runs hit: (gamebook, step path, item).
#[derive(Debug, Default)]
pub struct Hits(HashSet<(String, String, Item)>);

impl Hits {
    /// Adds what one run covered: its branch points from `trace`, and the steps that ran, from
    /// the trace and the plan's `actions` (see [`Run`]).
    pub fn add(&mut self, library: &Library, trace: &[TraceEvent], actions: &[PlannedAction]) {
        let mut run = Run::new(library, trace, actions);
        run.settle();
        for (gamebook, step) in run.covered() {
            self.0.insert((gamebook, step, Item::Step));
        }
        for e in trace {
            let (gamebook, step, item) = match e {
                // Steps come from `Run`: a `Ran` event alone also marks steps that wait.
                TraceEvent::Ran { .. } => continue,
                TraceEvent::Condition {
                    gamebook,
                    step,
                    value,
                } => (
                    gamebook,
                    step,
                    if *value { Item::IfTrue } else { Item::IfFalse },
                ),
                TraceEvent::Gate {
                    gamebook,
                    step,
                    granted,
                } => (
                    gamebook,
                    step,
                    if *granted {
                        Item::ApprovalGranted
                    } else {
                        Item::ApprovalDenied
                    },
                ),
                TraceEvent::ErrorEdge { gamebook, step } => (gamebook, step, Item::OnError),
            };
            self.0.insert((gamebook.clone(), step.clone(), item));
        }
    }

    fn contains(&self, gamebook: &str, step: &str, item: Item) -> bool {
        self.0
            .contains(&(gamebook.to_string(), step.to_string(), item))
    }
}

/// A step of a gamebook: (gamebook, step path).
type StepKey<'a> = (&'a str, String);

/// Which steps of one run actually ran. The trace says which steps the scheduler started
/// (`Ran`), but it also starts steps that only wait: behind their own ungranted gate, inside a
/// waiting group or call, or after a dependency that awaits approval. Those waits are rebuilt
/// here from the library's structure, the ungranted gates of the trace and the plan's actions
/// awaiting approval; an action step must moreover have had an action reach the executor.
///
/// The trace does not say which invocation of a gamebook an event belongs to, so a step that
/// waited in one invocation counts as waiting in all of them: coverage may miss a step that ran,
/// never count one that did not (actions are exact either way).
struct Run<'a> {
    library: &'a Library,
    /// Steps the scheduler started (`Ran`).
    started: HashSet<(&'a str, &'a str)>,
    /// Steps whose own approval gate was not granted.
    gate_denied: HashSet<(&'a str, &'a str)>,
    /// Action steps with an action that went to the executor.
    executed: HashSet<(&'a str, &'a str)>,
    /// Action steps with an action awaiting approval (a wait, a workspace or SOP rule).
    awaiting_actions: HashSet<(&'a str, &'a str)>,
    /// Steps started with an approval pending on their way.
    waiting: HashSet<StepKey<'a>>,
    /// Gamebooks called by a step that waited.
    called_waiting: HashSet<&'a str>,
    /// Gamebooks with a step that awaited approval (which makes a call of them await it).
    gamebook_awaits: HashSet<&'a str>,
}

impl<'a> Run<'a> {
    fn new(library: &'a Library, trace: &'a [TraceEvent], actions: &'a [PlannedAction]) -> Self {
        let mut run = Run {
            library,
            started: HashSet::new(),
            gate_denied: HashSet::new(),
            executed: HashSet::new(),
            awaiting_actions: HashSet::new(),
            waiting: HashSet::new(),
            called_waiting: HashSet::new(),
            gamebook_awaits: HashSet::new(),
        };
        for e in trace {
            match e {
                TraceEvent::Ran { gamebook, step } => {
                    run.started.insert((gamebook, step));
                }
                TraceEvent::Gate {
                    gamebook,
                    step,
                    granted: false,
                } => {
                    run.gate_denied.insert((gamebook, step));
                }
                _ => {}
            }
        }
        for a in actions {
            // A sub-gamebook's actions are labelled `caller > callee`.
            let gamebook = a.gamebook.rsplit(" > ").next().unwrap_or(&a.gamebook);
            let key = (gamebook, a.step.as_str());
            match a.status {
                Status::WouldRun => {
                    run.executed.insert(key);
                }
                Status::AwaitingApproval => {
                    run.awaiting_actions.insert(key);
                }
                Status::Blocked | Status::Skipped => {}
            }
        }
        run
    }

    /// Propagates waits until nothing changes: through dependencies, groups and calls (in
    /// either direction between gamebooks, hence the repetition). Every pass only adds, so
    /// this ends; the bound is a guard.
    fn settle(&mut self) {
        let library = self.library;
        for _ in 0..=library.gamebooks.len() + 1 {
            let before = (
                self.waiting.len(),
                self.called_waiting.len(),
                self.gamebook_awaits.len(),
            );
            for gb in &library.gamebooks {
                let entered_waiting = self.called_waiting.contains(gb.name.as_str());
                if self.walk(&gb.name, &gb.steps, "", entered_waiting) {
                    self.gamebook_awaits.insert(&gb.name);
                }
            }
            let after = (
                self.waiting.len(),
                self.called_waiting.len(),
                self.gamebook_awaits.len(),
            );
            if before == after {
                break;
            }
        }
    }

    /// Marks the steps of one list that waited; returns whether one of them awaited approval.
    fn walk(
        &mut self,
        gamebook: &'a str,
        steps: &'a [Step],
        prefix: &str,
        parent_waits: bool,
    ) -> bool {
        // Each sibling once its dependencies are done; `needs` have no cycles once compiled,
        // and a pass that makes no progress ends the loop anyway.
        let mut awaits: Vec<Option<bool>> = vec![None; steps.len()];
        let mut progress = true;
        while progress {
            progress = false;
            for (i, s) in steps.iter().enumerate() {
                if awaits.get(i).copied().flatten().is_some() {
                    continue;
                }
                let mut dependency_awaits = false;
                let mut ready = true;
                for n in &s.needs {
                    // A name that is not a sibling waits for nothing here.
                    if let Some(j) = steps.iter().position(|x| &x.id == n) {
                        match awaits.get(j).copied().flatten() {
                            Some(a) => dependency_awaits |= a,
                            None => ready = false,
                        }
                    }
                }
                if !ready {
                    continue;
                }
                let path = format!("{prefix}{}", s.id);
                let started = self.started.contains(&(gamebook, path.as_str()));
                let waits = started
                    && (parent_waits
                        || dependency_awaits
                        || self.gate_denied.contains(&(gamebook, path.as_str())));
                let inner_awaits = match &s.kind {
                    StepKind::Group(inner) => {
                        self.walk(gamebook, inner, &format!("{path}."), waits)
                    }
                    StepKind::Call {
                        gamebook: callee, ..
                    } => {
                        if waits {
                            self.called_waiting.insert(callee);
                        }
                        self.gamebook_awaits.contains(callee.as_str())
                    }
                    StepKind::Action { .. } => {
                        self.awaiting_actions.contains(&(gamebook, path.as_str()))
                    }
                    StepKind::Task(_) => false,
                };
                if waits {
                    self.waiting.insert((gamebook, path));
                }
                if let Some(slot) = awaits.get_mut(i) {
                    *slot = Some(started && (waits || inner_awaits));
                }
                progress = true;
            }
        }
        awaits.contains(&Some(true))
    }

    /// The steps that ran: started with no approval pending on the way, and for an action
    /// step, with an action that went to the executor.
    fn covered(&self) -> Vec<(String, String)> {
        let mut out = Vec::new();
        for gb in &self.library.gamebooks {
            let mut items = Vec::new();
            steps_of(&gb.steps, "", &mut items);
            for (path, step) in items {
                let key = (gb.name.as_str(), path.as_str());
                let ran = match &step.kind {
                    // An action that ran was reached with nothing pending.
                    StepKind::Action { .. } => self.executed.contains(&key),
                    _ => {
                        self.started.contains(&key)
                            && !self.waiting.contains(&(gb.name.as_str(), path.clone()))
                    }
                };
                if ran {
                    out.push((gb.name.clone(), path));
                }
            }
        }
        out
    }
}

/// Every step of `steps` with its path, groups' steps included.
fn steps_of<'s>(steps: &'s [Step], prefix: &str, out: &mut Vec<(String, &'s Step)>) {
    for s in steps {
        let path = format!("{prefix}{}", s.id);
        if let StepKind::Group(inner) = &s.kind {
            steps_of(inner, &format!("{path}."), out);
        }
        out.push((path, s));
    }
}

/// Covered out of total.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Count {
    pub covered: usize,
    pub total: usize,
}

impl Count {
    fn add(&mut self, hit: bool) {
        self.total += 1;
        if hit {
            self.covered += 1;
        }
    }
}

/// Something not covered.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Missed {
    pub step: String,
    pub item: Item,
}

/// The coverage of one gamebook.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct GamebookCoverage {
    pub gamebook: String,
    pub steps: Count,
    pub branches: Count,
    /// Steps and branches together, 0–100.
    pub percent: f64,
    /// In document order.
    pub missed: Vec<Missed>,
}

/// The coverage of a library.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct Coverage {
    pub gamebooks: Vec<GamebookCoverage>,
    pub steps: Count,
    pub branches: Count,
    pub percent: f64,
}

impl Coverage {
    /// Whether the total (steps and branches) is at least `min` percent.
    pub fn meets(&self, min: f64) -> bool {
        let covered = self.steps.covered + self.branches.covered;
        let total = self.steps.total + self.branches.total;
        // Compared on the counts, not on the rounded percentage.
        covered as f64 * 100.0 >= min * total as f64
    }
}

/// Steps and branches together as a percentage; 100 when there is nothing to cover.
pub fn percent(steps: Count, branches: Count) -> f64 {
    let total = steps.total + branches.total;
    if total == 0 {
        100.0
    } else {
        (steps.covered + branches.covered) as f64 * 100.0 / total as f64
    }
}

/// The coverage of every gamebook of `library` by `hits`.
pub fn compute(library: &Library, hits: &Hits) -> Coverage {
    let mut cov = Coverage::default();
    for gb in &library.gamebooks {
        let mut g = GamebookCoverage {
            gamebook: gb.name.clone(),
            steps: Count::default(),
            branches: Count::default(),
            percent: 0.0,
            missed: Vec::new(),
        };
        let mut items = Vec::new();
        items_of(&gb.steps, "", &mut items);
        for (step, item) in items {
            let hit = hits.contains(&gb.name, &step, item);
            if item.is_branch() {
                g.branches.add(hit);
            } else {
                g.steps.add(hit);
            }
            if !hit {
                g.missed.push(Missed { step, item });
            }
        }
        g.percent = percent(g.steps, g.branches);
        cov.steps.covered += g.steps.covered;
        cov.steps.total += g.steps.total;
        cov.branches.covered += g.branches.covered;
        cov.branches.total += g.branches.total;
        cov.gamebooks.push(g);
    }
    cov.percent = percent(cov.steps, cov.branches);
    cov
}

/// Every coverable item of `steps`, depth first in document order: the step, then its branches.
pub fn items_of(steps: &[Step], prefix: &str, out: &mut Vec<(String, Item)>) {
    for s in steps {
        let path = format!("{prefix}{}", s.id);
        out.push((path.clone(), Item::Step));
        if s.condition.is_some() {
            out.push((path.clone(), Item::IfTrue));
            out.push((path.clone(), Item::IfFalse));
        }
        if s.approval.is_some() {
            out.push((path.clone(), Item::ApprovalGranted));
            out.push((path.clone(), Item::ApprovalDenied));
        }
        if s.on_error.is_some() {
            out.push((path.clone(), Item::OnError));
        }
        if let StepKind::Group(inner) = &s.kind {
            items_of(inner, &format!("{path}."), out);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use riposte_dsl::compile::compile;
    use riposte_dsl::syntax::Limits;
    use riposte_dsl::{SourceFile, SourceMap};

    const GAMEBOOK: &str = r#"
kind: gamebook
name: g
version: 1.0.0
steps:
  - id: outer
    if: "incident.severity == high"
    steps:
      - id: act
        action: incident.comment
        params: {comment: hi}
        approval: {role: workspace_owner, timeout: 1h, on_timeout: reject}
        on_error: handler
      - id: handler
        action: incident.comment
        params: {comment: failed}
  - id: last
    action: incident.comment
    params: {comment: done}
"#;

    fn library() -> Library {
        let mut sources = SourceMap::new();
        sources.add(SourceFile::new("g.yaml", GAMEBOOK));
        let c = compile(&sources, &Limits::default(), Vec::new());
        assert!(!c.has_errors(), "{:#?}", c.diagnostics);
        c.library
    }

    fn ran(step: &str) -> TraceEvent {
        TraceEvent::Ran {
            gamebook: "g".into(),
            step: step.into(),
        }
    }

    fn action(gamebook: &str, step: &str, status: Status) -> PlannedAction {
        PlannedAction {
            key: String::new(),
            sop: "s".into(),
            gamebook: gamebook.into(),
            step: step.into(),
            action: "incident.comment",
            target: None,
            params: serde_json::Map::new(),
            status,
            approval: None,
            reason: String::new(),
            provider: None,
            execution: None,
        }
    }

    #[test]
    fn items_are_steps_then_their_branches_in_document_order() {
        let lib = library();
        let mut items = Vec::new();
        items_of(&lib.gamebooks[0].steps, "", &mut items);
        let got: Vec<(&str, Item)> = items.iter().map(|(s, i)| (s.as_str(), *i)).collect();
        assert_eq!(
            got,
            [
                ("outer", Item::Step),
                ("outer", Item::IfTrue),
                ("outer", Item::IfFalse),
                ("outer.act", Item::Step),
                ("outer.act", Item::ApprovalGranted),
                ("outer.act", Item::ApprovalDenied),
                ("outer.act", Item::OnError),
                ("outer.handler", Item::Step),
                ("last", Item::Step),
            ]
        );
    }

    #[test]
    fn hits_from_traces_add_up_across_runs() {
        let lib = library();
        let mut hits = Hits::default();
        let cov = compute(&lib, &hits);
        assert_eq!(
            cov.steps,
            Count {
                covered: 0,
                total: 4
            }
        );
        assert_eq!(
            cov.branches,
            Count {
                covered: 0,
                total: 5
            }
        );
        assert_eq!(cov.percent, 0.0);
        assert!(!cov.meets(1.0));
        assert!(cov.meets(0.0));

        hits.add(
            &lib,
            &[
                TraceEvent::Condition {
                    gamebook: "g".into(),
                    step: "outer".into(),
                    value: true,
                },
                ran("outer"),
                ran("outer.act"),
                TraceEvent::Gate {
                    gamebook: "g".into(),
                    step: "outer.act".into(),
                    granted: false,
                },
                ran("last"),
                // Another gamebook's events do not count here.
                TraceEvent::Ran {
                    gamebook: "other".into(),
                    step: "outer.handler".into(),
                },
            ],
            &[
                // Started, but waiting behind its gate: not covered.
                action("g", "outer.act", Status::AwaitingApproval),
                action("g", "last", Status::WouldRun),
                action("other", "outer.handler", Status::WouldRun),
            ],
        );
        hits.add(
            &lib,
            &[
                TraceEvent::Condition {
                    gamebook: "g".into(),
                    step: "outer".into(),
                    value: false,
                },
                TraceEvent::ErrorEdge {
                    gamebook: "g".into(),
                    step: "outer.act".into(),
                },
                ran("outer.handler"),
            ],
            &[action("caller > g", "outer.handler", Status::WouldRun)],
        );
        let cov = compute(&lib, &hits);
        let g = &cov.gamebooks[0];
        assert_eq!(
            g.steps,
            Count {
                covered: 3,
                total: 4
            }
        );
        assert_eq!(
            g.branches,
            Count {
                covered: 4,
                total: 5
            }
        );
        assert_eq!(
            g.missed,
            [
                Missed {
                    step: "outer.act".into(),
                    item: Item::Step
                },
                Missed {
                    step: "outer.act".into(),
                    item: Item::ApprovalGranted
                }
            ]
        );
        assert!((g.percent - 700.0 / 9.0).abs() < 1e-9);
        assert!(cov.meets(77.7));
        assert!(!cov.meets(77.8));
    }

    #[test]
    fn nothing_to_cover_is_full_coverage() {
        let cov = compute(&Library::default(), &Hits::default());
        assert_eq!(cov.percent, 100.0);
        assert!(cov.meets(100.0));
    }
}
