//! One run end to end: start the local replicas (no --host) or the cluster watch, drive the
//! load, close seconds and print progress, then write the run directory, whatever stopped the
//! run.

use crate::checks::{Finding, Status};
use crate::cluster::{ClusterRecording, ClusterWatch};
use crate::config::{ClusterOptions, LoadShape, LocalOptions, RunConfig, Target};
use crate::live::{self, LiveServer};
use crate::load::control::{EndReason, RunControl};
use crate::load::recorder::{Gauges, Recorder, Recording};
use crate::load::{self, LoadError, LoadHandle, LoadSetup};
use crate::local::{LocalCluster, LocalError};
use crate::progress;
use crate::scaling;
use crate::scenario::headers;
use crate::timeline::{
    self, ClusterRecord, GeneratorRecord, LoadRecord, PER_SECOND_HLOG, RUN_FORMAT, ReplicaLife,
    RequestRecord, RunDir, RunDirError, RunMeta, StageRecord, TOTAL_HLOG, TlsRecord,
    WorkloadSource,
};
use chrono::Utc;
use reqwest::Url;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

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

/// A second is closed this long after it ends, so requests finishing at its very end are in.
const CLOSE_MARGIN: Duration = Duration::from_millis(100);

/// The replicas behind the target: a watched Deployment, local replicas, or nothing known.
#[derive(Debug)]
enum Workload {
    None,
    Watched(ClusterWatch),
    Local(LocalCluster),
}

impl Workload {
    /// Reads the latest state, for the progress line.
    fn monitor(&self) -> Option<Box<dyn Fn() -> String + Send + Sync>> {
        match self {
            Workload::None => None,
            Workload::Watched(w) => {
                let m = w.monitor();
                Some(Box::new(move || progress::cluster(&m.latest())))
            }
            Workload::Local(l) => {
                let m = l.monitor();
                Some(Box::new(move || {
                    progress::replicas(&m.latest(), WorkloadSource::Local)
                }))
            }
        }
    }

    /// Reads the latest state as cluster columns, for the live page.
    fn sampler(&self) -> Option<Box<dyn Fn() -> timeline::ClusterSample + Send + Sync>> {
        match self {
            Workload::None => None,
            Workload::Watched(w) => {
                let m = w.monitor();
                Some(Box::new(move || m.latest()))
            }
            Workload::Local(l) => {
                let m = l.monitor();
                Some(Box::new(move || m.latest()))
            }
        }
    }

    /// What the replicas are, in words, for the live page's title strip.
    fn describe(&self, config: &RunConfig) -> String {
        let cluster = config.cluster.as_ref();
        let source = match (self, cluster) {
            (Workload::Local(_), _) => Some(WorkloadSource::Local),
            (Workload::Watched(_), Some(_)) => Some(WorkloadSource::Cluster),
            _ => None,
        };
        WorkloadSource::describe(
            source,
            cluster.map_or("", |c| c.deployment.as_str()),
            cluster.and_then(|c| c.namespace.as_deref()),
        )
    }

    /// Stops watching (or drains the local replicas) and places the history on the run clock.
    fn finish(
        self,
        t0: Instant,
        end: Instant,
    ) -> (Option<ClusterRecording>, Option<Vec<ReplicaLife>>) {
        match self {
            Workload::None => (None, None),
            Workload::Watched(w) => (Some(w.finish(t0, end)), None),
            Workload::Local(l) => {
                let (recording, lives) = l.finish(t0, end);
                (Some(recording), Some(lives))
            }
        }
    }
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
            let local = start_local(options, config.quiet)?;
            let base = Url::parse(&format!("http://{}/", local.base()))
                .expect("a socket address makes a valid URL");
            (Workload::Local(local), base)
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

/// Starts the local replicas and says what they are.
fn start_local(options: LocalOptions, quiet: bool) -> Result<LocalCluster, RunError> {
    let local = LocalCluster::start(options.clone(), quiet)?;
    if !quiet {
        let o = &options;
        let scaling = if o.autoscale {
            format!(
                "{}..{} replicas, autoscaled to {:.0}% CPU (HPA algorithm, sync every {})",
                o.hpa.min_replicas,
                o.hpa.max_replicas,
                o.hpa.target_utilization_pct,
                humantime::format_duration(o.sync_period)
            )
        } else {
            let n = o.hpa.min_replicas;
            format!("{n} replica{}, fixed", if n == 1 { "" } else { "s" })
        };
        eprintln!(
            "scaleproof: LOCAL replicas, simulated on this machine (not a cluster): {scaling}; CPU request {}m, limit {}m each; balancer {}",
            o.cpu_request_m,
            o.cpu_limit_m,
            local.base()
        );
    }
    Ok(local)
}

/// How long the load waits for the cluster watch's first LIST (or first error) at most.
const CLUSTER_SETTLE: Duration = Duration::from_secs(5);

/// How long the doctor's cluster checks may hold up the start of a watched run.
const PREFLIGHT_WAIT: Duration = Duration::from_secs(5);

/// The doctor's cluster checks (`scaleproof doctor` without the target checks), run while the
/// watch starts: every finding that is not ok, as one line each (printed, and kept in
/// `run.json` → `preflight`).
fn preflight(options: &ClusterOptions) -> Vec<String> {
    let Ok(runtime) = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    else {
        return Vec::new();
    };
    // The timer is made inside the runtime.
    let checked = runtime.block_on(async {
        tokio::time::timeout(PREFLIGHT_WAIT, crate::cluster::doctor::check(options, None)).await
    });
    let lines: Vec<String> = match checked {
        Ok(check) => check
            .findings
            .iter()
            .filter(|f| f.status != Status::Ok)
            .map(Finding::summary)
            .collect(),
        Err(_) => vec![format!(
            "warn doctor: the cluster checks did not finish within {} s",
            PREFLIGHT_WAIT.as_secs()
        )],
    };
    for line in &lines {
        eprintln!("scaleproof: doctor: {line}");
    }
    lines
}

/// Starts the cluster watch, if any, runs the doctor's cluster checks meanwhile, and waits
/// (briefly) for the watch's first answers so that the state at the start of the load is
/// known.
pub(crate) fn start_cluster(config: &RunConfig) -> (Option<ClusterWatch>, Vec<String>) {
    let Some(options) = &config.cluster else {
        if !config.quiet {
            eprintln!(
                "scaleproof: no cluster watched (no --deployment): replicas are counted as distinct {} values",
                config.endpoint_header
            );
        }
        return (None, Vec::new());
    };
    let watch = ClusterWatch::start(options.clone());
    let checks = preflight(options);
    let settled = watch.wait_settled(CLUSTER_SETTLE);
    if !config.quiet {
        let record = watch.record();
        let latest = watch.monitor().latest();
        let state = if latest.is_unknown() {
            " | replicas unknown (see the warning above)".to_owned()
        } else {
            progress::cluster(&latest)
        };
        eprintln!(
            "scaleproof: watching Deployment {}{}{}{}{}",
            options.deployment,
            if record.namespace.is_empty() {
                String::new()
            } else {
                format!(" in namespace {}", record.namespace)
            },
            record
                .kube_context
                .map(|c| format!(" (context {c})"))
                .unwrap_or_default(),
            if settled {
                state
            } else {
                " | no answer yet; the load starts anyway".to_owned()
            },
            record
                .hpa
                .map(|h| format!(" | HPA {h}"))
                .unwrap_or_default(),
        );
    }
    (Some(watch), checks)
}

async fn run_async(
    config: &RunConfig,
    base: Url,
    workload: Workload,
    preflight: Vec<String>,
) -> Result<RunOutcome, RunError> {
    // scaleproof started the target itself.
    let embedded = matches!(workload, Workload::Local(_));
    let started_at = Utc::now();
    let recorder = Arc::new(Recorder::new(Instant::now(), started_at));
    let control = Arc::new(RunControl::new());
    let load_config = load_config(config);
    let (handle, prepared) = load::prepare(
        &load_config,
        LoadSetup {
            base: base.clone(),
            recorder,
            control,
        },
    )?;
    let handle = Arc::new(handle);
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
    let live_page = match &config.live {
        Some(options) => {
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
                LiveServer::start(options.bind, options.port, hello).map_err(|source| {
                    RunError::Live {
                        addr: format!("{}:{}", options.bind, options.port),
                        source,
                    }
                })?;
            eprintln!("scaleproof: live page {}", server.url());
            if !options.bind.is_loopback() {
                eprintln!(
                    "scaleproof: note: the live page listens on {}: anyone who can reach this machine can watch the run",
                    options.bind
                );
            }
            Some(server)
        }
        None => None,
    };
    let last_users = Arc::new(AtomicU64::new(0));
    let live_seconds = live_page.as_ref().map(|server| {
        let source = if embedded {
            WorkloadSource::Local
        } else {
            WorkloadSource::Cluster
        };
        Arc::new(std::sync::Mutex::new(LiveFeed {
            seconds: live::Seconds::new(server.hub(), config.scenario.expect.clone(), source),
            sample: workload.sampler(),
        }))
    });
    let closer = OwnThread::spawn(
        "scaleproof-close",
        close_seconds(
            handle.clone(),
            last_users.clone(),
            config.quiet,
            planned(config),
            workload.monitor(),
            live_seconds.clone(),
        ),
    )?;
    let probe = {
        let handle = handle.clone();
        tokio::spawn(async move {
            handle.control.started().await;
            load::health::probe(handle.recorder.clone()).await;
        })
    };
    let result = load::run(&load_config, &handle, prepared).await;
    closer.stop();
    probe.abort();
    let ended = Instant::now();
    let t0 = handle.recorder.t0();
    // Stop the watch first: it must not outlive the run by more than a second.
    let (mut cluster, local_replicas) = workload.finish(t0, ended);
    let end = result?;
    let users = last_users.load(Ordering::Relaxed);
    let mut recording = handle.recorder.finish(ended, |s| Gauges {
        users,
        target_rps: handle.target_rps(s),
    });
    if let Some(c) = &cluster {
        c.fill(&mut recording.rows);
    }
    // The seconds closed at the end (the last, partial one) go to the live page too.
    if let Some(feed) = &live_seconds {
        let mut feed = feed.lock().unwrap_or_else(|p| p.into_inner());
        let from = feed.seconds.published();
        for row in recording.rows.iter().filter(|r| r.t_s >= from) {
            let line = progress::line(row, planned(config));
            feed.seconds.publish(row.clone(), line, &recording.totals);
        }
    }
    let pods = timeline::join_pods(
        cluster
            .as_mut()
            .map(|c| std::mem::take(&mut c.pods))
            .unwrap_or_default(),
        std::mem::take(&mut recording.served),
    );
    let ended_at = Utc::now();
    let mut meta = run_meta(
        config,
        &base,
        embedded,
        handle.recorder.started_at(),
        ended_at,
        ended.duration_since(handle.recorder.t0()),
        end,
        &recording,
        cluster.as_ref().map(|c| c.record.clone()),
        local_replicas,
    );
    meta.preflight = preflight;
    let workload = cluster
        .as_ref()
        .map_or(WorkloadSource::Cluster, |c| c.record.source);
    meta.warnings = scaling::analyse(&scaling::Inputs {
        timeline: timeline::Timeline::of(&recording.rows, workload),
        endpoints: &recording.endpoint_rows,
        changes: cluster.as_ref().map_or(&[], |c| &c.changes),
        pods: &pods,
        p95_limit_ms: config.scenario.expect.p95_ms,
    })
    .warnings;
    for warning in &meta.warnings {
        eprintln!("scaleproof: warning: {warning}");
    }
    let dir = write_run_dir(config, &meta, &recording, cluster.as_ref(), &pods)?;
    Ok(RunOutcome {
        dir,
        end,
        meta,
        live: live_page,
    })
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

/// A task on a thread of its own (a current-thread runtime), stopped and joined on demand:
/// work that must never take a turn from the load's worker threads.
struct OwnThread {
    stop: tokio::sync::oneshot::Sender<()>,
    thread: std::thread::JoinHandle<()>,
}

impl OwnThread {
    fn spawn(
        name: &str,
        task: impl std::future::Future<Output = ()> + Send + 'static,
    ) -> Result<Self, RunError> {
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_time()
            .build()
            .map_err(RunError::Runtime)?;
        let thread = std::thread::Builder::new()
            .name(name.to_owned())
            .spawn(move || {
                runtime.block_on(async move {
                    tokio::select! {
                        () = task => {}
                        _ = stopped => {}
                    }
                });
            })
            .map_err(RunError::Runtime)?;
        Ok(Self { stop, thread })
    }

    /// Stops the task and waits for its thread to end.
    fn stop(self) {
        let _ = self.stop.send(());
        if self.thread.join().is_err() {
            tracing::warn!("a helper thread panicked");
        }
    }
}

/// The live page's side of the closer: each second to publish, and the watch's latest state
/// for its cluster columns.
struct LiveFeed {
    seconds: live::Seconds,
    sample: Option<Box<dyn Fn() -> timeline::ClusterSample + Send + Sync>>,
}

/// Closes each second shortly after it ends and prints its progress line.
async fn close_seconds(
    handle: Arc<LoadHandle>,
    last_users: Arc<AtomicU64>,
    quiet: bool,
    planned: Option<Duration>,
    cluster: Option<Box<dyn Fn() -> String + Send + Sync>>,
    live: Option<Arc<std::sync::Mutex<LiveFeed>>>,
) {
    handle.control.started().await;
    let t0 = handle.recorder.t0();
    let mut next = 1u64;
    loop {
        let at = t0 + Duration::from_secs(next) + CLOSE_MARGIN;
        tokio::time::sleep_until(at.into()).await;
        let upto = Instant::now()
            .saturating_duration_since(t0 + CLOSE_MARGIN)
            .as_secs();
        let users = handle.users();
        last_users.store(users, Ordering::Relaxed);
        let rows = handle.recorder.close_until(upto, 1.0, |s| Gauges {
            users,
            target_rps: handle.target_rps(s),
        });
        let state = cluster.as_ref().map(|state| state()).unwrap_or_default();
        if !quiet {
            for row in &rows {
                eprintln!("{}{state}", progress::line(row, planned));
            }
        }
        if let Some(feed) = &live
            && !rows.is_empty()
        {
            let totals = handle.recorder.totals();
            let mut feed = feed.lock().unwrap_or_else(|p| p.into_inner());
            let sample = feed.sample.as_ref().map(|s| s());
            for row in rows {
                let line = format!("{}{state}", progress::line(&row, planned));
                let mut row = row;
                if let Some(sample) = &sample {
                    row.set_cluster(sample);
                }
                feed.seconds.publish(row, line, &totals);
            }
        }
        next = upto + 1;
    }
}

#[allow(clippy::too_many_arguments)]
fn run_meta(
    config: &RunConfig,
    base: &Url,
    embedded: bool,
    started_at: chrono::DateTime<Utc>,
    ended_at: chrono::DateTime<Utc>,
    duration: Duration,
    end: EndReason,
    recording: &Recording,
    cluster: Option<ClusterRecord>,
    local_replicas: Option<Vec<ReplicaLife>>,
) -> RunMeta {
    let load = match &config.shape {
        LoadShape::Closed {
            users,
            hatch_rate,
            run_time,
            test_plan,
        } => LoadRecord::Closed {
            users: *users,
            hatch_rate: *hatch_rate,
            run_time_s: run_time.map(|d| d.as_secs_f64()),
            test_plan: test_plan.as_ref().map(|p| p.as_str().to_owned()),
        },
        LoadShape::Open {
            plan,
            max_users,
            max_lag,
        } => LoadRecord::Open {
            stages: plan
                .stages()
                .iter()
                .map(|s| StageRecord {
                    target_rps: s.target_rps,
                    over_s: s.over.as_secs_f64(),
                })
                .collect(),
            max_users: *max_users,
            max_lag_s: max_lag.as_secs_f64(),
        },
    };
    RunMeta {
        format: RUN_FORMAT.to_owned(),
        scaleproof_version: env!("CARGO_PKG_VERSION").to_owned(),
        scenario: config.scenario.name.clone(),
        scenario_file: Some(config.scenario.source.clone()),
        description: config.scenario.description.clone(),
        target: base.to_string(),
        embedded_target: embedded,
        load,
        requests: config
            .scenario
            .requests
            .iter()
            .map(|r| RequestRecord {
                name: r.name.clone(),
                method: r.method.to_string(),
                path: r.path.clone(),
                weight: r.weight,
                body: r.body.describe(),
                headers: headers::redacted(&r.headers),
            })
            .collect(),
        endpoint_header: config.endpoint_header.to_string(),
        tls: (base.scheme() == "https").then(|| TlsRecord {
            insecure: config.tls.insecure,
            cacert: config.tls.cacert.as_ref().map(|p| p.display().to_string()),
            client_cert: config
                .tls
                .client_cert
                .as_ref()
                .map(|p| p.display().to_string()),
        }),
        request_timeout_s: config.timeout.as_secs_f64(),
        recycle_connections_s: config.recycle.map(|d| d.as_secs_f64()),
        expectations: config.scenario.expect.clone(),
        started_at,
        ended_at,
        duration_s: duration.as_secs_f64(),
        end_reason: end.to_string(),
        totals: recording.totals.clone(),
        generator: GeneratorRecord::here(),
        cluster,
        local_replicas,
        warnings: Vec::new(),
        preflight: Vec::new(),
        worker: config.worker.map(|w| timeline::WorkerRecord {
            index: w.index,
            count: w.count,
            start_at: config.start_at,
            start_late_ms: config
                .start_at
                .map(|at| (started_at - at).num_microseconds().unwrap_or(0) as f64 / 1000.0),
        }),
        workers: Vec::new(),
        shared: None,
    }
}

fn write_run_dir(
    config: &RunConfig,
    meta: &RunMeta,
    recording: &Recording,
    cluster: Option<&ClusterRecording>,
    pods: &[timeline::PodRow],
) -> Result<PathBuf, RunError> {
    let dir = RunDir::create(&config.out, meta.started_at, &meta.scenario)?;
    dir.write_meta(meta)?;
    dir.write(&timeline::TIMELINE, &recording.rows)?;
    dir.write(&timeline::ENDPOINTS, &recording.endpoint_rows)?;
    dir.write(&timeline::ERRORS, &recording.errors)?;
    dir.write(&timeline::PODS, pods)?;
    if let Some(c) = cluster {
        dir.write(&timeline::CLUSTER, &c.changes)?;
        dir.write(&timeline::EVENTS, &c.events)?;
    }
    dir.write_bytes(PER_SECOND_HLOG, &recording.per_second_hlog)?;
    dir.write_bytes(TOTAL_HLOG, &recording.total_hlog)?;
    Ok(dir.path().to_path_buf())
}
