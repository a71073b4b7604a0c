#!/usr/bin/env python3
"""The live page's cost to the load (issue #13): the same open-model run — 5,000 rps for 20 s
against nginx (a constant body, one worker) — without --live, with --live and no page open,
and with --live while headless Chromium keeps the page open for the whole run. Prints, per
round and case: requests, dropped slots, the worst full second against the plan, corrected
p99, send lateness p99, the generator's peak CPU and timer lag, and scaleproof's CPU seconds.

Needs: nginx (apt-get install nginx-light), chromium, taskset."""

import csv
import json
import subprocess
import tempfile
import time
from pathlib import Path

from common import ROOT, cargo_build, free_port, machine, need, start, stop, wait_port, write_results
from generator import NGINX_CONF

RATE = 5000
SECONDS = 20
ROUNDS = 2
CASES = ["no --live", "--live, no page", "--live, page open"]


def only_dir(out):
    return next(p for p in out.iterdir() if p.is_dir())


def summary(run):
    meta = json.loads((run / "run.json").read_text())
    with open(run / "timeline.csv") as f:
        rows = [r for r in csv.DictReader(f) if float(r["span_s"]) == 1.0 and r["target_rps"]]
    worst = min((int(r["requests"]) + int(r["dropped"]) - float(r["target_rps"])) / float(r["target_rps"]) * 100
                for r in rows)
    t = meta["totals"]
    cpu = [float(r["gen_cpu_pct"]) for r in rows if r["gen_cpu_pct"]]
    lag = [int(r["gen_lag_max_us"]) for r in rows if r["gen_lag_max_us"]]
    return {
        "requests": t["requests"], "dropped": t["dropped"], "worst_pct": worst,
        "p99_corrected_ms": (t["p99_corrected_us"] or 0) / 1000,
        "send_late_p99_ms": (t["send_late_p99_us"] or 0) / 1000,
        "gen_cpu_max": max(cpu) if cpu else None, "gen_lag_max_ms": max(lag) / 1000 if lag else None,
    }


def run_case(exe, url, work, case, port):
    out = work / case.replace(" ", "_").replace(",", "").replace("-", "")
    cmd = ["taskset", "-c", "0", str(exe), "--threads", "1", "--host", url,
           "--scenario", str(ROOT / "bench" / "get-root.toml"),
           "--rate", f"{RATE}:0s,{RATE}:{SECONDS}s", "--max-users", "256", "--out", str(out)]
    if case != "no --live":
        cmd += ["--live", "--live-port", str(port), "--live-linger", "0s"]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    browser = None
    if case == "--live, page open":
        wait_port(port)
        # Headless Chromium on the other core, the page open for the whole run (it stops
        # loading after the run; its screenshot is the proof it drew).
        browser = subprocess.Popen(
            ["taskset", "-c", "1", "chromium", "--headless", "--no-sandbox", "--disable-gpu",
             "--window-size=1920,1080", f"--user-data-dir={work / 'profile'}",
             f"--timeout={(SECONDS + 5) * 1000}", f"--screenshot={work / 'page.png'}",
             f"http://127.0.0.1:{port}/"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    proc.communicate()
    if browser is not None:
        browser.wait(timeout=60)
    result = summary(only_dir(out))
    result["case"] = case
    return result


def main():
    need("nginx", "apt-get install nginx-light")
    need("chromium", "apt-get install chromium")
    cargo_build()
    exe = ROOT / "target" / "optimized" / "scaleproof"
    results = []
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        port = free_port()
        (work / "nginx.conf").write_text(NGINX_CONF.format(dir=work, port=port))
        nginx = start(["nginx", "-c", str(work / "nginx.conf")], "1")
        try:
            wait_port(port)
            url = f"http://127.0.0.1:{port}/"
            for rnd in range(1, ROUNDS + 1):
                for case in CASES:
                    r = run_case(exe, url, work / f"r{rnd}", case, free_port())
                    r["round"] = rnd
                    results.append(r)
                    time.sleep(1)
        finally:
            stop(nginx)
    lines = [f"`--rate {RATE}:0s,{RATE}:{SECONDS}s` against nginx (core 1); scaleproof on core 0 "
             f"(`--threads 1`); Chromium, when open, on core 1; full seconds only.", "",
             "| round | case | requests | dropped | worst second vs plan | corrected p99 | "
             "send lateness p99 | generator CPU max | timer lag max |",
             "| ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"]
    for r in results:
        lines.append(f"| {r['round']} | {r['case']} | {r['requests']:,} | {r['dropped']} | {r['worst_pct']:+.2f}% | "
                     f"{r['p99_corrected_ms']:.2f} ms | {r['send_late_p99_ms']:.3f} ms | "
                     f"{r['gen_cpu_max']:.0f}% | {r['gen_lag_max_ms']:.1f} ms |")
    write_results("live", {"machine": machine(), "rate": RATE, "seconds": SECONDS, "results": results},
                  "\n".join(lines))


if __name__ == "__main__":
    main()
