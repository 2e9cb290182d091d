//! Workspaces and their agents: which tenant, which modules and consents, and how the agent
//! processes incidents. Read from `--workspaces FILE` (see `examples/workspaces.yaml`), or the
//! built-in demo workspace.

use std::cell::OnceCell;
use std::collections::{HashMap, HashSet};
use std::io::Read;
use std::marker::PhantomData;
use std::path::Path;

use riposte_dsl::ast::{AgentMode, IncidentSource, SeverityLevel};
use riposte_dsl::catalog::Application;
use serde::Deserialize;
use serde_saphyr::{Location, Spanned};

use form::{Flag, Form, Item, List, Mapping, Text, TextRule};

mod form;

/// Subscription state of a workspace.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Subscription {
    Active,
    Trial,
    Expired,
}

impl Subscription {
    /// The name as the workspaces file spells it.
    pub fn as_str(self) -> &'static str {
        match self {
            Subscription::Active => "active",
            Subscription::Trial => "trial",
            Subscription::Expired => "expired",
        }
    }
}

/// An integration module that can be enabled per workspace.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Module {
    DefenderXdr,
    Sentinel,
    Crowdstrike,
    Sentinelone,
    Qradar,
    Splunk,
}

impl Module {
    /// The module an incident of `source` arrives through.
    pub fn for_source(source: &str) -> Option<Module> {
        IncidentSource::parse(source).map(Module::of)
    }

    /// The module incidents from `source` arrive through.
    pub fn of(source: IncidentSource) -> Module {
        match source {
            IncidentSource::DefenderXdr => Module::DefenderXdr,
            IncidentSource::Sentinel => Module::Sentinel,
            IncidentSource::CrowdStrike => Module::Crowdstrike,
            IncidentSource::SentinelOne => Module::Sentinelone,
            IncidentSource::QRadar => Module::Qradar,
            IncidentSource::Splunk => Module::Splunk,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Module::DefenderXdr => "defender_xdr",
            Module::Sentinel => "sentinel",
            Module::Crowdstrike => "crowdstrike",
            Module::Sentinelone => "sentinelone",
            Module::Qradar => "qradar",
            Module::Splunk => "splunk",
        }
    }
}

/// An entity no action may touch in this workspace.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ProtectedEntity {
    Id(String),
    /// A glob (`*`, `?`) on the entity name, case-insensitive.
    Name(String),
    Tag(String),
}

/// What a protected entity rule is, for errors.
const RULE: &str = "a protected entity rule has exactly one of `id`, `name`, `tag` (e.g. \
                    `{name: \"dc-*\"}`, `{tag: crown-jewel}`)";

/// A protected entity rule: a mapping of one key, `id`, `name` or `tag`.
struct RuleForm;

impl<'de> Form<'de> for RuleForm {
    type Value = ProtectedEntity;

    fn expected(&self) -> String {
        RULE.to_string()
    }

    fn mapping<A: serde::de::MapAccess<'de>>(
        self,
        mut map: A,
    ) -> Result<ProtectedEntity, A::Error> {
        use serde::de::Error;
        let key = Text {
            expected: RULE,
            rule: TextRule::Any,
        };
        let mut rule: Option<(String, ProtectedEntity)> = None;
        while let Some(key) = map.next_key_seed(key)? {
            let (make, expected): (fn(String) -> ProtectedEntity, _) = match key.as_str() {
                "id" => (
                    ProtectedEntity::Id,
                    "the `id` of a protected entity rule is an entity id, e.g. \
                     `device:5521ae5b…`",
                ),
                "name" => (
                    ProtectedEntity::Name,
                    "the `name` of a protected entity rule is a name or a pattern, e.g. \
                     `\"dc-*\"`",
                ),
                "tag" => (
                    ProtectedEntity::Tag,
                    "the `tag` of a protected entity rule is a tag, e.g. `crown-jewel`",
                ),
                other => {
                    return Err(A::Error::custom(format!(
                        "unknown key `{}` in a protected entity rule ({}); {RULE}",
                        riposte_dsl::diagnostic::clip(other, 80),
                        riposte_dsl::diagnostic::suggestion(other, ["id", "name", "tag"]),
                    )))
                }
            };
            let value = map.next_value_seed(Text {
                expected,
                rule: TextRule::Required,
            })?;
            if let Some((first, _)) = &rule {
                return Err(A::Error::custom(format!(
                    "{RULE}; found both `{first}` and `{key}`: write one rule for each"
                )));
            }
            rule = Some((key, make(value)));
        }
        rule.map(|(_, rule)| rule)
            .ok_or_else(|| form::found(RULE, "an empty mapping"))
    }
}

impl<'de> Deserialize<'de> for ProtectedEntity {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        RuleForm.read(d)
    }
}

/// Which SOPs an agent runs.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(untagged)]
pub enum SopSelection {
    /// `all`
    All(AllKeyword),
    Named(Vec<String>),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum AllKeyword {
    All,
}

/// What `sops` is, for errors.
const SOPS: &str = "`sops` is `all` or a list of SOP names, e.g. `[ransomware-containment]`";

/// `all` (ignoring case, as enum values do), or a list of SOP names.
struct SopsForm;

impl<'de> Form<'de> for SopsForm {
    type Value = SopSelection;

    fn expected(&self) -> String {
        SOPS.to_string()
    }

    fn text<E: serde::de::Error>(self, text: &str) -> Result<SopSelection, E> {
        if text.trim().eq_ignore_ascii_case("all") {
            return Ok(SopSelection::All(AllKeyword::All));
        }
        Err(form::one_item(SOPS, text))
    }

    fn list<A: serde::de::SeqAccess<'de>>(self, seq: A) -> Result<SopSelection, A::Error> {
        let names = List {
            expected: SOPS,
            item: Text {
                expected: "each item of `sops` is the name of a SOP, e.g. \
                           `ransomware-containment`",
                rule: TextRule::Required,
            },
            of_text: true,
        };
        names.list(seq).map(SopSelection::Named)
    }
}

impl<'de> Deserialize<'de> for SopSelection {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        SopsForm.read(d)
    }
}

impl SopSelection {
    pub fn includes(&self, sop: &str) -> bool {
        match self {
            SopSelection::All(_) => true,
            SopSelection::Named(names) => names.iter().any(|n| n == sop),
        }
    }
}

/// The Security Delivery Agent of a workspace.
#[derive(Clone, Debug, PartialEq, Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields)]
pub struct Agent {
    pub mode: Mode,
    /// Severities the agent processes on-queue (the ProcessIncident capability).
    #[serde(deserialize_with = "read_process_incident")]
    pub process_incident: Vec<Severity>,
    /// Severities for which the agent may run gamebooks (the Gamebooks capability).
    #[serde(deserialize_with = "read_gamebooks")]
    pub gamebooks: Vec<Severity>,
    pub sops: SopSelection,
}

/// serde twin of [`AgentMode`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Mode {
    Manual,
    Automatic,
    Autonomous,
}

impl Mode {
    pub fn as_str(self) -> &'static str {
        match self {
            Mode::Manual => "manual",
            Mode::Automatic => "automatic",
            Mode::Autonomous => "autonomous",
        }
    }

    pub fn agent_mode(self) -> AgentMode {
        match self {
            Mode::Manual => AgentMode::Manual,
            Mode::Automatic => AgentMode::Automatic,
            Mode::Autonomous => AgentMode::Autonomous,
        }
    }
}

/// serde twin of [`SeverityLevel`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Severity {
    Informational,
    Low,
    Medium,
    High,
}

impl Severity {
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Informational => "informational",
            Severity::Low => "low",
            Severity::Medium => "medium",
            Severity::High => "high",
        }
    }

    pub fn level(self) -> SeverityLevel {
        match self {
            Severity::Informational => SeverityLevel::Informational,
            Severity::Low => SeverityLevel::Low,
            Severity::Medium => SeverityLevel::Medium,
            Severity::High => SeverityLevel::High,
        }
    }
}

/// Deserializes the enums of the workspaces file from their names, ignoring ASCII case and
/// surrounding spaces (`High` = `high`), as the incident importer reads enum values.
macro_rules! named {
    ($($ty:ident: $what:literal, $expected:literal = [$($v:ident),+ $(,)?];)+) => {$(
        impl $ty {
            const ALL: &'static [$ty] = &[$($ty::$v),+];
        }

        // Read by name: the type's marker is its form, as the type has no value to start from.
        impl<'de> Form<'de> for PhantomData<$ty> {
            type Value = $ty;

            fn expected(&self) -> String {
                let names: Vec<String> =
                    $ty::ALL.iter().map(|v| format!("`{}`", v.as_str())).collect();
                format!("{} is one of {}", $expected, names.join(", "))
            }

            fn text<E: serde::de::Error>(self, text: &str) -> Result<$ty, E> {
                $ty::ALL
                    .iter()
                    .copied()
                    .find(|v| v.as_str().eq_ignore_ascii_case(text.trim()))
                    .ok_or_else(|| {
                        let names = $ty::ALL.iter().map(|v| v.as_str());
                        E::custom(format!(
                            "unknown {} `{}`; {}",
                            $what,
                            riposte_dsl::diagnostic::clip(text, 80),
                            riposte_dsl::diagnostic::suggestion(text, names)
                        ))
                    })
            }
        }

        impl<'de> Deserialize<'de> for $ty {
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                PhantomData::<$ty>.read(d)
            }
        }
    )+};
}

named! {
    Subscription: "subscription", "`subscription`" = [Active, Trial, Expired];
    Module: "module", "a module" = [DefenderXdr, Sentinel, Crowdstrike, Sentinelone, Qradar, Splunk];
    Mode: "agent mode", "`mode`" = [Manual, Automatic, Autonomous];
    Severity: "severity", "a severity" = [Informational, Low, Medium, High];
}

/// Readers of the workspaces file's keys, each saying what its key holds when given
/// something else.
macro_rules! readers {
    ($($name:ident -> $ty:ty = $form:expr;)+) => {$(
        fn $name<'de, D: serde::Deserializer<'de>>(d: D) -> Result<$ty, D::Error> {
            $form.read(d)
        }
    )+};
}

readers! {
    read_name -> String = Text {
        expected: "`name` is required: a workspace's name is text such as `contoso`, without \
                   spaces at either end or control characters",
        rule: TextRule::Name,
    };
    read_tenant_id -> String = Text {
        expected: "`tenant_id` is required: the Entra tenant's GUID \
                   (`xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx`), or `*` for a workspace that \
                   stands in for any tenant",
        rule: TextRule::Required,
    };
    read_modules -> Vec<Module> = List {
        expected: "`modules` is a list of modules, e.g. `[defender_xdr, sentinel]`",
        item: Item::<Module>::new(),
        of_text: true,
    };
    read_fetch_to_sentinel -> bool = Flag { expected: "`fetch_to_sentinel` is `true` or `false`" };
    read_partner_consent -> bool = Flag { expected: "`partner_consent` is `true` or `false`" };
    read_delegated_session -> bool = Flag { expected: "`delegated_session` is `true` or `false`" };
    read_allow_service_provider_gamebooks -> bool = Flag {
        expected: "`allow_service_provider_gamebooks` is `true` or `false`",
    };
    read_consented_applications -> Vec<String> = List {
        expected: "`consented_applications` is a list of application keys, e.g. \
                   `[mde, gamebooks-identity]`",
        item: Text {
            expected: "an application in `consented_applications` is named by its key, e.g. \
                       `gamebooks-identity`",
            rule: TextRule::Required,
        },
        of_text: true,
    };
    read_consented_for_partner_list -> Vec<String> = List {
        expected: "`consented_for_partner` is a list of application keys, e.g. \
                   `[gamebooks-mde]`",
        item: Text {
            expected: "an application in `consented_for_partner` is named by its key, e.g. \
                       `gamebooks-mde`",
            rule: TextRule::Required,
        },
        of_text: true,
    };
    read_sentinel_workspaces -> Vec<String> = List {
        expected: "`sentinel_workspaces` is a list of Log Analytics workspace names, e.g. \
                   `[law-contoso-prod]`",
        item: Text {
            expected: "a workspace in `sentinel_workspaces` is a Log Analytics workspace's \
                       name, e.g. `law-contoso-prod`",
            rule: TextRule::Name,
        },
        of_text: true,
    };
    read_tags -> Vec<String> = List {
        expected: "`tags` is a list of labels, e.g. `[managed-xdr]`",
        item: Text {
            expected: "a tag in `tags` is a label, e.g. `managed-xdr`",
            rule: TextRule::Required,
        },
        of_text: true,
    };
    read_protected_entities -> Vec<ProtectedEntity> = List {
        expected: "`protected_entities` is a list of rules, e.g. \
                   `[{name: \"dc-*\"}, {tag: crown-jewel}]`",
        item: Item::<ProtectedEntity>::new(),
        of_text: false,
    };
    read_agent -> Agent = Mapping::<Agent> {
        expected: "`agent` is a mapping of `mode`, `process_incident`, `gamebooks` and `sops`, \
                   e.g. `{mode: manual, process_incident: [high], gamebooks: [high], sops: all}`",
        into: PhantomData,
    };
    read_process_incident -> Vec<Severity> = List {
        expected: "`process_incident` is a list of severities, e.g. `[high, medium]`",
        item: Item::<Severity>::new(),
        of_text: true,
    };
    read_gamebooks -> Vec<Severity> = List {
        expected: "`gamebooks` is a list of severities, e.g. `[high, medium]`",
        item: Item::<Severity>::new(),
        of_text: true,
    };
    read_workspace_list -> Vec<Workspace> = List {
        expected: "`workspaces` is a list of workspaces",
        item: WORKSPACE,
        of_text: false,
    };
}

/// One workspace, an item of `workspaces`.
const WORKSPACE: Mapping<Workspace> = Mapping {
    expected: "a workspace is a mapping with at least `name`, `tenant_id`, `subscription` and \
               `agent`",
    into: PhantomData,
};

/// `consented_for_partner`: given, the list; left out, `None` (as consented).
fn read_consented_for_partner<'de, D: serde::Deserializer<'de>>(
    d: D,
) -> Result<Option<Vec<String>>, D::Error> {
    read_consented_for_partner_list(d).map(Some)
}

/// `parent`: the name of a workspace, or nothing (as when left out).
fn read_parent<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    form::Optional(Text {
        expected: "`parent` names the partner workspace managing this one (e.g. \
                   `northwind-soc`), or is left out",
        rule: TextRule::Name,
    })
    .read(d)
}

/// One workspace: a customer tenant (or the partner's own).
#[derive(Clone, Debug, PartialEq, Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields)]
pub struct Workspace {
    #[serde(deserialize_with = "read_name")]
    pub name: String,
    #[serde(deserialize_with = "read_tenant_id")]
    pub tenant_id: String,
    /// The partner workspace managing this one, if any.
    #[serde(default, deserialize_with = "read_parent")]
    pub parent: Option<String>,
    pub subscription: Subscription,
    #[serde(default, deserialize_with = "read_modules")]
    pub modules: Vec<Module>,
    /// The Log Analytics workspaces whose Microsoft Sentinel incidents are this workspace's
    /// (a Sentinel incident names its tenant by the Log Analytics workspace it is in).
    #[serde(default, deserialize_with = "read_sentinel_workspaces")]
    pub sentinel_workspaces: Vec<String>,
    /// Defender XDR incidents are forwarded to Sentinel (and arrive through it instead).
    #[serde(default, deserialize_with = "read_fetch_to_sentinel")]
    pub fetch_to_sentinel: bool,
    /// Microsoft Defender partner consent granted at onboarding.
    #[serde(default, deserialize_with = "read_partner_consent")]
    pub partner_consent: bool,
    /// Keys of consented enterprise applications (`gamebooks-mde`, `gamebooks-identity`, …).
    #[serde(default, deserialize_with = "read_consented_applications")]
    pub consented_applications: Vec<String>,
    /// Of the applications with a `Consent for Partner` (Service Provider Mode), those the
    /// partner managing the workspace was granted; `None`: each one consented (onboarding
    /// clicks both).
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "read_consented_for_partner"
    )]
    pub consented_for_partner: Option<Vec<String>>,
    /// A signed-in (delegated) session is available for delegated-only actions.
    #[serde(default, deserialize_with = "read_delegated_session")]
    pub delegated_session: bool,
    /// The customer allows the service provider to run gamebooks in its tenant.
    #[serde(
        default = "yes",
        deserialize_with = "read_allow_service_provider_gamebooks"
    )]
    pub allow_service_provider_gamebooks: bool,
    #[serde(default, deserialize_with = "read_tags")]
    pub tags: Vec<String>,
    #[serde(default, deserialize_with = "read_protected_entities")]
    pub protected_entities: Vec<ProtectedEntity>,
    #[serde(deserialize_with = "read_agent")]
    pub agent: Agent,
    /// The tenant ids and Sentinel workspaces the workspaces of its file have, lowercase,
    /// shared by them all: neither a name nor a `*` tenant owns one of these (another
    /// workspace's tenant; see [`Workspace::owns_tenant`]).
    #[serde(skip)]
    pub claimed_tenants: std::sync::Arc<HashSet<String>>,
}

fn yes() -> bool {
    true
}

impl Workspace {
    /// Whether an incident or entity of `tenant` (a tenant id, Sentinel workspace or workspace
    /// name) belongs here: by the tenant id or a Sentinel workspace; else by the name, or a `*`
    /// tenant id, unless another workspace of the file has it as its tenant id or Sentinel
    /// workspace (a name never captures another tenant's incidents).
    pub fn owns_tenant(&self, tenant: &str) -> bool {
        self.tenant_id.eq_ignore_ascii_case(tenant)
            || self.has_sentinel_workspace(tenant)
            || ((self.tenant_id == "*" || same_ignoring_case(&self.name, tenant))
                && !self.claimed_elsewhere(tenant))
    }

    /// Whether a workspace of the file has `tenant` as its tenant id or a Sentinel workspace.
    fn claimed_elsewhere(&self, tenant: &str) -> bool {
        !self.claimed_tenants.is_empty() && self.claimed_tenants.contains(&tenant.to_lowercase())
    }

    /// Whether `name` is one of the Log Analytics workspaces its Sentinel incidents come from
    /// (Azure resource names ignore case).
    fn has_sentinel_workspace(&self, name: &str) -> bool {
        self.sentinel_workspaces
            .iter()
            .any(|s| same_ignoring_case(s, name))
    }

    /// Whether the workspace consented to `app`. The Riposte API application is consented to
    /// by every onboarding, listed or not.
    pub fn consented(&self, app: Application) -> bool {
        app == Application::Api
            || self
                .consented_applications
                .iter()
                .any(|a| a == app.as_str())
    }

    /// Whether the gamebooks of the partner managing this workspace may act through `app`:
    /// always in a workspace no partner manages, and through an application without a
    /// `Consent for Partner`; otherwise only once it was granted.
    pub fn partner_may_use(&self, app: Application) -> bool {
        self.parent.is_none()
            || !app.has_partner_consent()
            || self
                .consented_for_partner
                .as_ref()
                .is_none_or(|apps| apps.iter().any(|a| a == app.as_str()))
    }

    /// The built-in demo workspace: everything enabled and consented, automatic mode for
    /// every severity, every SOP of the library.
    pub fn demo() -> Workspace {
        let all = vec![
            Severity::Informational,
            Severity::Low,
            Severity::Medium,
            Severity::High,
        ];
        Workspace {
            name: "demo".into(),
            // The demo stands in for whichever tenant an incident comes from.
            tenant_id: "*".into(),
            parent: None,
            subscription: Subscription::Active,
            modules: Module::ALL.to_vec(),
            sentinel_workspaces: Vec::new(),
            fetch_to_sentinel: false,
            partner_consent: true,
            consented_applications: Application::ALL
                .iter()
                .map(|a| a.as_str().to_string())
                .collect(),
            consented_for_partner: None,
            delegated_session: true,
            allow_service_provider_gamebooks: true,
            tags: Vec::new(),
            protected_entities: Vec::new(),
            agent: Agent {
                mode: Mode::Automatic,
                process_incident: all.clone(),
                gamebooks: all,
                sops: SopSelection::All(AllKeyword::All),
            },
            claimed_tenants: Default::default(),
        }
    }

    /// The demo workspace for a library: also tagged with every workspace tag its SOPs route
    /// on, so that it runs every SOP of the library, as it stands in for any tenant.
    pub fn demo_for<'s>(
        sops: impl IntoIterator<Item = &'s riposte_dsl::checked::Sop>,
    ) -> Workspace {
        let mut tags: Vec<String> = sops
            .into_iter()
            .filter_map(|s| match &s.body {
                riposte_dsl::checked::SopBody::Response(r) => Some(&r.workspace_tags),
                riposte_dsl::checked::SopBody::Classification(_) => None,
            })
            .flatten()
            .map(|t| t.value.clone())
            .collect();
        tags.sort();
        tags.dedup();
        Workspace {
            tags,
            ..Workspace::demo()
        }
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct WorkspacesFile {
    #[serde(deserialize_with = "read_workspace_list")]
    workspaces: Vec<Workspace>,
}

/// The whole file, which is a mapping: anything else says what the file holds.
struct TopLevel(WorkspacesFile);

impl<'de> Deserialize<'de> for TopLevel {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let file = Mapping::<WorkspacesFile> {
            expected: "a workspaces file is a mapping with one key, `workspaces`, listing the \
                       workspaces",
            into: PhantomData,
        };
        file.read(d).map(TopLevel)
    }
}

/// A workspaces file that could not be read.
#[derive(Debug, thiserror::Error)]
pub enum WorkspaceError {
    #[error("cannot read `{path}`: {source}")]
    Io {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error("{path}:{line}:{column}: {message}")]
    Invalid {
        path: String,
        line: u32,
        column: u32,
        message: String,
    },
    #[error("{path}: {message}")]
    Inconsistent { path: String, message: String },
    /// Several errors of one file, in the order of the file, each an `Invalid` or an
    /// `Inconsistent` one; past the first [`MAX_REPORTED_ERRORS`], how many more there are.
    /// Shown one a line.
    #[error("{}", several(errors, path, *left_out))]
    Several {
        path: String,
        errors: Vec<WorkspaceError>,
        left_out: usize,
    },
}

/// Most errors of one workspaces file reported at once; a last line says how many more there
/// are.
pub const MAX_REPORTED_ERRORS: usize = 20;

impl WorkspaceError {
    /// The errors one by one: those of [`WorkspaceError::Several`], then one saying how many
    /// were left out, if any; any other error alone.
    pub fn into_each(self) -> Vec<WorkspaceError> {
        match self {
            WorkspaceError::Several {
                path,
                mut errors,
                left_out,
            } => {
                if left_out > 0 {
                    errors.push(WorkspaceError::Inconsistent {
                        message: left_out_message(left_out),
                        path,
                    });
                }
                errors
            }
            one => vec![one],
        }
    }
}

/// What the last line of [`WorkspaceError::Several`] says: how many errors were left out.
fn left_out_message(left_out: usize) -> String {
    let errors = if left_out == 1 { "error" } else { "errors" };
    format!("{left_out} more {errors} not shown (at most {MAX_REPORTED_ERRORS} are shown at once)")
}

/// [`WorkspaceError::Several`] shown one error a line.
fn several(errors: &[WorkspaceError], path: &str, left_out: usize) -> String {
    let mut lines: Vec<String> = errors.iter().map(ToString::to_string).collect();
    if left_out > 0 {
        lines.push(format!("{path}: {}", left_out_message(left_out)));
    }
    lines.join("\n")
}

/// Most protected entities one workspace may list. Every action is checked against each, so
/// the count bounds the work of a plan; a managed customer protects hundreds to a few thousand
/// entities, and tags and name patterns cover groups of them.
pub const MAX_PROTECTED_ENTITIES: usize = 10_000;

/// Most bytes a workspaces file may have.
const MAX_WORKSPACES_BYTES: u64 = 4 * 1024 * 1024;

/// Reads and validates a workspaces file.
pub fn read_workspaces(path: &Path) -> Result<Vec<Workspace>, WorkspaceError> {
    parse_workspaces(&path.display().to_string(), &read_text(path)?)
}

/// The text of workspaces file `path`, at most [`MAX_WORKSPACES_BYTES`] of UTF-8.
pub fn read_text(path: &Path) -> Result<String, WorkspaceError> {
    let name = path.display().to_string();
    let io = |source| WorkspaceError::Io {
        path: name.clone(),
        source,
    };
    let too_large = || WorkspaceError::Inconsistent {
        path: name.clone(),
        message: format!("the file is larger than {MAX_WORKSPACES_BYTES} bytes"),
    };
    if std::fs::metadata(path).map_err(io)?.len() > MAX_WORKSPACES_BYTES {
        return Err(too_large());
    }
    // Read one byte past the limit: what is not a regular file (a FIFO, `/dev/zero`) has no
    // length to check first.
    let mut bytes = Vec::new();
    std::fs::File::open(path)
        .map_err(io)?
        .take(MAX_WORKSPACES_BYTES + 1)
        .read_to_end(&mut bytes)
        .map_err(io)?;
    if bytes.len() as u64 > MAX_WORKSPACES_BYTES {
        return Err(too_large());
    }
    String::from_utf8(bytes).map_err(|e| {
        io(std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            format!("not UTF-8 text (byte {})", e.utf8_error().valid_up_to()),
        ))
    })
}

/// Whether `s` is a GUID as Entra writes tenant ids: 8-4-4-4-12 hexadecimal digits.
fn is_guid(s: &str) -> bool {
    let groups: Vec<&str> = s.split('-').collect();
    groups.len() == 5
        && groups
            .iter()
            .zip([8, 4, 4, 4, 12])
            .all(|(g, n)| g.len() == n && g.bytes().all(|b| b.is_ascii_hexdigit()))
}

/// Which of `n` workspaces are their own ancestors, each having at most one parent
/// (`parent_of`): the nodes on the cycles of the chains, found in one pass.
fn parent_cycles(n: usize, parent_of: impl Fn(usize) -> Option<usize>) -> Vec<bool> {
    // 0: not reached yet; 1: on the chain being walked; 2: decided.
    let mut state = vec![0u8; n];
    let mut on_cycle = vec![false; n];
    for start in 0..n {
        let mut chain = Vec::new();
        let mut at = Some(start);
        while let Some(i) = at.filter(|&i| state[i] == 0) {
            state[i] = 1;
            chain.push(i);
            at = parent_of(i);
        }
        // Back on the chain being walked: from there on, a cycle.
        if let Some(i) = at.filter(|&i| state[i] == 1) {
            if let Some(from) = chain.iter().position(|&c| c == i) {
                for &c in &chain[from..] {
                    on_cycle[c] = true;
                }
            }
        }
        for c in chain {
            state[c] = 2;
        }
    }
    on_cycle
}

/// How the file's YAML is read.
fn yaml_options() -> serde_saphyr::Options {
    let mut options = serde_saphyr::Options::default();
    riposte_dsl::syntax::as_written(&mut options);
    // Unquoted whole numbers are text where text is expected (`name: 0123`): kept as written.
    options.leading_zero_numbers_as_strings = true;
    options.underscored_numbers_as_strings = true;
    options
}

/// Where the values the checks after reading name are, read as the file itself was; `None`
/// when `text` does not have the shape (it changed since it was read).
fn spans_of(text: &str) -> Option<SpansFile> {
    serde_saphyr::from_str_with_options(text, yaml_options()).ok()
}

/// Parses and validates workspaces from YAML text. Every error is reported (up to
/// [`MAX_REPORTED_ERRORS`]), each where it is, in the order of the file.
pub fn parse_workspaces(name: &str, text: &str) -> Result<Vec<Workspace>, WorkspaceError> {
    let file = match serde_saphyr::from_str_with_options(text, yaml_options()) {
        Ok(TopLevel(file)) => file,
        Err(e) => {
            // A YAML syntax error is the file's first problem, wherever reading its values
            // stopped first (a mis-indented key ends a workspace early, which then lacks one).
            let mut syntax_only = yaml_options();
            syntax_only.duplicate_keys = serde_saphyr::options::DuplicateKeyPolicy::PassThrough;
            let syntax =
                serde_saphyr::from_str_with_options::<serde::de::IgnoredAny>(text, syntax_only)
                    .err();
            // What is not in the file (a document that is not a mapping) is at its start.
            let (at, mut message) = yaml_problem(syntax.as_ref().unwrap_or(&e));
            let blank = text
                .lines()
                .all(|l| l.trim().is_empty() || l.trim_start().starts_with('#'));
            if blank {
                message = "the file is empty: a workspaces file holds `workspaces:`, a list of \
                           workspaces (see examples/workspaces.yaml)"
                    .into();
            }
            // A tab in the indentation: the parser's error points elsewhere (at the scalar
            // before it), so it is shown where the tab is.
            let at = match riposte_dsl::syntax::tab_indentation(riposte_dsl::FileId(0), text) {
                Some(tab) if message.starts_with("a tab indents") => {
                    let before = &text[..tab.span.start as usize];
                    let line = before.matches('\n').count() + 1;
                    let column = before[before.rfind('\n').map_or(0, |i| i + 1)..]
                        .chars()
                        .count()
                        + 1;
                    u32::try_from(line).ok().zip(u32::try_from(column).ok())
                }
                _ => at,
            };
            let first = Problem {
                at: Some(at.filter(|&(line, _)| line > 0).unwrap_or((1, 1))),
                message,
            };
            // Each workspace read on its own tells its own first error, when it can.
            let mut problems = read_apart(text, &first).unwrap_or_else(|| vec![first]);
            placed_by_tree(text, &mut problems);
            return Err(
                report(name, problems).unwrap_or_else(|| WorkspaceError::Inconsistent {
                    path: name.to_string(),
                    message: "invalid workspaces file".into(),
                }),
            );
        }
    };
    // Where each value the checks name is: read again only when one fails, and once.
    let spans = OnceCell::new();
    let located = |i: usize| {
        let file = spans.get_or_init(|| spans_of(text)).as_ref()?;
        Some((file.workspaces.get(i)?, 0))
    };
    let mut problems = check(&file.workspaces, true, &located);
    if file.workspaces.is_empty() {
        problems.push(Problem {
            at: None,
            message: "the file defines no workspace".into(),
        });
    }
    match report(name, problems) {
        Some(error) => Err(error),
        None => {
            let mut workspaces = file.workspaces;
            let claimed: HashSet<String> = workspaces
                .iter()
                .flat_map(|w| std::iter::once(&w.tenant_id).chain(&w.sentinel_workspaces))
                .filter(|t| *t != "*")
                .map(|t| t.to_lowercase())
                .collect();
            let claimed = std::sync::Arc::new(claimed);
            // Applications by their keys as the catalog spells them (checked above).
            let canonical = |apps: &mut Vec<String>| {
                for app in apps.iter_mut() {
                    if let Some(a) = Application::parse(app) {
                        *app = a.as_str().to_string();
                    }
                }
            };
            for w in &mut workspaces {
                w.claimed_tenants = claimed.clone();
                canonical(&mut w.consented_applications);
                if let Some(apps) = &mut w.consented_for_partner {
                    canonical(apps);
                }
            }
            Ok(workspaces)
        }
    }
}

/// What a problem the reader words from inside a value needs the file's YAML tree for: a
/// missing key, which it places at the mapping's last key, and a value that is not text, which
/// it cannot tell is a list or a mapping.
fn needs_the_tree(p: &Problem) -> bool {
    p.message.starts_with("missing key `") || p.message.ends_with(form::LIST_OR_MAPPING)
}

/// Moves each missing-key problem to the start of the mapping that lacks the key (the `agent:`
/// of a workspace lacking `subscription` is where the reader places it), and says whether a
/// value found where text is expected is a list or a mapping. Left as they are when the text
/// cannot be read as YAML.
fn placed_by_tree(text: &str, problems: &mut [Problem]) {
    use riposte_dsl::syntax::Node;
    if !problems.iter().any(needs_the_tree) {
        return;
    }
    let Ok(root) = serde_saphyr::from_str_with_options::<Node>(text, yaml_options()) else {
        return;
    };
    // Line starts as byte offsets; columns count characters from 1.
    let starts: Vec<usize> = std::iter::once(0)
        .chain(text.match_indices('\n').map(|(i, _)| i + 1))
        .collect();
    let offset_of = |(line, column): (u32, u32)| -> Option<usize> {
        let start = *starts.get(usize::try_from(line).ok()?.checked_sub(1)?)?;
        let skip = usize::try_from(column).ok()?.checked_sub(1)?;
        let within = text[start..].char_indices().nth(skip).map_or(0, |(i, _)| i);
        Some(start + within)
    };
    let place_of = |offset: usize| -> Option<(u32, u32)> {
        let line = starts.partition_point(|&s| s <= offset);
        let start = starts[line.checked_sub(1)?];
        let column = text.get(start..offset)?.chars().count() + 1;
        Some((u32::try_from(line).ok()?, u32::try_from(column).ok()?))
    };
    for p in problems.iter_mut().filter(|p| needs_the_tree(p)) {
        let offset = p.at.and_then(offset_of);
        if let Some(kept) = p.message.strip_suffix(form::LIST_OR_MAPPING) {
            if let Some(found) = offset.and_then(|o| root.innermost_collection_at(o)) {
                p.message = format!("{kept}{}", found.type_name());
            }
            continue;
        }
        let moved = offset
            .and_then(|offset| root.innermost_mapping_at(offset))
            .and_then(|map| place_of(map.span.start as usize));
        if moved.is_some() {
            p.at = moved;
        }
    }
}

/// A problem of a workspaces file: where it is (line and column), when known, and what.
#[derive(Debug, PartialEq, Eq)]
struct Problem {
    at: Option<(u32, u32)>,
    message: String,
}

/// The error for the `problems` of file `path`, in the order of the file, those without a
/// place last; `None` without any.
fn report(path: &str, mut problems: Vec<Problem>) -> Option<WorkspaceError> {
    problems.sort_by_key(|p| p.at.map_or((1, 0, 0), |(line, column)| (0, line, column)));
    problems.dedup();
    let error = |p: Problem| match p.at {
        Some((line, column)) => WorkspaceError::Invalid {
            path: path.to_string(),
            line,
            column,
            message: p.message,
        },
        None => WorkspaceError::Inconsistent {
            path: path.to_string(),
            message: p.message,
        },
    };
    if problems.len() <= 1 {
        return problems.pop().map(error);
    }
    let left_out = problems.len().saturating_sub(MAX_REPORTED_ERRORS);
    problems.truncate(MAX_REPORTED_ERRORS);
    Some(WorkspaceError::Several {
        path: path.to_string(),
        errors: problems.into_iter().map(error).collect(),
        left_out,
    })
}

/// A YAML or shape error: where it is, as the parser says (line 0 when nowhere), and its
/// message, without that place.
fn yaml_problem(e: &serde_saphyr::Error) -> (Option<(u32, u32)>, String) {
    let at = e.location().map(|l| (l.line() as u32, l.column() as u32));
    let message = e.without_snippet().to_string();
    let message = message.lines().next().unwrap_or("invalid workspaces file");
    // The place is shown in front of the message.
    let message = match message.rfind(" at line ") {
        Some(at) => &message[..at],
        None => message,
    };
    let message = if message.contains("budget") {
        riposte_dsl::syntax::budget_message(message)
    } else if let Some(rest) = message.strip_prefix("duplicate mapping key: ") {
        let key = rest
            .split(", set DuplicateKeyPolicy")
            .next()
            .unwrap_or(rest);
        format!("`{key}` is given twice in this mapping: keep one")
    } else if message.starts_with("while parsing")
        || message.starts_with("did not find expected")
        || message.starts_with("mapping values are not allowed")
    {
        format!(
            "{message}: the usual causes are indentation (the keys of one mapping start at one \
             column) and unclosed quotes or brackets"
        )
    } else if message.starts_with("multiple YAML documents") {
        "the file holds more than one YAML document (a `---` line starts another): a workspaces \
         file is one document"
            .to_string()
    } else if message.starts_with("tabs disallowed") || message.contains("found a tab") {
        "a tab indents this line: YAML indents with spaces".to_string()
    } else if let Some(unknown) = unknown_field(message) {
        unknown
    } else if let Some(key) = message
        .strip_prefix("missing field `")
        .and_then(|rest| rest.strip_suffix('`'))
    {
        let what = match key {
            "subscription" => " (`active`, `trial` or `expired`)",
            "tenant_id" => " (the Entra tenant's GUID, or `*`)",
            "agent" => " (`{mode, process_incident, gamebooks, sops}`)",
            "workspaces" => " (a list of workspaces)",
            _ => "",
        };
        format!("missing key `{key}`{what}")
    } else {
        message.to_string()
    };
    (at, message)
}

/// The message for serde's ``unknown field `x`, expected one of a, b``: the closest key, or
/// what the file is when it is a gamebook or SOP.
fn unknown_field(message: &str) -> Option<String> {
    let rest = message.strip_prefix("unknown field `")?;
    let (field, rest) = rest.split_once('`')?;
    let expected: Vec<&str> = rest
        .strip_prefix(", expected one of ")
        .or_else(|| rest.strip_prefix(", expected "))?
        .split(", ")
        .map(|k| k.trim_matches('`'))
        .collect();
    if expected == ["workspaces"] && matches!(field, "kind" | "steps" | "gamebooks" | "type") {
        return Some(format!(
            "unknown key `{field}`: this looks like a gamebook or SOP, not a workspaces file, \
             which holds `workspaces:`, a list of workspaces (see examples/workspaces.yaml)"
        ));
    }
    let hint = match riposte_dsl::diagnostic::did_you_mean(field, expected.iter().copied()) {
        Some(best) => format!("did you mean `{best}`?"),
        None => format!(
            "the keys here are {}",
            riposte_dsl::diagnostic::ticked(expected)
        ),
    };
    Some(format!("unknown key `{field}`; {hint}"))
}

/// The checks after reading, every problem at the value it names. `spans(i)` is where the
/// values of workspace `i` are, with the lines of the file before the text they were read
/// from; `parents` checks the parents too, which needs every workspace of the file.
fn check<'s>(
    workspaces: &[Workspace],
    parents: bool,
    spans: &dyn Fn(usize) -> Option<(&'s WorkspaceSpans, u32)>,
) -> Vec<Problem> {
    let mut problems = Vec::new();
    let mut bad = |i: usize, message: String, at: &dyn Fn(&WorkspaceSpans) -> Option<Location>| {
        let at = spans(i).and_then(|(s, lines_before)| {
            let loc = at(s)?;
            Some((
                (loc.line() as u32).saturating_add(lines_before),
                loc.column() as u32,
            ))
        });
        problems.push(Problem { at, message });
    };
    // Names and tenant ids ignore case; each is looked up once, so a file of many workspaces
    // (or a long chain of parents) is checked in linear time.
    let key = canonical_name;
    let mut first_of_name: HashMap<String, usize> = HashMap::new();
    for (i, w) in workspaces.iter().enumerate() {
        first_of_name.entry(key(&w.name)).or_insert(i);
    }
    let parent_of = |i: usize| {
        workspaces[i]
            .parent
            .as_ref()
            .and_then(|p| first_of_name.get(&key(p)).copied())
    };
    let on_cycle = parent_cycles(workspaces.len(), parent_of);
    let mut seen_names: HashMap<String, usize> = HashMap::new();
    let mut seen_tenants: HashMap<String, usize> = HashMap::new();
    let mut sentinel_owner: HashMap<String, usize> = HashMap::new();
    let mut unknown_parents = 0;
    for (i, w) in workspaces.iter().enumerate() {
        if let Some(o) = seen_names.get(&key(&w.name)).map(|&j| &workspaces[j]) {
            bad(
                i,
                format!(
                    "workspace `{}` is defined twice{}: give each workspace its own name, or \
                     merge the two",
                    w.name,
                    if o.name == w.name {
                        String::new()
                    } else {
                        format!(" (first as `{}`: names match ignoring case)", o.name)
                    }
                ),
                &|s| Some(s.name.referenced),
            );
        }
        seen_names.entry(key(&w.name)).or_insert(i);
        // A tenant id belongs to one workspace, or incidents of that tenant would silently go
        // to the first; so does `*`, which stands in for any tenant.
        if let Some(o) = seen_tenants
            .get(&key(&w.tenant_id))
            .map(|&j| &workspaces[j])
        {
            bad(
                i,
                format!(
                    "workspaces `{}` and `{}` have the same tenant id `{}`; a tenant belongs to \
                     one workspace",
                    o.name, w.name, w.tenant_id
                ),
                &|s| Some(s.tenant_id.referenced),
            );
        }
        seen_tenants.entry(key(&w.tenant_id)).or_insert(i);
        if w.tenant_id != "*" && !is_guid(&w.tenant_id) {
            bad(
                i,
                format!(
                    "workspace `{}` has tenant id `{}`, which is not a tenant id: write the Entra \
                     tenant's GUID (`xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx`), or `*` for a \
                     workspace that stands in for any tenant",
                    w.name,
                    riposte_dsl::diagnostic::clip(&w.tenant_id, 80)
                ),
                &|s| Some(s.tenant_id.referenced),
            );
        }
        match &w.parent {
            // A workspace that is its own ancestor has no partner.
            Some(_) if parents && on_cycle[i] => bad(
                i,
                format!(
                    "workspace `{}` is its own parent, directly or through others; a chain of \
                     parents ends at the partner's workspace",
                    w.name
                ),
                &|s| s.parent.as_ref().map(|p| p.referenced),
            ),
            Some(parent) if parents && !first_of_name.contains_key(&key(parent)) => {
                // The nearest name is looked for among all of them: only for the errors that
                // can be shown, or a file of many would take quadratic time.
                unknown_parents += 1;
                let hint = if unknown_parents <= MAX_REPORTED_ERRORS {
                    // Other workspaces, each name once: a workspace cannot be its own parent.
                    let mut names: Vec<&str> = workspaces
                        .iter()
                        .filter(|o| !same_ignoring_case(&o.name, &w.name))
                        .map(|o| o.name.as_str())
                        .collect();
                    names.sort_unstable();
                    names.dedup();
                    riposte_dsl::diagnostic::suggestion(parent, names)
                } else {
                    "a parent is a workspace of the file".to_string()
                };
                bad(
                    i,
                    format!(
                        "workspace `{}` names unknown parent `{parent}`; {hint}",
                        w.name
                    ),
                    &|s| s.parent.as_ref().map(|p| p.referenced),
                );
            }
            _ => {}
        }
        if w.protected_entities.len() > MAX_PROTECTED_ENTITIES {
            bad(
                i,
                format!(
                    "workspace `{}` lists {} protected entities; at most {MAX_PROTECTED_ENTITIES} \
                     are allowed per workspace: protect groups of entities by tag (`{{tag: \
                     …}}`) or by a name pattern (`{{name: \"srv-*\"}}`)",
                    w.name,
                    w.protected_entities.len()
                ),
                &|s| Some(s.name.referenced),
            );
        }
        for (j, app) in w.consented_applications.iter().enumerate() {
            if Application::parse(app).is_none() {
                let known = Application::ALL.iter().map(|a| a.as_str());
                bad(
                    i,
                    format!(
                        "workspace `{}` consents unknown application `{app}`; {}",
                        w.name,
                        riposte_dsl::diagnostic::suggestion(app, known)
                    ),
                    &|s| s.consented_applications.get(j).map(|a| a.referenced),
                );
            }
        }
        for (j, app) in w.consented_for_partner.iter().flatten().enumerate() {
            if let Some(problem) = partner_consent_problem(w, app) {
                bad(i, problem, &|s| {
                    s.consented_for_partner.get(j).map(|a| a.referenced)
                });
            }
        }
        for (list, j, item) in repeated_items(w) {
            bad(
                i,
                format!(
                    "workspace `{}` lists {item} twice in `{list}`; list it once",
                    w.name
                ),
                &|s| item_location(s, list, j),
            );
        }
        // A Log Analytics workspace's incidents belong to one workspace.
        for (j, law) in w.sentinel_workspaces.iter().enumerate() {
            let first = *sentinel_owner.entry(key(law)).or_insert(i);
            if first != i
                || w.sentinel_workspaces[..j]
                    .iter()
                    .any(|o| key(o) == key(law))
            {
                let message = if first == i {
                    format!(
                        "workspace `{}` lists Sentinel workspace `{law}` twice",
                        w.name
                    )
                } else {
                    format!(
                        "workspaces `{}` and `{}` both list Sentinel workspace `{law}`; its \
                         incidents belong to one workspace",
                        workspaces[first].name, w.name
                    )
                };
                bad(i, message, &|s| {
                    s.sentinel_workspaces.get(j).map(|a| a.referenced)
                });
            }
        }
    }
    problems
}

/// The items of a workspace's lists (but `sentinel_workspaces`, checked against every
/// workspace's) that repeat an earlier item of their list, as the list's key, the item's index
/// and the item as written: a repeat changes nothing, so it is most likely a slip
/// (`[high, high]` for `[high, medium]`). Applications and name patterns ignore case, as they
/// are matched.
fn repeated_items(w: &Workspace) -> Vec<(&'static str, usize, String)> {
    // Each item as compared, and as shown.
    let exact = |items: &[String]| -> Vec<(String, String)> {
        items.iter().map(|i| (i.clone(), i.clone())).collect()
    };
    let any_case = |items: &[String]| -> Vec<(String, String)> {
        items
            .iter()
            .map(|i| (i.to_lowercase(), i.clone()))
            .collect()
    };
    let named = |names: Vec<&str>| -> Vec<(String, String)> {
        names
            .into_iter()
            .map(|n| (n.to_string(), n.to_string()))
            .collect()
    };
    let rules = w.protected_entities.iter().map(|r| match r {
        ProtectedEntity::Id(id) => (format!("id {id}"), format!("{{id: {id}}}")),
        ProtectedEntity::Name(name) => (
            format!("name {}", name.to_lowercase()),
            format!("{{name: \"{name}\"}}"),
        ),
        ProtectedEntity::Tag(tag) => (format!("tag {tag}"), format!("{{tag: {tag}}}")),
    });
    let severities = |list: &[Severity]| named(list.iter().map(|s| s.as_str()).collect());
    let sops = match &w.agent.sops {
        SopSelection::Named(names) => exact(names),
        SopSelection::All(_) => Vec::new(),
    };
    let lists: [(&'static str, Vec<(String, String)>); 8] = [
        (
            "modules",
            named(w.modules.iter().map(|m| m.as_str()).collect()),
        ),
        (
            "consented_applications",
            any_case(&w.consented_applications),
        ),
        (
            "consented_for_partner",
            any_case(w.consented_for_partner.as_deref().unwrap_or_default()),
        ),
        ("tags", exact(&w.tags)),
        ("protected_entities", rules.collect()),
        (
            "agent.process_incident",
            severities(&w.agent.process_incident),
        ),
        ("agent.gamebooks", severities(&w.agent.gamebooks)),
        ("agent.sops", sops),
    ];
    let mut repeats = Vec::new();
    for (list, items) in lists {
        let mut seen = HashSet::new();
        for (j, (compared, shown)) in items.into_iter().enumerate() {
            if !seen.insert(compared) {
                let shown = riposte_dsl::diagnostic::clip(&shown, 80);
                repeats.push((list, j, format!("`{shown}`")));
            }
        }
    }
    repeats
}

/// Where item `j` of the list [`repeated_items`] names is written.
fn item_location(s: &WorkspaceSpans, list: &str, j: usize) -> Option<Location> {
    let agent = s.agent.as_ref();
    let at = |items: Option<&Vec<Spanned<serde::de::IgnoredAny>>>| {
        items.and_then(|items| items.get(j)).map(|a| a.referenced)
    };
    match list {
        "modules" => at(Some(&s.modules)),
        "consented_applications" => s.consented_applications.get(j).map(|a| a.referenced),
        "consented_for_partner" => s.consented_for_partner.get(j).map(|a| a.referenced),
        "tags" => at(Some(&s.tags)),
        "protected_entities" => at(Some(&s.protected_entities)),
        "agent.process_incident" => at(agent.map(|a| &a.process_incident)),
        "agent.gamebooks" => at(agent.map(|a| &a.gamebooks)),
        "agent.sops" => agent.and_then(|a| a.sops.get(j)).map(|a| a.referenced),
        _ => None,
    }
}

/// After reading the whole file failed: each workspace read on its own, so that each one that
/// cannot be read gives its first error, and those read are checked as far as they can be
/// without the others. `None` when the file is not cut into workspaces ([`pieces`]), or when
/// reading them apart does not give `first`, the whole file's error, first: only that one is
/// certain then.
fn read_apart(text: &str, first: &Problem) -> Option<Vec<Problem>> {
    let pieces = pieces(text)?;
    let mut options = yaml_options();
    options.with_snippet = false;
    let mut problems = Vec::new();
    let (mut read, mut workspaces) = (Vec::new(), Vec::new());
    for (i, piece) in pieces.iter().enumerate() {
        match serde_saphyr::from_str_with_options::<Vec<OneWorkspace>>(piece.text, options.clone())
        {
            Ok(mut one) => {
                let OneWorkspace(w) = one.pop().filter(|_| one.is_empty())?;
                read.push(i);
                workspaces.push(w);
            }
            Err(e) => problems.push(piece.problem(&e)?),
        }
    }
    // Read apart, the workspaces give the whole file's error first, or they are not read as
    // the file is.
    if problems.first() != Some(first) {
        return None;
    }
    // The positions in each workspace read, each read once when a check first needs it.
    let spans: Vec<OnceCell<Option<WorkspaceSpans>>> =
        read.iter().map(|_| OnceCell::new()).collect();
    let located = |j: usize| {
        let piece = pieces.get(*read.get(j)?)?;
        let s = spans.get(j)?.get_or_init(|| {
            let mut one: Vec<WorkspaceSpans> =
                serde_saphyr::from_str_with_options(piece.text, yaml_options()).ok()?;
            one.pop().filter(|_| one.is_empty())
        });
        Some((s.as_ref()?, piece.lines_before))
    };
    // Parents are left unchecked: one may be a workspace that could not be read, or name one
    // that could not be read as well as one that could.
    problems.extend(check(&workspaces, false, &located));
    Some(problems)
}

/// One workspace, read on its own as the items of `workspaces` are.
struct OneWorkspace(Workspace);

impl<'de> Deserialize<'de> for OneWorkspace {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        WORKSPACE.read(d).map(OneWorkspace)
    }
}

/// Where the workspaces of a file are, without reading them.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Outline {
    workspaces: Vec<Spanned<serde::de::IgnoredAny>>,
}

/// The text of one workspace of a file, to be read apart from the others: its lines as they
/// are in the file, from the `-` before it, a list of that workspace alone.
struct Piece<'t> {
    text: &'t str,
    /// The lines of the file before the workspace's first.
    lines_before: u32,
    /// The column the workspace starts at.
    column: u32,
}

impl Piece<'_> {
    /// The error reading the piece gave, where it is in the file; `None` when its place is
    /// not in the workspace's text (the end of the text, as for an empty workspace).
    fn problem(&self, e: &serde_saphyr::Error) -> Option<Problem> {
        let (at, message) = yaml_problem(e);
        let (line, column) = at?;
        let text = self
            .text
            .trim_end()
            .split('\n')
            .nth(usize::try_from(line).ok()?.checked_sub(1)?)?;
        // At most just past the end of a line (`key:` has nothing after it).
        let end = text.trim_end_matches('\r').chars().count() + 1;
        if (line == 1 && column < self.column) || usize::try_from(column).ok()? > end {
            return None;
        }
        Some(Problem {
            at: Some((line.checked_add(self.lines_before)?, column)),
            message,
        })
    }
}

/// The workspaces of the file `text`, cut apart, when it is a mapping of `workspaces` alone to
/// a block list whose items each start on their own line, after the `-`, with no alias (which
/// may take a value from another workspace) and no directive (`%TAG`, which applies to all).
/// `None` for anything else (flow style, an item on the line after its `-`, …): only the whole
/// file can be read then.
fn pieces(text: &str) -> Option<Vec<Piece<'_>>> {
    let mut options = yaml_options();
    options.with_snippet = false;
    let mut budget = options.budget.clone().unwrap_or_default();
    budget.max_aliases = 0;
    options.budget = Some(budget);
    // A key given twice in a workspace is that workspace's error: reading it tells.
    options.duplicate_keys = serde_saphyr::options::DuplicateKeyPolicy::PassThrough;
    let outline: Outline = serde_saphyr::from_str_with_options(text, options).ok()?;
    // Each workspace's start, and the start of its line.
    let mut starts = Vec::with_capacity(outline.workspaces.len());
    for w in &outline.workspaces {
        let start = usize::try_from(w.referenced.span().byte_offset()?).ok()?;
        let line_start = text.get(..start)?.rfind('\n').map_or(0, |n| n + 1);
        starts.push((start, line_start));
    }
    let &(_, first_line) = starts.first()?;
    if text.get(..first_line)?.lines().any(|l| l.starts_with('%')) {
        return None;
    }
    let mut pieces = Vec::with_capacity(starts.len());
    // The lines of the file before `counted`.
    let (mut counted, mut lines) = (0, 0u32);
    for (i, (w, &(start, line_start))) in outline.workspaces.iter().zip(&starts).enumerate() {
        // Only `-` and spaces before the workspace on its line.
        let lead = text.get(line_start..start)?;
        let dash = lead.trim_end_matches([' ', '\t']);
        if dash.len() == lead.len()
            || !dash
                .strip_suffix('-')
                .is_some_and(|d| d.bytes().all(|b| b == b' '))
        {
            return None;
        }
        // Each workspace ends where the line of the next begins: on a later line.
        let end = match starts.get(i + 1) {
            Some(&(_, next_line)) if next_line > start => next_line,
            Some(_) => return None,
            None => text.len(),
        };
        lines = lines.checked_add(
            u32::try_from(text.get(counted..line_start)?.matches('\n').count()).ok()?,
        )?;
        counted = line_start;
        // Lines and columns counted as the parser counts them.
        let column = u32::try_from(lead.chars().count() + 1).ok()?;
        if w.referenced.line() != u64::from(lines) + 1 || w.referenced.column() != u64::from(column)
        {
            return None;
        }
        pieces.push(Piece {
            text: text.get(line_start..end)?,
            lines_before: lines,
            column,
        });
    }
    Some(pieces)
}

/// What is wrong with `app` in workspace `w`'s `consented_for_partner`, if anything.
fn partner_consent_problem(w: &Workspace, app: &str) -> Option<String> {
    let with_partner_consent = || {
        Application::ALL
            .iter()
            .filter(|a| a.has_partner_consent())
            .map(|a| a.as_str())
    };
    match Application::parse(app) {
        None => Some(format!(
            "workspace `{}` consents unknown application `{app}` for its partner; {}",
            w.name,
            riposte_dsl::diagnostic::suggestion(app, with_partner_consent())
        )),
        Some(a) if !a.has_partner_consent() => {
            let with: Vec<String> = with_partner_consent().map(|a| format!("`{a}`")).collect();
            Some(format!(
                "application `{app}` has no `Consent for Partner`: only {} does; its consent in \
                 `consented_applications` serves the partner too",
                with.join(", ")
            ))
        }
        // Without a partner the list decides nothing, so it contradicts nothing.
        Some(a)
            if w.parent.is_some()
                && !w
                    .consented_applications
                    .iter()
                    .any(|c| Application::parse(c) == Some(a)) =>
        {
            Some(format!(
                "workspace `{}` consents `{app}` for its partner but not for itself: add it to \
                 `consented_applications` (onboarding grants `Consent` with `Consent for \
                 Partner`)",
                w.name
            ))
        }
        Some(_) => None,
    }
}

/// The positions of the values [`parse_workspaces`] checks against each other.
#[derive(Deserialize)]
struct SpansFile {
    workspaces: Vec<WorkspaceSpans>,
}

#[derive(Clone, Deserialize)]
struct WorkspaceSpans {
    name: Spanned<String>,
    tenant_id: Spanned<String>,
    #[serde(default)]
    parent: Option<Spanned<String>>,
    #[serde(default)]
    modules: Vec<Spanned<serde::de::IgnoredAny>>,
    #[serde(default)]
    consented_applications: Vec<Spanned<String>>,
    #[serde(default)]
    consented_for_partner: Vec<Spanned<String>>,
    #[serde(default)]
    sentinel_workspaces: Vec<Spanned<String>>,
    #[serde(default)]
    tags: Vec<Spanned<serde::de::IgnoredAny>>,
    #[serde(default)]
    protected_entities: Vec<Spanned<serde::de::IgnoredAny>>,
    #[serde(default)]
    agent: Option<AgentSpans>,
}

#[derive(Clone, Deserialize)]
struct AgentSpans {
    #[serde(default)]
    process_incident: Vec<Spanned<serde::de::IgnoredAny>>,
    #[serde(default)]
    gamebooks: Vec<Spanned<serde::de::IgnoredAny>>,
    #[serde(default, deserialize_with = "sop_name_spans")]
    sops: Vec<Spanned<String>>,
}

/// The names of `sops: [...]`, each where it is written; none for `sops: all`.
fn sop_name_spans<'de, D: serde::Deserializer<'de>>(
    d: D,
) -> Result<Vec<Spanned<String>>, D::Error> {
    struct Names;
    impl<'de> serde::de::Visitor<'de> for Names {
        type Value = Vec<Spanned<String>>;
        fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
            f.write_str(SOPS)
        }
        fn visit_str<E: serde::de::Error>(self, _: &str) -> Result<Self::Value, E> {
            Ok(Vec::new())
        }
        fn visit_seq<A: serde::de::SeqAccess<'de>>(
            self,
            mut seq: A,
        ) -> Result<Self::Value, A::Error> {
            let mut names = Vec::new();
            while let Some(name) = seq.next_element()? {
                names.push(name);
            }
            Ok(names)
        }
    }
    d.deserialize_any(Names)
}

/// Every SOP an agent names that `sops` (the names of the library's SOPs) lacks, in the order
/// of the file, as errors: a misspelt name would otherwise leave the agent silently running
/// fewer SOPs.
pub fn check_sops<'s>(
    workspaces: &[Workspace],
    sops: impl Iterator<Item = &'s str> + Clone,
) -> Result<(), Vec<UnknownSop>> {
    let mut known: Vec<&str> = sops.collect();
    known.sort_unstable();
    known.dedup();
    let mut unknown = Vec::new();
    for (workspace, w) in workspaces.iter().enumerate() {
        let SopSelection::Named(names) = &w.agent.sops else {
            continue;
        };
        for (item, name) in names.iter().enumerate() {
            if known.binary_search(&name.as_str()).is_ok() {
                continue;
            }
            // `[all]` is a SOP named `all`; the keyword is written without brackets. The
            // nearest name is looked for only for the errors that can be shown: over every
            // name of the library for each of thousands, it would take minutes.
            let help = if name.eq_ignore_ascii_case("all") {
                "to run every SOP, write `sops: all`, without brackets".to_string()
            } else if unknown.len() < MAX_REPORTED_ERRORS {
                riposte_dsl::diagnostic::suggestion(name, known.iter().copied())
            } else {
                "an agent runs SOPs of the library".to_string()
            };
            unknown.push(UnknownSop {
                workspace,
                item,
                name: name.clone(),
                message: format!(
                    "workspace `{}`: its agent runs SOP `{name}`, which the library does not \
                     have",
                    w.name,
                ),
                help,
            });
        }
    }
    if unknown.is_empty() {
        Ok(())
    } else {
        Err(unknown)
    }
}

/// An agent that names a SOP the library does not have ([`check_sops`]). Its message has no
/// position: the workspaces were read before the library, and the file's text is not kept for
/// an error that seldom happens; [`locate_unknown_sops`] finds where the name is written.
#[derive(Debug, thiserror::Error)]
#[error("{message}; {help}")]
pub struct UnknownSop {
    /// The workspace, by its index in the file, and the name, by its index in `sops`.
    workspace: usize,
    item: usize,
    name: String,
    message: String,
    /// What to do: the nearest name, or what to write.
    pub help: String,
}

/// The errors of [`check_sops`] at the SOP names in the workspaces file `path` the workspaces
/// were read from, which is read again to find them: one error, or
/// [`WorkspaceError::Several`].
pub fn locate_unknown_sops(unknown: Vec<UnknownSop>, path: &Path) -> WorkspaceError {
    let file = path.display().to_string();
    match read_text(path) {
        Ok(text) => locate_unknown_sops_in(unknown, &file, &text),
        // Gone or changed since: the errors without their positions.
        Err(_) => several_of(
            &file,
            unknown
                .into_iter()
                .map(|u| WorkspaceError::Inconsistent {
                    path: file.clone(),
                    message: u.message,
                })
                .collect(),
        ),
    }
}

/// [`locate_unknown_sops`] in `text`, the workspaces file `file` was read from.
pub fn locate_unknown_sops_in(unknown: Vec<UnknownSop>, file: &str, text: &str) -> WorkspaceError {
    let spans = spans_of(text);
    several_of(
        file,
        unknown
            .into_iter()
            .map(|u| u.at(spans.as_ref(), file))
            .collect(),
    )
}

/// `errors` as one: the only one, or [`WorkspaceError::Several`] of at most
/// [`MAX_REPORTED_ERRORS`].
fn several_of(path: &str, mut errors: Vec<WorkspaceError>) -> WorkspaceError {
    if errors.len() == 1 {
        if let Some(one) = errors.pop() {
            return one;
        }
    }
    let left_out = errors.len().saturating_sub(MAX_REPORTED_ERRORS);
    errors.truncate(MAX_REPORTED_ERRORS);
    WorkspaceError::Several {
        path: path.to_string(),
        errors,
        left_out,
    }
}

impl UnknownSop {
    /// The error at the SOP's name in `text`, the workspaces file `file` was read from.
    pub fn in_text(self, file: &str, text: &str) -> WorkspaceError {
        self.at(spans_of(text).as_ref(), file)
    }

    /// The error at the SOP's name, where `spans` (of the file `file`) has it.
    fn at(self, spans: Option<&SpansFile>, file: &str) -> WorkspaceError {
        let message = self.to_string();
        match self.place(spans) {
            Some((line, column, _)) => WorkspaceError::Invalid {
                path: file.to_string(),
                line,
                column,
                message,
            },
            None => WorkspaceError::Inconsistent {
                path: file.to_string(),
                message,
            },
        }
    }

    /// The line, column and byte offset of the SOP's name, where `spans` has it.
    fn place(&self, spans: Option<&SpansFile>) -> Option<(u32, u32, usize)> {
        let name = spans?
            .workspaces
            .get(self.workspace)?
            .agent
            .as_ref()?
            .sops
            .get(self.item)?;
        // Another name there: the text is not the one the workspaces were read from.
        if name.value != self.name {
            return None;
        }
        let loc = name.referenced;
        let offset = usize::try_from(loc.span().byte_offset()?).ok()?;
        Some((loc.line() as u32, loc.column() as u32, offset))
    }

    /// The message, without what to do ([`UnknownSop::help`]).
    pub fn message(&self) -> &str {
        &self.message
    }

    /// The SOP name as written.
    pub fn name(&self) -> &str {
        &self.name
    }
}

/// Where each of `unknown` is written in `text`, the workspaces file they were read from: the
/// byte offset of the name, if found.
pub fn unknown_sop_offsets(unknown: &[UnknownSop], text: &str) -> Vec<Option<usize>> {
    let spans = spans_of(text);
    unknown
        .iter()
        .map(|u| u.place(spans.as_ref()).map(|(_, _, offset)| offset))
        .collect()
}

/// No workspace fits an incident.
#[derive(Debug, thiserror::Error)]
pub enum SelectError {
    /// `hint`: the closest name, or every name.
    #[error("no workspace named `{name}`; {hint}")]
    Unknown { name: String, hint: String },
    #[error(
        "no workspace has tenant id or Sentinel workspace `{tenant}`; add it to a workspace's \
         `tenant_id` or `sentinel_workspaces`, or pass `--workspace NAME` (the workspaces are: \
         {known})"
    )]
    NoTenant { tenant: String, known: String },
    #[error(
        "the incident names no tenant and there are several workspaces; pass `--workspace NAME` \
         (the workspaces are: {known})"
    )]
    Ambiguous { known: String },
}

/// The names of `workspaces`, for errors.
pub(crate) fn names(workspaces: &[Workspace]) -> String {
    workspaces
        .iter()
        .map(|w| format!("`{}`", w.name))
        .collect::<Vec<_>>()
        .join(", ")
}

/// The workspace to plan an incident in: the named one, else the one with the incident's
/// tenant id, else the only one.
pub fn select<'w>(
    workspaces: &'w [Workspace],
    name: Option<&str>,
    tenant: Option<&str>,
) -> Result<&'w Workspace, SelectError> {
    if let Some(name) = name {
        return workspaces
            .iter()
            .find(|w| same_ignoring_case(&w.name, name))
            .ok_or_else(|| {
                let all = workspaces.iter().map(|w| w.name.as_str());
                SelectError::Unknown {
                    name: name.to_string(),
                    hint: match riposte_dsl::diagnostic::did_you_mean(name, all) {
                        Some(best) => format!("did you mean `{best}`?"),
                        None => format!("the workspaces are: {}", names(workspaces)),
                    },
                }
            });
    }
    if let [only] = workspaces {
        return Ok(only);
    }
    match tenant {
        // The workspace whose tenant id this is wins over one listing it as a Sentinel
        // workspace (a Sentinel incident's tenant is its Log Analytics workspace's name), then
        // one of that name, then a `*` one, wherever each is listed: a name cannot capture
        // another tenant's incidents.
        Some(t) => workspaces
            .iter()
            .find(|w| w.tenant_id.eq_ignore_ascii_case(t))
            .or_else(|| workspaces.iter().find(|w| w.has_sentinel_workspace(t)))
            .or_else(|| {
                workspaces
                    .iter()
                    .find(|w| w.tenant_id != "*" && w.owns_tenant(t))
            })
            .or_else(|| workspaces.iter().find(|w| w.owns_tenant(t)))
            .ok_or_else(|| SelectError::NoTenant {
                tenant: crate::plan::text::printable(t).into_owned(),
                known: names(workspaces),
            }),
        None => Err(SelectError::Ambiguous {
            known: names(workspaces),
        }),
    }
}

/// `*` and `?` glob match, ignoring case (for protected entity names): `?` is one character.
///
/// Names come from incident data, so matching is linear in the name for the usual patterns,
/// whatever its length: the pieces between `*`s are found in order, each at its first place
/// (which is where a match, if any, can put it), by a substring search. A piece holding `?` is
/// tried place by place; past a budget of steps (a megabyte of name against such a piece) the
/// name counts as matching: protection errs on the side of not acting.
pub fn glob_match(pattern: &str, text: &str) -> bool {
    let mut work = u64::MAX;
    glob_match_within(pattern, &GlobName::new(text), &mut work).unwrap_or(true)
}

/// The form of a workspace name that names are compared by: lowercase, as
/// [`same_ignoring_case`] compares them (`Contoso` and `CONTOSO` are `contoso`). Idempotency
/// keys are built from it, so that how a file spells a name does not change them.
pub fn canonical_name(name: &str) -> String {
    let mut canonical = String::new();
    lower_into(name, &mut canonical);
    canonical
}

/// Whether two identifiers are equal ignoring case, ASCII or not.
pub fn same_ignoring_case(a: &str, b: &str) -> bool {
    a.eq_ignore_ascii_case(b)
        || (!(a.is_ascii() && b.is_ascii())
            && a.chars()
                .flat_map(char::to_lowercase)
                .eq(b.chars().flat_map(char::to_lowercase)))
}

/// A name to match against many patterns (see [`glob_match_within`]): lowercased once,
/// character by character, and wholly where that differs (`İ` is `i` and a combining dot).
pub struct GlobName {
    lower: String,
    whole: Option<String>,
}

impl GlobName {
    pub fn new(name: &str) -> GlobName {
        let mut lower = String::new();
        lower_glob_into(name, &mut lower);
        // ASCII lowercases one way only: no second form to build for the usual name.
        let whole = (!name.is_ascii()).then(|| {
            let mut whole = String::new();
            lower_into(name, &mut whole);
            whole
        });
        GlobName {
            whole: whole.filter(|w| *w != lower),
            lower,
        }
    }
}

/// Lowercases `s` into `into`: `Ü` is `ü`.
fn lower_into(s: &str, into: &mut String) {
    into.clear();
    if s.is_ascii() {
        into.push_str(s);
        into.make_ascii_lowercase();
    } else {
        into.extend(s.chars().flat_map(char::to_lowercase));
    }
}

/// Lowercases `s` into `into` character by character, for globs, whose `?` is one character
/// of the name as written: a character whose lowercase is several (`İ`, `i` and a combining
/// dot) is kept as it is.
fn lower_glob_into(s: &str, into: &mut String) {
    if s.is_ascii() {
        return lower_into(s, into);
    }
    into.clear();
    into.extend(s.chars().map(|c| {
        let mut lower = c.to_lowercase();
        match (lower.next(), lower.next()) {
            (Some(one), None) => one,
            _ => c,
        }
    }));
}

/// Units of work a match of one pattern costs besides the bytes it reads (see
/// [`glob_match_within`]).
pub const GLOB_STEP: u64 = 16;

/// Takes a step of protection work and `bytes` more from `work`; `None`, with `work` at 0,
/// when there is not that much left.
pub fn spend_glob_work(work: &mut u64, bytes: usize) -> Option<()> {
    match work.checked_sub(GLOB_STEP.saturating_add(bytes as u64)) {
        Some(left) => {
            *work = left;
            Some(())
        }
        None => {
            *work = 0;
            None
        }
    }
}

/// [`glob_match`] of `pattern` against a name lowercased once, spending `work`: [`GLOB_STEP`]
/// and the pattern's bytes, then for each search between `*`s a step and each byte of the name
/// it reads. `None` when the work
/// runs out first (and then `work` is 0): the caller bounds many matches together (a plan
/// checks every protection rule for every action) and decides what an unchecked rule means.
pub fn glob_match_within(pattern: &str, name: &GlobName, work: &mut u64) -> Option<bool> {
    spend_glob_work(work, pattern.len())?;
    // Patterns are most often lowercase ASCII already, and names lowercase one way only:
    // matched in place.
    if name.whole.is_none()
        && pattern.is_ascii()
        && !pattern.bytes().any(|b| b.is_ascii_uppercase())
    {
        return glob_in(pattern, &name.lower, work);
    }
    thread_local! {
        static PATTERN: std::cell::RefCell<String> = const { std::cell::RefCell::new(String::new()) };
    }
    let matches = |p: &mut String, work: &mut u64| {
        lower_glob_into(pattern, p);
        if glob_in(p, &name.lower, work)? {
            return Some(true);
        }
        // Lowercased wholly too, where that differs: a pattern written `i̇stanbul-*` (`i`
        // and a combining dot) protects `İstanbul-DC`, as ids and tags compare.
        let lowered_apart = name.whole.is_some() || !pattern.is_ascii();
        if !lowered_apart {
            return Some(false);
        }
        lower_into(pattern, p);
        glob_in(p, name.whole.as_deref().unwrap_or(&name.lower), work)
    };
    PATTERN.with(|cell| match cell.try_borrow_mut() {
        Ok(mut p) => matches(&mut p, work),
        Err(_) => matches(&mut String::new(), work),
    })
}

/// [`glob`], spending `work` on the bytes its substring searches read; `None` when it runs
/// out (and then `work` is 0).
fn glob_in(p: &str, t: &str, work: &mut u64) -> Option<bool> {
    // Split without allocating: the first piece, those between `*`s, and the last.
    let Some((before_last, last)) = p.rsplit_once('*') else {
        // No `*`: the whole name, `?` one character each.
        return Some(fits(p, t) == Some(t.len()));
    };
    let mut pieces = before_last.split('*');
    // `split` yields at least one piece.
    let first = pieces.next().unwrap_or_default();
    let middle = pieces;
    let Some(mut at) = fits(first, t) else {
        return Some(false);
    };
    let mut budget: u32 = 4_000_000;
    for piece in middle.filter(|p| !p.is_empty()) {
        let before = budget;
        let found = find(piece, t, at, &mut budget);
        // What the search read: up to where it found the piece, else the rest of the name;
        // place by place for a piece holding `?`, as its own budget counts it.
        let read = match found {
            Found::At(end) if !piece.contains('?') => end - at,
            Found::Nowhere if !piece.contains('?') => t.len() - at,
            _ => usize::try_from(before - budget).unwrap_or(usize::MAX),
        };
        // Each search costs a step besides what it reads.
        spend_glob_work(work, read)?;
        match found {
            Found::At(end) => at = end,
            Found::Nowhere => return Some(false),
            Found::OutOfBudget => return Some(true),
        }
    }
    // The last piece ends the name, after what the others took.
    let chars = last.chars().count();
    Some(
        match t[at..].char_indices().rev().nth(chars.wrapping_sub(1)) {
            _ if chars == 0 => true,
            Some((start, _)) => fits(last, &t[at + start..]) == Some(t.len() - at - start),
            None => false,
        },
    )
}

/// Where a `*`-free piece matches at the start of `t`: its end (a byte offset), `?` taking
/// one character.
fn fits(piece: &str, t: &str) -> Option<usize> {
    let mut end = 0;
    let mut text = t.chars();
    for want in piece.chars() {
        let got = text.next()?;
        if want != '?' && want != got {
            return None;
        }
        end += got.len_utf8();
    }
    Some(end)
}

enum Found {
    /// The end of the piece's first place (a byte offset of `t`).
    At(usize),
    Nowhere,
    OutOfBudget,
}

/// The first place of `piece` in `t` from byte `from`.
fn find(piece: &str, t: &str, from: usize, budget: &mut u32) -> Found {
    let rest = &t[from..];
    // What a piece matches is at least as long as it is (a `?` is a character: one byte or
    // more), so a longer one is nowhere, without setting up a search of its length.
    if piece.len() > rest.len() {
        return Found::Nowhere;
    }
    if let [b] = piece.as_bytes() {
        // One byte (ASCII, not `?`): looked for as such, without a searcher to set up.
        if *b != b'?' {
            return rest
                .bytes()
                .position(|c| c == *b)
                .map_or(Found::Nowhere, |i| Found::At(from + i + 1));
        }
    }
    if !piece.contains('?') {
        // A substring search: linear in the name.
        return rest
            .find(piece)
            .map_or(Found::Nowhere, |i| Found::At(from + i + piece.len()));
    }
    for (i, _) in rest.char_indices() {
        *budget = match budget.checked_sub(piece.len() as u32 + 1) {
            Some(b) => b,
            None => return Found::OutOfBudget,
        };
        if let Some(end) = fits(piece, &rest[i..]) {
            return Found::At(from + i + end);
        }
    }
    Found::Nowhere
}

#[cfg(test)]
mod tests {
    use super::parent_cycles;

    /// Only the workspaces on a cycle are their own ancestors, not those whose chain runs into
    /// one; a chain of thousands is walked once.
    #[test]
    fn parent_cycles_are_the_nodes_on_them() {
        // 0 → 1 → 2 → 1 (a tail into a cycle), 3 → 3, 4 → none.
        let parents = [Some(1), Some(2), Some(1), Some(3), None];
        assert_eq!(
            parent_cycles(5, |i| parents[i]),
            [false, true, true, true, false]
        );
        let n = 100_000;
        let chain = parent_cycles(n, |i| i.checked_sub(1));
        assert!(chain.iter().all(|c| !c));
    }

    use super::*;

    #[test]
    fn globs() {
        assert!(glob_match("dc-*", "DC-01"));
        assert!(glob_match("*-sql-prod*", "eu-sql-prod-2"));
        assert!(glob_match("srv-??", "srv-01"));
        assert!(!glob_match("dc-*", "adc-01"));
        assert!(glob_match("*", ""));
        assert!(glob_match("DC-01", "dc-01"));
        assert!(!glob_match("dc-01", "dc-011"));
        assert!(glob_match("*", "anything"));
        assert!(glob_match("*a*b*c", "xaybzc"));
        assert!(!glob_match("*a*b*c", "xcybza"));
        assert!(glob_match("a*a", "aa"));
        assert!(!glob_match("a*a", "a"));
        assert!(glob_match("*?x", "yx"));
        assert!(!glob_match("?", ""));
        // Over a long name, an exact answer in linear time: a megabyte of padding neither hides
        // a name from a rule nor makes it look protected.
        let long = "a".repeat(2_000_000);
        let pattern = format!("*{}b", "a".repeat(5_000));
        assert!(!glob_match(&pattern, &long));
        assert!(!glob_match(&format!("*{}b*", "a".repeat(5_000)), &long));
        assert!(!glob_match("*-backup-vault", &format!("evil-{long}")));
        assert!(glob_match(
            "*-backup-vault",
            &format!("srv-{long}-backup-vault")
        ));
        assert!(!glob_match("*b", &long[..1000]));
        // A piece with `?` is tried place by place, within a budget.
        assert!(glob_match(&format!("*a?{}b*", "a".repeat(100)), &long));
        // Beyond ASCII: case ignored, `?` one character.
        assert!(glob_match("j?rgen@*", "jürgen@contoso.com"));
        assert!(glob_match("JÜRGEN@*", "jürgen@contoso.com"));
        assert!(!glob_match("j?rgen@*", "jüergen@contoso.com"));
        // `?` is one character as written, even one whose lowercase is two (`İ`).
        assert!(glob_match("?stanbul-dc", "İstanbul-DC"));
        assert!(glob_match("İ*", "İzmir"));
        // And lowercased wholly, as ids and tags compare: `i` and a combining dot is `İ`.
        assert!(glob_match("i\u{307}stanbul-*", "İstanbul-DC"));
        assert!(!glob_match("istanbul-*", "İstanbul-DC"));
        // However the pattern is cased.
        assert!(glob_match("i*", "İzmir-DC") && glob_match("I*", "İzmir-DC"));
        assert!(glob_match("i?zmir-dc", "İzmir-DC") && glob_match("I?ZMIR-DC", "İzmir-DC"));
        let mut work = u64::MAX;
        assert_eq!(
            glob_match_within("dc-?", &GlobName::new("DC-İ"), &mut work),
            Some(true)
        );
        assert!(same_ignoring_case("ÉLODIE", "élodie"));
        assert!(!same_ignoring_case("élodie", "elodie"));
    }

    /// A workspace lists at most `MAX_PROTECTED_ENTITIES` protected entities: more is an error
    /// naming the file, the workspace and the limit.
    #[test]
    fn protected_entities_are_bounded() {
        let file = |n: usize| {
            let mut t = String::from(
                "workspaces:\n  - name: a\n    tenant_id: aaaaaaaa-0000-4000-8000-000000000001\n    \
                 subscription: active\n    agent: {mode: automatic, process_incident: [high], \
                 gamebooks: [high], sops: all}\n    protected_entities:\n",
            );
            for i in 0..n {
                t.push_str(&format!("      - {{name: \"srv-{i}-*\"}}\n"));
            }
            t
        };
        let ws = parse_workspaces("w.yaml", &file(MAX_PROTECTED_ENTITIES)).unwrap();
        assert_eq!(ws[0].protected_entities.len(), MAX_PROTECTED_ENTITIES);
        let msg = parse_workspaces("w.yaml", &file(MAX_PROTECTED_ENTITIES + 1))
            .unwrap_err()
            .to_string();
        assert!(msg.starts_with("w.yaml:2:"), "{msg}");
        assert!(
            msg.contains("workspace `a` lists 10001 protected entities; at most 10000"),
            "{msg}"
        );
    }

    /// Matching against a name lowercased once gives what `glob_match` gives, spending work on
    /// the pattern and the bytes searched; when the work runs out it says so, with none left.
    #[test]
    fn glob_work_is_counted() {
        let cases = [
            ("dc-*", "DC-01"),
            ("*-sql-prod*", "eu-sql-prod-2"),
            ("*-SQL-prod*", "eu-sql-prod-2"),
            ("srv-??", "srv-01"),
            ("*a*b*c", "xxaxxbxxc"),
            ("*a*b*c", "xxaxxbxxd"),
            ("*z*", "xxaxxbxxc"),
            ("Ü*", "über"),
        ];
        for (p, t) in cases {
            let mut work = 1_000;
            let got = glob_match_within(p, &GlobName::new(t), &mut work);
            assert_eq!(got, Some(glob_match(p, t)), "{p} {t}");
            assert!(work <= 1_000 - GLOB_STEP - p.len() as u64, "{p} {t}");
        }
        // A search through a long name spends its bytes.
        let long = GlobName::new(&"a".repeat(10_000));
        let mut work = 100_000;
        assert_eq!(glob_match_within("*b*", &long, &mut work), Some(false));
        assert!(work <= 100_000 - 10_000);
        let mut work = 5_000;
        assert_eq!(glob_match_within("*b*", &long, &mut work), None);
        assert_eq!(work, 0);
        assert_eq!(glob_match_within("a*", &long, &mut work), None);
    }

    #[test]
    fn the_example_file_parses() {
        let text = include_str!("../../examples/workspaces.yaml");
        let ws = parse_workspaces("examples/workspaces.yaml", text).unwrap();
        assert!(ws.len() >= 3);
        assert!(ws.iter().any(|w| w.parent.is_none()));
        assert!(ws
            .iter()
            .any(|w| w.consented_applications == ["gamebooks-identity"]));
    }

    /// The example file with `from` (which it must hold) replaced by `to`.
    /// Each edit of the example file (`from` → `to`) with the error it gives, for a snapshot.
    fn errors_of(cases: &[(&str, &str)]) -> String {
        let mut shown = String::new();
        for (from, to) in cases {
            let msg = parse_workspaces("w.yaml", &example_with(from, to))
                .unwrap_err()
                .to_string();
            shown.push_str(&format!("{to}\n  {msg}\n"));
        }
        shown
    }

    fn example_with(from: &str, to: &str) -> String {
        let text = include_str!("../../examples/workspaces.yaml");
        assert!(text.contains(from), "the example holds `{from}`");
        text.replacen(from, to, 1)
    }

    /// A value of the wrong kind is an error naming its key, where it is, and what to write
    /// there, never the deserializer's own wording.
    #[test]
    fn values_of_the_wrong_kind_say_what_to_write() {
        let cases = [
            ("sops: all", "sops: foo"),
            ("sops: all", "sops: {all: true}"),
            ("sops: all", "sops: [ransomware-containment, [a]]"),
            ("      - tag: crown-jewel", "      - {}"),
            ("      - tag: crown-jewel", "      - {tag: x, name: y}"),
            ("      - tag: crown-jewel", "      - {nam: x}"),
            ("      - tag: crown-jewel", "      - crown-jewel"),
            ("      - tag: crown-jewel", "      - {tag: [x]}"),
            (
                "      - tag: crown-jewel",
                "      - tag:\n          crown: jewel",
            ),
            ("      - tag: crown-jewel", "      - {id: }"),
            (
                "    protected_entities:\n      - name: \"dc-*\"\n      - tag: crown-jewel\n",
                "    protected_entities: {name: \"dc-*\"}\n",
            ),
            (
                "process_incident: [high, medium, low]",
                "process_incident: high",
            ),
            ("gamebooks: [high, medium, low]", "gamebooks: {high: true}"),
            (
                "process_incident: [high, medium, low]",
                "process_incident: [high, [low]]",
            ),
            ("mode: autonomous", "mode: [manual]"),
            ("mode: autonomous", "mode: 5"),
            ("mode: autonomous", "mode: autonomus"),
            ("subscription: trial", "subscription: {trial: true}"),
            (
                "modules: [defender_xdr, crowdstrike]",
                "modules: defender_xdr",
            ),
            (
                "modules: [defender_xdr, crowdstrike]",
                "modules: [defender_xdr, [sentinel]]",
            ),
            (
                "consented_applications: [gamebooks-identity]",
                "consented_applications: mde",
            ),
            ("tags: [managed-xdr]", "tags: managed-xdr"),
            ("fetch_to_sentinel: false", "fetch_to_sentinel: no"),
            ("partner_consent: true", "partner_consent: [true]"),
            ("partner_consent: true", "partner_consent: \"True\""),
            ("delegated_session: false", "delegated_session: 0"),
            (
                "allow_service_provider_gamebooks: true",
                "allow_service_provider_gamebooks:",
            ),
            (
                "tenant_id: 2f4a9c1e-7b3d-4e8f-9a6b-5c0d1e2f3a4b",
                "tenant_id: [x]",
            ),
            (
                "    agent:\n      mode: manual",
                "    agent: manual\n    old_agent:\n      mode: manual",
            ),
            ("  - name: fabrikam", "  - fabrikam\n  - name: fabrikam"),
            ("workspaces:\n", "workspaces: northwind-soc\nold:\n"),
        ];
        let mut shown = errors_of(&cases);
        let msg = parse_workspaces("w.yaml", "- name: a\n")
            .unwrap_err()
            .to_string();
        shown.push_str(&format!("- name: a (the whole file)\n  {msg}\n"));
        insta::assert_snapshot!(shown);
    }

    /// `sops: all` ignores case, as the other enum values of the file do.
    #[test]
    fn sops_all_ignores_case() {
        for all in ["All", "ALL", "all"] {
            let text = example_with("sops: all", &format!("sops: {all}"));
            let ws = parse_workspaces("w.yaml", &text).unwrap();
            assert_eq!(
                ws[0].agent.sops,
                SopSelection::All(AllKeyword::All),
                "{all}"
            );
        }
        let text = example_with(
            "process_incident: [high, medium]",
            "process_incident: [HIGH]",
        );
        let ws = parse_workspaces("w.yaml", &text).unwrap();
        assert_eq!(ws[2].agent.process_incident, [Severity::High]);
    }

    /// Application keys ignore case, as the enum values of the file do, and are kept as the
    /// catalog spells them: consented, and consented for the partner.
    #[test]
    fn application_keys_ignore_case() {
        let text = example_with(
            "consented_applications: [mde, gamebooks-mde, gamebooks-identity, gamebooks-email, crowdstrike-response]\n    consented_for_partner: [gamebooks-mde]",
            "consented_applications: [MDE, Gamebooks-MDE, gamebooks-identity, gamebooks-email, crowdstrike-response]\n    consented_for_partner: [GAMEBOOKS-mde]",
        );
        let ws = parse_workspaces("w.yaml", &text).unwrap();
        assert_eq!(ws[1].consented_applications[..2], ["mde", "gamebooks-mde"]);
        assert!(ws[1].consented(Application::GamebooksMde));
        assert_eq!(
            ws[1].consented_for_partner.as_deref(),
            Some(&["gamebooks-mde".to_string()][..])
        );
        assert!(ws[1].partner_may_use(Application::GamebooksMde));
    }

    /// An item listed twice in one list is an error where the repeat is written (a slip for
    /// another item, most likely), applications and name patterns ignoring case as they are
    /// matched; the same item in two workspaces' lists is not.
    #[test]
    fn an_item_listed_twice_is_an_error_where_it_is() {
        let text = example_with(
            "modules: [defender_xdr, sentinel]",
            "modules: [defender_xdr, sentinel, Sentinel]",
        )
        .replacen(
            "      - tag: crown-jewel\n",
            "      - tag: crown-jewel\n      - name: \"DC-*\"\n",
            1,
        )
        .replacen(
            "consented_applications: [gamebooks-identity]",
            "consented_applications: [gamebooks-identity, Gamebooks-Identity]",
            1,
        )
        .replacen(
            "gamebooks: [high, medium]\n      sops: [identity-compromise,",
            "gamebooks: [high, medium, high]\n      sops: [identity-compromise, identity-compromise,",
            1,
        );
        let e = parse_workspaces("w.yaml", &text).unwrap_err().to_string();
        let expected = [
            "w.yaml:8:39: workspace `northwind-soc` lists `sentinel` twice in `modules`; list it once",
            "w.yaml:35:9: workspace `contoso` lists `{name: \"DC-*\"}` twice in `protected_entities`; list it once",
            "w.yaml:49:50: workspace `fabrikam` lists `Gamebooks-Identity` twice in `consented_applications`; list it once",
            "w.yaml:56:33: workspace `fabrikam` lists `high` twice in `agent.gamebooks`; list it once",
            "w.yaml:57:35: workspace `fabrikam` lists `identity-compromise` twice in `agent.sops`; list it once",
        ];
        for line in expected {
            assert!(e.contains(line), "{line}\nin\n{e}");
        }
        assert_eq!(e.matches("twice").count(), expected.len(), "{e}");
    }

    /// A workspace's name is required and is text without spaces at either end or control
    /// characters; other names and ids are not blank either. Each error says where.
    #[test]
    fn names_are_not_blank() {
        let cases = [
            ("name: contoso", "name: \"\""),
            ("name: contoso", "name: \"   \""),
            ("name: contoso", "name:"),
            ("name: contoso", "name: \" contoso\""),
            ("name: contoso", "name: \"con\\ttoso\""),
            (
                "tenant_id: b3c1b5fc-828c-45fa-a1e1-10d74f6d6e9c",
                "tenant_id: \" \"",
            ),
            ("parent: northwind-soc", "parent: \"\""),
            ("parent: northwind-soc", "parent: \" northwind-soc\""),
            (
                "sops: [identity-compromise, phishing-campaign",
                "sops: [identity-compromise, \"  \", phishing-campaign",
            ),
            ("tags: [managed-xdr]", "tags: [\"\"]"),
            (
                "consented_applications: [gamebooks-identity]",
                "consented_applications: [\"\"]",
            ),
            ("      - tag: crown-jewel", "      - tag: \" \""),
            ("      - name: \"dc-*\"", "      - name: \"\""),
        ];
        let shown = errors_of(&cases);
        insta::assert_snapshot!(shown);
        // A parent may still be left empty, as if left out; a number is a name as written.
        let text = example_with("parent: northwind-soc", "parent:");
        assert_eq!(parse_workspaces("w.yaml", &text).unwrap()[1].parent, None);
        let text = example_with("name: contoso", "name: 0123");
        assert_eq!(parse_workspaces("w.yaml", &text).unwrap()[1].name, "0123");
        let text = example_with("name: contoso", "name: 42");
        assert_eq!(parse_workspaces("w.yaml", &text).unwrap()[1].name, "42");
    }

    #[test]
    fn errors_say_where() {
        let err =
            parse_workspaces("w.yaml", "workspaces:\n  - name: a\n    tenant: x\n").unwrap_err();
        let msg = err.to_string();
        assert!(msg.starts_with("w.yaml:3:"), "{msg}");
        let err = parse_workspaces("w.yaml", "workspaces: []\n").unwrap_err();
        assert!(err.to_string().contains("no workspace"));
        // Values that contradict each other are found where they are written.
        let one = |name: &str, tenant: &str, extra: &str| {
            let tenant = match tenant {
                "t1" => "aaaaaaaa-0000-4000-8000-000000000001",
                "T1" => "AAAAAAAA-0000-4000-8000-000000000001",
                "t2" => "aaaaaaaa-0000-4000-8000-000000000002",
                other => other,
            };
            format!(
                "  - name: {name}\n    tenant_id: {tenant}\n    subscription: active\n{extra}    agent: {{mode: manual, process_incident: [], gamebooks: [], sops: all}}\n"
            )
        };
        for (text, at, says) in [
            (
                format!("workspaces:\n{}{}", one("a", "t1", ""), one("a", "t2", "")),
                "w.yaml:6:11: ",
                "workspace `a` is defined twice",
            ),
            (
                format!("workspaces:\n{}{}", one("a", "t1", ""), one("b", "T1", "")),
                "w.yaml:7:16: ",
                "have the same tenant id",
            ),
            (
                format!("workspaces:\n{}", one("b", "contoso.onmicrosoft.com", "")),
                "w.yaml:3:16: ",
                "has tenant id `contoso.onmicrosoft.com`, which is not a tenant id",
            ),
            (
                format!("workspaces:\n{}", one("b", "t1", "    parent: zz\n")),
                "w.yaml:5:13: ",
                "names unknown parent `zz`",
            ),
            (
                format!("workspaces:\n{}", one("b", "t1", "    parent: b\n")),
                "w.yaml:5:13: ",
                "workspace `b` is its own parent",
            ),
            (
                format!(
                    "workspaces:\n{}{}",
                    one("a", "t1", "    parent: b\n"),
                    one("b", "t2", "    parent: a\n")
                ),
                "w.yaml:5:13: ",
                "workspace `a` is its own parent, directly or through others",
            ),
            (
                format!(
                    "workspaces:\n{}{}",
                    one("a", "\"*\"", ""),
                    one("b", "\"*\"", "")
                ),
                "w.yaml:7:16: ",
                "have the same tenant id `*`",
            ),
            (
                format!(
                    "workspaces:\n{}",
                    one("b", "t1", "    consented_applications: [mde, mdee]\n")
                ),
                "w.yaml:5:35: ",
                "unknown application `mdee`; did you mean `mde`?",
            ),
            (
                format!(
                    "workspaces:\n{}{}",
                    one("p", "t1", ""),
                    one("c", "t2", "    parent: p\n    consented_applications: [gamebooks-identity]\n    consented_for_partner: [gamebooks-identity]\n")
                ),
                "w.yaml:11:29: ",
                "application `gamebooks-identity` has no `Consent for Partner`: only `gamebooks-mde` does",
            ),
            (
                format!(
                    "workspaces:\n{}{}",
                    one("p", "t1", ""),
                    one("c", "t2", "    parent: p\n    consented_for_partner: [gamebooks-mdee]\n")
                ),
                "w.yaml:10:29: ",
                "consents unknown application `gamebooks-mdee` for its partner; did you mean `gamebooks-mde`?",
            ),
            (
                format!(
                    "workspaces:\n{}{}",
                    one("p", "t1", ""),
                    one("c", "t2", "    parent: p\n    consented_for_partner: [gamebooks-mde]\n")
                ),
                "w.yaml:10:29: ",
                "consents `gamebooks-mde` for its partner but not for itself",
            ),
        ] {
            let msg = parse_workspaces("w.yaml", &text).unwrap_err().to_string();
            assert!(msg.starts_with(at) && msg.contains(says), "{msg}\n{text}");
        }
    }

    #[test]
    fn a_tenant_goes_to_its_own_workspace_before_a_catch_all_one() {
        let named = |name: &str, tenant: &str| Workspace {
            name: name.into(),
            tenant_id: tenant.into(),
            ..Workspace::demo()
        };
        let all = [
            named("any", "*"),
            named("contoso", "T-1"),
            named("fabrikam", "t-2"),
        ];
        let pick = |tenant: Option<&str>| select(&all, None, tenant).map(|w| w.name.clone());
        assert_eq!(pick(Some("t-1")).unwrap(), "contoso");
        assert_eq!(pick(Some("T-2")).unwrap(), "fabrikam");
        assert_eq!(pick(Some("t-3")).unwrap(), "any");
        let err = select(&all[1..], None, Some("t-3"))
            .unwrap_err()
            .to_string();
        assert!(err.contains("`contoso`, `fabrikam`"), "{err}");
        let err = select(&all, None, None).unwrap_err().to_string();
        assert!(err.contains("the workspaces are: `any`"), "{err}");
        // Names ignore case, as Azure resource names (a Sentinel workspace's) do.
        assert_eq!(pick(Some("Fabrikam")).unwrap(), "fabrikam");
        let by_name = select(&all, Some("CONTOSO"), None).map(|w| w.name.clone());
        assert_eq!(by_name.unwrap(), "contoso");
        // A workspace named as another's tenant id does not capture that tenant's incidents.
        let squatter = [named("t-2", "t-9"), named("fabrikam", "t-2")];
        let picked = select(&squatter, None, Some("t-2")).map(|w| w.name.clone());
        assert_eq!(picked.unwrap(), "fabrikam");
        let err = parse_workspaces(
            "w.yaml",
            &["a", "A"]
                .iter()
                .zip([
                    "aaaaaaaa-0000-4000-8000-000000000001",
                    "aaaaaaaa-0000-4000-8000-000000000002",
                ])
                .fold("workspaces:\n".to_string(), |doc, (name, tenant)| {
                    doc + &format!(
                        "  - {{name: {name}, tenant_id: {tenant}, subscription: active, agent: {{mode: manual, process_incident: [], gamebooks: [], sops: all}}}}\n"
                    )
                }),
        )
        .unwrap_err()
        .to_string();
        assert!(
            err.contains(
                "workspace `A` is defined twice (first as `a`: names match ignoring case): give \
                 each workspace its own name, or merge the two"
            ),
            "{err}"
        );
    }

    /// A Sentinel incident names its tenant by its Log Analytics workspace: the workspace that
    /// lists it gets the incident, before one of that name; one workspace each.
    #[test]
    fn a_sentinel_workspace_routes_its_incidents() {
        let mut contoso = Workspace {
            name: "contoso".into(),
            tenant_id: "t-1".into(),
            ..Workspace::demo()
        };
        contoso.sentinel_workspaces = vec!["law-contoso-prod".into(), "law-contoso-dev".into()];
        let all = [
            contoso,
            Workspace {
                name: "law-contoso-dev".into(),
                tenant_id: "t-2".into(),
                ..Workspace::demo()
            },
        ];
        let pick = |tenant: &str| select(&all, None, Some(tenant)).map(|w| w.name.clone());
        assert_eq!(pick("LAW-Contoso-Prod").unwrap(), "contoso");
        assert_eq!(pick("law-contoso-dev").unwrap(), "contoso");
        assert!(all[0].owns_tenant("law-contoso-prod") && !all[1].owns_tenant("law-contoso-prod"));
        let err = pick("law-fabrikam").unwrap_err().to_string();
        assert!(
            err.starts_with(
                "no workspace has tenant id or Sentinel workspace `law-fabrikam`; add it to a \
                 workspace's `tenant_id` or `sentinel_workspaces`"
            ),
            "{err}"
        );
        let file = |second: &str| {
            format!(
                "workspaces:\n  - name: a\n    tenant_id: aaaaaaaa-0000-4000-8000-000000000001\n    subscription: active\n    sentinel_workspaces: [law-a, law-b]\n    agent: {{mode: manual, process_incident: [], gamebooks: [], sops: all}}\n  - name: b\n    tenant_id: aaaaaaaa-0000-4000-8000-000000000002\n    subscription: active\n    sentinel_workspaces: {second}\n    agent: {{mode: manual, process_incident: [], gamebooks: [], sops: all}}\n"
            )
        };
        let ws = parse_workspaces("w.yaml", &file("[law-c]")).unwrap();
        assert_eq!(ws[0].sentinel_workspaces, ["law-a", "law-b"]);
        let err = parse_workspaces("w.yaml", &file("[law-c, LAW-B]"))
            .unwrap_err()
            .to_string();
        assert_eq!(
            err,
            "w.yaml:10:34: workspaces `a` and `b` both list Sentinel workspace `LAW-B`; its \
             incidents belong to one workspace"
        );
        let err = parse_workspaces("w.yaml", &file("[law-c, law-c]"))
            .unwrap_err()
            .to_string();
        assert_eq!(
            err,
            "w.yaml:10:34: workspace `b` lists Sentinel workspace `law-c` twice"
        );
        let err = parse_workspaces("w.yaml", &file("law-c"))
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("`sentinel_workspaces` is a list of Log Analytics workspace names"),
            "{err}"
        );
    }

    /// An agent's SOP the library does not have is an error at the name, line and column, with
    /// the closest name the library has.
    #[test]
    fn an_unknown_sop_is_named_where_it_is_written() {
        let library = [
            "identity-compromise",
            "phishing-campaign",
            "ransomware-containment",
            "email-identity-triage",
            "defender-xdr-triage",
        ];
        let text = example_with(
            "sops: [identity-compromise, phishing-campaign",
            "sops: [identity-compromise, phishing-campaing",
        );
        let ws = parse_workspaces("w.yaml", &text).unwrap();
        let [unknown] =
            <[UnknownSop; 1]>::try_from(check_sops(&ws, library.iter().copied()).unwrap_err())
                .unwrap();
        let message = "workspace `fabrikam`: its agent runs SOP `phishing-campaing`, which the \
                       library does not have; did you mean `phishing-campaign`?";
        assert_eq!(unknown.to_string(), message);
        let line = text
            .lines()
            .position(|l| l.contains("phishing-campaing"))
            .unwrap();
        let column = text
            .lines()
            .nth(line)
            .unwrap()
            .find("phishing-campaing")
            .unwrap();
        assert_eq!(
            unknown.in_text("w.yaml", &text).to_string(),
            format!("w.yaml:{}:{}: {message}", line + 1, column + 1)
        );
        // Text that is not the one read (changed since): the error without a position.
        let other = example_with(
            "sops: [identity-compromise, phishing-campaign",
            "sops: [x, y",
        );
        let [unknown] =
            <[UnknownSop; 1]>::try_from(check_sops(&ws, library.iter().copied()).unwrap_err())
                .unwrap();
        assert_eq!(
            unknown.in_text("w.yaml", &other).to_string(),
            format!("w.yaml: {message}")
        );
        // `all` and the names the library has pass.
        let ws =
            parse_workspaces("w.yaml", include_str!("../../examples/workspaces.yaml")).unwrap();
        assert!(check_sops(&ws, library.iter().copied()).is_ok());
    }

    /// Every unknown SOP of every agent is reported, in the order of the file; `[all]` is
    /// told to be the keyword.
    #[test]
    fn every_unknown_sop_is_reported() {
        let text = example_with(
            "sops: [identity-compromise, phishing-campaign",
            "sops: [all, identity-compromise, phishing-campaing",
        )
        .replacen("sops: all", "sops: [Identity-Compromise]", 1);
        let ws = parse_workspaces("w.yaml", &text).unwrap();
        let library = [
            "identity-compromise",
            "phishing-campaign",
            "email-identity-triage",
            "defender-xdr-triage",
        ];
        let messages: Vec<String> = check_sops(&ws, library.iter().copied())
            .unwrap_err()
            .iter()
            .map(ToString::to_string)
            .collect();
        assert_eq!(messages.len(), 3, "{messages:#?}");
        assert!(messages[0].contains("SOP `Identity-Compromise`, which the library does not have; did you mean `identity-compromise`?"), "{}", messages[0]);
        assert!(messages[1].ends_with("SOP `all`, which the library does not have; to run every SOP, write `sops: all`, without brackets"), "{}", messages[1]);
        assert!(
            messages[2].contains("`phishing-campaing`"),
            "{}",
            messages[2]
        );
    }

    /// The nearest name of an unknown parent is looked for only for the errors that can be
    /// shown: over every workspace name for each of thousands, it would take minutes.
    #[test]
    fn unknown_parents_past_those_shown_are_not_matched_against_every_name() {
        let workspaces: Vec<Workspace> = (0..MAX_REPORTED_ERRORS + 5)
            .map(|i| Workspace {
                name: format!("w{i}"),
                tenant_id: format!("aaaaaaaa-0000-4000-8000-{i:012}"),
                parent: Some(format!("w{i}x")),
                ..Workspace::demo()
            })
            .collect();
        let problems = check(&workspaces, true, &|_| None);
        assert_eq!(problems.len(), MAX_REPORTED_ERRORS + 5);
        assert!(problems[MAX_REPORTED_ERRORS - 1]
            .message
            .contains("did you mean"));
        assert!(problems[MAX_REPORTED_ERRORS]
            .message
            .ends_with("; a parent is a workspace of the file"));
    }

    /// A workspace of the file, with `extra` lines (indented by four spaces) after its tenant id.
    fn one(name: &str, tenant: u32, extra: &str) -> String {
        format!(
            "  - name: {name}\n    tenant_id: aaaaaaaa-0000-4000-8000-{tenant:012}\n{extra}    \
             subscription: active\n    agent: {{mode: manual, process_incident: [high], \
             gamebooks: [high], sops: all}}\n"
        )
    }

    /// The error of workspaces file `text`, as shown.
    fn errors(text: &str) -> String {
        parse_workspaces("w.yaml", text).unwrap_err().to_string()
    }

    /// A workspace lacking a key is reported where it starts, also when it is the file's only
    /// error and its last key is lines further (the reader names that key's line).
    #[test]
    fn a_missing_key_is_reported_where_the_workspace_starts() {
        let text = format!(
            "workspaces:\n{}{}",
            one("a", 1, ""),
            one("b", 2, "").replace("    subscription: active\n", "")
        );
        assert_eq!(
            errors(&text),
            "w.yaml:6:5: missing key `subscription` (`active`, `trial` or `expired`)"
        );
    }

    /// A tab indenting a line is reported at the tab, not at the scalar before it.
    #[test]
    fn a_tab_in_the_indentation_is_reported_where_it_is() {
        let text = "workspaces:\n  - name: a\n\ttenant_id: \"*\"\n";
        assert_eq!(
            errors(text),
            "w.yaml:3:1: a tab indents this line: YAML indents with spaces"
        );
    }

    /// Each of `edits` of the example file (each on another workspace, none adding lines)
    /// gives one error alone; all made at once, the file gives each of them, in its order.
    #[test]
    fn the_errors_of_several_workspaces_are_those_each_gives_alone() {
        let example = include_str!("../../examples/workspaces.yaml");
        let edits = [
            ("partner_consent: true", "partner_consent: [true]"),
            ("mode: autonomous", "mode: autonomus"),
            ("subscription: trial", "subscription: {trial: true}"),
        ];
        let mut all = example.to_string();
        let mut alone = Vec::new();
        for (from, to) in edits {
            alone.push(errors(&example.replacen(from, to, 1)));
            all = all.replacen(from, to, 1);
        }
        let says = [
            ":22: `partner_consent` is `true` or `false`; found a list",
            ":13: unknown agent mode `autonomus`; did you mean `autonomous`?",
            ":19: `subscription` is one of `active`, `trial`, `expired`; found a mapping",
        ];
        for (alone, says) in alone.iter().zip(says) {
            assert!(
                alone.starts_with("w.yaml:") && alone.ends_with(says) && !alone.contains('\n'),
                "{alone}"
            );
        }
        let err = parse_workspaces("w.yaml", &all).unwrap_err();
        assert!(
            matches!(&err, WorkspaceError::Several { errors, left_out: 0, .. } if errors.len() == 3)
        );
        assert_eq!(err.to_string(), alone.join("\n"));
        let each: Vec<String> = err.into_each().iter().map(ToString::to_string).collect();
        assert_eq!(each, alone);
    }

    /// A workspace that cannot be read gives its first error only; one of two workspaces that
    /// both break gives its own.
    #[test]
    fn each_workspace_gives_its_first_error() {
        let text = format!(
            "workspaces:\n{}{}{}",
            one("a", 1, "    partner_consent: 1\n    tags: x\n"),
            one("b", 2, ""),
            one("c", 3, "    colour: blue\n"),
        );
        let err = errors(&text);
        assert!(
            err.starts_with(
                "w.yaml:4:22: `partner_consent` is `true` or `false`; found the number `1`\n\
                 w.yaml:14:5: unknown key `colour`; the keys here are `name`, "
            ) && err.lines().count() == 2,
            "{err}"
        );
        // Not a mapping, or missing a key: at the workspace (where its mapping starts, not at
        // its last key), as when it is the only error.
        let text = format!(
            "workspaces:\n  - fabrikam\n{}  - name: c\n    tenant_id: x\n",
            one("b", 2, "")
        );
        assert_eq!(
            errors(&text),
            "w.yaml:2:5: a workspace is a mapping with at least `name`, `tenant_id`, \
             `subscription` and `agent`; found `fabrikam`\n\
             w.yaml:7:5: missing key `subscription` (`active`, `trial` or `expired`)"
        );
    }

    /// The checks after reading report every workspace that fails them, in the order of the
    /// file, not only the first.
    #[test]
    fn every_workspace_failing_the_checks_is_reported() {
        let text = format!(
            "workspaces:\n{}{}{}{}",
            one("a", 1, "    consented_applications: [mdee]\n"),
            one("b", 2, "    parent: zz\n"),
            one("A", 3, ""),
            one("d", 2, ""),
        );
        let err = errors(&text);
        let lines: Vec<&str> = err.lines().collect();
        assert_eq!(lines.len(), 4, "{err}");
        assert!(
            lines[0].starts_with("w.yaml:4:30: workspace `a` consents unknown application `mdee`"),
            "{err}"
        );
        assert!(
            lines[1].starts_with("w.yaml:9:13: workspace `b` names unknown parent `zz`"),
            "{err}"
        );
        assert_eq!(
            lines[2],
            "w.yaml:12:11: workspace `A` is defined twice (first as `a`: names match ignoring \
             case): give each workspace its own name, or merge the two"
        );
        assert!(
            lines[3].starts_with("w.yaml:17:16: workspaces `b` and `d` have the same tenant id"),
            "{err}"
        );
        // Two problems of one workspace: both, in the order of the file.
        let text = format!(
            "workspaces:\n{}{}",
            one("a", 1, ""),
            "  - name: a\n    tenant_id: contoso.example\n    subscription: active\n    agent: \
             {mode: manual, process_incident: [], gamebooks: [], sops: all}\n"
        );
        let err = errors(&text);
        let lines: Vec<&str> = err.lines().collect();
        assert_eq!(lines.len(), 2, "{err}");
        assert_eq!(
            lines[0],
            "w.yaml:6:11: workspace `a` is defined twice: give each workspace its own name, or \
             merge the two"
        );
        assert!(
            lines[1].starts_with(
                "w.yaml:7:16: workspace `a` has tenant id `contoso.example`, which is not"
            ),
            "{err}"
        );
    }

    /// A workspace that cannot be read and another that fails the checks: both, in the order
    /// of the file. A parent is not checked while a workspace cannot be read (it may be that
    /// one).
    #[test]
    fn errors_of_reading_and_of_the_checks_come_together() {
        let text = format!(
            "workspaces:\n{}{}{}",
            one("a", 1, "    consented_applications: [mdee]\n"),
            one("b", 2, "    subscription: actve\n"),
            one("c", 3, "    parent: zz\n    modules: sentinel\n"),
        );
        let err = errors(&text);
        let lines: Vec<&str> = err.lines().collect();
        assert_eq!(lines.len(), 3, "{err}");
        assert!(
            lines[0].starts_with("w.yaml:4:30: workspace `a` consents unknown application `mdee`"),
            "{err}"
        );
        assert_eq!(
            lines[1],
            "w.yaml:9:19: unknown subscription `actve`; did you mean `active`?"
        );
        assert!(
            lines[2].starts_with("w.yaml:15:14: `modules` is a list of modules"),
            "{err}"
        );
        let text = format!(
            "workspaces:\n{}{}",
            one("a", 1, "    subscription: actve\n"),
            one("b", 2, "    parent: a\n"),
        );
        assert_eq!(
            errors(&text),
            "w.yaml:4:19: unknown subscription `actve`; did you mean `active`?"
        );
    }

    /// A single error is shown as it always was: an `Invalid` error, not a list of one.
    #[test]
    fn one_error_is_shown_alone() {
        let text = format!(
            "workspaces:\n{}{}",
            one("a", 1, "    tags: x\n"),
            one("b", 2, "")
        );
        let err = parse_workspaces("w.yaml", &text).unwrap_err();
        assert!(
            matches!(
                err,
                WorkspaceError::Invalid {
                    line: 4,
                    column: 11,
                    ..
                }
            ),
            "{err}"
        );
        let text = format!("workspaces:\n{}{}", one("a", 1, ""), one("b", 1, ""));
        let err = parse_workspaces("w.yaml", &text).unwrap_err();
        assert!(
            matches!(
                err,
                WorkspaceError::Invalid {
                    line: 7,
                    column: 16,
                    ..
                }
            ),
            "{err}"
        );
        assert_eq!(err.into_each().len(), 1);
    }

    /// Past `MAX_REPORTED_ERRORS`, a last line says how many more there are.
    #[test]
    fn errors_are_bounded() {
        let mut text = String::from("workspaces:\n");
        for i in 0..MAX_REPORTED_ERRORS + 5 {
            text.push_str(&one(&format!("w{i}"), i as u32, "    tags: x\n"));
        }
        let err = parse_workspaces("w.yaml", &text).unwrap_err();
        let shown = err.to_string();
        let lines: Vec<&str> = shown.lines().collect();
        assert_eq!(lines.len(), MAX_REPORTED_ERRORS + 1, "{shown}");
        assert!(
            lines[0].starts_with("w.yaml:4:11: `tags` is a list"),
            "{shown}"
        );
        assert!(
            lines[MAX_REPORTED_ERRORS - 1].starts_with("w.yaml:99:11: `tags`"),
            "{shown}"
        );
        assert_eq!(
            lines[MAX_REPORTED_ERRORS],
            "w.yaml: 5 more errors not shown (at most 20 are shown at once)"
        );
        let each = err.into_each();
        assert_eq!(each.len(), MAX_REPORTED_ERRORS + 1);
        assert!(matches!(
            &each[MAX_REPORTED_ERRORS],
            WorkspaceError::Inconsistent { .. }
        ));
        // One more: `error`.
        let mut text = String::from("workspaces:\n");
        for i in 0..MAX_REPORTED_ERRORS + 2 {
            text.push_str(&one("same", i as u32, ""));
        }
        let shown = errors(&text);
        assert!(
            shown.ends_with("\nw.yaml: 1 more error not shown (at most 20 are shown at once)"),
            "{shown}"
        );
    }

    /// What cannot be cut into workspaces with certainty (aliases, flow style, an item on the
    /// line after its `-`, directives, an empty item) gives the first error, as it always did.
    #[test]
    fn files_not_cut_apart_give_their_first_error() {
        let two_bad =
            |a: &str, b: &str| format!("workspaces:\n{}{}", one("a", 1, a), one("b", 2, b));
        let base = two_bad("    tags: x\n", "    tags: y\n");
        let first = "w.yaml:4:11: `tags` is a list of labels, e.g. `[managed-xdr]`; found `x`, \
                     which is not a list: write `[x]` for one";
        assert!(errors(&base).starts_with(&format!("{first}\n")));
        // An alias: its value may come from another workspace.
        let alias = two_bad("    tags: &t x\n", "    tags: *t\n");
        assert!(!errors(&alias).contains('\n'), "{}", errors(&alias));
        // An anchor, or nothing, after a `-`: the workspace starts further on.
        for text in [
            base.replacen("  - name: b", "  - &b\n    name: b", 1),
            base.replacen("  - name: b", "  -\n    name: b", 1),
        ] {
            assert_eq!(errors(&text), first, "{text}");
        }
        // A directive applies to every workspace.
        let directive = format!("%YAML 1.2\n---\n{base}");
        assert!(!errors(&directive).contains('\n'), "{}", errors(&directive));
        // Flow style; an empty item.
        let flow =
            "workspaces: [{name: a, tenant_id: x, subscription: actve}, {name: b, mode: 1}]\n";
        assert_eq!(errors(flow).lines().count(), 1, "{}", errors(flow));
        let empty = format!(
            "workspaces:\n{}  -\n{}",
            one("a", 1, "    tags: x\n"),
            one("b", 2, "    tags: y\n")
        );
        assert_eq!(errors(&empty), first);
        // Not a mapping, no list, broken YAML: one error.
        for text in [
            "- a\n- b\n",
            "workspaces: 3\n",
            "workspaces:\n  - name: [a\n  - b: {\n",
        ] {
            assert_eq!(errors(text).lines().count(), 1, "{text}");
        }
        // Broken YAML after a workspace that cannot be read: the YAML error alone, as the
        // file cannot be read before it is fixed.
        let broken = format!("{base}  - name: [c\n");
        let line = broken.lines().count();
        assert!(
            errors(&broken).starts_with(&format!("w.yaml:{line}:11: unclosed bracket '['")),
            "{}",
            errors(&broken)
        );
        // Anything else at the top, or `workspaces` twice: the whole file's error.
        let other = format!("{base}colour: blue\n");
        assert_eq!(errors(&other).lines().count(), 1);
        let twice = format!("{base}{}", base.replacen("  - name: a", "  - name: c", 1));
        assert_eq!(errors(&twice), first);
    }

    /// Text written unquoted as a number or a boolean is the text written: a name `0x1F` is not
    /// the workspace `31`, nor `+12` the workspace `12`.
    #[test]
    fn unquoted_numbers_are_text_as_written() {
        for written in [
            "0x1F", "0o17", "0b11", "+12", "0123", "1_000", "-5", "1.50", "true", "12",
        ] {
            let text = format!(
                "workspaces:\n{}",
                one("a", 1, &format!("    tags: [{written}]\n"))
                    .replace("name: a", &format!("name: {written}"))
            );
            let ws = parse_workspaces("w.yaml", &text).unwrap_or_else(|e| panic!("{written}: {e}"));
            assert_eq!(ws[0].name, written);
            assert_eq!(ws[0].tags, [written]);
        }
    }

    /// Line breaks as Windows writes them, tabs after the `-`, text beyond ASCII before an
    /// error: each error where it is.
    #[test]
    fn places_are_those_of_the_file() {
        let text = format!(
            "# é\nworkspaces:\n{}{}",
            one("é", 1, "    tags: x\n"),
            one("b", 2, "    tags: [ä, [x]]\n")
        );
        let lines = [
            "w.yaml:5:11: `tags` is a list of labels, e.g. `[managed-xdr]`; found `x`, which is not a list: write `[x]` for one",
            "w.yaml:10:15: a tag in `tags` is a label, e.g. `managed-xdr`; found a list",
        ];
        assert_eq!(errors(&text), lines.join("\n"));
        assert_eq!(errors(&text.replace('\n', "\r\n")), lines.join("\n"));
        let tabs = text.replace("  - name: b", "  -\tname: b");
        assert_eq!(errors(&tabs), lines.join("\n"));
    }
}
