"""HTTP responses out: status, headers and body in the shape the event's source expects back.

Shapes: AWS docs "http-api-develop-integrations-lambda" (format 2.0: `cookies`, comma-joined headers),
"set-up-lambda-proxy-integrations" (REST: `headers` and `multiValueHeaders`), and the ELB guide's "lambda-functions"
(ALB: `statusDescription`; `multiValueHeaders` only in multi-value mode, `headers` only otherwise).
"""

from __future__ import annotations

import base64
from collections.abc import Iterable, Sequence
from http import HTTPStatus
from typing import Any

from lambda_runtime.web.events import HttpRequest

# Bodies of these types go out as text; anything else is binary and goes out base64-encoded.
TEXT_TYPES: tuple[str, ...] = (
    "text/",
    "application/json",
    "application/javascript",
    "application/xml",
    "application/problem+json",
    "application/vnd.api+json",
    "application/vnd.oai.openapi",
    "application/x-www-form-urlencoded",
    "image/svg+xml",
)
_TEXT_SUFFIXES = ("+json", "+xml")


def is_text(headers: Sequence[tuple[str, str]], text_types: Iterable[str]) -> bool:
    """Whether the body can go out as text: a textual content type and no content encoding (gzip is binary)."""
    content_type = ""
    for name, value in headers:
        if name.lower() == "content-encoding" and value.strip().lower() not in ("", "identity"):
            return False
        if name.lower() == "content-type":
            content_type = value.split(";")[0].strip().lower()
    return content_type.startswith(tuple(text_types)) or content_type.endswith(_TEXT_SUFFIXES)


def encode_body(body: bytes, text: bool) -> tuple[str, bool]:
    """The body as event text and whether it is base64; text that is not UTF-8 is sent as binary."""
    if not body:
        return "", False
    if text:
        try:
            return body.decode(), False
        except UnicodeDecodeError:
            pass
    return base64.b64encode(body).decode(), True


def lambda_response(
    request: HttpRequest, status: int, headers: Sequence[tuple[str, str]], body: bytes, text_types: Iterable[str]
) -> dict[str, Any]:
    """The result to return from the handler for `request`'s kind of event."""
    text, is_base64 = encode_body(body, is_text(headers, text_types))
    response: dict[str, Any] = {"statusCode": status}
    if request.kind in ("http-v2", "function-url"):
        joined, cookies = split_cookies(headers)
        response["headers"] = joined
        if cookies:
            response["cookies"] = cookies
    elif request.kind == "alb":
        response["statusDescription"] = _status_line(status)
        if request.multi_value:
            response["multiValueHeaders"] = _multi(headers)
        else:
            response["headers"] = _case_variants(_multi(headers))
    else:  # REST and HTTP API format 1.0 merge `headers` and `multiValueHeaders`; single values stay in `headers`
        multi = _multi(headers)
        response["headers"] = {name: values[0] for name, values in multi.items() if len(values) == 1}
        response["multiValueHeaders"] = {name: values for name, values in multi.items() if len(values) > 1}
    response["body"] = text
    response["isBase64Encoded"] = is_base64
    return response


def split_cookies(headers: Sequence[tuple[str, str]]) -> tuple[dict[str, str], list[str]]:
    """Headers as one comma-joined value per lower-case name, and the Set-Cookie values apart (format 2.0)."""
    joined: dict[str, str] = {}
    cookies = []
    for name, value in headers:
        name = name.lower()
        if name == "set-cookie":
            cookies.append(value)
        else:
            joined[name] = f"{joined[name]},{value}" if name in joined else value
    return joined, cookies


def plain_response(status: int, message: str) -> tuple[int, list[tuple[str, str]], bytes]:
    """A minimal text response, for when the app gave none."""
    body = message.encode()
    return status, [("content-type", "text/plain; charset=utf-8"), ("content-length", str(len(body)))], body


def _multi(headers: Sequence[tuple[str, str]]) -> dict[str, list[str]]:
    multi: dict[str, list[str]] = {}
    for name, value in headers:
        multi.setdefault(name.lower(), []).append(value)
    return multi


def _case_variants(multi: dict[str, list[str]]) -> dict[str, str]:
    """ALB without multi-value mode keeps one value per key, but its keys are case-sensitive: repeated headers
    (several Set-Cookie) survive as set-cookie, Set-cookie, sEt-cookie... (the trick Mangum's alb.py uses)."""
    single: dict[str, str] = {}
    for name, values in multi.items():
        for index, value in enumerate(values):
            single[_casing(name, index)] = value
    return single


def _casing(name: str, index: int) -> str:
    letters = [i for i, char in enumerate(name) if char.isalpha()]
    if index >= 2 ** len(letters):
        raise ValueError(f"too many {name!r} headers for an ALB response without multi-value headers")
    chars = list(name)
    for bit, position in enumerate(letters):
        if index >> bit & 1:
            chars[position] = chars[position].upper()
    return "".join(chars)


def _status_line(status: int) -> str:
    try:
        return f"{status} {HTTPStatus(status).phrase}"
    except ValueError:
        return str(status)
