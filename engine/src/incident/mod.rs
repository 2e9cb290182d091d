//! Incident import: Microsoft Graph security incidents, Microsoft Sentinel incidents and Riposte's
//! own normalized JSON, detected by shape and normalized into [`Incident`], the data behind the
//! `incident` record expressions see ([`Incident::to_value`]).
//!
//! The formats, the detection rules and the normalization are documented in
//! `docs/incident-format.md`.
//!
//! Architecture Invariant: importing never panics, and every resource an input controls is
//! bounded: the file size by [`ImportLimits::max_file_bytes`] (which also bounds memory: the
//! parsed document takes a few times the file size, up to about 17 times for a file of tiny
//! values), JSON nesting by `serde_json`'s recursion limit (127 levels), and the numbers
//! of incidents, alerts and entities by the other limits, checked before the arrays are walked.
//! Enum values the importer does not know are kept, never fatal.

mod entities;
mod fast;
mod graph;
mod json;
mod riposte;
mod sentinel;
mod to_value;

#[cfg(test)]
mod tests;

use crate::load::display_path;
use std::borrow::Cow;
use std::collections::BTreeMap;
use std::fmt;
use std::io::Read;

use riposte_dsl::types::EntityKind;
use serde::{Deserialize, Serialize};
use serde_json::Value as Json;

pub use json::PathStep;
use json::{Cx, Obj as _, Path, ROOT};

/// The `format` value of Riposte's normalized incident JSON.
pub const NORMALIZED_FORMAT: &str = "riposte.incident/v1";

/// Bounds on what one file may hold. Exceeding one is an [`ImportError::TooLarge`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ImportLimits {
    /// Largest file, in bytes (64 MiB).
    pub max_file_bytes: usize,
    /// Most incidents in one file (100 000).
    pub max_incidents: usize,
    /// Most alerts in one incident (1 000).
    pub max_alerts: usize,
    /// Most entities in one incident (5 000), after deduplication; also the most evidence items
    /// of one alert, entities of one Sentinel incident and unmapped evidence items kept.
    pub max_entities: usize,
}

impl Default for ImportLimits {
    fn default() -> Self {
        ImportLimits {
            max_file_bytes: 64 * 1024 * 1024,
            max_incidents: 100_000,
            max_alerts: 1_000,
            max_entities: 5_000,
        }
    }
}

/// Which limit of [`ImportLimits`] a file exceeded.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Limit {
    FileBytes,
    Incidents,
    Alerts,
    Entities,
    /// Evidence kept as it is (`other_evidence`: types the model has no entity kind for),
    /// bounded by `max_entities` as entities are.
    OtherEvidence,
    /// Evidence items of one alert (bounded by `max_entities`: each may be an entity).
    Evidence,
    /// JSON values of the whole file: one per [`BYTES_PER_JSON_VALUE`] bytes of
    /// `max_file_bytes`, so that a file of tiny values (`[0,0,…]`) cannot take fifty times its
    /// size in memory once parsed.
    JsonValues,
}

/// Bytes of `max_file_bytes` per JSON value a file may hold ([`Limit::JsonValues`]): real
/// exports average 30–50 bytes a value.
pub const BYTES_PER_JSON_VALUE: usize = 8;

impl Limit {
    /// What is counted: `bytes`, `incidents`, `alerts`, `entities`.
    pub fn as_str(self) -> &'static str {
        match self {
            Limit::FileBytes => "bytes",
            Limit::Incidents => "incidents",
            Limit::Alerts => "alerts",
            Limit::Entities => "entities",
            Limit::OtherEvidence => "evidence items of other types",
            Limit::Evidence => "evidence items",
            Limit::JsonValues => "JSON values",
        }
    }

    /// `n` of what is counted: `1 entity`, `2 entities`.
    fn counted(self, n: usize) -> String {
        let one = match self {
            Limit::FileBytes => "byte",
            Limit::Incidents => "incident",
            Limit::Alerts => "alert",
            Limit::Entities => "entity",
            Limit::OtherEvidence => "evidence item of another type",
            Limit::Evidence => "evidence item",
            Limit::JsonValues => "JSON value",
        };
        if n == 1 {
            format!("1 {one}")
        } else {
            format!("{n} {}", self.as_str())
        }
    }

    /// The command-line option that raises the limit.
    pub fn option(self) -> &'static str {
        match self {
            Limit::FileBytes | Limit::JsonValues => "--max-file-bytes",
            Limit::Incidents => "--max-incidents",
            Limit::Alerts => "--max-alerts",
            Limit::Entities | Limit::OtherEvidence | Limit::Evidence => "--max-entities",
        }
    }

    /// The value of this limit in `limits`.
    pub fn of(self, limits: &ImportLimits) -> usize {
        match self {
            Limit::FileBytes => limits.max_file_bytes,
            Limit::Incidents => limits.max_incidents,
            Limit::Alerts => limits.max_alerts,
            Limit::Entities | Limit::OtherEvidence | Limit::Evidence => limits.max_entities,
            Limit::JsonValues => limits.max_file_bytes / BYTES_PER_JSON_VALUE,
        }
    }

    /// What the limit is counted per.
    fn per(self) -> &'static str {
        match self {
            Limit::FileBytes | Limit::Incidents | Limit::JsonValues => "file",
            Limit::Alerts | Limit::Entities | Limit::OtherEvidence => "incident",
            Limit::Evidence => "alert",
        }
    }
}

impl fmt::Display for Limit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Why a file could not be imported. Every variant names the file; `path` is a JSON path such
/// as `$.value[3].alerts[0].evidence[2].verdict`.
#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    #[error("cannot read `{file}`: {source}")]
    Io {
        file: String,
        #[source]
        source: std::io::Error,
    },
    /// Malformed or truncated JSON, or JSON nested deeper than 127 levels.
    #[error("`{file}`:{line}:{column}: invalid JSON: {message}")]
    Json {
        file: String,
        line: usize,
        column: usize,
        message: String,
    },
    /// Bytes that are not text in an encoding Riposte reads (UTF-8, or UTF-16 with a byte order
    /// mark).
    #[error("`{file}`: {message}")]
    Encoding { file: String, message: String },
    #[error("`{file}` {}", unknown_format_message(hint.as_deref()))]
    UnknownFormat {
        file: String,
        /// What the file holds instead and what to give, where its shape tells (a Sentinel
        /// alert rather than an incident).
        hint: Option<String>,
    },
    /// The file holds an API's error response (`{"error": {"code": …, "message": …}}`), as a
    /// script saves when a request fails.
    #[error("`{file}` {}", error_response_message(code, message))]
    ErrorResponse {
        file: String,
        code: String,
        message: String,
    },
    /// The data has the wrong shape at `path`: a wrong type, a missing id, a bad time.
    #[error("`{file}` at `{path}`: {message}")]
    Invalid {
        file: String,
        path: String,
        message: String,
    },
    /// More of something than a limit allows. `count` is how many were found (for entities
    /// counted while deduplicating, how many were found when the limit was crossed).
    #[error("{}", too_large_message(file, path, *what, *count, *limit))]
    TooLarge {
        file: String,
        path: String,
        what: Limit,
        count: usize,
        limit: usize,
    },
}

impl ImportError {
    /// Whether the file is not JSON from its first character (YAML, a CSV export).
    pub fn is_not_json(&self) -> bool {
        matches!(self, ImportError::Json { message, .. } if message.ends_with(NOT_JSON))
    }

    /// The steps of the JSON path the error is at, for an error inside an incident.
    pub fn json_path(&self) -> Option<Vec<PathStep>> {
        match self {
            ImportError::Invalid { path, .. } | ImportError::TooLarge { path, .. } => {
                json::parse_path(path)
            }
            _ => None,
        }
    }

    /// The message without the file's name in front, for a report that names the file beside
    /// it: "at `$.value[3].id`: the incident has no `id`", "is not an incident file Riposte can
    /// read; …".
    pub fn message_in_file(&self) -> String {
        match self {
            ImportError::Invalid { path, message, .. } => format!("at `{path}`: {message}"),
            ImportError::UnknownFormat { hint, .. } => unknown_format_message(hint.as_deref()),
            ImportError::ErrorResponse { code, message, .. } => {
                error_response_message(code, message)
            }
            ImportError::TooLarge {
                path,
                what,
                count,
                limit,
                ..
            } if !matches!(what, Limit::FileBytes) => over_limit(path, *what, *count, *limit),
            // The others are the file's, not an incident's.
            other => other.to_string(),
        }
    }
}

/// "is not an incident file Riposte can read", then `hint`, then the accepted formats.
fn unknown_format_message(hint: Option<&str>) -> String {
    match hint {
        None => format!("is not an incident file Riposte can read; {ACCEPTED_FORMATS}"),
        Some(hint) => {
            format!("is not an incident file Riposte can read: {hint}; {ACCEPTED_FORMATS}")
        }
    }
}

const ACCEPTED_FORMATS: &str = "the accepted formats \
    are Microsoft Graph security incidents (an incident with `displayName` and `alerts`, or a \
    `{\"value\": [...]}` page of them), Microsoft Sentinel incidents (an Azure resource whose \
    `properties` hold `title` or `incidentNumber`, a `{\"value\": [...]}` list of them, or an \
    automation rule's `{\"object\": ...}`) and \
    Riposte normalized incidents (`{\"format\": \"riposte.incident/v1\", ...}`)";

fn error_response_message(code: &str, message: &str) -> String {
    let message = if message.is_empty() {
        String::new()
    } else {
        format!(" ({message})")
    };
    format!("holds an error response of the API, not incidents: `{code}`{message}; fetch the incidents again")
}

/// How many values the JSON text `json` holds, roughly (members and items, as separators and
/// brackets tell them, outside strings), counted up to just past `most`.
fn json_values(json: &[u8], most: usize) -> usize {
    let mut values = 1;
    let mut bytes = json.iter();
    while let Some(&b) = bytes.next() {
        match b {
            b',' | b'[' | b'{' => {
                values += 1;
                if values > most {
                    break;
                }
            }
            b'"' => {
                // To the closing quote, past escaped characters.
                while let Some(&c) = bytes.next() {
                    match c {
                        b'\\' => {
                            bytes.next();
                        }
                        b'"' => break,
                        _ => {}
                    }
                }
            }
            _ => {}
        }
    }
    values
}

fn too_large_message(file: &str, path: &str, what: Limit, count: usize, limit: usize) -> String {
    match what {
        Limit::FileBytes => format!(
            "`{file}` is larger than the limit of {limit} bytes; if it is a genuine export, raise \
             the limit with `{}` or split the file",
            what.option()
        ),
        // Counted only up to just past the limit.
        Limit::JsonValues => format!(
            "`{file}` holds more than {limit} JSON values, the limit for a file (one per \
             {BYTES_PER_JSON_VALUE} bytes of `--max-file-bytes`; incident exports have one per 30 \
             to 50 bytes): it is not an incident export, or raise `--max-file-bytes`"
        ),
        _ => format!("`{file}` {}", over_limit(path, what, count, limit)),
    }
}

/// `at `$.alerts`: 12 alerts, more than the limit of 10 per incident; …`.
fn over_limit(path: &str, what: Limit, count: usize, limit: usize) -> String {
    format!(
        "at `{path}`: {}, more than the limit of {} per {}; if the file is genuine, raise the \
         limit with `{}`",
        what.counted(count),
        what.counted(limit),
        what.per(),
        what.option()
    )
}

/// The format of an incident file.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Format {
    /// Microsoft Graph security incidents (`/security/incidents?$expand=alerts`).
    Graph,
    /// Microsoft Sentinel incidents (`Microsoft.SecurityInsights/incidents`) with their alerts
    /// and entities.
    Sentinel,
    /// Riposte's normalized JSON (`riposte.incident/v1`).
    Riposte,
}

impl Format {
    pub fn as_str(self) -> &'static str {
        match self {
            Format::Graph => "graph",
            Format::Sentinel => "sentinel",
            Format::Riposte => "riposte",
        }
    }

    /// A human name for messages.
    pub fn describe(self) -> &'static str {
        match self {
            Format::Graph => "Microsoft Graph security incidents",
            Format::Sentinel => "Microsoft Sentinel incidents",
            Format::Riposte => "Riposte normalized incidents",
        }
    }
}

impl fmt::Display for Format {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Format {
    /// The member by which a list page of this format links to the next page: Graph's
    /// `@odata.nextLink`, Azure's `nextLink` for Sentinel; none for Riposte's own files, which
    /// are never paged.
    pub fn next_link_member(self) -> Option<&'static str> {
        match self {
            Format::Graph => Some("@odata.nextLink"),
            Format::Sentinel => Some("nextLink"),
            Format::Riposte => None,
        }
    }
}

/// What import learns of an incident file besides its incidents.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FileInfo {
    pub format: Format,
    /// The file is one page of a longer list: it links to the next page
    /// ([`Format::next_link_member`]), which import does not follow, so the incidents of the
    /// other pages are not in it.
    pub more_pages: bool,
}

impl FileInfo {
    /// A file that is not one page of a longer list.
    fn whole(format: Format) -> FileInfo {
        FileInfo {
            format,
            more_pages: false,
        }
    }
}

/// Whether list page `page` of `format` links to a next page. Only text counts: the last page
/// has no link, and an empty or null one links nowhere.
fn links_to_next_page<M: json::Obj>(page: &M, format: Format) -> bool {
    use json::{Val, View};
    format
        .next_link_member()
        .and_then(|member| page.field(member))
        .is_some_and(|link| matches!(link.view(), View::Str(s) if !s.trim().is_empty()))
}

/// An incident, normalized: the data of the `incident` record (`riposte_dsl::model::incident`).
/// Enumerated values are lowercase `snake_case`; times are RFC 3339 UTC.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Incident {
    pub id: String,
    /// The number the source's portal shows the incident by, where it is not its id
    /// (Sentinel's incident number).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub number: Option<String>,
    /// `defender_xdr`, `sentinel`, `crowdstrike`, `sentinelone`, …
    #[serde(default = "unknown")]
    pub source: String,
    /// The tenant id or workspace name, as the source gives it.
    #[serde(default)]
    pub workspace: Option<String>,
    #[serde(default)]
    pub title: String,
    #[serde(default)]
    pub description: Option<String>,
    /// `informational`, `low`, `medium`, `high` or `unknown`.
    #[serde(default = "unknown")]
    pub severity: String,
    #[serde(default = "unknown")]
    pub status: String,
    /// The incident this one was merged into (Graph's `redirectIncidentId`), when `status` is
    /// `redirected`: its alerts moved there, and that incident is the one processed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub redirected_to: Option<String>,
    /// `true_positive`, `false_positive`, `benign_positive`, `undetermined` or `unknown`.
    #[serde(default = "unknown")]
    pub classification: String,
    #[serde(default)]
    pub determination: Option<String>,
    #[serde(default)]
    pub assigned_to: Option<String>,
    #[serde(default)]
    pub web_url: Option<String>,
    /// RFC 3339.
    #[serde(default)]
    pub created: Option<String>,
    #[serde(default)]
    pub updated: Option<String>,
    #[serde(default)]
    pub tags: Vec<String>,
    #[serde(default)]
    pub alerts: Vec<Alert>,
    #[serde(default)]
    pub entities: Vec<Entity>,
    /// Evidence of types the model has no entity kind for (registry keys, mail clusters, …),
    /// kept as the source gave it.
    #[serde(default)]
    pub other_evidence: Vec<Json>,
    /// The incident was fetched without its alerts: a Microsoft Graph incident without an
    /// `alerts` member (fetched without `$expand=alerts`, so without its alerts and their
    /// evidence), or a Microsoft Sentinel incident without its `alerts` or `entities` member
    /// (the incident resource alone, as `GET …/incidents/{id}` returns it, without the answers
    /// of `POST …/incidents/{id}/alerts` and `…/entities`). An incident with `"alerts": []` (or
    /// empty Sentinel lists) has none to give. Not part of the normalized form: false when read
    /// from it.
    #[serde(skip)]
    pub alerts_not_fetched: bool,
}

/// An alert of an incident.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Alert {
    pub id: String,
    #[serde(default)]
    pub title: String,
    #[serde(default)]
    pub description: Option<String>,
    /// The MITRE tactic or product category, `snake_case` (`initial_access`, `malware`).
    #[serde(default)]
    pub category: Option<String>,
    #[serde(default = "unknown")]
    pub severity: String,
    #[serde(default = "unknown")]
    pub status: String,
    #[serde(default)]
    pub service_source: Option<String>,
    #[serde(default)]
    pub detection_source: Option<String>,
    #[serde(default)]
    pub threat_family: Option<String>,
    #[serde(default)]
    pub mitre_techniques: Vec<String>,
    #[serde(default)]
    pub created: Option<String>,
    #[serde(default)]
    pub first_activity: Option<String>,
    #[serde(default)]
    pub last_activity: Option<String>,
    /// Ids of the incident's entities this alert carries. Each is the entity's id, shared (not
    /// copied) by every alert linking to it: a long id linked from hundreds of alerts is held
    /// once ([`LinkId`]).
    #[serde(default)]
    pub entity_ids: Vec<LinkId>,
}

/// The id of an alert or entity as the other side of a link holds it: text that compares as a
/// `str` (with `&str` and `String` too), held inline when short and shared when long, so that
/// thousands of links to one entity cost a few words each, however long its id. The `incident`
/// record shares it too.
pub use riposte_dsl::text::Str as LinkId;

/// The kind-specific fields of an [`Entity`]. Names are the model's, so the importers use them
/// without an allocation each; names read from a normalized file are owned.
pub type Fields = BTreeMap<Cow<'static, str>, Json>;

/// An entity of an incident, deduplicated across its alerts.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Entity {
    /// Stable within the incident: `<kind>:<key>`, e.g. `device:73e7e2de…`.
    pub id: String,
    #[serde(with = "kind_serde")]
    pub kind: EntityKind,
    /// The most readable identifier: host name, UPN, address, URL, file name, subject, …
    #[serde(default)]
    pub name: String,
    /// `malicious`, `suspicious`, `no_threats_found` or `unknown` (borrowed when it is one of
    /// the known values, as most are: an entity is built for every evidence item).
    #[serde(default = "unknown_cow")]
    pub verdict: Cow<'static, str>,
    #[serde(default)]
    pub roles: Vec<String>,
    #[serde(default)]
    pub tags: Vec<String>,
    #[serde(default = "none")]
    pub remediation_status: Cow<'static, str>,
    /// Ids of the alerts that carry this entity, each shared by every entity it carries, as
    /// [`Alert::entity_ids`] are.
    #[serde(default)]
    pub alert_ids: Vec<LinkId>,
    /// `microsoft`, `crowdstrike`, `sentinelone`.
    #[serde(default = "unknown_cow")]
    pub provider: Cow<'static, str>,
    /// The kind-specific model fields by their model name (`mde_device_id`, `hostname`, `upn`,
    /// `sha256`, …). Times are RFC 3339 strings, addresses strings.
    #[serde(default)]
    pub fields: Fields,
}

fn unknown() -> String {
    "unknown".to_string()
}

fn unknown_cow() -> Cow<'static, str> {
    Cow::Borrowed("unknown")
}

fn none() -> Cow<'static, str> {
    Cow::Borrowed("none")
}

/// Entity kinds serialize by name (`cloud_app`).
mod kind_serde {
    use riposte_dsl::types::EntityKind;
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(kind: &EntityKind, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(kind.as_str())
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<EntityKind, D::Error> {
        let name = String::deserialize(d)?;
        EntityKind::parse(&super::json::snake(&name)).ok_or_else(|| {
            let kinds: Vec<&str> = EntityKind::ALL.iter().map(|k| k.as_str()).collect();
            serde::de::Error::custom(format!(
                "unknown entity kind `{name}`; the kinds are {}",
                kinds.join(", ")
            ))
        })
    }
}

/// Reads the incidents of one file's text; `file_name` is used in errors only. The first error
/// fails the whole file (see [`parse_incidents_each`] to read the others on).
pub fn parse_incidents(
    file_name: &str,
    text: &str,
    limits: &ImportLimits,
) -> Result<(FileInfo, Vec<Incident>), ImportError> {
    all_or_first_error(parse_incidents_each(file_name, text, limits)?)
}

/// Reads the incidents of one file's text, each on its own: an incident that cannot be read
/// is an error in its place of the list, and the others are read on. The outer error is the
/// file's: it cannot be read, is not JSON, not of a known format, or past a limit.
pub fn parse_incidents_each(
    file_name: &str,
    text: &str,
    limits: &ImportLimits,
) -> Result<(FileInfo, Vec<Result<Incident, ImportError>>), ImportError> {
    parse_bytes(
        file_name,
        Cow::Borrowed(text.as_bytes()),
        Some(text),
        limits,
    )
}

/// What the message of a file that is not JSON from its first character ends with
/// ([`ImportError::is_not_json`]).
const NOT_JSON: &str = "; the file is not JSON: incident files are JSON (Microsoft Graph, \
                        Sentinel, or Riposte's normalized format)";

/// Reads the incidents of a file, reading at most `max_file_bytes + 1` bytes of it. UTF-8 (with
/// or without a byte order mark) and UTF-16 with a byte order mark are accepted. The first
/// error fails the whole file (see [`read_incidents_each`] to read the others on).
pub fn read_incidents(
    path: &std::path::Path,
    limits: &ImportLimits,
) -> Result<(FileInfo, Vec<Incident>), ImportError> {
    all_or_first_error(read_incidents_each(path, limits)?)
}

/// How errors name the standard input, read for the path `-`.
pub const STDIN_NAME: &str = "<stdin>";

/// An incident file as messages name it: [`STDIN_NAME`] for `-`, else its path (without a
/// leading `./`).
pub fn shown_path(path: &std::path::Path) -> String {
    if path.as_os_str() == "-" {
        STDIN_NAME.to_string()
    } else {
        display_path(path)
    }
}

/// Reads the incidents of a file as [`read_incidents`] does, each on its own, as
/// [`parse_incidents_each`] does: a corpus of list pages loses only the incidents that cannot
/// be read.
pub fn read_incidents_each(
    path: &std::path::Path,
    limits: &ImportLimits,
) -> Result<(FileInfo, Vec<Result<Incident, ImportError>>), ImportError> {
    let max = u64::try_from(limits.max_file_bytes).unwrap_or(u64::MAX);
    // `-`: the standard input, as a pipe from an API call gives it (`az rest … | riposte
    // simulate --incident -`), read as a file without a size.
    let file = shown_path(path);
    if path.as_os_str() == "-" {
        let mut bytes = Vec::new();
        std::io::stdin()
            .lock()
            .take(max.saturating_add(1))
            .read_to_end(&mut bytes)
            .map_err(|source| ImportError::Io {
                file: file.clone(),
                source,
            })?;
        return parse_bytes(&file, Cow::Owned(bytes), None, limits);
    }
    let io = |source| ImportError::Io {
        file: file.clone(),
        source,
    };
    let handle = std::fs::File::open(path).map_err(io)?;
    // A regular file says its size: one too large is refused unread. What has no size to
    // tell (a pipe, `/dev/zero`) is read one byte past the limit.
    let size = handle
        .metadata()
        .ok()
        .filter(|m| m.is_file())
        .map(|m| m.len());
    if let Some(size) = size.filter(|&s| s > max) {
        let cx = Cx {
            file: &file,
            limits,
        };
        let size = usize::try_from(size).unwrap_or(usize::MAX);
        return Err(cx.too_large(&ROOT, Limit::FileBytes, size));
    }
    let mut bytes = Vec::with_capacity(size.map_or(0, |s| usize::try_from(s).unwrap_or(0)));
    handle
        .take(max.saturating_add(1))
        .read_to_end(&mut bytes)
        .map_err(io)?;
    parse_bytes(&file, Cow::Owned(bytes), None, limits)
}

fn all_or_first_error(
    (info, each): (FileInfo, Vec<Result<Incident, ImportError>>),
) -> Result<(FileInfo, Vec<Incident>), ImportError> {
    Ok((info, each.into_iter().collect::<Result<_, _>>()?))
}

/// The normalized JSON document of `incidents`: `{"format": "riposte.incident/v1", "incident":
/// {…}}` for one incident, `{"format": …, "incidents": […]}` otherwise.
pub fn normalized_document(incidents: &[Incident]) -> Json {
    // Serializing these types cannot fail: every map key is a string and there are no
    // non-finite floats (they come from JSON), so `Null` is never produced.
    let to_json = |i: &Incident| serde_json::to_value(i).unwrap_or(Json::Null);
    let mut doc = serde_json::Map::new();
    doc.insert("format".into(), Json::from(NORMALIZED_FORMAT));
    match incidents {
        [one] => {
            doc.insert("incident".into(), to_json(one));
        }
        many => {
            doc.insert(
                "incidents".into(),
                Json::Array(many.iter().map(to_json).collect()),
            );
        }
    }
    Json::Object(doc)
}

/// `text` is `bytes` as text when the caller has it so: it is then not decoded nor checked
/// again.
fn parse_bytes(
    file: &str,
    bytes: Cow<'_, [u8]>,
    text: Option<&str>,
    limits: &ImportLimits,
) -> Result<(FileInfo, Vec<Result<Incident, ImportError>>), ImportError> {
    let cx = Cx { file, limits };
    if bytes.len() > limits.max_file_bytes {
        return Err(cx.too_large(&ROOT, Limit::FileBytes, bytes.len()));
    }
    let root: Json = {
        let decoded = match text {
            Some(_) => Cow::Borrowed(&[][..]),
            None => decode(&bytes).map_err(|message| ImportError::Encoding {
                file: file.to_string(),
                message,
            })?,
        };
        let json = text.map_or(&*decoded, str::as_bytes);
        let most = Limit::JsonValues.of(limits);
        // Each value takes two bytes at least (`0,`): only a file that long can hold more.
        if json.len() / 2 > most {
            let values = json_values(json, most);
            if values > most {
                return Err(cx.too_large(&ROOT, Limit::JsonValues, values));
            }
        }
        // Valid UTF-8 (checked once, quickly) is parsed as text, which spares serde_json
        // validating every string again; anything else goes through the byte parser, which
        // reports where the bad bytes are. Text given as `str` only loses a UTF-8 byte order
        // mark, as `decode` would (a UTF-16 one is not UTF-8, so cannot start it).
        let utf8 = match text {
            Some(t) => Ok(t.strip_prefix('\u{feff}').unwrap_or(t)),
            None => std::str::from_utf8(&decoded),
        };
        match utf8 {
            Ok(s) => {
                if let Some((info, incidents)) = fast::import(&cx, s) {
                    return Ok((info, incidents.into_iter().map(Ok).collect()));
                }
                if s.trim().is_empty() {
                    return Err(cx.invalid(
                        &ROOT,
                        "the file is empty; an incident file holds JSON (see \
                         docs/incident-format.md)",
                    ));
                }
                serde_json::from_str(s).map_err(|e| match wide_text(file, s.as_bytes()) {
                    Some(wide) => wide,
                    // Not JSON from its first character (YAML, a CSV export): say what is.
                    None if !s.trim_start().starts_with(['{', '[']) => {
                        let mut error = json_error(file, &e);
                        if let ImportError::Json { message, .. } = &mut error {
                            message.push_str(NOT_JSON);
                        }
                        error
                    }
                    None => json_error(file, &e),
                })?
            }
            Err(e) => {
                return Err(
                    wide_text(file, &decoded).unwrap_or_else(|| not_utf8(file, &decoded, &e))
                )
            }
        }
    };
    // The text is not needed any more; only the parsed document is kept while importing.
    drop(bytes);
    import(&cx, &root)
}

/// UTF-8 without its byte order mark; UTF-16 (with a byte order mark, as PowerShell writes it)
/// re-encoded as UTF-8. UTF-16 that does not decode exactly (an odd byte at the end, a lone
/// surrogate) and UTF-32 are errors: nothing is replaced or dropped.
fn decode(bytes: &[u8]) -> Result<Cow<'_, [u8]>, String> {
    let utf16 = |le: bool, body: &[u8]| {
        if body.len() % 2 == 1 {
            return Err(format!(
                "the file is UTF-16 (it starts with a byte order mark) but has an odd number of \
                 bytes ({}): its last character is cut; save it again, as UTF-8",
                body.len() + 2
            ));
        }
        let units = body.chunks_exact(2).map(|c| {
            let pair = [c[0], c[1]];
            if le {
                u16::from_le_bytes(pair)
            } else {
                u16::from_be_bytes(pair)
            }
        });
        let mut text = String::with_capacity(body.len());
        for (i, c) in char::decode_utf16(units).enumerate() {
            let c = c.map_err(|e| {
                format!(
                    "the file is UTF-16 (it starts with a byte order mark) but holds a lone \
                     surrogate `0x{:04x}` at byte {}; save it again, as UTF-8",
                    e.unpaired_surrogate(),
                    2 + 2 * i
                )
            })?;
            text.push(c);
        }
        Ok(Cow::Owned(text.into_bytes()))
    };
    match bytes {
        [0xEF, 0xBB, 0xBF, rest @ ..] => Ok(Cow::Borrowed(rest)),
        [0xFF, 0xFE, 0, 0, ..] | [0, 0, 0xFE, 0xFF, ..] => {
            Err("the file is UTF-32, which Riposte does not read; save it as UTF-8".into())
        }
        [0xFF, 0xFE, rest @ ..] => utf16(true, rest),
        [0xFE, 0xFF, rest @ ..] => utf16(false, rest),
        _ => Ok(Cow::Borrowed(bytes)),
    }
}

/// The error for UTF-16 or UTF-32 text without a byte order mark, if `bytes` look like it: such
/// text may pass for UTF-8 (ASCII in UTF-16 is ASCII bytes and zeros), and the JSON error
/// about the zeros would mislead.
fn wide_text(file: &str, bytes: &[u8]) -> Option<ImportError> {
    riposte_dsl::syntax::wide_without_bom(bytes).then(|| ImportError::Encoding {
        file: file.to_string(),
        message: "the file looks like UTF-16 or UTF-32 text without a byte order mark (many of \
                  its first bytes are zero), not UTF-8; save it as UTF-8"
            .into(),
    })
}

/// The error for text that is not UTF-8, at the first bad byte.
fn not_utf8(file: &str, bytes: &[u8], e: &std::str::Utf8Error) -> ImportError {
    let good = &bytes[..e.valid_up_to()];
    let line = good.iter().filter(|&&b| b == b'\n').count() + 1;
    let line_start = good.iter().rposition(|&b| b == b'\n').map_or(0, |i| i + 1);
    // In bytes, as serde_json counts the columns of its errors.
    let column = good.len() - line_start + 1;
    let byte = bytes.get(e.valid_up_to()).copied().unwrap_or(0);
    ImportError::Json {
        file: file.to_string(),
        line,
        column,
        message: format!(
            "byte `0x{byte:02x}` is not UTF-8; incident files are UTF-8 (or UTF-16 with a byte \
             order mark): save the file as UTF-8"
        ),
    }
}

fn json_error(file: &str, e: &serde_json::Error) -> ImportError {
    let text = e.to_string();
    // serde_json appends " at line L column C"; the variant carries those separately.
    let message = match text.rfind(" at line ") {
        Some(i) => &text[..i],
        None => text.as_str(),
    };
    let message = if e.classify() == serde_json::error::Category::Eof {
        format!("{message}: the file ends too early (truncated, or a bracket is never closed)")
    } else if message.contains("recursion limit exceeded") {
        // serde_json fails on the 128th open bracket: 127 levels are the most it reads.
        "the JSON is nested more than 127 levels deep".to_string()
    } else if message == "number out of range" {
        // JSON leaves number ranges to readers (RFC 8259 §6); this one reads 64-bit floats.
        "a number is out of range: numbers are read as 64-bit floats, up to about 1.8e308 \
         either way (wherever it is, even in a member that is not read)"
            .to_string()
    } else {
        message.to_string()
    };
    ImportError::Json {
        file: file.to_string(),
        line: e.line(),
        // serde_json counts a position before a line's first character as column 0 (an empty
        // file is "line 1 column 0"); columns here start at 1, as in every other message.
        column: e.column().max(1),
        message,
    }
}

/// Detects the format of a parsed document and imports each of its incidents.
fn import(
    cx: &Cx,
    root: &Json,
) -> Result<(FileInfo, Vec<Result<Incident, ImportError>>), ImportError> {
    let unknown = || ImportError::UnknownFormat {
        file: cx.file.to_string(),
        hint: None,
    };
    // A Sentinel resource that is no incident (an alert, a comment) is named as what it is.
    let not_incident = |items: &[Json]| {
        items.iter().find_map(|item| match item {
            Json::Object(m) if automation_payload(m).is_some() => {
                Some(ImportError::UnknownFormat {
                    file: cx.file.to_string(),
                    hint: Some(format!("it holds {PAYLOADS_APART}")),
                })
            }
            Json::Object(m) => other_resource(m).map(|other| ImportError::UnknownFormat {
                file: cx.file.to_string(),
                hint: Some(other.hint()),
            }),
            _ => None,
        })
    };
    if let Json::Object(m) = root {
        if let Some((object, workspace)) = automation_payload(m) {
            let mut incident = sentinel::incident(cx, object, &m.at(&ROOT, "object"));
            if let Ok(i) = &mut incident {
                i.workspace = i.workspace.take().or(workspace);
            }
            return Ok((FileInfo::whole(Format::Sentinel), vec![incident]));
        }
    }
    // A single incident is at `$`, list items at `$.value[i]` or `$[i]`; only
    // a `value` list is a page, which may link to the next.
    let (items, base, single, page): (&[Json], Path, bool, Option<&json::Object>) = match root {
        // Names ignore case, this one too.
        Json::Object(m) if riposte::member(m, "format").is_some() => {
            return Ok((FileInfo::whole(Format::Riposte), riposte::document(cx, m)?));
        }
        Json::Object(m) if detect(m).is_some() => (std::slice::from_ref(root), ROOT, true, None),
        Json::Object(m) => match json::get(m, "value") {
            Some(Json::Array(items)) => (items.as_slice(), m.at(&ROOT, "value"), false, Some(m)),
            Some(other) => {
                return Err(cx.invalid(
                    &m.at(&ROOT, "value"),
                    format!(
                        "expected a list of incidents, found {}",
                        json::describe(other)
                    ),
                ))
            }
            None => {
                // The answer of Sentinel's `POST …/incidents/{id}/entities`: `{"entities": […]}`.
                let entities = match json::get(m, "entities") {
                    Some(Json::Array(items)) => not_incident(items),
                    _ => None,
                };
                return Err(error_response(cx, m)
                    .or_else(|| not_incident(std::slice::from_ref(root)))
                    .or(entities)
                    .unwrap_or_else(unknown));
            }
        },
        Json::Array(items) => (items.as_slice(), ROOT, false, None),
        _ => return Err(unknown()),
    };
    cx.check_len(&base, Limit::Incidents, items.len())?;
    // The format of the first incident whose shape tells it; a list of which none does is
    // not a list of incidents (an empty page imports nothing, whatever its format).
    let format = items.iter().find_map(|item| match item {
        Json::Object(m) => detect(m),
        _ => None,
    });
    let format = match (format, items.first()) {
        (Some(format), _) => format,
        // An empty page: Sentinel's when it links on as Azure list APIs do (they return empty
        // pages that have more after them), else Graph's.
        (None, None) if page.is_some_and(|m| links_to_next_page(m, Format::Sentinel)) => {
            Format::Sentinel
        }
        (None, None) => Format::Graph,
        (None, Some(Json::Object(_))) => return Err(not_incident(items).unwrap_or_else(unknown)),
        (None, Some(other)) => {
            return Err(cx.invalid(
                &base.index(0),
                format!(
                    "expected an incident object, found {}",
                    json::describe(other)
                ),
            ))
        }
    };
    let one = |item: &Json, path: &Path| {
        match item {
            Json::Object(m) => {
                if detect(m).is_none() && automation_payload(m).is_some() {
                    return Err(cx.invalid(path, format!("this is one of {PAYLOADS_APART}")));
                }
                if let Some(other) = detect(m).is_none().then(|| other_resource(m)).flatten() {
                    return Err(cx.invalid(
                        path,
                        format!(
                            "this is {}, not an incident; {}",
                            other.what(),
                            other.instead()
                        ),
                    ));
                }
                if let Some(other) = detect(m).filter(|f| *f != format) {
                    return Err(cx.invalid(
                        path,
                        format!(
                            "this looks like one of the {} but the file holds {} (as its first \
                             incident of a known shape is); put each format in its own file",
                            other.describe(),
                            format.describe()
                        ),
                    ));
                }
            }
            other => {
                return Err(cx.invalid(
                    path,
                    format!(
                        "expected an incident object, found {}",
                        json::describe(other)
                    ),
                ))
            }
        }
        match format {
            Format::Graph => graph::incident(cx, item, path),
            Format::Sentinel => sentinel::incident(cx, item, path),
            Format::Riposte => riposte::incident(cx, item, path),
        }
    };
    let incidents = items
        .iter()
        .enumerate()
        .map(|(i, item)| one(item, &if single { ROOT } else { base.index(i) }))
        .collect();
    let info = FileInfo {
        format,
        more_pages: page.is_some_and(|m| links_to_next_page(m, format)),
    };
    Ok((info, incidents))
}

/// What to do with automation rule payloads in a list.
const PAYLOADS_APART: &str = "the payloads an automation rule hands a playbook \
                              (`{\"object\": …}`), which are read one to a file: put each in its own \
                              file";

/// The incident an automation rule hands a playbook (the "Microsoft Sentinel incident"
/// trigger's body: `{"object": {…}, "workspaceInfo": {"WorkspaceName", …}, …}`), and the
/// name of its workspace, if `m` is one.
fn automation_payload(m: &json::Object) -> Option<(&Json, Option<String>)> {
    let object = json::get(m, "object")?;
    let Json::Object(incident) = object else {
        return None;
    };
    if detect(incident) != Some(Format::Sentinel) {
        return None;
    }
    let workspace = match json::get(m, "workspaceInfo") {
        Some(Json::Object(info)) => match json::get(info, "WorkspaceName") {
            Some(Json::String(name)) if !name.trim().is_empty() => Some(name.clone()),
            _ => None,
        },
        _ => None,
    };
    Some((object, workspace))
}

/// The error an API response `m` holds in place of incidents, if it is one: Microsoft Graph,
/// Defender and Azure all answer a failed request with `{"error": {"code", "message"}}`.
fn error_response(cx: &Cx, m: &json::Object) -> Option<ImportError> {
    let Some(Json::Object(error)) = json::get(m, "error") else {
        return None;
    };
    let text = |key: &str| match json::get(error, key) {
        Some(Json::String(s)) => Some(json::clip(s, 200).into_owned()),
        _ => None,
    };
    Some(ImportError::ErrorResponse {
        file: cx.file.to_string(),
        code: text("code")?,
        message: text("message").unwrap_or_default(),
    })
}

/// The format of one incident object, by its shape.
fn detect<M: json::Obj>(m: &M) -> Option<Format> {
    use json::{Val, View};
    let text = |key: &str| match m.field(key).map(Val::view) {
        Some(View::Str(s)) => Some(s),
        _ => None,
    };
    if text("@odata.type").is_some_and(|t| {
        t.trim_start_matches('#')
            .eq_ignore_ascii_case("microsoft.graph.security.incident")
    }) {
        return Some(Format::Graph);
    }
    // A resource of the Sentinel provider that its id or `type` says is no incident (an
    // incident's task or comment, an alert, an entity, a bookmark) is none, whatever else it
    // holds: a task has a `properties.title` as an incident does.
    if other_resource(m).is_some() {
        return None;
    }
    if let Some(View::Object(props)) = m.field("properties").map(Val::view) {
        if props.field("title").is_some() || props.field("incidentNumber").is_some() {
            return Some(Format::Sentinel);
        }
    }
    // By its resource id, `…/Microsoft.SecurityInsights/incidents/{id}`.
    if text("id")
        .and_then(sentinel_type)
        .is_some_and(|t| t.is_incident())
    {
        return Some(Format::Sentinel);
    }
    if m.field("displayName").is_some()
        && (m.field("alerts").is_some() || m.field("createdDateTime").is_some())
    {
        return Some(Format::Graph);
    }
    None
}

/// The resource type of an Azure resource id of the Sentinel provider: the segments after
/// `Microsoft.SecurityInsights/` (`incidents/{id}`, `Entities/{id}`,
/// `incidents/{id}/comments/{id}`); `None` for other ids. Also read from a resource's `type`
/// (`Microsoft.SecurityInsights/incidents`, `Microsoft.SecurityInsights/incidents/tasks`),
/// which names the same segments without the names of the resources.
struct SentinelType<'a> {
    segments: Vec<&'a str>,
}

impl SentinelType<'_> {
    /// `incidents/{id}`, and nothing below it (an incident's comments are not the incident).
    fn is_incident(&self) -> bool {
        matches!(self.segments.as_slice(), [kind, _] if kind.eq_ignore_ascii_case("incidents"))
    }

    /// As a `type`: `incidents`, and nothing below it.
    fn is_incident_type(&self) -> bool {
        matches!(self.segments.as_slice(), [kind] if kind.eq_ignore_ascii_case("incidents"))
    }
}

fn sentinel_type(id: &str) -> Option<SentinelType<'_>> {
    const PROVIDER: &str = "microsoft.securityinsights/";
    // ASCII lowercasing keeps byte offsets.
    let at = id.to_ascii_lowercase().rfind(PROVIDER)? + PROVIDER.len();
    let segments = id.get(at..)?.split('/').filter(|s| !s.is_empty()).collect();
    Some(SentinelType { segments })
}

/// A resource that is no incident, as a file may hold one saved from the wrong call.
struct OtherResource {
    /// Its resource id, where it has one.
    id: Option<String>,
    kind: OtherKind,
}

enum OtherKind {
    /// A Microsoft Graph security alert (`/security/alerts_v2`), with the id of its incident.
    GraphAlert(Option<String>),
    /// `…/Entities/{id}` of kind `SecurityAlert`: `POST …/incidents/{id}/alerts` answers these.
    Alert,
    /// `…/Entities/{id}`, as `POST …/incidents/{id}/entities` answers.
    Entity,
    /// `…/incidents/{id}/comments/{id}`, `…/incidents/{id}/tasks/{id}` and the like.
    OfIncident(String),
    /// `…/alertRules/{id}`, `…/bookmarks/{id}`, … as written.
    Other(String),
}

/// The resource `m` is, if it is no incident: a Microsoft Graph security alert (by its
/// `@odata.type`, or its `title` and `incidentId` without an incident's `displayName`), or a
/// Sentinel resource whose `id` or `type` is one of the provider's.
fn other_resource<M: json::Obj>(m: &M) -> Option<OtherResource> {
    use json::{Val, View};
    let text = |key: &str| match m.field(key).map(Val::view) {
        Some(View::Str(s)) => Some(s),
        _ => None,
    };
    let id = text("id");
    let graph_alert = text("@odata.type").is_some_and(|t| {
        t.trim_start_matches('#')
            .eq_ignore_ascii_case("microsoft.graph.security.alert")
    }) || (m.field("displayName").is_none()
        && m.field("title").is_some()
        && m.field("incidentId").is_some());
    if graph_alert {
        let incident = match m.field("incidentId").map(Val::view) {
            Some(View::Str(s)) => Some(json::clip(s, 200).into_owned()),
            Some(View::Number(n)) => Some(n.to_string()),
            _ => None,
        };
        return Some(OtherResource {
            id: id.map(|id| json::clip(id, 200).into_owned()),
            kind: OtherKind::GraphAlert(incident),
        });
    }
    let is_alert = || text("kind").is_some_and(|k| k.eq_ignore_ascii_case("SecurityAlert"));
    let entities = |s: &str| s.eq_ignore_ascii_case("entities");
    let incidents = |s: &str| s.eq_ignore_ascii_case("incidents");
    let clipped = |s: &str| json::clip(s, 40).into_owned();
    // The id, `…/incidents/{id}/tasks/{id}`, names the resources as well as their types.
    let by_id = id.and_then(sentinel_type).filter(|t| !t.is_incident());
    let kind = match by_id.as_ref().map(|t| t.segments.as_slice()) {
        Some([first, ..]) if entities(first) && is_alert() => OtherKind::Alert,
        Some([first, ..]) if entities(first) => OtherKind::Entity,
        Some([first, _, below, ..]) if incidents(first) => OtherKind::OfIncident(clipped(below)),
        Some([other, ..]) => OtherKind::Other(clipped(other)),
        Some([]) => OtherKind::Other(String::new()),
        // The type, `Microsoft.SecurityInsights/incidents/tasks`, names only the types.
        None => {
            let ty = text("type")
                .and_then(sentinel_type)
                .filter(|t| !t.is_incident_type())?;
            match ty.segments.as_slice() {
                [first, ..] if entities(first) && is_alert() => OtherKind::Alert,
                [first, ..] if entities(first) => OtherKind::Entity,
                [first, below, ..] if incidents(first) => OtherKind::OfIncident(clipped(below)),
                [other, ..] => OtherKind::Other(clipped(other)),
                [] => OtherKind::Other(String::new()),
            }
        }
    };
    Some(OtherResource {
        id: id.map(|id| json::clip(id, 200).into_owned()),
        kind,
    })
}

impl OtherResource {
    /// "a Microsoft Sentinel alert (`…/Entities/9ed9`)".
    fn what(&self) -> String {
        let what = match &self.kind {
            OtherKind::GraphAlert(_) => "a Microsoft Graph security alert".to_string(),
            OtherKind::Alert => "a Microsoft Sentinel alert".to_string(),
            OtherKind::Entity => "a Microsoft Sentinel entity".to_string(),
            OtherKind::OfIncident(below) => {
                format!("a `{below}` resource of a Microsoft Sentinel incident")
            }
            OtherKind::Other(ty) if ty.is_empty() => "a Microsoft Sentinel resource".to_string(),
            OtherKind::Other(ty) => format!("a Microsoft Sentinel `{ty}` resource"),
        };
        match &self.id {
            Some(id) => format!("{what} (`{id}`)"),
            None => what,
        }
    }

    /// What to give instead.
    fn instead(&self) -> String {
        const INCIDENT: &str = "`GET …/providers/Microsoft.SecurityInsights/incidents/{id}`";
        match &self.kind {
            OtherKind::GraphAlert(incident) => format!(
                "alerts are read inside their incident: give the incident with its alerts \
                 (`GET /security/incidents/{}?$expand=alerts`)",
                incident.as_deref().unwrap_or("{id}")
            ),
            OtherKind::Alert => format!(
                "alerts (`POST …/incidents/{{id}}/alerts`) are read inside their incident: \
                 give the incident ({INCIDENT}) with these alerts as its `alerts` member"
            ),
            OtherKind::Entity => format!(
                "entities (`POST …/incidents/{{id}}/entities`) are read inside their incident: \
                 give the incident ({INCIDENT}) with these entities as its `entities` member"
            ),
            _ => format!(
                "give the incident ({INCIDENT}), with its alerts and entities as its `alerts` and \
                 `entities` members"
            ),
        }
    }

    /// What the file holds and what to give instead, for an unknown format.
    fn hint(&self) -> String {
        format!(
            "it holds {}, not an incident; {}",
            self.what(),
            self.instead()
        )
    }
}
