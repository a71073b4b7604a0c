#!/usr/bin/env python3
"""Shared runs (issue #16): two local `scaleproof --worker i/2` processes, each pinned to one
core, share one open-model plan at a combined 20,000 rps for 10 s against nginx (a constant
body, one worker, unpinned), started together with --start-at; then `scaleproof merge`. Prints,
per round, what each worker and the merged run sent against the plan (full seconds), the worst
second's shortfall, dropped slots, corrected p99, and how long the merge took.

Needs: nginx (apt-get install nginx-light), taskset."""

import datetime
import json
import subprocess
import tempfile
import time
from pathlib import Path

from common import ROOT, cargo_build, free_port, machine, need, start, stop, wait_port, write_results
from generator import NGINX_CONF

RATE = 20000
SECONDS = 10
ROUNDS = 2


def rows(run):
    import csv
    with open(run / "timeline.csv") as f:
        return list(csv.DictReader(f))


def only_dir(out):
    return next(p for p in out.iterdir() if p.is_dir())


def shortfall(run):
    """(mean completed/s over full seconds, worst full second's completed vs target, %)."""
    full = [r for r in rows(run) if float(r["span_s"]) == 1.0 and r["target_rps"]]
    achieved = sum(int(r["requests"]) + int(r["dropped"]) for r in full) / max(1, len(full))
    worst = min((int(r["requests"]) - float(r["target_rps"])) / float(r["target_rps"]) * 100 for r in full)
    return achieved, worst


def main():
    need("nginx", "apt-get install nginx-light")
    cargo_build()
    exe = ROOT / "target" / "optimized" / "scaleproof"
    results = []
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        port = free_port()
        (work / "nginx.conf").write_text(NGINX_CONF.format(dir=work, port=port))
        nginx = start(["nginx", "-c", str(work / "nginx.conf")], "0,1")
        try:
            wait_port(port)
            url = f"http://127.0.0.1:{port}/"
            for rnd in range(1, ROUNDS + 1):
                at = (datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(seconds=3))
                at = at.isoformat(timespec="milliseconds").replace("+00:00", "Z")
                procs = []
                for i in range(2):
                    out = work / f"r{rnd}" / f"w{i}"
                    procs.append(subprocess.Popen(
                        ["taskset", "-c", str(i), str(exe), "-q", "--threads", "1", "--host", url,
                         "--scenario", str(ROOT / "bench" / "get-root.toml"),
                         "--rate", f"{RATE}:0s,{RATE}:{SECONDS}s", "--max-users", "512",
                         "--worker", f"{i}/2", "--start-at", at, "--out", str(out)],
                        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
                for p in procs:
                    p.wait()
                runs = [only_dir(work / f"r{rnd}" / f"w{i}") for i in range(2)]
                merged_out = work / f"r{rnd}" / "merged"
                t = time.monotonic()
                subprocess.run([str(exe), "merge", *map(str, runs), "--out", str(merged_out)],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
                merge_s = time.monotonic() - t
                merged = only_dir(merged_out)
                entry = {"round": rnd, "merge_s": merge_s, "runs": []}
                for name, run in [("worker 0", runs[0]), ("worker 1", runs[1]), ("merged", merged)]:
                    meta = json.loads((run / "run.json").read_text())
                    achieved, worst = shortfall(run)
                    t_ = meta["totals"]
                    entry["runs"].append({
                        "name": name, "requests": t_["requests"], "dropped": t_["dropped"],
                        "achieved": achieved, "worst_pct": worst,
                        "p99_corrected_ms": (t_["p99_corrected_us"] or 0) / 1000,
                        "start_offset_ms": [w["start_offset_ms"] for w in meta.get("workers", [])],
                    })
                results.append(entry)
        finally:
            stop(nginx)
    lines = [f"Two workers (`--worker 0/2` on core 0, `1/2` on core 1, `--threads 1` each) share "
             f"`--rate {RATE}:0s,{RATE}:{SECONDS}s` against nginx (1 worker, either core); "
             f"full seconds only.", "",
             "| round | run | requests | sent per second (mean) | worst second vs plan | dropped | "
             "corrected p99 | merge |",
             "| ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: |"]
    for e in results:
        for r in e["runs"]:
            merge = f"{e['merge_s']:.2f} s" if r["name"] == "merged" else ""
            lines.append(f"| {e['round']} | {r['name']} | {r['requests']:,} | {r['achieved']:,.0f} | "
                         f"{r['worst_pct']:+.2f}% | {r['dropped']} | {r['p99_corrected_ms']:.2f} ms | {merge} |")
    write_results("workers", {"machine": machine(), "rate": RATE, "seconds": SECONDS, "results": results},
                  "\n".join(lines))


if __name__ == "__main__":
    main()
