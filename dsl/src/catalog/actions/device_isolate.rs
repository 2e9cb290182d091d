//! `device.isolate`: cut a device off the network, keeping its link to the EDR console.

use crate::catalog::{
    ActionSpec, Application, Consent, Example, Impact, OutputSpec, ParamSpec, ParamType, Provider,
    ProviderSupport, Target,
};
use crate::types::EntityKind;

pub(crate) const SPEC: ActionSpec = ActionSpec {
    id: "device.isolate",
    title: "Isolate device",
    doc: "Cuts the device off the network while it stays connected to its EDR service, so \
          analysts can keep investigating it and release it later with `device.unisolate`. \
          `full` blocks every connection except the security service's; `selective` \
          (Defender for Endpoint only, Windows 10 1709 or later: it is blocked on a device \
          whose `os_platform` is known and is not Windows) still lets Outlook, Teams and \
          Skype for Business through. Full isolation on Defender for Endpoint needs Windows 10 \
          1703 or later, Windows 11 or a supported Linux (it is blocked on a device whose \
          `os_platform` is known to be another, such as `macos`); a device behind a full-tunnel VPN can \
          lose its cloud connection while isolated. CrowdStrike (contain) and SentinelOne \
          (network disconnect) only isolate fully, so `selective` is blocked on them rather \
          than isolating more than asked. An offline device keeps the request pending until it \
          checks in. This can take a production system offline: it is high-impact.",
    target: Target::Entity(EntityKind::Device),
    params: &[
        ParamSpec {
            name: "isolation",
            ty: ParamType::Enum(&["full", "selective"]),
            required: false,
            note: false,
            default: Some("full"),
            doc: "`full` blocks all traffic but the EDR channel; `selective` keeps Microsoft \
                  collaboration apps working (Defender for Endpoint only).",
        },
        ParamSpec {
            name: "comment",
            ty: ParamType::String,
            required: false,
            note: true,
            default: Some("Isolated by Riposte"),
            doc: "Reason recorded with the machine action in the EDR console.",
        },
    ],
    outputs: &[
        OutputSpec {
            name: "machine_action_id",
            ty: ParamType::String,
            doc: "Id of the Defender for Endpoint machine action; empty for providers that \
                  return none.",
        },
        OutputSpec {
            name: "status",
            ty: ParamType::String,
            doc: "Final state of the request: `succeeded`, `failed`, `timed_out` or `cancelled` \
                  (the last two only for Defender for Endpoint).",
        },
    ],
    impact: Impact::High,
    reverse: Some("device.unisolate"),
    acts_on: None,
    params_check: None,
    replaces: true,
    providers: &[
        ProviderSupport {
            provider: Provider::Microsoft,
            service: "Defender for Endpoint",
            application: Application::GamebooksMde,
            permission: "WindowsDefenderATP Machine.Isolate",
            consent: Consent::AppOnly,
            operation: "POST /api/machines/{id}/isolate",
            needs: super::MDE_DEVICE,
            refuses: Some(off_mde_isolation_platforms),
        },
        ProviderSupport {
            provider: Provider::CrowdStrike,
            service: "Falcon",
            application: Application::CrowdStrikeResponse,
            permission: "Falcon Hosts: Write",
            consent: Consent::AppOnly,
            operation: "POST /devices/entities/devices-actions/v2?action_name=contain",
            needs: &[],
            refuses: Some(|_, params, _| full_only("Falcon (contain)", params)),
        },
        ProviderSupport {
            provider: Provider::SentinelOne,
            service: "Singularity Endpoint",
            application: Application::SentinelOneResponse,
            permission: "SentinelOne Endpoint: Network Quarantine",
            consent: Consent::AppOnly,
            operation: "POST /web/api/v2.1/agents/actions/disconnect",
            needs: &[],
            refuses: Some(|_, params, _| {
                full_only("Singularity Endpoint (network disconnect)", params)
            }),
        },
    ],
    examples: &[
        Example {
            title: "Isolate every device of the incident once a Workspace Owner approves",
            step: r#"id: isolate_devices
for_each: incident.devices
action: device.isolate
params:
  isolation: full
  comment: "Isolated by Riposte for incident {{ incident.id }}"
approval:
  role: workspace_owner
  timeout: 4h
  on_timeout: reject
"#,
        },
        Example {
            title: "Selectively isolate malicious devices, keeping Outlook and Teams",
            step: r#"id: isolate_malicious_devices
for_each:
  items: incident.devices
  as: device
  filter: "device.verdict == 'malicious'"
action: device.isolate
target: device
params:
  isolation: selective
  comment: "Selective isolation of {{ device.hostname }} for incident {{ incident.id }}"
approval:
  role: workspace_owner
  timeout: 1h
  on_timeout: fail
"#,
        },
    ],
};

/// Why a service that only isolates fully refuses `params`: selective isolation would isolate
/// more than asked.
fn full_only(service: &str, params: &[(&str, crate::value::Value)]) -> Option<String> {
    let selective = params.iter().any(|(name, v)| {
        *name == "isolation"
            && matches!(v, crate::value::Value::String(s) if s.as_str() == "selective")
    });
    selective.then(|| {
        format!(
            "{service} isolates fully only, so `isolation: selective` would isolate more than \
             asked; isolate this device with `isolation: full`"
        )
    })
}

/// Defender for Endpoint isolates fully on Windows (10 1703 or later, 11) and Linux, and
/// selectively on Windows only (10 1709 or later): why it refuses to isolate a device whose OS
/// platform is known and is not one of those (`macos`, `ios`, `android`).
fn off_mde_isolation_platforms(
    device: &crate::value::Value,
    params: &[(&str, crate::value::Value)],
    _: &[&crate::value::Value],
) -> Option<String> {
    use crate::value::Value;
    let selective = params.iter().any(|(name, v)| {
        *name == "isolation" && matches!(v, Value::String(s) if s.as_str() == "selective")
    });
    let os = super::os_not_windows(device)?;
    if selective {
        return Some(format!(
            "the device runs `{os}`; Defender for Endpoint isolates selectively on Windows only, \
             so isolate this device with `isolation: full`"
        ));
    }
    (!super::is_linux(os)).then(|| {
        format!(
            "the device runs `{os}`; Defender for Endpoint isolates Windows and Linux devices \
             only"
        )
    })
}
