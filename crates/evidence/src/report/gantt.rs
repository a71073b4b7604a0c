//! The pod timeline: one lane per pod on the run's time axis, coloured by what the pod was
//! doing — pending, starting, ready (no traffic yet), serving, terminating — computed from
//! `pods.csv`, drawn as `pods.png`/`pods.svg`, in report.html and on the dashboard.

use super::draw::{self, DrawError, PlotBox, Strip, boxed};
use crate::timeline::PodRow;
use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::FontStyle;

/// What a pod was doing over a stretch of time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    /// Created, not yet scheduled.
    Pending,
    /// Scheduled (or created, when scheduling is unknown), not yet Ready.
    Starting,
    /// Ready, no request served yet.
    Ready,
    /// From its first response until its termination (or last response).
    Serving,
    /// Termination started, not yet gone.
    Terminating,
}

impl Phase {
    pub const ALL: [Phase; 5] = [
        Phase::Pending,
        Phase::Starting,
        Phase::Ready,
        Phase::Serving,
        Phase::Terminating,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Phase::Pending => "pending",
            Phase::Starting => "starting",
            Phase::Ready => "ready, no traffic",
            Phase::Serving => "serving",
            Phase::Terminating => "terminating",
        }
    }

    /// Okabe–Ito colours (safe for colour-blind viewers).
    pub fn color(self) -> RGBColor {
        match self {
            Phase::Pending => RGBColor(153, 153, 153),
            Phase::Starting => RGBColor(230, 159, 0),
            Phase::Ready => RGBColor(86, 180, 233),
            Phase::Serving => RGBColor(0, 158, 115),
            Phase::Terminating => RGBColor(213, 94, 0),
        }
    }
}

/// One pod's lane: its stretches in time order, clipped to the run.
#[derive(Debug, Clone, PartialEq)]
pub struct Lane {
    pub pod: String,
    pub segments: Vec<(f64, f64, Phase)>,
}

/// Lanes for `pods` over `[0, x_max]`; pods with nothing to show (no time known within the
/// run) get no lane.
pub fn lanes(pods: &[PodRow], x_max: f64) -> Vec<Lane> {
    pods.iter()
        .filter_map(|p| {
            let end = p.gone_s.unwrap_or(x_max);
            let serving_end = p.terminating_s.or(p.gone_s).or(if p.ready_s.is_none() {
                p.last_served_s
            } else {
                None
            });
            let starting = p.scheduled_s.or(p.created_s);
            // (start, phase) in order; each runs to the next known start.
            let marks = [
                (
                    p.created_s.filter(|_| p.scheduled_s.is_some()),
                    Phase::Pending,
                ),
                (starting.filter(|_| p.ready_s.is_some()), Phase::Starting),
                (p.ready_s, Phase::Ready),
                (p.first_served_s, Phase::Serving),
                (p.terminating_s, Phase::Terminating),
            ];
            let mut known: Vec<(f64, Phase)> = marks
                .iter()
                .filter_map(|(t, phase)| t.map(|t| (t, *phase)))
                .collect();
            // Clocks differ (API server, watcher, load): a stage seen out of order never
            // makes two stretches overlap.
            known.sort_by(|a, b| a.0.total_cmp(&b.0));
            let mut segments = Vec::new();
            for (i, &(from, phase)) in known.iter().enumerate() {
                let to = match known.get(i + 1) {
                    Some(&(next, _)) => next,
                    None if phase == Phase::Serving => serving_end.unwrap_or(end),
                    None => end,
                };
                let (from, to) = (from.max(0.0), to.min(x_max));
                if to > from {
                    segments.push((from, to, phase));
                }
            }
            (!segments.is_empty()).then(|| Lane {
                pod: p.pod.clone(),
                segments,
            })
        })
        .collect()
}

/// Draws the lanes filling `area` (`scale` as in [`draw::draw`]); scale events as markers.
pub fn draw<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    title: &str,
    lanes: &[Lane],
    markers: &[f64],
    x_max: f64,
    scale: f64,
) -> Result<PlotBox, DrawError>
where
    DB::ErrorType: 'static,
{
    draw::register_fonts();
    let err = boxed::<DrawingAreaErrorKind<DB::ErrorType>>;
    let px = |v: f64| (v * scale).round() as i32;
    area.fill(&WHITE).map_err(err)?;
    area.draw(&Text::new(
        title.to_owned(),
        (px(16.0), px(10.0)),
        ("sans-serif", px(22.0) as f64, FontStyle::Bold)
            .into_font()
            .color(&BLACK),
    ))
    .map_err(err)?;
    // The legend, measured: right-aligned after the title, or on a row of its own under it
    // when the title leaves no room.
    let title_font = ("sans-serif", px(22.0) as f64, FontStyle::Bold).into_text_style(area);
    let legend_font = ("sans-serif", px(15.0) as f64).into_text_style(area);
    let title_w = area.estimate_text_size(title, &title_font).map_err(err)?.0 as i32;
    let mut items = Vec::new();
    let mut legend_w = 0;
    for phase in Phase::ALL {
        let w = area
            .estimate_text_size(phase.name(), &legend_font)
            .map_err(err)?
            .0 as i32;
        items.push((phase, w));
        legend_w += px(22.0) + w + px(18.0);
    }
    let width = area.dim_in_pixel().0 as i32;
    let beside = width - px(16.0) - legend_w >= px(16.0) + title_w + px(24.0);
    let (mut x, y, top) = if beside {
        (width - px(16.0) - legend_w, px(12.0), 44.0)
    } else {
        (px(16.0), px(40.0), 70.0)
    };
    for (phase, w) in items {
        area.draw(&Rectangle::new(
            [(x, y + px(2.0)), (x + px(16.0), y + px(16.0))],
            phase.color().filled(),
        ))
        .map_err(err)?;
        area.draw(&Text::new(
            phase.name().to_owned(),
            (x + px(22.0), y),
            legend_font.clone(),
        ))
        .map_err(err)?;
        x += px(22.0) + w + px(18.0);
    }
    let n = lanes.len().max(1);
    let inner = area.margin(px(top), px(10.0), px(10.0), px(24.0));
    let names: Vec<String> = lanes.iter().map(|l| l.pod.clone()).collect();
    let longest = names.iter().map(|n| n.len()).max().unwrap_or(4) as f64;
    let mut chart = ChartBuilder::on(&inner)
        .x_label_area_size(px(40.0))
        .y_label_area_size(px((longest * 8.5).clamp(60.0, 260.0)))
        .build_cartesian_2d(0.0..x_max.max(1.0), 0.0..n as f64)
        .map_err(err)?;
    let label = |v: &f64| {
        let i = v.floor() as usize;
        let centre = (v - v.floor() - 0.5).abs() < 1e-6;
        match names.get(n.saturating_sub(1).saturating_sub(i)) {
            Some(name) if centre => name.clone(),
            _ => String::new(),
        }
    };
    chart
        .configure_mesh()
        .disable_y_mesh()
        .y_labels(n * 2 + 1)
        .y_label_formatter(&label)
        .x_label_formatter(&|v: &f64| super::headline::thousands(v.round().max(0.0) as u64))
        .x_desc("seconds since start")
        .label_style(("sans-serif", px(14.0) as f64))
        .axis_desc_style(("sans-serif", px(15.0) as f64))
        .light_line_style(RGBColor(235, 235, 235))
        .draw()
        .map_err(err)?;
    for (i, lane) in lanes.iter().enumerate() {
        // The first pod on top.
        let y = (n - 1 - i) as f64;
        chart
            .draw_series(lane.segments.iter().map(|&(from, to, phase)| {
                Rectangle::new([(from, y + 0.15), (to, y + 0.85)], phase.color().filled())
            }))
            .map_err(err)?;
    }
    for &m in markers {
        chart
            .draw_series(DashedLineSeries::new(
                vec![(m, 0.0), (m, n as f64)],
                px(6.0),
                px(4.0),
                RGBColor(160, 60, 160).stroke_width(px(2.0) as u32),
            ))
            .map_err(err)?;
    }
    let (xr, yr) = chart.plotting_area().get_pixel_range();
    Ok((xr.start, yr.start, xr.end, yr.end))
}

/// Renders the lanes as an SVG document string, under `strip` when given; also returns the
/// plot box.
pub fn svg(
    title: &str,
    lanes: &[Lane],
    markers: &[f64],
    x_max: f64,
    size: (u32, u32),
    strip: Option<&Strip>,
) -> Result<(String, PlotBox), DrawError> {
    draw::svg_with(size, strip, |area, _| {
        draw(area, title, lanes, markers, x_max, 1.0)
    })
}

/// Renders the lanes to a PNG file, under `strip` when given.
pub fn png(
    title: &str,
    lanes: &[Lane],
    markers: &[f64],
    x_max: f64,
    size: (u32, u32),
    strip: Option<&Strip>,
    path: &std::path::Path,
) -> Result<(), DrawError> {
    draw::png_with(size, strip, path, |area, _| {
        draw(area, title, lanes, markers, x_max, 1.0)
    })
}

/// The chart's title: local replicas say they were simulated.
pub fn title(local: bool) -> &'static str {
    if local {
        "LOCAL replicas (simulated on this machine): one lane each"
    } else {
        "Pods: one lane each"
    }
}

/// Height of the standalone pod chart at 1280 wide: room for every lane.
pub fn height(lanes: usize) -> u32 {
    (140 + 34 * lanes as u32).clamp(240, 1080)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_pod_is_pending_starting_ready_serving_then_terminating_within_the_run() {
        let pods = vec![
            PodRow {
                created_s: Some(-100.0),
                scheduled_s: Some(-99.0),
                ready_s: Some(-90.0),
                first_served_s: Some(0.01),
                last_served_s: Some(19.9),
                ..PodRow::named("a")
            },
            PodRow {
                created_s: Some(3.0),
                scheduled_s: Some(3.5),
                ready_s: Some(5.0),
                first_served_s: Some(6.5),
                terminating_s: Some(12.0),
                gone_s: Some(14.0),
                ..PodRow::named("b")
            },
            PodRow {
                created_s: Some(3.0),
                ready_s: Some(5.0),
                terminating_s: Some(12.0),
                ..PodRow::named("c")
            },
            PodRow {
                first_served_s: Some(2.0),
                last_served_s: Some(8.0),
                ..PodRow::named("laptop")
            },
            PodRow {
                created_s: Some(-50.0),
                gone_s: Some(-10.0),
                ..PodRow::named("long-gone")
            },
        ];
        let l = lanes(&pods, 20.0);
        let names: Vec<&str> = l.iter().map(|l| l.pod.as_str()).collect();
        assert_eq!(names, ["a", "b", "c", "laptop"]);
        assert_eq!(
            l[0].segments,
            [(0.0, 0.01, Phase::Ready), (0.01, 20.0, Phase::Serving)]
        );
        assert_eq!(
            l[1].segments,
            [
                (3.0, 3.5, Phase::Pending),
                (3.5, 5.0, Phase::Starting),
                (5.0, 6.5, Phase::Ready),
                (6.5, 12.0, Phase::Serving),
                (12.0, 14.0, Phase::Terminating),
            ]
        );
        // Never served: ready until terminating, which runs to the end (gone unknown).
        assert_eq!(
            l[2].segments,
            [
                (3.0, 5.0, Phase::Starting),
                (5.0, 12.0, Phase::Ready),
                (12.0, 20.0, Phase::Terminating),
            ]
        );
        assert_eq!(l[3].segments, [(2.0, 8.0, Phase::Serving)]);
    }
}
