"""CPU-bound deferred jobs: the thread pool against the process executor, billed duration side by side.

``python -m benchmarks run process-jobs [--rounds 15] [--memory 3538] [--out FILE]``

One emulator (ours), function memory `--memory` (3,538 MB: two vCPUs' worth, so two worker processes, as on this
2-core machine). Each round invokes every configuration once, in rotated order: k = 2, 8, 16 jobs of pure-Python
work (20 ms each, calibrated), of hashlib over 4 MB (releases the GIL), and of nothing (the executor's own cost), on
`executor="thread"` and `"process"`. Reports billed p50 per configuration, the process/thread ratio, and the process
executor's per-job overhead on no-op jobs. The first process job of the run starts the workers (the warm-up round
absorbs it; its cost is reported as `worker_start_ms`). Prints a table; the JSON goes to `--out`, or to a new file
in the untracked `results/local`.

Each round also measures the machine's own floor for the pure-Python rows, with no runtime at all: the same k jobs
run by two bare Python processes in parallel, against one of them running all k in turn. On a shared 2-vCPU machine
two processes rarely get two whole cores, so that ratio is above 0.5; the executor can only be judged against it.
"""

from __future__ import annotations

import argparse
import contextlib
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

from benchmarks.client import encode, launch
from benchmarks.harness import Scenario
from benchmarks.latency import calibrate
from benchmarks.procs import FUNCTIONS, EmulatorProcess
from benchmarks.stats import rotated, summarize

COUNTS = (2, 8, 16)
KINDS = ("py", "hash", "noop")
EXECUTORS = ("thread", "process")
# A bare worker: reads an iteration count per line, spins the handlers' own loop, answers a line.
BARE_WORKER = (
    "import sys\nfrom bench_handlers import spin\nfor line in sys.stdin:\n    spin(int(line)); print(flush=True)"
)


class BareProcesses:
    """Two plain Python processes spinning the handlers' loop: what the machine gives without any runtime."""

    def __init__(self, size: int = 2) -> None:
        self.processes = [
            subprocess.Popen(
                [sys.executable, "-c", BARE_WORKER],
                cwd=FUNCTIONS,
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                text=True,
            )
            for _ in range(size)
        ]

    def run(self, jobs: int, iterations: int, parallel: bool) -> float:
        """Milliseconds to run `jobs` jobs: on every process, each taking the next job when free, or on one alone."""
        remaining = iter(range(jobs))
        lock = threading.Lock()

        def drive(process: subprocess.Popen[str]) -> None:
            assert process.stdin is not None and process.stdout is not None
            while True:
                with lock:
                    if next(remaining, None) is None:
                        return
                process.stdin.write(f"{iterations}\n")
                process.stdin.flush()
                process.stdout.readline()

        drivers = [
            threading.Thread(target=drive, args=(p,)) for p in self.processes[: len(self.processes) if parallel else 1]
        ]
        start = time.perf_counter()
        for driver in drivers:
            driver.start()
        for driver in drivers:
            driver.join()
        return (time.perf_counter() - start) * 1000

    def close(self) -> None:
        for process in self.processes:
            assert process.stdin is not None
            process.stdin.close()
            process.wait()


def run(rounds: int, memory_mb: int, workdir: Path, counts: tuple[int, ...] = COUNTS) -> dict[str, Any]:
    ipm = calibrate()
    emulator = EmulatorProcess("process_jobs", "ours", "bench_handlers.cpu_jobs", workdir, timeout_s=60)
    emulator.command += ["--memory-size", str(memory_mb)]
    configs = [(kind, k, executor) for kind in KINDS for k in counts for executor in EXECUTORS]
    billed: dict[str, list[float]] = {f"{kind}/{k}/{ex}": [] for kind, k, ex in configs}
    bare: dict[str, list[float]] = {f"py/{k}/{mode}": [] for k in counts for mode in ("one", "two")}
    with contextlib.ExitStack() as stack:
        (target,) = launch(stack, [emulator]).values()
        bare_processes = BareProcesses()
        stack.callback(bare_processes.close)
        payload = {
            key: encode({"kind": kind, "k": k, "executor": ex, "ms": 20, "ipm": ipm})
            for key, (kind, k, ex) in zip(billed, configs, strict=True)
        }
        first = target.measure(encode({"kind": "noop", "k": 1, "executor": "process", "ms": 0, "ipm": ipm}))
        for key in billed:  # warm-up
            target.measure(payload[key])
        for round_no in range(rounds):
            for key in rotated([*billed, *bare], round_no):
                if key in bare:
                    _, k, mode = key.split("/")
                    bare[key].append(bare_processes.run(int(k), int(20 * ipm), parallel=mode == "two"))
                else:
                    billed[key].append(target.measure(payload[key])["billed_ms"])
    table = {key: summarize(values) for key, values in billed.items()}
    bare_table = {key: summarize(values) for key, values in bare.items()}
    ratios = {
        f"{kind}/{k}": table[f"{kind}/{k}/process"]["p50"] / table[f"{kind}/{k}/thread"]["p50"]
        for kind in KINDS
        for k in counts
    }
    floor = {f"py/{k}": bare_table[f"py/{k}/two"]["p50"] / bare_table[f"py/{k}/one"]["p50"] for k in counts}
    k = max(counts)
    overhead = (table[f"noop/{k}/process"]["p50"] - table[f"noop/{k}/thread"]["p50"]) / k
    return {
        "memory_mb": memory_mb,
        "rounds": rounds,
        "iterations_per_ms": ipm,
        "billed_ms": table,
        "process_over_thread": ratios,
        "bare_ms": bare_table,
        "machine_floor": floor,
        "process_overhead_per_job_ms": overhead,
        "worker_start_ms": first["after_response_ms"],
    }


def render(result: dict[str, Any]) -> str:
    rows = [
        "| jobs | thread billed p50 ms | process billed p50 ms | process / thread | machine floor (bare 2 / 1) |",
        "|---" * 5 + "|",
    ]
    for key, ratio in result["process_over_thread"].items():
        thread, process = (result["billed_ms"][f"{key}/{ex}"]["p50"] for ex in EXECUTORS)
        floor = result["machine_floor"].get(key)
        rows.append(
            f"| {key} | {thread:.0f} | {process:.0f} | {ratio:.2f} | {'' if floor is None else f'{floor:.2f}'} |"
        )
    rows.append("")
    rows.append(
        f"process executor overhead per no-op job: {result['process_overhead_per_job_ms']:.2f} ms; "
        f"first process job (starts the workers): {result['worker_start_ms']:.0f} ms after the response"
    )
    return "\n".join(rows)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--rounds", type=int, default=15)
    parser.add_argument("--memory", type=int, default=3538, help="function memory, MB (sets the worker count)")


SCENARIO = Scenario(
    name="process-jobs",
    summary=__doc__.split("\n\n")[0],
    add_arguments=add_arguments,
    measure=lambda args, workdir: run(args.rounds, args.memory, workdir),
    render=render,
)


if __name__ == "__main__":
    sys.exit(SCENARIO.main(prog="python -m benchmarks.process_jobs"))
