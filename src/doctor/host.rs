//! The target half of the doctor: the host answers, fresh connections reach more than one
//! endpoint when several replicas are ready, and this machine's generator capacity.

use super::DoctorConfig;
use crate::spec::values::number;
use crate::support::chain::chain;
use crate::support::checks::Finding;
use reqwest::Url;
use std::collections::BTreeSet;
use std::time::{Duration, Instant};

/// Fresh connections opened to count the endpoints behind the host.
pub const FRESH_CONNECTIONS: usize = 50;
/// How long the generator calibration sends for.
pub const CALIBRATION: Duration = Duration::from_secs(3);
/// Concurrent requests of the calibration.
const CALIBRATION_USERS: usize = 64;

/// A client that opens a fresh connection for every request (nothing is kept idle), so that
/// each request is balanced anew, as a new user's would be.
fn fresh_client(config: &DoctorConfig) -> Result<reqwest::Client, reqwest::Error> {
    let builder = reqwest::Client::builder()
        .timeout(Duration::from_secs(5))
        .user_agent(concat!("scaleproof-doctor/", env!("CARGO_PKG_VERSION")))
        .redirect(reqwest::redirect::Policy::none())
        .no_proxy()
        .default_headers(config.headers.clone())
        .pool_max_idle_per_host(0);
    config.tls.apply(builder).build()
}

pub(super) async fn check(
    config: &DoctorConfig,
    url: &Url,
    ready_replicas: Option<u64>,
    findings: &mut Vec<Finding>,
) {
    let client = match fresh_client(config) {
        Ok(c) => c,
        Err(e) => {
            findings.push(Finding::fail("host", chain(&e), "check the TLS options"));
            return;
        }
    };
    let header = &config.endpoint_header;
    let mut endpoints = BTreeSet::new();
    let mut answered = 0;
    for i in 0..FRESH_CONNECTIONS {
        let started = Instant::now();
        match client.get(url.clone()).send().await {
            Ok(response) => {
                answered += 1;
                let by = response
                    .headers()
                    .get(header)
                    .and_then(|v| v.to_str().ok())
                    .map(str::to_owned);
                if i == 0 {
                    findings.push(Finding::ok(
                        "host",
                        format!(
                            "{url} answers HTTP {} in {} ms{}",
                            response.status().as_u16(),
                            started.elapsed().as_millis(),
                            by.as_deref()
                                .map(|b| format!(" ({header}: {b})"))
                                .unwrap_or_default()
                        ),
                    ));
                }
                endpoints.extend(by);
            }
            Err(e) if i == 0 => {
                let text = chain(&e);
                let fix = crate::timeline::hint("connect", &text)
                    .unwrap_or("check the address, port and scheme of --host");
                findings.push(Finding::fail("host", format!("{url}: {text}"), fix));
                return;
            }
            Err(_) => {}
        }
    }
    let several = ready_replicas.is_some_and(|n| n >= 2);
    findings.push(match endpoints.len() {
        0 => Finding::warn(
            "endpoints",
            format!("no response carried {header}: serving endpoints cannot be counted"),
            "add the header to the service's responses (docs/deploy.md §5) or name yours with --endpoint-header",
        ),
        1 if several => Finding::warn(
            "endpoints",
            format!(
                "{} replicas are ready but {answered} fresh connections all reached {}: a kubectl port-forward or a single-pod address",
                ready_replicas.unwrap_or(0),
                endpoints.iter().next().map_or("", String::as_str)
            ),
            "send the load to the Service's LoadBalancer, Ingress or ClusterIP address, not a port-forward or a pod",
        ),
        n => Finding::ok(
            "endpoints",
            format!(
                "{n} endpoint{} answered {answered} fresh connections",
                if n == 1 { "" } else { "s" }
            ),
        ),
    });
}

/// Sends to a target-service on loopback, started here, for [`CALIBRATION`] with
/// [`CALIBRATION_USERS`] concurrent requests: how many requests per second this machine's
/// HTTP client completes (a ceiling: the server shares the machine).
pub(super) async fn calibrate(planned_peak: Option<f64>) -> Finding {
    let measured = match loopback_rps().await {
        Ok(rps) => rps,
        Err(text) => {
            return Finding::warn(
                "generator",
                format!("calibration could not run: {text}"),
                "run a short --rate test against a local target-service instead",
            );
        }
    };
    let what = format!(
        "this machine completed {} requests/s to a loopback server over {} s",
        number(measured, 0),
        CALIBRATION.as_secs()
    );
    let peak_text = planned_peak.map(|p| number(p, 0)).unwrap_or_default();
    match planned_peak {
        Some(peak) if measured < peak => Finding::fail(
            "generator",
            format!(
                "{what}, below the planned peak of {peak_text}: the generator would be the bottleneck"
            ),
            "use a bigger machine, --threads, or several machines (the run directories merge)",
        ),
        Some(peak) if measured < 1.5 * peak => Finding::warn(
            "generator",
            format!("{what}: under 1.5× the planned peak of {peak_text}, little headroom"),
            "use a bigger machine or --threads; watch the verdict's generator caveat",
        ),
        Some(_) => Finding::ok(
            "generator",
            format!("{what}, ≥ 1.5× the planned peak of {peak_text}"),
        ),
        None => Finding::ok("generator", what),
    }
}

async fn loopback_rps() -> Result<f64, String> {
    let model = target_service::Model::bundled().map_err(|e| e.to_string())?;
    let state = target_service::AppState::new(model, target_service::ServiceConfig::default());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .map_err(|e| e.to_string())?;
    let addr = listener.local_addr().map_err(|e| e.to_string())?;
    let server = tokio::spawn(async move {
        let _ = axum::serve(listener, target_service::app(state)).await;
    });
    let client = reqwest::Client::builder()
        .no_proxy()
        .build()
        .map_err(|e| e.to_string())?;
    let url = format!("http://{addr}/health");
    let until = Instant::now() + CALIBRATION;
    let started = Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..CALIBRATION_USERS {
        let (client, url) = (client.clone(), url.clone());
        tasks.push(tokio::spawn(async move {
            let mut done = 0u64;
            while Instant::now() < until {
                if client.get(&url).send().await.is_ok() {
                    done += 1;
                }
            }
            done
        }));
    }
    let mut total = 0;
    for t in tasks {
        total += t.await.unwrap_or(0);
    }
    server.abort();
    Ok(total as f64 / started.elapsed().as_secs_f64())
}
