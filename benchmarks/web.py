"""FastAPI on Lambda, ours (asgi) against Mangum: ``python -m benchmarks run web [--rounds N] [--out FILE]``.

Background latency: ``POST /order`` does 5 ms of work, then a background task of D ms (D in 50, 200, 1000; awaited
sleeps). Modes, one emulator each, all started at once: ``ours_asgi`` (lambda_runtime.web.asgi on our runtime),
``ours_asgi_no_bg`` (the same endpoint without the background task: the floor), ``mangum_awslambdaric`` and
``mangum_ours`` (Mangum on the official client and on ours). Client latency from the client's clock, billed duration
from the emulator's records. Each round invokes every mode once, in rotating order, and waits for the invocation's
record (the runtime is back in ``/next``) before the next, so nothing overlaps.

Adapter overhead: ``GET /noop`` through ``ours_asgi`` and ``mangum_ours`` (same runtime), and a plain handler
returning the same answer (``raw``). Overhead = handler time (delivered → response posted, from the records) minus
the plain handler's, median over rounds. Results are printed and written as JSON to ``--out`` (default: a new file
under the work directory; never over benchmarks/results).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import sys
import time
from pathlib import Path
from typing import Any

from benchmarks.client import Sample, encode, launch
from benchmarks.harness import Scenario
from benchmarks.procs import EmulatorProcess
from benchmarks.stats import ratio, rotated, summarize_samples

CRITICAL_MS = 5
DS = (50, 200, 1000)
LATENCY = {
    "ours_asgi": ("ours", "bench_web.ours"),
    "ours_asgi_no_bg": ("ours", "bench_web.ours"),
    "mangum_awslambdaric": ("awslambdaric", "bench_web.mangum"),
    "mangum_ours": ("ours", "bench_web.mangum"),
}
OVERHEAD = {
    "ours_asgi": ("ours", "bench_web.ours"),
    "mangum_ours": ("ours", "bench_web.mangum"),
    "raw": ("ours", "bench_web.raw"),
}
FIELDS = ("client_ms", "billed_ms", "handler_to_post_ms")


def function_url_event(method: str, path: str, body: Any = None) -> bytes:
    """A function URL event (payload format 2.0), as Lambda delivers it."""
    return encode(
        {
            "version": "2.0",
            "routeKey": "$default",
            "rawPath": path,
            "rawQueryString": "",
            "headers": {"content-type": "application/json", "host": "bench.lambda-url.us-east-1.on.aws"},
            "requestContext": {
                "domainName": "bench.lambda-url.us-east-1.on.aws",
                "http": {"method": method, "path": path, "protocol": "HTTP/1.1", "sourceIp": "127.0.0.1"},
                "stage": "$default",
            },
            "body": json.dumps(body) if body is not None else None,
            "isBase64Encoded": False,
        }
    )


def latency(workdir: Path, rounds: int, warmup: int, ds: tuple[int, ...] = DS) -> dict[str, Any]:
    emulators = [EmulatorProcess(f"web-{name}", *spec, workdir) for name, spec in LATENCY.items()]
    out: dict[str, Any] = {}
    with contextlib.ExitStack() as stack:
        targets = dict(zip(LATENCY, launch(stack, emulators).values(), strict=True))
        for d_ms in ds:
            payloads = {
                mode: function_url_event(
                    "POST", "/order", {"c_ms": CRITICAL_MS, "d_ms": 0 if "no_bg" in mode else d_ms}
                )
                for mode in LATENCY
            }
            samples: dict[str, list[Sample]] = {mode: [] for mode in LATENCY}
            for round_no in range(-warmup, rounds):
                for mode in rotated(list(LATENCY), round_no):
                    sample = targets[mode].measure(payloads[mode])
                    if round_no >= 0:
                        samples[mode].append(sample)
            modes = {mode: summarize_samples(samples[mode], FIELDS) for mode in LATENCY}
            p50 = {mode: modes[mode]["client_ms"]["p50"] for mode in LATENCY}
            out[str(d_ms)] = {
                "modes": modes,
                "ours_minus_no_bg_p50_ms": p50["ours_asgi"] - p50["ours_asgi_no_bg"],
                "mangum_ours_over_ours_p50": ratio(p50["mangum_ours"], p50["ours_asgi"]),
            }
            print(f"D={d_ms} ms: " + ", ".join(f"{m} p50 {p:.1f} ms" for m, p in p50.items()), file=sys.stderr)
    return out


def overhead(workdir: Path, rounds: int, warmup: int) -> dict[str, Any]:
    emulators = [EmulatorProcess(f"web-overhead-{name}", *spec, workdir) for name, spec in OVERHEAD.items()]
    payload = function_url_event("GET", "/noop")
    samples: dict[str, list[Sample]] = {mode: [] for mode in OVERHEAD}
    with contextlib.ExitStack() as stack:
        targets = dict(zip(OVERHEAD, launch(stack, emulators).values(), strict=True))
        for round_no in range(-warmup, rounds):
            for mode in rotated(list(OVERHEAD), round_no):
                sample = targets[mode].measure(payload)
                if round_no >= 0:
                    samples[mode].append(sample)
    modes = {mode: summarize_samples(samples[mode], FIELDS) for mode in OVERHEAD}

    def adapter_ms(mode: str, field: str) -> float:
        # Paired per round (same round, so drift cancels), then the median.
        diffs = sorted(a[field] - b[field] for a, b in zip(samples[mode], samples["raw"], strict=True))
        return diffs[len(diffs) // 2]

    ours = {field: adapter_ms("ours_asgi", field) for field in ("handler_to_post_ms", "client_ms")}
    mangum = {field: adapter_ms("mangum_ours", field) for field in ("handler_to_post_ms", "client_ms")}
    return {
        "modes": modes,
        "ours_adapter_ms": ours,
        "mangum_adapter_ms": mangum,
        "ours_over_mangum_handler": ratio(ours["handler_to_post_ms"], mangum["handler_to_post_ms"]),
        "ours_over_mangum_client": ratio(ours["client_ms"], mangum["client_ms"]),
    }


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--rounds", type=int, default=30, help="measured rounds per D (default: %(default)s)")
    parser.add_argument("--overhead-rounds", type=int, default=300, help="rounds of the no-op endpoint")
    parser.add_argument("--warmup", type=int, default=3, help="unmeasured rounds first (default: %(default)s)")
    parser.add_argument("--ds", default=",".join(map(str, DS)), help="background durations, ms (default: %(default)s)")


def measure(args: argparse.Namespace, workdir: Path) -> dict[str, Any]:
    started = time.time()
    result = {
        "critical_ms": CRITICAL_MS,
        "rounds": args.rounds,
        "latency": latency(workdir, args.rounds, args.warmup, tuple(int(d) for d in args.ds.split(","))),
        "overhead": overhead(workdir, args.overhead_rounds, args.warmup * 10),
    }
    result["seconds"] = round(time.time() - started, 1)
    return result


def report(result: dict[str, Any]) -> str:
    lines = ["| D ms | mode | client p50 ms | client p99 ms | billed p50 ms |", "|---|---|---|---|---|"]
    for d_ms, config in result["latency"].items():
        for mode, fields in config["modes"].items():
            client, billed = fields["client_ms"], fields["billed_ms"]
            lines.append(f"| {d_ms} | {mode} | {client['p50']:.1f} | {client['p99']:.1f} | {billed['p50']:.0f} |")
    lines.append("")
    for d_ms, config in result["latency"].items():
        lines.append(f"D={d_ms}: ours_asgi - ours_asgi_no_bg client p50 = {config['ours_minus_no_bg_p50_ms']:+.2f} ms")
    over = result["overhead"]
    ours, mangum = over["ours_adapter_ms"], over["mangum_adapter_ms"]
    lines.append(
        "adapter overhead over a plain handler (median of paired rounds): handler time ours "
        f"{ours['handler_to_post_ms']:.3f} ms, Mangum {mangum['handler_to_post_ms']:.3f} ms, "
        f"ratio {over['ours_over_mangum_handler']:.2f}; client latency ours {ours['client_ms']:.3f} ms, "
        f"Mangum {mangum['client_ms']:.3f} ms, ratio {over['ours_over_mangum_client']:.2f}"
    )
    return "\n".join(lines)


SCENARIO = Scenario(
    name="web",
    summary=(__doc__ or "").split(":")[0],
    add_arguments=add_arguments,
    measure=measure,
    render=report,
)

if __name__ == "__main__":
    raise SystemExit(SCENARIO.main(prog="python -m benchmarks.web"))
