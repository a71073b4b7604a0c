//! The local "cluster": replica processes (`scaleproof replica`), the balancer in front of
//! them, and the autoscaler, run on a thread and runtime of their own so that nothing they do
//! holds back the load. Each replica's life is recorded as a watched Deployment's pods are —
//! spec and ready replicas, the autoscaler's desired count and CPU, pods by state, and events
//! for every decision — so the run directory, charts and verdict read it like a cluster's,
//! labelled `local`.

use super::balancer::Balancer;
use super::cgroup::Limiter;
use super::hpa::{Autoscaler, Observation};
use super::process::exit_text;
pub use super::record::WORKLOAD;
use super::record::record;
use super::spawn::{Phase, Replica, log_tail, start_timeout};
use crate::cluster::ClusterRecording;
use crate::config::LocalOptions;
use crate::timeline::{Calibration, ClusterSample, EventRow, ReplicaLife};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// How often the controller looks at its replicas.
const TICK: Duration = Duration::from_millis(100);
/// Longest a removed replica waits for its connections to close before SIGTERM (a pod's
/// `terminationGracePeriodSeconds`).
const TERMINATION_GRACE: Duration = Duration::from_secs(30);

/// Why the local replicas could not start.
#[derive(Debug, thiserror::Error)]
pub enum LocalError {
    #[error("cannot find the scaleproof executable to start replicas")]
    Exe(#[source] std::io::Error),
    #[error("cannot start the local replicas")]
    Start(#[source] std::io::Error),
    #[error("no local replica became ready: {0}")]
    NotReady(String),
}

#[derive(Debug, Default)]
struct History {
    changes: Vec<(Instant, ClusterSample)>,
    events: Vec<(Instant, EventRow)>,
    lives: Vec<ReplicaLife>,
    warnings: Vec<String>,
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
    /// Starts the balancer and `min_replicas` replicas, and waits until one is ready;
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
        let mut control = Control {
            limiter: limiter.clone(),
            logs: logs.clone(),
            restarts: 0,
            backoff_until: None,
            exe,
            options: options.clone(),
            balancer,
            replicas: Vec::new(),
            spec: options.hpa.min_replicas.max(1),
            autoscaler: Autoscaler::new(options.hpa.clone()),
            desired: None,
            utilization: None,
            next_index: 1,
            history: history.clone(),
            origin,
            quiet,
        };
        control.reconcile().map_err(LocalError::Start)?;
        let thread = std::thread::Builder::new()
            .name("local-replicas".to_owned())
            .spawn(move || runtime.block_on(control.run(stopped)))
            .map_err(LocalError::Start)?;
        let this = Self {
            base,
            options,
            history,
            stop: Some(stop),
            thread: Some(thread),
            origin,
            calibration,
            limiter,
            logs,
        };
        // The first replica's start-up, or the first sign it will not come: a warning (it
        // exited, or did not become ready in time) ends the wait with that warning.
        let limit = start_timeout(&this.options) + Duration::from_secs(1);
        let deadline = Instant::now() + limit;
        while this.latest().deploy_ready.unwrap_or(0) == 0 {
            let warned = crate::support::lock::lock(&this.history)
                .warnings
                .first()
                .cloned();
            if let Some(why) = warned {
                return Err(LocalError::NotReady(why));
            }
            if Instant::now() >= deadline {
                return Err(LocalError::NotReady(format!("none within {limit:?}")));
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        Ok(this)
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

struct Control {
    exe: std::path::PathBuf,
    /// Where replica cgroups are made, or why they cannot be.
    limiter: Limiter,
    /// Where replica commands' output goes (copied into the run directory's `replicas/`).
    logs: Arc<tempfile::TempDir>,
    /// Unexpected exits so far, and no replica is started before this after one.
    restarts: u32,
    backoff_until: Option<Instant>,
    options: LocalOptions,
    balancer: Balancer,
    replicas: Vec<Replica>,
    /// `spec.replicas`.
    spec: u32,
    autoscaler: Autoscaler,
    desired: Option<u32>,
    utilization: Option<f64>,
    next_index: u32,
    history: Arc<Mutex<History>>,
    origin: Instant,
    quiet: bool,
}

impl Control {
    async fn run(mut self, mut stopped: tokio::sync::oneshot::Receiver<()>) {
        let mut tick = tokio::time::interval(TICK);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        // Syncs fall every period from the moment the first replica is ready — when the load
        // starts — so every run's scale decisions come at the same load times. (A real
        // HPA's phase is arbitrary: here, a sync 3 s into a ramp with 2 s of idle CPU in its
        // window decided, run to run, whether the first scale-out came at 3 s or at 8 s.)
        let mut next_sync: Option<Instant> = None;
        loop {
            tokio::select! {
                _ = tick.tick() => {}
                _ = &mut stopped => break,
            }
            self.look().await;
            if next_sync.is_none() && self.replicas.iter().any(|r| r.phase == Phase::Ready) {
                next_sync = Some(Instant::now() + self.options.sync_period);
            }
            if let Some(due) = next_sync.as_mut()
                && self.options.autoscale
                && Instant::now() >= *due
            {
                *due += self.options.sync_period;
                self.sync();
            }
            if let Err(e) = self.reconcile() {
                self.warn(format!("cannot start a replica: {e}"));
            }
            self.sample();
        }
        self.stop_all().await;
        self.sample();
    }

    fn at(&self) -> f64 {
        self.origin.elapsed().as_secs_f64()
    }

    fn warn(&mut self, text: String) {
        let mut h = crate::support::lock::lock(&self.history);
        if !h.warnings.contains(&text) {
            if !self.quiet {
                eprintln!("scaleproof: warning: local replicas: {text}");
            }
            h.warnings.push(text);
        }
    }

    fn event(&self, object: &str, reason: &str, kind: &str, message: String) {
        crate::support::lock::lock(&self.history).events.push((
            Instant::now(),
            EventRow {
                t_s: 0.0,
                time: chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
                object: object.to_owned(),
                reason: reason.to_owned(),
                kind: kind.to_owned(),
                count: 1,
                message,
            },
        ));
    }

    fn life(&self, name: &str, f: impl FnOnce(&mut ReplicaLife)) {
        let mut h = crate::support::lock::lock(&self.history);
        if let Some(l) = h.lives.iter_mut().find(|l| l.name == name) {
            f(l);
        }
    }

    /// Starts one replica process (see [`Replica::start`]), after a back-off when the last
    /// one ended unexpectedly (as a kubelet backs off a crashing container).
    fn spawn(&mut self) -> std::io::Result<()> {
        if self.backoff_until.is_some_and(|t| Instant::now() < t) {
            return Ok(());
        }
        let name = format!("{WORKLOAD}-local-{}", self.next_index);
        self.next_index += 1;
        let mut warnings = Vec::new();
        let replica = Replica::start(
            &self.exe,
            &self.options,
            &name,
            &self.limiter,
            self.logs.path(),
            &mut |w| warnings.push(w),
        )?;
        for w in warnings {
            self.warn(w);
        }
        crate::support::lock::lock(&self.history)
            .lives
            .push(ReplicaLife {
                name: name.clone(),
                started_s: self.at(),
                ..ReplicaLife::default()
            });
        self.event(
            &format!("ReplicaSet/{WORKLOAD}-local"),
            "SuccessfulCreate",
            "Normal",
            format!("Created pod: {name} (local process {})", replica.child.id()),
        );
        self.replicas.push(replica);
        Ok(())
    }

    /// Addresses, readiness, exits, drains.
    async fn look(&mut self) {
        let now = Instant::now();
        let mut gone = Vec::new();
        for i in 0..self.replicas.len() {
            let r = &mut self.replicas[i];
            r.read_output();
            if let Ok(Some(status)) = r.child.try_wait() {
                // Read what it printed last (its count) before it is forgotten: the pipe
                // closes once the reader has passed everything on.
                let deadline = Instant::now() + Duration::from_millis(500);
                while r.command.is_none() && !r.read_output() && Instant::now() < deadline {
                    tokio::time::sleep(Duration::from_millis(5)).await;
                }
                gone.push((i, status, r.served));
                continue;
            }
            if r.phase == Phase::Starting {
                if now.duration_since(r.started) > r.start_timeout() {
                    let why = format!(
                        "replica {} did not become ready within {:?}: {}",
                        r.name,
                        r.start_timeout(),
                        r.describe()
                    );
                    r.kill();
                    self.warn(why);
                    continue;
                }
                if let Some(addr) = r.addr
                    && r.ready_now(addr, self.options.startup_delay, now).await
                {
                    let r = &mut self.replicas[i];
                    r.phase = Phase::Ready;
                    r.cpu_mark = r.cpu().map(|c| (Instant::now(), c));
                    self.balancer.add(&r.name, addr);
                    let (name, t) = (r.name.clone(), self.at());
                    self.life(&name, |l| l.ready_s = Some(t));
                }
            } else if let Phase::Terminating { since, signalled } = r.phase
                && !signalled
                && (self.balancer.open_connections(&r.name) == 0
                    || now.duration_since(since) >= TERMINATION_GRACE)
            {
                r.terminate();
                r.phase = Phase::Terminating {
                    since,
                    signalled: true,
                };
            } else if r.overdue(now) {
                // Past its grace period after SIGTERM: SIGKILL, as the kubelet does.
                r.kill();
            }
        }
        for (i, status, served) in gone.into_iter().rev() {
            let r = self.replicas.remove(i);
            if let Some(c) = &r.cgroup {
                c.remove();
            }
            self.balancer.remove(&r.name);
            let expected = matches!(r.phase, Phase::Terminating { .. });
            let exit = exit_text(status, expected);
            let t = self.at();
            self.life(&r.name, |l| {
                l.exited_s = Some(t);
                l.exit = exit.clone();
                if served.is_some() {
                    l.served_predict = served;
                }
            });
            if !expected {
                // Replaced after 1 s, 2 s, 4 s … at most 16 s (a kubelet's CrashLoopBackOff,
                // scaled down to the length of a run).
                let wait = Duration::from_secs(1 << self.restarts.min(4));
                self.restarts += 1;
                self.backoff_until = Some(Instant::now() + wait);
                let never_ready = !matches!(r.phase, Phase::Ready);
                if never_ready && r.command.is_some() {
                    // Give the log's copier a moment to pass on the last lines it read.
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    let tail = log_tail(self.logs.path(), &r.name, 3);
                    self.warn(format!(
                        "replica {} exited before it was ready ({exit}): {}; its last output: {}",
                        r.name,
                        r.describe(),
                        if tail.is_empty() { "none" } else { &tail }
                    ));
                }
                self.event(
                    &format!("Pod/{}", r.name),
                    "BackOff",
                    "Warning",
                    format!(
                        "{} ended unexpectedly: {exit}; the ReplicaSet replaces it",
                        r.name
                    ),
                );
                self.warn(format!("replica {} ended unexpectedly: {exit}", r.name));
            }
        }
    }

    /// One autoscaler sync on the replicas' CPU since the last one.
    fn sync(&mut self) {
        let now = Instant::now();
        let request = Duration::from_millis(u64::from(self.options.cpu_request_m));
        let mut ready = Vec::new();
        let mut peaks = Vec::new();
        let mut unready = 0;
        for r in &mut self.replicas {
            match r.phase {
                Phase::Ready => {
                    let Some(cpu) = r.cpu() else {
                        continue;
                    };
                    if let Some((at, before)) = r.cpu_mark {
                        let secs = now.duration_since(at).as_secs_f64();
                        if secs > 0.0 {
                            let used = cpu.saturating_sub(before).as_secs_f64() / secs;
                            ready.push(100.0 * used / request.as_secs_f64());
                            peaks.push((r.name.clone(), used * 1000.0));
                        }
                    }
                    r.cpu_mark = Some((now, cpu));
                }
                Phase::Starting => unready += 1,
                Phase::Terminating { .. } => {}
            }
        }
        for (name, m) in peaks {
            self.life(&name, |l| {
                l.cpu_max_m = Some(l.cpu_max_m.unwrap_or(0.0).max(m.round()))
            });
        }
        let t = self.at();
        let d = self.autoscaler.sync(
            t,
            self.spec,
            &Observation {
                ready_utilization_pct: ready,
                unready,
            },
        );
        self.utilization = d.utilization_pct;
        self.desired = Some(d.desired);
        if d.desired != self.spec {
            let up = d.desired > self.spec;
            let cpu = d
                .utilization_pct
                .map_or("unknown".to_owned(), |u| format!("{u:.0}%"));
            self.event(
                &format!("HorizontalPodAutoscaler/{WORKLOAD}"),
                "SuccessfulRescale",
                "Normal",
                format!(
                    "New size: {}; reason: cpu resource utilization (percentage of request) {} target ({cpu} vs {:.0}%)",
                    d.desired,
                    if up { "above" } else { "below" },
                    self.options.hpa.target_utilization_pct
                ),
            );
            self.event(
                &format!("Deployment/{WORKLOAD}"),
                "ScalingReplicaSet",
                "Normal",
                format!(
                    "Scaled {} replica set {WORKLOAD}-local from {} to {}",
                    if up { "up" } else { "down" },
                    self.spec,
                    d.desired
                ),
            );
            self.spec = d.desired;
        }
    }

    /// Starts or removes replicas until `spec` are running (not terminating).
    fn reconcile(&mut self) -> std::io::Result<()> {
        let live = |r: &Replica| !matches!(r.phase, Phase::Terminating { .. });
        let mut running = self.replicas.iter().filter(|r| live(r)).count() as u32;
        while running < self.spec {
            self.spawn()?;
            running += 1;
        }
        while running > self.spec {
            // As a ReplicaSet scales down: not-ready first, then the newest.
            let pick = self
                .replicas
                .iter()
                .enumerate()
                .filter(|(_, r)| live(r))
                .max_by_key(|(_, r)| (r.phase == Phase::Starting, r.started))
                .map(|(i, _)| i);
            let Some(i) = pick else { break };
            let r = &mut self.replicas[i];
            self.balancer.remove(&r.name);
            r.phase = Phase::Terminating {
                since: Instant::now(),
                signalled: false,
            };
            let (name, t) = (r.name.clone(), self.at());
            self.life(&name, |l| l.stopping_s = Some(t));
            self.event(
                &format!("Pod/{name}"),
                "Killing",
                "Normal",
                format!("Stopping {name}: out of the balancer; SIGTERM once its connections close"),
            );
            running -= 1;
        }
        Ok(())
    }

    /// The state in the cluster columns, recorded when it changes.
    fn sample(&self) {
        let count =
            |f: &dyn Fn(&Replica) -> bool| self.replicas.iter().filter(|r| f(r)).count() as u64;
        let live = count(&|r| !matches!(r.phase, Phase::Terminating { .. }));
        let ready = count(&|r| r.phase == Phase::Ready);
        let sample = ClusterSample {
            deploy_spec_replicas: Some(u64::from(self.spec)),
            deploy_replicas: Some(live),
            deploy_updated: Some(live),
            deploy_ready: Some(ready),
            deploy_available: Some(ready),
            hpa_current: self.options.autoscale.then_some(u64::from(self.spec)),
            hpa_desired: self
                .options
                .autoscale
                .then(|| u64::from(self.desired.unwrap_or(self.spec))),
            hpa_cpu_pct: self.utilization.map(|u| u.round() as u64),
            hpa_metrics: self.utilization.map(|u| format!("cpu={u:.0}%")),
            pods_pending: Some(count(&|r| r.phase == Phase::Starting && r.addr.is_none())),
            pods_running: Some(count(&|r| {
                !matches!(r.phase, Phase::Terminating { .. })
                    && (r.phase == Phase::Ready || r.addr.is_some())
            })),
            pods_succeeded: Some(0),
            pods_failed: Some(0),
            pods_ready: Some(ready),
            pods_terminating: Some(count(&|r| matches!(r.phase, Phase::Terminating { .. }))),
        };
        let mut h = crate::support::lock::lock(&self.history);
        if h.changes.last().is_none_or(|(_, s)| *s != sample) {
            h.changes.push((Instant::now(), sample));
        }
    }

    /// Drains every replica at the end of the run.
    async fn stop_all(&mut self) {
        for r in &mut self.replicas {
            self.balancer.remove(&r.name);
            if !matches!(
                r.phase,
                Phase::Terminating {
                    signalled: true,
                    ..
                }
            ) {
                r.terminate();
                r.phase = Phase::Terminating {
                    since: Instant::now(),
                    signalled: true,
                };
            }
        }
        let deadline = Instant::now() + TERMINATION_GRACE;
        while !self.replicas.is_empty() && Instant::now() < deadline {
            self.look().await;
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        for r in &mut self.replicas {
            r.kill();
            let _ = r.child.wait();
            if let Some(c) = &r.cgroup {
                c.remove();
            }
        }
    }
}
