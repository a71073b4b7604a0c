//! Command-line arguments, typed as clap parses them (with the parsers of [`crate::values`]
//! that scenario files use too), and their merge with the scenario into a [`RunConfig`].

use crate::config::{
    ClusterOptions, FleetOptions, HpaSpec, LoadShape, LocalOptions, RunConfig, Target, TlsConfig,
    defaults,
};
use crate::scenario::headers;
use crate::scenario::{
    ClusterSpec, Expectations, LocalSpec, RatePlan, Scenario, ScenarioError, TlsSpec,
};
use crate::values::{self, TestPlan};

mod doctor;
use clap::{Args, Parser, Subcommand};
pub use doctor::DoctorArgs;
use reqwest::Url;
use reqwest::header::{HeaderMap, HeaderName};
use std::path::PathBuf;
use std::time::Duration;

/// Prove that an ML inference service scales out under real load.
///
/// Drives HTTP load at a prediction endpoint (Goose users, or a target request rate), records
/// what happened every second, and writes a run directory under --out. With no --host it
/// runs the bundled target-service as local replicas on 127.0.0.1, autoscaled by the HPA
/// algorithm: a scale-out simulated on this machine, labelled so.
#[derive(Debug, Parser)]
#[command(
    name = "scaleproof",
    version,
    args_conflicts_with_subcommands = true,
    after_help = "Examples:\n  \
        scaleproof                                         # 90 s scale-out story on local replicas\n  \
        scaleproof --replicas 1..6 --hpa-target 50%        # the same, scaled harder\n  \
        scaleproof --host http://10.0.0.5:8080 --users 500 --hatch-rate 50 --run-time 5m\n  \
        scaleproof --host http://svc --rate 100:30s,1200:2m,1200:3m\n  \
        scaleproof --scenario scenarios/smoke.toml\n  \
        scaleproof --host http://203.0.113.10 --rate 1200:2m,1200:3m --deployment target-service \\\n      \
        --expect-rps 1000 --expect-replicas 2\n  \
        scaleproof report reports/20261126T061500Z-predict --expect-p95 100ms\n\n\
        Exit codes: 0 run completed and every expectation passed (or none was set);\n\
        1 an expectation failed; 2 invalid arguments, scenario or run directory (nothing sent);\n\
        3 the run could not be carried out or written; 4 inconclusive: the evidence cannot\n\
        support a pass (generator saturated, too many dropped slots, an expectation with no data);\n\
        130 / 143 stopped by SIGINT / SIGTERM (the run directory and report are still written)."
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Command>,
    #[command(flatten)]
    pub run: RunArgs,
}

/// Subcommands; the default is `run`.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run a load test (the default when no subcommand is given).
    Run(Box<RunArgs>),
    /// Re-render the reports and verdict of an existing run directory (no network).
    Report(ReportArgs),
    /// Merge the run directories of the workers of one shared run (`--worker I/N`) into one
    /// run directory, exactly: counters summed, HdrHistograms added; then write its reports
    /// and verdict. A missing or failed worker makes the verdict inconclusive.
    Merge(MergeArgs),
    /// One worker of a shared run, as a pod of the Indexed Job `run --workers N` creates (not
    /// for people): warm up, say ready, start at the published time, upload the run directory.
    #[command(hide = true)]
    Worker(Box<WorkerArgs>),
    /// Render a run directory as an animation for a video or slides: the dashboard growing
    /// second by second with a playhead (animated GIF, APNG, or PNG frames for ffmpeg).
    Replay(ReplayArgs),
    /// Check what would spoil the evidence before a run: cluster access, RBAC, the
    /// Deployment, HPA and metrics-server, the Service, the target's endpoints, and this
    /// machine's generator capacity.
    Doctor(Box<DoctorArgs>),
    /// One local replica (started by scaleproof itself for local replicas; not for people).
    #[command(hide = true)]
    Replica(ReplicaArgs),
}

/// Flags of the hidden `scaleproof replica`.
#[derive(Debug, Args)]
pub struct ReplicaArgs {
    /// `X-Served-By` of the replica.
    #[arg(long)]
    pub served_by: String,
    /// CPU limit, millicores.
    #[arg(long, default_value_t = 1000)]
    pub cpu_limit_m: u32,
    /// Extra forest evaluations per request.
    #[arg(long, default_value_t = 0)]
    pub work_factor: u32,
    /// Longest drain after SIGTERM.
    #[arg(long, default_value = "20s", value_parser = values::duration)]
    pub grace_period: Duration,
}

/// Flags of `scaleproof report`.
#[derive(Debug, Args)]
pub struct ReportArgs {
    /// The run directory, e.g. reports/20261126T061500Z-predict.
    pub run_dir: PathBuf,
    #[command(flatten)]
    pub expect: ExpectArgs,
}

/// Flags of `scaleproof merge`.
#[derive(Debug, Args)]
pub struct MergeArgs {
    /// The workers' run directories (one per worker of the run).
    #[arg(required = true, value_name = "RUN_DIR")]
    pub run_dirs: Vec<PathBuf>,
    /// Folder that receives the merged run directory.
    #[arg(long, value_name = "DIR", default_value = "reports")]
    pub out: PathBuf,
}

/// Flags of `scaleproof replay`.
#[derive(Debug, Args)]
pub struct ReplayArgs {
    /// The run directory to replay.
    pub run_dir: PathBuf,
    /// Run seconds per second of replay: 10 turns a 5-minute run into 30 s.
    #[arg(long, value_name = "TIMES", default_value = "10", value_parser = values::positive)]
    pub speed: f64,
    /// Frames per second of the replay.
    #[arg(long, value_name = "N", default_value_t = 30, value_parser = clap::value_parser!(u32).range(1..=120))]
    pub fps: u32,
    /// Frame size, WIDTHxHEIGHT [default: 960x540 for gif, 1920x1080 for apng and frames]
    #[arg(long, value_name = "WxH", value_parser = frame_size)]
    pub size: Option<(u32, u32)>,
    /// gif (README, slides), apng (exact colours and rate), or frames (numbered PNGs; the
    /// ffmpeg command that makes an MP4 of them is printed)
    #[arg(long, value_name = "FORMAT", default_value = "gif", value_parser = ["gif", "apng", "frames"])]
    pub format: String,
    /// Where to write [default: RUN_DIR/replay.gif, RUN_DIR/replay.png, RUN_DIR/replay-frames/]
    #[arg(long, value_name = "PATH")]
    pub out: Option<PathBuf>,
}

fn frame_size(text: &str) -> Result<(u32, u32), String> {
    let bad = || format!("{text:?} is not a size: WIDTHxHEIGHT, e.g. 960x540");
    let (w, h) = text.split_once(['x', 'X']).ok_or_else(bad)?;
    let (w, h): (u32, u32) = (
        w.trim().parse().map_err(|_| bad())?,
        h.trim().parse().map_err(|_| bad())?,
    );
    if !(320..=3840).contains(&w) || !(180..=2160).contains(&h) {
        return Err(format!("{w}x{h}: use 320x180 to 3840x2160"));
    }
    Ok((w, h))
}

/// Flags of the hidden `scaleproof worker` (set by the controller in the Job).
#[derive(Debug, Args)]
pub struct WorkerArgs {
    /// The result store's URL.
    #[arg(long, value_name = "URL")]
    pub store: String,
    /// The shared run's id (its prefix `runs/<id>/` in the store).
    #[arg(long, value_name = "ID")]
    pub run_id: String,
    /// How many workers share the run.
    #[arg(long, value_name = "N", value_parser = worker_count)]
    pub workers: u32,
    /// This worker's index, 0-based (Kubernetes sets JOB_COMPLETION_INDEX in an Indexed Job).
    #[arg(long, value_name = "I", env = "JOB_COMPLETION_INDEX")]
    pub index: u32,
    /// How long to wait for the target to answer, and then for the start time.
    #[arg(long, value_name = "DURATION", default_value = "5m", value_parser = values::duration)]
    pub ready_timeout: Duration,
    /// The scenario file's object under the run, fetched from the store.
    #[arg(long, value_name = "NAME")]
    pub scenario_object: Option<String>,
    /// Where the worker's own run directory is written before it is uploaded.
    #[arg(long, value_name = "DIR", default_value = "/tmp/scaleproof-worker")]
    pub out: PathBuf,
    /// The load flags, as `scaleproof run` takes them (after `--`).
    #[arg(last = true, value_name = "RUN FLAGS")]
    pub load: Vec<String>,
}

fn worker_count(text: &str) -> Result<u32, String> {
    let n: u32 = text
        .parse()
        .map_err(|_| format!("{text:?} is not a whole number of workers"))?;
    if (1..=1000).contains(&n) {
        Ok(n)
    } else {
        Err(format!("{n} workers: use 1 to 1000"))
    }
}

/// The live page: the run as it happens, in a browser, for recording a demo.
#[derive(Debug, Default, Args)]
#[command(next_help_heading = "Live page (the run as it happens, in a browser)")]
pub struct LiveArgs {
    /// Serve a live page during the run (URL printed at the start): figures, charts and scale
    /// events growing second by second, then the verdict and a link to report.html. Laid out
    /// for a 1920×1080 window, to record
    #[arg(long)]
    pub live: bool,
    /// Port of the live page [default: any free one]
    #[arg(long, value_name = "PORT", requires = "live")]
    pub live_port: Option<u16>,
    /// Address the live page listens on [default: 127.0.0.1; 0.0.0.0 shows the run to anyone
    /// who can reach this machine]
    #[arg(long, value_name = "IP", requires = "live", value_parser = values::bind_address)]
    pub live_bind: Option<std::net::IpAddr>,
    /// How long the live page stays up after the run, showing the verdict (Ctrl-C ends it
    /// sooner; 0s: not at all) [default: 2m]
    #[arg(long, value_name = "DURATION", requires = "live", value_parser = values::duration_or_zero)]
    pub live_linger: Option<Duration>,
}

impl LiveArgs {
    /// The live page's options, flags over the scenario's `[live]`; `None` when not asked for.
    pub fn resolve(&self, spec: &crate::scenario::LiveSpec) -> Option<crate::config::LiveOptions> {
        (self.live || spec.enabled == Some(true)).then(|| crate::config::LiveOptions {
            bind: self
                .live_bind
                .or(spec.bind)
                .unwrap_or(std::net::IpAddr::V4(std::net::Ipv4Addr::LOCALHOST)),
            port: self.live_port.or(spec.port).unwrap_or(0),
            linger: self
                .live_linger
                .or(spec.linger)
                .unwrap_or(Duration::from_secs(120)),
        })
    }
}

/// A shared run past one machine: workers as a Kubernetes Indexed Job, results in object
/// storage, merged exactly by this process (which also watches the cluster).
#[derive(Debug, Default, Args)]
#[command(next_help_heading = "Workers (past one machine: an Indexed Job of scaleproof pods)")]
pub struct FleetArgs {
    /// Run the load from N pods of an Indexed Job (the Job goes to --namespace, with
    /// --kubeconfig/--context): each drives its share (--rate: slots interleaved; --users:
    /// users split), all start together once all are ready, and their results are merged
    /// exactly into one run directory here. --host is the URL as the pods reach it.
    #[arg(long, value_name = "N", value_parser = worker_count, conflicts_with_all = ["worker", "start_at"], requires = "store")]
    pub workers: Option<u32>,
    /// Where workers leave their results and the start barrier lives: file:///DIR (a
    /// ReadWriteMany volume, see --store-claim), or s3://, gs://, az:// (built with the
    /// `cloud` feature; credentials from the environment and --store-secret).
    #[arg(long, value_name = "URL", requires = "workers")]
    pub store: Option<String>,
    /// The worker image (entrypoint scaleproof) [default: scaleproof:<this version>].
    #[arg(long, value_name = "IMAGE", requires = "workers")]
    pub image: Option<String>,
    /// A ReadWriteMany PersistentVolumeClaim mounted in every worker at the file:// store's
    /// path.
    #[arg(long, value_name = "NAME", requires = "workers", value_parser = values::k8s_name)]
    pub store_claim: Option<String>,
    /// A Secret whose keys become the workers' environment (object-store credentials).
    #[arg(long, value_name = "NAME", requires = "workers", value_parser = values::k8s_name)]
    pub store_secret: Option<String>,
    /// CPU each worker pod requests, e.g. 2 or 1500m.
    #[arg(long, value_name = "CPU", requires = "workers", value_parser = values::millicores)]
    pub worker_cpu: Option<u32>,
    /// How long the workers may take to start and reach the target before the run is called
    /// off (no load is sent then).
    #[arg(long, value_name = "DURATION", requires = "workers", value_parser = values::duration)]
    pub ready_timeout: Option<Duration>,
}

/// The flags a worker takes over from the controller's command line, as given there.
const FORWARDED: &[&str] = &[
    "host",
    "users",
    "hatch_rate",
    "run_time",
    "rate",
    "max_users",
    "max_lag",
    "timeout",
    "recycle_connections",
    "endpoint_header",
    "threads",
    "headers",
    "insecure",
];

/// The controller's `FleetOptions`, when `--workers` is given: the workers' load flags are
/// the ones given here (`matches`: the run's), as given; the scenario goes through the store.
pub fn fleet_options(
    args: &RunArgs,
    matches: &clap::ArgMatches,
) -> Result<Option<FleetOptions>, ConfigError> {
    use clap::CommandFactory;
    use clap::parser::ValueSource;
    let fleet = &args.fleet;
    let Some(workers) = fleet.workers else {
        return Ok(None);
    };
    if args.host.is_none() {
        return Err(flag(
            "--workers",
            "needs --host: the service's URL as the worker pods reach it (e.g. http://target-service.demo:8080)",
        ));
    }
    if args.live.live {
        return Err(flag(
            "--live",
            "is not available with --workers yet: the controller gets the workers' seconds only when they finish",
        ));
    }
    let local_files = [
        (args.request_log.is_some(), "--request-log"),
        (args.http.cacert.is_some(), "--cacert"),
        (args.http.cert.is_some(), "--cert"),
    ];
    if let Some((_, name)) = local_files.iter().find(|(set, _)| *set) {
        return Err(flag(
            "--workers",
            format!("{name} names a file on this machine, which the worker pods do not have"),
        ));
    }
    let command = Cli::command();
    let mut load_args = Vec::new();
    for id in FORWARDED {
        if !matches!(
            matches.value_source(id),
            Some(ValueSource::CommandLine | ValueSource::EnvVariable)
        ) {
            continue;
        }
        let arg = command
            .get_arguments()
            .find(|a| a.get_id() == *id)
            .unwrap_or_else(|| panic!("{id} is a run flag"));
        let long = format!("--{}", arg.get_long().unwrap_or(id));
        if arg.get_action().takes_values() {
            for value in matches.get_raw(id).into_iter().flatten() {
                load_args.push(format!("{long}={}", value.to_string_lossy()));
            }
        } else if matches.get_flag(id) {
            load_args.push(long);
        }
    }
    let kube = ClusterOptions {
        namespace: args.cluster.namespace.clone(),
        context: args.cluster.context.clone(),
        kubeconfig: args.cluster.kubeconfig.clone(),
        ..ClusterOptions::default()
    };
    Ok(Some(FleetOptions {
        workers,
        store: fleet.store.clone().unwrap_or_default(),
        image: fleet
            .image
            .clone()
            .unwrap_or_else(|| format!("scaleproof:{}", env!("CARGO_PKG_VERSION"))),
        kube,
        load_args,
        scenario_files: scenario_files(args.scenario.as_deref())?,
        store_claim: fleet.store_claim.clone(),
        store_secret: fleet.store_secret.clone(),
        worker_cpu_m: fleet.worker_cpu,
        ready_timeout: fleet.ready_timeout.unwrap_or(Duration::from_secs(300)),
    }))
}

/// The scenario file and its corpora, as the workers get them (see `FleetOptions`).
fn scenario_files(path: Option<&std::path::Path>) -> Result<Vec<(String, PathBuf)>, ConfigError> {
    let Some(path) = path else {
        return Ok(Vec::new());
    };
    let dir = path.parent().unwrap_or(std::path::Path::new("."));
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "scenario.toml".to_owned());
    let mut files = vec![(name, path.to_path_buf())];
    for corpus in Scenario::corpus_files(path)? {
        let inside = std::path::Path::new(&corpus).components().all(|c| {
            matches!(
                c,
                std::path::Component::Normal(_) | std::path::Component::CurDir
            )
        });
        if !inside {
            return Err(flag(
                "--workers",
                format!(
                    "the scenario's corpus {corpus} is outside the scenario's folder; the workers get only that folder's files"
                ),
            ));
        }
        files.push((corpus.clone(), dir.join(&corpus)));
    }
    Ok(files)
}

/// What a shared run cannot share, known once the scenario is read: a test plan, and TLS
/// files on this machine.
pub fn check_shared(config: &RunConfig) -> Result<(), ConfigError> {
    if matches!(
        config.shape,
        LoadShape::Closed {
            test_plan: Some(_),
            ..
        }
    ) {
        return Err(flag(
            "--workers",
            "cannot share out a test plan; use --users or --rate",
        ));
    }
    if config.tls.cacert.is_some() || config.tls.client_cert.is_some() {
        return Err(flag(
            "--workers",
            "the scenario's [tls] names files on this machine, which the worker pods do not have",
        ));
    }
    Ok(())
}

/// Expectations given on the command line; each overrides the scenario's `[expect]` field.
#[derive(Debug, Default, Args)]
#[command(
    next_help_heading = "Expectations (the verdict: exit 1 if one fails, 4 if the evidence cannot support a pass)"
)]
pub struct ExpectArgs {
    /// Pass only if this many successful requests/s are sustained (best 60 s window, or half
    /// the run when it is shorter than 2 min; failed requests are not throughput).
    #[arg(long, value_name = "RPS", value_parser = values::positive)]
    pub expect_rps: Option<f64>,
    /// Pass only if at least this many replicas were ready at once (the Deployment's
    /// readyReplicas; with no cluster watched: distinct serving endpoints).
    #[arg(long, value_name = "N", value_parser = replicas)]
    pub expect_replicas: Option<u32>,
    /// Pass only if the whole run's p95 of successful requests is at most this, e.g. 250ms
    /// (corrected in the open model, raw in the closed model).
    #[arg(long, value_name = "DURATION", value_parser = values::millis)]
    pub expect_p95: Option<f64>,
    /// Pass only if the whole run's p99 of successful requests is at most this, e.g. 1s.
    #[arg(long, value_name = "DURATION", value_parser = values::millis)]
    pub expect_p99: Option<f64>,
    /// Pass only if (failed requests + dropped slots) / (completed + dropped) is at most this,
    /// e.g. 1% or 0.01.
    #[arg(long, value_name = "RATE", value_parser = values::fraction)]
    pub expect_error_rate: Option<f64>,
    /// Pass only if the first scale-out follows load reaching --expect-rps within this, e.g.
    /// 120s (a scale-out during the ramp counts as 0 s).
    #[arg(long, value_name = "DURATION", value_parser = seconds)]
    pub expect_scale_within: Option<f64>,
    /// Pass only if every pod that became Ready during the load served its first request
    /// within this, e.g. 10s (pods.csv: ready_s → first_served_s).
    #[arg(long, value_name = "DURATION", value_parser = seconds)]
    pub expect_new_pod_serves_within: Option<f64>,
    /// Pass only if at most this many requests failed while pods were being removed (from
    /// 1 s before each one's termination was seen to 2 s after it was gone).
    #[arg(long, value_name = "N")]
    pub expect_scale_in_errors: Option<u64>,
    /// Pass only if no endpoint served more than this share of the requests while 2 or more
    /// replicas were ready, e.g. 80% (catches port-forward and sticky keep-alive).
    #[arg(long, value_name = "RATE", value_parser = values::fraction)]
    pub expect_max_pod_share: Option<f64>,
}

fn replicas(text: &str) -> Result<u32, String> {
    values::at_least_one(text)
        .and_then(|n| u32::try_from(n).map_err(|_| format!("{n} is too many")))
}

fn seconds(text: &str) -> Result<f64, String> {
    values::millis(text).map(|ms| ms / 1000.0)
}

impl ExpectArgs {
    /// Applies the flags over `base`.
    pub fn apply(&self, mut base: Expectations) -> Expectations {
        let fields = [
            (&mut base.rps, self.expect_rps),
            (&mut base.p95_ms, self.expect_p95),
            (&mut base.p99_ms, self.expect_p99),
            (&mut base.error_rate, self.expect_error_rate),
            (&mut base.scale_within_s, self.expect_scale_within),
            (
                &mut base.new_pod_serves_within_s,
                self.expect_new_pod_serves_within,
            ),
            (&mut base.max_pod_share, self.expect_max_pod_share),
        ];
        for (field, flag) in fields {
            if flag.is_some() {
                *field = flag;
            }
        }
        if self.expect_replicas.is_some() {
            base.replicas = self.expect_replicas;
        }
        if self.expect_scale_in_errors.is_some() {
            base.scale_in_errors = self.expect_scale_in_errors;
        }
        base
    }
}

/// How often connections are reopened, as `--recycle-connections` gives it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Recycle(pub Option<Duration>);

fn recycle(text: &str) -> Result<Recycle, String> {
    values::recycle(text).map(Recycle)
}

fn rate_plan(text: &str) -> Result<RatePlan, String> {
    RatePlan::parse(text).map_err(|e| e.to_string())
}

fn header_name(text: &str) -> Result<HeaderName, String> {
    HeaderName::from_bytes(text.trim().as_bytes())
        .map_err(|_| format!("{text:?} is not a header name"))
}

/// An http(s) base URL with a host; the path gets a trailing `/` so that request paths join
/// under it.
pub fn parse_host(text: &str) -> Result<Url, String> {
    let mut url = Url::parse(text)
        .map_err(|e| format!("{text:?} is not a URL ({e}); e.g. http://10.0.0.5:8080"))?;
    if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none() {
        return Err(format!(
            "{text:?} must be an http:// or https:// URL with a host"
        ));
    }
    if !url.path().ends_with('/') {
        let path = format!("{}/", url.path());
        url.set_path(&path);
    }
    Ok(url)
}

/// Flags of a load test, typed as parsed.
#[derive(Debug, Default, Args)]
pub struct RunArgs {
    /// Base URL of the service under test, e.g. http://10.0.0.5:8080 [default: local replicas
    /// of the bundled target-service on 127.0.0.1, see "Local replicas" below].
    #[arg(long, value_name = "URL", value_parser = parse_host)]
    pub host: Option<Url>,
    /// Closed model: number of concurrent users [default: 10].
    #[arg(short = 'u', long, value_name = "N", conflicts_with = "rate", value_parser = values::users)]
    pub users: Option<usize>,
    /// Closed model: users started per second [default: all users over 10 s].
    #[arg(short = 'r', long, value_name = "USERS/S", conflicts_with = "rate", value_parser = values::positive)]
    pub hatch_rate: Option<f64>,
    /// Closed model: how long the load lasts, ramp included, e.g. 90s, 5m [default: 60s].
    #[arg(short = 't', long, value_name = "DURATION", conflicts_with = "rate", value_parser = values::duration)]
    pub run_time: Option<Duration>,
    /// Closed model: a Goose test plan, "USERS,DURATION;…", e.g. "100,30s;100,2m;0,10s".
    #[arg(long, value_name = "PLAN", conflicts_with_all = ["rate", "users", "hatch_rate", "run_time"], value_parser = values::test_plan)]
    pub test_plan: Option<TestPlan>,
    /// Open model: target-rate stages RATE:DURATION,…; each ramps linearly from the previous
    /// rate (0 at the start), e.g. 100:30s,1200:2m,1200:3m.
    #[arg(long, value_name = "STAGES", value_parser = rate_plan)]
    pub rate: Option<RatePlan>,
    /// Open model: most users the pacer may admit [default: 1000].
    #[arg(long, value_name = "N", value_parser = values::users)]
    pub max_users: Option<usize>,
    /// Open model: drop a send slot no user could start within this lag of its due time
    /// [default: 1s]. A dropped slot counts as an error, and in corrected latency at its lag.
    #[arg(long, value_name = "DURATION", value_parser = values::duration)]
    pub max_lag: Option<Duration>,
    /// Scenario file (TOML) with requests, load shape and expectations [default: the
    /// built-in scenarios/predict.toml]. Flags override its load shape.
    #[arg(short = 's', long, value_name = "FILE")]
    pub scenario: Option<PathBuf>,
    /// Folder for run directories.
    #[arg(short = 'o', long, value_name = "DIR", default_value = "reports")]
    pub out: PathBuf,
    /// No live progress on stderr (warnings still print).
    #[arg(short = 'q', long)]
    pub quiet: bool,
    /// Request timeout [default: 30s].
    #[arg(long, value_name = "DURATION", value_parser = values::duration)]
    pub timeout: Option<Duration>,
    /// Reopen every connection this often (at least 100ms) so that pods added by a scale-out
    /// get traffic; "off" keeps connections [default: 10s].
    #[arg(long, value_name = "DURATION|off", value_parser = recycle)]
    pub recycle_connections: Option<Recycle>,
    /// Response header that names the serving endpoint (pod).
    #[arg(long, value_name = "NAME", default_value = defaults::ENDPOINT_HEADER, value_parser = header_name)]
    pub endpoint_header: Option<HeaderName>,
    /// Also write one CSV line per request (due, sent and done times, status, endpoint).
    #[arg(long, value_name = "FILE")]
    pub request_log: Option<PathBuf>,
    /// Worker threads for the load generator [default: number of CPUs].
    #[arg(long, value_name = "N", value_parser = values::at_least_one)]
    pub threads: Option<usize>,
    /// Drive one share of the load, as worker I of N (0-based): with --rate the plan's slots
    /// I, I+N, I+2N, … (the workers' slots interleave); with --users, I's share of the users
    /// and hatch rate. Merge the workers' run directories with `scaleproof merge`.
    #[arg(long, value_name = "I/N", value_parser = crate::config::WorkerShare::parse)]
    pub worker: Option<crate::config::WorkerShare>,
    /// Start the load at this time (RFC 3339, e.g. 2026-11-30T14:00:00Z), once the users are
    /// launched, so that workers on several machines share second 0 (their clocks must agree).
    #[arg(long, value_name = "TIME")]
    pub start_at: Option<chrono::DateTime<chrono::Utc>>,
    #[command(flatten)]
    pub http: HttpArgs,
    #[command(flatten)]
    pub local: LocalArgs,
    #[command(flatten)]
    pub cluster: ClusterArgs,
    #[command(flatten)]
    pub live: LiveArgs,
    #[command(flatten)]
    pub fleet: FleetArgs,
    #[command(flatten)]
    pub expect: ExpectArgs,
}

/// Local replicas: with no --host, the bundled target-service runs as separate processes
/// behind a balancer on 127.0.0.1, scaled by the HPA algorithm on their CPU. Each flag
/// overrides the scenario's `[local]` field.
#[derive(Debug, Default, Args)]
#[command(next_help_heading = "Local replicas (no --host: a scale-out simulated on this machine)")]
pub struct LocalArgs {
    /// Replicas the local autoscaler keeps between, MIN..MAX (or N: fixed) [default: 1..4].
    #[arg(long, value_name = "MIN..MAX", value_parser = values::replica_range)]
    pub replicas: Option<(u32, u32)>,
    /// CPU request of each replica, the base of its utilisation, e.g. 200m [default: 200m].
    #[arg(long, value_name = "CPU", value_parser = values::millicores)]
    pub cpu_request: Option<u32>,
    /// CPU limit each replica is held to (throttled per 100 ms, as a container), e.g. 400m
    /// [default: 400m].
    #[arg(long, value_name = "CPU", value_parser = values::millicores)]
    pub cpu_limit: Option<u32>,
    /// Target average CPU utilisation of the replicas, percent of the request [default: 70%].
    #[arg(long, value_name = "PERCENT", value_parser = values::utilization)]
    pub hpa_target: Option<f64>,
    /// No autoscaler: MIN replicas, fixed.
    #[arg(long)]
    pub no_autoscale: bool,
}

impl LocalArgs {
    fn resolve(&self, spec: &LocalSpec) -> Result<LocalOptions, ConfigError> {
        let (min, max) = self
            .replicas
            .or(spec.replicas)
            .unwrap_or(defaults::LOCAL_REPLICAS);
        let cpu_request_m = self
            .cpu_request
            .or(spec.cpu_request_m)
            .unwrap_or(defaults::CPU_REQUEST_M);
        let cpu_limit_m = self
            .cpu_limit
            .or(spec.cpu_limit_m)
            .unwrap_or(defaults::CPU_LIMIT_M.max(cpu_request_m));
        if cpu_request_m > cpu_limit_m {
            return Err(flag(
                "--cpu-request",
                format!("{cpu_request_m}m is above the CPU limit ({cpu_limit_m}m)"),
            ));
        }
        Ok(LocalOptions {
            hpa: HpaSpec {
                min_replicas: min,
                max_replicas: max,
                target_utilization_pct: self
                    .hpa_target
                    .or(spec.hpa_target_pct)
                    .unwrap_or(defaults::HPA_TARGET_PCT),
                behavior: spec.behavior.clone().unwrap_or_default(),
            },
            cpu_request_m,
            cpu_limit_m,
            autoscale: !self.no_autoscale && spec.autoscale.unwrap_or(true) && min < max,
            sync_period: spec.sync_period.unwrap_or(defaults::SYNC_PERIOD),
            startup_delay: spec.startup_delay.unwrap_or(defaults::STARTUP_DELAY),
            work_factor: spec.work_factor.unwrap_or(defaults::WORK_FACTOR),
        })
    }
}

/// Headers added to every request, and how an `https://` target is trusted; each TLS flag
/// overrides the scenario's `[tls]` field.
#[derive(Debug, Default, Args)]
#[command(next_help_heading = "HTTP headers and TLS")]
pub struct HttpArgs {
    /// Add a header to every request, e.g. -H 'Host: api.example.com' (repeatable; a
    /// scenario request's own header of the same name wins). ${VAR} takes a value from the
    /// environment: -H 'Authorization: Bearer ${TOKEN}'. Authorization, Cookie,
    /// Proxy-Authorization and values from the environment are written as *** everywhere.
    #[arg(short = 'H', long = "header", value_name = "'NAME: VALUE'")]
    pub headers: Vec<String>,
    /// Also trust the certificates of this PEM bundle (a private CA, a self-signed server).
    #[arg(long, value_name = "FILE")]
    pub cacert: Option<PathBuf>,
    /// Do not verify the server's certificate at all (recorded in run.json and the report).
    #[arg(short = 'k', long)]
    pub insecure: bool,
    /// Client certificate (PEM) for mutual TLS; needs --key.
    #[arg(long, value_name = "FILE", requires = "key")]
    pub cert: Option<PathBuf>,
    /// Private key (PEM) of --cert.
    #[arg(long, value_name = "FILE", requires = "cert")]
    pub key: Option<PathBuf>,
}

impl HttpArgs {
    /// The `--header` flags, parsed and expanded.
    fn headers(&self) -> Result<HeaderMap, ConfigError> {
        let mut map = HeaderMap::new();
        for line in &self.headers {
            let (name, value) =
                headers::parse_line(line, &headers::env_lookup).map_err(|e| flag("--header", e))?;
            map.append(name, value);
        }
        Ok(map)
    }

    /// Flags over the scenario's `[tls]` section, files read.
    fn tls(&self, spec: &TlsSpec) -> Result<TlsConfig, ConfigError> {
        let cacert = self.cacert.clone().or(spec.cacert.clone());
        let insecure = self.insecure || spec.insecure.unwrap_or(false);
        let pair = match (&self.cert, &self.key) {
            (Some(c), Some(k)) => Some((c.clone(), k.clone())),
            _ => spec.cert.clone().zip(spec.key.clone()),
        };
        let which = if self.cacert.is_some() || self.cert.is_some() {
            "--cacert/--cert/--key"
        } else {
            "[tls] of the scenario"
        };
        TlsConfig::load(cacert, insecure, pair).map_err(|e| flag(which, e))
    }
}

/// Which Kubernetes workload to watch during the run; each overrides the scenario's
/// `[cluster]` field. kubeconfig is found as kubectl finds it.
#[derive(Debug, Default, Args)]
#[command(next_help_heading = "Cluster (replicas, HPA, pods and scale events on the run's clock)")]
pub struct ClusterArgs {
    /// Deployment to watch; with none, no cluster is watched and replicas are counted from
    /// distinct serving endpoints.
    #[arg(long, value_name = "NAME", value_parser = values::k8s_name)]
    pub deployment: Option<String>,
    /// Namespace of the Deployment [default: the kubeconfig context's, else "default"].
    #[arg(short = 'n', long, value_name = "NAME", value_parser = values::k8s_name)]
    pub namespace: Option<String>,
    /// HorizontalPodAutoscaler to watch [default: the one whose scaleTargetRef is the
    /// Deployment].
    #[arg(long, value_name = "NAME", value_parser = values::k8s_name)]
    pub hpa: Option<String>,
    /// Service in front of the Deployment, whose EndpointSlices tell when each pod joins and
    /// leaves it [default: any EndpointSlice in the namespace that lists the Deployment's pods].
    #[arg(long, value_name = "NAME", value_parser = values::k8s_name)]
    pub service: Option<String>,
    /// kubeconfig context [default: the current context].
    #[arg(long, value_name = "NAME")]
    pub context: Option<String>,
    /// kubeconfig file [default: $KUBECONFIG, then ~/.kube/config, then the in-cluster
    /// service account].
    #[arg(long, value_name = "FILE")]
    pub kubeconfig: Option<PathBuf>,
    /// Watch no cluster, even if the scenario names a Deployment.
    #[arg(long, conflicts_with_all = ["deployment", "namespace", "hpa", "service", "context", "kubeconfig"])]
    pub no_cluster: bool,
}

impl ClusterArgs {
    /// The watch to run, if any: flags over the scenario's `[cluster]` section.
    pub fn resolve(&self, spec: &ClusterSpec) -> Result<Option<ClusterOptions>, ConfigError> {
        if self.no_cluster {
            return Ok(None);
        }
        let deployment = self.deployment.clone().or(spec.deployment.clone());
        let namespace = self.namespace.clone().or(spec.namespace.clone());
        let hpa = self.hpa.clone().or(spec.hpa.clone());
        let service = self.service.clone().or(spec.service.clone());
        let Some(deployment) = deployment else {
            if hpa.is_some() {
                return Err(flag("--hpa", "needs --deployment (the HPA's scale target)"));
            }
            if service.is_some() {
                return Err(flag(
                    "--service",
                    "needs --deployment (the Service is the one in front of it)",
                ));
            }
            return Ok(None);
        };
        Ok(Some(ClusterOptions {
            namespace,
            deployment,
            hpa,
            service,
            context: self.context.clone(),
            kubeconfig: self.kubeconfig.clone(),
            // Warnings print even with --quiet (which silences progress only).
            quiet: false,
        }))
    }
}

/// Why the arguments do not make a run.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("invalid value for {flag}: {message}")]
    Flag { flag: &'static str, message: String },
    #[error(transparent)]
    Scenario(#[from] ScenarioError),
}

fn flag(flag: &'static str, message: impl Into<String>) -> ConfigError {
    ConfigError::Flag {
        flag,
        message: message.into(),
    }
}

impl TryFrom<RunArgs> for RunConfig {
    type Error = ConfigError;

    fn try_from(args: RunArgs) -> Result<Self, ConfigError> {
        let target = match &args.host {
            Some(url) => Target::Url(url.clone()),
            None => Target::Embedded,
        };
        let mut scenario = match &args.scenario {
            Some(path) => Scenario::load(path)?,
            None => Scenario::builtin(),
        };
        scenario.expect = args.expect.apply(scenario.expect.clone());
        let closed_flags = args.users.is_some()
            || args.hatch_rate.is_some()
            || args.run_time.is_some()
            || args.test_plan.is_some();
        let spec = &scenario.load;
        let shape = if let Some(plan) = &args.rate {
            open(plan.clone(), &args, spec)
        } else if closed_flags || spec.rate.is_none() {
            let test_plan = args
                .test_plan
                .clone()
                .or_else(|| (!closed_flags).then(|| spec.test_plan.clone()).flatten());
            let users = args.users.or(spec.users).unwrap_or(defaults::USERS);
            let hatch_rate = args
                .hatch_rate
                .or(spec.hatch_rate)
                .unwrap_or_else(|| (users as f64 / defaults::RAMP.as_secs_f64()).max(1.0));
            LoadShape::Closed {
                users,
                hatch_rate,
                run_time: if test_plan.is_some() {
                    None
                } else {
                    Some(
                        args.run_time
                            .or(spec.run_time)
                            .unwrap_or(defaults::RUN_TIME),
                    )
                },
                test_plan,
            }
        } else {
            let plan = spec.rate.clone().expect("checked: the scenario has a rate");
            open(plan, &args, spec)
        };
        let cluster = match target {
            Target::Url(_) => args.cluster.resolve(&scenario.cluster)?,
            // Local replicas stand in for the cluster; a scenario's [cluster] is for --host runs.
            Target::Embedded if args.cluster.deployment.is_some() => {
                return Err(flag(
                    "--deployment",
                    "watches the Deployment behind --host; with no --host, scaleproof runs local replicas instead",
                ));
            }
            Target::Embedded => None,
        };
        if matches!(target, Target::Url(_)) {
            let given = [
                (args.local.replicas.is_some(), "--replicas"),
                (args.local.cpu_request.is_some(), "--cpu-request"),
                (args.local.cpu_limit.is_some(), "--cpu-limit"),
                (args.local.hpa_target.is_some(), "--hpa-target"),
                (args.local.no_autoscale, "--no-autoscale"),
            ];
            if let Some((_, name)) = given.iter().find(|(set, _)| *set) {
                return Err(flag(
                    name,
                    "shapes local replicas, which run only with no --host",
                ));
            }
        }
        if args.worker.is_some()
            && matches!(
                shape,
                LoadShape::Closed {
                    test_plan: Some(_),
                    ..
                }
            )
        {
            return Err(flag(
                "--worker",
                "cannot share out a test plan; use --users or --rate",
            ));
        }
        let tls = args.http.tls(&scenario.tls)?;
        let local = match target {
            Target::Embedded => Some(args.local.resolve(&scenario.local)?),
            Target::Url(_) => None,
        };
        let extra = args.http.headers()?;
        for request in &mut scenario.requests {
            for name in extra.keys() {
                if !request.headers.contains_key(name) {
                    for value in extra.get_all(name) {
                        request.headers.append(name, value.clone());
                    }
                }
            }
        }
        let live = args.live.resolve(&scenario.live);
        Ok(RunConfig {
            local,
            tls,
            cluster,
            target,
            scenario,
            shape,
            out: args.out,
            quiet: args.quiet,
            timeout: args.timeout.unwrap_or(defaults::TIMEOUT),
            recycle: args
                .recycle_connections
                .map_or(Some(defaults::RECYCLE), |r| r.0),
            endpoint_header: args
                .endpoint_header
                .unwrap_or(HeaderName::from_static(defaults::ENDPOINT_HEADER)),
            request_log: args.request_log,
            live,
            worker: args.worker,
            start_at: args.start_at,
            threads: args
                .threads
                .unwrap_or_else(|| std::thread::available_parallelism().map_or(2, usize::from)),
        })
    }
}

fn open(plan: RatePlan, args: &RunArgs, spec: &crate::scenario::LoadSpec) -> LoadShape {
    LoadShape::Open {
        plan,
        max_users: args
            .max_users
            .or(spec.max_users)
            .unwrap_or(defaults::MAX_USERS),
        max_lag: args.max_lag.or(spec.max_lag).unwrap_or(defaults::MAX_LAG),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    const HOST: [&str; 2] = ["--host", "http://127.0.0.1:9"];

    fn config(args: &[&str]) -> Result<RunConfig, String> {
        let cli = Cli::try_parse_from(std::iter::once("scaleproof").chain(args.iter().copied()))
            .map_err(|e| e.to_string())?;
        RunConfig::try_from(cli.run).map_err(|e| e.to_string())
    }

    #[test]
    fn cli_definition_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn cluster_flags_override_the_scenario_and_no_cluster_turns_the_watch_off() {
        assert!(
            config(&[]).expect("valid").cluster.is_none(),
            "no --deployment"
        );
        let c = config(&[
            HOST[0],
            HOST[1],
            "--deployment",
            "web",
            "-n",
            "demo",
            "--context",
            "kind-demo",
        ])
        .expect("valid");
        let o = c.cluster.expect("watched");
        assert_eq!(
            (
                o.deployment.as_str(),
                o.namespace.as_deref(),
                o.hpa.as_deref()
            ),
            ("web", Some("demo"), None)
        );
        assert_eq!(o.context.as_deref(), Some("kind-demo"));
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("s.toml");
        std::fs::write(
            &path,
            "[[request]]\nname = 'a'\npath = '/'\n[cluster]\ndeployment = 'api'\nnamespace = 'prod'\n",
        )
        .expect("write");
        let scenario = path.to_str().expect("utf-8");
        let from_file = config(&[HOST[0], HOST[1], "--scenario", scenario]).expect("valid");
        let o = from_file.cluster.expect("watched");
        assert_eq!(
            (o.deployment.as_str(), o.namespace.as_deref()),
            ("api", Some("prod"))
        );
        let flag_wins = config(&[
            HOST[0],
            HOST[1],
            "--scenario",
            scenario,
            "--deployment",
            "web",
        ])
        .expect("valid");
        assert_eq!(flag_wins.cluster.expect("watched").deployment, "web");
        let off =
            config(&[HOST[0], HOST[1], "--scenario", scenario, "--no-cluster"]).expect("valid");
        assert!(off.cluster.is_none());
    }

    #[test]
    fn local_replicas_stand_in_for_the_cluster_only_without_a_host() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("s.toml");
        std::fs::write(
            &path,
            "[[request]]\nname = 'a'\npath = '/'\n[cluster]\ndeployment = 'api'\n[local]\nreplicas = '2..5'\ncpu_request = '300m'\n[local.behavior.scaleUp]\nselectPolicy = 'Min'\n",
        )
        .expect("write");
        let scenario = path.to_str().expect("utf-8");
        let c = config(&["--scenario", scenario]).expect("valid");
        assert!(
            c.cluster.is_none(),
            "the scenario's [cluster] is for --host runs"
        );
        let local = c.local.expect("local replicas");
        assert_eq!((local.hpa.min_replicas, local.hpa.max_replicas), (2, 5));
        assert_eq!((local.cpu_request_m, local.cpu_limit_m), (300, 400));
        assert_eq!(
            local.hpa.behavior.scale_up.select,
            crate::autoscaling::SelectPolicy::Min
        );
        assert_eq!(
            local.hpa.behavior.scale_down.stabilization_s, 300,
            "default kept"
        );
        assert!(local.autoscale);
        let c = config(&[
            "--scenario",
            scenario,
            "--replicas",
            "3",
            "--cpu-limit",
            "0.5",
        ])
        .expect("valid");
        let local = c.local.expect("local");
        assert_eq!((local.hpa.min_replicas, local.cpu_limit_m), (3, 500));
        assert!(!local.autoscale, "MIN = MAX: nothing to scale");
        let e = config(&["--deployment", "web"]).expect_err("no host");
        assert!(
            e.contains("--deployment") && e.contains("local replicas"),
            "{e}"
        );
        let e = config(&[HOST[0], HOST[1], "--replicas", "1..3"]).expect_err("host");
        assert!(e.contains("--replicas") && e.contains("no --host"), "{e}");
        let e = config(&["--cpu-request", "500m", "--cpu-limit", "200m"]).expect_err("above");
        assert!(e.contains("--cpu-request"), "{e}");
    }

    #[test]
    fn header_flags_reach_every_request_and_a_scenario_header_wins() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("s.toml");
        std::fs::write(
            &path,
            "[[request]]\nname='a'\npath='/a'\nheaders = { X-Team = 'scenario' }\n[[request]]\nname='b'\npath='/b'\n",
        )
        .expect("write");
        let scenario = path.to_str().expect("utf-8");
        let c = config(&[
            "--scenario",
            scenario,
            "-H",
            "X-Team: flag",
            "--header",
            "Host: api.test",
        ])
        .expect("valid");
        let teams: Vec<&str> = c
            .scenario
            .requests
            .iter()
            .map(|r| r.headers["x-team"].to_str().expect("ascii"))
            .collect();
        assert_eq!(teams, ["scenario", "flag"]);
        assert!(
            c.scenario
                .requests
                .iter()
                .all(|r| r.headers["host"] == "api.test")
        );
        let e = config(&["-H", "nocolon"]).expect_err("invalid");
        assert!(e.contains("--header") && e.contains("Name: value"), "{e}");
    }

    #[test]
    fn tls_flags_read_their_files_and_name_them_when_they_are_wrong() {
        let e = config(&["--cert", "c.pem"]).expect_err("needs --key");
        assert!(e.contains("--key"), "{e}");
        let e = config(&["--cacert", "/nonexistent/ca.pem"]).expect_err("missing");
        assert!(
            e.contains("--cacert") && e.contains("/nonexistent/ca.pem"),
            "{e}"
        );
        let dir = tempfile::tempdir().expect("tempdir");
        let empty = dir.path().join("empty.pem");
        std::fs::write(&empty, "not a certificate\n").expect("write");
        let e = config(&["--cacert", empty.to_str().expect("utf-8")]).expect_err("empty");
        assert!(e.contains("holds no PEM certificate"), "{e}");
        let c = config(&["--insecure"]).expect("valid");
        assert!(c.tls.insecure && c.tls.roots.is_empty() && c.tls.identity.is_none());
    }

    #[test]
    fn bad_cluster_flags_name_the_flag() {
        let e = config(&[HOST[0], HOST[1], "--deployment", "Web_App"]).expect_err("invalid");
        assert!(
            e.contains("--deployment") && e.contains("Kubernetes object name"),
            "{e}"
        );
        let e = config(&[HOST[0], HOST[1], "--hpa", "web"]).expect_err("invalid");
        assert!(
            e.contains("--hpa") && e.contains("needs --deployment"),
            "{e}"
        );
        let e = config(&[HOST[0], HOST[1], "--no-cluster", "--deployment", "web"])
            .expect_err("conflict");
        assert!(e.contains("--no-cluster"), "{e}");
    }

    #[test]
    fn no_flags_run_the_builtin_scenario_against_the_embedded_target() {
        let c = config(&[]).expect("valid");
        assert_eq!(c.target, Target::Embedded);
        assert_eq!(c.scenario.name, "predict");
        let LoadShape::Open {
            plan, max_users, ..
        } = c.shape
        else {
            panic!("the default scenario is open-model")
        };
        assert_eq!(plan.duration(), Duration::from_secs(90));
        assert_eq!(max_users, 256);
        let local = c.local.expect("local replicas");
        assert_eq!((local.hpa.min_replicas, local.hpa.max_replicas), (1, 4));
        assert_eq!(local.sync_period, Duration::from_secs(3));
        assert_eq!(local.hpa.behavior.scale_down.stabilization_s, 15);
        assert_eq!(c.recycle, Some(defaults::RECYCLE));
    }

    #[test]
    fn users_switch_to_the_closed_model_with_a_ten_second_ramp() {
        let c = config(&["--host", "http://127.0.0.1:9/api", "--users", "500"]).expect("valid");
        assert_eq!(
            c.target,
            Target::Url(Url::parse("http://127.0.0.1:9/api/").expect("url"))
        );
        let LoadShape::Closed {
            users,
            hatch_rate,
            run_time,
            test_plan,
        } = c.shape
        else {
            panic!("closed model expected")
        };
        assert_eq!(
            (users, hatch_rate, run_time, test_plan),
            (500, 50.0, Some(defaults::RUN_TIME), None)
        );
    }

    #[test]
    fn rate_flag_overrides_the_scenario_shape() {
        let c = config(&[
            "--rate",
            "10:1s,10:2s",
            "--max-users",
            "7",
            "--max-lag",
            "250ms",
        ])
        .expect("valid");
        let LoadShape::Open {
            plan,
            max_users,
            max_lag,
        } = c.shape
        else {
            panic!("open model expected")
        };
        assert_eq!(
            (plan.total_slots(), max_users, max_lag),
            (25, 7, Duration::from_millis(250))
        );
    }

    #[test]
    fn invalid_values_name_their_flag() {
        for (args, flag) in [
            (vec!["--host", "localhost:8080"], "--host"),
            (vec!["--host", "ftp://x"], "--host"),
            (vec!["--rate", "fast"], "--rate"),
            (vec!["--run-time", "forever"], "--run-time"),
            (vec!["--users", "0"], "--users"),
            (vec!["--hatch-rate=-1"], "--hatch-rate"),
            (vec!["--timeout", "0s"], "--timeout"),
            (
                vec!["--recycle-connections", "often"],
                "--recycle-connections",
            ),
            (vec!["--endpoint-header", "bad header"], "--endpoint-header"),
            (vec!["--users", "many"], "--users"),
        ] {
            let err = config(&args).expect_err("invalid");
            assert!(err.contains(flag), "{args:?}: {err}");
            assert_eq!(err.trim().lines().count().min(1), 1);
        }
    }

    #[test]
    fn open_and_closed_flags_conflict() {
        let err = config(&["--rate", "10:1s", "--users", "5"]).expect_err("conflict");
        assert!(err.contains("--users") && err.contains("--rate"), "{err}");
    }

    #[test]
    fn expectation_flags_override_the_scenario() {
        let c = config(&[
            "--expect-p95",
            "100ms",
            "--expect-replicas",
            "3",
            "--expect-error-rate",
            "0.5%",
        ])
        .expect("valid");
        assert_eq!(c.scenario.expect.p95_ms, Some(100.0));
        assert_eq!(c.scenario.expect.replicas, Some(3));
        assert_eq!(c.scenario.expect.error_rate, Some(0.005));
        assert_eq!(
            c.scenario.expect.rps,
            Some(1000.0),
            "kept from predict.toml"
        );
        let err = config(&["--expect-p95", "soon"]).expect_err("invalid");
        assert!(err.contains("--expect-p95"), "{err}");
    }

    #[test]
    fn recycling_can_be_switched_off() {
        assert_eq!(
            config(&["--recycle-connections", "off"])
                .expect("valid")
                .recycle,
            None
        );
        assert_eq!(
            config(&["--recycle-connections", "2s"])
                .expect("valid")
                .recycle,
            Some(Duration::from_secs(2))
        );
    }
}
