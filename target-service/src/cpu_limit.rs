//! A CPU limit an instance holds itself to, the way CFS bandwidth control holds a container:
//! once the process has used its quota of a 100 ms period, it runs nothing more until the
//! next period. Checked before each request (at most once a millisecond), so it stops all the
//! work of a single-threaded instance (`ServiceConfig::inline_work` on a current-thread
//! runtime) — scaleproof's local replicas, several of which share one machine.

use std::path::PathBuf;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// The CFS period (`cpu.cfs_period_us`, 100 ms by default in Kubernetes).
pub const CPU_PERIOD: Duration = Duration::from_millis(100);
/// Least time between two readings of the process's CPU time.
const CHECK_EVERY: Duration = Duration::from_millis(1);

#[derive(Debug)]
struct Period {
    start: Instant,
    used_at_start: Duration,
    /// CPU used past the last period's quota, taken off this one's: the average is the limit.
    debt: Duration,
    last_check: Instant,
    /// `/proc/self/task/*/schedstat`, listed again at each period.
    files: Vec<PathBuf>,
}

/// A process-wide CPU limit.
#[derive(Debug)]
pub struct CpuLimit {
    quota: Duration,
    period: Mutex<Period>,
}

impl CpuLimit {
    /// A limit of `millicores` (1000 = one core); `None` where the process's CPU time cannot be
    /// read (not Linux).
    pub fn new(millicores: u32) -> Option<Self> {
        let files = task_files(SELF_TASKS)?;
        let now = Instant::now();
        Some(Self {
            quota: CPU_PERIOD * millicores / 1000,
            period: Mutex::new(Period {
                start: now,
                used_at_start: used(&files),
                debt: Duration::ZERO,
                last_check: now,
                files,
            }),
        })
    }

    /// Returns at once while the period's quota lasts; past it, sleeps (blocking the thread:
    /// the whole instance stops) until the next period.
    pub fn admit(&self) {
        let mut p = self.period.lock().unwrap_or_else(|e| e.into_inner());
        let now = Instant::now();
        if now.duration_since(p.last_check) < CHECK_EVERY {
            return;
        }
        p.last_check = now;
        let used_now = used(&p.files);
        let budget = self.quota.saturating_sub(p.debt);
        let in_period = used_now.saturating_sub(p.used_at_start);
        if now >= p.start + CPU_PERIOD {
            // A new period; debt carries over only from the one just before.
            p.debt = if now < p.start + 2 * CPU_PERIOD {
                in_period.saturating_sub(budget).min(self.quota)
            } else {
                Duration::ZERO
            };
            p.start = now;
            if let Some(files) = task_files(SELF_TASKS) {
                p.files = files;
            }
            p.used_at_start = used(&p.files);
        } else if in_period >= budget {
            std::thread::sleep(p.start + CPU_PERIOD - now);
            let after = used(&p.files);
            p.debt = after
                .saturating_sub(p.used_at_start)
                .saturating_sub(budget)
                .min(self.quota);
            p.start += CPU_PERIOD;
            p.used_at_start = after;
            p.last_check = Instant::now();
        }
    }
}

/// This process's threads.
const SELF_TASKS: &str = "/proc/self/task";

/// CPU time a process has used so far, all its threads (`pid`; `None`: this process), from
/// `/proc/<pid>/task/*/schedstat` (Linux). `None` where that cannot be read.
pub fn process_cpu_time(pid: Option<u32>) -> Option<Duration> {
    let dir = pid.map_or_else(|| SELF_TASKS.to_owned(), |p| format!("/proc/{p}/task"));
    task_files(&dir).map(|files| used(&files))
}

/// `schedstat` of each thread in a `/proc/…/task` folder.
fn task_files(dir: &str) -> Option<Vec<PathBuf>> {
    Some(
        std::fs::read_dir(dir)
            .ok()?
            .filter_map(|t| t.ok().map(|t| t.path().join("schedstat")))
            .collect(),
    )
}

/// CPU time of the listed threads (ns in `schedstat`'s first field; a thread that ended
/// between listing and reading counts nothing).
fn used(files: &[PathBuf]) -> Duration {
    Duration::from_nanos(
        files
            .iter()
            .filter_map(|f| std::fs::read_to_string(f).ok())
            .filter_map(|t| t.split_whitespace().next()?.parse::<u64>().ok())
            .sum(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn this_thread() -> Duration {
        used(&[PathBuf::from("/proc/thread-self/schedstat")])
    }

    #[test]
    fn busy_work_is_held_to_the_quota_on_average() {
        // Half a core for 0.6 s of wall time: at most about 0.3 s of CPU on this thread, not
        // 0.6 s. (Other test threads count against the process's quota too, so this thread
        // may get less; never more.)
        let Some(limit) = CpuLimit::new(500) else {
            panic!("this test needs Linux's /proc/self/task");
        };
        let before = this_thread();
        let started = Instant::now();
        while started.elapsed() < Duration::from_millis(600) {
            limit.admit();
            std::hint::black_box((0..2_000u64).sum::<u64>());
        }
        let share =
            this_thread().saturating_sub(before).as_secs_f64() / started.elapsed().as_secs_f64();
        assert!(
            (0.05..=0.6).contains(&share),
            "used {share:.2} of a core, limit 0.5"
        );
    }
}
