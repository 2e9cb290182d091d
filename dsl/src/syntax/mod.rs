//! Text → syntax: YAML into a tree of [`Node`]s that remember where they came from.

mod node;
mod yaml;

pub use node::{Node, NodeValue};
pub use yaml::{
    as_written, budget_message, decode, load, tab_indentation, wide_without_bom, Limits,
};
