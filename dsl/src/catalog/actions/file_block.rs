//! `file.block`: a Defender for Endpoint indicator on the file's hash.

use crate::catalog::{
    ActionSpec, Application, Consent, Example, Impact, ParamSpec, ParamType, Provider,
    ProviderSupport, Target,
};
use crate::types::EntityKind;

use super::indicator;

pub(crate) const SPEC: ActionSpec = ActionSpec {
    id: "file.block",
    title: "Block file hash",
    doc: "Creates a Defender for Endpoint indicator for the file's hash (SHA-256 when the \
          evidence has it, else SHA-1, else MD5), so every onboarded device of the tenant \
          applies `action` whenever it meets the file. Posting the same hash again updates \
          the existing indicator. `block_and_remediate` also quarantines copies already on \
          disk; `audit` only raises an alert; `warn` lets the user override the block. \
          Without `expires_in` the indicator stays until someone deletes it in the Defender \
          portal. To act at once on one device, pair it with `file.quarantine`.",
    target: Target::Entity(EntityKind::File),
    params: &[
        ParamSpec {
            name: "action",
            ty: ParamType::Enum(&["block", "block_and_remediate", "audit", "warn"]),
            required: false,
            note: false,
            default: Some("block_and_remediate"),
            doc: "What devices do when they meet the file.",
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
        operation: "POST /api/indicators (indicatorType FileSha256, FileSha1 or FileMd5)",
        needs: &[&["sha256", "sha1", "md5"]],
        refuses: None,
    }],
    examples: &[
        Example {
            title: "Block and remediate every malicious file for 90 days",
            step: r#"id: block_files
for_each:
  items: incident.files
  as: f
  filter: "f.verdict == 'malicious'"
action: file.block
target: f
params:
  action: block_and_remediate
  expires_in: 90d
  severity: high
  title: "Riposte block for incident {{ incident.id }}"
"#,
        },
        Example {
            title: "Audit suspicious files without blocking them",
            step: r#"id: audit_files
for_each:
  items: incident.files
  as: f
  filter: "f.verdict == 'suspicious'"
action: file.block
target: f
params:
  action: audit
  severity: low
"#,
        },
    ],
};
