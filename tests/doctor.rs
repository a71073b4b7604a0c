//! `scaleproof doctor` against the fake API server (a test double of Kubernetes; see its
//! module docs) and real target-service instances on loopback: a healthy setup passes every
//! check, and each problem a user meets before a demo fails or warns with its fix.

use crate::common;
use crate::fake_apiserver::{FakeApiServer, Kind};
use scaleproof::config::{ClusterOptions, TlsConfig};
use scaleproof::doctor::{DoctorConfig, DoctorReport};
use scaleproof::support::checks::{Finding, Status};
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::process::Command;

const NS: &str = "demo";

fn deployment(ready: u64, cpu_request: bool) -> Value {
    let resources = if cpu_request {
        json!({"requests": {"cpu": "250m"}})
    } else {
        json!({"requests": {"memory": "64Mi"}})
    };
    json!({
        "metadata": {"name": "web", "namespace": NS},
        "spec": {"replicas": 2, "selector": {"matchLabels": {"app": "web"}},
                 "template": {"metadata": {"labels": {"app": "web"}},
                              "spec": {"containers": [{"name": "target-service", "resources": resources}]}}},
        "status": {"replicas": 2, "readyReplicas": ready, "availableReplicas": ready}
    })
}

fn hpa(scaling_active: bool) -> Value {
    let condition = if scaling_active {
        json!({"type": "ScalingActive", "status": "True", "reason": "ValidMetricFound"})
    } else {
        json!({"type": "ScalingActive", "status": "False", "reason": "FailedGetResourceMetric",
               "message": "the HPA was unable to compute the replica count: failed to get cpu utilization"})
    };
    json!({
        "metadata": {"name": "web", "namespace": NS},
        "spec": {"scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": "web"},
                 "minReplicas": 1, "maxReplicas": 4,
                 "metrics": [{"type": "Resource", "resource": {"name": "cpu",
                     "target": {"type": "Utilization", "averageUtilization": 60}}}]},
        "status": {"currentReplicas": 2, "desiredReplicas": 2, "conditions": [condition],
                   "currentMetrics": [{"type": "Resource", "resource": {"name": "cpu",
                       "current": {"averageUtilization": 30}}}]}
    })
}

fn metrics_api(available: bool) -> Value {
    json!({
        "metadata": {"name": "v1beta1.metrics.k8s.io", "namespace": ""},
        "spec": {"group": "metrics.k8s.io", "version": "v1beta1", "groupPriorityMinimum": 100,
                 "versionPriority": 100},
        "status": {"conditions": [{"type": "Available",
            "status": if available { "True" } else { "False" },
            "reason": if available { "Passed" } else { "FailedDiscoveryCheck" },
            "message": if available { "all checks passed" } else { "failing or missing response from https://10.96.0.10:443" }}]}
    })
}

fn service(kind: &str) -> Value {
    let status = if kind == "LoadBalancer" {
        json!({"loadBalancer": {"ingress": [{"ip": "203.0.113.7"}]}})
    } else {
        json!({})
    };
    json!({
        "metadata": {"name": "web", "namespace": NS},
        "spec": {"type": kind, "selector": {"app": "web"},
                 "ports": [{"port": 8080, "targetPort": 8080}]},
        "status": status
    })
}

/// A healthy workload: 2/2 ready with CPU requests, an HPA reading 30% CPU (max 4), an
/// Available metrics API, and a LoadBalancer Service.
fn healthy(fake: &FakeApiServer) {
    fake.apply(Kind::Deployment, deployment(2, true));
    fake.apply(Kind::Hpa, hpa(true));
    fake.apply(Kind::ApiService, metrics_api(true));
    fake.apply(Kind::Service, service("LoadBalancer"));
}

fn config(fake: &FakeApiServer, dir: &std::path::Path, host: Option<&str>) -> DoctorConfig {
    DoctorConfig {
        cluster: Some(ClusterOptions {
            deployment: "web".into(),
            kubeconfig: Some(fake.kubeconfig(dir, NS)),
            quiet: true,
            ..Default::default()
        }),
        host: host.map(|h| h.parse().expect("url")),
        tls: TlsConfig::default(),
        headers: Default::default(),
        endpoint_header: reqwest::header::HeaderName::from_static("x-served-by"),
        planned_peak_rps: Some(1200.0),
        expect_replicas: Some(2),
        pod_capacity_rps: None,
        calibrate: false,
    }
}

fn statuses(report: &DoctorReport) -> BTreeMap<&str, Status> {
    report
        .findings
        .iter()
        .map(|f| (f.check.as_str(), f.status))
        .collect()
}

fn finding<'a>(report: &'a DoctorReport, check: &str) -> &'a Finding {
    report
        .findings
        .iter()
        .find(|f| f.check == check)
        .unwrap_or_else(|| panic!("no {check} finding: {report:#?}"))
}

/// Two real replicas behind a round-robin Service double.
fn two_replicas() -> (common::Target, common::Target, common::RoundRobinProxy) {
    let a = common::Target::start("web-1", None);
    let b = common::Target::start("web-2", None);
    let proxy = common::RoundRobinProxy::start(&[&a.base, &b.base]);
    (a, b, proxy)
}

#[test]
fn a_healthy_setup_passes_every_check() {
    let fake = FakeApiServer::start();
    healthy(&fake);
    let dir = tempfile::tempdir().expect("tempdir");
    let (_a, _b, proxy) = two_replicas();
    let report =
        scaleproof::doctor::run(&config(&fake, dir.path(), Some(&proxy.base))).expect("run");
    let all: Vec<(&str, Status)> = statuses(&report).into_iter().collect();
    assert_eq!(
        all,
        [
            ("api-server", Status::Ok),
            ("capacity", Status::Ok),
            ("clock", Status::Ok),
            ("cpu-requests", Status::Ok),
            ("deployment", Status::Ok),
            ("endpoints", Status::Ok),
            ("host", Status::Ok),
            ("hpa", Status::Ok),
            ("hpa-metrics", Status::Ok),
            ("kubeconfig", Status::Ok),
            ("metrics-api", Status::Ok),
            ("rbac", Status::Ok),
            ("service", Status::Ok),
        ],
        "{}",
        report.text()
    );
    assert_eq!(report.status, Status::Ok);
    assert_eq!(
        finding(&report, "endpoints").detail,
        "2 endpoints answered 50 fresh connections"
    );
    assert_eq!(
        finding(&report, "service").detail,
        "web: LoadBalancer at 203.0.113.7"
    );
    assert!(
        finding(&report, "api-server")
            .detail
            .contains("v1.33.0-fake")
    );
    assert!(
        finding(&report, "capacity")
            .detail
            .contains("300 rps per replica at 4")
    );
}

/// Runs the doctor on a healthy setup changed by `break_it`, with the host `host`.
fn with_problem(
    break_it: impl FnOnce(&FakeApiServer, &mut DoctorConfig),
    host: Option<&str>,
) -> DoctorReport {
    let fake = FakeApiServer::start();
    healthy(&fake);
    let dir = tempfile::tempdir().expect("tempdir");
    let mut config = config(&fake, dir.path(), host);
    break_it(&fake, &mut config);
    scaleproof::doctor::run(&config).expect("run")
}

/// A change that breaks the healthy setup.
type Break = Box<dyn FnOnce(&FakeApiServer, &mut DoctorConfig)>;

#[test]
fn each_cluster_problem_fails_or_warns_with_its_fix() {
    let cases: Vec<(&str, Break, &str, Status, &str)> = vec![
        (
            "pods forbidden",
            Box::new(|f, _| f.forbid(Kind::Pod)),
            "rbac",
            Status::Fail,
            "get pods",
        ),
        (
            "events forbidden",
            Box::new(|f, _| f.forbid(Kind::Event)),
            "rbac",
            Status::Warn,
            "get events",
        ),
        (
            "no pod ready",
            Box::new(|f, _| {
                f.apply(Kind::Deployment, deployment(0, true));
            }),
            "deployment",
            Status::Fail,
            "0 of 2",
        ),
        (
            "rollout under way",
            Box::new(|f, _| {
                f.apply(Kind::Deployment, deployment(1, true));
            }),
            "deployment",
            Status::Warn,
            "1 of 2",
        ),
        (
            "no cpu request",
            Box::new(|f, _| {
                f.apply(Kind::Deployment, deployment(2, false));
            }),
            "cpu-requests",
            Status::Fail,
            "target-service request no CPU",
        ),
        (
            "no deployment",
            Box::new(|f, _| f.delete(Kind::Deployment, NS, "web")),
            "deployment",
            Status::Fail,
            "not found",
        ),
        (
            "no hpa",
            Box::new(|f, _| f.delete(Kind::Hpa, NS, "web")),
            "hpa",
            Status::Warn,
            "nothing will scale",
        ),
        (
            "hpa without metrics",
            Box::new(|f, _| {
                f.apply(Kind::Hpa, hpa(false));
            }),
            "hpa-metrics",
            Status::Fail,
            "ScalingActive is False",
        ),
        (
            "no metrics-server",
            Box::new(|f, _| f.delete(Kind::ApiService, "", "v1beta1.metrics.k8s.io")),
            "metrics-api",
            Status::Fail,
            "not installed",
        ),
        (
            "metrics-server down",
            Box::new(|f, _| {
                f.apply(Kind::ApiService, metrics_api(false));
            }),
            "metrics-api",
            Status::Fail,
            "not Available",
        ),
        (
            "ClusterIP only",
            Box::new(|f, _| {
                f.apply(Kind::Service, service("ClusterIP"));
            }),
            "service",
            Status::Warn,
            "only from inside",
        ),
        (
            "clock off",
            Box::new(|f, _| f.set_clock_skew(-30)),
            "clock",
            Status::Warn,
            "+30 s off",
        ),
        (
            "too few replicas allowed",
            Box::new(|_, c| c.expect_replicas = Some(5)),
            "capacity",
            Status::Fail,
            "never reach the 5",
        ),
    ];
    for (what, break_it, check, status, words) in cases {
        let report = with_problem(break_it, None);
        let f = finding(&report, check);
        assert_eq!(f.status, status, "{what}: {}", report.text());
        assert!(f.detail.contains(words), "{what}: {:?}", f.detail);
        assert!(
            f.fix.as_deref().is_some_and(|fix| !fix.is_empty()),
            "{what}: a fix"
        );
        // Only the problem made is reported as one (and the missing --host).
        let others: Vec<&Finding> = report
            .findings
            .iter()
            .filter(|g| g.status != Status::Ok && g.check != check && g.check != "host")
            // Without the Deployment its pods' labels are unknown: no Service can be matched.
            .filter(|g| !(what == "no deployment" && g.check == "service"))
            .collect();
        assert!(others.is_empty(), "{what}: {others:#?}");
        assert_eq!(
            report.status == Status::Fail,
            status == Status::Fail,
            "{what}"
        );
    }
}

#[test]
fn one_endpoint_behind_several_ready_replicas_is_the_port_forward_symptom() {
    let only = common::Target::start("web-1", None);
    let report = with_problem(|_, _| {}, Some(&only.base));
    let f = finding(&report, "endpoints");
    assert_eq!(f.status, Status::Warn, "{}", report.text());
    assert!(
        f.detail
            .starts_with("2 replicas are ready but 50 fresh connections all reached web-1")
    );
    // And a host nothing listens on fails, naming the likely cause.
    let closed = format!("http://127.0.0.1:{}", common::closed_port());
    let report = with_problem(|_, _| {}, Some(&closed));
    let f = finding(&report, "host");
    assert_eq!(f.status, Status::Fail);
    assert!(
        f.fix
            .as_deref()
            .is_some_and(|fix| fix.contains("nothing listens")),
        "{f:?}"
    );
}

#[test]
fn the_binary_prints_json_and_exits_1_on_a_failure() {
    let fake = FakeApiServer::start();
    healthy(&fake);
    fake.apply(Kind::Hpa, hpa(false));
    let dir = tempfile::tempdir().expect("tempdir");
    let kubeconfig = fake.kubeconfig(dir.path(), NS);
    let out = Command::new(env!("CARGO_BIN_EXE_scaleproof"))
        .args([
            "doctor",
            "--deployment",
            "web",
            "--json",
            "--no-calibration",
        ])
        .arg("--kubeconfig")
        .arg(&kubeconfig)
        .output()
        .expect("run");
    assert_eq!(
        out.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let doc: Value = serde_json::from_slice(&out.stdout).expect("one JSON document");
    assert_eq!(doc["status"], "fail");
    let failed: Vec<&str> = doc["findings"]
        .as_array()
        .expect("findings")
        .iter()
        .filter(|f| f["status"] == "fail")
        .map(|f| f["check"].as_str().expect("check"))
        .collect();
    assert_eq!(failed, ["hpa-metrics"]);
}

#[test]
fn a_generator_slower_than_the_planned_peak_fails_the_calibration() {
    // The calibration takes both cores for 3 s: never beside a local-replica run.
    let _local = common::one_local_run_at_a_time();
    let config = DoctorConfig {
        cluster: None,
        host: None,
        tls: TlsConfig::default(),
        headers: Default::default(),
        endpoint_header: reqwest::header::HeaderName::from_static("x-served-by"),
        // No machine completes a billion requests per second on loopback.
        planned_peak_rps: Some(1e9),
        expect_replicas: None,
        pod_capacity_rps: None,
        calibrate: true,
    };
    let report = scaleproof::doctor::run(&config).expect("run");
    let f = finding(&report, "generator");
    assert_eq!(f.status, Status::Fail, "{}", report.text());
    assert!(
        f.detail.contains("below the planned peak of 1,000,000,000"),
        "{}",
        f.detail
    );
    // Without --deployment and --host, both halves say they were skipped.
    assert_eq!(finding(&report, "cluster").status, Status::Warn);
    assert_eq!(finding(&report, "host").status, Status::Warn);
}

#[test]
fn no_credentials_or_no_api_server_fail_first_and_stop_the_cluster_checks() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut config = config(&FakeApiServer::start(), dir.path(), None);
    let options = config.cluster.as_mut().expect("cluster");
    options.kubeconfig = Some(dir.path().join("missing-kubeconfig"));
    let report = scaleproof::doctor::run(&config).expect("run");
    let cluster: Vec<(&str, Status)> = report
        .findings
        .iter()
        .filter(|f| f.check != "host")
        .map(|f| (f.check.as_str(), f.status))
        .collect();
    assert_eq!(cluster, [("kubeconfig", Status::Fail)], "{}", report.text());
    // A kubeconfig whose server nothing listens on.
    let closed = format!("http://127.0.0.1:{}", common::closed_port());
    let kubeconfig = crate::fake_apiserver::kubeconfig(dir.path(), &closed, Some(NS));
    config.cluster.as_mut().expect("cluster").kubeconfig = Some(kubeconfig);
    let report = scaleproof::doctor::run(&config).expect("run");
    let f = finding(&report, "api-server");
    assert_eq!(f.status, Status::Fail, "{}", report.text());
    assert!(f.detail.starts_with("cannot reach it"), "{}", f.detail);
    assert!(
        report.findings.iter().all(|f| f.check != "rbac"),
        "nothing more is asked of a server that does not answer"
    );
}
