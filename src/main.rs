//! The `scaleproof` command line: parse, run, report, print the verdict, exit with a
//! documented code.

use anyhow::Context;
use clap::{CommandFactory, FromArgMatches, Parser};
use scaleproof::cli::{
    Cli, Command, DoctorArgs, MergeArgs, ReplayArgs, ReportArgs, RunArgs, WorkerArgs,
};
use scaleproof::config::{RunConfig, Target};
use scaleproof::doctor::DoctorConfig;
use scaleproof::load::control::EndReason;
use scaleproof::report::{self, headline};
use scaleproof::spec::expectations::Expectations;
use scaleproof::support::checks::Status;
use scaleproof::verdict::{self, State};
use std::path::Path;
use std::process::ExitCode;
use std::time::Duration;

/// An expectation failed.
const EXIT_FAILED: u8 = 1;
/// Invalid arguments, scenario or run directory: nothing was sent.
const EXIT_USAGE: u8 = 2;
/// The run could not be carried out or its directory or reports not written.
const EXIT_RUN: u8 = 3;
/// The evidence cannot support a pass (see the verdict's caveats and checks).
const EXIT_INCONCLUSIVE: u8 = 4;

/// Why the command ended without a verdict: an exit code and the error chain to print once.
#[derive(Debug)]
struct Failure {
    code: u8,
    error: anyhow::Error,
}

trait OrExit<T> {
    fn or_exit(self, code: u8) -> Result<T, Failure>;
}

impl<T, E: Into<anyhow::Error>> OrExit<T> for Result<T, E> {
    fn or_exit(self, code: u8) -> Result<T, Failure> {
        self.map_err(|e| Failure {
            code,
            error: e.into(),
        })
    }
}

fn main() -> ExitCode {
    let matches = match Cli::command().try_get_matches() {
        Ok(matches) => matches,
        Err(e) => return usage_error(&e),
    };
    let cli = match Cli::from_arg_matches(&matches) {
        Ok(cli) => cli,
        Err(e) => return usage_error(&e),
    };
    // The run's own flags, as given (a shared run hands them to its workers).
    let run_matches = matches.subcommand_matches("run").unwrap_or(&matches);
    init_logging();
    match run(cli, run_matches) {
        Ok(code) => code,
        Err(failure) => {
            eprintln!("scaleproof: {:#}", failure.error);
            ExitCode::from(failure.code)
        }
    }
}

/// `--help` and `--version` print as clap prints them; a bad argument is one line naming it.
fn usage_error(e: &clap::Error) -> ExitCode {
    use clap::error::ErrorKind;
    if matches!(
        e.kind(),
        ErrorKind::DisplayHelp
            | ErrorKind::DisplayVersion
            | ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand
    ) {
        let _ = e.print();
        return ExitCode::SUCCESS;
    }
    let text = e.render().to_string();
    let first = text.lines().next().unwrap_or_default();
    eprintln!(
        "scaleproof: {} (see --help)",
        first.strip_prefix("error: ").unwrap_or(first)
    );
    ExitCode::from(EXIT_USAGE)
}

fn init_logging() {
    use std::io::IsTerminal;
    tracing_subscriber::fmt()
        .with_env_filter(
            // Only scaleproof's own warnings by default. Libraries log once per failure (rustls:
            // one line per refused handshake, kube-rs: every watch retry); those failures are
            // counted and explained once, in the error catalogue and the cluster warnings.
            // RUST_LOG=rustls=debug,kube=debug,… shows a library's own view.
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| {
                tracing_subscriber::EnvFilter::new("off,scaleproof=warn,target_service=warn")
            }),
        )
        .with_ansi(std::io::stderr().is_terminal())
        .with_writer(std::io::stderr)
        .init();
}

fn run(cli: Cli, matches: &clap::ArgMatches) -> Result<ExitCode, Failure> {
    match cli.command {
        Some(Command::Worker(args)) => worker(*args),
        Some(Command::Report(args)) => report_only(&args),
        Some(Command::Merge(args)) => merge(&args),
        Some(Command::Replay(args)) => replay(&args),
        Some(Command::Doctor(args)) => doctor(*args),
        Some(Command::Capacity(args)) => capacity(&args),
        Some(Command::Compare(args)) => compare(&args),
        Some(Command::Replica(args)) => {
            scaleproof::local::replica::serve(&scaleproof::local::replica::ReplicaOptions {
                served_by: args.served_by,
                cpu_limit_m: args.cpu_limit_m,
                work_factor: args.work_factor,
                grace_period: args.grace_period,
            })
            .or_exit(EXIT_RUN)?;
            Ok(ExitCode::SUCCESS)
        }
        Some(Command::Run(args)) => load_test(*args, matches),
        None => load_test(cli.run, matches),
    }
}

fn load_test(args: RunArgs, matches: &clap::ArgMatches) -> Result<ExitCode, Failure> {
    let fleet = scaleproof::cli::fleet_options(&args, matches).or_exit(EXIT_USAGE)?;
    let config = RunConfig::try_from(args).or_exit(EXIT_USAGE)?;
    if fleet.is_some() {
        scaleproof::cli::check_shared(&config).or_exit(EXIT_USAGE)?;
    }
    let outcome = match &fleet {
        Some(fleet) => scaleproof::fleet::controller::execute(&config, fleet).or_exit(EXIT_RUN)?,
        None => match scaleproof::run::execute(&config) {
            Ok(outcome) => outcome,
            Err(e) => {
                // A run that ended before its load still gets its report (no seconds, the
                // reason on top), quietly: the error says why and where.
                if let scaleproof::run::RunError::NotReady { dir: Ok(dir), .. } = &e {
                    let _ = report::render(dir, None);
                }
                return Err(e).or_exit(EXIT_RUN);
            }
        },
    };
    let state = render(&outcome.dir, None);
    match &state {
        Ok((_, line)) => eprintln!(
            "scaleproof: {} after {:.1} s: {line}",
            outcome.end, outcome.meta.duration_s
        ),
        Err(_) => {
            let t = &outcome.meta.totals;
            eprintln!(
                "scaleproof: {} after {:.1} s: {} requests, {} failed, {} dropped (no report: see below)",
                outcome.end,
                outcome.meta.duration_s,
                headline::thousands(t.requests),
                headline::thousands(t.errors),
                headline::thousands(t.dropped)
            );
        }
    }
    println!("{}", outcome.dir.display());
    if let Some(live) = &outcome.live {
        let (verdict, line) = match &state {
            Ok((state, line)) => (serde_json::json!(state), line.clone()),
            Err(_) => (
                serde_json::json!("none"),
                "no report: see the terminal".to_owned(),
            ),
        };
        let report = std::fs::read(outcome.dir.join("report.html")).ok();
        live.hub().finish(
            serde_json::json!({
                "state": verdict,
                "line": line,
                "end_reason": outcome.end.to_string(),
                "totals": {
                    "requests": outcome.meta.totals.requests,
                    "errors": outcome.meta.totals.errors,
                    "dropped": outcome.meta.totals.dropped,
                },
            }),
            report,
        );
        let linger = config.live.as_ref().map_or(Duration::ZERO, |l| l.linger);
        if !linger.is_zero() {
            eprintln!(
                "scaleproof: the live page {} shows the verdict for {} more (Ctrl-C to leave now)",
                live.url(),
                humantime::format_duration(linger)
            );
        }
        live.linger(linger);
    }
    let (state, _) = state?;
    Ok(match outcome.end {
        EndReason::Interrupted(signal) => ExitCode::from(signal.exit_code()),
        EndReason::Completed => exit_code(state),
    })
}

fn capacity(args: &scaleproof::cli::capacity::CapacityArgs) -> Result<ExitCode, Failure> {
    use scaleproof::capacity::CapacityError;
    let outcome = scaleproof::capacity::execute(args).map_err(|e| {
        let code = match e {
            CapacityError::Config(_) | CapacityError::Refused(_) => EXIT_USAGE,
            _ => EXIT_RUN,
        };
        Failure {
            code,
            error: e.into(),
        }
    })?;
    eprint!("{}", scaleproof::capacity::table(&outcome.doc));
    eprintln!(
        "scaleproof: capacity chart {}",
        outcome.dir.join("capacity.png").display()
    );
    println!("{}", outcome.dir.display());
    Ok(ExitCode::from(outcome.exit_code()))
}

fn compare(args: &scaleproof::cli::compare::CompareArgs) -> Result<ExitCode, Failure> {
    let outcome = scaleproof::compare::execute(args).or_exit(EXIT_USAGE)?;
    eprint!("{}", scaleproof::compare::table(&outcome.doc));
    eprintln!(
        "scaleproof: compare {}",
        outcome.dir.join("compare.html").display()
    );
    println!("{}", outcome.dir.display());
    Ok(ExitCode::from(outcome.exit_code()))
}

fn doctor(args: DoctorArgs) -> Result<ExitCode, Failure> {
    let json = args.json;
    let config = DoctorConfig::try_from(args).or_exit(EXIT_USAGE)?;
    let report = scaleproof::doctor::run(&config)
        .context("cannot start the async runtime")
        .or_exit(EXIT_RUN)?;
    if json {
        let text = serde_json::to_string_pretty(&report)
            .context("cannot serialize the findings")
            .or_exit(EXIT_RUN)?;
        println!("{text}");
    } else {
        println!("{}", report.text());
    }
    Ok(if report.status == Status::Fail {
        ExitCode::from(EXIT_FAILED)
    } else {
        ExitCode::SUCCESS
    })
}

fn exit_code(state: State) -> ExitCode {
    match state {
        State::Pass | State::None => ExitCode::SUCCESS,
        State::Fail => ExitCode::from(EXIT_FAILED),
        State::Inconclusive => ExitCode::from(EXIT_INCONCLUSIVE),
    }
}

/// Writes the reports and prints the verdict; returns its state and the headline line.
fn render(dir: &Path, expect: Option<&Expectations>) -> Result<(State, String), Failure> {
    let rendered = report::render(dir, expect)
        .with_context(|| format!("cannot write the reports of {}", dir.display()))
        .or_exit(EXIT_RUN)?;
    let summary = &rendered.summary;
    for line in headline::scaling_lines(summary)
        .into_iter()
        .chain(headline::error_lines(summary))
    {
        eprintln!("scaleproof: {line}");
    }
    eprint!("{}", verdict::table(&summary.verdict));
    eprintln!("scaleproof: report {}", dir.join("report.html").display());
    Ok((summary.verdict.state, headline::line(summary)))
}

fn merge(args: &MergeArgs) -> Result<ExitCode, Failure> {
    let dir = scaleproof::merge::merge(&args.run_dirs, &args.out).or_exit(EXIT_USAGE)?;
    eprintln!(
        "scaleproof: merged {} worker runs into {}",
        args.run_dirs.len(),
        dir.display()
    );
    let (state, line) = render(&dir, None)?;
    eprintln!("scaleproof: {line}");
    Ok(exit_code(state))
}

fn replay(args: &ReplayArgs) -> Result<ExitCode, Failure> {
    use scaleproof::report::replay::{ReplayFormat, ReplayOptions};
    let (format, default_size, default_out) = match args.format.as_str() {
        "apng" => (ReplayFormat::Apng, (1920, 1080), "replay.png"),
        "frames" => (ReplayFormat::Frames, (1920, 1080), "replay-frames"),
        _ => (ReplayFormat::Gif, (960, 540), "replay.gif"),
    };
    let options = ReplayOptions {
        speed: args.speed,
        fps: args.fps,
        size: args.size.unwrap_or(default_size),
        format,
        out: args
            .out
            .clone()
            .unwrap_or_else(|| args.run_dir.join(default_out)),
    };
    let mut said = 0;
    let outcome = scaleproof::report::replay::replay(&args.run_dir, &options, |done, total| {
        let tenth = done * 10 / total;
        if tenth > said || done == total {
            said = tenth;
            eprintln!("scaleproof: replay: {done}/{total} frames");
        }
    })
    .or_exit(EXIT_RUN)?;
    eprintln!(
        "scaleproof: {} frames at {} fps, ×{} ({}x{}): {}",
        outcome.frames,
        options.fps,
        options.speed,
        options.size.0,
        options.size.1,
        outcome.out.display()
    );
    eprintln!(
        "scaleproof: what each frame shows: {}",
        outcome.frames_csv.display()
    );
    if let Some(ffmpeg) = &outcome.ffmpeg {
        eprintln!("scaleproof: make an MP4 (ffmpeg is not needed by scaleproof):\n  {ffmpeg}");
    }
    println!("{}", outcome.out.display());
    Ok(ExitCode::SUCCESS)
}

/// One pod of a shared run: see `scaleproof::fleet::worker`.
fn worker(args: WorkerArgs) -> Result<ExitCode, Failure> {
    use scaleproof::fleet::{self, worker};
    let usage = |message: String| Failure {
        code: EXIT_USAGE,
        error: anyhow::anyhow!(message),
    };
    if args.index >= args.workers {
        return Err(usage(format!(
            "worker index {} is not below the worker count {}",
            args.index, args.workers
        )));
    }
    let run = scaleproof::fleet::store::Store::open(&args.store)
        .or_exit(EXIT_USAGE)?
        .under(&fleet::run_prefix(&args.run_id));
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")
        .or_exit(EXIT_RUN)?;
    std::fs::create_dir_all(&args.out)
        .with_context(|| format!("cannot create {}", args.out.display()))
        .or_exit(EXIT_RUN)?;
    let scratch = tempfile::tempdir_in(&args.out)
        .with_context(|| format!("cannot create a directory in {}", args.out.display()))
        .or_exit(EXIT_RUN)?;
    let mut load = vec!["scaleproof".to_owned(), "run".to_owned()];
    load.extend(args.load.iter().cloned());
    if let Some(object) = &args.scenario_object {
        let path = runtime
            .block_on(worker::fetch_scenario(&run, object, scratch.path()))
            .or_exit(EXIT_RUN)?;
        load.push(format!("--scenario={}", path.display()));
    }
    load.extend([
        "--no-cluster".to_owned(),
        format!("--worker={}/{}", args.index, args.workers),
        format!("--out={}", scratch.path().join("reports").display()),
    ]);
    let cli = Cli::try_parse_from(&load).map_err(|e| {
        usage(format!(
            "the worker's load flags: {}",
            e.render().to_string().lines().next().unwrap_or_default()
        ))
    })?;
    let Some(Command::Run(run_args)) = cli.command else {
        return Err(usage("the worker's load flags are not a run".to_owned()));
    };
    let mut config = RunConfig::try_from(*run_args).or_exit(EXIT_USAGE)?;
    let Target::Url(target) = &config.target else {
        return Err(usage(
            "a worker needs --host among its load flags".to_owned(),
        ));
    };
    let start = runtime
        .block_on(worker::ready(&run, args.index, target, args.ready_timeout))
        .or_exit(EXIT_RUN)?;
    config.start_at = Some(start);
    let outcome = scaleproof::run::execute(&config).or_exit(EXIT_RUN)?;
    // The worker's own reports (no verdict: that is the merged run's).
    if let Err(e) = render(&outcome.dir, None) {
        eprintln!("scaleproof: {:#}", e.error);
    }
    let files = runtime
        .block_on(worker::deliver(
            &run,
            args.index,
            &outcome.dir,
            &outcome.end.to_string(),
        ))
        .or_exit(EXIT_RUN)?;
    eprintln!(
        "scaleproof: worker {}: {} after {:.1} s; {files} files delivered to {}",
        args.index,
        outcome.end,
        outcome.meta.duration_s,
        run.url()
    );
    Ok(match outcome.end {
        EndReason::Interrupted(signal) => ExitCode::from(signal.exit_code()),
        EndReason::Completed => ExitCode::SUCCESS,
    })
}

fn report_only(args: &ReportArgs) -> Result<ExitCode, Failure> {
    let meta = scaleproof::timeline::RunDir::open(&args.run_dir)
        .read_meta()
        .or_exit(EXIT_USAGE)?;
    let expect = args.expect.apply(meta.expectations);
    let (state, line) = render(&args.run_dir, Some(&expect))?;
    eprintln!("scaleproof: {line}");
    Ok(exit_code(state))
}
