"""The bad-input table: each input gets a clear error for that invocation, and the next invocation succeeds.

The table of docs/reference/errors.md is this file in prose.
"""

from __future__ import annotations

import json

import pytest

NEXT = "X-Emulator-Next-Headers"
SIX_MB = 6_291_456  # the request limit (the response may be 100 bytes longer): see MAX_SYNC_REQUEST


@pytest.mark.parametrize(
    ("payload", "override", "error_type"),
    [
        (b"{invalid json", {}, "Runtime.UnmarshalError"),
        (b"\xff\xfe\x00not utf-8", {}, "Runtime.UnmarshalError"),
        ({}, {"Lambda-Runtime-Deadline-Ms": "0"}, "Runtime.LambdaContextUnmarshalError"),
        ({}, {"Lambda-Runtime-Deadline-Ms": "-1"}, "Runtime.LambdaContextUnmarshalError"),
        ({}, {"Lambda-Runtime-Deadline-Ms": "abc"}, "Runtime.LambdaContextUnmarshalError"),
        ({}, {"Lambda-Runtime-Deadline-Ms": None}, "Runtime.LambdaContextUnmarshalError"),
        ({}, {"Lambda-Runtime-Deadline-Ms": "32503680000000"}, "Runtime.LambdaContextUnmarshalError"),
        ({}, {"Lambda-Runtime-Client-Context": "{oops"}, "Runtime.LambdaContextUnmarshalError"),
        ({}, {"Lambda-Runtime-Cognito-Identity": "nope"}, "Runtime.LambdaContextUnmarshalError"),
    ],
)
def test_bad_events_and_headers(serve, payload, override, error_type):
    emu = serve("basic.event_size")
    response = emu.invoke(payload, headers={NEXT: json.dumps(override)})
    assert response.headers["X-Amz-Function-Error"] == "Unhandled"
    assert response.json()["errorType"] == error_type
    assert emu.invoke({"blob": "next"}).json() == {"bytes": 4}


def test_a_six_megabyte_event_is_served_and_a_larger_one_rejected(serve):
    emu = serve("basic.event_size")
    blob = "x" * (SIX_MB - 20)
    assert emu.invoke({"blob": blob}).json() == {"bytes": len(blob)}
    too_big = emu.invoke({"blob": "x" * (SIX_MB + 1)})
    assert too_big.status_code == 413
    assert emu.invoke({"blob": "after"}).json() == {"bytes": 5}


@pytest.mark.parametrize(
    ("handler", "error_type"),
    [
        ("basic.returns_set", "Runtime.MarshalError"),
        ("basic.returns_nan", "Runtime.MarshalError"),
        ("basic.returns_generator", "Runtime.MarshalError"),
        ("basic.returns_big", "Function.ResponseSizeTooLarge"),
        ("basic.raise_system_exit", "SystemExit"),
        ("basic.raise_keyboard_interrupt", "KeyboardInterrupt"),
        ("basic.raise_recursion_error", "RecursionError"),
        ("basic.raise_memory_error", "MemoryError"),
        ("basic.raise_unprintable", "Unprintable"),
    ],
)
def test_bad_results_and_handler_failures(serve, handler, error_type):
    emu = serve(handler)
    for _ in range(2):  # the second one proves the same environment kept serving
        response = emu.invoke({})
        assert response.headers["X-Amz-Function-Error"] == "Unhandled"
        assert response.json()["errorType"] == error_type
    records = emu.wait_for_records(2)
    assert records[1]["init_ms"] is None


def test_payloads_results_and_job_arguments_are_not_logged(serve):
    secret = "s3cr3t-value-42"
    emu = serve("basic.leak_nothing", env={"SECRET_TOKEN": "env-secret-99"})
    assert emu.invoke({"secret": secret}).json() == {"answer": secret[::-1]}
    output = emu.wait_for_output("1 failed")
    assert secret not in output and secret[::-1] not in output
    assert "job failed" in output  # the job's failure is logged, its arguments are not


def test_error_responses_carry_no_environment_values(serve):
    emu = serve("basic.raise_with_environment", env={"SECRET_TOKEN": "env-secret-99"})
    body = emu.invoke({}).text
    assert "env-secret-99" not in body and "SECRET_TOKEN" not in body
