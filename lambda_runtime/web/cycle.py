"""One HTTP request through an ASGI app (ASGI spec, "HTTP" messages): the body in, the response out, held at its end.

The app's last `send` of the response body does not return until `release()`: what the app does after it (background
tasks) must not start before the runtime has posted the response.
"""

from __future__ import annotations

import asyncio
import contextvars
import logging
import queue
import threading
from collections.abc import Iterator
from typing import Any

from lambda_runtime.web.responses import plain_response
from lambda_runtime.web.types import ASGIApp, Message, Scope

logger = logging.getLogger("lambda_runtime.web")

_AHEAD = 16  # body chunks the app may send ahead of the stream before its `send` waits (back-pressure)


class HttpCycle:
    """One request through the app: feeds it the body, collects the response, notices when it is complete."""

    def __init__(self, scope: Scope, body: bytes, streaming: bool = False) -> None:
        self.scope = scope
        self.body = body
        # The app's task runs in this very context (made in the handler's thread: request id, user variables), so
        # that the deferred job can set `current_job()` in it for the app's work after the response.
        self.context = contextvars.copy_context()
        # Streaming: `ready` is set at the response start and the body goes through `stream()` as it is sent.
        self.streaming = streaming
        self._queue: queue.Queue[bytes | BaseException | None] = queue.Queue()
        self._room: asyncio.Semaphore | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self.status = 0
        self.headers: list[tuple[str, str]] = []
        self.chunks: list[bytes] = []
        self.started = self.complete = False
        self.in_background = False  # the response is out: what the app does from now on is deferred work
        self.client_gone = False  # streaming: the stream was closed before the app's last chunk
        self.ready = threading.Event()  # set (on the loop) when the handler may return
        self.done = threading.Event()  # set when the app's call is over, unwinding included
        self._request_read = False
        self._disconnected: asyncio.Event | None = None
        self._released: asyncio.Event | None = None

    async def run(self, app: ASGIApp) -> None:
        self._disconnected, self._released = asyncio.Event(), asyncio.Event()
        self._room, self._loop = asyncio.Semaphore(_AHEAD), asyncio.get_running_loop()
        try:
            await app(self.scope, self._receive, self._send)
        except BaseException as error:
            if self.in_background:
                raise  # the deferred job reports it: it failed after the response was sent
            # Uvicorn and Mangum log it the same way; the request id comes with the context copied from the handler.
            logger.error("Exception in ASGI application", exc_info=error)
            if self.streaming and self.started and not self.complete:
                self._queue.put(error)  # mid-stream: the stream ends with the error (the runtime's error trailers)
                self.complete = True
            if not self.complete:
                self._respond_plain(500, "Internal Server Error")
        finally:
            if self.streaming and self.started and not self.complete:
                self._queue.put(RuntimeError("ASGI app returned without completing a response"))
                self.complete = True
            if not self.complete:
                logger.error("ASGI app returned without completing a response")
                self._respond_plain(500, "Internal Server Error")
            self.ready.set()
            self.done.set()

    def stream(self, timeout: float | None) -> Iterator[bytes]:
        """The response body as the app sends it (streaming mode; call from the handler's thread).

        Closed before the app's last chunk (the caller disconnected, the deadline came), it tells the app: its
        `receive` answers `http.disconnect` and its further sends are dropped (ASGI spec 2.3: a no-op after the
        connection closed). Starlette's StreamingResponse then cancels its body iterator and runs its background.
        """
        ended = False
        try:
            while True:
                try:
                    item = self._queue.get(timeout=timeout)
                except queue.Empty:
                    raise TimeoutError("the ASGI app sent no more of its response before the deadline") from None
                if item is None:
                    ended = True
                    return
                if isinstance(item, BaseException):
                    ended = True
                    raise item
                if self._loop is not None and self._room is not None:
                    self._loop.call_soon_threadsafe(self._room.release)
                yield item
        finally:
            if not ended and self._loop is not None:
                self._loop.call_soon_threadsafe(self._client_gone)

    def _client_gone(self) -> None:
        """The stream was closed before the response was complete (call on the loop)."""
        assert self._disconnected is not None and self._room is not None
        self.client_gone = True
        self._disconnected.set()
        self._room.release()  # a `send` waiting for room wakes up, and finds the client gone

    def release(self) -> None:
        """The response is posted: let the app's call go on past its last `send` (call on the loop)."""
        assert self._released is not None
        self._released.set()

    async def _receive(self) -> Message:
        if not self._request_read:
            self._request_read = True
            return {"type": "http.request", "body": self.body, "more_body": False}
        # Nothing more to read: the client "disconnects" once the response is complete, as a real server does
        # after the last byte. Returning at once would make StreamingResponse think the client left mid-stream.
        assert self._disconnected is not None
        await self._disconnected.wait()
        return {"type": "http.disconnect"}

    async def _send(self, message: Message) -> None:
        kind = message.get("type")
        if kind == "http.response.start" and not self.started:
            self.started = True
            self.status = int(message["status"])
            self.headers = [(_text(name), _text(value)) for name, value in message.get("headers", ())]
            if self.streaming:
                self.ready.set()
        elif self.client_gone:
            return  # ASGI spec 2.3: after the client disconnected, a send is a no-op
        elif kind == "http.response.body" and self.started and not self.complete:
            if self.streaming:
                assert self._room is not None
                await self._room.acquire()  # released as the stream takes the chunk
                if self.client_gone:
                    self._room.release()  # for the next `send`, which returns at once too
                    return
                self._queue.put(bytes(message.get("body", b"")))
            else:
                self.chunks.append(bytes(message.get("body", b"")))
            if not message.get("more_body", False):
                if self.streaming:
                    self._queue.put(None)
                assert self._disconnected is not None and self._released is not None
                self.complete = self.in_background = True
                self.ready.set()
                # Hold the app here until the response is posted: whatever follows (background tasks) must not
                # start before the caller has its answer. The client "disconnects" only then: Starlette's
                # StreamingResponse, told of a disconnect, cancels this very `send` and runs its background at once.
                await self._released.wait()
                self._disconnected.set()
        elif self.complete:
            return  # a server ignores messages after the response (ASGI spec: they may be dropped)
        else:
            raise RuntimeError(f"unexpected ASGI message {kind!r} (response started: {self.started})")

    def _respond_plain(self, status: int, message: str) -> None:
        self.status, self.headers, body = plain_response(status, message)
        self.chunks = [body]
        self.started = self.complete = True
        if self.streaming:
            self._queue.put(body)
            self._queue.put(None)


def _text(value: Any) -> str:
    return value.decode("latin-1") if isinstance(value, (bytes, bytearray)) else str(value)
