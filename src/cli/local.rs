//! The local replicas' flags (`--replicas`, CPU request and limit, `--hpa-target`) and their
//! merge with the scenario's `[local]` into [`LocalOptions`].

use super::resolve::{ConfigError, flag};
use crate::config::{HpaSpec, LocalOptions, Saturation, defaults};
use crate::scenario::LocalSpec;
use crate::spec::values;
use clap::Args;

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
    /// Extra forest evaluations per request in each replica, fixed (about 2 µs of CPU each in
    /// a release build); without it a scenario's `saturate_at` calibrates it to this machine
    /// [default: calibrated in the built-in scenario, else 300].
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(0..=100_000))]
    pub work_factor: Option<u32>,
}

impl LocalArgs {
    /// `peak_rps`: the open-model plan's highest rate (`None`: a closed model, which has no
    /// planned peak to calibrate against).
    pub(super) fn resolve(
        &self,
        spec: &LocalSpec,
        peak_rps: Option<f64>,
    ) -> Result<LocalOptions, ConfigError> {
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
            work_factor: self
                .work_factor
                .or(spec.work_factor)
                .unwrap_or(defaults::WORK_FACTOR),
            // A fixed work factor (flag or scenario) is not calibrated.
            saturate_at: match (self.work_factor, spec.saturate_at, peak_rps) {
                (None, Some(share), Some(peak_rps)) => Some(Saturation { share, peak_rps }),
                _ => None,
            },
        })
    }
}
