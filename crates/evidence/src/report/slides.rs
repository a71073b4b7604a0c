//! `slides/` in the run directory: ready to drop into a presentation, each 1920×1080 as PNG
//! and SVG — a title card, each chart alone under a title strip (scenario, target, what the
//! replicas are, the date), and a verdict card. Text is at least 20 px at 1920 wide.

use super::draw::{self, DrawError, Strip, boxed};
use super::headline;
use super::series::ChartSpec;
use super::summary::Summary;
use plotters::coord::Shift;
use plotters::prelude::*;
use std::path::Path;

/// Size of every slide.
pub const SLIDE_SIZE: (u32, u32) = (1920, 1080);

const INK: RGBColor = draw::STRIP_INK;
const SOFT: RGBColor = draw::STRIP_SOFT;
const MUTED: RGBColor = RGBColor(90, 90, 90);

fn title_card<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    s: &Summary,
) -> Result<(), DrawError>
where
    DB::ErrorType: 'static,
{
    root.fill(&INK).map_err(boxed)?;
    draw::label(root, "scaleproof", (120, 200), 40.0, false, SOFT)?;
    draw::label(root, s.scenario.clone(), (120, 280), 96.0, true, WHITE)?;
    draw::label(root, s.target.clone(), (120, 440), 40.0, false, WHITE)?;
    draw::label(root, headline::workload(s), (120, 510), 40.0, false, WHITE)?;
    draw::label(
        root,
        format!(
            "{} · {} of load",
            headline::when(s.started_at),
            headline::duration(s.duration_s)
        ),
        (120, 580),
        40.0,
        false,
        SOFT,
    )
}

fn verdict_card<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    s: &Summary,
) -> Result<(), DrawError>
where
    DB::ErrorType: 'static,
{
    root.fill(&WHITE).map_err(boxed)?;
    let (band, body) = root.split_vertically(300);
    let state = s.verdict.state;
    band.fill(&draw::verdict_colour(state)).map_err(boxed)?;
    let word = state.label();
    draw::label(&band, "verdict", (120, 50), 40.0, false, WHITE)?;
    draw::label(&band, word, (120, 110), 120.0, true, WHITE)?;
    let mut y = 40;
    for f in [
        headline::peak(s),
        headline::p95(s),
        headline::replicas(s),
        headline::error_rate(s),
    ] {
        draw::label(
            &body,
            format!("{}: {}", f.label, f.value),
            (120, y),
            40.0,
            true,
            INK,
        )?;
        draw::label(&body, f.hint, (1100, y + 8), 26.0, false, MUTED)?;
        y += 70;
    }
    y += 20;
    for c in &s.verdict.checks {
        draw::label(
            &body,
            format!(
                "{} {} — {}: {}",
                c.name,
                c.wanted,
                c.measured,
                headline::state_class(c.state)
            ),
            (120, y),
            28.0,
            false,
            draw::verdict_colour(c.state),
        )?;
        y += 44;
    }
    Ok(())
}

fn chart_slide<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    s: &Summary,
    spec: &ChartSpec,
    x_max: f64,
) -> Result<(), DrawError>
where
    DB::ErrorType: 'static,
{
    // 1.5 × the 1280-wide chart's sizes: axis and legend text 21 px.
    draw::under_strip(root, Some(&Strip::of(s)), 1.5, |rest| {
        rest.fill(&WHITE).map_err(boxed)?;
        draw::draw(&rest.margin(10, 10, 20, 20), spec, x_max, 1.5)
    })?;
    Ok(())
}

/// Writes every slide under `dir` (made if missing); returns the files.
pub fn write(
    dir: &Path,
    s: &Summary,
    charts: &[(&str, &ChartSpec)],
    x_max: f64,
) -> Result<Vec<std::path::PathBuf>, DrawError> {
    draw::register_fonts();
    std::fs::create_dir_all(dir).map_err(boxed)?;
    let mut files = Vec::new();
    files.extend(slide(
        dir,
        "title",
        |r| title_card(r, s),
        |r| title_card(r, s),
    )?);
    for (name, spec) in charts {
        files.extend(slide(
            dir,
            name,
            |r| chart_slide(r, s, spec, x_max),
            |r| chart_slide(r, s, spec, x_max),
        )?);
    }
    files.extend(slide(
        dir,
        "verdict",
        |r| verdict_card(r, s),
        |r| verdict_card(r, s),
    )?);
    Ok(files)
}

/// One slide, drawn by `png` into its PNG and `svg` into its SVG.
fn slide(
    dir: &Path,
    name: &str,
    png: impl Fn(&DrawingArea<BitMapBackend, Shift>) -> Result<(), DrawError>,
    svg: impl Fn(&DrawingArea<SVGBackend, Shift>) -> Result<(), DrawError>,
) -> Result<Vec<std::path::PathBuf>, DrawError> {
    let png_path = dir.join(format!("{name}.png"));
    {
        let root = BitMapBackend::new(&png_path, SLIDE_SIZE).into_drawing_area();
        png(&root)?;
        root.present().map_err(boxed)?;
    }
    let svg_path = dir.join(format!("{name}.svg"));
    {
        let root = SVGBackend::new(&svg_path, SLIDE_SIZE).into_drawing_area();
        svg(&root)?;
        root.present().map_err(boxed)?;
    }
    Ok(vec![png_path, svg_path])
}
