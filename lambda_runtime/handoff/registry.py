"""The jobs a function accepts from a hand-off: an allow-list of names, never an import path from the wire."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar, overload

F = TypeVar("F", bound=Callable[..., Any])

JOBS: dict[str, Callable[..., Any]] = {}


@overload
def job(fn: F, /) -> F: ...
@overload
def job(*, name: str | None = None) -> Callable[[F], F]: ...


def job(fn: F | None = None, /, *, name: str | None = None) -> F | Callable[[F], F]:
    """Register `fn` as a job that `context.hand_off()` may send and a received envelope may run.

    Use as `@lambda_runtime.job` (named after the function's module and name) or `@lambda_runtime.job(name="x")`.
    Only registered jobs ever run from an envelope: the name on the wire selects from this list, nothing else.
    """

    def register(fn: F) -> F:
        if not callable(fn):
            raise TypeError(f"@job needs a function, got a {type(fn).__name__}")
        job_name = name or f"{fn.__module__}.{fn.__qualname__}"
        known = JOBS.get(job_name)
        if known is not None and known is not fn:
            raise ValueError(f"job name {job_name!r} is already registered for another function")
        JOBS[job_name] = fn
        fn.__lambda_job_name__ = job_name  # type: ignore[attr-defined]
        return fn

    return register(fn) if fn is not None else register


def job_name(fn: Callable[..., Any] | str) -> str:
    """The registered name of `fn` (a registered function or its name); `ValueError` if it is not registered."""
    found = fn if isinstance(fn, str) else getattr(fn, "__lambda_job_name__", None)
    if not isinstance(found, str) or found not in JOBS:
        shown = fn if isinstance(fn, str) else getattr(fn, "__qualname__", type(fn).__name__)
        raise ValueError(f"{shown!r} is not a registered job: decorate it with @lambda_runtime.job")
    return found
