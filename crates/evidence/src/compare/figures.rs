//! Every headline figure of two runs side by side: the point values are the ones each run's
//! own report shows (summary.json's totals and KPIs, one definition each); the interval of
//! their difference comes from a block bootstrap over the seconds that figure is made of.

use super::bootstrap::{self, Latencies};
use super::{BLOCK_S, Better, Figure, Judgement, MIN_SECONDS, RESAMPLES, RunData, figure, judge};
use crate::timeline::LatencyKind;

/// A fixed seed: the same two runs always give the same intervals.
const SEED: u64 = 0x5ca1_e9f0_0f5e_ed01;

/// The figures of `base` and `cand`, judged with `threshold` (and, for latency, no change
/// within `latency_floor_ms` either); those named in `gating` (empty: the default `rps`,
/// `p95`, `error_rate`) set the exit code.
pub fn figures(
    base: &RunData,
    cand: &RunData,
    (threshold, latency_floor_ms): (f64, f64),
    gating: &[String],
) -> Vec<Figure> {
    let gates = |m: &str| {
        if gating.is_empty() {
            matches!(m, "rps" | "p95" | "error_rate")
        } else {
            gating.iter().any(|g| g == m)
        }
    };
    let enough = base.rows.len() >= MIN_SECONDS && cand.rows.len() >= MIN_SECONDS;
    let mut out = Vec::new();
    let mut push = |metric: &str,
                    label: String,
                    unit: &str,
                    values: (Option<f64>, Option<f64>),
                    ci: Option<(f64, f64)>,
                    better: Better,
                    floor: f64| {
        let judgement = if enough {
            judge(values, ci, better, threshold, floor)
        } else {
            Judgement::Inconclusive
        };
        out.push(figure(
            metric,
            label,
            unit,
            values,
            ci,
            better,
            judgement,
            gates(metric),
        ));
    };

    // Throughput: each run's best sustained window, the bootstrap within it.
    let window = base.kpis.sustain_window_s;
    let (bw, cw) = (best_window(base), best_window(cand));
    let rps_ci = bootstrap::interval(
        (bw.len(), cw.len()),
        BLOCK_S,
        RESAMPLES,
        SEED,
        &mut |is_cand, idx| {
            let w = if is_cand { &cw } else { &bw };
            (!idx.is_empty()).then(|| idx.iter().map(|&i| w[i]).sum::<f64>() / idx.len() as f64)
        },
    );
    push(
        "rps",
        format!("ok rps, best {window} s window"),
        "rps",
        (
            base.kpis.peak_sustained_ok_rps,
            cand.kpis.peak_sustained_ok_rps,
        ),
        rps_ci,
        Better::Higher,
        0.0,
    );

    // Latency, whole run, of the headline kind and raw.
    let kind = match base.kpis.latency_kind {
        LatencyKind::Corrected => "corrected",
        LatencyKind::Raw => "raw",
    };
    let totals = |r: &RunData, q: usize, raw: bool| {
        let t = &r.meta.totals;
        let us = match (raw || r.kpis.latency_kind == LatencyKind::Raw, q) {
            (false, 50) => t.p50_corrected_us,
            (false, 95) => t.p95_corrected_us,
            (false, _) => t.p99_corrected_us,
            (true, 50) => t.p50_raw_us,
            (true, 95) => t.p95_raw_us,
            (true, _) => t.p99_raw_us,
        };
        us.map(|v| v as f64 / 1000.0)
    };
    for (raw, suffix, which) in [(false, "", kind), (true, "_raw", "raw")] {
        if raw && kind == "raw" {
            break;
        }
        let pair = if raw {
            (&base.raw, &cand.raw)
        } else {
            (&base.latency, &cand.latency)
        };
        for (q, qf) in [(50, 0.5), (95, 0.95), (99, 0.99)] {
            let ci = latency_interval(pair, qf);
            push(
                &format!("p{q}{suffix}"),
                format!("p{q} {which}, whole run"),
                "ms",
                (totals(base, q, raw), totals(cand, q, raw)),
                ci,
                Better::Lower,
                latency_floor_ms,
            );
        }
    }

    // Failures: (failed + dropped) ÷ (completed + dropped), and dropped slots.
    let errors = |r: &RunData, idx: &[usize]| {
        let (mut bad, mut all) = (0u64, 0u64);
        for &i in idx {
            let row = &r.rows[i];
            bad += row.errors + row.dropped;
            all += row.requests + row.dropped;
        }
        (all > 0).then(|| bad as f64 / all as f64)
    };
    let seconds = (base.rows.len(), cand.rows.len());
    let error_ci = bootstrap::interval(seconds, BLOCK_S, RESAMPLES, SEED, &mut |c, idx| {
        errors(if c { cand } else { base }, idx)
    });
    push(
        "error_rate",
        "error rate, whole run".to_owned(),
        "share",
        (base.kpis.error_rate, cand.kpis.error_rate),
        error_ci,
        Better::Lower,
        // 0.1 percentage point: from 0 failures, a handful is not a regression.
        0.001,
    );
    let dropped_ci = bootstrap::interval(seconds, BLOCK_S, RESAMPLES, SEED, &mut |c, idx| {
        let r = if c { cand } else { base };
        Some(idx.iter().map(|&i| r.rows[i].dropped as f64).sum())
    });
    let requests = base.meta.totals.requests as f64;
    push(
        "dropped",
        "dropped slots, whole run".to_owned(),
        "slots",
        (
            Some(base.meta.totals.dropped as f64),
            Some(cand.meta.totals.dropped as f64),
        ),
        dropped_ci,
        Better::Lower,
        0.001 * requests,
    );

    // One value per run: shown side by side, not judged.
    let shown: [Shown; 4] = [
        (
            "replicas",
            "most ready replicas".to_owned(),
            "replicas",
            |r| r.kpis.most_ready_replicas.map(|n| n as f64),
            Better::Higher,
        ),
        (
            "first_scale_out",
            "time to first scale-out".to_owned(),
            "s",
            |r| r.kpis.time_to_first_scale_out_s.map(|n| n as f64),
            Better::Lower,
        ),
        (
            "p95_recovered",
            "time to p95 recovered".to_owned(),
            "s",
            |r| r.kpis.time_to_p95_recovered_s.map(|n| n as f64),
            Better::Lower,
        ),
        (
            "top_endpoint_share",
            "top endpoint's share of requests".to_owned(),
            "share",
            |r| r.top_endpoint_share,
            Better::Lower,
        ),
    ];
    for (metric, label, unit, value, better) in shown {
        out.push(figure(
            metric,
            label,
            unit,
            (value(base), value(cand)),
            None,
            better,
            Judgement::NotJudged,
            false,
        ));
    }
    out
}

/// A figure shown, not judged: metric, label, unit, its value in a run, which way is better.
type Shown = (
    &'static str,
    String,
    &'static str,
    fn(&RunData) -> Option<f64>,
    Better,
);

/// The ok rps of the seconds of `r`'s best sustained window, the window its own report's
/// figure is the mean of.
fn best_window(r: &RunData) -> Vec<f64> {
    crate::timeline::Timeline::new(&r.rows)
        .sustained_ok_rows()
        .iter()
        .map(|row| row.ok_rps)
        .collect()
}

/// The interval of the difference in the `q` quantile, ms.
fn latency_interval((base, cand): (&Latencies, &Latencies), q: f64) -> Option<(f64, f64)> {
    let mut counts = Vec::new();
    bootstrap::interval(
        (base.len(), cand.len()),
        BLOCK_S,
        RESAMPLES,
        SEED,
        &mut |c, idx| {
            let l = if c { cand } else { base };
            l.quantiles(idx, &[q], &mut counts)[0].map(|us| us as f64 / 1000.0)
        },
    )
}

#[cfg(test)]
mod tests {
    use super::super::bootstrap::SplitMix64;
    use super::*;

    /// A standard normal draw (Box–Muller).
    fn normal(rng: &mut SplitMix64) -> f64 {
        let u = (rng.next_u64() >> 11) as f64 / (1u64 << 53) as f64;
        let v = (rng.next_u64() >> 11) as f64 / (1u64 << 53) as f64;
        (-2.0 * (u.max(1e-300)).ln()).sqrt() * (2.0 * std::f64::consts::PI * v).cos()
    }

    /// `seconds` seconds of `per_second` lognormal latencies (median 20 ms, σ 0.5), each
    /// scaled by `scale`, in buckets of 100 µs (0.5% at the median; HdrHistogram's are 0.1%).
    fn run(rng: &mut SplitMix64, seconds: usize, per_second: usize, scale: f64) -> Latencies {
        let data: Vec<Vec<(u64, u64)>> = (0..seconds)
            .map(|_| {
                let mut counts = std::collections::BTreeMap::new();
                for _ in 0..per_second {
                    let us = 20_000.0 * (0.5 * normal(rng)).exp() * scale;
                    *counts.entry((us as u64 / 100) * 100 + 50).or_insert(0) += 1;
                }
                counts.into_iter().collect()
            })
            .collect();
        Latencies::new(&data)
    }

    /// The p95 of the lognormal above, ms: median × e^(0.5 × 1.6449).
    fn true_p95_ms(scale: f64) -> f64 {
        20.0 * (0.5f64 * 1.644_853_6).exp() * scale
    }

    #[test]
    fn the_interval_covers_a_known_shift_at_about_its_nominal_rate() {
        let mut rng = SplitMix64::new(42);
        let truth = true_p95_ms(1.2) - true_p95_ms(1.0);
        let mut covered = 0;
        for trial in 0..100 {
            let base = run(&mut rng, 40, 200, 1.0);
            let cand = run(&mut rng, 40, 200, 1.2);
            let mut counts = Vec::new();
            let ci = bootstrap::interval((40, 40), BLOCK_S, 400, trial, &mut |c, idx| {
                let l = if c { &cand } else { &base };
                l.quantiles(idx, &[0.95], &mut counts)[0].map(|us| us as f64 / 1000.0)
            })
            .expect("an interval");
            if ci.0 <= truth && truth <= ci.1 {
                covered += 1;
            }
        }
        assert!(
            covered >= 90,
            "covered the true difference in {covered} of 100"
        );
    }

    #[test]
    fn runs_of_one_distribution_are_judged_no_change() {
        let mut rng = SplitMix64::new(7);
        let mut no_change = 0;
        for trial in 0..100 {
            // 8,000 requests a run: a short run at 200 rps.
            let base = run(&mut rng, 40, 200, 1.0);
            let cand = run(&mut rng, 40, 200, 1.0);
            let mut counts = Vec::new();
            let all: Vec<usize> = (0..40).collect();
            let p95 = |l: &Latencies, c: &mut Vec<u64>| {
                l.quantiles(&all, &[0.95], c)[0].map(|us| us as f64 / 1000.0)
            };
            let values = (p95(&base, &mut counts), p95(&cand, &mut counts));
            let ci = bootstrap::interval((40, 40), BLOCK_S, 400, trial, &mut |c, idx| {
                let l = if c { &cand } else { &base };
                l.quantiles(idx, &[0.95], &mut counts)[0].map(|us| us as f64 / 1000.0)
            });
            if judge(values, ci, Better::Lower, 0.05, 0.0) == Judgement::NoChange {
                no_change += 1;
            }
        }
        assert!(no_change >= 90, "no change in {no_change} of 100");
    }
}
