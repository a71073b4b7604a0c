//! The flags of a load test (`scaleproof run`, the default), grouped: the load's shape here,
//! the other groups flattened in from their own files.

use super::cluster::ClusterArgs;
use super::expect::ExpectArgs;
use super::fleet::FleetArgs;
use super::http::HttpArgs;
use super::live::LiveArgs;
use super::local::LocalArgs;
use super::parse::{Recycle, header_name, parse_host, rate_plan, recycle};
use crate::config::defaults;
use crate::scenario::RatePlan;
use crate::scenario::plan::TestPlan;
use crate::spec::values;
use clap::Args;
use reqwest::Url;
use reqwest::header::HeaderName;
use std::path::PathBuf;
use std::time::Duration;

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
    #[arg(long, value_name = "PLAN", conflicts_with_all = ["rate", "users", "hatch_rate", "run_time"], value_parser = crate::scenario::plan::test_plan)]
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
