//! The `--expect-*` flags and how each overrides the scenario's `[expect]` field.

use crate::scenario::Expectations;
use crate::spec::values;
use clap::Args;

/// Expectations given on the command line; each overrides the scenario's `[expect]` field.
#[derive(Debug, Default, Args)]
#[command(
    next_help_heading = "Expectations (the verdict: exit 1 if one fails, 4 if the evidence cannot support a pass)"
)]
pub struct ExpectArgs {
    /// Pass only if this many successful requests/s are sustained (best 60 s window, or half
    /// the run when it is shorter than 2 min; failed requests are not throughput).
    #[arg(long, value_name = "RPS", value_parser = values::positive)]
    pub expect_rps: Option<f64>,
    /// Pass only if at least this many replicas were ready at once (the Deployment's
    /// readyReplicas; with no cluster watched: distinct serving endpoints).
    #[arg(long, value_name = "N", value_parser = replicas)]
    pub expect_replicas: Option<u32>,
    /// Pass only if the whole run's p95 of successful requests is at most this, e.g. 250ms
    /// (corrected in the open model, raw in the closed model).
    #[arg(long, value_name = "DURATION", value_parser = values::millis)]
    pub expect_p95: Option<f64>,
    /// Pass only if the whole run's p99 of successful requests is at most this, e.g. 1s.
    #[arg(long, value_name = "DURATION", value_parser = values::millis)]
    pub expect_p99: Option<f64>,
    /// Pass only if (failed requests + dropped slots) / (completed + dropped) is at most this,
    /// e.g. 1% or 0.01.
    #[arg(long, value_name = "RATE", value_parser = values::fraction)]
    pub expect_error_rate: Option<f64>,
    /// Pass only if the first scale-out follows load reaching --expect-rps within this, e.g.
    /// 120s (a scale-out during the ramp counts as 0 s).
    #[arg(long, value_name = "DURATION", value_parser = seconds)]
    pub expect_scale_within: Option<f64>,
    /// Pass only if every pod that became Ready during the load served its first request
    /// within this, e.g. 10s (pods.csv: ready_s → first_served_s).
    #[arg(long, value_name = "DURATION", value_parser = seconds)]
    pub expect_new_pod_serves_within: Option<f64>,
    /// Pass only if at most this many requests failed while pods were being removed (from
    /// 1 s before each one's termination was seen to 2 s after it was gone).
    #[arg(long, value_name = "N")]
    pub expect_scale_in_errors: Option<u64>,
    /// Pass only if no endpoint served more than this share of the requests while 2 or more
    /// replicas were ready, e.g. 80% (catches port-forward and sticky keep-alive).
    #[arg(long, value_name = "RATE", value_parser = values::fraction)]
    pub expect_max_pod_share: Option<f64>,
}

fn replicas(text: &str) -> Result<u32, String> {
    values::at_least_one(text)
        .and_then(|n| u32::try_from(n).map_err(|_| format!("{n} is too many")))
}

fn seconds(text: &str) -> Result<f64, String> {
    values::millis(text).map(|ms| ms / 1000.0)
}

impl ExpectArgs {
    /// Applies the flags over `base`.
    pub fn apply(&self, mut base: Expectations) -> Expectations {
        let fields = [
            (&mut base.rps, self.expect_rps),
            (&mut base.p95_ms, self.expect_p95),
            (&mut base.p99_ms, self.expect_p99),
            (&mut base.error_rate, self.expect_error_rate),
            (&mut base.scale_within_s, self.expect_scale_within),
            (
                &mut base.new_pod_serves_within_s,
                self.expect_new_pod_serves_within,
            ),
            (&mut base.max_pod_share, self.expect_max_pod_share),
        ];
        for (field, flag) in fields {
            if flag.is_some() {
                *field = flag;
            }
        }
        if self.expect_replicas.is_some() {
            base.replicas = self.expect_replicas;
        }
        if self.expect_scale_in_errors.is_some() {
            base.scale_in_errors = self.expect_scale_in_errors;
        }
        base
    }
}
