//! Property test of `POST /predict` over real HTTP on 127.0.0.1: 10,000 generated bodies —
//! random JSON, truncated and mutated valid bodies (both forms), deep nesting, huge and
//! non-finite numbers, wrong types, raw bytes — each must get a JSON 4xx, or a 200 with one
//! prediction per row it holds; never a 5xx, a panic or a hang.
//!
//! Generation is deterministic (a seeded xorshift generator), so a failure names its case
//! number and `BODIES_SEED=<seed>` reproduces the whole sequence.

mod common;

use serde_json::{Map, Value, json};
use std::time::Duration;
use target_service::DrainConfig;

const CASES: usize = 10_000;
const CONCURRENCY: usize = 8;

/// xorshift64*: small, fast, and the same sequence on every machine.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }

    fn chance(&mut self, percent: u64) -> bool {
        self.next() % 100 < percent
    }
}

/// Raw number texts serde_json would never write: huge, tiny, long, non-finite, odd forms.
const ODD_NUMBERS: &[&str] = &[
    "1e999",
    "-1e999",
    "1e-400",
    "123456789012345678901234567890",
    "-0",
    "0.0000000000000000000000001",
    "NaN",
    "Infinity",
    "-Infinity",
    "1.7976931348623157e309",
    "01",
    "1.",
    ".5",
    "+1",
    "0x10",
];

/// Values of the wrong type for a feature.
const WRONG_TYPES: &[&str] = &[
    "\"0.05\"",
    "\"\"",
    "[]",
    "{}",
    "true",
    "null",
    "[0.05]",
    "{\"0\":1}",
];

fn random_json(rng: &mut Rng, features: &[String], depth: usize) -> Value {
    match rng.below(if depth == 0 { 4 } else { 7 }) {
        0 => Value::Null,
        1 => json!(rng.chance(50)),
        2 => json!((rng.next() as i64 as f64) / 1e12),
        3 => json!(features[rng.below(features.len())].clone()),
        4 => Value::Array(
            (0..rng.below(5))
                .map(|_| random_json(rng, features, depth - 1))
                .collect(),
        ),
        _ => {
            let mut m = Map::new();
            for _ in 0..rng.below(6) {
                let key = match rng.below(4) {
                    0 => "instances".to_owned(),
                    1 => rng.below(3).to_string(),
                    _ => features[rng.below(features.len())].clone(),
                };
                m.insert(key, random_json(rng, features, depth - 1));
            }
            Value::Object(m)
        }
    }
}

/// A valid body in either form with 1..=4 rows.
fn valid_body(rng: &mut Rng, features: &[String], rows: &[Vec<f64>]) -> String {
    let n = 1 + rng.below(4);
    let start = rng.below(rows.len() - n);
    let chosen = &rows[start..start + n];
    let body = if rng.chance(50) {
        common::instances_body(features, chosen)
    } else {
        let index: Vec<u64> = (0..n as u64).map(|i| i * 3 + 7).collect();
        common::columns_body(features, chosen, &index)
    };
    body.to_string()
}

/// Replaces the `k`-th number in `text` with `with`.
fn replace_number(text: &str, rng: &mut Rng, with: &str) -> String {
    let starts: Vec<usize> = text
        .char_indices()
        .filter(|&(i, c)| (c.is_ascii_digit() || c == '-') && text[..i].ends_with([':', '[', ',']))
        .map(|(i, _)| i)
        .collect();
    if starts.is_empty() {
        return text.to_owned();
    }
    let at = starts[rng.below(starts.len())];
    let end = text[at..]
        .find([',', '}', ']'])
        .map_or(text.len(), |e| at + e);
    format!("{}{with}{}", &text[..at], &text[end..])
}

fn generate(rng: &mut Rng, features: &[String], rows: &[Vec<f64>]) -> Vec<u8> {
    match rng.below(8) {
        0 => random_json(rng, features, 4).to_string().into_bytes(),
        1 => {
            let body = valid_body(rng, features, rows).into_bytes();
            let cut = rng.below(body.len());
            body[..cut].to_vec()
        }
        2 => {
            let mut body = valid_body(rng, features, rows).into_bytes();
            for _ in 0..1 + rng.below(4) {
                let i = rng.below(body.len());
                match rng.below(3) {
                    0 => body[i] = rng.next() as u8,
                    1 => body.insert(i, b"{}[]\",:-0e9\\"[rng.below(12)]),
                    _ => {
                        body.remove(i);
                    }
                }
            }
            body
        }
        3 => {
            let n = 1 + rng.below(5000);
            let (open, close) = if rng.chance(50) {
                ("[", "]")
            } else {
                ("{\"a\":", "}")
            };
            let inner = format!("{}1{}", open.repeat(n), close.repeat(n));
            if rng.chance(50) {
                format!("{{\"instances\":{inner}}}").into_bytes()
            } else {
                inner.into_bytes()
            }
        }
        4 => {
            let odd = ODD_NUMBERS[rng.below(ODD_NUMBERS.len())];
            replace_number(&valid_body(rng, features, rows), rng, odd).into_bytes()
        }
        5 => {
            let wrong = WRONG_TYPES[rng.below(WRONG_TYPES.len())];
            replace_number(&valid_body(rng, features, rows), rng, wrong).into_bytes()
        }
        6 => (0..rng.below(200)).map(|_| rng.next() as u8).collect(),
        _ => valid_body(rng, features, rows).into_bytes(),
    }
}

/// Rows a body that the service accepted must have held: `instances`' length, or the number
/// of index labels of the column form.
fn rows_in(body: &[u8]) -> Option<usize> {
    let value: Value = serde_json::from_slice(body).ok()?;
    let object = value.as_object()?;
    match object.get("instances") {
        Some(Value::Array(items)) => Some(items.len()),
        _ => object.values().next()?.as_object().map(Map::len),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn generated_bodies_get_a_json_4xx_or_the_right_predictions_never_a_5xx() {
    let seed: u64 = std::env::var("BODIES_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(0x5CA1_E9F0_0F5E_ED01);
    let (features, rows) = common::dataset_rows(40);
    let mut rng = Rng(seed);
    let bodies: Vec<Vec<u8>> = (0..CASES)
        .map(|_| generate(&mut rng, &features, &rows))
        .collect();
    let server = common::start(common::state(0), DrainConfig::default()).await;
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .build()
        .expect("client");
    let url = format!("{}/predict", server.base);
    let bodies = std::sync::Arc::new(bodies);
    let mut tasks = tokio::task::JoinSet::new();
    for worker in 0..CONCURRENCY {
        let (client, url, bodies) = (client.clone(), url.clone(), bodies.clone());
        tasks.spawn(async move {
            let mut outcomes = [0usize; 2]; // [200, 4xx]
            for case in (worker..CASES).step_by(CONCURRENCY) {
                let body = &bodies[case];
                let shown = String::from_utf8_lossy(&body[..body.len().min(300)]).into_owned();
                let response = client
                    .post(&url)
                    .header("content-type", "application/json")
                    .body(body.clone())
                    .send()
                    .await
                    .unwrap_or_else(|e| panic!("case {case}: no answer ({e}): {shown}"));
                let status = response.status().as_u16();
                let json_type = response
                    .headers()
                    .get("content-type")
                    .and_then(|v| v.to_str().ok())
                    .is_some_and(|v| v.starts_with("application/json"));
                let answer: Value = response.json().await.unwrap_or_else(|e| {
                    panic!("case {case}: {status} body is not JSON ({e}): {shown}")
                });
                assert!(
                    json_type,
                    "case {case}: {status} not application/json: {shown}"
                );
                match status {
                    200 => {
                        let predictions = answer["prediction"].as_array().unwrap_or_else(|| {
                            panic!("case {case}: 200 without predictions: {answer}")
                        });
                        assert_eq!(
                            Some(predictions.len()),
                            rows_in(body),
                            "case {case}: {shown}"
                        );
                        assert!(
                            predictions
                                .iter()
                                .all(|p| p.as_f64().is_some_and(f64::is_finite))
                        );
                        outcomes[0] += 1;
                    }
                    400..=499 => {
                        assert!(
                            answer["error"]["message"].is_string(),
                            "case {case}: {status} {answer}: {shown}"
                        );
                        outcomes[1] += 1;
                    }
                    other => panic!("case {case}: status {other} {answer}: {shown}"),
                }
            }
            outcomes
        });
    }
    let mut totals = [0usize; 2];
    while let Some(done) = tasks.join_next().await {
        let outcomes = done.expect("a worker panicked (see above)");
        totals[0] += outcomes[0];
        totals[1] += outcomes[1];
    }
    eprintln!("200: {}, 4xx: {}", totals[0], totals[1]);
    assert_eq!(totals[0] + totals[1], CASES);
    // Both paths were exercised: valid bodies predicted, broken ones refused.
    assert!(totals[0] >= CASES / 10, "{totals:?}");
    assert!(totals[1] >= CASES / 2, "{totals:?}");
    // The service counted every request, and is still healthy.
    assert_eq!(
        server.state.metrics().requests_total("/predict"),
        CASES as u64
    );
    let health = client
        .get(format!("{}/health", server.base))
        .send()
        .await
        .expect("health");
    assert_eq!(health.status(), 200);
}
