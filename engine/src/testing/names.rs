//! Every unknown key and unknown word of a test document, found in one pass over its YAML tree:
//! serde stops at the first, and a file with several typos would otherwise be fixed one run
//! at a time. The names allowed are read from the serde types of `file.rs` themselves, so this
//! pass says what reading the file says.

use std::fmt;

use riposte_dsl::syntax::Node;
use serde::de::{self, Deserialize, Deserializer, Visitor};

use super::file::{
    ClassificationFields, Expect, ExpectAction, ExpectOutcome, ExpectStatus, ExpectSummary,
    ExpectTask, Fail, TestDoc, TestKind,
};
use crate::plan::model::TaskStatus;

/// The unknown keys and words of one test document, each with the byte offset it is written
/// at.
pub(super) fn unknown_names(doc: &Node) -> Vec<(usize, String)> {
    let mut found = Vec::new();
    for (key, value) in known_keys::<TestDoc>(doc, &mut found) {
        match key {
            "kind" => known_word::<TestKind>(value, &mut found),
            "fail" => {
                for entry in value.as_seq().unwrap_or_default() {
                    known_keys::<Fail>(entry, &mut found);
                }
            }
            "expect" => expect(value, &mut found),
            _ => {}
        }
    }
    found
}

fn expect(node: &Node, found: &mut Vec<(usize, String)>) {
    for (key, value) in known_keys::<Expect>(node, found) {
        match key {
            "actions" => {
                for entry in value.as_seq().unwrap_or_default() {
                    for (key, value) in known_keys::<ExpectAction>(entry, found) {
                        match key {
                            "status" => known_word::<ExpectStatus>(value, found),
                            "outcome" => known_word::<ExpectOutcome>(value, found),
                            "approver" => known_role(value, "expect.actions", found),
                            _ => {}
                        }
                    }
                }
            }
            "tasks" => {
                for entry in value.as_seq().unwrap_or_default() {
                    for (key, value) in known_keys::<ExpectTask>(entry, found) {
                        match key {
                            "status" => known_word::<TaskStatus>(value, found),
                            "role" => known_role(value, "expect.tasks", found),
                            _ => {}
                        }
                    }
                }
            }
            // `classification: none` is a word of its own; a mapping has fields.
            "classification" => {
                for (key, value) in known_keys::<ClassificationFields>(value, found) {
                    let Some(word) = value.as_str().filter(|_| key == "classification") else {
                        continue;
                    };
                    if riposte_dsl::ast::Classification::parse(word).is_none() {
                        let names = riposte_dsl::ast::Classification::NAMES;
                        found.push((
                            value.span.start as usize,
                            super::unknown_in(
                                "classification",
                                word,
                                "expect.classification",
                                names.iter().copied(),
                            ),
                        ));
                    }
                }
            }
            "summary" => {
                known_keys::<ExpectSummary>(value, found);
            }
            _ => {}
        }
    }
}

/// The entries of a mapping whose keys are fields of `T`; the others are unknown keys. A
/// value that is no mapping has no entries here (reading it says what is wrong).
fn known_keys<'n, T: for<'de> Deserialize<'de>>(
    node: &'n Node,
    found: &mut Vec<(usize, String)>,
) -> Vec<(&'n str, &'n Node)> {
    let fields = names_of::<T>();
    let mut known = Vec::new();
    for (key, value) in node.as_map().unwrap_or_default() {
        let Some(name) = key.as_str() else { continue };
        if fields.contains(&name) {
            known.push((name, value));
        } else {
            found.push((
                key.span.start as usize,
                super::unknown_message("key", name, fields),
            ));
        }
    }
    known
}

/// A role, as the runner checks it once the test reads (an expected action's `approver`, an
/// expected task's `role`, under `key`).
fn known_role(node: &Node, key: &str, found: &mut Vec<(usize, String)>) {
    let Some(role) = node.as_str() else { return };
    if riposte_dsl::ast::Role::parse(role).is_none() {
        found.push((
            node.span.start as usize,
            super::unknown_in(
                "role",
                role,
                key,
                riposte_dsl::ast::Role::NAMES.iter().copied(),
            ),
        ));
    }
}

/// A word that must be a variant of `T`.
fn known_word<T: for<'de> Deserialize<'de>>(node: &Node, found: &mut Vec<(usize, String)>) {
    let words = names_of::<T>();
    if let Some(word) = node.as_str().filter(|w| !words.contains(w)) {
        found.push((
            node.span.start as usize,
            super::unknown_message("value", word, words),
        ));
    }
}

/// The names a serde type reads: a struct's fields or an enum's variants, as written in a
/// file (renamed). Derived `Deserialize` hands them to the deserializer, which keeps them.
pub(super) fn names_of<T: for<'de> Deserialize<'de>>() -> &'static [&'static str] {
    let mut names: &'static [&'static str] = &[];
    // The introspecting deserializer always stops with an error once it has the names.
    let _ = T::deserialize(Introspect(&mut names));
    names
}

struct Introspect<'a>(&'a mut &'static [&'static str]);

#[derive(Debug)]
struct Stop;

impl fmt::Display for Stop {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("names read")
    }
}

impl std::error::Error for Stop {}

impl de::Error for Stop {
    fn custom<M: fmt::Display>(_: M) -> Stop {
        Stop
    }
}

impl<'de> Deserializer<'de> for Introspect<'_> {
    type Error = Stop;

    fn deserialize_any<V: Visitor<'de>>(self, _: V) -> Result<V::Value, Stop> {
        Err(Stop)
    }

    fn deserialize_struct<V: Visitor<'de>>(
        self,
        _: &'static str,
        fields: &'static [&'static str],
        _: V,
    ) -> Result<V::Value, Stop> {
        *self.0 = fields;
        Err(Stop)
    }

    fn deserialize_enum<V: Visitor<'de>>(
        self,
        _: &'static str,
        variants: &'static [&'static str],
        _: V,
    ) -> Result<V::Value, Stop> {
        *self.0 = variants;
        Err(Stop)
    }

    serde::forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string bytes byte_buf
        option unit unit_struct newtype_struct seq tuple tuple_struct map identifier ignored_any
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The names come from the types: fields renamed as files write them, and variants.
    #[test]
    fn names_are_read_from_the_types() {
        assert!(names_of::<TestDoc>().contains(&"time_out"));
        assert!(names_of::<ExpectAction>().contains(&"reason_contains"));
        assert_eq!(
            names_of::<ExpectStatus>(),
            [
                "would_run",
                "awaiting_approval",
                "blocked",
                "skipped",
                "rejected"
            ]
        );
        assert_eq!(names_of::<TestKind>(), ["test"]);
    }
}
