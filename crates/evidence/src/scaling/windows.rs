//! Termination windows: from a pod's deletion starting to its being gone, plus a margin —
//! the seconds in which removing it could hurt users — and the failures and latency in them.

use super::{Inputs, WINDOW_LEAD_S, WINDOW_MARGIN_S};
use crate::timeline::{TimelineRow, round_ms};
use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;

/// One pod's termination window and what happened in it. Counts are over the whole seconds
/// the window touches (the timeline's resolution).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct TerminationWindow {
    pub pod: String,
    /// [`WINDOW_LEAD_S`] before its termination was seen (`terminating_s`).
    pub start_s: f64,
    /// Gone (the end of the load if it outlived it) plus [`WINDOW_MARGIN_S`].
    pub end_s: f64,
    /// Whether it was seen gone before the end of the watch.
    pub gone: bool,
    /// Requests completed and failed (all endpoints, and failures that name none: a reset
    /// connection names no pod) in the seconds the window touches.
    pub requests: u64,
    pub errors: u64,
    /// Failures that named this pod (its own 5xx).
    pub pod_errors: u64,
    /// Worst per-second p95 in the window, µs, of the verdict's latency kind.
    pub worst_p95_us: Option<u64>,
}

/// The seconds `[start, end)` touches.
fn seconds(start: f64, end: f64) -> impl Iterator<Item = u64> {
    let first = start.max(0.0).floor() as u64;
    let last = end.max(0.0).ceil() as u64;
    first..last.max(first + 1)
}

pub(super) fn windows(inputs: &Inputs<'_>, load_end: f64) -> Vec<TerminationWindow> {
    let t = inputs.timeline;
    let rows = t.rows();
    inputs
        .pods
        .iter()
        .filter_map(|p| {
            let seen = p.terminating_s.filter(|&s| s >= 0.0 && s < load_end)?;
            let start = round_ms((seen - WINDOW_LEAD_S).max(0.0));
            let end =
                round_ms(p.gone_s.unwrap_or(load_end).min(load_end).max(seen) + WINDOW_MARGIN_S);
            let touched: BTreeSet<u64> = seconds(start, end).collect();
            let in_window = rows.iter().filter(|r| touched.contains(&r.t_s));
            let (mut requests, mut errors, mut worst) = (0, 0, None::<u64>);
            for r in in_window {
                requests += r.requests;
                errors += r.errors;
                if let Some(p95) = t.p95_us(r) {
                    worst = Some(worst.map_or(p95, |w| w.max(p95)));
                }
            }
            let pod_errors = inputs
                .endpoints
                .iter()
                .filter(|e| e.endpoint == p.pod && touched.contains(&e.t_s))
                .map(|e| e.errors)
                .sum();
            Some(TerminationWindow {
                pod: p.pod.clone(),
                start_s: start,
                end_s: end,
                gone: p.gone_s.is_some(),
                requests,
                errors,
                pod_errors,
                worst_p95_us: worst,
            })
        })
        .collect()
}

/// Failures in the seconds any window touches, each second once; null without windows.
pub(super) fn errors_in(windows: &[TerminationWindow], rows: &[TimelineRow]) -> Option<u64> {
    if windows.is_empty() {
        return None;
    }
    let touched: BTreeSet<u64> = windows
        .iter()
        .flat_map(|w| seconds(w.start_s, w.end_s))
        .collect();
    Some(
        rows.iter()
            .filter(|r| touched.contains(&r.t_s))
            .map(|r| r.errors)
            .sum(),
    )
}
