"""Streamed answers to callers: InvokeWithResponseStream (2021-11-15) and a function-URL style endpoint.

``POST /2021-11-15/functions/{name}/response-streaming-invocations`` answers in the event-stream framing botocore
reads (``PayloadChunk`` events, then ``InvokeComplete`` with ``ErrorCode``/``ErrorDetails``/``LogResult``; AWS API
reference "API_InvokeWithResponseStream"). ``/lambda-url/{path}`` turns any HTTP request into a function URL event
(payload format 2.0) and streams the HTTP-integration response (prelude: status, headers, cookies) to the client.
A function that does not stream gets the same treatment as Lambda gives it: one chunk, or a buffered function URL
response.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time

from aiohttp import web

from lambda_runtime.emulator.client_io import SlowCaller, read_body, request_timeout
from lambda_runtime.emulator.eventstream import invoke_complete, payload_chunk
from lambda_runtime.emulator.function_url import HTTP_INTEGRATION_TYPE, buffered_reply, read_prelude, url_event
from lambda_runtime.emulator.invocation import Invocation
from lambda_runtime.emulator.invoke_api import InvokeApi, tail_log
from lambda_runtime.emulator.response_stream import ResponseStream
from lambda_runtime.emulator.responses import new_trace_id, service_error

STREAM_API_VERSION = "2021-11-15"
FUNCTION_URL_PREFIX = "/lambda-url"
#: How often a caller waiting for the next chunk is checked for having gone away.
_CALLER_CHECK_S = 0.05


class StreamApi:
    def __init__(self, invoke_api: InvokeApi) -> None:
        self.invoke_api = invoke_api

    def add_routes(self, app: web.Application) -> None:
        path = f"/{STREAM_API_VERSION}/functions/{{function}}/response-streaming-invocations"
        app.router.add_post(path, self.invoke_with_response_stream)
        app.router.add_route("*", FUNCTION_URL_PREFIX + "{path:(/.*)?}", self.function_url)

    async def invoke_with_response_stream(self, request: web.Request) -> web.StreamResponse:
        received_at = time.time()
        invocation_type = request.headers.get("X-Amz-Invocation-Type", "RequestResponse")
        if invocation_type == "Event":
            message = "InvokeWithResponseStream supports the RequestResponse and DryRun invocation types only"
            return service_error(400, "InvalidParameterValueException", message)
        api = self.invoke_api
        refused = api.refuse_before_reading(request, invocation_type)
        if refused is not None:
            return refused
        try:
            payload = await read_body(request, api.config.client_timeout)
        except SlowCaller:
            return await request_timeout(request)
        found = api.read_invocation(request, invocation_type, payload, received_at)
        if isinstance(found, web.Response):
            return found
        inv = found
        if invocation_type == "DryRun":
            return web.Response(status=204, headers={"X-Amzn-RequestId": inv.request_id})
        if not api.pool.submit(inv):
            return api.throttled()
        answer = await asyncio.shield(inv.answer_future)
        response = web.StreamResponse(
            headers={
                "Content-Type": "application/vnd.amazon.eventstream",
                "X-Amzn-RequestId": inv.request_id,
                "X-Amz-Executed-Version": "$LATEST",
                "X-Amzn-Trace-Id": inv.trace_id or "",
            }
        )
        await response.prepare(request)
        error: tuple[str, str] | None = None
        stream = answer.stream
        try:
            if stream is not None:
                while (chunks := await _next_chunks(request, stream)) is not None:
                    for chunk in chunks:
                        await response.write(payload_chunk(chunk))
                error = stream.error_details() if stream.error_type else None
            elif answer.failed:
                error = (answer.error_type or "Unhandled", _message(answer.body))
            elif answer.body:
                await response.write(payload_chunk(answer.body))
            log = None
            if request.headers.get("X-Amz-Log-Type") == "Tail":
                await asyncio.shield(inv.done)  # the log ends with END and REPORT: when the invocation is over
                log = tail_log(inv)
            code, details = error or (None, None)
            await response.write(invoke_complete(code, details, log))
            await response.write_eof()
        except ConnectionResetError:
            if stream is not None:
                stream.caller_left()
            raise
        finally:
            if stream is not None and not stream.ended:
                stream.abandon()  # the caller went away: the runtime streams on, into nothing
        return response

    async def function_url(self, request: web.Request) -> web.StreamResponse:
        api = self.invoke_api
        try:
            body = await read_body(request, api.config.client_timeout)
        except SlowCaller:
            return await request_timeout(request)
        if len(body) > 6 * 1024 * 1024:
            return web.json_response({"Message": "Request Entity Too Large"}, status=413)
        inv = Invocation(
            payload=json.dumps(url_event(request, request.match_info.get("path") or "/", body)).encode(),
            trace_id=request.headers.get("X-Amzn-Trace-Id") or new_trace_id(),
        )
        if not api.pool.submit(inv):
            return web.json_response({"Message": "Rate Exceeded."}, status=429)
        answer = await asyncio.shield(inv.answer_future)
        if answer.stream is None:
            return buffered_reply(answer)
        return await _stream_to_client(request, answer.stream, inv)


async def _stream_to_client(request: web.Request, stream: ResponseStream, inv: Invocation) -> web.StreamResponse:
    """Stream to an HTTP client: status, headers and cookies from the prelude, then the body as it comes."""
    try:
        if stream.content_type.split(";")[0].strip() == HTTP_INTEGRATION_TYPE:
            prelude = await read_prelude(stream)
            if prelude is None:
                return web.json_response({"Message": "Internal Server Error"}, status=502)
            status, headers, rest = prelude
        else:
            status, headers, rest = 200, [("Content-Type", stream.content_type)], b""
            if (first := await stream.chunks()) is None and stream.error_type:
                return web.json_response({"Message": "Internal Server Error"}, status=502)
            rest = b"".join(first or [])
        response = web.StreamResponse(status=status)
        for name, value in headers:
            response.headers.add(name, value)
        response.headers["X-Amzn-RequestId"] = inv.request_id
        await response.prepare(request)
        if rest:
            await response.write(rest)
        while (chunks := await _next_chunks(request, stream)) is not None:
            for chunk in chunks:
                await response.write(chunk)
        if stream.error_type and request.transport is not None:
            # A function URL cannot say "failed" once the status is out: the body breaks off without its last
            # chunk, so the client knows it is incomplete (curl: "transfer closed with outstanding read data").
            request.transport.abort()
            return response
        await response.write_eof()
        return response
    except ConnectionResetError:
        stream.caller_left()
        raise
    finally:
        if not stream.ended:
            stream.abandon()


async def _next_chunks(request: web.BaseRequest, stream: ResponseStream) -> list[bytes] | None:
    """The stream's next chunks; ConnectionResetError as soon as the caller is gone, even between two chunks (a
    function may take long to produce the next one, and must hear of it before)."""
    if stream.has_chunks():
        return await stream.chunks()
    waiting = asyncio.ensure_future(stream.chunks())
    try:
        while True:
            done, _ = await asyncio.wait({waiting}, timeout=_CALLER_CHECK_S)
            if done:
                return waiting.result()
            transport = request.transport
            if transport is None or transport.is_closing():
                raise ConnectionResetError("the caller disconnected mid-stream")
    finally:
        waiting.cancel()  # a no-op once done; else nothing was taken: it waits in the queue's get()


def _message(body: bytes) -> str:
    with contextlib.suppress(ValueError, AttributeError, TypeError):
        return str(json.loads(body).get("errorMessage", ""))
    return ""
