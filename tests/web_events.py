"""Builders for the HTTP events Lambda delivers, shaped after the AWS docs' examples (trimmed to what matters)."""

from __future__ import annotations

import base64
import json
from typing import Any
from urllib.parse import quote

KINDS = ("rest", "http-v2", "function-url", "alb", "alb-multi")


def event(
    kind: str,
    method: str = "GET",
    path: str = "/",
    *,
    query: dict[str, list[str]] | None = None,
    headers: dict[str, list[str]] | None = None,
    cookies: list[str] | None = None,
    body: bytes | str | Any = b"",
    stage: str | None = None,
    domain: str | None = None,
    null: tuple[str, ...] = (),
) -> dict[str, Any]:
    """One event of `kind` for the request; `body` that is neither bytes nor str is sent as JSON.

    `domain`: the HTTP API's custom domain (its stage is then not in the path); `null`: top-level fields sent as
    null, as API Gateway may send them."""
    built = _event(kind, method, path, query, headers, cookies, body, stage, domain)
    built.update(dict.fromkeys(null))
    return built


def _event(
    kind: str,
    method: str,
    path: str,
    query: dict[str, list[str]] | None,
    headers: dict[str, list[str]] | None,
    cookies: list[str] | None,
    body: bytes | str | Any,
    stage: str | None,
    domain: str | None,
) -> dict[str, Any]:
    query = query or {}
    headers = {"host": ["example.com"], "x-forwarded-proto": ["https"], **(headers or {})}
    if not isinstance(body, (bytes, str)):
        body = json.dumps(body)
        headers.setdefault("content-type", ["application/json"])
    raw = body.encode() if isinstance(body, str) else body
    binary = not _is_utf8(raw)
    text_body = base64.b64encode(raw).decode() if binary else raw.decode()
    if cookies:
        headers["cookie"] = ["; ".join(cookies)]
    if kind == "rest":
        prefix = f"/{stage}" if stage else ""
        return {
            "resource": "/{proxy+}",
            "path": path,
            "httpMethod": method,
            "headers": {k: v[-1] for k, v in headers.items()},
            "multiValueHeaders": headers,
            "queryStringParameters": {k: v[-1] for k, v in query.items()} or None,
            "multiValueQueryStringParameters": query or None,
            "pathParameters": {"proxy": path.lstrip("/")},
            "stageVariables": None,
            "requestContext": {
                "resourcePath": "/{proxy+}",
                "httpMethod": method,
                "path": prefix + path,
                "stage": stage or "prod",
                "identity": {"sourceIp": "203.0.113.7"},
                "requestId": "c6af9ac6-7b61-11e6-9a41-93e8deadbeef",
            },
            "body": text_body or None,
            "isBase64Encoded": binary,
        }
    if kind in ("http-v2", "function-url"):
        # On the API's own execute-api domain a named stage is the first path segment; a custom domain maps it.
        raw_path = (f"/{stage}" if stage and not domain else "") + quote(path)
        if kind == "function-url":
            domain = "abc123.lambda-url.us-east-1.on.aws"
        domain = domain or "abc123.execute-api.us-east-1.amazonaws.com"
        single = {k: ",".join(v) for k, v in headers.items() if k != "cookie"}
        single["host"] = domain if kind == "function-url" else single["host"]
        out: dict[str, Any] = {
            "version": "2.0",
            "routeKey": "$default",
            "rawPath": raw_path,
            "rawQueryString": "&".join(f"{quote(k)}={quote(v)}" for k, vs in query.items() for v in vs),
            "headers": single,
            "requestContext": {
                "domainName": domain,
                "http": {"method": method, "path": raw_path, "protocol": "HTTP/1.1", "sourceIp": "203.0.113.7"},
                "requestId": "id",
                "routeKey": "$default",
                "stage": stage or "$default",
            },
            "body": text_body or None,
            "isBase64Encoded": binary,
        }
        if cookies:
            out["cookies"] = cookies
        if query:
            out["queryStringParameters"] = {k: ",".join(v) for k, v in query.items()}
        return out
    if kind in ("alb", "alb-multi"):
        headers = {"x-forwarded-for": ["203.0.113.7"], **headers}
        encoded = {quote(k): [quote(v) for v in vs] for k, vs in query.items()}
        out = {
            "requestContext": {"elb": {"targetGroupArn": "arn:aws:elasticloadbalancing:us-east-1:1:targetgroup/t/1"}},
            "httpMethod": method,
            "path": path,
            "body": text_body,
            "isBase64Encoded": binary,
        }
        if kind == "alb-multi":
            out["multiValueHeaders"] = headers
            out["multiValueQueryStringParameters"] = encoded
        else:
            out["headers"] = {k: v[-1] for k, v in headers.items()}
            out["queryStringParameters"] = {k: v[-1] for k, v in encoded.items()}
        return out
    raise ValueError(kind)


def _is_utf8(raw: bytes) -> bool:
    try:
        raw.decode()
    except UnicodeDecodeError:
        return False
    return True
