//! `user.disable`: block a user from signing in.

use crate::catalog::{
    ActionSpec, Application, Consent, Example, Impact, OutputSpec, ParamType, Provider,
    ProviderSupport, Target,
};
use crate::types::EntityKind;

pub(crate) const SPEC: ActionSpec = ActionSpec {
    id: "user.disable",
    title: "Disable user account",
    doc: "Turns the Entra ID account off (`accountEnabled: false`): the user can no longer sign \
          in to any Microsoft service. Sessions and access tokens issued before stay valid \
          until they expire, so follow it with `user.revoke_sessions`. Accounts that hold \
          privileged admin roles can only be changed by a caller with at least the same \
          privilege; Graph then refuses with 403 and the step fails. Accounts synced from \
          on-premises Active Directory must be disabled there. It locks the user out of \
          everything, so it is high-impact; `user.enable` undoes it.",
    target: Target::Entity(EntityKind::User),
    params: &[],
    outputs: &[OutputSpec {
        name: "status",
        ty: ParamType::String,
        doc: "`succeeded` when the account is disabled, else `failed`.",
    }],
    impact: Impact::High,
    reverse: Some("user.enable"),
    acts_on: None,
    params_check: None,
    replaces: true,
    providers: &[ProviderSupport {
        provider: Provider::Microsoft,
        service: "Entra ID",
        application: Application::GamebooksIdentity,
        permission: "Microsoft Graph User.EnableDisableAccount.All",
        consent: Consent::AppOnly,
        operation: "PATCH /v1.0/users/{id} {\"accountEnabled\": false}",
        needs: super::ENTRA_USER,
        refuses: None,
    }],
    examples: &[Example {
        title: "Disable every compromised user once a Workspace Owner approves",
        step: r#"id: disable_compromised_users
for_each: 'filter(incident.users, u => "compromised" in u.roles)'
action: user.disable
target: item
approval:
  role: workspace_owner
  timeout: 2h
  on_timeout: reject
"#,
    }],
};
