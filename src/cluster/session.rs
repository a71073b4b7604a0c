//! One watch session: started before the load, waited on for its first answers, finished
//! after the load, and turned into the run's cluster recording (changes on the run's clock,
//! events, context). The watch itself runs on a thread and runtime of its own.

use super::state::WatchState;
use super::watch;
use crate::config::ClusterOptions;
use crate::support::chain::chain;
use crate::timeline::{
    ClusterChangeRow, ClusterRecord, ClusterSample, EventRow, PodRow, TimelineRow,
};
use kube::Client;
use kube::config::{Config, KubeConfigOptions, Kubeconfig};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::sync::oneshot;

/// A running cluster watch. Dropping it stops the watch.
#[derive(Debug)]
pub struct ClusterWatch {
    shared: Arc<Mutex<WatchState>>,
    stop: Option<oneshot::Sender<()>>,
    done: std::sync::mpsc::Receiver<()>,
}

/// How long [`ClusterWatch::finish`] waits for the watch thread.
const STOP_WAIT: Duration = Duration::from_millis(500);

impl ClusterWatch {
    /// Starts watching with credentials found as kubectl finds them.
    pub fn start(options: ClusterOptions) -> Self {
        Self::spawn(options, None)
    }

    /// Starts watching through a given client (tests: a `tower_test` mock).
    pub fn start_with_client(options: ClusterOptions, client: Client) -> Self {
        Self::spawn(options, Some(client))
    }

    fn spawn(options: ClusterOptions, client: Option<Client>) -> Self {
        let shared = Arc::new(Mutex::new(WatchState {
            quiet: options.quiet,
            record: ClusterRecord {
                deployment: options.deployment.clone(),
                hpa: None,
                kube_context: options.context.clone(),
                ..Default::default()
            },
            ..Default::default()
        }));
        let (stop, stop_rx) = oneshot::channel();
        let (done_tx, done) = std::sync::mpsc::channel();
        let thread_shared = shared.clone();
        let spawned = std::thread::Builder::new()
            .name("scaleproof-cluster".into())
            .spawn(move || {
                watch_thread(options, client, thread_shared, stop_rx);
                let _ = done_tx.send(());
            });
        if let Err(e) = spawned {
            let mut s = lock(&shared);
            s.no_client = true;
            s.warn(format!("cannot start the watch thread: {e}"));
        }
        Self {
            shared,
            stop: Some(stop),
            done,
        }
    }

    /// Waits until every watch has listed once or failed, at most `max`. Never longer: the
    /// load does not wait for a slow cluster.
    pub fn wait_settled(&self, max: Duration) -> bool {
        let until = Instant::now() + max;
        loop {
            if lock(&self.shared).all_settled() {
                return true;
            }
            if Instant::now() >= until {
                return false;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    /// A cheap handle that reads the latest sample (for progress lines).
    pub fn monitor(&self) -> ClusterMonitor {
        ClusterMonitor(self.shared.clone())
    }

    /// The record so far (namespace, context, HPA, warnings).
    pub fn record(&self) -> ClusterRecord {
        lock(&self.shared).record.clone()
    }

    /// Stops the watch (within a second) and places what it saw on the run's clock: the load
    /// started at `t0` and ended at `end`.
    pub fn finish(mut self, t0: Instant, end: Instant) -> ClusterRecording {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        // The loop leaves at its next poll; a thread stuck anyway is left behind, not waited for.
        let _ = self.done.recv_timeout(STOP_WAIT);
        let shared = lock(&self.shared);
        recording(&shared, t0, end)
    }
}

impl Drop for ClusterWatch {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

/// Reads the latest state of a [`ClusterWatch`].
#[derive(Debug, Clone)]
pub struct ClusterMonitor(Arc<Mutex<WatchState>>);

impl ClusterMonitor {
    /// The latest sample; all unknown before anything was listed.
    pub fn latest(&self) -> ClusterSample {
        lock(&self.0)
            .changes
            .last()
            .map(|(_, s)| s.clone())
            .unwrap_or_default()
    }
}

fn lock(shared: &Mutex<WatchState>) -> std::sync::MutexGuard<'_, WatchState> {
    crate::support::lock::lock(shared)
}

/// Connects (unless given a client) and runs the watch loop on a runtime of its own.
fn watch_thread(
    options: ClusterOptions,
    client: Option<Client>,
    shared: Arc<Mutex<WatchState>>,
    stop: oneshot::Receiver<()>,
) {
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            let mut s = lock(&shared);
            s.no_client = true;
            s.warn(format!("cannot start the watch runtime: {e}"));
            return;
        }
    };
    runtime.block_on(async move {
        let (client, namespace) = match client {
            Some(client) => {
                let ns = options
                    .namespace
                    .clone()
                    .unwrap_or_else(|| client.default_namespace().to_owned());
                (client, ns)
            }
            None => match connect(&options).await {
                Ok((client, connection)) => {
                    let mut s = lock(&shared);
                    s.record.server = Some(connection.server);
                    s.record.kube_context = connection.context;
                    (client, connection.namespace)
                }
                Err(text) => {
                    let mut s = lock(&shared);
                    s.no_client = true;
                    s.warn(text);
                    return;
                }
            },
        };
        lock(&shared).record.namespace = namespace.clone();
        let target = watch::Workload {
            namespace,
            deployment: options.deployment.clone(),
            hpa: options.hpa.clone(),
            service: options.service.clone(),
        };
        watch::run(client, target, shared, stop).await;
    });
    // Dropping the runtime cancels the watch connections.
}

/// Where the client connects.
pub(super) struct Connection {
    pub(super) server: String,
    pub(super) context: Option<String>,
    pub(super) namespace: String,
}

/// Builds a client from `--kubeconfig`/`--context`, else as kubectl does (`KUBECONFIG`,
/// `~/.kube/config`, then the in-cluster service account).
pub(super) async fn connect(options: &ClusterOptions) -> Result<(Client, Connection), String> {
    let kube_options = KubeConfigOptions {
        context: options.context.clone(),
        ..Default::default()
    };
    let (mut config, context) = match (&options.kubeconfig, &options.context) {
        (Some(path), _) => {
            let kubeconfig = Kubeconfig::read_from(path)
                .map_err(|e| format!("cannot read kubeconfig {}: {}", path.display(), chain(&e)))?;
            let context = options
                .context
                .clone()
                .or_else(|| kubeconfig.current_context.clone());
            let config = Config::from_custom_kubeconfig(kubeconfig, &kube_options)
                .await
                .map_err(|e| format!("kubeconfig {}: {}", path.display(), chain(&e)))?;
            (config, context)
        }
        (None, Some(_)) => {
            let config = Config::from_kubeconfig(&kube_options)
                .await
                .map_err(|e| format!("kubeconfig: {}", chain(&e)))?;
            (config, options.context.clone())
        }
        (None, None) => {
            let config = Config::infer().await.map_err(|e| {
                format!(
                    "no cluster credentials ({}); set KUBECONFIG, pass --kubeconfig or --context, or --no-cluster",
                    chain(&e)
                )
            })?;
            let context = match Kubeconfig::read() {
                Ok(k) => k.current_context,
                Err(_) => Some("in-cluster".to_owned()),
            };
            (config, context)
        }
    };
    // An unreachable server should say so quickly (the load is not waiting either way).
    config.connect_timeout = Some(Duration::from_secs(5));
    let connection = Connection {
        server: config.cluster_url.to_string(),
        context,
        namespace: options
            .namespace
            .clone()
            .unwrap_or_else(|| config.default_namespace.clone()),
    };
    let client = Client::try_from(config)
        .map_err(|e| format!("cannot build a Kubernetes client: {}", chain(&e)))?;
    Ok((client, connection))
}

/// What the watcher saw, on the run's clock.
#[derive(Debug, Clone, Default)]
pub struct ClusterRecording {
    /// Context for `run.json`, with `at_start` filled.
    pub record: ClusterRecord,
    /// Rows of `cluster.csv`.
    pub changes: Vec<ClusterChangeRow>,
    /// Rows of `events.csv`.
    pub events: Vec<EventRow>,
    /// The lifecycle columns of `pods.csv` (the load side adds the request columns).
    pub pods: Vec<PodRow>,
    /// `(seconds since t0, sample)`, the first at 0.
    samples: Vec<(f64, ClusterSample)>,
}

impl ClusterRecording {
    /// The state at `t` seconds into the run.
    pub fn at(&self, t: f64) -> ClusterSample {
        // Samples are in time order: the last one at or before `t`.
        let after = self.samples.partition_point(|(at, _)| *at <= t);
        after
            .checked_sub(1)
            .map(|i| self.samples[i].1.clone())
            .unwrap_or_default()
    }

    /// Sets the cluster columns of each timeline row to the state at the end of its second.
    pub fn fill(&self, rows: &mut [TimelineRow]) {
        for row in rows {
            row.set_cluster(&self.at(row.t_s as f64 + row.span_s));
        }
    }
}

/// Seconds since `t0`, at millisecond resolution.
fn seconds(t0: Instant, at: Instant) -> f64 {
    (at.saturating_duration_since(t0).as_millis() as f64) / 1000.0
}

fn recording(shared: &WatchState, t0: Instant, end: Instant) -> ClusterRecording {
    let mut recording = ClusterRecording::from_history(
        shared.record.clone(),
        &shared.changes,
        &shared.events,
        t0,
        end,
    );
    // The wall-clock time of `t0`, to place the API server's timestamps on the run's clock.
    let t0_wall = std::time::SystemTime::now() - Instant::now().saturating_duration_since(t0);
    recording.pods = shared.pods.rows(t0, t0_wall);
    recording.record.services = shared.pods.services.iter().cloned().collect();
    recording
}

impl ClusterRecording {
    /// Places a history — every distinct sample and event with the instant it was seen — on
    /// the run's clock: the load started at `t0` and ended at `end`.
    pub fn from_history(
        record: ClusterRecord,
        history: &[(Instant, ClusterSample)],
        events: &[(Instant, EventRow)],
        t0: Instant,
        end: Instant,
    ) -> Self {
        // The state when the load started, then every change during the run.
        let before = history
            .iter()
            .rev()
            .find(|(at, _)| *at <= t0)
            .map(|(_, s)| s.clone())
            .unwrap_or_default();
        let mut samples = vec![(0.0, before)];
        for (at, s) in history.iter().filter(|(at, _)| *at > t0 && *at <= end) {
            samples.push((seconds(t0, *at), s.clone()));
        }
        let mut changes = Vec::new();
        let mut previous: Option<[(&str, Option<String>); 15]> = None;
        for (t, s) in &samples {
            let cells = s.cells();
            for (i, (column, value)) in cells.iter().enumerate() {
                if previous.as_ref().is_none_or(|p| p[i].1 != *value) {
                    changes.push(ClusterChangeRow {
                        t_s: *t,
                        column: (*column).to_owned(),
                        value: value.clone(),
                    });
                }
            }
            previous = Some(cells);
        }
        // Events that arrived before the load started happened before the run.
        let events = events
            .iter()
            .filter(|(at, _)| *at >= t0 && *at <= end)
            .map(|(at, row)| EventRow {
                t_s: seconds(t0, *at),
                ..row.clone()
            })
            .collect();
        let mut record = record;
        record.at_start = samples[0].1.clone();
        ClusterRecording {
            record,
            changes,
            events,
            pods: Vec::new(),
            samples,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample(ready: u64) -> ClusterSample {
        ClusterSample {
            deploy_spec_replicas: Some(4),
            deploy_ready: Some(ready),
            ..Default::default()
        }
    }

    #[test]
    fn changes_are_placed_on_the_run_clock_and_rows_take_the_state_at_their_end() {
        let t0 = Instant::now();
        let ms = |n: u64| t0 + Duration::from_millis(n);
        let shared = WatchState {
            changes: vec![
                (t0 - Duration::from_secs(2), ClusterSample::default()),
                (t0 - Duration::from_secs(1), sample(1)),
                (ms(1_400), sample(2)),
                (ms(1_700), sample(3)), // two changes within one second: both kept
                (ms(3_250), sample(4)),
                (ms(9_000), sample(1)), // after the run: ignored
            ],
            ..Default::default()
        };
        let rec = recording(&shared, t0, ms(5_500));
        assert_eq!(rec.record.at_start, sample(1));
        let ready: Vec<(f64, Option<String>)> = rec
            .changes
            .iter()
            .filter(|c| c.column == "deploy_ready")
            .map(|c| (c.t_s, c.value.clone()))
            .collect();
        let v = |n: &str| Some(n.to_owned());
        assert_eq!(
            ready,
            vec![(0.0, v("1")), (1.4, v("2")), (1.7, v("3")), (3.25, v("4"))]
        );
        // Unknown columns are listed at the start with an empty value, and not repeated.
        assert!(
            rec.changes
                .iter()
                .any(|c| c.column == "hpa_desired" && c.t_s == 0.0 && c.value.is_none())
        );
        assert_eq!(
            rec.changes
                .iter()
                .filter(|c| c.column == "hpa_desired")
                .count(),
            1
        );
        let mut rows: Vec<TimelineRow> = (0..6)
            .map(|t| TimelineRow {
                t_s: t,
                span_s: if t == 5 { 0.5 } else { 1.0 },
                ..Default::default()
            })
            .collect();
        rec.fill(&mut rows);
        let ready: Vec<Option<u64>> = rows.iter().map(|r| r.deploy_ready).collect();
        assert_eq!(
            ready,
            vec![Some(1), Some(3), Some(3), Some(4), Some(4), Some(4)]
        );
    }

    #[test]
    fn nothing_seen_means_unknown_everywhere() {
        let t0 = Instant::now();
        let rec = recording(&WatchState::default(), t0, t0 + Duration::from_secs(3));
        let mut rows = vec![TimelineRow {
            t_s: 0,
            span_s: 1.0,
            ..Default::default()
        }];
        rec.fill(&mut rows);
        assert_eq!(rows[0].deploy_ready, None);
        assert_eq!(rows[0].pods_running, None);
        assert!(rec.record.at_start.is_unknown());
    }
}
