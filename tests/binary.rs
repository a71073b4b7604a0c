//! The built `scaleproof` binary end to end, on loopback only: the bare command (local
//! replicas), a target that dies mid-run, SIGINT and SIGTERM, and bad input. Each leaves a complete run directory
//! (or, for bad input, a one-line error and no load at all).

use crate::common;

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
        timeline::TIMELINE.file,
        timeline::ENDPOINTS.file,
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
    let meta = timeline::RunDir::open(&dir).read_meta().expect("run.json");
    let rows: Vec<TimelineRow> = timeline::RunDir::open(&dir)
        .read(&timeline::TIMELINE)
        .expect("timeline.csv");
    let _: Vec<EndpointRow> = timeline::RunDir::open(&dir)
        .read(&timeline::ENDPOINTS)
        .expect("endpoints.csv");
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
fn bare_command_runs_the_local_story_and_writes_a_complete_run_directory() {
    let _one = common::one_local_run_at_a_time();
    let out = tempfile::tempdir().expect("tempdir");
    let o = scaleproof()
        .args(["--out"])
        .arg(out.path())
        .output()
        .expect("run scaleproof");
    let progress = stderr(&o);
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
    assert!(rows.len() >= 90, "{} rows", rows.len());
    // The plan asks for 72,750 requests: ramp to 1,200/s over 10 s, hold 45 s, down to 300/s
    // over 5 s, hold 30 s. Each slot is sent and completed, dropped, or abandoned in flight.
    let t = &meta.totals;
    assert_eq!(t.requests + t.dropped + t.cancelled, 72_750, "{t:?}");
    assert!(
        progress.contains("s/90s] users") && progress.contains("target 1,200"),
        "{progress}"
    );
    // Local replicas, said so wherever they are shown.
    assert!(
        progress
            .contains("LOCAL replicas, simulated on this machine (not a cluster): 1..4 replicas"),
        "{progress}"
    );
    assert!(progress.contains("| LOCAL ready "), "{progress}");
    let cluster = meta.cluster.as_ref().expect("local record");
    assert_eq!(cluster.source, timeline::WorkloadSource::Local);
    assert_eq!(cluster.at_start.deploy_ready, Some(1));
    // Calibrated to this machine before the load: one replica at 400m is to serve 58% of the
    // 1,200 rps peak; said in the banner, kept in run.json.
    let calibration = cluster.calibration.as_ref().expect("calibrated");
    assert_eq!(
        (calibration.saturate_at_pct, calibration.peak_rps),
        (58.0, 1200.0)
    );
    assert!(
        progress.contains(&format!(
            "calibrated in {:.1} s: work factor {} ",
            calibration.took_s, calibration.work_factor
        )),
        "{progress}"
    );
    // The terminal's closing line is the dashboard's headline, from summary.json's figures;
    // report.html shows the same figures; the exit code is the verdict's.
    let summary: scaleproof::report::Summary =
        serde_json::from_slice(&std::fs::read(dir.join("summary.json")).expect("summary"))
            .expect("summary.json");
    let code = match summary.verdict.state {
        scaleproof::verdict::State::Pass | scaleproof::verdict::State::None => 0,
        scaleproof::verdict::State::Fail => 1,
        scaleproof::verdict::State::Inconclusive => 4,
    };
    assert_eq!(o.status.code(), Some(code), "{progress}");
    let line = scaleproof::report::headline::line(&summary);
    assert!(
        progress.contains(&format!("completed after {:.1} s: {line}", meta.duration_s)),
        "{progress}"
    );
    let html = std::fs::read_to_string(dir.join("report.html")).expect("html");
    for fig in scaleproof::report::headline::figures(&summary) {
        assert!(
            html.contains(&format!("{}<b>{}</b>", fig.label, fig.value)),
            "{fig:?}"
        );
    }
    assert!(html.contains("LOCAL replicas, simulated on this machine"));
    assert_eq!(summary.kpis.replica_source, "local");
    assert_eq!(summary.kpis.sustain_window_s, 45);
    let rps = &summary.verdict.checks[0];
    assert_eq!(
        rps.measured,
        format!(
            "{} ok rps",
            scaleproof::spec::values::number(summary.kpis.peak_sustained_ok_rps.expect("peak"), 1)
        )
    );
    assert!(rps.source.contains("best 45 s window"), "{}", rps.source);
    let replicas = summary
        .verdict
        .checks
        .iter()
        .find(|c| c.name == "replicas")
        .expect("replicas check");
    assert!(replicas.source.contains("LOCAL"), "{}", replicas.source);
    // The dashboard of this default run, by geometry: every chart has its legend, and no
    // legend entry lies over any chart's plot (where every series is drawn, clipped).
    let drawn = scaleproof::report::dashboard_layout(&dir).expect("dashboard");
    assert_eq!(drawn.len(), 4);
    let (w, h) = scaleproof::report::dashboard::DASHBOARD_SIZE;
    for chart in &drawn {
        assert!(!chart.legend.is_empty(), "{chart:?}");
        for entry in &chart.legend {
            assert!(
                entry.0 >= 0 && entry.2 <= w as i32 && entry.3 <= h as i32,
                "{entry:?}"
            );
            for other in &drawn {
                assert!(
                    scaleproof::report::draw::disjoint(*entry, other.plot),
                    "legend entry {entry:?} over the plot {:?}",
                    other.plot
                );
            }
        }
    }
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
    let metrics = target.state.metrics();
    common::wait_until("the target to serve", Duration::from_secs(10), || {
        metrics.requests_total("/predict") >= 50
    });
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
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(1), "{err}");
    assert!(err.contains("verdict: FAIL"));
    let (dir, meta, _) = run_dir(out.path());
    assert!(meta.totals.requests > 0);
    assert_eq!(meta.totals.err_connect, meta.totals.requests);
    // One catalogue row explains every failure (the port is the same for all of them).
    let errors = timeline::RunDir::open(&dir)
        .read(&timeline::ERRORS)
        .expect("errors.csv");
    assert_eq!(errors.len(), 1, "{errors:?}");
    assert_eq!(errors[0].count, meta.totals.requests);
    assert!(
        errors[0].message.contains("Connection refused"),
        "{errors:?}"
    );
    assert!(
        err.contains("connect errors: ")
            && err.contains("nothing listens at the target's host:port"),
        "{err}"
    );
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
    // Stop once 2 s of load (400 requests) has been served, however loaded the machine is.
    let metrics = target.state.metrics();
    common::wait_until("2 s of load", Duration::from_secs(20), || {
        metrics.requests_total("/predict") >= 400
    });
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
        err.starts_with("scaleproof: invalid value 'lots' for '--rate <STAGES>': stage \"lots\": expected RATE:DURATION"),
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

/// A scenario file that POSTs to `/<name>` with no `[expect]` section.
fn post_scenario(dir: &Path, name: &str) -> PathBuf {
    let path = dir.join(format!("{name}.toml"));
    std::fs::write(
        &path,
        format!(
            "name = '{name}'\n[[request]]\nname = '{name}'\nmethod = 'POST'\npath = '/{name}'\n"
        ),
    )
    .expect("write scenario");
    path
}

/// Runs the binary quietly against `host` with a one-request POST scenario named `name`, the
/// run directory under `dir/runs`.
fn run_posting(dir: &Path, host: &str, name: &str, args: &[&str]) -> Output {
    scaleproof()
        .args(["--quiet", "--host", host, "--scenario"])
        .arg(post_scenario(dir, name))
        .args(args)
        .arg("--out")
        .arg(dir.join("runs"))
        .output()
        .expect("run")
}

fn summary(out: &Path) -> serde_json::Value {
    let (dir, _, _) = run_dir(out);
    serde_json::from_slice(&std::fs::read(dir.join("summary.json")).expect("summary.json"))
        .expect("json")
}

#[test]
fn a_dead_service_fails_refused_connections_are_neither_throughput_nor_latency() {
    let out = tempfile::tempdir().expect("tempdir");
    let host = format!("http://127.0.0.1:{}", common::closed_port());
    let args = [
        "--users",
        "8",
        "--run-time",
        "2s",
        "--expect-rps",
        "1000",
        "--expect-p95",
        "10ms",
    ];
    let o = run_posting(out.path(), &host, "predict", &args);
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(1), "{err}");
    assert!(err.contains("verdict: FAIL"), "{err}");
    assert!(err.contains("0.0 ok rps"), "{err}");
    assert!(err.contains("no data: no successful request"), "{err}");
    let s = summary(&out.path().join("runs"));
    assert_eq!(s["verdict"]["state"], "fail");
    assert_eq!(s["kpis"]["peak_sustained_ok_rps"], 0.0);
    assert_eq!(s["totals"]["ok"], 0);
    assert!(s["totals"]["p95_raw_us"].is_null());
}

#[test]
fn half_the_requests_failing_cannot_pass_the_rps_expectation() {
    let target = common::Target::start("pod-flaky", Some(common::flaky_route()));
    let out = tempfile::tempdir().expect("tempdir");
    let args = ["--rate", "200:0s,200:3s", "--expect-rps", "150"];
    let o = run_posting(out.path(), &target.base, "flaky", &args);
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(1), "{err}");
    let s = summary(&out.path().join("runs"));
    // 600 slots, every other one answered 503.
    assert_eq!(s["totals"]["requests"], 600, "{err}");
    assert_eq!(s["totals"]["ok"], 300);
    assert_eq!(s["totals"]["err_backpressure"], 300);
    let rps = &s["verdict"]["checks"][0];
    assert_eq!(rps["state"], "fail", "{rps}");
    assert!(
        rps["note"]
            .as_str()
            .is_some_and(|n| n.contains("failed requests are not throughput")),
        "{rps}"
    );
}

#[test]
fn bad_values_fail_before_any_load_naming_the_field() {
    let target = common::Target::start("pod-untouched", None);
    let dir = tempfile::tempdir().expect("tempdir");
    let scenario = |name: &str, text: &str| {
        let path = dir.path().join(name);
        std::fs::write(&path, text).expect("write");
        path.to_str().expect("utf-8").to_owned()
    };
    let heavy = scenario(
        "heavy.toml",
        "[[request]]\nname = 'a'\npath = '/'\nweight = 4294967295\n",
    );
    let nameless = scenario("nameless.toml", "[[request]]\npath = '/predict'\n");
    let cases: Vec<(Vec<&str>, &str)> = vec![
        (vec!["--scenario", &heavy], "request[0].weight"),
        (vec!["--scenario", &nameless], "request[0].name"),
        (vec!["--rate", "1e15:1s"], "--rate"),
        (vec!["--rate", "10:1s,10:400days"], "--rate"),
        (
            vec!["--recycle-connections", "1ns"],
            "--recycle-connections",
        ),
        (vec!["--expect-p95=-5ms"], "--expect-p95"),
        (vec!["--expect-p95", "NaNms"], "--expect-p95"),
        (vec!["--test-plan", "10;oops"], "--test-plan"),
        (vec!["--test-plan", "0,10s"], "--test-plan"),
        (vec!["--users", "0"], "--users"),
    ];
    for (args, field) in cases {
        let o = scaleproof()
            .args(["--host", &target.base, "--out"])
            .arg(dir.path().join("runs"))
            .args(&args)
            .output()
            .expect("run");
        let err = stderr(&o);
        assert_eq!(o.status.code(), Some(2), "{args:?}: {err}");
        assert!(err.contains(field), "{args:?}: {err}");
        assert!(!err.contains("panicked"), "{args:?}: {err}");
    }
    assert_eq!(target.state.metrics().requests_total("/predict"), 0);
    assert_eq!(target.state.metrics().requests_total("/"), 0);
    assert!(!dir.path().join("runs").exists(), "no run directory");
}
