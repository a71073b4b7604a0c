//! Per-request outcomes into per-second buckets: counts, errors by kind, HdrHistograms of raw
//! and corrected latency, and counts and latency per serving endpoint.
//!
//! Memory is bounded by seconds × endpoints, never by requests: a second's histograms are
//! summarised into a timeline row and serialized (compact V2 encoding) when it closes.

use crate::timeline::{EndpointRow, TimelineRow, Totals};
use chrono::{DateTime, Utc};
use hdrhistogram::serialization::interval_log::{IntervalLogWriterBuilder, Tag};
use hdrhistogram::serialization::{Deserializer, Serializer, V2DeflateSerializer};
use hdrhistogram::{Counter, Histogram};
use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant, SystemTime};

/// Endpoint name used when a response has no endpoint header.
pub const NO_ENDPOINT: &str = "(none)";

static NONE_ENDPOINT: std::sync::LazyLock<Arc<str>> =
    std::sync::LazyLock::new(|| Arc::from(NO_ENDPOINT));

/// How a request ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Ok,
    Connect,
    Timeout,
    Client4xx,
    Server5xx,
    Backpressure,
    Other,
}

impl Outcome {
    /// Classifies an HTTP status against the expected ones.
    pub fn from_status(status: u16, expected: &[u16]) -> Self {
        let ok = if expected.is_empty() {
            (200..300).contains(&status)
        } else {
            expected.contains(&status)
        };
        match status {
            _ if ok => Self::Ok,
            429 | 503 => Self::Backpressure,
            400..=499 => Self::Client4xx,
            500..=599 => Self::Server5xx,
            _ => Self::Other,
        }
    }
}

/// One finished request.
#[derive(Debug, Clone)]
pub struct Sample {
    /// When the request was due (open model), else when it was sent.
    pub due: Instant,
    pub sent: Instant,
    pub done: Instant,
    pub outcome: Outcome,
    /// HTTP status when a response arrived.
    pub status: Option<u16>,
    /// Value of the endpoint header, if a response carried one.
    pub endpoint: Option<Arc<str>>,
}

#[derive(Debug, Default, Clone, Copy)]
struct Counts {
    requests: u64,
    ok: u64,
    connect: u64,
    timeout: u64,
    c4xx: u64,
    s5xx: u64,
    backpressure: u64,
    other: u64,
    dropped: u64,
}

impl Counts {
    fn add(&mut self, outcome: Outcome) {
        self.requests += 1;
        match outcome {
            Outcome::Ok => self.ok += 1,
            Outcome::Connect => self.connect += 1,
            Outcome::Timeout => self.timeout += 1,
            Outcome::Client4xx => self.c4xx += 1,
            Outcome::Server5xx => self.s5xx += 1,
            Outcome::Backpressure => self.backpressure += 1,
            Outcome::Other => self.other += 1,
        }
    }

    fn errors(&self) -> u64 {
        self.requests - self.ok
    }
}

#[derive(Debug)]
struct EndpointBucket {
    requests: u64,
    errors: u64,
    latency: Histogram<u32>,
}

#[derive(Debug)]
struct Bucket {
    counts: Counts,
    raw: Histogram<u32>,
    corrected: Histogram<u32>,
    endpoints: HashMap<Arc<str>, EndpointBucket>,
}

fn histogram<T: Counter>() -> Histogram<T> {
    // 3 significant digits: values within 0.1% of the truth; auto-resizing from 1 µs.
    Histogram::new(3).expect("3 significant digits is a valid histogram precision")
}

impl Bucket {
    fn new() -> Self {
        Self {
            counts: Counts::default(),
            raw: histogram(),
            corrected: histogram(),
            endpoints: HashMap::new(),
        }
    }
}

/// Records `v`, growing the histogram as needed (it auto-resizes up to u64 range).
fn put<T: Counter>(h: &mut Histogram<T>, v: u64) {
    if h.record(v).is_err() {
        h.saturating_record(v);
    }
}

fn micros(d: Duration) -> u64 {
    (d.as_micros() as u64).max(1)
}

fn quantile<T: Counter>(h: &Histogram<T>, q: f64) -> Option<u64> {
    (!h.is_empty()).then(|| h.value_at_quantile(q))
}

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
    /// HdrHistogram interval log, one `raw` and one `corrected` entry per second.
    pub per_second_hlog: Vec<u8>,
    /// Interval log of whole-run histograms (`raw`, `corrected`, `endpoint=<name>`).
    pub total_hlog: Vec<u8>,
}

#[derive(Debug)]
struct State {
    open: BTreeMap<u64, Bucket>,
    /// Every second below this has been closed.
    next_to_close: u64,
    rows: Vec<TimelineRow>,
    endpoint_rows: Vec<EndpointRow>,
    /// (second, raw, corrected) of closed seconds, V2 deflate-encoded.
    closed_histograms: Vec<(u64, Vec<u8>, Vec<u8>)>,
    totals: Counts,
    total_raw: Histogram<u64>,
    total_corrected: Histogram<u64>,
    total_endpoints: BTreeMap<Arc<str>, Histogram<u64>>,
    cancelled: u64,
    late_samples: u64,
}

/// Collects samples from every user; cheap to share behind an `Arc`.
#[derive(Debug)]
pub struct Recorder {
    t0: Instant,
    started_at: DateTime<Utc>,
    started_wall: SystemTime,
    state: Mutex<State>,
}

impl Recorder {
    /// A recorder whose second 0 starts at `t0` (wall clock `started_at`).
    pub fn new(t0: Instant, started_at: DateTime<Utc>) -> Self {
        Self {
            t0,
            started_at,
            started_wall: SystemTime::from(started_at),
            state: Mutex::new(State {
                open: BTreeMap::new(),
                next_to_close: 0,
                rows: Vec::new(),
                endpoint_rows: Vec::new(),
                closed_histograms: Vec::new(),
                totals: Counts::default(),
                total_raw: histogram(),
                total_corrected: histogram(),
                total_endpoints: BTreeMap::new(),
                cancelled: 0,
                late_samples: 0,
            }),
        }
    }

    /// The run clock's origin.
    pub fn t0(&self) -> Instant {
        self.t0
    }

    /// Wall-clock time of `t0`.
    pub fn started_at(&self) -> DateTime<Utc> {
        self.started_at
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        // A panic while holding the lock cannot leave the counters half-updated in a way
        // that matters more than losing the run; keep recording.
        self.state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn second_of(&self, at: Instant) -> u64 {
        at.saturating_duration_since(self.t0).as_secs()
    }

    /// Records one finished request in the second it completed.
    pub fn record(&self, sample: &Sample) {
        let raw = micros(sample.done.saturating_duration_since(sample.sent));
        let corrected = micros(
            sample
                .done
                .saturating_duration_since(sample.due.min(sample.sent)),
        );
        let mut state = self.lock();
        let mut second = self.second_of(sample.done);
        if second < state.next_to_close {
            state.late_samples += 1;
            second = state.next_to_close;
        }
        let bucket = state.open.entry(second).or_insert_with(Bucket::new);
        bucket.counts.add(sample.outcome);
        put(&mut bucket.raw, raw);
        put(&mut bucket.corrected, corrected);
        let endpoint = sample
            .endpoint
            .clone()
            .unwrap_or_else(|| NONE_ENDPOINT.clone());
        if sample.status.is_some() {
            let ep = bucket
                .endpoints
                .entry(endpoint.clone())
                .or_insert_with(|| EndpointBucket {
                    requests: 0,
                    errors: 0,
                    latency: histogram(),
                });
            ep.requests += 1;
            ep.errors += u64::from(sample.outcome != Outcome::Ok);
            put(&mut ep.latency, raw);
        }
        state.totals.add(sample.outcome);
        put(&mut state.total_raw, raw);
        put(&mut state.total_corrected, corrected);
        if sample.status.is_some() {
            put(
                state
                    .total_endpoints
                    .entry(endpoint)
                    .or_insert_with(histogram),
                raw,
            );
        }
    }

    /// Counts send slots dropped at `at`.
    pub fn record_dropped(&self, at: Instant, n: u64) {
        if n == 0 {
            return;
        }
        let mut state = self.lock();
        let second = self.second_of(at).max(state.next_to_close);
        state
            .open
            .entry(second)
            .or_insert_with(Bucket::new)
            .counts
            .dropped += n;
        state.totals.dropped += n;
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
        let mut state = self.lock();
        let mut closed = Vec::new();
        while state.next_to_close < upto {
            let s = state.next_to_close;
            state.next_to_close += 1;
            let bucket = state.open.remove(&s).unwrap_or_else(Bucket::new);
            let span = if s + 1 == upto {
                span_of_last.clamp(0.001, 1.0)
            } else {
                1.0
            };
            let row = self.summarise(s, span, &bucket, gauges(s));
            let mut names: Vec<&Arc<str>> = bucket.endpoints.keys().collect();
            names.sort();
            for name in names {
                let ep = &bucket.endpoints[name];
                state.endpoint_rows.push(EndpointRow {
                    t_s: s,
                    endpoint: name.to_string(),
                    requests: ep.requests,
                    errors: ep.errors,
                    p50_us: quantile(&ep.latency, 0.50),
                    p95_us: quantile(&ep.latency, 0.95),
                    p99_us: quantile(&ep.latency, 0.99),
                    max_us: (!ep.latency.is_empty()).then(|| ep.latency.max()),
                });
            }
            let raw = encode_compact(&bucket.raw);
            let corrected = encode_compact(&bucket.corrected);
            state.closed_histograms.push((s, raw, corrected));
            state.rows.push(row.clone());
            closed.push(row);
        }
        closed
    }

    fn summarise(&self, s: u64, span: f64, bucket: &Bucket, gauges: Gauges) -> TimelineRow {
        let c = &bucket.counts;
        let time = self.started_at + chrono::Duration::seconds(s as i64);
        TimelineRow {
            t_s: s,
            time: time.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
            span_s: span,
            users: gauges.users,
            target_rps: gauges.target_rps,
            achieved_rps: c.requests as f64 / span,
            requests: c.requests,
            ok: c.ok,
            errors: c.errors(),
            err_connect: c.connect,
            err_timeout: c.timeout,
            err_4xx: c.c4xx,
            err_5xx: c.s5xx,
            err_backpressure: c.backpressure,
            err_other: c.other,
            dropped: c.dropped,
            p50_us: quantile(&bucket.raw, 0.50),
            p90_us: quantile(&bucket.raw, 0.90),
            p95_us: quantile(&bucket.raw, 0.95),
            p99_us: quantile(&bucket.raw, 0.99),
            max_us: (!bucket.raw.is_empty()).then(|| bucket.raw.max()),
            p50_corrected_us: quantile(&bucket.corrected, 0.50),
            p95_corrected_us: quantile(&bucket.corrected, 0.95),
            p99_corrected_us: quantile(&bucket.corrected, 0.99),
            max_corrected_us: (!bucket.corrected.is_empty()).then(|| bucket.corrected.max()),
            endpoints: bucket
                .endpoints
                .keys()
                .filter(|k| k.as_ref() != NO_ENDPOINT)
                .count() as u64,
            // Cluster columns are filled from the cluster watch when the run ends.
            ..TimelineRow::default()
        }
    }

    /// Closes what is left and returns the whole recording.
    pub fn finish(&self, end: Instant, gauges: impl Fn(u64) -> Gauges) -> Recording {
        let elapsed = end.saturating_duration_since(self.t0).as_secs_f64();
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
        let state = self.lock();
        let t = &state.totals;
        let totals = Totals {
            requests: t.requests,
            ok: t.ok,
            errors: t.errors(),
            err_connect: t.connect,
            err_timeout: t.timeout,
            err_4xx: t.c4xx,
            err_5xx: t.s5xx,
            err_backpressure: t.backpressure,
            err_other: t.other,
            dropped: t.dropped,
            cancelled: state.cancelled,
            endpoints: state
                .total_endpoints
                .keys()
                .filter(|k| k.as_ref() != NO_ENDPOINT)
                .count() as u64,
            p50_us: quantile(&state.total_raw, 0.50),
            p95_us: quantile(&state.total_raw, 0.95),
            p99_us: quantile(&state.total_raw, 0.99),
            max_us: (!state.total_raw.is_empty()).then(|| state.total_raw.max()),
            p95_corrected_us: quantile(&state.total_corrected, 0.95),
            p99_corrected_us: quantile(&state.total_corrected, 0.99),
        };
        if state.late_samples > 0 {
            tracing::debug!(
                late = state.late_samples,
                "samples recorded after their second closed"
            );
        }
        Recording {
            rows: state.rows.clone(),
            endpoint_rows: state.endpoint_rows.clone(),
            totals,
            per_second_hlog: self.per_second_log(&state.closed_histograms),
            total_hlog: self.total_log(&state),
        }
    }

    fn per_second_log(&self, seconds: &[(u64, Vec<u8>, Vec<u8>)]) -> Vec<u8> {
        let mut out = Vec::new();
        let mut serializer = V2DeflateSerializer::new();
        let mut builder = IntervalLogWriterBuilder::new();
        builder
            .add_comment("scaleproof per-second latency, microseconds; tags: raw, corrected")
            .with_start_time(self.started_wall)
            .with_base_time(self.started_wall);
        let mut log = builder
            .begin_log_with(&mut out, &mut serializer)
            .expect("writing an interval log header into a Vec cannot fail");
        let mut deserializer = Deserializer::new();
        for (s, raw, corrected) in seconds {
            for (tag, bytes) in [("raw", raw), ("corrected", corrected)] {
                let h: Histogram<u64> = deserializer
                    .deserialize(&mut bytes.as_slice())
                    .expect("bytes written by V2DeflateSerializer read back");
                log.write_histogram(
                    &h,
                    Duration::from_secs(*s),
                    Duration::from_secs(1),
                    Tag::new(tag),
                )
                .expect("writing into a Vec cannot fail");
            }
        }
        out
    }

    fn total_log(&self, state: &State) -> Vec<u8> {
        let mut out = Vec::new();
        let mut serializer = V2DeflateSerializer::new();
        let mut builder = IntervalLogWriterBuilder::new();
        builder
            .add_comment(
                "scaleproof whole-run latency, microseconds; tags: raw, corrected, endpoint=<name>",
            )
            .with_start_time(self.started_wall)
            .with_base_time(self.started_wall);
        let mut log = builder
            .begin_log_with(&mut out, &mut serializer)
            .expect("writing an interval log header into a Vec cannot fail");
        let span = Duration::from_secs(state.next_to_close.max(1));
        let mut entries: Vec<(String, &Histogram<u64>)> = vec![
            ("raw".to_owned(), &state.total_raw),
            ("corrected".to_owned(), &state.total_corrected),
        ];
        for (name, h) in &state.total_endpoints {
            entries.push((format!("endpoint={}", tag_safe(name)), h));
        }
        for (tag, h) in entries {
            log.write_histogram(h, Duration::ZERO, span, Tag::new(&tag))
                .expect("writing into a Vec cannot fail");
        }
        out
    }
}

/// Interval-log tags may not hold commas or white space.
fn tag_safe(name: &str) -> String {
    name.chars()
        .map(|c| {
            if c == ',' || c.is_whitespace() {
                '_'
            } else {
                c
            }
        })
        .collect()
}

/// A closed second's histogram, kept until the run ends: V2 + deflate, a few hundred bytes,
/// so that memory stays flat over long runs (bench/soak.py).
fn encode_compact(h: &Histogram<u32>) -> Vec<u8> {
    let mut bytes = Vec::new();
    V2DeflateSerializer::new()
        .serialize(h, &mut bytes)
        .expect("serializing a histogram into a Vec cannot fail");
    bytes
}

#[cfg(test)]
mod tests {
    use super::*;
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
            due: sent - Duration::from_millis(lag_ms),
            sent,
            done,
            outcome,
            status: ep.map(|_| 200),
            endpoint: ep.map(Arc::from),
        }
    }

    #[test]
    fn statuses_classify_into_exclusive_kinds() {
        assert_eq!(Outcome::from_status(200, &[]), Outcome::Ok);
        assert_eq!(Outcome::from_status(204, &[]), Outcome::Ok);
        assert_eq!(Outcome::from_status(302, &[]), Outcome::Other);
        assert_eq!(Outcome::from_status(404, &[]), Outcome::Client4xx);
        assert_eq!(Outcome::from_status(404, &[404]), Outcome::Ok);
        assert_eq!(Outcome::from_status(429, &[]), Outcome::Backpressure);
        assert_eq!(Outcome::from_status(503, &[]), Outcome::Backpressure);
        assert_eq!(Outcome::from_status(500, &[]), Outcome::Server5xx);
    }

    #[test]
    fn samples_land_in_the_second_they_completed_with_kinds_and_endpoints() {
        let rec = Recorder::new(Instant::now(), Utc::now());
        rec.record(&sample(&rec, 100, 10, 0, Outcome::Ok, Some("pod-a")));
        rec.record(&sample(&rec, 900, 20, 0, Outcome::Ok, Some("pod-b")));
        rec.record(&sample(
            &rec,
            1100,
            30,
            50,
            Outcome::Server5xx,
            Some("pod-a"),
        ));
        rec.record(&sample(&rec, 1200, 5, 0, Outcome::Connect, None));
        rec.record_dropped(rec.t0() + Duration::from_millis(1500), 3);
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
            (2, 2, 0, 2)
        );
        assert_eq!(rows[0].users, 10);
        assert_eq!(
            (
                rows[1].requests,
                rows[1].err_5xx,
                rows[1].err_connect,
                rows[1].dropped
            ),
            (2, 1, 1, 3)
        );
        assert_eq!(rows[1].endpoints, 1);
        // Corrected latency includes the 50 ms the request waited past its due time.
        let p99 = rows[1].max_corrected_us.expect("data");
        assert!((79_000..=81_000).contains(&p99), "{p99}");
        let rec2 = rec.finish(rec.t0() + Duration::from_millis(2000), |_| {
            Gauges::default()
        });
        assert_eq!(rec2.endpoint_rows.len(), 3);
        assert_eq!(rec2.totals.requests, 4);
        assert_eq!(rec2.totals.dropped, 3);
        assert_eq!(rec2.totals.endpoints, 2);
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
        assert_eq!(out.rows[0].p95_us, None);
        assert!((out.rows[2].span_s - 0.5).abs() < 1e-9);
        assert!((out.rows[2].achieved_rps - 2.0).abs() < 1e-9);
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
        assert_eq!(per_second.len(), 4);
        assert_eq!(per_second[0], (Some("raw".to_owned()), Duration::ZERO, 30));
        assert_eq!(
            per_second[3],
            (Some("corrected".to_owned()), Duration::from_secs(1), 30)
        );
        let tags: Vec<String> = IntervalLogIterator::new(&out.total_hlog)
            .filter_map(|e| match e {
                Ok(LogEntry::Interval(h)) => h.tag().map(|t| t.as_str().to_owned()),
                _ => None,
            })
            .collect();
        assert_eq!(tags, ["raw", "corrected", "endpoint=a", "endpoint=b"]);
    }

    fn base64_decode(text: &str) -> Vec<u8> {
        use base64::Engine;
        base64::engine::general_purpose::STANDARD
            .decode(text)
            .expect("base64")
    }
}
