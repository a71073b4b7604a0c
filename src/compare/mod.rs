//! `scaleproof compare BASE CAND`: reads both run directories (timeline, per-second
//! histograms, run.json), refuses runs that measured different things unless forced, and
//! writes `compare.json`, `compare.png`, `compare.html` and `slides/compare.png`; the
//! figures, intervals and judgements are the evidence crate's (`scaleproof_evidence::compare`).

use crate::cli::compare::CompareArgs;
use crate::load::hlog;
use crate::report::draw::DrawError;
use crate::report::kpi;
use crate::support::chain::chain;
use crate::timeline::{self, RunDir, WorkloadSource};
pub use scaleproof_evidence::compare::{
    COMPARE_SCHEMA, CompareDoc, Figure, Judgement, RULE, RunData, bootstrap, chart,
    check_comparable, figures, html,
};
use std::path::{Path, PathBuf};

/// Why two runs could not be compared.
#[derive(Debug, thiserror::Error)]
pub enum CompareError {
    #[error("cannot read the run directory {dir}: {message}")]
    Read { dir: PathBuf, message: String },
    #[error("the runs measured different things (--force compares them all the same): {0}")]
    Incomparable(String),
    #[error("cannot write {path}: {message}")]
    Write { path: PathBuf, message: String },
}

/// A finished comparison.
#[derive(Debug)]
pub struct CompareOutcome {
    pub dir: PathBuf,
    pub doc: CompareDoc,
}

impl CompareOutcome {
    /// 0 no regression, 1 a gating figure is worse beyond the threshold, 4 one is
    /// inconclusive (and none worse).
    pub fn exit_code(&self) -> u8 {
        match self.doc.outcome.as_str() {
            "regression" => 1,
            "inconclusive" => 4,
            _ => 0,
        }
    }
}

/// Compares the two runs of `args` (or two capacity searches) and writes the comparison.
pub fn execute(args: &CompareArgs) -> Result<CompareOutcome, CompareError> {
    let capacity = |p: &Path| p.join("capacity.json").is_file();
    match (capacity(&args.base), capacity(&args.candidate)) {
        (true, true) => return knees(args),
        (false, false) => {}
        _ => {
            return Err(CompareError::Incomparable(
                "one is a capacity directory and the other a run: compare two of either".into(),
            ));
        }
    }
    let base = load(&args.base)?;
    let cand = load(&args.candidate)?;
    let (differ, warnings) = check_comparable(&base.meta, &cand.meta);
    if !differ.is_empty() && !args.force {
        return Err(CompareError::Incomparable(differ.join("; ")));
    }
    let figures = figures(
        &base,
        &cand,
        (args.threshold, args.latency_floor),
        &args.metrics,
    );
    let gating: Vec<&Figure> = figures.iter().filter(|f| f.gates).collect();
    let outcome = if gating.iter().any(|f| f.judgement == Judgement::Worse) {
        "regression"
    } else if gating
        .iter()
        .any(|f| f.judgement == Judgement::Inconclusive)
    {
        "inconclusive"
    } else {
        "no regression"
    };
    let local = [&base, &cand].iter().any(|r| {
        r.meta
            .cluster
            .as_ref()
            .is_some_and(|c| c.source == WorkloadSource::Local)
    });
    let doc = CompareDoc {
        schema: COMPARE_SCHEMA.to_owned(),
        base: base.name.clone(),
        candidate: cand.name.clone(),
        base_started_at: base.meta.started_at,
        candidate_started_at: cand.meta.started_at,
        threshold: args.threshold,
        latency_floor_ms: args.latency_floor,
        rule: RULE.to_owned(),
        figures,
        warnings,
        forced: differ,
        outcome: outcome.to_owned(),
        local,
        alignment: scaleproof_evidence::compare::align::Alignment::of(
            &base.meta.load,
            &cand.meta.load,
        )
        .describe()
        .to_owned(),
    };
    let runs = (&base, &cand);
    let dir = write(
        args,
        &doc,
        &|path| chart::write_png(&doc, runs, path),
        &|| chart::svg(&doc, runs),
    )?;
    Ok(CompareOutcome { dir, doc })
}

/// One run directory as compare reads it.
fn load(path: &Path) -> Result<RunData, CompareError> {
    let bad = |message: String| CompareError::Read {
        dir: path.to_path_buf(),
        message,
    };
    let dir = RunDir::open(path);
    let meta = dir.read_meta().map_err(|e| bad(chain(&e)))?;
    let rows = dir.read(&timeline::TIMELINE).map_err(|e| bad(chain(&e)))?;
    let endpoints = dir.read(&timeline::ENDPOINTS).map_err(|e| bad(chain(&e)))?;
    let source = meta
        .cluster
        .as_ref()
        .map_or(WorkloadSource::Cluster, |c| c.source);
    let kpis = kpi::compute_for(
        &timeline::Timeline::of(&rows, source),
        &meta.totals,
        &meta.expectations,
    );
    let log = std::fs::read(dir.file(timeline::PER_SECOND_HLOG))
        .map_err(|e| bad(format!("{}: {e}", timeline::PER_SECOND_HLOG)))?;
    let entries = hlog::read(&log).map_err(|e| bad(e.to_string()))?;
    let index: std::collections::BTreeMap<u64, usize> =
        rows.iter().enumerate().map(|(i, r)| (r.t_s, i)).collect();
    let headline = match kpis.latency_kind {
        timeline::LatencyKind::Corrected => "corrected",
        timeline::LatencyKind::Raw => "raw",
    };
    let mut seconds = vec![vec![Vec::new(); rows.len()]; 2];
    let mut decoder = hlog::Decoder::default();
    for (start, tag, bytes) in entries {
        let which = match tag.as_str() {
            t if t == headline => 0,
            "raw" => 1,
            _ => continue,
        };
        let Some(&i) = index.get(&start.as_secs()) else {
            continue;
        };
        let h = decoder.decode(&bytes).map_err(|e| bad(e.to_string()))?;
        seconds[which][i] = h
            .iter_recorded()
            .map(|v| (v.value_iterated_to(), v.count_at_value()))
            .collect();
    }
    let named: u64 = endpoints
        .iter()
        .filter(|e| e.endpoint != "(none)")
        .map(|e| e.requests)
        .sum();
    let mut by_endpoint = std::collections::BTreeMap::<&str, u64>::new();
    for e in endpoints.iter().filter(|e| e.endpoint != "(none)") {
        *by_endpoint.entry(&e.endpoint).or_default() += e.requests;
    }
    let top = by_endpoint.values().max().copied();
    Ok(RunData {
        name: dir_name(path),
        latency: bootstrap::Latencies::new(&seconds[0]),
        raw: bootstrap::Latencies::new(&seconds[1]),
        top_endpoint_share: top.filter(|_| named > 0).map(|t| t as f64 / named as f64),
        meta,
        rows,
        kpis,
    })
}

/// Two capacity searches: their knees by their brackets, and both hockey sticks.
fn knees(args: &CompareArgs) -> Result<CompareOutcome, CompareError> {
    type Capacity = scaleproof_evidence::capacity::CapacityDoc;
    let read = |path: &Path| -> Result<(String, Capacity), CompareError> {
        let bad = |message: String| CompareError::Read {
            dir: path.to_path_buf(),
            message,
        };
        let text = std::fs::read_to_string(path.join("capacity.json"))
            .map_err(|e| bad(format!("capacity.json: {e}")))?;
        let doc = serde_json::from_str(&text).map_err(|e| bad(format!("capacity.json: {e}")))?;
        Ok((dir_name(path), doc))
    };
    let (base_name, base) = read(&args.base)?;
    let (cand_name, cand) = read(&args.candidate)?;
    let mut differ = Vec::new();
    if base.scenario != cand.scenario {
        differ.push(format!(
            "the scenarios differ: {} vs {}",
            base.scenario, cand.scenario
        ));
    }
    if base.slo != cand.slo {
        differ.push("the SLOs differ (p95, error rate)".to_owned());
    }
    if !differ.is_empty() && !args.force {
        return Err(CompareError::Incomparable(differ.join("; ")));
    }
    let mut warnings = Vec::new();
    if base.workload != cand.workload || base.target != cand.target {
        warnings.push(format!(
            "different replicas: {} at {} vs {} at {}",
            base.workload, base.target, cand.workload, cand.target
        ));
    }
    let figures = scaleproof_evidence::compare::knees::figures(&base, &cand, args.threshold);
    let outcome = match figures[0].judgement {
        Judgement::Worse => "regression",
        Judgement::Inconclusive => "inconclusive",
        _ => "no regression",
    };
    let doc = CompareDoc {
        schema: COMPARE_SCHEMA.to_owned(),
        base: base_name.clone(),
        candidate: cand_name.clone(),
        base_started_at: base.started_at,
        candidate_started_at: cand.started_at,
        threshold: args.threshold,
        latency_floor_ms: args.latency_floor,
        rule: scaleproof_evidence::compare::knees::KNEE_RULE.to_owned(),
        figures,
        warnings,
        forced: differ,
        outcome: outcome.to_owned(),
        local: base.local || cand.local,
        alignment: "by offered rate (the searches' steps)".to_owned(),
    };
    let dir = write(
        args,
        &doc,
        &|path| chart::knees_png(&doc, (&base, &cand), path),
        &|| {
            Ok("<p><img src=\"compare.png\" alt=\"p95 against the offered rate of both searches\" width=\"100%\"></p>".to_owned())
        },
    )?;
    Ok(CompareOutcome { dir, doc })
}

fn dir_name(path: &Path) -> String {
    path.file_name().map_or_else(
        || path.display().to_string(),
        |n| n.to_string_lossy().into_owned(),
    )
}

/// Writes compare.json, compare.png (drawn by `png`), the same as slides/compare.png, and
/// compare.html (with the markup `picture` makes inline) into `--out`, or
/// reports/compare-BASE-vs-CAND; returns the folder.
fn write(
    args: &CompareArgs,
    doc: &CompareDoc,
    png: &dyn Fn(&Path) -> Result<(), DrawError>,
    picture: &dyn Fn() -> Result<String, DrawError>,
) -> Result<PathBuf, CompareError> {
    let dir = args.out.clone().unwrap_or_else(|| {
        PathBuf::from("reports").join(format!("compare-{}-vs-{}", doc.base, doc.candidate))
    });
    let fail = |path: &Path, message: String| CompareError::Write {
        path: path.to_path_buf(),
        message,
    };
    std::fs::create_dir_all(dir.join("slides")).map_err(|e| fail(&dir, e.to_string()))?;
    let json = serde_json::to_vec_pretty(doc).map_err(|e| fail(&dir, e.to_string()))?;
    let path = dir.join("compare.json");
    std::fs::write(&path, json).map_err(|e| fail(&path, e.to_string()))?;
    let path = dir.join("compare.png");
    png(&path).map_err(|e| fail(&path, e.to_string()))?;
    let slide = dir.join("slides").join("compare.png");
    std::fs::copy(&path, &slide).map_err(|e| fail(&slide, e.to_string()))?;
    let path = dir.join("compare.html");
    let picture = picture().map_err(|e| fail(&path, e.to_string()))?;
    std::fs::write(&path, html::page(doc, &picture)).map_err(|e| fail(&path, e.to_string()))?;
    Ok(dir)
}

/// The comparison as a table, for the terminal.
pub fn table(doc: &CompareDoc) -> String {
    let mut out = format!(
        "{:<54} {:>14} {:>14} {:>24} {:>30}  judgement\n",
        "figure", "base", "candidate", "difference", "95% interval"
    );
    for f in &doc.figures {
        let (diff, ci) = html::difference(f);
        out.push_str(&format!(
            "{:<54} {:>14} {:>14} {:>24} {:>30}  {}{}\n",
            format!("{}{}", f.label, if f.gates { " *" } else { "" }),
            html::value(f.base, &f.unit),
            html::value(f.candidate, &f.unit),
            diff,
            ci,
            f.judgement.label(),
            if f.gates && f.judgement == Judgement::Worse {
                "  ← regression"
            } else {
                ""
            }
        ));
    }
    out.push_str(&format!(
        "* sets the exit code. Threshold {:.1}%, latency floor {} ms. Rule: {}\n",
        100.0 * doc.threshold,
        doc.latency_floor_ms,
        doc.rule
    ));
    out.push_str(&format!("picture: {}\n", doc.alignment));
    for w in &doc.warnings {
        out.push_str(&format!("warning: {w}\n"));
    }
    for f in &doc.forced {
        out.push_str(&format!("forced: {f}\n"));
    }
    if doc.local {
        out.push_str("note: LOCAL replicas in at least one run: simulated on one machine\n");
    }
    out.push_str(&format!("compare: {}\n", doc.outcome));
    out
}
