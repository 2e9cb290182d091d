//! Reading `serde_json` values with JSON paths for errors, and the normalizations the importers
//! share: enum values, times, addresses, URLs.

use std::borrow::Cow;
use std::collections::HashSet;
use std::fmt::Write as _;
use std::net::IpAddr;

pub(crate) use riposte_dsl::snake::snake;
use riposte_dsl::value::{format_time, parse_time};
use serde_json::{Map, Number, Value as Json};

use super::{ImportError, ImportLimits, Limit};

pub(crate) type Object = Map<String, Json>;

/// One step of a JSON path.
#[derive(Clone, Copy, Debug)]
enum Seg<'a> {
    Root,
    Key(&'a str),
    Index(usize),
}

/// A JSON path (`$.value[3].alerts`): a chain of borrowed steps, rendered only when an error
/// needs it.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Path<'a> {
    parent: Option<&'a Path<'a>>,
    seg: Seg<'a>,
}

/// `$`, the document.
pub(crate) static ROOT: Path<'static> = Path {
    parent: None,
    seg: Seg::Root,
};

impl<'a> Path<'a> {
    pub(crate) fn key<'b>(&'b self, key: &'b str) -> Path<'b> {
        Path {
            parent: Some(self),
            seg: Seg::Key(key),
        }
    }

    pub(crate) fn index(&self, i: usize) -> Path<'_> {
        Path {
            parent: Some(self),
            seg: Seg::Index(i),
        }
    }

    /// `$.value[3]["@odata.type"]`.
    pub(crate) fn render(&self) -> String {
        let mut segs = Vec::new();
        let mut cur = Some(self);
        while let Some(p) = cur {
            segs.push(p.seg);
            cur = p.parent;
        }
        let mut out = String::from("$");
        for seg in segs.iter().rev() {
            match seg {
                Seg::Root => {}
                Seg::Key(k) if is_identifier(k) => {
                    out.push('.');
                    out.push_str(k);
                }
                Seg::Key(k) => {
                    let _ = write!(out, "[{}]", Json::from(*k));
                }
                Seg::Index(i) => {
                    let _ = write!(out, "[{i}]");
                }
            }
        }
        out
    }
}

/// One step of a JSON path as errors write it: a member or an item.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PathStep {
    Key(String),
    Index(usize),
}

/// The steps of a path as [`Path::render`] writes it (`$.value[3]["@odata.type"]`), so the
/// node it names can be found in the document it was read from; `None` for any other text.
pub(crate) fn parse_path(rendered: &str) -> Option<Vec<PathStep>> {
    let mut rest = rendered.strip_prefix('$')?;
    let mut steps = Vec::new();
    while !rest.is_empty() {
        if let Some(after) = rest.strip_prefix('.') {
            let end = after
                .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
                .unwrap_or(after.len());
            let (key, after) = after.split_at(end);
            if key.is_empty() {
                return None;
            }
            steps.push(PathStep::Key(key.to_string()));
            rest = after;
        } else {
            let after = rest.strip_prefix('[')?;
            if after.starts_with('"') {
                // A key written as a JSON string: read as one, escapes and all.
                let mut strings = serde_json::Deserializer::from_str(after).into_iter::<String>();
                let key = strings.next()?.ok()?;
                rest = after.get(strings.byte_offset()..)?.strip_prefix(']')?;
                steps.push(PathStep::Key(key));
                continue;
            }
            let (index, after) = after.split_once(']')?;
            steps.push(PathStep::Index(index.parse().ok()?));
            rest = after;
        }
    }
    Some(steps)
}

fn is_identifier(k: &str) -> bool {
    !k.is_empty()
        && !k.starts_with(|c: char| c.is_ascii_digit())
        && k.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// What an importer needs to report errors: the file name and the limits.
pub(crate) struct Cx<'a> {
    pub file: &'a str,
    pub limits: &'a ImportLimits,
}

impl Cx<'_> {
    pub(crate) fn invalid(&self, path: &Path, message: impl Into<String>) -> ImportError {
        ImportError::Invalid {
            file: self.file.to_string(),
            path: path.render(),
            message: message.into(),
        }
    }

    pub(crate) fn too_large(&self, path: &Path, what: Limit, count: usize) -> ImportError {
        ImportError::TooLarge {
            file: self.file.to_string(),
            path: path.render(),
            what,
            count,
            limit: what.of(self.limits),
        }
    }

    /// An error when `count` exceeds the limit `what`.
    pub(crate) fn check_len(
        &self,
        path: &Path,
        what: Limit,
        count: usize,
    ) -> Result<(), ImportError> {
        if count > what.of(self.limits) {
            Err(self.too_large(path, what, count))
        } else {
            Ok(())
        }
    }
}

/// "a string", "an object", … for messages.
pub(crate) fn describe(v: &Json) -> &'static str {
    match v {
        Json::Null => "null",
        Json::Bool(_) => "a boolean",
        Json::Number(_) => "a number",
        Json::String(_) => "a string",
        Json::Array(_) => "a list",
        Json::Object(_) => "an object",
    }
}

/// A member by name: the exact key, else the first key equal to it ignoring ASCII case (the
/// Azure APIs are not consistent about casing). Null counts as absent.
pub(crate) fn get<'v>(map: &'v Object, key: &str) -> Option<&'v Json> {
    let found = match map.get(key) {
        Some(v) => Some(v),
        None => map
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(key))
            .map(|(_, v)| v),
    };
    found.filter(|v| !v.is_null())
}

/// The name member `key` of `map` is written with, as [`get`] finds it (the exact name, else
/// the first equal to it ignoring ASCII case), for the JSON paths of errors; `key` where there
/// is none.
pub(crate) fn written<'a>(map: &'a Object, key: &'a str) -> &'a str {
    if map.contains_key(key) {
        return key;
    }
    map.keys()
        .find(|k| k.eq_ignore_ascii_case(key))
        .map_or(key, String::as_str)
}

/// A JSON value as the importers read it: `serde_json`'s, or the fast path's sparse borrowed
/// one ([`super::fast`]).
pub(crate) trait Val: Sized {
    type Obj: Obj<Val = Self>;
    fn view(&self) -> View<'_, Self>;
    /// The value as `serde_json` data; `None` where the fast path does not keep it.
    fn to_json(&self) -> Option<Json>;
}

/// An object of [`Val`]s.
pub(crate) trait Obj {
    type Val: Val<Obj = Self>;
    /// A member by name (see [`get`]); null counts as absent.
    fn field(&self, key: &str) -> Option<&Self::Val>;
    /// The name member `key` is written with (see [`written`]), for the JSON paths of errors.
    fn written<'a>(&'a self, key: &'a str) -> &'a str {
        key
    }
    /// The path of member `key` under `path`, by the name it is written with.
    fn at<'a>(&'a self, path: &'a Path<'a>, key: &'a str) -> Path<'a> {
        path.key(self.written(key))
    }
}

/// What a [`Val`] is.
pub(crate) enum View<'a, V: Val> {
    Null,
    Bool(bool),
    Number(&'a Number),
    Str(&'a str),
    Array(&'a [V]),
    Object(&'a V::Obj),
}

impl Val for Json {
    type Obj = Object;
    fn view(&self) -> View<'_, Self> {
        match self {
            Json::Null => View::Null,
            Json::Bool(b) => View::Bool(*b),
            Json::Number(n) => View::Number(n),
            Json::String(s) => View::Str(s),
            Json::Array(items) => View::Array(items),
            Json::Object(m) => View::Object(m),
        }
    }
    fn to_json(&self) -> Option<Json> {
        Some(self.clone())
    }
}

impl Obj for Object {
    type Val = Json;
    fn field(&self, key: &str) -> Option<&Json> {
        get(self, key)
    }
    fn written<'a>(&'a self, key: &'a str) -> &'a str {
        written(self, key)
    }
}

/// Why `v`, found where text is expected, is not read as text.
fn not_text<V: Val>(v: &V) -> String {
    match v.view() {
        // Read as floating point, two ids could come out the same.
        View::Number(_) => "expected text, found a number with a fraction or an exponent, or an \
                            integer past 64 bits, which could only be read inexactly: write it \
                            in quotes"
            .to_string(),
        _ => format!("expected text, found {}", describe_val(v)),
    }
}

/// [`describe`] for any [`Val`].
pub(crate) fn describe_val<V: Val>(v: &V) -> &'static str {
    match v.view() {
        View::Null => "null",
        View::Bool(_) => "a boolean",
        View::Number(_) => "a number",
        View::Str(_) => "a string",
        View::Array(_) => "a list",
        View::Object(_) => "an object",
    }
}

pub(crate) fn object<'v, V: Val>(
    cx: &Cx,
    v: &'v V,
    path: &Path,
) -> Result<&'v V::Obj, ImportError> {
    match v.view() {
        View::Object(m) => Ok(m),
        _ => Err(cx.invalid(
            path,
            format!("expected an object, found {}", describe_val(v)),
        )),
    }
}

pub(crate) fn opt_object<'v, M: Obj>(
    cx: &Cx,
    map: &'v M,
    key: &str,
    path: &Path,
) -> Result<Option<&'v M>, ImportError> {
    map.field(key)
        .map(|v| object(cx, v, &map.at(path, key)))
        .transpose()
}

pub(crate) fn opt_array<'v, M: Obj>(
    cx: &Cx,
    map: &'v M,
    key: &str,
    path: &Path,
) -> Result<Option<&'v [M::Val]>, ImportError> {
    match map.field(key) {
        None => Ok(None),
        Some(v) => match v.view() {
            View::Array(items) => Ok(Some(items)),
            _ => Err(cx.invalid(
                &map.at(path, key),
                format!("expected a list, found {}", describe_val(v)),
            )),
        },
    }
}

/// A scalar as text, borrowed where the value is text; empty text is absent. Numbers count as
/// text only when they are exact integers: `1e3`, `1.5` or an integer past 64 bits would be
/// read as floating point, and two ids could come out the same.
fn scalar_text<V: Val>(v: &V) -> Option<Option<Cow<'_, str>>> {
    match v.view() {
        View::Str(s) if trim(s).is_empty() => Some(None),
        View::Str(s) => Some(Some(Cow::Borrowed(s))),
        View::Number(n) if n.is_f64() => None,
        View::Number(n) => Some(Some(Cow::Owned(n.to_string()))),
        View::Bool(b) => Some(Some(Cow::Borrowed(if b { "true" } else { "false" }))),
        View::Null => Some(None),
        View::Array(_) | View::Object(_) => None,
    }
}

/// Text; numbers and booleans are accepted as their JSON spelling, empty text is absent.
pub(crate) fn opt_str<M: Obj>(
    cx: &Cx,
    map: &M,
    key: &str,
    path: &Path,
) -> Result<Option<String>, ImportError> {
    Ok(opt_text(cx, map, key, path)?.map(Cow::into_owned))
}

/// [`opt_str`], borrowed where the member is text (for values normalized further, which
/// spares a copy).
pub(crate) fn opt_text<'v, M: Obj>(
    cx: &Cx,
    map: &'v M,
    key: &str,
    path: &Path,
) -> Result<Option<Cow<'v, str>>, ImportError> {
    match map.field(key) {
        None => Ok(None),
        Some(v) => scalar_text(v).ok_or_else(|| cx.invalid(&map.at(path, key), not_text(v))),
    }
}

/// The first of `keys` that has text.
pub(crate) fn first_str<M: Obj>(
    cx: &Cx,
    map: &M,
    keys: &[&str],
    path: &Path,
) -> Result<Option<String>, ImportError> {
    for key in keys {
        if let Some(s) = opt_str(cx, map, key, path)? {
            return Ok(Some(s));
        }
    }
    Ok(None)
}

/// A number; numeric text is accepted.
pub(crate) fn opt_number<M: Obj>(
    cx: &Cx,
    map: &M,
    key: &str,
    path: &Path,
) -> Result<Option<Number>, ImportError> {
    let Some(v) = map.field(key) else {
        return Ok(None);
    };
    match v.view() {
        View::Number(n) => Ok(Some(n.clone())),
        View::Str(s) if trim(s).is_empty() => Ok(None),
        View::Str(s) => parse_number(trim(s)).map(Some).ok_or_else(|| {
            cx.invalid(
                &map.at(path, key),
                format!("expected a number, found `{}`", clip(s, 80)),
            )
        }),
        _ => Err(cx.invalid(
            &map.at(path, key),
            format!("expected a number, found {}", describe_val(v)),
        )),
    }
}

fn parse_number(s: &str) -> Option<Number> {
    if let Ok(i) = s.parse::<i64>() {
        return Some(Number::from(i));
    }
    if let Ok(u) = s.parse::<u64>() {
        return Some(Number::from(u));
    }
    s.parse::<f64>().ok().and_then(Number::from_f64)
}

/// A list of text items (a lone text is a list of one); null items are skipped, duplicates
/// dropped.
pub(crate) fn str_list<M: Obj>(
    cx: &Cx,
    map: &M,
    key: &str,
    path: &Path,
) -> Result<Vec<String>, ImportError> {
    let items = text_items(cx, map, key, path)?;
    if items.is_empty() {
        return Ok(Vec::new());
    }
    Ok(dedup(items.into_iter().map(Cow::into_owned).collect()))
}

/// The items of [`str_list`], borrowed, with repetitions.
fn text_items<'v, M: Obj>(
    cx: &Cx,
    map: &'v M,
    key: &str,
    path: &Path,
) -> Result<Vec<Cow<'v, str>>, ImportError> {
    let Some(v) = map.field(key) else {
        return Ok(Vec::new());
    };
    let items = match v.view() {
        View::Array(items) => items,
        View::Str(_) | View::Number(_) | View::Bool(_) => std::slice::from_ref(v),
        _ => {
            return Err(cx.invalid(
                &map.at(path, key),
                format!("expected a list of text, found {}", describe_val(v)),
            ))
        }
    };
    let here = map.at(path, key);
    let mut out = Vec::with_capacity(items.len());
    for (i, item) in items.iter().enumerate() {
        match scalar_text(item) {
            Some(Some(s)) => out.push(s),
            Some(None) => {}
            None => return Err(cx.invalid(&here.index(i), not_text(item))),
        }
    }
    Ok(out)
}

/// `items` without repetitions, in first-seen order.
pub(crate) fn dedup<T: Eq + std::hash::Hash + Clone>(items: Vec<T>) -> Vec<T> {
    if items.len() < 2 {
        return items;
    }
    // Short lists (the usual case) are checked pairwise, without hashing or cloning.
    if items.len() <= 16 {
        let mut out: Vec<T> = Vec::with_capacity(items.len());
        for s in items {
            if !out.contains(&s) {
                out.push(s);
            }
        }
        return out;
    }
    let mut seen = HashSet::with_capacity(items.len());
    items
        .into_iter()
        .filter(|s| seen.insert(s.clone()))
        .collect()
}

/// An RFC 3339 time (0–9 fractional digits, any offset; no offset means UTC), normalized to
/// UTC with milliseconds.
pub(crate) fn opt_time<M: Obj>(
    cx: &Cx,
    map: &M,
    key: &str,
    path: &Path,
) -> Result<Option<String>, ImportError> {
    let Some(text) = opt_text(cx, map, key, path)? else {
        return Ok(None);
    };
    normalize_time(&text)
        .map(Some)
        .ok_or_else(|| cx.invalid(&map.at(path, key), not_a_time(&text)))
}

/// Why `text`, which [`normalize_time`] refuses, is no time of an incident.
pub(crate) fn not_a_time(text: &str) -> String {
    let why = if riposte_dsl::value::time_out_of_range(trim(text)) {
        "is past 9999-12-31T23:59:59.999Z or before 0000-01-01T00:00:00Z once in UTC, the times \
         RFC 3339 writes"
    } else {
        "is not an RFC 3339 time such as `2025-03-12T08:14:02Z`"
    };
    format!("`{}` {why}", clip(text, 80))
}

pub(crate) fn normalize_time(text: &str) -> Option<String> {
    let t = trim(text);
    let ms = parse_time(t).or_else(|| parse_time(&format!("{t}Z")))?;
    Some(format_time(ms))
}

/// An enumerated value, normalized (see [`norm_enum`]).
pub(crate) fn opt_enum<M: Obj>(
    cx: &Cx,
    map: &M,
    key: &str,
    path: &Path,
    known: &[&'static str],
    aliases: &[(&str, &'static str)],
) -> Result<Option<String>, ImportError> {
    Ok(opt_text(cx, map, key, path)?.and_then(|s| norm_enum(&s, known, aliases)))
}

/// [`opt_enum`], borrowing the known value matched (for values that may be replaced or
/// dropped before the record is final).
pub(crate) fn opt_enum_static<M: Obj>(
    cx: &Cx,
    map: &M,
    key: &str,
    path: &Path,
    known: &[&'static str],
    aliases: &[(&str, &'static str)],
) -> Result<Option<Cow<'static, str>>, ImportError> {
    Ok(opt_text(cx, map, key, path)?.and_then(|s| norm_enum_static(&s, known, aliases)))
}

/// A list of enumerated values, normalized, without repetitions.
pub(crate) fn enum_list<M: Obj>(
    cx: &Cx,
    map: &M,
    key: &str,
    path: &Path,
    known: &[&'static str],
) -> Result<Vec<String>, ImportError> {
    // Repetitions dropped once, after normalizing, is the same as before and after.
    let items = text_items(cx, map, key, path)?;
    Ok(dedup(
        items
            .iter()
            .filter_map(|s| norm_enum(s, known, &[]))
            .collect(),
    ))
}

/// Lowercase letters and digits only: the case- and separator-insensitive form of a name,
/// as characters (no allocation).
fn squash(s: &str) -> impl Iterator<Item = char> + Clone + '_ {
    s.chars()
        .filter(|c| c.is_alphanumeric())
        .flat_map(char::to_lowercase)
}

/// Normalizes an enumerated value: compared case- and separator-insensitively with `aliases`
/// (given squashed: `("informationalexpectedactivity", "benign_positive")`) and `known` values;
/// anything else becomes `snake_case`. `None` for text without letters or digits.
pub(crate) fn norm_enum(
    raw: &str,
    known: &[&'static str],
    aliases: &[(&str, &'static str)],
) -> Option<String> {
    norm_enum_static(raw, known, aliases).map(Cow::into_owned)
}

/// [`norm_enum`], borrowing the known value or alias matched.
pub(crate) fn norm_enum_static(
    raw: &str,
    known: &[&'static str],
    aliases: &[(&str, &'static str)],
) -> Option<Cow<'static, str>> {
    if known.is_empty() && aliases.is_empty() {
        // Nothing to compare with: the snake case, which is empty exactly when the text has
        // no letters or digits.
        let s = snake(raw);
        return (!s.is_empty()).then_some(Cow::Owned(s));
    }
    if raw.is_ascii() {
        let mut buf = [0_u8; 64];
        if let Some(squashed) = squash_ascii(raw, &mut buf) {
            return norm_enum_ascii(raw, squashed, known, aliases);
        }
    }
    norm_enum_general(raw, known, aliases).map(Cow::Owned)
}

/// ASCII `raw` squashed into `buf` (ASCII letters and digits, lowercase); `None` when it does
/// not fit.
fn squash_ascii<'b>(raw: &str, buf: &'b mut [u8]) -> Option<&'b [u8]> {
    let mut len = 0;
    for c in raw.bytes().filter(u8::is_ascii_alphanumeric) {
        *buf.get_mut(len)? = c.to_ascii_lowercase();
        len += 1;
    }
    buf.get(..len)
}

/// The value Graph gives any enumeration in place of one newer than the client (squashed, and
/// as written), in any case: one word in capitals, `snake_case` could not split it.
const UNKNOWN_FUTURE_VALUE: (&str, &str) = ("unknownfuturevalue", "unknown_future_value");

/// [`norm_enum`] for ASCII text, squashed once rather than once per candidate: the same
/// result, as for ASCII text squashing is the byte filter of [`squash_eq`].
fn norm_enum_ascii(
    raw: &str,
    squashed: &[u8],
    known: &[&'static str],
    aliases: &[(&str, &'static str)],
) -> Option<Cow<'static, str>> {
    if squashed.is_empty() {
        return None;
    }
    if let Some((_, to)) = aliases.iter().find(|(from, _)| from.as_bytes() == squashed) {
        return Some(Cow::Borrowed(to));
    }
    if squashed == UNKNOWN_FUTURE_VALUE.0.as_bytes() {
        return Some(Cow::Borrowed(UNKNOWN_FUTURE_VALUE.1));
    }
    // `k` squashed is `squashed`; one pass over `k`, which fails at its first letter mostly.
    let is = |k: &&&str| {
        let mut rest = squashed.iter();
        for &c in k.as_bytes() {
            if c.is_ascii_alphanumeric() {
                if rest.next() != Some(&c.to_ascii_lowercase()) {
                    return false;
                }
            } else if !c.is_ascii() {
                return squash_eq(raw, k);
            }
        }
        rest.next().is_none()
    };
    if let Some(k) = known.iter().find(is) {
        return Some(Cow::Borrowed(k));
    }
    Some(Cow::Owned(snake(raw)))
}

/// [`norm_enum`] for any text.
pub(crate) fn norm_enum_general(
    raw: &str,
    known: &[&str],
    aliases: &[(&str, &str)],
) -> Option<String> {
    if !raw.chars().any(char::is_alphanumeric) {
        return None;
    }
    // Aliases are given squashed: squashing them again changes nothing.
    if let Some((_, to)) = aliases
        .iter()
        .chain([&UNKNOWN_FUTURE_VALUE])
        .find(|(from, _)| squash_eq(raw, from))
    {
        return Some((*to).to_string());
    }
    if let Some(k) = known.iter().find(|k| squash_eq(raw, k)) {
        return Some((*k).to_string());
    }
    Some(snake(raw))
}

/// Whether `a` and `b` are equal squashed. For ASCII text (the usual case) bytes are
/// compared, which is the same: ASCII letters and digits are the alphanumeric ASCII characters
/// and their lowercase is the ASCII lowercase.
fn squash_eq(a: &str, b: &str) -> bool {
    if a.is_ascii() && b.is_ascii() {
        a.bytes()
            .filter(u8::is_ascii_alphanumeric)
            .map(|c| c.to_ascii_lowercase())
            .eq(b
                .bytes()
                .filter(u8::is_ascii_alphanumeric)
                .map(|c| c.to_ascii_lowercase()))
    } else {
        squash(a).eq(squash(b))
    }
}

/// `s.trim()`, without its character checks for text with none to trim (nearly all): visible
/// ASCII characters are no whitespace.
pub(crate) fn trim(s: &str) -> &str {
    match (s.as_bytes().first(), s.as_bytes().last()) {
        (Some(first), Some(last)) if first.is_ascii_graphic() && last.is_ascii_graphic() => s,
        _ => s.trim(),
    }
}

/// An address, accepting `[v6]`, a `%zone` and a `/prefix`.
pub(crate) fn parse_ip(text: &str) -> Option<IpAddr> {
    parse_ip_text(text).map(|(ip, _)| ip)
}

/// [`parse_ip`], with the text of the address alone.
fn parse_ip_text(text: &str) -> Option<(IpAddr, &str)> {
    let t = trim(text);
    let t = t.split('/').next().unwrap_or(t);
    let t = t
        .strip_prefix('[')
        .and_then(|s| s.strip_suffix(']'))
        .unwrap_or(t);
    let t = t.split('%').next().unwrap_or(t);
    t.parse().ok().map(|ip: IpAddr| (ip.to_canonical(), t))
}

/// The canonical spelling of an address (`FE80::1` → `fe80::1`), `None` for other text.
pub(crate) fn ip_string(text: &str) -> Option<String> {
    let (ip, t) = parse_ip_text(text)?;
    Some(match ip {
        // An IPv4 address written as IPv4 is already canonical: the standard parser takes four
        // decimal numbers without leading zeros only, so the text is what display would write,
        // without formatting. One written IPv4-mapped (`::ffff:198.51.100.7`) is the IPv4
        // address, and one entity with it.
        IpAddr::V4(_) if !t.contains(':') => t.to_string(),
        _ => ip.to_string(),
    })
}

/// The canonical spelling of an address (`FE80::1` → `fe80::1`); other text trimmed.
pub(crate) fn canonical_ip(text: &str) -> String {
    ip_string(text).unwrap_or_else(|| text.trim().to_string())
}

/// Where a URL's authority starts: after `scheme://`, after the `//` of a scheme-relative URL
/// (`//contoso.com/x`), or at 0 when the URL has no scheme (`contoso.com/x`). A `://` further
/// on, in the path or query (`phish.example/r?next=https://…`), is not the scheme's.
pub(crate) fn authority_start(url: &str) -> usize {
    if url.starts_with("//") {
        return 2;
    }
    match url.find("://") {
        Some(i)
            if url[..i].starts_with(|c: char| c.is_ascii_alphabetic())
                && url[..i]
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'+' | b'-' | b'.')) =>
        {
            i + 3
        }
        _ => 0,
    }
}

/// The host name of a URL, lowercase, without user, port or trailing dot.
pub(crate) fn url_domain(url: &str) -> Option<String> {
    let rest = url.trim();
    let rest = &rest[authority_start(rest)..];
    let authority = rest.split(['/', '?', '#']).next().unwrap_or(rest);
    let host = authority.rsplit('@').next().unwrap_or(authority);
    let host = match host.strip_prefix('[') {
        Some(v6) => v6.split(']').next().unwrap_or(v6),
        None => host.split(':').next().unwrap_or(host),
    };
    let host = host.trim_end_matches('.').to_lowercase();
    (!host.is_empty()).then_some(host)
}

/// Incident text quoted in an error: clipped, with its control characters shown as `�`, so it
/// can neither drive a terminal nor forge a line of the message.
pub(crate) fn clip(text: &str, max: usize) -> std::borrow::Cow<'_, str> {
    use std::borrow::Cow;
    match riposte_dsl::diagnostic::clip(text, max) {
        Cow::Borrowed(b) => crate::plan::text::printable(b),
        Cow::Owned(o) => Cow::Owned(crate::plan::text::printable(&o).into_owned()),
    }
}

/// The last `/`-separated segment of an Azure resource id.
pub(crate) fn last_segment(id: &str) -> Option<String> {
    id.trim_end_matches('/')
        .rsplit('/')
        .next()
        .filter(|s| !s.is_empty())
        .map(str::to_string)
}

/// Whether free text (a tag, a role, a detailed role) says the account is an admin: one of its
/// words (letters and digits; anything else separates words, a change of case does not) is
/// `admin`, `admins`, `administrator` or `administrators`, or ends with one (`Domain Admins`,
/// `GlobalAdmin`, `Helpdesk Administrator`, `sysadmin`), and the text negates nothing: no word
/// is `no`, `non` or `not`, and the admin word does not start with `non` or `not`
/// (`Non-admin`, `nonadmin`, `not an administrator`). A word that only starts with `admin`
/// (`AdminPortal`) does not count.
pub(crate) fn mentions_admin(text: &str) -> bool {
    const ADMIN: [&str; 4] = ["admin", "admins", "administrator", "administrators"];
    const NEGATIONS: [&str; 3] = ["no", "non", "not"];
    let ends_with = |w: &str, end: &str| {
        w.len() >= end.len()
            && w.is_char_boundary(w.len() - end.len())
            && w[w.len() - end.len()..].eq_ignore_ascii_case(end)
    };
    let starts_with = |w: &str, start: &str| {
        w.get(..start.len())
            .is_some_and(|s| s.eq_ignore_ascii_case(start))
    };
    let mut admin = false;
    for w in text.split(|c: char| !c.is_alphanumeric()) {
        if NEGATIONS.iter().any(|n| w.eq_ignore_ascii_case(n)) {
            return false;
        }
        if ADMIN.iter().any(|a| ends_with(w, a))
            && !NEGATIONS[1..].iter().any(|n| starts_with(w, n))
        {
            admin = true;
        }
    }
    admin
}

#[cfg(test)]
mod path_tests {
    use super::*;

    /// A rendered path reads back as the steps it was made of.
    #[test]
    fn rendered_paths_parse_back() {
        let value = ROOT.key("value");
        let third = value.index(3);
        let odd = third.key("@odata.\"type\"]");
        let last = odd.key("kind");
        assert_eq!(last.render(), r#"$.value[3]["@odata.\"type\"]"].kind"#);
        assert_eq!(
            parse_path(&last.render()),
            Some(vec![
                PathStep::Key("value".into()),
                PathStep::Index(3),
                PathStep::Key("@odata.\"type\"]".into()),
                PathStep::Key("kind".into()),
            ])
        );
        assert_eq!(parse_path("$"), Some(vec![]));
        for bad in ["", "value", "$.", "$[x]", "$[\"a\"", "$..a"] {
            assert_eq!(parse_path(bad), None, "{bad}");
        }
    }
}
