//! `scaleproof worker`: one pod of a shared run. It reaches the target (warm-up), says it is
//! ready, waits for the controller's start time, runs its share of the load as
//! `scaleproof run --worker I/N --start-at T` would, and leaves its run directory in the
//! result store, the `done` record last.

use super::{
    DoneRecord, ReadyRecord, SCENARIO_DIR, START_OBJECT, StartRecord, done_object, json,
    ready_object, results_prefix,
};
use crate::fleet::store::{Store, StoreError};
use chrono::{DateTime, Utc};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// Why a worker could not take part.
#[derive(Debug, thiserror::Error)]
pub enum WorkerError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(
        "the target {target} did not accept a connection within {waited_s:.0} s (last: {last})"
    )]
    Unreachable {
        target: String,
        waited_s: f64,
        last: String,
    },
    #[error(
        "no start time in the result store after {waited_s:.0} s ready: the controller is gone or another worker never became ready"
    )]
    NoStart { waited_s: f64 },
    #[error("{0}")]
    Record(String),
}

/// How often a waiting worker looks for the start time.
const START_POLL: Duration = Duration::from_millis(100);

/// Connects to `host:port` until it answers (DNS, route, a listening server), at most
/// `timeout`.
async fn reach(host: &str, port: u16, timeout: Duration) -> Result<(), WorkerError> {
    let began = Instant::now();
    loop {
        let attempt = tokio::time::timeout(
            Duration::from_secs(5),
            tokio::net::TcpStream::connect((host, port)),
        )
        .await;
        let last = match attempt {
            Ok(Ok(_)) => return Ok(()),
            Ok(Err(e)) => e.to_string(),
            Err(_) => "no answer within 5 s".to_owned(),
        };
        if began.elapsed() >= timeout {
            return Err(WorkerError::Unreachable {
                target: format!("{host}:{port}"),
                waited_s: began.elapsed().as_secs_f64(),
                last,
            });
        }
        eprintln!("scaleproof: worker: cannot reach {host}:{port} yet ({last}); retrying");
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
}

/// Warms up against `target`, writes `ready/worker-<index>.json`, and waits for the start
/// time the controller publishes; `timeout` bounds each of the two waits.
pub async fn ready(
    run: &Store,
    index: u32,
    target: &url::Url,
    timeout: Duration,
) -> Result<DateTime<Utc>, WorkerError> {
    let began = Instant::now();
    let host = target.host_str().unwrap_or("localhost");
    let port = target.port_or_known_default().unwrap_or(80);
    reach(host, port, timeout).await?;
    let record = ReadyRecord {
        index,
        host: target_service::default_served_by(),
        ready_at: Utc::now(),
        warmup_ms: began.elapsed().as_secs_f64() * 1000.0,
    };
    run.put(
        &ready_object(index),
        json(&record).map_err(|e| WorkerError::Record(e.to_string()))?,
    )
    .await?;
    eprintln!(
        "scaleproof: worker {index}: ready ({host}:{port} reached in {:.0} ms); waiting for the start time",
        record.warmup_ms
    );
    let waiting = Instant::now();
    loop {
        if let Some(bytes) = run.get(START_OBJECT).await? {
            let start: StartRecord = serde_json::from_slice(&bytes)
                .map_err(|e| WorkerError::Record(format!("{START_OBJECT}: {e}")))?;
            return Ok(start.start_at);
        }
        if waiting.elapsed() >= timeout {
            return Err(WorkerError::NoStart {
                waited_s: waiting.elapsed().as_secs_f64(),
            });
        }
        tokio::time::sleep(START_POLL).await;
    }
}

/// Fetches the run's scenario folder (the file and its corpora) into `dir`; returns the
/// path of the scenario file `object` (`scenario/<file>`) there.
pub async fn fetch_scenario(run: &Store, object: &str, dir: &Path) -> Result<PathBuf, WorkerError> {
    run.download_dir(SCENARIO_DIR, &dir.join(SCENARIO_DIR))
        .await?;
    let path = dir.join(object);
    if !path.is_file() {
        return Err(WorkerError::Record(format!(
            "{object} is not in the result store"
        )));
    }
    Ok(path)
}

/// Uploads the run directory `dir` under `worker-<index>/`, then `done/worker-<index>.json`.
pub async fn deliver(
    run: &Store,
    index: u32,
    dir: &Path,
    end_reason: &str,
) -> Result<usize, WorkerError> {
    let files = run.upload_dir(dir, &results_prefix(index)).await?;
    let done = DoneRecord {
        index,
        end_reason: end_reason.to_owned(),
        files,
    };
    run.put(
        &done_object(index),
        json(&done).map_err(|e| WorkerError::Record(e.to_string()))?,
    )
    .await?;
    Ok(files)
}
