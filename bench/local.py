#!/usr/bin/env python3
"""The default run (no --host: local replicas) on this machine, twice: the verdict, throughput,
corrected p95, dropped and failed requests, the generator's CPU, the replicas' scale-out and
scale-in, each replica's highest CPU against its limit, and the load's request count against
the replicas' own counts."""

import json
import subprocess
import sys
import tempfile
from pathlib import Path

from common import ROOT, cargo_build, machine, write_results

ROUNDS = int(sys.argv[1]) if len(sys.argv) > 1 else 2


def one_round(i):
    with tempfile.TemporaryDirectory() as tmp:
        exe = ROOT / "target" / "optimized" / "scaleproof"
        done = subprocess.run([str(exe), "--out", tmp], capture_output=True, text=True)
        (ROOT / "bench" / "out").mkdir(parents=True, exist_ok=True)
        (ROOT / "bench" / "out" / f"local-round{i}.stderr.txt").write_text(done.stderr)
        run_dir = Path(done.stdout.strip())
        summary = json.loads((run_dir / "summary.json").read_text())
        meta = json.loads((run_dir / "run.json").read_text())
    lives = meta["local_replicas"] or []
    limit = int(meta["cluster"]["containers"][0]["limits"]["cpu"].rstrip("m"))
    events = summary["kpis"]
    totals = summary["totals"]
    served = sum(l["served_predict"] or 0 for l in lives)
    return {
        "exit": done.returncode,
        "verdict": summary["verdict"]["state"],
        "peak_ok_rps": summary["kpis"]["peak_sustained_ok_rps"],
        "p95_ms": summary["kpis"]["p95_ms"],
        "requests": totals["requests"],
        "errors": totals["errors"],
        "dropped": totals["dropped"],
        "cancelled": totals["cancelled"],
        "served_by_replicas": served,
        "gen_cpu_max_pct": summary["kpis"]["generator"]["max_cpu_pct"],
        "most_ready": events["most_ready_replicas"],
        "replicas": [{"name": l["name"], "ready_s": l["ready_s"], "stopping_s": l["stopping_s"],
                      "exit": l["exit"], "cpu_max_m": l["cpu_max_m"]} for l in lives],
        "cpu_limit_m": limit,
    }


def main():
    cargo_build()
    rounds = [one_round(i) for i in range(1, ROUNDS + 1)]
    f = lambda v, d=1: "–" if v is None else f"{v:.{d}f}"
    lines = ["Default run (`scaleproof`, no flags): local replicas 1..4, CPU request 200m / limit "
             "400m each, open model 1,200 rps for 45 s then 300 rps; generator and replicas share "
             "the 2 cores.", "",
             "| round | verdict | peak ok rps | p95 corrected ms | failed | dropped | requests (load) | "
             "served (replicas' own counts) | generator CPU max % | most ready | scale-in |",
             "| ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |"]
    for i, r in enumerate(rounds, 1):
        scale_in = ", ".join(f"{x['name'].rsplit('-', 1)[1]} at {x['stopping_s']:.0f} s ({x['exit']})"
                             for x in r["replicas"] if x["stopping_s"] is not None) or "none"
        lines.append(f"| {i} | {r['verdict']} | {f(r['peak_ok_rps'], 0)} | {f(r['p95_ms'], 2)} | "
                     f"{r['errors']} | {r['dropped']} | {r['requests']:,} | {r['served_by_replicas']:,} | "
                     f"{f(r['gen_cpu_max_pct'], 0)} | {r['most_ready']} | {scale_in} |")
    lines += ["", "Each replica's highest CPU over one autoscaler sync period against its limit:", "",
              "| round | replica | ready at s | highest CPU m | of the 400m limit |",
              "| ---: | --- | ---: | ---: | ---: |"]
    for i, r in enumerate(rounds, 1):
        for x in r["replicas"]:
            m = x["cpu_max_m"]
            share = "–" if m is None else f"{100 * m / r['cpu_limit_m']:.0f}%"
            lines.append(f"| {i} | {x['name']} | {f(x['ready_s'])} | {f(m, 0)} | {share} |")
    write_results("local", {"machine": machine(), "rounds": rounds}, "\n".join(lines))


if __name__ == "__main__":
    main()
