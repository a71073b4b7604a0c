//! Each watched pod's lifecycle, from its own fields (creation and condition transition times,
//! on the API server's clock) and from when the watcher saw it change (in an EndpointSlice,
//! terminating, deleted). Pure functions; the watch loop calls them after every item.

use crate::timeline::{PodRow, round_ms};
use k8s_openapi::api::core::v1::Pod;
use k8s_openapi::api::discovery::v1::EndpointSlice;
use std::collections::{BTreeMap, BTreeSet};
use std::time::{Instant, SystemTime};

/// The label an EndpointSlice carries naming its Service.
pub const SERVICE_NAME_LABEL: &str = "kubernetes.io/service-name";

/// What has been seen of one pod. API times are wall-clock; watcher times are instants.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct PodTrack {
    pub replica_set: Option<String>,
    pub node: Option<String>,
    pub created: Option<SystemTime>,
    pub scheduled: Option<SystemTime>,
    pub containers_ready: Option<SystemTime>,
    pub ready: Option<SystemTime>,
    pub in_service: Option<Instant>,
    pub terminating: Option<Instant>,
    pub gone: Option<Instant>,
    /// Its containers' restarts (`status.containerStatuses[].restartCount`, summed), the
    /// highest seen.
    pub restarts: Option<u64>,
}

/// Every pod seen, by name.
#[derive(Debug, Clone, Default)]
pub struct PodTracks {
    pub pods: BTreeMap<String, PodTrack>,
    /// Services whose EndpointSlices listed one of the pods.
    pub services: BTreeSet<String>,
}

fn wall(t: &k8s_openapi::apimachinery::pkg::apis::meta::v1::Time) -> SystemTime {
    SystemTime::from(t.0)
}

impl PodTracks {
    /// Learns from the current state of a pod seen at `now` (wall clock `now_wall`); true
    /// when the pod was not known before.
    pub fn observe(&mut self, pod: &Pod, now: Instant, now_wall: SystemTime) -> bool {
        let Some(name) = pod.metadata.name.as_deref() else {
            return false;
        };
        // Looked up before inserted: the same pods come back on every update.
        let new = !self.pods.contains_key(name);
        if new {
            self.pods.insert(name.to_owned(), PodTrack::default());
        }
        let Some(t) = self.pods.get_mut(name) else {
            return false;
        };
        if t.replica_set.is_none() {
            t.replica_set = pod
                .metadata
                .owner_references
                .iter()
                .flatten()
                .find(|o| o.kind == "ReplicaSet")
                .map(|o| o.name.clone());
        }
        if t.node.is_none() {
            t.node = pod.spec.as_ref().and_then(|s| s.node_name.clone());
        }
        if t.created.is_none() {
            t.created = pod.metadata.creation_timestamp.as_ref().map(wall);
        }
        let conditions = pod
            .status
            .as_ref()
            .and_then(|s| s.conditions.as_deref())
            .unwrap_or(&[]);
        for c in conditions.iter().filter(|c| c.status == "True") {
            let slot = match c.type_.as_str() {
                "PodScheduled" => &mut t.scheduled,
                "ContainersReady" => &mut t.containers_ready,
                "Ready" => &mut t.ready,
                _ => continue,
            };
            // The first time it is seen true; a condition without its time is dated when seen.
            if slot.is_none() {
                *slot = Some(c.last_transition_time.as_ref().map_or(now_wall, wall));
            }
        }
        if let Some(statuses) = pod
            .status
            .as_ref()
            .and_then(|s| s.container_statuses.as_deref())
        {
            let n: u64 = statuses
                .iter()
                .map(|c| u64::try_from(c.restart_count).unwrap_or(0))
                .sum();
            t.restarts = Some(t.restarts.map_or(n, |seen| seen.max(n)));
        }
        if pod.metadata.deletion_timestamp.is_some() && t.terminating.is_none() {
            t.terminating = Some(now);
        }
        new
    }

    /// A pod's deletion, seen at `now`.
    pub fn deleted(&mut self, name: &str, now: Instant) {
        let t = self.pods.entry(name.to_owned()).or_default();
        t.terminating.get_or_insert(now);
        t.gone.get_or_insert(now);
    }

    /// After a complete re-list: a pod not in it was deleted while the watch was away.
    pub fn relisted<'a>(&mut self, present: impl IntoIterator<Item = &'a str>, now: Instant) {
        let present: BTreeSet<&str> = present.into_iter().collect();
        for (name, t) in &mut self.pods {
            if !present.contains(name.as_str()) && t.gone.is_none() {
                t.terminating.get_or_insert(now);
                t.gone = Some(now);
            }
        }
    }

    /// Marks the pods that `slices` list as ready endpoints as in the Service (first time
    /// only). Only pods already known are marked: slices list other workloads' pods too.
    pub fn observe_slices<'a>(
        &mut self,
        slices: impl IntoIterator<Item = &'a EndpointSlice>,
        now: Instant,
    ) {
        for slice in slices {
            let service = slice
                .metadata
                .labels
                .as_ref()
                .and_then(|l| l.get(SERVICE_NAME_LABEL));
            for e in &slice.endpoints {
                let Some(name) = e
                    .target_ref
                    .as_ref()
                    .filter(|r| r.kind.as_deref() == Some("Pod"))
                    .and_then(|r| r.name.as_deref())
                else {
                    continue;
                };
                let Some(t) = self.pods.get_mut(name) else {
                    continue;
                };
                if let Some(service) = service
                    && !self.services.contains(service)
                {
                    self.services.insert(service.clone());
                }
                // The API: a ready condition that is absent means ready.
                let ready = e.conditions.as_ref().and_then(|c| c.ready).unwrap_or(true);
                if ready && t.in_service.is_none() && t.gone.is_none() {
                    t.in_service = Some(now);
                }
            }
        }
    }

    /// The lifecycle columns of `pods.csv`, on the run's clock: `t0` is second 0 and
    /// `t0_wall` the wall-clock time of `t0`.
    pub fn rows(&self, t0: Instant, t0_wall: SystemTime) -> Vec<PodRow> {
        let api = |t: Option<SystemTime>| t.map(|t| round_ms(signed_wall(t0_wall, t)));
        let seen = |t: Option<Instant>| t.map(|t| round_ms(signed_instant(t0, t)));
        self.pods
            .iter()
            .map(|(name, t)| PodRow {
                replica_set: t.replica_set.clone(),
                node: t.node.clone(),
                created_s: api(t.created),
                scheduled_s: api(t.scheduled),
                containers_ready_s: api(t.containers_ready),
                ready_s: api(t.ready),
                in_service_s: seen(t.in_service),
                terminating_s: seen(t.terminating),
                gone_s: seen(t.gone),
                restarts: t.restarts,
                ..PodRow::named(name.clone())
            })
            .collect()
    }
}

fn signed_wall(origin: SystemTime, t: SystemTime) -> f64 {
    match t.duration_since(origin) {
        Ok(d) => d.as_secs_f64(),
        Err(e) => -e.duration().as_secs_f64(),
    }
}

fn signed_instant(origin: Instant, t: Instant) -> f64 {
    if t >= origin {
        t.duration_since(origin).as_secs_f64()
    } else {
        -origin.duration_since(t).as_secs_f64()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
    use serde_json::json;
    use std::time::Duration;

    fn from<T: serde::de::DeserializeOwned>(v: serde_json::Value) -> T {
        serde_json::from_value(v).expect("valid object")
    }

    #[test]
    fn a_pods_times_come_from_its_conditions_and_from_when_the_watcher_saw_it() {
        let t0 = Instant::now();
        let origin: Time = from(json!("2027-01-15T08:00:00Z"));
        let t0_wall = wall(&origin);
        let at = |s: u64| t0 + Duration::from_secs(s);
        let mut tracks = PodTracks::default();
        let pending: Pod = from(json!({
            "metadata": {"name": "web-1", "creationTimestamp": "2027-01-15T08:00:02Z",
                "ownerReferences": [{"apiVersion": "apps/v1", "kind": "ReplicaSet",
                    "name": "web-7d9f", "uid": "u"}]},
            "status": {"phase": "Pending"}
        }));
        tracks.observe(&pending, at(2), t0_wall);
        let ready: Pod = from(json!({
            "metadata": {"name": "web-1", "creationTimestamp": "2027-01-15T08:00:02Z"},
            "spec": {"nodeName": "node-a", "containers": []},
            "status": {"phase": "Running", "conditions": [
                {"type": "PodScheduled", "status": "True", "lastTransitionTime": "2027-01-15T08:00:03Z"},
                {"type": "ContainersReady", "status": "True", "lastTransitionTime": "2027-01-15T08:00:05Z"},
                {"type": "Ready", "status": "True", "lastTransitionTime": "2027-01-15T08:00:05Z"}]}
        }));
        tracks.observe(&ready, at(6), t0_wall);
        // Ready flapping later does not move the first time it was ready.
        let mut again = ready.clone();
        again
            .status
            .as_mut()
            .expect("status")
            .conditions
            .as_mut()
            .expect("c")[2]
            .last_transition_time = Some(from(json!("2027-01-15T08:00:09Z")));
        tracks.observe(&again, at(9), t0_wall);
        let slice: EndpointSlice = from(json!({
            "metadata": {"name": "web-abc", "labels": {"kubernetes.io/service-name": "web"}},
            "addressType": "IPv4",
            "endpoints": [
                {"addresses": ["10.0.0.1"], "conditions": {"ready": true},
                 "targetRef": {"kind": "Pod", "name": "web-1"}},
                {"addresses": ["10.0.0.9"], "targetRef": {"kind": "Pod", "name": "other-1"}}]
        }));
        tracks.observe_slices([&slice], at(7));
        tracks.observe_slices([&slice], at(8));
        let mut deleting = again.clone();
        deleting.metadata.deletion_timestamp = Some(from(json!("2027-01-15T08:00:41Z")));
        tracks.observe(&deleting, at(11), t0_wall);
        tracks.relisted(["web-1"], at(12));
        tracks.deleted("web-1", at(13));
        let rows = tracks.rows(t0, t0_wall);
        assert_eq!(rows.len(), 1, "pods of other workloads are not tracked");
        let r = &rows[0];
        assert_eq!(r.pod, "web-1");
        assert_eq!(r.replica_set.as_deref(), Some("web-7d9f"));
        assert_eq!(r.node.as_deref(), Some("node-a"));
        assert_eq!(
            (r.created_s, r.scheduled_s, r.containers_ready_s, r.ready_s),
            (Some(2.0), Some(3.0), Some(5.0), Some(5.0))
        );
        assert_eq!(
            (r.in_service_s, r.terminating_s, r.gone_s),
            (Some(7.0), Some(11.0), Some(13.0))
        );
        assert_eq!(
            tracks.services.iter().collect::<Vec<_>>(),
            ["web"],
            "the Service whose slice listed the pod"
        );
    }

    #[test]
    fn a_pods_restarts_are_its_containers_restart_counts_summed_and_unknown_until_reported() {
        let t0 = Instant::now();
        let mut tracks = PodTracks::default();
        let with = |counts: &[i32]| -> Pod {
            let statuses: Vec<_> = counts
                .iter()
                .enumerate()
                .map(|(i, n)| {
                    json!({"name": format!("c{i}"), "ready": true, "restartCount": n,
                    "image": "i", "imageID": ""})
                })
                .collect();
            from(json!({"metadata": {"name": "web-1"},
                "status": {"phase": "Running", "containerStatuses": statuses}}))
        };
        tracks.observe(
            &from(json!({"metadata": {"name": "web-1"}})),
            t0,
            SystemTime::now(),
        );
        assert_eq!(tracks.rows(t0, SystemTime::now())[0].restarts, None);
        tracks.observe(&with(&[2, 1]), t0, SystemTime::now());
        assert_eq!(tracks.rows(t0, SystemTime::now())[0].restarts, Some(3));
        // A later, smaller report (a container replaced by an update) does not undo a restart.
        tracks.observe(&with(&[0]), t0, SystemTime::now());
        assert_eq!(tracks.rows(t0, SystemTime::now())[0].restarts, Some(3));
    }

    #[test]
    fn a_pod_missing_from_a_relist_is_gone_and_a_not_ready_endpoint_is_not_in_service() {
        let t0 = Instant::now();
        let at = |s: u64| t0 + Duration::from_secs(s);
        let mut tracks = PodTracks::default();
        for name in ["a", "b"] {
            tracks.observe(
                &from(json!({"metadata": {"name": name}})),
                at(1),
                SystemTime::now(),
            );
        }
        let slice: EndpointSlice = from(json!({
            "metadata": {"name": "s"}, "addressType": "IPv4",
            "endpoints": [{"addresses": ["10.0.0.2"], "conditions": {"ready": false},
                           "targetRef": {"kind": "Pod", "name": "b"}}]
        }));
        tracks.observe_slices([&slice], at(2));
        tracks.relisted(["a"], at(4));
        let rows = tracks.rows(t0, SystemTime::now());
        assert_eq!((rows[0].pod.as_str(), rows[0].gone_s), ("a", None));
        assert_eq!(
            (rows[1].pod.as_str(), rows[1].in_service_s, rows[1].gone_s),
            ("b", None, Some(4.0))
        );
        assert!(tracks.services.is_empty(), "the slice has no service label");
    }
}
