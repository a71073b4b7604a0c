//! `scaleproof merge`: the run directories of the workers of one shared run (`--worker I/N`)
//! into one ordinary run directory, exactly. Per-second and whole-run counters are summed;
//! per-second and whole-run HdrHistograms (raw, corrected, all requests, send lateness, each
//! endpoint) are added bucket by bucket, so every percentile of the merged run is the one a
//! single generator recording every request would have given, at HdrHistogram precision
//! (3 significant digits). Percentiles are never averaged.
//!
//! Seconds are matched by index: second `s` of every worker. Workers started with the same
//! `--start-at` begin second 0 at the same wall-clock time, as far as their clocks agree; a
//! worker whose second 0 began more than [`CLOCK_BOUND_MS`] from the earliest one's is
//! flagged, and so is one that is missing or did not complete — the verdict of the merged run
//! is then inconclusive, never a silent partial pass.

mod join;
mod sums;

pub use join::join;

use sums::{Histograms, merge_in_parallel, merge_totals, whole_run};

use crate::load::hlog;
use crate::load::{histogram, quantile};
use crate::timeline::{
    self, ClusterChangeRow, EndpointRow, ErrorRow, EventRow, MergedWorker, PER_SECOND_HLOG, PodRow,
    RunDir, RunDirError, RunMeta, TOTAL_HLOG, TimelineRow, Totals,
};
use chrono::{DateTime, Utc};
use hdrhistogram::Histogram;
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

/// Workers whose second 0 began further apart than this are flagged: their seconds no longer
/// line up well enough for per-second figures (a second is 1,000 ms).
pub const CLOCK_BOUND_MS: f64 = 50.0;

/// Why the runs could not be merged.
#[derive(Debug, thiserror::Error)]
pub enum MergeError {
    #[error("cannot read the run directory {dir}")]
    Read {
        dir: PathBuf,
        #[source]
        source: RunDirError,
    },
    #[error("{dir}: {message}")]
    Histograms { dir: PathBuf, message: String },
    #[error("{0}")]
    Mismatch(String),
    #[error(transparent)]
    Write(#[from] RunDirError),
}

/// One worker's run directory, read.
struct WorkerRun {
    dir: PathBuf,
    meta: RunMeta,
    rows: Vec<TimelineRow>,
    endpoint_rows: Vec<EndpointRow>,
    errors: Vec<ErrorRow>,
    pods: Vec<PodRow>,
    /// Each second's histograms, still serialized: tag and bytes.
    per_second: BTreeMap<u64, Vec<(String, Vec<u8>)>>,
    /// The whole-run histograms, decoded (a dozen per worker).
    total: Vec<(String, Histogram<u64>)>,
}

impl WorkerRun {
    fn read(dir: &Path) -> Result<Self, MergeError> {
        let run = RunDir::open(dir);
        let read_err = |source| MergeError::Read {
            dir: dir.to_path_buf(),
            source,
        };
        let log = |name: &str| -> Result<Vec<hlog::Entry>, MergeError> {
            let bytes = std::fs::read(run.file(name)).map_err(|e| MergeError::Histograms {
                dir: dir.to_path_buf(),
                message: format!("cannot read {name}: {e}"),
            })?;
            hlog::read(&bytes).map_err(|e| MergeError::Histograms {
                dir: dir.to_path_buf(),
                message: format!("{name}: {e}"),
            })
        };
        Ok(Self {
            meta: run.read_meta().map_err(read_err)?,
            rows: run.read(&timeline::TIMELINE).map_err(read_err)?,
            endpoint_rows: run.read(&timeline::ENDPOINTS).map_err(read_err)?,
            errors: run.read(&timeline::ERRORS).map_err(read_err)?,
            pods: run.read(&timeline::PODS).map_err(read_err)?,
            per_second: log(PER_SECOND_HLOG)?.into_iter().fold(
                BTreeMap::new(),
                |mut seconds: BTreeMap<u64, Vec<_>>, (start, tag, bytes)| {
                    seconds
                        .entry(start.as_secs())
                        .or_default()
                        .push((tag, bytes));
                    seconds
                },
            ),
            total: {
                let mut decoder = hlog::Decoder::default();
                log(TOTAL_HLOG)?
                    .into_iter()
                    .map(|(_, tag, bytes)| Ok((tag, decode(&mut decoder, dir, &bytes)?)))
                    .collect::<Result<_, MergeError>>()?
            },
            dir: dir.to_path_buf(),
        })
    }

    /// Adds second `s`'s histograms of this worker into `into`, tag by tag.
    fn add_second(
        &self,
        s: u64,
        adder: &mut hlog::Adder,
        into: &mut Histograms,
    ) -> Result<(), MergeError> {
        for (tag, bytes) in self.per_second.get(&s).into_iter().flatten() {
            let sum = match into.get_mut(tag.as_str()) {
                Some(sum) => sum,
                None => into.entry(tag.clone()).or_insert_with(histogram),
            };
            adder.add(bytes, sum).map_err(|e| MergeError::Histograms {
                dir: self.dir.clone(),
                message: e.to_string(),
            })?;
        }
        Ok(())
    }

    fn index(&self) -> u32 {
        self.meta.worker.as_ref().map_or(0, |w| w.index)
    }
}

fn decode(
    decoder: &mut hlog::Decoder,
    dir: &Path,
    bytes: &[u8],
) -> Result<Histogram<u64>, MergeError> {
    decoder.decode(bytes).map_err(|e| MergeError::Histograms {
        dir: dir.to_path_buf(),
        message: e.to_string(),
    })
}

/// The merged run, in memory: an ordinary run directory's contents, before it is written.
/// Whoever merges may add what only it saw (the controller of `--workers` adds its cluster
/// watch) before [`MergedRun::write`].
#[derive(Debug)]
pub struct MergedRun {
    pub meta: RunMeta,
    pub rows: Vec<TimelineRow>,
    pub endpoint_rows: Vec<EndpointRow>,
    pub errors: Vec<ErrorRow>,
    pub pods: Vec<PodRow>,
    /// `cluster.csv` and `events.csv`, when a cluster was watched.
    pub cluster: Option<(Vec<ClusterChangeRow>, Vec<EventRow>)>,
    per_second_log: Vec<u8>,
    total_log: Vec<u8>,
}

impl MergedRun {
    /// Adds what the merger knows of why worker `index` has a problem (its pod's failure) to
    /// the worker's problem, the warnings and the end reason. Call before adding warnings.
    pub fn explain_worker(&mut self, index: u32, why: &str) {
        let Some(worker) = self
            .meta
            .workers
            .iter_mut()
            .find(|w| w.index == index && w.problem.is_some())
        else {
            return;
        };
        worker.problem = worker.problem.take().map(|p| format!("{p} ({why})"));
        let problems = timeline::worker_problems(&self.meta.workers);
        self.meta.end_reason = format!("incomplete: {}", problems.join("; "));
        self.meta.warnings = problems;
    }

    /// Writes the run directory under `out`; returns its path.
    pub fn write(&self, out: &Path) -> Result<PathBuf, MergeError> {
        let dir = RunDir::create(out, self.meta.started_at, &self.meta.scenario)?;
        self.write_files(&dir)?;
        Ok(dir.path().to_path_buf())
    }

    /// Writes the run directory's files into the existing folder `dir` (its `histograms/`
    /// made if missing).
    pub fn write_into(&self, dir: &Path) -> Result<(), MergeError> {
        std::fs::create_dir_all(dir.join("histograms")).map_err(|source| {
            MergeError::Write(RunDirError::Create {
                path: dir.join("histograms"),
                source,
            })
        })?;
        self.write_files(&RunDir::open(dir))
    }

    fn write_files(&self, dir: &RunDir) -> Result<(), MergeError> {
        dir.write_meta(&self.meta)?;
        dir.write(&timeline::TIMELINE, &self.rows)?;
        dir.write(&timeline::ENDPOINTS, &self.endpoint_rows)?;
        dir.write(&timeline::ERRORS, &self.errors)?;
        dir.write(&timeline::PODS, &self.pods)?;
        if let Some((changes, events)) = &self.cluster {
            dir.write(&timeline::CLUSTER, changes)?;
            dir.write(&timeline::EVENTS, events)?;
        }
        dir.write_bytes(PER_SECOND_HLOG, &self.per_second_log)?;
        dir.write_bytes(TOTAL_HLOG, &self.total_log)?;
        Ok(())
    }
}

/// Merges the workers' run directories `dirs` into a new run directory under `out`; returns
/// its path. See [`combine`].
pub fn merge(dirs: &[PathBuf], out: &Path) -> Result<PathBuf, MergeError> {
    combine(dirs)?.write(out)
}

/// Merges the workers' run directories `dirs`. The workers must be of one shared run (the
/// same scenario and worker count, each index at most once); missing ones are recorded, not
/// invented.
pub fn combine(dirs: &[PathBuf]) -> Result<MergedRun, MergeError> {
    let mut runs = dirs
        .iter()
        .map(|d| WorkerRun::read(d))
        .collect::<Result<Vec<_>, _>>()?;
    let Some(first) = runs.first() else {
        return Err(MergeError::Mismatch("no run directory to merge".to_owned()));
    };
    let count = first.meta.worker.as_ref().map(|w| w.count).ok_or_else(|| {
        MergeError::Mismatch(format!(
            "{} is not a worker's run (made without --worker I/N)",
            first.dir.display()
        ))
    })?;
    let scenario = first.meta.scenario.clone();
    let mut seen = BTreeSet::new();
    for run in &runs {
        let Some(w) = &run.meta.worker else {
            return Err(MergeError::Mismatch(format!(
                "{} is not a worker's run (made without --worker I/N)",
                run.dir.display()
            )));
        };
        if w.count != count || run.meta.scenario != scenario {
            return Err(MergeError::Mismatch(format!(
                "{} is worker {}/{} of scenario {:?}; the first is of {count} workers of {scenario:?}",
                run.dir.display(),
                w.index,
                w.count,
                run.meta.scenario
            )));
        }
        if !seen.insert(w.index) {
            return Err(MergeError::Mismatch(format!(
                "worker {} appears twice (again in {})",
                w.index,
                run.dir.display()
            )));
        }
    }
    runs.sort_by_key(WorkerRun::index);
    let workers = roll_call(&runs, count);
    let earliest = runs
        .iter()
        .map(|r| r.meta.started_at)
        .min()
        .unwrap_or_else(Utc::now);

    let started = SystemTime::from(earliest);
    // Each merged second's histograms go straight into the per-second log.
    let (merged, per_second_log) = merge_in_parallel(&runs, earliest, started)?;
    let whole = whole_run(&runs);
    let totals = merge_totals(&runs, &whole, &merged.send_late);
    let meta = merged_meta(&runs, workers, earliest, totals);
    let total_log = whole_run_log(&whole, started, merged.rows.len() as u64);
    Ok(MergedRun {
        errors: merge_errors(&runs),
        pods: merge_pods(&runs, &whole),
        meta,
        rows: merged.rows,
        endpoint_rows: merged.endpoint_rows,
        cluster: None,
        per_second_log,
        total_log,
    })
}

/// Every worker index of the run, present or not, with what is wrong with it.
fn roll_call(runs: &[WorkerRun], count: u32) -> Vec<MergedWorker> {
    let earliest = runs.iter().map(|r| r.meta.started_at).min();
    (0..count)
        .map(|index| {
            let Some(run) = runs.iter().find(|r| r.index() == index) else {
                return MergedWorker {
                    index,
                    dir: None,
                    started_at: None,
                    end_reason: None,
                    requests: None,
                    start_offset_ms: None,
                    problem: Some("missing: no run directory for this worker".to_owned()),
                };
            };
            let offset_ms = earliest.map(|e| {
                (run.meta.started_at - e).num_microseconds().unwrap_or(0) as f64 / 1000.0
            });
            let problem = if run.meta.end_reason != "completed" {
                Some(format!("did not complete: {}", run.meta.end_reason))
            } else if offset_ms.is_some_and(|o| o > CLOCK_BOUND_MS) {
                Some(format!(
                    "its second 0 began {:.0} ms after the earliest worker's (bound {CLOCK_BOUND_MS:.0} ms): clocks apart or a late start",
                    offset_ms.unwrap_or_default()
                ))
            } else {
                None
            };
            MergedWorker {
                index,
                dir: Some(run.dir.display().to_string()),
                started_at: Some(run.meta.started_at),
                end_reason: Some(run.meta.end_reason.clone()),
                requests: Some(run.meta.totals.requests),
                start_offset_ms: offset_ms,
                problem,
            }
        })
        .collect()
}

/// The whole-run log of the merged run: each tag's histograms added.
fn whole_run_log(whole: &Histograms, started: SystemTime, seconds: u64) -> Vec<u8> {
    let mut tags: Vec<(String, &Histogram<u64>)> =
        whole.iter().map(|(t, h)| (t.clone(), h)).collect();
    tags.sort_by_key(|(t, _)| {
        (
            ["raw", "corrected", "all_raw"]
                .iter()
                .position(|k| k == t)
                .unwrap_or(3),
            t.clone(),
        )
    });
    hlog::whole_run(started, Duration::from_secs(seconds.max(1)), tags)
}

/// `run.json` of the merged run: the first worker's, with the whole run's times, totals and
/// end, and every worker's roll call.
fn merged_meta(
    runs: &[WorkerRun],
    workers: Vec<MergedWorker>,
    earliest: DateTime<Utc>,
    totals: Totals,
) -> RunMeta {
    let mut meta = runs[0].meta.clone();
    let ended = runs
        .iter()
        .map(|r| r.meta.ended_at)
        .max()
        .unwrap_or(meta.ended_at);
    let problems = timeline::worker_problems(&workers);
    meta.started_at = earliest;
    meta.ended_at = ended;
    meta.duration_s = runs
        .iter()
        .map(|r| {
            r.meta.duration_s
                + (r.meta.started_at - earliest)
                    .num_microseconds()
                    .unwrap_or(0) as f64
                    / 1e6
        })
        .fold(0.0, f64::max);
    meta.end_reason = if problems.is_empty() {
        "completed".to_owned()
    } else {
        format!("incomplete: {}", problems.join("; "))
    };
    meta.totals = totals;
    let mut hosts: Vec<&str> = runs
        .iter()
        .map(|r| r.meta.generator.hostname.as_str())
        .collect();
    hosts.dedup();
    meta.generator.hostname = format!("{} workers: {}", workers.len(), hosts.join(", "));
    meta.generator.cpus = runs.iter().map(|r| r.meta.generator.cpus).sum();
    meta.warnings = problems;
    meta.worker = None;
    meta.workers = workers;
    meta
}

/// The error catalogues added: one row per kind and message.
fn merge_errors(runs: &[WorkerRun]) -> Vec<ErrorRow> {
    let mut merged: BTreeMap<(String, String), ErrorRow> = BTreeMap::new();
    for e in runs.iter().flat_map(|r| &r.errors) {
        merged
            .entry((e.kind.clone(), e.message.clone()))
            .and_modify(|m| {
                m.count += e.count;
                m.first_s = m.first_s.min(e.first_s);
                m.last_s = m.last_s.max(e.last_s);
            })
            .or_insert_with(|| e.clone());
    }
    let mut rows: Vec<ErrorRow> = merged.into_values().collect();
    rows.sort_by(|a, b| b.count.cmp(&a.count).then(a.kind.cmp(&b.kind)));
    rows
}

/// What each endpoint served, over every worker: first and last response, counts; the
/// percentiles of its added whole-run histogram; the cold start is unknown (each worker
/// kept only its own first 100 responses).
fn merge_pods(runs: &[WorkerRun], whole: &Histograms) -> Vec<PodRow> {
    let mut merged: BTreeMap<String, PodRow> = BTreeMap::new();
    for p in runs.iter().flat_map(|r| &r.pods) {
        merged
            .entry(p.pod.clone())
            .and_modify(|m| {
                m.first_served_s = min_opt(m.first_served_s, p.first_served_s);
                m.last_served_s = max_opt(m.last_served_s, p.last_served_s);
                m.requests += p.requests;
                m.errors += p.errors;
            })
            .or_insert_with(|| p.clone());
    }
    merged
        .into_values()
        .map(|mut p| {
            let h = whole.get(&hlog::endpoint_tag(&p.pod));
            let q = |q| h.and_then(|h| quantile(h, q));
            p.p50_raw_us = q(0.50);
            p.p95_raw_us = q(0.95);
            p.p99_raw_us = q(0.99);
            p.cold_requests = 0;
            p.cold_p50_raw_us = None;
            p.cold_p95_raw_us = None;
            p.cold_p99_raw_us = None;
            p
        })
        .collect()
}

fn min_opt<T: PartialOrd + Copy>(a: Option<T>, b: Option<T>) -> Option<T> {
    match (a, b) {
        (Some(a), Some(b)) => Some(if b < a { b } else { a }),
        (a, b) => a.or(b),
    }
}

fn max_opt<T: PartialOrd + Copy>(a: Option<T>, b: Option<T>) -> Option<T> {
    match (a, b) {
        (Some(a), Some(b)) => Some(if b > a { b } else { a }),
        (a, b) => a.or(b),
    }
}
