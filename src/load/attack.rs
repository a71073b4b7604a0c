//! The Goose glue: builds a `GooseAttack` whose single transaction asks the pacer (open
//! model) or goes straight on (closed model), sends the scenario's next request through a
//! recycled client, and records the outcome. Goose runs the users, their ramp and its test
//! plans; our recorder replaces its per-request metrics, which are switched off.

use super::alarm::Alarm;
use super::clients::{ClientPool, ClientSettings};
use super::config::LoadConfig;
use super::control::{EndReason, RunControl, Signal};
use super::pacer::{Pacer, Take};
use super::recorder::{Outcome, Recorder, Sample};
use super::request::RequestMix;
use super::request_log::RequestLog;
use crate::config::LoadShape;
use goose::client::GooseClientBuilder;
use goose::config::{GooseConfiguration, GooseDefault, GooseDefaultType};
use goose::prelude::{GooseAttack, GooseUser, Scenario, Transaction, TransactionResult};
use reqwest::Url;
use reqwest::header::HeaderName;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

/// Users admitted by the pacer at the start of an open-model run.
const INITIAL_OPEN_USERS: usize = 8;

/// Open model: Goose launches the whole pool within this long (before the clock starts).
const OPEN_POOL_LAUNCH: Duration = Duration::from_millis(10);

/// The load starts at the latest this long after Goose does, even if not every user of an
/// open-model pool has been launched by then.
const START_AT_THE_LATEST: Duration = Duration::from_secs(2);

/// Why the load could not run at all (failed requests are data, not errors).
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    #[error("cannot resolve a request path against {base}")]
    Url {
        base: Url,
        #[source]
        source: url::ParseError,
    },
    #[error("cannot build the HTTP client")]
    Client(#[source] reqwest::Error),
    #[error("goose refused the configuration: {0}")]
    Goose(String),
    #[error("cannot create the request log {path}")]
    RequestLog {
        path: std::path::PathBuf,
        #[source]
        source: std::io::Error,
    },
}

/// Live state other parts of the run read once a second.
#[derive(Debug)]
pub struct LoadHandle {
    pub control: Arc<RunControl>,
    pub recorder: Arc<Recorder>,
    pacer: Option<Arc<Pacer>>,
    live_users: Arc<AtomicUsize>,
}

impl LoadHandle {
    /// Users sending load right now (open model: users the pacer has admitted).
    pub fn users(&self) -> u64 {
        match &self.pacer {
            Some(p) => p.admitted().min(self.live_users.load(Ordering::Relaxed)) as u64,
            None => self.live_users.load(Ordering::Relaxed) as u64,
        }
    }

    /// Requests the plan asks this process for in second `s` (open model only).
    pub fn target_rps(&self, s: u64) -> Option<f64> {
        self.pacer.as_ref().map(|p| p.target_in_second(s))
    }
}

struct LoadState {
    mix: RequestMix,
    clients: Arc<ClientPool>,
    recorder: Arc<Recorder>,
    pacer: Option<Arc<Pacer>>,
    /// Wakes open-model users at their slot's due time (closed model: never used).
    alarm: Alarm,
    control: Arc<RunControl>,
    endpoint_header: HeaderName,
    timeout: Duration,
    request_log: Option<RequestLog>,
}

/// One Goose transaction sends up to this many requests…
const BURST_REQUESTS: u32 = 64;
/// …or for at most this long, then hands back to Goose, which stops users (test plans, the end
/// of the run) only between transactions. Amortizes Goose's per-transaction bookkeeping.
const BURST_TIME: Duration = Duration::from_millis(50);

impl LoadState {
    /// Starts the run's clock (second 0, slot 0) at `at` and lets the users go.
    fn start(&self, at: Instant) {
        if self.control.is_started() {
            return;
        }
        // One clock: the pacer's slots and the request log's times move with it.
        self.recorder.start_clock(at);
        self.control.start();
    }

    async fn burst(&self, index: usize) {
        if !self.control.is_started() {
            tokio::select! {
                () = self.control.started() => {}
                () = self.control.stopped() => return,
            }
        }
        let started = Instant::now();
        // One registration for the whole burst: waiting on a `Notify` per request costs a lock.
        let interrupted = self.control.interrupted();
        tokio::pin!(interrupted);
        for _ in 0..BURST_REQUESTS {
            if !self.step(index, interrupted.as_mut()).await || started.elapsed() >= BURST_TIME {
                return;
            }
        }
    }

    /// Sends one request (open model: in the next slot). False once the run is stopping.
    async fn step(
        &self,
        index: usize,
        mut interrupted: Pin<&mut impl Future<Output = ()>>,
    ) -> bool {
        if self.control.reason().is_some() {
            // Goose stops users between transactions; don't spin until it does.
            tokio::time::sleep(Duration::from_millis(20)).await;
            return false;
        }
        let mut waited = false;
        let due = match &self.pacer {
            None => None,
            Some(pacer) => {
                if !pacer.is_admitted(index) {
                    tokio::select! {
                        () = pacer.wait_admitted(index) => {}
                        () = self.control.stopped() => return false,
                    }
                }
                let now = Instant::now();
                match pacer.take(now) {
                    Take::Exhausted { dropped } => {
                        self.recorder
                            .record_dropped(now, dropped.map(|k| pacer.due_of(k)));
                        self.control.stop(EndReason::Completed);
                        return false;
                    }
                    Take::Send { due, dropped, .. } => {
                        self.recorder
                            .record_dropped(now, dropped.map(|k| pacer.due_of(k)));
                        waited = due > now;
                        tokio::select! {
                            () = self.alarm.sleep_until(due) => {}
                            () = &mut interrupted => return false,
                        }
                        Some(due)
                    }
                }
            }
        };
        let client = self.clients.get(index);
        let sent = Instant::now();
        let result = tokio::select! {
            r = self.mix.send_next(&client, &self.endpoint_header, self.timeout) => Some(r),
            () = &mut interrupted => None,
        };
        let Some(answer) = result else {
            self.recorder.record_cancelled();
            return false;
        };
        let sample = Sample {
            due,
            sent,
            done: Instant::now(),
            outcome: answer.outcome,
            status: answer.status,
            endpoint: answer.endpoint,
            waited,
        };
        if let (Outcome::Failed(kind), Some(detail)) = (answer.outcome, &answer.failure) {
            self.recorder.record_failure(sample.done, kind, detail);
        }
        self.recorder.record(&sample);
        if let Some(log) = &self.request_log {
            log.write(&sample);
        }
        self.control.reason().is_none()
    }
}

/// Everything needed to start the load.
#[derive(Debug)]
pub struct LoadSetup {
    pub base: Url,
    pub recorder: Arc<Recorder>,
    pub control: Arc<RunControl>,
}

/// Prepares the shared state; [`run`] then drives it.
pub fn prepare(
    config: &LoadConfig,
    setup: LoadSetup,
) -> Result<(LoadHandle, ReadyLoad), LoadError> {
    let mix = RequestMix::new(&setup.base, &config.requests).map_err(|source| LoadError::Url {
        base: setup.base.clone(),
        source,
    })?;
    let clients = Arc::new(
        ClientPool::new(ClientSettings {
            timeout: config.timeout,
            tls: (setup.base.scheme() == "https").then(|| config.tls.clone()),
        })
        .map_err(LoadError::Client)?,
    );
    let pacer = match &config.shape {
        LoadShape::Open {
            plan,
            max_users,
            max_lag,
        } => {
            let pacer = Pacer::new(
                plan.clone(),
                setup.recorder.clock(),
                *max_lag,
                INITIAL_OPEN_USERS,
                *max_users,
            );
            Some(Arc::new(match config.share {
                Some(w) => pacer.shared(w.index, w.count),
                None => pacer,
            }))
        }
        LoadShape::Closed { .. } => None,
    };
    let request_log =
        match &config.request_log {
            Some(path) => Some(RequestLog::create(path, setup.recorder.clock()).map_err(
                |source| LoadError::RequestLog {
                    path: path.clone(),
                    source,
                },
            )?),
            None => None,
        };
    let live_users = Arc::new(AtomicUsize::new(0));
    let shared = Arc::new(LoadState {
        mix,
        clients: clients.clone(),
        recorder: setup.recorder.clone(),
        alarm: if pacer.is_some() {
            Alarm::new()
        } else {
            Alarm::tokio()
        },
        pacer: pacer.clone(),
        control: setup.control.clone(),
        endpoint_header: config.endpoint_header.clone(),
        timeout: config.timeout,
        request_log,
    });
    let handle = LoadHandle {
        control: setup.control,
        recorder: setup.recorder,
        pacer,
        live_users,
    };
    Ok((
        handle,
        ReadyLoad {
            shared,
            clients,
            base: setup.base,
        },
    ))
}

/// LoadState state ready to run.
pub struct ReadyLoad {
    shared: Arc<LoadState>,
    clients: Arc<ClientPool>,
    base: Url,
}

impl std::fmt::Debug for ReadyLoad {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ReadyLoad")
            .field("base", &self.base)
            .finish_non_exhaustive()
    }
}

fn goose_config(config: &LoadConfig, base: &Url) -> GooseConfiguration {
    let mut g = GooseConfiguration::default();
    g.host = Some(base.as_str().trim_end_matches('/').to_owned());
    g.no_telnet = true;
    g.no_autostart = false;
    g.no_print_metrics = true;
    g.no_error_summary = true;
    g.no_metrics = true;
    g.no_transaction_metrics = true;
    g.no_scenario_metrics = true;
    g.no_status_codes = true;
    g.quiet = 1;
    match &config.shape {
        LoadShape::Closed {
            users,
            hatch_rate,
            test_plan: None,
            ..
        } => {
            g.users = Some(*users);
            g.increase_rate = Some(format!("{hatch_rate}"));
        }
        LoadShape::Closed {
            test_plan: Some(_), ..
        } => {}
        LoadShape::Open { max_users, .. } => {
            // Launch the whole pool before the clock starts; the pacer admits users as needed.
            g.users = Some(*max_users);
            let per_second = (*max_users).max(1) as f64 / OPEN_POOL_LAUNCH.as_secs_f64();
            g.increase_rate = Some(format!("{per_second}"));
        }
    }
    g
}

/// Runs the load until the plan or run time completes or a signal stops it.
pub async fn run(
    config: &LoadConfig,
    handle: &LoadHandle,
    prepared: ReadyLoad,
) -> Result<EndReason, LoadError> {
    let ReadyLoad {
        shared,
        clients,
        base,
    } = prepared;
    let step = {
        let shared = shared.clone();
        Transaction::new(Arc::new(move |user: &mut GooseUser| {
            let shared = shared.clone();
            let index = user.weighted_users_index;
            Box::pin(async move {
                shared.burst(index).await;
                TransactionResult::Ok(())
            })
        }))
        .set_name("request")
    };
    // The clock starts when the generator can send: the first user of a closed-model ramp
    // (the ramp is the plan), the whole pool of an open-model run (launched within 10 ms).
    // With --start-at, at that time instead (all workers of a shared run at once).
    let start_with = match (&config.shape, config.start_at) {
        (_, Some(_)) => usize::MAX,
        (LoadShape::Closed { .. }, None) => 1,
        (LoadShape::Open { max_users, .. }, None) => (*max_users).max(1),
    };
    // How long until --start-at, on this process's monotonic clock.
    let start_wait = config
        .start_at
        .map(|at| (at - chrono::Utc::now()).to_std().unwrap_or_default());
    let scheduled_start = start_wait.map(|wait| {
        let shared = shared.clone();
        let start = Instant::now() + wait;
        tokio::spawn(async move {
            shared.alarm.sleep_until(start).await;
            // Slot 0 at the agreed time, even if this wake-up was a little late.
            shared.start(start);
        })
    });
    let arrive = {
        let (live, shared) = (handle.live_users.clone(), shared.clone());
        Transaction::new(Arc::new(move |_user: &mut GooseUser| {
            if live.fetch_add(1, Ordering::Relaxed) + 1 >= start_with {
                shared.start(Instant::now());
            }
            Box::pin(async { TransactionResult::Ok(()) })
        }))
        .set_name("arrive")
        .set_on_start()
    };
    let leave = {
        let live = handle.live_users.clone();
        Transaction::new(Arc::new(move |_user: &mut GooseUser| {
            live.fetch_sub(1, Ordering::Relaxed);
            Box::pin(async { TransactionResult::Ok(()) })
        }))
        .set_name("leave")
        .set_on_stop()
    };
    let scenario = Scenario::new(&config.name)
        .register_transaction(arrive)
        .register_transaction(step)
        .register_transaction(leave);
    let mut attack = GooseAttack::initialize_with_config(goose_config(config, &base))
        .map_err(|e| LoadError::Goose(e.to_string()))?
        .register_scenario(scenario)
        // Requests go through our recycled clients; Goose's own client is built once and
        // shared, instead of once per user (a TLS setup each: seconds for a large pool).
        .set_client_builder_without_cookies(GooseClientBuilder::new().without_cookies())
        .map_err(|e| LoadError::Goose(e.to_string()))?;
    if let LoadShape::Closed {
        test_plan: Some(plan),
        ..
    } = &config.shape
    {
        attack = *attack
            .set_default(GooseDefault::TestPlan, plan.as_str())
            .map_err(|e| LoadError::Goose(e.to_string()))?;
    }

    let recycler = config.recycle.map(|every| {
        let clients = clients.clone();
        tokio::spawn(async move { clients.recycle_every(every).await })
    });
    // How long after the clock starts the run must end.
    let deadline = match &config.shape {
        LoadShape::Closed { run_time, .. } => *run_time,
        // The pacer ends the run; this is a backstop should every user be stuck.
        LoadShape::Open { plan, max_lag, .. } => Some(plan.duration() + *max_lag + config.timeout),
    };
    // A previous run in this process may have left Goose's process-wide switch on.
    goose::reset_killswitch();
    let latest_start = start_wait.unwrap_or_default() + START_AT_THE_LATEST;
    let watchdog = tokio::spawn(watch_for_end(shared.clone(), deadline, latest_start));
    let result = attack.execute().await;
    // Goose ended by itself (a test plan ran out) or because we stopped it.
    handle.control.stop(EndReason::Completed);
    watchdog.abort();
    if let Some(s) = scheduled_start {
        s.abort();
    }
    if let Some(r) = recycler {
        r.abort();
    }
    if let Some(log) = &shared.request_log
        && let Err(e) = log.flush()
    {
        tracing::warn!("cannot flush the request log: {e}");
    }
    match result {
        Ok(_) => {}
        Err(goose::GooseError::ThresholdsFailed { .. }) => {}
        Err(e) => tracing::warn!("goose ended with an error: {e}"),
    }
    Ok(handle.control.reason().unwrap_or(EndReason::Completed))
}

/// Turns every end condition into one stop: the deadline (`deadline` after the clock
/// started), Goose's Ctrl-C killswitch, SIGTERM; and a stop from anywhere (the pacer running
/// out) into Goose's killswitch. Starts the load should Goose take too long to launch it.
async fn watch_for_end(load: Arc<LoadState>, deadline: Option<Duration>, latest_start: Duration) {
    let control = load.control.clone();
    let began = Instant::now();
    let sigterm = async {
        #[cfg(unix)]
        if let Ok(mut s) = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        {
            s.recv().await;
            return;
        }
        std::future::pending::<()>().await;
    };
    tokio::pin!(sigterm);
    let mut ticker = tokio::time::interval(Duration::from_millis(50));
    loop {
        tokio::select! {
            () = &mut sigterm => { control.stop(EndReason::Interrupted(Signal::Term)); }
            () = control.stopped() => {}
            _ = ticker.tick() => {
                if goose::is_killswitch_triggered() {
                    control.stop(EndReason::Interrupted(Signal::Int));
                }
                if !control.is_started() && began.elapsed() >= latest_start {
                    load.start(Instant::now());
                }
                if control.is_started()
                    && deadline.is_some_and(|d| Instant::now() >= load.recorder.t0() + d)
                {
                    control.stop(EndReason::Completed);
                }
            }
        }
        if let Some(reason) = control.reason() {
            goose::trigger_killswitch(&reason.to_string());
            return;
        }
    }
}
