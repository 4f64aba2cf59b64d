"""HTTP trailers of streamed ``/response`` posts, which aiohttp parses and drops.

A runtime reports an error after the first byte of a streamed response in the trailers
``Lambda-Runtime-Function-Error-Type`` / ``-Error-Body`` (AWS docs, runtimes-custom "Response streaming"). aiohttp's
request parsers (C and Python) read the trailer section and discard it, so each Runtime API connection also follows
the request framing on its raw bytes (:class:`FramingTap`, skipping bodies by count) and keeps the trailers of
streamed posts, in order, for the handler to take once it has read the body.
"""

from __future__ import annotations

import asyncio
import collections
from collections.abc import Callable
from typing import Any

from aiohttp import web
from aiohttp.web_protocol import RequestHandler

STREAMING_MODE = b"lambda-runtime-function-response-mode"
_MAX_LINE = 65536


class FramingTap:
    """Follows HTTP/1.1 request framing (RFC 9112: Content-Length or chunked) and keeps streamed posts' trailers."""

    def __init__(self) -> None:
        self.trailers: collections.deque[dict[str, str]] = collections.deque()
        self._state = "request"  # request → headers → (body | size ⇄ data → trailers) → request
        self._line = bytearray()
        self._left = 0  # body or chunk bytes (with the chunk's CRLF) still to skip
        self._after_skip = "request"
        self._chunked = self._streaming = False
        self._length = 0
        self._fields: dict[str, str] = {}
        self._broken = False  # malformed framing: aiohttp answers 400 and closes; nothing more to keep

    def feed(self, data: bytes) -> None:
        pos, size = 0, len(data)
        while pos < size and not self._broken:
            if self._left:
                step = min(self._left, size - pos)
                pos += step
                self._left -= step
                if not self._left:
                    self._state = self._after_skip
                continue
            end = data.find(b"\n", pos)
            if end < 0:
                self._line += data[pos:]
                self._broken = len(self._line) > _MAX_LINE
                return
            line = bytes(self._line + data[pos:end]).rstrip(b"\r")
            self._line.clear()
            pos = end + 1
            try:
                self._take(line)
            except ValueError:
                self._broken = True

    def _take(self, line: bytes) -> None:
        state = self._state
        if state == "request":
            if line:  # empty lines before a request line are allowed (RFC 9112 section 2.2)
                self._state, self._chunked, self._streaming, self._length = "headers", False, False, 0
        elif state == "headers":
            if line:
                name, _, value = line.partition(b":")
                name, value = name.strip().lower(), value.strip().lower()
                self._chunked |= name == b"transfer-encoding" and b"chunked" in value
                self._streaming |= name == STREAMING_MODE and value == b"streaming"
                if name == b"content-length":
                    self._length = int(value)
            elif self._chunked:
                self._state = "size"
            else:
                self._skip(self._length, "request")
        elif state == "size":
            chunk = int(line.split(b";")[0].strip(), 16)
            if chunk:
                self._skip(chunk + 2, "size")
            else:
                self._state, self._fields = "trailers", {}
        elif line:  # trailers
            field, _, text = line.decode("latin-1").partition(":")
            self._fields[field.strip().lower()] = text.strip()
        else:
            if self._streaming:
                self.trailers.append(self._fields)
            self._state = "request"

    def _skip(self, count: int, then: str) -> None:
        self._left, self._after_skip = count, then
        self._state = "skip" if count else then


class TappedRequestHandler(RequestHandler):
    """aiohttp's connection handler, with a :class:`FramingTap` on what it receives."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.tap = FramingTap()

    def data_received(self, data: bytes) -> None:
        self.tap.feed(data)  # first: the trailers are kept before the handler can see the end of the body
        super().data_received(data)


def tapped_handlers(server: web.Server) -> Callable[[], TappedRequestHandler]:
    """A protocol factory serving ``server``'s application with tapped connections (the Runtime API ports)."""
    loop = asyncio.get_running_loop()
    return lambda: TappedRequestHandler(server, loop=loop, access_log=None)


def take_trailers(request: web.BaseRequest) -> dict[str, str]:
    """The trailers of ``request``, a streamed post whose body was read to the end (lower-case names)."""
    protocol = request.protocol
    if isinstance(protocol, TappedRequestHandler) and protocol.tap.trailers:
        return protocol.tap.trailers.popleft()
    return {}
