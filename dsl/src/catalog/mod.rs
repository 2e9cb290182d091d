//! The action catalog: every response action a gamebook can name, as data.
//!
//! One small file per action under `actions/` gives its target, typed parameters, impact,
//! reverse action, the providers that implement it (with the enterprise application and
//! permission each needs), its outputs, and examples. The examples are documentation and
//! tests at once: `tests::examples_compile` compiles every one.
//!
//! Architecture Invariant: action ids are public API. They are never renamed or reused.

mod actions;

use crate::types::{EntityKind, Type};

/// What an action acts on.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Target {
    Entity(EntityKind),
    /// The incident itself (`incident.comment`, `incident.update`): no `target:` is written.
    Incident,
}

impl Target {
    pub fn as_str(self) -> &'static str {
        match self {
            Target::Entity(k) => k.as_str(),
            Target::Incident => "incident",
        }
    }
}

/// High-impact actions need a Workspace Owner's approval unless policy says otherwise.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Impact {
    Low,
    High,
}

/// The type of an action parameter or output.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ParamType {
    String,
    Bool,
    Number,
    Duration,
    Severity,
    /// One of these strings (compared exactly, lowercase).
    Enum(&'static [&'static str]),
    /// A list of strings.
    StringList,
}

impl ParamType {
    /// The expression type a value of this parameter has.
    pub fn expr_type(self) -> Type {
        match self {
            ParamType::String | ParamType::Enum(_) => Type::String,
            ParamType::Bool => Type::Bool,
            ParamType::Number => Type::Number,
            ParamType::Duration => Type::Duration,
            ParamType::Severity => Type::Severity,
            ParamType::StringList => Type::list(Type::String),
        }
    }

    pub fn describe(self) -> String {
        match self {
            ParamType::Enum(values) => values.join(" | "),
            other => other.expr_type().to_string(),
        }
    }
}

/// One parameter of an action.
#[derive(Clone, Copy, Debug)]
pub struct ParamSpec {
    pub name: &'static str,
    pub ty: ParamType,
    pub required: bool,
    /// The value used when the parameter is omitted (as YAML text), if any.
    pub default: Option<&'static str>,
    /// A note recorded with the action (the reason shown in the EDR console), not part of what
    /// it does: the same action on the same target with other notes is planned once.
    pub note: bool,
    pub doc: &'static str,
}

impl ParamSpec {
    /// Why `v` cannot be sent as this parameter, if it cannot: a duration not longer than
    /// zero, a value outside the enumeration, a number that is not finite, blank text where
    /// the service needs text (a required parameter, or one with a default: Defender refuses
    /// an action without its comment). Checked on constants when a library compiles (RP0405)
    /// and on computed values when a plan is made. Null is the caller's (the default applies;
    /// so does it for computed blank text, see [`ParamSpec::is_blank`]).
    pub fn refuses(&self, v: &crate::value::Value) -> Option<String> {
        use crate::value::Value;
        let name = self.name;
        if self.is_blank(v) {
            return Some(format!(
                "parameter `{name}` is empty; the service needs text there"
            ));
        }
        match (self.ty, v) {
            (ParamType::Duration, Value::Duration(ms)) if *ms <= 0 => Some(format!(
                "parameter `{name}` is `{}`; it takes a duration longer than zero",
                crate::duration::format_duration(*ms)
            )),
            (ParamType::Enum(values), Value::String(s)) if !values.contains(&&**s) => {
                let shown: Vec<String> = values.iter().map(|v| format!("`{v}`")).collect();
                Some(format!(
                    "parameter `{name}` is `{}`; it takes one of {}",
                    crate::diagnostic::clip(s, 80),
                    shown.join(", ")
                ))
            }
            (ParamType::Number, Value::Number(n)) if !n.is_finite() => {
                Some(format!("parameter `{name}` is not a finite number"))
            }
            _ => None,
        }
    }
}

impl ParamSpec {
    /// Whether `v` is blank text where the service needs text: a required text parameter, or
    /// one with a default. Computed, it is no value, as null is: the default applies.
    pub fn is_blank(&self, v: &crate::value::Value) -> bool {
        matches!((self.ty, v), (ParamType::String, crate::value::Value::String(s))
            if s.trim().is_empty() && (self.required || self.default.is_some()))
    }
}

/// One output field of an action, readable as `steps.<id>.output.<name>`.
#[derive(Clone, Copy, Debug)]
pub struct OutputSpec {
    pub name: &'static str,
    pub ty: ParamType,
    pub doc: &'static str,
}

/// A vendor platform that implements actions.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Provider {
    /// Microsoft: Defender for Endpoint, Entra ID, Exchange Online, Graph security.
    Microsoft,
    /// Microsoft Sentinel, through Azure Resource Manager: its own incidents.
    Sentinel,
    CrowdStrike,
    SentinelOne,
}

impl Provider {
    pub fn as_str(self) -> &'static str {
        match self {
            Provider::Microsoft => "microsoft",
            Provider::Sentinel => "sentinel",
            Provider::CrowdStrike => "crowdstrike",
            Provider::SentinelOne => "sentinelone",
        }
    }
}

/// The enterprise application (or vendor API client) whose consent an action needs.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Application {
    /// Endpoint visibility; also manages Graph security incidents.
    Mde,
    GamebooksMde,
    GamebooksIdentity,
    GamebooksEmail,
    /// The core application every workspace consents to at onboarding; backs Sentinel access.
    Api,
    CrowdStrikeResponse,
    SentinelOneResponse,
}

impl Application {
    pub const ALL: &'static [Application] = &[
        Application::Mde,
        Application::GamebooksMde,
        Application::GamebooksIdentity,
        Application::GamebooksEmail,
        Application::Api,
        Application::CrowdStrikeResponse,
        Application::SentinelOneResponse,
    ];

    /// The key used in workspace files (`consented_applications: [gamebooks-mde]`).
    pub fn as_str(self) -> &'static str {
        match self {
            Application::Mde => "mde",
            Application::GamebooksMde => "gamebooks-mde",
            Application::GamebooksIdentity => "gamebooks-identity",
            Application::GamebooksEmail => "gamebooks-email",
            Application::Api => "api",
            Application::CrowdStrikeResponse => "crowdstrike-response",
            Application::SentinelOneResponse => "sentinelone-response",
        }
    }

    pub fn display_name(self) -> &'static str {
        match self {
            Application::Mde => "Riposte for MDE",
            Application::GamebooksMde => "Riposte Gamebooks for MDE",
            Application::GamebooksIdentity => "Riposte Gamebooks for Identity",
            Application::GamebooksEmail => "Riposte Gamebooks for Email",
            Application::Api => "Riposte API",
            Application::CrowdStrikeResponse => "CrowdStrike Falcon response API client",
            Application::SentinelOneResponse => "SentinelOne response service user",
        }
    }

    /// An application by its key, ignoring case (`Gamebooks-MDE` is `gamebooks-mde`), as
    /// workspaces files name them.
    pub fn parse(s: &str) -> Option<Application> {
        Application::ALL
            .iter()
            .copied()
            .find(|a| a.as_str().eq_ignore_ascii_case(s))
    }

    /// Whether a workspace a partner manages consents to this application twice: `Consent`
    /// for the tenant and `Consent for Partner`, which lets the partner's gamebooks act
    /// through it without a signed-in user (Service Provider Mode: endpoint response).
    pub fn has_partner_consent(self) -> bool {
        self == Application::GamebooksMde
    }
}

/// Whether an action can run as the application alone or needs a signed-in user.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Consent {
    /// Runs app-only (no user present); delegated also works.
    AppOnly,
    /// Only on behalf of a signed-in user; never app-only.
    DelegatedOnly,
    /// On behalf of the admin who consented when the workspace was onboarded, by the grant
    /// kept since (a refresh token): nobody signs in when it runs.
    Standing,
}

/// How one provider implements an action.
#[derive(Clone, Copy, Debug)]
pub struct ProviderSupport {
    pub provider: Provider,
    /// The product within the provider, e.g. `Defender for Endpoint`, `Entra ID`.
    pub service: &'static str,
    pub application: Application,
    /// The permission, qualified by its API, e.g. `WindowsDefenderATP Machine.Isolate`.
    pub permission: &'static str,
    pub consent: Consent,
    /// The vendor call, e.g. `POST /api/machines/{id}/isolate`.
    pub operation: &'static str,
    /// The target's model fields the call needs: every group, by any one field of it
    /// (`[["aad_user_id", "upn"]]`: an Entra id or a UPN). A target without them is an entity
    /// the service cannot act on, and the action is blocked.
    pub needs: &'static [&'static [&'static str]],
    /// Why the service would refuse this target or these params, if it would (Defender takes
    /// indicators of public addresses only; CrowdStrike isolates fully only); checked on the
    /// target record, the params, defaults included, and the entities acted on besides the
    /// target, when a plan is made.
    pub refuses: Option<Refuses>,
}

/// [`ProviderSupport::refuses`]: the target record, the params sent, by name, and the entities
/// of the incident the action acts on besides its target ([`ActsOn`]: the device a file is
/// quarantined on), to why the service would refuse them.
pub type Refuses = fn(
    target: &crate::value::Value,
    params: &[(&str, crate::value::Value)],
    acted_on: &[&crate::value::Value],
) -> Option<String>;

/// An example use of an action: a complete step, as YAML.
#[derive(Clone, Copy, Debug)]
pub struct Example {
    pub title: &'static str,
    pub step: &'static str,
}

/// Everything the compiler and the engine know about one action.
#[derive(Clone, Copy, Debug)]
pub struct ActionSpec {
    pub id: &'static str,
    pub title: &'static str,
    pub doc: &'static str,
    pub target: Target,
    pub params: &'static [ParamSpec],
    pub outputs: &'static [OutputSpec],
    pub impact: Impact,
    /// The action that undoes this one, if any.
    pub reverse: Option<&'static str>,
    /// Another entity of the incident the action acts on besides its target; protection covers
    /// it too.
    pub acts_on: Option<ActsOn>,
    /// Why params given together cannot be sent (`incident.update`'s reason must be one of its
    /// classification's), if they cannot: `given` holds the params given, by name. Checked on
    /// constants when a library compiles (RP0410) and on computed values when a plan is made.
    pub params_check: Option<ParamsCheck>,
    /// Whether the action sets a state of its target that the same action with other params
    /// replaces (`device.isolate` full, then selective; `incident.update` of the status), so
    /// that only the last one done holds. Otherwise each adds (two comments, a file
    /// quarantined on two devices), and every one done is remembered.
    pub replaces: bool,
    pub providers: &'static [ProviderSupport],
    pub examples: &'static [Example],
}

/// [`ActionSpec::params_check`]: the params given, by name, to what is wrong with them.
pub type ParamsCheck = fn(given: &[(&str, &crate::value::Value)]) -> Option<ParamsProblem>;

/// What [`ActionSpec::params_check`] finds wrong with params given together.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ParamsProblem {
    /// A param another one needs is missing, or nothing is given (RP0403).
    Missing(String),
    /// Values that do not go together (RP0410).
    Mismatched(String),
    /// Values the service refuses together (RP0405): an indicator's `action: audit` without
    /// `generate_alert`.
    Refused(String),
}

impl ParamsProblem {
    pub fn message(&self) -> &str {
        match self {
            ParamsProblem::Missing(m)
            | ParamsProblem::Mismatched(m)
            | ParamsProblem::Refused(m) => m,
        }
    }
}

/// Where an action finds the entity it acts on besides its target (the device
/// `file.quarantine` stops a file on): its name in a param, else in a field of the target, then
/// the incident's entity of one of `found_in` (`(collection, field)`) whose field is that name,
/// ignoring case.
#[derive(Clone, Copy, Debug)]
pub struct ActsOn {
    pub param: Option<&'static str>,
    pub target_field: &'static str,
    pub found_in: &'static [(&'static str, &'static str)],
    /// The field of the entity found that the service names it by, when the name must be that
    /// field (`mde_device_id`): a name that finds entities of the incident by another field
    /// only (a host name) is none the service can act by, and the action is blocked.
    pub named_by: Option<&'static str>,
}

impl ActionSpec {
    pub fn param(&self, name: &str) -> Option<&ParamSpec> {
        self.params.iter().find(|p| p.name == name)
    }

    /// The help for `name`, which is no parameter of the action: the one meant, the ones it
    /// has, or that it has none.
    pub fn unknown_param_help(&self, name: &str) -> String {
        if self.params.is_empty() {
            return format!("`{}` takes no parameters: remove `params:`", self.id);
        }
        crate::diagnostic::suggestion(name, self.params.iter().map(|p| p.name))
    }

    /// True when no provider can run the action without a signed-in user.
    pub fn delegated_only(&self) -> bool {
        !self.providers.is_empty()
            && self
                .providers
                .iter()
                .all(|p| p.consent == Consent::DelegatedOnly)
    }
}

/// The whole catalog, sorted by id.
pub fn catalog() -> &'static [ActionSpec] {
    actions::ALL
}

/// Every action id of the catalog, in catalog order.
pub fn action_ids() -> &'static [&'static str] {
    static IDS: std::sync::LazyLock<Vec<&'static str>> =
        std::sync::LazyLock::new(|| catalog().iter().map(|a| a.id).collect());
    &IDS
}

/// Every `<prefix>.*` pattern that matches some action of the catalog (as
/// [`crate::checked::action_matches`] reads it: `device.*` for `device.isolate`), sorted. An
/// SOP approval rule names actions by id or by one of these.
pub fn action_patterns() -> Vec<String> {
    let mut patterns: Vec<String> = catalog()
        .iter()
        .flat_map(|a| {
            a.id.match_indices('.')
                .map(|(dot, _)| format!("{}.*", &a.id[..dot]))
        })
        .collect();
    patterns.sort_unstable();
    patterns.dedup();
    patterns
}

/// Looks an action up by id.
pub fn lookup(id: &str) -> Option<&'static ActionSpec> {
    catalog().iter().find(|a| a.id == id)
}

impl ParamType {
    fn json(self) -> serde_json::Value {
        match self {
            ParamType::Enum(values) => serde_json::json!({"type": "enum", "values": values}),
            other => serde_json::json!({"type": other.expr_type().to_string()}),
        }
    }
}

/// The catalog as JSON (`riposte actions --format json`); field names are stable.
pub fn to_json() -> serde_json::Value {
    let actions: Vec<serde_json::Value> = catalog()
        .iter()
        .map(|a| {
            serde_json::json!({
                "id": a.id,
                "title": a.title,
                "doc": a.doc,
                "target": a.target.as_str(),
                "impact": match a.impact { Impact::High => "high", Impact::Low => "low" },
                "reverse": a.reverse,
                "delegated_only": a.delegated_only(),
                "params": a.params.iter().map(|p| {
                    let mut v = p.ty.json();
                    v["name"] = p.name.into();
                    v["required"] = p.required.into();
                    // Typed as the param is: `generate_alert` defaults to `true`, not "true".
                    v["default"] = match (p.ty, p.default) {
                        (ParamType::Bool, Some(d)) => d
                            .parse::<bool>()
                            .map_or_else(|_| d.into(), serde_json::Value::Bool),
                        (ParamType::Number, Some(d)) => d
                            .parse::<i64>()
                            .ok()
                            .map(serde_json::Number::from)
                            .or_else(|| {
                                d.parse::<f64>().ok().and_then(serde_json::Number::from_f64)
                            })
                            .map_or_else(|| d.into(), serde_json::Value::Number),
                        (_, d) => d.into(),
                    };
                    v["note"] = p.note.into();
                    v["doc"] = p.doc.into();
                    v
                }).collect::<Vec<_>>(),
                "outputs": a.outputs.iter().map(|o| {
                    let mut v = o.ty.json();
                    v["name"] = o.name.into();
                    v["doc"] = o.doc.into();
                    v
                }).collect::<Vec<_>>(),
                "providers": a.providers.iter().map(|p| serde_json::json!({
                    "provider": p.provider.as_str(),
                    "service": p.service,
                    "application": p.application.as_str(),
                    "application_name": p.application.display_name(),
                    "permission": p.permission,
                    "consent": match p.consent { Consent::AppOnly => "app_only", Consent::DelegatedOnly => "delegated_only", Consent::Standing => "standing" },
                    "operation": p.operation,
                    "needs": p.needs,
                })).collect::<Vec<_>>(),
                "examples": a.examples.iter().map(|e| serde_json::json!({"title": e.title, "step": e.step})).collect::<Vec<_>>(),
            })
        })
        .collect();
    serde_json::Value::Array(actions)
}

/// The catalog as a terminal table (`riposte actions`): each column as wide as its widest
/// cell, two spaces apart, so no cell runs into the next.
pub fn to_text() -> String {
    use std::fmt::Write;
    let header = ["ACTION", "TARGET", "IMPACT", "PROVIDERS", "TITLE"].map(String::from);
    let mut rows = vec![header];
    for a in catalog() {
        let mut providers: Vec<&str> = a.providers.iter().map(|p| p.provider.as_str()).collect();
        providers.dedup();
        let impact = match a.impact {
            Impact::High => "high",
            Impact::Low => "low",
        };
        let mut title = a.title.to_string();
        if a.delegated_only() {
            title.push_str(" (delegated only)");
        }
        rows.push([
            a.id.to_string(),
            a.target.as_str().to_string(),
            impact.to_string(),
            providers.join(", "),
            title,
        ]);
    }
    let mut widths = [0usize; 5];
    for row in &rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let mut out = String::new();
    for row in &rows {
        let [id, target, impact, providers, title] = row;
        let _ = writeln!(
            out,
            "{id:<w0$}  {target:<w1$}  {impact:<w2$}  {providers:<w3$}  {title}",
            w0 = widths[0],
            w1 = widths[1],
            w2 = widths[2],
            w3 = widths[3],
        );
    }
    let _ = writeln!(
        out,
        "\n{} actions; `riposte actions --format json` for params, permissions and examples",
        catalog().len()
    );
    out
}

/// The catalog as the Markdown reference `docs/actions.md` (`riposte actions --format
/// markdown`); a test keeps the checked-in file equal to this.
pub fn to_markdown() -> String {
    use std::fmt::Write;
    let mut out = String::from("# Action catalog\n\n<!-- Generated by `riposte actions --format markdown` from the catalog data in\n     `dsl/src/catalog/actions/` (one file per action). Do not edit by hand. -->\n\n");
    out.push_str(INTRO);
    out.push_str("\n## Summary\n\n| Action | Target | Impact | Reverse | Providers |\n|---|---|---|---|---|\n");
    let impact = |a: &ActionSpec| match a.impact {
        Impact::High => "**high**",
        Impact::Low => "low",
    };
    let anchor = |id: &str| id.replace('.', "");
    let consent = |c: Consent| match c {
        Consent::AppOnly => "app-only",
        Consent::DelegatedOnly => "**delegated only**",
        Consent::Standing => "standing",
    };
    for a in catalog() {
        let mut providers: Vec<&str> = a.providers.iter().map(|p| p.provider.as_str()).collect();
        providers.dedup();
        let reverse = a.reverse.map_or("—".to_string(), |r| format!("`{r}`"));
        let _ = writeln!(
            out,
            "| [`{}`](#{}) | {} | {} | {reverse} | {} |",
            a.id,
            anchor(a.id),
            a.target.as_str(),
            impact(a),
            providers.join(", ")
        );
    }
    out.push_str("\n## Applications and permissions\n\n| Action | Provider | Application | Permission | Consent |\n|---|---|---|---|---|\n");
    for a in catalog() {
        for p in a.providers {
            let _ = writeln!(
                out,
                "| `{}` | {} | {} (`{}`) | `{}` | {} |",
                a.id,
                p.provider.as_str(),
                p.application.display_name(),
                p.application.as_str(),
                p.permission,
                consent(p.consent)
            );
        }
    }
    out.push_str(
        "\nThe indicator actions (`file.block`, `ip.block`, `url.block`) need \
         `WindowsDefenderATP Ti.ReadWrite.All`, which is not among the permissions Riposte \
         Gamebooks for MDE is granted at onboarding (`Machine.Isolate`, `Machine.Scan`, \
         `Machine.StopAndQuarantine`, `Machine.ReadWrite.All`, `Machine.Offboard`): grant it to \
         that application in the Entra admin center (Enterprise applications → API \
         permissions, admin consent) before a gamebook blocks indicators, or Defender refuses \
         them (403). A plan cannot tell whether it was granted: it shows them as the consent \
         of the application allows.\n",
    );
    out.push_str("\nBy application, what to consent for which actions:\n\n| Application | Key | Actions |\n|---|---|---|\n");
    for app in Application::ALL {
        let actions: Vec<String> = catalog()
            .iter()
            .filter_map(|a| {
                let p = a.providers.iter().find(|p| p.application == *app)?;
                Some(match p.consent {
                    Consent::DelegatedOnly => format!("`{}` (delegated)", a.id),
                    Consent::AppOnly | Consent::Standing => format!("`{}`", a.id),
                })
            })
            .collect();
        let _ = writeln!(
            out,
            "| {} | `{}` | {} |",
            app.display_name(),
            app.as_str(),
            actions.join(", ")
        );
    }
    for a in catalog() {
        let reverse = a.reverse.map_or("none".to_string(), |r| format!("`{r}`"));
        let impact = match a.impact {
            Impact::High => "**high** (approval gate)",
            Impact::Low => "low",
        };
        let _ = write!(
            out,
            "\n## `{}`\n\n**{}.** Target: `{}`. Impact: {impact}. Reverse: {reverse}. {}\n\n{}\n",
            a.id,
            a.title,
            a.target.as_str(),
            if a.replaces {
                "Sets a state: in a plan, the last one done on a target holds."
            } else {
                "Adds: in a plan, each one done on a target holds."
            },
            a.doc
        );
        if a.params.is_empty() {
            out.push_str("\n**Parameters**\n\nNone.\n");
        } else {
            out.push_str("\n**Parameters**\n\n| Name | Type | Required | Default | Description |\n|---|---|---|---|---|\n");
            for p in a.params {
                let default = p.default.map_or("—".to_string(), |d| format!("`{d}`"));
                let required = if p.required { "yes" } else { "no" };
                let ty = p.ty.describe().replace('|', "\\|");
                let note = if p.note {
                    " A note: the same action on the same target with another note is planned once."
                } else {
                    ""
                };
                let _ = writeln!(
                    out,
                    "| `{}` | {ty} | {required} | {default} | {}{note} |",
                    p.name, p.doc
                );
            }
        }
        out.push_str("\n**Outputs**\n\n| Name | Type | Description |\n|---|---|---|\n");
        for o in a.outputs {
            let ty = o.ty.describe().replace('|', "\\|");
            let _ = writeln!(out, "| `{}` | {ty} | {} |", o.name, o.doc);
        }
        out.push_str("\n**Providers**\n\n| Provider | Service | Application | Permission | Consent | Operation | Needs |\n|---|---|---|---|---|---|---|\n");
        for p in a.providers {
            let _ = writeln!(
                out,
                "| {} | {} | {} | `{}` | {} | `{}` | {} |",
                p.provider.as_str(),
                p.service,
                p.application.display_name(),
                p.permission,
                consent(p.consent),
                p.operation,
                needs_text(p.needs)
            );
        }
        out.push_str(if a.examples.len() == 1 {
            "\n**Example**\n"
        } else {
            "\n**Examples**\n"
        });
        for e in a.examples {
            let _ = write!(out, "\n{}:\n\n```yaml\n{}```\n", e.title, e.step);
        }
    }
    out
}

/// How to read the reference; the top of `docs/actions.md`.
const INTRO: &str =
    "Every action a gamebook step can name with `action:`. An action id is `<target>.<verb>` and is
public API: ids are never renamed or reused.

How to read this page:

- **Target**: the kind of entity the step's `target:` must evaluate to. Inside a `for_each`
  over entities of that kind, `target:` may be left out. `incident.*` actions act on the
  incident itself and take no `target:`.
- **Impact**: high-impact actions (`device.isolate`, `device.offboard`, `user.disable`,
  `user.reset_password`) need a Workspace Owner's approval unless policy says otherwise, so
  give their steps an `approval:` gate (`role`, `timeout`, and the required `on_timeout`).
- **Reverse**: the action that undoes this one.
- **Application**: the Riposte enterprise application (or vendor API client) the customer
  tenant must have consented to for the action to run, and the **permission** it needs,
  qualified by its API.
- **Consent**: *app-only* actions run as the application, with nobody signed in, which is
  what unattended and agent runs need. *Delegated only* actions run on behalf of a signed-in
  admin and never app-only: today only `user.reset_password`. *Standing* actions run on
  behalf of the admin who consented when the workspace was onboarded, by the grant kept since:
  nobody signs in when they run (the Riposte API application's Azure access to Microsoft
  Sentinel).
- **Provider**: who carries the action out. An entity's provider is where its evidence comes
  from; an incident's is its source (`sentinel` for Microsoft Sentinel incidents, whose
  comments and updates go through Azure Resource Manager, not Microsoft Graph).
- **Outputs** are readable by later steps as `steps.<id>.output.<name>`. Every action has
  `status`; an action that failed has `status: failed` and its other outputs null.
- Parameter defaults are YAML values; `—` means no default (the parameter is then either
  required or simply not sent).
";

/// `needs` as the reference writes it: `` `aad_user_id` or `upn` ``, groups joined by "and";
/// `—` for none.
pub fn needs_text(needs: &[&[&str]]) -> String {
    if needs.is_empty() {
        return "—".to_string();
    }
    needs
        .iter()
        .map(|group| {
            group
                .iter()
                .map(|f| format!("`{f}`"))
                .collect::<Vec<_>>()
                .join(" or ")
        })
        .collect::<Vec<_>>()
        .join(" and ")
}

#[cfg(test)]
mod tests {
    use crate::compile::compile;
    use crate::syntax::Limits;
    use crate::{Code, SourceFile, SourceMap};

    /// What a provider needs of a target is a field of the target's kind.
    #[test]
    fn needs_name_fields_of_the_target() {
        for a in super::catalog() {
            for p in a.providers {
                let super::Target::Entity(kind) = a.target else {
                    assert!(p.needs.is_empty(), "{}: no target, no needs", a.id);
                    continue;
                };
                let record = crate::model::entity(kind);
                for field in p.needs.iter().flat_map(|g| g.iter()) {
                    assert!(
                        record.field(field).is_some(),
                        "{} needs `{field}`, which a {kind} does not have",
                        a.id
                    );
                }
            }
        }
    }

    /// The patterns are those that match an action, and each action is matched by its kind's.
    #[test]
    fn action_patterns_match_actions() {
        let patterns = super::action_patterns();
        for p in &patterns {
            assert!(
                super::catalog()
                    .iter()
                    .any(|a| crate::checked::action_matches(p, a.id)),
                "{p} matches nothing"
            );
        }
        for a in super::catalog() {
            assert!(
                patterns
                    .iter()
                    .any(|p| crate::checked::action_matches(p, a.id)),
                "no pattern matches {}",
                a.id
            );
        }
        assert!(patterns.contains(&"device.*".to_string()));
        assert!(!patterns.contains(&"*".to_string()));
    }

    /// docs/actions.md is the generated reference, current with the data.
    #[test]
    fn reference_is_current() {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../docs/actions.md");
        let on_disk = std::fs::read_to_string(path).unwrap_or_default();
        assert!(
            on_disk == super::to_markdown(),
            "docs/actions.md is stale: run `cargo run -- actions --format markdown > docs/actions.md`"
        );
    }

    /// `riposte actions`: every column starts where its header does, with at least two spaces
    /// before it, so a long providers cell never runs into the title.
    #[test]
    fn text_table_columns_never_touch() {
        let text = super::to_text();
        let mut lines = text.lines();
        let header = lines.next().unwrap_or_default();
        let starts: Vec<usize> = ["TARGET", "IMPACT", "PROVIDERS", "TITLE"]
            .iter()
            .map(|h| header.find(h).expect("header"))
            .collect();
        let rows: Vec<&str> = lines.take_while(|l| !l.is_empty()).collect();
        assert_eq!(rows.len(), super::catalog().len());
        for (row, a) in rows.iter().zip(super::catalog()) {
            for &at in &starts {
                assert_eq!(&row[at - 2..at], "  ", "{row:?}");
                assert_ne!(&row[at..=at], " ", "{row:?}");
            }
            assert!(row[starts[3]..].starts_with(a.title), "{row:?}");
        }
        let widest = rows
            .iter()
            .find(|r| r.contains("microsoft, crowdstrike, sentinelone"));
        assert!(widest.is_some(), "{text}");
    }

    /// Every catalog example, wrapped in a gamebook, compiles without errors: the examples in
    /// `riposte actions --format json` and docs/actions.md are known to work.
    #[test]
    fn examples_compile() {
        for action in super::catalog() {
            for (i, example) in action.examples.iter().enumerate() {
                let step: String = example.step.lines().map(|l| format!("    {l}\n")).collect();
                let text =
                    format!("kind: gamebook\nname: example\nversion: 1.0.0\nsteps:\n  -\n{step}");
                let mut sources = SourceMap::new();
                sources.add(SourceFile::new(
                    format!("{}-{i}.yaml", action.id),
                    text.clone(),
                ));
                let c = compile(&sources, &Limits::default(), Vec::new());
                let errors: Vec<_> = c
                    .diagnostics
                    .iter()
                    .filter(|d| d.is_error() || d.code != Code::DelegatedOnly)
                    .collect();
                assert!(
                    errors.is_empty(),
                    "example `{}` of {}:\n{text}\n{errors:#?}",
                    example.title,
                    action.id
                );
            }
        }
    }
}
