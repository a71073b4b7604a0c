//! The pod expectations, judged on the run's pod analysis ([`crate::scaling`]): new pods
//! serve soon after Ready, removing pods costs few failures, and no endpoint takes nearly
//! everything once there are several.

use super::builder::{Builder, pass_or};
use super::check::State;
use crate::scaling::Scaling;
use crate::spec::expectations::Expectations;

/// Where pod lifecycles came from, as a check's source says it.
fn lifecycle(scaling: Option<&Scaling>) -> &'static str {
    match scaling.map(|s| s.source.as_str()) {
        Some("cluster") => "pod conditions and EndpointSlices (cluster watch)",
        Some("local") => {
            "LOCAL replicas' lives (processes on this machine, simulated: not a cluster)"
        }
        _ => "no pod lifecycle recorded (no cluster watched)",
    }
}

pub(super) fn rules(b: &mut Builder, expect: &Expectations, scaling: Option<&Scaling>) {
    let from = lifecycle(scaling);
    if let Some(want) = expect.new_pod_serves_within_s {
        new_pod_serves_within(b, scaling, want, from);
    }
    if let Some(want) = expect.scale_in_errors {
        let source = format!(
            "failed requests in the seconds from {} s before each removed pod's termination was seen to {} s after it was gone; {from} × load",
            crate::scaling::WINDOW_LEAD_S,
            crate::scaling::WINDOW_MARGIN_S
        );
        let wanted = format!("≤ {want}");
        match scaling.and_then(|s| s.scale_in_errors) {
            Some(errors) => {
                let pods = scaling.map_or(0, |s| s.termination_windows.len());
                b.push(
                    "scale_in_errors",
                    wanted,
                    format!(
                        "{errors} in {pods} termination window{}",
                        if pods == 1 { "" } else { "s" }
                    ),
                    pass_or(errors <= want, State::Fail),
                    &source,
                );
            }
            None => b.push(
                "scale_in_errors",
                wanted,
                "no data: no pod was removed during the load".into(),
                State::Inconclusive,
                &source,
            ),
        }
    }
    if let Some(want) = expect.max_pod_share {
        let source = "requests per endpoint (X-Served-By) over the seconds with 2 or more ready replicas, endpoints.csv";
        let wanted = format!("≤ {:.0}% on one endpoint", want * 100.0);
        match scaling.and_then(|s| s.top_pod_share.as_ref()) {
            Some(top) => b.push(
                "max_pod_share",
                wanted,
                format!(
                    "{:.1}% on {} ({} of {} requests, {} s)",
                    top.share * 100.0,
                    top.pod,
                    crate::spec::values::thousands(top.requests),
                    crate::spec::values::thousands(top.total),
                    top.seconds
                ),
                pass_or(top.share <= want, State::Fail),
                source,
            ),
            None => b.push(
                "max_pod_share",
                wanted,
                "no data: never 2 or more ready replicas with traffic".into(),
                State::Inconclusive,
                source,
            ),
        }
    }
}

/// Each pod that became Ready during the load served within `want` seconds of it. A pod that
/// never served is judged only if the load ran on for `want` seconds after its Ready.
fn new_pod_serves_within(b: &mut Builder, scaling: Option<&Scaling>, want: f64, from: &str) {
    let source = format!("Ready ({from}) → first response naming the pod (load), pods.csv");
    let wanted = format!("≤ {want} s after Ready");
    let pods = scaling.map_or(&[][..], |s| s.new_pods.as_slice());
    let judged: Vec<_> = pods
        .iter()
        .filter(|p| p.wait_s.is_some() || p.watched_s >= want)
        .collect();
    if judged.is_empty() {
        b.push(
            "new_pod_serves_within",
            wanted,
            "no data: no pod became Ready early enough in the load to judge".into(),
            State::Inconclusive,
            &source,
        );
        return;
    }
    let never: Vec<&str> = judged
        .iter()
        .filter(|p| p.wait_s.is_none())
        .map(|p| p.pod.as_str())
        .collect();
    let worst = judged
        .iter()
        .filter_map(|p| p.wait_s.map(|w| (w, p.pod.as_str())))
        .max_by(|a, b| a.0.total_cmp(&b.0));
    let measured = match worst {
        _ if !never.is_empty() => format!("{} never served", never.join(", ")),
        Some((w, pod)) => format!(
            "worst {w:.1} s ({pod}) of {} pod{}",
            judged.len(),
            if judged.len() == 1 { "" } else { "s" }
        ),
        None => "no pod served".to_owned(),
    };
    let pass = never.is_empty() && worst.is_none_or(|(w, _)| w <= want);
    b.push(
        "new_pod_serves_within",
        wanted,
        measured,
        pass_or(pass, State::Fail),
        &source,
    );
}

#[cfg(test)]
mod tests {
    use crate::scaling::{NewPod, PodShare, Scaling};
    use crate::spec::expectations::Expectations;
    use crate::timeline::{Timeline, Totals};
    use crate::verdict::{State, evaluate_with};

    fn judge(expect: Expectations, scaling: Option<&Scaling>) -> (State, String) {
        let v = evaluate_with(&expect, &Timeline::new(&[]), &Totals::default(), scaling);
        assert_eq!(v.checks.len(), 1, "{v:?}");
        (v.checks[0].state, v.checks[0].measured.clone())
    }

    fn new_pod(pod: &str, wait_s: Option<f64>, watched_s: f64) -> NewPod {
        NewPod {
            pod: pod.into(),
            ready_s: 5.0,
            first_served_s: wait_s.map(|w| 5.0 + w),
            wait_s,
            watched_s,
        }
    }

    #[test]
    fn new_pods_must_serve_within_the_limit_and_a_late_ready_pod_is_not_judged() {
        let expect = Expectations {
            new_pod_serves_within_s: Some(3.0),
            ..Expectations::default()
        };
        let with = |pods: Vec<NewPod>| Scaling {
            source: "cluster".into(),
            new_pods: pods,
            ..Scaling::default()
        };
        let at_limit = with(vec![
            new_pod("b", Some(3.0), 60.0),
            new_pod("c", Some(0.4), 60.0),
        ]);
        assert_eq!(
            judge(expect.clone(), Some(&at_limit)),
            (State::Pass, "worst 3.0 s (b) of 2 pods".into())
        );
        let late = with(vec![new_pod("b", Some(3.2), 60.0)]);
        assert_eq!(judge(expect.clone(), Some(&late)).0, State::Fail);
        // Ready 2 s before the load ended and not served yet: too soon to say.
        let too_soon = with(vec![new_pod("b", None, 2.0)]);
        assert_eq!(
            judge(expect.clone(), Some(&too_soon)).0,
            State::Inconclusive
        );
        let never = with(vec![new_pod("b", Some(0.5), 60.0), new_pod("c", None, 3.0)]);
        assert_eq!(
            judge(expect.clone(), Some(&never)),
            (State::Fail, "c never served".into())
        );
        assert_eq!(judge(expect, None).0, State::Inconclusive, "no analysis");
    }

    #[test]
    fn scale_in_errors_count_against_the_limit_and_no_removal_is_no_data() {
        let expect = Expectations {
            scale_in_errors: Some(3),
            ..Expectations::default()
        };
        let with = |errors: Option<u64>| Scaling {
            scale_in_errors: errors,
            ..Scaling::default()
        };
        assert_eq!(judge(expect.clone(), Some(&with(Some(3)))).0, State::Pass);
        assert_eq!(judge(expect.clone(), Some(&with(Some(4)))).0, State::Fail);
        assert_eq!(
            judge(expect, Some(&with(None))),
            (
                State::Inconclusive,
                "no data: no pod was removed during the load".into()
            )
        );
    }

    #[test]
    fn one_endpoint_above_the_share_fails_and_never_two_ready_is_no_data() {
        let expect = Expectations {
            max_pod_share: Some(0.8),
            ..Expectations::default()
        };
        let with = |share: Option<f64>| Scaling {
            top_pod_share: share.map(|share| PodShare {
                pod: "a".into(),
                requests: (share * 1000.0) as u64,
                total: 1000,
                share,
                seconds: 10,
            }),
            ..Scaling::default()
        };
        assert_eq!(
            judge(expect.clone(), Some(&with(Some(0.8)))),
            (
                State::Pass,
                "80.0% on a (800 of 1,000 requests, 10 s)".into()
            )
        );
        assert_eq!(
            judge(expect.clone(), Some(&with(Some(0.97)))).0,
            State::Fail
        );
        assert_eq!(judge(expect, Some(&with(None))).0, State::Inconclusive);
    }
}
