//! `ip.block`: a Defender for Endpoint indicator on an IP address.

use crate::catalog::{
    ActionSpec, Application, Consent, Example, Impact, ParamSpec, ParamType, Provider,
    ProviderSupport, Target,
};
use crate::types::EntityKind;

use super::indicator;

pub(crate) const SPEC: ActionSpec = ActionSpec {
    id: "ip.block",
    title: "Block IP address",
    doc: "Creates a Defender for Endpoint `IpAddress` indicator, so every onboarded device of \
          the tenant applies `action` to connections with the address. Enforcement relies on \
          network protection being on in block mode on the devices. One address per \
          indicator: CIDR ranges are not accepted, and Defender only takes public (external) \
          addresses. Posting the same address again updates the existing indicator. `audit` \
          only raises an alert; `warn` lets the user continue past a warning page. Without \
          `expires_in` the indicator stays until someone deletes it in the Defender portal.",
    target: Target::Entity(EntityKind::Ip),
    params: &[
        ParamSpec {
            name: "action",
            ty: ParamType::Enum(&["block", "audit", "warn"]),
            required: false,
            default: Some("block"),
            doc: "What devices do on a connection with the address.",
        },
        ParamSpec {
            name: "expires_in",
            ty: ParamType::Duration,
            required: false,
            default: None,
            doc: "How long the indicator lasts, e.g. `7d`; omitted, it never expires. Addresses \
                  change hands, so an expiry is recommended.",
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
    providers: &[ProviderSupport {
        provider: Provider::Microsoft,
        service: "Defender for Endpoint",
        application: Application::GamebooksMde,
        permission: "WindowsDefenderATP Ti.ReadWrite.All",
        consent: Consent::AppOnly,
        operation: "POST /api/indicators (indicatorType IpAddress)",
        needs: &[&["address"]],
    }],
    examples: &[
        Example {
            title: "Block the incident's malicious addresses for a week",
            step: r#"id: block_ips
for_each:
  items: incident.ips
  as: addr
  filter: "addr.verdict == 'malicious'"
action: ip.block
target: addr
params:
  action: block
  expires_in: 7d
  severity: high
  title: "Riposte: {{ addr.address }} from incident {{ incident.id }}"
"#,
        },
        Example {
            title: "Warn users before they reach any address of the incident",
            step: r#"id: warn_ips
for_each: incident.ips
action: ip.block
params:
  action: warn
  expires_in: 30d
"#,
        },
    ],
};
