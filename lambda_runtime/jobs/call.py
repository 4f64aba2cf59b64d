"""Calling a job's function: in the job's context variable, awaiting what it returns, isolating what it raises."""

from __future__ import annotations

import logging
import os

from lambda_runtime.jobs.hooks import call_error_hooks
from lambda_runtime.jobs.job import CURRENT_JOB, Job

logger = logging.getLogger("lambda_runtime.deferred")


def call(job: Job) -> str:
    """Run `job` in this thread; returns "ok", "failed" or "timed_out" (an async job cancelled at its deadline)."""
    outcome, exit_status, pid = "failed", 1, os.getpid()
    token = CURRENT_JOB.set(job)
    try:
        result = job.fn(*job.args, **job.kwargs)
        if hasattr(result, "__await__"):  # an async function: its coroutine runs in a loop of its own
            from lambda_runtime.jobs.aio import run_awaitable

            run_awaitable(job, result)
        outcome, exit_status = "ok", 0
    except BaseException as error:  # a job's failure, even SystemExit, must never reach the loop
        if isinstance(error, SystemExit):
            exit_status = error.code if isinstance(error.code, int) else 1
        if job.cancelled and type(error).__name__ == "CancelledError":  # asyncio's: the job was stopped
            outcome = "timed_out"
        else:
            logger.error("deferred job %r failed", job.name, exc_info=error, extra={"job": job.name})
            call_error_hooks(job, error)
    finally:
        CURRENT_JOB.reset(token)
        if os.getpid() != pid:  # the job forked and this is the child: it ends with the job, and never serves
            os._exit(exit_status)
    return outcome
