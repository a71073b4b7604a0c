//! The rows of a run directory's tables: one second of the run (`timeline.csv`), one second
//! of one endpoint (`endpoints.csv`), one change of a cluster column (`cluster.csv`), one
//! Kubernetes event (`events.csv`), and the column names each is written with.

use serde::{Deserialize, Serialize};

/// How a value that is not known is shown to a person: never as 0.
pub const UNKNOWN: &str = "–";

/// How a request failed. Each kind is the `err_<name>` column of `timeline.csv` and of the
/// totals, and its name in the request log and `summary.json`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ErrorKind {
    /// The connection could not be made (refused, reset before a response, DNS).
    Connect,
    /// No complete response within the request timeout.
    Timeout,
    /// 4xx other than 429.
    Status4xx,
    /// 5xx other than 503.
    Status5xx,
    /// 429 Too Many Requests and 503 Service Unavailable: the target pushing back.
    Backpressure,
    /// Anything else (body cut short, unexpected 1xx/3xx, protocol errors).
    Other,
}

impl ErrorKind {
    /// Every kind, in the order of the `err_*` columns.
    pub const ALL: [Self; 6] = [
        Self::Connect,
        Self::Timeout,
        Self::Status4xx,
        Self::Status5xx,
        Self::Backpressure,
        Self::Other,
    ];

    /// `connect`, `timeout`, `4xx`, `5xx`, `backpressure`, `other`.
    pub fn name(self) -> &'static str {
        match self {
            Self::Connect => "connect",
            Self::Timeout => "timeout",
            Self::Status4xx => "4xx",
            Self::Status5xx => "5xx",
            Self::Backpressure => "backpressure",
            Self::Other => "other",
        }
    }
}

/// Gives the `err_*` column of each [`ErrorKind`] in a row of counts.
pub trait ErrorColumns {
    fn errors_of(&self, kind: ErrorKind) -> u64;
    fn errors_of_mut(&mut self, kind: ErrorKind) -> &mut u64;
}

macro_rules! error_columns {
    ($t:ty) => {
        impl ErrorColumns for $t {
            fn errors_of(&self, kind: ErrorKind) -> u64 {
                match kind {
                    ErrorKind::Connect => self.err_connect,
                    ErrorKind::Timeout => self.err_timeout,
                    ErrorKind::Status4xx => self.err_4xx,
                    ErrorKind::Status5xx => self.err_5xx,
                    ErrorKind::Backpressure => self.err_backpressure,
                    ErrorKind::Other => self.err_other,
                }
            }

            fn errors_of_mut(&mut self, kind: ErrorKind) -> &mut u64 {
                match kind {
                    ErrorKind::Connect => &mut self.err_connect,
                    ErrorKind::Timeout => &mut self.err_timeout,
                    ErrorKind::Status4xx => &mut self.err_4xx,
                    ErrorKind::Status5xx => &mut self.err_5xx,
                    ErrorKind::Backpressure => &mut self.err_backpressure,
                    ErrorKind::Other => &mut self.err_other,
                }
            }
        }
    };
}
pub(super) use error_columns;

error_columns!(TimelineRow);

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
    /// The instrument's own lateness (open model): how late requests went out after their due
    /// time, over the slots a user waited for (not those taken overdue because every user was
    /// busy, which is the service's doing), µs. Corrected latency includes it.
    pub send_late_p50_us: Option<u64>,
    pub send_late_p99_us: Option<u64>,
    pub send_late_max_us: Option<u64>,
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
    /// A fully covered second in which `ok` requests completed, all successfully, and nothing
    /// else is known: the starting point of hand-built timelines (tests, benchmarks), e.g.
    /// `TimelineRow { endpoints: Some(2), ..TimelineRow::with_ok(5, 1200) }`.
    pub fn with_ok(t_s: u64, ok: u64) -> Self {
        Self {
            t_s,
            span_s: 1.0,
            ok_rps: ok as f64,
            completed_rps: ok as f64,
            requests: ok,
            ok,
            ..Self::default()
        }
    }

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

/// Seconds rounded to milliseconds, the resolution of every time in the run directory.
pub fn round_ms(s: f64) -> f64 {
    (s * 1000.0).round() / 1000.0
}

/// Endpoint name used when a response has no endpoint header.
pub const NO_ENDPOINT: &str = "(none)";

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
    "send_late_p50_us",
    "send_late_p99_us",
    "send_late_max_us",
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
        // …and every field of ClusterSample is one of them: the lists cannot drift apart.
        let json = serde_json::to_value(&sample).expect("json");
        let mut fields: Vec<&str> = json
            .as_object()
            .expect("object")
            .keys()
            .map(String::as_str)
            .collect();
        let mut sorted = names.clone();
        fields.sort_unstable();
        sorted.sort_unstable();
        assert_eq!(fields, sorted);
    }
}

#[cfg(test)]
mod error_kind_tests {
    use super::*;

    #[test]
    fn each_error_kind_is_its_err_column_in_order() {
        let names: Vec<String> = ErrorKind::ALL
            .iter()
            .map(|k| format!("err_{}", k.name()))
            .collect();
        let at = TIMELINE_COLUMNS
            .iter()
            .position(|c| *c == "err_connect")
            .expect("err_connect");
        assert_eq!(names, &TIMELINE_COLUMNS[at..at + 6]);
        let mut row = TimelineRow::default();
        for (i, k) in ErrorKind::ALL.into_iter().enumerate() {
            *row.errors_of_mut(k) = i as u64 + 1;
        }
        assert_eq!((row.err_connect, row.err_4xx, row.err_other), (1, 3, 6));
    }
}
