//! The HorizontalPodAutoscaler's algorithm, as the Kubernetes documentation and the
//! controller (`pkg/controller/podautoscaler`) define it, for local replicas:
//!
//! - `desired = ceil(current_ready × utilisation / target)`, unchanged within the tolerance
//!   (10%); while scaling up, pods not ready yet count as using 0%, and if that takes the
//!   ratio back within the tolerance there is no scale-up;
//! - clamped to `min..=max`;
//! - stabilised: scale-up takes the lowest recommendation of its window (default 0 s), scale
//!   down the highest of its window (default 300 s);
//! - rate-limited by the `behavior` policies (`Pods`/`Percent` per period, `selectPolicy`
//!   `Max`/`Min`/`Disabled`), counting the changes already made within each policy's period.
//!
//! Times are seconds on the run's clock, so every case can be computed by hand.

pub use crate::spec::autoscaling::{Behavior, HpaSpec, Policy, PolicyKind, Rules, SelectPolicy};

/// How far the utilisation ratio may stray from 1 before the HPA acts (kube-controller-manager's
/// `--horizontal-pod-autoscaler-tolerance`, 0.1 by default).
pub const TOLERANCE: f64 = 0.1;

/// What one sync sees.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Observation {
    /// CPU utilisation of each ready replica, percent of its request.
    pub ready_utilization_pct: Vec<f64>,
    /// Replicas started but not ready yet.
    pub unready: u32,
}

/// One sync's outcome.
#[derive(Debug, Clone, PartialEq)]
pub struct Decision {
    /// Replicas the metric alone asks for (before stabilisation and policies).
    pub recommended: u32,
    /// Replicas to run now.
    pub desired: u32,
    /// Average utilisation of the ready replicas, percent (None: no ready replica).
    pub utilization_pct: Option<f64>,
    /// Why `desired` differs from `recommended`, when it does.
    pub limited_by: Option<&'static str>,
}

/// The HPA controller's memory for one target: recommendations and recent scale events.
#[derive(Debug, Clone)]
pub struct Autoscaler {
    spec: HpaSpec,
    /// `(time, recommendation)` of each sync.
    recommendations: Vec<(f64, u32)>,
    /// `(time, replicas added)` and `(time, replicas removed)`.
    ups: Vec<(f64, u32)>,
    downs: Vec<(f64, u32)>,
}

impl Autoscaler {
    pub fn new(spec: HpaSpec) -> Self {
        Self {
            spec,
            recommendations: Vec::new(),
            ups: Vec::new(),
            downs: Vec::new(),
        }
    }

    pub fn spec(&self) -> &HpaSpec {
        &self.spec
    }

    /// One sync at `now` with `current` replicas (`spec.replicas` of the workload).
    pub fn sync(&mut self, now: f64, current: u32, seen: &Observation) -> Decision {
        let utilization = average(&seen.ready_utilization_pct);
        let (min, max) = (self.spec.min_replicas, self.spec.max_replicas);
        if current == 0 {
            // An HPA never scales a workload scaled to 0 by hand.
            return Decision {
                recommended: 0,
                desired: 0,
                utilization_pct: utilization,
                limited_by: Some("scaled to zero"),
            };
        }
        if current > max || current < min {
            let desired = current.clamp(min, max);
            self.store_change(now, current, desired);
            return Decision {
                recommended: desired,
                desired,
                utilization_pct: utilization,
                limited_by: Some("outside minReplicas..maxReplicas"),
            };
        }
        let recommended = replicas_for_cpu(current, seen, self.spec.target_utilization_pct);
        let stabilized = self.stabilize(now, current, recommended);
        let (desired, rate_limited) = self.rate_limit(now, current, stabilized);
        let limited_by = if rate_limited {
            Some("scaling policy")
        } else if desired != recommended.clamp(min, max) {
            Some("stabilization window")
        } else if desired != recommended {
            Some("minReplicas..maxReplicas")
        } else {
            None
        };
        self.store_change(now, current, desired);
        Decision {
            recommended,
            desired,
            utilization_pct: utilization,
            limited_by,
        }
    }

    /// The recommendation within the stabilisation windows (and records it).
    fn stabilize(&mut self, now: f64, current: u32, recommended: u32) -> u32 {
        let b = &self.spec.behavior;
        let up_cutoff = now - f64::from(b.scale_up.stabilization_s);
        let down_cutoff = now - f64::from(b.scale_down.stabilization_s);
        let mut up = recommended;
        let mut down = recommended;
        for &(at, r) in &self.recommendations {
            if at > up_cutoff {
                up = up.min(r);
            }
            if at > down_cutoff {
                down = down.max(r);
            }
        }
        let keep = up_cutoff.min(down_cutoff);
        self.recommendations.retain(|&(at, _)| at > keep);
        self.recommendations.push((now, recommended));
        current.max(up).min(down)
    }

    /// `desired` within `min..=max` and the policies; true when a policy cut it.
    fn rate_limit(&self, now: f64, current: u32, desired: u32) -> (u32, bool) {
        let (min, max) = (self.spec.min_replicas, self.spec.max_replicas);
        if desired > current {
            let limit = self
                .limit(now, current, &self.spec.behavior.scale_up, true)
                .max(current);
            let allowed = max.min(limit);
            if desired > allowed {
                return (allowed, limit < max);
            }
        } else if desired < current {
            let limit = self
                .limit(now, current, &self.spec.behavior.scale_down, false)
                .min(current);
            let allowed = min.max(limit);
            if desired < allowed {
                return (allowed, limit > min);
            }
        }
        (desired, false)
    }

    /// The furthest the policies let the replicas go from `current` (up or down).
    fn limit(&self, now: f64, current: u32, rules: &Rules, up: bool) -> u32 {
        let select: fn(i64, i64) -> i64 = match (rules.select, up) {
            (SelectPolicy::Disabled, _) => return current,
            (SelectPolicy::Max, true) | (SelectPolicy::Min, false) => i64::max,
            (SelectPolicy::Min, true) | (SelectPolicy::Max, false) => i64::min,
        };
        let mut result: Option<i64> = None;
        for p in &rules.policies {
            let since = now - f64::from(p.period_s);
            let changed = |events: &[(f64, u32)]| -> i64 {
                events
                    .iter()
                    .filter(|(at, _)| *at > since)
                    .map(|(_, n)| i64::from(*n))
                    .sum()
            };
            let start = i64::from(current) - changed(&self.ups) + changed(&self.downs);
            let value = i64::from(p.value);
            let proposed = match (p.kind, up) {
                (PolicyKind::Pods, true) => start + value,
                (PolicyKind::Pods, false) => start - value,
                // Rounded up going up (else a small workload never grows), truncated going down,
                // as the controller does.
                (PolicyKind::Percent, true) => {
                    (start as f64 * (1.0 + value as f64 / 100.0)).ceil() as i64
                }
                (PolicyKind::Percent, false) => {
                    (start as f64 * (1.0 - value as f64 / 100.0)) as i64
                }
            };
            result = Some(result.map_or(proposed, |r| select(r, proposed)));
        }
        result.map_or(current, |r| r.clamp(0, i64::from(u32::MAX)) as u32)
    }

    fn store_change(&mut self, now: f64, current: u32, desired: u32) {
        let longest = |r: &Rules| r.policies.iter().map(|p| p.period_s).max().unwrap_or(0);
        let keep = now
            - f64::from(
                longest(&self.spec.behavior.scale_up).max(longest(&self.spec.behavior.scale_down)),
            );
        self.ups.retain(|(at, _)| *at > keep);
        self.downs.retain(|(at, _)| *at > keep);
        if desired > current {
            self.ups.push((now, desired - current));
        } else if desired < current {
            self.downs.push((now, current - desired));
        }
    }
}

fn average(values: &[f64]) -> Option<f64> {
    (!values.is_empty()).then(|| values.iter().sum::<f64>() / values.len() as f64)
}

/// The replica count the CPU metric asks for (`computeReplicasForMetric` for a resource
/// utilisation target), before clamping, stabilisation and policies.
pub fn replicas_for_cpu(current: u32, seen: &Observation, target_pct: f64) -> u32 {
    let ready = &seen.ready_utilization_pct;
    let Some(avg) = average(ready) else {
        // No metric at all: the controller changes nothing.
        return current;
    };
    let ratio = avg / target_pct;
    if (ratio - 1.0).abs() <= TOLERANCE {
        return current;
    }
    if ratio > 1.0 && seen.unready > 0 {
        // Scaling up: replicas still starting are taken to use nothing.
        let all = ready.len() as f64 + f64::from(seen.unready);
        let new_ratio = ready.iter().sum::<f64>() / all / target_pct;
        if (new_ratio - 1.0).abs() <= TOLERANCE || new_ratio < 1.0 {
            return current;
        }
        return (new_ratio * all).ceil() as u32;
    }
    (ratio * ready.len() as f64).ceil() as u32
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(min: u32, max: u32, behavior: Behavior) -> HpaSpec {
        HpaSpec {
            min_replicas: min,
            max_replicas: max,
            target_utilization_pct: 50.0,
            behavior,
        }
    }

    fn seen(util: &[f64]) -> Observation {
        Observation {
            ready_utilization_pct: util.to_vec(),
            unready: 0,
        }
    }

    #[test]
    fn the_documented_ratio_rule_with_its_tolerance() {
        // "200m current, 100m desired: doubled; 50m: halved; 1.062 within 10%: unchanged".
        assert_eq!(replicas_for_cpu(3, &seen(&[100.0, 100.0, 100.0]), 50.0), 6);
        assert_eq!(replicas_for_cpu(4, &seen(&[25.0; 4]), 50.0), 2);
        assert_eq!(replicas_for_cpu(4, &seen(&[53.1; 4]), 50.0), 4);
        assert_eq!(
            replicas_for_cpu(4, &seen(&[45.0; 4]), 50.0),
            4,
            "exactly 10% off"
        );
        // ceil(1 × 88 / 50) = 2; ceil(3 × 61 / 50) = ceil(3.66) = 4.
        assert_eq!(replicas_for_cpu(1, &seen(&[88.0]), 50.0), 2);
        assert_eq!(replicas_for_cpu(3, &seen(&[61.0; 3]), 50.0), 4);
        // No metric: no change.
        assert_eq!(replicas_for_cpu(3, &seen(&[]), 50.0), 3);
    }

    #[test]
    fn replicas_still_starting_count_as_idle_when_scaling_up() {
        // 2 ready at 100% and 2 starting: (200 / 4) / 50 = 1.0, within tolerance: no scale-up.
        let s = Observation {
            ready_utilization_pct: vec![100.0, 100.0],
            unready: 2,
        };
        assert_eq!(replicas_for_cpu(4, &s, 50.0), 4);
        // 2 ready at 150%, 1 starting: 300 / 3 / 50 = 2.0 → ceil(2.0 × 3) = 6.
        let s = Observation {
            ready_utilization_pct: vec![150.0, 150.0],
            unready: 1,
        };
        assert_eq!(replicas_for_cpu(3, &s, 50.0), 6);
        // Scaling down ignores them: 2 ready at 10% → ceil(0.2 × 2) = 1.
        let s = Observation {
            ready_utilization_pct: vec![10.0, 10.0],
            unready: 1,
        };
        assert_eq!(replicas_for_cpu(3, &s, 50.0), 1);
    }

    #[test]
    fn default_scale_up_is_double_or_four_pods_per_15_seconds() {
        let mut a = Autoscaler::new(spec(1, 20, Behavior::default()));
        // 1 replica at 500%: the metric wants 10; max(1 + 4, ceil(1 × 2)) = 5.
        let d = a.sync(0.0, 1, &seen(&[500.0]));
        assert_eq!((d.recommended, d.desired), (10, 5));
        assert_eq!(d.limited_by, Some("scaling policy"));
        // 15 s later the period has passed: from 5, max(9, 10) = 10.
        let d = a.sync(15.0, 5, &seen(&[100.0; 5]));
        assert_eq!((d.recommended, d.desired), (10, 10));
        // Within the period of a change nothing more is allowed: 10 added in the last 15 s.
        let d = a.sync(20.0, 10, &seen(&[100.0; 10]));
        assert_eq!((d.recommended, d.desired), (20, 10));
    }

    #[test]
    fn scale_down_waits_for_the_highest_recommendation_of_its_window() {
        let mut b = Behavior::default();
        b.scale_down.stabilization_s = 60;
        let mut a = Autoscaler::new(spec(1, 10, b));
        assert_eq!(a.sync(0.0, 4, &seen(&[50.0; 4])).desired, 4);
        // Load falls: the metric wants 1, but 4 was recommended within 60 s.
        let d = a.sync(15.0, 4, &seen(&[10.0; 4]));
        assert_eq!((d.recommended, d.desired), (1, 4));
        assert_eq!(d.limited_by, Some("stabilization window"));
        let d = a.sync(45.0, 4, &seen(&[30.0; 4]));
        assert_eq!((d.recommended, d.desired), (3, 4));
        // At 61 s the 4 of t=0 has left the window; the highest left is 3 (t=45).
        let d = a.sync(61.0, 4, &seen(&[10.0; 4]));
        assert_eq!((d.recommended, d.desired), (1, 3));
        // At 106 s only 1s remain (t=61, t=106).
        assert_eq!(a.sync(106.0, 3, &seen(&[10.0; 3])).desired, 1);
    }

    #[test]
    fn the_documented_scale_down_policies_80_replicas_down_to_10() {
        // behavior.scaleDown: Pods 4 / 60 s and Percent 10 / 60 s, selectPolicy Max (the
        // policy allowing the largest change): 80 → 72 (10% = 8 > 4); within the minute no
        // more; then 72 → 64 (7.2 → truncated to 64 replicas).
        let mut b = Behavior {
            scale_down: Rules {
                stabilization_s: 0,
                select: SelectPolicy::Max,
                policies: vec![
                    Policy {
                        kind: PolicyKind::Pods,
                        value: 4,
                        period_s: 60,
                    },
                    Policy {
                        kind: PolicyKind::Percent,
                        value: 10,
                        period_s: 60,
                    },
                ],
            },
            ..Behavior::default()
        };
        let mut a = Autoscaler::new(spec(1, 100, b.clone()));
        let low = |n: u32| seen(&vec![5.0; n as usize]);
        assert_eq!(a.sync(0.0, 80, &low(80)).desired, 72);
        assert_eq!(a.sync(30.0, 72, &low(72)).desired, 72);
        assert_eq!(a.sync(61.0, 72, &low(72)).desired, 64);
        // selectPolicy Min: the smallest change, 4 pods.
        b.scale_down.select = SelectPolicy::Min;
        let mut a = Autoscaler::new(spec(1, 100, b.clone()));
        assert_eq!(a.sync(0.0, 80, &low(80)).desired, 76);
        // Disabled: never down.
        b.scale_down.select = SelectPolicy::Disabled;
        let mut a = Autoscaler::new(spec(1, 100, b));
        let d = a.sync(0.0, 80, &low(80));
        assert_eq!((d.recommended, d.desired), (8, 80));
    }

    #[test]
    fn min_and_max_bound_every_decision() {
        let mut a = Autoscaler::new(spec(2, 4, Behavior::default()));
        let d = a.sync(0.0, 2, &seen(&[400.0, 400.0]));
        assert_eq!((d.recommended, d.desired), (16, 4));
        assert_eq!(d.limited_by, Some("minReplicas..maxReplicas"));
        let mut a = Autoscaler::new(spec(2, 4, Behavior::default()));
        let d = a.sync(0.0, 1, &seen(&[10.0]));
        assert_eq!(d.desired, 2, "below minReplicas: raised at once");
        let d = a.sync(0.0, 0, &seen(&[]));
        assert_eq!(d.desired, 0, "scaled to zero by hand: left alone");
    }
}
