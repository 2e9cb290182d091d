//! `device.unisolate`: give an isolated device its network back.

use crate::catalog::{
    ActionSpec, Application, Consent, Example, Impact, OutputSpec, ParamSpec, ParamType, Provider,
    ProviderSupport, Target,
};
use crate::types::EntityKind;

pub(crate) const SPEC: ActionSpec = ActionSpec {
    id: "device.unisolate",
    title: "Release device from isolation",
    doc: "Restores full network connectivity to a device isolated by `device.isolate` or by an \
          analyst in the EDR console. Release it only once the device is clean. On Defender for \
          Endpoint the release is itself a machine action: it waits for the device to check \
          in, and asking again while one is pending fails with `Action is already in progress`. \
          CrowdStrike lifts containment; SentinelOne reconnects the agent to the network. \
          Releasing a device that is not isolated succeeds without effect.",
    target: Target::Entity(EntityKind::Device),
    params: &[ParamSpec {
        name: "comment",
        ty: ParamType::String,
        required: false,
        note: true,
        default: Some("Released from isolation by Riposte"),
        doc: "Reason recorded with the machine action in the EDR console.",
    }],
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
    impact: Impact::Low,
    reverse: Some("device.isolate"),
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
            operation: "POST /api/machines/{id}/unisolate",
            needs: super::MDE_DEVICE,
            refuses: None,
        },
        ProviderSupport {
            provider: Provider::CrowdStrike,
            service: "Falcon",
            application: Application::CrowdStrikeResponse,
            permission: "Falcon Hosts: Write",
            consent: Consent::AppOnly,
            operation: "POST /devices/entities/devices-actions/v2?action_name=lift_containment",
            needs: &[],
            refuses: None,
        },
        ProviderSupport {
            provider: Provider::SentinelOne,
            service: "Singularity Endpoint",
            application: Application::SentinelOneResponse,
            permission: "SentinelOne Endpoint: Network Quarantine",
            consent: Consent::AppOnly,
            operation: "POST /web/api/v2.1/agents/actions/connect",
            needs: &[],
            refuses: None,
        },
    ],
    examples: &[Example {
        title: "Release the incident's devices when it was a false positive",
        step: r#"id: release_devices
for_each: incident.devices
action: device.unisolate
target: item
params:
  comment: "Released by Riposte: incident {{ incident.id }} was a false positive"
"#,
    }],
};
