"""Shared helpers for the benchmark scripts: machine facts, processes pinned to cores,
waiting for ports, oha runs, and writing results."""

import json
import os
import platform
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "bench" / "out"


def machine():
    cpu = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem_kb = 0
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal"):
                mem_kb = int(line.split()[1])
    except OSError:
        pass
    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "memory_gib": round(mem_kb / 1024 / 1024, 1),
        "kernel": platform.release(),
        "python": platform.python_version(),
        "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
    }


def need(tool, install_hint):
    if shutil.which(tool) is None:
        sys.exit(f"{tool} not found: {install_hint}")


def cargo_build(*args):
    subprocess.run(["cargo", "build", "--profile", "optimized", "--quiet", *args], cwd=ROOT, check=True)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_port(port, timeout=60.0):
    deadline = time.time() + timeout
    while time.time() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"nothing listening on 127.0.0.1:{port} after {timeout}s")


def start(cmd, core, env=None, cwd=None):
    """Starts `cmd` pinned to `core` (taskset), output discarded."""
    full = ["taskset", "-c", str(core), *cmd]
    return subprocess.Popen(
        full,
        cwd=cwd or ROOT,
        env={**os.environ, **(env or {})},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def stop(proc):
    proc.terminate()
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def oha(url, core, seconds, body=None, connections=32, rate=None):
    """One oha run pinned to `core`; returns (rps, p50 ms, p99 ms, success rate)."""
    cmd = ["taskset", "-c", str(core), "oha", "-z", f"{seconds}s", "-c", str(connections),
           "--no-tui", "--output-format", "json"]
    if body is not None:
        cmd += ["-m", "POST", "-d", body, "-T", "application/json"]
    if rate is not None:
        cmd += ["-q", str(rate), "--latency-correction"]
    out = subprocess.run(cmd + [url], check=True, capture_output=True, text=True).stdout
    d = json.loads(out)
    s, p = d["summary"], d["latencyPercentiles"]
    return {
        "rps": s["requestsPerSec"],
        "p50_ms": (p.get("p50") or 0) * 1000,
        "p99_ms": (p.get("p99") or 0) * 1000,
        "success": s["successRate"],
    }


def cpu_seconds(pid):
    """User + system CPU seconds of a process and its threads so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    ticks = os.sysconf("SC_CLK_TCK")
    return (int(fields[11]) + int(fields[12])) / ticks


def write_results(name, data, table):
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / f"{name}.json").write_text(json.dumps(data, indent=2) + "\n")
    (OUT / f"{name}.md").write_text(table + "\n")
    print(table)
    print(f"\nwrote bench/out/{name}.json and bench/out/{name}.md")
