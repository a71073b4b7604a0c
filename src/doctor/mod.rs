//! `scaleproof doctor`: what would spoil the evidence, checked before spending load on a run.
//! The cluster checks (`crate::cluster::doctor`), then the target: it answers, more than one
//! endpoint answers fresh connections when several replicas are ready (a port-forward or a
//! single-pod address shows one), the HPA can reach the expected replicas, and this machine
//! can generate the planned peak (a 3-second loopback calibration). Read-only; loopback
//! calibration only.

mod host;

use crate::cluster::doctor::ClusterCheck;
use crate::config::{ClusterOptions, TlsConfig};
use crate::spec::values::number;
use crate::support::checks::{Finding, Status, worst};
use reqwest::Url;
use reqwest::header::{HeaderMap, HeaderName};

/// What to check.
#[derive(Debug, Clone)]
pub struct DoctorConfig {
    /// The workload (`--deployment`); `None` skips the cluster checks (said so).
    pub cluster: Option<ClusterOptions>,
    /// The target (`--host`); `None` skips the target checks (said so).
    pub host: Option<Url>,
    pub tls: TlsConfig,
    pub headers: HeaderMap,
    pub endpoint_header: HeaderName,
    /// The plan's peak requests/s, when the scenario or `--rate` names one.
    pub planned_peak_rps: Option<f64>,
    /// `--expect-replicas` / the scenario's `replicas`.
    pub expect_replicas: Option<u32>,
    /// What one replica serves at the HPA's target (`--pod-capacity`), requests/s.
    pub pod_capacity_rps: Option<f64>,
    /// Run the 3-second generator calibration.
    pub calibrate: bool,
}

/// Every finding, in order.
#[derive(Debug, Clone, serde::Serialize)]
pub struct DoctorReport {
    /// `ok`, `warn` or `fail`: the worst finding.
    pub status: Status,
    pub findings: Vec<Finding>,
}

impl DoctorReport {
    /// The findings as the terminal shows them, then a summary line.
    pub fn text(&self) -> String {
        let mut out: Vec<String> = self.findings.iter().map(Finding::line).collect();
        let count = |s: Status| self.findings.iter().filter(|f| f.status == s).count();
        out.push(format!(
            "doctor: {} ok, {} warn, {} fail",
            count(Status::Ok),
            count(Status::Warn),
            count(Status::Fail)
        ));
        out.join("\n")
    }
}

/// Runs every check (on a runtime of its own).
pub fn run(config: &DoctorConfig) -> std::io::Result<DoctorReport> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    Ok(runtime.block_on(run_async(config)))
}

async fn run_async(config: &DoctorConfig) -> DoctorReport {
    let mut findings = Vec::new();
    let cluster = match &config.cluster {
        Some(options) => crate::cluster::doctor::check(options, None).await,
        None => {
            findings.push(Finding::warn(
                "cluster",
                "no --deployment: the cluster is not checked",
                "pass --deployment NAME (and --namespace, --context) to check the workload",
            ));
            ClusterCheck::default()
        }
    };
    findings.extend(cluster.findings.iter().cloned());
    if let (Some(peak), Some(per_pod), Some(max)) = (
        config.planned_peak_rps,
        config.pod_capacity_rps,
        cluster.hpa_max_replicas,
    ) {
        let most = per_pod * max as f64;
        findings.push(if most < peak {
            Finding::fail(
                "capacity",
                format!(
                    "at most {max} replicas × {} rps = {} rps, below the planned peak of {}",
                    number(per_pod, 0),
                    number(most, 0),
                    number(peak, 0)
                ),
                "raise maxReplicas (and the nodes to fit them) or lower the planned rate",
            )
        } else {
            Finding::ok(
                "capacity",
                format!(
                    "{max} replicas × {} rps = {} rps ≥ the planned peak of {}",
                    number(per_pod, 0),
                    number(most, 0),
                    number(peak, 0)
                ),
            )
        });
    }
    if let Some(want) = config.expect_replicas
        && let Some(max) = cluster.hpa_max_replicas
    {
        findings.push(if u64::from(want) > max {
            Finding::fail(
                "capacity",
                format!("the HPA's maxReplicas is {max}: it can never reach the {want} replicas the run expects"),
                "raise maxReplicas (target-service/k8s/base/hpa.yaml) or lower the expectation",
            )
        } else {
            Finding::ok(
                "capacity",
                match config.planned_peak_rps {
                    Some(peak) => format!(
                        "maxReplicas {max} ≥ {want} expected; the planned peak {peak:.0} rps is {:.0} rps per replica at {max}",
                        peak / max as f64
                    ),
                    None => format!("maxReplicas {max} ≥ {want} expected"),
                },
            )
        });
    }
    match &config.host {
        Some(url) => host::check(config, url, cluster.ready_replicas, &mut findings).await,
        None => findings.push(Finding::warn(
            "host",
            "no --host: the target is not checked",
            "pass --host URL (the address the run will load)",
        )),
    }
    if config.calibrate {
        findings.push(host::calibrate(config.planned_peak_rps).await);
    }
    DoctorReport {
        status: worst(&findings),
        findings,
    }
}
