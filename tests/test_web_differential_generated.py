"""Generated differential: web events of every source, with the fields API Gateway may omit or send as null.

Hypothesis builds each event (API Gateway REST, HTTP API 2.0, function URL, ALB with and without multi-value
headers): method, path, query, headers, cookies, body, stage, and for each optional field one of: as sent, absent,
null, empty. Our adapters and Mangum / apig-wsgi answer it through an app that echoes what it received. Each pair
is classified:

- ok: the same response;
- better: a difference that `docs/compatibility-web.md` lists as deliberate (each is neutralised by a named explanation
  below, and asserted on both sides by tests/test_web_differential.py), or they fail where we answer;
- worse: we fail (500, or an error) where they answer, or an unexplained difference;
- bug: our adapter raises something other than its own `Web.*` errors.

The test fails on any "worse" or "bug", with the shrunk event. `pytest -s` prints the counts.
"""

from __future__ import annotations

import base64
import copy
import json
from collections import Counter
from collections.abc import Callable
from typing import Any

import pytest
from apig_wsgi import make_lambda_handler
from flask import Flask, jsonify
from flask import request as flask_request
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from mangum import Mangum
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from lambda_runtime.web import asgi, wsgi
from lambda_runtime.web.events import MalformedEvent, UnsupportedEvent
from tests.test_web_differential import response_headers
from tests.web_events import KINDS, event

EXAMPLES = 120


async def echo(request: Request) -> JSONResponse:
    body = await request.body()
    headers: dict[str, list[str]] = {}
    for name, value in request.headers.items():
        if name.startswith("x-") and name != "x-forwarded-for":
            headers.setdefault(name, []).append(value)
    return JSONResponse(
        {
            "method": request.method,
            "route": request.scope["path"][len(request.scope.get("root_path", "")) :]
            if request.scope["path"].startswith(request.scope.get("root_path", ""))
            else request.scope["path"],
            "root_path": request.scope.get("root_path", ""),
            "query": sorted(request.query_params.multi_items()),
            "headers": headers,
            "cookies": request.cookies,
            "body": base64.b64encode(body).decode(),
        }
    )


starlette_app = Starlette(routes=[Route("/{path:path}", echo, methods=["GET", "POST", "PUT", "DELETE"])])
flask_app = Flask(__name__)


@flask_app.route("/", defaults={"path": ""}, methods=["GET", "POST", "PUT", "DELETE"])
@flask_app.route("/<path:path>", methods=["GET", "POST", "PUT", "DELETE"])
def flask_echo(path: str) -> Any:
    headers: dict[str, list[str]] = {}
    for name, value in flask_request.headers.items():
        name = name.lower()
        if name.startswith("x-") and name != "x-forwarded-for":
            headers.setdefault(name, []).append(value)
    return jsonify(
        method=flask_request.method,
        route=flask_request.path,
        root_path=flask_request.script_root,
        query=sorted(flask_request.args.items(multi=True)),
        headers=headers,
        cookies=flask_request.cookies,
        body=base64.b64encode(flask_request.get_data()).decode(),
    )


ADAPTERS: dict[str, tuple[Callable[..., Any], Callable[..., Any]]] = {
    "asgi": (asgi(starlette_app, lifespan="off"), Mangum(starlette_app, lifespan="off")),
    "wsgi": (wsgi(flask_app), make_lambda_handler(flask_app, binary_support=True)),
}

# Fields API Gateway, a function URL or an ALB may leave out or send as null, per source (AWS docs
# "set-up-lambda-proxy-integrations", "http-api-develop-integrations-lambda", "urls-invocation", and the ELB guide's
# "lambda-functions").
OPTIONAL: dict[str, tuple[str, ...]] = {
    "rest": (
        "headers",
        "multiValueHeaders",
        "queryStringParameters",
        "multiValueQueryStringParameters",
        "pathParameters",
        "stageVariables",
        "body",
        "isBase64Encoded",
        "requestContext.identity",
        "requestContext.path",
    ),
    "http-v2": (
        "headers",
        "cookies",
        "queryStringParameters",
        "rawQueryString",
        "pathParameters",
        "stageVariables",
        "body",
        "isBase64Encoded",
        "requestContext.domainName",
        "requestContext.http.sourceIp",
    ),
    "function-url": (
        "headers",
        "cookies",
        "queryStringParameters",
        "rawQueryString",
        "body",
        "isBase64Encoded",
        "requestContext.http.sourceIp",
    ),
    "alb": ("headers", "queryStringParameters", "body", "isBase64Encoded"),
    "alb-multi": ("multiValueHeaders", "multiValueQueryStringParameters", "body", "isBase64Encoded"),
}
FATES = ("keep", "absent", "null", "empty")

# Printable text, as API Gateway delivers it: no control characters (a header cannot carry them).
text = st.text(st.characters(blacklist_categories=("Cc", "Cs", "Zl", "Zp")), min_size=1, max_size=8)
token = st.text("abcdefghijklmnopqrstuvwxyz0123456789-", min_size=1, max_size=6)
path_segment = st.text(st.characters(blacklist_categories=("Cc", "Cs", "Zl", "Zp"), blacklist_characters="/?#%"))


@st.composite
def requests_of(draw: st.DrawFn, kind: str) -> dict[str, Any]:
    method = draw(st.sampled_from(["GET", "POST", "PUT", "DELETE"]))
    path = "/" + "/".join(draw(st.lists(path_segment.filter(bool), max_size=3)))
    headers = draw(st.dictionaries(token.map(lambda t: f"x-{t}"), st.lists(text, min_size=1, max_size=2), max_size=3))
    options: dict[str, Any] = {
        "query": draw(st.dictionaries(token, st.lists(text, min_size=1, max_size=2), max_size=3)),
        "headers": headers,
        "cookies": draw(st.lists(st.builds("{}={}".format, token, token), max_size=2)) or None,
        "body": draw(st.one_of(st.just(b""), st.binary(max_size=16), text)) if method != "GET" else b"",
    }
    if kind in ("rest", "http-v2"):
        options["stage"] = draw(st.sampled_from([None, "prod", "api"]))
    if kind == "http-v2" and options["stage"] and draw(st.booleans()):
        options["domain"] = "api.example.com"  # a custom domain: the stage is mapped, not in the path
    built = event(kind, method, path, **options)
    for field in OPTIONAL[kind]:
        fate = draw(st.sampled_from(FATES))
        _apply(built, field, fate)
    return built


def _apply(built: dict[str, Any], field: str, fate: str) -> None:
    *parents, name = field.split(".")
    holder = built
    for parent in parents:
        holder = holder.get(parent) or {}
    if fate == "keep" or name not in holder:
        return
    if fate == "absent":
        del holder[name]
    elif fate == "null":
        holder[name] = None
    else:
        value = holder[name]
        holder[name] = type(value)() if isinstance(value, (dict, list, str)) else value


def context() -> Any:
    return type("Context", (), {"aws_request_id": "gen", "get_remaining_time_in_millis": lambda self: 30_000})()


def answer(handler: Callable[..., Any], raw: dict[str, Any]) -> dict[str, Any] | BaseException:
    try:
        return normalise(handler(copy.deepcopy(raw), context()))
    except Exception as error:
        return error


def normalise(response: dict[str, Any]) -> dict[str, Any]:
    headers = response_headers(response)
    body = response.get("body") or ""
    raw = base64.b64decode(body) if response.get("isBase64Encoded") else body.encode()
    try:
        echoed = json.loads(raw) if response["statusCode"] == 200 else raw
    except ValueError:
        echoed = raw
    return {
        "status": response["statusCode"],
        "content-type": headers.get("content-type"),
        "body": echoed,
    }  # not statusDescription: our ALB answers always carry it (tests/test_web_differential.py asserts it)


# Deliberate differences (docs/compatibility-web.md), each neutralised on both answers: name -> (applies, neutralise).
Neutralise = Callable[[dict[str, Any], dict[str, Any]], None]


def _echo(fn: Neutralise) -> Neutralise:
    def apply(response: dict[str, Any], raw: dict[str, Any]) -> None:
        if isinstance(response.get("body"), dict):
            fn(response["body"], raw)

    return apply


def _join_repeated(body: dict[str, Any], raw: dict[str, Any]) -> None:
    body["headers"] = {name: [", ".join(values)] for name, values in body["headers"].items()}


def _raw_path(raw: dict[str, Any]) -> str:
    return str(raw.get("rawPath") or raw.get("path") or "")


def _forget_route(body: dict[str, Any], raw: dict[str, Any]) -> None:
    body["route"] = body["root_path"] = ""


def _forget_query(body: dict[str, Any], raw: dict[str, Any]) -> None:
    body["query"] = []


def _forget_headers(body: dict[str, Any], raw: dict[str, Any]) -> None:
    body["headers"], body["cookies"] = {}, {}


def _stage_prefix(raw: dict[str, Any]) -> str:
    """The stage (or base path) in the URL the client used, as this source carries it; "" if none."""
    context_ = raw.get("requestContext") or {}
    if raw.get("version") == "2.0":
        stage, domain = context_.get("stage") or "$default", context_.get("domainName") or ""
        in_path = not domain or domain.endswith(".amazonaws.com")
        raw_path = raw.get("rawPath") or ""
        if stage != "$default" and in_path and (raw_path == f"/{stage}" or raw_path.startswith(f"/{stage}/")):
            return f"/{stage}"
        return ""
    full, path = context_.get("path") or "", raw.get("path") or "/"
    return full[: -len(path)] if len(full) > len(path) and full.endswith(path) else ""


def _stage_as_root_path(body: dict[str, Any], raw: dict[str, Any]) -> None:
    # Where the app is mounted is said by us (root_path), by the path itself (Mangum on a named HTTP API stage),
    # or not at all (REST stage dropped): compare the route below the stage.
    prefix = _stage_prefix(raw)
    route = body["root_path"] + body["route"] if body["root_path"] else body["route"]
    if prefix and (route == prefix or route.startswith(prefix + "/")):
        route = route[len(prefix) :] or "/"
    body["route"], body["root_path"] = route, ""


EXPLANATIONS: dict[str, tuple[Callable[[str, str, dict[str, Any]], bool], Neutralise]] = {
    "repeated request headers stay separate in the ASGI scope": (
        lambda a, k, raw: a == "asgi",
        _echo(_join_repeated),
    ),
    "the API Gateway stage is the root path": (lambda a, k, raw: bool(_stage_prefix(raw)), _echo(_stage_as_root_path)),
    # PEP 3333: environ strings are Latin-1 decoded bytes, so a UTF-8 path reaches Flask intact; apig-wsgi passes the
    # text as it is, and Werkzeug's decoding garbles it into U+FFFD.
    "non-ASCII paths reach a WSGI app intact (PEP 3333)": (
        lambda a, k, raw: a == "wsgi" and not _raw_path(raw).isascii(),
        _echo(_forget_route),
    ),
    # The same for the query: apig-wsgi reads only multiValueQueryStringParameters when the key is there.
    "the query is kept when multiValueQueryStringParameters is null or empty": (
        lambda a, k, raw: (
            "multiValueQueryStringParameters" in raw
            and not raw["multiValueQueryStringParameters"]
            and bool(raw.get("queryStringParameters"))
        ),
        _echo(_forget_query),
    ),
    # apig-wsgi reads only multiValueHeaders when the key is there, null or not: it then sees no header at all.
    "the headers are kept when multiValueHeaders is null or empty": (
        lambda a, k, raw: "multiValueHeaders" in raw and not raw["multiValueHeaders"] and bool(raw.get("headers")),
        _echo(_forget_headers),
    ),
}


def classify(adapter: str, kind: str, raw: dict[str, Any]) -> tuple[str, str]:
    ours_handler, theirs_handler = ADAPTERS[adapter]
    ours, theirs = answer(ours_handler, raw), answer(theirs_handler, raw)
    if isinstance(ours, BaseException):
        if not isinstance(ours, (UnsupportedEvent, MalformedEvent)):
            return "bug", f"ours raised {type(ours).__name__}: {ours}"
        if isinstance(theirs, BaseException) or theirs["status"] >= 500:
            return "ok", "both refuse the event"
        return "worse", f"ours refused the event ({ours}); theirs answered {theirs['status']}"
    if isinstance(theirs, BaseException) or (theirs["status"] >= 500 and ours["status"] < 500):
        failure = type(theirs).__name__ if isinstance(theirs, BaseException) else f"status {theirs['status']}"
        return "better", f"theirs failed ({failure}) where we answer"
    if ours == theirs:
        return "ok", ""
    if ours["status"] >= 500:
        return "worse", f"ours answered {ours['status']}, theirs {theirs['status']}"
    reasons = []
    for reason, (applies, neutralise) in EXPLANATIONS.items():
        if applies(adapter, kind, raw):
            before = copy.deepcopy((ours, theirs))
            neutralise(ours, raw)
            neutralise(theirs, raw)
            if (ours, theirs) != before:
                reasons.append(reason)
            if ours == theirs:
                return "better", "; ".join(reasons)
    return "worse", f"unexplained difference: ours {ours}, theirs {theirs}"


TALLY: Counter[tuple[str, str, str]] = Counter()
REASONS: Counter[str] = Counter()


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("adapter", ["asgi", "wsgi"])
def test_generated_events_are_answered_as_well_as_mangum_and_apig_wsgi_answer_them(adapter, kind):
    @settings(
        max_examples=EXAMPLES,
        derandomize=True,
        database=None,
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
    )
    @given(requests_of(kind))
    def check(raw: dict[str, Any]) -> None:
        verdict, why = classify(adapter, kind, raw)
        TALLY[(adapter, kind, verdict)] += 1
        if verdict == "better":
            REASONS[why] += 1
        assert verdict not in ("worse", "bug"), f"{verdict}: {why}\nevent: {json.dumps(raw)}"

    check()


def test_print_the_tally():
    """The counts per adapter and source, and the reasons for "better" (run with -s to see them)."""
    print()
    for adapter in ADAPTERS:
        for kind in KINDS:
            counts = {verdict: TALLY[(adapter, kind, verdict)] for verdict in ("ok", "better", "worse", "bug")}
            print(f"{adapter:5} {kind:13} {counts}")
    total = Counter()
    for (_, _, verdict), count in TALLY.items():
        total[verdict] += count
    print(f"total {dict(total)}")
    for reason, count in REASONS.most_common():
        print(f"better, {count:4}: {reason}")
    assert total["worse"] == total["bug"] == 0
