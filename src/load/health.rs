//! The load generator's own health, recorded every second beside what it measured: how late
//! a probe timer on its runtime wakes (scheduling lag, which delays sends and response reads
//! alike) and how much of its worker threads' CPU it uses. The verdict reads both to tell a
//! saturated generator from a slow service.

use super::recorder::Recorder;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Name of the load runtime's worker threads (at most 15 bytes: Linux keeps no more).
pub const WORKER_THREAD_NAME: &str = "scaleproof-load";

/// How often the probe timer is due.
pub const PROBE_EVERY: Duration = Duration::from_millis(10);

/// Runs until aborted: wakes every [`PROBE_EVERY`], records its lateness, and at each second
/// boundary of the run's clock the CPU the worker threads used in the second that ended.
pub async fn probe(recorder: Arc<Recorder>) {
    let t0 = recorder.t0();
    let mut cpu = ThreadCpu::new(WORKER_THREAD_NAME);
    let mut second = 0u64;
    let mut due = Instant::now() + PROBE_EVERY;
    loop {
        tokio::time::sleep_until(due.into()).await;
        let now = Instant::now();
        recorder.record_probe(now, now.saturating_duration_since(due));
        let current = now.saturating_duration_since(t0).as_secs();
        if current > second {
            if let Some(pct) = cpu.sample(now) {
                recorder.record_cpu(second, pct);
            }
            second = current;
        }
        due = now + PROBE_EVERY;
    }
}

/// CPU time of the threads with one name, read from `/proc/self/task/*/schedstat` (Linux; no
/// figure elsewhere, and the timeline says unknown).
#[derive(Debug)]
struct ThreadCpu {
    name: &'static str,
    last: Option<(Instant, u64, usize)>,
}

impl ThreadCpu {
    fn new(name: &'static str) -> Self {
        let mut cpu = Self { name, last: None };
        cpu.last = cpu.read().map(|(ns, n)| (Instant::now(), ns, n));
        cpu
    }

    /// Nanoseconds on CPU summed over the named threads, and how many there are.
    fn read(&self) -> Option<(u64, usize)> {
        let tasks = std::fs::read_dir("/proc/self/task").ok()?;
        let mut total = 0u64;
        let mut threads = 0usize;
        for task in tasks.flatten() {
            let dir: PathBuf = task.path();
            let Ok(comm) = std::fs::read_to_string(dir.join("comm")) else {
                continue;
            };
            if comm.trim_end() != self.name {
                continue;
            }
            let stat = std::fs::read_to_string(dir.join("schedstat")).ok()?;
            total += stat.split_whitespace().next()?.parse::<u64>().ok()?;
            threads += 1;
        }
        (threads > 0).then_some((total, threads))
    }

    /// Percent of the threads' capacity used since the last sample.
    fn sample(&mut self, now: Instant) -> Option<f64> {
        let (ns, threads) = self.read()?;
        let previous = self.last.replace((now, ns, threads));
        let (then, before, _) = previous?;
        let wall = now.saturating_duration_since(then).as_nanos() as f64;
        (wall > 0.0).then(|| {
            (ns.saturating_sub(before) as f64 / (wall * threads as f64) * 100.0).min(100.0)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_busy_named_thread_reads_near_full_and_an_idle_one_near_zero() {
        // Only Linux exposes per-thread CPU time this way; elsewhere the figure is unknown.
        if !cfg!(target_os = "linux") {
            assert!(ThreadCpu::new("scaleproof-busy").read().is_none());
            return;
        }
        let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let spin = {
            let stop = stop.clone();
            std::thread::Builder::new()
                .name("scaleproof-busy".into())
                .spawn(move || {
                    while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                        std::hint::spin_loop();
                    }
                })
                .expect("spawn")
        };
        let idle = std::thread::Builder::new()
            .name("scaleproof-idle".into())
            .spawn(|| std::thread::sleep(Duration::from_millis(400)))
            .expect("spawn");
        // A thread names itself once it runs: wait until both can be found.
        let named = |name| {
            let deadline = Instant::now() + Duration::from_secs(5);
            loop {
                let cpu = ThreadCpu::new(name);
                if cpu.last.is_some() || Instant::now() > deadline {
                    return cpu;
                }
                std::thread::yield_now();
            }
        };
        let mut busy = named("scaleproof-busy");
        let mut quiet = named("scaleproof-idle");
        std::thread::sleep(Duration::from_millis(300));
        let now = Instant::now();
        let (b, q) = (busy.sample(now), quiet.sample(now));
        stop.store(true, std::sync::atomic::Ordering::Relaxed);
        spin.join().expect("join");
        idle.join().expect("join");
        let (b, q) = (b.expect("busy thread read"), q.expect("idle thread read"));
        // A spinning thread may share its core with the rest of the test suite: it still
        // gets far more than an idle one.
        assert!(b > 20.0, "busy {b}");
        assert!(q < 5.0, "idle {q}");
        assert!(ThreadCpu::new("no-such-thread").read().is_none());
    }
}
