//! The fast path for Microsoft Graph incidents (and, through [`riposte::document_fast`],
//! Riposte normalized incidents): the document is scanned into a sparse, borrowed
//! value that keeps only the members the importer reads ([`KEYS`]), with text borrowed from
//! the file where it has no escapes, then normalized by the same code as the slow path
//! (`graph.rs`, generic over [`Val`]). The scanner is this module's own ([`parse`]): it
//! validates what it skips without building anything, looks member names up by a small hash,
//! and gives up at the first doubt, which `serde_json`'s visitor API could not do as cheaply.
//!
//! The fast path gives up (returns `None`) whenever it might differ from the slow path: any
//! error (the slow path then reports it with its JSON path), a member whose name matches a read
//! one, or one of the normalized format, only ignoring case (the slow path's lookup is
//! case-insensitive), evidence of a type kept verbatim, or a file of another format. Where two
//! read names differ only in case ([`CASE_TWINS`]), each is kept and a lookup of one finds the
//! other, as the slow path's does.

use std::borrow::Cow;
use std::sync::OnceLock;

use serde_json::{Number, Value as Json};

use super::json::{Cx, Obj, Path, Val, View, ROOT};
use super::{
    detect, graph, links_to_next_page, other_resource, riposte, FileInfo, Format, Incident,
};

/// Every member name the Graph importer and format detection read, at any depth.
const KEYS: &[&str] = &[
    "@odata.nextLink",
    "@odata.type",
    "account",
    "accountName",
    "address",
    "alerts",
    "analyzedmessageevidence",
    "antiSpamDirection",
    "appId",
    "assignedTo",
    "attachmentsCount",
    "azureAdDeviceId",
    "azureAdUserId",
    "benignpositive",
    "category",
    "classification",
    "cloudapplicationevidence",
    "country",
    "countryLetterCode",
    "created",
    "createdDateTime",
    "customTags",
    "defenderAvStatus",
    "deliveryAction",
    "deliveryLocation",
    "description",
    "detailedRoles",
    "detectionSource",
    "detectionStatus",
    "determination",
    "deviceDnsName",
    "deviceevidence",
    "direction",
    "displayName",
    "domain",
    "domainName",
    "emailAddress",
    "evidence",
    "fileDetails",
    "fileName",
    "filePath",
    "filePublisher",
    "fileSize",
    "fileevidence",
    "firstActivityDateTime",
    "firstSeenDateTime",
    "format",
    "healthStatus",
    "high",
    "hostName",
    "hostname",
    "id",
    "imageFile",
    "incidentId",
    "incidentNumber",
    "incidentWebUrl",
    "informational",
    "informationalexpectedactivity",
    "instanceId",
    "instanceName",
    "internetMessageId",
    "ipAddress",
    "ipInterfaces",
    "ipevidence",
    "kind",
    "lastActivityDateTime",
    "lastUpdateDateTime",
    "loggedOnUsers",
    "low",
    "mailboxevidence",
    "md5",
    "mdeDeviceId",
    "medium",
    "mitreTechniques",
    "networkMessageId",
    "onboardingStatus",
    "osBuild",
    "osPlatform",
    "p1Sender",
    "p2Sender",
    "parentProcessId",
    "path",
    "primaryAddress",
    "processCommandLine",
    "processCreationDateTime",
    "processId",
    "processevidence",
    "properties",
    "providerAlertId",
    "publisher",
    "rbacGroupId",
    "rbacGroupName",
    "received",
    "receivedDateTime",
    "recipient",
    "recipientEmailAddress",
    "redirectIncidentId",
    "remediationStatus",
    "riskScore",
    "roles",
    "saasAppId",
    "sender",
    "senderIp",
    "server",
    "serviceSource",
    "severity",
    "sha1",
    "sha256",
    "sid",
    "signer",
    "size",
    "status",
    "subject",
    "systemTags",
    "tags",
    "tenantId",
    "threatDisplayName",
    "threatFamilyName",
    "threats",
    "title",
    "type",
    "unknown",
    "upn",
    "url",
    "urlevidence",
    "urls",
    "userAccount",
    "userPrincipalName",
    "userSid",
    "userevidence",
    "value",
    "verdict",
];

/// The member names of Riposte's normalized format that [`KEYS`] does not hold. The scanner
/// keeps none of them (serde reads such files, [`riposte::document_fast`]), but one spelled in
/// another case sends the file to the slow path, which reads it as the name (names ignore
/// case), where serde would ignore it.
const NORMALIZED_NAMES: &[&str] = &[
    "alert_ids",
    "assigned_to",
    "detection_source",
    "entities",
    "entity_ids",
    "fields",
    "first_activity",
    "incident",
    "incidents",
    "last_activity",
    "mitre_techniques",
    "name",
    "number",
    "other_evidence",
    "provider",
    "redirected_to",
    "remediation_status",
    "service_source",
    "source",
    "threat_family",
    "updated",
    "web_url",
    "workspace",
];

/// The names of [`KEYS`] that equal another ignoring case: Graph's `hostName`, and the model's
/// `hostname`, which normalized files hold (read exactly, so that they take the fast path). A
/// member of one spelling is found by a lookup of the other, as the slow path finds it.
const CASE_TWINS: &[&str] = &["hostName", "hostname"];

/// A JSON value, without the members the importer does not read.
pub(crate) enum FVal<'a> {
    Null,
    Bool(bool),
    Number(Number),
    Str(Cow<'a, str>),
    Array(Vec<FVal<'a>>),
    Object(FObj<'a>),
}

/// An object's read members, in order (a repeated name: the last wins, as in `serde_json`).
pub(crate) struct FObj<'a>(Vec<(&'static str, FVal<'a>)>);

impl<'a> FObj<'a> {
    /// Whether the member is present, even as null.
    fn has(&self, key: &str) -> bool {
        self.0.iter().any(|(k, _)| same_key(k, key))
    }

    /// The member [`json::get`](super::json::get) finds for `key` where the object has no
    /// member of that exact name: for a name of [`CASE_TWINS`], the first spelled otherwise in
    /// the order `serde_json` keeps members (sorted by name), the last of its repetitions.
    #[cold]
    #[inline(never)]
    fn other_case(&self, key: &str) -> Option<&FVal<'a>> {
        if !CASE_TWINS.iter().any(|t| same_key(t, key)) {
            return None;
        }
        let mut found: Option<(&str, &FVal<'a>)> = None;
        for (k, v) in &self.0 {
            if k.eq_ignore_ascii_case(key) && found.is_none_or(|(f, _)| *k <= f) {
                found = Some((k, v));
            }
        }
        found.map(|(_, v)| v)
    }
}

/// Whether member name `k` (from [`KEYS`]) is `key`. Names of one length mostly differ in
/// their first byte, which spares comparing the rest; the same literal is often the same
/// pointer, which spares it too.
fn same_key(k: &str, key: &str) -> bool {
    k.len() == key.len()
        && (std::ptr::eq(k.as_ptr(), key.as_ptr())
            || (k.as_bytes().first() == key.as_bytes().first() && k == key))
}

impl<'a> Val for FVal<'a> {
    type Obj = FObj<'a>;
    fn view(&self) -> View<'_, Self> {
        match self {
            FVal::Null => View::Null,
            FVal::Bool(b) => View::Bool(*b),
            FVal::Number(n) => View::Number(n),
            FVal::Str(s) => View::Str(s),
            FVal::Array(items) => View::Array(items),
            FVal::Object(m) => View::Object(m),
        }
    }
    fn to_json(&self) -> Option<Json> {
        None
    }
}

impl<'a> Obj for FObj<'a> {
    type Val = FVal<'a>;
    #[inline]
    fn field(&self, key: &str) -> Option<&FVal<'a>> {
        debug_assert!(KEYS.contains(&key), "`{key}` is missing from fast::KEYS");
        let found = match self.0.iter().rev().find(|(k, _)| same_key(k, key)) {
            Some((_, v)) => Some(v),
            // Only the length inline: with a literal `key`, it is known when compiling.
            None if CASE_TWINS.iter().any(|t| t.len() == key.len()) => self.other_case(key),
            None => None,
        };
        found.filter(|v| !matches!(v, FVal::Null))
    }
}

/// Nesting the scanner follows; deeper documents go to the slow path, whose parser reports
/// nesting beyond its limit (127 levels).
const MAX_DEPTH: usize = 100;

/// Parses a whole document into the sparse value. `None` for anything the slow path might
/// read differently or reject: invalid JSON (the slow path reports where), nesting deeper than
/// [`MAX_DEPTH`], a member name differing from a read one only in case, or a `properties`
/// member (Sentinel incidents, which the slow path reads).
///
/// The scanner accepts exactly the JSON `serde_json` accepts (RFC 8259, strings checked for
/// control characters and escapes, lone surrogates rejected), including in the members it
/// skips, so a document it reads is one the slow path reads too. Numbers other than small
/// non-negative integers are handed to `serde_json`, so they are the slow path's to the bit.
pub(crate) fn parse(text: &str) -> Option<FVal<'_>> {
    let mut s = Scanner {
        text,
        pos: 0,
        depth: 0,
        members: Vec::new(),
        items: Vec::new(),
    };
    let root = s.value()?;
    s.ws();
    (s.pos == text.len()).then_some(root)
}

struct Scanner<'a> {
    text: &'a str,
    pos: usize,
    depth: usize,
    /// The members and items of the objects and lists being read, nested ones on top: each
    /// is moved into one allocation of its exact size when complete, rather than growing one
    /// vector per object.
    members: Vec<(&'static str, FVal<'a>)>,
    items: Vec<FVal<'a>>,
}

/// What a member name is to the importer.
enum Member {
    Read(&'static str),
    Ignored,
}

/// Buckets of [`KEYS`] (read: `true`) and [`NORMALIZED_NAMES`] by [`slot`], for [`member`].
fn key_table() -> &'static [Vec<(&'static str, bool)>; 256] {
    static TABLE: OnceLock<[Vec<(&'static str, bool)>; 256]> = OnceLock::new();
    TABLE.get_or_init(|| {
        let mut table = std::array::from_fn(|_| Vec::new());
        for k in KEYS {
            table[slot(k.as_bytes())].push((*k, true));
        }
        for k in NORMALIZED_NAMES {
            table[slot(k.as_bytes())].push((*k, false));
        }
        table
    })
}

/// A hash of a member name from its length and its first and last bytes, ignoring ASCII case
/// (`| 0x20` lowercases letters and maps every other byte to itself or to one that is not a
/// letter either), so names equal ignoring case share a slot.
fn slot(name: &[u8]) -> usize {
    let first = name.first().map_or(0, |b| b | 0x20) as usize;
    let last = name.last().map_or(0, |b| b | 0x20) as usize;
    (first * 7 + last * 3 + name.len() * 11) % 256
}

/// A member name; `None` where it differs from a read or normalized one only in case (the slow
/// path's lookup would find it).
fn member(name: &str) -> Option<Member> {
    let bucket = &key_table()[slot(name.as_bytes())];
    if let Some(&(k, read)) = bucket.iter().find(|(k, _)| *k == name) {
        return Some(if read {
            Member::Read(k)
        } else {
            Member::Ignored
        });
    }
    if bucket.iter().any(|(k, _)| k.eq_ignore_ascii_case(name)) {
        return None;
    }
    Some(Member::Ignored)
}

/// `0x0101…01` times `b`: `b` in every byte of a word.
const fn splat(b: u8) -> u64 {
    0x0101_0101_0101_0101 * b as u64
}

/// The eight bytes from `i`, little-endian; `None` near the end.
fn word_at(bytes: &[u8], i: usize) -> Option<u64> {
    let chunk: [u8; 8] = bytes.get(i..i.checked_add(8)?)?.try_into().ok()?;
    Some(u64::from_le_bytes(chunk))
}

impl<'a> Scanner<'a> {
    fn peek(&self) -> Option<u8> {
        self.text.as_bytes().get(self.pos).copied()
    }

    fn ws(&mut self) {
        while let Some(b' ' | b'\t' | b'\n' | b'\r') = self.peek() {
            self.pos += 1;
            // Indentation: the spaces that follow, counted a word at a time (the zero bytes
            // of the word XOR spaces before its first other byte).
            while let Some(word) = word_at(self.text.as_bytes(), self.pos) {
                let spaces = (word ^ splat(b' ')).trailing_zeros() / 8;
                self.pos += spaces as usize;
                if spaces < 8 {
                    break;
                }
            }
        }
    }

    /// Consumes `b` after optional whitespace.
    fn expect(&mut self, b: u8) -> Option<()> {
        self.ws();
        (self.peek()? == b).then(|| self.pos += 1)
    }

    fn enter(&mut self) -> Option<()> {
        self.depth += 1;
        self.pos += 1;
        (self.depth <= MAX_DEPTH).then_some(())
    }

    fn value(&mut self) -> Option<FVal<'a>> {
        self.ws();
        match self.peek()? {
            b'"' => self.string().map(FVal::Str),
            b'{' => self.object(true),
            b'[' => self.array(true),
            b't' => self.literal("true", FVal::Bool(true)),
            b'f' => self.literal("false", FVal::Bool(false)),
            b'n' => self.literal("null", FVal::Null),
            _ => self.number().map(FVal::Number),
        }
    }

    /// Checks and passes over a value the importer does not read.
    fn skip(&mut self) -> Option<()> {
        self.ws();
        match self.peek()? {
            b'"' => self.string().map(drop),
            b'{' => self.object(false).map(drop),
            b'[' => self.array(false).map(drop),
            b't' => self.literal("true", ()),
            b'f' => self.literal("false", ()),
            b'n' => self.literal("null", ()),
            _ => self.number().map(drop),
        }
    }

    fn literal<T>(&mut self, word: &str, v: T) -> Option<T> {
        let end = self.pos + word.len();
        (self.text.as_bytes().get(self.pos..end)? == word.as_bytes()).then(|| {
            self.pos = end;
            v
        })
    }

    /// An object; its read members when `keep`, else an empty one.
    fn object(&mut self, keep: bool) -> Option<FVal<'a>> {
        self.enter()?;
        let mark = self.members.len();
        self.ws();
        if self.peek()? == b'}' {
            self.pos += 1;
        } else {
            loop {
                self.ws();
                if self.peek()? != b'"' {
                    return None;
                }
                let name = self.string()?;
                self.expect(b':')?;
                match member(&name)? {
                    // Only where an incident can be (the root, or an item of a list at the
                    // root): deeper, `properties` is evidence kept verbatim, such as a Sentinel
                    // entity in a normalized file, and the scan goes on.
                    Member::Read("properties") if self.depth <= 3 => return None,
                    Member::Read(k) if keep => {
                        let v = self.value()?;
                        self.members.push((k, v));
                    }
                    Member::Read(_) | Member::Ignored => self.skip()?,
                }
                self.ws();
                match self.peek()? {
                    b',' => self.pos += 1,
                    b'}' => {
                        self.pos += 1;
                        break;
                    }
                    _ => return None,
                }
            }
        }
        self.depth -= 1;
        Some(FVal::Object(FObj(self.members.split_off(mark))))
    }

    /// A list; its items when `keep`, else an empty one.
    fn array(&mut self, keep: bool) -> Option<FVal<'a>> {
        self.enter()?;
        let mark = self.items.len();
        self.ws();
        if self.peek()? == b']' {
            self.pos += 1;
        } else {
            loop {
                if keep {
                    let v = self.value()?;
                    self.items.push(v);
                } else {
                    self.skip()?;
                }
                self.ws();
                match self.peek()? {
                    b',' => self.pos += 1,
                    b']' => {
                        self.pos += 1;
                        break;
                    }
                    _ => return None,
                }
            }
        }
        self.depth -= 1;
        Some(FVal::Array(self.items.split_off(mark)))
    }

    /// The position of the first `"`, `\` or control character from `i` (or the end).
    fn plain_end(&self, mut i: usize) -> usize {
        let bytes = self.text.as_bytes();
        // Eight bytes at a time (reading past the string into the text after it, which is
        // harmless): the lowest flagged byte of a word is exactly the first special one, as
        // these tests only flag bytes above a true match wrongly.
        while let Some(word) = word_at(bytes, i) {
            let has_zero = |w: u64| w.wrapping_sub(splat(1)) & !w & splat(0x80);
            let control = word.wrapping_sub(splat(0x20)) & !word & splat(0x80);
            let special = control | has_zero(word ^ splat(b'"')) | has_zero(word ^ splat(b'\\'));
            if special != 0 {
                return i + (special.trailing_zeros() / 8) as usize;
            }
            i += 8;
        }
        while let Some(&b) = bytes.get(i) {
            if b == b'"' || b == b'\\' || b < 0x20 {
                break;
            }
            i += 1;
        }
        i
    }

    /// A string at its opening quote: borrowed from the text unless it has escapes.
    #[inline]
    fn string(&mut self) -> Option<Cow<'a, str>> {
        let start = self.pos + 1;
        let end = self.plain_end(start);
        match self.text.as_bytes().get(end)? {
            b'"' => {
                self.pos = end + 1;
                self.text.get(start..end).map(Cow::Borrowed)
            }
            b'\\' => self.escaped(start, end).map(Cow::Owned),
            _ => None,
        }
    }

    /// The rest of a string with escapes, from its start and its first backslash at `end`.
    /// Apart from [`Self::string`] so that the usual plain case stays small enough to inline.
    #[cold]
    fn escaped(&mut self, start: usize, end: usize) -> Option<String> {
        let mut out = String::from(self.text.get(start..end)?);
        self.pos = end;
        loop {
            match self.peek()? {
                b'"' => {
                    self.pos += 1;
                    return Some(out);
                }
                b'\\' => {
                    self.pos += 1;
                    out.push(self.escape()?);
                }
                _ => return None,
            }
            let end = self.plain_end(self.pos);
            out.push_str(self.text.get(self.pos..end)?);
            self.pos = end;
        }
    }

    /// The character of an escape, after its backslash.
    fn escape(&mut self) -> Option<char> {
        let b = self.peek()?;
        self.pos += 1;
        Some(match b {
            b'"' => '"',
            b'\\' => '\\',
            b'/' => '/',
            b'b' => '\u{8}',
            b'f' => '\u{c}',
            b'n' => '\n',
            b'r' => '\r',
            b't' => '\t',
            b'u' => {
                let unit = self.hex4()?;
                if (0xD800..0xDC00).contains(&unit) {
                    // A surrogate pair; a lone surrogate is left to the slow path.
                    self.literal("\\u", ())?;
                    let low = self.hex4()?;
                    if !(0xDC00..0xE000).contains(&low) {
                        return None;
                    }
                    char::from_u32(0x10000 + ((unit - 0xD800) << 10) + (low - 0xDC00))?
                } else {
                    char::from_u32(unit)?
                }
            }
            _ => return None,
        })
    }

    fn hex4(&mut self) -> Option<u32> {
        let digits = self.text.get(self.pos..self.pos + 4)?;
        if !digits.bytes().all(|b| b.is_ascii_hexdigit()) {
            return None;
        }
        self.pos += 4;
        u32::from_str_radix(digits, 16).ok()
    }

    /// A number, by the JSON grammar.
    fn number(&mut self) -> Option<Number> {
        let start = self.pos;
        let digits = |s: &mut Self| {
            let from = s.pos;
            while s.peek().is_some_and(|b| b.is_ascii_digit()) {
                s.pos += 1;
            }
            s.pos - from
        };
        let negative = self.peek()? == b'-';
        if negative {
            self.pos += 1;
        }
        match self.peek()? {
            b'0' => self.pos += 1,
            b'1'..=b'9' => {
                digits(self);
            }
            _ => return None,
        }
        let mut integer = !negative;
        if self.peek() == Some(b'.') {
            self.pos += 1;
            integer = false;
            if digits(self) == 0 {
                return None;
            }
        }
        if let Some(b'e' | b'E') = self.peek() {
            self.pos += 1;
            integer = false;
            if let Some(b'+' | b'-') = self.peek() {
                self.pos += 1;
            }
            if digits(self) == 0 {
                return None;
            }
        }
        let text = self.text.get(start..self.pos)?;
        if integer && text.len() <= 18 {
            // Fits in a `u64`, as `serde_json` keeps it.
            text.parse::<u64>().ok().map(Number::from)
        } else {
            // Negative numbers, fractions, exponents and long integers: `serde_json`'s own
            // conversion (which also rejects what overflows a float).
            serde_json::from_str(text).ok()
        }
    }
}
/// Imports a file of Microsoft Graph incidents; `None` where the slow path must decide.
pub(super) fn import(cx: &Cx, text: &str) -> Option<(FileInfo, Vec<Incident>)> {
    // Sentinel incidents are Azure resources with `properties`, which Graph incidents do not
    // have: the scanner gives up on those as soon as it meets one, rather than the file being
    // parsed twice. (Deciding this way is only about speed; the fast path checks the format
    // itself.)
    let root = parse(text)?;
    let (items, base, single, page): (&[FVal], Path, bool, Option<&FObj>) = match &root {
        FVal::Object(m) if m.has("format") => {
            return riposte::document_fast(cx, text)
                .map(|list| (FileInfo::whole(Format::Riposte), list));
        }
        FVal::Object(m) if detect(m).is_some() => (std::slice::from_ref(&root), ROOT, true, None),
        FVal::Object(m) => match m.field("value") {
            Some(FVal::Array(items)) => (items.as_slice(), ROOT.key("value"), false, Some(m)),
            _ => return None,
        },
        FVal::Array(items) => (items.as_slice(), ROOT, false, None),
        _ => return None,
    };
    if items.len() > cx.limits.max_incidents {
        return None;
    }
    let info = FileInfo {
        format: Format::Graph,
        more_pages: page.is_some_and(|m| links_to_next_page(m, Format::Graph)),
    };
    match items.first() {
        // An empty page tells no format: the slow path looks for either's next link.
        Some(FVal::Object(m)) if detect(m) == Some(Format::Graph) => {}
        _ => return None,
    }
    let mut incidents = Vec::with_capacity(items.len());
    for (i, item) in items.iter().enumerate() {
        if let FVal::Object(m) = item {
            // Another format's incident, or a Sentinel resource that is none: the slow path
            // says so.
            match detect(m) {
                Some(Format::Graph) => {}
                Some(_) => return None,
                None if other_resource(m).is_some() => return None,
                None => {}
            }
        }
        let path: Path = if single { ROOT } else { base.index(i) };
        incidents.push(graph::incident(cx, item, &path).ok()?);
    }
    Some((info, incidents))
}

#[cfg(test)]
mod scanner_tests {
    use super::{parse, FVal, CASE_TWINS, KEYS, NORMALIZED_NAMES};

    /// Every member name of the normalized format is known to the scanner, so that one spelled
    /// in another case sends the file to the slow path, which reads it (serde would not).
    #[test]
    fn the_scanner_knows_every_normalized_name() {
        let mut names: Vec<&str> = super::riposte::member_names()
            .filter(|n| !KEYS.contains(n))
            .collect();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names, NORMALIZED_NAMES);
    }

    /// Every read name that equals another ignoring case is listed, so that a lookup of it
    /// finds the other spelling.
    #[test]
    fn case_twins_are_the_keys_equal_ignoring_case() {
        let mut twins: Vec<&str> = KEYS
            .iter()
            .filter(|k| KEYS.iter().any(|o| o != *k && o.eq_ignore_ascii_case(k)))
            .copied()
            .collect();
        let mut listed = CASE_TWINS.to_vec();
        twins.sort_unstable();
        listed.sort_unstable();
        assert_eq!(twins, listed);
    }

    /// The word-at-a-time string and whitespace scans at every alignment: special bytes at
    /// each offset, long indentation, and text ending mid-word.
    #[test]
    fn strings_and_whitespace_at_every_offset() {
        for len in 0..24 {
            for special in [
                "\\\"", "\\\\", "\\n", "\\u00e9", "é", "\u{1}", "\u{1f}", "\"",
            ] {
                for at in 0..=len {
                    let plain = "abcdefghijklmnopqrstuvwxyz";
                    let body = format!("{}{special}{}", &plain[..at], &plain[at..len]);
                    let indent = " ".repeat(len);
                    let doc = format!("[{indent}\"{body}\"\n{indent}\t]{indent}");
                    let slow: Option<Vec<String>> = serde_json::from_str(&doc).ok();
                    let fast = parse(&doc).map(|v| match v {
                        FVal::Array(items) => items
                            .iter()
                            .map(|i| match i {
                                FVal::Str(s) => s.to_string(),
                                _ => panic!("not a string"),
                            })
                            .collect::<Vec<_>>(),
                        _ => panic!("not a list"),
                    });
                    assert_eq!(fast, slow, "{doc:?}");
                }
            }
        }
    }
}
