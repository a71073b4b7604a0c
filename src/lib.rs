//! scaleproof: prove, with evidence anyone can look at, that an ML inference service scales
//! out under real load.
//!
//! Data flows one way: a scenario and the command line make a [`config::RunConfig`]; the
//! [`load`] side drives requests and records them per second; [`run`] writes the run
//! directory described in [`timeline`].

pub mod capacity;
pub mod cli;
pub mod cluster;
pub mod compare;
pub mod config;
pub mod doctor;
pub mod fleet;
pub mod live;
pub mod load;
pub mod local;
pub mod merge;
pub mod run;
pub mod scenario;
pub mod support;

// The evidence side compiles as a crate of its own (crates/evidence), beside Goose and kube.
pub use scaleproof_evidence::{report, scaling, spec, timeline, verdict};
