//! The YAML tree the rest of the compiler reads: values with their byte spans.

use crate::source::Span;

/// A YAML value and the span of its text.
#[derive(Clone, Debug, PartialEq)]
pub struct Node {
    pub value: NodeValue,
    pub span: Span,
}

/// The shapes a YAML value can take after parsing.
#[derive(Clone, Debug, PartialEq)]
pub enum NodeValue {
    Null,
    Bool(bool),
    Int(i64),
    Float(f64),
    Str(String),
    Seq(Vec<Node>),
    /// Entries in document order; duplicates are kept so the checker can report them.
    Map(Vec<(Node, Node)>),
}

impl Node {
    /// What a user calls this value's type, for "expected X, found Y" messages.
    pub fn type_name(&self) -> &'static str {
        match self.value {
            NodeValue::Null => "null",
            NodeValue::Bool(_) => "a boolean",
            NodeValue::Int(_) | NodeValue::Float(_) => "a number",
            NodeValue::Str(_) => "a string",
            NodeValue::Seq(_) => "a list",
            NodeValue::Map(_) => "a mapping",
        }
    }

    pub fn as_str(&self) -> Option<&str> {
        match &self.value {
            NodeValue::Str(s) => Some(s),
            _ => None,
        }
    }

    /// The innermost mapping holding byte `offset` of the text: where a reader that names the
    /// mapping's last key for an error about the whole mapping (a key it lacks) means it.
    pub fn innermost_mapping_at(&self, offset: usize) -> Option<&Node> {
        self.innermost_at(offset, &|n| n.as_map().is_some())
    }

    /// The innermost list or mapping holding byte `offset`: what a reader that can only say
    /// "a list or a mapping" found there.
    pub fn innermost_collection_at(&self, offset: usize) -> Option<&Node> {
        self.innermost_at(offset, &|n| {
            matches!(n.value, NodeValue::Seq(_) | NodeValue::Map(_))
        })
    }

    fn innermost_at(&self, offset: usize, wanted: &dyn Fn(&Node) -> bool) -> Option<&Node> {
        let (start, end) = (self.span.start as usize, self.span.end as usize);
        // An empty collection (`{}`) holds its own start.
        if offset < start || offset >= end.max(start + 1) {
            return None;
        }
        let inner = match &self.value {
            NodeValue::Seq(items) => items.iter().find_map(|n| n.innermost_at(offset, wanted)),
            NodeValue::Map(entries) => entries.iter().find_map(|(k, v)| {
                k.innermost_at(offset, wanted)
                    .or_else(|| v.innermost_at(offset, wanted))
            }),
            _ => None,
        };
        inner.or_else(|| wanted(self).then_some(self))
    }

    pub fn as_map(&self) -> Option<&[(Node, Node)]> {
        match &self.value {
            NodeValue::Map(m) => Some(m),
            _ => None,
        }
    }

    pub fn as_seq(&self) -> Option<&[Node]> {
        match &self.value {
            NodeValue::Seq(s) => Some(s),
            _ => None,
        }
    }

    /// The value under `key` of a mapping (the first, if duplicated).
    pub fn get(&self, key: &str) -> Option<&Node> {
        self.as_map()?
            .iter()
            .find(|(k, _)| k.as_str() == Some(key))
            .map(|(_, v)| v)
    }

    /// A scalar as the author wrote it: numbers keep their spelling (`1.10` stays `1.10`, not
    /// `1.1`) when `source` is the text of the file the node came from.
    pub fn scalar_source_text(&self, source: &str) -> Option<String> {
        match self.value {
            NodeValue::Int(_) | NodeValue::Float(_) | NodeValue::Bool(_) => {
                let raw = source.get(self.span.range()).unwrap_or("").trim();
                if raw.is_empty() || raw.starts_with(['"', '\'']) {
                    self.scalar_text()
                } else {
                    Some(raw.to_string())
                }
            }
            _ => self.scalar_text(),
        }
    }

    /// Whether this is a template written without quotes: YAML reads `{{ incident.id }}` as
    /// a mapping holding a mapping.
    pub fn is_unquoted_template(&self, source: &str) -> bool {
        matches!(self.value, NodeValue::Map(_))
            && source
                .get(self.span.range())
                .is_some_and(|raw| raw.trim_start().starts_with("{{"))
    }

    /// A scalar rendered as text (keys, messages); `None` for collections.
    pub fn scalar_text(&self) -> Option<String> {
        Some(match &self.value {
            NodeValue::Null => "null".into(),
            NodeValue::Bool(b) => b.to_string(),
            NodeValue::Int(i) => i.to_string(),
            NodeValue::Float(f) => f.to_string(),
            NodeValue::Str(s) => s.clone(),
            NodeValue::Seq(_) | NodeValue::Map(_) => return None,
        })
    }
}
