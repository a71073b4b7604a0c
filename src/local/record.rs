//! What the run directory records of the local workload, as it would of a watched
//! Deployment and its HPA: the containers' requests and limits, the HPA's bounds, target and
//! behavior, the source labelled `local`.

use crate::config::LocalOptions;
use crate::timeline::{ClusterRecord, ContainerRecord, WorkloadSource};
use std::collections::BTreeMap;

/// The name of the local workload, as a Deployment's.
pub const WORKLOAD: &str = "target-service";

/// `run.json`'s context of the local workload.
pub(super) fn record(o: &LocalOptions) -> ClusterRecord {
    let cpu = |m: u32| BTreeMap::from([("cpu".to_owned(), format!("{m}m"))]);
    ClusterRecord {
        source: WorkloadSource::Local,
        kube_context: None,
        server: None,
        namespace: "local".to_owned(),
        deployment: WORKLOAD.to_owned(),
        hpa: o.autoscale.then(|| WORKLOAD.to_owned()),
        selector: None,
        containers: vec![ContainerRecord {
            name: WORKLOAD.to_owned(),
            image: match &o.command {
                Some(c) => format!("your command (local processes): {}", c.command),
                None => format!(
                    "scaleproof replica (local process, work factor {})",
                    o.work_factor
                ),
            },
            requests: cpu(o.cpu_request_m),
            limits: cpu(o.cpu_limit_m),
        }],
        hpa_min_replicas: Some(u64::from(o.hpa.min_replicas)),
        hpa_max_replicas: Some(u64::from(o.hpa.max_replicas)),
        hpa_metric_targets: if o.autoscale {
            serde_json::json!([{
                "type": "Resource",
                "resource": {"name": "cpu", "target": {"type": "Utilization", "averageUtilization": o.hpa.target_utilization_pct.round() as u64}}
            }])
        } else {
            serde_json::Value::Null
        },
        hpa_behavior: if o.autoscale {
            serde_json::to_value(&o.hpa.behavior).unwrap_or_default()
        } else {
            serde_json::Value::Null
        },
        ..ClusterRecord::default()
    }
}
