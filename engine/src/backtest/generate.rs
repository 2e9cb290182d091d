//! `riposte corpus generate`: a large, deterministic corpus of incidents made from a few
//! example incidents, for backtests and benchmarks.
//!
//! Incident `i` (from 0) of seed `s` depends on `(s, i)` and the templates only, so a corpus is
//! the same bytes on every machine and however many threads write it. Its recipe:
//!
//! 1. A random stream (xorshift64*, seeded with splitmix64 of `s` and `i`) picks a template
//!    among all incidents of the example files (sorted by path, then index in file).
//! 2. The incident gets a new id, `gen-<s>-<i>` (`i` zero-padded to 7 digits), and its alerts
//!    new ids (`<alert id>-<i>`).
//! 3. Entity names and identifiers are varied consistently across the whole incident (every
//!    occurrence of a value is replaced the same way, so entity ids, alert links and fields stay
//!    coherent): user principal names and addresses get a number before the `@`, host and file
//!    names one before the first dot (so name globs such as `dc-*` keep matching), IPv4
//!    addresses a different last octet (IPv6 ones a different last group), SIDs a different
//!    last part, GUIDs and hashes different last hex digits, URLs a `v=<n>` query parameter. The number comes from a pool of 499, so
//!    the same varied entity recurs across incidents.
//! 4. With fixed probabilities: the severity is redrawn (35%, among informational, low, medium,
//!    high), the status (25%, among new, active, in_progress, resolved), the classification
//!    (30%, among every classification; the determination is then dropped), each alert's
//!    category (20%, among the categories of all templates), each entity's verdict (20%) and a
//!    device gets the `crown-jewel` tag (5%).
//! 5. Every time is moved by the same offset (0 to 365 days), keeping their order.
//!
//! Files are Riposte normalized JSON (`riposte.incident/v1`), `incidents-00000.json`,
//! `incidents-00001.json`, …, each of `per_file` incidents (the last one may hold fewer), one
//! incident per line.

use std::collections::BTreeSet;
use std::io::{self, BufWriter, Write};
use std::path::Path;

use aho_corasick::{AhoCorasick, MatchKind};
use rayon::prelude::*;
use serde_json::Value as Json;

use super::list_corpus;
use crate::incident::{read_incidents, ImportLimits, Incident, NORMALIZED_FORMAT};

/// Most incidents one command generates.
pub const MAX_COUNT: u64 = 10_000_000;
/// Most incidents per file (the importer's default limit).
pub const MAX_PER_FILE: u64 = 100_000;
/// Incidents per file unless told otherwise.
pub const DEFAULT_PER_FILE: u64 = 1_000;
/// Size of the pool entity variations are drawn from.
const POOL: u64 = 499;

const SEVERITIES: &[&str] = &["informational", "low", "medium", "high"];
const STATUSES: &[&str] = &["new", "active", "in_progress", "resolved"];

/// Entity fields that hold names and identifiers (varied as in step 3).
const IDENTITY_FIELDS: &[&str] = &[
    "upn",
    "aad_user_id",
    "account_name",
    "sid",
    "mde_device_id",
    "aad_device_id",
    "hostname",
    "address",
    "ip_addresses",
    "logged_on_users",
    "sha1",
    "sha256",
    "md5",
    "device_id",
    "image_sha1",
    "image_sha256",
    "account",
    "primary_address",
    "network_message_id",
    "recipient",
    "sender_ip",
    "url",
];

/// Why a corpus could not be generated.
#[derive(Debug, thiserror::Error)]
pub enum GenerateError {
    #[error(transparent)]
    Corpus(#[from] super::BacktestError),
    #[error("cannot use example incidents: {0}")]
    Template(#[from] crate::incident::ImportError),
    #[error("no incidents under `{0}`; pass the directory of the example incidents")]
    NoTemplates(String),
    #[error("cannot generate {count} incidents: the limit is {limit}")]
    TooMany { count: u64, limit: u64 },
    #[error("incidents per file must be between 1 and {limit}, not {value}")]
    PerFile { value: u64, limit: u64 },
    #[error("`{0}` is not empty; generate into a new or empty directory")]
    NotEmpty(String),
    #[error("`{0}` is a file, not a directory; generate into a new or empty directory")]
    NotADirectory(String),
    #[error("cannot write `{path}`: {source}")]
    Write {
        path: String,
        #[source]
        source: io::Error,
    },
    #[error("cannot start worker threads: {0}")]
    Threads(String),
    #[error("cannot read the example incidents: `{file}`: {reason}")]
    Unreadable { file: String, reason: String },
    #[error("nothing to generate: the count must be at least 1")]
    NoCount,
    #[error(
        "`{path}` would be larger than {limit} bytes, the most an incident file may hold \
         (the incidents written to it so far, {incidents}, take {bytes} bytes); lower `--per-file` or raise \
         `--max-file-bytes` (and pass the same to `backtest`)"
    )]
    FileTooLarge {
        path: String,
        limit: u64,
        incidents: u64,
        bytes: u64,
    },
}

/// A small, fast, deterministic random stream (xorshift64*).
#[derive(Clone, Debug)]
pub struct Rng(u64);

fn splitmix(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

impl Rng {
    /// The stream of incident `index` of `seed`.
    pub fn new(seed: u64, index: u64) -> Rng {
        // xorshift must not start at 0; splitmix of anything is 0 for one input only.
        Rng(splitmix(seed ^ splitmix(index)).max(1))
    }

    pub fn next_u64(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    /// A number in `0..n` (`n > 0`; 0 otherwise).
    pub fn below(&mut self, n: u64) -> u64 {
        if n == 0 {
            0
        } else {
            self.next_u64() % n
        }
    }

    /// True with probability `percent` / 100.
    pub fn chance(&mut self, percent: u64) -> bool {
        self.below(100) < percent
    }

    fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        let i = self.below(items.len() as u64) as usize;
        items.get(i).copied().unwrap_or("unknown")
    }
}

/// FNV-1a, for deriving a variation from a value.
fn fnv(s: &str) -> u64 {
    s.bytes().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    })
}

/// What a token is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Token {
    Identity,
    AlertId,
}

/// An example incident, prepared: its JSON and the values to vary.
struct Template {
    json: Json,
    tokens: Vec<(String, Token)>,
    matcher: Option<AhoCorasick>,
}

impl Template {
    fn new(incident: &Incident) -> Template {
        let mut set: BTreeSet<(String, Token)> = BTreeSet::new();
        let mut add = |s: &str, t: Token| {
            if s.chars().count() >= 4 && !s.chars().any(char::is_whitespace) {
                set.insert((s.to_string(), t));
                let lower = s.to_lowercase();
                if lower != s {
                    set.insert((lower, t));
                }
            }
        };
        for a in &incident.alerts {
            add(&a.id, Token::AlertId);
        }
        for e in &incident.entities {
            add(&e.name, Token::Identity);
            for (key, value) in &e.fields {
                if !IDENTITY_FIELDS.contains(&key.as_ref()) {
                    continue;
                }
                match value {
                    Json::String(s) => add(s, Token::Identity),
                    Json::Array(items) => {
                        for s in items.iter().filter_map(Json::as_str) {
                            add(s, Token::Identity);
                        }
                    }
                    _ => {}
                }
            }
        }
        // A value that is both an alert id and an identity is varied as an alert id.
        let mut tokens: Vec<(String, Token)> = Vec::new();
        for (s, t) in set {
            match tokens.iter_mut().find(|(o, _)| *o == s) {
                Some(existing) => existing.1 = existing.1.min(t),
                None => tokens.push((s, t)),
            }
        }
        let matcher = AhoCorasick::builder()
            .match_kind(MatchKind::LeftmostLongest)
            .build(tokens.iter().map(|(s, _)| s.as_str()))
            .ok();
        Template {
            // Serializing an incident cannot fail: string keys, no non-finite numbers.
            json: serde_json::to_value(incident).unwrap_or(Json::Null),
            tokens,
            matcher,
        }
    }
}

/// Makes the incidents of a generated corpus.
pub struct Generator {
    templates: Vec<Template>,
    categories: Vec<String>,
    seed: u64,
}

/// What [`Generator::write`] wrote.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Written {
    pub files: u64,
    pub incidents: u64,
    pub bytes: u64,
}

/// The incidents of every `*.json` file under `dir` (sorted by path, then index in file).
pub fn read_templates(dir: &Path, limits: &ImportLimits) -> Result<Vec<Incident>, GenerateError> {
    let listing = list_corpus(dir)?;
    // A template that cannot be read would silently change the corpus.
    if let Some(e) = listing.errors.first() {
        return Err(GenerateError::Unreadable {
            file: e.file.clone(),
            reason: e.reason.clone(),
        });
    }
    let mut out: Vec<Incident> = Vec::new();
    // Where each (source, id) is in `out`: equal incidents share both, so only those are
    // compared, however many templates there are.
    let mut by_id: std::collections::HashMap<(String, String), Vec<usize>> =
        std::collections::HashMap::new();
    for f in &listing.files {
        // One incident given twice (in two formats, or copied) is one template: it would
        // otherwise be drawn twice as often as the others.
        for incident in read_incidents(&f.path, limits)?.1 {
            let same = by_id
                .entry((incident.source.clone(), incident.id.clone()))
                .or_default();
            if !same.iter().any(|&i| out.get(i) == Some(&incident)) {
                same.push(out.len());
                out.push(incident);
            }
        }
    }
    if out.is_empty() {
        return Err(GenerateError::NoTemplates(dir.display().to_string()));
    }
    Ok(out)
}

impl Generator {
    pub fn new(templates: &[Incident], seed: u64) -> Generator {
        let mut categories: Vec<String> = templates
            .iter()
            .flat_map(|t| &t.alerts)
            .filter_map(|a| a.category.clone())
            .collect();
        categories.sort();
        categories.dedup();
        Generator {
            templates: templates.iter().map(Template::new).collect(),
            categories,
            seed,
        }
    }

    /// Incident `index` of the corpus, as normalized JSON.
    pub fn incident(&self, index: u64) -> Json {
        let mut rng = Rng::new(self.seed, index);
        let Some(t) = self
            .templates
            .get(rng.below(self.templates.len() as u64) as usize)
        else {
            return Json::Null;
        };
        let salt = rng.next_u64();
        let replacements: Vec<String> = t
            .tokens
            .iter()
            .map(|(s, kind)| match kind {
                Token::AlertId => format!("{s}-{index}"),
                Token::Identity => vary(s, salt),
            })
            .collect();
        let shift_ms = i64::try_from(rng.below(366 * 86_400)).unwrap_or(0) * 1000;
        let mut json = t.json.clone();
        rewrite(&mut json, t.matcher.as_ref(), &replacements, shift_ms);

        let Json::Object(m) = &mut json else {
            return json;
        };
        m.insert(
            "id".into(),
            Json::from(format!("gen-{}-{index:07}", self.seed)),
        );
        // A generated incident is in no portal: it has no number of its own to show, nor a link
        // (the template's would open another incident).
        m.remove("number");
        m.remove("web_url");
        if rng.chance(35) {
            m.insert("severity".into(), Json::from(rng.pick(SEVERITIES)));
        }
        if rng.chance(25) {
            m.insert("status".into(), Json::from(rng.pick(STATUSES)));
        }
        if rng.chance(30) {
            let c = rng.pick(riposte_dsl::model::CLASSIFICATIONS);
            m.insert("classification".into(), Json::from(c));
            m.insert("determination".into(), Json::Null);
        }
        if let Some(Json::Array(alerts)) = m.get_mut("alerts") {
            for a in alerts.iter_mut().filter_map(Json::as_object_mut) {
                if rng.chance(20) && !self.categories.is_empty() {
                    let i = rng.below(self.categories.len() as u64) as usize;
                    let c = self.categories.get(i).cloned().unwrap_or_default();
                    a.insert("category".into(), Json::from(c));
                }
            }
        }
        if let Some(Json::Array(entities)) = m.get_mut("entities") {
            for e in entities.iter_mut().filter_map(Json::as_object_mut) {
                if rng.chance(20) {
                    let v = rng.pick(riposte_dsl::model::VERDICTS);
                    e.insert("verdict".into(), Json::from(v));
                }
                let is_device = e.get("kind").and_then(Json::as_str) == Some("device");
                if is_device && rng.chance(5) {
                    if let Some(Json::Array(tags)) = e.get_mut("tags") {
                        if !tags.iter().any(|t| t == "crown-jewel") {
                            tags.push(Json::from("crown-jewel"));
                        }
                    }
                }
            }
        }
        json
    }

    /// Writes `count` incidents into `out` (created if missing; must be empty), `per_file` to a
    /// file, on `jobs` threads (0: one per core). `progress` is told each file's incidents.
    pub fn write(
        &self,
        count: u64,
        per_file: u64,
        max_file_bytes: u64,
        out: &Path,
        jobs: usize,
        progress: &(dyn Fn(u64) + Sync),
    ) -> Result<Written, GenerateError> {
        if count > MAX_COUNT {
            return Err(GenerateError::TooMany {
                count,
                limit: MAX_COUNT,
            });
        }
        if per_file == 0 || per_file > MAX_PER_FILE {
            return Err(GenerateError::PerFile {
                value: per_file,
                limit: MAX_PER_FILE,
            });
        }
        if jobs > super::MAX_JOBS {
            return Err(GenerateError::Corpus(super::BacktestError::TooManyJobs {
                jobs,
            }));
        }
        if count == 0 {
            return Err(GenerateError::NoCount);
        }
        let io_err = |path: &Path| {
            let path = path.display().to_string();
            move |source| GenerateError::Write { path, source }
        };
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(jobs)
            .build()
            .map_err(|e| GenerateError::Threads(e.to_string()))?;
        let created = !out.exists();
        if out.exists() && !out.is_dir() {
            return Err(GenerateError::NotADirectory(out.display().to_string()));
        }
        std::fs::create_dir_all(out).map_err(io_err(out))?;
        if std::fs::read_dir(out)
            .map_err(io_err(out))?
            .next()
            .is_some()
        {
            return Err(GenerateError::NotEmpty(out.display().to_string()));
        }
        let files = count.div_ceil(per_file);
        let width = files.saturating_sub(1).to_string().len().max(5);
        let path_of = |f: u64| out.join(format!("incidents-{f:0width$}.json"));
        let sizes: Result<Vec<u64>, GenerateError> = pool.install(|| {
            (0..files)
                .into_par_iter()
                .map(|f| {
                    let path = path_of(f);
                    let first = f * per_file;
                    let last = count.min(first + per_file);
                    let bytes = self.write_file(&path, first..last, max_file_bytes)?;
                    progress(last - first);
                    Ok(bytes)
                })
                .collect()
        });
        match sizes {
            Ok(sizes) => Ok(Written {
                files,
                incidents: count,
                bytes: sizes.iter().sum(),
            }),
            Err(e) => {
                // No half-written corpus is left behind: the directory was empty (or new), so
                // what it holds now is what was written (a look at the directory, not a try
                // of each of the millions of names that may have been planned).
                for entry in std::fs::read_dir(out).into_iter().flatten().flatten() {
                    let name = entry.file_name();
                    let name = name.to_string_lossy();
                    if name.starts_with("incidents-") && name.ends_with(".json") {
                        let _ = std::fs::remove_file(entry.path());
                    }
                }
                if created {
                    let _ = std::fs::remove_dir(out);
                }
                Err(e)
            }
        }
    }

    /// Writes incidents `range` to `path`; a file that grows past `limit` bytes is an error.
    fn write_file(
        &self,
        path: &Path,
        range: std::ops::Range<u64>,
        limit: u64,
    ) -> Result<u64, GenerateError> {
        let io_err = |source| GenerateError::Write {
            path: path.display().to_string(),
            source,
        };
        let file = std::fs::File::create(path).map_err(io_err)?;
        let mut w = Counting {
            inner: BufWriter::with_capacity(1 << 20, file),
            bytes: 0,
        };
        write!(w, "{{\"format\":\"{NORMALIZED_FORMAT}\",\"incidents\":[").map_err(io_err)?;
        for (n, i) in range.enumerate() {
            w.write_all(if n == 0 { b"\n" } else { b",\n" })
                .map_err(io_err)?;
            serde_json::to_writer(&mut w, &self.incident(i)).map_err(|e| io_err(e.into()))?;
            // Room for the end of the document, so the file is never over the limit.
            if w.bytes + END.len() as u64 > limit {
                return Err(GenerateError::FileTooLarge {
                    path: path.display().to_string(),
                    limit,
                    incidents: n as u64 + 1,
                    bytes: w.bytes,
                });
            }
        }
        w.write_all(END).map_err(io_err)?;
        w.flush().map_err(io_err)?;
        Ok(w.bytes)
    }
}

/// What closes a generated file.
const END: &[u8] = b"\n]}\n";

/// A writer that counts bytes.
struct Counting<W: Write> {
    inner: W,
    bytes: u64,
}

impl<W: Write> Write for Counting<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.bytes += n as u64;
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

/// Replaces tokens and shifts times in every string of `json` (not in object keys).
fn rewrite(json: &mut Json, matcher: Option<&AhoCorasick>, with: &[String], shift_ms: i64) {
    match json {
        Json::String(s) => {
            if let Some(ac) = matcher {
                if ac.is_match(s.as_str()) {
                    *s = ac.replace_all(s, with);
                }
            }
            // A time, or an id ending in one (`process:<device>:<pid>:<created>`), so that ids
            // stay those of the shifted fields.
            let at = if timestamp(s).is_some() {
                Some(0)
            } else if s.ends_with('Z') {
                s.match_indices(':')
                    .map(|(i, _)| i + 1)
                    .find(|&i| s.get(i..).and_then(timestamp).is_some())
            } else {
                None
            };
            if let Some((at, t)) = at.and_then(|i| Some((i, s.get(i..).and_then(timestamp)?))) {
                let shifted = riposte_dsl::value::format_time(t.saturating_add(shift_ms));
                // Past year 9999 a time cannot be written back readably: it stays as it was.
                if riposte_dsl::value::parse_time(&shifted).is_some() {
                    s.replace_range(at.., &shifted);
                }
            }
        }
        Json::Array(items) => {
            for item in items {
                rewrite(item, matcher, with, shift_ms);
            }
        }
        Json::Object(m) => {
            for v in m.values_mut() {
                rewrite(v, matcher, with, shift_ms);
            }
        }
        _ => {}
    }
}

/// The time of an RFC 3339 timestamp (`2025-03-17T09:41:18Z`); `None` for other text.
fn timestamp(s: &str) -> Option<i64> {
    let b = s.as_bytes();
    if b.len() < 20 || b.get(4) != Some(&b'-') || b.get(10) != Some(&b'T') {
        return None;
    }
    riposte_dsl::value::parse_time(s)
}

/// The part of a name that identifies it: no `DOMAIN\` prefix, nothing from the first `@` or
/// `.` on (URLs whole).
fn stem(s: &str) -> &str {
    if s.contains("://") {
        return s;
    }
    let s = s.rsplit('\\').next().unwrap_or(s);
    let end = s.find(['@', '.']).filter(|&i| i > 0).unwrap_or(s.len());
    &s[..end]
}

/// A variation of a name or identifier, the same for every spelling of it in one incident
/// (`salt`): the variation is drawn from the lowercase value.
fn vary(s: &str, salt: u64) -> String {
    let h = splitmix(salt ^ fnv(&s.to_lowercase()));
    // Names get a number drawn from their stem, so that `srv-01`, `SRV-01.corp.example` and
    // `CORP\srv-01` get the same one.
    let k = 1 + splitmix(salt ^ fnv(&stem(s).to_lowercase())) % POOL;
    // IPv4: another last octet.
    let octets: Vec<&str> = s.split('.').collect();
    if octets.len() == 4 && octets.iter().all(|o| o.parse::<u8>().is_ok()) {
        let last = octets[3].parse::<u64>().unwrap_or(0);
        return format!(
            "{}.{}.{}.{}",
            octets[0],
            octets[1],
            octets[2],
            (last + k) % 254 + 1
        );
    }
    // IPv6: another last group, however the address is spelt.
    if let Ok(ip) = s.parse::<std::net::Ipv6Addr>() {
        let k = 1 + splitmix(salt ^ fnv(&ip.to_string())) % POOL;
        let mut groups = ip.segments();
        groups[7] = groups[7].wrapping_add(k as u16);
        return std::net::Ipv6Addr::from(groups).to_string();
    }
    // A SID: another last part.
    let lower = s.to_ascii_lowercase();
    if lower.starts_with("s-1-") && s[4..].split('-').all(|p| p.parse::<u64>().is_ok()) {
        if let Some((head, last)) = s.rsplit_once('-') {
            let last = last.parse::<u64>().unwrap_or(0).saturating_add(k);
            return format!("{head}-{last}");
        }
    }
    if s.contains("://") {
        let sep = if s.contains('?') { '&' } else { '?' };
        return format!("{s}{sep}v={k}");
    }
    if let Some((local, domain)) = s.split_once('@') {
        if !local.is_empty() && !domain.contains('@') {
            return format!("{local}{k}@{domain}");
        }
    }
    // GUIDs and hashes: other last hex digits, same shape and case.
    let hex_digits = s.chars().filter(char::is_ascii_hexdigit).count();
    if hex_digits >= 8 && s.chars().all(|c| c.is_ascii_hexdigit() || c == '-') {
        let upper = s.chars().any(|c| c.is_ascii_uppercase());
        let mut bits = h;
        let mut left = 8;
        let mut out: Vec<char> = s.chars().collect();
        for c in out.iter_mut().rev() {
            if left == 0 {
                break;
            }
            if c.is_ascii_hexdigit() {
                let d = char::from_digit((bits & 0xf) as u32, 16).unwrap_or('0');
                *c = if upper { d.to_ascii_uppercase() } else { d };
                bits >>= 4;
                left -= 1;
            }
        }
        return out.into_iter().collect();
    }
    // Host and file names: a number before the first dot.
    match s.split_once('.') {
        Some((first, rest)) if !first.is_empty() => format!("{first}-{k}.{rest}"),
        _ => format!("{s}-{k}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn examples() -> Vec<Incident> {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples/incidents");
        read_templates(&dir, &ImportLimits::default()).unwrap()
    }

    /// The phishing incident is in the examples twice (Graph and normalized): one template.
    #[test]
    fn an_incident_given_twice_is_one_template() {
        let templates = examples();
        let ids: Vec<&str> = templates.iter().map(|t| t.id.as_str()).collect();
        let mut distinct = ids.clone();
        distinct.sort_unstable();
        distinct.dedup();
        assert_eq!(ids.len(), distinct.len(), "{ids:?}");
        assert_eq!(templates.len(), 9);
    }

    #[test]
    fn variations_keep_the_shape() {
        let salt = 42;
        let v = vary("203.0.113.66", salt);
        assert!(v.starts_with("203.0.113."), "{v}");
        assert!(v.parse::<std::net::Ipv4Addr>().is_ok(), "{v}");
        let v = vary("adele.vance@contoso.com", salt);
        assert!(
            v.starts_with("adele.vance") && v.ends_with("@contoso.com"),
            "{v}"
        );
        let v = vary("dc-01.corp.contoso.com", salt);
        assert!(
            v.starts_with("dc-01-") && v.ends_with(".corp.contoso.com"),
            "{v}"
        );
        let v = vary("S-1-5-21-2146773085-903363285-719344707-1183", salt);
        assert!(
            v.starts_with("S-1-5-21-2146773085-903363285-719344707-"),
            "{v}"
        );
        let guid = "3cc6b224-40b0-30e2-c2ad-714373ffa385";
        let v = vary(guid, salt);
        assert_eq!(v.len(), guid.len());
        assert_eq!(v.matches('-').count(), 4);
        assert_ne!(v, guid);
        // Every spelling of a value varies the same way.
        assert_eq!(
            vary("WS-FIN-01", salt).to_lowercase(),
            vary("ws-fin-01", salt)
        );
        let url = vary("https://x.example/a?b=c", salt);
        assert!(url.starts_with("https://x.example/a?b=c&v="), "{url}");
        let host = vary("srv-fs-01", salt);
        assert!(vary("srv-fs-01.corp.contoso.com", salt).starts_with(&format!("{host}.")));
        assert!(vary("CORP\\srv-fs-01", salt).ends_with(&host));
    }

    #[test]
    fn generated_incidents_import_and_vary() {
        let templates = examples();
        assert!(
            templates.iter().any(|t| t.number.is_some()),
            "a Sentinel template"
        );
        let g = Generator::new(&templates, 7);
        let mut severities = BTreeSet::new();
        let mut names = BTreeSet::new();
        let mut processes = 0;
        for i in 0..200 {
            let doc = serde_json::json!({"format": NORMALIZED_FORMAT, "incident": g.incident(i)});
            let text = doc.to_string();
            let (_, incidents) =
                crate::incident::parse_incidents("gen.json", &text, &ImportLimits::default())
                    .unwrap_or_else(|e| panic!("incident {i}: {e}"));
            let inc = &incidents[0];
            assert_eq!(inc.id, format!("gen-7-{i:07}"));
            assert_eq!(inc.number, None, "a generated incident is in no portal");
            assert_eq!(inc.web_url, None, "nor has a link to one");
            severities.insert(inc.severity.clone());
            names.extend(inc.entities.iter().map(|e| e.name.clone()));
            // Links stay coherent: every alert's entity exists.
            for a in &inc.alerts {
                for id in &a.entity_ids {
                    assert!(inc.entities.iter().any(|e| &e.id == id), "{i}: {id}");
                }
            }
            // An id that ends in a time ends in the shifted one, as its field has it.
            for e in &inc.entities {
                if let Some(serde_json::Value::String(created)) = e.fields.get("created") {
                    if e.id.starts_with("process:") {
                        assert!(e.id.ends_with(created.as_str()), "{i}: {} {created}", e.id);
                        processes += 1;
                    }
                }
            }
        }
        assert!(processes > 0, "the examples have processes");
        assert_eq!(severities.len(), 4, "{severities:?}");
        assert!(names.len() > 200, "{}", names.len());
    }

    #[test]
    fn same_seed_same_bytes() {
        let templates = examples();
        let write = |seed: u64, jobs: usize| {
            let dir = tempfile::tempdir().unwrap();
            let out = dir.path().join("corpus");
            let w = Generator::new(&templates, seed)
                .write(25, 10, 1 << 26, &out, jobs, &|_| {})
                .unwrap();
            assert_eq!((w.files, w.incidents), (3, 25));
            let mut files: Vec<(String, Vec<u8>)> = std::fs::read_dir(&out)
                .unwrap()
                .map(|e| {
                    let e = e.unwrap();
                    (
                        e.file_name().to_string_lossy().into_owned(),
                        std::fs::read(e.path()).unwrap(),
                    )
                })
                .collect();
            files.sort();
            files
        };
        let a = write(1, 1);
        assert_eq!(a.len(), 3);
        assert_eq!(a[0].0, "incidents-00000.json");
        assert_eq!(a, write(1, 2));
        assert_ne!(a, write(2, 2));
        // The last file holds the rest.
        let (_, last) = crate::incident::parse_incidents(
            "x",
            std::str::from_utf8(&a[2].1).unwrap(),
            &ImportLimits::default(),
        )
        .unwrap();
        assert_eq!(last.len(), 5);
    }

    #[test]
    fn refuses_a_full_directory_and_bad_sizes() {
        let templates = examples();
        let g = Generator::new(&templates, 1);
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("x"), "x").unwrap();
        assert!(matches!(
            g.write(1, 1, 1 << 26, dir.path(), 1, &|_| {}),
            Err(GenerateError::NotEmpty(_))
        ));
        // A file where the directory would go is named so (it said `File exists`).
        let err = g
            .write(1, 1, 1 << 26, &dir.path().join("x"), 1, &|_| {})
            .unwrap_err();
        assert!(
            err.to_string()
                .ends_with("is a file, not a directory; generate into a new or empty directory"),
            "{err}"
        );
        let empty = dir.path().join("new");
        assert!(matches!(
            g.write(1, 0, 1 << 26, &empty, 1, &|_| {}),
            Err(GenerateError::PerFile { .. })
        ));
        assert!(matches!(
            g.write(MAX_COUNT + 1, 10, 1 << 26, &empty, 1, &|_| {}),
            Err(GenerateError::TooMany { .. })
        ));
        assert!(matches!(
            g.write(0, 10, 1 << 26, &empty, 1, &|_| {}),
            Err(GenerateError::NoCount)
        ));
    }

    /// Files are never larger than an incident file may be, and a failed run leaves nothing.
    #[test]
    fn files_stay_within_the_size_limit_and_failures_leave_nothing() {
        let templates = examples();
        let g = Generator::new(&templates, 1);
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("corpus");
        let e = g
            .write(100, 50, 100_000, &out, 2, &|_| {})
            .expect_err("50 incidents take more than 100 kB");
        assert!(
            e.to_string()
                .contains("lower `--per-file` or raise `--max-file-bytes`"),
            "{e}"
        );
        assert!(!out.exists(), "the partial corpus is removed");
        let written = g.write(100, 5, 100_000, &out, 2, &|_| {}).unwrap();
        assert_eq!(written.files, 20);
        for entry in std::fs::read_dir(&out).unwrap() {
            assert!(entry.unwrap().metadata().unwrap().len() <= 100_000);
        }
        // At the limit to the byte: a file of exactly the limit is written, one byte less is
        // refused (the end of the document counts).
        let one = dir.path().join("one");
        let size = g.write(3, 3, 1 << 26, &one, 1, &|_| {}).unwrap().bytes;
        std::fs::remove_dir_all(&one).unwrap();
        assert!(g.write(3, 3, size, &one, 1, &|_| {}).is_ok());
        std::fs::remove_dir_all(&one).unwrap();
        assert!(g.write(3, 3, size - 1, &one, 1, &|_| {}).is_err());
    }
}
