#!/usr/bin/env python3
"""Benchmark: what watching a cluster costs the load, and how late the watcher sees changes.

scaleproof (release build, pinned to core 0, with the target-service on the same
core) runs a fixed open-model load three times: without a cluster, then with --deployment
against the fake API server (the test double under tests/, pinned to core 1) while it changes
one pod's readiness 20 times per second (a busy scale-out) and 500 times per second (stress),
the 500/s run twice: pods only, and with the Service's EndpointSlice (all 100 pods) rewritten
on every update too — the watcher follows EndpointSlices for pods.csv's in_service_s.
Reported per run: achieved rps, corrected p99, dropped slots, the whole process's CPU, the
watcher thread's CPU, and how long after each write the watcher recorded it (cluster.csv time
vs the fake's write time; both on this machine's clock, at millisecond resolution). The run
without a cluster is made first and again last, to show the run-to-run noise.

Loopback only; each run is bounded (RATE for SECONDS). Usage: python3 bench/watcher.py
"""

import csv
import json
import os
import subprocess
import tempfile
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

from common import ROOT, cargo_build, cpu_seconds, free_port, machine, start, stop, wait_port, write_results

RATE = 2000
SECONDS = 20
PODS = 100
# (updates/s, EndpointSlice rewritten with each update). The run without a cluster comes first
# and last, to show the run-to-run noise.
CHURNS = [(None, False), (20, True), (500, False), (500, True), (None, False)]
TARGET = Path(os.environ.get("CARGO_TARGET_DIR", ROOT / "target"))


def thread_cpu(pid, prefix="scaleproof-clus"):
    """CPU seconds of the first thread of `pid` whose name starts with `prefix`, or None."""
    ticks = os.sysconf("SC_CLK_TCK")
    for task in Path(f"/proc/{pid}/task").iterdir():
        try:
            if (task / "comm").read_text().strip().startswith(prefix):
                fields = (task / "stat").read_text().rsplit(")", 1)[1].split()
                return (int(fields[11]) + int(fields[12])) / ticks
        except OSError:
            continue
    return None


def parse_time(text):
    """RFC 3339 with up to nanoseconds and a Z, as run.json writes it."""
    text = text.rstrip("Z")
    if "." in text:
        head, frac = text.split(".")
        text = f"{head}.{frac[:6]:0<6}"
    return datetime.fromisoformat(text).replace(tzinfo=timezone.utc)


def lag_ms(run_dir, applied_csv):
    """Milliseconds from each write of the fake to the watcher recording it."""
    meta = json.loads((run_dir / "run.json").read_text())
    start = parse_time(meta["started_at"])
    with open(run_dir / "cluster.csv") as f:
        seen = [(start + timedelta(seconds=float(r["t_s"])), r["value"])
                for r in csv.DictReader(f) if r["column"] == "pods_ready" and float(r["t_s"]) > 0]
    with open(applied_csv) as f:
        applied = [(datetime.fromtimestamp(int(r["unix_ms"]) / 1000, timezone.utc), r["pods_ready"])
                   for r in csv.DictReader(f)]
    lags, j = [], 0
    for at, value in applied:
        while j < len(seen) and (seen[j][1] != value or seen[j][0] < at - timedelta(milliseconds=5)):
            j += 1
        if j == len(seen):
            break
        lags.append((seen[j][0] - at).total_seconds() * 1000)
        j += 1
    return lags, len(applied)


def pct(values, q):
    if not values:
        return None
    s = sorted(values)
    return s[min(len(s) - 1, int(q * len(s)))]


def run(churn, slices):
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        out = tmp / "reports"
        fake = None
        args = []
        if churn is not None:
            env = {**os.environ, "SCALEPROOF_BENCH_DIR": str(tmp), "SCALEPROOF_BENCH_PODS": str(PODS),
                   "SCALEPROOF_BENCH_CHURN": str(churn), "SCALEPROOF_BENCH_SECONDS": str(SECONDS - 4),
                   "SCALEPROOF_BENCH_SLICES": "1" if slices else "0"}
            fake = subprocess.Popen(
                ["taskset", "-c", "1", str(TARGET / "optimized" / "examples" / "watcher_bench")],
                cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            deadline = time.time() + 120
            while not (tmp / "kubeconfig.ready").exists():
                if time.time() > deadline or fake.poll() is not None:
                    raise RuntimeError("the fake cluster did not start")
                time.sleep(0.05)
            args = ["--deployment", "web", "--kubeconfig", str(tmp / "kubeconfig")]
        # The target-service on the generator's core, as the embedded target was when the
        # figures below were taken (a watched run needs --host since local replicas landed).
        port = free_port()
        service = start([str(TARGET / "optimized" / "target-service"), "--bind", "127.0.0.1", "--port", str(port),
                         "--log-level", "warn"], 0)
        wait_port(port)
        cmd = ["taskset", "-c", "0", str(TARGET / "optimized" / "scaleproof"), "-q", "--threads", "1",
               "--host", f"http://127.0.0.1:{port}",
               "--rate", f"{RATE}:1s,{RATE}:{SECONDS}s", "--out", str(out), *args]
        proc = subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        total_cpu, watcher_cpu = 0.0, None
        while proc.poll() is None:
            try:
                total_cpu = cpu_seconds(proc.pid)
                watcher_cpu = thread_cpu(proc.pid) or watcher_cpu
            except (OSError, IndexError):
                pass
            time.sleep(0.1)
        stop(service)
        fake_cpu = None
        if fake is not None:
            # The test double's own CPU: whether it, not the watcher, is what falls behind.
            fake_cpu = cpu_seconds(fake.pid)
            (tmp / "stop").write_text("")
            fake.wait(timeout=60)
        run_dir = next(p for p in out.iterdir() if p.is_dir())
        summary = json.loads((run_dir / "summary.json").read_text())
        rows = list(csv.DictReader(open(run_dir / "timeline.csv")))
        hold = [float(r["completed_rps"]) for r in rows[2:-1]]
        result = {
            "churn_updates_per_s": churn,
            "endpointslice_updates": slices,
            "achieved_rps": sum(hold) / len(hold),
            "p99_corrected_ms": summary["totals"]["p99_corrected_us"] / 1000,
            "dropped": summary["totals"]["dropped"],
            "process_cpu_s": total_cpu,
            "watcher_cpu_s": watcher_cpu,
            "fake_apiserver_cpu_s": fake_cpu,
        }
        if churn is not None:
            lags, writes = lag_ms(run_dir, tmp / "applied.csv")
            result.update({"writes": writes, "matched": len(lags), "lag_p50_ms": pct(lags, 0.5),
                           "lag_p99_ms": pct(lags, 0.99), "lag_max_ms": max(lags) if lags else None})
        return result


def main():
    cargo_build()
    cargo_build("-p", "target-service", "--bin", "target-service")
    subprocess.run(["cargo", "build", "--profile", "optimized", "--quiet", "--example", "watcher_bench"],
                   cwd=ROOT, check=True)
    results = [run(c, s) for c, s in CHURNS]
    fmt = lambda v, d=1: "-" if v is None else f"{v:.{d}f}"
    lines = [f"Open model {RATE} rps for {SECONDS} s, generator and target-service on one core; "
             f"fake cluster ({PODS} pods) on the other.", "",
             "| cluster watch | achieved rps | p99 corrected ms | dropped | process CPU s | watcher CPU s | "
             "fake API server CPU s | writes seen / made | lag p50 / p99 / max ms |",
             "| --- | --- | --- | --- | --- | --- | --- | --- | --- |"]
    for r in results:
        c = r["churn_updates_per_s"]
        label = "none" if c is None else f"{c} pod updates/s" + (" + slice" if r["endpointslice_updates"] else "")
        seen = "-" if c is None else f"{r['matched']} / {r['writes']}"
        lag = "-" if c is None else f"{fmt(r['lag_p50_ms'])} / {fmt(r['lag_p99_ms'])} / {fmt(r['lag_max_ms'])}"
        lines.append(f"| {label} | {r['achieved_rps']:.0f} | {fmt(r['p99_corrected_ms'], 2)} | {r['dropped']} | "
                     f"{fmt(r['process_cpu_s'], 2)} | {fmt(r['watcher_cpu_s'], 2)} | "
                     f"{fmt(r['fake_apiserver_cpu_s'], 2)} | {seen} | {lag} |")
    write_results("watcher", {"machine": machine(), "rate": RATE, "seconds": SECONDS, "pods": PODS,
                              "runs": results}, "\n".join(lines))


if __name__ == "__main__":
    main()
