//! A benchmark helper: `bench/watcher.py` runs it (`cargo run --profile optimized --example
//! watcher_bench`).
//!
//! It starts the fake API server (the test double in `fake_apiserver/`), seeds a Deployment
//! `web` in namespace `demo` with its HPA and `SCALEPROOF_BENCH_PODS` pods, writes a kubeconfig
//! into `SCALEPROOF_BENCH_DIR`, waits for a watcher to follow the pods, then changes one pod's
//! readiness `SCALEPROOF_BENCH_CHURN` times per second for `SCALEPROOF_BENCH_SECONDS` seconds,
//! so that every update moves the ready count by one. With `SCALEPROOF_BENCH_SLICES=1` the
//! Service's EndpointSlice (listing every pod) is rewritten with each update too, as the
//! EndpointSlice controller does. Each update is logged as `unix_ms,pods_ready` in
//! `applied.csv`, for the script to measure how late the watcher saw it.

#[path = "../tests/fake_apiserver/mod.rs"]
mod fake_apiserver;

use fake_apiserver::{FakeApiServer, Kind};
use serde_json::json;
use std::io::Write;
use std::path::PathBuf;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

fn env<T: std::str::FromStr>(name: &str) -> T {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| panic!("{name} must be set (bench/watcher.py sets it)"))
}

fn pod(i: usize, ready: bool) -> serde_json::Value {
    json!({
        "metadata": {"name": format!("web-7d9f-{i:04}"), "namespace": "demo",
                     "labels": {"app": "web"}},
        "status": {"phase": "Running", "conditions": [
            {"type": "Ready", "status": if ready { "True" } else { "False" }}]}
    })
}

/// The Service's one EndpointSlice, each pod ready as `ready` says.
fn slice(ready: &[bool]) -> serde_json::Value {
    let endpoints: Vec<serde_json::Value> = ready
        .iter()
        .enumerate()
        .map(|(i, r)| {
            json!({"addresses": [format!("10.1.{}.{}", i / 250, i % 250 + 1)],
                   "conditions": {"ready": r},
                   "targetRef": {"kind": "Pod", "name": format!("web-7d9f-{i:04}")}})
        })
        .collect();
    json!({
        "metadata": {"name": "web-x1", "namespace": "demo",
                     "labels": {"kubernetes.io/service-name": "web"}},
        "addressType": "IPv4",
        "endpoints": endpoints
    })
}

fn main() {
    let dir: PathBuf = env::<String>("SCALEPROOF_BENCH_DIR").into();
    let pods: usize = env("SCALEPROOF_BENCH_PODS");
    let churn: f64 = env("SCALEPROOF_BENCH_CHURN");
    let seconds: f64 = env("SCALEPROOF_BENCH_SECONDS");
    let slices = std::env::var("SCALEPROOF_BENCH_SLICES").is_ok_and(|v| v == "1");
    let mut state = vec![false; pods];
    let fake = FakeApiServer::start();
    fake.apply(
        Kind::Deployment,
        json!({
            "metadata": {"name": "web", "namespace": "demo"},
            "spec": {"replicas": pods, "selector": {"matchLabels": {"app": "web"}},
                     "template": {"metadata": {"labels": {"app": "web"}}}},
            "status": {"replicas": pods, "readyReplicas": 0}
        }),
    );
    fake.apply(
        Kind::Hpa,
        json!({
            "metadata": {"name": "web", "namespace": "demo"},
            "spec": {"maxReplicas": pods, "scaleTargetRef": {"kind": "Deployment", "name": "web"}},
            "status": {"currentReplicas": pods, "desiredReplicas": pods}
        }),
    );
    for i in 0..pods {
        fake.apply(Kind::Pod, pod(i, false));
    }
    if slices {
        fake.apply(Kind::EndpointSlice, slice(&state));
    }
    let kubeconfig = fake.kubeconfig(&dir, "demo");
    std::fs::write(
        dir.join("kubeconfig.ready"),
        kubeconfig.display().to_string(),
    )
    .expect("signal");
    let until = Instant::now() + Duration::from_secs(120);
    while fake.watches_of("pods") == 0 {
        assert!(Instant::now() < until, "no watcher came");
        std::thread::sleep(Duration::from_millis(5));
    }
    // Let the run start before the churn does.
    std::thread::sleep(Duration::from_secs(2));
    let mut log = std::io::BufWriter::new(
        std::fs::File::create(dir.join("applied.csv")).expect("applied.csv"),
    );
    writeln!(log, "unix_ms,pods_ready").expect("write");
    let start = Instant::now();
    let total = (churn * seconds) as usize;
    let mut ready = 0usize;
    for k in 0..total {
        let due = start + Duration::from_secs_f64(k as f64 / churn);
        std::thread::sleep(due.saturating_duration_since(Instant::now()));
        // Pods become ready one by one, then unready one by one: each update moves the count.
        let i = k % pods;
        let up = (k / pods).is_multiple_of(2);
        // The write's time is taken before it is made: the lag includes the fake's own work.
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .expect("clock")
            .as_millis();
        fake.apply(Kind::Pod, pod(i, up));
        if slices {
            state[i] = up;
            fake.apply(Kind::EndpointSlice, slice(&state));
        }
        ready = if up { ready + 1 } else { ready - 1 };
        writeln!(log, "{now},{ready}").expect("write");
    }
    log.flush().expect("flush");
    std::fs::write(dir.join("churn.done"), total.to_string()).expect("signal");
    // Serve until the script has finished its run.
    let until = Instant::now() + Duration::from_secs(60);
    while !dir.join("stop").exists() && Instant::now() < until {
        std::thread::sleep(Duration::from_millis(20));
    }
}
