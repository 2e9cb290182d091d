//! `user.enable`: let a disabled user sign in again.

use crate::catalog::{
    ActionSpec, Application, Consent, Example, Impact, OutputSpec, ParamType, Provider,
    ProviderSupport, Target,
};
use crate::types::EntityKind;

pub(crate) const SPEC: ActionSpec = ActionSpec {
    id: "user.enable",
    title: "Enable user account",
    doc: "Turns the Entra ID account back on (`accountEnabled: true`) after `user.disable` or \
          a manual lockout. Sessions revoked meanwhile stay revoked: the user signs in afresh. \
          The same limits as for disabling apply: privileged admin accounts need a caller with \
          at least the same privilege, and accounts synced from on-premises Active Directory \
          must be enabled there.",
    target: Target::Entity(EntityKind::User),
    params: &[],
    outputs: &[OutputSpec {
        name: "status",
        ty: ParamType::String,
        doc: "`succeeded` when the account is enabled, else `failed`.",
    }],
    impact: Impact::Low,
    reverse: Some("user.disable"),
    acts_on: None,
    params_check: None,
    replaces: true,
    providers: &[ProviderSupport {
        provider: Provider::Microsoft,
        service: "Entra ID",
        application: Application::GamebooksIdentity,
        permission: "Microsoft Graph User.EnableDisableAccount.All",
        consent: Consent::AppOnly,
        operation: "PATCH /v1.0/users/{id} {\"accountEnabled\": true}",
        needs: super::ENTRA_USER,
        refuses: None,
    }],
    examples: &[Example {
        title: "Re-enable the incident's users after a false positive",
        step: r#"id: enable_users
for_each: incident.users
action: user.enable
"#,
    }],
};
