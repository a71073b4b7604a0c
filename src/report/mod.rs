//! Reports: everything a user shows to others, computed from the run directory alone.
//!
//! `summary.json` (versioned schema), PNG and SVG charts on one time axis, a 1920×1080
//! `dashboard.png` for video, and a self-contained `report.html`.

pub mod charts;
pub mod headline;
pub mod html;
pub mod kpi;

use crate::expectations::Expectations;
use crate::timeline::{
    self, ClusterChangeRow, ClusterRecord, EndpointRow, EventRow, RunDirError, TimelineRow, Totals,
};
use crate::verdict::{self, State, Verdict};
use chrono::{DateTime, Utc};
use plotters::prelude::*;
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

/// The `schema` value of `summary.json`.
pub const SUMMARY_SCHEMA: &str = "scaleproof-summary/2";
/// Size of the single-chart PNG/SVG files.
pub const CHART_SIZE: (u32, u32) = (1280, 480);
/// Size of `dashboard.png`.
pub const DASHBOARD_SIZE: (u32, u32) = (1920, 1080);
/// Chart file stems, in display order.
pub const CHARTS: [&str; 4] = ["throughput", "latency", "replicas", "endpoints"];

/// Why a report could not be made.
#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    #[error(transparent)]
    RunDir(#[from] RunDirError),
    #[error("cannot draw {what}: {message}")]
    Chart { what: String, message: String },
    #[error("cannot serialize summary.json")]
    Json(#[source] serde_json::Error),
}

/// Contents of `summary.json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Summary {
    pub schema: String,
    pub scenario: String,
    pub target: String,
    pub started_at: DateTime<Utc>,
    pub duration_s: f64,
    pub end_reason: String,
    pub totals: Totals,
    pub expectations: Expectations,
    pub kpis: kpi::Kpis,
    pub verdict: Verdict,
    /// Cluster context when a cluster was watched (null otherwise).
    pub cluster: Option<ClusterSummary>,
}

/// The cluster part of `summary.json`: the context from `run.json` and what happened.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ClusterSummary {
    #[serde(flatten)]
    pub record: ClusterRecord,
    /// Rows of `events.csv`, and how many of them are scale events.
    pub events: usize,
    pub scale_events: usize,
}

/// What [`render`] produced.
#[derive(Debug)]
pub struct Rendered {
    pub summary: Summary,
    pub files: Vec<PathBuf>,
}

fn chart_err(what: &str) -> impl Fn(String) -> ReportError + '_ {
    move |message| ReportError::Chart {
        what: what.to_owned(),
        message,
    }
}

/// Reads the run directory and writes every report file into it. `expect` overrides the
/// expectations recorded in `run.json` (for `scaleproof report --expect-…`).
pub fn render(dir: &Path, expect: Option<&Expectations>) -> Result<Rendered, ReportError> {
    let meta = timeline::read_run_meta(dir)?;
    let rows: Vec<TimelineRow> = timeline::read_csv(&dir.join(timeline::TIMELINE_CSV))?;
    let endpoint_rows: Vec<EndpointRow> = timeline::read_csv(&dir.join(timeline::ENDPOINTS_CSV))?;
    let expectations = expect.unwrap_or(&meta.expectations).clone();
    let events: Vec<EventRow> = timeline::read_csv_if_present(&dir.join(timeline::EVENTS_CSV))?;
    let changes: Vec<ClusterChangeRow> =
        timeline::read_csv_if_present(&dir.join(timeline::CLUSTER_CSV))?;
    let kpis = kpi::compute(&rows, &meta.totals, &expectations);
    let verdict = verdict::evaluate(&expectations, &rows, &meta.totals);
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
    };
    let mut files = Vec::new();
    let json = serde_json::to_vec_pretty(&summary).map_err(ReportError::Json)?;
    let path = dir.join("summary.json");
    timeline::write_atomic(&path, &json)?;
    files.push(path);

    let x_max = rows.last().map_or(1.0, |r| r.t_s as f64 + 1.0);
    let mut specs = [
        charts::throughput(&rows),
        charts::latency(&rows),
        charts::replicas(&rows, &changes),
        charts::endpoints(&rows, &endpoint_rows),
    ];
    // Recorded scale events mark the charts at the time they happened, scale-ins included.
    let marks = charts::event_markers(&events);
    if !marks.is_empty() {
        for spec in &mut specs {
            spec.markers.clone_from(&marks);
        }
    }
    let mut inline = Vec::new();
    for (name, spec) in CHARTS.iter().zip(&specs) {
        files.push(write_png(dir, name, |tmp| {
            charts::png(spec, x_max, CHART_SIZE, tmp)
        })?);
        let (svg, plot) = charts::svg(spec, x_max, CHART_SIZE).map_err(chart_err(name))?;
        let path = dir.join(format!("{name}.svg"));
        timeline::write_atomic(&path, svg.as_bytes())?;
        files.push(path);
        inline.push(html::InlineChart {
            svg,
            plot,
            size: CHART_SIZE,
        });
    }
    files.push(write_png(dir, "dashboard", |tmp| {
        draw_dashboard(tmp, &summary, &specs, x_max)
    })?);

    let run_json = std::fs::read_to_string(dir.join(timeline::RUN_JSON)).unwrap_or_default();
    let page = html::page(&summary, &rows, &events, &inline, x_max, &run_json);
    let path = dir.join("report.html");
    timeline::write_atomic(&path, page.as_bytes())?;
    files.push(path);
    Ok(Rendered { summary, files })
}

/// Draws `<stem>.png` atomically: into a temporary file (ending in .png, which the encoder
/// needs), then renamed into place.
fn write_png(
    dir: &Path,
    stem: &str,
    draw: impl FnOnce(&Path) -> Result<(), String>,
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

/// The 1920×1080 dashboard: headline numbers and the verdict above the four charts.
fn draw_dashboard(
    path: &Path,
    summary: &Summary,
    specs: &[charts::ChartSpec],
    x_max: f64,
) -> Result<(), String> {
    charts::register_fonts();
    let root = BitMapBackend::new(path, DASHBOARD_SIZE).into_drawing_area();
    root.fill(&RGBColor(245, 246, 248))
        .map_err(|e| e.to_string())?;
    let (header, body) = root.split_vertically(150);
    header
        .fill(&RGBColor(31, 41, 51))
        .map_err(|e| e.to_string())?;
    let white = RGBColor(255, 255, 255);
    let text = |area: &DrawingArea<BitMapBackend, plotters::coord::Shift>,
                s: String,
                at: (i32, i32),
                size: f64,
                bold: bool,
                color: RGBColor| {
        let style = if bold {
            FontStyle::Bold
        } else {
            FontStyle::Normal
        };
        area.draw(&Text::new(
            s,
            at,
            ("sans-serif", size, style).into_font().color(&color),
        ))
        .map_err(|e| e.to_string())
    };
    text(
        &header,
        format!("scaleproof · {}", summary.scenario),
        (32, 18),
        40.0,
        true,
        white,
    )?;
    text(
        &header,
        format!(
            "{} · {:.0} s · {}",
            summary.target, summary.duration_s, summary.end_reason
        ),
        (32, 70),
        22.0,
        false,
        RGBColor(203, 210, 217),
    )?;
    text(
        &header,
        headline::line(summary),
        (32, 106),
        24.0,
        true,
        white,
    )?;
    let state = summary.verdict.state;
    let color = match state {
        State::Pass => RGBColor(47, 158, 68),
        State::Fail => RGBColor(201, 42, 42),
        State::Inconclusive => RGBColor(230, 119, 0),
        State::None => RGBColor(92, 103, 125),
    };
    let label = state.label();
    let size = if label.len() > 6 { 26.0 } else { 44.0 };
    header
        .draw(&Rectangle::new([(1500, 35), (1890, 115)], color.filled()))
        .map_err(|e| e.to_string())?;
    text(
        &header,
        label.to_owned(),
        (1520, if label.len() > 6 { 60 } else { 52 }),
        size,
        true,
        white,
    )?;
    let panels = body.margin(10, 10, 10, 10).split_evenly((2, 2));
    for (panel, spec) in panels.iter().zip(specs) {
        charts::draw(&panel.margin(6, 6, 6, 6), spec, x_max, 0.85)?;
    }
    root.present().map_err(|e| e.to_string())
}
