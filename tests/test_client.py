"""The Runtime API client against a real scripted server on 127.0.0.1: keep-alive, retries, 4xx, headers."""

from __future__ import annotations

import subprocess
import sys

import pytest
import requests
from requests.structures import CaseInsensitiveDict

from lambda_runtime.api.client import RuntimeClient
from lambda_runtime.api.invocation import Invocation
from lambda_runtime.api.retries import retry_policy
from lambda_runtime.errors import RuntimeApiError, RuntimeApiServerError
from tests.scripted_server import Reply, ScriptedRuntimeApi

INVOCATION = Invocation("req-1", b"{}", CaseInsensitiveDict({"Lambda-Runtime-Invocation-Id": "inv-1"}))


@pytest.fixture
def api():
    with ScriptedRuntimeApi() as server:
        yield server


def make_client(api: ScriptedRuntimeApi, attempts: int = 4, sleeps: list[float] | None = None) -> RuntimeClient:
    record = sleeps if sleeps is not None else []
    return RuntimeClient(api.address, 5.0, lambda: retry_policy(attempts, 30.0, sleep=record.append))


def test_next_then_response_on_one_kept_alive_connection(api):
    client = make_client(api)
    for _ in range(5):
        invocation = client.next_invocation()
        assert invocation.request_id == "req-1"
        assert invocation.body == b'{"event":1}'
        client.post_response(invocation, b'"ok"', "application/json")
    assert len(api.seen) == 10
    assert {seen.connection for seen in api.seen} == {1}
    post = api.seen[1]
    assert post.path == "/2018-06-01/runtime/invocation/req-1/response"
    assert post.headers["Lambda-Runtime-Invocation-Id"] == "inv-1"
    assert post.body == b'"ok"'


def test_error_post_carries_the_error_type_header(api):
    client = make_client(api)
    client.post_error(INVOCATION, "ValueError", b'{"errorType":"ValueError"}')
    seen = api.seen[0]
    assert seen.path.endswith("/invocation/req-1/error")
    assert seen.headers["Lambda-Runtime-Function-Error-Type"] == "ValueError"
    assert seen.headers["Lambda-Runtime-Invocation-Id"] == "inv-1"


def test_5xx_is_retried_with_backoff_and_the_same_body(api):
    api.add("POST", "/response", Reply(500, b"busy"), Reply(503, b"busy"))
    sleeps: list[float] = []
    make_client(api, sleeps=sleeps).post_response(INVOCATION, b'"result"', "application/json")
    assert [seen.body for seen in api.seen] == [b'"result"'] * 3
    # Exponential (0.05 s, then 0.1 s) plus up to 0.05 s of jitter: each wait in its own band, whatever the draw.
    assert len(sleeps) == 2 and 0.05 <= sleeps[0] <= 0.1 <= sleeps[1] <= 0.15


def test_4xx_is_not_retried_and_carries_the_server_body(api):
    api.add("POST", "/response", Reply(413, b'{"errorMessage":"too large"}'))
    with pytest.raises(RuntimeApiError) as caught:
        make_client(api).post_response(INVOCATION, b"x", "application/json")
    assert caught.value.status == 413
    assert "too large" in str(caught.value)
    assert len(api.seen) == 1


def test_retries_are_bounded(api):
    api.add("GET", "/next", *[Reply(500, b"down")] * 10)
    with pytest.raises(RuntimeApiServerError):
        make_client(api, attempts=3).next_invocation()
    assert len(api.seen) == 3


def test_connection_refused_is_retried_then_raised():
    with ScriptedRuntimeApi() as server:
        address = server.address
    sleeps: list[float] = []
    client = RuntimeClient(address, 1.0, lambda: retry_policy(3, 30.0, sleep=sleeps.append))
    with pytest.raises(requests.ConnectionError):
        client.next_invocation()
    assert len(sleeps) == 2


def test_server_closing_the_connection_is_survived(api):
    api.add("POST", "/response", Reply(202, close=True))
    client = make_client(api)
    client.post_response(INVOCATION, b"1", "application/json")
    client.next_invocation()
    assert [seen.connection for seen in api.seen] == [1, 2]


def test_the_environment_is_never_consulted(api, monkeypatch, tmp_path):
    # A session that trusts the environment reads ~/.netrc (here $NETRC) and proxy variables for every request it
    # prepares: slow, and wrong for the Runtime API. The credentials below would show up as an Authorization header.
    netrc = tmp_path / "netrc"
    netrc.write_text("machine 127.0.0.1 login user password secret\n")
    netrc.chmod(0o600)
    monkeypatch.setenv("NETRC", str(netrc))
    monkeypatch.setenv("HTTP_PROXY", "http://127.0.0.1:1")
    monkeypatch.setenv("http_proxy", "http://127.0.0.1:1")
    client = make_client(api)
    assert client.next_invocation().request_id == "req-1"
    client.post_response(INVOCATION, b"1", "application/json")
    assert [seen.headers.get("Authorization") for seen in api.seen] == [None, None]


def test_tenacity_is_imported_only_after_a_failure(api):
    # Cold start: a healthy runtime never pays for the retry machinery's import.
    probe = (
        "import sys\n"
        "from lambda_runtime.api.client import RuntimeClient\n"
        "from lambda_runtime.main import _retry_policy, main\n"
        f"client = RuntimeClient({api.address!r}, 5.0, lambda: None)\n"
        "client.next_invocation()\n"
        "print('tenacity' in sys.modules)\n"
    )
    result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=60)
    assert result.stdout.strip() == "False", result.stderr


# --- ids are data, never syntax ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("request_id", "segment"),
    [
        ("a/../b", "a%2F..%2Fb"),
        ("..", "%2E%2E"),
        ("id?x=1#frag", "id%3Fx%3D1%23frag"),
        ("é-id", "%C3%A9-id"),
        ("line\r\nInjected: 1", "line%0D%0AInjected%3A%201"),
    ],
)
def test_ids_are_percent_encoded_in_the_url(api, request_id, segment):
    client = make_client(api)
    invocation = Invocation(request_id, b"{}", CaseInsensitiveDict())
    client.post_response(invocation, b'"ok"', "application/json")
    client.post_error(invocation, "E", b"{}")
    assert [seen.path for seen in api.seen] == [
        f"/2018-06-01/runtime/invocation/{segment}/response",
        f"/2018-06-01/runtime/invocation/{segment}/error",
    ]


@pytest.mark.parametrize("invocation_id", ["inv\r\nX-Injected: 1", "inv-é", "inv\x00", "inv\tx"])
def test_an_invalid_invocation_id_is_not_sent_as_a_header(api, invocation_id):
    client = make_client(api)
    headers = CaseInsensitiveDict({"Lambda-Runtime-Invocation-Id": invocation_id})
    client.post_response(Invocation("req-1", b"{}", headers), b'"ok"', "application/json")
    (seen,) = api.seen
    assert "Lambda-Runtime-Invocation-Id" not in seen.headers and "X-Injected" not in seen.headers


@pytest.mark.parametrize("status", [400, 403, 404, 410, 413])
def test_a_4xx_that_can_never_succeed_is_not_retried(api, status):
    api.add("POST", "/response", Reply(status, b"no"))
    sleeps: list[float] = []
    with pytest.raises(RuntimeApiError):
        make_client(api, sleeps=sleeps).post_response(INVOCATION, b'"ok"', "application/json")
    assert len(api.seen) == 1 and sleeps == []


@pytest.mark.parametrize("status", [408, 429])
def test_a_4xx_that_may_pass_is_retried(api, status):
    api.add("POST", "/response", Reply(status, b"later"))
    make_client(api).post_response(INVOCATION, b'"ok"', "application/json")
    assert len(api.seen) == 2


def test_the_xray_cause_goes_with_the_error_and_only_when_valid(api):
    client = make_client(api)
    client.post_error(INVOCATION, "ValueError", b"{}", '{"working_directory": "/var/task"}')
    client.post_error(INVOCATION, "ValueError", b"{}", "bad\nvalue")
    first, second = api.seen
    assert first.headers["Lambda-Runtime-Function-XRay-Error-Cause"] == '{"working_directory": "/var/task"}'
    assert "Lambda-Runtime-Function-XRay-Error-Cause" not in second.headers
