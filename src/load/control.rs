//! Stopping a run: the first stop reason wins, and every user can wait for it.

use tokio::sync::watch;

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

/// Shared stop switch of one run.
#[derive(Debug)]
pub struct RunControl {
    tx: watch::Sender<Option<EndReason>>,
}

impl Default for RunControl {
    fn default() -> Self {
        Self::new()
    }
}

impl RunControl {
    pub fn new() -> Self {
        Self {
            tx: watch::Sender::new(None),
        }
    }

    /// Stops the run for `reason` unless it is already stopping; true if this call stopped it.
    pub fn stop(&self, reason: EndReason) -> bool {
        self.tx.send_if_modified(|current| {
            if current.is_none() {
                *current = Some(reason);
                true
            } else {
                false
            }
        })
    }

    /// The reason, once stopped.
    pub fn reason(&self) -> Option<EndReason> {
        *self.tx.borrow()
    }

    /// Resolves once the run is stopping, for any reason.
    pub async fn stopped(&self) {
        let mut rx = self.tx.subscribe();
        let _ = rx.wait_for(Option::is_some).await;
    }

    /// Resolves once the run is stopping because of a signal.
    pub async fn interrupted(&self) {
        let mut rx = self.tx.subscribe();
        let _ = rx
            .wait_for(|r| matches!(r, Some(EndReason::Interrupted(_))))
            .await;
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
