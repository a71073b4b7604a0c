//! The watch loop: kube-rs watchers (LIST then WATCH, re-list on 410, default backoff) with
//! reflector stores for the Deployment, its HPA, its Pods and the EndpointSlices in front of
//! them, plus a plain watcher over Events. After every watch event, and once a second, the
//! loop derives a [`ClusterSample`] and records it with its time when it changed; every pod
//! item and slice item also updates that pod's lifecycle.

use super::derive::{self, EventDedup, EventFilter};
use super::pods::SERVICE_NAME_LABEL;
use super::state::{SOURCES, Source, WatchState};
use crate::support::chain::chain;
use crate::timeline::ClusterSample;
use futures::stream::BoxStream;
use futures::{StreamExt, future};
use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::autoscaling::v2::HorizontalPodAutoscaler;
use k8s_openapi::api::core::v1::{Event, Pod};
use k8s_openapi::api::discovery::v1::EndpointSlice;
use kube::core::Selector;
use kube::runtime::WatchStreamExt;
use kube::runtime::reflector::{self, ObjectRef, Store};
use kube::runtime::watcher::watcher as watch_stream;
use kube::runtime::watcher::{self, Event as WatchEvent};
use kube::{Api, Client};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::sync::oneshot;

/// A source that has not answered for this long is unknown, not "still the same".
pub(super) const STALE_AFTER: Duration = Duration::from_secs(10);
/// How often the API server is asked for the Deployment (one object) to prove it still
/// answers: a watch that hangs silently looks like a quiet one, and kube-rs's watcher notices
/// a dead stream only after its server timeout (290 s).
const CONTACT_EVERY: Duration = Duration::from_secs(2);
/// How long one contact probe may take.
const CONTACT_TIMEOUT: Duration = Duration::from_secs(5);

type Items<K> = BoxStream<'static, Result<WatchEvent<K>, watcher::Error>>;

/// What the loop knows about how one watch is doing.
#[derive(Debug, Clone, Copy, Default)]
struct Health {
    /// A complete LIST has been received at least once.
    synced: bool,
    /// First error since the last successful item.
    failing_since: Option<Instant>,
}

impl Health {
    fn usable(&self, now: Instant) -> bool {
        self.synced
            && self
                .failing_since
                .is_none_or(|since| now.duration_since(since) < STALE_AFTER)
    }
}

/// The names the loop watches.
#[derive(Debug, Clone)]
pub(super) struct Workload {
    pub namespace: String,
    pub deployment: String,
    pub hpa: Option<String>,
    pub service: Option<String>,
}

struct Loop {
    target: Workload,
    client: Client,
    shared: Arc<Mutex<WatchState>>,
    deployments: Store<Deployment>,
    hpas: Store<HorizontalPodAutoscaler>,
    pods: Option<Store<Pod>>,
    slices: Store<EndpointSlice>,
    health: [Health; SOURCES],
    filter: EventFilter,
    dedup: EventDedup,
    last: Option<ClusterSample>,
    stale_warned: [bool; SOURCES],
    /// When the API server last answered anything (a watch item or a contact probe).
    contact: Arc<Mutex<Instant>>,
    silent_warned: bool,
}

/// Runs until `stop` fires (or its sender is dropped).
pub(super) async fn run(
    client: Client,
    target: Workload,
    shared: Arc<Mutex<WatchState>>,
    mut stop: oneshot::Receiver<()>,
) {
    let ns = target.namespace.as_str();
    let (deployments, dep_writer) = reflector::store();
    let mut dep_items: Items<Deployment> = watch_stream(
        Api::namespaced(client.clone(), ns),
        watcher::Config::default().fields(&format!("metadata.name={}", target.deployment)),
    )
    .default_backoff()
    .reflect(dep_writer)
    .boxed();
    let hpa_config = match &target.hpa {
        Some(name) => watcher::Config::default().fields(&format!("metadata.name={name}")),
        None => watcher::Config::default(),
    };
    let (hpas, hpa_writer) = reflector::store();
    let mut hpa_items: Items<HorizontalPodAutoscaler> =
        watch_stream(Api::namespaced(client.clone(), ns), hpa_config)
            .default_backoff()
            .reflect(hpa_writer)
            .boxed();
    // Events are not kept in a store: each is recorded (once) as it arrives.
    let mut event_items: Items<Event> = watch_stream(
        Api::namespaced(client.clone(), ns),
        watcher::Config::default(),
    )
    .default_backoff()
    .boxed();
    // The slices of the named Service, else every slice of the namespace (only those listing
    // the Deployment's pods count).
    let slice_config = match &target.service {
        Some(name) => watcher::Config::default().labels(&format!("{SERVICE_NAME_LABEL}={name}")),
        None => watcher::Config::default(),
    };
    let (slices, slice_writer) = reflector::store();
    let mut slice_items: Items<EndpointSlice> =
        watch_stream(Api::namespaced(client.clone(), ns), slice_config)
            .default_backoff()
            .reflect(slice_writer)
            .boxed();
    let mut pod_items: Option<Items<Pod>> = None;
    let mut state = Loop {
        slices,
        filter: EventFilter::new(target.deployment.clone(), target.hpa.clone()),
        target,
        client,
        shared,
        deployments,
        hpas,
        pods: None,
        health: [Health::default(); SOURCES],
        dedup: EventDedup::default(),
        last: None,
        stale_warned: [false; SOURCES],
        contact: Arc::new(Mutex::new(Instant::now())),
        silent_warned: false,
    };
    let probe = tokio::spawn(probe_contact(
        Api::namespaced(state.client.clone(), &state.target.namespace),
        state.target.deployment.clone(),
        state.contact.clone(),
    ));
    state.update(Instant::now());
    let mut tick = tokio::time::interval(Duration::from_secs(1));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
    loop {
        tokio::select! {
            biased;
            _ = &mut stop => break,
            Some(item) = dep_items.next() => {
                state.health_of(Source::Deployment, &item);
                if pod_items.is_none() {
                    pod_items = state.start_pods();
                }
            }
            Some(item) = hpa_items.next() => {
                state.health_of(Source::Hpa, &item);
            }
            Some(item) = event_items.next() => {
                state.health_of(Source::Events, &item);
                if let Ok(event) = item {
                    state.on_event(event);
                }
            }
            Some(item) = next_or_never(&mut pod_items) => {
                state.health_of(Source::Pods, &item);
                state.learn_pods();
                if let Ok(event) = item {
                    state.track_pod(event);
                }
            }
            Some(item) = slice_items.next() => {
                state.health_of(Source::EndpointSlices, &item);
                if let Ok(WatchEvent::Apply(slice) | WatchEvent::InitApply(slice)) = &item {
                    state.lock().pods.observe_slices([slice], Instant::now());
                }
            }
            _ = tick.tick() => {}
        }
        state.update(Instant::now());
    }
    probe.abort();
}

/// Asks for the Deployment every [`CONTACT_EVERY`] and records when the API server answered
/// (an error status is an answer too; a timeout or a refused connection is not).
async fn probe_contact(api: Api<Deployment>, name: String, contact: Arc<Mutex<Instant>>) {
    let params = kube::api::ListParams::default()
        .fields(&format!("metadata.name={name}"))
        .limit(1);
    // The watches' first answers count as contact: the first probe waits one period.
    let mut tick =
        tokio::time::interval_at(tokio::time::Instant::now() + CONTACT_EVERY, CONTACT_EVERY);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        let answered = matches!(
            tokio::time::timeout(CONTACT_TIMEOUT, api.list(&params)).await,
            Ok(Ok(_) | Err(kube::Error::Api(_)))
        );
        if answered {
            *crate::support::lock::lock(&contact) = Instant::now();
        }
    }
}

async fn next_or_never<T>(s: &mut Option<BoxStream<'static, T>>) -> Option<T> {
    match s {
        Some(s) => s.next().await,
        None => future::pending().await,
    }
}

impl Loop {
    /// Records how a watch is doing from one of its items.
    fn health_of<K>(&mut self, source: Source, item: &Result<WatchEvent<K>, watcher::Error>) {
        let now = Instant::now();
        let h = &mut self.health[source as usize];
        match item {
            Ok(event) => {
                *crate::support::lock::lock(&self.contact) = now;
                h.failing_since = None;
                self.stale_warned[source as usize] = false;
                // The reflector has applied the complete LIST by the time it yields InitDone.
                // For events, the first complete LIST is also the baseline: what it holds
                // happened before the run (see `on_event`).
                if matches!(event, WatchEvent::InitDone) && !h.synced {
                    h.synced = true;
                    self.lock().settle(source);
                }
            }
            Err(e) => {
                h.failing_since.get_or_insert(now);
                if let Some(text) = describe(source, &self.target.namespace, e) {
                    self.warn(text);
                }
                // A failure also settles the initial wait: the run does not wait for a
                // cluster that answers with errors (nor for pods it cannot look for yet).
                let pods_unknowable = source == Source::Deployment && self.pods.is_none();
                let mut shared = self.lock();
                shared.settle(source);
                if pods_unknowable {
                    shared.settle(Source::Pods);
                }
            }
        }
    }

    /// Starts the pod watch once the Deployment's selector is known.
    fn start_pods(&mut self) -> Option<Items<Pod>> {
        let d = self.deployment()?;
        let selector = d.spec.as_ref().map(|s| s.selector.clone())?;
        let selector = match Selector::try_from(selector) {
            Ok(s) => s,
            Err(e) => {
                self.warn(format!(
                    "the selector of Deployment {} cannot be used to find its pods: {e}",
                    self.target.deployment
                ));
                return None;
            }
        };
        let (store, writer) = reflector::store();
        self.pods = Some(store);
        Some(
            watch_stream(
                Api::<Pod>::namespaced(self.client.clone(), &self.target.namespace),
                watcher::Config::default().labels_from(&selector),
            )
            .default_backoff()
            .reflect(writer)
            .boxed(),
        )
    }

    fn on_event(&mut self, item: WatchEvent<Event>) {
        match item {
            WatchEvent::Apply(e) | WatchEvent::InitApply(e) => {
                // Every event is remembered, matching or not, so that an event whose object
                // only becomes known later (the HPA) is still not recorded twice.
                let new = self.dedup.observe(&e);
                let baseline = !self.health[Source::Events as usize].synced;
                if new && !baseline && self.filter.matches(&e) {
                    let row = derive::event_row(&e, 0.0);
                    self.lock().events.push((Instant::now(), row));
                }
            }
            WatchEvent::Init | WatchEvent::InitDone | WatchEvent::Delete(_) => {}
        }
    }

    /// Updates the lifecycle of the pod a watch item is about.
    fn track_pod(&mut self, item: WatchEvent<Pod>) {
        let now = Instant::now();
        let now_wall = std::time::SystemTime::now();
        let present: Option<Vec<String>> = matches!(item, WatchEvent::InitDone).then(|| {
            self.pods
                .as_ref()
                .map(|s| {
                    s.state()
                        .iter()
                        .filter_map(|p| p.metadata.name.clone())
                        .collect()
                })
                .unwrap_or_default()
        });
        let mut shared = self.lock();
        let new = match &item {
            WatchEvent::Apply(pod) | WatchEvent::InitApply(pod) => {
                shared.pods.observe(pod, now, now_wall)
            }
            WatchEvent::Delete(pod) => {
                if let Some(name) = &pod.metadata.name {
                    shared.pods.deleted(name, now);
                }
                false
            }
            WatchEvent::InitDone => {
                let present = present.unwrap_or_default();
                shared
                    .pods
                    .relisted(present.iter().map(String::as_str), now);
                false
            }
            WatchEvent::Init => false,
        };
        // A slice may have listed a new pod before the pod was known: look once.
        if new {
            let slices = self.slices.state();
            shared
                .pods
                .observe_slices(slices.iter().map(AsRef::as_ref), now);
        }
    }

    /// Teaches the event filter the pods the selector matches (after each pod watch item).
    fn learn_pods(&mut self) {
        if let Some(store) = &self.pods {
            self.filter.learn(store.state().iter().map(AsRef::as_ref));
        }
    }

    fn deployment(&self) -> Option<Arc<Deployment>> {
        self.deployments
            .get(&ObjectRef::new(&self.target.deployment).within(&self.target.namespace))
    }

    /// Derives the current sample and records it if it changed; fills the context once.
    fn update(&mut self, now: Instant) {
        let last_contact = *crate::support::lock::lock(&self.contact);
        if now.saturating_duration_since(last_contact) >= STALE_AFTER {
            // The API server has said nothing for too long: whatever the stores hold may be
            // out of date, so every column is unknown until it answers again.
            if !self.silent_warned {
                self.silent_warned = true;
                self.warn(format!(
                    "no answer from the API server for {} s: cluster columns are unknown until it answers",
                    STALE_AFTER.as_secs()
                ));
            }
            self.record_sample(now, ClusterSample::default());
            return;
        }
        self.silent_warned = false;
        let mut sample = ClusterSample::default();
        let deployment = self.deployment();
        let dep_ok = self.health[Source::Deployment as usize].usable(now);
        if dep_ok {
            derive::deployment_columns(&mut sample, deployment.as_deref());
            if deployment.is_none() {
                let text = format!(
                    "Deployment {} not found in namespace {}: replica columns stay empty",
                    self.target.deployment, self.target.namespace
                );
                self.warn(text);
                // Nothing to find pods for.
                self.lock().settle(Source::Pods);
            }
        }
        let hpas = self.hpas.state();
        let hpa = derive::find_hpa(
            hpas.iter().map(AsRef::as_ref),
            &self.target.deployment,
            self.target.hpa.as_deref(),
        );
        if self.health[Source::Hpa as usize].usable(now) {
            derive::hpa_columns(&mut sample, hpa);
            if hpa.is_none() {
                let text = match &self.target.hpa {
                    Some(name) => format!(
                        "HorizontalPodAutoscaler {name} not found in namespace {}",
                        self.target.namespace
                    ),
                    None => format!(
                        "no HorizontalPodAutoscaler in namespace {} targets Deployment {}: HPA columns stay empty",
                        self.target.namespace, self.target.deployment
                    ),
                };
                self.warn(text);
            }
        }
        let pods_ok = self.health[Source::Pods as usize].usable(now);
        let pods = self.pods.as_ref().filter(|_| pods_ok).map(Store::state);
        derive::pod_columns(
            &mut sample,
            pods.as_ref().map(|p| p.iter().map(AsRef::as_ref)),
        );
        for source in Source::ALL {
            let h = self.health[source as usize];
            if h.synced && !h.usable(now) && !self.stale_warned[source as usize] {
                self.stale_warned[source as usize] = true;
                self.warn(format!(
                    "no answer about {} for {} s: its columns are unknown until the watch recovers",
                    source.resource(),
                    STALE_AFTER.as_secs()
                ));
            }
        }
        if let Some(h) = hpa {
            self.filter.hpa = h.metadata.name.clone();
            if let Some(text) = derive::hpa_blocked(h) {
                self.warn(text);
            }
        }
        let mut shared = self.lock();
        if shared.record.containers.is_empty()
            && let Some(d) = &deployment
        {
            shared.record.containers = derive::containers(d);
            shared.record.selector = d
                .spec
                .as_ref()
                .and_then(|s| Selector::try_from(s.selector.clone()).ok())
                .map(|s| s.to_string());
        }
        if shared.record.hpa.is_none()
            && let Some(h) = hpa
        {
            shared.record.hpa = h.metadata.name.clone();
            if let Some(spec) = &h.spec {
                shared.record.hpa_min_replicas = Some(spec.min_replicas.unwrap_or(1).max(0) as u64);
                shared.record.hpa_max_replicas = Some(spec.max_replicas.max(0) as u64);
                shared.record.hpa_metric_targets =
                    serde_json::to_value(&spec.metrics).unwrap_or_default();
                shared.record.hpa_behavior =
                    serde_json::to_value(&spec.behavior).unwrap_or_default();
            }
        }
        drop(shared);
        self.record_sample(now, sample);
    }

    /// Keeps `sample` with its time if it differs from the last one.
    fn record_sample(&mut self, now: Instant, sample: ClusterSample) {
        if self.last.as_ref() != Some(&sample) {
            self.lock().changes.push((now, sample.clone()));
            self.last = Some(sample);
        }
    }

    fn warn(&mut self, text: String) {
        self.lock().warn(text);
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, WatchState> {
        crate::support::lock::lock(&self.shared)
    }
}

/// A warning for a watch error, or `None` for the normal ones (an expired resourceVersion is
/// answered by a re-list).
fn describe(source: Source, namespace: &str, e: &watcher::Error) -> Option<String> {
    let resource = source.resource();
    let api = |e: &kube::Error| match e {
        kube::Error::Api(s) if s.code == 403 => format!(
            "forbidden to list/watch {resource} in namespace {namespace} ({}). The watcher needs get, list and watch on deployments, horizontalpodautoscalers, pods, events and endpointslices: see target-service/k8s/base/rbac.yaml",
            s.message
        ),
        kube::Error::Api(s) => format!(
            "{resource}: the API server answered {} {}: {}",
            s.code, s.reason, s.message
        ),
        // The same for every resource: said once.
        other => format!("cannot reach the API server: {}", chain(other)),
    };
    match e {
        watcher::Error::WatchError(s) if s.code == 410 => None,
        watcher::Error::WatchError(s) => Some(format!(
            "watch of {resource} failed: {} {}: {}",
            s.code, s.reason, s.message
        )),
        watcher::Error::InitialListFailed(e) | watcher::Error::WatchStartFailed(e) => Some(api(e)),
        watcher::Error::WatchFailed(e) => Some(format!(
            "watch of {resource} interrupted ({}); resuming",
            chain(e)
        )),
        watcher::Error::NoResourceVersion => Some(format!(
            "the API server sent {resource} without a resourceVersion; re-listing"
        )),
    }
}
