"""Where the root logger sends records: a line per record on stdout, or a frame per record on Lambda's telemetry
descriptor; Text or JSON.

It sits above the formats and handlers it chooses between (records, telemetry, json_format), which import nothing
back: the telemetry handler is built on `records.QuietHandler`, and nothing in `records` needs to know it exists.
"""

from __future__ import annotations

import logging
from typing import TextIO

from lambda_runtime.logs.records import LineHandler, RequestIdFilter, TextFormatter


def configure_logging(
    log_format: str, log_level: str, stream: TextIO, telemetry_fd: int | None = None
) -> logging.Handler:
    """Send the root logger to `stream` (or to frames on `telemetry_fd`) and return the handler installed.

    An empty `log_level` leaves the root logger at Python's default, WARNING, as awslambdaric does when
    `AWS_LAMBDA_LOG_LEVEL` is unset, so libraries' INFO lines stay silent; the runtime's own INFO lines (the
    deferred jobs' summary) still show. A level that is set applies to every logger alike.
    """
    handler: logging.Handler
    if telemetry_fd is not None:
        from lambda_runtime.logs.telemetry import FramedHandler

        handler = FramedHandler(telemetry_fd, log_format == "JSON", per_level=log_format == "JSON" or bool(log_level))
    else:
        handler = LineHandler(stream)
    handler.addFilter(RequestIdFilter())
    if log_format == "JSON":
        # Imported here so a function logging Text never pays for python-json-logger at cold start.
        from lambda_runtime.logs.json_format import LambdaJsonFormatter

        handler.setFormatter(LambdaJsonFormatter())
    else:
        handler.setFormatter(TextFormatter())
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    set_levels(log_level)
    return handler


def set_levels(log_level: str) -> None:
    """The root logger at `log_level` (WARNING if ""), the runtime's own INFO lines shown either way."""
    logging.getLogger().setLevel(log_level or logging.WARNING)
    logging.getLogger("lambda_runtime").setLevel(logging.NOTSET if log_level else logging.INFO)
