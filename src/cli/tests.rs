//! Tests of the command line: what parses, what is refused with which message, and what
//! each flag does to the resolved run.

use super::*;
use crate::config::{LoadShape, RunConfig, Target, defaults};
use clap::CommandFactory;
use reqwest::Url;
use std::time::Duration;

const HOST: [&str; 2] = ["--host", "http://127.0.0.1:9"];

fn config(args: &[&str]) -> Result<RunConfig, String> {
    let cli = Cli::try_parse_from(std::iter::once("scaleproof").chain(args.iter().copied()))
        .map_err(|e| e.to_string())?;
    RunConfig::try_from(cli.run).map_err(|e| e.to_string())
}

#[test]
fn cli_definition_is_consistent() {
    Cli::command().debug_assert();
}

#[test]
fn cluster_flags_override_the_scenario_and_no_cluster_turns_the_watch_off() {
    assert!(
        config(&[]).expect("valid").cluster.is_none(),
        "no --deployment"
    );
    let c = config(&[
        HOST[0],
        HOST[1],
        "--deployment",
        "web",
        "-n",
        "demo",
        "--context",
        "kind-demo",
    ])
    .expect("valid");
    let o = c.cluster.expect("watched");
    assert_eq!(
        (
            o.deployment.as_str(),
            o.namespace.as_deref(),
            o.hpa.as_deref()
        ),
        ("web", Some("demo"), None)
    );
    assert_eq!(o.context.as_deref(), Some("kind-demo"));
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("s.toml");
    std::fs::write(
        &path,
        "[[request]]\nname = 'a'\npath = '/'\n[cluster]\ndeployment = 'api'\nnamespace = 'prod'\n",
    )
    .expect("write");
    let scenario = path.to_str().expect("utf-8");
    let from_file = config(&[HOST[0], HOST[1], "--scenario", scenario]).expect("valid");
    let o = from_file.cluster.expect("watched");
    assert_eq!(
        (o.deployment.as_str(), o.namespace.as_deref()),
        ("api", Some("prod"))
    );
    let flag_wins = config(&[
        HOST[0],
        HOST[1],
        "--scenario",
        scenario,
        "--deployment",
        "web",
    ])
    .expect("valid");
    assert_eq!(flag_wins.cluster.expect("watched").deployment, "web");
    let off = config(&[HOST[0], HOST[1], "--scenario", scenario, "--no-cluster"]).expect("valid");
    assert!(off.cluster.is_none());
}

#[test]
fn the_builtin_scenario_calibrates_against_its_peak_unless_the_work_factor_is_fixed() {
    let local = config(&[]).expect("valid").local.expect("local replicas");
    assert_eq!(
        local.saturate_at,
        Some(crate::config::Saturation {
            share: 0.58,
            peak_rps: 1200.0
        })
    );
    // --rate replaces the plan, and the peak with it.
    let local = config(&["--rate", "100:5s,2000:10s,500:5s"])
        .expect("valid")
        .local
        .expect("local");
    assert_eq!(local.saturate_at.map(|s| s.peak_rps), Some(2000.0));
    // A fixed work factor is not calibrated.
    let local = config(&["--work-factor", "120"])
        .expect("valid")
        .local
        .expect("local");
    assert_eq!((local.work_factor, local.saturate_at), (120, None));
    // A closed model has no planned peak.
    let local = config(&["--users", "20"])
        .expect("valid")
        .local
        .expect("local");
    assert_eq!(local.saturate_at, None);
    // --work-factor shapes local replicas only.
    let e = config(&["--host", "http://127.0.0.1:9", "--work-factor", "5"]).expect_err("refused");
    assert!(e.to_string().contains("--work-factor"), "{e}");
}

#[test]
fn local_replicas_stand_in_for_the_cluster_only_without_a_host() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("s.toml");
    std::fs::write(
        &path,
        "[[request]]\nname = 'a'\npath = '/'\n[cluster]\ndeployment = 'api'\n[local]\nreplicas = '2..5'\ncpu_request = '300m'\n[local.behavior.scaleUp]\nselectPolicy = 'Min'\n",
    )
    .expect("write");
    let scenario = path.to_str().expect("utf-8");
    let c = config(&["--scenario", scenario]).expect("valid");
    assert!(
        c.cluster.is_none(),
        "the scenario's [cluster] is for --host runs"
    );
    let local = c.local.expect("local replicas");
    assert_eq!((local.hpa.min_replicas, local.hpa.max_replicas), (2, 5));
    assert_eq!((local.cpu_request_m, local.cpu_limit_m), (300, 400));
    assert_eq!(
        local.hpa.behavior.scale_up.select,
        crate::spec::autoscaling::SelectPolicy::Min
    );
    assert_eq!(
        local.hpa.behavior.scale_down.stabilization_s, 300,
        "default kept"
    );
    assert!(local.autoscale);
    let c = config(&[
        "--scenario",
        scenario,
        "--replicas",
        "3",
        "--cpu-limit",
        "0.5",
    ])
    .expect("valid");
    let local = c.local.expect("local");
    assert_eq!((local.hpa.min_replicas, local.cpu_limit_m), (3, 500));
    assert!(!local.autoscale, "MIN = MAX: nothing to scale");
    let e = config(&["--deployment", "web"]).expect_err("no host");
    assert!(
        e.contains("--deployment") && e.contains("local replicas"),
        "{e}"
    );
    let e = config(&[HOST[0], HOST[1], "--replicas", "1..3"]).expect_err("host");
    assert!(e.contains("--replicas") && e.contains("no --host"), "{e}");
    let e = config(&["--cpu-request", "500m", "--cpu-limit", "200m"]).expect_err("above");
    assert!(e.contains("--cpu-request"), "{e}");
}

#[test]
fn header_flags_reach_every_request_and_a_scenario_header_wins() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("s.toml");
    std::fs::write(
        &path,
        "[[request]]\nname='a'\npath='/a'\nheaders = { X-Team = 'scenario' }\n[[request]]\nname='b'\npath='/b'\n",
    )
    .expect("write");
    let scenario = path.to_str().expect("utf-8");
    let c = config(&[
        "--scenario",
        scenario,
        "-H",
        "X-Team: flag",
        "--header",
        "Host: api.test",
    ])
    .expect("valid");
    let teams: Vec<&str> = c
        .scenario
        .requests
        .iter()
        .map(|r| r.headers["x-team"].to_str().expect("ascii"))
        .collect();
    assert_eq!(teams, ["scenario", "flag"]);
    assert!(
        c.scenario
            .requests
            .iter()
            .all(|r| r.headers["host"] == "api.test")
    );
    let e = config(&["-H", "nocolon"]).expect_err("invalid");
    assert!(e.contains("--header") && e.contains("Name: value"), "{e}");
}

#[test]
fn tls_flags_read_their_files_and_name_them_when_they_are_wrong() {
    let e = config(&["--cert", "c.pem"]).expect_err("needs --key");
    assert!(e.contains("--key"), "{e}");
    let e = config(&["--cacert", "/nonexistent/ca.pem"]).expect_err("missing");
    assert!(
        e.contains("--cacert") && e.contains("/nonexistent/ca.pem"),
        "{e}"
    );
    let dir = tempfile::tempdir().expect("tempdir");
    let empty = dir.path().join("empty.pem");
    std::fs::write(&empty, "not a certificate\n").expect("write");
    let e = config(&["--cacert", empty.to_str().expect("utf-8")]).expect_err("empty");
    assert!(e.contains("holds no PEM certificate"), "{e}");
    let c = config(&["--insecure"]).expect("valid");
    assert!(c.tls.insecure && c.tls.trusted.is_none() && c.tls.identity.is_none());
}

#[test]
fn bad_cluster_flags_name_the_flag() {
    let e = config(&[HOST[0], HOST[1], "--deployment", "Web_App"]).expect_err("invalid");
    assert!(
        e.contains("--deployment") && e.contains("Kubernetes object name"),
        "{e}"
    );
    let e = config(&[HOST[0], HOST[1], "--hpa", "web"]).expect_err("invalid");
    assert!(
        e.contains("--hpa") && e.contains("needs --deployment"),
        "{e}"
    );
    let e =
        config(&[HOST[0], HOST[1], "--no-cluster", "--deployment", "web"]).expect_err("conflict");
    assert!(e.contains("--no-cluster"), "{e}");
}

#[test]
fn no_flags_run_the_builtin_scenario_against_the_embedded_target() {
    let c = config(&[]).expect("valid");
    assert_eq!(c.target, Target::Embedded);
    assert_eq!(c.scenario.name, "predict");
    let LoadShape::Open {
        plan, max_users, ..
    } = c.shape
    else {
        panic!("the default scenario is open-model")
    };
    assert_eq!(plan.duration(), Duration::from_secs(90));
    assert_eq!(max_users, 256);
    let local = c.local.expect("local replicas");
    assert_eq!((local.hpa.min_replicas, local.hpa.max_replicas), (1, 4));
    assert_eq!(local.sync_period, Duration::from_secs(3));
    assert_eq!(local.hpa.behavior.scale_down.stabilization_s, 15);
    assert_eq!(c.recycle, Some(defaults::RECYCLE));
}

#[test]
fn users_switch_to_the_closed_model_with_a_ten_second_ramp() {
    let c = config(&["--host", "http://127.0.0.1:9/api", "--users", "500"]).expect("valid");
    assert_eq!(
        c.target,
        Target::Url(Url::parse("http://127.0.0.1:9/api/").expect("url"))
    );
    let LoadShape::Closed {
        users,
        hatch_rate,
        run_time,
        test_plan,
    } = c.shape
    else {
        panic!("closed model expected")
    };
    assert_eq!(
        (users, hatch_rate, run_time, test_plan),
        (500, 50.0, Some(defaults::RUN_TIME), None)
    );
}

#[test]
fn rate_flag_overrides_the_scenario_shape() {
    let c = config(&[
        "--rate",
        "10:1s,10:2s",
        "--max-users",
        "7",
        "--max-lag",
        "250ms",
    ])
    .expect("valid");
    let LoadShape::Open {
        plan,
        max_users,
        max_lag,
    } = c.shape
    else {
        panic!("open model expected")
    };
    assert_eq!(
        (plan.total_slots(), max_users, max_lag),
        (25, 7, Duration::from_millis(250))
    );
}

#[test]
fn invalid_values_name_their_flag() {
    for (args, flag) in [
        (vec!["--host", "localhost:8080"], "--host"),
        (vec!["--host", "ftp://x"], "--host"),
        (vec!["--rate", "fast"], "--rate"),
        (vec!["--run-time", "forever"], "--run-time"),
        (vec!["--users", "0"], "--users"),
        (vec!["--hatch-rate=-1"], "--hatch-rate"),
        (vec!["--timeout", "0s"], "--timeout"),
        (
            vec!["--recycle-connections", "often"],
            "--recycle-connections",
        ),
        (vec!["--endpoint-header", "bad header"], "--endpoint-header"),
        (vec!["--users", "many"], "--users"),
    ] {
        let err = config(&args).expect_err("invalid");
        assert!(err.contains(flag), "{args:?}: {err}");
        assert_eq!(err.trim().lines().count().min(1), 1);
    }
}

#[test]
fn open_and_closed_flags_conflict() {
    let err = config(&["--rate", "10:1s", "--users", "5"]).expect_err("conflict");
    assert!(err.contains("--users") && err.contains("--rate"), "{err}");
}

#[test]
fn expectation_flags_override_the_scenario() {
    let c = config(&[
        "--expect-p95",
        "100ms",
        "--expect-replicas",
        "3",
        "--expect-error-rate",
        "0.5%",
    ])
    .expect("valid");
    assert_eq!(c.scenario.expect.p95_ms, Some(100.0));
    assert_eq!(c.scenario.expect.replicas, Some(3));
    assert_eq!(c.scenario.expect.error_rate, Some(0.005));
    assert_eq!(
        c.scenario.expect.rps,
        Some(1000.0),
        "kept from predict.toml"
    );
    let err = config(&["--expect-p95", "soon"]).expect_err("invalid");
    assert!(err.contains("--expect-p95"), "{err}");
}

#[test]
fn recycling_can_be_switched_off() {
    assert_eq!(
        config(&["--recycle-connections", "off"])
            .expect("valid")
            .recycle,
        None
    );
    assert_eq!(
        config(&["--recycle-connections", "2s"])
            .expect("valid")
            .recycle,
        Some(Duration::from_secs(2))
    );
}
