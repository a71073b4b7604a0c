//! Shared runs on one machine: `scaleproof --worker I/N --start-at T` processes against the
//! real target-service on loopback, merged with `scaleproof merge`. The merge must be exact:
//! its requests are the workers' sum and the service's own count, its per-second percentiles
//! those of the union of the workers' request logs at HdrHistogram precision, and a worker
//! that never finished makes the verdict inconclusive.

use crate::common;

use hdrhistogram::Histogram;
use scaleproof::timeline::{self, RunMeta, TimelineRow};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A worker process: share `index` of `count` of `plan`, starting at `start_at`.
fn worker(base: &str, plan: &str, index: u32, count: u32, start_at: &str, dir: &Path) -> Child {
    std::fs::create_dir_all(dir).expect("worker folder");
    Command::new(env!("CARGO_BIN_EXE_scaleproof"))
        .args(["-q", "--threads", "1", "--host", base, "--rate", plan])
        .args([
            "--worker",
            &format!("{index}/{count}"),
            "--start-at",
            start_at,
        ])
        .arg("--out")
        .arg(dir.join("out"))
        .arg("--request-log")
        .arg(dir.join("requests.csv"))
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start a worker")
}

/// An agreed start a few seconds ahead: time for both processes to launch their users.
fn start_in(seconds: i64) -> String {
    (chrono::Utc::now() + chrono::Duration::seconds(seconds))
        .to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

fn finish(child: Child) {
    let out = child.wait_with_output().expect("worker ends");
    assert!(
        out.status.success(),
        "worker failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Each worker's folder under `work` (`w0`, `w1`): its request log and its `out/`.
fn worker_dirs(work: &Path) -> Vec<PathBuf> {
    (0..2).map(|i| work.join(format!("w{i}"))).collect()
}

/// Two workers of `plan` against `base`, worker `i` starting at `starts[i]`, run to the end;
/// returns their run directories.
fn two_workers(base: &str, plan: &str, starts: [&str; 2], dirs: &[PathBuf]) -> Vec<PathBuf> {
    let children: Vec<Child> = (0..2)
        .map(|i| worker(base, plan, i, 2, starts[i as usize], &dirs[i as usize]))
        .collect();
    children.into_iter().for_each(finish);
    dirs.iter()
        .map(|d| common::only_run_dir(&d.join("out")))
        .collect()
}

/// The `summary.json` of a run directory.
fn summary(dir: &Path) -> serde_json::Value {
    let text = std::fs::read_to_string(dir.join("summary.json")).expect("summary.json");
    serde_json::from_str(&text).expect("json")
}

/// `scaleproof merge`, its exit code and the merged run directory.
fn merge(dirs: &[PathBuf], out: &Path) -> (i32, PathBuf) {
    let status = Command::new(env!("CARGO_BIN_EXE_scaleproof"))
        .arg("merge")
        .args(dirs)
        .arg("--out")
        .arg(out)
        .stderr(Stdio::null())
        .status()
        .expect("merge");
    (status.code().expect("exit code"), common::only_run_dir(out))
}

#[test]
fn two_workers_merge_exactly_into_the_services_count_and_the_union_of_their_logs() {
    let _one = common::one_attack_at_a_time();
    let target = common::Target::start("pod-workers", None);
    let work = tempfile::tempdir().expect("tempdir");
    let at = start_in(3);
    let dirs = worker_dirs(work.path());
    let runs = two_workers(&target.base, "300:0s,300:3s", [&at, &at], &dirs);
    let metas: Vec<RunMeta> = runs
        .iter()
        .map(|d| timeline::RunDir::open(d).read_meta().expect("run.json"))
        .collect();
    // 900 slots, interleaved: 450 each.
    assert_eq!(
        metas.iter().map(|m| m.totals.requests).collect::<Vec<_>>(),
        vec![450, 450]
    );

    let (code, merged) = merge(&runs, &work.path().join("merged"));
    // The built-in scenario expects ≥ 1,000 ok rps: judged on the merged run (both shares),
    // which sustained 300.
    assert_eq!(code, 1, "the merged run fails its rps expectation");
    let summary = summary(&merged);
    let rps = summary["verdict"]["checks"]
        .as_array()
        .expect("checks")
        .iter()
        .find(|c| c["name"] == "rps")
        .expect("rps check");
    assert_eq!(rps["measured"], "300.0 ok rps", "{rps}");
    let meta = timeline::RunDir::open(&merged)
        .read_meta()
        .expect("merged run.json");
    assert_eq!(meta.totals.requests, 900);
    assert_eq!(meta.totals.ok, 900);
    assert_eq!(target.state.metrics().requests_total("/predict"), 900);
    assert_eq!(meta.end_reason, "completed");
    assert_eq!(meta.workers.len(), 2);
    assert!(meta.workers.iter().all(|w| w.problem.is_none()));
    let rows: Vec<TimelineRow> = timeline::RunDir::open(&merged)
        .read(&timeline::TIMELINE)
        .expect("merged timeline.csv");
    for row in rows.iter().filter(|r| r.t_s < 3) {
        assert_eq!(row.target_rps, Some(300.0), "second {}", row.t_s);
    }

    // The union of both request logs, second by second (each request in the second it
    // completed, as the recorder counts it), at the recorder's precision.
    let mut union: BTreeMap<u64, (Histogram<u64>, Histogram<u64>)> = BTreeMap::new();
    for dir in &dirs {
        let mut reader = csv::Reader::from_path(dir.join("requests.csv")).expect("log");
        for record in reader.records() {
            let record = record.expect("row");
            let done_us: u64 = record[2].parse().expect("done_us");
            let latency_us: u64 = record[3].parse().expect("latency_us");
            let corrected_us: u64 = record[4].parse().expect("corrected_us");
            let (raw, corrected) = union.entry(done_us / 1_000_000).or_insert_with(|| {
                (
                    Histogram::new(3).expect("histogram"),
                    Histogram::new(3).expect("histogram"),
                )
            });
            raw.record(latency_us).expect("record");
            corrected.record(corrected_us).expect("record");
        }
    }
    // The merged per-second log (written in pieces, one per core) holds every second once,
    // in order.
    let log = std::fs::read(merged.join(timeline::PER_SECOND_HLOG)).expect("merged log");
    let entries = scaleproof::load::hlog::read(&log).expect("the merged log reads back");
    let logged: Vec<u64> = entries
        .iter()
        .filter(|(_, tag, _)| tag == "raw")
        .map(|(start, _, _)| start.as_secs())
        .collect();
    assert_eq!(logged, rows.iter().map(|r| r.t_s).collect::<Vec<_>>());
    // Every second with requests is checked (a trailing partial second may have none).
    let answered: Vec<&TimelineRow> = rows.iter().filter(|r| r.requests > 0).collect();
    assert_eq!(union.len(), answered.len());
    for row in answered {
        let (raw, corrected) = &union[&row.t_s];
        assert_eq!(raw.len(), row.requests, "second {}", row.t_s);
        for (q, got_raw, got_corrected) in [
            (0.50, row.p50_raw_us, row.p50_corrected_us),
            (0.95, row.p95_raw_us, row.p95_corrected_us),
            (0.99, row.p99_raw_us, row.p99_corrected_us),
        ] {
            assert_eq!(
                got_raw,
                Some(raw.value_at_quantile(q)),
                "raw p{} of second {}",
                q * 100.0,
                row.t_s
            );
            assert_eq!(
                got_corrected,
                Some(corrected.value_at_quantile(q)),
                "corrected p{} of second {}",
                q * 100.0,
                row.t_s
            );
        }
    }
}

#[test]
fn a_worker_killed_mid_run_makes_the_merged_verdict_inconclusive() {
    let _one = common::one_attack_at_a_time();
    let target = common::Target::start("pod-killed", None);
    let work = tempfile::tempdir().expect("tempdir");
    let at = start_in(2);
    let plan = "200:0s,200:3s";
    let dirs = worker_dirs(work.path());
    let survivor = worker(&target.base, plan, 0, 2, &at, &dirs[0]);
    let mut killed = worker(&target.base, plan, 1, 2, &at, &dirs[1]);
    // Kill worker 1 once it has sent some of its share (its request log has lines).
    let log = dirs[1].join("requests.csv");
    let deadline = Instant::now() + Duration::from_secs(30);
    while std::fs::read_to_string(&log).map_or(0, |t| t.lines().count()) < 20 {
        assert!(Instant::now() < deadline, "worker 1 never sent");
        std::thread::sleep(Duration::from_millis(20));
    }
    killed.kill().expect("kill worker 1");
    let _ = killed.wait();
    finish(survivor);

    let runs = vec![common::only_run_dir(&dirs[0].join("out"))];
    let (code, merged) = merge(&runs, &work.path().join("merged"));
    assert_eq!(code, 4, "inconclusive: half the load is missing");
    let meta = timeline::RunDir::open(&merged)
        .read_meta()
        .expect("merged run.json");
    assert_eq!(meta.totals.requests, 300, "worker 0's share only");
    let missing = &meta.workers[1];
    assert_eq!(missing.index, 1);
    assert!(missing.dir.is_none());
    assert!(
        missing
            .problem
            .as_deref()
            .is_some_and(|p| p.contains("missing")),
        "{missing:?}"
    );
    assert!(
        meta.end_reason.starts_with("incomplete"),
        "{}",
        meta.end_reason
    );
    let summary = summary(&merged);
    assert_eq!(summary["verdict"]["state"], "inconclusive");
    assert!(
        summary["verdict"]["caveats"]
            .as_array()
            .expect("caveats")
            .iter()
            .any(|c| c.as_str().is_some_and(|c| c.contains("worker 1"))),
        "{}",
        summary["verdict"]
    );
}

#[test]
fn a_worker_whose_second_0_began_apart_is_flagged_and_the_verdict_inconclusive() {
    let _one = common::one_attack_at_a_time();
    let target = common::Target::start("pod-apart", None);
    let work = tempfile::tempdir().expect("tempdir");
    let plan = "100:0s,100:1s";
    let first = chrono::Utc::now() + chrono::Duration::seconds(2);
    // Worker 1 told a start 300 ms later: as a worker whose clock runs 300 ms behind would.
    let starts = [first, first + chrono::Duration::milliseconds(300)]
        .map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Millis, true));
    let dirs = worker_dirs(work.path());
    let runs = two_workers(&target.base, plan, [&starts[0], &starts[1]], &dirs);
    let (code, merged) = merge(&runs, &work.path().join("merged"));
    assert_eq!(code, 4, "inconclusive: the seconds do not line up");
    let meta = timeline::RunDir::open(&merged)
        .read_meta()
        .expect("merged run.json");
    assert_eq!(meta.totals.requests, 100, "both shares are there");
    let late = &meta.workers[1];
    let offset = late.start_offset_ms.expect("offset");
    assert!((offset - 300.0).abs() < 5.0, "offset {offset} ms");
    assert!(
        late.problem
            .as_deref()
            .is_some_and(|p| p.contains("after the earliest worker's")),
        "{late:?}"
    );
    assert!(meta.workers[0].problem.is_none());
}
