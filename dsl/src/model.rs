//! The incident model: the record types expressions navigate (`incident`, `alert`, one record
//! per entity kind, and the generic `entity`).
//!
//! Architecture Invariant: every entity record starts with the same [`COMMON_FIELDS`] in the
//! same order, so field `i < COMMON_FIELDS` means the same thing in every entity record, and
//! an expression checked against the generic `entity` reads any entity record correctly.
//!
//! Enumerated string fields list their known values, lowercase `snake_case`, as the importer
//! normalizes them.

use std::sync::{Arc, OnceLock};

use crate::types::{EntityKind, Field, FieldIndex, RecordType, Spelling, Type};

/// The number of fields every entity record starts with.
pub const COMMON_FIELDS: usize = 9;

pub const VERDICTS: &[&str] = &["malicious", "suspicious", "no_threats_found", "unknown"];
pub const ROLES: &[&str] = &[
    "compromised",
    "attacker",
    "attacked",
    "source",
    "destination",
    "contextual",
    "scanned",
    "created",
    "added",
    "edited",
    "loaded",
    "suspicious",
    "policy_violator",
    "command_and_control",
];
pub const REMEDIATION_STATUSES: &[&str] =
    &["none", "remediated", "prevented", "blocked", "not_found"];
pub const PROVIDERS: &[&str] = &["microsoft", "crowdstrike", "sentinelone", "unknown"];
pub const ENTITY_KINDS: &[&str] = &[
    "user",
    "device",
    "ip",
    "url",
    "file",
    "process",
    "mailbox",
    "email",
    "cloud_app",
];
pub const RISK_SCORES: &[&str] = &["none", "informational", "low", "medium", "high"];
pub const DETECTION_STATUSES: &[&str] = &["detected", "blocked", "prevented"];
pub const DELIVERY_ACTIONS: &[&str] = &[
    "delivered",
    "delivered_as_spam",
    "junked",
    "blocked",
    "replaced",
];
pub const DELIVERY_LOCATIONS: &[&str] = &[
    "inbox",
    "external",
    "junk_folder",
    "quarantine",
    "failed",
    "dropped",
    "deleted_folder",
    "forwarded",
];
pub const EMAIL_DIRECTIONS: &[&str] = &["inbound", "outbound", "intraorg"];
pub const ALERT_STATUSES: &[&str] = &["new", "in_progress", "resolved", "unknown"];
pub const INCIDENT_SOURCES: &[&str] = &[
    "defender_xdr",
    "sentinel",
    "crowdstrike",
    "sentinelone",
    "qradar",
    "splunk",
    "unknown",
];
pub const INCIDENT_STATUSES: &[&str] = &[
    "new",
    "active",
    "in_progress",
    "resolved",
    "closed",
    "redirected",
    "unknown",
];
pub const CLASSIFICATIONS: &[&str] = &[
    "true_positive",
    "false_positive",
    "benign_positive",
    "undetermined",
    "unknown",
];

fn s(name: &str, doc: &str) -> Field {
    Field::new(name, Type::String, doc)
}

fn e(name: &str, values: &'static [&'static str], doc: &str) -> Field {
    Field::new(name, Type::String, doc).with_values(values)
}

/// An open enumerated string: any value, always `snake_case`.
fn o(name: &str, doc: &str) -> Field {
    Field::new(name, Type::String, doc).spelled(Spelling::SnakeCase)
}

fn f(name: &str, ty: Type, doc: &str) -> Field {
    Field::new(name, ty, doc)
}

fn strings() -> Type {
    Type::list(Type::String)
}

fn common_fields() -> Vec<Field> {
    vec![
        s("id", "stable id of the entity within the incident"),
        e(
            "kind",
            ENTITY_KINDS,
            "the entity kind (`user`, `device`, …)",
        ),
        s("name", "display name"),
        e("verdict", VERDICTS, "the analysis verdict"),
        f(
            "roles",
            strings(),
            "the parts the entity plays in the incident",
        )
        .with_values(ROLES),
        f("tags", strings(), "tags set by the source or by analysts"),
        e(
            "remediation_status",
            REMEDIATION_STATUSES,
            "what remediation has done to it",
        ),
        f(
            "alert_ids",
            strings(),
            "ids of the alerts that carry this entity",
        ),
        e(
            "provider",
            PROVIDERS,
            "the platform the entity was reported by",
        ),
    ]
}

fn kind_fields(kind: EntityKind) -> Vec<Field> {
    match kind {
        EntityKind::User => vec![
            s("upn", "user principal name (`alice@contoso.com`)"),
            s("aad_user_id", "Entra ID object id"),
            s("account_name", "SAM account name"),
            s("domain", "account domain"),
            s("sid", "security identifier"),
            s("display_name", "display name"),
            f(
                "is_admin",
                Type::Bool,
                "whether the account holds an admin role",
            ),
        ],
        EntityKind::Device => vec![
            s("mde_device_id", "Defender for Endpoint machine id"),
            s("aad_device_id", "Entra ID device id"),
            s("hostname", "host name"),
            s(
                "os_platform",
                "operating system platform, lowercase (`windows11`, `windowsserver2019`, \
                 `linux`, …)",
            )
            .spelled(Spelling::Lowercase),
            f("os_build", Type::Number, "operating system build number"),
            o(
                "health_status",
                "sensor health (`active`, `inactive`, `impaired_communication`, …)",
            ),
            e("risk_score", RISK_SCORES, "the device's risk level"),
            o(
                "onboarding_status",
                "onboarding state in the EDR (`onboarded`, `can_be_onboarded`, …)",
            ),
            o(
                "av_status",
                "antivirus state (`updated`, `not_updated`, `disabled`, …)",
            ),
            s("rbac_group", "device group used for access control"),
            f(
                "ip_addresses",
                Type::list(Type::Ip),
                "addresses the device has used",
            ),
            f(
                "logged_on_users",
                strings(),
                "accounts signed in on the device",
            ),
            f("is_server", Type::Bool, "whether the device is a server"),
            f(
                "first_seen",
                Type::Time,
                "when the EDR first saw the device",
            ),
        ],
        EntityKind::Ip => vec![
            f("address", Type::Ip, "the address"),
            s("country", "geolocated country code"),
        ],
        EntityKind::Url => vec![s("url", "the full URL"), s("domain", "its host name")],
        EntityKind::File => vec![
            s("file_name", "file name without directory"),
            s("path", "directory path"),
            s("sha1", "SHA-1 hash"),
            s("sha256", "SHA-256 hash"),
            s("md5", "MD5 hash"),
            f("size", Type::Number, "size in bytes"),
            s("publisher", "publisher from the signature"),
            s("signer", "signer from the signature"),
            e(
                "detection_status",
                DETECTION_STATUSES,
                "what the antivirus did",
            ),
            s(
                "device_id",
                "id of the device the file was seen on (the first, when several)",
            ),
            f(
                "device_ids",
                strings(),
                "ids of every device the file was seen on, first seen first",
            ),
        ],
        EntityKind::Process => vec![
            f("process_id", Type::Number, "process id"),
            f("parent_process_id", Type::Number, "parent process id"),
            s("command_line", "full command line"),
            s("image_file_name", "executable file name"),
            s("image_sha1", "SHA-1 of the executable"),
            s("image_sha256", "SHA-256 of the executable"),
            s("device_id", "id of the device it ran on"),
            s("account", "account it ran as"),
            f("created", Type::Time, "when it started"),
        ],
        EntityKind::Mailbox => vec![
            s("primary_address", "primary SMTP address"),
            s("upn", "owner's user principal name"),
            s("display_name", "display name"),
        ],
        EntityKind::Email => vec![
            s("network_message_id", "Exchange network message id"),
            s("internet_message_id", "RFC 5322 Message-ID"),
            s("subject", "subject line"),
            s("sender", "sender address"),
            s("recipient", "recipient address"),
            f("sender_ip", Type::Ip, "sending server address"),
            e(
                "delivery_action",
                DELIVERY_ACTIONS,
                "what happened on delivery",
            ),
            e(
                "delivery_location",
                DELIVERY_LOCATIONS,
                "where the message is now",
            ),
            e(
                "direction",
                EMAIL_DIRECTIONS,
                "direction relative to the organization",
            ),
            f("urls", strings(), "URLs in the message"),
            f("threats", strings(), "threat names detected in the message"),
            f("attachments_count", Type::Number, "number of attachments"),
            f("received", Type::Time, "when it was received"),
        ],
        EntityKind::CloudApp => vec![
            f("app_id", Type::Number, "Defender for Cloud Apps app id"),
            s("display_name", "application name"),
            s("instance_name", "app instance name"),
            f("saas_app_id", Type::Number, "SaaS app id"),
        ],
    }
}

fn build_entity(kind: EntityKind) -> Arc<RecordType> {
    let mut fields = common_fields();
    fields.extend(kind_fields(kind));
    Arc::new(RecordType {
        index: FieldIndex::default(),
        name: kind.as_str().to_string(),
        entity: Some(kind),
        fields,
    })
}

/// The record of one entity kind (`user`, `device`, …).
pub fn entity(kind: EntityKind) -> Arc<RecordType> {
    static ENTITIES: OnceLock<Vec<Arc<RecordType>>> = OnceLock::new();
    let all = ENTITIES.get_or_init(|| EntityKind::ALL.iter().map(|&k| build_entity(k)).collect());
    all.iter()
        .find(|r| r.entity == Some(kind))
        .cloned()
        .unwrap_or_else(|| build_entity(kind))
}

/// The generic `entity` record: the fields every entity kind has.
pub fn any_entity() -> Arc<RecordType> {
    static ANY: OnceLock<Arc<RecordType>> = OnceLock::new();
    ANY.get_or_init(|| Arc::new(RecordType::new("entity", common_fields())))
        .clone()
}

/// An alert of an incident.
pub fn alert() -> Arc<RecordType> {
    static ALERT: OnceLock<Arc<RecordType>> = OnceLock::new();
    ALERT
        .get_or_init(|| {
            Arc::new(RecordType::new(
                "alert",
                vec![
                    s("id", "alert id at the source"),
                    s("title", "alert title"),
                    s("description", "alert description"),
                    o(
                        "category",
                        "alert category (`malware`, `initial_access`, …)",
                    ),
                    e("status", ALERT_STATUSES, "alert status"),
                    o("service_source", "the product that raised it"),
                    o("detection_source", "the detection technology"),
                    s("threat_family", "malware or threat family name"),
                    f("severity", Type::Severity, "alert severity"),
                    f("mitre_techniques", strings(), "MITRE ATT&CK technique ids"),
                    f("created", Type::Time, "when the alert was created"),
                    f(
                        "first_activity",
                        Type::Time,
                        "earliest activity in the alert",
                    ),
                    f("last_activity", Type::Time, "latest activity in the alert"),
                    f(
                        "entities",
                        Type::list(Type::Record(any_entity())),
                        "the entities of the alert",
                    ),
                ],
            ))
        })
        .clone()
}

/// The incident a gamebook or SOP runs on.
pub fn incident() -> Arc<RecordType> {
    static INCIDENT: OnceLock<Arc<RecordType>> = OnceLock::new();
    INCIDENT
        .get_or_init(|| {
            let mut fields = vec![
                s("id", "incident id at the source"),
                s(
                    "number",
                    "the number its source's portal shows it by, where that is not its id \
                     (Sentinel's incident number; null for Defender XDR, shown by id)",
                ),
                e(
                    "source",
                    INCIDENT_SOURCES,
                    "the platform the incident comes from",
                ),
                s("workspace", "the Riposte workspace it belongs to"),
                s("title", "incident title"),
                s("description", "incident description"),
                f("severity", Type::Severity, "incident severity"),
                e("status", INCIDENT_STATUSES, "incident status"),
                e("classification", CLASSIFICATIONS, "analyst classification"),
                o(
                    "determination",
                    "analyst determination (`malware`, `phishing`, …)",
                ),
                s("assigned_to", "the analyst it is assigned to"),
                s("web_url", "link to the incident in the source portal"),
                f("created", Type::Time, "when the incident was created"),
                f("updated", Type::Time, "when the incident was last updated"),
                f("tags", strings(), "incident tags"),
                f(
                    "alerts",
                    Type::list(Type::Record(alert())),
                    "the incident's alerts",
                ),
                f(
                    "entities",
                    Type::list(Type::Record(any_entity())),
                    "every entity of the incident",
                ),
            ];
            for &kind in EntityKind::ALL {
                fields.push(f(
                    kind.collection(),
                    Type::list(Type::Record(entity(kind))),
                    &format!("the incident's {} entities", kind.as_str()),
                ));
            }
            Arc::new(RecordType::new("incident", fields))
        })
        .clone()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entity_records_share_the_common_prefix() {
        let common = any_entity();
        assert_eq!(common.fields.len(), COMMON_FIELDS);
        assert_eq!(common.name, "entity");
        assert_eq!(common.entity, None);
        for &kind in EntityKind::ALL {
            let r = entity(kind);
            assert_eq!(r.name, kind.as_str());
            assert_eq!(r.entity, Some(kind));
            assert_eq!(&r.fields[..COMMON_FIELDS], &common.fields[..]);
            assert!(Arc::ptr_eq(&r, &entity(kind)), "cached");
            let mut names: Vec<&str> = r.field_names().collect();
            names.sort_unstable();
            let before = names.len();
            names.dedup();
            assert_eq!(before, names.len(), "duplicate field in {kind}");
            assert!(r.fields.iter().all(|f| !f.doc.is_empty()));
        }
        assert_eq!(ENTITY_KINDS.len(), EntityKind::ALL.len());
        for (k, name) in EntityKind::ALL.iter().zip(ENTITY_KINDS) {
            assert_eq!(k.as_str(), *name);
        }
    }

    #[test]
    fn incident_has_a_collection_per_kind() {
        let inc = incident();
        for &kind in EntityKind::ALL {
            let (_, field) = inc.field(kind.collection()).unwrap();
            assert_eq!(field.ty, Type::list(Type::Record(entity(kind))));
        }
        let (_, status) = inc.field("status").unwrap();
        assert!(status.values.unwrap().contains(&"resolved"));
        assert_eq!(inc.field("severity").unwrap().1.ty, Type::Severity);
        assert_eq!(alert().field("severity").unwrap().1.ty, Type::Severity);
    }

    #[test]
    fn enumerated_values_are_snake_case() {
        let mut records = vec![incident(), alert(), any_entity()];
        records.extend(EntityKind::ALL.iter().map(|&k| entity(k)));
        for r in records {
            for field in &r.fields {
                for v in field.values.unwrap_or(&[]) {
                    assert!(
                        v.chars().all(|c| c.is_ascii_lowercase() || c == '_'),
                        "{}.{}: {v}",
                        r.name,
                        field.name
                    );
                }
            }
        }
    }
}
