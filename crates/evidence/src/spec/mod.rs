//! The vocabulary a run is specified in, shared by the scenario file, the flags, the
//! configuration, the verdict and the reports: values as people write them ([`values`]), what
//! a run must show ([`expectations`]), and the HPA's spec ([`autoscaling`]). Depends on nothing
//! else in the crate.

pub mod autoscaling;
pub mod expectations;
pub mod values;
