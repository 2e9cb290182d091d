//! Lowering of `kind: sop` documents (classification and response SOPs).

use std::ops::RangeInclusive;

use super::Lowerer;
use crate::ast::{
    AgentMode, AppliesTo, ApprovalRule, Classification, ClassificationRule, GamebookUse,
    Guardrails, IncidentSource, Protected, ResponseSop, SeverityLevel, Sop, SopBody,
};
use crate::codes::Code;
use crate::diagnostic::suggestion;
use crate::syntax::{Node, NodeValue};

/// The keys of a `type: classification` SOP.
pub(crate) const CLASSIFICATION_KEYS: &[&str] = &[
    "kind",
    "type",
    "name",
    "description",
    "tags",
    "mitre",
    "priority",
    "rules",
];
/// The keys of a `type: response` SOP.
pub(crate) const RESPONSE_KEYS: &[&str] = &[
    "kind",
    "type",
    "name",
    "description",
    "tags",
    "mitre",
    "priority",
    "mode",
    "applies_to",
    "gamebooks",
    "tasks",
    "approval",
    "guardrails",
];

/// `priority`: lower runs first.
pub(crate) const PRIORITY: RangeInclusive<i64> = 0..=1_000_000;
/// A classification rule's `confidence`: how sure it is of its verdict, 0–100.
pub(crate) const CONFIDENCE: RangeInclusive<i64> = 0..=100;
/// `guardrails.max_actions` and each of `guardrails.limits`: a number of actions.
pub(crate) const ACTION_COUNT: RangeInclusive<i64> = 0..=10_000;

pub(super) fn lower_sop(cx: &mut Lowerer, root: &Node) -> Option<Sop> {
    let ty = match root.get("type") {
        None => {
            cx.required(
                root,
                "type",
                "the SOP",
                "add `type: classification` or `type: response`",
            );
            None
        }
        // A `type` that is not text (reported) still lets the document's other keys be read.
        Some(n) => match cx.string(n, "`type`") {
            None => None,
            Some(t) => match t.value.as_str() {
                "classification" | "response" => Some(t.value),
                other => {
                    cx.error(
                        Code::InvalidValue,
                        t.span,
                        format!("unknown SOP type `{other}`"),
                        suggestion(other, ["classification", "response"]),
                    );
                    None
                }
            },
        },
    };
    let keys = if ty.as_deref() == Some("classification") {
        CLASSIFICATION_KEYS
    } else {
        RESPONSE_KEYS
    };
    cx.mapping(root, "the SOP", keys)?;
    let meta = cx.meta(root, "the SOP");
    let priority = root
        .get("priority")
        .and_then(|n| cx.integer(n, "`priority`", *PRIORITY.start(), *PRIORITY.end()))
        .unwrap_or(100);
    let body = match ty.as_deref()? {
        "classification" => {
            let rules = cx
                .required(
                    root,
                    "rules",
                    "the classification SOP",
                    "add `rules:` with at least one rule",
                )
                .map(|n| {
                    let items = cx.seq(n, "`rules`");
                    if items.is_empty() && matches!(n.value, NodeValue::Seq(_)) {
                        cx.error(
                            Code::MissingKey,
                            n.span,
                            "the classification SOP has no rules",
                            "add at least one rule under `rules:`",
                        );
                    }
                    items
                        .iter()
                        .filter_map(|r| lower_rule(cx, r))
                        .collect::<Vec<_>>()
                })
                .unwrap_or_default();
            SopBody::Classification(rules)
        }
        _ => SopBody::Response(Box::new(lower_response(cx, root))),
    };
    Some(Sop {
        meta: meta?,
        priority,
        body,
    })
}

fn lower_rule(cx: &mut Lowerer, node: &Node) -> Option<ClassificationRule> {
    let map = cx.mapping(
        node,
        "a rule",
        &["name", "when", "classification", "reason", "confidence"],
    )?;
    let name = cx
        .required(
            map,
            "name",
            "a rule",
            "add `name: what the rule recognizes`",
        )
        .and_then(|n| cx.string(n, "`name`"));
    let when = cx
        .required(
            map,
            "when",
            "a rule",
            "add `when: <condition on the incident>`",
        )
        .and_then(|n| cx.expr(n, "`when`"));
    let classification = cx
        .required(map, "classification", "a rule", "add `classification: true_positive` (or false_positive, benign_positive, undetermined)")
        .and_then(|n| cx.keyword(n, "classification", Classification::NAMES, Classification::parse));
    let reason = cx
        .required(
            map,
            "reason",
            "a rule",
            "add `reason:`; a reason is required whenever a classification is set",
        )
        .and_then(|n| cx.string(n, "`reason`"));
    if let (Some(c), Some(r)) = (&classification, &reason) {
        let allowed = c.value.reasons();
        if !allowed.contains(&r.value.as_str()) {
            cx.error(
                Code::InvalidClassification,
                r.span,
                format!("`{}` is not a reason for `{}`", r.value, c.value),
                suggestion(&r.value, allowed.iter().copied()),
            );
        }
    }
    let confidence = cx
        .required(
            map,
            "confidence",
            "a rule",
            "add `confidence: 80` (how sure the rule is of its verdict, 0–100)",
        )
        .and_then(|n| cx.integer(n, "`confidence`", *CONFIDENCE.start(), *CONFIDENCE.end()));
    Some(ClassificationRule {
        name: name?,
        when: when?,
        classification: classification?,
        reason: reason?,
        confidence: u8::try_from(confidence?).ok()?,
    })
}

fn lower_response(cx: &mut Lowerer, root: &Node) -> ResponseSop {
    let mode = root
        .get("mode")
        .and_then(|n| cx.keyword(n, "agent mode", AgentMode::NAMES, AgentMode::parse));
    let applies_to = root
        .get("applies_to")
        .map(|n| lower_applies(cx, n))
        .unwrap_or_default();
    let gamebooks_node = cx.required(
        root,
        "gamebooks",
        "the response SOP",
        "add `gamebooks:` listing the gamebooks to run, in order",
    );
    let gamebooks = gamebooks_node
        .map(|n| {
            cx.seq(n, "`gamebooks`")
                .iter()
                .filter_map(|g| lower_use(cx, g))
                .collect()
        })
        .unwrap_or_default();
    let tasks_node = root.get("tasks");
    let tasks = tasks_node
        .map(|n| {
            cx.seq(n, "`tasks`")
                .iter()
                .filter_map(|t| cx.task(t, "a task"))
                .collect()
        })
        .unwrap_or_default();
    // `gamebooks: []` is for a SOP that only opens tasks; without tasks it would do nothing.
    let empty =
        |n: Option<&Node>| n.is_none_or(|n| matches!(&n.value, NodeValue::Seq(s) if s.is_empty()));
    if let Some(g) = gamebooks_node.filter(|g| empty(Some(g)) && empty(tasks_node)) {
        cx.error(
            Code::MissingKey,
            g.span,
            "the response SOP runs no gamebook and opens no task",
            "list the gamebooks to run under `gamebooks:` (or the tasks to open under `tasks:`)",
        );
    }
    let approvals = root
        .get("approval")
        .map(|n| {
            cx.seq(n, "`approval`")
                .iter()
                .filter_map(|a| lower_approval_rule(cx, a))
                .collect()
        })
        .unwrap_or_default();
    let guardrails = root
        .get("guardrails")
        .map(|n| lower_guardrails(cx, n))
        .unwrap_or_default();
    ResponseSop {
        mode,
        applies_to,
        gamebooks,
        tasks,
        approvals,
        guardrails,
    }
}

fn lower_applies(cx: &mut Lowerer, node: &Node) -> AppliesTo {
    let keys = [
        "sources",
        "severities",
        "classifications",
        "workspaces",
        "workspace_tags",
        "when",
    ];
    let Some(map) = cx.mapping(node, "`applies_to`", &keys) else {
        return AppliesTo::default();
    };
    // An empty list would match no incident, yet reads as no condition at all.
    for (key, what) in [
        ("sources", "source"),
        ("severities", "severity"),
        ("classifications", "classification"),
        ("workspaces", "workspace"),
        ("workspace_tags", "workspace tag"),
    ] {
        if let Some(n) = map
            .get(key)
            .filter(|n| n.as_seq().is_some_and(<[_]>::is_empty))
        {
            cx.error(
                Code::InvalidValue,
                n.span,
                format!("`{key}: []` matches no incident"),
                format!("list the values meant, or leave `{key}` out to match any {what}"),
            );
        }
    }
    AppliesTo {
        sources: map
            .get("sources")
            .map(|n| cx.keyword_list(n, "source", IncidentSource::NAMES, IncidentSource::parse))
            .unwrap_or_default(),
        severities: map
            .get("severities")
            .map(|n| cx.keyword_list(n, "severity", SeverityLevel::NAMES, SeverityLevel::parse))
            .unwrap_or_default(),
        classifications: map
            .get("classifications")
            .map(|n| {
                cx.keyword_list(
                    n,
                    "classification",
                    Classification::NAMES,
                    Classification::parse,
                )
            })
            .unwrap_or_default(),
        workspaces: map
            .get("workspaces")
            .map(|n| cx.string_list(n, "`workspaces`"))
            .unwrap_or_default(),
        workspace_tags: map
            .get("workspace_tags")
            .map(|n| cx.string_list(n, "`workspace_tags`"))
            .unwrap_or_default(),
        when: map.get("when").and_then(|n| cx.expr(n, "`when`")),
    }
}

fn lower_use(cx: &mut Lowerer, node: &Node) -> Option<GamebookUse> {
    let map = cx.mapping(node, "a gamebook entry", &["gamebook", "with", "if"])?;
    let gamebook = cx
        .required(
            map,
            "gamebook",
            "a gamebook entry",
            "add `gamebook: <name>`",
        )
        .and_then(|n| cx.string(n, "`gamebook`"));
    let with = map
        .get("with")
        .map(|w| cx.with_values(w, "`with`", "input"))
        .unwrap_or(Some(Vec::new()));
    let condition = map.get("if").and_then(|n| cx.expr(n, "`if`"));
    Some(GamebookUse {
        gamebook: gamebook?,
        with,
        condition,
        span: node.span,
    })
}

fn lower_approval_rule(cx: &mut Lowerer, node: &Node) -> Option<ApprovalRule> {
    let map = cx.mapping(node, "an approval rule", &["actions", "role", "approve_if"])?;
    let actions = cx
        .required(
            map,
            "actions",
            "an approval rule",
            "add `actions: [device.isolate]` (ids or patterns such as `user.*`)",
        )
        .map(|n| {
            if n.as_seq().is_some_and(<[_]>::is_empty) {
                cx.error(
                    Code::InvalidValue,
                    n.span,
                    "`actions: []` covers no action",
                    "list action ids or patterns, e.g. `[device.isolate, user.*]`",
                );
            }
            cx.string_list(n, "`actions`")
        })
        .unwrap_or_default();
    let role = cx
        .required(
            map,
            "role",
            "an approval rule",
            "add `role: workspace_owner` (who approves)",
        )
        .and_then(|n| cx.role(n));
    let approve_if = map
        .get("approve_if")
        .and_then(|n| cx.expr(n, "`approve_if`"));
    Some(ApprovalRule {
        actions,
        role,
        approve_if,
        span: node.span,
    })
}

fn lower_guardrails(cx: &mut Lowerer, node: &Node) -> Guardrails {
    let Some(map) = cx.mapping(
        node,
        "`guardrails`",
        &["protected", "max_actions", "limits"],
    ) else {
        return Guardrails::default();
    };
    let mut protected = Vec::new();
    if let Some(list) = map.get("protected") {
        for entry in cx.seq(list, "`protected`") {
            let Some(m) = cx.mapping(entry, "a protected entity", &["id", "name", "tag"]) else {
                continue;
            };
            let entries = m.as_map().unwrap_or(&[]);
            // A key written twice is a duplicate key (reported by `mapping`), not a second rule.
            let mut seen = std::collections::HashSet::new();
            let distinct = entries
                .iter()
                .filter(|(k, _)| k.as_str().is_none_or(|k| seen.insert(k)))
                .count();
            if distinct != 1 {
                cx.error(
                    Code::ConflictingKeys,
                    entry.span,
                    "a protected entity names exactly one of `id`, `name`, `tag`",
                    "write one entry per rule, e.g. `- name: \"dc-*\"`",
                );
                continue;
            }
            let (k, v) = &entries[0];
            let Some(value) = cx.string(v, "a protected entity") else {
                continue;
            };
            // A blank rule protects nothing: most likely a value left out.
            if value.value.trim().is_empty() {
                let key = k.as_str().unwrap_or("id");
                cx.error(
                    Code::InvalidValue,
                    v.span,
                    format!("a protected entity's `{key}` is blank, so it protects nothing"),
                    "write the entity it protects, e.g. `- name: \"dc-*\"` or `- tag: crown-jewel`, or remove the entry",
                );
                continue;
            }
            match k.as_str() {
                Some("id") => protected.push(Protected::Id(value.value)),
                Some("name") => protected.push(Protected::Name(value.value)),
                Some("tag") => protected.push(Protected::Tag(value.value)),
                _ => {}
            }
        }
    }
    let max_actions = map
        .get("max_actions")
        .and_then(|n| {
            cx.integer(
                n,
                "`max_actions`",
                *ACTION_COUNT.start(),
                *ACTION_COUNT.end(),
            )
        })
        .map(|n| n as u32);
    let mut limits = Vec::new();
    if let Some(l) = map.get("limits") {
        for (k, v) in cx
            .with_values(l, "`limits`", "action")
            .into_iter()
            .flatten()
        {
            if let Some(n) = cx.integer(&v, "a limit", *ACTION_COUNT.start(), *ACTION_COUNT.end()) {
                limits.push((k, n as u32));
            }
        }
    }
    Guardrails {
        protected,
        max_actions,
        limits,
    }
}
