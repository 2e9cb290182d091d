//! The fast path for Microsoft Graph incidents (and, through [`riposte::document_fast`],
//! Riposte normalized incidents): the document is parsed into a sparse, borrowed
//! value that keeps only the members the importer reads ([`KEYS`]), with text borrowed from
//! the file where it has no escapes, then normalized by the same code as the slow path
//! (`graph.rs`, generic over [`Val`]).
//!
//! The fast path gives up (returns `None`) whenever it might differ from the slow path: any
//! error (the slow path then reports it with its JSON path), a member whose name matches a read
//! one only ignoring case (the slow path's lookup is case-insensitive), evidence of a type kept
//! verbatim, or a file of another format.

use std::borrow::Cow;
use std::fmt;

use serde::de::{
    self, Deserialize, DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor,
};
use serde_json::{Number, Value as Json};

use super::json::{Cx, Obj, Path, Val, View, ROOT};
use super::{detect, graph, riposte, Format, Incident};

macro_rules! keys {
    ($($k:literal),* $(,)?) => {
        /// Every member name the Graph importer and format detection read, at any depth.
        const KEYS: &[&str] = &[$($k),*];

        /// The member name, if the importer reads it.
        fn known(k: &str) -> Option<&'static str> {
            match k {
                $($k => Some($k),)*
                _ => None,
            }
        }
    };
}

keys!(
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
    "verdict"
);

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

impl FObj<'_> {
    /// Whether the member is present, even as null.
    fn has(&self, key: &str) -> bool {
        self.0.iter().any(|(k, _)| *k == key)
    }
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
    fn field(&self, key: &str) -> Option<&FVal<'a>> {
        debug_assert!(known(key).is_some(), "`{key}` is missing from fast::KEYS");
        self.0
            .iter()
            .rev()
            .find(|(k, _)| *k == key)
            .map(|(_, v)| v)
            .filter(|v| !matches!(v, FVal::Null))
    }
}

impl<'de> Deserialize<'de> for FVal<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(ValVisitor)
    }
}

struct ValVisitor;

impl<'de> Visitor<'de> for ValVisitor {
    type Value = FVal<'de>;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("any JSON value")
    }
    fn visit_bool<E>(self, v: bool) -> Result<FVal<'de>, E> {
        Ok(FVal::Bool(v))
    }
    fn visit_i64<E>(self, v: i64) -> Result<FVal<'de>, E> {
        Ok(FVal::Number(v.into()))
    }
    fn visit_u64<E>(self, v: u64) -> Result<FVal<'de>, E> {
        Ok(FVal::Number(v.into()))
    }
    fn visit_f64<E>(self, v: f64) -> Result<FVal<'de>, E> {
        // As `serde_json::Value` does.
        Ok(Number::from_f64(v).map_or(FVal::Null, FVal::Number))
    }
    fn visit_borrowed_str<E>(self, v: &'de str) -> Result<FVal<'de>, E> {
        Ok(FVal::Str(Cow::Borrowed(v)))
    }
    fn visit_str<E>(self, v: &str) -> Result<FVal<'de>, E> {
        Ok(FVal::Str(Cow::Owned(v.to_string())))
    }
    fn visit_string<E>(self, v: String) -> Result<FVal<'de>, E> {
        Ok(FVal::Str(Cow::Owned(v)))
    }
    fn visit_unit<E>(self) -> Result<FVal<'de>, E> {
        Ok(FVal::Null)
    }
    fn visit_none<E>(self) -> Result<FVal<'de>, E> {
        Ok(FVal::Null)
    }
    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<FVal<'de>, D::Error> {
        FVal::deserialize(d)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<FVal<'de>, A::Error> {
        let mut items = Vec::with_capacity(seq.size_hint().unwrap_or(0));
        while let Some(item) = seq.next_element()? {
            items.push(item);
        }
        Ok(FVal::Array(items))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<FVal<'de>, A::Error> {
        let mut members = Vec::new();
        while let Some(key) = map.next_key_seed(KeySeed)? {
            match known(&key) {
                Some(k) => members.push((k, map.next_value()?)),
                None if KEYS.iter().any(|k| k.eq_ignore_ascii_case(&key)) => {
                    return Err(de::Error::custom("a member name differs only in case"));
                }
                None => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        Ok(FVal::Object(FObj(members)))
    }
}

/// A member name, borrowed where it has no escapes.
struct KeySeed;

impl<'de> DeserializeSeed<'de> for KeySeed {
    type Value = Cow<'de, str>;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_str(self)
    }
}

impl<'de> Visitor<'de> for KeySeed {
    type Value = Cow<'de, str>;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a member name")
    }
    fn visit_borrowed_str<E>(self, v: &'de str) -> Result<Self::Value, E> {
        Ok(Cow::Borrowed(v))
    }
    fn visit_str<E>(self, v: &str) -> Result<Self::Value, E> {
        Ok(Cow::Owned(v.to_string()))
    }
    fn visit_string<E>(self, v: String) -> Result<Self::Value, E> {
        Ok(Cow::Owned(v))
    }
}

/// Imports a file of Microsoft Graph incidents; `None` where the slow path must decide.
pub(super) fn import(cx: &Cx, text: &str) -> Option<(Format, Vec<Incident>)> {
    // Sentinel incidents are Azure resources with `properties`, which Graph incidents do not
    // have: those files go straight to the slow path rather than being parsed twice. (Deciding
    // this way is only about speed; the fast path checks the format itself.)
    if text.contains("\"properties\"") {
        return None;
    }
    let root: FVal = serde_json::from_str(text).ok()?;
    let (items, base, single): (&[FVal], Path, bool) = match &root {
        FVal::Object(m) if m.has("format") => {
            return riposte::document_fast(cx, text).map(|list| (Format::Riposte, list));
        }
        FVal::Object(m) if detect(m).is_some() => (std::slice::from_ref(&root), ROOT, true),
        FVal::Object(m) => match m.field("value") {
            Some(FVal::Array(items)) => (items.as_slice(), ROOT.key("value"), false),
            _ => return None,
        },
        FVal::Array(items) => (items.as_slice(), ROOT, false),
        _ => return None,
    };
    if items.len() > cx.limits.max_incidents {
        return None;
    }
    match items.first() {
        None => return Some((Format::Graph, Vec::new())),
        Some(FVal::Object(m)) if detect(m) == Some(Format::Graph) => {}
        Some(_) => return None,
    }
    let mut incidents = Vec::with_capacity(items.len());
    for (i, item) in items.iter().enumerate() {
        if let FVal::Object(m) = item {
            if detect(m).is_some_and(|f| f != Format::Graph) {
                return None;
            }
        }
        let path: Path = if single { ROOT } else { base.index(i) };
        incidents.push(graph::incident(cx, item, &path).ok()?);
    }
    Some((Format::Graph, incidents))
}
