"""Functions registered by the user or an integration, and called by the runtime around deferred jobs."""

from __future__ import annotations

import logging
from collections.abc import Callable

from lambda_runtime.errors import Terminated
from lambda_runtime.jobs.job import Job, default_name

logger = logging.getLogger("lambda_runtime.deferred")

ErrorHook = Callable[["Job", BaseException], None]
AfterJobsHook = Callable[[], None]
ERROR_HOOKS: list[ErrorHook] = []
AFTER_JOBS_HOOKS: list[AfterJobsHook] = []


def on_job_error(hook: ErrorHook) -> ErrorHook:
    """Register `hook(job, error)`, called in the job's thread when a deferred job raises. Usable as a decorator."""
    ERROR_HOOKS.append(hook)
    return hook


def after_jobs(hook: AfterJobsHook) -> AfterJobsHook:
    """Register `hook()`, called after every invocation's deferred jobs and before the next event is fetched.

    It runs in the invocation's context (its request id in the logs), in the loop's thread, also when nothing was
    deferred: the place to flush what jobs recorded (metrics, traces) within their own invocation.
    """
    AFTER_JOBS_HOOKS.append(hook)
    return hook


def call_error_hooks(job: Job, error: BaseException) -> None:
    for hook in ERROR_HOOKS:
        try:
            hook(job, error)
        except BaseException:  # even SystemExit: a hook must not cost the job its recorded outcome
            logger.exception("error hook %s failed for deferred job %r", default_name(hook), job.name)


def call_after_jobs_hooks() -> None:
    for hook in AFTER_JOBS_HOOKS:
        try:
            hook()
        except Terminated:  # SIGTERM arrived while the hook ran: the runtime's exit, not the hook's failure
            raise
        except BaseException:  # SystemExit too: the invocation is answered, its failure is reported, the loop goes on
            logger.exception("after-jobs hook %s failed", default_name(hook))
