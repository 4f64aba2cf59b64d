"""Reading a caller's request body and sending its answer, each within ``client_timeout``.

A caller who stalls (a body that never arrives in full, an answer never read) would otherwise hold its connection,
its handler task and everything they refer to (the answer: up to 6 MB, plus the copy in the transport's buffer)
for as long as it likes. The request head has its own bound: aiohttp's keep-alive timer (see ``server.py``).
"""

from __future__ import annotations

import asyncio
import logging

from aiohttp import web

logger = logging.getLogger("lambda_runtime.emulator")

#: Bytes handed to the transport at a time: the writer waits for the caller to take them (aiohttp drains above
#: 64 KB), so an unread answer holds at most about this much beyond the answer itself.
CHUNK = 64 * 1024


class SlowCaller(Exception):
    """The caller did not send its request body within ``client_timeout``."""


async def read_body(request: web.Request, timeout: float) -> bytes:
    """The whole request body, or :class:`SlowCaller` if it did not come within ``timeout`` seconds."""
    try:
        return await asyncio.wait_for(request.read(), timeout)
    except asyncio.TimeoutError:
        raise SlowCaller(f"no whole request body in {timeout:g} s") from None


async def request_timeout(request: web.Request) -> web.StreamResponse:
    """408 to a caller whose body did not come in time, then the connection is closed (not read to its end)."""
    response = web.Response(status=408, headers={"Connection": "close"})
    await response.prepare(request)
    await response.write_eof()
    if request.transport is not None:
        request.transport.abort()
    return response


async def send(request: web.Request, response: web.Response, request_id: str, timeout: float) -> web.StreamResponse:
    """Send ``response`` (a buffered answer) in chunks the caller must take within ``timeout`` seconds in all;
    a caller who stops reading gets its connection aborted, which frees what was held for it."""
    body = response.body
    if not isinstance(body, bytes) or len(body) <= CHUNK:
        return response  # small: aiohttp sends it in one write, the socket's buffer takes it
    streamed = web.StreamResponse(status=response.status, headers=response.headers)
    streamed.content_length = len(body)
    try:
        await asyncio.wait_for(_write(request, streamed, memoryview(body)), timeout)
    except asyncio.TimeoutError:
        logger.info("%s: the caller stopped reading its answer for %g s: connection closed", request_id, timeout)
        if request.transport is not None:
            request.transport.abort()
    except ConnectionError:
        logger.debug("%s: the caller went away while its answer was being sent", request_id)
    return streamed


async def _write(request: web.Request, response: web.StreamResponse, body: memoryview) -> None:
    await response.prepare(request)
    for start in range(0, len(body), CHUNK):
        await response.write(body[start : start + CHUNK])
    await response.write_eof()
