//! Local replicas: the bundled target-service run as separate processes behind a per-connection
//! balancer on 127.0.0.1, scaled by an autoscaler that follows the HorizontalPodAutoscaler's
//! algorithm on each replica's measured CPU — the scale-out story on one machine, recorded in
//! the same columns a watched Deployment fills and labelled `local` wherever it is shown.

pub mod balancer;
pub mod calibrate;
pub mod cgroup;
mod control;
pub mod controller;
mod history;
pub mod hpa;
mod process;
mod record;
pub mod replica;
mod spawn;

pub use controller::{LocalCluster, LocalError};
