//! The run directory model: the contract between measuring and reporting.
//!
//! A run directory holds everything a run measured: `run.json` (what was run, where, when and
//! how it ended: [`RunMeta`]), `timeline.csv` (one [`TimelineRow`] per second),
//! `endpoints.csv` (one [`EndpointRow`] per second and serving endpoint), `cluster.csv` and
//! `events.csv` (what the cluster watcher saw, when a Deployment was watched), `errors.csv`
//! (the error catalogue: [`ErrorRow`]), `pods.csv` (every pod's story: [`PodRow`]) and
//! `histograms/` (HdrHistogram interval logs, V2 encoding, so that runs merge exactly).
//! [`RunDir`] reads and writes them; [`Timeline`] answers the questions every report asks.

mod dir;
mod errors;
mod latency;
mod meta;
mod pods;
mod query;
mod row;

pub use dir::{
    CLUSTER, ENDPOINTS, ERRORS, EVENTS, HISTOGRAM_DIR, PER_SECOND_HLOG, PODS, RUN_JSON, RunDir,
    RunDirError, TIMELINE, TOTAL_HLOG, Table,
};
pub use errors::{
    ERROR_COLUMNS, ErrorRow, MAX_MESSAGE_CHARS, MAX_MESSAGES, OTHER_MESSAGES, SAMPLE_BYTES, hint,
};
pub use latency::LatencyKind;
pub use meta::{
    Calibration, CalibrationProbe, ClusterRecord, ContainerRecord, GeneratorRecord, LoadRecord,
    MergedWorker, RUN_FORMAT, ReplicaLife, RequestRecord, RunMeta, SharedRecord, StageRecord,
    TlsRecord, Totals, WorkerRecord, WorkloadSource, worker_problems,
};
pub use pods::{COLD_REQUESTS, POD_COLUMNS, PodRow, join as join_pods};
pub use query::{
    DROPPED_SHARE_LIMIT, GEN_CPU_SATURATED_PCT, GEN_LAG_SATURATED_US, GEN_SATURATED_SHARE,
    GeneratorHealth, Timeline,
};
pub use row::{
    CLUSTER_CHANGE_COLUMNS, ClusterChangeRow, ClusterSample, ENDPOINT_COLUMNS, EVENT_COLUMNS,
    EndpointRow, ErrorColumns, ErrorKind, EventRow, NO_ENDPOINT, TIMELINE_COLUMNS, TimelineRow,
    UNKNOWN, round_ms,
};
