//! Benchmark: `scaleproof replay` of a synthetic one-hour run (the render benchmark's: 3,600
//! rows, 10 endpoints, 50 scale events) at ×10 and 30 fps — 10,800 frames — as a 960×540 GIF
//! (the default) and as 1920×1080 APNG; prints frames, seconds per frame, total, and the
//! process's peak resident memory after each. Run with
//! `cargo run --profile optimized --example replay_bench` (bench/RESULTS.md records the numbers).

#[path = "common/mod.rs"]
mod common;

use scaleproof::report::replay::{ReplayFormat, ReplayOptions, replay};
use std::time::Instant;

/// Peak resident memory of this process so far (VmHWM), MiB.
fn peak_mib() -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1)?.parse::<f64>().ok())
        })
        .map_or(f64::NAN, |kb| kb / 1024.0)
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let dir = tempfile::tempdir()?;
    common::synthetic_hour(dir.path())?;
    scaleproof::report::render(dir.path(), None)?;
    println!(
        "rendered the one-hour run; peak memory so far {:.0} MiB",
        peak_mib()
    );
    let only = std::env::args().nth(1);
    for (format, size, name) in [
        (ReplayFormat::Gif, (960, 540), "replay.gif"),
        (ReplayFormat::Apng, (1920, 1080), "replay.png"),
    ] {
        if only.as_deref().is_some_and(|o| !name.ends_with(o)) {
            continue;
        }
        let out = dir.path().join(name);
        let started = Instant::now();
        let outcome = replay(
            dir.path(),
            &ReplayOptions {
                speed: 10.0,
                fps: 30,
                size,
                format,
                out: out.clone(),
            },
            |done, total| {
                if done % 1000 == 0 || done == total {
                    eprintln!(
                        "{name}: {done}/{total} frames, {:.0} s",
                        started.elapsed().as_secs_f64()
                    );
                }
            },
        )?;
        let total = started.elapsed().as_secs_f64();
        println!(
            "{name} {}x{}: {} frames in {:.0} s, {:.1} ms per frame, {:.1} MB, peak memory {:.0} MiB",
            size.0,
            size.1,
            outcome.frames,
            total,
            total * 1000.0 / outcome.frames as f64,
            std::fs::metadata(&out)?.len() as f64 / 1e6,
            peak_mib()
        );
    }
    Ok(())
}
