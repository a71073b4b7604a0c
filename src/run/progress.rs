//! Live progress on stderr: one line per closed second.

use crate::spec::values::{number, thousands};
use crate::timeline::{ClusterSample, TimelineRow, UNKNOWN, WorkloadSource};
use std::time::Duration;

/// `[  12s/30s] users 40 | ok rps 1,187 (target 1,200, dropped 0) | p95 3.21 ms corrected | errors 0 | endpoints 1`
///
/// Per second: successful requests/s, and p95 of successful requests — corrected in the open
/// model, raw in the closed model (which has no due time). Unknown is `–`.
pub fn line(row: &TimelineRow, planned: Option<Duration>) -> String {
    let elapsed = row.t_s + 1;
    let clock = match planned {
        Some(p) => format!("[{elapsed:>4}s/{}s]", p.as_secs_f64().ceil() as u64),
        None => format!("[{elapsed:>4}s]"),
    };
    let rate = match row.target_rps {
        Some(target) => format!(
            "ok rps {:>6} (target {}, dropped {})",
            number(row.ok_rps, 0),
            number(target, 0),
            thousands(row.dropped)
        ),
        None => format!("ok rps {:>6}", number(row.ok_rps, 0)),
    };
    let (p95, kind) = match row.target_rps {
        Some(_) => (row.p95_corrected_us, "corrected"),
        None => (row.p95_raw_us, "raw"),
    };
    let p95 = p95.map_or_else(
        || UNKNOWN.to_owned(),
        |us| format!("{} ms", number(us as f64 / 1000.0, 2)),
    );
    let endpoints = row
        .endpoints
        .map_or_else(|| UNKNOWN.to_owned(), |n| n.to_string());
    format!(
        "{clock} users {:>4} | {rate} | p95 {p95} {kind} | errors {} | endpoints {endpoints}",
        row.users,
        thousands(row.errors)
    )
}

/// The cluster part of a progress line: ` | ready 2/3, hpa 3 (cpu 85%)`; `–` is unknown.
pub fn cluster(s: &ClusterSample) -> String {
    replicas(s, WorkloadSource::Cluster)
}

/// The replica state of `source`: local replicas say so on every line.
pub fn replicas(s: &ClusterSample, source: WorkloadSource) -> String {
    let n = |v: Option<u64>| v.map_or_else(|| UNKNOWN.to_owned(), |v| v.to_string());
    let local = source == WorkloadSource::Local;
    let mut text = format!(
        " | {}ready {}/{}",
        if local { "LOCAL " } else { "" },
        n(s.deploy_ready),
        n(s.deploy_spec_replicas)
    );
    if s.hpa_desired.is_some() {
        text.push_str(&format!(
            ", {} {}",
            if local { "autoscaler" } else { "hpa" },
            n(s.hpa_desired)
        ));
        if let Some(cpu) = s.hpa_cpu_pct {
            text.push_str(&format!(" (cpu {cpu}%)"));
        }
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_shows_rates_latency_and_errors_in_honest_units() {
        let row = TimelineRow {
            t_s: 11,
            users: 40,
            target_rps: Some(1200.0),
            ok_rps: 1187.0,
            dropped: 2,
            p95_corrected_us: Some(3210),
            p95_raw_us: Some(1000),
            errors: 1,
            endpoints: Some(2),
            ..Default::default()
        };
        let text = line(&row, Some(Duration::from_secs(30)));
        assert_eq!(
            text,
            "[  12s/30s] users   40 | ok rps  1,187 (target 1,200, dropped 2) | p95 3.21 ms corrected | errors 1 | endpoints 2"
        );
        let idle = line(&TimelineRow::default(), None);
        assert_eq!(
            idle,
            "[   1s] users    0 | ok rps      0 | p95 – raw | errors 0 | endpoints –"
        );
        let scaling = ClusterSample {
            deploy_ready: Some(2),
            deploy_spec_replicas: Some(3),
            hpa_desired: Some(3),
            hpa_cpu_pct: Some(85),
            ..Default::default()
        };
        assert_eq!(cluster(&scaling), " | ready 2/3, hpa 3 (cpu 85%)");
        assert_eq!(cluster(&ClusterSample::default()), " | ready –/–");
    }
}
