//! The verdict: expectations evaluated on the timeline. Every expectation gets a row (wanted,
//! measured, its state, and where the measurement came from), and the run gets one state:
//!
//! - `pass`: every expectation met, by evidence that supports it;
//! - `fail`: an expectation not met, where the evidence puts it on the service;
//! - `inconclusive`: the evidence cannot support a pass — an expectation with no data, the
//!   generator itself the bottleneck ([`crate::timeline::GEN_SATURATED_SHARE`]), or more
//!   dropped slots than [`crate::timeline::DROPPED_SHARE_LIMIT`].
//!
//! A fail outranks inconclusive. A shortfall the generator may have caused (too little
//! throughput or too much latency while it was saturated) is inconclusive, not fail; a
//! throughput shortfall made of failed requests is a fail whatever the generator did. Dropped
//! slots only keep a run from passing: they are the service not answering in time for the
//! pool, so they count against it in the error rate and the corrected latency.

mod builder;
mod check;
mod pods;
mod rules;
mod scale_out;

pub use check::{Check, State, Verdict, table};
pub use rules::{evaluate, evaluate_for, evaluate_with};

/// A merged run's verdict, given what the merge found of its workers: a worker missing,
/// failed or with its clock apart is a caveat, and the run is inconclusive whatever the
/// checks say — the part of the load that is left can neither pass nor fail it (a throughput
/// shortfall may be the missing share).
pub fn with_workers(mut verdict: Verdict, workers: &[crate::timeline::MergedWorker]) -> Verdict {
    let problems = crate::timeline::worker_problems(workers);
    if !problems.is_empty() {
        verdict.caveats.extend(problems);
        verdict.state = State::Inconclusive;
    }
    verdict
}

/// A worker's own verdict: none — it drove one share, and its expectations are the whole
/// run's, judged on the merged run.
pub fn for_worker(worker: &crate::timeline::WorkerRecord) -> Verdict {
    Verdict {
        state: State::None,
        checks: Vec::new(),
        caveats: vec![format!(
            "worker {}/{}: one share of a shared run; the verdict is the merged run's (scaleproof merge)",
            worker.index, worker.count
        )],
    }
}
