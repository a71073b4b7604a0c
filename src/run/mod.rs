//! One run end to end: start the local replicas (no --host) or the cluster watch, drive the
//! load, close seconds and print progress, then write the run directory, whatever stopped the
//! run.

mod calibration;
mod closer;
pub mod progress;
mod record;
mod unstarted;
mod workload;

use crate::cluster::ClusterRecording;
use crate::config::{LoadShape, RunConfig, Target};
use crate::live::{self, LiveServer};
use crate::load::control::{EndReason, RunControl};
use crate::load::recorder::{Gauges, Recorder, Recording};
use crate::load::{self, LoadError, LoadHandle, LoadSetup, ReadyLoad};
use crate::local::LocalError;
use crate::scaling;
use crate::timeline::{self, RunDirError, RunMeta, WorkloadSource};
use chrono::Utc;
use closer::{LiveFeed, OwnThread, SharedFeed, close_seconds};
use record::{run_meta, write_run_dir};
use reqwest::Url;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};
pub(crate) use workload::start_cluster;
use workload::{Workload, start_local};

/// A finished run.
#[derive(Debug)]
pub struct RunOutcome {
    /// The run directory.
    pub dir: PathBuf,
    pub end: EndReason,
    pub meta: RunMeta,
    /// The live page, still serving (`--live`): the caller publishes the end.
    pub live: Option<LiveServer>,
}

/// Why a run could not be carried out or written.
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    #[error(transparent)]
    Local(#[from] LocalError),
    #[error("no local replica became ready: {why}; {}", match .dir {
        Ok(dir) => format!("its run directory: {}", dir.display()),
        Err(e) => format!("and its run directory could not be written: {e}"),
    })]
    NotReady {
        why: String,
        /// The run directory that records the replicas' start (no seconds).
        dir: Result<PathBuf, String>,
    },
    #[error("cannot calibrate the local replicas to this machine")]
    Calibrate(#[from] crate::local::calibrate::CalibrationError),
    #[error(transparent)]
    Load(#[from] LoadError),
    #[error(transparent)]
    RunDir(#[from] RunDirError),
    #[error("cannot start the async runtime")]
    Runtime(#[source] std::io::Error),
    #[error("cannot serve the live page on {addr}")]
    Live {
        addr: String,
        #[source]
        source: std::io::Error,
    },
}

/// Carries out one run and writes its run directory.
pub fn execute(config: &RunConfig) -> Result<RunOutcome, RunError> {
    let mut preflight = Vec::new();
    let (workload, base) = match (&config.target, &config.local) {
        (Target::Url(url), _) => {
            let (watch, checks) = start_cluster(config);
            preflight = checks;
            (watch.map_or(Workload::None, Workload::Watched), url.clone())
        }
        (Target::Embedded, options) => {
            let options = options.clone().unwrap_or_else(|| {
                unreachable!("the configuration gives local options with no --host")
            });
            let local = start_local(options, config)?;
            if let Err(why) = local.wait_ready() {
                let dir = unstarted::record(config, local, &why);
                return Err(RunError::NotReady { why, dir });
            }
            let base = Url::parse(&format!("http://{}/", local.base()))
                .expect("a socket address makes a valid URL");
            (Workload::Local(Box::new(local)), base)
        }
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(config.threads)
        .thread_name(load::health::WORKER_THREAD_NAME)
        .enable_all()
        .build()
        .map_err(RunError::Runtime)?;
    runtime.block_on(run_async(config, base, workload, preflight))
}

/// The run once its target is up: prepare the load, say what runs, open the live page, drive
/// the load while seconds close, gather what was measured, and write the run directory.
async fn run_async(
    config: &RunConfig,
    base: Url,
    workload: Workload,
    preflight: Vec<String>,
) -> Result<RunOutcome, RunError> {
    // scaleproof started the target itself.
    let embedded = matches!(workload, Workload::Local(_));
    let load_config = load_config(config);
    let (handle, prepared) = prepare_load(&load_config, &base)?;
    announce(config, &base, embedded);
    let live_page = open_live_page(config, &base, &workload)?;
    let live_feed = live_page
        .as_ref()
        .map(|server| LiveFeed::new(server, config, &workload, embedded));
    let driven = drive(
        config,
        &load_config,
        &handle,
        prepared,
        &workload,
        &live_feed,
    )
    .await?;
    // Stop the watch first: it must not outlive the run by more than a second.
    let logs = workload.logs();
    let (mut cluster, local_replicas) = workload.finish(handle.recorder.t0(), driven.ended);
    let end = driven.result?;
    let mut recording = gather(
        config,
        handle.as_ref(),
        (driven.ended, driven.users),
        cluster.as_ref(),
        live_feed.as_ref(),
    );
    let pods = timeline::join_pods(
        cluster
            .as_mut()
            .map(|c| std::mem::take(&mut c.pods))
            .unwrap_or_default(),
        std::mem::take(&mut recording.served),
    );
    let mut meta = run_meta(
        config,
        &base,
        embedded,
        handle.recorder.started_at(),
        Utc::now(),
        driven.ended.duration_since(handle.recorder.t0()),
        end,
        &recording,
        cluster.as_ref().map(|c| c.record.clone()),
        local_replicas,
    );
    meta.preflight = preflight;
    meta.warnings = warnings(config, &recording, cluster.as_ref(), &pods);
    let dir = write_run_dir(config, &meta, &recording, cluster.as_ref(), &pods)?;
    if let Some(logs) = logs
        && let Err(e) = workload::copy_logs(logs.path(), &dir)
    {
        eprintln!(
            "scaleproof: warning: cannot copy the replicas' logs into the run directory: {e}"
        );
    }
    Ok(RunOutcome {
        dir,
        end,
        meta,
        live: live_page,
    })
}

/// The load, ready to start: its recorder (second 0 not yet begun), control and users.
fn prepare_load(
    load_config: &load::LoadConfig,
    base: &Url,
) -> Result<(Arc<LoadHandle>, ReadyLoad), RunError> {
    let recorder = Arc::new(Recorder::new(Instant::now(), Utc::now()));
    let (handle, prepared) = load::prepare(
        load_config,
        LoadSetup {
            base: base.clone(),
            recorder,
            control: Arc::new(RunControl::new()),
        },
    )?;
    Ok((Arc::new(handle), prepared))
}

/// The banner: what is loaded, and what about its TLS a person must know.
fn announce(config: &RunConfig, base: &Url, embedded: bool) {
    if base.scheme() == "https" && config.tls.insecure {
        eprintln!(
            "scaleproof: WARNING: --insecure: the server's certificate is not verified; anyone on the path could have answered (recorded in run.json and the report)"
        );
    } else if base.scheme() == "http" && config.tls.is_set() {
        eprintln!(
            "scaleproof: note: the TLS options (--cacert, --insecure, --cert, [tls]) have no effect on an http:// target"
        );
    }
    if !config.quiet {
        eprintln!(
            "scaleproof: {} → {base}{}",
            config.scenario.name,
            if embedded { " (local replicas)" } else { "" }
        );
    }
}

/// The live page (`--live`), serving before the load starts.
fn open_live_page(
    config: &RunConfig,
    base: &Url,
    workload: &Workload,
) -> Result<Option<LiveServer>, RunError> {
    let Some(options) = &config.live else {
        return Ok(None);
    };
    let hello = live::hello(
        &config.scenario.name,
        base.as_str(),
        &workload.describe(config),
        planned(config).map(|d| d.as_secs_f64()),
        matches!(config.shape, LoadShape::Open { .. }),
        &config.scenario.expect,
        Utc::now(),
    );
    let server =
        LiveServer::start(options.bind, options.port, hello).map_err(|source| RunError::Live {
            addr: format!("{}:{}", options.bind, options.port),
            source,
        })?;
    eprintln!("scaleproof: live page {}", server.url());
    if !options.bind.is_loopback() {
        eprintln!(
            "scaleproof: note: the live page listens on {}: anyone who can reach this machine can watch the run",
            options.bind
        );
    }
    Ok(Some(server))
}

/// What driving the load left.
struct Driven {
    /// Why the load ended, or why it could not run.
    result: Result<EndReason, LoadError>,
    /// When it ended.
    ended: Instant,
    /// Users running when the last second closed.
    users: u64,
}

/// Drives the load to its end, with the closer and the timer-lag probe beside it.
async fn drive(
    config: &RunConfig,
    load_config: &load::LoadConfig,
    handle: &Arc<LoadHandle>,
    prepared: ReadyLoad,
    workload: &Workload,
    live_feed: &Option<SharedFeed>,
) -> Result<Driven, RunError> {
    let last_users = Arc::new(AtomicU64::new(0));
    let closer = OwnThread::spawn(
        "scaleproof-close",
        close_seconds(
            handle.clone(),
            last_users.clone(),
            config.quiet,
            planned(config),
            workload.monitor(),
            live_feed.clone(),
        ),
    )?;
    let probe = {
        let handle = handle.clone();
        tokio::spawn(async move {
            handle.control.started().await;
            load::health::probe(handle.recorder.clone()).await;
        })
    };
    let result = load::run(load_config, handle, prepared).await;
    closer.stop();
    probe.abort();
    Ok(Driven {
        result,
        ended: Instant::now(),
        users: last_users.load(Ordering::Relaxed),
    })
}

/// Closes the last seconds and returns the whole recording, with the cluster's columns
/// filled in; the seconds closed at the end go to the live page too.
fn gather(
    config: &RunConfig,
    handle: &LoadHandle,
    (ended, users): (Instant, u64),
    cluster: Option<&ClusterRecording>,
    live_feed: Option<&SharedFeed>,
) -> Recording {
    let mut recording = handle.recorder.finish(ended, |s| Gauges {
        users,
        target_rps: handle.target_rps(s),
    });
    if let Some(c) = cluster {
        c.fill(&mut recording.rows);
    }
    if let Some(feed) = live_feed {
        let mut feed = feed.lock().unwrap_or_else(|p| p.into_inner());
        let from = feed.seconds.published();
        for row in recording.rows.iter().filter(|r| r.t_s >= from) {
            let line = progress::line(row, planned(config));
            feed.seconds.publish(row.clone(), line, &recording.totals);
        }
    }
    recording
}

/// What would mislead in the run's evidence (the scaling analysis), printed and kept.
fn warnings(
    config: &RunConfig,
    recording: &Recording,
    cluster: Option<&ClusterRecording>,
    pods: &[timeline::PodRow],
) -> Vec<String> {
    let workload = cluster.map_or(WorkloadSource::Cluster, |c| c.record.source);
    let warnings = scaling::analyse(&scaling::Inputs {
        timeline: timeline::Timeline::of(&recording.rows, workload),
        endpoints: &recording.endpoint_rows,
        changes: cluster.map_or(&[], |c| &c.changes),
        pods,
        p95_limit_ms: config.scenario.expect.p95_ms,
    })
    .warnings;
    let mut warnings = warnings;
    // Local replicas whose CPU limit the kernel did not hold: the story's CPU figures are the
    // replicas' own restraint (or none, for a command). Said, not made a caveat: the mechanics
    // of the scale-out are still shown, labelled as local.
    if let Some(held) = cluster.and_then(|c| c.record.cpu_limit.as_deref())
        && held.starts_with("not enforced")
    {
        warnings.push(format!("LOCAL CPU limit {held}"));
    }
    for warning in &warnings {
        eprintln!("scaleproof: warning: {warning}");
    }
    warnings
}

/// The part of the run's configuration the load side needs.
fn load_config(config: &RunConfig) -> load::LoadConfig {
    load::LoadConfig {
        name: config.scenario.name.clone(),
        requests: config.scenario.requests.clone(),
        shape: worker_shape(&config.shape, config.worker),
        timeout: config.timeout,
        recycle: config.recycle,
        endpoint_header: config.endpoint_header.clone(),
        request_log: config.request_log.clone(),
        tls: config.tls.clone(),
        share: config.worker,
        start_at: config.start_at,
    }
}

/// The load this process drives: a worker's share of the users (closed model); an open
/// model's slots are shared out by the pacer.
fn worker_shape(shape: &LoadShape, worker: Option<crate::config::WorkerShare>) -> LoadShape {
    match (shape, worker) {
        (
            LoadShape::Closed {
                users,
                hatch_rate,
                run_time,
                test_plan: None,
            },
            Some(w),
        ) => LoadShape::Closed {
            users: w.part(*users).max(1),
            hatch_rate: hatch_rate / f64::from(w.count),
            run_time: *run_time,
            test_plan: None,
        },
        _ => shape.clone(),
    }
}

/// How long the load is planned to last (none for a closed model without a run time).
pub(crate) fn planned(config: &RunConfig) -> Option<Duration> {
    match &config.shape {
        LoadShape::Closed { run_time, .. } => *run_time,
        LoadShape::Open { plan, .. } => Some(plan.duration()),
    }
}
