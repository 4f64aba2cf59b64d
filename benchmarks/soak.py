"""Soak: many invocations with deferred jobs, watching the runtime process for leaks.

    python -m benchmarks.soak                       # 100,000 invocations, a sample every 10,000
    python -m benchmarks.soak --invocations 2000 --every 200

Prints RSS, thread count and open file descriptors of the runtime process at every sample and checks, after the
warm-up sample, that RSS grew by less than the allowed amount and that threads and fds stayed flat.
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass
from pathlib import Path

import psutil

from lambda_runtime.emulator import Emulator

HERE = Path(__file__).parent


@dataclass(frozen=True)
class Sample:
    invocations: int
    rss_mb: float
    threads: int
    fds: int


def measure(pid: int, invocations: int) -> Sample:
    process = psutil.Process(pid)
    return Sample(invocations, process.memory_info().rss / 2**20, process.num_threads(), process.num_fds())


def soak(invocations: int, every: int) -> list[Sample]:
    """Run `invocations` invocations and sample the runtime every `every` of them."""
    samples = []
    # WARNING level: the runtime's per-invocation summary lines would otherwise pile up in the emulator's memory.
    env = {"AWS_LAMBDA_LOG_LEVEL": "WARNING", "PATH": "/usr/bin:/bin"}
    with Emulator("soak_function.handler", task_root=str(HERE), timeout=30, env=env, prestart=True) as emu:
        for n in range(1, invocations + 1):
            response = emu.invoke({"n": n})
            if response.status_code != 200 or response.json() != {"n": n}:
                raise AssertionError(f"invocation {n} failed: {response.status_code} {response.text[:200]}")
            if n % every == 0:
                emu.wait_for_records(n, timeout=60)  # the jobs of invocation n are done: a quiet moment to sample
                pid = emu.runtime_pid
                assert pid is not None, "the runtime is not running"
                samples.append(measure(pid, n))
    return samples


def check(samples: list[Sample], max_rss_growth_mb: float) -> list[str]:
    """Problems found after the warm-up (the first sample), as sentences; empty when the run was clean."""
    warm, *rest = samples
    problems = []
    for sample in rest:
        if sample.rss_mb - warm.rss_mb >= max_rss_growth_mb:
            problems.append(f"RSS grew {sample.rss_mb - warm.rss_mb:.1f} MB by invocation {sample.invocations}")
        if sample.threads != warm.threads:
            problems.append(f"threads {warm.threads} -> {sample.threads} at invocation {sample.invocations}")
        if sample.fds != warm.fds:
            problems.append(f"open fds {warm.fds} -> {sample.fds} at invocation {sample.invocations}")
    return problems


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--invocations", type=int, default=100_000)
    parser.add_argument("--every", type=int, default=10_000)
    parser.add_argument("--max-rss-growth-mb", type=float, default=5.0)
    args = parser.parse_args(argv)
    samples = soak(args.invocations, args.every)
    print(f"{'invocations':>11} {'RSS MB':>8} {'threads':>7} {'fds':>5}")
    for s in samples:
        print(f"{s.invocations:>11} {s.rss_mb:>8.1f} {s.threads:>7} {s.fds:>5}")
    problems = check(samples, args.max_rss_growth_mb)
    for problem in problems:
        print("LEAK?", problem)
    print("clean" if not problems else "problems found")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
