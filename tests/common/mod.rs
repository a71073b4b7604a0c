//! Helpers shared by scaleproof's integration tests: a real target-service on 127.0.0.1:0 in
//! a runtime of its own, and a lock that keeps Goose attacks one at a time per process.
#![allow(dead_code)] // each test binary uses a different subset

use axum::Router;
use std::sync::{Arc, Mutex, MutexGuard};
use std::thread::JoinHandle;
use target_service::{AppState, Model, ServiceConfig};
use tokio::sync::oneshot;

pub mod tls;

/// Goose's stop switch is process-wide: one attack at a time.
static ATTACK: Mutex<()> = Mutex::new(());

pub fn one_attack_at_a_time() -> MutexGuard<'static, ()> {
    ATTACK.lock().unwrap_or_else(|p| p.into_inner())
}

/// Runs with local replicas use every core of a 2-core machine; two at once would starve each
/// other's replicas (and their autoscalers would see less CPU than the load asks for).
static LOCAL_REPLICAS: Mutex<()> = Mutex::new(());

pub fn one_local_run_at_a_time() -> MutexGuard<'static, ()> {
    LOCAL_REPLICAS.lock().unwrap_or_else(|p| p.into_inner())
}

/// The one run directory a run wrote under `out`.
pub fn only_run_dir(out: &std::path::Path) -> std::path::PathBuf {
    let dirs: Vec<_> = std::fs::read_dir(out)
        .expect("out")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.is_dir())
        .collect();
    assert_eq!(dirs.len(), 1, "{dirs:?}");
    dirs[0].clone()
}

/// The real service's state with the bundled model, answering as `served_by`.
pub fn service_state(served_by: &str) -> AppState {
    AppState::new(
        Model::bundled().expect("bundled model"),
        ServiceConfig {
            served_by: served_by.to_owned(),
            ..ServiceConfig::default()
        },
    )
}

/// A target-service serving on loopback until stopped or dropped.
pub struct Target {
    pub base: String,
    pub state: AppState,
    stop: Option<oneshot::Sender<()>>,
    thread: Option<JoinHandle<()>>,
}

impl Target {
    /// The real service, optionally with extra (test-only) routes merged in.
    pub fn start(served_by: &str, extra: Option<Router>) -> Self {
        Self::start_with(served_by, move |app| match extra {
            Some(extra) => app.merge(extra),
            None => app,
        })
    }

    /// The real service as `wrap` changes it (a middleware in front, as a gateway would be).
    pub fn start_with(
        served_by: &str,
        wrap: impl FnOnce(Router) -> Router + Send + 'static,
    ) -> Self {
        Self::serve(service_state(served_by), 0, wrap)
    }

    /// The real service on 127.0.0.1:`port` (0: any) with `work_factor` extra forest
    /// evaluations per request (its `WORK_FACTOR`).
    pub fn start_on(port: u16, work_factor: u32) -> Self {
        let state = AppState::new(
            Model::bundled().expect("bundled model"),
            ServiceConfig {
                served_by: "target".to_owned(),
                work_factor,
                ..ServiceConfig::default()
            },
        );
        Self::serve(state, port, |app| app)
    }

    fn serve(
        state: AppState,
        port: u16,
        wrap: impl FnOnce(Router) -> Router + Send + 'static,
    ) -> Self {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .expect("runtime");
        let std_listener = std::net::TcpListener::bind(("127.0.0.1", port)).expect("bind loopback");
        std_listener.set_nonblocking(true).expect("nonblocking");
        let base = format!("http://{}", std_listener.local_addr().expect("addr"));
        let (stop, stopped) = oneshot::channel::<()>();
        let serve_state = state.clone();
        let thread = std::thread::spawn(move || {
            runtime.block_on(async move {
                let listener =
                    tokio::net::TcpListener::from_std(std_listener).expect("tokio listener");
                let app = wrap(target_service::app(serve_state));
                let shutdown = async move {
                    let _ = stopped.await;
                };
                axum::serve(listener, app)
                    .with_graceful_shutdown(shutdown)
                    .await
                    .expect("serve");
            });
        });
        Self {
            base,
            state,
            stop: Some(stop),
            thread: Some(thread),
        }
    }

    /// Closes the listener (new connections are refused) and waits for the server to end.
    pub fn stop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

impl Drop for Target {
    fn drop(&mut self) {
        self.stop();
    }
}

/// Polls `ready` every 10 ms until it holds; panics naming `what` after `limit`. Tests wait
/// for the state they need this way instead of sleeping a guessed time.
pub fn wait_until(what: &str, limit: std::time::Duration, mut ready: impl FnMut() -> bool) {
    let deadline = std::time::Instant::now() + limit;
    while !ready() {
        assert!(
            std::time::Instant::now() < deadline,
            "timed out after {limit:?} waiting for {what}"
        );
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
}

/// A test-only route, `POST /flaky`, that answers every other request 503 (the first 200).
pub fn flaky_route() -> Router {
    use std::sync::atomic::{AtomicU64, Ordering};
    let n = Arc::new(AtomicU64::new(0));
    Router::new().route(
        "/flaky",
        axum::routing::post(move || {
            let n = n.clone();
            async move {
                if n.fetch_add(1, Ordering::Relaxed).is_multiple_of(2) {
                    (axum::http::StatusCode::OK, "{}")
                } else {
                    (axum::http::StatusCode::SERVICE_UNAVAILABLE, "{}")
                }
            }
        }),
    )
}

/// A loopback port with nothing listening on it.
pub fn closed_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = listener.local_addr().expect("addr").port();
    drop(listener);
    port
}

/// A one-worker runtime of its own and a listener on `127.0.0.1:0` bound in it: the start of
/// every loopback server double here.
pub fn loopback_runtime() -> (
    tokio::runtime::Runtime,
    tokio::net::TcpListener,
    std::net::SocketAddr,
) {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .expect("runtime");
    let listener = runtime
        .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
        .expect("bind loopback");
    let addr = listener.local_addr().expect("addr");
    (runtime, listener, addr)
}

/// A round-robin TCP proxy on loopback, as a Kubernetes Service is: each accepted connection
/// goes to the next of its endpoints. Tests re-point it ([`Self::route_to`]) and drop every
/// connection to one endpoint at once ([`Self::kill`]: a pod killed mid-request). A test
/// double for the connection-recycling and pod-lifecycle tests.
pub struct RoundRobinProxy {
    pub base: String,
    /// (name, host:port) of each endpoint.
    endpoints: Arc<Mutex<Vec<(String, String)>>>,
    connections: Arc<Mutex<Vec<(String, tokio::task::AbortHandle)>>>,
    runtime: Option<tokio::runtime::Runtime>,
}

fn host_port(base: &str) -> String {
    base.trim_start_matches("http://")
        .trim_end_matches('/')
        .to_owned()
}

impl RoundRobinProxy {
    /// A proxy over `backends` (base URLs), each named by its address.
    pub fn start(backends: &[&str]) -> Self {
        let proxy = Self::empty();
        *proxy.endpoints.lock().expect("endpoints") = backends
            .iter()
            .map(|b| (host_port(b), host_port(b)))
            .collect();
        proxy
    }

    /// A proxy with no endpoint yet: connections are closed until [`Self::route_to`].
    pub fn empty() -> Self {
        let (runtime, listener, addr) = loopback_runtime();
        let base = format!("http://{addr}");
        let endpoints: Arc<Mutex<Vec<(String, String)>>> = Arc::default();
        let connections: Arc<Mutex<Vec<(String, tokio::task::AbortHandle)>>> = Arc::default();
        let (eps, conns) = (endpoints.clone(), connections.clone());
        runtime.spawn(async move {
            let mut next = 0usize;
            while let Ok((mut inbound, _)) = listener.accept().await {
                let picked = {
                    let eps = eps.lock().unwrap_or_else(|p| p.into_inner());
                    next += 1;
                    (!eps.is_empty()).then(|| eps[next % eps.len()].clone())
                };
                let Some((name, addr)) = picked else { continue };
                let task = tokio::spawn(async move {
                    if let Ok(mut outbound) = tokio::net::TcpStream::connect(&addr).await {
                        let _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound).await;
                    }
                });
                conns
                    .lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .push((name, task.abort_handle()));
            }
        });
        Self {
            base,
            endpoints,
            connections,
            runtime: Some(runtime),
        }
    }

    /// New connections go round-robin over these (name, target) endpoints from now on.
    pub fn route_to(&self, targets: &[(&str, &Target)]) {
        *self.endpoints.lock().expect("endpoints") = targets
            .iter()
            .map(|(name, t)| ((*name).to_owned(), host_port(&t.base)))
            .collect();
    }

    /// Drops every open connection to the endpoint `name`: its requests in flight fail.
    pub fn kill(&self, name: &str) {
        for (n, task) in self.connections.lock().expect("connections").iter() {
            if n == name {
                task.abort();
            }
        }
    }
}

impl Drop for RoundRobinProxy {
    fn drop(&mut self) {
        if let Some(rt) = self.runtime.take() {
            rt.shutdown_background();
        }
    }
}

/// Headless Chromium, for the tests that render pages. On CI it must be there (`.ci/run`
/// installs it); elsewhere its absence is said out loud and the test returns.
pub fn chromium() -> Option<&'static str> {
    let found = ["/usr/bin/chromium", "/usr/bin/chromium-browser"]
        .into_iter()
        .find(|p| std::path::Path::new(p).exists());
    if found.is_none() {
        assert!(
            std::env::var_os("CI").is_none(),
            "CI must install chromium (.ci/run does)"
        );
        eprintln!("skipped: no chromium on this machine (apt-get install chromium)");
    }
    found
}
