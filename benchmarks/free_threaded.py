"""Thread jobs on a free-threaded interpreter: the same build with the GIL forced on and off, billed side by side.

``python -m benchmarks run free-threaded --python /opt/python3.13t/bin/python3.13t [--rounds 8] [--out FILE]``

The runtime runs under `--python` (a free-threaded CPython with requests, tenacity and python-json-logger
installed; docs/guides/process-jobs.md, "Free-threaded Python", says how one was built) twice: `PYTHON_GIL=1` and
`PYTHON_GIL=0`.
Each round invokes k = 2, 8, 16 pure-Python jobs of nominally 20 ms on `executor="thread"` against both, in
rotated order, and the process executor with the GIL on as the alternative it replaces. Reports billed p50 and the
no-GIL / GIL ratio. The emulator and the client run on this interpreter, sharing the machine's cores.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
from pathlib import Path
from typing import Any

from benchmarks.client import encode, launch
from benchmarks.harness import Scenario, UsageError
from benchmarks.latency import calibrate
from benchmarks.procs import EmulatorProcess, ours_with
from benchmarks.stats import rotated, summarize

REPO = Path(__file__).resolve().parent.parent
COUNTS = (2, 8, 16)
MODES = {"gil": "1", "nogil": "0"}


def _emulator(python: str, mode: str, workdir: Path, memory_mb: int) -> EmulatorProcess:
    emulator = EmulatorProcess(f"free-threaded-{mode}", "ours", "bench_handlers.cpu_jobs", workdir, timeout_s=60)
    # The repository on PYTHONPATH: the runtime under test is this checkout's, run by the other interpreter.
    runtime = ours_with({"PYTHON_GIL": MODES[mode], "PYTHONPATH": str(REPO)}, python)
    emulator.command += ["--runtime-command", runtime, "--memory-size", str(memory_mb)]
    return emulator


def run(python: str, rounds: int, workdir: Path, memory_mb: int = 3538) -> dict[str, Any]:
    ipm = calibrate()
    configs = [
        (mode, k, ex) for k in COUNTS for mode, ex in (("gil", "thread"), ("nogil", "thread"), ("gil", "process"))
    ]
    billed: dict[str, list[float]] = {f"{mode}/{k}/{ex}": [] for mode, k, ex in configs}
    with contextlib.ExitStack() as stack:
        targets = launch(stack, [_emulator(python, mode, workdir, memory_mb) for mode in MODES])

        def measure(key: str) -> float:
            mode, k, executor = key.split("/")
            payload = encode({"kind": "py", "k": int(k), "executor": executor, "ms": 20, "ipm": ipm})
            return float(targets[f"free-threaded-{mode}"].measure(payload)["billed_ms"])

        for key in billed:  # warm-up: starts the process workers too
            measure(key)
        for round_no in range(rounds):
            for key in rotated(list(billed), round_no):
                billed[key].append(measure(key))
    table = {key: summarize(values) for key, values in billed.items()}
    return {
        "python": python,
        "rounds": rounds,
        "memory_mb": memory_mb,
        "billed_ms": table,
        "nogil_over_gil": {k: table[f"nogil/{k}/thread"]["p50"] / table[f"gil/{k}/thread"]["p50"] for k in COUNTS},
    }


def render(result: dict[str, Any]) -> str:
    rows = [
        "| jobs | thread, GIL on | thread, GIL off | no-GIL / GIL | process executor, GIL on |",
        "|---" * 5 + "|",
    ]
    for k, ratio in result["nogil_over_gil"].items():
        on, off, process = (
            result["billed_ms"][key]["p50"] for key in (f"gil/{k}/thread", f"nogil/{k}/thread", f"gil/{k}/process")
        )
        rows.append(f"| {k} | {on:.0f} ms | {off:.0f} ms | {ratio:.2f} | {process:.0f} ms |")
    return "\n".join(rows)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--python", help="a free-threaded interpreter (sys.abiflags has 't'); required")
    parser.add_argument("--rounds", type=int, default=8)


def _measure(args: argparse.Namespace, workdir: Path) -> dict[str, Any]:
    if not args.python or not os.access(args.python, os.X_OK):
        raise UsageError(f"--python {args.python}: not an executable (a free-threaded interpreter is required)")
    return run(args.python, args.rounds, workdir)


SCENARIO = Scenario(
    name="free-threaded",
    summary=__doc__.split("\n\n")[0],
    add_arguments=add_arguments,
    measure=lambda args, workdir: _measure(args, workdir),
    render=render,
)


if __name__ == "__main__":
    sys.exit(SCENARIO.main(prog="python -m benchmarks.free_threaded"))
