"""Lambda-style log records whose request id comes from a `ContextVar`, not a global.

A thread or deferred job started with a copy of the invocation's context keeps logging that invocation's id, even
after the loop has moved on to the next event. One record is one CloudWatch event: a frame on the telemetry
descriptor when Lambda provides one (telemetry.py), otherwise one line (configure.py chooses).
"""

from __future__ import annotations

import contextlib
import io
import logging
import sys
import threading
import time
from collections.abc import Mapping
from contextvars import ContextVar
from typing import Any

from lambda_runtime.logs.stdio import write_record

REQUEST_ID: ContextVar[str] = ContextVar("lambda_request_id")
TENANT_ID: ContextVar[str | None] = ContextVar("lambda_tenant_id")
TRACE_ID: ContextVar[str | None] = ContextVar("lambda_trace_id")
# Only for threads started without a copy of any invocation's context (a plain threading.Thread before Python 3.14,
# the durable execution SDK's worker thread): they get the invocation being served now, which is what the official
# client gives every thread.
_serving: tuple[str, str | None] = ("", None)
# False with several invocations at once (Managed Instances): then `_serving` is the invocation in flight when there
# is exactly one, and no invocation when there are several.
_one_at_a_time = True
# Managed Instances only: the invocations in flight, request id -> (request id, tenant id).
_in_flight: dict[str, tuple[str, str | None]] = {}
_in_flight_lock = threading.Lock()
_logger = logging.getLogger("lambda_runtime")


def set_request_id(request_id: str, tenant_id: str | None = None, trace_id: str | None = None) -> None:
    """Mark the start of an invocation: in this context, and for threads that have no context of their own."""
    global _serving
    if _one_at_a_time:
        _serving = (request_id, tenant_id)
    else:
        with _in_flight_lock:
            _in_flight[request_id] = (request_id, tenant_id)
            _serving = _only_one_in_flight()
    REQUEST_ID.set(request_id)
    TENANT_ID.set(tenant_id)
    TRACE_ID.set(trace_id)


def end_request(request_id: str) -> None:
    """Mark the end of an invocation served concurrently (its result posted): it is no longer in flight."""
    global _serving
    if _one_at_a_time:
        return  # the invocation being served stays the fallback until the next one starts, as in awslambdaric
    with _in_flight_lock:
        _in_flight.pop(request_id, None)
        _serving = _only_one_in_flight()


def _only_one_in_flight() -> tuple[str, str | None]:
    # Why this fallback and not copying the context into every thread a handler starts: a thread started by a
    # library (the durable SDK's worker, an executor's) is not ours to start, and patching `threading.Thread` for
    # all user code would also tag a pooled thread that a later invocation reuses with the first one's id. With
    # exactly one invocation in flight, every context-less line belongs to it, as in awslambdaric's Managed
    # Instances processes (one invocation each); with several, which one a line belongs to is unknowable: no id
    # rather than a guess. Threads that want their invocation's id in every case copy the context
    # (`contextvars.copy_context().run`), or run on Python 3.14 with `-X thread_inherit_context=1`.
    return next(iter(_in_flight.values())) if len(_in_flight) == 1 else ("", None)


def serve_concurrently() -> None:
    """Several invocations run at once from now on: a thread without a context gets the request id of the only
    invocation in flight, and none (not a guess) while several are."""
    global _one_at_a_time, _serving
    _one_at_a_time = False
    with _in_flight_lock:
        _serving = _only_one_in_flight()


def current_trace_id() -> str | None:
    """The X-Ray trace header of the invocation this code runs for (`Lambda-Runtime-Trace-Id`), None outside one.

    Under Lambda Managed Instances `_X_AMZN_TRACE_ID` is not set (several invocations share the process): this is
    where the trace id is then.
    """
    return TRACE_ID.get(None)


def log_failure(fields: Mapping[str, Any]) -> None:
    """Log a failed invocation or init as awslambdaric's `log_error` does: one record, whatever the log level."""
    record = _logger.makeRecord(
        _logger.name, logging.ERROR, "", 0, "%s: %s", (fields["errorType"], fields["errorMessage"]), None
    )
    record.lambda_error = fields
    _logger.handle(record)  # handle(), not error(): the logger's level does not apply, only the handlers'


class FlushingWriter(io.TextIOWrapper):
    """A text stream that flushes after every write, as awslambdaric's `Unbuffered` wrapper (bootstrap.py) does.

    Over a BufferedWriter rather than the raw descriptor: its flush writes everything even when a signal
    interrupts a write half-way, where a raw write would drop the rest.
    """

    def write(self, text: str) -> int:
        written = super().write(text)
        self.flush()
        return written


def unbuffered_output() -> None:
    """Make sys.stdout and sys.stderr reach their descriptors at every write.

    A line buffer would hold text written without a newline (`print(..., end="")`) until a later invocation, after
    records written after it, and lose it if the process is killed.
    """
    for name in ("stdout", "stderr"):
        stream = getattr(sys, name)
        try:
            fd = stream.fileno()
            stream.flush()
        except (AttributeError, OSError, ValueError):  # no real descriptor behind it (embedded, tests)
            continue
        buffer = open(fd, "wb", closefd=False)  # noqa: SIM115 - it lives as long as the process
        setattr(sys, name, FlushingWriter(buffer, stream.encoding, stream.errors, line_buffering=True))


_TEXT_FORMAT = "[%(levelname)s]\t%(asctime)s.%(msecs)03dZ\t%(aws_request_id)s\t%(message)s"


class RequestIdFilter(logging.Filter):
    """Stamps each record with the request id (and tenant id) of the context that emitted it."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.aws_request_id = REQUEST_ID.get(_serving[0])
        record.tenant_id = TENANT_ID.get(_serving[1])
        return True


class TextFormatter(logging.Formatter):
    """`[LEVEL]\\t<UTC timestamp>Z\\t<requestId>\\t<message>`, the official runtime's Text format."""

    converter = staticmethod(time.gmtime)  # Lambda's timestamps are UTC

    def __init__(self) -> None:
        super().__init__(_TEXT_FORMAT, datefmt="%Y-%m-%dT%H:%M:%S")

    def format(self, record: logging.LogRecord) -> str:
        fields = getattr(record, "lambda_error", None)
        return failure_text(fields) if fields is not None else super().format(record)


def failure_text(fields: Mapping[str, Any]) -> str:
    """awslambdaric's Text error record: `[ERROR] Type: message`, then the traceback, indented with NO-BREAK SPACEs."""
    # awslambdaric's log_error: no colon when the message is empty ("[ERROR] ValueError").
    heading = ": ".join(part for part in (fields["errorType"], fields["errorMessage"]) if part)
    lines = [f"[ERROR] {heading}".rstrip(), "Traceback (most recent call last):"]
    for element in fields["stackTrace"]:
        for line in element.splitlines() or [""]:
            stripped = line.lstrip(" ")
            lines.append("\u00a0" * (len(line) - len(stripped)) + stripped)
    return "\n".join(lines)


class QuietHandler(logging.Handler):
    """A handler whose own failures never raise."""

    def handleError(self, record: logging.LogRecord) -> None:
        # The default prints to sys.stderr, which a handler may have closed: a log line is never worth a crash.
        with contextlib.suppress(Exception):
            super().handleError(record)


class LineHandler(QuietHandler, logging.StreamHandler):  # type: ignore[type-arg]
    """One record, one line: newlines inside it become carriage returns, as awslambdaric does for errors.

    Lambda makes each stdout line its own CloudWatch event, so a traceback would otherwise be split into many,
    and a message holding a newline could forge a line that reads like another record (another request's too).
    """

    def emit(self, record: logging.LogRecord) -> None:
        try:
            line = self.format(record).replace("\n", "\r") + "\n"
            write_record(self.stream, line)  # never in the middle of a line the function prints (stdio.py)
        except Exception:
            self.handleError(record)
