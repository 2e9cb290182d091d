//! `user.revoke_sessions`: sign a user out everywhere.

use crate::catalog::{
    ActionSpec, Application, Consent, Example, Impact, OutputSpec, ParamType, Provider,
    ProviderSupport, Target,
};
use crate::types::EntityKind;

pub(crate) const SPEC: ActionSpec = ActionSpec {
    id: "user.revoke_sessions",
    title: "Revoke sign-in sessions",
    doc: "Invalidates every refresh token and browser session cookie of the Entra ID user, so \
          each app has to sign the user in again. It takes effect after a delay of a few \
          minutes, and access tokens already issued are not recalled: they work until they \
          expire (typically within an hour). Pair it with `user.disable` to keep an attacker \
          out, or with `user.reset_password` so a stolen password no longer helps. It does \
          not end the sessions of external (guest) users in their home tenant.",
    target: Target::Entity(EntityKind::User),
    params: &[],
    outputs: &[OutputSpec {
        name: "status",
        ty: ParamType::String,
        doc: "`succeeded` when Entra ID accepted the revocation, else `failed`.",
    }],
    impact: Impact::Low,
    reverse: None,
    acts_on: None,
    params_check: None,
    replaces: false,
    providers: &[ProviderSupport {
        provider: Provider::Microsoft,
        service: "Entra ID",
        application: Application::GamebooksIdentity,
        permission: "Microsoft Graph User.ReadWrite.All",
        consent: Consent::AppOnly,
        operation: "POST /v1.0/users/{id}/revokeSignInSessions",
        needs: super::ENTRA_USER,
        refuses: None,
    }],
    examples: &[Example {
        title: "Sign every compromised user out",
        step: r#"id: revoke_sessions
for_each:
  items: incident.users
  as: u
  filter: "'compromised' in u.roles"
action: user.revoke_sessions
target: u
"#,
    }],
};
