//! `email.soft_delete`: pull a message out of its recipient's mailbox, recoverably.

use crate::catalog::{
    ActionSpec, ActsOn, Application, Consent, Example, Impact, OutputSpec, ParamType, Provider,
    ProviderSupport, Target,
};
use crate::types::EntityKind;

pub(crate) const SPEC: ActionSpec = ActionSpec {
    id: "email.soft_delete",
    title: "Soft delete email",
    doc: "Finds the message in its recipient's Exchange Online mailbox by Internet message id \
          and moves it to the hidden Recoverable Items folder: it disappears from every \
          folder the user sees, but an admin (or the user, through Recover Deleted Items) can \
          still bring it back. One email entity is one recipient's copy; a campaign sent to \
          many people appears as many entities, so iterate over `incident.emails`. When the \
          message is no longer in the mailbox (already moved or deleted) the step succeeds \
          with status `not_found`. Needs Exchange Online licences in the tenant; the \
          application cannot send mail.",
    target: Target::Entity(EntityKind::Email),
    params: &[],
    outputs: &[
        OutputSpec {
            name: "message_id",
            ty: ParamType::String,
            doc: "Graph id of the moved copy in Recoverable Items (the move gives the message a \
                  new id); empty when the message was not found.",
        },
        OutputSpec {
            name: "status",
            ty: ParamType::String,
            doc: "`succeeded` when the message was moved, `not_found` when the mailbox no \
                  longer held it, else `failed`.",
        },
    ],
    impact: Impact::Low,
    reverse: None,
    // The recipient's mailbox it deletes from.
    acts_on: Some(ActsOn {
        param: None,
        target_field: "recipient",
        found_in: &[("users", "upn"), ("mailboxes", "primary_address")],
        named_by: None,
    }),
    params_check: None,
    replaces: false,
    providers: &[ProviderSupport {
        provider: Provider::Microsoft,
        service: "Exchange Online",
        application: Application::GamebooksEmail,
        permission: "Microsoft Graph Mail.ReadWrite",
        consent: Consent::AppOnly,
        operation: "POST /v1.0/users/{recipient}/messages/{id}/move \
                    {\"destinationId\": \"recoverableitemsdeletions\"}",
        needs: &[&["internet_message_id"], &["recipient"]],
        refuses: None,
    }],
    examples: &[
        Example {
            title: "Remove every malicious email of the incident from its mailbox",
            step: r#"id: delete_phish
for_each:
  items: incident.emails
  as: mail
  filter: "mail.verdict == 'malicious'"
action: email.soft_delete
target: mail
"#,
        },
        Example {
            title: "Remove all the incident's emails",
            step: r#"id: delete_all_emails
for_each: incident.emails
action: email.soft_delete
"#,
        },
    ],
};
