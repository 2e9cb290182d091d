//! The plan as text for people: SOP → gamebook → step, one line per action, ending with the
//! summary line.

use std::borrow::Cow;
use std::fmt::Write;

use super::model::{Plan, PlannedAction, Status};

/// Text from the incident or the library made safe for a terminal: control characters (an
/// escape sequence that clears the screen, a newline that forges a row) shown as `�`.
pub fn printable(s: &str) -> Cow<'_, str> {
    shown(s, |_| false)
}

/// [`printable`] for a message of several lines: its newlines are kept.
pub fn printable_lines(s: &str) -> Cow<'_, str> {
    shown(s, |c| c == '\n')
}

/// `1 item`, `2 items`.
pub fn plural<N: std::fmt::Display + PartialEq + From<u8>>(n: N, word: &str) -> String {
    if n == N::from(1) {
        format!("1 {word}")
    } else {
        format!("{n} {word}s")
    }
}

fn shown(s: &str, keep: impl Fn(char) -> bool) -> Cow<'_, str> {
    let bad = |c: char| (c.is_control() && !keep(c)) || riposte_dsl::source::is_layout_control(c);
    if s.chars().any(bad) {
        Cow::Owned(s.chars().map(|c| if bad(c) { '�' } else { c }).collect())
    } else {
        Cow::Borrowed(s)
    }
}

fn paint(s: &str, code: &str, color: bool) -> String {
    if color {
        format!("\x1b[{code}m{s}\x1b[0m")
    } else {
        s.to_string()
    }
}

fn status_word(s: Status, color: bool) -> String {
    let (word, code) = match s {
        Status::WouldRun => ("would run", "32"),
        Status::AwaitingApproval => ("awaiting approval", "33"),
        Status::Blocked => ("blocked", "31"),
        Status::Skipped => ("skipped", "2"),
        Status::Rejected => ("rejected", "35"),
    };
    paint(&format!("{word:<17}"), code, color)
}

/// The widths of the step and action columns: the usual ones, wider for a plan whose step
/// paths or action ids are longer, so every row of it lines up (up to a point: a path of
/// hundreds of characters does not push every row off the screen).
fn columns(actions: &[PlannedAction]) -> (usize, usize) {
    let widest = |len: fn(&PlannedAction) -> usize, usual: usize| {
        actions.iter().map(len).max().unwrap_or(0).clamp(usual, 64)
    };
    (
        widest(|a| a.step.chars().count(), 24),
        widest(|a| a.action.len(), 22),
    )
}

fn action_line(a: &PlannedAction, (step, action): (usize, usize), color: bool) -> String {
    let target = match &a.target {
        Some(t) if t.name.is_empty() || t.name == t.id => {
            format!("{} {}", t.kind, printable(&t.id))
        }
        Some(t) => format!(
            "{} {} ({})",
            t.kind,
            printable(&riposte_dsl::diagnostic::clip(&t.name, 200)),
            printable(&t.id)
        ),
        None if super::model::targets_the_incident(a.action) => "incident".to_string(),
        None => "-".to_string(),
    };
    let mut line = format!(
        "    {} {:<step$} {:<action$} {target}",
        status_word(a.status, color),
        printable(&a.step),
        a.action
    );
    if let Some(ap) = &a.approval {
        // A rejected action says why it was rejected; one awaiting approval, why it needs it.
        let why = if a.status == Status::Rejected {
            &a.reason
        } else {
            &ap.reason
        };
        let _ = write!(
            line,
            "\n{:<23}approver: {} — {}",
            "",
            ap.role,
            printable(why)
        );
    } else if a.status != Status::WouldRun {
        let _ = write!(line, "\n{:<23}{}", "", printable(&a.reason));
    }
    // A failure, or retries after scripted failures of the first attempts.
    let outcome = a.execution.as_ref().and_then(|e| {
        if e.outcome == "failed" {
            let err = printable(e.error.as_deref().unwrap_or(""));
            let text = format!("simulated failure after {} attempt(s): {err}", e.attempts);
            Some((text, "31"))
        } else {
            (e.attempts > 1).then(|| {
                let text = format!("simulated success on attempt {}, after retries", e.attempts);
                (text, "33")
            })
        }
    });
    if let Some((text, code)) = outcome {
        let _ = write!(line, "\n{:<23}{}", "", paint(&text, code, color));
    }
    line
}

/// Renders a plan. `color` adds ANSI colors (for terminals).
pub fn render(plan: &Plan, color: bool) -> String {
    let mut out = String::new();
    let i = &plan.incident;
    let number = i
        .number
        .as_deref()
        .map(|n| format!(" (#{})", printable(n)))
        .unwrap_or_default();
    let _ = writeln!(
        out,
        "{} {}{number} · {} · {}",
        paint("incident", "1", color),
        printable(&i.id),
        printable(&i.source),
        printable(&i.severity)
    );
    let _ = writeln!(out, "  {}", printable(&i.title));
    let _ = writeln!(
        out,
        "workspace {} · now {}",
        printable(&plan.workspace),
        plan.now
    );
    let _ = writeln!(out, "\neligibility");
    for c in &plan.eligibility {
        let mark = if c.passed {
            paint("✓", "32", color)
        } else {
            paint("✗", "31", color)
        };
        let _ = writeln!(out, "  {mark} {:<20} {}", c.check, printable(&c.detail));
    }
    if plan.eligibility.iter().any(|c| !c.passed) {
        let _ = writeln!(
            out,
            "\nnot processed on-queue: no SOP runs for this incident"
        );
    } else {
        match &plan.classification {
            Some(c) => {
                let _ = writeln!(
                    out,
                    "\nclassification {} / {} (confidence {}) — SOP {}, rule \"{}\"",
                    c.classification,
                    printable(&c.reason),
                    c.confidence,
                    c.sop,
                    printable(&c.rule)
                );
            }
            None if plan.unclassified.is_empty() => {
                let _ = writeln!(out, "\nclassification: no classification SOP matched");
            }
            None => {
                let _ = writeln!(out, "\nclassification: {}", printable(&plan.unclassified));
            }
        }
    }
    let widths = columns(&plan.actions);
    for sop in &plan.sops {
        if !sop.matched {
            let _ = writeln!(
                out,
                "\nsop {}: {} ({})",
                sop.name,
                paint("not matched", "2", color),
                printable(&sop.detail)
            );
            continue;
        }
        // A matched SOP's detail says more than `matched` only when a limit cut its run.
        let more = printable(sop.detail.strip_prefix("matched").unwrap_or(""));
        let _ = writeln!(
            out,
            "\nsop {}: {}{more}",
            paint(&sop.name, "1", color),
            paint("matched", "32", color)
        );
        let mut gamebook = "";
        for a in plan.actions.iter().filter(|a| a.sop == sop.name) {
            if a.gamebook != gamebook {
                gamebook = &a.gamebook;
                let _ = writeln!(out, "  gamebook {}", printable(gamebook));
            }
            let _ = writeln!(out, "{}", action_line(a, widths, color));
        }
        for t in plan.tasks.iter().filter(|t| t.sop == sop.name) {
            let from = if t.gamebook.is_empty() {
                String::new()
            } else {
                format!(" ({} {})", t.gamebook, printable(&t.step))
            };
            let _ = writeln!(out, "  task [{}] {}{from}", t.role, printable(&t.title));
            if !t.reason.is_empty() {
                let _ = writeln!(out, "       {}", printable(&t.reason));
            }
        }
    }
    let s = &plan.summary;
    let total = s.would_run + s.awaiting_approval + s.blocked + s.rejected;
    let _ = write!(
        out,
        "\n{} action{}: {} would run{}, {} await approval, {} blocked",
        total,
        if total == 1 { "" } else { "s" },
        s.would_run,
        // Only a run that scripts failures has failed actions: other plans do not mention them.
        if s.failed > 0 {
            format!(" ({} failing in the simulation)", s.failed)
        } else {
            String::new()
        },
        s.awaiting_approval,
        s.blocked,
    );
    // Only a run that refuses approvals has rejected actions: other plans do not mention them.
    if s.rejected > 0 {
        let _ = write!(out, ", {} rejected", s.rejected);
    }
    let _ = write!(out, " ({} skipped", s.skipped);
    if s.unlisted > 0 {
        let at_least = if s.unlisted >= super::model::MAX_UNLISTED {
            "at least "
        } else {
            ""
        };
        let _ = write!(
            out,
            "; {at_least}{} more blocked, skipped or rejected past the plan limit, not listed",
            s.unlisted
        );
    }
    let _ = writeln!(out, ")");
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn incident_text_cannot_drive_or_reorder_the_terminal() {
        assert_eq!(super::printable("ws-01"), "ws-01");
        assert_eq!(
            super::printable("a\u{1b}]0;x\u{7}b\u{202e}exe.gnp\nc"),
            "a�]0;x�b�exe.gnp�c"
        );
        assert_eq!(super::printable_lines("a\u{2066}b\nc"), "a�b\nc");
    }
}
