"""Lambda-style log lines whose request id comes from a `ContextVar`, not a global.

A thread or deferred job started with a copy of the invocation's context keeps logging that invocation's id, even
after the loop has moved on to the next event.
"""

from __future__ import annotations

import logging
import time
from contextvars import ContextVar
from typing import TextIO

REQUEST_ID: ContextVar[str] = ContextVar("lambda_request_id")
# Only for threads started without a copy of any invocation's context (a plain threading.Thread before Python 3.14):
# they get the invocation being served now, which is what the official client gives every thread.
_serving = ""


def set_request_id(request_id: str) -> None:
    """Mark the start of an invocation: in this context, and for threads that have no context of their own."""
    global _serving
    _serving = request_id
    REQUEST_ID.set(request_id)


_TEXT_FORMAT = "[%(levelname)s]\t%(asctime)s.%(msecs)03dZ\t%(aws_request_id)s\t%(message)s"


class RequestIdFilter(logging.Filter):
    """Stamps each record with the request id of the context that emitted it."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.aws_request_id = REQUEST_ID.get(_serving)
        return True


class TextFormatter(logging.Formatter):
    """`[LEVEL]\\t<UTC timestamp>Z\\t<requestId>\\t<message>`, the official runtime's Text format."""

    converter = staticmethod(time.gmtime)  # Lambda's timestamps are UTC

    def __init__(self) -> None:
        super().__init__(_TEXT_FORMAT, datefmt="%Y-%m-%dT%H:%M:%S")


def configure_logging(log_format: str, log_level: str, stream: TextIO) -> logging.Handler:
    """Send the root logger to `stream` in the chosen format and return the handler installed."""
    handler = logging.StreamHandler(stream)
    handler.addFilter(RequestIdFilter())
    if log_format == "JSON":
        # Imported here so a function logging Text never pays for python-json-logger at cold start.
        from lambda_runtime.json_logs import LambdaJsonFormatter

        handler.setFormatter(LambdaJsonFormatter())
    else:
        handler.setFormatter(TextFormatter())
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(log_level)
    return handler
