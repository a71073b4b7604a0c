//! Pass/fail expectations: what a run must show. Written into `run.json` as they were given
//! and evaluated by the verdict; a leaf type that scenario, timeline and verdict all name.

use serde::{Deserialize, Serialize};

/// Pass/fail expectations, evaluated by the verdict after the run.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Expectations {
    /// Minimum sustained successful requests per second.
    pub rps: Option<f64>,
    /// Minimum ready replicas (or distinct serving endpoints without a cluster).
    pub replicas: Option<u32>,
    /// Maximum p95 latency of successful requests, in milliseconds.
    pub p95_ms: Option<f64>,
    /// Maximum p99 latency of successful requests, in milliseconds.
    pub p99_ms: Option<f64>,
    /// Maximum share of failed requests and dropped slots, as a fraction (0.01 = 1%).
    pub error_rate: Option<f64>,
    /// Longest time from load crossing `rps` to the first scale-out, in seconds.
    pub scale_within_s: Option<f64>,
    /// Longest time from a pod added during the load being Ready to its first response, in
    /// seconds.
    #[serde(default)]
    pub new_pod_serves_within_s: Option<f64>,
    /// Most failed requests in the termination windows of pods removed during the load.
    #[serde(default)]
    pub scale_in_errors: Option<u64>,
    /// Largest share of requests one endpoint may serve while 2 or more replicas are ready,
    /// as a fraction (0.8 = 80%).
    #[serde(default)]
    pub max_pod_share: Option<f64>,
}

impl Expectations {
    /// True when nothing is expected.
    pub fn is_empty(&self) -> bool {
        *self == Self::default()
    }
}
