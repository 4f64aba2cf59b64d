"""Encoding results and errors, decoding events: pure functions."""

from __future__ import annotations

import decimal
import json

import pytest

from lambda_runtime.errors import FunctionError, InvocationError
from lambda_runtime.payloads import decode_event, encode_result, error_report


def test_decimals_are_exact_and_strings_that_look_like_placeholders_are_untouched():
    value = {"d": decimal.Decimal("0.1"), "big": decimal.Decimal("12345678901234567890.123456789"), "s": "__decimal_"}
    body, content_type = encode_result(value)
    assert content_type == "application/json"
    assert body == b'{"d":0.1,"big":12345678901234567890.123456789,"s":"__decimal_"}'


def test_tuples_become_lists_and_unicode_is_utf8():
    assert encode_result({"t": (1, "é")})[0] == '{"t":[1,"é"]}'.encode()


def test_bytes_are_posted_raw():
    assert encode_result(b"\x00\x01") == (b"\x00\x01", "application/unknown")


@pytest.mark.parametrize("value", [{1, 2}, float("inf"), decimal.Decimal("NaN"), (i for i in range(2)), object()])
def test_unencodable_results_are_marshal_errors(value):
    with pytest.raises(InvocationError) as caught:
        encode_result(value)
    assert caught.value.error_type == "Runtime.MarshalError"


def test_decode_event():
    assert decode_event(b'{"a": 1}', "application/json") == {"a": 1}
    assert decode_event(b"raw", "text/plain") == b"raw"
    with pytest.raises(InvocationError, match="Unable to unmarshal input"):
        decode_event(b"\xff\xfe", "application/json")


def test_error_report_of_a_user_exception():
    try:
        raise KeyError("missing")
    except KeyError as error:
        report = error_report(error, "req-1")
    body = json.loads(report.body)
    assert report.error_type == body["errorType"] == "KeyError"
    assert body["errorMessage"] == "'missing'"
    assert body["requestId"] == "req-1"
    assert body["stackTrace"] and "raise KeyError" in body["stackTrace"][-1]


def test_error_report_of_a_runtime_fault_keeps_its_type():
    report = error_report(FunctionError("Runtime.Custom", "what happened", ["trace"]), "r")
    assert json.loads(report.body) == {
        "errorMessage": "what happened",
        "errorType": "Runtime.Custom",
        "requestId": "r",
        "stackTrace": ["trace"],
    }
