//! Runtime values of the expression language.
//!
//! Values are cheap to clone: text, lists and records sit behind [`Arc`]s. Records store their
//! fields in the order of their [`RecordType`], so a checked expression reads a field by index.

use std::fmt;
use std::hash::{Hash, Hasher};
use std::net::IpAddr;
use std::sync::Arc;

pub use crate::text::Str;
use triomphe::HeaderSlice;

use crate::types::RecordType;

/// The severity names, indexed by the value of [`Value::Severity`].
pub const SEVERITIES: [&str; 4] = ["informational", "low", "medium", "high"];

/// One runtime value.
#[derive(Clone, Default)]
pub enum Value {
    #[default]
    Null,
    Bool(bool),
    Number(f64),
    /// Text up to 23 bytes (the usual ids, names, statuses and verdicts) is held inline, so
    /// reading or comparing it follows no pointer; longer text is shared.
    String(Str),
    /// Milliseconds.
    Duration(i64),
    /// Milliseconds since 1970-01-01T00:00:00Z.
    Time(i64),
    /// 0 informational, 1 low, 2 medium, 3 high.
    Severity(u8),
    Ip(IpAddr),
    List(Arc<[Value]>),
    Record(RecordValue),
}

/// A record: its type and its field values, in the order of `ty.fields`, in one shared
/// allocation. The value holds a (pointer, length) pair to it, so reading a field is one load
/// from the value: a checked expression reads fields by index, on every condition.
#[derive(Clone)]
pub struct RecordValue(triomphe::Arc<HeaderSlice<Arc<RecordType>, [Value]>>);

static NULL: Value = Value::Null;

impl RecordValue {
    /// A record of type `ty` with these field values, in the order of `ty.fields` (extra
    /// values are kept, missing ones read as null).
    pub fn new(ty: Arc<RecordType>, fields: Vec<Value>) -> Self {
        RecordValue(triomphe::Arc::from_header_and_iter(ty, fields.into_iter()))
    }

    /// A record of type `ty` whose fields, all null at first, `fill` sets in place (by
    /// position, in the order of `ty.fields`): one allocation, no vector copied into it.
    pub fn filled(ty: Arc<RecordType>, fill: impl FnOnce(&mut [Value])) -> Self {
        let n = ty.fields.len();
        let mut arc = triomphe::Arc::from_header_and_iter(ty, std::iter::repeat_n(Value::Null, n));
        if let Some(rec) = triomphe::Arc::get_mut(&mut arc) {
            fill(&mut rec.slice);
        }
        // Else unreachable: the record was made just above and is not shared yet.
        RecordValue(arc)
    }

    /// A record of type `ty` from `(field name, value)` pairs: missing fields are null, names the
    /// type does not define are ignored.
    pub fn from_pairs<'a>(
        ty: Arc<RecordType>,
        pairs: impl IntoIterator<Item = (&'a str, Value)>,
    ) -> Self {
        let names = ty.clone();
        RecordValue::filled(ty, |fields| {
            let n = fields.len();
            // Pairs usually come in the type's field order: each name is looked for from the
            // field after the last one found, so such a record is built in one pass, not one
            // scan per field.
            let mut next = 0;
            for (name, value) in pairs {
                let found = (next..n)
                    .chain(0..next)
                    .find(|&i| names.fields.get(i).is_some_and(|f| f.name == name));
                if let Some(i) = found {
                    if let Some(slot) = fields.get_mut(i) {
                        *slot = value;
                    }
                    next = i + 1;
                }
            }
        })
    }

    pub fn ty(&self) -> &Arc<RecordType> {
        &self.0.header
    }

    /// The field values, in the order of `ty().fields`.
    #[inline]
    pub fn fields(&self) -> &[Value] {
        &self.0.slice
    }

    /// The fields with their names, sorted by name: the order of the record's JSON.
    pub fn members_by_name(&self) -> Vec<(&str, &Value)> {
        let mut members: Vec<(&str, &Value)> = self
            .ty()
            .fields
            .iter()
            .map(|f| f.name.as_str())
            .zip(self.fields())
            .collect();
        members.sort_by(|a, b| a.0.cmp(b.0));
        members
    }

    /// A field by name (a string lookup; checked expressions read fields by index instead).
    pub fn get(&self, name: &str) -> Option<&Value> {
        let (i, _) = self.ty().field(name)?;
        self.fields().get(i)
    }

    /// Sets field `index` (nothing if there is none): in place when this is the only reference
    /// to the record, else on a copy.
    pub fn set(&mut self, index: usize, value: Value) {
        if index >= self.fields().len() {
            return;
        }
        if let Some(rec) = triomphe::Arc::get_mut(&mut self.0) {
            if let Some(slot) = rec.slice.get_mut(index) {
                *slot = value;
            }
            return;
        }
        let mut fields = self.fields().to_vec();
        if let Some(slot) = fields.get_mut(index) {
            *slot = value;
        }
        *self = RecordValue::new(self.ty().clone(), fields);
    }

    fn ptr_eq(&self, other: &RecordValue) -> bool {
        triomphe::Arc::ptr_eq(&self.0, &other.0)
    }
}

impl fmt::Debug for RecordValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ", self.ty().name)?;
        let mut map = f.debug_map();
        for (field, value) in self.ty().fields.iter().zip(self.fields()) {
            if !matches!(value, Value::Null) {
                map.entry(&field.name, value);
            }
        }
        map.finish()
    }
}

impl Value {
    /// A record value built with [`RecordValue::from_pairs`].
    pub fn record<'a>(
        ty: Arc<RecordType>,
        pairs: impl IntoIterator<Item = (&'a str, Value)>,
    ) -> Value {
        Value::Record(RecordValue::from_pairs(ty, pairs))
    }

    pub fn list(items: impl IntoIterator<Item = Value>) -> Value {
        Value::List(items.into_iter().collect())
    }

    /// A severity by name, case-insensitively (`High` → 3).
    pub fn parse_severity(name: &str) -> Option<u8> {
        SEVERITIES
            .iter()
            .position(|s| s.eq_ignore_ascii_case(name))
            .and_then(|i| u8::try_from(i).ok())
    }

    /// The field at `index` of a record; null for other values and missing fields.
    pub fn get(&self, index: usize) -> &Value {
        match self {
            Value::Record(r) => r.fields().get(index).unwrap_or(&NULL),
            _ => &NULL,
        }
    }

    pub fn is_null(&self) -> bool {
        matches!(self, Value::Null)
    }

    /// Whether a condition holds: only `true` is true. Null and values of other types (which
    /// only `any`-typed data can produce where a `bool` is expected) are false.
    pub fn truthy(&self) -> bool {
        matches!(self, Value::Bool(true))
    }

    /// The name of this value's type, as in [`crate::types::Type`]'s display.
    pub fn type_name(&self) -> &str {
        match self {
            Value::Null => "null",
            Value::Bool(_) => "bool",
            Value::Number(_) => "number",
            Value::String(_) => "string",
            Value::Duration(_) => "duration",
            Value::Time(_) => "time",
            Value::Severity(_) => "severity",
            Value::Ip(_) => "ip",
            Value::List(_) => "list",
            Value::Record(r) => &r.ty().name,
        }
    }

    /// JSON: durations as text (`30m`), times as RFC 3339, severities by name, ips as text,
    /// records as objects.
    pub fn to_json(&self) -> serde_json::Value {
        use serde_json::Value as J;
        match self {
            Value::Null => J::Null,
            Value::Bool(b) => J::Bool(*b),
            Value::Number(n) => number_json(*n),
            Value::String(s) => J::String(s.to_string()),
            Value::Duration(ms) => J::String(format_duration(*ms)),
            Value::Time(ms) => J::String(format_time(*ms)),
            Value::Severity(s) => J::String(severity_name(*s).to_string()),
            Value::Ip(ip) => J::String(ip.to_string()),
            Value::List(items) => J::Array(items.iter().map(Value::to_json).collect()),
            Value::Record(r) => J::Object(
                r.ty()
                    .fields
                    .iter()
                    .zip(r.fields())
                    .map(|(f, v)| (f.name.clone(), v.to_json()))
                    .collect(),
            ),
        }
    }

    /// [`Value::to_json`] written out, compact (the text `to_json().to_string()` gives, members
    /// sorted by name), item by item: a writer that fails past a limit ([`BoundedText`])
    /// stops the walk there.
    pub fn write_json<W: fmt::Write + ?Sized>(&self, w: &mut W) -> fmt::Result {
        match self {
            Value::List(items) => {
                w.write_char('[')?;
                for (i, item) in items.iter().enumerate() {
                    if i > 0 {
                        w.write_char(',')?;
                    }
                    item.write_json(w)?;
                }
                w.write_char(']')
            }
            Value::Record(r) => {
                w.write_char('{')?;
                for (i, (name, v)) in r.members_by_name().into_iter().enumerate() {
                    if i > 0 {
                        w.write_char(',')?;
                    }
                    write!(w, "{}:", serde_json::Value::from(name))?;
                    v.write_json(w)?;
                }
                w.write_char('}')
            }
            scalar => write!(w, "{}", scalar.to_json()),
        }
    }

    /// The length of [`Value::write_json`]'s text, when at most `max`: the walk stops past it.
    pub fn json_len_within(&self, max: usize) -> Option<usize> {
        /// Counts what is written, failing past the limit.
        struct Count(usize, usize);
        impl fmt::Write for Count {
            fn write_str(&mut self, s: &str) -> fmt::Result {
                self.0 += s.len();
                if self.0 > self.1 {
                    Err(fmt::Error)
                } else {
                    Ok(())
                }
            }
        }
        let mut count = Count(0, max);
        self.write_json(&mut count).ok().map(|()| count.0)
    }

    /// Feeds a hash consistent with `==` (numbers equal as `f64` hash alike).
    pub(crate) fn hash_into<H: Hasher>(&self, h: &mut H) {
        std::mem::discriminant(self).hash(h);
        match self {
            Value::Null => {}
            Value::Bool(b) => b.hash(h),
            Value::Number(n) => {
                // `0.0 == -0.0`, so both hash as 0.
                let n = if *n == 0.0 { 0.0 } else { *n };
                n.to_bits().hash(h);
            }
            Value::String(s) => s.hash(h),
            Value::Duration(v) | Value::Time(v) => v.hash(h),
            Value::Severity(s) => s.hash(h),
            Value::Ip(ip) => ip.hash(h),
            Value::List(items) => {
                items.len().hash(h);
                for item in items.iter() {
                    item.hash_into(h);
                }
            }
            Value::Record(r) => {
                r.ty().name.hash(h);
                for v in r.fields() {
                    v.hash_into(h);
                }
            }
        }
    }
}

/// The name of a severity level; levels above 3 count as `high`.
pub fn severity_name(level: u8) -> &'static str {
    SEVERITIES[usize::from(level.min(3))]
}

fn number_json(n: f64) -> serde_json::Value {
    // Integral values up to 2^53 are exact in both representations.
    if n.fract() == 0.0 && n.abs() <= 9_007_199_254_740_992.0 {
        serde_json::Value::from(n as i64)
    } else {
        serde_json::Number::from_f64(n).map_or(serde_json::Value::Null, serde_json::Value::Number)
    }
}

impl PartialEq for Value {
    /// The language's `==`: same kind and equal contents; `null == null`.
    fn eq(&self, other: &Value) -> bool {
        match (self, other) {
            (Value::Null, Value::Null) => true,
            (Value::Bool(a), Value::Bool(b)) => a == b,
            (Value::Number(a), Value::Number(b)) => a == b,
            (Value::String(a), Value::String(b)) => a == b,
            (Value::Duration(a), Value::Duration(b)) | (Value::Time(a), Value::Time(b)) => a == b,
            (Value::Severity(a), Value::Severity(b)) => a == b,
            (Value::Ip(a), Value::Ip(b)) => a == b,
            (Value::List(a), Value::List(b)) => Arc::ptr_eq(a, b) || a[..] == b[..],
            (Value::Record(a), Value::Record(b)) => {
                a.ptr_eq(b) || (a.ty().name == b.ty().name && a.fields() == b.fields())
            }
            _ => false,
        }
    }
}

impl fmt::Debug for Value {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Value::Null => f.write_str("null"),
            Value::Bool(b) => write!(f, "{b}"),
            Value::Number(n) => write!(f, "{}", DisplayNumber(*n)),
            Value::String(s) => write!(f, "{:?}", &**s),
            Value::Duration(ms) => write!(f, "{}", format_duration(*ms)),
            Value::Time(ms) => write!(f, "time({})", format_time(*ms)),
            Value::Severity(s) => f.write_str(severity_name(*s)),
            Value::Ip(ip) => write!(f, "ip({ip})"),
            Value::List(items) => f.debug_list().entries(items.iter()).finish(),
            Value::Record(r) => fmt::Debug::fmt(r, f),
        }
    }
}

/// Text for templates: null is empty, lists are joined with `, `, durations read `1h30m`, times
/// are RFC 3339 UTC, severities lowercase, records JSON.
impl fmt::Display for Value {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Value::Null => Ok(()),
            Value::Bool(b) => write!(f, "{b}"),
            Value::Number(n) => write!(f, "{}", DisplayNumber(*n)),
            Value::String(s) => f.write_str(s),
            Value::Duration(ms) => f.write_str(&format_duration(*ms)),
            Value::Time(ms) => f.write_str(&format_time(*ms)),
            Value::Severity(s) => f.write_str(severity_name(*s)),
            Value::Ip(ip) => write!(f, "{ip}"),
            Value::List(items) => {
                for (i, item) in items.iter().enumerate() {
                    if i > 0 {
                        f.write_str(", ")?;
                    }
                    write!(f, "{item}")?;
                }
                Ok(())
            }
            Value::Record(_) => self.write_json(f),
        }
    }
}

/// Text being written up to the first character boundary past `max` bytes, where writing
/// fails: a writer that stops a value's walk there ([`Value::write_json`], `Display`), so that
/// a value whose written form is huge (a list of a million copies of one long text, which
/// costs a few units of work to build) costs no more than the limit.
pub struct BoundedText<'o> {
    pub out: &'o mut String,
    pub max: usize,
}

impl fmt::Write for BoundedText<'_> {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        let room = (self.max + 1).saturating_sub(self.out.len());
        if s.len() <= room {
            self.out.push_str(s);
            return Ok(());
        }
        // `s.len()` is a boundary, so there is one.
        let end = (room..=s.len())
            .find(|&i| s.is_char_boundary(i))
            .unwrap_or(s.len());
        self.out.push_str(s.get(..end).unwrap_or(""));
        Err(fmt::Error)
    }
}

struct DisplayNumber(f64);

impl fmt::Display for DisplayNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let n = self.0;
        if n.fract() == 0.0 && n.abs() < 1e15 {
            // Exact: integral and well inside i64.
            write!(f, "{}", n as i64)
        } else {
            write!(f, "{n}")
        }
    }
}

impl From<bool> for Value {
    fn from(b: bool) -> Self {
        Value::Bool(b)
    }
}

impl From<f64> for Value {
    fn from(n: f64) -> Self {
        Value::Number(n)
    }
}

impl From<i64> for Value {
    fn from(n: i64) -> Self {
        Value::Number(n as f64)
    }
}

impl From<&str> for Value {
    fn from(s: &str) -> Self {
        Value::String(Str::new(s))
    }
}

impl From<String> for Value {
    fn from(s: String) -> Self {
        Value::String(Str::from(s))
    }
}

impl From<IpAddr> for Value {
    fn from(ip: IpAddr) -> Self {
        Value::Ip(ip)
    }
}

impl From<Vec<Value>> for Value {
    fn from(items: Vec<Value>) -> Self {
        Value::List(Arc::from(items))
    }
}

/// The JSON of [`Value::to_json`] (members sorted by name), serialized as the value is walked
/// rather than built first: a writer that fails past a limit stops the walk there.
impl serde::Serialize for Value {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            Value::List(items) => serializer.collect_seq(items.iter()),
            Value::Record(r) => serializer.collect_map(r.members_by_name()),
            scalar => scalar.to_json().serialize(serializer),
        }
    }
}

impl From<RecordValue> for Value {
    fn from(r: RecordValue) -> Self {
        Value::Record(r)
    }
}

pub use crate::duration::format_duration;

/// RFC 3339 in UTC: `2024-05-01T12:00:00Z`, with milliseconds when there are any.
pub fn format_time(ms: i64) -> String {
    let days = ms.div_euclid(86_400_000);
    let in_day = ms.rem_euclid(86_400_000);
    let (y, m, d) = civil_from_days(days);
    let (hh, mm, ss, milli) = (
        in_day / 3_600_000,
        in_day / 60_000 % 60,
        in_day / 1000 % 60,
        in_day % 1000,
    );
    if !(0..=9999).contains(&y) {
        return if milli == 0 {
            format!("{y:04}-{m:02}-{d:02}T{hh:02}:{mm:02}:{ss:02}Z")
        } else {
            format!("{y:04}-{m:02}-{d:02}T{hh:02}:{mm:02}:{ss:02}.{milli:03}Z")
        };
    }
    // Digit by digit rather than through `format!`: import formats a few times per alert, and
    // templates one per time they show.
    let mut out = String::with_capacity(24);
    for (n, width, before) in [
        (y, 4, ""),
        (m, 2, "-"),
        (d, 2, "-"),
        (hh, 2, "T"),
        (mm, 2, ":"),
        (ss, 2, ":"),
        (milli, 3, "."),
    ] {
        // Milliseconds (the last part) only when there are any.
        if width == 3 && n == 0 {
            break;
        }
        out.push_str(before);
        for p in (0..width).rev() {
            // `n` is in 0..=9999 here: each digit is 0..=9.
            let digit = u8::try_from(n / 10_i64.pow(p) % 10).unwrap_or(0);
            out.push(char::from(b'0' + digit));
        }
    }
    out.push('Z');
    out
}

/// Parses RFC 3339 (`2024-05-01T12:00:00Z`, `2024-05-01T14:00:00.5+02:00`) to milliseconds
/// since the epoch.
pub fn parse_time(s: &str) -> Option<i64> {
    let b = s.as_bytes();
    let num = |from: usize, len: usize| -> Option<i64> {
        let part = s.get(from..from + len)?;
        if part.bytes().all(|c| c.is_ascii_digit()) {
            part.parse().ok()
        } else {
            None
        }
    };
    if b.len() < 20 || b[4] != b'-' || b[7] != b'-' || !matches!(b[10], b'T' | b't' | b' ') {
        return None;
    }
    if b[13] != b':' || b[16] != b':' {
        return None;
    }
    let (y, mo, d) = (num(0, 4)?, num(5, 2)?, num(8, 2)?);
    let (h, mi, sec) = (num(11, 2)?, num(14, 2)?, num(17, 2)?);
    if !(1..=12).contains(&mo) || d < 1 || d > days_in_month(y, mo) || h > 23 || mi > 59 || sec > 60
    {
        return None;
    }
    let mut i = 19;
    let mut milli = 0i64;
    if b.get(i) == Some(&b'.') {
        i += 1;
        let start = i;
        while b.get(i).is_some_and(u8::is_ascii_digit) {
            i += 1;
        }
        if i == start {
            return None;
        }
        // The first three digits, padded with zeros: milliseconds.
        for at in start..start + 3 {
            let digit = if at < i {
                b.get(at).copied()? - b'0'
            } else {
                0
            };
            milli = milli * 10 + i64::from(digit);
        }
    }
    let offset_min = match b.get(i) {
        Some(b'Z' | b'z') if i + 1 == b.len() => 0,
        Some(&sign @ (b'+' | b'-')) if i + 6 == b.len() && b[i + 3] == b':' => {
            let (oh, om) = (num(i + 1, 2)?, num(i + 4, 2)?);
            if oh > 23 || om > 59 {
                return None;
            }
            let m = oh * 60 + om;
            if sign == b'+' {
                m
            } else {
                -m
            }
        }
        _ => return None,
    };
    let days = days_from_civil(y, mo, d);
    let ms =
        days * 86_400_000 + h * 3_600_000 + mi * 60_000 + sec * 1000 + milli - offset_min * 60_000;
    // A leap second or an offset can carry a time past the last one RFC 3339 can write (or
    // before the first): written back, it would not read.
    (FIRST_TIME_MS..=LAST_TIME_MS).contains(&ms).then_some(ms)
}

/// Whether `s`, which [`parse_time`] refuses, is a valid RFC 3339 time all the same, that its
/// offset or a leap second carries outside the times a four-digit year writes in UTC
/// (`9999-12-31T23:59:59-05:00`): what to say of it differs.
pub fn time_out_of_range(s: &str) -> bool {
    if parse_time(s).is_some() {
        return false;
    }
    // The wall time alone, as if in UTC, and without a leap second.
    let local = match s
        .len()
        .checked_sub(6)
        .and_then(|at| Some((at, s.get(at..)?)))
    {
        Some((at, offset)) if offset.starts_with(['+', '-']) => {
            // An offset RFC 3339 writes: `+hh:mm`, less than a day.
            let b = offset.as_bytes();
            let two = |i: usize| {
                b.get(i..i + 2)
                    .filter(|d| d.iter().all(u8::is_ascii_digit))
                    .map(|d| (d[0] - b'0') * 10 + (d[1] - b'0'))
            };
            match (two(1), b.get(3), two(4)) {
                (Some(h), Some(b':'), Some(m)) if h <= 23 && m <= 59 => &s[..at],
                _ => return false,
            }
        }
        _ => s.strip_suffix(['Z', 'z']).unwrap_or(s),
    };
    let wall = match local.get(16..19) {
        Some(":60") => format!("{}:59{}Z", &local[..16], &local[19..]),
        _ => format!("{local}Z"),
    };
    parse_time(&wall).is_some()
}

/// 0000-01-01T00:00:00Z and 9999-12-31T23:59:59.999Z: the times a four-digit year writes.
const FIRST_TIME_MS: i64 = -62_167_219_200_000;
const LAST_TIME_MS: i64 = 253_402_300_799_999;

/// Whether `ms` is a time RFC 3339 can write (years 0000 to 9999): what time arithmetic may
/// give.
pub fn writable_time(ms: i64) -> bool {
    (FIRST_TIME_MS..=LAST_TIME_MS).contains(&ms)
}

/// The days of month `m` (1–12) of year `y`, Gregorian leap years included.
fn days_in_month(y: i64, m: i64) -> i64 {
    match m {
        2 if y % 4 == 0 && (y % 100 != 0 || y % 400 == 0) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's algorithm).
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The date of a day number (inverse of [`days_from_civil`]).
fn civil_from_days(z: i64) -> (i64, i64, i64) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model;

    #[test]
    fn values_are_send_sync_and_small() {
        fn assert_send_sync<T: Send + Sync>() {}
        assert_send_sync::<Value>();
        assert!(std::mem::size_of::<Value>() <= 24);
    }

    #[test]
    fn display_for_templates() {
        let list = Value::list([Value::from("a"), Value::from(2.0), Value::Null]);
        assert_eq!(list.to_string(), "a, 2, ");
        assert_eq!(Value::Duration(30 * 60_000).to_string(), "30m");
        assert_eq!(Value::Duration(5_400_000).to_string(), "90m");
        assert_eq!(Value::Duration(7 * 86_400_000).to_string(), "1w");
        assert_eq!(Value::Duration(-1500).to_string(), "-1500ms");
        assert_eq!(Value::Duration(5_400_001).to_string(), "1h30m1ms");
        assert_eq!(Value::Duration(0).to_string(), "0s");
        assert_eq!(Value::Severity(3).to_string(), "high");
        assert_eq!(Value::Number(1.5).to_string(), "1.5");
        assert_eq!(Value::Number(-0.0).to_string(), "0");
        assert_eq!(Value::Null.to_string(), "");
        assert_eq!(Value::Time(0).to_string(), "1970-01-01T00:00:00Z");
        assert_eq!(
            Value::Time(1_714_564_800_123).to_string(),
            "2024-05-01T12:00:00.123Z"
        );
        assert_eq!(Value::Time(-86_400_000).to_string(), "1969-12-31T00:00:00Z");
        // Extreme values format without panicking.
        let _ = Value::Time(i64::MIN).to_string();
        let _ = Value::Time(i64::MAX).to_string();
        let _ = Value::Duration(i64::MIN).to_string();
    }

    #[test]
    fn times_format_as_format_would() {
        let reference = |ms: i64| {
            let days = ms.div_euclid(86_400_000);
            let in_day = ms.rem_euclid(86_400_000);
            let (y, m, d) = civil_from_days(days);
            let (hh, mm, ss, milli) = (
                in_day / 3_600_000,
                in_day / 60_000 % 60,
                in_day / 1000 % 60,
                in_day % 1000,
            );
            if milli == 0 {
                format!("{y:04}-{m:02}-{d:02}T{hh:02}:{mm:02}:{ss:02}Z")
            } else {
                format!("{y:04}-{m:02}-{d:02}T{hh:02}:{mm:02}:{ss:02}.{milli:03}Z")
            }
        };
        // Year 0 to beyond 9999, with odd milliseconds, and the extremes.
        let mut ms = -62_167_219_200_000 - 86_400_000;
        while ms < 253_402_300_800_000 + 86_400_000 * 400 {
            assert_eq!(format_time(ms), reference(ms), "{ms}");
            assert_eq!(format_time(ms + 7), reference(ms + 7), "{}", ms + 7);
            ms += 86_400_000 * 97 + 3_599_999;
        }
        for ms in [
            0,
            -1,
            1,
            i64::MIN,
            i64::MAX,
            -62_167_219_200_000,
            253_402_300_799_999,
        ] {
            assert_eq!(format_time(ms), reference(ms), "{ms}");
        }
    }

    /// A valid time carried past the years RFC 3339 writes by its offset or a leap second is
    /// told apart from text that is no time.
    #[test]
    fn times_out_of_range_are_told_apart() {
        for out in [
            "9999-12-31T23:59:59-05:00",
            "0000-01-01T00:30:00+01:00",
            "9999-12-31T23:59:60Z",
        ] {
            assert!(time_out_of_range(out), "{out}");
        }
        for not in [
            "9999-12-31T23:59:59Z",
            "2026-13-01T00:00:00Z",
            "2026-01-01T12:60:00Z",
            "2026-01-01T12:00:00+24:00",
            "yesterday",
            "",
            "é",
        ] {
            assert!(!time_out_of_range(not), "{not}");
        }
    }

    #[test]
    fn time_round_trips() {
        for s in [
            "2024-05-01T12:00:00Z",
            "2000-02-29T23:59:59.999Z",
            "1969-07-20T20:17:00Z",
        ] {
            let ms = parse_time(s);
            assert!(ms.is_some(), "{s}");
            assert_eq!(format_time(ms.unwrap_or_default()), s);
        }
        assert_eq!(
            parse_time("2024-05-01T14:00:00+02:00"),
            parse_time("2024-05-01T12:00:00Z")
        );
        assert_eq!(
            parse_time("2024-05-01T12:00:00.5Z"),
            Some(1_714_564_800_500)
        );
        assert_eq!(parse_time("2024-13-01T12:00:00Z"), None);
        // Days that do not exist, and offsets past a day, are no times.
        for bad in [
            "2021-02-29T00:00:00Z",
            "2021-02-30T00:00:00Z",
            "2021-04-31T00:00:00Z",
            "1900-02-29T00:00:00Z",
            "2021-08-13T08:43:35+99:99",
            "2021-08-13T08:43:35+05:60",
        ] {
            assert_eq!(parse_time(bad), None, "{bad}");
        }
        for bad in [
            "9999-12-31T23:59:60Z",
            "9999-12-31T23:59:59-00:01",
            "0000-01-01T00:00:00+00:01",
        ] {
            assert_eq!(parse_time(bad), None, "{bad}");
        }
        assert_eq!(
            parse_time("9999-12-31T23:59:59.999Z")
                .map(format_time)
                .as_deref(),
            Some("9999-12-31T23:59:59.999Z")
        );
        assert_eq!(
            parse_time("0000-01-01T00:00:00Z")
                .map(format_time)
                .as_deref(),
            Some("0000-01-01T00:00:00Z")
        );
        for good in [
            "2024-02-29T00:00:00Z",
            "2000-02-29T00:00:00Z",
            "2021-12-31T23:59:59-23:59",
        ] {
            assert!(parse_time(good).is_some(), "{good}");
        }
        assert_eq!(parse_time("yesterday"), None);
        assert_eq!(parse_time("2024-05-01T12:00:00ZZ"), None);
    }

    #[test]
    fn records_by_name_and_index() {
        let ty = model::incident();
        let r = RecordValue::from_pairs(
            ty.clone(),
            [("id", Value::from("INC-1")), ("nonsense", Value::from(1.0))],
        );
        assert_eq!(r.fields().len(), ty.fields.len());
        assert_eq!(r.get("id"), Some(&Value::from("INC-1")));
        assert_eq!(r.get("title"), Some(&Value::Null));
        let v = Value::from(r);
        let (i, _) = ty.field("id").unwrap();
        assert_eq!(v.get(i), &Value::from("INC-1"));
        assert_eq!(v.get(10_000), &Value::Null);
        assert_eq!(Value::Null.get(0), &Value::Null);
    }

    #[test]
    fn records_from_pairs_in_any_order() {
        let ty = model::incident();
        let names: Vec<&str> = ty.field_names().collect();
        let pairs = |order: &[&str]| -> Vec<(String, Value)> {
            order
                .iter()
                .map(|n| (n.to_string(), Value::from(format!("v-{n}"))))
                .collect()
        };
        let build = |ps: &[(String, Value)]| {
            Value::from(RecordValue::from_pairs(
                ty.clone(),
                ps.iter().map(|(n, v)| (n.as_str(), v.clone())),
            ))
        };
        let forward = build(&pairs(&names));
        let mut backward_names = names.clone();
        backward_names.reverse();
        let backward = build(&pairs(&backward_names));
        assert_eq!(forward, backward);
        for (i, n) in names.iter().enumerate() {
            assert_eq!(forward.get(i), &Value::from(format!("v-{n}")));
        }
        // Unknown names are ignored, a repeated name keeps its last value, gaps stay null.
        let mixed = build(&[
            ("title".into(), Value::from("a")),
            ("nonsense".into(), Value::from("b")),
            ("id".into(), Value::from("c")),
            ("title".into(), Value::from("d")),
        ]);
        let Value::Record(r) = &mixed else {
            panic!("a record")
        };
        assert_eq!(r.get("title"), Some(&Value::from("d")));
        assert_eq!(r.get("id"), Some(&Value::from("c")));
        assert_eq!(r.get("severity"), Some(&Value::Null));
    }

    #[test]
    fn set_writes_in_place_or_on_a_copy() {
        let ty = model::incident();
        let (i, _) = ty.field("id").unwrap();
        let mut r = RecordValue::from_pairs(ty.clone(), [("id", Value::from("INC-1"))]);
        r.set(i, Value::from("INC-2"));
        assert_eq!(r.get("id"), Some(&Value::from("INC-2")));
        // Shared: the other holder keeps its value.
        let shared = r.clone();
        r.set(i, Value::from("INC-3"));
        assert_eq!(r.get("id"), Some(&Value::from("INC-3")));
        assert_eq!(shared.get("id"), Some(&Value::from("INC-2")));
        assert_eq!(r.fields().len(), ty.fields.len());
        // No such field: nothing changes.
        r.set(10_000, Value::Null);
        assert_eq!(Value::from(r.clone()), Value::from(r));
    }

    /// A value written out item by item is its JSON to the byte (members sorted by name), and
    /// a bounded writer stops the walk at its limit however large the value is written out.
    #[test]
    fn json_written_item_by_item() {
        let rec = Value::record(
            model::entity(crate::types::EntityKind::Device),
            [
                ("name", Value::from("pc-\"01\"\n")),
                ("risk_score", Value::from("high")),
                ("last_seen", Value::Time(1)),
            ],
        );
        let v = Value::list([
            rec.clone(),
            Value::Number(-2.5),
            Value::list([Value::Null, Value::Bool(true), Value::Duration(90 * 60_000)]),
            Value::Ip("::ffff:10.0.0.1".parse().unwrap()),
        ]);
        for v in [v, rec] {
            let mut text = String::new();
            v.write_json(&mut text).unwrap();
            assert_eq!(text, v.to_json().to_string());
            assert_eq!(v.json_len_within(text.len()), Some(text.len()));
            assert_eq!(v.json_len_within(text.len() - 1), None);
            if let Value::Record(_) = v {
                assert_eq!(v.to_string(), text);
            }
        }
        // 2^60 copies of one text, built in 60 steps: written out, an exabyte.
        let mut huge = Value::from("x".repeat(100).as_str());
        for _ in 0..60 {
            huge = Value::list([huge.clone(), huge]);
        }
        let mut out = String::new();
        let bounded = &mut BoundedText {
            out: &mut out,
            max: 1000,
        };
        assert!(huge.write_json(bounded).is_err());
        assert!(
            out.len() <= 1001 && out.starts_with("[[[["),
            "{}",
            out.len()
        );
        assert_eq!(huge.json_len_within(1 << 20), None);
    }

    #[test]
    fn json() {
        let v = Value::list([
            Value::Number(3.0),
            Value::Number(0.5),
            Value::Number(f64::NAN),
            Value::Duration(60_000),
            Value::Severity(1),
            Value::Ip("10.0.0.1".parse().unwrap()),
            Value::Time(0),
            Value::Null,
        ]);
        assert_eq!(
            v.to_json().to_string(),
            r#"[3,0.5,null,"1m","low","10.0.0.1","1970-01-01T00:00:00Z",null]"#
        );
        let rec = Value::record(
            model::entity(crate::types::EntityKind::Ip),
            [("address", Value::Ip("::1".parse().unwrap()))],
        );
        assert_eq!(rec.to_json()["address"], "::1");
        assert!(rec.to_string().contains("\"address\":\"::1\""));
    }

    #[test]
    fn equality_and_truthiness() {
        assert_eq!(Value::Null, Value::Null);
        assert_ne!(Value::Null, Value::Bool(false));
        assert_eq!(Value::Number(1.0), Value::from(1i64));
        assert_ne!(Value::Number(f64::NAN), Value::Number(f64::NAN));
        assert_eq!(
            Value::list([Value::from("a")]),
            Value::list([Value::from("a")])
        );
        assert!(!Value::Null.truthy());
        assert!(Value::Bool(true).truthy());
        assert!(!Value::from("yes").truthy());
        assert!(!Value::Number(1.0).truthy());
        assert_eq!(Value::parse_severity("High"), Some(3));
        assert_eq!(Value::parse_severity("critical"), None);
    }
}
