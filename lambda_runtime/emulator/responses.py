"""The shapes of what the emulator answers: Runtime API errors, Invoke API errors, platform-made errors."""

from __future__ import annotations

import contextlib
import json
import secrets
import signal
import time

from aiohttp import web

from lambda_runtime.emulator.invocation import Answer

_SIGNAL_NAMES = {  # as Lambda (Go) words them: "Runtime exited with error: signal: killed"
    signal.SIGHUP: "hangup",
    signal.SIGINT: "interrupt",
    signal.SIGQUIT: "quit",
    signal.SIGILL: "illegal instruction",
    signal.SIGABRT: "aborted",
    signal.SIGBUS: "bus error",
    signal.SIGFPE: "floating point exception",
    signal.SIGKILL: "killed",
    signal.SIGUSR1: "user defined signal 1",
    signal.SIGSEGV: "segmentation fault",
    signal.SIGUSR2: "user defined signal 2",
    signal.SIGPIPE: "broken pipe",
    signal.SIGALRM: "alarm clock",
    signal.SIGTERM: "terminated",
}


def exit_reason(returncode: int) -> str:
    """How Lambda words a runtime's exit (RIE ``rapid/handlers.go`` ``watchEvents``)."""
    if returncode == 0:
        return "Runtime exited without providing a reason"
    if returncode > 0:
        return f"Runtime exited with error: exit status {returncode}"
    name = _SIGNAL_NAMES.get(signal.Signals(-returncode), f"signal {-returncode}")
    return f"Runtime exited with error: signal: {name}"


def exit_error(request_id: str, returncode: int) -> Answer:
    """The ``Runtime.ExitError`` a caller gets when the runtime exits before answering."""
    return Answer.function_failure("Runtime.ExitError", f"RequestId: {request_id} Error: {exit_reason(returncode)}")


def new_trace_id() -> str:
    return f"Root=1-{int(time.time()):08x}-{secrets.token_hex(12)};Parent={secrets.token_hex(8)};Sampled=0"


def runtime_error(status: int, error_type: str, message: str) -> web.Response:
    """A Runtime API error (what the runtime gets for a refused call)."""
    return web.json_response({"errorMessage": message, "errorType": error_type}, status=status)


#: Error shapes whose message member is ``Message``; the others' is ``message`` (botocore's Lambda service model,
#: botocore/data/lambda/2015-03-31/service-2.json: ResourceNotFoundException and ServiceException have
#: ``Message``; TooManyRequestsException, InvalidRequestContentException, InvalidParameterValueException and
#: RequestTooLargeException have ``message``). tests/test_emulator_invoke_api.py checks this against the model.
CAPITAL_MESSAGE = frozenset({"ResourceNotFoundException", "ServiceException"})


def service_error(
    status: int,
    error_type: str,
    message: str,
    kind: str = "User",
    headers: dict[str, str] | None = None,
    **extra: str,
) -> web.Response:
    """An Invoke API error as AWS sends it (botocore reads the type from ``X-Amzn-ErrorType``)."""
    key = "Message" if error_type in CAPITAL_MESSAGE else "message"
    return web.json_response(
        {**extra, "Type": kind, key: message},
        status=status,
        headers={**(headers or {}), "X-Amzn-ErrorType": error_type},
    )


def error_type_of(body: bytes, header: str | None, default: str) -> str:
    """The error type of an ``/error`` post: the header, else the body's ``errorType``, else ``default``."""
    if header:
        return header
    with contextlib.suppress(ValueError, AttributeError, TypeError):
        value = json.loads(body).get("errorType")
        if isinstance(value, str) and value:
            return value
    return default
