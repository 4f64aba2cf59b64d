"""Mutants of the runtime that the test suite must kill, each on every run.

``python tests/mutation/run_mutants.py [--runs 5]`` applies one mutant at a time to a scratch copy of the committed
tree (`git archive HEAD`), runs the tests named for it (a file, or file::test) `--runs` times and reports how often
it survived (it must be 0). Not collected by pytest.
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
SHUTDOWN = [
    "tests/test_lifecycle_shutdown.py::test_shutdown_hooks_run_latest_registered_first",
    "tests/test_lifecycle_shutdown.py::test_the_jobs_leave_half_the_budget_to_the_shutdown_hooks",
    "tests/test_lifecycle_shutdown.py::test_a_second_signal_does_not_cut_the_shutdown_hooks_short",
]

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
    "a process job terminated at the deadline counted as an abandoned thread": (
        "lambda_runtime/jobs/batch.py",
        'still_running = [job for job in unfinished if job.executor == "thread"]',
        "still_running = unfinished",
        [
            "tests/test_jobs_batch.py::test_a_process_job_still_running_at_the_deadline_is_timed_out_but_leaves_no_abandoned_thread"
        ],
    ),
    "ProcessExecutor.close() not reaping its workers": (
        "lambda_runtime/jobs/processes.py",
        "        for worker in started:\n            worker.reap(give_up)",
        "        for worker in started:\n            pass",
        [
            "tests/test_jobs_processes.py::test_closing_the_executor_reaps_every_worker_so_none_is_left_running_or_a_zombie"
        ],
    ),
    "a Managed Instances worker that recovered from a failed /next still counted as failing": (
        "lambda_runtime/serve/managed.py",
        "self._failing.discard(threading.current_thread().name)",
        "pass",
        ["tests/test_managed_instance.py"],
    ),
    "@after_jobs hooks skipped under Managed Instances for invocations that deferred nothing": (
        "lambda_runtime/serve/managed.py",
        "if batch is None and not AFTER_JOBS_HOOKS:",
        "if batch is None:",
        ["tests/test_managed_instance.py"],
    ),
    "a streamed response to a slow reader cut at the post timeout instead of the deadline": (
        "lambda_runtime/invocation/streaming.py",
        "max(remaining_s, client.post_timeout_s)",
        "client.post_timeout_s",
        [
            "tests/test_streaming.py::test_a_stream_to_a_slow_reader_may_take_until_the_deadline_not_just_the_post_timeout"
        ],
    ),
    "an ALB event streamed under invoke_mode=response_stream": (
        "lambda_runtime/web/asgi.py",
        'streaming = self.invoke_mode == "response_stream" and request.kind != "alb"',
        'streaming = self.invoke_mode == "response_stream"',
        ["tests/test_web_asgi.py::test_an_alb_event_gets_a_buffered_response_even_when_the_app_streams"],
    ),
    "the app's own TimeoutError in background work reported as a deadline": (
        "lambda_runtime/jobs/call.py",
        'if job.cancelled and type(error).__name__ in ("CancelledError", "Terminated"):',
        'if type(error).__name__ in ("CancelledError", "Terminated", "TimeoutError"):',
        [
            "tests/test_jobs_job.py::test_a_job_s_own_timeout_error_is_a_failure_not_its_deadline",
            "tests/test_web_asgi.py::test_the_app_s_own_timeout_error_after_the_response_is_a_failed_job_not_a_deadline",
        ],
    ),
    "shutdown hooks starved of their half of the budget": (
        "lambda_runtime/serve/exits.py",
        "jobs_until = trigger.signalled_at + (end - trigger.signalled_at) / 2 if _hooks_registered() else end",
        "jobs_until = end",
        SHUTDOWN,
    ),
    "shutdown hooks run first registered first": (
        "lambda_runtime/lifecycle/shutdown.py",
        "hook = SHUTDOWN_HOOKS.pop()",
        "hook = SHUTDOWN_HOOKS.pop(0)",
        SHUTDOWN,
    ),
    "shutdown hooks cut short by a second signal": (
        "lambda_runtime/serve/exits.py",
        "        for sig in (signal.SIGTERM, signal.SIGINT):\n            signal.signal(sig, signal.SIG_IGN)",
        "        for sig in ():\n            signal.signal(sig, signal.SIG_IGN)",
        SHUTDOWN,
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
