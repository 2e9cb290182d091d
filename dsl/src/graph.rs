//! Checked steps → execution graphs (petgraph). Steps are nodes; `needs` and `on_error` are
//! edges; a group (typically a for-each body) owns its sub-graph; a sub-gamebook call names the
//! callee's graph. Renders to Graphviz dot and Mermaid.

use std::collections::{HashMap, HashSet};
use std::fmt::Write;

use petgraph::graph::{DiGraph, NodeIndex};
use petgraph::visit::EdgeRef;

use crate::checked::{Library, Step, StepKind};

/// One gamebook's (or one group's) steps as a DAG.
#[derive(Debug, Default)]
pub struct ExecGraph {
    pub graph: DiGraph<GraphNode, Edge>,
    pub index: HashMap<String, NodeIndex>,
    /// [`ExecGraph::topo_order`], computed once by [`build`]: the scheduler walks it on every
    /// run.
    order: Vec<NodeIndex>,
}

#[derive(Debug)]
pub struct GraphNode {
    pub id: String,
    pub kind: NodeKind,
    /// An approval gate sits in front of the step.
    pub gated: bool,
    pub conditional: bool,
    pub for_each: bool,
    /// Reached only through an `on_error` edge.
    pub handler: bool,
    /// The sub-graph of a group.
    pub body: Option<Box<ExecGraph>>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NodeKind {
    Action(&'static str),
    Task,
    Call(String),
    Group,
}

/// Why one step follows another.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Edge {
    /// After the source completes (the target's own `if` decides whether it runs).
    Needs,
    /// When the source fails.
    OnError,
}

/// Builds the graph of a list of sibling steps (recursively for groups).
pub fn build(steps: &[Step]) -> ExecGraph {
    let mut g = ExecGraph::default();
    let handlers: HashSet<&str> = steps.iter().filter_map(|s| s.on_error.as_deref()).collect();
    for s in steps {
        let (kind, body) = match &s.kind {
            StepKind::Action { spec, .. } => (NodeKind::Action(spec.id), None),
            StepKind::Task(_) => (NodeKind::Task, None),
            StepKind::Call { gamebook, .. } => (NodeKind::Call(gamebook.clone()), None),
            StepKind::Group(inner) => (NodeKind::Group, Some(Box::new(build(inner)))),
        };
        let ix = g.graph.add_node(GraphNode {
            id: s.id.clone(),
            kind,
            gated: s.approval.is_some(),
            conditional: s.condition.is_some(),
            for_each: s.for_each.is_some(),
            handler: handlers.contains(s.id.as_str()),
            body,
        });
        g.index.insert(s.id.clone(), ix);
    }
    for s in steps {
        let to = g.index[&s.id];
        for n in &s.needs {
            if let Some(&from) = g.index.get(n) {
                g.graph.add_edge(from, to, Edge::Needs);
            }
        }
        if let Some(h) = &s.on_error {
            if let Some(&handler) = g.index.get(h) {
                g.graph.add_edge(to, handler, Edge::OnError);
            }
        }
    }
    g.order = g.compute_order();
    g
}

impl ExecGraph {
    /// Steps that start when the gamebook starts: no dependencies, not error handlers.
    pub fn roots(&self) -> Vec<NodeIndex> {
        self.graph
            .node_indices()
            .filter(|&n| {
                !self.graph[n].handler
                    && self
                        .graph
                        .edges_directed(n, petgraph::Direction::Incoming)
                        .next()
                        .is_none()
            })
            .collect()
    }

    /// Nodes in an order where every dependency comes first; among steps ready at the same
    /// time, document order. Nodes on a cycle (a compile error) come last, in document order.
    pub fn topo_order(&self) -> &[NodeIndex] {
        &self.order
    }

    /// [`ExecGraph::topo_order`] by Kahn's algorithm over a min-heap of node indices (which
    /// follow the document).
    fn compute_order(&self) -> Vec<NodeIndex> {
        use std::cmp::Reverse;
        use std::collections::BinaryHeap;
        let g = &self.graph;
        let mut indegree: Vec<usize> = g
            .node_indices()
            .map(|n| g.edges_directed(n, petgraph::Direction::Incoming).count())
            .collect();
        let mut ready: BinaryHeap<Reverse<NodeIndex>> = g
            .node_indices()
            .filter(|n| indegree[n.index()] == 0)
            .map(Reverse)
            .collect();
        let mut order = Vec::with_capacity(g.node_count());
        while let Some(Reverse(n)) = ready.pop() {
            order.push(n);
            for e in g.edges_directed(n, petgraph::Direction::Outgoing) {
                let t = e.target();
                indegree[t.index()] -= 1;
                if indegree[t.index()] == 0 {
                    ready.push(Reverse(t));
                }
            }
        }
        if order.len() < g.node_count() {
            let mut placed = vec![false; g.node_count()];
            for n in &order {
                placed[n.index()] = true;
            }
            order.extend(g.node_indices().filter(|n| !placed[n.index()]));
        }
        order
    }
}

fn node_label(n: &GraphNode) -> String {
    let mut label = match &n.kind {
        NodeKind::Action(a) => format!("{}\\n{a}", n.id),
        NodeKind::Task => format!("{}\\ntask", n.id),
        NodeKind::Call(g) => format!("{}\\ngamebook {g}", n.id),
        NodeKind::Group => n.id.clone(),
    };
    let mut marks = Vec::new();
    if n.for_each {
        marks.push("for each");
    }
    if n.conditional {
        marks.push("if");
    }
    if n.gated {
        marks.push("approval");
    }
    if !marks.is_empty() {
        let _ = write!(label, "\\n[{}]", marks.join(", "));
    }
    label
}

/// Graphviz dot for every gamebook of `library` (or just `only`).
pub fn to_dot(library: &Library, only: Option<&str>) -> String {
    let mut out = String::from("digraph riposte {\n  rankdir=TB;\n  node [shape=box, style=rounded, fontname=\"Helvetica\"];\n");
    for gb in library
        .gamebooks
        .iter()
        .filter(|g| only.is_none_or(|o| o == g.name))
    {
        let prefix = sanitize(&gb.name);
        let _ = writeln!(
            out,
            "  subgraph \"cluster_{prefix}\" {{\n    label=\"{} v{}\";",
            gb.name, gb.version
        );
        dot_graph(&gb.graph, &prefix, 2, &mut out);
        out.push_str("  }\n");
    }
    out.push_str("}\n");
    out
}

fn dot_graph(g: &ExecGraph, prefix: &str, depth: usize, out: &mut String) {
    let pad = "  ".repeat(depth);
    for ix in g.graph.node_indices() {
        let n = &g.graph[ix];
        let id = node_id(prefix, &n.id);
        if let Some(body) = &n.body {
            let _ = writeln!(
                out,
                "{pad}subgraph \"cluster_{id}\" {{\n{pad}  label=\"{}\";",
                node_label(n)
            );
            if n.gated {
                let _ = writeln!(out, "{pad}  color=orange;\n{pad}  penwidth=2;");
            }
            let _ = writeln!(out, "{pad}  \"{id}\" [shape=point, label=\"\"];");
            dot_graph(body, &id, depth + 1, out);
            let _ = writeln!(out, "{pad}}}");
        } else {
            let shape = match n.kind {
                NodeKind::Task => ", shape=note",
                NodeKind::Call(_) => ", shape=component",
                _ => "",
            };
            let style = if n.gated {
                ", color=orange, penwidth=2"
            } else {
                ""
            };
            let _ = writeln!(
                out,
                "{pad}\"{id}\" [label=\"{}\"{shape}{style}];",
                node_label(n)
            );
        }
    }
    for e in g.graph.edge_references() {
        let from = node_id(prefix, &g.graph[e.source()].id);
        let to = node_id(prefix, &g.graph[e.target()].id);
        let attrs = match e.weight() {
            Edge::Needs => "",
            Edge::OnError => " [style=dashed, color=red, label=\"on error\"]",
        };
        let _ = writeln!(out, "{pad}\"{from}\" -> \"{to}\"{attrs};");
    }
}

/// A Mermaid flowchart for every gamebook of `library` (or just `only`).
pub fn to_mermaid(library: &Library, only: Option<&str>) -> String {
    let mut out = String::from("flowchart TD\n");
    for gb in library
        .gamebooks
        .iter()
        .filter(|g| only.is_none_or(|o| o == g.name))
    {
        let prefix = mermaid_safe(sanitize(&gb.name));
        let _ = writeln!(out, "  subgraph {prefix}[\"{} v{}\"]", gb.name, gb.version);
        mermaid_graph(&gb.graph, &prefix, 2, &mut out);
        out.push_str("  end\n");
    }
    out
}

fn mermaid_graph(g: &ExecGraph, prefix: &str, depth: usize, out: &mut String) {
    let pad = "  ".repeat(depth);
    for ix in g.graph.node_indices() {
        let n = &g.graph[ix];
        let id = node_id(prefix, &n.id);
        let label = node_label(n).replace("\\n", "<br/>");
        // A gated action is a hexagon; a gated task, call or group keeps its own shape and
        // is given the orange border dot draws.
        let mut border = n.gated;
        if let Some(body) = &n.body {
            let _ = writeln!(out, "{pad}subgraph {id}[\"{label}\"]");
            mermaid_graph(body, &id, depth + 1, out);
            let _ = writeln!(out, "{pad}end");
        } else {
            let (open, close) = match n.kind {
                NodeKind::Task => ("[/", "/]"),
                NodeKind::Call(_) => ("[[", "]]"),
                _ if n.gated => {
                    border = false;
                    ("{{", "}}")
                }
                _ => ("(", ")"),
            };
            let _ = writeln!(out, "{pad}{id}{open}\"{label}\"{close}");
        }
        if border {
            let _ = writeln!(out, "{pad}style {id} stroke:orange,stroke-width:2px");
        }
    }
    for e in g.graph.edge_references() {
        let from = node_id(prefix, &g.graph[e.source()].id);
        let to = node_id(prefix, &g.graph[e.target()].id);
        let arrow = match e.weight() {
            Edge::Needs => "-->",
            Edge::OnError => "-. on error .->",
        };
        let _ = writeln!(out, "{pad}{from} {arrow} {to}");
    }
}

/// The node id of step `id` under `prefix` (its gamebook and groups), joined by `__`. Step ids
/// are lowercase, so one that could be mistaken for a join (`a__b`, `_a`) is spelled with an
/// uppercase `X` and each `_` as `_x`: a group `a` holding `b` and a step `a__b` never share
/// an id.
fn node_id(prefix: &str, id: &str) -> String {
    if id.contains("__") || id.starts_with('_') || id.ends_with('_') {
        format!("{prefix}__X{}", id.replace('_', "_x"))
    } else {
        format!("{prefix}__{id}")
    }
}

/// A gamebook's id prefix that Mermaid cannot read as a keyword: `end` would close the
/// subgraph (and some Mermaid versions misread ids that merely start with it). Such a prefix
/// gets an uppercase first letter, which no gamebook name has, so it collides with none.
fn mermaid_safe(prefix: String) -> String {
    const KEYWORDS: &[&str] = &[
        "subgraph",
        "graph",
        "flowchart",
        "direction",
        "style",
        "classdef",
        "class",
        "click",
        "linkstyle",
        "call",
        "href",
        "default",
    ];
    if prefix.starts_with("end") || KEYWORDS.contains(&prefix.as_str()) {
        let mut chars = prefix.chars();
        chars
            .next()
            .map(|c| c.to_ascii_uppercase().to_string() + chars.as_str())
            .unwrap_or_default()
    } else {
        prefix
    }
}

fn sanitize(s: &str) -> String {
    s.chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::compile::{compile, Compilation};
    use crate::syntax::Limits;
    use crate::{Code, SourceFile, SourceMap};

    fn lib(files: &[&str]) -> Compilation {
        let mut sources = SourceMap::new();
        for (i, text) in files.iter().enumerate() {
            sources.add(SourceFile::new(format!("f{i}.yaml"), *text));
        }
        compile(&sources, &Limits::default(), Vec::new())
    }

    fn ids(g: &ExecGraph, ixs: &[NodeIndex]) -> Vec<String> {
        ixs.iter().map(|&i| g.graph[i].id.clone()).collect()
    }

    fn preds(g: &ExecGraph, id: &str) -> Vec<String> {
        let mut p: Vec<String> = g
            .graph
            .edges_directed(g.index[id], petgraph::Direction::Incoming)
            .map(|e| g.graph[e.source()].id.clone())
            .collect();
        p.sort();
        p
    }

    const DIAMOND: &str = r#"
kind: gamebook
name: diamond
version: 1.0.0
steps:
  - id: start
    action: incident.comment
    params: {comment: start}
  - id: left
    needs: [start]
    for_each: incident.devices
    action: device.quick_scan
    on_error: cleanup
  - id: right
    needs: [start]
    for_each: incident.users
    action: user.revoke_sessions
  - id: join
    needs: [left, right]
    action: incident.comment
    params: {comment: "scanned {{ steps.left.succeeded }}, revoked {{ steps.right.succeeded }}"}
  - id: cleanup
    action: incident.comment
    params: {comment: "scan failed"}
"#;

    #[test]
    fn parallel_branches_join_and_error_edges() {
        let c = lib(&[DIAMOND]);
        assert!(c.diagnostics.is_empty(), "{:#?}", c.diagnostics);
        let g = &c.library.gamebooks[0].graph;
        assert_eq!(ids(g, &g.roots()), ["start"]);
        assert_eq!(preds(g, "left"), ["start"]);
        assert_eq!(preds(g, "right"), ["start"]);
        assert_eq!(preds(g, "join"), ["left", "right"]);
        // The handler is entered only through its error edge.
        assert!(g.graph[g.index["cleanup"]].handler);
        let edge = g
            .graph
            .find_edge(g.index["left"], g.index["cleanup"])
            .expect("error edge");
        assert_eq!(g.graph[edge], Edge::OnError);
        let order = ids(g, g.topo_order());
        let pos = |id: &str| order.iter().position(|x| x == id).expect("in order");
        assert!(
            pos("start") < pos("left") && pos("left") < pos("join") && pos("right") < pos("join")
        );
    }

    #[test]
    fn for_each_groups_own_a_sub_graph_and_calls_name_the_callee() {
        let callee = r#"
kind: gamebook
name: notify
version: 1.0.0
inputs:
  text: {type: string}
steps:
  - id: note
    action: incident.comment
    params: {comment: "{{ inputs.text }}"}
"#;
        let caller = r#"
kind: gamebook
name: per-user
version: 1.0.0
steps:
  - id: each_user
    for_each: {items: "filter(incident.users, u => 'compromised' in u.roles)", as: user, concurrency: 2, on_error: continue}
    approval: {role: workspace_owner, timeout: 1h, on_timeout: reject}
    steps:
      - id: revoke
        action: user.revoke_sessions
      - id: disable
        needs: [revoke]
        action: user.disable
  - id: tell
    needs: [each_user]
    gamebook: notify
    with: {text: "handled {{ steps.each_user.succeeded }} users"}
"#;
        let c = lib(&[callee, caller]);
        assert!(c.diagnostics.is_empty(), "{:#?}", c.diagnostics);
        let gb = c.library.gamebook("per-user").expect("compiled");
        let g = &gb.graph;
        let group = &g.graph[g.index["each_user"]];
        assert!(group.for_each && group.gated);
        let body = group.body.as_ref().expect("a group owns its sub-graph");
        assert_eq!(ids(body, &body.roots()), ["revoke"]);
        assert_eq!(preds(body, "disable"), ["revoke"]);
        assert_eq!(
            g.graph[g.index["tell"]].kind,
            NodeKind::Call("notify".into())
        );
        let dot = to_dot(&c.library, Some("per-user"));
        assert!(dot.contains("cluster_per_user__each_user"), "{dot}");
        let mermaid = to_mermaid(&c.library, Some("per-user"));
        assert!(
            mermaid.contains("per_user__tell[[\"tell<br/>gamebook notify\"]]"),
            "{mermaid}"
        );
        // The gated group has the orange border of a gate in both; the call, ungated, not.
        assert!(
            dot.contains("[for each, approval]\";\n      color=orange;\n      penwidth=2;"),
            "{dot}"
        );
        assert!(
            mermaid.contains("style per_user__each_user stroke:orange"),
            "{mermaid}"
        );
        assert!(!mermaid.contains("style per_user__tell"), "{mermaid}");
        // A gated call keeps its shape, with the border.
        let gated = caller.replace(
            "    gamebook: notify\n",
            "    gamebook: notify\n    approval: {role: workspace_owner, timeout: 1h, on_timeout: reject}\n",
        );
        let c = lib(&[callee, &gated]);
        assert!(c.diagnostics.is_empty(), "{:#?}", c.diagnostics);
        let mermaid = to_mermaid(&c.library, Some("per-user"));
        assert!(
            mermaid.contains("per_user__tell[[\"tell<br/>gamebook notify<br/>[approval]\"]]")
                && mermaid.contains("style per_user__tell stroke:orange"),
            "{mermaid}"
        );
    }

    #[test]
    fn a_gamebook_named_like_a_mermaid_keyword_keeps_its_subgraph_open() {
        let text = |name: &str| {
            format!(
                "kind: gamebook\nname: {name}\nversion: 1.0.0\nsteps:\n  - {{id: end, action: incident.comment, params: {{comment: a}}}}\n"
            )
        };
        let c = lib(&[&text("end"), &text("endpoint-sweep"), &text("graph")]);
        assert!(c.diagnostics.is_empty(), "{:#?}", c.diagnostics);
        let mermaid = to_mermaid(&c.library, None);
        for line in [
            "subgraph End[",
            "subgraph Endpoint_sweep[",
            "subgraph Graph[",
        ] {
            assert!(mermaid.contains(line), "{mermaid}");
        }
        // Only the closing lines say `end` alone.
        let closing = mermaid.lines().filter(|l| l.trim() == "end").count();
        assert_eq!(closing, 3, "{mermaid}");
        assert!(
            mermaid.contains("End__end(\"end<br/>incident.comment\")"),
            "{mermaid}"
        );
    }

    #[test]
    fn cycles_are_reported_with_their_path_and_no_graph_panics() {
        let text = r#"
kind: gamebook
name: loop
version: 1.0.0
steps:
  - {id: a, needs: [b], action: incident.comment, params: {comment: a}}
  - {id: b, needs: [a], action: incident.comment, params: {comment: b}, on_error: c}
  - {id: c, action: incident.comment, params: {comment: c}}
"#;
        let c = lib(&[text]);
        let cycle: Vec<_> = c
            .diagnostics
            .iter()
            .filter(|d| d.code == Code::DependencyCycle)
            .collect();
        assert_eq!(cycle.len(), 1, "{:#?}", c.diagnostics);
        assert!(
            cycle[0].message.contains("`a` → `b` → `a`"),
            "{}",
            cycle[0].message
        );
        // The graph still exists for tooling; its topological order falls back gracefully.
        let g = &c.library.gamebooks[0].graph;
        assert_eq!(g.topo_order().len(), 3);
    }

    #[test]
    fn recursion_through_sub_gamebooks_is_an_error() {
        let a = "kind: gamebook\nname: a\nversion: 1.0.0\nsteps:\n  - {id: x, gamebook: b}\n";
        let b = "kind: gamebook\nname: b\nversion: 1.0.0\nsteps:\n  - {id: y, gamebook: c}\n";
        let cc = "kind: gamebook\nname: c\nversion: 1.0.0\nsteps:\n  - {id: z, gamebook: a}\n";
        let c = lib(&[a, b, cc]);
        let rec: Vec<_> = c
            .diagnostics
            .iter()
            .filter(|d| d.code == Code::GamebookRecursion)
            .collect();
        assert_eq!(rec.len(), 1, "{:#?}", c.diagnostics);
        assert!(
            rec[0].message.contains("`a` → `b` → `c` → `a`"),
            "{}",
            rec[0].message
        );
    }

    #[test]
    fn calls_nested_deeper_than_the_engine_runs_are_an_error() {
        use crate::compile::MAX_CALL_DEPTH;
        // A chain `g0` → `g1` → … of `n` gamebooks.
        let chain = |n: usize| -> Vec<String> {
            (0..n)
                .map(|i| {
                    let step = if i + 1 < n {
                        format!("{{id: s, gamebook: g{}}}", i + 1)
                    } else {
                        "{id: s, action: incident.comment, params: {comment: deep}}".to_string()
                    };
                    format!("kind: gamebook\nname: g{i}\nversion: 1.0.0\nsteps:\n  - {step}\n")
                })
                .collect()
        };
        let deep = |n: usize| {
            let texts = chain(n);
            let refs: Vec<&str> = texts.iter().map(String::as_str).collect();
            lib(&refs)
                .diagnostics
                .into_iter()
                .filter(|d| d.code == Code::CallsTooDeep)
                .collect::<Vec<_>>()
        };
        assert!(deep(MAX_CALL_DEPTH).is_empty());
        let too_deep = deep(MAX_CALL_DEPTH + 3);
        // Reported once, where the chain first gets too long counting from the bottom.
        assert_eq!(too_deep.len(), 1, "{too_deep:#?}");
        assert!(
            too_deep[0].message.contains("nests 17 gamebooks"),
            "{too_deep:#?}"
        );
        assert_eq!(too_deep[0].file, crate::FileId(2));
    }
}

#[cfg(test)]
mod node_ids {
    #[test]
    fn ids_of_steps_and_of_groups_never_collide() {
        let group_step = super::node_id(&super::node_id("g", "a"), "b");
        let joined_step = super::node_id("g", "a__b");
        assert_eq!(group_step, "g__a__b");
        assert_ne!(group_step, joined_step);
        assert_eq!(super::node_id("g", "per_user"), "g__per_user");
        assert_ne!(super::node_id("g", "_a"), super::node_id("g", "a"));
    }
}
