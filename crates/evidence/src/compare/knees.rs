//! Comparing two capacity searches: one replica's knee of each, judged by their brackets —
//! the candidate is better when its knee is at or above the rate the base failed at, worse
//! when it failed at or below the rate the base held, and otherwise no change within the
//! threshold or inconclusive (the brackets overlap). No bootstrap: a knee is a search's
//! result, not a sum of seconds.

use super::{Better, Figure, Judgement, figure};
use crate::capacity::CapacityDoc;

/// The rule for knees, in one line.
pub const KNEE_RULE: &str = "knees are compared by their brackets [highest pass, lowest fail): better when the candidate held the SLO at or above the rate the base failed at, worse when it failed at or below the rate the base held, else no change within the threshold of the base knee, else inconclusive";

/// The figures of two capacity documents; `knee_rps` gates.
pub fn figures(base: &CapacityDoc, cand: &CapacityDoc, threshold: f64) -> Vec<Figure> {
    let judgement = match (base.knee_rps, cand.knee_rps) {
        (Some(bk), Some(ck)) => {
            if base.fail_rps.is_some_and(|bf| ck >= bf) {
                Judgement::Better
            } else if cand.fail_rps.is_some_and(|cf| cf <= bk) {
                Judgement::Worse
            } else if (ck - bk).abs() <= threshold * bk {
                Judgement::NoChange
            } else {
                Judgement::Inconclusive
            }
        }
        (None, Some(_)) => Judgement::Better,
        (Some(bk), None) if cand.fail_rps.is_some_and(|cf| cf <= bk) => Judgement::Worse,
        _ => Judgement::Inconclusive,
    };
    let plan = |d: &CapacityDoc| d.plan.as_ref().map(|p| f64::from(p.replicas_for_target));
    let mut out = vec![figure(
        "knee_rps",
        "one replica's knee (highest rate that held the SLO)".to_owned(),
        "rps",
        (base.knee_rps, cand.knee_rps),
        None,
        Better::Higher,
        judgement,
        true,
    )];
    out.push(figure(
        "knee_cpu_m",
        "CPU at the knee".to_owned(),
        "m",
        (base.knee_cpu_m, cand.knee_cpu_m),
        None,
        Better::Lower,
        Judgement::NotJudged,
        false,
    ));
    out.push(figure(
        "replicas_for_target",
        "replicas planned for the target".to_owned(),
        "replicas",
        (plan(base), plan(cand)),
        None,
        Better::Lower,
        Judgement::NotJudged,
        false,
    ));
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::capacity::{Ending, Slo};

    fn doc(knee: Option<f64>, fail: Option<f64>) -> CapacityDoc {
        CapacityDoc {
            schema: String::new(),
            scenario: "s".into(),
            target: "t".into(),
            local: true,
            workload: String::new(),
            started_at: chrono::Utc::now(),
            duration_s: 0.0,
            slo: Slo {
                p95_ms: 250.0,
                error_rate: 0.01,
                min_ok_share: 0.99,
            },
            step_rule: String::new(),
            knee_rps: knee,
            fail_rps: fail,
            knee_cpu_m: None,
            ending: Ending::Converged,
            steps: Vec::new(),
            plan: None,
            verify_command: None,
            scaling: Vec::new(),
            usl: None,
            more_stop_helping_at: None,
            notes: Vec::new(),
        }
    }

    #[test]
    fn knees_are_judged_by_their_brackets() {
        let j = |b: CapacityDoc, c: CapacityDoc| figures(&b, &c, 0.05)[0].judgement;
        let base = || doc(Some(1000.0), Some(1050.0));
        assert_eq!(
            j(base(), doc(Some(1100.0), Some(1150.0))),
            Judgement::Better
        );
        assert_eq!(j(base(), doc(Some(900.0), Some(950.0))), Judgement::Worse);
        assert_eq!(
            j(base(), doc(Some(1020.0), Some(1070.0))),
            Judgement::NoChange
        );
        // Brackets that overlap widely and differ by more than the threshold.
        let wide = doc(Some(1000.0), Some(2000.0));
        assert_eq!(
            j(wide, doc(Some(1200.0), Some(2400.0))),
            Judgement::Inconclusive
        );
        // Below the first step against a knee: worse, if its first step is at or below it.
        assert_eq!(j(base(), doc(None, Some(25.0))), Judgement::Worse);
    }
}
