//! AST → checked program: the library-wide pass. Resolves gamebook, step and input names,
//! type-checks every expression in its scope, binds actions to the catalog, checks params,
//! approvals and policy, and builds the execution graphs.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::Arc;

use crate::ast::{self, AgentMode, Document, ExprText, InputType, Spanned};
use crate::catalog::{self, ActionSpec, Impact, ParamType, Target};
use crate::checked::{self as c, ParamValue};
use crate::codes::Code;
use crate::diagnostic::{did_you_mean, suggestion, Diagnostic};
use crate::duration::parse_duration;
use crate::expr::{self, Expr, ExprSource, Scope};
use crate::graph;
use crate::model;
use crate::source::{FileId, SourceMap, Span};
use crate::syntax::{self, Node, NodeValue};
use crate::types::{Field, RecordType, Type, GROUP_OUTPUT};
use crate::value::Value;

/// The result of compiling a set of files.
#[derive(Debug)]
pub struct Compilation {
    pub library: c::Library,
    /// Sorted by file, then position.
    pub diagnostics: Vec<Diagnostic>,
}

impl Compilation {
    pub fn has_errors(&self) -> bool {
        self.diagnostics.iter().any(Diagnostic::is_error)
    }
}

/// Compiles every file of `sources` as one library. `prior` are diagnostics found while
/// reading the files (e.g. not UTF-8); files with a prior error are not parsed.
pub fn compile(
    sources: &SourceMap,
    limits: &syntax::Limits,
    prior: Vec<Diagnostic>,
) -> Compilation {
    crate::diagnostic::with_suggestion_budget(crate::diagnostic::COMPILE_SUGGESTION_WORK, || {
        compile_with(sources, limits, prior, expr::Regexes::new())
    })
}

/// [`compile`] with the library's `matches` patterns bounded by `regexes`' budget.
pub(crate) fn compile_with(
    sources: &SourceMap,
    limits: &syntax::Limits,
    prior: Vec<Diagnostic>,
    regexes: expr::Regexes,
) -> Compilation {
    let skip: HashSet<FileId> = prior
        .iter()
        .filter(|d| d.is_error())
        .map(|d| d.file)
        .collect();
    let mut diags = prior;
    let mut docs = Vec::new();
    let mut unread = Vec::new();
    for (id, file) in sources.iter() {
        let doc = if skip.contains(&id) {
            None
        } else {
            match syntax::load(id, file, limits) {
                Ok(node) => crate::lower::lower(id, file, &node, &mut diags),
                Err(d) => {
                    diags.push(d);
                    None
                }
            }
        };
        match doc {
            Some(doc) => docs.push(doc),
            None => unread.push(file.name.clone()),
        }
    }
    let library = Compiler::new(&mut diags, sources, unread, regexes).library(docs);
    diags.sort_by_key(|d| (d.file, d.span.start, d.code));
    diags.dedup();
    Compilation {
        library,
        diagnostics: diags,
    }
}

struct Compiler<'d> {
    diags: &'d mut Vec<Diagnostic>,
    sources: &'d SourceMap,
    /// Files that yielded no document (errors were reported there).
    unread: Vec<String>,
    /// The library's `matches` patterns, each compiled once, bounded together.
    regexes: expr::Regexes,
}

/// What a call site needs to know about a gamebook before its body is checked.
struct Interface<'a> {
    ast: &'a ast::Gamebook,
    inputs: Vec<c::Input>,
    inputs_type: Arc<RecordType>,
}

impl<'d> Compiler<'d> {
    fn new(
        diags: &'d mut Vec<Diagnostic>,
        sources: &'d SourceMap,
        unread: Vec<String>,
        regexes: expr::Regexes,
    ) -> Self {
        Compiler {
            diags,
            sources,
            unread,
            regexes,
        }
    }

    fn push(&mut self, d: Diagnostic) {
        self.diags.push(d);
    }

    fn error(
        &mut self,
        code: Code,
        file: FileId,
        span: Span,
        msg: impl Into<String>,
        help: impl Into<String>,
    ) {
        self.diags
            .push(Diagnostic::new(code, file, span, msg).with_help(help));
    }

    /// RP0412 when an SOP's condition `x` (written as `text`) can hold for no incident.
    fn never_holds(&mut self, file: FileId, text: &ExprText, x: &Expr, what: &str, so: &str) {
        if x.never_holds() {
            self.error(
                Code::SopConditionNeverHolds,
                file,
                text.span,
                format!("{what} never holds, whatever the incident: {so}"),
                "no incident can make it true (a constant, a severity above `high` or below \
                 `informational`, a count below zero, one value equal to two constants): fix \
                 the condition, or remove what it guards",
            );
        }
    }

    fn library(&mut self, docs: Vec<Document>) -> c::Library {
        let mut gamebooks: Vec<ast::Gamebook> = Vec::new();
        let mut sops: Vec<ast::Sop> = Vec::new();
        for doc in docs {
            match doc {
                Document::Gamebook(g) => {
                    if self.unique_name(&g.meta, gamebooks.iter().map(|g| &g.meta), "gamebook") {
                        gamebooks.push(*g);
                    }
                }
                Document::Sop(s) => {
                    if self.unique_name(&s.meta, sops.iter().map(|s| &s.meta), "SOP") {
                        sops.push(*s);
                    }
                }
            }
        }
        gamebooks.sort_by(|a, b| a.meta.name.value.cmp(&b.meta.name.value));
        sops.sort_by(|a, b| {
            (a.priority, &a.meta.name.value).cmp(&(b.priority, &b.meta.name.value))
        });

        let interfaces: BTreeMap<String, Interface> = gamebooks
            .iter()
            .map(|g| (g.meta.name.value.clone(), self.interface(g)))
            .collect();
        let order = self.call_order(&gamebooks, &interfaces);
        let mut compiled: BTreeMap<String, c::Gamebook> = BTreeMap::new();
        for name in order {
            let Some(iface) = interfaces.get(&name) else {
                continue;
            };
            let gb = GamebookCompiler::new(self, iface, &interfaces, &compiled).run();
            compiled.insert(name, gb);
        }
        for gb in compiled.values() {
            self.timeout_approves_high_impact(gb, &gb.steps, &compiled);
        }
        let sops = sops
            .iter()
            .filter_map(|s| self.sop(s, &interfaces, &compiled))
            .collect();
        c::Library {
            gamebooks: compiled.into_values().collect(),
            sops,
        }
    }

    fn unique_name<'a>(
        &mut self,
        meta: &ast::Meta,
        existing: impl Iterator<Item = &'a ast::Meta>,
        what: &str,
    ) -> bool {
        for other in existing {
            if other.name.value == meta.name.value {
                let d = Diagnostic::new(
                    Code::DuplicateName,
                    meta.file,
                    meta.name.span,
                    format!("a {what} named `{}` is already defined", meta.name.value),
                )
                .with_help(format!(
                    "{what} names are unique in a library; rename one of them"
                ))
                .with_related(other.file, other.name.span, "first defined here");
                self.push(d);
                return false;
            }
        }
        true
    }

    fn interface<'a>(&mut self, g: &'a ast::Gamebook) -> Interface<'a> {
        let file = g.meta.file;
        let mut inputs = Vec::new();
        for decl in &g.inputs {
            let ty = input_type(decl.ty.value);
            let default = decl.default.as_ref().and_then(|node| {
                match literal(node, &ty, &self.sources.get(file).text) {
                    Ok(v) => Some(v),
                    Err(why) => {
                        self.error(
                            Code::TypeMismatch,
                            file,
                            node.span,
                            format!("default of input `{}` {why}", decl.name.value),
                            format!("give a default of type `{ty}`"),
                        );
                        None
                    }
                }
            });
            if let (Some(values), Some(Value::String(s))) = (&decl.values, &default) {
                if !values.iter().any(|v| v.as_str() == &**s) {
                    let span = decl.default.as_ref().map_or(decl.name.span, |n| n.span);
                    self.error(
                        Code::InvalidValue,
                        file,
                        span,
                        format!(
                            "default `{}` is not one of the input's `values`",
                            crate::diagnostic::clip(s, 80)
                        ),
                        suggestion(s, values.iter().map(String::as_str)),
                    );
                }
            }
            inputs.push(c::Input {
                name: decl.name.value.clone(),
                ty,
                default,
                values: decl.values.clone(),
                description: decl.description.clone(),
            });
        }
        let inputs_type = Arc::new(RecordType::new(
            format!("{}.inputs", g.meta.name.value),
            inputs
                .iter()
                .map(|i| {
                    Field::new(
                        i.name.clone(),
                        i.ty.clone(),
                        i.description.clone().unwrap_or_default(),
                    )
                })
                .chain(
                    g.broken_inputs
                        .iter()
                        .map(|name| Field::new(name.clone(), Type::Any, "")),
                )
                .collect(),
        ));
        Interface {
            ast: g,
            inputs,
            inputs_type,
        }
    }

    /// Gamebooks in an order where callees come before callers; reports call cycles.
    fn call_order(
        &mut self,
        gamebooks: &[ast::Gamebook],
        interfaces: &BTreeMap<String, Interface>,
    ) -> Vec<String> {
        let mut calls: BTreeMap<&str, Vec<&Spanned<String>>> = BTreeMap::new();
        for g in gamebooks {
            let mut out = Vec::new();
            collect_calls(&g.steps, &mut out);
            calls.insert(&g.meta.name.value, out);
        }
        let mut order = Vec::new();
        let mut state: HashMap<&str, u8> = HashMap::new(); // 1 = in progress, 2 = done
        let mut reported: HashSet<String> = HashSet::new();
        for g in gamebooks {
            let mut path: Vec<&str> = Vec::new();
            self.visit_calls(
                &g.meta.name.value,
                &calls,
                interfaces,
                &mut state,
                &mut path,
                &mut order,
                &mut reported,
            );
        }
        self.check_call_depth(gamebooks, &calls, &order);
        order
    }

    /// Reports calls that nest gamebooks more than [`MAX_CALL_DEPTH`] deep: the engine would
    /// not run past that depth. `order` has callees first.
    fn check_call_depth(
        &mut self,
        gamebooks: &[ast::Gamebook],
        calls: &BTreeMap<&str, Vec<&Spanned<String>>>,
        order: &[String],
    ) {
        // The most gamebooks a run of each nests, itself included.
        let mut depth: HashMap<&str, usize> = HashMap::new();
        for name in order {
            let deepest = calls
                .get(name.as_str())
                .into_iter()
                .flatten()
                .filter_map(|c| depth.get(c.value.as_str()).copied())
                .max()
                .unwrap_or(0);
            depth.insert(name.as_str(), deepest + 1);
        }
        for g in gamebooks {
            if depth.get(g.meta.name.value.as_str()) != Some(&(MAX_CALL_DEPTH + 1)) {
                continue;
            }
            // The call that makes the chain too deep: one into a gamebook at the limit.
            let at = calls
                .get(g.meta.name.value.as_str())
                .into_iter()
                .flatten()
                .find(|c| depth.get(c.value.as_str()) == Some(&MAX_CALL_DEPTH));
            if let Some(call) = at {
                self.error(
                    Code::CallsTooDeep,
                    g.meta.file,
                    call.span,
                    format!(
                        "this call nests {} gamebooks, one inside the other; at most \
                         {MAX_CALL_DEPTH} nest",
                        MAX_CALL_DEPTH + 1
                    ),
                    "flatten the chain: call the deeper gamebooks from a shallower one",
                );
            }
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn visit_calls<'a>(
        &mut self,
        name: &'a str,
        calls: &BTreeMap<&'a str, Vec<&'a Spanned<String>>>,
        interfaces: &BTreeMap<String, Interface>,
        state: &mut HashMap<&'a str, u8>,
        path: &mut Vec<&'a str>,
        order: &mut Vec<String>,
        reported: &mut HashSet<String>,
    ) {
        match state.get(name) {
            Some(2) => return,
            Some(_) => return,
            None => {}
        }
        state.insert(name, 1);
        path.push(name);
        for callee in calls.get(name).into_iter().flatten() {
            let callee_name = callee.value.as_str();
            match state.get(callee_name) {
                Some(1) => {
                    let start = path.iter().position(|p| *p == callee_name).unwrap_or(0);
                    let mut cycle: Vec<&str> = path[start..].to_vec();
                    cycle.push(callee_name);
                    let key = {
                        let mut k: Vec<&str> = cycle[..cycle.len() - 1].to_vec();
                        k.sort_unstable();
                        k.join(",")
                    };
                    if reported.insert(key) {
                        if let Some(iface) = interfaces.get(name) {
                            let text = cycle
                                .iter()
                                .map(|c| format!("`{c}`"))
                                .collect::<Vec<_>>()
                                .join(" → ");
                            self.error(
                                Code::GamebookRecursion,
                                iface.ast.meta.file,
                                callee.span,
                                format!("gamebooks call each other in a cycle: {text}"),
                                "a gamebook may not call itself, directly or through others; break the cycle",
                            );
                        }
                    }
                }
                Some(_) => {}
                None if interfaces.contains_key(callee_name) => {
                    if let Some((k, _)) = calls.get_key_value(callee_name) {
                        self.visit_calls(k, calls, interfaces, state, path, order, reported);
                    }
                }
                None => {}
            }
        }
        path.pop();
        state.insert(name, 2);
        order.push(name.to_string());
    }

    fn sop(
        &mut self,
        s: &ast::Sop,
        interfaces: &BTreeMap<String, Interface>,
        compiled: &BTreeMap<String, c::Gamebook>,
    ) -> Option<c::Sop> {
        let file = s.meta.file;
        let scope = Scope::new().with("incident", Type::Record(model::incident()));
        let body = match &s.body {
            ast::SopBody::Classification(rules) => {
                let rules = rules
                    .iter()
                    .filter_map(|r| {
                        let when = self.expr(file, &r.when, &scope, Some(&Type::Bool))?;
                        self.never_holds(
                            file,
                            &r.when,
                            &when,
                            &format!("the `when` of rule `{}`", r.name.value),
                            "the rule never classifies an incident",
                        );
                        Some(c::ClassificationRule {
                            name: r.name.value.clone(),
                            when,
                            classification: r.classification.value,
                            reason: r.reason.value.clone(),
                            confidence: r.confidence,
                        })
                    })
                    .collect();
                c::SopBody::Classification(rules)
            }
            ast::SopBody::Response(r) => c::SopBody::Response(Box::new(
                self.response(file, r, &scope, interfaces, compiled),
            )),
        };
        Some(c::Sop {
            name: s.meta.name.value.clone(),
            file,
            name_span: s.meta.name.span,
            priority: s.priority,
            description: s.meta.description.clone(),
            tags: s.meta.tags.clone(),
            mitre: s.meta.mitre.iter().map(|m| m.value.clone()).collect(),
            body,
        })
    }

    fn response(
        &mut self,
        file: FileId,
        r: &ast::ResponseSop,
        scope: &Scope,
        interfaces: &BTreeMap<String, Interface>,
        compiled: &BTreeMap<String, c::Gamebook>,
    ) -> c::ResponseSop {
        let when = r
            .applies_to
            .when
            .as_ref()
            .and_then(|w| self.expr(file, w, scope, Some(&Type::Bool)));
        if let (Some(text), Some(when)) = (&r.applies_to.when, &when) {
            self.never_holds(
                file,
                text,
                when,
                "`applies_to.when`",
                "the SOP never applies to an incident",
            );
        }
        let mut approvals = Vec::new();
        for rule in &r.approvals {
            let mut kinds = HashSet::new();
            // The ids `action` can be in this rule's `approve_if`: those it covers, in catalog
            // order (all of them while a pattern matches none, reported below).
            let mut covered: Vec<&'static str> = Vec::new();
            let mut all_matched = !rule.actions.is_empty();
            for pattern in &rule.actions {
                let matched: Vec<&ActionSpec> = catalog::catalog()
                    .iter()
                    .filter(|a| c::action_matches(&pattern.value, a.id))
                    .collect();
                covered.extend(matched.iter().map(|a| a.id));
                if matched.is_empty() {
                    all_matched = false;
                    self.error(
                        Code::UnknownAction,
                        file,
                        pattern.span,
                        format!("`{}` matches no action of the catalog", pattern.value),
                        suggestion(&pattern.value, catalog::catalog().iter().map(|a| a.id)),
                    );
                }
                kinds.extend(matched.iter().map(|a| a.target));
            }
            // `entity` has the target's type when every covered action targets one kind.
            let entity_ty = match kinds.iter().next() {
                Some(Target::Entity(k)) if kinds.len() == 1 => Type::Record(model::entity(*k)),
                _ => Type::Record(model::any_entity()),
            };
            let values: Vec<&'static str> = if all_matched {
                catalog::action_ids()
                    .iter()
                    .copied()
                    .filter(|id| covered.contains(id))
                    .collect()
            } else {
                catalog::action_ids().to_vec()
            };
            let rule_scope = scope.clone().with("entity", entity_ty).with_values(
                "action",
                Type::String,
                values.clone(),
            );
            let approve_if = rule.approve_if.as_ref().and_then(|e| {
                self.expr_explained(file, e, &rule_scope, Some(&Type::Bool), |d, at| {
                    if let Some(help) = mixed_kinds_help(d, at, &rule.actions, &kinds) {
                        d.help = Some(help);
                    }
                    uncovered_action(d, &values);
                })
            });
            if let (Some(text), Some(x)) = (&rule.approve_if, &approve_if) {
                self.never_holds(
                    file,
                    text,
                    x,
                    "this rule's `approve_if`",
                    "the rule never asks for approval",
                );
            }
            // A rule without a valid role (reported) was checked, but decides nothing.
            if let Some(role) = &rule.role {
                approvals.push(c::ApprovalRule {
                    actions: rule.actions.iter().map(|a| a.value.clone()).collect(),
                    role: role.value,
                    approve_if,
                });
            }
        }
        for (action, _) in &r.guardrails.limits {
            if catalog::lookup(&action.value).is_none() {
                self.error(
                    Code::UnknownAction,
                    file,
                    action.span,
                    format!("unknown action `{}` in `limits`", action.value),
                    suggestion(&action.value, catalog::catalog().iter().map(|a| a.id)),
                );
            }
        }
        let mut gamebooks = Vec::new();
        for u in &r.gamebooks {
            // The entry's `if` reads the incident, not the gamebook: it is checked either way.
            let condition = u
                .condition
                .as_ref()
                .and_then(|e| self.expr(file, e, scope, Some(&Type::Bool)));
            let Some(iface) = interfaces.get(&u.gamebook.value) else {
                self.error(
                    Code::UnknownGamebook,
                    file,
                    u.gamebook.span,
                    format!("no gamebook named `{}` in the library", u.gamebook.value),
                    gamebook_help(&u.gamebook.value, interfaces, &self.unread, None),
                );
                self.orphan_templates(file, u.with.as_deref().unwrap_or_default(), scope);
                continue;
            };
            let with = self.inputs(file, u.with.as_deref(), iface, scope, u.gamebook.span);
            if let (Some(text), Some(x)) = (&u.condition, &condition) {
                self.never_holds(
                    file,
                    text,
                    x,
                    &format!("the `if` of gamebook `{}`", u.gamebook.value),
                    "the gamebook never runs from this SOP",
                );
            }
            // Without a `mode`, the SOP runs as autonomously as the workspace's agent does.
            let autonomous = r
                .mode
                .as_ref()
                .is_none_or(|m| m.value == AgentMode::Autonomous);
            if autonomous {
                if let Some(gb) = compiled.get(&u.gamebook.value) {
                    let mode_given = r.mode.is_some();
                    self.unapproved_high_impact(file, u, gb, compiled, &approvals, mode_given);
                }
            }
            gamebooks.push(c::GamebookUse {
                gamebook: u.gamebook.value.clone(),
                with,
                condition,
            });
        }
        let tasks = r
            .tasks
            .iter()
            .filter_map(|t| self.task(file, t, scope))
            .collect();
        c::ResponseSop {
            mode: r.mode.as_ref().map(|m| m.value),
            sources: r.applies_to.sources.clone(),
            severities: r.applies_to.severities.clone(),
            classifications: r.applies_to.classifications.clone(),
            workspaces: r.applies_to.workspaces.clone(),
            workspace_tags: r.applies_to.workspace_tags.clone(),
            when,
            gamebooks,
            tasks,
            approvals,
            guardrails: r.guardrails.clone(),
        }
    }

    /// RP0411: a gate with `on_timeout: approve` in front of a high-impact action (on the
    /// step, a group holding it, or a step calling a gamebook that reaches it): nobody
    /// answering would let it run, while only a Workspace Owner approves such actions.
    fn timeout_approves_high_impact(
        &mut self,
        gb: &c::Gamebook,
        steps: &[c::Step],
        compiled: &BTreeMap<String, c::Gamebook>,
    ) {
        for s in steps {
            let approves = s
                .approval
                .as_ref()
                .is_some_and(|a| a.on_timeout == ast::TimeoutOutcome::Approve);
            if approves {
                let mut seen = HashSet::new();
                if let Some(action) =
                    first_high_impact(std::slice::from_ref(s), compiled, &mut seen)
                {
                    let d = Diagnostic::new(
                        Code::TimeoutApprovesHighImpact,
                        gb.file,
                        s.id_span,
                        format!(
                            "the approval gate of step `{}` approves on timeout, so high-impact `{action}` would run with nobody's approval",
                            s.id
                        ),
                    )
                    .with_help(
                        "only a Workspace Owner approves high-impact actions: use `on_timeout: reject` (the step does not run) or `fail`",
                    );
                    self.push(d);
                }
            }
            if let c::StepKind::Group(inner) = &s.kind {
                self.timeout_approves_high_impact(gb, inner, compiled);
            }
        }
    }

    /// RP0407: in an SOP that is autonomous, or can be (it sets no `mode`, and the agent's may
    /// be), a high-impact action with no gate and no policy rule that can require approval.
    fn unapproved_high_impact(
        &mut self,
        file: FileId,
        u: &ast::GamebookUse,
        gb: &c::Gamebook,
        compiled: &BTreeMap<String, c::Gamebook>,
        approvals: &[c::ApprovalRule],
        mode_given: bool,
    ) {
        let mut found = Vec::new();
        let mut seen = HashSet::new();
        ungated_high_impact(gb, compiled, false, &mut found, &mut seen);
        for (gb_file, span, step, action) in found {
            if approvals.iter().any(|a| a.covers(action) && a.can_hold()) {
                continue;
            }
            let sop = if mode_given {
                "this autonomous SOP"
            } else {
                "this SOP when the workspace's agent is autonomous (the SOP sets no `mode`)"
            };
            let d = Diagnostic::new(
                Code::UnapprovedHighImpact,
                file,
                u.gamebook.span,
                format!("high-impact action `{action}` (step `{step}`) can run without approval in {sop}"),
            )
            .with_help(format!(
                "add an `approval:` gate to the step, or an SOP rule `approval: [{{actions: [{action}], role: workspace_owner}}]`"
            ))
            .with_related(gb_file, span, "the step");
            self.push(d);
        }
    }

    fn task(&mut self, file: FileId, t: &ast::Task, scope: &Scope) -> Option<c::Task> {
        let title = self.template(file, &t.title, scope)?;
        Some(c::Task {
            title,
            role: t.role.value,
            description: t.description.clone(),
            checklist: t.checklist.clone(),
        })
    }

    /// Checks the `with:` values of a call against the callee's inputs; `None` when `with:`
    /// is no mapping (reported), whose missing inputs are not reported too.
    fn inputs(
        &mut self,
        file: FileId,
        with: Option<&[(Spanned<String>, Node)]>,
        iface: &Interface,
        scope: &Scope,
        call_span: Span,
    ) -> Vec<(String, ParamValue)> {
        let mut out = Vec::new();
        let given = with.unwrap_or_default();
        for (name, node) in given {
            let Some(input) = iface.inputs.iter().find(|i| i.name == name.value) else {
                // An input whose declaration is broken was reported where it is declared.
                if iface.ast.broken_inputs.contains(&name.value) {
                    continue;
                }
                self.error(
                    Code::UnknownInput,
                    file,
                    name.span,
                    format!(
                        "gamebook `{}` has no input `{}`",
                        iface.ast.meta.name.value, name.value
                    ),
                    suggestion(&name.value, iface.inputs.iter().map(|i| i.name.as_str())),
                );
                continue;
            };
            if let Some(v) = self.typed_value(
                file,
                node,
                &input.ty,
                input.values.as_deref(),
                scope,
                &format!("input `{}`", name.value),
            ) {
                out.push((name.value.clone(), v));
            }
        }
        // `interface` keeps the declarations' order. An input whose default is written but
        // invalid was reported at the default; callers are not told it is required.
        for (input, decl) in iface.inputs.iter().zip(&iface.ast.inputs) {
            let missing = with.is_some_and(|w| !w.iter().any(|(n, _)| n.value == input.name));
            if decl.default.is_none() && missing {
                self.error(
                    Code::MissingInput,
                    file,
                    call_span,
                    format!(
                        "gamebook `{}` needs input `{}`",
                        iface.ast.meta.name.value, input.name
                    ),
                    format!("add `with: {{{}: …}}` (type `{}`)", input.name, input.ty),
                );
            }
        }
        out
    }

    /// A YAML value for a slot of type `ty`: a literal of that type, or a `{{ }}` template.
    fn typed_value(
        &mut self,
        file: FileId,
        node: &Node,
        ty: &Type,
        values: Option<&[String]>,
        scope: &Scope,
        what: &str,
    ) -> Option<ParamValue> {
        if let NodeValue::Str(s) = &node.value {
            if s.contains("{{") {
                let text = self.expr_text(file, node);
                let template = self.template(file, &text, scope)?;
                // A string slot takes any template: values render as text. A slot of a few
                // allowed words does not take a number, a time or a record, whatever it is.
                if *ty == Type::String {
                    if let (Some(values), Some(single)) = (values, template.single()) {
                        if !may_render_one_of(single.ty(), values) {
                            let allowed: Vec<String> =
                                values.iter().map(|v| format!("`{v}`")).collect();
                            self.error(
                                Code::ParamType,
                                file,
                                node.span,
                                format!(
                                    "{what} takes one of {}, but the expression is `{}`",
                                    allowed.join(", "),
                                    single.ty()
                                ),
                                "give one of those words, or an input declared with `values:` that lists them",
                            );
                            return None;
                        }
                    }
                    return Some(ParamValue::Template(template));
                }
                if let Some(single) = template.single() {
                    if !single.ty().fits(ty) {
                        self.error(
                            Code::ParamType,
                            file,
                            node.span,
                            format!(
                                "{what} expects `{ty}`, but the expression is `{}`",
                                single.ty()
                            ),
                            format!("give a value of type `{ty}`"),
                        );
                        return None;
                    }
                    return Some(ParamValue::Expr(single.clone()));
                }
                self.error(
                    Code::ParamType,
                    file,
                    node.span,
                    format!("{what} expects `{ty}`, but a template with text around `{{{{ }}}}` is a string"),
                    "write the whole value as one `{{ expression }}`",
                );
                return None;
            }
        }
        match literal(node, ty, &self.sources.get(file).text) {
            Ok(v) => {
                if let (Some(values), Value::String(s)) = (values, &v) {
                    if !values.iter().any(|x| x.as_str() == &**s) {
                        self.error(
                            Code::ParamType,
                            file,
                            node.span,
                            format!("`{s}` is not an allowed value of {what}"),
                            suggestion(s, values.iter().map(String::as_str)),
                        );
                        return None;
                    }
                }
                Some(ParamValue::Const(v))
            }
            Err(why) => {
                let help = if node.is_unquoted_template(&self.sources.get(file).text) {
                    "quote the template: without quotes YAML reads `{{ … }}` as a mapping"
                        .to_string()
                } else {
                    format!("give a value of type `{ty}`")
                };
                self.error(
                    Code::ParamType,
                    file,
                    node.span,
                    format!("{what} {why}"),
                    help,
                );
                None
            }
        }
    }

    /// The templates among the values of a `with:` or `params:` whose slots are unknown (the
    /// gamebook or action they fill names none, which is reported): each is still compiled, so
    /// its own errors show now rather than after the name is fixed.
    fn orphan_templates(
        &mut self,
        file: FileId,
        values: &[(Spanned<String>, Node)],
        scope: &Scope,
    ) {
        for (_, node) in values {
            if node.as_str().is_some_and(|s| s.contains("{{")) {
                let text = self.expr_text(file, node);
                self.template(file, &text, scope);
            }
        }
    }

    fn expr_text(&self, file: FileId, node: &Node) -> ExprText {
        let text = node.as_str().unwrap_or_default().to_string();
        ExprText::locate(self.sources.get(file), text, node.span)
    }

    /// Compiles an expression, mapping its diagnostics into the file.
    fn expr(
        &mut self,
        file: FileId,
        e: &ExprText,
        scope: &Scope,
        expected: Option<&Type>,
    ) -> Option<Expr> {
        self.expr_explained(file, e, scope, expected, |_, _| {})
    }

    /// [`Self::expr`], with `explain` given each diagnostic and the name it points at, to
    /// replace a generic help with what the expression's place makes of it.
    fn expr_explained(
        &mut self,
        file: FileId,
        e: &ExprText,
        scope: &Scope,
        expected: Option<&Type>,
        explain: impl Fn(&mut Diagnostic, NamedAt<'_>),
    ) -> Option<Expr> {
        let src = ExprSource {
            text: &e.text,
            file,
            offset: e.offset,
        };
        match expr::compile_with(src, scope, expected, &mut self.regexes) {
            Ok(x) => Some(x),
            Err(mut ds) => {
                for d in &mut ds {
                    // Spans are the text's indices shifted by `offset`.
                    let start = d.span.start.saturating_sub(e.offset) as usize;
                    let end = d.span.end.saturating_sub(e.offset) as usize;
                    if let (Some(before), Some(name)) =
                        (e.text.get(..start), e.text.get(start..end))
                    {
                        explain(d, NamedAt { before, name });
                    }
                }
                self.absorb(e, ds);
                None
            }
        }
    }

    fn template(&mut self, file: FileId, e: &ExprText, scope: &Scope) -> Option<expr::Template> {
        let src = ExprSource {
            text: &e.text,
            file,
            offset: e.offset,
        };
        match expr::compile_template_with(src, scope, &mut self.regexes) {
            Ok(t) => Some(t),
            Err(ds) => {
                self.absorb(e, ds);
                None
            }
        }
    }

    fn absorb(&mut self, e: &ExprText, ds: Vec<Diagnostic>) {
        for mut d in ds {
            d.span = e.file_span(d.span);
            // Secondary labels (an opening bracket) are in the text's coordinates too.
            for r in d.related.iter_mut().filter(|r| r.file == d.file) {
                r.span = e.file_span(r.span);
            }
            self.push(d);
        }
    }
}

/// The text an expression diagnostic points at, and the text before it.
struct NamedAt<'t> {
    before: &'t str,
    name: &'t str,
}

impl NamedAt<'_> {
    /// Whether the name is read as a field of the variable `var` (`var.name`).
    fn is_field_of(&self, var: &str) -> bool {
        self.before
            .strip_suffix('.')
            .and_then(|b| b.strip_suffix(var))
            .is_some_and(|b| {
                !b.ends_with(|c: char| c.is_ascii_alphanumeric() || c == '_' || c == '.')
            })
    }
}

/// The help of an unknown variable in a step's `if` that is the step's own `for_each` item:
/// `if` is decided once for the step, and `filter` is what selects items.
fn own_item_help(
    d: &Diagnostic,
    at: &NamedAt<'_>,
    item: &str,
    condition: &ExprText,
) -> Option<String> {
    let own = d.code == Code::UnknownName
        && at.name == item
        && d.message == format!("unknown variable `{item}`");
    own.then(|| {
        // The condition itself as the filter, when it fits on one line of the help.
        let text = condition.text.trim();
        let filter = if text.contains(['"', '\n']) || text.chars().count() > 60 {
            format!("{item}.…")
        } else {
            text.to_string()
        };
        format!(
            "a step's `if` is decided once for the whole step, before its items, so it cannot read the item `{item}`; select items with `for_each`'s `filter`, e.g. `for_each: {{items: …, as: {item}, filter: \"{filter}\"}}`, and keep in `if` only what holds for the whole step"
        )
    })
}

/// An action id of the catalog compared with `action` in the `approve_if` of a rule that does
/// not cover it: `action` is never that id there. Said so, rather than "not a known value".
fn uncovered_action(d: &mut Diagnostic, covered: &[&str]) {
    let Some(id) = d
        .message
        .strip_suffix("` is not a known value of `action`")
        .and_then(|m| m.strip_prefix('`'))
        .map(str::to_string)
    else {
        return;
    };
    if catalog::lookup(&id).is_none() {
        // A misspelt id: the nearest of the whole catalog, covered or not.
        d.help = Some(suggestion(&id, catalog::action_ids().iter().copied()));
        return;
    }
    d.message =
        format!("`{id}` is not an action this rule covers, so `action` is never `{id}` here");
    d.help = Some(format!(
        "the rule's `actions` cover {}: add `{id}` to them, or remove the test",
        crate::diagnostic::ticked(covered)
    ));
}

/// The help of an unknown field of `entity` in the `approve_if` of a rule whose actions act on
/// several entity kinds: `entity` is then the generic record, and the field may belong to one
/// of the kinds. `None` when no kind of the rule has the field (a typo: the usual help fits).
fn mixed_kinds_help(
    d: &Diagnostic,
    at: NamedAt<'_>,
    actions: &[Spanned<String>],
    kinds: &HashSet<Target>,
) -> Option<String> {
    let mut entity_kinds: Vec<crate::types::EntityKind> = kinds
        .iter()
        .filter_map(|t| match t {
            Target::Entity(k) => Some(*k),
            Target::Incident => None,
        })
        .collect();
    entity_kinds.sort_by_key(|k| k.as_str());
    let generic = d.code == Code::UnknownName
        && kinds.len() > 1
        && at.is_field_of("entity")
        && d.message == format!("unknown field `{}` on `entity`", at.name);
    if !generic {
        return None;
    }
    let owners: Vec<crate::types::EntityKind> = entity_kinds
        .iter()
        .copied()
        .filter(|k| model::entity(*k).field(at.name).is_some())
        .collect();
    let owner = *owners.first()?;
    let kind_list: Vec<String> = entity_kinds
        .iter()
        .map(|k| format!("`{}`", k.as_str()))
        .collect();
    let owner_list: Vec<String> = owners.iter().map(|k| format!("`{}`", k.as_str())).collect();
    // The rule's own patterns that act on that kind only, else every action of the kind.
    let of_owner: Vec<&str> = actions
        .iter()
        .map(|a| a.value.as_str())
        .filter(|p| {
            let mut matched = catalog::catalog()
                .iter()
                .filter(|a| c::action_matches(p, a.id))
                .peekable();
            matched.peek().is_some() && matched.all(|a| a.target == Target::Entity(owner))
        })
        .collect();
    let example = if of_owner.is_empty() {
        format!("{}.*", owner.as_str())
    } else {
        of_owner.join(", ")
    };
    Some(format!(
        "this rule's actions act on different entity kinds ({}), so its `entity` is the generic entity record, with only the fields every kind has; `{}` is a field of {}: split the rule into one rule per kind, e.g. one with `actions: [{example}]` and `approve_if: \"entity.{}\"`, where `entity` is a `{}` with all its fields",
        kind_list.join(", "),
        at.name,
        owner_list.join(", "),
        at.name,
        owner.as_str(),
    ))
}

fn gamebook_help(
    name: &str,
    interfaces: &BTreeMap<String, Interface>,
    unread: &[String],
    caller: Option<&str>,
) -> String {
    // A gamebook calling itself would be recursion (RP0308): never the one meant.
    let known = interfaces
        .keys()
        .map(String::as_str)
        .filter(|k| Some(*k) != caller);
    let others = known.clone().next().is_some();
    if others && crate::diagnostic::did_you_mean(name, known.clone()).is_some() {
        return suggestion(name, known);
    }
    if !unread.is_empty() {
        let files: Vec<String> = unread.iter().map(|f| format!("`{f}`")).collect();
        return format!(
            "{} could not be compiled and may define it; fix the errors reported there first",
            files.join(", ")
        );
    }
    if interfaces.is_empty() {
        format!("no gamebooks are loaded; {CHECK_TOGETHER_HINT}")
    } else if !others {
        format!("no other gamebook is loaded; {CHECK_TOGETHER_HINT}")
    } else {
        // Nothing close: the gamebook may be in a file not checked with this one.
        format!("{}; {CHECK_TOGETHER_HINT}", suggestion(name, known))
    }
}

/// How the help of RP0303 ends when the gamebook may be in a file not compiled with this one.
/// It names `riposte check`; a command that compiles files otherwise (`riposte graph`, which
/// looks called gamebooks up in `--library`) replaces it with its own way.
pub const CHECK_TOGETHER_HINT: &str = "a gamebook in another file is found when the files are checked together, e.g. `riposte check gamebooks sops`, or one file within its library: `riposte check FILE --library gamebooks --library sops`";

/// The names of the inputs the steps read (`inputs.<name>`), through groups.
fn input_reads<'s>(steps: &'s [c::Step], out: &mut HashSet<&'s str>) {
    let value = |v: &'s ParamValue, out: &mut HashSet<&'s str>| match v {
        ParamValue::Const(_) => {}
        ParamValue::Expr(x) => expr_input_reads(x, out),
        ParamValue::Template(t) => t.exprs().for_each(|x| expr_input_reads(x, out)),
    };
    for s in steps {
        if let Some(x) = &s.condition {
            expr_input_reads(x, out);
        }
        if let Some(f) = &s.for_each {
            expr_input_reads(&f.items, out);
            if let Some(x) = &f.filter {
                expr_input_reads(x, out);
            }
        }
        match &s.kind {
            c::StepKind::Action { target, params, .. } => {
                if let Some(x) = target {
                    expr_input_reads(x, out);
                }
                for (_, v) in params {
                    value(v, out);
                }
            }
            c::StepKind::Task(t) => t.title.exprs().for_each(|x| expr_input_reads(x, out)),
            c::StepKind::Call { with, .. } => {
                for (_, v) in with {
                    value(v, out);
                }
            }
            c::StepKind::Group(inner) => input_reads(inner, out),
        }
    }
}

/// The inputs `x` reads; `*` for `inputs` read whole.
fn expr_input_reads<'x>(x: &'x Expr, out: &mut HashSet<&'x str>) {
    for path in x.paths() {
        match path {
            [root, name, ..] if root == "inputs" => {
                out.insert(name.as_str());
            }
            [root] if root == "inputs" => {
                out.insert("*");
            }
            _ => {}
        }
    }
}

fn collect_calls<'a>(steps: &'a [ast::Step], out: &mut Vec<&'a Spanned<String>>) {
    for s in steps {
        match &s.kind {
            ast::StepKind::Call { gamebook, .. } => out.push(gamebook),
            ast::StepKind::Group(inner) => collect_calls(inner, out),
            _ => {}
        }
    }
}

/// The most gamebooks one run nests (a gamebook calling one calling one …), the top one
/// included: the engine runs no deeper, and `check` reports a library that would (RP0312).
pub const MAX_CALL_DEPTH: usize = 16;

/// High-impact action steps reachable from `gb` with no approval gate on the way.
fn ungated_high_impact<'a>(
    gb: &'a c::Gamebook,
    compiled: &'a BTreeMap<String, c::Gamebook>,
    gated: bool,
    out: &mut Vec<(FileId, Span, String, &'static str)>,
    seen: &mut HashSet<&'a str>,
) {
    if !seen.insert(&gb.name) {
        return;
    }
    fn walk<'a>(
        gb: &'a c::Gamebook,
        steps: &'a [c::Step],
        prefix: &str,
        compiled: &'a BTreeMap<String, c::Gamebook>,
        gated: bool,
        out: &mut Vec<(FileId, Span, String, &'static str)>,
        seen: &mut HashSet<&'a str>,
    ) {
        for s in steps {
            let gated = gated || s.approval.is_some();
            // As plans and `--approve` name it: the gamebook, then the path through groups.
            let path = format!("{prefix}{}", s.id);
            match &s.kind {
                // A delegated-only action always waits for a person in an autonomous SOP (it
                // cannot run unattended): it is never run without approval.
                c::StepKind::Action { spec, .. }
                    if spec.impact == Impact::High && !spec.delegated_only() && !gated =>
                {
                    out.push((gb.file, s.id_span, path, spec.id));
                }
                c::StepKind::Group(inner) => {
                    walk(gb, inner, &format!("{path}."), compiled, gated, out, seen)
                }
                c::StepKind::Call { gamebook, .. } if !gated => {
                    if let Some(callee) = compiled.get(gamebook) {
                        ungated_high_impact(callee, compiled, gated, out, seen);
                    }
                }
                _ => {}
            }
        }
    }
    walk(
        gb,
        &gb.steps,
        &format!("{}/", gb.name),
        compiled,
        gated,
        out,
        seen,
    );
}

/// The first high-impact action `steps` can run, through groups and calls.
fn first_high_impact<'a>(
    steps: &'a [c::Step],
    compiled: &'a BTreeMap<String, c::Gamebook>,
    seen: &mut HashSet<&'a str>,
) -> Option<&'static str> {
    steps.iter().find_map(|s| match &s.kind {
        c::StepKind::Action { spec, .. } if spec.impact == Impact::High => Some(spec.id),
        c::StepKind::Group(inner) => first_high_impact(inner, compiled, seen),
        c::StepKind::Call { gamebook, .. } => {
            let callee = compiled.get(gamebook)?;
            if !seen.insert(&callee.name) {
                return None;
            }
            first_high_impact(&callee.steps, compiled, seen)
        }
        _ => None,
    })
}

fn input_type(t: InputType) -> Type {
    match t {
        InputType::String => Type::String,
        InputType::Number => Type::Number,
        InputType::Bool => Type::Bool,
        InputType::Duration => Type::Duration,
        InputType::Severity => Type::Severity,
        InputType::Ip => Type::Ip,
        InputType::StringList => Type::list(Type::String),
    }
}

/// A YAML literal as a value of type `ty`, or why it is not one.
/// `id` as a help text names it: by itself, or as held by the group `owner` that `needs` waits for.
fn held(id: &str, owner: &str) -> String {
    if id == owner {
        format!("`{id}`")
    } else {
        format!("`{id}` (in group `{owner}`)")
    }
}

/// Whether a template of one expression of type `ty` may render one of `values`: text may be
/// any word, a severity only its four, a bool `true` or `false`; numbers, times, durations,
/// addresses, lists and records are never a slot's word.
fn may_render_one_of(ty: &Type, values: &[String]) -> bool {
    let any_of = |words: &[&str]| values.iter().any(|v| words.contains(&v.as_str()));
    match ty {
        Type::String | Type::Any => true,
        Type::Severity => any_of(&crate::value::SEVERITIES),
        Type::Bool => any_of(&["true", "false"]),
        _ => false,
    }
}

fn literal(node: &Node, ty: &Type, source: &str) -> Result<Value, String> {
    let found = || format!("expects `{ty}`, found {}", node.type_name());
    match (ty, &node.value) {
        (Type::String, NodeValue::Str(s)) => Ok(Value::String(s.as_str().into())),
        (Type::String, NodeValue::Int(_) | NodeValue::Float(_) | NodeValue::Bool(_)) => Ok(
            Value::String(node.scalar_source_text(source).unwrap_or_default().into()),
        ),
        (Type::Number, NodeValue::Int(i)) => Ok(Value::Number(*i as f64)),
        (Type::Number, NodeValue::Float(f)) => Ok(Value::Number(*f)),
        (Type::Bool, NodeValue::Bool(b)) => Ok(Value::Bool(*b)),
        (Type::Duration, NodeValue::Str(s)) => match parse_duration(s) {
            Some(0) => Err(format!("expects a duration longer than zero, found `{s}`")),
            Some(ms) => Ok(Value::Duration(ms)),
            None => Err(format!("expects a duration such as `30m`, found `{s}`")),
        },
        (Type::Severity, NodeValue::Str(s)) => ast::SeverityLevel::parse(&s.to_ascii_lowercase())
            .map(|l| Value::Severity(l as u8))
            .ok_or_else(|| {
                format!("expects a severity (informational, low, medium, high), found `{s}`")
            }),
        // An IPv4-mapped address is its IPv4 address, as `ip()` and the importer make it.
        (Type::Ip, NodeValue::Str(s)) => s
            .parse::<std::net::IpAddr>()
            .map(|ip| Value::Ip(ip.to_canonical()))
            .map_err(|_| format!("expects an IP address, found `{s}`")),
        (Type::List(inner), NodeValue::Seq(items)) => {
            let values: Result<Vec<Value>, String> =
                items.iter().map(|n| literal(n, inner, source)).collect();
            Ok(Value::List(values?.into()))
        }
        (Type::Any, _) => Ok(Value::Null),
        _ => Err(found()),
    }
}

/// The catalog default of a parameter as a value, if it has one.
pub fn default_value(p: &catalog::ParamSpec) -> Option<Value> {
    literal(
        &default_node(p.default?, Span::default()),
        &p.ty.expr_type(),
        "",
    )
    .ok()
}

/// A catalog default (YAML scalar text) as a node: `true`, `3` and `full` get their YAML types.
fn default_node(text: &str, span: Span) -> Node {
    let value = match text {
        "true" => NodeValue::Bool(true),
        "false" => NodeValue::Bool(false),
        _ => match (text.parse::<i64>(), text.parse::<f64>()) {
            (Ok(i), _) => NodeValue::Int(i),
            (_, Ok(f)) => NodeValue::Float(f),
            _ => NodeValue::Str(text.to_string()),
        },
    };
    Node { value, span }
}

/// The record `steps.<id>` has, for a step whose per-run output is `output`. The scheduler
/// builds these records by position: keep the field order.
pub fn step_record(id: &str, output: Type) -> Type {
    Type::Record(Arc::new(RecordType::new(
        format!("steps.{id}"),
        vec![
            Field::new(
                "status",
                Type::String,
                "succeeded, failed, skipped, blocked, awaiting_approval or rejected",
            )
            .with_values(&[
                "succeeded",
                "failed",
                "skipped",
                "blocked",
                "awaiting_approval",
                "rejected",
            ]),
            Field::new(
                "output",
                output.clone(),
                "the step's output (the last item's, for a for-each)",
            ),
            Field::new(
                "results",
                Type::list(output),
                "per-item outputs of a for-each (one element otherwise)",
            ),
            Field::new("succeeded", Type::Number, "items that succeeded"),
            Field::new("failed", Type::Number, "items that failed"),
            Field::new(
                "blocked",
                Type::Number,
                "items that were blocked, or not planned past the fan-out limit",
            ),
        ],
    )))
}

fn param_output_record(name: String, outputs: &[catalog::OutputSpec]) -> Type {
    Type::Record(Arc::new(RecordType::new(
        name,
        outputs
            .iter()
            .map(|o| Field::new(o.name, o.ty.expr_type(), o.doc))
            .collect(),
    )))
}

/// Checks one gamebook's body.
struct GamebookCompiler<'c, 'd, 'a> {
    cx: &'c mut Compiler<'d>,
    iface: &'a Interface<'a>,
    interfaces: &'a BTreeMap<String, Interface<'a>>,
    compiled: &'a BTreeMap<String, c::Gamebook>,
    file: FileId,
    /// Every step id of the gamebook (all levels) with its declaration span.
    all_ids: HashMap<String, Span>,
    /// Reads of `steps.<id>` of the step list being checked, not yet matched to a dependency.
    reads: Vec<PendingRead>,
    /// Approval gates on the step being checked and the groups around it.
    gates: u32,
}

/// An expression of step `step` reads `steps.<id>` at `span`.
struct PendingRead {
    id: String,
    step: String,
    span: Span,
}

impl<'c, 'd, 'a> GamebookCompiler<'c, 'd, 'a> {
    fn new(
        cx: &'c mut Compiler<'d>,
        iface: &'a Interface<'a>,
        interfaces: &'a BTreeMap<String, Interface<'a>>,
        compiled: &'a BTreeMap<String, c::Gamebook>,
    ) -> Self {
        GamebookCompiler {
            cx,
            iface,
            interfaces,
            compiled,
            file: iface.ast.meta.file,
            all_ids: HashMap::new(),
            reads: Vec::new(),
            gates: 0,
        }
    }

    fn run(mut self) -> c::Gamebook {
        let g = self.iface.ast;
        let file = self.file;
        let errors_here = |cx: &Compiler| {
            cx.diags
                .iter()
                .filter(|d| d.file == file && d.is_error())
                .count()
        };
        self.collect_ids(&g.steps);
        let mut fields = Vec::new();
        self.step_fields(&g.steps, &mut HashSet::new(), &mut fields);
        let steps_type = Arc::new(RecordType::new("steps", fields));
        let scope = Scope::new()
            .with("incident", Type::Record(model::incident()))
            .with("inputs", Type::Record(self.iface.inputs_type.clone()))
            .with("steps", Type::Record(steps_type.clone()));
        let steps = self.steps(&g.steps, &scope);
        // The top-level list has no enclosing group: a read no list claimed is not upstream.
        for r in std::mem::take(&mut self.reads) {
            self.unordered_read(&r, None);
        }
        let mut outputs = Vec::new();
        for (name, e) in &g.outputs {
            if let Some(x) = self.cx.expr(self.file, e, &scope, None) {
                outputs.push((name.value.clone(), x));
            }
        }
        let outputs_type = Arc::new(RecordType::new(
            format!("{}.outputs", g.meta.name.value),
            outputs
                .iter()
                .map(|(n, e)| Field::new(n.clone(), e.ty().clone(), ""))
                .collect(),
        ));
        // An input nothing reads is dead weight callers must still give, or a step that was
        // meant to read it and does not. Judged only on a file without errors: a step that
        // did not compile, or was dropped as written wrong (an `action` beside a `task`),
        // reads nothing.
        if errors_here(self.cx) == 0 {
            let mut read = HashSet::new();
            input_reads(&steps, &mut read);
            for (_, x) in &outputs {
                expr_input_reads(x, &mut read);
            }
            let unread =
                |d: &&ast::InputDecl| !read.contains("*") && !read.contains(d.name.value.as_str());
            for decl in g.inputs.iter().filter(unread) {
                let d = Diagnostic::new(
                    Code::UnreadInput,
                    file,
                    decl.name.span,
                    format!(
                        "input `{}` of gamebook `{}` is never read",
                        decl.name.value, g.meta.name.value
                    ),
                )
                .with_help(format!(
                    "read it where it should make a difference (`{{{{ inputs.{} }}}}`), or remove it",
                    decl.name.value
                ));
                self.cx.push(d);
            }
        }
        let graph = graph::build(&steps);
        c::Gamebook {
            name: g.meta.name.value.clone(),
            version: g.version.value.clone(),
            file: self.file,
            name_span: g.meta.name.span,
            description: g.meta.description.clone(),
            tags: g.meta.tags.clone(),
            mitre: g.meta.mitre.iter().map(|m| m.value.clone()).collect(),
            inputs: self
                .iface
                .inputs
                .iter()
                .map(|i| c::Input {
                    name: i.name.clone(),
                    ty: i.ty.clone(),
                    default: i.default.clone(),
                    values: i.values.clone(),
                    description: i.description.clone(),
                })
                .collect(),
            inputs_type: self.iface.inputs_type.clone(),
            steps_type,
            outputs_type,
            scope,
            steps,
            outputs,
            graph,
        }
    }

    fn collect_ids(&mut self, steps: &[ast::Step]) {
        for s in steps {
            if let Some(first) = self.all_ids.get(&s.id.value) {
                let d = Diagnostic::new(
                    Code::DuplicateStepId,
                    self.file,
                    s.id.span,
                    format!("duplicate step id `{}`", s.id.value),
                )
                .with_help("step ids are unique within a gamebook, across groups; rename one")
                .with_related(self.file, *first, "first used here");
                self.cx.push(d);
            } else {
                self.all_ids.insert(s.id.value.clone(), s.id.span);
            }
            if let ast::StepKind::Group(inner) = &s.kind {
                self.collect_ids(inner);
            }
        }
    }

    /// The output type of each step, flattened into the `steps` record.
    fn step_fields<'s>(
        &self,
        steps: &'s [ast::Step],
        seen: &mut HashSet<&'s str>,
        out: &mut Vec<Field>,
    ) {
        for s in steps {
            if !seen.insert(s.id.value.as_str()) {
                continue;
            }
            let output = match &s.kind {
                ast::StepKind::Action { action, .. } => match catalog::lookup(&action.value) {
                    Some(spec) => param_output_record(format!("{}.output", spec.id), spec.outputs),
                    None => Type::Any,
                },
                ast::StepKind::Task(_) => Type::Record(Arc::new(RecordType::new(
                    "task.output",
                    vec![Field::new(
                        "completed_by",
                        Type::String,
                        "who completed the task",
                    )],
                ))),
                ast::StepKind::Call { gamebook, .. } => match self.compiled.get(&gamebook.value) {
                    Some(callee) => Type::Record(callee.outputs_type.clone()),
                    None => Type::Any,
                },
                ast::StepKind::Group(_) => {
                    Type::Record(Arc::new(RecordType::new(GROUP_OUTPUT, Vec::new())))
                }
                ast::StepKind::Invalid => Type::Any,
            };
            out.push(Field::new(
                s.id.value.clone(),
                step_record(&s.id.value, output),
                s.name.clone().unwrap_or_default(),
            ));
            if let ast::StepKind::Group(inner) = &s.kind {
                self.step_fields(inner, seen, out);
            }
        }
    }

    /// Checks one list of sibling steps. Reads of `steps.<id>` that name no step of this list
    /// are left in `self.reads` for the enclosing list, attributed to the enclosing group.
    fn steps(&mut self, steps: &[ast::Step], scope: &Scope) -> Vec<c::Step> {
        let index: HashMap<&str, usize> = steps
            .iter()
            .enumerate()
            .rev()
            .map(|(i, s)| (s.id.value.as_str(), i))
            .collect();
        let siblings: Vec<&str> = steps.iter().map(|s| s.id.value.as_str()).collect();
        // needs and on_error must name siblings.
        for s in steps {
            let mut seen: HashMap<&str, Span> = HashMap::new();
            for n in &s.needs {
                self.sibling_ref(n, &index, &siblings, "needs");
                if n.value == s.id.value {
                    self.cx.error(
                        Code::SelfDependency,
                        self.file,
                        n.span,
                        format!("step `{}` needs itself", n.value),
                        "remove it from `needs`",
                    );
                }
                if let Some(first) = seen.insert(n.value.as_str(), n.span) {
                    let d = Diagnostic::new(
                        Code::DuplicateDependency,
                        self.file,
                        n.span,
                        format!("step `{}` needs `{}` twice", s.id.value, n.value),
                    )
                    .with_help("remove the repeated entry from `needs`")
                    .with_related(self.file, first, "first listed here");
                    self.cx.push(d);
                }
            }
            if let Some(h) = &s.on_error {
                self.sibling_ref(h, &index, &siblings, "on_error");
                if h.value == s.id.value {
                    self.cx.error(
                        Code::SelfDependency,
                        self.file,
                        h.span,
                        format!("step `{}` is its own error handler", h.value),
                        "name another step in `on_error`",
                    );
                }
            }
        }
        self.cycles(steps, &index);
        let outer_reads = std::mem::take(&mut self.reads);
        let mut reads: Vec<(usize, PendingRead)> = Vec::new();
        let mut out = Vec::new();
        for (i, s) in steps.iter().enumerate() {
            if let Some(c) = self.step(s, scope) {
                out.push(c);
            }
            reads.extend(self.reads.drain(..).map(|r| (i, r)));
        }
        self.reads = outer_reads;
        self.resolve_reads(steps, &index, reads);
        self.unreachable(steps, &index, &out);
        out
    }

    /// Checks the reads of this step list's steps (`(reader, read)`): a read of a step of this
    /// list (or of a step inside one of its groups) needs that step upstream of the reader; a
    /// read of any other step is passed on to the enclosing list, where the reader is the
    /// enclosing group.
    fn resolve_reads(
        &mut self,
        steps: &[ast::Step],
        index: &HashMap<&str, usize>,
        reads: Vec<(usize, PendingRead)>,
    ) {
        // Every id of the list and of its groups, with the sibling it belongs to.
        let mut owner: HashMap<&str, usize> = HashMap::new();
        for (i, s) in steps.iter().enumerate() {
            let mut ids = Vec::new();
            descendants(s, &mut ids);
            for id in ids {
                owner.entry(id).or_insert(i);
            }
        }
        let mut queries = Vec::new();
        let mut local = Vec::new();
        for (reader, r) in reads {
            match owner.get(r.id.as_str()) {
                Some(&t) => {
                    queries.push((t, reader));
                    local.push(r);
                }
                None => self.reads.push(r),
            }
        }
        if local.is_empty() {
            return;
        }
        // A read that a mistyped `needs` or `on_error` (already an error) would order once
        // fixed is not told to add a `needs` too: for a mistyped error handler, that would make
        // it wait for the very step it handles.
        let preds = predecessors(steps, index);
        let ordered = reaches(&preds, &queries);
        let meant = meant_links(steps, index);
        // Ordered once the typos are fixed as suggested, through any chain of steps.
        let ordered_as_meant = if meant.is_empty() {
            ordered.clone()
        } else {
            let mut fixed = preds.clone();
            for (later, earlier) in meant {
                if let (Some(&l), Some(&e)) = (index.get(later), index.get(earlier)) {
                    fixed[l].push(e);
                }
            }
            reaches(&fixed, &queries)
        };
        let answers = ordered.into_iter().zip(ordered_as_meant);
        for ((r, (ok, ok_as_meant)), (owner, reader)) in local.iter().zip(answers).zip(&queries) {
            let (Some(owner), Some(reader)) = (steps.get(*owner), steps.get(*reader)) else {
                continue;
            };
            if !ok && !ok_as_meant {
                self.unordered_read(r, Some((&reader.id.value, &owner.id.value)));
            }
        }
    }

    fn sibling_ref(
        &mut self,
        r: &Spanned<String>,
        index: &HashMap<&str, usize>,
        siblings: &[&str],
        key: &str,
    ) {
        if index.contains_key(r.value.as_str()) {
            return;
        }
        // A step whose id is no identifier (reported) is not suggested as written; when it
        // kept that id, what names it as suggested is told to fix the id there.
        let invalid = siblings
            .iter()
            .copied()
            .filter(|s| !crate::lower::is_identifier(s))
            .find(|s| crate::lower::nearest_identifier(s, "step").as_ref() == Some(&r.value));
        let help = if self.all_ids.contains_key(&r.value) {
            format!("`{}` is in another step list; `{key}` names steps of the same list (use a group's id to wait for the whole group)", r.value)
        } else if let Some(invalid) = invalid {
            format!(
                "`{}` is the id suggested for step `{}`, whose id is not an identifier: fix the \
                 id of that step",
                r.value,
                crate::diagnostic::clip(invalid, 80)
            )
        } else {
            let valid = siblings
                .iter()
                .copied()
                .filter(|s| crate::lower::is_identifier(s));
            suggestion(&r.value, valid)
        };
        self.cx.error(
            Code::UnknownStep,
            self.file,
            r.span,
            format!("`{key}` names unknown step `{}`", r.value),
            help,
        );
    }

    fn cycles(&mut self, steps: &[ast::Step], index: &HashMap<&str, usize>) {
        let preds = predecessors(steps, index);
        let mut g = petgraph::graph::DiGraph::<usize, ()>::new();
        let nodes: Vec<_> = (0..steps.len()).map(|i| g.add_node(i)).collect();
        for (i, ps) in preds.iter().enumerate() {
            for &j in ps {
                g.add_edge(nodes[j], nodes[i], ());
            }
        }
        for scc in petgraph::algo::kosaraju_scc(&g) {
            if scc.len() < 2 {
                continue;
            }
            let members: HashSet<usize> = scc.iter().map(|n| g[*n]).collect();
            let start = *members.iter().min().unwrap_or(&0);
            // The shortest cycle through the first step in document order, found breadth-first
            // along dependencies within the component: a greedy walk can stray into steps that
            // are in the component but not on one cycle with it.
            let mut came_from: HashMap<usize, usize> = HashMap::new();
            let mut queue = std::collections::VecDeque::from([start]);
            let mut last = start;
            'search: while let Some(cur) = queue.pop_front() {
                for &j in &preds[cur] {
                    if j == start {
                        last = cur;
                        break 'search;
                    }
                    if members.contains(&j) && j != start && !came_from.contains_key(&j) {
                        came_from.insert(j, cur);
                        queue.push_back(j);
                    }
                }
            }
            // `start`, then each dependency in turn, back to `last` (which needs `start`).
            let mut path = vec![last];
            while let Some(&prev) = path.last().and_then(|n| came_from.get(n)) {
                path.push(prev);
            }
            if path.last() != Some(&start) {
                path.push(start);
            }
            path.dedup();
            path.rotate_right(1);
            let mut names: Vec<String> = path
                .iter()
                .map(|i| format!("`{}`", steps[*i].id.value))
                .collect();
            names.push(format!("`{}`", steps[path[0]].id.value));
            // Each link `x` → `y` (`y` runs after `x`) is an entry of `y`'s `needs`, or `y` is
            // the `on_error` handler of `x`. The caret goes on the link that closes the cycle,
            // back to its first step; error edges are named, being no dependency as written.
            let link = |x: usize, y: usize| -> (Span, bool) {
                let needed = steps[y]
                    .needs
                    .iter()
                    .find(|n| index.get(n.value.as_str()) == Some(&x));
                match (needed, &steps[x].on_error) {
                    (Some(n), _) => (n.span, false),
                    (None, Some(h)) => (h.span, true),
                    (None, None) => (steps[y].id.span, false),
                }
            };
            let links: Vec<(usize, usize)> = path
                .iter()
                .zip(path.iter().cycle().skip(1))
                .map(|(&x, &y)| (x, y))
                .collect();
            let mut message = format!(
                "steps depend on each other in a cycle: {}",
                names.join(" → ")
            );
            let mut related = Vec::new();
            for (k, &(x, y)) in links.iter().enumerate() {
                let (span, on_error) = link(x, y);
                if on_error {
                    let (x, y) = (&steps[x].id.value, &steps[y].id.value);
                    message.push_str(&format!(
                        "; `{y}` is the `on_error` handler of `{x}`, so it runs after `{x}`"
                    ));
                    if k + 1 < links.len() {
                        related.push((
                            span,
                            format!("`{y}` runs after `{x}` as its `on_error` handler"),
                        ));
                    }
                }
            }
            let (span, closing_on_error, label) =
                links
                    .last()
                    .map_or((steps[start].id.span, false, String::new()), |&(x, y)| {
                        let (span, on_error) = link(x, y);
                        let (x, y) = (&steps[x].id.value, &steps[y].id.value);
                        let label = if on_error {
                            format!("`{y}` handles the errors of `{x}`, closing the cycle")
                        } else {
                            format!("`{y}` needs `{x}`, closing the cycle")
                        };
                        (span, on_error, label)
                    });
            let help = if closing_on_error || !related.is_empty() {
                "remove one dependency of the cycle: a `needs` entry, or an `on_error` handler \
                 (a handler runs after the step it handles); steps must form a DAG"
            } else {
                "remove one dependency of the cycle; steps must form a DAG"
            };
            let mut d = Diagnostic::new(Code::DependencyCycle, self.file, span, message)
                .with_help(help)
                .with_label(label);
            for (span, label) in related {
                d = d.with_related(self.file, span, label);
            }
            self.cx.push(d);
        }
    }

    /// Warns about steps that can never run. Following the scheduler, a step whose `if` is
    /// false is skipped and a skipped dependency does not stop its dependents, so only a
    /// step's own condition or item list makes it dead, and an error handler is dead when
    /// every step it handles is dead (a step that never runs never fails) or never fails (a
    /// `for_each` with `on_error: continue` carries on past failed items and succeeds).
    fn unreachable(
        &mut self,
        steps: &[ast::Step],
        index: &HashMap<&str, usize>,
        checked: &[c::Step],
    ) {
        let mut dead = vec![false; steps.len()];
        // Why a step is dead by itself, for the help; a handler dead for its steps has none.
        let mut why: Vec<Option<&str>> = vec![None; steps.len()];
        let mut queue = Vec::new();
        for s in checked {
            // Only `true` holds: a constant `false` or `null` never does, nor a test no value
            // passes; a filter that never holds keeps no item.
            let never = if s.condition.as_ref().is_some_and(Expr::never_holds) {
                Some("its `if` can never be true (a constant, or a test no value passes)")
            } else {
                s.for_each.as_ref().and_then(|f| {
                    if f.items
                        .constant()
                        .is_some_and(|v| matches!(v, Value::List(l) if l.is_empty()))
                    {
                        Some("its `for_each` item list is always empty")
                    } else if f.filter.as_ref().is_some_and(Expr::never_holds) {
                        Some("its `for_each` `filter` can never be true, so it keeps no item")
                    } else {
                        None
                    }
                })
            };
            if let (Some(reason), Some(&i)) = (never, index.get(s.id.as_str())) {
                if !dead[i] {
                    dead[i] = true;
                    why[i] = Some(reason);
                    queue.push(i);
                }
            }
        }
        // How many live steps that can fail name each handler; at zero the handler is dead.
        let mut live_referrers = vec![0usize; steps.len()];
        let mut handled = vec![false; steps.len()];
        // Handlers of a step that never fails, for the help.
        let mut of_continue = vec![false; steps.len()];
        let never_fails = |s: &ast::Step| {
            s.for_each
                .as_ref()
                .is_some_and(|f| f.on_error == ast::ErrorStrategy::Continue)
        };
        for s in steps {
            if let Some(&h) = s
                .on_error
                .as_ref()
                .and_then(|h| index.get(h.value.as_str()))
            {
                handled[h] = true;
                if never_fails(s) {
                    of_continue[h] = true;
                } else {
                    live_referrers[h] += 1;
                }
            }
        }
        for (h, _) in handled.iter().enumerate().filter(|(_, handled)| **handled) {
            if live_referrers[h] == 0 && !dead[h] {
                dead[h] = true;
                queue.push(h);
            }
        }
        while let Some(i) = queue.pop() {
            let handler = steps[i]
                .on_error
                .as_ref()
                .and_then(|h| index.get(h.value.as_str()));
            if let Some(&h) = handler.filter(|_| !never_fails(&steps[i])) {
                live_referrers[h] -= 1;
                if live_referrers[h] == 0 && !dead[h] {
                    dead[h] = true;
                    queue.push(h);
                }
            }
        }
        for (((s, _), continued), why) in steps
            .iter()
            .zip(&dead)
            .zip(&of_continue)
            .zip(&why)
            .filter(|(((_, d), _), _)| **d)
        {
            let help = match why {
                Some(reason) => format!("{reason}; remove the step or fix it"),
                None if *continued => "it handles errors only of steps that never run or never fail: a `for_each` with `on_error: continue` succeeds whatever its items do; use `on_error: collect` to carry on past a failed item and still fail the step".to_string(),
                None => "it handles errors only of steps that can never run (see their warnings); remove it, or fix those steps".to_string(),
            };
            let d = Diagnostic::new(
                Code::UnreachableStep,
                self.file,
                s.id.span,
                format!("step `{}` can never run", s.id.value),
            )
            .with_help(help);
            self.cx.push(d);
        }
    }

    fn step(&mut self, s: &ast::Step, scope: &Scope) -> Option<c::Step> {
        let file = self.file;
        // `if` is evaluated once, before any fan-out: the step's own item is not in its scope.
        let own_item = s.for_each.as_ref().map(|f| f.var.value.as_str());
        let condition = s.condition.as_ref().and_then(|e| {
            let x = self
                .cx
                .expr_explained(file, e, scope, Some(&Type::Bool), |d, at| {
                    if let Some(help) = own_item.and_then(|item| own_item_help(d, &at, item, e)) {
                        d.help = Some(help);
                    }
                })?;
            self.check_reads(&x, &s.id.value, e);
            Some(x)
        });
        let mut item_scope = scope.clone();
        let for_each = s.for_each.as_ref().and_then(|f| {
            let items = self.checked_expr(&f.items, scope, None, &s.id.value);
            let elem = match items.as_ref().map(|i| i.ty()) {
                Some(Type::List(t)) => Some(t.as_ref().clone()),
                Some(Type::Any) => Some(Type::Any),
                Some(other) => {
                    self.cx.error(
                        Code::TypeMismatch,
                        file,
                        f.items.span,
                        format!("`for_each` needs a list, found `{other}`"),
                        "fan out over a list such as `incident.devices` or `filter(incident.users, u => …)`",
                    );
                    None
                }
                None => None,
            };
            // Items that did not check still name the item variable, of an unknown type:
            // one mistake in `items` is one message, not one more per use of the item.
            let slot = item_scope.push_item_of(&f.var.value, elem.clone().unwrap_or(Type::Any), items.as_ref());
            let filter = f.filter.as_ref().and_then(|e| self.checked_expr(e, &item_scope, Some(&Type::Bool), &s.id.value));
            let (items, Some(_)) = (items?, elem) else {
                return None;
            };
            Some(c::ForEach {
                items,
                var: f.var.value.clone(),
                slot,
                filter,
                concurrency: f.concurrency,
                on_error: f.on_error,
            })
        });
        let approval = s.approval.as_ref().map(|a| {
            // An invalid `timeout` or `on_timeout` was reported where it is written.
            if !a.absent.is_empty() {
                let missing: Vec<String> = a.absent.iter().map(|k| format!("`{k}`")).collect();
                self.cx.error(
                    Code::ApprovalWithoutTimeoutOutcome,
                    file,
                    a.span,
                    format!("the approval gate of step `{}` lacks {}", s.id.value, missing.join(" and ")),
                    "say how long to wait and what happens then: `timeout: 4h` and `on_timeout: reject` (or `approve`, `fail`)",
                );
            }
            // An invalid role was reported where it is written; the gate still holds the step
            // back (for a Workspace Owner, the strictest), so that no later check reports the
            // step as ungated too. Nothing runs a library with errors.
            c::ApprovalGate {
                role: a.role.as_ref().map_or(ast::Role::WorkspaceOwner, |r| r.value),
                timeout_ms: a.timeout.as_ref().map_or(0, |t| t.value),
                on_timeout: a.on_timeout.as_ref().map_or(ast::TimeoutOutcome::Reject, |o| o.value),
                quorum: a.quorum,
            }
        });
        let gated = s.approval.is_some();
        self.gates += u32::from(gated);
        let kind = self.step_kind(s, &item_scope, for_each.as_ref());
        self.gates -= u32::from(gated);
        let kind = kind?;
        Some(c::Step {
            id: s.id.value.clone(),
            name: s.name.clone(),
            span: s.span,
            id_span: s.id.span,
            kind,
            condition,
            needs: s.needs.iter().map(|n| n.value.clone()).collect(),
            for_each,
            approval,
            retry: s.retry.as_ref().map(|r| c::RetryPolicy {
                attempts: r.attempts,
                backoff_ms: r.backoff_ms,
                strategy: r.strategy,
            }),
            timeout_ms: s.timeout.as_ref().map(|t| t.value),
            on_error: s.on_error.as_ref().map(|h| h.value.clone()),
        })
    }

    /// What step `s` does: its action, task, call or group of steps.
    fn step_kind(
        &mut self,
        s: &ast::Step,
        item_scope: &Scope,
        for_each: Option<&c::ForEach>,
    ) -> Option<c::StepKind> {
        let file = self.file;
        let kind = match &s.kind {
            ast::StepKind::Action {
                action,
                target,
                params,
                params_span,
            } => self.action(
                s,
                action,
                target.as_ref(),
                params.as_deref(),
                *params_span,
                item_scope,
                for_each,
            )?,
            ast::StepKind::Task(t) => {
                let task = self.cx.task(file, t, item_scope)?;
                for e in task.title.exprs() {
                    self.check_reads(e, &s.id.value, &t.title);
                }
                c::StepKind::Task(task)
            }
            ast::StepKind::Call { gamebook, with } => {
                let Some(iface) = self.interfaces.get(&gamebook.value) else {
                    self.cx.error(
                        Code::UnknownGamebook,
                        file,
                        gamebook.span,
                        format!("no gamebook named `{}` in the library", gamebook.value),
                        gamebook_help(
                            &gamebook.value,
                            self.interfaces,
                            &self.cx.unread,
                            Some(&self.iface.ast.meta.name.value),
                        ),
                    );
                    self.cx
                        .orphan_templates(file, with.as_deref().unwrap_or_default(), item_scope);
                    return None;
                };
                let values =
                    self.cx
                        .inputs(file, with.as_deref(), iface, item_scope, gamebook.span);
                for (name, v) in &values {
                    let given = with.as_deref().unwrap_or_default();
                    if let Some((_, node)) = given.iter().find(|(n, _)| &n.value == name) {
                        self.check_value_reads(v, node, &s.id.value);
                    }
                }
                let with = values;
                c::StepKind::Call {
                    gamebook: gamebook.value.clone(),
                    with,
                }
            }
            ast::StepKind::Group(inner) => c::StepKind::Group(self.steps(inner, item_scope)),
            // Its error is reported; the step only keeps its place among its siblings.
            ast::StepKind::Invalid => return None,
        };
        Some(kind)
    }

    /// Compiles an expression and checks that every `steps.<id>` it reads is upstream.
    fn checked_expr(
        &mut self,
        e: &ExprText,
        scope: &Scope,
        expected: Option<&Type>,
        step: &str,
    ) -> Option<Expr> {
        let x = self.cx.expr(self.file, e, scope, expected)?;
        self.check_reads(&x, step, e);
        Some(x)
    }

    /// Every `steps.<id>` an expression reads must finish before `step` starts. Whether it
    /// does is decided once the whole step list is known (see [`Self::resolve_reads`]).
    fn check_reads(&mut self, x: &Expr, step: &str, source: &ExprText) {
        for (path, span) in x.references() {
            if path.first().map(String::as_str) != Some("steps") {
                continue;
            }
            let Some(id) = path.get(1) else {
                // `steps` as a whole (`first([steps]).x`): what it holds would depend on which
                // steps happen to have finished, so only `steps.<id>` of a dependency is read.
                self.cx.error(
                    Code::UnknownStep,
                    self.file,
                    source.file_span(span),
                    format!("step `{step}` reads `steps` as a whole"),
                    "read `steps.<id>` of a step this one `needs`; which other steps have \
                     finished when it runs is not decided",
                );
                continue;
            };
            self.reads.push(PendingRead {
                id: id.clone(),
                step: step.to_string(),
                span: source.file_span(span),
            });
        }
    }

    /// Reports a read of `steps.<id>` that nothing makes finish before the reading step.
    /// `lists` names, in the list where both are, the step holding the reader (itself, or its
    /// group) and the one holding `id`: `needs` names a step of its own list.
    fn unordered_read(&mut self, r: &PendingRead, lists: Option<(&str, &str)>) {
        let (id, step) = (&r.id, &r.step);
        let help = match lists {
            _ if id == step => {
                "a step cannot read its own result; move the logic to a later step".to_string()
            }
            Some((reader, owner)) if reader != step.as_str() => format!(
                "add `needs: [{owner}]` to group `{reader}`, which holds step `{step}`, so {} \
                 has finished before it reads it",
                held(id, owner)
            ),
            Some((_, owner)) => format!(
                "add `needs: [{owner}]` so {} has finished before step `{step}` reads it",
                held(id, owner)
            ),
            None => {
                format!("add `needs: [{id}]` so `{id}` has finished before step `{step}` reads it")
            }
        };
        self.cx.error(
            Code::UnknownStep,
            self.file,
            r.span,
            format!("step `{step}` reads `steps.{id}` but does not depend on it"),
            help,
        );
    }

    /// [`Self::check_reads`] for a value given as YAML (params, `with:`).
    fn check_value_reads(&mut self, v: &ParamValue, node: &Node, step: &str) {
        let source = self.cx.expr_text(self.file, node);
        match v {
            ParamValue::Template(t) => {
                for e in t.exprs() {
                    self.check_reads(e, step, &source);
                }
            }
            ParamValue::Expr(e) => self.check_reads(e, step, &source),
            ParamValue::Const(_) => {}
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn action(
        &mut self,
        s: &ast::Step,
        action: &Spanned<String>,
        target: Option<&ExprText>,
        params: Option<&[(Spanned<String>, Node)]>,
        params_span: Span,
        scope: &Scope,
        for_each: Option<&c::ForEach>,
    ) -> Option<c::StepKind> {
        let file = self.file;
        // `params:` that is no mapping was reported: what it lacks is not reported too.
        let complete = params.is_some();
        let params = params.unwrap_or_default();
        let Some(spec) = catalog::lookup(&action.value) else {
            self.cx.error(
                Code::UnknownAction,
                file,
                action.span,
                format!("unknown action `{}`", action.value),
                suggestion(&action.value, catalog::catalog().iter().map(|a| a.id)),
            );
            if let Some(t) = target {
                self.checked_expr(t, scope, None, &s.id.value);
            }
            self.cx.orphan_templates(file, params, scope);
            return None;
        };
        // A gate on the step or a group around it puts a person before it, who signs in.
        if spec.delegated_only() && self.gates == 0 {
            let d = Diagnostic::new(
                Code::DelegatedOnly,
                file,
                action.span,
                format!("`{}` runs only on behalf of a signed-in user (delegated permission), never app-only", spec.id),
            )
            .with_help("it runs on behalf of whoever approves it, who signs in to do so, so it waits for an approval in every mode; say who with an approval gate (`approval: {role: workspace_owner, timeout: 4h, on_timeout: reject}`)");
            self.cx.push(d);
        }
        let target = match (spec.target, target) {
            (Target::Incident, None) => None,
            (Target::Incident, Some(t)) => {
                self.cx.error(
                    Code::WrongTargetKind,
                    file,
                    t.span,
                    format!(
                        "`{}` acts on the incident itself and takes no `target`",
                        spec.id
                    ),
                    "remove `target:`",
                );
                None
            }
            (Target::Entity(kind), Some(t)) => {
                let x = self.checked_expr(t, scope, None, &s.id.value)?;
                self.check_target(spec, kind, &x, t)?;
                Some(x)
            }
            (Target::Entity(kind), None) => {
                // The target defaults to the innermost for-each item of the action's kind:
                // the step's own, or an enclosing group's.
                let loop_vars: Vec<(String, Type)> = scope
                    .names()
                    .filter(|n| !matches!(*n, "incident" | "inputs" | "steps"))
                    .filter_map(|n| scope.get(n).map(|(_, t)| (n.to_string(), t.clone())))
                    .collect();
                let own = for_each.map(|f| f.var.clone());
                let pick = loop_vars
                    .iter()
                    .rev()
                    .find(|(_, ty)| ty.entity_kind() == Some(kind) || *ty == Type::Any);
                match (pick, loop_vars.last()) {
                    (Some((var, _)), _) => {
                        let text = ExprText::unmapped(var.clone(), action.span);
                        Some(self.cx.expr(file, &text, scope, None)?)
                    }
                    (None, Some((var, ty))) => {
                        let help = if own.as_deref() == Some(var.as_str()) {
                            format!(
                                "fan out over `incident.{}` or give `target:` explicitly",
                                kind.collection()
                            )
                        } else {
                            format!("give `target:` a {kind} expression")
                        };
                        self.cx.error(
                            Code::WrongTargetKind,
                            file,
                            action.span,
                            format!(
                                "`{}` acts on a {kind}, but the for-each item `{var}` is `{ty}`",
                                spec.id
                            ),
                            help,
                        );
                        return None;
                    }
                    // The step fans out, but its `for_each` did not lower: that was
                    // reported, and the items would have been the target.
                    (None, None) if s.fans_out => return None,
                    (None, None) => {
                        self.cx.error(
                            Code::MissingKey,
                            file,
                            action.span,
                            format!("`{}` needs a `target:` {kind}", spec.id),
                            format!("add `for_each: incident.{}` to act on each {kind}, or `target:` naming one", kind.collection()),
                        );
                        return None;
                    }
                }
            }
        };
        let mut out = Vec::new();
        for (name, _) in params {
            if spec.param(&name.value).is_none() {
                self.cx.error(
                    Code::UnknownParam,
                    file,
                    name.span,
                    format!("`{}` has no parameter `{}`", spec.id, name.value),
                    spec.unknown_param_help(&name.value),
                );
            }
        }
        for p in spec.params {
            let given = params.iter().find(|(n, _)| n.value == p.name);
            match given {
                Some((_, node)) => {
                    if let Some(v) = self.param(spec, p, node, scope, &s.id.value) {
                        out.push((p.name, v));
                    }
                }
                None => match p.default {
                    Some(text) => {
                        match literal(&default_node(text, params_span), &p.ty.expr_type(), "") {
                            Ok(v) => out.push((p.name, ParamValue::Const(v))),
                            // The catalog's own tests keep defaults well-typed.
                            Err(_) => debug_assert!(
                                false,
                                "bad catalog default for {}.{}",
                                spec.id, p.name
                            ),
                        }
                    }
                    None if p.required && complete => {
                        self.cx.error(
                            Code::MissingParam,
                            file,
                            params_span,
                            format!("`{}` needs parameter `{}`", spec.id, p.name),
                            format!(
                                "add `{}: …` under `params:` ({}: {})",
                                p.name,
                                p.ty.describe(),
                                p.doc
                            ),
                        );
                    }
                    None => {}
                },
            }
        }
        // Params that must go together, when every one given is a constant; computed ones
        // are checked when a plan is made. Constants the service refuses together are refused
        // whatever else is computed (`action: audit` with `generate_alert: false`, beside a
        // templated `title`).
        if let Some(check) = spec.params_check.filter(|_| complete) {
            let constants: Vec<Option<(&str, &Value)>> = params
                .iter()
                .map(
                    |(n, _)| match out.iter().find(|(p, _)| *p == n.value.as_str()) {
                        Some((n, ParamValue::Const(v))) => Some((*n, v)),
                        _ => None,
                    },
                )
                .collect();
            // `None` when one is computed, or was reported already (not in `out`).
            let given: Option<Vec<(&str, &Value)>> = constants.iter().copied().collect();
            let problem = match given {
                Some(given) => check(&given),
                None => {
                    let some: Vec<(&str, &Value)> = constants.into_iter().flatten().collect();
                    check(&some).filter(|p| matches!(p, crate::catalog::ParamsProblem::Refused(_)))
                }
            };
            if let Some(problem) = problem {
                let code = match problem {
                    crate::catalog::ParamsProblem::Missing(_) => Code::MissingParam,
                    crate::catalog::ParamsProblem::Mismatched(_) => Code::InvalidClassification,
                    crate::catalog::ParamsProblem::Refused(_) => Code::ParamType,
                };
                self.cx.error(
                    code,
                    file,
                    params_span,
                    problem.message().to_string(),
                    format!("see `{}` in docs/actions.md", spec.id),
                );
            }
        }
        Some(c::StepKind::Action {
            spec,
            target,
            params: out,
        })
    }

    fn check_target(
        &mut self,
        spec: &ActionSpec,
        kind: crate::types::EntityKind,
        x: &Expr,
        t: &ExprText,
    ) -> Option<()> {
        let ty = x.ty();
        if ty.entity_kind() == Some(kind) || *ty == Type::Any {
            return Some(());
        }
        let (msg, help) = match ty {
            Type::List(inner) if inner.entity_kind() == Some(kind) => (
                format!("`{}` acts on one {kind}, but `target` is a list", spec.id),
                format!("move the list to `for_each: {}` and drop `target:`", t.text),
            ),
            Type::Record(r) if r.entity.is_some() || r.name == "entity" => (
                format!(
                    "`{}` acts on a {kind}, but `target` is a `{}`",
                    spec.id, r.name
                ),
                format!(
                    "target a {kind}, e.g. from `incident.{}`",
                    kind.collection()
                ),
            ),
            other => (
                format!("`{}` acts on a {kind}, but `target` is `{other}`", spec.id),
                format!(
                    "target a {kind}, e.g. from `incident.{}`",
                    kind.collection()
                ),
            ),
        };
        let span = t.file_span(x.span());
        self.cx
            .error(Code::WrongTargetKind, self.file, span, msg, help);
        None
    }

    fn param(
        &mut self,
        spec: &ActionSpec,
        p: &catalog::ParamSpec,
        node: &Node,
        scope: &Scope,
        step: &str,
    ) -> Option<ParamValue> {
        let what = format!("parameter `{}` of `{}`", p.name, spec.id);
        let values: Option<Vec<String>> = match p.ty {
            ParamType::Enum(vs) => Some(vs.iter().map(|v| v.to_string()).collect()),
            _ => None,
        };
        let v = self.cx.typed_value(
            self.file,
            node,
            &p.ty.expr_type(),
            values.as_deref(),
            scope,
            &what,
        )?;
        // A `{{ }}` that folds to a constant (`{{ -2h }}`) is checked as a literal would be;
        // computed values are checked when a plan is made.
        let constant = match &v {
            ParamValue::Expr(e) => e.constant(),
            ParamValue::Template(t) => t.single().and_then(|e| e.constant()),
            // A literal was checked as it was read, but for blank text.
            ParamValue::Const(c) if p.is_blank(c) => Some(c.clone()),
            ParamValue::Const(_) => None,
        };
        if let Some(c) = constant {
            if let Some(why) = p.refuses(&c) {
                let help = match p.default {
                    _ if !p.is_blank(&c) => {
                        format!("give {} a value it takes: {}", p.name, p.ty.describe())
                    }
                    Some(d) => format!("write its text, or leave `{}` out for `{d}`", p.name),
                    None => format!("write the text of `{}`", p.name),
                };
                self.cx.error(
                    Code::ParamType,
                    self.file,
                    node.span,
                    format!("{why} (in `{}`)", spec.id),
                    help,
                );
                return None;
            }
        }
        self.check_value_reads(&v, node, step);
        Some(v)
    }
}

/// For each step of a list, the siblings that finish before it starts: those it `needs`, and
/// (for an error handler) the steps it handles errors for. Unknown names and self-references
/// are left out; they are reported elsewhere.
fn predecessors(steps: &[ast::Step], index: &HashMap<&str, usize>) -> Vec<Vec<usize>> {
    let mut preds = vec![Vec::new(); steps.len()];
    for (i, s) in steps.iter().enumerate() {
        for n in &s.needs {
            if let Some(&j) = index.get(n.value.as_str()) {
                if j != i {
                    preds[i].push(j);
                }
            }
        }
        if let Some(&h) = s
            .on_error
            .as_ref()
            .and_then(|h| index.get(h.value.as_str()))
        {
            if h != i {
                preds[h].push(i);
            }
        }
    }
    preds
}

/// For each query `(from, to)`, whether a non-empty path leads from `from` to `to` in the
/// graph given by `preds` (`preds[v]` lists the sources of the edges into `v`).
///
/// Materialising every step's set of ancestors costs quadratic time and memory on a long
/// `needs` chain. Instead the distinct sources are taken 64 at a time, and one pass over the
/// strongly connected components in topological order computes, for every node, which of
/// those 64 reach it: O((nodes + edges) · sources / 64) time, linear memory.
fn reaches(preds: &[Vec<usize>], queries: &[(usize, usize)]) -> Vec<bool> {
    let n = preds.len();
    let mut g = petgraph::graph::DiGraph::<(), ()>::with_capacity(n, n);
    let nodes: Vec<_> = (0..n).map(|_| g.add_node(())).collect();
    for (v, ps) in preds.iter().enumerate() {
        for &p in ps {
            g.add_edge(nodes[p], nodes[v], ());
        }
    }
    // kosaraju_scc (iterative, so a long chain cannot overflow the stack) lists components
    // in reverse topological order.
    let mut sccs = petgraph::algo::kosaraju_scc(&g);
    sccs.reverse();
    let mut component = vec![0usize; n];
    for (c, scc) in sccs.iter().enumerate() {
        for v in scc {
            component[v.index()] = c;
        }
    }
    let mut sources: Vec<usize> = queries.iter().map(|q| q.0).collect();
    sources.sort_unstable();
    sources.dedup();
    let mut answers = vec![false; queries.len()];
    let mut bit = vec![0u64; n];
    let mut mask = vec![0u64; n];
    for chunk in sources.chunks(64) {
        for (k, &src) in chunk.iter().enumerate() {
            bit[src] = 1 << k;
        }
        for scc in &sccs {
            let c = component[scc[0].index()];
            let mut incoming = 0u64;
            for v in scc {
                for &p in &preds[v.index()] {
                    incoming |= bit[p];
                    // Inside a cycle (preds hold no self-edges) every member reaches every
                    // member, itself included, so members' own bits suffice; their masks
                    // are not computed yet.
                    if component[p] != c {
                        incoming |= mask[p];
                    }
                }
            }
            for v in scc {
                mask[v.index()] = incoming;
            }
        }
        for ((from, to), answer) in queries.iter().zip(answers.iter_mut()) {
            if bit[*from] != 0 {
                *answer |= mask[*to] & bit[*from] != 0;
            }
        }
        for &src in chunk {
            bit[src] = 0;
        }
    }
    answers
}

/// A step id and, for groups, every id inside.
/// The orderings the mistyped links of a step list mean, as `(later, earlier)` steps of it: a
/// `needs` entry naming no step, by the step it most likely meant, and an `on_error` naming
/// none, by the handler it most likely meant, which runs after the step it handles.
fn meant_links<'s>(
    steps: &'s [ast::Step],
    index: &HashMap<&'s str, usize>,
) -> Vec<(&'s str, &'s str)> {
    let ids = || steps.iter().map(|s| s.id.value.as_str());
    let meant = |link: &str| {
        if index.contains_key(link) {
            None
        } else {
            did_you_mean(link, ids())
        }
    };
    let mut out = Vec::new();
    for s in steps {
        let id = s.id.value.as_str();
        for n in &s.needs {
            out.extend(meant(&n.value).map(|earlier| (id, earlier)));
        }
        if let Some(h) = &s.on_error {
            out.extend(meant(&h.value).map(|handler| (handler, id)));
        }
    }
    out
}

fn descendants<'s>(s: &'s ast::Step, out: &mut Vec<&'s str>) {
    out.push(s.id.value.as_str());
    if let ast::StepKind::Group(inner) = &s.kind {
        for i in inner {
            descendants(i, out);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::SourceFile;

    fn codes(files: &[&str]) -> Vec<Code> {
        let mut sources = SourceMap::new();
        for (i, text) in files.iter().enumerate() {
            sources.add(SourceFile::new(format!("f{i}.yaml"), *text));
        }
        compile(&sources, &syntax::Limits::default(), Vec::new())
            .diagnostics
            .iter()
            .map(|d| d.code)
            .collect()
    }

    fn gamebook(steps: &str) -> String {
        format!("kind: gamebook\nname: t\nversion: 1.0.0\nsteps:\n{steps}")
    }

    /// The `matches` patterns of a library share one budget: past it, each new pattern is an
    /// RP0204 at its literal; a pattern used again is compiled once and costs nothing more.
    #[test]
    fn regexes_of_a_library_are_bounded_together() {
        let sop = |name: &str, patterns: &mut dyn Iterator<Item = String>| {
            let mut text =
                format!("kind: sop\ntype: classification\nname: {name}\ndescription: d\nrules:\n");
            for (i, p) in patterns.enumerate() {
                text.push_str(&format!(
                    "  - name: r{i}\n    when: \"incident.title matches '{p}'\"\n    classification: true_positive\n    reason: other\n    confidence: 50\n"
                ));
            }
            text
        };
        let budget = 1 << 20;
        let run = |texts: &[String]| {
            let mut sources = SourceMap::new();
            for (i, text) in texts.iter().enumerate() {
                sources.add(SourceFile::new(format!("f{i}.yaml"), text.as_str()));
            }
            let c = compile_with(
                &sources,
                &syntax::Limits::default(),
                Vec::new(),
                expr::Regexes::with_budget(budget),
            );
            (sources, c)
        };

        // Distinct patterns: the first ones compile, every one past the bound is an error.
        let distinct = sop("distinct", &mut (0..30).map(|i| format!("\\\\w{{2}}{i}")));
        let (sources, c) = run(std::slice::from_ref(&distinct));
        assert!(c.diagnostics.iter().all(|d| d.code == Code::InvalidRegex));
        let first = c.diagnostics.first().expect("the bound is reached");
        let at = sources.get(first.file).line_col(first.span.start as usize);
        let over = 30 - c.diagnostics.len();
        assert!(over >= 4, "{over} patterns fit");
        // Rule `over` is the first that does not fit: its `when` is on line 7 + 5 × over, the
        // pattern's literal after `    when: "incident.title matches `.
        assert_eq!((at.line, at.column), (7 + 5 * over, 35), "{first:?}");
        assert_eq!(
            &distinct[first.span.range()],
            format!("'\\\\w{{2}}{over}'"),
            "the literal of the pattern"
        );
        assert!(first.message.contains("does not fit"), "{}", first.message);

        // The same pattern in many rules of two files costs one pattern.
        let same = |name: &str| sop(name, &mut std::iter::repeat_n("\\\\w{2}x".to_string(), 200));
        let (_, c) = run(&[same("a"), same("b")]);
        assert!(c.diagnostics.is_empty(), "{:?}", c.diagnostics.first());
        assert_eq!(c.library.sops.len(), 2);
    }

    /// In quoted scalars with escapes, errors point at the name, not at the whole scalar.
    #[test]
    fn errors_in_quoted_scalars_with_escapes_point_at_the_name() {
        for cond in [
            r#""incident.title == \"x\" and incident.severty == high""#,
            "'incident.title == ''x'' and incident.severty == high'",
            r#""incident.title matches '\\d+' and incident.severty == high""#,
        ] {
            let text = gamebook(&format!(
                "  - id: a\n    if: {cond}\n    action: incident.comment\n    params: {{comment: x}}\n"
            ));
            let mut sources = SourceMap::new();
            sources.add(SourceFile::new("f.yaml", text.as_str()));
            let d = compile(&sources, &syntax::Limits::default(), Vec::new())
                .diagnostics
                .into_iter()
                .find(|d| d.code == Code::UnknownName)
                .expect("the unknown field is reported");
            assert_eq!(&text[d.span.range()], "severty", "{cond}");
        }
    }

    /// A `{{ }}` that folds to a constant is checked as the literal would be.
    #[test]
    fn constant_param_expressions_are_checked_like_literals() {
        for (params, says) in [
            (
                "{expires_in: \"{{ -2h }}\"}",
                "parameter `expires_in` is `-2h`; it takes a duration longer than zero",
            ),
            (
                "{expires_in: \"{{ 1h - 1h }}\"}",
                "parameter `expires_in` is `0s`",
            ),
            (
                "{action: \"{{ 'blok' }}\"}",
                "parameter `action` is `blok`; it takes one of `block`, `audit`, `warn`",
            ),
        ] {
            let g = gamebook(&format!(
                "  - {{id: b, for_each: incident.ips, action: ip.block, params: {params}}}\n"
            ));
            let found = messages(&[&g]);
            assert!(
                found
                    .iter()
                    .any(|(c, m, _)| *c == Code::ParamType && m.contains(says)),
                "{params}: {found:?}"
            );
        }
        let fine = gamebook(
            "  - {id: b, for_each: incident.ips, action: ip.block, params: {expires_in: \"{{ 2 * 1h }}\"}}\n",
        );
        assert_eq!(codes(&[&fine]), []);
    }

    #[test]
    fn group_items_are_the_default_target_of_inner_actions() {
        let g = gamebook("  - id: each\n    for_each: {items: incident.devices, as: d}\n    steps:\n      - {id: scan, action: device.quick_scan}\n");
        assert_eq!(codes(&[&g]), []);
        let g = gamebook("  - id: each\n    for_each: {items: incident.users, as: u}\n    steps:\n      - {id: scan, action: device.quick_scan}\n");
        assert_eq!(codes(&[&g]), [Code::WrongTargetKind]);
        let g = gamebook("  - {id: scan, action: device.quick_scan}\n");
        assert_eq!(codes(&[&g]), [Code::MissingKey]);
    }

    /// A blank protection rule of an SOP protects nothing: an error, as in a workspaces file.
    #[test]
    fn a_blank_protection_rule_is_an_error() {
        let g = gamebook("  - {id: note, action: incident.comment, params: {comment: hi}}\n");
        let sop = |rules: &str| {
            format!(
                "kind: sop\ntype: response\nname: s\nguardrails:\n  protected: [{rules}]\ngamebooks:\n  - gamebook: t\n"
            )
        };
        assert_eq!(codes(&[&g, &sop("{name: \"dc-*\"}, {tag: x}")]), []);
        assert_eq!(
            codes(&[&g, &sop("{id: \"\"}, {name: \" \"}, {tag: x}")]),
            [Code::InvalidValue, Code::InvalidValue]
        );
    }

    /// An item name that cannot be one is one error: the filter, target and params reading
    /// the item by it are left unchecked, and steps reading the step's output are not told
    /// about it again.
    #[test]
    fn an_item_name_that_cannot_be_one_is_one_error() {
        for name in ["high", "true", "incident", "Device"] {
            let g = gamebook(&format!(
                "  - id: iso\n    for_each: {{items: incident.devices, as: {name}, filter: \"{name}.verdict != 'x'\"}}\n    action: device.isolate\n    target: {name}\n    params: {{comment: \"{{{{ {name}.name }}}}\"}}\n  - {{id: after, needs: [iso], action: incident.comment, params: {{comment: \"{{{{ steps.iso.output.machine_action_id }}}}\"}}}}\n"
            ));
            assert_eq!(codes(&[&g]), [Code::InvalidValue], "{name}");
        }
        // A group keeps its steps: what names them finds them.
        let g = gamebook("  - id: grp\n    for_each: {items: incident.devices, as: high}\n    steps:\n      - {id: inner, if: \"high.verdict == 'x'\", action: device.isolate, target: high}\n  - {id: after, needs: [grp], action: incident.comment, params: {comment: \"{{ steps.inner.output.status }}\"}}\n");
        assert_eq!(codes(&[&g]), [Code::InvalidValue]);
        // With a valid name, the same step checks.
        let g = gamebook("  - id: iso\n    for_each: {items: incident.devices, as: d, filter: \"d.verdict != 'malicious'\"}\n    action: device.isolate\n    target: d\n    params: {comment: \"{{ d.name }}\"}\n");
        assert_eq!(codes(&[&g]), []);
    }

    #[test]
    fn targets_must_be_one_entity_of_the_right_kind() {
        let list =
            gamebook("  - {id: scan, action: device.quick_scan, target: incident.devices}\n");
        assert_eq!(codes(&[&list]), [Code::WrongTargetKind]);
        let first = gamebook(
            "  - {id: scan, action: device.quick_scan, target: \"first(incident.devices)\"}\n",
        );
        assert_eq!(codes(&[&first]), []);
        let incident = gamebook(
            "  - {id: c, action: incident.comment, target: incident, params: {comment: x}}\n",
        );
        assert_eq!(codes(&[&incident]), [Code::WrongTargetKind]);
    }

    #[test]
    fn reading_a_step_needs_a_dependency_path() {
        let direct = gamebook(concat!(
            "  - {id: a, action: incident.comment, params: {comment: a}}\n",
            "  - {id: b, needs: [a], action: incident.comment, params: {comment: b}}\n",
            "  - {id: c, needs: [b], if: \"steps.a.status == 'succeeded'\", action: incident.comment, params: {comment: c}}\n",
        ));
        assert_eq!(codes(&[&direct]), [], "transitive dependencies count");
        let missing = gamebook(concat!(
            "  - {id: a, action: incident.comment, params: {comment: a}}\n",
            "  - {id: b, if: \"steps.a.status == 'succeeded'\", action: incident.comment, params: {comment: b}}\n",
        ));
        assert_eq!(codes(&[&missing]), [Code::UnknownStep]);
        let handler = gamebook(concat!(
            "  - {id: a, action: incident.comment, params: {comment: a}, on_error: h}\n",
            "  - {id: h, action: incident.comment, params: {comment: \"a is {{ steps.a.status }}\"}}\n",
        ));
        assert_eq!(
            codes(&[&handler]),
            [],
            "an error handler reads the step it handles"
        );
    }

    #[test]
    fn reads_across_groups_and_cycles_follow_dependencies() {
        let group = gamebook(concat!(
            "  - {id: a, action: incident.comment, params: {comment: a}}\n",
            "  - id: g\n    needs: [a]\n    steps:\n",
            "      - {id: in1, action: incident.comment, params: {comment: \"{{ steps.a.status }}\"}}\n",
            "      - {id: in2, needs: [in1], action: incident.comment, params: {comment: \"{{ steps.in1.status }}\"}}\n",
            "  - {id: b, needs: [g], action: incident.comment, params: {comment: \"{{ steps.in2.status }}\"}}\n",
        ));
        assert_eq!(codes(&[&group]), [], "groups see their group's upstream");
        let sibling_in_group = gamebook(concat!(
            "  - id: g\n    steps:\n",
            "      - {id: in1, action: incident.comment, params: {comment: x}}\n",
            "      - {id: in2, action: incident.comment, params: {comment: \"{{ steps.in1.status }}\"}}\n",
        ));
        assert_eq!(codes(&[&sibling_in_group]), [Code::UnknownStep]);
        let own = gamebook(
            "  - {id: a, action: incident.comment, params: {comment: \"{{ steps.a.status }}\"}}\n",
        );
        assert_eq!(codes(&[&own]), [Code::UnknownStep]);
    }

    #[test]
    fn reachability_handles_chains_cycles_and_many_sources() {
        // 0 → 1 → 2, 3 ⇄ 4, 4 → 5; 200 sources exercise more than one 64-bit chunk.
        let mut preds = vec![vec![], vec![0], vec![1], vec![4], vec![3], vec![4]];
        let queries = [
            (0, 2),
            (2, 0),
            (0, 0),
            (3, 3),
            (4, 3),
            (3, 5),
            (5, 3),
            (1, 5),
        ];
        assert_eq!(
            reaches(&preds, &queries),
            [true, false, false, true, true, true, false, false]
        );
        let base = preds.len();
        for i in 0..200 {
            preds.push(if i == 0 { vec![] } else { vec![base + i - 1] });
        }
        let queries: Vec<(usize, usize)> = (0..200)
            .map(|i| (base + i, base + 199))
            .chain((1..200).map(|i| (base + i, base)))
            .collect();
        let answers = reaches(&preds, &queries);
        assert!(
            answers[..199].iter().all(|a| *a),
            "every earlier link reaches the end"
        );
        assert!(!answers[199], "the end does not reach itself");
        assert!(
            answers[200..].iter().all(|a| !*a),
            "nothing reaches the start"
        );
    }

    /// A long `needs` chain where steps read far upstream. The read and dependency checks
    /// once built every step's ancestor set by list scans (cubic); at this size such an
    /// algorithm would not finish, while the linear passes take well under a second.
    #[test]
    fn a_twenty_thousand_step_chain_compiles() {
        let n = 20_000;
        let mut text = String::from("kind: gamebook\nname: chain\nversion: 1.0.0\nsteps:\n");
        text.push_str("  - {id: s0, action: incident.comment, params: {comment: x}}\n");
        for i in 1..n {
            let read = if i % 100 == 0 { 0 } else { i - 1 };
            let _ = std::fmt::Write::write_fmt(
                &mut text,
                format_args!(
                    "  - {{id: s{i}, needs: s{}, action: incident.comment, params: {{comment: \"{{{{ steps.s{read}.status }}}}\"}}}}\n",
                    i - 1
                ),
            );
        }
        // A read of a step that is downstream, at the end of the chain.
        text.push_str("  - {id: late, action: incident.comment, params: {comment: \"{{ steps.s5.status }}\"}}\n");
        let mut sources = SourceMap::new();
        sources.add(SourceFile::new("chain.yaml", text));
        let limits = syntax::Limits {
            max_file_bytes: 16 * 1024 * 1024,
            max_nodes: 1_000_000,
            ..syntax::Limits::default()
        };
        let c = compile(&sources, &limits, Vec::new());
        let found: Vec<Code> = c.diagnostics.iter().map(|d| d.code).collect();
        assert_eq!(
            found,
            [Code::UnknownStep],
            "only `late` reads a step it does not depend on"
        );
        assert_eq!(c.library.gamebooks[0].steps.len(), n + 1);
    }

    #[test]
    fn steps_after_a_skipped_dependency_still_run() {
        // The scheduler skips `y` (its `if` is false) and runs `z`: a skipped dependency
        // does not stop its dependents.
        let skipped = gamebook(concat!(
            "  - {id: y, if: false, action: incident.comment, params: {comment: y}, on_error: h}\n",
            "  - {id: z, needs: [y], action: incident.comment, params: {comment: z}}\n",
            "  - {id: h, action: incident.comment, params: {comment: h}, on_error: h2}\n",
            "  - {id: h2, action: incident.comment, params: {comment: h2}}\n",
            "  - {id: after_h, needs: [h], action: incident.comment, params: {comment: x}}\n",
        ));
        let mut sources = SourceMap::new();
        sources.add(SourceFile::new("f.yaml", skipped));
        let c = compile(&sources, &syntax::Limits::default(), Vec::new());
        let dead: Vec<&str> = c
            .diagnostics
            .iter()
            .filter(|d| d.code == Code::UnreachableStep)
            .map(|d| d.message.as_str())
            .collect();
        // `h` handles only `y`, which never runs, so never fails; `h2` handles only `h`.
        assert_eq!(
            dead,
            [
                "step `y` can never run",
                "step `h` can never run",
                "step `h2` can never run"
            ]
        );
        // `null` never holds either.
        let null =
            gamebook("  - {id: n, if: \"null\", action: incident.comment, params: {comment: n}}\n");
        assert_eq!(codes(&[&null]), [Code::UnreachableStep]);
    }

    #[test]
    fn a_repeated_dependency_is_a_warning_at_the_repeat() {
        let g = gamebook(concat!(
            "  - {id: x, action: incident.comment, params: {comment: x}}\n",
            "  - {id: y, needs: [x, x], action: incident.comment, params: {comment: y}}\n",
        ));
        let mut sources = SourceMap::new();
        sources.add(SourceFile::new("f.yaml", g.clone()));
        let c = compile(&sources, &syntax::Limits::default(), Vec::new());
        assert_eq!(c.diagnostics.len(), 1, "{:#?}", c.diagnostics);
        let d = &c.diagnostics[0];
        assert_eq!(d.code, Code::DuplicateDependency);
        let second = g.rfind("x]").expect("the repeat is in the text");
        assert_eq!(d.span.start as usize, second);
    }

    #[test]
    fn params_are_typed_by_the_catalog() {
        let ok = gamebook("  - {id: i, for_each: incident.devices, action: device.isolate, params: {isolation: selective}, approval: {role: workspace_owner, timeout: 1h, on_timeout: reject}}\n");
        assert_eq!(codes(&[&ok]), []);
        let templ = gamebook("  - {id: b, for_each: incident.ips, action: ip.block, params: {expires_in: \"{{ incident.severity }}\"}}\n");
        assert_eq!(codes(&[&templ]), [Code::ParamType]);
    }

    #[test]
    fn an_input_nothing_reads_is_warned_about() {
        let with = |body: &str| {
            format!("kind: gamebook\nname: g\nversion: 1.0.0\ninputs:\n  n: {{type: number, default: 1}}\n{body}")
        };
        let unread = with("steps:\n  - {id: c, action: incident.comment, params: {comment: x}}\n");
        assert_eq!(codes(&[&unread]), [Code::UnreadInput]);
        for read in [
            "steps:\n  - {id: c, if: \"inputs.n > 0\", action: incident.comment, params: {comment: x}}\n",
            "steps:\n  - {id: c, for_each: {items: incident.devices, as: d, filter: \"inputs.n > 0\"}, action: device.quick_scan}\n",
            "steps:\n  - {id: c, action: incident.comment, params: {comment: x}}\noutputs:\n  n: inputs.n\n",
            "steps:\n  - {id: t, task: {title: \"call {{ inputs.n }}\", role: incident_responder}}\n",
        ] {
            assert_eq!(codes(&[&with(read)]), [], "{read}");
        }
        // A body with an error is not judged: its broken step may be the reader.
        let broken = with("steps:\n  - {id: c, action: incident.comment, params: {comment: \"{{ inputs.m }}\"}}\n");
        assert_eq!(codes(&[&broken]), [Code::UnknownName]);
        // Nor one whose step was dropped as written wrong (an `action` beside a `task`).
        let dropped = with("steps:\n  - {id: c, action: incident.comment, task: {title: t, role: incident_responder}, params: {comment: \"{{ inputs.n }}\"}}\n");
        assert_eq!(codes(&[&dropped]), [Code::ConflictingKeys]);
    }

    /// A key written twice is one duplicate key, not also keys that exclude each other: a
    /// step with two `action:` lines has one kind, a protected entry with two `name:` one rule.
    #[test]
    fn a_repeated_key_is_no_conflict_with_itself() {
        let gb = "kind: gamebook\nname: g\nversion: 1.0.0\nsteps:\n  - id: c\n    action: incident.comment\n    action: ip.block\n    params: {comment: x}\n";
        assert_eq!(codes(&[gb]), [Code::DuplicateKey]);
        // Two distinct kinds still conflict, whatever is repeated.
        let two = "kind: gamebook\nname: g\nversion: 1.0.0\nsteps:\n  - id: c\n    action: incident.comment\n    action: ip.block\n    task: {title: t, role: incident_responder}\n    params: {comment: x}\n";
        assert_eq!(codes(&[two]), [Code::DuplicateKey, Code::ConflictingKeys]);
        let sop = |entry: &str| {
            format!("kind: sop\ntype: response\nname: s\nmode: manual\ngamebooks:\n  - gamebook: g2\nguardrails:\n  protected:\n    - {entry}\n")
        };
        let g2 = "kind: gamebook\nname: g2\nversion: 1.0.0\nsteps:\n  - {id: c, action: incident.comment, params: {comment: x}}\n";
        assert_eq!(codes(&[g2, &sop("{name: \"dc-*\"}")]), []);
        assert_eq!(
            codes(&[g2, &sop("{name: \"dc-*\", name: \"db-*\"}")]),
            [Code::DuplicateKey]
        );
        assert_eq!(
            codes(&[g2, &sop("{name: \"dc-*\", tag: x}")]),
            [Code::ConflictingKeys]
        );
    }

    /// A `kind` that is a list or a mapping has the wrong type; a word that is no kind is an
    /// unknown kind.
    #[test]
    fn a_kind_of_the_wrong_type_is_no_unknown_kind() {
        assert_eq!(
            codes(&["kind: [gamebook]\nname: x\n"]),
            [Code::WrongYamlType]
        );
        assert_eq!(codes(&["kind: {a: b}\nname: x\n"]), [Code::WrongYamlType]);
        assert_eq!(codes(&["kind: gamebok\nname: x\n"]), [Code::UnknownKind]);
    }

    /// An empty list in `applies_to`, or an approval rule's empty `actions`, is an error: it
    /// would match nothing, yet reads as no condition.
    #[test]
    fn empty_lists_that_would_match_nothing_are_errors() {
        let with = |body: &str| {
            format!("kind: sop\ntype: response\nname: s\ngamebooks: []\ntasks: [{{title: t, role: incident_responder}}]\n{body}")
        };
        for key in [
            "sources",
            "severities",
            "classifications",
            "workspaces",
            "workspace_tags",
        ] {
            let text = with(&format!("applies_to: {{{key}: []}}\n"));
            assert_eq!(codes(&[&text]), [Code::InvalidValue], "{key}");
        }
        let rule = with("approval:\n  - {actions: [], role: incident_responder}\n");
        assert_eq!(codes(&[&rule]), [Code::InvalidValue]);
        assert_eq!(codes(&[&with("applies_to: {severities: [high]}\n")]), []);
    }

    /// `params` or `with` that is no mapping is one error, not one more for each required
    /// param or input; the rest of the step is checked as usual.
    #[test]
    fn params_of_the_wrong_type_are_one_error() {
        let params = gamebook("  - {id: n, action: incident.comment, params: [comment, hi]}\n");
        assert_eq!(codes(&[&params]), [Code::WrongYamlType]);
        let more = gamebook("  - {id: n, action: incident.coment, params: [comment, hi]}\n");
        assert_eq!(codes(&[&more]), [Code::UnknownAction, Code::WrongYamlType]);
        let callee = "kind: gamebook\nname: callee\nversion: 1.0.0\ninputs:\n  n: {type: number}\nsteps:\n  - {id: c, action: incident.comment, params: {comment: x}}\n";
        let with = "kind: gamebook\nname: caller\nversion: 1.0.0\nsteps:\n  - {id: x, gamebook: callee, with: [n]}\n";
        assert_eq!(
            codes(&[callee, with]),
            [Code::UnreadInput, Code::WrongYamlType]
        );
    }

    /// A caller giving an input whose declaration is broken is not told the input is unknown.
    #[test]
    fn a_broken_input_is_no_unknown_input_to_callers() {
        let callee = "kind: gamebook\nname: callee\nversion: 1.0.0\ninputs:\n  a: {type: strin}\n  b: {type: string}\nsteps:\n  - {id: c, action: incident.comment, params: {comment: \"{{ inputs.a }} {{ inputs.b }}\"}}\n";
        let caller = "kind: gamebook\nname: caller\nversion: 1.0.0\nsteps:\n  - {id: x, gamebook: callee, with: {a: x, b: y}}\n";
        assert_eq!(codes(&[callee, caller]), [Code::InvalidValue]);
    }

    /// An input whose declaration has an error is reported once, where it is declared: its
    /// uses are not errors too (it reads as of any type).
    #[test]
    fn a_broken_input_declaration_is_one_error() {
        let g = "kind: gamebook\nname: g\nversion: 1.0.0\ninputs:\n  a: {type: strin, default: x}\n  b: {default: x}\n  c: {type: string, default: x}\nsteps:\n  - {id: n, action: incident.comment, params: {comment: \"{{ inputs.a }} {{ inputs.b }} {{ inputs.c }}\"}}\n";
        assert_eq!(codes(&[g]), [Code::InvalidValue, Code::MissingKey], "{g}");
    }

    #[test]
    fn a_delegated_only_action_is_warned_about_only_without_a_gate_before_it() {
        let gate = "approval: {role: workspace_owner, timeout: 4h, on_timeout: reject}";
        let bare = gamebook("  - {id: r, for_each: incident.users, action: user.reset_password}\n");
        assert_eq!(codes(&[&bare]), [Code::DelegatedOnly]);
        let own = gamebook(&format!(
            "  - {{id: r, for_each: incident.users, action: user.reset_password, {gate}}}\n"
        ));
        assert_eq!(codes(&[&own]), []);
        let group = gamebook(&format!(
            "  - id: g\n    {gate}\n    steps:\n      - {{id: r, for_each: incident.users, action: user.reset_password}}\n"
        ));
        assert_eq!(codes(&[&group]), []);
        // A gate on a sibling holds nothing of it back.
        let sibling = gamebook(&format!(
            "  - {{id: a, action: incident.comment, params: {{comment: x}}, {gate}}}\n  - {{id: r, for_each: incident.users, action: user.reset_password}}\n"
        ));
        assert_eq!(codes(&[&sibling]), [Code::DelegatedOnly]);
    }

    #[test]
    fn an_unknown_gamebook_or_action_hides_no_other_error_of_its_use() {
        let sop = "kind: sop\ntype: response\nname: s\ngamebooks:\n  - gamebook: nope\n    if: \"incident.severty == high\"\n    with: {n: \"{{ incident.titel }}\"}\n";
        assert_eq!(
            codes(&[sop]),
            [Code::UnknownGamebook, Code::UnknownName, Code::UnknownName]
        );
        let call = gamebook("  - {id: x, gamebook: nope, with: {n: \"{{ incident.titel }}\"}}\n");
        assert_eq!(codes(&[&call]), [Code::UnknownGamebook, Code::UnknownName]);
        let action = gamebook("  - {id: x, action: device.isolat, target: \"incident.devics[0]\", params: {comment: \"{{ incident.titel }}\"}}\n");
        assert_eq!(
            codes(&[&action]),
            [Code::UnknownAction, Code::UnknownName, Code::UnknownName]
        );
    }

    #[test]
    fn inputs_are_typed_at_call_sites_and_defaults_checked() {
        let callee = "kind: gamebook\nname: callee\nversion: 1.0.0\ninputs:\n  n: {type: number, default: 3}\n  mode: {type: string, default: full, values: [full, selective]}\nsteps:\n  - {id: c, action: incident.comment, params: {comment: \"{{ inputs.n }} {{ inputs.mode }}\"}}\n";
        let ok = "kind: gamebook\nname: caller\nversion: 1.0.0\nsteps:\n  - {id: x, gamebook: callee, with: {n: 5, mode: selective}}\n";
        assert_eq!(codes(&[callee, ok]), []);
        let bad = "kind: gamebook\nname: caller\nversion: 1.0.0\nsteps:\n  - {id: x, gamebook: callee, with: {n: five, mode: partial}}\n";
        assert_eq!(codes(&[callee, bad]), [Code::ParamType, Code::ParamType]);
        let bad_default = "kind: gamebook\nname: d\nversion: 1.0.0\ninputs:\n  n: {type: number, default: many}\nsteps:\n  - {id: c, action: incident.comment, params: {comment: \"{{ inputs.n }}\"}}\n";
        assert_eq!(codes(&[bad_default]), [Code::TypeMismatch]);
    }

    #[test]
    fn autonomous_sops_warn_only_for_uncovered_high_impact_actions() {
        let gb = "kind: gamebook\nname: iso\nversion: 1.0.0\nsteps:\n  - {id: i, for_each: incident.devices, action: device.isolate}\n  - {id: s, for_each: incident.devices, action: device.quick_scan}\n";
        let sop = |extra: &str| {
            format!("kind: sop\ntype: response\nname: auto\nmode: autonomous\ngamebooks:\n  - gamebook: iso\n{extra}")
        };
        assert_eq!(codes(&[gb, &sop("")]), [Code::UnapprovedHighImpact]);
        let covered = sop("approval:\n  - {actions: [\"device.*\"], role: workspace_owner, approve_if: \"entity.is_server\"}\n");
        assert_eq!(codes(&[gb, &covered]), []);
        // A rule whose `approve_if` never holds covers nothing, and says so.
        let never = sop("approval:\n  - {actions: [\"device.*\"], role: workspace_owner, approve_if: \"incident.severity > high\"}\n");
        assert_eq!(
            codes(&[gb, &never]),
            [Code::UnapprovedHighImpact, Code::SopConditionNeverHolds]
        );
        let manual = "kind: sop\ntype: response\nname: manual\nmode: manual\ngamebooks:\n  - gamebook: iso\n";
        assert_eq!(codes(&[gb, manual]), []);
        // A password reset always waits for a person (it cannot run unattended): RP0408 says
        // so, not RP0407.
        let reset = "kind: gamebook\nname: iso\nversion: 1.0.0\nsteps:\n  - {id: r, for_each: incident.users, action: user.reset_password}\n";
        assert_eq!(codes(&[reset, &sop("")]), [Code::DelegatedOnly]);
        // A gate of an unknown role is that one error, not also an ungated step.
        let owner = "kind: gamebook\nname: iso\nversion: 1.0.0\nsteps:\n  - {id: i, for_each: incident.devices, action: device.isolate, approval: {role: owner, timeout: 1h, on_timeout: reject}}\n";
        assert_eq!(codes(&[owner, &sop("")]), [Code::UnknownRole]);
        // The step is named as plans and `--approve` name it: gamebook, then its path.
        let grouped = "kind: gamebook\nname: iso\nversion: 1.0.0\nsteps:\n  - id: per_device\n    for_each: incident.devices\n    steps:\n      - {id: i, action: device.isolate}\n";
        let said = messages(&[grouped, &sop("")]);
        assert!(said[0].1.contains("(step `iso/per_device.i`)"), "{said:?}");
    }

    fn messages(files: &[&str]) -> Vec<(Code, String, Option<String>)> {
        let mut sources = SourceMap::new();
        for (i, text) in files.iter().enumerate() {
            sources.add(SourceFile::new(format!("f{i}.yaml"), *text));
        }
        compile(&sources, &syntax::Limits::default(), Vec::new())
            .diagnostics
            .into_iter()
            .map(|d| (d.code, d.message, d.help))
            .collect()
    }

    #[test]
    fn a_cycle_is_reported_by_steps_that_are_on_it() {
        // `c` is in the same component as `a`, but not on a cycle with it.
        let gb = "kind: gamebook\nname: cyc\nversion: 1.0.0\nsteps:\n  - {id: a, needs: [b], action: incident.comment, params: {comment: a}}\n  - {id: b, needs: [c, a], action: incident.comment, params: {comment: b}}\n  - {id: c, needs: [b], action: incident.comment, params: {comment: c}}\n";
        let cycles: Vec<String> = messages(&[gb])
            .into_iter()
            .filter(|(code, _, _)| *code == Code::DependencyCycle)
            .map(|(_, m, _)| m)
            .collect();
        assert_eq!(
            cycles,
            ["steps depend on each other in a cycle: `a` → `b` → `a`"]
        );
    }

    /// A step id that is no identifier is one error: the gamebook is checked as if it were
    /// fixed as suggested, and no reference is told to name it as written.
    #[test]
    fn an_invalid_step_id_is_one_error_and_never_suggested() {
        let gb = |steps: &str| format!("kind: gamebook\nname: g\nversion: 1.0.0\nsteps:\n{steps}");
        let fixed = gb("  - {id: Verify-With-Users, action: incident.comment, params: {comment: a}}\n  - {id: b, needs: [verify_with_users], action: incident.comment, params: {comment: \"{{ steps.verify_with_users.status }}\"}}\n  - {id: c, needs: [Verify-With-Users], action: incident.comment, params: {comment: c}}\n  - {id: d, action: incident.comment, params: {comment: d}, on_error: Verify-With-Users}\n");
        let said = messages(&[&fixed]);
        assert_eq!(said.len(), 1, "{said:#?}");
        assert_eq!(said[0].0, Code::InvalidValue);
        // A typo of the id is told the valid one.
        let typo = gb("  - {id: Verify-With-Users, action: incident.comment, params: {comment: a}}\n  - {id: b, needs: [verify_with_usrs], action: incident.comment, params: {comment: b}}\n");
        let said = messages(&[&typo]);
        assert_eq!(said.len(), 2, "{said:#?}");
        assert_eq!(said[1].0, Code::UnknownStep);
        assert_eq!(
            said[1].2.as_deref(),
            Some("did you mean `verify_with_users`?")
        );
        // An id written on two steps keeps its spelling (and is a duplicate); what names it as
        // suggested is told to fix the id, and a typo is not told the invalid spelling.
        let twice = gb("  - {id: Isolate-Host, action: incident.comment, params: {comment: a}}\n  - {id: Isolate-Host, action: incident.comment, params: {comment: a}}\n  - {id: b, needs: [isolate_host], action: incident.comment, params: {comment: b}}\n  - {id: c, needs: [isolate_hots], action: incident.comment, params: {comment: c}}\n");
        let said = messages(&[&twice]);
        let helps: Vec<&str> = said
            .iter()
            .filter(|(code, _, _)| *code == Code::UnknownStep)
            .filter_map(|(_, _, help)| help.as_deref())
            .collect();
        assert_eq!(helps.len(), 2, "{said:#?}");
        assert_eq!(
            helps[0],
            "`isolate_host` is the id suggested for step `Isolate-Host`, whose id is not an identifier: fix the id of that step"
        );
        assert!(!helps[1].contains("Isolate-Host"), "{}", helps[1]);
        assert!(said
            .iter()
            .any(|(code, _, _)| *code == Code::DuplicateStepId));
    }

    #[test]
    fn a_cycle_points_at_the_link_that_closes_it() {
        let cycle = |text: &str| {
            let mut sources = SourceMap::new();
            sources.add(SourceFile::new("f.yaml", text));
            compile(&sources, &syntax::Limits::default(), Vec::new())
                .diagnostics
                .into_iter()
                .find(|d| d.code == Code::DependencyCycle)
                .expect("a cycle")
        };
        let offset = |span: Span| span.start as usize;
        // The later entry of `needs` closes the cycle, not the first one.
        let later = "kind: gamebook\nname: cyc\nversion: 1.0.0\nsteps:\n  - {id: a, action: incident.comment, params: {comment: a}}\n  - {id: b, needs: [a, c], action: incident.comment, params: {comment: b}}\n  - {id: c, needs: [a, b], action: incident.comment, params: {comment: c}}\n";
        let d = cycle(later);
        assert_eq!(offset(d.span), later.find("a, c]").expect("needs") + 3);
        assert_eq!(d.label.as_deref(), Some("`b` needs `c`, closing the cycle"));
        // An error handler that closes the cycle is pointed at, and named as one.
        let handler = "kind: gamebook\nname: cyc\nversion: 1.0.0\nsteps:\n  - {id: a, action: incident.comment, params: {comment: a}}\n  - {id: b, needs: [a], action: incident.comment, params: {comment: b}, on_error: a}\n";
        let d = cycle(handler);
        assert_eq!(
            offset(d.span),
            handler.find("on_error: a").expect("handler") + 10
        );
        assert_eq!(
            d.message,
            "steps depend on each other in a cycle: `a` → `b` → `a`; `a` is the `on_error` handler of `b`, so it runs after `b`"
        );
        assert!(d
            .help
            .as_deref()
            .is_some_and(|h| h.contains("`on_error` handler")));
        // An error edge inside the cycle is shown where it is written.
        let inside = "kind: gamebook\nname: cyc\nversion: 1.0.0\nsteps:\n  - {id: a, needs: [b], action: incident.comment, params: {comment: a}, on_error: b}\n  - {id: b, action: incident.comment, params: {comment: b}}\n";
        let d = cycle(inside);
        assert_eq!(offset(d.span), inside.find("[b]").expect("needs") + 1);
        assert_eq!(d.related.len(), 1, "{d:#?}");
        assert_eq!(
            offset(d.related[0].span),
            inside.find("on_error: b").expect("handler") + 10
        );
    }

    #[test]
    fn literals_compared_with_the_action_id_or_enumerated_fields_must_be_known() {
        let gb = "kind: gamebook\nname: iso\nversion: 1.0.0\nsteps:\n  - {id: i, for_each: incident.devices, action: device.isolate}\n";
        let sop = |cond: &str| {
            format!("kind: sop\ntype: response\nname: s\nmode: manual\ngamebooks:\n  - gamebook: iso\napproval:\n  - {{actions: [\"device.*\"], role: workspace_owner, approve_if: \"{cond}\"}}\n")
        };
        for ok in [
            "action == 'device.isolate'",
            "action != 'device.isolate'",
            "action in ['device.isolate', 'device.quick_scan']",
            "action == entity.id",
        ] {
            assert_eq!(codes(&[gb, &sop(ok)]), [], "{ok}");
        }
        let typo = messages(&[gb, &sop("action == 'device.isolat'")]);
        assert_eq!(typo.len(), 1, "{typo:#?}");
        assert_eq!(typo[0].0, Code::TypeMismatch);
        assert_eq!(
            typo[0].1,
            "`device.isolat` is not a known value of `action`"
        );
        assert_eq!(typo[0].2.as_deref(), Some("did you mean `device.isolate`?"));
        assert_eq!(
            codes(&[gb, &sop("action in ['device.isolate', 'user.disabel']")]),
            [Code::TypeMismatch]
        );
        assert_eq!(
            codes(&[gb, &sop("'device.isolat' != action")]),
            [Code::TypeMismatch]
        );
        // Enumerated fields of the model are checked the same way.
        let field = |cond: &str| {
            gamebook(&format!(
                "  - {{id: c, if: \"{cond}\", action: incident.comment, params: {{comment: x}}}}\n"
            ))
        };
        assert_eq!(
            codes(&[&field("incident.status == 'resolvd'")]),
            [Code::TypeMismatch]
        );
        let verdict = gamebook("  - {id: d, for_each: {items: incident.devices, as: d, filter: \"d.verdict == 'malicous'\"}, action: device.quick_scan}\n");
        assert_eq!(codes(&[&verdict]), [Code::TypeMismatch]);
        assert_eq!(codes(&[&field("incident.status == 'resolved'")]), []);
    }

    #[test]
    fn invalid_values_are_not_reported_again_as_missing() {
        // An approval gate whose timeout and outcome are written but invalid.
        let gate = gamebook("  - {id: a, for_each: incident.devices, action: device.isolate, approval: {role: workspace_owner, timeout: 0s, on_timeout: maybe}}\n");
        assert_eq!(codes(&[&gate]), [Code::InvalidValue, Code::InvalidValue]);
        let half = gamebook("  - {id: a, for_each: incident.devices, action: device.isolate, approval: {role: workspace_owner, on_timeout: maybe}}\n");
        let found = messages(&[&half]);
        assert_eq!(found.len(), 2, "{found:#?}");
        assert!(found
            .iter()
            .any(|(c, m, _)| *c == Code::ApprovalWithoutTimeoutOutcome
                && m == "the approval gate of step `a` lacks `timeout`"));
        // A reserved item name does not make the fan-out's actions lose their target.
        let reserved = gamebook("  - {id: a, for_each: {items: incident.devices, as: steps}, action: device.isolate, approval: {role: workspace_owner, timeout: 1h, on_timeout: reject}}\n");
        assert_eq!(codes(&[&reserved]), [Code::InvalidValue]);
        let bad_items = gamebook("  - {id: a, for_each: incident.devicez, action: device.isolate, approval: {role: workspace_owner, timeout: 1h, on_timeout: reject}}\n");
        assert_eq!(codes(&[&bad_items]), [Code::UnknownName]);
        // An input with an invalid default is still optional for its callers.
        let callee = "kind: gamebook\nname: callee\nversion: 1.0.0\ninputs:\n  n: {type: number, default: \"x\"}\nsteps:\n  - {id: c, action: incident.comment, params: {comment: \"{{ inputs.n }}\"}}\n";
        let caller = "kind: gamebook\nname: caller\nversion: 1.0.0\nsteps:\n  - {id: call, gamebook: callee}\n";
        assert_eq!(codes(&[callee, caller]), [Code::TypeMismatch]);
    }

    #[test]
    fn an_unknown_gamebook_help_names_files_that_did_not_compile() {
        let broken = "kind: gamebook\nname: callee\nversion: 1.0.0\nsteps: [ {id: a\n";
        let sop =
            "kind: sop\ntype: response\nname: s\nmode: manual\ngamebooks:\n  - gamebook: callee\n";
        let found = messages(&[broken, sop]);
        let unknown = found
            .iter()
            .find(|(c, _, _)| *c == Code::UnknownGamebook)
            .expect("the reference is reported");
        let help = unknown.2.as_deref().unwrap_or_default();
        assert!(help.contains("`f0.yaml` could not be compiled"), "{help}");
        assert!(!help.contains("no gamebooks are loaded"), "{help}");
        // With no file failing, the old advice stands.
        let alone = messages(&[sop]);
        assert!(alone[0]
            .2
            .as_deref()
            .is_some_and(|h| h.starts_with("no gamebooks are loaded")));
        // A gamebook checked alone, calling one defined elsewhere.
        let caller = "kind: gamebook\nname: malware-cleanup\nversion: 1.0.0\nsteps:\n  - {id: call, gamebook: block-malicious-indicators}\n";
        let alone = messages(&[caller]);
        let help = alone[0].2.as_deref().unwrap_or_default();
        assert!(
            help.contains("found when the files are checked together"),
            "{help}"
        );
        assert!(help.starts_with("no other gamebook is loaded"), "{help}");
        // The caller is never the gamebook meant, however close its name: that is recursion.
        let caller = "kind: gamebook\nname: gb-complex\nversion: 1.0.0\nsteps:\n  - {id: call, gamebook: gb-callee}\n";
        let other = "kind: gamebook\nname: gb-calle\nversion: 1.0.0\nsteps:\n  - {id: c, action: incident.comment, params: {comment: hi}}\n";
        for (files, expected) in [
            (&[caller][..], "no other gamebook is loaded"),
            (&[caller, other][..], "did you mean `gb-calle`?"),
        ] {
            let found = messages(files);
            let help = found[0].2.as_deref().unwrap_or_default();
            assert!(help.starts_with(expected), "{help}");
            assert!(!help.contains("gb-complex"), "{help}");
        }
    }
}
