"""The post-response phase, in one place: release the jobs, join them, log the summary, apply the overrun policy,
call the after-jobs hooks. The loop makes one call, `JobRunner.after_response`, between `/response` and `/next`."""

from __future__ import annotations

import contextlib
import logging
import os
import sys
import time
from collections import Counter
from collections.abc import Callable
from typing import NoReturn

from lambda_runtime.config import Settings
from lambda_runtime.errors import describe
from lambda_runtime.jobs.batch import Batch, BatchPolicy, Summary
from lambda_runtime.jobs.hooks import call_after_jobs_hooks, call_error_hooks
from lambda_runtime.jobs.job import Job
from lambda_runtime.jobs.processes import ProcessExecutor
from lambda_runtime.jobs.workers import Workers

logger = logging.getLogger("lambda_runtime")


class JobRunner:
    """The process's workers, created at init and shared by every invocation's batch."""

    def __init__(
        self,
        workers: Workers,
        policy: BatchPolicy,
        margin_ms: int = 100,
        overrun: str = "abandon",
        replace_process: Callable[[], NoReturn] = lambda: exit_now(1),
        clock: Callable[[], float] = time.monotonic,
        processes: ProcessExecutor | None = None,
    ) -> None:
        self.workers = workers
        self.processes = processes
        self.policy = policy
        self.margin_s = margin_ms / 1000
        self.overrun = overrun
        self.replace_process = replace_process  # main's restart-in-place; never returns
        self.clock = clock
        self.current: Batch | None = None  # the latest invocation's jobs: the ones a shutdown may cut short

    @classmethod
    def from_settings(
        cls, settings: Settings, replace_process: Callable[[], NoReturn], telemetry_fd: int | None = None
    ) -> JobRunner:
        processes = ProcessExecutor(
            settings.defer_processes,
            settings.task_root,
            settings.log_format,
            settings.log_level,
            telemetry_fd,
            settings.defer_max_queued,
        )
        if settings.defer_processes_at_init:
            processes.start()
        return cls(
            Workers(settings.defer_workers, settings.defer_max_abandoned, settings.defer_max_queued),
            BatchPolicy(settings.defer_max_pending, settings.defer_when_full, settings.defer_on_error),
            settings.defer_margin_ms,
            settings.defer_overrun,
            replace_process,
            processes=processes,
        )

    def batch(self, request_id: str, deadline_epoch_ms: int) -> Batch:
        remaining_s = deadline_epoch_ms / 1000 - time.time()
        deadline = self.clock() + remaining_s - self.margin_s
        self.current = Batch(self.workers, self.policy, request_id, deadline, self.clock, self.processes)
        return self.current

    def shut_down(self, until: float) -> list[str]:
        """SIGTERM: cancel the running jobs, wait for them until `until` (on `clock`), stop the worker processes.
        Returns the names of the jobs cut short (never started, still running, or abandoned earlier)."""
        cut = [job.name for job in self.current.stop(until)] if self.current is not None else []
        cut += [job.name for job in self.workers.abandoned() if job.name not in cut]
        if self.processes is not None:
            self.processes.close()
        return cut

    def restart(self) -> NoReturn:
        """Stop the worker processes, then replace this process (main's restart in place)."""
        if self.processes is not None:
            self.processes.close()
        self.replace_process()

    def after_response(self, batch: Batch | None, handler_failed: bool, streamed_ms: float | None = None) -> None:
        """Everything between the posted result and the next `/next` (`streamed_ms`: how long a stream took)."""
        if batch is not None:
            self._drain(batch, handler_failed, streamed_ms)
        call_after_jobs_hooks()

    def _drain(self, batch: Batch, handler_failed: bool, streamed_ms: float | None = None) -> None:
        started = self.clock()
        batch.release(handler_failed)
        # The overflow and the hand-offs asked for are sent at once; each send is bounded by the deadline.
        handed = hand_off_jobs(batch.take_outgoing(), lambda: batch.deadline - self.clock())

        def hand_off_late(jobs: list[Job]) -> None:  # jobs that would find no worker before the deadline
            handed.update(hand_off_jobs(jobs, lambda: batch.deadline - self.clock()))

        # Ctrl-C or SIGTERM (main turns it into KeyboardInterrupt) ends join() here: main's shutdown gives the jobs
        # the shutdown budget and says which were cut short (lifecycle/shutdown.py).
        summary = batch.join(hand_off_late)
        summary.counts.update(handed)
        _log_summary(summary, (self.clock() - started) * 1000, streamed_ms)
        if not summary.still_running:
            return
        names = ", ".join(job.name for job in summary.still_running)
        if self.overrun == "exit":
            logger.critical(
                "Deferred jobs still running at the deadline (%s): the runtime restarts in place; the invocation "
                "ends as a success and the next event goes to a fresh process",
                names,
            )
            self.restart()
        if self.workers.over_bound:
            abandoned = ", ".join(job.name for job in self.workers.abandoned())
            logger.critical(
                "%d abandoned deferred jobs are still running (%s), more than LAMBDA_RUNTIME_DEFER_MAX_ABANDONED=%d: "
                "the runtime restarts in place; the invocation ends as a success and the next event goes to a "
                "fresh process",
                len(self.workers.abandoned()),
                abandoned,
                self.workers.max_abandoned,
            )
            self.restart()
        logger.warning(
            "Deferred jobs still running at the deadline (%s) are abandoned: their threads no longer count against "
            "the pool; they are frozen with the environment and may resume during a later invocation",
            names,
        )


def hand_off_jobs(jobs: list[Job], time_left_s: Callable[[], float]) -> Counter[str]:
    """Send each job's parcel to Lambda's async queue; a failure is counted and reaches the error hooks."""
    outcomes: Counter[str] = Counter()
    if not jobs:
        return outcomes
    from lambda_runtime.handoff.send import send  # only when something is handed off

    for job in jobs:
        try:
            send(job.parcel, time_left_s())
        except Exception as error:  # HandOffError, or a bug: either way the job is named and not lost silently
            job.finish("hand_off_failed")
            logger.error("deferred job %r was not handed off: %s", job.name, describe(error), extra={"job": job.name})
            job.context.run(call_error_hooks, job, error)
        else:
            job.finish("handed_off")
            logger.info(
                "deferred job %r handed off as %s", job.name, job.parcel.job_id, extra={"jobId": job.parcel.job_id}
            )
        outcomes[job.outcome] += 1
    return outcomes


def _log_summary(summary: Summary, elapsed_ms: float, streamed_ms: float | None = None) -> None:
    counts = summary.counts
    handed = counts["handed_off"] + counts["hand_off_failed"]
    # Only functions that hand off see the hand-off counts: every other summary line stays as it was.
    hand_offs = f"; {counts['handed_off']} handed off, {counts['hand_off_failed']} hand-off failed" if handed else ""
    hand_off_fields = {"handedOff": counts["handed_off"], "handOffFailed": counts["hand_off_failed"]} if handed else {}
    # A streamed response is "posted" when its last chunk is: the jobs ran after the stream, which took this long.
    streamed = {} if streamed_ms is None else {"streamMs": round(streamed_ms, 3)}
    logger.info(
        "Deferred jobs: %d ok, %d failed, %d timed out, %d not started, %d rejected, %d skipped%s; "
        "%.1f ms after the response%s",
        counts["ok"],
        counts["failed"],
        counts["timed_out"],
        counts["not_started"],
        summary.rejected,
        counts["skipped"],
        hand_offs,
        elapsed_ms,
        "" if streamed_ms is None else f" (streamed for {streamed_ms:.1f} ms)",
        extra={
            "ok": counts["ok"],
            "failed": counts["failed"],
            "timedOut": counts["timed_out"],
            "notStarted": counts["not_started"],
            "rejected": summary.rejected,
            "skipped": counts["skipped"],
            **hand_off_fields,
            "postResponseMs": round(elapsed_ms, 3),
            **streamed,
        },
    )


def exit_now(status: int) -> NoReturn:
    # sys.exit() would unwind through the loop; os._exit ends the process at once, with the logs flushed first.
    flush_output()
    os._exit(status)


def flush_output() -> None:
    """Everything logged so far reaches the log before the process ends or replaces itself."""
    for handler in logging.getLogger().handlers:
        handler.flush()
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(ValueError, OSError):  # a handler may have closed them
            stream.flush()
