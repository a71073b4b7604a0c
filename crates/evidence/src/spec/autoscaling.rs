//! The HorizontalPodAutoscaler's spec as `autoscaling/v2` writes it — `minReplicas`,
//! `maxReplicas`, a CPU utilisation target and `behavior` — for the local autoscaler; the
//! names serialize as Kubernetes spells them, so `run.json` reads like an HPA's spec.

use serde::{Deserialize, Serialize};

/// `Pods` or `Percent` policy.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum PolicyKind {
    Pods,
    Percent,
}

/// One scaling policy: at most `value` pods (or percent) per `period_s`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Policy {
    #[serde(rename = "type")]
    pub kind: PolicyKind,
    pub value: u32,
    #[serde(rename = "periodSeconds")]
    pub period_s: u32,
}

/// Which policy wins: the largest change (`Max`, the default), the smallest, or none at all.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum SelectPolicy {
    Max,
    Min,
    Disabled,
}

/// `behavior.scaleUp` or `behavior.scaleDown`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Rules {
    #[serde(rename = "stabilizationWindowSeconds")]
    pub stabilization_s: u32,
    #[serde(rename = "selectPolicy")]
    pub select: SelectPolicy,
    pub policies: Vec<Policy>,
}

/// `spec.behavior` of an `autoscaling/v2` HPA.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Behavior {
    #[serde(rename = "scaleUp")]
    pub scale_up: Rules,
    #[serde(rename = "scaleDown")]
    pub scale_down: Rules,
}

impl Default for Behavior {
    /// Kubernetes' defaults: scale up by 100% or 4 pods per 15 s, whichever is more, at once;
    /// scale down by up to 100% per 15 s after a 300 s stabilisation window.
    fn default() -> Self {
        Self {
            scale_up: Rules {
                stabilization_s: 0,
                select: SelectPolicy::Max,
                policies: vec![
                    Policy {
                        kind: PolicyKind::Percent,
                        value: 100,
                        period_s: 15,
                    },
                    Policy {
                        kind: PolicyKind::Pods,
                        value: 4,
                        period_s: 15,
                    },
                ],
            },
            scale_down: Rules {
                stabilization_s: 300,
                select: SelectPolicy::Max,
                policies: vec![Policy {
                    kind: PolicyKind::Percent,
                    value: 100,
                    period_s: 15,
                }],
            },
        }
    }
}

/// What the autoscaler is told to do.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HpaSpec {
    pub min_replicas: u32,
    pub max_replicas: u32,
    /// Target average CPU utilisation, percent of each replica's CPU request.
    pub target_utilization_pct: f64,
    pub behavior: Behavior,
}
