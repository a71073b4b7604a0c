//! What a capacity search leaves: its directory, `capacity.csv` (one row per step),
//! `capacity.json` (knee, SLO, steps, plan, fit), `hpa.yaml`, `capacity.png` and
//! `slides/capacity.png`; and the lines it prints.

use super::CapacityError;
use super::cap::{self, CAPACITY_SCHEMA, CapacityDoc, Ending, KneeAt, Slo, StepRow, plan, usl};
use crate::cli::capacity::CapacityArgs;
use crate::config::{RunConfig, Target};
use crate::timeline::RunDir;
use chrono::{DateTime, Utc};
use std::path::{Path, PathBuf};

/// Makes `out/STAMP-capacity-SCENARIO/` (a suffix when it exists) as a run directory is made,
/// and its `steps/`.
pub(super) fn create_dir(
    out: &Path,
    at: DateTime<Utc>,
    scenario: &str,
) -> Result<PathBuf, CapacityError> {
    let dir = RunDir::create(out, at, &format!("capacity-{scenario}"))?;
    let steps = dir.file("steps");
    std::fs::create_dir(&steps).map_err(|source| CapacityError::Write {
        path: steps,
        source,
    })?;
    Ok(dir.path().to_path_buf())
}

/// A step in one line.
pub(super) fn step_line(s: &StepRow) -> String {
    format!(
        "step {} · {} replica{} · {:.0} rps offered for {:.0} s: {} — {}",
        s.step,
        s.replicas,
        if s.replicas == 1 { "" } else { "s" },
        s.offered_rps,
        s.duration_s,
        s.outcome.label().to_uppercase(),
        s.reason
    )
}

/// Everything the search found, for [`document`].
pub(super) struct Found<'a> {
    pub(super) args: &'a CapacityArgs,
    pub(super) base: &'a RunConfig,
    pub(super) local: bool,
    pub(super) started_at: DateTime<Utc>,
    pub(super) duration_s: f64,
    pub(super) slo: Slo,
    pub(super) steps: Vec<StepRow>,
    pub(super) scaling: Vec<KneeAt>,
    /// The knee at one replica, the first rate that failed above it, its CPU.
    pub(super) knee: (Option<f64>, Option<f64>, Option<f64>),
    pub(super) ending: Ending,
    pub(super) startup_s: Option<f64>,
    /// A watched container's CPU request (local replicas have theirs in the config).
    pub(super) cpu_request_m: Option<f64>,
    /// Why a cluster's CPU was unknown in some steps.
    pub(super) cpu_notes: Vec<String>,
}

/// The verification ramp: from 0 to the target over this many seconds, then held 2 min.
const RAMP_S: f64 = 60.0;

/// `capacity.json`'s document.
pub(super) fn document(f: Found<'_>) -> CapacityDoc {
    let (knee_rps, fail_rps, knee_cpu_m) = f.knee;
    let local = f.base.local.as_ref();
    let deployment = f
        .base
        .cluster
        .as_ref()
        .map_or(crate::local::controller::WORKLOAD.to_owned(), |c| {
            c.deployment.clone()
        });
    let sync_period_s = local.map_or(15.0, |l| l.sync_period.as_secs_f64());
    let plan = knee_rps.map(|k| {
        plan::plan(&plan::PlanInputs {
            target_rps: f.args.target_rps,
            knee_rps: k,
            knee_cpu_m,
            cpu_request_m: local
                .map(|l| f64::from(l.cpu_request_m))
                .or(f.cpu_request_m),
            headroom: f.args.headroom,
            startup_s: f.startup_s,
            sync_period_s,
            ramp_s: RAMP_S,
            deployment,
        })
    });
    let verify_command = plan.as_ref().map(|p| verify_command(f.args, f.base, p));
    let points: Vec<(f64, f64)> = f
        .scaling
        .iter()
        .filter_map(|k| k.knee_rps.map(|r| (f64::from(k.replicas), r)))
        .collect();
    let fit = usl::fit(&points);
    let more_stop_helping_at = fit
        .and_then(|u| u.peak_replicas())
        .filter(|n| *n < 1000.0)
        .map(|n| n.round().max(1.0) as u32);
    let mut notes = Vec::new();
    if f.local {
        notes.push(
            "LOCAL: the replica ran on this machine beside the generator (simulated, not a cluster's pod)"
                .to_owned(),
        );
    }
    if let Some(u) = &fit {
        notes.push(format!(
            "USL fitted to {} replica counts (R² {:.3}){}",
            u.points,
            u.r_squared,
            if u.points <= 3 {
                ": with three points or fewer, κ is only rough"
            } else {
                ""
            }
        ));
    }
    for why in &f.cpu_notes {
        notes.push(format!("CPU unknown in some steps: {why}"));
    }
    if f.ending != Ending::Converged {
        notes.push(format!("the search ended: {}", f.ending.describe()));
    }
    CapacityDoc {
        schema: CAPACITY_SCHEMA.to_owned(),
        scenario: f.base.scenario.name.clone(),
        target: match &f.base.target {
            Target::Url(u) => u.to_string(),
            Target::Embedded => "local replica (this machine)".to_owned(),
        },
        local: f.local,
        workload: workload(f.base),
        started_at: f.started_at,
        duration_s: crate::timeline::round_ms(f.duration_s),
        slo: f.slo,
        step_rule: format!(
            "each step offers one open-model rate for {} requests' worth of time (5–20 s; 1,000 puts 50 above the p95), its whole length judged; requests time out after {} s (10× the p95, at least 2 s) as failures; {} s between steps for queues to drain; the rate doubles from {} rps until a step fails, then the bracket is bisected to {:.0}%",
            f.args.step_requests,
            super::step::request_timeout(f.args.slo_p95).as_secs_f64(),
            super::DRAIN.as_secs(),
            f.args.start_rps,
            100.0 * f.args.precision
        ),
        knee_rps,
        fail_rps,
        knee_cpu_m,
        ending: f.ending,
        steps: f.steps,
        plan,
        verify_command,
        scaling: f.scaling,
        usl: fit,
        more_stop_helping_at,
        notes,
    }
}

/// What the replica is, in words.
fn workload(base: &RunConfig) -> String {
    match (&base.local, &base.cluster) {
        (Some(l), _) => match &l.command {
            Some(c) => format!("LOCAL replica: {} (limit {}m)", c.command, l.cpu_limit_m),
            None => format!(
                "LOCAL replica: bundled target-service, work factor {} (limit {}m)",
                l.work_factor, l.cpu_limit_m
            ),
        },
        (None, Some(c)) => format!("Deployment {}", c.deployment),
        (None, None) => "one replica behind the URL".to_owned(),
    }
}

/// The scaleproof command that checks the plan: a ramp to the target (and 5% more, held
/// 2 min) with the SLO and the replica count as expectations.
fn verify_command(args: &CapacityArgs, base: &RunConfig, p: &plan::Plan) -> String {
    let rate = (p.target_rps * 1.05).round();
    let mut words = vec!["scaleproof".to_owned()];
    if let Some(s) = &args.scenario {
        words.push(format!("--scenario {}", s.display()));
    }
    match (&base.target, &base.local) {
        (Target::Url(u), _) => {
            words.push(format!("--host {u}"));
            if let Some(c) = &base.cluster {
                words.push(format!("--deployment {}", c.deployment));
                if let Some(ns) = &c.namespace {
                    words.push(format!("--namespace {ns}"));
                }
            }
        }
        (Target::Embedded, Some(l)) => {
            match &l.command {
                Some(c) => {
                    words.push(format!("--replica-cmd '{}'", c.command));
                    for (k, v) in &args.replica_env {
                        words.push(format!("--replica-env {k}={v}"));
                    }
                    words.push(format!("--ready-path {}", c.ready_path));
                }
                None => words.push(format!("--work-factor {}", l.work_factor)),
            }
            words.push(format!(
                "--cpu-request {}m --cpu-limit {}m",
                l.cpu_request_m, l.cpu_limit_m
            ));
            words.push(format!("--replicas 1..{}", p.max_replicas));
            if let Some(t) = p.hpa_target_pct {
                words.push(format!("--hpa-target {t}%"));
            }
        }
        (Target::Embedded, None) => {}
    }
    words.push(format!("--rate {rate}:{RAMP_S}s,{rate}:2m"));
    words.push(format!("--expect-rps {:.0}", p.target_rps));
    words.push(format!("--expect-p95 {:.0}ms", args.slo_p95));
    words.push(format!(
        "--expect-error-rate {}%",
        100.0 * args.slo_error_rate
    ));
    words.push(format!("--expect-replicas {}", p.replicas_for_target));
    words.join(" ")
}

/// Writes every file of the capacity directory.
pub(super) fn all(
    dir: &Path,
    doc: &CapacityDoc,
    cpu_limit_m: Option<f64>,
) -> Result<(), CapacityError> {
    let run = RunDir::open(dir);
    run.write(&cap::CAPACITY, &doc.steps)?;
    run.write_json("capacity.json", doc)?;
    if let Some(yaml) = doc.plan.as_ref().and_then(|p| p.hpa_yaml.as_deref()) {
        run.write_bytes("hpa.yaml", yaml.as_bytes())?;
    }
    let chart = |path: &Path| {
        cap::chart::write_png(doc, cpu_limit_m, path)
            .map_err(|e| CapacityError::Chart(e.to_string()))
    };
    chart(&dir.join("capacity.png"))?;
    // The slide is the same picture.
    let slides = dir.join("slides");
    std::fs::create_dir_all(&slides)
        .and_then(|()| std::fs::copy(dir.join("capacity.png"), slides.join("capacity.png")))
        .map(drop)
        .map_err(|source| CapacityError::Write {
            path: slides,
            source,
        })
}

/// The result as a short table, for the terminal.
pub fn table(doc: &CapacityDoc) -> String {
    let mut out = String::new();
    let opt =
        |v: Option<f64>, unit: &str| v.map_or("unknown".to_owned(), |v| format!("{v:.0}{unit}"));
    let row = |out: &mut String, k: &str, v: String| out.push_str(&format!("{k:<24} {v}\n"));
    row(
        &mut out,
        "knee (1 replica)",
        match (doc.knee_rps, doc.fail_rps) {
            (Some(k), Some(f)) => format!("{k:.0} rps (held the SLO; {f:.0} rps did not)"),
            (Some(k), None) => format!("≥ {k:.0} rps ({})", doc.ending.describe()),
            (None, Some(f)) => format!("below {f:.0} rps: the first step failed"),
            (None, None) => "unknown: no step finished".to_owned(),
        },
    );
    row(&mut out, "CPU at the knee", opt(doc.knee_cpu_m, "m"));
    if let Some(p) = &doc.plan {
        row(
            &mut out,
            &format!("replicas for {:.0} rps", p.target_rps),
            format!(
                "{} (at {:.0}% of the knee each)",
                p.replicas_for_target,
                100.0 * p.headroom
            ),
        );
        row(
            &mut out,
            "HPA averageUtilization",
            p.hpa_target_pct
                .map_or("unknown (no CPU measured)".to_owned(), |t| {
                    format!("{t}% (min {} max {})", p.min_replicas, p.max_replicas)
                }),
        );
    }
    if let Some(u) = &doc.usl {
        row(
            &mut out,
            "USL",
            format!(
                "σ {:.3} κ {:.4} R² {:.3}{}",
                u.sigma,
                u.kappa,
                u.r_squared,
                doc.more_stop_helping_at.map_or(String::new(), |n| format!(
                    "; more than {n} replicas stop helping"
                ))
            ),
        );
    }
    if let Some(c) = &doc.verify_command {
        row(&mut out, "verify", c.clone());
    }
    for a in doc.plan.iter().flat_map(|p| &p.assumptions) {
        out.push_str(&format!("assumes: {a}\n"));
    }
    for n in &doc.notes {
        out.push_str(&format!("note: {n}\n"));
    }
    out
}
