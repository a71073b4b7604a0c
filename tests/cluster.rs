//! The cluster watcher against `fake_apiserver` (a test double of the Kubernetes API server
//! that speaks the real list/watch protocol; see its module docs). A run in which the
//! Deployment scales 1 → 4 through a cut watch and a forced 410; RBAC denial; an unreachable
//! cluster; a missing Deployment; and the binary end to end through a temporary kubeconfig.

use crate::common;
use crate::fake_apiserver;

use chrono::{DateTime, Utc};
use fake_apiserver::{FakeApiServer, Kind};
use scaleproof::cluster::{ClusterOptions, ClusterRecording, ClusterWatch};
use scaleproof::timeline::{self, ClusterChangeRow, ClusterSample, EventRow, RunMeta, TimelineRow};
use serde_json::{Value, json};
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

const NS: &str = "demo";

fn deployment(spec: u64, ready: u64) -> Value {
    json!({
        "metadata": {"name": "web", "namespace": NS, "labels": {"app": "web"}},
        "spec": {
            "replicas": spec,
            "selector": {"matchLabels": {"app": "web", "tier": "api"}},
            "template": {
                "metadata": {"labels": {"app": "web", "tier": "api"}},
                "spec": {"containers": [{
                    "name": "target-service",
                    "image": "registry.example/target-service:0.1.0",
                    "resources": {"requests": {"cpu": "250m", "memory": "64Mi"},
                                  "limits": {"cpu": "1", "memory": "256Mi"}}
                }]}
            }
        },
        "status": {"replicas": spec, "updatedReplicas": spec, "readyReplicas": ready,
                   "availableReplicas": ready}
    })
}

fn hpa(current: u64, desired: u64, cpu: u64) -> Value {
    json!({
        "metadata": {"name": "web", "namespace": NS},
        "spec": {
            "scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": "web"},
            "minReplicas": 1, "maxReplicas": 4,
            "metrics": [{"type": "Resource", "resource": {"name": "cpu",
                "target": {"type": "Utilization", "averageUtilization": 50}}}],
            "behavior": {"scaleUp": {"stabilizationWindowSeconds": 0}}
        },
        "status": {"currentReplicas": current, "desiredReplicas": desired,
            "currentMetrics": [{"type": "Resource", "resource": {"name": "cpu",
                "current": {"averageUtilization": cpu}}}]}
    })
}

fn pod(name: &str, phase: &str, ready: bool) -> Value {
    json!({
        "metadata": {"name": name, "namespace": NS, "labels": {"app": "web", "tier": "api"}},
        "status": {"phase": phase, "conditions": [
            {"type": "Ready", "status": if ready { "True" } else { "False" }}]}
    })
}

fn event(name: &str, kind: &str, object: &str, reason: &str, message: &str) -> Value {
    json!({
        "metadata": {"name": name, "namespace": NS},
        "involvedObject": {"kind": kind, "name": object, "namespace": NS},
        "reason": reason, "message": message, "type": "Normal", "count": 1,
        "lastTimestamp": Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
    })
}

/// The cluster before the run: one ready replica, an idle HPA, an unrelated pod, and events
/// that must never show up (old ones, and one about another Deployment).
fn seed(fake: &FakeApiServer) {
    fake.apply(Kind::Deployment, deployment(1, 1));
    fake.apply(Kind::Hpa, hpa(1, 1, 20));
    fake.apply(Kind::Pod, pod("web-7d9f-a", "Running", true));
    let mut other = pod("other-1", "Running", true);
    other["metadata"]["labels"] = json!({"app": "other"});
    fake.apply(Kind::Pod, other);
    fake.apply(
        Kind::Event,
        event(
            "old.1",
            "Deployment",
            "web",
            "ScalingReplicaSet",
            "Scaled down replica set web-6c4d to 0 from 1",
        ),
    );
    fake.apply(
        Kind::Event,
        event(
            "old.2",
            "Pod",
            "web-6c4d-z",
            "Killing",
            "Stopping container target-service",
        ),
    );
}

fn options(fake: &FakeApiServer, dir: &Path) -> ClusterOptions {
    ClusterOptions {
        deployment: "web".into(),
        kubeconfig: Some(fake.kubeconfig(dir, NS)),
        quiet: true,
        ..Default::default()
    }
}

/// Watches for `hold` after the first answers, then stops.
fn watch_briefly(options: ClusterOptions, hold: Duration) -> ClusterRecording {
    let watch = ClusterWatch::start(options);
    assert!(
        watch.wait_settled(Duration::from_secs(5)),
        "lists and errors both settle the start"
    );
    let t0 = Instant::now();
    std::thread::sleep(hold);
    watch.finish(t0, Instant::now())
}

fn wait_for(what: &str, mut done: impl FnMut() -> bool) {
    let until = Instant::now() + Duration::from_secs(10);
    while !done() {
        assert!(Instant::now() < until, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// How late the watcher may see a change when no watch is disrupted (generous: the test
/// machine may be busy; the recorded times are checked, not only the order).
const LAG: f64 = 1.0;

/// One step of the scripted scale-out: when it happened, how late the watcher may see it,
/// and what the columns must say afterwards.
struct Step {
    at: DateTime<Utc>,
    lag: f64,
    expect: ClusterSample,
}

fn state(spec: u64, ready: u64, hpa: (u64, u64, u64), pods: (u64, u64, u64)) -> ClusterSample {
    ClusterSample {
        deploy_spec_replicas: Some(spec),
        deploy_replicas: Some(spec),
        deploy_updated: Some(spec),
        deploy_ready: Some(ready),
        deploy_available: Some(ready),
        hpa_current: Some(hpa.0),
        hpa_desired: Some(hpa.1),
        hpa_cpu_pct: Some(hpa.2),
        hpa_metrics: Some(format!("cpu={}%", hpa.2)),
        pods_pending: Some(pods.0),
        pods_running: Some(pods.1),
        pods_succeeded: Some(0),
        pods_failed: Some(0),
        pods_ready: Some(pods.2),
        pods_terminating: Some(0),
    }
}

/// An event the script created: when, how late it may be seen, `Kind/name`, reason.
type ExpectedEvent = (DateTime<Utc>, f64, &'static str, &'static str);

fn seconds_between(from: DateTime<Utc>, to: DateTime<Utc>) -> f64 {
    (to - from).num_milliseconds() as f64 / 1000.0
}

/// Acts out a scale-out 1 → 4 on the fake, with a cut watch and a forced 410 on the way.
/// Returns the steps (first: the state before) and the expected events with their times.
fn scale_out(fake: &FakeApiServer) -> (Vec<Step>, Vec<ExpectedEvent>) {
    // The watcher is following the Deployment's pods: the run starts within moments (the
    // first change comes 2.5 s later, well inside the run).
    wait_for("the pod watch", || fake.watches_of("pods") >= 1);
    let start = Instant::now();
    let sleep_until = |s: f64| {
        let at = start + Duration::from_secs_f64(s);
        std::thread::sleep(at.saturating_duration_since(Instant::now()));
    };
    let mut steps = vec![Step {
        at: Utc::now(),
        lag: 0.0,
        expect: state(1, 1, (1, 1, 20), (0, 1, 1)),
    }];
    let mut events = Vec::new();

    // The HPA decides on 4 replicas; the Deployment creates 3 pods, each Pending.
    sleep_until(2.5);
    let at = Utc::now();
    fake.apply(Kind::Hpa, hpa(1, 4, 170));
    fake.apply(
        Kind::Event,
        event(
            "web.hpa.1",
            "HorizontalPodAutoscaler",
            "web",
            "SuccessfulRescale",
            "New size: 4; reason: cpu resource utilization (percentage of request) above target",
        ),
    );
    events.push((at, LAG, "HorizontalPodAutoscaler/web", "SuccessfulRescale"));
    fake.apply(Kind::Deployment, deployment(4, 1));
    fake.apply(
        Kind::Event,
        event(
            "web.dep.1",
            "Deployment",
            "web",
            "ScalingReplicaSet",
            "Scaled up replica set web-7d9f to 4 from 1",
        ),
    );
    events.push((at, LAG, "Deployment/web", "ScalingReplicaSet"));
    for name in ["web-7d9f-b", "web-7d9f-c", "web-7d9f-d"] {
        fake.apply(Kind::Pod, pod(name, "Pending", false));
    }
    steps.push(Step {
        at,
        lag: LAG,
        expect: state(4, 1, (1, 4, 170), (3, 1, 1)),
    });

    // Every watch connection is cut; while the watcher reconnects, two pods start running.
    sleep_until(4.5);
    let at = Utc::now();
    fake.cut_watches();
    fake.apply(Kind::Pod, pod("web-7d9f-b", "Running", false));
    fake.apply(Kind::Pod, pod("web-7d9f-c", "Running", false));
    fake.apply(
        Kind::Event,
        event(
            "web-b.1",
            "Pod",
            "web-7d9f-b",
            "Started",
            "Started container target-service",
        ),
    );
    events.push((at, 2.5, "Pod/web-7d9f-b", "Started"));
    fake.apply(
        Kind::Event,
        event(
            "webapp.1",
            "Deployment",
            "webapp",
            "ScalingReplicaSet",
            "another Deployment",
        ),
    );
    steps.push(Step {
        at,
        lag: 2.5,
        expect: state(4, 1, (1, 4, 170), (1, 3, 1)),
    });

    // Two pods become ready, one after the other.
    sleep_until(8.5);
    let at = Utc::now();
    fake.apply(Kind::Pod, pod("web-7d9f-b", "Running", true));
    fake.apply(Kind::Pod, pod("web-7d9f-c", "Running", true));
    fake.apply(Kind::Deployment, deployment(4, 3));
    fake.apply(Kind::Hpa, hpa(4, 4, 90));
    steps.push(Step {
        at,
        lag: LAG,
        expect: state(4, 3, (4, 4, 90), (1, 3, 3)),
    });

    // History is compacted (410 Expired in every watch); the last pod gets ready meanwhile.
    sleep_until(10.5);
    let at = Utc::now();
    fake.expire();
    fake.apply(Kind::Pod, pod("web-7d9f-d", "Running", true));
    fake.apply(Kind::Deployment, deployment(4, 4));
    fake.apply(Kind::Hpa, hpa(4, 4, 60));
    fake.apply(
        Kind::Event,
        event(
            "web-d.1",
            "Pod",
            "web-7d9f-d",
            "Started",
            "Started container target-service",
        ),
    );
    events.push((at, 4.0, "Pod/web-7d9f-d", "Started"));
    steps.push(Step {
        at,
        lag: 4.0,
        expect: state(4, 4, (4, 4, 60), (0, 4, 4)),
    });
    (steps, events)
}

#[test]
fn a_run_records_a_scale_out_through_a_cut_watch_and_a_410_exactly_once() {
    let _one = common::one_attack_at_a_time();
    let fake = FakeApiServer::start();
    seed(&fake);
    let out = tempfile::tempdir().expect("tempdir");
    let kubeconfig = fake.kubeconfig(out.path(), NS);
    let target = common::Target::start("web-pod", None);
    let config = {
        use clap::Parser;
        let cli = scaleproof::cli::Cli::try_parse_from([
            "scaleproof",
            "--quiet",
            "--host",
            &target.base,
            "--users",
            "2",
            "--run-time",
            "16s",
            "--deployment",
            "web",
            "--kubeconfig",
            kubeconfig.to_str().expect("utf-8"),
            "--out",
            out.path().to_str().expect("utf-8"),
        ])
        .expect("flags");
        scaleproof::config::RunConfig::try_from(cli.run).expect("config")
    };
    let (steps, expected_events) = std::thread::scope(|s| {
        let script = s.spawn(|| scale_out(&fake));
        let outcome = scaleproof::run::execute(&config).expect("run");
        assert_eq!(outcome.end.to_string(), "completed");
        script.join().expect("script")
    });
    let dir = common::only_run_dir(out.path());
    let meta: RunMeta = timeline::RunDir::open(&dir).read_meta().expect("run.json");
    let rows: Vec<TimelineRow> = timeline::RunDir::open(&dir)
        .read(&timeline::TIMELINE)
        .expect("timeline");
    let changes: Vec<ClusterChangeRow> = timeline::RunDir::open(&dir)
        .read(&timeline::CLUSTER)
        .expect("cluster.csv");
    let events: Vec<EventRow> = timeline::RunDir::open(&dir)
        .read(&timeline::EVENTS)
        .expect("events.csv");
    let run_s = |at: DateTime<Utc>| seconds_between(meta.started_at, at);

    // The context, and the state when the load started.
    let cluster = meta.cluster.as_ref().expect("cluster record");
    assert_eq!(
        (cluster.namespace.as_str(), cluster.deployment.as_str()),
        (NS, "web")
    );
    assert_eq!(
        cluster.hpa.as_deref(),
        Some("web"),
        "found by scaleTargetRef"
    );
    assert_eq!(
        (cluster.hpa_min_replicas, cluster.hpa_max_replicas),
        (Some(1), Some(4))
    );
    assert_eq!(
        cluster.hpa_metric_targets[0]["resource"]["target"]["averageUtilization"],
        50
    );
    assert_eq!(
        cluster.hpa_behavior["scaleUp"]["stabilizationWindowSeconds"],
        0
    );
    assert_eq!(
        cluster.containers[0].image,
        "registry.example/target-service:0.1.0"
    );
    assert_eq!(cluster.containers[0].requests["cpu"], "250m");
    assert_eq!(cluster.selector.as_deref(), Some("app=web,tier=api"));
    assert_eq!(cluster.kube_context.as_deref(), Some("fake"));
    assert_eq!(cluster.at_start, steps[0].expect);
    assert!(
        run_s(steps[1].at) > 0.5,
        "the scale-out happened during the run"
    );

    // Every row away from a change shows the values of the step it belongs to.
    let mut checked = vec![0; steps.len()];
    for row in &rows {
        let end = row.t_s as f64 + row.span_s;
        for (i, step) in steps.iter().enumerate() {
            let from = if i == 0 {
                0.0
            } else {
                run_s(step.at) + step.lag
            };
            let to = steps
                .get(i + 1)
                .map_or(f64::INFINITY, |next| run_s(next.at));
            if end >= from && end < to {
                assert_eq!(row.cluster(), step.expect, "second {} (step {i})", row.t_s);
                checked[i] += 1;
            }
        }
    }
    assert!(
        checked.iter().all(|&n| n > 0),
        "rows checked per step: {checked:?}"
    );

    // cluster.csv: every value each column took, in order, none repeated.
    let values = |column: &str| -> Vec<String> {
        changes
            .iter()
            .filter(|c| c.column == column)
            .map(|c| c.value.clone().unwrap_or_default())
            .collect()
    };
    assert_eq!(values("deploy_spec_replicas"), ["1", "4"]);
    assert_eq!(values("deploy_ready"), ["1", "3", "4"]);
    assert_eq!(values("hpa_desired"), ["1", "4"]);
    assert_eq!(values("hpa_cpu_pct"), ["20", "170", "90", "60"]);
    assert_eq!(values("pods_pending"), ["0", "1", "2", "3", "2", "1", "0"]);
    assert_eq!(values("pods_running"), ["1", "2", "3", "4"]);
    assert_eq!(values("pods_ready"), ["1", "2", "3", "4"]);
    assert!(changes.windows(2).all(|w| w[0].t_s <= w[1].t_s));
    let ready_at = |v: &str| {
        changes
            .iter()
            .find(|c| c.column == "deploy_ready" && c.value.as_deref() == Some(v))
            .map(|c| c.t_s)
            .expect("change")
    };
    let three = run_s(steps[3].at);
    assert!(
        ready_at("3") >= three - 0.05 && ready_at("3") <= three + LAG,
        "{} vs {three}",
        ready_at("3")
    );

    // events.csv: exactly the events of the run, each once, when they happened.
    let got: Vec<(&str, &str)> = events
        .iter()
        .map(|e| (e.object.as_str(), e.reason.as_str()))
        .collect();
    let want: Vec<(&str, &str)> = expected_events
        .iter()
        .map(|(_, _, o, r)| (*o, *r))
        .collect();
    assert_eq!(got, want);
    for (row, (at, lag, _, _)) in events.iter().zip(&expected_events) {
        let t = run_s(*at);
        assert!(
            row.t_s >= t - 0.05 && row.t_s <= t + lag,
            "{} at {} vs {t}",
            row.reason,
            row.t_s
        );
        assert_eq!(row.count, 1);
        assert!(!row.time.is_empty() && !row.message.is_empty());
    }

    // The protocol was exercised: watches resumed from a resourceVersion, and a re-list.
    let requests = fake.requests();
    let pod_lists = requests
        .iter()
        .filter(|r| r.contains("/pods?") && !r.contains("watch=true"))
        .count();
    assert!(pod_lists >= 2, "a 410 forces a new LIST: {requests:#?}");
    assert!(
        fake.watches_of("pods") >= 3,
        "initial, after the cut, after the 410"
    );
}

#[test]
fn forbidden_pods_leave_their_columns_unknown_and_say_why() {
    let fake = FakeApiServer::start();
    seed(&fake);
    fake.forbid(Kind::Pod);
    let dir = tempfile::tempdir().expect("tempdir");
    let recording = watch_briefly(options(&fake, dir.path()), Duration::from_millis(300));
    let s = recording.at(0.2);
    assert_eq!(s.deploy_ready, Some(1));
    assert_eq!(s.hpa_desired, Some(1));
    assert_eq!(
        (s.pods_running, s.pods_ready),
        (None, None),
        "unknown, not zero"
    );
    let warnings = recording.record.warnings.join("\n");
    assert!(
        warnings.contains("forbidden to list/watch pods in namespace demo")
            && warnings.contains("rbac.yaml"),
        "{warnings}"
    );
}

#[test]
fn an_hpa_that_cannot_read_metrics_is_reported_with_the_likely_cause() {
    let fake = FakeApiServer::start();
    seed(&fake);
    let mut blind = hpa(1, 1, 0);
    blind["status"] = json!({"currentReplicas": 1, "desiredReplicas": 1, "conditions": [
        {"type": "ScalingActive", "status": "False", "reason": "FailedGetResourceMetric",
         "message": "the HPA was unable to compute the replica count: failed to get cpu utilization: unable to get metrics for resource cpu: no metrics returned from resource metrics API"}]});
    fake.apply(Kind::Hpa, blind);
    let dir = tempfile::tempdir().expect("tempdir");
    let recording = watch_briefly(options(&fake, dir.path()), Duration::ZERO);
    assert_eq!(
        recording.at(0.0).hpa_cpu_pct,
        None,
        "no CPU reading, not 0%"
    );
    let warnings = recording.record.warnings.join("\n");
    assert!(
        warnings.contains("HorizontalPodAutoscaler web cannot scale")
            && warnings.contains("metrics-server"),
        "{warnings}"
    );
}

#[test]
fn an_unreachable_cluster_is_unknown_and_the_watch_stops_within_a_second() {
    let dir = tempfile::tempdir().expect("tempdir");
    let port = common::closed_port();
    let path = fake_apiserver::kubeconfig(dir.path(), &format!("http://127.0.0.1:{port}"), None);
    let watch = ClusterWatch::start(ClusterOptions {
        deployment: "web".into(),
        kubeconfig: Some(path),
        quiet: true,
        ..Default::default()
    });
    assert!(
        watch.wait_settled(Duration::from_secs(5)),
        "a refused connection settles the start"
    );
    let t0 = Instant::now();
    std::thread::sleep(Duration::from_millis(200));
    let stopping = Instant::now();
    let recording = watch.finish(t0, Instant::now());
    assert!(
        stopping.elapsed() < Duration::from_secs(1),
        "stopped in {:?}",
        stopping.elapsed()
    );
    assert!(recording.at(0.1).is_unknown());
    assert!(recording.events.is_empty());
    let warnings = recording.record.warnings.join("\n");
    assert!(
        warnings.contains("cannot reach the API server"),
        "{warnings}"
    );
    assert_eq!(recording.record.namespace, "default");
}

#[test]
fn a_silently_hung_api_server_makes_the_columns_unknown_after_ten_seconds() {
    let fake = FakeApiServer::start();
    seed(&fake);
    let dir = tempfile::tempdir().expect("tempdir");
    let watch = ClusterWatch::start(options(&fake, dir.path()));
    assert!(watch.wait_settled(Duration::from_secs(5)));
    let monitor = watch.monitor();
    wait_for("the first state", || {
        monitor.latest().deploy_ready == Some(1)
    });
    let hung = Instant::now();
    fake.hang();
    // The watches stay open and silent, as a quiet healthy watch would be: only the absence of
    // any answer for 10 s (the README's promise) turns the columns unknown.
    let deadline = hung + Duration::from_secs(20);
    while !monitor.latest().is_unknown() {
        assert!(Instant::now() < deadline, "still known 20 s after the hang");
        std::thread::sleep(Duration::from_millis(20));
    }
    let after = hung.elapsed();
    // Last answer at most one probe period (2 s) before the hang; unknown 10 s after it,
    // seen at the next 1 s tick.
    assert!(
        after >= Duration::from_secs(8) && after <= Duration::from_secs(12),
        "unknown {after:?} after the hang"
    );
    let recording = watch.finish(hung, Instant::now());
    let warnings = recording.record.warnings.join("\n");
    assert!(
        warnings.contains("no answer from the API server for 10 s"),
        "{warnings}"
    );
}

#[test]
fn a_missing_deployment_is_named_and_nothing_is_counted() {
    let fake = FakeApiServer::start();
    fake.apply(Kind::Pod, pod("web-7d9f-a", "Running", true));
    let dir = tempfile::tempdir().expect("tempdir");
    let recording = watch_briefly(options(&fake, dir.path()), Duration::ZERO);
    let s = recording.at(0.0);
    assert!(s.is_unknown(), "{s:?}");
    let warnings = recording.record.warnings.join("\n");
    assert!(
        warnings.contains("Deployment web not found in namespace demo"),
        "{warnings}"
    );
    assert!(
        warnings.contains("no HorizontalPodAutoscaler in namespace demo targets Deployment web"),
        "{warnings}"
    );
}

fn scaleproof() -> Command {
    Command::new(env!("CARGO_BIN_EXE_scaleproof"))
}

#[test]
fn the_binary_watches_the_cluster_of_its_kubeconfig() {
    let fake = FakeApiServer::start();
    seed(&fake);
    let tmp = tempfile::tempdir().expect("tempdir");
    let kubeconfig = fake.kubeconfig(tmp.path(), NS);
    let out = tmp.path().join("reports");
    let target = common::Target::start("web-pod", None);
    let output = scaleproof()
        .args([
            "--host",
            &target.base,
            "--scenario",
            concat!(env!("CARGO_MANIFEST_DIR"), "/scenarios/smoke.toml"),
            "--users",
            "2",
            "--run-time",
            "3s",
            "--deployment",
            "web",
            "--out",
        ])
        .arg(&out)
        .env("KUBECONFIG", &kubeconfig)
        .env_remove("HOME")
        .output()
        .expect("run scaleproof");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(0), "{stderr}");
    assert!(
        stderr.contains("watching Deployment web in namespace demo (context fake)"),
        "{stderr}"
    );
    assert!(
        stderr.contains("| ready 1/1, hpa 1 (cpu 20%)"),
        "progress shows replicas: {stderr}"
    );
    let dir = common::only_run_dir(&out);
    let rows: Vec<TimelineRow> = timeline::RunDir::open(&dir)
        .read(&timeline::TIMELINE)
        .expect("timeline");
    assert!(!rows.is_empty());
    assert!(
        rows.iter()
            .all(|r| r.deploy_ready == Some(1) && r.pods_running == Some(1))
    );
    let meta = timeline::RunDir::open(&dir).read_meta().expect("run.json");
    // The doctor's cluster checks ran first: this cluster has no metrics-server and no Service.
    assert!(
        stderr
            .contains("scaleproof: doctor: FAIL metrics-api: no APIService v1beta1.metrics.k8s.io"),
        "{stderr}"
    );
    let problems: Vec<&str> = meta
        .preflight
        .iter()
        .map(|l| l.split(':').next().unwrap_or_default())
        .collect();
    assert_eq!(
        problems,
        ["FAIL metrics-api", "warn service"],
        "{:?}",
        meta.preflight
    );
    let cluster = meta.cluster.expect("cluster");
    assert_eq!(
        cluster.server.as_deref(),
        Some(format!("{}/", fake.url).as_str())
    );
    assert!(cluster.warnings.is_empty(), "{:?}", cluster.warnings);
    let events: Vec<EventRow> = timeline::RunDir::open(&dir)
        .read(&timeline::EVENTS)
        .expect("events");
    assert!(
        events.is_empty(),
        "old events are not the run's: {events:?}"
    );
}

#[test]
fn the_binary_completes_with_unknown_replicas_when_the_cluster_is_unreachable() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let port = common::closed_port();
    let kubeconfig =
        fake_apiserver::kubeconfig(tmp.path(), &format!("http://127.0.0.1:{port}"), Some(NS));
    let out = tmp.path().join("reports");
    let target = common::Target::start("web-pod", None);
    let started = Instant::now();
    let output = scaleproof()
        .args([
            "--host",
            &target.base,
            "--scenario",
            concat!(env!("CARGO_MANIFEST_DIR"), "/scenarios/smoke.toml"),
            "--users",
            "2",
            "--run-time",
            "3s",
            "--deployment",
            "web",
            "--kubeconfig",
        ])
        .arg(&kubeconfig)
        .arg("--out")
        .arg(&out)
        .output()
        .expect("run scaleproof");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(0), "{stderr}");
    assert!(
        started.elapsed() < Duration::from_secs(20),
        "took {:?}",
        started.elapsed()
    );
    assert!(
        stderr.contains("warning: cluster: cannot reach the API server"),
        "{stderr}"
    );
    let dir = common::only_run_dir(&out);
    let rows: Vec<TimelineRow> = timeline::RunDir::open(&dir)
        .read(&timeline::TIMELINE)
        .expect("timeline");
    assert!(rows.iter().any(|r| r.requests > 0), "the load ran");
    assert!(
        rows.iter()
            .all(|r| r.deploy_ready.is_none() && r.hpa_desired.is_none())
    );
    let text = std::fs::read_to_string(dir.join(timeline::TIMELINE.file)).expect("timeline");
    let header: Vec<&str> = text.lines().next().expect("header").split(',').collect();
    let ready = header
        .iter()
        .position(|c| *c == "deploy_ready")
        .expect("column");
    assert!(
        text.lines()
            .skip(1)
            .all(|l| l.split(',').nth(ready) == Some("")),
        "empty, not 0"
    );
    let meta = timeline::RunDir::open(&dir).read_meta().expect("run.json");
    assert!(!meta.cluster.expect("cluster").warnings.is_empty());
}
