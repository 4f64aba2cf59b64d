"""Compare the cold start of deployment zips under the local emulator: process start → first `/next`.

    python deploy/coldstart.py dist/with-bytecode.zip dist/without-bytecode.zip --runs 20

Each zip is unzipped once and started through its own `bootstrap`, as Lambda would, with
PYTHONDONTWRITEBYTECODE=1 because Lambda's task directory is read-only: a zip without bytecode compiles every
module on every cold start. Runs are interleaved (A B A B ...) so that drift in the machine's load hits both
alike; the Init Duration of each cold start comes from the emulator's invocation record. A development tool:
it needs the emulator (the `emulator` extra), which deployments never carry.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import zipfile
from collections.abc import Sequence
from pathlib import Path

from lambda_runtime.emulator import Emulator


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("zips", nargs="+", type=Path, help="deployment zips to compare (the first is the baseline)")
    parser.add_argument("--runs", type=int, default=20, help="cold starts per zip (default: %(default)s)")
    parser.add_argument("--handler", default="app.handler", help="handler (default: %(default)s)")
    parser.add_argument("--event", default='{"message": "hi"}', help="event sent to each cold start (JSON)")
    parser.add_argument(
        "--python",
        # Not a virtualenv's python (its site-packages, .pth files and all) nor a launcher shim (pyenv's adds a
        # shell and a second exec to every start): the real interpreter underneath.
        default=os.path.realpath(getattr(sys, "_base_executable", sys.executable)),
        help="interpreter bootstrap runs the zips with (LAMBDA_RUNTIME_PYTHON; default: this Python's base)",
    )
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="coldstart-") as scratch:
        roots = [unzip(path, Path(scratch) / str(index)) for index, path in enumerate(args.zips)]
        env = clean_environment(args.python)
        for root in roots:  # one discarded start each: the first one also pays for a cold page cache
            cold_start(root, args.handler, args.event, env)
        samples: list[list[float]] = [[] for _ in roots]
        for _ in range(args.runs):
            for root, sample in zip(roots, samples, strict=True):
                sample.append(cold_start(root, args.handler, args.event, env))
    print(f"{args.runs} cold starts each, interleaved; python: {args.python}")
    baseline = statistics.median(samples[0])
    for path, sample in zip(args.zips, samples, strict=True):
        median = statistics.median(sample)
        quartiles = statistics.quantiles(sample, n=4)
        print(
            f"{path}: median {median:.1f} ms (quartiles {quartiles[0]:.1f}-{quartiles[2]:.1f}, "
            f"min {min(sample):.1f}, max {max(sample):.1f}); {median / baseline:.2f}x the first"
        )
    return 0


def unzip(path: Path, root: Path) -> Path:
    with zipfile.ZipFile(path) as archive:
        archive.extractall(root)
    (root / "bootstrap").chmod(0o755)  # zipfile does not restore permissions; `sh bootstrap` would not need it
    return root


def clean_environment(python: str) -> dict[str, str]:
    """Only what Lambda would set, plus the interpreter: no virtualenv, no PYTHONPATH of ours."""
    return {
        "PATH": "/usr/local/bin:/usr/bin:/bin",
        "LANG": os.environ.get("LANG", "C.UTF-8"),
        "LAMBDA_RUNTIME_PYTHON": python,
        "PYTHONDONTWRITEBYTECODE": "1",
        "PYTHONNOUSERSITE": "1",
        "BACKGROUND_WORK_SECONDS": "0",
    }


def cold_start(root: Path, handler: str, event: str, env: dict[str, str]) -> float:
    """Start a fresh runtime from `root`, invoke it once, and return its Init Duration in ms."""
    command = ["sh", str(root / "bootstrap")]
    with Emulator(handler, task_root=str(root), env=env, runtime_command=command) as emulator:
        response = emulator.invoke(event.encode())
        if response.status_code != 200 or "X-Amz-Function-Error" in response.headers:
            raise SystemExit(f"{root}: the invocation failed: {response.text}\n{emulator.runtime_output()}")
        (record,) = emulator.wait_for_records(1)
    if record.init_ms is None:
        raise SystemExit(f"{root}: the emulator recorded no init duration")
    return record.init_ms


if __name__ == "__main__":
    sys.exit(main())
