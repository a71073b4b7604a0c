//! The cluster watcher: the only module that knows kube.
//!
//! It watches one Deployment, its HorizontalPodAutoscaler, the Pods its selector matches and
//! the Events about them, on a thread of its own so that nothing it does (or waits for) can
//! hold back the load. Every change of the derived [`ClusterSample`](crate::timeline::ClusterSample) is kept with the instant
//! it was seen; at the end of the run the changes are placed on the run's clock
//! (`cluster.csv`), sampled at the end of each second (`timeline.csv`), and the cluster
//! context goes into `run.json`. Without a reachable cluster the run goes on and the columns
//! stay empty ("unknown"), never zero.

mod derive;
pub mod doctor;
pub mod job;
pub mod metrics;
mod pods;
mod session;
mod state;
mod watch;

pub use crate::config::ClusterOptions;
pub use session::{ClusterMonitor, ClusterRecording, ClusterWatch};
