//! Rendering a run directory's reports: reads it, computes the KPIs and the verdict, and
//! writes `summary.json`, the charts (PNG and SVG), `dashboard.png` and `report.html` into it.

use super::draw::{self, DrawError};
use super::summary::{ClusterSummary, ErrorSummary, SUMMARY_SCHEMA, Summary};
use super::{dashboard, gantt, html, kpi, markup, series, slides};
use crate::scaling;
use crate::spec::expectations::Expectations;
use crate::timeline::{self, RunDir, RunDirError};
use crate::verdict;
use std::path::{Path, PathBuf};

/// Size of a chart: inline in report.html as it is, and in its own PNG/SVG file under a
/// 72 px title strip (1280×552).
pub const CHART_SIZE: (u32, u32) = (1280, 480);
/// Chart file stems, in display order.
pub const CHARTS: [&str; 4] = ["throughput", "latency", "replicas", "endpoints"];

/// Why a report could not be made.
#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    #[error(transparent)]
    RunDir(#[from] RunDirError),
    #[error("cannot draw {what}")]
    Chart {
        what: String,
        #[source]
        source: DrawError,
    },
}

/// What [`render`] produced.
#[derive(Debug)]
pub struct Rendered {
    pub summary: Summary,
    pub files: Vec<PathBuf>,
}

fn chart_err(what: &str) -> impl Fn(DrawError) -> ReportError + '_ {
    move |source| ReportError::Chart {
        what: what.to_owned(),
        source,
    }
}

/// What every report is drawn from: the run directory read, its summary, the charts' data.
struct Gathered {
    run: RunDir,
    summary: Summary,
    rows: Vec<timeline::TimelineRow>,
    events: Vec<timeline::EventRow>,
    specs: [series::ChartSpec; 4],
    marks: Vec<f64>,
    lanes: Vec<gantt::Lane>,
    x_max: f64,
}

/// Reads the run directory: the summary (KPIs, verdict, scaling) and the charts' data.
fn gather(dir: &Path, expect: Option<&Expectations>) -> Result<Gathered, ReportError> {
    let run = RunDir::open(dir);
    let meta = run.read_meta()?;
    let rows = run.read(&timeline::TIMELINE)?;
    let endpoint_rows = run.read(&timeline::ENDPOINTS)?;
    let expectations = expect.unwrap_or(&meta.expectations).clone();
    let events = run.read(&timeline::EVENTS)?;
    let changes = run.read(&timeline::CLUSTER)?;
    let errors = run.read(&timeline::ERRORS)?;
    let pods = run.read(&timeline::PODS)?;
    let workload = meta
        .cluster
        .as_ref()
        .map_or(timeline::WorkloadSource::Cluster, |c| c.source);
    let t = timeline::Timeline::of(&rows, workload);
    let kpis = kpi::compute_for(&t, &meta.totals, &expectations);
    let scaling = scaling::analyse(&scaling::Inputs {
        timeline: t,
        endpoints: &endpoint_rows,
        changes: &changes,
        pods: &pods,
        p95_limit_ms: expectations.p95_ms,
    });
    let verdict = match &meta.worker {
        Some(worker) => verdict::for_worker(worker),
        None => verdict::with_workers(
            verdict::evaluate_with(&expectations, &t, &meta.totals, Some(&scaling)),
            &meta.workers,
        ),
    };
    let summary = Summary {
        schema: SUMMARY_SCHEMA.to_owned(),
        scenario: meta.scenario.clone(),
        target: meta.target.clone(),
        started_at: meta.started_at,
        duration_s: meta.duration_s,
        end_reason: meta.end_reason.clone(),
        totals: meta.totals.clone(),
        expectations,
        kpis,
        verdict,
        cluster: meta.cluster.clone().map(|record| ClusterSummary {
            record,
            events: events.len(),
            scale_events: events.iter().filter(|e| e.is_scale_event()).count(),
        }),
        tls: meta.tls.clone(),
        errors: errors.into_iter().map(ErrorSummary::new).collect(),
        scaling,
        pods,
    };
    let x_max = series::x_max(&rows);
    let mut specs = series::charts(&rows, &endpoint_rows, &changes, workload);
    // Recorded scale events mark the charts at the time they happened, scale-ins included.
    let marks = series::event_markers(&events);
    if !marks.is_empty() {
        for spec in &mut specs {
            spec.markers.clone_from(&marks);
        }
    }
    // The pod timeline, when pods have a lifecycle (a cluster watched, or local replicas).
    let lanes = if summary.pods.iter().any(|p| p.ready_s.is_some()) {
        gantt::lanes(&summary.pods, x_max)
    } else {
        Vec::new()
    };
    Ok(Gathered {
        run,
        summary,
        rows,
        events,
        specs,
        marks,
        lanes,
        x_max,
    })
}

/// Reads the run directory and writes every report file into it. `expect` overrides the
/// expectations recorded in `run.json` (for `scaleproof report --expect-…`).
pub fn render(dir: &Path, expect: Option<&Expectations>) -> Result<Rendered, ReportError> {
    let Gathered {
        run,
        summary,
        rows,
        events,
        specs,
        marks,
        lanes,
        x_max,
    } = gather(dir, expect)?;
    let mut files = Vec::new();
    files.push(run.write_json("summary.json", &summary)?);

    // The chart files are shown on their own: each under a title strip. report.html has its
    // own header, so its inline charts have none.
    let strip = draw::Strip::of(&summary);
    let mut inline = Vec::new();
    for (name, spec) in CHARTS.iter().zip(&specs) {
        files.push(write_png(dir, name, |tmp| {
            draw::png(spec, x_max, CHART_SIZE, Some(&strip), tmp)
        })?);
        let (file, _) =
            draw::svg(spec, x_max, CHART_SIZE, Some(&strip)).map_err(chart_err(name))?;
        files.push(run.write_bytes(&format!("{name}.svg"), file.as_bytes())?);
        let (svg, plot) = draw::svg(spec, x_max, CHART_SIZE, None).map_err(chart_err(name))?;
        inline.push(markup::InlineChart {
            svg,
            plot,
            size: CHART_SIZE,
        });
    }
    // Each chart alone at 1920×1080, with a title and a verdict card, for presentations.
    let charts: Vec<(&str, &series::ChartSpec)> = CHARTS.iter().copied().zip(&specs).collect();
    files.extend(
        slides::write(&dir.join("slides"), &summary, &charts, x_max)
            .map_err(chart_err("slides"))?,
    );
    let mut pod_chart = None;
    if !lanes.is_empty() {
        let size = (CHART_SIZE.0, gantt::height(lanes.len()));
        let title = gantt::title(summary.is_local());
        files.push(write_png(dir, "pods", |tmp| {
            gantt::png(title, &lanes, &marks, x_max, size, Some(&strip), tmp)
        })?);
        let (file, _) = gantt::svg(title, &lanes, &marks, x_max, size, Some(&strip))
            .map_err(chart_err("pods"))?;
        files.push(run.write_bytes("pods.svg", file.as_bytes())?);
        let (svg, plot) =
            gantt::svg(title, &lanes, &marks, x_max, size, None).map_err(chart_err("pods"))?;
        pod_chart = Some(markup::InlineChart { svg, plot, size });
    }
    files.push(write_png(dir, "dashboard", |tmp| {
        dashboard::render(tmp, &summary, &specs, &lanes, &marks, x_max)
    })?);

    let run_json = run.read_text(timeline::RUN_JSON)?;
    let page = html::page(
        &summary,
        &rows,
        &events,
        &inline,
        pod_chart.as_ref(),
        x_max,
        &run_json,
    );
    files.push(run.write_bytes("report.html", page.as_bytes())?);
    Ok(Rendered { summary, files })
}

/// Draws the run directory's dashboard in memory (as `dashboard.png` would be) and returns
/// where each chart put its plot and legend: the geometry a test checks.
pub fn dashboard_layout(dir: &Path) -> Result<Vec<draw::Drawn>, ReportError> {
    let g = gather(dir, None)?;
    let (w, h) = dashboard::DASHBOARD_SIZE;
    let mut pixels = vec![0u8; w as usize * h as usize * 3];
    let root = plotters::prelude::BitMapBackend::with_buffer(&mut pixels, (w, h));
    let root = plotters::prelude::IntoDrawingArea::into_drawing_area(root);
    dashboard::draw_on(&root, &g.summary, &g.specs, &g.lanes, &g.marks, g.x_max)
        .map_err(chart_err("dashboard"))
}

/// Draws `<stem>.png` atomically: into a temporary file (ending in .png, which the encoder
/// needs), then renamed into place.
fn write_png(
    dir: &Path,
    stem: &str,
    draw: impl FnOnce(&Path) -> Result<(), DrawError>,
) -> Result<PathBuf, ReportError> {
    let path = dir.join(format!("{stem}.png"));
    let tmp = dir.join(format!(".{stem}.tmp.png"));
    draw(&tmp).map_err(chart_err(stem))?;
    std::fs::rename(&tmp, &path).map_err(|source| RunDirError::Write {
        path: path.clone(),
        source,
    })?;
    Ok(path)
}
