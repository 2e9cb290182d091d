//! The test file format (`*.test.yaml`), as serde types with `deny_unknown_fields` so typos are
//! reported with their line and column. Documented in `docs/testing.md`.

use std::fmt;

use serde::de::{self, Deserializer, MapAccess, SeqAccess, Visitor};
use serde::Deserialize;
use serde_saphyr::{Location, Spanned};

use crate::plan::model::Status;

/// `kind: test`: the only kind a test document has.
#[derive(Clone, Copy, Debug, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum TestKind {
    Test,
}

/// One test document.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TestDoc {
    pub kind: TestKind,
    pub name: Spanned<String>,
    #[serde(default)]
    pub description: Option<String>,
    /// A path relative to the test file, or an inline incident document (any supported format).
    pub incident: Spanned<Inline>,
    /// Run this gamebook directly, with `with:` as its inputs, instead of the library's SOPs.
    #[serde(default)]
    pub gamebook: Option<Spanned<String>>,
    /// The inputs of `gamebook` (literals or templates over `incident`).
    #[serde(default)]
    pub with: Option<Spanned<serde_json::Map<String, serde_json::Value>>>,
    /// Which incident of a file holding several.
    #[serde(default)]
    pub incident_id: Option<Spanned<String>>,
    /// A path relative to the test file, or an inline list of workspaces.
    #[serde(default)]
    pub workspaces: Option<Spanned<serde_json::Value>>,
    #[serde(default)]
    pub workspace: Option<Spanned<String>>,
    #[serde(default)]
    pub approve: Option<Spanned<Approve>>,
    /// Steps whose approval is rejected, as `simulate --reject`.
    #[serde(default)]
    pub reject: Option<Spanned<StepNames>>,
    /// Steps whose approval gate times out, as `simulate --time-out`.
    #[serde(default)]
    pub time_out: Option<Spanned<StepNames>>,
    #[serde(default)]
    pub fail: Vec<Spanned<Fail>>,
    /// RFC 3339; default: the incident's last update.
    #[serde(default)]
    pub now: Option<Spanned<String>>,
    #[serde(default)]
    pub max_fanout: Option<Spanned<usize>>,
    pub expect: Expect,
}

/// `approve: all | none | [step, ...]` (a single step id is accepted too).
#[derive(Clone, Debug, PartialEq)]
pub enum Approve {
    All,
    None,
    /// The steps, each where it is written (a single step given as text has no place of its
    /// own: [`Location::UNKNOWN`]).
    Steps(Vec<Spanned<String>>),
}

impl<'de> Deserialize<'de> for Approve {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Approve;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("`all`, `none` or a list of step ids")
            }
            fn visit_str<E: de::Error>(self, s: &str) -> Result<Approve, E> {
                Ok(match s {
                    "all" => Approve::All,
                    "none" => Approve::None,
                    step => Approve::Steps(vec![unplaced(step)]),
                })
            }
            fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<Approve, A::Error> {
                step_list(seq, "approved").map(Approve::Steps)
            }
        }
        d.deserialize_any(V)
    }
}

/// `reject: [step, ...]`, `time_out: [step, ...]` (a single step id is accepted too).
#[derive(Clone, Debug, PartialEq)]
pub struct StepNames(pub Vec<Spanned<String>>);

impl<'de> Deserialize<'de> for StepNames {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = StepNames;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a list of step ids")
            }
            fn visit_str<E: de::Error>(self, s: &str) -> Result<StepNames, E> {
                Ok(StepNames(vec![unplaced(s)]))
            }
            fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<StepNames, A::Error> {
                step_list(seq, "refused").map(StepNames)
            }
        }
        d.deserialize_any(V)
    }
}

/// A step given as text where a list was expected: it has no place of its own
/// ([`Location::UNKNOWN`]).
fn unplaced(step: &str) -> Spanned<String> {
    Spanned::new(step.to_string(), Location::UNKNOWN, Location::UNKNOWN)
}

/// A list of at most [`MAX_LIST`] step names.
fn step_list<'de, A: SeqAccess<'de>>(
    mut seq: A,
    what: &str,
) -> Result<Vec<Spanned<String>>, A::Error> {
    let mut steps = Vec::new();
    while let Some(s) = seq.next_element::<Spanned<String>>()? {
        if steps.len() >= MAX_LIST {
            return Err(de::Error::custom(format!(
                "more than {MAX_LIST} {what} steps"
            )));
        }
        steps.push(s);
    }
    Ok(steps)
}

/// A name as written in a test (a step, an action, a target…), with where it is written, so an
/// error about it points there. Equal when the names are: where they are written aside.
#[derive(Clone, Debug)]
pub struct Text {
    pub text: String,
    pub at: Location,
}

impl std::ops::Deref for Text {
    type Target = str;
    fn deref(&self) -> &str {
        &self.text
    }
}

impl From<&str> for Text {
    /// Text written nowhere in particular ([`Location::UNKNOWN`]).
    fn from(text: &str) -> Text {
        Text {
            text: text.to_string(),
            at: Location::UNKNOWN,
        }
    }
}

impl fmt::Display for Text {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str(&self.text)
    }
}

impl PartialEq for Text {
    fn eq(&self, other: &Text) -> bool {
        self.text == other.text
    }
}

impl<'de> Deserialize<'de> for Text {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Spanned::<String>::deserialize(d).map(|s| Text {
            text: s.value,
            at: s.referenced,
        })
    }
}

/// A value written in a test, as JSON, with where each of its nodes is written: an importer's
/// error at a JSON path inside an inline incident points at the node the path names.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Inline {
    pub json: serde_json::Value,
    /// Where the items or members of `json` are written.
    places: Places,
}

/// Where the children of a node are written, in the order of the node's items or members.
#[derive(Clone, Debug, Default, PartialEq)]
enum Places {
    #[default]
    Scalar,
    Items(Vec<(Location, Places)>),
    Members(Vec<(String, Location, Places)>),
}

impl Inline {
    /// Where the node at `path` is written, the value itself being written at `at`; for a path
    /// that goes past what is written (a member that is missing), the deepest node it reaches.
    pub fn locate<'a>(
        &'a self,
        at: &'a Location,
        path: &[crate::incident::PathStep],
    ) -> &'a Location {
        use crate::incident::PathStep;
        let (mut at, mut places) = (at, &self.places);
        for step in path {
            let child = match (step, places) {
                (PathStep::Index(i), Places::Items(items)) => items.get(*i).map(|(l, p)| (l, p)),
                (PathStep::Key(key), Places::Members(members)) => members
                    .iter()
                    .find(|(k, _, _)| k == key)
                    .map(|(_, l, p)| (l, p)),
                _ => None,
            };
            match child {
                // Nodes written without a place of their own keep their parent's.
                Some((loc, p)) if *loc != Location::UNKNOWN => (at, places) = (loc, p),
                Some((_, p)) => places = p,
                None => break,
            }
        }
        at
    }
}

impl<'de> Deserialize<'de> for Inline {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        fn scalar(json: serde_json::Value) -> Inline {
            Inline {
                json,
                places: Places::Scalar,
            }
        }
        // As `serde_json::Value` reads each kind of value, so the JSON is the same.
        impl<'de> Visitor<'de> for V {
            type Value = Inline;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("any value")
            }
            fn visit_bool<E>(self, v: bool) -> Result<Inline, E> {
                Ok(scalar(v.into()))
            }
            fn visit_i64<E>(self, v: i64) -> Result<Inline, E> {
                Ok(scalar(v.into()))
            }
            fn visit_u64<E>(self, v: u64) -> Result<Inline, E> {
                Ok(scalar(v.into()))
            }
            fn visit_i128<E: de::Error>(self, v: i128) -> Result<Inline, E> {
                serde_json::Number::deserialize(de::value::I128Deserializer::<E>::new(v))
                    .map(|n| scalar(n.into()))
            }
            fn visit_u128<E: de::Error>(self, v: u128) -> Result<Inline, E> {
                serde_json::Number::deserialize(de::value::U128Deserializer::<E>::new(v))
                    .map(|n| scalar(n.into()))
            }
            fn visit_f64<E>(self, v: f64) -> Result<Inline, E> {
                Ok(scalar(
                    serde_json::Number::from_f64(v).map_or(serde_json::Value::Null, Into::into),
                ))
            }
            fn visit_str<E>(self, v: &str) -> Result<Inline, E> {
                Ok(scalar(v.into()))
            }
            fn visit_string<E>(self, v: String) -> Result<Inline, E> {
                Ok(scalar(v.into()))
            }
            fn visit_unit<E>(self) -> Result<Inline, E> {
                Ok(scalar(serde_json::Value::Null))
            }
            fn visit_none<E>(self) -> Result<Inline, E> {
                Ok(scalar(serde_json::Value::Null))
            }
            fn visit_some<D2: Deserializer<'de>>(self, d: D2) -> Result<Inline, D2::Error> {
                Inline::deserialize(d)
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Inline, A::Error> {
                let (mut items, mut places) = (Vec::new(), Vec::new());
                while let Some(item) = seq.next_element::<Spanned<Inline>>()? {
                    items.push(item.value.json);
                    places.push((item.referenced, item.value.places));
                }
                Ok(Inline {
                    json: serde_json::Value::Array(items),
                    places: Places::Items(places),
                })
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Inline, A::Error> {
                let (mut members, mut places) = (serde_json::Map::new(), Vec::new());
                while let Some(key) = map.next_key::<String>()? {
                    let value = map.next_value::<Spanned<Inline>>()?;
                    members.insert(key.clone(), value.value.json);
                    places.push((key, value.referenced, value.value.places));
                }
                Ok(Inline {
                    json: serde_json::Value::Object(members),
                    places: Places::Members(places),
                })
            }
        }
        d.deserialize_any(V)
    }
}

/// Most entries of any list in a test document.
pub const MAX_LIST: usize = 1_000;

/// A scripted executor outcome: make matching actions fail.
#[derive(Clone, Debug, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Fail {
    /// The gamebook (or `caller > callee` label); absent: every gamebook.
    #[serde(default)]
    pub gamebook: Option<Text>,
    /// Step path or id, or `gamebook/step`; absent: every step.
    #[serde(default)]
    pub step: Option<Text>,
    /// Action id; absent: every action.
    #[serde(default)]
    pub action: Option<Text>,
    /// Target id or name (case-insensitive); absent: every target.
    #[serde(default)]
    pub target: Option<Text>,
    /// Fail only the first N attempts (so a retry succeeds); absent: every attempt.
    #[serde(default, deserialize_with = "failing_attempts")]
    pub attempts: Option<u32>,
    #[serde(default)]
    pub error: Option<String>,
}

/// What a `fail` entry's `attempts` takes. A whole number outside it (`0`, `11`) is read, and
/// refused where the entry is checked, with this.
pub(crate) fn failing_attempts_help() -> String {
    let attempts = riposte_dsl::lower::RETRY_ATTEMPTS;
    format!(
        "`attempts` is how many first attempts fail: a whole number from {} to {} (a step makes \
         at most {} attempts); leave it out to fail every attempt",
        attempts.start(),
        attempts.end(),
        attempts.end()
    )
}

/// A `fail` entry's `attempts`, read as a count is; a number that is not one (`-1`, `1.5`, one
/// past `u32`) says what `attempts` takes rather than naming `u32`.
fn failing_attempts<'de, D: Deserializer<'de>>(d: D) -> Result<Option<u32>, D::Error> {
    Option::<u32>::deserialize(d).map_err(|e| {
        if e.to_string().starts_with("invalid u32") {
            de::Error::custom(failing_attempts_help())
        } else {
            e
        }
    })
}

/// What the plan must show.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Expect {
    /// Whether every on-queue prerequisite passed.
    #[serde(default)]
    pub eligible: Option<bool>,
    #[serde(default)]
    pub classification: Option<Spanned<ExpectClassification>>,
    /// The matched response SOPs, exactly (in any order).
    #[serde(default)]
    pub sops: Option<Vec<Spanned<String>>>,
    #[serde(default)]
    pub actions: Option<Vec<Spanned<ExpectAction>>>,
    /// The expected actions appear in this order in the plan (others may come between).
    #[serde(default)]
    pub ordered: bool,
    #[serde(default)]
    pub tasks: Option<Vec<Spanned<ExpectTask>>>,
    /// No actions and no tasks beyond those listed (an absent list counts as empty).
    #[serde(default)]
    pub only: bool,
    #[serde(default)]
    pub summary: Option<ExpectSummary>,
}

/// `classification: none`, or the fields the plan's classification must have.
#[derive(Clone, Debug, PartialEq)]
pub enum ExpectClassification {
    None,
    Is(ClassificationFields),
}

#[derive(Clone, Debug, Default, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct ClassificationFields {
    #[serde(default)]
    pub classification: Option<Text>,
    #[serde(default)]
    pub reason: Option<String>,
    /// The classification SOP that decided.
    #[serde(default)]
    pub sop: Option<Text>,
    #[serde(default)]
    pub rule: Option<String>,
    /// 0–100, as a classification SOP's rule writes it.
    #[serde(default, deserialize_with = "percent")]
    pub confidence: Option<u8>,
}

/// A confidence: a whole number from 0 to 100. Every number is read, so that `101`, `-1`,
/// `1e308` or `80.5` are named as out of that range rather than as out of `u8`'s.
fn percent<'de, D: Deserializer<'de>>(d: D) -> Result<Option<u8>, D::Error> {
    struct V;
    impl<'de> Visitor<'de> for V {
        type Value = Option<u8>;
        fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
            f.write_str(
                "a whole number from 0 to 100, as the classification rule writes `confidence`",
            )
        }
        fn visit_u64<E: de::Error>(self, n: u64) -> Result<Option<u8>, E> {
            u8::try_from(n)
                .ok()
                .filter(|n| *n <= 100)
                .map(Some)
                .ok_or_else(|| E::invalid_value(de::Unexpected::Unsigned(n), &self))
        }
        fn visit_i64<E: de::Error>(self, n: i64) -> Result<Option<u8>, E> {
            match u64::try_from(n) {
                Ok(n) => self.visit_u64(n),
                Err(_) => Err(E::invalid_value(de::Unexpected::Signed(n), &self)),
            }
        }
        fn visit_f64<E: de::Error>(self, n: f64) -> Result<Option<u8>, E> {
            // `1e308` would otherwise be echoed in 309 digits.
            let shown = if n.abs() < 1e6 {
                de::Unexpected::Float(n)
            } else {
                de::Unexpected::Other("a number that large")
            };
            Err(E::invalid_value(shown, &self))
        }
        // `confidence: null` (or `~`) says nothing, as leaving it out does.
        fn visit_unit<E: de::Error>(self) -> Result<Option<u8>, E> {
            Ok(None)
        }
        fn visit_none<E: de::Error>(self) -> Result<Option<u8>, E> {
            Ok(None)
        }
        fn visit_some<D2: Deserializer<'de>>(self, d: D2) -> Result<Option<u8>, D2::Error> {
            d.deserialize_any(self)
        }
    }
    d.deserialize_any(V)
}

impl<'de> Deserialize<'de> for ExpectClassification {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = ExpectClassification;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("`none` or a mapping with `classification`, `reason`, `sop`, `rule`, `confidence`")
            }
            fn visit_str<E: de::Error>(self, s: &str) -> Result<ExpectClassification, E> {
                match s {
                    "none" => Ok(ExpectClassification::None),
                    other => Err(E::custom(format!(
                        "expected `none` or a mapping such as `{{classification: true_positive, reason: malware}}`, found `{other}`"
                    ))),
                }
            }
            fn visit_unit<E: de::Error>(self) -> Result<ExpectClassification, E> {
                Ok(ExpectClassification::None)
            }
            fn visit_map<A: MapAccess<'de>>(
                self,
                map: A,
            ) -> Result<ExpectClassification, A::Error> {
                ClassificationFields::deserialize(de::value::MapAccessDeserializer::new(map))
                    .map(ExpectClassification::Is)
            }
        }
        d.deserialize_any(V)
    }
}

/// The status of a planned action, as written in tests.
#[derive(Clone, Copy, Debug, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum ExpectStatus {
    WouldRun,
    AwaitingApproval,
    Blocked,
    Skipped,
    Rejected,
}

impl ExpectStatus {
    pub fn status(self) -> Status {
        match self {
            ExpectStatus::WouldRun => Status::WouldRun,
            ExpectStatus::AwaitingApproval => Status::AwaitingApproval,
            ExpectStatus::Blocked => Status::Blocked,
            ExpectStatus::Skipped => Status::Skipped,
            ExpectStatus::Rejected => Status::Rejected,
        }
    }
}

/// What the executor reported, as written in tests.
#[derive(Clone, Copy, Debug, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum ExpectOutcome {
    Succeeded,
    Failed,
}

impl ExpectOutcome {
    pub fn as_str(self) -> &'static str {
        match self {
            ExpectOutcome::Succeeded => "succeeded",
            ExpectOutcome::Failed => "failed",
        }
    }
}

/// One expected action: plan actions match it when every field given holds.
#[derive(Clone, Debug, Default, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct ExpectAction {
    #[serde(default)]
    pub sop: Option<Text>,
    /// The gamebook, or for sub-gamebooks the whole `caller > callee` label.
    #[serde(default)]
    pub gamebook: Option<Text>,
    /// Step path (`contain.isolate`) or id (`isolate`).
    #[serde(default)]
    pub step: Option<Text>,
    /// Action id, or `kind.*`.
    #[serde(default)]
    pub action: Option<Text>,
    /// Target id (with or without its `kind:` prefix) or name, case-insensitive; `incident` for
    /// incident actions.
    #[serde(default)]
    pub target: Option<Text>,
    /// Parameters the action must have (others may be there too), compared as JSON.
    #[serde(default)]
    pub params: Option<Spanned<serde_json::Map<String, serde_json::Value>>>,
    #[serde(default)]
    pub status: Option<ExpectStatus>,
    /// Part of the plan's reason or of its approval's reason, case-insensitive.
    #[serde(default)]
    pub reason_contains: Option<String>,
    /// The role the action waits for.
    #[serde(default)]
    pub approver: Option<Text>,
    /// The simulated execution's outcome.
    #[serde(default)]
    pub outcome: Option<ExpectOutcome>,
    /// The simulated execution's attempts.
    #[serde(default)]
    pub attempts: Option<u32>,
    /// Part of the simulated execution's error, case-insensitive.
    #[serde(default)]
    pub error_contains: Option<String>,
    /// Exactly this many plan actions match (default: at least one).
    #[serde(default)]
    pub count: Option<usize>,
}

/// One expected task.
#[derive(Clone, Debug, Default, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct ExpectTask {
    #[serde(default)]
    pub sop: Option<Text>,
    #[serde(default)]
    pub gamebook: Option<Text>,
    #[serde(default)]
    pub step: Option<Text>,
    /// The whole title, exactly.
    #[serde(default)]
    pub title: Option<String>,
    /// Part of the title, case-insensitive.
    #[serde(default)]
    pub title_contains: Option<String>,
    #[serde(default)]
    pub role: Option<Text>,
    /// `open`, or `awaiting_approval` for a task behind an ungranted gate.
    #[serde(default)]
    pub status: Option<crate::plan::model::TaskStatus>,
    #[serde(default)]
    pub count: Option<usize>,
}

/// Expected counts of actions by status; absent fields are not checked.
#[derive(Clone, Copy, Debug, Default, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct ExpectSummary {
    #[serde(default)]
    pub would_run: Option<usize>,
    #[serde(default)]
    pub awaiting_approval: Option<usize>,
    #[serde(default)]
    pub blocked: Option<usize>,
    #[serde(default)]
    pub skipped: Option<usize>,
    #[serde(default)]
    pub rejected: Option<usize>,
    /// Of the actions that would run, those whose simulated execution failed.
    #[serde(default)]
    pub failed: Option<usize>,
}
