//! Wake-ups within microseconds of a send slot's due time.
//!
//! tokio's timer counts in whole milliseconds and rounds every deadline up to the next tick, so
//! a user that slept until its slot was due woke 1–2 ms after it: the instrument's own lateness
//! sat inside every corrected latency (measured in `bench/noise.py`, issue #18). Here one Linux
//! timerfd, registered with tokio's reactor, is armed for the earliest pending due time; a
//! timerfd is a high-resolution timer without timer slack. When it fires, every waiter whose
//! time has come is woken on the same reactor turn and the timer is re-armed for the next.
//! The timer fires [`EARLY`] before the due time and the driver yields until it (other tasks
//! run meanwhile), so the wake-up of an idle core is not part of the send's lateness: on this
//! project's VM that halved it again, from ~45 µs to ~15 µs at the median, for ~3% more CPU.
//! One expiry per slot at most: at 10,000 rps that is 10,000 reads and re-arms a second, a few
//! percent of a core (the requests-per-CPU-second bench checks it did not cost more).
//!
//! Where no timerfd can be had (not Linux, or the descriptor is refused) the open model falls
//! back to tokio's timer, and the send lateness the run records shows the difference.

use std::cmp::{Ordering, Reverse};
use std::collections::BinaryHeap;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

/// Sleeps until an instant, to the microsecond. Dropping it stops its reactor task.
#[derive(Debug)]
pub struct Alarm {
    inner: Option<(Arc<Shared>, JoinHandle<()>)>,
}

impl Alarm {
    /// A precise alarm on the current tokio runtime, or tokio's millisecond timer where a
    /// timerfd is not available (the reason is logged).
    pub fn new() -> Self {
        match Shared::open() {
            Ok(shared) => {
                let shared = Arc::new(shared);
                let driver = tokio::spawn(drive(shared.clone()));
                Self {
                    inner: Some((shared, driver)),
                }
            }
            Err(e) => {
                tracing::warn!(
                    "no precise timer ({e}); sends wake on tokio's millisecond timer, up to 2 ms late"
                );
                Self { inner: None }
            }
        }
    }

    /// An alarm on tokio's millisecond timer (where precision is not needed).
    pub fn tokio() -> Self {
        Self { inner: None }
    }

    /// True when wake-ups come from the timerfd rather than tokio's timer.
    #[cfg(test)]
    fn is_precise(&self) -> bool {
        self.inner.is_some()
    }

    /// Completes at `due` (at once if it has passed). Cancel-safe: a dropped sleep leaves a
    /// stale entry that is discarded when it falls due.
    pub async fn sleep_until(&self, due: Instant) {
        let Some((shared, _)) = &self.inner else {
            tokio::time::sleep_until(due.into()).await;
            return;
        };
        if due <= Instant::now() {
            return;
        }
        let (wake, woken) = oneshot::channel();
        if shared.register(due, wake).is_err() {
            tokio::time::sleep_until(due.into()).await;
            return;
        }
        if woken.await.is_err() {
            // The reactor task is gone (runtime shutting down): finish on tokio's timer.
            tokio::time::sleep_until(due.into()).await;
        }
    }
}

impl Default for Alarm {
    fn default() -> Self {
        Self::new()
    }
}

impl Drop for Alarm {
    fn drop(&mut self) {
        if let Some((_, driver)) = &self.inner {
            driver.abort();
        }
    }
}

/// The timer fires this long before a due time; the rest is waited out by yielding.
const EARLY: Duration = Duration::from_micros(30);

struct Waiter {
    due: Instant,
    seq: u64,
    wake: oneshot::Sender<()>,
}

impl PartialEq for Waiter {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}
impl Eq for Waiter {}
impl PartialOrd for Waiter {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for Waiter {
    fn cmp(&self, other: &Self) -> Ordering {
        (self.due, self.seq).cmp(&(other.due, other.seq))
    }
}

#[derive(Default)]
struct Pending {
    waiters: BinaryHeap<Reverse<Waiter>>,
    /// The due time the timer is armed for, if any.
    armed: Option<Instant>,
    seq: u64,
}

impl Pending {
    /// Wakes every waiter due at `now`; returns the next due time.
    fn wake_due(&mut self, now: Instant) -> Option<Instant> {
        while let Some(Reverse(first)) = self.waiters.peek() {
            if first.due > now {
                return Some(first.due);
            }
            if let Some(Reverse(w)) = self.waiters.pop() {
                // A waiter that gave up (its sleep was dropped) is simply gone.
                let _ = w.wake.send(());
            }
        }
        None
    }
}

#[cfg(target_os = "linux")]
mod fd {
    use nix::sys::time::TimeSpec;
    use nix::sys::timerfd::{ClockId, Expiration, TimerFd, TimerFlags, TimerSetTimeFlags};
    use std::io;
    use std::os::fd::{AsFd, AsRawFd, RawFd};
    use std::time::Duration;
    use tokio::io::unix::AsyncFd;

    /// A non-blocking monotonic timerfd on tokio's reactor (`Instant` is CLOCK_MONOTONIC).
    pub(super) struct Timer(AsyncFd<Owned>);

    /// The timerfd, owned: its descriptor stays open and the same for as long as the
    /// `AsyncFd` holding it lives, which is what registering it with the reactor requires.
    struct Owned(TimerFd);

    impl AsRawFd for Owned {
        fn as_raw_fd(&self) -> RawFd {
            self.0.as_fd().as_raw_fd()
        }
    }

    impl Timer {
        pub(super) fn open() -> io::Result<Self> {
            let fd = TimerFd::new(
                ClockId::CLOCK_MONOTONIC,
                TimerFlags::TFD_NONBLOCK | TimerFlags::TFD_CLOEXEC,
            )?;
            // tokio deprecated the safe constructor because an arbitrary `AsRawFd` may close
            // its descriptor while registered; `Owned` cannot (and the crate forbids unsafe).
            #[allow(deprecated)]
            let registered = AsyncFd::new(Owned(fd))?;
            Ok(Self(registered))
        }

        /// Fires once, `after` from now (at least 1 ns: a zero disarms a timerfd).
        pub(super) fn arm(&self, after: Duration) -> io::Result<()> {
            let after = after.max(Duration::from_nanos(1));
            self.0
                .get_ref()
                .0
                .set(
                    Expiration::OneShot(TimeSpec::from_duration(after)),
                    TimerSetTimeFlags::empty(),
                )
                .map_err(io::Error::from)
        }

        /// Waits until the timer has fired and consumes the expiry.
        pub(super) async fn fired(&self) -> io::Result<()> {
            loop {
                let mut ready = self.0.readable().await?;
                let read = ready.try_io(|fd| {
                    nix::unistd::read(&fd.get_ref().0, &mut [0u8; 8]).map_err(io::Error::from)
                });
                match read {
                    Ok(result) => return result.map(drop),
                    Err(_would_block) => continue,
                }
            }
        }
    }
}

#[cfg(not(target_os = "linux"))]
mod fd {
    use std::io;
    use std::time::Duration;

    pub(super) struct Timer;

    impl Timer {
        pub(super) fn open() -> io::Result<Self> {
            Err(io::Error::new(
                io::ErrorKind::Unsupported,
                "timerfd is Linux-only",
            ))
        }
        pub(super) fn arm(&self, _after: Duration) -> io::Result<()> {
            unreachable!("never opened")
        }
        pub(super) async fn fired(&self) -> io::Result<()> {
            unreachable!("never opened")
        }
    }
}

struct Shared {
    timer: fd::Timer,
    pending: Mutex<Pending>,
}

impl std::fmt::Debug for Shared {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Shared").finish_non_exhaustive()
    }
}

impl Shared {
    fn open() -> std::io::Result<Self> {
        Ok(Self {
            timer: fd::Timer::open()?,
            pending: Mutex::new(Pending::default()),
        })
    }

    fn lock(&self) -> MutexGuard<'_, Pending> {
        // A panic elsewhere cannot leave the heap inconsistent: keep going.
        self.pending.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Queues a waiter and arms the timer earlier if it is the first due.
    fn register(&self, due: Instant, wake: oneshot::Sender<()>) -> std::io::Result<()> {
        let mut pending = self.lock();
        let seq = pending.seq;
        pending.seq += 1;
        pending.waiters.push(Reverse(Waiter { due, seq, wake }));
        if pending.armed.is_none_or(|armed| due < armed) {
            self.timer
                .arm(due.saturating_duration_since(Instant::now() + EARLY))?;
            pending.armed = Some(due);
        }
        Ok(())
    }
}

/// The reactor task: on every expiry, wakes the waiters due and re-arms for the next.
async fn drive(shared: Arc<Shared>) {
    loop {
        if let Err(e) = shared.timer.fired().await {
            tracing::warn!("the precise timer failed ({e}); waiters finish on tokio's timer");
            // Dropping the senders makes every waiter fall back to tokio's timer.
            shared.lock().waiters.clear();
            return;
        }
        // Woken EARLY before the first due time: wait out the rest on the reactor, letting
        // every other task run in between.
        let next = loop {
            let next = shared.lock().wake_due(Instant::now());
            match next {
                Some(due) if due <= Instant::now() + EARLY => tokio::task::yield_now().await,
                other => break other,
            }
        };
        let mut pending = shared.lock();
        pending.armed = next;
        if let Some(next) = pending.armed
            && let Err(e) = shared
                .timer
                .arm(next.saturating_duration_since(Instant::now() + EARLY))
        {
            tracing::warn!("cannot re-arm the precise timer ({e})");
            pending.waiters.clear();
            pending.armed = None;
        }
    }
}

/// How late a wake-up may be in [`tests`]: generous for a loaded 2-core CI machine; the
/// precision itself is measured in `bench/noise.py`, not asserted here.
#[cfg(test)]
const TEST_SLACK: Duration = Duration::from_millis(500);

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn wakes_in_due_order_and_never_early() {
        let alarm = Arc::new(Alarm::new());
        assert!(alarm.is_precise(), "timerfd is available on Linux");
        let start = Instant::now();
        let order = Arc::new(Mutex::new(Vec::new()));
        let mut tasks = Vec::new();
        // Registered out of order: the latest first, so each new one re-arms the timer.
        for k in (1..=5u64).rev() {
            let (alarm, order) = (alarm.clone(), order.clone());
            let due = start + Duration::from_millis(20 * k);
            tasks.push(tokio::spawn(async move {
                alarm.sleep_until(due).await;
                let woke = Instant::now();
                order.lock().expect("not poisoned").push(k);
                (due, woke)
            }));
        }
        for t in tasks {
            let (due, woke) = t.await.expect("the sleeper finished");
            assert!(woke >= due, "woke {:?} early", due - woke);
            assert!(woke - due < TEST_SLACK, "woke {:?} late", woke - due);
        }
        assert_eq!(*order.lock().expect("not poisoned"), vec![1, 2, 3, 4, 5]);
    }

    #[tokio::test]
    async fn a_dropped_sleep_does_not_stop_the_others() {
        let alarm = Arc::new(Alarm::new());
        let start = Instant::now();
        let soon = start + Duration::from_millis(10);
        let later = start + Duration::from_millis(30);
        // The earliest waiter gives up before its time.
        tokio::select! {
            biased;
            () = alarm.sleep_until(soon) => panic!("the sleep was cancelled before its time"),
            () = std::future::ready(()) => {}
        }
        alarm.sleep_until(later).await;
        assert!(Instant::now() >= later);
        assert!(alarm.shared_is_empty());
    }

    #[tokio::test]
    async fn a_past_due_time_returns_at_once() {
        let alarm = Alarm::new();
        let past = Instant::now() - Duration::from_millis(5);
        alarm.sleep_until(past).await;
        assert!(alarm.shared_is_empty());
    }

    impl Alarm {
        fn shared_is_empty(&self) -> bool {
            self.inner
                .as_ref()
                .is_some_and(|(s, _)| s.lock().waiters.is_empty())
        }
    }
}
