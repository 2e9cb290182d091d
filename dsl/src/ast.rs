//! The documents after lowering from YAML: typed, with spans beside every node that a later
//! check may point at. Expressions are kept as source text here ([`ExprText`]); they are
//! type-checked in [`crate::compile`], where the whole library is known.

use crate::source::{FileId, Span};
use crate::syntax::Node;

/// A value and where it was written. The span is kept beside the value, not inside equality.
#[derive(Clone, Debug)]
pub struct Spanned<T> {
    pub value: T,
    pub span: Span,
}

impl<T> Spanned<T> {
    pub fn new(value: T, span: Span) -> Self {
        Spanned { value, span }
    }
}

/// Expression source text taken from a YAML scalar.
#[derive(Clone, Debug)]
pub struct ExprText {
    pub text: String,
    /// The whole YAML scalar.
    pub span: Span,
    /// File offset of `text[0]`; the expression compiler's spans are shifted by it, and
    /// [`ExprText::file_span`] maps them to where the text really is.
    pub offset: u32,
    /// False when the text could not be found in the scalar (escapes in quotes), so
    /// diagnostics point at the whole scalar instead.
    pub exact: bool,
    /// Where each run of `text` sits in the file, as `(index in text, file offset)`, when the
    /// text is not one run from `offset`: the lines of a block or multi-line scalar.
    runs: Vec<(u32, u32)>,
}

impl ExprText {
    /// Finds where `text` (a scalar's value) sits in the source of the scalar at `span`: plain
    /// and quoted scalars in one run, block (`|`, `>`) and multi-line scalars line by line.
    /// Quotes with escapes are not mapped (diagnostics point at the whole scalar).
    pub fn locate(src: &crate::source::SourceFile, text: String, span: Span) -> ExprText {
        let raw = src.slice(span);
        let quoted = raw.len() >= 2
            && (raw.starts_with('"') || raw.starts_with('\''))
            && raw.get(1..raw.len() - 1) == Some(text.as_str());
        // In one run: plain, quoted, or found whole in the scalar.
        let one_run = if raw == text {
            Some(span.start)
        } else if quoted {
            Some(span.start + 1)
        } else {
            raw.find(text.as_str())
                .filter(|_| !text.is_empty())
                .map(|i| span.start + i as u32)
        };
        let runs: Vec<(u32, u32)> = match one_run {
            Some(_) => Vec::new(),
            None => match align(raw, &text) {
                Some(runs) if !runs.is_empty() => runs
                    .into_iter()
                    .map(|(i, j)| (i, span.start.saturating_add(j)))
                    .collect(),
                _ => return ExprText::unmapped(text, span),
            },
        };
        ExprText {
            // Without one run, `runs` is not empty (the match above returned otherwise).
            offset: one_run.unwrap_or_else(|| runs[0].1),
            text,
            span,
            exact: true,
            runs,
        }
    }

    /// Text written by the compiler itself for a scalar at `span` (diagnostics point at it).
    pub fn unmapped(text: String, span: Span) -> ExprText {
        ExprText {
            text,
            span,
            offset: span.start,
            exact: false,
            runs: Vec::new(),
        }
    }

    /// Where a span of the expression compiler (text indices shifted by `offset`) is in the
    /// file; the whole scalar when the text is not mapped.
    pub fn file_span(&self, s: Span) -> Span {
        if !self.exact {
            return self.span;
        }
        if self.runs.is_empty() {
            return s;
        }
        let at = |t: u32| {
            let i = self.runs.partition_point(|&(start, _)| start <= t);
            // `runs[0]` starts at text index 0, so `i >= 1` for every `t`.
            let (start, file) = self.runs[i.max(1) - 1];
            file.saturating_add(t - start)
        };
        let start = s.start.saturating_sub(self.offset);
        let end = s.end.saturating_sub(self.offset);
        if end > start {
            Span {
                start: at(start),
                end: at(end - 1).saturating_add(1),
            }
        } else {
            let p = at(start);
            Span { start: p, end: p }
        }
    }
}

/// The runs of `text` in `raw`, a block, quoted or multi-line scalar's source: `(index in
/// text, index in raw)` where each run starts. The text must be the source's bytes in order,
/// with only a block header or opening quote, indentation and line breaks left out, line breaks
/// folded to spaces, and the simple escapes of quoted scalars (`''` in single quotes; `\"`,
/// `\\`, `\/`, `\t`, `\n`, `\r` in double quotes) resolved; `None` otherwise.
fn align(raw: &str, text: &str) -> Option<Vec<(u32, u32)>> {
    let (r, t) = (raw.as_bytes(), text.as_bytes());
    let quote = r.first().copied().filter(|b| matches!(b, b'"' | b'\''));
    let mut j = match r.first() {
        Some(b'|' | b'>') => r.iter().position(|&b| b == b'\n')? + 1,
        Some(b'"' | b'\'') => 1,
        _ => 0,
    };
    // The width in `raw` of an escape at `at` that writes `c`, if there is one.
    let escape = |at: usize, c: u8| -> Option<usize> {
        let (first, second) = (*r.get(at)?, *r.get(at + 1)?);
        let writes = match (quote?, first, second) {
            (b'\'', b'\'', b'\'') => b'\'',
            (b'"', b'\\', b'"' | b'\\' | b'/') => second,
            (b'"', b'\\', b't') => b'\t',
            (b'"', b'\\', b'n') => b'\n',
            (b'"', b'\\', b'r') => b'\r',
            _ => return None,
        };
        (writes == c).then_some(2)
    };
    let mut runs = Vec::new();
    let mut next = usize::MAX;
    for (i, &c) in t.iter().enumerate() {
        let width = loop {
            let Some(&b) = r.get(j) else {
                // The scalar's span may stop before the line break a block keeps at its end.
                return t[i..].iter().all(u8::is_ascii_whitespace).then_some(runs);
            };
            if let Some(w) = escape(j, c) {
                break w;
            }
            if b == c || (c == b' ' && b == b'\n') {
                break 1;
            }
            if !matches!(b, b' ' | b'\t' | b'\n' | b'\r') {
                return None;
            }
            j += 1;
        };
        if j != next {
            runs.push((u32::try_from(i).ok()?, u32::try_from(j).ok()?));
        }
        j += width;
        // After an escape the text is one byte shorter than the source: a new run starts.
        next = if width == 1 { j } else { usize::MAX };
    }
    Some(runs)
}

macro_rules! keywords {
    ($(#[$m:meta])* $name:ident { $( $variant:ident = $text:literal ),* $(,)? }) => {
        $(#[$m])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub enum $name { $( $variant, )* }

        impl $name {
            pub const ALL: &'static [$name] = &[ $( $name::$variant, )* ];
            pub const NAMES: &'static [&'static str] = &[ $( $text, )* ];

            pub fn as_str(self) -> &'static str {
                match self { $( $name::$variant => $text, )* }
            }

            pub fn parse(s: &str) -> Option<Self> {
                match s { $( $text => Some($name::$variant), )* _ => None }
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}

keywords! {
    /// Who may approve or perform work. Workspace Owners approve high-impact actions.
    Role {
        WorkspaceOwner = "workspace_owner",
        WorkspaceAdmin = "workspace_admin",
        IncidentResponder = "incident_responder",
        IncidentAnalyst = "incident_analyst",
        DataSourceAdmin = "data_source_admin",
        ContentAdmin = "content_admin",
        OrgAdmin = "org_admin",
        AgentAdmin = "agent_admin",
    }
}

keywords! {
    /// What happens when an approval gate times out. There is no default: authors choose.
    TimeoutOutcome { Reject = "reject", Approve = "approve", Fail = "fail" }
}

keywords! {
    /// How a for-each reacts to a failed item.
    ErrorStrategy { FailFast = "fail_fast", Continue = "continue", Collect = "collect" }
}

keywords! {
    /// Retry spacing.
    Backoff { Fixed = "fixed", Exponential = "exponential" }
}

keywords! {
    /// The agent mode a response SOP is written for.
    AgentMode { Manual = "manual", Automatic = "automatic", Autonomous = "autonomous" }
}

keywords! {
    /// Where an incident comes from.
    IncidentSource {
        DefenderXdr = "defender_xdr",
        Sentinel = "sentinel",
        CrowdStrike = "crowdstrike",
        SentinelOne = "sentinelone",
        QRadar = "qradar",
        Splunk = "splunk",
    }
}

keywords! {
    /// Incident severities, lowest first.
    SeverityLevel { Informational = "informational", Low = "low", Medium = "medium", High = "high" }
}

keywords! {
    /// The canonical verdicts.
    Classification {
        TruePositive = "true_positive",
        FalsePositive = "false_positive",
        BenignPositive = "benign_positive",
        Undetermined = "undetermined",
    }
}

impl Classification {
    /// Every reason of every verdict, sorted, each once.
    pub fn all_reasons() -> Vec<&'static str> {
        let mut all: Vec<&'static str> = Classification::ALL
            .iter()
            .flat_map(|c| c.reasons().iter().copied())
            .collect();
        all.sort_unstable();
        all.dedup();
        all
    }

    /// The reasons allowed with each verdict.
    pub fn reasons(self) -> &'static [&'static str] {
        match self {
            Classification::TruePositive => &[
                "multistage_attack",
                "malware",
                "malicious_user_activity",
                "unwanted_software",
                "phishing",
                "compromised_user",
                "apt",
                "suspicious_activity",
                "other",
            ],
            Classification::FalsePositive => &[
                "not_malicious",
                "not_enough_data_to_validate",
                "inaccurate_data",
                "incorrect_alert_logic",
                "other",
            ],
            Classification::BenignPositive => &[
                "security_testing",
                "confirmed_user_activity",
                "line_of_business_application",
                "security_personnel",
                "suspicious_but_expected",
                "other",
            ],
            Classification::Undetermined => &["unknown", "other"],
        }
    }
}

keywords! {
    /// Declared types of gamebook inputs.
    InputType {
        String = "string",
        Number = "number",
        Bool = "bool",
        Duration = "duration",
        Severity = "severity",
        Ip = "ip",
        StringList = "list<string>",
    }
}

/// A parsed file.
#[derive(Clone, Debug)]
pub enum Document {
    Gamebook(Box<Gamebook>),
    Sop(Box<Sop>),
}

/// Metadata shared by gamebooks and SOPs.
#[derive(Clone, Debug)]
pub struct Meta {
    pub file: FileId,
    pub name: Spanned<String>,
    pub description: Option<String>,
    pub tags: Vec<String>,
    pub mitre: Vec<Spanned<String>>,
    /// The `kind:` value, where documents of the library are listed.
    pub kind_span: Span,
}

/// A response procedure.
#[derive(Clone, Debug)]
pub struct Gamebook {
    pub meta: Meta,
    pub version: Spanned<String>,
    pub inputs: Vec<InputDecl>,
    /// Inputs whose declaration has an error (reported): read as of any type, so that each
    /// use of one is not an error too.
    pub broken_inputs: Vec<String>,
    pub steps: Vec<Step>,
    pub outputs: Vec<(Spanned<String>, ExprText)>,
}

#[derive(Clone, Debug)]
pub struct InputDecl {
    pub name: Spanned<String>,
    pub ty: Spanned<InputType>,
    pub default: Option<Node>,
    /// Allowed values of a string input.
    pub values: Option<Vec<String>>,
    pub description: Option<String>,
}

#[derive(Clone, Debug)]
pub struct Step {
    pub id: Spanned<String>,
    pub name: Option<String>,
    pub kind: StepKind,
    pub condition: Option<ExprText>,
    pub needs: Vec<Spanned<String>>,
    pub for_each: Option<ForEach>,
    /// The step has a `for_each` key, even one that did not lower (its error was reported;
    /// the step still fans out, and no other message should say it does not).
    pub fans_out: bool,
    pub approval: Option<Approval>,
    pub retry: Option<Retry>,
    pub timeout: Option<Spanned<i64>>,
    pub on_error: Option<Spanned<String>>,
    pub span: Span,
}

#[derive(Clone, Debug)]
pub enum StepKind {
    Action {
        action: Spanned<String>,
        target: Option<ExprText>,
        /// `None` when `params:` is no mapping (reported): what it lacks is not reported too.
        params: Option<Vec<(Spanned<String>, Node)>>,
        /// The `params:` mapping, or the action id when absent (for "missing param").
        params_span: Span,
    },
    Task(Task),
    Call {
        gamebook: Spanned<String>,
        /// `None` when `with:` is no mapping (reported): what it lacks is not reported too.
        with: Option<Vec<(Spanned<String>, Node)>>,
    },
    Group(Vec<Step>),
    /// What the step does could not be read (no kind key, several, or a kind with an error),
    /// which is reported where it is written: the step keeps its place, so that `needs`,
    /// `on_error` and `steps.<id>` naming it are not reported as unknown too. Nothing runs a
    /// library with errors.
    Invalid,
}

#[derive(Clone, Debug)]
pub struct ForEach {
    pub items: ExprText,
    pub var: Spanned<String>,
    pub filter: Option<ExprText>,
    pub concurrency: u32,
    pub on_error: ErrorStrategy,
    pub span: Span,
}

#[derive(Clone, Debug)]
pub struct Approval {
    /// `None` when the role written is not a role (reported): the gate's other keys are still
    /// checked.
    pub role: Option<Spanned<Role>>,
    pub timeout: Option<Spanned<i64>>,
    pub on_timeout: Option<Spanned<TimeoutOutcome>>,
    pub quorum: u32,
    pub span: Span,
    /// Of `timeout` and `on_timeout`, the keys not written at all. A key that is written but
    /// invalid is reported where it is written, and is not listed here.
    pub absent: Vec<&'static str>,
}

#[derive(Clone, Debug)]
pub struct Retry {
    pub attempts: u32,
    pub backoff_ms: i64,
    pub strategy: Backoff,
}

/// A manual checklist item for a person.
#[derive(Clone, Debug)]
pub struct Task {
    pub title: ExprText,
    pub role: Spanned<Role>,
    pub description: Option<String>,
    pub checklist: Vec<String>,
}

/// Policy: classification or response.
#[derive(Clone, Debug)]
pub struct Sop {
    pub meta: Meta,
    /// Lower runs first.
    pub priority: i64,
    pub body: SopBody,
}

#[derive(Clone, Debug)]
pub enum SopBody {
    Classification(Vec<ClassificationRule>),
    Response(Box<ResponseSop>),
}

#[derive(Clone, Debug)]
pub struct ClassificationRule {
    pub name: Spanned<String>,
    pub when: ExprText,
    pub classification: Spanned<Classification>,
    pub reason: Spanned<String>,
    pub confidence: u8,
}

#[derive(Clone, Debug)]
pub struct ResponseSop {
    /// The most autonomy this SOP allows; `None` follows the workspace's agent.
    pub mode: Option<Spanned<AgentMode>>,
    pub applies_to: AppliesTo,
    pub gamebooks: Vec<GamebookUse>,
    pub tasks: Vec<Task>,
    pub approvals: Vec<ApprovalRule>,
    pub guardrails: Guardrails,
}

#[derive(Clone, Debug, Default)]
pub struct AppliesTo {
    pub sources: Vec<IncidentSource>,
    pub severities: Vec<SeverityLevel>,
    pub classifications: Vec<Classification>,
    pub workspaces: Vec<Spanned<String>>,
    pub workspace_tags: Vec<Spanned<String>>,
    pub when: Option<ExprText>,
}

#[derive(Clone, Debug)]
pub struct GamebookUse {
    pub gamebook: Spanned<String>,
    /// `None` when `with:` is no mapping (reported): what it lacks is not reported too.
    pub with: Option<Vec<(Spanned<String>, Node)>>,
    pub condition: Option<ExprText>,
    pub span: Span,
}

#[derive(Clone, Debug)]
pub struct ApprovalRule {
    /// Action ids or `kind.*` patterns.
    pub actions: Vec<Spanned<String>>,
    /// `None` when the role is missing or not a role (reported): the rule's actions and
    /// `approve_if` are still checked.
    pub role: Option<Spanned<Role>>,
    pub approve_if: Option<ExprText>,
    pub span: Span,
}

#[derive(Clone, Debug, Default)]
pub struct Guardrails {
    pub protected: Vec<Protected>,
    pub max_actions: Option<u32>,
    pub limits: Vec<(Spanned<String>, u32)>,
}

/// An entity no action may touch.
#[derive(Clone, Debug)]
pub enum Protected {
    Id(String),
    /// A glob (`*`, `?`) on the entity name, case-insensitive.
    Name(String),
    Tag(String),
}

#[cfg(test)]
mod tests {
    use super::align;

    #[test]
    fn aligns_block_and_multi_line_scalars() {
        // `|` keeps line breaks; the indentation is left out.
        assert_eq!(align("|\n  a\n  b\n", "a\nb\n"), Some(vec![(0, 4), (2, 8)]));
        // `>` and plain scalars fold line breaks into spaces.
        assert_eq!(
            align(">-\n  a b\n  c", "a b c"),
            Some(vec![(0, 5), (4, 11)])
        );
        assert_eq!(align("a\n    b", "a b"), Some(vec![(0, 0), (2, 6)]));
        // The simple escapes of quoted scalars are followed: each ends a run.
        assert_eq!(align(r#""a\tb""#, "a\tb"), Some(vec![(0, 1), (2, 4)]));
        assert_eq!(align("'it''s'", "it's"), Some(vec![(0, 1), (3, 5)]));
        assert_eq!(
            align(r#""x == \"y\" and z""#, r#"x == "y" and z"#),
            Some(vec![(0, 1), (6, 8), (8, 11)])
        );
        // Others (`\u00e9`) are not.
        assert_eq!(align(r#""caf\u00e9""#, "café"), None);
    }
}
