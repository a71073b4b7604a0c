//! `scaleproof compare` end to end, on loopback: two runs of one configuration against the
//! real target-service are not a regression; a third against the same address with
//! ~2,000 more forest evaluations per request is a p95 regression, named; runs that measured
//! different things are refused unless forced.

use std::path::{Path, PathBuf};
use std::process::Command;

/// One 15 s open-model run at 100 rps against `host`, into `out`.
fn run(host: &str, out: &Path) -> PathBuf {
    let o = Command::new(env!("CARGO_BIN_EXE_scaleproof"))
        .args([
            "--host",
            host,
            "--rate",
            "100:0s,100:15s",
            "--quiet",
            "--out",
        ])
        .arg(out)
        .output()
        .expect("run");
    assert!(
        matches!(o.status.code(), Some(0 | 1 | 4)),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    PathBuf::from(String::from_utf8_lossy(&o.stdout).trim())
}

fn compare(base: &Path, cand: &Path, out: &Path, extra: &[&str]) -> (Option<i32>, String) {
    let o = Command::new(env!("CARGO_BIN_EXE_scaleproof"))
        .arg("compare")
        .args([base, cand])
        .arg("--out")
        .arg(out)
        .args(extra)
        .output()
        .expect("compare");
    (
        o.status.code(),
        String::from_utf8_lossy(&o.stderr).into_owned(),
    )
}

#[test]
fn the_same_configuration_is_no_regression_and_more_work_per_request_is_a_p95_regression() {
    let _one = crate::common::one_attack_at_a_time();
    let _local = crate::common::one_local_run_at_a_time();
    let tmp = tempfile::tempdir().expect("tempdir");
    let out = tmp.path().join("runs");
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        l.local_addr().expect("addr").port()
    };
    let host = format!("http://127.0.0.1:{port}");
    let mut target = crate::common::Target::start_on(port, 0);
    let first = run(&host, &out);
    let second = run(&host, &out);
    target.stop();
    drop(target);
    let _slow = crate::common::Target::start_on(port, 2000);
    let third = run(&host, &out);

    let same = tmp.path().join("same");
    let (code, err) = compare(&first, &second, &same, &[]);
    assert!(matches!(code, Some(0 | 4)), "{err}");
    let doc: serde_json::Value =
        serde_json::from_slice(&std::fs::read(same.join("compare.json")).expect("json"))
            .expect("compare.json");
    assert_ne!(doc["outcome"], "regression", "{err}");
    // Throughput is the plan's in both: no change.
    let rps = doc["figures"]
        .as_array()
        .expect("figures")
        .iter()
        .find(|f| f["metric"] == "rps")
        .expect("rps");
    assert_eq!(rps["judgement"], "no_change", "{rps}");

    let slower = tmp.path().join("slower");
    let (code, err) = compare(&first, &third, &slower, &[]);
    assert_eq!(code, Some(1), "{err}");
    assert!(
        err.lines()
            .any(|l| l.starts_with("p95 corrected, whole run *")
                && l.ends_with("worse  ← regression")),
        "{err}"
    );
    let doc: serde_json::Value =
        serde_json::from_slice(&std::fs::read(slower.join("compare.json")).expect("json"))
            .expect("compare.json");
    let p95 = doc["figures"]
        .as_array()
        .expect("figures")
        .iter()
        .find(|f| f["metric"] == "p95")
        .expect("p95")
        .clone();
    assert_eq!(p95["judgement"], "worse", "{p95}");
    assert!(p95["ci_low"].as_f64().expect("interval") > 0.0, "{p95}");
    assert_eq!(
        crate::report::png_size(&slower.join("compare.png")),
        (1920, 1080)
    );
    assert_eq!(
        crate::report::png_size(&slower.join("slides/compare.png")),
        (1920, 1080)
    );
    let html = std::fs::read_to_string(slower.join("compare.html")).expect("html");
    assert!(html.contains("<svg") && html.contains("regression"));
    // Gating on throughput only, the slower service is no regression.
    let (code, err) = compare(
        &first,
        &third,
        &tmp.path().join("rps"),
        &["--metrics", "rps"],
    );
    assert_eq!(code, Some(0), "{err}");
}

#[test]
fn runs_that_measured_different_things_are_refused_unless_forced() {
    let _one = crate::common::one_attack_at_a_time();
    let tmp = tempfile::tempdir().expect("tempdir");
    let out = tmp.path().join("runs");
    let target = crate::common::Target::start_on(0, 0);
    let a = run(&target.base, &out);
    let o = Command::new(env!("CARGO_BIN_EXE_scaleproof"))
        .args([
            "--host",
            &target.base,
            "--rate",
            "50:0s,50:12s",
            "--quiet",
            "--out",
        ])
        .arg(&out)
        .output()
        .expect("run");
    let b = PathBuf::from(String::from_utf8_lossy(&o.stdout).trim());
    let (code, err) = compare(&a, &b, &tmp.path().join("c"), &[]);
    assert_eq!(code, Some(2), "{err}");
    assert!(err.contains("the load shape differs"), "{err}");
    let (code, err) = compare(&a, &b, &tmp.path().join("c"), &["--force"]);
    assert!(matches!(code, Some(0 | 1 | 4)), "{err}");
    assert!(err.contains("forced: the load shape differs"), "{err}");
    // Plans of 15 s and 12 s, two stages each: the picture aligns them stage by stage.
    let doc: serde_json::Value = serde_json::from_slice(
        &std::fs::read(tmp.path().join("c/compare.json")).expect("compare.json"),
    )
    .expect("json");
    let alignment = doc["alignment"].as_str().expect("alignment");
    assert!(
        alignment.starts_with("aligned by load stage"),
        "{alignment}"
    );
    // A directory that is no run is bad input, named.
    let (code, err) = compare(&a, tmp.path(), &tmp.path().join("d"), &[]);
    assert_eq!(code, Some(2), "{err}");
    assert!(err.contains("cannot read the run directory"), "{err}");
}

/// A capacity directory whose search held 25…`knee` rps and failed at `fail` (p95 1 ms up to
/// the knee, 900 ms above it).
fn capacity_dir(root: &Path, name: &str, knee: f64, fail: f64) -> PathBuf {
    use scaleproof::capacity::{CapacityDoc, Ending, Outcome, Slo, StepRow};
    let step = |n: u32, rate: f64, pass: bool| StepRow {
        step: n,
        replicas: 1,
        offered_rps: rate,
        planned_s: 5.0,
        duration_s: 5.0,
        requests: (rate * 5.0) as u64,
        ok: (rate * 5.0) as u64,
        errors: 0,
        dropped: 0,
        cancelled: 0,
        ok_rps: rate,
        error_rate: Some(0.0),
        p50_corrected_ms: Some(0.5),
        p95_corrected_ms: Some(if pass { 1.0 } else { 900.0 }),
        p99_corrected_ms: Some(if pass { 2.0 } else { 950.0 }),
        cpu_m: None,
        generator_saturated: false,
        outcome: if pass { Outcome::Pass } else { Outcome::Fail },
        reason: String::new(),
        run_dir: String::new(),
    };
    let doc = CapacityDoc {
        schema: scaleproof::capacity::CAPACITY_SCHEMA.to_owned(),
        scenario: "predict".into(),
        target: "local replica (this machine)".into(),
        local: true,
        workload: "LOCAL replica: bundled target-service".into(),
        started_at: chrono::Utc::now(),
        duration_s: 60.0,
        slo: Slo {
            p95_ms: 250.0,
            error_rate: 0.01,
            min_ok_share: 0.99,
        },
        step_rule: String::new(),
        knee_rps: Some(knee),
        fail_rps: Some(fail),
        knee_cpu_m: None,
        ending: Ending::Converged,
        steps: vec![
            step(1, 25.0, true),
            step(2, knee, true),
            step(3, fail, false),
        ],
        plan: None,
        verify_command: None,
        scaling: Vec::new(),
        usl: None,
        more_stop_helping_at: None,
        notes: Vec::new(),
    };
    let dir = root.join(name);
    std::fs::create_dir_all(&dir).expect("dir");
    std::fs::write(
        dir.join("capacity.json"),
        serde_json::to_vec(&doc).expect("json"),
    )
    .expect("write");
    dir
}

#[test]
fn two_capacity_searches_compare_by_their_knees_brackets() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let before = capacity_dir(tmp.path(), "before", 1000.0, 1050.0);
    let slower = capacity_dir(tmp.path(), "slower", 900.0, 950.0);
    let faster = capacity_dir(tmp.path(), "faster", 1100.0, 1150.0);
    let (code, err) = compare(&before, &slower, &tmp.path().join("a"), &[]);
    assert_eq!(code, Some(1), "{err}");
    assert!(
        err.lines()
            .any(|l| l.starts_with("one replica's knee") && l.ends_with("worse  ← regression")),
        "{err}"
    );
    assert_eq!(
        crate::report::png_size(&tmp.path().join("a/compare.png")),
        (1920, 1080)
    );
    let (code, err) = compare(&before, &faster, &tmp.path().join("b"), &[]);
    assert_eq!(code, Some(0), "{err}");
    assert!(err.contains("better"), "{err}");
    // A capacity directory against a run is refused.
    let (code, err) = compare(&before, tmp.path(), &tmp.path().join("c"), &[]);
    assert_eq!(code, Some(2), "{err}");
}
