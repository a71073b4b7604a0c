//! The local replicas' flags (`--replicas`, CPU request and limit, `--hpa-target`) and their
//! merge with the scenario's `[local]` into [`LocalOptions`].

use super::resolve::{ConfigError, flag};
use crate::config::{HpaSpec, LocalOptions, ReplicaCommand, Saturation, defaults};
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
    /// Run your own service as the replicas: a shell command in which {port} (and $PORT in its
    /// environment) is the replica's port on 127.0.0.1; POD_NAME names the replica, e.g.
    /// 'gunicorn -w 1 -b 127.0.0.1:{port} app:app'. Its output goes to replicas/NAME.log in the
    /// run directory [default: the bundled target-service]
    #[arg(long, value_name = "CMD")]
    pub replica_cmd: Option<String>,
    /// Add K=V to every replica command's environment (repeatable)
    #[arg(long, value_name = "K=V", value_parser = key_value)]
    pub replica_env: Vec<(String, String)>,
    /// Readiness probe of a replica command: GET this path answers 2xx or 3xx once the
    /// replica may take traffic [default: /]
    #[arg(long, value_name = "PATH")]
    pub ready_path: Option<String>,
    /// Liveness probe of a replica command: once ready, GET this path must keep answering
    /// 2xx or 3xx; after 3 failures in a row (every 500 ms, 1 s timeout) the replica is
    /// restarted, with back-off, and its restart counted [default: none]
    #[arg(long, value_name = "PATH")]
    pub liveness_path: Option<String>,
    /// How long a replica command may take from its start to its first ready probe before it
    /// is given up [default: 60s]
    #[arg(long, value_name = "DURATION", value_parser = values::duration)]
    pub replica_start_timeout: Option<std::time::Duration>,
    /// From SIGTERM to SIGKILL when a replica command is stopped (terminationGracePeriodSeconds)
    /// [default: 30s]
    #[arg(long, value_name = "DURATION", value_parser = values::duration_or_zero)]
    pub grace_period: Option<std::time::Duration>,
}

/// `K=V` for `--replica-env`.
pub(super) fn key_value(text: &str) -> Result<(String, String), String> {
    match text.split_once('=') {
        Some((k, v)) if !k.is_empty() && !k.contains(char::is_whitespace) => {
            Ok((k.to_owned(), v.to_owned()))
        }
        _ => Err(format!("{text:?} is not K=V")),
    }
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
        let command = self.command(spec)?;
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
            // A fixed work factor (flag or scenario) is not calibrated, nor is a service of
            // the user's own.
            saturate_at: match (self.work_factor, spec.saturate_at, peak_rps, &command) {
                (None, Some(share), Some(peak_rps), None) => Some(Saturation { share, peak_rps }),
                _ => None,
            },
            command,
        })
    }

    /// The replica command, from the flag or the scenario's `[local] command`.
    fn command(&self, spec: &LocalSpec) -> Result<Option<ReplicaCommand>, ConfigError> {
        let (command, dir) = match (&self.replica_cmd, &spec.command) {
            (Some(c), _) => (c.clone(), None),
            (None, Some(c)) => (c.clone(), spec.dir.clone()),
            (None, None) => {
                let given = [
                    (!self.replica_env.is_empty(), "--replica-env"),
                    (self.ready_path.is_some(), "--ready-path"),
                    (self.liveness_path.is_some(), "--liveness-path"),
                    (
                        self.replica_start_timeout.is_some(),
                        "--replica-start-timeout",
                    ),
                    (self.grace_period.is_some(), "--grace-period"),
                ];
                if let Some((_, name)) = given.iter().find(|(set, _)| *set) {
                    return Err(flag(name, "applies to --replica-cmd replicas only"));
                }
                return Ok(None);
            }
        };
        crate::scenario::check_port_template(&command).map_err(|e| flag("--replica-cmd", e))?;
        let ready_path = self
            .ready_path
            .clone()
            .or_else(|| spec.ready_path.clone())
            .unwrap_or_else(|| defaults::READY_PATH.to_owned());
        if !ready_path.starts_with('/') {
            return Err(flag(
                "--ready-path",
                format!("{ready_path:?} must start with '/'"),
            ));
        }
        let liveness_path = self
            .liveness_path
            .clone()
            .or_else(|| spec.liveness_path.clone());
        if let Some(p) = liveness_path.as_ref().filter(|p| !p.starts_with('/')) {
            return Err(flag(
                "--liveness-path",
                format!("{p:?} must start with '/'"),
            ));
        }
        let mut env = spec.env.clone();
        env.extend(self.replica_env.iter().cloned());
        Ok(Some(ReplicaCommand {
            command,
            dir,
            env,
            ready_path,
            liveness_path,
            probe_period: defaults::PROBE_PERIOD,
            probe_timeout: defaults::PROBE_TIMEOUT,
            start_timeout: self
                .replica_start_timeout
                .unwrap_or(defaults::REPLICA_START_TIMEOUT),
            grace_period: self.grace_period.unwrap_or(defaults::GRACE_PERIOD),
        }))
    }
}
