"""What a deferred job is, and what it sees of itself: `current_job()`, its deadline and cancellation flag."""

from __future__ import annotations

import contextlib
import contextvars
import functools
import math
import threading
import time
from collections.abc import Callable
from typing import Any

CURRENT_JOB: contextvars.ContextVar[Job | None] = contextvars.ContextVar("lambda_current_job", default=None)

# ok | failed | timed_out (ran past its deadline) | not_started (its deadline passed while it waited for a worker)
# | skipped (the handler failed and LAMBDA_RUNTIME_DEFER_ON_ERROR is false)
# | handed_off (sent to Lambda's async queue: Invoke answered 202) | hand_off_failed (that Invoke failed)
OUTCOMES = ("ok", "failed", "timed_out", "not_started", "skipped", "handed_off", "hand_off_failed")


def current_job() -> Job | None:
    """The deferred job running in this thread, or None outside a job."""
    return CURRENT_JOB.get()


class Job:
    """One deferred call. Jobs cannot be killed: they read `cancelled` (or `remaining_ms()`) and stop themselves.

    Its state changes only through `start`, `cancel` and `finish`, called by its batch under the batch's lock.
    """

    def __init__(
        self,
        fn: Callable[..., Any],
        args: tuple[Any, ...],
        kwargs: dict[str, Any],
        *,
        request_id: str,
        deadline: float,
        timeout: float | None = None,
        name: str | None = None,
        executor: str = "thread",
        clock: Callable[[], float] = time.monotonic,
        parcel: Any = None,
    ) -> None:
        check_job(fn, timeout, name, executor)
        self.name = name or default_name(fn)
        self.executor = executor
        # A process job travels pickled: made now, so what cannot be sent fails at defer(), not in a log later.
        self.payload = _pickled(self.name, fn, args, kwargs) if executor == "process" else b""
        self.request_id = request_id
        self.deadline = deadline  # on `clock`; moves earlier when the job starts if it has its own timeout
        self.fn = fn
        self.args = args
        self.kwargs = kwargs
        self.timeout = timeout
        self.context = contextvars.copy_context()  # the deferring code's context: request id, user ContextVars
        self.clock = clock
        # A sealed hand-off (handoff/send.py): where the job goes when it cannot run here, or at once if `fn` is
        # only its registered function.
        self.parcel = parcel
        self.cancel_event = threading.Event()
        self.on_cancel: list[Callable[[], None]] = []
        self.started_at: float | None = None
        self.finished = False
        self.outcome = "pending"

    def __repr__(self) -> str:
        return f"Job(name={self.name!r}, request_id={self.request_id!r}, outcome={self.outcome!r})"

    @property
    def cancelled(self) -> bool:
        return self.cancel_event.is_set()

    @property
    def running(self) -> bool:
        return self.started_at is not None and not self.finished

    def remaining_ms(self) -> int:
        return max(0, int((self.deadline - self.clock()) * 1000))

    def wait_cancelled(self, timeout: float | None = None) -> bool:
        """Sleep up to `timeout` seconds, waking early when the job is cancelled; True if it was."""
        return self.cancel_event.wait(timeout)

    def start(self, now: float) -> None:
        self.started_at = now
        if self.timeout is not None:
            self.deadline = min(self.deadline, now + self.timeout)

    def cancel(self) -> None:
        self.cancel_event.set()
        for callback in list(self.on_cancel):
            with contextlib.suppress(RuntimeError):  # an async job's loop that closed meanwhile: nothing to cancel
                callback()

    def finish(self, outcome: str) -> None:
        self.outcome = outcome
        self.finished = True


EXECUTORS = ("thread", "process")


def check_job(fn: object, timeout: object, name: object, executor: object = "thread") -> None:
    """Refuse, at `defer()` time, what could only fail later and silently."""
    if not callable(fn):
        hint = ""
        if hasattr(fn, "__await__"):
            close = getattr(fn, "close", None)
            if callable(close):
                close()  # a coroutine refused here must not also warn "never awaited" at garbage collection
            hint = ": pass the async function and its arguments, not the result of calling it"
        raise TypeError(f"defer() fn must be callable, got a {type(fn).__name__}{hint}")
    if timeout is not None:
        if isinstance(timeout, bool) or not isinstance(timeout, (int, float)):
            raise TypeError(
                f"defer() job_timeout must be a number of seconds (int or float), got a {type(timeout).__name__}"
            )
        if not (math.isfinite(timeout) and timeout > 0):
            raise ValueError(f"defer() job_timeout must be a positive finite number of seconds, got {timeout!r}")
    if name is not None and not isinstance(name, str):
        raise TypeError(f"defer() job_name must be a str, got a {type(name).__name__}")
    if executor not in EXECUTORS:
        raise ValueError(f"defer() executor must be one of {', '.join(map(repr, EXECUTORS))}, got {executor!r}")


def _pickled(name: str, fn: Callable[..., Any], args: tuple[Any, ...], kwargs: dict[str, Any]) -> bytes:
    import pickle  # only when a process job is deferred

    try:
        return pickle.dumps((fn, args, kwargs), protocol=pickle.HIGHEST_PROTOCOL)
    except Exception as error:  # PicklingError, TypeError, AttributeError: all mean "cannot be sent"
        raise TypeError(
            f"defer(executor='process'): job {name!r} cannot be sent to a worker process ({error}); pass a "
            "module-level function and picklable arguments (no lambda, closure, open file or socket)"
        ) from None


def default_name(fn: Callable[..., Any]) -> str:
    """The qualified name of the function underneath, never its repr(): a repr may show the job's arguments."""
    while isinstance(fn, functools.partial):
        fn = fn.func
    name = getattr(fn, "__qualname__", None)  # functions and bound methods
    if isinstance(name, str):
        return name
    return type(fn).__qualname__  # a callable object: its class
