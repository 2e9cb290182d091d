//! The JSON Schema (draft-07) of test files (`*.test.yaml`), for editors running
//! yaml-language-server; each YAML document of a file is one test. Its keys and words are those
//! the serde types of [`super::file`] read (a test keeps them equal), and its names those the
//! runner checks: catalog action ids and `kind.*`, roles, classifications.
//! `docs/schema/test.schema.json` is a checked-in copy; a test keeps it in sync.

use serde_json::{json, Value};

use riposte_dsl::ast::Classification;
use riposte_dsl::schema::{document_name, role, DOCUMENT_NAME_WORD, IDENTIFIER_WORD};

use super::file::{ExpectOutcome, ExpectStatus, TestKind, MAX_LIST};
use super::names::names_of;
use crate::plan::model::TaskStatus;

/// Any scalar: the reader takes numbers and booleans as the text they are written as.
fn text() -> Value {
    json!({"type": ["string", "number", "boolean"]})
}

fn words(list: &[&str]) -> Value {
    json!({"enum": list})
}

fn count() -> Value {
    json!({"type": "integer", "minimum": 0})
}

/// A list of at most [`MAX_LIST`] `item`s.
fn list(item: Value) -> Value {
    json!({"type": "array", "items": item, "maxItems": MAX_LIST})
}

/// A mapping of exactly these keys (serde's `deny_unknown_fields`).
fn object(required: &[&str], properties: Value) -> Value {
    json!({
        "type": "object",
        "additionalProperties": false,
        "required": required,
        "properties": properties,
    })
}

/// A step id (`isolate`) or path through groups (`contain.isolate`); `empty` also takes `""`
/// (an SOP's own task has no step).
fn step(empty: bool) -> Value {
    text_matching(
        &format!("({DOCUMENT_NAME_WORD}/)?{IDENTIFIER_WORD}(\\.{IDENTIFIER_WORD})*"),
        empty,
    )
}

/// Text that is all `body`; `empty` also takes `""`.
fn text_matching(body: &str, empty: bool) -> Value {
    let pattern = if empty {
        format!("^({body})?$")
    } else {
        format!("^{body}$")
    };
    json!({"type": "string", "pattern": pattern})
}

/// Steps named in `approve`, `reject`, `time_out`: one, or a list.
fn steps() -> Value {
    json!({"anyOf": [step(false), list(step(false))]})
}

/// A gamebook, or the `caller > callee` label of a sub-gamebook's actions; `empty` also takes
/// `""` (an SOP's own task has no gamebook).
fn gamebook_label(empty: bool) -> Value {
    let name = DOCUMENT_NAME_WORD;
    text_matching(&format!("{name}( > {name})*"), empty)
}

/// An action id of the catalog, or `kind.*` for a kind some action has.
fn action() -> Value {
    let mut names: Vec<String> = riposte_dsl::catalog::action_ids()
        .iter()
        .map(|id| id.to_string())
        .collect();
    names.extend(super::action_kind_patterns());
    json!({"enum": names, "description": "an action id, or `kind.*` for every action of a kind"})
}

fn fail() -> Value {
    object(
        &[],
        json!({
            "gamebook": gamebook_label(false),
            "step": step(false),
            "action": action(),
            "target": text(),
            "attempts": {
                "type": "integer",
                "minimum": riposte_dsl::lower::RETRY_ATTEMPTS.start(),
                "maximum": riposte_dsl::lower::RETRY_ATTEMPTS.end(),
                "description": "fail only the first N attempts",
            },
            "error": text(),
        }),
    )
}

fn classification() -> Value {
    let reasons = Classification::all_reasons();
    let fields = object(
        &[],
        json!({
            "classification": words(Classification::NAMES),
            "reason": words(&reasons),
            "sop": document_name(),
            "rule": text(),
            "confidence": {"type": ["integer", "null"], "minimum": 0, "maximum": 100},
        }),
    );
    json!({"anyOf": [{"const": "none"}, {"type": "null"}, fields]})
}

fn expected_action() -> Value {
    object(
        &[],
        json!({
            "sop": document_name(),
            "gamebook": gamebook_label(false),
            "step": step(false),
            "action": action(),
            "target": text(),
            "params": {"type": "object"},
            "status": words(names_of::<ExpectStatus>()),
            "reason_contains": text(),
            "approver": role(),
            "outcome": words(names_of::<ExpectOutcome>()),
            "attempts": count(),
            "error_contains": text(),
            "count": count(),
        }),
    )
}

fn expected_task() -> Value {
    object(
        &[],
        json!({
            "sop": document_name(),
            "gamebook": gamebook_label(true),
            "step": step(true),
            "title": text(),
            "title_contains": text(),
            "role": role(),
            "status": words(names_of::<TaskStatus>()),
            "count": count(),
        }),
    )
}

fn summary() -> Value {
    // A count per status, and of the actions that would run, those that fail.
    let counts: serde_json::Map<String, Value> = names_of::<ExpectStatus>()
        .iter()
        .copied()
        .chain(["failed"])
        .map(|s| (s.to_string(), count()))
        .collect();
    object(&[], Value::Object(counts))
}

fn expect() -> Value {
    object(
        &[],
        json!({
            "eligible": {"type": "boolean"},
            "classification": classification(),
            "sops": list(document_name()),
            "actions": list(expected_action()),
            "ordered": {"type": "boolean"},
            "tasks": list(expected_task()),
            "only": {"type": "boolean"},
            "summary": summary(),
        }),
    )
}

/// An RFC 3339 time as [`riposte_dsl::value::parse_time`] reads one: a date that exists (29
/// February of leap years only), `T`, `t` or a space, a time up to a leap second `:60`, any
/// fraction, and `Z` or an offset of at most 23:59. (That an offset or a leap second may carry
/// a time outside the years 0000 to 9999, which the reader refuses, no pattern sees.)
fn time_pattern() -> String {
    const YEAR: &str = "[0-9]{4}";
    const LEAP_YEAR: &str =
        "(?:[0-9]{2}(?:0[48]|[2468][048]|[13579][26])|(?:[02468][048]|[13579][26])00)";
    let month_day = "(?:(?:0[13578]|1[02])-(?:0[1-9]|[12][0-9]|3[01])\
        |(?:0[469]|11)-(?:0[1-9]|[12][0-9]|30)\
        |02-(?:0[1-9]|1[0-9]|2[0-8]))";
    let date = format!("(?:{YEAR}-{month_day}|{LEAP_YEAR}-02-29)");
    let time = "(?:[01][0-9]|2[0-3]):[0-5][0-9]:(?:[0-5][0-9]|60)(?:\\.[0-9]+)?";
    let offset = "(?:[Zz]|[+-](?:[01][0-9]|2[0-3]):[0-5][0-9])";
    format!("^{date}[Tt ]{time}{offset}$")
}

/// The schema of one test document.
pub fn test_file() -> Value {
    let max_fanout = super::Limits::default().max_fanout;
    let mut schema = object(
        &["kind", "name", "incident", "expect"],
        json!({
            "kind": words(names_of::<TestKind>()),
            "name": {"type": ["string", "number", "boolean"], "minLength": 1, "description": "what the test shows, unique within its file"},
            "description": text(),
            "incident": {"type": ["string", "object"], "description": "a path relative to the test file, or the incident itself"},
            "gamebook": document_name(),
            "with": {"type": "object", "propertyNames": riposte_dsl::schema::identifier()},
            "incident_id": text(),
            "workspaces": {"type": ["string", "array"], "items": {"type": "object"}, "description": "a path relative to the test file, or a list of workspaces"},
            "workspace": text(),
            // `all` and `none` are words of `Approve`'s own reader.
            "approve": {"anyOf": [{"enum": ["all", "none"]}, steps()]},
            "reject": steps(),
            "time_out": steps(),
            "fail": list(fail()),
            "now": {"type": "string", "pattern": time_pattern(), "description": "RFC 3339, e.g. 2025-03-14T03:00:00Z"},
            "max_fanout": {"type": "integer", "minimum": 1, "maximum": max_fanout},
            "expect": expect(),
        }),
    );
    // `with:` is only read when the test runs a gamebook.
    schema["dependencies"] = json!({"with": ["gamebook"]});
    schema["$schema"] = json!("http://json-schema.org/draft-07/schema#");
    schema["$id"] = json!("https://riposte.dev/schema/test.json");
    schema["title"] = json!("Riposte gamebook test");
    schema
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::file::{
        ClassificationFields, Expect, ExpectAction, ExpectSummary, ExpectTask, Fail, TestDoc,
    };
    use serde::Deserialize;

    fn keys(schema: &Value) -> Vec<&str> {
        riposte_dsl::schema::property_names(schema)
    }

    fn fields<T: for<'de> Deserialize<'de>>() -> Vec<&'static str> {
        let mut names = names_of::<T>().to_vec();
        names.sort_unstable();
        names
    }

    /// Every mapping of the schema has the keys its serde type reads, no more, no less.
    #[test]
    fn keys_are_the_readers() {
        let schema = test_file();
        let expect = &schema["properties"]["expect"];
        let classification = &expect["properties"]["classification"]["anyOf"][2];
        assert_eq!(keys(&schema), fields::<TestDoc>());
        assert_eq!(
            keys(&schema["properties"]["fail"]["items"]),
            fields::<Fail>()
        );
        assert_eq!(keys(expect), fields::<Expect>());
        assert_eq!(keys(classification), fields::<ClassificationFields>());
        assert_eq!(
            keys(&expect["properties"]["actions"]["items"]),
            fields::<ExpectAction>()
        );
        assert_eq!(
            keys(&expect["properties"]["tasks"]["items"]),
            fields::<ExpectTask>()
        );
        assert_eq!(
            keys(&expect["properties"]["summary"]),
            fields::<ExpectSummary>()
        );
    }
}
