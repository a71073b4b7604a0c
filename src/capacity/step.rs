//! One step of the search: an ordinary run at a fixed open-model rate (its run directory in
//! the capacity directory's `steps/`, its report rendered), read back as a row of
//! `capacity.csv` and judged against the SLO.

use super::CapacityError;
use super::cap::{Slo, StepRow, judge};
use crate::cli::ConfigError;
use crate::cli::capacity::CapacityArgs;
use crate::cluster::metrics::PodCpu;
use crate::config::RunConfig;
use crate::load::control::EndReason;
use crate::scenario::RatePlan;
use crate::spec::expectations::Expectations;
use std::path::Path;
use std::time::Duration;

/// What a step measured, and what else the search needs of it.
#[derive(Debug)]
pub(super) struct Measured {
    pub(super) row: StepRow,
    /// Its (first) local replica's start, spawn to ready, s.
    pub(super) startup_s: Option<f64>,
    /// Most ready pods of the watched Deployment, and most distinct endpoints answering, in
    /// any second.
    pub(super) served_by: (Option<u64>, Option<u64>),
    /// A signal stopped it.
    pub(super) interrupted: bool,
    /// The watched container's CPU request, millicores (`--host` with `--deployment`).
    pub(super) cpu_request_m: Option<f64>,
    /// Why the cluster's CPU is unknown for this step, when it is.
    pub(super) cpu_unknown: Option<String>,
}

/// The run configuration of a step: `n` replicas, `rate` requests/s from second 0 for
/// `length`, its directory under `out`, the SLO as its expectations.
pub(super) fn config(
    args: &CapacityArgs,
    n: u32,
    rate: f64,
    length: Duration,
    out: &Path,
) -> Result<RunConfig, ConfigError> {
    let mut run = args.step_args(n);
    let secs = length.as_secs();
    run.rate = Some(
        RatePlan::parse(&format!("{rate}:0s,{rate}:{secs}s")).map_err(|e| ConfigError::Flag {
            flag: "--start-rps",
            message: e.to_string(),
        })?,
    );
    run.out = out.to_path_buf();
    let mut config = RunConfig::try_from(run)?;
    // The step's own verdict reads as the SLO it is judged by.
    config.scenario.expect = Expectations {
        p95_ms: Some(args.slo_p95),
        error_rate: Some(args.slo_error_rate),
        ..Expectations::default()
    };
    if let Some(local) = &mut config.local {
        // A fixed work per request, and no start-up delay: the replica is measured, not
        // calibrated, and each step starts it afresh.
        local.saturate_at = None;
        local.startup_delay = Duration::ZERO;
    }
    config.live = None;
    config.timeout = request_timeout(args.slo_p95);
    Ok(config)
}

/// A step's requests time out (and count as failed) after 10× the SLO's p95, at least 2 s:
/// far past what could pass, and it bounds how long an overloaded step's last requests hold
/// up the search.
pub(super) fn request_timeout(slo_p95_ms: f64) -> Duration {
    Duration::from_secs_f64((slo_p95_ms * 10.0 / 1000.0).max(2.0))
}

/// Runs step `number` at `n` replicas and `rate` for `length`.
pub(super) fn run(
    args: &CapacityArgs,
    dir: &Path,
    (number, n): (u32, u32),
    rate: f64,
    length: Duration,
    slo: &Slo,
) -> Result<Measured, CapacityError> {
    let config = config(args, n, rate, length, &dir.join("steps"))?;
    let sampler = config.cluster.clone().map(Sampler::start);
    let outcome = crate::run::execute(&config);
    let readings = sampler.map(Sampler::stop);
    let outcome = outcome?;
    let rendered = crate::report::render(&outcome.dir, None)?;
    let s = &rendered.summary;
    let t = &s.totals;
    let duration = outcome.meta.duration_s.max(1e-9);
    let ms = |us: Option<u64>| us.map(|v| v as f64 / 1000.0);
    let lives = outcome.meta.local_replicas.as_deref().unwrap_or(&[]);
    let mut cpu: Vec<f64> = lives.iter().filter_map(|l| l.cpu_load_m).collect();
    let mut cpu_unknown = None;
    if let Some((readings, error)) = &readings {
        let mean = crate::cluster::metrics::mean_within(
            readings,
            outcome.meta.started_at,
            outcome.meta.ended_at,
        );
        match mean {
            Some(m) => cpu.push(m),
            None => {
                cpu_unknown = Some(error.clone().unwrap_or_else(|| {
                    let window = readings.first().map_or(0.0, |r| r.window_s);
                    format!(
                        "no metrics window ({window:.0} s) lay wholly inside the step: lengthen the steps (--step-requests)"
                    )
                }))
            }
        }
    }
    let cpu_request_m = outcome
        .meta
        .cluster
        .as_ref()
        .filter(|c| c.source == crate::timeline::WorkloadSource::Cluster)
        .and_then(|c| c.containers.first())
        .and_then(|c| c.requests.get("cpu"))
        .and_then(|q| crate::cluster::metrics::cpu_millicores(q));
    let interrupted = matches!(outcome.end, EndReason::Interrupted(_));
    let mut row = StepRow {
        step: number,
        replicas: n,
        offered_rps: rate,
        planned_s: length.as_secs_f64(),
        duration_s: crate::timeline::round_ms(duration),
        requests: t.requests,
        ok: t.ok,
        errors: t.errors,
        dropped: t.dropped,
        cancelled: t.cancelled,
        ok_rps: (t.ok as f64 / duration * 10.0).round() / 10.0,
        error_rate: s.kpis.error_rate,
        p50_corrected_ms: ms(t.p50_corrected_us),
        p95_corrected_ms: ms(t.p95_corrected_us),
        p99_corrected_ms: ms(t.p99_corrected_us),
        cpu_m: (!cpu.is_empty()).then(|| (cpu.iter().sum::<f64>() / cpu.len() as f64).round()),
        generator_saturated: s.kpis.generator.saturated,
        outcome: super::cap::Outcome::Inconclusive,
        reason: String::new(),
        run_dir: outcome
            .dir
            .strip_prefix(dir)
            .unwrap_or(&outcome.dir)
            .display()
            .to_string(),
    };
    let (outcome_, reason) = if interrupted {
        (
            super::cap::Outcome::Inconclusive,
            format!("{}: the step was cut short", outcome.end),
        )
    } else {
        judge(&row, slo)
    };
    row.outcome = outcome_;
    row.reason = reason;
    Ok(Measured {
        row,
        startup_s: lives.first().and_then(|l| {
            l.ready_s
                .map(|r| crate::timeline::round_ms(r - l.started_s))
        }),
        served_by: (s.kpis.most_ready_replicas, s.kpis.most_endpoints_at_once),
        interrupted,
        cpu_request_m,
        cpu_unknown,
    })
}

/// Reads the watched pods' CPU from the metrics API every 2 s while a step runs.
struct Sampler {
    stop: std::sync::Arc<std::sync::atomic::AtomicBool>,
    thread: std::thread::JoinHandle<(Vec<PodCpu>, Option<String>)>,
}

impl Sampler {
    fn start(options: crate::config::ClusterOptions) -> Self {
        use std::sync::atomic::Ordering;
        let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let stopped = stop.clone();
        let thread = std::thread::spawn(move || {
            let mut readings = Vec::new();
            let mut error = None;
            let Ok(runtime) = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
            else {
                return (
                    readings,
                    Some("cannot start a runtime for the metrics API".into()),
                );
            };
            while !stopped.load(Ordering::Relaxed) {
                match runtime.block_on(crate::cluster::metrics::pod_cpu(&options)) {
                    Ok(r) => readings.extend(r),
                    Err(e) => error = Some(e),
                }
                // Two seconds, in steps short enough to stop promptly.
                for _ in 0..20 {
                    if stopped.load(Ordering::Relaxed) {
                        break;
                    }
                    std::thread::sleep(Duration::from_millis(100));
                }
            }
            (readings, error)
        });
        Self { stop, thread }
    }

    fn stop(self) -> (Vec<PodCpu>, Option<String>) {
        self.stop.store(true, std::sync::atomic::Ordering::Relaxed);
        self.thread
            .join()
            .unwrap_or_else(|_| (Vec::new(), Some("the metrics reader panicked".into())))
    }
}

/// A `--host` search at one replica measures one pod: refused, with the reason, when the
/// watched Deployment had more than one ready or more than one endpoint answered.
pub(super) fn check_one_pod(
    (ready, endpoints): (Option<u64>, Option<u64>),
    deployment: Option<&str>,
) -> Result<(), CapacityError> {
    let scale = deployment.map_or(String::new(), |d| {
        format!(": scale it to one (kubectl scale deployment/{d} --replicas=1) and pause its HPA")
    });
    if let Some(n) = ready.filter(|n| *n > 1) {
        return Err(CapacityError::Refused(format!(
            "the Deployment had {n} ready pods during the step, and capacity measures one replica's knee{scale}"
        )));
    }
    if let Some(n) = endpoints.filter(|n| *n > 1) {
        return Err(CapacityError::Refused(format!(
            "{n} distinct endpoints answered in one second (X-Served-By), and capacity measures one replica's knee{scale}"
        )));
    }
    Ok(())
}

/// `--host` at more than one replica: the person scales the Deployment, then says so.
pub(super) fn ask_to_scale(deployment: Option<&str>, n: u32) -> Result<(), CapacityError> {
    let how = deployment.map_or("the service".to_owned(), |d| {
        format!("it (kubectl scale deployment/{d} --replicas={n})")
    });
    eprintln!("scaleproof: capacity: scale {how} to {n} ready replicas, then press Enter");
    let mut line = String::new();
    match std::io::stdin().read_line(&mut line) {
        Ok(0) | Err(_) => Err(CapacityError::Refused(format!(
            "--replicas with --host asks you to scale to {n} between searches, and the input closed"
        ))),
        Ok(_) => Ok(()),
    }
}
