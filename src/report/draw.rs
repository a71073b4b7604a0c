//! Drawing a chart with plotters — into a PNG file, an SVG string, or a panel of the
//! dashboard — with the embedded DejaVu Sans (the machine may have no fonts). Drawing errors
//! keep plotters' error as their source.

use super::series::ChartSpec;
use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::FontStyle;
use std::sync::Once;

static FONTS: Once = Once::new();

/// Registers the embedded DejaVu Sans as "sans-serif" (the machine may have no fonts).
pub fn register_fonts() {
    FONTS.call_once(|| {
        // The bytes are valid TrueType files shipped by the dejavu crate.
        let _ = plotters::style::register_font(
            "sans-serif",
            FontStyle::Normal,
            dejavu::sans::regular(),
        );
        let _ = plotters::style::register_font("sans-serif", FontStyle::Bold, dejavu::sans::bold());
    });
}

/// Why a chart could not be drawn: plotters' error, kept as the source.
pub type DrawError = Box<dyn std::error::Error + Send + Sync>;

/// Boxes a plotters error as a [`DrawError`].
pub fn boxed<E: std::error::Error + Send + Sync + 'static>(e: E) -> DrawError {
    Box::new(e)
}

/// Text at `at` in the embedded sans-serif, `size` px, for the pictures' titles and figures.
pub fn label<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    text: impl Into<String>,
    at: (i32, i32),
    size: f64,
    bold: bool,
    colour: RGBColor,
) -> Result<(), DrawError>
where
    DB::ErrorType: 'static,
{
    let style = if bold {
        FontStyle::Bold
    } else {
        FontStyle::Normal
    };
    area.draw(&Text::new(
        text.into(),
        at,
        ("sans-serif", size, style).into_font().color(&colour),
    ))
    .map_err(boxed)
}

/// A verdict's colour, the same in every picture and in report.html's badge.
pub fn verdict_colour(state: crate::verdict::State) -> RGBColor {
    use crate::verdict::State;
    match state {
        State::Pass => RGBColor(47, 158, 68),
        State::Fail => RGBColor(201, 42, 42),
        State::Inconclusive => RGBColor(230, 119, 0),
        State::None => RGBColor(92, 103, 125),
    }
}

/// The plot area's pixel box inside the drawn area: (left, top, right, bottom).
pub type PlotBox = (i32, i32, i32, i32);

/// The title strip over a picture shown on its own (chart files, slides): what ran, and
/// [`super::headline::strip`]'s line — target, replicas, date, length.
#[derive(Debug, Clone)]
pub struct Strip {
    pub title: String,
    pub line: String,
}

impl Strip {
    pub fn of(s: &super::Summary) -> Strip {
        Strip {
            title: format!("scaleproof · {}", s.scenario),
            line: super::headline::strip(s),
        }
    }

    /// Height of the strip at `scale` (1.0 for 1280 wide): 72 px, 108 px on a 1920 slide.
    pub fn height(scale: f64) -> u32 {
        (72.0 * scale).round() as u32
    }

    /// Draws the strip filling `area` (of [`Strip::height`]).
    pub fn draw<DB: DrawingBackend>(
        &self,
        area: &DrawingArea<DB, Shift>,
        scale: f64,
    ) -> Result<(), DrawError>
    where
        DB::ErrorType: 'static,
    {
        register_fonts();
        let px = |v: f64| (v * scale).round() as i32;
        area.fill(&STRIP_INK).map_err(boxed)?;
        label(
            area,
            self.title.clone(),
            (px(20.0), px(10.0)),
            24.0 * scale,
            true,
            WHITE,
        )?;
        label(
            area,
            self.line.clone(),
            (px(20.0), px(42.0)),
            16.0 * scale,
            false,
            STRIP_SOFT,
        )
    }
}

/// The ink and soft text of every title strip and header: strips, slides, dashboard, replay.
pub const STRIP_INK: RGBColor = RGBColor(31, 41, 51);
pub const STRIP_SOFT: RGBColor = RGBColor(203, 210, 217);

/// Draws `body` under `strip` (when given) on `root`; the plot box is `root`'s.
pub fn under_strip<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    strip: Option<&Strip>,
    scale: f64,
    body: impl FnOnce(&DrawingArea<DB, Shift>) -> Result<PlotBox, DrawError>,
) -> Result<PlotBox, DrawError>
where
    DB::ErrorType: 'static,
{
    match strip {
        None => body(root),
        Some(strip) => {
            let h = Strip::height(scale);
            let (top, rest) = root.split_vertically(h);
            strip.draw(&top, scale)?;
            let (l, t, r, b) = body(&rest)?;
            let h = h as i32;
            Ok((l, t + h, r, b + h))
        }
    }
}

/// The size of a picture of `size` under `strip`.
pub fn framed_size(size: (u32, u32), strip: Option<&Strip>) -> (u32, u32) {
    let scale = f64::from(size.0) / 1280.0;
    (size.0, size.1 + strip.map_or(0, |_| Strip::height(scale)))
}

/// Draws `body` (a picture of `size`) into an SVG string, under `strip` when given; also
/// returns the plot box. `scale` is `size.0 / 1280`.
pub fn svg_with(
    size: (u32, u32),
    strip: Option<&Strip>,
    body: impl FnOnce(&DrawingArea<SVGBackend, Shift>, f64) -> Result<PlotBox, DrawError>,
) -> Result<(String, PlotBox), DrawError> {
    let scale = f64::from(size.0) / 1280.0;
    let mut out = String::new();
    let plot = {
        let root = SVGBackend::with_string(&mut out, framed_size(size, strip)).into_drawing_area();
        let plot = under_strip(&root, strip, scale, |area| body(area, scale))?;
        root.present().map_err(boxed)?;
        plot
    };
    Ok((out, plot))
}

/// Draws `body` (a picture of `size`) into the PNG file `path`, under `strip` when given.
pub fn png_with(
    size: (u32, u32),
    strip: Option<&Strip>,
    path: &std::path::Path,
    body: impl FnOnce(&DrawingArea<BitMapBackend, Shift>, f64) -> Result<PlotBox, DrawError>,
) -> Result<(), DrawError> {
    let scale = f64::from(size.0) / 1280.0;
    let root = BitMapBackend::new(path, framed_size(size, strip)).into_drawing_area();
    under_strip(&root, strip, scale, |area| body(area, scale))?;
    root.present().map_err(boxed)
}

/// Draws `spec` filling `area`, with the x axis running to `x_max` seconds. `scale` grows
/// fonts and lines (1.0 for 1280×480).
pub fn draw<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    spec: &ChartSpec,
    x_max: f64,
    scale: f64,
) -> Result<PlotBox, DrawError>
where
    DB::ErrorType: 'static,
{
    register_fonts();
    let err = boxed::<DrawingAreaErrorKind<DB::ErrorType>>;
    area.fill(&WHITE).map_err(err)?;
    let px = |v: f64| (v * scale).round() as i32;
    area.draw(&Text::new(
        spec.title.clone(),
        (px(16.0), px(10.0)),
        ("sans-serif", px(22.0) as f64, FontStyle::Bold)
            .into_font()
            .color(&BLACK),
    ))
    .map_err(err)?;
    if let Some(note) = &spec.note {
        area.draw(&Text::new(
            note.clone(),
            (px(16.0), px(38.0)),
            ("sans-serif", px(14.0) as f64)
                .into_font()
                .color(&RGBColor(90, 90, 90)),
        ))
        .map_err(err)?;
    }
    let y_max = spec.y_top.unwrap_or_else(|| {
        spec.series
            .iter()
            .flat_map(|s| s.points.iter().map(|p| p.1))
            .fold(0.0f64, f64::max)
            .max(1.0)
            * 1.1
    });
    let top = if spec.note.is_some() { 60.0 } else { 44.0 };
    let inner = area.margin(px(top), px(10.0), px(10.0), px(24.0));
    let mut chart = ChartBuilder::on(&inner)
        .x_label_area_size(px(40.0))
        .y_label_area_size(px(if spec.unit.is_empty() { 70.0 } else { 100.0 }))
        .build_cartesian_2d(0.0..x_max.max(1.0), 0.0..y_max)
        .map_err(err)?;
    let mut mesh = chart.configure_mesh();
    let whole = |v: &f64| format!("{v:.0}");
    // Whole numbers with thousands separators (1,200), a decimal only on small scales.
    let fine = y_max < 10.0;
    let unit = spec.unit;
    let tick = move |v: &f64| {
        if fine {
            format!("{v:.1}{unit}")
        } else {
            format!(
                "{}{unit}",
                super::headline::thousands(v.round().max(0.0) as u64)
            )
        }
    };
    if spec.integer_y {
        // One label per whole number (at most 11), never 0.5 of a replica.
        mesh.y_labels((y_max.floor() as usize + 1).min(11))
            .y_label_formatter(&whole);
    } else {
        mesh.y_label_formatter(&tick);
    }
    let seconds = |v: &f64| super::headline::thousands(v.round().max(0.0) as u64);
    mesh.x_label_formatter(&seconds);
    mesh.x_desc("seconds since start")
        .y_desc(spec.y_label.clone())
        .label_style(("sans-serif", px(14.0) as f64))
        .axis_desc_style(("sans-serif", px(15.0) as f64))
        .light_line_style(RGBColor(235, 235, 235))
        .draw()
        .map_err(err)?;
    for &m in &spec.markers {
        chart
            .draw_series(DashedLineSeries::new(
                vec![(m, 0.0), (m, y_max)],
                px(6.0),
                px(4.0),
                RGBColor(160, 60, 160).stroke_width(px(2.0) as u32),
            ))
            .map_err(err)?;
    }
    // Stacked bands: draw the tallest first so the lower ones stay visible.
    for s in spec.series.iter().filter(|s| s.filled).rev() {
        chart
            .draw_series(
                AreaSeries::new(s.points.iter().copied(), 0.0, s.color.mix(0.55))
                    .border_style(s.color),
            )
            .map_err(err)?
            .label(s.name.clone())
            .legend(move |(x, y)| Rectangle::new([(x, y - 5), (x + 14, y + 5)], s.color.filled()));
    }
    for s in spec.series.iter().filter(|s| !s.filled) {
        let style = s.color.stroke_width(px(2.0) as u32);
        let color = s.color;
        if s.dashed {
            chart
                .draw_series(DashedLineSeries::new(
                    s.points.iter().copied(),
                    px(8.0),
                    px(5.0),
                    style,
                ))
                .map_err(err)?
        } else {
            chart
                .draw_series(LineSeries::new(s.points.iter().copied(), style))
                .map_err(err)?
        }
        .label(s.name.clone())
        .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 18, y)], color.stroke_width(3)));
    }
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::UpperLeft)
        .label_font(("sans-serif", px(14.0) as f64))
        .background_style(WHITE.mix(0.85))
        .border_style(RGBColor(200, 200, 200))
        .draw()
        .map_err(err)?;
    let (xr, yr) = chart.plotting_area().get_pixel_range();
    Ok((xr.start, yr.start, xr.end, yr.end))
}

/// Renders `spec` as an SVG document string, under `strip` when given; also returns the
/// plot box.
pub fn svg(
    spec: &ChartSpec,
    x_max: f64,
    size: (u32, u32),
    strip: Option<&Strip>,
) -> Result<(String, PlotBox), DrawError> {
    svg_with(size, strip, |area, scale| draw(area, spec, x_max, scale))
}

/// Renders `spec` to a PNG file, under `strip` when given.
pub fn png(
    spec: &ChartSpec,
    x_max: f64,
    size: (u32, u32),
    strip: Option<&Strip>,
    path: &std::path::Path,
) -> Result<(), DrawError> {
    png_with(size, strip, path, |area, scale| {
        draw(area, spec, x_max, scale)
    })
}
