"""Response streaming: a handler's generator, iterator or `StreamingResponse`, posted chunk by chunk.

The Runtime API's streaming mode for custom runtimes (AWS docs "runtimes-custom", section "Response streaming"):
`POST /response` with `Lambda-Runtime-Function-Response-Mode: streaming` and `Transfer-Encoding: chunked`; an error
after the first byte ends the body with the trailers `Lambda-Runtime-Function-Error-Type` and
`Lambda-Runtime-Function-Error-Body` (base64 of the usual error JSON), declared up front in `Trailer:`. Function
URLs and API Gateway take status, headers and cookies from a JSON prelude and 8 NUL bytes before the body, with
`Content-Type: application/vnd.awslambda.http-integration-response` (docs "configuration-response-streaming").
"""

from __future__ import annotations

import base64
import json
import logging
import time
from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import Any

import requests

from lambda_runtime.api.client import RuntimeClient
from lambda_runtime.api.invocation import Invocation
from lambda_runtime.errors import FunctionError, InvocationError, RuntimeApiError, Terminated
from lambda_runtime.invocation.payloads import error_report

logger = logging.getLogger("lambda_runtime")

HTTP_INTEGRATION_TYPE = "application/vnd.awslambda.http-integration-response"
DEFAULT_CONTENT_TYPE = "application/octet-stream"  # what Lambda's Node.js streamifyResponse sends by default
#: Lambda's limit for a streamed response, 200 MB (since July 2025; the first 6 MB uncapped, then about 2 MB/s).
STREAM_LIMIT = 200 * 1024 * 1024
#: The HTTP-integration prelude must fit in the first 16 KB of the stream.
PRELUDE_LIMIT = 16 * 1024
_DELIMITER = b"\0" * 8


class StreamingResponse:
    """A streamed result: `iterable` yields `bytes` or `str` (UTF-8), each sent as soon as it is yielded.

    Give `status_code`, `headers` or `cookies` (a function URL or API Gateway streams it to an HTTP client) and
    they go first, as the HTTP-integration prelude; otherwise the chunks alone are the response, of `content_type`.
    """

    def __init__(
        self,
        iterable: Iterable[bytes | str],
        *,
        content_type: str | None = None,
        status_code: int | None = None,
        headers: Mapping[str, str] | None = None,
        cookies: Sequence[str] | None = None,
    ) -> None:
        self.iterable = iterable
        self.content_type = content_type
        self.status_code = status_code
        self.headers = dict(headers or {})
        self.cookies = list(cookies or [])
        self.http = status_code is not None or headers is not None or cookies is not None
        if self.http:
            self.prelude()  # a bad status, header or cookie fails in the handler, where the traceback points

    def prelude(self) -> bytes:
        """The HTTP-integration prelude: `{statusCode, headers, cookies}` as JSON, then 8 NUL bytes."""
        headers = dict(self.headers)
        if self.content_type and not any(name.lower() == "content-type" for name in headers):
            headers["Content-Type"] = self.content_type
        status = 200 if self.status_code is None else self.status_code
        if isinstance(status, bool) or not isinstance(status, int) or not 100 <= status <= 599:
            raise ValueError(f"StreamingResponse status_code must be an int from 100 to 599, not {status!r}")
        for what, text in [*headers.items(), *(("cookie", c) for c in self.cookies)]:
            if not isinstance(what, str) or not isinstance(text, str):
                raise TypeError(f"StreamingResponse headers and cookies must be str, not {text!r}")
        prelude = json.dumps({"statusCode": status, "headers": headers, "cookies": self.cookies}).encode()
        if len(prelude) + len(_DELIMITER) > PRELUDE_LIMIT:
            raise ValueError(f"StreamingResponse status, headers and cookies exceed {PRELUDE_LIMIT} bytes as JSON")
        return prelude + _DELIMITER


class Stream:
    """The body of one streamed post: an iterable of chunks that never raises, and the trailers once it is over.

    A handler error (or the size limit) ends the iteration; `trailers()` then describes it and `error` holds it.
    """

    def __init__(self, chunks: Iterator[Any], first: bytes, content_type: str, request_id: str) -> None:
        self.chunks = chunks
        self.first = first
        self.content_type = content_type
        self.request_id = request_id
        self.limit = STREAM_LIMIT
        self.sent = 0
        self.error: BaseException | None = None
        self.cancelled = False  # the caller disconnected mid-stream and the post was reset
        self._trailers: dict[str, str] = {}

    def __iter__(self) -> Iterator[bytes]:
        chunk = self.first
        try:
            while chunk:
                if self.sent + len(chunk) > self.limit:
                    message = (
                        f"Response payload size exceeded maximum allowed payload size ({self.limit} bytes) "
                        "for a streamed response."
                    )
                    raise InvocationError("Function.ResponseSizeTooLarge", message)
                self.sent += len(chunk)
                yield chunk
                chunk = _next_chunk(self.chunks)
        except BaseException as error:  # GeneratorExit included: the transport gave up, nothing more is read
            if isinstance(error, GeneratorExit):
                raise
            self._fail(error)
        finally:
            _close(self.chunks)

    def trailers(self) -> Mapping[str, str]:
        return self._trailers

    def _fail(self, error: BaseException) -> None:
        self.error = error
        report = error_report(error, self.request_id)
        trace = None if isinstance(error, FunctionError) else error
        logger.error(
            "%s: %s (mid-stream, after %d bytes)", report.error_type, report.message, self.sent, exc_info=trace
        )
        self._trailers = {
            "Lambda-Runtime-Function-Error-Type": report.error_type,
            "Lambda-Runtime-Function-Error-Body": base64.b64encode(report.body).decode("ascii"),
        }


def open_stream(result: Any, request_id: str) -> Stream | None:
    """A `Stream` if the handler's result is one (else None). Takes the first chunk now, so that an error before
    the first byte is raised here and goes to `/error` as any handler error."""
    if isinstance(result, StreamingResponse):
        iterable: Iterable[Any] = result.iterable
        prelude = result.prelude() if result.http else b""
        content_type = HTTP_INTEGRATION_TYPE if result.http else result.content_type or DEFAULT_CONTENT_TYPE
    elif isinstance(result, Iterator):  # generators, map(), files ...; a list or dict is still a JSON result
        iterable, prelude, content_type = result, b"", DEFAULT_CONTENT_TYPE
    else:
        return None
    chunks = iter(iterable)
    try:
        first = _next_chunk(chunks)
    except BaseException:
        _close(chunks)
        raise
    return Stream(chunks, prelude + first, content_type, request_id)


def post_stream(client: RuntimeClient, invocation: Invocation, stream: Stream) -> tuple[bool, float]:
    """Post `stream`; returns (whether the invocation failed, how long the stream took in ms)."""
    started = time.monotonic()
    failed = True
    # A caller reading slowly slows the sends down (back-pressure): allow until the invocation's deadline, which
    # Lambda enforces anyway, rather than the short post timeout meant for one small body.
    deadline_ms = invocation.header("Lambda-Runtime-Deadline-Ms") or ""
    remaining_s = int(deadline_ms) / 1000 - time.time() if deadline_ms.isdigit() else 0.0
    try:
        client.post_stream(invocation, stream, stream.content_type, max(remaining_s, client.post_timeout_s))
        failed = stream.error is not None
    except RuntimeApiError as error:
        logger.error("The Runtime API refused the streamed response after %d bytes: %s", stream.sent, error)
    except requests.RequestException as error:
        if not _reset(error):
            logger.error("Streaming the response failed after %d bytes: %s", stream.sent, error)
        else:
            # Lambda resets the streamed post when the caller disconnects: nothing more can reach anyone, so the
            # handler's generator is closed now (GeneratorExit at its yield) instead of running, billed, to its
            # end. The handler did not fail: its deferred jobs run as after any response.
            failed = False
            stream.cancelled = True
            logger.warning(
                "Response stream cancelled after %d bytes: the caller disconnected (the Runtime API reset the "
                "connection); the handler's generator is closed",
                stream.sent,
                extra={"streamCancelled": True, "bytesSent": stream.sent},
            )
    finally:
        _close(stream.chunks)
    if isinstance(stream.error, Terminated):  # SIGTERM mid-stream: the stream is ended, now stop
        raise stream.error
    return failed, (time.monotonic() - started) * 1000


def _reset(error: BaseException) -> bool:
    """Whether a failed post was reset by the peer mid-body (its cause chain holds a reset or a broken pipe)."""
    seen: BaseException | None = error
    while seen is not None:
        if isinstance(seen, (ConnectionResetError, BrokenPipeError)):
            return True
        seen = seen.__cause__ or seen.__context__
    return any(isinstance(arg, (ConnectionResetError, BrokenPipeError)) for arg in error.args)


def _next_chunk(chunks: Iterator[Any]) -> bytes:
    """The next non-empty chunk as bytes (b"" at the end): an empty one would end the chunked body early."""
    for chunk in chunks:
        if isinstance(chunk, str):
            data = chunk.encode()
        elif isinstance(chunk, (bytes, bytearray, memoryview)):
            data = bytes(chunk)
        else:
            message = f"Unable to marshal response: a streamed chunk must be bytes or str, not {type(chunk).__name__}"
            raise InvocationError("Runtime.MarshalError", message)
        if data:
            return data
    return b""


def _close(chunks: Iterator[Any]) -> None:
    """Close a generator the stream did not exhaust, so its `finally` blocks run now, in this invocation."""
    close = getattr(chunks, "close", None)
    if close is not None:
        try:
            close()
        except Exception:
            logger.exception("Closing the response stream's generator failed")
