"""``python -m benchmarks.import_cost [--rounds N] [--against DIR] [--after MODULE] [--out DIR]``: the import cost
of the suite's cold-start scenario (`coldstart.py`), alone and side by side.

Each sample is a fresh interpreter (the suite's child environment: bytecode written and reused, as on Lambda)
timing its own imports with `perf_counter`: ours is `import lambda_runtime.main` beyond `import requests`, the
goal's measure; awslambdaric is `import awslambdaric.bootstrap, awslambdaric.lambda_runtime_client`. Rounds
alternate the order of the subjects:

- ``--against DIR``: another checkout's `lambda_runtime` (say a `git worktree` of main) measured interleaved with this
  one's, for a before/after on one noisy machine (the checkout is chosen by the interpreter's working directory);
- ``--after boto3``: every interpreter imports that module first, untimed, as a handler that imports boto3 does.
  Then "ours, with requests" (`import requests` + ours) against awslambdaric is the import share of the
  cold-start gap that `benchmarks.raw_api` measures for the boto3 handler.

Results go to ``benchmarks/results/local/import_cost.json`` (untracked); nothing is published.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from benchmarks.coldstart import IMPORTS
from benchmarks.procs import PYTHON, child_env

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "benchmarks" / "results"
WHERE = "import lambda_runtime; print(lambda_runtime.__file__)"
GOAL_MS = 15.0  # the documented goal (docs/benchmarks.md): the runtime's import cost beyond `import requests`


def sample(code: str, checkout: Path) -> tuple[float, float]:
    """(ms before, ms after) as `code` prints them, in a fresh interpreter working in `checkout`."""
    command = [PYTHON, "-c", code]
    out = subprocess.run(command, cwd=checkout, env=child_env(), capture_output=True, text=True, check=True, timeout=60)
    before, after = map(float, out.stdout.split())
    return before, after


def measure(rounds: int, checkouts: dict[str, Path], after: str | None) -> dict[str, list[tuple[float, float]]]:
    prefix = f"import {after}; " if after else ""
    subjects = {f"ours ({name})": (prefix + IMPORTS["ours"], path) for name, path in checkouts.items()}
    subjects["awslambdaric"] = (prefix + IMPORTS["awslambdaric"], ROOT)
    for code, path in subjects.values():  # the first run of each writes its bytecode: not a sample
        sample(code, path)
    for path in checkouts.values():  # the working directory comes first on sys.path: make sure it won
        found = subprocess.run([PYTHON, "-c", WHERE], cwd=path, env=child_env(), capture_output=True, text=True)
        if Path(found.stdout.strip()).resolve().parent.parent != path.resolve():
            raise SystemExit(f"{path}: imports lambda_runtime from {found.stdout.strip() or found.stderr[-300:]}")
    samples: dict[str, list[tuple[float, float]]] = {name: [] for name in subjects}
    names = list(subjects)
    for round_no in range(rounds):
        shift = round_no % len(names)
        for name in names[shift:] + names[:shift]:
            samples[name].append(sample(*subjects[name]))
    return samples


def summarize(samples: dict[str, list[tuple[float, float]]]) -> dict[str, Any]:
    def stats(values: list[float]) -> dict[str, float]:
        return {"p50": statistics.median(values), "min": min(values), "max": max(values), "n": len(values)}

    summary: dict[str, Any] = {}
    for name, pairs in samples.items():
        summary[name] = {"beyond_requests_ms": stats([a for _, a in pairs])}
        if name.startswith("ours"):
            summary[name]["requests_ms"] = stats([b for b, _ in pairs])
            summary[name]["with_requests_ms"] = stats([b + a for b, a in pairs])
    return summary


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.import_cost", description=__doc__)
    parser.add_argument("--rounds", type=int, default=15, help="samples per subject (default: 15)")
    parser.add_argument("--against", type=Path, help="another checkout, measured interleaved with this one")
    parser.add_argument("--after", help="a module every interpreter imports first, untimed (e.g. boto3)")
    parser.add_argument("--out", type=Path, default=RESULTS / "local", help="where import_cost.json goes")
    args = parser.parse_args(argv)
    checkouts = {"this checkout": ROOT}
    if args.against is not None:
        checkouts[f"{args.against}"] = args.against.resolve()
    started = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    summary = summarize(measure(args.rounds, checkouts, args.after))
    for name, figures in summary.items():
        line = f"{name}: {_shown(figures['beyond_requests_ms'])}"
        if "with_requests_ms" in figures:
            line += f" beyond `import requests`; requests + ours {_shown(figures['with_requests_ms'])}"
        print(line)
    ours = summary["ours (this checkout)"]["beyond_requests_ms"]["p50"]
    print(f"goal: import cost beyond `import requests` <= {GOAL_MS:.0f} ms: {'met' if ours <= GOAL_MS else 'not met'}")
    args.out.mkdir(parents=True, exist_ok=True)
    record = {"date": started, "command": ["python", "-m", "benchmarks.import_cost", *(argv or sys.argv[1:])]}
    record |= {"after": args.after, "checkouts": {k: str(v) for k, v in checkouts.items()}, "results": summary}
    (args.out / "import_cost.json").write_text(json.dumps(record, indent=1) + "\n", encoding="utf-8")
    print(f"wrote {args.out / 'import_cost.json'}")
    return 0


def _shown(s: dict[str, float]) -> str:
    return f"{s['p50']:.1f} ms (min {s['min']:.1f}, max {s['max']:.1f}, n {s['n']})"


if __name__ == "__main__":
    sys.exit(main())
