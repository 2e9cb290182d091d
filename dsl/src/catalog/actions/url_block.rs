//! `url.block`: a Defender for Endpoint indicator on a URL.

use crate::catalog::{
    ActionSpec, Application, Consent, Example, Impact, ParamSpec, ParamType, Provider,
    ProviderSupport, Target,
};
use crate::types::EntityKind;

use super::indicator;

pub(crate) const SPEC: ActionSpec = ActionSpec {
    id: "url.block",
    title: "Block URL",
    doc: "Creates a Defender for Endpoint `Url` indicator, so every onboarded device of the \
          tenant applies `action` when a browser or app opens the URL. Microsoft Edge enforces \
          it through SmartScreen; other browsers and apps need network protection on in block \
          mode, and for HTTPS they can only match the host name, not the full path. Posting \
          the same URL again updates the existing indicator. `audit` only raises an alert; \
          `warn` lets the user continue past a warning page. Without `expires_in` the \
          indicator stays until someone deletes it in the Defender portal.",
    target: Target::Entity(EntityKind::Url),
    params: &[
        ParamSpec {
            name: "action",
            ty: ParamType::Enum(&["block", "audit", "warn"]),
            required: false,
            note: false,
            default: Some("block"),
            doc: "What devices do when the URL is opened.",
        },
        ParamSpec {
            name: "expires_in",
            ty: ParamType::Duration,
            required: false,
            note: false,
            default: None,
            doc: "How long the indicator lasts, e.g. `30d`; omitted, it never expires.",
        },
        indicator::SEVERITY,
        indicator::TITLE,
        indicator::DESCRIPTION,
        indicator::GENERATE_ALERT,
    ],
    outputs: indicator::OUTPUTS,
    impact: Impact::Low,
    reverse: None,
    acts_on: None,
    params_check: Some(indicator::check_params),
    replaces: true,
    providers: &[ProviderSupport {
        provider: Provider::Microsoft,
        service: "Defender for Endpoint",
        application: Application::GamebooksMde,
        permission: "WindowsDefenderATP Ti.ReadWrite.All",
        consent: Consent::AppOnly,
        operation: "POST /api/indicators (indicatorType Url)",
        needs: &[&["url"]],
        refuses: None,
    }],
    examples: &[Example {
        title: "Block the malicious URLs of a phishing incident for 30 days",
        step: r#"id: block_urls
for_each:
  items: incident.urls
  as: link
  filter: "link.verdict == 'malicious'"
action: url.block
target: link
params:
  action: block
  expires_in: 30d
  title: "Riposte: phishing URL from incident {{ incident.id }}"
  description: "Blocked {{ link.url }}"
"#,
    }],
};
