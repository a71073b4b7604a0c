#![allow(dead_code)] // each benchmark uses a subset
//! What the benchmark examples share: the `run.json` of a synthetic one-hour open-model run.

use scaleproof::timeline::{
    self, ClusterRecord, EndpointRow, EventRow, GeneratorRecord, LoadRecord, RunMeta, TimelineRow,
    Totals,
};

/// A completed open-model run of `seconds` against the in-cluster Service, with `totals`.
pub fn synthetic_meta(scenario: &str, seconds: u64, totals: Totals) -> RunMeta {
    let started_at = chrono::Utc::now();
    RunMeta {
        format: timeline::RUN_FORMAT.into(),
        scaleproof_version: env!("CARGO_PKG_VERSION").into(),
        scenario: scenario.into(),
        scenario_file: None,
        description: None,
        target: "http://target-service.default.svc:8080/".into(),
        embedded_target: false,
        load: LoadRecord::Open {
            stages: vec![],
            max_users: 2000,
            max_lag_s: 1.0,
        },
        requests: vec![],
        endpoint_header: "x-served-by".into(),
        tls: None,
        local_replicas: None,
        warnings: Vec::new(),
        preflight: Vec::new(),
        worker: None,
        workers: Vec::new(),
        shared: None,
        request_timeout_s: 30.0,
        recycle_connections_s: Some(10.0),
        expectations: Default::default(),
        started_at,
        ended_at: started_at + chrono::Duration::seconds(seconds as i64),
        duration_s: seconds as f64,
        end_reason: "completed".into(),
        totals,
        generator: GeneratorRecord::here(target_service::default_served_by()),
        cluster: None,
    }
}

pub const SECONDS: u64 = 3600;
pub const ENDPOINTS: u64 = 10;

/// Endpoints serving in second `t`: steps between 1 and 10 so that 50 scale-outs happen.
fn serving(t: u64) -> u64 {
    let cycle = SECONDS / 6; // six ramps of 9 scale-outs, minus the repeats: 50 in all
    1 + ((t % cycle) * ENDPOINTS / cycle).min(ENDPOINTS - 1)
}

/// Writes a synthetic one-hour run into `dir` — 3,600 timeline rows, 10 endpoints, a watched
/// Deployment with 50 scale events (before any report is rendered); returns (rows, events).
pub fn synthetic_hour(dir: &std::path::Path) -> Result<(usize, usize), Box<dyn std::error::Error>> {
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
        expectations: scaleproof::spec::expectations::Expectations {
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
        ..synthetic_meta(
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
    timeline::RunDir::open(dir).write(&timeline::EVENTS, &events)?;
    std::fs::write(
        dir.join(timeline::RUN_JSON),
        serde_json::to_vec_pretty(&meta)?,
    )?;
    timeline::RunDir::open(dir).write(&timeline::TIMELINE, &rows)?;
    timeline::RunDir::open(dir).write(&timeline::ENDPOINTS, &eps)?;
    Ok((rows.len(), events.len()))
}
