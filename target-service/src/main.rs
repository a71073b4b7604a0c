//! `target-service`: serve the bundled model over HTTP, or retrain it.

use anyhow::Context;
use clap::{Args, Parser, Subcommand};
use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::time::Duration;
use target_service::{
    AppState, Dataset, DrainConfig, Model, ServiceConfig, TrainParams, serve, train,
};

/// An ML inference service to load-test: a random-forest regressor trained on the diabetes
/// dataset behind `POST /predict`, with /health, /ready, /metrics and a graceful drain.
#[derive(Debug, Parser)]
#[command(version, args_conflicts_with_subcommands = true)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
    #[command(flatten)]
    serve: ServeArgs,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Serve predictions over HTTP (the default when no subcommand is given).
    Serve(ServeArgs),
    /// Retrain the model from a CSV dataset and write the model file.
    Train(TrainArgs),
}

#[derive(Debug, Args)]
struct ServeArgs {
    /// Address to bind.
    #[arg(long, env = "BIND_ADDRESS", default_value = "0.0.0.0")]
    bind: IpAddr,
    /// Port to listen on (0 picks a free port; the chosen address is printed on stdout).
    #[arg(long, env = "PORT", default_value_t = target_service::DEFAULT_PORT)]
    port: u16,
    /// Model file written by `train` [default: the model compiled into this binary].
    #[arg(long, env = "MODEL_PATH")]
    model: Option<PathBuf>,
    /// Extra forest evaluations per request: deterministic CPU work so that an HPA on a small
    /// cluster scales out. Each unit costs one prediction (≈ 1.5 µs of CPU in a release build,
    /// so 500 ≈ 0.8 ms per request, ≈ 0.8 core at 1,000 rps); 0 = none.
    #[arg(long, env = "WORK_FACTOR", default_value_t = 0)]
    work_factor: u32,
    /// Largest request body accepted, in bytes; larger bodies get a JSON 413.
    #[arg(long, env = "MAX_BODY_BYTES", default_value_t = 1024 * 1024)]
    max_body_bytes: usize,
    /// After SIGTERM/SIGINT, keep serving this long with /ready answering 503 (e.g. "5s").
    #[arg(long, env = "DRAIN_DELAY", default_value = "0s", value_parser = humantime::parse_duration)]
    drain_delay: Duration,
    /// Then wait at most this long for in-flight requests before exiting.
    #[arg(long, env = "GRACE_PERIOD", default_value = "20s", value_parser = humantime::parse_duration)]
    grace_period: Duration,
    /// Value of the X-Served-By header [default: $POD_NAME, else the host name].
    #[arg(long, env = "SERVED_BY")]
    served_by: Option<String>,
    /// Log filter (error, warn, info, debug, trace, or a tracing directive).
    #[arg(long, env = "LOG_LEVEL", default_value = "info")]
    log_level: String,
}

#[derive(Debug, Args)]
struct TrainArgs {
    /// CSV dataset: header row, numeric columns, target last [default: the bundled diabetes data].
    #[arg(long)]
    data: Option<PathBuf>,
    /// Where to write the model file.
    #[arg(long)]
    out: PathBuf,
    /// Trees in the forest.
    #[arg(long, default_value_t = TrainParams::default().n_trees)]
    trees: usize,
    /// Maximum depth of each tree.
    #[arg(long, default_value_t = TrainParams::default().max_depth)]
    max_depth: u16,
    /// Minimum samples per leaf.
    #[arg(long, default_value_t = TrainParams::default().min_samples_leaf)]
    min_samples_leaf: usize,
    /// Fraction of rows held out to measure error.
    #[arg(long, default_value_t = TrainParams::default().test_fraction)]
    test_fraction: f64,
    /// Seed for the split and the forest.
    #[arg(long, default_value_t = TrainParams::default().seed)]
    seed: u64,
}

const DATASET_NOTE: &str = "Diabetes progression (Efron, Hastie, Johnstone, Tibshirani 2004, \
    'Least Angle Regression'), 442 patients, 10 mean-centred and scaled baseline features; \
    as shipped by scikit-learn (BSD-3-Clause)";

fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Some(Command::Train(args)) => run_train(args),
        Some(Command::Serve(args)) => run_serve(args),
        None => run_serve(cli.serve),
    };
    match result {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("target-service: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}

fn run_train(args: TrainArgs) -> anyhow::Result<()> {
    let data = match &args.data {
        Some(path) => Dataset::from_path(path)?,
        None => Dataset::from_csv(target_service::BUNDLED_DATASET_CSV)?,
    };
    let params = TrainParams {
        n_trees: args.trees,
        max_depth: args.max_depth,
        min_samples_leaf: args.min_samples_leaf,
        test_fraction: args.test_fraction,
        seed: args.seed,
    };
    let report = train(&data, params, DATASET_NOTE)?;
    report.model.save(&args.out)?;
    let h = report.model.meta().holdout;
    println!(
        "trained on {} rows; held-out {} rows: RMSE {:.2}, MAE {:.2}, R² {:.3} (predict-the-mean RMSE {:.2})",
        report.model.meta().train_rows,
        h.rows,
        h.rmse,
        h.mae,
        h.r2,
        h.baseline_rmse
    );
    println!("wrote {}", args.out.display());
    Ok(())
}

fn run_serve(args: ServeArgs) -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_new(&args.log_level)
                .with_context(|| format!("invalid --log-level {:?}", args.log_level))?,
        )
        .with_writer(std::io::stderr)
        .init();
    let model = match &args.model {
        Some(path) => Model::load(path)?,
        None => Model::bundled().context("cannot load the bundled model")?,
    };
    model.self_check().context("model self-check failed")?;
    let config = ServiceConfig {
        served_by: args
            .served_by
            .unwrap_or_else(target_service::default_served_by),
        work_factor: args.work_factor,
        max_body_bytes: args.max_body_bytes,
        // A multi-threaded server: predictions with extra work go to the blocking pool, and
        // the CPU limit is the container's (cgroup), not the process's own.
        inline_work: false,
        cpu_limit_m: None,
    };
    let drain = DrainConfig {
        drain_delay: args.drain_delay,
        grace_period: args.grace_period,
    };
    let runtime = tokio::runtime::Runtime::new().context("cannot start the tokio runtime")?;
    runtime.block_on(async move {
        let addr = SocketAddr::new(args.bind, args.port);
        let listener = tokio::net::TcpListener::bind(addr)
            .await
            .with_context(|| format!("cannot listen on {addr}"))?;
        let local = listener.local_addr()?;
        tracing::info!(%local, served_by = %config.served_by, work_factor = config.work_factor, "serving");
        println!("target-service listening on {local}");
        let state = AppState::new(model, config);
        serve(listener, state, drain, shutdown_signal()).await?;
        Ok(())
    })
}

/// Resolves on SIGTERM (Kubernetes) or SIGINT (Ctrl-C).
async fn shutdown_signal() {
    let ctrl_c = async {
        if let Err(e) = tokio::signal::ctrl_c().await {
            tracing::error!("cannot listen for Ctrl-C: {e}");
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut sig) => {
                sig.recv().await;
            }
            Err(e) => {
                tracing::error!("cannot listen for SIGTERM: {e}");
                std::future::pending::<()>().await;
            }
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => tracing::info!("SIGINT received"),
        () = terminate => tracing::info!("SIGTERM received"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn cli_definition_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn bare_flags_mean_serve_and_train_needs_out() {
        let cli = Cli::try_parse_from(["target-service", "--port", "0", "--work-factor", "3"])
            .expect("flags without subcommand parse");
        assert!(cli.command.is_none());
        assert_eq!(cli.serve.port, 0);
        assert_eq!(cli.serve.work_factor, 3);
        assert!(Cli::try_parse_from(["target-service", "train"]).is_err());
    }

    #[test]
    fn drain_durations_take_units() {
        let cli =
            Cli::try_parse_from(["target-service", "--drain-delay", "1500ms"]).expect("parse");
        assert_eq!(cli.serve.drain_delay, Duration::from_millis(1500));
        let err =
            Cli::try_parse_from(["target-service", "--grace-period", "soon"]).expect_err("bad");
        assert!(err.to_string().contains("--grace-period"), "{err}");
    }
}
