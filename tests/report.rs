//! Reports from a run directory: summary.json schema, PNG sizes (decoded, never compared
//! byte for byte), a self-contained HTML page that renders in headless Chromium, and the
//! `report` subcommand's verdict and exit code.

use scaleproof::timeline::{
    self, ClusterRecord, EndpointRow, EventRow, GeneratorRecord, LoadRecord, RunMeta, TimelineRow,
    Totals,
};
use std::path::Path;
use std::process::Command;

/// A synthetic run directory: `seconds` rows ramping to 1,200 rps, more endpoints at 40%.
/// With `cluster`, a watched Deployment scales 1 → `endpoints` at 40% (ready 5 s later),
/// with its events.
fn synthetic_run(dir: &Path, seconds: u64, endpoints: usize, cluster: bool) {
    let mut rows = Vec::new();
    let mut eps = Vec::new();
    for t in 0..seconds {
        let rps = (t as f64 * 60.0).min(1200.0);
        let serving = if t * 10 >= seconds * 4 { endpoints } else { 1 };
        rows.push(TimelineRow {
            t_s: t,
            time: format!("2026-11-26T00:{:02}:{:02}Z", (t / 60) % 60, t % 60),
            span_s: 1.0,
            users: 50,
            target_rps: Some(rps),
            achieved_rps: rps,
            requests: rps as u64,
            ok: rps as u64,
            p50_us: Some(800),
            p90_us: Some(1500),
            p95_us: Some(2000 + t * 3),
            p99_us: Some(5000),
            max_us: Some(9000),
            p50_corrected_us: Some(900),
            p95_corrected_us: Some(2500 + t * 3),
            p99_corrected_us: Some(6000),
            max_corrected_us: Some(9500),
            endpoints: serving as u64,
            ..Default::default()
        });
        if cluster {
            let row = rows.last_mut().expect("just pushed");
            let scaled = t * 10 >= seconds * 4;
            let ready = t * 10 >= seconds * 4 + 50;
            row.deploy_spec_replicas = Some(if scaled { endpoints as u64 } else { 1 });
            row.hpa_desired = row.deploy_spec_replicas;
            row.deploy_ready = Some(if ready { endpoints as u64 } else { 1 });
            row.pods_running = row.deploy_ready;
        }
        for e in 0..serving {
            eps.push(EndpointRow {
                t_s: t,
                endpoint: format!("target-service-{e}"),
                requests: rps as u64 / serving as u64,
                ..Default::default()
            });
        }
    }
    let requests: u64 = rows.iter().map(|r| r.requests).sum();
    let meta = RunMeta {
        format: timeline::RUN_FORMAT.into(),
        scaleproof_version: "test".into(),
        scenario: "synthetic".into(),
        scenario_file: None,
        description: None,
        target: "http://127.0.0.1:9/".into(),
        embedded_target: false,
        load: LoadRecord::Open {
            stages: vec![],
            max_users: 50,
            max_lag_s: 1.0,
        },
        requests: vec![],
        endpoint_header: "x-served-by".into(),
        request_timeout_s: 30.0,
        recycle_connections_s: Some(10.0),
        expectations: serde_json::json!({"rps": 1000.0, "replicas": 2, "p95_ms": 250.0}),
        started_at: chrono::Utc::now(),
        ended_at: chrono::Utc::now(),
        duration_s: seconds as f64,
        end_reason: "completed".into(),
        totals: Totals {
            requests,
            ok: requests,
            endpoints: endpoints as u64,
            p95_us: Some(2500),
            p95_corrected_us: Some(3000),
            ..Default::default()
        },
        generator: GeneratorRecord::here(),
        cluster: cluster.then(|| ClusterRecord {
            namespace: "demo".into(),
            deployment: "target-service".into(),
            hpa: Some("target-service".into()),
            server: Some("https://203.0.113.10:6443/".into()),
            hpa_min_replicas: Some(1),
            hpa_max_replicas: Some(10),
            ..Default::default()
        }),
    };
    if cluster {
        let at = (seconds * 4 / 10) as f64 + 0.3;
        let events = vec![
            EventRow {
                t_s: at,
                object: "HorizontalPodAutoscaler/target-service".into(),
                reason: "SuccessfulRescale".into(),
                kind: "Normal".into(),
                count: 1,
                message: format!(
                    "New size: {endpoints}; reason: cpu resource utilization (percentage of request) above target"
                ),
                ..Default::default()
            },
            EventRow {
                t_s: at + 0.1,
                object: "Deployment/target-service".into(),
                reason: "ScalingReplicaSet".into(),
                kind: "Normal".into(),
                count: 1,
                message: format!("Scaled up replica set target-service-7d9f to {endpoints} from 1"),
                ..Default::default()
            },
        ];
        std::fs::write(
            dir.join(timeline::EVENTS_CSV),
            timeline::to_csv(&events, timeline::EVENT_COLUMNS).expect("csv"),
        )
        .expect("write");
    }
    std::fs::write(
        dir.join(timeline::RUN_JSON),
        serde_json::to_vec_pretty(&meta).expect("json"),
    )
    .expect("write");
    std::fs::write(
        dir.join(timeline::TIMELINE_CSV),
        timeline::to_csv(&rows, timeline::TIMELINE_COLUMNS).expect("csv"),
    )
    .expect("write");
    std::fs::write(
        dir.join(timeline::ENDPOINTS_CSV),
        timeline::to_csv(&eps, timeline::ENDPOINT_COLUMNS).expect("csv"),
    )
    .expect("write");
}

fn png_size(path: &Path) -> (u32, u32) {
    let decoder = png::Decoder::new(std::fs::File::open(path).expect("open png"));
    let reader = decoder.read_info().expect("a valid PNG");
    let info = reader.info();
    (info.width, info.height)
}

#[test]
fn every_output_is_written_with_the_stated_sizes_and_schema() {
    let dir = tempfile::tempdir().expect("tempdir");
    synthetic_run(dir.path(), 120, 3, false);
    let rendered = scaleproof::report::render(dir.path(), None).expect("render");
    assert!(
        rendered.summary.verdict.pass,
        "{:?}",
        rendered.summary.verdict
    );
    for chart in scaleproof::report::CHARTS {
        assert_eq!(
            png_size(&dir.path().join(format!("{chart}.png"))),
            (1280, 480),
            "{chart}"
        );
        let svg = std::fs::read_to_string(dir.path().join(format!("{chart}.svg"))).expect("svg");
        assert!(svg.starts_with("<svg"), "{chart}.svg");
    }
    assert_eq!(png_size(&dir.path().join("dashboard.png")), (1920, 1080));
    let summary: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.path().join("summary.json")).expect("read"))
            .expect("json");
    assert_eq!(summary["schema"], "scaleproof-summary/1");
    for key in [
        "scenario",
        "target",
        "started_at",
        "duration_s",
        "end_reason",
        "totals",
        "expectations",
        "kpis",
        "verdict",
        "cluster",
    ] {
        assert!(summary.get(key).is_some(), "summary.json lacks {key}");
    }
    assert_eq!(summary["kpis"]["most_endpoints_at_once"], 3);
    assert_eq!(
        summary["kpis"]["time_to_first_scale_out_s"], 31,
        "crossing at 17 s, scale-out at 48 s"
    );
    assert_eq!(
        summary["verdict"]["checks"].as_array().map(Vec::len),
        Some(3)
    );
}

#[test]
fn a_watched_cluster_drives_replicas_verdict_markers_and_summary() {
    let dir = tempfile::tempdir().expect("tempdir");
    synthetic_run(dir.path(), 100, 4, true);
    let rendered = scaleproof::report::render(dir.path(), None).expect("render");
    let s = &rendered.summary;
    let replicas = s
        .verdict
        .checks
        .iter()
        .find(|c| c.name == "replicas")
        .expect("replicas check");
    assert_eq!(replicas.measured, "4");
    assert!(replicas.source.contains("cluster"), "{}", replicas.source);
    assert_eq!(s.kpis.replica_source, "cluster");
    assert_eq!(
        (s.kpis.ready_replicas_at_start, s.kpis.most_ready_replicas),
        (Some(1), Some(4))
    );
    // Scale-out at 40 s; load crossed 1,000 rps at 17 s.
    assert_eq!(s.kpis.time_to_first_scale_out_s, Some(23));
    assert_eq!(s.kpis.time_to_expected_replicas_s, Some(28));
    let cluster = s.cluster.as_ref().expect("cluster summary");
    assert_eq!((cluster.events, cluster.scale_events), (2, 2));
    let json: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.path().join("summary.json")).expect("read"))
            .expect("json");
    assert_eq!(json["cluster"]["deployment"], "target-service");
    assert_eq!(json["cluster"]["hpa_max_replicas"], 10);
    let html = std::fs::read_to_string(dir.path().join("report.html")).expect("html");
    assert!(html.contains("Ready replicas") && html.contains("1 → 4"));
    assert!(html.contains("Scaled up replica set target-service-7d9f to 4 from 1"));
    assert!(
        !html.contains("https://"),
        "the API server URL is shown escaped"
    );
    let svg = std::fs::read_to_string(dir.path().join("replicas.svg")).expect("svg");
    assert!(svg.contains("Deployment desired") && svg.contains("HPA desired"));
}

#[test]
fn the_html_report_is_self_contained() {
    let dir = tempfile::tempdir().expect("tempdir");
    synthetic_run(dir.path(), 60, 2, false);
    scaleproof::report::render(dir.path(), None).expect("render");
    let html = std::fs::read_to_string(dir.path().join("report.html")).expect("html");
    for forbidden in [
        "http://",
        "https://",
        "src=\"//",
        "href=\"//",
        "@import",
        "url(",
    ] {
        assert!(
            !html.contains(forbidden),
            "report.html contains {forbidden:?}"
        );
    }
    assert_eq!(html.matches("<svg").count(), 4);
    assert!(html.contains("id=\"timeline\""));
    assert!(html.contains("PASS"));
    // The target URL is shown, escaped, not linked.
    assert!(html.contains("http&#58;//127.0.0.1&#58;9/"));
}

fn chromium() -> Option<&'static str> {
    ["/usr/bin/chromium", "/usr/bin/chromium-browser"]
        .into_iter()
        .find(|p| Path::new(p).exists())
}

#[test]
fn the_html_report_renders_charts_in_headless_chromium() {
    let Some(browser) = chromium() else {
        assert!(
            std::env::var_os("CI").is_none(),
            "CI must install chromium (.ci/run does)"
        );
        eprintln!("skipped: no chromium on this machine (apt-get install chromium)");
        return;
    };
    let dir = tempfile::tempdir().expect("tempdir");
    synthetic_run(dir.path(), 90, 2, true);
    scaleproof::report::render(dir.path(), None).expect("render");
    let shot = dir.path().join("shot.png");
    let profile = dir.path().join("profile");
    let status = Command::new(browser)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--hide-scrollbars",
            "--window-size=1400,1000",
        ])
        .arg(format!("--user-data-dir={}", profile.display()))
        .arg(format!("--screenshot={}", shot.display()))
        .arg(format!(
            "file://{}",
            dir.path().join("report.html").display()
        ))
        .output()
        .expect("run chromium");
    assert!(
        shot.exists(),
        "no screenshot: {}",
        String::from_utf8_lossy(&status.stderr)
    );
    // Non-blank: the page has many distinct colours (charts, legend, badge), not one fill.
    let decoder = png::Decoder::new(std::fs::File::open(&shot).expect("open"));
    let mut reader = decoder.read_info().expect("png");
    let mut buf = vec![0; reader.output_buffer_size()];
    let frame = reader.next_frame(&mut buf).expect("frame");
    let bytes = &buf[..frame.buffer_size()];
    let step = frame.color_type.samples();
    let mut colours = std::collections::HashSet::new();
    for px in bytes.chunks(step).step_by(7) {
        colours.insert(px[..3].to_vec());
    }
    assert!(
        colours.len() > 50,
        "screenshot looks blank ({} colours)",
        colours.len()
    );
    // The green PASS badge is on screen.
    assert!(
        bytes.chunks(step).any(|p| p[..3] == [47, 158, 68]),
        "no PASS badge colour in the screenshot"
    );
}

#[test]
fn report_subcommand_re_renders_with_overridden_expectations_and_sets_the_exit_code() {
    let dir = tempfile::tempdir().expect("tempdir");
    synthetic_run(dir.path(), 60, 2, false);
    let bin = env!("CARGO_BIN_EXE_scaleproof");
    let ok = Command::new(bin)
        .arg("report")
        .arg(dir.path())
        .output()
        .expect("run");
    assert_eq!(
        ok.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&ok.stderr)
    );
    let fail = Command::new(bin)
        .arg("report")
        .arg(dir.path())
        .args(["--expect-p95", "1ms"])
        .output()
        .expect("run");
    assert_eq!(fail.status.code(), Some(1));
    let table = String::from_utf8_lossy(&fail.stderr);
    assert!(table.contains("p95") && table.contains("FAIL"), "{table}");
    let missing = Command::new(bin)
        .args(["report", "/nonexistent/run"])
        .output()
        .expect("run");
    assert_eq!(missing.status.code(), Some(2));
}
