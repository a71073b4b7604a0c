#!/usr/bin/env python3
"""The error catalogue under 10 million failures with unique-looking messages: rows kept (the
cap), resident memory (flat) and the cost of one failure. Runs examples/catalogue_bench.rs."""

import json
import subprocess

from common import ROOT, machine, write_results


def main():
    subprocess.run(["cargo", "build", "--profile", "optimized", "--quiet", "--example", "catalogue_bench"],
                   cwd=ROOT, check=True)
    out = subprocess.run([str(ROOT / "target" / "optimized" / "examples" / "catalogue_bench")],
                         check=True, capture_output=True, text=True).stdout
    points = [json.loads(line) for line in out.splitlines() if line.strip()]
    start = points[0]["start_rss_kib"]
    lines = ["Failures fed to the catalogue: a third `connection refused` with a different port and "
             "request id each (normalised to one message), a third with short numbers (distinct "
             "messages, past the cap), a third 5xx statuses.", "",
             f"Resident memory before the first failure: {start / 1024:.1f} MiB.", "",
             "| failures | rows kept | failures counted | resident MiB | ns per failure |",
             "| ---: | ---: | ---: | ---: | ---: |"]
    for p in points[1:]:
        lines.append(f"| {p['errors']:,} | {p['rows']} | {p['counted']:,} | {p['rss_kib'] / 1024:.1f} | "
                     f"{p['ns_per_error']:.0f} |")
    write_results("errors", {"machine": machine(), "points": points}, "\n".join(lines))


if __name__ == "__main__":
    main()
