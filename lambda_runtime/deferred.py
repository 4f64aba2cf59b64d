"""Deferred jobs: callables that run after the response is posted and before the next `/next`.

A job is a callable plus its arguments. `JobRunner` owns the one thread pool of the process; a `Batch` holds the
jobs of one invocation and is created on its first `defer`, so a handler that never defers pays nothing.
"""

from __future__ import annotations

import contextvars
import logging
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from lambda_runtime.errors import DeferRejected
from lambda_runtime.jobs import CURRENT_JOB, ERROR_HOOKS, Job

logger = logging.getLogger("lambda_runtime.deferred")

CANCEL_GRACE_S = 0.1


class JobRunner:
    """The process's bounded pool, created at init and reused by every invocation."""

    def __init__(self, workers: int, max_pending: int, margin_ms: int, when_full: str, run_on_error: bool) -> None:
        self.pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="deferred")
        self.max_pending = max_pending
        self.margin_s = margin_ms / 1000
        self.when_full = when_full
        self.run_on_error = run_on_error

    def batch(self, request_id: str, deadline_epoch_ms: int) -> Batch:
        remaining_s = deadline_epoch_ms / 1000 - time.time()
        return Batch(self, request_id, time.monotonic() + remaining_s - self.margin_s)


class Summary:
    """What became of one invocation's jobs."""

    def __init__(self, rejected: int) -> None:
        self.ok = self.failed = self.timed_out = self.skipped = 0
        self.rejected = rejected
        self.still_running: list[Job] = []


class Batch:
    """The jobs of one invocation: held until the response is posted, then drained before `/next`."""

    def __init__(self, runner: JobRunner, request_id: str, deadline: float) -> None:
        self.runner = runner
        self.request_id = request_id
        self.deadline = deadline
        self.jobs: list[Job] = []
        self.held: list[Job] = []
        self.released = False
        self.closed = False
        self.rejected = 0
        self.changed = threading.Condition()

    def defer(
        self,
        fn: Callable[..., Any],
        args: tuple[Any, ...],
        kwargs: dict[str, Any],
        *,
        timeout: float | None,
        name: str | None,
        start_now: bool,
    ) -> Job:
        job = Job(
            name or str(getattr(fn, "__qualname__", None) or repr(fn)),
            self.request_id,
            self.deadline,
            fn,
            args,
            kwargs,
            timeout,
            contextvars.copy_context(),
        )
        with self.changed:
            # Every job of the invocation counts until the invocation is over, finished or not, so a job that
            # keeps deferring itself is stopped by the bound rather than spinning until the deadline.
            full = self.closed or len(self.jobs) >= self.runner.max_pending
            if full:
                self.rejected += 1
            else:
                self.jobs.append(job)
                if start_now or self.released:
                    self.runner.pool.submit(job.context.run, self._run, job)
                else:
                    self.held.append(job)
        if full:
            reason = "the invocation is over" if self.closed else f"{len(self.jobs)} jobs already pending"
            if self.closed or self.runner.when_full == "raise":
                raise DeferRejected(f"deferred job {job.name!r} rejected: {reason}")
            logger.warning("deferred job %r runs inline: %s", job.name, reason)
            job.context.run(self._run, job)
        return job

    def release(self, handler_failed: bool = False) -> None:
        """The response is posted: start the held jobs (or skip them after a handler error, if so configured)."""
        with self.changed:
            self.released = True
            held, self.held = self.held, []
        for job in held:
            if handler_failed and not self.runner.run_on_error:
                self._finish(job, "skipped")
            else:
                self.runner.pool.submit(job.context.run, self._run, job)

    def join(self) -> Summary:
        """Wait for every job or its deadline; flag overdue jobs as cancelled. Never waits past the batch deadline."""
        with self.changed:
            while True:
                now = time.monotonic()
                waiting = []
                for job in self.jobs:
                    if job.finished:
                        continue
                    # A job cancelled at its own timeout gets a short grace to stop cleanly; at the invocation's
                    # deadline there is none, because the margin is the reserve for posting and /next.
                    stop_at = min(job.deadline + CANCEL_GRACE_S, self.deadline)
                    if now < job.deadline:
                        waiting.append(job.deadline)
                    elif now < stop_at:
                        waiting.append(stop_at)
                    if now >= job.deadline and not job.cancelled:
                        job.cancel_event.set()
                        elapsed = now - (job.started_at or now)
                        logger.warning(
                            "deferred job %r overran its deadline after %.0f ms; cancellation flag set",
                            job.name,
                            elapsed * 1000,
                            extra={"job": job.name, "elapsedMs": elapsed * 1000},
                        )
                if not waiting:
                    break
                self.changed.wait(min(waiting) - now)
            self.closed = True
            summary = Summary(self.rejected)
            for job in self.jobs:
                if not job.finished:
                    summary.still_running.append(job)
                    summary.timed_out += 1
                else:
                    setattr(summary, job.outcome, getattr(summary, job.outcome) + 1)
            return summary

    def _run(self, job: Job) -> None:
        # Runs inside a copy of the context the job was deferred from, so logs carry that invocation's request id.
        if job.cancelled:  # its deadline passed while it waited for a worker
            self._finish(job, "timed_out")
            return
        job.started_at = time.monotonic()
        if job.timeout is not None:
            with self.changed:  # wake join() so it watches the job's own, earlier deadline
                job.deadline = min(job.deadline, job.started_at + job.timeout)
                self.changed.notify_all()
        token = CURRENT_JOB.set(job)
        try:
            job.fn(*job.args, **job.kwargs)
            outcome = "timed_out" if job.cancelled else "ok"
        except BaseException as error:  # a job's failure, even SystemExit, must never reach the loop
            outcome = "failed"
            logger.error("deferred job %r failed", job.name, exc_info=error, extra={"job": job.name})
            for hook in ERROR_HOOKS:
                try:
                    hook(job, error)
                except Exception:
                    logger.exception("error hook %r failed for deferred job %r", hook, job.name)
        finally:
            CURRENT_JOB.reset(token)
        self._finish(job, outcome)

    def _finish(self, job: Job, outcome: str) -> None:
        with self.changed:
            job.outcome = outcome
            job.finished = True
            self.changed.notify_all()
