//! Starting one replica process, as a kubelet starts a pod's container: the bundled
//! target-service (`scaleproof replica`, which prints its address) or the user's own command
//! (`sh -c`, on a port chosen here, `PORT` and `POD_NAME` in its environment, its output to
//! `replicas/NAME.log`), in its cgroup when the kernel holds it to the limit; and what the
//! controller reads of it: its address, readiness, CPU, output lines and exit.

use super::cgroup::{Limiter, ReplicaCgroup};
use super::process::{Sig, probe, ready, signal};
use super::replica::{LISTENING, SERVED, process_cpu};
use crate::config::{LocalOptions, ReplicaCommand};
use std::io::{BufRead, Read, Write};
use std::net::SocketAddr;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

/// Each replica command's log is cut at this size (a marker line says so).
pub const LOG_CAP: u64 = 1 << 20;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Phase {
    /// Process started, not ready yet.
    Starting,
    Ready,
    /// Failed its liveness probe: out of the balancer, SIGTERM sent; restarted once it exits.
    Unhealthy,
    /// Out of the balancer, draining; SIGTERM sent once its connections closed.
    Terminating {
        since: Instant,
        signalled: bool,
    },
}

/// A replica process and what is known of it.
#[derive(Debug)]
pub(super) struct Replica {
    pub(super) name: String,
    pub(super) child: Child,
    pub(super) addr: Option<SocketAddr>,
    pub(super) started: Instant,
    pub(super) phase: Phase,
    /// CPU used by the last sync, and when.
    pub(super) cpu_mark: Option<(Instant, Duration)>,
    /// Lines the bundled replica prints: its address, and its own count when it exits.
    pub(super) output: mpsc::Receiver<String>,
    pub(super) served: Option<u64>,
    /// Its cgroup, when the kernel holds it to the limit.
    pub(super) cgroup: Option<ReplicaCgroup>,
    /// The user's command it runs (`None`: the bundled target-service).
    pub(super) command: Option<ReplicaCommand>,
    /// When SIGTERM was sent, for SIGKILL after the grace period.
    pub(super) term_at: Option<Instant>,
    /// The last readiness probe, and what it found (`None`: not probed yet).
    pub(super) probed: Option<(Instant, String)>,
    /// Times this replica was restarted in place before this process.
    pub(super) restarts: u32,
    /// The last liveness probe, and the failures in a row so far.
    pub(super) live_probed: Option<Instant>,
    pub(super) live_fails: u32,
}

impl Replica {
    /// Starts replica `name` (its `restarts`-th restart; 0: new); warnings (a cgroup that
    /// could not be made) go to `warn`.
    pub(super) fn start(
        exe: &Path,
        options: &LocalOptions,
        (name, restarts): (&str, u32),
        limiter: &Limiter,
        logs: &Path,
        warn: &mut dyn FnMut(String),
    ) -> std::io::Result<Self> {
        let cgroup = match limiter.create(name, options.cpu_limit_m) {
            Ok(c) => Some(c),
            Err(e) if limiter.enforces() => {
                warn(format!(
                    "cannot create {name}'s cgroup ({e}); its CPU limit is not enforced by the kernel"
                ));
                None
            }
            Err(_) => None,
        };
        let (mut command, addr) = match &options.command {
            // Under a cgroup the kernel holds the limit; the replica's own limiter stays off.
            None => {
                let self_limit = if cgroup.is_some() {
                    1000
                } else {
                    options.cpu_limit_m
                };
                let command = bundled_command(exe, name, self_limit, options.work_factor);
                (command, None)
            }
            Some(c) => {
                let port = free_port()?;
                let command = user_command(c, name, port, cgroup.as_ref());
                (command, Some(SocketAddr::from(([127, 0, 0, 1], port))))
            }
        };
        let mut child = command.spawn()?;
        let (lines, output) = mpsc::channel();
        if options.command.is_some() {
            // A restarted replica's output follows its earlier lives' in the same log.
            let log = std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(logs.join(format!("{name}.log")))?;
            let written = log.metadata().map_or(0, |m| m.len());
            let log = std::sync::Arc::new(std::sync::Mutex::new((log, written)));
            let out: Box<dyn Read + Send> = Box::new(child.stdout.take().expect("piped"));
            let err: Box<dyn Read + Send> = Box::new(child.stderr.take().expect("piped"));
            for pipe in [out, err] {
                let log = log.clone();
                std::thread::spawn(move || copy_capped(pipe, &log));
            }
        } else {
            // The bundled replica starts no process of its own: moved in at once, its threads
            // go with it (cgroup.procs moves a whole thread group).
            if let Some(c) = &cgroup
                && let Err(e) = c.add(child.id())
            {
                warn(format!("cannot move {name} into its cgroup: {e}"));
            }
            let stdout = child.stdout.take().expect("stdout is piped");
            std::thread::spawn(move || {
                for line in std::io::BufReader::new(stdout).lines() {
                    let Ok(line) = line else { break };
                    if lines.send(line).is_err() {
                        break;
                    }
                }
            });
        }
        Ok(Self {
            name: name.to_owned(),
            child,
            addr,
            started: Instant::now(),
            phase: Phase::Starting,
            cpu_mark: None,
            output,
            served: None,
            cgroup,
            command: options.command.clone(),
            term_at: None,
            probed: None,
            restarts,
            live_probed: None,
            live_fails: 0,
        })
    }

    /// A ready command's livenessProbe, once a period: `Some(why)` when it has now failed
    /// [`defaults::LIVENESS_FAILURES`](crate::config::defaults::LIVENESS_FAILURES) times in
    /// a row.
    pub(super) async fn liveness_failed(&mut self, now: Instant) -> Option<String> {
        let c = self.command.as_ref()?;
        let path = c.liveness_path.as_deref()?;
        let addr = self.addr?;
        if self
            .live_probed
            .is_some_and(|at| now.duration_since(at) < c.probe_period)
        {
            return None;
        }
        self.live_probed = Some(now);
        match probe(addr, path, c.probe_timeout).await {
            Ok(()) => {
                self.live_fails = 0;
                None
            }
            Err(e) => {
                self.live_fails += 1;
                (self.live_fails >= crate::config::defaults::LIVENESS_FAILURES).then(|| {
                    format!(
                        "liveness probe GET http://{addr}{path} failed {} times in a row, last: {e}",
                        self.live_fails
                    )
                })
            }
        }
    }

    /// Ready at `addr` now: the bundled replica after its start-up delay and `GET /ready`; a
    /// command's readinessProbe, once a period (its last answer kept for the warnings).
    pub(super) async fn ready_now(
        &mut self,
        addr: SocketAddr,
        startup_delay: Duration,
        now: Instant,
    ) -> bool {
        let Some(c) = &self.command else {
            return now.duration_since(self.started) >= startup_delay && ready(addr).await;
        };
        if self
            .probed
            .as_ref()
            .is_some_and(|(at, _)| now.duration_since(*at) < c.probe_period)
        {
            return false;
        }
        match probe(addr, &c.ready_path, c.probe_timeout).await {
            Ok(()) => true,
            Err(e) => {
                self.probed = Some((now, e));
                false
            }
        }
    }

    /// CPU it has used: its cgroup's usage counter, else its processes' threads (the bundled
    /// replica's own, or every process of a command's process group).
    pub(super) fn cpu(&self) -> Option<Duration> {
        match (&self.cgroup, &self.command) {
            (Some(c), _) => c.usage(),
            (None, None) => process_cpu(self.child.id()),
            (None, Some(_)) => group_cpu(self.child.id()),
        }
    }

    /// Takes the replica's new output lines; true once its stdout has closed.
    pub(super) fn read_output(&mut self) -> bool {
        loop {
            match self.output.try_recv() {
                Ok(line) => {
                    if let Some(addr) = line.strip_prefix(LISTENING) {
                        self.addr = addr.trim().parse().ok();
                    } else if let Some(n) = line.strip_prefix(SERVED) {
                        self.served = n.trim().parse().ok();
                    }
                }
                Err(mpsc::TryRecvError::Empty) => return false,
                Err(mpsc::TryRecvError::Disconnected) => return true,
            }
        }
    }

    /// SIGTERM, as the kubelet sends it: to the bundled replica, or to every process of a
    /// command's group (a `sh -c` wrapper and a gunicorn master alike).
    pub(super) fn terminate(&mut self) {
        self.term_at.get_or_insert_with(Instant::now);
        signal(self.child.id(), self.command.is_some(), Sig::Term);
    }

    /// SIGKILL, to the whole group.
    pub(super) fn kill(&mut self) {
        signal(self.child.id(), self.command.is_some(), Sig::Kill);
        let _ = self.child.kill();
    }

    /// Past its grace period after SIGTERM.
    pub(super) fn overdue(&self, now: Instant) -> bool {
        let grace = self
            .command
            .as_ref()
            .map_or(crate::config::defaults::GRACE_PERIOD, |c| c.grace_period);
        self.term_at.is_some_and(|t| now.duration_since(t) >= grace)
    }

    /// How long it may take to become ready.
    pub(super) fn start_timeout(&self) -> Duration {
        self.command
            .as_ref()
            .map_or(BUNDLED_START_TIMEOUT, |c| c.start_timeout)
    }

    /// The command, and its probe, in words for a warning.
    pub(super) fn describe(&self) -> String {
        match (&self.command, self.addr) {
            (Some(c), Some(addr)) => format!(
                "`{}` (readiness: GET http://{addr}{}{})",
                c.for_port(addr.port()),
                c.ready_path,
                self.probed
                    .as_ref()
                    .map(|(_, last)| format!(", last: {last}"))
                    .unwrap_or_default()
            ),
            _ => "the bundled target-service".to_owned(),
        }
    }
}

/// Longest the bundled replica may take to print its address and answer `/ready`.
pub(super) const BUNDLED_START_TIMEOUT: Duration = Duration::from_secs(20);

/// How long the first replica of `options` may take to become ready.
pub(super) fn start_timeout(options: &LocalOptions) -> Duration {
    options
        .command
        .as_ref()
        .map_or(BUNDLED_START_TIMEOUT, |c| c.start_timeout)
}

/// `scaleproof replica` named `name`, holding itself to `self_limit_m` (1000: not at all) at
/// work factor `work_factor`: its stdout piped (its address, then its own count), its stdin
/// held (it exits when that closes).
pub(super) fn bundled_command(
    exe: &Path,
    name: &str,
    self_limit_m: u32,
    work_factor: u32,
) -> Command {
    let mut command = Command::new(exe);
    command
        .args([
            "replica",
            "--served-by",
            name,
            "--cpu-limit-m",
            &self_limit_m.to_string(),
            "--work-factor",
            &work_factor.to_string(),
        ])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null());
    // A process group of its own: Ctrl-C in the terminal stops the run, which then drains
    // its replicas, instead of killing them under the last requests.
    #[cfg(unix)]
    std::os::unix::process::CommandExt::process_group(&mut command, 0);
    command
}

/// `sh -c CMD` on `port`; with a cgroup, a wrapper first writes its own PID into the
/// cgroup's `cgroup.procs` files and then `exec`s the command, so that every process the
/// command starts starts inside it.
fn user_command(
    c: &ReplicaCommand,
    name: &str,
    port: u16,
    cgroup: Option<&ReplicaCgroup>,
) -> Command {
    let line = c.for_port(port);
    let mut command = Command::new("sh");
    match cgroup {
        Some(cg) => {
            command
                .arg("-c")
                .arg("cmd=$1; shift; for f in \"$@\"; do echo $$ > \"$f\" || exit 125; done; exec sh -c \"$cmd\"")
                .arg("scaleproof-replica")
                .arg(&line)
                .args(cg.procs_files());
        }
        None => {
            command.arg("-c").arg(&line);
        }
    }
    if let Some(dir) = &c.dir {
        command.current_dir(dir);
    }
    command
        .env("PORT", port.to_string())
        .env("POD_NAME", name)
        .envs(c.env.iter().map(|(k, v)| (k, v)))
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    // Its own process group, as the bundled replica's: signals reach the whole tree.
    #[cfg(unix)]
    std::os::unix::process::CommandExt::process_group(&mut command, 0);
    command
}

/// The last `n` lines replica `name` wrote to its log, as one line (`; `-joined), for a
/// warning that must stand on its own (a run that ends before any load keeps no log).
pub(super) fn log_tail(logs: &Path, name: &str, n: usize) -> String {
    let text = std::fs::read_to_string(logs.join(format!("{name}.log"))).unwrap_or_default();
    let lines: Vec<&str> = text.lines().filter(|l| !l.trim().is_empty()).collect();
    lines[lines.len().saturating_sub(n)..].join("; ")
}

/// A free port on 127.0.0.1 (bound, then released for the replica to bind).
fn free_port() -> std::io::Result<u16> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port())
}

/// Copies a replica's output into its log, both pipes into one file, up to [`LOG_CAP`].
fn copy_capped(mut pipe: Box<dyn Read + Send>, log: &std::sync::Mutex<(std::fs::File, u64)>) {
    let mut buf = [0u8; 8192];
    loop {
        let n = match pipe.read(&mut buf) {
            Ok(0) | Err(_) => return,
            Ok(n) => n,
        };
        let mut guard = crate::support::lock::lock(log);
        let (file, written) = &mut *guard;
        if *written >= LOG_CAP {
            continue;
        }
        let room = (LOG_CAP - *written) as usize;
        let _ = file.write_all(&buf[..n.min(room)]);
        *written += n.min(room) as u64;
        if *written >= LOG_CAP {
            let _ = writeln!(file, "\n[scaleproof: log cut at {LOG_CAP} bytes]");
        }
    }
}

/// CPU of every process in process group `pgid`, from `/proc/PID/stat`: user and system time
/// of all its threads, the ones that ended included (a threaded server's per-connection
/// threads), and of its children it has reaped, in clock ticks. A process of the group that
/// already exited unreaped counts nothing: the reason a cgroup's counter is preferred.
fn group_cpu(pgid: u32) -> Option<Duration> {
    let ticks = clock_ticks()?;
    let mut total = 0u64;
    for entry in std::fs::read_dir("/proc").ok()?.flatten() {
        if entry.file_name().to_string_lossy().parse::<u32>().is_err() {
            continue;
        }
        let Ok(stat) = std::fs::read_to_string(entry.path().join("stat")) else {
            continue;
        };
        // Fields after the command's closing parenthesis: state ppid pgrp … (field 3 on);
        // utime stime cutime cstime are fields 14–17.
        let Some((_, rest)) = stat.rsplit_once(')') else {
            continue;
        };
        let fields: Vec<&str> = rest.split_whitespace().collect();
        if fields.get(2).and_then(|p| p.parse::<u32>().ok()) != Some(pgid) {
            continue;
        }
        total += fields
            .get(11..15)
            .into_iter()
            .flatten()
            .filter_map(|v| v.parse::<u64>().ok())
            .sum::<u64>();
    }
    Some(Duration::from_secs_f64(total as f64 / ticks as f64))
}

/// Clock ticks per second of `/proc`'s times (`sysconf(_SC_CLK_TCK)`).
fn clock_ticks() -> Option<u64> {
    use nix::unistd::{SysconfVar, sysconf};
    sysconf(SysconfVar::CLK_TCK)
        .ok()
        .flatten()
        .and_then(|t| u64::try_from(t).ok())
        .filter(|t| *t > 0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_process_groups_cpu_counts_threads_that_have_ended() {
        // Five threads that each burn 80 ms of CPU and end, then the process waits: its live
        // threads alone would show almost nothing.
        let script = "import threading,time\n\
def burn():\n    end = time.thread_time() + 0.08\n    while time.thread_time() < end: pass\n\
ts = [threading.Thread(target=burn) for _ in range(5)]\n\
[t.start() or t.join() for t in ts]\nprint('done', flush=True)\ntime.sleep(30)\n";
        let mut command = Command::new("python3");
        command.args(["-c", script]).stdout(Stdio::piped());
        std::os::unix::process::CommandExt::process_group(&mut command, 0);
        let mut child = command.spawn().expect("python3");
        let mut line = String::new();
        std::io::BufReader::new(child.stdout.take().expect("piped"))
            .read_line(&mut line)
            .expect("read");
        assert_eq!(line.trim(), "done");
        let used = group_cpu(child.id()).expect("readable /proc");
        let live_threads = process_cpu(child.id()).expect("schedstat");
        let _ = child.kill();
        let _ = child.wait();
        assert!(used >= Duration::from_millis(380), "{used:?}");
        assert!(used < Duration::from_secs(5), "{used:?}");
        assert!(
            live_threads < Duration::from_millis(300),
            "{live_threads:?}"
        );
    }
}
