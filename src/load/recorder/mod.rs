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

use super::bucket::{Bucket, Counts, EndpointBucket, histogram, micros, put};
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
        crate::support::lock::lock(&self.live)
    }

    fn lock_closed(&self) -> MutexGuard<'_, Closed> {
        crate::support::lock::lock(&self.closed)
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

mod close;
#[cfg(test)]
mod tests;
