//! Closing seconds: a second's bucket summarised into its timeline and endpoint rows, added
//! into the whole run's sums and encoded into the interval log; and the whole recording at
//! the end.

use super::{Closed, Gauges, Live, Recorder, Recording};
use crate::load::bucket::{Bucket, add_into, histogram, max, quantile};
use crate::load::hlog;
use crate::timeline::{EndpointRow, NO_ENDPOINT, PodRow, TimelineRow, Totals};
use hdrhistogram::Histogram;
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

impl Recorder {
    /// Closes every second before `upto` (exclusive) and returns their rows.
    /// `span_of_last` is the covered fraction of the last closed second (1.0 unless the run
    /// ended inside it); `gauges(s)` gives users and target rate for second `s`.
    pub fn close_until(
        &self,
        upto: u64,
        span_of_last: f64,
        gauges: impl Fn(u64) -> Gauges,
    ) -> Vec<TimelineRow> {
        // Lock order: closed, then live. The closed lock keeps concurrent closes in order;
        // the users' lock is held only long enough to take the buckets out.
        let mut state = self.lock_closed();
        let buckets: Vec<(u64, Bucket)> = {
            let mut live = self.lock();
            let from = live.next_to_close;
            live.next_to_close = live.next_to_close.max(upto);
            (from..upto)
                .map(|s| (s, live.open.remove(&s).unwrap_or_else(Bucket::new)))
                .collect()
        };
        let mut closed = Vec::new();
        for (s, bucket) in buckets {
            state.upto = s + 1;
            let span = if s + 1 == upto {
                span_of_last.clamp(0.001, 1.0)
            } else {
                1.0
            };
            let row = self.summarise(s, span, &bucket, gauges(s));
            // The whole run is the sum of its seconds.
            state.totals.merge(&bucket.counts);
            add_into(&mut state.total_raw, &bucket.raw);
            add_into(&mut state.total_corrected, &bucket.corrected);
            add_into(&mut state.total_all_raw, &bucket.all_raw);
            add_into(&mut state.total_send_late, &bucket.send_late);
            // The per-second log: the four kinds, then each endpoint (in name order).
            let mut encoded: Vec<(String, Vec<u8>)> = hlog::HISTOGRAM_TAGS
                .iter()
                .zip([
                    &bucket.raw,
                    &bucket.corrected,
                    &bucket.all_raw,
                    &bucket.send_late,
                ])
                .map(|(tag, h)| ((*tag).to_owned(), hlog::encode_compact(h)))
                .collect();
            let mut names: Vec<&Arc<str>> = bucket.endpoints.keys().collect();
            names.sort();
            for name in names {
                let ep = &bucket.endpoints[name];
                encoded.push((hlog::endpoint_tag(name), hlog::encode_compact(&ep.latency)));
                add_into(
                    state
                        .total_endpoints
                        .entry(name.clone())
                        .or_insert_with(histogram),
                    &ep.latency,
                );
                state.endpoint_rows.push(EndpointRow {
                    t_s: s,
                    endpoint: name.to_string(),
                    requests: ep.requests,
                    errors: ep.errors,
                    p50_raw_us: quantile(&ep.latency, 0.50),
                    p95_raw_us: quantile(&ep.latency, 0.95),
                    p99_raw_us: quantile(&ep.latency, 0.99),
                    max_raw_us: max(&ep.latency),
                });
            }
            state.closed_histograms.push((s, encoded));
            state.rows.push(row.clone());
            closed.push(row);
        }
        closed
    }

    fn summarise(&self, s: u64, span: f64, bucket: &Bucket, gauges: Gauges) -> TimelineRow {
        let c = &bucket.counts;
        let time = self.started_at() + chrono::Duration::seconds(s as i64);
        let endpoints = bucket
            .endpoints
            .keys()
            .filter(|k| k.as_ref() != NO_ENDPOINT)
            .count() as u64;
        let mut row = TimelineRow {
            t_s: s,
            time: time.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
            span_s: span,
            users: gauges.users,
            target_rps: gauges.target_rps,
            ok_rps: c.ok as f64 / span,
            completed_rps: c.requests as f64 / span,
            requests: c.requests,
            ok: c.ok,
            errors: c.errors(),
            dropped: c.dropped,
            p50_raw_us: quantile(&bucket.raw, 0.50),
            p90_raw_us: quantile(&bucket.raw, 0.90),
            p95_raw_us: quantile(&bucket.raw, 0.95),
            p99_raw_us: quantile(&bucket.raw, 0.99),
            max_raw_us: max(&bucket.raw),
            p50_corrected_us: quantile(&bucket.corrected, 0.50),
            p90_corrected_us: quantile(&bucket.corrected, 0.90),
            p95_corrected_us: quantile(&bucket.corrected, 0.95),
            p99_corrected_us: quantile(&bucket.corrected, 0.99),
            max_corrected_us: max(&bucket.corrected),
            p95_all_raw_us: quantile(&bucket.all_raw, 0.95),
            p99_all_raw_us: quantile(&bucket.all_raw, 0.99),
            endpoints: (endpoints > 0).then_some(endpoints),
            gen_cpu_pct: bucket.gen_cpu_pct,
            gen_lag_max_us: bucket.gen_lag_max,
            send_late_p50_us: quantile(&bucket.send_late, 0.50),
            send_late_p99_us: quantile(&bucket.send_late, 0.99),
            send_late_max_us: max(&bucket.send_late),
            // Cluster columns are filled from the cluster watch when the run ends.
            ..TimelineRow::default()
        };
        c.fill_errors(&mut row);
        row
    }

    /// The totals of the seconds closed so far, as `run.json` will hold them once every
    /// second is (the live page's running figures).
    pub fn totals(&self) -> Totals {
        let state = self.lock_closed();
        let live = self.lock();
        totals_of(&state, &live)
    }

    /// Closes what is left and returns the whole recording.
    pub fn finish(&self, end: Instant, gauges: impl Fn(u64) -> Gauges) -> Recording {
        let elapsed = end.saturating_duration_since(self.t0()).as_secs_f64();
        let last_open = self.lock().open.keys().next_back().copied();
        let mut upto = elapsed.ceil() as u64;
        if let Some(last) = last_open {
            upto = upto.max(last + 1);
        }
        let span_of_last = if upto as f64 > elapsed {
            1.0 - (upto as f64 - elapsed)
        } else {
            1.0
        };
        self.close_until(upto.max(1), span_of_last, gauges);
        let state = self.lock_closed();
        let live = self.lock();
        let totals = totals_of(&state, &live);
        if live.late_samples > 0 {
            tracing::debug!(
                late = live.late_samples,
                "samples recorded after their second closed"
            );
        }
        Recording {
            rows: state.rows.clone(),
            endpoint_rows: state.endpoint_rows.clone(),
            totals,
            per_second_hlog: hlog::per_second(self.started_wall(), &state.closed_histograms),
            total_hlog: self.total_log(&state),
            errors: self.errors.rows(),
            served: self.served_rows(&live, &state),
        }
    }

    /// The load side's columns of `pods.csv`, one row per named endpoint; its counts are the
    /// sum of its seconds in `endpoints.csv`.
    fn served_rows(&self, live: &Live, state: &Closed) -> Vec<PodRow> {
        let mut counts: BTreeMap<&str, (u64, u64)> = BTreeMap::new();
        for e in &state.endpoint_rows {
            let c = counts.entry(e.endpoint.as_str()).or_default();
            c.0 += e.requests;
            c.1 += e.errors;
        }
        let t0 = self.t0();
        let at = |i: Instant| (i.saturating_duration_since(t0).as_millis() as f64 / 1000.0).into();
        live.served
            .iter()
            .map(|(name, s)| {
                let total = state.total_endpoints.get(name);
                let q = |h: Option<&Histogram<u64>>, p| h.and_then(|h| quantile(h, p));
                let (requests, errors) = counts.get(name.as_ref()).copied().unwrap_or_default();
                PodRow {
                    first_served_s: at(s.first),
                    last_served_s: at(s.last),
                    requests,
                    errors,
                    p50_raw_us: q(total, 0.50),
                    p95_raw_us: q(total, 0.95),
                    p99_raw_us: q(total, 0.99),
                    cold_requests: s.cold.len(),
                    cold_p50_raw_us: quantile(&s.cold, 0.50),
                    cold_p95_raw_us: quantile(&s.cold, 0.95),
                    cold_p99_raw_us: quantile(&s.cold, 0.99),
                    ..PodRow::named(name.as_ref())
                }
            })
            .collect()
    }

    fn total_log(&self, state: &Closed) -> Vec<u8> {
        let span = Duration::from_secs(state.upto.max(1));
        let mut histograms = vec![
            ("raw".to_owned(), &state.total_raw),
            ("corrected".to_owned(), &state.total_corrected),
            ("all_raw".to_owned(), &state.total_all_raw),
        ];
        for (name, h) in &state.total_endpoints {
            histograms.push((hlog::endpoint_tag(name), h));
        }
        hlog::whole_run(self.started_wall(), span, histograms)
    }
}

/// The whole run's totals over the closed seconds (the final ones once every second is).
fn totals_of(state: &Closed, live: &Live) -> Totals {
    let t = &state.totals;
    let mut totals = Totals {
        requests: t.requests,
        ok: t.ok,
        errors: t.errors(),
        dropped: t.dropped,
        cancelled: live.cancelled,
        endpoints: Some(
            state
                .total_endpoints
                .keys()
                .filter(|k| k.as_ref() != NO_ENDPOINT)
                .count() as u64,
        )
        .filter(|&n| n > 0),
        p50_raw_us: quantile(&state.total_raw, 0.50),
        p95_raw_us: quantile(&state.total_raw, 0.95),
        p99_raw_us: quantile(&state.total_raw, 0.99),
        max_raw_us: max(&state.total_raw),
        p50_corrected_us: quantile(&state.total_corrected, 0.50),
        p95_corrected_us: quantile(&state.total_corrected, 0.95),
        p99_corrected_us: quantile(&state.total_corrected, 0.99),
        max_corrected_us: max(&state.total_corrected),
        p95_all_raw_us: quantile(&state.total_all_raw, 0.95),
        p99_all_raw_us: quantile(&state.total_all_raw, 0.99),
        send_late_p50_us: quantile(&state.total_send_late, 0.50),
        send_late_p99_us: quantile(&state.total_send_late, 0.99),
        send_late_max_us: max(&state.total_send_late),
        ..Totals::default()
    };
    t.fill_errors(&mut totals);
    totals
}
