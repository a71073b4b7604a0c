//! Which Kubernetes workload to watch (`--deployment`, `--hpa`, `--service`, kubeconfig), merged
//! with the scenario's `[cluster]` into [`ClusterOptions`].

use super::resolve::{ConfigError, flag};
use crate::config::ClusterOptions;
use crate::scenario::ClusterSpec;
use crate::spec::values;
use clap::Args;
use std::path::PathBuf;

/// Which Kubernetes workload to watch during the run; each overrides the scenario's
/// `[cluster]` field. kubeconfig is found as kubectl finds it.
#[derive(Debug, Clone, Default, Args)]
#[command(next_help_heading = "Cluster (replicas, HPA, pods and scale events on the run's clock)")]
pub struct ClusterArgs {
    /// Deployment to watch; with none, no cluster is watched and replicas are counted from
    /// distinct serving endpoints.
    #[arg(long, value_name = "NAME", value_parser = values::k8s_name)]
    pub deployment: Option<String>,
    /// Namespace of the Deployment [default: the kubeconfig context's, else "default"].
    #[arg(short = 'n', long, value_name = "NAME", value_parser = values::k8s_name)]
    pub namespace: Option<String>,
    /// HorizontalPodAutoscaler to watch [default: the one whose scaleTargetRef is the
    /// Deployment].
    #[arg(long, value_name = "NAME", value_parser = values::k8s_name)]
    pub hpa: Option<String>,
    /// Service in front of the Deployment, whose EndpointSlices tell when each pod joins and
    /// leaves it [default: any EndpointSlice in the namespace that lists the Deployment's pods].
    #[arg(long, value_name = "NAME", value_parser = values::k8s_name)]
    pub service: Option<String>,
    /// kubeconfig context [default: the current context].
    #[arg(long, value_name = "NAME")]
    pub context: Option<String>,
    /// kubeconfig file [default: $KUBECONFIG, then ~/.kube/config, then the in-cluster
    /// service account].
    #[arg(long, value_name = "FILE")]
    pub kubeconfig: Option<PathBuf>,
    /// Watch no cluster, even if the scenario names a Deployment.
    #[arg(long, conflicts_with_all = ["deployment", "namespace", "hpa", "service", "context", "kubeconfig"])]
    pub no_cluster: bool,
}

impl ClusterArgs {
    /// The watch to run, if any: flags over the scenario's `[cluster]` section.
    pub fn resolve(&self, spec: &ClusterSpec) -> Result<Option<ClusterOptions>, ConfigError> {
        if self.no_cluster {
            return Ok(None);
        }
        let deployment = self.deployment.clone().or(spec.deployment.clone());
        let namespace = self.namespace.clone().or(spec.namespace.clone());
        let hpa = self.hpa.clone().or(spec.hpa.clone());
        let service = self.service.clone().or(spec.service.clone());
        let Some(deployment) = deployment else {
            if hpa.is_some() {
                return Err(flag("--hpa", "needs --deployment (the HPA's scale target)"));
            }
            if service.is_some() {
                return Err(flag(
                    "--service",
                    "needs --deployment (the Service is the one in front of it)",
                ));
            }
            return Ok(None);
        };
        Ok(Some(ClusterOptions {
            namespace,
            deployment,
            hpa,
            service,
            context: self.context.clone(),
            kubeconfig: self.kubeconfig.clone(),
            // Warnings print even with --quiet (which silences progress only).
            quiet: false,
        }))
    }
}
