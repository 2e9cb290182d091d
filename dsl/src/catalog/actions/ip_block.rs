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
            note: false,
            default: Some("block"),
            doc: "What devices do on a connection with the address.",
        },
        ParamSpec {
            name: "expires_in",
            ty: ParamType::Duration,
            required: false,
            note: false,
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
    params_check: Some(indicator::check_params),
    replaces: true,
    providers: &[ProviderSupport {
        provider: Provider::Microsoft,
        service: "Defender for Endpoint",
        application: Application::GamebooksMde,
        permission: "WindowsDefenderATP Ti.ReadWrite.All",
        consent: Consent::AppOnly,
        operation: "POST /api/indicators (indicatorType IpAddress)",
        needs: &[&["address"]],
        refuses: Some(private_address),
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

/// Defender for Endpoint refuses indicators of addresses that are not public: private,
/// loopback, link-local, shared (carrier-grade NAT), multicast or unspecified ones.
fn private_address(
    ip: &crate::value::Value,
    _: &[(&str, crate::value::Value)],
    _: &[&crate::value::Value],
) -> Option<String> {
    use crate::value::Value;
    let Value::Record(r) = ip else { return None };
    let Some(Value::Ip(addr)) = r.ty().field("address").and_then(|(i, _)| r.fields().get(i)) else {
        return None;
    };
    (!is_public(*addr)).then(|| {
        format!(
            "`{addr}` is not a public address; Defender takes indicators of public addresses only"
        )
    })
}

fn is_public(addr: std::net::IpAddr) -> bool {
    use std::net::IpAddr;
    match addr {
        IpAddr::V4(a) => {
            let [first, second, ..] = a.octets();
            !(a.is_private()
                || a.is_loopback()
                || a.is_link_local()
                || a.is_unspecified()
                || a.is_broadcast()
                || a.is_multicast()
                || (first == 100 && (64..128).contains(&second)))
        }
        IpAddr::V6(a) => match a.to_ipv4_mapped() {
            Some(v4) => is_public(IpAddr::V4(v4)),
            None => {
                !(a.is_loopback()
                    || a.is_unspecified()
                    || a.is_multicast()
                    || a.is_unicast_link_local()
                    || a.is_unique_local())
            }
        },
    }
}
