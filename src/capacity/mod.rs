//! `scaleproof capacity`: one replica's knee at the SLO, by open-model steps that are each an
//! ordinary run (in `steps/`, with its report), and the plan for the target rate, written to
//! a capacity directory: `capacity.csv`, `capacity.json`, `hpa.yaml`, `capacity.png` and its
//! slide. The search, the judgement, the plan and the fit are the evidence crate's
//! ([`crate::capacity`] there); this module runs the steps and writes what they found.

mod step;
mod write;

use crate::cli::ConfigError;
use crate::cli::capacity::CapacityArgs;
use crate::config::Target;
use scaleproof_evidence::capacity as cap;
pub use scaleproof_evidence::capacity::{
    CAPACITY_SCHEMA, CapacityDoc, Ending, KneeAt, Outcome, STEP_COLUMNS, Search, Slo, StepRow,
    chart, judge, plan, search, usl,
};
use std::path::PathBuf;
use std::time::{Duration, Instant};
pub use write::table;

/// Each step's rate grows by this factor until one fails.
const GROWTH: f64 = 2.0;
/// Pause between steps, so that queues of the last one drain.
const DRAIN: Duration = Duration::from_secs(1);
/// A step is held at least this long, at most the longer.
pub const STEP_MIN: Duration = Duration::from_secs(5);
pub const STEP_MAX: Duration = Duration::from_secs(20);

/// Why the capacity search could not be carried out.
#[derive(Debug, thiserror::Error)]
pub enum CapacityError {
    #[error(transparent)]
    Config(#[from] ConfigError),
    #[error("{0}")]
    Refused(String),
    #[error(transparent)]
    Run(#[from] crate::run::RunError),
    #[error("cannot write the reports of a step")]
    Report(#[from] crate::report::ReportError),
    #[error("cannot write the capacity directory {path}")]
    Write {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("cannot draw the capacity chart: {0}")]
    Chart(String),
    #[error(transparent)]
    RunDir(#[from] crate::timeline::RunDirError),
    #[error("cannot join the steps into one run directory")]
    Join(#[from] crate::merge::MergeError),
}

/// A finished search.
#[derive(Debug)]
pub struct CapacityOutcome {
    pub dir: PathBuf,
    pub doc: CapacityDoc,
}

impl CapacityOutcome {
    /// 0 the knee was bracketed within the precision; 1 the first step already failed (no
    /// knee); 4 the knee is only a lower bound (the generator, the time or the highest rate
    /// ran out first); 130 a signal stopped it (what was found is written all the same).
    pub fn exit_code(&self) -> u8 {
        match self.doc.ending {
            Ending::Converged => 0,
            Ending::BelowFirstStep => 1,
            Ending::GeneratorLimited | Ending::OutOfTime | Ending::AboveMaxRate => 4,
            Ending::Interrupted => 130,
        }
    }
}

/// How long a step at `rate` lasts: long enough for `requests` (50 above the p95 for 1,000),
/// between [`STEP_MIN`] and [`STEP_MAX`].
pub fn step_length(rate: f64, requests: usize) -> Duration {
    let secs = (requests as f64 / rate).ceil();
    Duration::from_secs_f64(secs).clamp(STEP_MIN, STEP_MAX)
}

/// Runs the search and writes the capacity directory.
pub fn execute(args: &CapacityArgs) -> Result<CapacityOutcome, CapacityError> {
    let started = Instant::now();
    let started_at = chrono::Utc::now();
    let base = step::config(args, 1, args.start_rps, STEP_MIN, &args.out)?;
    let local = matches!(base.target, Target::Embedded);
    let dir = write::create_dir(&args.out, started_at, &base.scenario.name)?;
    let slo = Slo {
        p95_ms: args.slo_p95,
        error_rate: args.slo_error_rate,
        min_ok_share: 0.99,
    };
    let mut steps: Vec<StepRow> = Vec::new();
    let mut scaling: Vec<KneeAt> = Vec::new();
    let mut first_ending = None;
    let mut startup_s = None;
    let mut cpu_request_m = None;
    let mut cpu_notes: Vec<String> = Vec::new();
    let deployment = base.cluster.as_ref().map(|c| c.deployment.clone());
    let mut interrupted = false;
    for (i, &n) in args.replicas.iter().enumerate() {
        if interrupted {
            break;
        }
        if !local && i > 0 {
            step::ask_to_scale(deployment.as_deref(), n)?;
        }
        // Past one replica the search starts near where the last count's knee predicts.
        let start = match scaling.last().and_then(|k| k.knee_rps) {
            Some(k) if i > 0 => {
                (k * f64::from(n) / f64::from(args.replicas[i - 1]) / 2.0).max(args.start_rps)
            }
            _ => args.start_rps,
        };
        let mut search = Search::new(start, GROWTH, args.precision, args.max_rps);
        while let Some(rate) = search.next_rate() {
            let length = step_length(rate, args.step_requests);
            if started.elapsed() + length + DRAIN > args.max_time {
                search.out_of_time();
                break;
            }
            let number = steps.len() as u32 + 1;
            let measured = step::run(args, &dir, (number, n), rate, length, &slo)?;
            if n == 1 && !local {
                step::check_one_pod(measured.served_by, deployment.as_deref())?;
            }
            startup_s = startup_s.or(measured.startup_s);
            cpu_request_m = cpu_request_m.or(measured.cpu_request_m);
            if let Some(why) = &measured.cpu_unknown
                && !cpu_notes.contains(why)
            {
                cpu_notes.push(why.clone());
            }
            eprintln!("scaleproof: capacity {}", write::step_line(&measured.row));
            steps.push(measured.row.clone());
            if measured.interrupted {
                search.interrupted();
                interrupted = true;
                break;
            }
            search.record(rate, measured.row.outcome);
            std::thread::sleep(DRAIN);
        }
        let ending = search.ended().unwrap_or(Ending::OutOfTime);
        first_ending.get_or_insert(ending);
        let (knee_rps, fail_rps) = search.bracket();
        scaling.push(KneeAt {
            replicas: n,
            knee_rps,
            fail_rps,
            ending,
        });
    }
    let one = scaling
        .iter()
        .find(|k| k.replicas == 1)
        .or(scaling.first())
        .cloned();
    let knee_rps = one.as_ref().and_then(|k| k.knee_rps);
    let knee_replicas = one.as_ref().map_or(1, |k| k.replicas);
    let knee_cpu_m = knee_rps.and_then(|k| {
        steps
            .iter()
            .find(|s| {
                s.replicas == knee_replicas && s.offered_rps == k && s.outcome == Outcome::Pass
            })
            .and_then(|s| s.cpu_m)
    });
    let doc = write::document(write::Found {
        args,
        base: &base,
        local,
        started_at,
        duration_s: started.elapsed().as_secs_f64(),
        slo,
        steps,
        scaling,
        knee: (knee_rps, one.as_ref().and_then(|k| k.fail_rps), knee_cpu_m),
        ending: first_ending.unwrap_or(Ending::OutOfTime),
        startup_s,
        cpu_request_m,
        cpu_notes,
    });
    write::all(
        &dir,
        &doc,
        base.local.as_ref().map(|l| f64::from(l.cpu_limit_m)),
    )?;
    join_steps(&dir, &doc)?;
    Ok(CapacityOutcome { dir, doc })
}

/// The steps joined back to back into the capacity directory itself, an ordinary run
/// directory (timeline, histograms, run.json; its report rendered, with no expectations:
/// each step was judged on its own), so that `report` works on the whole search.
fn join_steps(dir: &std::path::Path, doc: &CapacityDoc) -> Result<(), CapacityError> {
    let steps: Vec<PathBuf> = doc.steps.iter().map(|s| dir.join(&s.run_dir)).collect();
    if steps.is_empty() {
        return Ok(());
    }
    let description = format!(
        "capacity search: {} steps of one open-model rate each, joined back to back (the gaps between them left out); capacity.csv judges each",
        steps.len()
    );
    crate::merge::join(&steps, &description)?.write_into(dir)?;
    crate::report::render(dir, None)?;
    Ok(())
}
