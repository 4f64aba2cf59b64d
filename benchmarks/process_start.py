"""Process workers started on first use or at init: which one costs a cold start less.

``python -m benchmarks run process-start [--starts 10] [--memory 3538] [--out FILE]``

Two emulators, function memory `--memory` (3,538 MB: two workers). One runtime starts its worker processes on first
use (the default), the other at init (`LAMBDA_RUNTIME_DEFER_PROCESSES_AT_INIT=true`). Each cold start: the first
invocation defers two pure-Python process jobs of 20 ms, a second (warm) one does the same, then an event ends the
runtime so that the next one starts cold. Starts alternate between the two. Reports medians of Init Duration
(`init_ms`), the first invocation's billed duration, their sum (what the cold start cost in all), and the warm
invocation's billed duration for reference.
"""

from __future__ import annotations

import argparse
import contextlib
import sys
from pathlib import Path
from typing import Any

from benchmarks.client import encode, launch
from benchmarks.harness import Scenario
from benchmarks.latency import calibrate
from benchmarks.procs import EmulatorProcess, ours_with
from benchmarks.stats import rotated, summarize

MODES = {"first_use": "false", "at_init": "true"}
EXIT = b'{"exit": true}'


def _emulator(mode: str, workdir: Path, memory_mb: int) -> EmulatorProcess:
    emulator = EmulatorProcess(f"start-{mode}", "ours", "bench_handlers.cold_process_jobs", workdir, timeout_s=60)
    runtime = ours_with({"LAMBDA_RUNTIME_DEFER_PROCESSES_AT_INIT": MODES[mode]})
    emulator.command += ["--runtime-command", runtime, "--memory-size", str(memory_mb)]
    return emulator


def run(starts: int, workdir: Path, memory_mb: int = 3538) -> dict[str, Any]:
    payload = encode({"k": 2, "ms": 20, "ipm": calibrate()})
    figures: dict[str, dict[str, list[float]]] = {
        mode: {"init_ms": [], "first_billed_ms": [], "cold_total_ms": [], "warm_billed_ms": []} for mode in MODES
    }
    with contextlib.ExitStack() as stack:
        targets = launch(stack, [_emulator(mode, workdir, memory_mb) for mode in MODES])
        for target in targets.values():  # each first cold start, taken while the other emulator was starting
            target.measure(payload)
            target.measure(EXIT, allow_error=True)
        for round_no in range(starts):
            for mode in rotated(list(MODES), round_no):
                target = targets[f"start-{mode}"]
                first, warm = target.measure(payload), target.measure(payload)
                target.measure(EXIT, allow_error=True)
                if first["init_ms"] is None:
                    raise RuntimeError(f"{mode}: the first invocation's record has no init_ms")
                row = figures[mode]
                row["init_ms"].append(first["init_ms"])
                row["first_billed_ms"].append(first["billed_ms"])
                row["cold_total_ms"].append(first["init_ms"] + first["billed_ms"])
                row["warm_billed_ms"].append(warm["billed_ms"])
    table = {mode: {key: summarize(values) for key, values in rows.items()} for mode, rows in figures.items()}
    return {"starts": starts, "memory_mb": memory_mb, "ms": table}


def render(result: dict[str, Any]) -> str:
    keys = ("init_ms", "first_billed_ms", "cold_total_ms", "warm_billed_ms")
    rows = ["| workers start | Init Duration | first invocation billed | sum | warm invocation billed |"]
    rows.append("|---" * 5 + "|")
    for mode, label in (("first_use", "on first use"), ("at_init", "at init")):
        cells = " | ".join(f"{result['ms'][mode][key]['p50']:.0f} ms" for key in keys)
        rows.append(f"| {label} | {cells} |")
    return "\n".join(rows)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--starts", type=int, default=10, help="cold starts per mode")
    parser.add_argument("--memory", type=int, default=3538, help="function memory, MB (sets the worker count)")


SCENARIO = Scenario(
    name="process-start",
    summary=__doc__.split("\n\n")[0],
    add_arguments=add_arguments,
    measure=lambda args, workdir: run(args.starts, workdir, args.memory),
    render=render,
)


if __name__ == "__main__":
    sys.exit(SCENARIO.main(prog="python -m benchmarks.process_start"))
