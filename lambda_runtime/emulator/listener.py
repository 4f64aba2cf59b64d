"""Accepting connections without wedging at the descriptor limit.

asyncio's own accept loop (``loop.create_server``) reacts to ``EMFILE`` by logging a traceback and retrying later,
but keeps looping over the backlog, scheduling one retry per failed ``accept()``: at the limit the retries pile up
into a tight loop (megabytes of identical tracebacks a second) while the callers in the backlog wait in silence.

:class:`Listener` accepts by itself instead. At the limit it answers each waiting connection with a 503 through a
spare descriptor kept for that (closed to accept, reopened after: the classic way out of ``EMFILE``), and logs one
line when the limit is first hit and one when connections are accepted again, however many it refused between.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import json
import logging
import os
import socket
from collections.abc import Callable

logger = logging.getLogger("lambda_runtime.emulator")

#: ``accept()`` failures that mean "out of descriptors or memory", not "this connection is bad".
OUT_OF_RESOURCES = frozenset({errno.EMFILE, errno.ENFILE, errno.ENOBUFS, errno.ENOMEM})
#: Wait before trying again when not even the spare descriptor can be had back.
RETRY_DELAY_S = 0.1
#: What a caller refused at the limit reads (Lambda's ServiceException shape, with a hint to retry).
_REFUSAL_BODY = json.dumps(
    {"Type": "Service", "Message": "The emulator has no descriptor left for this connection; retry later"}
).encode()
REFUSAL = (
    b"HTTP/1.1 503 Service Unavailable\r\n"
    b"Content-Type: application/json\r\n"
    b"X-Amzn-ErrorType: ServiceException\r\n"
    b"Retry-After: 1\r\n"
    b"Connection: close\r\n"
    b"Content-Length: " + str(len(_REFUSAL_BODY)).encode() + b"\r\n\r\n" + _REFUSAL_BODY
)


class Listener:
    """Serves connections on a listening socket with ``protocol_factory``; :meth:`close` stops accepting."""

    def __init__(self, sock: socket.socket, protocol_factory: Callable[[], asyncio.Protocol]) -> None:
        sock.setblocking(False)
        self._sock = sock
        self._port = int(sock.getsockname()[1])
        self._factory = protocol_factory
        self._spare: int | None = _open_spare()
        #: Connections refused in the current burst at the limit; ``None``: not at the limit.
        self._refused: int | None = None
        self._task = asyncio.get_running_loop().create_task(self._run())
        self._task.add_done_callback(self._on_stopped)

    def close(self) -> None:
        self._task.cancel()
        if self._spare is not None:
            os.close(self._spare)
            self._spare = None

    def _on_stopped(self, task: asyncio.Task[None]) -> None:
        if not task.cancelled() and task.exception() is not None:
            logger.error("port %d: no longer accepting connections: %s", self._port, task.exception())

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            await self._readable(loop)
            while True:  # every connection waiting in the backlog, then wait again
                try:
                    conn, _ = self._sock.accept()
                except (BlockingIOError, InterruptedError):
                    break
                except ConnectionAbortedError:
                    continue
                except OSError as error:
                    if error.errno not in OUT_OF_RESOURCES:
                        raise
                    if not self._refuse_one(error):
                        await asyncio.sleep(RETRY_DELAY_S)
                        break
                    continue
                self._end_burst()
                conn.setblocking(False)
                try:
                    await loop.connect_accepted_socket(self._factory, conn)
                except OSError:
                    conn.close()

    async def _readable(self, loop: asyncio.AbstractEventLoop) -> None:
        ready: asyncio.Future[None] = loop.create_future()
        fd = self._sock.fileno()

        def on_readable() -> None:
            if not ready.done():
                ready.set_result(None)

        loop.add_reader(fd, on_readable)
        try:
            await ready
        finally:
            loop.remove_reader(fd)

    def _refuse_one(self, error: OSError) -> bool:
        """At the limit: accept one waiting connection on the spare descriptor and answer it 503. False: there was
        no descriptor to do it with (back off), or nobody waiting."""
        if self._refused is None:
            self._refused = 0
            logger.warning(
                "port %d: descriptor limit reached (%s): new connections get 503 until descriptors free up",
                self._port,
                error.strerror,
            )
        if self._spare is None:
            self._spare = _open_spare()
            if self._spare is None:
                return False
        os.close(self._spare)
        self._spare = None
        try:
            conn, _ = self._sock.accept()
        except OSError:
            self._spare = _open_spare()
            return False
        with conn:
            conn.setblocking(False)
            with contextlib.suppress(OSError):
                _discard_request(conn)  # closing with unread data would reset the connection before our answer
                conn.send(REFUSAL)
                conn.shutdown(socket.SHUT_WR)
        self._spare = _open_spare()  # the descriptor just freed: nothing else may take it in between
        self._refused += 1
        return True

    def _end_burst(self) -> None:
        if self._refused is not None:
            logger.warning("port %d: accepting connections again (%d refused at the limit)", self._port, self._refused)
            self._refused = None


def _open_spare() -> int | None:
    try:
        return os.open(os.devnull, os.O_RDONLY)
    except OSError:
        return None


def _discard_request(conn: socket.socket, most: int = 1 << 20) -> None:
    """Read what the caller has sent so far (up to ``most`` bytes) without waiting for more."""
    read = 0
    while read < most:
        try:
            data = conn.recv(65536)
        except BlockingIOError:
            return
        if not data:
            return
        read += len(data)
