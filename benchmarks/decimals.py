"""``python -m benchmarks.decimals [--items N] [--rounds R]``: encoding a DynamoDB-style result full of Decimals.

A query result returned as-is has every number as a ``Decimal``. The runtime writes each one exactly (0.1 stays 0.1)
and must stay linear: the goal is 50,000 Decimals within 3x of plain ``json.dumps`` of the same data as floats.
Both are timed side by side, interleaved, in one process; the medians and their ratio are printed. Nothing is
written to benchmarks/results.
"""

from __future__ import annotations

import argparse
import decimal
import json
import statistics
import time
from collections.abc import Callable
from typing import Any

from lambda_runtime.invocation.payloads import encode_result

GOAL_RATIO = 3.0


def items(count: int, number: Callable[[str], Any]) -> list[dict[str, Any]]:
    """`count` items of five numbers each, shaped like a DynamoDB query result."""
    return [
        {
            "pk": f"user#{i}",
            "id": number(str(i)),
            "price": number(f"{i % 1000}.{i % 100:02d}"),
            "quantity": number(str(i % 17)),
            "ratio": number(f"0.{i:06d}"),
            "updated": number(str(1_700_000_000 + i)),
        }
        for i in range(count)
    ]


def timed(fn: Callable[[], object]) -> float:
    started = time.perf_counter()
    fn()
    return time.perf_counter() - started


def run(decimals: int, rounds: int) -> dict[str, float]:
    """Median seconds for our encoding of `decimals` Decimals and for json.dumps of the same as floats."""
    as_decimals, as_floats = items(decimals // 5, decimal.Decimal), items(decimals // 5, float)
    ours, floats = [], []
    for _ in range(rounds):  # interleaved, so both see the same machine load
        ours.append(timed(lambda: encode_result(as_decimals)))
        floats.append(timed(lambda: json.dumps(as_floats, ensure_ascii=False, separators=(",", ":"))))
    ours_s, floats_s = statistics.median(ours), statistics.median(floats)
    return {"decimals": decimals, "ours_s": ours_s, "floats_s": floats_s, "ratio": ours_s / floats_s}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--decimals", type=int, default=50_000)
    parser.add_argument("--rounds", type=int, default=9)
    args = parser.parse_args(argv)
    small = run(args.decimals // 5, args.rounds)
    result = run(args.decimals, args.rounds)
    for figures in (small, result):
        print(
            f"{figures['decimals']:>7,} Decimals: ours {figures['ours_s'] * 1000:8.1f} ms, "
            f"json.dumps of floats {figures['floats_s'] * 1000:8.1f} ms, ratio {figures['ratio']:.2f}x (median of "
            f"{args.rounds})"
        )
    per_item_growth = (result["ours_s"] / result["decimals"]) / (small["ours_s"] / small["decimals"])
    print(f"time per Decimal, {result['decimals']:,} vs {small['decimals']:,}: {per_item_growth:.2f}x (1.0 = linear)")
    met = result["ratio"] <= GOAL_RATIO
    print(f"goal: within {GOAL_RATIO:.0f}x of json.dumps of floats: {'met' if met else 'NOT met'}")
    return 0 if met else 1


if __name__ == "__main__":
    raise SystemExit(main())
