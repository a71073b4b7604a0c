//! Benchmark: `scaleproof merge` of 10 workers × 3,600 s. Each worker's run directory is
//! recorded by the real recorder from synthetic samples (200 requests/s per worker, latencies
//! spread over 0.2–50 ms, 10 endpoints), written as a run writes it, then the ten are merged
//! three times; prints the time of each step. Run with
//! `cargo run --profile optimized --example merge_bench` (bench/RESULTS.md records the numbers).

use chrono::Utc;
use scaleproof::load::recorder::{Gauges, Outcome, Recorder, Sample};
#[path = "common/mod.rs"]
mod common;

use scaleproof::timeline::{self, PER_SECOND_HLOG, RunDir, RunMeta, TOTAL_HLOG, WorkerRecord};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

const WORKERS: u32 = 10;
const SECONDS: u64 = 3600;
const RATE: u64 = 200;
const ENDPOINTS: u64 = 10;

/// A small deterministic generator (xorshift), so every run of the bench merges the same data.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
}

fn worker_run(index: u32, out: &std::path::Path) -> Result<PathBuf, Box<dyn std::error::Error>> {
    let t0 = Instant::now();
    let started = Utc::now();
    let rec = Recorder::new(t0, started);
    let names: Vec<Arc<str>> = (0..ENDPOINTS)
        .map(|e| Arc::from(format!("target-service-7d9f8-{e:05}")))
        .collect();
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15 ^ u64::from(index + 1));
    for s in 0..SECONDS {
        for i in 0..RATE {
            let due = t0 + Duration::from_secs(s) + Duration::from_micros(i * 1_000_000 / RATE);
            let sent = due + Duration::from_micros(rng.next() % 100);
            let latency = 200 + (rng.next() % 1000) * (rng.next() % 50);
            let failed = rng.next().is_multiple_of(500);
            rec.record(&Sample {
                due: Some(due),
                sent,
                done: sent + Duration::from_micros(latency),
                outcome: if failed {
                    Outcome::Failed(timeline::ErrorKind::Status5xx)
                } else {
                    Outcome::Ok
                },
                status: Some(if failed { 503 } else { 200 }),
                endpoint: Some(names[(rng.next() % ENDPOINTS) as usize].clone()),
                waited: true,
            });
        }
    }
    let end = t0 + Duration::from_secs(SECONDS);
    let recording = rec.finish(end, |_| Gauges {
        users: 40,
        target_rps: Some(RATE as f64),
    });
    let meta = RunMeta {
        worker: Some(WorkerRecord {
            index,
            count: WORKERS,
            start_at: Some(started),
            start_late_ms: Some(0.0),
        }),
        started_at: started,
        ended_at: started + chrono::Duration::seconds(SECONDS as i64),
        ..common::synthetic_meta("synthetic-1h", SECONDS, recording.totals.clone())
    };
    let dir = RunDir::create(&out.join(format!("w{index}")), started, "synthetic-1h")?;
    dir.write_meta(&meta)?;
    dir.write(&timeline::TIMELINE, &recording.rows)?;
    dir.write(&timeline::ENDPOINTS, &recording.endpoint_rows)?;
    dir.write(&timeline::ERRORS, &recording.errors)?;
    dir.write(&timeline::PODS, &recording.served)?;
    dir.write_bytes(PER_SECOND_HLOG, &recording.per_second_hlog)?;
    dir.write_bytes(TOTAL_HLOG, &recording.total_hlog)?;
    Ok(dir.path().to_path_buf())
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let work = tempfile::tempdir()?;
    let made = Instant::now();
    let dirs = (0..WORKERS)
        .map(|i| worker_run(i, work.path()))
        .collect::<Result<Vec<_>, _>>()?;
    let bytes: u64 = dirs
        .iter()
        .map(|d| {
            std::fs::metadata(d.join(PER_SECOND_HLOG))
                .map(|m| m.len())
                .unwrap_or(0)
        })
        .sum();
    println!(
        "recorded {WORKERS} workers × {SECONDS} s × {RATE} rps in {:.1} s; per-second logs {:.1} MB in all",
        made.elapsed().as_secs_f64(),
        bytes as f64 / 1e6
    );
    let mut times = Vec::new();
    for round in 0..3 {
        let out = work.path().join(format!("merged{round}"));
        let started = Instant::now();
        let merged = scaleproof::merge::merge(&dirs, &out)?;
        times.push(started.elapsed().as_secs_f64());
        let meta = RunDir::open(&merged).read_meta()?;
        assert_eq!(meta.totals.requests, u64::from(WORKERS) * SECONDS * RATE);
    }
    times.sort_by(f64::total_cmp);
    println!(
        "merged {WORKERS} × {SECONDS} s: best {:.2} s, median {:.2} s, worst {:.2} s",
        times[0], times[1], times[2]
    );
    Ok(())
}
