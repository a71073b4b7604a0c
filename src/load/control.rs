//! Stopping a run: the first stop reason wins, and every user can wait for it.

use std::sync::atomic::{AtomicBool, AtomicU8, Ordering};
use tokio::sync::Notify;

/// Why the load stopped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EndReason {
    /// The plan or run time finished.
    Completed,
    /// A signal stopped the run early.
    Interrupted(Signal),
}

/// Signals that stop a run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Signal {
    Int,
    Term,
}

impl Signal {
    /// Conventional exit status of a process stopped by this signal (128 + number).
    pub fn exit_code(self) -> u8 {
        match self {
            Self::Int => 130,
            Self::Term => 143,
        }
    }
}

impl std::fmt::Display for EndReason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Completed => f.write_str("completed"),
            Self::Interrupted(Signal::Int) => f.write_str("interrupted (SIGINT)"),
            Self::Interrupted(Signal::Term) => f.write_str("interrupted (SIGTERM)"),
        }
    }
}

/// Shared stop switch of one run. Checked on every request, so it is an atomic and two
/// `Notify`s rather than a channel.
#[derive(Debug, Default)]
pub struct RunControl {
    /// 0 running, 1 completed, 2 SIGINT, 3 SIGTERM.
    state: AtomicU8,
    started: AtomicBool,
    start: Notify,
    stopped: Notify,
    interrupted: Notify,
}

impl RunControl {
    pub fn new() -> Self {
        Self::default()
    }

    /// Stops the run for `reason` unless it is already stopping; true if this call stopped it.
    pub fn stop(&self, reason: EndReason) -> bool {
        let code = match reason {
            EndReason::Completed => 1,
            EndReason::Interrupted(Signal::Int) => 2,
            EndReason::Interrupted(Signal::Term) => 3,
        };
        if self
            .state
            .compare_exchange(0, code, Ordering::AcqRel, Ordering::Acquire)
            .is_err()
        {
            return false;
        }
        self.stopped.notify_waiters();
        if code > 1 {
            self.interrupted.notify_waiters();
        }
        true
    }

    /// Opens the start gate: users waiting in [`Self::started`] go. True for the first call.
    pub fn start(&self) -> bool {
        if self.started.swap(true, Ordering::AcqRel) {
            return false;
        }
        self.start.notify_waiters();
        true
    }

    /// True once the load has started.
    pub fn is_started(&self) -> bool {
        self.started.load(Ordering::Acquire)
    }

    /// Waits until the load has started.
    pub async fn started(&self) {
        Self::wait(&self.start, || self.is_started()).await;
    }

    /// The reason, once stopped.
    pub fn reason(&self) -> Option<EndReason> {
        match self.state.load(Ordering::Acquire) {
            1 => Some(EndReason::Completed),
            2 => Some(EndReason::Interrupted(Signal::Int)),
            3 => Some(EndReason::Interrupted(Signal::Term)),
            _ => None,
        }
    }

    /// Resolves once the run is stopping, for any reason.
    pub async fn stopped(&self) {
        Self::wait(&self.stopped, || self.reason().is_some()).await;
    }

    /// Resolves once the run is stopping because of a signal.
    pub async fn interrupted(&self) {
        Self::wait(&self.interrupted, || {
            matches!(self.reason(), Some(EndReason::Interrupted(_)))
        })
        .await;
    }

    async fn wait(notify: &Notify, done: impl Fn() -> bool) {
        let notified = notify.notified();
        tokio::pin!(notified);
        // Register before checking, so a stop between the check and the await is not missed.
        notified.as_mut().enable();
        if done() {
            return;
        }
        notified.await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn first_reason_wins_and_waiters_wake() {
        let control = std::sync::Arc::new(RunControl::new());
        let waiter = {
            let c = control.clone();
            tokio::spawn(async move { c.stopped().await })
        };
        assert!(control.stop(EndReason::Completed));
        assert!(!control.stop(EndReason::Interrupted(Signal::Int)));
        assert_eq!(control.reason(), Some(EndReason::Completed));
        waiter.await.expect("waiter wakes");
        // A completed run is not an interrupted one.
        let interrupted =
            tokio::time::timeout(std::time::Duration::from_millis(20), control.interrupted()).await;
        assert!(interrupted.is_err());
        assert_eq!(
            EndReason::Interrupted(Signal::Term).to_string(),
            "interrupted (SIGTERM)"
        );
        assert_eq!(Signal::Int.exit_code(), 130);
    }
}
