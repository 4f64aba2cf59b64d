"""End to end: the real runtime process against the emulator, through the Runtime API."""

from __future__ import annotations

import base64
import itertools
import json
import subprocess
import sys
import time
from pathlib import Path

import pytest

import lambda_runtime
from tests.conftest import FUNCTIONS
from tests.scripted_server import Reply, ScriptedRuntimeApi

NEXT_HEADERS = "X-Emulator-Next-Headers"
# The runtime's own source files: whatever the checkout's folder is called, only these are the runtime's frames.
RUNTIME_PACKAGE = f"{Path(lambda_runtime.__file__).parent}/"


def test_json_event_round_trip(serve):
    emu = serve("basic.echo")
    for payload in ({"a": 1, "nested": [1, 2, {"b": None}]}, [1, "two"], "text", 3.5, None):
        response = emu.invoke(payload)
        assert response.status_code == 200
        assert "X-Amz-Function-Error" not in response.headers
        assert response.json() == payload


def test_non_json_content_type_passes_raw_bytes(serve):
    emu = serve("basic.event_type")
    hooked = {NEXT_HEADERS: json.dumps({"Content-Type": "application/octet-stream"})}
    assert emu.invoke(b"plain words", headers=hooked).json() == {"type": "bytes", "value": "plain words"}
    assert emu.invoke({"k": "v"}).json() == {"type": "dict", "value": {"k": "v"}}


def test_results_are_encoded_like_the_official_client(serve):
    emu = serve("basic.returns_decimal")
    response = emu.invoke({})
    assert response.content == b'{"price":19.99,"tiny":0.1,"pair":[1,2]}'
    emu = serve("basic.returns_bytes")
    assert emu.invoke({}).content == b"\x00raw\xffbytes"


@pytest.mark.parametrize("handler", ["basic.returns_set", "basic.returns_nan"])
def test_unencodable_result_is_a_marshal_error_and_the_loop_goes_on(serve, handler):
    emu = serve(handler)
    for _ in range(2):  # the second invocation proves the runtime survived the first
        response = emu.invoke({})
        assert response.headers["X-Amz-Function-Error"] == "Unhandled"
        body = response.json()
        assert body["errorType"] == "Runtime.MarshalError"
        assert body["errorMessage"].startswith("Unable to marshal response:")


def test_handler_exception_posts_error_with_trace_and_loop_goes_on(serve):
    emu = serve("basic.raise_value_error")
    first = emu.invoke({"n": 1})
    second = emu.invoke({"n": 2})
    for response, n in ((first, 1), (second, 2)):
        assert response.status_code == 200
        assert response.headers["X-Amz-Function-Error"] == "Unhandled"
        body = response.json()
        assert body["errorType"] == "ValueError"
        assert body["errorMessage"] == f"bad value: {n}"
        assert body["requestId"]
        # The runtime's own frames are cut, as the official client does: the trace starts in the handler's file.
        assert body["stackTrace"][0].startswith(f'  File "{FUNCTIONS / "basic.py"}", line ')
        assert "in raise_value_error" in body["stackTrace"][0]
        assert not any(RUNTIME_PACKAGE in line for line in body["stackTrace"])
    assert first.json()["requestId"] != second.json()["requestId"]


@pytest.mark.parametrize(
    ("handler", "error_type"),
    [("basic.raise_system_exit", "SystemExit"), ("basic.raise_keyboard_interrupt", "KeyboardInterrupt")],
)
def test_system_exit_and_keyboard_interrupt_are_reported_not_fatal(serve, handler, error_type):
    # Deliberately better than awslambdaric, which dies silently on SystemExit.
    emu = serve(handler)
    for _ in range(2):
        body = emu.invoke({}).json()
        assert body["errorType"] == error_type


def test_exception_whose_str_raises_is_still_reported(serve):
    emu = serve("basic.raise_unprintable")
    body = emu.invoke({}).json()
    assert body["errorType"] == "Unprintable"
    assert "unprintable" in body["errorMessage"]


@pytest.mark.parametrize(
    "override",
    [
        {"Lambda-Runtime-Deadline-Ms": "0"},
        {"Lambda-Runtime-Deadline-Ms": "-1"},
        {"Lambda-Runtime-Deadline-Ms": "abc"},
        {"Lambda-Runtime-Deadline-Ms": None},
        {"Lambda-Runtime-Deadline-Ms": "99999999999999"},
        {"Lambda-Runtime-Client-Context": "{not json"},
        {"Lambda-Runtime-Cognito-Identity": "[1, 2"},
    ],
)
def test_bad_headers_fail_only_that_invocation(serve, override):
    emu = serve("basic.echo")
    bad = emu.invoke({"x": 1}, headers={NEXT_HEADERS: json.dumps(override)})
    assert bad.headers["X-Amz-Function-Error"] == "Unhandled"
    assert bad.json()["errorType"] == "Runtime.LambdaContextUnmarshalError"
    good = emu.invoke({"x": 2})
    assert good.json() == {"x": 2}


def test_invalid_json_event_is_an_unmarshal_error(serve):
    emu = serve("basic.echo")
    bad = emu.invoke(b"{not json")
    assert bad.json()["errorType"] == "Runtime.UnmarshalError"
    assert emu.invoke({"ok": True}).json() == {"ok": True}


def test_trace_id_is_published_for_the_invocation_and_removed_when_absent(serve):
    emu = serve("basic.context_info")
    trace = "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1"
    with_trace = emu.invoke({}, headers={"X-Amzn-Trace-Id": trace}).json()
    assert with_trace["trace_id"] == trace
    without = emu.invoke({}, headers={NEXT_HEADERS: json.dumps({"Lambda-Runtime-Trace-Id": None})}).json()
    assert without["trace_id"] is None


def test_child_processes_see_the_invocation_trace_id(serve):
    emu = serve("basic.child_trace_id")
    for n in range(3):
        trace = f"Root=1-5759e988-bd862e3fe1be46a99427279{n};Parent=53995c3f42cd8ad8;Sampled=1;Lineage=1:9581a8d4:0"
        assert emu.invoke({}, headers={"X-Amzn-Trace-Id": trace}).json() == {"child": trace, "own": trace}
    without = emu.invoke({}, headers={NEXT_HEADERS: json.dumps({"Lambda-Runtime-Trace-Id": None})}).json()
    assert without == {"child": "None", "own": None}


def test_client_context_cognito_and_tenant_reach_the_context(serve):
    emu = serve("basic.context_info")
    client_context = {"client": {"app_title": "app", "installation_id": "i-1"}, "custom": {"k": "v"}, "env": {"e": 1}}
    headers = {
        "X-Amz-Client-Context": base64.b64encode(json.dumps(client_context).encode()).decode(),
        NEXT_HEADERS: json.dumps(
            {
                "Lambda-Runtime-Cognito-Identity": json.dumps(
                    {"cognitoIdentityId": "id-1", "cognitoIdentityPoolId": "pool-1"}
                ),
                "Lambda-Runtime-Aws-Tenant-Id": "tenant-7",
            }
        ),
    }
    info = emu.invoke({}, headers=headers).json()
    assert info["client_custom"] == {"k": "v"}
    assert info["client_env"] == {"e": 1}
    assert info["client_app_title"] == "app"
    assert info["cognito_identity_id"] == "id-1"
    assert info["cognito_identity_pool_id"] == "pool-1"
    assert info["tenant_id"] == "tenant-7"


def test_missing_request_id_is_logged_and_the_loop_keeps_serving(serve):
    emu = serve("basic.echo")
    emu.invoke({"lost": True}, headers={NEXT_HEADERS: json.dumps({"Lambda-Runtime-Aws-Request-Id": None})})
    emu.wait_for_output("without a Lambda-Runtime-Aws-Request-Id")
    assert emu.invoke({"after": True}).json() == {"after": True}


# --- ids are data, hostile handlers --------------------------------------------------------------------------------


@pytest.mark.parametrize("request_id", ["é-id", "a/../b", "..", "id?x#y", "tab\there"])
def test_an_id_that_is_not_a_url_segment_is_posted_as_data(serve, request_id):
    emu = serve("basic.echo")
    first = emu.invoke({"x": 1}, headers={NEXT_HEADERS: json.dumps({"Lambda-Runtime-Aws-Request-Id": request_id})})
    # The post reached /invocation/<the id, percent-encoded>/response, the only URL the emulator takes it at.
    assert first.json() == {"x": 1}
    pid = emu.runtime_pid
    assert emu.invoke({"after": 1}).json() == {"after": 1}
    assert emu.runtime_pid == pid  # the loop lived on
    assert "Traceback" not in emu.runtime_output()


def run_against(api: ScriptedRuntimeApi, handler: str, count: int, env: dict[str, str] | None = None) -> list:
    """Run the real runtime against `api` until it has made `count` requests; return them."""
    process = subprocess.Popen(
        [sys.executable, "-m", "lambda_runtime", handler],
        env={"PATH": "/usr/bin:/bin", "AWS_LAMBDA_RUNTIME_API": api.address, **(env or {})},
        cwd=FUNCTIONS,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    try:
        seen = api.wait_for(lambda seen: len(seen) >= count, timeout=60)
    finally:
        process.kill()
        output = process.communicate()[0].decode()
    return [seen, output]


def test_a_refused_post_fails_that_event_alone_with_one_clear_line():
    with ScriptedRuntimeApi() as api:
        bad_id = "bad\rid/../x"  # a bare CR: CR LF would end the header line
        deadline = str(int(time.time() * 1000) + 600_000)
        event = {"Lambda-Runtime-Aws-Request-Id": bad_id, "Lambda-Runtime-Deadline-Ms": deadline}
        api.defaults["GET"] = Reply(
            200, b"{}", {"Lambda-Runtime-Aws-Request-Id": "req-1", "Lambda-Runtime-Deadline-Ms": deadline}
        )
        api.add("GET", "/next", Reply(200, b"{}", {**event, "Lambda-Runtime-Invocation-Id": "inv\rX"}))
        api.add("POST", "/response", Reply(400, b'{"errorType":"InvalidRequestID"}'))
        seen, output = run_against(api, "basic.echo", 4)  # next, refused response, next, response
    assert seen[1].path == "/2018-06-01/runtime/invocation/bad%0Did%2F..%2Fx/response"
    assert "Lambda-Runtime-Invocation-Id" not in seen[1].headers  # "inv\rX" is no valid header value
    assert [s.method for s in seen[:4]] == ["GET", "POST", "GET", "POST"] and seen[3].path.endswith("/req-1/response")
    refused = [line for line in output.split("\n") if "refused" in line]
    assert len(refused) == 1 and "HTTP 400" in refused[0] and repr(bad_id) in refused[0]
    assert "Traceback" not in output


def test_a_handler_closing_stdout_and_stderr_does_not_break_the_runtime(serve):
    emu = serve("hostile.close_streams")
    first = emu.invoke({})
    assert first.json() == {"closed": True}
    assert emu.invoke({}).json() == {"closed": True}
    records = emu.wait_for_records(2)
    assert [r["status"] for r in records] == ["success", "success"]
    assert emu.wait_for_output("logged after the streams were closed").count("logged after the streams") == 2


def test_events_without_a_request_id_make_the_loop_back_off_not_spin():
    with ScriptedRuntimeApi() as api:
        api.defaults["GET"] = Reply(200, b"{}", {"Lambda-Runtime-Deadline-Ms": "9999999999999"})
        seen, output = run_against(api, "basic.echo", 6)
    gaps = [later.at - earlier.at for earlier, later in itertools.pairwise(seen[:6])]
    # Doubling from 50 ms: the fifth gap is at least 0.8 s, where a spinning loop would take microseconds.
    assert gaps[-1] >= 0.5 and gaps[-1] > gaps[0]
    assert len(seen) < 20
    assert "waiting 0.05 s before the next event" in output
