//! Riposte's normalized incident JSON (`riposte.incident/v1`): the serde form of [`Incident`].
//!
//! Reading checks the shape field by field first (so errors carry a JSON path), deserializes,
//! then normalizes as the other importers do: enum values, times, repeated list items, names,
//! and the links between alerts and entities, which are made symmetric. Normalizing normalized
//! data changes nothing, so importing the normalized JSON of an imported incident gives the same
//! incident.

use std::borrow::Cow;
use std::collections::{HashMap, HashSet};

use riposte_dsl::model::{
    ALERT_STATUSES, CLASSIFICATIONS, DELIVERY_ACTIONS, DELIVERY_LOCATIONS, DETECTION_STATUSES,
    EMAIL_DIRECTIONS, INCIDENT_SOURCES, INCIDENT_STATUSES, PROVIDERS, REMEDIATION_STATUSES,
    RISK_SCORES, ROLES, VERDICTS,
};
use riposte_dsl::types::EntityKind;
use serde::Deserialize;
use serde_json::Value as Json;

use super::entities::display_name;
use super::graph::{
    AV_STATUSES, CATEGORIES, CLASSIFICATION_ALIASES, DETECTION_SOURCES, DETERMINATIONS,
    GRAPH_EXTRA_VALUES, HEALTH_STATUSES, NEWER_DELIVERY_ACTIONS, NEWER_DELIVERY_LOCATIONS,
    NEWER_REMEDIATION, ONBOARDING_STATUSES, SERVICE_SOURCES, SEVERITIES,
};
use super::json::{
    canonical_ip, clip, dedup, describe, mentions_admin, norm_enum, norm_enum_static,
    normalize_time, not_a_time, object, snake, Cx, Object, Path, ROOT,
};
use super::{Alert, Entity, ImportError, Incident, Limit, LinkId, NORMALIZED_FORMAT};

type Result<T> = std::result::Result<T, ImportError>;

/// A document: `{"format": "riposte.incident/v1", "incident": {…}}` or `"incidents": […]`.
/// A normalized document: its incidents, each read on its own.
pub(super) fn document(cx: &Cx, m: &Object) -> Result<Vec<Result<Incident>>> {
    let format = member(m, "format");
    let fp = ROOT.key(format.map_or("format", |(k, _)| k));
    match format.map(|(_, v)| v) {
        Some(Json::String(f)) if f.trim() == NORMALIZED_FORMAT => {}
        Some(Json::String(f)) => {
            return Err(cx.invalid(
                &fp,
                format!(
                    "unsupported format `{}`; this version of Riposte reads `{NORMALIZED_FORMAT}`",
                    clip(f, 80)
                ),
            ))
        }
        other => {
            return Err(cx.invalid(
                &fp,
                format!(
                    "expected `{NORMALIZED_FORMAT}`, found {}",
                    other.map_or("nothing", describe)
                ),
            ))
        }
    }
    let one = member(m, "incident");
    let many = member(m, "incidents");
    let given = |member: Option<(&str, &Json)>| member.is_some_and(|(_, v)| !v.is_null());
    if given(one) && given(many) {
        return Err(cx.invalid(
            &ROOT,
            "the document holds both `incident` and `incidents`; put the one incident into the \
             `incidents` list, or keep only one of them",
        ));
    }
    let mut out = Vec::new();
    if let Some((name, v)) = one.filter(|(_, v)| !v.is_null()) {
        out.push(incident(cx, v, &ROOT.key(name)));
    }
    match many {
        None | Some((_, Json::Null)) => {}
        Some((name, Json::Array(items))) => {
            let many = ROOT.key(name);
            cx.check_len(&many, Limit::Incidents, items.len() + out.len())?;
            out.reserve(items.len());
            for (i, item) in items.iter().enumerate() {
                out.push(incident(cx, item, &many.index(i)));
            }
        }
        Some((name, other)) => {
            return Err(cx.invalid(
                &ROOT.key(name),
                format!("expected a list of incidents, found {}", describe(other)),
            ))
        }
    }
    if one.is_none() && many.is_none() {
        return Err(cx.invalid(
            &ROOT,
            "a Riposte incident document holds `incident` (one) or `incidents` (a list)",
        ));
    }
    Ok(out)
}

/// The member of `m` named `key`, with its name as written: names ignore case, as in the other
/// formats, so the exact name, else the first (in `serde_json`'s order, by name) equal to it
/// ignoring case, as [`json::get`](super::json::get) finds it. Null is returned, unlike there.
pub(super) fn member<'m>(m: &'m Object, key: &str) -> Option<(&'m str, &'m Json)> {
    m.get_key_value(key)
        .or_else(|| m.iter().find(|(k, _)| k.eq_ignore_ascii_case(key)))
        .map(|(k, v)| (k.as_str(), v))
}

/// A document, deserialized directly (see [`document_fast`]).
#[derive(Deserialize)]
struct Doc<'a> {
    #[serde(default, borrow)]
    format: Option<std::borrow::Cow<'a, str>>,
    #[serde(default)]
    incident: Option<Incident>,
    #[serde(default)]
    incidents: Option<Vec<Incident>>,
}

/// [`document`] for a file's text, deserialized straight into [`Incident`]s without the
/// `serde_json` values the shape checks need; `None` wherever [`document`] must decide (any
/// error, which it reports with its JSON path, or a limit exceeded). Where it answers, the
/// answer is [`document`]'s: the checks [`document`] makes before deserializing only give
/// better errors for what deserializing rejects too, and the normalization is the same.
pub(super) fn document_fast(cx: &Cx, text: &str) -> Option<Vec<Incident>> {
    let doc: Doc = serde_json::from_str(text).ok()?;
    if doc.format.as_deref().map(str::trim) != Some(NORMALIZED_FORMAT) {
        return None;
    }
    // Neither or both: the slow path says what is wrong.
    if doc.incident.is_none() == doc.incidents.is_none() {
        return None;
    }
    let mut out: Vec<Incident> = doc.incident.into_iter().collect();
    let many = doc.incidents.unwrap_or_default();
    if many.len() + out.len() > cx.limits.max_incidents {
        return None;
    }
    out.extend(many);
    for inc in &mut out {
        if inc.alerts.len() > cx.limits.max_alerts
            || inc.entities.len() > cx.limits.max_entities
            || inc.other_evidence.len() > cx.limits.max_entities
        {
            return None;
        }
        normalize(cx, inc, &ROOT, Written(None)).ok()?;
    }
    Some(out)
}

/// The JSON shape a field must have.
#[derive(Clone, Copy)]
enum Shape {
    /// Text, required.
    Id,
    /// Text or null.
    Text,
    /// A list of text.
    TextList,
    /// A list of anything.
    List,
    /// An object of anything.
    Map,
}

const INCIDENT: &[(&str, Shape)] = &[
    ("id", Shape::Id),
    ("number", Shape::Text),
    ("source", Shape::Text),
    ("workspace", Shape::Text),
    ("title", Shape::Text),
    ("description", Shape::Text),
    ("severity", Shape::Text),
    ("status", Shape::Text),
    ("redirected_to", Shape::Text),
    ("classification", Shape::Text),
    ("determination", Shape::Text),
    ("assigned_to", Shape::Text),
    ("web_url", Shape::Text),
    ("created", Shape::Text),
    ("updated", Shape::Text),
    ("tags", Shape::TextList),
    ("alerts", Shape::List),
    ("entities", Shape::List),
    ("other_evidence", Shape::List),
];

const ALERT: &[(&str, Shape)] = &[
    ("id", Shape::Id),
    ("title", Shape::Text),
    ("description", Shape::Text),
    ("category", Shape::Text),
    ("severity", Shape::Text),
    ("status", Shape::Text),
    ("service_source", Shape::Text),
    ("detection_source", Shape::Text),
    ("threat_family", Shape::Text),
    ("mitre_techniques", Shape::TextList),
    ("created", Shape::Text),
    ("first_activity", Shape::Text),
    ("last_activity", Shape::Text),
    ("entity_ids", Shape::TextList),
];

const ENTITY: &[(&str, Shape)] = &[
    ("id", Shape::Id),
    ("kind", Shape::Id),
    ("name", Shape::Text),
    ("verdict", Shape::Text),
    ("roles", Shape::TextList),
    ("tags", Shape::TextList),
    ("remediation_status", Shape::Text),
    ("alert_ids", Shape::TextList),
    ("provider", Shape::Text),
    ("fields", Shape::Map),
];

/// Every member name of the format: the document's, and those of incidents, alerts and
/// entities.
#[cfg(test)]
pub(super) fn member_names() -> impl Iterator<Item = &'static str> {
    ["format", "incident", "incidents"].into_iter().chain(
        [INCIDENT, ALERT, ENTITY]
            .into_iter()
            .flatten()
            .map(|&(k, _)| k),
    )
}

/// Checks that every field of `table` present in `m` has its shape. Null is absent, an
/// integer is text (ids), and one text is a list of it, as in the other formats. Whether serde
/// needs the members adjusted to read them ([`deserializable`]): a name in another case, or a
/// value of another type than the field's.
fn check_shape(cx: &Cx, m: &Object, path: &Path, table: &[(&str, Shape)]) -> Result<bool> {
    let mut adjust = false;
    for &(key, shape) in table {
        let (name, v) = member(m, key).unwrap_or((key, &Json::Null));
        adjust |= name != key;
        let here = path.key(name);
        let ok = match (shape, v) {
            (Shape::Id, Json::Null) => {
                return Err(cx.invalid(&here, format!("`{key}` is required")))
            }
            (Shape::Id, Json::String(t)) if t.trim().is_empty() => {
                return Err(cx.invalid(
                    &here,
                    format!("`{key}` is empty; it is required and names what it identifies"),
                ))
            }
            (Shape::Id | Shape::Text, Json::String(_)) => true,
            (Shape::Id | Shape::Text, Json::Number(n)) if n.is_i64() || n.is_u64() => {
                adjust = true;
                true
            }
            (Shape::Text, Json::Bool(_)) => {
                adjust = true;
                true
            }
            (Shape::Text | Shape::TextList | Shape::List | Shape::Map, Json::Null) => {
                adjust = true;
                true
            }
            // One value where a list is expected is a list of it, as in the other formats.
            (Shape::TextList, Json::String(_) | Json::Bool(_)) => {
                adjust = true;
                true
            }
            (Shape::TextList, Json::Number(n)) if n.is_i64() || n.is_u64() => {
                adjust = true;
                true
            }
            (Shape::TextList, Json::Array(items)) => {
                for (i, item) in items.iter().enumerate() {
                    match item {
                        Json::String(_) => {}
                        Json::Number(n) if n.is_i64() || n.is_u64() => adjust = true,
                        Json::Bool(_) | Json::Null => adjust = true,
                        _ => {
                            return Err(cx.invalid(
                                &here.index(i),
                                format!("expected text, found {}", describe(item)),
                            ))
                        }
                    }
                }
                true
            }
            (Shape::List, Json::Array(_)) | (Shape::Map, Json::Object(_)) => true,
            _ => false,
        };
        if !ok {
            let expected = match shape {
                Shape::Id | Shape::Text => "text",
                Shape::TextList => "a list of text",
                Shape::List => "a list",
                Shape::Map => "an object",
            };
            return Err(cx.invalid(&here, format!("expected {expected}, found {}", describe(v))));
        }
    }
    Ok(adjust)
}

pub(super) fn incident(cx: &Cx, v: &Json, path: &Path) -> Result<Incident> {
    let m = object(cx, v, path)?;
    let list = |key: &str| match member(m, key) {
        Some((name, Json::Array(items))) => Some((path.key(name), items)),
        _ => None,
    };
    for (key, limit) in [
        ("alerts", Limit::Alerts),
        ("entities", Limit::Entities),
        ("other_evidence", Limit::OtherEvidence),
    ] {
        if let Some((kp, items)) = list(key) {
            cx.check_len(&kp, limit, items.len())?;
        }
    }
    let mut adjust = check_shape(cx, m, path, INCIDENT)?;
    for (key, table) in [("alerts", ALERT), ("entities", ENTITY)] {
        if let Some((kp, items)) = list(key) {
            for (i, item) in items.iter().enumerate() {
                let ip = kp.index(i);
                adjust |= check_shape(cx, object(cx, item, &ip)?, &ip, table)?;
            }
        }
    }
    if let Some((kp, items)) = list("entities") {
        for (i, item) in items.iter().enumerate() {
            // An integer is text here as for any id (checked above), and names no kind: said
            // here, at its path, rather than by serde at the incident's.
            let (name, kind) = match item.as_object().and_then(|e| member(e, "kind")) {
                Some((name, Json::String(kind))) => (name, Cow::Borrowed(kind.as_str())),
                Some((name, Json::Number(n))) => (name, Cow::Owned(n.to_string())),
                _ => continue,
            };
            if EntityKind::parse(&snake(&kind)).is_none() {
                let kinds: Vec<&str> = EntityKind::ALL.iter().map(|k| k.as_str()).collect();
                return Err(cx.invalid(
                    &kp.index(i).key(name),
                    format!(
                        "unknown entity kind `{}`; the kinds are {}",
                        clip(&kind, 80),
                        kinds.join(", ")
                    ),
                ));
            }
        }
    }
    // Checked field by field above. Serde reads the members by their exact names, nulls of
    // optional fields but not of the others, and neither integers as text nor one text as a
    // list: where the checks met any of those, a copy is made, with them adjusted.
    let direct = if adjust {
        None
    } else {
        Incident::deserialize(v).ok()
    };
    let mut incident = match direct {
        Some(incident) => incident,
        None => Incident::deserialize(&deserializable(m))
            .map_err(|e| cx.invalid(path, e.to_string()))?,
    };
    normalize(cx, &mut incident, path, Written(Some(m)))?;
    Ok(incident)
}

/// The incident `m` as its serde form reads it: each member by its exact name, null members
/// left out (so they take their defaults), integers where text is expected spelled as text and
/// one text where a list is expected made a list, in the incident and in each of its alerts
/// and entities. Members serde does not read are left out.
fn deserializable(m: &Object) -> Json {
    fn members(m: &Object, table: &[(&str, Shape)]) -> Object {
        table
            .iter()
            .filter_map(|&(key, shape)| {
                let (_, v) = member(m, key)?;
                let v = match (shape, v) {
                    (_, Json::Null) => return None,
                    (Shape::Id | Shape::Text, scalar @ (Json::Number(_) | Json::Bool(_))) => {
                        Json::String(scalar.to_string())
                    }
                    (Shape::TextList, Json::String(_)) => Json::Array(vec![v.clone()]),
                    (Shape::TextList, Json::Number(_) | Json::Bool(_)) => {
                        Json::Array(vec![Json::String(v.to_string())])
                    }
                    (Shape::TextList, Json::Array(items)) => Json::Array(
                        items
                            .iter()
                            .filter(|item| !item.is_null())
                            .map(|item| match item {
                                Json::Number(_) | Json::Bool(_) => Json::String(item.to_string()),
                                _ => item.clone(),
                            })
                            .collect(),
                    ),
                    (_, other) => other.clone(),
                };
                Some((key.to_string(), v))
            })
            .collect()
    }
    let mut out = members(m, INCIDENT);
    for (key, table) in [("alerts", ALERT), ("entities", ENTITY)] {
        if let Some(Json::Array(items)) = out.get_mut(key) {
            for item in items.iter_mut() {
                if let Json::Object(o) = item {
                    *o = members(o, table);
                }
            }
        }
    }
    Json::Object(out)
}

fn unknown() -> String {
    "unknown".to_string()
}

/// Normalizes an entity field written by hand as the importers normalize it: enumerated values,
/// lowercase hashes and platforms, canonical addresses, UTC times. Other fields are kept.
fn normalize_field(cx: &Cx, name: &str, v: &mut Json, here: &Path) -> Result<()> {
    let Json::String(text) = v else {
        return Ok(());
    };
    type Known = (
        &'static [&'static str],
        &'static [(&'static str, &'static str)],
    );
    let known: Option<Known> = match name {
        "risk_score" => Some((RISK_SCORES, &[])),
        "detection_status" => Some((DETECTION_STATUSES, &[])),
        "delivery_action" => Some((DELIVERY_ACTIONS, NEWER_DELIVERY_ACTIONS)),
        "delivery_location" => Some((DELIVERY_LOCATIONS, NEWER_DELIVERY_LOCATIONS)),
        "direction" => Some((EMAIL_DIRECTIONS, &[])),
        "health_status" => Some((HEALTH_STATUSES, &[])),
        "onboarding_status" => Some((ONBOARDING_STATUSES, &[])),
        "av_status" => Some((AV_STATUSES, &[])),
        _ => None,
    };
    // Values written by Riposte are normalized already (a backtest corpus is thousands of
    // them): each is checked first and copied only when it changes.
    let normalized = match (name, known) {
        (_, Some((known, aliases))) => match norm_enum_static(text, known, aliases) {
            Some(n) if n == text.as_str() => return Ok(()),
            other => other.map(Cow::into_owned),
        },
        ("os_platform" | "sha1" | "sha256" | "md5" | "image_sha1" | "image_sha256", _) => {
            if text.trim() == text && !text.chars().any(char::is_uppercase) {
                return Ok(());
            }
            Some(text.trim().to_lowercase())
        }
        ("address" | "sender_ip", _) => {
            let ip = canonical_ip(text);
            if ip == *text {
                return Ok(());
            }
            Some(ip)
        }
        ("first_seen" | "created" | "received", _) => {
            let mut t = Some(text.clone());
            time_at(cx, &mut t, here)?;
            t
        }
        _ => return Ok(()),
    };
    *v = normalized.map_or(Json::Null, Json::String);
    Ok(())
}

fn time(cx: &Cx, t: &mut Option<String>, path: &Path, key: &str) -> Result<()> {
    time_at(cx, t, &path.key(key))
}

/// [`time`], for a value at `here`.
fn time_at(cx: &Cx, t: &mut Option<String>, here: &Path) -> Result<()> {
    if let Some(text) = t.take() {
        if text.trim().is_empty() {
            return Ok(());
        }
        *t = Some(normalize_time(&text).ok_or_else(|| cx.invalid(here, not_a_time(&text)))?);
    }
    Ok(())
}

fn text(t: &mut Option<String>) {
    if t.as_deref().is_some_and(|s| s.trim().is_empty()) {
        *t = None;
    }
}

/// Required text (a title): blank is absent, so empty.
fn text_or_empty(t: &mut String) {
    if t.trim().is_empty() {
        t.clear();
    }
}

/// A list of text: blank items are absent (as the other importers skip them), repetitions
/// dropped.
fn text_list<T: AsRef<str> + Eq + std::hash::Hash + Clone>(mut items: Vec<T>) -> Vec<T> {
    items.retain(|s| !s.as_ref().trim().is_empty());
    dedup(items)
}

fn enum_opt(t: &mut Option<String>, known: &[&'static str]) {
    *t = t.as_deref().and_then(|s| norm_enum(s, known, &[]));
}

/// The names an incident's members are written with, for the paths of errors: from its JSON
/// on the slow path; the fast path reads only files that spell each name exactly.
#[derive(Clone, Copy)]
struct Written<'m>(Option<&'m Object>);

impl<'m> Written<'m> {
    /// The name member `key` is written with.
    fn name<'a>(self, key: &'a str) -> &'a str
    where
        'm: 'a,
    {
        self.0.and_then(|m| member(m, key)).map_or(key, |(k, _)| k)
    }

    /// The items of list `key`, for [`Self::item`].
    fn list(self, key: &str) -> &'m [Json] {
        match self.0.and_then(|m| member(m, key)) {
            Some((_, Json::Array(items))) => items,
            _ => &[],
        }
    }

    /// Item `i` of `items` (from [`Self::list`]).
    fn item(items: &'m [Json], i: usize) -> Written<'m> {
        Written(items.get(i).and_then(Json::as_object))
    }
}

fn normalize(cx: &Cx, inc: &mut Incident, path: &Path, w: Written) -> Result<()> {
    let alerts_path = path.key(w.name("alerts"));
    let entities_path = path.key(w.name("entities"));
    let (alerts_written, entities_written) = (w.list("alerts"), w.list("entities"));
    // The shape checks say this first on the slow path; the fast one must not accept it.
    let empty_id = |p: Path, w: Written| cx.invalid(&p.key(w.name("id")), "`id` is empty");
    if inc.id.trim().is_empty() {
        return Err(empty_id(*path, w));
    }
    if let Some(i) = inc.alerts.iter().position(|a| a.id.trim().is_empty()) {
        let item = Written::item(alerts_written, i);
        return Err(empty_id(alerts_path.index(i), item));
    }
    if let Some(i) = inc.entities.iter().position(|e| e.id.trim().is_empty()) {
        let item = Written::item(entities_written, i);
        return Err(empty_id(entities_path.index(i), item));
    }
    inc.source = norm_enum(&inc.source, INCIDENT_SOURCES, &[]).unwrap_or_else(unknown);
    inc.severity = norm_enum(&inc.severity, SEVERITIES, GRAPH_EXTRA_VALUES).unwrap_or_else(unknown);
    inc.status =
        norm_enum(&inc.status, INCIDENT_STATUSES, GRAPH_EXTRA_VALUES).unwrap_or_else(unknown);
    inc.classification = norm_enum(&inc.classification, CLASSIFICATIONS, CLASSIFICATION_ALIASES)
        .unwrap_or_else(unknown);
    enum_opt(&mut inc.determination, DETERMINATIONS);
    for t in [
        &mut inc.number,
        &mut inc.workspace,
        &mut inc.description,
        &mut inc.assigned_to,
        &mut inc.web_url,
        &mut inc.redirected_to,
    ] {
        text(t);
    }
    text_or_empty(&mut inc.title);
    time(cx, &mut inc.created, path, w.name("created"))?;
    time(cx, &mut inc.updated, path, w.name("updated"))?;
    inc.tags = text_list(std::mem::take(&mut inc.tags));

    for (i, a) in inc.alerts.iter_mut().enumerate() {
        let ap = alerts_path.index(i);
        let aw = Written::item(alerts_written, i);
        a.severity = norm_enum(&a.severity, SEVERITIES, GRAPH_EXTRA_VALUES).unwrap_or_else(unknown);
        a.status = norm_enum(&a.status, ALERT_STATUSES, GRAPH_EXTRA_VALUES).unwrap_or_else(unknown);
        enum_opt(&mut a.category, CATEGORIES);
        enum_opt(&mut a.service_source, SERVICE_SOURCES);
        enum_opt(&mut a.detection_source, DETECTION_SOURCES);
        text_or_empty(&mut a.title);
        text(&mut a.description);
        text(&mut a.threat_family);
        time(cx, &mut a.created, &ap, aw.name("created"))?;
        time(cx, &mut a.first_activity, &ap, aw.name("first_activity"))?;
        time(cx, &mut a.last_activity, &ap, aw.name("last_activity"))?;
        a.mitre_techniques = text_list(std::mem::take(&mut a.mitre_techniques));
        a.entity_ids = text_list(std::mem::take(&mut a.entity_ids));
    }

    let source_provider = match inc.source.as_str() {
        "defender_xdr" | "sentinel" => "microsoft",
        "crowdstrike" => "crowdstrike",
        "sentinelone" => "sentinelone",
        _ => "unknown",
    };
    let mut seen: HashSet<String> = HashSet::with_capacity(inc.entities.len());
    for (i, e) in inc.entities.iter_mut().enumerate() {
        let ew = Written::item(entities_written, i);
        if !seen.insert(e.id.clone()) {
            return Err(cx.invalid(
                &entities_path.index(i).key(ew.name("id")),
                format!("another entity already has the id `{}`", clip(&e.id, 120)),
            ));
        }
        e.verdict = norm_enum_static(&e.verdict, VERDICTS, &[]).unwrap_or(Cow::Borrowed("unknown"));
        e.remediation_status = norm_enum_static(
            &e.remediation_status,
            REMEDIATION_STATUSES,
            NEWER_REMEDIATION,
        )
        .unwrap_or(Cow::Borrowed("none"));
        // Left out (or blank, which is absent), the platform that reported the incident: it is
        // the one to act through. Read as `unknown`, every action on the entity would fail.
        e.provider = match norm_enum_static(&e.provider, PROVIDERS, &[]) {
            Some(p) if p != "unknown" => p,
            _ => Cow::Borrowed(source_provider),
        };
        // As Graph evidence says an account is an admin: a tag or role as written.
        let admin_said =
            e.kind == EntityKind::User && e.tags.iter().chain(&e.roles).any(|t| mentions_admin(t));
        e.roles = dedup(
            e.roles
                .iter()
                .filter_map(|r| norm_enum(r, ROLES, &[]))
                .collect(),
        );
        e.tags = text_list(std::mem::take(&mut e.tags));
        e.alert_ids = text_list(std::mem::take(&mut e.alert_ids));
        let entity_path = entities_path.index(i);
        let fields_path = entity_path.key(ew.name("fields"));
        let model = riposte_dsl::model::entity(e.kind);
        // The kind's own fields: the common ones (`tags`, …) are not read from `fields`.
        let kind_fields = model
            .fields
            .get(riposte_dsl::model::COMMON_FIELDS..)
            .unwrap_or_default();
        let mut other_case = false;
        for (name, value) in e.fields.iter_mut() {
            // Blank text is absent, as null is: the other importers leave such a field out.
            if matches!(value, Json::String(s) if s.trim().is_empty()) {
                *value = Json::Null;
                continue;
            }
            let field = kind_fields.iter().find(|f| f.name == **name);
            if field.is_none()
                && kind_fields
                    .iter()
                    .any(|f| f.name.eq_ignore_ascii_case(name))
            {
                // Read below by the model's name: names ignore case.
                other_case = true;
                continue;
            }
            entity_field(cx, e.kind, field, name, value, &fields_path.key(name))?;
        }
        if other_case {
            model_names(cx, e, kind_fields, &fields_path)?;
        }
        e.fields.retain(|_, v| !v.is_null());
        derive_fields(e, admin_said);
        if e.name.trim().is_empty() {
            e.name = display_name(e.kind, &e.fields).unwrap_or_else(|| e.id.clone());
        }
    }
    link(&mut inc.alerts, &mut inc.entities);
    Ok(())
}

/// A number or boolean where field `name` of an entity of `kind` holds text, as text: a whole
/// number as its digits; any other number is an error, as it is for an id of the incident.
fn as_text(cx: &Cx, kind: EntityKind, name: &str, v: &mut Json, here: &Path) -> Result<()> {
    match v {
        Json::Number(n) if n.is_i64() || n.is_u64() => *v = Json::String(n.to_string()),
        Json::Number(n) => {
            return Err(cx.invalid(
                here,
                format!(
                    "`{name}` of {} {} is text; found a number written with a fraction or an \
                     exponent, or past 64 bits, which is read as floating point (`{n}`), so two \
                     ids could come out the same: write it in quotes",
                    article(kind),
                    kind.as_str()
                ),
            ))
        }
        Json::Bool(b) => *v = Json::String(b.to_string()),
        _ => {}
    }
    Ok(())
}

/// `a` or `an`, before the name of `kind`.
fn article(kind: EntityKind) -> &'static str {
    match kind {
        EntityKind::Ip | EntityKind::Email => "an",
        _ => "a",
    }
}

/// Normalizes field `name` of an entity of `kind` (its model field `field`, if it is one) and
/// checks its type; `here` is its path as written.
fn entity_field(
    cx: &Cx,
    kind: EntityKind,
    field: Option<&riposte_dsl::types::Field>,
    name: &str,
    value: &mut Json,
    here: &Path,
) -> Result<()> {
    // One value where the model has a list: a list of it, as the other lists of text read.
    let listed = field.is_some_and(|f| matches!(f.ty, riposte_dsl::types::Type::List(_)));
    if listed && !matches!(value, Json::Array(_) | Json::Null) {
        *value = Json::Array(vec![value.take()]);
    }
    // Text the model holds as text, alone or in a list: whole numbers and booleans as
    // written, other numbers refused (read as floating point, two ids could come out the same).
    if let Some(f) = field {
        use riposte_dsl::types::Type;
        match (&f.ty, &mut *value) {
            (Type::String, v) => as_text(cx, kind, name, v, here)?,
            (Type::List(item), Json::Array(items)) if **item == Type::String => {
                for (i, v) in items.iter_mut().enumerate() {
                    as_text(cx, kind, name, v, &here.index(i))?;
                }
            }
            _ => {}
        }
    }
    match value {
        // Each item of a model list as a field of its own kind: the addresses of
        // `ip_addresses` as `address`. A list where the model has none is left as written,
        // for the type check to quote.
        Json::Array(items) if listed => {
            let item_name = match name {
                "ip_addresses" => "address",
                other => other,
            };
            for (i, item) in items.iter_mut().enumerate() {
                normalize_field(cx, item_name, item, &here.index(i))?;
            }
        }
        _ => normalize_field(cx, name, value, here)?,
    }
    // A hand-written value the `incident` record would read as null is an error: a condition
    // such as `not u.is_admin` would otherwise hold on `"yes"`. Checked as written, so that
    // the error points at the item the file has there.
    let Some(f) = field.filter(|f| !super::to_value::fits(value, &f.ty)) else {
        // Of a model list, blank items are absent and repeats dropped, once normalized (two
        // spellings of one address are one).
        if let (true, Json::Array(items)) = (listed, &mut *value) {
            let mut seen = std::collections::HashSet::new();
            items.retain(|v| match v {
                Json::String(t) => !t.trim().is_empty() && seen.insert(t.clone()),
                other => !other.is_null(),
            });
        }
        return Ok(());
    };
    let item = match (&*value, &f.ty) {
        (Json::Array(items), riposte_dsl::types::Type::List(item)) => {
            items.iter().position(|i| !super::to_value::fits(i, item))
        }
        _ => None,
    };
    let message = format!(
        "`{name}` of {} {} is {}; found `{}`",
        article(kind),
        kind.as_str(),
        super::to_value::written_as(&f.ty),
        clip(&value.to_string(), 80)
    );
    Err(match item {
        Some(i) => cx.invalid(&here.index(i), message),
        None => cx.invalid(here, message),
    })
}

/// Gives the fields of `e` named as a model field in another case that field's name, as every
/// name ignores case: where the exact name is not given, the first such (in name order, as
/// `serde_json` keeps members) counts, and the others stay names the model does not have.
fn model_names(
    cx: &Cx,
    e: &mut Entity,
    kind_fields: &[riposte_dsl::types::Field],
    fields_path: &Path,
) -> Result<()> {
    let mut renames: Vec<(Cow<'static, str>, &riposte_dsl::types::Field)> = Vec::new();
    for name in e.fields.keys() {
        let Some(f) = kind_fields
            .iter()
            .find(|f| f.name != **name && f.name.eq_ignore_ascii_case(name))
        else {
            continue;
        };
        if !e.fields.contains_key(f.name.as_str()) && !renames.iter().any(|(_, r)| r.name == f.name)
        {
            renames.push((name.clone(), f));
        }
    }
    for (written, f) in renames {
        if let Some(mut value) = e.fields.remove(&written) {
            entity_field(
                cx,
                e.kind,
                Some(f),
                &f.name,
                &mut value,
                &fields_path.key(&written),
            )?;
            e.fields.insert(Cow::Owned(f.name.clone()), value);
        }
    }
    Ok(())
}

/// The fields the importers derive from others, where a hand-written entity leaves them out:
/// a device's `is_server` from its OS platform, a user's `is_admin` from what its tags and
/// roles say (`admin_said`), a file's `device_ids` from its `device_id` and the other way
/// round. Values written are kept.
fn derive_fields(e: &mut Entity, admin_said: bool) {
    let f = &mut e.fields;
    match e.kind {
        EntityKind::Device if !f.contains_key("is_server") => {
            let server =
                matches!(f.get("os_platform"), Some(Json::String(os)) if os.contains("server"));
            f.insert("is_server".into(), Json::Bool(server));
        }
        EntityKind::User if !f.contains_key("is_admin") => {
            f.insert("is_admin".into(), Json::Bool(admin_said));
        }
        EntityKind::File => match (f.get("device_id"), f.get("device_ids")) {
            (Some(Json::String(id)), None) => {
                let ids = Json::Array(vec![Json::String(id.clone())]);
                f.insert("device_ids".into(), ids);
            }
            (None, Some(Json::Array(ids))) => {
                let first = ids
                    .iter()
                    .find(|id| id.as_str().is_some_and(|s| !s.trim().is_empty()))
                    .cloned();
                if let Some(first) = first {
                    f.insert("device_id".into(), first);
                }
            }
            _ => {}
        },
        _ => {}
    }
}

/// Makes the links symmetric: an alert listing an entity is in the entity's `alert_ids`, and
/// an entity listing an alert is in the alert's `entity_ids`. Ids naming nothing are kept.
///
/// Links go by alert id, so alerts sharing one (as two alerts of a Graph file may, and its
/// normalized form keeps both) are one to them: the entity names the id once, and an entity
/// naming it that none of them lists is added to the first. Each alert keeps its own list, so
/// normalized data, Graph's included, is left as it is.
fn link(alerts: &mut [Alert], entities: &mut [Entity]) {
    // The first alert of each id.
    let alert_at: HashMap<String, usize> = alerts
        .iter()
        .enumerate()
        .rev()
        .map(|(i, a)| (a.id.clone(), i))
        .collect();
    let entity_at: HashMap<String, usize> = entities
        .iter()
        .enumerate()
        .map(|(i, e)| (e.id.clone(), i))
        .collect();
    let first_of = |alert: &Alert| alert_at.get(alert.id.as_str()).copied();
    // Each id once, shared by every link added to it, as imports share them (copied into each,
    // a long id linked from many alerts would take their product).
    let alert_link: Vec<LinkId> = alerts.iter().map(|a| LinkId::new(&a.id)).collect();
    let entity_link: Vec<LinkId> = entities.iter().map(|e| LinkId::new(&e.id)).collect();
    // (first alert of an id, entity) pairs: an alert of that id lists the entity, or the
    // entity names that id.
    let mut has_entity: HashSet<(usize, usize)> = HashSet::new();
    let mut has_alert: HashSet<(usize, usize)> = HashSet::new();
    for alert in alerts.iter() {
        let Some(a) = first_of(alert) else { continue };
        for id in &alert.entity_ids {
            if let Some(&e) = entity_at.get(id.as_str()) {
                has_entity.insert((a, e));
            }
        }
    }
    for (e, entity) in entities.iter().enumerate() {
        for id in &entity.alert_ids {
            if let Some(&a) = alert_at.get(id.as_str()) {
                has_alert.insert((a, e));
            }
        }
    }
    // In list order, so the result does not depend on hashing.
    for alert in alerts.iter() {
        let Some(a) = first_of(alert) else { continue };
        for id in &alert.entity_ids {
            if let Some(&e) = entity_at.get(id.as_str()) {
                if has_alert.insert((a, e)) {
                    if let (Some(entity), Some(link)) = (entities.get_mut(e), alert_link.get(a)) {
                        entity.alert_ids.push(link.clone());
                    }
                }
            }
        }
    }
    for (e, entity) in entities.iter().enumerate() {
        for id in &entity.alert_ids {
            if let Some(&a) = alert_at.get(id.as_str()) {
                if has_entity.insert((a, e)) {
                    if let (Some(alert), Some(link)) = (alerts.get_mut(a), entity_link.get(e)) {
                        alert.entity_ids.push(link.clone());
                    }
                }
            }
        }
    }
}
