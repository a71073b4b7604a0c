//! Drawing a chart with plotters — into a PNG file, an SVG string, or a panel of the
//! dashboard — with the embedded DejaVu Sans (the machine may have no fonts). Drawing errors
//! keep plotters' error as their source.

use super::series::ChartSpec;
use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::FontStyle;
use plotters::style::text_anchor::{HPos, Pos, VPos};
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

/// Draws `body` under `strip` (when given) on `root`; the plot box is in `root`'s pixels.
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
            // A sub-area draws in its root's pixels: the plot box needs no shifting.
            body(&rest)
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

/// The mesh of the 1920×1080 capacity and comparison charts: whole-number labels at 22 px,
/// axis names at 24 px, a light grid.
pub fn whole_mesh<DB: DrawingBackend>(
    chart: &mut ChartContext<
        '_,
        DB,
        Cartesian2d<plotters::coord::types::RangedCoordf64, plotters::coord::types::RangedCoordf64>,
    >,
    x_desc: &str,
    y_desc: &str,
) -> Result<(), DrawError>
where
    DB::ErrorType: 'static,
{
    let whole = |v: &f64| format!("{v:.0}");
    chart
        .configure_mesh()
        .x_label_formatter(&whole)
        .y_label_formatter(&whole)
        .x_desc(x_desc)
        .y_desc(y_desc)
        .label_style(("sans-serif", 22.0))
        .axis_desc_style(("sans-serif", 24.0))
        .light_line_style(RGBColor(235, 235, 235))
        .draw()
        .map_err(boxed)
}

/// Draws `spec` filling `area`, with the x axis running to `x_max` seconds. `scale` grows
/// fonts and lines (1.0 for 1280×480). Returns the plot box.
pub fn draw<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    spec: &ChartSpec,
    x_max: f64,
    scale: f64,
) -> Result<PlotBox, DrawError>
where
    DB::ErrorType: 'static,
{
    draw_laid_out(area, spec, x_max, scale).map(|d| d.plot)
}

/// Where a drawn chart put its parts, in the image's pixels: the plot box (every series is
/// clipped to it) and each legend entry's box (swatch and name), all outside the plot box.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Drawn {
    pub plot: PlotBox,
    pub legend: Vec<PlotBox>,
}

/// Whether two pixel boxes share no pixel (touching edges do not overlap).
pub fn disjoint(a: PlotBox, b: PlotBox) -> bool {
    a.2 <= b.0 || b.2 <= a.0 || a.3 <= b.1 || b.3 <= a.1
}

/// Lays legend entries `widths` wide out in rows of `row_h` from (`left`, `top`), wrapping
/// before `right`: each entry's box. An entry wider than the row gets a row of its own.
pub fn legend_rows(widths: &[i32], left: i32, right: i32, top: i32, row_h: i32) -> Vec<PlotBox> {
    let (mut x, mut y) = (left, top);
    let mut boxes = Vec::with_capacity(widths.len());
    for &w in widths {
        if x > left && x + w > right {
            (x, y) = (left, y + row_h);
        }
        boxes.push((x, y, x + w, y + row_h));
        x += w;
    }
    boxes
}

/// [`draw`], also returning where the legend went. The legend is a row (or rows) of its own
/// between the title and the plot, never over the data: bands first, bottom band first (the
/// stacking order), then the lines.
pub fn draw_laid_out<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    spec: &ChartSpec,
    x_max: f64,
    scale: f64,
) -> Result<Drawn, DrawError>
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
    // The legend's entries: bands in stacking order (bottom first), then lines.
    let entries: Vec<&super::series::Series> = spec
        .series
        .iter()
        .filter(|s| s.filled)
        .chain(spec.series.iter().filter(|s| !s.filled))
        .collect();
    let legend_font = ("sans-serif", px(14.0) as f64).into_text_style(area);
    let (swatch, gap, row_h) = (px(22.0), px(18.0), px(22.0));
    let widths: Vec<i32> = entries
        .iter()
        .map(|s| {
            let (w, _) = area
                .estimate_text_size(&s.name, &legend_font)
                .unwrap_or((s.name.len() as u32 * px(8.0) as u32, 0));
            swatch + w as i32 + gap
        })
        .collect();
    let y_label_w = px(if spec.unit.is_empty() { 70.0 } else { 100.0 });
    let (x0, y0) = area.get_base_pixel();
    let (width, _) = area.dim_in_pixel();
    let legend = legend_rows(
        &widths,
        x0 + px(10.0) + y_label_w,
        x0 + width as i32 - px(24.0),
        y0 + px(top),
        row_h,
    );
    // The legend's rows, and a gap under them, push the plot down.
    let legend_h = legend.last().map_or(0, |b| b.3 - y0 - px(top) + px(6.0));
    let inner = area.margin(px(top) + legend_h, px(10.0), px(10.0), px(24.0));
    let mut chart = ChartBuilder::on(&inner)
        .x_label_area_size(px(40.0))
        .y_label_area_size(y_label_w)
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
    // Stacked bands, opaque (one colour per pod, never a mix of two): the tallest first, each
    // lower band over it, a thin white line on each band's top edge between neighbours.
    for s in spec.series.iter().filter(|s| s.filled).rev() {
        chart
            .draw_series(
                AreaSeries::new(s.points.iter().copied(), 0.0, s.color.filled())
                    .border_style(WHITE.stroke_width(px(1.0).max(1) as u32)),
            )
            .map_err(err)?;
    }
    for s in spec.series.iter().filter(|s| !s.filled) {
        let style = s.color.stroke_width(px(2.0) as u32);
        if s.dashed {
            chart
                .draw_series(DashedLineSeries::new(
                    s.points.iter().copied(),
                    px(8.0),
                    px(5.0),
                    style,
                ))
                .map_err(err)?;
        } else {
            chart
                .draw_series(LineSeries::new(s.points.iter().copied(), style))
                .map_err(err)?;
        }
    }
    // The boxes are in the image's pixels; the area draws from its own corner.
    for (s, &(l, t, _, b)) in entries.iter().zip(&legend) {
        let (l, mid) = (l - x0, (t + b) / 2 - y0);
        if s.filled {
            area.draw(&Rectangle::new(
                [(l, mid - px(6.0)), (l + px(16.0), mid + px(6.0))],
                s.color.filled(),
            ))
            .map_err(err)?;
        } else {
            // A line's swatch: one stroke, or two dashes for a dashed line.
            let strokes: &[(f64, f64)] = if s.dashed {
                &[(0.0, 6.0), (10.0, 16.0)]
            } else {
                &[(0.0, 16.0)]
            };
            for &(from, to) in strokes {
                area.draw(&PathElement::new(
                    vec![(l + px(from), mid), (l + px(to), mid)],
                    s.color.stroke_width(px(3.0) as u32),
                ))
                .map_err(err)?;
            }
        }
        area.draw(&Text::new(
            s.name.clone(),
            (l + swatch, mid),
            legend_font
                .clone()
                .color(&BLACK)
                .pos(Pos::new(HPos::Left, VPos::Center)),
        ))
        .map_err(err)?;
    }
    let (xr, yr) = chart.plotting_area().get_pixel_range();
    Ok(Drawn {
        plot: (xr.start, yr.start, xr.end, yr.end),
        legend,
    })
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

#[cfg(test)]
mod tests {
    use super::super::series::{PALETTE, Series};
    use super::*;

    fn band(name: &str, value: f64, color: RGBColor) -> Series {
        Series {
            name: name.into(),
            points: (0..=60).map(|t| (f64::from(t), value)).collect(),
            color,
            dashed: false,
            filled: true,
        }
    }

    fn spec(series: Vec<Series>) -> ChartSpec {
        ChartSpec {
            title: "Requests by endpoint".into(),
            y_label: "ok requests/s".into(),
            unit: " rps",
            series,
            markers: Vec::new(),
            note: None,
            integer_y: false,
            y_top: Some(25.0),
        }
    }

    /// Draws `spec` in a panel of a 1280×480 image in memory: the pixels and where the parts went.
    fn drawn(spec: &ChartSpec, scale: f64) -> (Vec<u8>, Drawn) {
        let (w, h) = CHART_PIXELS;
        let mut pixels = vec![0u8; w as usize * h as usize * 3];
        let laid = {
            let root = BitMapBackend::with_buffer(&mut pixels, (w, h)).into_drawing_area();
            // A panel away from the image's corner, as on the dashboard: the parts must land
            // where their boxes say, in the image's pixels.
            let panel = root.margin(30, 10, 40, 10);
            let laid = draw_laid_out(&panel, spec, 60.0, scale).expect("draw");
            root.present().expect("present");
            laid
        };
        (pixels, laid)
    }

    const CHART_PIXELS: (u32, u32) = (1280, 480);

    fn pixel(pixels: &[u8], (x, y): (i32, i32)) -> RGBColor {
        let i = (y as usize * CHART_PIXELS.0 as usize + x as usize) * 3;
        RGBColor(pixels[i], pixels[i + 1], pixels[i + 2])
    }

    #[test]
    fn stacked_bands_are_opaque_each_its_own_colour_and_the_legend_in_stacking_order() {
        // Pre-summed: the bottom band holds 0..10, the top one 10..20 (y axis to 25).
        let s = spec(vec![
            band("pod-a", 10.0, PALETTE[0]),
            band("pod-b", 20.0, PALETTE[1]),
        ]);
        let (pixels, laid) = drawn(&s, 1.0);
        let (l, t, r, b) = laid.plot;
        let y_of = |v: f64| b - ((f64::from(b - t)) * v / 25.0).round() as i32;
        let x = (l + r) / 2;
        // Inside each band, exactly the band's colour: no translucent mix with the other.
        assert_eq!(pixel(&pixels, (x, y_of(5.0))), PALETTE[0]);
        assert_eq!(pixel(&pixels, (x, y_of(15.0))), PALETTE[1]);
        // Above the stack, the plot's white (or its light grid).
        let above = pixel(&pixels, (x, y_of(23.0)));
        assert!(
            [WHITE, RGBColor(235, 235, 235)].contains(&above),
            "{above:?}"
        );
        // The legend: the bottom band first, each swatch in its band's colour.
        assert_eq!(laid.legend.len(), 2);
        assert!(laid.legend[0].0 < laid.legend[1].0, "{:?}", laid.legend);
        for (entry, colour) in laid.legend.iter().zip([PALETTE[0], PALETTE[1]]) {
            let mid = (entry.1 + entry.3) / 2;
            assert_eq!(pixel(&pixels, (entry.0 + 8, mid)), colour);
        }
    }

    #[test]
    fn legend_entries_sit_outside_the_plot_and_wrap_inside_the_picture() {
        // Eight long pod names and two lines: more than one row at the dashboard's scale.
        let mut series: Vec<Series> = (0..8)
            .map(|i| {
                let name = format!("predict-7d9f8c6b5-{i}xk2p");
                band(&name, f64::from(i + 1) * 2.0, PALETTE[i as usize])
            })
            .collect();
        series.push(Series {
            filled: false,
            dashed: true,
            ..band("p95 limit", 22.0, BLACK)
        });
        let (_, laid) = drawn(&spec(series), 1.3);
        assert_eq!(laid.legend.len(), 9);
        let rows: std::collections::BTreeSet<i32> = laid.legend.iter().map(|b| b.1).collect();
        assert!(
            rows.len() >= 2,
            "one row for 9 long entries: {:?}",
            laid.legend
        );
        for entry in &laid.legend {
            assert!(
                disjoint(*entry, laid.plot),
                "{entry:?} over {:?}",
                laid.plot
            );
            assert!(
                entry.0 >= 0 && entry.2 <= CHART_PIXELS.0 as i32,
                "{entry:?}"
            );
            assert!(entry.3 <= laid.plot.1, "{entry:?} below the plot's top");
        }
    }

    #[test]
    fn legend_rows_wrap_before_the_right_edge() {
        assert_eq!(
            legend_rows(&[40, 40, 40, 100], 10, 100, 5, 20),
            vec![
                (10, 5, 50, 25),
                (50, 5, 90, 25),
                (10, 25, 50, 45),
                (10, 45, 110, 65)
            ]
        );
        assert_eq!(legend_rows(&[], 10, 100, 5, 20), Vec::<PlotBox>::new());
    }

    #[test]
    fn a_title_strip_moves_the_plot_box_down_by_its_height_once() {
        let s = spec(vec![band("pod-a", 10.0, PALETTE[0])]);
        let strip = Strip {
            title: "scaleproof · predict".into(),
            line: "local".into(),
        };
        let (_, bare) = svg(&s, 60.0, CHART_PIXELS, None).expect("svg");
        let (_, under) = svg(&s, 60.0, CHART_PIXELS, Some(&strip)).expect("svg");
        let h = Strip::height(1.0) as i32;
        assert_eq!((under.1, under.3), (bare.1 + h, bare.3 + h));
        assert_eq!((under.0, under.2), (bare.0, bare.2));
    }
}
