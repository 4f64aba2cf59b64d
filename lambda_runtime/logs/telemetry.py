"""Log records as frames on Lambda's telemetry descriptor (`_LAMBDA_TELEMETRY_LOG_FD`).

Lambda's managed runtimes hand the runtime a descriptor on which each log record is one frame, so a record with a
traceback stays one CloudWatch event. The frame format is awslambdaric's (`FramedTelemetryLogSink` in its
bootstrap.py, frame types in lambda_runtime_log_utils.py), all big-endian::

    +---------------------+--------------------+--------------------------+-----------------+
    | frame type: 4 bytes | length n: 4 bytes  | timestamp: 8 bytes (µs)  | message: n bytes |
    +---------------------+--------------------+--------------------------+-----------------+
"""

from __future__ import annotations

import logging
import os
import time

from lambda_runtime.logs.records import QuietHandler

# awslambdaric's frame types: 0xA55A0000 | level bits | format bit (1 = Text, 0 = JSON).
_LEVEL_BITS = {logging.NOTSET: 0x00, logging.DEBUG: 0x08, logging.INFO: 0x0C, logging.WARNING: 0x10}
_LEVEL_BITS.update({logging.ERROR: 0x14, logging.CRITICAL: 0x18})


def frame_type(levelno: int, json_format: bool) -> int:
    """The frame type of a record at `levelno` (rounded down to a standard level, as awslambdaric does)."""
    level = min(50, max(0, levelno)) // 10 * 10
    return 0xA55A0002 | _LEVEL_BITS.get(level, 0) | (0 if json_format else 1)


def frame(message: bytes, type_: int, timestamp_us: int) -> bytes:
    """One frame: header, then the message bytes."""
    return type_.to_bytes(4, "big") + len(message).to_bytes(4, "big") + timestamp_us.to_bytes(8, "big") + message


class FramedHandler(QuietHandler):
    """Writes each record as one frame to a file descriptor, whatever newlines it contains."""

    def __init__(self, fd: int, json_format: bool, per_level: bool) -> None:
        super().__init__()
        self.fd = fd
        self.json_format = json_format
        # Like awslambdaric: Text logs without a configured level are all sent as "Text, level unknown".
        self.per_level = per_level

    def emit(self, record: logging.LogRecord) -> None:
        try:
            text = self.format(record)
            if getattr(record, "lambda_error", None) is not None:
                # awslambdaric's log_error: an error frame whatever the level setting, no trailing newline
                type_ = frame_type(logging.ERROR, self.json_format)
            else:
                type_ = frame_type(record.levelno if self.per_level else logging.NOTSET, self.json_format)
                if self.json_format or not (record.exc_text or record.stack_info):
                    # awslambdaric's formats end a record with a newline; in Text, logging puts a traceback after it
                    text += "\n"
            self._write(text, type_)
        except Exception:
            self.handleError(record)

    def write_raw(self, text: str) -> None:
        """`context.log(text)`: one frame of type "Text, level unknown", the text as is (awslambdaric's default)."""
        self._write(text, frame_type(logging.NOTSET, json_format=False))

    def _write(self, text: str, type_: int) -> None:
        data = frame(text.encode("utf-8", "backslashreplace"), type_, time.time_ns() // 1000)
        self.acquire()  # frames from several threads must not interleave (re-entrant: emit() already holds it)
        try:
            while data:
                data = data[os.write(self.fd, data) :]
        finally:
            self.release()
