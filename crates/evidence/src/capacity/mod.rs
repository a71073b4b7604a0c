//! Capacity: one replica's knee at the SLO, found by a search over open-model steps, and the
//! plan it gives for a target rate — the records (`capacity.csv`, `capacity.json`), the
//! judgement of one step, the search ([`search`]), the plan ([`plan`]), the Universal
//! Scalability Law fit past one replica ([`usl`]) and the chart ([`chart`]).

pub mod chart;
pub mod plan;
pub mod search;
pub mod usl;

use chrono::{DateTime, Utc};
pub use search::{Ending, Outcome, Search};
use serde::{Deserialize, Serialize};

/// The `schema` value of `capacity.json`.
pub const CAPACITY_SCHEMA: &str = "scaleproof-capacity/1";

/// The service level a step must hold.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Slo {
    /// Corrected p95 at most this, ms.
    pub p95_ms: f64,
    /// (failed + dropped) ÷ (completed + dropped) at most this, 0–1.
    pub error_rate: f64,
    /// Successful requests/s at least this share of the offered rate.
    pub min_ok_share: f64,
}

/// What one step measured, a row of `capacity.csv`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StepRow {
    /// 1, 2, … in the order run.
    pub step: u32,
    /// Replicas serving during the step.
    pub replicas: u32,
    /// The open-model rate offered, requests/s.
    pub offered_rps: f64,
    /// How long it was planned to last, and how long it took (its last requests included), s.
    pub planned_s: f64,
    pub duration_s: f64,
    /// Completed requests (successful and failed), successful, failed, dropped slots, and
    /// requests still in flight when the step ended (cancelled).
    pub requests: u64,
    pub ok: u64,
    pub errors: u64,
    pub dropped: u64,
    pub cancelled: u64,
    /// Successful requests ÷ the step's duration.
    pub ok_rps: f64,
    /// (failed + dropped) ÷ (completed + dropped); empty when nothing was due.
    pub error_rate: Option<f64>,
    /// Latency from each request's due time (corrected), successful requests, whole step.
    pub p50_corrected_ms: Option<f64>,
    pub p95_corrected_ms: Option<f64>,
    pub p99_corrected_ms: Option<f64>,
    /// CPU of one replica over the step, millicores (empty: unknown).
    pub cpu_m: Option<f64>,
    /// The generator was saturated or lagging in some second of the step.
    pub generator_saturated: bool,
    pub outcome: Outcome,
    /// Why, in one line.
    pub reason: String,
    /// The step's own run directory, relative to the capacity directory.
    pub run_dir: String,
}

/// Columns of `capacity.csv`, in order.
pub const STEP_COLUMNS: &[&str] = &[
    "step",
    "replicas",
    "offered_rps",
    "planned_s",
    "duration_s",
    "requests",
    "ok",
    "errors",
    "dropped",
    "cancelled",
    "ok_rps",
    "error_rate",
    "p50_corrected_ms",
    "p95_corrected_ms",
    "p99_corrected_ms",
    "cpu_m",
    "generator_saturated",
    "outcome",
    "reason",
    "run_dir",
];

/// `capacity.csv`: one row per step.
pub const CAPACITY: crate::timeline::Table<StepRow> =
    crate::timeline::Table::new("capacity.csv", STEP_COLUMNS, false);

/// Judges a step against `slo`: inconclusive when the generator could not deliver it, else
/// failed on the first of errors, throughput and p95 that does not hold.
pub fn judge(s: &StepRow, slo: &Slo) -> (Outcome, String) {
    if s.generator_saturated {
        return (
            Outcome::Inconclusive,
            "the generator was saturated or lagging: not the service's failure".to_owned(),
        );
    }
    let rate = s.error_rate.unwrap_or(0.0);
    if rate > slo.error_rate {
        return (
            Outcome::Fail,
            format!(
                "errors + dropped {:.2}% > {:.2}%",
                100.0 * rate,
                100.0 * slo.error_rate
            ),
        );
    }
    if s.ok_rps < slo.min_ok_share * s.offered_rps {
        return (
            Outcome::Fail,
            format!(
                "ok {:.1} rps < {:.0}% of the {:.0} offered",
                s.ok_rps,
                100.0 * slo.min_ok_share,
                s.offered_rps
            ),
        );
    }
    match s.p95_corrected_ms {
        None => (Outcome::Fail, "no successful request".to_owned()),
        Some(p) if p > slo.p95_ms => (
            Outcome::Fail,
            format!("p95 corrected {p:.1} ms > {:.0} ms", slo.p95_ms),
        ),
        Some(p) => (
            Outcome::Pass,
            format!(
                "p95 corrected {p:.1} ms, ok {:.1} rps, errors + dropped {:.2}%",
                s.ok_rps,
                100.0 * rate
            ),
        ),
    }
}

/// The knee at one replica count.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct KneeAt {
    pub replicas: u32,
    /// Highest rate that held the SLO (`None`: not even the first step).
    pub knee_rps: Option<f64>,
    /// Lowest rate that failed it (`None`: none failed).
    pub fail_rps: Option<f64>,
    pub ending: Ending,
}

/// Contents of `capacity.json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CapacityDoc {
    pub schema: String,
    pub scenario: String,
    pub target: String,
    /// The replicas were local processes on this machine (simulated), not a cluster's.
    pub local: bool,
    /// What the replicas are, in words.
    pub workload: String,
    pub started_at: DateTime<Utc>,
    pub duration_s: f64,
    pub slo: Slo,
    /// How long each step lasts and why, in one line.
    pub step_rule: String,
    /// One replica's knee: the highest rate that held the SLO (`None`: below the first step).
    pub knee_rps: Option<f64>,
    /// The lowest rate that failed it, above the knee (`None`: none failed).
    pub fail_rps: Option<f64>,
    /// One replica's CPU at the knee, millicores (`None`: unknown).
    pub knee_cpu_m: Option<f64>,
    /// Why the search at one replica ended.
    pub ending: Ending,
    pub steps: Vec<StepRow>,
    /// The plan for the target rate (`None` without a knee).
    pub plan: Option<plan::Plan>,
    /// The scaleproof command that verifies the plan.
    pub verify_command: Option<String>,
    /// The knee at each replica count measured (`--replicas 1,2,4`).
    pub scaling: Vec<KneeAt>,
    /// The Universal Scalability Law fitted to `scaling` (`None`: fewer than two counts).
    pub usl: Option<usl::Usl>,
    /// Replicas past which more stop adding throughput, from the fit (`None`: none within
    /// what the fit says, or no fit).
    pub more_stop_helping_at: Option<u32>,
    /// What a reader must know (simulated replicas, a thin fit), one line each.
    pub notes: Vec<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn step() -> StepRow {
        StepRow {
            step: 1,
            replicas: 1,
            offered_rps: 100.0,
            planned_s: 10.0,
            duration_s: 10.0,
            requests: 1000,
            ok: 1000,
            errors: 0,
            dropped: 0,
            cancelled: 0,
            ok_rps: 100.0,
            error_rate: Some(0.0),
            p50_corrected_ms: Some(5.0),
            p95_corrected_ms: Some(20.0),
            p99_corrected_ms: Some(30.0),
            cpu_m: Some(300.0),
            generator_saturated: false,
            outcome: Outcome::Pass,
            reason: String::new(),
            run_dir: String::new(),
        }
    }

    const SLO: Slo = Slo {
        p95_ms: 50.0,
        error_rate: 0.01,
        min_ok_share: 0.99,
    };

    #[test]
    fn a_step_passes_only_when_errors_throughput_and_p95_all_hold() {
        assert_eq!(judge(&step(), &SLO).0, Outcome::Pass);
        let slow = StepRow {
            p95_corrected_ms: Some(50.1),
            ..step()
        };
        assert_eq!(judge(&slow, &SLO).0, Outcome::Fail);
        assert!(
            judge(&slow, &SLO)
                .1
                .contains("p95 corrected 50.1 ms > 50 ms")
        );
        let short = StepRow {
            ok_rps: 98.9,
            ..step()
        };
        assert_eq!(judge(&short, &SLO).0, Outcome::Fail);
        let failing = StepRow {
            error_rate: Some(0.011),
            ..step()
        };
        assert!(
            judge(&failing, &SLO)
                .1
                .starts_with("errors + dropped 1.10%")
        );
        let none = StepRow {
            p95_corrected_ms: None,
            ..step()
        };
        assert_eq!(judge(&none, &SLO).0, Outcome::Fail);
    }

    #[test]
    fn a_saturated_generator_makes_a_step_inconclusive_even_when_it_also_failed() {
        let s = StepRow {
            generator_saturated: true,
            p95_corrected_ms: Some(900.0),
            ..step()
        };
        assert_eq!(judge(&s, &SLO).0, Outcome::Inconclusive);
    }
}
