"""target-service throughput and latency, side by side in one run.

Each service runs pinned to core 0 with one worker (tokio: one worker thread; gunicorn: one
sync worker), and oha drives it from core 1 over loopback:

  * bare axum   - a handler returning a constant: the ceiling on this machine
  * /predict    - target-service with the random forest (100 trees)
  * Flask       - bench/flask_service: Flask + pandas + scikit-learn RandomForestRegressor
                  of the same size, under gunicorn

Two measurements each: saturation (32 connections, as fast as it answers) and a fixed
1,000 requests/s (latency corrected for coordinated omission). Same body everywhere: one row in
the pandas column form.

Usage: python3 bench/target_service.py [--seconds 10]
Needs: oha (cargo install oha), taskset, pip install -r bench/requirements.txt
"""

import argparse
import sys

from common import ROOT, cargo_build, free_port, machine, need, oha, start, stop, wait_port, write_results

BODY = ('{"age":{"0":0.038},"sex":{"0":0.051},"bmi":{"0":0.062},"bp":{"0":0.022},'
        '"s1":{"0":-0.044},"s2":{"0":-0.035},"s3":{"0":-0.043},"s4":{"0":-0.003},'
        '"s5":{"0":0.020},"s6":{"0":-0.018}}')


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--seconds", type=int, default=10)
    args = ap.parse_args()
    need("oha", "cargo install oha")
    need("taskset", "apt-get install util-linux")
    try:
        import flask, gunicorn, pandas, sklearn  # noqa: F401
    except ImportError:
        sys.exit("pip install -r bench/requirements.txt")
    cargo_build("-p", "target-service", "--bin", "target-service", "--example", "bare")
    release = ROOT / "target" / "optimized"
    services = {
        "bare axum (constant)": lambda port: start([str(release / "examples" / "bare"), str(port)], 0,
                                                    env={"TOKIO_WORKER_THREADS": "1"}),
        "target-service /predict": lambda port: start(
            [str(release / "target-service"), "--bind", "127.0.0.1", "--port", str(port), "--log-level", "warn"], 0,
            env={"TOKIO_WORKER_THREADS": "1"}),
        "Flask + scikit-learn (gunicorn, 1 worker)": lambda port: start(
            [sys.executable, "-m", "gunicorn", "--workers", "1", "--bind", f"127.0.0.1:{port}", "app:app"], 0,
            cwd=ROOT / "bench" / "flask_service"),
    }
    results = {}
    for name, launch in services.items():
        port = free_port()
        proc = launch(port)
        try:
            wait_port(port)
            url = f"http://127.0.0.1:{port}/predict"
            oha(url, 1, 2, BODY, connections=8)  # warm-up
            sat = oha(url, 1, args.seconds, BODY, connections=32)
            fixed = oha(url, 1, args.seconds, BODY, connections=32, rate=1000)
            results[name] = {"saturation": sat, "fixed_1k": fixed}
            print(f"{name}: {sat['rps']:.0f} rps at saturation; at 1K rps p99 {fixed['p99_ms']:.2f} ms", flush=True)
        finally:
            stop(proc)

    bare = results["bare axum (constant)"]["saturation"]["rps"]
    predict = results["target-service /predict"]["saturation"]["rps"]
    flask_rps = results["Flask + scikit-learn (gunicorn, 1 worker)"]["saturation"]["rps"]
    m = machine()
    lines = [
        f"Machine: {m['cpu']}, {m['cores']} cores, {m['memory_gib']} GiB, Linux {m['kernel']}; {m['date']}.",
        "Service pinned to core 0 (one worker), oha on core 1, loopback, one-row pandas column-form body.",
        "",
        "| service (1 core) | rps at saturation | p50 at saturation | p99 at saturation | achieved at 1K rps | p99 at 1K rps (corrected) |",
        "| --- | ---: | ---: | ---: | ---: | ---: |",
    ]
    for name, r in results.items():
        s, f = r["saturation"], r["fixed_1k"]
        lines.append(f"| {name} | {s['rps']:,.0f} | {s['p50_ms']:.2f} ms | {s['p99_ms']:.2f} ms | "
                     f"{f['rps']:,.0f} | {f['p99_ms']:.2f} ms |")
    lines += [
        "",
        f"- /predict vs bare handler: **{predict / bare:.0%}** of the ceiling (target ≥ 70%)",
        f"- /predict vs Flask per core: **{predict / flask_rps:.0f}×** (target ≥ 30×)",
        f"- /predict p99 at 1K rps: **{results['target-service /predict']['fixed_1k']['p99_ms']:.2f} ms** (target ≤ 2 ms)",
    ]
    write_results("target-service", {"machine": m, "results": results}, "\n".join(lines))


if __name__ == "__main__":
    main()
