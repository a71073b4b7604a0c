//! The rules: each expectation evaluated on the timeline and the totals, and the run's state
//! from the checks and the caveats (see the module docs of [`crate::verdict`]).

use super::builder::{Builder, pass_or};
use super::check::{State, Verdict};
use super::scale_out::scale_within;
use crate::scaling::Scaling;
use crate::spec::expectations::Expectations;
use crate::spec::values::number;
use crate::timeline::{
    DROPPED_SHARE_LIMIT, LatencyKind, Timeline, TimelineRow, Totals, WorkloadSource,
};

fn ms(us: Option<u64>) -> Option<f64> {
    us.map(|v| v as f64 / 1000.0)
}

/// Evaluates every expectation that is set.
pub fn evaluate(expect: &Expectations, rows: &[TimelineRow], totals: &Totals) -> Verdict {
    evaluate_for(expect, &Timeline::new(rows), totals)
}

/// [`evaluate`] on a timeline that knows where its replica columns came from.
pub fn evaluate_for(expect: &Expectations, t: &Timeline<'_>, totals: &Totals) -> Verdict {
    evaluate_with(expect, t, totals, None)
}

/// [`evaluate_for`] with the run's pod analysis, which the pod expectations
/// (`new_pod_serves_within`, `scale_in_errors`, `max_pod_share`) are judged on; without it
/// they are inconclusive.
pub fn evaluate_with(
    expect: &Expectations,
    t: &Timeline<'_>,
    totals: &Totals,
    scaling: Option<&Scaling>,
) -> Verdict {
    let t = *t;
    let health = t.generator_health();
    let dropped = totals.dropped_share().unwrap_or(0.0);
    let mut caveats = Vec::new();
    if health.saturated {
        caveats.push(format!(
            "the load generator was saturated in {} of {} seconds with traffic (worker CPU ≥ {:.0}% or timer lag ≥ {} ms): it may have been the bottleneck",
            health.saturated_seconds,
            health.busy_seconds,
            crate::timeline::GEN_CPU_SATURATED_PCT,
            crate::timeline::GEN_LAG_SATURATED_US / 1000
        ));
    }
    if dropped > DROPPED_SHARE_LIMIT {
        caveats.push(format!(
            "{:.2}% of the planned send slots were dropped (limit {:.0}%): the planned load was not offered",
            dropped * 100.0,
            DROPPED_SHARE_LIMIT * 100.0
        ));
    }
    // A shortfall a saturated generator may have caused is not the service's failure. Dropped
    // slots are not that: with the generator healthy, a slot is dropped because every user was
    // still waiting on the service, and the corrected latency already counts it.
    let generator_suspect = health.saturated;
    let suspect_note = "the generator may have caused this (see the caveats)";
    let mut b = Builder { checks: Vec::new() };

    if let Some(want) = expect.rps {
        let window = t.sustain_window();
        let source = format!("best {window} s window of successful requests/s");
        let wanted = format!("≥ {} ok rps", number(want, 0));
        match t.sustained_ok_rps() {
            Some(best) if best >= want => {
                b.push(
                    "rps",
                    wanted,
                    format!("{} ok rps", number(best, 1)),
                    State::Pass,
                    &source,
                );
            }
            Some(best) => {
                let completed = t.sustained_completed_rps().unwrap_or(0.0);
                let state = if completed >= want || !generator_suspect {
                    State::Fail
                } else {
                    State::Inconclusive
                };
                b.push(
                    "rps",
                    wanted,
                    format!("{} ok rps", number(best, 1)),
                    state,
                    &source,
                );
                if completed >= want {
                    b.note(format!(
                        "{} requests/s completed, but failed requests are not throughput",
                        number(completed, 1)
                    ));
                } else if state == State::Inconclusive {
                    b.note(suspect_note);
                }
            }
            None => b.push(
                "rps",
                wanted,
                "no data: no second recorded".into(),
                State::Inconclusive,
                &source,
            ),
        }
    }

    if let Some(want) = expect.replicas {
        let source = if t.has_cluster() && t.workload() == WorkloadSource::Local {
            "most ready LOCAL replicas at the end of a second (processes on this machine, simulated: not a cluster)"
        } else if t.has_cluster() {
            "most ready replicas of the Deployment at the end of a second (status.readyReplicas, cluster watch)"
        } else {
            "most distinct X-Served-By endpoints in one second (no cluster data)"
        };
        let wanted = format!("≥ {want}");
        match t.most_ready_replicas() {
            Some(most) => b.push(
                "replicas",
                wanted,
                most.to_string(),
                pass_or(most >= u64::from(want), State::Fail),
                source,
            ),
            None => b.push(
                "replicas",
                wanted,
                "no data: replicas unknown".into(),
                State::Inconclusive,
                source,
            ),
        }
    }

    let kind = t.latency_kind();
    let source = match kind {
        LatencyKind::Corrected => {
            "whole run, corrected: successful requests from their due time, dropped slots at their lag"
        }
        LatencyKind::Raw => {
            "whole run, raw: successful requests from the send (closed model: no due time to correct from)"
        }
    };
    for (name, want, value) in [
        ("p95", expect.p95_ms, ms(totals.p95_us(kind))),
        ("p99", expect.p99_ms, ms(totals.p99_us(kind))),
    ] {
        let Some(want) = want else { continue };
        let wanted = format!("≤ {want} ms");
        match value {
            Some(got) => {
                let over = if generator_suspect {
                    State::Inconclusive
                } else {
                    State::Fail
                };
                let state = pass_or(got <= want, over);
                b.push(
                    name,
                    wanted,
                    format!("{} ms {}", number(got, 2), kind.label()),
                    state,
                    source,
                );
                if state == State::Inconclusive {
                    b.note(suspect_note);
                }
            }
            None => b.push(
                name,
                wanted,
                "no data: no successful request".into(),
                State::Inconclusive,
                source,
            ),
        }
    }

    if let Some(want) = expect.error_rate {
        let source =
            "(failed requests + dropped slots) / (completed requests + dropped slots), whole run";
        let wanted = format!("≤ {:.2}%", want * 100.0);
        match totals.error_rate() {
            Some(rate) => b.push(
                "error_rate",
                wanted,
                format!("{:.3}%", rate * 100.0),
                pass_or(rate <= want, State::Fail),
                source,
            ),
            None => b.push(
                "error_rate",
                wanted,
                "no data: nothing sent".into(),
                State::Inconclusive,
                source,
            ),
        }
    }

    if let Some(want) = expect.scale_within_s {
        scale_within(&mut b, &t, expect.rps, want);
    }
    super::pods::rules(&mut b, expect, scaling);

    let state = if b.checks.is_empty() {
        State::None
    } else if b.checks.iter().any(|c| c.state == State::Fail) {
        State::Fail
    } else if !caveats.is_empty() || b.checks.iter().any(|c| c.state != State::Pass) {
        State::Inconclusive
    } else {
        State::Pass
    };
    Verdict {
        state,
        checks: b.checks,
        caveats,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::verdict::table;

    /// Seconds at `ok` successful requests/s, `endpoints` serving, nothing failing.
    fn rows(ok: &[f64], endpoints: &[u64]) -> Vec<TimelineRow> {
        ok.iter()
            .zip(endpoints)
            .enumerate()
            .map(|(i, (&r, &e))| TimelineRow {
                endpoints: Some(e),
                target_rps: Some(r),
                ..TimelineRow::with_ok(i as u64, r as u64)
            })
            .collect()
    }

    fn totals(requests: u64, errors: u64, p95_us: Option<u64>) -> Totals {
        Totals {
            requests,
            errors,
            ok: requests - errors,
            p95_raw_us: p95_us,
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

    fn states(v: &Verdict) -> Vec<(&str, State)> {
        v.checks
            .iter()
            .map(|c| (c.name.as_str(), c.state))
            .collect()
    }

    #[test]
    fn exactly_at_the_limit_passes() {
        let r = rows(&[1000.0; 10], &[2; 10]);
        let v = evaluate(
            &demo_expectations(),
            &r,
            &totals(10_000, 100, Some(250_000)),
        );
        assert_eq!(v.state, State::Pass, "{}", table(&v));
        assert_eq!(v.checks.len(), 4);
        assert_eq!(v.checks[2].measured, "250.00 ms corrected");
    }

    #[test]
    fn just_over_the_limit_fails_and_says_what_was_measured() {
        let r = rows(&[999.0; 10], &[1; 10]);
        let v = evaluate(
            &demo_expectations(),
            &r,
            &totals(10_000, 101, Some(250_001)),
        );
        assert_eq!(v.state, State::Fail);
        assert!(
            v.checks.iter().all(|c| c.state == State::Fail),
            "{}",
            table(&v)
        );
        assert_eq!(v.checks[0].measured, "999.0 ok rps");
        assert_eq!(v.checks[2].measured, "250.00 ms corrected");
        assert!(v.checks[1].source.contains("no cluster"));
    }

    #[test]
    fn no_data_is_inconclusive_never_a_pass() {
        let expect = Expectations {
            rps: Some(1.0),
            replicas: Some(1),
            p95_ms: Some(1.0),
            error_rate: Some(0.5),
            scale_within_s: Some(60.0),
            ..Default::default()
        };
        let v = evaluate(&expect, &[], &Totals::default());
        assert_eq!(v.state, State::Inconclusive, "{}", table(&v));
        assert_eq!(v.checks.len(), 5);
        assert!(v.checks.iter().all(|c| c.state == State::Inconclusive));
        assert!(v.checks.iter().all(|c| c.measured.starts_with("no data")));
        assert_eq!(
            evaluate(&Expectations::default(), &[], &Totals::default()).state,
            State::None
        );
    }

    #[test]
    fn a_dead_service_fails_failed_requests_are_neither_throughput_nor_latency() {
        // Every request a refused connection, 28,000 of them a second.
        let r: Vec<TimelineRow> = (0..4)
            .map(|t| TimelineRow {
                t_s: t,
                span_s: 1.0,
                completed_rps: 28_000.0,
                requests: 28_000,
                errors: 28_000,
                err_connect: 28_000,
                p95_all_raw_us: Some(90),
                ..Default::default()
            })
            .collect();
        let t = Totals {
            requests: 112_000,
            errors: 112_000,
            err_connect: 112_000,
            p95_all_raw_us: Some(90),
            ..Default::default()
        };
        let expect = Expectations {
            rps: Some(1000.0),
            p95_ms: Some(10.0),
            ..Default::default()
        };
        let v = evaluate(&expect, &r, &t);
        assert_eq!(v.state, State::Fail, "{}", table(&v));
        assert_eq!(
            states(&v),
            [("rps", State::Fail), ("p95", State::Inconclusive)]
        );
        assert_eq!(v.checks[0].measured, "0.0 ok rps");
        assert!(
            v.checks[0]
                .note
                .as_deref()
                .is_some_and(|n| n.contains("failed requests")),
            "{v:?}"
        );
    }

    #[test]
    fn half_the_requests_failing_cannot_pass_the_rps_expectation() {
        let mut r = rows(&[600.0; 10], &[1; 10]);
        for row in &mut r {
            row.completed_rps = 1200.0;
            row.requests = 1200;
            row.errors = 600;
            row.err_backpressure = 600;
        }
        let expect = Expectations {
            rps: Some(1000.0),
            ..Default::default()
        };
        let v = evaluate(&expect, &r, &totals(12_000, 6_000, Some(1_000)));
        assert_eq!(v.state, State::Fail, "{}", table(&v));
    }

    fn saturate(r: &mut [TimelineRow]) {
        for row in r.iter_mut() {
            row.gen_cpu_pct = Some(99.0);
        }
    }

    #[test]
    fn a_saturated_generator_is_not_a_slow_service() {
        let expect = Expectations {
            rps: Some(1000.0),
            p95_ms: Some(100.0),
            ..Default::default()
        };
        // Short of throughput and over the latency limit while the generator was saturated.
        let mut r = rows(&[800.0; 10], &[1; 10]);
        saturate(&mut r);
        let v = evaluate(&expect, &r, &totals(8_000, 0, Some(300_000)));
        assert_eq!(v.state, State::Inconclusive, "{}", table(&v));
        assert_eq!(
            states(&v),
            [("rps", State::Inconclusive), ("p95", State::Inconclusive)]
        );
        assert_eq!(v.caveats.len(), 1);
        assert!(v.caveats[0].contains("saturated"), "{:?}", v.caveats);
        // Every figure within its limit still does not make a pass.
        let mut r = rows(&[1200.0; 10], &[1; 10]);
        saturate(&mut r);
        let v = evaluate(&expect, &r, &totals(12_000, 0, Some(1_000)));
        assert_eq!(v.state, State::Inconclusive);
        assert!(v.checks.iter().all(|c| c.state == State::Pass));
        // The same shortfall with a healthy generator is the service's.
        let r = rows(&[800.0; 10], &[1; 10]);
        assert_eq!(
            evaluate(&expect, &r, &totals(8_000, 0, Some(300_000))).state,
            State::Fail
        );
    }

    #[test]
    fn dropped_slots_count_as_errors_and_too_many_leave_the_run_inconclusive() {
        let r = rows(&[1000.0; 10], &[2; 10]);
        let mut t = totals(10_000, 0, Some(1_000));
        t.dropped = 200; // 1.96% of 10,200 slots
        let expect = Expectations {
            rps: Some(1000.0),
            ..Default::default()
        };
        let v = evaluate(&expect, &r, &t);
        assert_eq!(v.state, State::Inconclusive, "{}", table(&v));
        assert!(v.caveats[0].contains("dropped"), "{:?}", v.caveats);
        let rate = Expectations {
            error_rate: Some(0.01),
            ..Default::default()
        };
        let v = evaluate(&rate, &r, &t);
        assert_eq!(v.state, State::Fail, "{}", table(&v));
        assert_eq!(v.checks[0].measured, "1.961%");
        // Within the limit, drops still count in the error rate but allow a pass.
        t.dropped = 10;
        let v = evaluate(&rate, &r, &t);
        assert_eq!(v.state, State::Pass, "{}", table(&v));
        assert_eq!(v.checks[0].measured, "0.100%");
    }

    #[test]
    fn an_overloaded_service_fails_on_latency_even_with_slots_dropped() {
        let r = rows(&[1000.0; 10], &[1; 10]);
        let mut t = totals(10_000, 0, Some(1_200_000));
        t.dropped = 2_000;
        let expect = Expectations {
            p95_ms: Some(250.0),
            ..Default::default()
        };
        let v = evaluate(&expect, &r, &t);
        assert_eq!(v.state, State::Fail, "{}", table(&v));
        assert_eq!(v.checks[0].note, None);
    }

    #[test]
    fn a_closed_model_verdict_uses_raw_latency_and_says_so() {
        let mut r = rows(&[100.0; 4], &[1; 4]);
        for row in &mut r {
            row.target_rps = None;
        }
        let mut t = totals(400, 0, Some(2_000));
        t.p95_corrected_us = None;
        let expect = Expectations {
            p95_ms: Some(5.0),
            ..Default::default()
        };
        let v = evaluate(&expect, &r, &t);
        assert_eq!(v.state, State::Pass);
        assert_eq!(v.checks[0].measured, "2.00 ms raw");
        assert!(v.checks[0].source.contains("raw"), "{}", v.checks[0].source);
    }

    #[test]
    fn scale_within_counts_from_the_crossing_to_the_first_new_endpoint() {
        let ok = [100.0, 500.0, 1000.0, 1100.0, 1200.0, 1200.0, 1200.0, 1200.0];
        let eps = [1, 1, 1, 1, 1, 2, 2, 3];
        let r = rows(&ok, &eps);
        assert_eq!(Timeline::new(&r).scale_out_seconds(), vec![5, 7]);
        // A dip and a recovery within the look-back is not a scale-out; a later rise is.
        let r2 = rows(&[10.0; 10], &[2, 2, 1, 2, 2, 2, 2, 1, 1, 1]);
        assert!(Timeline::new(&r2).scale_out_seconds().is_empty());
        let r3 = rows(&[10.0; 9], &[2, 1, 1, 1, 1, 2, 2, 2, 3]);
        assert_eq!(Timeline::new(&r3).scale_out_seconds(), vec![5, 8]);
        let expect = Expectations {
            rps: Some(1000.0),
            scale_within_s: Some(3.0),
            ..Default::default()
        };
        let v = evaluate(&expect, &r, &totals(8000, 0, Some(1000)));
        let c = &v.checks[1];
        assert_eq!((c.measured.as_str(), c.state), ("3 s", State::Pass));
        let expect = Expectations {
            scale_within_s: Some(2.0),
            rps: Some(1000.0),
            ..Default::default()
        };
        assert_eq!(
            evaluate(&expect, &r, &totals(8000, 0, Some(1000))).state,
            State::Fail
        );
    }

    #[test]
    fn a_scale_out_during_the_ramp_counts_as_immediate() {
        // More endpoints at t=2, load reaches 1000 at t=4.
        let ok = [200.0, 400.0, 600.0, 800.0, 1000.0, 1000.0, 1000.0, 1000.0];
        let r = rows(&ok, &[1, 1, 2, 2, 2, 2, 2, 2]);
        let expect = Expectations {
            rps: Some(1000.0),
            scale_within_s: Some(5.0),
            ..Default::default()
        };
        let v = evaluate(&expect, &r, &totals(6000, 0, Some(1000)));
        let c = &v.checks[1];
        assert_eq!(
            (c.measured.as_str(), c.state),
            ("0 s", State::Pass),
            "{}",
            table(&v)
        );
        assert!(
            c.note
                .as_deref()
                .is_some_and(|n| n.contains("during the ramp"))
        );
    }

    #[test]
    fn no_scale_out_fails_only_after_the_allowed_time_has_been_watched() {
        let expect = Expectations {
            rps: Some(1000.0),
            scale_within_s: Some(5.0),
            ..Default::default()
        };
        let long = rows(&[1000.0; 10], &[1; 10]);
        let v = evaluate(&expect, &long, &totals(10_000, 0, Some(1000)));
        assert_eq!(v.checks[1].state, State::Fail, "{}", table(&v));
        let short = rows(&[1000.0; 4], &[1; 4]);
        let v = evaluate(&expect, &short, &totals(4_000, 0, Some(1000)));
        assert_eq!(v.checks[1].state, State::Inconclusive, "{}", table(&v));
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
        let ok = [500.0, 1000.0, 1100.0, 1200.0, 1200.0, 1200.0];
        let spec = [Some(1), Some(1), None, Some(3), Some(3), Some(2)];
        let ready = [Some(1), Some(1), None, Some(1), Some(3), Some(2)];
        let r = with_cluster(rows(&ok, &[1; 6]), &spec, &ready);
        let t = Timeline::new(&r);
        assert!(t.has_cluster());
        // The unknown second neither counts as a change nor hides one.
        assert_eq!(t.scale_out_seconds(), vec![3]);
        let expect = Expectations {
            rps: Some(1000.0),
            replicas: Some(3),
            scale_within_s: Some(2.0),
            ..Default::default()
        };
        let v = evaluate(&expect, &r, &totals(6000, 0, Some(1000)));
        assert_eq!(v.state, State::Pass, "{}", table(&v));
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
    fn unknown_replicas_are_never_zero_and_never_pass() {
        let r = with_cluster(rows(&[100.0; 4], &[2; 4]), &[None; 4], &[None; 4]);
        assert!(!Timeline::new(&r).has_cluster());
        let expect = Expectations {
            replicas: Some(2),
            ..Default::default()
        };
        let v = evaluate(&expect, &r, &totals(400, 0, Some(1000)));
        assert_eq!(v.state, State::Pass);
        assert!(v.checks[0].source.contains("X-Served-By"));
        // A service that sends no endpoint header: replicas are unknown, not 0.
        let mut blind = rows(&[100.0; 4], &[1; 4]);
        for row in &mut blind {
            row.endpoints = None;
        }
        let v = evaluate(&expect, &blind, &totals(400, 0, Some(1000)));
        assert_eq!(
            (v.checks[0].measured.as_str(), v.state),
            ("no data: replicas unknown", State::Inconclusive)
        );
        let within = Expectations {
            scale_within_s: Some(10.0),
            ..Default::default()
        };
        let v = evaluate(&within, &blind, &totals(400, 0, Some(1000)));
        assert_eq!(v.checks[0].state, State::Inconclusive, "{}", table(&v));
    }
}
