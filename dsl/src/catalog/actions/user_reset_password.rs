//! `user.reset_password`: give a user a new temporary password (delegated only).

use crate::catalog::{
    ActionSpec, Application, Consent, Example, Impact, OutputSpec, ParamType, Provider,
    ProviderSupport, Target,
};
use crate::types::EntityKind;

pub(crate) const SPEC: ActionSpec = ActionSpec {
    id: "user.reset_password",
    title: "Reset user password",
    doc: "Replaces the Entra ID user's password with a new temporary one, which the user must \
          change at the next sign-in. Microsoft allows this only on behalf of a signed-in \
          admin, never app-only, so the step needs the delegated session of an admin who holds \
          Authentication Administrator, Privileged Authentication Administrator or Global \
          Administrator; nobody can reset their own account this way. Unattended runs \
          (autonomous agents) cannot perform it. Riposte generates the temporary password and \
          sends it with the call (`newPassword`), which hybrid tenants require: it reaches \
          on-premises AD through password writeback (a synchronized account in a tenant \
          without writeback cannot be reset from the cloud, and the call fails). The password \
          is shown once, to the admin whose signed-in session runs the step, who hands it to \
          the user; it is not a step output and never written to a plan, a comment or the \
          audit trail. A disabled account's password is reset too: the user signs in with it \
          once the account is enabled again. To be sure every existing session ends, add \
          `user.revoke_sessions`. High-impact, and there is no reverse.",
    target: Target::Entity(EntityKind::User),
    params: &[],
    outputs: &[
        OutputSpec {
            name: "operation_id",
            ty: ParamType::String,
            doc: "Id of the Entra ID long-running reset operation.",
        },
        OutputSpec {
            name: "status",
            ty: ParamType::String,
            doc: "`succeeded` when the reset operation completed, else `failed`.",
        },
    ],
    impact: Impact::High,
    reverse: None,
    acts_on: None,
    params_check: None,
    replaces: false,
    providers: &[ProviderSupport {
        provider: Provider::Microsoft,
        service: "Entra ID",
        application: Application::GamebooksIdentity,
        permission: "Microsoft Graph UserAuthenticationMethod.ReadWrite.All",
        consent: Consent::DelegatedOnly,
        operation: "POST /v1.0/users/{id}/authentication/methods/\
                    28c10230-6103-485e-b985-444c60001490/resetPassword",
        needs: super::ENTRA_USER,
        refuses: None,
    }],
    examples: &[Example {
        title: "Reset the passwords of compromised users after owner approval",
        step: r#"id: reset_passwords
for_each:
  items: incident.users
  as: u
  filter: "'compromised' in u.roles"
action: user.reset_password
target: u
approval:
  role: workspace_owner
  timeout: 4h
  on_timeout: reject
"#,
    }],
};
