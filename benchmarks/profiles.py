"""How much each scenario measures: ``full`` (the default, a few minutes on 2 cores), ``quick`` (under a minute)
and ``smoke`` (the test suite's: every code path, figures too few to mean anything)."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any


@dataclass(frozen=True)
class Profile:
    name: str
    #: Overhead through the Invoke API: rounds x (a block of back-to-back invocations per runtime).
    overhead_rounds: int
    overhead_block: int
    #: Loop-only: rounds x (N events served to each runtime as fast as it takes them).
    loop_rounds: int
    loop_events: int
    #: Latency saved: D values (ms) and rounds per D (each round = one invocation of every mode).
    latency_rounds: dict[int, int]
    #: Cold starts per runtime; fresh interpreters per import measurement.
    cold_rounds: int
    import_rounds: int
    #: Jobs per invocation: rounds x every (kind, k).
    jobs_rounds: int
    #: defer() micro-benchmark: repetitions of a batch of `defer_batch` calls.
    defer_reps: int
    warmup: int = 5
    critical_ms: int = 5
    job_counts: tuple[int, ...] = (1, 4, 16)
    job_ms: int = 10
    kinds: tuple[str, ...] = ("cpu", "io")
    defer_batch: int = 64

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["latency_rounds"] = {str(k): v for k, v in self.latency_rounds.items()}
        return out


PROFILES = {
    "full": Profile(
        name="full",
        overhead_rounds=20,
        overhead_block=100,
        loop_rounds=15,
        loop_events=1000,
        latency_rounds={10: 100, 50: 60, 200: 40},
        cold_rounds=15,
        import_rounds=15,
        jobs_rounds=30,
        defer_reps=300,
    ),
    "quick": Profile(
        name="quick",
        overhead_rounds=6,
        overhead_block=50,
        loop_rounds=5,
        loop_events=600,
        latency_rounds={10: 12, 50: 8, 200: 4},
        cold_rounds=4,
        import_rounds=4,
        jobs_rounds=5,
        defer_reps=50,
        warmup=3,
    ),
    "smoke": Profile(
        name="smoke",
        overhead_rounds=2,
        overhead_block=20,
        loop_rounds=2,
        loop_events=200,
        latency_rounds={10: 3, 50: 2},
        cold_rounds=2,
        import_rounds=2,
        jobs_rounds=2,
        defer_reps=10,
        warmup=2,
    ),
}
