"""Overload, with and without hand-off: how many deferred jobs complete, how many are lost, what it costs.

``python -m benchmarks.handoff [--invocations 10] [--jobs 8] [--job-ms 200] [--timeout 1] [--out FILE]``

Two emulators side by side, each one environment with one deferred-job worker (`LAMBDA_RUNTIME_DEFER_WORKERS=1`).
Every invocation defers `--jobs` I/O-bound jobs of `--job-ms` each: more than the worker drains before the
`--timeout` deadline, so work arrives faster than the pool can finish it. In "defer_only" the jobs that do not start
in time are reported (not started) and lost. In "hand_off" they are deferred with `fallback="hand_off"`: those that
would not start are sent to the emulator's async queue as signed Event invocations of the same function, which run
them after the synchronous invocations. Per configuration: jobs deferred, completed (a job prints one line when it
is done), lost (deferred minus completed; goal with hand-off: 0), hand-offs sent, and billed time: the synchronous
invocations', the Event invocations' (the extra the hand-off costs) and per completed job. Prints a table; writes
JSON only to `--out` (never over the published results).
"""

from __future__ import annotations

import argparse
import contextlib
import re
import socket
import sys
import time
from pathlib import Path
from typing import Any

from benchmarks.client import encode, launch
from benchmarks.procs import EmulatorProcess, ours_with
from benchmarks.results_file import run_and_save
from benchmarks.stats import rotated

HANDLER = "bench_handoff.handler"
KEY = "benchmark-only-key-0123456789abcdef0123456789"
CONFIGURATIONS = {"defer_only": False, "hand_off": True}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def emulator(name: str, hand_off: bool, timeout_s: float, workdir: Path) -> EmulatorProcess:
    """`lambda-runtime serve` on a port known in advance, so the function's boto3 can be pointed back at it."""
    process = EmulatorProcess(name, "ours", HANDLER, workdir, timeout_s=timeout_s)
    port = free_port()
    env = {"LAMBDA_RUNTIME_DEFER_WORKERS": "1", "AWS_LAMBDA_LOG_LEVEL": "INFO"}
    if hand_off:
        env |= {"LAMBDA_RUNTIME_HANDOFF_KEY": KEY, "AWS_ENDPOINT_URL_LAMBDA": f"http://127.0.0.1:{port}"}
    command = process.command
    command[command.index("--port") + 1] = str(port)
    command[command.index("--runtime-command") + 1] = ours_with(env)
    command += ["--on-success", str(workdir / f"{process.name}.ok.jsonl")]
    command += ["--on-failure", str(workdir / f"{process.name}.failed.jsonl")]
    return process


def after_warm_up(log: str) -> str:
    """The log after the warm-up invocation's summary line (the first one)."""
    first = log.find("Deferred jobs:")
    return log[log.index("\n", first) :] if first >= 0 else log


def lines(path: Path) -> int:
    return len(path.read_text().splitlines()) if path.exists() else 0


def wait_for_event_outcomes(process: EmulatorProcess, workdir: Path, count: int, timeout: float = 300.0) -> None:
    """Block until `count` Event invocations have an outcome (success or failure record)."""
    ok, failed = workdir / f"{process.name}.ok.jsonl", workdir / f"{process.name}.failed.jsonl"
    deadline = time.monotonic() + timeout
    while lines(ok) + lines(failed) < count:
        if time.monotonic() > deadline:
            raise TimeoutError(f"{process.name}: {lines(ok) + lines(failed)} of {count} Event outcomes")
        time.sleep(0.05)


def run(invocations: int, jobs: int, job_ms: int, timeout_s: float, workdir: Path) -> dict[str, Any]:
    processes = {name: emulator(name, on, timeout_s, workdir) for name, on in CONFIGURATIONS.items()}
    with contextlib.ExitStack() as stack:
        targets = launch(stack, list(processes.values()))
        for name in processes:  # warm-up, not counted: the first hand-off of an environment imports boto3
            event = {"id": "warm-up", "jobs": 1, "ms": 1, "hold_ms": 400, "hand_off": CONFIGURATIONS[name]}
            targets[name].measure(encode(event))
        for round_no in range(invocations):
            for name in rotated(list(processes), round_no):
                event = {"id": f"{round_no}", "jobs": jobs, "ms": job_ms, "hand_off": CONFIGURATIONS[name]}
                targets[name].measure(encode(event))
        handed = {}
        for name, process in processes.items():
            log = process.log.read_text(errors="replace")
            handed[name] = sum(int(n) for n in re.findall(r"; (\d+) handed off", after_warm_up(log)))
            wait_for_event_outcomes(process, workdir, handed[name])
        records = {name: targets[name].tail for name in processes}
        for tail in records.values():
            time.sleep(0.2)  # the last Event's record follows its outcome by one /next
            tail.poll()
    results: dict[str, Any] = {}
    for name, process in processes.items():
        log = process.log.read_text(errors="replace")
        done = set(re.findall(r"bench job done (\d+-\d+)", log))
        by_type: dict[str, list[float]] = {"RequestResponse": [], "Event": []}
        for record in list(records[name].records.values())[1:]:  # after the warm-up
            by_type[record["invocation_type"]].append(record["billed_ms"] or 0)
        deferred = invocations * jobs
        failed = sum(int(n) for n in re.findall(r"(\d+) hand-off failed", after_warm_up(log)))
        results[name] = {
            "deferred": deferred,
            "completed": len(done),
            "lost": deferred - len(done),
            "handed_off": handed[name],
            "hand_off_failed": failed,
            "billed_ms_sync": sum(by_type["RequestResponse"]),
            "billed_ms_events": sum(by_type["Event"]),
            "event_invocations": len(by_type["Event"]),
            "billed_ms_per_completed_job": (sum(by_type["RequestResponse"]) + sum(by_type["Event"]))
            / max(1, len(done)),
        }
    return {"invocations": invocations, "jobs": jobs, "job_ms": job_ms, "timeout_s": timeout_s, "configs": results}


def table(result: dict[str, Any]) -> str:
    rows = [
        "| configuration | deferred | completed | lost | handed off | hand-off failed | billed sync ms | "
        "billed Event ms | billed ms per completed job |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for name, r in result["configs"].items():
        rows.append(
            f"| {name} | {r['deferred']} | {r['completed']} | {r['lost']} | {r['handed_off']} | "
            f"{r['hand_off_failed']} | {r['billed_ms_sync']:.0f} | {r['billed_ms_events']:.0f} | "
            f"{r['billed_ms_per_completed_job']:.0f} |"
        )
    return "\n".join(rows)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.handoff", description=__doc__.split("\n\n")[0])
    parser.add_argument("--invocations", type=int, default=10)
    parser.add_argument("--jobs", type=int, default=8, help="jobs each invocation defers")
    parser.add_argument("--job-ms", type=int, default=200, help="how long each job takes, ms")
    parser.add_argument("--timeout", type=float, default=1.0, help="function timeout, s")
    parser.add_argument("--out", type=Path, help="the JSON file (default: a new one in results/local)")
    args = parser.parse_args(argv)
    return run_and_save(
        "handoff", lambda workdir: run(args.invocations, args.jobs, args.job_ms, args.timeout, workdir), table, args.out
    )


if __name__ == "__main__":
    sys.exit(main())
