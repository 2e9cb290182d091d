//! JSON Schemas (draft-07) of gamebook and SOP files, for editors running yaml-language-server.
//! Generated from the same tables the compiler uses, so completions list real action ids,
//! roles and keywords. `docs/schema/*.json` are checked-in copies; a test keeps them in sync.

use serde_json::{json, Value};

use crate::ast::{
    AgentMode, Backoff, Classification, ErrorStrategy, IncidentSource, InputType, Role,
    SeverityLevel, TimeoutOutcome,
};
use crate::catalog;

fn names(list: &[&str]) -> Value {
    json!(list)
}

fn expr(description: &str) -> Value {
    json!({"type": ["string", "boolean"], "description": description})
}

fn duration(description: &str) -> Value {
    json!({"type": "string", "pattern": "^[0-9]+(ms|s|m|h|d|w)$", "description": description})
}

/// A list of `item`s, or one `item` alone: the compiler reads a lone value as a list of one.
fn one_or_list(item: Value) -> Value {
    json!({"anyOf": [item, {"type": "array", "items": item}]})
}

fn string_list() -> Value {
    one_or_list(json!({"type": "string"}))
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
            "title": {"type": "string", "description": "what the person does; may hold {{ expr }} templates"},
            "role": {"enum": names(Role::NAMES)},
            "description": {"type": "string"},
            "checklist": string_list(),
        }
    })
}

fn name() -> Value {
    json!({"type": "string", "pattern": "^[a-z][a-z0-9-]*$", "maxLength": 100})
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
        // Surrounding whitespace is trimmed before the duration is read.
        ParamType::Duration => {
            literal_or_expr(json!({"type": "string", "pattern": "^\\s*[0-9]+(ms|s|m|h|d|w)\\s*$"}))
        }
        // Matched case-insensitively; JSON Schema patterns have no flags, so spell it out.
        ParamType::Severity => {
            let words: Vec<String> = SeverityLevel::NAMES
                .iter()
                .map(|w| {
                    w.chars()
                        .map(|c| format!("[{}{}]", c.to_ascii_lowercase(), c.to_ascii_uppercase()))
                        .collect()
                })
                .collect();
            literal_or_expr(
                json!({"type": "string", "pattern": format!("^({})$", words.join("|"))}),
            )
        }
        // Items are read as plain strings, even ones with `{{`.
        ParamType::StringList => literal_or_expr(
            json!({"type": "array", "items": {"type": ["string", "number", "boolean"]}}),
        ),
    }
}

/// The schema of `kind: gamebook` files.
pub fn gamebook() -> Value {
    let action_ids = catalog::action_ids();
    let params: Vec<Value> = catalog::catalog()
        .iter()
        .map(|a| {
            let props: serde_json::Map<String, Value> = a
                .params
                .iter()
                .map(|p| {
                    let mut s = param(p.ty);
                    s["description"] = json!(p.doc);
                    (p.name.to_string(), s)
                })
                .collect();
            json!({
                "if": {"properties": {"action": {"const": a.id}}, "required": ["action"]},
                "then": {"properties": {"params": {"type": "object", "additionalProperties": false, "properties": props}}}
            })
        })
        .collect();
    json!({
        "$schema": "http://json-schema.org/draft-07/schema#",
        "$id": "https://riposte.dev/schema/gamebook.json",
        "title": "Riposte gamebook",
        "type": "object",
        "additionalProperties": false,
        "required": ["kind", "name", "version", "steps"],
        "properties": {
            "kind": {"const": "gamebook"},
            "name": name(),
            "version": {"type": ["string", "number"], "description": "semantic version, e.g. 1.0.0"},
            "description": {"type": "string"},
            "tags": string_list(),
            "mitre": mitre(),
            "inputs": {
                "type": "object",
                "additionalProperties": {
                    "type": "object",
                    "additionalProperties": false,
                    "required": ["type"],
                    "properties": {
                        "type": {"enum": names(InputType::NAMES)},
                        "default": {},
                        "values": string_list(),
                        "description": {"type": "string"},
                    }
                }
            },
            "steps": {"type": "array", "minItems": 1, "items": {"$ref": "#/definitions/step"}},
            "outputs": {"type": "object", "additionalProperties": {"type": "string"}},
        },
        "definitions": {
            "step": step_schema(params, action_ids),
        }
    })
}

fn step_schema(params: Vec<Value>, action_ids: &[&str]) -> Value {
    json!({
        "type": "object",
        "additionalProperties": false,
        "required": ["id"],
        "oneOf": [
            {"required": ["action"]}, {"required": ["task"]}, {"required": ["gamebook"]}, {"required": ["steps"]}
        ],
        "allOf": params,
        "properties": {
            "id": {"type": "string", "pattern": "^[a-z_][a-z0-9_]*$"},
            "name": {"type": "string"},
            "action": {"enum": action_ids},
            "target": expr("an expression giving one entity of the action's kind"),
            "params": {"type": "object"},
            "task": task(),
            "gamebook": {"type": "string", "description": "name of a gamebook to run"},
            "with": {"type": "object", "description": "inputs of the called gamebook"},
            "steps": {"type": "array", "minItems": 1, "items": {"$ref": "#/definitions/step"}},
            "if": expr("run the step only when this holds"),
            "needs": {"type": ["array", "string"], "items": {"type": "string"}},
            "for_each": {
                "oneOf": [
                    {"type": "string"},
                    {
                        "type": "object",
                        "additionalProperties": false,
                        "required": ["items"],
                        "properties": {
                            "items": expr("a list expression"),
                            "as": {"type": "string"},
                            "filter": expr("keep items for which this holds"),
                            "concurrency": {"type": "integer", "minimum": 1, "maximum": 64},
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
                    "role": {"enum": names(Role::NAMES)},
                    "timeout": duration("how long to wait for a decision"),
                    "on_timeout": {"enum": names(TimeoutOutcome::NAMES)},
                    "quorum": {"type": "integer", "minimum": 1, "maximum": 10},
                }
            },
            "retry": {
                "type": "object",
                "additionalProperties": false,
                "required": ["attempts"],
                "properties": {
                    "attempts": {"type": "integer", "minimum": 1, "maximum": 10},
                    "backoff": duration("delay before the first retry"),
                    "strategy": {"enum": names(Backoff::NAMES)},
                }
            },
            "timeout": duration("give up on the step after this long"),
            "on_error": {"type": "string", "description": "a sibling step to run when this one fails"},
        }
    })
}

/// The schema of `kind: sop` files.
pub fn sop() -> Value {
    let reasons: Vec<&str> = {
        let mut all: Vec<&str> = Classification::ALL
            .iter()
            .flat_map(|c| c.reasons().iter().copied())
            .collect();
        all.sort_unstable();
        all.dedup();
        all
    };
    json!({
        "$schema": "http://json-schema.org/draft-07/schema#",
        "$id": "https://riposte.dev/schema/sop.json",
        "title": "Riposte SOP",
        "type": "object",
        "required": ["kind", "type", "name"],
        "properties": {
            "kind": {"const": "sop"},
            "type": {"enum": ["classification", "response"]},
            "name": name(),
            "description": {"type": "string"},
            "tags": string_list(),
            "mitre": mitre(),
            "priority": {"type": "integer", "minimum": 0, "description": "lower runs first"},
            "rules": {
                "type": "array",
                "items": {
                    "type": "object",
                    "additionalProperties": false,
                    "required": ["name", "when", "classification", "reason", "confidence"],
                    "properties": {
                        "name": {"type": "string"},
                        "when": expr("a condition on the incident"),
                        "classification": {"enum": names(Classification::NAMES)},
                        "reason": {"enum": reasons},
                        "confidence": {"type": "integer", "minimum": 0, "maximum": 100},
                    }
                }
            },
            "mode": {"enum": names(AgentMode::NAMES)},
            "applies_to": {
                "type": "object",
                "additionalProperties": false,
                "properties": {
                    "sources": one_or_list(json!({"enum": names(IncidentSource::NAMES)})),
                    "severities": one_or_list(json!({"enum": names(SeverityLevel::NAMES)})),
                    "classifications": one_or_list(json!({"enum": names(Classification::NAMES)})),
                    "workspaces": string_list(),
                    "workspace_tags": string_list(),
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
                        "gamebook": {"type": "string"},
                        "with": {"type": "object"},
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
                        "actions": string_list(),
                        "role": {"enum": names(Role::NAMES)},
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
                            "properties": {"id": {"type": "string"}, "name": {"type": "string"}, "tag": {"type": "string"}}
                        }
                    },
                    "max_actions": {"type": "integer", "minimum": 0},
                    "limits": {"type": "object", "additionalProperties": {"type": "integer", "minimum": 0}},
                }
            }
        }
    })
}
