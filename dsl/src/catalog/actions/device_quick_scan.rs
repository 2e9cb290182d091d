//! `device.quick_scan`: a fast antivirus scan of the usual malware locations.

use crate::catalog::{
    ActionSpec, Application, Consent, Example, Impact, OutputSpec, ParamSpec, ParamType, Provider,
    ProviderSupport, Target,
};
use crate::types::EntityKind;

pub(crate) const SPEC: ActionSpec = ActionSpec {
    id: "device.quick_scan",
    title: "Quick antivirus scan",
    doc: "Starts an antivirus scan of the places malware usually lives (running processes, \
          startup entries, system and user profile folders). It takes minutes and barely \
          disturbs the user. On Defender for Endpoint it runs Microsoft Defender Antivirus \
          (Windows 10 1709 or later, Windows 11: a device whose `os_platform` is known and is \
          not Windows is blocked there), also when it is in passive mode beside \
          another antivirus; a second scan requested while one is pending fails with `Action \
          is already in progress`. On CrowdStrike it is an on-demand scan limited to those \
          locations. SentinelOne only offers a full disk scan: use `device.full_scan`. \
          Anything the scan finds arrives as new alerts, not as step outputs.",
    target: Target::Entity(EntityKind::Device),
    params: &[ParamSpec {
        name: "comment",
        ty: ParamType::String,
        required: false,
        note: true,
        default: Some("Quick scan requested by Riposte"),
        doc: "Reason recorded with the scan request in the EDR console.",
    }],
    outputs: &[
        OutputSpec {
            name: "machine_action_id",
            ty: ParamType::String,
            doc: "Id of the provider's request: the Defender for Endpoint machine action or the \
                  Falcon on-demand scan.",
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
            operation: "POST /api/machines/{id}/runAntiVirusScan (ScanType Quick)",
            needs: super::MDE_DEVICE,
            refuses: Some(super::scans_windows_only),
        },
        ProviderSupport {
            provider: Provider::CrowdStrike,
            service: "Falcon",
            application: Application::CrowdStrikeResponse,
            permission: "Falcon On-Demand Scans (ODS): Write",
            consent: Consent::AppOnly,
            operation: "POST /ods/entities/scans/v1 (common malware locations)",
            needs: &[],
            refuses: None,
        },
    ],
    examples: &[Example {
        title: "Quick-scan every device of the incident",
        step: r#"id: quick_scan_devices
for_each: incident.devices
action: device.quick_scan
params:
  comment: "Quick scan for incident {{ incident.id }}"
"#,
    }],
};
