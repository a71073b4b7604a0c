//! Benchmark: render every report output (summary.json, 4 charts as PNG and SVG, the
//! 1920×1080 dashboard, report.html) for a synthetic one-hour run — 3,600 timeline rows,
//! 10 endpoints, a watched Deployment with 50 scale events — and print how long it took. Run with
//! `cargo run --release --example render_bench` (bench/RESULTS.md records the numbers).

#[path = "common/mod.rs"]
mod common;

use scaleproof::timeline::{
    self, ClusterRecord, EndpointRow, EventRow, RunMeta, TimelineRow, Totals,
};
use std::time::Instant;

const SECONDS: u64 = 3600;
const ENDPOINTS: u64 = 10;

/// Endpoints serving in second `t`: steps between 1 and 10 so that 50 scale-outs happen.
fn serving(t: u64) -> u64 {
    let cycle = SECONDS / 6; // six ramps of 9 scale-outs, minus the repeats: 50 in all
    1 + ((t % cycle) * ENDPOINTS / cycle).min(ENDPOINTS - 1)
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let dir = tempfile::tempdir()?;
    let mut rows = Vec::new();
    let mut eps = Vec::new();
    for t in 0..SECONDS {
        let n = serving(t);
        let rps = 1000.0 + 200.0 * ((t as f64) / 60.0).sin();
        rows.push(TimelineRow {
            users: 200,
            target_rps: Some(1100.0),
            p50_raw_us: Some(900 + t % 50),
            p95_raw_us: Some(4000 + (t * 7) % 900),
            p99_raw_us: Some(9000 + (t * 13) % 2000),
            p50_corrected_us: Some(950),
            p95_corrected_us: Some(4500 + (t * 7) % 900),
            p99_corrected_us: Some(9800),
            endpoints: Some(n),
            deploy_spec_replicas: Some(n),
            deploy_ready: Some(serving(t.saturating_sub(5))),
            hpa_desired: Some(n),
            pods_running: Some(n),
            ..TimelineRow::with_ok(t, rps as u64)
        });
        for e in 0..n {
            eps.push(EndpointRow {
                t_s: t,
                endpoint: format!("target-service-7d9f8-{e:05}"),
                requests: rps as u64 / n,
                p95_raw_us: Some(4000),
                ..Default::default()
            });
        }
    }
    let meta = RunMeta {
        expectations: scaleproof::expectations::Expectations {
            rps: Some(1000.0),
            replicas: Some(2),
            p95_ms: Some(250.0),
            scale_within_s: Some(120.0),
            ..Default::default()
        },
        cluster: Some(ClusterRecord {
            namespace: "default".into(),
            deployment: "target-service".into(),
            hpa: Some("target-service".into()),
            ..Default::default()
        }),
        ..common::synthetic_meta(
            "synthetic-1h",
            SECONDS,
            Totals {
                requests: rows.iter().map(|r| r.requests).sum(),
                p95_corrected_us: Some(4900),
                ..Default::default()
            },
        )
    };
    // One ScalingReplicaSet event per scale-out of the Deployment (the first 50).
    let events: Vec<EventRow> = timeline::Timeline::new(&rows)
        .scale_out_seconds()
        .into_iter()
        .take(50)
        .map(|t| EventRow {
            t_s: t as f64 + 0.2,
            object: "Deployment/target-service".into(),
            reason: "ScalingReplicaSet".into(),
            kind: "Normal".into(),
            count: 1,
            message: format!(
                "Scaled up replica set target-service-7d9f8 to {}",
                serving(t)
            ),
            ..Default::default()
        })
        .collect();
    timeline::RunDir::open(dir.path()).write(&timeline::EVENTS, &events)?;
    std::fs::write(
        dir.path().join(timeline::RUN_JSON),
        serde_json::to_vec_pretty(&meta)?,
    )?;
    timeline::RunDir::open(dir.path()).write(&timeline::TIMELINE, &rows)?;
    timeline::RunDir::open(dir.path()).write(&timeline::ENDPOINTS, &eps)?;
    let events = events.len();
    let mut times = Vec::new();
    for _ in 0..3 {
        let started = Instant::now();
        let rendered = scaleproof::report::render(dir.path(), None)?;
        times.push(started.elapsed().as_secs_f64());
        assert_eq!(rendered.files.len(), 11);
    }
    times.sort_by(f64::total_cmp);
    println!(
        "rendered {} rows, {} endpoints, {} scale events: best {:.3} s, median {:.3} s, worst {:.3} s",
        rows.len(),
        ENDPOINTS,
        events,
        times[0],
        times[1],
        times[2]
    );
    Ok(())
}
