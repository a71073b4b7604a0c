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

mod apng;
mod gif;

use super::draw::{self, DrawError, boxed};
use super::headline;
use super::series::{self, ChartSpec};
use super::summary::Summary;
use crate::timeline::{self, RunDir, RunDirError, TimelineRow, UNKNOWN};
use crate::verdict::State;
use apng::ApngSink;
use gif::GifSink;
use plotters::prelude::*;
use std::io::BufWriter;
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

/// Where frames go.
enum Sink {
    Gif(GifSink),
    Apng(ApngSink),
    /// Numbered PNGs in this folder.
    Frames(PathBuf),
}

/// A new file at `path` (its folder made), buffered.
fn create(path: &Path) -> Result<BufWriter<std::fs::File>, ReplayError> {
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent).map_err(write_err(path))?;
    }
    std::fs::File::create(path)
        .map(BufWriter::new)
        .map_err(write_err(path))
}

/// A [`ReplayError::Write`] of `path`.
fn write_err<E: Into<Box<dyn std::error::Error + Send + Sync>>>(
    path: &Path,
) -> impl Fn(E) -> ReplayError {
    let path = path.to_path_buf();
    move |e| ReplayError::Write {
        path: path.clone(),
        source: e.into(),
    }
}

impl Sink {
    fn open(options: &ReplayOptions, frames: u64) -> Result<Self, ReplayError> {
        let (w, h) = options.size;
        let out = &options.out;
        Ok(match options.format {
            ReplayFormat::Gif => Sink::Gif(
                GifSink::create(create(out)?, w as u16, h as u16).map_err(write_err(out))?,
            ),
            ReplayFormat::Apng => Sink::Apng(
                ApngSink::create(create(out)?, (w, h), frames as u32, options.fps as u16)
                    .map_err(write_err(out))?,
            ),
            ReplayFormat::Frames => {
                std::fs::create_dir_all(out).map_err(write_err(out))?;
                Sink::Frames(out.clone())
            }
        })
    }

    /// Adds frame `k` (0-based), the RGB picture `buf`.
    fn push(&mut self, options: &ReplayOptions, k: u64, buf: &[u8]) -> Result<(), ReplayError> {
        let out = &options.out;
        match self {
            Sink::Gif(gif) => {
                // Centiseconds: frame k ends at round(100 (k+1) / fps), so the rate is exact
                // on average.
                let at = |k: u64| (100.0 * k as f64 / f64::from(options.fps)).round() as u16;
                gif.push(buf, at(k + 1).saturating_sub(at(k)))
                    .map_err(write_err(out))
            }
            Sink::Apng(apng) => apng.push(buf).map_err(write_err(out)),
            Sink::Frames(dir) => {
                let (w, h) = options.size;
                let path = dir.join(format!("frame-{:05}.png", k + 1));
                let mut encoder = png::Encoder::new(create(&path)?, w, h);
                encoder.set_color(png::ColorType::Rgb);
                encoder.set_depth(png::BitDepth::Eight);
                encoder
                    .write_header()
                    .and_then(|mut wr| wr.write_image_data(buf))
                    .map_err(write_err(&path))
            }
        }
    }

    fn finish(self, out: &Path) -> Result<(), ReplayError> {
        match self {
            Sink::Gif(gif) => gif.finish().map_err(write_err(out)),
            Sink::Apng(apng) => apng.finish().map_err(write_err(out)),
            Sink::Frames(_) => Ok(()),
        }
    }
}

/// The run directory's figures as a replay draws them.
struct Run {
    rows: Vec<TimelineRow>,
    summary: Summary,
    specs: [ChartSpec; 4],
    x_max: f64,
}

/// Reads the run directory `dir`: its timeline, charts on the whole run's scale, summary.
fn read_run(dir: &Path) -> Result<Run, ReplayError> {
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
    Ok(Run {
        rows,
        summary,
        specs,
        x_max,
    })
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
    let Run {
        rows,
        summary,
        specs,
        x_max,
    } = read_run(dir)?;
    let frames = frame_count(x_max, options.fps, options.speed);
    let out = options.out.clone();
    let mut sink = Sink::open(options, frames)?;
    let csv_path = PathBuf::from(format!("{}.frames.csv", out.display()));
    let mut csv = csv::Writer::from_writer(create(&csv_path)?);
    csv.write_record(["frame", "run_time_s", "figures", "verdict"])
        .map_err(write_err(&csv_path))?;
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
        sink.push(options, k, &buf)?;
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
        .map_err(write_err(&csv_path))?;
        progress(k + 1, frames);
    }
    sink.finish(&out)?;
    csv.flush().map_err(write_err(&csv_path))?;
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
}
