//! Whether traffic reached the pods: each endpoint's share of requests, new pods and how long
//! until they served, pods that served nothing, and the warnings a person needs.

use super::{DOMINANT_SHARE, IDLE_AFTER_S, Scaling};
use crate::timeline::{EndpointRow, PodRow, Timeline, TimelineRow, round_ms};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Requests an endpoint served over some seconds, and its share of all of them.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct PodShare {
    pub pod: String,
    pub requests: u64,
    /// Requests by every named endpoint over the same seconds.
    pub total: u64,
    /// `requests / total` (0 to 1).
    pub share: f64,
    /// How many seconds were counted.
    pub seconds: u64,
}

/// A pod that became ready during the load, and how long it took to serve.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct NewPod {
    pub pod: String,
    pub ready_s: f64,
    pub first_served_s: Option<f64>,
    /// First served − Ready (0 when the first response beat the second-resolution Ready
    /// time); null when it never served.
    pub wait_s: Option<f64>,
    /// Seconds from Ready to the end of the load: a pod that never served can be judged only
    /// when this is long enough.
    pub watched_s: f64,
}

/// A pod in the Service while the load ran that served nothing.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct IdlePod {
    pub pod: String,
    /// In the Service (Ready when unknown) from, until termination or the end of the load.
    pub from_s: f64,
    pub until_s: f64,
    /// Seconds in between in which the load completed requests.
    pub busy_seconds: u64,
}

/// Each named endpoint's share of the requests in the seconds starting in `[from, until)`;
/// `names` (pods expected to serve) are listed even with no request. Largest first.
pub(super) fn shares(
    endpoints: &[EndpointRow],
    from: f64,
    until: f64,
    names: &[&str],
) -> Vec<PodShare> {
    let first = from.max(0.0).ceil() as u64;
    let counted = |s: u64| s >= first && (s as f64) < until;
    let seconds: std::collections::BTreeSet<u64> = endpoints
        .iter()
        .map(|e| e.t_s)
        .filter(|&s| counted(s))
        .collect();
    share_table(
        endpoints.iter().filter(|e| counted(e.t_s)),
        names,
        seconds.len() as u64,
    )
}

fn share_table<'a>(
    rows: impl Iterator<Item = &'a EndpointRow>,
    names: &[&'a str],
    seconds: u64,
) -> Vec<PodShare> {
    let mut by: BTreeMap<&str, u64> = names.iter().map(|&n| (n, 0)).collect();
    for e in rows.filter(|e| e.endpoint != crate::timeline::NO_ENDPOINT) {
        *by.entry(e.endpoint.as_str()).or_default() += e.requests;
    }
    let total: u64 = by.values().sum();
    let mut out: Vec<PodShare> = by
        .into_iter()
        .map(|(pod, requests)| PodShare {
            pod: pod.to_owned(),
            requests,
            total,
            share: if total > 0 {
                requests as f64 / total as f64
            } else {
                0.0
            },
            seconds,
        })
        .collect();
    out.sort_by(|a, b| b.requests.cmp(&a.requests).then(a.pod.cmp(&b.pod)));
    out
}

/// The largest endpoint share over the seconds with 2 or more ready replicas and traffic.
pub(super) fn top_share(t: &Timeline<'_>, endpoints: &[EndpointRow]) -> Option<PodShare> {
    let seconds: std::collections::BTreeSet<u64> = t
        .rows()
        .iter()
        .filter(|r| r.requests > 0 && t.ready_replicas(r).is_some_and(|n| n >= 2))
        .map(|r| r.t_s)
        .collect();
    if seconds.is_empty() {
        return None;
    }
    share_table(
        endpoints.iter().filter(|e| seconds.contains(&e.t_s)),
        &[],
        seconds.len() as u64,
    )
    .into_iter()
    .next()
    .filter(|s| s.total > 0)
}

pub(super) fn new_pods(pods: &[PodRow], load_end: f64) -> Vec<NewPod> {
    pods.iter()
        .filter_map(|p| {
            let ready = p.ready_s.filter(|&r| r > 0.0 && r < load_end)?;
            Some(NewPod {
                pod: p.pod.clone(),
                ready_s: ready,
                first_served_s: p.first_served_s,
                wait_s: p.first_served_s.map(|f| round_ms((f - ready).max(0.0))),
                watched_s: round_ms(load_end - ready),
            })
        })
        .collect()
}

pub(super) fn idle_pods(pods: &[PodRow], rows: &[TimelineRow], load_end: f64) -> Vec<IdlePod> {
    pods.iter()
        .filter(|p| p.requests == 0)
        .filter_map(|p| {
            let from = p.serving_from_s()?;
            let until = p.serving_until_s().unwrap_or(load_end).min(load_end);
            let busy_seconds = rows
                .iter()
                .filter(|r| r.requests > 0 && r.t_s as f64 >= from && r.t_s as f64 + 1.0 <= until)
                .count() as u64;
            (busy_seconds >= IDLE_AFTER_S).then(|| IdlePod {
                pod: p.pod.clone(),
                from_s: from,
                until_s: round_ms(until),
                busy_seconds,
            })
        })
        .collect()
}

/// The sentences a person must read: idle pods, and one endpoint taking (nearly) everything.
pub(super) fn warnings(s: &Scaling) -> Vec<String> {
    let mut out = Vec::new();
    for idle in &s.idle_pods {
        out.push(format!(
            "pod {} was in the Service from {:.1} s to {:.1} s ({} s with traffic) and served no request: traffic is not reaching it (a client holding keep-alive connections opened before it existed, or a port-forward/single-pod address)",
            idle.pod, idle.from_s, idle.until_s, idle.busy_seconds
        ));
    }
    if let Some(top) = &s.top_pod_share
        && top.share >= DOMINANT_SHARE
    {
        out.push(format!(
            "with 2 or more replicas ready, {} served {:.0}% of the requests ({} of {} over {} s): one endpoint takes nearly everything — the kubectl port-forward / sticky keep-alive symptom. Send the load to the Service's LoadBalancer, Ingress or ClusterIP address (not a port-forward) and pass --recycle-connections 5s so pods added later get connections",
            top.pod,
            top.share * 100.0,
            top.requests,
            top.total,
            top.seconds
        ));
    }
    out
}
