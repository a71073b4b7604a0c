//! Benchmark: render every report output (summary.json, 4 charts as PNG and SVG, the
//! 1920×1080 dashboard, report.html) for a synthetic one-hour run — 3,600 timeline rows,
//! 10 endpoints, a watched Deployment with 50 scale events — and print how long it took. Run with
//! `cargo run --release --example render_bench` (bench/RESULTS.md records the numbers).

#[path = "common/mod.rs"]
mod common;

use std::time::Instant;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let dir = tempfile::tempdir()?;
    let (rows, events) = common::synthetic_hour(dir.path())?;
    let mut times = Vec::new();
    for _ in 0..3 {
        let started = Instant::now();
        let rendered = scaleproof::report::render(dir.path(), None)?;
        times.push(started.elapsed().as_secs_f64());
        assert_eq!(rendered.files.len(), 23);
    }
    times.sort_by(f64::total_cmp);
    println!(
        "rendered {} rows, {} endpoints, {} scale events: best {:.3} s, median {:.3} s, worst {:.3} s",
        rows,
        common::ENDPOINTS,
        events,
        times[0],
        times[1],
        times[2]
    );
    Ok(())
}
