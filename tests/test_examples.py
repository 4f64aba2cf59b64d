"""The examples answer as documented, and their own tests (which use lambda_runtime.testing) pass."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import requests

EXAMPLES = Path(__file__).parent.parent / "examples"


@pytest.mark.parametrize("example", ["background_tasks", "handler_tour", "streaming", "fastapi_app"])
def test_the_example_s_own_tests_pass_as_a_user_runs_them(example):
    # `pytest` in the example's folder: no conftest of this repository, only the installed package's plugin.
    command = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-p", "no:xdist"]
    result = subprocess.run(command, cwd=EXAMPLES / example, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-2000:]
    assert " passed" in result.stdout and "skipped" not in result.stdout


EXAMPLE = Path(__file__).parent.parent / "examples" / "background_tasks"


def test_direct_and_function_url_events(serve):
    emu = serve("app.handler", task_root=str(EXAMPLE), env={"BACKGROUND_WORK_SECONDS": "0.1"})
    assert emu.invoke({"message": "direct"}).json() == {"echoedMessage": "direct"}
    url_event = {"rawPath": "/", "body": json.dumps({"message": "via url"}), "isBase64Encoded": False}
    assert emu.invoke(url_event).json() == {"echoedMessage": "via url"}
    emu.wait_for_output("Background work completed for 'via url'")


HANDLER_TOUR = Path(__file__).parent.parent / "examples" / "handler_tour"


def test_documented_handler_runs_and_its_three_jobs_finish_after_the_answer(serve):
    # docs/getting-started.md shows this file verbatim (tests/test_readme.py checks it): every function it defers is
    # defined, so no invocation fails with NameError.
    emu = serve("app.handler", task_root=str(HANDLER_TOUR))
    response = emu.invoke({"order_id": "o-1"})
    assert "X-Amz-Function-Error" not in response.headers, response.text
    assert response.json() == {"ok": True, "order_id": "o-1"}
    (record,) = emu.wait_for_records(1)
    output = emu.invocation_output(record.request_id)
    for line in ("metrics flushed for o-1", "partner notified of o-1", "audit record written for o-1"):
        assert f"{record.request_id}\t{line}" in output, output
    assert "Deferred jobs: 3 ok, 0 failed" in output


STREAMING = Path(__file__).parent.parent / "examples" / "streaming"


def test_the_streaming_example_streams_its_report_and_audits_after_the_stream(serve):
    emu = serve("app.handler", task_root=str(STREAMING), env={"REPORT_LINE_SECONDS": "0"})
    response = emu.lambda_client().invoke_with_response_stream(FunctionName="function", Payload=b'{"rows": 3}')
    events = list(response["EventStream"])
    body = b"".join(event["PayloadChunk"]["Payload"] for event in events if "PayloadChunk" in event)
    assert body == b"region,orders\nregion-1,7\nregion-2,3\nregion-3,10\ntotal,20\n"
    assert events[-1] == {"InvokeComplete": {}}
    (record,) = emu.wait_for_records(1)
    output = emu.invocation_output(record.request_id)
    assert f"{record.request_id}\tAudit record written: report of 3 rows" in output
    assert "Deferred jobs: 1 ok" in output and "streamed for" in output
    r = requests.get(f"{emu.url}/lambda-url/?rows=2", timeout=30)
    assert (r.status_code, r.headers["Content-Type"], r.cookies.get("report")) == (200, "text/csv", "streamed")
    assert r.text == "region,orders\nregion-1,7\nregion-2,3\ntotal,10\n"
