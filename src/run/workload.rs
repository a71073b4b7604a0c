//! What stands behind the target during a run: a watched Deployment, local replicas, or
//! nothing known; how each starts (with the doctor's cluster checks) and how its history ends
//! on the run's clock.

use super::RunError;
use super::progress;
use crate::cluster::{ClusterRecording, ClusterWatch};
use crate::config::{ClusterOptions, LocalOptions, RunConfig};
use crate::local::LocalCluster;
use crate::local::cgroup::Limiter;
use crate::support::checks::{Finding, Status};
use crate::timeline::{self, ReplicaLife, WorkloadSource};
use std::time::{Duration, Instant};

/// The replicas behind the target: a watched Deployment, local replicas, or nothing known.
#[derive(Debug)]
pub(super) enum Workload {
    None,
    Watched(ClusterWatch),
    Local(Box<LocalCluster>),
}

impl Workload {
    /// Reads the latest state, for the progress line.
    pub(super) fn monitor(&self) -> Option<Box<dyn Fn() -> String + Send + Sync>> {
        match self {
            Workload::None => None,
            Workload::Watched(w) => {
                let m = w.monitor();
                Some(Box::new(move || progress::cluster(&m.latest())))
            }
            Workload::Local(l) => {
                let m = l.monitor();
                Some(Box::new(move || {
                    progress::replicas(&m.latest(), WorkloadSource::Local)
                }))
            }
        }
    }

    /// Reads the latest state as cluster columns, for the live page.
    pub(super) fn sampler(&self) -> Option<Box<dyn Fn() -> timeline::ClusterSample + Send + Sync>> {
        match self {
            Workload::None => None,
            Workload::Watched(w) => {
                let m = w.monitor();
                Some(Box::new(move || m.latest()))
            }
            Workload::Local(l) => {
                let m = l.monitor();
                Some(Box::new(move || m.latest()))
            }
        }
    }

    /// What the replicas are, in words, for the live page's title strip.
    pub(super) fn describe(&self, config: &RunConfig) -> String {
        let cluster = config.cluster.as_ref();
        let source = match (self, cluster) {
            (Workload::Local(_), _) => Some(WorkloadSource::Local),
            (Workload::Watched(_), Some(_)) => Some(WorkloadSource::Cluster),
            _ => None,
        };
        WorkloadSource::describe(
            source,
            cluster.map_or("", |c| c.deployment.as_str()),
            cluster.and_then(|c| c.namespace.as_deref()),
        )
    }

    /// The folder local replica commands write their logs to.
    pub(super) fn logs(&self) -> Option<std::sync::Arc<tempfile::TempDir>> {
        match self {
            Workload::Local(l) => Some(l.logs()),
            _ => None,
        }
    }

    /// Stops watching (or drains the local replicas) and places the history on the run clock.
    pub(super) fn finish(
        self,
        t0: Instant,
        end: Instant,
    ) -> (Option<ClusterRecording>, Option<Vec<ReplicaLife>>) {
        match self {
            Workload::None => (None, None),
            Workload::Watched(w) => (Some(w.finish(t0, end)), None),
            Workload::Local(l) => {
                let (recording, lives) = l.finish(t0, end);
                (Some(recording), Some(lives))
            }
        }
    }
}

/// Starts the local replicas and says what they are.
/// Calibrates the bundled replica's work per request first when the scenario asks for it.
pub(super) fn start_local(
    mut options: LocalOptions,
    config: &RunConfig,
) -> Result<LocalCluster, RunError> {
    let quiet = config.quiet;
    let limiter = Limiter::detect();
    let calibration = match options.saturate_at {
        Some(goal) => Some(super::calibration::calibrate(
            &mut options,
            goal,
            limiter.enforces(),
            config,
        )?),
        None => None,
    };
    let local = LocalCluster::start(options.clone(), calibration, limiter, quiet)?;
    if !quiet {
        let o = &options;
        let scaling = if o.autoscale {
            format!(
                "{}..{} replicas, autoscaled to {:.0}% CPU (HPA algorithm, sync every {})",
                o.hpa.min_replicas,
                o.hpa.max_replicas,
                o.hpa.target_utilization_pct,
                humantime::format_duration(o.sync_period)
            )
        } else {
            let n = o.hpa.min_replicas;
            format!("{n} replica{}, fixed", if n == 1 { "" } else { "s" })
        };
        eprintln!(
            "scaleproof: LOCAL replicas, simulated on this machine (not a cluster): {scaling}; CPU request {}m, limit {}m each; balancer {}",
            o.cpu_request_m,
            o.cpu_limit_m,
            local.base()
        );
        eprintln!("scaleproof: LOCAL CPU limit {}", local.cpu_limit());
    }
    Ok(local)
}

/// How long the load waits for the cluster watch's first LIST (or first error) at most.
const CLUSTER_SETTLE: Duration = Duration::from_secs(5);

/// How long the doctor's cluster checks may hold up the start of a watched run.
const PREFLIGHT_WAIT: Duration = Duration::from_secs(5);

/// The doctor's cluster checks (`scaleproof doctor` without the target checks), run while the
/// watch starts: every finding that is not ok, as one line each (printed, and kept in
/// `run.json` → `preflight`).
fn preflight(options: &ClusterOptions) -> Vec<String> {
    let Ok(runtime) = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    else {
        return Vec::new();
    };
    // The timer is made inside the runtime.
    let checked = runtime.block_on(async {
        tokio::time::timeout(PREFLIGHT_WAIT, crate::cluster::doctor::check(options, None)).await
    });
    let lines: Vec<String> = match checked {
        Ok(check) => check
            .findings
            .iter()
            .filter(|f| f.status != Status::Ok)
            .map(Finding::summary)
            .collect(),
        Err(_) => vec![format!(
            "warn doctor: the cluster checks did not finish within {} s",
            PREFLIGHT_WAIT.as_secs()
        )],
    };
    for line in &lines {
        eprintln!("scaleproof: doctor: {line}");
    }
    lines
}

/// Starts the cluster watch, if any, runs the doctor's cluster checks meanwhile, and waits
/// (briefly) for the watch's first answers so that the state at the start of the load is
/// known.
pub(crate) fn start_cluster(config: &RunConfig) -> (Option<ClusterWatch>, Vec<String>) {
    let Some(options) = &config.cluster else {
        if !config.quiet {
            eprintln!(
                "scaleproof: no cluster watched (no --deployment): replicas are counted as distinct {} values",
                config.endpoint_header
            );
        }
        return (None, Vec::new());
    };
    let watch = ClusterWatch::start(options.clone());
    let checks = preflight(options);
    let settled = watch.wait_settled(CLUSTER_SETTLE);
    if !config.quiet {
        let record = watch.record();
        let latest = watch.monitor().latest();
        let state = if latest.is_unknown() {
            " | replicas unknown (see the warning above)".to_owned()
        } else {
            progress::cluster(&latest)
        };
        eprintln!(
            "scaleproof: watching Deployment {}{}{}{}{}",
            options.deployment,
            if record.namespace.is_empty() {
                String::new()
            } else {
                format!(" in namespace {}", record.namespace)
            },
            record
                .kube_context
                .map(|c| format!(" (context {c})"))
                .unwrap_or_default(),
            if settled {
                state
            } else {
                " | no answer yet; the load starts anyway".to_owned()
            },
            record
                .hpa
                .map(|h| format!(" | HPA {h}"))
                .unwrap_or_default(),
        );
    }
    (Some(watch), checks)
}

/// Copies the replica commands' logs into the run directory's `replicas/` (none for the
/// bundled target-service, which writes no log).
pub(super) fn copy_logs(logs: &std::path::Path, dir: &std::path::Path) -> std::io::Result<()> {
    let mut files: Vec<_> = std::fs::read_dir(logs)?
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|e| e == "log"))
        .collect();
    if files.is_empty() {
        return Ok(());
    }
    files.sort();
    let to = dir.join("replicas");
    std::fs::create_dir_all(&to)?;
    for f in files {
        if let Some(name) = f.file_name() {
            std::fs::copy(&f, to.join(name))?;
        }
    }
    Ok(())
}
