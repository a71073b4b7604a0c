//! The scenario file's TOML sections as written, and their checking into the validated
//! spec: each value through the parsers in [`crate::spec::values`] that the flags use, each error
//! naming its field and where it stands.

use super::doc::{Doc, ScenarioError};
use super::rate::RatePlan;
use super::request::RequestSection;
use super::spec::{ClusterSpec, LoadSpec, LocalSpec, TlsSpec};
use crate::spec::autoscaling::{Behavior, Policy, PolicyKind, Rules, SelectPolicy};
use crate::spec::expectations::Expectations;
use crate::spec::values;
use serde::Deserialize;
use std::path::PathBuf;
use toml::Spanned;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct ScenarioFile {
    pub(super) name: Option<Spanned<String>>,
    pub(super) description: Option<String>,
    pub(super) load: Option<LoadSection>,
    #[serde(default)]
    pub(super) request: Vec<Spanned<RequestSection>>,
    pub(super) expect: Option<ExpectSection>,
    pub(super) cluster: Option<ClusterSection>,
    pub(super) tls: Option<TlsSection>,
    pub(super) local: Option<LocalSection>,
    pub(super) live: Option<LiveSection>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct LiveSection {
    pub(super) enabled: Option<bool>,
    pub(super) port: Option<Spanned<i64>>,
    pub(super) bind: Option<Spanned<String>>,
    pub(super) linger: Option<Spanned<String>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct LocalSection {
    pub(super) replicas: Option<Spanned<String>>,
    pub(super) cpu_request: Option<Spanned<String>>,
    pub(super) cpu_limit: Option<Spanned<String>>,
    pub(super) hpa_target: Option<Spanned<String>>,
    pub(super) autoscale: Option<bool>,
    pub(super) work_factor: Option<Spanned<i64>>,
    pub(super) saturate_at: Option<Spanned<String>>,
    pub(super) command: Option<Spanned<String>>,
    #[serde(default)]
    pub(super) env: std::collections::BTreeMap<String, String>,
    pub(super) ready_path: Option<Spanned<String>>,
    pub(super) liveness_path: Option<Spanned<String>>,
    pub(super) sync_period: Option<Spanned<String>>,
    pub(super) startup_delay: Option<Spanned<String>>,
    pub(super) behavior: Option<BehaviorSection>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct BehaviorSection {
    #[serde(rename = "scaleUp")]
    pub(super) scale_up: Option<RulesSection>,
    #[serde(rename = "scaleDown")]
    pub(super) scale_down: Option<RulesSection>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RulesSection {
    #[serde(rename = "stabilizationWindowSeconds")]
    pub(super) stabilization: Option<Spanned<i64>>,
    #[serde(rename = "selectPolicy")]
    pub(super) select: Option<Spanned<String>>,
    pub(super) policies: Option<Vec<Spanned<PolicySection>>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct PolicySection {
    #[serde(rename = "type")]
    pub(super) kind: String,
    pub(super) value: i64,
    #[serde(rename = "periodSeconds")]
    pub(super) period: i64,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct TlsSection {
    pub(super) cacert: Option<Spanned<String>>,
    pub(super) insecure: Option<bool>,
    pub(super) cert: Option<Spanned<String>>,
    pub(super) key: Option<Spanned<String>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct ClusterSection {
    pub(super) namespace: Option<Spanned<String>>,
    pub(super) deployment: Option<Spanned<String>>,
    pub(super) hpa: Option<Spanned<String>>,
    pub(super) service: Option<Spanned<String>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct LoadSection {
    pub(super) users: Option<Spanned<i64>>,
    pub(super) hatch_rate: Option<Spanned<f64>>,
    pub(super) run_time: Option<Spanned<String>>,
    pub(super) test_plan: Option<Spanned<String>>,
    pub(super) rate: Option<Spanned<String>>,
    pub(super) max_users: Option<Spanned<i64>>,
    pub(super) max_lag: Option<Spanned<String>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct ExpectSection {
    pub(super) rps: Option<Spanned<f64>>,
    pub(super) replicas: Option<Spanned<i64>>,
    p95: Option<Spanned<String>>,
    p99: Option<Spanned<String>>,
    pub(super) error_rate: Option<Spanned<String>>,
    pub(super) scale_within: Option<Spanned<String>>,
    pub(super) new_pod_serves_within: Option<Spanned<String>>,
    pub(super) scale_in_errors: Option<Spanned<i64>>,
    pub(super) max_pod_share: Option<Spanned<String>>,
}

pub(super) fn local_section(doc: &Doc<'_>, s: &LocalSection) -> Result<LocalSpec, ScenarioError> {
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
        saturate_at: checked(doc, &s.saturate_at, "local.saturate_at", |v| {
            values::utilization(v)
                .ok()
                .filter(|pct| *pct <= 100.0)
                .map(|pct| pct / 100.0)
                .ok_or_else(|| format!("{v:?} is not a share of the peak from 1% to 100%"))
        })?,
        command: checked(doc, &s.command, "local.command", |c| {
            super::spec::check_port_template(c).map(|()| c.clone())
        })?,
        dir: None,
        env: s.env.iter().map(|(k, v)| (k.clone(), v.clone())).collect(),
        ready_path: checked(doc, &s.ready_path, "local.ready_path", |p| probe_path(p))?,
        liveness_path: checked(doc, &s.liveness_path, "local.liveness_path", |p| {
            probe_path(p)
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
    if let (Some(share), Some(_)) = (&s.saturate_at, &s.work_factor) {
        return Err(doc.error(
            share.span(),
            "local.saturate_at",
            "calibrates the work factor, so it cannot stand beside local.work_factor: give one",
        ));
    }
    if let (Some(req), Some(limit)) = (&s.cpu_request, spec.cpu_limit_m)
        && spec.cpu_request_m.is_some_and(|r| r > limit)
    {
        return Err(doc.error(req.span(), "local.cpu_request", "is above local.cpu_limit"));
    }
    Ok(spec)
}

/// One direction of `behavior`, checked as the API server checks it.
pub(super) fn rules(
    doc: &Doc<'_>,
    s: &RulesSection,
    at: &str,
    into: &mut Rules,
) -> Result<(), ScenarioError> {
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

pub(super) fn tls_section(doc: &Doc<'_>, s: &TlsSection) -> Result<TlsSpec, ScenarioError> {
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

pub(super) fn cluster_section(
    doc: &Doc<'_>,
    s: &ClusterSection,
) -> Result<ClusterSpec, ScenarioError> {
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
pub(super) fn checked<T, U>(
    doc: &Doc<'_>,
    v: &Option<Spanned<T>>,
    field: &str,
    parse: impl Fn(&T) -> Result<U, String>,
) -> Result<Option<U>, ScenarioError> {
    v.as_ref()
        .map(|v| parse(v.get_ref()).map_err(|e| doc.error(v.span(), field, e)))
        .transpose()
}

pub(super) fn count(n: &i64) -> Result<usize, String> {
    usize::try_from(*n).map_err(|_| format!("{n} is not a count"))
}

pub(super) fn load_section(doc: &Doc<'_>, s: &LoadSection) -> Result<LoadSpec, ScenarioError> {
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
            super::plan::test_plan(v)
        })?,
        rate: checked(doc, &s.rate, "load.rate", |v| {
            RatePlan::parse(v).map_err(|e| e.to_string())
        })?,
        max_users: checked(doc, &s.max_users, "load.max_users", users)?,
        max_lag: checked(doc, &s.max_lag, "load.max_lag", |v| values::duration(v))?,
    })
}

pub(super) fn expect_section(
    doc: &Doc<'_>,
    s: &ExpectSection,
) -> Result<Expectations, ScenarioError> {
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

/// A probe's path: it must start with `/`.
fn probe_path(p: &str) -> Result<String, String> {
    if p.starts_with('/') {
        Ok(p.to_owned())
    } else {
        Err(format!("{p:?} must start with '/'"))
    }
}
