//! Static checks of the delivery files (no Docker engine or cluster runs here): every manifest
//! parses into its k8s-openapi type, names, labels, selectors and ports agree with each other
//! and with the service's defaults, the RBAC is read-only, the Dockerfile runs as non-root with
//! the model, and the pipelines reference files that exist.

use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::autoscaling::v2::HorizontalPodAutoscaler;
use k8s_openapi::api::batch::v1::Job;
use k8s_openapi::api::core::v1::{PersistentVolumeClaim, Pod, Service, ServiceAccount};
use k8s_openapi::api::networking::v1::Ingress;
use k8s_openapi::api::rbac::v1::{Role, RoleBinding};
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;
use serde::Deserialize;
use std::path::{Path, PathBuf};

fn crate_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn repo() -> PathBuf {
    crate_dir().parent().expect("workspace root").to_path_buf()
}

/// Every YAML document of a file.
fn documents(path: &Path) -> Vec<serde_norway::Value> {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_norway::Deserializer::from_str(&text)
        .map(|d| {
            serde_norway::Value::deserialize(d)
                .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
        })
        .filter(|v| !v.is_null())
        .collect()
}

#[derive(Default)]
struct Objects {
    deployments: Vec<Deployment>,
    services: Vec<Service>,
    hpas: Vec<HorizontalPodAutoscaler>,
    accounts: Vec<ServiceAccount>,
    roles: Vec<Role>,
    bindings: Vec<RoleBinding>,
    jobs: Vec<Job>,
    ingresses: Vec<Ingress>,
    claims: Vec<PersistentVolumeClaim>,
    pods: Vec<Pod>,
}

fn typed<T: serde::de::DeserializeOwned>(doc: serde_norway::Value, path: &Path) -> T {
    serde_norway::from_value(doc)
        .unwrap_or_else(|e| panic!("{}: not a valid object: {e}", path.display()))
}

fn load(paths: &[PathBuf]) -> Objects {
    let mut o = Objects::default();
    for path in paths {
        for doc in documents(path) {
            let kind = doc["kind"].as_str().unwrap_or_default().to_owned();
            match kind.as_str() {
                "Deployment" => o.deployments.push(typed(doc, path)),
                "Service" => o.services.push(typed(doc, path)),
                "HorizontalPodAutoscaler" => o.hpas.push(typed(doc, path)),
                "ServiceAccount" => o.accounts.push(typed(doc, path)),
                "Role" => o.roles.push(typed(doc, path)),
                "RoleBinding" => o.bindings.push(typed(doc, path)),
                "Job" => o.jobs.push(typed(doc, path)),
                "Ingress" => o.ingresses.push(typed(doc, path)),
                "PersistentVolumeClaim" => o.claims.push(typed(doc, path)),
                "Pod" => o.pods.push(typed(doc, path)),
                other => panic!("{}: unexpected kind {other:?}", path.display()),
            }
        }
    }
    o
}

/// The files the base kustomization lists.
fn base_resources() -> Vec<PathBuf> {
    let base = crate_dir().join("k8s/base");
    let k = &documents(&base.join("kustomization.yaml"))[0];
    k["resources"]
        .as_sequence()
        .expect("resources")
        .iter()
        .map(|r| base.join(r.as_str().expect("path")))
        .collect()
}

#[test]
fn every_manifest_parses_into_its_kubernetes_type() {
    let mut files = base_resources();
    files.push(crate_dir().join("k8s/examples/ingress.yaml"));
    files.push(crate_dir().join("k8s/examples/scaleproof-job.yaml"));
    files.push(crate_dir().join("k8s/examples/scaleproof-workers-job.yaml"));
    files.push(crate_dir().join("k8s/examples/scaleproof-controller-rbac.yaml"));
    files.push(crate_dir().join("k8s/overlays/loadbalancer/service-loadbalancer.yaml"));
    let o = load(&files);
    assert_eq!(
        (
            o.deployments.len(),
            o.hpas.len(),
            o.roles.len(),
            o.bindings.len()
        ),
        (1, 1, 2, 2)
    );
    assert_eq!(
        (
            o.services.len(),
            o.accounts.len(),
            o.jobs.len(),
            o.ingresses.len()
        ),
        (2, 2, 2, 1)
    );
    let overlay = &documents(&crate_dir().join("k8s/overlays/loadbalancer/kustomization.yaml"))[0];
    assert!(overlay["resources"][0].as_str().is_some_and(|r| {
        crate_dir()
            .join("k8s/overlays/loadbalancer")
            .join(r)
            .is_dir()
    }));
}

#[test]
fn names_labels_selectors_and_ports_agree() {
    let o = load(&base_resources());
    let deployment = &o.deployments[0];
    let name = deployment.metadata.name.as_deref().expect("name");
    let spec = deployment.spec.as_ref().expect("spec");
    let template_labels = spec
        .template
        .metadata
        .as_ref()
        .and_then(|m| m.labels.clone())
        .expect("template labels");
    let selector = spec.selector.match_labels.clone().expect("matchLabels");
    for (k, v) in &selector {
        assert_eq!(
            template_labels.get(k),
            Some(v),
            "Deployment selector must match its template"
        );
    }
    let service = &o.services[0];
    let service_spec = service.spec.as_ref().expect("service spec");
    for (k, v) in service_spec.selector.as_ref().expect("service selector") {
        assert_eq!(
            template_labels.get(k),
            Some(v),
            "Service selector must select the pods"
        );
    }
    let pod = spec.template.spec.as_ref().expect("pod spec");
    let container = &pod.containers[0];
    let port = i32::from(target_service::DEFAULT_PORT);
    assert_eq!(
        container.ports.as_ref().expect("ports")[0].container_port,
        port
    );
    assert_eq!(
        service_spec.ports.as_ref().expect("ports")[0].target_port,
        Some(IntOrString::Int(port))
    );
    for (probe, path) in [
        (&container.liveness_probe, "/health"),
        (&container.readiness_probe, "/ready"),
    ] {
        let get = probe
            .as_ref()
            .and_then(|p| p.http_get.as_ref())
            .expect("httpGet probe");
        assert_eq!(get.port, IntOrString::Int(port));
        assert_eq!(get.path.as_deref(), Some(path));
    }
    let env = container.env.as_ref().expect("env");
    let pod_name = env.iter().find(|e| e.name == "POD_NAME").expect("POD_NAME");
    let field = pod_name
        .value_from
        .as_ref()
        .and_then(|v| v.field_ref.as_ref())
        .expect("downward API");
    assert_eq!(field.field_path, "metadata.name");
    let requests = container
        .resources
        .as_ref()
        .and_then(|r| r.requests.as_ref())
        .expect("resource requests");
    assert!(
        requests.contains_key("cpu") && requests.contains_key("memory"),
        "the HPA needs requests"
    );
    // Drain: preStop sleep + the service's grace period fit inside terminationGracePeriodSeconds.
    let sleep = container
        .lifecycle
        .as_ref()
        .and_then(|l| l.pre_stop.as_ref())
        .and_then(|h| h.sleep.as_ref())
        .expect("preStop sleep")
        .seconds;
    let grace = env
        .iter()
        .find(|e| e.name == "GRACE_PERIOD")
        .and_then(|e| e.value.clone())
        .expect("GRACE_PERIOD");
    let grace = humantime::parse_duration(&grace)
        .expect("duration")
        .as_secs() as i64;
    assert!(
        sleep + grace
            < pod
                .termination_grace_period_seconds
                .expect("terminationGracePeriodSeconds")
    );
    let sc = container
        .security_context
        .as_ref()
        .expect("securityContext");
    assert_eq!(sc.read_only_root_filesystem, Some(true));
    assert_eq!(sc.allow_privilege_escalation, Some(false));
    assert_eq!(
        sc.capabilities.as_ref().and_then(|c| c.drop.clone()),
        Some(vec!["ALL".to_owned()])
    );
    assert_eq!(
        pod.security_context
            .as_ref()
            .and_then(|s| s.run_as_non_root),
        Some(true)
    );

    let hpa = o.hpas[0].spec.as_ref().expect("hpa spec");
    assert_eq!(hpa.scale_target_ref.kind, "Deployment");
    assert_eq!(hpa.scale_target_ref.name, name);
    assert_eq!(hpa.min_replicas, Some(1));
    assert!(hpa.max_replicas >= 2);
    let metric = &hpa.metrics.as_ref().expect("metrics")[0];
    assert_eq!(
        metric.resource.as_ref().map(|r| r.name.as_str()),
        Some("cpu")
    );
    assert!(hpa.behavior.is_some(), "scale windows are set for the demo");
}

#[test]
fn rbac_is_exactly_read_only_on_what_the_watcher_needs() {
    let o = load(&base_resources());
    let rules = o.roles[0].rules.as_ref().expect("rules");
    let mut resources = Vec::new();
    for rule in rules {
        let mut verbs = rule.verbs.clone();
        verbs.sort();
        assert_eq!(verbs, ["get", "list", "watch"], "{rule:?}");
        resources.extend(rule.resources.clone().unwrap_or_default());
    }
    resources.sort();
    assert_eq!(
        resources,
        [
            "deployments",
            "endpointslices",
            "events",
            "horizontalpodautoscalers",
            "pods"
        ]
    );
    let binding = &o.bindings[0];
    assert_eq!(
        binding.role_ref.name,
        o.roles[0].metadata.name.clone().expect("role name")
    );
    let subject = &binding.subjects.as_ref().expect("subjects")[0];
    assert_eq!(
        Some(subject.name.clone()),
        o.accounts[0].metadata.name.clone()
    );
    let job = load(&[crate_dir().join("k8s/examples/scaleproof-job.yaml")])
        .jobs
        .remove(0);
    let job_pod = job.spec.and_then(|s| s.template.spec).expect("job pod");
    assert_eq!(job_pod.service_account_name, o.accounts[0].metadata.name);
    // The Job watches the Deployment the base deploys, through the Service it exposes.
    let args = job_pod.containers[0].args.clone().unwrap_or_default();
    let deployment = o.deployments[0].metadata.name.clone().expect("name");
    let service = o.services[0].metadata.name.clone().expect("name");
    assert!(
        args.contains(&format!("--deployment={deployment}")),
        "{args:?}"
    );
    assert!(args.contains(&format!("--service={service}")), "{args:?}");
    assert!(
        args.iter()
            .any(|a| a.starts_with(&format!("--host=http://{service}:"))),
        "{args:?}"
    );
}

#[test]
fn the_controller_may_run_and_stop_the_workers_job_and_nothing_more() {
    let o = load(&[crate_dir().join("k8s/examples/scaleproof-controller-rbac.yaml")]);
    let role = &o.roles[0];
    let mut grants: Vec<(String, String, Vec<String>)> = Vec::new();
    for rule in role.rules.as_ref().expect("rules") {
        for group in rule.api_groups.clone().unwrap_or_default() {
            for resource in rule.resources.clone().unwrap_or_default() {
                let mut verbs = rule.verbs.clone();
                verbs.sort();
                grants.push((group.clone(), resource, verbs));
            }
        }
    }
    grants.sort();
    let read = ["get", "list", "watch"].map(String::from).to_vec();
    let mut expected = vec![
        ("".to_owned(), "events".to_owned(), read.clone()),
        ("".to_owned(), "pods".to_owned(), read.clone()),
        ("".to_owned(), "services".to_owned(), read.clone()),
        ("apps".to_owned(), "deployments".to_owned(), read.clone()),
        (
            "autoscaling".to_owned(),
            "horizontalpodautoscalers".to_owned(),
            read.clone(),
        ),
        (
            "batch".to_owned(),
            "jobs".to_owned(),
            ["create", "delete", "get", "list", "watch"]
                .map(String::from)
                .to_vec(),
        ),
        (
            "discovery.k8s.io".to_owned(),
            "endpointslices".to_owned(),
            read,
        ),
    ];
    expected.sort();
    assert_eq!(grants, expected);
    let binding = &o.bindings[0];
    assert_eq!(
        binding.role_ref.name,
        role.metadata.name.clone().expect("name")
    );
    assert_eq!(
        Some(binding.subjects.as_ref().expect("subjects")[0].name.clone()),
        o.accounts[0].metadata.name.clone()
    );
}

/// Instructions of the last stage of a Dockerfile.
fn final_stage(path: &Path) -> Vec<(String, String)> {
    // Join continuation lines ("\" at the end) into one instruction.
    let text = std::fs::read_to_string(path)
        .expect("Dockerfile")
        .replace("\\\n", " ");
    let lines: Vec<(String, String)> = text
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .map(|l| {
            let (i, rest) = l.split_once(' ').unwrap_or((l, ""));
            (i.to_ascii_uppercase(), rest.trim().to_owned())
        })
        .collect();
    let last_from = lines.iter().rposition(|(i, _)| i == "FROM").expect("FROM");
    lines[last_from..].to_vec()
}

#[test]
fn dockerfile_runs_as_non_root_exposes_the_port_and_ships_the_model() {
    let stage = final_stage(&crate_dir().join("Dockerfile"));
    let get = |instr: &str| {
        stage
            .iter()
            .filter(|(i, _)| i == instr)
            .map(|(_, a)| a.clone())
            .collect::<Vec<_>>()
    };
    let user = get("USER").pop().expect("USER in the final stage");
    let uid = user.split(':').next().unwrap_or_default();
    assert!(uid != "0" && uid != "root", "final stage runs as {user}");
    assert_eq!(
        get("EXPOSE"),
        vec![target_service::DEFAULT_PORT.to_string()]
    );
    let copies = get("COPY");
    let model = copies
        .iter()
        .find(|c| c.contains("diabetes-rf.json") && !c.starts_with("--from"))
        .expect("the model is copied into the image");
    let mut parts = model.split_whitespace();
    let (src, dest) = (parts.next().expect("src"), parts.next().expect("dest"));
    assert!(repo().join(src).is_file(), "{src} does not exist");
    let env = get("ENV").join(" ");
    assert!(
        env.contains(&format!("MODEL_PATH={dest}")),
        "MODEL_PATH must point at {dest}: {env}"
    );
    assert!(env.contains(&format!("PORT={}", target_service::DEFAULT_PORT)));
    assert!(repo().join(".dockerignore").is_file());
    let root_stage = final_stage(&repo().join("Dockerfile"));
    assert!(
        root_stage
            .iter()
            .any(|(i, a)| i == "USER" && !a.starts_with('0'))
    );
}

#[test]
fn pipelines_parse_and_reference_files_that_exist() {
    let workflows = repo().join(".github/workflows");
    let mut referenced = Vec::new();
    for name in ["ci.yml", "image.yml"] {
        let doc = &documents(&workflows.join(name))[0];
        assert!(
            doc["jobs"].as_mapping().is_some_and(|j| !j.is_empty()),
            "{name}: no jobs"
        );
        let text = serde_norway::to_string(doc).expect("yaml");
        for file in ["target-service/Dockerfile", "Dockerfile", ".ci/run"] {
            if text.contains(file) {
                referenced.push(file.to_owned());
            }
        }
    }
    let cloudbuild = &documents(&repo().join("cloudbuild.yaml"))[0];
    let steps = cloudbuild["steps"].as_sequence().expect("steps");
    let ids: Vec<&str> = steps.iter().filter_map(|s| s["id"].as_str()).collect();
    assert_eq!(ids, ["test", "build", "push", "deploy"]);
    let text = serde_norway::to_string(cloudbuild).expect("yaml");
    for file in [
        "target-service/Dockerfile",
        ".ci/run",
        "target-service/k8s/overlays/loadbalancer",
    ] {
        assert!(text.contains(file), "cloudbuild.yaml should use {file}");
        referenced.push(file.to_owned());
    }
    assert!(referenced.len() >= 5);
    for file in referenced {
        assert!(
            repo().join(&file).exists(),
            "{file} is referenced but missing"
        );
    }
}

// The deploy path's known defects, one test each so that none comes back (issue #15).

/// The pod spec of the (one) Job loaded.
fn job_pod(o: &Objects) -> k8s_openapi::api::core::v1::PodSpec {
    o.jobs[0]
        .spec
        .clone()
        .and_then(|s| s.template.spec)
        .expect("the Job's pod")
}

fn base_deployment() -> Deployment {
    load(&base_resources()).deployments.remove(0)
}

#[test]
fn the_deployment_leaves_the_count_to_the_hpa_and_keeps_a_busy_pod_in_the_service() {
    let d = base_deployment();
    let spec = d.spec.expect("spec");
    assert_eq!(
        spec.replicas, None,
        "replicas in the manifest resets a scaled Deployment on every apply"
    );
    let pod = spec.template.spec.expect("pod spec");
    let probe = pod.containers[0]
        .readiness_probe
        .clone()
        .expect("readiness probe");
    assert!(
        probe.failure_threshold.unwrap_or(3) >= 3,
        "one slow probe must not drop the pod"
    );
    assert!(probe.timeout_seconds.unwrap_or(1) >= 2, "{probe:?}");
    let text = std::fs::read_to_string(crate_dir().join("k8s/base/deployment.yaml"))
        .expect("deployment.yaml");
    assert!(
        pod.containers[0]
            .lifecycle
            .as_ref()
            .and_then(|l| l.pre_stop.as_ref())
            .and_then(|p| p.sleep.as_ref())
            .is_some()
    );
    assert!(
        text.contains(">= 1.30"),
        "the preStop sleep action's Kubernetes version is stated"
    );
}

#[test]
fn the_hpa_leaves_headroom_for_1200_rps_at_the_calibrated_cost() {
    let o = load(&base_resources());
    let hpa = &o.hpas[0];
    let pod = o.deployments[0]
        .spec
        .clone()
        .and_then(|s| s.template.spec)
        .expect("pod");
    let container = &pod.containers[0];
    let work: u32 = container
        .env
        .iter()
        .flatten()
        .find(|e| e.name == "WORK_FACTOR")
        .and_then(|e| e.value.as_deref()?.parse().ok())
        .expect("WORK_FACTOR");
    // The calibration docs/deploy.md states: WORK_FACTOR=500 costs ≈ 0.8 ms of CPU.
    assert_eq!(work, 500);
    let cpu_per_request_s = 0.0008;
    let request = container
        .resources
        .as_ref()
        .and_then(|r| r.requests.as_ref())
        .and_then(|r| r.get("cpu"))
        .map(|q| {
            q.0.trim_end_matches('m')
                .parse::<f64>()
                .expect("millicores")
                / 1000.0
        })
        .expect("cpu request");
    let target = hpa
        .spec
        .as_ref()
        .expect("spec")
        .metrics
        .as_ref()
        .expect("metrics")[0]
        .resource
        .as_ref()
        .and_then(|r| r.target.average_utilization)
        .expect("cpu target") as f64
        / 100.0;
    let max = hpa.spec.as_ref().expect("spec").max_replicas as f64;
    let rps_at_target = max * request * target / cpu_per_request_s;
    assert!(
        rps_at_target >= 1.5 * 1200.0,
        "maxReplicas {max} serves {rps_at_target:.0} rps at target: no headroom for 1,200"
    );
    let text = std::fs::read_to_string(crate_dir().join("k8s/base/hpa.yaml")).expect("hpa");
    assert!(
        text.contains("vCPU"),
        "node sizes for maxReplicas are documented"
    );
}

#[test]
fn images_are_pinned_never_latest() {
    let k = &documents(&crate_dir().join("k8s/base/kustomization.yaml"))[0];
    let tag = k["images"][0]["newTag"].as_str().expect("newTag");
    assert!(!tag.is_empty() && tag != "latest", "{tag}");
    let o = load(&[
        crate_dir().join("k8s/examples/scaleproof-job.yaml"),
        crate_dir().join("k8s/examples/scaleproof-reports-reader.yaml"),
    ]);
    let workers_pod = job_pod(&load(&[
        crate_dir().join("k8s/examples/scaleproof-workers-job.yaml")
    ]));
    let job_pod = job_pod(&o);
    let reader = o.pods[0].spec.clone().expect("reader pod");
    for c in job_pod
        .containers
        .iter()
        .chain(&reader.containers)
        .chain(&workers_pod.containers)
    {
        let image = c.image.as_deref().expect("image");
        let tag = image.rsplit_once(':').map(|(_, t)| t).unwrap_or("");
        assert!(!tag.is_empty() && tag != "latest", "{image} is not pinned");
    }
    assert_eq!(
        job_pod.containers[0].image_pull_policy.as_deref(),
        Some("IfNotPresent"),
        "an image loaded into kind/minikube is used"
    );
    assert_eq!(
        workers_pod.containers[0].image_pull_policy.as_deref(),
        Some("IfNotPresent")
    );
}

#[test]
fn the_job_writes_where_the_reports_can_be_copied_out() {
    let o = load(&[
        crate_dir().join("k8s/examples/scaleproof-job.yaml"),
        crate_dir().join("k8s/examples/scaleproof-reports.yaml"),
        crate_dir().join("k8s/examples/scaleproof-reports-reader.yaml"),
    ]);
    let claim = o.claims[0].metadata.name.clone().expect("claim name");
    let job_pod = job_pod(&o);
    let out = job_pod.containers[0]
        .args
        .iter()
        .flatten()
        .find_map(|a| a.strip_prefix("--out="))
        .expect("--out")
        .to_owned();
    let mounted = |pod: &k8s_openapi::api::core::v1::PodSpec| {
        let volume = pod
            .volumes
            .iter()
            .flatten()
            .find(|v| {
                v.persistent_volume_claim
                    .as_ref()
                    .is_some_and(|c| c.claim_name == claim)
            })
            .expect("the reports claim is a volume")
            .name
            .clone();
        pod.containers[0]
            .volume_mounts
            .iter()
            .flatten()
            .find(|m| m.name == volume)
            .expect("mounted")
            .mount_path
            .clone()
    };
    assert_eq!(
        mounted(&job_pod),
        out,
        "the run directories land on the claim"
    );
    let reader = o.pods[0].spec.clone().expect("reader");
    assert_eq!(mounted(&reader), "/reports");
    let how = std::fs::read_to_string(crate_dir().join("k8s/examples/scaleproof-reports.yaml"))
        .expect("reports");
    assert!(how.contains("kubectl cp scaleproof-reports-reader:/reports"));
}

#[test]
fn the_workers_job_gives_each_index_its_share_one_start_and_its_own_folder() {
    let path = crate_dir().join("k8s/examples/scaleproof-workers-job.yaml");
    let o = load(&[
        path,
        crate_dir().join("k8s/examples/scaleproof-reports.yaml"),
    ]);
    let job = &o.jobs[0];
    let spec = job.spec.clone().expect("job spec");
    assert_eq!(spec.completion_mode.as_deref(), Some("Indexed"));
    let n = spec.completions.expect("completions");
    assert_eq!(spec.parallelism, Some(n), "every worker runs at once");
    assert_eq!(
        spec.backoff_limit,
        Some(0),
        "a failed worker is not retried"
    );
    let pod = spec.template.spec.expect("pod spec");
    let container = &pod.containers[0];
    let env = container.env.clone().unwrap_or_default();
    let index = env.iter().find(|e| e.name == "INDEX").expect("INDEX");
    assert_eq!(
        index
            .value_from
            .as_ref()
            .and_then(|v| v.field_ref.as_ref())
            .map(|f| f.field_path.as_str()),
        Some("metadata.annotations['batch.kubernetes.io/job-completion-index']")
    );
    let start = env
        .iter()
        .find(|e| e.name == "START_AT")
        .and_then(|e| e.value.clone())
        .expect("START_AT");
    assert!(
        chrono::DateTime::parse_from_rfc3339(&start).is_ok(),
        "{start}"
    );
    let args = container.args.clone().unwrap_or_default();
    assert!(args.contains(&format!("--worker=$(INDEX)/{n}")), "{args:?}");
    assert!(
        args.contains(&"--start-at=$(START_AT)".to_owned()),
        "{args:?}"
    );
    assert!(
        args.contains(&"--no-cluster".to_owned()),
        "workers need no RBAC"
    );
    let out = args
        .iter()
        .find_map(|a| a.strip_prefix("--out="))
        .expect("--out");
    assert!(
        out.contains("$(INDEX)"),
        "each worker its own folder: {out}"
    );
    let mount = &container.volume_mounts.as_ref().expect("mounts")[0];
    assert!(out.starts_with(&mount.mount_path), "{out}");
    let volume = pod.volumes.as_ref().expect("volumes")[0].clone();
    assert_eq!(
        volume.persistent_volume_claim.map(|c| c.claim_name),
        o.claims[0].metadata.name.clone()
    );
}

#[test]
fn the_example_ingress_answers_any_host() {
    let o = load(&[crate_dir().join("k8s/examples/ingress.yaml")]);
    let rules = o.ingresses[0]
        .spec
        .clone()
        .and_then(|s| s.rules)
        .expect("rules");
    assert!(
        rules.iter().all(|r| r.host.is_none()),
        "a host rule makes --host http://IP get the controller's 404"
    );
}

#[test]
fn cloudbuild_runs_outside_triggers() {
    let raw = std::fs::read_to_string(repo().join("cloudbuild.yaml")).expect("cloudbuild");
    let doc = &documents(&repo().join("cloudbuild.yaml"))[0];
    // What Cloud Build reads (the comments explain; they do not count).
    let text = serde_norway::to_string(doc).expect("yaml");
    assert_eq!(
        doc["options"]["dynamicSubstitutions"].as_bool(),
        Some(true),
        "_IMAGE refers to other substitutions"
    );
    assert!(
        !text.contains("SHORT_SHA"),
        "$SHORT_SHA is empty outside triggers"
    );
    assert!(
        text.contains("${BUILD_ID}"),
        "images are tagged with the build id"
    );
    assert!(doc["timeout"].as_str().is_some_and(|t| t.ends_with('s')));
    assert!(doc["options"]["machineType"].as_str().is_some());
    assert!(
        !text.contains("kustomize edit"),
        "gke-deploy has no kustomize binary"
    );
    for prerequisite in [
        "artifactregistry",
        "container.googleapis.com",
        "roles/container.developer",
    ] {
        assert!(
            raw.contains(prerequisite),
            "prerequisite {prerequisite} is documented"
        );
    }
}

#[test]
fn ci_caches_what_it_builds_and_builds_the_images_on_pull_requests() {
    let ci = &documents(&repo().join(".github/workflows/ci.yml"))[0];
    let text = serde_norway::to_string(ci).expect("yaml");
    assert!(
        text.contains("CARGO_TARGET_DIR") && text.contains("target"),
        "rust-cache caches ./target: .ci/run must build there"
    );
    // (`on:` is a YAML 1.1 boolean to some parsers: read the triggers from the text.)
    let image_text =
        std::fs::read_to_string(repo().join(".github/workflows/image.yml")).expect("image.yml");
    let triggers = image_text.split("\njobs:").next().expect("before jobs");
    assert!(
        triggers.contains("\n  pull_request:"),
        "pull requests build the Dockerfiles"
    );
    assert!(image_text.contains("github.event_name != 'pull_request'"));
    assert!(
        image_text.contains("private"),
        "ghcr packages start private: said"
    );
}

#[test]
fn the_deploy_guide_covers_each_platform_step() {
    let guide = std::fs::read_to_string(repo().join("docs/deploy.md")).expect("guide");
    assert!(
        !guide.contains("kustomize edit"),
        "needs a binary kubectl lacks"
    );
    for step in [
        "--kubelet-insecure-tls",
        "minikube image load",
        "minikube tunnel",
        "ecr get-login-password",
        "hostname",
        "--platform linux/amd64",
        "e2-standard-4",
        "deploy/kind.sh",
        "GAE_INSTANCE",
        "SageMaker",
    ] {
        assert!(guide.contains(step), "docs/deploy.md lacks {step}");
    }
}
