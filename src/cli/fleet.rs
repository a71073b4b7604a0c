//! The workers' flags (`--workers`, the store, the image, the pods' CPU); what they become is
//! in `share`.

use super::worker::worker_count;
use crate::spec::values;
use clap::Args;
use std::time::Duration;

/// A shared run past one machine: workers as a Kubernetes Indexed Job, results in object
/// storage, merged exactly by this process (which also watches the cluster).
#[derive(Debug, Default, Args)]
#[command(next_help_heading = "Workers (past one machine: an Indexed Job of scaleproof pods)")]
pub struct FleetArgs {
    /// Run the load from N pods of an Indexed Job (the Job goes to --namespace, with
    /// --kubeconfig/--context): each drives its share (--rate: slots interleaved; --users:
    /// users split), all start together once all are ready, and their results are merged
    /// exactly into one run directory here. --host is the URL as the pods reach it.
    #[arg(long, value_name = "N", value_parser = worker_count, conflicts_with_all = ["worker", "start_at"], requires = "store")]
    pub workers: Option<u32>,
    /// Where workers leave their results and the start barrier lives: file:///DIR (a
    /// ReadWriteMany volume, see --store-claim), or s3://, gs://, az:// (built with the
    /// `cloud` feature; credentials from the environment and --store-secret).
    #[arg(long, value_name = "URL", requires = "workers")]
    pub store: Option<String>,
    /// The worker image (entrypoint scaleproof) [default: scaleproof:VERSION, this build's].
    #[arg(long, value_name = "IMAGE", requires = "workers")]
    pub image: Option<String>,
    /// A ReadWriteMany PersistentVolumeClaim mounted in every worker at the file:// store's
    /// path.
    #[arg(long, value_name = "NAME", requires = "workers", value_parser = values::k8s_name)]
    pub store_claim: Option<String>,
    /// A Secret whose keys become the workers' environment (object-store credentials).
    #[arg(long, value_name = "NAME", requires = "workers", value_parser = values::k8s_name)]
    pub store_secret: Option<String>,
    /// CPU each worker pod requests, e.g. 2 or 1500m.
    #[arg(long, value_name = "CPU", requires = "workers", value_parser = values::pod_millicores)]
    pub worker_cpu: Option<u32>,
    /// How long the workers may take to start and reach the target before the run is called
    /// off (no load is sent then).
    #[arg(long, value_name = "DURATION", requires = "workers", value_parser = values::duration)]
    pub ready_timeout: Option<Duration>,
}
