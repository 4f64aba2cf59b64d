"""Exit under load: ``python -m benchmarks.exit_load [--quick] [--runs 3] [--out FILE]``.

Lambda Managed Instances (the emulator's LMI mode, N = 16 slots, one environment at a time), a steady stream of
invocations from N paced clients, each deferring a 200 ms job, and an exit forced every 200 invocations, one phase
per trigger: the abandoned-job cap (a job that ignores its 0.1 s `job_timeout`, `LAMBDA_RUNTIME_DEFER_MAX_ABANDONED=0`),
the `exit` policy (the same job, `LAMBDA_RUNTIME_DEFER_OVERRUN=exit`) and SIGTERM (sent to the runtime; no extension:
Lambda's 300 ms budget). Lambda starts a fresh environment after each exit; the stream goes on.

Every job the handler says it deferred either says it finished, or is named by an exit's line (`Deferred jobs cut
short by ...`, with the job's request id). Reported per phase and in all: jobs finished, jobs named as cut short, jobs
unaccounted for (neither: goal 0), and the longest exit, from its trigger (the overrunning job's `must exit` line, or
the signal) to the process gone, against its documented bound (docs/concepts/exits.md: 300 ms for SIGTERM; for the
others, the latest deadline of the invocations in flight plus 0.5 s, plus the shutdown hooks' 300 ms).
``--quick``: N = 4, an exit every 20 invocations, one per phase (small enough for a test). Prints a table; writes JSON
to ``--out`` or a new file in ``results/local`` (never over the published results).
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import signal
import sys
import threading
import time
from pathlib import Path
from typing import Any

import psutil
import requests

from benchmarks.procs import FUNCTIONS
from benchmarks.results_file import run_and_save
from lambda_runtime.emulator import Emulator

HANDLER = "bench_handlers.route"
JOB_MS = 200
TIMEOUT_S = 30.0  # the function's timeout: an invocation's deadline, which bounds the exits that wait for it
SIGTERM_BUDGET_MS = 300.0
DEADLINE_GRACE_MS = 500.0 + 300.0  # exits.py DEADLINE_GRACE_S, then the shutdown hooks' budget
PHASES = {
    "abandoned-cap": {"LAMBDA_RUNTIME_DEFER_MAX_ABANDONED": "0"},
    "exit-policy": {"LAMBDA_RUNTIME_DEFER_OVERRUN": "exit"},
    "sigterm": {},
}


class Stream:
    """N clients, each invoking `exit_work` in a loop with a pause: a steady stream, counted as it goes."""

    def __init__(self, url: str, clients: int, pause_s: float) -> None:
        self.url, self.pause_s = url, pause_s
        self.answered = 0
        self.errors = 0
        self.throttled = 0
        self._lock = threading.Condition()
        self._stop = threading.Event()
        self._threads = [threading.Thread(target=self._client, daemon=True) for _ in range(clients)]

    def __enter__(self) -> Stream:
        for thread in self._threads:
            thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout=120)

    def wait_for(self, answered: int) -> None:
        with self._lock:
            while self.answered < answered:
                self._lock.wait(1.0)

    def _client(self) -> None:
        body = json.dumps({"do": "exit_work", "ms": JOB_MS}).encode()
        with requests.Session() as session:
            while not self._stop.is_set():
                answer = session.post(self.url, data=body, timeout=120)
                with self._lock:
                    if answer.status_code == 429:  # every slot busy, or the environment being replaced
                        self.throttled += 1
                    elif answer.status_code != 200 or "X-Amz-Function-Error" in answer.headers:
                        self.errors += 1
                    else:
                        self.answered += 1
                        self._lock.notify_all()
                self._stop.wait(self.pause_s)


def _gone_at(pid: int, give_up_s: float = 60.0) -> float:
    """Wall-clock time at which `pid` has exited (a zombie counts), polled every 2 ms."""
    end = time.monotonic() + give_up_s
    while time.monotonic() < end:
        try:
            if psutil.Process(pid).status() == psutil.STATUS_ZOMBIE:
                return time.time()
        except psutil.NoSuchProcess:
            return time.time()
        time.sleep(0.002)
    raise TimeoutError(f"runtime {pid} still running {give_up_s} s after its exit was forced")


def _runtime_pid(emulator: Emulator, gone: set[int]) -> int:
    """The environment serving now: after an exit, the stream's next invocation starts a fresh one."""
    while True:
        fresh = [pid for pid in emulator.runtime_pids() if pid not in gone]
        if fresh:
            return fresh[0]
        time.sleep(0.01)


def _must_exit_at(lines: list[dict[str, Any]], after: float) -> float:
    """The wall-clock time of the first `must exit` line logged after `after` (epoch seconds)."""
    for line in lines:
        if "the runtime must exit" in line.get("message", ""):
            stamp = datetime.datetime.fromisoformat(line["timestamp"].replace("Z", "+00:00")).timestamp()
            if stamp >= after - 0.002:  # the line's timestamp has ms resolution
                return stamp
    raise LookupError("no 'the runtime must exit' line")


def phase(name: str, clients: int, every: int, exits: int, pause_s: float) -> dict[str, Any]:
    # Sleeping jobs: enough threads that the pool keeps up with the stream (a backlog would only lengthen the exits).
    workers = {"LAMBDA_RUNTIME_DEFER_WORKERS": str(4 * clients)}
    env = {**os.environ, **PHASES[name], **workers, "AWS_LAMBDA_LOG_LEVEL": "INFO"}  # INFO: the exit's last line
    exit_ms: list[float] = []
    with Emulator(HANDLER, task_root=str(FUNCTIONS), max_concurrency=clients, timeout=TIMEOUT_S, env=env) as emulator:
        url = f"{emulator.url}/2015-03-31/functions/function/invocations"
        with Stream(url, clients, pause_s) as stream:
            gone_pids: set[int] = set()
            for number in range(1, exits + 1):
                stream.wait_for(number * every)
                pid = _runtime_pid(emulator, gone_pids)
                gone_pids.add(pid)
                forced = time.time()
                if name == "sigterm":
                    os.kill(pid, signal.SIGTERM)
                else:
                    requests.post(url, json={"do": "exit_overrun"}, timeout=120)
                gone = _gone_at(pid)
                if name != "sigterm":
                    forced = _must_exit_at(_json_lines(emulator.runtime_output()), forced)
                exit_ms.append((gone - forced) * 1000)
            stream.wait_for((exits + 1) * every // 1)  # let the last environment serve a while too
        time.sleep(JOB_MS / 1000 + 0.5)  # the last jobs' own time: they finish while the environment lives on
        lines = _json_lines(emulator.runtime_output())
        counts = _account(lines)
        answered, errors, throttled = stream.answered, stream.errors, stream.throttled
    bound_ms = SIGTERM_BUDGET_MS if name == "sigterm" else TIMEOUT_S * 1000 + DEADLINE_GRACE_MS
    return {
        "phase": name,
        "exits": len(exit_ms),
        "invocations": answered,
        "errors": errors,
        "throttled": throttled,
        **counts,
        "longest_exit_ms": round(max(exit_ms), 1),
        "exit_ms": [round(ms, 1) for ms in exit_ms],
        # The runtime's own figure for a signal (its last line: from the signal's arrival to just before the exit):
        # the one above also has this busy process's own delays in noticing that the runtime is gone.
        "runtime_exit_ms": [line["exitMs"] for line in lines if "exitMs" in line],
        "bound_ms": bound_ms,
    }


def _json_lines(text: str) -> list[dict[str, Any]]:
    lines = []
    for line in text.splitlines():
        if line.startswith("{"):
            try:
                lines.append(json.loads(line))
            except ValueError:  # a line cut by a process that went mid-write would be a finding: it is counted
                lines.append({"message": "<unreadable line>"})
    return lines


def _account(lines: list[dict[str, Any]]) -> dict[str, int]:
    deferred, finished, named = set(), set(), set()
    for line in lines:
        message = line.get("message", "")
        if line.get("logger") == "bench" and message.startswith("deferred "):
            deferred.add(message.split()[-1])
        elif line.get("logger") == "bench" and message.startswith("job done "):
            finished.add(message.split()[-1])
        elif message.startswith("Deferred jobs cut short by") and "work" in line.get("cutShort", []):
            named.add(line.get("requestId", ""))
    return {
        "jobs_deferred": len(deferred),
        "jobs_finished": len(deferred & finished),
        "jobs_named_cut_short": len((deferred - finished) & named),
        "jobs_unaccounted": len(deferred - finished - named),
        "unreadable_lines": sum(line.get("message") == "<unreadable line>" for line in lines),
    }


def run(quick: bool, runs: int, workdir: Path) -> dict[str, Any]:
    clients, every, exits, pause_s = (4, 20, 1, 0.1) if quick else (16, 200, 3, 0.25)
    rounds = [[phase(name, clients, every, exits, pause_s) for name in PHASES] for _ in range(runs)]
    return {"clients": clients, "every": every, "exits_per_phase": exits, "job_ms": JOB_MS, "runs": rounds}


def table(result: dict[str, Any]) -> str:
    rows = [
        "| run | phase | exits | invocations | jobs deferred | finished | named cut short | unaccounted | "
        "longest exit ms | runtime's own ms | bound ms |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for number, phases in enumerate(result["runs"], 1):
        for p in phases:
            rows.append(
                f"| {number} | {p['phase']} | {p['exits']} | {p['invocations']} | {p['jobs_deferred']} | "
                f"{p['jobs_finished']} | {p['jobs_named_cut_short']} | {p['jobs_unaccounted']} | "
                f"{p['longest_exit_ms']} | {max(p['runtime_exit_ms'], default='-')} | {p['bound_ms']:.0f} |"
            )
    return "\n".join(rows)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.exit_load", description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="N = 4, an exit every 20 invocations, one per phase")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--out", type=Path, help="the JSON file (default: a new one in results/local)")
    args = parser.parse_args(argv)
    return run_and_save("exit-load", lambda workdir: run(args.quick, args.runs, workdir), table, args.out)


if __name__ == "__main__":
    sys.exit(main())
