//! Every pod's story, end to end: the fake API server (a test double of Kubernetes, see its
//! module docs) acts out a 1 → 3 → 1 scale with pod conditions and EndpointSlices, while real
//! target-service instances named as the pods answer behind a Service double — the tests'
//! round-robin TCP proxy, whose endpoints the script sets. One new pod is never given traffic; the scale-in
//! kills the other with requests in flight. `pods.csv` must give each time in order within one
//! sample period of the script, flag the idle pod, and put the failures in the termination
//! windows.

use crate::common;
use crate::fake_apiserver;

use chrono::{DateTime, Utc};
use fake_apiserver::{FakeApiServer, Kind};
use scaleproof::timeline::{self, PodRow, RunMeta};
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::time::{Duration, Instant};

const NS: &str = "demo";

fn now_text() -> String {
    Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

fn deployment(spec: u64, ready: u64) -> Value {
    json!({
        "metadata": {"name": "web", "namespace": NS},
        "spec": {"replicas": spec, "selector": {"matchLabels": {"app": "web"}},
                 "template": {"metadata": {"labels": {"app": "web"}},
                              "spec": {"containers": [{"name": "target-service"}]}}},
        "status": {"replicas": spec, "updatedReplicas": spec, "readyReplicas": ready,
                   "availableReplicas": ready}
    })
}

fn hpa(desired: u64) -> Value {
    json!({
        "metadata": {"name": "web", "namespace": NS},
        "spec": {"scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": "web"},
                 "minReplicas": 1, "maxReplicas": 3},
        "status": {"currentReplicas": desired, "desiredReplicas": desired}
    })
}

/// A pod just created by ReplicaSet web-7d9f: pending, no conditions yet.
fn new_pod(name: &str, created: &str) -> Value {
    json!({
        "metadata": {"name": name, "namespace": NS, "labels": {"app": "web"},
                     "creationTimestamp": created,
                     "ownerReferences": [{"apiVersion": "apps/v1", "kind": "ReplicaSet",
                                          "name": "web-7d9f", "uid": "rs-1"}]},
        "spec": {"containers": [{"name": "target-service"}]},
        "status": {"phase": "Pending"}
    })
}

fn condition(pod: &mut Value, kind: &str, at: &str) {
    pod["status"]["conditions"]
        .as_array_mut()
        .map(|c| c.push(json!({"type": kind, "status": "True", "lastTransitionTime": at})))
        .unwrap_or_else(|| {
            pod["status"]["conditions"] =
                json!([{"type": kind, "status": "True", "lastTransitionTime": at}]);
        });
}

/// The EndpointSlice of Service `web`: each pod with its ready/terminating conditions.
fn slice(endpoints: &[(&str, bool, bool)]) -> Value {
    let list: Vec<Value> = endpoints
        .iter()
        .enumerate()
        .map(|(i, (pod, ready, terminating))| {
            json!({"addresses": [format!("10.0.0.{}", i + 1)],
                   "conditions": {"ready": ready, "serving": *ready || *terminating,
                                  "terminating": terminating},
                   "targetRef": {"kind": "Pod", "name": pod, "namespace": NS}})
        })
        .collect();
    json!({
        "metadata": {"name": "web-x1", "namespace": NS,
                     "labels": {"kubernetes.io/service-name": "web"}},
        "addressType": "IPv4",
        "endpoints": list
    })
}

/// A target-service answering as `name`, each request held 100 ms (so that requests are in
/// flight when a pod is killed).
fn slow_target(name: &str) -> common::Target {
    common::Target::start_with(name, |app| {
        app.layer(axum::middleware::from_fn(
            |req: axum::extract::Request, next: axum::middleware::Next| async move {
                tokio::time::sleep(Duration::from_millis(100)).await;
                next.run(req).await
            },
        ))
    })
}

/// Acts out 1 → 3 → 1; returns when each step happened.
fn script(
    fake: &FakeApiServer,
    service: &common::RoundRobinProxy,
    targets: &BTreeMap<&str, common::Target>,
) -> BTreeMap<&'static str, DateTime<Utc>> {
    common::wait_until("the pod watch", Duration::from_secs(10), || {
        fake.watches_of("pods") >= 1 && fake.watches_of("endpointslices") >= 1
    });
    let start = Instant::now();
    let sleep_until = |s: f64| {
        let at = start + Duration::from_secs_f64(s);
        std::thread::sleep(at.saturating_duration_since(Instant::now()));
    };
    let mut at = BTreeMap::new();
    let t = |name: &'static str| (name, &targets[name]);

    sleep_until(3.0);
    at.insert("decision_out", Utc::now());
    fake.apply(Kind::Hpa, hpa(3));
    fake.apply(Kind::Deployment, deployment(3, 1));
    let created = now_text();
    for name in ["web-b", "web-c"] {
        fake.apply(Kind::Pod, new_pod(name, &created));
    }
    at.insert("created", Utc::now());

    sleep_until(4.0);
    at.insert("scheduled", Utc::now());
    let scheduled = now_text();
    for name in ["web-b", "web-c"] {
        fake.modify(Kind::Pod, NS, name, |p| {
            p["spec"]["nodeName"] = json!("node-1");
            p["status"]["phase"] = json!("Running");
            condition(p, "PodScheduled", &scheduled);
        });
    }

    sleep_until(5.5);
    at.insert("ready", Utc::now());
    let ready = now_text();
    for name in ["web-b", "web-c"] {
        fake.modify(Kind::Pod, NS, name, |p| {
            condition(p, "ContainersReady", &ready);
            condition(p, "Ready", &ready);
        });
    }
    fake.apply(Kind::Deployment, deployment(3, 3));

    // Both join the Service's EndpointSlice; only web-b gets traffic (web-c is stuck).
    sleep_until(6.5);
    at.insert("in_service", Utc::now());
    fake.apply(
        Kind::EndpointSlice,
        slice(&[
            ("web-a", true, false),
            ("web-b", true, false),
            ("web-c", true, false),
        ]),
    );
    service.route_to(&[t("web-a"), t("web-b")]);

    // Scale in: both terminate; web-b is killed with requests in flight.
    sleep_until(13.0);
    at.insert("decision_in", Utc::now());
    fake.apply(Kind::Hpa, hpa(1));
    fake.apply(Kind::Deployment, deployment(1, 1));
    let deleting = now_text();
    for name in ["web-b", "web-c"] {
        fake.modify(Kind::Pod, NS, name, |p| {
            p["metadata"]["deletionTimestamp"] = json!(deleting);
        });
    }
    fake.apply(
        Kind::EndpointSlice,
        slice(&[
            ("web-a", true, false),
            ("web-b", false, true),
            ("web-c", false, true),
        ]),
    );
    service.route_to(&[t("web-a")]);
    service.kill("web-b");
    at.insert("terminating", Utc::now());

    sleep_until(15.0);
    at.insert("gone", Utc::now());
    for name in ["web-b", "web-c"] {
        fake.delete(Kind::Pod, NS, name);
    }
    fake.apply(Kind::EndpointSlice, slice(&[("web-a", true, false)]));
    at
}

#[test]
fn pods_csv_tells_each_pods_story_flags_the_idle_one_and_the_scale_in_failures() {
    // A real load whose times are checked to the second: never beside a local-replica run,
    // which takes both cores.
    let _local = common::one_local_run_at_a_time();
    let _one = common::one_attack_at_a_time();
    let fake = FakeApiServer::start();
    fake.apply(Kind::Deployment, deployment(1, 1));
    fake.apply(Kind::Hpa, hpa(1));
    let mut a = new_pod(
        "web-a",
        &(Utc::now() - chrono::Duration::seconds(60))
            .to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
    );
    a["status"]["phase"] = json!("Running");
    condition(&mut a, "Ready", &now_text());
    fake.apply(Kind::Pod, a);
    fake.apply(Kind::EndpointSlice, slice(&[("web-a", true, false)]));

    let targets: BTreeMap<&str, common::Target> = ["web-a", "web-b", "web-c"]
        .into_iter()
        .map(|n| (n, slow_target(n)))
        .collect();
    let service = common::RoundRobinProxy::empty();
    service.route_to(&[("web-a", &targets["web-a"])]);

    let out = tempfile::tempdir().expect("tempdir");
    let kubeconfig = fake.kubeconfig(out.path(), NS);
    let config = {
        use clap::Parser;
        let cli = scaleproof::cli::Cli::try_parse_from([
            "scaleproof",
            "--quiet",
            "--host",
            &service.base,
            "--rate",
            "100:1s,100:17s",
            "--recycle-connections",
            "1s",
            "--deployment",
            "web",
            "--service",
            "web",
            "--kubeconfig",
            kubeconfig.to_str().expect("utf-8"),
            "--out",
            out.path().to_str().expect("utf-8"),
            "--expect-new-pod-serves-within",
            "3s",
            "--expect-scale-in-errors",
            "0",
        ])
        .expect("flags");
        scaleproof::config::RunConfig::try_from(cli.run).expect("config")
    };
    let at = std::thread::scope(|s| {
        let acted = s.spawn(|| script(&fake, &service, &targets));
        let outcome = scaleproof::run::execute(&config).expect("run");
        assert_eq!(outcome.end.to_string(), "completed");
        acted.join().expect("script")
    });
    let dir = common::only_run_dir(out.path());
    let run = timeline::RunDir::open(&dir);
    let meta: RunMeta = run.read_meta().expect("run.json");
    let pods: Vec<PodRow> = run.read(&timeline::PODS).expect("pods.csv");
    let s = |step: &str| (at[step] - meta.started_at).num_milliseconds() as f64 / 1000.0;

    let names: Vec<&str> = pods.iter().map(|p| p.pod.as_str()).collect();
    assert_eq!(names, ["web-a", "web-b", "web-c"], "by creation");
    let (pa, b, c) = (&pods[0], &pods[1], &pods[2]);
    assert!(pa.created_s.is_some_and(|t| t < -59.0), "{pa:?}");
    // API times have one-second resolution; watcher and load times lag by a poll at most:
    // each within one sample period (1 s) of the script.
    let near = |got: Option<f64>, want: f64, what: &str| {
        let got = got.unwrap_or_else(|| panic!("{what} unknown"));
        assert!(
            (got - want).abs() <= 1.0,
            "{what}: {got} s, the script did it at {want} s"
        );
        got
    };
    for p in [b, c] {
        assert_eq!(p.replica_set.as_deref(), Some("web-7d9f"));
        assert_eq!(p.node.as_deref(), Some("node-1"));
        let times = [
            near(p.created_s, s("created"), "created"),
            near(p.scheduled_s, s("scheduled"), "scheduled"),
            near(p.containers_ready_s, s("ready"), "containers ready"),
            near(p.ready_s, s("ready"), "ready"),
            near(p.in_service_s, s("in_service"), "in service"),
            near(p.terminating_s, s("terminating"), "terminating"),
            near(p.gone_s, s("gone"), "gone"),
        ];
        assert!(times.is_sorted(), "{} in order: {times:?}", p.pod);
    }
    // web-b served from soon after it joined (connections reopen every second) until it was
    // killed; web-c never served.
    let first = near(b.first_served_s, s("in_service") + 0.6, "b first served");
    let last = b.last_served_s.expect("b served");
    assert!(
        first < last && last <= b.terminating_s.expect("t") + 0.2,
        "{b:?}"
    );
    assert!(b.requests > 0 && b.cold_requests > 0 && b.cold_p95_raw_us.is_some());
    assert_eq!(
        (c.requests, c.first_served_s, c.cold_p95_raw_us),
        (0, None, None)
    );

    // The stuck pod is flagged, in run.json and (below) the summary.
    assert!(
        meta.warnings
            .iter()
            .any(|w| w.starts_with("pod web-c was in the Service")
                && w.contains("served no request")),
        "{:?}",
        meta.warnings
    );
    let rendered = scaleproof::report::render(&dir, None).expect("report");
    let summary = rendered.summary;
    let scaling = &summary.scaling;
    assert_eq!(scaling.source, "cluster");
    let idle: Vec<&str> = scaling.idle_pods.iter().map(|p| p.pod.as_str()).collect();
    assert_eq!(idle, ["web-c"]);
    assert_eq!(
        scaling.warnings, meta.warnings,
        "one analysis, the same words"
    );

    // The chain of the scale-out, and the scale-in's windows.
    assert_eq!(scaling.scale_outs.len(), 1, "{:?}", scaling.scale_outs);
    let chain = &scaling.scale_outs[0];
    assert_eq!((chain.from, chain.to), (1, 3));
    assert_eq!(chain.pods, ["web-b", "web-c"]);
    near(Some(chain.decision_s), s("decision_out"), "decision");
    let last_ready = b.ready_s.expect("b ready").max(c.ready_s.expect("c ready"));
    assert_eq!(
        chain.ready_s,
        Some(last_ready),
        "when the last new pod was Ready"
    );
    assert_eq!(chain.first_served_s, None, "web-c never served");
    assert_eq!(scaling.scale_ins.len(), 1);
    assert_eq!(scaling.scale_ins[0].pods, ["web-b", "web-c"]);
    // Every failure of the run happened while web-b was being killed: all of them are in
    // its termination window.
    assert!(meta.totals.errors > 0, "requests were in flight on web-b");
    let window_b = scaling
        .termination_windows
        .iter()
        .find(|w| w.pod == "web-b")
        .expect("web-b's window");
    let errors_by_second: Vec<(u64, u64)> = run
        .read(&timeline::TIMELINE)
        .expect("timeline")
        .iter()
        .filter(|r| r.errors > 0)
        .map(|r| (r.t_s, r.errors))
        .collect();
    let catalogue = std::fs::read_to_string(dir.join("errors.csv")).expect("errors.csv");
    assert_eq!(
        window_b.errors, meta.totals.errors,
        "window {window_b:?}; failures by second {errors_by_second:?}\n{catalogue}"
    );
    assert_eq!(scaling.scale_in_errors, Some(meta.totals.errors));

    // The verdict rules read the same analysis.
    let check = |name: &str| {
        summary
            .verdict
            .checks
            .iter()
            .find(|c| c.name == name)
            .unwrap_or_else(|| panic!("{name} checked"))
    };
    let serves = check("new_pod_serves_within");
    assert_eq!(serves.state, scaleproof::verdict::State::Fail);
    assert_eq!(serves.measured, "web-c never served");
    let scale_in = check("scale_in_errors");
    assert_eq!(scale_in.state, scaleproof::verdict::State::Fail);
    assert_eq!(
        scale_in.measured,
        format!("{} in 2 termination windows", meta.totals.errors)
    );

    // The pod timeline is drawn and on the page.
    for file in ["pods.png", "pods.svg", "pods.csv"] {
        assert!(dir.join(file).is_file(), "{file}");
    }
    let page = std::fs::read_to_string(dir.join("report.html")).expect("report.html");
    assert!(page.contains("Pods: one lane each"));
    assert!(page.contains("Scale-outs: from the decision to the new pods serving"));
    assert!(page.contains("warning: pod web-c was in the Service"));
}
