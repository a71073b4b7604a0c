//! Shared runs past one machine: `scaleproof run --workers N` (the [`controller`]) creates an
//! Indexed Job whose pods run `scaleproof worker` (the [`worker`]), lets them start together,
//! then fetches their run directories from the result store and merges them exactly, adding
//! its own cluster watch (one clock for the cluster, and workers need no RBAC).
//!
//! Everything the two sides exchange is an object under `runs/<run id>/` in the store:
//!
//! | object                     | written by | what |
//! |----------------------------|------------|------|
//! | `job.json`                 | controller | the run: id, worker count, the workers' load arguments |
//! | `scenario/…`               | controller | the scenario file and its corpora, when one is used |
//! | `ready/worker-<i>.json`    | worker *i* | warmed up: the target answered a connection |
//! | `start.json`               | controller | the start time, once every worker is ready |
//! | `worker-<i>/…`             | worker *i* | its run directory |
//! | `done/worker-<i>.json`     | worker *i* | written last: the run directory is complete |

pub mod controller;
pub mod store;
pub mod worker;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// `job.json`: what the controller asked of the workers.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct JobRecord {
    pub run_id: String,
    pub workers: u32,
    /// The load arguments every worker parses (`scaleproof run` flags).
    pub load_args: Vec<String>,
    /// The scenario's object name under the run, when one is used.
    pub scenario_object: Option<String>,
    pub created_at: DateTime<Utc>,
}

/// `ready/worker-<i>.json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ReadyRecord {
    pub index: u32,
    /// The pod's (or machine's) host name.
    pub host: String,
    pub ready_at: DateTime<Utc>,
    /// How long the worker took to reach the target, from its start.
    pub warmup_ms: f64,
}

/// `start.json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StartRecord {
    pub start_at: DateTime<Utc>,
}

/// `done/worker-<i>.json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DoneRecord {
    pub index: u32,
    /// How the worker's run ended (`completed`, `interrupted by SIGTERM`, …).
    pub end_reason: String,
    /// Files uploaded under `worker-<i>/`.
    pub files: usize,
}

/// A record as the store keeps it: pretty JSON.
pub fn json<T: Serialize>(record: &T) -> serde_json::Result<Vec<u8>> {
    serde_json::to_vec_pretty(record)
}

/// The run's prefix in the store.
pub fn run_prefix(run_id: &str) -> String {
    format!("runs/{run_id}")
}

pub fn ready_object(index: u32) -> String {
    format!("ready/worker-{index}.json")
}

pub fn done_object(index: u32) -> String {
    format!("done/worker-{index}.json")
}

pub fn results_prefix(index: u32) -> String {
    format!("worker-{index}")
}

pub const JOB_OBJECT: &str = "job.json";
/// The scenario file and its corpora, under their names relative to the scenario's folder.
pub const SCENARIO_DIR: &str = "scenario";
pub const START_OBJECT: &str = "start.json";

/// The worker indices whose objects exist under `dir/` (`ready`, `done`), from a listing.
pub fn indices(names: &[String], dir: &str) -> std::collections::BTreeSet<u32> {
    names
        .iter()
        .filter_map(|n| {
            n.strip_prefix(dir)?
                .strip_prefix("/worker-")?
                .strip_suffix(".json")?
                .parse()
                .ok()
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn indices_come_from_the_objects_names_only() {
        let names = [
            "ready/worker-0.json",
            "ready/worker-12.json",
            "ready/worker-x.json",
            "done/worker-3.json",
            "ready/worker-4.json.tmp",
        ]
        .map(String::from);
        assert_eq!(indices(&names, "ready"), [0, 12].into());
        assert_eq!(indices(&names, "done"), [3].into());
    }
}
