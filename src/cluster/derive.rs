//! Pure functions from Kubernetes objects to what the run directory records: replica counts,
//! pod phases, HPA metrics, the cluster context and scale events. No I/O here.

use crate::timeline::{ClusterSample, ContainerRecord, EventRow};
use k8s_openapi::api::apps::v1::{Deployment, DeploymentStatus};
use k8s_openapi::api::autoscaling::v2::{HorizontalPodAutoscaler, MetricStatus};
use k8s_openapi::api::core::v1::{Event, Pod};
use std::collections::{BTreeMap, HashMap, HashSet};

fn count(v: Option<i32>) -> Option<u64> {
    v.and_then(|v| u64::try_from(v).ok())
}

/// Sets the Deployment columns (all unknown when there is no Deployment).
pub fn deployment_columns(sample: &mut ClusterSample, d: Option<&Deployment>) {
    let status = d.map(|d| d.status.as_ref());
    // Kubernetes omits zero counts from the status; with a Deployment present, absent is 0.
    let known = |field: fn(&DeploymentStatus) -> Option<i32>| {
        status.map(|s| count(s.and_then(field)).unwrap_or(0))
    };
    sample.deploy_spec_replicas =
        d.map(|d| count(d.spec.as_ref().and_then(|s| s.replicas)).unwrap_or(1));
    sample.deploy_replicas = known(|s| s.replicas);
    sample.deploy_updated = known(|s| s.updated_replicas);
    sample.deploy_ready = known(|s| s.ready_replicas);
    sample.deploy_available = known(|s| s.available_replicas);
}

/// Sets the HPA columns (all unknown when there is no HPA or it has no status yet).
pub fn hpa_columns(sample: &mut ClusterSample, h: Option<&HorizontalPodAutoscaler>) {
    let status = h.and_then(|h| h.status.as_ref());
    sample.hpa_desired = status.and_then(|s| count(Some(s.desired_replicas)));
    sample.hpa_current = status.map(|s| count(s.current_replicas).unwrap_or(0));
    let metrics = status
        .and_then(|s| s.current_metrics.as_deref())
        .unwrap_or(&[]);
    sample.hpa_cpu_pct = metrics.iter().find_map(|m| {
        let r = m.resource.as_ref()?;
        (r.name == "cpu")
            .then(|| count(r.current.average_utilization))
            .flatten()
    });
    let text: Vec<String> = metrics.iter().filter_map(metric_text).collect();
    sample.hpa_metrics = (!text.is_empty()).then(|| text.join(";"));
}

/// `cpu=85%`, `memory=120Mi`, `pods/http_requests=90`, `object/requests=1k`,
/// `external/queue_depth=12`, `container/app/cpu=70%`.
fn metric_text(m: &MetricStatus) -> Option<String> {
    let value = |v: &k8s_openapi::api::autoscaling::v2::MetricValueStatus| {
        if let Some(pct) = v.average_utilization {
            Some(format!("{pct}%"))
        } else {
            v.average_value
                .as_ref()
                .or(v.value.as_ref())
                .map(|q| q.0.clone())
        }
    };
    if let Some(r) = &m.resource {
        return Some(format!("{}={}", r.name, value(&r.current)?));
    }
    if let Some(p) = &m.pods {
        return Some(format!("pods/{}={}", p.metric.name, value(&p.current)?));
    }
    if let Some(o) = &m.object {
        return Some(format!("object/{}={}", o.metric.name, value(&o.current)?));
    }
    if let Some(e) = &m.external {
        return Some(format!("external/{}={}", e.metric.name, value(&e.current)?));
    }
    if let Some(c) = &m.container_resource {
        return Some(format!(
            "container/{}/{}={}",
            c.container,
            c.name,
            value(&c.current)?
        ));
    }
    None
}

/// Why an HPA cannot scale, from its conditions: `AbleToScale` or `ScalingActive` false (the
/// classic: no metrics-server, so no CPU utilisation to act on). `None` when it can.
pub fn hpa_blocked(h: &HorizontalPodAutoscaler) -> Option<String> {
    let conditions = h.status.as_ref()?.conditions.as_ref()?;
    let blocked = conditions.iter().find(|c| {
        matches!(c.type_.as_str(), "AbleToScale" | "ScalingActive") && c.status == "False"
    })?;
    let reason = blocked.reason.as_deref().unwrap_or("unknown reason");
    let hint = if reason.starts_with("FailedGet") {
        " (is metrics-server installed and the pods' CPU requests set?)"
    } else {
        ""
    };
    Some(format!(
        "HorizontalPodAutoscaler {} cannot scale: {} is False: {reason}: {}{hint}",
        h.metadata.name.as_deref().unwrap_or("?"),
        blocked.type_,
        blocked.message.as_deref().unwrap_or("")
    ))
}

/// Sets the pod columns from the pods matching the Deployment's selector (`None`: unknown).
pub fn pod_columns<'a>(
    sample: &mut ClusterSample,
    pods: Option<impl IntoIterator<Item = &'a Pod>>,
) {
    let Some(pods) = pods else {
        sample.pods_pending = None;
        sample.pods_running = None;
        sample.pods_succeeded = None;
        sample.pods_failed = None;
        sample.pods_ready = None;
        sample.pods_terminating = None;
        return;
    };
    let (mut pending, mut running, mut succeeded, mut failed, mut ready, mut terminating) =
        (0, 0, 0, 0, 0, 0);
    for pod in pods {
        if pod.metadata.deletion_timestamp.is_some() {
            terminating += 1;
            continue;
        }
        let status = pod.status.as_ref();
        match status.and_then(|s| s.phase.as_deref()) {
            Some("Running") => running += 1,
            Some("Succeeded") => succeeded += 1,
            Some("Failed") => failed += 1,
            // A pod just created has no phase yet: it is pending.
            _ => pending += 1,
        }
        let is_ready = status
            .and_then(|s| s.conditions.as_ref())
            .is_some_and(|c| c.iter().any(|c| c.type_ == "Ready" && c.status == "True"));
        if is_ready {
            ready += 1;
        }
    }
    sample.pods_pending = Some(pending);
    sample.pods_running = Some(running);
    sample.pods_succeeded = Some(succeeded);
    sample.pods_failed = Some(failed);
    sample.pods_ready = Some(ready);
    sample.pods_terminating = Some(terminating);
}

/// The HPA that scales `deployment`: the one named `hpa` if given, else the first whose
/// `scaleTargetRef` is the Deployment.
pub fn find_hpa<'a>(
    hpas: impl IntoIterator<Item = &'a HorizontalPodAutoscaler>,
    deployment: &str,
    hpa: Option<&str>,
) -> Option<&'a HorizontalPodAutoscaler> {
    let mut hpas: Vec<_> = hpas.into_iter().collect();
    hpas.sort_by(|a, b| a.metadata.name.cmp(&b.metadata.name));
    hpas.into_iter().find(|h| match hpa {
        Some(name) => h.metadata.name.as_deref() == Some(name),
        None => h.spec.as_ref().is_some_and(|s| {
            s.scale_target_ref.kind == "Deployment" && s.scale_target_ref.name == deployment
        }),
    })
}

/// The containers of the Deployment's pod template, with image and resources.
pub fn containers(d: &Deployment) -> Vec<ContainerRecord> {
    let quantities =
        |m: Option<&BTreeMap<String, k8s_openapi::apimachinery::pkg::api::resource::Quantity>>| {
            m.map(|m| m.iter().map(|(k, v)| (k.clone(), v.0.clone())).collect())
                .unwrap_or_default()
        };
    d.spec
        .as_ref()
        .and_then(|s| s.template.spec.as_ref())
        .map(|p| {
            p.containers
                .iter()
                .map(|c| ContainerRecord {
                    name: c.name.clone(),
                    image: c.image.clone().unwrap_or_default(),
                    requests: quantities(c.resources.as_ref().and_then(|r| r.requests.as_ref())),
                    limits: quantities(c.resources.as_ref().and_then(|r| r.limits.as_ref())),
                })
                .collect()
        })
        .unwrap_or_default()
}

/// Which events are about the watched workload: the Deployment, its HPA, and the ReplicaSets
/// and Pods it owns. Ownership is known from the watched pods (matched by the Deployment's
/// selector) and their `ownerReferences`; for a pod or ReplicaSet not seen (yet), the name
/// must have the exact shape the Deployment controller generates — `<deployment>-<hash>` for a
/// ReplicaSet, `<deployment>-<hash>-<suffix>` for a pod — so Deployment `web-api`'s
/// `web-api-7d9f-x2x` is never taken for one of `web`'s.
#[derive(Debug, Clone, Default)]
pub struct EventFilter {
    pub deployment: String,
    /// The HPA's name once known.
    pub hpa: Option<String>,
    /// Pods seen through the selector, and the ReplicaSets that own them.
    pods: HashSet<String>,
    replica_sets: HashSet<String>,
}

impl EventFilter {
    pub fn new(deployment: String, hpa: Option<String>) -> Self {
        Self {
            deployment,
            hpa,
            pods: HashSet::new(),
            replica_sets: HashSet::new(),
        }
    }

    /// Learns the pods the Deployment's selector matches and their owning ReplicaSets.
    pub fn learn<'a>(&mut self, pods: impl Iterator<Item = &'a Pod>) {
        // Looked up before inserted: the same pods come back on every update.
        let remember = |set: &mut HashSet<String>, name: &String| {
            if !set.contains(name.as_str()) {
                set.insert(name.clone());
            }
        };
        for pod in pods {
            if let Some(name) = &pod.metadata.name {
                remember(&mut self.pods, name);
            }
            for owner in pod.metadata.owner_references.iter().flatten() {
                if owner.kind == "ReplicaSet" {
                    remember(&mut self.replica_sets, &owner.name);
                }
            }
        }
    }

    /// True when `name` is `<deployment>-` followed by exactly `segments` generated parts.
    fn generated(&self, name: &str, segments: usize) -> bool {
        name.strip_prefix(self.deployment.as_str())
            .and_then(|rest| rest.strip_prefix('-'))
            .is_some_and(|rest| {
                let parts: Vec<&str> = rest.split('-').collect();
                parts.len() == segments
                    && parts
                        .iter()
                        .all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_alphanumeric()))
            })
    }

    pub fn matches(&self, e: &Event) -> bool {
        let o = &e.involved_object;
        let (Some(kind), Some(name)) = (o.kind.as_deref(), o.name.as_deref()) else {
            return false;
        };
        match kind {
            "Deployment" => name == self.deployment,
            "HorizontalPodAutoscaler" => Some(name) == self.hpa.as_deref(),
            "ReplicaSet" => self.replica_sets.contains(name) || self.generated(name, 1),
            "Pod" => self.pods.contains(name) || self.generated(name, 2),
            _ => false,
        }
    }
}

/// Remembers which event occurrences have been seen, so that a re-list (which replays every
/// event) records nothing twice and events from before the run are never recorded.
///
/// Kubernetes aggregates repeats of an event into one object with a growing `count` (or
/// `series.count`); an occurrence is new when its object is new or its count grew.
#[derive(Debug, Default)]
pub struct EventDedup {
    seen: HashMap<String, u64>,
}

impl EventDedup {
    /// Marks `e` as seen; true when it is an occurrence not seen before.
    pub fn observe(&mut self, e: &Event) -> bool {
        let key = e
            .metadata
            .uid
            .clone()
            .or_else(|| e.metadata.name.clone())
            .unwrap_or_default();
        let n = occurrences(e);
        match self.seen.get(&key) {
            Some(&seen) if seen >= n => false,
            _ => {
                self.seen.insert(key, n);
                true
            }
        }
    }
}

fn occurrences(e: &Event) -> u64 {
    e.series
        .as_ref()
        .and_then(|s| count(s.count))
        .or_else(|| count(e.count))
        .unwrap_or(1)
        .max(1)
}

/// The `events.csv` row of `e`, received `t_s` seconds into the run.
pub fn event_row(e: &Event, t_s: f64) -> EventRow {
    let time = e
        .series
        .as_ref()
        .and_then(|s| s.last_observed_time.as_ref().map(|t| t.0.to_string()))
        .or_else(|| e.last_timestamp.as_ref().map(|t| t.0.to_string()))
        .or_else(|| e.event_time.as_ref().map(|t| t.0.to_string()))
        .or_else(|| e.first_timestamp.as_ref().map(|t| t.0.to_string()))
        .unwrap_or_default();
    let o = &e.involved_object;
    EventRow {
        t_s,
        time,
        object: format!(
            "{}/{}",
            o.kind.as_deref().unwrap_or("?"),
            o.name.as_deref().unwrap_or("?")
        ),
        reason: e.reason.clone().unwrap_or_default(),
        kind: e.type_.clone().unwrap_or_default(),
        count: occurrences(e),
        message: e.message.clone().unwrap_or_default(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn from<T: serde::de::DeserializeOwned>(v: serde_json::Value) -> T {
        serde_json::from_value(v).expect("valid object")
    }

    #[test]
    fn deployment_counts_treat_omitted_status_fields_as_zero_but_no_deployment_as_unknown() {
        let d: Deployment = from(json!({
            "metadata": {"name": "web"},
            "spec": {"replicas": 3, "selector": {"matchLabels": {"app": "web"}},
                     "template": {"metadata": {"labels": {"app": "web"}}}},
            "status": {"replicas": 3, "updatedReplicas": 3, "readyReplicas": 1}
        }));
        let mut s = ClusterSample::default();
        deployment_columns(&mut s, Some(&d));
        assert_eq!(s.deploy_spec_replicas, Some(3));
        assert_eq!(s.deploy_replicas, Some(3));
        assert_eq!(s.deploy_ready, Some(1));
        assert_eq!(s.deploy_available, Some(0));
        deployment_columns(&mut s, None);
        assert_eq!(s, ClusterSample::default());
    }

    #[test]
    fn hpa_metrics_name_every_kind_and_cpu_gets_its_own_column() {
        let h: HorizontalPodAutoscaler = from(json!({
            "metadata": {"name": "web"},
            "spec": {"maxReplicas": 5, "scaleTargetRef": {"kind": "Deployment", "name": "web"}},
            "status": {"desiredReplicas": 4, "currentReplicas": 2, "currentMetrics": [
                {"type": "Resource", "resource": {"name": "cpu", "current": {"averageUtilization": 170, "averageValue": "425m"}}},
                {"type": "Resource", "resource": {"name": "memory", "current": {"averageValue": "120Mi"}}},
                {"type": "Pods", "pods": {"metric": {"name": "http_requests"}, "current": {"averageValue": "90"}}}
            ]}
        }));
        let mut s = ClusterSample::default();
        hpa_columns(&mut s, Some(&h));
        assert_eq!(s.hpa_desired, Some(4));
        assert_eq!(s.hpa_current, Some(2));
        assert_eq!(s.hpa_cpu_pct, Some(170));
        assert_eq!(
            s.hpa_metrics.as_deref(),
            Some("cpu=170%;memory=120Mi;pods/http_requests=90")
        );
        // An HPA that has not computed anything yet says nothing, not zero.
        let fresh: HorizontalPodAutoscaler = from(json!({
            "metadata": {"name": "web"},
            "spec": {"maxReplicas": 5, "scaleTargetRef": {"kind": "Deployment", "name": "web"}}
        }));
        hpa_columns(&mut s, Some(&fresh));
        assert_eq!(
            (s.hpa_desired, s.hpa_cpu_pct, s.hpa_metrics),
            (None, None, None)
        );
    }

    #[test]
    fn an_hpa_without_metrics_says_why_it_cannot_scale() {
        let h: HorizontalPodAutoscaler = from(json!({
            "metadata": {"name": "web"},
            "spec": {"maxReplicas": 5, "scaleTargetRef": {"kind": "Deployment", "name": "web"}},
            "status": {"desiredReplicas": 1, "conditions": [
                {"type": "AbleToScale", "status": "True", "reason": "SucceededGetScale"},
                {"type": "ScalingActive", "status": "False", "reason": "FailedGetResourceMetric",
                 "message": "the HPA was unable to compute the replica count: failed to get cpu utilization"}
            ]}
        }));
        let text = hpa_blocked(&h).expect("blocked");
        assert!(text.starts_with("HorizontalPodAutoscaler web cannot scale: ScalingActive is False: FailedGetResourceMetric"), "{text}");
        assert!(text.contains("metrics-server"), "{text}");
        let fine: HorizontalPodAutoscaler = from(json!({
            "metadata": {"name": "web"},
            "spec": {"maxReplicas": 5, "scaleTargetRef": {"kind": "Deployment", "name": "web"}},
            "status": {"desiredReplicas": 1, "conditions": [
                {"type": "ScalingActive", "status": "True", "reason": "ValidMetricFound"}]}
        }));
        assert_eq!(hpa_blocked(&fine), None);
    }

    #[test]
    fn pods_are_counted_by_phase_readiness_and_deletion() {
        let pods: Vec<Pod> = vec![
            from(json!({"metadata": {"name": "a"}})),
            from(json!({"metadata": {"name": "b"}, "status": {"phase": "Pending"}})),
            from(
                json!({"metadata": {"name": "c"}, "status": {"phase": "Running",
                "conditions": [{"type": "Ready", "status": "True"}]}}),
            ),
            from(
                json!({"metadata": {"name": "d"}, "status": {"phase": "Running",
                "conditions": [{"type": "Ready", "status": "False"}]}}),
            ),
            from(
                json!({"metadata": {"name": "e", "deletionTimestamp": "2026-11-26T08:00:00Z"},
                "status": {"phase": "Running", "conditions": [{"type": "Ready", "status": "True"}]}}),
            ),
            from(json!({"metadata": {"name": "f"}, "status": {"phase": "Failed"}})),
        ];
        let mut s = ClusterSample::default();
        pod_columns(&mut s, Some(&pods));
        assert_eq!(
            (
                s.pods_pending,
                s.pods_running,
                s.pods_failed,
                s.pods_ready,
                s.pods_terminating
            ),
            (Some(2), Some(2), Some(1), Some(1), Some(1))
        );
        pod_columns(&mut s, Some(&Vec::<Pod>::new()));
        assert_eq!(s.pods_running, Some(0));
        pod_columns(&mut s, None::<&Vec<Pod>>);
        assert_eq!(s.pods_running, None);
    }

    #[test]
    fn the_hpa_is_found_by_name_or_by_its_scale_target() {
        let hpa = |name: &str, target: &str| -> HorizontalPodAutoscaler {
            from(
                json!({"metadata": {"name": name}, "spec": {"maxReplicas": 3,
                "scaleTargetRef": {"kind": "Deployment", "name": target, "apiVersion": "apps/v1"}}}),
            )
        };
        let all = [hpa("other", "other"), hpa("web-hpa", "web")];
        let found = |d, h| find_hpa(&all, d, h).and_then(|h| h.metadata.name.clone());
        assert_eq!(found("web", None).as_deref(), Some("web-hpa"));
        assert_eq!(found("web", Some("other")).as_deref(), Some("other"));
        assert_eq!(found("api", None), None);
    }

    #[test]
    fn events_are_kept_for_the_workload_only_and_each_occurrence_once() {
        let ev = |uid: &str, kind: &str, name: &str, count: i32| -> Event {
            from(
                json!({"metadata": {"name": format!("{name}.{uid}"), "uid": uid},
                "involvedObject": {"kind": kind, "name": name},
                "reason": "ScalingReplicaSet", "type": "Normal", "count": count,
                "message": "Scaled up", "lastTimestamp": "2026-11-26T08:00:01Z"}),
            )
        };
        let mut filter = EventFilter::new("web".into(), Some("web".into()));
        assert!(filter.matches(&ev("1", "Deployment", "web", 1)));
        assert!(filter.matches(&ev("2", "ReplicaSet", "web-7d9f", 1)));
        assert!(filter.matches(&ev("3", "Pod", "web-7d9f-x2x", 1)));
        assert!(filter.matches(&ev("4", "HorizontalPodAutoscaler", "web", 1)));
        assert!(!filter.matches(&ev("5", "Deployment", "webapp", 1)));
        assert!(!filter.matches(&ev("6", "Pod", "webapp-1", 1)));
        assert!(!filter.matches(&ev("7", "Node", "web", 1)));
        // Deployment web-api's ReplicaSet and pods are not web's.
        assert!(!filter.matches(&ev("8", "ReplicaSet", "web-api-5c6b", 1)));
        assert!(!filter.matches(&ev("9", "Pod", "web-api-5c6b-k2p", 1)));
        // A pod the selector matched is web's whatever its name, and so is its ReplicaSet.
        let pod: Pod = from(
            json!({"metadata": {"name": "custom-name", "ownerReferences": [
            {"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": "hand-made-rs", "uid": "u1"}]}}),
        );
        assert!(!filter.matches(&ev("11", "Pod", "custom-name", 1)));
        filter.learn(std::iter::once(&pod));
        assert!(filter.matches(&ev("11", "Pod", "custom-name", 1)));
        assert!(filter.matches(&ev("12", "ReplicaSet", "hand-made-rs", 1)));

        let mut dedup = EventDedup::default();
        assert!(dedup.observe(&ev("1", "Deployment", "web", 1)));
        assert!(
            !dedup.observe(&ev("1", "Deployment", "web", 1)),
            "a re-list replays it"
        );
        assert!(
            dedup.observe(&ev("1", "Deployment", "web", 2)),
            "it happened again"
        );
        assert!(!dedup.observe(&ev("1", "Deployment", "web", 2)));
        let row = event_row(&ev("1", "Deployment", "web", 2), 3.25);
        assert_eq!(row.object, "Deployment/web");
        assert_eq!(row.count, 2);
        assert_eq!(row.time, "2026-11-26T08:00:01Z");
        assert!(row.is_scale_event());
    }
}
