//! What the local controller records as it goes, on the process's clock — cluster-column
//! changes, events, each replica's life, warnings, and each ready replica's CPU counter — and
//! the mean CPU of a replica over the load, read from those counters.

use crate::timeline::{ClusterSample, EventRow, ReplicaLife};
use std::time::{Duration, Instant};

/// What the controller has recorded so far, on the process's clock.
#[derive(Debug, Default)]
pub(super) struct History {
    pub(super) changes: Vec<(Instant, ClusterSample)>,
    pub(super) events: Vec<(Instant, EventRow)>,
    pub(super) lives: Vec<ReplicaLife>,
    pub(super) warnings: Vec<String>,
    /// Each ready replica's CPU counter, every [`CPU_SAMPLE`]: (name, when, CPU used).
    pub(super) cpu: Vec<(String, Instant, Duration)>,
}

/// How often each ready replica's CPU is read for [`History::cpu`].
pub(super) const CPU_SAMPLE: Duration = Duration::from_millis(500);

impl History {
    /// Replica `name`'s mean CPU from `t0` to `end`, millicores: its counter's increases
    /// between samples in that span (a restart starts a new counter) over the span they
    /// cover; `None` with less than one sample period covered.
    pub(super) fn cpu_load_m(&self, name: &str, t0: Instant, end: Instant) -> Option<f64> {
        let samples: Vec<(Instant, Duration)> = self
            .cpu
            .iter()
            .filter(|(n, at, _)| n == name && *at >= t0 && *at <= end)
            .map(|(_, at, c)| (*at, *c))
            .collect();
        let (first, last) = (samples.first()?, samples.last()?);
        let span = last.0.duration_since(first.0);
        if span < CPU_SAMPLE {
            return None;
        }
        let used: Duration = samples
            .windows(2)
            .map(|w| w[1].1.checked_sub(w[0].1).unwrap_or(w[1].1))
            .sum();
        Some((used.as_secs_f64() / span.as_secs_f64() * 1000.0).round())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mean_cpu_over_the_load_counts_increases_across_a_restart_and_only_inside_the_span() {
        let t0 = Instant::now();
        let at = |ms: u64| t0 + Duration::from_millis(ms);
        let cpu = |ms: u64| Duration::from_millis(ms);
        let mut h = History::default();
        for (t, c) in [(0, 100), (500, 300), (1000, 500), (1500, 20), (2000, 220)] {
            h.cpu.push(("a".to_owned(), at(t), cpu(c)));
        }
        h.cpu.push(("b".to_owned(), at(500), cpu(0)));
        h.cpu.push(("a".to_owned(), at(9000), cpu(9000)));
        // 200 + 200 + 20 (the new counter) + 200 ms of CPU over 2 s: 310m.
        assert_eq!(h.cpu_load_m("a", t0, at(2000)), Some(310.0));
        assert_eq!(
            h.cpu_load_m("b", t0, at(2000)),
            None,
            "one sample spans nothing"
        );
        assert_eq!(h.cpu_load_m("c", t0, at(2000)), None);
    }
}
