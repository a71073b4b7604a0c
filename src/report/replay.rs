//! `scaleproof replay RUN_DIR`: the run as an animation — an animated GIF, an APNG, or
//! numbered PNG frames for `ffmpeg`. Frame *k* shows the run up to time
//! τ = (k + 1) × speed ÷ fps (the last frame: the whole run): the four charts on the whole
//! run's axes with the data up to τ and a playhead at τ, and the figures of that moment, as
//! the terminal names them ("this second", "so far"); the last frame shows the run's headline
//! figures and verdict from `summary.json`. What each frame shows is also written to
//! `<out>.frames.csv`.
//!
//! Frames are drawn one at a time into one buffer and streamed to the encoder, so memory
//! stays flat in the run's length.

use super::draw::{self, DrawError, boxed};
use super::headline;
use super::series::{self, ChartSpec, PALETTE};
use super::summary::Summary;
use crate::timeline::{self, RunDir, RunDirError, TimelineRow, UNKNOWN};
use crate::verdict::State;
use plotters::prelude::*;
use std::collections::HashMap;
use std::io::Write;
use std::path::{Path, PathBuf};

/// What to make.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReplayFormat {
    /// An animated GIF (256 colours, fixed palette; delays in centiseconds).
    Gif,
    /// An animated PNG (exact colours and frame rate).
    Apng,
    /// `frame-00001.png`, … in a folder, for `ffmpeg`.
    Frames,
}

#[derive(Debug, Clone)]
pub struct ReplayOptions {
    /// Run seconds per second of replay.
    pub speed: f64,
    pub fps: u32,
    pub size: (u32, u32),
    pub format: ReplayFormat,
    /// The file (GIF, APNG) or folder (frames) to write.
    pub out: PathBuf,
}

/// What [`replay`] wrote.
#[derive(Debug)]
pub struct ReplayOutcome {
    pub frames: u64,
    pub out: PathBuf,
    /// What each frame shows (`frame,run_time_s,figures,verdict`).
    pub frames_csv: PathBuf,
    /// For frames: the command that makes an MP4 of them.
    pub ffmpeg: Option<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum ReplayError {
    #[error(transparent)]
    RunDir(#[from] RunDirError),
    #[error("{0}")]
    Invalid(String),
    #[error("cannot draw frame {frame}")]
    Draw {
        frame: u64,
        #[source]
        source: DrawError,
    },
    #[error("cannot write {}", path.display())]
    Write {
        path: PathBuf,
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
}

/// Frames of a run of `run_s` seconds at `fps`, `speed` times faster: ⌈run_s × fps ÷ speed⌉,
/// at least one.
pub fn frame_count(run_s: f64, fps: u32, speed: f64) -> u64 {
    ((run_s * f64::from(fps) / speed - 1e-9).ceil() as u64).max(1)
}

/// The figures a frame shows: (label, value).
type Figures = Vec<(String, String)>;

/// The figures at run time `tau`, from the seconds completed by then, named as the terminal
/// and the live page name them.
fn moment(rows: &[TimelineRow]) -> Figures {
    let Some(row) = rows.last() else {
        return vec![(
            "waiting for the first second".to_owned(),
            UNKNOWN.to_owned(),
        )];
    };
    let corrected = row.target_rps.is_some();
    let p95 = if corrected {
        row.p95_corrected_us
    } else {
        row.p95_raw_us
    };
    let ms = |us: Option<u64>| {
        us.map_or_else(
            || UNKNOWN.to_owned(),
            |v| format!("{:.2} ms", v as f64 / 1000.0),
        )
    };
    let (failed, dropped, requests) = rows.iter().fold((0, 0, 0), |(f, d, n), r| {
        (f + r.errors, d + r.dropped, n + r.requests)
    });
    let replicas = match (row.deploy_ready, row.deploy_spec_replicas) {
        (Some(ready), Some(spec)) => ("ready replicas".to_owned(), format!("{ready} / {spec}")),
        (Some(ready), None) => ("ready replicas".to_owned(), ready.to_string()),
        _ => (
            "serving endpoints (this second)".to_owned(),
            row.endpoints
                .map_or_else(|| UNKNOWN.to_owned(), |n| n.to_string()),
        ),
    };
    vec![
        (
            "ok rps (this second)".to_owned(),
            headline::thousands(row.ok_rps.round() as u64),
        ),
        (
            format!(
                "p95 {} (this second)",
                if corrected { "corrected" } else { "raw" }
            ),
            ms(p95),
        ),
        replicas,
        (
            "failed + dropped (so far)".to_owned(),
            format!(
                "{} + {} of {}",
                headline::thousands(failed),
                headline::thousands(dropped),
                headline::thousands(requests + dropped)
            ),
        ),
    ]
}

/// The last frame's figures: the run's headline figures, as `report.html` shows them.
fn finale(summary: &Summary) -> Figures {
    [
        headline::peak(summary),
        headline::p95(summary),
        headline::replicas(summary),
        headline::error_rate(summary),
    ]
    .into_iter()
    .map(|f| (f.label, f.value))
    .collect()
}

/// The fixed GIF palette: the dashboard's own colours first, then a 6×6×6 colour cube and a
/// grey ramp for the anti-aliased edges between them.
fn palette() -> Vec<[u8; 3]> {
    let mut colours: Vec<[u8; 3]> = vec![
        [255, 255, 255],
        [0, 0, 0],
        [245, 246, 248],
        [31, 41, 51],
        [203, 210, 217],
        [120, 120, 120],
        [235, 235, 235],
        [200, 200, 200],
        [90, 90, 90],
        [160, 60, 160],
        [47, 158, 68],
        [201, 42, 42],
        [230, 119, 0],
        [92, 103, 125],
    ];
    colours.extend(PALETTE.iter().map(|c| [c.0, c.1, c.2]));
    for r in 0..6u8 {
        for g in 0..6u8 {
            for b in 0..6u8 {
                colours.push([r * 51, g * 51, b * 51]);
            }
        }
    }
    let mut grey = 8u8;
    while colours.len() < 255 {
        colours.push([grey; 3]);
        grey = grey.saturating_add(12);
    }
    colours.truncate(255);
    // The last index is transparent: "as in the previous frame".
    colours.push([255, 0, 255]);
    colours
}

/// The palette index that keeps the previous frame's pixel.
const KEEP: u8 = 255;

/// Maps RGB pixels to palette indices (nearest colour, remembered per colour).
struct Quantizer {
    palette: Vec<[u8; 3]>,
    seen: HashMap<[u8; 3], u8>,
}

impl Quantizer {
    fn index(&mut self, px: [u8; 3]) -> u8 {
        if let Some(&i) = self.seen.get(&px) {
            return i;
        }
        let d = |c: &[u8; 3]| {
            (0..3)
                .map(|k| (i32::from(c[k]) - i32::from(px[k])).pow(2))
                .sum::<i32>()
        };
        let i = self.palette[..usize::from(KEEP)]
            .iter()
            .enumerate()
            .min_by_key(|(_, c)| d(c))
            .map_or(0, |(i, _)| i as u8);
        self.seen.insert(px, i);
        i
    }
}

enum Sink {
    Gif {
        encoder: gif::Encoder<std::io::BufWriter<std::fs::File>>,
        quantizer: Quantizer,
        indices: Vec<u8>,
        /// The picture as shown after the previous frame (palette indices).
        shown: Option<Vec<u8>>,
    },
    Apng {
        writer: png::Writer<std::io::BufWriter<std::fs::File>>,
        /// The picture as shown after the previous frame (RGB).
        shown: Option<Vec<u8>>,
    },
    Frames(PathBuf),
}

/// Draws the replay of the run directory `dir`; `progress(done, total)` after each frame.
pub fn replay(
    dir: &Path,
    options: &ReplayOptions,
    mut progress: impl FnMut(u64, u64),
) -> Result<ReplayOutcome, ReplayError> {
    let (w, h) = options.size;
    if !(options.speed > 0.0 && options.speed.is_finite()) || options.fps == 0 || w < 320 || h < 180
    {
        return Err(ReplayError::Invalid(format!(
            "speed must be positive, fps at least 1 and the size at least 320x180 (got ×{}, {} fps, {w}x{h})",
            options.speed, options.fps
        )));
    }
    let run = RunDir::open(dir);
    let meta = run.read_meta()?;
    let rows: Vec<TimelineRow> = run.read(&timeline::TIMELINE)?;
    let endpoint_rows = run.read(&timeline::ENDPOINTS)?;
    let changes = run.read(&timeline::CLUSTER)?;
    let summary: Summary = serde_json::from_str(&run.read_text("summary.json").map_err(|_| {
        ReplayError::Invalid(format!(
            "{} has no summary.json: run `scaleproof report {}` first",
            dir.display(),
            dir.display()
        ))
    })?)
    .map_err(|e| ReplayError::Invalid(format!("summary.json: {e}")))?;
    let workload = meta
        .cluster
        .as_ref()
        .map_or(timeline::WorkloadSource::Cluster, |c| c.source);
    let x_max = series::x_max(&rows);
    let mut specs = series::charts(&rows, &endpoint_rows, &changes, workload);
    // Every frame on the whole run's scale.
    for spec in &mut specs {
        let top = spec
            .series
            .iter()
            .flat_map(|s| s.points.iter().map(|p| p.1))
            .fold(0.0f64, f64::max)
            .max(1.0);
        spec.y_top = Some(top * 1.1);
    }
    let frames = frame_count(x_max, options.fps, options.speed);
    let write_err = |path: &Path| {
        let path = path.to_path_buf();
        move |e: Box<dyn std::error::Error + Send + Sync>| ReplayError::Write {
            path: path.clone(),
            source: e,
        }
    };
    let out = options.out.clone();
    let file = |path: &Path| -> Result<std::io::BufWriter<std::fs::File>, ReplayError> {
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).map_err(|e| write_err(path)(e.into()))?;
        }
        std::fs::File::create(path)
            .map(std::io::BufWriter::new)
            .map_err(|e| write_err(path)(e.into()))
    };
    let mut sink = match options.format {
        ReplayFormat::Gif => {
            let palette = palette();
            let flat: Vec<u8> = palette.iter().flatten().copied().collect();
            let mut encoder = gif::Encoder::new(file(&out)?, w as u16, h as u16, &flat)
                .map_err(|e| write_err(&out)(e.into()))?;
            encoder
                .set_repeat(gif::Repeat::Infinite)
                .map_err(|e| write_err(&out)(e.into()))?;
            Sink::Gif {
                encoder,
                quantizer: Quantizer {
                    palette,
                    seen: HashMap::new(),
                },
                indices: vec![0; (w * h) as usize],
                shown: None,
            }
        }
        ReplayFormat::Apng => {
            // RGBA: after the first frame, pixels that did not change are transparent and
            // blended over the previous picture, as in the GIF.
            let mut encoder = png::Encoder::new(file(&out)?, w, h);
            encoder.set_color(png::ColorType::Rgba);
            encoder.set_depth(png::BitDepth::Eight);
            let animated = encoder
                .set_animated(frames as u32, 0)
                .and_then(|()| encoder.set_frame_delay(1, options.fps as u16));
            animated.map_err(|e| write_err(&out)(e.into()))?;
            Sink::Apng {
                writer: encoder
                    .write_header()
                    .map_err(|e| write_err(&out)(e.into()))?,
                shown: None,
            }
        }
        ReplayFormat::Frames => {
            std::fs::create_dir_all(&out).map_err(|e| write_err(&out)(e.into()))?;
            Sink::Frames(out.clone())
        }
    };
    let csv_path = PathBuf::from(format!("{}.frames.csv", out.display()));
    let mut csv = csv::Writer::from_writer(file(&csv_path)?);
    csv.write_record(["frame", "run_time_s", "figures", "verdict"])
        .map_err(|e| write_err(&csv_path)(e.into()))?;
    let mut buf = vec![0u8; (w * h * 3) as usize];
    let title = Title {
        scenario: &summary.scenario,
        target: &summary.target,
        workload: &headline::workload(&summary),
        date: &headline::when(summary.started_at),
        run_s: x_max,
        speed: options.speed,
    };
    for k in 0..frames {
        let last = k + 1 == frames;
        let tau = if last {
            x_max
        } else {
            ((k + 1) as f64 * options.speed / f64::from(options.fps)).min(x_max)
        };
        let shown = rows.partition_point(|r| r.t_s as f64 + r.span_s <= tau + 1e-9);
        let (figures, verdict) = if last {
            (finale(&summary), Some(summary.verdict.state))
        } else {
            (moment(&rows[..shown]), None)
        };
        frame(
            &mut buf,
            (w, h),
            &title,
            &specs,
            x_max,
            tau,
            &figures,
            verdict,
        )
        .map_err(|source| ReplayError::Draw {
            frame: k + 1,
            source,
        })?;
        match &mut sink {
            Sink::Gif {
                encoder,
                quantizer,
                indices,
                shown,
            } => {
                for (i, px) in buf.chunks_exact(3).enumerate() {
                    indices[i] = quantizer.index([px[0], px[1], px[2]]);
                }
                // Centiseconds: frame k ends at round(100 (k+1) / fps), so the rate is exact
                // on average.
                let at = |k: u64| (100.0 * k as f64 / f64::from(options.fps)).round() as u16;
                // After the first frame, only the rectangle that changed, its unchanged
                // pixels transparent (they keep the previous frame's): most of a frame is.
                let mut f = match shown.as_ref() {
                    None => {
                        gif::Frame::from_indexed_pixels(w as u16, h as u16, indices.clone(), None)
                    }
                    Some(before) => changed(before, indices, w as usize, h as usize),
                };
                match shown {
                    Some(before) => before.copy_from_slice(indices),
                    None => *shown = Some(indices.clone()),
                }
                f.dispose = gif::DisposalMethod::Keep;
                f.delay = at(k + 1).saturating_sub(at(k)).max(1);
                encoder
                    .write_frame(&f)
                    .map_err(|e| write_err(&out)(e.into()))?;
            }
            Sink::Apng { writer, shown } => {
                let (x0, y0, x1, y1) = match shown.as_deref() {
                    None => (0, 0, w as usize, h as usize),
                    Some(before) => bounds(before, &buf, w as usize, h as usize, 3),
                };
                let mut rgba = Vec::with_capacity((x1 - x0) * (y1 - y0) * 4);
                for y in y0..y1 {
                    let row = (y * w as usize + x0) * 3..(y * w as usize + x1) * 3;
                    let now = buf[row.clone()].chunks_exact(3);
                    match shown.as_deref() {
                        None => {
                            now.for_each(|px| rgba.extend_from_slice(&[px[0], px[1], px[2], 255]))
                        }
                        Some(before) => {
                            for (px, was) in now.zip(before[row].chunks_exact(3)) {
                                rgba.extend_from_slice(&if px == was {
                                    [0; 4]
                                } else {
                                    [px[0], px[1], px[2], 255]
                                });
                            }
                        }
                    }
                }
                // Position (0, 0) first: the size is checked against the current position.
                writer
                    .reset_frame_position()
                    .and_then(|()| writer.set_frame_dimension((x1 - x0) as u32, (y1 - y0) as u32))
                    .and_then(|()| writer.set_frame_position(x0 as u32, y0 as u32))
                    .and_then(|()| writer.set_dispose_op(png::DisposeOp::None))
                    .and_then(|()| {
                        writer.set_blend_op(if shown.is_some() {
                            png::BlendOp::Over
                        } else {
                            png::BlendOp::Source
                        })
                    })
                    .and_then(|()| writer.write_image_data(&rgba))
                    .map_err(|e| write_err(&out)(e.into()))?;
                match shown {
                    Some(before) => before.copy_from_slice(&buf),
                    None => *shown = Some(buf.clone()),
                }
            }
            Sink::Frames(dir) => {
                let path = dir.join(format!("frame-{:05}.png", k + 1));
                let mut encoder = png::Encoder::new(file(&path)?, w, h);
                encoder.set_color(png::ColorType::Rgb);
                encoder.set_depth(png::BitDepth::Eight);
                encoder
                    .write_header()
                    .and_then(|mut wr| wr.write_image_data(&buf))
                    .map_err(|e| write_err(&path)(e.into()))?;
            }
        }
        let text: Vec<String> = figures.iter().map(|(l, v)| format!("{l}: {v}")).collect();
        csv.write_record([
            (k + 1).to_string(),
            format!("{tau:.3}"),
            text.join("; "),
            verdict.map_or(String::new(), |v| {
                serde_json::to_value(v)
                    .ok()
                    .and_then(|v| v.as_str().map(str::to_owned))
                    .unwrap_or_default()
            }),
        ])
        .map_err(|e| write_err(&csv_path)(e.into()))?;
        progress(k + 1, frames);
    }
    match sink {
        Sink::Gif { encoder, .. } => {
            let mut inner = encoder
                .into_inner()
                .map_err(|e| write_err(&out)(e.into()))?;
            inner.flush().map_err(|e| write_err(&out)(e.into()))?;
        }
        Sink::Apng { writer, .. } => writer.finish().map_err(|e| write_err(&out)(e.into()))?,
        Sink::Frames(_) => {}
    }
    csv.flush().map_err(|e| write_err(&csv_path)(e.into()))?;
    let ffmpeg = (options.format == ReplayFormat::Frames).then(|| {
        format!(
            "ffmpeg -framerate {} -i {}/frame-%05d.png -c:v libx264 -pix_fmt yuv420p -crf 18 {}.mp4",
            options.fps,
            out.display(),
            out.display()
        )
    });
    Ok(ReplayOutcome {
        frames,
        out,
        frames_csv: csv_path,
        ffmpeg,
    })
}

/// The rectangle `(x0, y0, x1, y1)` (ends excluded) holding every pixel of `now` that differs
/// from `before`, both `w`×`h` pixels of `bytes` bytes; `(0, 0, 1, 1)` when none does.
fn bounds(
    before: &[u8],
    now: &[u8],
    w: usize,
    h: usize,
    bytes: usize,
) -> (usize, usize, usize, usize) {
    let (mut x0, mut y0, mut x1, mut y1) = (w, h, 0, 0);
    let stride = w * bytes;
    for (y, (b, n)) in before
        .chunks_exact(stride)
        .zip(now.chunks_exact(stride))
        .enumerate()
        .take(h)
    {
        // Whole rows compare as one memcmp; most rows of a frame are unchanged.
        if b == n {
            continue;
        }
        let first = b.iter().zip(n).position(|(p, q)| p != q).unwrap_or(0);
        let last = b.iter().zip(n).rposition(|(p, q)| p != q).unwrap_or(0);
        x0 = x0.min(first / bytes);
        x1 = x1.max(last / bytes + 1);
        y0 = y0.min(y);
        y1 = y + 1;
    }
    if x0 >= x1 {
        // Nothing changed: one (transparent) pixel.
        (0, 0, 1, 1)
    } else {
        (x0, y0, x1, y1)
    }
}

/// The part of `now` that differs from `before` (both `w`×`h` palette indices): the bounding
/// rectangle, with pixels that did not change set to the transparent [`KEEP`].
fn changed(before: &[u8], now: &[u8], w: usize, h: usize) -> gif::Frame<'static> {
    let (x0, y0, x1, y1) = bounds(before, now, w, h, 1);
    let mut buffer = Vec::with_capacity((x1 - x0) * (y1 - y0));
    for y in y0..y1 {
        for x in x0..x1 {
            let i = y * w + x;
            buffer.push(if before[i] == now[i] { KEEP } else { now[i] });
        }
    }
    let mut f =
        gif::Frame::from_indexed_pixels((x1 - x0) as u16, (y1 - y0) as u16, buffer, Some(KEEP));
    f.left = x0 as u16;
    f.top = y0 as u16;
    f
}

/// The title strip's text.
struct Title<'a> {
    scenario: &'a str,
    target: &'a str,
    workload: &'a str,
    date: &'a str,
    run_s: f64,
    speed: f64,
}

fn clock(s: f64) -> String {
    let s = s.max(0.0).round() as u64;
    format!("{}:{:02}", s / 60, s % 60)
}

/// Draws one frame into `buf` (RGB).
#[allow(clippy::too_many_arguments)]
fn frame(
    buf: &mut [u8],
    size: (u32, u32),
    title: &Title<'_>,
    specs: &[ChartSpec; 4],
    x_max: f64,
    tau: f64,
    figures: &Figures,
    verdict: Option<State>,
) -> Result<(), DrawError> {
    draw::register_fonts();
    let s = f64::from(size.0) / 1920.0;
    let px = |v: f64| (v * s).round() as i32;
    let root = BitMapBackend::with_buffer(buf, size).into_drawing_area();
    root.fill(&RGBColor(245, 246, 248)).map_err(boxed)?;
    let (header, rest) = root.split_vertically(px(110.0));
    header.fill(&draw::STRIP_INK).map_err(boxed)?;
    let text = |area: &DrawingArea<BitMapBackend, plotters::coord::Shift>,
                t: String,
                at: (i32, i32),
                size: f64,
                bold: bool,
                colour: RGBColor| draw::label(area, t, at, size * s, bold, colour);
    let white = RGBColor(255, 255, 255);
    let soft = draw::STRIP_SOFT;
    text(
        &header,
        format!("scaleproof · {}", title.scenario),
        (px(32.0), px(14.0)),
        40.0,
        true,
        white,
    )?;
    text(
        &header,
        format!("{} · {} · {}", title.target, title.workload, title.date),
        (px(32.0), px(66.0)),
        24.0,
        false,
        soft,
    )?;
    text(
        &header,
        format!("{} / {}", clock(tau), clock(title.run_s)),
        (px(1560.0), px(14.0)),
        40.0,
        true,
        white,
    )?;
    text(
        &header,
        format!("replay ×{}", title.speed),
        (px(1560.0), px(66.0)),
        24.0,
        false,
        soft,
    )?;
    let (tiles, charts) = rest.split_vertically(px(150.0));
    let tiles = tiles.margin(px(12.0), px(6.0), px(24.0), px(24.0));
    let n = figures.len() + usize::from(verdict.is_some());
    for (i, area) in tiles.split_evenly((1, n)).iter().enumerate() {
        let area = area.margin(0, 0, px(6.0), px(6.0));
        area.fill(&white).map_err(boxed)?;
        if let Some((label, value)) = figures.get(i) {
            text(
                &area,
                label.clone(),
                (px(14.0), px(10.0)),
                20.0,
                false,
                RGBColor(90, 90, 90),
            )?;
            text(
                &area,
                value.clone(),
                (px(14.0), px(44.0)),
                44.0,
                true,
                RGBColor(0, 0, 0),
            )?;
        } else if let Some(state) = verdict {
            let colour = draw::verdict_colour(state);
            area.fill(&colour).map_err(boxed)?;
            text(
                &area,
                "verdict".to_owned(),
                (px(14.0), px(10.0)),
                20.0,
                false,
                white,
            )?;
            let word = state.label();
            text(
                &area,
                word.to_owned(),
                (px(14.0), px(44.0)),
                44.0,
                true,
                white,
            )?;
        }
    }
    let charts = charts.margin(px(4.0), px(16.0), px(24.0), px(24.0));
    for (area, spec) in charts.split_evenly((2, 2)).iter().zip(specs) {
        let area = area.margin(px(6.0), px(6.0), px(6.0), px(6.0));
        let mut shown = spec.clone();
        for series in &mut shown.series {
            series.points.retain(|p| p.0 <= tau);
        }
        shown.markers.retain(|m| *m <= tau);
        let (left, top, right, bottom) = draw::draw(&area, &shown, x_max, 1.3 * s)?;
        // The playhead (the plot box is in the image's pixels: drawn on the root).
        let x = left + ((f64::from(right - left)) * (tau / x_max.max(1e-9))).round() as i32;
        root.draw(&PathElement::new(
            vec![(x, top), (x, bottom)],
            RGBColor(0, 0, 0).stroke_width(px(3.0).max(1) as u32),
        ))
        .map_err(boxed)?;
    }
    root.present().map_err(boxed)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_are_the_run_times_fps_over_speed_rounded_up() {
        assert_eq!(frame_count(90.0, 5, 10.0), 45);
        assert_eq!(frame_count(3600.0, 30, 10.0), 10_800);
        assert_eq!(frame_count(10.0, 3, 4.0), 8);
        assert_eq!(frame_count(0.5, 1, 100.0), 1);
    }

    #[test]
    fn the_gif_palette_holds_the_chart_colours_exactly() {
        let palette = palette();
        assert_eq!(palette.len(), 256);
        assert_eq!(
            palette[usize::from(KEEP)],
            [255, 0, 255],
            "the transparent index"
        );
        let mut q = Quantizer {
            palette: palette.clone(),
            seen: HashMap::new(),
        };
        for c in PALETTE {
            let i = q.index([c.0, c.1, c.2]);
            assert_eq!(palette[i as usize], [c.0, c.1, c.2]);
        }
    }
}
