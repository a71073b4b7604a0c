//! Command-line arguments, typed as clap parses them (with the parsers of [`crate::spec::values`]
//! that scenario files use too): one file per subcommand and flag group, and their merge
//! with the scenario into a [`RunConfig`](crate::config::RunConfig) in `resolve`.

pub mod capacity;
mod cluster;
pub mod compare;
mod doctor;
mod expect;
mod fleet;
mod http;
mod live;
mod local;
mod parse;
mod report;
mod resolve;
mod run;
mod share;
#[cfg(test)]
mod tests;
mod worker;

pub use cluster::ClusterArgs;
pub use doctor::DoctorArgs;
pub use expect::ExpectArgs;
pub use fleet::FleetArgs;
pub use http::HttpArgs;
pub use live::LiveArgs;
pub use local::LocalArgs;
pub use parse::{Recycle, parse_host};
pub use report::{MergeArgs, ReplayArgs, ReportArgs};
pub use resolve::ConfigError;
pub use run::RunArgs;
pub use share::{check_shared, fleet_options};
pub use worker::{ReplicaArgs, WorkerArgs};

use clap::{Parser, Subcommand};

/// Prove that an ML inference service scales out under real load.
///
/// Drives HTTP load at a prediction endpoint (Goose users, or a target request rate), records
/// what happened every second, and writes a run directory under --out. With no --host it
/// runs the bundled target-service as local replicas on 127.0.0.1, autoscaled by the HPA
/// algorithm: a scale-out simulated on this machine, labelled so.
#[derive(Debug, Parser)]
#[command(
    name = "scaleproof",
    version,
    args_conflicts_with_subcommands = true,
    after_help = "Examples:\n  \
        scaleproof                                         # 90 s scale-out story on local replicas\n  \
        scaleproof --replicas 1..6 --hpa-target 50%        # the same, scaled harder\n  \
        scaleproof --host http://10.0.0.5:8080 --users 500 --hatch-rate 50 --run-time 5m\n  \
        scaleproof --host http://svc --rate 100:30s,1200:2m,1200:3m\n  \
        scaleproof --scenario scenarios/smoke.toml\n  \
        scaleproof --host http://203.0.113.10 --rate 1200:2m,1200:3m --deployment target-service \\\n      \
        --expect-rps 1000 --expect-replicas 2\n  \
        scaleproof report reports/20261126T061500Z-predict --expect-p95 100ms\n\n\
        Exit codes: 0 run completed and every expectation passed (or none was set);\n\
        1 an expectation failed; 2 invalid arguments, scenario or run directory (nothing sent);\n\
        3 the run could not be carried out or written; 4 inconclusive: the evidence cannot\n\
        support a pass (generator saturated, too many dropped slots, an expectation with no data);\n\
        130 / 143 stopped by SIGINT / SIGTERM (the run directory and report are still written)."
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Command>,
    #[command(flatten)]
    pub run: RunArgs,
}

/// Subcommands; the default is `run`.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run a load test (the default when no subcommand is given).
    Run(Box<RunArgs>),
    /// Re-render the reports and verdict of an existing run directory (no network).
    Report(ReportArgs),
    /// Merge the run directories of the workers of one shared run (`--worker I/N`) into one
    /// run directory, exactly: counters summed, HdrHistograms added; then write its reports
    /// and verdict. A missing or failed worker makes the verdict inconclusive.
    Merge(MergeArgs),
    /// One worker of a shared run, as a pod of the Indexed Job `run --workers N` creates (not
    /// for people): warm up, say ready, start at the published time, upload the run directory.
    #[command(hide = true)]
    Worker(Box<WorkerArgs>),
    /// Render a run directory as an animation for a video or slides: the dashboard growing
    /// second by second with a playhead (animated GIF, APNG, or PNG frames for ffmpeg).
    Replay(ReplayArgs),
    /// Find one replica's knee at the SLO (an open-model search: double the rate until a step
    /// fails, then bisect) and plan the replicas and the HPA for a target rate; each step is
    /// an ordinary run in the capacity directory's steps/.
    Capacity(Box<capacity::CapacityArgs>),
    /// Compare two run directories, before and after: every headline figure side by side
    /// with a 95% block-bootstrap interval and a judgement; one picture, one exit code.
    Compare(compare::CompareArgs),
    /// Check what would spoil the evidence before a run: cluster access, RBAC, the
    /// Deployment, HPA and metrics-server, the Service, the target's endpoints, and this
    /// machine's generator capacity.
    Doctor(Box<DoctorArgs>),
    /// One local replica (started by scaleproof itself for local replicas; not for people).
    #[command(hide = true)]
    Replica(ReplicaArgs),
}
