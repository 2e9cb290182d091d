//! Building an incident's entities from evidence: deduplication across alerts, merging, ids and
//! display names.
//!
//! Every kind has identifiers, strongest first (a device: MDE id, Entra ID device id, host
//! name). Evidence joins an existing entity of its kind that shares one identifier, unless a
//! stronger identifier both have differs (two machines with the same host name but different
//! MDE ids stay two entities). Evidence that identifies two entities this way shows them to be
//! one, and they merge (a union-find forest keeps where each went). Everything is hashed, so a
//! file of N evidence items takes about O(N).

use std::borrow::Cow;

use riposte_dsl::types::EntityKind;
use serde_json::Value as Json;

use super::json::{authority_start, ip_string, parse_ip, trim};
use super::{Entity, Fields, LinkId};

// Sets and maps hash with `foldhash`, several times faster than the standard SipHash on these
// short keys and still seeded per map, so a crafted file cannot make them degrade.
type HashMap<K, V> = std::collections::HashMap<K, V, foldhash::fast::RandomState>;
type HashSet<T> = std::collections::HashSet<T, foldhash::fast::RandomState>;

/// Evidence turned into an entity, before merging.
pub(crate) struct NewEntity {
    pub kind: EntityKind,
    /// The verdict and remediation status, borrowed while they are the defaults or known
    /// values: most are replaced or merged away before the entity is final.
    pub verdict: Cow<'static, str>,
    pub roles: Vec<String>,
    pub tags: Vec<String>,
    pub remediation_status: Cow<'static, str>,
    pub provider: &'static str,
    /// Model fields by model name, each name once. A short list while evidence is read and
    /// merged (a few fields each); the entity's map is built once, by [`EntitySet::finish`].
    pub fields: Vec<(&'static str, Json)>,
    /// Identifiers, strongest first; see [`identity`].
    pub keys: Vec<Option<String>>,
    /// Makes the id when no identifier is known (`<alert id>/<evidence index>`).
    pub fallback_key: String,
    /// Free text (tags, roles, detailed roles) or a flag says the account is an admin.
    pub admin: bool,
    /// Names and identifies an IP entity whose address is no IP address: the text, which the
    /// `address` field cannot hold ([`NewEntity::put_ip`]).
    pub name: Option<String>,
}

impl NewEntity {
    /// An entity of `kind` with the defaults (`unknown` verdict, remediation `none`, from
    /// Microsoft); fill in `fields`, then call [`NewEntity::identify`].
    pub(crate) fn new(kind: EntityKind, fallback_key: String) -> Self {
        NewEntity {
            // Room for the fields of any kind (a device has 14), allocated once.
            fields: Vec::with_capacity(16),
            fallback_key,
            ..NewEntity::empty(kind)
        }
    }

    /// An entity of `kind` with the defaults and nothing allocated.
    fn empty(kind: EntityKind) -> Self {
        NewEntity {
            kind,
            verdict: Cow::Borrowed("unknown"),
            roles: Vec::new(),
            tags: Vec::new(),
            remediation_status: Cow::Borrowed("none"),
            provider: "microsoft",
            fields: Vec::new(),
            keys: Vec::new(),
            fallback_key: String::new(),
            admin: false,
            name: None,
        }
    }

    /// Sets a field when there is a value (replacing an earlier one).
    pub(crate) fn put(&mut self, name: &'static str, value: Option<impl Into<Json>>) {
        if let Some(v) = value {
            set_field(&mut self.fields, name, v.into());
        }
    }

    /// Sets the IP-typed field `name` to the canonical spelling of the address `text` writes.
    /// Other text is not stored: the model's field holds IP addresses, and the normalized
    /// reader refuses anything else, so the import could not be saved and read back. An IP
    /// entity keeps such text as its name and identifier instead.
    pub(crate) fn put_ip(&mut self, name: &'static str, text: Option<&str>) {
        let Some(text) = text else { return };
        match ip_string(text) {
            Some(ip) => set_field(&mut self.fields, name, Json::String(ip)),
            None if self.kind == EntityKind::Ip && name == "address" => {
                let text = trim(text);
                if !text.is_empty() {
                    self.name = Some(text.to_string());
                }
            }
            None => {}
        }
    }

    /// Computes the identifiers from the fields; `extra` completes the cloud app key (its
    /// instance id, which is no model field).
    pub(crate) fn identify(mut self, extra: Option<&str>) -> Self {
        self.keys = identity(self.kind, &self.fields, extra, self.name.as_deref());
        self
    }
}

/// The field `name` of `fields`.
fn field<'f>(fields: &'f [(&'static str, Json)], name: &str) -> Option<&'f Json> {
    fields.iter().find(|(n, _)| *n == name).map(|(_, v)| v)
}

/// Sets the field `name` of `fields` to `value`.
fn set_field(fields: &mut Vec<(&'static str, Json)>, name: &'static str, value: Json) {
    match fields.iter_mut().find(|(n, _)| *n == name) {
        Some((_, old)) => *old = value,
        None => fields.push((name, value)),
    }
}

/// Text of a field for identifiers and names: trimmed text (borrowed) or a number's spelling;
/// `None` for empty text and other values.
fn field_text(v: Option<&Json>) -> Option<Cow<'_, str>> {
    match v {
        Some(Json::String(s)) if !trim(s).is_empty() => Some(Cow::Borrowed(trim(s))),
        Some(Json::Number(n)) => Some(Cow::Owned(n.to_string())),
        _ => None,
    }
}

/// `s` lowercase, copied once; most identifiers are lowercase already, which a scan tells.
fn lowercase(s: &str) -> String {
    if s.bytes().any(|b| b.is_ascii_uppercase() || !b.is_ascii()) {
        s.to_lowercase()
    } else {
        s.to_string()
    }
}

/// `a`, `sep`, `b` as one text.
fn join(a: &str, sep: &str, b: &str) -> String {
    let mut out = String::with_capacity(a.len() + sep.len() + b.len());
    out.push_str(a);
    out.push_str(sep);
    out.push_str(b);
    out
}

/// The identifiers of an entity, strongest first, lowercase where the source is not
/// case-sensitive.
fn identity(
    kind: EntityKind,
    f: &[(&'static str, Json)],
    extra: Option<&str>,
    name: Option<&str>,
) -> Vec<Option<String>> {
    let raw = |k: &str| field_text(field(f, k)).map(Cow::into_owned);
    let lower = |k: &str| field_text(field(f, k)).map(|s| lowercase(&s));
    match kind {
        EntityKind::Device => vec![
            lower("mde_device_id"),
            lower("aad_device_id"),
            lower("hostname"),
        ],
        EntityKind::User => vec![
            lower("aad_user_id"),
            lower("upn"),
            lower("sid"),
            match (lower("domain"), lower("account_name")) {
                (Some(d), Some(a)) => Some(join(&d, "\\", &a)),
                _ => None,
            },
        ],
        EntityKind::Ip => vec![raw("address")
            .map(|a| match ip_string(&a) {
                Some(ip) => ip,
                None => a.to_lowercase(),
            })
            .or_else(|| name.map(str::to_lowercase))],
        EntityKind::Url => vec![raw("url").map(|u| url_key(&u))],
        EntityKind::File => {
            let hashes = [lower("sha256"), lower("sha1"), lower("md5")];
            // The path and name identify a file only when no hash does: two files of one name
            // with hashes of different types could differ (a clean `svchost.exe` and a
            // malicious one), and a file with a hash never joins one without.
            let named = if hashes.iter().all(Option::is_none) {
                match (lower("path"), lower("file_name")) {
                    (Some(p), Some(n)) => Some(join(p.trim_end_matches(['\\', '/']), "\\", &n)),
                    (None, Some(n)) => Some(n),
                    _ => None,
                }
            } else {
                None
            };
            let [sha256, sha1, md5] = hashes;
            vec![sha256, sha1, md5, named]
        }
        // A process id is one process only on one device: without the device, evidence is an
        // entity of its own (two hosts run a `4242` alike).
        EntityKind::Process => vec![raw("process_id").and_then(|pid| {
            let device = lower("device_id")?;
            match raw("created") {
                Some(created) => Some(format!("{device}:{pid}:{created}")),
                // Without its creation time, a process id is reused: on one device over
                // time, and on every device when that is unknown too. The image and command
                // line tell such processes apart; without either, nothing does, and the
                // evidence is an entity of its own.
                None => {
                    let image = lower("image_file_name");
                    let command = raw("command_line");
                    (image.is_some() || command.is_some()).then(|| {
                        format!(
                            "{device}:{pid}::{}:{}",
                            image.unwrap_or_default(),
                            command.unwrap_or_default()
                        )
                    })
                }
            }
        })],
        EntityKind::Mailbox => vec![lower("primary_address"), lower("upn")],
        EntityKind::Email => {
            let recipient = lower("recipient").unwrap_or_default();
            vec![
                lower("network_message_id").map(|n| join(&n, ":", &recipient)),
                lower("internet_message_id").map(|m| join(&m, ":", &recipient)),
            ]
        }
        EntityKind::CloudApp => vec![
            raw("app_id").map(|a| match extra {
                Some(instance) => join(&a, ":", instance),
                None => a,
            }),
            lower("display_name"),
        ],
    }
}

/// A URL as an identifier: scheme and host lowercase (they ignore case), the rest as given
/// (paths and queries may not).
fn url_key(url: &str) -> String {
    // Without a scheme (`Contoso.com/x`), the host is what comes first.
    let host = authority_start(url);
    let rest_at = host
        + url[host..]
            .find(['/', '?', '#'])
            .unwrap_or(url.len() - host);
    let (head, rest) = url.split_at(rest_at);
    let mut key = head.to_ascii_lowercase();
    key.push_str(rest);
    key
}

/// The devices a file entity lists at most: each evidence item adds one, and the list is
/// scanned for each.
const MAX_DEVICE_IDS: usize = 1000;

/// How bad a verdict is: the most severe wins when evidence merges.
fn verdict_rank(v: &str) -> u8 {
    match v {
        "malicious" => 4,
        "suspicious" => 3,
        "no_threats_found" => 1,
        // `unknown` and values the importer does not know.
        _ => 2,
    }
}

struct Building {
    e: NewEntity,
    /// `e.roles` and `e.tags` as sets, once they are too long to scan.
    roles: HashSet<String>,
    tags: HashSet<String>,
    /// Indices of the alerts carrying the entity, in order.
    alerts: Vec<usize>,
}

/// Appends `item` to `list` unless it is there already. Short lists are scanned; a long one
/// is mirrored in `seen` (filled the first time it is needed), so merging stays O(N).
fn push_new(list: &mut Vec<String>, seen: &mut HashSet<String>, item: String) {
    const SCAN: usize = 16;
    if list.len() < SCAN {
        if !list.contains(&item) {
            list.push(item);
        }
        return;
    }
    if seen.is_empty() {
        seen.extend(list.iter().cloned());
    }
    if seen.insert(item.clone()) {
        list.push(item);
    }
}

/// Whether identifiers `a` and `b` (by slot) differ in a slot stronger than `slot`, where both
/// have one.
fn differs(a: &[Option<String>], b: &[Option<String>], slot: usize) -> bool {
    a.iter()
        .zip(b)
        .take(slot)
        .any(|pair| matches!(pair, (Some(a), Some(b)) if a != b))
}

/// What an identifier shared by several entities finds in the [`Index`].
const AMBIGUOUS: usize = usize::MAX;

/// `(kind, identifier slot)` → identifier → entity index (or [`AMBIGUOUS`]). A list, not a
/// map: there are a few dozen slots at most, and finding one among them is quicker than
/// hashing.
#[derive(Default)]
struct Index(Vec<((EntityKind, usize), HashMap<String, usize>)>);

impl Index {
    fn slot(&self, kind: EntityKind, slot: usize) -> Option<&HashMap<String, usize>> {
        self.0
            .iter()
            .find(|(at, _)| *at == (kind, slot))
            .map(|(_, map)| map)
    }

    fn slot_mut(&mut self, kind: EntityKind, slot: usize) -> &mut HashMap<String, usize> {
        let i = match self.0.iter().position(|(at, _)| *at == (kind, slot)) {
            Some(i) => i,
            None => {
                self.0.push(((kind, slot), HashMap::default()));
                self.0.len() - 1
            }
        };
        // `i` is in bounds: found by `position`, or the slot just pushed.
        &mut self.0[i].1
    }
}

/// The entities of one incident being built.
#[derive(Default)]
pub(crate) struct EntitySet {
    building: Vec<Building>,
    /// Per entity, the entity it was merged into when later evidence showed the two to be one,
    /// else itself: a union-find forest in which every entity points to an earlier one.
    parent: Vec<usize>,
    /// How many entities were merged into others.
    merged: usize,
    index: Index,
    /// Alert ids and, per alert, its entities in order.
    alerts: Vec<(String, Vec<usize>)>,
    /// `(entity, alert)` pairs already linked.
    linked: HashSet<(usize, usize)>,
    /// Evidence the model has no kind for.
    pub(crate) other: Vec<Json>,
}

/// What [`EntitySet::finish`] returns.
pub(crate) struct Built {
    pub entities: Vec<Entity>,
    /// Per alert (in [`EntitySet::alert`] order), the ids of its entities.
    pub alert_entities: Vec<Vec<LinkId>>,
    pub other: Vec<Json>,
}

impl EntitySet {
    /// Registers an alert; entities are linked to it by the returned index.
    pub(crate) fn alert(&mut self, id: &str) -> usize {
        self.alerts.push((id.to_string(), Vec::new()));
        self.alerts.len() - 1
    }

    /// The entities so far.
    pub(crate) fn len(&self) -> usize {
        self.building.len() - self.merged
    }

    /// Adds evidence carried by `alerts`, merging it into the entity it identifies. Evidence
    /// that identifies several entities (an MDE id one has, a host name another has) shows
    /// them to be one: they merge too, unless a stronger identifier they both have differs.
    pub(crate) fn add(&mut self, new: NewEntity, alerts: &[usize]) {
        let kind = new.kind;
        let (found, also) = self.find(&new);
        let mut at = found.unwrap_or(self.building.len());
        for (other, slot) in also {
            let (a, b) = (self.root(at), self.root(other));
            let (Some(x), Some(y)) = (self.building.get(a), self.building.get(b)) else {
                continue;
            };
            if a == b || differs(&x.e.keys, &y.e.keys, slot) {
                continue;
            }
            // The earlier entity stays, where it was first seen.
            let (keep, gone) = (a.min(b), a.max(b));
            self.absorb(keep, gone);
            at = keep;
        }
        // The evidence's own identifiers find the entity later too, even where the merged
        // entity keeps an earlier value (a renamed host). The merged entity's identifiers need
        // no indexing: each is its earlier one, indexed when it came, or one of these.
        self.index_keys(kind, &new.keys, at);
        match found {
            Some(_) => self.merge(at, new),
            None => {
                self.parent.push(self.building.len());
                self.building.push(Building {
                    e: new,
                    roles: HashSet::default(),
                    tags: HashSet::default(),
                    alerts: Vec::new(),
                });
            }
        }
        for &a in alerts {
            if a < self.alerts.len() && self.linked.insert((at, a)) {
                if let Some(b) = self.building.get_mut(at) {
                    b.alerts.push(a);
                }
                if let Some((_, list)) = self.alerts.get_mut(a) {
                    list.push(at);
                }
            }
        }
    }

    /// The entity `i` was merged into (itself when it was not), shortening the path there.
    fn root(&mut self, mut i: usize) -> usize {
        loop {
            let p = self.parent.get(i).copied().unwrap_or(i);
            if p == i {
                return i;
            }
            let up = self.parent.get(p).copied().unwrap_or(p);
            if let Some(slot) = self.parent.get_mut(i) {
                *slot = up;
            }
            i = up;
        }
    }

    /// The entity `new` identifies: the first sharing an identifier with no stronger one
    /// differing; and the other entities it identifies so, each with the slot of the
    /// identifier they share (usually none, and then nothing is allocated).
    fn find(&mut self, new: &NewEntity) -> (Option<usize>, Vec<(usize, usize)>) {
        let mut found = None;
        let mut also: Vec<(usize, usize)> = Vec::new();
        for (slot, key) in new.keys.iter().enumerate() {
            let Some(key) = key else { continue };
            let Some(i) = self
                .index
                .slot(new.kind, slot)
                .and_then(|keys| keys.get(key.as_str()))
                .copied()
                .filter(|&i| i != AMBIGUOUS)
            else {
                continue;
            };
            let i = self.root(i);
            if found == Some(i) || also.iter().any(|&(j, _)| j == i) {
                continue;
            }
            let Some(old) = self.building.get(i) else {
                continue;
            };
            if differs(&new.keys, &old.e.keys, slot) {
                continue;
            }
            match found {
                None => found = Some(i),
                Some(_) => also.push((i, slot)),
            }
        }
        (found, also)
    }

    /// Indexes `keys` (an entity's identifiers by slot) as finding entity `at`. An identifier
    /// that already finds another entity finds none from now on: two devices with different
    /// MDE ids share a host name, and evidence with only that host name could be either.
    fn index_keys(&mut self, kind: EntityKind, keys: &[Option<String>], at: usize) {
        for (slot, key) in keys.iter().enumerate() {
            let Some(key) = key else { continue };
            let known = self
                .index
                .slot(kind, slot)
                .and_then(|map| map.get(key.as_str()))
                .copied();
            let value = match known {
                None => at,
                Some(AMBIGUOUS) => continue,
                Some(i) if self.root(i) == at => continue,
                Some(_) => AMBIGUOUS,
            };
            self.index.slot_mut(kind, slot).insert(key.clone(), value);
        }
    }

    /// Merges entity `gone` into entity `keep`, as evidence merges: `gone` has no alerts and
    /// no evidence left, and finds `keep` from now on.
    fn absorb(&mut self, keep: usize, gone: usize) {
        let Some(b) = self.building.get_mut(gone) else {
            return;
        };
        let kind = b.e.kind;
        let e = std::mem::replace(&mut b.e, NewEntity::empty(kind));
        let alerts = std::mem::take(&mut b.alerts);
        for a in alerts {
            // The alert's own list names `gone`, which [`EntitySet::finish`] reads as `keep`.
            if self.linked.insert((keep, a)) {
                if let Some(k) = self.building.get_mut(keep) {
                    k.alerts.push(a);
                }
            }
        }
        self.merge(keep, e);
        if let Some(p) = self.parent.get_mut(gone) {
            *p = keep;
        }
        self.merged += 1;
    }

    /// Merges: the most severe verdict, roles and tags united, the first remediation status
    /// other than `none`, for each field the first non-null value (`is_server` and `is_admin`:
    /// true if any evidence says so), and each missing identifier.
    fn merge(&mut self, at: usize, new: NewEntity) {
        let Some(b) = self.building.get_mut(at) else {
            return;
        };
        let e = &mut b.e;
        if verdict_rank(&new.verdict) > verdict_rank(&e.verdict) {
            e.verdict = new.verdict;
        }
        for r in new.roles {
            push_new(&mut e.roles, &mut b.roles, r);
        }
        for t in new.tags {
            push_new(&mut e.tags, &mut b.tags, t);
        }
        if e.remediation_status == "none" && new.remediation_status != "none" {
            e.remediation_status = new.remediation_status;
        }
        for (name, value) in new.fields {
            // A file seen on several devices knows them all, in the order evidence came; a
            // device id is one in any case, as devices are compared.
            if let ("device_ids", Json::Array(more)) = (name, &value) {
                if let Some((_, Json::Array(known))) =
                    e.fields.iter_mut().find(|(n, _)| *n == "device_ids")
                {
                    let same = |a: &Json, b: &Json| match (a, b) {
                        (Json::String(a), Json::String(b)) => a.eq_ignore_ascii_case(b),
                        _ => a == b,
                    };
                    for d in more {
                        if !known.iter().any(|k| same(k, d)) && known.len() < MAX_DEVICE_IDS {
                            known.push(d.clone());
                        }
                    }
                    continue;
                }
            }
            let replace = match field(&e.fields, name) {
                None | Some(Json::Null) => true,
                Some(Json::Array(items)) => items.is_empty(),
                Some(Json::Bool(false)) => {
                    matches!(name, "is_server" | "is_admin") && value == Json::Bool(true)
                }
                Some(_) => false,
            };
            if replace {
                set_field(&mut e.fields, name, value);
            }
        }
        for (slot, key) in new.keys.into_iter().enumerate() {
            match e.keys.get_mut(slot) {
                Some(old @ None) => *old = key,
                Some(Some(_)) => {}
                None => e.keys.push(key),
            }
        }
        e.admin |= new.admin;
        if e.name.is_none() {
            e.name = new.name;
        }
    }

    /// The entities with their ids and names, each alert's entity ids, and the other evidence.
    pub(crate) fn finish(self) -> Built {
        // Each entity's root: its parent's, which is earlier and so already known.
        let mut roots: Vec<usize> = Vec::with_capacity(self.parent.len());
        for (i, &p) in self.parent.iter().enumerate() {
            let root = if p < i {
                roots.get(p).copied().unwrap_or(p)
            } else {
                i
            };
            roots.push(root);
        }
        let root = |i: usize| roots.get(i).copied().unwrap_or(i);
        let mut used: HashSet<String> = HashSet::default();
        let mut ids = Vec::with_capacity(self.building.len());
        for (i, b) in self.building.iter().enumerate() {
            if root(i) != i {
                // Merged into another entity: no id of its own.
                ids.push(String::new());
                continue;
            }
            let kind = b.e.kind;
            let key =
                b.e.keys
                    .iter()
                    .flatten()
                    .next()
                    .unwrap_or(&b.e.fallback_key);
            let base = join(kind.as_str(), ":", key);
            let mut id = base.clone();
            let mut n = 1;
            while used.contains(&id) {
                n += 1;
                id = format!("{base}#{n}");
            }
            used.insert(id.clone());
            ids.push(id);
        }
        // Each id once, shared by every link to it: copied into each, a long id linked from
        // many alerts (or a long alert id carrying many entities) would take their product.
        let alert_ids: Vec<LinkId> = self.alerts.iter().map(|(id, _)| LinkId::new(id)).collect();
        let entity_ids: Vec<LinkId> = ids.iter().map(|id| LinkId::new(id)).collect();
        let merged = self.merged > 0;
        let alert_entities = self
            .alerts
            .iter()
            .map(|(_, list)| {
                let mut seen: HashSet<usize> = HashSet::default();
                list.iter()
                    .map(|&i| root(i))
                    // Two entities of an alert that became one are listed once.
                    .filter(|&i| !merged || seen.insert(i))
                    .filter_map(|i| entity_ids.get(i).cloned())
                    .collect()
            })
            .collect();
        let entities = self
            .building
            .into_iter()
            .zip(ids)
            .enumerate()
            .filter(|&(i, _)| root(i) == i)
            .map(|(_, (mut b, id))| {
                // Links come in the order evidence merged; `alert_ids` is in alert order.
                b.alerts.sort_unstable();
                let e = b.e;
                let mut fields: Fields = e
                    .fields
                    .into_iter()
                    .map(|(name, value)| (Cow::Borrowed(name), value))
                    .collect();
                if e.kind == EntityKind::User {
                    let admin = e.admin || fields.get("is_admin") == Some(&Json::Bool(true));
                    fields.insert("is_admin".into(), Json::Bool(admin));
                }
                Entity {
                    name: display_name(e.kind, &fields)
                        .or(e.name)
                        .unwrap_or_else(|| id.clone()),
                    id,
                    kind: e.kind,
                    verdict: e.verdict,
                    roles: e.roles,
                    tags: e.tags,
                    remediation_status: e.remediation_status,
                    alert_ids: unique_ids(b.alerts.iter().filter_map(|&a| alert_ids.get(a))),
                    provider: Cow::Borrowed(e.provider),
                    fields,
                }
            })
            .collect();
        Built {
            entities,
            alert_entities,
            other: self.other,
        }
    }
}

/// The alert ids, each once: two alerts of a file may share an id, and `alert_ids` counts
/// alerts.
fn unique_ids<'a>(ids: impl Iterator<Item = &'a LinkId>) -> Vec<LinkId> {
    let mut seen: HashSet<&str> = HashSet::default();
    ids.filter(|id| seen.insert(id.as_str())).cloned().collect()
}

/// The most readable identifier of an entity: a short host name, a UPN, an address, a URL, a
/// file name, a subject…
pub(crate) fn display_name(kind: EntityKind, f: &Fields) -> Option<String> {
    let text = |k: &str| field_text(f.get(k));
    let first = |keys: &[&str]| keys.iter().find_map(|k| text(k));
    let name = match kind {
        EntityKind::Device => text("hostname")
            .map(|h| {
                if parse_ip(&h).is_some() {
                    h
                } else {
                    match h {
                        Cow::Borrowed(b) => Cow::Borrowed(b.split('.').next().unwrap_or(b)),
                        Cow::Owned(o) => Cow::Owned(o.split('.').next().unwrap_or(&o).to_string()),
                    }
                }
            })
            // `.corp.local` names no host.
            .filter(|h| !h.is_empty())
            .or_else(|| first(&["mde_device_id", "aad_device_id"])),
        EntityKind::User => text("upn")
            .or_else(|| match (text("domain"), text("account_name")) {
                (Some(d), Some(a)) => Some(Cow::Owned(join(&d, "\\", &a))),
                (None, Some(a)) => Some(a),
                _ => None,
            })
            .or_else(|| first(&["display_name", "aad_user_id", "sid"])),
        EntityKind::Ip => text("address"),
        EntityKind::Url => text("url"),
        EntityKind::File => first(&["file_name", "sha256", "sha1", "md5"]),
        EntityKind::Process => first(&["image_file_name", "command_line"])
            .or_else(|| text("process_id").map(|p| Cow::Owned(join("process ", "", &p)))),
        EntityKind::Mailbox => first(&["primary_address", "upn", "display_name"]),
        EntityKind::Email => first(&["subject", "internet_message_id", "network_message_id"]),
        EntityKind::CloudApp => first(&["display_name", "instance_name", "app_id"]),
    };
    // Whole, however long: protection rules match names (`*-backup-vault`), so a name cut
    // short would slip past them. Only the text plan shortens what it shows.
    name.map(Cow::into_owned)
}
