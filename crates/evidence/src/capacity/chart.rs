//! `capacity.png` (1920×1080): the hockey stick — corrected p95 and p99 against the offered
//! rate of one replica, the SLO line and the knee marked, ok rps and CPU (percent of offered,
//! percent of the limit) on a second axis — and, when several replica counts were measured,
//! their knees with the Universal Scalability Law's curve beside it. Labelled local when the
//! replicas were simulated on one machine.

use super::CapacityDoc;
use crate::report::draw::{self, DrawError, boxed, register_fonts};
use plotters::coord::Shift;
use plotters::prelude::*;
use std::path::Path;

/// Size of the capacity chart (and its slide).
pub const CAPACITY_SIZE: (u32, u32) = (1920, 1080);

const P95: RGBColor = RGBColor(31, 119, 180);
const P99: RGBColor = RGBColor(214, 39, 40);
const OK: RGBColor = RGBColor(44, 160, 44);
const CPU: RGBColor = RGBColor(148, 103, 189);
const KNEE: RGBColor = RGBColor(160, 60, 160);
const MUTED: RGBColor = RGBColor(90, 90, 90);

/// Writes the chart of `doc` to the PNG file `path`.
pub fn write_png(
    doc: &CapacityDoc,
    cpu_limit_m: Option<f64>,
    path: &Path,
) -> Result<(), DrawError> {
    register_fonts();
    let root = BitMapBackend::new(path, CAPACITY_SIZE).into_drawing_area();
    draw_on(&root, doc, cpu_limit_m)?;
    root.present().map_err(boxed)
}

/// Draws the chart of `doc` filling `root`.
pub fn draw_on<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    doc: &CapacityDoc,
    cpu_limit_m: Option<f64>,
) -> Result<(), DrawError>
where
    DB::ErrorType: 'static,
{
    let err = boxed::<DrawingAreaErrorKind<DB::ErrorType>>;
    root.fill(&WHITE).map_err(err)?;
    let knee = doc
        .knee_rps
        .map_or("below the first step".to_owned(), |k| format!("{k:.0} rps"));
    draw::label(
        root,
        format!("{} — one replica's knee: {knee}", doc.scenario),
        (40, 24),
        40.0,
        true,
        BLACK,
    )?;
    let slo = format!(
        "SLO per step: corrected p95 ≤ {:.0} ms, errors + dropped ≤ {:.1}%, ok ≥ {:.0}% of the offered rate",
        doc.slo.p95_ms,
        100.0 * doc.slo.error_rate,
        100.0 * doc.slo.min_ok_share,
    );
    draw::label(root, slo, (40, 76), 24.0, false, MUTED)?;
    let mut what = format!(
        "{} · {}",
        doc.workload,
        doc.started_at.format("%Y-%m-%d %H:%M UTC")
    );
    if doc.local {
        what.push_str(" · LOCAL: simulated on one machine");
    }
    draw::label(root, what, (40, 106), 24.0, false, MUTED)?;
    if let Some(plan) = &doc.plan {
        let hpa = plan
            .hpa_target_pct
            .map_or("no CPU target (CPU unknown)".to_owned(), |t| {
                format!("HPA averageUtilization {t}%")
            });
        draw::label(
            root,
            format!(
                "plan for {:.0} rps: {} replicas at {:.0}% of the knee · {hpa} · min {} max {}",
                plan.target_rps,
                plan.replicas_for_target,
                100.0 * plan.headroom,
                plan.min_replicas,
                plan.max_replicas
            ),
            (40, 136),
            24.0,
            false,
            BLACK,
        )?;
    }
    let body = root.margin(176, 20, 20, 20);
    if doc.scaling.len() >= 2 {
        let (left, right) = body.split_horizontally(1180);
        hockey_stick(&left, doc, cpu_limit_m)?;
        scaling(&right, doc)
    } else {
        hockey_stick(&body, doc, cpu_limit_m)
    }
}

/// Latency against offered rate at one replica, with ok rps and CPU in percent.
fn hockey_stick<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    doc: &CapacityDoc,
    cpu_limit_m: Option<f64>,
) -> Result<(), DrawError>
where
    DB::ErrorType: 'static,
{
    let err = boxed::<DrawingAreaErrorKind<DB::ErrorType>>;
    let mut steps: Vec<_> = doc.steps.iter().filter(|s| s.replicas == 1).collect();
    steps.sort_by(|a, b| a.offered_rps.total_cmp(&b.offered_rps));
    let x_max = steps.iter().map(|s| s.offered_rps).fold(1.0, f64::max) * 1.08;
    // Latency is clipped at 4× the SLO, so the knee's region keeps its scale.
    let y_cap = doc.slo.p95_ms * 4.0;
    let y_max = steps
        .iter()
        .filter_map(|s| s.p99_corrected_ms)
        .fold(doc.slo.p95_ms * 1.5, f64::max)
        .min(y_cap);
    let mut chart = ChartBuilder::on(area)
        .x_label_area_size(70)
        .y_label_area_size(110)
        .right_y_label_area_size(110)
        .margin(10)
        .build_cartesian_2d(0.0..x_max, 0.0..y_max)
        .map_err(err)?
        .set_secondary_coord(0.0..x_max, 0.0..120.0);
    let whole = |v: &f64| format!("{v:.0}");
    draw::whole_mesh(
        &mut chart,
        "offered rate, requests/s (open model)",
        "corrected latency, ms",
    )?;
    chart
        .configure_secondary_axes()
        .y_label_formatter(&whole)
        .y_desc("ok rps, % of offered · CPU, % of the limit")
        .label_style(("sans-serif", 22.0))
        .axis_desc_style(("sans-serif", 24.0))
        .draw()
        .map_err(err)?;
    chart
        .draw_series(DashedLineSeries::new(
            vec![(0.0, doc.slo.p95_ms), (x_max, doc.slo.p95_ms)],
            12,
            8,
            BLACK.stroke_width(2),
        ))
        .map_err(err)?
        .label(format!("SLO p95 {:.0} ms", doc.slo.p95_ms))
        .legend(|(x, y)| PathElement::new(vec![(x, y), (x + 30, y)], BLACK.stroke_width(2)));
    if let Some(k) = doc.knee_rps {
        chart
            .draw_series(LineSeries::new(
                vec![(k, 0.0), (k, y_max)],
                KNEE.stroke_width(3),
            ))
            .map_err(err)?
            .label(format!("knee {k:.0} rps"))
            .legend(|(x, y)| PathElement::new(vec![(x, y), (x + 30, y)], KNEE.stroke_width(3)));
    }
    let clip = |v: f64| v.min(y_max);
    for (name, colour, pick) in [
        (
            "p95 corrected",
            P95,
            (|s: &super::StepRow| s.p95_corrected_ms) as fn(&super::StepRow) -> Option<f64>,
        ),
        ("p99 corrected", P99, |s: &super::StepRow| {
            s.p99_corrected_ms
        }),
    ] {
        let points: Vec<(f64, f64)> = steps
            .iter()
            .filter_map(|s| pick(s).map(|v| (s.offered_rps, clip(v))))
            .collect();
        chart
            .draw_series(LineSeries::new(points.clone(), colour.stroke_width(3)))
            .map_err(err)?
            .label(name)
            .legend(move |(x, y)| {
                PathElement::new(vec![(x, y), (x + 30, y)], colour.stroke_width(3))
            });
        // A step that held the SLO is a filled dot, one that did not a ring.
        chart
            .draw_series(steps.iter().filter_map(|s| {
                let style = if s.outcome == super::Outcome::Pass {
                    colour.filled()
                } else {
                    colour.stroke_width(3)
                };
                pick(s).map(|v| Circle::new((s.offered_rps, clip(v)), 8, style))
            }))
            .map_err(err)?;
    }
    let ok: Vec<(f64, f64)> = steps
        .iter()
        .filter(|s| s.offered_rps > 0.0)
        .map(|s| (s.offered_rps, (100.0 * s.ok_rps / s.offered_rps).min(120.0)))
        .collect();
    chart
        .draw_secondary_series(LineSeries::new(ok, OK.stroke_width(2)))
        .map_err(err)?
        .label("ok rps, % of offered")
        .legend(|(x, y)| PathElement::new(vec![(x, y), (x + 30, y)], OK.stroke_width(2)));
    if let Some(limit) = cpu_limit_m.filter(|l| *l > 0.0) {
        let cpu: Vec<(f64, f64)> = steps
            .iter()
            .filter_map(|s| {
                s.cpu_m
                    .map(|c| (s.offered_rps, (100.0 * c / limit).min(120.0)))
            })
            .collect();
        chart
            .draw_secondary_series(DashedLineSeries::new(cpu, 10, 6, CPU.stroke_width(2)))
            .map_err(err)?
            .label("CPU, % of the limit")
            .legend(|(x, y)| PathElement::new(vec![(x, y), (x + 30, y)], CPU.stroke_width(2)));
    }
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::UpperLeft)
        .label_font(("sans-serif", 22.0))
        .background_style(WHITE.mix(0.9))
        .border_style(RGBColor(200, 200, 200))
        .draw()
        .map_err(err)
}

/// The knee at each replica count, and the USL curve through them.
fn scaling<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    doc: &CapacityDoc,
) -> Result<(), DrawError>
where
    DB::ErrorType: 'static,
{
    let err = boxed::<DrawingAreaErrorKind<DB::ErrorType>>;
    let points: Vec<(f64, f64)> = doc
        .scaling
        .iter()
        .filter_map(|k| k.knee_rps.map(|r| (f64::from(k.replicas), r)))
        .collect();
    let n_max = doc.scaling.iter().map(|k| k.replicas).max().unwrap_or(1) as f64 * 1.5 + 0.5;
    let y_max = points.iter().map(|p| p.1).fold(1.0, f64::max) * 1.4;
    let caption = match &doc.usl {
        Some(u) => format!(
            "USL σ {:.3} κ {:.4} (R² {:.3}, {} points)",
            u.sigma, u.kappa, u.r_squared, u.points
        ),
        None => "knee by replica count".to_owned(),
    };
    let area = area.margin(0, 0, 60, 0);
    let mut chart = ChartBuilder::on(&area)
        .caption(caption, ("sans-serif", 24.0))
        .x_label_area_size(70)
        .y_label_area_size(110)
        .margin(10)
        .build_cartesian_2d(0.0..n_max, 0.0..y_max)
        .map_err(err)?;
    draw::whole_mesh(&mut chart, "replicas", "knee, requests/s")?;
    if let Some(u) = &doc.usl {
        let curve: Vec<(f64, f64)> = (0..=200)
            .map(|i| {
                let n = 1.0 + (n_max - 1.0) * f64::from(i) / 200.0;
                (n, u.at(n).min(y_max))
            })
            .collect();
        chart
            .draw_series(LineSeries::new(curve, KNEE.stroke_width(3)))
            .map_err(err)?;
    }
    chart
        .draw_series(points.iter().map(|&p| Circle::new(p, 9, P95.filled())))
        .map_err(err)?;
    Ok(())
}
