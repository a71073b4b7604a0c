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

use crate::load::hlog;
use crate::load::{histogram, max, quantile};
use crate::timeline::{
    self, ClusterChangeRow, EndpointRow, ErrorColumns, ErrorKind, ErrorRow, EventRow, MergedWorker,
    NO_ENDPOINT, PER_SECOND_HLOG, PodRow, RunDir, RunDirError, RunMeta, TOTAL_HLOG, TimelineRow,
    Totals,
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
        Ok(dir.path().to_path_buf())
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

/// The merged histograms of one second: tag → histogram.
type Histograms = BTreeMap<String, Histogram<u64>>;

/// The merged seconds.
struct Seconds {
    rows: Vec<TimelineRow>,
    endpoint_rows: Vec<EndpointRow>,
    /// The send lateness of every second, added (whole-run logs do not hold it).
    send_late: Histogram<u64>,
}

fn add(into: &mut Histograms, tag: &str, h: &Histogram<u64>) {
    add_to(into.entry(tag.to_owned()).or_insert_with(histogram), h);
}

fn add_to(total: &mut Histogram<u64>, h: &Histogram<u64>) {
    if total.add(h).is_err() {
        // Out of range only if a value exceeds the auto-resizing limit: count it saturated.
        for v in h.iter_recorded() {
            total.saturating_record_n(v.value_iterated_to(), v.count_at_value());
        }
    }
}

/// The seconds of the run split over the machine's cores, each part merged on its own thread
/// with its own piece of the per-second log; the pieces are joined in order.
fn merge_in_parallel(
    runs: &[WorkerRun],
    earliest: DateTime<Utc>,
    started: SystemTime,
) -> Result<(Seconds, Vec<u8>), MergeError> {
    let seconds: BTreeSet<u64> = runs
        .iter()
        .flat_map(|r| r.rows.iter().map(|row| row.t_s))
        .collect();
    let seconds: Vec<u64> = seconds.into_iter().collect();
    let threads = std::thread::available_parallelism().map_or(1, usize::from);
    let chunk = seconds.len().div_ceil(threads).max(1);
    let parts: Vec<Result<(Seconds, Vec<u8>), MergeError>> = std::thread::scope(|scope| {
        let handles: Vec<_> = seconds
            .chunks(chunk)
            .map(|part| {
                let range = part[0]..=part[part.len() - 1];
                scope.spawn(move || {
                    let mut merged = None;
                    let log = hlog::per_second_with(started, |put| {
                        merged = Some(merge_seconds(runs, earliest, range, put)?);
                        Ok::<(), MergeError>(())
                    })?;
                    Ok((merged.expect("merge_seconds ran"), log))
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().expect("a merge thread panicked"))
            .collect()
    });
    let mut all = Seconds {
        rows: Vec::new(),
        endpoint_rows: Vec::new(),
        send_late: histogram(),
    };
    let mut log: Option<Vec<u8>> = None;
    for part in parts {
        let (seconds, piece) = part?;
        all.rows.extend(seconds.rows);
        all.endpoint_rows.extend(seconds.endpoint_rows);
        add_to(&mut all.send_late, &seconds.send_late);
        match &mut log {
            None => log = Some(piece),
            Some(log) => hlog::append_entries(log, &piece),
        }
    }
    let log = match log {
        Some(log) => log,
        None => hlog::per_second_with(started, |_| Ok::<(), MergeError>(()))?,
    };
    Ok((all, log))
}

/// Timeline rows and endpoint rows of the merged run's seconds in `range`, one second at a
/// time: a second's histograms are decoded, added, summarised and handed to `put` (the
/// per-second log) before the next, so memory stays flat in the run's length.
fn merge_seconds(
    runs: &[WorkerRun],
    earliest: DateTime<Utc>,
    range: std::ops::RangeInclusive<u64>,
    put: &mut dyn FnMut(u64, &str, &Histogram<u64>),
) -> Result<Seconds, MergeError> {
    let mut adder = hlog::Adder::default();
    let mut per_endpoint: BTreeMap<(u64, String), (u64, u64)> = BTreeMap::new();
    for run in runs {
        for e in &run.endpoint_rows {
            let c = per_endpoint.entry((e.t_s, e.endpoint.clone())).or_default();
            c.0 += e.requests;
            c.1 += e.errors;
        }
    }
    let mut out = Seconds {
        rows: Vec::new(),
        endpoint_rows: Vec::new(),
        send_late: histogram(),
    };
    let mut by_second: BTreeMap<u64, Vec<&TimelineRow>> = BTreeMap::new();
    for run in runs {
        for row in run.rows.iter().filter(|r| range.contains(&r.t_s)) {
            by_second.entry(row.t_s).or_default().push(row);
        }
    }
    for (&s, parts) in &by_second {
        let mut h = Histograms::new();
        for run in runs {
            run.add_second(s, &mut adder, &mut h)?;
        }
        let get = |tag: &str| h.get(tag);
        let sum = |f: fn(&TimelineRow) -> u64| parts.iter().map(|r| f(r)).sum::<u64>();
        let span = parts.iter().map(|r| r.span_s).fold(0.0, f64::max);
        let (requests, ok) = (sum(|r| r.requests), sum(|r| r.ok));
        let targets: Vec<f64> = parts.iter().filter_map(|r| r.target_rps).collect();
        let endpoints = h
            .keys()
            .filter_map(|t| t.strip_prefix("endpoint="))
            .filter(|n| *n != NO_ENDPOINT)
            .count() as u64;
        let mut row = TimelineRow {
            t_s: s,
            time: (earliest + chrono::Duration::seconds(s as i64))
                .to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
            span_s: span,
            users: sum(|r| r.users),
            target_rps: (!targets.is_empty()).then(|| targets.iter().sum()),
            ok_rps: ok as f64 / span.max(0.001),
            completed_rps: requests as f64 / span.max(0.001),
            requests,
            ok,
            errors: sum(|r| r.errors),
            dropped: sum(|r| r.dropped),
            endpoints: (endpoints > 0).then_some(endpoints),
            // The worst worker's health: one saturated generator taints the merged second.
            gen_cpu_pct: parts.iter().filter_map(|r| r.gen_cpu_pct).reduce(f64::max),
            gen_lag_max_us: parts.iter().filter_map(|r| r.gen_lag_max_us).max(),
            ..TimelineRow::default()
        };
        sum_errors(&mut row, parts.iter().copied());
        let q = |tag: &str, p: f64| get(tag).and_then(|h| quantile(h, p));
        let m = |tag: &str| get(tag).and_then(max);
        row.p50_raw_us = q("raw", 0.50);
        row.p90_raw_us = q("raw", 0.90);
        row.p95_raw_us = q("raw", 0.95);
        row.p99_raw_us = q("raw", 0.99);
        row.max_raw_us = m("raw");
        row.p50_corrected_us = q("corrected", 0.50);
        row.p90_corrected_us = q("corrected", 0.90);
        row.p95_corrected_us = q("corrected", 0.95);
        row.p99_corrected_us = q("corrected", 0.99);
        row.max_corrected_us = m("corrected");
        row.p95_all_raw_us = q("all_raw", 0.95);
        row.p99_all_raw_us = q("all_raw", 0.99);
        row.send_late_p50_us = q("send_late", 0.50);
        row.send_late_p99_us = q("send_late", 0.99);
        row.send_late_max_us = m("send_late");
        out.rows.push(row);
        for ((_, endpoint), (requests, errors)) in
            per_endpoint.range((s, String::new())..(s + 1, String::new()))
        {
            let e = h.get(&hlog::endpoint_tag(endpoint));
            let q = |p| e.and_then(|e| quantile(e, p));
            out.endpoint_rows.push(EndpointRow {
                t_s: s,
                endpoint: endpoint.clone(),
                requests: *requests,
                errors: *errors,
                p50_raw_us: q(0.50),
                p95_raw_us: q(0.95),
                p99_raw_us: q(0.99),
                max_raw_us: e.and_then(max),
            });
        }
        if let Some(late) = h.get("send_late") {
            add_to(&mut out.send_late, late);
        }
        // The log's tag order: the four kinds, then endpoints by name.
        let mut tags: Vec<(String, Histogram<u64>)> = h.into_iter().collect();
        tags.sort_by_key(|(t, _)| {
            (
                hlog::HISTOGRAM_TAGS
                    .iter()
                    .position(|k| k == t)
                    .unwrap_or(hlog::HISTOGRAM_TAGS.len()),
                t.clone(),
            )
        });
        for (tag, h) in &tags {
            put(s, tag, h);
        }
    }
    Ok(out)
}

/// The merged run's totals: counts summed; percentiles of the added whole-run histograms.
fn merge_totals(runs: &[WorkerRun], whole: &Histograms, send_late: &Histogram<u64>) -> Totals {
    let sum = |f: fn(&Totals) -> u64| runs.iter().map(|r| f(&r.meta.totals)).sum::<u64>();
    let q = |tag: &str, p: f64| whole.get(tag).and_then(|h| quantile(h, p));
    let m = |tag: &str| whole.get(tag).and_then(max);
    let endpoints = whole
        .keys()
        .filter_map(|t| t.strip_prefix("endpoint="))
        .filter(|n| *n != NO_ENDPOINT)
        .count() as u64;
    let mut totals = Totals {
        requests: sum(|t| t.requests),
        ok: sum(|t| t.ok),
        errors: sum(|t| t.errors),
        dropped: sum(|t| t.dropped),
        cancelled: sum(|t| t.cancelled),
        endpoints: (endpoints > 0).then_some(endpoints),
        p50_raw_us: q("raw", 0.50),
        p95_raw_us: q("raw", 0.95),
        p99_raw_us: q("raw", 0.99),
        max_raw_us: m("raw"),
        p50_corrected_us: q("corrected", 0.50),
        p95_corrected_us: q("corrected", 0.95),
        p99_corrected_us: q("corrected", 0.99),
        max_corrected_us: m("corrected"),
        p95_all_raw_us: q("all_raw", 0.95),
        p99_all_raw_us: q("all_raw", 0.99),
        send_late_p50_us: quantile(send_late, 0.50),
        send_late_p99_us: quantile(send_late, 0.99),
        send_late_max_us: max(send_late),
        ..Totals::default()
    };
    sum_errors(&mut totals, runs.iter().map(|r| &r.meta.totals));
    totals
}

/// Each `err_<kind>` column of `into`, the sum of the parts'.
fn sum_errors<'a, T: ErrorColumns + 'a>(
    into: &mut impl ErrorColumns,
    parts: impl Iterator<Item = &'a T> + Clone,
) {
    for kind in ErrorKind::ALL {
        *into.errors_of_mut(kind) = parts.clone().map(|p| p.errors_of(kind)).sum();
    }
}

/// Every worker's whole-run histograms, added tag by tag.
fn whole_run(runs: &[WorkerRun]) -> Histograms {
    let mut whole = Histograms::new();
    for run in runs {
        for (tag, h) in &run.total {
            add(&mut whole, tag, h);
        }
    }
    whole
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
