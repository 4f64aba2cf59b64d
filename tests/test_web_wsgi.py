"""lambda_runtime.web.wsgi end to end: Flask and Django apps on the real runtime, deferring through the environ."""

from __future__ import annotations

import json

import pytest

from tests.test_deferred import read_stamp
from tests.web_events import event


@pytest.mark.parametrize(
    ("handler", "request_"),
    [
        ("web_apps.flask_handler", lambda d: event("http-v2", "POST", "/orders", body={"dir": d})),
        ("web_django.handler", lambda d: event("alb-multi", "GET", "/orders", query={"dir": [d]})),
    ],
)
def test_defer_from_the_environ_runs_after_the_response(serve, tmp_path, handler, request_):
    emu = serve(handler)
    result = emu.invoke(request_(str(tmp_path))).json()
    assert result["statusCode"] == 200
    assert json.loads(result["body"])["order"] == 1
    (record,) = emu.wait_for_records(1)
    ran_at, request_id = read_stamp(tmp_path / "task")
    assert record["responded_at"] <= ran_at <= record["next_at"]
    assert request_id == record["request_id"]


@pytest.mark.parametrize(
    ("handler", "message"), [("web_apps.flask_handler", "flask"), ("web_django.handler", "django")]
)
def test_app_exception_is_the_frameworks_500_and_is_logged_with_the_request_id(serve, handler, message):
    emu = serve(handler)
    response = emu.invoke(event("rest", "GET", "/boom"))
    assert "X-Amz-Function-Error" not in response.headers
    assert response.json()["statusCode"] == 500
    (record,) = emu.wait_for_records(1)
    output = emu.invocation_output(record["request_id"])
    assert f"{message} " in output and "exploded" in output and "Traceback" in output
    error_line = next(line for line in output.splitlines() if line.startswith("[ERROR]"))
    assert record["request_id"] in error_line


def test_stage_becomes_script_name(serve, tmp_path):
    emu = serve("web_apps.flask_handler")
    result = emu.invoke(event("rest", "POST", "/orders", body={"dir": str(tmp_path)}, stage="prod")).json()
    assert json.loads(result["body"]) == {"order": 1, "script_name": "/prod", "path": "/orders"}


def test_unknown_event_is_a_clear_function_error(serve):
    emu = serve("web_apps.flask_handler")
    error = emu.invoke({"Records": []}).json()
    assert error["errorType"] == "Web.UnsupportedEvent"
    assert "Records" in error["errorMessage"]
