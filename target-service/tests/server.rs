//! The service on a real socket (127.0.0.1:0): concurrency, counters, and the drain on shutdown.

mod common;

use serde_json::Value;
use std::time::{Duration, Instant};
use target_service::DrainConfig;

fn predict_body(n: usize) -> Vec<u8> {
    let (features, rows) = common::dataset_rows(n);
    serde_json::to_vec(&common::instances_body(&features, &rows)).expect("json")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_requests_are_all_answered_and_counted_by_the_service() {
    let server = common::start(common::state(0), DrainConfig::default()).await;
    let client = reqwest::Client::new();
    let body = predict_body(1);
    let mut tasks = Vec::new();
    for _ in 0..20 {
        let (client, url, body) = (
            client.clone(),
            format!("{}/predict", server.base),
            body.clone(),
        );
        tasks.push(tokio::spawn(async move {
            let mut ok = 0u64;
            for _ in 0..25 {
                let response = client
                    .post(&url)
                    .body(body.clone())
                    .send()
                    .await
                    .expect("send");
                assert_eq!(response.headers()["x-served-by"], "test-pod-0");
                assert!(response.status().is_success());
                let json: Value = response.json().await.expect("json");
                assert_eq!(json["prediction"].as_array().map(Vec::len), Some(1));
                ok += 1;
            }
            ok
        }));
    }
    let mut sent = 0;
    for task in tasks {
        sent += task.await.expect("task");
    }
    assert_eq!(sent, 500);
    assert_eq!(server.state.metrics().requests_total("/predict"), 500);
    assert_eq!(server.state.metrics().predictions_total(), 500);
    assert_eq!(server.state.metrics().in_flight(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutdown_turns_readiness_off_first_and_finishes_every_in_flight_request() {
    let work = common::work_factor_for(Duration::from_millis(150));
    let mut server = common::start(
        common::state(work),
        DrainConfig {
            drain_delay: Duration::from_millis(300),
            grace_period: Duration::from_secs(30),
        },
    )
    .await;
    let client = reqwest::Client::new();
    let body = predict_body(1);
    let in_flight_wanted = 12;
    let mut requests = Vec::new();
    for _ in 0..in_flight_wanted {
        let request = client
            .post(format!("{}/predict", server.base))
            .body(body.clone())
            .send();
        requests.push(tokio::spawn(request));
    }
    let deadline = Instant::now() + Duration::from_secs(10);
    while server.state.metrics().in_flight() < in_flight_wanted {
        assert!(Instant::now() < deadline, "requests never got in flight");
        tokio::time::sleep(Duration::from_millis(2)).await;
    }

    server
        .stop
        .take()
        .expect("stop sender")
        .send(())
        .expect("server listening");
    // Readiness answers 503 while predictions are still running.
    let ready = reqwest::Client::new()
        .get(format!("{}/ready", server.base))
        .send()
        .await
        .expect("listener still open during the drain delay");
    assert_eq!(ready.status(), 503);
    assert!(
        server.state.metrics().in_flight() > 0,
        "readiness must turn off before in-flight requests finish"
    );

    for request in requests {
        let response = request
            .await
            .expect("task")
            .expect("in-flight request completes");
        assert_eq!(response.status(), 200);
        let json: Value = response.json().await.expect("json");
        assert!(json["prediction"][0].as_f64().is_some());
    }
    tokio::time::timeout(Duration::from_secs(10), server.task)
        .await
        .expect("server exits after draining")
        .expect("join")
        .expect("serve ok");
    let refused = reqwest::Client::new()
        .get(format!("{}/health", server.base))
        .timeout(Duration::from_secs(2))
        .send()
        .await;
    assert!(refused.is_err(), "listener must be closed after the drain");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn grace_period_bounds_the_wait_for_stuck_requests() {
    let work = common::work_factor_for(Duration::from_secs(3));
    let mut server = common::start(
        common::state(work),
        DrainConfig {
            drain_delay: Duration::ZERO,
            grace_period: Duration::from_millis(200),
        },
    )
    .await;
    let request = tokio::spawn(
        reqwest::Client::new()
            .post(format!("{}/predict", server.base))
            .body(predict_body(1))
            .send(),
    );
    while server.state.metrics().in_flight() < 1 {
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    let stopped_at = Instant::now();
    server
        .stop
        .take()
        .expect("stop sender")
        .send(())
        .expect("listening");
    tokio::time::timeout(Duration::from_secs(2), server.task)
        .await
        .expect("serve returns once the grace period is over")
        .expect("join")
        .expect("serve ok");
    assert!(stopped_at.elapsed() < Duration::from_secs(2));
    request.abort();
}
