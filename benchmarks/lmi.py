"""Lambda Managed Instances: ``python -m benchmarks.lmi [--quick] [--out FILE]``.

Closed loop, N clients against the emulator's LMI mode (``max_concurrency=N``, one environment): throughput
(invocations per second) and the environment's memory summed over all its processes (RSS, and PSS, which counts a
page shared by forked processes once), peak of samples taken during the run. Runtimes, side by side in one run:
ours with threads, ours with process workers (``LAMBDA_RUNTIME_WORKER_PROCESSES``), awslambdaric 4.x's
multi-concurrent mode (one forked process per slot). Handlers: I/O-bound (sleep 20 ms) at N = 16 and 64, and
CPU-bound (20 ms of pure-Python loop) at N = 4 (threads, 2 processes x 2 threads, 4 processes), in interleaved
rounds (each configuration once per round, ``--rounds``, default 3) so that the machine's drift hits them alike; its
rows give the median round, and every round's figure.
Writes ``benchmarks/results/local/lmi-<UTC time>.json`` (never an existing file; published results are not touched).
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import sys
import threading
import time
from pathlib import Path
from typing import Any

import psutil
import requests

from benchmarks.functions.bench_handlers import spin
from benchmarks.procs import FUNCTIONS
from benchmarks.results_file import save
from lambda_runtime.emulator import Emulator

HANDLER = "bench_handlers.handler_only"
AWSLAMBDARIC = [sys.executable, "-m", "awslambdaric", HANDLER]


def iterations_per_ms() -> float:
    started = time.perf_counter()
    spin(2_000_000)
    return 2_000_000 / ((time.perf_counter() - started) * 1000)


def tree_memory_mb(pid: int) -> tuple[float, float]:
    """RSS and PSS of `pid` and all its descendants, MB."""
    rss = pss = 0
    try:
        root = psutil.Process(pid)
        for process in [root, *root.children(recursive=True)]:
            info = process.memory_full_info()
            rss += info.rss
            pss += info.pss
    except psutil.Error:
        pass
    return rss / 2**20, pss / 2**20


def run(runtime: str, n: int, event: dict[str, Any], seconds: float, processes: int = 1) -> dict[str, Any]:
    env = {"LAMBDA_RUNTIME_WORKER_PROCESSES": str(processes)} if runtime == "ours" else {}
    options: dict[str, Any] = {"runtime_command": AWSLAMBDARIC} if runtime == "awslambdaric" else {}
    with Emulator(
        HANDLER, task_root=str(FUNCTIONS), max_concurrency=n, timeout=30, env={**_base_env(), **env}, **options
    ) as emulator:
        url = f"{emulator.url}/2015-03-31/functions/function/invocations"
        body = json.dumps(event).encode()
        requests.post(url, data=body, timeout=60).raise_for_status()  # the cold start, not measured
        stop = threading.Event()
        counts = [0] * n
        errors = [0]

        def client(index: int) -> None:
            with requests.Session() as session:
                while not stop.is_set():
                    answer = session.post(url, data=body, timeout=60)
                    if answer.status_code == 200 and "X-Amz-Function-Error" not in answer.headers:
                        counts[index] += 1
                    else:
                        errors[0] += 1

        threads = [threading.Thread(target=client, args=(i,), daemon=True) for i in range(n)]
        for thread in threads:
            thread.start()
        time.sleep(1.0)  # warm-up: every slot busy, every process started
        before, started = sum(counts), time.perf_counter()
        samples = []
        while time.perf_counter() - started < seconds:
            time.sleep(min(0.5, seconds / 4))
            samples.append(tree_memory_mb(emulator.runtime_pids()[0]))
        done, elapsed = sum(counts) - before, time.perf_counter() - started
        stop.set()
        for thread in threads:
            thread.join(timeout=60)
    label = runtime if runtime != "ours" else ("ours-threads" if processes == 1 else f"ours-{processes}proc")
    return {
        "runtime": label,
        "n": n,
        "throughput": round(done / elapsed, 1),
        "rss_mb": round(max(s[0] for s in samples), 1),
        "pss_mb": round(max(s[1] for s in samples), 1),
        "errors": errors[0],
    }


def _base_env() -> dict[str, str]:
    return {**os.environ, "AWS_LAMBDA_LOG_LEVEL": "WARN"}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.lmi", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="3 s per measurement instead of 8")
    parser.add_argument("--out", type=Path, help="where to write the JSON (default: a new file in results/local/)")
    parser.add_argument("--rounds", type=int, default=3, help="interleaved rounds of the CPU-bound case")
    args = parser.parse_args(argv)
    seconds = 3.0 if args.quick else 8.0
    io_event = {"kind": "io", "c_ms": 20, "ipm": 0}
    cpu_event = {"kind": "cpu", "c_ms": 20, "ipm": iterations_per_ms()}
    rows = []
    for n in (16, 64):
        for runtime, processes in (("ours", 1), ("ours", min(n, 16)), ("awslambdaric", 1)):
            rows.append({"handler": "io-20ms", **run(runtime, n, io_event, seconds, processes)})
            print(json.dumps(rows[-1]), flush=True)
    rows += cpu_rows(cpu_event, seconds, args.rounds)
    stamp = datetime.datetime.now(datetime.timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    meta = {"date": stamp, "seconds": seconds, "cpus": psutil.cpu_count(), "python": sys.version.split()[0]}
    out = save({"meta": meta, "rows": rows}, "lmi", args.out)
    print(summary(rows))
    print(f"written: {out}")
    return 0


def cpu_rows(event: dict[str, Any], seconds: float, rounds: int) -> list[dict[str, Any]]:
    """The CPU-bound configurations, interleaved: one row each, the median round's throughput and every round's."""
    configs = (("ours", 1), ("ours", 2), ("ours", 4), ("awslambdaric", 1))
    measured: dict[tuple[str, int], list[dict[str, Any]]] = {config: [] for config in configs}
    for _ in range(rounds):
        for runtime, processes in configs:
            measured[(runtime, processes)].append(run(runtime, 4, event, seconds, processes))
            print(json.dumps({"handler": "cpu-20ms", **measured[(runtime, processes)][-1]}), flush=True)
    rows = []
    for results in measured.values():
        middle = sorted(results, key=lambda row: row["throughput"])[len(results) // 2]
        rows.append({"handler": "cpu-20ms", **middle, "rounds": [row["throughput"] for row in results]})
    return rows


def summary(rows: list[dict[str, Any]]) -> str:
    """The ratios docs/guides/managed-instances.md quotes: ours (threads) against awslambdaric at each N and handler."""
    lines = []
    for handler, n in sorted({(row["handler"], row["n"]) for row in rows}):
        by = {row["runtime"]: row for row in rows if row["handler"] == handler and row["n"] == n}
        theirs = by.get("awslambdaric")
        for name, row in by.items():
            ratio = ""
            if theirs and name != "awslambdaric":
                speed = row["throughput"] / theirs["throughput"]
                ratio = f"  throughput x{speed:.2f}, RSS x{row['rss_mb'] / theirs['rss_mb']:.2f}"
                ratio += f", PSS x{row['pss_mb'] / theirs['pss_mb']:.2f}"
            threads = by.get("ours-threads")
            if threads and name.startswith("ours-") and name != "ours-threads":
                ratio += f"; throughput x{row['throughput'] / threads['throughput']:.2f} of threads'"
            if "rounds" in row:
                ratio += f"  rounds {row['rounds']}"
            lines.append(
                f"{handler} N={n:<3} {name:<14} {row['throughput']:8.1f} inv/s  RSS {row['rss_mb']:7.1f} MB  "
                f"PSS {row['pss_mb']:7.1f} MB{ratio}"
            )
    return "\n".join(lines)


if __name__ == "__main__":
    raise SystemExit(main())
