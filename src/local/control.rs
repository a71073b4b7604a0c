//! The local ReplicaSet and its autoscaler at work: every tick it looks at each replica
//! process (address, readiness, liveness, exit, drain), restarts one that ended unexpectedly
//! in place after a back-off (as a kubelet restarts a crashing container), runs the
//! autoscaler's syncs, starts or removes replicas until the spec holds, and records every
//! change and decision in the [`History`] that `LocalCluster` reads.

use super::balancer::Balancer;
use super::cgroup::Limiter;
use super::history::{CPU_SAMPLE, History};
use super::hpa::{Autoscaler, Observation};
use super::process::exit_text;
use super::record::WORKLOAD;
use super::spawn::{Phase, Replica, log_tail};
use crate::config::LocalOptions;
use crate::timeline::{ClusterSample, EventRow, ReplicaLife};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// How often the controller looks at its replicas.
const TICK: Duration = Duration::from_millis(100);
/// Longest a removed replica waits for its connections to close before SIGTERM (a pod's
/// `terminationGracePeriodSeconds`).
const TERMINATION_GRACE: Duration = Duration::from_secs(30);

/// A replica whose process ended unexpectedly, waiting out its back-off before it restarts
/// under the same name (a pod in CrashLoopBackOff: still one of the ReplicaSet's pods).
#[derive(Debug)]
struct BackOff {
    name: String,
    /// Restarts so far, the coming one included.
    restarts: u32,
    until: Instant,
}

/// The back-off before restart `n` (1, 2, …): 1 s, 2 s, 4 s … at most 16 s — a kubelet's
/// CrashLoopBackOff (10 s doubling to 5 min), scaled down to the length of a run.
fn backoff(n: u32) -> Duration {
    Duration::from_secs(1 << n.saturating_sub(1).min(4))
}

pub(super) struct Control {
    pub(super) exe: std::path::PathBuf,
    /// Where replica cgroups are made, or why they cannot be.
    pub(super) limiter: Limiter,
    /// Where replica commands' output goes (copied into the run directory's `replicas/`).
    pub(super) logs: Arc<tempfile::TempDir>,
    pub(super) options: LocalOptions,
    pub(super) balancer: Balancer,
    replicas: Vec<Replica>,
    /// Replicas waiting to be restarted.
    waiting: Vec<BackOff>,
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
    /// A controller of no replicas yet; [`Control::reconcile`] starts the first.
    pub(super) fn new(
        exe: std::path::PathBuf,
        (limiter, logs): (Limiter, Arc<tempfile::TempDir>),
        options: LocalOptions,
        balancer: Balancer,
        (history, origin): (Arc<Mutex<History>>, Instant),
        quiet: bool,
    ) -> Self {
        Self {
            spec: options.hpa.min_replicas.max(1),
            autoscaler: Autoscaler::new(options.hpa.clone()),
            exe,
            limiter,
            logs,
            options,
            balancer,
            replicas: Vec::new(),
            waiting: Vec::new(),
            desired: None,
            utilization: None,
            next_index: 1,
            history,
            origin,
            quiet,
        }
    }

    pub(super) async fn run(mut self, mut stopped: tokio::sync::oneshot::Receiver<()>) {
        let mut tick = tokio::time::interval(TICK);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        // Syncs fall every period from the moment the first replica is ready — when the load
        // starts — so every run's scale decisions come at the same load times. (A real
        // HPA's phase is arbitrary: here, a sync 3 s into a ramp with 2 s of idle CPU in its
        // window decided, run to run, whether the first scale-out came at 3 s or at 8 s.)
        let mut next_sync: Option<Instant> = None;
        let mut next_cpu = Instant::now();
        loop {
            tokio::select! {
                _ = tick.tick() => {}
                _ = &mut stopped => break,
            }
            self.look().await;
            self.restart_due();
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
            if Instant::now() >= next_cpu {
                next_cpu += CPU_SAMPLE;
                self.sample_cpu();
            }
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

    /// Starts a new replica process (see [`Replica::start`]).
    fn spawn(&mut self) -> std::io::Result<()> {
        let name = format!("{WORKLOAD}-local-{}", self.next_index);
        self.next_index += 1;
        let replica = self.start(&name, 0)?;
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

    /// Starts replica `name`'s process, its `restarts`-th restart (0: its first start).
    fn start(&mut self, name: &str, restarts: u32) -> std::io::Result<Replica> {
        let mut warnings = Vec::new();
        let replica = Replica::start(
            &self.exe,
            &self.options,
            (name, restarts),
            &self.limiter,
            self.logs.path(),
            &mut |w| warnings.push(w),
        )?;
        for w in warnings {
            self.warn(w);
        }
        Ok(replica)
    }

    /// Restarts the replicas whose back-off has passed, under their own names.
    fn restart_due(&mut self) {
        let now = Instant::now();
        let mut i = 0;
        while i < self.waiting.len() {
            if self.waiting[i].until > now {
                i += 1;
                continue;
            }
            let BackOff { name, restarts, .. } = self.waiting.remove(i);
            match self.start(&name, restarts) {
                Ok(replica) => {
                    self.life(&name, |l| l.restarts = restarts);
                    self.event(
                        &format!("Pod/{name}"),
                        "Started",
                        "Normal",
                        format!(
                            "Restarted {name} (restart {restarts}, local process {})",
                            replica.child.id()
                        ),
                    );
                    self.replicas.push(replica);
                }
                Err(e) => {
                    self.warn(format!("cannot restart replica {name}: {e}"));
                    self.waiting.push(BackOff {
                        name,
                        restarts,
                        until: now + backoff(restarts),
                    });
                    i += 1;
                }
            }
        }
    }

    /// Addresses, readiness, liveness, exits, drains.
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
            match r.phase {
                Phase::Starting => self.starting(i, now).await,
                Phase::Ready => {
                    if let Some(why) = r.liveness_failed(now).await {
                        self.unhealthy(i, why);
                    }
                }
                Phase::Terminating { since, signalled }
                    if !signalled
                        && (self.balancer.open_connections(&r.name) == 0
                            || now.duration_since(since) >= TERMINATION_GRACE) =>
                {
                    r.terminate();
                    r.phase = Phase::Terminating {
                        since,
                        signalled: true,
                    };
                }
                // Past its grace period after SIGTERM: SIGKILL, as the kubelet does.
                _ if r.overdue(now) => r.kill(),
                _ => {}
            }
        }
        for (i, status, served) in gone.into_iter().rev() {
            let r = self.replicas.remove(i);
            self.exited(r, status, served).await;
        }
    }

    /// A starting replica: given up past its start-up limit, else in the balancer once ready.
    async fn starting(&mut self, i: usize, now: Instant) {
        let r = &mut self.replicas[i];
        if now.duration_since(r.started) > r.start_timeout() {
            let why = format!(
                "replica {} did not become ready within {:?}: {}",
                r.name,
                r.start_timeout(),
                r.describe()
            );
            r.kill();
            self.warn(why);
            return;
        }
        if let Some(addr) = r.addr
            && r.ready_now(addr, self.options.startup_delay, now).await
        {
            let r = &mut self.replicas[i];
            r.phase = Phase::Ready;
            r.cpu_mark = r.cpu().map(|c| (Instant::now(), c));
            self.balancer.add(&r.name, addr);
            let (name, t) = (r.name.clone(), self.at());
            // A restarted replica keeps the time it was first ready (pods.csv's ready_s).
            self.life(&name, |l| {
                l.ready_s.get_or_insert(t);
            });
        }
    }

    /// A replica that failed its liveness probe: out of the balancer and stopped, to be
    /// restarted once it exits (as the kubelet kills and restarts the container).
    fn unhealthy(&mut self, i: usize, why: String) {
        let r = &mut self.replicas[i];
        self.balancer.remove(&r.name);
        r.phase = Phase::Unhealthy;
        r.terminate();
        let name = r.name.clone();
        self.event(&format!("Pod/{name}"), "Unhealthy", "Warning", why.clone());
        self.event(
            &format!("Pod/{name}"),
            "Killing",
            "Normal",
            format!("{name} failed its liveness probe and will be restarted"),
        );
        self.warn(format!("replica {name}: {why}; it is restarted"));
    }

    /// A replica's process has exited: recorded, and restarted after a back-off unless it
    /// was being stopped.
    async fn exited(&mut self, r: Replica, status: std::process::ExitStatus, served: Option<u64>) {
        if let Some(c) = &r.cgroup {
            c.remove();
        }
        self.balancer.remove(&r.name);
        let expected = matches!(r.phase, Phase::Terminating { .. });
        let exit = match r.phase {
            Phase::Unhealthy => format!("liveness probe failed; {}", exit_text(status, true)),
            _ => exit_text(status, expected),
        };
        let t = self.at();
        if expected {
            self.life(&r.name, |l| {
                l.exited_s = Some(t);
                l.exit = exit.clone();
                if served.is_some() {
                    l.served_predict = served;
                }
            });
            return;
        }
        let restarts = r.restarts + 1;
        let wait = backoff(restarts);
        self.life(&r.name, |l| l.last_exit = Some(exit.clone()));
        if r.phase == Phase::Starting && r.command.is_some() {
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
                "{} ended unexpectedly: {exit}; restarted in {} (restart {restarts})",
                r.name,
                humantime::format_duration(wait)
            ),
        );
        self.warn(format!("replica {} ended unexpectedly: {exit}", r.name));
        self.waiting.push(BackOff {
            name: r.name,
            restarts,
            until: Instant::now() + wait,
        });
    }

    /// One autoscaler sync on the replicas' CPU since the last one.
    fn sync(&mut self) {
        let now = Instant::now();
        let request = Duration::from_millis(u64::from(self.options.cpu_request_m));
        let mut ready = Vec::new();
        let mut peaks = Vec::new();
        // Starting, unhealthy and in back-off count as not ready (the HPA's unready pods).
        let mut unready = self.waiting.len() as u32;
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
                Phase::Starting | Phase::Unhealthy => unready += 1,
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
            self.rescale_events(d.desired, d.utilization_pct);
            self.spec = d.desired;
        }
    }

    /// The HPA's and the Deployment's events for a new size.
    fn rescale_events(&self, desired: u32, utilization_pct: Option<f64>) {
        let up = desired > self.spec;
        let cpu = utilization_pct.map_or("unknown".to_owned(), |u| format!("{u:.0}%"));
        self.event(
            &format!("HorizontalPodAutoscaler/{WORKLOAD}"),
            "SuccessfulRescale",
            "Normal",
            format!(
                "New size: {desired}; reason: cpu resource utilization (percentage of request) {} target ({cpu} vs {:.0}%)",
                if up { "above" } else { "below" },
                self.options.hpa.target_utilization_pct
            ),
        );
        self.event(
            &format!("Deployment/{WORKLOAD}"),
            "ScalingReplicaSet",
            "Normal",
            format!(
                "Scaled {} replica set {WORKLOAD}-local from {} to {desired}",
                if up { "up" } else { "down" },
                self.spec,
            ),
        );
    }

    /// Starts or removes replicas until `spec` are running (not terminating; a replica in
    /// back-off counts, as a crash-looping pod does).
    pub(super) fn reconcile(&mut self) -> std::io::Result<()> {
        let live = |r: &Replica| !matches!(r.phase, Phase::Terminating { .. });
        let mut running =
            (self.replicas.iter().filter(|r| live(r)).count() + self.waiting.len()) as u32;
        while running < self.spec {
            self.spawn()?;
            running += 1;
        }
        while running > self.spec {
            // As a ReplicaSet scales down: not-ready first (in back-off, then starting or
            // unhealthy), then the newest.
            if let Some(b) = self.waiting.pop() {
                let t = self.at();
                self.life(&b.name, |l| {
                    l.stopping_s = Some(t);
                    l.exited_s = Some(t);
                    l.exit = "deleted in back-off".to_owned();
                });
                running -= 1;
                continue;
            }
            let pick = self
                .replicas
                .iter()
                .enumerate()
                .filter(|(_, r)| live(r))
                .max_by_key(|(_, r)| (r.phase != Phase::Ready, r.started))
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

    /// Each ready replica's CPU counter, for its mean CPU over the load.
    fn sample_cpu(&self) {
        let now = Instant::now();
        let read: Vec<(String, Instant, Duration)> = self
            .replicas
            .iter()
            .filter(|r| r.phase == Phase::Ready)
            .filter_map(|r| r.cpu().map(|c| (r.name.clone(), now, c)))
            .collect();
        crate::support::lock::lock(&self.history).cpu.extend(read);
    }

    /// The state in the cluster columns, recorded when it changes.
    fn sample(&self) {
        let count =
            |f: &dyn Fn(&Replica) -> bool| self.replicas.iter().filter(|r| f(r)).count() as u64;
        let waiting = self.waiting.len() as u64;
        let terminating = |r: &Replica| matches!(r.phase, Phase::Terminating { .. });
        let live = count(&|r| !terminating(r)) + waiting;
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
            // A replica in back-off is a running pod whose container waits to restart.
            pods_running: Some(
                count(&|r| !terminating(r) && (r.phase != Phase::Starting || r.addr.is_some()))
                    + waiting,
            ),
            pods_succeeded: Some(0),
            pods_failed: Some(0),
            pods_ready: Some(ready),
            pods_terminating: Some(count(&terminating)),
        };
        let mut h = crate::support::lock::lock(&self.history);
        if h.changes.last().is_none_or(|(_, s)| *s != sample) {
            h.changes.push((Instant::now(), sample));
        }
    }

    /// Drains every replica at the end of the run.
    async fn stop_all(&mut self) {
        let t = self.at();
        for b in std::mem::take(&mut self.waiting) {
            self.life(&b.name, |l| {
                l.stopping_s = Some(t);
                l.exited_s = Some(t);
                l.exit = "stopped in back-off".to_owned();
            });
        }
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn back_off_doubles_from_one_second_to_sixteen() {
        let waits: Vec<u64> = (1..=7).map(|n| backoff(n).as_secs()).collect();
        assert_eq!(waits, [1, 2, 4, 8, 16, 16, 16]);
    }
}
