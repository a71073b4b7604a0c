//! `scaleproof doctor`'s flags and their check into a [`DoctorConfig`].

use super::cluster::ClusterArgs;
use super::http::HttpArgs;
use super::parse::header_name;
use super::resolve::ConfigError;
use crate::config::defaults;
use crate::doctor::DoctorConfig;
use crate::scenario::{RatePlan, Scenario};
use clap::Args;
use reqwest::Url;
use reqwest::header::HeaderName;
use std::path::PathBuf;

/// Flags of `scaleproof doctor`.
#[derive(Debug, Args)]
#[command(
    after_help = "Each check prints ok, warn or FAIL with the fix in one line. Exit code 0 when nothing failed, 1 otherwise.\n\n\
        Examples:\n  \
        scaleproof doctor --deployment target-service --host http://203.0.113.7:8080\n  \
        scaleproof doctor --deployment target-service -n demo --scenario scenarios/ramp-1k.toml --host http://svc --json"
)]
pub struct DoctorArgs {
    /// The address the run will load; checked for an answer and for how many endpoints
    /// answer fresh connections.
    #[arg(long, value_name = "URL")]
    pub host: Option<Url>,
    /// Scenario whose planned peak rate, expected replicas, `[cluster]` and `[tls]` the checks use.
    #[arg(short, long, value_name = "FILE")]
    pub scenario: Option<PathBuf>,
    /// Planned load (overrides the scenario's), e.g. 100:30s,1200:2m: its peak is what the
    /// generator calibration and the capacity check compare against.
    #[arg(long, value_name = "STAGES", value_parser = rate_plan)]
    pub rate: Option<RatePlan>,
    /// Replicas the run will expect (overrides the scenario's).
    #[arg(long, value_name = "N")]
    pub expect_replicas: Option<u32>,
    /// Requests/s one replica serves at the HPA's target (the bundled target-service: about
    /// 190, docs/deploy.md): checks maxReplicas × this against the planned peak.
    #[arg(long, value_name = "RPS", value_parser = crate::spec::values::positive)]
    pub pod_capacity: Option<f64>,
    /// Response header that names the serving endpoint (pod).
    #[arg(long, value_name = "NAME", default_value = defaults::ENDPOINT_HEADER, value_parser = header_name)]
    pub endpoint_header: HeaderName,
    /// Skip the 3-second loopback calibration of this machine's generator capacity.
    #[arg(long)]
    pub no_calibration: bool,
    /// Print the findings as one JSON document on stdout.
    #[arg(long)]
    pub json: bool,
    #[command(flatten)]
    pub http: HttpArgs,
    #[command(flatten)]
    pub cluster: ClusterArgs,
}

fn rate_plan(text: &str) -> Result<RatePlan, String> {
    RatePlan::parse(text).map_err(|e| e.to_string())
}

impl TryFrom<DoctorArgs> for DoctorConfig {
    type Error = ConfigError;

    fn try_from(args: DoctorArgs) -> Result<Self, ConfigError> {
        let scenario = match &args.scenario {
            Some(path) => Some(Scenario::load(path)?),
            None => None,
        };
        let spec = scenario
            .as_ref()
            .map(|s| s.cluster.clone())
            .unwrap_or_default();
        let tls_spec = scenario.as_ref().map(|s| s.tls.clone()).unwrap_or_default();
        let plan = args
            .rate
            .clone()
            .or_else(|| scenario.as_ref().and_then(|s| s.load.rate.clone()));
        let planned_peak_rps = plan.map(|p| {
            p.stages()
                .iter()
                .map(|s| s.target_rps)
                .fold(0.0f64, f64::max)
        });
        Ok(DoctorConfig {
            cluster: args.cluster.resolve(&spec)?,
            host: args.host.clone(),
            tls: args.http.tls(&tls_spec)?,
            headers: args.http.headers()?,
            endpoint_header: args.endpoint_header.clone(),
            planned_peak_rps,
            expect_replicas: args
                .expect_replicas
                .or_else(|| scenario.as_ref().and_then(|s| s.expect.replicas)),
            pod_capacity_rps: args.pod_capacity,
            calibrate: !args.no_calibration,
        })
    }
}
