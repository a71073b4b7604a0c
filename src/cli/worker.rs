//! Flags of the hidden subcommands scaleproof starts itself: `replica` (one local replica)
//! and `worker` (one pod of a shared run's Indexed Job).

use crate::spec::values;
use clap::Args;
use std::path::PathBuf;
use std::time::Duration;

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

pub(super) fn worker_count(text: &str) -> Result<u32, String> {
    let n: u32 = text
        .parse()
        .map_err(|_| format!("{text:?} is not a whole number of workers"))?;
    if (1..=1000).contains(&n) {
        Ok(n)
    } else {
        Err(format!("{n} workers: use 1 to 1000"))
    }
}
