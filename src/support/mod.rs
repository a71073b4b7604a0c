//! Small leaves every stage names and that name nothing else in the crate: locks that survive
//! a panic ([`lock`]), an error and its causes on one line ([`chain`]), and a check's finding
//! ([`checks`], the doctor's and the cluster checks' vocabulary), and how `--cacert` trusts a
//! server ([`trust`]).

pub mod chain;
pub mod checks;
pub mod lock;
pub mod trust;
