//! What a run leaves: its `run.json` record (what was planned, configured and measured) and
//! the run directory's files.

use super::RunError;
use crate::cluster::ClusterRecording;
use crate::config::{LoadShape, RunConfig};
use crate::load::control::EndReason;
use crate::load::recorder::Recording;
use crate::scenario::headers;
use crate::timeline::{
    self, ClusterRecord, GeneratorRecord, LoadRecord, PER_SECOND_HLOG, RUN_FORMAT, ReplicaLife,
    RequestRecord, RunDir, RunMeta, StageRecord, TOTAL_HLOG, TlsRecord,
};
use chrono::Utc;
use reqwest::Url;
use std::path::PathBuf;
use std::time::Duration;

#[allow(clippy::too_many_arguments)]
pub(super) fn run_meta(
    config: &RunConfig,
    base: &Url,
    embedded: bool,
    started_at: chrono::DateTime<Utc>,
    ended_at: chrono::DateTime<Utc>,
    duration: Duration,
    end: EndReason,
    recording: &Recording,
    cluster: Option<ClusterRecord>,
    local_replicas: Option<Vec<ReplicaLife>>,
) -> RunMeta {
    let load = match &config.shape {
        LoadShape::Closed {
            users,
            hatch_rate,
            run_time,
            test_plan,
        } => LoadRecord::Closed {
            users: *users,
            hatch_rate: *hatch_rate,
            run_time_s: run_time.map(|d| d.as_secs_f64()),
            test_plan: test_plan.as_ref().map(|p| p.as_str().to_owned()),
        },
        LoadShape::Open {
            plan,
            max_users,
            max_lag,
        } => LoadRecord::Open {
            stages: plan
                .stages()
                .iter()
                .map(|s| StageRecord {
                    target_rps: s.target_rps,
                    over_s: s.over.as_secs_f64(),
                })
                .collect(),
            max_users: *max_users,
            max_lag_s: max_lag.as_secs_f64(),
        },
    };
    RunMeta {
        format: RUN_FORMAT.to_owned(),
        scaleproof_version: env!("CARGO_PKG_VERSION").to_owned(),
        scenario: config.scenario.name.clone(),
        scenario_file: Some(config.scenario.source.clone()),
        description: config.scenario.description.clone(),
        target: base.to_string(),
        embedded_target: embedded,
        load,
        requests: config
            .scenario
            .requests
            .iter()
            .map(|r| RequestRecord {
                name: r.name.clone(),
                method: r.method.to_string(),
                path: r.path.clone(),
                weight: r.weight,
                body: r.body.describe(),
                headers: headers::redacted(&r.headers),
            })
            .collect(),
        endpoint_header: config.endpoint_header.to_string(),
        tls: (base.scheme() == "https").then(|| TlsRecord {
            insecure: config.tls.insecure,
            cacert: config.tls.cacert.as_ref().map(|p| p.display().to_string()),
            client_cert: config
                .tls
                .client_cert
                .as_ref()
                .map(|p| p.display().to_string()),
        }),
        request_timeout_s: config.timeout.as_secs_f64(),
        recycle_connections_s: config.recycle.map(|d| d.as_secs_f64()),
        expectations: config.scenario.expect.clone(),
        started_at,
        ended_at,
        duration_s: duration.as_secs_f64(),
        end_reason: end.to_string(),
        totals: recording.totals.clone(),
        generator: GeneratorRecord::here(target_service::default_served_by()),
        cluster,
        local_replicas,
        warnings: Vec::new(),
        preflight: Vec::new(),
        worker: config.worker.map(|w| timeline::WorkerRecord {
            index: w.index,
            count: w.count,
            start_at: config.start_at,
            start_late_ms: config
                .start_at
                .map(|at| (started_at - at).num_microseconds().unwrap_or(0) as f64 / 1000.0),
        }),
        workers: Vec::new(),
        shared: None,
    }
}

pub(super) fn write_run_dir(
    config: &RunConfig,
    meta: &RunMeta,
    recording: &Recording,
    cluster: Option<&ClusterRecording>,
    pods: &[timeline::PodRow],
) -> Result<PathBuf, RunError> {
    let dir = RunDir::create(&config.out, meta.started_at, &meta.scenario)?;
    dir.write_meta(meta)?;
    dir.write(&timeline::TIMELINE, &recording.rows)?;
    dir.write(&timeline::ENDPOINTS, &recording.endpoint_rows)?;
    dir.write(&timeline::ERRORS, &recording.errors)?;
    dir.write(&timeline::PODS, pods)?;
    if let Some(c) = cluster {
        dir.write(&timeline::CLUSTER, &c.changes)?;
        dir.write(&timeline::EVENTS, &c.events)?;
    }
    dir.write_bytes(PER_SECOND_HLOG, &recording.per_second_hlog)?;
    dir.write_bytes(TOTAL_HLOG, &recording.total_hlog)?;
    Ok(dir.path().to_path_buf())
}
