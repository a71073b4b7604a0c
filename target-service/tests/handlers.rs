//! Handler tests through `tower::ServiceExt::oneshot`: no socket, the real router.

mod common;

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use http_body_util::BodyExt;
use serde_json::{Value, json};
use tower::ServiceExt;

type Answer = (StatusCode, Option<String>, Option<String>, Vec<u8>);

/// One request to a fresh router.
async fn call(method: &str, uri: &str, body: impl Into<Body>) -> Answer {
    call_on(target_service::app(common::state(0)), method, uri, body).await
}

async fn call_on(router: axum::Router, method: &str, uri: &str, body: impl Into<Body>) -> Answer {
    let request = Request::builder()
        .method(method)
        .uri(uri)
        .header(header::CONTENT_TYPE, "application/json")
        .body(body.into())
        .expect("request");
    let response = router.oneshot(request).await.expect("infallible");
    let status = response.status();
    let content_type = response
        .headers()
        .get(header::CONTENT_TYPE)
        .map(|v| v.to_str().expect("ascii").to_owned());
    let served_by = response
        .headers()
        .get("x-served-by")
        .map(|v| v.to_str().expect("ascii").to_owned());
    let bytes = response
        .into_body()
        .collect()
        .await
        .expect("body")
        .to_bytes();
    (status, content_type, served_by, bytes.to_vec())
}

fn json_of(bytes: &[u8]) -> Value {
    serde_json::from_slice(bytes)
        .unwrap_or_else(|e| panic!("not JSON ({e}): {}", String::from_utf8_lossy(bytes)))
}

fn full_instance() -> serde_json::Map<String, Value> {
    let (features, rows) = common::dataset_rows(1);
    features
        .iter()
        .zip(&rows[0])
        .map(|(f, v)| (f.clone(), json!(v)))
        .collect()
}

fn instance_with(edit: impl FnOnce(&mut serde_json::Map<String, Value>)) -> Vec<u8> {
    let mut instance = full_instance();
    edit(&mut instance);
    serde_json::to_vec(&json!({ "instances": [instance] })).expect("json")
}

fn columns_with(edit: impl FnOnce(&mut serde_json::Map<String, Value>)) -> Vec<u8> {
    let (features, rows) = common::dataset_rows(2);
    let Value::Object(mut body) = common::columns_body(&features, &rows, &[0, 1]) else {
        unreachable!("columns_body builds an object")
    };
    edit(&mut body);
    serde_json::to_vec(&body).expect("json")
}

#[tokio::test]
async fn every_malformed_body_gets_a_json_4xx_naming_the_problem() {
    let positional_rows = format!(
        "{{\"instances\":[{}[0,0,0,0,0,0,0,0,0,0]]}}",
        "[0,0,0,0,0,0,0,0,0,0],".repeat(10_000)
    );
    let cases: Vec<(&str, Vec<u8>, u16, &str)> = vec![
        ("empty body", b"".to_vec(), 400, "invalid_json"),
        ("plain text", b"hello".to_vec(), 400, "invalid_json"),
        (
            "truncated object",
            b"{\"instances\": [".to_vec(),
            400,
            "invalid_json",
        ),
        (
            "invalid utf-8",
            vec![b'{', 0xff, 0xfe, b'}'],
            400,
            "invalid_json",
        ),
        (
            "trailing garbage",
            b"{\"instances\":[]} x".to_vec(),
            400,
            "invalid_json",
        ),
        ("top-level array", b"[]".to_vec(), 422, "invalid_shape"),
        ("top-level number", b"42".to_vec(), 422, "invalid_shape"),
        ("top-level null", b"null".to_vec(), 422, "invalid_shape"),
        (
            "top-level string",
            b"\"bmi\"".to_vec(),
            422,
            "invalid_shape",
        ),
        ("empty object", b"{}".to_vec(), 422, "empty_input"),
        (
            "no instances",
            b"{\"instances\":[]}".to_vec(),
            422,
            "empty_input",
        ),
        (
            "instances is an object",
            b"{\"instances\":{}}".to_vec(),
            422,
            "invalid_shape",
        ),
        (
            "instances is a string",
            b"{\"instances\":\"x\"}".to_vec(),
            422,
            "invalid_shape",
        ),
        (
            "instance is a number",
            b"{\"instances\":[42]}".to_vec(),
            422,
            "invalid_shape",
        ),
        (
            "positional row too short",
            b"{\"instances\":[[1,2,3]]}".to_vec(),
            422,
            "wrong_arity",
        ),
        (
            "missing feature",
            instance_with(|i| {
                i.remove("bmi");
            }),
            422,
            "missing_feature",
        ),
        (
            "unknown feature",
            instance_with(|i| {
                i.insert("height".into(), json!(1.8));
            }),
            422,
            "unknown_feature",
        ),
        (
            "string value",
            instance_with(|i| {
                i.insert("bmi".into(), json!("0.06"));
            }),
            422,
            "not_a_number",
        ),
        (
            "null value",
            instance_with(|i| {
                i.insert("bmi".into(), Value::Null);
            }),
            422,
            "not_a_number",
        ),
        (
            "boolean value",
            instance_with(|i| {
                i.insert("sex".into(), json!(true));
            }),
            422,
            "not_a_number",
        ),
        (
            "nested value",
            instance_with(|i| {
                i.insert("bp".into(), json!({"v": 1}));
            }),
            422,
            "not_a_number",
        ),
        (
            "columns: missing column",
            columns_with(|b| {
                b.remove("s6");
            }),
            422,
            "missing_feature",
        ),
        (
            "columns: unknown column",
            columns_with(|b| {
                b.insert("weight".into(), json!({"0": 1, "1": 2}));
            }),
            422,
            "unknown_feature",
        ),
        (
            "columns: column is a list",
            columns_with(|b| {
                b.insert("bmi".into(), json!([0.06, 0.01]));
            }),
            422,
            "invalid_shape",
        ),
        (
            "columns: non-integer index",
            columns_with(|b| {
                b.insert("bmi".into(), json!({"a": 1, "1": 2}));
            }),
            422,
            "bad_row_index",
        ),
        (
            "columns: negative index",
            columns_with(|b| {
                b.insert("bmi".into(), json!({"-1": 1, "1": 2}));
            }),
            422,
            "bad_row_index",
        ),
        (
            "columns: ragged",
            columns_with(|b| {
                b.insert("bmi".into(), json!({"0": 1}));
            }),
            422,
            "ragged_columns",
        ),
        (
            "columns: string cell",
            columns_with(|b| {
                b.insert("age".into(), json!({"0": "x", "1": 2}));
            }),
            422,
            "not_a_number",
        ),
        (
            "extra key beside instances",
            b"{\"instances\":[[0,0,0,0,0,0,0,0,0,0]],\"id\":1}".to_vec(),
            422,
            "unknown_feature",
        ),
        (
            "too many rows",
            positional_rows.into_bytes(),
            413,
            "too_many_rows",
        ),
        (
            "body over the size limit",
            vec![b' '; 2 * 1024 * 1024],
            413,
            "body_too_large",
        ),
    ];
    assert!(cases.len() >= 20);
    for (name, body, want_status, want_code) in cases {
        let (status, content_type, served_by, bytes) = call("POST", "/predict", body).await;
        assert_eq!(
            status.as_u16(),
            want_status,
            "{name}: {}",
            String::from_utf8_lossy(&bytes)
        );
        assert_eq!(content_type.as_deref(), Some("application/json"), "{name}");
        assert_eq!(served_by.as_deref(), Some("test-pod-0"), "{name}");
        let body = json_of(&bytes);
        assert_eq!(body["error"]["code"], want_code, "{name}: {body}");
        let message = body["error"]["message"].as_str().unwrap_or_default();
        assert!(!message.is_empty(), "{name}: error message missing");
    }
}

#[tokio::test]
async fn both_request_forms_return_the_predictions_recorded_at_training_time() {
    let model = target_service::Model::bundled().expect("model");
    let features = model.features().to_vec();
    let rows: Vec<Vec<f64>> = model
        .meta()
        .reference
        .iter()
        .map(|r| r.features.clone())
        .collect();
    let want: Vec<f64> = model
        .meta()
        .reference
        .iter()
        .map(|r| r.prediction)
        .collect();
    let index: Vec<u64> = (0..rows.len() as u64).map(|i| i * 7).collect();
    for body in [
        common::instances_body(&features, &rows),
        common::columns_body(&features, &rows, &index),
    ] {
        let (status, _, _, bytes) =
            call("POST", "/predict", serde_json::to_vec(&body).expect("json")).await;
        assert_eq!(status, StatusCode::OK);
        let got: Vec<f64> =
            serde_json::from_value(json_of(&bytes)["prediction"].clone()).expect("numbers");
        assert_eq!(got.len(), want.len());
        for (g, w) in got.iter().zip(&want) {
            assert_eq!(g.to_bits(), w.to_bits(), "got {g}, recorded {w}");
        }
    }
}

#[tokio::test]
async fn flask_style_pandas_payload_is_answered_in_index_order() {
    let model = target_service::Model::bundled().expect("model");
    let features = model.features().to_vec();
    let a = model.meta().reference[0].clone();
    let b = model.meta().reference[1].clone();
    // Row 10 is b, row 9 is a: integer order puts a first although "10" < "9" as strings.
    let body = common::columns_body(
        &features,
        &[b.features.clone(), a.features.clone()],
        &[10, 9],
    );
    let (status, _, _, bytes) =
        call("POST", "/predict", serde_json::to_vec(&body).expect("json")).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        json_of(&bytes),
        json!({ "prediction": [a.prediction, b.prediction] })
    );
}

#[tokio::test]
async fn probes_info_and_metrics_answer() {
    let router = target_service::app(common::state(0));
    let (status, _, served_by, bytes) =
        call_on(router.clone(), "GET", "/health", Body::empty()).await;
    assert_eq!(
        (status, served_by.as_deref()),
        (StatusCode::OK, Some("test-pod-0"))
    );
    assert_eq!(json_of(&bytes), json!({ "status": "ok" }));

    let (status, _, _, bytes) = call("GET", "/ready", Body::empty()).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(json_of(&bytes)["ready"], true);

    let (status, _, _, bytes) = call("GET", "/", Body::empty()).await;
    assert_eq!(status, StatusCode::OK);
    let info = json_of(&bytes);
    assert_eq!(info["model"]["features"].as_array().map(Vec::len), Some(10));
    assert_eq!(info["served_by"], "test-pod-0");
    assert!(info["model"]["holdout"]["rmse"].as_f64().is_some());

    let (features, rows) = common::dataset_rows(3);
    let body = serde_json::to_vec(&common::instances_body(&features, &rows)).expect("json");
    let (status, ..) = call_on(router.clone(), "POST", "/predict", body).await;
    assert_eq!(status, StatusCode::OK);
    let (status, ..) = call_on(router.clone(), "POST", "/predict", "{}").await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);

    let (status, content_type, _, bytes) = call_on(router, "GET", "/metrics", Body::empty()).await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        content_type
            .unwrap_or_default()
            .starts_with("application/openmetrics-text")
    );
    let text = String::from_utf8(bytes).expect("utf-8");
    for line in [
        "target_service_http_requests_total{method=\"GET\",route=\"/health\",status=\"200\"} 1",
        "target_service_http_requests_total{method=\"POST\",route=\"/predict\",status=\"200\"} 1",
        "target_service_http_requests_total{method=\"POST\",route=\"/predict\",status=\"422\"} 1",
        "target_service_predictions_total 3",
        "target_service_http_request_duration_seconds_count{route=\"/predict\"} 2",
    ] {
        assert!(
            text.lines().any(|l| l == line),
            "missing {line:?} in\n{text}"
        );
    }
    assert!(text.ends_with("# EOF\n"), "{text}");
}

#[tokio::test]
async fn unknown_routes_and_methods_get_json_errors() {
    let (status, content_type, served_by, bytes) = call("GET", "/nope", Body::empty()).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(content_type.as_deref(), Some("application/json"));
    assert!(served_by.is_some());
    assert_eq!(json_of(&bytes)["error"]["code"], "not_found");

    let (status, content_type, _, bytes) = call("GET", "/predict", Body::empty()).await;
    assert_eq!(status, StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(content_type.as_deref(), Some("application/json"));
    assert_eq!(json_of(&bytes)["error"]["code"], "method_not_allowed");
}

#[tokio::test]
async fn readiness_turns_503_when_draining() {
    let state = common::state(0);
    state.start_draining();
    let router = target_service::app(state);
    let response = router
        .oneshot(Request::get("/ready").body(Body::empty()).expect("request"))
        .await
        .expect("infallible");
    assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
}
