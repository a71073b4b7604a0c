//! The exact requests the cluster watcher sends, checked through a `tower_test` mock in place
//! of the HTTP client (kube-rs's own unit-test pattern): paths, list/watch parameters, and
//! the selectors that keep it to one Deployment, its HPA and its pods.

use http::{Request, Response};
use kube::client::Body;
use scaleproof::cluster::{ClusterOptions, ClusterWatch};
use serde_json::json;
use std::time::{Duration, Instant};
use tower_test::mock;

type Reply = mock::SendResponse<Response<Body>>;

fn reply(send: Reply, body: serde_json::Value) {
    send.send_response(
        Response::builder()
            .header("content-type", "application/json")
            .body(Body::from(body.to_string().into_bytes()))
            .expect("response"),
    );
}

fn list(kind: &str, items: serde_json::Value) -> serde_json::Value {
    json!({"apiVersion": "v1", "kind": kind, "metadata": {"resourceVersion": "100"}, "items": items})
}

/// The contact probe: the Deployment, one object, every 2 s (it proves the API server still
/// answers when every watch is quiet).
const PROBE: &str =
    "/apis/apps/v1/namespaces/demo/deployments?&fieldSelector=metadata.name%3Dweb&limit=1";

async fn next_any(handle: &mut mock::Handle<Request<Body>, Response<Body>>) -> (String, Reply) {
    let (req, send) = tokio::time::timeout(Duration::from_secs(5), handle.next_request())
        .await
        .expect("a request within 5 s")
        .expect("the client is alive");
    assert_eq!(req.method(), http::Method::GET, "the watcher only reads");
    (req.uri().to_string(), send)
}

/// The next request other than a contact probe; probes are answered and counted in `probes`.
async fn next(
    handle: &mut mock::Handle<Request<Body>, Response<Body>>,
    probes: &mut usize,
) -> (String, Reply) {
    loop {
        let (uri, send) = next_any(handle).await;
        if uri != PROBE {
            return (uri, send);
        }
        *probes += 1;
        reply(send, list("DeploymentList", json!([])));
    }
}

#[tokio::test]
async fn the_watcher_lists_and_watches_exactly_its_workload() {
    let (service, mut handle) = mock::pair::<Request<Body>, Response<Body>>();
    let client = kube::Client::new(service, "demo");
    let watch = ClusterWatch::start_with_client(
        ClusterOptions {
            deployment: "web".into(),
            quiet: true,
            ..Default::default()
        },
        client,
    );
    // First the four LISTs, in any order: the Deployment by name, every HPA of the
    // namespace (to find the one whose scaleTargetRef is the Deployment), every event, and
    // every EndpointSlice (no --service: any slice that lists the Deployment's pods counts).
    let mut probes = 0;
    let mut first = Vec::new();
    for _ in 0..4 {
        first.push(next(&mut handle, &mut probes).await);
    }
    first.sort_by(|a, b| a.0.cmp(&b.0));
    let uris: Vec<&str> = first.iter().map(|(u, _)| u.as_str()).collect();
    assert_eq!(
        uris,
        [
            "/api/v1/namespaces/demo/events?&limit=500",
            "/apis/apps/v1/namespaces/demo/deployments?&fieldSelector=metadata.name%3Dweb&limit=500",
            "/apis/autoscaling/v2/namespaces/demo/horizontalpodautoscalers?&limit=500",
            "/apis/discovery.k8s.io/v1/namespaces/demo/endpointslices?&limit=500",
        ]
    );
    let mut pending = Vec::new();
    for (uri, send) in first {
        if uri.contains("/deployments") {
            reply(
                send,
                list(
                    "DeploymentList",
                    json!([{
                        "apiVersion": "apps/v1", "kind": "Deployment",
                        "metadata": {"name": "web", "namespace": "demo", "resourceVersion": "90"},
                        "spec": {
                            "replicas": 2,
                            "selector": {"matchLabels": {"app": "web"},
                                "matchExpressions": [{"key": "track", "operator": "In", "values": ["stable", "canary"]}]},
                            "template": {"metadata": {"labels": {"app": "web", "track": "stable"}}}
                        },
                        "status": {"replicas": 2, "readyReplicas": 2}
                    }]),
                ),
            );
        } else {
            reply(send, list("List", json!([])));
        }
    }
    // Then: the pods LIST by the Deployment's selector, and the four WATCHes resuming from
    // the lists' resourceVersion with bookmarks and a server-side timeout.
    let mut then = Vec::new();
    let until = Instant::now() + Duration::from_secs(5);
    while then.len() < 5 && Instant::now() < until {
        let (uri, send) = next(&mut handle, &mut probes).await;
        then.push(uri);
        pending.push(send);
    }
    then.sort();
    assert_eq!(
        then,
        [
            "/api/v1/namespaces/demo/events?&watch=true&timeoutSeconds=290&allowWatchBookmarks=true&resourceVersion=100",
            "/api/v1/namespaces/demo/pods?&labelSelector=app%3Dweb%2Ctrack+in+%28canary%2Cstable%29&limit=500",
            "/apis/apps/v1/namespaces/demo/deployments?&watch=true&timeoutSeconds=290&fieldSelector=metadata.name%3Dweb&allowWatchBookmarks=true&resourceVersion=100",
            "/apis/autoscaling/v2/namespaces/demo/horizontalpodautoscalers?&watch=true&timeoutSeconds=290&allowWatchBookmarks=true&resourceVersion=100",
            "/apis/discovery.k8s.io/v1/namespaces/demo/endpointslices?&watch=true&timeoutSeconds=290&allowWatchBookmarks=true&resourceVersion=100",
        ]
    );
    // With every watch open and quiet, the next request is the contact probe, exactly so.
    if probes == 0 {
        let (uri, send) = next_any(&mut handle).await;
        assert_eq!(uri, PROBE);
        reply(send, list("DeploymentList", json!([])));
    }
    let t0 = Instant::now();
    let recording = watch.finish(t0, Instant::now());
    assert_eq!(recording.record.namespace, "demo", "the client's default");
    assert_eq!(
        recording.record.selector.as_deref(),
        Some("app=web,track in (canary,stable)")
    );
    drop(pending);
}

#[tokio::test]
async fn a_named_hpa_and_service_are_watched_by_name_in_the_given_namespace() {
    let (service, mut handle) = mock::pair::<Request<Body>, Response<Body>>();
    let client = kube::Client::new(service, "default");
    let watch = ClusterWatch::start_with_client(
        ClusterOptions {
            deployment: "web".into(),
            hpa: Some("web-cpu".into()),
            service: Some("web-svc".into()),
            namespace: Some("prod".into()),
            quiet: true,
            ..Default::default()
        },
        client,
    );
    let mut uris = Vec::new();
    let mut pending = Vec::new();
    for _ in 0..4 {
        let (uri, send) = next_any(&mut handle).await;
        uris.push(uri);
        pending.push(send);
    }
    uris.sort();
    // The named Service's slices only, by the label Kubernetes puts on them.
    assert_eq!(
        uris[3],
        "/apis/discovery.k8s.io/v1/namespaces/prod/endpointslices?&labelSelector=kubernetes.io%2Fservice-name%3Dweb-svc&limit=500"
    );
    assert_eq!(
        uris[2],
        "/apis/autoscaling/v2/namespaces/prod/horizontalpodautoscalers?&fieldSelector=metadata.name%3Dweb-cpu&limit=500"
    );
    assert!(uris[1].starts_with("/apis/apps/v1/namespaces/prod/deployments?"));
    assert!(uris[0].starts_with("/api/v1/namespaces/prod/events?"));
    drop(watch);
    drop(pending);
}
