//! The local "cluster": replica processes (`scaleproof replica`), the balancer in front of
//! them, and the autoscaler, run on a thread and runtime of their own so that nothing they do
//! holds back the load. Each replica's life is recorded as a watched Deployment's pods are —
//! spec and ready replicas, the autoscaler's desired count and CPU, pods by state, and events
//! for every decision — so the run directory, charts and verdict read it like a cluster's,
//! labelled `local`.

use super::balancer::Balancer;
use super::cgroup::Limiter;
use super::control::Control;
use super::history::History;
pub use super::record::WORKLOAD;
use super::record::record;
use super::spawn::start_timeout;
use crate::cluster::ClusterRecording;
use crate::config::LocalOptions;
use crate::timeline::{Calibration, ClusterSample, ReplicaLife};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Why the local replicas could not start.
#[derive(Debug, thiserror::Error)]
pub enum LocalError {
    #[error("cannot find the scaleproof executable to start replicas")]
    Exe(#[source] std::io::Error),
    #[error("cannot start the local replicas")]
    Start(#[source] std::io::Error),
}

/// Running local replicas; [`LocalCluster::finish`] stops them.
#[derive(Debug)]
pub struct LocalCluster {
    base: SocketAddr,
    options: LocalOptions,
    history: Arc<Mutex<History>>,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
    origin: Instant,
    calibration: Option<Calibration>,
    limiter: Limiter,
    logs: Arc<tempfile::TempDir>,
}

impl LocalCluster {
    /// Starts the balancer and `min_replicas` replicas ([`LocalCluster::wait_ready`] waits
    /// for the first);
    /// `calibration` is how `options.work_factor` was found, for the record; `limiter`, where
    /// replica cgroups are made ([`Limiter::detect`]).
    pub fn start(
        options: LocalOptions,
        calibration: Option<Calibration>,
        limiter: Limiter,
        quiet: bool,
    ) -> Result<Self, LocalError> {
        let exe = std::env::current_exe().map_err(LocalError::Exe)?;
        let history = Arc::new(Mutex::new(History::default()));
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(LocalError::Start)?;
        let balancer = Balancer::default();
        let base = runtime
            .block_on(balancer.start())
            .map_err(LocalError::Start)?;
        let (stop, stopped) = tokio::sync::oneshot::channel();
        let origin = Instant::now();
        let logs = Arc::new(tempfile::tempdir().map_err(LocalError::Start)?);
        let mut control = Control::new(
            exe,
            (limiter.clone(), logs.clone()),
            options.clone(),
            balancer,
            (history.clone(), origin),
            quiet,
        );
        control.reconcile().map_err(LocalError::Start)?;
        let thread = std::thread::Builder::new()
            .name("local-replicas".to_owned())
            .spawn(move || runtime.block_on(control.run(stopped)))
            .map_err(LocalError::Start)?;
        Ok(Self {
            base,
            options,
            history,
            stop: Some(stop),
            thread: Some(thread),
            origin,
            calibration,
            limiter,
            logs,
        })
    }

    /// Waits for the first replica's start-up, or the first sign it will not come: a warning
    /// (it exited, or did not become ready in time) ends the wait with that warning.
    pub fn wait_ready(&self) -> Result<(), String> {
        let limit = start_timeout(&self.options) + Duration::from_secs(1);
        let deadline = Instant::now() + limit;
        while self.latest().deploy_ready.unwrap_or(0) == 0 {
            let warned = crate::support::lock::lock(&self.history)
                .warnings
                .first()
                .cloned();
            if let Some(why) = warned {
                return Err(why);
            }
            if Instant::now() >= deadline {
                return Err(format!("none within {limit:?}"));
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        Ok(())
    }

    /// The folder replica commands' logs are written to (`NAME.log`); it goes when the last
    /// holder drops it.
    pub fn logs(&self) -> Arc<tempfile::TempDir> {
        self.logs.clone()
    }

    /// The balancer's address.
    pub fn base(&self) -> SocketAddr {
        self.base
    }

    /// The latest state, in the cluster columns.
    pub fn latest(&self) -> ClusterSample {
        self.monitor().latest()
    }

    /// Reads the latest state from anywhere.
    pub fn monitor(&self) -> LocalMonitor {
        LocalMonitor(self.history.clone())
    }

    /// Stops the autoscaler, drains every replica, and places what happened on the run's
    /// clock: the load started at `t0` and ended at `end`.
    pub fn finish(mut self, t0: Instant, end: Instant) -> (ClusterRecording, Vec<ReplicaLife>) {
        self.stop();
        let h = crate::support::lock::lock(&self.history);
        let mut lives = h.lives.clone();
        for life in &mut lives {
            life.cpu_load_m = h.cpu_load_m(&life.name, t0, end);
        }
        let shift = t0.saturating_duration_since(self.origin).as_secs_f64();
        for life in &mut lives {
            for t in [
                Some(&mut life.started_s),
                life.ready_s.as_mut(),
                life.stopping_s.as_mut(),
                life.exited_s.as_mut(),
            ]
            .into_iter()
            .flatten()
            {
                *t = crate::timeline::round_ms(*t - shift);
            }
        }
        let mut record = record(&self.options);
        record.warnings = h.warnings.clone();
        record.calibration = self.calibration.clone();
        record.cpu_limit = Some(self.cpu_limit());
        let mut recording = ClusterRecording::from_history(record, &h.changes, &h.events, t0, end);
        recording.pods = lives.iter().map(ReplicaLife::pod_row).collect();
        (recording, lives)
    }
}

impl LocalCluster {
    /// Stops the autoscaler and drains every replica (once).
    fn stop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
        self.limiter.remove();
    }

    /// How the replicas' CPU limit is held, in words (banner, `run.json`).
    pub fn cpu_limit(&self) -> String {
        match &self.limiter {
            Limiter::Unavailable(_) => format!(
                "{}; each bundled replica holds itself to it (a cooperative limiter in the process)",
                self.limiter.describe()
            ),
            _ => self.limiter.describe(),
        }
    }
}

impl Drop for LocalCluster {
    fn drop(&mut self) {
        self.stop();
    }
}

/// Reads the latest state of a [`LocalCluster`].
#[derive(Debug, Clone)]
pub struct LocalMonitor(Arc<Mutex<History>>);

impl LocalMonitor {
    pub fn latest(&self) -> ClusterSample {
        crate::support::lock::lock(&self.0)
            .changes
            .last()
            .map(|(_, s)| s.clone())
            .unwrap_or_default()
    }
}
