//! The run directory model: the contract between measuring and reporting.
//!
//! A run directory holds everything a run measured: `run.json` (what was run, where, when and
//! how it ended), `timeline.csv` (one row per second), `endpoints.csv` (one row per second and
//! serving endpoint), `cluster.csv` and `events.csv` (what the cluster watcher saw, when a
//! Deployment was watched) and `histograms/` (HdrHistogram interval logs, V2 encoding, so that
//! runs merge exactly). Every file is written atomically: a temporary file renamed into place.

mod query;

pub use query::{
    DROPPED_SHARE_LIMIT, GEN_CPU_SATURATED_PCT, GEN_LAG_SATURATED_US, GEN_SATURATED_SHARE,
    GeneratorHealth, LatencyKind, Timeline,
};

use crate::expectations::Expectations;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use std::io::Write;
use std::path::{Path, PathBuf};

/// The `format` value of `run.json`; bumped on incompatible changes.
pub const RUN_FORMAT: &str = "scaleproof-run/2";
/// File names inside a run directory.
pub const RUN_JSON: &str = "run.json";
pub const TIMELINE_CSV: &str = "timeline.csv";
pub const ENDPOINTS_CSV: &str = "endpoints.csv";
pub const EVENTS_CSV: &str = "events.csv";
pub const CLUSTER_CSV: &str = "cluster.csv";
pub const HISTOGRAM_DIR: &str = "histograms";
/// Per-second latency histograms, tagged `raw`, `corrected` and `all_raw`.
pub const PER_SECOND_HLOG: &str = "per-second.hlog";
/// Whole-run histograms: `raw`, `corrected`, `all_raw`, and `endpoint=<name>` (raw) per endpoint.
pub const TOTAL_HLOG: &str = "total.hlog";

/// Why the run directory could not be written or read.
#[derive(Debug, thiserror::Error)]
pub enum RunDirError {
    #[error("cannot create run directory {path}")]
    Create {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("cannot write {path}")]
    Write {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("cannot read {path}")]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error(
        "{path} has format {found:?}; this scaleproof reads {RUN_FORMAT:?} (re-run to get a readable run directory)"
    )]
    Format { path: PathBuf, found: String },
    #[error("{path} is not a valid run file")]
    Parse {
        path: PathBuf,
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
}

/// One second of the run. Columns of `timeline.csv`, in this order; names are stable.
///
/// Requests are counted in the second they completed; latencies are in microseconds.
/// Empty cells mean "no data" (no request completed, no target rate in a closed-model run, no
/// due time to correct from in a closed-model run, no endpoint header seen).
///
/// Latency comes in three kinds, each named so: `*_raw_us` is successful requests, from the
/// actual send to the end of the body; `*_corrected_us` is successful requests from their
/// slot's due time plus every dropped slot at its lag when dropped (open model only: the
/// closed model has no due time); `*_all_raw_us` is every completed request, failures
/// included, raw.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct TimelineRow {
    /// Seconds since the load started; the row covers `[t_s, t_s + 1)`.
    pub t_s: u64,
    /// Wall-clock start of the second, RFC 3339 UTC.
    pub time: String,
    /// Fraction of the second the run covered (1 except possibly the last row).
    pub span_s: f64,
    /// Virtual users at the end of the second (open model: users admitted by the pacer).
    pub users: u64,
    /// Requests per second the plan asked for (open model only).
    pub target_rps: Option<f64>,
    /// Successful requests (`ok`) divided by `span_s`: the throughput the verdict counts.
    pub ok_rps: f64,
    /// Completed requests, successful or not, divided by `span_s`.
    pub completed_rps: f64,
    /// Requests that completed (successfully or not) in this second.
    pub requests: u64,
    /// Requests answered with an expected status.
    pub ok: u64,
    /// All failed requests: the sum of the `err_*` columns.
    pub errors: u64,
    /// Connection could not be made (refused, reset before a response, DNS).
    pub err_connect: u64,
    /// No complete response within the request timeout.
    pub err_timeout: u64,
    /// 4xx other than 429.
    pub err_4xx: u64,
    /// 5xx other than 503.
    pub err_5xx: u64,
    /// 429 Too Many Requests and 503 Service Unavailable (the target pushing back).
    pub err_backpressure: u64,
    /// Anything else (body cut short, unexpected 1xx/3xx, protocol errors).
    pub err_other: u64,
    /// Open model: send slots no user could start within the allowed lag (never sent).
    pub dropped: u64,
    /// Successful requests, from the actual send to the end of the response body.
    pub p50_raw_us: Option<u64>,
    pub p90_raw_us: Option<u64>,
    pub p95_raw_us: Option<u64>,
    pub p99_raw_us: Option<u64>,
    pub max_raw_us: Option<u64>,
    /// Open model: successful requests from their slot's due time, and dropped slots at their
    /// lag when dropped (coordinated-omission corrected). Empty in the closed model.
    pub p50_corrected_us: Option<u64>,
    pub p90_corrected_us: Option<u64>,
    pub p95_corrected_us: Option<u64>,
    pub p99_corrected_us: Option<u64>,
    pub max_corrected_us: Option<u64>,
    /// Every completed request, failures included, raw.
    pub p95_all_raw_us: Option<u64>,
    pub p99_all_raw_us: Option<u64>,
    /// Distinct serving endpoints (values of the endpoint header) seen in this second; empty
    /// when no response carried the header (unknown, not zero).
    pub endpoints: Option<u64>,
    /// The load generator's own health: CPU used by its worker threads, percent of those
    /// threads' capacity (100 = every worker busy all second); empty where the OS does not
    /// say.
    pub gen_cpu_pct: Option<f64>,
    /// The load generator's own health: the latest a 10 ms probe timer on its runtime woke in
    /// this second, µs past its due time (scheduling lag that delays sends and reads).
    pub gen_lag_max_us: Option<u64>,
    // Cluster columns: the watched state at the end of the second (see [`ClusterSample`]).
    // Empty means unknown: no cluster watched, not listed yet, or contact lost.
    pub deploy_spec_replicas: Option<u64>,
    pub deploy_replicas: Option<u64>,
    pub deploy_updated: Option<u64>,
    pub deploy_ready: Option<u64>,
    pub deploy_available: Option<u64>,
    pub hpa_current: Option<u64>,
    pub hpa_desired: Option<u64>,
    pub hpa_cpu_pct: Option<u64>,
    pub hpa_metrics: Option<String>,
    pub pods_pending: Option<u64>,
    pub pods_running: Option<u64>,
    pub pods_succeeded: Option<u64>,
    pub pods_failed: Option<u64>,
    pub pods_ready: Option<u64>,
    pub pods_terminating: Option<u64>,
}

impl TimelineRow {
    /// The cluster columns.
    pub fn cluster(&self) -> ClusterSample {
        ClusterSample {
            deploy_spec_replicas: self.deploy_spec_replicas,
            deploy_replicas: self.deploy_replicas,
            deploy_updated: self.deploy_updated,
            deploy_ready: self.deploy_ready,
            deploy_available: self.deploy_available,
            hpa_current: self.hpa_current,
            hpa_desired: self.hpa_desired,
            hpa_cpu_pct: self.hpa_cpu_pct,
            hpa_metrics: self.hpa_metrics.clone(),
            pods_pending: self.pods_pending,
            pods_running: self.pods_running,
            pods_succeeded: self.pods_succeeded,
            pods_failed: self.pods_failed,
            pods_ready: self.pods_ready,
            pods_terminating: self.pods_terminating,
        }
    }

    /// Sets the cluster columns.
    pub fn set_cluster(&mut self, s: &ClusterSample) {
        self.deploy_spec_replicas = s.deploy_spec_replicas;
        self.deploy_replicas = s.deploy_replicas;
        self.deploy_updated = s.deploy_updated;
        self.deploy_ready = s.deploy_ready;
        self.deploy_available = s.deploy_available;
        self.hpa_current = s.hpa_current;
        self.hpa_desired = s.hpa_desired;
        self.hpa_cpu_pct = s.hpa_cpu_pct;
        self.hpa_metrics.clone_from(&s.hpa_metrics);
        self.pods_pending = s.pods_pending;
        self.pods_running = s.pods_running;
        self.pods_succeeded = s.pods_succeeded;
        self.pods_failed = s.pods_failed;
        self.pods_ready = s.pods_ready;
        self.pods_terminating = s.pods_terminating;
    }
}

/// What the cluster watcher knows at one instant. `None` is unknown, never zero.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClusterSample {
    /// Deployment `spec.replicas`: what the Deployment (or its HPA) asks for.
    pub deploy_spec_replicas: Option<u64>,
    /// Deployment `status.replicas`: pods of all its ReplicaSets.
    pub deploy_replicas: Option<u64>,
    /// Deployment `status.updatedReplicas`: pods of the current template.
    pub deploy_updated: Option<u64>,
    /// Deployment `status.readyReplicas`.
    pub deploy_ready: Option<u64>,
    /// Deployment `status.availableReplicas` (ready for `minReadySeconds`).
    pub deploy_available: Option<u64>,
    /// HPA `status.currentReplicas`.
    pub hpa_current: Option<u64>,
    /// HPA `status.desiredReplicas`.
    pub hpa_desired: Option<u64>,
    /// HPA current average CPU utilisation, percent of the pods' CPU requests.
    pub hpa_cpu_pct: Option<u64>,
    /// Every current HPA metric, `;`-separated: `cpu=85%`, `memory=120Mi`,
    /// `pods/http_requests=90`, `object/…`, `external/…`.
    pub hpa_metrics: Option<String>,
    /// Pods matching the Deployment's selector and not being deleted, by `status.phase`.
    pub pods_pending: Option<u64>,
    pub pods_running: Option<u64>,
    pub pods_succeeded: Option<u64>,
    pub pods_failed: Option<u64>,
    /// Of those, pods whose `Ready` condition is `True`.
    pub pods_ready: Option<u64>,
    /// Matching pods with a deletion timestamp (terminating), whatever their phase.
    pub pods_terminating: Option<u64>,
}

impl ClusterSample {
    /// `(column, value)` for each field, in `timeline.csv` column order.
    pub fn cells(&self) -> [(&'static str, Option<String>); 15] {
        let n = |v: Option<u64>| v.map(|v| v.to_string());
        [
            ("deploy_spec_replicas", n(self.deploy_spec_replicas)),
            ("deploy_replicas", n(self.deploy_replicas)),
            ("deploy_updated", n(self.deploy_updated)),
            ("deploy_ready", n(self.deploy_ready)),
            ("deploy_available", n(self.deploy_available)),
            ("hpa_current", n(self.hpa_current)),
            ("hpa_desired", n(self.hpa_desired)),
            ("hpa_cpu_pct", n(self.hpa_cpu_pct)),
            ("hpa_metrics", self.hpa_metrics.clone()),
            ("pods_pending", n(self.pods_pending)),
            ("pods_running", n(self.pods_running)),
            ("pods_succeeded", n(self.pods_succeeded)),
            ("pods_failed", n(self.pods_failed)),
            ("pods_ready", n(self.pods_ready)),
            ("pods_terminating", n(self.pods_terminating)),
        ]
    }

    /// True when nothing at all is known.
    pub fn is_unknown(&self) -> bool {
        self.cells().iter().all(|(_, v)| v.is_none())
    }
}

/// One change of one cluster column. Rows of `cluster.csv`: every value the watcher saw, at
/// the time it saw it, so that changes between two timeline rows are not lost. The first rows
/// (at `t_s` 0) give the state when the load started.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ClusterChangeRow {
    /// Seconds since the load started (millisecond resolution).
    pub t_s: f64,
    /// A cluster column of `timeline.csv`, e.g. `deploy_ready`.
    pub column: String,
    /// The new value; empty when it became unknown.
    pub value: Option<String>,
}

/// One scale-related Kubernetes event observed during the run. Rows of `events.csv`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct EventRow {
    /// Seconds since the load started when the watcher received it.
    pub t_s: f64,
    /// The event's own time (cluster clock), RFC 3339; empty if it had none.
    pub time: String,
    /// `Kind/name` of the object it is about, e.g. `Deployment/target-service`.
    pub object: String,
    /// e.g. `ScalingReplicaSet`, `SuccessfulRescale`, `SuccessfulCreate`, `Killing`.
    pub reason: String,
    /// `Normal` or `Warning`.
    #[serde(rename = "type")]
    pub kind: String,
    /// How many times the event has occurred so far (Kubernetes aggregates repeats).
    pub count: u64,
    pub message: String,
}

impl EventRow {
    /// Events that mark a change of scale (drawn as markers on the charts).
    pub fn is_scale_event(&self) -> bool {
        matches!(
            self.reason.as_str(),
            "ScalingReplicaSet" | "SuccessfulRescale"
        )
    }
}

/// One container of the watched Deployment's pod template.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ContainerRecord {
    pub name: String,
    pub image: String,
    /// e.g. `{"cpu": "250m", "memory": "128Mi"}`.
    pub requests: std::collections::BTreeMap<String, String>,
    pub limits: std::collections::BTreeMap<String, String>,
}

/// The cluster side of a run, in `run.json` (`null` when no cluster was watched).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ClusterRecord {
    /// kubeconfig context used (`in-cluster` inside a pod), if known.
    pub kube_context: Option<String>,
    /// API server URL.
    pub server: Option<String>,
    pub namespace: String,
    pub deployment: String,
    /// The HPA watched: as given, or found by its `scaleTargetRef`; null if none.
    pub hpa: Option<String>,
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
}

/// One second of one serving endpoint. Columns of `endpoints.csv`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct EndpointRow {
    pub t_s: u64,
    /// Value of the endpoint header (`X-Served-By` by default), `(none)` when absent.
    pub endpoint: String,
    pub requests: u64,
    pub errors: u64,
    /// Raw latency of this endpoint's successful requests.
    pub p50_raw_us: Option<u64>,
    pub p95_raw_us: Option<u64>,
    pub p99_raw_us: Option<u64>,
    pub max_raw_us: Option<u64>,
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
    /// The watched Deployment and HPA; null when no cluster was watched.
    #[serde(default)]
    pub cluster: Option<ClusterRecord>,
}

/// The load generator's machine.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GeneratorRecord {
    pub hostname: String,
    pub cpus: usize,
    pub os: String,
}

impl GeneratorRecord {
    /// Describes this machine.
    pub fn here() -> Self {
        Self {
            hostname: target_service::default_served_by(),
            cpus: std::thread::available_parallelism().map_or(1, usize::from),
            os: format!("{} {}", std::env::consts::OS, std::env::consts::ARCH),
        }
    }
}

/// Creates `root/<UTC timestamp>-<scenario>/`, adding `-2`, `-3`… if it already exists.
pub fn create_run_dir(
    root: &Path,
    started_at: DateTime<Utc>,
    scenario: &str,
) -> Result<PathBuf, RunDirError> {
    std::fs::create_dir_all(root).map_err(|source| RunDirError::Create {
        path: root.to_path_buf(),
        source,
    })?;
    let slug: String = scenario
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '-'
            }
        })
        .collect();
    let base = format!("{}-{slug}", started_at.format("%Y%m%dT%H%M%SZ"));
    for n in 1.. {
        let name = if n == 1 {
            base.clone()
        } else {
            format!("{base}-{n}")
        };
        let path = root.join(name);
        match std::fs::create_dir(&path) {
            Ok(()) => {
                let hist = path.join(HISTOGRAM_DIR);
                std::fs::create_dir(&hist)
                    .map_err(|source| RunDirError::Create { path: hist, source })?;
                return Ok(path);
            }
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => continue,
            Err(source) => return Err(RunDirError::Create { path, source }),
        }
    }
    unreachable!("an unbounded loop over suffixes returns or errors")
}

/// Writes `bytes` to `path` atomically: a temporary file in the same folder, then a rename.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), RunDirError> {
    let fail = |source| RunDirError::Write {
        path: path.to_path_buf(),
        source,
    };
    let dir = path.parent().unwrap_or(Path::new("."));
    let mut tmp = tempfile::NamedTempFile::new_in(dir).map_err(fail)?;
    tmp.write_all(bytes).map_err(fail)?;
    // Temporary files are created private (0600); run files are meant to be shared.
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        tmp.as_file()
            .set_permissions(std::fs::Permissions::from_mode(0o644))
            .map_err(fail)?;
    }
    tmp.as_file().sync_all().map_err(fail)?;
    tmp.persist(path).map_err(|e| fail(e.error))?;
    Ok(())
}

/// Serializes rows as CSV with a header derived from the row type's field names.
pub fn to_csv<T: Serialize>(rows: &[T], header_if_empty: &[&str]) -> Result<Vec<u8>, csv::Error> {
    let mut writer = csv::Writer::from_writer(Vec::new());
    if rows.is_empty() {
        writer.write_record(header_if_empty)?;
    }
    for row in rows {
        writer.serialize(row)?;
    }
    writer.into_inner().map_err(|e| e.into_error().into())
}

/// Reads CSV rows written by [`to_csv`].
pub fn read_csv<T: serde::de::DeserializeOwned>(path: &Path) -> Result<Vec<T>, RunDirError> {
    let parse = |source: csv::Error| RunDirError::Parse {
        path: path.to_path_buf(),
        source: Box::new(source),
    };
    let mut reader = csv::Reader::from_path(path).map_err(|e| match e.into_kind() {
        csv::ErrorKind::Io(source) => RunDirError::Read {
            path: path.to_path_buf(),
            source,
        },
        other => RunDirError::Parse {
            path: path.to_path_buf(),
            source: format!("{other:?}").into(),
        },
    })?;
    reader.deserialize().map(|row| row.map_err(parse)).collect()
}

/// Reads CSV rows written by [`to_csv`] from a file that a run may not have written
/// (`cluster.csv`, `events.csv` exist only when a cluster was watched): none if it is absent.
pub fn read_csv_if_present<T: serde::de::DeserializeOwned>(
    path: &Path,
) -> Result<Vec<T>, RunDirError> {
    if path.is_file() {
        read_csv(path)
    } else {
        Ok(Vec::new())
    }
}

/// Reads `run.json`.
pub fn read_run_meta(dir: &Path) -> Result<RunMeta, RunDirError> {
    let path = dir.join(RUN_JSON);
    let text = std::fs::read_to_string(&path).map_err(|source| RunDirError::Read {
        path: path.clone(),
        source,
    })?;
    let parse = |source: serde_json::Error| RunDirError::Parse {
        path: path.clone(),
        source: Box::new(source),
    };
    let value: serde_json::Value = serde_json::from_str(&text).map_err(parse)?;
    let format = value.get("format").and_then(serde_json::Value::as_str);
    if format != Some(RUN_FORMAT) {
        return Err(RunDirError::Format {
            path,
            found: format.unwrap_or("none").to_owned(),
        });
    }
    serde_json::from_value(value).map_err(parse)
}

/// Column names of `timeline.csv`, in order.
pub const TIMELINE_COLUMNS: &[&str] = &[
    "t_s",
    "time",
    "span_s",
    "users",
    "target_rps",
    "ok_rps",
    "completed_rps",
    "requests",
    "ok",
    "errors",
    "err_connect",
    "err_timeout",
    "err_4xx",
    "err_5xx",
    "err_backpressure",
    "err_other",
    "dropped",
    "p50_raw_us",
    "p90_raw_us",
    "p95_raw_us",
    "p99_raw_us",
    "max_raw_us",
    "p50_corrected_us",
    "p90_corrected_us",
    "p95_corrected_us",
    "p99_corrected_us",
    "max_corrected_us",
    "p95_all_raw_us",
    "p99_all_raw_us",
    "endpoints",
    "gen_cpu_pct",
    "gen_lag_max_us",
    "deploy_spec_replicas",
    "deploy_replicas",
    "deploy_updated",
    "deploy_ready",
    "deploy_available",
    "hpa_current",
    "hpa_desired",
    "hpa_cpu_pct",
    "hpa_metrics",
    "pods_pending",
    "pods_running",
    "pods_succeeded",
    "pods_failed",
    "pods_ready",
    "pods_terminating",
];

/// Column names of `cluster.csv`.
pub const CLUSTER_CHANGE_COLUMNS: &[&str] = &["t_s", "column", "value"];

/// Column names of `events.csv`.
pub const EVENT_COLUMNS: &[&str] = &[
    "t_s", "time", "object", "reason", "type", "count", "message",
];

/// Column names of `endpoints.csv`, in order.
pub const ENDPOINT_COLUMNS: &[&str] = &[
    "t_s",
    "endpoint",
    "requests",
    "errors",
    "p50_raw_us",
    "p95_raw_us",
    "p99_raw_us",
    "max_raw_us",
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timeline_header_is_the_documented_column_list() {
        let bytes = to_csv(&[TimelineRow::default()], TIMELINE_COLUMNS).expect("csv");
        let text = String::from_utf8(bytes).expect("utf-8");
        let header = text.lines().next().expect("header");
        assert_eq!(header, TIMELINE_COLUMNS.join(","));
        let bytes = to_csv(&[EndpointRow::default()], ENDPOINT_COLUMNS).expect("csv");
        let text = String::from_utf8(bytes).expect("utf-8");
        assert_eq!(
            text.lines().next(),
            Some(ENDPOINT_COLUMNS.join(",").as_str())
        );
    }

    #[test]
    fn cluster_columns_round_trip_and_are_named_as_in_the_header() {
        let sample = ClusterSample {
            deploy_spec_replicas: Some(4),
            deploy_ready: Some(2),
            hpa_metrics: Some("cpu=90%".into()),
            pods_terminating: Some(1),
            ..Default::default()
        };
        let mut row = TimelineRow::default();
        row.set_cluster(&sample);
        assert_eq!(row.cluster(), sample);
        // cells() names exactly the cluster columns of timeline.csv, in order.
        let names: Vec<&str> = sample.cells().iter().map(|(n, _)| *n).collect();
        let start = TIMELINE_COLUMNS.len() - names.len();
        assert_eq!(names, &TIMELINE_COLUMNS[start..]);
    }

    #[test]
    fn timelines_without_the_cluster_columns_read_as_unknown() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join(TIMELINE_CSV);
        let columns = &TIMELINE_COLUMNS[..TIMELINE_COLUMNS.len() - 15];
        assert_eq!(columns.last(), Some(&"gen_lag_max_us"));
        let cells: Vec<&str> = columns
            .iter()
            .map(|c| match *c {
                "time" => "2026-11-26T00:00:00Z",
                "endpoints" => "2",
                _ => "1",
            })
            .collect();
        std::fs::write(
            &path,
            format!("{}\n{}\n", columns.join(","), cells.join(",")),
        )
        .expect("write");
        let rows: Vec<TimelineRow> = read_csv(&path).expect("read");
        assert_eq!(rows[0].endpoints, Some(2));
        assert_eq!(rows[0].cluster(), ClusterSample::default());
    }

    #[test]
    fn empty_tables_still_have_their_header() {
        let bytes = to_csv::<TimelineRow>(&[], TIMELINE_COLUMNS).expect("csv");
        assert_eq!(
            String::from_utf8(bytes).expect("utf-8").trim_end(),
            TIMELINE_COLUMNS.join(",")
        );
    }

    #[test]
    fn rows_round_trip_through_csv_with_empty_cells_for_no_data() {
        let dir = tempfile::tempdir().expect("tempdir");
        let rows = vec![
            TimelineRow {
                t_s: 0,
                requests: 0,
                p95_raw_us: None,
                target_rps: Some(10.0),
                ..Default::default()
            },
            TimelineRow {
                t_s: 1,
                requests: 5,
                ok: 5,
                p95_raw_us: Some(1234),
                endpoints: None,
                gen_cpu_pct: Some(12.5),
                span_s: 1.0,
                ..Default::default()
            },
        ];
        let path = dir.path().join(TIMELINE_CSV);
        write_atomic(&path, &to_csv(&rows, TIMELINE_COLUMNS).expect("csv")).expect("write");
        let back: Vec<TimelineRow> = read_csv(&path).expect("read");
        assert_eq!(back, rows);
    }

    #[test]
    fn run_dirs_never_collide() {
        let dir = tempfile::tempdir().expect("tempdir");
        let at = Utc::now();
        let a = create_run_dir(dir.path(), at, "ramp 1k").expect("first");
        let b = create_run_dir(dir.path(), at, "ramp 1k").expect("second");
        assert_ne!(a, b);
        assert!(
            a.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.ends_with("-ramp-1k"))
        );
        assert!(b.join(HISTOGRAM_DIR).is_dir());
    }
}
