//! `scaleproof capacity`: its flags — the target (as a run's), the SLO a step must hold, the
//! search's bounds, the plan's target and headroom, the replica counts to measure, and the
//! local replica's command and CPU.

use super::cluster::ClusterArgs;
use super::http::HttpArgs;
use super::local::LocalArgs;
use super::parse::parse_host;
use super::run::RunArgs;
use crate::spec::values;
use clap::Args;
use reqwest::Url;
use std::path::PathBuf;
use std::time::Duration;

/// Find one replica's knee at the SLO by an open-model search (grow the rate until a step
/// fails, then bisect), and plan the replicas and the HPA for a target rate. With no --host
/// the replica is local (the bundled target-service, or --replica-cmd), labelled as local.
#[derive(Debug, Args)]
pub struct CapacityArgs {
    /// Base URL of ONE replica of the service (e.g. a Deployment scaled to 1); without it, a
    /// local replica on this machine
    #[arg(long, value_name = "URL", value_parser = parse_host)]
    pub host: Option<Url>,
    /// Scenario file: its requests are what each step sends (its load shape is not used)
    #[arg(short = 's', long, value_name = "FILE")]
    pub scenario: Option<PathBuf>,
    /// Folder that receives the capacity directory
    #[arg(short = 'o', long, value_name = "DIR", default_value = "reports")]
    pub out: PathBuf,
    /// SLO: a step passes only if its corrected p95 is at most this
    #[arg(long, value_name = "DURATION", default_value = "250ms", value_parser = values::millis)]
    pub slo_p95: f64,
    /// SLO: (failed + dropped) / (completed + dropped) at most this
    #[arg(long, value_name = "RATE", default_value = "1%", value_parser = values::fraction)]
    pub slo_error_rate: f64,
    /// Stop bisecting when the bracket [pass, fail) is at most this share of its lower end
    #[arg(long, value_name = "PERCENT", default_value = "5%", value_parser = values::fraction)]
    pub precision: f64,
    /// The whole search ends within this; when it runs out, the bracket found so far
    #[arg(long, value_name = "DURATION", default_value = "3m", value_parser = values::duration)]
    pub max_time: Duration,
    /// The first step's rate, requests/s; each next step doubles it until one fails
    #[arg(long, value_name = "RPS", default_value = "25", value_parser = values::positive)]
    pub start_rps: f64,
    /// The highest rate a step offers, requests/s
    #[arg(long, value_name = "RPS", default_value = "20000", value_parser = values::positive)]
    pub max_rps: f64,
    /// Requests a step aims at (its length is this ÷ the rate, 5 s to 20 s): 1,000 puts 50
    /// above the p95
    #[arg(long, value_name = "N", default_value = "1000", value_parser = values::at_least_one)]
    pub step_requests: usize,
    /// The rate the plan is for, requests/s
    #[arg(long, value_name = "RPS", default_value = "1000", value_parser = values::positive)]
    pub target_rps: f64,
    /// Share of the knee each replica is planned to carry
    #[arg(long, value_name = "SHARE", default_value = "0.7", value_parser = values::fraction)]
    pub headroom: f64,
    /// Replica counts to measure the knee at, e.g. 1,2,4 (local: replicas started here;
    /// --host: you scale the Deployment when asked); two or more fit the Universal
    /// Scalability Law
    #[arg(long, value_name = "N,N,…", default_value = "1", value_delimiter = ',', value_parser = counts)]
    pub replicas: Vec<u32>,
    /// Local replica: your own service instead of the bundled one ({port} is its port), as
    /// for a run
    #[arg(long, value_name = "CMD")]
    pub replica_cmd: Option<String>,
    /// Local replica: add K=V to its command's environment (repeatable)
    #[arg(long, value_name = "K=V", value_parser = super::local::key_value)]
    pub replica_env: Vec<(String, String)>,
    /// Local replica: its command's readiness probe path [default: /]
    #[arg(long, value_name = "PATH")]
    pub ready_path: Option<String>,
    /// Local replica: its command's start-up limit [default: 60s]
    #[arg(long, value_name = "DURATION", value_parser = values::duration)]
    pub replica_start_timeout: Option<Duration>,
    /// Local replica: its CPU request, the base of the planned HPA target [default: 200m]
    #[arg(long, value_name = "CPU", value_parser = values::millicores)]
    pub cpu_request: Option<u32>,
    /// Local replica: the CPU limit it is held to [default: 400m]
    #[arg(long, value_name = "CPU", value_parser = values::millicores)]
    pub cpu_limit: Option<u32>,
    /// Local bundled replica: extra forest evaluations per request, fixed [default: 300]
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(0..=100_000))]
    pub work_factor: Option<u32>,
    /// --host: the Deployment behind it, watched during each step to make sure one pod
    /// serves, and named in the planned HPA
    #[command(flatten)]
    pub cluster: ClusterArgs,
    #[command(flatten)]
    pub http: HttpArgs,
}

/// `1,2,4`: replica counts, each 1..=16, increasing.
fn counts(text: &str) -> Result<u32, String> {
    let n: u32 = text
        .trim()
        .parse()
        .map_err(|_| format!("{text:?} is not a replica count"))?;
    if (1..=values::MAX_LOCAL_REPLICAS).contains(&n) {
        Ok(n)
    } else {
        Err(format!("{n} is outside 1..={}", values::MAX_LOCAL_REPLICAS))
    }
}

impl CapacityArgs {
    /// The run arguments of one step at `replicas` replicas (its rate plan set by the
    /// caller): local replicas pinned to that count with no --host; with one, the local
    /// flags as given (a run refuses them, naming the flag).
    pub fn step_args(&self, replicas: u32) -> RunArgs {
        let local = if self.host.is_some() {
            LocalArgs {
                cpu_request: self.cpu_request,
                cpu_limit: self.cpu_limit,
                work_factor: self.work_factor,
                replica_cmd: self.replica_cmd.clone(),
                replica_env: self.replica_env.clone(),
                ready_path: self.ready_path.clone(),
                replica_start_timeout: self.replica_start_timeout,
                ..LocalArgs::default()
            }
        } else {
            self.local_args(replicas)
        };
        RunArgs {
            host: self.host.clone(),
            scenario: self.scenario.clone(),
            out: self.out.clone(),
            // A step's per-second lines would bury the search: each step prints one line.
            quiet: true,
            http: self.http.clone(),
            cluster: self.cluster.clone(),
            local,
            ..RunArgs::default()
        }
    }

    /// The local flags of a step at `replicas` local replicas, fixed.
    fn local_args(&self, replicas: u32) -> LocalArgs {
        LocalArgs {
            replicas: Some((replicas, replicas)),
            no_autoscale: true,
            cpu_request: self.cpu_request,
            cpu_limit: self.cpu_limit,
            work_factor: Some(
                self.work_factor
                    .unwrap_or(crate::config::defaults::WORK_FACTOR),
            ),
            replica_cmd: self.replica_cmd.clone(),
            replica_env: self.replica_env.clone(),
            ready_path: self.ready_path.clone(),
            replica_start_timeout: self.replica_start_timeout,
            ..LocalArgs::default()
        }
    }
}
