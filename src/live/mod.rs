//! The live page (`--live`): one page on `127.0.0.1` that shows the run as it happens, for a
//! demo video. Each closed second is pushed to every open page as a Server-Sent Event, with
//! the figures the terminal prints for that second, the running totals and the verdict so far
//! (the same definitions as `run.json`, `summary.json` and `report.html`); at the end, the
//! final verdict and headline figures from `summary.json`, and `report.html` itself.
//!
//! It never slows the load: the server runs on a thread of its own, the run's closer thread
//! only formats each second once and hands it to [`Hub::publish`], which never waits — every
//! page has a bounded queue, and a page whose queue is full (a slow or stuck browser) is
//! dropped. With no page open, publishing is a `Vec::push` of the formatted second.

use crate::spec::expectations::Expectations;
use crate::timeline::{Timeline, TimelineRow, Totals, WorkloadSource};
use axum::Router;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;
use serde_json::{Value, json};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;
use tokio::sync::mpsc;

/// The page: self-contained (inline CSS and JavaScript, no external URL).
const PAGE: &str = include_str!("page.html");

/// One event: its name (`hello`, `second`, `end`) and its JSON.
type Message = (&'static str, String);

/// Events a page may fall behind by before it is dropped.
pub const CLIENT_QUEUE: usize = 64;

/// What every page gets: the run's description, each second, the end.
#[derive(Debug, Default)]
struct HubState {
    hello: String,
    /// Every second published so far (a page opened late catches up from here).
    seconds: Vec<String>,
    end: Option<String>,
    report: Option<Vec<u8>>,
    clients: Vec<mpsc::Sender<Message>>,
    connected: u64,
    dropped: u64,
}

/// The fan-out from the run to the open pages.
#[derive(Debug, Default)]
pub struct Hub(Mutex<HubState>);

impl Hub {
    fn state(&self) -> MutexGuard<'_, HubState> {
        self.0.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Sends an event to every open page without waiting: a page whose queue is full is
    /// dropped (its stream ends), and so is one that has gone.
    fn send(state: &mut HubState, name: &'static str, data: &str) {
        let mut dropped = 0;
        state
            .clients
            .retain(|c| match c.try_send((name, data.to_owned())) {
                Ok(()) => true,
                Err(mpsc::error::TrySendError::Full(_)) => {
                    dropped += 1;
                    false
                }
                Err(mpsc::error::TrySendError::Closed(_)) => false,
            });
        state.dropped += dropped;
    }

    /// Publishes one closed second (a JSON object).
    pub fn publish(&self, second: Value) {
        let text = second.to_string();
        let mut state = self.state();
        Self::send(&mut state, "second", &text);
        state.seconds.push(text);
    }

    /// Publishes the end of the run: the final verdict and figures, and the report.
    pub fn finish(&self, end: Value, report: Option<Vec<u8>>) {
        let text = end.to_string();
        let mut state = self.state();
        Self::send(&mut state, "end", &text);
        state.end = Some(text);
        state.report = report;
    }

    /// Everything so far as one JSON object, `{hello, seconds, end}`: the page draws it before
    /// it has loaded (a recording, or a browser asked for a screenshot, sees the run at once).
    fn snapshot(&self) -> String {
        let state = self.state();
        format!(
            "{{\"hello\":{},\"seconds\":[{}],\"end\":{}}}",
            if state.hello.is_empty() {
                "null"
            } else {
                &state.hello
            },
            state.seconds.join(","),
            state.end.as_deref().unwrap_or("null")
        )
    }

    /// A new page that has the first `from` seconds: the hello when it has none, the seconds
    /// after those, then what comes, through a queue of `capacity`.
    fn subscribe(&self, from: usize, capacity: usize) -> (Vec<Message>, mpsc::Receiver<Message>) {
        let (tx, rx) = mpsc::channel(capacity);
        let mut state = self.state();
        let mut backlog = Vec::new();
        if from == 0 {
            backlog.push(("hello", state.hello.clone()));
        }
        backlog.extend(
            state
                .seconds
                .iter()
                .skip(from)
                .map(|s| ("second", s.clone())),
        );
        if let Some(end) = &state.end {
            backlog.push(("end", end.clone()));
        } else {
            state.clients.push(tx);
        }
        state.connected += 1;
        (backlog, rx)
    }

    /// Pages connected so far, pages dropped for falling behind, and pages open now.
    pub fn counts(&self) -> (u64, u64, usize) {
        let mut state = self.state();
        state.clients.retain(|c| !c.is_closed());
        (state.connected, state.dropped, state.clients.len())
    }
}

/// The live page's server, on a thread of its own until dropped.
#[derive(Debug)]
pub struct LiveServer {
    addr: SocketAddr,
    hub: Arc<Hub>,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl LiveServer {
    /// Binds `bind:port` (0: any free port) and serves the page; `hello` describes the run.
    pub fn start(bind: std::net::IpAddr, port: u16, hello: Value) -> std::io::Result<Self> {
        let listener = std::net::TcpListener::bind((bind, port))?;
        listener.set_nonblocking(true)?;
        let addr = listener.local_addr()?;
        let hub = Arc::new(Hub::default());
        hub.state().hello = hello.to_string();
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?;
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let app = Router::new()
            .route("/", get(page))
            .route("/events", get(events))
            .route("/report.html", get(report))
            .route("/status", get(status))
            .with_state(hub.clone());
        let thread = std::thread::Builder::new()
            .name("scaleproof-live".to_owned())
            .spawn(move || {
                runtime.block_on(async move {
                    let Ok(listener) = tokio::net::TcpListener::from_std(listener) else {
                        return;
                    };
                    // Not a graceful shutdown: an open event stream (a page left open, a client
                    // that never reads) would hold it forever. The end was sent long before.
                    tokio::select! {
                        _ = axum::serve(listener, app) => {}
                        _ = stopped => {}
                    }
                });
                runtime.shutdown_timeout(Duration::from_millis(100));
            })?;
        Ok(Self {
            addr,
            hub,
            stop: Some(stop),
            thread: Some(thread),
        })
    }

    pub fn url(&self) -> String {
        format!("http://{}/", self.addr)
    }

    pub fn hub(&self) -> Arc<Hub> {
        self.hub.clone()
    }

    /// Keeps serving for `linger` (the final verdict on screen), or until SIGINT or SIGTERM.
    pub fn linger(&self, linger: Duration) {
        if linger.is_zero() {
            return;
        }
        let Ok(runtime) = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
        else {
            return;
        };
        runtime.block_on(async {
            let term = async {
                match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                    Ok(mut s) => {
                        s.recv().await;
                    }
                    Err(_) => std::future::pending().await,
                }
            };
            tokio::select! {
                () = tokio::time::sleep(linger) => {}
                _ = tokio::signal::ctrl_c() => {}
                () = term => {}
            }
        });
    }
}

impl Drop for LiveServer {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// The page, with the run so far inside it (`<` escaped so that no text ends the script).
async fn page(State(hub): State<Arc<Hub>>) -> Html<String> {
    let snapshot = hub.snapshot().replace('<', "\\u003c");
    Html(PAGE.replace("/*SNAPSHOT*/null", &snapshot))
}

async fn events(
    State(hub): State<Arc<Hub>>,
    axum::extract::Query(query): axum::extract::Query<std::collections::HashMap<String, String>>,
) -> impl IntoResponse {
    let from = query.get("from").and_then(|f| f.parse().ok()).unwrap_or(0);
    let (backlog, rx) = hub.subscribe(from, CLIENT_QUEUE);
    let backlog = futures::stream::iter(backlog);
    let live = futures::stream::unfold(rx, |mut rx| async move {
        rx.recv().await.map(|item| (item, rx))
    });
    let stream =
        futures::StreamExt::map(futures::StreamExt::chain(backlog, live), |(name, data)| {
            Ok::<_, std::convert::Infallible>(Event::default().event(name).data(data))
        });
    Sse::new(stream).keep_alive(KeepAlive::new().interval(Duration::from_secs(10)))
}

async fn report(State(hub): State<Arc<Hub>>) -> Response {
    match hub.state().report.clone() {
        Some(html) => ([(header::CONTENT_TYPE, "text/html; charset=utf-8")], html).into_response(),
        None => (
            StatusCode::NOT_FOUND,
            "report.html is written when the run ends",
        )
            .into_response(),
    }
}

async fn status(State(hub): State<Arc<Hub>>) -> impl IntoResponse {
    let (connected, dropped, open) = hub.counts();
    let seconds = hub.state().seconds.len();
    axum::Json(
        json!({"connected": connected, "dropped": dropped, "open": open, "seconds": seconds}),
    )
}

/// What the page needs to know of the run before its first second.
pub fn hello(
    scenario: &str,
    target: &str,
    workload: &str,
    planned_s: Option<f64>,
    open_model: bool,
    expect: &Expectations,
    started_at: chrono::DateTime<chrono::Utc>,
) -> Value {
    json!({
        "scenario": scenario,
        "target": target,
        "workload": workload,
        "local": workload.starts_with("LOCAL"),
        "planned_s": planned_s,
        "latency_kind": if open_model { "corrected" } else { "raw" },
        "expect_rps": expect.rps,
        "expect_p95_ms": expect.p95_ms,
        "expect_replicas": expect.replicas,
        "started": started_at.format("%-d %b %Y, %H:%M UTC").to_string(),
    })
}

/// Each second as the page shows it: the row's figures (as `timeline.csv` has them), the
/// terminal's progress line, the totals and the verdict so far.
#[derive(Debug)]
pub struct Seconds {
    hub: Arc<Hub>,
    expect: Expectations,
    workload: WorkloadSource,
    rows: Vec<TimelineRow>,
}

impl Seconds {
    pub fn new(hub: Arc<Hub>, expect: Expectations, workload: WorkloadSource) -> Self {
        Self {
            hub,
            expect,
            workload,
            rows: Vec::new(),
        }
    }

    /// How many seconds were published: the next one is this.
    pub fn published(&self) -> u64 {
        self.rows.len() as u64
    }

    /// Publishes a closed second (its cluster columns filled from the watch's latest state),
    /// with the run's totals so far.
    pub fn publish(&mut self, row: TimelineRow, progress: String, totals: &Totals) {
        self.rows.push(row);
        let t = Timeline::of(&self.rows, self.workload);
        let verdict = crate::verdict::evaluate_with(&self.expect, &t, totals, None);
        let Some(row) = self.rows.last() else {
            return;
        };
        let ms = |us: Option<u64>| us.map(|v| v as f64 / 1000.0);
        let corrected = row.target_rps.is_some();
        let (p50, p95, p99) = if corrected {
            (
                row.p50_corrected_us,
                row.p95_corrected_us,
                row.p99_corrected_us,
            )
        } else {
            (row.p50_raw_us, row.p95_raw_us, row.p99_raw_us)
        };
        self.hub.publish(json!({
            "t": row.t_s,
            "span_s": row.span_s,
            "users": row.users,
            "target_rps": row.target_rps,
            "ok_rps": row.ok_rps,
            "requests": row.requests,
            "errors": row.errors,
            "dropped": row.dropped,
            "p50_ms": ms(p50),
            "p95_ms": ms(p95),
            "p99_ms": ms(p99),
            "endpoints": row.endpoints,
            "ready": row.deploy_ready,
            "spec": row.deploy_spec_replicas,
            "desired": row.hpa_desired,
            "cpu_pct": row.hpa_cpu_pct,
            "progress": progress,
            "totals": {
                "requests": totals.requests,
                "ok": totals.ok,
                "errors": totals.errors,
                "dropped": totals.dropped,
            },
            "verdict": {
                "state": verdict.state,
                "checks": verdict.checks.iter().map(|c| json!({
                    "name": c.name, "wanted": c.wanted, "measured": c.measured, "state": c.state,
                })).collect::<Vec<_>>(),
            },
        }));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_page_that_never_reads_is_dropped_and_publishing_never_waits() {
        let hub = Hub::default();
        // A page that reads, and one that never does (its queue is never drained).
        let (_, mut reading) = hub.subscribe(0, 4);
        let (_, stuck) = hub.subscribe(0, 4);
        let runtime = tokio::runtime::Builder::new_current_thread()
            .build()
            .expect("runtime");
        for t in 0..10 {
            hub.publish(json!({"t": t}));
            // The reading page keeps up.
            let (name, data) = runtime.block_on(reading.recv()).expect("an event");
            assert_eq!((name, data), ("second", json!({"t": t}).to_string()));
        }
        // The stuck page filled its 4 places and was dropped at the 5th second; the other stays.
        assert_eq!(hub.counts(), (2, 1, 1));
        drop(stuck);
        // A page opened late gets the hello, then every second so far; one that has the
        // first 8 from the page's snapshot gets the last two.
        let (backlog, _) = hub.subscribe(0, 4);
        assert_eq!(backlog.len(), 11);
        assert_eq!(backlog[0].0, "hello");
        assert_eq!(backlog[10], ("second", json!({"t": 9}).to_string()));
        let (backlog, _) = hub.subscribe(8, 4);
        assert_eq!(backlog.len(), 2);
        assert_eq!(backlog[0], ("second", json!({"t": 8}).to_string()));
        let snapshot: Value = serde_json::from_str(&hub.snapshot()).expect("json");
        assert_eq!(snapshot["seconds"].as_array().map(Vec::len), Some(10));
        hub.finish(json!({"state": "pass"}), None);
        let (name, _) = runtime.block_on(reading.recv()).expect("the end");
        assert_eq!(name, "end");
    }
}
