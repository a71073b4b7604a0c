//! `scaleproof capacity` end to end, on loopback: the search against a local replica of a
//! service whose capacity is known (a standard-library Python app that serves at most two
//! requests at a time, 10 ms each: ~190 requests/s at most), and against one that fails the
//! SLO at the lowest rate.

use scaleproof::capacity::{CapacityDoc, Ending, Outcome};
use std::path::Path;
use std::process::Command;

fn app() -> String {
    format!(
        "python3 {}/tests/apps/cpu_app.py {{port}}",
        env!("CARGO_MANIFEST_DIR")
    )
}

fn capacity(out: &Path, env: &[&str], extra: &[&str]) -> (Option<i32>, String) {
    let mut command = Command::new(env!("CARGO_BIN_EXE_scaleproof"));
    command
        .args([
            "capacity",
            "--replica-cmd",
            &app(),
            "--ready-path",
            "/health",
        ])
        .args(["--slo-p95", "50ms", "--target-rps", "1000", "--out"])
        .arg(out);
    for e in env {
        command.args(["--replica-env", e]);
    }
    let o = command.args(extra).output().expect("run");
    (
        o.status.code(),
        String::from_utf8_lossy(&o.stderr).into_owned(),
    )
}

fn read(out: &Path) -> (std::path::PathBuf, CapacityDoc) {
    let dir = crate::common::only_run_dir(out);
    let text = std::fs::read_to_string(dir.join("capacity.json")).expect("capacity.json");
    (
        dir,
        serde_json::from_str(&text).expect("a capacity document"),
    )
}

#[test]
fn a_known_capacity_is_found_within_the_precision_and_planned_for() {
    // No other load beside it (the lock order of every test that takes both): a Python
    // replica's p95 near its knee moves with a second load on two cores.
    let _attack = crate::common::one_attack_at_a_time();
    let _one = crate::common::one_local_run_at_a_time();
    let tmp = tempfile::tempdir().expect("tempdir");
    let out = tmp.path().join("runs");
    let (code, err) = capacity(
        &out,
        &["CONCURRENCY=2", "SLEEP_MS=10", "WORK_MS=0"],
        &[
            "--start-rps",
            "100",
            "--step-requests",
            "300",
            "--precision",
            "10%",
        ],
    );
    assert_eq!(code, Some(0), "{err}");
    let (dir, doc) = read(&out);
    assert_eq!(doc.ending, Ending::Converged, "{err}");
    let (knee, fail) = (doc.knee_rps.expect("knee"), doc.fail_rps.expect("fail"));
    // Two slots of ≥ 10 ms: at most 200 rps, less once p95 must stay under 50 ms.
    assert!((120.0..=210.0).contains(&knee), "{knee}\n{err}");
    assert!(
        fail > knee && fail - knee <= 0.10 * knee + 1.0,
        "{knee}..{fail}"
    );
    // Every step at or below the knee held the SLO, every one at or above the fail did not.
    for s in &doc.steps {
        assert_eq!(s.replicas, 1);
        if s.offered_rps <= knee {
            assert_eq!(s.outcome, Outcome::Pass, "{s:?}");
            assert!(s.p95_corrected_ms.is_some_and(|p| p <= 50.0), "{s:?}");
        } else {
            assert_eq!(s.outcome, Outcome::Fail, "{s:?}");
        }
        // Each step is an ordinary run directory, with its report.
        assert!(dir.join(&s.run_dir).join("report.html").is_file(), "{s:?}");
        // Every planned slot is accounted for: sent and completed, dropped or cancelled.
        assert_eq!(
            s.requests + s.dropped + s.cancelled,
            (s.offered_rps * s.planned_s) as u64,
            "{s:?}"
        );
    }
    // The search: 100 passes, 200 fails, then bisection.
    let rates: Vec<f64> = doc.steps.iter().map(|s| s.offered_rps).collect();
    assert_eq!(rates[..3], [100.0, 200.0, 150.0], "{rates:?}");
    let plan = doc.plan.as_ref().expect("plan");
    assert_eq!(
        plan.replicas_for_target,
        (1000.0 / (knee * 0.7)).ceil() as u32
    );
    assert!(plan.replicas_for_target >= (1000.0 / knee).ceil() as u32);
    // Its CPU is far below the request: the plan says CPU is not what limits it.
    assert!(
        plan.assumptions
            .iter()
            .any(|a| a.contains("something other than CPU")),
        "{:?}",
        plan.assumptions
    );
    let yaml = std::fs::read_to_string(dir.join("hpa.yaml")).expect("hpa.yaml");
    let t = plan.hpa_target_pct.expect("a CPU target");
    assert!(
        yaml.contains(&format!("averageUtilization: {t}\n")),
        "{yaml}"
    );
    let verify = doc.verify_command.as_deref().expect("verify");
    assert!(verify.contains("--replica-env CONCURRENCY=2"), "{verify}");
    assert!(verify.contains(&format!("--expect-replicas {}", plan.replicas_for_target)));
    // capacity.csv has one row per step; the chart and its slide are 1920×1080.
    let csv = std::fs::read_to_string(dir.join("capacity.csv")).expect("csv");
    assert_eq!(csv.lines().count(), doc.steps.len() + 1);
    assert!(csv.starts_with("step,replicas,offered_rps,"));
    for png in ["capacity.png", "slides/capacity.png"] {
        assert_eq!(crate::report::png_size(&dir.join(png)), (1920, 1080));
    }
    assert!(doc.local && doc.notes.iter().any(|n| n.starts_with("LOCAL")));
    assert!(err.contains("knee (1 replica)"), "{err}");
    // The capacity directory is an ordinary run directory too: the steps back to back.
    let run = scaleproof::timeline::RunDir::open(&dir);
    let meta = run.read_meta().expect("run.json");
    let rows: Vec<scaleproof::timeline::TimelineRow> =
        run.read(&scaleproof::timeline::TIMELINE).expect("timeline");
    let requests: u64 = doc.steps.iter().map(|s| s.requests).sum();
    assert_eq!(meta.totals.requests, requests);
    assert_eq!(rows.iter().map(|r| r.requests).sum::<u64>(), requests);
    let seconds: Vec<u64> = rows.iter().map(|r| r.t_s).collect();
    assert_eq!(
        seconds,
        (0..rows.len() as u64).collect::<Vec<_>>(),
        "back to back"
    );
    assert!(dir.join("report.html").is_file() && dir.join("summary.json").is_file());
    let re = Command::new(env!("CARGO_BIN_EXE_scaleproof"))
        .arg("report")
        .arg(&dir)
        .output()
        .expect("report");
    let re_err = String::from_utf8_lossy(&re.stderr);
    assert_eq!(
        re.status.code(),
        Some(0),
        "no expectations, so no failure: {re_err}"
    );
}

#[test]
fn a_service_that_fails_at_the_first_step_is_below_it_and_exits_1() {
    // No other load beside it (the lock order of every test that takes both): a Python
    // replica's p95 near its knee moves with a second load on two cores.
    let _attack = crate::common::one_attack_at_a_time();
    let _one = crate::common::one_local_run_at_a_time();
    let tmp = tempfile::tempdir().expect("tempdir");
    let out = tmp.path().join("runs");
    // One slot of 200 ms: 5 requests/s at most, against a first step of 25.
    let (code, err) = capacity(
        &out,
        &["CONCURRENCY=1", "SLEEP_MS=200", "WORK_MS=0"],
        &["--step-requests", "100"],
    );
    assert_eq!(code, Some(1), "{err}");
    let (_, doc) = read(&out);
    assert_eq!(doc.ending, Ending::BelowFirstStep);
    assert_eq!((doc.knee_rps, doc.fail_rps), (None, Some(25.0)));
    assert_eq!(doc.steps.len(), 1);
    assert_eq!(doc.steps[0].outcome, Outcome::Fail);
    // Its last requests time out (10× the 50 ms p95, at least 2 s): the step ends soon after
    // its 5 s instead of waiting for the queue.
    assert!(
        doc.steps[0].duration_s < 5.0 + 2.0 + 1.0,
        "{:?}",
        doc.steps[0]
    );
    assert!(doc.plan.is_none() && doc.verify_command.is_none());
    assert!(err.contains("below 25 rps: the first step failed"), "{err}");
}

/// A Deployment `web` with `ready` of 1 ready pods (selector app=web), CPU request 250m.
fn web(fake: &crate::fake_apiserver::FakeApiServer, ready: u64) {
    use crate::fake_apiserver::Kind;
    fake.apply(
        Kind::Deployment,
        serde_json::json!({
            "metadata": {"name": "web", "namespace": "demo"},
            "spec": {"replicas": ready, "selector": {"matchLabels": {"app": "web"}},
                "template": {"metadata": {"labels": {"app": "web"}},
                    "spec": {"containers": [{"name": "api", "image": "registry.example/api:1",
                        "resources": {"requests": {"cpu": "250m"}}}]}}},
            "status": {"replicas": ready, "updatedReplicas": ready, "readyReplicas": ready,
                "availableReplicas": ready}
        }),
    );
    for i in 0..ready {
        fake.apply(
            Kind::Pod,
            serde_json::json!({
                "metadata": {"name": format!("web-{i}"), "namespace": "demo",
                    "labels": {"app": "web"}},
                "status": {"phase": "Running",
                    "conditions": [{"type": "Ready", "status": "True"}]}
            }),
        );
    }
}

/// Serves the pod's PodMetrics as metrics-server would, a fresh 1 s window every 200 ms,
/// until the returned flag is set.
fn metrics_server(
    fake: std::sync::Arc<crate::fake_apiserver::FakeApiServer>,
) -> std::sync::Arc<std::sync::atomic::AtomicBool> {
    use std::sync::atomic::{AtomicBool, Ordering};
    let stop = std::sync::Arc::new(AtomicBool::new(false));
    let stopped = stop.clone();
    std::thread::spawn(move || {
        while !stopped.load(Ordering::Relaxed) {
            let now = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
            fake.apply(
                crate::fake_apiserver::Kind::PodMetrics,
                serde_json::json!({
                    "metadata": {"name": "web-0", "namespace": "demo", "labels": {"app": "web"}},
                    "timestamp": now, "window": "1s",
                    "containers": [{"name": "api", "usage": {"cpu": "200m", "memory": "40Mi"}}]
                }),
            );
            std::thread::sleep(std::time::Duration::from_millis(200));
        }
    });
    stop
}

#[test]
fn one_pod_of_a_watched_deployment_has_its_cpu_from_the_metrics_api() {
    let _one = crate::common::one_attack_at_a_time();
    let fake = std::sync::Arc::new(crate::fake_apiserver::FakeApiServer::start());
    web(&fake, 1);
    let stop = metrics_server(fake.clone());
    let tmp = tempfile::tempdir().expect("tempdir");
    let kubeconfig = fake.kubeconfig(tmp.path(), "demo");
    let target = crate::common::Target::start("web-0", None);
    let out = tmp.path().join("runs");
    let o = Command::new(env!("CARGO_BIN_EXE_scaleproof"))
        .args(["capacity", "--host", &target.base, "--deployment", "web"])
        .args([
            "--start-rps",
            "100",
            "--max-rps",
            "200",
            "--step-requests",
            "300",
        ])
        .arg("--out")
        .arg(&out)
        .env("KUBECONFIG", &kubeconfig)
        .env_remove("HOME")
        .output()
        .expect("run");
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let err = String::from_utf8_lossy(&o.stderr).into_owned();
    // 100 and 200 rps both hold: the knee is at least the highest rate allowed (exit 4).
    assert_eq!(o.status.code(), Some(4), "{err}");
    let (dir, doc) = read(&out);
    assert_eq!(doc.ending, Ending::AboveMaxRate);
    assert_eq!(doc.knee_rps, Some(200.0));
    for s in &doc.steps {
        // Each step's CPU is the mean of the metrics windows wholly inside it.
        assert_eq!(s.cpu_m, Some(200.0), "{s:?}\n{:?}\n{err}", doc.notes);
    }
    assert_eq!(doc.knee_cpu_m, Some(200.0));
    let plan = doc.plan.as_ref().expect("plan");
    assert_eq!(
        plan.knee_utilization_pct,
        Some(80.0),
        "200m of the 250m request"
    );
    let yaml = std::fs::read_to_string(dir.join("hpa.yaml")).expect("hpa.yaml");
    assert!(yaml.contains("  name: web\n"), "{yaml}");
    let verify = doc.verify_command.as_deref().expect("verify");
    assert!(
        verify.contains(&format!("--host {}", target.base)),
        "{verify}"
    );
    assert!(verify.contains("--deployment web"), "{verify}");
    assert!(!doc.local);
}

#[test]
fn a_deployment_with_two_ready_pods_is_refused_with_the_reason() {
    let _one = crate::common::one_attack_at_a_time();
    let fake = crate::fake_apiserver::FakeApiServer::start();
    web(&fake, 2);
    let tmp = tempfile::tempdir().expect("tempdir");
    let kubeconfig = fake.kubeconfig(tmp.path(), "demo");
    let target = crate::common::Target::start("web-0", None);
    let o = Command::new(env!("CARGO_BIN_EXE_scaleproof"))
        .args(["capacity", "--host", &target.base, "--deployment", "web"])
        .args(["--start-rps", "50", "--step-requests", "100", "--out"])
        .arg(tmp.path().join("runs"))
        .env("KUBECONFIG", &kubeconfig)
        .env_remove("HOME")
        .output()
        .expect("run");
    let err = String::from_utf8_lossy(&o.stderr).into_owned();
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert!(
        err.contains("the Deployment had 2 ready pods during the step, and capacity measures one replica's knee: scale it to one (kubectl scale deployment/web --replicas=1)"),
        "{err}"
    );
}
