//! The `scaleproof` command line: parse, run, report, print the verdict, exit with a
//! documented code.

use clap::Parser;
use scaleproof::cli::{Cli, Command, ReportArgs};
use scaleproof::config::RunConfig;
use scaleproof::load::control::EndReason;
use scaleproof::report;
use scaleproof::verdict;
use std::path::Path;
use std::process::ExitCode;

/// An expectation failed.
const EXIT_FAILED: u8 = 1;
/// Invalid arguments or scenario.
const EXIT_USAGE: u8 = 2;
/// The run could not be carried out or its directory not written.
const EXIT_RUN: u8 = 3;

fn main() -> ExitCode {
    let cli = Cli::parse();
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(
                |_| // kube-rs logs watch errors itself; the cluster watcher reports them once, plainly
                // (RUST_LOG=kube=debug shows kube-rs's own view).
                tracing_subscriber::EnvFilter::new("warn,kube_runtime=off,kube_client=off"),
            ),
        )
        .with_writer(std::io::stderr)
        .init();
    match cli.command {
        Some(Command::Report(args)) => report_only(&args),
        Some(Command::Run(args)) => run(*args),
        None => run(cli.run),
    }
}

fn run(args: scaleproof::cli::RunArgs) -> ExitCode {
    let config = match RunConfig::try_from(args) {
        Ok(config) => config,
        Err(e) => {
            eprintln!("scaleproof: {e}");
            return ExitCode::from(EXIT_USAGE);
        }
    };
    let outcome = match scaleproof::run::execute(&config) {
        Ok(outcome) => outcome,
        Err(e) => {
            eprintln!("scaleproof: {:#}", anyhow::Error::from(e));
            return ExitCode::from(EXIT_RUN);
        }
    };
    let t = &outcome.meta.totals;
    eprintln!(
        "scaleproof: {} after {:.1} s: {} requests, {} errors, {} dropped; p95 {}",
        outcome.end,
        outcome.meta.duration_s,
        t.requests,
        t.errors,
        t.dropped,
        t.p95_us
            .map_or("-".to_owned(), |us| format!("{:.2} ms", us as f64 / 1000.0)),
    );
    let passed = render(&outcome.dir, None);
    println!("{}", outcome.dir.display());
    match (outcome.end, passed) {
        (EndReason::Interrupted(signal), _) => ExitCode::from(signal.exit_code()),
        (EndReason::Completed, Some(true)) => ExitCode::SUCCESS,
        (EndReason::Completed, Some(false)) => ExitCode::from(EXIT_FAILED),
        (EndReason::Completed, None) => ExitCode::from(EXIT_RUN),
    }
}

/// Writes the reports, prints the verdict; `None` when the reports could not be written.
fn render(dir: &Path, expect: Option<&scaleproof::scenario::Expectations>) -> Option<bool> {
    match report::render(dir, expect) {
        Ok(rendered) => {
            eprint!("{}", verdict::table(&rendered.summary.verdict));
            eprintln!("scaleproof: report {}", dir.join("report.html").display());
            Some(rendered.summary.verdict.pass)
        }
        Err(e) => {
            eprintln!("scaleproof: {:#}", anyhow::Error::from(e));
            None
        }
    }
}

fn report_only(args: &ReportArgs) -> ExitCode {
    let recorded = match scaleproof::timeline::read_run_meta(&args.run_dir) {
        Ok(meta) => serde_json::from_value(meta.expectations).unwrap_or_default(),
        Err(e) => {
            eprintln!("scaleproof: {:#}", anyhow::Error::from(e));
            return ExitCode::from(EXIT_USAGE);
        }
    };
    let expect = match args.expect.apply(recorded) {
        Ok(e) => e,
        Err(e) => {
            eprintln!("scaleproof: {e}");
            return ExitCode::from(EXIT_USAGE);
        }
    };
    match render(&args.run_dir, Some(&expect)) {
        Some(true) => ExitCode::SUCCESS,
        Some(false) => ExitCode::from(EXIT_FAILED),
        None => ExitCode::from(EXIT_RUN),
    }
}
