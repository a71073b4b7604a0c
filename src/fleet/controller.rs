//! `scaleproof run --workers N`: the controller. It publishes the run in the result store,
//! creates the Indexed Job, holds the start until every worker is ready (a worker that fails
//! or never becomes ready stops the run before any load is sent), publishes the start time,
//! watches the Job and the Deployment while the workers run, then fetches the workers' run
//! directories and merges them exactly, with its own cluster watch on the same clock.

use super::{
    JOB_OBJECT, JobRecord, SCENARIO_DIR, START_OBJECT, StartRecord, indices, json, results_prefix,
    run_prefix,
};
use crate::cluster::job::{JobState, WorkerJob, WorkerJobSpec};
use crate::config::{FleetOptions, RunConfig};
use crate::fleet::store::{Store, StoreError};
use crate::load::control::{EndReason, Signal};
use crate::merge::{self, MergeError};
use crate::run::progress;
use crate::run::{self, RunOutcome};
use crate::scaling;
use crate::timeline::{self, SharedRecord, WorkloadSource};
use chrono::{DateTime, Utc};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// Why a shared run could not be carried out.
#[derive(Debug, thiserror::Error)]
pub enum FleetError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("{0}")]
    Job(String),
    #[error("{0}; the run was not started and no load was sent")]
    NotReady(String),
    #[error("no worker delivered a run directory: {0}")]
    NoResults(String),
    #[error(transparent)]
    Merge(#[from] MergeError),
    #[error("cannot start the async runtime")]
    Runtime(#[source] std::io::Error),
}

/// The start is this far after the last worker is ready: workers look every 100 ms, and a
/// store may take a moment to show the object.
const START_MARGIN: Duration = Duration::from_secs(3);
/// After the planned end, how long workers have to finish and upload.
const UPLOAD_GRACE: Duration = Duration::from_secs(120);
/// After a signal (the Job deleted: pods get SIGTERM), how long workers have to upload.
const STOP_GRACE: Duration = Duration::from_secs(45);
/// Once every pod has ended, how long the store has to show their last objects.
const SETTLE: Duration = Duration::from_secs(10);

/// A run id (and Job name) from the time: `sp-20261130-150501-3f9a`, a valid DNS label with
/// room for the pods' `-<index>-<suffix>`.
pub fn run_id(now: DateTime<Utc>) -> String {
    format!(
        "sp-{}-{:04x}",
        now.format("%Y%m%d-%H%M%S"),
        (now.timestamp_subsec_nanos() ^ std::process::id()) & 0xffff
    )
}

/// The container arguments of every worker.
pub fn worker_args(
    options: &FleetOptions,
    store_url: &str,
    run_id: &str,
    scenario_object: Option<&str>,
) -> Vec<String> {
    let mut args = vec![
        "worker".to_owned(),
        "--store".to_owned(),
        store_url.to_owned(),
        "--run-id".to_owned(),
        run_id.to_owned(),
        "--workers".to_owned(),
        options.workers.to_string(),
        "--ready-timeout".to_owned(),
        format!("{}s", options.ready_timeout.as_secs()),
    ];
    if let Some(object) = scenario_object {
        args.extend(["--scenario-object".to_owned(), object.to_owned()]);
    }
    args.push("--".to_owned());
    args.extend(options.load_args.iter().cloned());
    args
}

/// Carries out a shared run: see the module's documentation. The merged run directory is
/// written under `config.out`; the workers' own under `<out>/<run id>-workers/`.
pub fn execute(config: &RunConfig, options: &FleetOptions) -> Result<RunOutcome, FleetError> {
    let store = Store::open(&options.store)?;
    // The cluster watch starts first: the state at the start of the load is then known.
    let cluster = run::start_cluster(config);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(FleetError::Runtime)?;
    runtime.block_on(control(config, options, store, cluster))
}

async fn control(
    config: &RunConfig,
    options: &FleetOptions,
    store: Store,
    (watch, preflight): (Option<crate::cluster::ClusterWatch>, Vec<String>),
) -> Result<RunOutcome, FleetError> {
    let created = Utc::now();
    let id = run_id(created);
    let run = store.under(&run_prefix(&id));
    for (name, path) in &options.scenario_files {
        let bytes = std::fs::read(path).map_err(|e| {
            FleetError::Job(format!(
                "cannot read the scenario's {}: {e}",
                path.display()
            ))
        })?;
        run.put(&format!("{SCENARIO_DIR}/{name}"), bytes).await?;
    }
    let scenario_object = options
        .scenario_files
        .first()
        .map(|(name, _)| format!("{SCENARIO_DIR}/{name}"));
    let record = JobRecord {
        run_id: id.clone(),
        workers: options.workers,
        load_args: options.load_args.clone(),
        scenario_object: scenario_object.clone(),
        created_at: created,
    };
    run.put(
        JOB_OBJECT,
        json(&record).map_err(|e| FleetError::Job(e.to_string()))?,
    )
    .await?;
    let planned = run::planned(config).unwrap_or_default();
    let spec = WorkerJobSpec {
        name: id.clone(),
        run_id: id.clone(),
        image: options.image.clone(),
        args: worker_args(options, store.url(), &id, scenario_object.as_deref()),
        workers: options.workers,
        active_deadline_s: (options.ready_timeout + START_MARGIN + planned + UPLOAD_GRACE).as_secs()
            as i64,
        store_claim: options.store_claim.as_ref().map(|claim| {
            let path = url::Url::parse(store.url())
                .ok()
                .and_then(|u| u.to_file_path().ok())
                .map_or_else(|| "/results".to_owned(), |p| p.display().to_string());
            (claim.clone(), path)
        }),
        store_secret: options.store_secret.clone(),
        cpu_request_m: options.worker_cpu_m,
    };
    let mut job = WorkerJob::create(&options.kube, &spec)
        .await
        .map_err(FleetError::Job)?;
    if !config.quiet {
        eprintln!(
            "scaleproof: created Job {} in namespace {}: {} workers ({}); results in {}",
            job.name,
            job.namespace,
            options.workers,
            options.image,
            run.url()
        );
    }
    let mut signals = Signals::new()?;
    if let Err(e) = barrier(&run, &mut job, options, config.quiet, &mut signals).await {
        if let Err(d) = job.delete().await {
            eprintln!("scaleproof: {d}");
        }
        return Err(e);
    }
    let ready_after_s = (Utc::now() - created).num_milliseconds() as f64 / 1000.0;
    let published_at = Utc::now();
    let start_at = published_at + START_MARGIN;
    run.put(
        START_OBJECT,
        json(&StartRecord { start_at }).map_err(|e| FleetError::Job(e.to_string()))?,
    )
    .await?;
    let t0 = Instant::now() + START_MARGIN;
    if !config.quiet {
        eprintln!(
            "scaleproof: all {} workers ready after {ready_after_s:.1} s; the load starts at {} (in {} s)",
            options.workers,
            start_at.to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
            START_MARGIN.as_secs()
        );
    }
    let monitor = watch.as_ref().map(|w| w.monitor());
    let state = Waiting {
        run: &run,
        workers: options.workers,
        t0,
        planned,
        quiet: config.quiet,
        cluster: monitor.map(|m| move || progress::cluster(&m.latest())),
    };
    let end = state.wait(&mut job, &mut signals).await;
    let ended = Instant::now();
    let cluster = watch.map(|w| w.finish(t0, ended));
    let job_state = job.state();
    let local = config.out.join(format!("{id}-workers"));
    let dirs = fetch(&run, options.workers, &local).await?;
    if dirs.is_empty() {
        return Err(FleetError::NoResults(describe_failures(&job_state)));
    }
    let mut merged = merge::combine(&dirs)?;
    for (index, why) in job_state.failures() {
        merged.explain_worker(index, &why);
    }
    let meta = &mut merged.meta;
    meta.expectations = config.scenario.expect.clone();
    meta.preflight = preflight;
    meta.shared = Some(SharedRecord {
        run_id: id.clone(),
        job: job.name.clone(),
        namespace: job.namespace.clone(),
        image: options.image.clone(),
        store: run.url().to_owned(),
        published_at,
        start_at,
        ready_after_s,
    });
    let mut changes = Vec::new();
    if let Some(mut c) = cluster {
        c.fill(&mut merged.rows);
        merged.pods = timeline::join_pods(
            std::mem::take(&mut c.pods),
            std::mem::take(&mut merged.pods),
        );
        changes = c.changes.clone();
        merged.meta.cluster = Some(c.record.clone());
        merged.cluster = Some((c.changes, c.events));
    }
    let analysis = scaling::analyse(&scaling::Inputs {
        timeline: timeline::Timeline::of(&merged.rows, WorkloadSource::Cluster),
        endpoints: &merged.endpoint_rows,
        changes: &changes,
        pods: &merged.pods,
        p95_limit_ms: config.scenario.expect.p95_ms,
    });
    merged.meta.warnings.extend(analysis.warnings);
    for warning in &merged.meta.warnings {
        eprintln!("scaleproof: warning: {warning}");
    }
    let dir = merged.write(&config.out)?;
    Ok(RunOutcome {
        dir,
        end,
        meta: merged.meta,
        live: None,
    })
}

fn describe_failures(state: &JobState) -> String {
    let mut parts: Vec<String> = state
        .failures()
        .into_iter()
        .map(|(i, why)| format!("worker {i}: {why}"))
        .collect();
    if let Some(f) = &state.failed {
        parts.push(format!("Job: {f}"));
    }
    if parts.is_empty() {
        parts.push(format!("pods: {}", state.phases()));
    }
    parts.join("; ")
}

/// SIGINT and SIGTERM, as a stream the controller can select on.
struct Signals {
    int: tokio::signal::unix::Signal,
    term: tokio::signal::unix::Signal,
}

impl Signals {
    fn new() -> Result<Self, FleetError> {
        use tokio::signal::unix::{SignalKind, signal};
        Ok(Self {
            int: signal(SignalKind::interrupt()).map_err(FleetError::Runtime)?,
            term: signal(SignalKind::terminate()).map_err(FleetError::Runtime)?,
        })
    }

    async fn recv(&mut self) -> Signal {
        tokio::select! {
            _ = self.int.recv() => Signal::Int,
            _ = self.term.recv() => Signal::Term,
        }
    }
}

/// Waits until every worker has said it is ready; fails as soon as one cannot be.
async fn barrier(
    run: &Store,
    job: &mut WorkerJob,
    options: &FleetOptions,
    quiet: bool,
    signals: &mut Signals,
) -> Result<(), FleetError> {
    let began = Instant::now();
    let n = options.workers;
    let mut said = String::new();
    loop {
        let state = job.state();
        if let Some((i, why)) = state.failures().into_iter().next() {
            return Err(FleetError::NotReady(format!(
                "worker {i} failed before the start: {why}"
            )));
        }
        if let Some(f) = &state.failed {
            return Err(FleetError::NotReady(format!(
                "Job {} failed before the start: {f}",
                job.name
            )));
        }
        let ready = indices(&run.list("ready").await?, "ready");
        let ready_count = ready.iter().filter(|i| **i < n).count() as u32;
        let line = format!(
            "workers ready {ready_count}/{n} | pods: {}{}",
            state.phases(),
            state
                .watch_error
                .as_ref()
                .map(|e| format!(" | cannot watch the Job: {e}"))
                .unwrap_or_default()
        );
        if !quiet && line != said {
            eprintln!("scaleproof: {line}");
            said = line;
        }
        if ready_count == n {
            return Ok(());
        }
        if began.elapsed() >= options.ready_timeout {
            let missing: Vec<String> = (0..n)
                .filter(|i| !ready.contains(i))
                .map(|i| i.to_string())
                .collect();
            return Err(FleetError::NotReady(format!(
                "{ready_count} of {n} workers ready after {} s (not ready: worker {}; pods: {})",
                options.ready_timeout.as_secs(),
                missing.join(", "),
                state.phases()
            )));
        }
        tokio::select! {
            () = job.changed() => {}
            () = tokio::time::sleep(Duration::from_millis(200)) => {}
            signal = signals.recv() => {
                return Err(FleetError::NotReady(format!("stopped by {signal:?} while workers were getting ready")));
            }
        }
    }
}

/// The load phase, as the controller follows it.
struct Waiting<'a, F> {
    run: &'a Store,
    workers: u32,
    t0: Instant,
    planned: Duration,
    quiet: bool,
    cluster: Option<F>,
}

impl<F: Fn() -> String> Waiting<'_, F> {
    /// Until every worker is done, every pod has ended, the deadline, or a signal (which
    /// deletes the Job: the workers stop, write and upload what they measured).
    async fn wait(&self, job: &mut WorkerJob, signals: &mut Signals) -> EndReason {
        let mut give_up = self.t0 + self.planned + UPLOAD_GRACE;
        let mut interrupted = None;
        let mut next_line = self.t0 + Duration::from_secs(5);
        loop {
            let done = match self.run.list("done").await {
                Ok(names) => indices(&names, "done"),
                Err(e) => {
                    eprintln!("scaleproof: {e}");
                    Default::default()
                }
            };
            let finished = done.iter().filter(|i| **i < self.workers).count() as u32;
            if finished == self.workers {
                break;
            }
            let state = job.state();
            let now = Instant::now();
            // After a signal the Job is gone by our own hand: the workers still get their
            // grace to upload (STOP_GRACE), not the store's settling time.
            let ended = (state.failed.is_some() && interrupted.is_none())
                || (state.pods.len() as u32 == self.workers
                    && state
                        .pods
                        .values()
                        .all(|p| p.phase == "Succeeded" || p.phase == "Failed"));
            if ended {
                give_up = give_up.min(now + SETTLE);
            }
            if now >= give_up {
                break;
            }
            if !self.quiet && now >= next_line {
                let t = now.saturating_duration_since(self.t0);
                let when = if t <= self.planned {
                    format!("{} s of {} s", t.as_secs(), self.planned.as_secs())
                } else {
                    format!(
                        "plan over {} s ago, waiting for results",
                        (t - self.planned).as_secs()
                    )
                };
                eprintln!(
                    "scaleproof: {when} | workers done {finished}/{} | pods: {}{}",
                    self.workers,
                    state.phases(),
                    self.cluster.as_ref().map(|c| c()).unwrap_or_default()
                );
                next_line = now + Duration::from_secs(5);
            }
            tokio::select! {
                () = tokio::time::sleep(Duration::from_millis(500)) => {}
                signal = signals.recv(), if interrupted.is_none() => {
                    eprintln!("scaleproof: {signal:?}: deleting Job {} (the workers stop and upload what they measured)", job.name);
                    if let Err(e) = job.delete().await {
                        eprintln!("scaleproof: {e}");
                    }
                    interrupted = Some(signal);
                    give_up = give_up.min(Instant::now() + STOP_GRACE);
                }
            }
        }
        interrupted.map_or(EndReason::Completed, EndReason::Interrupted)
    }
}

/// Downloads each worker's run directory that is in the store into `local/worker-<i>/`.
async fn fetch(run: &Store, workers: u32, local: &Path) -> Result<Vec<PathBuf>, FleetError> {
    let mut dirs = Vec::new();
    for i in 0..workers {
        let dir = local.join(results_prefix(i));
        if run.download_dir(&results_prefix(i), &dir).await? > 0 && dir.join("run.json").is_file() {
            dirs.push(dir);
        }
    }
    Ok(dirs)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_run_id_is_a_short_dns_label() {
        let at = DateTime::parse_from_rfc3339("2026-11-30T15:05:01.123456789Z")
            .expect("time")
            .with_timezone(&Utc);
        let id = run_id(at);
        assert!(id.starts_with("sp-20261130-150501-"), "{id}");
        assert_eq!(id.len(), 23);
        assert!(
            id.chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
        );
    }
}
