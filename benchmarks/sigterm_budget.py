"""SIGTERM against Lambda's budget: ``python -m benchmarks.sigterm_budget [--repeats 20] [--busy 2] [--out FILE]``.

One invocation at a time (no freezing, so the signal is handled at once, as on Lambda where the environment is thawed
for the Shutdown phase): the handler defers a job that ignores its cancellation and a shutdown hook hangs, the worst
case. Then SIGTERM, `--repeats` times per budget: 300 ms (no extension) and 500 ms (the runtime's own internal
extension, `LAMBDA_RUNTIME_SHUTDOWN_EXTENSION=true`). Measured from the signal to the process gone, with `--busy`
processes spinning on the CPU meanwhile (a busy box). Goal: the longest exit within the budget. Prints a table;
writes JSON to ``--out`` or a new file in ``results/local``.
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import signal
import statistics
import sys
import time
from pathlib import Path
from typing import Any

import psutil

from benchmarks.procs import FUNCTIONS
from benchmarks.results_file import run_and_save
from lambda_runtime.emulator import Emulator

BUDGETS_MS = {"300": {}, "500": {"LAMBDA_RUNTIME_SHUTDOWN_EXTENSION": "true"}}


def _spin() -> None:
    while True:
        pass


def _gone_after(pid: int, since: float) -> float:
    while True:
        try:
            if psutil.Process(pid).status() == psutil.STATUS_ZOMBIE:
                break
        except psutil.NoSuchProcess:
            break
        time.sleep(0.001)
    return (time.monotonic() - since) * 1000


def one_exit(extra_env: dict[str, str]) -> float:
    env = {**os.environ, **extra_env}
    # The emulator's own SIGKILL comes late: what is measured is the runtime keeping its budget by itself.
    options: dict[str, Any] = {"freeze": False, "kill_grace": 30.0, "shutdown_budget": 30.0}
    with Emulator("bench_exit.handler", task_root=str(FUNCTIONS), env=env, **options) as emulator:
        emulator.invoke({}).raise_for_status()
        emulator.wait_for_records(1)
        pid = emulator.runtime_pid
        assert pid is not None
        started = time.monotonic()
        os.kill(pid, signal.SIGTERM)
        return _gone_after(pid, started)


def run(repeats: int, busy: int, workdir: Path) -> dict[str, Any]:
    spinners = [multiprocessing.Process(target=_spin, daemon=True) for _ in range(busy)]
    for spinner in spinners:
        spinner.start()
    try:
        exits = {budget: [one_exit(env) for _ in range(repeats)] for budget, env in BUDGETS_MS.items()}
    finally:
        for spinner in spinners:
            spinner.terminate()
    return {
        "repeats": repeats,
        "busy": busy,
        "budgets": {
            budget: {
                "p50_ms": round(statistics.median(ms), 1),
                "max_ms": round(max(ms), 1),
                "within": sum(m < float(budget) for m in ms),
                "exit_ms": [round(m, 1) for m in ms],
            }
            for budget, ms in exits.items()
        },
    }


def table(result: dict[str, Any]) -> str:
    rows = ["| budget ms | exits | p50 ms | longest ms | within budget |", "|---|---|---|---|---|"]
    for budget, r in result["budgets"].items():
        rows.append(f"| {budget} | {result['repeats']} | {r['p50_ms']} | {r['max_ms']} | {r['within']} |")
    return "\n".join(rows)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.sigterm_budget", description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=20)
    parser.add_argument("--busy", type=int, default=2, help="processes spinning on the CPU meanwhile")
    parser.add_argument("--out", type=Path, help="the JSON file (default: a new one in results/local)")
    args = parser.parse_args(argv)
    return run_and_save("sigterm-budget", lambda workdir: run(args.repeats, args.busy, workdir), table, args.out)


if __name__ == "__main__":
    sys.exit(main())
