//! Shared runs through Kubernetes: `scaleproof run --workers N` against `fake_apiserver` (a
//! test double of the API server; nothing in it runs pods). The test plays the kubelet: it
//! reads the Indexed Job the controller created, starts one real `scaleproof` process per
//! completion index with the Job's own container arguments and index, and reports each
//! pod's phase back to the fake as the process starts and exits. The workers load the real
//! target-service on loopback and meet the controller in a `file://` result store.

use crate::common;
use crate::fake_apiserver::{FakeApiServer, Kind};

use scaleproof::timeline::{self, RunMeta, TimelineRow};
use serde_json::{Value, json};
use std::path::Path;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

const NS: &str = "demo";

/// The Deployment the controller watches: 3 ready replicas the whole run.
fn deployment() -> Value {
    json!({
        "metadata": {"name": "web", "namespace": NS},
        "spec": {"replicas": 3, "selector": {"matchLabels": {"app": "web"}},
                 "template": {"metadata": {"labels": {"app": "web"}},
                              "spec": {"containers": [{"name": "web", "image": "web:1"}]}}},
        "status": {"replicas": 3, "updatedReplicas": 3, "readyReplicas": 3, "availableReplicas": 3}
    })
}

/// The controller: `scaleproof run --workers N …` with a kubeconfig for the fake.
fn controller(fake: &FakeApiServer, work: &Path, base: &str, extra: &[&str]) -> Child {
    Command::new(env!("CARGO_BIN_EXE_scaleproof"))
        .arg("run")
        .args(["--host", base, "--threads", "1", "--rate", "300:0s,300:3s"])
        .args(["--deployment", "web", "--namespace", NS])
        .arg("--kubeconfig")
        .arg(fake.kubeconfig(work, NS))
        .args(["--workers", "2", "--image", "scaleproof:test"])
        .arg("--store")
        .arg(format!("file://{}", work.join("store").display()))
        .arg("--out")
        .arg(work.join("reports"))
        .args(extra)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start the controller")
}

/// The one Job in the namespace, once the controller has created it.
fn created_job(fake: &FakeApiServer) -> Value {
    let mut job = None;
    common::wait_until("the controller's Job", Duration::from_secs(30), || {
        job = fake.objects(Kind::Job, NS).pop();
        job.is_some()
    });
    job.expect("a Job")
}

/// A worker pod as the Job controller would make it.
fn pod(job: &str, index: u32, phase: &str, container: Value) -> Value {
    json!({
        "metadata": {
            "name": format!("{job}-{index}-x7k2p"), "namespace": NS,
            "labels": {"job-name": job, "batch.kubernetes.io/job-name": job,
                       "batch.kubernetes.io/job-completion-index": index.to_string()},
            "annotations": {"batch.kubernetes.io/job-completion-index": index.to_string()}
        },
        "status": {"phase": phase, "containerStatuses": [{"name": "worker", "ready": phase == "Running",
            "restartCount": 0, "image": "scaleproof:test", "imageID": "", "state": container}]}
    })
}

/// Plays the kubelet for pod `index` of `job`: starts the worker with the Job's container
/// arguments and, as the downward API would, its completion index.
fn start_worker(fake: &FakeApiServer, job: &Value, index: u32) -> Child {
    let name = job["metadata"]["name"].as_str().expect("name");
    fake.apply(
        Kind::Pod,
        pod(
            name,
            index,
            "Pending",
            json!({"waiting": {"reason": "ContainerCreating"}}),
        ),
    );
    let container = &job["spec"]["template"]["spec"]["containers"][0];
    let args: Vec<String> = container["args"]
        .as_array()
        .expect("args")
        .iter()
        .map(|a| a.as_str().expect("string arg").to_owned())
        .collect();
    let child = Command::new(env!("CARGO_BIN_EXE_scaleproof"))
        .args(&args)
        .env("JOB_COMPLETION_INDEX", index.to_string())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start a worker");
    fake.apply(
        Kind::Pod,
        pod(
            name,
            index,
            "Running",
            json!({"running": {"startedAt": "2026-11-30T15:00:00Z"}}),
        ),
    );
    child
}

/// Reports a worker process's end as its pod's phase.
fn pod_ended(fake: &FakeApiServer, job: &str, index: u32, status: ExitStatus) {
    let code = status.code().unwrap_or(137);
    let phase = if code == 0 { "Succeeded" } else { "Failed" };
    fake.apply(
        Kind::Pod,
        pod(
            job,
            index,
            phase,
            json!({"terminated": {"exitCode": code,
            "reason": if code == 0 { "Completed" } else { "Error" }}}),
        ),
    );
}

/// Waits for the controller (at most `limit`) while keeping the workers' pods up to date;
/// returns its exit code and what it printed. Its stderr is read while it runs (a full pipe
/// would otherwise stall it), and a controller still running at `limit` is killed and its
/// output shown in the failure.
fn run_to_the_end(
    fake: &FakeApiServer,
    job: &str,
    controller: Child,
    workers: &mut [(u32, Child)],
    limit: Duration,
) -> (i32, String) {
    let mut controller = controller;
    let mut pipe = controller.stderr.take().expect("piped");
    let reader = std::thread::spawn(move || {
        let mut stderr = String::new();
        use std::io::Read;
        let _ = pipe.read_to_string(&mut stderr);
        stderr
    });
    let deadline = Instant::now() + limit;
    let mut ended = vec![false; workers.len()];
    let status = loop {
        for (k, (index, child)) in workers.iter_mut().enumerate() {
            if !ended[k]
                && let Some(status) = child.try_wait().expect("worker status")
            {
                pod_ended(fake, job, *index, status);
                ended[k] = true;
            }
        }
        if let Some(status) = controller.try_wait().expect("controller status") {
            break status;
        }
        if Instant::now() >= deadline {
            let _ = controller.kill();
            let _ = controller.wait();
            let stderr = reader.join().expect("stderr reader");
            let requests = fake.requests();
            let last = &requests[requests.len().saturating_sub(20)..];
            panic!(
                "the controller did not end within {limit:?}; it printed:\n{stderr}\nlast API requests: {last:#?}"
            );
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let stderr = reader.join().expect("stderr reader");
    (status.code().expect("exit code"), stderr)
}

fn merged_run(work: &Path) -> (std::path::PathBuf, RunMeta, Vec<TimelineRow>) {
    let dirs: Vec<_> = std::fs::read_dir(work.join("reports"))
        .expect("reports")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.is_dir() && !p.to_string_lossy().ends_with("-workers"))
        .collect();
    assert_eq!(dirs.len(), 1, "{dirs:?}");
    let run = timeline::RunDir::open(&dirs[0]);
    let meta = run.read_meta().expect("run.json");
    let rows = run.read(&timeline::TIMELINE).expect("timeline.csv");
    (dirs[0].clone(), meta, rows)
}

#[test]
fn the_controller_creates_an_indexed_job_starts_its_workers_together_and_merges_them_exactly() {
    let _one = common::one_attack_at_a_time();
    let target = common::Target::start("fleet", None);
    let fake = FakeApiServer::start();
    fake.apply(Kind::Deployment, deployment());
    let work = tempfile::tempdir().expect("tempdir");
    // A scenario file with a corpus: both travel to the workers through the store.
    let scenario = Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios/smoke.toml");
    let scenario = scenario.to_str().expect("utf-8");
    let controller = controller(
        &fake,
        work.path(),
        &target.base,
        &["--scenario", scenario, "--expect-rps", "250"],
    );
    let job = created_job(&fake);

    // The Job, field by field.
    let name = job["metadata"]["name"].as_str().expect("name").to_owned();
    assert!(name.starts_with("sp-"), "{name}");
    let spec = &job["spec"];
    assert_eq!(spec["completionMode"], "Indexed");
    assert_eq!(
        (spec["completions"].as_u64(), spec["parallelism"].as_u64()),
        (Some(2), Some(2))
    );
    assert_eq!(spec["backoffLimit"], 0);
    assert_eq!(
        job["metadata"]["labels"]["scaleproof.dev/run-id"],
        name.as_str()
    );
    let pod_spec = &spec["template"]["spec"];
    assert_eq!(pod_spec["restartPolicy"], "Never");
    let container = &pod_spec["containers"][0];
    assert_eq!(container["image"], "scaleproof:test");
    let store = format!("file://{}", work.path().join("store").display());
    let expected_args = [
        "worker",
        "--store",
        &store,
        "--run-id",
        &name,
        "--workers",
        "2",
        "--ready-timeout",
        "300s",
        "--scenario-object",
        "scenario/smoke.toml",
        "--",
        &format!("--host={}", target.base),
        "--rate=300:0s,300:3s",
        "--threads=1",
    ];
    assert_eq!(container["args"], json!(expected_args));
    assert_eq!(
        container["env"][0],
        json!({"name": "JOB_COMPLETION_INDEX", "valueFrom": {"fieldRef":
            {"fieldPath": "metadata.annotations['batch.kubernetes.io/job-completion-index']"}}})
    );
    // Nothing is sent before every worker is ready.
    let mut workers = vec![(0, start_worker(&fake, &job, 0))];
    let store_dir = work.path().join("store/runs").join(&name);
    common::wait_until("worker 0 ready", Duration::from_secs(30), || {
        store_dir.join("ready/worker-0.json").is_file()
    });
    std::thread::sleep(Duration::from_millis(500));
    assert!(
        !store_dir.join("start.json").exists(),
        "no start before worker 1 is ready"
    );
    let served = || {
        let m = target.state.metrics();
        m.requests_total("/predict") + m.requests_total("/health")
    };
    assert_eq!(served(), 0);
    workers.push((1, start_worker(&fake, &job, 1)));

    let (code, stderr) = run_to_the_end(
        &fake,
        &name,
        controller,
        &mut workers,
        Duration::from_secs(120),
    );
    assert_eq!(code, 0, "{stderr}");
    let (dir, meta, rows) = merged_run(work.path());
    // 900 slots, each sent by exactly one worker, each counted by the service.
    assert_eq!(meta.totals.requests, 900, "{stderr}");
    assert_eq!(served(), 900);
    assert_eq!(meta.scenario, "smoke");
    assert_eq!(meta.workers.len(), 2);
    assert!(
        meta.workers
            .iter()
            .all(|w| w.problem.is_none() && w.requests == Some(450)),
        "{:?}",
        meta.workers
    );
    let shared = meta.shared.as_ref().expect("run.json → shared");
    assert_eq!(
        (shared.job.as_str(), shared.namespace.as_str()),
        (name.as_str(), NS)
    );
    assert!(shared.start_at > shared.published_at);
    // The controller's cluster watch, on the merged run's clock.
    assert_eq!(
        meta.cluster.as_ref().map(|c| c.deployment.as_str()),
        Some("web")
    );
    assert!(!rows.is_empty());
    assert!(rows.iter().all(|r| r.deploy_ready == Some(3)), "{rows:?}");
    // The workers' own run directories are kept beside it.
    assert!(
        work.path()
            .join("reports")
            .join(format!("{name}-workers/worker-1/run.json"))
            .is_file()
    );
    let summary: Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("summary.json")).expect("summary"))
            .expect("json");
    assert_eq!(
        summary["verdict"]["state"], "pass",
        "{}",
        summary["verdict"]
    );
    every_request_is_granted_by_the_controller_role(&fake.requests());
}

/// Each namespaced request the controller made (`GET` list or watch, `POST`, `DELETE`) is
/// allowed by the Role of `scaleproof-controller-rbac.yaml`.
fn every_request_is_granted_by_the_controller_role(requests: &[String]) {
    use k8s_openapi::api::rbac::v1::Role;
    let file = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("target-service/k8s/examples/scaleproof-controller-rbac.yaml");
    let text = std::fs::read_to_string(&file).expect("the controller's RBAC");
    let role: Role = text
        .split("\n---\n")
        .find(|d| d.contains("kind: Role\n"))
        .map(|d| serde_norway::from_str(d).expect("a Role"))
        .expect("a Role document");
    let rules = role.rules.expect("rules");
    let mut checked = 0;
    for request in requests {
        let (method, uri) = match request.split_once(' ') {
            Some((m @ ("POST" | "DELETE"), uri)) => (m, uri),
            _ => ("GET", request.as_str()),
        };
        let (route, query) = uri.split_once('?').unwrap_or((uri, ""));
        let parts: Vec<&str> = route.trim_start_matches('/').split('/').collect();
        let (group, rest) = match parts.as_slice() {
            ["api", "v1", rest @ ..] => ("", rest),
            ["apis", group, _, rest @ ..] => (*group, rest),
            _ => continue,
        };
        // Cluster-scoped reads (the doctor's APIService check) are not the Role's to grant.
        let ["namespaces", _, resource, name @ ..] = rest else {
            continue;
        };
        let verb = match (method, name.is_empty()) {
            ("POST", _) => "create",
            ("DELETE", _) => "delete",
            (_, false) => "get",
            _ if query.contains("watch=true") => "watch",
            _ => "list",
        };
        let granted = rules.iter().any(|r| {
            r.api_groups.iter().flatten().any(|g| g == group)
                && r.resources.iter().flatten().any(|x| x == resource)
                && r.verbs.iter().any(|v| v == verb)
        });
        assert!(
            granted,
            "{verb} {group}/{resource} ({request}) is not granted by {}",
            file.display()
        );
        checked += 1;
    }
    let created = requests
        .iter()
        .any(|r| r.starts_with("POST") && r.contains("/jobs"));
    assert!(created, "the Job was created: {requests:?}");
    // The Job, its pods, the Deployment, its pods and events: each listed and watched.
    assert!(checked >= 10, "{requests:?}");
}

#[test]
fn a_worker_that_cannot_start_calls_the_run_off_before_any_load() {
    let _one = common::one_attack_at_a_time();
    let target = common::Target::start("fleet-off", None);
    let fake = FakeApiServer::start();
    fake.apply(Kind::Deployment, deployment());
    let work = tempfile::tempdir().expect("tempdir");
    let controller = controller(&fake, work.path(), &target.base, &[]);
    let job = created_job(&fake);
    let name = job["metadata"]["name"].as_str().expect("name").to_owned();
    let mut workers = vec![(0, start_worker(&fake, &job, 0))];
    let store_dir = work.path().join("store/runs").join(&name);
    common::wait_until("worker 0 ready", Duration::from_secs(30), || {
        store_dir.join("ready/worker-0.json").is_file()
    });
    // Pod 1's image cannot be pulled.
    fake.apply(
        Kind::Pod,
        pod(
            &name,
            1,
            "Pending",
            json!({"waiting": {"reason": "ImagePullBackOff",
            "message": "Back-off pulling image \"scaleproof:test\""}}),
        ),
    );
    let (code, stderr) = run_to_the_end(&fake, &name, controller, &mut [], Duration::from_secs(60));
    assert_eq!(code, 3, "{stderr}");
    assert!(
        stderr.contains(&format!(
            "worker 1 failed before the start: pod {name}-1-x7k2p: ImagePullBackOff"
        )),
        "{stderr}"
    );
    assert!(stderr.contains("no load was sent"), "{stderr}");
    // The Job is deleted (its pods with it), no start time was published, nothing was sent.
    assert!(
        fake.requests()
            .iter()
            .any(|r| r.starts_with("DELETE") && r.contains(&format!("/jobs/{name}")))
    );
    assert!(fake.objects(Kind::Job, NS).is_empty());
    assert!(!store_dir.join("start.json").exists());
    for (_, mut child) in workers.drain(..) {
        let _ = child.kill();
        let _ = child.wait();
    }
    assert_eq!(target.state.metrics().requests_total("/predict"), 0);
}

#[test]
fn a_worker_killed_mid_run_leaves_an_inconclusive_merge_that_says_which_pod_and_why() {
    let _one = common::one_attack_at_a_time();
    let target = common::Target::start("fleet-kill", None);
    let fake = FakeApiServer::start();
    fake.apply(Kind::Deployment, deployment());
    let work = tempfile::tempdir().expect("tempdir");
    let controller = controller(&fake, work.path(), &target.base, &["--expect-rps", "100"]);
    let job = created_job(&fake);
    let name = job["metadata"]["name"].as_str().expect("name").to_owned();
    let mut workers = vec![
        (0, start_worker(&fake, &job, 0)),
        (1, start_worker(&fake, &job, 1)),
    ];
    let store_dir = work.path().join("store/runs").join(&name);
    common::wait_until("the start", Duration::from_secs(60), || {
        store_dir.join("start.json").is_file()
    });
    // Once worker 1 has sent something, it is killed (SIGKILL: no run directory, no upload).
    common::wait_until("load", Duration::from_secs(30), || {
        target.state.metrics().requests_total("/predict") > 100
    });
    workers[1].1.kill().expect("kill worker 1");
    let (code, stderr) = run_to_the_end(
        &fake,
        &name,
        controller,
        &mut workers,
        Duration::from_secs(120),
    );
    assert_eq!(code, 4, "inconclusive: {stderr}");
    let (_, meta, _) = merged_run(work.path());
    assert_eq!(meta.totals.requests, 450, "worker 0's share only");
    let problem = meta.workers[1]
        .problem
        .as_deref()
        .expect("worker 1's problem");
    assert!(problem.starts_with("missing"), "{problem}");
    assert!(
        problem.contains(&format!("pod {name}-1-x7k2p: exited with code 137")),
        "{problem}"
    );
    assert!(
        meta.end_reason.starts_with("incomplete"),
        "{}",
        meta.end_reason
    );
}
