#!/usr/bin/env python3
"""Does a local replica's CPU limit hold? One replica of a CPU-bound app, driven past what it
can serve, with the kernel's cgroup limit (the default where one can be made) and without
(SCALEPROOF_CGROUP=off: the replica is not limited at all): the CPU it used at saturation, as
the local autoscaler read it from the cgroup (or the process group) each 2 s sync, and the
requests/s it served. Two apps: tests/apps/cpu_app.py (standard library, ~2 ms of CPU per
request) and bench/flask_service under `gunicorn -w 1` (Flask + scikit-learn)."""

import csv
import json
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from common import ROOT, cargo_build, machine, write_results

LIMIT_M = 500
SECONDS = 20
SETTLE_S = 4

APPS = [
    ("stdlib cpu_app.py", f"python3 {ROOT}/tests/apps/cpu_app.py {{port}}", 300, None),
    ("gunicorn -w 1 Flask + scikit-learn",
     "gunicorn --workers 1 --bind 127.0.0.1:{port} app:app", 150, ROOT / "bench" / "flask_service"),
]

SCENARIO = """
name = "cpu-limit"
[load]
rate = "{rate}:0s,{rate}:{seconds}s"
max_users = 256
[[request]]
name = "predict"
method = "POST"
path = "/predict"
corpus = "corpora/diabetes-instances.jsonl"
[local]
replicas = "1..2"
cpu_request = "{limit}m"
cpu_limit = "{limit}m"
# Never reached: the autoscaler syncs (and so reads the CPU) but keeps one replica.
hpa_target = "1000%"
sync_period = "2s"
"""


def one(label, command, rate, folder, cgroup):
    exe = ROOT / "target" / "optimized" / "scaleproof"
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        (tmp / "corpora").mkdir()
        shutil.copy(ROOT / "scenarios" / "corpora" / "diabetes-instances.jsonl", tmp / "corpora")
        (tmp / "s.toml").write_text(SCENARIO.format(rate=rate, seconds=SECONDS, limit=LIMIT_M))
        env = dict(__import__("os").environ)
        if not cgroup:
            env["SCALEPROOF_CGROUP"] = "off"
        cmd = command if folder is None else f"cd {folder} && exec {command}"
        done = subprocess.run([str(exe), "--scenario", str(tmp / "s.toml"), "--replica-cmd", cmd,
                               "--ready-path", "/health", "--replica-start-timeout", "90s", "--timeout", "5s",
                               "--out", str(tmp / "runs"), "-q"],
                              capture_output=True, text=True, env=env)
        if not done.stdout.strip():
            sys.exit(f"{label} ({'cgroup' if cgroup else 'no cgroup'}) failed:\n{done.stderr}")
        run_dir = Path(done.stdout.strip())
        meta = json.loads((run_dir / "run.json").read_text())
        with open(run_dir / "timeline.csv") as f:
            rows = list(csv.DictReader(f))
    steady = [r for r in rows if int(r["t_s"]) >= SETTLE_S and float(r["span_s"]) == 1.0]
    cpu = [float(r["hpa_cpu_pct"]) * LIMIT_M / 100 for r in steady if r["hpa_cpu_pct"]]
    ok = sum(int(r["ok"]) for r in steady) / max(len(steady), 1)
    return {
        "app": label,
        "cgroup": cgroup,
        "cpu_limit": meta["cluster"].get("cpu_limit"),
        "offered_rps": rate,
        "served_ok_rps": round(ok, 1),
        "cpu_m_mean": round(sum(cpu) / len(cpu), 0) if cpu else None,
        "cpu_m_max": round(max(cpu), 0) if cpu else None,
        "errors": meta["totals"]["errors"],
        "exit": done.returncode,
    }


def main():
    cargo_build()
    rows = []
    for label, command, rate, folder in APPS:
        if folder is not None and shutil.which("gunicorn") is None:
            print(f"skipping {label}: gunicorn not installed (pip install -r bench/requirements.txt)")
            continue
        for cgroup in (True, False):
            rows.append(one(label, command, rate, folder, cgroup))
    f = lambda v: "–" if v is None else f"{v:g}"
    lines = [f"One replica, --cpu-limit {LIMIT_M}m, driven past its capacity for {SECONDS} s "
             f"(seconds {SETTLE_S}+ averaged); CPU as the local autoscaler read it each 2 s sync.", "",
             "| app | limit held by | offered rps | served ok rps | CPU used, mean m | max m | errors |",
             "| --- | --- | ---: | ---: | ---: | ---: | ---: |"]
    for r in rows:
        held = "kernel (cgroup)" if r["cgroup"] else "nothing (SCALEPROOF_CGROUP=off)"
        lines.append(f"| {r['app']} | {held} | {r['offered_rps']} | {f(r['served_ok_rps'])} | "
                     f"{f(r['cpu_m_mean'])} | {f(r['cpu_m_max'])} | {r['errors']} |")
    write_results("cpu_limit", {"machine": machine(), "rows": rows}, "\n".join(lines))


if __name__ == "__main__":
    sys.exit(main())
