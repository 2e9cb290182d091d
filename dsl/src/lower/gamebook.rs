//! Lowering of `kind: gamebook` documents.

use std::ops::RangeInclusive;

use super::{identifier_help, is_identifier, nearest_identifier, Lowerer};
use crate::ast::{
    Approval, Backoff, ErrorStrategy, ForEach, Gamebook, InputDecl, InputType, Retry, Spanned,
    Step, StepKind, TimeoutOutcome,
};
use crate::codes::Code;
use crate::diagnostic::clip;
use crate::source::Span;
use crate::syntax::{Node, NodeValue};

pub(crate) const GAMEBOOK_KEYS: &[&str] = &[
    "kind",
    "name",
    "version",
    "description",
    "tags",
    "mitre",
    "inputs",
    "steps",
    "outputs",
];
pub(crate) const STEP_KEYS: &[&str] = &[
    "id", "name", "action", "target", "params", "task", "gamebook", "with", "steps", "if", "needs",
    "for_each", "approval", "retry", "timeout", "on_error",
];
/// Step kinds: exactly one of these keys.
pub(crate) const KIND_KEYS: &[&str] = &["action", "task", "gamebook", "steps"];
/// Keys that belong to one step kind only: (key, the kind key it needs, help when misplaced).
pub(crate) const KIND_ONLY_KEYS: &[(&str, &str, &str)] = &[
    ("target", "action", "remove it or make this an action step"),
    ("params", "action", "remove it or make this an action step"),
    (
        "retry",
        "action",
        "only actions are retried: put `retry:` on the action steps this step runs",
    ),
    (
        "with",
        "gamebook",
        "remove it or call a gamebook with `gamebook:`",
    ),
];
/// Nesting of `steps:` groups; deeper structures are not response procedures.
const MAX_GROUP_DEPTH: usize = 8;
/// `for_each.concurrency`: items in flight at once.
pub(crate) const CONCURRENCY: RangeInclusive<i64> = 1..=64;
/// `approval.quorum`: approvals needed.
pub(crate) const QUORUM: RangeInclusive<i64> = 1..=10;
/// `retry.attempts`: total tries.
pub const ATTEMPTS: RangeInclusive<i64> = 1..=10;

pub(super) fn lower_gamebook(cx: &mut Lowerer, root: &Node) -> Option<Gamebook> {
    cx.mapping(root, "the gamebook", GAMEBOOK_KEYS)?;
    let meta = cx.meta(root, "the gamebook");
    let version = cx
        .required(
            root,
            "version",
            "the gamebook",
            "add `version: 1.0.0`; the version is part of every action's idempotency key",
        )
        .and_then(|v| cx.string(v, "`version`"));
    if let Some(v) = &version {
        let parts: Vec<&str> = v.value.split('.').collect();
        if parts.len() > 3
            || parts
                .iter()
                .any(|p| p.is_empty() || !p.chars().all(|c| c.is_ascii_digit()))
        {
            cx.error(
                Code::InvalidValue,
                v.span,
                format!("version `{}` is not a version number", v.value),
                "write a semantic version such as `1.0.0`",
            );
        }
    }
    let (inputs, broken_inputs) = root
        .get("inputs")
        .map(|n| lower_inputs(cx, n))
        .unwrap_or_default();
    let steps_node = cx.required(
        root,
        "steps",
        "the gamebook",
        "add `steps:` with at least one step",
    );
    let mut steps = steps_node
        .map(|n| lower_steps(cx, n, 0))
        .unwrap_or_default();
    step_ids(cx, &mut steps);
    if let Some(n) = steps_node {
        if steps.is_empty() && n.as_seq().is_some_and(|s| s.is_empty()) {
            cx.error(
                Code::InvalidValue,
                n.span,
                "the gamebook has no steps",
                "add at least one step",
            );
        }
    }
    let outputs = root
        .get("outputs")
        .map(|n| lower_outputs(cx, n))
        .unwrap_or_default();
    Some(Gamebook {
        meta: meta?,
        version: version?,
        inputs,
        broken_inputs,
        steps,
        outputs,
    })
}

/// The declared inputs, and the names of those whose declaration has an error.
fn lower_inputs(cx: &mut Lowerer, node: &Node) -> (Vec<InputDecl>, Vec<String>) {
    let Some(entries) = node.as_map() else {
        cx.error(
            Code::WrongYamlType,
            node.span,
            format!(
                "expected `inputs` to be a mapping, found {}",
                node.type_name()
            ),
            "declare each input as `name: {type: string, default: …}`",
        );
        return (Vec::new(), Vec::new());
    };
    let mut out: Vec<InputDecl> = Vec::new();
    let mut broken = Vec::new();
    for (k, v) in entries {
        let Some(name) = cx.string(k, "an input name") else {
            continue;
        };
        if !is_identifier(&name.value) {
            cx.error(
                Code::InvalidValue,
                name.span,
                format!(
                    "input name `{}` is not an identifier",
                    clip(&name.value, 80)
                ),
                identifier_help(
                    &name.value,
                    Some("inputs are read as `inputs.<name>`"),
                    "input",
                ),
            );
        }
        if let Some(first) = out.iter().find(|i| i.name.value == name.value) {
            let first = first.name.span;
            cx.duplicate(
                name.span,
                first,
                format!("duplicate input `{}`", name.value),
                "remove one of the two declarations",
                "first declared here",
            );
            continue;
        }
        let what = format!("input `{}`", name.value);
        let Some(map) = cx.mapping(v, &what, &["type", "default", "values", "description"]) else {
            broken.push(name.value);
            continue;
        };
        let ty = cx
            .required(
                map,
                "type",
                &what,
                "add `type: string` (or number, bool, duration, severity, ip, list<string>)",
            )
            .and_then(|t| cx.keyword(t, "input type", InputType::NAMES, InputType::parse));
        let values = map.get("values").map(|n| {
            cx.string_list(n, "`values`")
                .into_iter()
                .map(|s| s.value)
                .collect::<Vec<_>>()
        });
        let description = map
            .get("description")
            .and_then(|d| cx.string(d, "`description`"))
            .map(|s| s.value);
        let Some(ty) = ty else {
            broken.push(name.value);
            continue;
        };
        // Only a `string` input's values are checked: on another type the list would
        // restrict nothing, whatever callers pass.
        if let (Some(_), Some(node)) = (&values, map.get("values")) {
            if ty.value != InputType::String {
                cx.error(
                    Code::InvalidValue,
                    key_span(v, "values", node),
                    format!(
                        "`values` restricts only `string` inputs, and input `{}` is `{}`",
                        name.value,
                        ty.value.as_str()
                    ),
                    "remove `values`, or declare the input `type: string`",
                );
            }
        }
        out.push(InputDecl {
            name,
            ty,
            default: map.get("default").cloned(),
            values,
            description,
        });
    }
    // A name declared twice is one input: the first good declaration's, else one broken.
    broken.retain(|b| !out.iter().any(|i| i.name.value == *b));
    broken.sort();
    broken.dedup();
    (out, broken)
}

fn lower_outputs(cx: &mut Lowerer, node: &Node) -> Vec<(Spanned<String>, crate::ast::ExprText)> {
    let Some(entries) = node.as_map() else {
        cx.error(
            Code::WrongYamlType,
            node.span,
            format!(
                "expected `outputs` to be a mapping, found {}",
                node.type_name()
            ),
            "write one `name: expression` line per output",
        );
        return Vec::new();
    };
    let mut out: Vec<(Spanned<String>, crate::ast::ExprText)> = Vec::new();
    for (k, v) in entries {
        let Some(name) = cx.string(k, "an output name") else {
            continue;
        };
        if !is_identifier(&name.value) {
            cx.error(
                Code::InvalidValue,
                name.span,
                format!(
                    "output name `{}` is not an identifier",
                    clip(&name.value, 80)
                ),
                identifier_help(&name.value, None, "output"),
            );
        }
        if let Some((first, _)) = out.iter().find(|(f, _)| f.value == name.value) {
            let first = first.span;
            cx.duplicate(
                name.span,
                first,
                format!("duplicate output `{}`", name.value),
                "remove one of the two",
                "first defined here",
            );
            continue;
        }
        if let Some(e) = cx.expr(v, "an output") {
            out.push((name, e));
        }
    }
    out
}

fn lower_steps(cx: &mut Lowerer, node: &Node, depth: usize) -> Vec<Step> {
    if depth > MAX_GROUP_DEPTH {
        cx.error(
            Code::InvalidValue,
            node.span,
            format!("step groups are nested more than {MAX_GROUP_DEPTH} deep"),
            "flatten the groups or move part of them into a sub-gamebook",
        );
        return Vec::new();
    }
    cx.seq(node, "`steps`")
        .iter()
        .filter_map(|s| lower_step(cx, s, depth))
        .collect()
}

/// An unknown key of a step that is a param of its action was meant under `params:` (written
/// level with it, or `params:` left empty above it): the help says so, rather than listing
/// the keys of a step.
fn param_outside_params(cx: &mut Lowerer, map: &Node, reported: usize) {
    let Some(action) = map
        .get("action")
        .and_then(Node::as_str)
        .and_then(crate::catalog::lookup)
    else {
        return;
    };
    let given = map.get("params").and_then(Node::as_map).unwrap_or(&[]);
    // The step's keys that are params of its action, by where they are written: one pass over
    // the diagnostics whatever the number of keys.
    let params: std::collections::HashMap<Span, &str> = map
        .as_map()
        .into_iter()
        .flatten()
        .filter_map(|(key, _)| key.as_str().map(|k| (key.span, k)))
        .filter(|(_, k)| !STEP_KEYS.contains(k) && action.param(k).is_some())
        .collect();
    if params.is_empty() {
        return;
    }
    for d in &mut cx.diags[reported..] {
        let Some(k) = params.get(&d.span).filter(|_| d.code == Code::UnknownKey) else {
            continue;
        };
        d.help = Some(if given.iter().any(|(p, _)| p.as_str() == Some(k)) {
            format!(
                "`{k}` is a param of `{}`, and `params:` sets it already: remove this one",
                action.id
            )
        } else {
            format!(
                "`{k}` is a param of `{}`: indent it under `params:`",
                action.id
            )
        });
    }
}

/// Reports each step id that is no identifier (RP0106), and checks the rest of the gamebook as
/// if it had been fixed as the help suggests: the step takes the suggested id, so that what
/// names it by that id (`needs`, `on_error`, `steps.<id>`) is no second error, and the
/// `needs` and `on_error` of its list that name it as written are renamed with it and shown
/// in the one diagnostic, as places to fix too. A suggestion another step already has, or an
/// id written on several steps (a duplicate, reported later), is left as written.
fn step_ids(cx: &mut Lowerer, steps: &mut [Step]) {
    fn count<'s>(steps: &'s [Step], ids: &mut std::collections::HashMap<&'s str, usize>) {
        for s in steps {
            *ids.entry(s.id.value.as_str()).or_default() += 1;
            if let StepKind::Group(inner) = &s.kind {
                count(inner, ids);
            }
        }
    }
    let mut ids = std::collections::HashMap::new();
    count(steps, &mut ids);
    let mut taken: std::collections::HashSet<String> =
        ids.keys().map(|id| id.to_string()).collect();
    let once: std::collections::HashSet<String> = ids
        .iter()
        .filter(|(_, n)| **n == 1)
        .map(|(id, _)| id.to_string())
        .collect();
    fix_ids(cx, steps, &mut taken, &once);
}

fn fix_ids(
    cx: &mut Lowerer,
    steps: &mut [Step],
    taken: &mut std::collections::HashSet<String>,
    once: &std::collections::HashSet<String>,
) {
    for i in 0..steps.len() {
        let written = steps[i].id.clone();
        if is_identifier(&written.value) {
            continue;
        }
        let mut d = crate::diagnostic::Diagnostic::new(
            Code::InvalidValue,
            cx.file,
            written.span,
            format!(
                "step id `{}` is not an identifier",
                clip(&written.value, 80)
            ),
        )
        .with_help(identifier_help(
            &written.value,
            Some("steps are read as `steps.<id>`"),
            "step",
        ));
        let fixed = nearest_identifier(&written.value, "step")
            .filter(|near| once.contains(&written.value) && !taken.contains(near));
        if let Some(fixed) = fixed {
            taken.insert(fixed.clone());
            steps[i].id.value = fixed.clone();
            for s in steps.iter_mut() {
                let named = s
                    .needs
                    .iter_mut()
                    .chain(s.on_error.as_mut())
                    .filter(|r| r.value == written.value);
                for r in named {
                    r.value = fixed.clone();
                    d = d.with_related(cx.file, r.span, format!("named here too: write `{fixed}`"));
                }
            }
        }
        cx.diags.push(d);
    }
    for s in steps.iter_mut() {
        if let StepKind::Group(inner) = &mut s.kind {
            fix_ids(cx, inner, taken, once);
        }
    }
}

fn lower_step(cx: &mut Lowerer, node: &Node, depth: usize) -> Option<Step> {
    let reported = cx.diags.len();
    let map = cx.mapping(node, "a step", STEP_KEYS)?;
    param_outside_params(cx, map, reported);
    let id = cx
        .required(
            map,
            "id",
            "a step",
            "add `id: my_step` (lowercase letters, digits, `_`)",
        )
        .and_then(|n| cx.string(n, "`id`"));
    // Distinct keys, the first of each as lookups take it: a repeated `action:` is a
    // duplicate key (reported by `mapping`), not a second kind.
    let mut kind_keys: Vec<&(Node, Node)> = Vec::new();
    for entry in map.as_map().unwrap_or(&[]) {
        let Some(k) = entry.0.as_str().filter(|k| KIND_KEYS.contains(k)) else {
            continue;
        };
        if !kind_keys.iter().any(|(seen, _)| seen.as_str() == Some(k)) {
            kind_keys.push(entry);
        }
    }
    let kind = match kind_keys.as_slice() {
        [] => {
            cx.error(
                Code::MissingKey,
                id.as_ref().map_or(node.span, |i| i.span),
                "the step does not say what it does",
                "add one of `action:`, `task:`, `gamebook:` or `steps:`",
            );
            None
        }
        [(k, v)] => lower_kind(cx, map, k.as_str().unwrap_or_default(), v, depth),
        [_, (k2, _), ..] => {
            let names: Vec<&str> = kind_keys.iter().filter_map(|(k, _)| k.as_str()).collect();
            cx.error(
                Code::ConflictingKeys,
                k2.span,
                format!("a step has exactly one of `action`, `task`, `gamebook`, `steps`; this one has {}", names.join(", ")),
                "split it into several steps joined with `needs:`",
            );
            None
        }
    };
    for &(key, kind, help) in KIND_ONLY_KEYS {
        if let (Some(n), None) = (map.get(key), map.get(kind)) {
            cx.error(
                Code::UnknownKey,
                key_span(map, key, n),
                format!("`{key}` is only valid on `{kind}` steps"),
                help,
            );
        }
    }
    let condition = map.get("if").and_then(|n| cx.expr(n, "`if`"));
    let needs = map
        .get("needs")
        .map(|n| cx.string_list(n, "`needs`"))
        .unwrap_or_default();
    let for_each = map.get("for_each").and_then(|n| lower_for_each(cx, n));
    // An item name that cannot be one (reported): what the step does reads the item by it,
    // and is left unchecked, as a step whose kind cannot be read is. A group keeps its steps,
    // each unchecked, so that what names them (`needs`, `steps.<id>`) still finds them.
    let kind = match kind {
        Some(k)
            if for_each
                .as_ref()
                .is_none_or(|f| names_an_item(&f.var.value)) =>
        {
            Some(k)
        }
        Some(StepKind::Group(inner)) => {
            Some(StepKind::Group(inner.into_iter().map(unchecked).collect()))
        }
        _ => None,
    };
    let approval = map.get("approval").and_then(|n| lower_approval(cx, n));
    let retry = map.get("retry").and_then(|n| lower_retry(cx, n));
    let timeout = map.get("timeout").and_then(|n| cx.duration(n, "`timeout`"));
    let on_error = map.get("on_error").and_then(|n| cx.string(n, "`on_error`"));
    let name = map
        .get("name")
        .and_then(|n| cx.string(n, "`name`"))
        .map(|s| s.value);
    Some(Step {
        id: id?,
        name,
        kind: kind.unwrap_or(StepKind::Invalid),
        condition,
        needs,
        for_each,
        fans_out: map.get("for_each").is_some(),
        approval,
        retry,
        timeout,
        on_error,
        span: node.span,
    })
}

fn key_span(map: &Node, key: &str, fallback: &Node) -> Span {
    map.as_map()
        .and_then(|m| m.iter().find(|(k, _)| k.as_str() == Some(key)))
        .map_or(fallback.span, |(k, _)| k.span)
}

fn lower_kind(
    cx: &mut Lowerer,
    map: &Node,
    key: &str,
    value: &Node,
    depth: usize,
) -> Option<StepKind> {
    match key {
        "action" => {
            // Every key is read before giving up on a bad one, so all their errors show.
            let action = cx.string(value, "`action`");
            let target = map.get("target").and_then(|n| cx.expr(n, "`target`"));
            let (params, params_span) = match map.get("params") {
                Some(p) => (cx.with_values(p, "`params`", "param"), p.span),
                None => (Some(Vec::new()), value.span),
            };
            Some(StepKind::Action {
                action: action?,
                target,
                params,
                params_span,
            })
        }
        "task" => cx.task(value, "`task`").map(StepKind::Task),
        "gamebook" => {
            let gamebook = cx.string(value, "`gamebook`");
            let with = map
                .get("with")
                .map(|w| cx.with_values(w, "`with`", "input"))
                .unwrap_or(Some(Vec::new()));
            Some(StepKind::Call {
                gamebook: gamebook?,
                with,
            })
        }
        _ => {
            let steps = lower_steps(cx, value, depth + 1);
            // A list whose steps all had errors (reported already) is not empty.
            let written =
                matches!(&value.value, crate::syntax::NodeValue::Seq(items) if !items.is_empty());
            if steps.is_empty() && written {
                return None;
            }
            if steps.is_empty() {
                cx.error(
                    Code::InvalidValue,
                    value.span,
                    "the step group is empty",
                    "add steps to the group or remove it",
                );
                return None;
            }
            Some(StepKind::Group(steps))
        }
    }
}

/// A step inside a group whose item name cannot be one: its place and id kept, what it does
/// (which may read the item) left unchecked, as a step whose kind cannot be read.
fn unchecked(mut step: Step) -> Step {
    step.condition = None;
    step.for_each = None;
    step.kind = match step.kind {
        StepKind::Group(inner) => StepKind::Group(inner.into_iter().map(unchecked).collect()),
        _ => StepKind::Invalid,
    };
    step
}

/// Whether `name` can name a for-each item: an identifier that is no keyword of the
/// expression language nor one of its roots.
fn names_an_item(name: &str) -> bool {
    is_identifier(name) && !super::is_reserved(name)
}

fn lower_for_each(cx: &mut Lowerer, node: &Node) -> Option<ForEach> {
    if let NodeValue::Str(_) = node.value {
        let items = cx.expr(node, "`for_each`")?;
        return Some(ForEach {
            items,
            var: Spanned::new("item".into(), node.span),
            filter: None,
            concurrency: 4,
            on_error: ErrorStrategy::FailFast,
            span: node.span,
        });
    }
    if let NodeValue::Seq(_) = node.value {
        cx.error(
            Code::WrongYamlType,
            node.span,
            "expected `for_each` to be an expression or a mapping, found a YAML list",
            "a list of items is an expression: quote it, as in `for_each: \"['a', 'b']\"`",
        );
        return None;
    }
    let map = cx.mapping(
        node,
        "`for_each`",
        &["items", "as", "filter", "concurrency", "on_error"],
    )?;
    let items = cx
        .required(
            map,
            "items",
            "`for_each`",
            "add `items: incident.devices` (the list to fan out over)",
        )
        .and_then(|n| cx.expr(n, "`items`"));
    let var = match map.get("as") {
        // Not a string (reported): the fan-out is checked with the default name.
        Some(n) => match cx.string(n, "`as`") {
            None => Spanned::new("item".into(), n.span),
            Some(v) if !names_an_item(&v.value) => {
                cx.error(
                    Code::InvalidValue,
                    v.span,
                    format!("`{}` cannot name the for-each item", v.value),
                    "use an identifier that is not a keyword of the expression language, e.g. `device`",
                );
                // What reads the item by that name is left unchecked (the step's kind too:
                // see `lower_step`), so the name is one error, not one more per use.
                v
            }
            Some(v) => v,
        },
        None => Spanned::new("item".into(), node.span),
    };
    let filter = map
        .get("filter")
        .filter(|_| names_an_item(&var.value))
        .and_then(|n| cx.expr(n, "`filter`"));
    let concurrency = map
        .get("concurrency")
        .and_then(|n| cx.integer(n, "`concurrency`", *CONCURRENCY.start(), *CONCURRENCY.end()))
        .unwrap_or(4) as u32;
    let on_error = map
        .get("on_error")
        .and_then(|n| {
            cx.keyword(
                n,
                "error strategy",
                ErrorStrategy::NAMES,
                ErrorStrategy::parse,
            )
        })
        .map_or(ErrorStrategy::FailFast, |s| s.value);
    Some(ForEach {
        items: items?,
        var,
        filter,
        concurrency,
        on_error,
        span: node.span,
    })
}

fn lower_approval(cx: &mut Lowerer, node: &Node) -> Option<Approval> {
    let map = cx.mapping(
        node,
        "`approval`",
        &["role", "timeout", "on_timeout", "quorum"],
    )?;
    let role = cx
        .required(
            map,
            "role",
            "`approval`",
            "add `role: workspace_owner` (who approves)",
        )
        .and_then(|n| cx.role(n));
    let timeout = map.get("timeout").and_then(|n| cx.duration(n, "`timeout`"));
    let on_timeout = map.get("on_timeout").and_then(|n| {
        cx.keyword(
            n,
            "timeout outcome",
            TimeoutOutcome::NAMES,
            TimeoutOutcome::parse,
        )
    });
    let quorum = map
        .get("quorum")
        .and_then(|n| cx.integer(n, "`quorum`", *QUORUM.start(), *QUORUM.end()))
        .unwrap_or(1) as u32;
    let absent = ["timeout", "on_timeout"]
        .into_iter()
        .filter(|k| map.get(k).is_none())
        .collect();
    Some(Approval {
        role,
        timeout,
        on_timeout,
        quorum,
        span: node.span,
        absent,
    })
}

fn lower_retry(cx: &mut Lowerer, node: &Node) -> Option<Retry> {
    let map = cx.mapping(node, "`retry`", &["attempts", "backoff", "strategy"])?;
    let attempts = cx
        .required(
            map,
            "attempts",
            "`retry`",
            "add `attempts: 3` (total tries, 1 to 10)",
        )
        .and_then(|n| cx.integer(n, "`attempts`", *ATTEMPTS.start(), *ATTEMPTS.end()));
    let backoff_ms = map
        .get("backoff")
        .and_then(|n| cx.duration(n, "`backoff`"))
        .map_or(30_000, |d| d.value);
    let strategy = map
        .get("strategy")
        .and_then(|n| cx.keyword(n, "backoff strategy", Backoff::NAMES, Backoff::parse))
        .map_or(Backoff::Exponential, |s| s.value);
    Some(Retry {
        attempts: attempts? as u32,
        backoff_ms,
        strategy,
    })
}
