//! How the values of the workspaces file are read. Each value is read by what it holds (text,
//! a list, a mapping), so that anything else is an error naming the key and what to write
//! there, rather than the deserializer's own wording.

use std::fmt;
use std::marker::PhantomData;

use serde::de::{self, DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};

use riposte_dsl::diagnostic::clip;

/// One kind of value of the file: what it accepts, and what it is, for errors.
pub(super) trait Form<'de>: Sized {
    type Value;

    /// What the value is, e.g. "`sops` is `all` or a list of SOP names".
    fn expected(&self) -> String;

    fn text<E: de::Error>(self, text: &str) -> Result<Self::Value, E> {
        Err(found(&self.expected(), &format!("`{}`", clip(text, 80))))
    }

    fn list<A: SeqAccess<'de>>(self, _: A) -> Result<Self::Value, A::Error> {
        Err(found(&self.expected(), "a list"))
    }

    fn mapping<A: MapAccess<'de>>(self, _: A) -> Result<Self::Value, A::Error> {
        Err(found(&self.expected(), "a mapping"))
    }

    /// A number or `true`/`false`, which YAML reads as such when unquoted.
    fn scalar<E: de::Error>(self, scalar: Scalar) -> Result<Self::Value, E> {
        Err(found(&self.expected(), &scalar.to_string()))
    }

    /// An empty value (`key:`, `~`, `null`).
    fn nothing<E: de::Error>(self) -> Result<Self::Value, E> {
        Err(found(&self.expected(), "nothing"))
    }

    /// Reads a value of this form.
    fn read<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_any(Reader(self, PhantomData))
    }
}

/// The error for a value of the wrong kind.
pub(super) fn found<E: de::Error>(expected: &str, what: &str) -> E {
    E::custom(format!("{expected}; found {what}"))
}

/// Reads a [`Form`] from whatever the YAML holds.
struct Reader<'de, F>(F, PhantomData<&'de ()>);

impl<'de, F: Form<'de>> Visitor<'de> for Reader<'de, F> {
    type Value = F::Value;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str(&self.0.expected())
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
        self.0.text(v)
    }

    fn visit_bool<E: de::Error>(self, v: bool) -> Result<Self::Value, E> {
        self.0.scalar(Scalar::Bool(v))
    }

    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Self::Value, E> {
        self.0.scalar(Scalar::Whole(v.to_string()))
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Self::Value, E> {
        self.0.scalar(Scalar::Whole(v.to_string()))
    }

    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Self::Value, E> {
        self.0.scalar(Scalar::Fraction(v))
    }

    fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
        self.0.nothing()
    }

    fn visit_none<E: de::Error>(self) -> Result<Self::Value, E> {
        self.visit_unit()
    }

    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        self.0.read(d)
    }

    fn visit_bytes<E: de::Error>(self, _: &[u8]) -> Result<Self::Value, E> {
        Err(found(&self.0.expected(), "binary data"))
    }

    fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<Self::Value, A::Error> {
        self.0.list(seq)
    }

    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Self::Value, A::Error> {
        self.0.mapping(map)
    }
}

/// Text, as a name, a tenant id, a tag or an application key is.
#[derive(Clone, Copy)]
pub(super) struct Text {
    /// What the text is, e.g. "`tenant_id` is the Entra tenant's GUID".
    pub expected: &'static str,
    pub rule: TextRule,
}

/// What text a [`Text`] takes.
#[derive(Clone, Copy)]
pub(super) enum TextRule {
    /// Any text, blank too (a key, checked where it is read).
    Any,
    /// Text that is not blank: an id, a tag, the name of a SOP.
    Required,
    /// A workspace's name: not blank, no spaces at either end (it would look like another
    /// name in plans, and not match it), no control characters (plans print it).
    Name,
}

impl<'de> Form<'de> for Text {
    type Value = String;

    fn expected(&self) -> String {
        self.expected.to_string()
    }

    // Asked for as text: an unquoted number or boolean arrives as written (`0x1F`, `+12`,
    // `1.50`), not as the value YAML reads it as (`31`, `12`, `1.5`), which is not the text
    // the file gives. Nothing (`key:`) is asked about first: it is no text.
    fn read<D: Deserializer<'de>>(self, d: D) -> Result<String, D::Error> {
        d.deserialize_option(TextOrNothing(self))
    }

    fn text<E: de::Error>(self, text: &str) -> Result<String, E> {
        let problem = match self.rule {
            TextRule::Any => None,
            _ if text.trim().is_empty() => Some("blank text".to_string()),
            TextRule::Required => None,
            TextRule::Name if text.trim() != text => Some(format!(
                "`{}`, with spaces around it: write `{}`",
                clip(text, 80),
                clip(text.trim(), 80)
            )),
            TextRule::Name if text.chars().any(char::is_control) => {
                Some("text holding a control character (a line break, a tab, …)".to_string())
            }
            TextRule::Name => None,
        };
        match problem {
            Some(problem) => Err(found(self.expected, &problem)),
            None => Ok(text.to_string()),
        }
    }
}

/// What the reader found where text is expected, when it cannot tell which (the file's YAML
/// tree can: see `placed_by_tree`).
pub(super) const LIST_OR_MAPPING: &str = "a list or a mapping";

/// Reads a [`Text`], or nothing (an error saying what the text is).
struct TextOrNothing(Text);

impl<'de> Visitor<'de> for TextOrNothing {
    type Value = String;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str(self.0.expected)
    }

    fn visit_none<E: de::Error>(self) -> Result<String, E> {
        self.0.nothing()
    }

    fn visit_unit<E: de::Error>(self) -> Result<String, E> {
        self.0.nothing()
    }

    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<String, D::Error> {
        let expected = self.0.expected;
        d.deserialize_string(Reader(self.0, PhantomData))
            .map_err(|e| {
                // A list or a mapping where text is expected, in the reader's words.
                if e.to_string().starts_with("expected string scalar") {
                    found(expected, LIST_OR_MAPPING)
                } else {
                    e
                }
            })
    }
}

impl<'de> DeserializeSeed<'de> for Text {
    type Value = String;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<String, D::Error> {
        self.read(d)
    }
}

/// A list whose items are read by `item`.
pub(super) struct List<S> {
    pub expected: &'static str,
    pub item: S,
    /// Whether one item may be written as text, so that an error for text in place of the list
    /// shows the list of that one item.
    pub of_text: bool,
}

impl<'de, S: DeserializeSeed<'de> + Clone> Form<'de> for List<S> {
    type Value = Vec<S::Value>;

    fn expected(&self) -> String {
        self.expected.to_string()
    }

    fn text<E: de::Error>(self, text: &str) -> Result<Self::Value, E> {
        if self.of_text {
            return Err(one_item(self.expected, text));
        }
        Err(found(self.expected, &format!("`{}`", clip(text, 80))))
    }

    fn list<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        let mut items = Vec::with_capacity(seq.size_hint().unwrap_or(0).min(1024));
        while let Some(item) = seq.next_element_seed(self.item.clone())? {
            items.push(item);
        }
        Ok(items)
    }
}

/// The error for one item written where a list is expected: it says how to write the list.
pub(super) fn one_item<E: de::Error>(expected: &str, text: &str) -> E {
    let text = clip(text, 80);
    E::custom(format!(
        "{expected}; found `{text}`, which is not a list: write `[{text}]` for one"
    ))
}

/// Reads items with their own `Deserialize`.
pub(super) struct Item<T>(PhantomData<T>);

impl<T> Item<T> {
    pub fn new() -> Item<T> {
        Item(PhantomData)
    }
}

impl<T> Clone for Item<T> {
    fn clone(&self) -> Self {
        Item::new()
    }
}

impl<'de, T: de::Deserialize<'de>> DeserializeSeed<'de> for Item<T> {
    type Value = T;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<T, D::Error> {
        T::deserialize(d)
    }
}

/// A mapping read into `T` by its derived `Deserialize` (which reports unknown and missing
/// keys); anything else than a mapping is an error saying what the mapping holds.
pub(super) struct Mapping<T> {
    pub expected: &'static str,
    pub into: PhantomData<T>,
}

impl<'de, T: de::Deserialize<'de>> Form<'de> for Mapping<T> {
    type Value = T;

    fn expected(&self) -> String {
        self.expected.to_string()
    }

    fn mapping<A: MapAccess<'de>>(self, map: A) -> Result<T, A::Error> {
        T::deserialize(de::value::MapAccessDeserializer::new(map))
    }
}

impl<'de, T: de::Deserialize<'de>> DeserializeSeed<'de> for Mapping<T> {
    type Value = T;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<T, D::Error> {
        self.read(d)
    }
}

impl<T> Clone for Mapping<T> {
    fn clone(&self) -> Self {
        Mapping {
            expected: self.expected,
            into: PhantomData,
        }
    }
}

/// `true` or `false`.
pub(super) struct Flag {
    pub expected: &'static str,
}

impl<'de> Form<'de> for Flag {
    type Value = bool;

    fn expected(&self) -> String {
        self.expected.to_string()
    }

    fn scalar<E: de::Error>(self, scalar: Scalar) -> Result<bool, E> {
        match scalar {
            Scalar::Bool(v) => Ok(v),
            other => Err(found(self.expected, &other.to_string())),
        }
    }

    /// Text, however it is spelt: `"true"` in quotes is text, not `true`.
    fn text<E: de::Error>(self, text: &str) -> Result<bool, E> {
        let shown = clip(text, 80);
        Err(
            match ["true", "false"]
                .into_iter()
                .find(|v| v.eq_ignore_ascii_case(text.trim()))
            {
                Some(v) => found(
                    self.expected,
                    &format!("the text `\"{shown}\"`: write `{v}` without quotes"),
                ),
                None => found(self.expected, &format!("`{shown}`")),
            },
        )
    }
}

/// A value YAML reads as other than text when unquoted.
pub(super) enum Scalar {
    Bool(bool),
    /// A whole number, in decimal.
    Whole(String),
    Fraction(f64),
}

impl Scalar {
    /// The value, as YAML read it.
    fn value(&self) -> String {
        match self {
            Scalar::Bool(v) => v.to_string(),
            Scalar::Whole(v) => v.clone(),
            Scalar::Fraction(v) => v.to_string(),
        }
    }
}

impl fmt::Display for Scalar {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        match self {
            Scalar::Bool(_) => write!(f, "`{}`, which YAML reads as true or false", self.value()),
            Scalar::Whole(_) | Scalar::Fraction(_) => write!(f, "the number `{}`", self.value()),
        }
    }
}

/// A value of form `F`, or nothing (as when its key is left out).
pub(super) struct Optional<F>(pub F);

impl<'de, F: Form<'de>> Form<'de> for Optional<F> {
    type Value = Option<F::Value>;

    fn expected(&self) -> String {
        self.0.expected()
    }

    fn text<E: de::Error>(self, text: &str) -> Result<Self::Value, E> {
        self.0.text(text).map(Some)
    }

    fn list<A: SeqAccess<'de>>(self, seq: A) -> Result<Self::Value, A::Error> {
        self.0.list(seq).map(Some)
    }

    fn mapping<A: MapAccess<'de>>(self, map: A) -> Result<Self::Value, A::Error> {
        self.0.mapping(map).map(Some)
    }

    fn scalar<E: de::Error>(self, scalar: Scalar) -> Result<Self::Value, E> {
        self.0.scalar(scalar).map(Some)
    }

    fn nothing<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(None)
    }
}
