//! Checked steps → execution graphs (petgraph). Steps are nodes; `needs` and `on_error` are
//! edges; a group (typically a for-each body) owns its sub-graph; a sub-gamebook call names the
//! callee's graph. Renders to Graphviz dot and Mermaid.

use std::collections::HashMap;
use std::fmt::Write;

use petgraph::graph::{DiGraph, NodeIndex};
use petgraph::visit::EdgeRef;

use crate::checked::{Library, Step, StepKind};

/// One gamebook's (or one group's) steps as a DAG.
#[derive(Debug, Default)]
pub struct ExecGraph {
    pub graph: DiGraph<GraphNode, Edge>,
    pub index: HashMap<String, NodeIndex>,
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
    let handlers: Vec<&str> = steps.iter().filter_map(|s| s.on_error.as_deref()).collect();
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
            handler: handlers.contains(&s.id.as_str()),
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
    g
}

impl ExecGraph {
    /// Steps that start when the gamebook starts: no dependencies, not error handlers.
    pub fn roots(&self) -> Vec<NodeIndex> {
        self.graph
            .node_indices()
            .filter(|&n| {
                !self.graph[n].handler
                    && self.graph.edges_directed(n, petgraph::Direction::Incoming).next().is_none()
            })
            .collect()
    }

    /// Nodes in an order where every dependency comes first (document order breaks ties).
    pub fn topo_order(&self) -> Vec<NodeIndex> {
        petgraph::algo::toposort(&self.graph, None).unwrap_or_else(|_| self.graph.node_indices().collect())
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
    for gb in library.gamebooks.iter().filter(|g| only.is_none_or(|o| o == g.name)) {
        let prefix = sanitize(&gb.name);
        let _ = writeln!(out, "  subgraph \"cluster_{prefix}\" {{\n    label=\"{} v{}\";", gb.name, gb.version);
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
        let id = format!("{prefix}__{}", n.id);
        if let Some(body) = &n.body {
            let _ = writeln!(out, "{pad}subgraph \"cluster_{id}\" {{\n{pad}  label=\"{}\";", node_label(n));
            let _ = writeln!(out, "{pad}  \"{id}\" [shape=point, label=\"\"];");
            dot_graph(body, &id, depth + 1, out);
            let _ = writeln!(out, "{pad}}}");
        } else {
            let shape = match n.kind {
                NodeKind::Task => ", shape=note",
                NodeKind::Call(_) => ", shape=component",
                _ => "",
            };
            let style = if n.gated { ", color=orange, penwidth=2" } else { "" };
            let _ = writeln!(out, "{pad}\"{id}\" [label=\"{}\"{shape}{style}];", node_label(n));
        }
    }
    for e in g.graph.edge_references() {
        let from = format!("{prefix}__{}", g.graph[e.source()].id);
        let to = format!("{prefix}__{}", g.graph[e.target()].id);
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
    for gb in library.gamebooks.iter().filter(|g| only.is_none_or(|o| o == g.name)) {
        let prefix = sanitize(&gb.name);
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
        let id = format!("{prefix}__{}", n.id);
        let label = node_label(n).replace("\\n", "<br/>");
        if let Some(body) = &n.body {
            let _ = writeln!(out, "{pad}subgraph {id}[\"{label}\"]");
            mermaid_graph(body, &id, depth + 1, out);
            let _ = writeln!(out, "{pad}end");
        } else {
            let (open, close) = match n.kind {
                NodeKind::Task => ("[/", "/]"),
                NodeKind::Call(_) => ("[[", "]]"),
                _ if n.gated => ("{{", "}}"),
                _ => ("(", ")"),
            };
            let _ = writeln!(out, "{pad}{id}{open}\"{label}\"{close}");
        }
    }
    for e in g.graph.edge_references() {
        let from = format!("{prefix}__{}", g.graph[e.source()].id);
        let to = format!("{prefix}__{}", g.graph[e.target()].id);
        let arrow = match e.weight() {
            Edge::Needs => "-->",
            Edge::OnError => "-. on error .->",
        };
        let _ = writeln!(out, "{pad}{from} {arrow} {to}");
    }
}

fn sanitize(s: &str) -> String {
    s.chars().map(|c| if c.is_ascii_alphanumeric() { c } else { '_' }).collect()
}
