//! Tests of the recorder: the clock, samples into seconds and endpoints, whole-run sums, and
//! the interval logs.

use super::*;
use crate::load::bucket::{max, quantile};
use crate::timeline::ErrorKind;
use hdrhistogram::serialization::Deserializer;
use hdrhistogram::serialization::interval_log::{IntervalLogIterator, LogEntry};

fn sample(
    rec: &Recorder,
    at_ms: u64,
    latency_ms: u64,
    lag_ms: u64,
    outcome: Outcome,
    ep: Option<&str>,
) -> Sample {
    let done = rec.t0() + Duration::from_millis(at_ms);
    let sent = done - Duration::from_millis(latency_ms);
    Sample {
        due: Some(sent - Duration::from_millis(lag_ms)),
        sent,
        done,
        outcome,
        status: ep.map(|_| 200),
        endpoint: ep.map(Arc::from),
        waited: false,
    }
}

#[test]
fn the_clock_starts_when_the_load_does_and_the_wall_time_moves_with_it() {
    let origin = Instant::now();
    let wall = Utc::now();
    let rec = Recorder::new(origin, wall);
    // Goose took 9 ms to launch the users: second 0 starts then.
    let start = origin + Duration::from_millis(9);
    rec.start_clock(start);
    assert_eq!(rec.t0(), start);
    assert_eq!(rec.started_at(), wall + chrono::Duration::milliseconds(9));
    // 995 ms after the start is second 0; 1,000 ms after it is second 1.
    for at_ms in [995, 1000] {
        rec.record(&sample(&rec, at_ms, 1, 0, Outcome::Ok, None));
    }
    let out = rec.finish(start + Duration::from_secs(2), |_| Gauges::default());
    let requests: Vec<u64> = out.rows.iter().map(|r| r.requests).collect();
    assert_eq!(requests, vec![1, 1]);
    assert_eq!(
        out.rows[0].time,
        rec.started_at()
            .to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
    );
}

#[test]
fn send_lateness_counts_only_the_slots_a_user_waited_for() {
    let rec = Recorder::new(Instant::now(), Utc::now());
    // Second 0: 100 waited-for slots sent 0.1 ms late, one 3 ms late; and 50 slots taken
    // overdue (every user busy) sent 40 ms late: the service's doing, not counted.
    for i in 0..101u64 {
        let mut s = sample(&rec, 100 + i, 1, 0, Outcome::Ok, Some("a"));
        s.due = Some(s.sent - Duration::from_micros(if i == 100 { 3_000 } else { 100 }));
        s.waited = true;
        rec.record(&s);
    }
    for i in 0..50u64 {
        rec.record(&sample(&rec, 300 + i, 1, 40, Outcome::Ok, Some("a")));
    }
    // Second 1: nothing waited for.
    rec.record(&sample(&rec, 1_500, 1, 40, Outcome::Ok, Some("a")));
    let out = rec.finish(rec.t0() + Duration::from_secs(2), |_| Gauges::default());
    let near = |us: Option<u64>, want: u64| us.is_some_and(|v| v.abs_diff(want) <= want / 100);
    let r = &out.rows[0];
    assert!(near(r.send_late_p50_us, 100), "{:?}", r.send_late_p50_us);
    assert!(near(r.send_late_p99_us, 100), "{:?}", r.send_late_p99_us);
    assert!(near(r.send_late_max_us, 3_000), "{:?}", r.send_late_max_us);
    assert_eq!(out.rows[1].send_late_p99_us, None, "unknown, not 0");
    assert!(near(out.totals.send_late_max_us, 3_000));
    assert!(near(out.totals.send_late_p50_us, 100));
}

#[test]
fn each_endpoint_has_its_first_and_last_response_and_its_cold_start() {
    let rec = Recorder::new(Instant::now(), Utc::now());
    // "b" answers 400 times, the first 100 slowly (20 ms) and the rest fast (1 ms), and
    // fails once in the middle; "a" answers twice; a response with no header is nobody's.
    for i in 0..400u64 {
        let ms = if i < 100 { 20 } else { 1 };
        rec.record(&sample(&rec, 1_500 + i * 5, ms, 0, Outcome::Ok, Some("b")));
    }
    rec.record(&sample(
        &rec,
        2_000,
        5,
        0,
        Outcome::Failed(ErrorKind::Status5xx),
        Some("b"),
    ));
    rec.record(&sample(&rec, 250, 3, 0, Outcome::Ok, Some("a")));
    rec.record(&sample(&rec, 4_321, 3, 0, Outcome::Ok, Some("a")));
    rec.record(&sample(&rec, 100, 3, 0, Outcome::Ok, None));
    let out = rec.finish(rec.t0() + Duration::from_secs(5), |_| Gauges::default());
    let names: Vec<&str> = out.served.iter().map(|r| r.pod.as_str()).collect();
    assert_eq!(names, ["a", "b"]);
    let (a, b) = (&out.served[0], &out.served[1]);
    assert_eq!(
        (a.first_served_s, a.last_served_s, a.requests, a.errors),
        (Some(0.25), Some(4.321), 2, 0)
    );
    assert_eq!(
        (b.first_served_s, b.last_served_s, b.requests, b.errors),
        (Some(1.5), Some(3.495), 401, 1)
    );
    // The cold start is the first 100 successes, all slow; over the whole run (100 slow
    // of 400) the median is fast and the p99 slow.
    assert_eq!(b.cold_requests, 100);
    let near = |us: Option<u64>, want: u64| us.is_some_and(|v| v.abs_diff(want) <= want / 100);
    assert!(near(b.cold_p50_raw_us, 20_000), "{:?}", b.cold_p50_raw_us);
    assert!(near(b.cold_p99_raw_us, 20_000), "{:?}", b.cold_p99_raw_us);
    assert!(near(b.p50_raw_us, 1_000), "{:?}", b.p50_raw_us);
    assert!(near(b.p99_raw_us, 20_000), "{:?}", b.p99_raw_us);
    assert_eq!(a.cold_requests, 2);
}

#[test]
fn samples_land_in_the_second_they_completed_with_kinds_and_endpoints() {
    let rec = Recorder::new(Instant::now(), Utc::now());
    rec.record(&sample(&rec, 100, 10, 0, Outcome::Ok, Some("pod-a")));
    rec.record(&sample(&rec, 900, 20, 0, Outcome::Ok, Some("pod-b")));
    rec.record(&sample(&rec, 1100, 30, 50, Outcome::Ok, Some("pod-a")));
    rec.record(&sample(
        &rec,
        1150,
        900,
        0,
        Outcome::Failed(ErrorKind::Status5xx),
        Some("pod-a"),
    ));
    rec.record(&sample(
        &rec,
        1200,
        5,
        0,
        Outcome::Failed(ErrorKind::Connect),
        None,
    ));
    let t0 = rec.t0();
    rec.record_dropped(
        t0 + Duration::from_millis(1500),
        [400, 450, 500].map(|ms| t0 + Duration::from_millis(ms)),
    );
    let rows = rec.close_until(2, 1.0, |s| Gauges {
        users: 10 + s,
        target_rps: Some(5.0),
    });
    assert_eq!(rows.len(), 2);
    assert_eq!(
        (
            rows[0].requests,
            rows[0].ok,
            rows[0].errors,
            rows[0].endpoints
        ),
        (2, 2, 0, Some(2))
    );
    assert_eq!(rows[0].users, 10);
    assert_eq!(
        (
            rows[1].requests,
            rows[1].ok,
            rows[1].err_5xx,
            rows[1].err_connect,
            rows[1].dropped
        ),
        (3, 1, 1, 1, 3)
    );
    assert_eq!((rows[1].ok_rps, rows[1].completed_rps), (1.0, 3.0));
    assert_eq!(rows[1].endpoints, Some(1));
    // Raw latency is of successful requests only: the 900 ms failure is not in it…
    let raw = rows[1].max_raw_us.expect("data");
    assert!((29_900..=30_100).contains(&raw), "{raw}");
    // …but it is in the all-requests figure.
    let all = rows[1].p99_all_raw_us.expect("data");
    assert!((899_000..=901_000).contains(&all), "{all}");
    // Corrected: the ok request from its due time (80 ms) and the three dropped slots at
    // their lag when dropped (1000, 1050, 1100 ms).
    let p50 = rows[1].p50_corrected_us.expect("data");
    let max = rows[1].max_corrected_us.expect("data");
    assert!((999_000..=1_001_000).contains(&p50), "{p50}");
    assert!((1_099_000..=1_101_000).contains(&max), "{max}");
    let rec2 = rec.finish(rec.t0() + Duration::from_millis(2000), |_| {
        Gauges::default()
    });
    assert_eq!(rec2.endpoint_rows.len(), 3);
    assert_eq!(rec2.totals.requests, 5);
    assert_eq!(rec2.totals.dropped, 3);
    assert_eq!(rec2.totals.endpoints, Some(2));
}

#[test]
fn whole_run_figures_are_the_sum_of_the_seconds_exactly() {
    let rec = Recorder::new(Instant::now(), Utc::now());
    let mut all: Histogram<u64> = histogram();
    let mut ok_only: Histogram<u64> = histogram();
    // 3 seconds of varied latencies (1 ms to ~5 s), every 7th request failing.
    for i in 0..3000u64 {
        let latency_ms = 1 + (i * 7919) % 5000;
        let outcome = if i % 7 == 0 {
            Outcome::Failed(ErrorKind::Status5xx)
        } else {
            Outcome::Ok
        };
        rec.record(&sample(&rec, i, latency_ms, 0, outcome, Some("a")));
        put(&mut all, latency_ms * 1000);
        if outcome == Outcome::Ok {
            put(&mut ok_only, latency_ms * 1000);
        }
    }
    let out = rec.finish(rec.t0() + Duration::from_secs(3), |_| Gauges::default());
    let t = &out.totals;
    assert_eq!((t.requests, t.ok, t.err_5xx), (3000, 2571, 429));
    assert_eq!(t.p50_raw_us, quantile(&ok_only, 0.50));
    assert_eq!(t.p99_raw_us, quantile(&ok_only, 0.99));
    assert_eq!(t.max_raw_us, max(&ok_only));
    assert_eq!(t.p99_all_raw_us, quantile(&all, 0.99));
    assert_eq!(t.p99_corrected_us, quantile(&ok_only, 0.99));
    assert_eq!(out.rows.iter().map(|r| r.requests).sum::<u64>(), t.requests);
}

#[test]
fn closed_model_samples_have_no_corrected_latency_and_no_header_is_unknown() {
    let rec = Recorder::new(Instant::now(), Utc::now());
    let mut s = sample(&rec, 100, 10, 0, Outcome::Ok, None);
    s.due = None;
    s.status = Some(200);
    rec.record(&s);
    let out = rec.finish(rec.t0() + Duration::from_secs(1), |_| Gauges::default());
    assert_eq!(out.rows[0].ok, 1);
    assert!(out.rows[0].p95_raw_us.is_some());
    assert_eq!(out.rows[0].p95_corrected_us, None);
    assert_eq!(out.totals.p95_corrected_us, None);
    assert_eq!(
        out.rows[0].endpoints, None,
        "no X-Served-By is unknown, not 0"
    );
    assert_eq!(out.totals.endpoints, None);
}

#[test]
fn generator_health_is_kept_per_second() {
    let rec = Recorder::new(Instant::now(), Utc::now());
    let t0 = rec.t0();
    rec.record_probe(t0 + Duration::from_millis(10), Duration::from_micros(300));
    rec.record_probe(t0 + Duration::from_millis(20), Duration::from_micros(1200));
    rec.record_probe(t0 + Duration::from_millis(30), Duration::from_micros(500));
    rec.record_cpu(0, 42.5);
    let out = rec.finish(t0 + Duration::from_secs(2), |_| Gauges::default());
    assert_eq!(out.rows[0].gen_lag_max_us, Some(1200));
    assert_eq!(out.rows[0].gen_cpu_pct, Some(42.5));
    assert_eq!(
        (out.rows[1].gen_lag_max_us, out.rows[1].gen_cpu_pct),
        (None, None)
    );
}

#[test]
fn empty_seconds_still_get_rows_without_latency() {
    let rec = Recorder::new(Instant::now(), Utc::now());
    rec.record(&sample(&rec, 2500, 1, 0, Outcome::Ok, Some("a")));
    let out = rec.finish(rec.t0() + Duration::from_millis(2500), |_| {
        Gauges::default()
    });
    assert_eq!(out.rows.len(), 3);
    assert_eq!(out.rows[0].requests, 0);
    assert_eq!(out.rows[0].p95_raw_us, None);
    assert!((out.rows[2].span_s - 0.5).abs() < 1e-9);
    assert!((out.rows[2].ok_rps - 2.0).abs() < 1e-9);
}

#[test]
fn interval_logs_hold_one_entry_per_second_and_tag_and_decode_to_the_counts() {
    let rec = Recorder::new(Instant::now(), Utc::now());
    for i in 0..30 {
        rec.record(&sample(&rec, 10 * i + 5, 2, 0, Outcome::Ok, Some("a")));
        rec.record(&sample(
            &rec,
            1000 + 10 * i + 5,
            3,
            0,
            Outcome::Ok,
            Some("b"),
        ));
    }
    let out = rec.finish(rec.t0() + Duration::from_secs(2), |_| Gauges::default());
    let mut deserializer = Deserializer::new();
    let mut per_second = Vec::new();
    for entry in IntervalLogIterator::new(&out.per_second_hlog) {
        if let Ok(LogEntry::Interval(h)) = entry {
            let bytes = base64_decode(h.encoded_histogram());
            let hist: Histogram<u64> = deserializer
                .deserialize(&mut bytes.as_slice())
                .expect("decode");
            per_second.push((
                h.tag().map(|t| t.as_str().to_owned()),
                h.start_timestamp(),
                hist.len(),
            ));
        }
    }
    // Per second: raw, corrected, all_raw, send_late, then the endpoint that answered.
    let tag = |t: &str| Some(t.to_owned());
    let second = |s| Duration::from_secs(s);
    assert_eq!(
        per_second,
        vec![
            (tag("raw"), second(0), 30),
            (tag("corrected"), second(0), 30),
            (tag("all_raw"), second(0), 30),
            (tag("send_late"), second(0), 0),
            (tag("endpoint=a"), second(0), 30),
            (tag("raw"), second(1), 30),
            (tag("corrected"), second(1), 30),
            (tag("all_raw"), second(1), 30),
            (tag("send_late"), second(1), 0),
            (tag("endpoint=b"), second(1), 30),
        ]
    );
    let tags: Vec<String> = IntervalLogIterator::new(&out.total_hlog)
        .filter_map(|e| match e {
            Ok(LogEntry::Interval(h)) => h.tag().map(|t| t.as_str().to_owned()),
            _ => None,
        })
        .collect();
    assert_eq!(
        tags,
        ["raw", "corrected", "all_raw", "endpoint=a", "endpoint=b"]
    );
}

fn base64_decode(text: &str) -> Vec<u8> {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD
        .decode(text)
        .expect("base64")
}
