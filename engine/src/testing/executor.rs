//! The executor of a test run: the dry-run executor's simulated successes, with the failures the
//! test's `fail:` scripts. An entry matches actions the way `expect` does (step path or id,
//! action id or `kind.*`, target id with or without its kind, or name), and remembers whether it
//! matched, so an entry that fails nothing is reported instead of passing silently.

use std::cell::Cell;

use crate::executor::{names_action, simulated_output, ActionOutcome, ActionRequest, Executor};

use super::file::Fail;

/// The error of a `fail:` entry that gives none.
pub const DEFAULT_ERROR: &str = "scripted failure (test)";

/// The scripted executor of one test.
#[derive(Debug, Default)]
pub struct TestExecutor {
    entries: Vec<Fail>,
    /// Whether each entry matched an action the scheduler sent here.
    matched: Vec<Cell<bool>>,
}

impl TestExecutor {
    pub fn new(entries: Vec<Fail>) -> TestExecutor {
        let matched = entries.iter().map(|_| Cell::new(false)).collect();
        TestExecutor { entries, matched }
    }

    /// The indexes of the entries that matched no action.
    pub fn unmatched(&self) -> Vec<usize> {
        self.matched
            .iter()
            .enumerate()
            .filter(|(_, m)| !m.get())
            .map(|(i, _)| i)
            .collect()
    }
}

/// Whether `f` names the action of `r` (any attempt).
fn names(f: &Fail, r: &ActionRequest<'_>) -> bool {
    f.gamebook
        .as_deref()
        .is_none_or(|g| crate::scheduler::gamebook_matches(g, r.gamebook))
        && names_action(
            f.step.as_deref(),
            f.action.as_deref(),
            f.target.as_deref(),
            r,
        )
}

impl Executor for TestExecutor {
    fn execute(&self, r: &ActionRequest<'_>) -> ActionOutcome {
        let mut outcome = None;
        for (f, matched) in self.entries.iter().zip(&self.matched) {
            if !names(f, r) {
                continue;
            }
            // Every entry naming the action counts as matched, even behind an earlier one.
            matched.set(true);
            if outcome.is_none() && f.attempts.is_none_or(|n| r.attempt <= n) {
                outcome = Some(ActionOutcome::Failed(
                    f.error.clone().unwrap_or_else(|| DEFAULT_ERROR.to_string()),
                ));
            }
        }
        outcome.unwrap_or_else(|| ActionOutcome::Succeeded(simulated_output(r.action, r.key)))
    }
}
