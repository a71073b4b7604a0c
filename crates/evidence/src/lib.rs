//! The evidence side of scaleproof: the run directory model ([`timeline`]), what the numbers
//! mean for scaling ([`scaling`]), the verdict ([`verdict`]) and the charts and pages
//! ([`report`]), with the typed values and expectations they share ([`spec`]).
//!
//! It reads and writes run directories and knows nothing of how the load was sent or how the
//! cluster was watched: no Goose, kube, reqwest or hyper. The `scaleproof` crate re-exports
//! each module under the same name, so `scaleproof::timeline` is this crate's `timeline`.

pub mod capacity;
pub mod compare;
pub mod report;
pub mod scaling;
pub mod spec;
pub mod timeline;
pub mod verdict;
