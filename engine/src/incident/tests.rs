//! Tests of incident import: the three formats, detection, normalization, deduplication, the
//! incident record, errors with their paths, and the bounds.

use std::time::{Duration, Instant};

use riposte_dsl::expr::{compile, Env, ExprSource, Scope};
use riposte_dsl::model;
use riposte_dsl::types::{EntityKind, Type};
use riposte_dsl::value::{parse_time, Value};
use serde_json::json;

use super::*;

const PAGE1: &str = include_str!("testdata/graph-incidents-page1.json");
const PAGE2: &str = include_str!("testdata/graph-incidents-page2.json");

/// The example files, which must all import.
const GRAPH_EXAMPLES: &[(&str, &str)] = &[
    (
        "ransomware-two-devices.json",
        include_str!("../../../examples/incidents/ransomware-two-devices.json"),
    ),
    (
        "phishing-two-mailboxes.json",
        include_str!("../../../examples/incidents/phishing-two-mailboxes.json"),
    ),
    (
        "compromised-user-impossible-travel.json",
        include_str!("../../../examples/incidents/compromised-user-impossible-travel.json"),
    ),
    (
        "malicious-indicators-only.json",
        include_str!("../../../examples/incidents/malicious-indicators-only.json"),
    ),
    (
        "false-positive-admin-tool.json",
        include_str!("../../../examples/incidents/false-positive-admin-tool.json"),
    ),
    (
        "informational-no-entities.json",
        include_str!("../../../examples/incidents/informational-no-entities.json"),
    ),
    (
        "multi-stage-one-device.json",
        include_str!("../../../examples/incidents/multi-stage-one-device.json"),
    ),
    (
        "malware-resolved.json",
        include_str!("../../../examples/incidents/malware-resolved.json"),
    ),
];
const SENTINEL_EXAMPLE: &str =
    include_str!("../../../examples/incidents/sentinel/c2-powershell-download.json");
const NORMALIZED_EXAMPLE: &str =
    include_str!("../../../examples/incidents/normalized/phishing-two-mailboxes.json");
const FORMAT_DOC: &str = include_str!("../../../docs/incident-format.md");

fn limits() -> ImportLimits {
    ImportLimits::default()
}

#[track_caller]
fn import(text: &str) -> (Format, Vec<Incident>) {
    let r = match parse_incidents("test.json", text, &limits()) {
        Ok((info, incidents)) => (info.format, incidents),
        Err(e) => panic!("import failed: {e}"),
    };
    // Every import in these tests also checks that the fast path, where it answers, agrees
    // with the slow one.
    assert_fast_matches_slow(text);
    r
}

/// The slow path alone: the document parsed into `serde_json` values.
fn slow_import(text: &str) -> Result<(FileInfo, Vec<Incident>), ImportError> {
    let limits = limits();
    let cx = Cx {
        file: "test.json",
        limits: &limits,
    };
    let root: serde_json::Value = serde_json::from_str(text).map_err(|e| json_error("t", &e))?;
    all_or_first_error(super::import(&cx, &root)?)
}

/// The fast path's answer, if it gives one.
fn fast_import(text: &str) -> Option<(FileInfo, Vec<Incident>)> {
    let limits = limits();
    let cx = Cx {
        file: "test.json",
        limits: &limits,
    };
    fast::import(&cx, text)
}

/// Whether the fast path answered; when it does, its answer is the slow path's.
#[track_caller]
fn assert_fast_matches_slow(text: &str) -> bool {
    let Some(fast) = fast_import(text) else {
        return false;
    };
    match slow_import(text) {
        Ok(slow) => assert_eq!(fast, slow, "the fast and slow paths differ"),
        Err(e) => panic!("the fast path imported what the slow path rejects: {e}"),
    }
    true
}

#[test]
fn fast_path_matches_slow_path_on_examples_and_fixtures() {
    for (name, text) in GRAPH_EXAMPLES
        .iter()
        .copied()
        .chain([("page1", PAGE1), ("page2", PAGE2)])
    {
        assert!(
            assert_fast_matches_slow(text),
            "the fast path does not read {name}"
        );
    }
    assert!(
        assert_fast_matches_slow(NORMALIZED_EXAMPLE),
        "the fast path does not read the normalized example"
    );
    // Normalized JSON of every example, one incident and several per document.
    let mut all = Vec::new();
    for (_, text) in GRAPH_EXAMPLES
        .iter()
        .chain([&("page1", PAGE1), &("page2", PAGE2)])
    {
        let (_, list) = import(text);
        let doc = normalized_document(&list).to_string();
        assert!(assert_fast_matches_slow(&doc));
        all.extend(list);
    }
    assert!(assert_fast_matches_slow(
        &normalized_document(&all).to_string()
    ));
    // With a Sentinel incident the text holds `"properties"`, which sends it to the slow path.
    all.extend(import(SENTINEL_EXAMPLE).1);
    assert_fast_matches_slow(&normalized_document(&all).to_string());
    assert!(!assert_fast_matches_slow(SENTINEL_EXAMPLE));
}

/// A list page that links to the next one says so, on the fast path as on the slow one; the
/// last page, a single incident, a bare list and a normalized file do not.
#[test]
fn a_page_that_links_to_the_next_says_so() {
    let more_pages = |text: &str| {
        let (info, _) = parse_incidents("page.json", text, &limits()).expect("imports");
        // The fast path, where it answers, tells the same.
        assert_fast_matches_slow(text);
        info.more_pages
    };
    assert!(
        assert_fast_matches_slow(PAGE1),
        "the fast path reads page 1"
    );
    assert!(more_pages(PAGE1), "page 1 has `@odata.nextLink`");
    assert!(!more_pages(PAGE2), "page 2 is the last");
    for (name, text) in GRAPH_EXAMPLES {
        assert!(!more_pages(text), "{name}");
    }
    let incident = graph_incident(vec![]);
    let page = |link: serde_json::Value| {
        json!({"@odata.context": "x", "value": [incident], "@odata.nextLink": link}).to_string()
    };
    assert!(more_pages(&page(json!(
        "https://graph.microsoft.com/v1.0/security/incidents?$skip=50"
    ))));
    // A link to nowhere is no link.
    assert!(!more_pages(&page(json!(null))));
    assert!(!more_pages(&page(json!(""))));
    // An empty page that links on: the incidents are all on other pages.
    assert!(more_pages(
        r#"{"value": [], "@odata.nextLink": "https://x/?$skip=50"}"#
    ));
    // Azure's empty pages link on with `nextLink`, and are read as Sentinel's.
    let empty_sentinel =
        r#"{"value": [], "nextLink": "https://management.azure.com/x?$skipToken=1"}"#;
    assert!(more_pages(empty_sentinel));
    let (info, _) = parse_incidents("page.json", empty_sentinel, &limits()).expect("imports");
    assert_eq!(info.format, Format::Sentinel);
    // Member names ignore case, as every other name the importer reads: the slow path reads
    // this one.
    let other_case = format!(r#"{{"value": [{incident}], "@odata.nextlink": "https://x"}}"#);
    assert!(fast_import(&other_case).is_none());
    assert!(more_pages(&other_case));
    // Azure lists Sentinel incidents by pages linked with `nextLink`.
    let sentinel: serde_json::Value = serde_json::from_str(SENTINEL_EXAMPLE).expect("json");
    let sentinel_page =
        json!({"value": [sentinel], "nextLink": "https://management.azure.com/x?$skipToken=1"});
    let (info, _) =
        parse_incidents("page.json", &sentinel_page.to_string(), &limits()).expect("imports");
    assert_eq!(info.format, Format::Sentinel);
    assert!(info.more_pages);
    // Only a page links on: a normalized file is never one.
    let normalized =
        r#"{"format": "riposte.incident/v1", "incidents": [], "@odata.nextLink": "https://x"}"#;
    assert!(!more_pages(normalized));
}

/// Thousands of damaged copies of the examples (a byte deleted, repeated or replaced by JSON
/// punctuation, the text cut short, a value swapped for another), from a fixed seed: import
/// never panics, and the fast path agrees with the slow one on every copy.
#[test]
fn fast_path_agrees_on_damaged_examples() {
    // xorshift64*: a fixed sequence, so a failure reproduces.
    let mut state = 0x9e37_79b9_7f4a_7c15_u64;
    let mut next = move |n: usize| {
        state ^= state >> 12;
        state ^= state << 25;
        state ^= state >> 27;
        (state.wrapping_mul(0x2545_f491_4f6c_dd1d) >> 33) as usize % n.max(1)
    };
    const BITS: &[&str] = &[
        "\"",
        "{",
        "}",
        "[",
        "]",
        ",",
        ":",
        "\\",
        " ",
        "0",
        "-",
        "e",
        "null",
        "\"\"",
        "true",
        "\\u00e9",
        "\\ud83d",
        "é",
        "\"High\"",
        "\"@odata.type\"",
        "{}",
        "[]",
        "1e999",
    ];
    let (mut tried, mut read) = (0, 0);
    for (_, text) in GRAPH_EXAMPLES {
        for _ in 0..300 {
            let mut doc = text.to_string();
            for _ in 0..1 + next(3) {
                let mut at = next(doc.len());
                while !doc.is_char_boundary(at) {
                    at -= 1;
                }
                match next(5) {
                    0 => {
                        let len = doc[at..].chars().next().map_or(0, char::len_utf8);
                        doc.replace_range(at..at + len, "");
                    }
                    1 => doc.insert_str(at, BITS[next(BITS.len())]),
                    2 => {
                        let len = doc[at..].chars().next().map_or(0, char::len_utf8);
                        doc.replace_range(at..at + len, BITS[next(BITS.len())]);
                    }
                    3 => doc.truncate(at),
                    _ => {
                        // A value replaced: from after a `:` to the next `,` or `}`.
                        if let Some(colon) = doc[at..].find(':').map(|i| at + i + 1) {
                            let end = doc[colon..]
                                .find([',', '}'])
                                .map_or(doc.len(), |i| colon + i);
                            doc.replace_range(colon..end, BITS[next(BITS.len())]);
                        }
                    }
                }
            }
            // Never a panic, whatever the damage.
            let _ = parse_incidents("damaged.json", &doc, &limits());
            tried += 1;
            read += usize::from(assert_fast_agrees(&doc));
        }
    }
    // Many copies are still valid incidents: the fast path was exercised, not bypassed.
    assert!(
        read * 10 > tried,
        "the fast path read only {read} of {tried} copies"
    );
}

/// Whether the fast path agrees with the slow one on `text`: the same incidents where it
/// answers, and no answer where the slow path rejects the file.
#[track_caller]
fn assert_fast_agrees(text: &str) -> bool {
    match slow_import(text) {
        Ok(_) => assert_fast_matches_slow(text),
        Err(e) => {
            assert!(
                fast_import(text).is_none(),
                "the fast path imported what the slow path rejects ({e}): {text}"
            );
            false
        }
    }
}

#[test]
fn fast_path_scanner_reads_json_as_serde_json_does() {
    // Odd JSON in a member the importer reads (`title`, `fileSize`) and in one it skips
    // (`comment`), inside an evidence item.
    let doc = |read: &str, size: &str, skipped: &str| {
        format!(
            r##"{{"@odata.type": "#microsoft.graph.security.incident", "id": "1",
            "displayName": "x", "alerts": [{{"id": "a", "title": {read}, "comment": {skipped},
            "evidence": [{{"@odata.type": "#microsoft.graph.security.fileEvidence",
            "fileDetails": {{"fileName": "a.exe", "fileSize": {size}}}}}]}}]}}"##
        )
    };
    let texts = [
        r#""plain""#,
        r#""tab\tquote\"slash\/back\\nl\nuni\u00e9\u20AC""#,
        r#""pair \ud83d\ude00 end""#,
        r#""\u0000""#,
        r#""caf\u00c9 ☕ 東京""#,
        r#""""#,
        r#""lone \ud83d""#,
        r#""lone \ude00""#,
        r#""pair then \ud83d\u0041""#,
        r#""bad \x escape""#,
        r#""bad \u12G4""#,
        "\"raw\ttab\"",
        "\"raw\nnewline\"",
        r#""unterminated"#,
        "\"\u{7f} del and \u{1f} unit\"",
    ];
    let numbers = [
        "0",
        "7",
        "123456789012345678",
        "1234567890123456789",
        "18446744073709551615",
        "18446744073709551616",
        "-1",
        "-0",
        "1.5",
        "1e3",
        "1E+3",
        "2.5e-3",
        "-9223372036854775808",
        "-9223372036854775809",
        "1e400",
        "-1e400",
        "01",
        "1.",
        ".5",
        "-",
        "+1",
        "1e",
        "0x10",
        "123456789012345678901234567890",
    ];
    let others = [
        "null",
        "true",
        "false",
        "[]",
        "{}",
        "[1, [2, {\"a\": [null]}]]",
        "nul",
        "tru",
        "[1,]",
        "{\"a\":1,}",
        "[1 2]",
        "{\"a\" 1}",
        "{1: 2}",
    ];
    let mut read = 0;
    for t in texts.iter().chain(&others).chain(&numbers) {
        read += usize::from(assert_fast_agrees(&doc(t, "1", "null")));
        read += usize::from(assert_fast_agrees(&doc("\"t\"", "1", t)));
    }
    for n in numbers {
        read += usize::from(assert_fast_agrees(&doc("\"t\"", n, "null")));
    }
    assert!(read > 50, "the fast path read only {read} of the documents");
    // The text and numbers the fast path reads are the slow path's.
    let (_, list) = fast_import(&doc(texts[1], "1.5e3", "null")).expect("fast");
    assert_eq!(
        list[0].alerts[0].title,
        "tab\tquote\"slash/back\\nl\nuni\u{e9}\u{20ac}"
    );
    assert_eq!(
        list[0].entities[0].fields.get("size"),
        Some(&serde_json::json!(1500.0))
    );
    let (_, list) = fast_import(&doc(texts[2], "18446744073709551615", "null")).expect("fast");
    assert_eq!(list[0].alerts[0].title, "pair \u{1f600} end");
    // Whitespace, escaped member names, repeated members (the last wins) and trailing text.
    let base = doc("\"t\"", "1", "null");
    assert!(assert_fast_agrees(&format!(" \t\r\n{base}\n\r\t ")));
    assert!(!assert_fast_agrees(&format!("{base} x")));
    assert!(!assert_fast_agrees(&format!("{base}{{}}")));
    assert!(!assert_fast_agrees(&format!("\u{c}{base}")));
    let escaped = base.replace("\"displayName\"", "\"display\\u004eame\"");
    assert!(assert_fast_agrees(&escaped));
    let repeated = base.replace(
        "\"displayName\": \"x\"",
        "\"displayName\": \"x\", \"displayName\": \"y\"",
    );
    let (_, list) = fast_import(&repeated).expect("fast");
    assert_eq!(list[0].title, "y");
    assert!(assert_fast_matches_slow(&repeated));
    // Nesting: the scanner leaves deep documents to the slow path, which knows its limit.
    for depth in [50, 99, 100, 127, 128, 129, 500] {
        let deep = format!("{}1{}", "[".repeat(depth), "]".repeat(depth));
        assert_fast_agrees(&doc("\"t\"", "1", &deep));
    }
    // A member named `properties` anywhere: Sentinel, or not, the slow path decides.
    let sentinelish = base.replace("\"comment\"", "\"properties\"");
    assert!(fast_import(&sentinelish).is_none());
    assert!(assert_fast_agrees(&doc("\"properties\"", "1", "null")));
}

#[test]
fn fast_path_defers_to_slow_path() {
    // A member name differing only in case: the slow path's lookup finds it.
    let text = r#"{"displayName": "x", "alerts": [], "id": "1", "Severity": "High"}"#;
    assert!(fast_import(text).is_none());
    assert_eq!(import(text).1[0].severity, "high");
    // Errors are the slow path's, with their JSON path.
    let bad = r#"{"displayName": "x", "id": "1", "alerts": [{"id": "a", "evidence": [1]}]}"#;
    assert!(fast_import(bad).is_none());
    let err = parse_incidents("t.json", bad, &limits())
        .unwrap_err()
        .to_string();
    assert!(err.contains("$.alerts[0].evidence[0]"), "{err}");
    // Evidence kept verbatim.
    let other = r##"{"displayName": "x", "id": "1", "alerts": [{"id": "a", "evidence":
        [{"@odata.type": "#microsoft.graph.security.registryKeyEvidence", "registryKey": "k"}]}]}"##;
    assert!(fast_import(other).is_none());
    assert_eq!(import(other).1[0].other_evidence.len(), 1);
}

/// Two names the fast path reads differ only in case: Graph's `hostName` and the model's
/// `hostname` (which normalized files hold). Evidence with either spelling, or another, reads
/// on the fast path as on the slow one, whose lookup ignores case and prefers the exact name.
#[test]
fn fast_path_reads_a_name_spelled_as_another_read_name_as_the_slow_path() {
    let doc = |members: serde_json::Value| {
        let ev = evidence("deviceEvidence", members);
        graph_incident(vec![graph_alert("a1", vec![ev])]).to_string()
    };
    let host = json!("fin-ws-0142");
    for (members, expected, fast) in [
        (
            json!({"mdeDeviceId": "m1", "hostName": "fin-ws-0142"}),
            &host,
            true,
        ),
        (
            json!({"mdeDeviceId": "m1", "hostname": "fin-ws-0142"}),
            &host,
            true,
        ),
        (
            json!({"mdeDeviceId": "m1", "HostName": "fin-ws-0142"}),
            &host,
            false,
        ),
        (
            json!({"mdeDeviceId": "m1", "HOSTNAME": "fin-ws-0142"}),
            &host,
            false,
        ),
        // The exact name first, even null; repeated, the last occurrence.
        (
            json!({"mdeDeviceId": "m1", "hostname": "b", "hostName": "fin-ws-0142"}),
            &host,
            true,
        ),
        (
            json!({"mdeDeviceId": "m1", "hostname": "b", "hostName": null}),
            &json!(null),
            true,
        ),
    ] {
        let text = doc(members.clone());
        let (_, list) = import(&text);
        let v = &list[0].entities[0].fields;
        assert_eq!(
            v.get("hostname").unwrap_or(&json!(null)),
            expected,
            "{members}"
        );
        assert_eq!(fast_import(&text).is_some(), fast, "{members}");
    }
    let repeated = doc(json!({"mdeDeviceId": "m1"})).replace(
        r#""mdeDeviceId":"m1""#,
        r#""mdeDeviceId":"m1","hostname":"x","hostname":"fin-ws-0142""#,
    );
    let (_, list) = import(&repeated);
    assert_eq!(list[0].entities[0].fields.get("hostname"), Some(&host));
    assert!(fast_import(&repeated).is_some());
}

#[track_caller]
fn import_json(v: &serde_json::Value) -> (Format, Vec<Incident>) {
    import(&v.to_string())
}

#[track_caller]
fn one(v: &serde_json::Value) -> Incident {
    let (_, mut incidents) = import_json(v);
    assert_eq!(incidents.len(), 1);
    incidents.remove(0)
}

#[track_caller]
fn error(text: &str) -> ImportError {
    match parse_incidents("bad.json", text, &limits()) {
        Ok((f, i)) => panic!(
            "expected an error, imported {} {} incidents",
            i.len(),
            f.format
        ),
        Err(e) => e,
    }
}

#[track_caller]
fn invalid_at(text: &str) -> (String, String) {
    match error(text) {
        ImportError::Invalid {
            file,
            path,
            message,
        } => {
            assert_eq!(file, "bad.json");
            (path, message)
        }
        other => panic!("expected Invalid, got {other:?}"),
    }
}

fn entity<'a>(i: &'a Incident, id: &str) -> &'a Entity {
    i.entities
        .iter()
        .find(|e| e.id == id)
        .unwrap_or_else(|| panic!("no entity {id} in {:?}", ids(i)))
}

fn ids(i: &Incident) -> Vec<&str> {
    i.entities.iter().map(|e| e.id.as_str()).collect()
}

fn of_kind(i: &Incident, kind: EntityKind) -> Vec<&Entity> {
    i.entities.iter().filter(|e| e.kind == kind).collect()
}

fn evidence(ty: &str, fields: serde_json::Value) -> serde_json::Value {
    let mut v = json!({"@odata.type": format!("#microsoft.graph.security.{ty}")});
    if let (Some(m), serde_json::Value::Object(f)) = (v.as_object_mut(), fields) {
        m.extend(f);
    }
    v
}

fn graph_alert(id: &str, evidence: Vec<serde_json::Value>) -> serde_json::Value {
    json!({"id": id, "title": format!("alert {id}"), "severity": "medium", "status": "new", "evidence": evidence})
}

fn graph_incident(alerts: Vec<serde_json::Value>) -> serde_json::Value {
    json!({
        "@odata.type": "#microsoft.graph.security.incident",
        "id": "42",
        "displayName": "test incident",
        "severity": "high",
        "status": "active",
        "createdDateTime": "2025-03-12T08:14:02.4433333Z",
        "alerts": alerts,
    })
}

fn device(mde: Option<&str>, host: &str, extra: serde_json::Value) -> serde_json::Value {
    let mut d = evidence(
        "deviceEvidence",
        json!({"mdeDeviceId": mde, "deviceDnsName": host, "osPlatform": "Windows11", "verdict": "unknown"}),
    );
    if let (Some(m), serde_json::Value::Object(f)) = (d.as_object_mut(), extra) {
        m.extend(f);
    }
    d
}

// ---- Microsoft Graph ----------------------------------------------------------------------

#[test]
fn imports_the_graph_fixture_page1() {
    let (format, incidents) = import(PAGE1);
    assert_eq!(format, Format::Graph);
    assert_eq!(incidents.len(), 2);

    let phish = &incidents[0];
    assert_eq!(phish.id, "29481");
    assert_eq!(phish.source, "defender_xdr");
    assert_eq!(
        phish.workspace.as_deref(),
        Some("4d1f6b7c-2a9e-4c1b-9e0f-5a3c2b1d8e7f")
    );
    assert_eq!(phish.severity, "high");
    assert_eq!(phish.status, "active");
    assert_eq!(phish.classification, "unknown");
    assert_eq!(phish.assigned_to, None);
    assert_eq!(phish.created.as_deref(), Some("2025-03-12T08:14:02.443Z"));
    assert_eq!(phish.alerts.len(), 2);
    assert_eq!(phish.alerts[0].category.as_deref(), Some("initial_access"));
    assert_eq!(
        phish.alerts[0].service_source.as_deref(),
        Some("microsoft_defender_for_office365")
    );
    assert_eq!(phish.alerts[1].severity, "high");
    let kinds: Vec<&str> = phish.entities.iter().map(|e| e.kind.as_str()).collect();
    assert_eq!(
        kinds,
        ["email", "mailbox", "url", "user", "ip", "cloud_app"],
        "one entity per evidence item, in order"
    );
    let mail = &of_kind(phish, EntityKind::Email)[0];
    assert_eq!(mail.verdict, "malicious");
    assert_eq!(mail.remediation_status, "remediated");
    assert_eq!(mail.name, "Action required: your mailbox storage is full");
    assert_eq!(
        mail.fields["sender"],
        "it-support@mailbox-quota-update.example.net"
    );
    assert_eq!(mail.fields["recipient"], "megan.bowen@contoso.com");
    assert_eq!(mail.fields["delivery_location"], "inbox");
    assert_eq!(mail.fields["direction"], "inbound");
    assert_eq!(mail.fields["sender_ip"], "203.0.113.47");
    assert_eq!(mail.fields["threats"], json!(["Phish"]));
    assert_eq!(mail.fields["attachments_count"], 0);
    let user = &of_kind(phish, EntityKind::User)[0];
    assert_eq!(user.id, "user:3a7b9c1d-2e4f-4a6b-8c0d-1e2f3a4b5c6d");
    assert_eq!(user.name, "megan.bowen@contoso.com");
    assert_eq!(user.roles, ["compromised"]);
    assert_eq!(user.fields["is_admin"], false);
    let ip = &of_kind(phish, EntityKind::Ip)[0];
    assert_eq!(ip.roles, ["attacker", "source"]);
    assert_eq!(ip.fields["country"], "NL");
    let app = &of_kind(phish, EntityKind::CloudApp)[0];
    assert_eq!(app.id, "cloud_app:11161:0");
    assert_eq!(app.fields["app_id"], 11161);
    assert!(phish.other_evidence.is_empty());

    let malware = &incidents[1];
    assert_eq!(malware.status, "in_progress");
    assert_eq!(malware.classification, "true_positive");
    assert_eq!(malware.determination.as_deref(), Some("malware"));
    assert_eq!(
        malware.assigned_to.as_deref(),
        Some("soc-tier1@contoso.com")
    );
    assert_eq!(malware.tags, ["Finance"]);
    let alert = &malware.alerts[0];
    assert_eq!(alert.status, "in_progress");
    assert_eq!(alert.threat_family.as_deref(), Some("Lumma"));
    assert_eq!(alert.mitre_techniques, ["T1204.002", "T1059.001"]);
    assert_eq!(alert.entity_ids.len(), 6);
    let dev = entity(malware, "device:1e5bc9d7e413ddd7902c2932e418702b84d0cc07");
    assert_eq!(dev.name, "fin-ws-0142");
    assert_eq!(dev.fields["hostname"], "fin-ws-0142.corp.contoso.com");
    assert_eq!(dev.fields["os_platform"], "windows11");
    assert_eq!(dev.fields["os_build"], 22631);
    assert_eq!(dev.fields["is_server"], false);
    assert_eq!(dev.fields["risk_score"], "high");
    assert_eq!(dev.fields["rbac_group"], "Finance Workstations");
    assert_eq!(
        dev.fields["ip_addresses"],
        json!(["10.20.14.87", "fe80::1c2d:3e4f:5a6b:7c8d"])
    );
    assert_eq!(dev.fields["logged_on_users"], json!(["CORP\\jdoe"]));
    assert_eq!(dev.fields["first_seen"], "2024-06-03T11:20:54.123Z");
    assert_eq!(dev.alert_ids, [alert.id.as_str()]);
    let file = &of_kind(malware, EntityKind::File)[0];
    assert_eq!(
        file.id,
        "file:0b7c5d9f3a1e8c2b4d6f0a9e8c7b6a5d4c3b2a1f0e9d8c7b6a5f4e3d2c1b0a99"
    );
    assert_eq!(file.name, "SetupInvoice_0312.exe");
    assert_eq!(file.fields["detection_status"], "prevented");
    assert_eq!(
        file.fields["device_id"],
        "1e5bc9d7e413ddd7902c2932e418702b84d0cc07"
    );
    assert_eq!(file.fields["size"], 1_843_200);
    assert!(!file.fields.contains_key("md5"), "null hashes are left out");
    let proc = &of_kind(malware, EntityKind::Process)[0];
    assert_eq!(proc.name, "powershell.exe");
    assert_eq!(proc.fields["process_id"], 7412);
    assert_eq!(proc.fields["parent_process_id"], 5120);
    assert_eq!(proc.fields["account"], "john.doe@contoso.com");
    assert_eq!(proc.fields["created"], "2025-03-12T05:58:09.441Z");
    assert_eq!(
        proc.fields["image_sha1"],
        "6cbce4a295c163791b60fc23d285e6d84f28ee4c"
    );
    let c2 = entity(malware, "ip:203.0.113.190");
    assert_eq!(c2.roles, ["command_and_control", "destination"]);
    let url = &of_kind(malware, EntityKind::Url)[0];
    assert_eq!(url.fields["domain"], "cdn-update-check.example.org");
}

#[test]
fn imports_the_graph_fixture_page2() {
    let (format, incidents) = import(PAGE2);
    assert_eq!(format, Format::Graph);
    let redirected = &incidents[0];
    assert_eq!(redirected.status, "redirected");
    assert_eq!(redirected.redirected_to.as_deref(), Some("29477"));
    assert_eq!(incidents[1].redirected_to, None);
    assert!(redirected.alerts.is_empty() && redirected.entities.is_empty());
    let test = &incidents[1];
    assert_eq!(test.status, "resolved");
    assert_eq!(test.classification, "benign_positive");
    assert_eq!(test.determination.as_deref(), Some("security_testing"));
    assert_eq!(test.tags, ["PenTest-2025Q1"]);
    assert_eq!(test.alerts[0].status, "resolved");
    let dc = &of_kind(test, EntityKind::Device)[0];
    assert_eq!(dc.name, "dc02");
    assert_eq!(dc.fields["is_server"], true);
    assert_eq!(dc.fields["os_platform"], "windowsserver2022");
    assert_eq!(dc.tags, ["Tier0"]);
    assert!(!dc.fields.contains_key("aad_device_id"));
    let proc = &of_kind(test, EntityKind::Process)[0];
    assert_eq!(proc.fields["account"], "CORP\\rt-operator");
    assert_eq!(proc.fields["image_file_name"], "ntdsutil.exe");
}

#[test]
fn a_single_graph_incident_is_detected_without_odata_type() {
    let inc = json!({"id": 7, "displayName": "x", "alerts": []});
    let (format, incidents) = import_json(&inc);
    assert_eq!(format, Format::Graph);
    assert_eq!(incidents[0].id, "7", "numeric ids become text");
    assert_eq!(incidents[0].severity, "unknown");
    let bare = json!([{"id": "8", "displayName": "y", "createdDateTime": "2025-01-01T00:00:00Z"}]);
    assert_eq!(import_json(&bare).1[0].id, "8");
    // An empty page imports nothing.
    assert_eq!(
        import(r#"{"@odata.context": "x", "value": []}"#),
        (Format::Graph, vec![])
    );
}

#[test]
fn a_device_in_three_alerts_is_one_entity() {
    let mde = "73e7e2de709dff64ef64b1d0c30e67fab63279db";
    let inc = one(&graph_incident(vec![
        graph_alert(
            "a1",
            vec![device(
                Some(mde),
                "ws-01.corp.contoso.com",
                json!({"roles": ["compromised"], "tags": ["vip"], "verdict": "suspicious"}),
            )],
        ),
        graph_alert(
            "a2",
            vec![device(
                Some(mde),
                "ws-01.corp.contoso.com",
                json!({"roles": ["source"], "tags": ["vip", "finance"], "verdict": "malicious",
                       "azureAdDeviceId": "aad-1", "osBuild": 22631}),
            )],
        ),
        graph_alert(
            "a3",
            vec![device(
                Some(mde),
                "WS-01.corp.contoso.com",
                json!({"verdict": "noThreatsFound", "osBuild": 1, "remediationStatus": "prevented"}),
            )],
        ),
    ]));
    assert_eq!(inc.entities.len(), 1, "{:?}", ids(&inc));
    let d = &inc.entities[0];
    assert_eq!(d.id, format!("device:{mde}"));
    assert_eq!(d.alert_ids, ["a1", "a2", "a3"]);
    assert_eq!(d.roles, ["compromised", "source"]);
    assert_eq!(d.tags, ["vip", "finance"]);
    assert_eq!(d.verdict, "malicious", "the most severe verdict wins");
    assert_eq!(d.remediation_status, "prevented");
    assert_eq!(d.fields["aad_device_id"], "aad-1", "first non-null value");
    assert_eq!(d.fields["os_build"], 22631, "first non-null value");
    assert_eq!(d.fields["hostname"], "ws-01.corp.contoso.com");
    for a in &inc.alerts {
        assert_eq!(a.entity_ids, [d.id.as_str()]);
    }
    let v = inc.to_value();
    let alerts = list(&field(&v, "alerts"));
    assert_eq!(alerts.len(), 3);
    for a in &alerts {
        assert_eq!(list(&field(a, "entities")).len(), 1);
    }
}

#[test]
fn dedup_uses_weaker_identifiers_unless_a_stronger_one_differs() {
    let inc = one(&graph_incident(vec![
        graph_alert("a1", vec![device(Some("aaaa"), "ws-01", json!({}))]),
        // Same host name, no MDE id: the same device.
        graph_alert("a2", vec![device(None, "WS-01", json!({}))]),
        // Same host name, another MDE id: a reimaged machine, another device.
        graph_alert("a3", vec![device(Some("bbbb"), "ws-01", json!({}))]),
        // Nothing to identify it: kept on its own with an id from its alert.
        graph_alert(
            "a4",
            vec![evidence("deviceEvidence", json!({"verdict": "unknown"}))],
        ),
    ]));
    assert_eq!(
        ids(&inc),
        ["device:aaaa", "device:bbbb", "device:a4/0"],
        "{inc:#?}"
    );
    assert_eq!(entity(&inc, "device:aaaa").alert_ids, ["a1", "a2"]);
    // Once two devices share the host name, evidence with only that name could be either: it
    // joins neither, and its verdict stays its own.
    let inc = one(&graph_incident(vec![
        graph_alert("a1", vec![device(Some("aaaa"), "ws-01", json!({}))]),
        graph_alert("a2", vec![device(Some("bbbb"), "ws-01", json!({}))]),
        graph_alert(
            "a3",
            vec![device(None, "ws-01", json!({"verdict": "malicious"}))],
        ),
    ]));
    assert_eq!(
        ids(&inc),
        ["device:aaaa", "device:bbbb", "device:ws-01"],
        "{inc:#?}"
    );
    assert_eq!(entity(&inc, "device:aaaa").verdict, "unknown");
    assert_eq!(entity(&inc, "device:ws-01").verdict, "malicious");
    // Alerts sharing an id are counted once.
    let inc = one(&graph_incident(vec![
        graph_alert("a1", vec![device(Some("aaaa"), "ws-01", json!({}))]),
        graph_alert("a1", vec![device(Some("aaaa"), "ws-01", json!({}))]),
    ]));
    assert_eq!(entity(&inc, "device:aaaa").alert_ids, ["a1"]);
    // URLs: scheme and host ignore case, the path does not.
    let url = |u: &str| evidence("urlEvidence", json!({"url": u, "verdict": "malicious"}));
    let inc = one(&graph_incident(vec![graph_alert(
        "a1",
        vec![
            url("HTTP://Example.COM/A?x=1"),
            url("http://example.com/A?x=1"),
            url("http://example.com/a?x=1"),
        ],
    )]));
    assert_eq!(
        ids(&inc),
        [
            "url:http://example.com/A?x=1",
            "url:http://example.com/a?x=1"
        ],
        "{inc:#?}"
    );
    // Users merge by any shared identifier too; files by hash whatever their path.
    let inc = one(&graph_incident(vec![graph_alert(
        "a1",
        vec![
            evidence(
                "userEvidence",
                json!({"userAccount": {"userPrincipalName": "Alice@Contoso.com", "accountName": "alice", "domainName": "CORP"}}),
            ),
            evidence(
                "userEvidence",
                json!({"userAccount": {"azureAdUserId": "u-1", "userPrincipalName": "alice@contoso.com"}}),
            ),
            evidence(
                "fileEvidence",
                json!({"fileDetails": {"sha256": "AB12", "fileName": "a.exe", "filePath": "C:\\x"}}),
            ),
            evidence(
                "fileEvidence",
                json!({"fileDetails": {"sha256": "ab12", "fileName": "b.exe", "filePath": "C:\\y"}}),
            ),
        ],
    )]));
    assert_eq!(ids(&inc), ["user:u-1", "file:ab12"]);
    let alice = entity(&inc, "user:u-1");
    assert_eq!(alice.name, "Alice@Contoso.com");
    assert_eq!(alice.fields["domain"], "CORP");
    assert_eq!(entity(&inc, "file:ab12").fields["file_name"], "a.exe");
}

#[test]
fn entity_ids_are_unique() {
    // An Entra device id and a host name that happen to be spelled alike: two devices.
    let inc = one(&graph_incident(vec![graph_alert(
        "a1",
        vec![
            evidence("deviceEvidence", json!({"azureAdDeviceId": "abc"})),
            evidence("deviceEvidence", json!({"deviceDnsName": "ABC"})),
        ],
    )]));
    assert_eq!(ids(&inc), ["device:abc", "device:abc#2"]);
    assert_eq!(inc.alerts[0].entity_ids, ["device:abc", "device:abc#2"]);
    // The strongest identifier decides: one MDE id is one device, whatever else differs.
    let inc = one(&graph_incident(vec![graph_alert(
        "a1",
        vec![
            device(Some("m1"), "old-name", json!({"azureAdDeviceId": "x"})),
            device(Some("m1"), "new-name", json!({"azureAdDeviceId": "y"})),
            device(None, "new-name", json!({})),
        ],
    )]));
    assert_eq!(ids(&inc), ["device:m1"], "later names find the device too");
    assert_eq!(inc.entities[0].fields["hostname"], "old-name");
}

#[test]
fn files_merge_only_by_a_hash_of_the_same_type() {
    let file = |verdict: &str, details: serde_json::Value, extra: serde_json::Value| {
        let mut f = evidence(
            "fileEvidence",
            json!({"verdict": verdict, "fileDetails": details}),
        );
        if let (Some(m), serde_json::Value::Object(x)) = (f.as_object_mut(), extra) {
            m.extend(x);
        }
        f
    };
    let sha256 = "a".repeat(64);
    let md5 = "b".repeat(32);
    // One name, hashes of different types: the two files could differ, and a clean file must
    // not take the verdict of a malicious one.
    let inc = one(&graph_incident(vec![
        graph_alert(
            "a1",
            vec![file(
                "noThreatsFound",
                json!({"sha256": sha256, "fileName": "svchost.exe"}),
                json!({}),
            )],
        ),
        graph_alert(
            "a2",
            vec![file(
                "malicious",
                json!({"md5": md5, "fileName": "svchost.exe"}),
                json!({}),
            )],
        ),
    ]));
    assert_eq!(
        ids(&inc),
        [format!("file:{sha256}"), format!("file:{md5}")],
        "{inc:#?}"
    );
    assert_eq!(
        entity(&inc, &format!("file:{sha256}")).verdict,
        "no_threats_found"
    );
    // One path and name (in other cases) on two devices, a SHA-1 and a SHA-256: two files.
    let sha1 = "1".repeat(40);
    let inc = one(&graph_incident(vec![
        graph_alert(
            "a1",
            vec![file(
                "unknown",
                json!({"sha1": sha1, "fileName": "setup.exe", "filePath": "C:\\Users\\a\\Downloads"}),
                json!({"mdeDeviceId": "d1"}),
            )],
        ),
        graph_alert(
            "a2",
            vec![file(
                "unknown",
                json!({"sha256": sha256, "fileName": "Setup.exe", "filePath": "c:\\users\\a\\downloads\\"}),
                json!({"mdeDeviceId": "d2"}),
            )],
        ),
    ]));
    assert_eq!(inc.entities.len(), 2, "{inc:#?}");
    assert_eq!(
        entity(&inc, &format!("file:{sha1}")).fields["device_ids"],
        json!(["d1"])
    );
    // One file on one device, named in two cases: one device id, as devices are compared.
    let details = json!({"sha1": sha1, "fileName": "setup.exe"});
    let inc = one(&graph_incident(vec![graph_alert(
        "a1",
        vec![
            file("unknown", details.clone(), json!({"mdeDeviceId": "AB12"})),
            file("unknown", details, json!({"mdeDeviceId": "ab12"})),
        ],
    )]));
    assert_eq!(
        entity(&inc, &format!("file:{sha1}")).fields["device_ids"],
        json!(["AB12"])
    );
    // A file with a hash and one without, of one name: two files too.
    let inc = one(&graph_incident(vec![graph_alert(
        "a1",
        vec![
            file(
                "malicious",
                json!({"md5": md5, "fileName": "a.exe"}),
                json!({}),
            ),
            file("unknown", json!({"fileName": "A.EXE"}), json!({})),
        ],
    )]));
    assert_eq!(ids(&inc), [format!("file:{md5}"), "file:a.exe".into()]);
    // Without any hash, path and name still identify a file; and one hash type shared is
    // enough, whatever the other hashes.
    let inc = one(&graph_incident(vec![graph_alert(
        "a1",
        vec![
            file(
                "unknown",
                json!({"fileName": "run.ps1", "filePath": "C:\\t"}),
                json!({}),
            ),
            file(
                "suspicious",
                json!({"fileName": "RUN.ps1", "filePath": "c:\\T\\"}),
                json!({}),
            ),
            file("unknown", json!({"sha1": sha1, "md5": md5}), json!({})),
            file("unknown", json!({"sha256": sha256, "md5": md5}), json!({})),
        ],
    )]));
    // (The merged file's id is its strongest hash, which came second.)
    assert_eq!(
        ids(&inc),
        ["file:c:\\t\\run.ps1".to_string(), format!("file:{sha256}")]
    );
    assert_eq!(entity(&inc, "file:c:\\t\\run.ps1").verdict, "suspicious");
}

#[test]
fn processes_without_a_creation_time_merge_only_with_the_same_image_and_command_line() {
    let process =
        |pid: u32, image: Option<&str>, command: Option<&str>, extra: serde_json::Value| {
            let mut p = evidence(
                "processEvidence",
                json!({"processId": pid, "processCommandLine": command, "mdeDeviceId": "d1"}),
            );
            if let Some(m) = p.as_object_mut() {
                if let Some(image) = image {
                    m.insert("imageFile".into(), json!({"fileName": image}));
                }
                if let serde_json::Value::Object(x) = extra {
                    m.extend(x);
                }
            }
            p
        };
    let inc = one(&graph_incident(vec![
        graph_alert(
            "a1",
            vec![process(
                4780,
                Some("MsSense.exe"),
                Some("\"MsSense.exe\""),
                json!({}),
            )],
        ),
        graph_alert(
            "a2",
            vec![process(
                4780,
                Some("rundll32.exe"),
                Some("rundll32.exe evil.dll,Run"),
                json!({"verdict": "malicious"}),
            )],
        ),
        // The same image and command line: the same process.
        graph_alert(
            "a3",
            vec![process(
                4780,
                Some("MSSENSE.EXE"),
                Some("\"MsSense.exe\""),
                json!({}),
            )],
        ),
        // Nothing but the id: nothing tells which process it is.
        graph_alert("a4", vec![process(4780, None, None, json!({}))]),
        graph_alert("a5", vec![process(4780, None, None, json!({}))]),
    ]));
    let procs = of_kind(&inc, EntityKind::Process);
    assert_eq!(procs.len(), 4, "{:#?}", ids(&inc));
    assert_eq!(procs[0].name, "MsSense.exe");
    assert_eq!(procs[0].alert_ids, ["a1", "a3"]);
    assert_eq!(procs[0].verdict, "unknown");
    assert_eq!(procs[1].name, "rundll32.exe");
    assert_eq!(procs[1].verdict, "malicious");
    assert_eq!(procs[2].alert_ids, ["a4"]);
    assert_eq!(procs[3].alert_ids, ["a5"]);
    // With a device and a creation time, the process id is enough.
    let created = json!({"mdeDeviceId": "d1", "processCreationDateTime": "2025-01-01T00:00:00Z"});
    let inc = one(&graph_incident(vec![
        graph_alert(
            "a1",
            vec![process(100, Some("a.exe"), None, created.clone())],
        ),
        graph_alert("a2", vec![process(100, None, Some("a.exe -x"), created)]),
    ]));
    assert_eq!(ids(&inc), ["process:d1:100:2025-01-01T00:00:00Z"]);
    // Without a device, nothing tells the hosts apart: each item is a process of its own,
    // even with the same creation time, image and command line.
    for extra in [
        json!({"mdeDeviceId": null}),
        json!({"mdeDeviceId": null, "processCreationDateTime": "2025-01-01T00:00:00Z"}),
    ] {
        let inc = one(&graph_incident(vec![
            graph_alert(
                "a1",
                vec![process(100, Some("a.exe"), Some("a.exe -x"), extra.clone())],
            ),
            graph_alert(
                "a2",
                vec![process(100, Some("a.exe"), Some("a.exe -x"), extra)],
            ),
        ]));
        assert_eq!(
            of_kind(&inc, EntityKind::Process).len(),
            2,
            "{:#?}",
            ids(&inc)
        );
    }
}

#[test]
fn evidence_that_links_two_entities_merges_them() {
    // An MDE id, then a host name, then both: one device.
    let inc = one(&graph_incident(vec![
        graph_alert("a1", vec![device(Some("X1"), "", json!({}))]),
        graph_alert(
            "a2",
            vec![device(None, "h1", json!({"verdict": "malicious"}))],
        ),
        graph_alert("a3", vec![device(Some("x1"), "H1", json!({}))]),
    ]));
    assert_eq!(ids(&inc), ["device:x1"], "{inc:#?}");
    let d = &inc.entities[0];
    assert_eq!(d.alert_ids, ["a1", "a2", "a3"]);
    assert_eq!(d.verdict, "malicious");
    assert_eq!(d.fields["hostname"], "h1");
    for a in &inc.alerts {
        assert_eq!(a.entity_ids, ["device:x1"]);
    }
    // Users: an object id and UPN, then a SID and account, then the object id with the SID.
    let user =
        |account: serde_json::Value| evidence("userEvidence", json!({"userAccount": account}));
    let inc = one(&graph_incident(vec![
        graph_alert(
            "a1",
            vec![user(
                json!({"userPrincipalName": "Kim@Contoso.com", "azureAdUserId": "G1"}),
            )],
        ),
        graph_alert(
            "a2",
            vec![user(
                json!({"userSid": "S-1-5-21-1", "accountName": "kim", "domainName": "CORP"}),
            )],
        ),
        // One alert holding both before they are linked lists the merged user once.
        graph_alert(
            "a3",
            vec![
                user(json!({"azureAdUserId": "g1"})),
                user(json!({"userSid": "s-1-5-21-1"})),
                user(json!({"azureAdUserId": "g1", "userSid": "s-1-5-21-1"})),
            ],
        ),
    ]));
    assert_eq!(ids(&inc), ["user:g1"], "{inc:#?}");
    assert_eq!(inc.entities[0].fields["domain"], "CORP");
    assert_eq!(inc.entities[0].alert_ids, ["a1", "a2", "a3"]);
    assert_eq!(inc.alerts[2].entity_ids, ["user:g1"]);
    // Entities whose stronger identifiers differ stay apart, whatever links them.
    let inc = one(&graph_incident(vec![
        graph_alert(
            "a1",
            vec![device(Some("m1"), "", json!({"azureAdDeviceId": "e1"}))],
        ),
        graph_alert(
            "a2",
            vec![device(None, "h2", json!({"azureAdDeviceId": "e2"}))],
        ),
        graph_alert("a3", vec![device(Some("m1"), "h2", json!({}))]),
    ]));
    assert_eq!(ids(&inc), ["device:m1", "device:e2"], "{inc:#?}");
    assert_eq!(entity(&inc, "device:e2").alert_ids, ["a2"]);
}

#[test]
fn is_admin_reads_whole_words_and_no_negation() {
    use super::json::mentions_admin;
    for text in [
        "Domain Admins",
        "GlobalAdmin",
        "Global Administrator",
        "Helpdesk Administrator",
        "admin",
        "SysAdmins",
        "Exchange-Administrators",
    ] {
        assert!(mentions_admin(text), "{text}");
    }
    for text in [
        "Non-admin",
        "Non-admin user",
        "not an administrator",
        "nonadmin",
        "NotAdmin",
        "no admin rights",
        "AdminPortal",
        "administration",
        "badminton club",
        "",
    ] {
        assert!(!mentions_admin(text), "{text}");
    }
    let user = |n: usize, extra: serde_json::Value| {
        let mut u = evidence(
            "userEvidence",
            json!({"userAccount": {"azureAdUserId": format!("u{n}")}}),
        );
        if let (Some(m), serde_json::Value::Object(x)) = (u.as_object_mut(), extra) {
            m.extend(x);
        }
        u
    };
    let inc = one(&graph_incident(vec![graph_alert(
        "a1",
        vec![
            user(1, json!({"tags": ["Non-admin"]})),
            user(2, json!({"detailedRoles": ["Non-admin user"]})),
            user(3, json!({"tags": ["not an administrator"]})),
            // `roles` as written, not as their snake case (`admin_portal`).
            user(4, json!({"roles": ["AdminPortal"]})),
            user(5, json!({"roles": ["DomainAdmins"]})),
            user(6, json!({"tags": ["Domain Admins"]})),
            user(7, json!({"detailedRoles": ["Global Administrator"]})),
        ],
    )]));
    let admin: Vec<bool> = of_kind(&inc, EntityKind::User)
        .iter()
        .map(|u| u.fields["is_admin"] == json!(true))
        .collect();
    assert_eq!(admin, [false, false, false, false, true, true, true]);
}

/// A host name whose first label is empty names no host: the device is named by its id.
#[test]
fn a_device_is_never_named_by_nothing() {
    let inc = one(&graph_incident(vec![graph_alert(
        "a1",
        vec![evidence(
            "deviceEvidence",
            json!({"deviceDnsName": ".corp.local", "mdeDeviceId": "d1"}),
        )],
    )]));
    assert_eq!(inc.entities[0].name, "d1");
}

#[test]
fn a_url_without_a_scheme_is_not_read_from_its_query() {
    use super::json::url_domain;
    let url = "Phish.Example/r?next=https://Login.MicrosoftOnline.com/common";
    assert_eq!(url_domain(url).as_deref(), Some("phish.example"));
    assert_eq!(
        url_domain("phish.example?u=http://x.test").as_deref(),
        Some("phish.example")
    );
    assert_eq!(url_domain("hxxp://x.test/").as_deref(), Some("x.test"));
    assert_eq!(
        url_domain("svn+ssh://Repo.test/x").as_deref(),
        Some("repo.test")
    );
    // Scheme-relative, as links in HTML are written.
    assert_eq!(url_domain("//X.com/a").as_deref(), Some("x.com"));
    let inc = one(&graph_incident(vec![graph_alert(
        "a1",
        vec![evidence("urlEvidence", json!({"url": url}))],
    )]));
    let u = &inc.entities[0];
    assert_eq!(u.fields["domain"], "phish.example");
    // The host ignores case; the query keeps its own.
    assert_eq!(
        u.id,
        "url:phish.example/r?next=https://Login.MicrosoftOnline.com/common"
    );
}

#[test]
fn a_graph_incident_with_an_empty_alert_list_was_fetched_with_its_alerts() {
    let mut inc = graph_incident(vec![]);
    assert!(!one(&inc).alerts_not_fetched);
    if let Some(m) = inc.as_object_mut() {
        m.remove("alerts");
    }
    assert!(one(&inc).alerts_not_fetched);
    // The redirected incident of the fixture has `"alerts": []`.
    let (_, page) = import(PAGE2);
    assert!(page.iter().all(|i| !i.alerts_not_fetched));
    assert!(page.iter().any(|i| i.alerts.is_empty()));
}

/// A Sentinel incident resource alone (`GET …/incidents/{id}`) lacks its alerts and entities,
/// which come from calls of their own: it is marked as fetched without them, as a Graph
/// incident without `alerts` is, when either member is missing; empty lists were fetched.
#[test]
fn a_sentinel_incident_without_its_alerts_or_entities_was_fetched_without_them() {
    let (_, examples) = import(SENTINEL_EXAMPLE);
    assert!(!examples[0].alerts_not_fetched);
    let base = json!({"name": "inc-15", "properties": {"title": "t"}});
    let with = |members: &[(&str, serde_json::Value)]| {
        let mut doc = base.clone();
        if let Some(m) = doc.as_object_mut() {
            for (k, v) in members {
                m.insert((*k).to_string(), v.clone());
            }
        }
        one(&doc).alerts_not_fetched
    };
    assert!(with(&[]), "the resource alone");
    assert!(with(&[("alerts", json!({"value": []}))]), "no entities");
    assert!(with(&[("entities", json!([]))]), "no alerts");
    assert!(
        with(&[("alerts", json!(null)), ("entities", json!([]))]),
        "null is absent"
    );
    assert!(!with(&[
        ("alerts", json!({"value": []})),
        ("entities", json!({"entities": [], "metaData": []}))
    ]));
    assert!(
        !with(&[("Alerts", json!([])), ("ENTITIES", json!([]))]),
        "names ignore case"
    );
    // In a list, each incident for itself.
    let (format, list) = import_json(&json!({"value": [base, {"name": "inc-16",
        "properties": {"title": "t"}, "alerts": [], "entities": []}]}));
    assert_eq!(format, Format::Sentinel);
    assert_eq!(
        list.iter()
            .map(|i| i.alerts_not_fetched)
            .collect::<Vec<_>>(),
        [true, false]
    );
}

#[test]
fn enums_are_case_insensitive_and_snake_case() {
    let mut inc = graph_incident(vec![json!({
        "id": "a1", "severity": "HIGH", "status": "InProgress", "category": "CommandAndControl",
        "serviceSource": "MicrosoftDefenderForEndpoint",
        "evidence": [
            evidence("ipEvidence", json!({"ipAddress": "10.0.0.1", "verdict": "NoThreatsFound",
                "roles": ["CommandAndControl", "policyViolator", "ATTACKER"], "remediationStatus": "NotFound"})),
            evidence("analyzedMessageEvidence", json!({"networkMessageId": "n", "recipientEmailAddress": "a@b.c",
                "deliveryAction": "DeliveredAsSpam", "deliveryLocation": "JUNKFOLDER", "antiSpamDirection": "IntraOrg"})),
        ],
    })]);
    inc["classification"] = json!("TruePositive");
    inc["severity"] = json!("Medium");
    inc["status"] = json!("Active");
    inc["determination"] = json!("MultiStagedAttack");
    let i = one(&inc);
    assert_eq!(i.classification, "true_positive");
    assert_eq!(i.severity, "medium");
    assert_eq!(i.status, "active");
    assert_eq!(i.determination.as_deref(), Some("multi_staged_attack"));
    let a = &i.alerts[0];
    assert_eq!(
        (a.severity.as_str(), a.status.as_str()),
        ("high", "in_progress")
    );
    assert_eq!(a.category.as_deref(), Some("command_and_control"));
    assert_eq!(
        a.service_source.as_deref(),
        Some("microsoft_defender_for_endpoint")
    );
    let ip = &i.entities[0];
    assert_eq!(ip.verdict, "no_threats_found");
    assert_eq!(ip.remediation_status, "not_found");
    assert_eq!(
        ip.roles,
        ["command_and_control", "policy_violator", "attacker"]
    );
    let mail = &i.entities[1];
    assert_eq!(mail.fields["delivery_action"], "delivered_as_spam");
    assert_eq!(mail.fields["delivery_location"], "junk_folder");
    assert_eq!(mail.fields["direction"], "intraorg");
    for (raw, normalized) in [
        ("informationalExpectedActivity", "benign_positive"),
        ("InformationalExpectedActivity", "benign_positive"),
        ("falsePositive", "false_positive"),
        ("FALSE_POSITIVE", "false_positive"),
        ("unknown", "unknown"),
    ] {
        let mut inc = graph_incident(vec![]);
        inc["classification"] = json!(raw);
        assert_eq!(one(&inc).classification, normalized, "{raw}");
    }
}

/// `snake_case` cannot tell the words of all-capital text apart: the values Microsoft documents
/// are known in any case, in every format, and written as documented.
#[test]
fn documented_values_in_capitals_are_written_as_documented() {
    let mut inc = graph_incident(vec![json!({
        "id": "a1", "category": "DEFENSEEVASION", "serviceSource": "MICROSOFTDEFENDERFOROFFICE365",
        "detectionSource": "MICROSOFTDEFENDERFORIOT", "status": "UNKNOWNFUTUREVALUE",
        "evidence": [evidence("deviceEvidence", json!({"mdeDeviceId": "d1",
            "healthStatus": "NOSENSORDATA", "onboardingStatus": "CANBEONBOARDED",
            "defenderAvStatus": "NOTREPORTING"}))],
    })]);
    inc["determination"] = json!("MULTISTAGEDATTACK");
    inc["status"] = json!("AWAITINGACTION");
    let i = one(&inc);
    assert_eq!(i.determination.as_deref(), Some("multi_staged_attack"));
    assert_eq!(i.status, "awaiting_action");
    let a = &i.alerts[0];
    assert_eq!(a.category.as_deref(), Some("defense_evasion"));
    assert_eq!(
        a.service_source.as_deref(),
        Some("microsoft_defender_for_office365")
    );
    assert_eq!(
        a.detection_source.as_deref(),
        Some("microsoft_defender_for_iot")
    );
    assert_eq!(a.status, "unknown_future_value");
    let d = &i.entities[0].fields;
    assert_eq!(
        [
            &d["health_status"],
            &d["onboarding_status"],
            &d["av_status"]
        ],
        ["no_sensor_data", "can_be_onboarded", "not_reporting"]
    );
    // Sentinel's tactics, and the normalized format, alike.
    let s = one(&json!({"name": "inc", "properties": {"title": "t"},
        "alerts": [{"name": "a", "properties": {"tactics": ["COMMANDANDCONTROL"]}}],
        "entities": [{"kind": "Host", "properties": {"hostName": "h",
            "additionalData": {"HealthStatus": "NOSENSORDATA"}}}]}));
    assert_eq!(s.entities[0].fields["health_status"], "no_sensor_data");
    assert_eq!(s.alerts[0].category.as_deref(), Some("command_and_control"));
    let n = one(
        &json!({"format": "riposte.incident/v1", "incident": {"id": "n", "source": "defender_xdr",
        "determination": "COMPROMISEDUSER", "status": "AWAITINGACTION",
        "alerts": [{"id": "a", "category": "INITIALACCESS", "detection_source": "SMARTSCREEN"}],
        "entities": [{"id": "device:d", "kind": "device", "name": "d",
            "fields": {"health_status": "IMPAIREDCOMMUNICATION"}}]}}),
    );
    assert_eq!(n.determination.as_deref(), Some("compromised_user"));
    assert_eq!(n.status, "awaiting_action");
    // Graph's value for one newer than the client, in any enumeration; newer remediation and
    // delivery values; Sentinel's reasons and product names.
    let mut inc = graph_incident(vec![json!({"id": "a1", "evidence": [
        evidence("ipEvidence", json!({"ipAddress": "10.0.0.1", "verdict": "UNKNOWNFUTUREVALUE",
            "remediationStatus": "PENDINGAPPROVAL"})),
        evidence("analyzedMessageEvidence", json!({"networkMessageId": "n",
            "recipientEmailAddress": "a@b.c", "deliveryAction": "DELIVEREDTOJUNK",
            "deliveryLocation": "ONPREMEXTERNAL"})),
    ]})]);
    inc["classification"] = json!("UNKNOWNFUTUREVALUE");
    let g = one(&inc);
    assert_eq!(g.classification, "unknown_future_value");
    let ip = entity(&g, "ip:10.0.0.1");
    assert_eq!(
        (&*ip.verdict, &*ip.remediation_status),
        ("unknown_future_value", "pending_approval")
    );
    let mail = &of_kind(&g, EntityKind::Email)[0];
    assert_eq!(mail.fields["delivery_action"], "delivered_to_junk");
    assert_eq!(mail.fields["delivery_location"], "onprem_external");
    let s = one(&json!({"name": "inc", "properties": {"title": "t",
        "classificationReason": "SUSPICIOUSBUTEXPECTED"},
        "alerts": [{"name": "a", "properties": {"productName": "Microsoft Defender for IoT"}},
            {"name": "b", "properties": {"productName": "AzureSentinel"}}]}));
    assert_eq!(s.determination.as_deref(), Some("suspicious_but_expected"));
    assert_eq!(
        s.alerts[0].service_source.as_deref(),
        Some("microsoft_defender_for_iot")
    );
    assert_eq!(
        s.alerts[1].service_source.as_deref(),
        Some("microsoft_sentinel")
    );
    assert_eq!(n.alerts[0].category.as_deref(), Some("initial_access"));
    assert_eq!(
        n.alerts[0].detection_source.as_deref(),
        Some("smart_screen")
    );
    assert_eq!(
        n.entities[0].fields["health_status"],
        "impaired_communication"
    );
    // The lists, and the values newer Graph versions add to the model's, are written as
    // `snake_case` writes them.
    use super::graph::*;
    let newer = [
        NEWER_REMEDIATION,
        NEWER_DELIVERY_ACTIONS,
        NEWER_DELIVERY_LOCATIONS,
    ]
    .concat();
    for (squashed, v) in newer {
        assert_eq!(riposte_dsl::snake::snake(v), v);
        assert_eq!(v.replace('_', ""), squashed);
    }
    for v in [
        CATEGORIES,
        DETERMINATIONS,
        SERVICE_SOURCES,
        DETECTION_SOURCES,
        HEALTH_STATUSES,
        ONBOARDING_STATUSES,
        AV_STATUSES,
    ]
    .concat()
    {
        assert_eq!(riposte_dsl::snake::snake(v), v);
    }
}

#[test]
fn unknown_enum_values_and_evidence_types_are_kept() {
    let registry = evidence(
        "registryKeyEvidence",
        json!({"registryKey": "SYSTEM\\X", "registryHive": "HKEY_LOCAL_MACHINE", "verdict": "suspicious"}),
    );
    let untyped = json!({"something": [1, 2, {"deep": true}]});
    let mut inc = graph_incident(vec![json!({
        "id": "a1", "status": "unknownFutureValue", "severity": "critical",
        "evidence": [
            registry.clone(),
            evidence("ipEvidence", json!({"ipAddress": "192.0.2.1", "verdict": "unknownFutureValue",
                "roles": ["someNewRole"], "remediationStatus": "partiallyRemediated"})),
            untyped.clone(),
            evidence("mailClusterEvidence", json!({"query": "x"})),
        ],
    })]);
    inc["status"] = json!("awaitingAction");
    inc["classification"] = json!("somethingElse");
    let i = one(&inc);
    assert_eq!(i.status, "awaiting_action");
    assert_eq!(i.classification, "something_else");
    assert_eq!(i.alerts[0].status, "unknown_future_value");
    assert_eq!(i.alerts[0].severity, "critical");
    let ip = &i.entities[0];
    assert_eq!(ip.verdict, "unknown_future_value");
    assert_eq!(ip.roles, ["some_new_role"]);
    assert_eq!(ip.remediation_status, "partially_remediated");
    assert_eq!(i.other_evidence.len(), 3);
    assert_eq!(i.other_evidence[0], registry, "kept raw");
    assert_eq!(i.other_evidence[1], untyped);
    // Unknown severities have no severity value.
    let v = i.to_value();
    let alerts = list(&field(&v, "alerts"));
    assert_eq!(field(&alerts[0], "severity"), Value::Null);
}

#[test]
fn unknown_fields_are_ignored() {
    let plain = graph_incident(vec![graph_alert(
        "a1",
        vec![device(Some("m1"), "h1", json!({}))],
    )]);
    let mut noisy = plain.clone();
    noisy["brandNewProperty"] = json!({"nested": [1, 2, 3]});
    noisy["alerts"][0]["anotherOne"] = json!("x");
    noisy["alerts"][0]["evidence"][0]["vmMetadata"] = json!({"vmId": "v"});
    noisy["alerts"][0]["evidence"][0]["futureField"] = json!([null]);
    assert_eq!(one(&noisy), one(&plain));
}

#[test]
fn graph_aliases_and_time_precision() {
    let mut inc = graph_incident(vec![]);
    inc["tags"] = json!(["Demo", "vip"]);
    inc["customTags"] = json!(["vip"]);
    inc["systemTags"] = json!(["Defender Experts"]);
    inc["createdDateTime"] = json!("2021-08-13T08:43:35.5533333Z");
    inc["lastUpdateDateTime"] = json!("2021-04-26T07:45:50.116+02:00");
    let i = one(&inc);
    assert_eq!(i.tags, ["vip", "Demo", "Defender Experts"]);
    assert_eq!(i.created.as_deref(), Some("2021-08-13T08:43:35.553Z"));
    assert_eq!(i.updated.as_deref(), Some("2021-04-26T05:45:50.116Z"));
    for t in [
        "2021-08-13T08:43:35Z",
        "2021-08-13T08:43:35.5Z",
        "2021-08-13T08:43:35",
    ] {
        inc["createdDateTime"] = json!(t);
        assert!(one(&inc).created.is_some(), "{t}");
    }
    inc["createdDateTime"] = json!("last tuesday");
    let (path, message) = invalid_at(&inc.to_string());
    assert_eq!(path, "$.createdDateTime");
    assert!(message.contains("`last tuesday`"), "{message}");
}

// ---- Sentinel -----------------------------------------------------------------------------

#[test]
fn imports_the_sentinel_example() {
    let (format, incidents) = import(SENTINEL_EXAMPLE);
    assert_eq!(format, Format::Sentinel);
    let i = &incidents[0];
    assert_eq!(i.source, "sentinel");
    assert_eq!(i.id, "9dd20a03-bfda-fb5f-245d-a606e7064bee");
    assert_eq!(i.workspace.as_deref(), Some("northwind-soc"));
    assert_eq!(i.severity, "high");
    assert_eq!(i.status, "active");
    assert_eq!(i.classification, "unknown");
    assert_eq!(
        i.assigned_to.as_deref(),
        Some("nadia.soc@northwind.example")
    );
    assert_eq!(i.tags, ["managed-xdr", "C2"]);
    assert_eq!(i.created.as_deref(), Some("2025-03-24T07:58:09.441Z"));
    assert!(i
        .web_url
        .as_deref()
        .is_some_and(|u| u.starts_with("https://portal.azure.com/")));
    assert_eq!(i.alerts.len(), 2);
    let (a1, a2) = (&i.alerts[0], &i.alerts[1]);
    assert_eq!(a1.severity, "medium");
    assert_eq!(a1.category.as_deref(), Some("command_and_control"));
    assert_eq!(a1.service_source.as_deref(), Some("microsoft_sentinel"));
    assert_eq!(a1.mitre_techniques, ["T1071", "T1071.001"]);
    assert_eq!(
        a2.service_source.as_deref(),
        Some("microsoft_defender_for_endpoint")
    );
    let kinds: Vec<&str> = i.entities.iter().map(|e| e.kind.as_str()).collect();
    assert_eq!(
        kinds,
        [
            "user",
            "device",
            "ip",
            "url",
            "file",
            "file",
            "process",
            "cloud_app"
        ],
        "file hashes merge into their files"
    );
    assert_eq!(i.other_evidence.len(), 1, "the registry key is kept raw");
    let user = &of_kind(i, EntityKind::User)[0];
    assert_eq!(user.fields["upn"], "kim.akers@contoso.com");
    assert_eq!(user.fields["domain"], "CORP");
    let dev = &of_kind(i, EntityKind::Device)[0];
    assert_eq!(dev.name, "hr-ws-0058");
    assert_eq!(dev.fields["hostname"], "hr-ws-0058.corp.contoso.com");
    assert_eq!(dev.fields["risk_score"], "high");
    assert_eq!(dev.fields["is_server"], false);
    let mde = dev.fields["mde_device_id"].as_str().unwrap_or_default();
    assert_eq!(mde.len(), 40);
    let script = &of_kind(i, EntityKind::File)[0];
    assert_eq!(script.name, "ms.ps1");
    assert_eq!(script.fields["sha256"].as_str().map(str::len), Some(64));
    let proc = &of_kind(i, EntityKind::Process)[0];
    assert_eq!(proc.fields["process_id"], 8824);
    assert_eq!(proc.fields["device_id"], mde);
    assert_eq!(proc.fields["account"], "kim.akers@contoso.com");
    assert_eq!(proc.fields["image_file_name"], "powershell.exe");
    assert_eq!(
        proc.fields["image_sha256"],
        "de96a6e69944335375dc1ac238336066889d9ffc7d73628ef4fe1b1b160ab32c"
    );
    // Sentinel does not say which alert carried which entity: each carries each.
    assert_eq!(a1.entity_ids.len(), i.entities.len());
    assert_eq!(a2.entity_ids.len(), i.entities.len());
    assert_eq!(dev.alert_ids, [a1.id.clone(), a2.id.clone()]);
    assert_eq!(user.alert_ids, [a1.id.clone(), a2.id.clone()]);
    assert_eq!(i.other_evidence[0]["kind"], "RegistryKey");
}

/// The incident an automation rule hands a playbook holds its alerts and entities in its
/// properties (`alerts`, `relatedEntities`): read, it is the incident the REST calls give.
#[test]
fn a_sentinel_automation_payload_is_the_incident_it_holds() {
    let payload = include_str!("testdata/sentinel-automation-payload.json");
    let (format, from_payload) = import(payload);
    assert_eq!(format, Format::Sentinel);
    let (_, from_rest) = import(SENTINEL_EXAMPLE);
    assert_eq!(
        normalized_document(&from_payload),
        normalized_document(&from_rest)
    );
    assert!(!from_payload[0].alerts_not_fetched);
    assert_eq!(from_payload[0].alerts.len(), 2);

    // The workspace is the payload's where the incident's id does not name it; paths of
    // errors lead into `object`; without `relatedEntities`, the entities were not given.
    let mut doc: serde_json::Value = serde_json::from_str(payload).unwrap();
    doc["object"]["id"] = json!("9dd20a03");
    assert_eq!(
        import_json(&doc).1[0].workspace.as_deref(),
        Some("northwind-soc")
    );
    doc["object"]["properties"]["relatedEntities"][0]["properties"]["accountName"] = json!([]);
    assert_eq!(
        invalid_at(&doc.to_string()).0,
        "$.object.properties.relatedEntities[0].properties.accountName"
    );
    doc["object"]["properties"]["relatedEntities"] = json!({"x": 1});
    let (path, message) = invalid_at(&doc.to_string());
    assert_eq!(path, "$.object.properties.relatedEntities");
    assert!(
        message.starts_with("expected a list of entities"),
        "{message}"
    );
    doc["object"]["properties"]
        .as_object_mut()
        .unwrap()
        .remove("relatedEntities");
    assert!(import_json(&doc).1[0].alerts_not_fetched);
    // Payloads come one to a file: a list of them, or one among incidents, says so.
    let payload_json: serde_json::Value = serde_json::from_str(payload).unwrap();
    let message = error(&json!([payload_json, payload_json]).to_string()).to_string();
    assert!(message.contains("put each in its own file"), "{message}");
    let incident = json!({"name": "i", "properties": {"title": "t"}});
    let (path, message) = invalid_at(&json!({"value": [incident, payload_json]}).to_string());
    assert_eq!(path, "$.value[1]");
    assert!(
        message.starts_with("this is one of the payloads an automation rule hands a playbook"),
        "{message}"
    );
    // The follow-up calls' answers beside the resource come first.
    doc["object"]["entities"] = json!([{"kind": "Ip", "properties": {"address": "192.0.2.9"}}]);
    let i = &import_json(&doc).1[0];
    assert!(!i.alerts_not_fetched);
    assert_eq!(i.entities.len(), 1);
}

/// A Sentinel incident's number is the portal's, digits, and only where it is not its id.
#[test]
fn sentinel_numbers_are_digits_other_than_the_id() {
    let number = |props: serde_json::Value, named: bool| {
        let mut doc = json!({"properties": props});
        if named {
            doc["name"] = json!("9dd20a03");
        }
        import_json(&doc).1[0].number.clone()
    };
    assert_eq!(
        number(json!({"title": "t", "incidentNumber": 42}), true).as_deref(),
        Some("42")
    );
    assert_eq!(
        number(json!({"title": "t", "incidentNumber": " 42 "}), true).as_deref(),
        Some("42")
    );
    assert_eq!(
        number(json!({"title": "t", "incidentNumber": true}), true),
        None
    );
    // Without a name or resource id, the number is the id: not repeated.
    let (_, list) = import_json(&json!({"properties": {"title": "t", "incidentNumber": 7}}));
    assert_eq!(
        (list[0].id.as_str(), list[0].number.as_deref()),
        ("7", None)
    );
}

#[test]
fn sentinel_shapes_are_tolerated() {
    // The raw API answers (`{"value": […]}` alerts, `{"entities": […]}` entities), a list of
    // incidents, PascalCase keys.
    let doc = json!({"value": [{
        "id": "/subscriptions/s/resourceGroups/r/providers/Microsoft.OperationalInsights/workspaces/WS1/providers/Microsoft.SecurityInsights/Incidents/inc-1",
        "properties": {"Title": "t", "Severity": "Informational", "Status": "Closed",
            "classification": "BenignPositive", "classificationReason": "SuspiciousButExpected",
            "owner": {"assignedTo": "Someone", "email": "someone@example.com"},
            "labels": ["plain", {"labelName": "obj"}], "incidentNumber": 12},
        "alerts": {"value": [
            {"name": "al-1", "properties": {"systemAlertId": "sys-1", "severity": "Low", "tactics": []}},
            {"properties": {"systemAlertId": "sys-2", "alertDisplayName": "second"}}
        ]},
        "entities": {"entities": [
            {"kind": "Ip", "properties": {"address": "2001:DB8::1"}},
            {"id": "x/Entities/e2", "kind": "Mailbox", "properties": {"mailboxPrimaryAddress": "a@b.c", "upn": "a@b.c"}},
            {"kind": "MailMessage", "properties": {"networkMessageId": "n1", "recipient": "A@B.C",
                "deliveryAction": "Delivered", "deliveryLocation": "Inbox", "fileEntityIds": ["f1", "f2"]}},
            {"kind": "FileHash", "properties": {"algorithm": "Unknown", "hashValue": "00112233445566778899aabbccddeeff"}},
            {"kind": "FileHash", "properties": {"algorithm": "SHA256AC", "hashValue": "ffeeddccbbaa99887766554433221100ffeeddccbbaa99887766554433221100"}},
            {"kind": "SomethingNew", "properties": {"x": 1}}
        ], "metaData": []}
    }]});
    let (format, incidents) = import_json(&doc);
    assert_eq!(format, Format::Sentinel);
    let i = &incidents[0];
    assert_eq!(i.id, "inc-1");
    assert_eq!(i.number.as_deref(), Some("12"), "as the portal shows it");
    assert_eq!(i.workspace.as_deref(), Some("WS1"));
    assert_eq!(i.title, "t");
    assert_eq!(i.severity, "informational");
    assert_eq!(i.status, "closed");
    assert_eq!(i.classification, "benign_positive");
    assert_eq!(i.determination.as_deref(), Some("suspicious_but_expected"));
    assert_eq!(i.assigned_to.as_deref(), Some("someone@example.com"));
    assert_eq!(i.tags, ["plain", "obj"]);
    assert_eq!(i.alerts[0].id, "sys-1");
    assert_eq!(i.alerts[1].title, "second");
    let ip = entity(i, "ip:2001:db8::1");
    assert_eq!(
        ip.alert_ids,
        ["sys-1", "sys-2"],
        "every alert carries every entity"
    );
    let mail = &of_kind(i, EntityKind::Email)[0];
    assert_eq!(mail.id, "email:n1:a@b.c");
    assert_eq!(mail.fields["attachments_count"], 2);
    assert_eq!(mail.alert_ids, ["sys-1", "sys-2"]);
    assert_eq!(
        entity(i, "file:00112233445566778899aabbccddeeff").fields["md5"],
        "00112233445566778899aabbccddeeff"
    );
    assert!(
        !i.entities.iter().any(|e| e.fields.contains_key("sha256")),
        "an Authenticode hash is no SHA-256"
    );
    assert_eq!(i.other_evidence.len(), 1);
    // One label alone is a list of one; a null list lists nothing.
    let i = one(
        &json!({"name": "i", "properties": {"title": "t", "labels": "single"},
        "alerts": {"value": null}, "entities": {"entities": null, "metaData": []}}),
    );
    assert_eq!(i.tags, ["single"]);
    assert!(i.alerts.is_empty() && i.entities.is_empty());
    // A Sentinel incident needs its properties.
    let (path, _) = invalid_at(
        &json!({"id": "/x/Microsoft.SecurityInsights/Incidents/1", "properties": "no"}).to_string(),
    );
    assert_eq!(path, "$.properties");
}

#[test]
fn sentinel_file_hashes_admins_hosts_and_links() {
    let sha1 = "87662bc3d60e4200ceaf7aae249d1c343f4b83c9";
    let sha256 = "0b7c2ee0f6d7e0f0b2d0a4f5e3c1b2a3d4e5f6a7b8c9d0e1f2a3b4c5d6e7fa99";
    let incident = |entities: serde_json::Value| {
        json!({"name": "inc-5", "properties": {"title": "t", "severity": "High"},
            "alerts": [
                {"name": "a1", "properties": {"systemAlertId": "a1"}},
                {"name": "a2", "properties": {"systemAlertId": "a2"}}
            ],
            "entities": entities})
    };
    let hashes = [
        json!({"name": "h1", "kind": "FileHash", "properties": {"algorithm": "SHA1", "hashValue": sha1}}),
        json!({"name": "h2", "kind": "FileHash", "properties": {"algorithm": "SHA256", "hashValue": sha256}}),
    ];
    let file = json!({"name": "f1", "kind": "File", "properties": {"fileName": "SetupInvoice.exe", "fileHashEntityIds": ["h1", "h2"]}});
    // The hashes a file lists are that file, wherever they are listed.
    for entities in [
        json!([hashes[0], hashes[1], file]),
        json!([file, hashes[0], hashes[1]]),
        json!([hashes[1], file, hashes[0]]),
    ] {
        let i = one(&incident(entities));
        let files = of_kind(&i, EntityKind::File);
        assert_eq!(files.len(), 1, "{files:#?}");
        assert_eq!(files[0].name, "SetupInvoice.exe");
        assert_eq!(files[0].fields["sha1"], sha1);
        assert_eq!(files[0].fields["sha256"], sha256);
        assert_eq!(files[0].alert_ids, ["a1", "a2"]);
    }
    // `IsAdmin` as .NET writes it, in `additionalData` too; a host named by its FQDN before
    // its NetBIOS name; an entity nothing identifies is named after its `name`.
    let i = one(&incident(json!([
        {"name": "u1", "kind": "Account", "properties": {"accountName": "a", "additionalData": {"IsAdmin": "True"}}},
        {"name": "u2", "kind": "Account", "properties": {"accountName": "b", "isAdmin": "TRUE"}},
        {"name": "u3", "kind": "Account", "properties": {"accountName": "c", "additionalData": {"IsAdmin": true}}},
        {"name": "u4", "kind": "Account", "properties": {"accountName": "d", "isAdmin": "False"}},
        {"name": "host-1", "kind": "Host", "properties": {"netBiosName": "HR-WS-0058", "additionalData": {"FQDN": "hr-ws-0058.corp.contoso.com"}}},
        {"name": "Odd-Name", "kind": "Url", "properties": {}}
    ])));
    let admin = |name: &str| {
        i.entities
            .iter()
            .find(|e| e.fields.get("account_name") == Some(&json!(name)))
            .map(|e| e.fields["is_admin"].clone())
    };
    assert_eq!(
        [admin("a"), admin("b"), admin("c"), admin("d")],
        [
            Some(json!(true)),
            Some(json!(true)),
            Some(json!(true)),
            Some(json!(false))
        ]
    );
    let host = &of_kind(&i, EntityKind::Device)[0];
    assert_eq!(host.fields["hostname"], "hr-ws-0058.corp.contoso.com");
    assert_eq!(of_kind(&i, EntityKind::Url)[0].id, "url:Odd-Name");
    // Evidence that merges knows its alerts in alert order.
    let i = one(&incident(json!([
        {"name": "ip-b", "kind": "Ip", "properties": {"address": "10.0.0.1"}},
        {"name": "ip-a", "kind": "Ip", "properties": {"address": "10.0.0.1"}}
    ])));
    assert_eq!(entity(&i, "ip:10.0.0.1").alert_ids, ["a1", "a2"]);
}

/// The REST API types `processId` as text, and Windows events (4688) write it in hex: an id
/// the model's number cannot hold is left out, never fatal.
#[test]
fn sentinel_process_ids_are_read_as_text_in_decimal_or_hex() {
    let process = |name: &str, pid: serde_json::Value, parent: Option<&str>| {
        json!({"name": name, "kind": "Process", "properties": {"processId": pid,
            "commandLine": format!("{name}.exe"), "parentProcessEntityId": parent}})
    };
    let i = one(
        &json!({"name": "inc-7", "properties": {"title": "t"}, "entities": [
            process("hex", json!("0x1a4c"), None),
            process("upper", json!(" 0X1A4D "), Some("hex")),
            process("decimal", json!("4242"), Some("upper")),
            process("number", json!(7), Some("decimal")),
            process("odd", json!("pid-12"), Some("number")),
            process("bad-hex", json!("0x-1"), Some("odd")),
            process("child", json!(1), Some("bad-hex"))
        ]}),
    );
    let pids = |key: &str| -> Vec<Option<serde_json::Value>> {
        [
            "hex", "upper", "decimal", "number", "odd", "bad-hex", "child",
        ]
        .iter()
        .map(|name| {
            let e = i
                .entities
                .iter()
                .find(|e| e.fields.get("command_line") == Some(&json!(format!("{name}.exe"))));
            e.and_then(|e| e.fields.get(key).cloned())
        })
        .collect()
    };
    assert_eq!(
        pids("process_id"),
        [
            Some(json!(6732)),
            Some(json!(6733)),
            Some(json!(4242)),
            Some(json!(7)),
            None,
            None,
            Some(json!(1))
        ]
    );
    assert_eq!(
        pids("parent_process_id"),
        [
            None,
            Some(json!(6732)),
            Some(json!(6733)),
            Some(json!(4242)),
            Some(json!(7)),
            None,
            None
        ]
    );
    // A value that is no scalar is an error at its path.
    let (path, message) = invalid_at(
        &json!({"name": "inc", "properties": {"title": "t"},
            "entities": [{"kind": "Process", "properties": {"processId": {"x": 1}}}]})
        .to_string(),
    );
    assert_eq!(path, "$.entities[0].properties.processId");
    assert!(message.contains("expected a process id"), "{message}");
}

/// A file's hash references are followed once, not once per process it is the image of: a
/// long `fileHashEntityIds` and many processes would otherwise take their product in time.
#[test]
fn sentinel_file_hashes_are_read_once_for_all_processes() {
    let sha256 = "0b7c2ee0f6d7e0f0b2d0a4f5e3c1b2a3d4e5f6a7b8c9d0e1f2a3b4c5d6e7fa99";
    let older = "1111111111111111111111111111111111111111111111111111111111111111";
    // The last hash of a type listed is the file's.
    let mut refs = vec!["h-old"];
    refs.extend(std::iter::repeat_n("h", 200_000));
    let mut entities = vec![
        json!({"name": "h-old", "kind": "FileHash", "properties": {"algorithm": "SHA256", "hashValue": older}}),
        json!({"name": "h", "kind": "FileHash", "properties": {"algorithm": "SHA256", "hashValue": sha256}}),
        json!({"name": "f", "kind": "File", "properties": {"fileName": "x.exe", "fileHashEntityIds": refs}}),
    ];
    entities.extend((0..2_000).map(|n| {
        json!({"name": format!("p{n}"), "kind": "Process", "properties": {
            "processId": n, "commandLine": format!("x.exe {n}"), "imageFileEntityId": "f"}})
    }));
    let i = one(&json!({"name": "inc-8", "properties": {"title": "t"}, "entities": entities}));
    let files = of_kind(&i, EntityKind::File);
    assert_eq!(files.len(), 1, "the hashes are part of the file");
    assert_eq!(files[0].fields["sha256"], sha256);
    let processes = of_kind(&i, EntityKind::Process);
    assert_eq!(processes.len(), 2_000);
    for p in processes {
        assert_eq!(p.fields["image_sha256"], sha256, "{}", p.id);
        assert_eq!(p.fields["image_file_name"], "x.exe");
    }
}

/// What a reference copies from the entity it names (a host's device id, an account's UPN, a
/// file's name, a process's id, a hash) is read from that entity once, not once per entity
/// referring to it: a member looked for under a name the entity lacks is looked for among all
/// its members, ignoring case, so 2,000 processes on a host of 20,000 members (and run by an
/// account of as many) would each scan them ten times: most of a minute in a debug build, where
/// reading each once takes a fraction of a second.
#[test]
fn sentinel_entities_referred_to_are_read_once_for_all_references() {
    let junk = |n: usize| -> serde_json::Map<String, serde_json::Value> {
        (0..n).map(|i| (format!("junk{i:06}"), json!(0))).collect()
    };
    let mut host = junk(20_000);
    host.insert("hostName".into(), json!("ws1"));
    let mut account = junk(20_000);
    account.extend([
        ("accountName".to_string(), json!("kim")),
        ("upnSuffix".to_string(), json!("contoso.com")),
    ]);
    let mut parent = junk(20_000);
    parent.insert("processId".into(), json!("0x10"));
    // No `algorithm`: looked for, and then guessed from the length.
    let mut hash = junk(20_000);
    hash.insert("hashValue".into(), json!("a".repeat(64)));
    let mut entities = vec![
        json!({"name": "h", "kind": "Host", "properties": host}),
        json!({"name": "u", "kind": "Account", "properties": account}),
        json!({"name": "pp", "kind": "Process", "properties": parent}),
        json!({"name": "fh", "kind": "FileHash", "properties": hash}),
        json!({"name": "img", "kind": "File", "properties": {"fileName": "x.exe", "fileHashEntityIds": ["fh"]}}),
    ];
    entities.extend((0..2_000).map(|n| {
        json!({"name": format!("p{n}"), "kind": "Process", "properties": {
            "processId": n + 100, "commandLine": format!("x.exe {n}"), "hostEntityId": "h",
            "accountEntityId": "u", "parentProcessEntityId": "pp", "imageFileEntityId": "img"}})
    }));
    // Files listing the one hash: each takes it.
    entities.extend((0..1_000).map(|n| {
        json!({"name": format!("f{n}"), "kind": "File", "properties": {
            "fileName": format!("copy{n}.exe"), "hostEntityId": "h", "fileHashEntityIds": ["fh"]}})
    }));
    let i = one(&json!({"name": "inc-14", "properties": {"title": "t"}, "entities": entities}));
    let processes = of_kind(&i, EntityKind::Process);
    assert_eq!(processes.len(), 2_001);
    for p in processes.iter().filter(|p| p.fields["process_id"] != 16) {
        assert_eq!(p.fields["device_id"], "ws1", "{}", p.id);
        assert_eq!(p.fields["account"], "kim@contoso.com");
        assert_eq!(p.fields["parent_process_id"], 16);
        assert_eq!(p.fields["image_file_name"], "x.exe");
        assert_eq!(p.fields["image_sha256"], "a".repeat(64).as_str());
    }
    let files = of_kind(&i, EntityKind::File);
    // One hash: the files are one file, on the host.
    assert_eq!(files.len(), 1);
    assert_eq!(files[0].fields["sha256"], "a".repeat(64).as_str());
    assert_eq!(files[0].fields["device_id"], "ws1");
}

/// Text copied from an entity into each entity referring to it (a host's name into every
/// process on it, a file's name and hashes into every process it is the image of) is bounded:
/// longer, the reference's copy is left out, so many references to one long text cannot
/// multiply it; the entity referred to keeps its own.
#[test]
fn sentinel_text_copied_through_references_is_bounded() {
    let long = "h".repeat(2_000);
    let long_hash = "a".repeat(200);
    let mut entities = vec![
        json!({"name": "host", "kind": "Host", "properties": {"hostName": long}}),
        json!({"name": "acct", "kind": "Account", "properties": {"accountName": long}}),
        json!({"name": "hash", "kind": "FileHash", "properties": {"algorithm": "SHA256", "hashValue": long_hash}}),
        json!({"name": "img", "kind": "File", "properties": {"fileName": long, "fileHashEntityIds": ["hash"]}}),
    ];
    entities.extend((0..3).map(|n| {
        json!({"name": format!("p{n}"), "kind": "Process", "properties": {
            "processId": n, "commandLine": "x", "hostEntityId": "host",
            "accountEntityId": "acct", "imageFileEntityId": "img"}})
    }));
    let i = one(&json!({"name": "inc-11", "properties": {"title": "t"}, "entities": entities}));
    let processes = of_kind(&i, EntityKind::Process);
    assert_eq!(processes.len(), 3);
    for p in processes {
        for field in ["device_id", "account", "image_file_name", "image_sha256"] {
            assert!(!p.fields.contains_key(field), "{field}: {:?}", p.fields);
        }
    }
    let devices = of_kind(&i, EntityKind::Device);
    assert_eq!(devices[0].fields["hostname"], long.as_str());
    let files = of_kind(&i, EntityKind::File);
    assert_eq!(files[0].fields["file_name"], long.as_str());
    assert!(
        !files[0].fields.contains_key("sha256"),
        "no hash is 200 characters"
    );
}

/// An account name that is a UPN already gets no second suffix: its `upn`, and the `account`
/// of a process run by it, are the name as written; a plain name gets `@upnSuffix`.
#[test]
fn a_sentinel_account_name_that_is_a_upn_gets_no_second_suffix() {
    let i = one(
        &json!({"name": "inc-13", "properties": {"title": "t"}, "entities": [
            {"name": "u1", "kind": "Account", "properties": {"accountName": "kim@contoso.com", "upnSuffix": "contoso.com"}},
            {"name": "u2", "kind": "Account", "properties": {"accountName": "lee", "upnSuffix": "contoso.com", "ntDomain": "CORP"}},
            {"name": "u3", "kind": "Account", "properties": {"accountName": "max", "ntDomain": "CORP"}},
            {"name": "u4", "kind": "Account", "properties": {"accountName": "ann@contoso.com", "ntDomain": "CORP"}},
            {"name": "h", "kind": "Host", "properties": {"hostName": "ws1"}},
            {"name": "p1", "kind": "Process", "properties": {"processId": 1, "commandLine": "a", "hostEntityId": "h", "accountEntityId": "u1"}},
            {"name": "p2", "kind": "Process", "properties": {"processId": 2, "commandLine": "b", "hostEntityId": "h", "accountEntityId": "u2"}},
            {"name": "p3", "kind": "Process", "properties": {"processId": 3, "commandLine": "c", "hostEntityId": "h", "accountEntityId": "u3"}},
            {"name": "p4", "kind": "Process", "properties": {"processId": 4, "commandLine": "d", "hostEntityId": "h", "accountEntityId": "u4"}}
        ]}),
    );
    let upns: Vec<_> = of_kind(&i, EntityKind::User)
        .iter()
        .map(|u| u.fields.get("upn").cloned())
        .collect();
    assert_eq!(
        upns,
        [
            Some(json!("kim@contoso.com")),
            Some(json!("lee@contoso.com")),
            None,
            Some(json!("ann@contoso.com"))
        ]
    );
    let accounts: Vec<_> = of_kind(&i, EntityKind::Process)
        .iter()
        .map(|p| p.fields["account"].clone())
        .collect();
    assert_eq!(
        accounts,
        [
            json!("kim@contoso.com"),
            json!("lee@contoso.com"),
            json!("CORP\\max"),
            json!("ann@contoso.com")
        ]
    );
}

/// A `FileHash` of its own (no `File` lists it) fills no hash field with a value longer than
/// any hash, as one a file lists does not: the longest, SHA-512 in hex, is 128 characters.
#[test]
fn a_standalone_sentinel_file_hash_longer_than_any_hash_fills_no_field() {
    let i = one(
        &json!({"name": "inc-12", "properties": {"title": "t"}, "entities": [
            {"name": "long", "kind": "FileHash", "properties": {"algorithm": "SHA256", "hashValue": "ab".repeat(300)}},
            {"name": "just-over", "kind": "FileHash", "properties": {"algorithm": "SHA1", "hashValue": "c".repeat(129)}},
            {"name": "at-most", "kind": "FileHash", "properties": {"algorithm": "MD5", "hashValue": format!(" {} ", "E".repeat(128))}}
        ]}),
    );
    let files = of_kind(&i, EntityKind::File);
    assert_eq!(files.len(), 3);
    for f in &files[..2] {
        for field in ["sha256", "sha1", "md5"] {
            assert!(!f.fields.contains_key(field), "{}: {:?}", f.id, f.fields);
        }
        assert_eq!(f.kind, EntityKind::File);
    }
    assert_eq!(
        files[2].fields["md5"],
        "e".repeat(128).as_str(),
        "trimmed, lowercase"
    );
}

/// A host's name and domain are read from `additionalData` too, as the format doc says; a
/// file's name is its `fileName`, never the entity's resource name.
#[test]
fn sentinel_host_names_from_additional_data_and_file_names_from_file_name_only() {
    let i = one(
        &json!({"name": "inc-10", "properties": {"title": "t"}, "entities": [
            {"name": "h1", "kind": "Host", "properties": {"hostName": "pc1", "additionalData": {"DnsDomain": "corp.example"}}},
            {"name": "h2", "kind": "Host", "properties": {"additionalData": {"HostName": "pc2", "DnsDomain": "corp.example"}}},
            {"name": "h3", "kind": "Host", "properties": {"additionalData": {"HostName": "pc3"}}},
            {"name": "f1", "kind": "File", "properties": {"fileName": "a.exe", "hostEntityId": "h3"}},
            {"name": "f-resource-name", "kind": "File", "directory": "c:\\temp"},
            {"name": "f-flat", "kind": "File", "fileName": "b.exe"}
        ]}),
    );
    let hostnames: Vec<_> = of_kind(&i, EntityKind::Device)
        .iter()
        .map(|d| d.fields.get("hostname").cloned())
        .collect();
    assert_eq!(
        hostnames,
        [
            Some(json!("pc1.corp.example")),
            Some(json!("pc2.corp.example")),
            Some(json!("pc3"))
        ]
    );
    let file = |name: &str| {
        of_kind(&i, EntityKind::File)
            .into_iter()
            .find(|f| f.fields.get("file_name") == Some(&json!(name)))
            .unwrap_or_else(|| panic!("no file {name}: {:?}", ids(&i)))
    };
    assert_eq!(file("a.exe").fields["device_id"], "pc3");
    // A process or file on a host names its device as the device's `hostname` is written:
    // with its DNS domain, or by a NetBIOS name alone; processes on two hosts stay two.
    let hosts = one(
        &json!({"name": "inc-11", "properties": {"title": "t"}, "entities": [
            {"name": "ha", "kind": "Host", "properties": {"netBiosName": "WS-A"}},
            {"name": "hb", "kind": "Host", "properties": {"hostName": "nb2", "dnsDomain": "corp.x"}},
            {"name": "pa", "kind": "Process", "properties": {"processId": "4242", "commandLine": "x", "hostEntityId": "ha"}},
            {"name": "pb", "kind": "Process", "properties": {"processId": "4242", "commandLine": "x", "hostEntityId": "hb"}}
        ]}),
    );
    let names: Vec<_> = of_kind(&hosts, EntityKind::Device)
        .iter()
        .map(|d| d.fields["hostname"].clone())
        .collect();
    let on: Vec<_> = of_kind(&hosts, EntityKind::Process)
        .iter()
        .map(|p| p.fields["device_id"].clone())
        .collect();
    assert_eq!(names, [json!("WS-A"), json!("nb2.corp.x")]);
    assert_eq!(on, names);
    assert_eq!(
        file("b.exe").id,
        "file:b.exe",
        "a `fileName` beside the fields is read"
    );
    let unnamed = entity(&i, "file:f-resource-name");
    assert!(
        !unnamed.fields.contains_key("file_name"),
        "{:?}",
        unnamed.fields
    );
    assert_eq!(unnamed.fields["path"], "c:\\temp");
}

#[test]
fn sentinel_lists_in_the_wrong_wrapper_and_too_many_links_are_errors() {
    let (path, message) = invalid_at(
        &json!({"name": "inc", "properties": {"title": "t"}, "entities": {"value": [{"kind": "Ip"}]}})
            .to_string(),
    );
    assert_eq!(path, "$.entities");
    assert!(
        message.contains("`entities` is the list; found an object with `value`"),
        "{message}"
    );
    let (path, _) = invalid_at(
        &json!({"name": "inc", "properties": {"title": "t"}, "alerts": {"alerts": []}}).to_string(),
    );
    assert_eq!(path, "$.alerts");
    // The names the message quotes are the file's: clipped, however long.
    let long = "k".repeat(100_000);
    let (path, message) = invalid_at(
        &json!({"name": "inc", "properties": {"title": "t"}, "entities": {long.clone(): []}})
            .to_string(),
    );
    assert_eq!(path, "$.entities");
    assert!(message.len() < 300, "{} bytes", message.len());
    assert!(message.contains("found an object with `kkkk"), "{message}");
    // 1,000 alerts and 1,001 entities would link each to each; 1,000 and 500 (a large real
    // incident) import.
    let incident = |alerts: usize, entities: usize| {
        let alerts: Vec<_> = (0..alerts)
            .map(|i| json!({"name": format!("a{i}"), "properties": {}}))
            .collect();
        let entities: Vec<_> = (0..entities)
            .map(|i| json!({"kind": "Ip", "properties": {"address": format!("10.{}.{}.1", i / 250, i % 250)}}))
            .collect();
        json!({"name": "inc", "properties": {"title": "t"}, "alerts": alerts, "entities": entities})
            .to_string()
    };
    let (path, message) = invalid_at(&incident(1000, 1001));
    assert_eq!(path, "$.entities");
    assert!(
        message.contains("1001000 links, more than the limit of 1000000"),
        "{message}"
    );
    let large = one(&serde_json::from_str(&incident(1000, 500)).unwrap_or_default());
    assert_eq!(large.alerts.len(), 1000);
    assert!(large.alerts.iter().all(|a| a.entity_ids.len() == 500));
}

// ---- Riposte normalized JSON ----------------------------------------------------------------

#[test]
fn normalized_json_round_trips() {
    for text in [PAGE1, PAGE2, SENTINEL_EXAMPLE]
        .into_iter()
        .chain(GRAPH_EXAMPLES.iter().map(|(_, t)| *t))
    {
        let (_, incidents) = import(text);
        let doc = normalized_document(&incidents);
        let (format, again) = import(&serde_json::to_string_pretty(&doc).unwrap_or_default());
        assert_eq!(format, Format::Riposte);
        assert_eq!(again, incidents);
        // Normalizing is stable.
        assert_eq!(normalized_document(&again), doc);
    }
    let (_, two) = import(PAGE1);
    assert!(normalized_document(&two).get("incidents").is_some());
    assert!(normalized_document(&two[..1]).get("incident").is_some());
}

/// The model's address fields are IP addresses, and the normalized reader holds them to it:
/// text that is no address is not stored in one (an IP entity keeps it as its name), so an
/// import saved in the normalized form reads back.
#[test]
fn normalized_json_round_trips_addresses_that_are_not_addresses() {
    // With its (empty) alerts: one fetched without them is marked so, which the normalized
    // form does not keep.
    let sentinel = json!({"name": "inc-9", "properties": {"title": "t"}, "alerts": [], "entities": [
        {"name": "ip-1", "kind": "Ip", "properties": {"address": "10.0.0.300"}},
        {"name": "ip-2", "kind": "Ip", "properties": {"address": " 10.0.0.300 "}},
        {"name": "ip-3", "kind": "Ip", "properties": {"address": "FE80::1"}},
        {"name": "m-1", "kind": "MailMessage", "properties": {"networkMessageId": "n1",
            "recipient": "a@b.c", "senderIP": "unknown"}}
    ]});
    let graph = graph_incident(vec![graph_alert(
        "a1",
        vec![
            evidence("ipEvidence", json!({"ipAddress": "10.0.0.300"})),
            evidence("ipEvidence", json!({"ipAddress": "10.0.0.300 "})),
            evidence("ipEvidence", json!({"ipAddress": "FE80::1"})),
            evidence(
                "analyzedMessageEvidence",
                json!({"networkMessageId": "n1", "recipientEmailAddress": "a@b.c", "senderIp": "unknown"}),
            ),
        ],
    )]);
    for doc in [sentinel, graph] {
        let i = one(&doc);
        let bad = entity(&i, "ip:10.0.0.300");
        assert_eq!(bad.name, "10.0.0.300", "the name keeps the text: {doc}");
        assert!(!bad.fields.contains_key("address"), "{:?}", bad.fields);
        assert_eq!(entity(&i, "ip:fe80::1").fields["address"], "fe80::1");
        assert_eq!(
            of_kind(&i, EntityKind::Ip).len(),
            2,
            "the same text is one entity"
        );
        let mail = &of_kind(&i, EntityKind::Email)[0];
        assert!(!mail.fields.contains_key("sender_ip"), "{:?}", mail.fields);
        let saved = serde_json::to_string(&normalized_document(std::slice::from_ref(&i)))
            .unwrap_or_default();
        let (format, again) = import(&saved);
        assert_eq!(format, Format::Riposte);
        assert_eq!(again, [i]);
    }
}

#[test]
fn normalized_files_holding_sentinel_evidence_take_the_fast_path() {
    // Sentinel entities kept verbatim carry `properties`, which the scanner reads as the mark
    // of a Sentinel incident only where an incident can be.
    let (_, incidents) = import(SENTINEL_EXAMPLE);
    assert!(incidents.iter().any(|i| !i.other_evidence.is_empty()));
    let text = normalized_document(&incidents).to_string();
    let (info, fast) = fast_import(&text).expect("the fast path answers");
    assert_eq!(info.format, Format::Riposte);
    assert_eq!(fast, slow_import(&text).expect("imports").1);
    // A Sentinel incident itself still goes the slow way.
    assert!(fast_import(SENTINEL_EXAMPLE).is_none());
}

#[test]
fn the_normalized_example_is_the_phishing_example_normalized() {
    let (format, normalized) = import(NORMALIZED_EXAMPLE);
    assert_eq!(format, Format::Riposte);
    let (_, graph) = import(GRAPH_EXAMPLES[1].1);
    assert_eq!(normalized, graph);
}

#[test]
fn normalized_json_reads_nulls_as_absent_integers_as_text_and_normalizes_fields() {
    let doc = json!({"format": "riposte.incident/v1", "incidents": [
        {"id": "first"},
        {"id": 31001, "title": null, "tags": null, "severity": "High",
         "alerts": [{"id": 7, "severity": null, "entity_ids": null}],
         "entities": [{"id": "device:d1", "kind": "device", "roles": null, "fields": {
             "risk_score": "High", "os_platform": "Windows11", "health_status": "Active",
             "first_seen": "2025-01-01T10:00:00+01:00"}},
          {"id": "file:f1", "kind": "file", "fields": {
             "sha256": " ABCDEF ", "detection_status": "Prevented", "custom": "Kept As Is"}},
          {"id": "ip:x", "kind": "ip", "fields": {"address": "2001:DB8::1"}}]}
    ]});
    let (_, incidents) = import_json(&doc);
    let i = &incidents[1];
    assert_eq!(i.id, "31001");
    assert_eq!(i.title, "");
    assert_eq!(i.alerts[0].id, "7");
    assert_eq!(i.alerts[0].severity, "unknown");
    let d = entity(i, "device:d1");
    assert_eq!(d.fields["risk_score"], "high");
    assert_eq!(d.fields["os_platform"], "windows11");
    assert_eq!(d.fields["health_status"], "active");
    assert_eq!(d.fields["first_seen"], "2025-01-01T09:00:00Z");
    let f = entity(i, "file:f1");
    assert_eq!(f.fields["sha256"], "abcdef");
    assert_eq!(f.fields["detection_status"], "prevented");
    assert_eq!(f.fields["custom"], "Kept As Is");
    assert_eq!(entity(i, "ip:x").fields["address"], "2001:db8::1");
    // Normalizing normalized data changes nothing.
    let again = normalized_document(&incidents);
    assert_eq!(import(&again.to_string()).1, incidents);
    // An empty id is no id, on the fast path too; a bad time in a field says where.
    for (doc, at) in [
        (
            json!({"format": "riposte.incident/v1", "incident": {"id": ""}}),
            "$.incident.id",
        ),
        (
            json!({"format": "riposte.incident/v1", "incident": {"id": "x", "alerts": [{"id": " "}]}}),
            "$.incident.alerts[0].id",
        ),
        (
            json!({"format": "riposte.incident/v1", "incident": {"id": "x", "entities": [
                {"id": "device:d", "kind": "device", "fields": {"first_seen": "2021-02-30T00:00:00Z"}}]}}),
            "$.incident.entities[0].fields.first_seen",
        ),
    ] {
        let (path, _) = invalid_at(&doc.to_string());
        assert_eq!(path, at);
    }
}

#[test]
fn normalized_json_is_normalized_and_linked_on_import() {
    let doc = json!({"format": "riposte.incident/v1", "incident": {
        "id": "hand-1", "source": "Sentinel", "severity": "High", "status": "InProgress",
        "created": "2025-01-01T10:00:00+01:00",
        "alerts": [{"id": "a1", "entity_ids": ["device:x"]}, {"id": "a2"}],
        "entities": [
            {"id": "device:x", "kind": "device", "verdict": "Malicious", "roles": ["CommandAndControl"],
             "fields": {"hostname": "x.corp", "is_server": false}},
            {"id": "user:u", "kind": "User", "alert_ids": ["a2"], "fields": {"upn": "u@c.com"}}
        ]
    }});
    let i = one(&doc);
    assert_eq!(i.source, "sentinel");
    assert_eq!(i.severity, "high");
    assert_eq!(i.status, "in_progress");
    assert_eq!(i.classification, "unknown", "defaults");
    assert_eq!(i.created.as_deref(), Some("2025-01-01T09:00:00Z"));
    let dev = entity(&i, "device:x");
    assert_eq!(dev.verdict, "malicious");
    assert_eq!(dev.roles, ["command_and_control"]);
    assert_eq!(dev.alert_ids, ["a1"], "linked from the alert");
    assert_eq!(dev.name, "x", "named from its fields");
    assert_eq!(dev.remediation_status, "none");
    assert_eq!(i.alerts[1].entity_ids, ["user:u"], "linked from the entity");
    assert_eq!(entity(&i, "user:u").kind, EntityKind::User);
}

/// Member names ignore case, as in every format: the incident's, its alerts' and entities', the
/// document's and those of `fields`. Where a name is given exactly and in another case, the
/// exact one counts. Errors name the member as written.
#[test]
fn normalized_json_names_ignore_case() {
    let doc = |upper: bool| {
        let n = |s: &str| {
            if upper {
                let mut c = s.chars();
                c.next()
                    .map_or(String::new(), |f| f.to_uppercase().chain(c).collect())
            } else {
                s.to_string()
            }
        };
        let mut fields = serde_json::Map::new();
        fields.insert(n("mde_device_id"), json!("m1"));
        fields.insert(n("os_platform"), json!("WindowsServer2022"));
        fields.insert(n("risk_score"), json!("High"));
        let mut entity = serde_json::Map::new();
        entity.insert(n("id"), json!("device:m1"));
        entity.insert(n("kind"), json!("Device"));
        entity.insert(n("provider"), json!("crowdstrike"));
        entity.insert(n("alert_ids"), json!(["a1"]));
        entity.insert(n("fields"), json!(fields));
        let mut alert = serde_json::Map::new();
        alert.insert(n("id"), json!("a1"));
        alert.insert(n("severity"), json!("Low"));
        alert.insert(n("mitre_techniques"), json!(["T1"]));
        let mut inc = serde_json::Map::new();
        inc.insert(n("id"), json!("c"));
        inc.insert(n("severity"), json!("High"));
        inc.insert(n("source"), json!("sentinel"));
        inc.insert(n("tags"), json!(["Finance"]));
        inc.insert(n("alerts"), json!([alert]));
        inc.insert(n("entities"), json!([entity]));
        let mut d = serde_json::Map::new();
        d.insert(n("format"), json!("riposte.incident/v1"));
        d.insert(n("incident"), json!(inc));
        serde_json::Value::Object(d)
    };
    let i = one(&doc(true));
    assert_eq!(i, one(&doc(false)));
    assert_eq!(i.severity, "high");
    assert_eq!(i.entities.len(), 1);
    let d = &i.entities[0];
    assert_eq!(d.provider, "crowdstrike");
    assert_eq!(d.fields.get("risk_score"), Some(&json!("high")));
    assert_eq!(d.fields.get("is_server"), Some(&json!(true)));
    assert_eq!(i.alerts[0].entity_ids, ["device:m1"]);
    // Serde, which reads normalized files on the fast path, would not find them.
    assert!(fast_import(&doc(true).to_string()).is_none());
    // Names of `fields` alone the fast path reads, as the slow one.
    let fields_only = json!({"format": "riposte.incident/v1", "incident": {"id": "f", "entities": [
        {"id": "device:m1", "kind": "device", "fields": {"Mde_Device_Id": "m1", "OS_PLATFORM": "Linux"}}]}})
    .to_string();
    let (_, list) = fast_import(&fields_only).expect("the fast path answers");
    assert_eq!(list, slow_import(&fields_only).expect("imports").1);
    assert_eq!(
        list[0].entities[0].fields.get("os_platform"),
        Some(&json!("linux"))
    );
    // The exact name first.
    let both = json!({"format": "riposte.incident/v1", "incident": {"id": "b",
        "Severity": "high", "severity": "low", "entities": [{"id": "device:m1", "kind": "device",
        "fields": {"HOSTNAME": "x", "hostname": "y"}}]}});
    let b = one(&both);
    assert_eq!(b.severity, "low");
    assert_eq!(b.entities[0].fields.get("hostname"), Some(&json!("y")));
    assert_eq!(b.entities[0].fields.get("HOSTNAME"), Some(&json!("x")));
    // Errors say the name as written.
    for (inc, at) in [
        (json!({"id": "e", "Tags": ["a", 1.5]}), "$.Incident.Tags[1]"),
        (
            json!({"id": "e", "Entities": [{"ID": "user:u", "Kind": "user", "Fields": {"Is_Admin": "yes"}}]}),
            "$.Incident.Entities[0].Fields.Is_Admin",
        ),
        (
            json!({"id": "e", "entities": [{"id": "user:u", "KIND": "router"}]}),
            "$.Incident.entities[0].KIND",
        ),
        (json!({"ID": " "}), "$.Incident.ID"),
        (
            json!({"id": "e", "ALERTS": [{"id": "a", "Created": "soon"}]}),
            "$.Incident.ALERTS[0].Created",
        ),
        (
            json!({"id": "e", "entities": [{"id": "ip:1", "kind": "ip"}, {"Id": "ip:1", "kind": "ip"}]}),
            "$.Incident.entities[1].Id",
        ),
    ] {
        let text = json!({"FORMAT": "riposte.incident/v1", "Incident": inc}).to_string();
        assert_eq!(invalid_at(&text).0, at, "{inc}");
    }
}

/// One text where a list of text is expected is read as a list of it, as in every format.
#[test]
fn normalized_json_reads_one_text_as_a_list_of_it() {
    let doc = |one: bool| {
        let list = |s: &str| if one { json!(s) } else { json!([s]) };
        json!({"format": "riposte.incident/v1", "incident": {
            "id": "l", "tags": list("Finance"),
            "alerts": [{"id": "A", "mitre_techniques": list("T1566"), "entity_ids": list("ip:10.0.0.1")}],
            "entities": [{"id": "ip:10.0.0.1", "kind": "ip", "roles": list("attacker"),
                          "tags": list("tor"), "alert_ids": list("A")}]
        }})
    };
    let i = one(&doc(true));
    assert_eq!(i, one(&doc(false)));
    assert_eq!(i.tags, ["Finance"]);
    assert_eq!(i.entities[0].roles, ["attacker"]);
    assert_eq!(i.alerts[0].mitre_techniques, ["T1566"]);
    // Anything else that is not a list is still an error at its path.
    let (path, message) = invalid_at(
        &json!({"format": "riposte.incident/v1", "incident": {"id": "l", "tags": {"a": 1}}})
            .to_string(),
    );
    assert_eq!(path, "$.incident.tags");
    assert!(message.contains("expected a list of text"), "{message}");
}

/// Booleans and integers where text is expected read as their JSON spelling, in single
/// fields and in lists of text, as in every format; a null item of a list is absent.
#[test]
fn normalized_json_reads_booleans_and_integers_as_text() {
    let i = one(&json!({"format": "riposte.incident/v1", "incident": {
        "id": "b", "title": true, "tags": [false, 7, null, "x"],
        "alerts": [{"id": 3, "title": false, "entity_ids": ["ip:10.0.0.1"]}],
        "entities": [{"id": "ip:10.0.0.1", "kind": "ip", "name": true, "roles": [true],
                      "tags": 12}]
    }}));
    assert_eq!(i.entities[0].tags, ["12"]);
    assert_eq!(i.title, "true");
    assert_eq!(i.tags, ["false", "7", "x"]);
    assert_eq!(i.alerts[0].id, "3");
    assert_eq!(i.alerts[0].title, "false");
    assert_eq!(i.entities[0].name, "true");
    assert_eq!(i.entities[0].roles, ["true"]);
    // A fraction is no id or text, nor is an object in a list of text.
    for (inc, at) in [
        (json!({"id": "b", "title": 1.5}), "$.incident.title"),
        (
            json!({"id": "b", "tags": ["a", {"b": 1}]}),
            "$.incident.tags[1]",
        ),
        (json!({"id": "b", "tags": [2.5]}), "$.incident.tags[0]"),
        // In an entity's fields too: two ids past 64 bits would come out the same.
        (
            json!({"id": "b", "entities": [{"id": "device:a", "kind": "device",
                   "fields": {"mde_device_id": 12345678901234567890123_f64}}]}),
            "$.incident.entities[0].fields.mde_device_id",
        ),
        (
            json!({"id": "b", "entities": [{"id": "file:a", "kind": "file",
                   "fields": {"device_ids": ["d", 1.5]}}]}),
            "$.incident.entities[0].fields.device_ids[1]",
        ),
        // The item the file has there, repeats and blanks before it counted.
        (
            json!({"id": "b", "entities": [{"id": "device:a", "kind": "device",
                   "fields": {"ip_addresses": ["10.0.0.1", "10.0.0.1", "", "bogus"]}}]}),
            "$.incident.entities[0].fields.ip_addresses[3]",
        ),
    ] {
        let text = json!({"format": "riposte.incident/v1", "incident": inc}).to_string();
        assert_eq!(invalid_at(&text).0, at, "{inc}");
    }
    // Whole numbers in fields are text, as written; lists of text lose blank and repeated
    // items, and derive what they imply from their text.
    let i = one(
        &json!({"format": "riposte.incident/v1", "incident": {"id": "b", "entities": [
            {"id": "file:a", "kind": "file", "fields": {"device_ids": [123, "abc", " ", "abc"]}},
            {"id": "file:b", "kind": "file", "fields": {"device_id": 77}},
            {"id": "email:c", "kind": "email", "fields": {"urls": ["  ", "http://u", "", "http://u"]}},
            {"id": "device:d", "kind": "device", "fields": {"ip_addresses": ["2001:db8::1", "2001:DB8::1", "2001:db8:0::1"]}}
        ]}}),
    );
    // Repeats are dropped once normalized: three spellings of one address are one.
    assert_eq!(i.entities[3].fields["ip_addresses"], json!(["2001:db8::1"]));
    assert_eq!(i.entities[0].fields["device_ids"], json!(["123", "abc"]));
    assert_eq!(i.entities[0].fields["device_id"], json!("123"));
    assert_eq!(i.entities[1].fields["device_ids"], json!(["77"]));
    assert_eq!(i.entities[2].fields["urls"], json!(["http://u"]));
}

/// Two alerts may share an id (a Graph file may hold such, and its normalized form keeps both):
/// links go by the id, so an entity names it once, each alert keeps its own entities, and an
/// entity naming the id that no alert lists joins the first alert. A Graph import's normalized
/// form reads back unchanged.
#[test]
fn normalized_json_alerts_sharing_an_id_are_linked_by_it() {
    let doc = json!({"format": "riposte.incident/v1", "incident": {
        "id": "dup",
        "alerts": [{"id": "A", "entity_ids": ["ip:10.0.0.1"]},
                   {"id": "A", "entity_ids": ["ip:10.0.0.2", "ip:10.0.0.1"]}],
        "entities": [
            {"id": "ip:10.0.0.1", "kind": "ip"},
            {"id": "ip:10.0.0.2", "kind": "ip"},
            {"id": "ip:10.0.0.3", "kind": "ip", "alert_ids": ["A"]}
        ]
    }});
    let i = one(&doc);
    assert_eq!(entity(&i, "ip:10.0.0.1").alert_ids, ["A"]);
    assert_eq!(entity(&i, "ip:10.0.0.2").alert_ids, ["A"]);
    assert_eq!(entity(&i, "ip:10.0.0.3").alert_ids, ["A"]);
    assert_eq!(i.alerts[0].entity_ids, ["ip:10.0.0.1", "ip:10.0.0.3"]);
    assert_eq!(i.alerts[1].entity_ids, ["ip:10.0.0.2", "ip:10.0.0.1"]);
    assert_eq!(
        eval(&i, "len(incident.alerts[0].entities)"),
        Value::Number(2.0)
    );
    assert_eq!(one(&normalized_document(std::slice::from_ref(&i))), i);
    // As Graph gives them.
    let ip = |a: &str| evidence("ipEvidence", json!({"ipAddress": a}));
    let graph = one(&graph_incident(vec![
        graph_alert("A", vec![ip("10.0.0.1")]),
        graph_alert("A", vec![ip("10.0.0.2")]),
    ]));
    assert_eq!(graph.alerts[0].entity_ids, ["ip:10.0.0.1"]);
    assert_eq!(graph.alerts[1].entity_ids, ["ip:10.0.0.2"]);
    assert_eq!(entity(&graph, "ip:10.0.0.2").alert_ids, ["A"]);
    assert_eq!(
        one(&normalized_document(std::slice::from_ref(&graph))),
        graph
    );
}

/// A hand-written file may leave out what the importers derive: a device is a server by its
/// OS platform, a user an admin by its tags and roles as written, a file's devices from its
/// device; what is written is kept.
#[test]
fn normalized_json_derives_the_fields_a_hand_written_file_leaves_out() {
    let doc = json!({"format": "riposte.incident/v1", "incident": {
        "id": "hand-2",
        "entities": [
            {"id": "device:s", "kind": "device", "fields": {"os_platform": "WindowsServer2022"}},
            {"id": "device:w", "kind": "device", "fields": {"hostname": "w"}},
            {"id": "device:k", "kind": "device", "fields": {"os_platform": "WindowsServer2022", "is_server": false}},
            {"id": "user:a", "kind": "user", "tags": ["Domain Admins"], "fields": {"upn": "a@c.com"}},
            {"id": "user:p", "kind": "user", "roles": ["AdminPortal"], "fields": {"upn": "p@c.com"}},
            {"id": "user:n", "kind": "user", "tags": ["Non-admin"], "fields": {"upn": "n@c.com"}},
            {"id": "file:f", "kind": "file", "fields": {"sha1": "ab", "device_id": "m1"}},
            {"id": "file:g", "kind": "file", "fields": {"sha1": "cd", "device_ids": ["", "m2", "m3"]}}
        ]
    }});
    // Both paths (`one` checks they agree).
    let i = one(&doc);
    let field = |id: &str, name: &str| entity(&i, id).fields.get(name).cloned();
    assert_eq!(field("device:s", "is_server"), Some(json!(true)));
    assert_eq!(field("device:w", "is_server"), Some(json!(false)));
    assert_eq!(
        field("device:k", "is_server"),
        Some(json!(false)),
        "as written"
    );
    assert_eq!(field("user:a", "is_admin"), Some(json!(true)));
    assert_eq!(
        field("user:p", "is_admin"),
        Some(json!(false)),
        "`AdminPortal` is one word"
    );
    assert_eq!(field("user:n", "is_admin"), Some(json!(false)));
    assert_eq!(field("file:f", "device_ids"), Some(json!(["m1"])));
    assert_eq!(field("file:g", "device_id"), Some(json!("m2")));
}

/// A hand-written incident's number is text; an integer is read as its spelling.
#[test]
fn normalized_json_incident_numbers_are_text() {
    for (written, read) in [
        (json!(4218), Some("4218")),
        (json!("77"), Some("77")),
        (json!(null), None),
    ] {
        let doc =
            json!({"format": "riposte.incident/v1", "incident": {"id": "n", "number": written}});
        assert_eq!(one(&doc).number.as_deref(), read);
    }
    let doc = json!({"format": "riposte.incident/v1", "incident": {"id": "n", "number": [1]}});
    let (at, _) = invalid_at(&doc.to_string());
    assert_eq!(at, "$.incident.number");
}

/// An entity that does not say which platform reported it is the incident source's: the one
/// to act through; where the source has no response integration, it stays unknown.
#[test]
fn normalized_json_entities_default_to_the_source_platform() {
    let provider = |source: &str, written: serde_json::Value| {
        let mut entity = json!({"id": "device:d", "kind": "device"});
        if !written.is_null() {
            entity["provider"] = written;
        }
        let doc = json!({"format": "riposte.incident/v1", "incident": {
            "id": "p", "source": source, "entities": [entity]
        }});
        one(&doc).entities[0].provider.to_string()
    };
    for (source, expected) in [
        ("defender_xdr", "microsoft"),
        ("Sentinel", "microsoft"),
        ("crowdstrike", "crowdstrike"),
        ("sentinelone", "sentinelone"),
        ("qradar", "unknown"),
        ("splunk", "unknown"),
    ] {
        assert_eq!(
            provider(source, serde_json::Value::Null),
            expected,
            "{source}"
        );
        assert_eq!(provider(source, json!("Unknown")), expected, "{source}");
    }
    assert_eq!(
        provider("defender_xdr", json!("crowdstrike")),
        "crowdstrike",
        "as written"
    );
    assert_eq!(
        provider("defender_xdr", json!("Acme")),
        "acme",
        "kept, as other values"
    );
}

/// Blank text is absent, as the format says: a blank provider is the source's platform (read
/// as `unknown`, no action could act on the entity), and a blank title, list item or field
/// reads as if left out, so saving and reading again changes nothing.
#[test]
fn normalized_json_blank_text_is_absent() {
    let doc = |blank: bool| {
        let b = |v: serde_json::Value| if blank { v } else { serde_json::Value::Null };
        let list = |items: &[&'static str], blanks: &[&'static str]| {
            let mut out = items.to_vec();
            if blank {
                out.extend(blanks);
            }
            out
        };
        json!({"format": "riposte.incident/v1", "incident": {
            "id": "b", "source": "defender_xdr", "title": b(json!("  ")),
            "tags": list(&["Finance"], &["", " "]),
            "alerts": [{"id": "a1", "title": b(json!(" ")), "mitre_techniques": list(&[], &[""]),
                        "entity_ids": list(&["mailbox:m@c.com"], &[" "])}],
            "entities": [
                {"id": "mailbox:m@c.com", "kind": "mailbox", "provider": b(json!("")),
                 "tags": list(&[], &[""]), "alert_ids": list(&[], &[""]),
                 "fields": {"primary_address": "m@c.com", "upn": b(json!("")),
                            "display_name": b(json!(" "))}},
                {"id": "device:d", "kind": "device", "provider": b(json!("  ")),
                 "fields": {"mde_device_id": "d", "hostname": b(json!("")), "os_build": b(json!(""))}}
            ]
        }})
    };
    let blank = one(&doc(true));
    assert_eq!(blank, one(&doc(false)));
    for e in &blank.entities {
        assert_eq!(e.provider, "microsoft", "{}", e.id);
    }
    assert_eq!(blank.tags, ["Finance"]);
    assert_eq!(blank.title, "");
    assert_eq!(blank.alerts[0].entity_ids, ["mailbox:m@c.com"]);
    assert_eq!(entity(&blank, "mailbox:m@c.com").alert_ids, ["a1"]);
    assert_eq!(eval(&blank, "incident.devices[0].hostname"), Value::Null);
    assert_eq!(eval(&blank, "incident.mailboxes[0].upn"), Value::Null);
    // Stable: the saved form reads back the same.
    let again = normalized_document(std::slice::from_ref(&blank));
    assert_eq!(one(&again), blank);
}

/// A known field of a hand-written entity whose value the `incident` record cannot read is an
/// error at its path: read as null, `not u.is_admin` would hold for `"is_admin": "yes"`.
/// Values that read as the type (numbers as text, `"true"`) are kept; unknown names too.
#[test]
fn normalized_json_fields_of_the_wrong_type_are_errors() {
    let entity = |kind: &str, fields: serde_json::Value| {
        json!({"format": "riposte.incident/v1", "incident": {
            "id": "t", "entities": [{"id": format!("{kind}:x"), "kind": kind, "fields": fields}]
        }})
        .to_string()
    };
    for (kind, fields, path, says) in [
        (
            "user",
            json!({"is_admin": "yes"}),
            "$.incident.entities[0].fields.is_admin",
            "`is_admin` of a user is `true` or `false`; found `\"yes\"`",
        ),
        (
            "user",
            json!({"is_admin": 1}),
            "$.incident.entities[0].fields.is_admin",
            "found `1`",
        ),
        (
            "device",
            json!({"ip_addresses": ["10.0.0.1", "10.0.0.300"]}),
            "$.incident.entities[0].fields.ip_addresses[1]",
            "`ip_addresses` of a device is a list, each item an IP address",
        ),
        (
            "device",
            json!({"os_build": "many"}),
            "$.incident.entities[0].fields.os_build",
            "`os_build` of a device is a number",
        ),
        (
            "ip",
            json!({"address": "not-an-ip"}),
            "$.incident.entities[0].fields.address",
            "`address` of an ip is an IP address",
        ),
    ] {
        let (at, message) = invalid_at(&entity(kind, fields));
        assert_eq!(at, path, "{message}");
        assert!(message.contains(says), "{message}");
    }
    let fine = one(&serde_json::from_str(&entity(
        "user",
        json!({"is_admin": "TRUE", "upn": 42, "nickname": [1, 2]}),
    ))
    .expect("json"));
    assert_eq!(fine.entities[0].fields["is_admin"], json!("TRUE"));
    // One value where the model has a list reads as a list of it, as lists of text do
    // elsewhere; the addresses of a list are written canonically, as an `address` is.
    let listed = |kind: &str, fields: serde_json::Value| {
        one(&serde_json::from_str(&entity(kind, fields)).expect("json"))
            .entities
            .remove(0)
            .fields
    };
    let device = listed("device", json!({"ip_addresses": "FE80::1"}));
    assert_eq!(device["ip_addresses"], json!(["fe80::1"]));
    let device = listed(
        "device",
        json!({"ip_addresses": ["::ffff:198.51.100.7", "10.0.0.1"]}),
    );
    assert_eq!(device["ip_addresses"], json!(["198.51.100.7", "10.0.0.1"]));
    // A list where the model has none is quoted as written.
    let (at, message) = invalid_at(&entity("file", json!({"sha256": ["ABC"]})));
    assert_eq!(at, "$.incident.entities[0].fields.sha256", "{message}");
    assert!(message.ends_with("found `[\"ABC\"]`"), "{message}");
    let file = listed("file", json!({"device_ids": "abc"}));
    assert_eq!(file["device_ids"], json!(["abc"]));
    assert_eq!(file["device_id"], json!("abc"));
    // Blank is absent; common fields are not read from `fields`, so not checked there.
    let blank = one(&serde_json::from_str(&entity(
        "device",
        json!({"os_build": "", "ip_addresses": [" "], "tags": "x"}),
    ))
    .expect("json"));
    assert_eq!(blank.entities[0].fields["tags"], json!("x"));
}

#[test]
fn normalized_json_errors_have_paths() {
    let bad = |inc: serde_json::Value| {
        invalid_at(
            &json!({"format": "riposte.incident/v1", "incidents": [{"id": "ok"}, inc]}).to_string(),
        )
    };
    assert_eq!(bad(json!({"title": "no id"})).0, "$.incidents[1].id");
    assert_eq!(
        bad(json!({"id": "x", "tags": ["a", {}]})).0,
        "$.incidents[1].tags[1]"
    );
    let (path, message) = bad(json!({"id": "x", "entities": [{"id": "e", "kind": "router"}]}));
    assert_eq!(path, "$.incidents[1].entities[0].kind");
    assert!(
        message.contains("`router`") && message.contains("cloud_app"),
        "{message}"
    );
    // An integer kind is read as text, as any id, and names no kind.
    let (path, message) =
        bad(json!({"id": "x", "entities": [{"id": "e", "kind": "ip"}, {"id": "f", "kind": 5}]}));
    assert_eq!(path, "$.incidents[1].entities[1].kind");
    assert!(message.contains("`5`"), "{message}");
    let (path, message) = bad(
        json!({"id": "x", "entities": [{"id": "e", "kind": "ip"}, {"id": "e", "kind": "url"}]}),
    );
    assert_eq!(path, "$.incidents[1].entities[1].id");
    assert!(message.contains("`e`"), "{message}");
    assert_eq!(
        bad(json!({"id": "x", "alerts": [{"id": "a", "created": "soon"}]})).0,
        "$.incidents[1].alerts[0].created"
    );
    assert_eq!(
        bad(json!({"id": "x", "entities": [{"id": "e", "kind": "ip", "fields": []}]})).0,
        "$.incidents[1].entities[0].fields"
    );
    let (path, message) = invalid_at(r#"{"format": "riposte.incident/v2", "incidents": []}"#);
    assert_eq!(path, "$.format");
    assert!(message.contains("`riposte.incident/v2`"), "{message}");
    assert_eq!(invalid_at(r#"{"format": "riposte.incident/v1"}"#).0, "$");
}

// ---- The incident record ----------------------------------------------------------------------

fn field(v: &Value, name: &str) -> Value {
    match v {
        Value::Record(r) => r.get(name).cloned().unwrap_or(Value::Null),
        _ => Value::Null,
    }
}

fn list(v: &Value) -> Vec<Value> {
    match v {
        Value::List(items) => items.to_vec(),
        _ => Vec::new(),
    }
}

#[track_caller]
fn eval(incident: &Incident, text: &str) -> Value {
    let scope = Scope::new().with("incident", Type::Record(model::incident()));
    let expr = compile(ExprSource::detached(text), &scope, None)
        .unwrap_or_else(|d| panic!("`{text}` does not compile: {d:?}"));
    let vars = [incident.to_value()];
    expr.eval(&Env {
        vars: &vars,
        now_ms: 0,
    })
}

#[test]
fn to_value_fills_the_incident_record() {
    let (_, incidents) = import(PAGE1);
    let i = &incidents[1];
    let v = i.to_value();
    let Value::Record(r) = &v else {
        panic!("not a record: {v:?}")
    };
    assert_eq!(r.ty().name, "incident");
    assert_eq!(r.fields().len(), model::incident().fields.len());
    assert_eq!(
        eval(i, "incident.devices[0].hostname"),
        Value::from("fin-ws-0142.corp.contoso.com")
    );
    assert_eq!(eval(i, "incident.severity == medium"), Value::Bool(true));
    assert_eq!(eval(i, "incident.status"), Value::from("in_progress"));
    assert_eq!(
        eval(i, "incident.workspace"),
        Value::from("4d1f6b7c-2a9e-4c1b-9e0f-5a3c2b1d8e7f")
    );
    assert_eq!(eval(i, "incident.description"), Value::Null);
    assert_eq!(
        eval(i, "incident.created"),
        Value::Time(parse_time("2025-03-12T06:02:19.706Z").unwrap_or_default())
    );
    assert_eq!(eval(i, "count(incident.entities)"), Value::Number(6.0));
    assert_eq!(
        eval(i, "count(incident.alerts[0].entities)"),
        Value::Number(6.0)
    );
    assert_eq!(eval(i, "count(incident.users)"), Value::Number(1.0));
    assert_eq!(
        eval(i, "incident.alerts[0].severity >= medium"),
        Value::Bool(true)
    );
    assert_eq!(
        eval(
            i,
            "incident.alerts[0].first_activity < incident.alerts[0].last_activity"
        ),
        Value::Bool(true)
    );
    assert_eq!(
        eval(i, "'T1059.001' in incident.alerts[0].mitre_techniques"),
        Value::Bool(true)
    );
    assert_eq!(
        eval(i, "incident.devices[0].os_build"),
        Value::Number(22631.0)
    );
    assert_eq!(eval(i, "incident.devices[0].is_server"), Value::Bool(false));
    assert_eq!(
        eval(i, "incident.devices[0].ip_addresses[1]"),
        Value::Ip(
            "fe80::1c2d:3e4f:5a6b:7c8d"
                .parse()
                .unwrap_or(std::net::Ipv4Addr::UNSPECIFIED.into())
        )
    );
    assert_eq!(
        eval(i, "incident.ips[0].address"),
        Value::Ip([203, 0, 113, 190].into())
    );
    assert_eq!(
        eval(i, "incident.processes[0].process_id"),
        Value::Number(7412.0)
    );
    assert_eq!(
        eval(i, "incident.processes[0].created"),
        Value::Time(parse_time("2025-03-12T05:58:09.441Z").unwrap_or_default())
    );
    assert_eq!(
        eval(i, "incident.files[0].verdict == 'malicious'"),
        Value::Bool(true)
    );
    assert_eq!(eval(i, "incident.entities[2].kind"), Value::from("process"));
    assert_eq!(
        eval(i, "incident.urls[0].domain"),
        Value::from("cdn-update-check.example.org")
    );
    assert_eq!(eval(i, "count(incident.mailboxes)"), Value::Number(0.0));
    assert_eq!(eval(i, "incident.users[0].is_admin"), Value::Bool(false));
    let phish = &incidents[0];
    assert_eq!(
        eval(phish, "incident.emails[0].sender_ip"),
        Value::Ip([203, 0, 113, 47].into())
    );
    assert_eq!(
        eval(phish, "incident.emails[0].received"),
        Value::Time(parse_time("2025-03-12T07:58:40Z").unwrap_or_default())
    );
    assert_eq!(
        eval(phish, "incident.cloud_apps[0].app_id"),
        Value::Number(11161.0)
    );
    assert_eq!(
        eval(phish, "incident.mailboxes[0].upn"),
        Value::from("megan.bowen@contoso.com")
    );
    // The same record everywhere it appears.
    assert_eq!(
        eval(i, "incident.alerts[0].entities[0] == incident.devices[0]"),
        Value::Bool(true)
    );
    // Every kind's record has every model field.
    for e in &i.entities {
        let Value::Record(r) = e.to_value() else {
            panic!("entity is not a record")
        };
        assert_eq!(r.ty().entity, Some(e.kind));
        assert_eq!(r.fields().len(), model::entity(e.kind).fields.len());
    }
}

#[test]
fn examples_import_and_show_what_they_claim() {
    for (name, text) in GRAPH_EXAMPLES {
        let (format, incidents) = import(text);
        assert_eq!(format, Format::Graph, "{name}");
        assert_eq!(incidents.len(), 1, "{name}");
    }
    let get = |n: usize| import(GRAPH_EXAMPLES[n].1).1.remove(0);
    let ransomware = get(0);
    assert_eq!(ransomware.severity, "high");
    let devices = of_kind(&ransomware, EntityKind::Device);
    let names: Vec<&str> = devices.iter().map(|d| d.name.as_str()).collect();
    assert_eq!(names, ["srv-fs-01", "dc-01"]);
    assert!(devices.iter().all(|d| d.fields["is_server"] == true));
    assert!(of_kind(&ransomware, EntityKind::File)
        .iter()
        .all(|f| f.verdict == "malicious"));
    // The payload seen on both servers knows both; `device_id` is the first.
    let payload = of_kind(&ransomware, EntityKind::File)
        .into_iter()
        .find(|f| f.name == "svchost_update.exe")
        .expect("the payload");
    let mde_ids: Vec<&serde_json::Value> =
        devices.iter().map(|d| &d.fields["mde_device_id"]).collect();
    assert_eq!(payload.fields["device_ids"], json!(mde_ids));
    assert_eq!(&payload.fields["device_id"], mde_ids[0]);
    assert_eq!(
        eval(
            &ransomware,
            "count(first(filter(incident.files, f => f.file_name == 'svchost_update.exe')).device_ids)"
        ),
        Value::Number(2.0)
    );
    assert_eq!(
        eval(
            &ransomware,
            "any(incident.alerts, a => lower(a.category) in ['malware', 'ransomware'])"
        ),
        Value::Bool(true)
    );
    let phishing = get(1);
    assert_eq!(of_kind(&phishing, EntityKind::Email).len(), 2);
    assert_eq!(of_kind(&phishing, EntityKind::Mailbox).len(), 2);
    assert_eq!(
        eval(
            &phishing,
            "count(filter(incident.users, u => 'compromised' in u.roles))"
        ),
        Value::Number(1.0)
    );
    let user = get(2);
    assert_eq!(user.severity, "medium");
    assert_eq!(
        eval(&user, "any(incident.ips, i => i.verdict == 'malicious')"),
        Value::Bool(true)
    );
    assert_eq!(
        of_kind(&user, EntityKind::User).len(),
        1,
        "one user across both alerts"
    );
    assert_eq!(of_kind(&user, EntityKind::User)[0].verdict, "malicious");
    let indicators = get(3);
    assert_eq!(indicators.severity, "low");
    assert!(indicators
        .entities
        .iter()
        .all(|e| matches!(e.kind, EntityKind::Ip | EntityKind::Url | EntityKind::File)));
    let fp = get(4);
    assert_eq!(
        (fp.classification.as_str(), fp.determination.as_deref()),
        ("false_positive", Some("not_malicious"))
    );
    assert_eq!(of_kind(&fp, EntityKind::File)[0].verdict, "suspicious");
    assert_eq!(of_kind(&fp, EntityKind::User)[0].fields["is_admin"], true);
    let info = get(5);
    assert_eq!(info.severity, "informational");
    assert!(info.entities.is_empty());
    let multi = get(6);
    let eng = of_kind(&multi, EntityKind::Device);
    assert_eq!(eng.len(), 1);
    assert_eq!(eng[0].alert_ids.len(), 3);
    assert_eq!(eng[0].tags, ["crown-jewel"]);
    assert!(
        eng[0].fields.contains_key("aad_device_id"),
        "from the second alert"
    );
    assert!(!of_kind(&multi, EntityKind::Process).is_empty());
    let resolved = get(7);
    assert_eq!(
        (resolved.severity.as_str(), resolved.status.as_str()),
        ("high", "resolved")
    );
    assert!(resolved.alerts.iter().all(|a| a.status == "resolved"));
}

#[test]
fn json_examples_in_the_format_doc_import() {
    let mut count = 0;
    let mut block: Option<String> = None;
    for line in FORMAT_DOC.lines() {
        match block.as_mut() {
            None if line.trim_end() == "```json" => block = Some(String::new()),
            None => {}
            Some(text) if line.trim_end() == "```" => {
                if let Err(e) = parse_incidents("docs/incident-format.md", text, &limits()) {
                    panic!(
                        "a ```json block of docs/incident-format.md does not import: {e}\n{text}"
                    );
                }
                count += 1;
                block = None;
            }
            Some(text) => {
                text.push_str(line);
                text.push('\n');
            }
        }
    }
    assert!(count >= 3, "only {count} ```json blocks");
}

// ---- Errors ----------------------------------------------------------------------------------

#[test]
fn malformed_json_reports_line_and_column() {
    let text = "{\n  \"value\": [\n    {\"id\": \"1\",, }\n  ]\n}";
    match error(text) {
        ImportError::Json {
            file,
            line,
            column,
            message,
        } => {
            assert_eq!(file, "bad.json");
            assert_eq!((line, column), (3, 16));
            assert!(!message.contains("at line"), "{message}");
            let shown = error(text).to_string();
            assert!(
                shown.starts_with("`bad.json`:3:16: invalid JSON: "),
                "{shown}"
            );
        }
        other => panic!("{other:?}"),
    }
}

/// A time that is no RFC 3339 time, and one its offset carries past the years RFC 3339 writes,
/// are refused at their path, each saying which it is.
#[test]
fn times_out_of_range_say_so() {
    let doc = |t: &str| {
        json!({"@odata.type": "#microsoft.graph.security.incident", "id": "1", "alerts": [],
               "createdDateTime": t})
        .to_string()
    };
    let (path, message) = invalid_at(&doc("9999-12-31T23:59:59-05:00"));
    assert_eq!(path, "$.createdDateTime");
    assert!(
        message.contains("is past 9999-12-31T23:59:59.999Z"),
        "{message}"
    );
    let (_, message) = invalid_at(&doc("yesterday"));
    assert!(message.contains("is not an RFC 3339 time"), "{message}");
}

/// A number past the 64-bit float range is refused where it is, saying what the range is,
/// also in a member the importer does not read.
#[test]
fn a_number_out_of_range_says_what_the_range_is() {
    let text = PAGE1.replacen("\"value\"", "\"zz\": 1e400, \"value\"", 1);
    let shown = error(&text).to_string();
    assert!(
        shown.contains(
            ": invalid JSON: a number is out of range: numbers are read as 64-bit floats"
        ),
        "{shown}"
    );
}

#[test]
fn truncated_json_says_so() {
    let cut = &PAGE1[..PAGE1.len() / 2];
    match error(cut) {
        ImportError::Json { line, message, .. } => {
            assert!(line > 100);
            assert!(message.contains("ends too early"), "{message}");
        }
        other => panic!("{other:?}"),
    }
    // An empty file says so.
    for empty in ["", " \n\t\n"] {
        let (path, message) = invalid_at(empty);
        assert_eq!(path, "$");
        assert!(message.starts_with("the file is empty"), "{message}");
    }
    // Columns start at 1, even before a line's first character.
    assert!(
        error("\n").to_string().contains("the file is empty"),
        "{}",
        error("\n")
    );
    assert!(
        error("{\n")
            .to_string()
            .starts_with("`bad.json`:2:1: invalid JSON: "),
        "{}",
        error("{\n")
    );
}

#[test]
fn wrong_types_report_their_path() {
    let doc = json!({"value": [{"@odata.type": "#microsoft.graph.security.incident", "id": "1", "alerts": "oops"}]});
    let (path, message) = invalid_at(&doc.to_string());
    assert_eq!(path, "$.value[0].alerts");
    assert_eq!(message, "expected a list, found a string");
    let e = error(&doc.to_string()).to_string();
    assert_eq!(
        e,
        "`bad.json` at `$.value[0].alerts`: expected a list, found a string"
    );

    let mut inc = graph_incident(vec![graph_alert(
        "a",
        vec![
            json!({}),
            json!(null),
            evidence("ipEvidence", json!({"verdict": {"x": 1}})),
        ],
    )]);
    assert_eq!(
        invalid_at(&inc.to_string()).0,
        "$.alerts[0].evidence[2].verdict"
    );
    inc["alerts"][0]["evidence"] = json!([3]);
    assert_eq!(invalid_at(&inc.to_string()).0, "$.alerts[0].evidence[0]");
    inc["alerts"][0]["evidence"] = json!([evidence("deviceEvidence", json!({"osBuild": "new"}))]);
    let (path, message) = invalid_at(&inc.to_string());
    assert_eq!(path, "$.alerts[0].evidence[0].osBuild");
    assert!(message.contains("`new`"), "{message}");
    inc["alerts"][0]["evidence"] = json!([evidence("deviceEvidence", json!({"osBuild": "22631"}))]);
    assert_eq!(
        one(&inc).entities[0].fields["os_build"],
        22631,
        "numeric text is a number"
    );
    inc["alerts"] = json!([{"title": "no id"}]);
    assert_eq!(invalid_at(&inc.to_string()).0, "$.alerts[0].id");
    let odd_key = json!({"value": [{"@odata.type": "#microsoft.graph.security.incident", "id": "1",
        "alerts": [{"id": "a", "evidence": [{"@odata.type": "#microsoft.graph.security.userEvidence", "userAccount": []}]}]}]});
    assert_eq!(
        invalid_at(&odd_key.to_string()).0,
        "$.value[0].alerts[0].evidence[0].userAccount"
    );
    let mixed = json!({"value": [graph_incident(vec![]), {"id": "/x/Microsoft.SecurityInsights/Incidents/1", "properties": {"title": "t"}}]});
    let (path, message) = invalid_at(&mixed.to_string());
    assert_eq!(path, "$.value[1]");
    assert!(message.contains("Sentinel"), "{message}");
    assert_eq!(invalid_at(r#"{"value": {"id": 1}}"#).0, "$.value");
    assert_eq!(invalid_at(r#"{"value": [3]}"#).0, "$.value[0]");
}

/// Names ignore case; an error names each member of its path as the file writes it, so that
/// the path leads to it (a test's inline incident is located by it).
#[test]
fn error_paths_name_members_as_written() {
    let graph = r##"{"Value": [{"id": "1", "displayName": "x", "Alerts": [{"id": "a", "EVIDENCE": [
        {"@odata.type": "#microsoft.graph.security.processEvidence", "ImageFile": {"FileName": []}}]}]}]}"##;
    assert_eq!(
        invalid_at(graph).0,
        "$.Value[0].Alerts[0].EVIDENCE[0].ImageFile.FileName"
    );
    let graph = r#"{"id": "1", "displayName": "x", "alerts": [{"id": "a", "evidence": [
        {"@odata.type": "deviceEvidence", "OsBuild": "new"}]}]}"#;
    assert_eq!(invalid_at(graph).0, "$.alerts[0].evidence[0].OsBuild");
    assert_eq!(invalid_at(r#"{"VALUE": 3}"#).0, "$.VALUE");
    let sentinel = r#"{"name": "1", "Properties": {"title": "t", "Labels": [3]}}"#;
    assert_eq!(invalid_at(sentinel).0, "$.Properties.Labels[0]");
    let sentinel = r#"{"name": "1", "properties": {"title": "t"}, "Entities": {"Entities": [
        {"kind": "Process", "Properties": {"ProcessID": []}}]}}"#;
    assert_eq!(
        invalid_at(sentinel).0,
        "$.Entities.Entities[0].Properties.ProcessID"
    );
    let sentinel = r#"{"name": "1", "properties": {"title": "t"}, "alerts": {"Value": [
        {"name": "a1", "Properties": {"StartTimeUtc": [3]}}]}}"#;
    assert_eq!(
        invalid_at(sentinel).0,
        "$.alerts.Value[0].Properties.StartTimeUtc"
    );
}

#[test]
fn unknown_formats_name_the_accepted_ones() {
    for text in [
        r#"{"foo": 1}"#,
        r#""text""#,
        "42",
        r#"{"value": [{"foo": 1}]}"#,
        "[{}]",
    ] {
        let e = error(text);
        assert!(
            matches!(e, ImportError::UnknownFormat { .. }),
            "{text}: {e:?}"
        );
        let message = e.to_string();
        for needle in ["`bad.json`", "Graph", "Sentinel", "riposte.incident/v1"] {
            assert!(message.contains(needle), "{message}");
        }
    }
}

/// A Graph security alert (`/security/alerts_v2`) is read inside its incident: alone, in a
/// page of alerts or among incidents, it is named for what it is, not planned as an incident.
/// An evidence type that is no text is an error at it, not evidence of an unknown type.
#[test]
fn an_evidence_type_that_is_no_text_is_an_error() {
    let inc = graph_incident(vec![graph_alert(
        "a1",
        vec![
            json!({"@odata.type": ["#microsoft.graph.security.ipEvidence"], "ipAddress": "10.0.0.1"}),
        ],
    )]);
    let (path, message) = invalid_at(&inc.to_string());
    assert_eq!(path, r#"$.alerts[0].evidence[0]["@odata.type"]"#);
    assert_eq!(message, "expected text, found a list");
}

#[test]
fn graph_alerts_are_no_incidents() {
    let alert = json!({"@odata.type": "#microsoft.graph.security.alert", "id": "da1",
        "title": "t", "incidentId": "31001"});
    // `/security/alerts_v2` answers without `@odata.type`: an alert's title and incident id.
    let untyped = json!({"id": "da2", "title": "t", "incidentId": 31002, "evidence": []});
    for (text, incident) in [
        (alert.to_string(), "31001"),
        (json!({"value": [untyped]}).to_string(), "31002"),
    ] {
        let message = error(&text).to_string();
        assert!(
            message.contains("it holds a Microsoft Graph security alert (`da"),
            "{message}"
        );
        assert!(
            message.contains(&format!(
                "`GET /security/incidents/{incident}?$expand=alerts`"
            )),
            "{message}"
        );
    }
    let incident = graph_incident(vec![]);
    let (path, message) = invalid_at(&json!({"value": [alert, incident]}).to_string());
    assert_eq!(path, "$.value[0]");
    assert!(
        message.starts_with("this is a Microsoft Graph security alert (`da1`), not an incident"),
        "{message}"
    );
}

/// Sentinel's other resources (alerts, entities, comments, rules) carry the provider in their
/// ids too; a file of them is named for what it holds, not planned as incidents.
#[test]
fn sentinel_resources_that_are_no_incidents_are_named() {
    let base = "/subscriptions/s/resourceGroups/r/providers/Microsoft.OperationalInsights/workspaces/w/providers/Microsoft.SecurityInsights";
    let alert = json!({"id": format!("{base}/Entities/9ed9"), "name": "9ed9", "kind": "SecurityAlert",
        "properties": {"alertDisplayName": "Connection to C2", "severity": "High", "status": "New", "systemAlertId": "9ed9"}});
    let hint = |text: &str| match error(text) {
        ImportError::UnknownFormat {
            hint: Some(hint), ..
        } => hint,
        other => panic!("{text}: {other:?}"),
    };
    for text in [
        json!({"value": [alert]}).to_string(),
        alert.to_string(),
        json!([alert]).to_string(),
    ] {
        let h = hint(&text);
        assert!(
            h.contains("a Microsoft Sentinel alert (`/subscriptions/"),
            "{h}"
        );
        assert!(
            h.contains("with these alerts as its `alerts` member"),
            "{h}"
        );
        let message = error(&text).to_string();
        assert!(message.contains("riposte.incident/v1"), "{message}");
        assert!(
            message.starts_with("`bad.json` is not an incident file"),
            "{message}"
        );
    }
    // The answer of `POST …/incidents/{id}/entities` is named as entities too.
    let account = json!({"id": format!("{base}/Entities/e1"), "kind": "Account", "properties": {"accountName": "a"}});
    let answer = json!({"entities": [account], "metaData": []}).to_string();
    assert!(
        hint(&answer).contains("a Microsoft Sentinel entity"),
        "{}",
        hint(&answer)
    );
    let cases = [
        (
            json!({"id": format!("{base}/Entities/e1"), "kind": "Account", "properties": {"accountName": "a"}}),
            "a Microsoft Sentinel entity",
        ),
        (
            json!({"id": format!("{base}/incidents/1/comments/c1"), "properties": {"message": "m"}}),
            "a `comments` resource of a Microsoft Sentinel incident",
        ),
        (
            json!({"id": format!("{base}/alertRules/r1"), "kind": "Scheduled", "properties": {"displayName": "d"}}),
            "a Microsoft Sentinel `alertRules` resource",
        ),
    ];
    for (resource, what) in cases {
        let h = hint(&json!({"value": [resource]}).to_string());
        assert!(h.contains(what), "{h}");
    }
    // Among incidents, one is an error at its place.
    let incident = json!({"id": format!("{base}/Incidents/1"), "properties": {"title": "t"}});
    let (path, message) = invalid_at(&json!({"value": [incident, alert]}).to_string());
    assert_eq!(path, "$.value[1]");
    assert!(
        message.starts_with("this is a Microsoft Sentinel alert"),
        "{message}"
    );
    // Incidents are detected by their id alone, in any case, and without one by their
    // properties.
    for doc in [
        json!({"id": format!("{base}/incidents/1"), "properties": {}}),
        json!({"id": "/x/microsoft.securityinsights/INCIDENTS/1/", "properties": {}}),
        json!({"name": "1", "properties": {"incidentNumber": 1}}),
        json!({"value": [{"id": format!("{base}/Incidents/1"), "properties": {}}]}),
    ] {
        assert_eq!(import_json(&doc).0, Format::Sentinel, "{doc}");
    }
}

/// An incident's task (`…/incidents/{id}/tasks/{id}`) has a `properties.title` as an incident
/// has: its id, or its `type` where the id says nothing, makes it no incident, and it is named
/// as the provider's other resources are.
#[test]
fn sentinel_tasks_and_other_typed_resources_are_no_incidents() {
    let base = "/subscriptions/s/resourceGroups/r/providers/Microsoft.OperationalInsights/workspaces/w/providers/Microsoft.SecurityInsights";
    let task = json!({"id": format!("{base}/incidents/73e1/tasks/4bb3"), "name": "4bb3",
        "type": "Microsoft.SecurityInsights/incidents/tasks",
        "properties": {"title": "Reset user passwords", "status": "New"}});
    for text in [
        json!({"value": [task]}).to_string(),
        task.to_string(),
        json!([task]).to_string(),
    ] {
        match error(&text) {
            ImportError::UnknownFormat {
                hint: Some(hint), ..
            } => {
                assert!(
                    hint.contains(
                        "a `tasks` resource of a Microsoft Sentinel incident (`/subscriptions/"
                    ),
                    "{hint}"
                );
                assert!(hint.contains("give the incident"), "{hint}");
            }
            other => panic!("{text}: {other:?}"),
        }
    }
    // By its `type` alone: an id without the provider (or none) says nothing.
    let cases = [
        (
            "Microsoft.SecurityInsights/incidents/tasks",
            "a `tasks` resource of a Microsoft Sentinel incident",
        ),
        (
            "Microsoft.SecurityInsights/incidents/comments",
            "a `comments` resource of a Microsoft Sentinel incident",
        ),
        (
            "microsoft.securityinsights/Bookmarks",
            "a Microsoft Sentinel `Bookmarks` resource",
        ),
        (
            "Microsoft.SecurityInsights/Entities",
            "a Microsoft Sentinel entity",
        ),
    ];
    for (ty, what) in cases {
        for id in [json!("4bb3"), json!(null)] {
            let resource =
                json!({"id": id, "type": ty, "properties": {"title": "t", "incidentNumber": 3}});
            let text = json!({"value": [resource]}).to_string();
            match error(&text) {
                ImportError::UnknownFormat {
                    hint: Some(hint), ..
                } => assert!(
                    hint.starts_with(&format!("it holds {what}"))
                        && hint.contains(", not an incident; ")
                        && hint.contains("give the incident"),
                    "{hint}"
                ),
                other => panic!("{text}: {other:?}"),
            }
        }
    }
    // Among incidents, at its place in the list, whichever comes first.
    let incident = json!({"id": format!("{base}/Incidents/1"), "type": "Microsoft.SecurityInsights/Incidents",
        "properties": {"title": "t"}});
    for (doc, at) in [
        (json!({"value": [incident, task]}), "$.value[1]"),
        (json!({"value": [task, incident]}), "$.value[0]"),
    ] {
        let (path, message) = invalid_at(&doc.to_string());
        assert_eq!(path, at);
        assert!(
            message.starts_with("this is a `tasks` resource of a Microsoft Sentinel incident"),
            "{message}"
        );
    }
    // An incident's own type is an incident's.
    assert_eq!(
        import_json(&json!({"value": [incident]})).0,
        Format::Sentinel
    );
    let typed = json!({"name": "1", "type": "Microsoft.SecurityInsights/Incidents", "properties": {"title": "t"}});
    assert_eq!(import_json(&typed).0, Format::Sentinel);
}

/// A Sentinel resource without `properties` among Graph incidents reaches the fast path, which
/// reads its `kind` to name it before leaving the file to the slow path: an error at its place.
#[test]
fn a_sentinel_alert_without_properties_among_graph_incidents_is_an_error_at_its_place() {
    let base = "/subscriptions/s/resourceGroups/r/providers/Microsoft.OperationalInsights/workspaces/w/providers/Microsoft.SecurityInsights";
    let graph = graph_incident(vec![]);
    for kind in [json!("SecurityAlert"), json!("Account"), json!(null)] {
        let other = json!({"id": format!("{base}/Entities/9ed9"), "kind": kind});
        let text = json!({"value": [graph, other]}).to_string();
        assert!(fast_import(&text).is_none(), "{text}");
        let (path, message) = invalid_at(&text);
        assert_eq!(path, "$.value[1]");
        assert!(
            message.starts_with("this is a Microsoft Sentinel"),
            "{message}"
        );
    }
}

/// A normalized document holds one incident or a list, not both: both is most likely an edit
/// gone wrong, and planning both would plan an incident no one meant to.
#[test]
fn a_normalized_document_with_incident_and_incidents_is_an_error() {
    let both = r#"{"format": "riposte.incident/v1", "incident": {"id": "1"},
        "incidents": [{"id": "2"}]}"#;
    let e = error(both);
    assert!(
        e.to_string()
            .contains("holds both `incident` and `incidents`"),
        "{e}"
    );
    // A null one is absent.
    let ok = r#"{"format": "riposte.incident/v1", "incident": null, "incidents": [{"id": "2"}]}"#;
    assert_eq!(
        parse_incidents("f", ok, &limits())
            .map(|(_, i)| i.len())
            .ok(),
        Some(1)
    );
}

/// A saved error response (a script that fetched incidents and got throttled) is named as one.
#[test]
fn api_error_responses_are_named() {
    let text = r#"{"error": {"code": "TooManyRequests", "message": "Please retry again later.",
        "innerError": {"code": "429", "date": "2025-03-12T09:06:02"}}}"#;
    let e = error(text);
    assert!(
        matches!(&e, ImportError::ErrorResponse { code, .. } if code == "TooManyRequests"),
        "{e:?}"
    );
    assert_eq!(
        e.to_string(),
        "`bad.json` holds an error response of the API, not incidents: `TooManyRequests` \
         (Please retry again later.); fetch the incidents again"
    );
    // An `error` that is not an API's error response is an unknown format.
    for text in [r#"{"error": "x"}"#, r#"{"error": {"message": "m"}}"#] {
        assert!(
            matches!(error(text), ImportError::UnknownFormat { .. }),
            "{text}"
        );
    }
}

// ---- Bounds ----------------------------------------------------------------------------------

/// The bytes of text the links of `i` hold besides themselves (`entity_ids` of its alerts,
/// `alert_ids` of its entities, longer than the few bytes a link holds in place), counting
/// each allocation once: links sharing one id's text count it once.
fn link_bytes(i: &Incident) -> usize {
    let mut seen = std::collections::HashSet::new();
    i.alerts
        .iter()
        .flat_map(|a| &a.entity_ids)
        .chain(i.entities.iter().flat_map(|e| &e.alert_ids))
        .filter(|id| id.len() > LinkId::INLINE && seen.insert((id.as_ptr(), id.len())))
        .map(|id| id.len())
        .sum()
}

/// A link holds the id it names without copying it: each alert linking to an entity shares
/// the entity's id, and each entity an alert carries shares the alert's. Copied, 100 entities
/// of 1,000-byte ids linked from 50 alerts (and 50 alerts of such ids carrying 100 entities)
/// would take 10 MB from a file of a few hundred kilobytes; shared, the links hold each id
/// once, less text than the file.
#[test]
fn links_share_the_ids_they_name() {
    let long = |c: char, n: usize| format!("{n:06}{}", c.to_string().repeat(994));
    // Sentinel, whose alerts each carry each entity: entities of long ids (a host's MDE id)
    // and alerts of long ids.
    let mut alerts: Vec<_> = (0..50)
        .map(|n| json!({"name": format!("a{n}"), "properties": {}}))
        .collect();
    alerts.extend((0..50).map(|n| json!({"name": long('a', n), "properties": {}})));
    let mut entities: Vec<_> = (0..100)
        .map(|n| {
            json!({"name": format!("e{n}"), "kind": "Host", "properties": {
                "additionalData": {"MdatpDeviceId": long('d', n)}}})
        })
        .collect();
    entities.extend((0..100).map(|n| {
        json!({"name": format!("ip{n}"), "kind": "Ip", "properties": {
            "address": format!("10.0.0.{n}")}})
    }));
    let text = json!({"name": "inc-17", "properties": {"title": "t"}, "alerts": alerts,
        "entities": entities})
    .to_string();
    let i = import(&text).1.remove(0);
    assert_eq!(i.alerts[0].entity_ids.len(), 200);
    assert_eq!(i.alerts[99].entity_ids.len(), 200);
    assert_eq!(i.entities[199].alert_ids.len(), 100);
    let held = link_bytes(&i);
    assert!(
        held < text.len(),
        "{held} bytes of links from {}",
        text.len()
    );
    // The normalized form, whose links are made both ways: entities of long ids listing
    // alerts of short ones, and alerts of long ids listing entities of short ones.
    let short_alerts: Vec<String> = (0..50).map(|n| format!("a{n}")).collect();
    let addresses: Vec<String> = (0..100).map(|n| format!("ip:10.0.0.{n}")).collect();
    let mut alerts: Vec<_> = short_alerts.iter().map(|a| json!({"id": a})).collect();
    alerts.extend((0..50).map(|n| json!({"id": long('a', n), "entity_ids": addresses})));
    let mut entities: Vec<_> = (0..100)
        .map(|n| {
            json!({"id": format!("device:{}", long('d', n)), "kind": "device",
                "alert_ids": short_alerts})
        })
        .collect();
    entities.extend(addresses.iter().map(|a| json!({"id": a, "kind": "ip"})));
    let text = json!({"format": NORMALIZED_FORMAT, "incident": {"id": "inc-18", "alerts": alerts,
        "entities": entities}})
    .to_string();
    let i = import(&text).1.remove(0);
    assert_eq!(i.alerts[0].entity_ids.len(), 100, "linked from the devices");
    assert_eq!(
        i.entities[199].alert_ids.len(),
        50,
        "linked from the alerts"
    );
    let held = link_bytes(&i);
    assert!(
        held < text.len(),
        "{held} bytes of links from {}",
        text.len()
    );
}

fn ip_evidence(n: usize) -> Vec<serde_json::Value> {
    (0..n)
        .map(|i| {
            evidence(
                "ipEvidence",
                json!({"ipAddress": format!("10.{}.{}.{}", i >> 16, (i >> 8) & 255, i & 255)}),
            )
        })
        .collect()
}

#[test]
fn ten_thousand_entities_are_too_many_and_fail_fast() {
    let doc = graph_incident(vec![graph_alert("a", ip_evidence(10_000))]).to_string();
    let start = Instant::now();
    match error(&doc) {
        ImportError::TooLarge {
            file,
            path,
            what,
            count,
            limit,
        } => {
            assert_eq!(file, "bad.json");
            assert_eq!(path, "$.alerts[0].evidence");
            assert_eq!((what, count, limit), (Limit::Evidence, 10_000, 5_000));
        }
        other => panic!("{other:?}"),
    }
    assert!(start.elapsed() < Duration::from_secs(2));
    // One alert's evidence is counted as evidence, before deduplication.
    let message = error(&doc).to_string();
    assert!(
        message
            .contains("10000 evidence items, more than the limit of 5000 evidence items per alert")
            && message.contains("--max-entities"),
        "{message}"
    );

    // Spread over alerts, counted after deduplication.
    let spread: Vec<_> = (0..3)
        .map(|a| graph_alert(&format!("a{a}"), ip_evidence(2_000)))
        .collect();
    let ok = parse_incidents("f", &graph_incident(spread).to_string(), &limits());
    assert_eq!(
        ok.map(|(_, i)| i[0].entities.len()).ok(),
        Some(2_000),
        "the same 2000 addresses thrice"
    );
    let distinct: Vec<_> = (0..3)
        .map(|a| {
            let mut ev = ip_evidence(2_000 * (a + 1));
            ev.drain(..2_000 * a);
            graph_alert(&format!("a{a}"), ev)
        })
        .collect();
    match error(&graph_incident(distinct).to_string()) {
        ImportError::TooLarge {
            path,
            what: Limit::Entities,
            count,
            ..
        } => {
            assert_eq!(path, "$.alerts[2].evidence");
            assert_eq!(count, 5_001);
        }
        other => panic!("{other:?}"),
    }
    // Sentinel entities.
    let sentinel = json!({"id": "/x/Microsoft.SecurityInsights/Incidents/1", "properties": {"title": "t"},
        "entities": (0..6_000).map(|i| json!({"kind": "Ip", "properties": {"address": format!("10.0.{}.{}", i / 256, i % 256)}})).collect::<Vec<_>>()});
    assert!(
        matches!(error(&sentinel.to_string()), ImportError::TooLarge { what: Limit::Entities, ref path, .. } if path == "$.entities")
    );
}

#[test]
fn alert_incident_and_size_limits() {
    let small = ImportLimits {
        max_file_bytes: 100_000,
        max_incidents: 2,
        max_alerts: 3,
        max_entities: 4,
    };
    let parse = |text: &str| parse_incidents("f.json", text, &small);
    let alerts: Vec<_> = (0..4)
        .map(|i| graph_alert(&i.to_string(), vec![]))
        .collect();
    match parse(&graph_incident(alerts).to_string()) {
        Err(ImportError::TooLarge {
            path,
            what: Limit::Alerts,
            count: 4,
            limit: 3,
            ..
        }) => {
            assert_eq!(path, "$.alerts")
        }
        other => panic!("{other:?}"),
    }
    let page =
        json!({"value": [graph_incident(vec![]), graph_incident(vec![]), graph_incident(vec![])]});
    match parse(&page.to_string()) {
        Err(
            e @ ImportError::TooLarge {
                what: Limit::Incidents,
                count: 3,
                ..
            },
        ) => {
            assert!(
                e.to_string().contains("`$.value`") && e.to_string().contains("--max-incidents"),
                "{e}"
            );
        }
        other => panic!("{other:?}"),
    }
    let normalized = json!({"format": "riposte.incident/v1", "incidents": [{"id": "1", "entities":
        (0..5).map(|i| json!({"id": i.to_string(), "kind": "ip"})).collect::<Vec<_>>()}]});
    match parse(&normalized.to_string()) {
        Err(ImportError::TooLarge {
            path,
            what: Limit::Entities,
            count: 5,
            ..
        }) => {
            assert_eq!(path, "$.incidents[0].entities")
        }
        other => panic!("{other:?}"),
    }
    // Evidence kept as it is is named so, not as entities.
    let registry =
        json!({"@odata.type": "#microsoft.graph.security.registryKeyEvidence", "registryKey": "k"});
    let graph = json!({"@odata.type": "#microsoft.graph.security.incident", "id": "1", "alerts": [
        {"id": "a", "evidence": vec![registry.clone(); 3]}, {"id": "b", "evidence": vec![registry; 3]}]});
    match parse(&graph.to_string()) {
        Err(
            e @ ImportError::TooLarge {
                what: Limit::OtherEvidence,
                ..
            },
        ) => assert!(
            e.to_string().contains("evidence items of other types"),
            "{e}"
        ),
        other => panic!("{other:?}"),
    }
    let big = format!("{{\"value\": [], \"pad\": \"{}\"}}", "x".repeat(100_000));
    match parse(&big) {
        Err(
            e @ ImportError::TooLarge {
                what: Limit::FileBytes,
                ..
            },
        ) => {
            assert!(e.to_string().contains("--max-file-bytes"), "{e}")
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn deep_nesting_is_an_error_not_a_crash() {
    for text in [
        "[".repeat(100_000),
        format!("{{\"value\": {}", "[".repeat(100_000)),
        format!("{}{}", "{\"a\":".repeat(50_000), "1"),
    ] {
        match error(&text) {
            ImportError::Json { message, .. } => {
                assert!(message.contains("nested more than 127"), "{message}")
            }
            other => panic!("{other:?}"),
        }
    }
    // Depth within the parser's limit is kept as it is.
    let deep = format!("{}1{}", "[".repeat(100), "]".repeat(100));
    let inc = graph_incident(vec![graph_alert(
        "a",
        vec![json!({"deep": serde_json::from_str::<serde_json::Value>(&deep).unwrap_or_default()})],
    )]);
    assert_eq!(one(&inc).other_evidence.len(), 1);
}

/// `serde_json` takes at most 127 levels of nesting: the 128th bracket fails. The message and
/// docs/incident-format.md name that boundary exactly.
#[test]
fn nesting_limit_is_exactly_127_levels() {
    let nested = |depth: usize| format!("{}{}", "[".repeat(depth), "]".repeat(depth));
    // 127 levels parse: the document is JSON, just not an incident list.
    assert!(matches!(error(&nested(127)), ImportError::Invalid { .. }));
    match error(&nested(128)) {
        ImportError::Json {
            message, column, ..
        } => {
            assert_eq!(message, "the JSON is nested more than 127 levels deep");
            assert_eq!(column, 128);
        }
        other => panic!("{other:?}"),
    }
    // The same boundary inside an incident: the root object is the first level.
    let deep = |depth: usize| {
        format!(
            r#"{{"displayName": "x", "id": "1", "alerts": [], "comments": {}}}"#,
            nested(depth - 1)
        )
    };
    assert_eq!(import(&deep(127)).1.len(), 1);
    assert!(matches!(error(&deep(128)), ImportError::Json { .. }));
}

#[test]
fn never_panics_on_damaged_input() {
    let bytes = PAGE1.as_bytes();
    for (i, replacement) in (0..bytes.len()).step_by(37).zip(
        [b'"', b'{', b']', b'0', b'x', b',', b':', 0xff]
            .iter()
            .cycle(),
    ) {
        let mut damaged = bytes.to_vec();
        damaged[i] = *replacement;
        let text = String::from_utf8_lossy(&damaged);
        let _ = parse_incidents("damaged.json", &text, &limits());
        let mut end = i;
        while !PAGE1.is_char_boundary(end) {
            end -= 1;
        }
        let _ = parse_incidents("cut.json", &PAGE1[..end], &limits());
    }
}

// ---- Files --------------------------------------------------------------------------------------

#[test]
fn reads_files_with_byte_order_marks_and_bounds_reading() {
    // A file of tiny values is refused before it is parsed (parsed, it would take fifty times
    // its size); the examples, with their limit at their very size, are not.
    let tiny = ImportLimits {
        max_file_bytes: 1024,
        ..limits()
    };
    let zeros = format!("[{}]", vec!["0"; 300].join(","));
    match parse_incidents("zeros.json", &zeros, &tiny) {
        Err(ImportError::TooLarge {
            what: Limit::JsonValues,
            limit: 128,
            ..
        }) => {}
        other => panic!("{other:?}"),
    }
    for (name, text) in GRAPH_EXAMPLES {
        let exact = ImportLimits {
            max_file_bytes: text.len(),
            ..limits()
        };
        assert!(parse_incidents(name, text, &exact).is_ok(), "{name}");
    }
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let write = |name: &str, bytes: &[u8]| {
        let p = dir.path().join(name);
        std::fs::write(&p, bytes).unwrap_or_else(|e| panic!("{e}"));
        p
    };
    let text = GRAPH_EXAMPLES[5].1;
    let expected = parse_incidents("plain.json", text, &limits()).expect("imports");
    let plain = write("plain.json", text.as_bytes());
    assert_eq!(
        read_incidents(&plain, &limits()).ok(),
        Some(expected.clone())
    );
    let mut bom = vec![0xEF, 0xBB, 0xBF];
    bom.extend(text.as_bytes());
    assert_eq!(
        read_incidents(&write("bom.json", &bom), &limits()).ok(),
        Some(expected.clone())
    );
    // Text handed over as `str` loses its byte order mark the same way.
    let with_mark = format!("\u{feff}{text}");
    assert_eq!(
        parse_incidents("bom.json", &with_mark, &limits()).ok(),
        Some(expected.clone())
    );
    let mut utf16 = vec![0xFF, 0xFE];
    utf16.extend(text.encode_utf16().flat_map(u16::to_le_bytes));
    assert_eq!(
        read_incidents(&write("utf16.json", &utf16), &limits()).ok(),
        Some(expected)
    );

    let tight = ImportLimits {
        max_file_bytes: 64,
        ..limits()
    };
    match read_incidents(&plain, &tight) {
        Err(ImportError::TooLarge {
            what: Limit::FileBytes,
            count,
            limit: 64,
            ..
        }) => {
            // A regular file is refused by its size, unread.
            let size = std::fs::metadata(&plain).unwrap().len() as usize;
            assert_eq!(count, size)
        }
        other => panic!("{other:?}"),
    }
    match read_incidents(&dir.path().join("missing.json"), &limits()) {
        Err(e @ ImportError::Io { .. }) => assert!(e.to_string().contains("missing.json"), "{e}"),
        other => panic!("{other:?}"),
    }
    let invalid_utf8 = write(
        "latin1.json",
        b"{\"id\": \"caf\xe9\", \"displayName\": \"x\", \"alerts\": []}",
    );
    match read_incidents(&invalid_utf8, &limits()) {
        Err(
            e @ ImportError::Json {
                line: 1,
                column: 12,
                ..
            },
        ) => {
            assert!(e.to_string().contains("`0xe9` is not UTF-8"), "{e}")
        }
        other => panic!("{other:?}"),
    }
    // UTF-16 that does not decode exactly, and UTF-32, are errors: nothing is replaced.
    let mut odd = utf16.clone();
    odd.push(b'}');
    let mut lone = vec![0xFF, 0xFE];
    lone.extend("{\"id\": \"".encode_utf16().flat_map(u16::to_le_bytes));
    lone.extend(0xD800u16.to_le_bytes());
    let mut utf32 = vec![0xFF, 0xFE, 0, 0];
    utf32.extend(text.chars().flat_map(|c| u32::from(c).to_le_bytes()));
    // Without a byte order mark, ASCII in UTF-16 passes for UTF-8; the zeros give it away.
    let no_bom: Vec<u8> = text.encode_utf16().flat_map(u16::to_le_bytes).collect();
    let no_bom_be: Vec<u8> = text.encode_utf16().flat_map(u16::to_be_bytes).collect();
    for (name, bytes, says) in [
        ("odd.json", odd, "odd number of bytes"),
        ("lone.json", lone, "lone surrogate `0xd800` at byte 18"),
        ("utf32.json", utf32, "UTF-32"),
        (
            "no-bom.json",
            no_bom,
            "UTF-16 or UTF-32 text without a byte order mark",
        ),
        (
            "no-bom-be.json",
            no_bom_be,
            "UTF-16 or UTF-32 text without a byte order mark",
        ),
    ] {
        match read_incidents(&write(name, &bytes), &limits()) {
            Err(e @ ImportError::Encoding { .. }) => {
                assert!(e.to_string().contains(says), "{e}")
            }
            other => panic!("{name}: {other:?}"),
        }
    }
}

#[test]
fn helpers_normalize_as_documented() {
    use super::json::{canonical_ip, snake, url_domain};
    for (raw, want) in [
        ("inProgress", "in_progress"),
        ("TruePositive", "true_positive"),
        ("noThreatsFound", "no_threats_found"),
        ("commandAndControl", "command_and_control"),
        (
            "microsoftDefenderForOffice365",
            "microsoft_defender_for_office365",
        ),
        ("HTTPServer", "http_server"),
        ("Scheduled Alerts", "scheduled_alerts"),
        ("  already_snake ", "already_snake"),
    ] {
        assert_eq!(snake(raw), want, "{raw}");
    }
    assert_eq!(canonical_ip("FE80::1%eth0"), "fe80::1");
    assert_eq!(canonical_ip(" 10.0.0.1/24 "), "10.0.0.1");
    // An IPv4-mapped address is the IPv4 address.
    assert_eq!(canonical_ip("::ffff:198.51.100.7"), "198.51.100.7");
    assert_eq!(canonical_ip("::FFFF:C633:6407"), "198.51.100.7");
    assert_eq!(canonical_ip("not an ip"), "not an ip");
    assert_eq!(
        url_domain("https://user@Example.COM.:8443/x?y#z").as_deref(),
        Some("example.com")
    );
    assert_eq!(
        url_domain("http://[2001:db8::1]:80/").as_deref(),
        Some("2001:db8::1")
    );
    assert_eq!(
        url_domain("example.org/path").as_deref(),
        Some("example.org")
    );
    assert_eq!(url_domain("").as_deref(), None);
}

/// Import throughput of the examples (run with `--release --ignored --nocapture`).
#[test]
#[ignore]
fn import_throughput() {
    let time = |texts: &[&str]| {
        let rounds = 2000;
        let start = Instant::now();
        for _ in 0..rounds {
            for t in texts {
                std::hint::black_box(parse_incidents("t.json", t, &limits()).is_ok());
            }
        }
        start.elapsed().as_secs_f64() * 1e6 / (rounds * texts.len()) as f64
    };
    let graph: Vec<&str> = GRAPH_EXAMPLES.iter().map(|(_, t)| *t).collect();
    println!("graph examples: {:.1} µs per file", time(&graph));
    println!(
        "normalized example: {:.1} µs per file",
        time(&[NORMALIZED_EXAMPLE])
    );
    println!(
        "sentinel example: {:.1} µs per file",
        time(&[SENTINEL_EXAMPLE])
    );
}

/// The example files with characters replaced, inserted or removed (mostly JSON's structural
/// ones), or cut short, from a fixed seed: wherever the slow path reads the damaged file the fast path
/// reads it alike (or leaves it to the slow path), and wherever the slow path rejects it the
/// fast path does not answer.
#[test]
fn fast_path_agrees_with_slow_path_on_damaged_files() {
    let alphabet: Vec<char> = "\"{}[],:\\ 0123456789eE.+-tfnul\t\n/x".chars().collect();
    let texts: Vec<&str> = GRAPH_EXAMPLES.iter().map(|(_, t)| *t).collect();
    let mut answered = 0;
    for damaged in variants(&texts, &alphabet, 150) {
        answered += usize::from(assert_fast_agrees(&damaged));
    }
    // Some damage leaves valid JSON (inside text, in a skipped member): those are compared too,
    // beyond the undamaged originals.
    assert!(
        answered > texts.len(),
        "no damaged file was read by both paths"
    );
}

/// A small deterministic generator for the fast-path comparisons.
struct Lcg(u64);

impl Lcg {
    fn below(&mut self, n: usize) -> usize {
        self.0 = self
            .0
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        usize::try_from(self.0 >> 33).expect("fits") % n
    }
}

/// `seeds` and many variants of them: a character replaced, inserted or removed, or the text
/// cut, with characters from `alphabet`.
fn variants(seeds: &[&str], alphabet: &[char], rounds: usize) -> Vec<String> {
    let mut rng = Lcg(7);
    let mut out: Vec<String> = seeds.iter().map(|s| s.to_string()).collect();
    for _ in 0..rounds {
        for seed in seeds {
            let mut chars: Vec<char> = seed.chars().collect();
            for _ in 0..1 + rng.below(3) {
                let c = alphabet[rng.below(alphabet.len())];
                let at = rng.below(chars.len() + 1);
                match rng.below(4) {
                    0 if at < chars.len() => chars[at] = c,
                    1 => chars.insert(at, c),
                    2 if at < chars.len() => {
                        chars.remove(at);
                    }
                    _ => chars.truncate(at),
                }
            }
            out.push(chars.into_iter().collect());
        }
    }
    out
}

#[test]
fn fast_time_normalization_matches_parse_time() {
    let seeds = [
        "2025-03-12T08:14:02Z",
        "2025-03-12T08:14:02.5Z",
        "2025-03-12T08:14:02.123Z",
        "2025-03-12T08:14:02.1234567Z",
        "2025-03-12T08:14:02.000Z",
        "2025-03-12T08:14:02.0009Z",
        "2024-02-29T23:59:59.999Z",
        "2025-02-29T00:00:00Z",
        "2100-02-29T00:00:00Z",
        "2000-02-29T00:00:00Z",
        "2025-02-31T12:00:00Z",
        "2025-04-31T12:00:00Z",
        "2025-12-31T23:59:60Z",
        "2025-12-31T23:59:60.5Z",
        "0000-01-01T00:00:00Z",
        "9999-12-31T23:59:59.999Z",
        "2025-13-01T00:00:00Z",
        "2025-00-01T00:00:00Z",
        "2025-01-00T00:00:00Z",
        "2025-01-01T24:00:00Z",
        "2025-01-01T00:60:00Z",
        "2025-01-01t00:00:00z",
        "2025-01-01 00:00:00Z",
        "2025-01-01T00:00:00.Z",
        "2025-01-01T00:00:00+02:00",
        "2025-01-01T00:00:00.25-05:30",
        "2025-01-01T00:00:00",
        "2025-01-01T00:00:00.75",
        " 2025-01-01T00:00:00Z ",
        "2025-1-01T00:00:00Z",
    ];
    let alphabet = [
        '0', '1', '2', '5', '9', '-', ':', 'T', 't', 'Z', 'z', '.', '+', ' ', 'x', 'é',
    ];
    let inputs = variants(&seeds, &alphabet, 400);
    for text in &inputs {
        let t = text.trim();
        let want = parse_time(t)
            .or_else(|| parse_time(&format!("{t}Z")))
            .map(riposte_dsl::value::format_time);
        assert_eq!(json::normalize_time(text), want, "{text:?}");
    }
}

#[test]
fn fast_enum_normalization_matches_the_general_one() {
    let seeds = [
        "TruePositive",
        "truePositive",
        "true_positive",
        "InformationalExpectedActivity",
        "BenignPositive",
        "inProgress",
        "HTTPServer",
        "Defender for Office 365",
        "microsoftDefenderForEndpoint",
        "NoThreatsFound",
        "  already_snake ",
        "ATTACKER",
        "policyViolator",
        "--",
        "",
        "A1b2C3",
        "x9Y",
        "a-Key",
        "Café au lait",
        "İstanbul",
        "STRASSE",
        "\u{b}Vertical\u{b}",
    ];
    let alphabet = [
        'a', 'Z', 'q', '0', '7', ' ', '_', '-', '.', 'É', 'é', 'ß', 'K', '\u{212a}',
    ];
    // Known values and aliases.
    type Candidates = (
        &'static [&'static str],
        &'static [(&'static str, &'static str)],
    );
    let lists: [Candidates; 5] = [
        (model::CLASSIFICATIONS, graph::CLASSIFICATION_ALIASES),
        (model::ROLES, &[]),
        (model::VERDICTS, &[]),
        (&[], &[]),
        (
            &["café_au_lait", "k_ey", "a\u{212a}ey", "strasse"],
            &[("istanbul", "city")],
        ),
    ];
    for raw in variants(&seeds, &alphabet, 300) {
        assert_eq!(
            json::snake(&raw),
            riposte_dsl::snake::snake_chars(raw.trim()),
            "{raw:?}"
        );
        assert_eq!(json::trim(&raw), raw.trim(), "{raw:?}");
        for (known, aliases) in lists {
            assert_eq!(
                json::norm_enum(&raw, known, aliases),
                json::norm_enum_general(&raw, known, aliases),
                "{raw:?} {known:?}"
            );
        }
    }
}

#[test]
fn ip_spelling_matches_display() {
    let seeds = [
        "10.0.0.1",
        "255.255.255.255",
        "0.0.0.0",
        " 192.168.1.20/24 ",
        "[FE80::1%eth0]",
        "2001:DB8::0:1",
        "::ffff:10.0.0.1",
        "01.2.3.4",
        "1.2.3.4%x",
        "[10.0.0.1]",
    ];
    let alphabet = [
        '0', '1', '9', '.', ':', '/', '%', '[', ']', 'f', 'F', ' ', 'x',
    ];
    for text in variants(&seeds, &alphabet, 500) {
        assert_eq!(
            json::ip_string(&text),
            json::parse_ip(&text).map(|ip| ip.to_string()),
            "{text:?}"
        );
    }
}

#[test]
fn numbers_count_as_text_only_when_they_are_exact_integers() {
    let doc = |id: &str| {
        format!(
            r##"{{"@odata.type": "#microsoft.graph.security.incident", "id": {id},
            "displayName": "x", "alerts": []}}"##
        )
    };
    let read = |id: &str| parse_incidents("n.json", &doc(id), &ImportLimits::default());
    assert_eq!(read("31001").expect("an integer id").1[0].id, "31001");
    assert_eq!(
        read("18446744073709551615").expect("u64::MAX").1[0].id,
        "18446744073709551615"
    );
    for id in ["1e3", "1.5", "18446744073709551616"] {
        let err = read(id).expect_err(id).to_string();
        assert!(
            err.contains("`$.id`") && err.contains("integer past 64 bits"),
            "{id}: {err}"
        );
    }
}

/// The incidents of `text`, each read on its own: the JSON path of each error, or the id.
fn each(text: &str) -> (Format, Vec<Result<String, String>>) {
    let (info, list) = parse_incidents_each("test.json", text, &limits()).unwrap();
    let list = list
        .into_iter()
        .map(|r| r.map(|i| i.id).map_err(|e| e.message_in_file()))
        .collect();
    (info.format, list)
}

#[test]
fn each_incident_of_a_list_is_read_on_its_own() {
    let read = |p: &str| {
        std::fs::read_to_string(
            std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("../examples/incidents/")
                .join(p),
        )
        .unwrap()
    };
    let graph = read("malware-resolved.json");
    let (format, list) = each(&format!(
        r#"{{"value": [7, {graph}, {{"id": "x", "displayName": "x", "alerts": "no"}}]}}"#
    ));
    assert_eq!(format, Format::Graph);
    assert_eq!(
        list,
        [
            Err("at `$.value[0]`: expected an incident object, found a number".to_string()),
            Ok("31008".to_string()),
            Err("at `$.value[2].alerts`: expected a list, found a string".to_string()),
        ]
    );
    // The whole-file reader stops at the first.
    let err = parse_incidents("test.json", &format!(r#"[{graph}, 7]"#), &limits()).unwrap_err();
    assert_eq!(
        err.to_string(),
        "`test.json` at `$[1]`: expected an incident object, found a number"
    );

    let sentinel = read("sentinel/c2-powershell-download.json");
    let (format, list) = each(&format!(
        r#"{{"value": [{sentinel}, {{"properties": {{"title": 5}}}}, {graph}]}}"#
    ));
    assert_eq!(format, Format::Sentinel);
    assert!(list[0].is_ok(), "{list:?}");
    assert!(
        list[1].as_ref().unwrap_err().starts_with("at `$.value[1]"),
        "{list:?}"
    );
    assert!(
        list[2]
            .as_ref()
            .unwrap_err()
            .contains("put each format in its own file"),
        "{list:?}"
    );

    let normalized: serde_json::Value =
        serde_json::from_str(&read("normalized/phishing-two-mailboxes.json")).unwrap();
    let doc = serde_json::json!({
        "format": "riposte.incident/v1",
        "incidents": [normalized["incident"], {"id": "x", "alerts": 5}, normalized["incident"]],
    });
    let (format, list) = each(&doc.to_string());
    assert_eq!(format, Format::Riposte);
    assert_eq!(list.len(), 3);
    assert!(list[0].is_ok() && list[2].is_ok(), "{list:?}");
    assert!(
        list[1]
            .as_ref()
            .unwrap_err()
            .starts_with("at `$.incidents[1]"),
        "{list:?}"
    );

    // What stops a file stops every incident of it.
    assert!(parse_incidents_each("test.json", "[1, 2", &limits()).is_err());
    assert!(parse_incidents_each("test.json", r#"[{"a": 1}]"#, &limits()).is_err());
}

/// Text that is not JSON from its first character (YAML, most often) says what an incident
/// file is; truncated or broken JSON keeps its own message.
#[test]
fn a_file_that_is_not_json_says_what_an_incident_file_is() {
    let e = error("kind: test\nname: x\n").to_string();
    assert!(e.contains(":1:1: invalid JSON"), "{e}");
    assert!(
        e.ends_with(
            "the file is not JSON: incident files are JSON (Microsoft Graph, Sentinel, or \
             Riposte's normalized format)"
        ),
        "{e}"
    );
    // Test files are no business of an incident file's reader (`simulate`, `backtest`).
    assert!(!e.contains("test"), "{e}");
    let e = error(r#"{"displayName": "x", "id": "1", "alerts": ["#).to_string();
    assert!(!e.contains("the file is not JSON"), "{e}");
}

/// `redirected_to` is text or null, and a value of another kind is an error at its place.
#[test]
fn normalized_redirected_to_is_text() {
    let doc = |v: serde_json::Value| {
        json!({"format": "riposte.incident/v1", "incident": {"id": "1", "status": "redirected", "redirected_to": v}})
            .to_string()
    };
    let (path, message) = invalid_at(&doc(json!([1])));
    assert_eq!(path, "$.incident.redirected_to");
    assert!(message.contains("expected text, found a list"), "{message}");
    let (_, incidents) = import(&doc(json!("29477")));
    assert_eq!(incidents[0].redirected_to.as_deref(), Some("29477"));
}
