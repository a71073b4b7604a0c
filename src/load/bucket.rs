//! What the recorder keeps for one open second: counts by outcome, latency histograms (raw
//! and corrected of successful requests, raw of every request), per-endpoint counts, and the
//! generator's health; plus how a request ended ([`Outcome`]) and what one request left
//! ([`Sample`]).

use crate::timeline::{ErrorColumns, ErrorKind};
use hdrhistogram::{Counter, Histogram};
use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// How a request ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Ok,
    Failed(ErrorKind),
}

impl Outcome {
    /// `ok`, or the failure kind's name.
    pub fn name(self) -> &'static str {
        match self {
            Self::Ok => "ok",
            Self::Failed(kind) => kind.name(),
        }
    }

    /// Classifies an HTTP status against the expected ones.
    pub fn from_status(status: u16, expected: &[u16]) -> Self {
        let ok = if expected.is_empty() {
            (200..300).contains(&status)
        } else {
            expected.contains(&status)
        };
        Self::Failed(match status {
            _ if ok => return Self::Ok,
            429 | 503 => ErrorKind::Backpressure,
            400..=499 => ErrorKind::Status4xx,
            500..=599 => ErrorKind::Status5xx,
            _ => ErrorKind::Other,
        })
    }
}

/// One finished request.
#[derive(Debug, Clone)]
pub struct Sample {
    /// When the request was due (open model); `None` in the closed model, which has no due
    /// time and so no corrected latency.
    pub due: Option<Instant>,
    pub sent: Instant,
    pub done: Instant,
    pub outcome: Outcome,
    /// HTTP status when a response arrived.
    pub status: Option<u16>,
    /// Value of the endpoint header, if a response carried one.
    pub endpoint: Option<Arc<str>>,
    /// Open model: the user took the slot before it was due and waited for it, so
    /// `sent - due` is the generator's own lateness (a slot taken overdue, because every
    /// user was busy, is late because of the service instead).
    pub waited: bool,
}

#[derive(Debug, Default, Clone, Copy)]
pub(super) struct Counts {
    pub(super) requests: u64,
    pub(super) ok: u64,
    /// Failed requests, indexed by [`ErrorKind`].
    pub(super) failed: [u64; 6],
    pub(super) dropped: u64,
}

impl Counts {
    pub(super) fn add(&mut self, outcome: Outcome) {
        self.requests += 1;
        match outcome {
            Outcome::Ok => self.ok += 1,
            Outcome::Failed(kind) => self.failed[kind as usize] += 1,
        }
    }

    pub(super) fn errors(&self) -> u64 {
        self.requests - self.ok
    }

    /// Adds another second's counts (the whole run is the sum of its seconds).
    pub(super) fn merge(&mut self, other: &Counts) {
        self.requests += other.requests;
        self.ok += other.ok;
        self.dropped += other.dropped;
        for (total, n) in self.failed.iter_mut().zip(other.failed) {
            *total += n;
        }
    }

    /// Fills the `err_*` columns of `row`.
    pub(super) fn fill_errors(&self, row: &mut impl ErrorColumns) {
        for kind in ErrorKind::ALL {
            *row.errors_of_mut(kind) = self.failed[kind as usize];
        }
    }
}

#[derive(Debug)]
pub(super) struct EndpointBucket {
    pub(super) requests: u64,
    pub(super) errors: u64,
    pub(super) latency: Histogram<u32>,
}

#[derive(Debug)]
pub(super) struct Bucket {
    pub(super) counts: Counts,
    /// Successful requests, send → end of body.
    pub(super) raw: Histogram<u32>,
    /// Successful requests from their due time, and dropped slots at their lag.
    pub(super) corrected: Histogram<u32>,
    /// Every completed request, send → end (failures included).
    pub(super) all_raw: Histogram<u32>,
    pub(super) endpoints: HashMap<Arc<str>, EndpointBucket>,
    pub(super) gen_lag_max: Option<u64>,
    pub(super) gen_cpu_pct: Option<f64>,
    /// How late requests were sent after their due time, for slots taken before they were
    /// due (the user slept until the due time): the instrument's own share of corrected
    /// latency. µs.
    pub(super) send_late: Histogram<u32>,
}

pub fn histogram<T: Counter>() -> Histogram<T> {
    // 3 significant digits: values within 0.1% of the truth; auto-resizing from 1 µs.
    Histogram::new(3).expect("3 significant digits is a valid histogram precision")
}

impl Bucket {
    pub(super) fn new() -> Self {
        Self {
            counts: Counts::default(),
            raw: histogram(),
            corrected: histogram(),
            all_raw: histogram(),
            endpoints: HashMap::new(),
            gen_lag_max: None,
            gen_cpu_pct: None,
            send_late: histogram(),
        }
    }
}

/// Records `v`, growing the histogram as needed (it auto-resizes up to u64 range).
pub(super) fn put<T: Counter>(h: &mut Histogram<T>, v: u64) {
    if h.record(v).is_err() {
        h.saturating_record(v);
    }
}

/// Adds a closed second's histogram into a whole-run one, bucket by bucket (the same
/// precision, so every quantile is the same as recording each value twice would give).
pub(super) fn add_into(total: &mut Histogram<u64>, second: &Histogram<u32>) {
    for v in second.iter_recorded() {
        let (value, n) = (v.value_iterated_to(), u64::from(v.count_at_value()));
        if total.record_n(value, n).is_err() {
            total.saturating_record_n(value, n);
        }
    }
}

pub(super) fn micros(d: Duration) -> u64 {
    (d.as_micros() as u64).max(1)
}

pub fn quantile<T: Counter>(h: &Histogram<T>, q: f64) -> Option<u64> {
    (!h.is_empty()).then(|| h.value_at_quantile(q))
}

pub fn max<T: Counter>(h: &Histogram<T>) -> Option<u64> {
    (!h.is_empty()).then(|| h.max())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_classify_into_exclusive_kinds() {
        assert_eq!(Outcome::from_status(200, &[]), Outcome::Ok);
        assert_eq!(Outcome::from_status(204, &[]), Outcome::Ok);
        assert_eq!(
            Outcome::from_status(302, &[]),
            Outcome::Failed(ErrorKind::Other)
        );
        assert_eq!(
            Outcome::from_status(404, &[]),
            Outcome::Failed(ErrorKind::Status4xx)
        );
        assert_eq!(Outcome::from_status(404, &[404]), Outcome::Ok);
        assert_eq!(
            Outcome::from_status(429, &[]),
            Outcome::Failed(ErrorKind::Backpressure)
        );
        assert_eq!(
            Outcome::from_status(503, &[]),
            Outcome::Failed(ErrorKind::Backpressure)
        );
        assert_eq!(
            Outcome::from_status(500, &[]),
            Outcome::Failed(ErrorKind::Status5xx)
        );
    }
}
