//! The static types of the expression language and the records it navigates.

use std::fmt;
use std::sync::Arc;

/// The kinds of entity an incident carries and an action can target.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum EntityKind {
    User,
    Device,
    Ip,
    Url,
    File,
    Process,
    Mailbox,
    Email,
    CloudApp,
}

impl EntityKind {
    pub const ALL: &'static [EntityKind] = &[
        EntityKind::User,
        EntityKind::Device,
        EntityKind::Ip,
        EntityKind::Url,
        EntityKind::File,
        EntityKind::Process,
        EntityKind::Mailbox,
        EntityKind::Email,
        EntityKind::CloudApp,
    ];

    /// The name used in documents and messages (`user`, `device`, `email`, …).
    pub fn as_str(self) -> &'static str {
        match self {
            EntityKind::User => "user",
            EntityKind::Device => "device",
            EntityKind::Ip => "ip",
            EntityKind::Url => "url",
            EntityKind::File => "file",
            EntityKind::Process => "process",
            EntityKind::Mailbox => "mailbox",
            EntityKind::Email => "email",
            EntityKind::CloudApp => "cloud_app",
        }
    }

    pub fn parse(s: &str) -> Option<EntityKind> {
        EntityKind::ALL.iter().copied().find(|k| k.as_str() == s)
    }

    /// The incident field holding every entity of this kind (`incident.devices`).
    pub fn collection(self) -> &'static str {
        match self {
            EntityKind::User => "users",
            EntityKind::Device => "devices",
            EntityKind::Ip => "ips",
            EntityKind::Url => "urls",
            EntityKind::File => "files",
            EntityKind::Process => "processes",
            EntityKind::Mailbox => "mailboxes",
            EntityKind::Email => "emails",
            EntityKind::CloudApp => "cloud_apps",
        }
    }
}

impl fmt::Display for EntityKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A static type.
#[derive(Clone, Debug, PartialEq)]
pub enum Type {
    /// Unknown because of an earlier error; fits everywhere so one mistake gives one message.
    Any,
    Null,
    Bool,
    Number,
    String,
    /// A span of time, written `30s`, `15m`, `4h`, `7d`.
    Duration,
    /// A point in time (`incident.created`, `now()`).
    Time,
    /// `informational < low < medium < high`.
    Severity,
    Ip,
    List(Box<Type>),
    Record(Arc<RecordType>),
}

impl Type {
    pub fn list(of: Type) -> Type {
        Type::List(Box::new(of))
    }

    /// The entity kind, when this is an entity record of one kind.
    pub fn entity_kind(&self) -> Option<EntityKind> {
        match self {
            Type::Record(r) => r.entity,
            _ => None,
        }
    }

    /// Whether a value of type `self` may be used where `expected` is required.
    pub fn fits(&self, expected: &Type) -> bool {
        match (self, expected) {
            (Type::Any, _) | (_, Type::Any) => true,
            (Type::Null, _) => true,
            (Type::List(a), Type::List(b)) => a.fits(b),
            (Type::Record(a), Type::Record(b)) => {
                a.name == b.name || (b.name == "entity" && a.entity.is_some())
            }
            (a, b) => a == b,
        }
    }
}

impl fmt::Display for Type {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Type::Any => f.write_str("any"),
            Type::Null => f.write_str("null"),
            Type::Bool => f.write_str("bool"),
            Type::Number => f.write_str("number"),
            Type::String => f.write_str("string"),
            Type::Duration => f.write_str("duration"),
            Type::Time => f.write_str("time"),
            Type::Severity => f.write_str("severity"),
            Type::Ip => f.write_str("ip"),
            Type::List(t) => write!(f, "list<{t}>"),
            Type::Record(r) => f.write_str(&r.name),
        }
    }
}

/// The name of the record type of a group step's output (`steps.<group>.output`): a record
/// with no fields, as a group has no output (it is `null`), so that reading a field of it is
/// an unknown field, not a condition that silently never holds.
pub const GROUP_OUTPUT: &str = "group.output";

/// A record type: incident, alert, an entity kind, a gamebook's inputs, a step's output.
#[derive(Debug, PartialEq)]
pub struct RecordType {
    pub name: String,
    /// Set for entity records; `None` for the generic `entity` and for non-entities.
    pub entity: Option<EntityKind>,
    pub fields: Vec<Field>,
    /// Finds fields by name in records too long to scan (a gamebook's `steps`).
    pub index: FieldIndex,
}

impl RecordType {
    /// A record that is not an entity.
    pub fn new(name: impl Into<String>, fields: Vec<Field>) -> Self {
        RecordType {
            name: name.into(),
            entity: None,
            fields,
            index: FieldIndex::default(),
        }
    }

    /// Index and definition of a field.
    pub fn field(&self, name: &str) -> Option<(usize, &Field)> {
        if self.fields.len() <= FieldIndex::SCAN {
            return self.fields.iter().enumerate().find(|(_, f)| f.name == name);
        }
        let by_name = self.index.0.get_or_init(|| {
            let mut map = std::collections::HashMap::with_capacity(self.fields.len());
            for (i, f) in self.fields.iter().enumerate() {
                // The first of two fields with one name, as the scan finds.
                map.entry(f.name.clone()).or_insert(i);
            }
            map
        });
        let &i = by_name.get(name)?;
        self.fields.get(i).map(|f| (i, f))
    }

    pub fn field_names(&self) -> impl Iterator<Item = &str> + Clone {
        self.fields.iter().map(|f| f.name.as_str())
    }
}

/// The fields of a [`RecordType`] by name, built the first time a field of a long record is
/// looked up. Not part of the type's identity: two records with the same fields are equal.
#[derive(Default)]
pub struct FieldIndex(std::sync::OnceLock<std::collections::HashMap<String, usize>>);

impl FieldIndex {
    /// Records with at most this many fields are scanned.
    const SCAN: usize = 32;
}

impl PartialEq for FieldIndex {
    fn eq(&self, _: &FieldIndex) -> bool {
        true
    }
}

impl fmt::Debug for FieldIndex {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("FieldIndex")
    }
}

/// One field of a [`RecordType`].
#[derive(Debug, PartialEq)]
pub struct Field {
    pub name: String,
    pub ty: Type,
    pub doc: String,
    /// The known values of an enumerated string field (`status`, `verdict`), for checking
    /// literals it is compared with. Sources may send values beyond these.
    pub values: Option<&'static [&'static str]>,
    /// How the importer writes every value of this open string field: a literal spelled
    /// otherwise never equals it.
    pub spelling: Option<Spelling>,
}

/// How the importer spells the values of an open string field.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Spelling {
    /// `snake_case` ([`crate::snake`]): `InitialAccess` is `initial_access`.
    SnakeCase,
    /// Lowercase, words not split: `WindowsServer2019` is `windowsserver2019`.
    Lowercase,
}

impl Field {
    pub fn new(name: impl Into<String>, ty: Type, doc: impl Into<String>) -> Self {
        Field {
            name: name.into(),
            ty,
            doc: doc.into(),
            values: None,
            spelling: None,
        }
    }

    /// Marks an open string field whose values are always spelled so.
    pub fn spelled(mut self, spelling: Spelling) -> Self {
        self.spelling = Some(spelling);
        self
    }

    pub fn with_values(mut self, values: &'static [&'static str]) -> Self {
        self.values = Some(values);
        self
    }
}
