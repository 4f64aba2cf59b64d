"""lambda_runtime.web.asgi end to end: FastAPI apps on the real runtime under the emulator.

Ordering is proved with the emulator's timestamps and files the background tasks write, never with timing asserts.
"""

from __future__ import annotations

import base64
import json

import pytest

from tests.test_deferred import read_stamp, wait_for_file
from tests.web_events import KINDS, event


def test_background_task_runs_after_the_response_is_posted(serve, tmp_path):
    emu = serve("web_apps.fastapi_handler", env={"AWS_LAMBDA_LOG_LEVEL": "INFO"})  # the task logs at INFO
    response = emu.invoke(event("function-url", "POST", "/orders", body={"dir": str(tmp_path), "gate": True}))
    # The caller has its answer while the background task still waits for a file only the test creates.
    assert json.loads(response.json()["body"]) == {"order": 1, "status": "accepted"}
    assert not (tmp_path / "task").exists()
    (tmp_path / "release").touch()
    (record,) = emu.wait_for_records(1)
    task_ran_at, request_id = read_stamp(wait_for_file(tmp_path / "task"))
    assert record["responded_at"] < task_ran_at <= record["next_at"]
    assert request_id == record["request_id"]  # its logs carry the invocation's request id
    output = emu.invocation_output(record["request_id"])
    assert any("confirmation sent" in line and record["request_id"] in line for line in output.splitlines())
    assert "Deferred jobs: 1 ok, 0 failed" in output


@pytest.mark.parametrize("path", ["/orders", "/response-background"])
def test_sync_task_and_response_background_start_only_after_the_response(serve, tmp_path, path):
    emu = serve("web_apps.fastapi_handler")
    if path == "/orders":
        request = event("http-v2", "POST", path, body={"dir": str(tmp_path)})
    else:
        request = event("rest", "GET", path, query={"dir": [str(tmp_path)]})
    assert emu.invoke(request).json()["statusCode"] == 200
    (record,) = emu.wait_for_records(1)
    task_ran_at, _ = read_stamp(tmp_path / "task")
    assert record["responded_at"] <= task_ran_at <= record["next_at"]


def test_failing_background_task_is_isolated_and_counted(serve, tmp_path):
    emu = serve("web_apps.fastapi_handler")
    body = {"dir": str(tmp_path), "fail": True}
    assert emu.invoke(event("alb", "POST", "/orders", body=body)).json()["statusCode"] == 200
    (record,) = emu.wait_for_records(1)
    output = emu.invocation_output(record["request_id"])
    assert "the mail server said no" in output and "Traceback" in output
    assert "Deferred jobs: 0 ok, 1 failed" in output
    # The loop keeps serving, on the same process.
    assert emu.invoke(event("alb", "GET", "/loop")).json()["statusCode"] == 200


def test_background_task_past_the_deadline_is_cancelled_and_reported(serve):
    emu = serve("web_apps.fastapi_handler", timeout=2, env={"LAMBDA_RUNTIME_DEFER_MARGIN_MS": "300"})
    assert emu.invoke(event("http-v2", "GET", "/slow-background")).json()["statusCode"] == 200
    (record,) = emu.wait_for_records(1)
    assert record["status"] == "success"
    assert record["next_at"] < record["deadline_ms"] / 1000  # /next came before Lambda's deadline
    output = emu.invocation_output(record["request_id"])
    # Cancelled at the deadline, as an async job of context.defer: timed out, not failed.
    assert "Deferred jobs: 0 ok, 0 failed, 1 timed out" in output
    assert emu.invoke(event("http-v2", "GET", "/loop")).json()["statusCode"] == 200
    # The task was cancelled: its finally block ran (before /next, or after the thaw on a loaded machine).
    emu.wait_for_output("background task cancelled")


@pytest.mark.parametrize("kind", KINDS)
def test_a_header_value_outside_latin_1_reaches_the_app_as_utf_8(serve, kind):
    emu = serve("web_apps.fastapi_handler")
    result = emu.invoke(event(kind, "GET", "/note", headers={"x-note": ["ok \U0001f642 é"]})).json()
    assert result["statusCode"] == 200
    assert json.loads(result["body"])["text"] == "ok \U0001f642 é"


def test_a_def_background_task_sees_its_job_and_stops_at_its_deadline_as_a_deferred_job(serve, tmp_path):
    # Not frozen after the invocation: the task's `finally` runs as its job is cancelled, concurrently with the
    # runtime's next /next, and a freeze could land between the two (the stamp is written, then renamed).
    emu = serve("web_apps.fastapi_handler", timeout=2, env={"LAMBDA_RUNTIME_DEFER_MARGIN_MS": "300"}, freeze=False)
    assert emu.invoke(event("http-v2", "GET", "/def-background", query={"dir": [str(tmp_path)]})).ok
    (record,) = emu.wait_for_records(1)
    assert (tmp_path / "job").read_text() == "FastAPI GET /def-background (after the response)"
    # Its finally ran when the job was cancelled, under its invocation's request id.
    stopped_at, request_id = read_stamp(wait_for_file(tmp_path / "stopped"))
    assert record.responded_at < stopped_at and request_id == record.request_id
    output = emu.invocation_output(record.request_id)
    assert "deferred job 'FastAPI GET /def-background (after the response)' overran its deadline" in output
    assert "Deferred jobs: 0 ok, 0 failed, 1 timed out" in output


@pytest.mark.parametrize("overrun", ["abandon", "exit"])
def test_a_def_background_task_that_ignores_its_deadline_follows_the_overrun_policy(serve, tmp_path, overrun):
    # A long timeout but an early job deadline: the restarted process has time for its init in the next event.
    env = {"LAMBDA_RUNTIME_DEFER_MARGIN_MS": "8000", "LAMBDA_RUNTIME_DEFER_OVERRUN": overrun}
    emu = serve("web_apps.fastapi_handler", timeout=10, env=env)
    query = {"dir": [str(tmp_path)], "stubborn": ["true"]}
    first = json.loads(emu.invoke(event("http-v2", "GET", "/def-background", query=query)).json()["body"])
    (record,) = emu.wait_for_records(1)
    assert (tmp_path / "started").exists()
    output = emu.invocation_output(record.request_id)
    name = "FastAPI GET /def-background (after the response)"
    assert f"deferred job '{name}' overran its deadline" in output
    assert "Deferred jobs: 0 ok, 0 failed, 1 timed out" in output
    second = json.loads(emu.invoke(event("http-v2", "GET", "/def-background", query=query)).json()["body"])
    if overrun == "exit":
        assert f"Deferred jobs still running at the deadline ({name}): the runtime must exit" in output
        assert "LAMBDA_RUNTIME_DEFER_OVERRUN=exit: the runtime restarts in place" in output
        assert second["process"] != first["process"]  # the next event went to a fresh process: the thread is gone
    else:
        assert f"Deferred jobs still running at the deadline ({name}) are abandoned" in output
        assert second["process"] == first["process"]


def test_one_event_loop_and_one_lifespan_startup_for_the_process(serve):
    emu = serve("web_apps.fastapi_handler")
    first, second = (json.loads(emu.invoke(event("function-url", "GET", "/loop")).json()["body"]) for _ in range(2))
    assert first["loop"] == second["loop"] == first["lifespan_loop"]
    assert first["startups"] == second["startups"] == 1
    assert first["request_id"] != second["request_id"]
    assert "requestContext" in first["event_keys"]  # scope["aws.event"] is the event itself


def test_app_exception_is_a_500_with_its_traceback_logged_under_the_request_id(serve):
    emu = serve("web_apps.fastapi_handler")
    response = emu.invoke(event("rest", "GET", "/boom"))
    assert "X-Amz-Function-Error" not in response.headers
    assert response.json()["statusCode"] == 500
    assert response.json()["body"] == "Internal Server Error"
    (record,) = emu.wait_for_records(1)
    output = emu.invocation_output(record["request_id"])
    # Starlette renders the 500, then re-raises after the response: the deferred job reports it, with its traceback.
    failure = next(line for line in output.splitlines() if "failed" in line and "GET /boom" in line)
    assert record["request_id"] in failure
    assert "RuntimeError: endpoint exploded" in output
    assert "Deferred jobs: 0 ok, 1 failed" in output


@pytest.mark.parametrize("payload", [{"hello": "world"}, [1, 2], "text"])
def test_an_event_of_no_http_kind_is_a_clear_function_error(serve, payload):
    emu = serve("web_apps.fastapi_handler")
    response = emu.invoke(payload)
    assert response.headers["X-Amz-Function-Error"] == "Unhandled"
    error = response.json()
    assert error["errorType"] == "Web.UnsupportedEvent"
    for kind in ("API Gateway REST API", "HTTP API", "function URL", "Application Load Balancer"):
        assert kind in error["errorMessage"]
    # The loop keeps serving.
    assert emu.invoke(event("http-v2", "GET", "/loop")).json()["statusCode"] == 200


def test_lifespan_startup_failure_is_an_init_error_with_the_apps_exception(serve):
    emu = serve("web_lifespan_fails.handler")
    response = emu.invoke(event("http-v2", "GET", "/"))
    assert response.headers["X-Amz-Function-Error"] == "Unhandled"
    error = response.json()
    assert error["errorType"] == "DatabaseUnavailable"
    assert error["errorMessage"] == "cannot reach the database"


@pytest.mark.parametrize("kind", KINDS)
def test_every_event_kind_round_trips(serve, kind):
    emu = serve("web_apps.fastapi_handler")
    result = emu.invoke(event(kind, "GET", "/loop")).json()
    assert result["statusCode"] == 200
    headers = result.get("headers") or {k: v[0] for k, v in result["multiValueHeaders"].items()}
    assert headers["content-type"] == "application/json"
    assert json.loads(result["body"])["startups"] == 1


@pytest.mark.parametrize("kind", KINDS)
def test_binary_bodies_and_cookies_round_trip_through_the_runtime(serve, kind):
    emu = serve("web_apps.fastapi_handler")
    png = b"\x89PNG\r\n\x1a\n\xff\x00"
    sent = event(kind, "POST", "/reverse", body=png, cookies=["a=1", "b=2"], headers={"content-type": ["image/png"]})
    result = emu.invoke(sent).json()
    assert result["statusCode"] == 200
    assert result["isBase64Encoded"] is True
    assert base64.b64decode(result["body"]) == png[::-1]
    if kind in ("http-v2", "function-url"):
        cookies = result["cookies"]
    elif kind == "alb":
        cookies = [value for name, value in result["headers"].items() if name.lower() == "set-cookie"]
    else:
        cookies = result["multiValueHeaders"]["set-cookie"]
    assert sorted(cookie.split(";")[0] for cookie in cookies) == ["a=1!", "b=2!"]


async def _hello(scope, receive, send):
    """The smallest ASGI app: one plain-text response."""
    await send({"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"text/plain")]})
    await send({"type": "http.response.body", "body": b"hello"})


@pytest.mark.parametrize("kind", ["alb", "alb-multi"])
def test_an_alb_event_gets_a_buffered_response_even_when_the_app_streams(kind):
    """An ALB cannot take a streamed response: under invoke_mode="response_stream" its answer stays buffered."""
    from lambda_runtime.invocation.streaming import StreamingResponse
    from lambda_runtime.web import asgi

    handler = asgi(_hello, lifespan="off", invoke_mode="response_stream")
    assert isinstance(handler(event("function-url"), None), StreamingResponse)  # the mode is on ...
    answer = handler(event(kind), None)
    assert not isinstance(answer, StreamingResponse)  # ... and an ALB gets its response whole
    assert (answer["statusCode"], answer["body"]) == (200, "hello")


def test_the_app_s_own_timeout_error_after_the_response_is_a_failed_job_not_a_deadline():
    import time

    from lambda_runtime.jobs import Job
    from lambda_runtime.jobs.call import call
    from lambda_runtime.web import asgi

    async def answers_then_times_out(scope, receive, send):
        await _hello(scope, receive, send)
        raise TimeoutError("the upstream service did not answer")  # in the background, after the response

    class DeferringContext:
        def __init__(self) -> None:
            self.jobs: list[Job] = []

        def get_remaining_time_in_millis(self) -> int:
            return 60_000

        def defer(self, fn, *args, job_name=None):
            self.jobs.append(Job(fn, args, {}, request_id="req", deadline=time.monotonic() + 60, name=job_name))

    context = DeferringContext()
    answer = asgi(answers_then_times_out, lifespan="off")(event("http-v2"), context)
    assert answer["body"] == "hello"
    (job,) = context.jobs
    errors: list[BaseException] = []
    assert call(job, on_error=lambda job, error: errors.append(error)) == "failed"
    assert [type(error) for error in errors] == [TimeoutError]
