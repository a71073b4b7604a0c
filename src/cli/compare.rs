//! `scaleproof compare`: its flags.

use crate::spec::values;
use clap::Args;
use std::path::PathBuf;

/// Compare two run directories: every headline figure side by side, the difference with a
/// 95% block-bootstrap interval, and a judgement (better, worse, no change, inconclusive);
/// exit 0 no regression, 1 a regression beyond the threshold, 4 inconclusive, 2 bad input.
#[derive(Debug, Args)]
pub struct CompareArgs {
    /// The run directory to compare against (before)
    pub base: PathBuf,
    /// The run directory compared (after)
    pub candidate: PathBuf,
    /// Folder for compare.png, compare.html, compare.json and slides/ [default:
    /// reports/compare-BASE-vs-CANDIDATE]
    #[arg(short = 'o', long, value_name = "DIR")]
    pub out: Option<PathBuf>,
    /// A difference within this share of the base value is "no change", however significant
    #[arg(long, value_name = "PERCENT", default_value = "5%", value_parser = values::fraction)]
    pub threshold: f64,
    /// A latency difference under this is no change: below it the machine's scheduling moves
    /// a p95 between identical runs (0.94 vs 1.41 ms on loopback, docs/compare.md)
    #[arg(long, value_name = "DURATION", default_value = "1ms", value_parser = values::millis)]
    pub latency_floor: f64,
    /// The figures that set the exit code, e.g. p95,rps (rps, p50, p95, p99, p50_raw,
    /// p95_raw, p99_raw, error_rate, dropped) [default: rps,p95,error_rate]
    #[arg(long, value_name = "LIST", value_delimiter = ',', value_parser = metric)]
    pub metrics: Vec<String>,
    /// Compare runs that measured different things (requests, load shape, target) all the same
    #[arg(long)]
    pub force: bool,
}

/// The names `--metrics` takes.
pub const METRICS: &[&str] = &[
    "rps",
    "p50",
    "p95",
    "p99",
    "p50_raw",
    "p95_raw",
    "p99_raw",
    "error_rate",
    "dropped",
];

fn metric(text: &str) -> Result<String, String> {
    let t = text.trim();
    if METRICS.contains(&t) {
        Ok(t.to_owned())
    } else {
        Err(format!("{t:?} is not one of {}", METRICS.join(", ")))
    }
}
