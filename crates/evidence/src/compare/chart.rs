//! `compare.png` (1920×1080): both runs on one clock — ok rps, p95 (the runs' headline kind)
//! and ready replicas per second, one colour per run, each labelled with its name and start
//! time, both runs' scale-outs marked — and the same picture as SVG for compare.html.

use super::{CompareDoc, RunData};
use crate::report::draw::{self, DrawError, boxed, register_fonts};
use crate::timeline::{Timeline, TimelineRow, WorkloadSource};
use plotters::coord::Shift;
use plotters::prelude::*;
use std::path::Path;

/// Size of the comparison picture.
pub const COMPARE_SIZE: (u32, u32) = (1920, 1080);

/// Okabe–Ito blue and orange: the base run, the candidate.
const BASE: RGBColor = RGBColor(0, 114, 178);
const CAND: RGBColor = RGBColor(230, 159, 0);
const MUTED: RGBColor = RGBColor(90, 90, 90);

/// Writes the picture to the PNG file `path`.
pub fn write_png(
    doc: &CompareDoc,
    runs: (&RunData, &RunData),
    path: &Path,
) -> Result<(), DrawError> {
    register_fonts();
    let root = BitMapBackend::new(path, COMPARE_SIZE).into_drawing_area();
    draw_on(&root, doc, runs)?;
    root.present().map_err(boxed)
}

/// The picture as an SVG document.
pub fn svg(doc: &CompareDoc, runs: (&RunData, &RunData)) -> Result<String, DrawError> {
    register_fonts();
    let mut out = String::new();
    {
        let root = SVGBackend::with_string(&mut out, COMPARE_SIZE).into_drawing_area();
        draw_on(&root, doc, runs)?;
        root.present().map_err(boxed)?;
    }
    Ok(out)
}

fn source(r: &RunData) -> WorkloadSource {
    r.meta
        .cluster
        .as_ref()
        .map_or(WorkloadSource::Cluster, |c| c.source)
}

/// Draws the picture filling `root`.
pub fn draw_on<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    doc: &CompareDoc,
    (base, cand): (&RunData, &RunData),
) -> Result<(), DrawError>
where
    DB::ErrorType: 'static,
{
    let mut note = doc.alignment.clone();
    if doc.local {
        note.push_str(" · LOCAL replicas in at least one run: simulated on one machine");
    }
    header(
        root,
        doc,
        format!("{} vs {}", doc.base, doc.candidate),
        &note,
    )?;
    let align = super::align::Alignment::of(&base.meta.load, &cand.meta.load);
    let body = root.margin(140, 10, 20, 30);
    let panels = body.split_evenly((3, 1));
    let x_max = base.rows.len().max(cand.rows.len()).max(1) as f64;
    let kind = match base.kpis.latency_kind {
        crate::timeline::LatencyKind::Corrected => "corrected",
        crate::timeline::LatencyKind::Raw => "raw",
    };
    let p95 = |r: &TimelineRow, t: &Timeline<'_>| t.p95_us(r).map(|v| v as f64 / 1000.0);
    panel(
        &panels[0],
        "ok requests/s",
        x_max,
        (base, cand, &align),
        &|r, _| Some(r.ok_rps),
        false,
    )?;
    panel(
        &panels[1],
        &format!("p95 {kind}, ms"),
        x_max,
        (base, cand, &align),
        &p95,
        false,
    )?;
    panel(
        &panels[2],
        "ready replicas",
        x_max,
        (base, cand, &align),
        &|r, t| t.ready_replicas(r).map(|n| n as f64),
        true,
    )
}

/// A white picture's title, each run named with its start time in its colour, and a note
/// (none when empty).
fn header<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    doc: &CompareDoc,
    title: String,
    note: &str,
) -> Result<(), DrawError>
where
    DB::ErrorType: 'static,
{
    root.fill(&WHITE).map_err(boxed)?;
    draw::label(root, title, (40, 20), 36.0, true, BLACK)?;
    let stamp = |t: &chrono::DateTime<chrono::Utc>| t.format("%Y-%m-%d %H:%M UTC").to_string();
    let base = format!("base: {} ({})", doc.base, stamp(&doc.base_started_at));
    draw::label(root, base, (40, 70), 24.0, false, BASE)?;
    let cand = format!(
        "candidate: {} ({})",
        doc.candidate,
        stamp(&doc.candidate_started_at)
    );
    draw::label(root, cand, (980, 70), 24.0, false, CAND)?;
    if !note.is_empty() {
        draw::label(root, note, (40, 104), 22.0, false, MUTED)?;
    }
    Ok(())
}

type Value<'a> = dyn Fn(&TimelineRow, &Timeline<'_>) -> Option<f64> + 'a;

/// One panel: `value` of each run's seconds, its scale-outs dashed in its colour.
fn panel<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    title: &str,
    x_max: f64,
    (base, cand, align): (&RunData, &RunData, &super::align::Alignment),
    value: &Value<'_>,
    steps: bool,
) -> Result<(), DrawError>
where
    DB::ErrorType: 'static,
{
    let err = boxed::<DrawingAreaErrorKind<DB::ErrorType>>;
    // The candidate's seconds on the base's clock (the same, unless aligned by stage).
    let series = |r: &RunData, x: &dyn Fn(f64) -> f64| -> Vec<(f64, f64)> {
        let t = Timeline::of(&r.rows, source(r));
        r.rows
            .iter()
            .filter_map(|row| value(row, &t).map(|v| (x(row.t_s as f64), v)))
            .collect()
    };
    let (b, c) = (series(base, &|t| t), series(cand, &|t| align.map(t)));
    let y_max = b.iter().chain(&c).map(|p| p.1).fold(1.0, f64::max) * 1.15;
    let mut chart = ChartBuilder::on(area)
        .caption(title, ("sans-serif", 24.0))
        .x_label_area_size(40)
        .y_label_area_size(100)
        .margin(6)
        .build_cartesian_2d(0.0..x_max, 0.0..y_max)
        .map_err(err)?;
    let whole = |v: &f64| format!("{v:.0}");
    {
        let mut mesh = chart.configure_mesh();
        if steps {
            // One label per whole replica.
            mesh.y_labels((y_max.floor() as usize + 1).min(17));
        }
        mesh.x_label_formatter(&whole)
            .y_label_formatter(&whole)
            .x_desc("seconds since the load started")
            .label_style(("sans-serif", 20.0))
            .axis_desc_style(("sans-serif", 20.0))
            .light_line_style(RGBColor(235, 235, 235))
            .draw()
            .map_err(err)?;
    }
    for (run, points, colour, is_cand) in [(base, &b, BASE, false), (cand, &c, CAND, true)] {
        let t = Timeline::of(&run.rows, source(run));
        for s in t.scale_out_seconds() {
            let s = if is_cand {
                align.map(s as f64)
            } else {
                s as f64
            };
            chart
                .draw_series(DashedLineSeries::new(
                    vec![(s, 0.0), (s, y_max)],
                    8,
                    6,
                    colour.stroke_width(2),
                ))
                .map_err(err)?;
        }
        let line: Vec<(f64, f64)> = if steps {
            // Replica counts hold until the next second.
            points
                .iter()
                .flat_map(|&(x, y)| [(x, y), (x + 1.0, y)])
                .collect()
        } else {
            points.clone()
        };
        chart
            .draw_series(LineSeries::new(line, colour.stroke_width(3)))
            .map_err(err)?;
    }
    Ok(())
}

/// The hockey sticks of two capacity searches on one chart: corrected p95 against the offered
/// rate at one replica, base blue and candidate orange, each knee a vertical line.
pub fn knees_png(
    doc: &CompareDoc,
    (base, cand): (&crate::capacity::CapacityDoc, &crate::capacity::CapacityDoc),
    path: &Path,
) -> Result<(), DrawError> {
    register_fonts();
    let root = BitMapBackend::new(path, COMPARE_SIZE).into_drawing_area();
    let note = if doc.local {
        "LOCAL replica in at least one search: simulated on one machine"
    } else {
        ""
    };
    header(
        &root,
        doc,
        format!("{} vs {}: one replica's knee", doc.base, doc.candidate),
        note,
    )?;
    let body = root.margin(150, 20, 20, 30);
    let points = |d: &crate::capacity::CapacityDoc| -> Vec<(f64, f64)> {
        let mut p: Vec<(f64, f64)> = d
            .steps
            .iter()
            .filter(|s| s.replicas == 1)
            .filter_map(|s| {
                s.p95_corrected_ms
                    .map(|v| (s.offered_rps, v.min(d.slo.p95_ms * 4.0)))
            })
            .collect();
        p.sort_by(|a, b| a.0.total_cmp(&b.0));
        p
    };
    let (b, c) = (points(base), points(cand));
    let x_max = b.iter().chain(&c).map(|p| p.0).fold(1.0, f64::max) * 1.08;
    let y_max = b
        .iter()
        .chain(&c)
        .map(|p| p.1)
        .fold(base.slo.p95_ms * 1.5, f64::max);
    let mut chart = ChartBuilder::on(&body)
        .x_label_area_size(70)
        .y_label_area_size(110)
        .margin(10)
        .build_cartesian_2d(0.0..x_max, 0.0..y_max)
        .map_err(boxed)?;
    draw::whole_mesh(
        &mut chart,
        "offered rate, requests/s (open model)",
        "p95 corrected, ms",
    )?;
    chart
        .draw_series(DashedLineSeries::new(
            vec![(0.0, base.slo.p95_ms), (x_max, base.slo.p95_ms)],
            12,
            8,
            BLACK.stroke_width(2),
        ))
        .map_err(boxed)?;
    for (d, p, colour) in [(base, &b, BASE), (cand, &c, CAND)] {
        chart
            .draw_series(LineSeries::new(p.clone(), colour.stroke_width(3)))
            .map_err(boxed)?;
        chart
            .draw_series(p.iter().map(|&q| Circle::new(q, 7, colour.filled())))
            .map_err(boxed)?;
        if let Some(k) = d.knee_rps {
            chart
                .draw_series(LineSeries::new(
                    vec![(k, 0.0), (k, y_max)],
                    colour.stroke_width(2),
                ))
                .map_err(boxed)?;
        }
    }
    root.present().map_err(boxed)
}
