"""The runtime's error types: one flat hierarchy under `LambdaRuntimeError`."""

from __future__ import annotations

import time


def describe(error: BaseException) -> str:
    """`str(error)`, even for an exception whose `__str__` raises: its report and log line must still go out."""
    try:
        return str(error)
    except Exception as inner:
        return f"<unprintable {type(error).__name__}: __str__ raised {type(inner).__name__}>"


class LambdaRuntimeError(Exception):
    """Base class of every error the runtime raises on purpose."""


class ConfigError(LambdaRuntimeError):
    """A configuration variable is missing or invalid; the message names it."""


class RuntimeApiError(LambdaRuntimeError):
    """The Runtime API answered a call with an error status."""

    def __init__(self, status: int, body: str, call: str) -> None:
        super().__init__(f"{call} failed with HTTP {status}: {body}")
        self.status = status
        self.body = body


class RuntimeApiServerError(RuntimeApiError):
    """The Runtime API answered 5xx: worth retrying."""


class FunctionError(LambdaRuntimeError):
    """An error reported to Lambda with an explicit `errorType` such as `Runtime.ImportModuleError`."""

    def __init__(self, error_type: str, message: str, stack_trace: list[str] | None = None) -> None:
        super().__init__(message)
        self.error_type = error_type
        self.message = message
        self.stack_trace = stack_trace or []


class InitError(FunctionError):
    """The handler could not be loaded; reported to `/runtime/init/error`."""


class InvocationError(FunctionError):
    """The runtime, not the handler, failed one invocation (bad headers, bad event, unencodable result)."""


class DeferRejected(LambdaRuntimeError):
    """`context.defer()` was refused: the invocation has the maximum of pending jobs, or it is over."""


class ProcessJobError(LambdaRuntimeError):
    """A deferred job failed in a worker process: its error's type and message (the worker logged the traceback)."""

    def __init__(self, error_type: str, message: str) -> None:
        super().__init__(f"{error_type}: {message}")
        self.error_type = error_type


class Terminated(KeyboardInterrupt):
    """SIGTERM arrived (at `at`, monotonic clock): the runtime unwinds as on Ctrl-C, and its exit names the deferred
    jobs it cuts short."""

    def __init__(self, at: float | None = None) -> None:
        super().__init__()
        self.at = time.monotonic() if at is None else at


class HandOffError(LambdaRuntimeError):
    """A job could not be handed off: hand-off is not configured, or Lambda refused or failed the Invoke call."""


class EnvelopeRejected(LambdaRuntimeError):
    """A received hand-off envelope was refused (forged, expired, replayed, unknown job, too many hops): not run."""
