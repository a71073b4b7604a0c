//! The sums of a merge: each second's rows and histograms added across workers (in
//! parallel), the whole-run totals, and HdrHistograms added bucket by bucket.

use super::{MergeError, WorkerRun};
use crate::load::hlog;
use crate::load::{histogram, max, quantile};
use crate::timeline::{EndpointRow, ErrorColumns, ErrorKind, NO_ENDPOINT, TimelineRow, Totals};
use chrono::{DateTime, Utc};
use hdrhistogram::Histogram;
use std::collections::{BTreeMap, BTreeSet};
use std::time::SystemTime;

/// The merged histograms of one second: tag → histogram.
pub(super) type Histograms = BTreeMap<String, Histogram<u64>>;

/// The merged seconds.
pub(super) struct Seconds {
    pub(super) rows: Vec<TimelineRow>,
    pub(super) endpoint_rows: Vec<EndpointRow>,
    /// The send lateness of every second, added (whole-run logs do not hold it).
    pub(super) send_late: Histogram<u64>,
}

pub(super) fn add(into: &mut Histograms, tag: &str, h: &Histogram<u64>) {
    add_to(into.entry(tag.to_owned()).or_insert_with(histogram), h);
}

pub(super) fn add_to(total: &mut Histogram<u64>, h: &Histogram<u64>) {
    if total.add(h).is_err() {
        // Out of range only if a value exceeds the auto-resizing limit: count it saturated.
        for v in h.iter_recorded() {
            total.saturating_record_n(v.value_iterated_to(), v.count_at_value());
        }
    }
}

/// The seconds of the run split over the machine's cores, each part merged on its own thread
/// with its own piece of the per-second log; the pieces are joined in order.
pub(super) fn merge_in_parallel(
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
pub(super) fn merge_seconds(
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
        let endpoints = served_endpoints(&h);
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
pub(super) fn merge_totals(
    runs: &[WorkerRun],
    whole: &Histograms,
    send_late: &Histogram<u64>,
) -> Totals {
    let sum = |f: fn(&Totals) -> u64| runs.iter().map(|r| f(&r.meta.totals)).sum::<u64>();
    let q = |tag: &str, p: f64| whole.get(tag).and_then(|h| quantile(h, p));
    let m = |tag: &str| whole.get(tag).and_then(max);
    let endpoints = served_endpoints(whole);
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
pub(super) fn sum_errors<'a, T: ErrorColumns + 'a>(
    into: &mut impl ErrorColumns,
    parts: impl Iterator<Item = &'a T> + Clone,
) {
    for kind in ErrorKind::ALL {
        *into.errors_of_mut(kind) = parts.clone().map(|p| p.errors_of(kind)).sum();
    }
}

/// How many named endpoints have a histogram among `h`'s tags (`endpoint=NAME`).
fn served_endpoints(h: &Histograms) -> u64 {
    h.keys()
        .filter_map(|t| t.strip_prefix("endpoint="))
        .filter(|n| *n != NO_ENDPOINT)
        .count() as u64
}

/// Every worker's whole-run histograms, added tag by tag.
pub(super) fn whole_run(runs: &[WorkerRun]) -> Histograms {
    let mut whole = Histograms::new();
    for run in runs {
        for (tag, h) in &run.total {
            add(&mut whole, tag, h);
        }
    }
    whole
}
