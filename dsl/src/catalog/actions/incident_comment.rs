//! `incident.comment`: add a comment to the incident.

use crate::catalog::{
    ActionSpec, Application, Consent, Example, Impact, OutputSpec, ParamSpec, ParamType, Provider,
    ProviderSupport, Target,
};

pub(crate) const SPEC: ActionSpec = ActionSpec {
    id: "incident.comment",
    title: "Comment on incident",
    doc: "Adds a comment to the incident where it comes from (Microsoft Defender XDR, \
          Microsoft Sentinel, Falcon, Singularity), where analysts of the customer tenant see \
          it next to the alerts. Use it to record what a gamebook did and \
          why: the text may hold `{{ }}` templates, including outputs of earlier steps. \
          Treat comments as permanent and keep secrets out of them. The \
          step acts on the incident itself and takes no `target:`.",
    target: Target::Incident,
    params: &[ParamSpec {
        name: "comment",
        ty: ParamType::String,
        required: true,
        note: false,
        default: None,
        doc: "The comment text.",
    }],
    outputs: &[OutputSpec {
        name: "status",
        ty: ParamType::String,
        doc: "`succeeded` when the comment was added, else `failed`.",
    }],
    impact: Impact::Low,
    reverse: None,
    acts_on: None,
    params_check: None,
    replaces: false,
    providers: &[
        ProviderSupport {
            provider: Provider::Microsoft,
            service: "Defender XDR",
            application: Application::Mde,
            permission: "Microsoft Graph SecurityIncident.ReadWrite.All",
            consent: Consent::AppOnly,
            operation: "POST /v1.0/security/incidents/{id}/comments",
            needs: &[],
            refuses: None,
        },
        ProviderSupport {
            provider: Provider::Sentinel,
            service: "Microsoft Sentinel",
            application: Application::Api,
            permission: "Azure Service Management user_impersonation",
            consent: Consent::Standing,
            operation: "PUT /subscriptions/{sub}/resourceGroups/{rg}/providers/Microsoft.OperationalInsights/workspaces/{ws}/providers/Microsoft.SecurityInsights/incidents/{id}/comments/{commentId}",
            needs: &[],
            refuses: None,
        },
        ProviderSupport {
            provider: Provider::CrowdStrike,
            service: "Falcon Alerts",
            application: Application::CrowdStrikeResponse,
            permission: "Falcon Alerts: Write",
            consent: Consent::AppOnly,
            operation: "PATCH /alerts/entities/alerts/v3 (action append_comment)",
            needs: &[],
            refuses: None,
        },
        ProviderSupport {
            provider: Provider::SentinelOne,
            service: "Singularity Threats",
            application: Application::SentinelOneResponse,
            permission: "SentinelOne Threats: Write",
            consent: Consent::AppOnly,
            operation: "POST /web/api/v2.1/threats/notes",
            needs: &[],
            refuses: None,
        },
    ],
    examples: &[Example {
        title: "Record the response on the incident",
        step: r#"id: note_response
action: incident.comment
params:
  comment: "Riposte contained incident {{ incident.id }}: devices isolated, users disabled."
"#,
    }],
};
