"""What a deferred job is, and what it sees of itself: `current_job()`, its deadline and cancellation flag."""

from __future__ import annotations

import contextvars
import threading
import time
from collections.abc import Callable
from typing import Any

ErrorHook = Callable[["Job", BaseException], None]
ERROR_HOOKS: list[ErrorHook] = []
CURRENT_JOB: contextvars.ContextVar[Job | None] = contextvars.ContextVar("lambda_current_job", default=None)


def on_job_error(hook: ErrorHook) -> ErrorHook:
    """Register `hook(job, error)`, called in the job's thread when a deferred job raises. Usable as a decorator."""
    ERROR_HOOKS.append(hook)
    return hook


def current_job() -> Job | None:
    """The deferred job running in this thread, or None outside a job."""
    return CURRENT_JOB.get()


class Job:
    """One deferred call. Jobs cannot be killed: they read `cancelled` (or `remaining_ms()`) and stop themselves."""

    def __init__(
        self,
        name: str,
        request_id: str,
        deadline: float,
        fn: Callable[..., Any],
        args: tuple[Any, ...],
        kwargs: dict[str, Any],
        timeout: float | None,
        context: contextvars.Context,
    ) -> None:
        self.name = name
        self.request_id = request_id
        self.deadline = deadline  # time.monotonic(); moves earlier when the job starts if it has its own timeout
        self.fn = fn
        self.args = args
        self.kwargs = kwargs
        self.timeout = timeout
        self.context = context
        self.cancel_event = threading.Event()
        self.started_at: float | None = None
        self.finished = False
        self.outcome = "pending"  # ok | failed | timed_out | skipped

    def __repr__(self) -> str:
        return f"Job(name={self.name!r}, request_id={self.request_id!r}, outcome={self.outcome!r})"

    @property
    def cancelled(self) -> bool:
        return self.cancel_event.is_set()

    def remaining_ms(self) -> int:
        return max(0, int((self.deadline - time.monotonic()) * 1000))

    def wait_cancelled(self, timeout: float | None = None) -> bool:
        """Sleep up to `timeout` seconds, waking early when the job is cancelled; True if it was."""
        return self.cancel_event.wait(timeout)
