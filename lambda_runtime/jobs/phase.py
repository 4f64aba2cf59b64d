"""The post-response phase, in one place: release the jobs, join them, log the summary, apply the overrun policy,
call the after-jobs hooks. The loop makes one call, `JobRunner.after_response`, between `/response` and `/next`."""

from __future__ import annotations

import contextlib
import logging
import os
import sys
import threading
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
#: At shutdown, the least time a worker process gets to exit (and flush what it wrote) after SIGTERM.
_WORKER_EXIT_S = 0.02


class JobRunner:
    """The process's workers, created once by the serving mode and shared by every invocation's batch; and what is in
    flight: the invocations whose handler runs, the batches not yet joined, the batches left with jobs running. The
    exit (exits.py) reads these to finish or name every invocation's work."""

    def __init__(
        self,
        workers: Workers,
        policy: BatchPolicy,
        margin_ms: int = 100,
        overrun: str = "abandon",
        clock: Callable[[], float] = time.monotonic,
        processes: ProcessExecutor | None = None,
    ) -> None:
        self.workers = workers
        self.processes = processes
        self.policy = policy
        self.margin_s = margin_ms / 1000
        self.overrun = overrun
        self.clock = clock
        # The mode's exit (exits.py): called with the reason when the overrun policy says the process must go.
        self.escalate: Callable[[str], NoReturn] = _exit_unset
        self.changed = threading.Condition()  # notified whenever an invocation is answered or a batch is joined
        self._handlers: dict[str, float] = {}  # request id -> its deadline on `clock`: the handler runs
        self._open: list[Batch] = []  # deferred to, not yet joined
        self._overran: list[Batch] = []  # joined with thread jobs still running past their deadline

    @classmethod
    def from_settings(
        cls, settings: Settings, telemetry_fd: int | None = None, clock: Callable[[], float] = time.monotonic
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
            clock=clock,
            processes=processes,
        )

    def invocation_started(self, request_id: str, deadline_epoch_ms: int) -> None:
        with self.changed:
            self._handlers[request_id] = self._on_clock(deadline_epoch_ms)

    def invocation_answered(self, request_id: str) -> None:
        with self.changed:
            self._handlers.pop(request_id, None)
            self.changed.notify_all()

    def batch(self, request_id: str, deadline_epoch_ms: int) -> Batch:
        batch = Batch(
            self.workers,
            self.policy,
            request_id,
            self._on_clock(deadline_epoch_ms) - self.margin_s,
            self.clock,
            self.processes,
        )
        with self.changed:
            self._open.append(batch)
        return batch

    def in_flight(self) -> tuple[dict[str, float], list[Batch]]:
        """(request id -> deadline of each handler still running, the batches not yet joined)."""
        with self.changed:
            return dict(self._handlers), list(self._open)

    def unfinished_jobs(self) -> list[Job]:
        """Every job not finished, whatever its invocation: in batches not joined, overran, or abandoned."""
        with self.changed:
            batches = [*self._open, *self._overran]
        seen: dict[int, Job] = {}
        for job in [job for batch in batches for job in batch.jobs] + self.workers.abandoned():
            if not job.finished:
                seen.setdefault(id(job), job)
        return list(seen.values())

    def close_processes(self, grace_s: float = 0.0) -> None:
        """Stop the worker processes of `executor="process"` jobs, before the process goes or replaces itself; with
        a `grace_s`, each gets SIGTERM and that long (at least `_WORKER_EXIT_S`) to flush its output before SIGKILL."""
        if self.processes is not None:
            self.processes.close(max(grace_s, _WORKER_EXIT_S) if grace_s > 0 else 0.0)

    def stop_jobs(self, until: float) -> list[Job]:
        """SIGTERM: cancel every invocation's jobs and wait for them until `until` (on `clock`); a post-response
        phase this interrupts gets its summary line, in its invocation's name. Returns the jobs cut short."""
        _, batches = self.in_flight()
        cut: list[Job] = []
        for batch in batches:
            interrupted = batch.released and not batch.closed
            cut += batch.stop(until)
            if interrupted and batch.released_at is not None and batch.jobs:
                elapsed_ms = (self.clock() - batch.released_at) * 1000
                batch.jobs[0].context.copy().run(_log_summary, batch.summary(), elapsed_ms)
        return cut

    def _on_clock(self, deadline_epoch_ms: int) -> float:
        return self.clock() + deadline_epoch_ms / 1000 - time.time()

    def _joined(self, batch: Batch, summary: Summary) -> None:
        with self.changed:
            if batch in self._open:
                self._open.remove(batch)
            self._overran = [old for old in self._overran if any(not job.finished for job in old.jobs)]
            if summary.still_running:
                self._overran.append(batch)
            self.changed.notify_all()

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

        # SIGTERM (main turns it into KeyboardInterrupt) ends join() here: the exit gives the jobs their share of
        # the shutdown budget and names those it cuts short (exits.py).
        summary = batch.join(hand_off_late)
        summary.counts.update(handed)
        _log_summary(summary, (self.clock() - started) * 1000, streamed_ms)
        self._joined(batch, summary)
        if not summary.still_running:
            return
        names = ", ".join(job.name for job in summary.still_running)
        if self.overrun == "exit":
            logger.critical("Deferred jobs still running at the deadline (%s): the runtime must exit", names)
            self.escalate("LAMBDA_RUNTIME_DEFER_OVERRUN=exit")
        if self.workers.over_bound:
            logger.critical(
                "%d abandoned deferred jobs are still running, more than LAMBDA_RUNTIME_DEFER_MAX_ABANDONED=%d: "
                "the runtime must exit",
                len(self.workers.abandoned()),
                self.workers.max_abandoned,
            )
            self.escalate("LAMBDA_RUNTIME_DEFER_MAX_ABANDONED")
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


def _exit_unset(reason: str) -> NoReturn:
    # A runner outside the runtime (a benchmark, a test) that has no exit of its own: end the process all the same.
    logger.critical("The runtime must exit (%s)", reason)
    exit_now(1)


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
