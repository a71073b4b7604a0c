//! Scale decisions and what followed each: for a scale-out, decision → pods created → Ready →
//! in the Service → first request served → p95 back under its limit; for a scale-in, the pods
//! it removed.

use super::{DECISION_SLACK_S, Inputs};
use crate::timeline::{ClusterChangeRow, PodRow, round_ms};
use serde::{Deserialize, Serialize};

/// A change of the desired replica count: the HPA's `desiredReplicas` when an HPA was
/// watched, else the Deployment's `spec.replicas`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Decision {
    pub t_s: f64,
    pub from: u64,
    pub to: u64,
}

/// The decisions recorded in `cluster.csv`, in time order.
pub fn decisions(changes: &[ClusterChangeRow]) -> Vec<Decision> {
    fn known<'a>(
        changes: &'a [ClusterChangeRow],
        column: &'a str,
    ) -> impl Iterator<Item = (f64, u64)> + 'a {
        changes
            .iter()
            .filter(move |c| c.column == column)
            .filter_map(|c| Some((c.t_s, c.value.as_deref()?.parse::<u64>().ok()?)))
    }
    let column = if known(changes, "hpa_desired").next().is_some() {
        "hpa_desired"
    } else {
        "deploy_spec_replicas"
    };
    let mut out = Vec::new();
    let mut last: Option<u64> = None;
    for (t_s, value) in known(changes, column) {
        if let Some(from) = last
            && from != value
        {
            out.push(Decision {
                t_s,
                from,
                to: value,
            });
        }
        last = Some(value);
    }
    out
}

/// Gaps between the stages of a scale-out chain, seconds (null: a stage is unknown).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Gaps {
    /// Decision → the last new pod created.
    pub decision_to_created_s: Option<f64>,
    /// Created → Ready.
    pub created_to_ready_s: Option<f64>,
    /// Ready → in the Service.
    pub ready_to_in_service_s: Option<f64>,
    /// In the Service (Ready when unknown) → first request served.
    pub in_service_to_first_served_s: Option<f64>,
    /// Decision → first request served by every new pod.
    pub decision_to_first_served_s: Option<f64>,
    /// Decision → p95 back under its limit.
    pub decision_to_p95_ok_s: Option<f64>,
}

/// One scale-out and its chain. Each stage time is when the *last* of its new pods reached
/// it (the scale-out is complete then); null when one of them never did, or it is unknown.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ScaleOut {
    pub decision_s: f64,
    pub from: u64,
    pub to: u64,
    /// The pods it added (created from [`DECISION_SLACK_S`] before the decision on).
    pub pods: Vec<String>,
    pub created_s: Option<f64>,
    pub ready_s: Option<f64>,
    pub in_service_s: Option<f64>,
    pub first_served_s: Option<f64>,
    /// End of the first second from the decision on whose p95 is at or under the p95
    /// expectation (null without one, or if it never was).
    pub p95_ok_s: Option<f64>,
    pub gaps: Gaps,
    /// Each endpoint's share of the requests from `ready_s` (the decision when unknown) to the
    /// next decision or the end of the load, largest first.
    pub shares: Vec<super::PodShare>,
}

/// One scale-in and the pods it removed.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ScaleIn {
    pub decision_s: f64,
    pub from: u64,
    pub to: u64,
    /// The pods whose termination started from [`DECISION_SLACK_S`] before it on.
    pub pods: Vec<String>,
}

/// The pods (at most `n`) whose `time` falls from a decision at `from` to the next one of
/// the same direction at `until`, earliest first.
fn pods_between(
    pods: &[PodRow],
    time: impl Fn(&PodRow) -> Option<f64>,
    from: f64,
    until: f64,
    n: u64,
) -> Vec<&PodRow> {
    let mut found: Vec<&PodRow> = pods
        .iter()
        .filter(|p| {
            time(p).is_some_and(|t| t >= from - DECISION_SLACK_S && t < until - DECISION_SLACK_S)
        })
        .collect();
    found.sort_by(|a, b| time(a).unwrap_or(0.0).total_cmp(&time(b).unwrap_or(0.0)));
    found.truncate(n as usize);
    found
}

/// The latest of `time` over `pods`; null when any is unknown (or there are none).
fn last_of(pods: &[&PodRow], time: impl Fn(&PodRow) -> Option<f64>) -> Option<f64> {
    let times: Option<Vec<f64>> = pods.iter().map(|p| time(p)).collect();
    times?.into_iter().max_by(f64::total_cmp)
}

fn gap(from: Option<f64>, to: Option<f64>) -> Option<f64> {
    Some(round_ms((to? - from?).max(0.0)))
}

pub(super) fn scale_outs(
    inputs: &Inputs<'_>,
    decisions: &[Decision],
    load_end: f64,
) -> Vec<ScaleOut> {
    let ups: Vec<&Decision> = decisions.iter().filter(|d| d.to > d.from).collect();
    ups.iter()
        .enumerate()
        .map(|(i, d)| {
            let next_up = ups.get(i + 1).map_or(f64::INFINITY, |n| n.t_s);
            let pods = pods_between(inputs.pods, |p| p.created_s, d.t_s, next_up, d.to - d.from);
            let created_s = last_of(&pods, |p| p.created_s);
            let ready_s = last_of(&pods, |p| p.ready_s);
            let in_service_s = last_of(&pods, |p| p.in_service_s);
            let first_served_s = last_of(&pods, |p| p.first_served_s);
            let p95_ok_s = p95_ok(inputs, d.t_s);
            let next = decisions
                .iter()
                .find(|n| n.t_s > d.t_s)
                .map_or(load_end, |n| n.t_s);
            let names: Vec<&str> = pods.iter().map(|p| p.pod.as_str()).collect();
            let shares =
                super::traffic::shares(inputs.endpoints, ready_s.unwrap_or(d.t_s), next, &names);
            ScaleOut {
                decision_s: d.t_s,
                from: d.from,
                to: d.to,
                pods: pods.iter().map(|p| p.pod.clone()).collect(),
                created_s,
                ready_s,
                in_service_s,
                first_served_s,
                p95_ok_s,
                gaps: Gaps {
                    decision_to_created_s: gap(Some(d.t_s), created_s),
                    created_to_ready_s: gap(created_s, ready_s),
                    ready_to_in_service_s: gap(ready_s, in_service_s),
                    in_service_to_first_served_s: gap(in_service_s.or(ready_s), first_served_s),
                    decision_to_first_served_s: gap(Some(d.t_s), first_served_s),
                    decision_to_p95_ok_s: gap(Some(d.t_s), p95_ok_s),
                },
                shares,
            }
        })
        .collect()
}

/// End of the first second from `decision` on whose p95 is within the p95 expectation.
fn p95_ok(inputs: &Inputs<'_>, decision: f64) -> Option<f64> {
    let limit_us = inputs.p95_limit_ms? * 1000.0;
    let t = inputs.timeline;
    t.rows()
        .iter()
        .filter(|r| r.t_s as f64 + r.span_s > decision)
        .find(|r| t.p95_us(r).is_some_and(|p| p as f64 <= limit_us))
        .map(|r| round_ms(r.t_s as f64 + r.span_s))
}

pub(super) fn scale_ins(pods: &[PodRow], decisions: &[Decision]) -> Vec<ScaleIn> {
    let downs: Vec<&Decision> = decisions.iter().filter(|d| d.to < d.from).collect();
    downs
        .iter()
        .enumerate()
        .map(|(i, d)| {
            let next = downs.get(i + 1).map_or(f64::INFINITY, |n| n.t_s);
            let removed = pods_between(pods, |p| p.terminating_s, d.t_s, next, d.from - d.to);
            ScaleIn {
                decision_s: d.t_s,
                from: d.from,
                to: d.to,
                pods: removed.iter().map(|p| p.pod.clone()).collect(),
            }
        })
        .collect()
}
