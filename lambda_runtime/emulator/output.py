"""Reading a runtime's stdout/stderr pipe line by line, with a way to catch up with what is in the pipe.

A Tail log and per-invocation attribution need the lines the runtime wrote *before* an HTTP call it makes
next; the pipe and the socket are read in whatever order the event loop sees them. :meth:`catch_up`
makes the order right: it lets the loop run until the pipe holds no unread byte (``FIONREAD``), and lines
are handed on synchronously as they are read, so everything written before is then accounted for.
"""

from __future__ import annotations

import array
import asyncio
import contextlib
import fcntl
import logging
import os
import termios
from collections.abc import Callable

logger = logging.getLogger("lambda_runtime.emulator")

#: Longest output line kept as one line; longer runs without a newline are split.
MAX_LINE = 256 * 1024
#: Loop iterations :meth:`OutputPipe.catch_up` gives the reader at most (bounded: a runtime may write forever).
CATCH_UP_ROUNDS = 50


class _LineProtocol(asyncio.Protocol):
    def __init__(self, emit: Callable[[bytes], None]) -> None:
        self._emit = emit
        self._buffer = b""
        self.closed: asyncio.Future[None] = asyncio.get_running_loop().create_future()

    def data_received(self, data: bytes) -> None:
        self._buffer += data
        if b"\n" in data:
            *lines, self._buffer = self._buffer.split(b"\n")
            for line in lines:
                self._emit(line)
        while len(self._buffer) > MAX_LINE:
            self._emit(self._buffer[:MAX_LINE])
            self._buffer = self._buffer[MAX_LINE:]

    def eof_received(self) -> None:
        if self._buffer:
            self._emit(self._buffer)
            self._buffer = b""

    def connection_lost(self, exc: Exception | None) -> None:
        self.eof_received()
        if not self.closed.done():
            self.closed.set_result(None)


class OutputPipe:
    """The read end of a pipe the runtime writes to; ``write_fd`` goes to the child, then :meth:`attach`."""

    def __init__(self, on_line: Callable[[str], None]) -> None:
        self._on_line = on_line
        self._read_fd, self.write_fd = os.pipe()
        self._transport: asyncio.ReadTransport | None = None
        self._protocol: _LineProtocol | None = None

    async def attach(self) -> None:
        """Start reading (the child has its copy of ``write_fd``; ours is closed so EOF can come)."""
        os.close(self.write_fd)
        pipe = os.fdopen(self._read_fd, "rb", buffering=0)
        loop = asyncio.get_running_loop()
        self._transport, self._protocol = await loop.connect_read_pipe(lambda: _LineProtocol(self._emit), pipe)

    def close_unused(self) -> None:
        """The child was never started: close both ends."""
        for fd in (self._read_fd, self.write_fd):
            with contextlib.suppress(OSError):
                os.close(fd)

    def _emit(self, raw: bytes) -> None:
        line = raw.decode("utf-8", errors="replace")
        if line.endswith("\r"):
            line = line[:-1]
        try:
            self._on_line(line)
        except Exception:  # never let a bookkeeping bug stop the reader
            logger.exception("output handling failed")

    def unread(self) -> int:
        """Bytes in the pipe not read yet."""
        if self._transport is None or self._transport.is_closing():
            return 0
        size = array.array("i", [0])
        try:
            fcntl.ioctl(self._read_fd, termios.FIONREAD, size)
        except OSError:
            return 0
        return size[0]

    async def catch_up(self) -> None:
        """Return once what the runtime wrote so far has been read and handed on (bounded)."""
        for _ in range(CATCH_UP_ROUNDS):
            if not self.unread():
                return
            await asyncio.sleep(0)  # one loop turn: the selector sees the pipe readable and reads it

    async def wait_closed(self, timeout: float) -> None:
        """Wait for EOF; give up after ``timeout`` (a detached grandchild may keep the pipe open)."""
        if self._protocol is None or self._transport is None:
            return
        try:
            await asyncio.wait_for(asyncio.shield(self._protocol.closed), timeout)
        except asyncio.TimeoutError:
            self._transport.close()
