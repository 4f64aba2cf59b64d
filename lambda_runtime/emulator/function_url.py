"""Function URLs, as the emulator plays them: the request as a payload-format-2.0 event, and the reply.

Event shape: AWS docs "urls-invocation" (request payload: ``rawPath``, ``cookies``, comma-joined ``headers``,
``requestContext.http``, base64 bodies flagged by ``isBase64Encoded``). Reply: a streamed HTTP-integration response
(``application/vnd.awslambda.http-integration-response``: a JSON prelude of ``statusCode``/``headers``/``cookies``,
8 NUL bytes, the body; the prelude within the first 16 KB), or a buffered result read as a function URL reads it.
"""

from __future__ import annotations

import base64
import binascii
import json
import time
import uuid
from typing import Any

from aiohttp import web

from lambda_runtime.emulator.invocation import Answer
from lambda_runtime.emulator.response_stream import ResponseStream

HTTP_INTEGRATION_TYPE = "application/vnd.awslambda.http-integration-response"
PRELUDE_LIMIT = 16 * 1024
_DELIMITER = b"\0" * 8
_TEXT_TYPES = ("text/", "application/json", "application/xml", "application/x-www-form-urlencoded")

Headers = list[tuple[str, str]]


def url_event(request: web.BaseRequest, path: str, body: bytes) -> dict[str, Any]:
    """The function URL event for ``request`` (``path``: the part after the emulator's prefix)."""
    headers: dict[str, str] = {}
    for name, value in request.headers.items():
        name = name.lower()
        if name != "cookie":
            headers[name] = f"{headers[name]},{value}" if name in headers else value
    query: dict[str, str] = {}
    for name, value in request.query.items():
        query[name] = f"{query[name]},{value}" if name in query else value
    now = time.time()
    event: dict[str, Any] = {
        "version": "2.0",
        "routeKey": "$default",
        "rawPath": path,
        "rawQueryString": request.query_string,
        "headers": headers,
        "requestContext": {
            "accountId": "anonymous",
            "apiId": "emulator",
            "domainName": request.host,
            "domainPrefix": request.host.split(".")[0],
            "http": {
                "method": request.method,
                "path": path,
                "protocol": f"HTTP/{request.version.major}.{request.version.minor}",
                "sourceIp": request.remote or "127.0.0.1",
                "userAgent": request.headers.get("User-Agent", ""),
            },
            "requestId": str(uuid.uuid4()),
            "routeKey": "$default",
            "stage": "$default",
            "time": time.strftime("%d/%b/%Y:%H:%M:%S +0000", time.gmtime(now)),
            "timeEpoch": int(now * 1000),
        },
        "isBase64Encoded": False,
    }
    cookies = [c.strip() for c in request.headers.get("Cookie", "").split(";") if c.strip()]
    if cookies:
        event["cookies"] = cookies
    if query:
        event["queryStringParameters"] = query
    if body:
        text = request.content_type.startswith(_TEXT_TYPES)
        try:
            event["body"] = body.decode() if text else base64.b64encode(body).decode()
            event["isBase64Encoded"] = not text
        except UnicodeDecodeError:
            event["body"], event["isBase64Encoded"] = base64.b64encode(body).decode(), True
    return event


async def read_prelude(stream: ResponseStream) -> tuple[int, Headers, bytes] | None:
    """(status, headers, the body bytes already read) from the stream's prelude; None if it is missing or bad."""
    seen = b""
    while _DELIMITER not in seen[: PRELUDE_LIMIT + len(_DELIMITER)]:
        if len(seen) > PRELUDE_LIMIT + len(_DELIMITER) or (chunks := await stream.chunks()) is None:
            return None
        seen += b"".join(chunks)
    raw, _, rest = seen.partition(_DELIMITER)
    try:
        prelude = json.loads(raw)
        return _status(prelude), _headers(prelude), rest
    except (ValueError, TypeError, AttributeError):
        return None


def buffered_reply(answer: Answer) -> web.Response:
    """A function URL's reply to a result that was not streamed (AWS docs "urls-invocation", response payload)."""
    if answer.failed:
        return web.json_response({"Message": "Internal Server Error"}, status=502)
    try:
        result = json.loads(answer.body)
    except ValueError:
        return web.Response(body=answer.body, content_type="application/json")
    if not isinstance(result, dict) or "statusCode" not in result:
        return web.Response(body=answer.body, content_type="application/json")
    try:
        body = result.get("body") or ""
        raw = base64.b64decode(body) if result.get("isBase64Encoded") else str(body).encode()
        response = web.Response(status=_status(result), body=raw)
        for name, value in _headers(result):
            response.headers.add(name, value)
    except (ValueError, TypeError, AttributeError, binascii.Error):
        return web.json_response({"Message": "Internal Server Error"}, status=502)
    return response


def _status(prelude: dict[str, Any]) -> int:
    status = prelude.get("statusCode", 200)
    if isinstance(status, bool) or not isinstance(status, int) or not 100 <= status <= 599:
        raise ValueError(f"bad statusCode {status!r}")
    return status


def _headers(prelude: dict[str, Any]) -> Headers:
    headers = [(str(name), str(value)) for name, value in (prelude.get("headers") or {}).items()]
    return headers + [("Set-Cookie", str(cookie)) for cookie in prelude.get("cookies") or []]
