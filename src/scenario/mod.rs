//! Scenarios: what a run sends and expects — named requests with weights, the load shape (a
//! user ramp or target-rate stages), expectations and the cluster workload — read from TOML
//! files (`scenarios/*.toml`) or built in.

mod doc;
mod file;
pub mod headers;
pub mod plan;
mod rate;
mod request;
mod sections;
mod spec;

pub use crate::spec::expectations::Expectations;
pub use doc::ScenarioError;
pub use file::{BUILTIN_CORPUS, BUILTIN_PREDICT};
pub use rate::{RatePlan, Stage, StageError};
pub use request::{BodySpec, RequestSpec};
pub use spec::{
    ClusterSpec, LiveSpec, LoadSpec, LocalSpec, Scenario, TlsSpec, check_port_template,
};
