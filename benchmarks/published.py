"""Published benchmark runs, and the goals as docs/benchmarks.md states them: met only if met in each of the last 3.

``python -m benchmarks --publish`` adds ``results/published/run-<UTC time>-001.json`` (the figures of one run, with the
machine's CPU model and load average); nothing is ever overwritten. ``python -m benchmarks.published`` prints the
table docs/benchmarks.md carries: per goal, in how many of the last runs it was met, and the spread of its value
across them.
"""

from __future__ import annotations

import datetime
import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

PUBLISHED = Path(__file__).parent / "results" / "published"
REQUIRED = 3  # runs out of which a goal must be met every time before the documentation calls it met


def cpu_model(cpuinfo: Path = Path("/proc/cpuinfo")) -> str | None:
    """The CPU's model name as the kernel reports it (None off Linux): figures mean little without it."""
    try:
        text = cpuinfo.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return None
    for line in text.splitlines():
        name, _, value = line.partition(":")
        if name.strip() in ("model name", "Model", "cpu model"):
            return value.strip()
    return None


def add(figures: dict[str, Any], where: Path = PUBLISHED, prefix: str = "run") -> Path:
    """Write one run's figures as a new file; an existing file is never replaced."""
    where.mkdir(parents=True, exist_ok=True)
    stamp = datetime.datetime.now(datetime.timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    n = 1
    while (path := where / f"{prefix}-{stamp}-{n:03d}.json").exists():  # sorts by time, then by n
        n += 1
    path.write_text(json.dumps(figures, indent=1) + "\n", encoding="utf-8")
    return path


def last_runs(where: Path = PUBLISHED, count: int = REQUIRED, prefix: str = "run") -> list[dict[str, Any]]:
    """The newest `count` published runs of one suite (`run`: the main one), oldest first (names sort by time)."""
    paths = sorted(where.glob(f"{prefix}-*.json"))[-count:]
    return [json.loads(path.read_text(encoding="utf-8")) for path in paths]


def verdicts(runs: Sequence[dict[str, Any]], required: int = REQUIRED) -> list[dict[str, Any]]:
    """Per goal: runs met / runs, the values' spread, and `met` only if met in `required` runs out of `required`."""
    by_goal: dict[str, list[dict[str, Any]]] = {}
    for run in runs:
        for goal in run.get("goals", []):
            by_goal.setdefault(goal["goal"], []).append(goal)
    rows = []
    for name, seen in by_goal.items():
        values = [g["value"] for g in seen if isinstance(g.get("value"), (int, float))]
        met_count = sum(bool(g["met"]) for g in seen)
        rows.append(
            {
                "goal": name,
                "runs": len(seen),
                "met_in": met_count,
                "min": min(values) if values else None,
                "max": max(values) if values else None,
                "met": len(seen) >= required and met_count == len(seen),
            }
        )
    return rows


def machine(run: dict[str, Any]) -> str:
    meta = run.get("meta", {})
    start = meta.get("load_average_at_start") or [None]
    end = meta.get("load_average_at_end") or [None]
    load = f"load {_num(start[0])} → {_num(end[0])}"
    return f"{meta.get('date', '?')}: {meta.get('cpu_model') or 'CPU model not recorded'}, {load}"


def render(runs: Sequence[dict[str, Any]], required: int = REQUIRED) -> str:
    lines = [
        f"Goals over the last {len(runs)} published runs (met only if met in {required} runs out of {required}):",
        "",
        "| goal | met in | spread (min to max) | |",
        "|---|---:|---:|---|",
    ]
    for row in verdicts(runs, required):
        verdict = "met" if row["met"] else "not met"
        if row["runs"] < required:
            verdict += f" (only {row['runs']} published runs)"
        spread = f"{_num(row['min'])} to {_num(row['max'])}"
        lines.append(f"| {row['goal']} | {row['met_in']}/{row['runs']} | {spread} | {verdict} |")
    lines += ["", *(f"- {machine(run)}" for run in runs)]
    return "\n".join(lines)


def _num(value: Any) -> str:
    return f"{value:.2f}" if isinstance(value, (int, float)) else "-"


def main(argv: Sequence[str] | None = None) -> int:
    shown = 0
    for prefix, command in (("run", "python -m benchmarks"), ("raw_api", "python -m benchmarks.raw_api")):
        runs = last_runs(prefix=prefix)
        if runs:
            print(f"`{command} --publish`: " + render(runs) + "\n")
            shown += 1
    if not shown:
        print(f"no published runs in {PUBLISHED}: `python -m benchmarks --publish` adds one", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
