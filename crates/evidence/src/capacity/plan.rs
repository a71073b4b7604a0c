//! From one replica's knee to a plan for the target rate: how many replicas, which HPA CPU
//! target makes the autoscaler act before a pod reaches its knee, the `autoscaling/v2`
//! HorizontalPodAutoscaler to apply, and every assumption stated.

use serde::{Deserialize, Serialize};

/// What the plan starts from.
#[derive(Debug, Clone, PartialEq)]
pub struct PlanInputs {
    pub target_rps: f64,
    /// The highest rate one replica held the SLO at.
    pub knee_rps: f64,
    /// Its CPU at the knee, millicores (`None`: not measured).
    pub knee_cpu_m: Option<f64>,
    /// Its CPU request, millicores (the base of the HPA's utilisation; `None`: unknown).
    pub cpu_request_m: Option<f64>,
    /// Share of the knee a replica is planned to carry (0–1].
    pub headroom: f64,
    /// From start to first ready probe, seconds (`None`: not measured).
    pub startup_s: Option<f64>,
    /// The HPA's sync period, seconds (15 s: kube-controller-manager's default).
    pub sync_period_s: f64,
    /// The verification ramp: from 0 to the target over this many seconds.
    pub ramp_s: f64,
    /// The Deployment (and HPA) name.
    pub deployment: String,
}

/// The plan (`capacity.json` → `plan`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Plan {
    pub target_rps: f64,
    /// ⌈target ÷ (knee × headroom)⌉.
    pub replicas_for_target: u32,
    pub headroom: f64,
    pub min_replicas: u32,
    pub max_replicas: u32,
    /// The HPA's `averageUtilization`, percent of the CPU request (`None`: the CPU at the knee
    /// or the request is unknown, so no CPU target can be derived).
    pub hpa_target_pct: Option<u32>,
    /// CPU at the knee, percent of the request.
    pub knee_utilization_pct: Option<f64>,
    /// The growth expected while one new pod comes up, relative to one pod's knee rate.
    pub growth: f64,
    /// The safety buffer kept below the knee's CPU: 1 − headroom.
    pub buffer: f64,
    /// Seconds from the HPA's decision to a new pod serving that the growth covers.
    pub reaction_s: f64,
    /// The HorizontalPodAutoscaler, ready to apply (`None` when no CPU target is known).
    pub hpa_yaml: Option<String>,
    /// Every assumption behind the numbers, one line each.
    pub assumptions: Vec<String>,
}

/// The HPA acts only when utilisation is more than this share off its target.
pub const HPA_TOLERANCE: f64 = 0.10;
/// Below this CPU at the knee (percent of the request), CPU is not what limits the replica.
pub const NOT_CPU_BOUND_PCT: f64 = 50.0;
/// A pod's start-up when it was not measured.
const STARTUP_UNKNOWN_S: f64 = 10.0;

/// Plans for `i.target_rps`.
pub fn plan(i: &PlanInputs) -> Plan {
    let per_replica = i.knee_rps * i.headroom;
    let replicas = if per_replica > 0.0 {
        (i.target_rps / per_replica).ceil().max(1.0) as u32
    } else {
        u32::MAX
    };
    let startup = i.startup_s.unwrap_or(STARTUP_UNKNOWN_S);
    let reaction_s = i.sync_period_s + startup;
    let ramp = i.target_rps / i.ramp_s.max(1.0);
    let growth = if i.knee_rps > 0.0 {
        ramp * reaction_s / i.knee_rps
    } else {
        0.0
    };
    let knee_utilization_pct = match (i.knee_cpu_m, i.cpu_request_m) {
        (Some(cpu), Some(req)) if req > 0.0 => Some(100.0 * cpu / req),
        _ => None,
    };
    // GKE's (1 − buffer) ÷ (1 + growth) of the knee's CPU, the buffer being what the headroom
    // keeps: a pod is to carry its planned share, not its knee. Above 100% is right when the
    // limit is above the request (utilisation is of the request).
    let buffer = 1.0 - i.headroom;
    let hpa_target_pct = knee_utilization_pct
        .map(|u| (u * (1.0 - buffer) / (1.0 + growth)).round().max(10.0) as u32);
    let min_replicas = 1;
    let max_replicas = replicas.saturating_add(1);
    let mut assumptions = vec![
        format!(
            "one replica holds the SLO up to {:.0} rps (the knee measured); planned at {:.0}% of it ({:.0} rps per replica)",
            i.knee_rps,
            100.0 * i.headroom,
            per_replica
        ),
        format!(
            "replicas scale linearly: {} × {per_replica:.0} rps ≥ {:.0} rps (measure --replicas 1,2,4 to check)",
            replicas, i.target_rps
        ),
        format!(
            "maxReplicas = the replicas for the target + 1 spare; minReplicas = {min_replicas}"
        ),
    ];
    if let Some(u) = knee_utilization_pct.filter(|u| *u < NOT_CPU_BOUND_PCT) {
        assumptions.push(format!(
            "CPU at the knee is only {u:.0}% of the request: something other than CPU limits this replica (a pool, a lock, I/O), so a CPU target sees its knee late or never — scale on a request-rate metric, or size the request to the CPU it uses"
        ));
    }
    match knee_utilization_pct {
        Some(u) => assumptions.push(format!(
            "CPU at the knee is {u:.0}% of the request, and CPU grows in proportion to the rate; the HPA target is that × headroom {:.2} ÷ (1 + growth), growth = ramp × reaction ÷ knee = {ramp:.1} rps/s × {reaction_s:.0} s ÷ {:.0} rps = {growth:.2} (GKE's (1 − buffer) ÷ (1 + growth), the buffer 1 − headroom), at least 10%",
            i.headroom,
            i.knee_rps
        )),
        None => assumptions.push(
            "CPU at the knee or the CPU request is unknown: no CPU target is derived (set the request, or measure local replicas)".to_owned(),
        ),
    }
    assumptions.push(format!(
        "reaction = the HPA's sync period {:.0} s + a pod's start-up {startup:.2} s{}",
        i.sync_period_s,
        if i.startup_s.is_some() {
            " (measured)"
        } else {
            " (not measured: assumed)"
        }
    ));
    assumptions.push(format!(
        "the load ramps from 0 to {:.0} rps over {:.0} s, as the verification command does",
        i.target_rps, i.ramp_s
    ));
    // The HPA ignores a ratio within its tolerance: at the target rate on one pod fewer than
    // planned, utilisation must be past the target by more than that, or it stops short.
    if let (Some(u), Some(t)) = (knee_utilization_pct, hpa_target_pct)
        && replicas > 1
    {
        let short = u * i.target_rps / (f64::from(replicas - 1) * i.knee_rps);
        if short <= f64::from(t) * (1.0 + HPA_TOLERANCE) {
            assumptions.push(format!(
                "at {:.0} rps on {} pods their CPU would be {short:.0}%, within the HPA's 10% tolerance of the {t}% target: it may stop at {} — lower the target or the headroom",
                i.target_rps,
                replicas - 1,
                replicas - 1
            ));
        }
    }
    let hpa_yaml = hpa_target_pct.map(|t| hpa_yaml(&i.deployment, min_replicas, max_replicas, t));
    Plan {
        target_rps: i.target_rps,
        replicas_for_target: replicas,
        headroom: i.headroom,
        min_replicas,
        max_replicas,
        hpa_target_pct,
        knee_utilization_pct,
        growth,
        buffer,
        reaction_s,
        hpa_yaml,
        assumptions,
    }
}

/// An `autoscaling/v2` HorizontalPodAutoscaler on CPU for Deployment `name`.
pub fn hpa_yaml(name: &str, min: u32, max: u32, target_pct: u32) -> String {
    format!(
        "apiVersion: autoscaling/v2
kind: HorizontalPodAutoscaler
metadata:
  name: {name}
spec:
  scaleTargetRef:
    apiVersion: apps/v1
    kind: Deployment
    name: {name}
  minReplicas: {min}
  maxReplicas: {max}
  metrics:
    - type: Resource
      resource:
        name: cpu
        target:
          type: Utilization
          averageUtilization: {target_pct}
  behavior:
    scaleUp:
      stabilizationWindowSeconds: 0
"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn inputs() -> PlanInputs {
        PlanInputs {
            target_rps: 1000.0,
            knee_rps: 180.0,
            knee_cpu_m: Some(450.0),
            cpu_request_m: Some(500.0),
            headroom: 0.7,
            startup_s: Some(2.0),
            sync_period_s: 15.0,
            ramp_s: 60.0,
            deployment: "web".to_owned(),
        }
    }

    #[test]
    fn replicas_are_the_target_over_the_knee_with_headroom_rounded_up() {
        let p = plan(&inputs());
        // 1000 ÷ (180 × 0.7 = 126) = 7.94 → 8.
        assert_eq!(p.replicas_for_target, 8);
        assert_eq!((p.min_replicas, p.max_replicas), (1, 9));
        let exact = plan(&PlanInputs {
            knee_rps: 1000.0 / 0.7 / 4.0,
            ..inputs()
        });
        assert_eq!(exact.replicas_for_target, 4);
    }

    #[test]
    fn the_hpa_target_leaves_room_for_the_growth_during_a_pods_start() {
        let p = plan(&inputs());
        // Knee at 90% of the request; ramp 16.7 rps/s × (15 + 2) s ÷ 180 rps = 1.574;
        // 90 × headroom 0.7 ÷ 2.574 = 24.5 → 24.
        assert!((p.growth - 1000.0 / 60.0 * 17.0 / 180.0).abs() < 1e-9);
        assert_eq!(p.knee_utilization_pct, Some(90.0));
        assert_eq!(p.hpa_target_pct, Some(24));
        assert!((p.buffer - 0.3).abs() < 1e-12);
        let yaml = p.hpa_yaml.expect("yaml");
        assert!(yaml.contains("averageUtilization: 24\n"), "{yaml}");
        assert!(yaml.contains("maxReplicas: 9\n") && yaml.contains("name: web\n"));
        // A slow ramp needs less margin: 90 × 0.7 ÷ (1 + 0.026) = 61.4.
        let slow = plan(&PlanInputs {
            ramp_s: 3600.0,
            ..inputs()
        });
        assert_eq!(slow.hpa_target_pct, Some(61), "{slow:?}");
        // Utilisation is of the request: a knee above it plans a target above 100%.
        let over = plan(&PlanInputs {
            knee_cpu_m: Some(800.0),
            cpu_request_m: Some(200.0),
            ramp_s: 3600.0,
            ..inputs()
        });
        assert_eq!(
            over.hpa_target_pct,
            Some(273),
            "400 × 0.7 ÷ 1.026: {over:?}"
        );
    }

    #[test]
    fn a_target_within_the_hpas_tolerance_of_one_pod_fewer_is_flagged() {
        // Knee 1100 rps at 201% of the request, headroom 0.7 (770 rps a pod), no growth:
        // the target is 141%.
        let base = PlanInputs {
            knee_rps: 1100.0,
            knee_cpu_m: Some(402.0),
            cpu_request_m: Some(200.0),
            ramp_s: 1e9,
            ..inputs()
        };
        let tolerance = |p: &Plan| p.assumptions.iter().any(|a| a.contains("tolerance"));
        // 1000 rps → 2 pods; on one pod it is 183%, 1.30 × the target: the HPA scales.
        let p = plan(&base);
        assert_eq!((p.replicas_for_target, p.hpa_target_pct), (2, Some(141)));
        assert!(!tolerance(&p), "{p:?}");
        // 1617 rps (2.1 pods' worth) → 3 pods; on two it is 148%, within 10% of 141%.
        let p = plan(&PlanInputs {
            target_rps: 1617.0,
            ..base
        });
        assert_eq!((p.replicas_for_target, p.hpa_target_pct), (3, Some(141)));
        assert!(tolerance(&p), "{p:?}");
    }

    #[test]
    fn unknown_cpu_gives_no_cpu_target_and_says_so() {
        let p = plan(&PlanInputs {
            knee_cpu_m: None,
            ..inputs()
        });
        assert_eq!((p.hpa_target_pct, p.hpa_yaml.as_deref()), (None, None));
        assert!(p.assumptions.iter().any(|a| a.contains("no CPU target")));
    }
}
