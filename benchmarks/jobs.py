"""Jobs per invocation: k deferred jobs of 10 ms each, CPU-bound or I/O-bound; billed duration against k.

One emulator (ours, `bench_handlers.jobs`); rounds interleave every (kind, k). The pool has
`LAMBDA_RUNTIME_DEFER_WORKERS` threads (default 4): I/O-bound jobs overlap 4 at a time (ideal ≈ ceil(k/4) x 10 ms
after the response); CPU-bound jobs hold the GIL, so they take turns (ideal ≈ k x 10 ms) however many threads run.
CPU milliseconds are nominal (calibrated once in the client; a shared core's speed drifts), so the table also gives
the measured time per job (CPU) or per wave of 4 (I/O): flat across k when the model holds.
"""

from __future__ import annotations

import contextlib
import math
from pathlib import Path
from typing import Any

from tqdm import tqdm

from benchmarks.client import Sample, encode, launch
from benchmarks.procs import EmulatorProcess
from benchmarks.profiles import Profile
from benchmarks.stats import rotated, summarize_samples
from lambda_runtime.config import Settings

FIELDS = ("client_ms", "billed_ms", "duration_ms", "after_response_ms")
WORKERS = Settings(runtime_api="127.0.0.1:9001", handler="bench_handlers.jobs").defer_workers  # the default


def units(profile: Profile) -> int:
    return profile.jobs_rounds * len(profile.kinds) * len(profile.job_counts)


def waves(kind: str, k: int) -> int:
    """CPU-bound jobs run one at a time (the GIL); I/O-bound ones `WORKERS` at a time."""
    return k if kind == "cpu" else math.ceil(k / WORKERS)


def run(profile: Profile, workdir: Path, bar: tqdm[Any], ipm: float) -> dict[str, Any]:
    configs = [(kind, k) for kind in profile.kinds for k in profile.job_counts]
    samples: dict[str, list[Sample]] = {f"{kind}/{k}": [] for kind, k in configs}
    emulator = EmulatorProcess("jobs", "ours", "bench_handlers.jobs", workdir)
    with contextlib.ExitStack() as stack:
        (target,) = launch(stack, [emulator]).values()
        payloads = {f"{kind}/{k}": encode({"kind": kind, "k": k, "ipm": ipm}) for kind, k in configs}
        for payload in payloads.values():
            for _ in range(profile.warmup):
                target.measure(payload)
        for round_no in range(profile.jobs_rounds):
            for key in rotated(list(payloads), round_no):
                bar.set_description(f"jobs {key}")
                samples[key].append(target.measure(payloads[key]))
                bar.update()
    summary_of = {key: summarize_samples(samples[key], FIELDS) for key in samples}
    summary: dict[str, dict[str, Any]] = {}
    for kind, k in configs:
        key = f"{kind}/{k}"
        summary[key] = {
            "kind": kind,
            "k": k,
            **summary_of[key],
            "ideal_after_response_ms": waves(kind, k) * profile.job_ms,
            # per job (CPU: they take turns) or per wave of `WORKERS` jobs (I/O: they overlap): flat if that holds
            "after_response_per_wave_ms": summary_of[key]["after_response_ms"]["p50"] / waves(kind, k),
        }
    return {
        "method": "k jobs of job_ms each deferred (default start) by a handler that does nothing else; "
        "billed/duration/after-response from the emulator's records",
        "job_ms": profile.job_ms,
        "pool_workers": WORKERS,
        "iterations_per_ms": ipm,
        "command": emulator.command,
        "configs": summary,
        "samples": samples,
    }
