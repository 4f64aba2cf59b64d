"""Overhead through the Invoke API: a no-op handler under ours, awslambdaric and the floor loop.

Three emulator processes (one per runtime) start at once; rounds interleave them (A B C, B C A, ...), each
turn a block of back-to-back invocations. Per invocation: the client's µs (block time / block size, so
invocations/s follows) and, from the records, `duration_ms` (delivery → next `/next`). This includes the
emulator's own cost (aiohttp, freezing) on both sides of every comparison; `loop_only` measures without it.
"""

from __future__ import annotations

import contextlib
import time
from pathlib import Path
from typing import Any

from tqdm import tqdm

from benchmarks.client import Sample, launch, sample
from benchmarks.procs import EmulatorProcess
from benchmarks.profiles import Profile
from benchmarks.stats import rotated, summarize, summarize_samples

#: name → (runtime, handler)
EMULATORS = {
    "ours": ("ours", "bench_handlers.noop"),
    "awslambdaric": ("awslambdaric", "bench_handlers.noop"),
    "floor": ("floor", "bench_handlers.noop"),
}
FIELDS = ("client_ms", "duration_ms", "billed_ms", "handler_to_post_ms", "after_response_ms")


def units(profile: Profile) -> int:
    return profile.overhead_rounds * len(EMULATORS)


def run(profile: Profile, workdir: Path, bar: tqdm[Any]) -> dict[str, Any]:
    names = list(EMULATORS)
    per_block: dict[str, list[float]] = {name: [] for name in names}
    samples: dict[str, list[Sample]] = {name: [] for name in names}
    emulators = [EmulatorProcess(f"overhead-{n}", *EMULATORS[n], workdir) for n in names]
    with contextlib.ExitStack() as stack:
        targets = dict(zip(names, launch(stack, emulators).values(), strict=True))
        for target in targets.values():
            for _ in range(profile.warmup * 4):
                target.measure()
        for round_no in range(profile.overhead_rounds):
            for name in rotated(names, round_no):
                bar.set_description(f"overhead {name}")
                target = targets[name]
                calls: list[tuple[float, str]] = []
                start = time.perf_counter()
                for _ in range(profile.overhead_block):
                    calls.append(target.invoke())
                per_block[name].append((time.perf_counter() - start) / profile.overhead_block * 1e6)
                # Each record waited for: the report file's lines need not land in invocation order (seen under load).
                samples[name].extend(sample(ms, target.tail.wait(rid)) for ms, rid in calls)
                bar.update()
    result: dict[str, Any] = {
        "method": "Invoke API, back-to-back sequential invocations of a no-op handler; µs per invocation = "
        "block time / block size (client clock); durations from the emulator's records",
        "block": profile.overhead_block,
        "rounds": profile.overhead_rounds,
        "freeze": True,
        "commands": {e.name: e.command for e in emulators},
        "runtimes": {},
    }
    for name in names:
        blocks = summarize(per_block[name])
        paired = [a / b for a, b in zip(per_block[name], per_block["awslambdaric"], strict=True)]
        result["runtimes"][name] = {
            "us_per_invocation": blocks,
            "ratio_to_awslambdaric": summarize(paired),  # per round: drift between rounds cancels
            "invocations_per_s": 1e6 / blocks["p50"],
            **summarize_samples(samples[name], FIELDS),
            "max_memory_used_mb": samples[name][-1]["max_memory_used_mb"],
        }
    return result
