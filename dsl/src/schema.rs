//! JSON Schemas (draft-07) of gamebook and SOP files, for editors running yaml-language-server.
//! Generated from the same tables the compiler uses, so completions list real action ids,
//! roles and keywords. `docs/schema/*.json` are checked-in copies; a test keeps them in sync.

use serde_json::{json, Value};

use crate::ast::{
    AgentMode, Backoff, Classification, ErrorStrategy, IncidentSource, InputType, Role,
    SeverityLevel, TimeoutOutcome,
};
use crate::catalog::{self, Target};
use crate::lower::gamebook::{ATTEMPTS, CONCURRENCY, KIND_KEYS, KIND_ONLY_KEYS, QUORUM};
use crate::lower::sop::{ACTION_COUNT, CLASSIFICATION_KEYS, CONFIDENCE, PRIORITY, RESPONSE_KEYS};
use crate::lower::{DOCUMENT_NAME_MAX_LEN, IDENTIFIER_MAX_LEN};

fn names(list: &[&str]) -> Value {
    json!(list)
}

fn expr(description: &str) -> Value {
    json!({"type": ["string", "boolean"], "description": description})
}

/// A duration longer than zero, as the compiler reads one: digits and a unit, surrounding
/// whitespace trimmed; a nonzero digit makes it longer than zero.
const POSITIVE_DURATION: &str = r"^\s*[0-9]*[1-9][0-9]*(ms|s|m|h|d|w)\s*$";

fn duration(description: &str) -> Value {
    json!({"type": "string", "pattern": POSITIVE_DURATION, "description": description})
}

/// A whole number in `range`.
fn integer(range: &std::ops::RangeInclusive<i64>) -> Value {
    json!({"type": "integer", "minimum": range.start(), "maximum": range.end()})
}

/// A list of `item`s, or one `item` alone: the compiler reads a lone value as a list of one.
pub fn one_or_list(item: Value) -> Value {
    json!({"anyOf": [item, {"type": "array", "items": item}]})
}

/// A step id, input, output or item name, unanchored: `a-z`, `0-9`, `_`, not starting with a
/// digit (see `is_identifier` in lower/mod.rs).
pub const IDENTIFIER_WORD: &str = "[a-z_][a-z0-9_]*";

/// A step id, input, output or item name.
pub fn identifier() -> Value {
    json!({"type": "string", "pattern": format!("^{IDENTIFIER_WORD}$"), "maxLength": IDENTIFIER_MAX_LEN})
}

/// A mapping whose keys are identifiers (inputs, outputs, `with:`).
fn identifier_keys(values: Value) -> Value {
    json!({"type": "object", "propertyNames": identifier(), "additionalProperties": values})
}

/// A role that approves or does a task.
pub fn role() -> Value {
    json!({"enum": names(Role::NAMES)})
}

/// Free text: YAML reads `42`, `1.5` or `true` written plain as a number or a boolean, which
/// the compiler reads back as the text written (`name: 42` is the text `42`).
fn text() -> Value {
    json!({"type": ["string", "number", "boolean"]})
}

/// Characters Rust's `char::is_whitespace` counts as white space (what `trim` removes), spelt
/// out: a pattern's `\s` is ECMAScript's, which differs (it has U+FEFF and lacks U+0085).
const WHITESPACE_CHARS: &str =
    r"\t-\r \u0085\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000";

/// [`text`] that is not blank: a string holds a character other than white space (the
/// compiler trims it and refuses what is left empty); numbers and booleans are never blank.
fn non_blank() -> Value {
    json!({"type": ["string", "number", "boolean"], "pattern": format!("[^{WHITESPACE_CHARS}]")})
}

fn string_list() -> Value {
    one_or_list(text())
}

/// [`one_or_list`] whose list is not empty (an empty one would match nothing).
fn one_or_some(item: Value) -> Value {
    json!({"anyOf": [item, {"type": "array", "items": item, "minItems": 1}]})
}

fn mitre() -> Value {
    let mut s = one_or_list(json!({"type": "string", "pattern": "^T[0-9]{4}(\\.[0-9]{3})?$"}));
    s["description"] = json!("MITRE ATT&CK technique ids");
    s
}

fn task() -> Value {
    json!({
        "type": "object",
        "additionalProperties": false,
        "required": ["title", "role"],
        "properties": {
            "title": {"type": ["string", "number", "boolean"], "description": "what the person does; may hold {{ expr }} templates"},
            "role": role(),
            "description": text(),
            "checklist": string_list(),
        }
    })
}

/// A gamebook or SOP name, unanchored: lowercase words joined by `-` (see `is_document_name` in
/// lower/mod.rs).
pub const DOCUMENT_NAME_WORD: &str = "[a-z][a-z0-9-]*";

/// A gamebook or SOP name.
pub fn document_name() -> Value {
    json!({"type": "string", "pattern": format!("^{DOCUMENT_NAME_WORD}$"), "maxLength": DOCUMENT_NAME_MAX_LEN})
}

/// A string the compiler reads as a template: any text with a `{{`.
const TEMPLATE: &str = r"\{\{";

/// A string that is one whole `{{ expression }}`, the only template a non-string param takes.
/// As the compiler finds the closing `}}`: the first one outside a quoted string literal, so
/// between the braces a `}` is never followed by another, nor ends the expression.
const WHOLE_TEMPLATE: &str =
    r#"^\{\{(?:\}?(?:[^}'"]|"(?:[^"\\]|\\[\s\S])*"|'(?:[^'\\]|\\[\s\S])*'))*\}\}$"#;

/// A literal of type `literal`, or a whole-value `{{ expression }}`.
fn literal_or_expr(literal: Value) -> Value {
    json!({"anyOf": [literal, {"type": "string", "pattern": WHOLE_TEMPLATE}]})
}

/// A severity word, matched case-insensitively as the compiler does; JSON Schema patterns have
/// no flags, so spell it out.
fn severity() -> Value {
    let words: Vec<String> = SeverityLevel::NAMES
        .iter()
        .map(|w| {
            w.chars()
                .map(|c| format!("[{}{}]", c.to_ascii_lowercase(), c.to_ascii_uppercase()))
                .collect()
        })
        .collect();
    json!({"type": "string", "pattern": format!("^({})$", words.join("|"))})
}

/// An IP address as Rust's `IpAddr` parser reads one (what the compiler accepts for an `ip`
/// input's default): four decimal octets without leading zeros, or eight groups of one to four
/// hex digits, with `::` standing for one or more groups of zeros and an IPv4 address as the
/// last two groups. No zone, no brackets.
pub fn ip_address_pattern() -> String {
    const GROUP: &str = "[0-9a-fA-F]{1,4}";
    const OCTET: &str = "(?:25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])";
    let v4 = format!("{OCTET}(?:\\.{OCTET}){{3}}");
    // Up to `groups` groups, an IPv4 address counting as two.
    let tail = |groups: usize| match groups {
        0 => String::new(),
        1 => format!("(?:{GROUP})?"),
        n => format!(
            "(?:(?:{GROUP}:){{0,{}}}{GROUP}|(?:{GROUP}:){{0,{}}}{v4})?",
            n - 1,
            n - 2
        ),
    };
    let mut v6 = vec![
        format!("(?:{GROUP}:){{7}}{GROUP}"),
        format!("(?:{GROUP}:){{6}}{v4}"),
    ];
    // `::` after `head` groups, then at most enough to leave it one group of zeros.
    for head in 0..=7 {
        let before = match head {
            0 => String::new(),
            h => format!("(?:{GROUP}:){{{}}}{GROUP}", h - 1),
        };
        v6.push(format!("{before}::{}", tail(7 - head)));
    }
    format!("^(?:{v4}|{})$", v6.join("|"))
}

/// The defaults the compiler accepts for an input of type `ty` (see `literal` in compile.rs):
/// a YAML literal of the type, never a template or null.
fn input_default(ty: InputType) -> Value {
    match ty {
        InputType::String => text(),
        InputType::Number => json!({"type": "number"}),
        InputType::Bool => json!({"type": "boolean"}),
        InputType::Duration => json!({"type": "string", "pattern": POSITIVE_DURATION}),
        InputType::Severity => severity(),
        InputType::Ip => json!({"type": "string", "pattern": ip_address_pattern()}),
        InputType::StringList => json!({"type": "array", "items": text()}),
    }
}

/// A gamebook input: its `default` of its `type`, and `values` only on a string input (RP0106).
fn input() -> Value {
    let of_type: Vec<Value> = InputType::ALL
        .iter()
        .map(|&ty| {
            let mut then = json!({"properties": {"default": input_default(ty)}});
            if ty != InputType::String {
                then["not"] = json!({"required": ["values"]});
            }
            json!({
                "if": {"properties": {"type": {"const": ty.as_str()}}, "required": ["type"]},
                "then": then,
            })
        })
        .collect();
    json!({
        "type": "object",
        "additionalProperties": false,
        "required": ["type"],
        "allOf": of_type,
        "properties": {
            "type": {"enum": names(InputType::NAMES)},
            "default": {},
            "values": string_list(),
            "description": text(),
        }
    })
}

/// The values the compiler accepts for a param of type `ty` (see `typed_value` and `literal`
/// in compile.rs): a string slot takes any scalar (numbers and booleans as their text) and
/// any template; other types take their YAML literal or one whole `{{ expression }}`.
fn param(ty: catalog::ParamType) -> Value {
    use catalog::ParamType;
    match ty {
        ParamType::String => json!({"type": ["string", "number", "boolean"]}),
        // The values are words, so no number or boolean ever equals one.
        ParamType::Enum(values) => {
            json!({"anyOf": [{"enum": values}, {"type": "string", "pattern": TEMPLATE}]})
        }
        ParamType::Bool => literal_or_expr(json!({"type": "boolean"})),
        ParamType::Number => literal_or_expr(json!({"type": "number"})),
        ParamType::Duration => {
            literal_or_expr(json!({"type": "string", "pattern": POSITIVE_DURATION}))
        }
        ParamType::Severity => literal_or_expr(severity()),
        // Items are read as plain strings, even ones with `{{`.
        ParamType::StringList => literal_or_expr(
            json!({"type": "array", "items": {"type": ["string", "number", "boolean"]}}),
        ),
    }
}

/// What a step running `action` must and must not hold: its params by name (unknown ones
/// refused, required ones without a default demanded: RP0404, RP0403), and no `target` on an
/// incident action (RP0402).
fn action_step(action: &catalog::ActionSpec) -> Value {
    let props: serde_json::Map<String, Value> = action
        .params
        .iter()
        .map(|p| {
            let mut s = param(p.ty);
            s["description"] = json!(p.doc);
            (p.name.to_string(), s)
        })
        .collect();
    let required: Vec<&str> = action
        .params
        .iter()
        .filter(|p| p.required && p.default.is_none())
        .map(|p| p.name)
        .collect();
    let mut params = json!({"type": "object", "additionalProperties": false, "properties": props});
    let mut then = json!({});
    if !required.is_empty() {
        params["required"] = json!(required);
        then["required"] = json!(["params"]);
    }
    then["properties"] = json!({"params": params});
    if action.target == Target::Incident {
        then["not"] = json!({"required": ["target"]});
    }
    json!({
        "if": {"properties": {"action": {"const": action.id}}, "required": ["action"]},
        "then": then,
    })
}

/// The schema of `kind: gamebook` files.
pub fn gamebook() -> Value {
    json!({
        "$schema": "http://json-schema.org/draft-07/schema#",
        "$id": "https://riposte.dev/schema/gamebook.json",
        "title": "Riposte gamebook",
        "type": "object",
        "additionalProperties": false,
        "required": ["kind", "name", "version", "steps"],
        "properties": {
            "kind": {"const": "gamebook"},
            "name": document_name(),
            // A string of up to three dot-separated numbers; YAML reads `1` or `1.5` as a number.
            "version": {
                "type": ["string", "number"],
                "pattern": "^[0-9]+(\\.[0-9]+){0,2}$",
                "minimum": 0,
                "description": "semantic version, e.g. 1.0.0"
            },
            "description": text(),
            "tags": string_list(),
            "mitre": mitre(),
            "inputs": identifier_keys(input()),
            "steps": {"type": "array", "minItems": 1, "items": {"$ref": "#/definitions/step"}},
            // Of any type, so a number or a boolean too: the compiler reads it as the text
            // written (`n: 42` is the expression `42`).
            "outputs": identifier_keys(json!({
                "type": ["string", "number", "boolean"],
                "description": "an expression over `incident`, `inputs` and `steps`"
            })),
        },
        "definitions": {
            "step": step_schema(),
        }
    })
}

fn step_schema() -> Value {
    let kinds: Vec<Value> = KIND_KEYS.iter().map(|k| json!({"required": [k]})).collect();
    // A key of one step kind requires that kind's key (`params` → `action`).
    let kind_only: serde_json::Map<String, Value> = KIND_ONLY_KEYS
        .iter()
        .map(|(key, kind, _)| (key.to_string(), json!([kind])))
        .collect();
    let actions: Vec<Value> = catalog::catalog().iter().map(action_step).collect();
    let reserved: Vec<&str> = crate::expr::KEYWORDS
        .iter()
        .copied()
        .chain(["incident", "inputs", "steps"])
        .collect();
    json!({
        "type": "object",
        "additionalProperties": false,
        "required": ["id"],
        "oneOf": kinds,
        "dependencies": kind_only,
        "allOf": actions,
        "properties": {
            "id": identifier(),
            "name": text(),
            "action": {"enum": catalog::action_ids()},
            "target": expr("an expression giving one entity of the action's kind"),
            "params": {"type": "object"},
            "task": task(),
            "gamebook": document_name(),
            "with": identifier_keys(json!({})),
            "steps": {"type": "array", "minItems": 1, "items": {"$ref": "#/definitions/step"}},
            "if": expr("run the step only when this holds"),
            "needs": one_or_list(identifier()),
            "for_each": {
                "oneOf": [
                    {"type": "string"},
                    {
                        "type": "object",
                        "additionalProperties": false,
                        "required": ["items"],
                        "properties": {
                            "items": expr("a list expression"),
                            "as": {"allOf": [identifier(), {"not": {"enum": reserved}}]},
                            "filter": expr("keep items for which this holds"),
                            "concurrency": integer(&CONCURRENCY),
                            "on_error": {"enum": names(ErrorStrategy::NAMES)},
                        }
                    }
                ]
            },
            "approval": {
                "type": "object",
                "additionalProperties": false,
                "required": ["role", "timeout", "on_timeout"],
                "properties": {
                    "role": role(),
                    "timeout": duration("how long to wait for a decision"),
                    "on_timeout": {"enum": names(TimeoutOutcome::NAMES)},
                    "quorum": integer(&QUORUM),
                }
            },
            "retry": {
                "type": "object",
                "additionalProperties": false,
                "required": ["attempts"],
                "properties": {
                    "attempts": integer(&ATTEMPTS),
                    "backoff": duration("delay before the first retry"),
                    "strategy": {"enum": names(Backoff::NAMES)},
                }
            },
            "timeout": duration("give up on the step after this long"),
            "on_error": identifier(),
        }
    })
}

/// A classification rule; its `reason` is one of its `classification`'s (RP0410).
fn rule() -> Value {
    let all_reasons = Classification::all_reasons();
    let reason_of_classification: Vec<Value> = Classification::ALL
        .iter()
        .map(|c| {
            json!({
                "if": {"properties": {"classification": {"const": c.as_str()}}, "required": ["classification"]},
                "then": {"properties": {"reason": {"enum": c.reasons()}}}
            })
        })
        .collect();
    json!({
        "type": "object",
        "additionalProperties": false,
        "required": ["name", "when", "classification", "reason", "confidence"],
        "allOf": reason_of_classification,
        "properties": {
            "name": text(),
            "when": expr("a condition on the incident"),
            "classification": {"enum": names(Classification::NAMES)},
            "reason": {"enum": all_reasons},
            "confidence": integer(&CONFIDENCE),
        }
    })
}

/// The schema of `kind: sop` files.
pub fn sop() -> Value {
    let mut approval_actions: Vec<String> = catalog::action_ids()
        .iter()
        .map(|id| id.to_string())
        .collect();
    approval_actions.extend(catalog::action_patterns());
    let action_count = integer(&ACTION_COUNT);
    let limits: serde_json::Map<String, Value> = catalog::action_ids()
        .iter()
        .map(|id| (id.to_string(), action_count.clone()))
        .collect();
    // Which keys a SOP takes, and which it must have, depends on its `type`.
    let of_type = |ty: &str, keys: &[&str], then: Value| {
        let mut then = then;
        then["propertyNames"] = json!({"enum": keys});
        json!({
            "if": {"properties": {"type": {"const": ty}}, "required": ["type"]},
            "then": then,
        })
    };
    let mut priority = integer(&PRIORITY);
    priority["description"] = json!("lower runs first");
    // Every key of either type; `propertyNames` then keeps those of the type given.
    let properties = json!({
        "kind": {"const": "sop"},
        "type": {"enum": ["classification", "response"], "description": "which keys the SOP takes"},
        "name": document_name(),
        "description": text(),
        "tags": string_list(),
        "mitre": mitre(),
        "priority": priority,
        "rules": {"type": "array", "minItems": 1, "items": rule()},
        "mode": {"enum": names(AgentMode::NAMES)},
        "applies_to": {
            "type": "object",
            "additionalProperties": false,
            "properties": {
                "sources": one_or_some(json!({"enum": names(IncidentSource::NAMES)})),
                "severities": one_or_some(json!({"enum": names(SeverityLevel::NAMES)})),
                "classifications": one_or_some(json!({"enum": names(Classification::NAMES)})),
                "workspaces": one_or_some(text()),
                "workspace_tags": one_or_some(text()),
                "when": expr("a condition on the incident"),
            }
        },
        "gamebooks": {
            "type": "array",
            "items": {
                "type": "object",
                "additionalProperties": false,
                "required": ["gamebook"],
                "properties": {
                    "gamebook": document_name(),
                    "with": identifier_keys(json!({})),
                    "if": expr("run the gamebook only when this holds"),
                }
            }
        },
        "tasks": {"type": "array", "items": task()},
        "approval": {
            "type": "array",
            "items": {
                "type": "object",
                "additionalProperties": false,
                "required": ["actions", "role"],
                "properties": {
                    "actions": one_or_some(json!({
                        "enum": approval_actions,
                        "description": "an action id, or `<kind>.*` for every action of a kind"
                    })),
                    "role": role(),
                    "approve_if": expr("approval is needed only when this holds; sees `incident`, `entity`, `action`"),
                }
            }
        },
        "guardrails": {
            "type": "object",
            "additionalProperties": false,
            "properties": {
                "protected": {
                    "type": "array",
                    "items": {
                        "type": "object",
                        "minProperties": 1,
                        "maxProperties": 1,
                        "additionalProperties": false,
                        "properties": {"id": non_blank(), "name": non_blank(), "tag": non_blank()}
                    }
                },
                "max_actions": action_count,
                "limits": {
                    "type": "object",
                    "additionalProperties": false,
                    "properties": limits,
                    "description": "the most runs of each action, by action id"
                },
            }
        }
    });
    json!({
        "$schema": "http://json-schema.org/draft-07/schema#",
        "$id": "https://riposte.dev/schema/sop.json",
        "title": "Riposte SOP",
        "type": "object",
        "additionalProperties": false,
        "required": ["kind", "type", "name"],
        "properties": properties,
        "allOf": [
            of_type("classification", CLASSIFICATION_KEYS, json!({"required": ["rules"]})),
            // `gamebooks: []` only for a SOP that opens tasks: otherwise it would do nothing.
            of_type("response", RESPONSE_KEYS, json!({
                "required": ["gamebooks"],
                "anyOf": [
                    {"properties": {"gamebooks": {"minItems": 1}}},
                    {"required": ["tasks"], "properties": {"tasks": {"minItems": 1}}}
                ]
            })),
        ]
    })
}

/// The names of the properties an object schema declares, sorted: what a document may hold,
/// for comparing a schema with the keys a reader accepts.
pub fn property_names(schema: &Value) -> Vec<&str> {
    let mut names: Vec<&str> = schema["properties"]
        .as_object()
        .map(|p| p.keys().map(String::as_str).collect())
        .unwrap_or_default();
    names.sort_unstable();
    names
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lower::gamebook::{GAMEBOOK_KEYS, STEP_KEYS};
    use crate::lower::{is_document_name, is_identifier};
    use regex_automata::meta::Regex;

    fn keys(schema: &Value) -> Vec<&str> {
        property_names(schema)
    }

    fn sorted<'a>(list: impl IntoIterator<Item = &'a str>) -> Vec<&'a str> {
        let mut list: Vec<&str> = list.into_iter().collect();
        list.sort_unstable();
        list
    }

    /// The schemas describe exactly the keys the compiler reads.
    #[test]
    fn keys_are_the_compilers() {
        let gamebook = gamebook();
        assert_eq!(keys(&gamebook), sorted(GAMEBOOK_KEYS.iter().copied()));
        assert_eq!(
            keys(&gamebook["definitions"]["step"]),
            sorted(STEP_KEYS.iter().copied())
        );
        let mut sop_keys = sorted(CLASSIFICATION_KEYS.iter().chain(RESPONSE_KEYS).copied());
        sop_keys.dedup();
        assert_eq!(keys(&sop()), sop_keys);
    }

    /// A string matches `pattern` (anchored, with `maxLength`) as the compiler's rule says.
    fn agree(schema: &Value, rule: fn(&str) -> bool, samples: &[&str]) {
        let pattern = schema["pattern"].as_str().unwrap_or_default();
        let max = schema["maxLength"].as_u64().unwrap_or(u64::MAX);
        let regex = Regex::new(pattern).expect("the pattern compiles");
        for s in samples {
            let by_schema = regex.is_match(s) && s.chars().count() as u64 <= max;
            assert_eq!(by_schema, rule(s), "{pattern}: {s:?}");
        }
    }

    /// The IP pattern takes exactly the addresses the compiler's parser takes: every string
    /// of up to five pieces of addresses, and some longer.
    #[test]
    fn ip_pattern_is_the_parsers() {
        let regex = Regex::new(&ip_address_pattern()).expect("the pattern compiles");
        let pieces = [
            "", "1", "0", "01", "255", "256", "ffff", "FfF0", "12345", "g", ":", "::", ".",
            "1.2.3.4", "0.0.0.0", "1:2:3", "1.2.3",
        ];
        let mut samples: Vec<String> = vec![
            "1:2:3:4:5:6:7:8".into(),
            "1:2:3:4:5:6:7:8:9".into(),
            "1:2:3:4:5:6:1.2.3.4".into(),
            "1:2:3:4:5:6:7:1.2.3.4".into(),
            "1:2:3:4:5::1.2.3.4".into(),
            "1:2:3:4:5:6::1.2.3.4".into(),
            "1:2:3:4:5:6:7::".into(),
            "1:2:3:4:5:6:7:8::".into(),
            "::2:3:4:5:6:7:8".into(),
            "::2:3:4:5:6:7:1.2.3.4".into(),
            "::3:4:5:6:7:1.2.3.4".into(),
            "1::3:4:5:6:7:8".into(),
            "1::3:4:5:6:7:1.2.3.4".into(),
            "::ffff:192.168.0.1".into(),
            "fe80::1%eth0".into(),
            "[::1]".into(),
            " 1.2.3.4".into(),
            "1.2.3.4 ".into(),
        ];
        let mut layer = vec![String::new()];
        for _ in 0..5 {
            layer = layer
                .iter()
                .flat_map(|s| pieces.iter().map(move |p| format!("{s}{p}")))
                .collect();
            samples.extend(layer.iter().cloned());
        }
        samples.sort();
        samples.dedup();
        let disagree: Vec<&String> = samples
            .iter()
            .filter(|s| regex.is_match(s) != s.parse::<std::net::IpAddr>().is_ok())
            .collect();
        assert!(disagree.is_empty(), "{disagree:?}");
    }

    /// A string the protected-entity pattern matches is one `trim` leaves something of.
    #[test]
    fn non_blank_is_the_compilers() {
        let regex = Regex::new(non_blank()["pattern"].as_str().unwrap_or_default())
            .expect("the pattern compiles");
        for c in (0..=0x10FFFF).filter_map(char::from_u32) {
            for s in [c.to_string(), format!(" {c}\t")] {
                assert_eq!(regex.is_match(&s), !s.trim().is_empty(), "{s:?}");
            }
        }
        assert!(!regex.is_match(""));
    }

    #[test]
    fn name_patterns_are_the_compilers() {
        let long_id = "a".repeat(64);
        let too_long_id = "a".repeat(65);
        let long_name = "a".repeat(100);
        let too_long_name = "a".repeat(101);
        let samples = [
            "isolate",
            "_x",
            "a1_b2",
            "Bad",
            "bad-name",
            "1a",
            "",
            "a.b",
            "né",
            "x\n",
            "contain-device",
            "-a",
            long_id.as_str(),
            too_long_id.as_str(),
            long_name.as_str(),
            too_long_name.as_str(),
        ];
        agree(&identifier(), is_identifier, &samples);
        agree(&document_name(), is_document_name, &samples);
    }
}
