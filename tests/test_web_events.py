"""lambda_runtime.web.events: each event kind read into one HttpRequest (pure functions, no runtime)."""

from __future__ import annotations

import base64

import pytest

from lambda_runtime.web.events import MalformedEvent, UnsupportedEvent, read_event
from tests.web_events import KINDS, event


@pytest.mark.parametrize(
    ("kind", "expected"),
    [("rest", "rest"), ("http-v2", "http-v2"), ("function-url", "function-url"), ("alb", "alb"), ("alb-multi", "alb")],
)
def test_kind_method_path_and_query(kind, expected):
    request = read_event(event(kind, "PUT", "/a b/c", query={"x": ["1", "2"], "y": ["z"]}))
    assert request.kind == expected
    assert request.method == "PUT"
    assert request.path == "/a b/c"
    assert sorted(request.query_string.split("&")) == (["x=1", "x=2", "y=z"] if kind != "alb" else ["x=2", "y=z"])
    assert request.source_ip == "203.0.113.7"


def test_http_api_payload_v1_is_read_like_rest():
    raw = event("rest", "GET", "/items")
    raw["version"] = "1.0"
    assert read_event(raw).kind == "http-v1"


@pytest.mark.parametrize("kind", ["rest", "alb-multi"])
def test_multi_value_headers_keep_every_value(kind):
    request = read_event(event(kind, headers={"Accept": ["text/html", "application/json"]}))
    assert [value for name, value in request.headers if name == "accept"] == ["text/html", "application/json"]
    assert request.multi_value


@pytest.mark.parametrize("kind", ["http-v2", "function-url"])
def test_v2_cookies_become_one_cookie_header(kind):
    request = read_event(event(kind, cookies=["a=1", "b=2"]))
    assert request.header("cookie") == "a=1; b=2"


@pytest.mark.parametrize("kind", KINDS)
def test_base64_body_is_decoded(kind):
    body = bytes(range(256))
    assert read_event(event(kind, "POST", body=body)).body == body


def test_rest_stage_is_the_root_path_and_stays_in_the_path():
    request = read_event(event("rest", path="/orders/1", stage="prod"))
    assert (request.root_path, request.path) == ("/prod", "/prod/orders/1")


def test_named_http_api_stage_is_the_root_path():
    request = read_event(event("http-v2", path="/orders", stage="v1"))
    assert (request.root_path, request.path, request.raw_path) == ("/v1", "/v1/orders", "/v1/orders")
    assert read_event(event("http-v2", path="/orders")).root_path == ""  # $default stage


def test_explicit_root_path_is_prefixed_when_the_proxy_stripped_it():
    request = read_event(event("alb", path="/orders"), root_path="api/")
    assert (request.root_path, request.path) == ("/api", "/api/orders")
    request = read_event(event("http-v2", path="/api/orders"), root_path="/api")
    assert (request.root_path, request.path) == ("/api", "/api/orders")


def test_server_and_scheme_come_from_the_headers():
    request = read_event(event("rest", headers={"host": ["api.example.com:8443"], "x-forwarded-proto": ["http"]}))
    assert request.server == ("api.example.com", 8443)
    assert request.scheme == "http"
    assert read_event(event("rest")).server == ("example.com", 443)


@pytest.mark.parametrize("payload", [{}, {"Records": []}, [1], "text", None, {"requestContext": {}}])
def test_an_event_of_no_http_kind_names_the_kinds_supported(payload):
    with pytest.raises(UnsupportedEvent) as raised:
        read_event(payload)
    assert raised.value.error_type == "Web.UnsupportedEvent"
    assert "function URL" in str(raised.value) and "Application Load Balancer" in str(raised.value)


@pytest.mark.parametrize(
    "broken",
    [
        {"version": "2.0", "requestContext": {"http": {}}},  # no method
        {"httpMethod": "GET", "requestContext": {}, "body": "***", "isBase64Encoded": True},
        {"requestContext": {"elb": {}}, "path": "/"},  # no httpMethod
    ],
)
def test_a_broken_event_of_a_known_kind_is_malformed(broken):
    with pytest.raises(MalformedEvent) as raised:
        read_event(broken)
    assert raised.value.error_type == "Web.MalformedEvent"


def test_base64_flag_with_text_body():
    raw = event("http-v2", "POST", body="hello")
    raw.update(body=base64.b64encode(b"hello").decode(), isBase64Encoded=True)
    assert read_event(raw).body == b"hello"


def test_an_http_api_stage_on_a_custom_domain_is_not_in_the_path():
    request = read_event(event("http-v2", path="/api/items", stage="api", domain="api.example.com"))
    assert (request.root_path, request.path) == ("", "/api/items")


@pytest.mark.parametrize("kind", ["rest", "alb-multi"])
def test_null_multi_value_headers_fall_back_to_the_single_value_headers(kind):
    raw = event(kind, headers={"x-note": ["kept"]}, null=("multiValueHeaders",))
    raw.setdefault("headers", {"host": "example.com", "x-note": "kept"})
    request = read_event(raw)
    assert request.header("x-note") == "kept"
    assert not request.multi_value
