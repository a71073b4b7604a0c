//! What the benchmark examples share: the `run.json` of a synthetic one-hour open-model run.

use scaleproof::timeline::{self, GeneratorRecord, LoadRecord, RunMeta, Totals};

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
        generator: GeneratorRecord::here(),
        cluster: None,
    }
}
