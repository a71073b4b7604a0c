//! The open-model pacer: hands out send slots at the plan's rate and admits users to the pool
//! as the load needs them.
//!
//! Slot *k* is due at `t0 + plan.due(k)`. A free user takes the next slot, sleeps until it is
//! due and sends; latency is then measured both from the actual send and from the due time.
//! A slot that no user could start within `max_lag` of its due time is dropped: counted,
//! never sent. Whenever a user takes a slot that is already overdue (every admitted user was
//! busy when it fell due), one more user is admitted, up to the cap.

use super::clock::StartClock;
use crate::scenario::RatePlan;
use std::ops::Range;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::{Duration, Instant};
use tokio::sync::Notify;

/// What a user gets from [`Pacer::take`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Take {
    /// Send at `due`; the `dropped` overdue slots were skipped to get here.
    Send {
        slot: u64,
        due: Instant,
        dropped: Range<u64>,
    },
    /// The plan has no more slots; the `dropped` overdue slots were skipped on the way.
    Exhausted { dropped: Range<u64> },
}

/// Shared by every user of an open-model run.
#[derive(Debug)]
pub struct Pacer {
    plan: RatePlan,
    clock: Arc<StartClock>,
    /// This pacer's slot `j` is the plan's slot `offset + j·stride` (a worker's share).
    offset: u64,
    stride: u64,
    /// Slots of this pacer's share.
    total: u64,
    next: AtomicU64,
    max_lag: Duration,
    admitted: AtomicUsize,
    max_users: usize,
    admission: Notify,
}

impl Pacer {
    /// A pacer whose slot 0 is due at the run clock's `t0` (wherever [`StartClock::start`]
    /// moves it), admitting `initial_users` users to start with.
    pub fn new(
        plan: RatePlan,
        clock: Arc<StartClock>,
        max_lag: Duration,
        initial_users: usize,
        max_users: usize,
    ) -> Self {
        let max_users = max_users.max(1);
        Self {
            offset: 0,
            stride: 1,
            total: plan.total_slots(),
            plan,
            clock,
            next: AtomicU64::new(0),
            max_lag,
            admitted: AtomicUsize::new(initial_users.clamp(1, max_users)),
            max_users,
            admission: Notify::new(),
        }
    }

    /// Paces only the share of worker `index` of `count`: the plan's slots `index`,
    /// `index + count`, … so that the workers' slots interleave.
    pub fn shared(mut self, index: u32, count: u32) -> Self {
        self.offset = u64::from(index);
        self.stride = u64::from(count.max(1));
        self.total = self.local_at_or_after(self.plan.total_slots());
        self
    }

    /// The first of this share's slots whose plan index is at or after `global`.
    fn local_at_or_after(&self, global: u64) -> u64 {
        if global <= self.offset {
            0
        } else {
            (global - self.offset).div_ceil(self.stride)
        }
    }

    /// Requests this pacer sends in second `s` of the plan (all of a second's for an unshared
    /// pacer, fractions of a slot included at the plan's edges).
    pub fn target_in_second(&self, s: u64) -> f64 {
        if self.stride == 1 {
            return self.plan.target_in_second(s);
        }
        let from = self.plan.first_slot_at_or_after(s as f64);
        let to = self.plan.first_slot_at_or_after((s + 1) as f64);
        (self.local_at_or_after(to) - self.local_at_or_after(from)) as f64
    }

    /// The plan being paced.
    pub fn plan(&self) -> &RatePlan {
        &self.plan
    }

    /// When slot `slot` is (or was) due.
    pub fn due_of(&self, slot: u64) -> Instant {
        let global = self.offset + slot * self.stride;
        self.clock.t0()
            + self
                .plan
                .due(global)
                .unwrap_or_else(|| self.plan.duration())
    }

    /// Users admitted so far.
    pub fn admitted(&self) -> usize {
        self.admitted.load(Ordering::Relaxed)
    }

    /// The pool's cap.
    pub fn max_users(&self) -> usize {
        self.max_users
    }

    /// True when user number `index` (0-based) may take slots.
    pub fn is_admitted(&self, index: usize) -> bool {
        index < self.admitted()
    }

    /// Waits until user `index` is admitted. Cancel-safe.
    pub async fn wait_admitted(&self, index: usize) {
        loop {
            let notified = self.admission.notified();
            if self.is_admitted(index) {
                return;
            }
            notified.await;
        }
    }

    /// Takes the next slot at time `now`, skipping (dropping) every slot overdue by more than
    /// `max_lag`.
    pub fn take(&self, now: Instant) -> Take {
        let elapsed = now.saturating_duration_since(self.clock.t0()).as_secs_f64();
        let horizon = elapsed - self.max_lag.as_secs_f64();
        // Slots due before `horizon` can no longer be sent in time.
        let first_sendable = if horizon > 0.0 {
            self.local_at_or_after(self.plan.first_slot_at_or_after(horizon))
        } else {
            0
        };
        let mut current = self.next.load(Ordering::Relaxed);
        loop {
            let slot = current.max(first_sendable);
            if slot >= self.total {
                // Claim the remaining overdue slots once, then report exhaustion.
                return match self.next.compare_exchange_weak(
                    current,
                    self.total.max(current),
                    Ordering::AcqRel,
                    Ordering::Relaxed,
                ) {
                    Ok(_) => Take::Exhausted {
                        dropped: current.min(self.total)..self.total,
                    },
                    Err(actual) if actual >= self.total => Take::Exhausted { dropped: 0..0 },
                    Err(actual) => {
                        current = actual;
                        continue;
                    }
                };
            }
            match self.next.compare_exchange_weak(
                current,
                slot + 1,
                Ordering::AcqRel,
                Ordering::Relaxed,
            ) {
                Ok(_) => {
                    let due = self.due_of(slot);
                    if due < now {
                        self.admit_one();
                    }
                    return Take::Send {
                        slot,
                        due,
                        dropped: current..slot,
                    };
                }
                Err(actual) => current = actual,
            }
        }
    }

    fn admit_one(&self) {
        let mut admitted = self.admitted.load(Ordering::Relaxed);
        while admitted < self.max_users {
            match self.admitted.compare_exchange_weak(
                admitted,
                admitted + 1,
                Ordering::AcqRel,
                Ordering::Relaxed,
            ) {
                Ok(_) => {
                    self.admission.notify_waiters();
                    return;
                }
                Err(actual) => admitted = actual,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn clock(t0: Instant) -> Arc<StartClock> {
        Arc::new(StartClock::new(t0))
    }

    fn plan(text: &str) -> RatePlan {
        RatePlan::parse(text).expect("valid plan")
    }

    #[test]
    fn workers_shares_interleave_and_cover_the_plan_exactly_once() {
        let t0 = Instant::now() + Duration::from_secs(10);
        // 10 slots a second for 1 s, shared by 3 workers: 4 + 3 + 3 slots.
        let mut dues = Vec::new();
        for (index, want) in [(0, 4), (1, 3), (2, 3)] {
            let pacer = Pacer::new(plan("10:0s,10:1s"), clock(t0), Duration::from_secs(1), 1, 1)
                .shared(index, 3);
            assert_eq!(pacer.target_in_second(0), f64::from(want));
            let mut n = 0;
            while let Take::Send { due, .. } = pacer.take(Instant::now()) {
                dues.push(due);
                n += 1;
            }
            assert_eq!(n, want, "worker {index}");
        }
        dues.sort();
        let plan_dues: Vec<Instant> = (0..10)
            .map(|k| t0 + Duration::from_millis(100 * k))
            .collect();
        assert_eq!(dues, plan_dues);
    }

    #[test]
    fn slot_zero_is_due_when_the_clock_starts() {
        let origin = Instant::now() + Duration::from_secs(10);
        let run_clock = clock(origin);
        let pacer = Pacer::new(
            plan("10:0s,10:1s"),
            run_clock.clone(),
            Duration::from_secs(1),
            1,
            1,
        );
        let start = origin + Duration::from_millis(7);
        run_clock.start(start);
        assert_eq!(pacer.due_of(0), start);
        assert_eq!(pacer.due_of(3), start + Duration::from_millis(300));
        match pacer.take(Instant::now()) {
            Take::Send { slot, due, .. } => assert_eq!((slot, due), (0, start)),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn on_time_takes_get_consecutive_slots_and_admit_nobody() {
        let t0 = Instant::now() + Duration::from_secs(10);
        let pacer = Pacer::new(plan("10:0s,10:1s"), clock(t0), Duration::from_secs(1), 2, 8);
        for k in 0..10 {
            match pacer.take(Instant::now()) {
                Take::Send { slot, due, dropped } => {
                    assert_eq!((slot, dropped), (k, k..k));
                    assert_eq!(due, t0 + Duration::from_millis(100 * k));
                }
                other => panic!("slot {k}: {other:?}"),
            }
        }
        assert_eq!(
            pacer.take(Instant::now()),
            Take::Exhausted { dropped: 10..10 }
        );
        assert_eq!(pacer.admitted(), 2);
    }

    #[test]
    fn slots_overdue_past_the_lag_are_dropped_and_late_takes_grow_the_pool() {
        let t0 = Instant::now();
        let pacer = Pacer::new(
            plan("100:0s,100:10s"),
            clock(t0),
            Duration::from_millis(500),
            1,
            3,
        );
        // At t = 2.0 s, slots due before 1.5 s (150 of them) are beyond the lag.
        let Take::Send { slot, dropped, due } = pacer.take(t0 + Duration::from_secs(2)) else {
            panic!("expected a slot")
        };
        assert_eq!((slot, dropped.clone()), (150, 0..150));
        assert_eq!(
            pacer.due_of(dropped.end - 1),
            t0 + Duration::from_millis(1490)
        );
        assert_eq!(due, t0 + Duration::from_millis(1500));
        assert_eq!(pacer.admitted(), 2, "a late take admits one user");
        pacer.take(t0 + Duration::from_secs(2));
        pacer.take(t0 + Duration::from_secs(2));
        assert_eq!(pacer.admitted(), 3, "never beyond the cap");
    }

    #[test]
    fn exhaustion_reports_the_overdue_tail_once() {
        let t0 = Instant::now();
        let pacer = Pacer::new(
            plan("10:0s,10:1s"),
            clock(t0),
            Duration::from_millis(100),
            1,
            1,
        );
        assert_eq!(
            pacer.take(t0 + Duration::from_secs(5)),
            Take::Exhausted { dropped: 0..10 }
        );
        assert!(matches!(
            pacer.take(t0 + Duration::from_secs(5)),
            Take::Exhausted { dropped } if dropped.is_empty()
        ));
    }

    #[tokio::test]
    async fn waiting_users_are_released_when_admitted() {
        let t0 = Instant::now();
        let pacer = std::sync::Arc::new(Pacer::new(
            plan("100:0s,100:10s"),
            clock(t0),
            Duration::from_secs(5),
            1,
            4,
        ));
        let waiter = {
            let pacer = pacer.clone();
            tokio::spawn(async move { pacer.wait_admitted(1).await })
        };
        tokio::task::yield_now().await;
        assert!(!waiter.is_finished());
        pacer.take(t0 + Duration::from_secs(1)); // overdue: admits user 1
        tokio::time::timeout(Duration::from_secs(1), waiter)
            .await
            .expect("admitted user wakes")
            .expect("join");
    }
}
