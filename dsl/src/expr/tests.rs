//! Tests of the expression language: grammar, checking, evaluation, templates, bounds.

use std::fmt::Write as _;
use std::sync::Arc;
use std::time::{Duration, Instant};

use super::*;
use crate::codes::Code;
use crate::model;
use crate::types::{EntityKind, Field, RecordType};
use crate::value::{parse_time, Value};

const T0: &str = "2024-05-01T12:00:00Z";

fn t0() -> i64 {
    parse_time(T0).unwrap()
}

fn inputs_type() -> Arc<RecordType> {
    Arc::new(RecordType::new(
        "inputs",
        vec![
            Field::new("reason", Type::String, "why"),
            Field::new("dry_run", Type::Bool, "only report"),
            Field::new("wait", Type::Duration, "how long"),
        ],
    ))
}

fn scope() -> Scope {
    Scope::new()
        .with("incident", Type::Record(model::incident()))
        .with("entity", Type::Record(model::entity(EntityKind::Device)))
        .with("inputs", Type::Record(inputs_type()))
        .with("steps", Type::Any)
}

fn s(v: &str) -> Value {
    Value::from(v)
}

fn strs(items: &[&str]) -> Value {
    Value::list(items.iter().map(|i| s(i)))
}

fn device(name: &str, risk: &str, verdict: &str, server: bool, ips: &[&str]) -> Value {
    Value::record(
        model::entity(EntityKind::Device),
        [
            ("id", s(&format!("dev-{name}"))),
            ("kind", s("device")),
            ("name", s(name)),
            ("hostname", s(name)),
            ("verdict", s(verdict)),
            ("roles", strs(&["compromised"])),
            ("risk_score", s(risk)),
            ("is_server", Value::Bool(server)),
            ("os_build", Value::Number(22631.0)),
            (
                "ip_addresses",
                Value::list(ips.iter().map(|i| Value::Ip(i.parse().unwrap()))),
            ),
            ("first_seen", Value::Time(t0() - 86_400_000)),
        ],
    )
}

fn incident_value() -> Value {
    let ws1 = device(
        "ws1",
        "high",
        "malicious",
        false,
        &["10.1.2.3", "192.0.2.7"],
    );
    let srv = device("srv1", "low", "unknown", true, &["172.16.0.5"]);
    let user = Value::record(
        model::entity(EntityKind::User),
        [
            ("id", s("user-alice")),
            ("kind", s("user")),
            ("name", s("Alice")),
            ("upn", s("alice@contoso.com")),
            ("verdict", s("suspicious")),
            ("roles", strs(&["compromised", "attacked"])),
            ("is_admin", Value::Bool(true)),
        ],
    );
    let alert = Value::record(
        model::alert(),
        [
            ("id", s("da-1")),
            ("title", s("Ransomware behavior detected")),
            ("status", s("new")),
            ("severity", Value::Severity(3)),
            ("mitre_techniques", strs(&["T1486", "T1059.001"])),
            ("entities", Value::list([ws1.clone(), user.clone()])),
        ],
    );
    let alert2 = Value::record(
        model::alert(),
        [
            ("id", s("da-2")),
            ("title", s("Suspicious PowerShell")),
            ("status", s("resolved")),
            ("severity", Value::Severity(1)),
            ("entities", Value::list([srv.clone()])),
        ],
    );
    Value::record(
        model::incident(),
        [
            ("id", s("INC-42")),
            ("source", s("defender_xdr")),
            ("title", s("Multi-stage incident involving Ransomware")),
            ("severity", Value::Severity(3)),
            ("status", s("active")),
            ("created", Value::Time(t0())),
            ("tags", strs(&["vip", "ransomware", "vip"])),
            ("alerts", Value::list([alert, alert2])),
            (
                "entities",
                Value::list([ws1.clone(), srv.clone(), user.clone()]),
            ),
            ("devices", Value::list([ws1, srv])),
            ("users", Value::list([user])),
        ],
    )
}

fn vars() -> Vec<Value> {
    let inc = incident_value();
    let entity = inc
        .get(model::incident().field("devices").unwrap().0)
        .clone();
    let entity = match entity {
        Value::List(items) => items[0].clone(),
        _ => Value::Null,
    };
    let inputs = Value::record(
        inputs_type(),
        [
            ("reason", s("ransomware")),
            ("wait", Value::Duration(900_000)),
        ],
    );
    vec![inc, entity, inputs, Value::Null]
}

fn env(vars: &[Value]) -> Env<'_> {
    Env {
        vars,
        now_ms: t0() + 2 * 3_600_000,
    }
}

#[track_caller]
fn ok(text: &str) -> Expr {
    match compile(ExprSource::detached(text), &scope(), None) {
        Ok(e) => e,
        Err(ds) => panic!("`{text}` failed:\n{}", render(text, &ds)),
    }
}

#[track_caller]
fn eval(text: &str) -> Value {
    let vars = vars();
    ok(text).eval(&env(&vars))
}

/// Diagnostics as `CODE start..end `text`: message (help)` lines.
fn render(text: &str, diags: &[Diagnostic]) -> String {
    let mut out = String::new();
    for d in diags {
        let slice = text.get(d.span.range()).unwrap_or("<out of range>");
        let _ = write!(
            out,
            "{} {}..{} `{}`: {}",
            d.code, d.span.start, d.span.end, slice, d.message
        );
        if let Some(l) = &d.label {
            let _ = write!(out, " [{l}]");
        }
        if let Some(h) = &d.help {
            let _ = write!(out, " (help: {h})");
        }
        out.push('\n');
    }
    out
}

#[track_caller]
fn errors(text: &str) -> Vec<Diagnostic> {
    match compile(ExprSource::detached(text), &scope(), None) {
        Ok(e) => panic!("`{text}` compiled to {:?}", e.ty()),
        Err(ds) => ds,
    }
}

#[track_caller]
fn error_text(text: &str) -> String {
    render(text, &errors(text))
}

fn sexpr(text: &str) -> String {
    match parser::parse(text, FileId::default(), 0) {
        Ok(ast) => ast.sexpr(),
        Err(d) => format!("error: {}", render(text, &[d]).trim_end()),
    }
}

fn table(cases: &[&str], f: impl Fn(&str) -> String) -> String {
    cases
        .iter()
        .map(|c| format!("{c}\n    => {}\n", f(c)))
        .collect()
}

// ---- grammar ---------------------------------------------------------------------------------

#[test]
fn expr_precedence() {
    insta::assert_snapshot!(table(
        &[
            "a or b and not c == d",
            "not a and b",
            "not a == b",
            "a and b or c and d",
            "a or b or c",
            "1 + 2 * 3 - 4 / 5 % 6",
            "-a * b",
            "- a.b[0]",
            "a + b == c * d",
            "x in [1, 2] and y not in z",
            "a.b.c[1].d",
            "f(x)[0].y",
            "(a or b) and c",
            "a - -b",
            "now() - incident.created > 1h",
            "any(xs, x => x.a == 1 and x.b)",
        ],
        sexpr
    ));
}

#[test]
fn expr_literals() {
    insta::assert_snapshot!(table(
        &[
            "'single'",
            "\"double\"",
            r#"'esc \n \t \\ \' \" \d'"#,
            "''",
            "42",
            "4.25",
            "true",
            "false",
            "null",
            "500ms",
            "30s",
            "15m",
            "4h",
            "7d",
            "2w",
            "informational",
            "low",
            "medium",
            "high",
            "[]",
            "[1, 'a', [true]]",
            "[1, 2,]",
            "'ünïcode ✓'",
        ],
        sexpr
    ));
}

#[test]
fn expr_operators_parse() {
    insta::assert_snapshot!(table(
        &[
            "a == b",
            "a != b",
            "a < b",
            "a <= b",
            "a > b",
            "a >= b",
            "a in b",
            "a not in b",
            "a not   in b",
            "a contains b",
            "a starts_with b",
            "a ends_with b",
            "a matches 'x'",
            "a + b",
            "a - b",
            "a * b",
            "a / b",
            "a % b",
            "not a",
            "-a",
            "a.b",
            "a.high",
            "a[0]",
            "f()",
            "f(a, b,)",
            "inx in index",
            "not in_cidr(x, 'y')",
            "android or orange",
            "notable",
        ],
        sexpr
    ));
}

#[test]
fn expr_syntax_errors() {
    insta::assert_snapshot!(table(
        &[
            "",
            "   ",
            "a ==",
            "a b",
            "(a",
            "a)",
            "[a, b",
            "(a]",
            "'unclosed",
            "u.domain + '\\' + u.name == 'x'",
            "a && b",
            "a || b",
            "!a",
            "a = b",
            "a === b",
            "x => x",
            "Incident.id",
            "a == b == c",
            "a < b < c",
            "a in b contains c",
            "'unknown \\q escape is kept'",
            "1.5h",
            "30min",
            "99999999999999999999d",
            "{{ a }}",
            "a.",
            "a.1",
            "f(x => )",
            "any(xs, low => true)",
            "any(xs, null => true)",
            "1 +",
            "and",
            "a.b(c)",
        ],
        sexpr
    ));
}

#[test]
fn expr_chained_comparison_is_allowed_with_parentheses() {
    assert_eq!(sexpr("(a == b) == c"), "(== (== a b) c)");
    assert_eq!(sexpr("a == (b == c)"), "(== a (== b c))");
    // `not` in between does not hide a chain; on one comparison it stays allowed.
    for chained in ["true == not true == false", "a == not b == c"] {
        let ds = errors(chained);
        assert!(
            ds.iter()
                .any(|d| d.message.contains("comparisons cannot be chained")),
            "{chained}: {ds:?}"
        );
    }
    assert_eq!(sexpr("a == not b"), "(== a (not b))");
    assert_eq!(sexpr("not a == b"), "(not (== a b))");
}

// ---- bounds ----------------------------------------------------------------------------------

/// Runs `f` on a thread with a small stack, so deep recursion would crash the test.
fn on_small_stack(f: impl FnOnce() + Send + 'static) {
    let handle = std::thread::Builder::new()
        .stack_size(1 << 20)
        .spawn(f)
        .unwrap();
    handle.join().unwrap();
}

#[track_caller]
fn assert_too_complex(text: &str) {
    let start = Instant::now();
    let ds = errors(text);
    assert!(
        start.elapsed() < Duration::from_secs(2),
        "slow on {} bytes",
        text.len()
    );
    assert_eq!(ds.len(), 1);
    assert_eq!(ds[0].code, Code::ExprTooComplex, "{}", ds[0].message);
}

#[test]
fn expr_deep_nesting_is_rejected_quickly() {
    on_small_stack(|| {
        let deep = "(".repeat(100_000);
        let ds = errors(&deep);
        assert_eq!(ds[0].code, Code::ExprTooComplex);

        let parens = format!("{}x{}", "(".repeat(65), ")".repeat(65));
        let ds = errors(&parens);
        assert_eq!(ds[0].code, Code::ExprTooComplex);
        assert_eq!(ds[0].span, Span::new(64, 65), "points at the 65th bracket");
        assert!(ds[0].message.contains("nested too deeply"));

        let brackets = format!("{}1{}", "[".repeat(65), "]".repeat(65));
        assert_too_complex(&brackets);

        // Exactly at the limit is fine.
        let fine = format!("{}1{}", "(".repeat(64), ")".repeat(64));
        assert_eq!(ok(&fine).constant(), Some(Value::Number(1.0)));

        // Under the length limit, but deep in other ways.
        assert_too_complex(&format!("{}true", "not ".repeat(2000)));
        assert_too_complex(&format!("{}1", "-".repeat(8000)));
        assert_too_complex(&format!("incident{}", ".id".repeat(2000)));
        assert_too_complex(&format!("1{}", " + 1".repeat(2000)));
        assert_too_complex(&format!("1{}", "[0]".repeat(2000)));
        assert_too_complex(&"x".repeat(MAX_EXPR_LEN + 1));
    });
}

#[test]
fn expr_unbalanced_deep_input_is_fast() {
    on_small_stack(|| {
        for text in [
            format!("{}x", "f(".repeat(64)),
            format!("{}x", "any(l, x => ".repeat(64)),
            "[[(".repeat(21),
            format!("{}x", "(f(g([".repeat(16)),
            format!("{}x)", "f(x, (".repeat(32)),
            "f(".repeat(4000),
        ] {
            let start = Instant::now();
            let ds = errors(&text);
            assert!(!ds.is_empty());
            assert!(start.elapsed() < Duration::from_secs(2), "slow: {text}");
        }
    });
}

#[test]
fn expr_limits_leave_room_for_real_expressions() {
    on_small_stack(|| {
        // A long `or` chain within the tree-depth limit checks and evaluates on a small stack.
        let chain = vec!["incident.id == 'x'"; 200].join(" or ");
        let e = ok(&chain);
        let vars = vars();
        assert_eq!(e.eval(&env(&vars)), Value::Bool(false));
        let nested = format!(
            "{}incident.severity{}",
            "first([".repeat(30),
            "])".repeat(30)
        );
        assert_eq!(ok(&nested).eval(&env(&vars)), Value::Severity(3));
    });
}

// ---- checking --------------------------------------------------------------------------------

#[test]
fn expr_types() {
    let cases = [
        ("now() - incident.created > 1h", "bool"),
        ("now() - incident.created", "duration"),
        ("incident.created + 30m", "time"),
        ("30m + incident.created", "time"),
        ("incident.created - 1d", "time"),
        ("1h - 30m", "duration"),
        ("2 * 30m", "duration"),
        ("30m * 2", "duration"),
        ("1 + 2 * 3 % 4 / 5 - 6", "number"),
        ("-30m", "duration"),
        ("incident.devices", "list<device>"),
        ("incident.devices[0]", "device"),
        ("incident.alerts[0].entities", "list<entity>"),
        ("first(incident.users).upn", "string"),
        ("map(incident.devices, d => d.hostname)", "list<string>"),
        (
            "filter(incident.entities, e => e.verdict == 'malicious')",
            "list<entity>",
        ),
        ("distinct(incident.tags)", "list<string>"),
        ("count(incident.alerts)", "number"),
        ("len('abc')", "number"),
        ("ip('10.0.0.1')", "ip"),
        ("upper(incident.id)", "string"),
        ("[]", "list<any>"),
        ("[null]", "list<null>"),
        ("[null, 1]", "list<number>"),
        ("[1, null]", "list<number>"),
        ("null", "null"),
        ("steps.isolate.output.ok", "any"),
        ("steps.x == 1", "bool"),
        ("entity.ip_addresses[0]", "ip"),
        ("inputs.wait", "duration"),
        ("incident.severity", "severity"),
        ("null + 1", "null"),
    ];
    for (text, ty) in cases {
        assert_eq!(ok(text).ty().to_string(), ty, "{text}");
    }
}

#[test]
fn expr_check_errors() {
    insta::assert_snapshot!(table(
        &[
            "incident.severty",
            "incident.severity > 3",
            "incident.severity == 'critical'",
            "incident.status == 'resolvd'",
            "'resolvd' == incident.status",
            "incident.status in ['new', 'closd', 'zzzzzz']",
            "any(incident.devices, d => d.risk_score != 'hihg')",
            "any(incident.entities, e => e.roles contains 'atacker')",
            "'atacker' in entity.roles",
            "incidnet.id",
            "nothing_like_it",
            "now",
            "foo(1)",
            "lenn(incident.tags)",
            "incident.title and true",
            "not incident.title",
            "incident.tags or false",
            "incident.created > 1h",
            "incident.created > 5",
            "inputs.wait > 5",
            "incident.created < incident.created + 1",
            "inputs.wait / 2",
            "true < false",
            "incident.tags < incident.tags",
            "incident.title == 3",
            "1 in incident.tags",
            "'a' in incident.title",
            "incident.title contains 1",
            "3 contains 1",
            "incident.tags starts_with 'a'",
            "1 matches 'a'",
            "incident.title matches incident.id",
            "incident.title matches '(unclosed'",
            "incident.title matches 'a{99999}{99999}'",
            "in_cidr(entity.ip_addresses[0], '10.0.0.0/33')",
            "in_cidr(entity.ip_addresses[0], 'not a network')",
            "in_cidr(entity.hostname, '10.0.0.0/8')",
            "in_cidr(entity.ip_addresses[0], inputs.reason)",
            "incident.devices.hostname",
            "incident.devices.length > 1",
            "incident.id.length",
            "incident.id[0]",
            "incident.tags['a']",
            "-'a'",
            "'a' + 1",
            "'a' - 'b'",
            "incident.created + incident.created",
            "[1, 'a']",
            "any(incident.tags)",
            "any(incident.tags, t => t)",
            "any(incident.title, t => true)",
            "count(incident.tags, 1, 2)",
            "now(1)",
            "len(x => x)",
            "len(3)",
            "lower(3)",
            "map(incident.tags, 3)",
            "any(incident.devices, d => d.hostnme == 'x')",
            "any(incident.devices, d => any(d.ip_addresses, a => d.bogus))",
            "foo(x => x.bar, incidnt)",
            "incident.severity in ['high', 'critcal']",
            "incident.sevrity > 3 and incident.titel == 1",
        ],
        error_text
    ));
}

#[test]
fn expr_unknown_field_points_at_the_name() {
    let text = "incident.severty >= high";
    let ds = errors(text);
    assert_eq!(ds.len(), 1);
    assert_eq!(ds[0].code, Code::UnknownName);
    assert_eq!(&text[ds[0].span.range()], "severty");
    assert_eq!(ds[0].message, "unknown field `severty` on `incident`");
    assert_eq!(ds[0].help.as_deref(), Some("did you mean `severity`?"));
}

#[test]
fn expr_severity_compared_with_number() {
    let text = "incident.severity > 3";
    let ds = errors(text);
    assert_eq!(ds.len(), 1);
    assert_eq!(ds[0].code, Code::TypeMismatch);
    assert_eq!(ds[0].message, "cannot compare `severity` with `number`");
    assert_eq!(
        ds[0].help.as_deref(),
        Some("compare with a severity: `informational`, `low`, `medium` or `high`")
    );
    assert_eq!(&text[ds[0].span.range()], text);
}

#[test]
fn expr_known_values() {
    let text = "incident.status == 'resolvd'";
    let ds = errors(text);
    assert_eq!(ds.len(), 1);
    assert_eq!(ds[0].code, Code::TypeMismatch);
    assert_eq!(
        ds[0].message,
        "`resolvd` is not a known value of `incident.status`"
    );
    assert_eq!(ds[0].help.as_deref(), Some("did you mean `resolved`?"));
    assert_eq!(&text[ds[0].span.range()], "'resolvd'");
    ok("incident.status == 'resolved'");
    ok("incident.status != 'new'");
    ok("incident.status in ['new', 'active']");
    ok("incident.classification == 'true_positive'");
    ok("'attacker' in entity.roles");
    // Fields without known values accept anything.
    ok("incident.title == 'whatever'");
    // Values of a field through `map`, `filter`, `distinct`, `first` and a list of it.
    for text in [
        "'open' in map(incident.alerts, a => a.status)",
        "map(incident.alerts, a => a.status) contains 'open'",
        "'open' in distinct(map(incident.alerts, a => a.status))",
        "first(map(incident.alerts, a => a.status)) == 'open'",
        "'open' in [incident.status]",
        // A list literal looked in for a field's value: each item is one of its values.
        "['resolved', 'open'] contains incident.status",
        "any(incident.alerts, a => ['open'] contains a.status)",
    ] {
        let ds = errors(text);
        assert!(
            ds.iter()
                .any(|d| d.message.contains("`open` is not a known value of")),
            "{text}: {ds:?}"
        );
    }
    ok("'resolved' in map(incident.alerts, a => a.status)");
    ok("['resolved', 'new'] contains incident.status");
    // A literal a text field contains is a part of it, not one of its values.
    ok("'resolved or not' contains incident.status");
    // Open enumerations: each item in snake_case.
    let ds = errors("any(incident.alerts, a => ['InitialAccess'] contains a.category)");
    assert_eq!(ds.len(), 1, "{ds:?}");
    assert!(
        ds[0]
            .message
            .contains("its values are written in snake_case"),
        "{ds:?}"
    );
    ok("'resolved' in [incident.status, incident.title]");
    ok("'anything' in map(incident.alerts, a => a.title)");
}

/// A lambda parameter over a list of a field's values, and an item of such a list, hold values
/// of that field: literals compared with them are checked as with the field itself, where they
/// were accepted and never matched (values are `compromised`, never `Compromised`).
#[test]
fn expr_known_values_through_lambdas_and_indexing() {
    let not_known = "`Compromised` is not a known value of `device.roles`";
    for (text, literal) in [
        (
            "any(entity.roles, r => r == 'Compromised')",
            "'Compromised'",
        ),
        (
            "all(entity.roles, r => r != 'Compromised')",
            "'Compromised'",
        ),
        (
            "count(entity.roles, r => r in ['attacker', 'Compromised']) > 0",
            "'Compromised'",
        ),
        ("entity.roles[0] == 'Compromised'", "'Compromised'"),
        (
            "any(incident.devices, d => any(d.roles, r => r == 'Compromised'))",
            "'Compromised'",
        ),
        (
            "any(filter(entity.roles, r => r != 'attacker'), r => r == 'Compromised')",
            "'Compromised'",
        ),
        (
            "distinct(map(incident.devices, d => d.roles[0]))[0] == 'Compromised'",
            "'Compromised'",
        ),
        // A list of lists of roles: its items are lists of roles.
        (
            "any(map(incident.devices, d => d.roles), rs => rs contains 'Compromised')",
            "'Compromised'",
        ),
    ] {
        let ds = errors(text);
        assert_eq!(ds.len(), 1, "{}", render(text, &ds));
        assert_eq!(ds[0].code, Code::TypeMismatch, "{text}");
        assert_eq!(ds[0].message, not_known, "{text}");
        assert_eq!(ds[0].help.as_deref(), Some("did you mean `compromised`?"));
        assert_eq!(&text[ds[0].span.range()], literal, "{text}");
    }
    // Open enumerations: spelled in snake_case.
    let text = "any(map(incident.alerts, a => a.category), c => c == 'InitialAccess')";
    let ds = errors(text);
    assert_eq!(
        ds[0].message,
        "`InitialAccess` never equals `alert.category`: its values are written in snake_case"
    );
    // The device's sensor states too; its platform is lowercase, its words not split.
    for (text, message, help) in [
        (
            "any(incident.devices, d => d.health_status == 'ImpairedCommunication')",
            "`ImpairedCommunication` never equals `device.health_status`: its values are written in snake_case",
            "write `impaired_communication`",
        ),
        (
            "any(incident.devices, d => d.onboarding_status in ['onboarded', 'CanBeOnboarded'])",
            "`CanBeOnboarded` never equals `device.onboarding_status`: its values are written in snake_case",
            "write `can_be_onboarded`",
        ),
        (
            "any(incident.devices, d => d.os_platform == 'WindowsServer2019')",
            "`WindowsServer2019` never equals `device.os_platform`: its values are written in lowercase",
            "write `windowsserver2019`",
        ),
    ] {
        let ds = errors(text);
        assert_eq!(ds.len(), 1, "{}", render(text, &ds));
        assert_eq!(ds[0].message, message);
        assert_eq!(ds[0].help.as_deref(), Some(help));
    }
    ok("any(incident.devices, d => d.os_platform == 'windowsserver2019' or d.av_status == 'not_updated')");
    // Enumerated text has no order, through a parameter too.
    for text in [
        "any(map(incident.devices, d => d.risk_score), r => r >= 'medium')",
        "map(incident.devices, d => d.risk_score)[0] < 'high'",
    ] {
        let ds = errors(text);
        assert_eq!(ds.len(), 1, "{}", render(text, &ds));
        assert!(
            ds[0].message.contains("is a name, not a rank"),
            "{}",
            render(text, &ds)
        );
    }
    // Known values, and parameters of lists whose values are not enumerated, are fine.
    for text in [
        "any(entity.roles, r => r == 'compromised')",
        "entity.roles[0] == 'compromised'",
        "any(incident.devices, d => any(d.roles, r => r in ['compromised', 'attacker']))",
        "any(map(incident.devices, d => d.risk_score), r => r in ['medium', 'high'])",
        "any(incident.tags, t => t == 'Anything')",
        "incident.tags[0] == 'Anything'",
        "any(map(incident.alerts, a => a.title), t => t == 'Anything')",
        // The inner `r` shadows the outer one, whose values are roles.
        "any(entity.roles, r => any(incident.tags, r => r == 'Anything'))",
    ] {
        ok(text);
    }
}

#[test]
fn expr_regex_and_cidr_errors() {
    let text = "incident.title matches '(ab'";
    let ds = errors(text);
    assert_eq!(ds[0].code, Code::InvalidRegex);
    assert_eq!(&text[ds[0].span.range()], "'(ab'");

    let text = "in_cidr(entity.ip_addresses[0], '300.0.0.0/8')";
    let ds = errors(text);
    assert_eq!(ds[0].code, Code::InvalidCidr);
    assert_eq!(&text[ds[0].span.range()], "'300.0.0.0/8'");
    assert_eq!(ds[0].message, "`300.0.0.0/8` is not a valid CIDR network");
    // One reading of an address: leading zeros, spaces and odd prefixes are refused, not
    // guessed at.
    for bad in [
        "010.0.0.0/8",
        "10.0.0.0/08",
        " 10.0.0.0/8 ",
        "10.0.0.0/",
        "10.0.0.0/+8",
        "1.2.3.4/33",
    ] {
        let text = format!("in_cidr(entity.ip_addresses[0], '{bad}')");
        assert_eq!(errors(&text)[0].code, Code::InvalidCidr, "{bad}");
    }
    for good in [
        "10.0.0.0/8",
        "0.0.0.0/0",
        "10.0.0.1",
        "2001:db8::/32",
        "::ffff:10.0.0.0/104",
    ] {
        ok(&format!("in_cidr(entity.ip_addresses[0], '{good}')"));
    }

    // Huge repetitions hit the size limit instead of eating memory.
    let text = "incident.title matches '(\\w{100}){100}'";
    let start = Instant::now();
    assert_eq!(errors(text)[0].code, Code::InvalidRegex);
    assert!(start.elapsed() < Duration::from_secs(2));
}

/// The regexes of one compilation share one budget: past it, a new pattern is an RP0204 at its
/// literal, every later new pattern too, and a pattern compiled before is still shared.
#[test]
fn expr_regexes_of_a_compilation_are_bounded_together() {
    let scope = scope();
    let budget = 1 << 20;
    let mut regexes = Regexes::with_budget(budget);
    let mut first_over = None;
    for i in 0..40 {
        // `\w` is a large Unicode class: about 120 KiB twice.
        let text = format!("incident.title matches '\\w{{2}}{i}'");
        match compile_with(ExprSource::detached(&text), &scope, None, &mut regexes) {
            Ok(_) => assert!(first_over.is_none(), "`{text}` compiled past the bound"),
            Err(ds) => {
                assert_eq!(ds.len(), 1, "{}", render(&text, &ds));
                let d = &ds[0];
                assert_eq!(d.code, Code::InvalidRegex);
                assert_eq!(&text[d.span.range()], format!("'\\w{{2}}{i}'"));
                assert!(d.message.contains("does not fit"), "{}", d.message);
                assert_eq!(
                    d.label.as_deref(),
                    Some("the library's patterns take more than 1 MiB together")
                );
                assert!(d.help.as_deref().unwrap_or("").contains("(?-u:\\w)"));
                first_over.get_or_insert(i);
            }
        }
        assert!(regexes.spent() <= budget);
    }
    let first_over = first_over.expect("the bound is reached");
    assert!(first_over >= 4, "{first_over} patterns fit");
    assert_eq!(regexes.len(), first_over);
    // Spent: no new pattern fits, not even a tiny one; those compiled before still do.
    let tiny = "incident.title matches '^x'";
    assert!(compile_with(ExprSource::detached(tiny), &scope, None, &mut regexes).is_err());
    let again = "incident.title matches '\\w{2}0'";
    assert!(compile_with(ExprSource::detached(again), &scope, None, &mut regexes).is_ok());

    // Patterns too large on their own spend the budget too, so that compiling stays bounded.
    let mut regexes = Regexes::with_budget(4 << 20);
    let start = Instant::now();
    let codes: Vec<String> = (0..20)
        .map(|i| {
            let text = format!("incident.title matches '(\\w{{100}}){{100}}{i}'");
            let ds = compile_with(ExprSource::detached(&text), &scope, None, &mut regexes)
                .expect_err("too large");
            assert_eq!(ds[0].code, Code::InvalidRegex);
            ds[0].message.clone()
        })
        .collect();
    assert!(
        codes[0].contains("too large a regular expression"),
        "{}",
        codes[0]
    );
    assert!(codes[19].contains("does not fit"), "{}", codes[19]);
    assert!(start.elapsed() < Duration::from_secs(10));
}

/// What a pattern's searches cache is counted with it, so the patterns that fit bound the
/// memory of searching too; a search past the cache still gives the right answer.
#[test]
fn expr_search_caches_are_counted_with_their_pattern() {
    use super::regexes::search_memory;
    let scope = scope();
    let budget = 1 << 20;
    let mut regexes = Regexes::with_budget(budget);
    let fit = (0..100)
        .take_while(|i| {
            let text = format!("incident.title matches '^x{i}'");
            compile_with(ExprSource::detached(&text), &scope, None, &mut regexes).is_ok()
        })
        .count();
    assert!(
        fit > 0 && fit <= budget / search_memory(0),
        "{fit} tiny patterns fit in 1 MiB"
    );

    // `\w{20}` over long text of word characters takes more DFA states than the cache holds.
    let mut regexes = Regexes::with_budget(4 << 20);
    let text = "incident.title matches '\\w{20}Z'";
    let e = compile_with(ExprSource::detached(text), &scope, None, &mut regexes)
        .unwrap_or_else(|ds| panic!("{}", render(text, &ds)));
    let title = |t: String| {
        let mut v = vars();
        if let Value::Record(r) = &mut v[0] {
            let (i, _) = r.ty().field("title").expect("title");
            r.set(i, Value::from(t.as_str()));
        }
        v
    };
    let words: String = (0..20_000u32)
        .map(|i| char::from_u32(0x4e00 + (i * 7919) % 20_000).unwrap_or('a'))
        .collect();
    assert_eq!(e.eval(&env(&title(words.clone()))), Value::Bool(false));
    assert_eq!(e.eval(&env(&title(format!("{words}Z")))), Value::Bool(true));
}

/// The same pattern is compiled once per compilation, whatever the number of its uses, and
/// the shared regex matches as its own would.
#[test]
fn expr_identical_patterns_are_compiled_once() {
    let scope = scope();
    let mut regexes = Regexes::with_budget(1 << 20);
    let vars = vars();
    let text = "incident.title matches '(?i)\\w{2}somware' or incident.description matches '(?i)\\w{2}somware'";
    let mut spent = None;
    for _ in 0..200 {
        let e = compile_with(ExprSource::detached(text), &scope, None, &mut regexes)
            .unwrap_or_else(|ds| panic!("{}", render(text, &ds)));
        assert_eq!(e.eval(&env(&vars)), Value::Bool(true));
        assert_eq!(*spent.get_or_insert(regexes.spent()), regexes.spent());
    }
    assert_eq!(regexes.len(), 1);
    // Templates of the compilation share them too.
    let template = "{{ incident.title matches '(?i)\\w{2}somware' }}";
    let t = compile_template_with(ExprSource::detached(template), &scope, &mut regexes);
    assert!(t.is_ok());
    assert_eq!(regexes.len(), 1);
    assert_eq!(spent, Some(regexes.spent()));
}

#[test]
fn expr_reports_several_errors() {
    let ds = errors("incident.sevrity > 3 and incident.titel == 1 and nope");
    let codes: Vec<Code> = ds.iter().map(|d| d.code).collect();
    assert_eq!(
        codes,
        [Code::UnknownName, Code::UnknownName, Code::UnknownName]
    );
}

#[test]
fn expr_expected_type() {
    let ds = compile(
        ExprSource::detached("incident.title"),
        &scope(),
        Some(&Type::Bool),
    )
    .unwrap_err();
    assert_eq!(ds[0].code, Code::TypeMismatch);
    assert_eq!(ds[0].message, "expected `bool`, found `string`");
    assert_eq!(ds[0].span, Span::new(0, 14));

    let e = compile(
        ExprSource::detached("'High'"),
        &scope(),
        Some(&Type::Severity),
    )
    .unwrap();
    assert_eq!(e.constant(), Some(Value::Severity(3)));
    assert!(compile(ExprSource::detached("true"), &scope(), Some(&Type::Bool)).is_ok());
    assert!(compile(
        ExprSource::detached("steps.a.ok"),
        &scope(),
        Some(&Type::Bool)
    )
    .is_ok());
    assert!(compile(
        ExprSource::detached("incident.devices"),
        &scope(),
        Some(&Type::list(Type::Record(model::any_entity())))
    )
    .is_ok());
}

#[test]
fn expr_spans_are_file_spans() {
    // The expression sits at byte 100 of file 7.
    let src = ExprSource {
        text: "incident.severty > 3",
        file: FileId(7),
        offset: 100,
    };
    let ds = compile(src, &scope(), None).unwrap_err();
    assert_eq!(ds[0].file, FileId(7));
    assert_eq!(ds[0].span, Span::new(109, 116));
    let e = compile(
        ExprSource {
            text: " incident.id ",
            file: FileId(1),
            offset: 10,
        },
        &scope(),
        None,
    )
    .unwrap();
    assert_eq!(e.span(), Span::new(11, 22));
    let ds = compile(
        ExprSource {
            text: "(a",
            file: FileId(1),
            offset: 10,
        },
        &scope(),
        None,
    )
    .unwrap_err();
    assert_eq!(ds[0].span, Span::new(10, 11));
}

#[test]
fn expr_severity_strings() {
    assert_eq!(eval("incident.severity >= 'High'"), Value::Bool(true));
    // An IPv4-mapped address is its IPv4 address, as the importer writes it.
    assert_eq!(
        eval("ip('::ffff:1.2.3.4') == ip('1.2.3.4')"),
        Value::Bool(true)
    );
    assert_eq!(
        eval("ip('1.2.3.4') in [ip('::FFFF:1.2.3.4')]"),
        Value::Bool(true)
    );
    assert_eq!(eval("ip('::ffff:1.2.3.4')"), eval("ip('1.2.3.4')"));
    for mapped_net in [
        "in_cidr(ip('::ffff:10.0.0.1'), '::ffff:10.0.0.0/104')",
        "in_cidr(ip('10.0.0.1'), '::ffff:10.0.0.0/104')",
        "in_cidr(ip('::ffff:10.0.0.1'), '10.0.0.0/8')",
    ] {
        assert_eq!(eval(mapped_net), Value::Bool(true), "{mapped_net}");
    }
    assert_eq!(
        eval("in_cidr(ip('11.0.0.1'), '::ffff:10.0.0.0/104')"),
        Value::Bool(false)
    );
    assert_eq!(eval("'medium' < incident.severity"), Value::Bool(true));
    assert_eq!(
        eval("incident.severity in ['high', 'medium']"),
        Value::Bool(true)
    );
    // Looked for in a list literal, as `in` looks in one.
    assert_eq!(
        eval("['Medium', 'high'] contains incident.severity"),
        Value::Bool(true)
    );
    assert_eq!(
        eval("['low'] contains incident.severity"),
        Value::Bool(false)
    );
    let ds = errors("['high', 'critcal'] contains incident.severity");
    assert_eq!(ds.len(), 1, "{ds:?}");
    assert_eq!(ds[0].message, "`critcal` is not a severity");
    assert_eq!(eval("incident.severity == 'low'"), Value::Bool(false));
    let ds = errors("incident.severity == 'critical'");
    assert_eq!(ds[0].message, "`critical` is not a severity");
    assert_eq!(ds[0].span, Span::new(21, 31));
}

// ---- evaluation ------------------------------------------------------------------------------

#[test]
fn expr_eval_table() {
    let vars = vars();
    insta::assert_snapshot!(table(
        &[
            // literals and arithmetic
            "1 + 2 * 3",
            "7 % 4",
            "10 / 4",
            "1 / 0",
            "1 % 0",
            "-(2 - 5)",
            "2 * 30m",
            "90m",
            "-30m",
            "1h - 30m",
            "now() - incident.created",
            "now() - incident.created > 1h",
            "now() - incident.created > 3h",
            "incident.created + 1d",
            "incident.created - 30s",
            "[1, 2][5]",
            "[1, 2][1]",
            "[1, 2][-1]",
            "[1, 2][0.5]",
            // comparisons
            "1 < 2",
            "2 <= 2",
            "'b' > 'a'",
            "30m >= 1h",
            "high > medium",
            "low < informational",
            "incident.severity == high",
            "incident.severity != high",
            "ip('10.0.0.1') < ip('10.0.0.2')",
            "null == null",
            "incident.assigned_to == null",
            "incident.assigned_to != null",
            "incident.assigned_to < 'x'",
            "incident.assigned_to >= 'x'",
            // boolean logic
            "true and false",
            "true or false",
            "not true",
            "not incident.users[0].is_admin",
            "not incident.users[0].is_admin == null",
            // strings and lists
            "'CONTOSO' + '\\\\' + incident.users[0].name",
            "lower('CONTOSO\\\\' + incident.users[0].name) == 'contoso\\\\alice'",
            "incident.assigned_to + 'x'",
            "'vip' in incident.tags",
            "'nope' not in incident.tags",
            "incident.tags contains 'ransomware'",
            "incident.title contains 'Ransom'",
            "incident.title starts_with 'Multi'",
            "incident.title ends_with 'ware'",
            "incident.title matches '(?i)ransomware'",
            "incident.title matches '^Ransom'",
            "incident.id matches '^INC-\\d+$'",
            "incident.id matches \"^INC-\\\\d+$\"",
            "high in [low, high]",
            "[1, 2] == [1, 2]",
            "[1, 2] != [2, 1]",
            // functions
            "any(incident.devices, d => d.risk_score == 'high')",
            "all(incident.devices, d => d.risk_score == 'high')",
            "all(incident.devices, d => d.os_build > 1000)",
            "count(incident.devices)",
            "count(incident.entities, e => e.verdict in ['malicious', 'suspicious'])",
            "filter(incident.devices, d => d.is_server)[0].hostname",
            "map(incident.devices, d => d.hostname)",
            "map(incident.alerts, a => a.severity)",
            "first(incident.users).upn",
            "first(incident.ips)",
            "first([])",
            "distinct(incident.tags)",
            "distinct([1, 1.0, 2, 2, null, null])",
            "distinct(['b', 'a', 'b'])",
            "len(incident.tags)",
            "len('héllo')",
            "len(incident.assigned_to)",
            "lower(incident.id)",
            "upper(incident.users[0].upn)",
            "lower(incident.assigned_to)",
            "now()",
            "in_cidr(ip('10.1.2.3'), '10.0.0.0/8')",
            "in_cidr(ip('11.1.2.3'), '10.0.0.0/8')",
            "in_cidr(ip('::ffff:10.1.2.3'), '10.0.0.0/8')",
            "in_cidr(ip('2001:db8::1'), '2001:db8::/32')",
            "in_cidr(ip('10.0.0.1'), '10.0.0.1')",
            "any(entity.ip_addresses, a => in_cidr(a, '192.0.2.0/24'))",
            "ip('not an ip')",
            "ip(' 192.0.2.1 ')",
            // nested lambdas and shadowing
            "any(incident.alerts, a => any(a.entities, e => e.verdict == 'malicious' and a.severity >= high))",
            "map(incident.alerts, a => count(a.entities, e => e.kind == 'device'))",
            "map(incident.alerts, incident => incident.id)",
            "map(map(incident.devices, d => d.ip_addresses), ips => first(ips))",
            "any(filter(incident.entities, e => e.kind == 'device'), d => d.name == 'srv1')",
            "map(incident.alerts, a => map(a.entities, e => a.id))",
            "any(map(incident.alerts, a => a.entities), es => any(es, e => e.verdict == 'malicious'))",
            "map(incident.alerts, a => count(filter(a.entities, e => true), e => e.id != a.id and a.severity == high))",
            "map(filter(incident.alerts, a => true), a => a.id)",
            "map(incident.devices, d => 'host ' == d.name)",
            "count(incident.alerts, a => medium < a.severity)",
            // null-safety
            "incident.users[5].upn",
            "first(incident.urls).url",
            "any(incident.ips, i => true)",
            "all(incident.ips, i => false)",
            "incident.devices[5].os_build + 1",
            "steps.isolate.output.ok",
            "steps.isolate.output.ok == true",
            "inputs.reason",
            "inputs.dry_run",
            "[incident.id, inputs.reason]",
        ],
        |text| format!("{:?}", ok(text).eval(&env(&vars)))
    ));
}

#[test]
fn expr_eval_totality_on_odd_values() {
    // Variables of the wrong shape (or missing) never panic: they read as null.
    let e = ok("incident.severity >= high and len(incident.title) > 3 and incident.devices[0].hostname == 'x'");
    for vars in [
        vec![],
        vec![Value::Null],
        vec![Value::Number(1.0), Value::from("x")],
        vec![Value::list([Value::Null])],
        vec![Value::record(
            model::alert(),
            [("severity", Value::from("high"))],
        )],
    ] {
        assert_eq!(e.eval(&env(&vars)), Value::Bool(false));
        assert!(!e.eval_bool(&env(&vars)));
    }
    let e = ok("incident.created - incident.created + 1d");
    let vars = vec![Value::record(
        model::incident(),
        [("created", Value::Time(i64::MIN))],
    )];
    assert_eq!(e.eval(&env(&vars)), Value::Duration(86_400_000));
    let e = ok("incident.created - 1d");
    assert_eq!(e.eval(&env(&vars)), Value::Null, "overflow is null");
    // Past year 9999 (or before year 0) a time has no RFC 3339 form: null.
    let last = crate::value::parse_time("9999-12-31T23:59:59Z").expect("a time");
    let vars_last = vec![Value::record(
        model::incident(),
        [("created", Value::Time(last))],
    )];
    assert_eq!(
        ok("incident.created + 1d").eval(&env(&vars_last)),
        Value::Null
    );
    assert_eq!(
        ok("incident.created - 1d").eval(&env(&vars_last)),
        Value::Time(last - 86_400_000)
    );
    assert_eq!(
        ok("incident.created - 3000000d - 1000000d").eval(&env(&vars_last)),
        Value::Null
    );
    let e = ok("inputs.wait * 1000000000000");
    let vars = vec![
        Value::Null,
        Value::Null,
        Value::record(inputs_type(), [("wait", Value::Duration(i64::MAX))]),
    ];
    assert_eq!(e.eval(&env(&vars)), Value::Null);
    let e = ok("-inputs.wait");
    let vars = vec![
        Value::Null,
        Value::Null,
        Value::record(inputs_type(), [("wait", Value::Duration(i64::MIN))]),
    ];
    assert_eq!(e.eval(&env(&vars)), Value::Null);
    // Numbers past the largest float are null, not infinities or NaN.
    let e300 = format!("1{}", "0".repeat(300));
    let e308 = format!("1{}", "0".repeat(308));
    assert_eq!(eval(&format!("{e300} * {e300}")), Value::Null);
    assert_eq!(
        eval(&format!("{e300} * {e300} - {e300} * {e300}")),
        Value::Null
    );
    assert_eq!(eval(&format!("-{e308} - {e308}")), Value::Null);
    assert_eq!(eval(&format!("{e308} + 1")), Value::Number(1e308));
    let big = "9".repeat(400);
    assert!(
        error_text(&big).contains("is too large a number"),
        "{}",
        error_text(&big)
    );
}

#[test]
fn expr_eval_bool_and_constants() {
    let vars = vars();
    assert!(ok("incident.severity >= high").eval_bool(&env(&vars)));
    assert!(!ok("incident.severity < high").eval_bool(&env(&vars)));
    assert_eq!(ok("false").constant(), Some(Value::Bool(false)));
    assert_eq!(ok("2 * 30m").constant(), Some(Value::Duration(3_600_000)));
    assert_eq!(ok("not (1 > 2)").constant(), Some(Value::Bool(true)));
    assert_eq!(ok("'a' in ['a', 'b']").constant(), Some(Value::Bool(true)));
    assert_eq!(ok("lower('ABC')").constant(), Some(Value::from("abc")));
    assert_eq!(
        ok("count([1, 2], x => x > 1)").constant(),
        Some(Value::Number(1.0))
    );
    assert_eq!(ok("now()").constant(), None);
    assert_eq!(ok("incident.id").constant(), None);
    assert_eq!(ok("any(incident.tags, t => true)").constant(), None);
}

#[test]
fn expr_references() {
    let e = ok("steps.isolate.output.ok and any(incident.devices, d => d.hostname == inputs.reason) and steps.notify.status == 'done' and entity.ip_addresses[0] == ip('1.2.3.4')");
    let text = "steps.isolate.output.ok and any(incident.devices, d => d.hostname == inputs.reason) and steps.notify.status == 'done' and entity.ip_addresses[0] == ip('1.2.3.4')";
    let refs: Vec<String> = e
        .references()
        .iter()
        .map(|(path, span)| format!("{} @ {}", path.join("."), &text[span.range()]))
        .collect();
    assert_eq!(
        refs,
        [
            "steps.isolate.output.ok @ steps.isolate.output.ok",
            "incident.devices @ incident.devices",
            "inputs.reason @ inputs.reason",
            "steps.notify.status @ steps.notify.status",
            "entity.ip_addresses @ entity.ip_addresses",
        ]
    );
    // A lambda parameter shadowing a variable is not a reference to it.
    let e = ok("map(incident.alerts, incident => incident.id)");
    let paths: Vec<Vec<String>> = e.references().into_iter().map(|(p, _)| p).collect();
    assert_eq!(paths, [vec!["incident".to_string(), "alerts".to_string()]]);
    assert!(ok("1 + 2").references().is_empty());
    let e = ok("inputs");
    assert_eq!(e.references()[0].0, ["inputs"]);
}

#[test]
fn expr_scope() {
    let mut scope = Scope::new().with("a", Type::Number);
    assert_eq!(scope.push("b", Type::String), 1);
    assert_eq!(scope.get("a"), Some((0, &Type::Number)));
    assert_eq!(scope.get("b"), Some((1, &Type::String)));
    assert_eq!(scope.get("c"), None);
    assert_eq!(scope.names().collect::<Vec<_>>(), ["a", "b"]);
    // A later variable of the same name shadows the earlier one.
    assert_eq!(scope.push("a", Type::Bool), 2);
    assert_eq!(scope.get("a"), Some((2, &Type::Bool)));
    let e = compile(
        ExprSource::detached("a and b == 'x'"),
        &scope,
        Some(&Type::Bool),
    )
    .unwrap();
    let vars = [Value::Number(1.0), Value::from("x"), Value::Bool(true)];
    assert_eq!(
        e.eval(&Env {
            vars: &vars,
            now_ms: 0
        }),
        Value::Bool(true)
    );
}

#[test]
fn expr_is_send_sync_clone() {
    fn check<T: Send + Sync + Clone + std::fmt::Debug>() {}
    check::<Expr>();
    check::<Template>();
    let e = ok("incident.severity >= high");
    let vars = vars();
    let e2 = e.clone();
    std::thread::scope(|s| {
        s.spawn(|| assert!(e2.eval_bool(&env(&vars))));
    });
    assert!(e.eval_bool(&env(&vars)));
}

// ---- templates -------------------------------------------------------------------------------

fn template(text: &str) -> Result<Template, Vec<Diagnostic>> {
    compile_template(ExprSource::detached(text), &scope())
}

#[test]
fn a_template_rendering_past_a_mebibyte_is_cut() {
    // 300 holes of a 4 KB text, each hole followed by a multi-byte character.
    let text = "{{ 'é".to_string() + &"x".repeat(4096) + "' }}é";
    let t = template(&text.repeat(300)).unwrap();
    let out = t.render(&env(&[]));
    assert!(
        out.ends_with(super::template::CUT),
        "{}",
        &out[out.len() - 60..]
    );
    assert!(out.len() <= super::template::MAX_RENDERED_BYTES + super::template::CUT.len());
    assert!(out.len() > super::template::MAX_RENDERED_BYTES - 5_000);
}

#[test]
fn a_hole_rendering_past_a_mebibyte_stops_there() {
    // 90 000 copies of a 1 KB text: 90 MB of text, were it all written before the cut.
    let items = vec!["0"; 300].join(", ");
    let text = "x".repeat(1024);
    let t = template(&format!(
        "{{{{ map([{items}], a => map([{items}], b => '{text}')) }}}}"
    ))
    .unwrap();
    let out = t.render(&env(&[]));
    assert!(out.ends_with(super::template::CUT));
    assert_eq!(
        out.len(),
        super::template::MAX_RENDERED_BYTES + super::template::CUT.len()
    );
    assert!(out.capacity() <= 4 * super::template::MAX_RENDERED_BYTES);
}

#[test]
fn expr_templates_render() {
    let vars = vars();
    let t = template("Isolated {{ entity.hostname }} for {{ incident.id }} ({{ incident.severity }}, {{ incident.tags }}, age {{ now() - incident.created }})").unwrap();
    assert_eq!(
        t.render(&env(&vars)),
        "Isolated ws1 for INC-42 (high, vip, ransomware, vip, age 2h)"
    );
    assert!(t.single().is_none());
    assert!(!t.is_constant());
    assert_eq!(t.exprs().count(), 5);

    let t = template("{{ inputs.wait }}").unwrap();
    assert_eq!(
        t.single().map(|e| e.ty().to_string()),
        Some("duration".into())
    );
    assert_eq!(t.render(&env(&vars)), "15m");

    let t = template("no holes at all }} {").unwrap();
    assert!(t.is_constant());
    assert!(t.single().is_none());
    assert_eq!(t.render(&env(&[])), "no holes at all }} {");

    let t = template("").unwrap();
    assert!(t.is_constant());
    assert_eq!(t.render(&env(&[])), "");

    let t = template("{{ '}}' }}{{'{{'}}x{{ incident.assigned_to }}y").unwrap();
    assert_eq!(t.render(&env(&vars)), "}}{{xy");

    let t = template(" {{ incident.id }}").unwrap();
    assert!(t.single().is_none(), "text around the hole");
    let t = template("{{ 1 + 1 }} items").unwrap();
    assert!(t.is_constant());
    assert_eq!(t.render(&env(&[])), "2 items");
}

#[test]
fn expr_template_errors() {
    insta::assert_snapshot!(table(
        &[
            "Isolated {{ entity.hostname",
            "a {{ }} b",
            "{{ incident.severty }} and {{ incidnt }}",
            "{{ a b }}",
            "{{ x }} {{",
            "{{ 'unclosed }}",
            "{{ incident.id } of {{ incident.title }}",
            "{{ incident.id } of {{ incident.title }} and {{ incident.severty }}",
            "{{ incident.id }: see {{ 'x' }",
            "{{ incident.id of {{ incident.titel }}",
            "{{ '}' + incident.id + \"{{\" }}",
        ],
        |text| match template(text) {
            Ok(_) => "ok".to_string(),
            Err(ds) => render(text, &ds).trim_end().replace('\n', "\n       "),
        }
    ));
    // Spans inside a template are file spans.
    let ds = compile_template(
        ExprSource {
            text: "Host {{ entity.hostnme }}",
            file: FileId(3),
            offset: 50,
        },
        &scope(),
    )
    .unwrap_err();
    assert_eq!(ds[0].code, Code::UnknownName);
    assert_eq!(ds[0].span, Span::new(50 + 15, 50 + 22));
    let ds = template("x {{ y").unwrap_err();
    assert_eq!(ds[0].code, Code::InvalidTemplate);
    assert_eq!(ds[0].span, Span::new(2, 4));
}

// ---- robustness ------------------------------------------------------------------------------

/// A tiny deterministic generator (xorshift), so the fuzz test needs no dependency.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items[(self.next() % items.len() as u64) as usize]
    }
}

#[test]
fn expr_random_token_soup_never_panics() {
    const TOKENS: &[&str] = &[
        "incident",
        "entity",
        "inputs",
        "steps",
        ".",
        "id",
        "severity",
        "devices",
        "tags",
        "created",
        "alerts",
        "entities",
        "hostname",
        "ip_addresses",
        "(",
        ")",
        "[",
        "]",
        ",",
        "'x'",
        "\"high\"",
        "'10.0.0.0/8'",
        "'(a'",
        "1",
        "0",
        "2.5",
        "30m",
        "1d",
        "true",
        "null",
        "high",
        "low",
        "and",
        "or",
        "not",
        "in",
        "not in",
        "contains",
        "starts_with",
        "matches",
        "==",
        "!=",
        "<",
        ">=",
        "+",
        "-",
        "*",
        "/",
        "%",
        "=>",
        "x",
        "d",
        "any",
        "all",
        "count",
        "filter",
        "map",
        "first",
        "distinct",
        "len",
        "lower",
        "now",
        "in_cidr",
        "ip",
        "{",
        "}",
        "'",
        "\\",
        "é",
    ];
    let vars = vars();
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    let mut compiled = 0;
    for _ in 0..20_000 {
        let n = 1 + rng.next() % 14;
        let mut text = String::new();
        for _ in 0..n {
            text.push_str(rng.pick(TOKENS));
            if !rng.next().is_multiple_of(3) {
                text.push(' ');
            }
        }
        if let Ok(e) = compile(ExprSource::detached(&text), &scope(), None) {
            compiled += 1;
            let _ = e.eval(&env(&vars));
            let _ = e.eval(&env(&[]));
            let _ = e.references();
        }
        let _ = template(&format!("a {{{{ {text} }}}} b"));
    }
    assert!(
        compiled > 100,
        "the generator should hit valid expressions: {compiled}"
    );
}

#[test]
fn expr_arbitrary_bytes_never_panic() {
    let mut rng = Rng(42);
    for len in 0..400 {
        let text: String = (0..len)
            .map(|_| {
                let c = rng.next() % 130;
                char::from_u32(c as u32).unwrap_or('?')
            })
            .collect();
        let _ = compile(ExprSource::detached(&text), &scope(), None);
        let _ = template(&text);
    }
}

#[test]
fn a_run_budget_is_shared_by_its_evaluations() {
    let scope = Scope::new().with("xs", Type::list(Type::Number));
    let xs = Value::list((0..100).map(|i| Value::Number(f64::from(i))));
    let vars = [xs];
    let env = Env {
        vars: &vars,
        now_ms: 0,
    };
    // 10,000 lambda calls an evaluation.
    let e = compile(
        ExprSource::detached("count(xs, a => count(xs, b => b > a) > 0)"),
        &scope,
        None,
    )
    .unwrap();
    let want = Value::Number(99.0);
    let (results, out) =
        with_run_budget(25_000, || (0..4).map(|_| e.eval(&env)).collect::<Vec<_>>());
    // Two evaluations fit; the third runs out partway, the fourth has nothing left.
    assert_eq!(results[..2], [want.clone(), want.clone()]);
    assert_eq!(results[2..], [Value::Null, Value::Null]);
    assert!(out);
    // Conditions spend from it too, and outside a run each evaluation has its own budget.
    let cond = compile(
        ExprSource::detached("any(xs, a => count(xs, b => b > a) > 98)"),
        &scope,
        Some(&Type::Bool),
    )
    .unwrap();
    let (held, out) = with_run_budget(10, || cond.eval_bool(&env));
    assert!(!held && out);
    assert!(cond.eval_bool(&env));
    assert_eq!(e.eval(&env), want);
}

#[test]
fn building_lists_and_scanning_text_count_as_work() {
    let scope = Scope::new()
        .with("xs", Type::list(Type::Number))
        .with("title", Type::String);
    let xs = Value::list((0..215).map(|i| Value::Number(f64::from(i))));
    let title = Value::from("a".repeat(1 << 20));
    let vars = [xs, title];
    let env = Env {
        vars: &vars,
        now_ms: 0,
    };
    // 215^3 lists of 8 items would take gigabytes; their items count, so it stops.
    let e = compile(
        ExprSource::detached("map(xs, a => map(xs, b => map(xs, c => [a, b, c, a, b, c, a, b])))"),
        &scope,
        None,
    )
    .unwrap();
    assert_eq!(e.eval(&env), Value::Null);
    // A megabyte upper-cased a thousand times a thousand times is work, not free.
    let e = compile(
        ExprSource::detached("count(xs, a => count(xs, b => len(upper(title)) > 5) > 0)"),
        &scope,
        None,
    )
    .unwrap();
    let start = Instant::now();
    let (v, out) = with_run_budget(50_000, || e.eval(&env));
    assert_eq!(v, Value::Null);
    assert!(out);
    assert!(start.elapsed() < Duration::from_secs(30));
}

#[test]
fn expr_evaluation_is_bounded() {
    let scope = Scope::new().with("xs", Type::list(Type::Number));
    let xs = Value::list((0..1000).map(|i| Value::Number(f64::from(i))));
    let vars = [xs];
    let env = Env {
        vars: &vars,
        now_ms: 0,
    };
    // 10^9 lambda calls: stopped by the budget, the result is null.
    let text = "count(xs, a => count(xs, b => count(xs, c => true) > 0) > 0)";
    let e = compile(ExprSource::detached(text), &scope, None).unwrap();
    let start = Instant::now();
    assert_eq!(e.eval(&env), Value::Null);
    let elapsed = start.elapsed();
    // A million calls is well inside the budget.
    let e = compile(
        ExprSource::detached("count(xs, a => count(xs, b => b > a) > 0)"),
        &scope,
        None,
    )
    .unwrap();
    assert_eq!(e.eval(&env), Value::Number(999.0));
    assert!(elapsed < Duration::from_secs(60), "{elapsed:?}");

    // The same shape over literal lists is not folded at compile time (too costly) and
    // compiles quickly.
    let list = format!("[{}]", vec!["0"; 600].join(","));
    let text =
        format!("count({list}, a => count({list}, b => count({list}, c => a == b) > 0) > 0)");
    let start = Instant::now();
    let e = compile(ExprSource::detached(&text), &scope, None).unwrap();
    assert!(start.elapsed() < Duration::from_secs(10));
    assert_eq!(e.constant(), None);
    assert_eq!(e.eval(&env), Value::Null);
    // Cheap closed list functions are folded.
    let e = compile(
        ExprSource::detached("count([1, 2, 3], x => x > 1)"),
        &scope,
        None,
    )
    .unwrap();
    assert_eq!(e.constant(), Some(Value::Number(2.0)));
}

/// Operations whose cost grows with the data (searching long text, comparing it, scanning long
/// lists, hashing long values) spend the work budget too: over a large incident they stop with
/// null, as list functions do, rather than run for minutes.
#[test]
fn expr_work_on_large_data_is_bounded() {
    let devices: Vec<Value> = (0..2000)
        .map(|i| device(&format!("ws{i}"), "low", "unknown", false, &[]))
        .collect();
    let big = Value::record(
        model::incident(),
        [
            ("description", s(&"d".repeat(8 << 20))),
            ("title", s(&"d".repeat(8 << 20))),
            (
                "tags",
                Value::list((0..200_000).map(|i| s(&format!("t{i}")))),
            ),
            ("entities", Value::list(devices.clone())),
            ("devices", Value::list(devices)),
        ],
    );
    let mut vars = vars();
    vars[0] = big;
    let env = env(&vars);
    const RUN: u64 = 200_000;
    let start = Instant::now();
    for text in [
        // Searches of long text, once per pair of entities.
        "count(incident.entities, a => any(incident.entities, b => incident.description contains b.name and a.name == 'q'))",
        "count(incident.entities, a => any(incident.entities, b => lower(incident.description) contains b.name))",
        "filter(incident.entities, e => incident.description starts_with incident.title)",
        "filter(incident.entities, e => incident.description ends_with incident.title)",
        "filter(incident.entities, e => incident.description matches 'x$')",
        "filter(incident.entities, e => incident.description == incident.title)",
        "filter(incident.entities, e => incident.description != incident.title)",
        "filter(incident.entities, e => incident.description < incident.title)",
        "map(incident.entities, e => len(incident.description))",
        // Long lists from the data, scanned once per entity.
        "count(incident.entities, e => e.name in incident.tags)",
        "count(incident.entities, e => incident.tags contains e.name)",
        "count(incident.entities, e => incident.tags contains 'absent')",
        "count(incident.entities, e => incident.tags == incident.tags)",
        // Long values hashed.
        "distinct(map(incident.entities, e => incident.description))",
        "distinct(map(incident.entities, e => incident.tags))",
    ] {
        // A run's budget, smaller than an evaluation's, so that the test is quick in debug
        // builds; `expr_evaluation_is_bounded` shows the evaluation's own.
        let e = ok(text);
        let (value, exhausted) = with_run_budget(RUN, || e.eval(&env));
        assert_eq!(value, Value::Null, "{text}");
        assert!(exhausted, "{text}");
        // As a condition: it does not hold, and the run knows it ran out.
        let cond = ok(&format!("{text} != null"));
        assert_eq!(
            with_run_budget(RUN, || cond.eval_bool(&env)),
            (false, true),
            "{text}"
        );
    }
    // The compiled test of a field, negated: `not null` holds, but the run ran out.
    let e = ok("not (incident.description contains 'x') and not (incident.tags contains 'x')");
    assert_eq!(with_run_budget(100, || e.eval_bool(&env)), (true, true));
    assert!(
        start.elapsed() < Duration::from_secs(120),
        "{:?}",
        start.elapsed()
    );

    // Within the budget, the same operations give their values.
    for (text, want) in [
        ("incident.description contains 'dd'", Value::Bool(true)),
        ("incident.tags contains 't199999'", Value::Bool(true)),
        ("'t5' in incident.tags", Value::Bool(true)),
        ("incident.description == incident.title", Value::Bool(true)),
        (
            "len(incident.description)",
            Value::Number(f64::from(8u32 << 20)),
        ),
        ("count(distinct(incident.tags))", Value::Number(200_000.0)),
    ] {
        let e = ok(text);
        assert_eq!(
            with_run_budget(u64::MAX, || e.eval(&env)),
            (want, false),
            "{text}"
        );
    }
}

/// `lower(x) == 'text'`, `!=` and `contains` decide ASCII text without a lowercase copy; they
/// must agree with lowercasing first, on every kind of text and constant.
#[test]
fn lower_comparisons_agree_with_lowercasing_first() {
    let texts = [
        "",
        "ransomware",
        "Ransomware",
        "RANSOMWARE",
        "Ransom",
        "ransomwares",
        "x Ransomware y",
        "İstanbul",
        "KELVIN",
        "\u{212A}elvin",
        "ΣΑΣ",
        "ß",
        "Initial_Access",
        "a\u{0}b",
    ];
    let constants = [
        "ransomware",
        "Ransomware",
        "",
        "kelvin",
        "i̇stanbul",
        "σας",
        "a\u{0}b",
        "ware y",
    ];
    let mut vars = vars();
    for text in texts {
        vars[2] = Value::record(inputs_type(), [("reason", s(text))]);
        let env = env(&vars);
        let lowered = text.to_lowercase();
        for c in constants {
            let lit = c.replace('\'', "\\'");
            for (op, want) in [
                ("==", lowered == c),
                ("!=", lowered != c),
                ("contains", lowered.contains(c)),
            ] {
                let e = ok(&format!("lower(inputs.reason) {op} '{lit}'"));
                assert_eq!(
                    e.eval(&env),
                    Value::Bool(want),
                    "lower({text:?}) {op} {c:?}"
                );
                assert_eq!(e.eval_bool(&env), want, "lower({text:?}) {op} {c:?}");
            }
        }
        // The lowercase text itself, shared or copied.
        assert_eq!(
            ok("lower(inputs.reason)").eval(&env),
            s(&lowered),
            "{text:?}"
        );
    }
    // Not text: null, as before.
    vars[2] = Value::record(inputs_type(), [("dry_run", Value::Bool(true))]);
    let env = env(&vars);
    assert_eq!(
        ok("lower(inputs.reason) == 'x'").eval(&env),
        Value::Bool(false)
    );
    assert_eq!(
        ok("lower(inputs.reason) != 'x'").eval(&env),
        Value::Bool(true)
    );
}

#[test]
fn the_keyword_list_is_the_grammars() {
    // Every listed keyword is refused as a lambda parameter, with the reason; a word that only
    // starts like one is a name.
    for word in KEYWORDS {
        let text = format!("any(xs, {word} => true)");
        match parser::parse(&text, FileId::default(), 0) {
            Ok(_) => panic!("`{word}` parsed as a parameter"),
            Err(d) => assert!(
                d.help
                    .as_deref()
                    .is_some_and(|h| h.contains("reserved word")),
                "{word}: {d:?}"
            ),
        }
        let longer = format!("any(xs, {word}x => true)");
        assert!(
            parser::parse(&longer, FileId::default(), 0).is_ok(),
            "{longer}"
        );
    }
}

/// `if: yes` is text in YAML 1.2, and a name in an expression: the help says what to write.
#[test]
fn yaml_11_booleans_are_told_to_be_written_true_or_false() {
    for (word, write) in [
        ("yes", "true"),
        ("on", "true"),
        ("no", "false"),
        ("off", "false"),
    ] {
        let text = error_text(word);
        assert!(
            text.contains(&format!(
                "`{word}` is no boolean here (YAML 1.2): write `{write}`"
            )),
            "{text}"
        );
    }
    assert!(!error_text("maybe").contains("YAML 1.2"));
    // In a lambda, a misspelt parameter is suggested instead.
    let text = error_text("any(incident.users, x => yes.is_admin)");
    assert!(!text.contains("YAML 1.2"), "{text}");
}
