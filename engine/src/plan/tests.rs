//! Plans of small inline libraries and incidents: modes, approvals, every blocked reason,
//! retries and error edges, for-each strategies and bounds, keys.

use serde_json::json;

use super::model::{Plan, Status};
use super::simulate;
use crate::executor::{RecordingExecutor, ScriptedFailure};
use crate::incident::{parse_incidents, ImportLimits, Incident};
use crate::scheduler::{Approvals, Refusals, RunConfig};
use crate::workspace::{Mode, ProtectedEntity, Workspace};
use riposte_dsl::compile::compile;
use riposte_dsl::syntax::Limits;
use riposte_dsl::{SourceFile, SourceMap};

fn library(files: &[&str]) -> riposte_dsl::checked::Library {
    let mut sources = SourceMap::new();
    for (i, f) in files.iter().enumerate() {
        sources.add(SourceFile::new(format!("f{i}.yaml"), *f));
    }
    let c = compile(&sources, &Limits::default(), Vec::new());
    assert!(!c.has_errors(), "{:#?}", c.diagnostics);
    c.library
}

fn incident(entities: serde_json::Value) -> Incident {
    let doc = json!({"format": "riposte.incident/v1", "incident": {
        "id": "42", "source": "defender_xdr", "title": "t", "severity": "high", "status": "active",
        "updated": "2026-01-01T00:00:00Z", "entities": entities,
    }});
    let (_, mut list) = parse_incidents("inline.json", &doc.to_string(), &ImportLimits::default())
        .expect("valid incident");
    list.remove(0)
}

fn device(id: &str, name: &str, extra: serde_json::Value) -> serde_json::Value {
    let mut d = json!({"id": id, "kind": "device", "name": name, "verdict": "malicious", "provider": "microsoft",
                       "fields": {"hostname": name, "mde_device_id": id}});
    if let (Some(d), Some(e)) = (d.as_object_mut(), extra.as_object()) {
        for (k, v) in e {
            d.insert(k.clone(), v.clone());
        }
    }
    d
}

/// Device `id` (its host name and MDE id too) of `provider`, running `os` when given.
fn device_on(id: &str, os: Option<&str>, provider: &str) -> serde_json::Value {
    let mut fields = json!({"hostname": id, "mde_device_id": id});
    if let Some(os) = os {
        fields["os_platform"] = json!(os);
    }
    device(id, id, json!({ "fields": fields, "provider": provider }))
}

/// Each action's step and status, in plan order.
fn steps_and_statuses(p: &Plan) -> Vec<(&str, Status)> {
    p.actions
        .iter()
        .map(|a| (a.step.as_str(), a.status))
        .collect()
}

/// An incident of `n` devices, `ws-0`…
fn devices(n: usize) -> Incident {
    incident(serde_json::Value::Array(
        (0..n)
            .map(|i| device(&format!("d{i}"), &format!("ws-{i}"), json!({})))
            .collect(),
    ))
}

/// An incident of `devices` devices whose description is `len` bytes long.
fn long_description(len: usize, devices: usize) -> Incident {
    let ents: Vec<serde_json::Value> = (0..devices)
        .map(|i| device(&format!("d{i}"), &format!("ws-{i}"), json!({})))
        .collect();
    let doc = json!({"format": "riposte.incident/v1", "incident": {
        "id": "42", "source": "defender_xdr", "title": "t", "severity": "high", "status": "active",
        "updated": "2026-01-01T00:00:00Z", "description": "d".repeat(len), "entities": ents,
    }});
    let (_, mut list) = parse_incidents("inline.json", &doc.to_string(), &ImportLimits::default())
        .expect("valid incident");
    list.remove(0)
}

fn user(id: &str, upn: &str) -> serde_json::Value {
    json!({"id": id, "kind": "user", "name": upn, "verdict": "malicious", "roles": ["compromised"], "provider": "microsoft",
           "fields": {"upn": upn}})
}

const ISOLATE: &str = r#"
kind: gamebook
name: iso
version: 1.0.0
steps:
  - id: isolate
    for_each: {items: incident.devices, as: d}
    action: device.isolate
    retry: {attempts: 3, backoff: 1s}
    on_error: tell
  - id: scan
    needs: [isolate]
    for_each: {items: incident.devices, as: d}
    action: device.quick_scan
  - id: tell
    action: incident.comment
    params: {comment: "isolation failed"}
"#;

fn sop(extra: &str) -> String {
    format!("kind: sop\ntype: response\nname: s\ngamebooks:\n  - gamebook: iso\n{extra}")
}

fn plan_with(
    lib: &riposte_dsl::checked::Library,
    ws: &Workspace,
    inc: &Incident,
    config: &RunConfig,
    failures: Vec<ScriptedFailure>,
) -> Plan {
    simulate(lib, ws, inc, config, &RecordingExecutor { failures })
}

/// Each row's step and status, in plan order.
fn step_statuses(p: &Plan) -> Vec<(&str, Status)> {
    p.actions
        .iter()
        .map(|a| (a.step.as_str(), a.status))
        .collect()
}

fn statuses(p: &Plan) -> Vec<(String, String, Status)> {
    p.actions
        .iter()
        .map(|a| {
            (
                a.step.clone(),
                a.target
                    .as_ref()
                    .map(|t| t.name.clone())
                    .unwrap_or_default(),
                a.status,
            )
        })
        .collect()
}

fn ws(mode: Mode) -> Workspace {
    let mut w = Workspace::demo();
    w.agent.mode = mode;
    w
}

/// The run of command-line words `--approve`, `--reject` and `--time-out` over `lib`.
fn decided(
    lib: &riposte_dsl::checked::Library,
    approve: &[&str],
    reject: &[&str],
    time_out: &[&str],
) -> RunConfig {
    let words = |w: &[&str]| w.iter().map(|s| s.to_string()).collect::<Vec<_>>();
    let approvals = Approvals::from_words(&words(approve), lib).expect("valid approvals");
    RunConfig {
        refusals: Refusals::from_words(&words(reject), &words(time_out), &approvals, lib)
            .expect("valid refusals"),
        approvals,
        ..RunConfig::default()
    }
}

#[test]
fn agent_modes_decide_default_approvals() {
    let lib = library(&[ISOLATE, &sop("")]);
    let inc = incident(json!([device("d1", "ws-1", json!({}))]));
    let config = RunConfig::default();
    let auto = plan_with(&lib, &ws(Mode::Automatic), &inc, &config, vec![]);
    assert_eq!(
        auto.actions[0].status,
        Status::AwaitingApproval,
        "isolation is high-impact"
    );
    assert_eq!(
        auto.actions[0].approval.as_ref().map(|a| a.role),
        Some("workspace_owner")
    );
    assert_eq!(
        auto.actions[1].status,
        Status::AwaitingApproval,
        "the scan waits on the isolation"
    );
    assert!(
        auto.actions[1].reason.contains("waits for step `isolate`"),
        "{}",
        auto.actions[1].reason
    );
    let autonomous = plan_with(&lib, &ws(Mode::Autonomous), &inc, &config, vec![]);
    assert_eq!(
        statuses(&autonomous)[..2],
        [
            ("isolate".into(), "ws-1".into(), Status::WouldRun),
            ("scan".into(), "ws-1".into(), Status::WouldRun)
        ]
    );
    let manual = plan_with(&lib, &ws(Mode::Manual), &inc, &config, vec![]);
    assert_eq!(manual.actions[0].status, Status::AwaitingApproval);
    assert!(manual.actions[0]
        .approval
        .as_ref()
        .is_some_and(|a| a.reason.contains("manual mode")));
    // Granting the step approves it.
    let granted = RunConfig {
        approvals: Approvals::Steps(vec!["isolate".into()]),
        ..RunConfig::default()
    };
    let auto = plan_with(&lib, &ws(Mode::Automatic), &inc, &granted, vec![]);
    assert_eq!(auto.actions[0].status, Status::WouldRun);
    assert_eq!(auto.summary.would_run, 2);
}

#[test]
fn approve_if_makes_approval_conditional() {
    let rule = "approval:\n  - {actions: [device.isolate], role: workspace_admin, approve_if: \"entity.name starts_with 'srv-'\"}\n";
    let lib = library(&[ISOLATE, &sop(rule)]);
    let inc = incident(json!([
        device("d1", "ws-1", json!({})),
        device("d2", "srv-1", json!({}))
    ]));
    let p = autonomous(&lib, &inc, Approvals::None);
    let isolations: Vec<_> = p.actions.iter().filter(|a| a.step == "isolate").collect();
    assert_eq!(isolations[0].status, Status::WouldRun);
    assert_eq!(isolations[1].status, Status::AwaitingApproval);
    let approval = isolations[1].approval.as_ref().expect("approval");
    // The rule names an admin, but only a Workspace Owner approves a high-impact action.
    assert_eq!(approval.role, "workspace_owner");
    assert!(
        approval.reason.contains("approve_if")
            && approval
                .reason
                .contains("high-impact: only a Workspace Owner approves it"),
        "{}",
        approval.reason
    );
    // A step's gate too.
    let gated = "kind: gamebook\nname: iso\nversion: 1.0.0\nsteps:\n  - id: isolate\n    for_each: incident.devices\n    action: device.isolate\n    approval: {role: incident_analyst, timeout: 1h, on_timeout: reject}\n";
    let lib = library(&[gated, &sop("")]);
    let p = autonomous(&lib, &inc, Approvals::None);
    let approval = p.actions[0].approval.as_ref().expect("approval");
    assert_eq!(approval.role, "workspace_owner", "{}", approval.reason);
}

#[test]
fn every_blocked_reason_is_explained() {
    let lib = library(&[
        ISOLATE,
        &sop("guardrails:\n  protected: [{name: \"dc-*\"}]\n  limits: {device.isolate: 2}\n"),
    ]);
    let inc = incident(json!([
        device("d1", "dc-01", json!({})),
        device("d2", "ws-2", json!({"tags": ["crown-jewel"]})),
        device("d3", "ws-3", json!({})),
        device("d4", "ws-4", json!({})),
        device("d5", "ws-5", json!({})),
        device("d6", "cs-6", json!({"provider": "crowdstrike"})),
    ]));
    let mut w = ws(Mode::Autonomous);
    w.protected_entities
        .push(ProtectedEntity::Tag("crown-jewel".into()));
    let p = plan_with(&lib, &w, &inc, &RunConfig::default(), vec![]);
    let reasons: Vec<(String, Status, String)> = p
        .actions
        .iter()
        .filter(|a| a.step == "isolate")
        .map(|a| {
            (
                a.target
                    .as_ref()
                    .map(|t| t.name.clone())
                    .unwrap_or_default(),
                a.status,
                a.reason.clone(),
            )
        })
        .collect();
    assert!(
        reasons[0].2.contains("SOP rule: name `dc-*`"),
        "{reasons:#?}"
    );
    assert!(
        reasons[1].2.contains("workspace rule: tag `crown-jewel`"),
        "{reasons:#?}"
    );
    assert_eq!(
        (reasons[2].1, reasons[3].1),
        (Status::WouldRun, Status::WouldRun)
    );
    assert!(
        reasons[4].2.contains("at most 2 `device.isolate`"),
        "{reasons:#?}"
    );
    // The per-action limit also stops the CrowdStrike host; without the limit it would run
    // through the CrowdStrike response client.
    assert_eq!(reasons[5].1, Status::Blocked);

    let lib = library(&[ISOLATE, &sop("")]);
    let block_reason = |w: &Workspace, inc: &Incident| {
        plan_with(&lib, w, inc, &RunConfig::default(), vec![]).actions[0]
            .reason
            .clone()
    };
    let one = incident(json!([device("d1", "ws-1", json!({}))]));
    let mut no_consent = ws(Mode::Autonomous);
    no_consent
        .consented_applications
        .retain(|a| a != "gamebooks-mde");
    assert!(block_reason(&no_consent, &one)
        .contains("`gamebooks-mde` (Riposte Gamebooks for MDE) is not consented"));
    let mut no_capability = ws(Mode::Autonomous);
    no_capability.agent.gamebooks.clear();
    assert!(block_reason(&no_capability, &one)
        .contains("Gamebooks capability is off for high incidents"));
    let mut no_provider_runs = ws(Mode::Autonomous);
    no_provider_runs.parent = Some("partner".into());
    no_provider_runs.allow_service_provider_gamebooks = false;
    assert!(block_reason(&no_provider_runs, &one).contains("does not allow the service provider"));
    // A partner's gamebooks act on devices only with the MDE response application's
    // `Consent for Partner`; the customer's own consent is not enough.
    let mut no_partner_consent = ws(Mode::Autonomous);
    no_partner_consent.parent = Some("partner".into());
    no_partner_consent.consented_for_partner = Some(Vec::new());
    assert!(block_reason(&no_partner_consent, &one).contains(
        "application `gamebooks-mde` (Riposte Gamebooks for MDE) is consented in workspace `demo` \
         but not for its partner `partner`"
    ));
    no_partner_consent.consented_for_partner = Some(vec!["gamebooks-mde".into()]);
    assert_eq!(
        plan_with(
            &lib,
            &no_partner_consent,
            &one,
            &RunConfig::default(),
            vec![]
        )
        .actions[0]
            .status,
        Status::WouldRun
    );
    // So do the other actions through that application: the indicator blocks; not those
    // through CrowdStrike's client or the MDE application's reads.
    let lib_ips = library(&[
        "kind: gamebook\nname: iso\nversion: 1.0.0\nsteps:\n  - {id: block, for_each: incident.ips, action: ip.block}\n  - {id: note, action: incident.comment, params: {comment: done}}\n",
        &sop(""),
    ]);
    let ips = incident(
        json!([{"kind": "ip", "id": "ip:203.0.113.9", "name": "203.0.113.9",
                               "provider": "microsoft", "fields": {"address": "203.0.113.9"}}]),
    );
    no_partner_consent.consented_for_partner = Some(Vec::new());
    let p = plan_with(
        &lib_ips,
        &no_partner_consent,
        &ips,
        &RunConfig::default(),
        vec![],
    );
    assert_eq!(
        step_statuses(&p),
        [("block", Status::Blocked), ("note", Status::WouldRun)],
        "{:#?}",
        p.actions
    );
    let cs = incident(json!([device(
        "d1",
        "cs-1",
        json!({"provider": "crowdstrike"})
    )]));
    let p = plan_with(
        &lib,
        &no_partner_consent,
        &cs,
        &RunConfig::default(),
        vec![],
    );
    assert_eq!(
        p.actions[0].status,
        Status::WouldRun,
        "{}",
        p.actions[0].reason
    );
    // Left out, it is granted with each consent; a workspace no partner manages needs none.
    for (parent, listed) in [(Some("partner"), None), (None, Some(Vec::new()))] {
        let mut w = ws(Mode::Autonomous);
        w.parent = parent.map(Into::into);
        w.consented_for_partner = listed;
        let p = plan_with(&lib, &w, &one, &RunConfig::default(), vec![]);
        assert_eq!(
            p.actions[0].status,
            Status::WouldRun,
            "{}",
            p.actions[0].reason
        );
    }
    let mut other_tenant = ws(Mode::Autonomous);
    other_tenant.tenant_id = "tenant-a".into();
    let mut foreign = one.clone();
    foreign.workspace = Some("tenant-b".into());
    assert!(block_reason(&other_tenant, &foreign).contains("belongs to tenant `tenant-b`"));
    // A workspace named as another's Sentinel workspace, or one of tenant `*`, chosen for an
    // incident of that tenant acts on nothing: the name does not capture it.
    let agent = "agent: {mode: autonomous, process_incident: [high, medium, low], gamebooks: [high, medium, low], sops: all}";
    let file = format!(
        "workspaces:\n\
         - {{name: customer, tenant_id: 11111111-1111-4111-8111-111111111111, subscription: active, modules: [defender_xdr], partner_consent: true, consented_applications: [gamebooks-mde], sentinel_workspaces: [soc], {agent}}}\n\
         - {{name: soc, tenant_id: 22222222-2222-4222-8222-222222222222, subscription: active, modules: [defender_xdr], partner_consent: true, consented_applications: [gamebooks-mde], {agent}}}\n\
         - {{name: any, tenant_id: '*', subscription: active, modules: [defender_xdr], partner_consent: true, consented_applications: [gamebooks-mde], {agent}}}\n"
    );
    let all = crate::workspace::parse_workspaces("w.yaml", &file).expect("workspaces");
    let mut of_soc = one.clone();
    of_soc.workspace = Some("SOC".into());
    let (customer, soc, any) = (&all[0], &all[1], &all[2]);
    assert_eq!(
        plan_with(&lib, customer, &of_soc, &RunConfig::default(), vec![]).actions[0].status,
        Status::WouldRun
    );
    assert!(block_reason(soc, &of_soc).contains(
        "belongs to tenant `SOC`, not to workspace `soc` (another workspace of the file has it"
    ));
    assert!(block_reason(any, &of_soc).contains("belongs to tenant `SOC`, not to workspace `any`"));
    let mut unclaimed = one.clone();
    unclaimed.workspace = Some("t-9".into());
    assert_eq!(
        plan_with(&lib, any, &unclaimed, &RunConfig::default(), vec![]).actions[0].status,
        Status::WouldRun
    );
    let offboard_s1 = "kind: gamebook\nname: iso\nversion: 1.0.0\nsteps:\n  - {id: off, for_each: incident.devices, action: device.offboard}\n";
    let lib2 = library(&[offboard_s1, &sop("")]);
    let s1 = incident(json!([device(
        "d1",
        "s1-host",
        json!({"provider": "sentinelone"})
    )]));
    let p = plan_with(
        &lib2,
        &ws(Mode::Autonomous),
        &s1,
        &RunConfig::default(),
        vec![],
    );
    assert!(
        p.actions[0]
            .reason
            .contains("no implementation of `device.offboard` for entities from `sentinelone`"),
        "{}",
        p.actions[0].reason
    );
}

#[test]
fn protection_covers_the_device_a_file_is_quarantined_on_and_the_mailbox_an_email_is_in() {
    let gb = r#"
kind: gamebook
name: iso
version: 1.0.0
steps:
  - {id: quarantine, for_each: incident.files, action: file.quarantine}
  - {id: purge, for_each: incident.emails, action: email.soft_delete}
"#;
    let lib = library(&[
        gb,
        &sop("guardrails:\n  protected: [{name: \"dc-*\"}, {name: \"ceo@*\"}]\n"),
    ]);
    let file = |id: &str, device: &str| {
        json!({"id": id, "kind": "file", "name": id, "verdict": "malicious", "provider": "microsoft",
               "fields": {"sha1": "ab", "device_id": device}})
    };
    let email = |id: &str, to: &str| {
        json!({"id": id, "kind": "email", "name": id, "verdict": "malicious", "provider": "microsoft",
               "fields": {"network_message_id": id, "internet_message_id": format!("<{id}@x>"), "recipient": to}})
    };
    let inc = incident(json!([
        device("d1", "dc-01", json!({})),
        device("d2", "ws-2", json!({})),
        file("f1", "D1"),
        file("f2", "d2"),
        user("ceo", "ceo@contoso.com"),
        user("u2", "bob@contoso.com"),
        email("m1", "CEO@contoso.com"),
        email("m2", "bob@contoso.com")
    ]));
    let p = autonomous(&lib, &inc, Approvals::None);
    let statuses = by_target(&p);
    assert_eq!(statuses[0].1, Status::Blocked, "{statuses:?}");
    assert!(
        statuses[0]
            .2
            .contains("it acts on protected entity `dc-01` (SOP rule: name `dc-*`)"),
        "{statuses:?}"
    );
    assert_eq!(statuses[1].1, Status::WouldRun, "{statuses:?}");
    assert_eq!(statuses[2].1, Status::Blocked, "{statuses:?}");
    assert!(statuses[2].2.contains("`ceo@contoso.com`"), "{statuses:?}");
    assert_eq!(statuses[3].1, Status::WouldRun, "{statuses:?}");

    // Without the mailbox or device among the entities, the name the action acts on is checked;
    // ids and names of any case, ASCII or not, match.
    let inc = incident(json!([
        file("f1", "DC-01-ID"),
        email("m1", "JÜRGEN@contoso.com"),
        user("user:s-1-5-21-9", "ops@contoso.com"),
    ]));
    let lib = library(&[
        gb,
        r#"
kind: gamebook
name: users
version: 1.0.0
steps:
  - {id: disable, for_each: incident.users, action: user.disable}
"#,
        "kind: sop\ntype: response\nname: s\ngamebooks: [{gamebook: iso}, {gamebook: users}]\nguardrails:\n  protected: [{id: \"dc-01-id\"}, {name: \"jürgen@*\"}, {id: \"S-1-5-21-9\"}]\n",
    ]);
    let p = autonomous(&lib, &inc, Approvals::None);
    let reasons: Vec<(&str, Status, &str)> = p
        .actions
        .iter()
        .map(|a| (a.step.as_str(), a.status, a.reason.as_str()))
        .collect();
    assert_eq!(
        reasons,
        [
            (
                "quarantine",
                Status::Blocked,
                "it acts on protected entity `DC-01-ID` (SOP rule: id `dc-01-id`)"
            ),
            (
                "purge",
                Status::Blocked,
                "it acts on protected entity `JÜRGEN@contoso.com` (SOP rule: name `jürgen@*`)"
            ),
            (
                "disable",
                Status::Blocked,
                "protected entity (SOP rule: id `S-1-5-21-9`)"
            ),
        ],
    );
}

#[test]
fn delegated_only_actions_need_a_session() {
    let gb = "kind: gamebook\nname: iso\nversion: 1.0.0\nsteps:\n  - {id: reset, for_each: incident.users, action: user.reset_password}\n";
    let lib = library(&[gb, &sop("")]);
    let inc = incident(json!([user("u1", "a@contoso.com")]));
    let mut w = ws(Mode::Autonomous);
    // With a session, an autonomous agent still cannot run it unattended: a signed-in owner
    // does (the reset is high-impact).
    let p = plan_with(&lib, &w, &inc, &RunConfig::default(), vec![]);
    assert_eq!(p.actions[0].status, Status::AwaitingApproval);
    let approval = p.actions[0].approval.as_ref().expect("approval");
    assert_eq!(approval.role, "workspace_owner");
    assert!(
        approval.reason.contains("cannot run unattended"),
        "{}",
        approval.reason
    );
    let granted = RunConfig {
        approvals: Approvals::All,
        ..RunConfig::default()
    };
    assert_eq!(
        plan_with(&lib, &w, &inc, &granted, vec![]).actions[0].status,
        Status::WouldRun
    );
    // Without a session, the person who approves it signs in to do so: it waits for them as
    // before, and runs once they approve.
    w.delegated_session = false;
    let p = plan_with(&lib, &w, &inc, &RunConfig::default(), vec![]);
    assert_eq!(p.actions[0].status, Status::AwaitingApproval);
    assert_eq!(
        plan_with(&lib, &w, &inc, &granted, vec![]).actions[0].status,
        Status::WouldRun
    );
}

/// A delegated-only action that nothing puts a person before (no approval asked: none of
/// today's catalog is such an action, so one is made here) cannot run without a signed-in
/// session: it is blocked, and runs once the workspace has one or its step is gated.
#[test]
fn a_delegated_only_action_nobody_approves_needs_a_session() {
    use riposte_dsl::catalog::{lookup, ActionSpec, Impact};
    use riposte_dsl::checked::StepKind;
    let low_impact = |lib: &mut riposte_dsl::checked::Library| {
        let reset = lookup("user.reset_password").expect("in the catalog");
        assert!(reset.delegated_only());
        let spec: &'static ActionSpec = Box::leak(Box::new(ActionSpec {
            impact: Impact::Low,
            ..*reset
        }));
        for step in &mut lib.gamebooks[0].steps {
            if let StepKind::Action { spec: s, .. } = &mut step.kind {
                *s = spec;
            }
        }
    };
    let gb = "kind: gamebook\nname: iso\nversion: 1.0.0\nsteps:\n  - {id: reset, for_each: incident.users, action: user.reset_password}\n";
    let mut lib = library(&[gb, &sop("")]);
    low_impact(&mut lib);
    let inc = incident(json!([user("u1", "a@contoso.com")]));
    let mut w = ws(Mode::Automatic);
    w.delegated_session = false;
    let p = plan_with(&lib, &w, &inc, &RunConfig::default(), vec![]);
    assert_eq!(p.actions[0].status, Status::Blocked);
    assert!(
        p.actions[0]
            .reason
            .contains("needs a signed-in (delegated) session"),
        "{}",
        p.actions[0].reason
    );
    w.delegated_session = true;
    let p = plan_with(&lib, &w, &inc, &RunConfig::default(), vec![]);
    assert_eq!(p.actions[0].status, Status::WouldRun);
    // A gate on the step puts its approver before it, who signs in.
    w.delegated_session = false;
    let gated = gb.replace(
        "action: user.reset_password}",
        "action: user.reset_password, approval: {role: incident_responder, timeout: 1h, on_timeout: reject}}",
    );
    let mut lib = library(&[&gated, &sop("")]);
    low_impact(&mut lib);
    let p = plan_with(&lib, &w, &inc, &RunConfig::default(), vec![]);
    assert_eq!(p.actions[0].status, Status::AwaitingApproval);
}

#[test]
fn retries_and_error_edges() {
    let lib = library(&[ISOLATE, &sop("")]);
    let inc = incident(json!([device("d1", "ws-1", json!({}))]));
    let w = ws(Mode::Autonomous);
    let flaky = ScriptedFailure {
        step: Some("isolate".into()),
        attempts: Some(2),
        error: "device offline".into(),
        ..Default::default()
    };
    let p = plan_with(&lib, &w, &inc, &RunConfig::default(), vec![flaky]);
    let e = p.actions[0].execution.as_ref().expect("ran");
    assert_eq!(
        (e.outcome, e.attempts),
        ("succeeded", 3),
        "two failures, then the third try succeeds"
    );
    assert_eq!(
        p.actions
            .iter()
            .find(|a| a.step == "tell")
            .map(|a| a.status),
        Some(Status::Skipped)
    );

    let broken = ScriptedFailure {
        step: Some("isolate".into()),
        target: Some("ws-1".into()),
        error: "device offline".into(),
        ..Default::default()
    };
    let p = plan_with(&lib, &w, &inc, &RunConfig::default(), vec![broken]);
    let e = p.actions[0].execution.as_ref().expect("ran");
    assert_eq!((e.outcome, e.attempts), ("failed", 3));
    let scan = p
        .actions
        .iter()
        .find(|a| a.step == "scan")
        .expect("scan listed");
    assert_eq!(scan.status, Status::Skipped);
    assert!(scan.reason.contains("dependency `isolate` failed"));
    let tell = p
        .actions
        .iter()
        .find(|a| a.step == "tell")
        .expect("handler listed");
    assert_eq!(tell.status, Status::WouldRun, "the error edge is taken");
}

#[test]
fn for_each_error_strategies() {
    let gb_at = |strategy: &str, concurrency: u32| {
        format!("kind: gamebook\nname: iso\nversion: 1.0.0\nsteps:\n  - id: scan\n    for_each: {{items: incident.devices, as: d, on_error: {strategy}, concurrency: {concurrency}}}\n    action: device.quick_scan\n  - {{id: after, needs: [scan], action: incident.comment, params: {{comment: \"{{{{ steps.scan.failed }}}} failed: {{{{ count(steps.scan.results, r => r.status == 'failed') }}}}\"}}}}\n")
    };
    let gb = |strategy: &str| gb_at(strategy, 1);
    let inc = incident(json!([
        device("d1", "a", json!({})),
        device("d2", "b", json!({})),
        device("d3", "c", json!({}))
    ]));
    let fail_a = vec![ScriptedFailure {
        target: Some("a".into()),
        ..Default::default()
    }];
    let w = ws(Mode::Autonomous);
    let run = |strategy: &str| {
        let lib = library(&[&gb(strategy), &sop("")]);
        plan_with(&lib, &w, &inc, &RunConfig::default(), fail_a.clone())
    };
    let ff = run("fail_fast");
    assert_eq!(
        ff.actions
            .iter()
            .filter(|a| a.status == Status::Skipped)
            .count(),
        3,
        "b, c and `after` are skipped"
    );
    // Two at a time: `b` is in flight with `a` when it fails, `c` never starts.
    let lib = library(&[&gb_at("fail_fast", 2), &sop("")]);
    let ff2 = plan_with(&lib, &w, &inc, &RunConfig::default(), fail_a.clone());
    let scans: Vec<(String, Status)> = statuses(&ff2)
        .into_iter()
        .filter(|(step, _, _)| step == "scan")
        .map(|(_, target, status)| (target, status))
        .collect();
    assert_eq!(
        scans,
        [
            ("a".to_string(), Status::WouldRun),
            ("b".to_string(), Status::WouldRun),
            ("c".to_string(), Status::Skipped)
        ]
    );
    let cont = run("continue");
    let after = cont
        .actions
        .iter()
        .find(|a| a.step == "after")
        .expect("after");
    assert_eq!(
        after.status,
        Status::WouldRun,
        "continue: the step counts as succeeded"
    );
    assert_eq!(
        after.params["comment"], "1 failed: 1",
        "outputs count the failed item, and its result says it failed"
    );
    let collect = run("collect");
    assert_eq!(
        collect
            .actions
            .iter()
            .filter(|a| a.step == "scan" && a.status == Status::WouldRun)
            .count(),
        3
    );
    assert_eq!(
        collect
            .actions
            .iter()
            .find(|a| a.step == "after")
            .map(|a| a.status),
        Some(Status::Skipped)
    );
}

#[test]
fn steps_inside_a_for_each_group_read_their_item_and_add_up_outside_it() {
    // `iso` fails on `a` and `b`, and its handler takes the failures: the group carries on.
    let gb = r#"kind: gamebook
name: iso
version: 1.0.0
steps:
  - id: each
    for_each: {items: incident.devices, as: d, on_error: collect}
    steps:
      - id: iso
        action: device.isolate
        on_error: iso_failed
      - id: iso_failed
        action: incident.comment
        params: {comment: "{{ d.hostname }}: iso {{ steps.iso.status }}, {{ steps.iso.failed }} failed"}
  - id: report
    needs: [each]
    action: incident.comment
    params: {comment: "each {{ steps.each.status }} ({{ steps.each.failed }} failed); iso {{ steps.iso.status }}: {{ steps.iso.succeeded }} ok, {{ steps.iso.failed }} failed, {{ count(steps.iso.results) }} results"}
"#;
    let lib = library(&[gb, &sop("")]);
    let inc = incident(json!([
        device("d1", "a", json!({})),
        device("d2", "b", json!({})),
        device("d3", "c", json!({}))
    ]));
    let fail = |target: &str| ScriptedFailure {
        step: Some("iso".into()),
        target: Some(target.into()),
        ..Default::default()
    };
    let failures = vec![fail("a"), fail("b")];
    let p = plan_with(
        &lib,
        &ws(Mode::Autonomous),
        &inc,
        &RunConfig::default(),
        failures,
    );
    let comments: Vec<(&str, &serde_json::Value)> = p
        .actions
        .iter()
        .filter(|a| a.action == "incident.comment" && a.status == Status::WouldRun)
        .map(|a| (a.step.as_str(), &a.params["comment"]))
        .collect();
    assert_eq!(
        comments,
        [
            // Each handler sees its own item's result, not the other items'.
            ("each.iso_failed", &json!("a: iso failed, 1 failed")),
            ("each.iso_failed", &json!("b: iso failed, 1 failed")),
            // Outside, `iso` holds every item: some failed, so it failed, though the handled
            // failures did not fail the group.
            (
                "report",
                &json!("each succeeded (0 failed); iso failed: 1 ok, 2 failed, 3 results")
            ),
        ]
    );
}

#[test]
fn a_group_stopped_by_a_failure_says_its_steps_failed() {
    // `a` fails, `fail_fast` skips the other items: `iso` failed (once), not "skipped".
    let gb = r#"kind: gamebook
name: iso
version: 1.0.0
steps:
  - id: each
    for_each: {items: incident.devices, as: d, concurrency: 1}
    on_error: tell
    steps:
      - {id: iso, action: device.isolate}
  - id: tell
    action: incident.comment
    params: {comment: "iso {{ steps.iso.status }}: {{ steps.iso.failed }} failed, {{ steps.iso.succeeded }} ok"}
"#;
    let lib = library(&[gb, &sop("")]);
    let inc = incident(json!([
        device("d1", "a", json!({})),
        device("d2", "b", json!({}))
    ]));
    let fail_a = vec![ScriptedFailure {
        step: Some("iso".into()),
        target: Some("a".into()),
        ..Default::default()
    }];
    let p = plan_with(
        &lib,
        &ws(Mode::Autonomous),
        &inc,
        &RunConfig::default(),
        fail_a,
    );
    let tell = p.actions.iter().find(|a| a.step == "tell").expect("tell");
    assert_eq!(tell.params["comment"], "iso failed: 1 failed, 0 ok");
}

#[test]
fn a_plan_limit_of_one_action_says_one_action() {
    let gb = r#"kind: gamebook
name: iso
version: 1.0.0
steps:
  - {id: a, action: incident.comment, params: {comment: "a"}}
  - {id: b, action: incident.comment, params: {comment: "b"}}
"#;
    let lib = library(&[gb, &sop("")]);
    let config = RunConfig {
        max_actions: 1,
        ..RunConfig::default()
    };
    let p = plan_with(&lib, &ws(Mode::Autonomous), &devices(1), &config, vec![]);
    assert_eq!(
        p.actions[1].reason,
        "plan limit: the plan reached 1 action; the step is not planned (raise \
         --max-plan-actions)"
    );
}

/// A step whose items come from a step awaiting approval has a row waiting per action (of
/// its own, or of the gamebook it calls) while the plan has room, even past the room of rows
/// not run (the skipped ones here fill it); past the plan limit, its rows say the limit left
/// it out, as they would once its items are known.
#[test]
fn rows_waiting_for_their_items_are_actions_of_the_plan() {
    let gb = r#"kind: gamebook
name: iso
version: 1.0.0
steps:
  - {id: s1, if: "count(incident.devices) > 5", action: incident.comment, params: {comment: a}}
  - {id: s2, if: "count(incident.devices) > 5", action: incident.comment, params: {comment: b}}
  - {id: s3, if: "count(incident.devices) > 5", action: incident.comment, params: {comment: c}}
  - {id: s4, if: "count(incident.devices) > 5", action: incident.comment, params: {comment: d}}
  - id: g
    action: incident.comment
    params: {comment: g}
    approval: {role: incident_responder, timeout: 1h, on_timeout: reject}
  - id: x
    needs: [g]
    for_each: "map(steps.g.results, r => r.status)"
    action: incident.comment
    params: {comment: x}
"#;
    let called = gb.replace(
        "    action: incident.comment\n    params: {comment: x}\n",
        "    gamebook: note\n",
    );
    let note = "kind: gamebook\nname: note\nversion: 1.0.0\nsteps:\n  - {id: x, action: incident.comment, params: {comment: x}}\n";
    for lib in [
        library(&[gb, &sop("")]),
        library(&[&called, note, &sop("")]),
    ] {
        let rows = |max_actions: usize| {
            let config = RunConfig {
                max_actions,
                ..RunConfig::default()
            };
            let p = plan_with(&lib, &ws(Mode::Autonomous), &devices(1), &config, vec![]);
            let last = p.actions.last().map(|a| (a.step.clone(), a.status));
            (last, p.summary.unlisted)
        };
        let (last, unlisted) = rows(2);
        let (step, status) = last.expect("rows");
        assert!(step == "x" || step == "x.x", "{step}");
        assert_eq!((status, unlisted), (Status::AwaitingApproval, 0));
        // Past the limit (the last two skipped rows past the room of 2 are counted).
        let (last, unlisted) = rows(1);
        assert_eq!((last.map(|l| l.1), unlisted), (Some(Status::Blocked), 2));
    }
}

#[test]
fn items_a_fail_fast_stop_left_unstarted_have_no_results() {
    // `a` fails in each for-each, one item at a time: `b` never starts, so the call step, the
    // group and the step inside it have `a`'s result only, and their output is `a`'s.
    let gb = r#"kind: gamebook
name: iso
version: 1.0.0
steps:
  - id: call
    for_each: {items: incident.devices, as: d, concurrency: 1}
    gamebook: scan-one
    with: {host: "{{ d.hostname }}"}
    on_error: tell
  - id: each
    for_each: {items: incident.devices, as: d, concurrency: 1}
    on_error: tell
    steps:
      - {id: iso, action: device.isolate, target: d}
  - id: tell
    action: incident.comment
    params: {comment: "call {{ count(steps.call.results) }} {{ steps.call.output.host }}; each {{ count(steps.each.results) }}; iso {{ count(steps.iso.results) }} {{ steps.iso.output.status }}"}
"#;
    let callee = r#"kind: gamebook
name: scan-one
version: 1.0.0
inputs:
  host: {type: string}
steps:
  - {id: note, action: incident.comment, params: {comment: "scan {{ inputs.host }}"}}
outputs:
  host: inputs.host
"#;
    let lib = library(&[gb, callee, &sop("")]);
    let inc = incident(json!([
        device("d1", "a", json!({})),
        device("d2", "b", json!({}))
    ]));
    let failures = vec![
        ScriptedFailure {
            step: Some("call.note".into()),
            ..Default::default()
        },
        ScriptedFailure {
            step: Some("iso".into()),
            target: Some("a".into()),
            ..Default::default()
        },
    ];
    let p = plan_with(
        &lib,
        &ws(Mode::Autonomous),
        &inc,
        &RunConfig::default(),
        failures,
    );
    let skipped = p
        .actions
        .iter()
        .filter(|a| a.reason.contains("fail_fast"))
        .count();
    assert_eq!(skipped, 2, "`b` is not started by either for-each");
    let tell = p.actions.iter().find(|a| a.step == "tell").expect("tell");
    assert_eq!(tell.params["comment"], "call 1 a; each 1; iso 1 failed");
}

#[test]
fn an_item_whose_inner_fan_out_is_empty_does_not_read_an_earlier_items_results() {
    // Device `a` has an address, `b` none: `b`'s branch never runs `block`, and reads it as a
    // for-each with no items, not as `a`'s result.
    let gb = r#"kind: gamebook
name: iso
version: 1.0.0
steps:
  - id: each
    for_each: {items: incident.devices, as: d}
    steps:
      - id: per_ip
        for_each: {items: d.ip_addresses, as: ip}
        steps:
          - {id: block, action: ip.block, target: "first(incident.ips)"}
      - id: note
        needs: [per_ip]
        action: incident.comment
        params: {comment: "{{ d.hostname }}: {{ steps.block.status }}"}
"#;
    let lib = library(&[gb, &sop("")]);
    let inc = incident(json!([
        device(
            "d1",
            "a",
            json!({"fields": {"hostname": "a", "mde_device_id": "d1", "ip_addresses": ["10.0.0.1"]}})
        ),
        device("d2", "b", json!({})),
        {"id": "ip:10.0.0.1", "kind": "ip", "name": "10.0.0.1", "verdict": "malicious", "provider": "microsoft", "fields": {"address": "10.0.0.1"}}
    ]));
    let p = plan_with(
        &lib,
        &ws(Mode::Autonomous),
        &inc,
        &RunConfig::default(),
        vec![],
    );
    let notes: Vec<&serde_json::Value> = p
        .actions
        .iter()
        .filter(|a| a.step == "each.note")
        .map(|a| &a.params["comment"])
        .collect();
    assert_eq!(notes, [&json!("a: blocked"), &json!("b: succeeded")]);
}

#[test]
fn plan_text_lines_up_long_step_paths() {
    let gb = "kind: gamebook\nname: iso\nversion: 1.0.0\nsteps:\n  - id: a_step_whose_id_is_rather_long\n    for_each: incident.devices\n    action: device.isolate\n  - {id: b, for_each: incident.devices, action: device.quick_scan}\n";
    let lib = library(&[gb, &sop("")]);
    let inc = incident(json!([device("d1", "ws-1", json!({}))]));
    let p = plan_with(
        &lib,
        &ws(Mode::Autonomous),
        &inc,
        &RunConfig::default(),
        vec![],
    );
    let text = super::text::render(&p, false);
    let at = |action: &str| {
        let line = text.lines().find(|l| l.contains(action)).expect("row");
        line.find(action).expect("action")
    };
    assert_eq!(at("device.isolate"), at("device.quick_scan"), "{text}");
}

#[test]
fn fan_out_is_bounded() {
    let gb = "kind: gamebook\nname: iso\nversion: 1.0.0\nsteps:\n  - {id: block, for_each: incident.ips, action: ip.block}\n";
    let lib = library(&[gb, &sop("")]);
    let ips: Vec<serde_json::Value> = (0..3000)
        .map(|i| json!({"id": format!("ip:198.51.{}.{}", i / 256, i % 256), "kind": "ip", "name": format!("198.51.{}.{}", i / 256, i % 256),
                        "provider": "microsoft", "fields": {"address": format!("198.51.{}.{}", i / 256, i % 256)}}))
        .collect();
    let inc = incident(serde_json::Value::Array(ips));
    let config = RunConfig {
        max_fanout: 100,
        ..RunConfig::default()
    };
    let p = plan_with(&lib, &ws(Mode::Autonomous), &inc, &config, vec![]);
    assert_eq!(p.summary.would_run, 100);
    assert_eq!(p.summary.blocked, 1);
    assert!(p
        .actions
        .last()
        .is_some_and(|a| a.reason.contains("fan-out limit: 3000 items, limit 100")));
}

#[test]
fn fan_out_past_the_limit_blocks_every_action_of_a_group_or_call() {
    let callee = "kind: gamebook\nname: scan\nversion: 1.0.0\nsteps:\n  - id: av\n    action: device.full_scan\n    target: incident.devices[0]\n";
    let gb = r#"
kind: gamebook
name: iso
version: 1.0.0
steps:
  - id: each
    for_each: {items: incident.devices, as: d}
    steps:
      - {id: isolate, action: device.isolate, target: d}
      - {id: note, needs: [isolate], action: incident.comment, params: {comment: done}}
      - {id: deep, gamebook: scan}
"#;
    let lib = library(&[gb, callee, &sop("")]);
    let inc = incident(json!([
        device("d1", "ws-1", json!({})),
        device("d2", "ws-2", json!({})),
        device("d3", "ws-3", json!({}))
    ]));
    let config = RunConfig {
        max_fanout: 1,
        ..RunConfig::default()
    };
    let p = plan_with(&lib, &ws(Mode::Autonomous), &inc, &config, vec![]);
    let blocked: Vec<(&str, &str)> = p
        .actions
        .iter()
        .filter(|a| a.status == Status::Blocked)
        .map(|a| (a.step.as_str(), a.action))
        .collect();
    assert_eq!(
        blocked,
        [
            ("each.isolate", "device.isolate"),
            ("each.note", "incident.comment"),
            ("each.deep.av", "device.full_scan")
        ]
    );
    assert!(p
        .actions
        .iter()
        .filter(|a| a.status == Status::Blocked)
        .all(|a| a.target.is_none()
            && a.reason
                .contains("fan-out limit: 3 items, limit 1; 2 items not planned")));
    // Each row has its own key.
    let keys: std::collections::HashSet<&str> = p.actions.iter().map(|a| a.key.as_str()).collect();
    assert_eq!(keys.len(), p.actions.len());
}

#[test]
fn nested_fan_outs_stop_at_the_plan_action_limit() {
    let gb = r#"
kind: gamebook
name: iso
version: 1.0.0
steps:
  - id: outer
    for_each: {items: incident.devices, as: d}
    steps:
      - id: inner
        for_each: {items: incident.devices, as: e}
        action: incident.comment
        params: {comment: "{{ d.name }} {{ e.name }}"}
"#;
    let lib = library(&[gb, &sop("")]);
    let inc = devices(50);
    let config = RunConfig {
        max_actions: 120,
        ..RunConfig::default()
    };
    let p = plan_with(&lib, &ws(Mode::Autonomous), &inc, &config, vec![]);
    // The third outer item stops inside its inner for-each (20 of 50 planned), and the 47
    // outer items after it are not started: a blocked row each, nothing dropped silently.
    assert_eq!(p.summary.would_run, 120);
    let blocked: Vec<(&str, &str)> = p
        .actions
        .iter()
        .filter(|a| a.status == Status::Blocked)
        .map(|a| (a.step.as_str(), a.reason.as_str()))
        .collect();
    assert_eq!(
        blocked,
        [
            (
                "outer.inner",
                "plan limit: the plan reached 120 actions; 30 items not planned \
                 (raise --max-plan-actions)"
            ),
            (
                "outer.inner",
                "plan limit: the plan reached 120 actions; 47 items not planned \
                 (raise --max-plan-actions)"
            )
        ]
    );
}

#[test]
fn the_plan_action_limit_counts_every_sop_and_bounds_the_rows_it_adds() {
    let gb = "kind: gamebook\nname: iso\nversion: 1.0.0\nsteps:\n  - {id: note, for_each: incident.devices, action: incident.comment, params: {comment: \"iso {{ item.name }}\"}}\n";
    let second = "kind: sop\ntype: response\nname: t\ngamebooks:\n  - gamebook: iso2\n";
    let lib = library(&[gb, &gb.replace("iso", "iso2"), &sop(""), second]);
    let inc = devices(50);
    let config = RunConfig {
        max_actions: 60,
        ..RunConfig::default()
    };
    let p = plan_with(&lib, &ws(Mode::Autonomous), &inc, &config, vec![]);
    // The first SOP plans 50, the second 10 before the limit, then one blocked row.
    assert_eq!((p.summary.would_run, p.summary.blocked), (60, 1));
    assert_eq!(p.actions.last().map(|a| a.sop.as_str()), Some("t"));

    // A group of five actions per device, and room for two: the rows of actions not run stop
    // at twice the limit, and the rest are counted.
    let gb = r#"
kind: gamebook
name: iso
version: 1.0.0
steps:
  - id: each
    for_each: {items: incident.devices, as: d}
    steps:
      - {id: a, action: incident.comment, params: {comment: "a {{ d.name }}"}}
      - {id: b, action: incident.comment, params: {comment: "b {{ d.name }}"}}
      - {id: c, action: incident.comment, params: {comment: "c {{ d.name }}"}}
      - {id: d, action: incident.comment, params: {comment: "d {{ d.name }}"}}
      - {id: e, action: incident.comment, params: {comment: "e {{ d.name }}"}}
"#;
    let lib = library(&[gb, &sop("")]);
    let config = RunConfig {
        max_actions: 2,
        ..RunConfig::default()
    };
    let p = plan_with(&lib, &ws(Mode::Autonomous), &inc, &config, vec![]);
    // a and b of the first device run; c, d and e of it, then a–e of the 49 others (one walk
    // of the group), are rows saying what the limit left out, which are listed.
    assert_eq!(p.actions.len(), 10);
    assert_eq!((p.summary.would_run, p.summary.blocked), (2, 8));
    assert_eq!(p.summary.unlisted, 0);
    assert!(
        p.actions[9]
            .reason
            .starts_with("plan limit: the plan reached 2 actions; 49 items not planned"),
        "{:?}",
        p.actions[9]
    );

    // Skipped rows do not count: a for-each goes on past twice the limit, and its skipped
    // rows there are counted, not listed.
    let gb = r#"
kind: gamebook
name: iso
version: 1.0.0
steps:
  - id: each
    for_each: {items: incident.devices, as: d}
    steps:
      - {id: a1, action: incident.comment, if: "d.name == 'none'", params: {comment: "a1 {{ d.name }}"}}
      - {id: a2, action: incident.comment, if: "d.name == 'none'", params: {comment: "a2 {{ d.name }}"}}
      - {id: a3, action: incident.comment, if: "d.name == 'none'", params: {comment: "a3 {{ d.name }}"}}
      - {id: b, action: incident.comment, params: {comment: "b {{ d.name }}"}}
"#;
    let lib = library(&[gb, &sop("")]);
    let config = RunConfig {
        max_actions: 5,
        ..RunConfig::default()
    };
    let p = plan_with(&lib, &ws(Mode::Autonomous), &inc, &config, vec![]);
    // Four rows per device (a1–a3 skipped, b would run): the rows reach twice the limit at
    // the third device, whose a3 and the a-rows of the next two are counted, not listed,
    // while b runs on to the limit; then a row per step of the group says what it left out.
    assert_eq!(p.summary.would_run, 5);
    assert_eq!(p.actions.len(), 13 + 4);
    assert_eq!(p.summary.unlisted, 7);
    let text = crate::plan::text::render(&p, false);
    assert!(text.contains("45 items not planned"), "{text}");

    // A hundred steps past the limit: their rows saying so have a room of their own, past
    // which they are counted.
    let steps: String = (0..200)
        .map(|i| format!("  - {{id: s{i}, action: incident.comment, params: {{comment: c{i}}}}}\n"))
        .collect();
    let gb = format!("kind: gamebook\nname: iso\nversion: 1.0.0\nsteps:\n{steps}");
    let lib = library(&[&gb, &sop("")]);
    let config = RunConfig {
        max_actions: 2,
        ..RunConfig::default()
    };
    let p = plan_with(&lib, &ws(Mode::Autonomous), &inc, &config, vec![]);
    assert_eq!(p.actions.len(), 4 + crate::scheduler::LIMIT_ROWS);
    assert_eq!(p.summary.unlisted, 200 - p.actions.len());
    let text = crate::plan::text::render(&p, false);
    assert!(
        text.contains("; 96 more blocked, skipped or rejected past the plan limit, not listed)"),
        "{text}"
    );

    // Rejected rows past the room are counted too, and the summary says so.
    let gb = r#"kind: gamebook
name: iso
version: 1.0.0
steps:
  - id: each
    for_each: {items: incident.devices, as: d}
    action: incident.comment
    params: {comment: "{{ d.name }}"}
    approval: {role: workspace_owner, timeout: 1h, on_timeout: reject}
"#;
    let lib = library(&[gb, &sop("")]);
    let config = RunConfig {
        max_actions: 1,
        ..decided(&lib, &[], &["each"], &[])
    };
    let p = plan_with(&lib, &ws(Mode::Autonomous), &inc, &config, vec![]);
    assert_eq!(p.summary.rejected, 2);
    assert_eq!(p.summary.unlisted, 48);
    assert_eq!(p.summary.blocked, 0);
    let text = crate::plan::text::render(&p, false);
    assert!(
        text.contains("; 48 more blocked, skipped or rejected past the plan limit, not listed)"),
        "{text}"
    );
}

#[test]
fn keys_are_stable_and_bind_target_and_params() {
    let lib = library(&[ISOLATE, &sop("")]);
    let inc = incident(json!([
        device("d1", "ws-1", json!({})),
        device("d2", "ws-2", json!({}))
    ]));
    let w = ws(Mode::Autonomous);
    let a = plan_with(&lib, &w, &inc, &RunConfig::default(), vec![]);
    let b = plan_with(&lib, &w, &inc, &RunConfig::default(), vec![]);
    assert_eq!(a, b);
    assert_ne!(
        a.actions[0].key, a.actions[1].key,
        "another target, another key"
    );
    let selective = ISOLATE.replace(
        "action: device.isolate\n",
        "action: device.isolate\n    params: {isolation: selective}\n",
    );
    let lib2 = library(&[&selective, &sop("")]);
    let c = plan_with(&lib2, &w, &inc, &RunConfig::default(), vec![]);
    assert_ne!(
        a.actions[0].key, c.actions[0].key,
        "other params, another key"
    );
    assert_eq!(a.actions[0].key.len(), 32);
    // The same item twice: two actions (the repeat is tried again if the first fails), two
    // keys; the first keeps the key it has alone.
    let twice = ISOLATE.replacen(
        "for_each: {items: incident.devices, as: d}",
        "for_each: {items: \"[incident.devices[0], incident.devices[0], incident.devices[1]]\", as: d}",
        1,
    );
    let lib3 = library(&[&twice, &sop("")]);
    let d = plan_with(&lib3, &w, &inc, &RunConfig::default(), vec![]);
    let keys: Vec<&str> = d
        .actions
        .iter()
        .filter(|r| r.step == "isolate")
        .map(|r| r.key.as_str())
        .collect();
    assert_eq!(keys.len(), 3);
    assert_eq!(keys[0], a.actions[0].key);
    assert_eq!(keys[2], a.actions[1].key);
    assert_ne!(keys[0], keys[1]);
}

/// A key covers what the service acts on the target by, which the entity id need not tell
/// (a hand-written id; the device a file is quarantined on), and the incident's source: a
/// Sentinel incident and a Defender one may share an id.
#[test]
fn keys_bind_what_the_service_acts_on_and_the_source() {
    let quarantine = r#"
kind: gamebook
name: iso
version: 1.0.0
steps:
  - {id: q, for_each: incident.files, action: file.quarantine}
  - {id: i, for_each: incident.devices, action: device.isolate}
"#;
    let lib = library(&[quarantine, &sop("")]);
    let w = ws(Mode::Autonomous);
    let file = |seen_on: &str| {
        json!({"id": "file:abc", "kind": "file", "name": "x.exe", "verdict": "malicious",
               "provider": "microsoft", "fields": {"sha1": "abc", "device_id": seen_on}})
    };
    let keys = |inc: Incident| -> Vec<String> {
        plan_with(&lib, &w, &inc, &RunConfig::default(), vec![])
            .actions
            .into_iter()
            .map(|a| a.key)
            .collect()
    };
    let on = |seen_on: &str, mde: &str| {
        incident(json!([
            file(seen_on),
            device(
                "d1",
                "ws-1",
                json!({"fields": {"hostname": "ws-1", "mde_device_id": mde}})
            )
        ]))
    };
    let base = keys(on("m1", "m1"));
    assert_eq!(base.len(), 2);
    let other_device = keys(on("m2", "m1"));
    assert_ne!(base[0], other_device[0], "quarantined on another device");
    assert_eq!(base[1], other_device[1]);
    let other_machine = keys(on("m1", "m9"));
    assert_eq!(base[0], other_machine[0]);
    assert_ne!(base[1], other_machine[1], "the same id for another machine");
    let mut sentinel = on("m1", "m1");
    sentinel.source = "sentinel".into();
    let from_sentinel = plan_with(&lib, &w, &sentinel, &RunConfig::default(), vec![]);
    let sentinel_keys: Vec<&str> = from_sentinel
        .actions
        .iter()
        .map(|a| a.key.as_str())
        .collect();
    assert_eq!(sentinel_keys.len(), 2, "{:#?}", from_sentinel.actions);
    assert!(
        sentinel_keys.iter().all(|k| !base.iter().any(|b| b == k)),
        "another source, other keys: {sentinel_keys:?} {base:?}"
    );
}

/// Workspace names ignore case, so keys do too: they are built from the lowercase name, and a
/// file that spells it `Contoso` plans the same keys as one that spells it `contoso`.
#[test]
fn keys_ignore_the_case_of_the_workspace_name() {
    let lib = library(&[ISOLATE, &sop("")]);
    let inc = incident(json!([device("d1", "ws-1", json!({}))]));
    let named = |name: &str| Workspace {
        name: name.into(),
        ..ws(Mode::Autonomous)
    };
    let key = |name: &str| {
        plan_with(&lib, &named(name), &inc, &RunConfig::default(), vec![]).actions[0]
            .key
            .clone()
    };
    assert_eq!(key("Contoso"), key("contoso"));
    assert_eq!(key("ÉLODIE-SOC"), key("élodie-soc"));
    assert_ne!(
        key("contoso"),
        key("fabrikam"),
        "another workspace, another key"
    );
}

/// Spans are for diagnostics only: a library laid out otherwise (comments, blank lines, flow
/// style) plans the same, keys included.
#[test]
fn layout_does_not_reach_the_plan() {
    let relaid = ISOLATE.replace("steps:\n", "# steps\n\nsteps:\n").replace(
        "params: {comment: \"isolation failed\"}",
        "params:\n      comment: isolation failed",
    );
    assert_ne!(relaid, ISOLATE);
    let sop_text = sop("");
    let relaid_sop = format!("\n\n# policy\n{sop_text}");
    let inc = incident(json!([device("d1", "ws-1", json!({}))]));
    let w = ws(Mode::Autonomous);
    let fail = || {
        vec![ScriptedFailure {
            step: Some("isolate".into()),
            action: None,
            target: None,
            attempts: None,
            error: "offline".into(),
        }]
    };
    let a = plan_with(
        &library(&[ISOLATE, &sop_text]),
        &w,
        &inc,
        &RunConfig::default(),
        fail(),
    );
    let b = plan_with(
        &library(&[&relaid, &relaid_sop]),
        &w,
        &inc,
        &RunConfig::default(),
        fail(),
    );
    assert!(a.actions.iter().any(|r| r.step == "tell"));
    assert_eq!(a, b);
}

#[test]
fn merged_incidents_run_nothing() {
    let lib = library(&[ISOLATE, &sop("")]);
    let inc = incident(json!([device("d1", "ws-1", json!({}))]));
    let w = ws(Mode::Autonomous);
    let check = |p: &Plan| {
        let c = p.eligibility.iter().find(|c| c.check == "not_merged");
        c.map(|c| (c.passed, c.detail.clone())).expect("listed")
    };
    let p = plan_with(&lib, &w, &inc, &RunConfig::default(), vec![]);
    assert_eq!(
        check(&p),
        (true, "the incident is not merged into another".into())
    );
    assert!(!p.actions.is_empty());
    // Graph's `redirected`: the alerts moved to the incident named, processed instead.
    let mut merged = inc.clone();
    merged.status = "redirected".into();
    merged.redirected_to = Some("29477".into());
    let p = plan_with(&lib, &w, &merged, &RunConfig::default(), vec![]);
    let (passed, detail) = check(&p);
    assert!(!passed);
    assert!(detail.contains("merged into incident `29477`"), "{detail}");
    assert!(p.actions.is_empty() && p.sops.is_empty() && p.classification.is_none());
    merged.redirected_to = None;
    let (passed, detail) = check(&plan_with(&lib, &w, &merged, &RunConfig::default(), vec![]));
    assert!(
        !passed && detail.contains("merged into another"),
        "{detail}"
    );
}

#[test]
fn ineligible_incidents_run_nothing() {
    let lib = library(&[ISOLATE, &sop("")]);
    let inc = incident(json!([device("d1", "ws-1", json!({}))]));
    let mut w = ws(Mode::Autonomous);
    w.fetch_to_sentinel = true;
    let p = plan_with(&lib, &w, &inc, &RunConfig::default(), vec![]);
    let failed: Vec<&str> = p
        .eligibility
        .iter()
        .filter(|c| !c.passed)
        .map(|c| c.check)
        .collect();
    assert_eq!(failed, ["sentinel_forwarding"]);
    // An incident of no known severity is never processed, and the check says why.
    let mut odd = inc.clone();
    odd.severity = "critical".into();
    let p = plan_with(
        &lib,
        &ws(Mode::Autonomous),
        &odd,
        &RunConfig::default(),
        vec![],
    );
    let check = p
        .eligibility
        .iter()
        .find(|c| c.check == "process_incident")
        .expect("checks");
    assert!(!check.passed);
    assert!(
        check
            .detail
            .starts_with("the incident has no known severity (`critical`"),
        "{}",
        check.detail
    );
    assert!(p.actions.is_empty() && p.sops.is_empty());
    // Defender partner consent: needed by the Defender XDR pipeline, whoever manages the
    // workspace (the demo has no parent); other sources do not use it.
    let mut w = ws(Mode::Autonomous);
    w.partner_consent = false;
    let p = plan_with(&lib, &w, &inc, &RunConfig::default(), vec![]);
    let consent = |p: &crate::plan::model::Plan| {
        p.eligibility
            .iter()
            .find(|c| c.check == "partner_consent")
            .map(|c| c.passed)
    };
    assert_eq!(consent(&p), Some(false));
    let mut other = inc.clone();
    other.source = "crowdstrike".into();
    let p = plan_with(&lib, &w, &other, &RunConfig::default(), vec![]);
    assert_eq!(consent(&p), Some(true));
    // QRadar and Splunk incidents arrive through modules of their own; nothing responds
    // through them, so only entities of a provider with a response integration are acted on.
    let comment = library(&[
        "kind: gamebook\nname: iso\nversion: 1.0.0\nsteps:\n  - {id: isolate, for_each: incident.devices, action: device.isolate}\n  - {id: note, action: incident.comment, params: {comment: done}}\n",
        &sop(""),
    ]);
    let mut unknown_provider = device("d1", "ws-1", json!({}));
    if let Some(d) = unknown_provider.as_object_mut() {
        d.remove("provider");
    }
    let doc = json!({"format": "riposte.incident/v1", "incident": {
        "id": "42", "source": "qradar", "title": "t", "severity": "high", "status": "active",
        "entities": [unknown_provider, device("d2", "ws-2", json!({}))],
    }});
    let (_, mut list) = parse_incidents("inline.json", &doc.to_string(), &ImportLimits::default())
        .expect("valid incident");
    let siem = list.remove(0);
    let p = plan_with(
        &comment,
        &ws(Mode::Autonomous),
        &siem,
        &RunConfig::default(),
        vec![],
    );
    let reasons: Vec<(Status, &str)> = p
        .actions
        .iter()
        .map(|a| (a.status, a.reason.as_str()))
        .collect();
    assert_eq!(reasons[0].0, Status::Blocked, "{reasons:?}");
    assert!(
        reasons[0]
            .1
            .contains("no implementation of `device.isolate` for entities from `unknown`"),
        "{reasons:?}"
    );
    assert_eq!(reasons[1].0, Status::WouldRun, "{reasons:?}");
    assert_eq!(
        reasons[2],
        (
            Status::Blocked,
            "no implementation of `incident.comment` for incidents from `qradar`"
        )
    );
    let module = |p: &crate::plan::model::Plan| {
        p.eligibility
            .iter()
            .find(|c| c.check == "module")
            .map(|c| (c.passed, c.detail.clone()))
    };
    for source in ["qradar", "splunk"] {
        let mut siem = inc.clone();
        siem.source = source.into();
        let mut w = ws(Mode::Autonomous);
        let p = plan_with(&lib, &w, &siem, &RunConfig::default(), vec![]);
        assert_eq!(
            module(&p),
            Some((true, format!("module `{source}` is enabled")))
        );
        w.modules.retain(|m| m.as_str() != source);
        let p = plan_with(&lib, &w, &siem, &RunConfig::default(), vec![]);
        let (passed, detail) = module(&p).expect("module check");
        assert!(!passed && detail.starts_with(&format!("module `{source}` is not enabled")));
    }
}

#[test]
fn calls_and_items_give_each_action_its_own_step_path_and_key() {
    let callee = r#"
kind: gamebook
name: callee
version: 1.0.0
inputs:
  text: {type: string, default: callee}
steps:
  - id: note
    action: incident.comment
    params: {comment: "{{ inputs.text }}"}
"#;
    // Every comment says something else: the same comment twice would run once.
    let caller = r#"
kind: gamebook
name: caller
version: 1.0.0
steps:
  - id: first
    gamebook: callee
    with: {text: first}
  - id: second
    needs: [first]
    gamebook: callee
    with: {text: second}
  - id: per
    for_each: incident.users
    gamebook: callee
    with: {text: "per {{ item.name }}"}
  - id: each
    for_each: incident.users
    action: incident.comment
    params: {comment: "each {{ item.name }}"}
"#;
    let sop = "kind: sop\ntype: response\nname: s\ngamebooks:\n  - gamebook: caller\n  - gamebook: callee\n";
    let lib = library(&[callee, caller, sop]);
    let inc = incident(json!([user("u1", "a@c.com"), user("u2", "b@c.com")]));
    let run = |approvals: Approvals, failures: Vec<ScriptedFailure>| {
        let config = RunConfig {
            approvals,
            ..RunConfig::default()
        };
        plan_with(&lib, &ws(Mode::Manual), &inc, &config, failures)
    };
    let p = run(Approvals::None, Vec::new());
    let steps: Vec<&str> = p.actions.iter().map(|a| a.step.as_str()).collect();
    assert_eq!(
        steps,
        [
            "first.note",
            "second.note",
            "per.note",
            "per.note",
            "each",
            "each",
            "note"
        ]
    );
    let keys: std::collections::BTreeSet<&str> = p.actions.iter().map(|a| a.key.as_str()).collect();
    assert_eq!(keys.len(), p.actions.len(), "one key per action");
    // A call step's path names one call site; the callee's own step id names them all.
    let granted = |name: &str| {
        run(Approvals::Steps(vec![name.into()]), Vec::new())
            .actions
            .iter()
            .filter(|a| a.status == Status::WouldRun)
            .count()
    };
    assert_eq!(granted("first.note"), 1);
    assert_eq!(granted("note"), 5);
    let failed = run(
        Approvals::All,
        vec![ScriptedFailure {
            step: Some("per.note".into()),
            ..Default::default()
        }],
    );
    let failed: Vec<&str> = failed
        .actions
        .iter()
        .filter(|a| a.execution.as_ref().is_some_and(|e| e.outcome == "failed"))
        .map(|a| a.step.as_str())
        .collect();
    // Both items are in flight together (concurrency 4 by default), so both run.
    assert_eq!(failed, ["per.note", "per.note"]);
    // Step names are paths plans show, or their ends; ids of the library put together in an
    // order no plan shows name nothing, so a typo never leaves a gate silently closed.
    for name in ["note", "first.note", "per.note", "each", "first", "second"] {
        assert!(crate::scheduler::is_step_name(&lib, name), "{name}");
    }
    for name in [
        "each.note",
        "note.first",
        "first.second",
        "note.note",
        "first.",
        "",
    ] {
        assert!(!crate::scheduler::is_step_name(&lib, name), "{name}");
    }
    let e = Approvals::from_words(&["each.note".into()], &lib).expect_err("not a step");
    assert!(
        e.contains("no gamebook of the library has a step `each.note`"),
        "{e}"
    );
    // `all` and `none` stand alone; given twice they are refused as a step named twice is;
    // together they contradict.
    let approve = |w: &[&str]| {
        let w: Vec<String> = w.iter().map(|s| s.to_string()).collect();
        Approvals::from_words(&w, &lib)
    };
    assert_eq!(approve(&["all"]), Ok(Approvals::All));
    assert_eq!(approve(&["none"]), Ok(Approvals::None));
    let e = approve(&["all", "all"]).expect_err("twice");
    assert_eq!(e, "`--approve all` is given twice; give it once");
    let e = approve(&["none", "none"]).expect_err("twice");
    assert_eq!(e, "`--approve none` is given twice; give it once");
    let e = approve(&["none", "all"]).expect_err("contradiction");
    assert!(e.contains("contradict each other"), "{e}");
    let e = approve(&["all", "first"]).expect_err("all with a step");
    assert!(
        e.contains("`--approve all` cannot be combined with step names"),
        "{e}"
    );
    // The keywords in another case are no step either: the error names the keyword meant.
    let e = approve(&["ALL"]).expect_err("not a keyword");
    assert!(e.contains("did you mean `all`?"), "{e}");
    let e = approve(&["first", "None"]).expect_err("not a keyword");
    assert!(e.contains("did you mean `none`?"), "{e}");
}

#[test]
fn a_task_behind_an_ungranted_gate_waits() {
    let gb = r#"
kind: gamebook
name: iso
version: 1.0.0
steps:
  - id: isolate
    for_each: {items: incident.devices, as: d}
    action: device.isolate
    approval: {role: workspace_owner, timeout: 1h, on_timeout: reject}
  - id: call
    needs: [isolate]
    task: {title: Call the customer, role: incident_responder}
"#;
    let lib = library(&[gb, &sop("")]);
    let inc = incident(json!([device("d1", "ws-1", json!({}))]));
    let task = |approvals: Approvals| {
        let config = RunConfig {
            approvals,
            ..RunConfig::default()
        };
        let p = plan_with(&lib, &ws(Mode::Autonomous), &inc, &config, Vec::new());
        let t = p.tasks.first().expect("the task").clone();
        (t.status, t.reason)
    };
    assert_eq!(
        task(Approvals::None),
        (
            super::model::TaskStatus::AwaitingApproval,
            "waits for step `isolate`, which awaits approval".to_string()
        )
    );
    assert_eq!(
        task(Approvals::All),
        (super::model::TaskStatus::Open, String::new())
    );
}

/// A task step with a `timeout` that a run times out is not completed: the task is listed as
/// `timed_out`, its step fails (its handler runs, its `output` is null) and a step that runs only
/// when it succeeded is skipped. A task without a `timeout`, or whose step has a gate (the gate
/// times out), cannot be timed out so.
#[test]
fn a_task_that_times_out_fails_its_step() {
    let gb = r#"
kind: gamebook
name: iso
version: 1.0.0
steps:
  - id: verify
    task: {title: Verify the device is clean, role: incident_responder}
    timeout: 72h
    on_error: escalate
  - id: escalate
    action: incident.comment
    params: {comment: "not verified in time"}
  - id: release
    needs: [verify]
    if: "steps.verify.status == 'succeeded'"
    for_each: {items: incident.devices, as: d}
    action: device.unisolate
  - id: report
    needs: [verify]
    action: incident.comment
    params: {comment: "verified by {{ steps.verify.output.completed_by }}"}
  - id: untimed
    task: {title: Call the customer, role: incident_responder}
"#;
    let lib = library(&[gb, &sop("")]);
    let inc = incident(json!([device("d1", "ws-1", json!({}))]));
    let run = |time_out: &[&str]| {
        let config = decided(&lib, &["all"], &[], time_out);
        plan_with(&lib, &ws(Mode::Autonomous), &inc, &config, Vec::new())
    };
    let done = run(&[]);
    assert_eq!(done.tasks[0].status, super::model::TaskStatus::Open);
    assert_eq!(
        step_statuses(&done),
        [
            ("escalate", Status::Skipped),
            ("release", Status::WouldRun),
            ("report", Status::WouldRun)
        ]
    );
    assert!(!super::decides_a_time_out(&done, "verify"));
    let late = run(&["verify"]);
    assert_eq!(late.tasks[0].status, super::model::TaskStatus::TimedOut);
    assert_eq!(
        late.tasks[0].reason,
        "not completed within its timeout (3d): the step fails"
    );
    assert_eq!(late.tasks[1].status, super::model::TaskStatus::Open);
    assert_eq!(
        step_statuses(&late),
        [
            ("escalate", Status::WouldRun),
            ("release", Status::Skipped),
            ("report", Status::Skipped)
        ]
    );
    assert!(super::decides_a_time_out(&late, "verify"));
    let words = |w: &[&str]| w.iter().map(|s| s.to_string()).collect::<Vec<_>>();
    let e = Refusals::from_words(&[], &words(&["untimed"]), &Approvals::None, &lib)
        .expect_err("no timeout");
    assert!(e.contains("is no task with a `timeout`"), "{e}");
}

/// Blank text computed for a parameter the service needs text in is no value, as null is: a
/// default applies (a machine action's comment), and a required one without a default blocks
/// the action.
#[test]
fn blank_text_computed_for_a_needed_param_is_no_value() {
    let gb = r#"
kind: gamebook
name: iso
version: 1.0.0
steps:
  - id: isolate
    for_each: {items: incident.devices, as: d}
    action: device.isolate
    params: {comment: "{{ incident.assigned_to }} "}
  - id: note
    action: incident.comment
    params: {comment: "{{ incident.assigned_to }}"}
"#;
    let lib = library(&[gb, &sop("")]);
    let inc = incident(json!([device("d1", "ws-1", json!({}))]));
    let p = plan_with(
        &lib,
        &ws(Mode::Autonomous),
        &inc,
        &RunConfig::default(),
        vec![],
    );
    assert_eq!(p.actions[0].params["comment"], json!("Isolated by Riposte"));
    assert_eq!(p.actions[0].status, Status::WouldRun);
    assert_eq!(p.actions[1].status, Status::Blocked);
    assert!(
        p.actions[1]
            .reason
            .contains("parameter `comment` has no value: it rendered empty text"),
        "{}",
        p.actions[1].reason
    );
}

/// A library of 16 gamebooks, each calling the next from `width` steps: `width`^15 runs of the
/// last one, which holds `leaf`.
fn call_tree(width: usize, leaf: &str) -> riposte_dsl::checked::Library {
    let texts: Vec<String> = (0..16)
        .map(|i| {
            let steps: String = if i < 15 {
                (0..width)
                    .map(|j| format!("  - {{id: c{j}, gamebook: t{}}}\n", i + 1))
                    .collect()
            } else {
                format!("  - {leaf}\n")
            };
            format!("kind: gamebook\nname: t{i}\nversion: 1.0.0\nsteps:\n{steps}")
        })
        .chain(["kind: sop\ntype: response\nname: s\ngamebooks: [{gamebook: t0}]\n".to_string()])
        .collect();
    let refs: Vec<&str> = texts.iter().map(String::as_str).collect();
    library(&refs)
}

#[test]
fn exponential_call_trees_are_planned_in_bounded_work() {
    let config = RunConfig::default();
    let plan_of_tree = |width: usize, leaf: &str| {
        let lib = call_tree(width, leaf);
        plan_with(
            &lib,
            &ws(Mode::Autonomous),
            &incident(json!([])),
            &config,
            vec![],
        )
    };
    let plan_of = |leaf: &str| plan_of_tree(8, leaf);
    // Actions at the bottom, each a repeat of the first: the repeats past the listing's room
    // are counted, the step limit stops the run (its rows listed in a room of their own), and
    // what is past it is counted from the library's structure, not walked (8^15 rows).
    let p = plan_of("{id: note, action: incident.comment, params: {comment: x}}");
    assert_eq!(
        p.actions.len(),
        2 * config.max_actions + crate::scheduler::LIMIT_ROWS
    );
    assert_eq!(
        p.summary.unlisted as u64 + p.actions.len() as u64,
        8u64.pow(15)
    );
    // 20^15 rows are more than a count holds, or a JSON reader reads exactly: the count stops
    // at 2^53 - 1, and the text says it is a floor.
    let p = plan_of_tree(
        20,
        "{id: note, action: incident.comment, params: {comment: x}}",
    );
    assert_eq!(p.summary.unlisted, super::model::MAX_UNLISTED);
    let text = super::text::render(&p, false);
    assert!(
        text.contains("at least 9007199254740991 more blocked, skipped or rejected"),
        "{text}"
    );
    // Tasks at the bottom count no actions: the step limit stops the run, and says so.
    let p = plan_of("{id: look, task: {title: look, role: incident_responder}}");
    assert!(p.tasks.len() < 100_000);
    assert!(
        p.sops[0]
            .detail
            .contains("plan limit: the SOP's gamebooks started 100000 steps"),
        "{}",
        p.sops[0].detail
    );
}

/// The rows of `p` as `(target name, status, reason)`.
fn by_target(p: &Plan) -> Vec<(&str, Status, &str)> {
    p.actions
        .iter()
        .map(|a| {
            (
                a.target.as_ref().map_or("", |t| t.name.as_str()),
                a.status,
                a.reason.as_str(),
            )
        })
        .collect()
}

/// The rows of `p` as `(step, target, status, reason)`.
fn rows(p: &Plan) -> Vec<(String, String, Status, String)> {
    statuses(p)
        .into_iter()
        .zip(&p.actions)
        .map(|((step, target, status), a)| (step, target, status, a.reason.clone()))
        .collect()
}

fn autonomous_plan(lib: &riposte_dsl::checked::Library, inc: &Incident) -> Plan {
    autonomous(lib, inc, Approvals::None)
}

fn autonomous(lib: &riposte_dsl::checked::Library, inc: &Incident, approvals: Approvals) -> Plan {
    let config = RunConfig {
        approvals,
        ..RunConfig::default()
    };
    plan_with(lib, &ws(Mode::Autonomous), inc, &config, Vec::new())
}

/// Behind an ungranted gate, a condition or a for-each list that reads the gated step's
/// results is decided only once the gate is passed; a step skipped while waiting still holds
/// back what needs it.
#[test]
fn what_depends_on_an_ungranted_gate_waits_for_it() {
    let gb = r#"
kind: gamebook
name: iso
version: 1.0.0
steps:
  - id: isolate
    for_each: {items: incident.devices, as: d}
    action: device.isolate
    approval: {role: workspace_owner, timeout: 1h, on_timeout: reject}
  - id: scan
    needs: [isolate]
    if: "steps.isolate.succeeded > 0"
    for_each: {items: incident.devices, as: d}
    action: device.full_scan
  - id: note
    needs: [isolate]
    for_each: {items: "filter(steps.isolate.results, r => r.status == 'succeeded')", as: r}
    action: incident.comment
    params: {comment: "isolated"}
  - id: low_only
    needs: [isolate]
    if: "incident.severity == low"
    action: incident.comment
    params: {comment: "low"}
  - id: after_low
    needs: [low_only]
    action: incident.comment
    params: {comment: "after"}
  - id: report
    needs: [scan]
    action: incident.comment
    params: {comment: "done"}
"#;
    let lib = library(&[gb, &sop("")]);
    let inc = incident(json!([device("d1", "ws-1", json!({}))]));
    let waits = "waits for step `isolate`, which awaits approval";
    let p = autonomous(&lib, &inc, Approvals::None);
    let got = rows(&p);
    let row = |step: &str| {
        got.iter()
            .find(|r| r.0 == step)
            .unwrap_or_else(|| panic!("no row for {step}: {got:#?}"))
            .clone()
    };
    assert_eq!(row("scan").2, Status::AwaitingApproval, "{got:#?}");
    assert_eq!(row("scan").3, waits);
    assert_eq!(row("report").2, Status::AwaitingApproval, "{got:#?}");
    // The items are not known yet: one row says so, instead of none.
    assert_eq!(row("note").2, Status::AwaitingApproval, "{got:#?}");
    assert_eq!(
        row("note").3,
        format!("{waits}; its for-each items are known once it runs")
    );
    // Skipped even once approved, and reported so; what needs it waits all the same.
    assert_eq!(row("low_only").2, Status::Skipped, "{got:#?}");
    assert_eq!(row("after_low").2, Status::AwaitingApproval, "{got:#?}");
    assert_eq!(row("after_low").3, waits);

    let p = autonomous(&lib, &inc, Approvals::All);
    let got = rows(&p);
    for step in ["isolate", "scan", "note", "after_low", "report"] {
        assert!(
            got.iter().any(|r| r.0 == step && r.2 == Status::WouldRun),
            "{step}: {got:#?}"
        );
    }
}

/// Only a Workspace Owner approves a high-impact action, whichever gate holds it back: its
/// own step's, an enclosing group's or a calling step's. One approval passes a gate, so such a
/// gate is an owner's for every action behind it; a gate holding none keeps its role.
#[test]
fn a_gate_on_a_group_or_a_call_is_approved_by_an_owner_for_high_impact_actions() {
    let gb = r#"
kind: gamebook
name: iso
version: 1.0.0
steps:
  - id: contain
    approval: {role: incident_responder, timeout: 1h, on_timeout: reject}
    steps:
      - id: isolate
        for_each: {items: incident.devices, as: d}
        action: device.isolate
      - id: note
        action: incident.comment
        params: {comment: "contained"}
  - id: call_inner
    approval: {role: incident_analyst, timeout: 1h, on_timeout: reject}
    gamebook: inner
"#;
    let inner = r#"
kind: gamebook
name: inner
version: 1.0.0
steps:
  - id: offboard
    for_each: {items: incident.devices, as: d}
    action: device.offboard
"#;
    let lib = library(&[gb, inner, &sop("")]);
    let inc = incident(json!([device("d1", "ws-1", json!({}))]));
    let p = autonomous(&lib, &inc, Approvals::None);
    let role = |step: &str| {
        let a = p
            .actions
            .iter()
            .find(|a| a.step == step)
            .unwrap_or_else(|| panic!("no row for {step}"));
        assert_eq!(a.status, Status::AwaitingApproval, "{step}");
        let approval = a.approval.as_ref().expect("an approval");
        (
            approval.role,
            approval.reason.contains("only a Workspace Owner"),
        )
    };
    assert_eq!(role("contain.isolate"), ("workspace_owner", true));
    assert_eq!(role("contain.note"), ("workspace_owner", true));
    assert_eq!(role("call_inner.offboard"), ("workspace_owner", true));
    let low = gb.replace("action: device.isolate", "action: device.quick_scan");
    let lib = library(&[&low, inner, &sop("")]);
    let p = autonomous(&lib, &inc, Approvals::None);
    let note = p
        .actions
        .iter()
        .find(|a| a.step == "contain.note")
        .expect("note");
    assert_eq!(
        note.approval.as_ref().map(|a| a.role),
        Some("incident_responder")
    );
}

/// Inside a gated group, what waits names the group's gate, not the step before it.
#[test]
fn steps_inside_a_gated_group_name_its_gate() {
    let gb = r#"
kind: gamebook
name: iso
version: 1.0.0
steps:
  - id: grp
    approval: {role: workspace_owner, timeout: 1h, on_timeout: reject}
    steps:
      - id: s1
        action: incident.comment
        params: {comment: "one"}
      - id: s2
        needs: [s1]
        action: incident.comment
        params: {comment: "two"}
"#;
    let lib = library(&[gb, &sop("")]);
    let inc = incident(json!([]));
    let p = autonomous(&lib, &inc, Approvals::None);
    for a in &p.actions {
        assert_eq!(a.status, Status::AwaitingApproval);
        assert_eq!(
            a.reason, "awaits the approval gate of step `grp`",
            "{}",
            a.step
        );
    }
}

/// Under `fail_fast`, a failed item fails the step even while other items await approval:
/// its error handler runs and what needs it is cancelled.
#[test]
fn a_fail_fast_failure_outranks_items_awaiting_approval() {
    let gb = r#"
kind: gamebook
name: iso
version: 1.0.0
steps:
  - id: scan
    for_each: {items: incident.devices, as: d, on_error: fail_fast}
    action: device.quick_scan
    on_error: tell
  - id: next
    needs: [scan]
    action: incident.comment
    params: {comment: "next"}
  - id: tell
    action: incident.comment
    params: {comment: "failed"}
"#;
    let approvals = "approval:\n  - actions: [device.quick_scan]\n    role: incident_responder\n    approve_if: \"entity.name == 'ws-1'\"\n";
    let lib = library(&[gb, &sop(approvals)]);
    let inc = incident(json!([
        device("d1", "ws-1", json!({})),
        device("d2", "ws-2", json!({}))
    ]));
    let failures = vec![ScriptedFailure {
        step: Some("scan".into()),
        target: Some("ws-2".into()),
        error: "scripted".into(),
        ..ScriptedFailure::default()
    }];
    let p = plan_with(
        &lib,
        &ws(Mode::Autonomous),
        &inc,
        &RunConfig::default(),
        failures,
    );
    let got = rows(&p);
    let status = |step: &str| got.iter().find(|r| r.0 == step).map(|r| r.2);
    assert_eq!(status("tell"), Some(Status::WouldRun), "{got:#?}");
    assert_eq!(status("next"), Some(Status::Skipped), "{got:#?}");
}

/// Skipped rows are not actions: they do not count towards the plan limit.
#[test]
fn the_plan_action_limit_does_not_count_skipped_rows() {
    let gb = r#"
kind: gamebook
name: iso
version: 1.0.0
steps:
  - {id: a, if: "incident.severity == low", action: incident.comment, params: {comment: a}}
  - {id: b, if: "incident.severity == low", action: incident.comment, params: {comment: b}}
  - {id: c, action: incident.comment, params: {comment: c}}
  - {id: d, action: incident.comment, params: {comment: d}}
  - {id: e, action: incident.comment, params: {comment: e}}
  - {id: f, action: incident.comment, params: {comment: f}}
"#;
    let lib = library(&[gb, &sop("")]);
    let config = RunConfig {
        max_actions: 3,
        ..RunConfig::default()
    };
    let p = plan_with(
        &lib,
        &ws(Mode::Autonomous),
        &incident(json!([])),
        &config,
        vec![],
    );
    assert_eq!(
        step_statuses(&p),
        [
            ("a", Status::Skipped),
            ("b", Status::Skipped),
            ("c", Status::WouldRun),
            ("d", Status::WouldRun),
            ("e", Status::WouldRun),
            ("f", Status::Blocked),
        ],
        "{:#?}",
        p.actions
    );
}

/// An error edge is taken once the handler starts: not while it awaits approval.
#[test]
fn an_error_edge_to_a_handler_awaiting_approval_is_not_taken() {
    let gb = r#"
kind: gamebook
name: iso
version: 1.0.0
steps:
  - {id: act, action: incident.comment, params: {comment: a}, on_error: h}
  - id: h
    approval: {role: workspace_owner, timeout: 1h, on_timeout: reject}
    action: incident.comment
    params: {comment: failed}
"#;
    let lib = library(&[gb, &sop("")]);
    let failures = vec![ScriptedFailure {
        step: Some("act".into()),
        ..ScriptedFailure::default()
    }];
    let edges = |approvals: Approvals| {
        let config = RunConfig {
            approvals,
            trace: true,
            ..RunConfig::default()
        };
        let p = plan_with(
            &lib,
            &ws(Mode::Autonomous),
            &incident(json!([])),
            &config,
            failures.clone(),
        );
        p.trace
            .iter()
            .filter(|e| matches!(e, crate::scheduler::TraceEvent::ErrorEdge { .. }))
            .count()
    };
    assert_eq!(edges(Approvals::None), 0);
    assert_eq!(edges(Approvals::All), 1);
}

/// An action of the same key runs once: a for-each item repeated, or the same gamebook run by
/// two SOPs, is planned once and the repeats say so.
#[test]
fn an_action_repeated_with_the_same_key_is_planned_once() {
    let gb = r#"
kind: gamebook
name: iso
version: 1.0.0
steps:
  - id: note
    for_each: {items: "map(incident.devices, d => d.verdict)", as: v}
    action: incident.comment
    params: {comment: "{{ v }}"}
"#;
    let second = "kind: sop\ntype: response\nname: t\ngamebooks:\n  - gamebook: iso\n";
    let lib = library(&[gb, &sop(""), second]);
    let p = plan_with(
        &lib,
        &ws(Mode::Autonomous),
        &devices(3),
        &RunConfig::default(),
        vec![],
    );
    let rows: Vec<(&str, Status, &str)> = p
        .actions
        .iter()
        .map(|a| (a.sop.as_str(), a.status, a.reason.as_str()))
        .collect();
    let again = "already done by step `note` of gamebook `iso` (SOP `s`): the same action on the same target with the same params runs once";
    assert_eq!(
        rows,
        [
            ("s", Status::WouldRun, "runs via Riposte for MDE"),
            ("s", Status::Skipped, again),
            ("s", Status::Skipped, again),
            ("t", Status::Skipped, again),
            ("t", Status::Skipped, again),
            ("t", Status::Skipped, again),
        ]
    );
    assert_eq!((p.summary.would_run, p.summary.skipped), (1, 5));
}

/// Another gamebook's action on the same target with the same params is a repeat too (both
/// the phishing and the compromised-user gamebook revoke a phished user's sessions), unless
/// its reverse came between (isolate, release, isolate again) or the same action with other
/// params (full, selective, full again); other params are another action, other notes (a
/// comment for the EDR console) are not.
#[test]
fn an_action_another_gamebook_already_planned_runs_once() {
    let revoke = |name: &str| {
        format!(
            "kind: gamebook\nname: {name}\nversion: 1.0.0\nsteps:\n  - {{id: revoke, for_each: incident.users, action: user.revoke_sessions}}\n"
        )
    };
    let isolate = r#"
kind: gamebook
name: cycle
version: 1.0.0
steps:
  - {id: isolate, for_each: incident.devices, action: device.isolate}
  - {id: release, needs: [isolate], for_each: incident.devices, action: device.unisolate}
  - {id: again, needs: [release], for_each: incident.devices, action: device.isolate}
  - {id: selective, needs: [again], for_each: incident.devices, action: device.isolate, params: {isolation: selective}}
  - {id: twice, needs: [selective], for_each: incident.devices, action: device.isolate, params: {isolation: selective}}
  - {id: noted, needs: [twice], for_each: incident.devices, action: device.isolate, params: {isolation: selective, comment: another note}}
  - {id: full_again, needs: [noted], for_each: incident.devices, action: device.isolate, params: {isolation: full}}
"#;
    let sop = "kind: sop\ntype: response\nname: s\ngamebooks:\n  - gamebook: phish\n  - gamebook: compromised\n  - gamebook: cycle\n";
    let lib = library(&[&revoke("phish"), &revoke("compromised"), isolate, sop]);
    let inc = incident(json!([
        device("d0", "ws-0", json!({})),
        user("u1", "a@c.com")
    ]));
    let p = autonomous_plan(&lib, &inc);
    assert_eq!(
        step_statuses(&p),
        [
            ("revoke", Status::WouldRun),
            ("revoke", Status::Skipped),
            ("isolate", Status::WouldRun),
            ("release", Status::WouldRun),
            ("again", Status::WouldRun),
            ("selective", Status::WouldRun),
            ("twice", Status::Skipped),
            // Another comment is another note, not another action.
            ("noted", Status::Skipped),
            // The last one done holds: full isolation again after selective is done again.
            ("full_again", Status::WouldRun),
        ]
    );
    assert_eq!(
        p.actions[1].reason,
        "already done by step `revoke` of gamebook `phish` (SOP `s`): the same action on the same \
         target with the same params runs once"
    );
    assert_ne!(
        p.actions[0].key, p.actions[1].key,
        "keys stay the gamebook's own"
    );
}

/// Actions that add are each remembered: a comment posted again after another is a repeat,
/// unlike an isolation of other params, whose last one done holds.
#[test]
fn actions_that_add_are_each_remembered() {
    let gb = r#"
kind: gamebook
name: notes
version: 1.0.0
steps:
  - {id: first, action: incident.comment, params: {comment: first}}
  - {id: second, needs: [first], action: incident.comment, params: {comment: second}}
  - {id: again, needs: [second], action: incident.comment, params: {comment: first}}
"#;
    let lib = library(&[gb, &sop("").replace("iso", "notes")]);
    let p = autonomous_plan(&lib, &devices(1));
    assert_eq!(
        step_statuses(&p),
        [
            ("first", Status::WouldRun),
            ("second", Status::WouldRun),
            ("again", Status::Skipped),
        ]
    );
}

/// CrowdStrike and SentinelOne isolate fully only: selective isolation of their devices is
/// blocked, saying so, rather than planned to isolate more than asked; full isolation runs.
#[test]
fn selective_isolation_is_blocked_where_the_service_isolates_fully_only() {
    let selective = ISOLATE.replace(
        "action: device.isolate\n",
        "action: device.isolate\n    params: {isolation: selective}\n",
    );
    let inc = incident(json!([
        device("d1", "ws-1", json!({})),
        device("d2", "cs-2", json!({"provider": "crowdstrike"})),
        device("d3", "s1-3", json!({"provider": "sentinelone"})),
    ]));
    let mut w = ws(Mode::Autonomous);
    w.consented_applications.extend([
        "crowdstrike-response".to_string(),
        "sentinelone-response".to_string(),
    ]);
    let plan = |gamebook: &str| {
        let lib = library(&[gamebook, &sop("")]);
        let p = plan_with(&lib, &w, &inc, &RunConfig::default(), vec![]);
        let rows: Vec<_> = p
            .actions
            .into_iter()
            .filter(|a| a.step == "isolate")
            .collect();
        rows
    };
    let rows = plan(&selective);
    assert_eq!(
        rows.iter().map(|a| a.status).collect::<Vec<_>>(),
        [Status::WouldRun, Status::Blocked, Status::Blocked],
        "{rows:#?}"
    );
    assert_eq!(
        rows[1].reason,
        "Falcon (contain) isolates fully only, so `isolation: selective` would isolate more \
         than asked; isolate this device with `isolation: full`"
    );
    assert!(
        rows[2]
            .reason
            .starts_with("Singularity Endpoint (network disconnect) isolates fully only"),
        "{}",
        rows[2].reason
    );
    let full = plan(ISOLATE);
    assert!(
        full.iter().all(|a| a.status == Status::WouldRun),
        "{full:#?}"
    );
}

/// An indicator is a state of its address (posting it again updates it): blocking an
/// address again after auditing it is done again, and the last one done holds.
#[test]
fn an_indicator_set_again_after_another_action_is_done_again() {
    let gb = r#"
kind: gamebook
name: indicators
version: 1.0.0
steps:
  - {id: block, for_each: incident.ips, action: ip.block, params: {action: block}}
  - {id: audit, needs: [block], for_each: incident.ips, action: ip.block, params: {action: audit}}
  - {id: block_again, needs: [audit], for_each: incident.ips, action: ip.block, params: {action: block}}
  - {id: twice, needs: [block_again], for_each: incident.ips, action: ip.block, params: {action: block}}
"#;
    let lib = library(&[gb, &sop("").replace("iso", "indicators")]);
    let inc = incident(
        json!([{"kind": "ip", "id": "ip:203.0.113.9", "name": "203.0.113.9",
                               "provider": "microsoft", "fields": {"address": "203.0.113.9"}}]),
    );
    let p = autonomous_plan(&lib, &inc);
    assert_eq!(
        step_statuses(&p),
        [
            ("block", Status::WouldRun),
            ("audit", Status::WouldRun),
            ("block_again", Status::WouldRun),
            ("twice", Status::Skipped),
        ]
    );
}

/// What is not done yet is no first of repeats: an action behind an error handler waiting for
/// a gate may never run, and one that failed is tried again with the repeat's own retries. A
/// repeat counts against no SOP limit.
#[test]
fn only_an_action_done_makes_repeats() {
    let contain = r#"
kind: gamebook
name: contain
version: 1.0.0
steps:
  - id: iso
    for_each: incident.devices
    action: device.isolate
    approval: {role: workspace_owner, timeout: 1h, on_timeout: reject}
    on_error: fallback
  - {id: fallback, for_each: incident.users, action: user.revoke_sessions}
"#;
    let signout = r#"
kind: gamebook
name: signout
version: 1.0.0
steps:
  - {id: signout, for_each: incident.users, action: user.revoke_sessions, retry: {attempts: 3, backoff: 1s}}
  - {id: again, for_each: incident.users, action: user.revoke_sessions}
  - {id: after, needs: [again], action: incident.comment, params: {comment: done}}
"#;
    let sop = "kind: sop\ntype: response\nname: s\nguardrails: {limits: {user.revoke_sessions: 1}}\ngamebooks:\n  - gamebook: contain\n  - gamebook: signout\n";
    let lib = library(&[contain, signout, sop]);
    let inc = incident(json!([
        device("d0", "ws-0", json!({})),
        user("u1", "a@c.com")
    ]));
    let rows = |failures: Vec<ScriptedFailure>| -> Vec<(String, Status, Option<u32>)> {
        plan_with(
            &lib,
            &ws(Mode::Autonomous),
            &inc,
            &RunConfig::default(),
            failures,
        )
        .actions
        .iter()
        .map(|a| {
            (
                a.step.clone(),
                a.status,
                a.execution.as_ref().map(|e| e.attempts),
            )
        })
        .collect()
    };
    assert_eq!(
        rows(vec![]),
        [
            ("iso".into(), Status::AwaitingApproval, None),
            // Waits with the gate: no sign-out done yet.
            ("fallback".into(), Status::AwaitingApproval, None),
            ("signout".into(), Status::WouldRun, Some(1)),
            // Done: not again, and not blocked by the limit of one, which the first sign-out
            // reached (the waiting error handler takes nothing of it).
            ("again".into(), Status::Skipped, None),
            ("after".into(), Status::WouldRun, Some(1)),
        ]
    );
    // The first sign-out fails, after its three attempts: the next is no repeat, and meets
    // the limit.
    let failed = rows(vec![ScriptedFailure {
        step: Some("signout".into()),
        ..Default::default()
    }]);
    assert_eq!(failed[2], ("signout".into(), Status::WouldRun, Some(3)));
    assert_eq!(failed[3], ("again".into(), Status::Blocked, None));
}

/// The demo workspace runs every SOP of the library, those for tagged workspaces too; not
/// those for named ones.
#[test]
fn the_demo_workspace_carries_the_tags_the_library_routes_on() {
    let lib = library(&[
        ISOLATE,
        &sop("applies_to: {workspace_tags: [managed-xdr]}\n"),
        &sop("applies_to: {workspaces: [contoso]}\n").replace("name: s", "name: named"),
        &sop("applies_to: {workspace_tags: [équipe]}\n").replace("name: s", "name: team"),
    ]);
    let demo = Workspace::demo_for(&lib.sops);
    assert_eq!(demo.tags, ["managed-xdr", "équipe"]);
    let matched = |w: &Workspace| -> Vec<(String, bool)> {
        let p = plan_with(&lib, w, &devices(1), &RunConfig::default(), vec![]);
        p.sops.iter().map(|s| (s.name.clone(), s.matched)).collect()
    };
    let names = |m: &[(&str, bool)]| -> Vec<(String, bool)> {
        m.iter().map(|(n, b)| (n.to_string(), *b)).collect()
    };
    assert_eq!(
        matched(&demo),
        names(&[("named", false), ("s", true), ("team", true)])
    );
    // Names and tags ignore case, beyond ASCII too.
    let contoso = Workspace {
        name: "Contoso".into(),
        tags: vec!["Managed-XDR".into(), "ÉQUIPE".into()],
        ..demo
    };
    assert_eq!(
        matched(&contoso),
        names(&[("named", true), ("s", true), ("team", true)])
    );
}

/// With no verdict, the text plan names the classification SOPs the agent does not run: a
/// workspace that left them out gets none, and its response SOPs for a verdict never match.
#[test]
fn classification_sops_the_agent_does_not_run_are_named() {
    let cls = "kind: sop\ntype: classification\nname: triage\nrules:\n  - {name: all, when: \"true\", classification: true_positive, reason: malware, confidence: 90}\n";
    let lib = library(&[ISOLATE, &sop(""), cls]);
    let mut w = ws(Mode::Autonomous);
    w.agent.sops = crate::workspace::SopSelection::Named(vec!["s".into()]);
    let p = plan_with(&lib, &w, &devices(1), &RunConfig::default(), vec![]);
    assert!(p.classification.is_none());
    let text = crate::plan::text::render(&p, false);
    assert!(
        text.contains(
            "classification: no classification SOP matched; the agent of workspace `demo` does \
             not run the classification SOPs `triage`"
        ),
        "{text}"
    );
}

/// A Microsoft Sentinel incident is commented on in Sentinel (Azure Resource Manager, by the
/// Riposte API application every workspace has), not through Microsoft Graph, which does not
/// know its id.
#[test]
fn sentinel_incidents_are_commented_on_in_sentinel() {
    let gb = "kind: gamebook\nname: iso\nversion: 1.0.0\nsteps:\n  - {id: note, action: incident.comment, params: {comment: seen}}\n";
    let lib = library(&[gb, &sop("")]);
    let mut inc = devices(1);
    let mut w = ws(Mode::Autonomous);
    w.consented_applications = vec!["mde".into()];
    let via = |inc: &Incident| {
        let p = plan_with(&lib, &w, inc, &RunConfig::default(), vec![]);
        (p.actions[0].status, p.actions[0].provider.clone())
    };
    assert_eq!(
        via(&inc),
        (Status::WouldRun, Some("microsoft/mde".to_string()))
    );
    inc.source = "sentinel".into();
    assert_eq!(
        via(&inc),
        (Status::WouldRun, Some("sentinel/api".to_string()))
    );
}

/// Running out of evaluation work never lets a run do more: `not any(…)` holds on the null a
/// spent list function gives, so what comes after is blocked, naming the limit.
#[test]
fn running_out_of_work_blocks_what_follows() {
    let gb = r#"
kind: gamebook
name: iso
version: 1.0.0
steps:
  - id: heavy
    if: "count(incident.devices, d => count(incident.devices, e => e.name == d.name) > 1) > 0"
    action: incident.comment
    params: {comment: two devices share a name}
  - id: isolate
    for_each: {items: incident.devices, as: d, filter: "not any(d.tags, t => t == 'crown-jewel')"}
    action: device.isolate
"#;
    let lib = library(&[gb, &sop("")]);
    let inc = devices(20);
    let run = |max_work: u64| {
        let config = RunConfig {
            max_work,
            ..RunConfig::default()
        };
        plan_with(&lib, &ws(Mode::Autonomous), &inc, &config, vec![])
    };
    let enough = run(RunConfig::default().max_work);
    assert_eq!(enough.actions[0].reason, "condition `if` is false");
    assert_eq!(enough.summary.would_run, 20);
    // 400 calls for `heavy` alone.
    let spent = run(100);
    assert!(
        spent.actions[0].reason.contains("ran out of work"),
        "{:?}",
        spent.actions[0]
    );
    assert_eq!((spent.summary.would_run, spent.summary.blocked), (0, 20));
    assert!(spent.actions[1]
        .reason
        .starts_with("evaluation limit: an expression of SOP `s` ran out of work"));
    assert!(
        spent.sops[0].detail.contains("evaluation limit"),
        "{}",
        spent.sops[0].detail
    );
}

/// A quantifier that is the whole `filter` spends the run's work as the same test written out
/// does: once it is spent, the items after are blocked, however the filter is spelled.
#[test]
fn a_filter_that_is_one_quantifier_spends_work() {
    let inc = devices(20);
    let statuses = |filter: &str, max_work: u64| {
        let config = RunConfig {
            max_work,
            ..RunConfig::default()
        };
        let gb = format!(
            "kind: gamebook\nname: iso\nversion: 1.0.0\nsteps:\n  - id: isolate\n    for_each: {{items: incident.devices, as: d, filter: \"{filter}\"}}\n    action: device.isolate\n"
        );
        let lib = library(&[&gb, &sop("")]);
        let p = plan_with(&lib, &ws(Mode::Autonomous), &inc, &config, vec![]);
        (
            p.summary.would_run,
            p.summary.blocked,
            p.actions.last().map(|a| a.reason.clone()),
        )
    };
    let (fast, written) = (
        "all(incident.devices, x => x.name != 'none')",
        "all(incident.devices, x => x.name != 'none' and true)",
    );
    let enough = RunConfig::default().max_work;
    let all_run = statuses(fast, enough);
    assert_eq!((all_run.0, all_run.1), (20, 0), "{all_run:?}");
    assert_eq!(statuses(written, enough), all_run);
    // 20 calls an item: the filter holds for the first 5, then the run is out of work.
    let spent = statuses(fast, 100);
    assert_eq!(spent, statuses(written, 100));
    assert_eq!((spent.0, spent.1), (0, 5), "{spent:?}");
    assert!(
        spent
            .2
            .as_deref()
            .is_some_and(|r| r.starts_with("evaluation limit")),
        "{spent:?}"
    );
}

/// Nor does running out of work while classifying, deciding whether an SOP applies, or
/// deciding whether an action needs approval: no verdict, the SOP not matched, the action
/// blocked.
#[test]
fn running_out_of_work_decides_nothing() {
    const HEAVY: &str =
        "count(incident.devices, d => count(incident.devices, e => e.name == d.name) > 1) == 0";
    let inc = devices(20);
    let spent = RunConfig {
        max_work: 100,
        ..RunConfig::default()
    };
    let run = |lib: &riposte_dsl::checked::Library, config: &RunConfig| {
        plan_with(lib, &ws(Mode::Autonomous), &inc, config, vec![])
    };
    // Classification.
    let cls = format!(
        "kind: sop\ntype: classification\nname: c\nrules:\n  - {{name: no duplicates, when: \"{HEAVY}\", classification: false_positive, reason: not_malicious, confidence: 90}}\n"
    );
    // The first SOP routes on the verdict, the second does not.
    let lib = library(&[
        ISOLATE,
        &sop("applies_to: {classifications: [false_positive]}\n"),
        &sop("").replace("name: s", "name: any"),
        &cls,
    ]);
    let enough = run(&lib, &RunConfig::default());
    assert_eq!(
        enough.classification.as_ref().map(|c| c.classification),
        Some("false_positive")
    );
    let p = run(&lib, &spent);
    assert!(p.classification.is_none());
    let s = p.sops.iter().find(|m| m.name == "s").expect("listed");
    assert!(!s.matched);
    assert!(
        s.detail
            .starts_with("evaluation limit: the classification's"),
        "{}",
        s.detail
    );
    assert!(p.sops.iter().any(|m| m.name == "any" && m.matched));
    assert!(p.actions.iter().all(|a| a.sop == "any"));
    // An SOP's `when`.
    let lib = library(&[
        ISOLATE,
        &sop(&format!("applies_to: {{when: \"{HEAVY}\"}}\n")),
    ]);
    assert!(run(&lib, &RunConfig::default()).sops[0].matched);
    let p = run(&lib, &spent);
    assert!(!p.sops[0].matched);
    assert!(
        p.sops[0].detail.contains("its `when` ran out of work"),
        "{}",
        p.sops[0].detail
    );
    // `not` of it would hold on the null: still not matched.
    let lib = library(&[
        ISOLATE,
        &sop(&format!("applies_to: {{when: \"not ({HEAVY})\"}}\n")),
    ]);
    assert!(!run(&lib, &spent).sops[0].matched);
    // An `approve_if` (`not` of a spent list function would hold).
    let lib = library(&[
        ISOLATE,
        &sop(&format!(
            "approval:\n  - {{actions: [device.isolate], role: workspace_owner, approve_if: \"not ({HEAVY})\"}}\n"
        )),
    ]);
    assert_eq!(
        run(&lib, &RunConfig::default()).actions[0].status,
        Status::WouldRun
    );
    let p = run(&lib, &spent);
    assert_eq!(p.actions[0].status, Status::Blocked, "{:?}", p.actions[0]);
    assert!(p.actions[0].reason.starts_with("evaluation limit"));
}

/// What a plan holds of rendered params is bounded: a long description rendered into the
/// params of every for-each item fills the plan's room, and the actions after that are blocked
/// without params, saying so, across SOPs.
#[test]
fn the_params_a_plan_holds_are_bounded() {
    use crate::scheduler::MAX_PLAN_PARAM_BYTES;
    const SCAN: &str = r#"
kind: gamebook
name: iso
version: 1.0.0
steps:
  - id: scan
    for_each: {items: incident.devices, as: d}
    action: device.quick_scan
    target: d
    params: {comment: "{{ incident.description }}{{ d.hostname }}"}
"#;
    let inc = long_description(200_000, 400);
    let lib = library(&[SCAN, &sop(""), &sop("").replace("name: s", "name: s2")]);
    let p = autonomous(&lib, &inc, Approvals::All);
    assert_eq!(p.actions.len(), 800);
    let ran: Vec<_> = p
        .actions
        .iter()
        .take_while(|a| a.status == Status::WouldRun)
        .collect();
    // 200 005 bytes or so each: 335 fit in 64 MiB.
    assert_eq!(ran.len(), 335);
    let held: usize = ran
        .iter()
        .map(|a| {
            a.params
                .get("comment")
                .and_then(|c| c.as_str())
                .map_or(0, str::len)
        })
        .sum();
    assert!(held <= MAX_PLAN_PARAM_BYTES);
    // Every action after them, of this SOP and the next, is blocked, with its target and
    // without params.
    let rest = &p.actions[ran.len()..];
    assert!(rest.iter().all(|a| a.status == Status::Blocked
        && a.params.is_empty()
        && a.target.is_some()
        && a.reason
            .starts_with("plan limit: the params and task titles of the plan reached 64 MiB")));
    assert!(rest.iter().any(|a| a.sop == "s2"));
    assert_eq!(p.summary.blocked, 800 - 335);
    // Deterministic.
    assert_eq!(p.actions, autonomous(&lib, &inc, Approvals::All).actions);
}

/// The plan's work is bounded too, not only each run's: SOPs whose `when` each spend their
/// run's budget stop being decided once the plan's ([`super::PLAN_WORK_RUNS`] runs' worth) is
/// spent, and say so; SOPs that spend a little each all run.
#[test]
fn the_plan_work_is_bounded_across_sops() {
    const HEAVY: &str =
        "count(incident.devices, d => count(incident.devices, e => e.name == d.name) > 1) == 0";
    const LIGHT: &str = "count(incident.devices, d => d.name != '') > 0";
    let inc = devices(20);
    let config = RunConfig {
        max_work: 100,
        ..RunConfig::default()
    };
    let runs = usize::try_from(super::PLAN_WORK_RUNS).expect("small");
    let n = runs + 2;
    let lib_of = |when: &str| {
        let mut files = vec![ISOLATE.to_string()];
        for i in 0..n {
            files.push(
                sop(&format!("applies_to: {{when: \"{when}\"}}\n"))
                    .replace("name: s", &format!("name: s{i}")),
            );
        }
        let files: Vec<&str> = files.iter().map(String::as_str).collect();
        library(&files)
    };
    let run = |lib: &riposte_dsl::checked::Library| {
        plan_with(lib, &ws(Mode::Autonomous), &inc, &config, vec![])
    };
    // 20 lambda calls each: all decided, within both budgets.
    let p = run(&lib_of(LIGHT));
    assert!(p.sops.iter().all(|m| m.matched), "{:#?}", p.sops);
    // Each `when` runs out of its own budget, until the plan's is spent.
    let p = run(&lib_of(HEAVY));
    assert_eq!(p.sops.len(), n);
    assert!(p.sops.iter().all(|m| !m.matched));
    let own = p
        .sops
        .iter()
        .filter(|m| {
            m.detail
                .contains("its `when` ran out of work (lambda calls")
        })
        .count();
    let plan = p
        .sops
        .iter()
        .filter(|m| {
            m.detail.starts_with(
                "evaluation limit: the plan's expressions ran out of work (500 units for the \
                 whole plan",
            ) && m.detail.contains("not decided")
        })
        .count();
    assert_eq!((own, plan), (runs, 2), "{:#?}", p.sops);
    assert!(p.actions.is_empty());
    // The same inputs, the same plan.
    assert_eq!(p.sops, run(&lib_of(HEAVY)).sops);
}

/// A row blocked by a protection rule quotes the rule's text clipped: a pattern of a megabyte
/// (a paste gone wrong) was quoted whole on each of the rows it blocks.
#[test]
fn a_long_protection_rule_is_quoted_clipped() {
    let mut w = ws(Mode::Autonomous);
    w.protected_entities = vec![ProtectedEntity::Name("*".repeat(100_000))];
    let ents: Vec<serde_json::Value> = (0..20)
        .map(|i| device(&format!("d{i}"), &format!("host-{i}"), json!({})))
        .collect();
    let inc = incident(serde_json::Value::Array(ents));
    let lib = library(&[ISOLATE, &sop("")]);
    let config = RunConfig {
        approvals: Approvals::All,
        ..RunConfig::default()
    };
    let p = plan_with(&lib, &w, &inc, &config, vec![]);
    let targeted: Vec<_> = p.actions.iter().filter(|a| a.target.is_some()).collect();
    assert_eq!(targeted.len(), 20);
    let shown = format!(
        "protected entity (workspace rule: name `{}…`)",
        "*".repeat(100)
    );
    for a in targeted {
        assert_eq!(a.status, Status::Blocked);
        assert_eq!(a.reason, shown);
    }
}

/// The work of checking protection rules is bounded per plan: once it is spent, an action
/// counts as protected, and says that not every rule was checked.
#[test]
fn protection_checks_are_bounded_per_plan() {
    let mut w = ws(Mode::Autonomous);
    w.protected_entities = (0..50)
        .map(|i| ProtectedEntity::Name(format!("*a*a*a*b{i}")))
        .chain([ProtectedEntity::Name("ws-protected".into())])
        .collect();
    let mut ents: Vec<serde_json::Value> = (0..20)
        .map(|i| {
            device(
                &format!("d{i}"),
                &format!("{}{i}", "a".repeat(300)),
                json!({}),
            )
        })
        .collect();
    ents.insert(0, device("dp", "WS-Protected", json!({})));
    let inc = incident(serde_json::Value::Array(ents));
    let lib = library(&[ISOLATE, &sop("")]);
    let run = |max_protection_work: u64| {
        let config = RunConfig {
            approvals: Approvals::All,
            max_protection_work,
            ..RunConfig::default()
        };
        plan_with(&lib, &w, &inc, &config, vec![])
    };
    const UNCHECKED: &str = "protected entity (not every protection rule was checked";
    let p = run(RunConfig::default().max_protection_work);
    assert!(p.actions.iter().all(|a| !a.reason.contains(UNCHECKED)));
    assert_eq!(
        p.actions[0].reason,
        "protected entity (workspace rule: name `ws-protected`)"
    );
    assert_eq!(p.summary.would_run, 40);
    // About 4 000 units an action: the first few are checked, every later one is not.
    let p = run(20_000);
    let targeted: Vec<_> = p.actions.iter().filter(|a| a.target.is_some()).collect();
    assert_eq!(
        targeted[0].reason,
        "protected entity (workspace rule: name `ws-protected`)"
    );
    let checked = targeted[1..]
        .iter()
        .take_while(|a| a.status == Status::WouldRun)
        .count();
    assert!((2..10).contains(&checked), "{checked}");
    let rest = &targeted[1 + checked..];
    assert!(!rest.is_empty());
    assert!(
        rest.iter()
            .all(|a| a.status == Status::Blocked && a.reason.starts_with(UNCHECKED)),
        "{rest:#?}"
    );
    assert_eq!(p.actions, run(20_000).actions);
}

/// A name of any length is matched whole by protection rules: a long host name named from its
/// fields is not cut short, or `*-backup-vault` would miss it.
#[test]
fn long_names_are_protected_whole() {
    let host = format!("srv-{}-backup-vault", "x".repeat(300));
    let inc = incident(json!([
        {"id": "device:d1", "kind": "device", "verdict": "malicious", "provider": "microsoft",
         "fields": {"hostname": host, "mde_device_id": "d1"}}
    ]));
    assert_eq!(inc.entities[0].name, host);
    let lib = library(&[
        ISOLATE,
        &sop("guardrails: {protected: [{name: \"*-backup-vault\"}]}\n"),
    ]);
    let p = autonomous(&lib, &inc, Approvals::All);
    assert_eq!(p.actions[0].status, Status::Blocked, "{:?}", p.actions[0]);
    assert!(p.actions[0].reason.starts_with("protected entity"));
}

/// A computed reason that is not one of its classification's blocks the update, saying why
/// (a constant one is RP0410).
#[test]
fn an_update_with_a_computed_reason_of_another_verdict_is_blocked() {
    let gb = r#"
kind: gamebook
name: iso
version: 1.0.0
inputs:
  why: {type: string, default: security_testing}
steps:
  - id: resolve
    action: incident.update
    params: {classification: true_positive, reason: "{{ inputs.why }}"}
"#;
    let lib = library(&[gb, &sop("")]);
    let p = autonomous(&lib, &devices(1), Approvals::All);
    assert_eq!(p.actions[0].status, Status::Blocked);
    assert!(
        p.actions[0]
            .reason
            .starts_with("reason `security_testing` is not one of classification `true_positive`"),
        "{}",
        p.actions[0].reason
    );
}

/// A computed parameter the action cannot take blocks it, saying why; null takes the default.
#[test]
fn computed_params_are_checked_and_null_takes_the_default() {
    let gb = |params: &str| {
        format!(
            "kind: gamebook\nname: iso\nversion: 1.0.0\nsteps:\n  - id: block\n    for_each: incident.ips\n    action: ip.block\n    params: {params}\n"
        )
    };
    let inc = incident(
        json!([{"id": "ip:203.0.113.9", "kind": "ip", "name": "203.0.113.9",
        "verdict": "malicious", "provider": "microsoft", "fields": {"address": "203.0.113.9"}}]),
    );
    let plan = |params: &str| {
        let lib = library(&[&gb(params), &sop("")]);
        let p = plan_with(
            &lib,
            &ws(Mode::Autonomous),
            &inc,
            &RunConfig::default(),
            vec![],
        );
        p.actions.into_iter().next().expect("one action")
    };
    let a = plan(r#"{expires_in: "{{ now() - incident.updated }}"}"#);
    assert_eq!(a.status, Status::Blocked);
    assert!(
        a.reason.contains("parameter `expires_in` is `-")
            && a.reason.contains("it takes a duration longer than zero"),
        "{}",
        a.reason
    );
    let a = plan(r#"{action: "{{ lower('BLOCK') }}x"}"#);
    assert_eq!(a.status, Status::Blocked);
    assert!(
        a.reason
            .contains("parameter `action` is `blockx`; it takes one of `block`, `audit`, `warn`"),
        "{}",
        a.reason
    );
    let a = plan(r#"{severity: "{{ incident.alerts[9].severity }}"}"#);
    assert_eq!(a.status, Status::WouldRun, "{}", a.reason);
    assert_eq!(a.params["severity"], "medium");
}

/// An entity the provider's service cannot name is blocked, not planned to succeed: a device
/// Defender for Endpoint does not know, a user with only a SID, an email without its
/// Internet message id, a file without a hash.
#[test]
fn actions_need_the_identifiers_their_service_acts_by() {
    let gb = r#"
kind: gamebook
name: iso
version: 1.0.0
steps:
  - {id: iso, for_each: incident.devices, action: device.isolate}
  - {id: revoke, for_each: incident.users, action: user.revoke_sessions}
  - {id: purge, for_each: incident.emails, action: email.soft_delete}
  - {id: block, for_each: incident.files, action: file.block}
  - {id: stop, for_each: incident.files, action: file.quarantine, params: {device_id: d2}}
"#;
    let lib = library(&[gb, &sop("")]);
    let inc = incident(json!([
        {"id": "device:aad", "kind": "device", "name": "ws-1", "verdict": "malicious", "provider": "microsoft",
         "fields": {"aad_device_id": "6c1a", "hostname": "ws-1"}},
        device("d2", "ws-2", json!({})),
        {"id": "device:cs", "kind": "device", "name": "ws-3", "verdict": "malicious", "provider": "crowdstrike",
         "fields": {"hostname": "ws-3"}},
        {"id": "user:s-1-5-21-9", "kind": "user", "name": "CORP\\svc", "verdict": "malicious", "provider": "microsoft",
         "fields": {"sid": "S-1-5-21-9", "account_name": "svc", "domain": "CORP"}},
        user("u2", "bob@contoso.com"),
        {"id": "email:n1:bob@contoso.com", "kind": "email", "name": "hi", "verdict": "malicious", "provider": "microsoft",
         "fields": {"network_message_id": "n1", "recipient": "bob@contoso.com"}},
        {"id": "file:c:\\x\\b.exe", "kind": "file", "name": "b.exe", "verdict": "malicious", "provider": "microsoft",
         "fields": {"file_name": "b.exe", "path": "c:\\x"}},
        {"id": "file:ab", "kind": "file", "name": "a.exe", "verdict": "malicious", "provider": "microsoft",
         "fields": {"file_name": "a.exe", "md5": "ab"}},
        {"id": "file:cc", "kind": "file", "name": "c.exe", "verdict": "malicious", "provider": "microsoft",
         "fields": {"file_name": "c.exe", "sha1": "cc"}},
    ]));
    let p = autonomous(&lib, &inc, Approvals::None);
    let got = by_target(&p);
    assert_eq!(
        got,
        [
            (
                "ws-1",
                Status::Blocked,
                "the device has no `mde_device_id`, which Defender for Endpoint acts on it by"
            ),
            ("ws-2", Status::WouldRun, "runs via Riposte Gamebooks for MDE"),
            (
                "ws-3",
                Status::WouldRun,
                "runs via CrowdStrike Falcon response API client"
            ),
            (
                "CORP\\svc",
                Status::Blocked,
                "the user has no `aad_user_id` or `upn`, which Entra ID acts on it by"
            ),
            (
                "bob@contoso.com",
                Status::WouldRun,
                "runs via Riposte Gamebooks for Identity"
            ),
            (
                "hi",
                Status::Blocked,
                "the email has no `internet_message_id`, which Exchange Online acts on it by"
            ),
            (
                "b.exe",
                Status::Blocked,
                "the file has no `sha256` or `sha1` or `md5`, which Defender for Endpoint acts on it by"
            ),
            ("a.exe", Status::WouldRun, "runs via Riposte Gamebooks for MDE"),
            ("c.exe", Status::WouldRun, "runs via Riposte Gamebooks for MDE"),
            // The device comes from the param; the hash is still the file's own.
            (
                "b.exe",
                Status::Blocked,
                "the file has no `sha1`, which Defender for Endpoint acts on it by"
            ),
            (
                "a.exe",
                Status::Blocked,
                "the file has no `sha1`, which Defender for Endpoint acts on it by"
            ),
            ("c.exe", Status::WouldRun, "runs via Riposte Gamebooks for MDE"),
        ]
    );
}

/// A mailbox protected by its own rule stays protected when its owner is an entity too: every
/// entity of the name an action acts on is checked, not the first found.
#[test]
fn a_protected_mailbox_is_protected_beside_its_unprotected_owner() {
    let gb = "kind: gamebook\nname: iso\nversion: 1.0.0\nsteps:\n  - {id: purge, for_each: incident.emails, action: email.soft_delete}\n";
    let lib = library(&[
        gb,
        &sop("guardrails:\n  protected: [{id: \"mailbox:megan@contoso.com\"}]\n"),
    ]);
    let inc = incident(json!([
        user("u1", "megan@contoso.com"),
        {"id": "mailbox:megan@contoso.com", "kind": "mailbox", "name": "megan@contoso.com", "verdict": "unknown",
         "provider": "microsoft", "fields": {"primary_address": "megan@contoso.com", "upn": "megan@contoso.com"}},
        {"id": "email:m1:megan@contoso.com", "kind": "email", "name": "hi", "verdict": "malicious", "provider": "microsoft",
         "fields": {"network_message_id": "m1", "internet_message_id": "<m1@x>", "recipient": "megan@contoso.com"}},
    ]));
    let p = autonomous(&lib, &inc, Approvals::None);
    let a = &p.actions[0];
    assert_eq!(a.status, Status::Blocked, "{}", a.reason);
    assert_eq!(
        a.reason,
        "it acts on protected entity `megan@contoso.com` (SOP rule: id `mailbox:megan@contoso.com`)"
    );
}

/// Defender takes indicators of public addresses only: a private, link-local or shared
/// address is blocked with that reason, a public one is not.
#[test]
fn ip_indicators_are_for_public_addresses_only() {
    let gb = "kind: gamebook\nname: iso\nversion: 1.0.0\nsteps:\n  - {id: block, for_each: incident.ips, action: ip.block}\n";
    let lib = library(&[gb, &sop("")]);
    let addresses = [
        "10.30.2.40",
        "fe80::1",
        "100.64.0.9",
        "::ffff:192.168.1.1",
        "203.0.113.7",
        "2001:4860::8888",
    ];
    let ips: Vec<serde_json::Value> = addresses
        .iter()
        .map(|a| json!({"id": format!("ip:{a}"), "kind": "ip", "name": a, "provider": "microsoft", "fields": {"address": a}}))
        .collect();
    let p = plan_with(
        &lib,
        &ws(Mode::Autonomous),
        &incident(serde_json::Value::Array(ips)),
        &RunConfig::default(),
        vec![],
    );
    let statuses: Vec<Status> = p.actions.iter().map(|a| a.status).collect();
    assert_eq!(
        statuses,
        [
            Status::Blocked,
            Status::Blocked,
            Status::Blocked,
            Status::Blocked,
            Status::WouldRun,
            Status::WouldRun
        ],
        "{:#?}",
        p.actions
    );
    assert_eq!(
        p.actions[0].reason,
        "`10.30.2.40` is not a public address; Defender takes indicators of public addresses only"
    );
}

/// Defender for Endpoint offboards Windows devices only: a macOS or Linux device is blocked,
/// saying why; a Windows device, or one whose platform is unknown (absent, or `unknown` as
/// Sentinel writes it), is not.
#[test]
fn only_windows_devices_are_offboarded() {
    let gb = "kind: gamebook\nname: iso\nversion: 1.0.0\nsteps:\n  - {id: off, for_each: incident.devices, action: device.offboard, approval: {role: workspace_owner, timeout: 1h, on_timeout: reject}}\n";
    let lib = library(&[gb, &sop("")]);
    let inc = incident(json!([
        device_on("d1", Some("windows11"), "microsoft"),
        device_on("d2", Some("macos"), "microsoft"),
        device_on("d3", Some("linux"), "microsoft"),
        device_on("d4", Some("windowsserver2022"), "microsoft"),
        device_on("d5", None, "microsoft"),
        device_on("d6", Some("unknown"), "microsoft"),
        device_on("d7", Some("Other"), "microsoft"),
    ]));
    let config = RunConfig {
        approvals: Approvals::All,
        ..RunConfig::default()
    };
    let p = plan_with(&lib, &ws(Mode::Autonomous), &inc, &config, vec![]);
    let statuses: Vec<Status> = p.actions.iter().map(|a| a.status).collect();
    assert_eq!(
        statuses,
        [
            Status::WouldRun,
            Status::Blocked,
            Status::Blocked,
            Status::WouldRun,
            Status::WouldRun,
            Status::WouldRun,
            Status::WouldRun
        ],
        "{:#?}",
        p.actions
    );
    assert_eq!(
        p.actions[1].reason,
        "the device runs `macos`; Defender for Endpoint offboards Windows devices only, not \
         macOS or Linux ones"
    );
}

/// Defender for Endpoint runs antivirus scans through its API on Windows only: a macOS or
/// Linux device is blocked from both scans, saying why; a Windows device, one whose platform is
/// unknown, and a Linux device of CrowdStrike (which scans every platform) are scanned.
#[test]
fn defender_scans_windows_devices_only() {
    let gb = "kind: gamebook\nname: iso\nversion: 1.0.0\nsteps:\n  - {id: quick, for_each: incident.devices, action: device.quick_scan}\n  - {id: full, for_each: incident.devices, action: device.full_scan}\n";
    let lib = library(&[gb, &sop("")]);
    let inc = incident(json!([
        device_on("d1", Some("Windows11"), "microsoft"),
        device_on("d2", Some("macOS"), "microsoft"),
        device_on("d3", Some("linux"), "microsoft"),
        device_on("d4", None, "microsoft"),
        device_on("d5", Some("linux"), "crowdstrike"),
    ]));
    let mut w = ws(Mode::Autonomous);
    w.consented_applications
        .push("crowdstrike-response".to_string());
    let p = plan_with(&lib, &w, &inc, &RunConfig::default(), vec![]);
    for step in ["quick", "full"] {
        let rows: Vec<_> = p.actions.iter().filter(|a| a.step == step).collect();
        assert_eq!(
            rows.iter().map(|a| a.status).collect::<Vec<_>>(),
            [
                Status::WouldRun,
                Status::Blocked,
                Status::Blocked,
                Status::WouldRun,
                Status::WouldRun
            ],
            "{rows:#?}"
        );
        assert_eq!(
            rows[1].reason,
            "the device runs `macos`; Defender for Endpoint runs antivirus scans through its API \
             on Windows devices only, not macOS or Linux ones"
        );
    }
}

/// Defender for Endpoint stops and quarantines files on Windows only: a file seen on a device
/// the incident knows to run Linux is blocked, saying why, also when `device_id` names that
/// device; on a Windows device, one of unknown platform, or one the incident does not hold, it
/// is planned.
#[test]
fn defender_quarantines_files_on_windows_devices_only() {
    let gb = "kind: gamebook\nname: iso\nversion: 1.0.0\nsteps:\n  - {id: stop, for_each: incident.files, action: file.quarantine}\n  - {id: on_d2, for_each: incident.files, action: file.quarantine, params: {device_id: d2}}\n";
    let lib = library(&[gb, &sop("")]);
    let file = |id: &str, device_id: &str| {
        json!({"id": format!("file:{id}"), "kind": "file", "name": id, "verdict": "malicious",
               "provider": "microsoft", "fields": {"sha1": id, "device_id": device_id}})
    };
    let inc = incident(json!([
        file("aa", "d1"),
        file("bb", "d2"),
        file("cc", "d3"),
        file("dd", "d9"),
        device_on("d1", Some("Windows10"), "microsoft"),
        device_on("d2", Some("Linux"), "microsoft"),
        device_on("d3", None, "microsoft"),
    ]));
    let p = autonomous(&lib, &inc, Approvals::None);
    let rows: Vec<(&str, &str, Status)> = p
        .actions
        .iter()
        .map(|a| {
            let target = a.target.as_ref().map_or("", |t| t.name.as_str());
            (a.step.as_str(), target, a.status)
        })
        .collect();
    assert_eq!(
        rows,
        [
            ("stop", "aa", Status::WouldRun),
            ("stop", "bb", Status::Blocked),
            ("stop", "cc", Status::WouldRun),
            ("stop", "dd", Status::WouldRun),
            ("on_d2", "aa", Status::Blocked),
            ("on_d2", "bb", Status::Blocked),
            ("on_d2", "cc", Status::Blocked),
            ("on_d2", "dd", Status::Blocked),
        ],
        "{:#?}",
        p.actions
    );
    assert_eq!(
        p.actions[1].reason,
        "the device runs `linux`; Defender for Endpoint stops and quarantines files on Windows \
         devices only, not macOS or Linux ones"
    );
}

/// An action repeated after a gate that holds the same action counts once against the SOP's
/// limits: at most one of them runs (approved, the second is a repeat). It waits on the gate,
/// as what follows it does; it was blocked by the limit, and what followed it cancelled.
#[test]
fn a_repeat_of_an_action_awaiting_approval_counts_once() {
    let gb = "kind: gamebook\nname: iso\nversion: 1.0.0\nsteps:\n  - {id: gated, action: device.full_scan, target: \"first(incident.devices)\", approval: {role: incident_responder, timeout: 1h, on_timeout: reject}}\n  - {id: again, needs: [gated], action: device.full_scan, target: \"first(incident.devices)\"}\n  - {id: rep, needs: [again], action: incident.comment, params: {comment: \"again={{ steps.again.status }}\"}}\n";
    for guardrail in ["limits: {device.full_scan: 1}", "max_actions: 2"] {
        let lib = library(&[gb, &sop(&format!("guardrails: {{{guardrail}}}\n"))]);
        let p = autonomous(&lib, &devices(1), Approvals::None);
        let rows = steps_and_statuses(&p);
        assert_eq!(
            rows,
            [
                ("gated", Status::AwaitingApproval),
                ("again", Status::AwaitingApproval),
                ("rep", Status::AwaitingApproval)
            ],
            "{guardrail}: {:#?}",
            p.actions
        );
        // Approved, the repeat is one, and what follows runs.
        let p = autonomous(&lib, &devices(1), Approvals::All);
        let rows = steps_and_statuses(&p);
        assert_eq!(
            rows,
            [
                ("gated", Status::WouldRun),
                ("again", Status::Skipped),
                ("rep", Status::WouldRun)
            ],
            "{guardrail}: {:#?}",
            p.actions
        );
    }
}

/// One approval passes a gate: a gate holding an action the SOP has a Workspace Owner approve
/// (a rule without `approve_if`) is a Workspace Owner's for everything behind it, as a gate
/// holding a high-impact action is; a rule with `approve_if` raises the rows it covers only.
#[test]
fn a_gate_holding_an_action_an_sop_has_an_owner_approve_is_an_owners() {
    let gb = "kind: gamebook\nname: iso\nversion: 1.0.0\nsteps:\n  - id: grp\n    approval: {role: incident_responder, timeout: 1h, on_timeout: reject}\n    steps:\n      - {id: note, action: incident.comment, params: {comment: hi}}\n      - {id: qs, action: device.quick_scan, target: \"first(incident.devices)\"}\n";
    let roles = |rule: &str| -> Vec<(String, &'static str)> {
        let lib = library(&[gb, &sop(&format!("approval:\n  - {rule}\n"))]);
        let p = autonomous(&lib, &devices(1), Approvals::None);
        p.actions
            .iter()
            .map(|a| (a.step.clone(), a.approval.as_ref().map_or("", |ap| ap.role)))
            .collect()
    };
    let owner = "workspace_owner";
    assert_eq!(
        roles("{actions: [device.quick_scan], role: workspace_owner}"),
        [
            ("grp.note".to_string(), owner),
            ("grp.qs".to_string(), owner)
        ]
    );
    // A Workspace Owner's rule holds wherever it is: one of another role before it does not
    // lower it.
    assert_eq!(
        roles("{actions: [device.quick_scan], role: incident_analyst}\n  - {actions: [device.*], role: workspace_owner}"),
        [("grp.note".to_string(), owner), ("grp.qs".to_string(), owner)]
    );
    // A conditional rule of another role before an owner's for every target: the gate is an
    // owner's all the same, the cautious way, and one role shows behind it.
    assert_eq!(
        roles("{actions: [device.quick_scan], role: incident_analyst, approve_if: \"entity.is_server\"}\n  - {actions: [device.*], role: workspace_owner}"),
        [("grp.note".to_string(), owner), ("grp.qs".to_string(), owner)]
    );
    assert_eq!(
        roles("{actions: [device.quick_scan], role: workspace_owner, approve_if: \"entity.is_server\"}"),
        [
            ("grp.note".to_string(), "incident_responder"),
            ("grp.qs".to_string(), "incident_responder")
        ]
    );
}

/// The first approval rule that holds decides an action's approver, unless a later one that
/// holds asks a Workspace Owner: an admin's account is the owner's to approve even behind a
/// catch-all rule of another role, whatever the order of the rules.
#[test]
fn an_owner_rule_that_holds_decides_wherever_it_is() {
    let gb = "kind: gamebook\nname: iso\nversion: 1.0.0\nsteps:\n  - {id: qs, for_each: incident.devices, action: device.quick_scan}\n";
    let roles = |rules: &str| -> Vec<&'static str> {
        let lib = library(&[gb, &sop(&format!("approval:\n{rules}"))]);
        let p = autonomous(&lib, &devices(2), Approvals::None);
        p.actions
            .iter()
            .map(|a| a.approval.as_ref().map_or("", |ap| ap.role))
            .collect()
    };
    let catch_all = "  - {actions: [device.*], role: incident_analyst}\n";
    let owner_if = "  - {actions: [device.quick_scan], role: workspace_owner, approve_if: \"entity.name == 'ws-1'\"}\n";
    let both = ["incident_analyst", "workspace_owner"];
    assert_eq!(roles(&format!("{catch_all}{owner_if}")), both);
    assert_eq!(roles(&format!("{owner_if}{catch_all}")), both);
    // Two rules of other roles: the first that holds.
    let responder_if = "  - {actions: [device.quick_scan], role: incident_responder, approve_if: \"entity.name == 'ws-1'\"}\n";
    assert_eq!(
        roles(&format!("{responder_if}{catch_all}")),
        ["incident_analyst", "incident_responder"]
    );
    assert_eq!(
        roles(&format!("{catch_all}{responder_if}")),
        ["incident_analyst", "incident_analyst"]
    );
}

/// An error handler waiting on a gated step runs only if that step fails: it counts against
/// the SOP's limits from where that step left them, apart from the actions after the step's
/// success (they were blocked by a limit the handler used up, yet ran once the gate was
/// granted), in whatever order the steps are written, and its own actions face the limits.
#[test]
fn a_waiting_error_handler_counts_apart_from_the_success_path() {
    let gb = "kind: gamebook\nname: iso\nversion: 1.0.0\nsteps:\n  - {id: iso, action: device.isolate, target: \"first(incident.devices)\", on_error: failed, approval: {role: workspace_owner, timeout: 1h, on_timeout: reject}}\n  - {id: failed, action: incident.comment, params: {comment: failed}}\n  - {id: scan, needs: [iso], action: device.quick_scan, target: \"first(incident.devices)\"}\n  - {id: report, needs: [scan], action: incident.comment, params: {comment: done}}\n";
    for guardrail in ["limits: {incident.comment: 1}", "max_actions: 3"] {
        let lib = library(&[gb, &sop(&format!("guardrails: {{{guardrail}}}\n"))]);
        let p = autonomous(&lib, &devices(1), Approvals::None);
        assert_eq!(
            steps_and_statuses(&p),
            [
                ("iso", Status::AwaitingApproval),
                ("failed", Status::AwaitingApproval),
                ("scan", Status::AwaitingApproval),
                ("report", Status::AwaitingApproval)
            ],
            "{guardrail}: {:#?}",
            p.actions
        );
        let p = autonomous(&lib, &devices(1), Approvals::All);
        assert_eq!(
            steps_and_statuses(&p),
            [
                ("iso", Status::WouldRun),
                ("failed", Status::Skipped),
                ("scan", Status::WouldRun),
                ("report", Status::WouldRun)
            ],
            "{guardrail}: {:#?}",
            p.actions
        );
    }
    // The handler written after the success path: not blocked by what that used.
    let later = "kind: gamebook\nname: iso\nversion: 1.0.0\nsteps:\n  - {id: iso, action: device.isolate, target: \"first(incident.devices)\", on_error: failed, approval: {role: workspace_owner, timeout: 1h, on_timeout: reject}}\n  - {id: report, needs: [iso], action: incident.comment, params: {comment: done}}\n  - {id: failed, action: incident.comment, params: {comment: failed}}\n";
    let lib = library(&[later, &sop("guardrails: {limits: {incident.comment: 1}}\n")]);
    let p = autonomous(&lib, &devices(1), Approvals::None);
    assert_eq!(
        steps_and_statuses(&p),
        [
            ("iso", Status::AwaitingApproval),
            ("report", Status::AwaitingApproval),
            ("failed", Status::AwaitingApproval)
        ],
        "{:#?}",
        p.actions
    );
    // A handler's own actions face the limits: one scan of two.
    let fan = "kind: gamebook\nname: iso\nversion: 1.0.0\nsteps:\n  - {id: iso, action: device.isolate, target: \"first(incident.devices)\", on_error: failed, approval: {role: workspace_owner, timeout: 1h, on_timeout: reject}}\n  - {id: failed, for_each: incident.devices, action: device.quick_scan}\n";
    let lib = library(&[fan, &sop("guardrails: {limits: {device.quick_scan: 1}}\n")]);
    let p = autonomous(&lib, &devices(2), Approvals::None);
    assert_eq!(
        steps_and_statuses(&p),
        [
            ("iso", Status::AwaitingApproval),
            ("failed", Status::AwaitingApproval),
            ("failed", Status::Blocked)
        ],
        "{:#?}",
        p.actions
    );
}

/// The same action twice, side by side, each awaiting its own approval (a gate, an SOP rule),
/// counts once against a limit of one: at most one of them runs.
#[test]
fn the_same_action_awaiting_approval_twice_counts_once() {
    let gb = "kind: gamebook\nname: iso\nversion: 1.0.0\nsteps:\n  - {id: gated, action: device.full_scan, target: \"first(incident.devices)\", approval: {role: incident_responder, timeout: 1h, on_timeout: reject}}\n  - {id: ruled, action: device.full_scan, target: \"first(incident.devices)\"}\n";
    let lib = library(&[
        gb,
        &sop("guardrails: {limits: {device.full_scan: 1}}\napproval:\n  - {actions: [device.full_scan], role: incident_analyst}\n"),
    ]);
    let p = autonomous(&lib, &devices(1), Approvals::None);
    let rows = steps_and_statuses(&p);
    assert_eq!(
        rows,
        [
            ("gated", Status::AwaitingApproval),
            ("ruled", Status::AwaitingApproval)
        ],
        "{:#?}",
        p.actions
    );
}

/// Items past a limit are blocked before their approval rules are evaluated: what those would
/// cost is not spent, and later actions keep the run's evaluation work.
#[test]
fn items_past_a_limit_spend_no_evaluation_work() {
    let gb = "kind: gamebook\nname: iso\nversion: 1.0.0\nsteps:\n  - {id: scan, for_each: incident.devices, action: device.quick_scan}\n  - {id: note, action: incident.comment, params: {comment: hi}}\n";
    let lib = library(&[
        gb,
        &sop("guardrails: {limits: {device.quick_scan: 1}}\napproval:\n  - {actions: [device.quick_scan], role: incident_analyst, approve_if: \"any(incident.devices, d => d.name == entity.name)\"}\n"),
    ]);
    let config = RunConfig {
        max_work: 300,
        ..RunConfig::default()
    };
    let p = plan_with(&lib, &ws(Mode::Autonomous), &devices(40), &config, vec![]);
    let note = p.actions.iter().find(|a| a.step == "note").expect("note");
    assert_eq!(note.status, Status::WouldRun, "{note:#?}");
}

/// An action waiting on a step before it knows the approval it needs itself (compared by a
/// backtest): its own gate behind the wait, also on the rows of a for-each whose items are not
/// known yet.
#[test]
fn a_waiting_action_knows_its_own_gate() {
    let gb = "kind: gamebook\nname: iso\nversion: 1.0.0\nsteps:\n  - {id: iso, action: device.isolate, target: \"first(incident.devices)\", approval: {role: workspace_owner, timeout: 1h, on_timeout: reject}}\n  - {id: scan, needs: [iso], for_each: \"filter(incident.devices, d => steps.iso.succeeded > 0)\", action: device.quick_scan, approval: {role: incident_responder, timeout: 2h, on_timeout: approve}}\n  - {id: note, needs: [iso], action: incident.comment, params: {comment: hi}, approval: {role: incident_analyst, timeout: 3h, on_timeout: reject}}\n  - {id: per, needs: [iso], for_each: {items: \"filter(incident.devices, d => steps.iso.succeeded > 0)\", as: d}, steps: [{id: inner, action: device.quick_scan, target: d, approval: {role: incident_responder, timeout: 4h, on_timeout: approve}}]}\n";
    let lib = library(&[gb, &sop("")]);
    let p = autonomous(&lib, &devices(2), Approvals::None);
    let own = |step: &str| {
        let a = p.actions.iter().find(|a| a.step == step).expect("row");
        assert_eq!(a.status, Status::AwaitingApproval, "{a:#?}");
        assert!(a.approval.is_none(), "{a:#?}");
        let own = a.own_approval.as_ref().expect("its own approval");
        (own.role, own.reason.clone())
    };
    let (role, reason) = own("scan");
    assert!(p
        .actions
        .iter()
        .any(|a| a.step == "scan" && a.items_unknown));
    assert_eq!(role, "incident_responder");
    assert!(reason.contains("timeout 2h, then approve"), "{reason}");
    let (role, reason) = own("note");
    assert_eq!(role, "incident_analyst");
    assert!(reason.contains("timeout 3h, then reject"), "{reason}");
    // A gate on a step inside a for-each group whose items are not known yet.
    let (role, reason) = own("per.inner");
    assert_eq!(role, "incident_responder");
    assert!(reason.contains("timeout 4h, then approve"), "{reason}");
}

/// The rows of a for-each whose items are not known yet need what an SOP rule deciding by
/// `entity` asks (it may hold for the items), not nothing: a rule the row cannot evaluate yet.
#[test]
fn items_not_known_yet_need_what_a_rule_on_the_entity_may_ask() {
    let gb = "kind: gamebook\nname: iso\nversion: 1.0.0\nsteps:\n  - {id: iso, action: device.isolate, target: \"first(incident.devices)\", approval: {role: workspace_owner, timeout: 1h, on_timeout: reject}}\n  - {id: scan, needs: [iso], for_each: \"filter(incident.devices, d => steps.iso.succeeded > 0)\", action: device.quick_scan}\n";
    let rule = |approve_if: &str| {
        sop(&format!("approval:\n  - {{actions: [device.quick_scan], role: incident_responder, approve_if: \"{approve_if}\"}}\n"))
    };
    let own = |approve_if: &str| {
        let lib = library(&[gb, &rule(approve_if)]);
        let p = autonomous(&lib, &devices(2), Approvals::None);
        let a = p.actions.iter().find(|a| a.step == "scan").expect("row");
        assert!(a.items_unknown, "{a:#?}");
        a.own_approval.clone()
    };
    let may = own("entity.name == 'ws-1'").expect("the rule may hold");
    assert_eq!(may.role, "incident_responder");
    assert!(
        may.reason
            .contains("if its `approve_if` holds for the item"),
        "{}",
        may.reason
    );
    // A rule deciding by the incident alone is evaluated as it is.
    assert!(own("incident.severity == low").is_none());
    let holds = own("incident.severity == high").expect("the rule holds");
    assert!(
        holds.reason.contains("(its `approve_if` holds)"),
        "{}",
        holds.reason
    );
}

/// Defender for Endpoint takes an audit indicator only with alerts on: a computed
/// `generate_alert` that is false with `action: audit` blocks the action, saying why.
#[test]
fn an_audit_indicator_without_alerts_is_blocked() {
    let gb = "kind: gamebook\nname: iso\nversion: 1.0.0\nsteps:\n  - {id: audit, for_each: incident.ips, action: ip.block, params: {action: audit, generate_alert: \"{{ incident.id == '1' }}\"}}\n";
    let lib = library(&[gb, &sop("")]);
    let ip = json!({"id": "ip:203.0.113.7", "kind": "ip", "name": "203.0.113.7",
        "provider": "microsoft", "fields": {"address": "203.0.113.7"}});
    let p = plan_with(
        &lib,
        &ws(Mode::Autonomous),
        &incident(json!([ip])),
        &RunConfig::default(),
        vec![],
    );
    assert_eq!(p.actions.len(), 1, "{:#?}", p.actions);
    assert_eq!(p.actions[0].status, Status::Blocked);
    assert!(
        p.actions[0]
            .reason
            .starts_with("`action: audit` only raises alerts"),
        "{}",
        p.actions[0].reason
    );
}

/// Defender for Endpoint isolates selectively on Windows only, and fully on Windows and Linux:
/// selective isolation of a Linux device is blocked, saying why; of a Windows device, or one
/// whose platform is unknown, it is planned, and full isolation of the Linux devices too, not
/// of a Mac.
#[test]
fn defender_isolates_windows_and_linux_devices_only() {
    let inc = incident(json!([
        device_on("d1", Some("windows10"), "microsoft"),
        device_on("d2", Some("linux"), "microsoft"),
        device_on("d3", None, "microsoft"),
        device_on("d4", Some("macOS"), "microsoft"),
        device_on("d5", Some("Ubuntu"), "microsoft"),
    ]));
    let config = RunConfig {
        approvals: Approvals::All,
        ..RunConfig::default()
    };
    let statuses = |gb: &str| {
        let lib = library(&[gb, &sop("")]);
        let p = plan_with(&lib, &ws(Mode::Autonomous), &inc, &config, vec![]);
        p.actions
            .into_iter()
            .filter(|a| a.step == "isolate")
            .map(|a| (a.status, a.reason))
            .collect::<Vec<_>>()
    };
    let selective = statuses(&ISOLATE.replace(
        "action: device.isolate\n",
        "action: device.isolate\n    params: {isolation: selective}\n",
    ));
    assert_eq!(
        selective.iter().map(|(s, _)| *s).collect::<Vec<_>>(),
        [
            Status::WouldRun,
            Status::Blocked,
            Status::WouldRun,
            Status::Blocked,
            Status::Blocked
        ],
        "{selective:#?}"
    );
    assert_eq!(
        selective[1].1,
        "the device runs `linux`; Defender for Endpoint isolates selectively on Windows only, so \
         isolate this device with `isolation: full`"
    );
    let full = statuses(ISOLATE);
    assert_eq!(
        full.iter().map(|(s, _)| *s).collect::<Vec<_>>(),
        [
            Status::WouldRun,
            Status::WouldRun,
            Status::WouldRun,
            Status::Blocked,
            Status::WouldRun
        ],
        "{full:#?}"
    );
    assert_eq!(
        full[3].1,
        "the device runs `macos`; Defender for Endpoint isolates Windows and Linux devices only"
    );
}

/// A file seen on several devices is stopped on each: a for-each over its `device_ids`, the
/// device given as a param, one action (and key) per device.
#[test]
fn a_file_is_quarantined_on_every_device_it_was_seen_on() {
    let gb = r#"
kind: gamebook
name: iso
version: 1.0.0
steps:
  - id: each
    for_each: {items: incident.files, as: f}
    steps:
      - id: stop
        for_each: {items: f.device_ids, as: d}
        action: file.quarantine
        target: f
        params: {device_id: "{{ d }}"}
"#;
    let lib = library(&[gb, &sop("")]);
    let inc = incident(json!([
        {"id": "file:aa", "kind": "file", "name": "x.exe", "verdict": "malicious", "provider": "microsoft",
         "fields": {"file_name": "x.exe", "sha1": "aa", "device_id": "d1", "device_ids": ["d1", "d2"]}},
    ]));
    let p = autonomous(&lib, &inc, Approvals::None);
    let devices: Vec<(&serde_json::Value, Status)> = p
        .actions
        .iter()
        .map(|a| (&a.params["device_id"], a.status))
        .collect();
    assert_eq!(
        devices,
        [
            (&json!("d1"), Status::WouldRun),
            (&json!("d2"), Status::WouldRun)
        ]
    );
    assert_ne!(p.actions[0].key, p.actions[1].key);
}

/// Defender for Endpoint stops a file on a machine named by its MDE id: a file whose device is
/// the host name of a device without one (Sentinel gives the host name then) is blocked, saying
/// so, as is a host name given for a device that has one; its MDE id, or an id that names no
/// device of the incident, is planned.
#[test]
fn a_file_is_quarantined_on_a_device_named_by_its_mde_id_only() {
    let gb = "kind: gamebook\nname: iso\nversion: 1.0.0\nsteps:\n  - {id: stop, for_each: incident.files, action: file.quarantine}\n";
    let lib = library(&[gb, &sop("")]);
    let file = |id: &str, device_id: &str| {
        json!({"id": format!("file:{id}"), "kind": "file", "name": id, "verdict": "malicious",
               "provider": "microsoft", "fields": {"sha1": id, "device_id": device_id}})
    };
    let inc = incident(json!([
        file("aa", "hr-ws-0058"),
        file("bb", "ws-1.corp.contoso.com"),
        file("cc", "d1"),
        file("dd", "d9"),
        device(
            "host:hr-ws-0058",
            "hr-ws-0058",
            json!({"fields": {"hostname": "hr-ws-0058"}})
        ),
        device(
            "d1",
            "ws-1",
            json!({"fields": {"hostname": "ws-1.corp.contoso.com", "mde_device_id": "d1"}})
        ),
    ]));
    let p = autonomous(&lib, &inc, Approvals::None);
    let rows: Vec<(&str, Status)> = p
        .actions
        .iter()
        .map(|a| (a.target.as_ref().map_or("", |t| t.name.as_str()), a.status))
        .collect();
    assert_eq!(
        rows,
        [
            ("aa", Status::Blocked),
            ("bb", Status::Blocked),
            ("cc", Status::WouldRun),
            ("dd", Status::WouldRun)
        ],
        "{:#?}",
        p.actions
    );
    assert_eq!(
        p.actions[0].reason,
        "`hr-ws-0058` names device `hr-ws-0058`, but not by its `mde_device_id`, which Defender \
         for Endpoint acts on it by (it has none)"
    );
    assert_eq!(
        p.actions[1].reason,
        "`ws-1.corp.contoso.com` names device `ws-1`, but not by its `mde_device_id`, which \
         Defender for Endpoint acts on it by (that is `d1`)"
    );
}

/// Only an action done is not done again: the same isolation awaiting approval in a manual
/// SOP may never run, so the autonomous SOP that plans it too runs it (and what needs it).
#[test]
fn an_action_awaiting_approval_is_no_first_of_repeats() {
    let gb = r#"
kind: gamebook
name: iso
version: 1.0.0
inputs:
  note: {type: string, default: x}
steps:
  - {id: isolate, for_each: incident.devices, action: device.isolate}
  - {id: tell, needs: [isolate], action: incident.comment, params: {comment: "{{ inputs.note }}"}}
"#;
    let manual = "kind: sop\ntype: response\nname: a\npriority: 1\nmode: manual\ngamebooks:\n  - {gamebook: iso, with: {note: first}}\n";
    let autonomous = "kind: sop\ntype: response\nname: b\npriority: 2\ngamebooks:\n  - {gamebook: iso, with: {note: second}}\n";
    let lib = library(&[gb, manual, autonomous]);
    let inc = incident(json!([device("d1", "ws-1", json!({}))]));
    let p = autonomous_plan(&lib, &inc);
    let got: Vec<(&str, &str, Status)> = p
        .actions
        .iter()
        .map(|a| (a.sop.as_str(), a.step.as_str(), a.status))
        .collect();
    assert_eq!(
        got,
        [
            ("a", "isolate", Status::AwaitingApproval),
            ("a", "tell", Status::AwaitingApproval),
            ("b", "isolate", Status::WouldRun),
            ("b", "tell", Status::WouldRun),
        ],
        "{:#?}",
        p.actions
    );
}

/// Repeats do not count as actions, but they are rows: a library that repeats one action
/// without end stops at twice the plan limit, like any rows of actions not run.
#[test]
fn endless_repeats_are_bounded_like_other_rows() {
    let outer = r#"
kind: gamebook
name: iso
version: 1.0.0
steps:
  - {id: each, for_each: {items: incident.devices, as: d}, gamebook: inner}
"#;
    let inner = r#"
kind: gamebook
name: inner
version: 1.0.0
steps:
  - {id: note, for_each: {items: "map(incident.devices, d => 'x')", as: x}, action: incident.comment, params: {comment: same}}
"#;
    let lib = library(&[outer, inner, &sop("")]);
    let config = RunConfig {
        max_actions: 100,
        ..RunConfig::default()
    };
    let p = plan_with(&lib, &ws(Mode::Autonomous), &devices(300), &config, vec![]);
    assert_eq!(p.actions.len(), 2 * 100);
    // The first device's comment runs; its repeats fill the rows, and what is past the rows'
    // room is counted, not listed: 300 × 300 rows in all.
    assert_eq!(p.summary.would_run, 1);
    assert_eq!(p.summary.unlisted + p.actions.len(), 300 * 300);
}

/// An approval binds to the actions it lets run: a gate with nothing behind it (a for-each
/// over no item, a group whose steps are all skipped) asks for nothing, and what needs its
/// step does not wait for it.
#[test]
fn a_gate_with_nothing_behind_it_holds_nothing_back() {
    let gb = r#"
kind: gamebook
name: iso
version: 1.0.0
steps:
  - id: grp
    approval: {role: workspace_owner, timeout: 1h, on_timeout: reject}
    steps:
      - {id: inner, if: "incident.severity == low", action: incident.comment, params: {comment: inner}}
  - id: none
    approval: {role: workspace_owner, timeout: 1h, on_timeout: reject}
    for_each: incident.ips
    action: ip.block
  - {id: after_grp, needs: [grp], action: incident.comment, params: {comment: after grp}}
  - {id: after_none, needs: [none], action: incident.comment, params: {comment: after none}}
"#;
    let lib = library(&[gb, &sop("")]);
    let inc = incident(json!([]));
    let status = |p: &Plan, step: &str| p.actions.iter().find(|a| a.step == step).map(|a| a.status);
    let p = autonomous_plan(&lib, &inc);
    assert_eq!(status(&p, "grp.inner"), Some(Status::Skipped));
    assert_eq!(status(&p, "after_grp"), Some(Status::WouldRun));
    assert_eq!(status(&p, "after_none"), Some(Status::WouldRun));
}

/// Results of a waiting step passed to a called gamebook as inputs are not known yet either:
/// what reads those inputs waits.
#[test]
fn inputs_computed_from_a_waiting_step_are_decided_once_it_runs() {
    let gb = r#"
kind: gamebook
name: iso
version: 1.0.0
steps:
  - id: isolate
    for_each: incident.devices
    action: device.isolate
    approval: {role: workspace_owner, timeout: 1h, on_timeout: reject}
  - id: follow
    needs: [isolate]
    gamebook: inner
    with: {n: "{{ steps.isolate.succeeded }}"}
"#;
    let inner = r#"
kind: gamebook
name: inner
version: 1.0.0
inputs:
  n: {type: number, default: 0}
steps:
  - {id: scan, if: "inputs.n > 0", for_each: incident.devices, action: device.full_scan}
"#;
    let lib = library(&[gb, inner, &sop("")]);
    let inc = incident(json!([device("d1", "ws-1", json!({}))]));
    let scan = |p: &Plan| {
        p.actions
            .iter()
            .find(|a| a.step == "follow.scan")
            .map(|a| (a.status, a.reason.clone()))
    };
    let waiting = scan(&autonomous_plan(&lib, &inc)).expect("a row");
    assert_eq!(waiting.0, Status::AwaitingApproval, "{}", waiting.1);
    let approved = scan(&autonomous(&lib, &inc, Approvals::All)).expect("a row");
    assert_eq!(approved.0, Status::WouldRun, "{}", approved.1);
}

fn refused(
    lib: &riposte_dsl::checked::Library,
    inc: &Incident,
    approvals: Approvals,
    rejected: &[&str],
    timed_out: &[&str],
) -> Plan {
    let words = |w: &[&str]| w.iter().map(|s| s.to_string()).collect::<Vec<_>>();
    let config = RunConfig {
        refusals: Refusals::from_words(&words(rejected), &words(timed_out), &approvals, lib)
            .expect("valid refusals"),
        approvals,
        ..RunConfig::default()
    };
    plan_with(lib, &ws(Mode::Autonomous), inc, &config, Vec::new())
}

const GATED: &str = r#"
kind: gamebook
name: iso
version: 1.0.0
steps:
  - id: isolate
    for_each: {items: incident.devices, as: d, on_error: collect}
    action: device.isolate
    approval: {role: workspace_owner, timeout: 1h, on_timeout: TIMEOUT}
    on_error: tell
  - id: scan
    needs: [isolate]
    for_each: {items: incident.devices, as: d}
    action: device.full_scan
  - id: tell
    action: incident.comment
    params: {comment: "{{ steps.isolate.failed }} not isolated ({{ steps.isolate.status }})"}
  - id: note
    needs: [isolate]
    if: "steps.isolate.status == 'rejected'"
    action: incident.comment
    params: {comment: "isolation refused"}
"#;

fn two_devices() -> Incident {
    incident(json!([
        device("d1", "ws-1", json!({})),
        device("d2", "ws-2", json!({}))
    ]))
}

/// A rejected gate (or one timing out with `on_timeout: reject`): the step's actions are
/// `rejected` rows with their targets, the step reads `rejected`, what needs it is cancelled,
/// and its error handler does not run (nothing failed).
#[test]
fn a_rejected_gate_stops_its_step_and_what_needs_it() {
    let lib = library(&[&GATED.replace("TIMEOUT", "reject"), &sop("")]);
    let inc = two_devices();
    for (rejected, timed_out, why) in [
        (&["isolate"][..], &[][..], "the approval gate of step `isolate` was rejected: the step does not run"),
        (&[][..], &["isolate"][..], "the approval gate of step `isolate` timed out after 1h (on_timeout: reject): the step does not run"),
    ] {
        // Granting everything else does not grant a step named to be refused.
        let p = refused(&lib, &inc, Approvals::All, rejected, timed_out);
        let got = rows(&p);
        let row = |step: &str, target: &str| {
            got.iter()
                .find(|r| r.0 == step && r.1 == target)
                .unwrap_or_else(|| panic!("no row for {step} {target}: {got:#?}"))
                .clone()
        };
        for d in ["ws-1", "ws-2"] {
            assert_eq!(row("isolate", d).2, Status::Rejected, "{got:#?}");
            assert_eq!(row("isolate", d).3, why);
        }
        let cancelled = (Status::Skipped, "dependency `isolate` was rejected".to_string());
        assert_eq!((row("scan", "").2, row("scan", "").3), cancelled);
        assert_eq!((row("note", "").2, row("note", "").3), cancelled);
        assert_eq!(row("tell", "").2, Status::Skipped, "{got:#?}");
        assert_eq!(p.summary.rejected, 2);
        assert_eq!(p.summary.would_run, 0);
        assert!(
            crate::plan::text::render(&p, false).contains(
                "2 actions: 0 would run, 0 await approval, 0 blocked, 2 rejected (3 skipped)"
            ),
            "{}",
            crate::plan::text::render(&p, false)
        );
    }
}

/// A gate timing out with `on_timeout: fail` fails the step: every item counts as failed,
/// whatever the for-each's strategy, and the error handler runs.
#[test]
fn a_gate_timing_out_with_fail_fails_the_step_and_takes_its_error_edge() {
    let lib = library(&[&GATED.replace("TIMEOUT", "fail"), &sop("")]);
    let p = refused(&lib, &two_devices(), Approvals::None, &[], &["isolate"]);
    let got = rows(&p);
    let isolate: Vec<_> = got.iter().filter(|r| r.0 == "isolate").collect();
    assert_eq!(isolate.len(), 2, "{got:#?}");
    for r in isolate {
        assert_eq!(r.2, Status::Rejected);
        assert_eq!(
            r.3,
            "the approval gate of step `isolate` timed out after 1h (on_timeout: fail): the step fails"
        );
    }
    assert!(
        got.iter()
            .all(|r| r.0 != "scan" || r.3 == "dependency `isolate` failed"),
        "{got:#?}"
    );
    let tell = p.actions.iter().find(|a| a.step == "tell").expect("tell");
    assert_eq!(tell.status, Status::WouldRun, "{got:#?}");
    assert_eq!(tell.params["comment"], "2 not isolated (failed)");
    let note = got.iter().find(|r| r.0 == "note").expect("note");
    assert_eq!(note.2, Status::Skipped);
    // Under `continue` the items fail and the step goes on, as its reason says.
    let continues = GATED
        .replace("TIMEOUT", "fail")
        .replace("on_error: collect", "on_error: continue");
    let lib = library(&[&continues, &sop("")]);
    let p = refused(&lib, &two_devices(), Approvals::None, &[], &["isolate"]);
    let got = rows(&p);
    assert!(
        got.iter().filter(|r| r.0 == "isolate").all(|r| r.3
            == "the approval gate of step `isolate` timed out after 1h (on_timeout: fail): its \
                items fail (on_error: continue: the step goes on)"),
        "{got:#?}"
    );
    assert!(
        got.iter().any(|r| r.0 == "scan" && r.2 == Status::WouldRun),
        "{got:#?}"
    );
}

/// A gate timing out with `on_timeout: approve` lets the step run with no one approving it.
#[test]
fn a_gate_timing_out_with_approve_runs_the_step() {
    let lib = library(&[&GATED.replace("TIMEOUT", "approve"), &sop("")]);
    let p = refused(&lib, &two_devices(), Approvals::None, &[], &["isolate"]);
    let got = rows(&p);
    assert!(
        got.iter()
            .filter(|r| r.0 == "isolate" || r.0 == "scan")
            .all(|r| r.2 == Status::WouldRun),
        "{got:#?}"
    );
    assert_eq!(p.summary.would_run, 4, "{got:#?}");
}

/// A rejected gate on a group rejects every action inside it. The group reads `rejected`
/// and what needs it is cancelled; the list holding it does not fail, so a step after that
/// list reads the rejection.
#[test]
fn a_rejected_group_gate_rejects_what_is_inside() {
    let gb = r#"
kind: gamebook
name: iso
version: 1.0.0
steps:
  - id: wrap
    steps:
      - id: contain
        for_each: {items: incident.devices, as: d}
        approval: {role: workspace_owner, timeout: 1h, on_timeout: reject}
        steps:
          - id: isolate
            action: device.isolate
            target: d
          - id: scan
            needs: [isolate]
            action: device.full_scan
            target: d
      - id: report
        needs: [contain]
        action: incident.comment
        params: {comment: "contained"}
  - id: refused
    if: "steps.contain.status == 'rejected' and steps.isolate.status == 'rejected'"
    needs: [wrap]
    action: incident.comment
    params: {comment: "refused"}
"#;
    let lib = library(&[gb, &sop("")]);
    let p = refused(&lib, &two_devices(), Approvals::All, &["contain"], &[]);
    let got = rows(&p);
    let inside: Vec<_> = got
        .iter()
        .filter(|r| r.0.starts_with("wrap.contain."))
        .collect();
    assert_eq!(inside.len(), 4, "{got:#?}");
    assert!(inside.iter().all(|r| r.2 == Status::Rejected), "{got:#?}");
    assert!(inside.iter().all(|r| r.1.starts_with("ws-")), "{got:#?}");
    let report = got.iter().find(|r| r.0 == "wrap.report").expect("report");
    assert_eq!(
        (report.2, report.3.as_str()),
        (Status::Skipped, "dependency `contain` was rejected")
    );
    let refused_row = got.iter().find(|r| r.0 == "refused").expect("refused");
    assert_eq!(refused_row.2, Status::WouldRun, "{got:#?}");
}

/// Rejecting a step whose actions need an approval of the SOP's or the agent mode's: those
/// actions are rejected, with who refused them and why it was asked; the others run.
#[test]
fn a_rejected_policy_approval_rejects_the_actions_that_needed_it() {
    let rule = "approval:\n  - {actions: [device.isolate], role: workspace_admin, approve_if: \"entity.name == 'ws-1'\"}\n";
    let lib = library(&[ISOLATE, &sop(rule)]);
    let p = refused(&lib, &two_devices(), Approvals::All, &["isolate"], &[]);
    let got = statuses(&p);
    let isolate = |d: &str| {
        p.actions
            .iter()
            .find(|a| a.step == "isolate" && a.target.as_ref().is_some_and(|t| t.name == d))
            .unwrap_or_else(|| panic!("no isolate {d}: {got:#?}"))
    };
    assert_eq!(isolate("ws-1").status, Status::Rejected, "{got:#?}");
    assert!(
        isolate("ws-1")
            .reason
            .starts_with("approval rejected: SOP `s` requires approval of `device.isolate`"),
        "{}",
        isolate("ws-1").reason
    );
    assert_eq!(
        isolate("ws-1").approval.as_ref().map(|a| a.role),
        Some("workspace_owner"),
        "high-impact: the owner is who refused it"
    );
    assert_eq!(isolate("ws-2").status, Status::WouldRun, "{got:#?}");
    // One of two items ran: the step succeeded, and what needs it runs.
    assert!(
        got.iter().any(|r| r.0 == "scan" && r.2 == Status::WouldRun),
        "{got:#?}"
    );
    // Manual mode: every action awaits approval, and the refused step's are rejected.
    let config = RunConfig {
        refusals: Refusals {
            rejected: vec!["scan".into()],
            timed_out: Vec::new(),
        },
        approvals: Approvals::Steps(vec!["isolate".into()]),
        ..RunConfig::default()
    };
    let p = plan_with(&lib, &ws(Mode::Manual), &two_devices(), &config, Vec::new());
    let got = statuses(&p);
    assert!(
        got.iter()
            .filter(|r| r.0 == "scan")
            .all(|r| r.2 == Status::Rejected),
        "{got:#?}"
    );
}

/// A refusal is reached only when nothing upstream awaits approval: behind a pending gate the
/// refused step waits with the rest.
#[test]
fn a_refusal_behind_a_pending_gate_waits() {
    let gb = r#"
kind: gamebook
name: iso
version: 1.0.0
steps:
  - id: first
    action: incident.comment
    params: {comment: "first"}
    approval: {role: incident_responder, timeout: 1h, on_timeout: reject}
  - id: isolate
    needs: [first]
    for_each: {items: incident.devices, as: d}
    action: device.isolate
    approval: {role: workspace_owner, timeout: 1h, on_timeout: reject}
"#;
    let lib = library(&[gb, &sop("")]);
    let p = refused(&lib, &two_devices(), Approvals::None, &["isolate"], &[]);
    assert!(
        statuses(&p).iter().all(|r| r.2 == Status::AwaitingApproval),
        "{:#?}",
        statuses(&p)
    );
    let p = refused(
        &lib,
        &two_devices(),
        Approvals::Steps(vec!["first".into()]),
        &["isolate"],
        &[],
    );
    assert_eq!(
        step_statuses(&p),
        [
            ("first", Status::WouldRun),
            ("isolate", Status::Rejected),
            ("isolate", Status::Rejected)
        ]
    );
}

#[test]
fn refusals_name_steps_once_and_time_out_only_gates_and_timed_tasks() {
    let lib = library(&[&GATED.replace("TIMEOUT", "reject"), &sop("")]);
    let words = |w: &[&str]| w.iter().map(|s| s.to_string()).collect::<Vec<_>>();
    let err = |approve: Approvals, rejected: &[&str], timed_out: &[&str]| {
        Refusals::from_words(&words(rejected), &words(timed_out), &approve, &lib)
            .expect_err("refused")
    };
    assert!(
        err(Approvals::None, &["isolat"], &[]).contains("did you mean `isolate`?"),
        "{}",
        err(Approvals::None, &["isolat"], &[])
    );
    assert_eq!(
        err(Approvals::None, &[], &["scan"]),
        "`--time-out scan`: step `scan` has no approval gate and is no task with a `timeout`, \
         so nothing of it times out; a gate's `on_timeout` decides what a timeout does, and a \
         task not completed within its `timeout` fails its step (to refuse the approval an \
         action needs, reject the step instead)"
    );
    assert_eq!(
        err(Approvals::None, &["isolate", "isolate"], &[]),
        "`--reject isolate` is given twice; give it once"
    );
    assert_eq!(
        err(Approvals::Steps(vec!["isolate".into()]), &[], &["isolate"]),
        "`--time-out isolate` and `--approve isolate` name the same step; decide its approval once"
    );
    // A refusal narrower than an approval refines it; the other way round, it conflicts.
    let gated_name = GATED
        .lines()
        .find_map(|l| l.strip_prefix("name: "))
        .expect("a gamebook name");
    let narrow = format!("{gated_name}/isolate");
    assert!(Refusals::from_words(
        &words(&[&narrow]),
        &[],
        &Approvals::Steps(vec!["isolate".into()]),
        &lib
    )
    .is_ok());
    assert!(
        err(Approvals::Steps(vec![narrow.clone()]), &["isolate"], &[])
            .contains("name the same step"),
    );
    assert_eq!(
        err(Approvals::None, &["scan"], &[""]),
        "`--time-out` got an empty step name; give step names separated by commas"
    );
    assert!(Refusals::from_words(
        &words(&["scan"]),
        &words(&["isolate"]),
        &Approvals::All,
        &lib
    )
    .is_ok());
    // A path names the step at its end: another gamebook's gated `isolate` does not give
    // `plain.isolate` a gate.
    let plain = "kind: gamebook\nname: g2\nversion: 1.0.0\nsteps:\n  - id: plain\n    steps:\n      - id: isolate\n        action: incident.comment\n        params: {comment: x}\n";
    let lib = library(&[&GATED.replace("TIMEOUT", "reject"), plain, &sop("")]);
    assert!(
        Refusals::from_words(&[], &words(&["plain.isolate"]), &Approvals::None, &lib)
            .is_err_and(|e| e.contains("step `plain.isolate` has no approval gate"))
    );
    assert!(Refusals::from_words(&[], &words(&["isolate"]), &Approvals::None, &lib).is_ok());
}

/// Task titles are rendered text too: a for-each task rendering a long field for every item
/// counts against the plan's 64 MiB with the params, and past it the titles say so.
#[test]
fn task_titles_count_against_the_plan_text_limit() {
    const TELL: &str = r#"
kind: gamebook
name: iso
version: 1.0.0
steps:
  - id: tell
    for_each: {items: incident.devices, as: d}
    task: {title: "{{ incident.description }}{{ d.hostname }}", role: incident_responder}
  - id: note
    needs: [tell]
    action: incident.comment
    params: {comment: "{{ incident.description }}"}
"#;
    let inc = long_description(1 << 20, 70);
    let lib = library(&[TELL, &sop("")]);
    let p = autonomous(&lib, &inc, Approvals::All);
    assert_eq!(p.tasks.len(), 70);
    let rendered = p
        .tasks
        .iter()
        .take_while(|t| t.title.len() > 1 << 20)
        .count();
    // A template renders up to 1 MiB: 63 titles of 1 MiB and a few bytes fit in 64 MiB.
    assert_eq!(rendered, 63);
    let held: usize = p.tasks.iter().map(|t| t.title.len()).sum();
    assert!(
        held <= crate::scheduler::MAX_PLAN_PARAM_BYTES + 70 * 100,
        "{held}"
    );
    assert!(p.tasks[rendered..].iter().all(|t| t.title
        == "(not rendered: plan limit: the params and task titles of the plan reached 64 MiB of text)"));
    // The action after them finds the room spent.
    let note = p.actions.iter().find(|a| a.step == "note").expect("note");
    assert_eq!(note.status, Status::Blocked);
    assert!(note.params.is_empty());
}

/// A refused gate is planned as a waiting one: what would be blocked or skipped even once
/// approved is reported so, a gate with nothing behind it refuses nothing, and a task behind
/// it is never opened.
#[test]
fn a_refused_gate_rejects_only_what_waited_on_it() {
    let gb = r#"
kind: gamebook
name: iso
version: 1.0.0
steps:
  - id: iso
    for_each: {items: incident.devices, as: d}
    action: device.isolate
    target: d
    approval: {role: workspace_owner, timeout: 1h, on_timeout: reject}
  - id: empty
    for_each: {items: incident.devices, as: d, filter: "d.hostname == 'nope'"}
    action: device.full_scan
    target: d
    approval: {role: workspace_owner, timeout: 1h, on_timeout: fail}
  - id: after_empty
    needs: [empty]
    action: incident.comment
    params: {comment: "after empty"}
  - id: allskip
    approval: {role: workspace_owner, timeout: 1h, on_timeout: reject}
    steps:
      - id: sk
        if: "incident.severity == low"
        action: incident.comment
        params: {comment: "low"}
  - id: after_allskip
    needs: [allskip]
    action: incident.comment
    params: {comment: "after allskip"}
  - id: ask
    approval: {role: incident_responder, timeout: 1h, on_timeout: reject}
    task: {title: "Call the customer", role: incident_responder}
"#;
    let sop = sop("guardrails:\n  protected: [{name: \"ws-2\"}]\n");
    let lib = library(&[gb, &sop]);
    let all = ["iso", "allskip", "ask"];
    let p = refused(&lib, &two_devices(), Approvals::None, &all, &["empty"]);
    let got = rows(&p);
    let row = |step: &str, target: &str| {
        got.iter()
            .find(|r| r.0 == step && r.1 == target)
            .unwrap_or_else(|| panic!("no row for {step} {target}: {got:#?}"))
            .clone()
    };
    assert_eq!(row("iso", "ws-1").2, Status::Rejected, "{got:#?}");
    assert_eq!(
        (row("iso", "ws-2").2, row("iso", "ws-2").3.as_str()),
        (Status::Blocked, "protected entity (SOP rule: name `ws-2`)")
    );
    assert_eq!(row("after_empty", "").2, Status::WouldRun, "{got:#?}");
    assert_eq!(row("allskip.sk", "").2, Status::Skipped, "{got:#?}");
    assert_eq!(row("after_allskip", "").2, Status::WouldRun, "{got:#?}");
    assert_eq!(p.tasks.len(), 1);
    assert_eq!(p.tasks[0].status, crate::plan::model::TaskStatus::Rejected);
    assert_eq!(
        p.tasks[0].reason,
        "the approval gate of step `ask` was rejected: the step does not run"
    );
    // A rejected action gives back what it took of the limits: not here, no limit is set,
    // but the plan limit counts only what may run.
    assert_eq!(p.summary.rejected, 1);
}

/// The items of a for-each behind a refused gate are each rejected: none takes anything of
/// the SOP's limits or the plan's, so none is blocked by a limit its rejected siblings would
/// have reached.
#[test]
fn rejected_items_reach_no_limit() {
    let gb = r#"
kind: gamebook
name: iso
version: 1.0.0
steps:
  - id: iso
    for_each: {items: incident.devices, as: d}
    action: device.isolate
    target: d
    approval: {role: workspace_owner, timeout: 1h, on_timeout: reject}
"#;
    let lib = library(&[
        gb,
        &sop("guardrails: {limits: {device.isolate: 1}, max_actions: 2}\n"),
    ]);
    let p = refused(&lib, &devices(4), Approvals::None, &["iso"], &[]);
    let statuses: Vec<Status> = p.actions.iter().map(|a| a.status).collect();
    assert_eq!(statuses, [Status::Rejected; 4], "{:#?}", p.actions);
    // The same for-each inside a group whose gate is refused.
    let grouped = r#"
kind: gamebook
name: iso
version: 1.0.0
steps:
  - id: grp
    approval: {role: workspace_owner, timeout: 1h, on_timeout: reject}
    steps:
      - {id: iso, for_each: {items: incident.devices, as: d}, action: device.isolate, target: d}
"#;
    let lib2 = library(&[
        grouped,
        &sop("guardrails: {limits: {device.isolate: 1}, max_actions: 2}\n"),
    ]);
    let p = refused(&lib2, &devices(4), Approvals::None, &["grp"], &[]);
    let statuses: Vec<Status> = p.actions.iter().map(|a| a.status).collect();
    assert_eq!(statuses, [Status::Rejected; 4], "{:#?}", p.actions);
    let config = RunConfig {
        max_actions: 1,
        ..decided(&lib2, &[], &["grp"], &[])
    };
    let p = plan_with(&lib2, &ws(Mode::Autonomous), &devices(4), &config, vec![]);
    assert_eq!((p.summary.rejected, p.summary.unlisted), (2, 2));
    assert_eq!(p.summary.blocked, 0);
    let config = RunConfig {
        max_actions: 2,
        ..decided(&lib, &[], &["iso"], &[])
    };
    let p = plan_with(&lib, &ws(Mode::Autonomous), &devices(6), &config, vec![]);
    assert_eq!((p.summary.rejected, p.summary.unlisted), (4, 2));
    assert_eq!(p.summary.blocked, 0);
}

/// A refusal whose rejected rows are all past the listing's room (skipped rows filled it)
/// still rejected something: a traced run says so from the gate it refused.
#[test]
fn a_refusal_past_the_listing_still_rejects_something() {
    let gb = r#"
kind: gamebook
name: iso
version: 1.0.0
steps:
  - {id: s1, if: "count(incident.devices) > 5", action: incident.comment, params: {comment: a}}
  - {id: s2, if: "count(incident.devices) > 5", action: incident.comment, params: {comment: b}}
  - id: each
    needs: [s1, s2]
    for_each: {items: incident.devices, as: d}
    action: device.isolate
    target: d
    approval: {role: workspace_owner, timeout: 1h, on_timeout: reject}
"#;
    let lib = library(&[gb, &sop("")]);
    let config = RunConfig {
        max_actions: 1,
        trace: true,
        ..decided(&lib, &[], &["each"], &[])
    };
    let p = plan_with(&lib, &ws(Mode::Autonomous), &devices(4), &config, vec![]);
    assert_eq!((p.summary.rejected, p.summary.unlisted), (0, 4));
    assert!(crate::plan::rejects_something(&p, "each"));
    assert!(!crate::plan::rejects_something(&p, "s1"));
}

/// A refused gate rejects the tasks inside its step; a task step after it is cancelled, as any
/// step needing a rejected one is, and a cancelled task step is not listed.
#[test]
fn a_task_after_a_refused_gate_is_cancelled_not_rejected() {
    let gb = r#"
kind: gamebook
name: iso
version: 1.0.0
steps:
  - id: grp
    approval: {role: incident_responder, timeout: 1h, on_timeout: reject}
    steps:
      - {id: inside, task: {title: "Inside", role: incident_responder}}
  - id: after
    needs: [grp]
    task: {title: "After", role: incident_responder}
"#;
    let lib = library(&[gb, &sop("")]);
    let tasks = |p: &Plan| {
        p.tasks
            .iter()
            .map(|t| (t.title.clone(), t.status))
            .collect::<Vec<_>>()
    };
    let waiting = refused(&lib, &two_devices(), Approvals::None, &[], &[]);
    assert_eq!(
        tasks(&waiting),
        [
            (
                "Inside".to_string(),
                crate::plan::model::TaskStatus::AwaitingApproval
            ),
            (
                "After".to_string(),
                crate::plan::model::TaskStatus::AwaitingApproval
            )
        ]
    );
    let p = refused(&lib, &two_devices(), Approvals::None, &["grp"], &[]);
    assert_eq!(
        tasks(&p),
        [(
            "Inside".to_string(),
            crate::plan::model::TaskStatus::Rejected
        )]
    );
}

/// `on_timeout: fail` fails the step as its items' failures would: under `continue` the step
/// succeeds (and counts them), so what needs it runs and its handler does not.
#[test]
fn a_gate_failing_under_continue_counts_its_items_failed() {
    let gb = r#"
kind: gamebook
name: iso
version: 1.0.0
steps:
  - id: cont
    for_each: {items: incident.devices, as: d, on_error: continue}
    action: device.isolate
    target: d
    approval: {role: workspace_owner, timeout: 1h, on_timeout: fail}
  - id: after
    needs: [cont]
    action: incident.comment
    params: {comment: "{{ steps.cont.failed }} failed, {{ steps.cont.status }}"}
"#;
    let lib = library(&[gb, &sop("")]);
    let p = refused(&lib, &two_devices(), Approvals::None, &[], &["cont"]);
    let after = p.actions.iter().find(|a| a.step == "after").expect("after");
    assert_eq!(after.status, Status::WouldRun, "{:#?}", statuses(&p));
    assert_eq!(after.params["comment"], "2 failed, succeeded");
}

/// A gamebook other test gamebooks call: it isolates every device, and says how many.
const CALLEE: &str = r#"
kind: gamebook
name: callee
version: 1.0.0
steps:
  - id: isolate
    for_each: {items: incident.devices, as: d}
    action: device.isolate
    target: d
outputs:
  isolated: steps.isolate.succeeded
"#;

/// A refused call step has no output: its gamebook's outputs were worked out while it waited.
#[test]
fn a_refused_call_step_has_no_output() {
    let caller = r#"
kind: gamebook
name: iso
version: 1.0.0
steps:
  - id: wrap
    steps:
      - id: call
        gamebook: callee
        approval: {role: workspace_owner, timeout: 1h, on_timeout: reject}
  - id: after
    needs: [wrap]
    action: incident.comment
    params: {comment: "output [{{ steps.call.output }}] {{ steps.call.status }}"}
"#;
    let lib = library(&[CALLEE, caller, &sop("")]);
    let p = refused(&lib, &two_devices(), Approvals::None, &["call"], &[]);
    let got = statuses(&p);
    assert_eq!(
        got.iter()
            .filter(|r| r.0 == "wrap.call.isolate" && r.2 == Status::Rejected)
            .count(),
        2,
        "{got:#?}"
    );
    let after = p.actions.iter().find(|a| a.step == "after").expect("after");
    assert_eq!(after.params["comment"], "output [] rejected", "{got:#?}");
}

/// Inside a refused group (with or without for-each), the steps read `rejected` and have no
/// output, a called gamebook's included.
#[test]
fn the_steps_inside_a_refused_group_read_rejected_without_output() {
    let gb = r#"
kind: gamebook
name: iso
version: 1.0.0
steps:
  - id: wrap
    steps:
      - id: contain
        approval: {role: workspace_owner, timeout: 1h, on_timeout: reject}
        steps:
          - id: call
            gamebook: callee
          - id: scan
            for_each: {items: incident.devices, as: d}
            action: device.full_scan
            target: d
  - id: after
    needs: [wrap]
    action: incident.comment
    params: {comment: "{{ steps.contain.status }} {{ steps.scan.status }} {{ steps.call.status }} [{{ steps.call.output }}]"}
"#;
    let lib = library(&[CALLEE, gb, &sop("")]);
    let p = refused(&lib, &two_devices(), Approvals::None, &["contain"], &[]);
    let after = p.actions.iter().find(|a| a.step == "after").expect("after");
    assert_eq!(
        after.params["comment"],
        "rejected rejected rejected []",
        "{:#?}",
        statuses(&p)
    );
}

/// The plan of two devices in autonomous mode, with step `act` failing.
fn act_fails(lib: &riposte_dsl::checked::Library, config: &RunConfig) -> Plan {
    let failure = ScriptedFailure {
        step: Some("act".into()),
        error: "down".into(),
        ..Default::default()
    };
    plan_with(
        lib,
        &ws(Mode::Autonomous),
        &two_devices(),
        config,
        vec![failure],
    )
}

/// A refused error handler did not start: the error edge is not taken.
#[test]
fn a_refused_error_handler_takes_no_error_edge() {
    let gb = r#"
kind: gamebook
name: iso
version: 1.0.0
steps:
  - id: act
    action: incident.comment
    params: {comment: "act"}
    on_error: h
  - id: h
    action: incident.comment
    params: {comment: "handler"}
    approval: {role: incident_responder, timeout: 1h, on_timeout: fail}
"#;
    let lib = library(&[gb, &sop("")]);
    for (rejected, timed_out) in [(&["h"][..], &[][..]), (&[][..], &["h"][..])] {
        let words = |w: &[&str]| w.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        let config = RunConfig {
            refusals: Refusals::from_words(
                &words(rejected),
                &words(timed_out),
                &Approvals::None,
                &lib,
            )
            .expect("valid"),
            trace: true,
            ..RunConfig::default()
        };
        let p = act_fails(&lib, &config);
        assert!(
            p.trace
                .iter()
                .all(|e| !matches!(e, crate::scheduler::TraceEvent::ErrorEdge { .. })),
            "{:#?}",
            p.trace
        );
        let h = p.actions.iter().find(|a| a.step == "h").expect("h");
        assert_eq!(h.status, Status::Rejected);
    }
}

/// A refused handler whose for-each items come from a step still awaiting approval: its row
/// is rejected, not left waiting.
#[test]
fn a_refused_step_with_items_not_known_yet_is_rejected() {
    let gb = r#"
kind: gamebook
name: iso
version: 1.0.0
steps:
  - id: act
    action: incident.comment
    params: {comment: "act"}
    on_error: h
  - id: other
    for_each: {items: incident.devices, as: d}
    action: device.isolate
    target: d
    approval: {role: workspace_owner, timeout: 1h, on_timeout: reject}
    on_error: h
  - id: h
    for_each: {items: "steps.other.results", as: r}
    action: incident.comment
    params: {comment: "handler"}
    approval: {role: incident_responder, timeout: 1h, on_timeout: reject}
"#;
    let lib = library(&[gb, &sop("")]);
    let words = |w: &[&str]| w.iter().map(|s| s.to_string()).collect::<Vec<_>>();
    let config = RunConfig {
        refusals: Refusals::from_words(&words(&["h"]), &[], &Approvals::None, &lib).expect("valid"),
        ..RunConfig::default()
    };
    let p = act_fails(&lib, &config);
    let h: Vec<_> = p.actions.iter().filter(|a| a.step == "h").collect();
    assert!(!h.is_empty(), "{:#?}", statuses(&p));
    assert!(
        h.iter().all(|a| a.status == Status::Rejected),
        "{:#?}",
        statuses(&p)
    );
    assert!(crate::plan::rejects_something(&p, "h"));
}

/// After a for-each group with no items, the steps inside read as a for-each step with no
/// items does: succeeded, nothing counted, no results; not null, which would make
/// `succeeded == 0` false and a count render as empty text.
#[test]
fn the_steps_of_a_for_each_group_without_items_count_zero() {
    let gb = r#"
kind: gamebook
name: iso
version: 1.0.0
steps:
  - id: each
    for_each: {items: incident.devices, as: d}
    steps:
      - {id: isolate, action: device.isolate, target: d}
  - id: report
    needs: [each]
    action: incident.comment
    if: "steps.isolate.succeeded == 0 and steps.isolate.status == 'succeeded' and count(steps.isolate.results) == 0"
    params: {comment: "isolated {{ steps.isolate.succeeded }}, failed {{ steps.isolate.failed }}"}
"#;
    let lib = library(&[gb, &sop("")]);
    let p = autonomous_plan(&lib, &devices(0));
    assert_eq!(p.actions.len(), 1, "{:#?}", p.actions);
    assert_eq!(p.actions[0].status, Status::WouldRun, "{:#?}", p.actions);
    assert_eq!(
        p.actions[0].params.get("comment"),
        Some(&json!("isolated 0, failed 0"))
    );

    // Items whose own fan-out is empty: inside each and after the outer group, a step no item
    // ran reads the same.
    let gb = r#"
kind: gamebook
name: iso
version: 1.0.0
steps:
  - id: each
    for_each: {items: incident.devices, as: d}
    steps:
      - id: per_ip
        for_each: {items: d.ip_addresses, as: ip}
        steps:
          - {id: block, action: ip.block, target: "first(incident.ips)"}
      - {id: note, needs: [per_ip], action: incident.comment, params: {comment: "{{ d.name }} {{ steps.block.status }}"}}
  - id: report
    needs: [each]
    action: incident.comment
    params: {comment: "blocked {{ steps.block.succeeded }}: {{ steps.block.status }}"}
"#;
    let lib = library(&[gb, &sop("")]);
    let p = autonomous_plan(&lib, &devices(2));
    let comments: Vec<&serde_json::Value> =
        p.actions.iter().map(|a| &a.params["comment"]).collect();
    assert_eq!(
        comments,
        [
            &json!("ws-0 succeeded"),
            &json!("ws-1 succeeded"),
            &json!("blocked 0: succeeded")
        ],
        "{:#?}",
        p.actions
    );
}

/// An error handler's own `needs` hold it as any step's do: behind a gate it waits, behind a
/// refused one it is cancelled; a step it handles failing is why it runs, not a reason not to.
#[test]
fn an_error_handlers_needs_hold_it() {
    let gb = r#"
kind: gamebook
name: iso
version: 1.0.0
steps:
  - id: gate
    action: incident.comment
    params: {comment: gate}
    approval: {role: incident_responder, timeout: 1h, on_timeout: reject}
  - {id: isolate, for_each: incident.devices, action: device.isolate, on_error: handler}
  - {id: handler, needs: [gate, isolate], action: incident.comment, params: {comment: handled}}
"#;
    let lib = library(&[gb, &sop("")]);
    let inc = devices(1);
    let fail = || {
        vec![ScriptedFailure {
            step: Some("isolate".into()),
            ..Default::default()
        }]
    };
    let handler_row = |p: &Plan| {
        let a = p
            .actions
            .iter()
            .find(|a| a.step == "handler")
            .expect("handler");
        (a.status, a.reason.clone())
    };
    let w = ws(Mode::Autonomous);
    let p = plan_with(&lib, &w, &inc, &RunConfig::default(), fail());
    assert_eq!(
        handler_row(&p),
        (
            Status::AwaitingApproval,
            "waits for step `gate`, which awaits approval".to_string()
        )
    );
    let config = RunConfig {
        approvals: Approvals::All,
        ..RunConfig::default()
    };
    let p = plan_with(&lib, &w, &inc, &config, fail());
    assert_eq!(handler_row(&p).0, Status::WouldRun);
    let config = RunConfig {
        refusals: Refusals::from_words(&["gate".into()], &[], &Approvals::None, &lib)
            .expect("valid"),
        ..RunConfig::default()
    };
    let p = plan_with(&lib, &w, &inc, &config, fail());
    assert_eq!(
        handler_row(&p),
        (
            Status::Skipped,
            "dependency `gate` was rejected".to_string()
        )
    );

    // A handler of a step still awaiting approval waits with it, unless a dependency of its
    // own already failed: then it can never run.
    let gb = r#"
kind: gamebook
name: iso
version: 1.0.0
steps:
  - {id: a, action: incident.comment, params: {comment: a}, on_error: ah}
  - {id: ah, action: incident.comment, params: {comment: x}}
  - id: b
    action: incident.comment
    params: {comment: b}
    on_error: handler
    approval: {role: workspace_owner, timeout: 2h, on_timeout: reject}
  - {id: handler, needs: [a], action: incident.comment, params: {comment: y}}
"#;
    let lib = library(&[gb, &sop("")]);
    let fail_a = vec![ScriptedFailure {
        step: Some("a".into()),
        ..Default::default()
    }];
    let p = plan_with(&lib, &w, &inc, &RunConfig::default(), fail_a);
    assert_eq!(
        handler_row(&p),
        (Status::Skipped, "dependency `a` failed".to_string())
    );
}

/// Behind an ungranted gate, a param that reads the gated step's results is not known yet:
/// it is left out, and the row says so; the others are shown. Once granted, all are.
#[test]
fn params_read_from_a_waiting_step_are_not_shown_until_it_runs() {
    let gb = r#"
kind: gamebook
name: iso
version: 1.0.0
steps:
  - id: isolate
    for_each: incident.devices
    action: device.isolate
    approval: {role: workspace_owner, timeout: 1h, on_timeout: reject}
  - id: update
    needs: [isolate]
    action: incident.update
    params:
      assignee: "soc-{{ steps.isolate.succeeded }}"
      status: in_progress
"#;
    let lib = library(&[gb, &sop("")]);
    let inc = devices(1);
    let row = |p: &Plan| {
        let a = p
            .actions
            .iter()
            .find(|a| a.step == "update")
            .expect("update");
        (a.status, a.params.clone(), a.reason.clone())
    };
    let (status, params, reason) = row(&autonomous(&lib, &inc, Approvals::None));
    assert_eq!(status, Status::AwaitingApproval);
    assert_eq!(
        serde_json::Value::Object(params),
        json!({"status": "in_progress"})
    );
    assert_eq!(
        reason,
        "waits for step `isolate`, which awaits approval; param `assignee` is known once it runs"
    );
    let (status, params, _) = row(&autonomous(&lib, &inc, Approvals::All));
    assert_eq!(status, Status::WouldRun);
    assert_eq!(
        serde_json::Value::Object(params),
        json!({"assignee": "soc-1", "status": "in_progress"})
    );
}

/// A failure is handled only by a handler that takes it: one skipped by its `if` leaves the
/// failure to fail its list, so what needs the list is cancelled, and a caller's handler runs.
#[test]
fn a_handler_that_does_not_run_handles_nothing() {
    let gb = r#"
kind: gamebook
name: iso
version: 1.0.0
steps:
  - id: work
    steps:
      - id: scan
        action: device.quick_scan
        target: "incident.devices[0]"
        on_error: handler
      - id: handler
        if: "incident.severity == SEVERITY"
        action: incident.comment
        params: {comment: "scan failed"}
  - id: contain
    needs: [work]
    action: device.full_scan
    target: "incident.devices[0]"
"#;
    let caller = r#"
kind: gamebook
name: caller
version: 1.0.0
steps:
  - {id: call, gamebook: iso, on_error: call_failed}
  - {id: call_failed, action: incident.comment, params: {comment: "callee failed"}}
"#;
    let failures = vec![ScriptedFailure {
        step: Some("scan".into()),
        ..ScriptedFailure::default()
    }];
    let inc = incident(json!([device("d1", "ws-1", json!({}))]));
    for (severity, handled) in [("low", false), ("high", true)] {
        let gb = gb.replace("SEVERITY", severity);
        let sop = "kind: sop\ntype: response\nname: s\ngamebooks:\n  - gamebook: iso\n  - gamebook: caller\n";
        let lib = library(&[&gb, caller, sop]);
        let config = RunConfig {
            trace: true,
            ..RunConfig::default()
        };
        let p = plan_with(&lib, &ws(Mode::Autonomous), &inc, &config, failures.clone());
        let got = step_statuses(&p);
        let contain = if handled {
            Status::WouldRun
        } else {
            Status::Skipped
        };
        let call_failed = if handled {
            Status::Skipped
        } else {
            Status::WouldRun
        };
        assert!(got.contains(&("contain", contain)), "{severity}: {got:#?}");
        assert!(
            got.contains(&("call_failed", call_failed)),
            "{severity}: {got:#?}"
        );
        // Coverage takes the error edge only when the handler ran.
        let edges = p
            .trace
            .iter()
            .filter(|e| {
                matches!(e, crate::scheduler::TraceEvent::ErrorEdge { gamebook, step }
                    if gamebook == "iso" && step == "work.scan")
            })
            .count();
        // Twice when handled: run by the SOP, and called.
        assert_eq!(edges, if handled { 2 } else { 0 }, "{severity}");
    }
}

/// A failed item is final whatever other items still await approval: under `fail_fast` later
/// items of a group do not start, under `collect` what needs the step is cancelled now, and
/// under `continue` the step still awaits.
#[test]
fn a_failed_item_outranks_items_awaiting_approval() {
    let group = r#"
kind: gamebook
name: iso
version: 1.0.0
steps:
  - id: per_dev
    for_each: {items: incident.devices, as: d, on_error: fail_fast, concurrency: 1}
    steps:
      - {id: scan, action: device.quick_scan}
      - {id: iso, action: device.isolate}
"#;
    let inc = incident(json!([
        device("d1", "ws-1", json!({})),
        device("d2", "ws-2", json!({})),
        device("d3", "ws-3", json!({}))
    ]));
    let fail = |target: &str| {
        vec![ScriptedFailure {
            step: Some("scan".into()),
            target: Some(target.into()),
            ..ScriptedFailure::default()
        }]
    };
    let lib = library(&[group, &sop("")]);
    let p = plan_with(
        &lib,
        &ws(Mode::Automatic),
        &inc,
        &RunConfig::default(),
        fail("ws-1"),
    );
    let got = statuses(&p);
    for later in ["ws-2", "ws-3"] {
        assert!(
            got.contains(&("per_dev.scan".into(), later.into(), Status::Skipped)),
            "{got:#?}"
        );
    }
    for (strategy, note) in [
        ("collect", Status::Skipped),
        ("continue", Status::AwaitingApproval),
    ] {
        let flat = format!(
            r#"
kind: gamebook
name: iso
version: 1.0.0
steps:
  - id: scan
    for_each: {{items: incident.devices, as: d, on_error: {strategy}}}
    action: device.quick_scan
  - {{id: note, needs: [scan], action: incident.comment, params: {{comment: done}}}}
"#
        );
        // `ws-1` runs (and fails); `ws-2` and `ws-3` wait on the SOP's rule.
        let rule = "approval:\n  - {actions: [device.quick_scan], role: incident_responder, approve_if: \"entity.name != 'ws-1'\"}\n";
        let lib = library(&[&flat, &sop(rule)]);
        let p = plan_with(
            &lib,
            &ws(Mode::Autonomous),
            &inc,
            &RunConfig::default(),
            fail("ws-1"),
        );
        let got = step_statuses(&p);
        assert!(got.contains(&("note", note)), "{strategy}: {got:#?}");
    }
}

/// A gate a person grants is the approval of what it holds back, on the action's step as on an
/// enclosing group: a high-impact action behind it does not wait for a second one in automatic
/// mode, and a rejection of that action refuses nothing. A gate timing out with
/// `on_timeout: approve` lets the step start, but nobody approved: what the mode asks for is
/// still asked.
#[test]
fn a_granted_gate_approves_what_it_holds_back_wherever_it_is() {
    let gb = r#"
kind: gamebook
name: iso
version: 1.0.0
steps:
  - id: contain_grp
    approval: {role: workspace_owner, timeout: 1h, on_timeout: approve}
    for_each: {items: incident.devices, as: d}
    steps:
      - {id: isolate, action: device.isolate}
  - id: contain_flat
    approval: {role: workspace_owner, timeout: 1h, on_timeout: approve}
    for_each: {items: incident.devices, as: d}
    action: device.isolate
    params: {isolation: selective}
"#;
    let lib = library(&[gb, &sop("")]);
    let inc = incident(json!([device("d1", "ws-1", json!({}))]));
    let gates = ["contain_grp", "contain_flat"];
    let statuses_with = |approve: &[&str], reject: &[&str], timed_out: &[&str]| {
        let config = decided(&lib, approve, reject, timed_out);
        let p = plan_with(&lib, &ws(Mode::Automatic), &inc, &config, vec![]);
        p.actions
            .iter()
            .map(|a| (a.step.clone(), a.status))
            .collect::<Vec<_>>()
    };
    let both = |s: Status| {
        vec![
            ("contain_grp.isolate".to_string(), s),
            ("contain_flat".to_string(), s),
        ]
    };
    assert_eq!(statuses_with(&gates, &[], &[]), both(Status::WouldRun));
    assert_eq!(
        statuses_with(&["contain_grp"], &["isolate"], &[])[0],
        ("contain_grp.isolate".to_string(), Status::WouldRun),
        "nothing asked behind the granted gate, nothing to reject"
    );
    assert_eq!(
        statuses_with(&[], &[], &gates),
        both(Status::AwaitingApproval)
    );
}

/// A delegated-only action behind a gate that timed out with `on_timeout: approve` has nobody
/// signed in to run it: it waits for the approval that puts a person before it.
#[test]
fn a_timed_out_gate_signs_nobody_in() {
    let gb = r#"
kind: gamebook
name: iso
version: 1.0.0
steps:
  - id: reset
    approval: {role: workspace_owner, timeout: 1h, on_timeout: approve}
    for_each: {items: incident.users, as: u}
    action: user.reset_password
"#;
    let lib = library(&[gb, &sop("")]);
    let inc = incident(json!([user("user:u1", "u1@contoso.com")]));
    let mut w = ws(Mode::Autonomous);
    w.delegated_session = false;
    for (approve, timed_out, want) in [
        (&["reset"][..], &[][..], Status::WouldRun),
        (&[][..], &["reset"][..], Status::AwaitingApproval),
    ] {
        let config = decided(&lib, approve, &[], timed_out);
        let p = plan_with(&lib, &w, &inc, &config, vec![]);
        assert_eq!(step_statuses(&p), [("reset", want)], "{:#?}", p.actions);
    }
}

/// A step none of whose items ran, some blocked and some rejected, is blocked: what needs it
/// is cancelled, as when every item is blocked.
#[test]
fn a_step_whose_items_were_blocked_or_rejected_is_blocked() {
    let gb = r#"
kind: gamebook
name: iso
version: 1.0.0
steps:
  - {id: scan, for_each: {items: incident.devices, as: d}, action: device.quick_scan}
  - {id: note, needs: [scan], action: incident.comment, params: {comment: "{{ steps.scan.status }}"}}
"#;
    let rule = "approval:\n  - {actions: [device.quick_scan], role: incident_responder}\nguardrails:\n  protected: [{name: ws-1}]\n";
    let lib = library(&[gb, &sop(rule)]);
    let inc = incident(json!([
        device("d1", "ws-1", json!({})),
        device("d2", "ws-2", json!({}))
    ]));
    let p = refused(&lib, &inc, Approvals::None, &["scan"], &[]);
    assert_eq!(
        statuses(&p),
        [
            ("scan".into(), "ws-1".into(), Status::Blocked),
            ("scan".into(), "ws-2".into(), Status::Rejected),
            ("note".into(), String::new(), Status::Skipped),
        ]
    );
}

/// A step named with its gamebook in front (`one/scan`) is that gamebook's step only: where
/// two gamebooks of a plan have a step `scan`, approving, rejecting or failing one leaves the
/// other as it is.
#[test]
fn a_step_named_with_its_gamebook_is_that_gamebooks_only() {
    let gb = |name: &str, action: &str| {
        format!(
            "kind: gamebook\nname: {name}\nversion: 1.0.0\nsteps:\n  - {{id: scan, for_each: incident.devices, action: {action}}}\n"
        )
    };
    let sop = "kind: sop\ntype: response\nname: s\nmode: manual\ngamebooks:\n  - gamebook: one\n  - gamebook: two\n";
    let lib = library(&[
        &gb("one", "device.quick_scan"),
        &gb("two", "device.full_scan"),
        sop,
    ]);
    let inc = incident(json!([device("d1", "ws-1", json!({}))]));
    let words = |w: &[&str]| w.iter().map(|s| s.to_string()).collect::<Vec<_>>();
    let plan = |approve: &[&str], reject: &[&str], fail: Option<&str>| {
        let config = decided(&lib, approve, reject, &[]);
        let failures = fail
            .map(|step| ScriptedFailure {
                step: Some(step.into()),
                ..ScriptedFailure::default()
            })
            .into_iter()
            .collect();
        let p = plan_with(&lib, &ws(Mode::Automatic), &inc, &config, failures);
        p.actions
            .iter()
            .map(|a| {
                let failed = a.execution.as_ref().is_some_and(|e| e.outcome == "failed");
                (a.gamebook.clone(), a.status, failed)
            })
            .collect::<Vec<_>>()
    };
    let row = |g: &str, s: Status, failed: bool| (g.to_string(), s, failed);
    assert_eq!(
        plan(&["one/scan"], &[], None),
        [
            row("one", Status::WouldRun, false),
            row("two", Status::AwaitingApproval, false)
        ]
    );
    assert_eq!(
        plan(&["one/scan"], &["two/scan"], None)
            .iter()
            .map(|r| r.1)
            .collect::<Vec<_>>(),
        [Status::WouldRun, Status::Rejected]
    );
    assert_eq!(
        plan(&["all"], &[], Some("two/scan")),
        [
            row("one", Status::WouldRun, false),
            row("two", Status::WouldRun, true)
        ]
    );
    // A gamebook or step the library does not have is an error, not a silent no-op.
    assert!(Approvals::from_words(&words(&["three/scan"]), &lib)
        .unwrap_err()
        .contains("no gamebook `three`"));
    assert!(Approvals::from_words(&words(&["one/sacn"]), &lib)
        .unwrap_err()
        .contains("has no step `sacn`"));
    // What to write instead is a step of that gamebook, never one it lacks.
    assert!(Approvals::from_words(&words(&["one/sacn"]), &lib)
        .unwrap_err()
        .ends_with("; did you mean `one/scan`?"));
    let err = Approvals::from_words(&words(&["one/isolate"]), &lib).unwrap_err();
    assert!(err.ends_with("(e.g. `one/scan`)"), "{err}");
    for half in ["/scan", "one/"] {
        assert!(Approvals::from_words(&words(&[half]), &lib)
            .unwrap_err()
            .contains("give `GAMEBOOK/STEP`, both parts non-empty"));
    }
}

/// The steps of the actions of gamebook `gb` on `inc` that the SOP's protection `rule` blocks.
fn protected_steps(gb: &str, inc: &Incident, rule: &str) -> Vec<String> {
    let lib = library(&[gb, &sop(&format!("guardrails:\n  protected: [{rule}]\n"))]);
    let p = plan_with(
        &lib,
        &ws(Mode::Autonomous),
        inc,
        &RunConfig::default(),
        vec![],
    );
    p.actions
        .iter()
        .filter(|a| a.status == Status::Blocked && a.reason.contains("protected"))
        .map(|a| a.step.clone())
        .collect()
}

/// A protection rule names an entity by any identifier the sources know it by, not only by the
/// id Riposte builds from the strongest one: a user by its SID or UPN, a device by its MDE id;
/// a name rule by the host name Defender shows (the FQDN) or the display name. An id without
/// its kind is what follows the kind, not any end of the id.
#[test]
fn protection_rules_name_an_entity_by_any_of_its_identifiers() {
    let gb = r#"
kind: gamebook
name: iso
version: 1.0.0
steps:
  - {id: u, for_each: incident.users, action: user.revoke_sessions}
  - {id: d, for_each: incident.devices, action: device.quick_scan}
"#;
    let user = json!({"id": "user:7d8e", "kind": "user", "name": "jdoe@contoso.com", "provider": "microsoft",
        "fields": {"aad_user_id": "7d8e", "upn": "jdoe@contoso.com", "sid": "s-1-5-21-1-2-3-1107", "display_name": "John Doe"}});
    let device = device(
        "d1",
        "ws-01",
        json!({"fields": {"hostname": "ws-01.corp.contoso.com", "mde_device_id": "d1"}}),
    );
    let inc = incident(json!([user, device]));
    let blocked = |rule: &str| protected_steps(gb, &inc, rule);
    for (rule, want) in [
        ("{id: \"S-1-5-21-1-2-3-1107\"}", vec!["u"]),
        ("{id: \"JDoe@contoso.com\"}", vec!["u"]),
        ("{id: \"user:7D8E\"}", vec!["u"]),
        ("{name: \"John Doe\"}", vec!["u"]),
        ("{id: d1}", vec!["d"]),
        ("{name: \"ws-01.corp.*\"}", vec!["d"]),
        ("{id: \"contoso.com\"}", vec![]),
        ("{id: \"1-2-3-1107\"}", vec![]),
        // With a kind: the entity's own kind only.
        ("{id: \"user:S-1-5-21-1-2-3-1107\"}", vec!["u"]),
        ("{id: \"device:S-1-5-21-1-2-3-1107\"}", vec![]),
        // The kind ignores case too.
        ("{id: \"USER:S-1-5-21-1-2-3-1107\"}", vec!["u"]),
        ("{id: \"User:JDoe@contoso.com\"}", vec!["u"]),
        ("{id: \"Device:S-1-5-21-1-2-3-1107\"}", vec![]),
    ] {
        assert_eq!(blocked(rule), want, "{rule}");
    }
}

/// An address rule matches an address entity whatever its id, in any spelling of the address;
/// the device a file is quarantined on is found by its host name too.
#[test]
fn protection_rules_match_addresses_and_devices_by_host_name() {
    let gb = r#"
kind: gamebook
name: iso
version: 1.0.0
steps:
  - {id: ipb, for_each: incident.ips, action: ip.block}
  - {id: q, for_each: incident.files, action: file.quarantine}
"#;
    let ip = json!({"id": "ip:attacker-1", "kind": "ip", "name": "2001:db8::1", "verdict": "malicious",
        "provider": "microsoft", "fields": {"address": "2001:db8::1"}});
    let file = json!({"id": "file:abc", "kind": "file", "name": "x.exe", "verdict": "malicious",
        "provider": "microsoft", "fields": {"sha1": "abc", "device_id": "srv-db.corp.contoso.com"}});
    let server = json!({"id": "device:srv-db", "kind": "device", "name": "srv-db", "tags": ["crown-jewel"],
        "provider": "microsoft", "fields": {"hostname": "srv-db.corp.contoso.com"}});
    let inc = incident(json!([ip, file, server]));
    let blocked = |rule: &str| protected_steps(gb, &inc, rule);
    assert_eq!(
        blocked("{id: \"2001:0DB8:0000:0000:0000:0000:0000:0001\"}"),
        ["ipb"]
    );
    // With its kind, in any case.
    assert_eq!(blocked("{id: \"IP:2001:DB8::1\"}"), ["ipb"]);
    // An IPv4-mapped spelling is the IPv4 address, as the importer writes it.
    let v4 = json!({"id": "ip:198.51.100.9", "kind": "ip", "name": "198.51.100.9",
        "provider": "microsoft", "fields": {"address": "198.51.100.9"}});
    let inc4 = incident(json!([v4]));
    for rule in [
        "{id: \"::ffff:198.51.100.9\"}",
        "{id: \"ip:::ffff:198.51.100.9\"}",
    ] {
        assert_eq!(protected_steps(gb, &inc4, rule), ["ipb"], "{rule}");
    }
    assert_eq!(blocked("{tag: crown-jewel}"), ["q"]);
    assert_eq!(blocked("{id: \"device:srv-db\"}"), ["q"]);
}

/// An SOP approval rule asking a Workspace Owner holds behind a gamebook's gate of another
/// role, as for high-impact actions: the gate is a Workspace Owner's, for everything behind it
/// (one approval passes it); a rule naming another role never lowers a gate.
#[test]
fn an_owner_rule_holds_behind_a_gate_of_another_role() {
    let gb = |role: &str| {
        format!(
            r#"
kind: gamebook
name: iso
version: 1.0.0
steps:
  - id: grp
    approval: {{role: {role}, timeout: 1h, on_timeout: reject, quorum: 2}}
    steps:
      - {{id: scan, for_each: incident.devices, action: device.quick_scan}}
      - {{id: note, action: incident.comment, params: {{comment: scanned}}}}
"#
        )
    };
    let inc = incident(json!([device("d1", "ws-1", json!({}))]));
    let approver = |gate: &str, rule: &str| {
        let rule = format!("approval:\n  - {{actions: [device.quick_scan], role: {rule}}}\n");
        let lib = library(&[&gb(gate), &sop(&rule)]);
        let p = plan_with(
            &lib,
            &ws(Mode::Autonomous),
            &inc,
            &RunConfig::default(),
            vec![],
        );
        let role = |step: &str| {
            let a = p.actions.iter().find(|a| a.step == step).expect("row");
            let approval = a.approval.as_ref().expect("an approval");
            (approval.role, approval.reason.clone())
        };
        (role("grp.scan"), role("grp.note").0)
    };
    let ((role, reason), note) = approver("incident_analyst", "workspace_owner");
    assert_eq!((role, note), ("workspace_owner", "workspace_owner"));
    assert!(
        reason.starts_with("approval gate of step `grp` (quorum 2")
            && reason.ends_with("it holds an action the SOP has a Workspace Owner approve"),
        "{reason}"
    );
    let ((role, _), _) = approver("workspace_owner", "incident_analyst");
    assert_eq!(role, "workspace_owner", "a rule never lowers a gate");
    let ((role, _), _) = approver("incident_responder", "incident_analyst");
    assert_eq!(role, "incident_responder");
}

/// A computed input out of the contract its gamebook declares (a text not among its
/// `values`, a required input computed to null) keeps the gamebook from running, from an SOP
/// and from a call step alike; one within it runs.
#[test]
fn computed_inputs_are_held_to_their_declarations() {
    let gb = r#"
kind: gamebook
name: gn
version: 1.0.0
inputs:
  level: {type: string, default: low, values: [low, high]}
  n: {type: number}
steps:
  - id: note
    action: incident.comment
    params: {comment: "{{ inputs.level }} {{ inputs.n }}"}
"#;
    let caller = r#"
kind: gamebook
name: caller
version: 1.0.0
steps:
  - id: call
    gamebook: gn
    with: {n: "{{ first(map(incident.users, u => len(u.upn))) }}", level: low}
"#;
    let inc = incident(json!([device("d1", "ws-1", json!({}))]));
    let w = ws(Mode::Autonomous);
    let rows = |sop_with: &str, gamebook: &str| {
        let sop = format!(
            "kind: sop\ntype: response\nname: s\nmode: autonomous\ngamebooks:\n  - gamebook: \
             {gamebook}\n    with: {sop_with}\n"
        );
        let lib = library(&[gb, caller, &sop]);
        let p = plan_with(&lib, &w, &inc, &RunConfig::default(), vec![]);
        p.actions
            .iter()
            .map(|a| (a.status, a.reason.clone()))
            .collect::<Vec<_>>()
    };
    let ok = rows("{level: \"{{ lower('HIGH') }}\", n: 1}", "gn");
    assert_eq!(ok[0].0, Status::WouldRun, "{ok:?}");
    let out = rows("{level: \"{{ incident.title }}\", n: 1}", "gn");
    assert_eq!(out[0].0, Status::Blocked, "{out:?}");
    assert!(
        out[0]
            .1
            .starts_with("input `level` of gamebook `gn` was computed to"),
        "{out:?}"
    );
    // Called: the incident has no user, so `n` is null.
    let called = rows("{}", "caller");
    assert_eq!(called[0].0, Status::Blocked, "{called:?}");
    assert!(
        called[0]
            .1
            .contains("input `n` of gamebook `gn` is required, and was computed to null"),
        "{called:?}"
    );
    // An input with a default computed to null (the incident has no alert) takes the
    // default, as an action param does.
    let defaulted = r#"
kind: gamebook
name: gd
version: 1.0.0
inputs:
  lifetime: {type: duration, default: 7d}
  level: {type: severity, default: high}
steps:
  - id: note
    if: "inputs.level >= medium"
    action: incident.comment
    params: {comment: "{{ inputs.lifetime }}"}
"#;
    let sop = "kind: sop\ntype: response\nname: s\nmode: autonomous\ngamebooks:\n  - gamebook: gd\n    with: {lifetime: \"{{ incident.updated - incident.created }}\", level: \"{{ first(incident.alerts).severity }}\"}\n";
    let lib = library(&[defaulted, sop]);
    let mut no_times = inc.clone();
    no_times.updated = None;
    let p = plan_with(&lib, &w, &no_times, &RunConfig::default(), vec![]);
    assert_eq!(
        p.actions[0].status,
        Status::WouldRun,
        "{:?}",
        p.actions[0].reason
    );
    assert_eq!(p.actions[0].params["comment"], "1w");
}

/// A time-out decides a gate only where nothing waits before it: behind another ungranted
/// gate, the step waits with the rest, and its own gate decides nothing yet.
#[test]
fn a_time_out_behind_another_gate_decides_nothing() {
    let gb = r#"
kind: gamebook
name: g
version: 1.0.0
steps:
  - id: first
    action: incident.comment
    params: {comment: one}
    approval: {role: workspace_owner, timeout: 1h, on_timeout: reject}
  - id: second
    needs: [first]
    action: incident.comment
    params: {comment: two}
    approval: {role: workspace_owner, timeout: 1h, on_timeout: reject}
"#;
    let lib = library(&[gb, &sop("").replace("gamebook: iso", "gamebook: g")]);
    let config = |approvals: Approvals| RunConfig {
        refusals: Refusals {
            rejected: Vec::new(),
            timed_out: vec!["second".into()],
        },
        approvals,
        trace: true,
        ..RunConfig::default()
    };
    let inc = two_devices();
    let behind = plan_with(
        &lib,
        &ws(Mode::Autonomous),
        &inc,
        &config(Approvals::None),
        vec![],
    );
    assert!(!super::decides_a_time_out(&behind, "second"));
    let granted = Approvals::Steps(vec!["first".into()]);
    let after = plan_with(&lib, &ws(Mode::Autonomous), &inc, &config(granted), vec![]);
    assert!(super::decides_a_time_out(&after, "second"));
}
