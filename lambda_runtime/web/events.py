"""HTTP events in: API Gateway REST (v1), HTTP API (v1 and v2), function URLs and ALB, read into one `HttpRequest`.

Event shapes: AWS docs "http-api-develop-integrations-lambda" (payload formats 1.0 and 2.0),
"set-up-lambda-proxy-integrations" (REST), "urls-invocation" (function URLs, format 2.0) and
"lambda-functions" in the ELB guide (ALB, with and without multi-value headers).
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Mapping
from typing import Any
from urllib.parse import unquote, urlencode

from lambda_runtime.errors import InvocationError

SUPPORTED = (
    "API Gateway REST API (payload 1.0), API Gateway HTTP API (payload 1.0 or 2.0), Lambda function URL, "
    "Application Load Balancer"
)


class UnsupportedEvent(InvocationError):
    """The event is none of the HTTP kinds the web adapters read; the message names them."""

    def __init__(self, message: str) -> None:
        super().__init__("Web.UnsupportedEvent", message)


class MalformedEvent(InvocationError):
    """The event looks like a known HTTP kind but lacks a field that kind always has."""

    def __init__(self, message: str) -> None:
        super().__init__("Web.MalformedEvent", message)


class HttpRequest:
    """One HTTP request as the app should see it, whatever event carried it."""

    def __init__(
        self,
        kind: str,
        method: str,
        path: str,
        root_path: str,
        query_string: str,
        headers: list[tuple[str, str]],
        body: bytes,
        source_ip: str,
        multi_value: bool,
        raw_path: str | None = None,
    ) -> None:
        self.kind = kind  # "rest" | "http-v1" | "http-v2" | "function-url" | "alb"
        self.method = method
        self.path = path  # decoded, starting with root_path (as ASGI servers give it)
        self.root_path = root_path  # the stage or mount prefix, "" when there is none
        self.raw_path = raw_path  # the path as the client sent it (still percent-encoded), when the event has it
        self.query_string = query_string  # percent-encoded, without "?"
        self.headers = headers  # lower-case names, one pair per value, in event order
        self.body = body
        self.source_ip = source_ip
        self.multi_value = multi_value  # the response must use multiValueHeaders (REST/ALB multi-value mode)

    def header(self, name: str, default: str = "") -> str:
        """The last value of header `name` (lower case), like apig-wsgi and most proxies."""
        for key, value in reversed(self.headers):
            if key == name:
                return value
        return default

    @property
    def scheme(self) -> str:
        return self.header("x-forwarded-proto", "https")

    @property
    def server(self) -> tuple[str, int]:
        host = self.header("host", "localhost")
        name, _, port = host.partition(":")
        default = "443" if self.scheme == "https" else "80"
        port = port or self.header("x-forwarded-port", default)
        return name, int(port) if port.isdigit() else int(default)


def read_event(event: Any, root_path: str | None = None) -> HttpRequest:
    """Recognise the event's kind and read it; `root_path` None means: the API Gateway stage, if any."""
    if not isinstance(event, Mapping):
        raise UnsupportedEvent(f"expected an HTTP event ({SUPPORTED}); got {type(event).__name__}")
    context = event.get("requestContext")
    try:
        if isinstance(context, Mapping) and "elb" in context:
            request = _alb(event)
        elif event.get("version") == "2.0" and isinstance(context, Mapping) and "http" in context:
            request = _payload_v2(event, context)
        elif "httpMethod" in event and isinstance(context, Mapping):
            request = _payload_v1(event, context)
        else:
            keys = ", ".join(sorted(str(key) for key in event)[:12]) or "none"
            raise UnsupportedEvent(f"expected an HTTP event ({SUPPORTED}); got an event with keys: {keys}")
    except (KeyError, TypeError, AttributeError, ValueError, binascii.Error) as error:
        if isinstance(error, UnsupportedEvent):
            raise
        raise MalformedEvent(f"malformed HTTP event: {type(error).__name__}: {error}") from None
    if root_path is not None:
        _mount(request, root_path)
    return request


def _payload_v1(event: Mapping[str, Any], context: Mapping[str, Any]) -> HttpRequest:
    multi_value = _is_multi_value(event)
    headers = _headers_v1(event)
    path = event.get("path") or "/"
    # REST APIs strip the stage (or custom-domain base path) from `path`; requestContext.path keeps it.
    full = context.get("path") or path
    root_path = full[: -len(path)] if len(full) > len(path) and full.endswith(path) else ""
    params = event.get("multiValueQueryStringParameters") or event.get("queryStringParameters") or {}
    return HttpRequest(
        kind="http-v1" if event.get("version") == "1.0" else "rest",
        method=event["httpMethod"],
        path=unquote(root_path + path),
        root_path=unquote(root_path),
        query_string=urlencode(params, doseq=True),
        headers=headers,
        body=_body(event),
        source_ip=(context.get("identity") or {}).get("sourceIp") or "",
        multi_value=multi_value,
    )


def _payload_v2(event: Mapping[str, Any], context: Mapping[str, Any]) -> HttpRequest:
    http = context["http"]
    headers = [(str(key).lower(), str(value)) for key, value in (event.get("headers") or {}).items()]
    if event.get("cookies"):
        # Format 2.0 moves the Cookie header into a list (AWS docs: "cookies" field); join it back.
        headers = [pair for pair in headers if pair[0] != "cookie"]
        headers.append(("cookie", "; ".join(event["cookies"])))
    raw_path = event.get("rawPath") or http.get("path") or "/"
    stage = context.get("stage") or "$default"
    domain = str(context.get("domainName") or "")
    root_path = ""
    if (
        stage != "$default"
        and _stage_in_path(domain)
        and (raw_path == f"/{stage}" or raw_path.startswith(f"/{stage}/"))
    ):
        root_path = f"/{stage}"  # a named HTTP API stage stays in rawPath
    return HttpRequest(
        kind="function-url" if ".lambda-url." in domain else "http-v2",
        method=http["method"],
        path=unquote(raw_path),
        root_path=root_path,
        raw_path=raw_path,
        query_string=event.get("rawQueryString") or "",
        headers=headers,
        body=_body(event),
        source_ip=http.get("sourceIp") or "",
        multi_value=False,
    )


def _stage_in_path(domain: str) -> bool:
    """Whether a named HTTP API stage is the first segment of the path: on the API's own execute-api domain it is
    (https://{api-id}.execute-api.{region}.amazonaws.com/{stage}/...); a custom domain maps the stage through its API
    mapping, and the path is the client's own (AWS docs "http-api-mappings"). Without a domain, as on execute-api."""
    return not domain or domain.endswith(".amazonaws.com") or ".execute-api." in domain


def _alb(event: Mapping[str, Any]) -> HttpRequest:
    multi_value = _is_multi_value(event)
    headers = _headers_v1(event)
    # ALB passes the query string still percent-encoded (ELB guide: "You must decode them in your Lambda function").
    params = event.get("multiValueQueryStringParameters") or event.get("queryStringParameters") or {}
    pairs = [(key, value) for key, values in params.items() for value in _as_list(values)]
    forwarded = next((value for key, value in reversed(headers) if key == "x-forwarded-for"), "")
    return HttpRequest(
        kind="alb",
        method=event["httpMethod"],
        path=unquote(event.get("path") or "/"),
        root_path="",
        raw_path=event.get("path") or "/",
        query_string="&".join(f"{key}={value}" for key, value in pairs),
        headers=headers,
        body=_body(event),
        source_ip=forwarded.split(",")[0].strip(),
        multi_value=multi_value,
    )


def _is_multi_value(event: Mapping[str, Any]) -> bool:
    """REST always sends `multiValueHeaders` (null when there are none); ALB only in multi-value mode."""
    return isinstance(event.get("multiValueHeaders"), Mapping)


def _headers_v1(event: Mapping[str, Any]) -> list[tuple[str, str]]:
    multi = event.get("multiValueHeaders")
    if isinstance(multi, Mapping) and (multi or not event.get("headers")):
        # REST/ALB multi-value mode: it holds every header, single ones included
        return [(str(key).lower(), str(value)) for key, values in multi.items() for value in _as_list(values)]
    return [(str(key).lower(), str(value)) for key, value in (event.get("headers") or {}).items()]


def _as_list(values: Any) -> list[Any]:
    return list(values) if isinstance(values, (list, tuple)) else [values]


def _body(event: Mapping[str, Any]) -> bytes:
    body = event.get("body") or ""
    if event.get("isBase64Encoded"):
        return base64.b64decode(body, validate=True)
    return body.encode() if isinstance(body, str) else bytes(body)


def _mount(request: HttpRequest, root_path: str) -> None:
    """Apply an explicit mount prefix: the path keeps it (or gains it, when the proxy stripped it)."""
    root_path = "/" + root_path.strip("/") if root_path.strip("/") else ""
    if root_path and not (request.path == root_path or request.path.startswith(root_path + "/")):
        request.path = root_path + request.path
    request.root_path = root_path
