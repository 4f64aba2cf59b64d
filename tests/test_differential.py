"""Differential test: the official client and ours run the same handlers under the same emulator.

Where the two differ on purpose, the test says so and asserts both sides of the difference.
"""

from __future__ import annotations

import json

import pytest

from tests.conftest import OFFICIAL_CLIENT

PAYLOAD = {"n": 7, "text": "héllo", "list": [1, 2.5, None, True]}


@pytest.fixture
def both(serve):
    def start(handler: str, **options):
        ours = serve(handler, **options)
        official = serve(handler, runtime_command=[*OFFICIAL_CLIENT, handler], **options)
        return ours, official

    return start


@pytest.mark.parametrize(
    "handler", ["basic.echo", "basic.returns_decimal", "basic.returns_bytes", "basic.logs_and_prints", "pkg.sub.mod.fn"]
)
def test_results_match(both, handler):
    ours, official = both(handler)
    mine, theirs = ours.invoke(PAYLOAD), official.invoke(PAYLOAD)
    assert mine.status_code == theirs.status_code == 200
    if handler == "basic.returns_bytes":
        assert mine.content == theirs.content
    else:
        assert mine.json() == theirs.json()


def test_handler_errors_match(both):
    ours, official = both("basic.raise_value_error")
    mine, theirs = ours.invoke(PAYLOAD).json(), official.invoke(PAYLOAD).json()
    for key in ("errorType", "errorMessage"):
        assert mine[key] == theirs[key]
    assert mine["stackTrace"]
    assert [line.split(",")[0] for line in mine["stackTrace"]] == [line.split(",")[0] for line in theirs["stackTrace"]]


@pytest.mark.parametrize(
    "handler",
    [
        "nodot",
        "sys.handler",
        "no_such_module.handler",
        "import_fails.handler",
        "syntax_error.handler",
        "basic.missing",
        "import_raises.handler",
    ],
)
def test_init_errors_match(both, handler):
    ours, official = both(handler)
    mine, theirs = ours.invoke({}).json(), official.invoke({}).json()
    assert mine["errorType"] == theirs["errorType"]
    assert mine["errorMessage"] == theirs["errorMessage"]


def test_unmarshal_and_marshal_errors_match(both):
    ours, official = both("basic.echo")
    assert ours.invoke(b"{nope").json()["errorType"] == official.invoke(b"{nope").json()["errorType"]
    ours, official = both("basic.returns_set")
    assert ours.invoke({}).json()["errorType"] == official.invoke({}).json()["errorType"] == "Runtime.MarshalError"


def test_context_matches(both):
    ours, official = both("basic.context_info")
    mine, theirs = ours.invoke({}).json(), official.invoke({}).json()
    keys = ("function_name", "function_version", "log_group_name", "cognito_identity_id", "client_custom")
    for key in (*keys, "memory_limit_in_mb", "memory_is_int"):
        assert mine[key] == theirs[key]
    assert mine["memory_limit_in_mb"] == "128"  # a string on both: Powertools' function_memory_size is the same


def test_bad_deadline_deliberately_differs(both):
    ours, official = both("basic.echo")
    bad = {"X-Emulator-Next-Headers": json.dumps({"Lambda-Runtime-Deadline-Ms": "abc"})}
    # Ours: a clear error for that invocation, same environment serves the next one.
    assert ours.invoke({}, headers=bad).json()["errorType"] == "Runtime.LambdaContextUnmarshalError"
    assert ours.invoke({"after": 1}).json() == {"after": 1}
    # The official client aborts the whole process.
    assert official.invoke({}, headers=bad).json()["errorType"] == "Runtime.ExitError"


def test_system_exit_deliberately_differs(both):
    ours, official = both("basic.raise_system_exit")
    assert ours.invoke({}).json()["errorType"] == "SystemExit"
    assert official.invoke({}).json()["errorType"] == "Runtime.ExitError"


def test_nan_deliberately_differs(both):
    ours, official = both("basic.returns_nan")
    assert ours.invoke({}).json()["errorType"] == "Runtime.MarshalError"
    assert official.invoke({}).content == b"NaN"  # not valid JSON
