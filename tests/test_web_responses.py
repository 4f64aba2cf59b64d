"""lambda_runtime.web.responses: the response shape each event source expects back."""

from __future__ import annotations

import base64

import pytest

from lambda_runtime.web.events import read_event
from lambda_runtime.web.responses import TEXT_TYPES, is_text, lambda_response
from tests.web_events import event

HEADERS = [("Content-Type", "application/json"), ("Set-Cookie", "a=1"), ("Set-Cookie", "b=2"), ("X-Id", "7")]


def respond(kind, headers=HEADERS, body=b'{"ok": true}', text_types=TEXT_TYPES):
    return lambda_response(read_event(event(kind)), 201, headers, body, text_types)


@pytest.mark.parametrize("kind", ["http-v2", "function-url"])
def test_v2_cookies_go_in_their_own_list(kind):
    assert respond(kind) == {
        "statusCode": 201,
        "headers": {"content-type": "application/json", "x-id": "7"},
        "cookies": ["a=1", "b=2"],
        "body": '{"ok": true}',
        "isBase64Encoded": False,
    }


def test_v2_repeated_headers_are_comma_joined():
    assert respond("http-v2", [("Vary", "a"), ("Vary", "b")])["headers"] == {"vary": "a,b"}


def test_rest_single_values_in_headers_repeated_in_multi_value_headers():
    response = respond("rest")
    assert response["headers"] == {"content-type": "application/json", "x-id": "7"}
    assert response["multiValueHeaders"] == {"set-cookie": ["a=1", "b=2"]}


def test_alb_multi_value_mode_answers_with_multi_value_headers_only():
    response = respond("alb-multi")
    assert "headers" not in response
    assert response["multiValueHeaders"]["set-cookie"] == ["a=1", "b=2"]
    assert response["statusDescription"] == "201 Created"


def test_alb_single_value_mode_keeps_repeated_headers_by_case():
    response = respond("alb")
    assert "multiValueHeaders" not in response
    cookies = sorted(value for name, value in response["headers"].items() if name.lower() == "set-cookie")
    assert cookies == ["a=1", "b=2"]


@pytest.mark.parametrize(
    ("content_type", "text"),
    [
        ("text/html; charset=utf-8", True),
        ("application/json", True),
        ("application/ld+json", True),
        ("image/svg+xml", True),
        ("image/png", False),
        ("application/octet-stream", False),
        ("", False),
    ],
)
def test_binary_is_detected_by_content_type(content_type, text):
    assert is_text([("content-type", content_type)], TEXT_TYPES) is text


def test_binary_body_goes_out_base64_and_text_types_are_configurable():
    png = b"\x89PNG\r\n\x1a\n\x00"
    response = respond("http-v2", [("content-type", "image/png")], png)
    assert response["isBase64Encoded"] and base64.b64decode(response["body"]) == png
    response = respond("http-v2", [("content-type", "application/x-custom")], b"plain", text_types=["application/x-"])
    assert response == {"statusCode": 201, "headers": {"content-type": "application/x-custom"}, "body": "plain",
                        "isBase64Encoded": False}  # fmt: skip


def test_compressed_or_undecodable_text_goes_out_base64():
    gzip_json = respond("rest", [("content-type", "application/json"), ("content-encoding", "gzip")], b"\x1f\x8b")
    assert gzip_json["isBase64Encoded"]
    latin1 = respond("rest", [("content-type", "text/plain")], "é".encode("latin-1"))
    assert latin1["isBase64Encoded"] and base64.b64decode(latin1["body"]) == b"\xe9"


def test_empty_body_is_empty_text():
    assert respond("http-v2", [("content-type", "image/png")], b"")["body"] == ""
