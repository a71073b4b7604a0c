//! `dashboard.png`: one 1920×1080 frame for a video — the headline figures and the verdict
//! above the four charts.

use super::Summary;
use super::draw::{self, DrawError, boxed};
use super::gantt::{self, Lane};
use super::headline;
use super::series::ChartSpec;
use plotters::prelude::*;
use std::path::Path;

/// Size of `dashboard.png`.
pub const DASHBOARD_SIZE: (u32, u32) = (1920, 1080);

/// Most pod lanes the dashboard shows (the first ones; pods.png has them all).
const DASHBOARD_LANES: usize = 6;

/// The 1920×1080 dashboard: headline numbers and the verdict above the four charts, and the
/// pod timeline under them when pods have a lifecycle. Draws it into the PNG file `path`.
pub fn render(
    path: &Path,
    summary: &Summary,
    specs: &[ChartSpec],
    lanes: &[Lane],
    markers: &[f64],
    x_max: f64,
) -> Result<(), DrawError> {
    let root = BitMapBackend::new(path, DASHBOARD_SIZE).into_drawing_area();
    draw_on(&root, summary, specs, lanes, markers, x_max)?;
    root.present().map_err(boxed)
}

/// Draws the dashboard on `root` (of [`DASHBOARD_SIZE`]); returns where each chart put its
/// plot and legend.
pub fn draw_on<DB: DrawingBackend>(
    root: &DrawingArea<DB, plotters::coord::Shift>,
    summary: &Summary,
    specs: &[ChartSpec],
    lanes: &[Lane],
    markers: &[f64],
    x_max: f64,
) -> Result<Vec<draw::Drawn>, DrawError>
where
    DB::ErrorType: 'static,
{
    draw::register_fonts();
    root.fill(&RGBColor(245, 246, 248)).map_err(boxed)?;
    let (header, body) = root.split_vertically(150);
    header.fill(&draw::STRIP_INK).map_err(boxed)?;
    let white = RGBColor(255, 255, 255);
    let text = |area: &DrawingArea<DB, plotters::coord::Shift>,
                s: String,
                at: (i32, i32),
                size: f64,
                bold: bool,
                colour: RGBColor| draw::label(area, s, at, size, bold, colour);
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
        format!("{} · {}", headline::strip(summary), summary.end_reason),
        (32, 70),
        22.0,
        false,
        draw::STRIP_SOFT,
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
    let color = draw::verdict_colour(state);
    let label = state.label();
    let size = if label.len() > 6 { 26.0 } else { 44.0 };
    header
        .draw(&Rectangle::new([(1500, 35), (1890, 115)], color.filled()))
        .map_err(boxed)?;
    text(
        &header,
        label.to_owned(),
        (1520, if label.len() > 6 { 60 } else { 52 }),
        size,
        true,
        white,
    )?;
    let body = body.margin(10, 10, 10, 10);
    let charts = if lanes.is_empty() {
        body
    } else {
        let shown = lanes.len().min(DASHBOARD_LANES);
        let (charts, pods) = body.split_vertically(930 - 20 - (120 + 34 * shown as i32));
        gantt::draw(
            &pods.margin(6, 6, 6, 6),
            gantt::title(summary.is_local()),
            &lanes[..shown],
            markers,
            x_max,
            1.3,
        )?;
        charts
    };
    let panels = charts.split_evenly((2, 2));
    let mut drawn = Vec::with_capacity(specs.len());
    for (panel, spec) in panels.iter().zip(specs) {
        // 1.3: axis and legend text 18 px, readable in a 1080p video.
        drawn.push(draw::draw_laid_out(
            &panel.margin(6, 6, 6, 6),
            spec,
            x_max,
            1.3,
        )?);
    }
    Ok(drawn)
}
