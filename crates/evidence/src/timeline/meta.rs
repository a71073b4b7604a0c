//! `run.json`: what was run, where, when, how it ended, the whole-run totals, and the
//! cluster context.

use super::ClusterSample;
use super::latency::LatencyKind;
use super::pods::PodRow;
use super::row::{ErrorColumns, ErrorKind, error_columns};
use crate::spec::expectations::Expectations;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// The `format` value of `run.json`; bumped on incompatible changes.
pub const RUN_FORMAT: &str = "scaleproof-run/2";

/// One container of the watched Deployment's pod template.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ContainerRecord {
    pub name: String,
    pub image: String,
    /// e.g. `{"cpu": "250m", "memory": "128Mi"}`.
    pub requests: std::collections::BTreeMap<String, String>,
    pub limits: std::collections::BTreeMap<String, String>,
}

/// Where the replica columns came from.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum WorkloadSource {
    /// A Deployment watched on a Kubernetes cluster.
    #[default]
    Cluster,
    /// Local replicas: processes on the machine that ran the load, scaled by scaleproof's own
    /// implementation of the HPA algorithm. Simulated, not a cluster.
    Local,
}

impl WorkloadSource {
    /// `cluster` or `local`.
    pub fn name(self) -> &'static str {
        match self {
            Self::Cluster => "cluster",
            Self::Local => "local",
        }
    }

    /// What the replicas were, in words, for every title line (live page, reports): `None`
    /// when no cluster was watched; the namespace when known.
    pub fn describe(source: Option<Self>, deployment: &str, namespace: Option<&str>) -> String {
        match (source, namespace.filter(|n| !n.is_empty())) {
            (Some(Self::Local), _) => "LOCAL replicas, simulated on this machine".to_owned(),
            (Some(Self::Cluster), Some(ns)) => format!("Deployment {deployment} in {ns}"),
            (Some(Self::Cluster), None) => format!("Deployment {deployment}"),
            (None, _) => "no cluster watched: replicas counted from serving endpoints".to_owned(),
        }
    }
}

/// The cluster side of a run, in `run.json` (`null` when no cluster was watched).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ClusterRecord {
    /// `cluster` (a watched Deployment) or `local` (local replicas, simulated on one machine).
    #[serde(default)]
    pub source: WorkloadSource,
    /// kubeconfig context used (`in-cluster` inside a pod), if known.
    pub kube_context: Option<String>,
    /// API server URL.
    pub server: Option<String>,
    pub namespace: String,
    pub deployment: String,
    /// The HPA watched: as given, or found by its `scaleTargetRef`; null if none.
    pub hpa: Option<String>,
    /// Services whose EndpointSlices listed the Deployment's pods (`in_service_s` in
    /// `pods.csv`); empty when none did or they could not be watched.
    #[serde(default)]
    pub services: Vec<String>,
    /// The Deployment's pod selector, as a label selector string.
    pub selector: Option<String>,
    pub containers: Vec<ContainerRecord>,
    pub hpa_min_replicas: Option<u64>,
    pub hpa_max_replicas: Option<u64>,
    /// The HPA's `spec.metrics` and `spec.behavior`, as Kubernetes serializes them.
    pub hpa_metric_targets: serde_json::Value,
    pub hpa_behavior: serde_json::Value,
    /// The watched state when the load started.
    pub at_start: ClusterSample,
    /// Problems the watcher met (unreachable, forbidden, not found), in order, once each.
    pub warnings: Vec<String>,
    /// Local replicas only: how the work per request was calibrated to this machine before
    /// the load; null when it was fixed (a scenario's `work_factor`) or for a cluster.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub calibration: Option<Calibration>,
    /// Local replicas only: how their CPU limit was held — `enforced by the kernel: cgroup …`
    /// or `not enforced by the kernel: WHY; …`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cpu_limit: Option<String>,
}

/// The bundled replica's work per request, calibrated before the load so that one replica
/// at its CPU limit saturates at the same share of the plan's peak on any machine.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Calibration {
    /// The share of the peak one replica is to serve at its CPU limit, percent.
    pub saturate_at_pct: f64,
    /// The rate plan's peak, requests/s.
    pub peak_rps: f64,
    /// CPU per request that gives it: the limit's CPU-seconds ÷ (share × peak), ms.
    pub target_cpu_ms_per_request: f64,
    /// Each probe of one replica, in order.
    pub probes: Vec<CalibrationProbe>,
    /// The work factor chosen (extra forest evaluations per request).
    pub work_factor: u32,
    /// CPU per request measured at that work factor, ms.
    pub cpu_ms_per_request: f64,
    /// What one replica serves at its CPU limit from that measurement, requests/s.
    pub replica_rps: f64,
    /// Seconds the calibration took, before the load's second 0.
    pub took_s: f64,
    /// Why the target could not be met, when it could not (null: met within 10%).
    pub shortfall: Option<String>,
}

/// One probe: a replica process at one work factor, CPU measured over its requests.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct CalibrationProbe {
    pub work_factor: u32,
    /// Requests measured (after a warm-up that is not).
    pub requests: u32,
    /// The replica process's CPU (all its threads) over them, per request, ms.
    pub cpu_ms_per_request: f64,
}

/// Whole-run counts and latency, with the same definitions as the timeline's columns.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Totals {
    pub requests: u64,
    pub ok: u64,
    pub errors: u64,
    pub err_connect: u64,
    pub err_timeout: u64,
    pub err_4xx: u64,
    pub err_5xx: u64,
    pub err_backpressure: u64,
    pub err_other: u64,
    pub dropped: u64,
    /// Requests abandoned in flight when the run stopped (not counted as requests).
    pub cancelled: u64,
    /// Distinct endpoints over the whole run; null when no response carried the header.
    pub endpoints: Option<u64>,
    pub p50_raw_us: Option<u64>,
    pub p95_raw_us: Option<u64>,
    pub p99_raw_us: Option<u64>,
    pub max_raw_us: Option<u64>,
    pub p50_corrected_us: Option<u64>,
    pub p95_corrected_us: Option<u64>,
    pub p99_corrected_us: Option<u64>,
    pub max_corrected_us: Option<u64>,
    pub p95_all_raw_us: Option<u64>,
    pub p99_all_raw_us: Option<u64>,
    /// The instrument's own send lateness over the whole run (open model; see
    /// `timeline.csv`'s `send_late_*_us`), µs.
    #[serde(default)]
    pub send_late_p50_us: Option<u64>,
    #[serde(default)]
    pub send_late_p99_us: Option<u64>,
    #[serde(default)]
    pub send_late_max_us: Option<u64>,
}

/// How the load was shaped, as run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "model", rename_all = "snake_case")]
pub enum LoadRecord {
    /// Goose users looping as fast as responses allow.
    Closed {
        users: usize,
        hatch_rate: f64,
        run_time_s: Option<f64>,
        test_plan: Option<String>,
    },
    /// Target-rate stages driven by the pacer.
    Open {
        stages: Vec<StageRecord>,
        max_users: usize,
        max_lag_s: f64,
    },
}

/// One open-model stage: ramp linearly to `target_rps` over `over_s`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct StageRecord {
    pub target_rps: f64,
    pub over_s: f64,
}

/// One kind of request the run sent.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RequestRecord {
    pub name: String,
    pub method: String,
    pub path: String,
    pub weight: u32,
    /// `none`, `json`, or `corpus:<file> (<n> bodies)`.
    pub body: String,
    /// Headers sent (`--header` and the scenario's), secret values as `***`.
    #[serde(default)]
    pub headers: std::collections::BTreeMap<String, String>,
}

/// How an `https://` target was trusted (`run.json`'s `tls`; null for `http://`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct TlsRecord {
    /// The server's certificate was not verified (`--insecure`): the run proves nothing about
    /// who answered.
    pub insecure: bool,
    /// The CA bundle trusted besides the system's roots.
    pub cacert: Option<String>,
    /// The client certificate presented (mutual TLS).
    pub client_cert: Option<String>,
}

/// What one local replica did (`run.json`'s `local_replicas`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ReplicaLife {
    pub name: String,
    /// Seconds on the run's clock (negative: before the load started).
    pub started_s: f64,
    pub ready_s: Option<f64>,
    pub stopping_s: Option<f64>,
    pub exited_s: Option<f64>,
    /// `drained`, `killed (signal 9)`, `exit status …`, or empty while running.
    pub exit: String,
    /// `/predict` requests the replica itself counted (printed when it exits).
    pub served_predict: Option<u64>,
    /// Highest CPU it used over one autoscaler sync period, millicores (null: never measured;
    /// compare with the CPU limit in `cluster.containers`).
    #[serde(default)]
    pub cpu_max_m: Option<f64>,
    /// Its mean CPU while the load ran, millicores, from its CPU counter read every 500 ms
    /// while ready (null: not ready for a whole sample period during the load).
    #[serde(default)]
    pub cpu_load_m: Option<f64>,
    /// Times it was restarted in place after its process exited or failed its liveness probe
    /// (a pod's restartCount), with back-off between restarts.
    #[serde(default)]
    pub restarts: u32,
    /// How its process ended before its last restart (a container's `lastState`), null
    /// before any.
    #[serde(default)]
    pub last_exit: Option<String>,
}

impl ReplicaLife {
    /// Its lifecycle columns of `pods.csv`: started is created, and a local replica is in the
    /// balancer (in service) from the moment it is ready until it is stopped.
    pub fn pod_row(&self) -> PodRow {
        PodRow {
            created_s: Some(self.started_s),
            ready_s: self.ready_s,
            in_service_s: self.ready_s,
            terminating_s: self.stopping_s,
            gone_s: self.exited_s,
            restarts: Some(u64::from(self.restarts)),
            ..PodRow::named(self.name.clone())
        }
    }
}

/// Contents of `run.json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunMeta {
    pub format: String,
    pub scaleproof_version: String,
    pub scenario: String,
    pub scenario_file: Option<String>,
    pub description: Option<String>,
    /// Base URL the load was sent to.
    pub target: String,
    /// True when scaleproof started the bundled target-service itself.
    pub embedded_target: bool,
    pub load: LoadRecord,
    pub requests: Vec<RequestRecord>,
    pub endpoint_header: String,
    /// TLS settings of an `https://` target; null for `http://`.
    #[serde(default)]
    pub tls: Option<TlsRecord>,
    pub request_timeout_s: f64,
    /// Connections are reopened this often (null: never).
    pub recycle_connections_s: Option<f64>,
    /// Expectations as given (evaluated by the verdict).
    pub expectations: Expectations,
    pub started_at: DateTime<Utc>,
    pub ended_at: DateTime<Utc>,
    pub duration_s: f64,
    /// `completed`, `interrupted (SIGINT)`, `interrupted (SIGTERM)`, or `failed: …`.
    pub end_reason: String,
    pub totals: Totals,
    /// Machine that generated the load.
    pub generator: GeneratorRecord,
    /// The watched Deployment and HPA; null when no cluster was watched. With local replicas:
    /// their spec, with `source` `local`.
    #[serde(default)]
    pub cluster: Option<ClusterRecord>,
    /// Each local replica's life and its own request count; null without local replicas.
    #[serde(default)]
    pub local_replicas: Option<Vec<ReplicaLife>>,
    /// What the run's pods and traffic say a person must know (an idle pod, one endpoint
    /// taking nearly everything), also printed at the end of the run.
    #[serde(default)]
    pub warnings: Vec<String>,
    /// What `scaleproof doctor`'s cluster checks found wrong when the run started (watched
    /// runs only), one line each: `FAIL metrics-api: … (fix: …)`.
    #[serde(default)]
    pub preflight: Vec<String>,
    /// This run drove one share of a shared run (`--worker I/N`); null for a whole run.
    #[serde(default)]
    pub worker: Option<WorkerRecord>,
    /// The workers this run was merged from (`scaleproof merge`); empty otherwise.
    #[serde(default)]
    pub workers: Vec<MergedWorker>,
    /// The Kubernetes Job that ran the workers (`scaleproof run --workers N`); null otherwise.
    #[serde(default)]
    pub shared: Option<SharedRecord>,
}

/// How a shared run's workers were run: the Indexed Job and the result store.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SharedRecord {
    pub run_id: String,
    pub job: String,
    pub namespace: String,
    pub image: String,
    /// The result store's URL; the workers' files are under `runs/<run_id>/` in it.
    pub store: String,
    /// When the controller published the start time, and the time it published.
    pub published_at: DateTime<Utc>,
    pub start_at: DateTime<Utc>,
    /// Seconds from creating the Job to every worker being ready.
    pub ready_after_s: f64,
}

/// A worker's own run: which share it drove and when it started.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WorkerRecord {
    pub index: u32,
    pub count: u32,
    /// The agreed start time (`--start-at`), if any.
    pub start_at: Option<DateTime<Utc>>,
    /// How far after `start_at` this worker's second 0 began (its clock's view), ms.
    pub start_late_ms: Option<f64>,
}

/// One line per worker of a merged run that has a problem: `worker 1: missing: …`.
pub fn worker_problems(workers: &[MergedWorker]) -> Vec<String> {
    workers
        .iter()
        .filter_map(|w| {
            w.problem
                .as_ref()
                .map(|p| format!("worker {}: {p}", w.index))
        })
        .collect()
}

/// One worker of a merged run, as the merge found it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MergedWorker {
    pub index: u32,
    /// The worker's run directory (null: missing).
    pub dir: Option<String>,
    pub started_at: Option<DateTime<Utc>>,
    pub end_reason: Option<String>,
    pub requests: Option<u64>,
    /// Its second 0 against the earliest worker's, ms.
    pub start_offset_ms: Option<f64>,
    /// Why this worker's share cannot be trusted (missing, failed, clock apart), if so.
    pub problem: Option<String>,
}

/// The load generator's machine.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GeneratorRecord {
    pub hostname: String,
    pub cpus: usize,
    pub os: String,
}

impl GeneratorRecord {
    /// Describes this machine, known to the caller as `hostname`.
    pub fn here(hostname: String) -> Self {
        Self {
            hostname,
            cpus: std::thread::available_parallelism().map_or(1, usize::from),
            os: format!("{} {}", std::env::consts::OS, std::env::consts::ARCH),
        }
    }
}

error_columns!(Totals);

impl Totals {
    /// Whole-run p95 of successful requests, µs, of `kind` (the verdict's and the headline's).
    pub fn p95_us(&self, kind: LatencyKind) -> Option<u64> {
        match kind {
            LatencyKind::Corrected => self.p95_corrected_us,
            LatencyKind::Raw => self.p95_raw_us,
        }
    }

    /// Whole-run p99 of successful requests, µs, of `kind`.
    pub fn p99_us(&self, kind: LatencyKind) -> Option<u64> {
        match kind {
            LatencyKind::Corrected => self.p99_corrected_us,
            LatencyKind::Raw => self.p99_raw_us,
        }
    }

    /// Failed requests and dropped slots over completed requests and dropped slots: the one
    /// error rate of a run (`None` when nothing was sent or dropped).
    pub fn error_rate(&self) -> Option<f64> {
        let all = self.requests + self.dropped;
        (all > 0).then(|| (self.errors + self.dropped) as f64 / all as f64)
    }

    /// Dropped slots over slots sent or dropped.
    pub fn dropped_share(&self) -> Option<f64> {
        let all = self.requests + self.dropped;
        (all > 0).then(|| self.dropped as f64 / all as f64)
    }
}
