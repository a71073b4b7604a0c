//! Comparing two runs: whether they measured the same thing ([`check_comparable`]), every
//! headline figure of both side by side with the difference and a 95% interval from a block
//! bootstrap over their seconds ([`figures`]), and a judgement of each — better, worse, no
//! change (inside the threshold, however significant) or inconclusive — by one stated rule.

pub mod align;
pub mod bootstrap;
pub mod chart;
mod figures;
pub mod html;
pub mod knees;

use crate::report::kpi::Kpis;
use crate::timeline::{RunMeta, TimelineRow};
use bootstrap::Latencies;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

pub use figures::figures;

/// The `schema` value of `compare.json`.
pub const COMPARE_SCHEMA: &str = "scaleproof-compare/1";

/// Seconds per bootstrap block: seconds closer than this move together (a queue, a GC pause,
/// a scale event), so they are drawn together.
pub const BLOCK_S: usize = 5;
/// Resamples per interval.
pub const RESAMPLES: usize = 2000;
/// Fewer seconds than this in either run is too little data to judge.
pub const MIN_SECONDS: usize = 10;

/// The judgement rule, in one line (terminal, compare.json, compare.html).
pub const RULE: &str = "a difference within the threshold of the base value (for latency, also within the latency floor) is no change, however significant; beyond it, better or worse when the 95% block-bootstrap interval of the difference (blocks of 5 s, 2,000 resamples) excludes zero, else inconclusive; fewer than 10 seconds, or a figure one run lacks, is inconclusive";

/// One run as compare reads it.
#[derive(Debug, Clone)]
pub struct RunData {
    /// Its run directory's name.
    pub name: String,
    pub meta: RunMeta,
    pub rows: Vec<TimelineRow>,
    pub kpis: Kpis,
    /// Each second's latency of successful requests: of the run's headline kind
    /// (`kpis.latency_kind`), and raw.
    pub latency: Latencies,
    pub raw: Latencies,
    /// The most-answering endpoint's share of all requests that named one (null: none did).
    pub top_endpoint_share: Option<f64>,
}

/// Which way is better.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Better {
    Higher,
    Lower,
}

/// The judgement of one figure.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Judgement {
    Better,
    Worse,
    NoChange,
    Inconclusive,
    /// One value per run (a time, a count of replicas): shown, not judged.
    NotJudged,
}

impl Judgement {
    pub fn label(self) -> &'static str {
        match self {
            Self::Better => "better",
            Self::Worse => "worse",
            Self::NoChange => "no change",
            Self::Inconclusive => "inconclusive",
            Self::NotJudged => "not judged",
        }
    }
}

/// One figure of both runs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Figure {
    /// Its name for `--metrics` (`rps`, `p95`, `p95_raw`, `error_rate`, …).
    pub metric: String,
    /// What it is, with its window and kind, as a person reads it.
    pub label: String,
    pub unit: String,
    pub base: Option<f64>,
    pub candidate: Option<f64>,
    /// candidate − base, and that as a share of base.
    pub diff: Option<f64>,
    pub diff_pct: Option<f64>,
    /// 95% interval of the difference (null: not bootstrapped, or too little data).
    pub ci_low: Option<f64>,
    pub ci_high: Option<f64>,
    pub better: Better,
    pub judgement: Judgement,
    /// It sets the exit code (`--metrics`).
    pub gates: bool,
}

/// A figure of both runs: their values, the difference and its share of the base, the
/// interval `ci` of the difference when there is one (a knee, a time, a count has none).
#[allow(clippy::too_many_arguments)]
pub(crate) fn figure(
    metric: &str,
    label: String,
    unit: &str,
    (base, candidate): (Option<f64>, Option<f64>),
    ci: Option<(f64, f64)>,
    better: Better,
    judgement: Judgement,
    gates: bool,
) -> Figure {
    let diff = base.zip(candidate).map(|(b, c)| c - b);
    Figure {
        metric: metric.to_owned(),
        label,
        unit: unit.to_owned(),
        base,
        candidate,
        diff,
        diff_pct: base
            .zip(diff)
            .and_then(|(b, d)| (b != 0.0).then(|| 100.0 * d / b)),
        ci_low: ci.map(|c| c.0),
        ci_high: ci.map(|c| c.1),
        better,
        judgement,
        gates,
    }
}

/// Judges a difference: `threshold` is a share of the base value (an absolute floor `floor`
/// applies when the base is near zero, as for an error rate of 0).
pub fn judge(
    (base, cand): (Option<f64>, Option<f64>),
    ci: Option<(f64, f64)>,
    better: Better,
    threshold: f64,
    floor: f64,
) -> Judgement {
    let (Some(b), Some(c)) = (base, cand) else {
        return Judgement::Inconclusive;
    };
    let diff = c - b;
    if diff.abs() <= (threshold * b.abs()).max(floor) {
        return Judgement::NoChange;
    }
    match ci {
        Some((lo, hi)) if lo > 0.0 || hi < 0.0 => {
            let up = diff > 0.0;
            if up == (better == Better::Higher) {
                Judgement::Better
            } else {
                Judgement::Worse
            }
        }
        _ => Judgement::Inconclusive,
    }
}

/// Contents of `compare.json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CompareDoc {
    pub schema: String,
    /// The two run directories' names and when each started.
    pub base: String,
    pub candidate: String,
    pub base_started_at: DateTime<Utc>,
    pub candidate_started_at: DateTime<Utc>,
    pub threshold: f64,
    /// A latency difference under this is no change, ms.
    pub latency_floor_ms: f64,
    pub rule: String,
    pub figures: Vec<Figure>,
    /// What differs between the runs beyond what was measured (machine, build, cluster).
    pub warnings: Vec<String>,
    /// What differs in what was measured, when `--force` compared them all the same.
    pub forced: Vec<String>,
    /// `regression`, `inconclusive` or `no regression`, over the gating figures.
    pub outcome: String,
    /// Either run's replicas were local (simulated on one machine).
    pub local: bool,
    /// How the two runs share the picture's clock (by second, or by load stage).
    #[serde(default)]
    pub alignment: String,
}

/// What makes two runs measure different things (refused unless forced), and what differs
/// around them (warned): `(differences, warnings)`.
pub fn check_comparable(base: &RunMeta, cand: &RunMeta) -> (Vec<String>, Vec<String>) {
    let mut differ = Vec::new();
    let mut warn = Vec::new();
    if base.requests != cand.requests {
        differ.push(format!(
            "the scenario's requests differ ({} vs {} requests, or their paths, bodies or weights)",
            base.requests.len(),
            cand.requests.len()
        ));
    }
    if base.load != cand.load {
        differ.push("the load shape differs (users, rate plan or run time)".to_owned());
    }
    // Local replicas listen on a new port each run: the same target if both were local.
    let same_target = base.target == cand.target || (base.embedded_target && cand.embedded_target);
    if !same_target {
        differ.push(format!(
            "the target differs: {} vs {}",
            base.target, cand.target
        ));
    }
    if base.generator.hostname != cand.generator.hostname {
        warn.push(format!(
            "different generator machines: {} vs {}",
            base.generator.hostname, cand.generator.hostname
        ));
    }
    if base.scaleproof_version != cand.scaleproof_version {
        warn.push(format!(
            "different scaleproof builds: {} vs {}",
            base.scaleproof_version, cand.scaleproof_version
        ));
    }
    match (&base.cluster, &cand.cluster) {
        (Some(b), Some(c)) => {
            let describe = |r: &crate::timeline::ClusterRecord| {
                serde_json::json!({
                    "containers": r.containers,
                    "hpa": r.hpa,
                    "min": r.hpa_min_replicas,
                    "max": r.hpa_max_replicas,
                    "targets": r.hpa_metric_targets,
                    "behavior": r.hpa_behavior,
                })
            };
            if describe(b) != describe(c) {
                warn.push("the workload's configuration differs (containers, images, requests, limits or HPA)".to_owned());
            }
        }
        (None, None) => {}
        _ => warn.push("only one of the runs watched a cluster or ran local replicas".to_owned()),
    }
    (differ, warn)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_threshold_wins_over_significance_and_the_interval_decides_beyond_it() {
        let j = |b, c, ci, better| judge((Some(b), Some(c)), ci, better, 0.05, 0.0);
        // 4% worse, however tight the interval: no change.
        assert_eq!(
            j(100.0, 104.0, Some((3.0, 5.0)), Better::Lower),
            Judgement::NoChange
        );
        // 10% higher latency, interval clear of zero: worse; the same for rps: better.
        assert_eq!(
            j(100.0, 110.0, Some((6.0, 14.0)), Better::Lower),
            Judgement::Worse
        );
        assert_eq!(
            j(100.0, 110.0, Some((6.0, 14.0)), Better::Higher),
            Judgement::Better
        );
        // 10% but the interval spans zero: inconclusive.
        assert_eq!(
            j(100.0, 110.0, Some((-2.0, 20.0)), Better::Lower),
            Judgement::Inconclusive
        );
        assert_eq!(
            j(100.0, 110.0, None, Better::Lower),
            Judgement::Inconclusive
        );
        // A figure one run lacks is inconclusive.
        let missing = judge((Some(1.0), None), None, Better::Lower, 0.05, 0.0);
        assert_eq!(missing, Judgement::Inconclusive);
        // From 0% errors to 0.05% is inside a 0.1-point floor: no change.
        let errors = judge(
            (Some(0.0), Some(0.0005)),
            Some((0.0001, 0.001)),
            Better::Lower,
            0.05,
            0.001,
        );
        assert_eq!(errors, Judgement::NoChange);
    }
}
