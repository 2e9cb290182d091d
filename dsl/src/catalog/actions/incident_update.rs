//! `incident.update`: change the incident's status, verdict, severity or owner.

use crate::catalog::{
    ActionSpec, Application, Consent, Example, Impact, OutputSpec, ParamSpec, ParamType,
    ParamsProblem, Provider, ProviderSupport, Target,
};

pub(crate) const SPEC: ActionSpec = ActionSpec {
    id: "incident.update",
    title: "Update incident",
    doc: "Changes fields of the incident where it comes from (Microsoft Defender XDR, \
          Microsoft Sentinel, Falcon, Singularity); fields whose parameter is omitted keep \
          their value. Give at least one parameter (RP0403). `classification` takes the \
          canonical verdicts and needs a `reason` from that verdict's list (true_positive: multistage_attack, malware, \
          malicious_user_activity, unwanted_software, phishing, compromised_user, apt, \
          suspicious_activity, other; false_positive: not_malicious, \
          not_enough_data_to_validate, inaccurate_data, incorrect_alert_logic, other; \
          benign_positive: security_testing, confirmed_user_activity, \
          line_of_business_application, security_personnel, suspicious_but_expected, other; \
          undetermined: unknown, other). Riposte keeps the exact verdict and reason and \
          writes the nearest native classification (Defender's classification and determination, \
          Sentinel's classification and reason). Setting `status` to \
          `resolved` closes the incident. The step acts on the incident itself and takes no \
          `target:`.",
    target: Target::Incident,
    params: &[
        ParamSpec {
            name: "status",
            ty: ParamType::Enum(&["active", "in_progress", "resolved"]),
            required: false,
            note: false,
            default: None,
            doc: "New incident status.",
        },
        ParamSpec {
            name: "classification",
            ty: ParamType::Enum(&[
                "true_positive",
                "false_positive",
                "benign_positive",
                "undetermined",
            ]),
            required: false,
            note: false,
            default: None,
            doc: "The verdict. Give a `reason` with it.",
        },
        ParamSpec {
            name: "reason",
            ty: ParamType::String,
            required: false,
            note: false,
            default: None,
            doc: "Why, from the reasons of the classification (e.g. `malware`, `phishing`, \
                  `inaccurate_data`, `security_testing`).",
        },
        ParamSpec {
            name: "severity",
            ty: ParamType::Severity,
            required: false,
            note: false,
            default: None,
            doc: "New incident severity.",
        },
        ParamSpec {
            name: "assignee",
            ty: ParamType::String,
            required: false,
            note: false,
            default: None,
            doc: "Who owns the incident, usually a user principal name.",
        },
    ],
    outputs: &[OutputSpec {
        name: "status",
        ty: ParamType::String,
        doc: "Outcome of the step (not the incident's status): `succeeded` when Defender \
              accepted the change, else `failed`.",
    }],
    impact: Impact::Low,
    reverse: None,
    acts_on: None,
    params_check: Some(check_params),
    replaces: true,
    providers: &[
        ProviderSupport {
            provider: Provider::Microsoft,
            service: "Defender XDR",
            application: Application::Mde,
            permission: "Microsoft Graph SecurityIncident.ReadWrite.All",
            consent: Consent::AppOnly,
            operation: "PATCH /v1.0/security/incidents/{id}",
            needs: &[],
            refuses: None,
        },
        ProviderSupport {
            provider: Provider::Sentinel,
            service: "Microsoft Sentinel",
            application: Application::Api,
            permission: "Azure Service Management user_impersonation",
            consent: Consent::Standing,
            operation: "PUT /subscriptions/{sub}/resourceGroups/{rg}/providers/Microsoft.OperationalInsights/workspaces/{ws}/providers/Microsoft.SecurityInsights/incidents/{id}",
            needs: &[],
            refuses: None,
        },
        ProviderSupport {
            provider: Provider::CrowdStrike,
            service: "Falcon Alerts",
            application: Application::CrowdStrikeResponse,
            permission: "Falcon Alerts: Write",
            consent: Consent::AppOnly,
            operation: "PATCH /alerts/entities/alerts/v3 (actions update_status, assign_to_uuid)",
            needs: &[],
            refuses: None,
        },
        ProviderSupport {
            provider: Provider::SentinelOne,
            service: "Singularity Threats",
            application: Application::SentinelOneResponse,
            permission: "SentinelOne Threats: Write",
            consent: Consent::AppOnly,
            operation: "POST /web/api/v2.1/threats/incident",
            needs: &[],
            refuses: None,
        },
    ],
    examples: &[
        Example {
            title: "Resolve the incident as a true positive",
            step: r#"id: resolve_incident
action: incident.update
params:
  status: resolved
  classification: true_positive
  reason: malware
"#,
        },
        Example {
            title: "Raise the severity and hand the incident to tier 2",
            step: r#"id: escalate_incident
action: incident.update
params:
  status: in_progress
  severity: high
  assignee: "tier2@contoso.com"
"#,
        },
    ],
};

/// Nothing to change, a classification without its reason, or a reason that is not one of its
/// classification's ("a reason is required whenever a classification is set").
fn check_params(given: &[(&str, &crate::value::Value)]) -> Option<ParamsProblem> {
    use crate::ast::Classification;
    use crate::value::Value;
    let text = |name: &str| {
        given.iter().find_map(|(n, v)| match v {
            Value::String(s) if *n == name => Some(s.to_string()),
            _ => None,
        })
    };
    if given.iter().all(|(_, v)| v.is_null()) {
        return Some(ParamsProblem::Missing(
            "`incident.update` changes nothing without a parameter; give at least one of \
             `status`, `classification` (with its `reason`), `severity`, `assignee`"
                .into(),
        ));
    }
    match (text("classification"), text("reason")) {
        (Some(c), None) => Some(ParamsProblem::Missing(format!(
            "classification `{c}` needs a `reason`: one of {}",
            Classification::parse(&c).map_or_else(String::new, |c| listed(c.reasons()))
        ))),
        (None, Some(r)) => Some(ParamsProblem::Missing(format!(
            "reason `{r}` needs the `classification` it explains"
        ))),
        (Some(c), Some(r)) => {
            let verdict = Classification::parse(&c)?;
            (!verdict.reasons().contains(&r.as_str())).then(|| {
                ParamsProblem::Mismatched(format!(
                    "reason `{r}` is not one of classification `{c}`: its reasons are {}",
                    listed(verdict.reasons())
                ))
            })
        }
        (None, None) => None,
    }
}

fn listed(names: &[&str]) -> String {
    crate::diagnostic::ticked(names)
}
