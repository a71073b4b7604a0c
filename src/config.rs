//! The checked configuration of one run: every flag and scenario field validated and merged.
//! Library code below this point never sees clap types.

use crate::scenario::RatePlan;
use crate::scenario::Scenario;
pub use crate::spec::autoscaling::{Behavior, HpaSpec, Policy, PolicyKind, Rules, SelectPolicy};
use reqwest::Url;
use reqwest::header::HeaderName;
use std::path::PathBuf;
use std::time::Duration;

/// Where the load goes.
#[derive(Debug, Clone, PartialEq)]
pub enum Target {
    /// Start the bundled target-service in-process on 127.0.0.1 and load it.
    Embedded,
    /// An HTTP(S) base URL.
    Url(Url),
}

/// The load model.
#[derive(Debug, Clone)]
pub enum LoadShape {
    /// Goose users, each sending its next request as soon as the last one is answered.
    Closed {
        users: usize,
        /// Users started per second during the ramp.
        hatch_rate: f64,
        /// Wall time of the whole load, ramp included (`None` with a test plan).
        run_time: Option<Duration>,
        /// A Goose test plan (`users,duration;…`) instead of users/hatch-rate/run-time.
        test_plan: Option<crate::scenario::plan::TestPlan>,
    },
    /// Target-rate stages, paced independently of response times.
    Open {
        plan: RatePlan,
        max_users: usize,
        max_lag: Duration,
    },
}

/// A validated run.
#[derive(Debug, Clone)]
pub struct RunConfig {
    pub target: Target,
    pub scenario: Scenario,
    pub shape: LoadShape,
    /// Folder that receives the run directory.
    pub out: PathBuf,
    pub quiet: bool,
    pub timeout: Duration,
    /// Reopen connections this often (`None`: keep them).
    pub recycle: Option<Duration>,
    pub endpoint_header: HeaderName,
    /// Also write one CSV line per request here.
    pub request_log: Option<PathBuf>,
    /// Worker threads of the load generator's runtime.
    pub threads: usize,
    /// The Kubernetes workload to watch (`None`: no cluster watched).
    pub cluster: Option<ClusterOptions>,
    /// How `https://` targets are trusted and who the client is.
    pub tls: TlsConfig,
    /// Local replicas, for [`Target::Embedded`] (`None` with `--host`).
    pub local: Option<LocalOptions>,
    /// This process drives one share of the plan (`--worker I/N`); `None`: all of it.
    pub worker: Option<WorkerShare>,
    /// Start the load at this wall-clock time (`--start-at`), so that workers share second 0.
    pub start_at: Option<chrono::DateTime<chrono::Utc>>,
    /// The live page, when asked for (`--live`, `[live]`).
    pub live: Option<LiveOptions>,
}

/// Worker `index` of `count` (0-based): open model, the plan's slots `index`, `index + count`,
/// `index + 2·count`, … (so the workers' slots interleave); closed model, its share of the
/// users and of the hatch rate.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct WorkerShare {
    pub index: u32,
    pub count: u32,
}

impl WorkerShare {
    /// Parses `I/N` with `0 <= I < N`.
    pub fn parse(text: &str) -> Result<Self, String> {
        let (i, n) = text
            .split_once('/')
            .ok_or_else(|| format!("expected I/N (e.g. 0/4), got {text:?}"))?;
        let number = |s: &str| {
            s.trim()
                .parse::<u32>()
                .map_err(|_| format!("expected I/N with whole numbers, got {text:?}"))
        };
        let (index, count) = (number(i)?, number(n)?);
        if count == 0 || index >= count {
            return Err(format!(
                "worker {index}/{count}: the index counts from 0 and must be below the count"
            ));
        }
        Ok(Self { index, count })
    }

    /// This worker's part of `total` things split as evenly as possible (the first ones get
    /// one more).
    pub fn part(self, total: usize) -> usize {
        let (i, n) = (self.index as usize, self.count as usize);
        total / n + usize::from(i < total % n)
    }
}

/// TLS settings of an `https://` target, files read and checked.
#[derive(Debug, Clone, Default)]
pub struct TlsConfig {
    /// PEM bundle whose certificates are trusted besides the system's roots.
    pub cacert: Option<PathBuf>,
    /// With `cacert`: the client's TLS configuration, trusting as
    /// [`PinnedOrRoots`](crate::support::trust::PinnedOrRoots) does.
    pub trusted: Option<rustls::ClientConfig>,
    /// Accept any server certificate (no verification at all).
    pub insecure: bool,
    /// Client certificate file (mTLS), with `identity` made of it and its key.
    pub client_cert: Option<PathBuf>,
    pub identity: Option<reqwest::Identity>,
}

impl TlsConfig {
    /// `builder` trusting and meeting the server as these options say: the system's roots
    /// plus `--cacert` (and a `--cacert` certificate that is the server's own), no
    /// verification with `--insecure`, the client certificate for mTLS.
    pub fn apply(&self, builder: reqwest::ClientBuilder) -> reqwest::ClientBuilder {
        if let (Some(config), false) = (&self.trusted, self.insecure) {
            return builder.tls_backend_preconfigured(config.clone());
        }
        let builder = builder.tls_danger_accept_invalid_certs(self.insecure);
        match &self.identity {
            Some(identity) => builder.identity(identity.clone()),
            None => builder,
        }
    }

    /// Reads the CA bundle and the client certificate and key. Errors name the file.
    pub fn load(
        cacert: Option<PathBuf>,
        insecure: bool,
        cert_and_key: Option<(PathBuf, PathBuf)>,
    ) -> Result<Self, String> {
        let read = |path: &PathBuf| {
            std::fs::read(path).map_err(|e| format!("cannot read {}: {e}", path.display()))
        };
        let bundle = match &cacert {
            Some(path) => {
                let pem = read(path)?;
                let certs = reqwest::Certificate::from_pem_bundle(&pem).map_err(|e| {
                    format!("{} is not a PEM certificate bundle: {e}", path.display())
                })?;
                if certs.is_empty() {
                    return Err(format!(
                        "{} holds no PEM certificate (-----BEGIN CERTIFICATE-----)",
                        path.display()
                    ));
                }
                Some((path, pem))
            }
            None => None,
        };
        let (client_cert, client_pem) = match cert_and_key {
            Some((cert, key)) => {
                let mut pem = read(&cert)?;
                pem.push(b'\n');
                pem.extend(read(&key)?);
                let identity = reqwest::Identity::from_pem(&pem).map_err(|e| {
                    format!(
                        "{} and {} are not a PEM certificate and private key: {e}",
                        cert.display(),
                        key.display()
                    )
                })?;
                (Some((cert, identity)), Some(pem))
            }
            None => (None, None),
        };
        let trusted = match &bundle {
            Some((path, pem)) => Some(
                crate::support::trust::client_config(pem, client_pem.as_deref())
                    .map_err(|e| format!("{}: {e}", path.display()))?,
            ),
            None => None,
        };
        let (client_cert, identity) = client_cert.unzip();
        Ok(Self {
            cacert,
            trusted,
            insecure,
            client_cert,
            identity,
        })
    }

    /// Any TLS option was given.
    pub fn is_set(&self) -> bool {
        self.cacert.is_some() || self.insecure || self.client_cert.is_some()
    }
}

/// The live page (`--live`): where it is served and how long it stays after the run.
#[derive(Debug, Clone, PartialEq)]
pub struct LiveOptions {
    pub bind: std::net::IpAddr,
    /// 0: any free port (printed at the start).
    pub port: u16,
    /// How long the page stays up after the run (Ctrl-C ends it sooner).
    pub linger: Duration,
}

/// A shared run past one machine (`--workers N`): what the controller needs besides the
/// run's own configuration.
#[derive(Debug, Clone)]
pub struct FleetOptions {
    pub workers: u32,
    /// The result store's URL (`file://`, `s3://`, `gs://`, `az://`).
    pub store: String,
    /// The image whose entrypoint is `scaleproof`.
    pub image: String,
    /// Kubeconfig, context and namespace for the Job (the watched Deployment's, if any).
    pub kube: ClusterOptions,
    /// The load arguments each worker parses (`scaleproof run` flags, no scenario).
    pub load_args: Vec<String>,
    /// The scenario file and the corpora it reads, sent to the workers through the store:
    /// (name relative to the scenario's folder, path here); the scenario file first.
    pub scenario_files: Vec<(String, PathBuf)>,
    /// A ReadWriteMany claim mounted at a `file://` store's path in every pod.
    pub store_claim: Option<String>,
    /// A Secret whose keys become the workers' environment (store credentials).
    pub store_secret: Option<String>,
    pub worker_cpu_m: Option<u32>,
    /// How long the workers may take to become ready.
    pub ready_timeout: Duration,
}

/// What to watch and with which credentials (kubectl's conventions).
#[derive(Debug, Clone, Default)]
pub struct ClusterOptions {
    /// Namespace; default: the kubeconfig context's, else `default`.
    pub namespace: Option<String>,
    pub deployment: String,
    /// The HPA's name; default: the one whose `scaleTargetRef` is the Deployment.
    pub hpa: Option<String>,
    /// The Service in front of the Deployment, whose EndpointSlices say when each pod is in
    /// it; default: any EndpointSlice of the namespace that lists the Deployment's pods.
    pub service: Option<String>,
    /// kubeconfig context; default: the current one.
    pub context: Option<String>,
    /// kubeconfig file; default: `$KUBECONFIG`, then `~/.kube/config`, then in-cluster.
    pub kubeconfig: Option<PathBuf>,
    /// Do not print warnings as they happen (they are still recorded).
    pub quiet: bool,
}

/// Local replicas (no `--host`): the bundled target-service as separate processes behind a
/// local balancer, scaled by the HPA algorithm on their measured CPU.
#[derive(Debug, Clone, PartialEq)]
pub struct LocalOptions {
    pub hpa: HpaSpec,
    /// CPU request of each replica, millicores (the utilisation's denominator).
    pub cpu_request_m: u32,
    /// CPU limit each replica is held to, millicores.
    pub cpu_limit_m: u32,
    /// Scale with the autoscaler (false: `min_replicas` replicas, fixed).
    pub autoscale: bool,
    /// How often the autoscaler syncs (kube-controller-manager: 15 s).
    pub sync_period: Duration,
    /// From process start until a replica may be ready (a pod's start-up and readiness).
    pub startup_delay: Duration,
    /// Extra forest evaluations per request: the replica's CPU cost per prediction (the
    /// starting guess when calibrated).
    pub work_factor: u32,
    /// Calibrate the work factor before the load so that one replica at its CPU limit serves
    /// this share (0–1] of `peak_rps`; `None`: `work_factor` as given.
    pub saturate_at: Option<Saturation>,
    /// The user's own service as the replicas; `None`: the bundled target-service.
    pub command: Option<ReplicaCommand>,
}

/// A replica started from the user's own command (`--replica-cmd`).
#[derive(Debug, Clone, PartialEq)]
pub struct ReplicaCommand {
    /// Run by `sh -c`, `{port}` replaced by the replica's port on 127.0.0.1.
    pub command: String,
    /// Where it runs (a scenario's folder; `None`: the current one).
    pub dir: Option<std::path::PathBuf>,
    /// Added to the inherited environment (besides `PORT` and `POD_NAME`).
    pub env: Vec<(String, String)>,
    /// `GET` this path answers 2xx or 3xx once the replica is ready (a readinessProbe).
    pub ready_path: String,
    /// `GET` this path must keep answering 2xx or 3xx once ready (a livenessProbe): after
    /// [`defaults::LIVENESS_FAILURES`] failures in a row the replica is restarted (`None`: no
    /// liveness probe, as in a pod without one).
    pub liveness_path: Option<String>,
    /// How often the probes run, and how long one may take.
    pub probe_period: Duration,
    pub probe_timeout: Duration,
    /// Longest from spawn to the first ready probe before the replica is given up.
    pub start_timeout: Duration,
    /// SIGTERM to SIGKILL, for a replica that does not exit by itself.
    pub grace_period: Duration,
}

impl ReplicaCommand {
    /// The command for a replica on `port`.
    pub fn for_port(&self, port: u16) -> String {
        self.command.replace("{port}", &port.to_string())
    }
}

/// What the local replicas' calibration aims at.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Saturation {
    /// Share of the peak one replica serves at its CPU limit, 0–1].
    pub share: f64,
    /// The open-model rate plan's highest rate, requests/s.
    pub peak_rps: f64,
}

/// Defaults, documented in `--help` and docs/cli.md.
pub mod defaults {
    use std::time::Duration;
    pub const USERS: usize = 10;
    pub const RUN_TIME: Duration = Duration::from_secs(60);
    pub const MAX_USERS: usize = 1000;
    pub const MAX_LAG: Duration = Duration::from_secs(1);
    pub const TIMEOUT: Duration = Duration::from_secs(30);
    pub const RECYCLE: Duration = Duration::from_secs(10);
    pub const ENDPOINT_HEADER: &str = "x-served-by";
    /// Closed model without --hatch-rate: all users started over this long.
    pub const RAMP: Duration = Duration::from_secs(10);
    /// Local replicas: `--replicas`, `--cpu-request`, `--cpu-limit`, `--hpa-target`.
    pub const LOCAL_REPLICAS: (u32, u32) = (1, 4);
    pub const CPU_REQUEST_M: u32 = 200;
    pub const CPU_LIMIT_M: u32 = 400;
    pub const HPA_TARGET_PCT: f64 = 70.0;
    /// kube-controller-manager's `--horizontal-pod-autoscaler-sync-period`.
    pub const SYNC_PERIOD: Duration = Duration::from_secs(15);
    pub const STARTUP_DELAY: Duration = Duration::from_secs(2);
    /// Extra forest evaluations per request in a local replica (≈ 0.5 ms of CPU, release).
    pub const WORK_FACTOR: u32 = 300;
    /// A replica command's readiness probe: path, period, timeout; start-up and grace limits.
    pub const READY_PATH: &str = "/";
    pub const PROBE_PERIOD: Duration = Duration::from_millis(500);
    pub const PROBE_TIMEOUT: Duration = Duration::from_secs(1);
    /// Liveness probe failures in a row that restart a replica (a probe's failureThreshold).
    pub const LIVENESS_FAILURES: u32 = 3;
    pub const REPLICA_START_TIMEOUT: Duration = Duration::from_secs(60);
    pub const GRACE_PERIOD: Duration = Duration::from_secs(30);
}
