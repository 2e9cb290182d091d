//! `file.quarantine`: stop a file on the device it was seen on and quarantine it.

use crate::catalog::{
    ActionSpec, ActsOn, Application, Consent, Example, Impact, OutputSpec, ParamSpec, ParamType,
    Provider, ProviderSupport, Target,
};
use crate::types::EntityKind;

pub(crate) const SPEC: ActionSpec = ActionSpec {
    id: "file.quarantine",
    title: "Stop and quarantine file",
    doc: "Kills every process running the file on one device and moves the file into \
          antivirus quarantine. It needs the file's SHA-1 and the Defender for Endpoint device \
          the file was seen on; both come from the file evidence, and `device_id` overrides \
          the device. Without either the action is blocked, as it is when the device is named \
          by its host name rather than its MDE id (Sentinel names a host without an MDE id \
          so). Defender refuses Microsoft-signed \
          files and files from trusted publishers; the device needs Windows 10 1703 or later \
          or Windows 11, with Defender Antivirus at least in passive mode (a device the \
          incident knows to run macOS or Linux is blocked). It acts on one \
          device only: a file seen on several lists them all in `device_ids`, and a for-each \
          over them with `device_id: \"{{ d }}\"` stops it on each; to stop it everywhere, add \
          `file.block`. Restoring a quarantined file is done from the Defender portal.",
    target: Target::Entity(EntityKind::File),
    params: &[
        ParamSpec {
            name: "comment",
            ty: ParamType::String,
            required: false,
            note: true,
            default: Some("Quarantined by Riposte"),
            doc: "Reason recorded with the machine action in the Defender portal.",
        },
        ParamSpec {
            name: "device_id",
            ty: ParamType::String,
            required: false,
            note: false,
            default: None,
            doc: "Defender for Endpoint device id to act on, when it is not the device recorded \
                  with the file evidence.",
        },
    ],
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
    impact: Impact::Low,
    reverse: None,
    // The device it stops the file on: `device_id`, else the one the file was seen on.
    acts_on: Some(ActsOn {
        param: Some("device_id"),
        target_field: "device_id",
        // By host name too: a Sentinel host without an MDE id is named by it.
        found_in: &[("devices", "mde_device_id"), ("devices", "hostname")],
        // `StopAndQuarantineFile` names the machine by its MDE id, never by its host name.
        named_by: Some("mde_device_id"),
    }),
    params_check: None,
    replaces: false,
    providers: &[ProviderSupport {
        provider: Provider::Microsoft,
        service: "Defender for Endpoint",
        application: Application::GamebooksMde,
        permission: "WindowsDefenderATP Machine.StopAndQuarantine",
        consent: Consent::AppOnly,
        operation: "POST /api/machines/{id}/StopAndQuarantineFile",
        needs: &[&["sha1"], &["device_id"]],
        refuses: Some(quarantines_on_windows_only),
    }],
    examples: &[Example {
        title: "Quarantine every malicious file of the incident",
        step: r#"id: quarantine_files
for_each:
  items: incident.files
  as: f
  filter: "f.verdict == 'malicious'"
action: file.quarantine
target: f
params:
  comment: "Quarantined {{ f.sha1 }} for incident {{ incident.id }}"
"#,
    }],
};

/// Defender for Endpoint stops and quarantines files on Windows devices only (Windows 10 1703
/// or later, Windows 11): the device the file would be stopped on, when the incident knows it
/// and its OS platform, and that is not Windows (`linux`, `macos`), refuses it.
fn quarantines_on_windows_only(
    _: &crate::value::Value,
    _: &[(&str, crate::value::Value)],
    acted_on: &[&crate::value::Value],
) -> Option<String> {
    let os = acted_on.iter().find_map(|d| super::os_not_windows(d))?;
    Some(format!(
        "the device runs `{os}`; Defender for Endpoint stops and quarantines files on Windows \
         devices only, not macOS or Linux ones"
    ))
}
