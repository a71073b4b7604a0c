//! The headline figures of a run, formatted once from `summary.json`'s KPIs and totals and
//! shown alike by the terminal, `dashboard.png` and `report.html`: one name, one window and
//! one definition per number. Unknown is `–`, never 0.

use super::Summary;
use crate::timeline::WorkloadSource;
use crate::verdict::State;

pub use crate::spec::values::{number, thousands};
pub use crate::timeline::UNKNOWN;

/// One headline figure: what it is, its value, and the window or definition it rests on.
#[derive(Debug, Clone, PartialEq)]
pub struct Figure {
    pub label: String,
    pub value: String,
    pub hint: String,
}

fn figure(label: impl Into<String>, value: String, hint: impl Into<String>) -> Figure {
    Figure {
        label: label.into(),
        value,
        hint: hint.into(),
    }
}

fn or_unknown<T>(v: Option<T>, f: impl Fn(T) -> String) -> String {
    v.map_or_else(|| UNKNOWN.to_owned(), f)
}

/// A time as people read it: `30 Nov 2026, 15:48:12 UTC`.
pub fn when(t: chrono::DateTime<chrono::Utc>) -> String {
    t.format("%-d %b %Y, %H:%M:%S UTC").to_string()
}

/// A run's length as people read it: `45 s`, `5 min 30 s`, `1 h 2 min`.
pub fn duration(seconds: f64) -> String {
    let s = seconds.max(0.0).round() as u64;
    match (s / 3600, (s % 3600) / 60, s % 60) {
        (0, 0, sec) => format!("{sec} s"),
        (0, min, 0) => format!("{min} min"),
        (0, min, sec) => format!("{min} min {sec} s"),
        (h, min, _) => format!("{h} h {min} min"),
    }
}

/// What the replicas were, in words: `Deployment api in prod`, or that they were local.
pub fn workload(s: &Summary) -> String {
    let record = s.cluster.as_ref().map(|c| &c.record);
    WorkloadSource::describe(
        record.map(|r| r.source),
        record.map_or("", |r| r.deployment.as_str()),
        record.map(|r| r.namespace.as_str()),
    )
}

/// The line under every title (terminal, dashboard, slides, replay, report.html): target,
/// replicas, when it started, how long the load ran.
pub fn strip(s: &Summary) -> String {
    format!(
        "{} · {} · {} · {} of load",
        s.target,
        workload(s),
        when(s.started_at),
        duration(s.duration_s)
    )
}

/// Peak sustained successful throughput, e.g. `1,200 ok rps`.
pub fn peak(s: &Summary) -> Figure {
    figure(
        "Peak sustained",
        or_unknown(s.kpis.peak_sustained_ok_rps, |v| {
            format!("{} ok rps", number(v, 0))
        }),
        format!(
            "best {} s window of successful requests/s",
            s.kpis.sustain_window_s
        ),
    )
}

fn latency(s: &Summary, q: &str, v: Option<f64>) -> Figure {
    figure(
        format!("{q} {}", s.kpis.latency_kind.label()),
        or_unknown(v, |ms| format!("{} ms", number(ms, 2))),
        "whole run, successful requests",
    )
}

/// Whole-run p95 of successful requests, labelled raw or corrected.
pub fn p95(s: &Summary) -> Figure {
    latency(s, "p95", s.kpis.p95_ms)
}

/// Whole-run p99 of successful requests, labelled raw or corrected.
pub fn p99(s: &Summary) -> Figure {
    latency(s, "p99", s.kpis.p99_ms)
}

/// Requests with their outcome.
pub fn requests(s: &Summary) -> Figure {
    let t = &s.totals;
    figure(
        "Requests",
        thousands(t.requests),
        format!(
            "{} ok, {} failed, {} dropped",
            thousands(t.ok),
            thousands(t.errors),
            thousands(t.dropped)
        ),
    )
}

/// Ready replicas (cluster) or serving endpoints.
pub fn replicas(s: &Summary) -> Figure {
    let k = &s.kpis;
    if k.replica_source == "local" || k.replica_source == "cluster" {
        let (label, hint) = if k.replica_source == "local" {
            (
                "Ready local replicas",
                "at start → most (processes on this machine: simulated, not a cluster)",
            )
        } else {
            (
                "Ready replicas",
                "at start → most (Deployment readyReplicas)",
            )
        };
        figure(
            label,
            format!(
                "{} → {}",
                or_unknown(k.ready_replicas_at_start, |v| v.to_string()),
                or_unknown(k.most_ready_replicas, |v| v.to_string())
            ),
            hint,
        )
    } else {
        figure(
            "Most endpoints",
            or_unknown(k.most_endpoints_at_once, |v| v.to_string()),
            if k.most_endpoints_at_once.is_some() {
                "serving in one second (X-Served-By)"
            } else {
                "unknown: no response named its endpoint"
            },
        )
    }
}

/// Failed requests and dropped slots over everything sent or dropped.
pub fn error_rate(s: &Summary) -> Figure {
    figure(
        "Error rate",
        or_unknown(s.kpis.error_rate, |r| format!("{:.3}%", r * 100.0)),
        "(failed + dropped) / (completed + dropped)",
    )
}

/// The generator's own health.
pub fn generator(s: &Summary) -> Figure {
    let g = &s.kpis.generator;
    figure(
        "Generator",
        if g.saturated { "saturated" } else { "healthy" }.to_owned(),
        format!(
            "worker CPU max {}, timer lag max {}{}",
            or_unknown(g.max_cpu_pct, |v| format!("{v:.0}%")),
            or_unknown(g.worst_lag_ms, |v| format!("{v:.1} ms")),
            // Open model only: the instrument's own share of corrected latency.
            g.worst_send_late_p99_ms
                .map(|v| format!(", send lateness p99 max {v:.2} ms"))
                .unwrap_or_default()
        ),
    )
}

/// Every headline figure, in display order.
pub fn figures(s: &Summary) -> Vec<Figure> {
    let k = &s.kpis;
    let per = match k.rps_per_ready_replica {
        Some(v) => figure(
            "ok rps per ready replica",
            number(v, 0),
            "mean over seconds with traffic",
        ),
        None => figure(
            "ok rps per endpoint",
            or_unknown(k.rps_per_endpoint, |v| number(v, 0)),
            "mean over seconds with traffic",
        ),
    };
    vec![
        peak(s),
        requests(s),
        p95(s),
        p99(s),
        replicas(s),
        figure(
            "First scale-out",
            or_unknown(k.time_to_first_scale_out_s, |v| format!("{v} s")),
            "after load reached the rps expectation",
        ),
        per,
        error_rate(s),
        generator(s),
    ]
}

/// One line of the figures that matter most, for the terminal and the dashboard:
/// `peak 1,200 ok rps (best 15 s) · p95 corrected 1.94 ms · most endpoints 1 · 0 failed + 0 dropped of 30,000`.
pub fn line(s: &Summary) -> String {
    let (peak, p95, replicas) = (peak(s), p95(s), replicas(s));
    format!(
        "peak {} (best {} s) · {} {} · {} {} · {} failed + {} dropped of {}",
        peak.value,
        s.kpis.sustain_window_s,
        p95.label,
        p95.value,
        replicas.label.to_lowercase(),
        replicas.value,
        thousands(s.totals.errors),
        thousands(s.totals.dropped),
        thousands(s.totals.requests + s.totals.dropped),
    )
}

/// Most catalogue lines the terminal shows at the end of a run (the rest: `errors.csv`).
pub const ERROR_LINES: usize = 5;

/// A gap between two stages of a scale-out chain: `+2.1 s`, or `unknown`.
pub fn gap(g: Option<f64>) -> String {
    g.map_or("unknown".to_owned(), |g| format!("+{g:.1} s"))
}

/// Each scale-out's chain and the scale-ins' failures, a line each, for the terminal:
/// `scale-out 1 → 3 at 3.0 s: created +0.0 s, Ready +2.1 s, in the Service +0.0 s, first
/// served +0.1 s (2 pods)`. Unknown stages read `unknown`.
pub fn scaling_lines(s: &Summary) -> Vec<String> {
    let local = if s.is_local() { "LOCAL " } else { "" };
    let mut lines: Vec<String> = s
        .scaling
        .scale_outs
        .iter()
        .map(|o| {
            let g = &o.gaps;
            format!(
                "{local}scale-out {} → {} at {:.1} s: created {}, Ready {}, in the Service {}, first served {} ({} new pod{})",
                o.from,
                o.to,
                o.decision_s,
                gap(g.decision_to_created_s),
                gap(g.created_to_ready_s),
                gap(g.ready_to_in_service_s),
                gap(g.in_service_to_first_served_s),
                o.pods.len(),
                if o.pods.len() == 1 { "" } else { "s" }
            )
        })
        .collect();
    if let Some(errors) = s.scaling.scale_in_errors {
        let pods = s.scaling.termination_windows.len();
        lines.push(format!(
            "{local}pods removed during the load: {pods}; {} failed request{} in their termination windows",
            thousands(errors),
            if errors == 1 { "" } else { "s" }
        ));
    }
    lines
}

/// The error catalogue in a few lines for the terminal, most frequent message first:
/// `1,474 connect errors: invalid peer certificate: UnknownIssuer — the server's …`.
pub fn error_lines(s: &Summary) -> Vec<String> {
    let mut rows: Vec<_> = s.errors.iter().collect();
    rows.sort_by_key(|e| std::cmp::Reverse(e.row.count));
    let mut lines: Vec<String> = rows
        .iter()
        .take(ERROR_LINES)
        .map(|e| {
            format!(
                "{} {} error{}: {}{}",
                thousands(e.row.count),
                e.row.kind,
                if e.row.count == 1 { "" } else { "s" },
                e.row.message,
                e.hint
                    .as_deref()
                    .map(|h| format!(" — {h}"))
                    .unwrap_or_default()
            )
        })
        .collect();
    if rows.len() > ERROR_LINES {
        lines.push(format!(
            "… {} more distinct messages in errors.csv",
            rows.len() - ERROR_LINES
        ));
    }
    if s.errors.is_empty() && s.totals.errors > 0 {
        lines.push(format!(
            "{} failed requests; this run directory has no error catalogue (errors.csv)",
            thousands(s.totals.errors)
        ));
    }
    lines
}

/// CSS class / badge colour name of a verdict state.
pub fn state_class(state: State) -> &'static str {
    match state {
        State::Pass => "pass",
        State::Fail => "fail",
        State::Inconclusive => "inconclusive",
        State::None => "none",
    }
}
