//! `device.offboard`: remove a device from Defender for Endpoint.

use crate::catalog::{
    ActionSpec, Application, Consent, Example, Impact, OutputSpec, ParamSpec, ParamType, Provider,
    ProviderSupport, Target,
};
use crate::types::EntityKind;

pub(crate) const SPEC: ActionSpec = ActionSpec {
    id: "device.offboard",
    title: "Offboard device",
    doc: "Removes the device from Defender for Endpoint by stopping its sensor: from then on \
          it sends no telemetry and raises no alerts, and no further response action can reach \
          it. Meant for devices that are retired, lost, or beyond saving. Windows only (macOS \
          and Linux devices cannot be offboarded this way): a device whose `os_platform` is \
          known and is not Windows is blocked. There is no reverse action: \
          bringing the device back means running the onboarding package on it again. It \
          removes endpoint management, so it is high-impact.",
    target: Target::Entity(EntityKind::Device),
    params: &[ParamSpec {
        name: "comment",
        ty: ParamType::String,
        required: false,
        note: true,
        default: Some("Offboarded by Riposte"),
        doc: "Reason recorded with the machine action in the Defender portal.",
    }],
    outputs: &[
        OutputSpec {
            name: "machine_action_id",
            ty: ParamType::String,
            doc: "Id of the Defender for Endpoint machine action.",
        },
        OutputSpec {
            name: "status",
            ty: ParamType::String,
            doc: "Final state of the machine action: `succeeded`, `failed`, `timed_out` or \
                  `cancelled`.",
        },
    ],
    impact: Impact::High,
    reverse: None,
    acts_on: None,
    params_check: None,
    replaces: false,
    providers: &[ProviderSupport {
        provider: Provider::Microsoft,
        service: "Defender for Endpoint",
        application: Application::GamebooksMde,
        permission: "WindowsDefenderATP Machine.Offboard",
        consent: Consent::AppOnly,
        operation: "POST /api/machines/{id}/offboard",
        needs: super::MDE_DEVICE,
        refuses: Some(not_windows),
    }],
    examples: &[Example {
        title: "Offboard devices judged malicious, after owner approval",
        step: r#"id: offboard_devices
for_each:
  items: incident.devices
  as: device
  filter: "device.verdict == 'malicious'"
action: device.offboard
target: device
params:
  comment: "Offboarded for incident {{ incident.id }}"
approval:
  role: workspace_owner
  timeout: 24h
  on_timeout: reject
"#,
    }],
};

/// Defender for Endpoint offboards Windows devices only: a device whose OS platform is known
/// and is not Windows (`linux`, `macos`) cannot be offboarded through the API.
fn not_windows(
    device: &crate::value::Value,
    _: &[(&str, crate::value::Value)],
    _: &[&crate::value::Value],
) -> Option<String> {
    let os = super::os_not_windows(device)?;
    Some(format!(
        "the device runs `{os}`; Defender for Endpoint offboards Windows devices only, not macOS \
         or Linux ones"
    ))
}
