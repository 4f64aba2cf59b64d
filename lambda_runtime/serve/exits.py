"""One rule for every exit, in every mode: the one place that decides how the process goes, and makes it go.

Before the process goes, every invocation's deferred work has either finished within a bounded budget or is named in a
log line that carries that invocation's request id and the reason (`Deferred jobs cut short by <reason>: <names>`),
and an invocation whose handler still runs is named the same way. No exit waits without a bound:

- a signal (SIGTERM, Ctrl-C): Lambda's budget, 300 or 500 ms from the signal (lifecycle/shutdown.py). The jobs of
  every invocation are cancelled and waited for until their share of it, the `on_shutdown` hooks get the rest;
- the overrun policy (`LAMBDA_RUNTIME_DEFER_OVERRUN=exit`, or more abandoned jobs than
  `LAMBDA_RUNTIME_DEFER_MAX_ABANDONED`) or a Runtime API that is gone: no new events; each invocation in flight
  keeps until its own deadline (the function's timeout bounds it) to post its result and finish its jobs, plus a
  grace; then the hooks, within the shutdown budget. With one invocation at a time and nothing else in flight, the
  overrun policy restarts in place instead (restart.py), so the invocation still ends as a success;
- a failed init or SnapStart phase: no invocation has started; the status Lambda expects (1, 64, 65).

Docs: docs/concepts/exits.md has the table (trigger x mode -> what finishes, what is named, how long at most).

Under Lambda Managed Instances several invocations share the process, so one invocation's overrun must not cut the
others short. AWS's "Understanding the Lambda Managed Instances execution environment"
(docs.aws.amazon.com/lambda/latest/dg/lambda-managed-instances-execution-environment.html, "Invoke phase" and "Error
handling and recovery") says: a timed-out invocation is marked failed but Lambda does not stop its code (it "continues
to run"), the other invocations in the environment are not interrupted, and when a runtime worker crashes the
environment goes on with the remaining healthy workers.
awslambdaric 4.x (lambda_multi_concurrent_utils.py `run_concurrent`) gives each slot its own process and the parent
only joins them: a worker that exits ends nothing but itself, never a sibling's invocation. Hence here: stop taking
events, let every invocation in flight finish by its own deadline (never forever: Lambda will not stop a hung
handler for us), name what is still running, and exit 1 so that Lambda replaces the environment (with process
workers, supervisor.py replaces just this process, as the docs describe for a crashed worker).
"""

from __future__ import annotations

import contextvars
import logging
import signal
import threading
import time
from collections.abc import Callable
from typing import NamedTuple, NoReturn

from lambda_runtime.errors import Terminated
from lambda_runtime.jobs.job import Job
from lambda_runtime.jobs.phase import JobRunner, exit_now, flush_output
from lambda_runtime.lifecycle.shutdown import run_shutdown_hooks_within
from lambda_runtime.logs.records import REQUEST_ID

logger = logging.getLogger("lambda_runtime")

#: After the latest deadline of the invocations in flight: a job cancelled there may take its cancel grace, a
#: process job's worker its SIGTERM-to-SIGKILL grace (jobs/processes.py), and the summary must be logged.
DEADLINE_GRACE_S = 0.5
#: Kept back from a signal's budget for the last log lines and the exit itself (measured: benchmarks/exit_load.py).
EXIT_MARGIN_S = 0.1


class Trigger(NamedTuple):
    """Why the process must go: said in every line the exit logs, with the status it exits with."""

    reason: str
    status: int
    signalled_at: float | None = None  # a signal: Lambda's budget runs from here (monotonic clock)
    restartable: bool = False  # the overrun policy: a restart in place would do, if nothing else is in flight

    @classmethod
    def from_signal(cls, stop: KeyboardInterrupt) -> Trigger:
        """SIGTERM (main turns it into `Terminated`, stamped with its arrival) or Ctrl-C."""
        if isinstance(stop, Terminated):
            return cls("SIGTERM", 128 + signal.SIGTERM, stop.at)
        return cls("SIGINT", 130, time.monotonic())

    @property
    def urgent(self) -> bool:
        return self.signalled_at is not None


def overrun(reason: str) -> Trigger:
    return Trigger(reason, 1, restartable=True)


API_GONE = Trigger("the Runtime API being unavailable", 1)


class Exit:
    """Decides and performs the process's exit; `perform` runs on the main thread, where signals arrive."""

    def __init__(
        self,
        runner: JobRunner,
        signal_budget_s: float,
        restart: Callable[[], NoReturn] | None = None,
        clock: Callable[[], float] = time.monotonic,
        leave: Callable[[int], NoReturn] = exit_now,
    ) -> None:
        self.runner = runner
        self.leave = leave  # ends the process with a status (tests pass one that raises instead)
        self.signal_budget_s = signal_budget_s
        self.restart = restart  # one invocation at a time: replace the process image with `/next` sent (restart.py)
        self.clock = clock
        self.stopping = threading.Event()  # set once an exit is decided: no worker asks for another event

    def perform(self, trigger: Trigger) -> NoReturn:
        self.stopping.set()
        handlers, batches = self.runner.in_flight()
        if trigger.restartable and self.restart is not None and not handlers and not batches:
            logger.critical(
                "%s: the runtime restarts in place; the invocation ends as a success and the next event goes to a "
                "fresh process",
                trigger.reason,
            )
            self._name_what_is_left(trigger)
            self.runner.close_processes()
            flush_output()
            self.restart()
        if not trigger.urgent:
            trigger = self._let_in_flight_finish(trigger, len(handlers), len(batches))
        _ignore_signals()  # from here on the exit is bounded: a second signal must not cut it short
        cut: list[Job] = []
        if trigger.urgent:
            hooks_until, cut = self._stop_jobs(trigger)
        else:
            hooks_until = self.clock() + self.signal_budget_s - EXIT_MARGIN_S
        self._name_what_is_left(trigger, cut)
        run_shutdown_hooks_within(max(0.0, hooks_until - self.clock()))
        # Process workers get SIGTERM and what is left of the budget to flush their output, then SIGKILL.
        self.runner.close_processes(max(0.0, hooks_until - self.clock()))
        if trigger.signalled_at is not None:
            elapsed_ms = (self.clock() - trigger.signalled_at) * 1000
            level = logging.WARNING if elapsed_ms > self.signal_budget_s * 1000 else logging.INFO
            logger.log(
                level,
                "Exiting with status %d (%s), %.0f ms after the signal (budget %.0f ms)",
                trigger.status,
                trigger.reason,
                elapsed_ms,
                self.signal_budget_s * 1000,
                extra={"exitMs": round(elapsed_ms, 3)},
            )
        else:
            logger.info("Exiting with status %d (%s)", trigger.status, trigger.reason)
        self.leave(trigger.status)

    def _let_in_flight_finish(self, trigger: Trigger, handlers: int, batches: int) -> Trigger:
        """Wait until every invocation in flight has posted its result and joined its jobs, or the latest of their
        deadlines (plus a grace) has passed. A signal meanwhile makes the exit urgent: it is returned instead."""
        if handlers or batches:
            logger.warning(
                "The runtime exits with status %d (%s): no new events; %d invocations in flight and %d with deferred "
                "jobs running get until their own deadline, then what is still running is named",
                trigger.status,
                trigger.reason,
                handlers,
                batches,
            )
        try:
            with self.runner.changed:
                while True:
                    handler_deadlines, open_batches = self.runner.in_flight()
                    margin = self.runner.margin_s  # a batch's deadline is its invocation's, less the margin
                    deadlines = [*handler_deadlines.values(), *(batch.deadline + margin for batch in open_batches)]
                    now = self.clock()
                    if not deadlines or now >= max(deadlines) + DEADLINE_GRACE_S:
                        return trigger
                    self.runner.changed.wait(max(deadlines) + DEADLINE_GRACE_S - now)
        except KeyboardInterrupt as stop:  # SIGTERM while waiting: Lambda's budget is what is left
            urgent = Trigger.from_signal(stop)
            logger.warning("%s while waiting for the invocations in flight: the exit is now urgent", urgent.reason)
            return Trigger(f"{trigger.reason}, then {urgent.reason}", urgent.status, urgent.signalled_at)

    def _stop_jobs(self, trigger: Trigger) -> tuple[float, list[Job]]:
        """Cancel every invocation's jobs and wait for them within their share of the budget; returns when the
        hooks must be done by, and the jobs the stop itself ended (never started, or process jobs stopped)."""
        assert trigger.signalled_at is not None
        end = trigger.signalled_at + self.signal_budget_s - EXIT_MARGIN_S
        jobs_until = trigger.signalled_at + (end - trigger.signalled_at) / 2 if _hooks_registered() else end
        logger.info(
            "Shutting down (%s): deferred jobs cancelled, %.0f ms budget", trigger.reason, self.signal_budget_s * 1000
        )
        cut = self.runner.stop_jobs(jobs_until)
        # Those that finished by being cut (never started, or a process job its worker's SIGTERM stopped) are no
        # longer among the unfinished jobs that _name_what_is_left finds: they are named from here.
        return end, [job for job in cut if job.finished]

    def _name_what_is_left(self, trigger: Trigger, cut: list[Job] | None = None) -> None:
        """One line per invocation with work still running: its request id, the reason, the jobs cut short."""
        now = self.clock()
        by_invocation: dict[str, list[Job]] = {}
        for job in [*(cut or []), *self.runner.unfinished_jobs()]:
            by_invocation.setdefault(job.request_id, []).append(job)
        for jobs in by_invocation.values():
            names = [job.name for job in jobs]
            described = ", ".join(_describe(job, now) for job in jobs)
            jobs[0].context.copy().run(  # a copy: the job may be running in its own context
                logger.warning,
                "Deferred jobs cut short by %s: %s",
                trigger.reason,
                described,
                extra={"cutShort": names, "reason": trigger.reason},
            )
        handlers, _ = self.runner.in_flight()
        for request_id in handlers:
            _as_invocation(
                request_id,
                lambda: logger.error(
                    "The handler is still running, cut short by %s: this invocation gets no result from this runtime",
                    trigger.reason,
                    extra={"cutShort": ["handler"], "reason": trigger.reason},
                ),
            )


def _ignore_signals() -> None:
    if threading.current_thread() is threading.main_thread():  # only there can handlers be set (and signals run)
        for sig in (signal.SIGTERM, signal.SIGINT):
            signal.signal(sig, signal.SIG_IGN)


def _describe(job: Job, now: float) -> str:
    if job.started_at is None:
        return f"{job.name} (never started)"
    if job.cancelled and now >= job.deadline:
        return f"{job.name} (abandoned at its deadline)"
    return job.name


def _as_invocation(request_id: str, log: Callable[[], None]) -> None:
    context = contextvars.Context()
    context.run(REQUEST_ID.set, request_id)
    context.run(log)


def _hooks_registered() -> bool:
    from lambda_runtime.lifecycle.shutdown import SHUTDOWN_HOOKS

    return bool(SHUTDOWN_HOOKS)
