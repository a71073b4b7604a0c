//! The `scaleproof` command line: parse, run, print, exit with a documented code.

use clap::Parser;
use scaleproof::cli::{Cli, Command, ConfigError};
use scaleproof::config::RunConfig;
use scaleproof::load::control::EndReason;
use std::process::ExitCode;

/// Invalid arguments or scenario.
const EXIT_USAGE: u8 = 2;
/// The run could not be carried out or its directory not written.
const EXIT_RUN: u8 = 3;

fn main() -> ExitCode {
    let cli = Cli::parse();
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn")),
        )
        .with_writer(std::io::stderr)
        .init();
    let args = match cli.command {
        Some(Command::Run(args)) => args,
        None => cli.run,
    };
    let config = match RunConfig::try_from(args) {
        Ok(config) => config,
        Err(e @ (ConfigError::Flag { .. } | ConfigError::Scenario(_))) => {
            eprintln!("scaleproof: {e}");
            return ExitCode::from(EXIT_USAGE);
        }
    };
    match scaleproof::run::execute(&config) {
        Ok(outcome) => {
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
            println!("{}", outcome.dir.display());
            match outcome.end {
                EndReason::Completed => ExitCode::SUCCESS,
                EndReason::Interrupted(signal) => ExitCode::from(signal.exit_code()),
            }
        }
        Err(e) => {
            eprintln!("scaleproof: {:#}", anyhow::Error::from(e));
            ExitCode::from(EXIT_RUN)
        }
    }
}
