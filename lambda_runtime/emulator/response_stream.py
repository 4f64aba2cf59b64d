"""A streamed response on its way from the runtime to the caller: chunks in order, then how it ended.

A leaf module (it imports nothing from the emulator), so that :mod:`.invocation` can name it in ``Answer``.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections.abc import Callable

#: Chunks held for a slow caller before the runtime's post is slowed down in turn (back-pressure).
_QUEUE_CHUNKS = 16


class ResponseStream:
    """One invocation's streamed response: chunks in order, then how it ended (``error_type`` None: success)."""

    def __init__(self, content_type: str) -> None:
        self.content_type = content_type
        self.size = 0
        self.error_type: str | None = None
        self.error_body: bytes | None = None
        self.ended_at: float | None = None
        self.abandoned = False  # the caller went away: chunks are dropped, the runtime is never blocked
        self._end_read = False  # the reader has taken the end: every later `chunks()` is None at once
        self.caller_left_at: float | None = None  # the caller went away mid-stream (epoch seconds)
        self._on_caller_left: list[Callable[[], None]] = []
        self._queue: asyncio.Queue[bytes | None] = asyncio.Queue(_QUEUE_CHUNKS)

    @property
    def ended(self) -> bool:
        return self.ended_at is not None

    async def put(self, chunk: bytes) -> None:
        if self.ended:
            return
        self.size += len(chunk)
        if not self.abandoned:
            await self._queue.put(chunk)

    def end(self, error_type: str | None = None, error_body: bytes | None = None) -> bool:
        """End the stream (the first end wins). Returns False if it had already ended."""
        if self.ended:
            return False
        self.ended_at = time.time()
        self.error_type, self.error_body = error_type, error_body
        self._put_end()
        return True

    def _put_end(self) -> None:
        try:
            self._queue.put_nowait(None)
        except asyncio.QueueFull:  # the caller is behind: it finds the end after the chunks it has yet to read
            asyncio.get_running_loop().call_later(0.01, self._put_end)

    def abandon(self) -> None:
        """Nobody reads this stream (an Event invocation, a caller already answered): drop its chunks."""
        self.abandoned = True
        while not self._queue.empty():
            self._queue.get_nowait()

    def when_caller_leaves(self, callback: Callable[[], None]) -> None:
        """Call `callback` once if the caller goes away before the stream has ended."""
        self._on_caller_left.append(callback)

    def caller_left(self) -> None:
        """The caller disconnected mid-stream: drop the chunks, and tell whoever produces them (once)."""
        if self.ended or self.caller_left_at is not None:
            return
        self.caller_left_at = time.time()
        self.abandon()
        for callback in self._on_caller_left:
            callback()

    def has_chunks(self) -> bool:
        """Whether `chunks()` would return at once."""
        return self._end_read or not self._queue.empty()

    async def chunks(self) -> list[bytes] | None:
        """The next chunks (all that are waiting, at least one), or None at the end (and ever after)."""
        if self._end_read:
            return None
        first = await self._queue.get()
        if first is None:
            self._end_read = True
            return None
        taken = [first]
        while not self._queue.empty():
            chunk = self._queue.get_nowait()
            if chunk is None:
                self._end_read = True  # the next call returns None
                break
            taken.append(chunk)
        return taken

    def error_details(self) -> tuple[str, str]:
        """(errorType, errorMessage) of a failed stream."""
        message = ""
        with contextlib.suppress(ValueError, AttributeError, TypeError):
            message = str(json.loads(self.error_body or b"").get("errorMessage", ""))
        return self.error_type or "Unhandled", message

    def error_json(self) -> bytes:
        """The error object of a failed stream (as posted to ``/error``)."""
        return self.error_body or json.dumps({"errorType": self.error_type, "errorMessage": ""}).encode()
