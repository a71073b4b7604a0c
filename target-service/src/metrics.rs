//! Prometheus metrics of the service: requests by route and status, latency, in-flight
//! requests and predictions, encoded in the OpenMetrics text format for `GET /metrics`.

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;
use std::time::Duration;

// Label values are `&'static str`: no allocation per request.
#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RequestLabels {
    method: &'static str,
    route: &'static str,
    status: u16,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RouteLabels {
    route: &'static str,
}

/// Every route label value the service uses.
pub const ROUTES: &[&str] = &[
    "/",
    "/health",
    "/ready",
    "/metrics",
    "/predict",
    "unmatched",
];

/// The static label for a matched route pattern (`unmatched` for anything else).
pub fn route_label(pattern: Option<&str>) -> &'static str {
    pattern
        .and_then(|p| ROUTES.iter().find(|r| **r == p))
        .copied()
        .unwrap_or("unmatched")
}

/// The static label for an HTTP method (`OTHER` for extension methods).
pub fn method_label(method: &axum::http::Method) -> &'static str {
    use axum::http::Method;
    match *method {
        Method::GET => "GET",
        Method::POST => "POST",
        Method::PUT => "PUT",
        Method::DELETE => "DELETE",
        Method::PATCH => "PATCH",
        Method::HEAD => "HEAD",
        Method::OPTIONS => "OPTIONS",
        Method::CONNECT => "CONNECT",
        Method::TRACE => "TRACE",
        _ => "OTHER",
    }
}

type HistogramFamily = Family<RouteLabels, Histogram, fn() -> Histogram>;

/// The service's metric families, registered once at start-up.
#[derive(Debug)]
pub struct ServiceMetrics {
    registry: Registry,
    requests: Family<RequestLabels, Counter>,
    /// Same counts summed over method and status; not exported, read by [`Self::requests_total`].
    by_route: Family<RouteLabels, Counter>,
    latency: HistogramFamily,
    in_flight: Gauge,
    predictions: Counter,
}

impl Default for ServiceMetrics {
    fn default() -> Self {
        Self::new()
    }
}

impl ServiceMetrics {
    /// Creates and registers every family.
    pub fn new() -> Self {
        let requests = Family::<RequestLabels, Counter>::default();
        // 100 µs to ~6.5 s in 17 doubling buckets.
        let latency: HistogramFamily =
            Family::new_with_constructor(|| Histogram::new(exponential_buckets(0.0001, 2.0, 17)));
        let in_flight = Gauge::default();
        let predictions = Counter::default();
        let mut registry = Registry::with_prefix("target_service");
        registry.register(
            "http_requests",
            "HTTP requests answered, by method, route and status",
            requests.clone(),
        );
        registry.register(
            "http_request_duration_seconds",
            "Time from request received to response headers ready, by route",
            latency.clone(),
        );
        registry.register(
            "http_requests_in_flight",
            "Requests being handled right now",
            in_flight.clone(),
        );
        registry.register(
            "predictions",
            "Rows predicted (one request may carry many rows)",
            predictions.clone(),
        );
        Self {
            registry,
            requests,
            by_route: Family::default(),
            latency,
            in_flight,
            predictions,
        }
    }

    /// Records one answered request; `route` is the matched route pattern (a fixed set).
    pub fn observe(
        &self,
        method: &'static str,
        route: &'static str,
        status: u16,
        elapsed: Duration,
    ) {
        self.requests
            .get_or_create(&RequestLabels {
                method,
                route,
                status,
            })
            .inc();
        let route = RouteLabels { route };
        self.by_route.get_or_create(&route).inc();
        self.latency
            .get_or_create(&route)
            .observe(elapsed.as_secs_f64());
    }

    /// Marks a request as started; the returned guard marks it finished when dropped.
    pub fn start_request(&self) -> InFlight {
        self.in_flight.inc();
        InFlight(self.in_flight.clone())
    }

    /// Counts predicted rows.
    pub fn add_predictions(&self, rows: u64) {
        self.predictions.inc_by(rows);
    }

    /// Requests answered on `route` (all methods and statuses).
    pub fn requests_total(&self, route: &str) -> u64 {
        // Label values are static; find the family's entry by value.
        ROUTES
            .iter()
            .find(|r| **r == route)
            .and_then(|route| self.by_route.get(&RouteLabels { route }).map(|c| c.get()))
            .unwrap_or(0)
    }

    /// Rows predicted so far.
    pub fn predictions_total(&self) -> u64 {
        self.predictions.get()
    }

    /// Requests being handled right now.
    pub fn in_flight(&self) -> i64 {
        self.in_flight.get()
    }

    /// The OpenMetrics text exposition of every family.
    pub fn encode(&self) -> String {
        let mut out = String::new();
        // Writing into a String cannot fail; the encoder only errors on its writer.
        prometheus_client::encoding::text::encode(&mut out, &self.registry)
            .expect("encoding into a String never fails");
        out
    }
}

/// Decrements the in-flight gauge when dropped (also when the handler is cancelled).
#[derive(Debug)]
pub struct InFlight(Gauge);

impl Drop for InFlight {
    fn drop(&mut self) {
        self.0.dec();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_by_route_across_statuses_and_encodes_them() {
        let m = ServiceMetrics::new();
        m.observe("POST", "/predict", 200, Duration::from_micros(300));
        m.observe("POST", "/predict", 422, Duration::from_micros(30));
        m.observe("GET", "/health", 200, Duration::from_micros(10));
        assert_eq!(m.requests_total("/predict"), 2);
        assert_eq!(m.requests_total("/health"), 1);
        let text = m.encode();
        assert!(text.contains(
            "target_service_http_requests_total{method=\"POST\",route=\"/predict\",status=\"422\"} 1"
        ), "{text}");
        assert!(
            text.contains("target_service_http_request_duration_seconds_bucket"),
            "{text}"
        );
    }

    #[test]
    fn in_flight_guard_decrements_on_drop() {
        let m = ServiceMetrics::new();
        let a = m.start_request();
        let b = m.start_request();
        assert_eq!(m.in_flight(), 2);
        drop(a);
        drop(b);
        assert_eq!(m.in_flight(), 0);
    }
}
