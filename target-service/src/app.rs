//! The HTTP surface: routes, handlers, JSON errors and the middleware that stamps
//! `X-Served-By` and records metrics on every response.

use crate::input::{InputError, parse_rows};
use crate::metrics::ServiceMetrics;
use crate::model::Model;
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{DefaultBodyLimit, MatchedPath, Request, State};
use axum::http::{HeaderName, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde_json::json;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::task::{Context, Poll};
use std::time::Instant;

/// Response header naming the instance (pod) that answered.
pub const SERVED_BY: HeaderName = HeaderName::from_static("x-served-by");

/// Requests up to this many rows with no extra work are predicted on the async worker;
/// larger or heavier ones go to the blocking pool so probes stay responsive.
const INLINE_ROWS: usize = 64;

/// Settings of one service instance.
#[derive(Debug, Clone)]
pub struct ServiceConfig {
    /// Value of the `X-Served-By` header (the pod name in Kubernetes).
    pub served_by: String,
    /// Extra forest evaluations per request (CPU work knob for autoscaling demos).
    pub work_factor: u32,
    /// Largest accepted request body in bytes.
    pub max_body_bytes: usize,
    /// Run every prediction on the serving thread instead of the blocking pool: for a
    /// single-threaded instance whose CPU is limited as a whole (scaleproof's local replicas).
    pub inline_work: bool,
    /// Hold the process to this many millicores ([`crate::CpuLimit`], checked before each
    /// request): for single-threaded instances sharing one machine.
    pub cpu_limit_m: Option<u32>,
}

impl Default for ServiceConfig {
    fn default() -> Self {
        Self {
            served_by: default_served_by(),
            work_factor: 0,
            max_body_bytes: 1024 * 1024,
            inline_work: false,
            cpu_limit_m: None,
        }
    }
}

/// `POD_NAME` if set, else the host name, else `"unknown"`.
pub fn default_served_by() -> String {
    std::env::var("POD_NAME")
        .ok()
        .or_else(|| std::env::var("HOSTNAME").ok())
        .or_else(|| std::fs::read_to_string("/proc/sys/kernel/hostname").ok())
        .map(|s| s.trim().to_owned())
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| "unknown".to_owned())
}

/// Shared state of the service; cheap to clone.
#[derive(Debug, Clone)]
pub struct AppState {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    model: Model,
    config: ServiceConfig,
    served_by: HeaderValue,
    metrics: ServiceMetrics,
    draining: AtomicBool,
    cpu_limit: Option<crate::CpuLimit>,
}

impl AppState {
    /// Builds the state; an unusable `served_by` (not a valid header value) becomes `"unknown"`.
    pub fn new(model: Model, config: ServiceConfig) -> Self {
        let served_by = HeaderValue::from_str(&config.served_by)
            .unwrap_or_else(|_| HeaderValue::from_static("unknown"));
        let cpu_limit = config.cpu_limit_m.and_then(crate::CpuLimit::new);
        if config.cpu_limit_m.is_some() && cpu_limit.is_none() {
            tracing::warn!("no /proc/self/task: the CPU limit cannot be held");
        }
        Self {
            inner: Arc::new(Inner {
                model,
                config,
                served_by,
                metrics: ServiceMetrics::new(),
                draining: AtomicBool::new(false),
                cpu_limit,
            }),
        }
    }

    /// The served model.
    pub fn model(&self) -> &Model {
        &self.inner.model
    }

    /// The instance's settings.
    pub fn config(&self) -> &ServiceConfig {
        &self.inner.config
    }

    /// The instance's metrics.
    pub fn metrics(&self) -> &ServiceMetrics {
        &self.inner.metrics
    }

    /// Turns readiness off: `/ready` answers 503 from now on.
    pub fn start_draining(&self) {
        self.inner.draining.store(true, Ordering::SeqCst);
    }

    /// False once draining has started.
    pub fn is_ready(&self) -> bool {
        !self.inner.draining.load(Ordering::SeqCst)
    }
}

/// The service's router with all routes and middleware.
pub fn app(state: AppState) -> Router {
    let limit = state.config().max_body_bytes;
    Router::new()
        .route("/", get(info))
        .route("/health", get(health))
        .route("/ready", get(ready))
        .route("/metrics", get(metrics))
        .route("/predict", post(predict))
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(DefaultBodyLimit::max(limit))
        .layer(ObserveLayer {
            state: state.clone(),
        })
        .with_state(state)
}

/// A JSON error body: `{"error": {"code": ..., "message": ...}}`.
pub(crate) fn error(status: StatusCode, code: &str, message: impl Into<String>) -> Response {
    let body = json!({ "error": { "code": code, "message": message.into() } });
    (status, Json(body)).into_response()
}

impl IntoResponse for InputError {
    fn into_response(self) -> Response {
        let status = match self {
            Self::NotJson { .. } => StatusCode::BAD_REQUEST,
            Self::TooManyRows { .. } => StatusCode::PAYLOAD_TOO_LARGE,
            _ => StatusCode::UNPROCESSABLE_ENTITY,
        };
        error(status, self.code(), self.to_string())
    }
}

async fn info(State(state): State<AppState>) -> Json<serde_json::Value> {
    let meta = state.model().meta();
    Json(json!({
        "service": "target-service",
        "version": env!("CARGO_PKG_VERSION"),
        "served_by": state.config().served_by,
        "work_factor": state.config().work_factor,
        "max_body_bytes": state.config().max_body_bytes,
        "model": {
            "name": meta.name,
            "algorithm": meta.algorithm,
            "dataset": meta.dataset,
            "features": meta.features,
            "target": meta.target,
            "train_rows": meta.train_rows,
            "params": meta.params,
            "holdout": meta.holdout,
        },
        "endpoints": {
            "predict": "POST /predict",
            "health": "GET /health",
            "ready": "GET /ready",
            "metrics": "GET /metrics",
        },
    }))
}

async fn health() -> Json<serde_json::Value> {
    Json(json!({ "status": "ok" }))
}

async fn ready(State(state): State<AppState>) -> Response {
    if state.is_ready() {
        Json(json!({ "ready": true })).into_response()
    } else {
        (
            StatusCode::SERVICE_UNAVAILABLE,
            Json(json!({ "ready": false, "reason": "draining" })),
        )
            .into_response()
    }
}

async fn metrics(State(state): State<AppState>) -> Response {
    (
        [(
            header::CONTENT_TYPE,
            "application/openmetrics-text; version=1.0.0; charset=utf-8",
        )],
        state.metrics().encode(),
    )
        .into_response()
}

async fn predict(State(state): State<AppState>, body: Result<Bytes, BytesRejection>) -> Response {
    let body = match body {
        Ok(body) => body,
        Err(rejection) => {
            let status = rejection.status();
            let code = if status == StatusCode::PAYLOAD_TOO_LARGE {
                "body_too_large"
            } else {
                "unreadable_body"
            };
            let message = format!(
                "{} (limit {} bytes)",
                rejection.body_text(),
                state.config().max_body_bytes
            );
            return error(status, code, message);
        }
    };
    let rows = match parse_rows(&body, state.model().features()) {
        Ok(rows) => rows,
        Err(e) => return e.into_response(),
    };
    let n = rows.len() as u64;
    let work = state.config().work_factor;
    let inline = state.config().inline_work || (work == 0 && rows.len() <= INLINE_ROWS);
    let predicted = if inline {
        state.model().predict(&rows, work)
    } else {
        let state = state.clone();
        match tokio::task::spawn_blocking(move || state.model().predict(&rows, work)).await {
            Ok(result) => result,
            Err(join) => {
                return error(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "internal",
                    format!("prediction task failed: {join}"),
                );
            }
        }
    };
    match predicted {
        Ok(prediction) => {
            state.metrics().add_predictions(n);
            Json(json!({ "prediction": prediction })).into_response()
        }
        Err(e) => error(StatusCode::INTERNAL_SERVER_ERROR, "internal", e.to_string()),
    }
}

async fn not_found(request: Request) -> Response {
    error(
        StatusCode::NOT_FOUND,
        "not_found",
        format!("no route for {} {}", request.method(), request.uri().path()),
    )
}

async fn method_not_allowed(request: Request) -> Response {
    error(
        StatusCode::METHOD_NOT_ALLOWED,
        "method_not_allowed",
        format!(
            "{} is not allowed on {}",
            request.method(),
            request.uri().path()
        ),
    )
}

/// Stamps `X-Served-By` on every response and records it in the metrics. A hand-written tower
/// layer rather than `middleware::from_fn`: this runs on every request, and the closure-based
/// middleware costs about 1 µs more per request (measured in bench/).
#[derive(Debug, Clone)]
struct ObserveLayer {
    state: AppState,
}

impl<S> tower::Layer<S> for ObserveLayer {
    type Service = Observe<S>;

    fn layer(&self, inner: S) -> Self::Service {
        Observe {
            inner,
            state: self.state.clone(),
        }
    }
}

#[derive(Debug, Clone)]
struct Observe<S> {
    inner: S,
    state: AppState,
}

impl<S> tower::Service<Request> for Observe<S>
where
    S: tower::Service<Request, Response = Response> + Send + 'static,
    S::Future: Send + 'static,
{
    type Response = Response;
    type Error = S::Error;
    type Future = Pin<Box<dyn Future<Output = Result<Response, S::Error>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), S::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request) -> Self::Future {
        if let Some(limit) = &self.state.inner.cpu_limit {
            limit.admit();
        }
        let started = Instant::now();
        let in_flight = self.state.metrics().start_request();
        let method = crate::metrics::method_label(request.method());
        let route = crate::metrics::route_label(
            request
                .extensions()
                .get::<MatchedPath>()
                .map(MatchedPath::as_str),
        );
        let state = self.state.clone();
        let future = self.inner.call(request);
        Box::pin(async move {
            let mut response = future.await?;
            drop(in_flight);
            response
                .headers_mut()
                .insert(SERVED_BY, state.inner.served_by.clone());
            state
                .metrics()
                .observe(method, route, response.status().as_u16(), started.elapsed());
            Ok(response)
        })
    }
}
