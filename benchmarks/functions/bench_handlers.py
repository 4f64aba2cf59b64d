"""Handlers the benchmarks run (this directory is the task root). Standard library only, so that every runtime
under test (ours, awslambdaric, the floor loop) loads the very same code; only ours has `context.defer`.

Events carry the work: ``kind`` (``cpu``: a pure-Python loop that holds the GIL; ``io``: ``time.sleep``),
``c_ms`` (critical work, before the response), ``d_ms`` (deferrable work), ``ipm`` (loop iterations per ms,
calibrated once by the benchmark client so that every process does the same amount of CPU work), ``k`` (jobs).
"""

from __future__ import annotations

import os
import time
from typing import Any

Event = dict[str, Any]
RESULT = {"ok": True}


def spin(iterations: int) -> int:
    """A fixed amount of CPU work (not a wall-clock wait: it takes longer when it does not hold the GIL)."""
    total = 0
    for i in range(iterations):
        total += i
    return total


def work(kind: str, ms: float, iterations_per_ms: float) -> None:
    if kind == "cpu":
        spin(int(ms * iterations_per_ms))
    else:
        time.sleep(ms / 1000)


def noop(event: Event, context: Any) -> None:
    return None


def _nothing() -> None:
    return None


def defer_noop(event: Event, context: Any) -> None:
    """The no-op handler plus one deferred no-op job: the whole cost of one `defer` in the loop."""
    context.defer(_nothing)
    return None


def handler_only(event: Event, context: Any) -> dict[str, bool]:
    """Only the critical work C: the latency a caller would see if the deferrable work did not exist."""
    work(event["kind"], event["c_ms"], event["ipm"])
    return RESULT


def inline(event: Event, context: Any) -> dict[str, bool]:
    """C then D, both before the response (what a handler does without `defer`)."""
    work(event["kind"], event["c_ms"], event["ipm"])
    work(event["kind"], event["d_ms"], event["ipm"])
    return RESULT


def deferred(event: Event, context: Any) -> dict[str, bool]:
    """D deferred (starts after the response is posted), then C."""
    context.defer(work, event["kind"], event["d_ms"], event["ipm"])
    work(event["kind"], event["c_ms"], event["ipm"])
    return RESULT


def deferred_now(event: Event, context: Any) -> dict[str, bool]:
    """D deferred with start_now=True (starts at once, overlapping C), then C."""
    context.defer(work, event["kind"], event["d_ms"], event["ipm"], start_now=True)
    work(event["kind"], event["c_ms"], event["ipm"])
    return RESULT


def jobs(event: Event, context: Any) -> dict[str, bool]:
    """k deferred jobs of 10 ms each."""
    for _ in range(event["k"]):
        context.defer(work, event["kind"], 10, event["ipm"])
    return RESULT


def cold(event: Event, context: Any) -> None:
    """A no-op; ``{"exit": true}`` ends the process, so that the next event gets a cold start."""
    if event.get("exit"):
        os._exit(0)
    return None


def cold_process_jobs(event: Event, context: Any) -> dict[str, bool]:
    """`k` pure-Python process jobs of `ms`; ``{"exit": true}`` ends the process (the next event starts cold)."""
    if event.get("exit"):
        os._exit(0)
    for _ in range(event["k"]):
        context.defer(spin, int(event["ms"] * event["ipm"]), executor="process")
    return RESULT


def hang(event: Event, context: Any) -> None:
    """Leaves a deferred job that ignores its cancellation and never ends (for the "after hung jobs" scenario)."""
    context.defer(time.sleep, 3600)
    return None


def deferred_io(event: Event, context: Any) -> dict[str, bool]:
    """A healthy invocation: one deferred I/O-bound job of `d_ms`."""
    context.defer(work, "io", event["d_ms"], 0)
    return RESULT


def route(event: Event, context: Any) -> Any:
    """One environment, several behaviours: `event["do"]` names the handler."""
    return globals()[event["do"]](event, context)


def hash_blob(megabytes: int) -> str:
    """GIL-releasing work: hashlib hashes big buffers without the GIL."""
    import hashlib

    return hashlib.sha256(b"x" * (megabytes << 20)).hexdigest()


def cpu_jobs(event: Event, context: Any) -> dict[str, bool]:
    """k jobs on `executor`: pure-Python `ms` of work (`kind` "py"), `hash` of 4 MB, or `noop`."""
    for _ in range(event["k"]):
        if event["kind"] == "py":
            context.defer(spin, int(event["ms"] * event["ipm"]), executor=event["executor"])
        elif event["kind"] == "hash":
            context.defer(hash_blob, 4, executor=event["executor"])
        else:
            context.defer(_nothing, executor=event["executor"])
    return RESULT


def _finish_work(request_id: str, seconds: float) -> None:
    time.sleep(seconds)
    import logging

    logging.getLogger("bench").warning("job done %s", request_id)


def exit_work(event: Event, context: Any) -> dict[str, bool]:
    """benchmarks.exit_load: says it deferred a job of `ms` ms; the job says when it is done."""
    import logging

    context.defer(_finish_work, context.aws_request_id, event["ms"] / 1000, job_name="work")
    logging.getLogger("bench").warning("deferred %s", context.aws_request_id)
    return RESULT


def _ignore_cancellation(seconds: float) -> None:
    time.sleep(seconds)


def exit_overrun(event: Event, context: Any) -> dict[str, bool]:
    """benchmarks.exit_load: a job that overruns its `job_timeout` and ignores its cancellation."""
    context.defer(_ignore_cancellation, 5.0, job_name="overrun", job_timeout=0.1)
    return RESULT
