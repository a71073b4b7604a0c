//! A run that ended before its load: no local replica became ready. What was recorded of the
//! replicas (their lives, events, logs) still goes into a run directory of its own, with no
//! seconds (the caller renders its report), so that the reason can be read there and not only
//! in the terminal.

use super::record::{run_meta, write_run_dir};
use super::workload::copy_logs;
use crate::config::RunConfig;
use crate::load::control::EndReason;
use crate::load::recorder::{Gauges, Recorder};
use crate::local::LocalCluster;
use crate::timeline;
use chrono::Utc;
use reqwest::Url;
use std::path::PathBuf;
use std::time::{Duration, Instant};

/// Stops `local` and writes the run directory of a run that never started because `why`;
/// its path, or why it could not be written.
pub(super) fn record(
    config: &RunConfig,
    local: LocalCluster,
    why: &str,
) -> Result<PathBuf, String> {
    let base = Url::parse(&format!("http://{}/", local.base()))
        .expect("a socket address makes a valid URL");
    let logs = local.logs();
    let (now, started_at) = (Instant::now(), Utc::now());
    let recorder = Recorder::new(now, started_at);
    let recording = recorder.finish(now, |_| Gauges {
        users: 0,
        target_rps: None,
    });
    let (mut cluster, lives) = local.finish(now, now);
    let mut meta = run_meta(
        config,
        &base,
        true,
        started_at,
        Utc::now(),
        Duration::ZERO,
        EndReason::Completed,
        &recording,
        Some(cluster.record.clone()),
        Some(lives),
    );
    meta.end_reason = format!("failed: no local replica became ready: {why}");
    meta.warnings = cluster.record.warnings.clone();
    let pods = timeline::join_pods(std::mem::take(&mut cluster.pods), Vec::new());
    let dir = write_run_dir(config, &meta, &recording, Some(&cluster), &pods)
        .map_err(|e| crate::support::chain::chain(&e))?;
    copy_logs(logs.path(), &dir).map_err(|e| format!("cannot copy the replicas' logs: {e}"))?;
    Ok(dir)
}
