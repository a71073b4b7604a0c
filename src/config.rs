//! The checked configuration of one run: every flag and scenario field validated and merged.
//! Library code below this point never sees clap types.

use crate::scenario::RatePlan;
use crate::scenario::Scenario;
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
        test_plan: Option<crate::values::TestPlan>,
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
}

/// What to watch and with which credentials (kubectl's conventions).
#[derive(Debug, Clone, Default)]
pub struct ClusterOptions {
    /// Namespace; default: the kubeconfig context's, else `default`.
    pub namespace: Option<String>,
    pub deployment: String,
    /// The HPA's name; default: the one whose `scaleTargetRef` is the Deployment.
    pub hpa: Option<String>,
    /// kubeconfig context; default: the current one.
    pub context: Option<String>,
    /// kubeconfig file; default: `$KUBECONFIG`, then `~/.kube/config`, then in-cluster.
    pub kubeconfig: Option<PathBuf>,
    /// Do not print warnings as they happen (they are still recorded).
    pub quiet: bool,
}

/// Defaults, documented in `--help` and the README.
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
}
