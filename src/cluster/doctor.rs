//! The cluster half of `scaleproof doctor`: read-only checks that a run's cluster evidence
//! will be there and mean something — credentials, the API server and its clock, RBAC for
//! every watched resource, the Deployment and its readiness, the HPA (its CPU requests, its
//! metrics), the metrics API, and the Service in front. Each ends in a [`Finding`].

use super::derive;
use super::session::connect;
use crate::config::ClusterOptions;
use crate::support::chain::chain;
use crate::support::checks::Finding;
use http_body_util::BodyExt;
use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::authorization::v1::{
    ResourceAttributes, SelfSubjectAccessReview, SelfSubjectAccessReviewSpec,
};
use k8s_openapi::api::autoscaling::v2::HorizontalPodAutoscaler;
use k8s_openapi::api::core::v1::Service;
use k8s_openapi::apimachinery::pkg::version::Info;
use k8s_openapi::kube_aggregator::pkg::apis::apiregistration::v1::APIService;
use kube::api::{ListParams, PostParams};
use kube::{Api, Client};
use std::collections::BTreeMap;
use std::time::Duration;

/// How long any one call may take.
const CALL_TIMEOUT: Duration = Duration::from_secs(5);
/// Clock skew beyond this (seconds) misplaces the API server's timestamps in `pods.csv`.
pub const MAX_CLOCK_SKEW_S: i64 = 2;
/// The APIService metrics-server registers.
const METRICS_API: &str = "v1beta1.metrics.k8s.io";

/// What the cluster checks found, and the figures the host checks need.
#[derive(Debug, Clone, Default)]
pub struct ClusterCheck {
    pub findings: Vec<Finding>,
    /// The Deployment's ready replicas (null: unknown).
    pub ready_replicas: Option<u64>,
    /// The HPA's `maxReplicas` (null: no HPA, or unknown).
    pub hpa_max_replicas: Option<u64>,
}

/// Runs every cluster check: with `client` (tests) or credentials found as kubectl finds them.
pub async fn check(options: &ClusterOptions, client: Option<Client>) -> ClusterCheck {
    let mut out = ClusterCheck::default();
    let (client, namespace) = match client {
        Some(c) => {
            let ns = options
                .namespace
                .clone()
                .unwrap_or_else(|| c.default_namespace().to_owned());
            out.findings.push(Finding::ok("kubeconfig", "client given"));
            (c, ns)
        }
        None => match connect(options).await {
            Ok((c, conn)) => {
                out.findings.push(Finding::ok(
                    "kubeconfig",
                    format!(
                        "context {}, server {}, namespace {}",
                        conn.context.as_deref().unwrap_or("(none)"),
                        conn.server,
                        conn.namespace
                    ),
                ));
                (c, conn.namespace)
            }
            Err(text) => {
                out.findings.push(Finding::fail(
                    "kubeconfig",
                    text,
                    "set KUBECONFIG or pass --kubeconfig / --context (kubectl config get-contexts lists them)",
                ));
                return out;
            }
        },
    };
    if !api_server(&client, &mut out.findings).await {
        return out;
    }
    rbac(&client, &namespace, &mut out.findings).await;
    let pod_labels = deployment(&client, &namespace, options, &mut out).await;
    hpa(&client, &namespace, options, &mut out).await;
    metrics_api(&client, &mut out.findings).await;
    service(
        &client,
        &namespace,
        options,
        pod_labels.as_ref(),
        &mut out.findings,
    )
    .await;
    out
}

async fn timed<T>(f: impl Future<Output = Result<T, kube::Error>>) -> Result<T, String> {
    match tokio::time::timeout(CALL_TIMEOUT, f).await {
        Ok(Ok(v)) => Ok(v),
        Ok(Err(e)) => Err(chain(&e)),
        Err(_) => Err(format!("no answer within {} s", CALL_TIMEOUT.as_secs())),
    }
}

/// `GET /version`: the server answers, and its clock (the `Date` header) agrees with ours.
async fn api_server(client: &Client, findings: &mut Vec<Finding>) -> bool {
    let request = match hyper::Request::get("/version").body(kube::client::Body::empty()) {
        Ok(r) => r,
        Err(e) => {
            findings.push(Finding::fail("api-server", e.to_string(), "report a bug"));
            return false;
        }
    };
    let response = match timed(client.send(request)).await {
        Ok(r) => r,
        Err(text) => {
            findings.push(Finding::fail(
                "api-server",
                format!("cannot reach it: {text}"),
                "check the cluster is running and this machine can reach its API server (kubectl get --raw /version)",
            ));
            return false;
        }
    };
    let date = response
        .headers()
        .get("date")
        .and_then(|d| d.to_str().ok())
        .and_then(|d| chrono::DateTime::parse_from_rfc2822(d).ok());
    // The same answer carries the version: no second request.
    let version = match tokio::time::timeout(CALL_TIMEOUT, response.into_body().collect()).await {
        Ok(Ok(body)) => serde_json::from_slice::<Info>(&body.to_bytes())
            .map_or_else(|_| "version unknown".to_owned(), |info| info.git_version),
        _ => "version unknown".to_owned(),
    };
    findings.push(Finding::ok("api-server", format!("answers ({version})")));
    match date {
        Some(date) => {
            let skew = chrono::Utc::now().timestamp() - date.timestamp();
            findings.push(if skew.abs() <= MAX_CLOCK_SKEW_S {
                Finding::ok("clock", format!("within {MAX_CLOCK_SKEW_S} s of the API server's ({skew:+} s)"))
            } else {
                Finding::warn(
                    "clock",
                    format!("this machine's clock is {skew:+} s off the API server's: pods.csv's API times (created, ready) shift by as much"),
                    "sync this machine's clock (timedatectl set-ntp true, or your OS's time settings)",
                )
            });
        }
        None => findings.push(Finding::warn(
            "clock",
            "the API server sent no Date header: clock skew unknown",
            "compare `date -u` here with the cluster's by hand",
        )),
    }
    true
}

/// (API group, resource, needed for the replica columns).
const WATCHED: [(&str, &str, bool); 5] = [
    ("apps", "deployments", true),
    ("autoscaling", "horizontalpodautoscalers", true),
    ("", "pods", true),
    ("", "events", false),
    ("discovery.k8s.io", "endpointslices", false),
];

/// Asks the API server (SelfSubjectAccessReview) whether get, list and watch are allowed on
/// every watched resource.
async fn rbac(client: &Client, namespace: &str, findings: &mut Vec<Finding>) {
    let api: Api<SelfSubjectAccessReview> = Api::all(client.clone());
    let (mut denied_needed, mut denied_optional) = (Vec::new(), Vec::new());
    for (group, resource, needed) in WATCHED {
        for verb in ["get", "list", "watch"] {
            let review = SelfSubjectAccessReview {
                spec: SelfSubjectAccessReviewSpec {
                    resource_attributes: Some(ResourceAttributes {
                        group: Some(group.to_owned()),
                        resource: Some(resource.to_owned()),
                        verb: Some(verb.to_owned()),
                        namespace: Some(namespace.to_owned()),
                        ..Default::default()
                    }),
                    ..Default::default()
                },
                ..Default::default()
            };
            match timed(api.create(&PostParams::default(), &review)).await {
                Ok(r) if r.status.as_ref().is_some_and(|s| s.allowed) => {}
                Ok(_) => {
                    let name = format!("{verb} {resource}");
                    if needed {
                        denied_needed.push(name);
                    } else {
                        denied_optional.push(name);
                    }
                }
                Err(text) => {
                    findings.push(Finding::warn(
                        "rbac",
                        format!("cannot ask the API server what is allowed: {text}"),
                        "check by hand: kubectl auth can-i list pods",
                    ));
                    return;
                }
            }
        }
    }
    let fix = "grant get, list, watch on them: kubectl apply -f target-service/k8s/base/rbac.yaml (and bind it to your user or the Job's ServiceAccount)";
    if !denied_needed.is_empty() {
        findings.push(Finding::fail(
            "rbac",
            format!(
                "denied in namespace {namespace}: {} (replica columns would stay unknown)",
                denied_needed.join(", ")
            ),
            fix,
        ));
    } else if !denied_optional.is_empty() {
        findings.push(Finding::warn(
            "rbac",
            format!(
                "denied in namespace {namespace}: {} (no scale events / no in-Service times)",
                denied_optional.join(", ")
            ),
            fix,
        ));
    } else {
        findings.push(Finding::ok(
            "rbac",
            format!("get, list, watch allowed on deployments, horizontalpodautoscalers, pods, events, endpointslices in {namespace}"),
        ));
    }
}

fn by_name(name: &str) -> ListParams {
    ListParams::default().fields(&format!("metadata.name={name}"))
}

/// The Deployment exists and its pods are ready; returns its pod template's labels.
async fn deployment(
    client: &Client,
    namespace: &str,
    options: &ClusterOptions,
    out: &mut ClusterCheck,
) -> Option<BTreeMap<String, String>> {
    let api: Api<Deployment> = Api::namespaced(client.clone(), namespace);
    let name = &options.deployment;
    let found = match timed(api.list(&by_name(name))).await {
        Ok(list) => list.items.into_iter().next(),
        Err(text) => {
            out.findings.push(Finding::fail(
                "deployment",
                format!("cannot read Deployment {name}: {text}"),
                "see the rbac check",
            ));
            return None;
        }
    };
    let Some(d) = found else {
        out.findings.push(Finding::fail(
            "deployment",
            format!("Deployment {name} not found in namespace {namespace}"),
            "deploy it (deploy/*.sh, or kubectl apply -k target-service/k8s/base), or pass --deployment / --namespace",
        ));
        return None;
    };
    let mut sample = crate::timeline::ClusterSample::default();
    derive::deployment_columns(&mut sample, Some(&d));
    let (spec, ready) = (
        sample.deploy_spec_replicas.unwrap_or(0),
        sample.deploy_ready.unwrap_or(0),
    );
    out.ready_replicas = Some(ready);
    out.findings.push(if ready == 0 {
        Finding::fail(
            "deployment",
            format!("Deployment {name}: 0 of {spec} replicas ready"),
            format!("kubectl describe deployment {name}; kubectl get pods -n {namespace} (image pull, probes, resources)"),
        )
    } else if ready < spec {
        Finding::warn(
            "deployment",
            format!("Deployment {name}: {ready} of {spec} replicas ready"),
            "wait for the rollout (kubectl rollout status) before starting the load",
        )
    } else {
        Finding::ok("deployment", format!("Deployment {name}: {ready}/{spec} replicas ready"))
    });
    let containers = derive::containers(&d);
    let no_cpu: Vec<String> = containers
        .iter()
        .filter(|c| !c.requests.contains_key("cpu"))
        .map(|c| c.name.clone())
        .collect();
    if !no_cpu.is_empty() {
        out.findings.push(Finding::fail(
            "cpu-requests",
            format!("container(s) {} request no CPU: an HPA CPU-utilisation target has nothing to divide by, so it never scales", no_cpu.join(", ")),
            "set resources.requests.cpu on every container (target-service/k8s/base/deployment.yaml: 250m)",
        ));
    } else {
        out.findings.push(Finding::ok(
            "cpu-requests",
            containers
                .iter()
                .map(|c| format!("{} requests {} CPU", c.name, c.requests["cpu"]))
                .collect::<Vec<_>>()
                .join(", "),
        ));
    }
    d.spec
        .and_then(|s| s.template.metadata)
        .and_then(|m| m.labels)
}

/// The HPA exists, targets the Deployment, can scale and reads a metric.
async fn hpa(client: &Client, namespace: &str, options: &ClusterOptions, out: &mut ClusterCheck) {
    let api: Api<HorizontalPodAutoscaler> = Api::namespaced(client.clone(), namespace);
    let hpas = match timed(api.list(&ListParams::default())).await {
        Ok(list) => list.items,
        Err(text) => {
            out.findings.push(Finding::fail(
                "hpa",
                format!("cannot list HorizontalPodAutoscalers: {text}"),
                "see the rbac check",
            ));
            return;
        }
    };
    let Some(h) = derive::find_hpa(&hpas, &options.deployment, options.hpa.as_deref()) else {
        out.findings.push(Finding::warn(
            "hpa",
            format!("no HorizontalPodAutoscaler in {namespace} targets Deployment {}: nothing will scale it", options.deployment),
            "kubectl apply -k target-service/k8s/base (hpa.yaml), or kubectl autoscale deployment NAME --cpu-percent=60 --min=1 --max=12",
        ));
        return;
    };
    let name = h.metadata.name.clone().unwrap_or_default();
    let spec = h.spec.as_ref();
    out.hpa_max_replicas = spec.map(|s| s.max_replicas.max(0) as u64);
    out.findings.push(Finding::ok(
        "hpa",
        format!(
            "{name}: {}–{} replicas",
            spec.and_then(|s| s.min_replicas).unwrap_or(1),
            spec.map_or(0, |s| s.max_replicas)
        ),
    ));
    if let Some(blocked) = derive::hpa_blocked(h) {
        out.findings.push(Finding::fail(
            "hpa-metrics",
            blocked,
            format!("kubectl describe hpa {name}: install metrics-server, set CPU requests"),
        ));
        return;
    }
    let mut sample = crate::timeline::ClusterSample::default();
    derive::hpa_columns(&mut sample, Some(h));
    out.findings.push(match sample.hpa_metrics {
        Some(m) => Finding::ok("hpa-metrics", format!("current: {m}")),
        None => Finding::warn(
            "hpa-metrics",
            format!("{name} reports no current metric yet"),
            "wait a minute after deploying (metrics-server scrapes every 15 s); if it stays <unknown>, see the metrics-api check",
        ),
    });
}

/// metrics-server's APIService is registered and Available.
async fn metrics_api(client: &Client, findings: &mut Vec<Finding>) {
    let api: Api<APIService> = Api::all(client.clone());
    let install = "install metrics-server (kind: add --kubelet-insecure-tls; minikube addons enable metrics-server; deploy/*.sh do it)";
    let service = match timed(api.list(&by_name(METRICS_API))).await {
        Ok(list) => list.items.into_iter().next(),
        Err(text) => {
            findings.push(Finding::warn(
                "metrics-api",
                format!("cannot read APIService {METRICS_API}: {text}"),
                "check by hand: kubectl get apiservice v1beta1.metrics.k8s.io",
            ));
            return;
        }
    };
    let Some(service) = service else {
        findings.push(Finding::fail(
            "metrics-api",
            format!("no APIService {METRICS_API}: metrics-server is not installed, so the HPA has no CPU to act on"),
            install,
        ));
        return;
    };
    let available = service
        .status
        .as_ref()
        .and_then(|s| s.conditions.as_ref())
        .and_then(|c| c.iter().find(|c| c.type_ == "Available"));
    match available {
        Some(c) if c.status == "True" => findings.push(Finding::ok(
            "metrics-api",
            format!("{METRICS_API} Available"),
        )),
        other => findings.push(Finding::fail(
            "metrics-api",
            format!(
                "{METRICS_API} not Available: {}",
                other
                    .and_then(|c| c.message.clone())
                    .unwrap_or_else(|| "no Available condition".into())
            ),
            install,
        )),
    }
}

/// The Service in front: its type and address.
async fn service(
    client: &Client,
    namespace: &str,
    options: &ClusterOptions,
    pod_labels: Option<&BTreeMap<String, String>>,
    findings: &mut Vec<Finding>,
) {
    let api: Api<Service> = Api::namespaced(client.clone(), namespace);
    let params = options
        .service
        .as_deref()
        .map_or_else(ListParams::default, by_name);
    let services = match timed(api.list(&params)).await {
        Ok(list) => list.items,
        Err(text) => {
            findings.push(Finding::warn(
                "service",
                format!("cannot list Services: {text}"),
                "check by hand: kubectl get svc",
            ));
            return;
        }
    };
    let selects = |s: &Service| {
        let selector = s.spec.as_ref().and_then(|s| s.selector.as_ref());
        match (selector, pod_labels) {
            (Some(sel), Some(labels)) => {
                !sel.is_empty() && sel.iter().all(|(k, v)| labels.get(k) == Some(v))
            }
            _ => false,
        }
    };
    let found = services
        .iter()
        .find(|s| options.service.is_some() || selects(s));
    let Some(s) = found else {
        findings.push(Finding::warn(
            "service",
            match &options.service {
                Some(name) => format!("Service {name} not found in {namespace}"),
                None => format!("no Service in {namespace} selects the Deployment's pods"),
            },
            "kubectl apply -k target-service/k8s/overlays/loadbalancer (or your own Service)",
        ));
        return;
    };
    let name = s.metadata.name.clone().unwrap_or_default();
    let kind = s
        .spec
        .as_ref()
        .and_then(|s| s.type_.clone())
        .unwrap_or_else(|| "ClusterIP".into());
    let address = s
        .status
        .as_ref()
        .and_then(|s| s.load_balancer.as_ref())
        .and_then(|lb| lb.ingress.as_ref())
        .and_then(|i| i.first())
        .and_then(|i| i.ip.clone().or_else(|| i.hostname.clone()));
    let node_port = s
        .spec
        .as_ref()
        .and_then(|s| s.ports.as_ref())
        .and_then(|p| p.first())
        .and_then(|p| p.node_port);
    findings.push(match (kind.as_str(), address) {
        ("LoadBalancer", Some(a)) => Finding::ok("service", format!("{name}: LoadBalancer at {a}")),
        ("LoadBalancer", None) => Finding::warn(
            "service",
            format!("{name}: LoadBalancer without an address yet{}", node_port.map(|p| format!(" (node port {p})")).unwrap_or_default()),
            "wait for EXTERNAL-IP (kubectl get svc -w); minikube needs `minikube tunnel`, kind has none (use the node port)",
        ),
        ("NodePort", _) => Finding::ok("service", format!("{name}: NodePort {}", node_port.map_or("?".into(), |p| p.to_string()))),
        (other, _) => Finding::warn(
            "service",
            format!("{name}: {other}, reachable only from inside the cluster"),
            "expose it (target-service/k8s/overlays/loadbalancer, an Ingress) or run scaleproof in the cluster (k8s/examples/scaleproof-job.yaml); kubectl port-forward sends everything to one pod",
        ),
    });
}
