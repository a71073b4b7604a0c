#!/usr/bin/env python3
"""The instrument's own noise floor (issue #18): scaleproof and oha side by side in one run,
each pinned to core 0 with nginx answering a constant body on core 1, open model at 1K, 5K and
10K rps for 10 s, two rounds each. For both tools it prints corrected p50/p95/p99/max, the
worst full second's p99 and its ratio to the whole run's, how late the sends left against
their due time (p50 / p99), the generator's CPU seconds (user + system) and dropped slots.

oha's corrected latency counts from the moment its rate timer woke, not from the due time of
the slot (`start_latency_correction` in its database); its lateness against the due time is
computed here from the requests it wrote with `--db-url`, slot i being due i/rate after the
first, to put both tools on one definition.

Needs: nginx (apt-get install nginx-light), oha (cargo install oha), taskset."""

import csv
import json
import resource
import sqlite3
import subprocess
import tempfile
from pathlib import Path

from common import ROOT, cargo_build, free_port, machine, need, start, stop, wait_port, write_results
from generator import NGINX_CONF

RATES = [1000, 5000, 10000]
ROUNDS = 2
SECONDS = 10


def cpu_of(cmd):
    """Runs `cmd`; returns (completed process, its CPU seconds: user + system)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    done = subprocess.run(cmd, check=False, capture_output=True, text=True)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return done, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def nginx_wait_ms(master):
    """Total run-queue wait of nginx's worker processes so far (ms, /proc/PID/schedstat): time
    the server was ready to run while something else had its core."""
    total = 0
    for child in Path(f"/proc/{master}/task/{master}/children").read_text().split():
        total += int(Path(f"/proc/{child}/schedstat").read_text().split()[1])
    return total / 1e6


def measured(run, server):
    """Runs `run()`, adding the server's run-queue wait during it to its result."""
    before = nginx_wait_ms(server)
    result = run()
    result["server_wait_ms"] = nginx_wait_ms(server) - before
    return result


def quantile(values, q):
    """Nearest-rank quantile of a sorted list."""
    if not values:
        return None
    k = max(0, min(len(values) - 1, int(round(q * len(values) + 0.5)) - 1))
    return values[k]


def scaleproof(url, rate, work):
    out = work / f"sp-{rate}"
    exe = ROOT / "target" / "optimized" / "scaleproof"
    _, cpu = cpu_of(["taskset", "-c", "0", str(exe), "-q", "--threads", "1", "--host", url,
                     "--scenario", str(ROOT / "bench" / "get-root.toml"),
                     "--rate", f"{rate}:0s,{rate}:{SECONDS}s", "--max-users", "256", "--out", str(out)])
    run = next(p for p in out.iterdir() if p.is_dir())
    summary = json.loads((run / "summary.json").read_text())
    t = summary["totals"]
    worst = 0
    with open(run / "timeline.csv") as f:
        for row in csv.DictReader(f):
            if row["p99_corrected_us"] and float(row["span_s"]) == 1.0:
                worst = max(worst, int(row["p99_corrected_us"]))
    g = summary["kpis"]["generator"]
    ms = lambda us: None if us is None else us / 1000
    return {"p50": ms(t["p50_corrected_us"]), "p95": ms(t["p95_corrected_us"]), "p99": ms(t["p99_corrected_us"]),
            "max": ms(t["max_corrected_us"]), "worst_second_p99": worst / 1000, "dropped": t["dropped"],
            "requests": t["requests"], "timer_lag_max_ms": g["worst_lag_ms"], "worker_cpu_max_pct": g["max_cpu_pct"],
            "late_p50": ms(t.get("send_late_p50_us")), "late_p99": ms(t.get("send_late_p99_us")),
            "late_max": ms(t.get("send_late_max_us")), "cpu_s": cpu}


def oha(url, rate, work):
    db = work / f"oha-{rate}.db"
    db.unlink(missing_ok=True)
    cmd = ["taskset", "-c", "0", "oha", "-z", f"{SECONDS}s", "-q", str(rate), "--latency-correction",
           "-c", "32", "--no-tui", "--output-format", "json", "--db-url", str(db), url]
    done, cpu = cpu_of(cmd)
    d = json.loads(done.stdout[done.stdout.index("{"):])
    p, s = d["latencyPercentiles"], d["summary"]
    ms = lambda v: None if v is None else v * 1000
    rows = sqlite3.connect(db).execute("select start_latency_correction, end from oha").fetchall()
    # Send order is slot order: slot i was due i/rate after slot 0; align slot 0 with the
    # earliest send (so this lateness is a lower bound).
    rows.sort()
    offset = min(w - i / rate for i, (w, _) in enumerate(rows))
    due = [offset + i / rate for i in range(len(rows))]
    late = sorted(w - d for (w, _), d in zip(rows, due))
    from_due = sorted(end - d for (_, end), d in zip(rows, due))
    worst = worst_second([(end, end - w) for w, end in rows])
    worst_from_due = worst_second([(end, end - d) for (_, end), d in zip(rows, due)])
    return {"p50": ms(p.get("p50")), "p95": ms(p.get("p95")), "p99": ms(p.get("p99")), "max": ms(s.get("slowest")),
            "rps": s["requestsPerSec"], "worst_second_p99": ms(worst), "late_p50": ms(quantile(late, 0.50)),
            "late_p99": ms(quantile(late, 0.99)), "late_max": ms(late[-1] if late else None), "cpu_s": cpu,
            "dropped": None,
            "from_due": {"p50": ms(quantile(from_due, 0.50)), "p95": ms(quantile(from_due, 0.95)),
                         "p99": ms(quantile(from_due, 0.99)), "max": ms(from_due[-1] if from_due else None),
                         "worst_second_p99": ms(worst_from_due)}}


def worst_second(done_and_latency):
    """The highest p99 over the full seconds, each request in the second it completed."""
    seconds = {}
    for end, latency in done_and_latency:
        seconds.setdefault(int(end), []).append(latency)
    return max((quantile(sorted(v), 0.99) for k, v in seconds.items() if k < SECONDS), default=None)


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
                    sp = measured(lambda: scaleproof(url, rate, work / f"r{rnd}"), nginx.pid)
                    oh = measured(lambda: oha(url, rate, work), nginx.pid)
                    results.append({"round": rnd, "rate": rate, "scaleproof": sp, "oha": oh})
        finally:
            stop(nginx)
    f = lambda v: "–" if v is None else f"{v:.2f}"
    ratio = lambda r: "–" if not r["p99"] or r["worst_second_p99"] is None else f"{r['worst_second_p99'] / r['p99']:.1f}×"
    lines = [f"Open model for {SECONDS} s, generator on core 0 (scaleproof `--threads 1`), nginx (constant, "
             "1 worker) on core 1. Latency in ms; scaleproof's corrected latency counts from each slot's due "
             "time, oha's from when its rate timer woke; the 'oha from due' rows put oha's requests on "
             "scaleproof's definition. Send lateness: how late each send left against its "
             "due time (both tools, one definition). Worst second: full seconds only. Server run-queue "
             "wait: how long nginx was ready to answer but had to wait for its core during the run.", "",
             "| rate | round | tool | corrected p50 / p95 / p99 / max | worst second's p99 (× whole p99) | "
             "send lateness p50 / p99 / max | CPU s | dropped | server run-queue wait ms |",
             "| ---: | ---: | --- | --- | ---: | --- | ---: | ---: | ---: |"]
    for r in sorted(results, key=lambda r: (r["rate"], r["round"])):
        for tool in ("scaleproof", "oha", "oha from due"):
            if tool == "oha from due":
                x = {**r["oha"], **r["oha"]["from_due"]}
            else:
                x = r[tool]
            dropped = "–" if x["dropped"] is None else str(x["dropped"])
            lines.append(f"| {r['rate']:,} | {r['round']} | {tool} | {f(x['p50'])} / {f(x['p95'])} / {f(x['p99'])} / "
                         f"{f(x['max'])} | {f(x['worst_second_p99'])} ({ratio(x)}) | {f(x['late_p50'])} / "
                         f"{f(x['late_p99'])} / {f(x['late_max'])} | {x['cpu_s']:.2f} | {dropped} | "
                         f"{x['server_wait_ms']:.0f} |")
    write_results("noise", {"machine": machine(), "seconds": SECONDS, "results": results}, "\n".join(lines))


if __name__ == "__main__":
    main()
