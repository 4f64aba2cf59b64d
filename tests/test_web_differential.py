"""Differential: the same events through our adapters and through Mangum (ASGI) / apig-wsgi (WSGI).

Status, headers, cookies and body are compared. Every difference is listed in DELIBERATE with its reason, and the
test asserts that each listed difference really occurs, so the list cannot go stale.
"""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest
from apig_wsgi import make_lambda_handler
from fastapi import FastAPI, Request, Response
from fastapi.responses import PlainTextResponse
from flask import Flask, jsonify
from flask import request as flask_request
from mangum import Mangum

from lambda_runtime.web import asgi, wsgi
from tests.web_events import KINDS, event

PNG = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\xff\xfe"

api = FastAPI()


@api.get("/json")
async def json_endpoint():
    return {"a": 1, "text": "héllo"}


@api.get("/text")
async def text_endpoint():
    return PlainTextResponse("héllo")


@api.get("/png")
async def png_endpoint():
    return Response(PNG, media_type="image/png")


@api.get("/ld")
async def ld_endpoint():
    return Response('{"@id": 1}', media_type="application/ld+json")


@api.get("/cookies")
async def cookies_endpoint():
    response = Response("ok", media_type="text/plain", headers={"X-Custom": "yes"})
    response.set_cookie("a", "1")
    response.set_cookie("b", "2")
    return response


@api.get("/empty")
async def empty_endpoint():
    return Response(status_code=204)


@api.get("/echo")
async def echo_endpoint(request: Request):
    return {
        "query": sorted(request.query_params.multi_items()),
        "accept": request.headers.getlist("accept"),
        "cookies": request.cookies,
        "url": str(request.url),
        "client": request.client.host if request.client else None,
    }


@api.post("/body")
async def body_endpoint(request: Request):
    body = await request.body()
    return {"length": len(body), "type": request.headers.get("content-type"), "head": list(body[:4])}


@api.get("/note")
async def note_endpoint(request: Request):
    return {"note": request.headers.get("x-note"), "host": request.headers.get("host")}


@api.get("/api/items")
async def items_endpoint():
    return {"items": [1, 2]}


@api.get("/café")
async def cafe_endpoint(request: Request):
    return {"path": request.url.path}


@api.get("/boom")
async def boom_endpoint():
    raise RuntimeError("boom")


flask_app = Flask(__name__)


@flask_app.get("/json")
def flask_json():
    return jsonify(a=1, text="héllo")


@flask_app.get("/png")
def flask_png():
    return PNG, 200, {"Content-Type": "image/png"}


@flask_app.get("/cookies")
def flask_cookies():
    response = flask_app.make_response(("ok", 200, {"Content-Type": "text/plain", "X-Custom": "yes"}))
    response.set_cookie("a", "1")
    response.set_cookie("b", "2")
    return response


@flask_app.get("/echo")
def flask_echo():
    return jsonify(
        query=sorted(flask_request.args.items(multi=True)),
        accept=flask_request.headers.get("Accept"),
        cookies=flask_request.cookies,
        url=flask_request.url,
        client=flask_request.remote_addr,
    )


@flask_app.post("/body")
def flask_body():
    body = flask_request.get_data()
    return jsonify(length=len(body), type=flask_request.content_type, head=list(body[:4]))


@flask_app.get("/note")
def flask_note():
    return jsonify(note=flask_request.headers.get("x-note"), host=flask_request.headers.get("host"))


@flask_app.get("/api/items")
def flask_items():
    return jsonify(items=[1, 2])


@flask_app.get("/café")
def flask_cafe():
    return jsonify(path=flask_request.path)


@flask_app.get("/boom")
def flask_boom():
    raise RuntimeError("boom")


REQUESTS: dict[str, dict[str, Any]] = {
    "json": {"path": "/json"},
    "text": {"path": "/text"},
    "png": {"path": "/png"},
    "ld": {"path": "/ld"},
    "cookies": {"path": "/cookies"},
    "empty": {"path": "/empty"},
    "missing": {"path": "/missing"},
    "boom": {"path": "/boom"},
    "echo": {
        "path": "/echo",
        "query": {"q": ["a b", "c&d"], "x": ["1"]},
        "headers": {"accept": ["text/html", "application/json"]},
        "cookies": ["s=1", "t=2"],
    },
    "binary-body": {"path": "/body", "method": "POST", "body": PNG, "headers": {"content-type": ["image/png"]}},
    "staged": {"path": "/json", "stage": "v1", "kinds": {"http-v2", "rest"}},
    # A header value outside Latin-1 reaches the app (as a server hands over raw UTF-8 bytes).
    "emoji-header": {"path": "/note", "headers": {"x-note": ["ok \U0001f642"]}},
    # An HTTP API on a custom domain: the stage is mapped, not in the path, even when named like its first segment.
    "custom-domain-stage": {"path": "/api/items", "stage": "api", "domain": "api.example.com", "kinds": {"http-v2"}},
    # API Gateway may send multiValueHeaders as null: the single-value headers are then the request's headers.
    "null-multi-value-headers": {
        "path": "/note",
        "headers": {"x-note": ["kept"]},
        "null": ("multiValueHeaders", "multiValueQueryStringParameters"),
        "kinds": {"rest"},
    },
    "null-multi-value-query": {
        "path": "/echo",
        "query": {"q": ["1"]},
        "null": ("multiValueQueryStringParameters",),
        "kinds": {"rest"},
    },
    # A path outside ASCII, as ALB and REST deliver it (decoded).
    "non-ascii-path": {"path": "/café", "kinds": {"rest", "alb", "alb-multi"}},
}

# (adapter, kind, request, field) -> why ours differs. "*" matches any kind or request.
DELIBERATE: dict[tuple[str, str, str, str], str] = {
    # Mangum gives an HTTP API v2 response without content-type "application/json"; we never invent one.
    ("asgi", "http-v2", "empty", "headers"): "no invented content-type",
    ("asgi", "function-url", "empty", "headers"): "no invented content-type",
    # ALB wants a status line; Mangum and apig-wsgi leave it out.
    ("asgi", "alb", "*", "statusDescription"): "ALB statusDescription",
    ("asgi", "alb-multi", "*", "statusDescription"): "ALB statusDescription",
    ("wsgi", "alb", "*", "statusDescription"): "ALB statusDescription",
    ("wsgi", "alb-multi", "*", "statusDescription"): "ALB statusDescription",
    # Repeated request headers stay separate in the ASGI scope (as uvicorn gives them); Mangum joins them.
    ("asgi", "rest", "echo", "body"): "multi-value Accept stays two headers; the URL keeps the stage",
    ("asgi", "alb-multi", "echo", "body"): "multi-value Accept stays two headers",
    # A named HTTP API stage is the root path: the app routes /v1/json to /json. Mangum and apig-wsgi answer 404.
    ("asgi", "http-v2", "staged", "status"): "named stage is the root path",
    ("asgi", "http-v2", "staged", "body"): "named stage is the root path",
    ("wsgi", "http-v2", "staged", "status"): "named stage is the root path",
    ("wsgi", "http-v2", "staged", "body"): "named stage is the root path",
    ("wsgi", "http-v2", "staged", "headers"): "named stage is the root path",
    # REST: the stage is in the URL the client used; request.url keeps it (Mangum and apig-wsgi drop it).
    ("wsgi", "rest", "echo", "body"): "request.url keeps the REST stage",
    # ALB without multi-value headers: apig-wsgi keeps one Set-Cookie; we keep both as case variants, like Mangum.
    ("wsgi", "alb", "cookies", "cookies"): "every Set-Cookie survives",
    # REST with "multiValueHeaders": null: the request keeps its headers from "headers"; apig-wsgi drops them all.
    ("wsgi", "rest", "null-multi-value-headers", "body"): "headers kept when multiValueHeaders is null",
    # The same for the query; and REMOTE_ADDR is the caller's sourceIp (apig-wsgi: 127.0.0.1 without X-Forwarded-For).
    ("wsgi", "rest", "null-multi-value-query", "body"): "query kept when multiValueQueryStringParameters is null",
    # PEP 3333: environ strings are Latin-1 decoded bytes; apig-wsgi passes the text as is, Werkzeug garbles it: 404.
    ("wsgi", "*", "non-ascii-path", "status"): "a path outside ASCII reaches a WSGI app (PEP 3333)",
    ("wsgi", "*", "non-ascii-path", "headers"): "a path outside ASCII reaches a WSGI app (PEP 3333)",
    ("wsgi", "*", "non-ascii-path", "body"): "a path outside ASCII reaches a WSGI app (PEP 3333)",
    # Text types: we also treat +json/+xml suffixes as text; Mangum sends those base64-encoded (same bytes).
    ("asgi", "*", "ld", "isBase64Encoded"): "application/ld+json is text (+json suffix); Mangum sends it base64",
}


def context() -> Any:
    return type("Context", (), {"aws_request_id": "diff", "get_remaining_time_in_millis": lambda self: 30_000})()


def response_headers(response: dict[str, Any]) -> dict[str, list[str]]:
    """Every header of a proxy response, lower-cased, single- and multi-value alike."""
    headers: dict[str, list[str]] = {}
    for name, value in (response.get("headers") or {}).items():
        headers.setdefault(name.lower(), []).append(value)
    for name, values in (response.get("multiValueHeaders") or {}).items():
        headers.setdefault(name.lower(), []).extend(values)
    return headers


def normalise(response: dict[str, Any]) -> dict[str, Any]:
    headers = response_headers(response)
    cookies = sorted(response.get("cookies") or []) + sorted(headers.pop("set-cookie", []))
    body = response.get("body") or ""
    raw = base64.b64decode(body) if response.get("isBase64Encoded") else body.encode()
    return {
        "status": response["statusCode"],
        "headers": {name: sorted(values) for name, values in headers.items() if name != "content-length"},
        "cookies": cookies,
        "body": raw,
        "isBase64Encoded": bool(response.get("isBase64Encoded")) and bool(raw),
        "statusDescription": response.get("statusDescription"),
    }


def deliberate(adapter: str, kind: str, name: str, field: str) -> str | None:
    for key in ((adapter, kind, name, field), (adapter, kind, "*", field), (adapter, "*", name, field)):
        if key in DELIBERATE:
            return DELIBERATE[key]
    return None


ours_asgi = asgi(api, lifespan="off")
mangum = Mangum(api, lifespan="off")
ours_wsgi = wsgi(flask_app)
apig = make_lambda_handler(flask_app, binary_support=True)
FLASK_ROUTES = {
    "json",
    "png",
    "cookies",
    "echo",
    "binary-body",
    "boom",
    "missing",
    "staged",
    "emoji-header",
    "custom-domain-stage",
    "null-multi-value-headers",
    "null-multi-value-query",
    "non-ascii-path",
}


def applies(name: str, kind: str) -> bool:
    return kind in REQUESTS[name].get("kinds", {kind})


def differences(adapter: str, kind: str) -> dict[tuple[str, str], tuple[Any, Any]]:
    """(request, field) -> (ours, theirs) for every field that differs on this adapter and event kind."""
    ours, theirs = (ours_asgi, mangum) if adapter == "asgi" else (ours_wsgi, apig)
    found = {}
    for name, request in REQUESTS.items():
        if adapter == "wsgi" and name not in FLASK_ROUTES:
            continue
        if not applies(name, kind):
            continue
        options = dict(request)
        path, method = options.pop("path"), options.pop("method", "GET")
        options.pop("kinds", None)
        if name == "echo" and kind == "rest":
            options["stage"] = "prod"
        raw_event = event(kind, method, path, **options)
        mine = normalise(ours(json.loads(json.dumps(raw_event)), context()))
        other = normalise(theirs(json.loads(json.dumps(raw_event)), context()))
        found.update({(name, field): (mine[field], other[field]) for field in mine if mine[field] != other[field]})
    return found


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("adapter", ["asgi", "wsgi"])
def test_same_events_same_responses_except_the_deliberate_differences(adapter, kind):
    found = differences(adapter, kind)
    unexpected = {key: values for key, values in found.items() if deliberate(adapter, kind, *key) is None}
    assert not unexpected, f"{adapter} {kind}: undeclared differences (ours, theirs): {unexpected}"
    names = {name for name, _ in found} | set(REQUESTS)
    for a, k, name, field in DELIBERATE:
        if a != adapter or k not in (kind, "*") or (name != "*" and name not in names):
            continue
        if name != "*" and not applies(name, kind):
            continue
        assert any(f == field and name in ("*", n) for n, f in found), f"{adapter} {kind} {name} {field}: not seen"
