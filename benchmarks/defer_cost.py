"""The cost of `context.defer`: in process, µs per call; and in the loop, a no-defer handler against one that
defers a single no-op job (from the loop-only measurement, where nothing else hides it).

In process: a real `LambdaContext` on a `JobRunner` like the runtime's (4 workers); each repetition defers a batch
of no-op jobs (timed per call), then releases and joins them (timed separately: the post-response cost per job).
`start_now=True` submits each job to the pool at once, so its figure includes the pool's hand-off.
"""

from __future__ import annotations

import sys
import time
from typing import Any

from requests.structures import CaseInsensitiveDict
from tqdm import tqdm

from benchmarks.profiles import Profile
from benchmarks.stats import summarize
from lambda_runtime.api.invocation import Invocation
from lambda_runtime.config import Settings
from lambda_runtime.invocation.context import LambdaContext
from lambda_runtime.jobs.phase import JobRunner


def units(profile: Profile) -> int:
    return 2


def _nothing() -> None:
    return None


def micro(profile: Profile, start_now: bool) -> dict[str, Any]:
    batch = profile.defer_batch
    settings = Settings(runtime_api="127.0.0.1:9001", handler="bench_handlers.noop", defer_max_pending=batch)
    runner = JobRunner.from_settings(settings)
    runner.escalate = lambda reason: sys.exit(f"a benchmark job overran ({reason})")
    per_call: list[float] = []
    per_job_drain: list[float] = []
    for rep in range(profile.defer_reps + 10):  # the first 10 warm up
        deadline = str(int(time.time() * 1000) + 60_000)
        headers = CaseInsensitiveDict({"Lambda-Runtime-Deadline-Ms": deadline})  # as the runtime's client has them
        invocation = Invocation(f"req-{rep}", b"{}", headers)
        context = LambdaContext(invocation, settings, runner)
        defer = context.defer
        start = time.perf_counter_ns()
        for _ in range(batch):
            defer(_nothing, start_now=start_now)
        deferred = time.perf_counter_ns()
        jobs = context.end()
        assert jobs is not None
        jobs.release()
        summary = jobs.join()
        drained = time.perf_counter_ns()
        if summary.counts["ok"] != batch:
            raise RuntimeError(f"defer micro-benchmark: {summary}")
        if rep >= 10:
            per_call.append((deferred - start) / batch / 1000)
            per_job_drain.append((drained - deferred) / batch / 1000)
    return {"defer_call_us": summarize(per_call), "release_join_per_job_us": summarize(per_job_drain)}


def run(profile: Profile, loop_only: dict[str, Any], bar: tqdm[Any]) -> dict[str, Any]:
    bar.set_description("defer() micro-benchmark")
    held = micro(profile, start_now=False)
    bar.update()
    now = micro(profile, start_now=True)
    bar.update()
    runtimes = loop_only["runtimes"]
    plain, one = runtimes["ours"]["us_per_invocation"]["p50"], runtimes["ours_defer1"]["us_per_invocation"]["p50"]
    return {
        "method": f"{profile.defer_reps} repetitions x {profile.defer_batch} defers of a no-op job on a real "
        "LambdaContext + JobRunner, in this process; the loop figures come from loop_only",
        "batch": profile.defer_batch,
        "default_start": held,
        "start_now": now,
        "loop_no_defer_us": plain,
        "loop_one_defer_us": one,
        "loop_one_defer_extra_us": one - plain,
    }
