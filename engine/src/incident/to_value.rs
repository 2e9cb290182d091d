//! [`Incident`] as the `incident` record expressions read (`riposte_dsl::model::incident`).

use std::sync::{Arc, OnceLock};

use riposte_dsl::model;
use riposte_dsl::types::{EntityKind, Type};
use riposte_dsl::value::{parse_time, RecordValue, Value};
use serde_json::Value as Json;

use super::json::parse_ip;
use super::{Alert, Entity, Incident, LinkId};

/// Maps hash with `foldhash` (randomly seeded), as in `entities.rs`: much faster than SipHash
/// on short ids.
type HashMap<K, V> = std::collections::HashMap<K, V, foldhash::fast::RandomState>;

impl Incident {
    /// The `incident` record: every model field filled, missing values null. Times are parsed,
    /// severities become [`Value::Severity`] (null for `unknown`), addresses [`Value::Ip`].
    /// `incident.entities` holds every entity, `incident.devices` (and the other collections)
    /// those of one kind, and `alert.entities` the alert's; they share the same records.
    pub fn to_value(&self) -> Value {
        let entities: Vec<Value> = self.entities.iter().map(Entity::to_value).collect();
        let by_id: HashMap<&str, &Value> = self
            .entities
            .iter()
            .zip(&entities)
            .rev()
            .map(|(e, v)| (e.id.as_str(), v))
            .collect();
        let alerts = list(self.alerts.iter().map(|a| a.to_value(&by_id)));
        let mut pairs: Vec<(&str, Value)> = vec![
            ("id", text(&self.id)),
            ("number", opt_text(&self.number)),
            ("source", text(&self.source)),
            ("workspace", opt_text(&self.workspace)),
            ("title", text(&self.title)),
            ("description", opt_text(&self.description)),
            ("severity", severity(&self.severity)),
            ("status", text(&self.status)),
            ("classification", text(&self.classification)),
            ("determination", opt_text(&self.determination)),
            ("assigned_to", opt_text(&self.assigned_to)),
            ("web_url", opt_text(&self.web_url)),
            ("created", time(&self.created)),
            ("updated", time(&self.updated)),
            ("tags", texts(&self.tags)),
            ("alerts", alerts),
        ];
        for &kind in EntityKind::ALL {
            let of_kind = self
                .entities
                .iter()
                .zip(&entities)
                .filter(|(e, _)| e.kind == kind)
                .map(|(_, v)| v.clone());
            pairs.push((kind.collection(), list(of_kind)));
        }
        pairs.push(("entities", Value::List(Arc::from(entities))));
        Value::record(model::incident(), pairs)
    }
}

impl Alert {
    fn to_value(&self, entities: &HashMap<&str, &Value>) -> Value {
        let mine = self
            .entity_ids
            .iter()
            .filter_map(|id| entities.get(id.as_str()).map(|v| (*v).clone()));
        Value::record(
            model::alert(),
            [
                ("id", text(&self.id)),
                ("title", text(&self.title)),
                ("description", opt_text(&self.description)),
                ("category", opt_text(&self.category)),
                ("status", text(&self.status)),
                ("service_source", opt_text(&self.service_source)),
                ("detection_source", opt_text(&self.detection_source)),
                ("threat_family", opt_text(&self.threat_family)),
                ("severity", severity(&self.severity)),
                ("mitre_techniques", texts(&self.mitre_techniques)),
                ("created", time(&self.created)),
                ("first_activity", time(&self.first_activity)),
                ("last_activity", time(&self.last_activity)),
                ("entities", list(mine)),
            ],
        )
    }
}

impl Entity {
    /// The record of the entity's kind (`device`, `user`, …): the common fields, then each
    /// kind field converted to its model type (null when missing or of the wrong shape).
    pub fn to_value(&self) -> Value {
        let ty = model::entity(self.kind);
        let record = RecordValue::filled(ty.clone(), |slots| {
            let common = [
                text(&self.id),
                text(self.kind.as_str()),
                text(&self.name),
                text(&self.verdict),
                texts(&self.roles),
                texts(&self.tags),
                text(&self.remediation_status),
                link_ids(&self.alert_ids),
                text(&self.provider),
            ];
            // In the order of `model::COMMON_FIELDS`.
            debug_assert!(ty.fields.iter().map(|f| f.name.as_str()).take(9).eq([
                "id",
                "kind",
                "name",
                "verdict",
                "roles",
                "tags",
                "remediation_status",
                "alert_ids",
                "provider"
            ]));
            for (slot, v) in slots.iter_mut().zip(common) {
                *slot = v;
            }
            // The entity's fields and the kind fields of the record, both by name: one pass
            // over the two, rather than a map lookup per record field.
            let mut fields = self.fields.iter().peekable();
            for (name, i) in kind_fields_by_name(self.kind) {
                let (name, i) = (name.as_str(), *i);
                while fields.next_if(|(k, _)| k.as_ref() < name).is_some() {}
                if let Some((_, j)) = fields.next_if(|(k, _)| k.as_ref() == name) {
                    if let (Some(slot), Some(field)) = (slots.get_mut(i), ty.fields.get(i)) {
                        *slot = convert(j, &field.ty);
                    }
                }
            }
        });
        Value::Record(record)
    }
}

/// Field names sorted, with their positions in a record.
type ByName = Vec<(String, usize)>;

/// The kind fields of the record of `kind` (after the common ones), sorted by name, with their
/// positions.
fn kind_fields_by_name(kind: EntityKind) -> &'static [(String, usize)] {
    static TABLES: OnceLock<Vec<(EntityKind, ByName)>> = OnceLock::new();
    let tables = TABLES.get_or_init(|| {
        EntityKind::ALL
            .iter()
            .map(|&k| {
                let mut names: ByName = model::entity(k)
                    .fields
                    .iter()
                    .enumerate()
                    .skip(model::COMMON_FIELDS)
                    .map(|(i, f)| (f.name.clone(), i))
                    .collect();
                names.sort_unstable();
                (k, names)
            })
            .collect()
    });
    tables
        .iter()
        .find(|(k, _)| *k == kind)
        .map_or(&[], |(_, names)| names.as_slice())
}

fn text(s: &str) -> Value {
    Value::from(s)
}

fn opt_text(s: &Option<String>) -> Value {
    s.as_deref().map_or(Value::Null, Value::from)
}

fn texts(items: &[String]) -> Value {
    if items.is_empty() {
        return empty_list();
    }
    Value::list(items.iter().map(|s| Value::from(s.as_str())))
}

/// Linked ids as text values sharing their text with the links ([`LinkId`] is the value's
/// text type).
fn link_ids(items: &[LinkId]) -> Value {
    if items.is_empty() {
        return empty_list();
    }
    Value::list(items.iter().map(|s| Value::String(s.clone())))
}

/// [`Value::list`], with one shared empty list (most lists of a record are empty).
fn list(items: impl IntoIterator<Item = Value>) -> Value {
    let items: Vec<Value> = items.into_iter().collect();
    if items.is_empty() {
        return empty_list();
    }
    Value::from(items)
}

fn empty_list() -> Value {
    static EMPTY: OnceLock<Value> = OnceLock::new();
    EMPTY.get_or_init(|| Value::list([])).clone()
}

fn severity(s: &str) -> Value {
    Value::parse_severity(s).map_or(Value::Null, Value::Severity)
}

fn time(s: &Option<String>) -> Value {
    s.as_deref()
        .and_then(parse_time)
        .map_or(Value::Null, Value::Time)
}

/// A JSON field value as a value of the model type `ty`; null when it does not fit.
fn convert(j: &Json, ty: &Type) -> Value {
    match (ty, j) {
        (_, Json::Null) => Value::Null,
        (Type::String, Json::String(s)) => Value::from(s.as_str()),
        (Type::String, Json::Number(n)) => Value::from(n.to_string()),
        (Type::String, Json::Bool(b)) => Value::from(b.to_string()),
        (Type::Number, Json::Number(n)) => n.as_f64().map_or(Value::Null, Value::Number),
        (Type::Number, Json::String(s)) => s
            .trim()
            .parse::<f64>()
            .ok()
            .filter(|n| n.is_finite())
            .map_or(Value::Null, Value::Number),
        (Type::Bool, Json::Bool(b)) => Value::Bool(*b),
        (Type::Bool, Json::String(s)) if s.eq_ignore_ascii_case("true") => Value::Bool(true),
        (Type::Bool, Json::String(s)) if s.eq_ignore_ascii_case("false") => Value::Bool(false),
        (Type::Time, Json::String(s)) => parse_time(s.trim()).map_or(Value::Null, Value::Time),
        (Type::Ip, Json::String(s)) => parse_ip(s).map_or(Value::Null, Value::Ip),
        (Type::Severity, Json::String(s)) => severity(s.trim()),
        (Type::List(item), Json::Array(items)) => list(
            items
                .iter()
                .map(|i| convert(i, item))
                .filter(|v| !v.is_null()),
        ),
        (Type::Any, j) => any(j),
        _ => Value::Null,
    }
}

/// Whether JSON `j` reads as a value of model type `ty` ([`convert`] gives no null for it):
/// null fits, as absent, and so does blank text (empty text is absent, as everywhere in an
/// import); a list fits when each of its items does.
pub(super) fn fits(j: &Json, ty: &Type) -> bool {
    match (ty, j) {
        (_, Json::Null) | (Type::Any, _) => true,
        (_, Json::String(s)) if s.trim().is_empty() => true,
        (Type::String, Json::String(_) | Json::Number(_) | Json::Bool(_)) => true,
        (Type::Number, Json::Number(n)) => n.as_f64().is_some(),
        (Type::Number, Json::String(s)) => s.trim().parse::<f64>().is_ok_and(f64::is_finite),
        (Type::Bool, Json::Bool(_)) => true,
        (Type::Bool, Json::String(s)) => {
            s.eq_ignore_ascii_case("true") || s.eq_ignore_ascii_case("false")
        }
        (Type::Time, Json::String(s)) => parse_time(s.trim()).is_some(),
        (Type::Ip, Json::String(s)) => parse_ip(s).is_some(),
        (Type::Severity, Json::String(s)) => Value::parse_severity(s.trim()).is_some(),
        (Type::List(item), Json::Array(items)) => items.iter().all(|i| fits(i, item)),
        _ => false,
    }
}

/// What a value of model type `ty` is written as in JSON, for an error about one that is not.
pub(super) fn written_as(ty: &Type) -> String {
    match ty {
        Type::Bool => "`true` or `false`".into(),
        Type::Number => "a number".into(),
        Type::String => "text".into(),
        Type::Time => "an RFC 3339 time such as `2026-03-01T10:00:00Z`".into(),
        Type::Ip => "an IP address".into(),
        Type::Severity => "a severity".into(),
        Type::List(item) => format!("a list, each item {}", written_as(item)),
        other => format!("a value of type `{other}`"),
    }
}

/// JSON as a value without a model type. Depth is bounded by the JSON parser (127 levels).
fn any(j: &Json) -> Value {
    match j {
        Json::Null => Value::Null,
        Json::Bool(b) => Value::Bool(*b),
        Json::Number(n) => n.as_f64().map_or(Value::Null, Value::Number),
        Json::String(s) => Value::from(s.as_str()),
        Json::Array(items) => Value::list(items.iter().map(any)),
        // Records need a record type; objects of unknown shape have none.
        Json::Object(_) => Value::Null,
    }
}
