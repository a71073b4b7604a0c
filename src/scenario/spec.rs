//! A validated scenario: what it says about the load, the requests, the expectations, the
//! cluster, TLS, local replicas and the live page. Command-line flags override each field.

use super::plan::TestPlan;
use super::rate::RatePlan;
use super::request::RequestSpec;
use crate::spec::autoscaling::Behavior;
use crate::spec::expectations::Expectations;
use std::path::PathBuf;
use std::time::Duration;

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
    /// One replica at its CPU limit serves this share of the rate plan's peak (0–1]: the
    /// work per request is calibrated to it on this machine before the load.
    pub saturate_at: Option<f64>,
    /// The user's own service as the replicas (`sh -c`, `{port}` replaced), run in `dir`.
    pub command: Option<String>,
    /// The scenario file's folder, where `command` runs.
    pub dir: Option<std::path::PathBuf>,
    /// Added to the command's environment.
    pub env: Vec<(String, String)>,
    /// Its readiness probe's path.
    pub ready_path: Option<String>,
    /// Its liveness probe's path.
    pub liveness_path: Option<String>,
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

/// Checks a replica command's `{port}` template: every `{word}` not written `${word}` must be `{port}`
/// (shell brace expansions like `{a,b}` are left alone).
pub fn check_port_template(command: &str) -> Result<(), String> {
    let bytes = command.as_bytes();
    let mut i = 0;
    while let Some(open) = command[i..].find('{').map(|k| k + i) {
        let close = command[open..].find('}').map(|k| k + open);
        let dollar = open > 0 && bytes[open - 1] == b'$';
        if let Some(close) = close {
            let word = &command[open + 1..close];
            let is_word =
                !word.is_empty() && word.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_');
            if !dollar && is_word && word != "port" {
                return Err(format!(
                    "unknown placeholder {{{word}}} in {command:?}: only {{port}} is replaced (the replica's port; PORT in its environment too)"
                ));
            }
            i = close + 1;
        } else {
            if command[open..].starts_with("{port") {
                return Err(format!("unclosed {{port in {command:?}: write {{port}}"));
            }
            break;
        }
    }
    if command.trim().is_empty() {
        return Err("the replica command is empty".to_owned());
    }
    Ok(())
}
