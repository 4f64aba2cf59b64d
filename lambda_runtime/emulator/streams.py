"""Streamed responses in the emulator: what the runtime posts in streaming mode, on its way to the caller.

The runtime's ``/response`` (``Lambda-Runtime-Function-Response-Mode: streaming``) answers the caller at its first
byte; the chunks go through a :class:`ResponseStream` as they arrive. A mid-stream error comes in the trailers (see
:mod:`.trailers`), a timeout or an exit from the ledger; whichever comes first ends the stream.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import contextlib
import json
import socket
import struct

from aiohttp import web

from lambda_runtime.emulator.config import MAX_SYNC_PAYLOAD
from lambda_runtime.emulator.invocation import Answer, Invocation
from lambda_runtime.emulator.response_stream import ResponseStream
from lambda_runtime.emulator.trailers import take_trailers

#: Lambda's limit for a streamed response (200 MB since July 2025).
STREAM_LIMIT = 200 * 1024 * 1024
STREAMING_MODE_HEADER = "Lambda-Runtime-Function-Response-Mode"
_ERROR_TYPE = "lambda-runtime-function-error-type"
_ERROR_BODY = "lambda-runtime-function-error-body"


def is_streaming(request: web.BaseRequest) -> bool:
    return request.headers.get(STREAMING_MODE_HEADER, "").strip().lower() == "streaming"


async def receive(request: web.Request, inv: Invocation) -> web.Response:
    """Read a streamed ``/response`` into a stream the caller already has; record how and when it ended."""
    stream = ResponseStream(request.headers.get("Content-Type", "application/octet-stream"))
    inv.answer(Answer(body=b"", content_type=stream.content_type, stream=stream))
    if inv.invocation_type == "Event":
        stream.abandon()  # nobody reads an Event's response
    stream.when_caller_leaves(lambda: reset_connection(request))
    try:
        async for data in request.content.iter_any():
            if stream.size + len(data) > STREAM_LIMIT:
                message = f"Response payload size exceeded maximum allowed payload size ({STREAM_LIMIT} bytes)."
                stream.end("Function.ResponseSizeTooLarge", _error_json("Function.ResponseSizeTooLarge", message))
                break
            await stream.put(data)
    except (ConnectionError, asyncio.IncompleteReadError, web.HTTPException, OSError, ValueError) as error:
        if stream.caller_left_at is None:
            message = f"the runtime's streamed response broke off after {stream.size} bytes: {error}"
            stream.end("Runtime.TruncatedResponse", _error_json("Runtime.TruncatedResponse", message))
    finally:
        if stream.caller_left_at is not None:  # the post was reset because the caller left: that is how it ended
            stream.end()
            _record(inv, stream)
    if stream.caller_left_at is not None:
        return web.json_response({"status": "caller disconnected"}, status=202)  # nobody reads it: reset
    trailers = take_trailers(request)
    error_type = trailers.get(_ERROR_TYPE)
    if error_type:
        try:
            body = base64.b64decode(trailers.get(_ERROR_BODY, ""), validate=True)
        except (binascii.Error, ValueError):
            body = _error_json(error_type, "(the error body trailer was not base64)")
        stream.end(error_type, body)
    else:
        stream.end()
    _record(inv, stream)
    if stream.error_type == "Function.ResponseSizeTooLarge" and not error_type:
        return web.json_response({"errorType": "RequestEntityTooLarge", "errorMessage": "stream too large"}, status=413)
    return web.json_response({"status": "OK"}, status=202)


def _record(inv: Invocation, stream: ResponseStream) -> None:
    record = inv.record
    if stream.error_type and not record.error_type:
        record.error_type = stream.error_type
    record.extra["stream"] = {"bytes": stream.size, "ended_at": stream.ended_at, "error_type": stream.error_type}
    if stream.caller_left_at is not None:
        record.extra["stream"]["caller_left_at"] = stream.caller_left_at


def reset_connection(request: web.BaseRequest) -> None:
    """Reset the runtime's streamed ``/response`` connection: what Lambda does to it when the caller disconnects
    mid-stream. The runtime's next send fails (aws-lambda-rust-runtime, lambda-runtime/src/requests.rs: "Error
    sending response body chunk, response channel closed"), so it stops reading the handler's stream. A reset
    (RST, SO_LINGER 0), not a close: a close would let the runtime's next send succeed into the void."""
    transport = request.transport
    if transport is None:
        return
    sock = transport.get_extra_info("socket")
    if sock is not None:
        with contextlib.suppress(OSError):
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    transport.abort()


async def buffered(stream: ResponseStream) -> Answer:
    """A streamed response for a buffered ``Invoke``: the whole body (6 MB at most), or the stream's error."""
    parts: list[bytes] = []
    size = 0
    try:
        while (chunks := await stream.chunks()) is not None:
            for chunk in chunks:
                size += len(chunk)
                if size <= MAX_SYNC_PAYLOAD:
                    parts.append(chunk)
    except asyncio.CancelledError:  # the caller went away: the runtime must not wait for it
        stream.abandon()
        raise
    if stream.error_type:
        return Answer(body=stream.error_json(), function_error="Unhandled", error_type=stream.error_type)
    if size > MAX_SYNC_PAYLOAD:
        message = (
            f"Response payload size ({size} bytes) exceeded maximum allowed payload size ({MAX_SYNC_PAYLOAD} bytes)."
        )
        return Answer.function_failure("Function.ResponseSizeTooLarge", message)
    return Answer(body=b"".join(parts), content_type=stream.content_type)


def _error_json(error_type: str, message: str) -> bytes:
    return json.dumps({"errorType": error_type, "errorMessage": message}).encode()
