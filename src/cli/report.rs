//! Flags of the subcommands that read a run directory and send nothing: `report`, `merge`
//! and `replay`.

use super::expect::ExpectArgs;
use crate::spec::values;
use clap::Args;
use std::path::PathBuf;

/// Flags of `scaleproof report`.
#[derive(Debug, Args)]
pub struct ReportArgs {
    /// The run directory, e.g. reports/20261126T061500Z-predict.
    pub run_dir: PathBuf,
    #[command(flatten)]
    pub expect: ExpectArgs,
}

/// Flags of `scaleproof merge`.
#[derive(Debug, Args)]
pub struct MergeArgs {
    /// The workers' run directories (one per worker of the run).
    #[arg(required = true, value_name = "RUN_DIR")]
    pub run_dirs: Vec<PathBuf>,
    /// Folder that receives the merged run directory.
    #[arg(long, value_name = "DIR", default_value = "reports")]
    pub out: PathBuf,
}

/// Flags of `scaleproof replay`.
#[derive(Debug, Args)]
pub struct ReplayArgs {
    /// The run directory to replay.
    pub run_dir: PathBuf,
    /// Run seconds per second of replay: 10 turns a 5-minute run into 30 s.
    #[arg(long, value_name = "TIMES", default_value = "10", value_parser = values::positive)]
    pub speed: f64,
    /// Frames per second of the replay.
    #[arg(long, value_name = "N", default_value_t = 30, value_parser = clap::value_parser!(u32).range(1..=120))]
    pub fps: u32,
    /// Frame size, WIDTHxHEIGHT [default: 960x540 for gif, 1920x1080 for apng and frames]
    #[arg(long, value_name = "WxH", value_parser = frame_size)]
    pub size: Option<(u32, u32)>,
    /// gif (README, slides), apng (exact colours and rate), or frames (numbered PNGs; the
    /// ffmpeg command that makes an MP4 of them is printed)
    #[arg(long, value_name = "FORMAT", default_value = "gif", value_parser = ["gif", "apng", "frames"])]
    pub format: String,
    /// Where to write [default: RUN_DIR/replay.gif, RUN_DIR/replay.png, RUN_DIR/replay-frames/]
    #[arg(long, value_name = "PATH")]
    pub out: Option<PathBuf>,
}

fn frame_size(text: &str) -> Result<(u32, u32), String> {
    let bad = || format!("{text:?} is not a size: WIDTHxHEIGHT, e.g. 960x540");
    let (w, h) = text.split_once(['x', 'X']).ok_or_else(bad)?;
    let (w, h): (u32, u32) = (
        w.trim().parse().map_err(|_| bad())?,
        h.trim().parse().map_err(|_| bad())?,
    );
    if !(320..=3840).contains(&w) || !(180..=2160).contains(&h) {
        return Err(format!("{w}x{h}: use 320x180 to 3840x2160"));
    }
    Ok((w, h))
}
