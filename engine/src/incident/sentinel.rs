//! Microsoft Sentinel incidents (Azure REST `Microsoft.SecurityInsights/incidents`), as Riposte
//! reads them: the incident resource with the results of its two follow-up calls in the same
//! object, `alerts` (`POST …/incidents/{id}/alerts`) and `entities`
//! (`POST …/incidents/{id}/entities`); or the incident as an automation rule hands it to a
//! playbook, with `properties.alerts` and `properties.relatedEntities`.
//!
//! Neither shape says which alert carried which entity (the API's alerts list no entities, its
//! entities no alerts), so every entity belongs to every alert.

use std::collections::{HashMap, HashSet};

use riposte_dsl::model::{
    ALERT_STATUSES, CLASSIFICATIONS, DELIVERY_ACTIONS, DELIVERY_LOCATIONS, EMAIL_DIRECTIONS,
    INCIDENT_STATUSES, RISK_SCORES,
};
use riposte_dsl::types::EntityKind;
use serde_json::{Number, Value as Json};

use super::entities::{EntitySet, NewEntity};
use super::graph::{
    AV_STATUSES, CATEGORIES, CLASSIFICATION_ALIASES, HEALTH_STATUSES, NEWER_DELIVERY_ACTIONS,
    NEWER_DELIVERY_LOCATIONS, ONBOARDING_STATUSES, SERVICE_SOURCES, SEVERITIES,
};
use super::json::{
    clip, dedup, describe, first_str, get, last_segment, norm_enum, object, opt_array, opt_enum,
    opt_number, opt_object, opt_str, opt_time, snake, str_list, url_domain, Cx, Obj, Object, Path,
};
use super::{Alert, ImportError, Incident, Limit};

type Result<T> = std::result::Result<T, ImportError>;

fn unknown() -> String {
    "unknown".to_string()
}

pub(super) fn incident(cx: &Cx, v: &Json, path: &Path) -> Result<Incident> {
    let m = object(cx, v, path)?;
    let pp = m.at(path, "properties");
    let props = match get(m, "properties") {
        Some(p) => object(cx, p, &pp)?,
        None => return Err(cx.invalid(&pp, "the incident has no `properties` object")),
    };
    let resource_id = opt_str(cx, m, "id", path)?;
    let id = match opt_str(cx, m, "name", path)? {
        Some(name) => name,
        None => match resource_id.as_deref().and_then(last_segment) {
            Some(seg) => seg,
            None => opt_str(cx, props, "incidentNumber", &pp)?.ok_or_else(|| {
                cx.invalid(&path.key("name"), "the incident has no `name` or `id`")
            })?,
        },
    };
    let assigned_to = match opt_object(cx, props, "owner", &pp)? {
        Some(o) => first_str(
            cx,
            o,
            &["userPrincipalName", "email", "assignedTo"],
            &props.at(&pp, "owner"),
        )?,
        None => None,
    };
    let tags = labels(cx, props, &pp)?;

    // The alerts and entities the follow-up calls answer, beside the resource; else those an
    // automation rule's payload holds in its properties.
    let beside = |key: &str, prop: &str| get(m, key).is_some() || get(props, prop).is_none();
    let (alerts_in, alerts_key, alerts_base) = match beside("alerts", "alerts") {
        true => (m, "alerts", path),
        false => (props, "alerts", &pp),
    };
    let (entities_in, entities_key, entities_base) = match beside("entities", "relatedEntities") {
        true => (m, "entities", path),
        false => (props, "relatedEntities", &pp),
    };
    // The incident resource alone, as `GET …/incidents/{id}` returns it, lacks them; an empty
    // list was fetched and is empty.
    let alerts_not_fetched =
        get(alerts_in, alerts_key).is_none() || get(entities_in, entities_key).is_none();
    let alerts_at = alerts_in.at(alerts_base, alerts_key);
    let alerts_value = alerts_at.key(inner_name(alerts_in, alerts_key, "value"));
    let (alerts_json, nested) = listing(cx, alerts_in, alerts_key, "alerts", "value", alerts_base)?;
    let alerts_path = if nested { &alerts_value } else { &alerts_at };
    cx.check_len(alerts_path, Limit::Alerts, alerts_json.len())?;
    let mut set = EntitySet::default();
    let mut alerts = Vec::with_capacity(alerts_json.len());
    for (i, a) in alerts_json.iter().enumerate() {
        let alert = alert(cx, a, &alerts_path.index(i))?;
        set.alert(&alert.id);
        alerts.push(alert);
    }

    let entities_at = entities_in.at(entities_base, entities_key);
    let entities_inner = entities_at.key(inner_name(entities_in, entities_key, "entities"));
    let (entities_json, nested) = listing(
        cx,
        entities_in,
        entities_key,
        "entities",
        "entities",
        entities_base,
    )?;
    let entities_path = if nested {
        &entities_inner
    } else {
        &entities_at
    };
    cx.check_len(entities_path, Limit::Entities, entities_json.len())?;
    let raws = raw_entities(cx, entities_json, entities_path)?;
    let mut by_ref: HashMap<String, usize> = HashMap::new();
    for (i, raw) in raws.iter().enumerate() {
        for k in &raw.refs {
            by_ref.entry(k.clone()).or_insert(i);
        }
    }
    // What each entity gives those referring to it, read once (see [`Given`]).
    let given: Vec<Given> = raws.iter().map(Given::of).collect();
    // A `FileHash` a `File` lists is part of that file, which carries its hash; it is no
    // entity of its own (listed before the file, it would make a second one).
    // Each file's hashes are read here, once: the processes it is the image of take them from
    // here, and following its list again for each would cost processes × list length.
    let mut part_of: Vec<Option<usize>> = vec![None; raws.len()];
    let mut file_hashes: Vec<Hashes> = vec![Vec::new(); raws.len()];
    for (f, raw) in raws.iter().enumerate().filter(|(_, r)| r.kind == "file") {
        let mut seen = HashSet::new();
        let mut hashes = Hashes::new();
        // From the last: the last hash of each type is the file's, as listed.
        for id in hash_entity_ids(raw.props).rev() {
            let Some(h) =
                lookup(&by_ref, id).filter(|&h| raws.get(h).is_some_and(|r| r.kind == "filehash"))
            else {
                continue;
            };
            if !seen.insert(h) {
                continue;
            }
            if let Some(slot) = part_of.get_mut(h) {
                slot.get_or_insert(f);
            }
            if let Some(Given::Hash(Some((field, value)))) = given.get(h) {
                if !hashes.iter().any(|(known, _)| known == field) {
                    hashes.push((field, value.clone()));
                }
            }
        }
        hashes.reverse();
        if let Some(slot) = file_hashes.get_mut(f) {
            *slot = hashes;
        }
    }
    // Every alert carries every entity: a product of two counts, so it is bounded before it
    // is built.
    let own_entities = part_of.iter().filter(|part| part.is_none()).count();
    let links = alerts.len().saturating_mul(own_entities);
    if links > MAX_LINKS {
        return Err(cx.invalid(
            entities_path,
            format!(
                "{} alerts and {own_entities} entities: Sentinel does not say which alert \
                 carried which entity, so each alert carries each entity, {links} links, more \
                 than the limit of {MAX_LINKS} per incident; split the incident, or convert it \
                 to Riposte's normalized format, where each entity lists its alerts \
                 (docs/incident-format.md)",
                alerts.len()
            ),
        ));
    }
    let every_alert: Vec<usize> = (0..alerts.len()).collect();
    let resolve = Resolver {
        raws: &raws,
        by_ref: &by_ref,
        given: &given,
        file_hashes: &file_hashes,
    };
    for (position, (raw, part)) in raws.iter().zip(&part_of).enumerate() {
        if part.is_some() {
            continue;
        }
        let ep = entities_path.index(raw.index);
        let props_path = match raw.value {
            Json::Object(m) => m.at(&ep, "properties"),
            _ => ep.key("properties"),
        };
        let pp = if raw.wrapped { &props_path } else { &ep };
        match entity(cx, raw, position, pp, &resolve)? {
            Some(e) => {
                set.add(e, &every_alert);
                cx.check_len(entities_path, Limit::Entities, set.len())?;
            }
            None => {
                set.other.push(raw.value.clone());
                cx.check_len(entities_path, Limit::OtherEvidence, set.other.len())?;
            }
        }
    }
    let built = set.finish();
    for (a, ids) in alerts.iter_mut().zip(built.alert_entities) {
        a.entity_ids = ids;
    }
    // The portal's number: digits, and only where it is not the id already.
    let number = opt_str(cx, props, "incidentNumber", &pp)?
        .map(|n| n.trim().to_string())
        .filter(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()) && *n != id);
    Ok(Incident {
        id,
        number,
        source: "sentinel".into(),
        workspace: resource_id.as_deref().and_then(workspace_name),
        title: opt_str(cx, props, "title", &pp)?.unwrap_or_default(),
        description: opt_str(cx, props, "description", &pp)?,
        severity: opt_enum(cx, props, "severity", &pp, SEVERITIES, &[])?.unwrap_or_else(unknown),
        status: opt_enum(cx, props, "status", &pp, INCIDENT_STATUSES, &[])?.unwrap_or_else(unknown),
        // Sentinel has no merged incidents.
        redirected_to: None,
        classification: opt_enum(
            cx,
            props,
            "classification",
            &pp,
            CLASSIFICATIONS,
            CLASSIFICATION_ALIASES,
        )?
        .unwrap_or_else(unknown),
        determination: opt_enum(cx, props, "classificationReason", &pp, REASONS, &[])?,
        assigned_to,
        web_url: opt_str(cx, props, "incidentUrl", &pp)?,
        created: opt_time(cx, props, "createdTimeUtc", &pp)?,
        updated: opt_time(cx, props, "lastModifiedTimeUtc", &pp)?,
        tags,
        alerts,
        entities: built.entities,
        other_evidence: built.other,
        alerts_not_fetched,
    })
}

/// Sentinel's classification reasons (`classificationReason`).
const REASONS: &[&str] = &[
    "suspicious_activity",
    "suspicious_but_expected",
    "incorrect_alert_logic",
    "inaccurate_data",
];

/// The most alert–entity links one Sentinel incident may have (each alert carries each
/// entity): 1,000 alerts and 5,000 entities, within the other limits, would make 5,000,000
/// (about 600 MB); a million (1,000 alerts and 1,000 entities, about 140 MB) leaves room for
/// large real incidents.
const MAX_LINKS: usize = 1_000_000;

/// A list of `what` given directly (`"alerts": […]`) or as the API returns it (`"alerts":
/// {"value": […]}`, `"entities": {"entities": […], "metaData": […]}`); whether it was nested.
fn listing<'v>(
    cx: &Cx,
    m: &'v Object,
    key: &str,
    what: &str,
    inner: &str,
    path: &Path,
) -> Result<(&'v [Json], bool)> {
    match get(m, key) {
        None => Ok((&[], false)),
        Some(Json::Array(items)) => Ok((items, false)),
        Some(Json::Object(o)) => match get(o, inner) {
            // Null is absent, as everywhere: `{"entities": null}` lists nothing.
            None if o.is_empty() || o.keys().any(|k| k.eq_ignore_ascii_case(inner)) => {
                Ok((&[], true))
            }
            None => Err(cx.invalid(
                &m.at(path, key),
                format!(
                    "expected a list of {what}, or an object whose `{inner}` is the list; found \
                     an object with {}",
                    o.keys()
                        .take(5)
                        .map(|k| format!("`{}`", clip(k, 40)))
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            )),
            Some(Json::Array(items)) => Ok((items, true)),
            Some(other) => Err(cx.invalid(
                &m.at(path, key).key(o.written(inner)),
                format!("expected a list of {what}, found {}", describe(other)),
            )),
        },
        Some(other) => Err(cx.invalid(
            &m.at(path, key),
            format!("expected a list of {what}, found {}", describe(other)),
        )),
    }
}

/// The name the list inside member `key` of `m` is written with (`value` in `"alerts": {"value":
/// […]}`), for the JSON paths of errors.
fn inner_name<'m>(m: &'m Object, key: &str, inner: &'m str) -> &'m str {
    match get(m, key) {
        Some(Json::Object(o)) => o.written(inner),
        _ => inner,
    }
}

/// `labels`: `{labelName}` objects or plain text (one label alone too, as any list of text).
fn labels(cx: &Cx, props: &Object, pp: &Path) -> Result<Vec<String>> {
    if let Some(Json::String(_)) = get(props, "labels") {
        return str_list(cx, props, "labels", pp);
    }
    let Some(items) = opt_array(cx, props, "labels", pp)? else {
        return Ok(Vec::new());
    };
    let here = props.at(pp, "labels");
    let mut out = Vec::with_capacity(items.len());
    for (i, item) in items.iter().enumerate() {
        match item {
            Json::Null => {}
            Json::String(s) if s.trim().is_empty() => {}
            Json::String(s) => out.push(s.clone()),
            Json::Object(l) => out.extend(opt_str(cx, l, "labelName", &here.index(i))?),
            other => {
                return Err(cx.invalid(
                    &here.index(i),
                    format!("expected a label, found {}", describe(other)),
                ))
            }
        }
    }
    Ok(dedup(out))
}

/// The workspace name in a resource id (`…/workspaces/<name>/providers/…`).
fn workspace_name(id: &str) -> Option<String> {
    const MARK: &str = "/workspaces/";
    let at = id.to_ascii_lowercase().find(MARK)? + MARK.len();
    id.get(at..)?
        .split('/')
        .next()
        .filter(|s| !s.is_empty())
        .map(str::to_string)
}

/// Every spelling that may refer to a resource: its id, name and the id's last segment,
/// lowercase.
fn refs_of(cx: &Cx, m: &Object, path: &Path) -> Result<Vec<String>> {
    let mut out = Vec::new();
    if let Some(id) = opt_str(cx, m, "id", path)? {
        out.extend(last_segment(&id).map(|s| s.to_lowercase()));
        out.push(id.to_lowercase());
    }
    if let Some(name) = opt_str(cx, m, "name", path)? {
        out.push(name.to_lowercase());
    }
    Ok(dedup(out))
}

/// Looks a reference up by its full spelling, then by its last segment.
fn lookup(by_ref: &HashMap<String, usize>, r: &str) -> Option<usize> {
    let r = r.to_lowercase();
    by_ref
        .get(&r)
        .copied()
        .or_else(|| last_segment(&r).and_then(|seg| by_ref.get(&seg).copied()))
}

fn alert(cx: &Cx, v: &Json, path: &Path) -> Result<Alert> {
    let am = object(cx, v, path)?;
    let props_path = am.at(path, "properties");
    let (p, pp): (&Object, &Path) = match get(am, "properties") {
        Some(pv) => (object(cx, pv, &props_path)?, &props_path),
        None => (am, path),
    };
    let id = match opt_str(cx, p, "systemAlertId", pp)? {
        Some(id) => id,
        None => match opt_str(cx, am, "name", path)? {
            Some(name) => name,
            None => opt_str(cx, am, "id", path)?
                .as_deref()
                .and_then(last_segment)
                .ok_or_else(|| {
                    cx.invalid(
                        &pp.key("systemAlertId"),
                        "the alert has no `systemAlertId`, `name` or `id`",
                    )
                })?,
        },
    };
    let tactics = str_list(cx, p, "tactics", pp)?;
    let mut techniques = str_list(cx, p, "techniques", pp)?;
    techniques.extend(str_list(cx, p, "subTechniques", pp)?);
    Ok(Alert {
        id,
        title: first_str(cx, p, &["alertDisplayName", "displayName", "title"], pp)?
            .unwrap_or_default(),
        description: opt_str(cx, p, "description", pp)?,
        category: tactics.first().and_then(|t| norm_enum(t, CATEGORIES, &[])),
        severity: opt_enum(cx, p, "severity", pp, SEVERITIES, &[])?.unwrap_or_else(unknown),
        status: opt_enum(cx, p, "status", pp, ALERT_STATUSES, &[])?.unwrap_or_else(unknown),
        service_source: opt_str(cx, p, "productName", pp)?.map(|n| product_source(&n)),
        detection_source: opt_enum(cx, p, "productComponentName", pp, &[], &[])?,
        threat_family: None,
        mitre_techniques: dedup(
            techniques
                .into_iter()
                .map(|t| t.trim().to_string())
                .collect(),
        ),
        created: opt_time(cx, p, "timeGenerated", pp)?,
        first_activity: opt_time(cx, p, "startTimeUtc", pp)?,
        last_activity: opt_time(cx, p, "endTimeUtc", pp)?,
        entity_ids: Vec::new(),
    })
}

/// A Sentinel product name as the Graph `serviceSource` it corresponds to, else `snake_case`.
fn product_source(name: &str) -> String {
    // Sentinel's product names, squashed: matched as enumerations are, ignoring case and
    // separators (`AzureSentinel`); a name that is a Graph service source already is that
    // source.
    const PRODUCTS: &[(&str, &str)] = &[
        (
            "microsoftdefenderadvancedthreatprotection",
            "microsoft_defender_for_endpoint",
        ),
        (
            "microsoftdefenderforendpoint",
            "microsoft_defender_for_endpoint",
        ),
        (
            "office365advancedthreatprotection",
            "microsoft_defender_for_office365",
        ),
        (
            "microsoftdefenderforoffice365",
            "microsoft_defender_for_office365",
        ),
        (
            "azureadvancedthreatprotection",
            "microsoft_defender_for_identity",
        ),
        (
            "microsoftdefenderforidentity",
            "microsoft_defender_for_identity",
        ),
        (
            "microsoftcloudappsecurity",
            "microsoft_defender_for_cloud_apps",
        ),
        (
            "microsoftdefenderforcloudapps",
            "microsoft_defender_for_cloud_apps",
        ),
        (
            "azureactivedirectoryidentityprotection",
            "azure_ad_identity_protection",
        ),
        ("microsoftentraidprotection", "azure_ad_identity_protection"),
        ("azuresecuritycenter", "microsoft_defender_for_cloud"),
        ("microsoftdefenderforcloud", "microsoft_defender_for_cloud"),
        ("azuresentinel", "microsoft_sentinel"),
        ("microsoftsentinel", "microsoft_sentinel"),
        ("microsoft365defender", "microsoft365_defender"),
        ("microsoftdefenderxdr", "microsoft365_defender"),
        ("microsoftdatalossprevention", "data_loss_prevention"),
        // Written `IoT`, whose capitals `snake_case` would split.
        ("microsoftdefenderforiot", "microsoft_defender_for_iot"),
        ("azuresecuritycenterforiot", "microsoft_defender_for_iot"),
    ];
    norm_enum(name, SERVICE_SOURCES, PRODUCTS).unwrap_or_else(|| snake(name))
}

/// One entity as listed, before conversion.
struct Raw<'v> {
    /// Its position in the list.
    index: usize,
    value: &'v Json,
    /// Whether its fields sit in `properties` (the REST shape) rather than at the top.
    wrapped: bool,
    props: &'v Object,
    /// `kind`, squashed: `account`, `host`, `filehash`, `mailmessage`, …
    kind: String,
    refs: Vec<String>,
    /// What names the entity when nothing identifies it: its `name`, else the last segment
    /// of its `id`.
    fallback: Option<String>,
}

fn raw_entities<'v>(cx: &Cx, items: &'v [Json], path: &Path) -> Result<Vec<Raw<'v>>> {
    let mut out = Vec::with_capacity(items.len());
    for (index, value) in items.iter().enumerate() {
        let ep = path.index(index);
        let m = match value {
            Json::Null => continue,
            Json::Object(m) => m,
            other => {
                return Err(cx.invalid(
                    &ep,
                    format!("expected an entity object, found {}", describe(other)),
                ))
            }
        };
        let props_path = m.at(&ep, "properties");
        let (props, wrapped) = match get(m, "properties") {
            Some(p) => (object(cx, p, &props_path)?, true),
            None => (m, false),
        };
        let pp = if wrapped { &props_path } else { &ep };
        let kind = match opt_str(cx, m, "kind", &ep)? {
            Some(k) => Some(k),
            None => first_str(cx, props, &["kind", "type"], pp)?,
        };
        let kind: String = kind
            .unwrap_or_default()
            .chars()
            .filter(|c| c.is_alphanumeric())
            .flat_map(char::to_lowercase)
            .collect();
        let fallback = match opt_str(cx, m, "name", &ep)? {
            Some(name) => Some(name),
            None => opt_str(cx, m, "id", &ep)?.as_deref().and_then(last_segment),
        };
        out.push(Raw {
            index,
            value,
            wrapped,
            props,
            kind,
            refs: refs_of(cx, m, &ep)?,
            fallback,
        });
    }
    Ok(out)
}

/// A file's hashes as `(field, value)`, one of each type at most.
type Hashes = Vec<(&'static str, String)>;

/// What an entity gives the entities referring to it, read from it once, before any
/// reference is followed: many entities may refer to one (thousands of processes to one host),
/// and reading it again for each would cost their number times its size (a member missing
/// under its exact name is looked for among all of the entity's members, ignoring case).
enum Given {
    /// A `Host`'s device id ([`host_id`]), an `Account`'s UPN or `DOMAIN\account`
    /// ([`account_text`]), a `File`'s name: what references copy, short enough to copy.
    Text(Option<String>),
    /// A `Process`'s id.
    ProcessId(Option<Number>),
    /// A `FileHash`'s hash, as `(field, value)`.
    Hash(Option<(&'static str, String)>),
    /// Nothing: no reference names an entity of its kind.
    Nothing,
}

impl Given {
    fn of(raw: &Raw) -> Given {
        match raw.kind.as_str() {
            "host" => Given::Text(host_id(raw)),
            "account" => Given::Text(account_text(raw)),
            "file" => Given::Text(referable(text(raw.props, "fileName"))),
            "process" => Given::ProcessId(get(raw.props, "processId").and_then(process_id)),
            "filehash" => Given::Hash(file_hash(raw.props)),
            _ => Given::Nothing,
        }
    }
}

/// Finds the entities other entities refer to (`hostEntityId`, `imageFileEntityId`, …).
struct Resolver<'a, 'v> {
    raws: &'a [Raw<'v>],
    by_ref: &'a HashMap<String, usize>,
    /// Per entity (by position in `raws`), what it gives those referring to it.
    given: &'a [Given],
    /// Per entity (by position in `raws`), the hashes of a `File`, read once.
    file_hashes: &'a [Hashes],
}

impl Resolver<'_, '_> {
    /// The position of the entity a reference field of `m` names, if it has the kind `kind`.
    fn position(&self, m: &Object, key: &str, kind: &str) -> Option<usize> {
        let r = text(m, key)?;
        lookup(self.by_ref, &r).filter(|&i| self.raws.get(i).is_some_and(|raw| raw.kind == kind))
    }

    /// The text the entity at `position` gives ([`Given::Text`]).
    fn text_at(&self, position: usize) -> Option<String> {
        match self.given.get(position)? {
            Given::Text(text) => text.clone(),
            _ => None,
        }
    }

    /// The text of the entity of kind `kind` a reference field of `m` names: a host's device
    /// id, an account's UPN, a file's name.
    fn text(&self, m: &Object, key: &str, kind: &str) -> Option<String> {
        self.text_at(self.position(m, key, kind)?)
    }

    /// The id of the process a reference field of `m` names.
    fn process_id(&self, m: &Object, key: &str) -> Option<Number> {
        match self.given.get(self.position(m, key, "process")?)? {
            Given::ProcessId(pid) => pid.clone(),
            _ => None,
        }
    }

    /// The hashes of the `File` at `position`.
    fn hashes(&self, position: usize) -> &[(&'static str, String)] {
        self.file_hashes.get(position).map_or(&[], Vec::as_slice)
    }
}

/// Lenient text: what cross-references and `additionalData` hold is read when it is text or a
/// number and ignored otherwise.
fn text(m: &Object, key: &str) -> Option<String> {
    match get(m, key)? {
        Json::String(s) if !s.trim().is_empty() => Some(s.clone()),
        Json::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

/// The first text among `keys` in the object itself, then in its `additionalData`.
fn text_or_additional(m: &Object, keys: &[&str]) -> Option<String> {
    let extra = match get(m, "additionalData") {
        Some(Json::Object(a)) => Some(a),
        _ => None,
    };
    keys.iter()
        .find_map(|k| text(m, k))
        .or_else(|| extra.and_then(|a| keys.iter().find_map(|k| text(a, k))))
}

/// Whether `key` is true in the object itself or its `additionalData`: `true`, or text that
/// says so in any case (.NET writes `"True"`).
fn flag(m: &Object, key: &str) -> bool {
    let holds = |o: &Object| match get(o, key) {
        Some(Json::Bool(b)) => *b,
        Some(Json::String(s)) => s.trim().eq_ignore_ascii_case("true"),
        _ => false,
    };
    holds(m) || matches!(get(m, "additionalData"), Some(Json::Object(a)) if holds(a))
}

/// The hash field a `FileHash` entity fills: by `algorithm`, or by the hash's length when the
/// algorithm is missing or `Unknown`. Other algorithms (`SHA256AC`, the Authenticode hash) fill
/// none.
fn hash_field(algorithm: Option<&str>, value: &str) -> Option<&'static str> {
    let name = algorithm.map(|a| a.to_ascii_lowercase().replace(['-', '_'], ""));
    match name.as_deref() {
        Some("sha256") => Some("sha256"),
        Some("sha1") => Some("sha1"),
        Some("md5") => Some("md5"),
        None | Some("unknown" | "") => match value.trim().len() {
            64 => Some("sha256"),
            40 => Some("sha1"),
            32 => Some("md5"),
            _ => None,
        },
        Some(_) => None,
    }
}

/// The references of a `File`'s `fileHashEntityIds`.
fn hash_entity_ids(m: &Object) -> impl DoubleEndedIterator<Item = &str> {
    let (list, one): (&[Json], Option<&str>) = match get(m, "fileHashEntityIds") {
        Some(Json::Array(items)) => (items, None),
        Some(Json::String(s)) => (&[], Some(s)),
        _ => (&[], None),
    };
    list.iter().filter_map(Json::as_str).chain(one)
}

/// The longest text copied from an entity into those referring to it (a host's name into each
/// process on it): longer, the reference is left out. Many entities may name one, so copies of
/// a long text would multiply it; no identifier copied this way is this long.
const MAX_REFERENCED_TEXT: usize = 1024;

/// `text` when it is short enough to copy into a referring entity.
fn referable(text: Option<String>) -> Option<String> {
    text.filter(|t| t.len() <= MAX_REFERENCED_TEXT)
}

/// The longest hash: SHA-512 in hex. A longer value is no hash, and hashes are copied into the
/// processes whose image the file is.
const MAX_HASH_LEN: usize = 128;

/// The hash a `FileHash` entity's properties hold, as `(field, value)`.
fn file_hash(props: &Object) -> Option<(&'static str, String)> {
    let value = text(props, "hashValue").filter(|v| v.trim().len() <= MAX_HASH_LEN)?;
    let field = hash_field(text(props, "algorithm").as_deref(), &value)?;
    Some((field, value.trim().to_ascii_lowercase()))
}

/// A process id as Sentinel writes it: a number, or text (its type in the REST API), decimal
/// or hex as Windows events write it (`0x1a4c`). Other text is no id the model's number can
/// hold: it is left out rather than failing the incident.
fn process_id(v: &Json) -> Option<Number> {
    match v {
        Json::Number(n) => Some(n.clone()),
        Json::String(s) => {
            let s = s.trim();
            match s.strip_prefix("0x").or_else(|| s.strip_prefix("0X")) {
                // `from_str_radix` would take a sign too; a process id has none.
                Some(hex) if hex.bytes().all(|b| b.is_ascii_hexdigit()) => {
                    u64::from_str_radix(hex, 16).ok()
                }
                Some(_) => None,
                None if s.bytes().all(|b| b.is_ascii_digit()) => s.parse::<u64>().ok(),
                None => None,
            }
            .map(Number::from)
        }
        _ => None,
    }
}

/// A host's best id for `device_id` fields: its MDE id, else its host name.
fn host_id(raw: &Raw) -> Option<String> {
    let p = raw.props;
    let host_name = || {
        let host = text_or_additional(p, &["hostName"]);
        host_name(p, host, text_or_additional(p, &["dnsDomain"]))
    };
    referable(text_or_additional(p, &["mdatpDeviceId"]).or_else(host_name))
}

/// The host name of a host entity `p`, as its device's `hostname` is: `hostName.dnsDomain`
/// (`host` and `domain`, as read), else `hostName`, `FQDN` or `netBiosName`. What a process or
/// file on the host names it by, so that it names that device.
fn host_name(p: &Object, host: Option<String>, domain: Option<String>) -> Option<String> {
    match (host, domain) {
        (Some(h), Some(d)) if !h.contains('.') => Some(format!("{h}.{d}")),
        (Some(h), _) => Some(h),
        (None, _) => {
            text_or_additional(p, &["fqdn"]).or_else(|| text_or_additional(p, &["netBiosName"]))
        }
    }
}

/// The UPN an account's name and UPN suffix make: `accountName@upnSuffix`, or the name alone
/// where it is a UPN already (`kim@contoso.com`, whose suffix is in it), with a suffix or not.
fn upn_of(account: Option<&str>, suffix: Option<&str>) -> Option<String> {
    match (account, suffix) {
        (Some(a), _) if a.contains('@') => Some(a.to_string()),
        (Some(a), Some(s)) => Some(format!("{a}@{s}")),
        _ => None,
    }
}

/// An account as `upn`, else `DOMAIN\account`.
fn account_text(raw: &Raw) -> Option<String> {
    let p = raw.props;
    let account = text_or_additional(p, &["userPrincipalName", "upn"])
        .or_else(|| {
            upn_of(
                text(p, "accountName").as_deref(),
                text(p, "upnSuffix").as_deref(),
            )
        })
        .or_else(|| match (text(p, "ntDomain"), text(p, "accountName")) {
            (Some(d), Some(a)) => Some(format!("{d}\\{a}")),
            (None, a) => a,
            _ => None,
        });
    referable(account)
}

/// The entity `raw`, at `position` in the list the resolver holds.
fn entity(
    cx: &Cx,
    raw: &Raw,
    position: usize,
    pp: &Path,
    resolve: &Resolver,
) -> Result<Option<NewEntity>> {
    let kind = match raw.kind.as_str() {
        "account" => EntityKind::User,
        "host" => EntityKind::Device,
        "ip" => EntityKind::Ip,
        "url" => EntityKind::Url,
        "file" | "filehash" => EntityKind::File,
        "process" => EntityKind::Process,
        "mailbox" => EntityKind::Mailbox,
        "mailmessage" => EntityKind::Email,
        "cloudapplication" => EntityKind::CloudApp,
        _ => return Ok(None),
    };
    let p = raw.props;
    let fallback = raw
        .fallback
        .clone()
        .unwrap_or_else(|| format!("entity-{}", raw.index));
    let mut e = NewEntity::new(kind, fallback);
    match kind {
        EntityKind::User => {
            let account = opt_str(cx, p, "accountName", pp)?;
            let suffix = opt_str(cx, p, "upnSuffix", pp)?;
            let upn = text_or_additional(p, &["userPrincipalName", "upn"])
                .or_else(|| upn_of(account.as_deref(), suffix.as_deref()));
            e.put("upn", upn);
            e.put("aad_user_id", opt_str(cx, p, "aadUserId", pp)?);
            e.put("account_name", account);
            e.put("domain", first_str(cx, p, &["ntDomain", "dnsDomain"], pp)?);
            e.put("sid", opt_str(cx, p, "sid", pp)?);
            e.put("display_name", opt_str(cx, p, "displayName", pp)?);
            e.admin = flag(p, "isAdmin");
        }
        EntityKind::Device => {
            let host =
                opt_str(cx, p, "hostName", pp)?.or_else(|| text_or_additional(p, &["hostName"]));
            let domain =
                opt_str(cx, p, "dnsDomain", pp)?.or_else(|| text_or_additional(p, &["dnsDomain"]));
            e.put("hostname", host_name(p, host, domain));
            e.put("mde_device_id", text_or_additional(p, &["mdatpDeviceId"]));
            e.put("aad_device_id", text_or_additional(p, &["aadDeviceId"]));
            let os = opt_str(cx, p, "osFamily", pp)?.map(|o| o.trim().to_lowercase());
            let version = opt_str(cx, p, "osVersion", pp)?.unwrap_or_default();
            let server = os.as_deref().unwrap_or_default().contains("server")
                || version.to_lowercase().contains("server");
            e.put("is_server", Some(server));
            e.put("os_platform", os);
            e.put(
                "risk_score",
                text_or_additional(p, &["riskScore"]).and_then(|r| norm_enum(&r, RISK_SCORES, &[])),
            );
            for (field, key, known) in [
                ("health_status", "healthStatus", HEALTH_STATUSES),
                ("onboarding_status", "onboardingStatus", ONBOARDING_STATUSES),
                ("av_status", "avStatus", AV_STATUSES),
            ] {
                e.put(
                    field,
                    text_or_additional(p, &[key]).and_then(|v| norm_enum(&v, known, &[])),
                );
            }
        }
        EntityKind::Ip => {
            e.put_ip("address", opt_str(cx, p, "address", pp)?.as_deref());
            let country = match get(p, "location") {
                Some(Json::Object(l)) => text(l, "countryCode"),
                _ => None,
            };
            e.put("country", country);
        }
        EntityKind::Url => {
            let url = opt_str(cx, p, "url", pp)?.map(|u| u.trim().to_string());
            e.put("domain", url.as_deref().and_then(url_domain));
            e.put("url", url);
        }
        EntityKind::File if raw.kind == "filehash" => {
            // As a file's hash: a value longer than any hash is none.
            let value = opt_str(cx, p, "hashValue", pp)?.filter(|v| v.trim().len() <= MAX_HASH_LEN);
            let algorithm = opt_str(cx, p, "algorithm", pp)?;
            if let Some(v) = value {
                if let Some(field) = hash_field(algorithm.as_deref(), &v) {
                    e.put(field, Some(v.trim().to_ascii_lowercase()));
                }
            }
        }
        EntityKind::File => {
            // Only `fileName`: a `name` is the resource's, an id (and where the fields sit
            // beside it, `p` is the resource itself).
            e.put("file_name", opt_str(cx, p, "fileName", pp)?);
            e.put("path", opt_str(cx, p, "directory", pp)?);
            for (field, value) in resolve.hashes(position) {
                e.put(field, Some(value.clone()));
            }
            let device = resolve.text(p, "hostEntityId", "host");
            e.put("device_ids", device.clone().map(|d| vec![d]));
            e.put("device_id", device);
        }
        EntityKind::Process => {
            let pid = match get(p, "processId") {
                None => None,
                Some(v @ (Json::Number(_) | Json::String(_))) => process_id(v),
                Some(other) => {
                    return Err(cx.invalid(
                        &p.at(pp, "processId"),
                        format!("expected a process id, found {}", describe(other)),
                    ))
                }
            };
            e.put("process_id", pid);
            e.put("command_line", opt_str(cx, p, "commandLine", pp)?);
            e.put("created", opt_time(cx, p, "creationTimeUtc", pp)?);
            if let Some(at) = resolve.position(p, "imageFileEntityId", "file") {
                e.put("image_file_name", resolve.text_at(at));
                for (field, value) in resolve.hashes(at) {
                    match *field {
                        "sha1" => e.put("image_sha1", Some(value.clone())),
                        "sha256" => e.put("image_sha256", Some(value.clone())),
                        _ => {}
                    }
                }
            }
            e.put("device_id", resolve.text(p, "hostEntityId", "host"));
            e.put("account", resolve.text(p, "accountEntityId", "account"));
            e.put(
                "parent_process_id",
                resolve.process_id(p, "parentProcessEntityId"),
            );
        }
        EntityKind::Mailbox => {
            e.put(
                "primary_address",
                first_str(cx, p, &["mailboxPrimaryAddress", "primaryAddress"], pp)?,
            );
            e.put("upn", opt_str(cx, p, "upn", pp)?);
            e.put("display_name", opt_str(cx, p, "displayName", pp)?);
        }
        EntityKind::Email => {
            e.put(
                "network_message_id",
                opt_str(cx, p, "networkMessageId", pp)?,
            );
            e.put(
                "internet_message_id",
                opt_str(cx, p, "internetMessageId", pp)?,
            );
            e.put("subject", opt_str(cx, p, "subject", pp)?);
            e.put(
                "sender",
                first_str(cx, p, &["p2Sender", "sender", "p1Sender"], pp)?,
            );
            e.put("recipient", opt_str(cx, p, "recipient", pp)?);
            e.put_ip("sender_ip", opt_str(cx, p, "senderIP", pp)?.as_deref());
            e.put(
                "delivery_action",
                opt_enum(
                    cx,
                    p,
                    "deliveryAction",
                    pp,
                    DELIVERY_ACTIONS,
                    NEWER_DELIVERY_ACTIONS,
                )?,
            );
            e.put(
                "delivery_location",
                opt_enum(
                    cx,
                    p,
                    "deliveryLocation",
                    pp,
                    DELIVERY_LOCATIONS,
                    NEWER_DELIVERY_LOCATIONS,
                )?,
            );
            e.put(
                "direction",
                opt_enum(cx, p, "antispamDirection", pp, EMAIL_DIRECTIONS, &[])?,
            );
            let urls = str_list(cx, p, "urls", pp)?;
            e.put("urls", (!urls.is_empty()).then_some(urls));
            let threats = str_list(cx, p, "threats", pp)?;
            e.put("threats", (!threats.is_empty()).then_some(threats));
            e.put(
                "attachments_count",
                opt_array(cx, p, "fileEntityIds", pp)?.map(|ids| ids.len() as u64),
            );
            e.put("received", opt_time(cx, p, "receiveDate", pp)?);
        }
        EntityKind::CloudApp => {
            e.put("app_id", opt_number(cx, p, "appId", pp)?);
            e.put(
                "display_name",
                first_str(cx, p, &["appName", "displayName"], pp)?,
            );
            e.put("instance_name", opt_str(cx, p, "instanceName", pp)?);
        }
    }
    Ok(Some(e.identify(None)))
}
