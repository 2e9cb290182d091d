//! [`Str`]: the text of a [`Value::String`](crate::value::Value::String).
//!
//! Most text a condition reads is short: statuses, verdicts, categories, kinds, ids. Up to
//! [`Str::INLINE`] bytes are held in the value itself, zero-padded, so comparing one with a
//! constant follows no pointer and is a few word comparisons (`Inline` in `expr/cond.rs`). Longer
//! text is one shared allocation, cloned by a reference count.
//!
//! Architecture Invariant: the form is canonical. Text of up to [`Str::INLINE`] bytes is always
//! inline and longer text never is, so two strings of different forms always differ, and a
//! constant short enough to be inline only has to be compared with inline strings.

use std::borrow::Borrow;
use std::fmt;
use std::hash::{Hash, Hasher};
use std::ops::Deref;
use std::sync::Arc;

/// Immutable text, inline up to [`Str::INLINE`] bytes, shared beyond. Compares, orders and
/// hashes as the `str` it holds.
#[derive(Clone)]
pub struct Str(Repr);

#[derive(Clone)]
enum Repr {
    /// `buf[..len]` is the text, the rest zeros.
    Inline {
        len: Len,
        buf: [u8; Str::INLINE],
    },
    Shared(Arc<str>),
}

/// A length of inline text: an enum rather than a `u8`, so that the values it cannot take
/// tag the other forms, and a [`Value`](crate::value::Value) holding a [`Str`] stays 24 bytes.
#[derive(Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
enum Len {
    L0,
    L1,
    L2,
    L3,
    L4,
    L5,
    L6,
    L7,
    L8,
    L9,
    L10,
    L11,
    L12,
    L13,
    L14,
    L15,
    L16,
    L17,
    L18,
    L19,
    L20,
    L21,
    L22,
}

const LENS: [Len; Str::INLINE + 1] = [
    Len::L0,
    Len::L1,
    Len::L2,
    Len::L3,
    Len::L4,
    Len::L5,
    Len::L6,
    Len::L7,
    Len::L8,
    Len::L9,
    Len::L10,
    Len::L11,
    Len::L12,
    Len::L13,
    Len::L14,
    Len::L15,
    Len::L16,
    Len::L17,
    Len::L18,
    Len::L19,
    Len::L20,
    Len::L21,
    Len::L22,
];

/// Inline text as three words, the zero-padded bytes at 0, 8 and 14 (the last two overlap):
/// what constants are compared with ([`word`]).
pub(crate) type Words = [u64; 3];

impl Str {
    /// The longest text held inline, in bytes.
    pub const INLINE: usize = 22;

    pub fn new(text: &str) -> Str {
        match Str::inline(text) {
            Some(s) => s,
            None => Str(Repr::Shared(Arc::from(text))),
        }
    }

    fn inline(text: &str) -> Option<Str> {
        let len = *LENS.get(text.len())?;
        let mut buf = [0; Str::INLINE];
        buf[..text.len()].copy_from_slice(text.as_bytes());
        Some(Str(Repr::Inline { len, buf }))
    }

    pub fn as_str(&self) -> &str {
        match &self.0 {
            Repr::Inline { len, buf } => {
                let bytes = &buf[..*len as usize];
                debug_assert!(std::str::from_utf8(bytes).is_ok());
                // SAFETY: `buf[..len]` was copied from a `&str` of exactly `len` bytes (in
                // `Str::inline`, the only place an inline form is made) and is never written
                // after, so it is valid UTF-8. Checking it again on every read would cost a
                // loop over the bytes on the hottest path of expression evaluation.
                #[allow(unsafe_code)]
                unsafe {
                    std::str::from_utf8_unchecked(bytes)
                }
            }
            Repr::Shared(s) => s,
        }
    }

    /// The length and zero-padded bytes of inline text; `None` for longer (shared) text.
    #[inline(always)]
    pub(crate) fn inline_bytes(&self) -> Option<(u8, &[u8; Str::INLINE])> {
        match &self.0 {
            Repr::Inline { len, buf } => Some((*len as u8, buf)),
            Repr::Shared(_) => None,
        }
    }

    /// The length and words `text` would have inline; `None` when it is too long to be.
    pub(crate) fn words_of(text: &str) -> Option<(u8, Words)> {
        let s = Str::inline(text)?;
        let (len, buf) = s.inline_bytes()?;
        Some((len, [word(buf, 0), word(buf, 1), word(buf, 2)]))
    }
}

/// Word `i` (0, 1 or 2) of inline bytes: bytes 0–7, 8–15 or 14–21.
#[inline(always)]
pub(crate) fn word(buf: &[u8; Str::INLINE], i: usize) -> u64 {
    let at = [0, 8, Str::INLINE - 8][i % 3];
    let mut w = [0; 8];
    w.copy_from_slice(&buf[at..at + 8]);
    u64::from_ne_bytes(w)
}

impl Deref for Str {
    type Target = str;

    fn deref(&self) -> &str {
        self.as_str()
    }
}

impl AsRef<str> for Str {
    fn as_ref(&self) -> &str {
        self.as_str()
    }
}

impl Borrow<str> for Str {
    fn borrow(&self) -> &str {
        self.as_str()
    }
}

impl From<&str> for Str {
    fn from(text: &str) -> Str {
        Str::new(text)
    }
}

impl From<String> for Str {
    fn from(text: String) -> Str {
        match Str::inline(&text) {
            Some(s) => s,
            None => Str(Repr::Shared(Arc::from(text))),
        }
    }
}

impl PartialEq for Str {
    fn eq(&self, other: &Str) -> bool {
        match (&self.0, &other.0) {
            (Repr::Inline { len: a, buf: x }, Repr::Inline { len: b, buf: y }) => a == b && x == y,
            (Repr::Shared(a), Repr::Shared(b)) => a == b,
            // Canonical forms: text of different forms differs in length.
            _ => false,
        }
    }
}

impl Eq for Str {}

impl PartialOrd for Str {
    fn partial_cmp(&self, other: &Str) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Str {
    fn cmp(&self, other: &Str) -> std::cmp::Ordering {
        self.as_str().cmp(other.as_str())
    }
}

impl Hash for Str {
    fn hash<H: Hasher>(&self, h: &mut H) {
        self.as_str().hash(h)
    }
}

impl fmt::Debug for Str {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self.as_str(), f)
    }
}

impl fmt::Display for Str {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Compares as the `str` it holds.
macro_rules! eq_text {
    ($($other:ty),*) => {$(
        impl PartialEq<$other> for Str {
            fn eq(&self, other: &$other) -> bool {
                self.as_str() == AsRef::<str>::as_ref(other)
            }
        }

        impl PartialEq<Str> for $other {
            fn eq(&self, other: &Str) -> bool {
                AsRef::<str>::as_ref(self) == other.as_str()
            }
        }
    )*};
}

eq_text!(str, &str, String);

/// Serialized as the text it holds.
impl serde::Serialize for Str {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

/// Read from text: inline when short, else one shared allocation.
impl<'de> serde::Deserialize<'de> for Str {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Str, D::Error> {
        struct Text;
        impl serde::de::Visitor<'_> for Text {
            type Value = Str;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a string")
            }
            fn visit_str<E: serde::de::Error>(self, s: &str) -> Result<Str, E> {
                Ok(Str::new(s))
            }
        }
        d.deserialize_str(Text)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn compares_with_text_and_serializes_as_text() {
        for text in ["", "short", &"long".repeat(20)] {
            let s = Str::new(text);
            let owned = text.to_string();
            assert!(s == text && s == *text && s == owned);
            assert!(text == s && *text == s && owned == s);
            assert!(s != "other");
            let json = serde_json::to_string(&s).unwrap();
            assert_eq!(json, serde_json::to_string(text).unwrap());
            let back: Str = serde_json::from_str(&json).unwrap();
            assert_eq!(back, s);
            assert_eq!(
                back.len() <= Str::INLINE,
                matches!(back.0, Repr::Inline { .. })
            );
        }
        let escaped: Str = serde_json::from_str(r#""a\u00e9\n""#).unwrap();
        assert_eq!(escaped, "aé\n");
        assert!(serde_json::from_str::<Str>("3").is_err());
    }

    #[test]
    fn short_text_is_inline_and_long_text_shared() {
        for n in 0..40 {
            let text = "é".repeat(n / 2) + &"x".repeat(n % 2);
            let s = Str::new(&text);
            assert_eq!(s.as_str(), text);
            assert_eq!(&*Str::from(text.clone()), text);
            assert_eq!(s.inline_bytes().is_some(), text.len() <= Str::INLINE, "{n}");
            assert_eq!(s.clone(), s);
        }
    }

    #[test]
    fn equal_text_has_equal_words_and_different_text_different_words() {
        let texts = [
            "",
            "a",
            "ab",
            "resolved",
            "resolveD",
            "malicious",
            "x".repeat(22).leak(),
        ];
        for a in texts {
            for b in texts {
                let (sa, sb) = (Str::new(a), Str::new(b));
                assert_eq!(sa == sb, a == b);
                assert_eq!(sa.cmp(&sb), a.cmp(b));
                assert_eq!(Str::words_of(a) == Str::words_of(b), a == b, "{a:?} {b:?}");
            }
        }
    }

    #[test]
    fn a_value_stays_three_words() {
        assert_eq!(std::mem::size_of::<crate::value::Value>(), 24);
    }
}
