//! Questions asked of a run's timeline: the one place each headline number is defined, so the
//! verdict, the KPIs, the charts and every page show the same figure for the same name.

use super::TimelineRow;
use super::latency::LatencyKind;
use super::meta::WorkloadSource;

/// A second in which the generator's worker threads used at least this share of their CPU
/// counts as saturated.
pub const GEN_CPU_SATURATED_PCT: f64 = 90.0;
/// A second in which the generator's probe timer woke this late (µs) counts as saturated.
pub const GEN_LAG_SATURATED_US: u64 = 100_000;
/// The generator was the bottleneck when more than this share of the seconds with traffic
/// (and at least two of them) were saturated.
pub const GEN_SATURATED_SHARE: f64 = 0.10;
/// Dropped slots above this share of all slots (sent or dropped) leave the planned load
/// unoffered: no pass can rest on such a run.
pub const DROPPED_SHARE_LIMIT: f64 = 0.01;

/// Seconds looked back on when deciding whether the endpoint count rose.
const SCALE_LOOKBACK: usize = 3;

/// How the load generator itself fared.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct GeneratorHealth {
    /// Seconds with traffic (requests completed or slots dropped).
    pub busy_seconds: u64,
    /// Of those, seconds at or over [`GEN_CPU_SATURATED_PCT`] or [`GEN_LAG_SATURATED_US`].
    pub saturated_seconds: u64,
    /// Highest per-second CPU use of its worker threads, percent (null: unknown).
    pub max_cpu_pct: Option<f64>,
    /// Latest wake-up of its probe timer, ms past due (null: unknown).
    pub worst_lag_ms: Option<f64>,
    /// Worst per-second p99 of its send lateness (open model: how late it sent the slots it
    /// waited for), ms: the instrument's share of corrected latency (null: closed model).
    #[serde(default)]
    pub worst_send_late_p99_ms: Option<f64>,
    /// True when the generator was the bottleneck (see [`GEN_SATURATED_SHARE`]).
    pub saturated: bool,
}

/// The per-second rows of one run, and the queries on them.
#[derive(Debug, Clone, Copy)]
pub struct Timeline<'a> {
    rows: &'a [TimelineRow],
    /// Whether any row has replica counts from a watched cluster (derived once).
    cluster: bool,
    /// The latency kind of the run (derived once).
    kind: LatencyKind,
    /// Where the replica columns came from: a watched cluster or local replicas.
    workload: WorkloadSource,
}

impl<'a> Timeline<'a> {
    /// The rows of a run whose replica columns (if any) came from `workload`.
    pub fn of(rows: &'a [TimelineRow], workload: WorkloadSource) -> Self {
        Self {
            workload,
            ..Self::new(rows)
        }
    }

    /// Where the replica columns came from.
    pub fn workload(&self) -> WorkloadSource {
        self.workload
    }

    pub fn new(rows: &'a [TimelineRow]) -> Self {
        let cluster = rows
            .iter()
            .any(|r| r.deploy_spec_replicas.is_some() || r.deploy_ready.is_some());
        let open = rows
            .iter()
            .any(|r| r.target_rps.is_some() || r.p95_corrected_us.is_some() || r.dropped > 0);
        Self {
            rows,
            cluster,
            workload: WorkloadSource::Cluster,
            kind: if open {
                LatencyKind::Corrected
            } else {
                LatencyKind::Raw
            },
        }
    }

    pub fn rows(&self) -> &'a [TimelineRow] {
        self.rows
    }

    /// Length of the window over which throughput must be sustained: 60 s, or half the run
    /// for runs shorter than two minutes (a 30 s demo holds its rate for 15 s).
    pub fn sustain_window(&self) -> usize {
        let n = self.rows.len();
        if n >= 120 { 60 } else { (n / 2).max(1) }
    }

    fn best_window(&self, window: usize, value: impl Fn(&TimelineRow) -> f64) -> Option<f64> {
        self.best_window_at(window, value).map(|(_, mean)| mean)
    }

    /// Where the best `window` consecutive seconds by mean `value` start (the last of equal
    /// ones), and that mean.
    fn best_window_at(
        &self,
        window: usize,
        value: impl Fn(&TimelineRow) -> f64,
    ) -> Option<(usize, f64)> {
        if self.rows.is_empty() || window == 0 {
            return None;
        }
        let w = window.min(self.rows.len());
        self.rows
            .windows(w)
            .map(|s| s.iter().map(&value).sum::<f64>() / w as f64)
            .enumerate()
            .max_by(|a, b| a.1.total_cmp(&b.1))
    }

    /// The seconds of [`Self::sustained_ok_rps`]'s window (empty with no rows).
    pub fn sustained_ok_rows(&self) -> &'a [TimelineRow] {
        let w = self.sustain_window().min(self.rows.len());
        match self.best_window_at(w, |r| r.ok_rps) {
            Some((start, _)) => &self.rows[start..start + w],
            None => &[],
        }
    }

    /// Best mean successful requests/s over any [`Self::sustain_window`] consecutive seconds:
    /// the throughput the verdict and every headline count.
    pub fn sustained_ok_rps(&self) -> Option<f64> {
        self.best_window(self.sustain_window(), |r| r.ok_rps)
    }

    /// The same window over completed requests, failures included.
    pub fn sustained_completed_rps(&self) -> Option<f64> {
        self.best_window(self.sustain_window(), |r| r.completed_rps)
    }

    /// First second whose successful throughput reaches `rps` (the first second without an
    /// rps expectation).
    pub fn crossing_second(&self, rps: Option<f64>) -> Option<u64> {
        match rps {
            None => self.rows.first().map(|r| r.t_s),
            Some(rps) => self.rows.iter().find(|r| r.ok_rps >= rps).map(|r| r.t_s),
        }
    }

    /// True when the timeline has replica counts from a watched cluster.
    pub fn has_cluster(&self) -> bool {
        self.cluster
    }

    /// True when any response named its serving endpoint.
    pub fn has_endpoints(&self) -> bool {
        self.rows.iter().any(|r| r.endpoints.is_some())
    }

    /// `cluster` (the Deployment's status), `local` (local replicas, simulated on this
    /// machine) or `endpoints` (distinct endpoint header values).
    pub fn replica_source(&self) -> &'static str {
        if self.has_cluster() {
            self.workload.name()
        } else {
            "endpoints"
        }
    }

    /// Ready replicas in a second: the Deployment's `readyReplicas` when a cluster was
    /// watched, else the distinct serving endpoints; `None` is unknown.
    pub fn ready_replicas(&self, row: &TimelineRow) -> Option<u64> {
        if self.has_cluster() {
            row.deploy_ready
        } else {
            row.endpoints
        }
    }

    /// Most ready replicas at the end of any second (unknown when never known).
    pub fn most_ready_replicas(&self) -> Option<u64> {
        self.rows
            .iter()
            .filter_map(|r| self.ready_replicas(r))
            .max()
    }

    /// Seconds at which the service scaled out. With a watched cluster: the seconds whose
    /// Deployment `spec.replicas` is above the last known value before them (the HPA's
    /// decision taking effect). Without: the seconds in which more endpoints served than in
    /// any of the previous three seconds with traffic (debounced, so that an endpoint missing
    /// from one quiet second and back in the next is not counted).
    pub fn scale_out_seconds(&self) -> Vec<u64> {
        if self.has_cluster() {
            let mut last: Option<u64> = None;
            let mut out = Vec::new();
            for r in self.rows {
                if let Some(spec) = r.deploy_spec_replicas {
                    if last.is_some_and(|l| spec > l) {
                        out.push(r.t_s);
                    }
                    last = Some(spec);
                }
            }
            return out;
        }
        let busy: Vec<&TimelineRow> = self.rows.iter().filter(|r| r.requests > 0).collect();
        let n = |r: &TimelineRow| r.endpoints.unwrap_or(0);
        busy.iter()
            .enumerate()
            .skip(1)
            .filter(|(i, r)| {
                let recent = &busy[i.saturating_sub(SCALE_LOOKBACK)..*i];
                n(r) > recent.iter().map(|p| n(p)).max().unwrap_or(0)
            })
            .map(|(_, r)| r.t_s)
            .collect()
    }

    /// The kind of latency the headline and verdict use: corrected when the run had due
    /// times (open model), raw otherwise.
    pub fn latency_kind(&self) -> LatencyKind {
        self.kind
    }

    /// Per-second p95 of that kind, µs.
    pub fn p95_us(&self, row: &TimelineRow) -> Option<u64> {
        match self.latency_kind() {
            LatencyKind::Corrected => row.p95_corrected_us,
            LatencyKind::Raw => row.p95_raw_us,
        }
    }

    /// How the generator fared over the seconds with traffic.
    pub fn generator_health(&self) -> GeneratorHealth {
        let busy: Vec<&TimelineRow> = self
            .rows
            .iter()
            .filter(|r| r.requests > 0 || r.dropped > 0)
            .collect();
        let saturated_seconds = busy
            .iter()
            .filter(|r| {
                r.gen_cpu_pct.is_some_and(|c| c >= GEN_CPU_SATURATED_PCT)
                    || r.gen_lag_max_us.is_some_and(|l| l >= GEN_LAG_SATURATED_US)
            })
            .count() as u64;
        let busy_seconds = busy.len() as u64;
        GeneratorHealth {
            busy_seconds,
            saturated_seconds,
            max_cpu_pct: busy
                .iter()
                .filter_map(|r| r.gen_cpu_pct)
                .max_by(f64::total_cmp),
            worst_lag_ms: busy
                .iter()
                .filter_map(|r| r.gen_lag_max_us)
                .max()
                .map(|us| us as f64 / 1000.0),
            worst_send_late_p99_ms: busy
                .iter()
                .filter_map(|r| r.send_late_p99_us)
                .max()
                .map(|us| us as f64 / 1000.0),
            saturated: saturated_seconds >= 2
                && saturated_seconds as f64 > GEN_SATURATED_SHARE * busy_seconds as f64,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rows(ok: &[f64]) -> Vec<TimelineRow> {
        ok.iter()
            .enumerate()
            .map(|(i, &r)| TimelineRow {
                endpoints: Some(1),
                ..TimelineRow::with_ok(i as u64, r as u64)
            })
            .collect()
    }

    #[test]
    fn sustained_rps_needs_the_whole_window_and_counts_only_successes() {
        // 20 s run: window 10 s. A 5 s burst at 2000 does not sustain 1500.
        let mut ok = vec![1000.0; 20];
        ok[3..8].fill(2000.0);
        let mut r = rows(&ok);
        let t = Timeline::new(&r);
        assert_eq!(t.sustain_window(), 10);
        assert_eq!(t.sustained_ok_rps(), Some(1500.0));
        // Failures add to completed throughput, never to the successful one.
        for row in &mut r {
            row.completed_rps += 500.0;
        }
        let t = Timeline::new(&r);
        assert_eq!(t.sustained_ok_rps(), Some(1500.0));
        assert_eq!(t.sustained_completed_rps(), Some(2000.0));
        assert_eq!(Timeline::new(&rows(&[1.0; 600])).sustain_window(), 60);
    }

    #[test]
    fn generator_saturation_needs_more_than_a_tenth_of_busy_seconds() {
        let mut r = rows(&[100.0; 20]);
        r[3].gen_lag_max_us = Some(GEN_LAG_SATURATED_US);
        r[4].gen_cpu_pct = Some(GEN_CPU_SATURATED_PCT);
        let h = Timeline::new(&r).generator_health();
        assert_eq!((h.busy_seconds, h.saturated_seconds), (20, 2));
        assert!(!h.saturated, "2 of 20 is not more than 10%");
        r[5].gen_cpu_pct = Some(99.0);
        let h = Timeline::new(&r).generator_health();
        assert!(h.saturated, "3 of 20 is");
        assert_eq!(h.max_cpu_pct, Some(99.0));
        assert_eq!(h.worst_lag_ms, Some(100.0));
        // Unknown health is not saturation.
        assert!(
            !Timeline::new(&rows(&[100.0; 5]))
                .generator_health()
                .saturated
        );
    }

    #[test]
    fn latency_kind_is_corrected_only_where_there_were_due_times() {
        let mut r = rows(&[10.0; 3]);
        assert_eq!(Timeline::new(&r).latency_kind(), LatencyKind::Raw);
        r[1].target_rps = Some(10.0);
        assert_eq!(Timeline::new(&r).latency_kind(), LatencyKind::Corrected);
    }

    #[test]
    fn unknown_endpoints_are_no_replicas_not_zero() {
        let mut r = rows(&[10.0; 3]);
        for row in &mut r {
            row.endpoints = None;
        }
        let t = Timeline::new(&r);
        assert!(!t.has_endpoints());
        assert_eq!(t.most_ready_replicas(), None);
        assert!(t.scale_out_seconds().is_empty());
    }
}
