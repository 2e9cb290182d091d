//! Diagnostics are data: a code, a message, a location, help. Rendering happens at the edge
//! ([`crate::render`] for terminals, the CLI for JSON and SARIF).

use crate::codes::{Code, Severity};
use crate::source::{FileId, Span};

/// One finding of the compiler.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Diagnostic {
    pub code: Code,
    pub severity: Severity,
    /// Lowercase, one sentence, user input in backticks.
    pub message: String,
    pub file: FileId,
    pub span: Span,
    /// Text shown under the caret.
    pub label: Option<String>,
    /// What to do about it.
    pub help: Option<String>,
    /// Other places that explain this one (e.g. the first definition of a duplicate).
    pub related: Vec<Related>,
}

/// A secondary location of a [`Diagnostic`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Related {
    pub file: FileId,
    pub span: Span,
    pub message: String,
}

impl Diagnostic {
    pub fn new(code: Code, file: FileId, span: Span, message: impl Into<String>) -> Self {
        Diagnostic {
            code,
            severity: code.severity(),
            message: message.into(),
            file,
            span,
            label: None,
            help: None,
            related: Vec::new(),
        }
    }

    pub fn with_help(mut self, help: impl Into<String>) -> Self {
        self.help = Some(help.into());
        self
    }

    pub fn with_label(mut self, label: impl Into<String>) -> Self {
        self.label = Some(label.into());
        self
    }

    pub fn with_related(mut self, file: FileId, span: Span, message: impl Into<String>) -> Self {
        self.related.push(Related {
            file,
            span,
            message: message.into(),
        });
        self
    }

    pub fn is_error(&self) -> bool {
        self.severity == Severity::Error
    }
}

/// The closest candidate to `name`, if one is close enough to be a likely typo: similar by
/// Jaro-Winkler (which weighs a shared start), and among those the fewest edits away (`isoo`
/// is `isolate` rather than `isolation_failed`, which shares as much of its start).
///
/// Both measures take time in the product of the two lengths, so text longer than
/// [`MAX_SUGGESTED_BYTES`] (a paragraph pasted as a name, a megabyte of `values`) is neither
/// suggested nor given a suggestion: no typo is that long.
pub fn did_you_mean<'a>(
    name: &str,
    candidates: impl IntoIterator<Item = &'a str>,
) -> Option<&'a str> {
    if name.len() > MAX_SUGGESTED_BYTES {
        return None;
    }
    let name = name.to_ascii_lowercase();
    let mut best: Option<(usize, f64, &str)> = None;
    for c in candidates {
        if c.len() > MAX_SUGGESTED_BYTES {
            continue;
        }
        // Both measures take the product of the lengths in time.
        let work = (name.len() as u64 + 1) * (c.len() as u64 + 1);
        // Past the budget: no suggestion.
        SUGGESTION_WORK.with(|left| left.get().checked_sub(work).map(|l| left.set(l)))?;
        let lower = c.to_ascii_lowercase();
        let score = strsim::jaro_winkler(&name, &lower);
        if score < 0.8 {
            continue;
        }
        let edits = strsim::damerau_levenshtein(&name, &lower);
        if best.is_none_or(|(e, b, _)| edits < e || (edits == e && score > b)) {
            best = Some((edits, score, c));
        }
    }
    best.map(|(_, _, c)| c)
}

/// The longest text, in bytes, that [`did_you_mean`] compares.
pub const MAX_SUGGESTED_BYTES: usize = 256;

thread_local! {
    /// The work [`did_you_mean`] may still do on this thread (see [`with_suggestion_budget`]).
    static SUGGESTION_WORK: std::cell::Cell<u64> = const { std::cell::Cell::new(u64::MAX) };
}

/// Runs `f` with at most `work` units (one per pair of bytes compared) of [`did_you_mean`]
/// searches on this thread; past them, names get no suggestion. Thousands of unknown names,
/// each compared with thousands of candidates, would otherwise take minutes to report.
pub fn with_suggestion_budget<R>(work: u64, f: impl FnOnce() -> R) -> R {
    let before = SUGGESTION_WORK.with(|left| left.replace(work));
    let result = f();
    SUGGESTION_WORK.with(|left| left.set(before));
    result
}

/// The suggestion work of one compilation of a library: some seconds at most, and far more
/// than any library with a few hundred mistakes needs.
pub const COMPILE_SUGGESTION_WORK: u64 = 200_000_000;

/// `text` as a message shows it: at most `max` characters, then `…`. A name pasted by mistake
/// (a whole paragraph, a megabyte) would otherwise be echoed in full, sometimes twice.
pub fn clip(text: &str, max: usize) -> std::borrow::Cow<'_, str> {
    // No more bytes than `max` is no more characters: nothing to cut, no need to count.
    if text.len() <= max {
        return std::borrow::Cow::Borrowed(text);
    }
    match text.char_indices().nth(max) {
        Some((end, _)) => std::borrow::Cow::Owned(format!("{}…", &text[..end])),
        None => std::borrow::Cow::Borrowed(text),
    }
}

/// Names as messages list them: each in backticks, comma-separated (`` `a`, `b` ``).
pub fn ticked<T: std::fmt::Display>(names: impl IntoIterator<Item = T>) -> String {
    names
        .into_iter()
        .map(|n| format!("`{n}`"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// `help` text for an unknown name: "did you mean `x`?" or the list of valid names.
pub fn suggestion<'a>(name: &str, candidates: impl IntoIterator<Item = &'a str> + Clone) -> String {
    match did_you_mean(name, candidates.clone()) {
        Some(best) => format!("did you mean `{best}`?"),
        None => {
            // Each clipped, as the name itself is: a candidate may be any text (an input's
            // `values`).
            let all: Vec<String> = candidates
                .into_iter()
                .map(|c| format!("`{}`", clip(c, 80)))
                .collect();
            if all.is_empty() {
                "nothing is defined here".to_string()
            } else if all.len() <= 12 {
                format!("expected one of {}", all.join(", "))
            } else {
                format!("expected one of {}, …", all[..12].join(", "))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Past the budget of its thread, a search suggests nothing; the budget is the caller's,
    /// restored after.
    #[test]
    fn suggestions_are_bounded_by_the_budget() {
        let find = || did_you_mean("severty", ["status", "severity"]);
        // 8 × 7 for `status`, 8 × 9 for `severity`.
        assert_eq!(with_suggestion_budget(56 + 72, find), Some("severity"));
        assert_eq!(with_suggestion_budget(56 + 71, find), None);
        assert_eq!(
            with_suggestion_budget(56 + 72, || (find(), find())),
            (Some("severity"), None)
        );
        assert_eq!(find(), Some("severity"));
    }

    /// A long name or candidate is shown clipped, not whole.
    #[test]
    fn long_candidates_are_clipped() {
        let long = "x".repeat(10_000);
        let help = suggestion("zzz", [long.as_str(), "b"]);
        assert!(help.len() < 200, "{}", help.len());
        assert!(help.ends_with("…`, `b`"), "{help}");
    }

    #[test]
    fn suggests_close_names_only() {
        assert_eq!(
            did_you_mean("severty", ["severity", "status"]),
            Some("severity")
        );
        assert_eq!(did_you_mean("zzz", ["severity", "status"]), None);
        assert_eq!(suggestion("zzz", ["a", "b"]), "expected one of `a`, `b`");
    }

    /// Long text is not compared: both measures take the product of the lengths in time, and
    /// two megabyte-long names took hours. Up to the bound, suggestions are as before.
    #[test]
    fn long_text_is_not_compared() {
        let long = "a".repeat(MAX_SUGGESTED_BYTES + 1);
        let near = format!("{}b", &long[1..]);
        assert_eq!(did_you_mean(&long, [near.as_str()]), None);
        assert_eq!(did_you_mean(&near, [long.as_str()]), None);
        let at_most = &long[1..];
        let near = format!("{}b", &at_most[1..]);
        assert_eq!(did_you_mean(&near, [at_most]), Some(at_most));
        // A long name among short ones: the short ones are still suggested.
        assert_eq!(
            did_you_mean("severty", [long.as_str(), "severity"]),
            Some("severity")
        );
    }

    #[test]
    fn clips_by_characters() {
        assert_eq!(clip("short", 80), "short");
        assert_eq!(clip("ééééé", 3), "ééé…");
        assert_eq!(clip("abc", 3), "abc");
    }
}
