//! Headline numbers computed from the timeline alone.

use crate::scenario::Expectations;
use crate::timeline::{TimelineRow, Totals};
use crate::verdict::{
    best_window_rps, crossing_second, has_cluster, ready_replicas, scale_out_seconds,
};
use serde::{Deserialize, Serialize};

/// p95 around one scale-out.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ScaleEventLatency {
    /// Second of the scale-out (see [`crate::verdict::scale_out_seconds`]).
    pub t_s: u64,
    pub endpoints_after: u64,
    /// The Deployment's `spec.replicas` in that second (cluster watched only).
    pub replicas_after: Option<u64>,
    /// Worst per-second p95 (corrected, ms) in the 10 s before, the 10 s from, and the 10 s after.
    pub p95_before_ms: Option<f64>,
    pub p95_during_ms: Option<f64>,
    pub p95_after_ms: Option<f64>,
}

/// The KPIs of `summary.json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Kpis {
    /// Best mean throughput over 60 s (or the whole run when shorter), and that window's length.
    pub peak_sustained_rps: Option<f64>,
    pub peak_window_s: u64,
    /// Longest run of consecutive seconds at or above the rps expectation.
    pub longest_stretch_at_expected_rps_s: Option<u64>,
    /// Seconds from load reaching the rps expectation (or the start) to the first scale-out.
    pub time_to_first_scale_out_s: Option<u64>,
    /// Seconds from the same point to the expected number of ready replicas (endpoints
    /// serving without a cluster).
    pub time_to_expected_replicas_s: Option<u64>,
    /// Seconds from the same point to per-second p95 back under its limit after a breach.
    pub time_to_p95_recovered_s: Option<u64>,
    pub scale_events: Vec<ScaleEventLatency>,
    /// Mean throughput per serving endpoint over seconds with traffic.
    pub rps_per_endpoint: Option<f64>,
    pub most_endpoints_at_once: u64,
    /// `cluster` (the Deployment's status) or `endpoints` (distinct X-Served-By values).
    pub replica_source: String,
    /// Ready replicas in the first second, and the most at the end of any second.
    pub ready_replicas_at_start: Option<u64>,
    pub most_ready_replicas: Option<u64>,
    /// Mean throughput per ready replica over seconds with traffic (cluster watched only).
    pub rps_per_ready_replica: Option<f64>,
    /// Failed requests / completed requests, whole run, by kind.
    pub error_rate: Option<f64>,
    pub error_rate_by_kind: std::collections::BTreeMap<String, f64>,
    pub dropped: u64,
}

fn worst_p95(rows: &[TimelineRow], from: u64, to: u64) -> Option<f64> {
    rows.iter()
        .filter(|r| r.t_s >= from && r.t_s < to)
        .filter_map(|r| r.p95_corrected_us.or(r.p95_us))
        .max()
        .map(|us| us as f64 / 1000.0)
}

/// Computes every KPI.
pub fn compute(rows: &[TimelineRow], totals: &Totals, expect: &Expectations) -> Kpis {
    let window = rows.len().clamp(1, 60);
    let crossing = crossing_second(rows, expect.rps);
    let scale_outs = scale_out_seconds(rows);
    let cluster = has_cluster(rows);
    let longest = expect.rps.map(|want| {
        let mut best = 0u64;
        let mut run = 0u64;
        for r in rows {
            run = if r.achieved_rps >= want { run + 1 } else { 0 };
            best = best.max(run);
        }
        best
    });
    let first_scale = crossing.and_then(|c| scale_outs.iter().find(|&&s| s >= c).map(|s| s - c));
    let to_replicas = match (crossing, expect.replicas) {
        (Some(c), Some(n)) => rows
            .iter()
            .find(|r| r.t_s >= c && ready_replicas(r, cluster).is_some_and(|v| v >= u64::from(n)))
            .map(|r| r.t_s - c),
        _ => None,
    };
    let to_p95 = match (crossing, expect.p95_ms) {
        (Some(c), Some(limit)) => {
            let p95 =
                |r: &TimelineRow| r.p95_corrected_us.or(r.p95_us).map(|us| us as f64 / 1000.0);
            let breach = rows
                .iter()
                .find(|r| r.t_s >= c && p95(r).is_some_and(|v| v > limit));
            breach.and_then(|b| {
                rows.iter()
                    .find(|r| r.t_s > b.t_s && p95(r).is_some_and(|v| v <= limit))
                    .map(|r| r.t_s - c)
            })
        }
        _ => None,
    };
    let scale_events = scale_outs
        .iter()
        .map(|&s| ScaleEventLatency {
            t_s: s,
            endpoints_after: rows.iter().find(|r| r.t_s == s).map_or(0, |r| r.endpoints),
            replicas_after: rows
                .iter()
                .find(|r| r.t_s == s)
                .and_then(|r| r.deploy_spec_replicas),
            p95_before_ms: worst_p95(rows, s.saturating_sub(10), s),
            p95_during_ms: worst_p95(rows, s, s + 10),
            p95_after_ms: worst_p95(rows, s + 10, s + 20),
        })
        .collect();
    let serving: Vec<&TimelineRow> = rows
        .iter()
        .filter(|r| r.endpoints > 0 && r.requests > 0)
        .collect();
    let rps_per_endpoint = (!serving.is_empty()).then(|| {
        serving
            .iter()
            .map(|r| r.achieved_rps / r.endpoints as f64)
            .sum::<f64>()
            / serving.len() as f64
    });
    let per_ready: Vec<f64> = rows
        .iter()
        .filter(|r| r.requests > 0)
        .filter_map(|r| {
            r.deploy_ready
                .filter(|&n| n > 0)
                .map(|n| r.achieved_rps / n as f64)
        })
        .collect();
    let rps_per_ready_replica =
        (!per_ready.is_empty()).then(|| per_ready.iter().sum::<f64>() / per_ready.len() as f64);
    let n = totals.requests as f64;
    let mut by_kind = std::collections::BTreeMap::new();
    if totals.requests > 0 {
        for (kind, count) in [
            ("connect", totals.err_connect),
            ("timeout", totals.err_timeout),
            ("4xx", totals.err_4xx),
            ("5xx", totals.err_5xx),
            ("backpressure", totals.err_backpressure),
            ("other", totals.err_other),
        ] {
            by_kind.insert(kind.to_owned(), count as f64 / n);
        }
    }
    Kpis {
        peak_sustained_rps: best_window_rps(rows, window),
        peak_window_s: window as u64,
        longest_stretch_at_expected_rps_s: longest,
        time_to_first_scale_out_s: first_scale,
        time_to_expected_replicas_s: to_replicas,
        time_to_p95_recovered_s: to_p95,
        scale_events,
        rps_per_endpoint,
        most_endpoints_at_once: rows.iter().map(|r| r.endpoints).max().unwrap_or(0),
        replica_source: if cluster { "cluster" } else { "endpoints" }.to_owned(),
        ready_replicas_at_start: rows.first().and_then(|r| ready_replicas(r, cluster)),
        most_ready_replicas: rows.iter().filter_map(|r| ready_replicas(r, cluster)).max(),
        rps_per_ready_replica,
        error_rate: (totals.requests > 0).then(|| totals.errors as f64 / n),
        error_rate_by_kind: by_kind,
        dropped: totals.dropped,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(t: u64, rps: f64, endpoints: u64, p95_ms: u64) -> TimelineRow {
        TimelineRow {
            t_s: t,
            span_s: 1.0,
            achieved_rps: rps,
            requests: rps as u64,
            endpoints,
            p95_us: Some(p95_ms * 1000),
            p95_corrected_us: Some(p95_ms * 1000),
            ..Default::default()
        }
    }

    #[test]
    fn kpis_of_a_hand_built_scale_out() {
        // Load crosses 1000 rps at t=2; p95 breaches 250 ms at t=3; a 2nd endpoint at t=5;
        // p95 back under the limit at t=6.
        let rows = vec![
            row(0, 200.0, 1, 10),
            row(1, 600.0, 1, 20),
            row(2, 1000.0, 1, 200),
            row(3, 1100.0, 1, 400),
            row(4, 1200.0, 1, 500),
            row(5, 1200.0, 2, 300),
            row(6, 1200.0, 2, 40),
            row(7, 1200.0, 2, 30),
        ];
        let totals = Totals {
            requests: 7700,
            errors: 77,
            err_5xx: 77,
            ..Default::default()
        };
        let expect = Expectations {
            rps: Some(1000.0),
            replicas: Some(2),
            p95_ms: Some(250.0),
            ..Default::default()
        };
        let k = compute(&rows, &totals, &expect);
        assert_eq!(k.longest_stretch_at_expected_rps_s, Some(6));
        assert_eq!(k.time_to_first_scale_out_s, Some(3));
        assert_eq!(k.time_to_expected_replicas_s, Some(3));
        assert_eq!(k.time_to_p95_recovered_s, Some(4));
        assert_eq!(k.most_endpoints_at_once, 2);
        assert_eq!(k.peak_window_s, 8);
        assert_eq!(k.scale_events.len(), 1);
        assert_eq!(k.scale_events[0].p95_before_ms, Some(500.0));
        assert_eq!(k.scale_events[0].p95_during_ms, Some(300.0));
        assert_eq!(k.error_rate, Some(0.01));
        assert_eq!(k.error_rate_by_kind["5xx"], 0.01);
        let per = k.rps_per_endpoint.expect("served");
        assert!(
            (per - (200.0 + 600.0 + 1000.0 + 1100.0 + 1200.0 + 600.0 * 3.0) / 8.0).abs() < 1e-9
        );
    }

    #[test]
    fn empty_timeline_gives_empty_kpis() {
        let k = compute(&[], &Totals::default(), &Expectations::default());
        assert_eq!(k.peak_sustained_rps, None);
        assert_eq!(k.error_rate, None);
        assert!(k.scale_events.is_empty());
    }

    #[test]
    fn with_a_cluster_replica_kpis_come_from_the_deployment() {
        // The HPA raises spec.replicas to 3 at t=3; pods are ready at t=5 and t=6.
        let mut rows = vec![
            row(0, 900.0, 1, 10),
            row(1, 1000.0, 1, 20),
            row(2, 1100.0, 1, 300),
            row(3, 1200.0, 1, 400),
            row(4, 1200.0, 1, 400),
            row(5, 1200.0, 2, 200),
            row(6, 1200.0, 3, 50),
        ];
        let spec = [1, 1, 1, 3, 3, 3, 3];
        let ready = [1, 1, 1, 1, 1, 2, 3];
        for (r, (s, d)) in rows.iter_mut().zip(spec.iter().zip(ready)) {
            r.deploy_spec_replicas = Some(*s);
            r.deploy_ready = Some(d);
        }
        let expect = Expectations {
            rps: Some(1000.0),
            replicas: Some(3),
            ..Default::default()
        };
        let k = compute(&rows, &Totals::default(), &expect);
        assert_eq!(k.replica_source, "cluster");
        assert_eq!(k.time_to_first_scale_out_s, Some(2));
        assert_eq!(k.time_to_expected_replicas_s, Some(5));
        assert_eq!(
            (k.ready_replicas_at_start, k.most_ready_replicas),
            (Some(1), Some(3))
        );
        assert_eq!(k.scale_events.len(), 1);
        assert_eq!(k.scale_events[0].replicas_after, Some(3));
        let per = k.rps_per_ready_replica.expect("ready replicas");
        let want = (900.0 + 1000.0 + 1100.0 + 1200.0 + 1200.0 + 600.0 + 400.0) / 7.0;
        assert!((per - want).abs() < 1e-9, "{per}");
    }
}
