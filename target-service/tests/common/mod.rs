//! Shared helpers for the target-service integration tests.
#![allow(dead_code)] // each test binary uses a different subset

use serde_json::{Map, Value, json};
use target_service::{AppState, Dataset, DrainConfig, Model, ServiceConfig};
use tokio::net::TcpListener;
use tokio::sync::oneshot;

/// A state with the bundled model and the given CPU work per request.
pub fn state(work_factor: u32) -> AppState {
    let model = Model::bundled().expect("bundled model loads");
    AppState::new(
        model,
        ServiceConfig {
            served_by: "test-pod-0".to_owned(),
            work_factor,
            max_body_bytes: 1024 * 1024,
            ..ServiceConfig::default()
        },
    )
}

/// The first `n` rows of the bundled dataset.
pub fn dataset_rows(n: usize) -> (Vec<String>, Vec<Vec<f64>>) {
    let data = Dataset::from_csv(target_service::BUNDLED_DATASET_CSV).expect("dataset");
    (data.features, data.rows.into_iter().take(n).collect())
}

/// `{"instances":[{feature: value, ...}, ...]}`
pub fn instances_body(features: &[String], rows: &[Vec<f64>]) -> Value {
    let instances: Vec<Value> = rows
        .iter()
        .map(|row| {
            let object: Map<String, Value> = features
                .iter()
                .zip(row)
                .map(|(f, v)| (f.clone(), json!(v)))
                .collect();
            Value::Object(object)
        })
        .collect();
    json!({ "instances": instances })
}

/// pandas `DataFrame.to_json()` column form, with the given row index labels.
pub fn columns_body(features: &[String], rows: &[Vec<f64>], index: &[u64]) -> Value {
    let mut object = Map::new();
    for (j, feature) in features.iter().enumerate() {
        let column: Map<String, Value> = rows
            .iter()
            .zip(index)
            .map(|(row, i)| (i.to_string(), json!(row[j])))
            .collect();
        object.insert(feature.clone(), Value::Object(column));
    }
    Value::Object(object)
}

/// A target-service on 127.0.0.1 with a random port, stopped by sending on the returned
/// channel (the same path SIGTERM takes in the binary).
pub struct RunningServer {
    pub base: String,
    pub state: AppState,
    pub stop: Option<oneshot::Sender<()>>,
    pub task: tokio::task::JoinHandle<std::io::Result<()>>,
}

pub async fn start(state: AppState, drain: DrainConfig) -> RunningServer {
    let listener = TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind loopback");
    let base = format!("http://{}", listener.local_addr().expect("addr"));
    let (stop, stopped) = oneshot::channel::<()>();
    let task = tokio::spawn(target_service::serve(
        listener,
        state.clone(),
        drain,
        async move {
            let _ = stopped.await;
        },
    ));
    RunningServer {
        base,
        state,
        stop: Some(stop),
        task,
    }
}

/// Work factor that makes one single-row prediction take roughly `target` on this build
/// (tests run debug and release builds; the cost per unit differs by an order of magnitude).
pub fn work_factor_for(target: std::time::Duration) -> u32 {
    let model = Model::bundled().expect("model");
    let row = model.meta().reference[0].features.clone();
    let probe = 2000;
    let started = std::time::Instant::now();
    model.predict(&[row], probe).expect("predict");
    let per_unit = started.elapsed().as_secs_f64() / f64::from(probe);
    ((target.as_secs_f64() / per_unit) as u32).max(1)
}
