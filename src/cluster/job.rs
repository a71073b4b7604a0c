//! The workers of a shared run (`scaleproof run --workers N`) as a Kubernetes Indexed Job:
//! the Job the controller creates, and a watch of it and its pods.
//!
//! Kubernetes runs the workers; nothing here coordinates them. Pod *i* gets
//! `JOB_COMPLETION_INDEX=i` and runs `scaleproof worker`; the start barrier and the results
//! go through the result store (the `store` module), so workers need no RBAC. The controller
//! needs `create`/`get`/`delete` on jobs and `list`/`watch` on jobs and pods
//! (`target-service/k8s/scaleproof-controller-rbac.yaml`).

use super::ClusterOptions;
use super::session::connect;
use futures::StreamExt;
use k8s_openapi::api::batch::v1::{Job, JobSpec};
use k8s_openapi::api::core::v1::{
    Capabilities, Container, EmptyDirVolumeSource, EnvFromSource, EnvVar, EnvVarSource,
    ObjectFieldSelector, PersistentVolumeClaimVolumeSource, Pod, PodSecurityContext, PodSpec,
    PodTemplateSpec, ResourceRequirements, SecretEnvSource, SecurityContext, Volume, VolumeMount,
};
use k8s_openapi::apimachinery::pkg::api::resource::Quantity;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use kube::api::{DeleteParams, PostParams, PropagationPolicy};
use kube::runtime::WatchStreamExt;
use kube::runtime::watcher::{self, Event};
use kube::{Api, Client};
use std::collections::BTreeMap;
use tokio::sync::watch;

/// The label every worker pod and the Job carry, with the run id.
pub const RUN_ID_LABEL: &str = "scaleproof.dev/run-id";
/// The annotation Kubernetes puts the completion index in (also a label since 1.28).
pub const INDEX_ANNOTATION: &str = "batch.kubernetes.io/job-completion-index";
/// The label Kubernetes puts on a Job's pods (every version).
pub const JOB_NAME_LABEL: &str = "job-name";

/// The Job to create: everything the controller decides.
#[derive(Debug, Clone, Default)]
pub struct WorkerJobSpec {
    pub name: String,
    pub run_id: String,
    pub image: String,
    /// The container's arguments (the image's entrypoint is `scaleproof`).
    pub args: Vec<String>,
    pub workers: u32,
    /// Seconds the Job may run at all (barrier + run + upload); Kubernetes then stops it.
    pub active_deadline_s: i64,
    /// A ReadWriteMany PersistentVolumeClaim holding a `file://` store, and where to mount it.
    pub store_claim: Option<(String, String)>,
    /// A Secret whose keys become the workers' environment (object-store credentials).
    pub store_secret: Option<String>,
    /// CPU each worker requests, millicores.
    pub cpu_request_m: Option<u32>,
}

/// The Indexed Job of [`WorkerJobSpec`]: `completionMode: Indexed`, `parallelism` =
/// `completions` = workers, `backoffLimit: 0` (a failed worker is reported, never re-run
/// half-way through the load), pods that never restart.
pub fn job(spec: &WorkerJobSpec) -> Job {
    let labels = BTreeMap::from([
        (
            "app.kubernetes.io/name".to_owned(),
            "scaleproof-worker".to_owned(),
        ),
        (RUN_ID_LABEL.to_owned(), spec.run_id.clone()),
    ]);
    let mut env = vec![EnvVar {
        // Kubernetes sets it itself since 1.22; the downward API says so on every version.
        name: "JOB_COMPLETION_INDEX".to_owned(),
        value_from: Some(EnvVarSource {
            field_ref: Some(ObjectFieldSelector {
                field_path: format!("metadata.annotations['{INDEX_ANNOTATION}']"),
                ..Default::default()
            }),
            ..Default::default()
        }),
        ..Default::default()
    }];
    env.push(EnvVar {
        name: "RUST_LOG".to_owned(),
        value: Some("off,scaleproof=info".to_owned()),
        ..Default::default()
    });
    // The image's root filesystem is read-only: the worker writes its run directory to /tmp.
    let mut volumes = vec![Volume {
        name: "scratch".to_owned(),
        empty_dir: Some(EmptyDirVolumeSource::default()),
        ..Default::default()
    }];
    let mut mounts = vec![VolumeMount {
        name: "scratch".to_owned(),
        mount_path: "/tmp".to_owned(),
        ..Default::default()
    }];
    if let Some((claim, path)) = &spec.store_claim {
        volumes.push(Volume {
            name: "results".to_owned(),
            persistent_volume_claim: Some(PersistentVolumeClaimVolumeSource {
                claim_name: claim.clone(),
                read_only: Some(false),
            }),
            ..Default::default()
        });
        mounts.push(VolumeMount {
            name: "results".to_owned(),
            mount_path: path.clone(),
            ..Default::default()
        });
    }
    let container = Container {
        name: "worker".to_owned(),
        image: Some(spec.image.clone()),
        args: Some(spec.args.clone()),
        env: Some(env),
        env_from: spec.store_secret.as_ref().map(|secret| {
            vec![EnvFromSource {
                secret_ref: Some(SecretEnvSource {
                    name: secret.clone(),
                    optional: Some(false),
                }),
                ..Default::default()
            }]
        }),
        volume_mounts: Some(mounts),
        security_context: Some(SecurityContext {
            read_only_root_filesystem: Some(true),
            allow_privilege_escalation: Some(false),
            capabilities: Some(Capabilities {
                drop: Some(vec!["ALL".to_owned()]),
                ..Default::default()
            }),
            ..Default::default()
        }),
        resources: spec.cpu_request_m.map(|m| ResourceRequirements {
            requests: Some(BTreeMap::from([(
                "cpu".to_owned(),
                Quantity(format!("{m}m")),
            )])),
            ..Default::default()
        }),
        ..Default::default()
    };
    Job {
        metadata: ObjectMeta {
            name: Some(spec.name.clone()),
            labels: Some(labels.clone()),
            ..Default::default()
        },
        spec: Some(JobSpec {
            completion_mode: Some("Indexed".to_owned()),
            completions: Some(spec.workers as i32),
            parallelism: Some(spec.workers as i32),
            backoff_limit: Some(0),
            active_deadline_seconds: Some(spec.active_deadline_s),
            // Kept a day for `kubectl logs`; the results are in the store.
            ttl_seconds_after_finished: Some(86_400),
            template: PodTemplateSpec {
                metadata: Some(ObjectMeta {
                    labels: Some(labels),
                    ..Default::default()
                }),
                spec: Some(PodSpec {
                    restart_policy: Some("Never".to_owned()),
                    containers: vec![container],
                    volumes: Some(volumes),
                    security_context: Some(PodSecurityContext {
                        run_as_non_root: Some(true),
                        run_as_user: Some(65532),
                        fs_group: Some(65532),
                        ..Default::default()
                    }),
                    ..Default::default()
                }),
            },
            ..Default::default()
        }),
        ..Default::default()
    }
}

/// One worker pod as last seen.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WorkerPod {
    pub name: String,
    /// `Pending`, `Running`, `Succeeded`, `Failed` (Kubernetes' phase).
    pub phase: String,
    /// Why it failed or cannot start, when it did or cannot (`ErrImagePull`, exit code 3, …).
    pub failure: Option<String>,
}

/// The Job and its pods, as the watch last saw them.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct JobState {
    /// By completion index; the newest pod of an index wins.
    pub pods: BTreeMap<u32, WorkerPod>,
    /// `Complete` condition seen.
    pub complete: bool,
    /// `Failed` condition seen: its reason and message.
    pub failed: Option<String>,
    /// The watch's latest trouble, if it could not read (RBAC, connection).
    pub watch_error: Option<String>,
}

impl JobState {
    /// Workers that failed or cannot start, with why: index → reason.
    pub fn failures(&self) -> BTreeMap<u32, String> {
        self.pods
            .iter()
            .filter_map(|(i, p)| {
                p.failure
                    .as_ref()
                    .map(|f| (*i, format!("pod {}: {f}", p.name)))
            })
            .collect()
    }

    /// Pods in each phase, e.g. "2 Running, 1 Pending".
    pub fn phases(&self) -> String {
        let mut count: BTreeMap<&str, usize> = BTreeMap::new();
        for p in self.pods.values() {
            *count.entry(p.phase.as_str()).or_default() += 1;
        }
        if count.is_empty() {
            return "no pods yet".to_owned();
        }
        count
            .iter()
            .map(|(phase, n)| format!("{n} {phase}"))
            .collect::<Vec<_>>()
            .join(", ")
    }
}

/// Container waiting reasons that never resolve by themselves: the worker will not start.
const STUCK: &[&str] = &[
    "ErrImagePull",
    "ImagePullBackOff",
    "InvalidImageName",
    "CreateContainerConfigError",
    "CreateContainerError",
    "CrashLoopBackOff",
];

fn worker_pod(pod: &Pod) -> Option<(u32, WorkerPod)> {
    let meta = &pod.metadata;
    let index = meta
        .annotations
        .as_ref()
        .and_then(|a| a.get(INDEX_ANNOTATION))
        .or_else(|| meta.labels.as_ref().and_then(|l| l.get(INDEX_ANNOTATION)))?
        .parse()
        .ok()?;
    let status = pod.status.as_ref();
    let phase = status
        .and_then(|s| s.phase.clone())
        .unwrap_or_else(|| "Pending".to_owned());
    let container = status
        .and_then(|s| s.container_statuses.as_ref())
        .and_then(|c| c.first());
    let state = container.and_then(|c| c.state.as_ref());
    let terminated = state.and_then(|s| s.terminated.as_ref());
    let waiting = state.and_then(|s| s.waiting.as_ref());
    let failure = match (phase.as_str(), terminated, waiting) {
        (_, Some(t), _) if t.exit_code != 0 => Some(format!(
            "exited with code {}{}{}",
            t.exit_code,
            t.reason
                .as_ref()
                .map(|r| format!(" ({r})"))
                .unwrap_or_default(),
            t.message
                .as_ref()
                .map(|m| format!(": {}", m.trim()))
                .unwrap_or_default()
        )),
        ("Failed", _, _) => Some(
            status
                .and_then(|s| s.reason.clone().or(s.message.clone()))
                .unwrap_or_else(|| "Failed".to_owned()),
        ),
        (_, _, Some(w)) if w.reason.as_deref().is_some_and(|r| STUCK.contains(&r)) => {
            Some(format!(
                "{}{}",
                w.reason.as_deref().unwrap_or_default(),
                w.message
                    .as_ref()
                    .map(|m| format!(": {m}"))
                    .unwrap_or_default()
            ))
        }
        _ => None,
    };
    Some((
        index,
        WorkerPod {
            name: meta.name.clone().unwrap_or_default(),
            phase,
            failure,
        },
    ))
}

fn job_conditions(job: &Job, state: &mut JobState) {
    for c in job
        .status
        .as_ref()
        .and_then(|s| s.conditions.as_ref())
        .into_iter()
        .flatten()
    {
        if c.status != "True" {
            continue;
        }
        match c.type_.as_str() {
            "Complete" => state.complete = true,
            "Failed" => {
                state.failed = Some(format!(
                    "{}{}",
                    c.reason.as_deref().unwrap_or("Failed"),
                    c.message
                        .as_ref()
                        .map(|m| format!(": {m}"))
                        .unwrap_or_default()
                ));
            }
            _ => {}
        }
    }
}

/// A created worker Job, watched until dropped.
#[derive(Debug)]
pub struct WorkerJob {
    pub name: String,
    pub namespace: String,
    jobs: Api<Job>,
    state: watch::Receiver<JobState>,
    watches: Vec<tokio::task::JoinHandle<()>>,
}

impl WorkerJob {
    /// Connects as kubectl would (`options`: kubeconfig, context, namespace), creates the
    /// Job and starts watching it and its pods.
    pub async fn create(options: &ClusterOptions, spec: &WorkerJobSpec) -> Result<Self, String> {
        let (client, connection) = connect(options).await?;
        Self::create_with(client, &connection.namespace, spec).await
    }

    /// [`WorkerJob::create`] through a given client, in `namespace`.
    pub async fn create_with(
        client: Client,
        namespace: &str,
        spec: &WorkerJobSpec,
    ) -> Result<Self, String> {
        let jobs: Api<Job> = Api::namespaced(client.clone(), namespace);
        jobs.create(&PostParams::default(), &job(spec))
            .await
            .map_err(|e| {
                format!(
                    "cannot create Job {} in namespace {namespace}: {}",
                    spec.name,
                    crate::support::chain::chain(&e)
                )
            })?;
        let pods: Api<Pod> = Api::namespaced(client, namespace);
        let (tx, state) = watch::channel(JobState::default());
        let pod_watch = {
            let tx = tx.clone();
            let config =
                watcher::Config::default().labels(&format!("{JOB_NAME_LABEL}={}", spec.name));
            tokio::spawn(async move {
                // Backoff between failed attempts, as the cluster watch has: a failing watch must
                // not hammer the API server (nor flood the state with errors).
                let mut stream = watcher::watcher(pods, config).default_backoff().boxed();
                while let Some(event) = stream.next().await {
                    match event {
                        Ok(Event::Apply(pod) | Event::InitApply(pod)) => {
                            if let Some((i, p)) = worker_pod(&pod) {
                                tx.send_modify(|s| {
                                    s.pods.insert(i, p);
                                    s.watch_error = None;
                                });
                            }
                        }
                        Ok(_) => {}
                        Err(e) => tx.send_modify(|s| {
                            s.watch_error = Some(format!("pods: {e}"));
                        }),
                    }
                }
            })
        };
        let job_watch = {
            let config = watcher::Config::default().fields(&format!("metadata.name={}", spec.name));
            let jobs = jobs.clone();
            tokio::spawn(async move {
                let mut stream = watcher::watcher(jobs, config).default_backoff().boxed();
                while let Some(event) = stream.next().await {
                    match event {
                        Ok(Event::Apply(job) | Event::InitApply(job)) => {
                            tx.send_modify(|s| job_conditions(&job, s));
                        }
                        Ok(Event::Delete(_)) => tx.send_modify(|s| {
                            s.failed
                                .get_or_insert_with(|| "the Job was deleted".to_owned());
                        }),
                        Ok(_) => {}
                        Err(e) => tx.send_modify(|s| {
                            s.watch_error = Some(format!("job: {e}"));
                        }),
                    }
                }
            })
        };
        Ok(Self {
            name: spec.name.clone(),
            namespace: namespace.to_owned(),
            jobs,
            state,
            watches: vec![pod_watch, job_watch],
        })
    }

    /// The latest state.
    pub fn state(&self) -> JobState {
        self.state.borrow().clone()
    }

    /// Waits until the state changes (or the watch ends).
    pub async fn changed(&mut self) {
        if self.state.changed().await.is_err() {
            std::future::pending::<()>().await;
        }
    }

    /// Deletes the Job and its pods (they get SIGTERM and their grace period).
    pub async fn delete(&self) -> Result<(), String> {
        let params = DeleteParams {
            propagation_policy: Some(PropagationPolicy::Background),
            ..Default::default()
        };
        self.jobs
            .delete(&self.name, &params)
            .await
            .map(drop)
            .map_err(|e| {
                format!(
                    "cannot delete Job {}: {}",
                    self.name,
                    crate::support::chain::chain(&e)
                )
            })
    }
}

impl Drop for WorkerJob {
    fn drop(&mut self) {
        for w in &self.watches {
            w.abort();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use k8s_openapi::api::core::v1::{
        ContainerState, ContainerStateTerminated, ContainerStateWaiting, ContainerStatus, PodStatus,
    };

    fn spec() -> WorkerJobSpec {
        WorkerJobSpec {
            name: "sp-20261130-150000-ab12".to_owned(),
            run_id: "sp-20261130-150000-ab12".to_owned(),
            image: "ghcr.io/x/scaleproof:0.1.0".to_owned(),
            args: vec!["worker".to_owned(), "--workers".to_owned(), "4".to_owned()],
            workers: 4,
            active_deadline_s: 900,
            store_claim: Some(("results".to_owned(), "/results".to_owned())),
            store_secret: None,
            cpu_request_m: Some(1500),
        }
    }

    #[test]
    fn the_job_is_indexed_runs_each_worker_once_and_never_retries() {
        let job = job(&spec());
        let s = job.spec.as_ref().expect("spec");
        assert_eq!(s.completion_mode.as_deref(), Some("Indexed"));
        assert_eq!((s.completions, s.parallelism), (Some(4), Some(4)));
        assert_eq!(s.backoff_limit, Some(0));
        assert_eq!(s.active_deadline_seconds, Some(900));
        let pod = s.template.spec.as_ref().expect("pod spec");
        assert_eq!(pod.restart_policy.as_deref(), Some("Never"));
        let c = &pod.containers[0];
        assert_eq!(c.args.as_deref(), Some(&spec().args[..]));
        let cpu = &c
            .resources
            .as_ref()
            .expect("resources")
            .requests
            .as_ref()
            .expect("requests")["cpu"];
        assert_eq!(cpu.0, "1500m");
        let mounts: Vec<&str> = c
            .volume_mounts
            .iter()
            .flatten()
            .map(|m| m.mount_path.as_str())
            .collect();
        assert_eq!(mounts, ["/tmp", "/results"]);
        let index = c
            .env
            .as_ref()
            .expect("env")
            .iter()
            .find(|e| e.name == "JOB_COMPLETION_INDEX")
            .expect("index env");
        assert_eq!(
            index
                .value_from
                .as_ref()
                .and_then(|v| v.field_ref.as_ref())
                .map(|f| f.field_path.as_str()),
            Some("metadata.annotations['batch.kubernetes.io/job-completion-index']")
        );
    }

    fn pod(index: &str, phase: &str, state: ContainerState) -> Pod {
        Pod {
            metadata: ObjectMeta {
                name: Some(format!("w-{index}")),
                annotations: Some(BTreeMap::from([(
                    INDEX_ANNOTATION.to_owned(),
                    index.to_owned(),
                )])),
                ..Default::default()
            },
            status: Some(PodStatus {
                phase: Some(phase.to_owned()),
                container_statuses: Some(vec![ContainerStatus {
                    state: Some(state),
                    ..Default::default()
                }]),
                ..Default::default()
            }),
            ..Default::default()
        }
    }

    #[test]
    fn a_pod_that_exited_badly_or_cannot_pull_is_a_failure_and_a_running_one_is_not() {
        let failed = pod(
            "2",
            "Failed",
            ContainerState {
                terminated: Some(ContainerStateTerminated {
                    exit_code: 3,
                    reason: Some("Error".to_owned()),
                    ..Default::default()
                }),
                ..Default::default()
            },
        );
        assert_eq!(
            worker_pod(&failed).map(|(i, p)| (i, p.failure)),
            Some((2, Some("exited with code 3 (Error)".to_owned())))
        );
        let pulling = pod(
            "0",
            "Pending",
            ContainerState {
                waiting: Some(ContainerStateWaiting {
                    reason: Some("ImagePullBackOff".to_owned()),
                    message: Some("no such image".to_owned()),
                }),
                ..Default::default()
            },
        );
        assert_eq!(
            worker_pod(&pulling).and_then(|(_, p)| p.failure).as_deref(),
            Some("ImagePullBackOff: no such image")
        );
        let creating = pod(
            "1",
            "Pending",
            ContainerState {
                waiting: Some(ContainerStateWaiting {
                    reason: Some("ContainerCreating".to_owned()),
                    message: None,
                }),
                ..Default::default()
            },
        );
        assert_eq!(worker_pod(&creating).and_then(|(_, p)| p.failure), None);
    }
}
