//! Local replicas end to end, on loopback: the binary with no --host starts replica processes
//! behind its balancer, scales them out and in with the HPA algorithm, drains the removed
//! ones without losing a request, and replaces a replica killed with SIGKILL.

use scaleproof::timeline::{self, EndpointRow, EventRow, RunDir, RunMeta, TimelineRow};
use std::collections::BTreeMap;
use std::io::BufRead;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

/// A shortened default story for a debug build: 300 rps puts one replica well above its 60%
/// CPU target, the autoscaler (2 s syncs) adds replicas, then the load falls to 60 rps and,
/// after a 2 s stabilisation window, replicas are removed and drained. Work factor 20: at 0 a
/// debug replica under a kernel limit spends ~0.2 ms of CPU a request, 58–65m at 300 rps —
/// within the HPA's 10% tolerance of the 60m target, so it never scaled (seen in CI).
const STORY: &str = r#"
name = "story"
[load]
rate = "300:3s,300:9s,60:1s,60:12s"
max_users = 128
[[request]]
name = "predict"
method = "POST"
path = "/predict"
corpus = "corpora/diabetes-instances.jsonl"
[local]
replicas = "1..3"
cpu_request = "100m"
cpu_limit = "150m"
hpa_target = "60%"
work_factor = 20
sync_period = "2s"
startup_delay = "1s"
[local.behavior.scaleDown]
stabilizationWindowSeconds = 2
"#;

fn scenario(dir: &Path, text: &str) -> PathBuf {
    let corpora = dir.join("corpora");
    std::fs::create_dir_all(&corpora).expect("corpora");
    std::fs::copy(
        concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/scenarios/corpora/diabetes-instances.jsonl"
        ),
        corpora.join("diabetes-instances.jsonl"),
    )
    .expect("copy corpus");
    let path = dir.join("story.toml");
    std::fs::write(&path, text).expect("write scenario");
    path
}

#[test]
fn local_replicas_scale_out_and_in_under_load_and_lose_no_request() {
    let _one = crate::common::one_local_run_at_a_time();
    let tmp = tempfile::tempdir().expect("tempdir");
    let path = scenario(tmp.path(), STORY);
    let out = tmp.path().join("runs");
    let child = Command::new(env!("CARGO_BIN_EXE_scaleproof"))
        .arg("--scenario")
        .arg(&path)
        .arg("--out")
        .arg(&out)
        .args(["--recycle-connections", "2s"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run");
    let pid = child.id();
    let o = child.wait_with_output().expect("run");
    let err = String::from_utf8_lossy(&o.stderr).into_owned();
    assert_eq!(o.status.code(), Some(0), "{err}");
    assert!(
        err.contains("LOCAL replicas, simulated on this machine (not a cluster)"),
        "{err}"
    );
    let dir = crate::common::only_run_dir(&out);
    let run = RunDir::open(&dir);
    let meta: RunMeta = run.read_meta().expect("run.json");
    let rows: Vec<TimelineRow> = run.read(&timeline::TIMELINE).expect("timeline");
    let cluster = meta.cluster.as_ref().expect("local record");
    assert_eq!(cluster.source, timeline::WorkloadSource::Local);
    assert_eq!(
        cluster.at_start.deploy_ready,
        Some(1),
        "starts with one replica"
    );
    let most = rows.iter().filter_map(|r| r.deploy_ready).max();
    assert!(most >= Some(2), "scaled out: {most:?}\n{err}");
    let lives = meta.local_replicas.clone().expect("replica lives");
    // Every replica that stayed ready for a whole recycle interval (2 s here: one of the 8
    // clients reopened every 250 ms) served traffic, its own count and the load's endpoint
    // table agreeing: each recycle step opens a connection and the balancer deals new
    // connections round robin, as kube-proxy does.
    let recycle = meta.recycle_connections_s.expect("recycling on");
    assert_eq!(recycle, 2.0);
    let endpoints: Vec<EndpointRow> = run.read(&timeline::ENDPOINTS).expect("endpoints");
    let mut by_endpoint: BTreeMap<String, u64> = BTreeMap::new();
    for e in &endpoints {
        *by_endpoint.entry(e.endpoint.clone()).or_default() += e.requests;
    }
    let ready_for_an_interval = |l: &&timeline::ReplicaLife| {
        l.ready_s
            .is_some_and(|ready| l.stopping_s.unwrap_or(meta.duration_s) - ready >= recycle)
    };
    let long_lived: Vec<_> = lives.iter().filter(ready_for_an_interval).collect();
    assert!(long_lived.len() >= 2, "{lives:?}");
    for life in long_lived {
        assert!(
            by_endpoint.get(&life.name).copied().unwrap_or(0) > 0,
            "{} never served: {by_endpoint:?}\n{life:?}\nrun {:.1} s\n{err}",
            life.name,
            meta.duration_s
        );
        assert!(life.served_predict.is_some_and(|n| n > 0), "{life:?}");
    }
    // Scale-in drained the removed replicas: none failed a request, none was lost.
    let drained: Vec<_> = lives.iter().filter(|l| l.stopping_s.is_some()).collect();
    assert!(!drained.is_empty(), "no scale-in: {lives:?}\n{err}");
    assert!(drained.iter().all(|l| l.exit == "drained"), "{lives:?}");
    let t = &meta.totals;
    assert_eq!(t.errors, 0, "{err}");
    let served: u64 = lives.iter().map(|l| l.served_predict.unwrap_or(0)).sum();
    // Requests abandoned in flight when the run stopped may have been answered, uncounted.
    assert!(
        (t.requests..=t.requests + t.cancelled).contains(&served),
        "load counted {} (+{} cancelled), replicas served {served}",
        t.requests,
        t.cancelled
    );
    let events: Vec<EventRow> = run.read(&timeline::EVENTS).expect("events");
    assert!(
        events
            .iter()
            .any(|e| e.reason == "SuccessfulRescale" && e.message.contains("above target"))
    );
    assert!(
        events
            .iter()
            .any(|e| e.reason == "ScalingReplicaSet" && e.message.contains("Scaled down"))
    );
    let html = std::fs::read_to_string(dir.join("report.html")).expect("report");
    assert!(
        html.contains("simulated on this machine"),
        "report says local"
    );
    // How the CPU limit was held is said and kept; the run's cgroups are gone with it.
    let held = cluster.cpu_limit.as_deref().expect("cpu_limit recorded");
    assert!(err.contains(&format!("LOCAL CPU limit {held}")), "{err}");
    if std::env::var_os("SCALEPROOF_REQUIRE_CGROUP").is_some() {
        assert!(
            held.starts_with("enforced by the kernel: cgroup v"),
            "{held}"
        );
    } else {
        assert!(
            held.starts_with("enforced by the kernel: cgroup v")
                || held.starts_with("not enforced"),
            "{held}"
        );
    }
    assert!(
        html.contains(&format!(
            "<th>CPU limit held</th><td>{}</td>",
            held.replace(':', "&#58;")
        )),
        "report.html says how the limit was held"
    );
    for hierarchy in ["cpu", "cpuacct", ""] {
        let folder = Path::new("/sys/fs/cgroup")
            .join(hierarchy)
            .join(format!("scaleproof-{pid}"));
        assert!(!folder.exists(), "{folder:?} left behind");
    }
}

/// Every process now: its PID, its parent's, and its command line.
fn processes() -> Vec<(u32, Option<u32>, String)> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir("/proc").expect("proc").flatten() {
        let Ok(pid) = entry.file_name().to_string_lossy().parse::<u32>() else {
            continue;
        };
        let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
            continue;
        };
        let ppid = stat
            .rsplit_once(')')
            .and_then(|(_, rest)| rest.split_whitespace().nth(1))
            .and_then(|p| p.parse::<u32>().ok());
        let cmdline = std::fs::read(format!("/proc/{pid}/cmdline")).unwrap_or_default();
        out.push((pid, ppid, String::from_utf8_lossy(&cmdline).into_owned()));
    }
    out
}

/// Replica processes started by the scaleproof process `parent`.
fn replicas_of(parent: u32) -> Vec<u32> {
    processes()
        .into_iter()
        .filter(|(_, ppid, cmdline)| *ppid == Some(parent) && cmdline.contains("replica"))
        .map(|(pid, ..)| pid)
        .collect()
}

#[test]
fn a_replica_killed_mid_run_is_counted_by_kind_and_replaced() {
    let _one = crate::common::one_local_run_at_a_time();
    let tmp = tempfile::tempdir().expect("tempdir");
    let path = scenario(tmp.path(), STORY);
    let out = tmp.path().join("runs");
    let mut child = Command::new(env!("CARGO_BIN_EXE_scaleproof"))
        .arg("--scenario")
        .arg(&path)
        .args(["--rate", "100:0s,100:8s", "--replicas", "2", "--out"])
        .arg(&out)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn");
    let parent = child.id();
    // Wait (by reading progress, not by sleeping) until the load has run for 2 s.
    let stderr = std::io::BufReader::new(child.stderr.take().expect("stderr"));
    let (tx, rx) = std::sync::mpsc::channel::<String>();
    std::thread::spawn(move || {
        for line in stderr.lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    let mut seen = Vec::new();
    loop {
        let line = rx
            .recv_timeout(Duration::from_secs(60))
            .unwrap_or_else(|_| panic!("no progress: {seen:?}"));
        let going = line.starts_with("[   2s/");
        seen.push(line);
        if going {
            break;
        }
    }
    let victims = replicas_of(parent);
    assert_eq!(victims.len(), 2, "two replicas: {victims:?}");
    let victim = victims[0];
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(i32::try_from(victim).expect("pid")),
        nix::sys::signal::Signal::SIGKILL,
    )
    .expect("kill");
    let status = child.wait().expect("wait");
    seen.extend(rx.try_iter());
    let err = seen.join("\n");
    assert!(matches!(status.code(), Some(0 | 1)), "{err}");
    let dir = crate::common::only_run_dir(&out);
    let run = RunDir::open(&dir);
    let meta = run.read_meta().expect("run.json");
    let lives = meta.local_replicas.expect("lives");
    // The killed replica was restarted in place, as a pod's container: same name, its
    // restart counted, how it ended kept, ready again.
    assert_eq!(lives.len(), 2, "no new replica: {lives:?}");
    let killed: Vec<_> = lives.iter().filter(|l| l.restarts == 1).collect();
    assert_eq!(killed.len(), 1, "{lives:?}");
    assert_eq!(killed[0].last_exit.as_deref(), Some("killed (signal 9)"));
    let pods: Vec<timeline::PodRow> = run.read(&timeline::PODS).expect("pods");
    let row = pods.iter().find(|p| p.pod == killed[0].name).expect("row");
    assert_eq!(row.restarts, Some(1));
    let events: Vec<EventRow> = run.read(&timeline::EVENTS).expect("events");
    let object = format!("Pod/{}", killed[0].name);
    let at = |reason: &str| {
        events
            .iter()
            .find(|e| e.reason == reason && e.object == object)
            .map(|e| e.t_s)
    };
    let (crashed, restarted) = (at("BackOff").expect("BackOff"), at("Started"));
    // Restarted after its back-off (1 s), not at once.
    assert!(restarted.is_some_and(|t| t - crashed >= 0.99), "{events:?}");
    // It served again under its name after the restart.
    let endpoints: Vec<EndpointRow> = run.read(&timeline::ENDPOINTS).expect("endpoints");
    assert!(
        endpoints.iter().any(|e| e.endpoint == killed[0].name
            && e.t_s as f64 > crashed + 1.5
            && e.requests > e.errors),
        "{endpoints:?}"
    );
    assert!(err.contains("ended unexpectedly"), "{err}");
    // What failed is counted by kind, and the catalogue names it.
    let t = &meta.totals;
    let by_kind =
        t.err_connect + t.err_timeout + t.err_4xx + t.err_5xx + t.err_backpressure + t.err_other;
    assert_eq!(by_kind, t.errors);
    let catalogue = run.read(&timeline::ERRORS).expect("errors.csv");
    assert_eq!(catalogue.iter().map(|r| r.count).sum::<u64>(), t.errors);
    assert!(dir.join("report.html").is_file());
}

/// Processes still alive whose command line names the calibration's probe replica.
fn probe_replicas() -> Vec<u32> {
    processes()
        .into_iter()
        .filter(|(_, _, cmdline)| cmdline.contains("target-service-calibration"))
        .map(|(pid, ..)| pid)
        .collect()
}

#[test]
fn the_work_per_request_is_calibrated_from_probes_of_one_replica_before_the_load() {
    let _one = crate::common::one_local_run_at_a_time();
    let tmp = tempfile::tempdir().expect("tempdir");
    // One replica at 400m is to serve 50% of a 400 rps peak: 2 ms of CPU per request.
    let path = scenario(
        tmp.path(),
        &STORY
            .replace("work_factor = 20", "saturate_at = \"50%\"")
            .replace("cpu_limit = \"150m\"", "cpu_limit = \"400m\""),
    );
    let out = tmp.path().join("runs");
    let o = Command::new(env!("CARGO_BIN_EXE_scaleproof"))
        .arg("--scenario")
        .arg(&path)
        .args(["--rate", "400:0s,100:2s", "--replicas", "1", "--out"])
        .arg(&out)
        // Without cgroups: the probes then run under the replica's own limiter, as the
        // replicas will, and the run says the limit was not the kernel's.
        .env("SCALEPROOF_CGROUP", "off")
        .output()
        .expect("run");
    let err = String::from_utf8_lossy(&o.stderr).into_owned();
    assert_eq!(o.status.code(), Some(0), "{err}");
    assert!(
        err.contains("calibrating the local replicas to this machine: one replica at its 400m CPU limit is to serve 50% of the 400 rps peak (2.000 ms of CPU per request)"),
        "{err}"
    );
    let dir = crate::common::only_run_dir(&out);
    let meta: RunMeta = RunDir::open(&dir).read_meta().expect("run.json");
    let cluster = meta.cluster.as_ref().expect("local record");
    let c = cluster.calibration.as_ref().expect("calibrated");
    assert_eq!((c.saturate_at_pct, c.peak_rps), (50.0, 400.0));
    assert_eq!(c.target_cpu_ms_per_request, 2.0);
    // A probe with no extra work first; every probe measured the same number of requests
    // (0.3 s of CPU at the target: 150, raised to the floor of 200).
    assert_eq!(c.probes[0].work_factor, 0);
    assert!(c.probes.iter().all(|p| p.requests == 200), "{c:?}");
    assert!((2..=4).contains(&c.probes.len()), "{c:?}");
    // The chosen work factor is the probe nearest the target, and what it was measured at
    // is what the record says one replica serves.
    let miss = |ms: f64| (ms - 2.0).abs();
    let nearest = c
        .probes
        .iter()
        .min_by(|a, b| miss(a.cpu_ms_per_request).total_cmp(&miss(b.cpu_ms_per_request)))
        .expect("probes");
    assert_eq!(c.work_factor, nearest.work_factor);
    assert_eq!(c.cpu_ms_per_request, nearest.cpu_ms_per_request);
    assert_eq!(
        c.replica_rps,
        (400.0 / c.cpu_ms_per_request * 10.0).round() / 10.0
    );
    // Within 10% of the target, or said why not.
    assert_eq!(
        c.shortfall.is_none(),
        miss(c.cpu_ms_per_request) <= 0.2,
        "{c:?}"
    );
    // Extra work costs CPU: every probe with some costs more than the one without.
    assert!(
        c.probes[1..]
            .iter()
            .all(|p| p.work_factor > 0 && p.cpu_ms_per_request > c.probes[0].cpu_ms_per_request),
        "{c:?}"
    );
    // The replicas ran at the calibrated work factor, and it was said before the load.
    assert_eq!(
        cluster.containers[0].image,
        format!(
            "scaleproof replica (local process, work factor {})",
            c.work_factor
        )
    );
    let said = err.find("scaleproof: calibrated in").expect("said");
    let load = err.find("[   1s/").expect("progress");
    assert!(said < load, "{err}");
    assert!(
        err.contains(&format!("work factor {} (", c.work_factor)),
        "{err}"
    );
    // No probe replica outlives its probe.
    assert_eq!(probe_replicas(), Vec::<u32>::new());
    // The limit the kernel did not hold is said: in the record, as a warning, in the report.
    let held = "not enforced by the kernel: turned off (SCALEPROOF_CGROUP=off); each bundled replica holds itself to it (a cooperative limiter in the process)";
    assert_eq!(cluster.cpu_limit.as_deref(), Some(held));
    assert!(
        meta.warnings.contains(&format!("LOCAL CPU limit {held}")),
        "{:?}",
        meta.warnings
    );
    let html = std::fs::read_to_string(dir.join("report.html")).expect("report");
    // (report.html writes ':' as &#58;.)
    assert!(html.contains(&format!(
        "<th>CPU limit held</th><td>{}</td>",
        held.replace(':', "&#58;")
    )));
    assert!(html.contains(&format!(
        "calibrated before the load&#58; work factor {} (",
        c.work_factor
    )));
}

/// A process that spins until killed.
fn spinner() -> std::process::Child {
    Command::new("sh")
        .args(["-c", "while :; do :; done"])
        .spawn()
        .expect("sh")
}

#[test]
fn a_replica_cgroup_holds_its_quota_counts_its_usage_and_is_removed() {
    use scaleproof::local::cgroup::{Limiter, PERIOD_US};
    let limiter = Limiter::detect();
    let required = std::env::var_os("SCALEPROOF_REQUIRE_CGROUP").is_some();
    let Limiter::Unavailable(why) = &limiter else {
        let cgroup = limiter.create("replica-test", 250).expect("create");
        // 250m: 25 ms of every 100 ms period, as the kubelet writes it.
        assert_eq!(cgroup.limit(), Some((25_000, PERIOD_US)));
        assert_eq!(cgroup.usage(), Some(Duration::ZERO));
        let mut spin = spinner();
        cgroup.add(spin.id()).expect("join the cgroup");
        for f in cgroup.procs_files() {
            let procs = std::fs::read_to_string(&f).expect("cgroup.procs");
            assert!(
                procs.lines().any(|p| p == spin.id().to_string()),
                "{f:?}: {procs}"
            );
        }
        crate::common::wait_until("usage counted", Duration::from_secs(10), || {
            cgroup
                .usage()
                .is_some_and(|u| u > Duration::from_millis(50))
        });
        let _ = spin.kill();
        let _ = spin.wait();
        cgroup.remove();
        limiter.remove();
        for f in cgroup.procs_files() {
            assert!(!f.exists(), "{f:?} left behind");
        }
        assert!(
            limiter
                .describe()
                .starts_with("enforced by the kernel: cgroup v")
        );
        return;
    };
    assert!(!required, "SCALEPROOF_REQUIRE_CGROUP is set but: {why}");
    assert!(limiter.describe().contains(why.as_str()));
    eprintln!("no cgroup on this machine, checked the reason only: {why}");
}

/// The standard-library Python app of `tests/apps/cpu_app.py` as local replicas.
const PY_STORY: &str = r#"
name = "python-app"
[load]
rate = "150:2s,150:8s,20:1s,20:8s"
max_users = 64
[[request]]
name = "predict"
method = "POST"
path = "/predict"
corpus = "corpora/diabetes-instances.jsonl"
[local]
replicas = "1..3"
cpu_request = "100m"
cpu_limit = "200m"
hpa_target = "60%"
sync_period = "2s"
[local.behavior.scaleDown]
stabilizationWindowSeconds = 2
"#;

fn app() -> String {
    format!(
        "python3 {}/tests/apps/cpu_app.py {{port}}",
        env!("CARGO_MANIFEST_DIR")
    )
}

#[test]
fn a_python_app_as_replicas_scales_out_under_its_cpu_limit_and_logs_to_the_run_directory() {
    let _one = crate::common::one_local_run_at_a_time();
    let tmp = tempfile::tempdir().expect("tempdir");
    let path = scenario(tmp.path(), PY_STORY);
    let out = tmp.path().join("runs");
    let o = Command::new(env!("CARGO_BIN_EXE_scaleproof"))
        .arg("--scenario")
        .arg(&path)
        .args(["--replica-cmd", &app(), "--ready-path", "/health"])
        .args([
            "--replica-env",
            "WORK_MS=3",
            "--recycle-connections",
            "2s",
            "--out",
        ])
        .arg(&out)
        .output()
        .expect("run");
    let err = String::from_utf8_lossy(&o.stderr).into_owned();
    assert_eq!(o.status.code(), Some(0), "{err}");
    let dir = crate::common::only_run_dir(&out);
    let run = RunDir::open(&dir);
    let meta: RunMeta = run.read_meta().expect("run.json");
    let rows: Vec<TimelineRow> = run.read(&timeline::TIMELINE).expect("timeline");
    let cluster = meta.cluster.as_ref().expect("local record");
    // The command is recorded, and how its CPU limit was held.
    assert_eq!(
        cluster.containers[0].image,
        format!("your command (local processes): {}", app())
    );
    let held = cluster.cpu_limit.as_deref().expect("cpu_limit");
    if std::env::var_os("SCALEPROOF_REQUIRE_CGROUP").is_some() {
        assert!(held.starts_with("enforced by the kernel"), "{held}");
    }
    // 150 rps at ~3 ms each needs ~450m: one replica at 200m cannot, so it scales out.
    assert_eq!(cluster.at_start.deploy_ready, Some(1));
    let most = rows.iter().filter_map(|r| r.deploy_ready).max();
    assert!(most >= Some(2), "scaled out: {most:?}\n{err}");
    assert_eq!(meta.totals.errors, 0, "{err}");
    assert_eq!(
        meta.totals.requests + meta.totals.dropped + meta.totals.cancelled,
        1_595
    );
    // Each replica answered as itself (POD_NAME), and wrote its log into the run directory.
    let endpoints: Vec<EndpointRow> = run.read(&timeline::ENDPOINTS).expect("endpoints");
    let lives = meta.local_replicas.clone().expect("lives");
    for life in lives.iter().filter(|l| l.ready_s.is_some()) {
        let log = dir.join("replicas").join(format!("{}.log", life.name));
        let text = std::fs::read_to_string(&log).expect("replica log");
        assert!(
            text.contains(&format!("{} listening on 127.0.0.1:", life.name)),
            "{text}"
        );
        assert!(
            endpoints.iter().any(|e| e.endpoint == life.name),
            "{endpoints:?}"
        );
        // Its CPU, read from its cgroup (or process group), never above the limit by more
        // than one sync period's rounding.
        assert!(life.cpu_max_m.is_some_and(|m| m <= 220.0), "{life:?}");
    }
    // Scaled in when the load fell: the app exits at once on SIGTERM (it ignores draining),
    // and no request failed, because it was signalled only once its connections had closed.
    let stopped: Vec<_> = lives.iter().filter(|l| l.stopping_s.is_some()).collect();
    assert!(!stopped.is_empty(), "no scale-in: {lives:?}\n{err}");
    assert!(
        stopped.iter().all(|l| l.exit == "killed (signal 15)"),
        "{lives:?}"
    );
    // Its output went to the log, never to the terminal.
    assert!(!err.contains("listening on 127.0.0.1"), "{err}");
}

#[test]
fn a_replica_command_that_exits_at_once_is_named_with_its_probe_and_recorded() {
    let _one = crate::common::one_local_run_at_a_time();
    let tmp = tempfile::tempdir().expect("tempdir");
    let path = scenario(tmp.path(), PY_STORY);
    let o = Command::new(env!("CARGO_BIN_EXE_scaleproof"))
        .arg("--scenario")
        .arg(&path)
        .args([
            "--replica-cmd",
            "echo starting {port}; exit 7",
            "--ready-path",
            "/health",
        ])
        .arg("--out")
        .arg(tmp.path().join("runs"))
        .output()
        .expect("run");
    let err = String::from_utf8_lossy(&o.stderr).into_owned();
    assert_eq!(o.status.code(), Some(3), "{err}");
    assert!(
        err.contains("no local replica became ready: replica target-service-local-1 exited before it was ready (exit status: 7): `echo starting "),
        "{err}"
    );
    assert!(
        err.contains("exit 7` (readiness: GET http://127.0.0.1:"),
        "{err}"
    );
    assert!(err.contains("/health, last: "), "{err}");
    // What it printed is in the message, and in the run directory's replica log.
    assert!(err.contains("its last output: starting "), "{err}");
    let dir = crate::common::only_run_dir(&tmp.path().join("runs"));
    assert!(
        err.contains(&format!("its run directory: {}", dir.display())),
        "{err}"
    );
    let log = std::fs::read_to_string(dir.join("replicas/target-service-local-1.log"));
    assert!(log.expect("log").starts_with("starting "));
    let meta = RunDir::open(&dir).read_meta().expect("run.json");
    assert!(
        meta.end_reason.starts_with(
            "failed: no local replica became ready: replica target-service-local-1 exited before it was ready (exit status: 7)"
        ),
        "{}",
        meta.end_reason
    );
    assert_eq!(meta.totals.requests, 0);
    assert!(dir.join("report.html").is_file());
}

#[test]
fn a_replica_command_that_never_becomes_ready_is_given_up_and_the_run_still_recorded() {
    let _one = crate::common::one_local_run_at_a_time();
    let tmp = tempfile::tempdir().expect("tempdir");
    let path = scenario(tmp.path(), PY_STORY);
    let out = tmp.path().join("runs");
    let o = Command::new(env!("CARGO_BIN_EXE_scaleproof"))
        .arg("--scenario")
        .arg(&path)
        .args(["--replica-cmd", "echo up on {port}; exec sleep 60"])
        .args(["--ready-path", "/health", "--replica-start-timeout", "2s"])
        .arg("--out")
        .arg(&out)
        .output()
        .expect("run");
    let err = String::from_utf8_lossy(&o.stderr).into_owned();
    assert_eq!(o.status.code(), Some(3), "{err}");
    // The message names the command, the probe and what the probe last found.
    assert!(
        err.contains("no local replica became ready: replica target-service-local-1 did not become ready within 2s: `echo up on "),
        "{err}"
    );
    assert!(err.contains("; exec sleep 60` (readiness: GET http://127.0.0.1:"));
    assert!(err.contains("/health, last: Connection refused"), "{err}");
    let dir = crate::common::only_run_dir(&out);
    let run = RunDir::open(&dir);
    let meta = run.read_meta().expect("run.json");
    assert!(meta.end_reason.contains("did not become ready within 2s"));
    let lives = meta.local_replicas.expect("lives");
    assert_eq!(lives.len(), 1, "{lives:?}");
    assert_eq!(
        (lives[0].ready_s, lives[0].exit.as_str()),
        (None, "killed (signal 9)")
    );
    let pods: Vec<timeline::PodRow> = run.read(&timeline::PODS).expect("pods");
    assert_eq!(pods.len(), 1);
    let log = std::fs::read_to_string(dir.join("replicas/target-service-local-1.log"));
    assert!(log.expect("log").starts_with("up on "));
    // No sleep of it outlives the run.
    assert!(
        processes().iter().all(|(_, _, c)| c != "sleep 60"),
        "{:?}",
        processes()
    );
}

/// One replica of the stdlib app (ready on /health) under 40 rps for 8 s, with `extra` flags:
/// its stderr, run directory and run.json.
fn one_app_replica(tmp: &Path, extra: &[&str]) -> (String, RunDir, RunMeta) {
    let story = PY_STORY.replace(
        "rate = \"150:2s,150:8s,20:1s,20:8s\"",
        "rate = \"40:0s,40:8s\"",
    );
    let out = tmp.join("runs");
    let o = Command::new(env!("CARGO_BIN_EXE_scaleproof"))
        .arg("--scenario")
        .arg(scenario(tmp, &story))
        .args([
            "--replica-cmd",
            &app(),
            "--ready-path",
            "/health",
            "--replicas",
            "1",
        ])
        .args(extra)
        .arg("--out")
        .arg(&out)
        .output()
        .expect("run");
    let run = RunDir::open(crate::common::only_run_dir(&out));
    let meta = run.read_meta().expect("run.json");
    (String::from_utf8_lossy(&o.stderr).into_owned(), run, meta)
}

#[test]
fn a_replica_command_that_fails_its_liveness_probe_is_restarted_in_place() {
    let _one = crate::common::one_local_run_at_a_time();
    let tmp = tempfile::tempdir().expect("tempdir");
    let (err, run, meta) = one_app_replica(
        tmp.path(),
        &[
            "--liveness-path",
            "/health",
            "--replica-env",
            "SICK_AFTER=80",
        ],
    );
    let lives = meta.local_replicas.clone().expect("lives");
    assert_eq!(lives.len(), 1, "restarted in place: {lives:?}");
    let life = &lives[0];
    assert!(life.restarts >= 1, "{life:?}\n{err}");
    assert_eq!(
        life.last_exit.as_deref(),
        Some("liveness probe failed; killed (signal 15)"),
        "{life:?}"
    );
    let events: Vec<EventRow> = run.read(&timeline::EVENTS).expect("events");
    let count = |reason: &str| events.iter().filter(|e| e.reason == reason).count() as u32;
    // Every restart was for a failed liveness probe, three failures in a row each.
    assert_eq!(count("Unhealthy"), life.restarts, "{events:?}");
    assert_eq!(count("Started"), life.restarts, "{events:?}");
    let unhealthy = events
        .iter()
        .find(|e| e.reason == "Unhealthy")
        .expect("one");
    assert!(
        unhealthy
            .message
            .contains("/health failed 3 times in a row, last: HTTP 500"),
        "{}",
        unhealthy.message
    );
    let pods: Vec<timeline::PodRow> = run.read(&timeline::PODS).expect("pods");
    assert_eq!(pods[0].restarts, Some(u64::from(life.restarts)));
    assert!(err.contains("failed its liveness probe") || err.contains("liveness probe"));
}

#[test]
fn a_bad_port_template_is_refused_before_anything_starts() {
    for (cmd, says) in [
        ("python3 app.py {prot}", "unknown placeholder {prot}"),
        ("python3 app.py {PORT}", "unknown placeholder {PORT}"),
        ("python3 app.py --port {port", "unclosed {port"),
    ] {
        let o = Command::new(env!("CARGO_BIN_EXE_scaleproof"))
            .args(["--replica-cmd", cmd, "--out", "/nonexistent/never-written"])
            .output()
            .expect("run");
        let err = String::from_utf8_lossy(&o.stderr).into_owned();
        assert_eq!(o.status.code(), Some(2), "{cmd}: {err}");
        assert!(
            err.contains("--replica-cmd") && err.contains(says),
            "{cmd}: {err}"
        );
    }
    // ${VAR} and brace expansions are the shell's, left alone.
    let cfg = scaleproof::scenario::check_port_template("cd ${HOME} && run {a,b} {port}");
    assert_eq!(cfg, Ok(()));
}

#[test]
fn a_crashing_replica_command_is_replaced_after_a_back_off_and_the_service_serves_again() {
    let _one = crate::common::one_local_run_at_a_time();
    let tmp = tempfile::tempdir().expect("tempdir");
    let (err, run, meta) = one_app_replica(tmp.path(), &["--replica-env", "CRASH_AFTER=120"]);
    let lives = meta.local_replicas.clone().expect("lives");
    // The replica served its 120 and exited with status 3; it was restarted in place
    // (the same name, its restarts counted), once per crash.
    assert_eq!(lives.len(), 1, "restarted in place: {lives:?}");
    assert_eq!(
        lives[0].last_exit.as_deref(),
        Some("exit status: 3"),
        "{lives:?}"
    );
    assert!(lives[0].restarts >= 1, "{lives:?}");
    assert!(
        err.contains("replica target-service-local-1 ended unexpectedly: exit status: 3"),
        "{err}"
    );
    let events: Vec<EventRow> = run.read(&timeline::EVENTS).expect("events");
    let of = |reason: &str| -> Vec<f64> {
        events
            .iter()
            .filter(|e| e.reason == reason && e.object == "Pod/target-service-local-1")
            .map(|e| e.t_s)
            .collect()
    };
    let (backoffs, starts) = (of("BackOff"), of("Started"));
    assert_eq!(starts.len() as u32, lives[0].restarts, "{events:?}");
    // …after the back-off (1 s, then 2 s), not at once.
    for (i, (crash, start)) in backoffs.iter().zip(&starts).enumerate() {
        let wait = f64::from(1u32 << i);
        assert!(start - crash >= wait - 0.01, "{events:?}");
    }
    let crashed = backoffs[0];
    // The replacement served: requests succeeded after the crash.
    let rows: Vec<TimelineRow> = run.read(&timeline::TIMELINE).expect("timeline");
    let served_after = rows
        .iter()
        .filter(|r| r.t_s as f64 > crashed + 2.0)
        .map(|r| r.ok)
        .sum::<u64>();
    assert!(served_after > 0, "{rows:?}");
    let endpoints: Vec<EndpointRow> = run.read(&timeline::ENDPOINTS).expect("endpoints");
    assert!(endpoints.iter().any(|e| e.endpoint == lives[0].name
        && e.t_s as f64 > crashed + 1.0
        && e.requests > e.errors));
    // What failed while no replica was ready is counted, never lost.
    let t = &meta.totals;
    assert_eq!(t.requests + t.dropped + t.cancelled, 320, "{t:?}");
}
