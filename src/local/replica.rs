//! One local replica: the bundled target-service in a process of its own (`scaleproof replica`,
//! started by the local controller), on one thread held to a CPU limit the way the kernel's
//! CFS bandwidth control holds a container: once the replica has used its quota of a 100 ms
//! period, it does not run again until the next period. SIGTERM drains it: readiness off,
//! in-flight requests finish, then it exits.

use std::io::Write;
use std::time::{Duration, Instant};
use target_service::{AppState, DrainConfig, Model, ServiceConfig};

/// The CFS period (`cpu.cfs_period_us`, 100 ms by default in Kubernetes).
pub const CPU_PERIOD: Duration = Duration::from_millis(100);
/// How often the replica checks its CPU use against the quota once past half of it (each check
/// reads two or three small /proc files); five times less often below half.
const CHECK_EVERY: Duration = Duration::from_millis(2);
/// The first line a replica prints on stdout, followed by its address.
pub const LISTENING: &str = "listening on ";
/// The last line, followed by the `/predict` requests it answered.
pub const SERVED: &str = "served predict=";

/// How to run one replica.
#[derive(Debug, Clone)]
pub struct ReplicaOptions {
    /// `X-Served-By`.
    pub served_by: String,
    /// CPU limit in millicores (1000 = one core; a replica never uses more than one).
    pub cpu_limit_m: u32,
    /// Extra forest evaluations per request (target-service's `WORK_FACTOR`).
    pub work_factor: u32,
    /// Longest wait for in-flight requests after SIGTERM.
    pub grace_period: Duration,
}

/// Serves until SIGTERM, or until stdin closes (the controller is gone), then drains.
pub fn serve(options: &ReplicaOptions) -> std::io::Result<()> {
    // One thread serves and one runs predictions (target-service moves the work of a
    // `work_factor` onto the blocking pool): a replica never uses more than one core at once.
    let runtime = tokio::runtime::Builder::new_current_thread()
        .max_blocking_threads(1)
        .enable_all()
        .build()?;
    runtime.block_on(async {
        let model = Model::bundled().map_err(std::io::Error::other)?;
        let state = AppState::new(
            model,
            ServiceConfig {
                served_by: options.served_by.clone(),
                work_factor: options.work_factor,
                ..ServiceConfig::default()
            },
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        let mut stdout = std::io::stdout();
        writeln!(stdout, "{LISTENING}{addr}")?;
        stdout.flush()?;
        if options.cpu_limit_m < 1000 {
            tokio::spawn(throttle(options.cpu_limit_m));
        }
        let sigterm = async {
            #[cfg(unix)]
            if let Ok(mut term) =
                tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
            {
                term.recv().await;
                return;
            }
            std::future::pending::<()>().await;
        };
        // The controller holds our stdin open; end of input means it is gone (killed even):
        // a replica never outlives the run that started it.
        let (gone, orphaned) = tokio::sync::oneshot::channel::<()>();
        std::thread::spawn(move || {
            use std::io::Read;
            let mut buf = [0u8; 64];
            while matches!(std::io::stdin().read(&mut buf), Ok(n) if n > 0) {}
            let _ = gone.send(());
        });
        let orphaned = async {
            let _ = orphaned.await;
        };
        let shutdown = async move {
            tokio::select! {
                () = sigterm => {}
                () = orphaned => {}
            }
        };
        let drain = DrainConfig {
            drain_delay: Duration::ZERO,
            grace_period: options.grace_period,
        };
        let served = target_service::serve(listener, state.clone(), drain, shutdown).await;
        // The replica's own count, for the controller to compare with the load's.
        let mut stdout = std::io::stdout();
        writeln!(
            stdout,
            "{SERVED}{}",
            state.metrics().requests_total("/predict")
        )?;
        stdout.flush()?;
        served
    })
}

/// CPU time this process has used: the sum of its threads' `schedstat` (ns; Linux). The
/// thread list is read again once per period; between, only the known files are read.
struct OwnCpu {
    files: Vec<std::path::PathBuf>,
}

impl OwnCpu {
    fn new() -> Option<Self> {
        let mut this = Self { files: Vec::new() };
        this.refresh()?;
        Some(this)
    }

    fn refresh(&mut self) -> Option<()> {
        self.files = std::fs::read_dir("/proc/self/task")
            .ok()?
            .filter_map(|t| t.ok().map(|t| t.path().join("schedstat")))
            .collect();
        Some(())
    }

    fn used(&self) -> Duration {
        Duration::from_nanos(self.files.iter().filter_map(|f| schedstat_ns(f)).sum())
    }
}

fn schedstat_ns(file: &std::path::Path) -> Option<u64> {
    std::fs::read_to_string(file)
        .ok()?
        .split_whitespace()
        .next()?
        .parse()
        .ok()
}

fn tasks_cpu(dir: &str) -> Option<Duration> {
    let mut ns = 0u64;
    for task in std::fs::read_dir(dir).ok()? {
        let Ok(task) = task else { continue };
        // A thread may end between listing and reading.
        ns += schedstat_ns(&task.path().join("schedstat")).unwrap_or(0);
    }
    Some(Duration::from_nanos(ns))
}

/// Holds the replica to `limit_m` millicores: past the quota of a period, the serving thread
/// sleeps out the rest of the period, so nothing new starts (a prediction already running on
/// the one blocking thread finishes: the overshoot is at most one request's work).
async fn throttle(limit_m: u32) {
    let quota = CPU_PERIOD * limit_m / 1000;
    let Some(mut cpu) = OwnCpu::new() else {
        tracing::warn!("no /proc/self/task: the replica runs without a CPU limit");
        return;
    };
    let mut used_before = cpu.used();
    let mut period_start = Instant::now();
    // CPU used past the quota (a check comes up to a couple of milliseconds late, a prediction
    // in flight finishes): taken off the next period's quota, so that the average is the limit.
    let mut debt = Duration::ZERO;
    let mut step = CHECK_EVERY;
    loop {
        tokio::time::sleep(step).await;
        let now = Instant::now();
        let used = cpu.used();
        let in_period = used.saturating_sub(used_before);
        let budget = quota.saturating_sub(debt);
        // Far from the quota, look less often (an idle replica costs next to nothing).
        step = if in_period * 2 < budget {
            CHECK_EVERY * 5
        } else {
            CHECK_EVERY
        };
        if now >= period_start + CPU_PERIOD {
            debt = in_period.saturating_sub(budget).min(quota);
            period_start = now;
            let _ = cpu.refresh();
            used_before = cpu.used();
        } else if in_period >= budget {
            // Throttled: nothing new starts until the period ends, as in a container.
            std::thread::sleep(period_start + CPU_PERIOD - now);
            let after = cpu.used();
            debt = after
                .saturating_sub(used_before)
                .saturating_sub(budget)
                .min(quota);
            period_start += CPU_PERIOD;
            used_before = after;
        }
    }
}

/// CPU time a replica process has used so far, all its threads (ns; Linux).
pub fn process_cpu(pid: u32) -> Option<Duration> {
    tasks_cpu(&format!("/proc/{pid}/task"))
}
