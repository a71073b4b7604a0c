//! The verdict: expectations evaluated on the timeline. Every expectation gets a row (wanted,
//! measured, pass/fail, and where the measurement came from); the run passes when all do.

use crate::scenario::Expectations;
use crate::timeline::{TimelineRow, Totals};
use serde::{Deserialize, Serialize};

/// One evaluated expectation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Check {
    /// `rps`, `replicas`, `p95`, `p99`, `error_rate`, `scale_within`.
    pub name: String,
    pub wanted: String,
    pub measured: String,
    pub pass: bool,
    /// What the measurement is based on.
    pub source: String,
}

/// All checks of a run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Verdict {
    pub pass: bool,
    pub checks: Vec<Check>,
}

/// Length of the window over which throughput must be sustained: 60 s, or half the run for
/// runs shorter than two minutes (a 30 s demo holds its rate for 15 s).
pub fn sustain_window(rows: usize) -> usize {
    if rows >= 120 { 60 } else { (rows / 2).max(1) }
}

/// Best mean `achieved_rps` over any `window` consecutive seconds.
pub fn best_window_rps(rows: &[TimelineRow], window: usize) -> Option<f64> {
    if rows.is_empty() || window == 0 {
        return None;
    }
    let w = window.min(rows.len());
    rows.windows(w)
        .map(|s| s.iter().map(|r| r.achieved_rps).sum::<f64>() / w as f64)
        .max_by(f64::total_cmp)
}

/// First second whose throughput reaches `rps` (0 without an rps expectation).
pub fn crossing_second(rows: &[TimelineRow], rps: Option<f64>) -> Option<u64> {
    match rps {
        None => rows.first().map(|r| r.t_s),
        Some(rps) => rows.iter().find(|r| r.achieved_rps >= rps).map(|r| r.t_s),
    }
}

/// True when the timeline has replica counts from a watched cluster.
pub fn has_cluster(rows: &[TimelineRow]) -> bool {
    rows.iter()
        .any(|r| r.deploy_spec_replicas.is_some() || r.deploy_ready.is_some())
}

/// Ready replicas in a second: the Deployment's `readyReplicas` when a cluster was watched,
/// else the distinct serving endpoints.
pub fn ready_replicas(row: &TimelineRow, cluster: bool) -> Option<u64> {
    if cluster {
        row.deploy_ready
    } else {
        (row.requests > 0).then_some(row.endpoints)
    }
}

/// Seconds looked back on when deciding whether the endpoint count rose.
const SCALE_LOOKBACK: usize = 3;

/// Seconds at which the service scaled out. With a watched cluster: the seconds whose
/// Deployment `spec.replicas` is above the last known value before them (the HPA's decision
/// taking effect). Without: the seconds in which more endpoints served than in any of the
/// previous three seconds with traffic (debounced, so that an endpoint missing from one
/// quiet second and back in the next is not counted).
pub fn scale_out_seconds(rows: &[TimelineRow]) -> Vec<u64> {
    if has_cluster(rows) {
        let mut last: Option<u64> = None;
        let mut out = Vec::new();
        for r in rows {
            if let Some(spec) = r.deploy_spec_replicas {
                if last.is_some_and(|l| spec > l) {
                    out.push(r.t_s);
                }
                last = Some(spec);
            }
        }
        return out;
    }
    let busy: Vec<&TimelineRow> = rows.iter().filter(|r| r.requests > 0).collect();
    busy.iter()
        .enumerate()
        .skip(1)
        .filter(|(i, r)| {
            let recent = &busy[i.saturating_sub(SCALE_LOOKBACK)..*i];
            r.endpoints > recent.iter().map(|p| p.endpoints).max().unwrap_or(0)
        })
        .map(|(_, r)| r.t_s)
        .collect()
}

fn ms(us: Option<u64>) -> Option<f64> {
    us.map(|v| v as f64 / 1000.0)
}

/// Evaluates every expectation that is set.
pub fn evaluate(expect: &Expectations, rows: &[TimelineRow], totals: &Totals) -> Verdict {
    let mut checks = Vec::new();
    let no_data = |name: &str, wanted: String, source: &str| Check {
        name: name.to_owned(),
        wanted,
        measured: "no data".to_owned(),
        pass: false,
        source: source.to_owned(),
    };
    if let Some(want) = expect.rps {
        let window = sustain_window(rows.len());
        let source = format!("best {window} s window of achieved rps");
        checks.push(match best_window_rps(rows, window) {
            Some(best) => Check {
                name: "rps".into(),
                wanted: format!("≥ {want:.0} rps"),
                measured: format!("{best:.1} rps"),
                pass: best >= want,
                source,
            },
            None => no_data("rps", format!("≥ {want:.0} rps"), &source),
        });
    }
    let cluster = has_cluster(rows);
    if let Some(want) = expect.replicas {
        let source = if cluster {
            "most ready replicas of the Deployment at the end of a second (status.readyReplicas, cluster watch)"
        } else {
            "most distinct X-Served-By endpoints in one second (no cluster data)"
        };
        let most = rows
            .iter()
            .filter_map(|r| ready_replicas(r, cluster))
            .max()
            .filter(|_| totals.requests > 0);
        checks.push(match most {
            Some(most) => Check {
                name: "replicas".into(),
                wanted: format!("≥ {want}"),
                measured: most.to_string(),
                pass: most >= u64::from(want),
                source: source.into(),
            },
            None => no_data("replicas", format!("≥ {want}"), source),
        });
    }
    for (name, want, measured, raw) in [
        (
            "p95",
            expect.p95_ms,
            ms(totals.p95_corrected_us),
            ms(totals.p95_us),
        ),
        (
            "p99",
            expect.p99_ms,
            ms(totals.p99_corrected_us),
            ms(totals.p99_us),
        ),
    ] {
        let Some(want) = want else { continue };
        let source = "whole run, latency from the due time (coordinated-omission corrected)";
        checks.push(match measured.or(raw) {
            Some(got) => Check {
                name: name.into(),
                wanted: format!("≤ {want} ms"),
                measured: format!("{got:.2} ms"),
                pass: got <= want,
                source: source.into(),
            },
            None => no_data(name, format!("≤ {want} ms"), source),
        });
    }
    if let Some(want) = expect.error_rate {
        let source = "failed requests / completed requests, whole run";
        checks.push(if totals.requests == 0 {
            no_data("error_rate", format!("≤ {:.2}%", want * 100.0), source)
        } else {
            let rate = totals.errors as f64 / totals.requests as f64;
            Check {
                name: "error_rate".into(),
                wanted: format!("≤ {:.2}%", want * 100.0),
                measured: format!("{:.3}%", rate * 100.0),
                pass: rate <= want,
                source: source.into(),
            }
        });
    }
    if let Some(want) = expect.scale_within_s {
        let source = if cluster {
            "seconds from load reaching the rps expectation to the Deployment's first scale-out (spec.replicas up)"
        } else {
            "seconds from load reaching the rps expectation to more endpoints serving"
        };
        let crossing = crossing_second(rows, expect.rps);
        let first = crossing.and_then(|c| scale_out_seconds(rows).into_iter().find(|&s| s >= c));
        checks.push(match (crossing, first) {
            (Some(c), Some(s)) => {
                let took = (s - c) as f64;
                Check {
                    name: "scale_within".into(),
                    wanted: format!("≤ {want:.0} s"),
                    measured: format!("{took:.0} s"),
                    pass: took <= want,
                    source: source.into(),
                }
            }
            (None, _) => Check {
                measured: "load never reached the rps expectation".into(),
                ..no_data("scale_within", format!("≤ {want:.0} s"), source)
            },
            (Some(_), None) => Check {
                measured: "no scale-out seen".into(),
                ..no_data("scale_within", format!("≤ {want:.0} s"), source)
            },
        });
    }
    Verdict {
        pass: checks.iter().all(|c| c.pass),
        checks,
    }
}

/// The verdict as a plain-text table for the terminal.
pub fn table(verdict: &Verdict) -> String {
    if verdict.checks.is_empty() {
        return "verdict: no expectations set\n".to_owned();
    }
    let mut out = String::from("expectation   wanted          measured        result  source\n");
    for c in &verdict.checks {
        out.push_str(&format!(
            "{:<13} {:<15} {:<15} {:<7} {}\n",
            c.name,
            c.wanted,
            c.measured,
            if c.pass { "pass" } else { "FAIL" },
            c.source
        ));
    }
    out.push_str(if verdict.pass {
        "verdict: PASS\n"
    } else {
        "verdict: FAIL\n"
    });
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rows(rps: &[f64], endpoints: &[u64]) -> Vec<TimelineRow> {
        rps.iter()
            .zip(endpoints)
            .enumerate()
            .map(|(i, (&r, &e))| TimelineRow {
                t_s: i as u64,
                span_s: 1.0,
                achieved_rps: r,
                requests: r as u64,
                endpoints: e,
                ..Default::default()
            })
            .collect()
    }

    fn totals(requests: u64, errors: u64, p95_us: Option<u64>) -> Totals {
        Totals {
            requests,
            errors,
            ok: requests - errors,
            p95_us,
            p95_corrected_us: p95_us,
            ..Default::default()
        }
    }

    /// ≥ 1000 rps, ≥ 2 replicas, p95 ≤ 250 ms, errors ≤ 1%.
    fn demo_expectations() -> Expectations {
        Expectations {
            rps: Some(1000.0),
            replicas: Some(2),
            p95_ms: Some(250.0),
            error_rate: Some(0.01),
            ..Default::default()
        }
    }

    #[test]
    fn exactly_at_the_limit_passes() {
        let r = rows(&[1000.0; 10], &[2; 10]);
        let v = evaluate(
            &demo_expectations(),
            &r,
            &totals(10_000, 100, Some(250_000)),
        );
        assert!(v.pass, "{}", table(&v));
        assert_eq!(v.checks.len(), 4);
    }

    #[test]
    fn just_over_the_limit_fails_and_says_what_was_measured() {
        let r = rows(&[999.0; 10], &[1; 10]);
        let v = evaluate(
            &demo_expectations(),
            &r,
            &totals(10_000, 101, Some(250_001)),
        );
        assert!(!v.pass);
        assert!(v.checks.iter().all(|c| !c.pass), "{}", table(&v));
        assert_eq!(v.checks[0].measured, "999.0 rps");
        assert_eq!(v.checks[2].measured, "250.00 ms");
        assert!(v.checks[1].source.contains("no cluster"));
    }

    #[test]
    fn no_data_fails_rather_than_passing_vacuously() {
        let expect = Expectations {
            rps: Some(1.0),
            replicas: Some(1),
            p95_ms: Some(1.0),
            error_rate: Some(0.5),
            scale_within_s: Some(60.0),
            ..Default::default()
        };
        let v = evaluate(&expect, &[], &Totals::default());
        assert!(!v.pass);
        assert_eq!(v.checks.len(), 5);
        assert!(v.checks.iter().all(|c| !c.pass));
    }

    #[test]
    fn sustained_rps_needs_the_whole_window() {
        // 20 s run: window 10 s. A 5 s burst at 2000 does not sustain 1500.
        let mut rps = vec![1000.0; 20];
        rps[3..8].fill(2000.0);
        let best = best_window_rps(&rows(&rps, &[1; 20]), sustain_window(20)).expect("data");
        assert!((best - 1500.0).abs() < 1e-9, "{best}");
        assert_eq!(sustain_window(600), 60);
    }

    #[test]
    fn scale_within_counts_from_the_crossing_to_the_first_new_endpoint() {
        let rps = [100.0, 500.0, 1000.0, 1100.0, 1200.0, 1200.0, 1200.0, 1200.0];
        let eps = [1, 1, 1, 1, 1, 2, 2, 3];
        let r = rows(&rps, &eps);
        assert_eq!(scale_out_seconds(&r), vec![5, 7]);
        // A dip and a recovery within the look-back is not a scale-out; a later rise is.
        let r2 = rows(&[10.0; 10], &[2, 2, 1, 2, 2, 2, 2, 1, 1, 1]);
        assert!(scale_out_seconds(&r2).is_empty());
        let r3 = rows(&[10.0; 9], &[2, 1, 1, 1, 1, 2, 2, 2, 3]);
        assert_eq!(scale_out_seconds(&r3), vec![5, 8]);
        let expect = Expectations {
            rps: Some(1000.0),
            scale_within_s: Some(3.0),
            ..Default::default()
        };
        let v = evaluate(&expect, &r, &totals(8000, 0, Some(1000)));
        let c = &v.checks[1];
        assert_eq!((c.measured.as_str(), c.pass), ("3 s", true));
        let expect = Expectations {
            scale_within_s: Some(2.0),
            rps: Some(1000.0),
            ..Default::default()
        };
        assert!(!evaluate(&expect, &r, &totals(8000, 0, Some(1000))).pass);
    }

    fn with_cluster(
        mut r: Vec<TimelineRow>,
        spec: &[Option<u64>],
        ready: &[Option<u64>],
    ) -> Vec<TimelineRow> {
        for (row, (s, d)) in r.iter_mut().zip(spec.iter().zip(ready)) {
            row.deploy_spec_replicas = *s;
            row.deploy_ready = *d;
        }
        r
    }

    #[test]
    fn a_watched_cluster_is_the_source_of_replicas_and_scale_outs() {
        // One endpoint header value seen (e.g. a proxy in front), but the Deployment scaled.
        let rps = [500.0, 1000.0, 1100.0, 1200.0, 1200.0, 1200.0];
        let spec = [Some(1), Some(1), None, Some(3), Some(3), Some(2)];
        let ready = [Some(1), Some(1), None, Some(1), Some(3), Some(2)];
        let r = with_cluster(rows(&rps, &[1; 6]), &spec, &ready);
        assert!(has_cluster(&r));
        // The unknown second neither counts as a change nor hides one.
        assert_eq!(scale_out_seconds(&r), vec![3]);
        let expect = Expectations {
            rps: Some(1000.0),
            replicas: Some(3),
            scale_within_s: Some(2.0),
            ..Default::default()
        };
        let v = evaluate(&expect, &r, &totals(6000, 0, Some(1000)));
        assert!(v.pass, "{}", table(&v));
        let replicas = &v.checks[1];
        assert_eq!(replicas.measured, "3");
        assert!(
            replicas.source.contains("cluster watch"),
            "{}",
            replicas.source
        );
        assert_eq!(v.checks[2].measured, "2 s");
        assert!(v.checks[2].source.contains("spec.replicas"));
    }

    #[test]
    fn unknown_replicas_fall_back_to_endpoints_and_never_count_as_zero_or_pass() {
        let r = with_cluster(rows(&[100.0; 4], &[2; 4]), &[None; 4], &[None; 4]);
        assert!(!has_cluster(&r));
        let expect = Expectations {
            replicas: Some(2),
            ..Default::default()
        };
        let v = evaluate(&expect, &r, &totals(400, 0, Some(1000)));
        assert!(v.pass);
        assert!(v.checks[0].source.contains("X-Served-By"));
        // No cluster data and no traffic: no data, a failure.
        let idle = with_cluster(rows(&[0.0; 4], &[0; 4]), &[None; 4], &[None; 4]);
        let v = evaluate(&expect, &idle, &Totals::default());
        assert_eq!((v.checks[0].measured.as_str(), v.pass), ("no data", false));
    }
}
