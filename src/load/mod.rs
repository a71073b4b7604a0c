//! The load side: the only place that knows Goose.
//!
//! Closed model: Goose users ramp up and each sends its next request when the last one is
//! answered. Open model: a pacer hands out send slots at the target rate and latency is also
//! measured from each slot's due time; users wait for their slot on a microsecond
//! `alarm::Alarm`, not tokio's millisecond timer. Either way every request's outcome goes to the
//! [`recorder::Recorder`], which keeps per-second buckets.

mod alarm;
mod attack;
mod bucket;
pub mod clients;
pub mod clock;
mod config;
pub mod control;
pub mod errors;
pub mod health;
pub mod hlog;
pub mod pacer;
pub mod recorder;
pub mod request;
pub mod request_log;

pub use attack::{LoadError, LoadHandle, LoadSetup, ReadyLoad, prepare, run};
pub use bucket::{histogram, max, quantile};
pub use config::LoadConfig;
