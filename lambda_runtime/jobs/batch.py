"""The jobs of one invocation: held until the response is posted, then run and joined before `/next`."""

from __future__ import annotations

import functools
import logging
import threading
import time
from collections import Counter
from collections.abc import Callable
from typing import Any, NamedTuple

from lambda_runtime.errors import DeferRejected
from lambda_runtime.jobs.call import call
from lambda_runtime.jobs.job import Job
from lambda_runtime.jobs.processes import KILL_GRACE_S, ProcessExecutor
from lambda_runtime.jobs.workers import Workers

logger = logging.getLogger("lambda_runtime.deferred")


class BatchPolicy(NamedTuple):
    """How the jobs of every invocation are run; from the LAMBDA_RUNTIME_DEFER_* settings."""

    max_pending: int = 64
    when_full: str = "raise"  # or "inline": run the job in the deferring thread
    run_on_error: bool = True
    # A job cancelled at its own timeout gets this long to stop cleanly; at the invocation's deadline it gets none,
    # because the margin is the reserve for posting and /next.
    cancel_grace_s: float = 0.1
    # A job that may be handed off and has not started this long before the deadline is sent to Lambda's queue
    # instead: the time an Invoke call takes, with boto3's retries of a throttle.
    hand_off_reserve_s: float = 0.25


_CONSEQUENCE = {"thread": "cancellation flag set", "process": "its worker process is terminated and replaced"}


class Summary(NamedTuple):
    """What became of one invocation's jobs: a count per outcome, and the jobs still running at the end."""

    counts: Counter[str]
    rejected: int
    still_running: list[Job]


class Batch:
    """One invocation's jobs. `clock` is injectable, as tenacity's `sleep`, so deadline arithmetic tests are fast."""

    def __init__(
        self,
        workers: Workers,
        policy: BatchPolicy,
        request_id: str,
        deadline: float,
        clock: Callable[[], float] = time.monotonic,
        processes: ProcessExecutor | None = None,
    ) -> None:
        self.workers = workers
        self.processes = processes
        self.policy = policy
        self.request_id = request_id
        self.deadline = deadline  # on `clock`: the invocation's deadline less the margin
        self.clock = clock
        self.jobs: list[Job] = []
        self.held: list[Job] = []
        self.released = False
        self.released_at: float | None = None  # on `clock`: when the response was posted and the jobs let go
        self.closed = False
        self.rejected = 0
        # Jobs to send to Lambda's async queue from the loop thread (send_outgoing), not from a worker: the pool
        # may be the very thing that is full.
        self.outgoing: list[Job] = []
        self.changed = threading.Condition()

    def defer(
        self,
        fn: Callable[..., Any],
        args: tuple[Any, ...],
        kwargs: dict[str, Any],
        *,
        timeout: float | None = None,
        name: str | None = None,
        start_now: bool = False,
        executor: str = "thread",
        parcel: Any = None,
    ) -> Job:
        job = Job(
            fn,
            args,
            kwargs,
            request_id=self.request_id,
            deadline=self.deadline,
            timeout=timeout,
            name=name,
            executor=executor,
            clock=self.clock,
            parcel=parcel,
        )
        if executor == "process" and self.processes is None:
            raise ValueError("defer(executor='process'): this runner has no process executor")
        with self.changed:
            refusal = self._refusal(job)
            if refusal and parcel is not None and not self.closed:  # overflow: Lambda's queue takes it
                logger.info("deferred job %r goes to the hand-off: %s", job.name, refusal, extra={"job": job.name})
                self.outgoing.append(job)
                return job
            if refusal:
                self.rejected += 1
            else:
                self.jobs.append(job)
                if start_now or self.released:
                    self._submit(job)
                else:
                    self.held.append(job)
        if refusal:
            if self.closed or self.policy.when_full == "raise":
                raise DeferRejected(f"deferred job {job.name!r} rejected: {refusal}")
            logger.warning("deferred job %r runs inline: %s", job.name, refusal)
            job.context.run(self._run, job)
        return job

    def _refusal(self, job: Job) -> str:
        """Why `job` cannot be taken now ("" if it can)."""
        if self.closed:
            return "the invocation is over"
        # Every job of the invocation counts until the invocation is over, finished or not, so a job that
        # keeps deferring itself is stopped by the bound rather than spinning until the deadline.
        if len(self.jobs) >= self.policy.max_pending:
            return f"{len(self.jobs)} jobs already pending"
        # The queue shared with other invocations: checked here too, so that the handler hears of it and can act.
        full = self._workers_of(job).full_reason()
        if full or job.parcel is None or job.timeout is None:
            return full
        left = self.deadline - self.clock() - self.policy.hand_off_reserve_s
        return (
            f"its timeout ({job.timeout:g} s) is longer than the time left ({left:.3f} s)" if job.timeout > left else ""
        )

    def hand_off(self, job: Job) -> bool:
        """Send `job` (its parcel) right after the response; False once it is posted (send it now, then)."""
        with self.changed:
            if self.released or self.closed:
                return False
            self.outgoing.append(job)
            return True

    def take_outgoing(self) -> list[Job]:
        """The jobs to hand off now (each taken once)."""
        with self.changed:
            outgoing, self.outgoing = self.outgoing, []
            return outgoing

    def release(self, handler_failed: bool = False) -> None:
        """The response is posted: start the held jobs (or skip them after a handler error, if so configured)."""
        with self.changed:
            self.released = True
            self.released_at = self.clock()
            held, self.held = self.held, []
            for job in held:
                if handler_failed and not self.policy.run_on_error:
                    job.finish("skipped")
        for job in held:
            if not job.finished:
                self._submit(job)

    def join(self, hand_off: Callable[[list[Job]], None] | None = None) -> Summary:
        """Wait for every job, or its deadline; cancel overdue jobs once, write off the threads of those that stay
        overdue, and close the batch. Never waits past the batch deadline.

        Jobs that may be handed off and have not started `hand_off_reserve_s` before the deadline are passed to
        `hand_off` then (outside the lock: sending takes an Invoke call), or kept in `outgoing` without one."""
        with self.changed:
            while True:
                now = self.clock()
                waiting = [job for job in self.jobs if job.started_at is None and not job.finished]
                wake_at = [self.deadline] if waiting else []
                divert_at = self.deadline - self.policy.hand_off_reserve_s
                if any(job.parcel is not None for job in waiting):
                    if now >= divert_at:
                        diverted = self._divert([job for job in waiting if job.parcel is not None])
                        if hand_off is None:
                            self.outgoing.extend(diverted)
                            continue
                        self.changed.release()
                        try:
                            hand_off(diverted)
                        finally:
                            self.changed.acquire()
                        continue
                    wake_at.append(divert_at)
                for job in self.jobs:
                    if job.running:
                        wake_at.extend(self._watch(job, now))
                if not wake_at or now >= self.deadline:
                    break
                self.changed.wait(max(0.0, min(wake_at) - now))
            self.closed = True
            for job in self._withdraw_queued():
                self._never_started(job)
            return self.summary()

    def summary(self) -> Summary:
        """What became of the jobs so far; those unfinished count as timed out."""
        with self.changed:
            counts = Counter(job.outcome for job in self.jobs if job.finished)
            unfinished = [job for job in self.jobs if not job.finished]
            counts["timed_out"] += len(unfinished)
            # A process job is being terminated; only a thread job is left running, abandoned.
            still_running = [job for job in unfinished if job.executor == "thread"]
            return Summary(counts, self.rejected, still_running)

    def wake(self) -> None:
        """Make a waiting `join()` look at the clock again: an injected clock moved (lambda_runtime.testing)."""
        with self.changed:
            self.changed.notify_all()

    def stop(self, until: float) -> list[Job]:
        """The environment shuts down: nothing starts any more, running jobs are cancelled and waited for until
        `until` (on `clock`). Returns the jobs cut short: never started, still running then, or process jobs stopped
        before their deadline (by SIGTERM to their worker: ours now, or the environment's). A thread job that saw its
        cancel flag and returned in time ended by itself."""
        with self.changed:
            began = self.clock()
            self.closed = True
            queued = self._withdraw_queued()
            for job in queued:
                job.finish("not_started")
            for job in self.jobs:
                if job.running and not job.cancelled:
                    job.cancel()
            while any(job.running for job in self.jobs) and (now := self.clock()) < until:
                self.changed.wait(until - now)
            stopped = [
                job
                for job in self.jobs
                if job.executor == "process" and job.outcome == "timed_out" and job.deadline > began
            ]
            unsent, self.outgoing = self.outgoing, []  # hand-offs not sent yet: named as cut short, never silent
            return [job for job in self.jobs if job.running or job in queued or job in stopped] + unsent

    def _divert(self, jobs: list[Job]) -> list[Job]:
        """Jobs that will not start in time here: taken off the queue, to go to Lambda's queue instead."""
        for job in jobs:
            self._workers_of(job).withdraw([job])
            job.finish("hand_off_failed")  # until send_outgoing hears the 202; finished: no worker starts it now
            logger.info(
                "deferred job %r goes to the hand-off: no worker before the deadline", job.name, extra={"job": job.name}
            )
        self.jobs = [job for job in self.jobs if job not in jobs]
        return jobs

    def _withdraw_queued(self) -> list[Job]:
        """Queued, or taken by a worker that has not run it yet: either way it never starts now."""
        queued = [job for job in self.jobs if job.started_at is None and not job.finished]
        self.workers.withdraw(queued)
        if self.processes is not None:
            self.processes.dispatchers.withdraw(queued)
        return queued

    def _watch(self, job: Job, now: float) -> list[float]:
        """When to look at a running job again; cancels it at its deadline and writes it off after the grace."""
        if now < job.deadline:
            return [job.deadline]
        if not job.cancelled:
            job.cancel()
            elapsed_ms = (now - (job.started_at or now)) * 1000
            logger.warning(
                "deferred job %r overran its deadline after %.0f ms; %s",
                job.name,
                elapsed_ms,
                _CONSEQUENCE[job.executor],
                extra={"job": job.name, "elapsedMs": round(elapsed_ms, 3)},
            )
        # A process job's worker gets SIGTERM, then SIGKILL after KILL_GRACE_S: wait for it to be reaped too.
        grace = self.policy.cancel_grace_s + (KILL_GRACE_S if job.executor == "process" else 0.0)
        stop_at = min(job.deadline + grace, self.deadline)
        if now < stop_at:
            return [stop_at]
        self._workers_of(job).write_off(job)  # later jobs get a worker at once, whatever this one does
        return []

    def _workers_of(self, job: Job) -> Workers:
        return self.processes.dispatchers if self.processes and job.executor == "process" else self.workers

    def _submit(self, job: Job) -> None:
        workers = self._workers_of(job)
        if workers.submit(job, functools.partial(job.context.run, self._run, job)):
            return
        with self.changed:  # the queue filled up since `defer` (the job was held until the response)
            self._never_started(job, workers.full_reason())
            self.changed.notify_all()

    def _never_started(self, job: Job, reason: str = "") -> None:
        job.finish("not_started")
        reason = reason or f"no free worker before the deadline ({self.workers.size} workers)"
        logger.warning("deferred job %r never started: %s", job.name, reason, extra={"job": job.name})

    def _run(self, job: Job) -> None:
        # Runs inside a copy of the context the job was deferred from, so logs carry that invocation's request id.
        with self.changed:
            if job.finished:
                return
            if self.closed or self.clock() >= job.deadline:  # its deadline passed while it waited for a worker
                self._never_started(job)
                self.changed.notify_all()
                return
            job.start(self.clock())
            # Wake join() only when the job's own timeout gave it an earlier deadline to watch. A needless wake-up
            # costs a CPU-bound job a GIL hand-off to the loop thread and back: ms of billed time on a busy host.
            if job.deadline < self.deadline:
                self.changed.notify_all()
        outcome = "failed"
        try:
            outcome = self.processes.call(job) if self.processes and job.executor == "process" else call(job)
        finally:  # whatever the job or a hook raised, its outcome is recorded and join() is woken
            with self.changed:
                job.finish("timed_out" if outcome == "ok" and job.cancelled else outcome)
                self.changed.notify_all()
