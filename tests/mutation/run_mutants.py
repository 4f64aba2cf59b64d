"""Mutants of the deferred-job code that the test suite must kill, each on every run.

``python tests/mutation/run_mutants.py [--runs 5]`` applies one mutant at a time to a scratch copy of the committed
tree (`git archive HEAD`), runs the tests named for it `--runs` times and reports how often it survived (it must be
0). Not collected by pytest.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
UNIT = ["tests/test_jobs_batch.py", "tests/test_jobs_workers.py"]
E2E = ["tests/test_deferred_unhappy.py", "tests/test_deferred.py"]

# name: (file, original text, mutated text, tests that must kill it)
MUTANTS = {
    "timed-out jobs left out of the summary": (
        "lambda_runtime/jobs/batch.py",
        'counts["timed_out"] += len(unfinished)',
        "pass",
        UNIT + E2E,
    ),
    "a job finishing after its cancellation counted ok": (
        "lambda_runtime/jobs/batch.py",
        'job.finish("timed_out" if outcome == "ok" and job.cancelled else outcome)',
        "job.finish(outcome)",
        UNIT + E2E,
    ),
    "defer accepted after the invocation is over": (
        "lambda_runtime/invocation/context.py",
        "if self._batch is None and not self._over:",
        "if self._batch is None:",
        E2E,
    ),
    "an error hook's exception escaping": (
        "lambda_runtime/jobs/hooks.py",
        "except BaseException:  # even SystemExit",
        "except Exception:  # even SystemExit",
        E2E,
    ),
    "a job whose deadline passed while queued still run": (
        "lambda_runtime/jobs/batch.py",
        "if self.closed or self.clock() >= job.deadline:",
        "if False:",
        UNIT + E2E,
    ),
    "the overrun warning logged on every wake-up": (
        "lambda_runtime/jobs/batch.py",
        "        if not job.cancelled:\n            job.cancel()",
        "        if True:\n            job.cancel()",
        UNIT,
    ),
    "start_now and nested jobs run without the deferring context": (
        "lambda_runtime/jobs/batch.py",
        "                    self._submit(job)",  # in defer(): start_now and nested jobs, not the held ones
        "                    self._workers_of(job).submit(job, functools.partial(self._run, job))",
        E2E,
    ),
    "no cancel grace": (
        "lambda_runtime/jobs/batch.py",
        "stop_at = min(job.deadline + grace, self.deadline)",
        "stop_at = min(job.deadline, self.deadline)",
        UNIT + E2E,
    ),
}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("names", nargs="*", help="mutants to run (default: all)")
    args = parser.parse_args()
    survived = 0
    for name, (path, original, mutated, tests) in MUTANTS.items():
        if args.names and name not in args.names:
            continue
        with tempfile.TemporaryDirectory(prefix="mutant-") as scratch:
            copy = Path(scratch) / "checkout"
            copy.mkdir()
            # The committed tree, not the working one: an edit in progress must not pass for a killed mutant.
            archive = subprocess.run(["git", "archive", "HEAD"], cwd=ROOT, capture_output=True, check=True).stdout
            subprocess.run(["tar", "-x", "-C", str(copy)], input=archive, check=True)
            source = copy / path
            text = source.read_text()
            assert text.count(original) == 1, f"{name}: the original text is not found exactly once in {path}"
            source.write_text(text.replace(original, mutated))
            kills = 0
            for _ in range(args.runs):
                command = [sys.executable, "-m", "pytest", "-x", "-q", "-p", "no:cacheprovider", *tests]
                env_path = {"PYTHONPATH": str(copy)}
                run = subprocess.run(command, cwd=copy, env={**_environ(), **env_path}, capture_output=True)
                kills += run.returncode != 0
            survived += kills < args.runs
            print(f"{'killed' if kills == args.runs else 'SURVIVED'} {kills}/{args.runs}: {name}", flush=True)
    return 1 if survived else 0


def _environ() -> dict[str, str]:
    import os

    return dict(os.environ)


if __name__ == "__main__":
    sys.exit(main())
