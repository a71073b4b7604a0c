//! The built `scaleproof` binary end to end, on loopback only: the embedded default, a target
//! that dies mid-run, SIGINT and SIGTERM, and bad input. Each leaves a complete run directory
//! (or, for bad input, a one-line error and no load at all).

mod common;

use scaleproof::timeline::{self, EndpointRow, RunMeta, TimelineRow};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

fn scaleproof() -> Command {
    Command::new(env!("CARGO_BIN_EXE_scaleproof"))
}

/// The single run directory under `out`, checked for completeness.
fn run_dir(out: &Path) -> (PathBuf, RunMeta, Vec<TimelineRow>) {
    let dirs: Vec<PathBuf> = std::fs::read_dir(out)
        .expect("out dir")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.is_dir())
        .collect();
    assert_eq!(dirs.len(), 1, "{dirs:?}");
    let dir = dirs[0].clone();
    for file in [
        timeline::RUN_JSON,
        timeline::TIMELINE_CSV,
        timeline::ENDPOINTS_CSV,
        "histograms/per-second.hlog",
        "histograms/total.hlog",
        "summary.json",
        "report.html",
        "dashboard.png",
        "throughput.png",
        "latency.svg",
    ] {
        assert!(
            dir.join(file).is_file(),
            "{file} missing in {}",
            dir.display()
        );
    }
    let leftovers: Vec<_> = std::fs::read_dir(&dir)
        .expect("dir")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with(".tmp"))
        .collect();
    assert!(leftovers.is_empty(), "temporary files left: {leftovers:?}");
    let meta = timeline::read_run_meta(&dir).expect("run.json");
    let rows: Vec<TimelineRow> =
        timeline::read_csv(&dir.join(timeline::TIMELINE_CSV)).expect("timeline.csv");
    let _: Vec<EndpointRow> =
        timeline::read_csv(&dir.join(timeline::ENDPOINTS_CSV)).expect("endpoints.csv");
    assert_eq!(
        rows.iter().map(|r| r.requests).sum::<u64>(),
        meta.totals.requests
    );
    (dir, meta, rows)
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

#[test]
fn bare_command_runs_the_embedded_default_and_writes_a_complete_run_directory() {
    let out = tempfile::tempdir().expect("tempdir");
    let o = scaleproof()
        .args(["--out"])
        .arg(out.path())
        .output()
        .expect("run scaleproof");
    assert!(o.status.success(), "{}", stderr(&o));
    let printed = String::from_utf8_lossy(&o.stdout);
    let (dir, meta, rows) = run_dir(out.path());
    assert_eq!(
        printed.trim(),
        dir.display().to_string(),
        "stdout names the run directory"
    );
    assert!(meta.embedded_target);
    assert_eq!(meta.scenario, "predict");
    assert_eq!(meta.end_reason, "completed");
    assert!(meta.target.starts_with("http://127.0.0.1:"));
    assert!(rows.len() >= 30, "{} rows", rows.len());
    assert_eq!(meta.totals.errors, 0);
    // The plan asks for 30,000 requests: ramp to 1,200/s over 10 s, hold 20 s.
    assert!(
        meta.totals.requests + meta.totals.dropped >= 29_000,
        "{:?}",
        meta.totals
    );
    let progress = stderr(&o);
    assert!(
        progress.contains("[  30s/30s]") && progress.contains("target 1200"),
        "{progress}"
    );
}

#[test]
fn a_target_that_dies_mid_run_yields_error_rows_and_the_run_goes_to_its_planned_end() {
    let mut target = common::Target::start("doomed", None);
    let out = tempfile::tempdir().expect("tempdir");
    let started = Instant::now();
    let child = scaleproof()
        .args([
            "--quiet",
            "--host",
            &target.base,
            "--users",
            "4",
            "--hatch-rate",
            "4",
            "--run-time",
            "4s",
            "--out",
        ])
        .arg(out.path())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn");
    std::thread::sleep(Duration::from_millis(1500));
    target.stop();
    let o = child.wait_with_output().expect("wait");
    assert_eq!(
        o.status.code(),
        Some(1),
        "the error-rate expectation fails: {}",
        stderr(&o)
    );
    assert!(started.elapsed() >= Duration::from_secs(4));
    let (_, meta, rows) = run_dir(out.path());
    assert_eq!(meta.end_reason, "completed");
    assert!(
        rows[0].ok > 0,
        "the target answered before it died: {:?}",
        rows[0]
    );
    let last = rows
        .iter()
        .rev()
        .find(|r| r.span_s > 0.5)
        .expect("a full last second");
    assert_eq!(last.ok, 0);
    assert!(last.err_connect > 0, "{last:?}");
    assert_eq!(
        meta.totals.errors,
        meta.totals.err_connect
            + meta.totals.err_other
            + meta.totals.err_5xx
            + meta.totals.err_backpressure
            + meta.totals.err_4xx
            + meta.totals.err_timeout
    );
}

#[test]
fn an_unreachable_target_still_leaves_a_report_of_connect_errors() {
    let out = tempfile::tempdir().expect("tempdir");
    let host = format!("http://127.0.0.1:{}", common::closed_port());
    let o = scaleproof()
        .args([
            "--quiet",
            "--host",
            &host,
            "--users",
            "2",
            "--run-time",
            "1s",
            "--out",
        ])
        .arg(out.path())
        .output()
        .expect("run");
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert!(stderr(&o).contains("verdict: FAIL"));
    let (_, meta, _) = run_dir(out.path());
    assert!(meta.totals.requests > 0);
    assert_eq!(meta.totals.err_connect, meta.totals.requests);
}

fn interrupt(signal: &str, code: i32, reason: &str) {
    let target = common::Target::start("long", None);
    let out = tempfile::tempdir().expect("tempdir");
    let child = scaleproof()
        .args([
            "--quiet",
            "--host",
            &target.base,
            "--rate",
            "200:0s,200:60s",
            "--out",
        ])
        .arg(out.path())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn");
    std::thread::sleep(Duration::from_millis(2500));
    let sent = Command::new("kill")
        .args([signal, &child.id().to_string()])
        .status()
        .expect("kill");
    assert!(sent.success());
    let started = Instant::now();
    let o = child.wait_with_output().expect("wait");
    assert!(started.elapsed() < Duration::from_secs(10), "slow to stop");
    assert_eq!(o.status.code(), Some(code), "{}", stderr(&o));
    let (_, meta, rows) = run_dir(out.path());
    assert_eq!(meta.end_reason, reason);
    assert!(meta.duration_s < 10.0);
    assert!((2..=5).contains(&rows.len()), "{} rows", rows.len());
    assert!(
        meta.totals.ok >= 300,
        "what was measured is kept: {:?}",
        meta.totals
    );
    // Every recorded response was served; a request abandoned in flight may or may not have
    // reached the service before the stop.
    let served = target.state.metrics().requests_total("/predict");
    let t = &meta.totals;
    assert!(
        t.requests <= served && served <= t.requests + t.cancelled,
        "served {served}, {t:?}"
    );
}

#[test]
fn sigint_stops_the_load_writes_the_run_and_exits_130() {
    interrupt("-INT", 130, "interrupted (SIGINT)");
}

#[test]
fn sigterm_stops_the_load_writes_the_run_and_exits_143() {
    interrupt("-TERM", 143, "interrupted (SIGTERM)");
}

#[test]
fn a_malformed_scenario_fails_before_any_load_naming_file_line_and_field() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("broken.toml");
    std::fs::write(
        &path,
        "name = 'broken'\n[load]\nusers = 'lots'\n[[request]]\nname = 'x'\npath = '/'\n",
    )
    .expect("write");
    let host = format!("http://127.0.0.1:{}", common::closed_port());
    let o = scaleproof()
        .args(["--host", &host, "--scenario"])
        .arg(&path)
        .args(["--out"])
        .arg(dir.path().join("reports"))
        .output()
        .expect("run");
    assert_eq!(o.status.code(), Some(2));
    let err = stderr(&o);
    assert!(
        err.contains(&format!("{}:3:9: load.users:", path.display())),
        "{err}"
    );
    assert_eq!(err.trim().lines().count(), 1, "{err}");
    assert!(
        !dir.path().join("reports").exists(),
        "no run directory for a run that never started"
    );
}

#[test]
fn an_invalid_flag_value_gets_a_one_line_error_naming_the_flag() {
    let o = scaleproof().args(["--rate", "lots"]).output().expect("run");
    assert_eq!(o.status.code(), Some(2));
    let err = stderr(&o);
    assert!(
        err.starts_with("scaleproof: invalid value for --rate:"),
        "{err}"
    );
    assert_eq!(err.trim().lines().count(), 1, "{err}");
}

#[test]
fn help_explains_every_flag_with_examples() {
    let o = scaleproof().arg("--help").output().expect("run");
    assert!(o.status.success());
    let help = String::from_utf8_lossy(&o.stdout);
    for flag in [
        "--host",
        "--users",
        "--hatch-rate",
        "--run-time",
        "--test-plan",
        "--rate",
        "--max-users",
        "--max-lag",
        "--scenario",
        "--out",
        "--quiet",
        "--timeout",
        "--recycle-connections",
        "--endpoint-header",
        "--request-log",
        "--expect-rps",
        "--expect-replicas",
        "--expect-p95",
        "--expect-error-rate",
        "--expect-scale-within",
        "Examples:",
        "Exit codes:",
    ] {
        assert!(help.contains(flag), "--help lacks {flag}");
    }
}
