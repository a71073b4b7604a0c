"""scaleproof's memory over a long run: RSS sampled once a second while it holds a fixed rate
against a constant nginx. Prints RSS at 1 minute and at the end, and the ratio.

Usage: python3 bench/soak.py [--minutes 10] [--rate 1000]
Needs: nginx (apt-get install nginx-light), taskset.
"""

import argparse
import tempfile
import time
from pathlib import Path

from common import ROOT, cargo_build, free_port, machine, need, start, stop, wait_port, write_results
from generator import NGINX_CONF


def rss_mib(pid):
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--minutes", type=float, default=10)
    ap.add_argument("--rate", type=int, default=1000)
    args = ap.parse_args()
    need("nginx", "apt-get install nginx-light")
    cargo_build("--bin", "scaleproof")
    work = Path(tempfile.mkdtemp(prefix="scaleproof-soak-"))
    port = free_port()
    (work / "nginx.conf").write_text(NGINX_CONF.format(dir=work, port=port))
    nginx = start(["nginx", "-c", str(work / "nginx.conf")], 0)
    seconds = int(args.minutes * 60)
    samples = []
    try:
        wait_port(port)
        gen = start([str(ROOT / "target" / "optimized" / "scaleproof"), "--host", f"http://127.0.0.1:{port}",
                     "--scenario", "bench/get-root.toml", "--rate", f"{args.rate}:0s,{args.rate}:{seconds}s",
                     "--quiet", "--out", str(work / "reports")], 1)
        t0 = time.time()
        while gen.poll() is None:
            try:
                samples.append((time.time() - t0, rss_mib(gen.pid)))
            except OSError:
                break
            time.sleep(1)
    finally:
        stop(nginx)
    at_1m = max(r for t, r in samples if t <= 60)
    end = max(r for t, r in samples if t >= max(t for t, _ in samples) - 60)
    peak = max(r for _, r in samples)
    m = machine()
    table = "\n".join([
        f"Machine: {m['cpu']}, {m['cores']} cores; {m['date']}.",
        f"scaleproof --rate {args.rate}:0s,{args.rate}:{seconds}s against nginx (constant), RSS sampled every second.",
        "",
        "| RSS, peak of the first minute | RSS, peak of the last minute | ratio | peak |",
        "| ---: | ---: | ---: | ---: |",
        f"| {at_1m:.1f} MiB | {end:.1f} MiB | {end / at_1m:.2f} | {peak:.1f} MiB |",
    ])
    write_results("soak", {"machine": m, "samples": samples, "first_minute_mib": at_1m, "last_minute_mib": end}, table)


if __name__ == "__main__":
    main()
