//! Reports from a run directory: summary.json schema, PNG sizes (decoded, never compared
//! byte for byte), a self-contained HTML page that renders in headless Chromium, and the
//! `report` subcommand's verdict and exit code.

use crate::common;
use scaleproof::report::headline;
use scaleproof::spec::expectations::Expectations;
use scaleproof::timeline::{
    self, ClusterChangeRow, ClusterRecord, EndpointRow, EventRow, GeneratorRecord, LoadRecord,
    PodRow, RunMeta, TimelineRow, Totals,
};
use scaleproof::verdict::State;
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
            time: format!("2026-11-26T00:{:02}:{:02}Z", (t / 60) % 60, t % 60),
            users: 50,
            target_rps: Some(rps),
            p50_raw_us: Some(800),
            p90_raw_us: Some(1500),
            p95_raw_us: Some(2000 + t * 3),
            p99_raw_us: Some(5000),
            max_raw_us: Some(9000),
            p50_corrected_us: Some(900),
            p90_corrected_us: Some(1800),
            p95_corrected_us: Some(2500 + t * 3),
            p99_corrected_us: Some(6000),
            max_corrected_us: Some(9500),
            endpoints: Some(serving as u64),
            gen_cpu_pct: Some(20.0),
            gen_lag_max_us: Some(1500),
            ..TimelineRow::with_ok(t, rps as u64)
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
        tls: None,
        local_replicas: None,
        warnings: Vec::new(),
        preflight: Vec::new(),
        worker: None,
        workers: Vec::new(),
        shared: None,
        request_timeout_s: 30.0,
        recycle_connections_s: Some(10.0),
        expectations: Expectations {
            rps: Some(1000.0),
            replicas: Some(2),
            p95_ms: Some(250.0),
            ..Default::default()
        },
        started_at: chrono::Utc::now(),
        ended_at: chrono::Utc::now(),
        duration_s: seconds as f64,
        end_reason: "completed".into(),
        totals: Totals {
            requests,
            ok: requests,
            endpoints: Some(endpoints as u64),
            p95_raw_us: Some(2500),
            p95_corrected_us: Some(3000),
            p99_corrected_us: Some(6000),
            ..Default::default()
        },
        generator: GeneratorRecord::here(target_service::default_served_by()),
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
        timeline::RunDir::open(dir)
            .write(&timeline::EVENTS, &events)
            .expect("write");
        // The HPA decided at `at`; the new pods were created then and Ready 5 s later, and
        // served from the second after (as the endpoint rows say).
        let desired = |t_s: f64, n: usize| ClusterChangeRow {
            t_s,
            column: "hpa_desired".into(),
            value: Some(n.to_string()),
        };
        timeline::RunDir::open(dir)
            .write(
                &timeline::CLUSTER,
                &[desired(0.0, 1), desired(at, endpoints)],
            )
            .expect("write");
        let pods: Vec<PodRow> = (0..endpoints)
            .map(|e| {
                let new = e > 0;
                PodRow {
                    created_s: Some(if new { at } else { -300.0 }),
                    scheduled_s: Some(if new { at + 1.0 } else { -299.0 }),
                    ready_s: Some(if new { at + 5.0 } else { -290.0 }),
                    first_served_s: Some(if new { at + 6.0 } else { 0.0 }),
                    requests: 100,
                    ..PodRow::named(format!("target-service-{e}"))
                }
            })
            .collect();
        timeline::RunDir::open(dir)
            .write(&timeline::PODS, &pods)
            .expect("write");
    }
    std::fs::write(
        dir.join(timeline::RUN_JSON),
        serde_json::to_vec_pretty(&meta).expect("json"),
    )
    .expect("write");
    timeline::RunDir::open(dir)
        .write(&timeline::TIMELINE, &rows)
        .expect("write");
    timeline::RunDir::open(dir)
        .write(&timeline::ENDPOINTS, &eps)
        .expect("write");
}

pub fn png_size(path: &Path) -> (u32, u32) {
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
    assert_eq!(
        rendered.summary.verdict.state,
        State::Pass,
        "{:?}",
        rendered.summary.verdict
    );
    for chart in scaleproof::report::CHARTS {
        assert_eq!(
            png_size(&dir.path().join(format!("{chart}.png"))),
            (1280, 480 + 72),
            "{chart}: the chart under its title strip"
        );
        let svg = std::fs::read_to_string(dir.path().join(format!("{chart}.svg"))).expect("svg");
        assert!(svg.starts_with("<svg"), "{chart}.svg");
        // The strip: the scenario, the target, what the replicas were, when, for how long.
        let strip = scaleproof::report::headline::strip(&rendered.summary);
        assert!(strip.contains(" UTC · 2 min of load"), "{strip}");
        for text in [
            format!("scaleproof · {}", rendered.summary.scenario),
            strip.clone(),
        ] {
            assert!(svg.contains(&text), "{chart}.svg lacks {text:?}");
        }
    }
    assert_eq!(png_size(&dir.path().join("dashboard.png")), (1920, 1080));
    let summary: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.path().join("summary.json")).expect("read"))
            .expect("json");
    assert_eq!(summary["schema"], "scaleproof-summary/3");
    assert_eq!(summary["verdict"]["state"], "pass");
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
        "tls",
        "errors",
        "scaling",
        "pods",
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
    // The pods: one lane each in pods.png (sized for 4 lanes), one scale-out chain 1 → 4.
    assert_eq!(
        png_size(&dir.path().join("pods.png")),
        (1280, scaleproof::report::gantt::height(4) + 72)
    );
    assert!(
        std::fs::read_to_string(dir.path().join("pods.svg"))
            .expect("svg")
            .contains("target-service-3")
    );
    assert_eq!(s.pods.len(), 4);
    assert_eq!(s.scaling.scale_outs.len(), 1);
    let chain = &s.scaling.scale_outs[0];
    assert_eq!((chain.from, chain.to, chain.pods.len()), (1, 4, 3));
    assert_eq!(chain.gaps.created_to_ready_s, Some(5.0));
    assert_eq!(
        headline::scaling_lines(s),
        [
            "scale-out 1 → 4 at 40.3 s: created +0.0 s, Ready +5.0 s, in the Service unknown, first served +1.0 s (3 new pods)"
        ]
    );
    assert!(html.contains("Pods: one lane each") && html.contains("Every pod (pods.csv)"));
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
    // Verdict cells have their own classes: the badge's background must not paint them.
    assert!(html.contains("<td class=\"result-pass\">pass</td>"));
    assert!(!html.contains("<td class=\"pass\">"));
    // The target URL is shown, escaped, not linked.
    assert!(html.contains("http&#58;//127.0.0.1&#58;9/"));
}

#[test]
fn the_html_report_renders_charts_in_headless_chromium() {
    let Some(browser) = common::chromium() else {
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

#[test]
fn every_page_shows_the_same_headline_figures() {
    let dir = tempfile::tempdir().expect("tempdir");
    synthetic_run(dir.path(), 60, 2, false);
    let rendered = scaleproof::report::render(dir.path(), None).expect("render");
    let s = &rendered.summary;
    // summary.json: the verdict's rps window is the headline's window.
    assert_eq!(s.kpis.sustain_window_s, 30);
    let rps = s
        .verdict
        .checks
        .iter()
        .find(|c| c.name == "rps")
        .expect("rps check");
    assert!(rps.source.contains("best 30 s window"), "{}", rps.source);
    let peak = s.kpis.peak_sustained_ok_rps.expect("peak");
    assert_eq!(
        rps.measured,
        format!("{} ok rps", scaleproof::spec::values::number(peak, 1))
    );
    assert_eq!(rps.measured, "1,200.0 ok rps");
    assert_eq!(rps.wanted, "≥ 1,000 ok rps");
    let p95 = s
        .verdict
        .checks
        .iter()
        .find(|c| c.name == "p95")
        .expect("p95 check");
    assert_eq!(p95.measured, "3.00 ms corrected");
    assert_eq!(s.kpis.p95_ms, Some(3.0));
    // report.html shows every headline figure as formatted once.
    let html = std::fs::read_to_string(dir.path().join("report.html")).expect("html");
    for fig in headline::figures(s) {
        assert!(
            html.contains(&format!("{}<b>{}</b>", fig.label, fig.value)),
            "report.html lacks {fig:?}"
        );
    }
    assert!(html.contains("p95 corrected<b>3.00 ms</b>"));
    assert!(html.contains("Peak sustained<b>1,200 ok rps</b>"));
    // The terminal prints the same line the dashboard draws.
    let out = Command::new(env!("CARGO_BIN_EXE_scaleproof"))
        .arg("report")
        .arg(dir.path())
        .output()
        .expect("run");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains(&headline::line(s)), "{stderr}");
    assert!(
        headline::line(s).starts_with("peak 1,200 ok rps (best 30 s) · p95 corrected 3.00 ms"),
        "{}",
        headline::line(s)
    );
}

#[test]
fn a_run_json_that_cannot_be_read_is_an_error_never_a_default() {
    let dir = tempfile::tempdir().expect("tempdir");
    synthetic_run(dir.path(), 10, 1, false);
    let path = dir.path().join(timeline::RUN_JSON);
    let good = std::fs::read_to_string(&path).expect("read");
    let bin = env!("CARGO_BIN_EXE_scaleproof");
    let report = || {
        Command::new(bin)
            .arg("report")
            .arg(dir.path())
            .output()
            .expect("run")
    };
    // Expectations that do not decode.
    let bad = good.replace("\"p95_ms\": 250.0", "\"p95_ms\": \"fast\"");
    assert_ne!(bad, good);
    std::fs::write(&path, bad).expect("write");
    let out = report();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("run.json") && err.contains("not a valid run file"),
        "{err}"
    );
    assert!(
        !dir.path().join("summary.json").exists(),
        "nothing rendered"
    );
    // A run directory of another format says so.
    std::fs::write(
        &path,
        good.replace(timeline::RUN_FORMAT, "scaleproof-run/1"),
    )
    .expect("write");
    let out = report();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("scaleproof-run/1"), "{err}");
}

#[test]
fn unknown_endpoints_show_as_unknown_never_zero() {
    let dir = tempfile::tempdir().expect("tempdir");
    synthetic_run(dir.path(), 40, 1, false);
    let run = timeline::RunDir::open(dir.path());
    let mut rows = run.read(&timeline::TIMELINE).expect("read");
    for r in &mut rows {
        r.endpoints = None;
    }
    run.write(&timeline::TIMELINE, &rows).expect("write");
    let rendered = scaleproof::report::render(dir.path(), None).expect("render");
    let s = &rendered.summary;
    assert_eq!(s.kpis.most_endpoints_at_once, None);
    let replicas = s
        .verdict
        .checks
        .iter()
        .find(|c| c.name == "replicas")
        .expect("replicas");
    assert_eq!(replicas.state, State::Inconclusive);
    assert_eq!(s.verdict.state, State::Inconclusive);
    let html = std::fs::read_to_string(dir.path().join("report.html")).expect("html");
    assert!(
        html.contains("Most endpoints<b>–</b>"),
        "unknown shown as –"
    );
    assert!(html.contains("INCONCLUSIVE"));
}

/// `scaleproof replay` of a 90-second run at ×10 and 5 fps: 45 frames in each format, each
/// decoding at the size asked for; the last frame shows summary.json's headline figures and
/// verdict.
#[test]
fn replay_frames_count_decode_and_end_on_the_summary() {
    use scaleproof::report::replay::{ReplayFormat, ReplayOptions, replay};
    let dir = tempfile::tempdir().expect("tempdir");
    synthetic_run(dir.path(), 90, 2, true);
    let rendered = scaleproof::report::render(dir.path(), None).expect("render");
    let size = (640, 360);
    let options = |format, out: &str| ReplayOptions {
        speed: 10.0,
        fps: 5,
        size,
        format,
        out: dir.path().join(out),
    };
    let mut calls = 0;
    let gif = replay(
        dir.path(),
        &options(ReplayFormat::Gif, "r.gif"),
        |_, total| {
            calls += 1;
            assert_eq!(total, 45);
        },
    )
    .expect("gif");
    assert_eq!((gif.frames, calls), (45, 45));
    let mut decoder = gif::DecodeOptions::new();
    decoder.set_color_output(gif::ColorOutput::Indexed);
    let mut frames = decoder
        .read_info(std::fs::File::open(&gif.out).expect("open"))
        .expect("a gif");
    assert_eq!((frames.width(), frames.height()), (640, 360));
    let palette = frames.global_palette().expect("a global palette").to_vec();
    // Each frame after the first is the rectangle that changed, its unchanged pixels
    // transparent: compose them as a viewer does.
    let mut canvas = vec![0u8; 640 * 360];
    let (mut count, mut centiseconds) = (0, 0u32);
    while let Some(frame) = frames.read_next_frame().expect("a frame") {
        let (l, t, w, h) = (
            usize::from(frame.left),
            usize::from(frame.top),
            usize::from(frame.width),
            usize::from(frame.height),
        );
        assert!(
            l + w <= 640 && t + h <= 360,
            "frame {count} outside the picture"
        );
        if count == 0 {
            assert_eq!((w, h), (640, 360), "the first frame is whole");
        }
        for y in 0..h {
            for x in 0..w {
                let v = frame.buffer[y * w + x];
                if Some(v) != frame.transparent {
                    canvas[(t + y) * 640 + l + x] = v;
                }
            }
        }
        centiseconds += u32::from(frame.delay);
        count += 1;
    }
    // 45 frames at 5 fps: 9 s of replay, to the centisecond.
    assert_eq!((count, centiseconds), (45, 900));

    let apng = replay(dir.path(), &options(ReplayFormat::Apng, "r.png"), |_, _| {}).expect("apng");
    let decoder = png::Decoder::new(std::fs::File::open(&apng.out).expect("open"));
    let mut reader = decoder.read_info().expect("png");
    let control = reader.info().animation_control.expect("an animated PNG");
    assert_eq!(control.num_frames, 45);
    assert_eq!((reader.info().width, reader.info().height), (640, 360));
    let mut buf = vec![0; reader.output_buffer_size()];
    // After the first frame, the rectangle that changed, unchanged pixels transparent and
    // blended over: compose them as a viewer does.
    let mut composed = vec![0u8; 640 * 360 * 3];
    let mut decoded = 0;
    while let Ok(out) = reader.next_frame(&mut buf) {
        assert_eq!(out.color_type, png::ColorType::Rgba);
        let fc = reader.info().frame_control.expect("a frame control");
        let (l, t, w, h) = (
            fc.x_offset as usize,
            fc.y_offset as usize,
            fc.width as usize,
            fc.height as usize,
        );
        assert!(l + w <= 640 && t + h <= 360, "frame {decoded} outside");
        if decoded == 0 {
            assert_eq!((w, h), (640, 360), "the first frame is whole");
        }
        assert_eq!(fc.dispose_op, png::DisposeOp::None);
        let replaced = buf[..w * h * 4]
            .chunks_exact(4)
            .filter(|p| p[3] == 255)
            .count();
        if decoded > 0 {
            // The playhead, the data of one more second and the figures: a small part.
            assert!(
                replaced < 640 * 360 / 10,
                "frame {decoded}: {replaced} pixels replaced"
            );
        }
        for y in 0..h {
            for x in 0..w {
                let px = &buf[(y * w + x) * 4..(y * w + x) * 4 + 4];
                match px[3] {
                    0 => assert_ne!(decoded, 0, "a transparent pixel in the first frame"),
                    255 => composed[((t + y) * 640 + l + x) * 3..][..3].copy_from_slice(&px[..3]),
                    a => panic!("alpha {a}: a pixel is either kept or replaced"),
                }
            }
        }
        decoded += 1;
    }
    assert_eq!(decoded, 45);

    let frames = replay(
        dir.path(),
        &options(ReplayFormat::Frames, "frames"),
        |_, _| {},
    )
    .expect("frames");
    let files = std::fs::read_dir(&frames.out).expect("dir").count();
    assert_eq!(files, 45);
    let last = png::Decoder::new(
        std::fs::File::open(frames.out.join("frame-00045.png")).expect("last frame"),
    )
    .read_info()
    .expect("png");
    assert_eq!((last.info().width, last.info().height), (640, 360));
    // The composed GIF ends on the last PNG frame, each pixel at its nearest palette colour.
    let mut last = png::Decoder::new(
        std::fs::File::open(frames.out.join("frame-00045.png")).expect("last frame"),
    )
    .read_info()
    .expect("png");
    let mut rgb = vec![0; last.output_buffer_size()];
    last.next_frame(&mut rgb).expect("pixels");
    assert!(
        composed == rgb,
        "the composed APNG is not the last PNG frame"
    );
    let mut nearest = std::collections::HashMap::new();
    let mut differ = 0;
    for (i, px) in rgb.chunks_exact(3).enumerate() {
        let want = *nearest.entry([px[0], px[1], px[2]]).or_insert_with(|| {
            (0..255)
                .min_by_key(|&k| {
                    (0..3)
                        .map(|c| (i32::from(palette[k * 3 + c]) - i32::from(px[c])).pow(2))
                        .sum::<i32>()
                })
                .expect("a colour")
        });
        if usize::from(canvas[i]) != want {
            differ += 1;
        }
    }
    assert_eq!(
        differ, 0,
        "pixels of the composed GIF unlike the last frame"
    );
    let ffmpeg = frames.ffmpeg.expect("the ffmpeg command");
    assert!(ffmpeg.starts_with("ffmpeg -framerate 5 -i "), "{ffmpeg}");

    // The last frame: the run's headline figures and verdict, as summary.json has them.
    let records: Vec<csv::StringRecord> = csv::Reader::from_path(&gif.frames_csv)
        .expect("frames.csv")
        .records()
        .collect::<Result<_, _>>()
        .expect("csv records");
    assert_eq!(records.len(), 45);
    let last = records.last().expect("a frame");
    let s = &rendered.summary;
    let expected: Vec<String> = [
        headline::peak(s),
        headline::p95(s),
        headline::replicas(s),
        headline::error_rate(s),
    ]
    .iter()
    .map(|f| format!("{}: {}", f.label, f.value))
    .collect();
    assert_eq!(
        last.iter().collect::<Vec<_>>(),
        ["45", "90.000", &expected.join("; "), "pass"],
    );
    assert!(
        expected[0].contains("1,"),
        "thousands separated: {expected:?}"
    );
    assert_eq!(s.verdict.state, State::Pass);
}

/// `slides/`: a title card, each chart alone and a verdict card, each as a 1920×1080 PNG and
/// an SVG of the same size.
#[test]
fn the_slides_are_each_chart_alone_with_title_and_verdict_cards_at_1080p() {
    let dir = tempfile::tempdir().expect("tempdir");
    synthetic_run(dir.path(), 60, 2, true);
    scaleproof::report::render(dir.path(), None).expect("render");
    let slides = dir.path().join("slides");
    let mut names: Vec<String> = std::fs::read_dir(&slides)
        .expect("slides/")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    let mut expected: Vec<String> = [
        "title",
        "throughput",
        "latency",
        "replicas",
        "endpoints",
        "verdict",
    ]
    .iter()
    .flat_map(|n| [format!("{n}.png"), format!("{n}.svg")])
    .collect();
    expected.sort();
    assert_eq!(names, expected);
    for name in names.iter().filter(|n| n.ends_with(".png")) {
        let reader = png::Decoder::new(std::fs::File::open(slides.join(name)).expect("open"))
            .read_info()
            .expect("png");
        assert_eq!(
            (reader.info().width, reader.info().height),
            (1920, 1080),
            "{name}"
        );
    }
    for name in names.iter().filter(|n| n.ends_with(".svg")) {
        let svg = std::fs::read_to_string(slides.join(name)).expect("svg");
        assert!(
            svg.contains("width=\"1920\"") && svg.contains("height=\"1080\""),
            "{name}"
        );
    }
    let verdict = std::fs::read_to_string(slides.join("verdict.svg")).expect("svg");
    assert!(
        verdict.contains("PASS"),
        "the verdict card says the verdict"
    );
    let title = std::fs::read_to_string(slides.join("title.svg")).expect("svg");
    assert!(
        title.contains("synthetic"),
        "the title card names the scenario"
    );
}
