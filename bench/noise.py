#!/usr/bin/env python3
"""The instrument's own noise floor (issue #18's baseline): scaleproof and oha side by side in
one run, each pinned to core 0 with nginx answering a constant body on core 1, open model at
1K, 5K and 10K rps for 10 s, two rounds each. Prints corrected p50/p95/p99/max of both,
scaleproof's worst second's p99, its own send lateness (p50 / p99 / max: how late the requests
its users waited for went out — the instrument's share of corrected latency), its timer lag and
worker CPU, and dropped slots.

Needs: nginx (apt-get install nginx-light), oha (cargo install oha), taskset."""

import csv
import json
import subprocess
import tempfile
from pathlib import Path

from common import ROOT, cargo_build, free_port, machine, need, start, stop, wait_port, write_results
from generator import NGINX_CONF

RATES = [1000, 5000, 10000]
ROUNDS = 2
SECONDS = 10


def scaleproof(url, rate, work):
    out = work / f"sp-{rate}"
    exe = ROOT / "target" / "optimized" / "scaleproof"
    subprocess.run(["taskset", "-c", "0", str(exe), "-q", "--threads", "1", "--host", url,
                    "--scenario", str(ROOT / "bench" / "get-root.toml"),
                    "--rate", f"{rate}:0s,{rate}:{SECONDS}s", "--max-users", "256", "--out", str(out)],
                   check=False, capture_output=True, text=True)
    run = next(p for p in out.iterdir() if p.is_dir())
    summary = json.loads((run / "summary.json").read_text())
    t = summary["totals"]
    worst = 0
    with open(run / "timeline.csv") as f:
        for row in csv.DictReader(f):
            if row["p99_corrected_us"]:
                worst = max(worst, int(row["p99_corrected_us"]))
    g = summary["kpis"]["generator"]
    ms = lambda us: None if us is None else us / 1000
    return {"p50": ms(t["p50_corrected_us"]), "p95": ms(t["p95_corrected_us"]), "p99": ms(t["p99_corrected_us"]),
            "max": ms(t["max_corrected_us"]), "worst_second_p99": worst / 1000, "dropped": t["dropped"],
            "requests": t["requests"], "timer_lag_max_ms": g["worst_lag_ms"], "worker_cpu_max_pct": g["max_cpu_pct"],
            "send_late_p50": ms(t.get("send_late_p50_us")), "send_late_p99": ms(t.get("send_late_p99_us")),
            "send_late_max": ms(t.get("send_late_max_us"))}


def oha(url, rate):
    cmd = ["taskset", "-c", "0", "oha", "-z", f"{SECONDS}s", "-q", str(rate), "--latency-correction",
           "-c", "32", "--no-tui", "--output-format", "json", url]
    d = json.loads(subprocess.run(cmd, check=True, capture_output=True, text=True).stdout)
    p, s = d["latencyPercentiles"], d["summary"]
    ms = lambda v: None if v is None else v * 1000
    return {"p50": ms(p.get("p50")), "p95": ms(p.get("p95")), "p99": ms(p.get("p99")), "max": ms(s.get("slowest")),
            "rps": s["requestsPerSec"]}


def main():
    need("nginx", "apt-get install nginx-light")
    need("oha", "cargo install oha")
    cargo_build()
    results = []
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        port = free_port()
        (work / "nginx.conf").write_text(NGINX_CONF.format(dir=work, port=port))
        nginx = start(["nginx", "-c", str(work / "nginx.conf")], 1)
        try:
            wait_port(port)
            url = f"http://127.0.0.1:{port}/"
            for rnd in range(1, ROUNDS + 1):
                for rate in RATES:
                    sp = scaleproof(url, rate, work / f"r{rnd}")
                    oh = oha(url, rate)
                    results.append({"round": rnd, "rate": rate, "scaleproof": sp, "oha": oh})
        finally:
            stop(nginx)
    f = lambda v: "–" if v is None else f"{v:.2f}"
    lines = [f"Open model for {SECONDS} s, generator on core 0 (scaleproof `--threads 1`), nginx (constant, "
             "1 worker) on core 1; corrected latency in ms (from each request's due time).", "",
             "| rate | round | scaleproof p50 / p95 / p99 / max | oha p50 / p95 / p99 / max | scaleproof worst second's p99 | "
             "scaleproof send lateness p50 / p99 / max | timer lag max | worker CPU max % | dropped |",
             "| ---: | ---: | --- | --- | ---: | --- | ---: | ---: | ---: |"]
    for r in sorted(results, key=lambda r: (r["rate"], r["round"])):
        s, o = r["scaleproof"], r["oha"]
        lines.append(f"| {r['rate']:,} | {r['round']} | {f(s['p50'])} / {f(s['p95'])} / {f(s['p99'])} / {f(s['max'])} | "
                     f"{f(o['p50'])} / {f(o['p95'])} / {f(o['p99'])} / {f(o['max'])} | {f(s['worst_second_p99'])} | "
                     f"{f(s['send_late_p50'])} / {f(s['send_late_p99'])} / {f(s['send_late_max'])} | "
                     f"{f(s['timer_lag_max_ms'])} | {f(s['worker_cpu_max_pct'])} | {s['dropped']} |")
    write_results("noise", {"machine": machine(), "seconds": SECONDS, "results": results}, "\n".join(lines))


if __name__ == "__main__":
    main()
