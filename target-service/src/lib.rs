//! target-service: a real ML inference service for scaleproof to push on.
//!
//! A random-forest regressor (smartcore) trained on the diabetes dataset that the repository
//! ships, served by axum behind `POST /predict`, with liveness, readiness, Prometheus metrics,
//! an `X-Served-By` header on every response and a graceful drain on SIGTERM.
//!
//! The library exposes [`app`] so tests and scaleproof's local replicas can serve it
//! in-process, and [`serve`] which runs it on a listener until a shutdown future resolves.

mod app;
mod cpu_limit;
mod dataset;
mod forest;
mod input;
mod input_fast;
mod metrics;
mod model;
mod server;
mod train;

pub use app::{AppState, SERVED_BY, ServiceConfig, app, default_served_by};
pub use cpu_limit::{CPU_PERIOD, CpuLimit, process_cpu_time};
pub use dataset::{Dataset, DatasetError};
pub use forest::FlatForestError;
pub use input::{InputError, parse_rows};
pub use metrics::ServiceMetrics;
pub use model::{Holdout, Model, ModelError, ModelMeta, ReferencePrediction, TrainParams};
pub use server::{DrainConfig, serve};
pub use train::{TrainError, TrainReport, train};

/// Port the service listens on by default (`--port`, `PORT`); the container image and the
/// Kubernetes manifests use the same.
pub const DEFAULT_PORT: u16 = 8080;

/// The model file committed in the repository, compiled into the binary so that the service
/// and scaleproof's local replicas run from any directory. `--model PATH` overrides it.
pub const BUNDLED_MODEL_JSON: &str = include_str!("../model/diabetes-rf.json");

/// The dataset the bundled model was trained on (CSV with a header row; last column is the
/// target). Shipped so the model can be retrained and load tests can rotate real rows.
pub const BUNDLED_DATASET_CSV: &str = include_str!("../data/diabetes.csv");
