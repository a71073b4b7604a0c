//! A FAKE Kubernetes API server for tests. It is a test double, not Kubernetes: it stores
//! JSON objects in memory and nothing reconciles them (no controllers, no scheduler); tests
//! change objects themselves to act out a scale-out.
//!
//! What it does speak is the real list/watch protocol that client-go and kube-rs rely on:
//! - LIST returns a `…List` with a list `resourceVersion`; every object is stamped with the
//!   resourceVersion of its last write; `limit` and `continue` page through the items;
//! - WATCH (`?watch=true&resourceVersion=N`) is a chunked response of newline-delimited JSON
//!   events (`ADDED`, `MODIFIED`, `DELETED`) after N, then live ones; `BOOKMARK` events (with
//!   apiVersion and kind) when `allowWatchBookmarks=true`; the stream ends after
//!   `timeoutSeconds`; a hang (open watches go silent, new requests never answer);
//! - a resourceVersion older than the last compaction gets HTTP 200 and an in-stream `ERROR`
//!   event holding a `Status` with code 410 (Expired), as the real server does;
//! - `labelSelector` (`=`, `==`, `!=`, `in`, `notin`, exists, `!`) and `fieldSelector`
//!   (`=`, `==`, `!=` on dotted paths) filter both LIST and WATCH; an object that stops (or
//!   starts) matching a watch's selector is sent as `DELETED` (or `ADDED`);
//! - a forbidden resource answers 403 with a `Status`, as RBAC does.
//!
//! Tests can cut every open watch connection mid-stream and force a 410.
//!
//! For `scaleproof doctor` it also answers `GET /version` (with a `Date` header a test can
//! skew), `SelfSubjectAccessReview` creations (allowed unless the resource is forbidden),
//! Services, and cluster-scoped APIServices.
#![allow(dead_code)] // each test binary uses a different subset

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::{Path, Query, State};
use axum::http::{StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde_json::{Value, json};
use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;
use tokio::sync::{broadcast, watch};

/// The resources the fake serves.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Kind {
    Deployment,
    Hpa,
    Pod,
    Event,
    EndpointSlice,
    Service,
    /// Cluster-scoped: stored with namespace "".
    ApiService,
    /// Created by the client (POST) and deleted by name (DELETE), as a controller does.
    Job,
    /// `metrics.k8s.io/v1beta1` PodMetrics, as metrics-server serves them (list only).
    PodMetrics,
}

impl Kind {
    fn api_version(self) -> &'static str {
        match self {
            Kind::Deployment => "apps/v1",
            Kind::Hpa => "autoscaling/v2",
            Kind::Pod | Kind::Event => "v1",
            Kind::EndpointSlice => "discovery.k8s.io/v1",
            Kind::Service => "v1",
            Kind::ApiService => "apiregistration.k8s.io/v1",
            Kind::Job => "batch/v1",
            Kind::PodMetrics => "metrics.k8s.io/v1beta1",
        }
    }

    fn kind(self) -> &'static str {
        match self {
            Kind::Deployment => "Deployment",
            Kind::Hpa => "HorizontalPodAutoscaler",
            Kind::Pod => "Pod",
            Kind::Event => "Event",
            Kind::EndpointSlice => "EndpointSlice",
            Kind::Service => "Service",
            Kind::ApiService => "APIService",
            Kind::Job => "Job",
            Kind::PodMetrics => "PodMetrics",
        }
    }
}

/// One write, as watchers see it.
#[derive(Debug, Clone)]
struct Change {
    rv: u64,
    kind: Kind,
    namespace: String,
    event: &'static str,
    object: Value,
    /// The object before this write (for selector transitions).
    old: Option<Value>,
}

#[derive(Debug, Default)]
struct Db {
    rv: u64,
    objects: BTreeMap<(Kind, String, String), Value>,
    log: Vec<Change>,
    /// Watches from a resourceVersion below this get 410 Expired.
    compacted: u64,
    forbidden: HashSet<Kind>,
    requests: Vec<String>,
    /// Seconds added to the `Date` header of `GET /version`.
    clock_skew_s: i64,
}

struct Shared {
    db: Mutex<Db>,
    changes: broadcast::Sender<Change>,
    /// Bumped to cut every open watch (the connection is aborted mid-stream).
    cut: watch::Sender<u64>,
    /// Bumped to end every open watch with an in-stream 410.
    expire: watch::Sender<u64>,
    /// Once true, the server hangs: open watches go silent and new requests never answer.
    hung: watch::Sender<bool>,
    bookmark_every: Duration,
}

/// A GET handler serving one resource kind.
macro_rules! route {
    ($kind:expr) => {
        get(
            |s: State<Arc<Shared>>, p: Path<String>, q: Query<HashMap<String, String>>, u: Uri| {
                serve($kind, s, p, q, u)
            },
        )
    };
}

/// A fake API server on 127.0.0.1, on a runtime of its own, until dropped.
pub struct FakeApiServer {
    pub url: String,
    shared: Arc<Shared>,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl FakeApiServer {
    pub fn start() -> Self {
        let (changes, _) = broadcast::channel(4096);
        let shared = Arc::new(Shared {
            db: Mutex::new(Db::default()),
            changes,
            cut: watch::Sender::new(0),
            expire: watch::Sender::new(0),
            hung: watch::Sender::new(false),
            bookmark_every: Duration::from_millis(300),
        });
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind loopback");
        listener.set_nonblocking(true).expect("nonblocking");
        let url = format!("http://{}", listener.local_addr().expect("addr"));
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let app = Router::new()
            .route(
                "/apis/apps/v1/namespaces/{ns}/deployments",
                route!(Kind::Deployment),
            )
            .route(
                "/apis/autoscaling/v2/namespaces/{ns}/horizontalpodautoscalers",
                route!(Kind::Hpa),
            )
            .route("/api/v1/namespaces/{ns}/pods", route!(Kind::Pod))
            .route("/api/v1/namespaces/{ns}/events", route!(Kind::Event))
            .route(
                "/apis/discovery.k8s.io/v1/namespaces/{ns}/endpointslices",
                route!(Kind::EndpointSlice),
            )
            .route("/api/v1/namespaces/{ns}/services", route!(Kind::Service))
            .route(
                "/apis/batch/v1/namespaces/{ns}/jobs",
                route!(Kind::Job).post(create_job),
            )
            .route(
                "/apis/batch/v1/namespaces/{ns}/jobs/{name}",
                axum::routing::delete(delete_job),
            )
            .route(
                "/apis/apiregistration.k8s.io/v1/apiservices",
                get(
                    |s: State<Arc<Shared>>, q: Query<HashMap<String, String>>, u: Uri| {
                        serve(Kind::ApiService, s, Path(String::new()), q, u)
                    },
                ),
            )
            .route(
                "/apis/metrics.k8s.io/v1beta1/namespaces/{ns}/pods",
                route!(Kind::PodMetrics),
            )
            .route("/version", get(version))
            .route(
                "/apis/authorization.k8s.io/v1/selfsubjectaccessreviews",
                axum::routing::post(access_review),
            )
            .fallback(|uri: Uri| async move {
                status_response(
                    StatusCode::NOT_FOUND,
                    "NotFound",
                    &format!("{uri} not served by the fake"),
                )
            })
            .with_state(shared.clone());
        let thread = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(1)
                .enable_all()
                .build()
                .expect("runtime");
            runtime.block_on(async move {
                let listener = tokio::net::TcpListener::from_std(listener).expect("listener");
                let _ = axum::serve(listener, app)
                    .with_graceful_shutdown(async move {
                        let _ = stopped.await;
                    })
                    .await;
            });
            // Open watches would hold a graceful shutdown forever; the runtime drop ends them.
            runtime.shutdown_timeout(Duration::from_millis(100));
        });
        Self {
            url,
            shared,
            stop: Some(stop),
            thread: Some(thread),
        }
    }

    fn db(&self) -> MutexGuard<'_, Db> {
        self.shared.db.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Creates or replaces an object (stamping resourceVersion, uid, namespace); returns its
    /// resourceVersion.
    pub fn apply(&self, kind: Kind, object: Value) -> u64 {
        apply(&self.shared, kind, object)["metadata"]["resourceVersion"]
            .as_str()
            .and_then(|rv| rv.parse().ok())
            .expect("stamped")
    }

    /// Every object of a kind in a namespace, by name.
    pub fn objects(&self, kind: Kind, namespace: &str) -> Vec<Value> {
        self.db()
            .objects
            .iter()
            .filter(|((k, ns, _), _)| *k == kind && ns == namespace)
            .map(|(_, o)| o.clone())
            .collect()
    }

    /// Reads an object back (to modify it).
    pub fn get(&self, kind: Kind, namespace: &str, name: &str) -> Value {
        self.db()
            .objects
            .get(&(kind, namespace.to_owned(), name.to_owned()))
            .cloned()
            .expect("object exists")
    }

    /// Changes an object with `f`.
    pub fn modify(&self, kind: Kind, namespace: &str, name: &str, f: impl FnOnce(&mut Value)) {
        let mut object = self.get(kind, namespace, name);
        f(&mut object);
        self.apply(kind, object);
    }

    pub fn delete(&self, kind: Kind, namespace: &str, name: &str) {
        let mut db = self.db();
        let Some(mut object) = db
            .objects
            .remove(&(kind, namespace.to_owned(), name.to_owned()))
        else {
            return;
        };
        db.rv += 1;
        let rv = db.rv;
        object["metadata"]["resourceVersion"] = json!(rv.to_string());
        let change = Change {
            rv,
            kind,
            namespace: namespace.to_owned(),
            event: "DELETED",
            object: object.clone(),
            old: Some(object),
        };
        db.log.push(change.clone());
        let _ = self.shared.changes.send(change);
    }

    /// Aborts every open watch connection mid-stream (no terminating chunk).
    pub fn cut_watches(&self) {
        self.shared.cut.send_modify(|n| *n += 1);
    }

    /// Compacts history: every open watch gets an in-stream 410 and ends; watching from any
    /// older resourceVersion gets 410 too, so clients must LIST again.
    pub fn expire(&self) {
        {
            let mut db = self.db();
            db.compacted = db.rv;
        }
        self.shared.expire.send_modify(|n| *n += 1);
    }

    /// Skews the clock the `Date` header of `GET /version` shows by `seconds`.
    pub fn set_clock_skew(&self, seconds: i64) {
        self.db().clock_skew_s = seconds;
    }

    /// Answers 403 Forbidden for this resource from now on.
    pub fn forbid(&self, kind: Kind) {
        self.db().forbidden.insert(kind);
    }

    /// Every request so far, as `path?query`.
    /// Hangs the server as a wedged API server or a dead network path looks: connections stay
    /// open, open watches send nothing more (no events, no bookmarks, no end), and new requests
    /// are never answered.
    pub fn hang(&self) {
        self.shared.hung.send_replace(true);
    }

    pub fn requests(&self) -> Vec<String> {
        self.db().requests.clone()
    }

    /// Number of open-or-past WATCH requests for a resource path fragment.
    pub fn watches_of(&self, plural: &str) -> usize {
        self.requests()
            .iter()
            .filter(|r| r.contains(&format!("/{plural}?")) && r.contains("watch=true"))
            .count()
    }

    /// Writes a kubeconfig whose current context points at this server.
    pub fn kubeconfig(&self, dir: &std::path::Path, namespace: &str) -> std::path::PathBuf {
        kubeconfig(dir, &self.url, Some(namespace))
    }
}

/// Writes `dir/kubeconfig` with one context (`fake`) for `server`, a dummy token, and the
/// namespace if given.
pub fn kubeconfig(
    dir: &std::path::Path,
    server: &str,
    namespace: Option<&str>,
) -> std::path::PathBuf {
    let path = dir.join("kubeconfig");
    let namespace = namespace
        .map(|ns| format!("    namespace: {ns}\n"))
        .unwrap_or_default();
    let text = format!(
        "apiVersion: v1\nkind: Config\nclusters:\n- name: fake\n  cluster:\n    server: {server}\n\
         users:\n- name: tester\n  user:\n    token: not-a-real-token\n\
         contexts:\n- name: fake\n  context:\n    cluster: fake\n    user: tester\n{namespace}\
         current-context: fake\n"
    );
    std::fs::write(&path, text).expect("write kubeconfig");
    path
}

impl Drop for FakeApiServer {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        self.cut_watches();
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// Creates or replaces an object (stamping resourceVersion, uid, namespace); returns it as
/// stored.
fn apply(shared: &Shared, kind: Kind, mut object: Value) -> Value {
    let mut db = shared.db.lock().unwrap_or_else(|p| p.into_inner());
    db.rv += 1;
    let rv = db.rv;
    let meta = object["metadata"]
        .as_object_mut()
        .expect("object has metadata");
    let name = meta["name"].as_str().expect("metadata.name").to_owned();
    let namespace = meta
        .get("namespace")
        .and_then(Value::as_str)
        .unwrap_or("default")
        .to_owned();
    meta.insert("namespace".into(), json!(namespace));
    meta.insert("resourceVersion".into(), json!(rv.to_string()));
    meta.entry("uid")
        .or_insert_with(|| json!(format!("{}-{namespace}-{name}", kind.kind().to_lowercase())));
    object["apiVersion"] = json!(kind.api_version());
    object["kind"] = json!(kind.kind());
    let key = (kind, namespace.clone(), name);
    let old = db.objects.insert(key, object.clone());
    let change = Change {
        rv,
        kind,
        namespace,
        event: if old.is_some() { "MODIFIED" } else { "ADDED" },
        object: object.clone(),
        old,
    };
    db.log.push(change.clone());
    let _ = shared.changes.send(change);
    object
}

/// `POST …/jobs`: creates the Job (409 if the name is taken, 403 if forbidden), 201.
async fn create_job(
    State(shared): State<Arc<Shared>>,
    Path(namespace): Path<String>,
    uri: Uri,
    body: Bytes,
) -> Response {
    let mut object: Value = match serde_json::from_slice(&body) {
        Ok(v) => v,
        Err(e) => return status_response(StatusCode::BAD_REQUEST, "BadRequest", &e.to_string()),
    };
    let name = object["metadata"]["name"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    {
        let mut db = shared.db.lock().unwrap_or_else(|p| p.into_inner());
        db.requests.push(format!("POST {uri}"));
        if db.forbidden.contains(&Kind::Job) {
            return status_response(
                StatusCode::FORBIDDEN,
                "Forbidden",
                &format!(
                    "jobs.batch is forbidden: cannot create resource \"jobs\" in the namespace \"{namespace}\""
                ),
            );
        }
        if db
            .objects
            .contains_key(&(Kind::Job, namespace.clone(), name.clone()))
        {
            return status_response(
                StatusCode::CONFLICT,
                "AlreadyExists",
                &format!("jobs.batch \"{name}\" already exists"),
            );
        }
    }
    object["metadata"]["namespace"] = json!(namespace);
    object["metadata"]["creationTimestamp"] =
        json!(chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true));
    let stored = apply(&shared, Kind::Job, object);
    (StatusCode::CREATED, axum::Json(stored)).into_response()
}

/// `DELETE …/jobs/{name}`: removes it (a DELETED event), 200 with the object; 404 if none.
async fn delete_job(
    State(shared): State<Arc<Shared>>,
    Path((namespace, name)): Path<(String, String)>,
    uri: Uri,
) -> Response {
    let mut db = shared.db.lock().unwrap_or_else(|p| p.into_inner());
    db.requests.push(format!("DELETE {uri}"));
    let Some(mut object) = db
        .objects
        .remove(&(Kind::Job, namespace.clone(), name.clone()))
    else {
        return status_response(
            StatusCode::NOT_FOUND,
            "NotFound",
            &format!("jobs.batch \"{name}\" not found"),
        );
    };
    db.rv += 1;
    let rv = db.rv;
    object["metadata"]["resourceVersion"] = json!(rv.to_string());
    let change = Change {
        rv,
        kind: Kind::Job,
        namespace,
        event: "DELETED",
        object: object.clone(),
        old: Some(object.clone()),
    };
    db.log.push(change.clone());
    let _ = shared.changes.send(change);
    (StatusCode::OK, axum::Json(object)).into_response()
}

/// `GET /version`: the server's build info, and its clock in the `Date` header.
async fn version(State(shared): State<Arc<Shared>>) -> Response {
    let skew = {
        let mut db = shared.db.lock().unwrap_or_else(|p| p.into_inner());
        db.requests.push("/version".into());
        db.clock_skew_s
    };
    let date = (chrono::Utc::now() + chrono::Duration::seconds(skew))
        .format("%a, %d %b %Y %H:%M:%S GMT")
        .to_string();
    let body = json!({"major": "1", "minor": "33", "gitVersion": "v1.33.0-fake",
        "gitCommit": "0", "gitTreeState": "clean", "buildDate": "2026-01-01T00:00:00Z",
        "goVersion": "go1.24", "compiler": "gc", "platform": "linux/amd64"});
    ([(header::DATE, date)], axum::Json(body)).into_response()
}

/// `POST …/selfsubjectaccessreviews`: allowed unless the resource's kind is forbidden.
async fn access_review(State(shared): State<Arc<Shared>>, body: Bytes) -> Response {
    let mut review: Value = match serde_json::from_slice(&body) {
        Ok(v) => v,
        Err(e) => return status_response(StatusCode::BAD_REQUEST, "BadRequest", &e.to_string()),
    };
    let resource = review["spec"]["resourceAttributes"]["resource"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    let kind = match resource.as_str() {
        "deployments" => Some(Kind::Deployment),
        "horizontalpodautoscalers" => Some(Kind::Hpa),
        "pods" => Some(Kind::Pod),
        "events" => Some(Kind::Event),
        "endpointslices" => Some(Kind::EndpointSlice),
        "services" => Some(Kind::Service),
        "jobs" => Some(Kind::Job),
        _ => None,
    };
    let allowed = {
        let mut db = shared.db.lock().unwrap_or_else(|p| p.into_inner());
        db.requests
            .push(format!("selfsubjectaccessreview {resource}"));
        kind.is_some_and(|k| !db.forbidden.contains(&k))
    };
    review["apiVersion"] = json!("authorization.k8s.io/v1");
    review["kind"] = json!("SelfSubjectAccessReview");
    review["status"] = json!({"allowed": allowed});
    (StatusCode::CREATED, axum::Json(review)).into_response()
}

fn status_response(code: StatusCode, reason: &str, message: &str) -> Response {
    (
        code,
        [(header::CONTENT_TYPE, "application/json")],
        status_json(code.as_u16(), reason, message).to_string(),
    )
        .into_response()
}

fn status_json(code: u16, reason: &str, message: &str) -> Value {
    json!({"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
           "message": message, "reason": reason, "code": code})
}

async fn serve(
    kind: Kind,
    State(shared): State<Arc<Shared>>,
    Path(namespace): Path<String>,
    Query(query): Query<HashMap<String, String>>,
    uri: Uri,
) -> Response {
    let forbidden = {
        let mut db = shared.db.lock().unwrap_or_else(|p| p.into_inner());
        db.requests.push(uri.to_string());
        db.forbidden.contains(&kind)
    };
    if *shared.hung.borrow() {
        std::future::pending::<()>().await;
    }
    let plural = uri.path().rsplit('/').next().unwrap_or_default().to_owned();
    if forbidden {
        return status_response(
            StatusCode::FORBIDDEN,
            "Forbidden",
            &format!(
                "{plural} is forbidden: User \"system:serviceaccount:{namespace}:scaleproof\" cannot list resource \"{plural}\" in the namespace \"{namespace}\""
            ),
        );
    }
    let selector = match Selector::parse(&query) {
        Ok(s) => s,
        Err(e) => return status_response(StatusCode::BAD_REQUEST, "BadRequest", &e),
    };
    if matches!(query.get("watch").map(String::as_str), Some("true" | "1")) {
        watch_response(kind, shared, namespace, &query, selector)
    } else {
        list_response(kind, &shared, &namespace, &query, &selector)
    }
}

fn list_response(
    kind: Kind,
    shared: &Shared,
    namespace: &str,
    query: &HashMap<String, String>,
    selector: &Selector,
) -> Response {
    let db = shared.db.lock().unwrap_or_else(|p| p.into_inner());
    let mut items: Vec<&Value> = db
        .objects
        .iter()
        .filter(|((k, ns, _), o)| *k == kind && ns == namespace && selector.matches(o))
        .map(|(_, o)| o)
        .collect();
    // continue = "<list resourceVersion>:<offset>"
    let (list_rv, offset) = match query.get("continue").filter(|c| !c.is_empty()) {
        Some(token) => {
            let (rv, off) = token.split_once(':').unwrap_or(("0", "0"));
            (rv.parse().unwrap_or(db.rv), off.parse().unwrap_or(0))
        }
        None => (db.rv, 0usize),
    };
    items = items.into_iter().skip(offset).collect();
    let limit = query
        .get("limit")
        .and_then(|l| l.parse::<usize>().ok())
        .filter(|&l| l > 0);
    let mut metadata = json!({"resourceVersion": list_rv.to_string()});
    if let Some(limit) = limit
        && items.len() > limit
    {
        items.truncate(limit);
        metadata["continue"] = json!(format!("{list_rv}:{}", offset + limit));
    }
    let body = json!({
        "apiVersion": kind.api_version(),
        "kind": format!("{}List", kind.kind()),
        "metadata": metadata,
        "items": items,
    });
    (
        [(header::CONTENT_TYPE, "application/json")],
        body.to_string(),
    )
        .into_response()
}

fn watch_line(event: &str, object: &Value) -> Bytes {
    let mut line = json!({"type": event, "object": object}).to_string();
    line.push('\n');
    Bytes::from(line)
}

fn watch_response(
    kind: Kind,
    shared: Arc<Shared>,
    namespace: String,
    query: &HashMap<String, String>,
    selector: Selector,
) -> Response {
    let from: u64 = query
        .get("resourceVersion")
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    let timeout = query
        .get("timeoutSeconds")
        .and_then(|t| t.parse::<u64>().ok())
        .map(Duration::from_secs);
    let bookmarks = query.get("allowWatchBookmarks").map(String::as_str) == Some("true");
    let (tx, rx) = tokio::sync::mpsc::channel::<Result<Bytes, std::io::Error>>(256);
    // Subscribe before reading the log, so that nothing falls between the two.
    let mut live = shared.changes.subscribe();
    let mut cut = shared.cut.subscribe();
    let mut expire = shared.expire.subscribe();
    let mut hung = shared.hung.subscribe();
    let (backlog, expired, mut last_rv) = {
        let db = shared.db.lock().unwrap_or_else(|p| p.into_inner());
        // History before `compacted` is gone; from `compacted` on nothing is missing.
        let expired = from < db.compacted;
        let backlog: Vec<Change> = db.log.iter().filter(|c| c.rv > from).cloned().collect();
        (backlog, expired, from)
    };
    let matches = move |c: &Change| -> Option<(&'static str, Value)> {
        if c.kind != kind || c.namespace != namespace {
            return None;
        }
        let now = c.event != "DELETED" && selector.matches(&c.object);
        let before = c.old.as_ref().is_some_and(|o| selector.matches(o));
        match (before, now) {
            (false, true) => Some(("ADDED", c.object.clone())),
            (true, true) => Some((c.event, c.object.clone())),
            (true, false) => Some(("DELETED", c.object.clone())),
            (false, false) => None,
        }
    };
    tokio::spawn(async move {
        if expired {
            let status = status_json(410, "Expired", &format!("too old resource version: {from}"));
            let _ = tx.send(Ok(watch_line("ERROR", &status))).await;
            return;
        }
        for c in &backlog {
            if let Some((event, object)) = matches(c)
                && tx.send(Ok(watch_line(event, &object))).await.is_err()
            {
                return;
            }
            last_rv = c.rv;
        }
        let deadline = timeout.map(|t| tokio::time::Instant::now() + t);
        let mut bookmark = tokio::time::interval(shared.bookmark_every);
        bookmark.tick().await;
        loop {
            let until_deadline = async {
                match deadline {
                    Some(d) => tokio::time::sleep_until(d).await,
                    None => std::future::pending().await,
                }
            };
            tokio::select! {
                _ = until_deadline => return, // timeoutSeconds: the server ends the watch
                _ = cut.changed() => {
                    let _ = tx.send(Err(std::io::Error::other("connection cut by the test"))).await;
                    return;
                }
                _ = async { let _ = hung.wait_for(|h| *h).await; } => {
                    // Keep the stream open and say nothing, for as long as the client waits.
                    let _held = tx;
                    std::future::pending::<()>().await;
                    return;
                }
                _ = expire.changed() => {
                    let status = status_json(410, "Expired", "the resourceVersion is too old (history compacted)");
                    let _ = tx.send(Ok(watch_line("ERROR", &status))).await;
                    return;
                }
                change = live.recv() => match change {
                    Ok(c) if c.rv > last_rv => {
                        last_rv = c.rv;
                        if let Some((event, object)) = matches(&c)
                            && tx.send(Ok(watch_line(event, &object))).await.is_err()
                        {
                            return;
                        }
                    }
                    Ok(_) => {}
                    Err(_) => return,
                },
                _ = bookmark.tick(), if bookmarks => {
                    let current = shared.db.lock().unwrap_or_else(|p| p.into_inner()).rv;
                    let object = json!({"kind": kind.kind(), "apiVersion": kind.api_version(),
                        "metadata": {"resourceVersion": current.to_string()}});
                    if tx.send(Ok(watch_line("BOOKMARK", &object))).await.is_err() {
                        return;
                    }
                }
            }
        }
    });
    let stream = futures::stream::unfold(rx, |mut rx| async move {
        rx.recv().await.map(|item| (item, rx))
    });
    (
        [(header::CONTENT_TYPE, "application/json")],
        Body::from_stream(stream),
    )
        .into_response()
}

/// Label and field selectors of one request.
#[derive(Debug, Clone, Default)]
struct Selector {
    labels: Vec<LabelReq>,
    fields: Vec<(String, bool, String)>,
}

#[derive(Debug, Clone)]
enum LabelReq {
    In(String, Vec<String>),
    NotIn(String, Vec<String>),
    Exists(String),
    Absent(String),
}

/// Splits on commas outside parentheses.
fn split_top(text: &str) -> Vec<String> {
    let mut parts = Vec::new();
    let mut depth = 0;
    let mut current = String::new();
    for c in text.chars() {
        match c {
            '(' => depth += 1,
            ')' => depth -= 1,
            ',' if depth == 0 => {
                parts.push(std::mem::take(&mut current));
                continue;
            }
            _ => {}
        }
        current.push(c);
    }
    parts.push(current);
    parts
        .into_iter()
        .map(|p| p.trim().to_owned())
        .filter(|p| !p.is_empty())
        .collect()
}

fn set_values(text: &str) -> Result<Vec<String>, String> {
    let inner = text
        .trim()
        .strip_prefix('(')
        .and_then(|t| t.strip_suffix(')'))
        .ok_or_else(|| format!("bad set {text:?}"))?;
    Ok(inner.split(',').map(|v| v.trim().to_owned()).collect())
}

impl Selector {
    fn parse(query: &HashMap<String, String>) -> Result<Self, String> {
        let mut s = Selector::default();
        for part in split_top(query.get("labelSelector").map_or("", String::as_str)) {
            let req = if let Some((k, v)) = part.split_once("!=") {
                LabelReq::NotIn(k.trim().into(), vec![v.trim().into()])
            } else if let Some((k, v)) = part.split_once("==").or_else(|| part.split_once('=')) {
                LabelReq::In(k.trim().into(), vec![v.trim().into()])
            } else if let Some((k, v)) = part.split_once(" notin ") {
                LabelReq::NotIn(k.trim().into(), set_values(v)?)
            } else if let Some((k, v)) = part.split_once(" in ") {
                LabelReq::In(k.trim().into(), set_values(v)?)
            } else if let Some(k) = part.strip_prefix('!') {
                LabelReq::Absent(k.trim().into())
            } else {
                LabelReq::Exists(part.clone())
            };
            s.labels.push(req);
        }
        for part in split_top(query.get("fieldSelector").map_or("", String::as_str)) {
            let (path, equal, value) = if let Some((k, v)) = part.split_once("!=") {
                (k, false, v)
            } else if let Some((k, v)) = part.split_once("==").or_else(|| part.split_once('=')) {
                (k, true, v)
            } else {
                return Err(format!("invalid field selector {part:?}"));
            };
            s.fields
                .push((path.trim().to_owned(), equal, value.trim().to_owned()));
        }
        Ok(s)
    }

    fn matches(&self, object: &Value) -> bool {
        let labels = object["metadata"]["labels"].as_object();
        let label = |k: &str| labels.and_then(|l| l.get(k)).and_then(Value::as_str);
        let labels_ok = self.labels.iter().all(|req| match req {
            LabelReq::In(k, vs) => label(k).is_some_and(|v| vs.iter().any(|x| x == v)),
            LabelReq::NotIn(k, vs) => label(k).is_none_or(|v| vs.iter().all(|x| x != v)),
            LabelReq::Exists(k) => label(k).is_some(),
            LabelReq::Absent(k) => label(k).is_none(),
        });
        let fields_ok = self.fields.iter().all(|(path, equal, value)| {
            let mut v = object;
            for key in path.split('.') {
                v = &v[key];
            }
            let actual = match v {
                Value::String(s) => s.clone(),
                Value::Null => String::new(),
                other => other.to_string(),
            };
            (actual == *value) == *equal
        });
        labels_ok && fields_ok
    }
}
