//! The test report as text, like `cargo test`: a line per test, the failures with their diffs,
//! the coverage table, and the closing `N passed, N failed` line.

use std::fmt::Write;

use super::coverage::{Coverage, GamebookCoverage};
use super::expect::{ActionView, Failure, TaskView};
use super::{Report, TestResult};
use crate::plan::text::{plural, printable};

fn paint(s: &str, code: &str, color: bool) -> String {
    if color {
        format!("\x1b[{code}m{s}\x1b[0m")
    } else {
        s.to_string()
    }
}

/// What a test is called in the report: `file: name`, or the file alone.
pub fn title(t: &TestResult) -> String {
    if t.name.is_empty() {
        printable(&t.file).into_owned()
    } else {
        printable(&format!("{}: {}", t.file, t.name)).into_owned()
    }
}

/// The whole report. `min_coverage` adds the verdict on the coverage total.
pub fn render(report: &Report, min_coverage: Option<f64>, color: bool) -> String {
    let mut out = String::new();
    let n = report.tests.len();
    let _ = writeln!(out, "running {n} test{}", if n == 1 { "" } else { "s" });
    for t in &report.tests {
        let verdict = if t.passed {
            paint("ok", "32", color)
        } else {
            paint("FAILED", "31", color)
        };
        let _ = writeln!(out, "test {} ... {verdict}", title(t));
    }
    let failed: Vec<&TestResult> = report.tests.iter().filter(|t| !t.passed).collect();
    if !failed.is_empty() {
        out.push_str("\nfailures:\n");
        for t in &failed {
            let at = if t.line > 0 {
                format!(" ({}:{})", t.file, t.line)
            } else {
                String::new()
            };
            let _ = writeln!(out, "\n---- {}{at} ----", title(t));
            for f in &t.failures {
                failure(&mut out, f, &t.file, color);
            }
        }
    }
    out.push('\n');
    coverage(&mut out, &report.coverage);
    if let Some(verdict) = coverage_verdict(report, min_coverage) {
        let _ = writeln!(out, "{}", paint(&verdict, "31", color));
    }
    if report.filtered_out > 0 {
        let _ = writeln!(
            out,
            "\n{} left out by --filter",
            plural(report.filtered_out, "test")
        );
    }
    let _ = writeln!(
        out,
        "\n{} passed, {} failed",
        report.passed(),
        report.failed()
    );
    out
}

/// Why coverage fails `--min-coverage`, when it does: `coverage 21.1% is below --min-coverage
/// 30%` (on stdout in the text report, on stderr beside the JSON one).
pub fn coverage_verdict(report: &Report, min_coverage: Option<f64>) -> Option<String> {
    let min = min_coverage?;
    (!report.coverage_ok(Some(min))).then(|| match report.coverage.percent {
        // The minimum as given (`75.01%`), not rounded down as coverage is.
        Some(p) => format!("coverage {} is below --min-coverage {min}%", pct(p)),
        None => format!(
            "coverage is not measured (no gamebook step or branch to count), so it does not \
             reach --min-coverage {min}%"
        ),
    })
}

fn failure(out: &mut String, f: &Failure, file: &str, color: bool) {
    // `file:line`, which editors and terminals open at the line.
    let file = printable(file);
    let red = |s: &str| paint(s, "31", color);
    match f {
        Failure::Error { message } => {
            let _ = writeln!(out, "  {} {}", red("error:"), printable(message));
        }
        Failure::UnmatchedFail { message } => {
            let _ = writeln!(out, "  {} {}", red("unmatched fail:"), printable(message));
        }
        Failure::UnmatchedApprove { message } => {
            let _ = writeln!(
                out,
                "  {} {}",
                red("unmatched approve:"),
                printable(message)
            );
        }
        Failure::UnmatchedReject { message } => {
            let _ = writeln!(out, "  {} {}", red("unmatched reject:"), printable(message));
        }
        Failure::UnmatchedTimeOut { message } => {
            let _ = writeln!(
                out,
                "  {} {}",
                red("unmatched time_out:"),
                printable(message)
            );
        }
        Failure::Eligibility {
            expected,
            actual,
            failed_checks,
        } => {
            let _ = writeln!(
                out,
                "  {} expected {expected}, got {actual}",
                red("eligible:")
            );
            for c in failed_checks {
                let _ = writeln!(out, "      failed check {}", printable(c));
            }
        }
        Failure::Classification { expected, actual } => {
            let _ = writeln!(out, "  {}", red("classification:"));
            let _ = writeln!(out, "      expected {}", printable(&expected.to_string()));
            let _ = writeln!(out, "      got      {}", printable(&actual.to_string()));
        }
        Failure::Sops {
            missing,
            unexpected,
        } => {
            let _ = writeln!(out, "  {}", red("matched SOPs differ:"));
            for s in missing {
                let _ = writeln!(out, "      - {} (expected, did not match)", printable(s));
            }
            for s in unexpected {
                let _ = writeln!(out, "      + {} (matched, not expected)", printable(s));
            }
        }
        Failure::MissingAction {
            line,
            expected,
            near,
            hint,
        } => {
            let _ = writeln!(
                out,
                "  {} ({file}:{line}) {expected}",
                red("- missing action")
            );
            for n in near {
                let _ = writeln!(out, "      plan has {}", action(&n.entry));
                for d in &n.differences {
                    let _ = writeln!(out, "        {}", printable(&d.to_string()));
                }
            }
            if let Some(h) = hint {
                let _ = writeln!(out, "      hint: {}", printable(&h.to_string()));
            }
        }
        Failure::ActionCount {
            line,
            expected,
            count,
            actual,
            matched,
        } => {
            let _ = writeln!(
                out,
                "  {} ({file}:{line}) {expected}: expected {count}, the plan has {actual}",
                red("~ action count")
            );
            for a in matched {
                let _ = writeln!(out, "      plan has {}", action(a));
            }
            if *actual > matched.len() {
                let _ = writeln!(out, "      … and {} more", actual - matched.len());
            }
        }
        Failure::OutOfOrder {
            line,
            expected,
            after_line,
            after_position,
            position,
        } => {
            let early = match position {
                // `count:` orders every action the entry matches.
                Some(position) => format!(
                    "action {position} of the plan, the first of the actions it counts, comes"
                ),
                None => "every matching action comes".to_string(),
            };
            let _ = writeln!(
                out,
                "  {} ({file}:{line}) {expected}: {early} at or before action {after_position} \
                 of the plan, which the expectation on line {after_line} matched",
                red("~ out of order")
            );
        }
        Failure::UnexpectedAction { action: a } => {
            let _ = writeln!(
                out,
                "  {} (only: true) {}",
                red("+ unexpected action"),
                action(a)
            );
        }
        Failure::MissingTask {
            line,
            expected,
            near,
        } => {
            let _ = writeln!(
                out,
                "  {} ({file}:{line}) {expected}",
                red("- missing task")
            );
            for n in near {
                let _ = writeln!(out, "      plan has {}", task(&n.entry));
                for d in &n.differences {
                    let _ = writeln!(out, "        {}", printable(&d.to_string()));
                }
            }
        }
        Failure::TaskCount {
            line,
            expected,
            count,
            actual,
        } => {
            let _ = writeln!(
                out,
                "  {} ({file}:{line}) {expected}: expected {count}, the plan has {actual}",
                red("~ task count")
            );
        }
        Failure::UnexpectedTask { task: t } => {
            let _ = writeln!(
                out,
                "  {} (only: true) {}",
                red("+ unexpected task"),
                task(t)
            );
        }
        Failure::MoreUnexpected { what, count } => {
            let _ = writeln!(
                out,
                "  {} (only: true) {} more not listed",
                red("+ unexpected"),
                plural(*count, what.strip_suffix('s').unwrap_or(what))
            );
        }
        Failure::Summary {
            field,
            expected,
            actual,
        } => {
            let _ = writeln!(
                out,
                "  {} expected {expected}, got {actual}",
                red(&format!("summary.{field}:"))
            );
        }
    }
}

/// `contain.isolate device.isolate dc-01 (device:…) [sop / gamebook]: blocked — reason`.
fn action(a: &ActionView) -> String {
    let mut s = format!("{} {}", a.step, a.action);
    if let Some(t) = &a.target {
        let _ = write!(s, " {t}");
    }
    let _ = write!(s, " [{} / {}]: {}", a.sop, a.gamebook, a.status);
    match (a.approver, &a.approval_reason) {
        // The reason an action awaits approval says why already.
        (Some(r), Some(why)) if !a.reason.contains(why.as_str()) => {
            let _ = write!(s, " (approver {r}: {why})");
        }
        (Some(r), _) => {
            let _ = write!(s, " (approver {r})");
        }
        _ => {}
    }
    if !a.reason.is_empty() {
        let _ = write!(s, " — {}", a.reason);
    }
    if let Some(e) = &a.execution {
        let _ = write!(s, "; {e}");
    }
    printable(&s).into_owned()
}

fn task(t: &TaskView) -> String {
    let from = if t.gamebook.is_empty() {
        t.sop.clone()
    } else {
        format!("{} / {} / {}", t.sop, t.gamebook, t.step)
    };
    printable(&format!("[{}] {} ({from})", t.role, t.title)).into_owned()
}

/// A percentage, rounded down so 99.95% never shows as 100%.
pub fn pct(p: f64) -> String {
    if p >= 100.0 {
        "100%".to_string()
    } else {
        format!("{:.1}%", (p * 10.0).floor() / 10.0)
    }
}

fn coverage(out: &mut String, cov: &Coverage) {
    let width = cov
        .gamebooks
        .iter()
        .map(|g| g.gamebook.len())
        .max()
        .unwrap_or(0)
        .max("total".len());
    out.push_str("coverage:\n");
    for g in &cov.gamebooks {
        row(
            out,
            &g.gamebook,
            width,
            g.steps,
            g.branches,
            Some(g.percent),
        );
        missed(out, g);
    }
    row(out, "total", width, cov.steps, cov.branches, cov.percent);
    if cov.unreached > 0 {
        let _ = writeln!(
            out,
            "  ({} that no test run reaches left out; run every test for the library's coverage)",
            plural(cov.unreached, "gamebook")
        );
    } else if cov.percent.is_none() {
        out.push_str("  (the library has no gamebook: coverage is not measured)\n");
    }
}

fn row(
    out: &mut String,
    name: &str,
    width: usize,
    steps: super::coverage::Count,
    branches: super::coverage::Count,
    percent: Option<f64>,
) {
    let s = format!("{}/{}", steps.covered, steps.total);
    let b = format!("{}/{}", branches.covered, branches.total);
    let _ = writeln!(
        out,
        "  {name:<width$}  steps {s:<7} branches {b:<7} {}",
        // 0 of 0 is not 100%: nothing was measured.
        percent.map_or_else(|| "n/a".to_string(), pct)
    );
}

fn missed(out: &mut String, g: &GamebookCoverage) {
    for m in &g.missed {
        let _ = writeln!(out, "      missed: `{}` {}", m.step, m.item.describe());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentages_round_down() {
        assert_eq!(pct(100.0), "100%");
        assert_eq!(pct(99.99), "99.9%");
        assert_eq!(pct(92.0), "92.0%");
        assert_eq!(pct(0.0), "0.0%");
    }
}
