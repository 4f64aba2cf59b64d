"""Events in, results and errors out: the bytes that cross the Runtime API."""

from __future__ import annotations

import decimal
import json
import math
import os
import re
import traceback
from types import TracebackType
from typing import Any, NamedTuple

from lambda_runtime.errors import FunctionError, InvocationError, describe
from lambda_runtime.invocation.xray import xray_cause

_PACKAGE_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))  # lambda_runtime/, not invocation/


def decode_event(body: bytes, content_type: str | None) -> Any:
    """JSON-decode the event when it says it is JSON; otherwise hand the handler the raw bytes, as awslambdaric does."""
    if content_type != "application/json":
        return body
    try:
        return json.loads(body)
    except (ValueError, UnicodeDecodeError) as error:
        raise InvocationError("Runtime.UnmarshalError", f"Unable to unmarshal input: {error}") from None


def encode_result(result: Any) -> tuple[bytes, str]:
    """The result as (body, content type): bytes go raw, everything else as strict JSON.

    Nested values are read as awslambdaric's encoder (simplejson, `namedtuple_as_object`, `encoding="utf-8"`) reads
    them: an object with `_asdict()` (a namedtuple) is a JSON object, `bytes` are UTF-8 text, keys too.
    """
    if isinstance(result, (bytes, bytearray, memoryview)):
        return bytes(result), "application/unknown"
    try:
        return _utf8(_dumps(as_official_client_reads(result))), "application/json"
    except (TypeError, ValueError, RecursionError) as error:
        raise InvocationError("Runtime.MarshalError", f"Unable to marshal response: {error}") from None


_PLAIN = frozenset({str, int, float, bool, type(None), decimal.Decimal})
_PLAIN_KEYS = _PLAIN - {float}  # a float key may be NaN or infinite: see _key()
_LONE_SURROGATE = re.compile("[\ud800-\udfff]")


def as_official_client_reads(value: Any) -> Any:
    """`value` with namedtuples as dicts and bytes as text; the same object (no copy) where nothing changes.

    The cost stays near the C encoder's: a container whose members are all plain scalars is checked by one C-level
    pass over their types, and only containers holding something else are walked in Python.
    """
    kind = type(value)
    if kind in _PLAIN:
        return value
    if kind is dict:  # exact dicts and lists first: they cannot have `_asdict`
        return _dict(value)
    if kind is list:
        return _sequence(value)
    if isinstance(value, bytes):
        return value.decode("utf-8")  # strict, as simplejson: undecodable bytes are a MarshalError
    if isinstance(value, (str, int, float)):  # subclasses: the encoder writes their value
        return value
    as_dict = getattr(value, "_asdict", None)
    if callable(as_dict):  # simplejson checks this before list, tuple and dict
        converted = as_dict()
        if not isinstance(converted, dict):
            raise TypeError(f"_asdict() must return a dict, not {type(converted).__name__}")
        return _dict(converted)
    if isinstance(value, dict):
        return _dict(value)
    if isinstance(value, (list, tuple)):
        return _sequence(value)
    return value  # the encoder's `default` decides: Decimal, or a TypeError naming the type


def _dict(value: dict[Any, Any]) -> dict[Any, Any]:
    if not set(map(type, value)).issubset(_PLAIN_KEYS):  # rare: bytes or float keys
        return {_key(k): as_official_client_reads(v) for k, v in value.items()}
    if set(map(type, value.values())).issubset(_PLAIN):
        return value
    changed = {}
    for k, v in value.items():
        if type(v) not in _PLAIN and (new := _convert(v)) is not v:
            changed[k] = new
    return {k: changed.get(k, v) for k, v in value.items()} if changed else value


def _sequence(value: list[Any] | tuple[Any, ...]) -> list[Any] | tuple[Any, ...]:
    if set(map(type, value)).issubset(_PLAIN):
        return value
    items = None
    for index, item in enumerate(value):
        if type(item) not in _PLAIN and (new := _convert(item)) is not item:
            items = items if items is not None else list(value)
            items[index] = new
    return value if items is None else items


def _convert(value: Any) -> Any:
    # The common members first, without the general checks: most results are dicts of lists of dicts.
    kind = type(value)
    if kind is dict:
        return _dict(value)
    if kind is list:
        return _sequence(value)
    return as_official_client_reads(value)


def _key(key: Any) -> Any:
    if isinstance(key, bytes):
        return key.decode("utf-8")
    if isinstance(key, float) and not math.isfinite(key):
        # A key is a string whatever its type: simplejson writes "NaN", "Infinity" and "-Infinity", valid JSON.
        return "NaN" if math.isnan(key) else ("Infinity" if key > 0 else "-Infinity")
    return key


def _utf8(text: str) -> bytes:
    try:
        return text.encode()
    except UnicodeEncodeError:
        # A lone surrogate ("\ud800") cannot be UTF-8. awslambdaric (ensure_ascii on Python 3.11) writes it as a
        # \u escape, which JSON allows; surrogates only ever occur inside JSON strings, so escaping them in place
        # is exact.
        return _LONE_SURROGATE.sub(lambda match: f"\\u{ord(match.group()):04x}", text).encode()


class ErrorReport(NamedTuple):
    """An error as Lambda wants it: its type for the header, its message, the JSON body to post and its fields."""

    error_type: str
    message: str
    body: bytes
    fields: dict[str, Any]  # the body's fields, for the log record
    xray_cause: str  # the Lambda-Runtime-Function-XRay-Error-Cause header


def error_report(error: BaseException, request_id: str = "") -> ErrorReport:
    """Describe `error`, with the stack trace cut to the user's frames."""
    if isinstance(error, FunctionError):
        error_type, message, trace = error.error_type, error.message, error.stack_trace
        # awslambdaric reports its own faults to X-Ray as one validation error without a stack.
        cause = xray_cause("LambdaValidationError", message, [], os.getcwd())
    else:
        frames = user_frames(error.__traceback__)
        # Formatted from plain tuples, as awslambdaric does: no "^^^^" position markers (Python 3.11+) in the trace.
        plain = [(frame.filename, frame.lineno or 0, frame.name, frame.line) for frame in frames]
        error_type, message, trace = type(error).__name__, describe(error), traceback.format_list(plain)
        cause = xray_cause(error_type, message, frames, os.getcwd())
    fields = {"errorMessage": message, "errorType": error_type, "requestId": request_id, "stackTrace": trace}
    return ErrorReport(error_type, message, _dumps(fields).encode(), fields, cause)


def user_frames(tb: TracebackType | None) -> list[traceback.FrameSummary]:
    """Traceback frames without the runtime's own frames at the top, like the official client."""
    frames = list(traceback.extract_tb(tb))
    while frames and frames[0].filename.startswith(_PACKAGE_DIR):
        frames.pop(0)
    return frames


def _dumps(value: Any) -> str:
    # The stdlib encoder cannot emit raw numbers, so each Decimal is written as one placeholder string and swapped
    # for its exact digits afterwards: 0.1 stays 0.1, never 0.1000000000000000055511151231257827. The encoder calls
    # `default` in output order, so one split and one join put the digits back: linear whatever their number.
    decimals: list[str] = []
    marker = ""

    def default(obj: Any) -> Any:
        nonlocal marker
        if isinstance(obj, decimal.Decimal):
            if not obj.is_finite():
                raise ValueError(f"Out of range Decimal value is not JSON compliant: {obj}")
            # os, not uuid: importing uuid costs milliseconds at cold start
            marker = marker or f"__decimal_{os.urandom(8).hex()}__"
            decimals.append(str(obj))
            return marker
        raise TypeError(f"Object of type {type(obj).__name__} is not JSON serializable")

    text = json.dumps(value, default=default, allow_nan=False, ensure_ascii=False, separators=(",", ":"))
    if not decimals:
        return text
    parts = text.split(f'"{marker}"')
    if len(parts) != len(decimals) + 1:  # a string held the random marker: refuse rather than guess
        raise ValueError("a string in the result collides with the Decimal placeholder")
    merged = [""] * (2 * len(decimals) + 1)
    merged[0::2], merged[1::2] = parts, decimals
    return "".join(merged)
