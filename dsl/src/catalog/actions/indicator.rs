//! Parameters and outputs every Defender for Endpoint indicator action shares (`file.block`,
//! `ip.block`, `url.block`): they all create the same kind of indicator.

use crate::catalog::{OutputSpec, ParamSpec, ParamType};

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
    doc: "Raise an alert when the indicator matches. Always on for `audit`.",
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
