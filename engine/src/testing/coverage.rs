//! Gamebook coverage from the plans' traces: which steps ran, and which branches were taken —
//! both outcomes of every step `if`, both outcomes of every approval gate, and the error edge of
//! every step with `on_error`.

use std::collections::HashSet;

use riposte_dsl::checked::{Library, Step, StepKind};
use serde::Serialize;

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
    /// Its approval gate was refused: rejected, or timed out with `on_timeout: reject` or
    /// `fail`.
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
    pub fn add(&mut self, trace: &[TraceEvent]) {
        for e in trace {
            let (gamebook, step, item) = match e {
                TraceEvent::Ran { gamebook, step } => (gamebook, step, Item::Step),
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
                    ..
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
    /// Steps and branches together, 0–100; `None` (JSON `null`) when there is nothing to count
    /// (no gamebook reached, or none in the library): not measured, rather than 0 of 0 shown as
    /// full.
    pub percent: Option<f64>,
    /// Gamebooks no test of a partial run reached, left out of the rows and the total (see
    /// [`Coverage::reached`]); absent when none are.
    #[serde(skip_serializing_if = "is_zero")]
    pub unreached: usize,
}

fn is_zero(n: &usize) -> bool {
    *n == 0
}

impl Coverage {
    /// The coverage of the gamebooks the tests reached (a step ran, or a branch was taken: a
    /// gate refused before anything ran is reached too): what a run of some of the tests (some
    /// files, a `--filter`) measures. The others are only counted.
    pub fn reached(mut self) -> Coverage {
        let before = self.gamebooks.len();
        self.gamebooks
            .retain(|g| g.steps.covered > 0 || g.branches.covered > 0);
        self.unreached += before - self.gamebooks.len();
        self.steps = Count::default();
        self.branches = Count::default();
        for g in &self.gamebooks {
            self.steps.covered += g.steps.covered;
            self.steps.total += g.steps.total;
            self.branches.covered += g.branches.covered;
            self.branches.total += g.branches.total;
        }
        self.percent = percent(self.steps, self.branches);
        self
    }

    /// Whether the total (steps and branches) is at least `min` percent. A total of nothing is
    /// not measured, and meets no minimum.
    pub fn meets(&self, min: f64) -> bool {
        let covered = (self.steps.covered + self.branches.covered) as u128;
        let total = (self.steps.total + self.branches.total) as u128;
        if total == 0 {
            return false;
        }
        // Compared exactly, on the counts and on `min` as the decimal it was written as (its
        // shortest form: `64.4`), not on floats: 64.4 × 250 is a hair above 16,100 in binary,
        // and 161 of 250 would fail `--min-coverage 64.4`.
        match decimal(min) {
            Some((digits, scale)) => covered * 100 * scale >= digits * total,
            None => covered as f64 * 100.0 >= min * total as f64,
        }
    }
}

/// A non-negative number as `digits / scale` (`64.4` → 644 / 10), from its shortest decimal
/// form; `None` past 18 decimal places.
fn decimal(n: f64) -> Option<(u128, u128)> {
    let text = n.to_string();
    let (whole, fraction) = text.split_once('.').unwrap_or((&text, ""));
    if fraction.len() > 18 || !n.is_finite() || n < 0.0 {
        return None;
    }
    let digits: u128 = format!("{whole}{fraction}").parse().ok()?;
    Some((digits, 10u128.pow(fraction.len() as u32)))
}

/// Steps and branches together as a percentage; `None` when there is nothing to count.
pub fn percent(steps: Count, branches: Count) -> Option<f64> {
    let total = steps.total + branches.total;
    (total > 0).then(|| (steps.covered + branches.covered) as f64 * 100.0 / total as f64)
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
        // A gamebook has a step at least.
        g.percent = percent(g.steps, g.branches).unwrap_or(0.0);
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
        assert_eq!(cov.percent, Some(0.0));
        assert!(!cov.meets(1.0));
        assert!(cov.meets(0.0));

        hits.add(&[
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
                behind_another: false,
            },
            ran("last"),
            // Another gamebook's events do not count here.
            TraceEvent::Ran {
                gamebook: "other".into(),
                step: "outer.handler".into(),
            },
        ]);
        hits.add(&[
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
        ]);
        let cov = compute(&lib, &hits);
        let g = &cov.gamebooks[0];
        assert_eq!(
            g.steps,
            Count {
                covered: 4,
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
            [Missed {
                step: "outer.act".into(),
                item: Item::ApprovalGranted
            }]
        );
        assert!((g.percent - 800.0 / 9.0).abs() < 1e-9);
        assert!(cov.meets(88.8));
        assert!(!cov.meets(88.9));
    }

    /// A minimum exactly equal to the coverage is met, whatever binary floats make of it.
    #[test]
    fn a_minimum_equal_to_the_coverage_is_met() {
        for (covered, total, min) in [(161, 250, 64.4), (33, 375, 8.8), (66, 375, 17.6)] {
            let cov = Coverage {
                steps: Count { covered, total },
                ..Coverage::default()
            };
            assert!(cov.meets(min), "{covered}/{total} meets {min}");
            assert!(
                !cov.meets(min + 0.01),
                "{covered}/{total} is below {min} + 0.01"
            );
        }
        let third = Coverage {
            steps: Count {
                covered: 1,
                total: 3,
            },
            ..Coverage::default()
        };
        assert!(!third.meets(33.4));
        assert!(third.meets(33.333));
    }

    /// 0 of 0 is not 100%: nothing was measured, and no minimum is met.
    #[test]
    fn nothing_to_cover_is_not_measured() {
        let cov = compute(&Library::default(), &Hits::default());
        assert_eq!(cov.percent, None);
        assert!(!cov.meets(0.0));
        assert!(!cov.meets(100.0));
    }
}
