//! One file per action. `ALL` lists them sorted by id; the tests below keep the catalog honest.

use super::ActionSpec;

mod device_full_scan;
mod device_isolate;
mod device_offboard;
mod device_quick_scan;
mod device_unisolate;
mod email_soft_delete;
mod file_block;
mod file_quarantine;
mod incident_comment;
mod incident_update;
mod indicator;
mod ip_block;
mod url_block;
mod user_disable;
mod user_enable;
mod user_reset_password;
mod user_revoke_sessions;

/// What Defender for Endpoint acts on a machine by: its MDE id (`/api/machines/{id}/…`).
const MDE_DEVICE: &[&[&str]] = &[&["mde_device_id"]];
/// What Graph acts on a user by: the Entra object id or the UPN (`/users/{id|upn}`).
const ENTRA_USER: &[&[&str]] = &[&["aad_user_id", "upn"]];

/// The OS platform of `device` when it is known and is not Windows (`linux`, `macos`; not
/// `unknown` or `other`, which Sentinel and Defender write for a platform they do not know):
/// what Defender for Endpoint does only on Windows refuses it.
fn os_not_windows(device: &crate::value::Value) -> Option<&str> {
    use crate::value::Value;
    let Value::Record(r) = device else {
        return None;
    };
    let Some(Value::String(os)) = r
        .ty()
        .field("os_platform")
        .and_then(|(i, _)| r.fields().get(i))
    else {
        return None;
    };
    let os = os.trim();
    let lower = os.to_ascii_lowercase();
    let unknown = os.is_empty() || matches!(lower.as_str(), "unknown" | "other");
    (!unknown && !lower.starts_with("windows")).then_some(os)
}

/// Whether a known OS platform other than Windows is Linux, as Defender for Endpoint and
/// Sentinel name it: `Linux`, or the distribution (`Ubuntu`, `RedHatEnterpriseLinux`, …).
fn is_linux(os: &str) -> bool {
    const DISTRIBUTIONS: &[&str] = &[
        "linux", "ubuntu", "debian", "redhat", "rhel", "centos", "suse", "sles", "oracle",
        "amazon", "fedora", "rocky", "alma", "mariner",
    ];
    let lower = os.to_ascii_lowercase();
    DISTRIBUTIONS.iter().any(|d| lower.contains(d))
}

/// Defender for Endpoint runs antivirus scans through its API on Windows only (Windows 10 1709
/// or later, Windows 11): a device whose OS platform is known and is not Windows (`linux`,
/// `macos`) cannot be scanned so. CrowdStrike and SentinelOne scan every platform.
fn scans_windows_only(
    device: &crate::value::Value,
    _: &[(&str, crate::value::Value)],
    _: &[&crate::value::Value],
) -> Option<String> {
    let os = os_not_windows(device)?;
    Some(format!(
        "the device runs `{os}`; Defender for Endpoint runs antivirus scans through its API on \
         Windows devices only, not macOS or Linux ones"
    ))
}

pub(super) static ALL: &[ActionSpec] = &[
    device_full_scan::SPEC,
    device_isolate::SPEC,
    device_offboard::SPEC,
    device_quick_scan::SPEC,
    device_unisolate::SPEC,
    email_soft_delete::SPEC,
    file_block::SPEC,
    file_quarantine::SPEC,
    incident_comment::SPEC,
    incident_update::SPEC,
    ip_block::SPEC,
    url_block::SPEC,
    user_disable::SPEC,
    user_enable::SPEC,
    user_reset_password::SPEC,
    user_revoke_sessions::SPEC,
];

#[cfg(test)]
mod tests {
    use std::collections::HashSet;

    use super::ALL;
    use crate::catalog::{lookup, ActionSpec, Application, Impact, ParamType, Provider, Target};
    use crate::source::{FileId, SourceFile};
    use crate::syntax::{load, Limits, Node, NodeValue};
    use crate::types::EntityKind;

    const HIGH_IMPACT: &[&str] = &[
        "device.isolate",
        "device.offboard",
        "user.disable",
        "user.reset_password",
    ];

    /// The public action ids. Ids are never renamed or reused: extend this list, never edit it.
    const PUBLIC_IDS: &[&str] = &[
        "device.full_scan",
        "device.isolate",
        "device.offboard",
        "device.quick_scan",
        "device.unisolate",
        "email.soft_delete",
        "file.block",
        "file.quarantine",
        "incident.comment",
        "incident.update",
        "ip.block",
        "url.block",
        "user.disable",
        "user.enable",
        "user.reset_password",
        "user.revoke_sessions",
    ];

    fn is_snake(s: &str) -> bool {
        let mut chars = s.chars();
        chars.next().is_some_and(|c| c.is_ascii_lowercase())
            && chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
    }

    #[test]
    fn ids_are_sorted_unique_and_public() {
        let ids: Vec<&str> = ALL.iter().map(|a| a.id).collect();
        for pair in ids.windows(2) {
            assert!(pair[0] < pair[1], "ids not sorted or duplicated: {pair:?}");
        }
        for id in PUBLIC_IDS {
            assert!(lookup(id).is_some(), "public action id {id} is missing");
        }
        assert_eq!(ids, PUBLIC_IDS, "an action was added: add it to PUBLIC_IDS");
    }

    #[test]
    fn ids_are_target_dot_verb() {
        for a in ALL {
            let (target, verb) =
                a.id.split_once('.')
                    .unwrap_or_else(|| panic!("{}: id is not <target>.<verb>", a.id));
            assert_eq!(
                target,
                a.target.as_str(),
                "{}: id does not start with its target",
                a.id
            );
            assert!(is_snake(verb), "{}: verb `{verb}` is not snake_case", a.id);
        }
    }

    #[test]
    fn reverses_point_back() {
        for a in ALL {
            if let Some(rev) = a.reverse {
                let r = lookup(rev).unwrap_or_else(|| panic!("{}: reverse {rev} unknown", a.id));
                assert_eq!(
                    r.reverse,
                    Some(a.id),
                    "{rev} does not reverse back to {}",
                    a.id
                );
                assert_eq!(
                    r.target, a.target,
                    "{}: reverse {rev} targets another kind",
                    a.id
                );
            }
        }
    }

    #[test]
    fn high_impact_set() {
        for a in ALL {
            assert_eq!(
                a.impact == Impact::High,
                HIGH_IMPACT.contains(&a.id),
                "{}: impact {:?} disagrees with the approval-gated set",
                a.id,
                a.impact
            );
        }
    }

    #[test]
    fn only_password_reset_is_delegated_only() {
        for a in ALL {
            assert_eq!(
                a.delegated_only(),
                a.id == "user.reset_password",
                "{}: delegated_only() is wrong",
                a.id
            );
        }
    }

    #[test]
    fn providers_use_the_right_application() {
        for a in ALL {
            assert!(!a.providers.is_empty(), "{}: no provider", a.id);
            let mut seen = HashSet::new();
            for p in a.providers {
                assert!(
                    seen.insert(p.provider),
                    "{}: {:?} listed twice",
                    a.id,
                    p.provider
                );
                let expected = match (p.provider, a.target) {
                    (Provider::CrowdStrike, _) => Application::CrowdStrikeResponse,
                    (Provider::SentinelOne, _) => Application::SentinelOneResponse,
                    (Provider::Sentinel, _) => Application::Api,
                    (Provider::Microsoft, Target::Incident) => Application::Mde,
                    (Provider::Microsoft, Target::Entity(EntityKind::User)) => {
                        Application::GamebooksIdentity
                    }
                    (Provider::Microsoft, Target::Entity(EntityKind::Email)) => {
                        Application::GamebooksEmail
                    }
                    (Provider::Microsoft, Target::Entity(_)) => Application::GamebooksMde,
                };
                assert_eq!(p.application, expected, "{}: wrong application", a.id);
                let qualified = [
                    "WindowsDefenderATP ",
                    "Microsoft Graph ",
                    "Falcon ",
                    "SentinelOne ",
                    "Azure Service Management ",
                ]
                .iter()
                .any(|api| p.permission.starts_with(api));
                assert!(
                    qualified,
                    "{}: permission `{}` is not qualified by its API",
                    a.id, p.permission
                );
                assert!(
                    !p.service.is_empty() && !p.operation.is_empty(),
                    "{}: empty provider fields",
                    a.id
                );
            }
        }
    }

    #[test]
    fn params_and_outputs_are_well_formed() {
        for a in ALL {
            let mut names = HashSet::new();
            for p in a.params {
                assert!(
                    is_snake(p.name),
                    "{}: param `{}` is not snake_case",
                    a.id,
                    p.name
                );
                assert!(names.insert(p.name), "{}: param `{}` twice", a.id, p.name);
                assert!(!p.doc.is_empty(), "{}: param `{}` has no doc", a.id, p.name);
                if p.required {
                    assert!(
                        p.default.is_none(),
                        "{}: required `{}` has a default",
                        a.id,
                        p.name
                    );
                }
                if let Some(default) = p.default {
                    check_default(a, p.name, p.ty, default);
                }
            }
            let mut outputs = HashSet::new();
            for o in a.outputs {
                assert!(
                    is_snake(o.name),
                    "{}: output `{}` is not snake_case",
                    a.id,
                    o.name
                );
                assert!(
                    outputs.insert(o.name),
                    "{}: output `{}` twice",
                    a.id,
                    o.name
                );
                assert!(
                    !o.doc.is_empty(),
                    "{}: output `{}` has no doc",
                    a.id,
                    o.name
                );
            }
            assert!(outputs.contains("status"), "{}: no `status` output", a.id);
            assert!(
                !a.title.is_empty() && !a.doc.is_empty(),
                "{}: no title or doc",
                a.id
            );
        }
    }

    fn check_default(a: &ActionSpec, name: &str, ty: ParamType, default: &str) {
        let ok = match ty {
            ParamType::Enum(values) => values.contains(&default),
            ParamType::Bool => default == "true" || default == "false",
            ParamType::Severity => ["informational", "low", "medium", "high"].contains(&default),
            ParamType::Number => default.parse::<f64>().is_ok(),
            ParamType::Duration => {
                let digits = default.trim_end_matches(|c: char| c.is_ascii_alphabetic());
                !digits.is_empty()
                    && digits.chars().all(|c| c.is_ascii_digit())
                    && ["ms", "s", "m", "h", "d", "w"].contains(&&default[digits.len()..])
            }
            ParamType::String | ParamType::StringList => true,
        };
        assert!(
            ok,
            "{}: default `{default}` of `{name}` does not fit {ty:?}",
            a.id
        );
        // The default is YAML text: it must parse, and to a scalar for scalar types.
        let node = parse(default, a.id);
        if ty != ParamType::StringList {
            assert!(
                node.scalar_text().is_some(),
                "{}: default of `{name}` is not a scalar",
                a.id
            );
        }
    }

    fn parse(text: &str, what: &str) -> Node {
        let src = SourceFile::new(what, text);
        load(FileId(0), &src, &Limits::default())
            .unwrap_or_else(|d| panic!("{what}: YAML does not parse: {d:?}\n{text}"))
    }

    const STEP_KEYS: &[&str] = &["id", "for_each", "action", "target", "params", "approval"];

    /// A light structural check of every example; `catalog::tests::examples_compile` runs the
    /// full compiler over them.
    #[test]
    fn examples_are_well_formed_steps() {
        for a in ALL {
            assert!(!a.examples.is_empty(), "{}: no example", a.id);
            for ex in a.examples {
                let what = format!("{} example `{}`", a.id, ex.title);
                assert!(!ex.title.is_empty(), "{what}: no title");
                let step = parse(ex.step, &what);
                let map = step
                    .as_map()
                    .unwrap_or_else(|| panic!("{what}: not a mapping"));
                for (k, _) in map {
                    let key = k.as_str().unwrap_or_default();
                    assert!(STEP_KEYS.contains(&key), "{what}: unexpected key `{key}`");
                }
                let id = step.get("id").and_then(Node::as_str).unwrap_or_default();
                assert!(
                    is_snake(id),
                    "{what}: step id `{id}` is not [a-z][a-z0-9_]*"
                );
                assert_eq!(
                    step.get("action").and_then(Node::as_str),
                    Some(a.id),
                    "{what}"
                );
                if a.target == Target::Incident {
                    assert!(
                        step.get("target").is_none(),
                        "{what}: incident actions take no target"
                    );
                    assert!(
                        step.get("for_each").is_none(),
                        "{what}: incident actions run once"
                    );
                }
                check_example_params(a, &step, &what);
                if a.impact == Impact::High {
                    let approval = step
                        .get("approval")
                        .unwrap_or_else(|| panic!("{what}: high-impact example without approval"));
                    for key in ["role", "timeout", "on_timeout"] {
                        assert!(
                            approval.get(key).is_some(),
                            "{what}: approval without `{key}`"
                        );
                    }
                }
            }
        }
    }

    fn check_example_params(a: &ActionSpec, step: &Node, what: &str) {
        let given: Vec<(&str, &Node)> = match step.get("params") {
            None => Vec::new(),
            Some(params) => params
                .as_map()
                .unwrap_or_else(|| panic!("{what}: params is not a mapping"))
                .iter()
                .map(|(k, v)| (k.as_str().unwrap_or_default(), v))
                .collect(),
        };
        for (name, value) in &given {
            let spec = a
                .param(name)
                .unwrap_or_else(|| panic!("{what}: unknown param `{name}`"));
            if let ParamType::Enum(values) = spec.ty {
                let v = value.as_str().unwrap_or_default();
                assert!(
                    values.contains(&v),
                    "{what}: `{name}: {v}` is not one of {values:?}"
                );
            }
            if matches!(spec.ty, ParamType::Bool) {
                assert!(
                    matches!(value.value, NodeValue::Bool(_)),
                    "{what}: `{name}` not a bool"
                );
            }
        }
        for p in a.params.iter().filter(|p| p.required) {
            assert!(
                given.iter().any(|(n, _)| *n == p.name),
                "{what}: required param `{}` missing",
                p.name
            );
        }
    }
}
