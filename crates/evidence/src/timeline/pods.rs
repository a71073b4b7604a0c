//! `pods.csv`: every pod's story on the run's clock — what the replica source saw of it
//! (created, scheduled, ready, in the Service, terminating, gone) joined by name with what the
//! load side saw of the endpoint that answered as it (first and last request served, counts,
//! latency, and the latency of its first requests: its cold start).

use serde::{Deserialize, Serialize};

/// How many of an endpoint's first successful responses make its cold-start percentiles.
pub const COLD_REQUESTS: u64 = 100;

/// One pod (or local replica, or serving endpoint) of the run. Times are seconds on the run's
/// clock (negative: before the load started); empty is unknown. Which clock each time comes
/// from is documented in docs/run-directory.md ("pods.csv").
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct PodRow {
    /// The pod's name, which is also the endpoint header value it answers with.
    pub pod: String,
    pub replica_set: Option<String>,
    pub node: Option<String>,
    /// `metadata.creationTimestamp` (API server clock).
    pub created_s: Option<f64>,
    /// `PodScheduled` condition's `lastTransitionTime`.
    pub scheduled_s: Option<f64>,
    /// `ContainersReady` condition's `lastTransitionTime`.
    pub containers_ready_s: Option<f64>,
    /// `Ready` condition's `lastTransitionTime` when first seen true.
    pub ready_s: Option<f64>,
    /// When the watcher first saw it as a ready endpoint of an EndpointSlice.
    pub in_service_s: Option<f64>,
    /// When its first and last response arrived (load side).
    pub first_served_s: Option<f64>,
    pub last_served_s: Option<f64>,
    /// When the watcher first saw its `deletionTimestamp` (termination started).
    pub terminating_s: Option<f64>,
    /// When the watcher saw it deleted.
    pub gone_s: Option<f64>,
    /// Responses that named it, and how many of those were failures.
    pub requests: u64,
    pub errors: u64,
    /// Raw latency of its successful requests over the whole run.
    pub p50_raw_us: Option<u64>,
    pub p95_raw_us: Option<u64>,
    pub p99_raw_us: Option<u64>,
    /// Its first [`COLD_REQUESTS`] successful responses (fewer if it served fewer), and their
    /// raw latency: the cold start.
    pub cold_requests: u64,
    pub cold_p50_raw_us: Option<u64>,
    pub cold_p95_raw_us: Option<u64>,
    pub cold_p99_raw_us: Option<u64>,
    /// Restarts of its containers (a cluster's `restartCount`, summed over containers; a local
    /// replica's restarts after it exited or failed its liveness probe); empty: unknown.
    #[serde(default)]
    pub restarts: Option<u64>,
}

/// Columns of `pods.csv`, in order.
pub const POD_COLUMNS: &[&str] = &[
    "pod",
    "replica_set",
    "node",
    "created_s",
    "scheduled_s",
    "containers_ready_s",
    "ready_s",
    "in_service_s",
    "first_served_s",
    "last_served_s",
    "terminating_s",
    "gone_s",
    "requests",
    "errors",
    "p50_raw_us",
    "p95_raw_us",
    "p99_raw_us",
    "cold_requests",
    "cold_p50_raw_us",
    "cold_p95_raw_us",
    "cold_p99_raw_us",
    "restarts",
];

impl PodRow {
    /// A row that knows only a name.
    pub fn named(pod: impl Into<String>) -> Self {
        Self {
            pod: pod.into(),
            ..Self::default()
        }
    }

    /// When it could first receive traffic: in the Service if that is known, else Ready.
    pub fn serving_from_s(&self) -> Option<f64> {
        self.in_service_s.or(self.ready_s)
    }

    /// When it stopped receiving new traffic: termination started, else gone.
    pub fn serving_until_s(&self) -> Option<f64> {
        self.terminating_s.or(self.gone_s)
    }

    /// Takes the load side's columns from `served` (same pod).
    fn take_served(&mut self, served: PodRow) {
        self.first_served_s = served.first_served_s;
        self.last_served_s = served.last_served_s;
        self.requests = served.requests;
        self.errors = served.errors;
        self.p50_raw_us = served.p50_raw_us;
        self.p95_raw_us = served.p95_raw_us;
        self.p99_raw_us = served.p99_raw_us;
        self.cold_requests = served.cold_requests;
        self.cold_p50_raw_us = served.cold_p50_raw_us;
        self.cold_p95_raw_us = served.cold_p95_raw_us;
        self.cold_p99_raw_us = served.cold_p99_raw_us;
    }
}

/// Joins what the replica source saw (`watched`: the lifecycle columns) with what the load
/// side saw (`served`: the request columns) by name. A pod that served nothing keeps zero
/// requests; an endpoint no watched pod is named after gets a row of its own with unknown
/// lifecycle times. Ordered by creation (unknown last), then first served, then name.
pub fn join(watched: Vec<PodRow>, served: Vec<PodRow>) -> Vec<PodRow> {
    let mut rows = watched;
    for s in served {
        match rows.iter_mut().find(|r| r.pod == s.pod) {
            Some(row) => row.take_served(s),
            None => rows.push(s),
        }
    }
    let key = |t: Option<f64>| t.unwrap_or(f64::INFINITY);
    rows.sort_by(|a, b| {
        key(a.created_s)
            .total_cmp(&key(b.created_s))
            .then(key(a.first_served_s).total_cmp(&key(b.first_served_s)))
            .then(a.pod.cmp(&b.pod))
    });
    rows
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn join_matches_by_name_and_keeps_both_halves_and_the_strangers() {
        let watched = vec![
            PodRow {
                created_s: Some(3.0),
                ready_s: Some(5.0),
                ..PodRow::named("web-b")
            },
            PodRow {
                created_s: Some(-60.0),
                ready_s: Some(-50.0),
                ..PodRow::named("web-a")
            },
            PodRow {
                created_s: Some(3.0),
                ..PodRow::named("web-c")
            },
        ];
        let served = vec![
            PodRow {
                first_served_s: Some(0.01),
                requests: 900,
                ..PodRow::named("web-a")
            },
            PodRow {
                first_served_s: Some(6.2),
                requests: 100,
                errors: 2,
                ..PodRow::named("web-b")
            },
            PodRow {
                first_served_s: Some(1.0),
                requests: 5,
                ..PodRow::named("laptop")
            },
        ];
        let rows = join(watched, served);
        let names: Vec<&str> = rows.iter().map(|r| r.pod.as_str()).collect();
        assert_eq!(names, ["web-a", "web-b", "web-c", "laptop"]);
        assert_eq!((rows[0].requests, rows[0].ready_s), (900, Some(-50.0)));
        assert_eq!(
            (rows[1].requests, rows[1].errors, rows[1].first_served_s),
            (100, 2, Some(6.2))
        );
        assert_eq!((rows[2].requests, rows[2].first_served_s), (0, None));
        assert_eq!((rows[3].requests, rows[3].created_s), (5, None));
    }
}
