//! Headline numbers computed from the timeline alone, with the definitions in
//! [`crate::timeline::Timeline`] that the verdict uses too.

use crate::spec::expectations::Expectations;
use crate::timeline::{
    ErrorColumns, ErrorKind, GeneratorHealth, LatencyKind, Timeline, TimelineRow, Totals,
};
use serde::{Deserialize, Serialize};

/// p95 around one scale-out.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ScaleEventLatency {
    /// Second of the scale-out (see [`Timeline::scale_out_seconds`]).
    pub t_s: u64,
    /// Serving endpoints in that second (null: unknown).
    pub endpoints_after: Option<u64>,
    /// The Deployment's `spec.replicas` in that second (cluster watched only).
    pub replicas_after: Option<u64>,
    /// Worst per-second p95 (of `latency_kind`, ms) in the 10 s before, the 10 s from, and
    /// the 10 s after.
    pub p95_before_ms: Option<f64>,
    pub p95_during_ms: Option<f64>,
    pub p95_after_ms: Option<f64>,
}

/// The KPIs of `summary.json`: the figures every page shows, each with one definition.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Kpis {
    /// Best mean successful requests/s over `sustain_window_s` consecutive seconds (the
    /// verdict's window: 60 s, or half the run when it is shorter than two minutes).
    pub peak_sustained_ok_rps: Option<f64>,
    pub sustain_window_s: u64,
    /// Whole-run p95 and p99 of successful requests, ms, of `latency_kind`.
    pub p95_ms: Option<f64>,
    pub p99_ms: Option<f64>,
    /// `corrected` (open model: from due times, dropped slots included) or `raw` (closed).
    pub latency_kind: LatencyKind,
    /// Longest run of consecutive seconds at or above the rps expectation (successful).
    pub longest_stretch_at_expected_rps_s: Option<u64>,
    /// Seconds from load reaching the rps expectation (or the start) to the first scale-out;
    /// 0 when it scaled out during the ramp.
    pub time_to_first_scale_out_s: Option<u64>,
    /// Seconds from the same point to the expected number of ready replicas (endpoints
    /// serving without a cluster).
    pub time_to_expected_replicas_s: Option<u64>,
    /// Seconds from the same point to per-second p95 back under its limit after a breach.
    pub time_to_p95_recovered_s: Option<u64>,
    pub scale_events: Vec<ScaleEventLatency>,
    /// Mean successful requests/s per serving endpoint over seconds with known endpoints.
    pub rps_per_endpoint: Option<f64>,
    /// Most distinct serving endpoints in one second (null: no response named one).
    pub most_endpoints_at_once: Option<u64>,
    /// `cluster` (the Deployment's status) or `endpoints` (distinct X-Served-By values).
    pub replica_source: String,
    /// Ready replicas in the first second, and the most at the end of any second.
    pub ready_replicas_at_start: Option<u64>,
    pub most_ready_replicas: Option<u64>,
    /// Mean successful requests/s per ready replica over seconds with traffic (cluster only).
    pub rps_per_ready_replica: Option<f64>,
    /// (failed requests + dropped slots) / (completed requests + dropped slots), whole run.
    pub error_rate: Option<f64>,
    /// Each failure kind over the same denominator; `dropped` is the dropped slots.
    pub error_rate_by_kind: std::collections::BTreeMap<String, f64>,
    pub dropped: u64,
    /// How the load generator fared.
    pub generator: GeneratorHealth,
}

fn worst_p95(t: &Timeline<'_>, from: u64, to: u64) -> Option<f64> {
    t.rows()
        .iter()
        .filter(|r| r.t_s >= from && r.t_s < to)
        .filter_map(|r| t.p95_us(r))
        .max()
        .map(|us| us as f64 / 1000.0)
}

fn ms(us: Option<u64>) -> Option<f64> {
    us.map(|v| v as f64 / 1000.0)
}

/// Computes every KPI.
pub fn compute(rows: &[TimelineRow], totals: &Totals, expect: &Expectations) -> Kpis {
    compute_for(&Timeline::new(rows), totals, expect)
}

/// [`compute`] on a timeline that knows where its replica columns came from.
pub fn compute_for(t: &Timeline<'_>, totals: &Totals, expect: &Expectations) -> Kpis {
    let t = *t;
    let rows = t.rows();
    let crossing = t.crossing_second(expect.rps);
    let scale_outs = t.scale_out_seconds();
    let kind = t.latency_kind();
    let longest = expect.rps.map(|want| {
        let mut best = 0u64;
        let mut run = 0u64;
        for r in rows {
            run = if r.ok_rps >= want { run + 1 } else { 0 };
            best = best.max(run);
        }
        best
    });
    let first_scale = crossing.and_then(|c| scale_outs.first().map(|s| s.saturating_sub(c)));
    let to_replicas = match (crossing, expect.replicas) {
        (Some(c), Some(n)) => rows
            .iter()
            .find(|r| r.t_s >= c && t.ready_replicas(r).is_some_and(|v| v >= u64::from(n)))
            .map(|r| r.t_s - c),
        _ => None,
    };
    let to_p95 = match (crossing, expect.p95_ms) {
        (Some(c), Some(limit)) => {
            let p95 = |r: &TimelineRow| ms(t.p95_us(r));
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
    let at = |s: u64| rows.iter().find(|r| r.t_s == s);
    let scale_events = scale_outs
        .iter()
        .map(|&s| ScaleEventLatency {
            t_s: s,
            endpoints_after: at(s).and_then(|r| r.endpoints),
            replicas_after: at(s).and_then(|r| r.deploy_spec_replicas),
            p95_before_ms: worst_p95(&t, s.saturating_sub(10), s),
            p95_during_ms: worst_p95(&t, s, s + 10),
            p95_after_ms: worst_p95(&t, s + 10, s + 20),
        })
        .collect();
    let mean = |v: Vec<f64>| (!v.is_empty()).then(|| v.iter().sum::<f64>() / v.len() as f64);
    let rps_per_endpoint = mean(
        rows.iter()
            .filter(|r| r.requests > 0)
            .filter_map(|r| r.endpoints.map(|n| r.ok_rps / n as f64))
            .collect(),
    );
    let rps_per_ready_replica = mean(
        rows.iter()
            .filter(|r| r.requests > 0)
            .filter_map(|r| {
                r.deploy_ready
                    .filter(|&n| n > 0)
                    .map(|n| r.ok_rps / n as f64)
            })
            .collect(),
    );
    let slots = totals.requests + totals.dropped;
    let mut by_kind = std::collections::BTreeMap::new();
    if slots > 0 {
        let n = slots as f64;
        for kind in ErrorKind::ALL {
            by_kind.insert(kind.name().to_owned(), totals.errors_of(kind) as f64 / n);
        }
        by_kind.insert("dropped".to_owned(), totals.dropped as f64 / n);
    }
    Kpis {
        peak_sustained_ok_rps: t.sustained_ok_rps(),
        sustain_window_s: t.sustain_window() as u64,
        p95_ms: ms(totals.p95_us(kind)),
        p99_ms: ms(totals.p99_us(kind)),
        latency_kind: kind,
        longest_stretch_at_expected_rps_s: longest,
        time_to_first_scale_out_s: first_scale,
        time_to_expected_replicas_s: to_replicas,
        time_to_p95_recovered_s: to_p95,
        scale_events,
        rps_per_endpoint,
        most_endpoints_at_once: rows.iter().filter_map(|r| r.endpoints).max(),
        replica_source: t.replica_source().to_owned(),
        ready_replicas_at_start: rows.first().and_then(|r| t.ready_replicas(r)),
        most_ready_replicas: t.most_ready_replicas(),
        rps_per_ready_replica,
        error_rate: totals.error_rate(),
        error_rate_by_kind: by_kind,
        dropped: totals.dropped,
        generator: t.generator_health(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(t: u64, rps: f64, endpoints: u64, p95_ms: u64) -> TimelineRow {
        TimelineRow {
            target_rps: Some(rps),
            endpoints: Some(endpoints),
            p95_raw_us: Some(p95_ms * 1000),
            p95_corrected_us: Some(p95_ms * 1000),
            ..TimelineRow::with_ok(t, rps as u64)
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
        assert_eq!(k.most_endpoints_at_once, Some(2));
        assert_eq!(
            k.sustain_window_s, 4,
            "the verdict's window: half of an 8 s run"
        );
        assert_eq!(k.peak_sustained_ok_rps, Some(1200.0));
        assert_eq!(k.scale_events.len(), 1);
        assert_eq!(k.scale_events[0].p95_before_ms, Some(500.0));
        assert_eq!(k.scale_events[0].p95_during_ms, Some(300.0));
        assert_eq!(k.error_rate, Some(0.01));
        assert_eq!(k.error_rate_by_kind["5xx"], 0.01);
        assert_eq!(k.error_rate_by_kind["dropped"], 0.0);
        assert_eq!(k.latency_kind, LatencyKind::Corrected);
        let per = k.rps_per_endpoint.expect("served");
        assert!(
            (per - (200.0 + 600.0 + 1000.0 + 1100.0 + 1200.0 + 600.0 * 3.0) / 8.0).abs() < 1e-9
        );
    }

    #[test]
    fn empty_timeline_gives_empty_kpis() {
        let k = compute(&[], &Totals::default(), &Expectations::default());
        assert_eq!(k.peak_sustained_ok_rps, None);
        assert_eq!(k.most_endpoints_at_once, None);
        assert_eq!(k.most_ready_replicas, None);
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
