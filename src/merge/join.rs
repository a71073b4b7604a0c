//! Runs one after another joined into one run directory, back to back: each run's seconds
//! follow the last run's (the gaps between them left out), its per-second histograms moved
//! with them, counters and whole-run histograms added — a capacity search's steps read as one
//! ordinary run (`report`, the charts and `compare` work on it).

use super::sums::{merge_totals, whole_run};
use super::{MergeError, MergedRun, WorkerRun, merge_errors, whole_run_log};
use crate::load::{histogram, hlog};
use crate::spec::expectations::Expectations;
use crate::timeline::LoadRecord;
use std::path::PathBuf;
use std::time::SystemTime;

/// Joins the runs of `dirs`, in that order, into one; `description` says what they were.
pub fn join(dirs: &[PathBuf], description: &str) -> Result<MergedRun, MergeError> {
    let runs = dirs
        .iter()
        .map(|d| WorkerRun::read(d))
        .collect::<Result<Vec<_>, _>>()?;
    let Some(first) = runs.first() else {
        return Err(MergeError::Mismatch("no run directory to join".to_owned()));
    };
    let started = SystemTime::from(first.meta.started_at);
    let mut rows = Vec::new();
    let mut endpoint_rows = Vec::new();
    let mut decoder = hlog::Decoder::default();
    let per_second_log = hlog::per_second_with(started, |put| {
        let mut offset = 0u64;
        for run in &runs {
            for (s, entries) in &run.per_second {
                for (tag, bytes) in entries {
                    let h = decoder.decode(bytes).map_err(|e| MergeError::Histograms {
                        dir: run.dir.clone(),
                        message: e.to_string(),
                    })?;
                    put(s + offset, tag, &h);
                }
            }
            rows.extend(run.rows.iter().cloned().map(|mut r| {
                r.t_s += offset;
                r
            }));
            endpoint_rows.extend(run.endpoint_rows.iter().cloned().map(|mut e| {
                e.t_s += offset;
                e
            }));
            offset += run.rows.iter().map(|r| r.t_s + 1).max().unwrap_or(0);
        }
        Ok::<(), MergeError>(())
    })?;
    let whole = whole_run(&runs);
    let send_late = whole.get("send_late").cloned().unwrap_or_else(histogram);
    let totals = merge_totals(&runs, &whole, &send_late);
    let mut meta = first.meta.clone();
    meta.description = Some(description.to_owned());
    meta.ended_at = runs.last().map_or(meta.ended_at, |r| r.meta.ended_at);
    meta.duration_s = runs.iter().map(|r| r.meta.duration_s).sum();
    meta.load = match &first.meta.load {
        LoadRecord::Open {
            max_users,
            max_lag_s,
            ..
        } => LoadRecord::Open {
            stages: runs
                .iter()
                .flat_map(|r| match &r.meta.load {
                    LoadRecord::Open { stages, .. } => stages.clone(),
                    LoadRecord::Closed { .. } => Vec::new(),
                })
                .collect(),
            max_users: *max_users,
            max_lag_s: *max_lag_s,
        },
        closed => closed.clone(),
    };
    // The joined run passes or fails nothing: each step was judged on its own.
    meta.expectations = Expectations::default();
    meta.totals = totals;
    meta.end_reason = runs
        .iter()
        .map(|r| r.meta.end_reason.as_str())
        .find(|e| *e != "completed")
        .unwrap_or("completed")
        .to_owned();
    meta.local_replicas = None;
    let mut warnings: Vec<String> = Vec::new();
    for w in runs.iter().flat_map(|r| &r.meta.warnings) {
        if !warnings.contains(w) {
            warnings.push(w.clone());
        }
    }
    meta.warnings = warnings;
    let total_log = whole_run_log(&whole, started, rows.len() as u64);
    Ok(MergedRun {
        errors: merge_errors(&runs),
        pods: Vec::new(),
        meta,
        rows,
        endpoint_rows,
        cluster: None,
        per_second_log,
        total_log,
    })
}
