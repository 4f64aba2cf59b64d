"""After hung jobs: does an environment that abandoned jobs serve later invocations like a fresh one?

``python -m benchmarks run hung-jobs [--invocations 100] [--hung 4] [--timeout 2] [--out FILE]``

Two emulators side by side (ours, `LAMBDA_RUNTIME_DEFER_WORKERS` at its default of 4): in one, the first `--hung`
invocations each leave a deferred job that ignores its cancellation (each billed to its deadline); the other is
fresh. Then both serve `--invocations` healthy invocations, interleaved, each deferring a 10 ms I/O-bound job. Per
environment: client p50, billed p50, the fraction of healthy jobs that ran (their summary line says `1 ok`), the
runtime's threads and its peak memory. Goal: the same as the fresh environment within noise, and 100 % ran. Prints
a table; writes JSON only to `--out` (never over the published results).
"""

from __future__ import annotations

import argparse
import contextlib
import re
import sys
from pathlib import Path
from typing import Any

from benchmarks.client import encode, launch
from benchmarks.harness import Scenario
from benchmarks.procs import EmulatorProcess
from benchmarks.stats import rotated, summarize


def threads_of(pid: int | None) -> int | None:
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except (OSError, TypeError):
        return None
    found = re.search(r"^Threads:\s+(\d+)", status, re.M)
    return int(found[1]) if found else None


def run(invocations: int, hung: int, timeout_s: float, workdir: Path) -> dict[str, Any]:
    emulators = {
        # `route` picks the handler per event, so the environment that hung jobs is the one that serves later.
        name: EmulatorProcess(name, "ours", "bench_handlers.route", workdir, timeout_s=timeout_s)
        for name in ("fresh", "after_hung")
    }
    samples: dict[str, list[Any]] = {name: [] for name in emulators}
    with contextlib.ExitStack() as stack:
        targets = launch(stack, list(emulators.values()))
        for _ in range(hung):
            targets["after_hung"].measure(encode({"do": "hang"}))
        healthy = encode({"do": "deferred_io", "d_ms": 10})
        for name in emulators:  # warm-up, not counted
            for _ in range(5):
                targets[name].measure(healthy)
        for round_no in range(invocations):
            for name in rotated(list(emulators), round_no):
                samples[name].append(targets[name].measure(healthy))
        pids = {name: samples[name][-1].get("runtime_pid") for name in emulators}
        threads = {name: threads_of(pids[name]) for name in emulators}
    results: dict[str, Any] = {}
    for name, emulator in emulators.items():
        log = emulator.log.read_text(errors="replace")
        summaries = re.findall(r"Deferred jobs: (\d+) ok", log)[-invocations:]
        results[name] = {
            "client_ms": summarize(s["client_ms"] for s in samples[name]),
            "billed_ms": summarize(s["billed_ms"] for s in samples[name]),
            "jobs_ran": sum(int(ok) for ok in summaries) / invocations,
            "threads": threads[name],
            "max_memory_used_mb": samples[name][-1].get("max_memory_used_mb"),
        }
    return {"invocations": invocations, "hung": hung, "timeout_s": timeout_s, "environments": results}


def table(result: dict[str, Any]) -> str:
    rows = [
        "| environment | client p50 ms | billed p50 ms | jobs ran | threads | max memory MB |",
        "|---|---|---|---|---|---|",
    ]
    for name, r in result["environments"].items():
        rows.append(
            f"| {name} | {r['client_ms']['p50']:.2f} | {r['billed_ms']['p50']:.0f} | {r['jobs_ran']:.0%} | "
            f"{r['threads']} | {r['max_memory_used_mb']} |"
        )
    return "\n".join(rows)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--invocations", type=int, default=100)
    parser.add_argument("--hung", type=int, default=4)
    parser.add_argument("--timeout", type=float, default=2.0, help="function timeout, s (the hung ones last this long)")


SCENARIO = Scenario(
    name="hung-jobs",
    summary=__doc__.split("\n\n")[0],
    add_arguments=add_arguments,
    measure=lambda args, workdir: run(args.invocations, args.hung, args.timeout, workdir),
    render=table,
)


if __name__ == "__main__":
    sys.exit(SCENARIO.main(prog="python -m benchmarks.hung_jobs"))
