//! Scenario files (`scenarios/*.toml`): named requests with weights, the load shape and the
//! expectations. Every validation error names the file, line, column and field at fault.

use crate::load::request::{BodySpec, RequestSpec};
use crate::load::stages::RatePlan;
use bytes::Bytes;
use reqwest::Method;
use reqwest::header::{HeaderMap, HeaderName, HeaderValue};
use serde::Deserialize;
use std::collections::BTreeMap;
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;
use toml::Spanned;

/// The default scenario, compiled in so that a bare `scaleproof` works from any directory.
pub const BUILTIN_PREDICT: &str = include_str!("../scenarios/predict.toml");
/// The corpus the default scenario rotates through.
pub const BUILTIN_CORPUS: &str = include_str!("../scenarios/corpora/diabetes-instances.jsonl");
const BUILTIN_CORPUS_NAME: &str = "corpora/diabetes-instances.jsonl";

/// Why a scenario cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum ScenarioError {
    #[error("cannot read scenario {path}")]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{file}:{line}:{column}: {field}: {message}")]
    Invalid {
        file: String,
        line: usize,
        column: usize,
        field: String,
        message: String,
    },
}

/// What a scenario says about the load shape; command-line flags override each field.
#[derive(Debug, Clone, Default)]
pub struct LoadSpec {
    pub users: Option<usize>,
    pub hatch_rate: Option<f64>,
    pub run_time: Option<Duration>,
    pub test_plan: Option<String>,
    pub rate: Option<RatePlan>,
    pub max_users: Option<usize>,
    pub max_lag: Option<Duration>,
}

pub use crate::expectations::Expectations;

/// The Kubernetes workload a scenario is about; `--namespace`, `--deployment` and `--hpa`
/// override each field.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ClusterSpec {
    pub namespace: Option<String>,
    pub deployment: Option<String>,
    pub hpa: Option<String>,
}

/// A validated scenario.
#[derive(Debug, Clone)]
pub struct Scenario {
    pub name: String,
    /// Where it came from (a path, or `built-in predict.toml`).
    pub source: String,
    pub description: Option<String>,
    pub load: LoadSpec,
    pub requests: Vec<RequestSpec>,
    pub expect: Expectations,
    pub cluster: ClusterSpec,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ScenarioFile {
    name: Option<Spanned<String>>,
    description: Option<String>,
    load: Option<LoadSection>,
    #[serde(default)]
    request: Vec<Spanned<RequestSection>>,
    expect: Option<ExpectSection>,
    cluster: Option<ClusterSection>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ClusterSection {
    namespace: Option<Spanned<String>>,
    deployment: Option<Spanned<String>>,
    hpa: Option<Spanned<String>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct LoadSection {
    users: Option<Spanned<usize>>,
    hatch_rate: Option<Spanned<f64>>,
    run_time: Option<Spanned<String>>,
    test_plan: Option<Spanned<String>>,
    rate: Option<Spanned<String>>,
    max_users: Option<Spanned<usize>>,
    max_lag: Option<Spanned<String>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RequestSection {
    name: Spanned<String>,
    method: Option<Spanned<String>>,
    path: Spanned<String>,
    weight: Option<Spanned<u32>>,
    #[serde(default)]
    headers: BTreeMap<String, Spanned<String>>,
    body: Option<Spanned<toml::Value>>,
    json: Option<Spanned<String>>,
    corpus: Option<Spanned<String>>,
    expect_status: Option<Spanned<Vec<u16>>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ExpectSection {
    rps: Option<Spanned<f64>>,
    replicas: Option<Spanned<u32>>,
    p95: Option<Spanned<String>>,
    p99: Option<Spanned<String>>,
    error_rate: Option<Spanned<String>>,
    scale_within: Option<Spanned<String>>,
}

/// Source text plus its name, for turning byte spans into line:column errors.
struct Doc<'a> {
    name: &'a str,
    text: &'a str,
}

impl Doc<'_> {
    fn error(&self, span: Range<usize>, field: &str, message: impl Into<String>) -> ScenarioError {
        let (line, column) = line_column(self.text, span.start);
        ScenarioError::Invalid {
            file: self.name.to_owned(),
            line,
            column,
            field: field.to_owned(),
            message: message.into(),
        }
    }
}

fn line_column(text: &str, offset: usize) -> (usize, usize) {
    let before = &text[..offset.min(text.len())];
    let line = before.matches('\n').count() + 1;
    let column = before
        .rfind('\n')
        .map_or(before.len(), |nl| before.len() - nl - 1)
        + 1;
    (line, column)
}

/// The dotted key on the line at `offset` (`load.users`), for syntax and type errors.
fn key_at(text: &str, offset: usize) -> String {
    let offset = offset.min(text.len());
    let line_start = text[..offset].rfind('\n').map_or(0, |i| i + 1);
    let line_end = text[offset..].find('\n').map_or(text.len(), |i| offset + i);
    let line = &text[line_start..line_end];
    let key = line
        .split_once('=')
        .map(|(k, _)| k.trim().trim_matches('"').to_owned());
    let table = text[..line_start]
        .lines()
        .rev()
        .map(str::trim)
        .find(|l| l.starts_with('['))
        .map(|l| l.trim_matches(|c| c == '[' || c == ']').trim().to_owned());
    match (table, key) {
        (Some(t), Some(k)) => format!("{t}.{k}"),
        (None, Some(k)) => k,
        (Some(t), None) => t,
        (None, None) => "(document)".to_owned(),
    }
}

impl Scenario {
    /// Reads and validates a scenario file; corpus paths are relative to its folder.
    pub fn load(path: &Path) -> Result<Self, ScenarioError> {
        let text = std::fs::read_to_string(path).map_err(|source| ScenarioError::Read {
            path: path.to_path_buf(),
            source,
        })?;
        let dir = path.parent().unwrap_or(Path::new(".")).to_path_buf();
        let name = path.display().to_string();
        Self::parse(&text, &name, &|corpus: &str| {
            std::fs::read_to_string(dir.join(corpus)).map_err(|e| e.to_string())
        })
    }

    /// The compiled-in default scenario (`scenarios/predict.toml`).
    pub fn builtin() -> Self {
        Self::parse(
            BUILTIN_PREDICT,
            "built-in scenarios/predict.toml",
            &|corpus: &str| {
                if corpus == BUILTIN_CORPUS_NAME {
                    Ok(BUILTIN_CORPUS.to_owned())
                } else {
                    Err(format!("the built-in scenario has no corpus {corpus}"))
                }
            },
        )
        .expect("the built-in scenario is validated by the test suite")
    }

    /// Parses scenario text; `read_corpus` resolves corpus file names to their contents.
    pub fn parse(
        text: &str,
        source: &str,
        read_corpus: &dyn Fn(&str) -> Result<String, String>,
    ) -> Result<Self, ScenarioError> {
        let doc = Doc { name: source, text };
        let file: ScenarioFile = toml::from_str(text).map_err(|e| {
            let span = e.span().unwrap_or(0..0);
            doc.error(span.clone(), &key_at(text, span.start), e.message().trim())
        })?;
        let name = match &file.name {
            Some(n) if n.get_ref().trim().is_empty() => {
                return Err(doc.error(n.span(), "name", "must not be empty"));
            }
            Some(n) => n.get_ref().clone(),
            None => Path::new(source)
                .file_stem()
                .and_then(|s| s.to_str())
                .unwrap_or("scenario")
                .to_owned(),
        };
        let load = match &file.load {
            Some(section) => load_section(&doc, section)?,
            None => LoadSpec::default(),
        };
        if file.request.is_empty() {
            return Err(doc.error(0..0, "request", "a scenario needs at least one [[request]]"));
        }
        let mut requests = Vec::new();
        for (i, section) in file.request.iter().enumerate() {
            requests.push(request_section(&doc, i, section, read_corpus)?);
        }
        let expect = match &file.expect {
            Some(section) => expect_section(&doc, section)?,
            None => Expectations::default(),
        };
        let cluster = match &file.cluster {
            Some(section) => cluster_section(&doc, section)?,
            None => ClusterSpec::default(),
        };
        Ok(Self {
            name,
            source: source.to_owned(),
            description: file.description.clone(),
            load,
            requests,
            expect,
            cluster,
        })
    }
}

fn cluster_section(doc: &Doc<'_>, s: &ClusterSection) -> Result<ClusterSpec, ScenarioError> {
    let name = |v: &Option<Spanned<String>>, field: &str| match v {
        Some(v) if !is_dns_name(v.get_ref()) => Err(doc.error(
            v.span(),
            field,
            "must be a Kubernetes object name (lowercase letters, digits and '-')",
        )),
        Some(v) => Ok(Some(v.get_ref().clone())),
        None => Ok(None),
    };
    Ok(ClusterSpec {
        namespace: name(&s.namespace, "cluster.namespace")?,
        deployment: name(&s.deployment, "cluster.deployment")?,
        hpa: name(&s.hpa, "cluster.hpa")?,
    })
}

/// A DNS-1123 subdomain: what Kubernetes accepts as a Deployment, HPA or namespace name.
pub fn is_dns_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 253
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'.')
        && name
            .bytes()
            .next()
            .is_some_and(|b| b.is_ascii_alphanumeric())
        && name
            .bytes()
            .last()
            .is_some_and(|b| b.is_ascii_alphanumeric())
}

fn duration(
    doc: &Doc<'_>,
    value: &Spanned<String>,
    field: &str,
) -> Result<Duration, ScenarioError> {
    humantime::parse_duration(value.get_ref().trim()).map_err(|e| {
        doc.error(
            value.span(),
            field,
            format!(
                "{:?} is not a duration like 30s or 2m ({e})",
                value.get_ref()
            ),
        )
    })
}

fn load_section(doc: &Doc<'_>, s: &LoadSection) -> Result<LoadSpec, ScenarioError> {
    if let (Some(rate), Some(users)) = (&s.rate, &s.users) {
        let at = rate.span().start.max(users.span().start);
        return Err(doc.error(
            at..at,
            "load",
            "give either `rate` (open model) or `users` (closed model), not both",
        ));
    }
    let positive_usize = |v: &Option<Spanned<usize>>, field: &str| match v {
        Some(v) if *v.get_ref() == 0 => Err(doc.error(v.span(), field, "must be at least 1")),
        Some(v) => Ok(Some(*v.get_ref())),
        None => Ok(None),
    };
    let hatch_rate = match &s.hatch_rate {
        Some(v) if !(v.get_ref().is_finite() && *v.get_ref() > 0.0) => {
            return Err(doc.error(
                v.span(),
                "load.hatch_rate",
                "must be a positive number of users per second",
            ));
        }
        Some(v) => Some(*v.get_ref()),
        None => None,
    };
    let rate = match &s.rate {
        Some(v) => Some(
            RatePlan::parse(v.get_ref())
                .map_err(|e| doc.error(v.span(), "load.rate", e.to_string()))?,
        ),
        None => None,
    };
    Ok(LoadSpec {
        users: positive_usize(&s.users, "load.users")?,
        hatch_rate,
        run_time: s
            .run_time
            .as_ref()
            .map(|v| duration(doc, v, "load.run_time"))
            .transpose()?,
        test_plan: s.test_plan.as_ref().map(|v| v.get_ref().clone()),
        rate,
        max_users: positive_usize(&s.max_users, "load.max_users")?,
        max_lag: s
            .max_lag
            .as_ref()
            .map(|v| duration(doc, v, "load.max_lag"))
            .transpose()?,
    })
}

fn request_section(
    doc: &Doc<'_>,
    index: usize,
    spanned: &Spanned<RequestSection>,
    read_corpus: &dyn Fn(&str) -> Result<String, String>,
) -> Result<RequestSpec, ScenarioError> {
    let s = spanned.get_ref();
    let field = |name: &str| format!("request[{index}].{name}");
    let method = match &s.method {
        Some(m) => {
            Method::from_bytes(m.get_ref().to_ascii_uppercase().as_bytes()).map_err(|_| {
                doc.error(
                    m.span(),
                    &field("method"),
                    format!("{:?} is not an HTTP method", m.get_ref()),
                )
            })?
        }
        None => Method::GET,
    };
    if !s.path.get_ref().starts_with('/') {
        return Err(doc.error(
            s.path.span(),
            &field("path"),
            "must start with '/' (the host comes from --host)",
        ));
    }
    let weight = match &s.weight {
        Some(w) if *w.get_ref() == 0 => {
            return Err(doc.error(w.span(), &field("weight"), "must be at least 1"));
        }
        Some(w) => *w.get_ref(),
        None => 1,
    };
    let mut headers = HeaderMap::new();
    for (key, value) in &s.headers {
        let name = HeaderName::from_bytes(key.as_bytes()).map_err(|_| {
            doc.error(
                value.span(),
                &field("headers"),
                format!("{key:?} is not a valid header name"),
            )
        })?;
        let v = HeaderValue::from_str(value.get_ref()).map_err(|_| {
            doc.error(
                value.span(),
                &field(&format!("headers.{key}")),
                "not a valid header value",
            )
        })?;
        headers.insert(name, v);
    }
    let given: Vec<(&str, Range<usize>)> = [
        s.body.as_ref().map(|b| ("body", b.span())),
        s.json.as_ref().map(|b| ("json", b.span())),
        s.corpus.as_ref().map(|b| ("corpus", b.span())),
    ]
    .into_iter()
    .flatten()
    .collect();
    if given.len() > 1 {
        return Err(doc.error(
            given[1].1.clone(),
            &field(given[1].0),
            "give only one of `body`, `json` and `corpus`",
        ));
    }
    let body = if let Some(b) = &s.body {
        let json = serde_json::to_vec(b.get_ref()).map_err(|e| {
            doc.error(
                b.span(),
                &field("body"),
                format!("cannot be sent as JSON: {e}"),
            )
        })?;
        BodySpec::Json(Bytes::from(json))
    } else if let Some(j) = &s.json {
        serde_json::from_str::<serde_json::Value>(j.get_ref())
            .map_err(|e| doc.error(j.span(), &field("json"), format!("is not valid JSON: {e}")))?;
        BodySpec::Json(Bytes::from(j.get_ref().clone().into_bytes()))
    } else if let Some(c) = &s.corpus {
        let text = read_corpus(c.get_ref()).map_err(|e| {
            doc.error(
                c.span(),
                &field("corpus"),
                format!("cannot read {:?}: {e}", c.get_ref()),
            )
        })?;
        let mut bodies = Vec::new();
        for (n, line) in text.lines().enumerate() {
            if line.trim().is_empty() {
                continue;
            }
            serde_json::from_str::<serde_json::Value>(line).map_err(|e| {
                doc.error(
                    c.span(),
                    &field("corpus"),
                    format!("{}:{}: not valid JSON: {e}", c.get_ref(), n + 1),
                )
            })?;
            bodies.push(Bytes::from(line.to_owned()));
        }
        if bodies.is_empty() {
            return Err(doc.error(
                c.span(),
                &field("corpus"),
                format!("{:?} holds no request bodies", c.get_ref()),
            ));
        }
        BodySpec::Corpus {
            file: c.get_ref().clone(),
            bodies: Arc::from(bodies),
        }
    } else {
        BodySpec::None
    };
    if !matches!(body, BodySpec::None) && !headers.contains_key(reqwest::header::CONTENT_TYPE) {
        headers.insert(
            reqwest::header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        );
    }
    let expect_status = match &s.expect_status {
        Some(list) => {
            if let Some(bad) = list.get_ref().iter().find(|s| !(100..=599).contains(*s)) {
                return Err(doc.error(
                    list.span(),
                    &field("expect_status"),
                    format!("{bad} is not an HTTP status"),
                ));
            }
            list.get_ref().clone()
        }
        None => Vec::new(),
    };
    Ok(RequestSpec {
        name: s.name.get_ref().clone(),
        method,
        path: s.path.get_ref().clone(),
        headers,
        body,
        weight,
        expect_status,
    })
}

/// Parses `250ms`, `1.5s`, `2m` into milliseconds.
pub fn parse_millis(text: &str) -> Result<f64, String> {
    let t = text.trim();
    if let Some(ms) = t.strip_suffix("ms") {
        return ms
            .trim()
            .parse::<f64>()
            .map_err(|_| format!("{text:?} is not a duration like 250ms"));
    }
    if let Some(Ok(secs)) = t.strip_suffix('s').map(|s| s.trim().parse::<f64>()) {
        return Ok(secs * 1000.0);
    }
    humantime::parse_duration(t)
        .map(|d| d.as_secs_f64() * 1000.0)
        .map_err(|e| format!("{text:?} is not a duration like 250ms ({e})"))
}

/// Parses `1%`, `0.5%` or a fraction `0.01` into a fraction.
pub fn parse_fraction(text: &str) -> Result<f64, String> {
    let t = text.trim();
    let value = match t.strip_suffix('%') {
        Some(p) => p.trim().parse::<f64>().map(|v| v / 100.0),
        None => t.parse::<f64>(),
    }
    .map_err(|_| format!("{text:?} is not a rate like 1% or 0.01"))?;
    if (0.0..=1.0).contains(&value) {
        Ok(value)
    } else {
        Err(format!("{text:?} is outside 0%..100%"))
    }
}

fn expect_section(doc: &Doc<'_>, s: &ExpectSection) -> Result<Expectations, ScenarioError> {
    let millis = |v: &Option<Spanned<String>>, field: &str| {
        v.as_ref()
            .map(|v| parse_millis(v.get_ref()).map_err(|e| doc.error(v.span(), field, e)))
            .transpose()
    };
    Ok(Expectations {
        rps: s.rps.as_ref().map(|v| *v.get_ref()),
        replicas: s.replicas.as_ref().map(|v| *v.get_ref()),
        p95_ms: millis(&s.p95, "expect.p95")?,
        p99_ms: millis(&s.p99, "expect.p99")?,
        error_rate: s
            .error_rate
            .as_ref()
            .map(|v| {
                parse_fraction(v.get_ref()).map_err(|e| doc.error(v.span(), "expect.error_rate", e))
            })
            .transpose()?,
        scale_within_s: millis(&s.scale_within, "expect.scale_within")?.map(|ms| ms / 1000.0),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<Scenario, ScenarioError> {
        Scenario::parse(text, "test.toml", &|name: &str| match name {
            "rows.jsonl" => Ok("{\"a\":1}\n\n{\"a\":2}\n".to_owned()),
            "bad.jsonl" => Ok("{\"a\":1}\n{oops\n".to_owned()),
            other => Err(format!("no such file {other}")),
        })
    }

    fn invalid(text: &str) -> (usize, usize, String, String) {
        match parse(text) {
            Err(ScenarioError::Invalid {
                line,
                column,
                field,
                message,
                ..
            }) => (line, column, field, message),
            other => panic!("expected a validation error, got {other:?}"),
        }
    }

    #[test]
    fn a_full_scenario_parses() {
        let s = parse(
            r#"
name = "demo"
[load]
rate = "10:1s,100:5s"
max_users = 50
max_lag = "500ms"
[[request]]
name = "one"
method = "post"
path = "/predict"
weight = 3
body = { instances = [ { bmi = 0.06 } ] }
[[request]]
name = "rotating"
method = "POST"
path = "/predict"
corpus = "rows.jsonl"
[[request]]
name = "health"
path = "/health"
expect_status = [200, 204]
[expect]
rps = 1000
replicas = 2
p95 = "250ms"
error_rate = "1%"
scale_within = "2m"
[cluster]
namespace = "demo"
deployment = "target-service"
"#,
        )
        .expect("valid");
        assert_eq!(
            s.cluster,
            ClusterSpec {
                namespace: Some("demo".into()),
                deployment: Some("target-service".into()),
                hpa: None
            }
        );
        assert_eq!(s.name, "demo");
        assert_eq!(s.requests.len(), 3);
        assert_eq!(s.requests[0].method, Method::POST);
        assert_eq!(s.requests[0].weight, 3);
        assert_eq!(
            s.requests[0].body,
            BodySpec::Json(Bytes::from_static(br#"{"instances":[{"bmi":0.06}]}"#))
        );
        assert_eq!(
            s.requests[0].headers[reqwest::header::CONTENT_TYPE],
            "application/json"
        );
        match &s.requests[1].body {
            BodySpec::Corpus { bodies, .. } => assert_eq!(bodies.len(), 2),
            other => panic!("{other:?}"),
        }
        assert_eq!(s.requests[2].method, Method::GET);
        assert_eq!(s.load.max_users, Some(50));
        assert_eq!(s.load.rate.as_ref().map(|p| p.stages().len()), Some(2));
        assert_eq!(s.expect.p95_ms, Some(250.0));
        assert_eq!(s.expect.error_rate, Some(0.01));
        assert_eq!(s.expect.scale_within_s, Some(120.0));
    }

    #[test]
    fn type_errors_name_line_column_and_dotted_field() {
        let (line, column, field, message) =
            invalid("[load]\nusers = \"many\"\n[[request]]\nname='a'\npath='/'\n");
        assert_eq!((line, column, field.as_str()), (2, 9, "load.users"));
        assert!(message.contains("invalid type"), "{message}");
    }

    #[test]
    fn unknown_fields_are_refused_with_their_position() {
        let (line, _, field, message) = invalid("[[request]]\nname='a'\npath='/'\nwieght = 3\n");
        assert_eq!(line, 4);
        assert_eq!(field, "request.wieght");
        assert!(message.contains("unknown field"), "{message}");
    }

    #[test]
    fn cluster_names_must_be_kubernetes_names() {
        let (line, _, field, message) = invalid(
            "[[request]]\nname = \"a\"\npath = \"/\"\n[cluster]\ndeployment = \"Target_Service\"\n",
        );
        assert_eq!((line, field.as_str()), (5, "cluster.deployment"));
        assert!(message.contains("Kubernetes object name"), "{message}");
        assert!(is_dns_name("target-service"));
        assert!(!is_dns_name("-x") && !is_dns_name("") && !is_dns_name("a b"));
    }

    #[test]
    fn semantic_errors_point_at_the_value() {
        let (line, column, field, _) = invalid("[[request]]\nname='a'\npath='predict'\n");
        assert_eq!((line, column, field.as_str()), (3, 6, "request[0].path"));
        let (line, _, field, message) =
            invalid("[load]\nrate = '100'\n[[request]]\nname='a'\npath='/'\n");
        assert_eq!((line, field.as_str()), (2, "load.rate"));
        assert!(message.contains("RATE:DURATION"), "{message}");
        let (line, _, field, _) = invalid("[[request]]\nname='a'\npath='/'\nweight = 0\n");
        assert_eq!((line, field.as_str()), (4, "request[0].weight"));
        let (line, _, field, message) =
            invalid("[[request]]\nname='a'\npath='/'\ncorpus='bad.jsonl'\n");
        assert_eq!((line, field.as_str()), (4, "request[0].corpus"));
        assert!(message.contains("bad.jsonl:2"), "{message}");
        let (line, _, field, _) =
            invalid("[[request]]\nname='a'\npath='/'\n[expect]\np95 = 'fast'\n");
        assert_eq!((line, field.as_str()), (5, "expect.p95"));
        let (_, _, field, _) =
            invalid("[load]\nusers = 3\nrate = '1:1s'\n[[request]]\nname='a'\npath='/'\n");
        assert_eq!(field, "load");
    }

    #[test]
    fn a_scenario_without_requests_is_refused() {
        let (_, _, field, _) = invalid("name = 'empty'\n");
        assert_eq!(field, "request");
    }

    #[test]
    fn error_message_reads_file_line_column_field() {
        let err = parse("[[request]]\nname='a'\npath='x'\n").expect_err("invalid");
        assert!(
            err.to_string()
                .starts_with("test.toml:3:6: request[0].path: "),
            "{err}"
        );
    }

    #[test]
    fn fractions_and_millis() {
        assert_eq!(parse_fraction("2.5%"), Ok(0.025));
        assert_eq!(parse_fraction("0.1"), Ok(0.1));
        assert!(parse_fraction("150%").is_err());
        assert_eq!(parse_millis("250ms"), Ok(250.0));
        assert_eq!(parse_millis("1.5s"), Ok(1500.0));
        assert_eq!(parse_millis("2m"), Ok(120_000.0));
    }
}
