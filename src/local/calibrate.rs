//! Calibrating the bundled replica's work per request to this machine, before the load: one
//! replica at its CPU limit is to serve the same share of the plan's peak on any machine, so
//! that the default story (1 → N under load, fewer when the load steps down) does not depend on
//! the machine's speed.
//!
//! A replica's CPU per request is close to linear in its work factor (extra forest
//! evaluations per prediction): `c(w) = c₀ + k·w`. Probes of one replica process each, at work
//! factor 0 and at the starting guess, give `c₀` and `k`; the work factor that gives the
//! target `limit ÷ (share × peak)` is then probed to confirm it, with one secant step more if
//! it missed by over 10%. Each probe measures the process's own CPU (`/proc/PID/task/*/
//! schedstat`, all threads, the figure the autoscaler reads) over a fixed number of the
//! scenario's own requests after a warm-up — unthrottled when the kernel will hold the
//! replicas to their limit (a cgroup costs a request nothing), else under the replica's own
//! limiter, whose cost per request is then part of what is measured. Nothing measured during the load is tuned: the result is fixed before second 0 and
//! written to `run.json` (`cluster.calibration`).

use super::process::{Sig, ready, signal};
use super::replica::{LISTENING, process_cpu};
use super::spawn::{BUNDLED_START_TIMEOUT, bundled_command};
use crate::config::{LocalOptions, Saturation};
use crate::timeline::{Calibration, CalibrationProbe};
use std::io::BufRead;
use std::net::SocketAddr;
use std::process::Child;
use std::time::{Duration, Instant};

/// Requests sent before the CPU is read (connection, caches, allocator warm).
const WARM_UP: u32 = 50;
/// CPU each probe spends at the target cost: enough for schedstat's nanoseconds to average
/// over scheduling noise, short enough that calibration takes a few seconds.
const PROBE_CPU: Duration = Duration::from_millis(300);
/// Probes send between these many measured requests.
const PROBE_REQUESTS: (u32, u32) = (200, 2_000);
/// Within this of the target, the calibration is met.
const TOLERANCE: f64 = 0.10;
/// Highest work factor the replica accepts.
const MAX_WORK_FACTOR: u32 = 100_000;

/// Why the calibration could not run.
#[derive(Debug, thiserror::Error)]
pub enum CalibrationError {
    #[error("cannot start a probe replica")]
    Start(#[source] std::io::Error),
    #[error("the probe replica did not become ready within {0:?}")]
    NotReady(Duration),
    #[error("a probe request failed: {0}")]
    Request(String),
    #[error("cannot read the probe replica's CPU time (/proc/PID/task/*/schedstat)")]
    NoCpu,
}

/// Sends `n` of the scenario's requests, one after another, to a replica at the address;
/// any failure is an error.
pub type Send<'a> = dyn FnMut(SocketAddr, u32) -> Result<(), String> + 'a;

/// Finds the work factor at which one replica at `options.cpu_limit_m` serves `goal.share` of
/// `goal.peak_rps`, starting from `options.work_factor`. `self_limit_m`: the replicas will
/// hold themselves to this limit (no cgroup), so the probes do too and measure its cost;
/// `None`: the kernel will, and the probes run unthrottled.
pub fn calibrate(
    exe: &std::path::Path,
    options: &LocalOptions,
    goal: Saturation,
    self_limit_m: Option<u32>,
    send: &mut Send<'_>,
) -> Result<Calibration, CalibrationError> {
    let began = Instant::now();
    let target_ms = target_ms(options.cpu_limit_m, goal);
    let requests = (PROBE_CPU.as_secs_f64() * 1000.0 / target_ms)
        .clamp(f64::from(PROBE_REQUESTS.0), f64::from(PROBE_REQUESTS.1)) as u32;
    let mut probes = Vec::new();
    let mut measure = |w: u32| -> Result<CalibrationProbe, CalibrationError> {
        let p = probe(exe, w, self_limit_m.unwrap_or(1000), requests, send)?;
        probes.push(p.clone());
        Ok(p)
    };
    let base = measure(0)?;
    let guess = options.work_factor.clamp(1, MAX_WORK_FACTOR);
    let mut best = base.clone();
    if base.cpu_ms_per_request < target_ms {
        let at_guess = measure(guess)?;
        let mut next = solve((&base, &at_guess), target_ms);
        best = closest(target_ms, [&base, &at_guess]).clone();
        // One confirming probe, and one secant step more if it missed.
        for _ in 0..2 {
            let Some(w) = next.filter(|w| *w != best.work_factor) else {
                break;
            };
            let p = measure(w)?;
            next = solve((&best, &p), target_ms);
            best = closest(target_ms, [&best, &p]).clone();
            if miss(target_ms, &best) <= TOLERANCE {
                break;
            }
        }
    }
    let shortfall = shortfall(target_ms, &base, &best, options.cpu_limit_m, goal);
    Ok(Calibration {
        saturate_at_pct: round(goal.share * 100.0, 4),
        peak_rps: goal.peak_rps,
        target_cpu_ms_per_request: round(target_ms, 4),
        work_factor: best.work_factor,
        cpu_ms_per_request: best.cpu_ms_per_request,
        replica_rps: round(replica_rps(options.cpu_limit_m, best.cpu_ms_per_request), 1),
        probes,
        took_s: round(began.elapsed().as_secs_f64(), 2),
        shortfall,
    })
}

/// CPU per request at which one replica at `limit_m` serves `share × peak`: ms.
pub fn target_ms(limit_m: u32, goal: Saturation) -> f64 {
    f64::from(limit_m) / (goal.share * goal.peak_rps)
}

/// Requests/s one replica at `limit_m` serves when each costs `cpu_ms`.
pub fn replica_rps(limit_m: u32, cpu_ms: f64) -> f64 {
    if cpu_ms > 0.0 {
        f64::from(limit_m) / cpu_ms
    } else {
        f64::INFINITY
    }
}

/// The work factor the line through two probes gives for `target_ms`; `None` when the probes
/// do not rise with the work factor (nothing to solve).
pub fn solve(points: (&CalibrationProbe, &CalibrationProbe), target_ms: f64) -> Option<u32> {
    let (a, b) = points;
    let dw = f64::from(b.work_factor) - f64::from(a.work_factor);
    let dc = b.cpu_ms_per_request - a.cpu_ms_per_request;
    if dw == 0.0 || dc / dw <= 0.0 {
        return None;
    }
    let w = f64::from(a.work_factor) + (target_ms - a.cpu_ms_per_request) * dw / dc;
    Some(w.round().clamp(0.0, f64::from(MAX_WORK_FACTOR)) as u32)
}

fn miss(target_ms: f64, p: &CalibrationProbe) -> f64 {
    (p.cpu_ms_per_request - target_ms).abs() / target_ms
}

fn closest<const N: usize>(target_ms: f64, of: [&CalibrationProbe; N]) -> &CalibrationProbe {
    of.into_iter()
        .min_by(|a, b| miss(target_ms, a).total_cmp(&miss(target_ms, b)))
        .expect("at least one probe")
}

/// Why the target was not met, in words a person can act on; `None` when it was.
fn shortfall(
    target_ms: f64,
    base: &CalibrationProbe,
    best: &CalibrationProbe,
    limit_m: u32,
    goal: Saturation,
) -> Option<String> {
    if miss(target_ms, best) <= TOLERANCE {
        return None;
    }
    let serves = replica_rps(limit_m, best.cpu_ms_per_request);
    let share = serves / goal.peak_rps * 100.0;
    Some(if base.cpu_ms_per_request > target_ms {
        format!(
            "this machine is too slow for the planned story: with no extra work one replica needs {:.3} ms of CPU per request (target {target_ms:.3} ms), so at its {limit_m}m limit it serves ~{serves:.0} rps, {share:.0}% of the {:.0} rps peak instead of {:.0}%; expect more replicas and a slower recovery (a release build is ~10x faster than a debug one)",
            base.cpu_ms_per_request,
            goal.peak_rps,
            goal.share * 100.0
        )
    } else {
        format!(
            "the closest work factor measured, {}, costs {:.3} ms of CPU per request against a target of {target_ms:.3} ms: one replica serves ~{serves:.0} rps, {share:.0}% of the peak instead of {:.0}%",
            best.work_factor,
            best.cpu_ms_per_request,
            goal.share * 100.0
        )
    })
}

fn round(v: f64, places: i32) -> f64 {
    let f = 10f64.powi(places);
    (v * f).round() / f
}

/// A probe replica, killed if the probe ends early.
struct ProbeReplica(Child);

impl Drop for ProbeReplica {
    fn drop(&mut self) {
        signal(self.0.id(), false, Sig::Term);
        let deadline = Instant::now() + Duration::from_secs(2);
        while Instant::now() < deadline {
            if matches!(self.0.try_wait(), Ok(Some(_))) {
                return;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// One replica process at work factor `w`, holding itself to `limit_m` (1000: unthrottled):
/// its CPU per request over `n` requests after the warm-up.
fn probe(
    exe: &std::path::Path,
    w: u32,
    limit_m: u32,
    n: u32,
    send: &mut Send<'_>,
) -> Result<CalibrationProbe, CalibrationError> {
    let mut command = bundled_command(exe, "target-service-calibration", limit_m, w);
    let mut child = command.spawn().map_err(CalibrationError::Start)?;
    let stdout = child.stdout.take().expect("stdout is piped");
    let replica = ProbeReplica(child);
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let mut line = String::new();
        let _ = std::io::BufReader::new(stdout).read_line(&mut line);
        let _ = tx.send(line);
    });
    let addr: SocketAddr = rx
        .recv_timeout(BUNDLED_START_TIMEOUT)
        .ok()
        .and_then(|line| line.trim().strip_prefix(LISTENING)?.parse().ok())
        .ok_or(CalibrationError::NotReady(BUNDLED_START_TIMEOUT))?;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(CalibrationError::Start)?;
    let deadline = Instant::now() + BUNDLED_START_TIMEOUT;
    while !runtime.block_on(ready(addr)) {
        if Instant::now() >= deadline {
            return Err(CalibrationError::NotReady(BUNDLED_START_TIMEOUT));
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let pid = replica.0.id();
    send(addr, WARM_UP).map_err(CalibrationError::Request)?;
    let before = process_cpu(pid).ok_or(CalibrationError::NoCpu)?;
    send(addr, n).map_err(CalibrationError::Request)?;
    let after = process_cpu(pid).ok_or(CalibrationError::NoCpu)?;
    drop(replica);
    let per_request = after.saturating_sub(before).as_secs_f64() * 1000.0 / f64::from(n);
    Ok(CalibrationProbe {
        work_factor: w,
        requests: n,
        cpu_ms_per_request: round(per_request, 4),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(work_factor: u32, cpu_ms_per_request: f64) -> CalibrationProbe {
        CalibrationProbe {
            work_factor,
            requests: 500,
            cpu_ms_per_request,
        }
    }

    #[test]
    fn the_target_is_the_limit_over_the_share_of_the_peak() {
        let goal = Saturation {
            share: 0.5,
            peak_rps: 1000.0,
        };
        // 400m serving 500 rps: 0.8 ms of CPU each.
        assert_eq!(target_ms(400, goal), 0.8);
        assert_eq!(replica_rps(400, 0.8), 500.0);
    }

    #[test]
    fn the_line_through_two_probes_gives_the_work_factor() {
        // c(w) = 0.1 + 0.002·w: 0.5 ms at w = 200.
        assert_eq!(solve((&p(0, 0.1), &p(300, 0.7)), 0.5), Some(200));
        // Either order, and from a probe not at zero.
        assert_eq!(solve((&p(300, 0.7), &p(100, 0.3)), 0.5), Some(200));
        // Below the base: no negative work.
        assert_eq!(solve((&p(0, 0.1), &p(300, 0.7)), 0.05), Some(0));
        // Flat or falling probes solve nothing.
        assert_eq!(solve((&p(0, 0.3), &p(300, 0.3)), 0.5), None);
        assert_eq!(solve((&p(0, 0.3), &p(300, 0.2)), 0.5), None);
        assert_eq!(solve((&p(300, 0.3), &p(300, 0.4)), 0.5), None);
    }

    #[test]
    fn a_machine_too_slow_even_without_work_is_said_so_with_what_it_serves() {
        let goal = Saturation {
            share: 0.5,
            peak_rps: 1000.0,
        };
        let base = p(0, 1.6);
        let why = shortfall(0.8, &base, &base, 400, goal).expect("a shortfall");
        assert!(why.contains("too slow"), "{why}");
        assert!(
            why.contains("serves ~250 rps, 25% of the 1000 rps peak instead of 50%"),
            "{why}"
        );
        // Within 10%: met.
        assert_eq!(shortfall(0.8, &p(0, 0.1), &p(350, 0.86), 400, goal), None);
    }
}
