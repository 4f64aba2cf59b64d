"""Encoding results and errors, decoding events: pure functions."""

from __future__ import annotations

import decimal
import json
import os
from collections import namedtuple

import pytest

import lambda_runtime
from lambda_runtime.errors import FunctionError, InvocationError
from lambda_runtime.invocation.payloads import (
    as_official_client_reads,
    decode_event,
    encode_result,
    error_report,
    user_frames,
)

PACKAGE_DIR = os.path.dirname(os.path.abspath(lambda_runtime.__file__))


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


def reference_dumps(value):
    """The encoding as it was specified before it was made linear: one placeholder per Decimal, replaced in turn."""
    found = {}

    def default(obj):
        if isinstance(obj, decimal.Decimal):
            key = f"__ref_{len(found)}__"
            found[key] = str(obj)
            return key
        raise TypeError

    text = json.dumps(value, default=default, allow_nan=False, ensure_ascii=False, separators=(",", ":"))
    for key, digits in found.items():
        text = text.replace(f'"{key}"', digits, 1)
    return text.encode()


def test_decimal_encoding_is_byte_identical_to_the_reference():
    values = [decimal.Decimal(text) for text in ("0.1", "-0", "1E+2", "12345678901234567890.5", "-3.14e-10", "7")]
    value = {"nested": [{"d": d, "s": "__decimal_", "t": (d, "é")} for d in values], "top": values[0], "n": 1.5}
    assert encode_result(value)[0] == reference_dumps(value)
    assert encode_result(decimal.Decimal("2.50"))[0] == b"2.50"


def test_many_decimals_end_to_end_well_within_the_timeout(serve):
    # 50,000 Decimals took 33 s with one replace() per Decimal (quadratic): a Sandbox.Timedout. Linear, they take
    # well under a second; the 15 s timeout is only a generous bound.
    emu = serve("basic.returns_many_decimals", timeout=15)
    response = emu.invoke({"count": 50_000})
    assert "X-Amz-Function-Error" not in response.headers
    items = response.json()["Items"]
    assert len(items) == 50_000 and items[-1] == {"id": 49_999, "price": 49999.99}
    assert b'"price":49999.99}' in response.content


def test_results_are_converted_without_copying_what_does_not_change():
    plain = {"a": [1, "x", None, {"b": [2.5, True]}], "c": (1, 2)}
    assert as_official_client_reads(plain) is plain  # no copy of an ordinary result
    point = namedtuple("Point", "x y")
    nested = {"keep": [1, 2], "p": [point(1, b"\xc3\xa9")]}
    converted = as_official_client_reads(nested)
    assert converted == {"keep": [1, 2], "p": [{"x": 1, "y": "é"}]}
    assert converted["keep"] is nested["keep"] and nested["p"][0] == (1, b"\xc3\xa9")  # the handler's value unchanged
    assert encode_result({b"k": 1, float("nan"): 2, float("-inf"): 3})[0] == b'{"k":1,"NaN":2,"-Infinity":3}'
    assert encode_result(["\ud800"])[0] == b'["\\ud800"]'


@pytest.mark.parametrize(
    "runtime_file", ["main.py", os.path.join("invocation", "loop.py"), os.path.join("jobs", "job.py")]
)
def test_a_traceback_leaves_out_the_runtime_s_frames_from_any_folder_of_the_package(runtime_file):
    def user_code():
        raise ValueError("from the handler")

    # A frame whose code lives in the runtime's package (as main.py calling the handler at init), then user code.
    calling = compile("user_code()", os.path.join(PACKAGE_DIR, runtime_file), "exec")
    try:
        exec(calling, {"user_code": user_code})
    except ValueError as error:
        assert error.__traceback__ is not None
        traceback_from_the_runtime_on = error.__traceback__.tb_next
    assert [frame.name for frame in user_frames(traceback_from_the_runtime_on)] == ["user_code"]
