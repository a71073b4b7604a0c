"""Load generators side by side: requests per CPU-second, open-model accuracy, memory.

The target is nginx (one worker, pinned to core 0) returning a constant, so it never bounds
the result. Each generator runs pinned to core 1 with 32 users/connections for the same time
and sends GET /:

  scaleproof (closed model, recording everything: per-second histograms, endpoints),
  bare Goose (examples/bare_goose.rs: Goose's own metrics on), wrk, oha, Locust FastHttpUser.

CPU time is the generator process's user + system time (getrusage of the child). Then:
  * open-model accuracy: scaleproof --rate at 1,000 and 10,000 rps for 20 s;
  * memory: scaleproof's peak RSS at 1,000 rps (see bench/soak.py for 10 minutes vs 1).

Usage: python3 bench/generator.py [--seconds 10]
Needs: nginx, wrk (apt-get install nginx-light wrk), oha (cargo install oha),
       locust (pip install -r bench/requirements.txt), taskset.
"""

import argparse
import csv
import json
import os
import re
import resource
import subprocess
import tempfile
from pathlib import Path

from common import ROOT, cargo_build, free_port, machine, need, start, stop, wait_port, write_results

NGINX_CONF = """
worker_processes 1;
daemon off;
pid {dir}/nginx.pid;
error_log {dir}/error.log warn;
events {{ worker_connections 4096; }}
http {{
  access_log off;
  keepalive_requests 100000000;
  keepalive_timeout 120s;
  client_body_temp_path {dir};
  proxy_temp_path {dir};
  fastcgi_temp_path {dir};
  uwsgi_temp_path {dir};
  scgi_temp_path {dir};
  server {{
    listen 127.0.0.1:{port};
    location / {{ default_type application/json; return 200 '{{"prediction":[151.0]}}'; }}
  }}
}}
"""


def timed(cmd, core):
    """Runs cmd pinned to `core`; returns (stdout, cpu seconds of the child)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    out = subprocess.run(["taskset", "-c", str(core), *cmd], check=True, capture_output=True, text=True, cwd=ROOT)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return out.stdout + out.stderr, cpu


def run_dir_totals(out_dir):
    runs = sorted(Path(out_dir).iterdir())
    meta = json.loads((runs[-1] / "run.json").read_text())
    rows = list(csv.DictReader(open(runs[-1] / "timeline.csv")))
    return meta, rows


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--seconds", type=int, default=10)
    args = ap.parse_args()
    for tool, hint in [("nginx", "apt-get install nginx-light"), ("wrk", "apt-get install wrk"),
                       ("oha", "cargo install oha"), ("locust", "pip install -r bench/requirements.txt")]:
        need(tool, hint)
    cargo_build("--bin", "scaleproof", "--example", "bare_goose")
    release = ROOT / "target" / "optimized"
    secs, users = args.seconds, 32
    work = Path(tempfile.mkdtemp(prefix="scaleproof-bench-"))
    port = free_port()
    (work / "nginx.conf").write_text(NGINX_CONF.format(dir=work, port=port))
    nginx = start(["nginx", "-c", str(work / "nginx.conf")], 0)
    results = {}
    try:
        wait_port(port)
        url = f"http://127.0.0.1:{port}"

        out_dir = work / "reports"
        _, cpu = timed([str(release / "scaleproof"), "--host", url, "--scenario", "bench/get-root.toml",
                        "--users", str(users), "--hatch-rate", str(users), "--run-time", f"{secs}s",
                        "--threads", "1", "--quiet", "--out", str(out_dir)], 1)
        meta, _ = run_dir_totals(out_dir)
        results["scaleproof (closed, 1 thread)"] = {"requests": meta["totals"]["requests"], "cpu_s": cpu, "wall_s": meta["duration_s"]}

        text, cpu = timed([str(release / "examples" / "bare_goose"), url, str(users), str(secs)], 1)
        n = int(re.search(r"requests (\d+)", text).group(1))
        results["bare Goose (its metrics on)"] = {"requests": n, "cpu_s": cpu, "wall_s": secs}

        text, cpu = timed(["wrk", "-t1", f"-c{users}", f"-d{secs}s", url + "/"], 1)
        n = int(re.search(r"(\d+) requests in", text).group(1))
        results["wrk"] = {"requests": n, "cpu_s": cpu, "wall_s": secs}

        text, cpu = timed(["oha", "-z", f"{secs}s", "-c", str(users), "--no-tui", "--worker-threads", "1",
                           "--output-format", "json", url + "/"], 1)
        s = json.loads(text[text.index("{"):])["summary"]
        results["oha"] = {"requests": round(s["requestsPerSec"] * s["total"]), "cpu_s": cpu, "wall_s": s["total"]}

        csv_prefix = work / "locust"
        _, cpu = timed(["locust", "-f", "bench/locustfile.py", "--headless", "-u", str(users), "-r", str(users),
                        "-t", f"{secs}s", "--host", url, "--csv", str(csv_prefix), "--only-summary"], 1)
        rows = list(csv.DictReader(open(f"{csv_prefix}_stats.csv")))
        agg = next(r for r in rows if r["Name"] == "Aggregated")
        results["Locust FastHttpUser"] = {"requests": int(agg["Request Count"]), "cpu_s": cpu, "wall_s": secs}

        accuracy = {}
        for rate in (1000, 10000):
            out_dir = work / f"open-{rate}"
            _, cpu = timed([str(release / "scaleproof"), "--host", url, "--scenario", "bench/get-root.toml",
                            "--rate", f"{rate}:0s,{rate}:20s", "--threads", "1", "--quiet", "--out", str(out_dir)], 1)
            meta, rows = run_dir_totals(out_dir)
            full = [r for r in rows if float(r["span_s"]) >= 0.999 and 1 <= int(r["t_s"]) <= 18]
            achieved = sum(float(r["completed_rps"]) for r in full) / len(full)
            worst = max(abs(float(r["completed_rps"]) - rate) / rate for r in full)
            accuracy[rate] = {"requests": meta["totals"]["requests"], "dropped": meta["totals"]["dropped"],
                              "mean_achieved": achieved, "error": (achieved - rate) / rate,
                              "worst_second_error": worst, "cpu_s": cpu,
                              "p99_corrected_us": meta["totals"]["p99_corrected_us"]}
    finally:
        stop(nginx)

    for r in results.values():
        r["per_cpu_s"] = r["requests"] / r["cpu_s"]
    sp = results["scaleproof (closed, 1 thread)"]["per_cpu_s"]
    goose = results["bare Goose (its metrics on)"]["per_cpu_s"]
    locust = results["Locust FastHttpUser"]["per_cpu_s"]
    m = machine()
    lines = [
        f"Machine: {m['cpu']}, {m['cores']} cores, {m['memory_gib']} GiB, Linux {m['kernel']}; {m['date']}.",
        f"nginx (1 worker) on core 0; each generator on core 1, {users} users/connections, GET /, {secs} s.",
        "",
        "| generator | requests | CPU s | requests per CPU-second | vs bare Goose |",
        "| --- | ---: | ---: | ---: | ---: |",
    ]
    for name, r in results.items():
        lines.append(f"| {name} | {r['requests']:,} | {r['cpu_s']:.2f} | {r['per_cpu_s']:,.0f} | {r['per_cpu_s'] / goose:.2f}× |")
    lines += [
        "",
        f"- scaleproof vs bare Goose: **{sp / goose:.2f}×** requests per CPU-second (target ≥ 1.3×)",
        f"- scaleproof vs Locust FastHttpUser: **{sp / locust:.1f}×** (target ≥ 8×)",
        "",
        "| open model target | mean achieved (full seconds) | error | worst second | dropped | corrected p99 |",
        "| ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for rate, a in accuracy.items():
        lines.append(f"| {rate:,} rps | {a['mean_achieved']:,.1f} | {a['error']:+.2%} | {a['worst_second_error']:.2%} | "
                     f"{a['dropped']} | {a['p99_corrected_us'] / 1000:.2f} ms |")
    write_results("generator", {"machine": m, "results": results, "open_model": accuracy}, "\n".join(lines))


if __name__ == "__main__":
    main()
