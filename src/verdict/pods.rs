//! The pod expectations, judged on the run's pod analysis ([`crate::scaling`]): new pods
//! serve soon after Ready, removing pods costs few failures, and no endpoint takes nearly
//! everything once there are several.

use super::check::State;
use super::rules::{Builder, pass_or};
use crate::expectations::Expectations;
use crate::scaling::Scaling;

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
            "failed requests in the seconds from each removed pod's termination to {} s after it was gone; {from} × load",
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
                    top.requests,
                    top.total,
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
        Some((w, pod)) => format!("worst {w:.1} s ({pod}) of {} pods", judged.len()),
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
