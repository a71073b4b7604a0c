//! Closing seconds while the load runs, on a thread of its own: each second a little after it
//! ends, its progress line printed and, with `--live`, published to the live page.

use super::RunError;
use super::progress;
use super::workload::Workload;
use crate::config::RunConfig;
use crate::live::{self, LiveServer};
use crate::load::LoadHandle;
use crate::load::recorder::Gauges;
use crate::timeline::{self, WorkloadSource};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// A second is closed this long after it ends, so requests finishing at its very end are in.
const CLOSE_MARGIN: Duration = Duration::from_millis(100);

/// A task on a thread of its own (a current-thread runtime), stopped and joined on demand:
/// work that must never take a turn from the load's worker threads.
pub(super) struct OwnThread {
    stop: tokio::sync::oneshot::Sender<()>,
    thread: std::thread::JoinHandle<()>,
}

impl OwnThread {
    pub(super) fn spawn(
        name: &str,
        task: impl std::future::Future<Output = ()> + Send + 'static,
    ) -> Result<Self, RunError> {
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_time()
            .build()
            .map_err(RunError::Runtime)?;
        let thread = std::thread::Builder::new()
            .name(name.to_owned())
            .spawn(move || {
                runtime.block_on(async move {
                    tokio::select! {
                        () = task => {}
                        _ = stopped => {}
                    }
                });
            })
            .map_err(RunError::Runtime)?;
        Ok(Self { stop, thread })
    }

    /// Stops the task and waits for its thread to end.
    pub(super) fn stop(self) {
        let _ = self.stop.send(());
        if self.thread.join().is_err() {
            tracing::warn!("a helper thread panicked");
        }
    }
}

/// The live page's side of the closer: each second to publish, and the watch's latest state
/// for its cluster columns.
pub(super) struct LiveFeed {
    pub(super) seconds: live::Seconds,
    sample: Option<Box<dyn Fn() -> timeline::ClusterSample + Send + Sync>>,
}

/// The live feed, shared by the closer and the end of the run.
pub(super) type SharedFeed = Arc<std::sync::Mutex<LiveFeed>>;

impl LiveFeed {
    /// The feed of the live page `server`, its cluster columns read from `workload`.
    pub(super) fn new(
        server: &LiveServer,
        config: &RunConfig,
        workload: &Workload,
        embedded: bool,
    ) -> SharedFeed {
        let source = if embedded {
            WorkloadSource::Local
        } else {
            WorkloadSource::Cluster
        };
        Arc::new(std::sync::Mutex::new(LiveFeed {
            seconds: live::Seconds::new(server.hub(), config.scenario.expect.clone(), source),
            sample: workload.sampler(),
        }))
    }
}

/// Closes each second shortly after it ends and prints its progress line.
pub(super) async fn close_seconds(
    handle: Arc<LoadHandle>,
    last_users: Arc<AtomicU64>,
    quiet: bool,
    planned: Option<Duration>,
    cluster: Option<Box<dyn Fn() -> String + Send + Sync>>,
    live: Option<SharedFeed>,
) {
    handle.control.started().await;
    let t0 = handle.recorder.t0();
    let mut next = 1u64;
    loop {
        let at = t0 + Duration::from_secs(next) + CLOSE_MARGIN;
        tokio::time::sleep_until(at.into()).await;
        let upto = Instant::now()
            .saturating_duration_since(t0 + CLOSE_MARGIN)
            .as_secs();
        let users = handle.users();
        last_users.store(users, Ordering::Relaxed);
        let rows = handle.recorder.close_until(upto, 1.0, |s| Gauges {
            users,
            target_rps: handle.target_rps(s),
        });
        let state = cluster.as_ref().map(|state| state()).unwrap_or_default();
        if !quiet {
            for row in &rows {
                eprintln!("{}{state}", progress::line(row, planned));
            }
        }
        if let Some(feed) = &live
            && !rows.is_empty()
        {
            let totals = handle.recorder.totals();
            let mut feed = feed.lock().unwrap_or_else(|p| p.into_inner());
            let sample = feed.sample.as_ref().map(|s| s());
            for row in rows {
                let line = format!("{}{state}", progress::line(&row, planned));
                let mut row = row;
                if let Some(sample) = &sample {
                    row.set_cluster(sample);
                }
                feed.seconds.publish(row, line, &totals);
            }
        }
        next = upto + 1;
    }
}
