//! Per-request outcomes into per-second buckets: counts, errors by kind, HdrHistograms of
//! latency (successful requests raw and corrected, every request raw), counts and latency per
//! serving endpoint, and the generator's own health.
//!
//! Corrected latency (open model only) is measured from each slot's due time; a slot dropped
//! because no user could take it within the allowed lag enters the corrected histogram at its
//! lag when it was dropped, so overload shows in the corrected percentiles instead of
//! vanishing from them (coordinated omission through the drop path).
//!
//! Memory is bounded by seconds × endpoints, never by requests: a second's histograms are
//! summarised into a timeline row and serialized (compact V2 encoding) when it closes.
//!
//! Two locks: users take only the one over the open seconds, for a few histogram increments;
//! closing a second takes its bucket out under that lock and does the summarising, merging
//! and encoding under the other, so a close never holds up a send.

use super::bucket::{
    Bucket, Counts, EndpointBucket, add_into, histogram, max, micros, put, quantile,
};
pub use super::bucket::{Outcome, Sample};
use super::clock::StartClock;
use super::errors::{ErrorCatalogue, FailureDetail};
use super::hlog;
use crate::timeline::{
    COLD_REQUESTS, EndpointRow, ErrorKind, ErrorRow, PodRow, TimelineRow, Totals,
};
use chrono::{DateTime, Utc};
use hdrhistogram::Histogram;
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant, SystemTime};

pub use crate::timeline::NO_ENDPOINT;

static NONE_ENDPOINT: std::sync::LazyLock<Arc<str>> =
    std::sync::LazyLock::new(|| Arc::from(NO_ENDPOINT));

/// Values sampled at the moment a second closes.
#[derive(Debug, Clone, Copy, Default)]
pub struct Gauges {
    pub users: u64,
    pub target_rps: Option<f64>,
}

/// Everything the recorder measured, ready to be written to the run directory.
#[derive(Debug)]
pub struct Recording {
    pub rows: Vec<TimelineRow>,
    pub endpoint_rows: Vec<EndpointRow>,
    pub totals: Totals,
    /// HdrHistogram interval log, one `raw`, `corrected` and `all_raw` entry per second.
    pub per_second_hlog: Vec<u8>,
    /// Interval log of whole-run histograms (`raw`, `corrected`, `all_raw`, `endpoint=<name>`).
    pub total_hlog: Vec<u8>,
    /// The error catalogue (`errors.csv`).
    pub errors: Vec<ErrorRow>,
    /// What each named endpoint served: the load side's columns of `pods.csv`.
    pub served: Vec<PodRow>,
}

/// What one named endpoint has served so far.
#[derive(Debug)]
struct Served {
    first: Instant,
    last: Instant,
    /// Raw latency of its first [`COLD_REQUESTS`] successful responses.
    cold: Histogram<u64>,
}

/// What users write to: the open seconds and per-endpoint first/last responses.
#[derive(Debug)]
struct Live {
    open: BTreeMap<u64, Bucket>,
    /// Every second below this has been closed (or is being closed).
    next_to_close: u64,
    served: BTreeMap<Arc<str>, Served>,
    cancelled: u64,
    late_samples: u64,
}

/// What closing seconds builds: rows, whole-run sums, encoded histograms.
#[derive(Debug)]
struct Closed {
    /// Seconds below this are in `rows`.
    upto: u64,
    rows: Vec<TimelineRow>,
    endpoint_rows: Vec<EndpointRow>,
    /// (second, [raw, corrected, all_raw]) of closed seconds, V2 deflate-encoded.
    closed_histograms: Vec<hlog::CompactSecond>,
    totals: Counts,
    total_raw: Histogram<u64>,
    total_corrected: Histogram<u64>,
    total_all_raw: Histogram<u64>,
    total_send_late: Histogram<u64>,
    total_endpoints: BTreeMap<Arc<str>, Histogram<u64>>,
}

/// Collects samples from every user; cheap to share behind an `Arc`.
#[derive(Debug)]
pub struct Recorder {
    /// Second 0 starts at `clock.t0()` ([`Self::start_clock`]).
    clock: Arc<StartClock>,
    /// Wall-clock time of the clock's origin.
    origin_utc: DateTime<Utc>,
    live: Mutex<Live>,
    closed: Mutex<Closed>,
    /// Failure messages; its own lock, taken only for failures.
    errors: ErrorCatalogue,
}

impl Recorder {
    /// A recorder whose second 0 starts at `t0` (wall clock `started_at`).
    pub fn new(t0: Instant, started_at: DateTime<Utc>) -> Self {
        Self {
            clock: Arc::new(StartClock::new(t0)),
            origin_utc: started_at,
            live: Mutex::new(Live {
                open: BTreeMap::new(),
                next_to_close: 0,
                served: BTreeMap::new(),
                cancelled: 0,
                late_samples: 0,
            }),
            closed: Mutex::new(Closed {
                upto: 0,
                rows: Vec::new(),
                endpoint_rows: Vec::new(),
                closed_histograms: Vec::new(),
                totals: Counts::default(),
                total_raw: histogram(),
                total_corrected: histogram(),
                total_all_raw: histogram(),
                total_send_late: histogram(),
                total_endpoints: BTreeMap::new(),
            }),
            errors: ErrorCatalogue::new(),
        }
    }

    /// The run clock's origin.
    pub fn t0(&self) -> Instant {
        self.clock.t0()
    }

    /// The run clock, shared with the pacer and the request log.
    pub fn clock(&self) -> Arc<StartClock> {
        self.clock.clone()
    }

    /// Wall-clock time of `t0`.
    pub fn started_at(&self) -> DateTime<Utc> {
        self.origin_utc + self.clock.shift()
    }

    fn started_wall(&self) -> SystemTime {
        SystemTime::from(self.started_at())
    }

    /// Moves second 0 to start at `at`: the moment the load generator is ready to send, so
    /// its own start-up (Goose's set-up, launching users) is not part of the first second.
    /// Only forward; anything recorded before it falls in second 0.
    pub fn start_clock(&self, at: Instant) {
        self.clock.start(at);
    }

    fn lock(&self) -> MutexGuard<'_, Live> {
        crate::lock::lock(&self.live)
    }

    fn lock_closed(&self) -> MutexGuard<'_, Closed> {
        crate::lock::lock(&self.closed)
    }

    fn second_of(&self, at: Instant) -> u64 {
        at.saturating_duration_since(self.t0()).as_secs()
    }

    /// The open bucket of the second `at` falls in (or the oldest open one, should that
    /// second be closed already).
    fn bucket_at<'a>(&self, state: &'a mut Live, at: Instant) -> &'a mut Bucket {
        let mut second = self.second_of(at);
        if second < state.next_to_close {
            state.late_samples += 1;
            second = state.next_to_close;
        }
        state.open.entry(second).or_insert_with(Bucket::new)
    }

    /// Records one finished request in the second it completed.
    pub fn record(&self, sample: &Sample) {
        let raw = micros(sample.done.saturating_duration_since(sample.sent));
        let ok = sample.outcome == Outcome::Ok;
        let corrected = sample
            .due
            .filter(|_| ok)
            .map(|due| micros(sample.done.saturating_duration_since(due.min(sample.sent))));
        let endpoint = sample
            .endpoint
            .clone()
            .unwrap_or_else(|| NONE_ENDPOINT.clone());
        let mut state = self.lock();
        if sample.status.is_some()
            && let Some(name) = &sample.endpoint
        {
            served(&mut state, name, sample.done, ok, raw);
        }
        let bucket = self.bucket_at(&mut state, sample.done);
        bucket.counts.add(sample.outcome);
        put(&mut bucket.all_raw, raw);
        if ok {
            put(&mut bucket.raw, raw);
        }
        if let Some(c) = corrected {
            put(&mut bucket.corrected, c);
        }
        if sample.waited
            && let Some(due) = sample.due
        {
            put(
                &mut bucket.send_late,
                micros(sample.sent.saturating_duration_since(due)),
            );
        }
        if sample.status.is_some() {
            let ep = bucket
                .endpoints
                .entry(endpoint)
                .or_insert_with(|| EndpointBucket {
                    requests: 0,
                    errors: 0,
                    latency: histogram(),
                });
            ep.requests += 1;
            ep.errors += u64::from(!ok);
            if ok {
                put(&mut ep.latency, raw);
            }
        }
    }
    /// Counts send slots dropped at `at`, each due at one of `dues`: each enters the corrected
    /// histogram at its lag when dropped (`at - due`).
    pub fn record_dropped(&self, at: Instant, dues: impl IntoIterator<Item = Instant>) {
        let mut dues = dues.into_iter().peekable();
        if dues.peek().is_none() {
            return;
        }
        let mut state = self.lock();
        let bucket = self.bucket_at(&mut state, at);
        for due in dues {
            bucket.counts.dropped += 1;
            put(
                &mut bucket.corrected,
                micros(at.saturating_duration_since(due)),
            );
        }
    }

    /// Records how late the generator's probe timer woke at `at`.
    pub fn record_probe(&self, at: Instant, late: Duration) {
        let mut state = self.lock();
        let bucket = self.bucket_at(&mut state, at);
        let late = late.as_micros() as u64;
        bucket.gen_lag_max = Some(bucket.gen_lag_max.map_or(late, |m| m.max(late)));
    }

    /// Records the generator's CPU use over second `second`, unless it is closed already.
    pub fn record_cpu(&self, second: u64, pct: f64) {
        let mut state = self.lock();
        if second >= state.next_to_close {
            state
                .open
                .entry(second)
                .or_insert_with(Bucket::new)
                .gen_cpu_pct = Some(pct);
        }
    }

    /// Adds a failure's message to the error catalogue, in the second `at` falls in.
    pub fn record_failure(&self, at: Instant, kind: ErrorKind, detail: &FailureDetail) {
        self.errors.add(self.second_of(at), kind, detail);
    }

    /// Counts a request abandoned in flight at the end of the run.
    pub fn record_cancelled(&self) {
        self.lock().cancelled += 1;
    }

    /// Closes every second before `upto` (exclusive) and returns their rows.
    /// `span_of_last` is the covered fraction of the last closed second (1.0 unless the run
    /// ended inside it); `gauges(s)` gives users and target rate for second `s`.
    pub fn close_until(
        &self,
        upto: u64,
        span_of_last: f64,
        gauges: impl Fn(u64) -> Gauges,
    ) -> Vec<TimelineRow> {
        // Lock order: closed, then live. The closed lock keeps concurrent closes in order;
        // the users' lock is held only long enough to take the buckets out.
        let mut state = self.lock_closed();
        let buckets: Vec<(u64, Bucket)> = {
            let mut live = self.lock();
            let from = live.next_to_close;
            live.next_to_close = live.next_to_close.max(upto);
            (from..upto)
                .map(|s| (s, live.open.remove(&s).unwrap_or_else(Bucket::new)))
                .collect()
        };
        let mut closed = Vec::new();
        for (s, bucket) in buckets {
            state.upto = s + 1;
            let span = if s + 1 == upto {
                span_of_last.clamp(0.001, 1.0)
            } else {
                1.0
            };
            let row = self.summarise(s, span, &bucket, gauges(s));
            // The whole run is the sum of its seconds.
            state.totals.merge(&bucket.counts);
            add_into(&mut state.total_raw, &bucket.raw);
            add_into(&mut state.total_corrected, &bucket.corrected);
            add_into(&mut state.total_all_raw, &bucket.all_raw);
            add_into(&mut state.total_send_late, &bucket.send_late);
            // The per-second log: the four kinds, then each endpoint (in name order).
            let mut encoded: Vec<(String, Vec<u8>)> = hlog::HISTOGRAM_TAGS
                .iter()
                .zip([
                    &bucket.raw,
                    &bucket.corrected,
                    &bucket.all_raw,
                    &bucket.send_late,
                ])
                .map(|(tag, h)| ((*tag).to_owned(), hlog::encode_compact(h)))
                .collect();
            let mut names: Vec<&Arc<str>> = bucket.endpoints.keys().collect();
            names.sort();
            for name in names {
                let ep = &bucket.endpoints[name];
                encoded.push((hlog::endpoint_tag(name), hlog::encode_compact(&ep.latency)));
                add_into(
                    state
                        .total_endpoints
                        .entry(name.clone())
                        .or_insert_with(histogram),
                    &ep.latency,
                );
                state.endpoint_rows.push(EndpointRow {
                    t_s: s,
                    endpoint: name.to_string(),
                    requests: ep.requests,
                    errors: ep.errors,
                    p50_raw_us: quantile(&ep.latency, 0.50),
                    p95_raw_us: quantile(&ep.latency, 0.95),
                    p99_raw_us: quantile(&ep.latency, 0.99),
                    max_raw_us: max(&ep.latency),
                });
            }
            state.closed_histograms.push((s, encoded));
            state.rows.push(row.clone());
            closed.push(row);
        }
        closed
    }

    fn summarise(&self, s: u64, span: f64, bucket: &Bucket, gauges: Gauges) -> TimelineRow {
        let c = &bucket.counts;
        let time = self.started_at() + chrono::Duration::seconds(s as i64);
        let endpoints = bucket
            .endpoints
            .keys()
            .filter(|k| k.as_ref() != NO_ENDPOINT)
            .count() as u64;
        let mut row = TimelineRow {
            t_s: s,
            time: time.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
            span_s: span,
            users: gauges.users,
            target_rps: gauges.target_rps,
            ok_rps: c.ok as f64 / span,
            completed_rps: c.requests as f64 / span,
            requests: c.requests,
            ok: c.ok,
            errors: c.errors(),
            dropped: c.dropped,
            p50_raw_us: quantile(&bucket.raw, 0.50),
            p90_raw_us: quantile(&bucket.raw, 0.90),
            p95_raw_us: quantile(&bucket.raw, 0.95),
            p99_raw_us: quantile(&bucket.raw, 0.99),
            max_raw_us: max(&bucket.raw),
            p50_corrected_us: quantile(&bucket.corrected, 0.50),
            p90_corrected_us: quantile(&bucket.corrected, 0.90),
            p95_corrected_us: quantile(&bucket.corrected, 0.95),
            p99_corrected_us: quantile(&bucket.corrected, 0.99),
            max_corrected_us: max(&bucket.corrected),
            p95_all_raw_us: quantile(&bucket.all_raw, 0.95),
            p99_all_raw_us: quantile(&bucket.all_raw, 0.99),
            endpoints: (endpoints > 0).then_some(endpoints),
            gen_cpu_pct: bucket.gen_cpu_pct,
            gen_lag_max_us: bucket.gen_lag_max,
            send_late_p50_us: quantile(&bucket.send_late, 0.50),
            send_late_p99_us: quantile(&bucket.send_late, 0.99),
            send_late_max_us: max(&bucket.send_late),
            // Cluster columns are filled from the cluster watch when the run ends.
            ..TimelineRow::default()
        };
        c.fill_errors(&mut row);
        row
    }

    /// The totals of the seconds closed so far, as `run.json` will hold them once every
    /// second is (the live page's running figures).
    pub fn totals(&self) -> Totals {
        let state = self.lock_closed();
        let live = self.lock();
        totals_of(&state, &live)
    }

    /// Closes what is left and returns the whole recording.
    pub fn finish(&self, end: Instant, gauges: impl Fn(u64) -> Gauges) -> Recording {
        let elapsed = end.saturating_duration_since(self.t0()).as_secs_f64();
        let last_open = self.lock().open.keys().next_back().copied();
        let mut upto = elapsed.ceil() as u64;
        if let Some(last) = last_open {
            upto = upto.max(last + 1);
        }
        let span_of_last = if upto as f64 > elapsed {
            1.0 - (upto as f64 - elapsed)
        } else {
            1.0
        };
        self.close_until(upto.max(1), span_of_last, gauges);
        let state = self.lock_closed();
        let live = self.lock();
        let totals = totals_of(&state, &live);
        if live.late_samples > 0 {
            tracing::debug!(
                late = live.late_samples,
                "samples recorded after their second closed"
            );
        }
        Recording {
            rows: state.rows.clone(),
            endpoint_rows: state.endpoint_rows.clone(),
            totals,
            per_second_hlog: hlog::per_second(self.started_wall(), &state.closed_histograms),
            total_hlog: self.total_log(&state),
            errors: self.errors.rows(),
            served: self.served_rows(&live, &state),
        }
    }

    /// The load side's columns of `pods.csv`, one row per named endpoint; its counts are the
    /// sum of its seconds in `endpoints.csv`.
    fn served_rows(&self, live: &Live, state: &Closed) -> Vec<PodRow> {
        let mut counts: BTreeMap<&str, (u64, u64)> = BTreeMap::new();
        for e in &state.endpoint_rows {
            let c = counts.entry(e.endpoint.as_str()).or_default();
            c.0 += e.requests;
            c.1 += e.errors;
        }
        let t0 = self.t0();
        let at = |i: Instant| (i.saturating_duration_since(t0).as_millis() as f64 / 1000.0).into();
        live.served
            .iter()
            .map(|(name, s)| {
                let total = state.total_endpoints.get(name);
                let q = |h: Option<&Histogram<u64>>, p| h.and_then(|h| quantile(h, p));
                let (requests, errors) = counts.get(name.as_ref()).copied().unwrap_or_default();
                PodRow {
                    first_served_s: at(s.first),
                    last_served_s: at(s.last),
                    requests,
                    errors,
                    p50_raw_us: q(total, 0.50),
                    p95_raw_us: q(total, 0.95),
                    p99_raw_us: q(total, 0.99),
                    cold_requests: s.cold.len(),
                    cold_p50_raw_us: quantile(&s.cold, 0.50),
                    cold_p95_raw_us: quantile(&s.cold, 0.95),
                    cold_p99_raw_us: quantile(&s.cold, 0.99),
                    ..PodRow::named(name.as_ref())
                }
            })
            .collect()
    }

    fn total_log(&self, state: &Closed) -> Vec<u8> {
        let span = Duration::from_secs(state.upto.max(1));
        let mut histograms = vec![
            ("raw".to_owned(), &state.total_raw),
            ("corrected".to_owned(), &state.total_corrected),
            ("all_raw".to_owned(), &state.total_all_raw),
        ];
        for (name, h) in &state.total_endpoints {
            histograms.push((hlog::endpoint_tag(name), h));
        }
        hlog::whole_run(self.started_wall(), span, histograms)
    }
}

/// Notes one response from the endpoint `name`: its first and last, and its cold start.
fn served(state: &mut Live, name: &Arc<str>, done: Instant, ok: bool, raw: u64) {
    if name.as_ref() == NO_ENDPOINT {
        return;
    }
    let s = match state.served.get_mut(name) {
        Some(s) => s,
        None => state.served.entry(name.clone()).or_insert(Served {
            first: done,
            last: done,
            cold: histogram(),
        }),
    };
    s.first = s.first.min(done);
    s.last = s.last.max(done);
    if ok && s.cold.len() < COLD_REQUESTS {
        put(&mut s.cold, raw);
    }
}

/// The whole run's totals over the closed seconds (the final ones once every second is).
fn totals_of(state: &Closed, live: &Live) -> Totals {
    let t = &state.totals;
    let mut totals = Totals {
        requests: t.requests,
        ok: t.ok,
        errors: t.errors(),
        dropped: t.dropped,
        cancelled: live.cancelled,
        endpoints: Some(
            state
                .total_endpoints
                .keys()
                .filter(|k| k.as_ref() != NO_ENDPOINT)
                .count() as u64,
        )
        .filter(|&n| n > 0),
        p50_raw_us: quantile(&state.total_raw, 0.50),
        p95_raw_us: quantile(&state.total_raw, 0.95),
        p99_raw_us: quantile(&state.total_raw, 0.99),
        max_raw_us: max(&state.total_raw),
        p50_corrected_us: quantile(&state.total_corrected, 0.50),
        p95_corrected_us: quantile(&state.total_corrected, 0.95),
        p99_corrected_us: quantile(&state.total_corrected, 0.99),
        max_corrected_us: max(&state.total_corrected),
        p95_all_raw_us: quantile(&state.total_all_raw, 0.95),
        p99_all_raw_us: quantile(&state.total_all_raw, 0.99),
        send_late_p50_us: quantile(&state.total_send_late, 0.50),
        send_late_p99_us: quantile(&state.total_send_late, 0.99),
        send_late_max_us: max(&state.total_send_late),
        ..Totals::default()
    };
    t.fill_errors(&mut totals);
    totals
}

#[cfg(test)]
mod tests {
    use super::*;
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
}
