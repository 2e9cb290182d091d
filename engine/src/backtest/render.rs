//! The backtest report as text (for people) and JSON (for tools; `riposte.backtest/v1`,
//! documented in `docs/backtest.md`). Both are written as results arrive: memory does not grow
//! with the number of changed incidents, except the JSON report's error list, which keeps the
//! first [`MAX_JSON_ERRORS`].

use std::io::{self, Write};

use serde_json::{json, Value as Json};

use super::diff::{action_deltas, sop_deltas, status_deltas, ChangeKind, Counts, Delta, Tally};
use super::{CorpusError, IncidentDiff, Report, Sink};
use crate::plan::model::{targets_the_incident, Approval, Status};
use crate::plan::text::plural;

/// The `format` of the JSON report.
pub const FORMAT: &str = "riposte.backtest/v1";
/// Most errors listed in the JSON report; the rest are counted in `errors_omitted`.
pub const MAX_JSON_ERRORS: usize = 1_000;

/// The real minus sign, for negative totals in text.
const MINUS: char = '−';

/// Untrusted text made safe for a terminal: control characters replaced, long text clipped.
fn clean(s: &str, max: usize) -> String {
    crate::plan::text::printable(&riposte_dsl::diagnostic::clip(s, max)).into_owned()
}

/// Most characters of a param value the text report shows.
const PARAM_CHARS: usize = 120;

/// Two values of a param as the text report shows them: text as it is, anything else as JSON,
/// `(none)` for a param the action does not have. Long values are shown from a little before
/// where they first differ, so that what changed is in sight.
pub(super) fn param_texts(from: Option<&Json>, to: Option<&Json>) -> (String, String) {
    let text = |v: Option<&Json>| match v {
        None => "(none)".to_string(),
        Some(Json::String(s)) => s.clone(),
        Some(other) => other.to_string(),
    };
    let (from, to) = (text(from), text(to));
    let same = from
        .chars()
        .zip(to.chars())
        .take_while(|(a, b)| a == b)
        .count();
    // Keep this many characters before the first difference.
    const BEFORE: usize = 30;
    let skip = if from.chars().count().max(to.chars().count()) > PARAM_CHARS {
        same.saturating_sub(BEFORE)
    } else {
        0
    };
    let shown = |s: &str| {
        let rest: String = s.chars().skip(skip).collect();
        let lead = if skip > 0 { "…" } else { "" };
        format!("{lead}{}", clean(&rest, PARAM_CHARS))
    };
    (shown(&from), shown(&to))
}

fn status_text(s: Status) -> &'static str {
    match s {
        Status::WouldRun => "would run",
        Status::AwaitingApproval => "awaiting approval",
        Status::Blocked => "blocked",
        Status::Skipped => "skipped",
        Status::Rejected => "rejected",
    }
}

/// `+14`, `−3`, `0`.
pub fn signed(n: i64) -> String {
    match n {
        0 => "0".to_string(),
        n if n > 0 => format!("+{n}"),
        n => format!("{MINUS}{}", n.unsigned_abs()),
    }
}

/// The text report: a block per changed incident and a line per error as they come, then the
/// totals and a summary line.
pub struct TextReport<W: Write> {
    out: W,
    /// `HEAD~1`, or `None` for totals only.
    base: Option<String>,
    /// Whether anything was written (the totals are then set off by a blank line).
    wrote: bool,
}

impl<W: Write> TextReport<W> {
    pub fn new(out: W, base: Option<&str>) -> Self {
        TextReport {
            out,
            base: base.map(str::to_string),
            wrote: false,
        }
    }

    /// Writes the totals and the summary line; returns the writer.
    pub fn finish(mut self, report: &Report) -> io::Result<W> {
        let out = &mut self.out;
        if self.wrote {
            writeln!(out)?;
        }
        match (&self.base, &report.base) {
            (Some(rev), Some(base)) => {
                let rev = clean(rev, 80);
                let head = &report.head;
                deltas(
                    out,
                    &format!("actions that would run or await approval ({rev} → working tree)"),
                    &action_deltas(base, head),
                )?;
                let by_status: Vec<Delta> = status_deltas(base, head)
                    .into_iter()
                    .map(|(status, d)| Delta {
                        name: format!("{} ({})", d.name, status_text(status)),
                        ..d
                    })
                    .collect();
                deltas(
                    out,
                    &format!("actions by status ({rev} → working tree)"),
                    &by_status,
                )?;
                deltas(
                    out,
                    &format!("incidents matched per SOP ({rev} → working tree)"),
                    &sop_deltas(base, head),
                )?;
                writeln!(out)?;
                write!(
                    out,
                    "{}, {} changed",
                    plural(report.incidents, "incident"),
                    report.changed
                )?;
            }
            _ => {
                if report.head.incidents > 0 {
                    totals(out, &report.head)?;
                    writeln!(out)?;
                }
                write!(
                    out,
                    "{}, {} with actions, {}",
                    plural(report.incidents, "incident"),
                    report.head.with_actions,
                    plural(report.head.overall().total(), "planned action")
                )?;
            }
        }
        if report.errors() > 0 {
            write!(out, ", {}", plural(report.errors(), "error"))?;
        }
        writeln!(out)?;
        out.flush()?;
        Ok(self.out)
    }
}

fn deltas<W: Write>(out: &mut W, title: &str, list: &[Delta]) -> io::Result<()> {
    if list.is_empty() {
        return writeln!(out, "{title}: no change");
    }
    writeln!(out, "{title}")?;
    let name_w = list
        .iter()
        .map(|d| d.name.chars().count())
        .max()
        .unwrap_or(0);
    let sign_w = list
        .iter()
        .map(|d| signed(d.delta).chars().count())
        .max()
        .unwrap_or(0);
    for d in list {
        let s = signed(d.delta);
        writeln!(
            out,
            "  {:<name_w$}  {}{s}   {} → {}",
            clean(&d.name, 120),
            " ".repeat(sign_w - s.chars().count()),
            d.base,
            d.head,
        )?;
    }
    Ok(())
}

/// A table: the first column left-aligned, the others right-aligned.
fn table<W: Write>(out: &mut W, headers: &[&str], rows: &[Vec<String>]) -> io::Result<()> {
    let mut widths: Vec<usize> = headers.iter().map(|h| h.chars().count()).collect();
    for row in rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let header: Vec<String> = headers.iter().map(|h| h.to_string()).collect();
    for row in std::iter::once(&header).chain(rows) {
        let mut line = String::from(" ");
        for (i, (cell, w)) in row.iter().zip(&widths).enumerate() {
            let pad = " ".repeat(w.saturating_sub(cell.chars().count()));
            if i == 0 {
                line.push_str(&format!(" {cell}{pad}"));
            } else {
                line.push_str(&format!("  {pad}{cell}"));
            }
        }
        writeln!(out, "{}", line.trim_end())?;
    }
    Ok(())
}

fn count_cells(c: &Counts) -> [String; 4] {
    [c.would_run, c.awaiting_approval, c.blocked, c.skipped].map(|n| n.to_string())
}

fn totals<W: Write>(out: &mut W, t: &Tally) -> io::Result<()> {
    const STATUSES: [&str; 4] = ["would run", "awaiting approval", "blocked", "skipped"];
    writeln!(out, "actions by status")?;
    let mut rows: Vec<Vec<String>> = t
        .actions
        .iter()
        .map(|(action, c)| {
            std::iter::once(action.to_string())
                .chain(count_cells(c))
                .collect()
        })
        .collect();
    rows.push(
        std::iter::once("total".to_string())
            .chain(count_cells(&t.overall()))
            .collect(),
    );
    let mut headers = vec!["action"];
    headers.extend(STATUSES);
    table(out, &headers, &rows)?;
    if t.sops.is_empty() {
        return Ok(());
    }
    writeln!(out)?;
    writeln!(out, "SOPs")?;
    let rows: Vec<Vec<String>> = t
        .sops
        .iter()
        .map(|(sop, s)| {
            [clean(sop, 120), s.incidents.to_string()]
                .into_iter()
                .chain(count_cells(&s.actions))
                .collect()
        })
        .collect();
    let mut headers = vec!["sop", "incidents"];
    headers.extend(STATUSES);
    table(out, &headers, &rows)
}

impl<W: Write> Sink for TextReport<W> {
    fn incident(&mut self, d: &IncidentDiff) -> io::Result<()> {
        self.wrote = true;
        let out = &mut self.out;
        writeln!(
            out,
            "{}[{}] {} · {} · {}",
            clean(&d.file, 300),
            d.index,
            clean(&d.id, 120),
            clean(&d.severity, 20),
            clean(&d.title, 100)
        )?;
        for c in &d.changes {
            let (sign, status) = match (c.change, c.from, c.to) {
                (ChangeKind::Added, _, Some(to)) => ('+', status_text(to).to_string()),
                (ChangeKind::Removed, Some(from), _) => (MINUS, status_text(from).to_string()),
                (ChangeKind::Params, _, _) => ('~', "params".to_string()),
                (ChangeKind::Approval, _, _) => ('~', "approval".to_string()),
                (_, Some(from), Some(to)) => {
                    ('~', format!("{} → {}", status_text(from), status_text(to)))
                }
                _ => ('?', String::new()),
            };
            let target = match &c.target {
                Some(t) => format!(
                    "{} {} ({})",
                    clean(&t.kind, 20),
                    clean(&t.name, 80),
                    clean(&t.id, 120)
                ),
                None if targets_the_incident(c.action) => "incident".to_string(),
                None => "-".to_string(),
            };
            writeln!(
                out,
                "  {sign} {status:<17}  {:<22} {target}  — {} › {} › {}",
                c.action,
                clean(&c.sop, 80),
                clean(&c.gamebook, 120),
                clean(&c.step, 120)
            )?;
            for (name, p) in &c.params {
                let (from, to) = param_texts(p.from.as_ref(), p.to.as_ref());
                writeln!(out, "      {}: {from} → {to}", clean(name, 80))?;
            }
            if let Some(a) = &c.approval {
                let role = |a: &Option<Approval>| a.as_ref().map_or("(none)", |a| a.role);
                let reason = |a: &Option<Approval>| {
                    a.as_ref()
                        .map_or("(none)".to_string(), |a| clean(&a.reason, 300))
                };
                let reasons_differ =
                    a.from.as_ref().map(|a| &a.reason) != a.to.as_ref().map(|a| &a.reason);
                if role(&a.from) != role(&a.to) {
                    writeln!(out, "      approver: {} → {}", role(&a.from), role(&a.to))?;
                }
                if reasons_differ {
                    writeln!(
                        out,
                        "      approval: {} → {}",
                        reason(&a.from),
                        reason(&a.to)
                    )?;
                }
            }
        }
        Ok(())
    }

    fn error(&mut self, e: &CorpusError) -> io::Result<()> {
        self.wrote = true;
        let reason = clean(&e.reason, 1000);
        match e.index {
            Some(i) => writeln!(self.out, "error: {}[{i}]: {reason}", clean(&e.file, 300)),
            // Import errors name their file already.
            None if e.reason.contains(&format!("`{}`", e.file)) => {
                writeln!(self.out, "error: {reason}")
            }
            None => writeln!(self.out, "error: {}: {reason}", clean(&e.file, 300)),
        }
    }
}

/// The JSON report, `{"format": "riposte.backtest/v1", …}`: changed incidents one per line as
/// they come, then errors, totals and the summary.
pub struct JsonReport<W: Write> {
    out: W,
    base: Option<String>,
    base_commit: Option<String>,
    started: bool,
    incidents: usize,
    errors: Vec<CorpusError>,
    errors_omitted: u64,
}

impl<W: Write> JsonReport<W> {
    pub fn new(out: W, base: Option<&str>) -> Self {
        JsonReport {
            out,
            base: base.map(str::to_string),
            base_commit: None,
            started: false,
            incidents: 0,
            errors: Vec::new(),
            errors_omitted: 0,
        }
    }

    /// The commit the base revision named, reported beside it as `base_commit`.
    pub fn with_commit(mut self, commit: Option<&str>) -> Self {
        self.base_commit = commit.map(str::to_string);
        self
    }

    fn start(&mut self) -> io::Result<()> {
        if !self.started {
            self.started = true;
            let base = serde_json::to_string(&self.base).map_err(io::Error::other)?;
            let commit = serde_json::to_string(&self.base_commit).map_err(io::Error::other)?;
            write!(
                self.out,
                "{{\n  \"format\": \"{FORMAT}\",\n  \"base\": {base},\n  \"base_commit\": \
                 {commit},\n  \"incidents\": ["
            )?;
        }
        Ok(())
    }

    /// Writes the rest of the document; returns the writer.
    pub fn finish(mut self, report: &Report) -> io::Result<W> {
        self.start()?;
        let end = if self.incidents > 0 { "\n  ]" } else { "]" };
        let totals = match &report.base {
            Some(base) => json!({
                "actions": action_deltas(base, &report.head).iter().map(|d| json!({
                    "action": d.name, "base": d.base, "head": d.head, "delta": d.delta,
                })).collect::<Vec<_>>(),
                "statuses": status_deltas(base, &report.head).iter().map(|(status, d)| json!({
                    "action": d.name, "status": status.as_str(), "base": d.base, "head": d.head,
                    "delta": d.delta,
                })).collect::<Vec<_>>(),
                "sops": sop_deltas(base, &report.head).iter().map(|d| json!({
                    "sop": d.name, "base": d.base, "head": d.head, "delta": d.delta,
                })).collect::<Vec<_>>(),
                "base": tally_json(base),
                "head": tally_json(&report.head),
            }),
            None => tally_json(&report.head),
        };
        let summary = json!({
            "files": report.files,
            "incidents": report.incidents,
            "changed": report.changed,
            "errors": report.errors(),
            "without_alerts": report.without_alerts,
            "duplicates": report.duplicates,
        });
        let pretty = |v: &Json| -> io::Result<String> {
            let s = serde_json::to_string_pretty(v).map_err(io::Error::other)?;
            Ok(s.replace('\n', "\n  "))
        };
        let errors = serde_json::to_value(&self.errors).map_err(io::Error::other)?;
        write!(
            self.out,
            "{end},\n  \"errors\": {},\n  \"errors_omitted\": {},\n  \"totals\": {},\n  \"summary\": {}\n}}\n",
            pretty(&errors)?,
            self.errors_omitted,
            pretty(&totals)?,
            pretty(&summary)?,
        )?;
        self.out.flush()?;
        Ok(self.out)
    }
}

fn counts_json(c: &Counts) -> Json {
    json!({
        "would_run": c.would_run,
        "awaiting_approval": c.awaiting_approval,
        "blocked": c.blocked,
        "skipped": c.skipped,
    })
}

/// The totals of a set of plans: per action id and status, per SOP, overall.
pub fn tally_json(t: &Tally) -> Json {
    let with = |mut base: Json, c: &Counts| {
        if let (Json::Object(m), Json::Object(extra)) = (&mut base, counts_json(c)) {
            m.extend(extra);
        }
        base
    };
    json!({
        "incidents": t.incidents,
        "with_actions": t.with_actions,
        "actions": t.actions.iter().map(|(a, c)| with(json!({"action": a}), c)).collect::<Vec<_>>(),
        "sops": t.sops.iter().map(|(s, c)| with(json!({"sop": s, "incidents": c.incidents}), &c.actions)).collect::<Vec<_>>(),
        "overall": counts_json(&t.overall()),
    })
}

impl<W: Write> Sink for JsonReport<W> {
    fn incident(&mut self, d: &IncidentDiff) -> io::Result<()> {
        self.start()?;
        let sep = if self.incidents == 0 { "" } else { "," };
        self.incidents += 1;
        let line = serde_json::to_string(d).map_err(io::Error::other)?;
        write!(self.out, "{sep}\n    {line}")
    }

    fn error(&mut self, e: &CorpusError) -> io::Result<()> {
        if self.errors.len() < MAX_JSON_ERRORS {
            self.errors.push(e.clone());
        } else {
            self.errors_omitted += 1;
        }
        Ok(())
    }
}
