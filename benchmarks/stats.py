"""Summaries: medians and p99 (numpy's linear interpolation), and helpers to pick fields out of samples."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np


def summarize(values: Iterable[float | None]) -> dict[str, float]:
    """n, p50, p99, mean, min, max of the values that are not None (NaN for an empty list)."""
    data = np.array([v for v in values if v is not None], dtype=float)
    if data.size == 0:
        nan = float("nan")
        return {"n": 0, "p50": nan, "p99": nan, "mean": nan, "min": nan, "max": nan}
    return {
        "n": int(data.size),
        "p50": float(np.percentile(data, 50)),
        "p99": float(np.percentile(data, 99)),
        "mean": float(data.mean()),
        "min": float(data.min()),
        "max": float(data.max()),
    }


def column(samples: Sequence[dict[str, Any]], key: str) -> list[float]:
    return [s[key] for s in samples if s.get(key) is not None]


def summarize_samples(samples: Sequence[dict[str, Any]], keys: Sequence[str]) -> dict[str, dict[str, float]]:
    """One summary per field, e.g. ``{"client_ms": {...}, "billed_ms": {...}}``."""
    return {key: summarize(column(samples, key)) for key in keys}


def ratio(a: float, b: float) -> float:
    return a / b if b else float("nan")


def rotated(items: Sequence[Any], shift: int) -> list[Any]:
    """The interleaving order of one round: A B C, then B C A, ... so that no mode always goes first."""
    shift %= max(1, len(items))
    return [*items[shift:], *items[:shift]]
