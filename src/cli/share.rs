//! What a shared run (`--workers N`) takes over from this command line into
//! [`FleetOptions`], and what it cannot share.

use super::Cli;
use super::resolve::{ConfigError, flag};
use super::run::RunArgs;
use crate::config::{ClusterOptions, FleetOptions, LoadShape, RunConfig};
use crate::scenario::Scenario;
use std::path::PathBuf;
use std::time::Duration;

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
