//! `device.full_scan`: an antivirus scan of every file on the device.

use crate::catalog::{
    ActionSpec, Application, Consent, Example, Impact, OutputSpec, ParamSpec, ParamType, Provider,
    ProviderSupport, Target,
};
use crate::types::EntityKind;

pub(crate) const SPEC: ActionSpec = ActionSpec {
    id: "device.full_scan",
    title: "Full antivirus scan",
    doc: "Starts an antivirus scan of every file on the device's local drives. It can run for \
          hours and slows the device down meanwhile; prefer `device.quick_scan` for a first \
          look. On Defender for Endpoint it runs Microsoft Defender Antivirus (Windows 10 1709 \
          or later, Windows 11: a device whose `os_platform` is known and is not Windows is \
          blocked there), also when it is in passive mode; a second scan requested while \
          one is pending fails with `Action is already in progress`. CrowdStrike runs an \
          on-demand scan of all local files; SentinelOne runs its full disk scan. Anything the \
          scan finds arrives as new alerts, not as step outputs.",
    target: Target::Entity(EntityKind::Device),
    params: &[ParamSpec {
        name: "comment",
        ty: ParamType::String,
        required: false,
        note: true,
        default: Some("Full scan requested by Riposte"),
        doc: "Reason recorded with the scan request in the EDR console.",
    }],
    outputs: &[
        OutputSpec {
            name: "machine_action_id",
            ty: ParamType::String,
            doc: "Id of the provider's request: the Defender for Endpoint machine action or the \
                  Falcon on-demand scan; empty for SentinelOne.",
        },
        OutputSpec {
            name: "status",
            ty: ParamType::String,
            doc: "Final state of the request: `succeeded`, `failed`, `timed_out` or `cancelled` \
                  (the last two only for Defender for Endpoint).",
        },
    ],
    impact: Impact::Low,
    reverse: None,
    acts_on: None,
    params_check: None,
    replaces: false,
    providers: &[
        ProviderSupport {
            provider: Provider::Microsoft,
            service: "Defender for Endpoint",
            application: Application::GamebooksMde,
            permission: "WindowsDefenderATP Machine.Scan",
            consent: Consent::AppOnly,
            operation: "POST /api/machines/{id}/runAntiVirusScan (ScanType Full)",
            needs: super::MDE_DEVICE,
            refuses: Some(super::scans_windows_only),
        },
        ProviderSupport {
            provider: Provider::CrowdStrike,
            service: "Falcon",
            application: Application::CrowdStrikeResponse,
            permission: "Falcon On-Demand Scans (ODS): Write",
            consent: Consent::AppOnly,
            operation: "POST /ods/entities/scans/v1 (all local files)",
            needs: &[],
            refuses: None,
        },
        ProviderSupport {
            provider: Provider::SentinelOne,
            service: "Singularity Endpoint",
            application: Application::SentinelOneResponse,
            permission: "SentinelOne Endpoint: Initiate Scan",
            consent: Consent::AppOnly,
            operation: "POST /web/api/v2.1/agents/actions/initiate-scan",
            needs: &[],
            refuses: None,
        },
    ],
    examples: &[Example {
        title: "Full-scan the devices that hold a malicious file",
        step: r#"id: full_scan_devices
for_each:
  items: incident.devices
  as: device
  filter: "device.verdict == 'malicious'"
action: device.full_scan
target: device
params:
  comment: "Full scan of {{ device.hostname }} for incident {{ incident.id }}"
"#,
    }],
};
