//! The data behind each chart, computed from the run directory's tables alone: which series,
//! which points, which markers. Drawing them is `draw.rs`'s job.

use crate::timeline::WorkloadSource;
use crate::timeline::{ClusterChangeRow, EndpointRow, EventRow, TimelineRow};
use crate::timeline::{LatencyKind, Timeline};
use plotters::style::RGBColor;
use std::collections::BTreeMap;

/// One line (or stacked band) of a chart.
#[derive(Debug, Clone, PartialEq)]
pub struct Series {
    pub name: String,
    /// (seconds since start, value).
    pub points: Vec<(f64, f64)>,
    pub color: RGBColor,
    pub dashed: bool,
    /// Drawn as a filled band down to 0 (stacked series come pre-summed).
    pub filled: bool,
}

/// Everything needed to draw one chart.
#[derive(Debug, Clone, PartialEq)]
pub struct ChartSpec {
    pub title: String,
    pub y_label: String,
    /// Written after each y tick's value: `1,200 rps`, `250 ms`; empty for counts.
    pub unit: &'static str,
    pub series: Vec<Series>,
    /// Seconds at which a scale-out happened (vertical markers).
    pub markers: Vec<f64>,
    /// Shown under the title when set (e.g. where replica counts come from).
    pub note: Option<String>,
    /// Values are counts: whole-number axis labels.
    pub integer_y: bool,
    /// The y axis's top, when it must not follow the data (a replay's frames keep the whole
    /// run's scale); `None`: 10% above the highest point.
    pub y_top: Option<f64>,
}

/// The four charts of a run, in `CHARTS` order: throughput, latency, replicas, endpoints.
pub fn charts(
    rows: &[TimelineRow],
    endpoint_rows: &[EndpointRow],
    changes: &[ClusterChangeRow],
    workload: WorkloadSource,
) -> [ChartSpec; 4] {
    [
        throughput(rows),
        latency(rows),
        replicas(rows, changes, workload),
        endpoints(rows, endpoint_rows),
    ]
}

/// The charts' time axis: to the end of the last second.
pub fn x_max(rows: &[TimelineRow]) -> f64 {
    rows.last().map_or(1.0, |r| r.t_s as f64 + 1.0)
}

/// A count that holds until it changes: each value is drawn flat to the next point's time.
pub fn steps(points: &[(f64, f64)]) -> Vec<(f64, f64)> {
    let mut out = Vec::with_capacity(points.len() * 2);
    for (i, &(x, y)) in points.iter().enumerate() {
        if i > 0 && points[i - 1].1 != y {
            out.push((x, points[i - 1].1));
        }
        out.push((x, y));
    }
    out
}

/// Series colours: Okabe–Ito, told apart with every common colour-vision deficiency (blue,
/// orange, bluish green, vermillion, reddish purple, sky blue, yellow, black). The live page
/// uses the same.
pub const PALETTE: [RGBColor; 8] = [
    RGBColor(0, 114, 178),
    RGBColor(230, 159, 0),
    RGBColor(0, 158, 115),
    RGBColor(213, 94, 0),
    RGBColor(204, 121, 167),
    RGBColor(86, 180, 233),
    RGBColor(240, 228, 66),
    RGBColor(0, 0, 0),
];

fn series(name: &str, color: RGBColor, points: Vec<(f64, f64)>) -> Series {
    Series {
        name: name.to_owned(),
        points,
        color,
        dashed: false,
        filled: false,
    }
}

fn mid(r: &TimelineRow) -> f64 {
    r.t_s as f64
}

/// Target, successful, dropped and failed requests per second.
pub fn throughput(rows: &[TimelineRow]) -> ChartSpec {
    let mut s = Vec::new();
    if rows.iter().any(|r| r.target_rps.is_some()) {
        let mut target = series(
            "target",
            RGBColor(120, 120, 120),
            rows.iter()
                .filter_map(|r| r.target_rps.map(|v| (mid(r), v)))
                .collect(),
        );
        target.dashed = true;
        s.push(target);
    }
    s.push(series(
        "successful",
        PALETTE[0],
        rows.iter().map(|r| (mid(r), r.ok_rps)).collect(),
    ));
    if rows.iter().any(|r| r.dropped > 0) {
        s.push(series(
            "dropped",
            PALETTE[1],
            rows.iter()
                .map(|r| (mid(r), r.dropped as f64 / r.span_s.max(0.001)))
                .collect(),
        ));
    }
    s.push(series(
        "errors",
        PALETTE[3],
        rows.iter()
            .map(|r| (mid(r), r.errors as f64 / r.span_s.max(0.001)))
            .collect(),
    ));
    ChartSpec {
        title: "Throughput".into(),
        y_label: "requests / s".into(),
        unit: " rps",
        series: s,
        markers: markers(rows),
        note: None,
        integer_y: false,
        y_top: None,
    }
}

/// Latency of successful requests in milliseconds. Open model: p50/p95/p99 corrected (from
/// the due time, dropped slots included; solid) and raw p95 (dashed). Closed model, which has
/// no due time: p50/p95/p99 raw, and the title says so.
pub fn latency(rows: &[TimelineRow]) -> ChartSpec {
    let pick = |f: fn(&TimelineRow) -> Option<u64>| -> Vec<(f64, f64)> {
        rows.iter()
            .filter_map(|r| f(r).map(|us| (mid(r), us as f64 / 1000.0)))
            .collect()
    };
    let (title, series) = match Timeline::new(rows).latency_kind() {
        LatencyKind::Corrected => {
            let mut raw = series("p95 raw", RGBColor(120, 120, 120), pick(|r| r.p95_raw_us));
            raw.dashed = true;
            (
                "Latency, corrected (from the due time; dropped slots included)",
                vec![
                    series("p50 corrected", PALETTE[2], pick(|r| r.p50_corrected_us)),
                    series("p95 corrected", PALETTE[1], pick(|r| r.p95_corrected_us)),
                    series("p99 corrected", PALETTE[3], pick(|r| r.p99_corrected_us)),
                    raw,
                ],
            )
        }
        LatencyKind::Raw => (
            "Latency, raw (closed model: no due time to correct from)",
            vec![
                series("p50 raw", PALETTE[2], pick(|r| r.p50_raw_us)),
                series("p95 raw", PALETTE[1], pick(|r| r.p95_raw_us)),
                series("p99 raw", PALETTE[3], pick(|r| r.p99_raw_us)),
            ],
        ),
    };
    ChartSpec {
        title: title.into(),
        y_label: "ms (successful requests)".into(),
        unit: " ms",
        series,
        markers: markers(rows),
        note: None,
        integer_y: false,
        y_top: None,
    }
}

/// Replicas over time: the Deployment's desired (`spec.replicas`) and ready counts, the HPA's
/// desired count and running pods when a cluster was watched — drawn as steps at the exact
/// times the watcher saw each change (`cluster.csv`), or at the end of each second from the
/// timeline when there is no change log; otherwise the distinct serving endpoints per second.
/// Unknown stretches are left out, never drawn as zero.
pub fn replicas(
    rows: &[TimelineRow],
    changes: &[ClusterChangeRow],
    workload: WorkloadSource,
) -> ChartSpec {
    let local = workload == WorkloadSource::Local;
    if !Timeline::new(rows).has_cluster() && changes.iter().all(|c| c.value.is_none()) {
        return ChartSpec {
            title: "Replicas".into(),
            y_label: "count".into(),
            unit: "",
            series: vec![
                series(
                    "serving endpoints",
                    PALETTE[4],
                    rows.iter()
                        .filter_map(|r| r.endpoints.map(|n| (mid(r), n as f64)))
                        .collect(),
                ),
                series(
                    "users",
                    RGBColor(150, 150, 150),
                    rows.iter().map(|r| (mid(r), r.users as f64)).collect(),
                ),
            ],
            markers: markers(rows),
            note: Some(
                "no cluster watched: replicas are distinct X-Served-By values per second".into(),
            ),
            integer_y: true,
            y_top: None,
        };
    }
    let end = rows.last().map_or(0.0, |r| r.t_s as f64 + r.span_s);
    let from_rows = |f: fn(&TimelineRow) -> Option<u64>| -> Vec<(f64, f64)> {
        let points: Vec<(f64, f64)> = rows
            .iter()
            // Sampled at the end of the second.
            .filter_map(|r| f(r).map(|v| (r.t_s as f64 + r.span_s, v as f64)))
            .collect();
        steps(&points)
    };
    let from_changes = |column: &str| -> Vec<(f64, f64)> {
        let mut points: Vec<(f64, f64)> = changes
            .iter()
            .filter(|c| c.column == column)
            .filter_map(|c| c.value.as_deref()?.parse().ok().map(|v| (c.t_s, v)))
            .collect();
        // The last value holds to the end of the run.
        if let Some(&(t, v)) = points.last()
            && t < end
        {
            points.push((end, v));
        }
        steps(&points)
    };
    let exact = !changes.is_empty();
    let pick = |column: &str, f: fn(&TimelineRow) -> Option<u64>| {
        if exact {
            from_changes(column)
        } else {
            from_rows(f)
        }
    };
    let mut s = vec![
        series(
            if local {
                "local desired"
            } else {
                "Deployment desired"
            },
            PALETTE[0],
            pick("deploy_spec_replicas", |r| r.deploy_spec_replicas),
        ),
        series(
            "ready",
            PALETTE[2],
            pick("deploy_ready", |r| r.deploy_ready),
        ),
    ];
    let hpa = pick("hpa_desired", |r| r.hpa_desired);
    if !hpa.is_empty() {
        let mut h = series(
            if local {
                "autoscaler desired"
            } else {
                "HPA desired"
            },
            PALETTE[1],
            hpa,
        );
        h.dashed = true;
        s.push(h);
    }
    let pods = pick("pods_running", |r| r.pods_running);
    if !pods.is_empty() {
        s.push(series("pods running", PALETTE[4], pods));
    }
    let mut serving = series(
        "serving endpoints",
        RGBColor(150, 150, 150),
        rows.iter()
            .filter(|r| r.requests > 0)
            .filter_map(|r| r.endpoints.map(|n| (mid(r), n as f64)))
            .collect(),
    );
    serving.dashed = true;
    s.push(serving);
    ChartSpec {
        title: if local {
            "Replicas — LOCAL, simulated on this machine".into()
        } else {
            "Replicas".into()
        },
        y_label: "count".into(),
        unit: "",
        series: s,
        markers: markers(rows),
        note: Some(if local {
            "local replica processes and scaleproof's HPA-algorithm autoscaler on this machine: not a cluster".into()
        } else if exact {
            "Deployment and HPA status from the cluster, at the moment each change was seen".into()
        } else {
            "Deployment and HPA status from the cluster, at the end of each second".into()
        }),
        integer_y: true,
        y_top: None,
    }
}

/// Requests per second served by each endpoint, stacked.
pub fn endpoints(rows: &[TimelineRow], endpoint_rows: &[EndpointRow]) -> ChartSpec {
    let mut per: BTreeMap<&str, BTreeMap<u64, f64>> = BTreeMap::new();
    for e in endpoint_rows {
        per.entry(&e.endpoint)
            .or_default()
            .insert(e.t_s, e.requests as f64);
    }
    let seconds: Vec<u64> = rows.iter().map(|r| r.t_s).collect();
    let mut below: BTreeMap<u64, f64> = BTreeMap::new();
    let mut s = Vec::new();
    for (i, (name, counts)) in per.iter().enumerate() {
        let points = seconds
            .iter()
            .map(|t| {
                let level = below.entry(*t).or_insert(0.0);
                *level += counts.get(t).copied().unwrap_or(0.0);
                (*t as f64, *level)
            })
            .collect();
        let mut band = series(name, PALETTE[i % PALETTE.len()], points);
        band.filled = true;
        s.push(band);
    }
    ChartSpec {
        title: "Requests per endpoint (stacked)".into(),
        y_label: "requests / s".into(),
        unit: " rps",
        series: s,
        markers: markers(rows),
        note: None,
        integer_y: false,
        y_top: None,
    }
}

/// Scale events (`ScalingReplicaSet`, `SuccessfulRescale`) as chart markers, at the time they
/// were received; events less than a second apart (the HPA's and the Deployment's for one
/// decision) share one marker.
pub fn event_markers(events: &[EventRow]) -> Vec<f64> {
    let mut out: Vec<f64> = Vec::new();
    let mut times: Vec<f64> = events
        .iter()
        .filter(|e| e.is_scale_event())
        .map(|e| e.t_s)
        .collect();
    times.sort_by(f64::total_cmp);
    for t in times {
        if out.last().is_none_or(|last| t - last >= 1.0) {
            out.push(t);
        }
    }
    out
}

/// Scale-out seconds as chart markers (when no scale events were recorded).
pub fn markers(rows: &[TimelineRow]) -> Vec<f64> {
    Timeline::new(rows)
        .scale_out_seconds()
        .into_iter()
        .map(|s| s as f64)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(t: u64, rps: f64, endpoints: u64) -> TimelineRow {
        TimelineRow {
            completed_rps: rps + 1.0,
            requests: rps as u64 + 1,
            target_rps: Some(rps + 10.0),
            dropped: 2,
            errors: 1,
            endpoints: Some(endpoints),
            p95_raw_us: Some(2000),
            p95_corrected_us: Some(3000),
            ..TimelineRow::with_ok(t, rps as u64)
        }
    }

    #[test]
    fn throughput_series_and_scale_markers() {
        let rows = vec![row(0, 100.0, 1), row(1, 200.0, 2), row(2, 300.0, 2)];
        let spec = throughput(&rows);
        let names: Vec<&str> = spec.series.iter().map(|s| s.name.as_str()).collect();
        assert_eq!(names, ["target", "successful", "dropped", "errors"]);
        assert_eq!(
            spec.series[1].points,
            vec![(0.0, 100.0), (1.0, 200.0), (2.0, 300.0)]
        );
        assert_eq!(spec.series[0].points[0], (0.0, 110.0));
        assert!(spec.series[0].dashed);
        assert_eq!(spec.markers, vec![1.0]);
    }

    #[test]
    fn latency_is_in_milliseconds_with_raw_dashed() {
        let spec = latency(&[row(0, 1.0, 1)]);
        assert!(spec.title.contains("corrected"), "{}", spec.title);
        let p95 = spec
            .series
            .iter()
            .find(|s| s.name == "p95 corrected")
            .expect("p95");
        assert_eq!(p95.points, vec![(0.0, 3.0)]);
        let raw = spec
            .series
            .iter()
            .find(|s| s.name == "p95 raw")
            .expect("raw");
        assert!(raw.dashed);
        assert_eq!(raw.points, vec![(0.0, 2.0)]);
    }

    #[test]
    fn closed_model_latency_is_raw_and_titled_so() {
        let mut r = row(0, 1.0, 1);
        (r.target_rps, r.dropped, r.p95_corrected_us) = (None, 0, None);
        let spec = latency(&[r]);
        assert!(spec.title.contains("raw"), "{}", spec.title);
        assert!(!spec.title.contains("corrected"), "{}", spec.title);
        let names: Vec<&str> = spec.series.iter().map(|s| s.name.as_str()).collect();
        assert_eq!(names, ["p50 raw", "p95 raw", "p99 raw"]);
        assert_eq!(spec.series[1].points, vec![(0.0, 2.0)]);
    }

    #[test]
    fn endpoint_bands_are_stacked_cumulatively() {
        let rows = vec![row(0, 30.0, 2), row(1, 40.0, 2)];
        let eps = vec![
            EndpointRow {
                t_s: 0,
                endpoint: "a".into(),
                requests: 10,
                ..Default::default()
            },
            EndpointRow {
                t_s: 0,
                endpoint: "b".into(),
                requests: 20,
                ..Default::default()
            },
            EndpointRow {
                t_s: 1,
                endpoint: "b".into(),
                requests: 40,
                ..Default::default()
            },
        ];
        let spec = endpoints(&rows, &eps);
        assert_eq!(spec.series[0].points, vec![(0.0, 10.0), (1.0, 0.0)]);
        assert_eq!(spec.series[1].points, vec![(0.0, 30.0), (1.0, 40.0)]);
        assert!(spec.series.iter().all(|s| s.filled));
    }

    #[test]
    fn replicas_come_from_the_cluster_when_watched_and_unknown_seconds_are_gaps() {
        let mut rows = vec![row(0, 10.0, 1), row(1, 10.0, 1), row(2, 10.0, 2)];
        rows[0].deploy_spec_replicas = Some(1);
        rows[0].deploy_ready = Some(1);
        rows[0].hpa_desired = Some(1);
        rows[2].deploy_spec_replicas = Some(2);
        rows[2].deploy_ready = Some(2);
        let spec = replicas(&rows, &[], WorkloadSource::Cluster);
        let names: Vec<&str> = spec.series.iter().map(|s| s.name.as_str()).collect();
        assert_eq!(
            names,
            [
                "Deployment desired",
                "ready",
                "HPA desired",
                "serving endpoints"
            ]
        );
        // Counts are steps (a value holds until the next known one), placed at the end of
        // their second, when they were sampled.
        assert_eq!(
            spec.series[0].points,
            vec![(1.0, 1.0), (3.0, 1.0), (3.0, 2.0)]
        );
        assert!(spec.integer_y);
        assert_eq!(spec.series[2].points, vec![(1.0, 1.0)]);
        assert_eq!(spec.markers, vec![2.0]);
        // Without cluster data: endpoints, and a note saying so.
        let plain = replicas(&[row(0, 10.0, 1)], &[], WorkloadSource::Cluster);
        assert_eq!(plain.series[0].name, "serving endpoints");
        assert!(
            plain
                .note
                .as_deref()
                .is_some_and(|n| n.contains("no cluster"))
        );
    }

    #[test]
    fn with_a_change_log_replicas_step_at_the_exact_times_and_hold_to_the_end() {
        let rows: Vec<TimelineRow> = (0..5).map(|t| row(t, 10.0, 1)).collect();
        let change = |t: f64, column: &str, value: Option<&str>| ClusterChangeRow {
            t_s: t,
            column: column.into(),
            value: value.map(str::to_owned),
        };
        let changes = [
            change(0.0, "deploy_spec_replicas", Some("1")),
            change(0.0, "deploy_ready", None),
            change(1.426, "deploy_spec_replicas", Some("4")),
            change(2.5, "deploy_ready", Some("2")),
        ];
        let spec = replicas(&rows, &changes, WorkloadSource::Cluster);
        assert_eq!(
            spec.series[0].points,
            vec![(0.0, 1.0), (1.426, 1.0), (1.426, 4.0), (5.0, 4.0)]
        );
        // Unknown until 2.5 s: nothing drawn there.
        assert_eq!(spec.series[1].points, vec![(2.5, 2.0), (5.0, 2.0)]);
        assert!(
            spec.note
                .as_deref()
                .is_some_and(|n| n.contains("each change"))
        );
    }

    #[test]
    fn scale_events_become_markers_one_per_decision() {
        let ev = |t: f64, reason: &str| EventRow {
            t_s: t,
            reason: reason.into(),
            ..Default::default()
        };
        let events = [
            ev(12.2, "SuccessfulRescale"),
            ev(12.3, "ScalingReplicaSet"),
            ev(13.0, "Started"),
            ev(40.5, "ScalingReplicaSet"),
        ];
        assert_eq!(event_markers(&events), vec![12.2, 40.5]);
    }
}
