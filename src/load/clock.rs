//! A run clock whose origin moves once, forward, when the load generator is ready: second 0
//! and slot 0 then start at the same instant for the recorder and the pacer, and Goose's own
//! start-up (its set-up, launching the users) is not counted as the first second's latency.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

#[derive(Debug)]
pub struct StartClock {
    origin: Instant,
    /// How far `t0` has moved past `origin`, in nanoseconds.
    shift_ns: AtomicU64,
}

impl StartClock {
    /// A clock whose `t0` is `origin` until [`Self::start`] moves it.
    pub fn new(origin: Instant) -> Self {
        Self {
            origin,
            shift_ns: AtomicU64::new(0),
        }
    }

    /// The clock's current origin.
    pub fn t0(&self) -> Instant {
        self.origin + self.shift()
    }

    /// How far the origin has moved.
    pub fn shift(&self) -> Duration {
        Duration::from_nanos(self.shift_ns.load(Ordering::Acquire))
    }

    /// Moves `t0` to `at` (never backward).
    pub fn start(&self, at: Instant) {
        let shift = at.saturating_duration_since(self.origin).as_nanos();
        self.shift_ns
            .fetch_max(u64::try_from(shift).unwrap_or(u64::MAX), Ordering::AcqRel);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn moves_forward_only() {
        let origin = Instant::now();
        let clock = StartClock::new(origin);
        assert_eq!(clock.t0(), origin);
        clock.start(origin + Duration::from_millis(9));
        assert_eq!(clock.t0(), origin + Duration::from_millis(9));
        clock.start(origin + Duration::from_millis(3));
        assert_eq!(clock.t0(), origin + Duration::from_millis(9));
        assert_eq!(clock.shift(), Duration::from_millis(9));
    }
}
