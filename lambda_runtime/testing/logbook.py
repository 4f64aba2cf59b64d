"""The log of a `LocalFunction`, kept per request id: this process's records, and its worker processes' frames."""

from __future__ import annotations

import array
import contextlib
import fcntl
import logging
import os
import select
import termios
import threading
import time
from collections import defaultdict

from lambda_runtime.logs.records import QuietHandler, RequestIdFilter, TextFormatter
from lambda_runtime.threads import start_thread

_HEADER = 16  # a telemetry frame: type (4 bytes), length (4), timestamp (8), then the message (logs/telemetry.py)


class LogBook(QuietHandler):
    """A logging handler on the root logger, formatting each record as the runtime would (Text or JSON)."""

    def __init__(self, log_format: str) -> None:
        super().__init__()
        self.addFilter(RequestIdFilter())
        if log_format == "JSON":
            from lambda_runtime.logs.json_format import LambdaJsonFormatter

            self.setFormatter(LambdaJsonFormatter())
        else:
            self.setFormatter(TextFormatter())
        self._lines: defaultdict[str, list[str]] = defaultdict(list)
        self._records: defaultdict[str, list[logging.LogRecord]] = defaultdict(list)
        self._reader: threading.Thread | None = None
        self._read_fd: int | None = None
        self._consuming = threading.Lock()
        self.frames_fd: int | None = None  # where worker processes write their records (the telemetry descriptor)

    def emit(self, record: logging.LogRecord) -> None:
        line = self.format(record)
        request_id = str(getattr(record, "aws_request_id", ""))
        with self.lock or contextlib.nullcontext():
            self._records[request_id].append(record)
            self._lines[request_id].append(line)

    def open(self, request_id: str) -> None:
        """Expect records of `request_id`: from now on, a worker's frame naming it is filed under it."""
        with self.lock or contextlib.nullcontext():
            self._lines[request_id] = self._lines.get(request_id, [])

    def lines(self, request_id: str) -> list[str]:
        with self.lock or contextlib.nullcontext():
            return list(self._lines[request_id])

    def records(self, request_id: str) -> list[logging.LogRecord]:
        with self.lock or contextlib.nullcontext():
            return list(self._records[request_id])

    def read_frames(self) -> None:
        """Open the descriptor worker processes log to, and file each frame under the request id it names."""
        self._read_fd, self.frames_fd = os.pipe()
        self._reader = start_thread(self._read, name="worker-log-reader")

    def settle(self, timeout: float = 10.0) -> None:
        """Return once every frame written so far is filed: a worker writes its job's records before it answers."""
        give_up = time.monotonic() + timeout
        while time.monotonic() < give_up:
            with self._consuming:
                if self._read_fd is None or _pending(self._read_fd) == 0:
                    return
            time.sleep(0.001)

    def close(self) -> None:
        if self.frames_fd is not None:
            os.close(self.frames_fd)  # the reader sees the end once the workers, which hold a copy, are gone too
            self.frames_fd = None
        if self._reader is not None:
            self._reader.join(5.0)
        super().close()

    def _read(self) -> None:
        assert self._read_fd is not None
        fd = self._read_fd
        try:
            while True:
                select.select([fd], [], [])
                with self._consuming:  # a whole frame at a time, so that settle() sees none half read
                    header = _read_exactly(fd, _HEADER)
                    message = _read_exactly(fd, int.from_bytes(header[4:8], "big")) if header else b""
                    if not header:
                        return  # every writer is gone
                    text = message.decode("utf-8", "replace").rstrip("\n")
                    with self.lock or contextlib.nullcontext():
                        # The worker stamps each record with the deferring invocation's request id, in both formats.
                        request_id = next((rid for rid in self._lines if rid and rid in text), "")
                        self._lines[request_id].append(text)
        finally:
            with self._consuming:
                self._read_fd = None
                os.close(fd)


def _read_exactly(fd: int, size: int) -> bytes:
    """`size` bytes, or b"" at the end of the pipe."""
    data = b""
    while len(data) < size:
        chunk = os.read(fd, size - len(data))
        if not chunk:
            return b""
        data += chunk
    return data


def _pending(fd: int) -> int:
    """Bytes written to the pipe and not read yet."""
    count = array.array("i", [0])
    fcntl.ioctl(fd, termios.FIONREAD, count)
    return count[0]
