//! The run flags and the scenario, resolved into one [`RunConfig`]: flags over the scenario's
//! fields over the defaults, and the combinations that do not make a run refused.

use super::run::RunArgs;
use crate::config::{LoadShape, RunConfig, Target, defaults};
use crate::scenario::{RatePlan, Scenario, ScenarioError};
use reqwest::header::HeaderName;

/// Why the arguments do not make a run.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("invalid value for {flag}: {message}")]
    Flag { flag: &'static str, message: String },
    #[error(transparent)]
    Scenario(#[from] ScenarioError),
}

pub(super) fn flag(flag: &'static str, message: impl Into<String>) -> ConfigError {
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
                (args.local.work_factor.is_some(), "--work-factor"),
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
            Target::Embedded => {
                let peak = match &shape {
                    LoadShape::Open { plan, .. } => Some(plan.peak()),
                    LoadShape::Closed { .. } => None,
                };
                Some(args.local.resolve(&scenario.local, peak)?)
            }
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
