//! Reading a scenario file (`scenarios/*.toml`): its load shape, expectations and cluster
//! sections, with each value checked by the parsers in [`crate::values`] that the flags use.
//! Every validation error names the file, line, column and field at fault.

use super::rate::RatePlan;
use super::request::{RequestSection, RequestSpec, request_section};
use crate::autoscaling::{Behavior, Policy, PolicyKind, Rules, SelectPolicy};
use crate::expectations::Expectations;
use crate::values::{self, TestPlan};
use serde::Deserialize;
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::time::Duration;
use toml::Spanned;

/// The default scenario, compiled in so that a bare `scaleproof` works from any directory.
pub const BUILTIN_PREDICT: &str = include_str!("../../scenarios/predict.toml");
/// The corpus the default scenario rotates through.
pub const BUILTIN_CORPUS: &str = include_str!("../../scenarios/corpora/diabetes-instances.jsonl");
const BUILTIN_CORPUS_NAME: &str = "corpora/diabetes-instances.jsonl";

/// Most the weights of a scenario's requests may add up to (the mix holds one entry per unit).
const MAX_TOTAL_WEIGHT: u64 = 100_000;

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
    pub test_plan: Option<TestPlan>,
    pub rate: Option<RatePlan>,
    pub max_users: Option<usize>,
    pub max_lag: Option<Duration>,
}

/// The Kubernetes workload a scenario is about; `--namespace`, `--deployment`, `--hpa` and
/// `--service` override each field.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ClusterSpec {
    pub namespace: Option<String>,
    pub deployment: Option<String>,
    pub hpa: Option<String>,
    pub service: Option<String>,
}

/// The live page of a scenario (`[live]`); `--live`, `--live-port`, `--live-bind` and
/// `--live-linger` override its fields.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct LiveSpec {
    pub enabled: Option<bool>,
    pub port: Option<u16>,
    pub bind: Option<std::net::IpAddr>,
    pub linger: Option<Duration>,
}

/// TLS settings of a scenario (`[tls]`); each flag (`--cacert`, `--insecure`, `--cert`,
/// `--key`) overrides its field. Relative paths are relative to the scenario's folder.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct TlsSpec {
    pub cacert: Option<PathBuf>,
    pub insecure: Option<bool>,
    pub cert: Option<PathBuf>,
    pub key: Option<PathBuf>,
}

/// Local replicas (`[local]`), when no `--host` is given; each flag (`--replicas`,
/// `--cpu-request`, `--cpu-limit`, `--hpa-target`, `--no-autoscale`) overrides its field.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct LocalSpec {
    pub replicas: Option<(u32, u32)>,
    pub cpu_request_m: Option<u32>,
    pub cpu_limit_m: Option<u32>,
    pub hpa_target_pct: Option<f64>,
    pub autoscale: Option<bool>,
    pub work_factor: Option<u32>,
    pub sync_period: Option<Duration>,
    pub startup_delay: Option<Duration>,
    /// `behavior` as an `autoscaling/v2` HPA takes it, unset fields at Kubernetes' defaults.
    pub behavior: Option<Behavior>,
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
    pub tls: TlsSpec,
    pub local: LocalSpec,
    pub live: LiveSpec,
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
    tls: Option<TlsSection>,
    local: Option<LocalSection>,
    live: Option<LiveSection>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct LiveSection {
    enabled: Option<bool>,
    port: Option<Spanned<i64>>,
    bind: Option<Spanned<String>>,
    linger: Option<Spanned<String>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct LocalSection {
    replicas: Option<Spanned<String>>,
    cpu_request: Option<Spanned<String>>,
    cpu_limit: Option<Spanned<String>>,
    hpa_target: Option<Spanned<String>>,
    autoscale: Option<bool>,
    work_factor: Option<Spanned<i64>>,
    sync_period: Option<Spanned<String>>,
    startup_delay: Option<Spanned<String>>,
    behavior: Option<BehaviorSection>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct BehaviorSection {
    #[serde(rename = "scaleUp")]
    scale_up: Option<RulesSection>,
    #[serde(rename = "scaleDown")]
    scale_down: Option<RulesSection>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RulesSection {
    #[serde(rename = "stabilizationWindowSeconds")]
    stabilization: Option<Spanned<i64>>,
    #[serde(rename = "selectPolicy")]
    select: Option<Spanned<String>>,
    policies: Option<Vec<Spanned<PolicySection>>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct PolicySection {
    #[serde(rename = "type")]
    kind: String,
    value: i64,
    #[serde(rename = "periodSeconds")]
    period: i64,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct TlsSection {
    cacert: Option<Spanned<String>>,
    insecure: Option<bool>,
    cert: Option<Spanned<String>>,
    key: Option<Spanned<String>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ClusterSection {
    namespace: Option<Spanned<String>>,
    deployment: Option<Spanned<String>>,
    hpa: Option<Spanned<String>>,
    service: Option<Spanned<String>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct LoadSection {
    users: Option<Spanned<i64>>,
    hatch_rate: Option<Spanned<f64>>,
    run_time: Option<Spanned<String>>,
    test_plan: Option<Spanned<String>>,
    rate: Option<Spanned<String>>,
    max_users: Option<Spanned<i64>>,
    max_lag: Option<Spanned<String>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ExpectSection {
    rps: Option<Spanned<f64>>,
    replicas: Option<Spanned<i64>>,
    p95: Option<Spanned<String>>,
    p99: Option<Spanned<String>>,
    error_rate: Option<Spanned<String>>,
    scale_within: Option<Spanned<String>>,
    new_pod_serves_within: Option<Spanned<String>>,
    scale_in_errors: Option<Spanned<i64>>,
    max_pod_share: Option<Spanned<String>>,
}

/// Source text plus its name, for turning byte spans into line:column errors.
pub(super) struct Doc<'a> {
    name: &'a str,
    text: &'a str,
}

impl Doc<'_> {
    pub(super) fn error(
        &self,
        span: Range<usize>,
        field: &str,
        message: impl Into<String>,
    ) -> ScenarioError {
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
        let mut scenario = Self::parse(&text, &name, &|corpus: &str| {
            std::fs::read_to_string(dir.join(corpus)).map_err(|e| e.to_string())
        })?;
        let tls = &mut scenario.tls;
        for file in [&mut tls.cacert, &mut tls.cert, &mut tls.key]
            .into_iter()
            .flatten()
        {
            *file = dir.join(&*file);
        }
        Ok(scenario)
    }

    /// The corpus files a scenario file reads, as its requests name them (relative to its
    /// folder), each once.
    pub fn corpus_files(path: &Path) -> Result<Vec<String>, ScenarioError> {
        let text = std::fs::read_to_string(path).map_err(|source| ScenarioError::Read {
            path: path.to_path_buf(),
            source,
        })?;
        let dir = path.parent().unwrap_or(Path::new(".")).to_path_buf();
        let used = std::cell::RefCell::new(Vec::<String>::new());
        Self::parse(&text, &path.display().to_string(), &|corpus: &str| {
            let mut used = used.borrow_mut();
            if !used.iter().any(|u| u == corpus) {
                used.push(corpus.to_owned());
            }
            std::fs::read_to_string(dir.join(corpus)).map_err(|e| e.to_string())
        })?;
        Ok(used.into_inner())
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
        let total: u64 = requests.iter().map(|r| u64::from(r.weight)).sum();
        if total > MAX_TOTAL_WEIGHT {
            return Err(doc.error(
                0..0,
                "request",
                format!("the weights add up to {total}, more than {MAX_TOTAL_WEIGHT}"),
            ));
        }
        let expect = match &file.expect {
            Some(section) => expect_section(&doc, section)?,
            None => Expectations::default(),
        };
        let cluster = match &file.cluster {
            Some(section) => cluster_section(&doc, section)?,
            None => ClusterSpec::default(),
        };
        let tls = match &file.tls {
            Some(section) => tls_section(&doc, section)?,
            None => TlsSpec::default(),
        };
        let local = match &file.local {
            Some(section) => local_section(&doc, section)?,
            None => LocalSpec::default(),
        };
        let live = match &file.live {
            Some(s) => LiveSpec {
                enabled: s.enabled,
                port: checked(&doc, &s.port, "live.port", |v: &i64| {
                    u16::try_from(*v)
                        .map_err(|_| format!("{v} is not a port (0 to 65535; 0 picks one)"))
                })?,
                bind: checked(&doc, &s.bind, "live.bind", |v: &String| {
                    values::bind_address(v)
                })?,
                linger: checked(&doc, &s.linger, "live.linger", |v: &String| {
                    values::duration_or_zero(v)
                })?,
            },
            None => LiveSpec::default(),
        };
        Ok(Self {
            name,
            source: source.to_owned(),
            description: file.description.clone(),
            load,
            requests,
            expect,
            cluster,
            tls,
            local,
            live,
        })
    }
}

fn local_section(doc: &Doc<'_>, s: &LocalSection) -> Result<LocalSpec, ScenarioError> {
    let spec = LocalSpec {
        replicas: checked(doc, &s.replicas, "local.replicas", |v| {
            values::replica_range(v)
        })?,
        cpu_request_m: checked(doc, &s.cpu_request, "local.cpu_request", |v| {
            values::millicores(v)
        })?,
        cpu_limit_m: checked(doc, &s.cpu_limit, "local.cpu_limit", |v| {
            values::millicores(v)
        })?,
        hpa_target_pct: checked(doc, &s.hpa_target, "local.hpa_target", |v| {
            values::utilization(v)
        })?,
        autoscale: s.autoscale,
        work_factor: checked(doc, &s.work_factor, "local.work_factor", |n| {
            u32::try_from(*n)
                .ok()
                .filter(|n| *n <= 100_000)
                .ok_or_else(|| format!("{n} is not a work factor in 0..=100000"))
        })?,
        sync_period: checked(doc, &s.sync_period, "local.sync_period", |v| {
            values::duration(v)
        })?,
        startup_delay: checked(doc, &s.startup_delay, "local.startup_delay", |v| {
            values::duration(v)
        })?,
        behavior: match &s.behavior {
            None => None,
            Some(b) => {
                let mut behavior = Behavior::default();
                if let Some(r) = &b.scale_up {
                    rules(doc, r, "local.behavior.scaleUp", &mut behavior.scale_up)?;
                }
                if let Some(r) = &b.scale_down {
                    rules(doc, r, "local.behavior.scaleDown", &mut behavior.scale_down)?;
                }
                Some(behavior)
            }
        },
    };
    if let (Some(req), Some(limit)) = (&s.cpu_request, spec.cpu_limit_m)
        && spec.cpu_request_m.is_some_and(|r| r > limit)
    {
        return Err(doc.error(req.span(), "local.cpu_request", "is above local.cpu_limit"));
    }
    Ok(spec)
}

/// One direction of `behavior`, checked as the API server checks it.
fn rules(doc: &Doc<'_>, s: &RulesSection, at: &str, into: &mut Rules) -> Result<(), ScenarioError> {
    if let Some(w) = &s.stabilization {
        into.stabilization_s = u32::try_from(*w.get_ref())
            .ok()
            .filter(|w| *w <= 3600)
            .ok_or_else(|| {
                doc.error(
                    w.span(),
                    &format!("{at}.stabilizationWindowSeconds"),
                    "must be 0..=3600",
                )
            })?;
    }
    if let Some(p) = &s.select {
        into.select = match p.get_ref().as_str() {
            "Max" => SelectPolicy::Max,
            "Min" => SelectPolicy::Min,
            "Disabled" => SelectPolicy::Disabled,
            other => {
                return Err(doc.error(
                    p.span(),
                    &format!("{at}.selectPolicy"),
                    format!("{other:?} is not Max, Min or Disabled"),
                ));
            }
        };
    }
    if let Some(list) = &s.policies {
        into.policies.clear();
        for (i, p) in list.iter().enumerate() {
            let field = format!("{at}.policies[{i}]");
            let bad = |m: &str| doc.error(p.span(), &field, m.to_owned());
            let q = p.get_ref();
            let kind = match q.kind.as_str() {
                "Pods" => PolicyKind::Pods,
                "Percent" => PolicyKind::Percent,
                _ => return Err(bad("type must be Pods or Percent")),
            };
            let value = u32::try_from(q.value)
                .ok()
                .filter(|v| *v > 0)
                .ok_or_else(|| bad("value must be above 0"))?;
            let period_s = u32::try_from(q.period)
                .ok()
                .filter(|v| (1..=1800).contains(v))
                .ok_or_else(|| bad("periodSeconds must be 1..=1800"))?;
            into.policies.push(Policy {
                kind,
                value,
                period_s,
            });
        }
    }
    Ok(())
}

fn tls_section(doc: &Doc<'_>, s: &TlsSection) -> Result<TlsSpec, ScenarioError> {
    match (&s.cert, &s.key) {
        (Some(v), None) => return Err(doc.error(v.span(), "tls.cert", "needs tls.key too")),
        (None, Some(v)) => return Err(doc.error(v.span(), "tls.key", "needs tls.cert too")),
        _ => {}
    }
    let path = |v: &Option<Spanned<String>>, field: &str| {
        checked(doc, v, field, |p: &String| {
            if p.trim().is_empty() {
                Err("must not be empty".to_owned())
            } else {
                Ok(PathBuf::from(p))
            }
        })
    };
    Ok(TlsSpec {
        cacert: path(&s.cacert, "tls.cacert")?,
        insecure: s.insecure,
        cert: path(&s.cert, "tls.cert")?,
        key: path(&s.key, "tls.key")?,
    })
}

fn cluster_section(doc: &Doc<'_>, s: &ClusterSection) -> Result<ClusterSpec, ScenarioError> {
    let name = |v: &Option<Spanned<String>>, field: &str| {
        checked(doc, v, field, |v: &String| values::k8s_name(v))
    };
    Ok(ClusterSpec {
        namespace: name(&s.namespace, "cluster.namespace")?,
        deployment: name(&s.deployment, "cluster.deployment")?,
        hpa: name(&s.hpa, "cluster.hpa")?,
        service: name(&s.service, "cluster.service")?,
    })
}

/// Checks `v` with `parse`, turning its message into an error at the value's position.
fn checked<T, U>(
    doc: &Doc<'_>,
    v: &Option<Spanned<T>>,
    field: &str,
    parse: impl Fn(&T) -> Result<U, String>,
) -> Result<Option<U>, ScenarioError> {
    v.as_ref()
        .map(|v| parse(v.get_ref()).map_err(|e| doc.error(v.span(), field, e)))
        .transpose()
}

fn count(n: &i64) -> Result<usize, String> {
    usize::try_from(*n).map_err(|_| format!("{n} is not a count"))
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
    let users = |n: &i64| count(n).and_then(values::check_users);
    Ok(LoadSpec {
        users: checked(doc, &s.users, "load.users", users)?,
        hatch_rate: checked(doc, &s.hatch_rate, "load.hatch_rate", |v| {
            values::positive(&v.to_string())
        })?,
        run_time: checked(doc, &s.run_time, "load.run_time", |v| values::duration(v))?,
        test_plan: checked(doc, &s.test_plan, "load.test_plan", |v| {
            values::test_plan(v)
        })?,
        rate: checked(doc, &s.rate, "load.rate", |v| {
            RatePlan::parse(v).map_err(|e| e.to_string())
        })?,
        max_users: checked(doc, &s.max_users, "load.max_users", users)?,
        max_lag: checked(doc, &s.max_lag, "load.max_lag", |v| values::duration(v))?,
    })
}

fn expect_section(doc: &Doc<'_>, s: &ExpectSection) -> Result<Expectations, ScenarioError> {
    let millis = |v: &String| values::millis(v);
    Ok(Expectations {
        rps: checked(doc, &s.rps, "expect.rps", |v| {
            values::positive(&v.to_string())
        })?,
        replicas: checked(doc, &s.replicas, "expect.replicas", |n| {
            u32::try_from(*n)
                .ok()
                .filter(|&n| n >= 1)
                .ok_or_else(|| format!("{n} is not a count of at least 1"))
        })?,
        p95_ms: checked(doc, &s.p95, "expect.p95", millis)?,
        p99_ms: checked(doc, &s.p99, "expect.p99", millis)?,
        error_rate: checked(doc, &s.error_rate, "expect.error_rate", |v| {
            values::fraction(v)
        })?,
        scale_within_s: checked(doc, &s.scale_within, "expect.scale_within", millis)?
            .map(|ms| ms / 1000.0),
        new_pod_serves_within_s: checked(
            doc,
            &s.new_pod_serves_within,
            "expect.new_pod_serves_within",
            millis,
        )?
        .map(|ms| ms / 1000.0),
        scale_in_errors: checked(doc, &s.scale_in_errors, "expect.scale_in_errors", |n| {
            u64::try_from(*n).map_err(|_| format!("{n} is not a count (0 or more)"))
        })?,
        max_pod_share: checked(doc, &s.max_pod_share, "expect.max_pod_share", |v| {
            values::fraction(v)
        })?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scenario::BodySpec;
    use bytes::Bytes;
    use reqwest::Method;

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
new_pod_serves_within = "10s"
scale_in_errors = 0
max_pod_share = "80%"
[cluster]
namespace = "demo"
deployment = "target-service"
service = "target-service"
"#,
        )
        .expect("valid");
        assert_eq!(
            s.cluster,
            ClusterSpec {
                namespace: Some("demo".into()),
                deployment: Some("target-service".into()),
                hpa: None,
                service: Some("target-service".into()),
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
        assert_eq!(s.expect.new_pod_serves_within_s, Some(10.0));
        assert_eq!(s.expect.scale_in_errors, Some(0));
        assert_eq!(s.expect.max_pod_share, Some(0.8));
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
    fn the_live_section_parses_and_a_bad_port_or_address_is_named() {
        let s = parse(
            "[[request]]\nname = \"a\"\npath = \"/\"\n[live]\nenabled = true\nport = 8089\nbind = \"0.0.0.0\"\nlinger = \"30s\"\n",
        )
        .expect("valid");
        assert_eq!(
            s.live,
            LiveSpec {
                enabled: Some(true),
                port: Some(8089),
                bind: Some(std::net::Ipv4Addr::UNSPECIFIED.into()),
                linger: Some(Duration::from_secs(30)),
            }
        );
        let (line, _, field, message) =
            invalid("[[request]]\nname = \"a\"\npath = \"/\"\n[live]\nport = 70000\n");
        assert_eq!((line, field.as_str()), (5, "live.port"));
        assert!(message.contains("not a port"), "{message}");
        let (line, _, field, _) =
            invalid("[[request]]\nname = \"a\"\npath = \"/\"\n[live]\nbind = \"localhost:80\"\n");
        assert_eq!((line, field.as_str()), (5, "live.bind"));
    }

    #[test]
    fn cluster_names_must_be_kubernetes_names() {
        let (line, _, field, message) = invalid(
            "[[request]]\nname = \"a\"\npath = \"/\"\n[cluster]\ndeployment = \"Target_Service\"\n",
        );
        assert_eq!((line, field.as_str()), (5, "cluster.deployment"));
        assert!(message.contains("Kubernetes object name"), "{message}");
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
    fn missing_and_absurd_request_fields_are_named() {
        let (line, _, field, message) = invalid("[[request]]\npath='/'\n");
        assert_eq!((line, field.as_str()), (1, "request[0].name"));
        assert!(message.contains("missing"), "{message}");
        let (_, _, field, _) = invalid("[[request]]\nname='a'\n");
        assert_eq!(field, "request[0].path");
        let (line, _, field, message) =
            invalid("[[request]]\nname='a'\npath='/'\nweight = 4294967295\n");
        assert_eq!((line, field.as_str()), (4, "request[0].weight"));
        assert!(message.contains("outside 1..=1000"), "{message}");
        let (_, _, field, _) = invalid("[[request]]\nname='a'\npath='/'\nweight = -1\n");
        assert_eq!(field, "request[0].weight");
        let (line, _, field, _) =
            invalid("[load]\nrate = '1e15:1s'\n[[request]]\nname='a'\npath='/'\n");
        assert_eq!((line, field.as_str()), (2, "load.rate"));
        let (_, _, field, _) = invalid("[load]\nusers = 0\n[[request]]\nname='a'\npath='/'\n");
        assert_eq!(field, "load.users");
        let (_, _, field, _) =
            invalid("[load]\ntest_plan = 'x'\n[[request]]\nname='a'\npath='/'\n");
        assert_eq!(field, "load.test_plan");
        for bad in ["'-5ms'", "'NaNms'", "'infs'"] {
            let (_, _, field, _) = invalid(&format!(
                "[[request]]\nname='a'\npath='/'\n[expect]\np95 = {bad}\n"
            ));
            assert_eq!(field, "expect.p95", "{bad}");
        }
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
    fn header_values_from_an_unset_variable_and_half_a_client_certificate_are_named() {
        let (line, _, field, message) = invalid(
            "[[request]]\nname='a'\npath='/'\nheaders = { Authorization = 'Bearer ${SCALEPROOF_NEVER_SET_7}' }\n",
        );
        assert_eq!(
            (line, field.as_str()),
            (4, "request[0].headers.Authorization")
        );
        assert_eq!(
            message,
            "environment variable SCALEPROOF_NEVER_SET_7 is not set"
        );
        let (line, _, field, message) =
            invalid("[[request]]\nname='a'\npath='/'\n[tls]\ncert = 'client.pem'\n");
        assert_eq!(
            (line, field.as_str(), message.as_str()),
            (5, "tls.cert", "needs tls.key too")
        );
        let (_, _, field, _) = invalid("[[request]]\nname='a'\npath='/'\n[tls]\nverify = false\n");
        assert_eq!(field, "tls.verify");
    }

    #[test]
    fn tls_paths_are_relative_to_the_scenario_and_literal_secrets_are_marked_sensitive() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("s.toml");
        std::fs::write(
            &path,
            "[[request]]\nname='a'\npath='/'\nheaders = { Cookie = 'sid=abc', X-Env = 'plain' }\n[tls]\ncacert = 'ca.pem'\ninsecure = true\ncert = '/abs/c.pem'\nkey = 'k.pem'\n",
        )
        .expect("write");
        let s = Scenario::load(&path).expect("valid");
        assert_eq!(
            s.tls,
            TlsSpec {
                cacert: Some(dir.path().join("ca.pem")),
                insecure: Some(true),
                cert: Some(PathBuf::from("/abs/c.pem")),
                key: Some(dir.path().join("k.pem")),
            }
        );
        let h = &s.requests[0].headers;
        assert!(h["cookie"].is_sensitive());
        assert!(!h["x-env"].is_sensitive());
    }
}
