//! The built `target-service` binary: it prints its address, serves, and drains on SIGTERM.

mod common;

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

struct Service {
    child: Child,
    base: String,
}

impl Drop for Service {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn spawn(args: &[&str]) -> Service {
    let mut child = Command::new(env!("CARGO_BIN_EXE_target-service"))
        .args([
            "--bind",
            "127.0.0.1",
            "--port",
            "0",
            "--served-by",
            "bin-pod-1",
        ])
        .args(args)
        .env_remove("POD_NAME")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn target-service");
    let stdout = child.stdout.take().expect("stdout piped");
    let mut line = String::new();
    BufReader::new(stdout)
        .read_line(&mut line)
        .expect("read address line");
    let addr = line
        .trim()
        .strip_prefix("target-service listening on ")
        .unwrap_or_else(|| panic!("unexpected first line {line:?}"))
        .to_owned();
    Service {
        child,
        base: format!("http://{addr}"),
    }
}

fn in_flight(metrics: &str) -> i64 {
    metrics
        .lines()
        .find_map(|l| l.strip_prefix("target_service_http_requests_in_flight "))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(0)
}

#[test]
fn help_lists_the_knobs() {
    let out = Command::new(env!("CARGO_BIN_EXE_target-service"))
        .arg("--help")
        .output()
        .expect("run --help");
    assert!(out.status.success());
    let text = String::from_utf8_lossy(&out.stdout);
    for flag in [
        "--port",
        "--work-factor",
        "--drain-delay",
        "--grace-period",
        "--model",
        "train",
    ] {
        assert!(text.contains(flag), "--help lacks {flag}:\n{text}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_drains_in_flight_requests_and_exits_cleanly() {
    // Each request busy for ~300 ms, so they are still in flight when the signal lands.
    let work = common::work_factor_for(Duration::from_millis(300)).to_string();
    let mut service = spawn(&[
        "--work-factor",
        &work,
        "--drain-delay",
        "300ms",
        "--grace-period",
        "20s",
    ]);
    let client = reqwest::Client::new();
    let (features, rows) = common::dataset_rows(1);
    let body = serde_json::to_vec(&common::instances_body(&features, &rows)).expect("json");
    let requests: Vec<_> = (0..8)
        .map(|_| {
            tokio::spawn(
                client
                    .post(format!("{}/predict", service.base))
                    .body(body.clone())
                    .send(),
            )
        })
        .collect();
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let metrics = client
            .get(format!("{}/metrics", service.base))
            .send()
            .await
            .expect("metrics");
        // The /metrics request itself is one of the in-flight ones.
        if in_flight(&metrics.text().await.expect("text")) >= 9 {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "requests never got in flight (work factor {work})"
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }

    let kill = Command::new("kill")
        .args(["-TERM", &service.child.id().to_string()])
        .status()
        .expect("run kill");
    assert!(kill.success());
    let ready = reqwest::Client::new()
        .get(format!("{}/ready", service.base))
        .send()
        .await
        .expect("still listening during the drain delay");
    assert_eq!(ready.status(), 503);
    assert_eq!(ready.headers()["x-served-by"], "bin-pod-1");

    for request in requests {
        let response = request
            .await
            .expect("task")
            .expect("in-flight request completes");
        assert_eq!(
            response.status(),
            200,
            "an in-flight request failed during the drain"
        );
    }
    let deadline = Instant::now() + Duration::from_secs(20);
    let status = loop {
        if let Some(status) = service.child.try_wait().expect("wait") {
            break status;
        }
        assert!(
            Instant::now() < deadline,
            "process did not exit after draining"
        );
        std::thread::sleep(Duration::from_millis(20));
    };
    assert!(status.success(), "exit status {status}");
}

#[test]
fn unreadable_model_file_fails_with_a_clear_message() {
    let out = Command::new(env!("CARGO_BIN_EXE_target-service"))
        .args(["--port", "0", "--model", "/nonexistent/model.json"])
        .output()
        .expect("run");
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("cannot read model file /nonexistent/model.json"),
        "{stderr}"
    );
}
