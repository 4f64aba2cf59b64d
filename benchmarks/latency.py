"""Latency saved: C = 5 ms of critical work plus D ms of deferrable work, CPU-bound or I/O-bound.

Modes, one emulator process each, all started at once (`event` reuses the `ours_inline` one):
- handler_only: C alone, the floor for any mode; handler_only_2: the same in another process (an A/A twin:
  the difference between the two is the noise floor of every comparison here);
- ours_inline: C + D before the response; ours_deferred: D deferred (default start: after the response);
  ours_deferred_now: D deferred with start_now=True; awslambdaric_inline;
- event: the inline handler invoked with InvocationType Event (the caller gets 202).
Each round invokes every mode once, in rotating order, and waits for the invocation's record before the next,
so deferred work never overlaps another mode's measurement.

``python -m benchmarks.latency [--quick | --smoke] [--kinds cpu io] [--out DIR]`` runs this scenario alone (a few
minutes instead of the suite's ~15) and prints the paired differences the goals are checked on; it writes
``latency-<UTC time>.json`` to the untracked ``benchmarks/results/local`` (never to the published results).
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from tqdm import tqdm

from benchmarks.client import Sample, encode, launch
from benchmarks.functions.bench_handlers import spin
from benchmarks.procs import EmulatorProcess
from benchmarks.profiles import PROFILES, Profile
from benchmarks.results_file import LOCAL, save
from benchmarks.stats import ratio, rotated, summarize, summarize_samples

#: name → (runtime, handler)
EMULATORS = {
    "handler_only": ("ours", "bench_handlers.handler_only"),
    "handler_only_2": ("ours", "bench_handlers.handler_only"),  # an A/A twin: the spread between two processes
    "ours_inline": ("ours", "bench_handlers.inline"),
    "ours_deferred": ("ours", "bench_handlers.deferred"),
    "ours_deferred_now": ("ours", "bench_handlers.deferred_now"),
    "awslambdaric_inline": ("awslambdaric", "bench_handlers.inline"),
}
MODES = (*EMULATORS, "event")
FIELDS = ("client_ms", "response_ms", "billed_ms", "duration_ms", "after_response_ms")


def units(profile: Profile) -> int:
    return len(MODES) * len(profile.kinds) * sum(profile.latency_rounds.values())


def calibrate(repeats: int = 15, iterations: int = 50_000) -> float:
    """Loop iterations per millisecond on this machine: the median of short runs after ~0.2 s of warm-up.

    Done once per suite and sent in every event, so that all runtimes do the same work. On a shared machine the
    speed of a core drifts (±20 % seen here), so a "10 ms" CPU job is nominal; the tables also give D measured.
    """
    warm_until = time.perf_counter() + 0.2
    while time.perf_counter() < warm_until:
        spin(iterations)
    runs = []
    for _ in range(repeats):
        start = time.perf_counter()
        spin(iterations)
        runs.append(time.perf_counter() - start)
    return iterations / (statistics.median(runs) * 1000)


def run(profile: Profile, workdir: Path, bar: tqdm[Any], ipm: float) -> dict[str, Any]:
    raw: dict[str, dict[str, list[Sample]]] = {}
    emulators = [EmulatorProcess(f"latency-{n}", *EMULATORS[n], workdir) for n in EMULATORS]
    with contextlib.ExitStack() as stack:
        targets = dict(zip(EMULATORS, launch(stack, emulators).values(), strict=True))

        def one(mode: str, payload: bytes) -> Sample:
            if mode == "event":
                return targets["ours_inline"].measure(payload, event=True)
            return targets[mode].measure(payload)

        for kind in profile.kinds:
            for d_ms, rounds in profile.latency_rounds.items():
                payload = encode({"kind": kind, "c_ms": profile.critical_ms, "d_ms": d_ms, "ipm": ipm})
                if d_ms == min(profile.latency_rounds):  # warm-up: pool threads, first-call costs
                    for _ in range(profile.warmup):
                        for mode in MODES:
                            one(mode, payload)
                samples: dict[str, list[Sample]] = {mode: [] for mode in MODES}
                for round_no in range(rounds):
                    bar.set_description(f"latency {kind} D={d_ms}")
                    for mode in rotated(MODES, round_no):
                        samples[mode].append(one(mode, payload))
                        bar.update()
                raw[f"{kind}/{d_ms}"] = samples
    configs = {key: summarize_config(samples, int(key.split("/")[1])) for key, samples in raw.items()}
    pooled = {
        kind: pooled_differences([s for k, s in raw.items() if k.startswith(f"{kind}/")]) for kind in profile.kinds
    }
    return {
        "method": "one invocation per mode per round, rotating order; client latency from the client's clock, "
        "billed/duration/response from the emulator's records; each invocation's record awaited before the next",
        "critical_ms": profile.critical_ms,
        "iterations_per_ms": ipm,
        "freeze": True,
        "commands": {e.name: e.command for e in emulators},
        "configs": configs,
        "paired_all_d": pooled,
        "samples": raw,
    }


#: (name, mode a, mode b, field): the median over rounds of a - b, both invoked in the same round.
PAIRS = (
    ("deferred_minus_handler_only_ms", "ours_deferred", "handler_only", "client_ms"),
    ("aa_handler_only_ms", "handler_only_2", "handler_only", "client_ms"),
    ("billed_deferred_minus_inline_ms", "ours_deferred", "ours_inline", "billed_ms"),
    ("billed_deferred_now_minus_inline_ms", "ours_deferred_now", "ours_inline", "billed_ms"),
)


def pooled_differences(configs: list[dict[str, list[Sample]]]) -> dict[str, dict[str, float]]:
    """Paired differences (same round, so slow drift cancels), pooled over every D of one kind: the client latency
    of deferred vs handler-only does not depend on D, and billed deferred - inline should not either."""
    out = {}
    for name, a, b, field in PAIRS:
        diffs = [x[field] - y[field] for samples in configs for x, y in zip(samples[a], samples[b], strict=True)]
        out[name] = summarize(diffs)
    return out


def summarize_config(samples: dict[str, list[Sample]], d_ms: int) -> dict[str, Any]:
    modes = {mode: summarize_samples(samples[mode], FIELDS) for mode in MODES}

    def p50(mode: str, field: str = "client_ms") -> float:
        return modes[mode][field]["p50"]

    saved = p50("ours_inline") - p50("ours_deferred")
    saved_now = p50("ours_inline") - p50("ours_deferred_now")
    d_measured = p50("ours_inline") - p50("handler_only")  # what D actually cost the caller here
    return {
        "d_ms": d_ms,
        "d_measured_ms": d_measured,
        "modes": modes,
        "saved_ms": saved,
        "saved_over_d": ratio(saved, d_ms),
        "saved_over_d_measured": ratio(saved, d_measured),
        "saved_now_ms": saved_now,
        "saved_now_over_d": ratio(saved_now, d_ms),
        "deferred_minus_handler_only_ms": p50("ours_deferred") - p50("handler_only"),
        "aa_handler_only_ms": p50("handler_only_2") - p50("handler_only"),
        "deferred_now_minus_handler_only_ms": p50("ours_deferred_now") - p50("handler_only"),
        "billed_deferred_minus_inline_ms": p50("ours_deferred", "billed_ms") - p50("ours_inline", "billed_ms"),
        "billed_deferred_now_minus_inline_ms": p50("ours_deferred_now", "billed_ms") - p50("ours_inline", "billed_ms"),
        "latency_deferred_over_inline": ratio(p50("ours_deferred"), p50("ours_inline")),
        "inline_ours_over_awslambdaric": ratio(p50("ours_inline"), p50("awslambdaric_inline")),
        "event_to_202_ms": p50("event"),
        "event_completion_ms": p50("event", "response_ms"),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.latency", description=__doc__.split("\n\n")[0])
    size = parser.add_mutually_exclusive_group()
    size.add_argument("--quick", action="store_const", const="quick", dest="profile", help="reduced rounds")
    size.add_argument("--smoke", action="store_const", const="smoke", dest="profile", help="minimal (for the tests)")
    parser.add_argument("--kinds", nargs="+", choices=("cpu", "io"), help="only these kinds of work")
    parser.add_argument("--out", type=Path, default=LOCAL, help="folder for latency-<UTC time>.json")
    args = parser.parse_args(argv)
    profile = PROFILES[args.profile or "full"]
    if args.kinds:
        profile = dataclasses.replace(profile, kinds=tuple(args.kinds))
    with tempfile.TemporaryDirectory(prefix="latency-") as workdir, tqdm(total=units(profile), file=sys.stderr) as bar:
        result = run(profile, Path(workdir), bar, calibrate())
    for kind, pooled in result["paired_all_d"].items():
        by_d = ", ".join(
            f"D={c['d_ms']} {c['billed_deferred_minus_inline_ms']:+.1f}"
            for key, c in result["configs"].items()
            if key.startswith(f"{kind}/")
        )
        print(
            f"{kind}: billed deferred - inline p50 {pooled['billed_deferred_minus_inline_ms']['p50']:+.1f} ms "
            f"(per D: {by_d}); client deferred - handler-only p50 "
            f"{pooled['deferred_minus_handler_only_ms']['p50']:+.2f} ms "
            f"(A/A {pooled['aa_handler_only_ms']['p50']:+.2f})"
        )
    print(f"wrote {save(result, 'latency', folder=args.out)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
