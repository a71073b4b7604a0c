//! The load engine in-process against a real target-service on 127.0.0.1: exact counts,
//! open-model rate accuracy, coordinated-omission correction, dropped slots and percentile
//! accuracy. Every run is bounded to a few seconds.

use crate::common;

use axum::Router;
use axum::routing::post;
use scaleproof::cli::{Cli, Command};
use scaleproof::config::RunConfig;
use scaleproof::timeline::{self, TimelineRow};
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

fn config(out: &Path, args: &[&str]) -> RunConfig {
    use clap::Parser;
    let argv = [
        "scaleproof",
        "run",
        "--quiet",
        "--out",
        out.to_str().expect("utf-8 path"),
    ];
    let cli =
        Cli::try_parse_from(argv.iter().copied().chain(args.iter().copied())).expect("valid flags");
    let Some(Command::Run(args)) = cli.command else {
        unreachable!("the run subcommand was given")
    };
    RunConfig::try_from(*args).expect("valid config")
}

/// A scenario file in `dir` that POSTs to `/<name>`; returns its path as a flag value.
fn post_scenario(dir: &Path, name: &str) -> String {
    let path = dir.join(format!("{name}.toml"));
    let text = format!(
        "name = '{name}'\n[[request]]\nname = '{name}'\nmethod = 'POST'\npath = '/{name}'\n"
    );
    std::fs::write(&path, text).expect("write scenario");
    path.to_str().expect("utf-8 path").to_owned()
}

fn rows(dir: &Path) -> Vec<TimelineRow> {
    timeline::RunDir::open(dir)
        .read(&timeline::TIMELINE)
        .expect("timeline.csv")
}

#[test]
fn requests_counted_by_scaleproof_equal_the_services_own_counter() {
    let _one = common::one_attack_at_a_time();
    let target = common::Target::start("pod-count", None);
    let out = tempfile::tempdir().expect("tempdir");
    let cfg = config(
        out.path(),
        &[
            "--host",
            &target.base,
            "--users",
            "8",
            "--hatch-rate",
            "8",
            "--run-time",
            "2s",
        ],
    );
    let outcome = scaleproof::run::execute(&cfg).expect("run");
    let served = target.state.metrics().requests_total("/predict");
    assert!(served > 100, "only {served} requests");
    assert_eq!(outcome.meta.totals.requests, served);
    assert_eq!(outcome.meta.totals.ok, served);
    assert_eq!(target.state.metrics().predictions_total(), served);
    let rows = rows(&outcome.dir);
    assert_eq!(rows.iter().map(|r| r.requests).sum::<u64>(), served);
    assert!(
        rows.iter()
            .filter(|r| r.requests > 0)
            .all(|r| r.endpoints == Some(1))
    );
    assert_eq!(outcome.meta.totals.endpoints, Some(1));
}

#[test]
fn open_model_sends_exactly_the_planned_slots_each_second() {
    let _one = common::one_attack_at_a_time();
    let target = common::Target::start("pod-rate", None);
    let out = tempfile::tempdir().expect("tempdir");
    let log = out.path().join("requests.csv");
    let cfg = config(
        out.path(),
        &[
            "--host",
            &target.base,
            "--rate",
            "400:0s,400:4s",
            "--request-log",
            log.to_str().expect("utf-8"),
        ],
    );
    let outcome = scaleproof::run::execute(&cfg).expect("run");
    let t = &outcome.meta.totals;
    assert_eq!(t.dropped, 0);
    assert_eq!(
        t.requests, 1600,
        "every slot of the plan is sent exactly once"
    );
    assert_eq!(t.ok, 1600);
    assert_eq!(target.state.metrics().requests_total("/predict"), 1600);
    // Counted by due time (when the plan asked for each request, not when a loaded machine
    // let it complete): exactly 400 in each second.
    let mut due_per_second = std::collections::BTreeMap::<u64, u64>::new();
    let mut reader = csv::Reader::from_path(&log).expect("request log");
    for record in reader.records() {
        let record = record.expect("row");
        let due_us: u64 = record[0].parse().expect("due_us");
        *due_per_second.entry(due_us / 1_000_000).or_default() += 1;
    }
    assert_eq!(
        due_per_second.into_iter().collect::<Vec<_>>(),
        vec![(0, 400), (1, 400), (2, 400), (3, 400)]
    );
    let rows = rows(&outcome.dir);
    for row in rows.iter().filter(|r| r.t_s < 4) {
        assert_eq!(row.target_rps, Some(400.0), "second {}", row.t_s);
        // Users waited for their slots: the instrument's own lateness is measured each second.
        assert!(row.send_late_p99_us.is_some(), "second {}", row.t_s);
        assert!(row.send_late_p50_us <= row.send_late_p99_us);
        assert!(row.send_late_p99_us <= row.send_late_max_us);
    }
    assert!(t.send_late_max_us.is_some());
}

/// A test-only endpoint that serves one request at a time, 40 ms each: at most 25 rps.
fn slow_route() -> Router {
    let gate = Arc::new(tokio::sync::Mutex::new(()));
    Router::new().route(
        "/slow",
        post(move || {
            let gate = gate.clone();
            async move {
                let _held = gate.lock().await;
                tokio::time::sleep(Duration::from_millis(40)).await;
                "{}"
            }
        }),
    )
}

#[test]
fn a_slow_target_makes_corrected_latency_exceed_raw_and_drops_slots() {
    let _one = common::one_attack_at_a_time();
    let target = common::Target::start("pod-slow", Some(slow_route()));
    let dir = tempfile::tempdir().expect("tempdir");
    let scenario = post_scenario(dir.path(), "slow");
    let cfg = config(
        dir.path(),
        &[
            "--host",
            &target.base,
            "--scenario",
            &scenario,
            "--rate",
            "100:0s,100:3s",
            "--max-users",
            "2",
            "--max-lag",
            "300ms",
        ],
    );
    let outcome = scaleproof::run::execute(&cfg).expect("run");
    let t = &outcome.meta.totals;
    assert!(t.dropped > 100, "dropped {}", t.dropped);
    assert!(
        t.requests < 150,
        "the target caps throughput at 25 rps, got {}",
        t.requests
    );
    let (raw, corrected) = (
        t.p95_raw_us.expect("raw p95"),
        t.p95_corrected_us.expect("corrected p95"),
    );
    assert!(
        corrected > raw + 50_000,
        "corrected p95 {corrected} µs vs raw {raw} µs"
    );
    // Dropped slots enter the corrected percentiles at their lag when dropped, which is at
    // least --max-lag: with more than 1% of the slots dropped, the corrected p99 is too.
    assert!(
        t.dropped * 100 > t.requests + t.dropped,
        "dropped {} of {}",
        t.dropped,
        t.requests + t.dropped
    );
    let p99 = t.p99_corrected_us.expect("corrected p99");
    assert!(
        p99 >= 300_000,
        "corrected p99 {p99} µs below the 300 ms lag"
    );
    let rows = rows(&outcome.dir);
    assert_eq!(rows.iter().map(|r| r.dropped).sum::<u64>(), t.dropped);
    for row in rows.iter().filter(|r| r.requests > 0) {
        assert!(row.p95_corrected_us >= row.p95_raw_us, "{row:?}");
    }
    assert!(
        rows.iter().any(|r| r.users == 2),
        "the pool grows to its cap under overload"
    );
    // However generous the latency limit, a run that dropped this much cannot pass.
    let generous = scaleproof::spec::expectations::Expectations {
        p95_ms: Some(600_000.0),
        ..Default::default()
    };
    let verdict = scaleproof::report::render(&outcome.dir, Some(&generous))
        .expect("render")
        .summary
        .verdict;
    assert_eq!(
        verdict.state,
        scaleproof::verdict::State::Inconclusive,
        "{verdict:?}"
    );
    assert!(
        verdict.caveats.iter().any(|c| c.contains("dropped")),
        "{verdict:?}"
    );
}

#[test]
fn per_second_p95_is_within_one_percent_of_the_exact_value_from_the_request_log() {
    let _one = common::one_attack_at_a_time();
    let target = common::Target::start("pod-p95", None);
    let out = tempfile::tempdir().expect("tempdir");
    let log = out.path().join("requests.csv");
    let cfg = config(
        out.path(),
        &[
            "--host",
            &target.base,
            "--users",
            "16",
            "--hatch-rate",
            "16",
            "--run-time",
            "3s",
            "--request-log",
            log.to_str().expect("utf-8"),
        ],
    );
    let outcome = scaleproof::run::execute(&cfg).expect("run");
    let mut per_second: std::collections::BTreeMap<u64, Vec<u64>> = Default::default();
    let mut reader = csv::Reader::from_path(&log).expect("request log");
    for record in reader.records() {
        let record = record.expect("row");
        let done_us: u64 = record[2].parse().expect("done_us");
        let latency_us: u64 = record[3].parse().expect("latency_us");
        per_second
            .entry(done_us / 1_000_000)
            .or_default()
            .push(latency_us);
    }
    let rows = rows(&outcome.dir);
    let mut checked = 0;
    for row in rows.iter().filter(|r| r.requests >= 100) {
        let mut exact = per_second.remove(&row.t_s).expect("log has the second");
        assert_eq!(exact.len() as u64, row.requests, "second {}", row.t_s);
        exact.sort_unstable();
        let rank = ((0.95 * exact.len() as f64).ceil() as usize).max(1) - 1;
        let want = exact[rank] as f64;
        let got = row.p95_raw_us.expect("p95") as f64;
        assert!(
            (got - want).abs() / want <= 0.01,
            "second {}: recorder {got} µs, exact {want} µs",
            row.t_s
        );
        checked += 1;
    }
    assert!(checked >= 2, "too few busy seconds to compare");
}

#[test]
fn recycled_connections_spread_load_over_endpoints_behind_one_address() {
    // Two real target-services behind a tiny round-robin TCP proxy (a stand-in for a
    // Kubernetes Service, which balances per connection). Without recycling, users keep the
    // connections they opened; with it, they keep reaching both.
    let _one = common::one_attack_at_a_time();
    let a = common::Target::start("pod-a", None);
    let b = common::Target::start("pod-b", None);
    let proxy = common::RoundRobinProxy::start(&[&a.base, &b.base]);
    let out = tempfile::tempdir().expect("tempdir");
    let cfg = config(
        out.path(),
        &[
            "--host",
            &proxy.base,
            "--users",
            "1",
            "--hatch-rate",
            "1",
            "--run-time",
            "3s",
            "--recycle-connections",
            "400ms",
        ],
    );
    let outcome = scaleproof::run::execute(&cfg).expect("run");
    assert_eq!(outcome.meta.totals.endpoints, Some(2));
    let endpoints: Vec<timeline::EndpointRow> = timeline::RunDir::open(&outcome.dir)
        .read(&timeline::ENDPOINTS)
        .expect("endpoints.csv");
    for pod in ["pod-a", "pod-b"] {
        let served: u64 = endpoints
            .iter()
            .filter(|e| e.endpoint == pod)
            .map(|e| e.requests)
            .sum();
        assert!(served > 50, "{pod} served only {served}");
    }
    let out2 = tempfile::tempdir().expect("tempdir");
    let cfg = config(
        out2.path(),
        &[
            "--host",
            &proxy.base,
            "--users",
            "1",
            "--hatch-rate",
            "1",
            "--run-time",
            "2s",
            "--recycle-connections",
            "off",
        ],
    );
    let outcome = scaleproof::run::execute(&cfg).expect("run");
    assert_eq!(
        outcome.meta.totals.endpoints,
        Some(1),
        "one user, one kept connection, one pod"
    );
}

#[test]
fn responses_slower_than_the_timeout_are_counted_as_timeouts() {
    let _one = common::one_attack_at_a_time();
    let hang = Router::new().route(
        "/hang",
        post(|| async {
            tokio::time::sleep(Duration::from_secs(5)).await;
            "{}"
        }),
    );
    let target = common::Target::start("pod-hang", Some(hang));
    let dir = tempfile::tempdir().expect("tempdir");
    let scenario = post_scenario(dir.path(), "hang");
    let cfg = config(
        dir.path(),
        &[
            "--host",
            &target.base,
            "--scenario",
            &scenario,
            "--users",
            "2",
            "--hatch-rate",
            "2",
            "--run-time",
            "1s",
            "--timeout",
            "200ms",
        ],
    );
    let outcome = scaleproof::run::execute(&cfg).expect("run");
    let t = &outcome.meta.totals;
    assert!(t.requests >= 4, "{t:?}");
    assert_eq!(t.err_timeout, t.requests, "{t:?}");
    assert_eq!(t.ok, 0);
}
