//! The time-to-scale-out rule (`--expect-scale-within`): from the load first reaching the rps
//! expectation to the first scale-out, a scale-out during the ramp counting as 0 s.

use super::builder::{Builder, pass_or};
use super::check::State;
use crate::timeline::{Timeline, WorkloadSource};

/// Time from load first reaching the rps expectation to the first scale-out; a scale-out
/// during the ramp, before that, counts as 0 s.
pub(super) fn scale_within(b: &mut Builder, t: &Timeline<'_>, rps: Option<f64>, want: f64) {
    let cluster = t.has_cluster();
    let source = if cluster && t.workload() == WorkloadSource::Local {
        "seconds from load reaching the rps expectation to the local autoscaler's first scale-out (simulated on this machine)"
    } else if cluster {
        "seconds from load reaching the rps expectation to the Deployment's first scale-out (spec.replicas up)"
    } else {
        "seconds from load reaching the rps expectation to more endpoints serving"
    };
    let wanted = format!("≤ {want:.0} s");
    if !cluster && !t.has_endpoints() {
        b.push(
            "scale_within",
            wanted,
            "no data: no cluster watched and no endpoint header seen".into(),
            State::Inconclusive,
            source,
        );
        return;
    }
    let Some(crossing) = t.crossing_second(rps) else {
        b.push(
            "scale_within",
            wanted,
            "no data: load never reached the rps expectation".into(),
            State::Inconclusive,
            source,
        );
        return;
    };
    match t.scale_out_seconds().first() {
        Some(&first) => {
            let took = first.saturating_sub(crossing) as f64;
            b.push(
                "scale_within",
                wanted,
                format!("{took:.0} s"),
                pass_or(took <= want, State::Fail),
                source,
            );
            if first < crossing {
                b.note(format!(
                    "scaled out at {first} s, during the ramp, before load reached the expectation at {crossing} s"
                ));
            }
        }
        None => {
            let last = t.rows().last().map_or(0, |r| r.t_s + 1);
            let watched = last.saturating_sub(crossing) as f64;
            if watched > want {
                b.push(
                    "scale_within",
                    wanted,
                    format!("no scale-out in {watched:.0} s"),
                    State::Fail,
                    source,
                );
            } else {
                b.push(
                    "scale_within",
                    wanted,
                    format!(
                        "no data: the run ended {watched:.0} s after load reached the expectation"
                    ),
                    State::Inconclusive,
                    source,
                );
            }
        }
    }
}
