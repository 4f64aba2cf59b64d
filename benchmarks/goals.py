"""The goals of the benchmark issue, checked against the results (met or not, with the figures)."""

from __future__ import annotations

from typing import Any


def check(r: dict[str, Any]) -> list[dict[str, Any]]:
    configs, pooled = r["latency"]["configs"], r["latency"]["paired_all_d"]
    worst_latency = max(configs.values(), key=lambda c: c["deferred_minus_handler_only_ms"])
    worst_billed = max(configs.values(), key=lambda c: abs(c["billed_deferred_minus_inline_ms"]))
    latency = {kind: p["deferred_minus_handler_only_ms"]["p50"] for kind, p in pooled.items()}
    noise = {kind: p["aa_handler_only_ms"]["p50"] for kind, p in pooled.items()}
    billed = {kind: p["billed_deferred_minus_inline_ms"]["p50"] for kind, p in pooled.items()}
    loop = r["loop_only"]["runtimes"]
    loop_ratio = loop["ours"]["ratio_to_awslambdaric"]["p50"]
    imported = r["cold_start"]["import_ours_beyond_requests_ms"]["p50"]
    defer_us = r["defer"]["default_start"]["defer_call_us"]["p50"]
    return [
        {
            "goal": "deferred client p50 within 1 ms of handler-only p50",
            "value": max(latency.values()),
            "shown": ", ".join(f"{k} {v:+.2f} ms (A/A {noise[k]:+.2f})" for k, v in latency.items())
            + f"; worst single D {worst_latency['deferred_minus_handler_only_ms']:+.2f} ms",
            "met": max(latency.values()) <= 1.0,
        },
        {
            "goal": "deferred billed p50 within 2 ms of inline",
            "value": max(billed.values(), key=abs),
            "shown": ", ".join(f"{k} {v:+.1f} ms" for k, v in billed.items())
            + f"; worst single D {worst_billed['billed_deferred_minus_inline_ms']:+.1f} ms",
            "met": max(abs(v) for v in billed.values()) <= 2.0,
        },
        {
            "goal": "loop overhead ≤ 2x awslambdaric (stretch 1.5x), loop-only",
            "value": loop_ratio,
            "shown": f"{loop_ratio:.2f}x (median of per-round ratios)"
            + (" (stretch met)" if loop_ratio <= 1.5 else ""),
            "met": loop_ratio <= 2.0,
        },
        {
            "goal": "import cost beyond `import requests` ≤ 15 ms",
            "value": imported,
            "shown": f"{imported:.1f} ms",
            "met": imported <= 15.0,
        },
        {"goal": "defer() ≤ 20 µs per job", "value": defer_us, "shown": f"{defer_us:.1f} µs", "met": defer_us <= 20.0},
    ]
