//! Every pod's story, read as a whole: what happened between each scale decision and the new
//! pods serving (scale-out chains), what users met while pods were removed (termination
//! windows), and whether traffic reached the pods at all (shares, idle pods, one endpoint
//! taking everything). Computed from the run directory alone — `timeline.csv`,
//! `endpoints.csv`, `cluster.csv` and `pods.csv` — so the run's own warnings, the verdict and
//! every report read the same figures.

mod chains;
mod traffic;
mod windows;

pub use chains::{Gaps, ScaleIn, ScaleOut, decisions};
pub use traffic::{IdlePod, NewPod, PodShare};
pub use windows::TerminationWindow;

use crate::timeline::{ClusterChangeRow, EndpointRow, PodRow, Timeline};
use serde::{Deserialize, Serialize};

/// Pods created (or terminating) up to this long before a scale decision was *seen* still
/// belong to it: the API server's timestamps have one-second resolution and the watcher sees
/// the decision a little after it is made.
pub const DECISION_SLACK_S: f64 = 2.0;
/// A termination window reaches this far past the pod's deletion (or the end of the load), so
/// that failures of requests it held show up.
pub const WINDOW_MARGIN_S: f64 = 2.0;
/// A termination window starts this long before the watcher saw the termination: the pod's
/// endpoints and connections may go a little before the watch reports it (one sample period).
pub const WINDOW_LEAD_S: f64 = 1.0;
/// A pod in the Service for this many seconds of traffic without serving a request is idle.
pub const IDLE_AFTER_S: u64 = 5;
/// One endpoint serving at least this share of the requests while 2 or more replicas are
/// ready is the port-forward / sticky keep-alive symptom.
pub const DOMINANT_SHARE: f64 = 0.9;

/// What the run directory holds that the analysis reads.
#[derive(Debug, Clone, Copy)]
pub struct Inputs<'a> {
    pub timeline: Timeline<'a>,
    pub endpoints: &'a [EndpointRow],
    pub changes: &'a [ClusterChangeRow],
    pub pods: &'a [PodRow],
    /// The p95 expectation, ms: a scale-out chain ends when p95 is back under it.
    pub p95_limit_ms: Option<f64>,
}

/// The analysis, as written in `summary.json` (`scaling`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Scaling {
    /// Where the replica counts and pod lifecycles came from: `cluster`, `local` or
    /// `endpoints` (no pod lifecycle known).
    pub source: String,
    pub scale_outs: Vec<ScaleOut>,
    pub scale_ins: Vec<ScaleIn>,
    /// One per pod whose termination started during the load.
    pub termination_windows: Vec<TerminationWindow>,
    /// Failed requests in seconds covered by any termination window (each second counted
    /// once); null when no pod was removed during the load.
    pub scale_in_errors: Option<u64>,
    /// Pods that became ready during the load, and how long until each served.
    pub new_pods: Vec<NewPod>,
    /// Pods in the Service for [`IDLE_AFTER_S`] seconds of traffic that served nothing.
    pub idle_pods: Vec<IdlePod>,
    /// The endpoint with the largest share of requests over the seconds with 2 or more
    /// ready replicas; null when there were none.
    pub top_pod_share: Option<PodShare>,
    /// What a person should know, one sentence each (also in `run.json` and the terminal).
    pub warnings: Vec<String>,
}

/// Reads the run's scale decisions, pods and traffic together.
pub fn analyse(inputs: &Inputs<'_>) -> Scaling {
    let t = inputs.timeline;
    let load_end = t.rows().last().map_or(0.0, |r| r.t_s as f64 + r.span_s);
    let decisions = decisions(inputs.changes);
    let scale_outs = chains::scale_outs(inputs, &decisions, load_end);
    let scale_ins = chains::scale_ins(inputs.pods, &decisions);
    let termination_windows = windows::windows(inputs, load_end);
    let scale_in_errors = windows::errors_in(&termination_windows, t.rows());
    let new_pods = traffic::new_pods(inputs.pods, load_end);
    let idle_pods = traffic::idle_pods(inputs.pods, t.rows(), load_end);
    let top_pod_share = traffic::top_share(&t, inputs.endpoints);
    let has_lifecycle = inputs.pods.iter().any(|p| p.ready_s.is_some());
    let mut scaling = Scaling {
        source: if has_lifecycle {
            t.workload().name().to_owned()
        } else {
            "endpoints".to_owned()
        },
        scale_outs,
        scale_ins,
        termination_windows,
        scale_in_errors,
        new_pods,
        idle_pods,
        top_pod_share,
        warnings: Vec::new(),
    };
    scaling.warnings = traffic::warnings(&scaling);
    scaling
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::timeline::{TimelineRow, WorkloadSource};

    /// 16 s at 100 requests/s. Replica a serves alone; at 3.2 s the HPA wants 3; b and c are
    /// created at 3.0 (API time, before the decision was seen), Ready at 5, in the Service at
    /// 6.1; b serves from 6.3, c never. p95 is 400 ms from second 3 to 7. At 12.0 the HPA
    /// wants 1: b and c terminate at 12.4 and are gone at 14.0; second 13 has 7 failures.
    fn run() -> (
        Vec<TimelineRow>,
        Vec<EndpointRow>,
        Vec<ClusterChangeRow>,
        Vec<PodRow>,
    ) {
        let ready = |t: u64| if (6..13).contains(&t) { 3 } else { 1 };
        let rows: Vec<TimelineRow> = (0..16)
            .map(|t| TimelineRow {
                t_s: t,
                span_s: 1.0,
                target_rps: Some(100.0),
                requests: 100,
                errors: if t == 13 { 7 } else { 0 },
                p95_corrected_us: Some(if (3..8).contains(&t) { 400_000 } else { 5_000 }),
                deploy_spec_replicas: Some(ready(t)),
                deploy_ready: Some(ready(t)),
                ..TimelineRow::default()
            })
            .collect();
        let mut endpoints = Vec::new();
        for t in 0..16u64 {
            let b = if (7..13).contains(&t) { 20 } else { 0 };
            let ep = |name: &str, requests: u64, errors: u64| EndpointRow {
                t_s: t,
                endpoint: name.into(),
                requests,
                errors,
                ..EndpointRow::default()
            };
            endpoints.push(ep("a", 100 - b, 0));
            if b > 0 {
                endpoints.push(ep("b", b, u64::from(t == 12)));
            }
        }
        let change = |t_s: f64, value: &str| ClusterChangeRow {
            t_s,
            column: "hpa_desired".into(),
            value: Some(value.into()),
        };
        let changes = vec![change(0.0, "1"), change(3.2, "3"), change(12.0, "1")];
        let new = |name: &str, first: Option<f64>, requests: u64| PodRow {
            created_s: Some(3.0),
            ready_s: Some(5.0),
            in_service_s: Some(6.1),
            first_served_s: first,
            terminating_s: Some(12.4),
            gone_s: Some(14.0),
            requests,
            ..PodRow::named(name)
        };
        let pods = vec![
            PodRow {
                created_s: Some(-100.0),
                ready_s: Some(-90.0),
                in_service_s: Some(0.0),
                first_served_s: Some(0.01),
                requests: 1_480,
                ..PodRow::named("a")
            },
            new("b", Some(6.3), 120),
            new("c", None, 0),
        ];
        (rows, endpoints, changes, pods)
    }

    fn analysed(p95_limit_ms: Option<f64>) -> Scaling {
        let (rows, endpoints, changes, pods) = run();
        analyse(&Inputs {
            timeline: Timeline::of(&rows, WorkloadSource::Cluster),
            endpoints: &endpoints,
            changes: &changes,
            pods: &pods,
            p95_limit_ms,
        })
    }

    #[test]
    fn a_scale_out_chain_runs_from_the_decision_to_the_last_new_pod_serving() {
        let s = analysed(Some(250.0));
        assert_eq!(s.source, "cluster");
        assert_eq!(s.scale_outs.len(), 1);
        let out = &s.scale_outs[0];
        assert_eq!((out.decision_s, out.from, out.to), (3.2, 1, 3));
        assert_eq!(out.pods, ["b", "c"]);
        assert_eq!(
            (out.created_s, out.ready_s, out.in_service_s),
            (Some(3.0), Some(5.0), Some(6.1))
        );
        assert_eq!(out.first_served_s, None, "c never served");
        assert_eq!(
            out.p95_ok_s,
            Some(9.0),
            "second 8 is the first back under 250 ms"
        );
        let g = &out.gaps;
        assert_eq!(
            g.decision_to_created_s,
            Some(0.0),
            "created before it was seen"
        );
        assert_eq!(g.created_to_ready_s, Some(2.0));
        assert_eq!(g.ready_to_in_service_s, Some(1.1));
        assert_eq!(g.in_service_to_first_served_s, None);
        assert_eq!(g.decision_to_p95_ok_s, Some(5.8));
        // Shares from Ready (5.0) to the next decision (12.0): seconds 5..=11.
        let shares: Vec<(&str, u64)> = out
            .shares
            .iter()
            .map(|p| (p.pod.as_str(), p.requests))
            .collect();
        assert_eq!(shares, [("a", 600), ("b", 100), ("c", 0)]);
        assert_eq!(out.shares[0].seconds, 7);
        assert_eq!(
            analysed(None).scale_outs[0].p95_ok_s,
            None,
            "no limit, no end"
        );
    }

    #[test]
    fn a_scale_in_window_counts_the_failures_while_its_pods_went_away() {
        let s = analysed(None);
        assert_eq!(s.scale_ins.len(), 1);
        assert_eq!(s.scale_ins[0].pods, ["b", "c"]);
        assert_eq!(s.termination_windows.len(), 2);
        let b = &s.termination_windows[0];
        assert_eq!((b.pod.as_str(), b.start_s, b.end_s), ("b", 11.4, 16.0));
        // Seconds 11..=15: 500 requests, second 13's 7 failures, b's own failure in 12.
        assert_eq!((b.requests, b.errors, b.pod_errors), (500, 7, 1));
        assert_eq!(b.worst_p95_us, Some(5_000));
        assert_eq!(
            s.scale_in_errors,
            Some(7),
            "overlapping windows count a second once"
        );
    }

    #[test]
    fn a_pod_that_never_serves_is_idle_and_one_endpoint_taking_most_is_named() {
        let s = analysed(None);
        let idle: Vec<(&str, u64)> = s
            .idle_pods
            .iter()
            .map(|p| (p.pod.as_str(), p.busy_seconds))
            .collect();
        // c was in the Service from 6.1 to 12.4: whole seconds 7..=11.
        assert_eq!(idle, [("c", 5)]);
        let new: Vec<(&str, Option<f64>)> = s
            .new_pods
            .iter()
            .map(|p| (p.pod.as_str(), p.wait_s))
            .collect();
        assert_eq!(new, [("b", Some(1.3)), ("c", None)]);
        // Seconds 6..=12 have 3 ready: a served 80 of 100 in 7..=12 and all 100 in 6.
        let top = s.top_pod_share.as_ref().expect("a share");
        assert_eq!((top.pod.as_str(), top.requests, top.total), ("a", 580, 700));
        assert_eq!(s.warnings.len(), 1, "{:?}", s.warnings);
        assert!(s.warnings[0].starts_with("pod c was in the Service from 6.1 s"));
    }

    #[test]
    fn one_endpoint_serving_everything_with_replicas_ready_is_warned_about() {
        let (rows, mut endpoints, changes, pods) = run();
        endpoints.retain(|e| e.endpoint == "a");
        for e in &mut endpoints {
            e.requests = 100;
        }
        let s = analyse(&Inputs {
            timeline: Timeline::of(&rows, WorkloadSource::Cluster),
            endpoints: &endpoints,
            changes: &changes,
            pods: &pods,
            p95_limit_ms: None,
        });
        let top = s.top_pod_share.as_ref().expect("a share");
        assert_eq!((top.share, top.seconds), (1.0, 7));
        let warning = s.warnings.last().expect("warning");
        assert!(
            warning.contains("a served 100% of the requests"),
            "{warning}"
        );
        assert!(warning.contains("--recycle-connections"), "{warning}");
    }
}
