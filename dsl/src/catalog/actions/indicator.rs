//! Parameters and outputs every Defender for Endpoint indicator action shares (`file.block`,
//! `ip.block`, `url.block`): they all create the same kind of indicator.

use crate::catalog::{OutputSpec, ParamSpec, ParamType, ParamsProblem};

pub(super) const SEVERITY: ParamSpec = ParamSpec {
    name: "severity",
    ty: ParamType::Severity,
    required: false,
    note: false,
    default: Some("medium"),
    doc: "Severity of the alerts the indicator raises.",
};

pub(super) const TITLE: ParamSpec = ParamSpec {
    name: "title",
    ty: ParamType::String,
    required: false,
    note: false,
    default: Some("Blocked by Riposte"),
    doc: "Indicator title, shown on its alerts.",
};

pub(super) const DESCRIPTION: ParamSpec = ParamSpec {
    name: "description",
    ty: ParamType::String,
    required: false,
    note: false,
    default: Some("Indicator created by a Riposte gamebook"),
    doc: "Indicator description.",
};

pub(super) const GENERATE_ALERT: ParamSpec = ParamSpec {
    name: "generate_alert",
    ty: ParamType::Bool,
    required: false,
    note: false,
    default: Some("true"),
    doc: "Raise an alert when the indicator matches. `audit` needs it on: `false` with \
          `audit` is an error.",
};

pub(super) const OUTPUTS: &[OutputSpec] = &[
    OutputSpec {
        name: "indicator_id",
        ty: ParamType::String,
        doc: "Id of the Defender for Endpoint indicator, to find or delete it later.",
    },
    OutputSpec {
        name: "status",
        ty: ParamType::String,
        doc: "`succeeded` when the indicator was created or updated, else `failed`.",
    },
];

/// Defender for Endpoint takes an `Audit` indicator only with `generateAlert: true`: an audit
/// that raises no alert would do nothing.
pub(super) fn check_params(given: &[(&str, &crate::value::Value)]) -> Option<ParamsProblem> {
    use crate::value::Value;
    let audit = given
        .iter()
        .any(|(n, v)| *n == "action" && matches!(v, Value::String(s) if s.as_str() == "audit"));
    let silent = given
        .iter()
        .any(|(n, v)| *n == "generate_alert" && matches!(v, Value::Bool(false)));
    (audit && silent).then(|| {
        ParamsProblem::Refused(
            "`action: audit` only raises alerts, so Defender for Endpoint takes it with \
             `generate_alert: true` only; leave `generate_alert` out, or pick another action"
                .into(),
        )
    })
}
