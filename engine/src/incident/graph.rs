//! Microsoft Graph security incidents (v1.0 `/security/incidents?$expand=alerts`): incidents,
//! alerts (alerts_v2) and their polymorphic evidence.

use riposte_dsl::model::{
    ALERT_STATUSES, CLASSIFICATIONS, DELIVERY_ACTIONS, DELIVERY_LOCATIONS, DETECTION_STATUSES,
    EMAIL_DIRECTIONS, INCIDENT_STATUSES, REMEDIATION_STATUSES, RISK_SCORES, ROLES, VERDICTS,
};
use riposte_dsl::types::EntityKind;

use super::entities::{EntitySet, NewEntity};
use super::json::{
    dedup, describe_val, enum_list, first_str, ip_string, mentions_admin, object, opt_array,
    opt_enum, opt_enum_static, opt_number, opt_object, opt_str, opt_text, opt_time, str_list, trim,
    url_domain, Cx, Obj, Path, Val, View,
};
use super::{Alert, ImportError, Incident, Limit};

/// Severities as normalized.
pub(crate) const SEVERITIES: &[&str] = &["informational", "low", "medium", "high", "unknown"];
/// Classification spellings that are not the model's, squashed.
pub(crate) const CLASSIFICATION_ALIASES: &[(&str, &str)] = &[
    ("informationalexpectedactivity", "benign_positive"),
    ("benignpositive", "benign_positive"),
];

/// Statuses Graph documents that the model leaves out, squashed, as they are written.
pub(crate) const GRAPH_EXTRA_VALUES: &[(&str, &str)] = &[("awaitingaction", "awaiting_action")];

/// The `remediation_status` values newer Graph versions add to the model's, squashed → as
/// written.
pub(crate) const NEWER_REMEDIATION: &[(&str, &str)] = &[
    ("active", "active"),
    ("pendingapproval", "pending_approval"),
    ("declined", "declined"),
    ("unremediated", "unremediated"),
    ("running", "running"),
    ("partiallyremediated", "partially_remediated"),
];
/// The `delivery_action` values newer Graph versions add to the model's.
pub(crate) const NEWER_DELIVERY_ACTIONS: &[(&str, &str)] = &[
    ("deliveredtojunk", "delivered_to_junk"),
    ("unknown", "unknown"),
];
/// The `delivery_location` values newer Graph versions add to the model's.
pub(crate) const NEWER_DELIVERY_LOCATIONS: &[(&str, &str)] = &[
    ("inboxfolder", "inbox_folder"),
    ("onpremexternal", "onprem_external"),
    ("others", "others"),
    ("unknown", "unknown"),
];

// The values Microsoft documents for the enumerations the model leaves open, as they are
// written (`snake_case`). Matched ignoring case and separators, they give all-capital text
// (`DEFENSEEVASION`), whose words `snake_case` cannot tell apart, the documented spelling;
// other values are kept in `snake_case`.

/// `alert.category`: the MITRE tactics and Defender's own categories.
pub(crate) const CATEGORIES: &[&str] = &[
    "initial_access",
    "execution",
    "persistence",
    "privilege_escalation",
    "defense_evasion",
    "credential_access",
    "discovery",
    "lateral_movement",
    "collection",
    "command_and_control",
    "exfiltration",
    "impact",
    "reconnaissance",
    "resource_development",
    "impair_process_control",
    "inhibit_response_function",
    "malware",
    "ransomware",
    "unwanted_software",
    "suspicious_activity",
    "exploit",
    "credential_theft",
    "phishing",
    "threat_management",
    "data_loss_prevention",
    "insider_threat",
    "pre_attack",
];
/// `incident.determination` (Graph's `alertDetermination`).
pub(crate) const DETERMINATIONS: &[&str] = &[
    "unknown",
    "apt",
    "malware",
    "security_personnel",
    "security_testing",
    "unwanted_software",
    "other",
    "multi_staged_attack",
    "compromised_account",
    "compromised_user",
    "phishing",
    "malicious_user_activity",
    "not_malicious",
    "not_enough_data_to_validate",
    "confirmed_activity",
    "clean",
    "insufficient_data",
    "confirmed_user_activity",
    "line_of_business_application",
    "unknown_future_value",
];
/// `alert.service_source`.
pub(crate) const SERVICE_SOURCES: &[&str] = &[
    "unknown",
    "microsoft_defender_for_endpoint",
    "microsoft_defender_for_identity",
    "microsoft_defender_for_cloud_apps",
    "microsoft_defender_for_office365",
    "microsoft365_defender",
    "azure_ad_identity_protection",
    "microsoft_app_governance",
    "data_loss_prevention",
    "microsoft_defender_for_cloud",
    "microsoft_sentinel",
    "microsoft_insider_risk_management",
    "unknown_future_value",
];
/// `alert.detection_source`.
pub(crate) const DETECTION_SOURCES: &[&str] = &[
    "unknown",
    "microsoft_defender_for_endpoint",
    "antivirus",
    "smart_screen",
    "custom_ti",
    "microsoft_defender_for_office365",
    "automated_investigation",
    "microsoft_threat_experts",
    "custom_detection",
    "microsoft_defender_for_identity",
    "cloud_app_security",
    "microsoft365_defender",
    "azure_ad_identity_protection",
    "manual",
    "microsoft_data_loss_prevention",
    "app_governance_policy",
    "app_governance_detection",
    "microsoft_defender_for_cloud",
    "microsoft_defender_for_iot",
    "microsoft_defender_for_servers",
    "microsoft_defender_for_storage",
    "microsoft_defender_for_dns",
    "microsoft_defender_for_databases",
    "microsoft_defender_for_containers",
    "microsoft_defender_for_network",
    "microsoft_defender_for_app_service",
    "microsoft_defender_for_key_vault",
    "microsoft_defender_for_resource_manager",
    "microsoft_defender_for_api_management",
    "nrt_alerts",
    "scheduled_alerts",
    "microsoft_defender_threat_intelligence_analytics",
    "built_in_ml",
    "microsoft_insider_risk_management",
    "microsoft_sentinel",
    "microsoft_threat_intelligence",
    "microsoft_defender_for_ai_services",
    "security_copilot",
    "unknown_future_value",
];
/// A device's `health_status`.
pub(crate) const HEALTH_STATUSES: &[&str] = &[
    "active",
    "inactive",
    "impaired_communication",
    "no_sensor_data",
    "no_sensor_data_impaired_communication",
    "unknown",
    "unknown_future_value",
];
/// A device's `onboarding_status`.
pub(crate) const ONBOARDING_STATUSES: &[&str] = &[
    "insufficient_info",
    "onboarded",
    "can_be_onboarded",
    "unsupported",
    "unknown_future_value",
];
/// A device's `av_status` (`defenderAvStatus`).
pub(crate) const AV_STATUSES: &[&str] = &[
    "not_reporting",
    "disabled",
    "not_updated",
    "updated",
    "unknown",
    "not_supported",
    "unknown_future_value",
];

type Result<T> = std::result::Result<T, ImportError>;

fn unknown() -> String {
    "unknown".to_string()
}

pub(super) fn incident<V: Val>(cx: &Cx, v: &V, path: &Path) -> Result<Incident> {
    let m = object(cx, v, path)?;
    let id = opt_str(cx, m, "id", path)?
        .ok_or_else(|| cx.invalid(&path.key("id"), "the incident has no `id`"))?;
    let mut tags = str_list(cx, m, "customTags", path)?;
    tags.extend(str_list(cx, m, "tags", path)?);
    tags.extend(str_list(cx, m, "systemTags", path)?);
    let alerts_path = m.at(path, "alerts");
    let alerts_given = opt_array(cx, m, "alerts", path)?;
    let alerts_not_fetched = alerts_given.is_none();
    let alerts_json = alerts_given.unwrap_or_default();
    cx.check_len(&alerts_path, Limit::Alerts, alerts_json.len())?;
    let mut set = EntitySet::default();
    let mut alerts = Vec::with_capacity(alerts_json.len());
    for (i, a) in alerts_json.iter().enumerate() {
        alerts.push(alert(cx, a, &alerts_path.index(i), &mut set)?);
    }
    let built = set.finish();
    for (a, ids) in alerts.iter_mut().zip(built.alert_entities) {
        a.entity_ids = ids;
    }
    Ok(Incident {
        id,
        // The Defender portal shows an incident by its id.
        number: None,
        source: "defender_xdr".into(),
        workspace: opt_str(cx, m, "tenantId", path)?,
        title: opt_str(cx, m, "displayName", path)?.unwrap_or_default(),
        description: opt_str(cx, m, "description", path)?,
        severity: opt_enum(cx, m, "severity", path, SEVERITIES, GRAPH_EXTRA_VALUES)?
            .unwrap_or_else(unknown),
        status: opt_enum(cx, m, "status", path, INCIDENT_STATUSES, GRAPH_EXTRA_VALUES)?
            .unwrap_or_else(unknown),
        redirected_to: opt_str(cx, m, "redirectIncidentId", path)?,
        classification: opt_enum(
            cx,
            m,
            "classification",
            path,
            CLASSIFICATIONS,
            CLASSIFICATION_ALIASES,
        )?
        .unwrap_or_else(unknown),
        determination: opt_enum(cx, m, "determination", path, DETERMINATIONS, &[])?,
        assigned_to: opt_str(cx, m, "assignedTo", path)?,
        web_url: opt_str(cx, m, "incidentWebUrl", path)?,
        created: opt_time(cx, m, "createdDateTime", path)?,
        updated: opt_time(cx, m, "lastUpdateDateTime", path)?,
        tags: dedup(tags),
        alerts,
        entities: built.entities,
        other_evidence: built.other,
        alerts_not_fetched,
    })
}

fn alert<V: Val>(cx: &Cx, v: &V, path: &Path, set: &mut EntitySet) -> Result<Alert> {
    let m = object(cx, v, path)?;
    let id = first_str(cx, m, &["id", "providerAlertId"], path)?
        .ok_or_else(|| cx.invalid(&path.key("id"), "the alert has no `id`"))?;
    let index = set.alert(&id);
    let ev_path = m.at(path, "evidence");
    let evidence = opt_array(cx, m, "evidence", path)?.unwrap_or_default();
    cx.check_len(&ev_path, Limit::Evidence, evidence.len())?;
    for (i, ev) in evidence.iter().enumerate() {
        let ep = ev_path.index(i);
        match ev.view() {
            View::Null => {}
            View::Object(em) => match entity(cx, em, &ep, &id, i)? {
                Some(e) => {
                    set.add(e, &[index]);
                    cx.check_len(&ev_path, Limit::Entities, set.len())?;
                }
                None => {
                    let kept = ev.to_json().ok_or_else(|| {
                        cx.invalid(&ep, "evidence of this type is read by the slow path")
                    })?;
                    set.other.push(kept);
                    cx.check_len(&ev_path, Limit::OtherEvidence, set.other.len())?;
                }
            },
            _ => {
                return Err(cx.invalid(
                    &ep,
                    format!("expected an evidence object, found {}", describe_val(ev)),
                ))
            }
        }
    }
    let techniques = str_list(cx, m, "mitreTechniques", path)?
        .into_iter()
        .map(|t| trim(&t).to_string())
        .collect();
    Ok(Alert {
        id,
        title: opt_str(cx, m, "title", path)?.unwrap_or_default(),
        description: opt_str(cx, m, "description", path)?,
        category: opt_enum(cx, m, "category", path, CATEGORIES, &[])?,
        severity: opt_enum(cx, m, "severity", path, SEVERITIES, GRAPH_EXTRA_VALUES)?
            .unwrap_or_else(unknown),
        status: opt_enum(cx, m, "status", path, ALERT_STATUSES, GRAPH_EXTRA_VALUES)?
            .unwrap_or_else(unknown),
        service_source: opt_enum(cx, m, "serviceSource", path, SERVICE_SOURCES, &[])?,
        detection_source: opt_enum(cx, m, "detectionSource", path, DETECTION_SOURCES, &[])?,
        threat_family: first_str(cx, m, &["threatFamilyName", "threatDisplayName"], path)?,
        mitre_techniques: dedup(techniques),
        created: opt_time(cx, m, "createdDateTime", path)?,
        first_activity: opt_time(cx, m, "firstActivityDateTime", path)?,
        last_activity: opt_time(cx, m, "lastActivityDateTime", path)?,
        entity_ids: Vec::new(),
    })
}

/// The entity of one evidence item; `None` for evidence types the model has no kind for.
fn entity<M: Obj>(
    cx: &Cx,
    m: &M,
    path: &Path,
    alert_id: &str,
    i: usize,
) -> Result<Option<NewEntity>> {
    let ty = opt_text(cx, m, "@odata.type", path)?;
    let ty = ty
        .as_deref()
        .map(|t| t.rsplit('.').next().unwrap_or(t).trim_start_matches('#'))
        .unwrap_or_default();
    // The type, ignoring ASCII case.
    const KINDS: &[(&str, EntityKind)] = &[
        ("deviceevidence", EntityKind::Device),
        ("userevidence", EntityKind::User),
        ("ipevidence", EntityKind::Ip),
        ("urlevidence", EntityKind::Url),
        ("fileevidence", EntityKind::File),
        ("processevidence", EntityKind::Process),
        ("mailboxevidence", EntityKind::Mailbox),
        ("analyzedmessageevidence", EntityKind::Email),
        ("cloudapplicationevidence", EntityKind::CloudApp),
    ];
    let Some(&(_, kind)) = KINDS.iter().find(|(name, _)| ty.eq_ignore_ascii_case(name)) else {
        return Ok(None);
    };
    let mut e = NewEntity::new(kind, String::new());
    if let Some(v) = opt_enum_static(cx, m, "verdict", path, VERDICTS, &[])? {
        e.verdict = v;
    }
    if let Some(r) = opt_enum_static(
        cx,
        m,
        "remediationStatus",
        path,
        REMEDIATION_STATUSES,
        NEWER_REMEDIATION,
    )? {
        e.remediation_status = r;
    }
    e.roles = enum_list(cx, m, "roles", path, ROLES)?;
    e.tags = str_list(cx, m, "tags", path)?;
    e.admin = str_list(cx, m, "detailedRoles", path)?
        .iter()
        .any(|r| mentions_admin(r));
    if kind == EntityKind::User {
        // Tags and roles as written: `roles` in snake case would read `AdminPortal` as the
        // words `admin portal`.
        e.admin = e.admin
            || e.tags.iter().any(|t| mentions_admin(t))
            || str_list(cx, m, "roles", path)?
                .iter()
                .any(|r| mentions_admin(r));
    }
    let mut extra = None;
    match kind {
        EntityKind::Device => device(cx, m, path, &mut e)?,
        EntityKind::User => {
            if let Some(ua) = opt_object(cx, m, "userAccount", path)? {
                user_account(cx, ua, &m.at(path, "userAccount"), &mut e)?;
            }
        }
        EntityKind::Ip => {
            e.put_ip("address", opt_text(cx, m, "ipAddress", path)?.as_deref());
            e.put("country", opt_str(cx, m, "countryLetterCode", path)?);
        }
        EntityKind::Url => {
            let url = opt_text(cx, m, "url", path)?.map(|u| trim(&u).to_string());
            e.put("domain", url.as_deref().and_then(url_domain));
            e.put("url", url);
        }
        EntityKind::File => {
            e.put(
                "detection_status",
                opt_enum(cx, m, "detectionStatus", path, DETECTION_STATUSES, &[])?,
            );
            let device = opt_str(cx, m, "mdeDeviceId", path)?;
            e.put("device_ids", device.clone().map(|d| vec![d]));
            e.put("device_id", device);
            if let Some(fd) = opt_object(cx, m, "fileDetails", path)? {
                file_details(cx, fd, &m.at(path, "fileDetails"), &mut e)?;
            }
        }
        EntityKind::Process => process(cx, m, path, &mut e)?,
        EntityKind::Mailbox => {
            let ua = opt_object(cx, m, "userAccount", path)?;
            let up = m.at(path, "userAccount");
            let from_account = |key: &str| match ua {
                Some(ua) => opt_str(cx, ua, key, &up),
                None => Ok(None),
            };
            e.put("primary_address", opt_str(cx, m, "primaryAddress", path)?);
            e.put(
                "upn",
                opt_str(cx, m, "upn", path)?.or(from_account("userPrincipalName")?),
            );
            e.put(
                "display_name",
                opt_str(cx, m, "displayName", path)?.or(from_account("displayName")?),
            );
        }
        EntityKind::Email => email(cx, m, path, &mut e)?,
        EntityKind::CloudApp => {
            e.put("app_id", opt_number(cx, m, "appId", path)?);
            e.put("display_name", opt_str(cx, m, "displayName", path)?);
            e.put("instance_name", opt_str(cx, m, "instanceName", path)?);
            e.put("saas_app_id", opt_number(cx, m, "saasAppId", path)?);
            extra = opt_str(cx, m, "instanceId", path)?;
        }
    }
    let mut e = e.identify(extra.as_deref());
    // Only evidence nothing identifies is named after its place (it never merges).
    if e.keys.iter().all(Option::is_none) {
        e.fallback_key = format!("{alert_id}/{i}");
    }
    Ok(Some(e))
}

fn device<M: Obj>(cx: &Cx, m: &M, path: &Path, e: &mut NewEntity) -> Result<()> {
    e.put("mde_device_id", opt_str(cx, m, "mdeDeviceId", path)?);
    e.put("aad_device_id", opt_str(cx, m, "azureAdDeviceId", path)?);
    e.put(
        "hostname",
        first_str(cx, m, &["deviceDnsName", "hostName"], path)?,
    );
    let os = opt_text(cx, m, "osPlatform", path)?.map(|o| trim(&o).to_lowercase());
    e.put(
        "is_server",
        Some(os.as_deref().is_some_and(|o| o.contains("server"))),
    );
    e.put("os_platform", os);
    e.put("os_build", opt_number(cx, m, "osBuild", path)?);
    e.put(
        "health_status",
        opt_enum(cx, m, "healthStatus", path, HEALTH_STATUSES, &[])?,
    );
    e.put(
        "risk_score",
        opt_enum(cx, m, "riskScore", path, RISK_SCORES, &[])?,
    );
    e.put(
        "onboarding_status",
        opt_enum(cx, m, "onboardingStatus", path, ONBOARDING_STATUSES, &[])?,
    );
    e.put(
        "av_status",
        opt_enum(cx, m, "defenderAvStatus", path, AV_STATUSES, &[])?,
    );
    e.put(
        "rbac_group",
        first_str(cx, m, &["rbacGroupName", "rbacGroupId"], path)?,
    );
    let ips: Vec<String> = str_list(cx, m, "ipInterfaces", path)?
        .iter()
        .filter_map(|s| ip_string(s))
        .collect();
    let ips = dedup(ips);
    e.put("ip_addresses", (!ips.is_empty()).then_some(ips));
    let users = logged_on_users(cx, m, path)?;
    e.put("logged_on_users", (!users.is_empty()).then_some(users));
    e.put("first_seen", opt_time(cx, m, "firstSeenDateTime", path)?);
    Ok(())
}

/// `loggedOnUsers`: `{accountName, domainName}` objects as `DOMAIN\account`; text as given.
fn logged_on_users<M: Obj>(cx: &Cx, m: &M, path: &Path) -> Result<Vec<String>> {
    let Some(items) = opt_array(cx, m, "loggedOnUsers", path)? else {
        return Ok(Vec::new());
    };
    let here = m.at(path, "loggedOnUsers");
    let mut out = Vec::new();
    for (i, item) in items.iter().enumerate() {
        let ip = here.index(i);
        match item.view() {
            View::Null => {}
            View::Str(s) => out.push(s.to_string()),
            View::Object(u) => {
                let account = opt_str(cx, u, "accountName", &ip)?;
                let domain = opt_str(cx, u, "domainName", &ip)?;
                match (domain, account) {
                    (Some(d), Some(a)) => out.push(format!("{d}\\{a}")),
                    (None, Some(a)) => out.push(a),
                    _ => {}
                }
            }
            _ => {
                return Err(cx.invalid(
                    &ip,
                    format!("expected a logged-on user, found {}", describe_val(item)),
                ))
            }
        }
    }
    Ok(dedup(out))
}

fn user_account<M: Obj>(cx: &Cx, ua: &M, path: &Path, e: &mut NewEntity) -> Result<()> {
    e.put("upn", opt_str(cx, ua, "userPrincipalName", path)?);
    e.put("aad_user_id", opt_str(cx, ua, "azureAdUserId", path)?);
    e.put("account_name", opt_str(cx, ua, "accountName", path)?);
    e.put("domain", opt_str(cx, ua, "domainName", path)?);
    e.put("sid", opt_str(cx, ua, "userSid", path)?);
    e.put("display_name", opt_str(cx, ua, "displayName", path)?);
    Ok(())
}

/// A hash, lowercase.
fn hash<M: Obj>(cx: &Cx, m: &M, key: &str, path: &Path) -> Result<Option<String>> {
    Ok(opt_text(cx, m, key, path)?.map(|h| trim(&h).to_ascii_lowercase()))
}

fn file_details<M: Obj>(cx: &Cx, fd: &M, path: &Path, e: &mut NewEntity) -> Result<()> {
    e.put("file_name", opt_str(cx, fd, "fileName", path)?);
    e.put("path", opt_str(cx, fd, "filePath", path)?);
    e.put("sha1", hash(cx, fd, "sha1", path)?);
    e.put("sha256", hash(cx, fd, "sha256", path)?);
    e.put("md5", hash(cx, fd, "md5", path)?);
    e.put("size", opt_number(cx, fd, "fileSize", path)?);
    e.put("publisher", opt_str(cx, fd, "filePublisher", path)?);
    e.put("signer", opt_str(cx, fd, "signer", path)?);
    Ok(())
}

fn process<M: Obj>(cx: &Cx, m: &M, path: &Path, e: &mut NewEntity) -> Result<()> {
    e.put("process_id", opt_number(cx, m, "processId", path)?);
    e.put(
        "parent_process_id",
        opt_number(cx, m, "parentProcessId", path)?,
    );
    e.put("command_line", opt_str(cx, m, "processCommandLine", path)?);
    e.put("device_id", opt_str(cx, m, "mdeDeviceId", path)?);
    e.put("created", opt_time(cx, m, "processCreationDateTime", path)?);
    if let Some(img) = opt_object(cx, m, "imageFile", path)? {
        let ip = m.at(path, "imageFile");
        e.put("image_file_name", opt_str(cx, img, "fileName", &ip)?);
        e.put("image_sha1", hash(cx, img, "sha1", &ip)?);
        e.put("image_sha256", hash(cx, img, "sha256", &ip)?);
    }
    if let Some(ua) = opt_object(cx, m, "userAccount", path)? {
        let up = m.at(path, "userAccount");
        let account = match (
            opt_str(cx, ua, "userPrincipalName", &up)?,
            opt_str(cx, ua, "domainName", &up)?,
            opt_str(cx, ua, "accountName", &up)?,
        ) {
            (Some(upn), _, _) => Some(upn),
            (None, Some(d), Some(a)) => Some(format!("{d}\\{a}")),
            (None, None, a) => a,
            (None, Some(_), None) => None,
        };
        e.put("account", account);
    }
    Ok(())
}

fn email<M: Obj>(cx: &Cx, m: &M, path: &Path, e: &mut NewEntity) -> Result<()> {
    e.put(
        "network_message_id",
        opt_str(cx, m, "networkMessageId", path)?,
    );
    e.put(
        "internet_message_id",
        opt_str(cx, m, "internetMessageId", path)?,
    );
    e.put("subject", opt_str(cx, m, "subject", path)?);
    // P2 is the `From:` header recipients see; P1 the envelope sender.
    let mut sender = None;
    for key in ["p2Sender", "p1Sender"] {
        if sender.is_none() {
            if let Some(s) = opt_object(cx, m, key, path)? {
                sender = opt_str(cx, s, "emailAddress", &m.at(path, key))?;
            }
        }
    }
    e.put("sender", sender);
    e.put("recipient", opt_str(cx, m, "recipientEmailAddress", path)?);
    e.put_ip("sender_ip", opt_text(cx, m, "senderIp", path)?.as_deref());
    e.put(
        "delivery_action",
        opt_enum(
            cx,
            m,
            "deliveryAction",
            path,
            DELIVERY_ACTIONS,
            NEWER_DELIVERY_ACTIONS,
        )?,
    );
    e.put(
        "delivery_location",
        opt_enum(
            cx,
            m,
            "deliveryLocation",
            path,
            DELIVERY_LOCATIONS,
            NEWER_DELIVERY_LOCATIONS,
        )?,
    );
    e.put(
        "direction",
        opt_enum(cx, m, "antiSpamDirection", path, EMAIL_DIRECTIONS, &[])?,
    );
    let urls = str_list(cx, m, "urls", path)?;
    e.put("urls", (!urls.is_empty()).then_some(urls));
    let threats = str_list(cx, m, "threats", path)?;
    e.put("threats", (!threats.is_empty()).then_some(threats));
    e.put(
        "attachments_count",
        opt_number(cx, m, "attachmentsCount", path)?,
    );
    e.put("received", opt_time(cx, m, "receivedDateTime", path)?);
    Ok(())
}
