"""Response streaming end to end: the runtime streams through the emulator's Runtime API to boto3 and HTTP clients."""

from __future__ import annotations

import base64
import http.client
import json
import threading
import time

import pytest
import requests

from lambda_runtime.invocation.streaming import Stream, StreamingResponse, open_stream
from tests.polling import wait_until


def _events(emu, payload):
    response = emu.lambda_client().invoke_with_response_stream(FunctionName="function", Payload=json.dumps(payload))
    return response, iter(response["EventStream"])


def test_the_client_has_chunk_one_before_the_handler_produces_chunk_two(serve, tmp_path):
    emu = serve("streaming.gated", timeout=30)
    gate = tmp_path / "gate"
    response, events = _events(emu, {"gate": str(gate)})
    assert response["StatusCode"] == 200
    assert next(events) == {"PayloadChunk": {"Payload": b"first\n"}}
    gate.touch()  # only now may the handler produce chunk 2: had chunk 1 been held back, we would never get here
    rest = list(events)
    assert rest[0] == {"PayloadChunk": {"Payload": b"second\n"}}
    assert rest[-1] == {"InvokeComplete": {}}
    (record,) = emu.wait_for_records(1)
    assert record.status == "success"
    assert record.extra["stream"]["bytes"] == len(b"first\nsecond\n")


def test_a_mid_stream_error_reaches_boto3_as_invoke_complete_error_code(serve):
    emu = serve("streaming.fails_mid_stream")
    _, events = _events(emu, {})
    received = list(events)
    assert received[0] == {"PayloadChunk": {"Payload": b"partial "}}
    complete = received[-1]["InvokeComplete"]
    assert complete["ErrorCode"] == "ValueError"
    assert complete["ErrorDetails"] == "broke mid-stream"
    (record,) = emu.wait_for_records(1)
    assert (record.status, record.error_type) == ("error", "ValueError")
    output = emu.invocation_output(record.request_id)
    assert "Traceback" in output and "broke mid-stream" in output and "mid-stream, after 8 bytes" in output


def test_an_error_before_the_first_byte_goes_to_error_as_before(serve):
    emu = serve("streaming.fails_before_first_byte")
    r = emu.invoke({})
    assert r.headers["X-Amz-Function-Error"] == "Unhandled"
    assert r.json()["errorType"] == "KeyError"
    _, events = _events(emu, {})
    assert list(events) == [{"InvokeComplete": {"ErrorCode": "KeyError", "ErrorDetails": "'nothing streamed'"}}]


def test_a_buffered_invoke_of_a_streaming_function_gets_the_whole_body(serve):
    emu = serve("streaming.chunks")
    r = emu.invoke({"n": 3})
    assert (r.status_code, r.content) == (200, b"chunk 0\nchunk 1\nchunk 2\n")
    assert r.headers["Content-Type"] == "application/octet-stream"
    failing = serve("streaming.fails_mid_stream")
    r = failing.invoke({})
    assert r.headers["X-Amz-Function-Error"] == "Unhandled"
    assert r.json()["errorType"] == "ValueError"


def test_a_non_streaming_function_through_invoke_with_response_stream_is_one_chunk(serve):
    emu = serve("streaming.plain")
    _, events = _events(emu, {})
    assert list(events) == [{"PayloadChunk": {"Payload": b'{"streamed":false}'}}, {"InvokeComplete": {}}]


def test_the_http_integration_prelude_gives_status_headers_and_cookies_to_a_real_http_client(serve):
    emu = serve("streaming.http")
    r = requests.get(f"{emu.url}/lambda-url/hello?x=1", timeout=30)
    assert r.status_code == 201
    assert r.headers["X-Custom"] == "yes"
    assert r.headers["Content-Type"] == "text/html"
    assert r.text == "<p>/hello</p>"
    assert r.cookies.get("a") == "1" and r.cookies.get("b") == "2"
    connection = http.client.HTTPConnection("127.0.0.1", emu.port, timeout=30)
    connection.request("GET", "/lambda-url/raw")
    raw = connection.getresponse()
    assert raw.status == 201
    assert raw.headers.get_all("Set-Cookie") == ["a=1", "b=2"]
    assert raw.read() == b"<p>/raw</p>"


@pytest.mark.parametrize(("path", "status"), [("/nothing", 200), ("/empty-strings", 200), ("/prelude-only", 204)])
def test_a_stream_without_a_chunk_ends_the_http_response(serve, path, status):
    emu = serve("streaming.empty")
    r = requests.get(f"{emu.url}/lambda-url{path}", timeout=20)
    assert (r.status_code, r.content) == (status, b"")
    (record,) = emu.wait_for_records(1)
    assert record.status == "success" and record.extra["stream"]["bytes"] >= 0


def test_deferred_jobs_start_when_the_stream_has_ended(serve, tmp_path):
    emu = serve("streaming.defers")
    marker = tmp_path / "audit"
    _, events = _events(emu, {"marker": str(marker)})
    assert next(events) == {"PayloadChunk": {"Payload": b"streamed before the audit\n"}}
    list(events)
    (record,) = emu.wait_for_records(1)
    audited_at = float(marker.read_text())
    assert record.extra["stream"]["ended_at"] <= audited_at <= record.next_at
    assert "streamed for" in emu.invocation_output(record.request_id)


def test_a_50_mb_stream_keeps_the_runtime_memory_flat(serve):
    emu = serve("streaming.big", timeout=60, memory_size=512)
    emu.invoke({"mb": 1})
    (baseline,) = emu.wait_for_records(1)
    _, events = _events(emu, {"mb": 50})
    received = 0
    for event in events:
        received += len(event.get("PayloadChunk", {}).get("Payload", b""))
    assert received == 50 * 1024 * 1024
    record = emu.wait_for_records(2)[-1]
    assert record.status == "success"
    # Buffered, 50 MB would be on top of the baseline at least once; streamed, the runtime holds about one chunk.
    assert record.max_memory_used_mb < baseline.max_memory_used_mb + 25


def test_the_stream_ends_with_a_clear_trailer_past_the_size_limit():
    stream = open_stream((b"x" * 4 for _ in range(5)), "req-1")
    assert isinstance(stream, Stream)
    stream.limit = 10
    assert b"".join(stream) == b"x" * 8
    trailers = stream.trailers()
    assert trailers["Lambda-Runtime-Function-Error-Type"] == "Function.ResponseSizeTooLarge"
    assert b"maximum allowed payload size (10 bytes)" in base64.b64decode(
        trailers["Lambda-Runtime-Function-Error-Body"]
    )


def test_what_streams_and_what_does_not():
    assert open_stream({"a": 1}, "r") is None
    assert open_stream([b"a"], "r") is None  # a list is a JSON result, as before
    assert open_stream(b"raw", "r") is None
    stream = open_stream(iter(["", "é", b"", b"z"]), "r")
    assert stream is not None and b"".join(stream) == "é".encode() + b"z"
    with pytest.raises(ValueError):
        StreamingResponse([], status_code=99)
    http = open_stream(StreamingResponse(["b"], status_code=200, cookies=["c=1"]), "r")
    assert http is not None and http.content_type == "application/vnd.awslambda.http-integration-response"
    assert b"".join(http) == b'{"statusCode": 200, "headers": {}, "cookies": ["c=1"]}' + b"\0" * 8 + b"b"


def test_a_chunk_of_the_wrong_type_fails_the_stream_with_a_marshal_error():
    stream = open_stream(iter([b"ok", 42]), "r")
    assert stream is not None and b"".join(stream) == b"ok"
    assert stream.trailers()["Lambda-Runtime-Function-Error-Type"] == "Runtime.MarshalError"


def test_a_timeout_mid_stream_ends_it_with_sandbox_timedout(serve, tmp_path):
    emu = serve("streaming.gated", timeout=1)
    _, events = _events(emu, {"gate": str(tmp_path / "never")})
    received = list(events)
    assert received[0] == {"PayloadChunk": {"Payload": b"first\n"}}
    assert received[-1]["InvokeComplete"]["ErrorCode"] == "Sandbox.Timedout"


def test_a_caller_that_leaves_mid_stream_does_not_block_the_runtime(serve, tmp_path):
    emu = serve("streaming.big", timeout=60)

    def read_a_little():
        with requests.post(f"{emu.url}/lambda-url/", json={"mb": 30}, stream=True, timeout=30) as r:
            next(r.iter_content(1024))

    thread = threading.Thread(target=read_a_little)
    thread.start()
    thread.join(30)
    started = time.monotonic()
    (record,) = emu.wait_for_records(1, timeout=30)
    assert record.status == "success" and time.monotonic() - started < 30


def _leave_after_the_first_chunk(url, **options):
    with requests.request(options.pop("method", "GET"), url, stream=True, timeout=30, **options) as r:
        assert r.status_code == 200
        assert next(r.iter_content(None))
    # Leaving the `with` closes the connection mid-stream.


@pytest.mark.parametrize("api", ["function-url", "invoke-with-response-stream"])
def test_a_caller_leaving_mid_stream_closes_the_generator_and_the_report_says_so(serve, tmp_path, api):
    emu = serve("streaming.ticks", timeout=60)
    if api == "function-url":
        _leave_after_the_first_chunk(f"{emu.url}/lambda-url/", method="POST", json={"dir": str(tmp_path)})
    else:
        response, events = _events(emu, {"dir": str(tmp_path)})
        assert "PayloadChunk" in next(events)
        response["EventStream"].close()
    (record,) = emu.wait_for_records(1, timeout=30)
    # Told at its next yield, long before its 600 ticks: it never ran to its end.
    assert (tmp_path / "ended").read_text() == "GeneratorExit"
    assert record.status == "success"
    assert record.extra["stream"]["caller_left_at"] <= record.next_at
    output = emu.invocation_output(record.request_id)
    assert "Response stream cancelled after" in output and "the caller disconnected" in output
    report = next(line for line in output.splitlines() if line.startswith("REPORT"))
    assert "Stream: caller disconnected after" in report


def test_a_caller_leaving_an_asgi_stream_cancels_the_apps_body_and_its_background_task_still_runs(serve, tmp_path):
    emu = serve("web_streaming.handler", timeout=60)
    _leave_after_the_first_chunk(f"{emu.url}/lambda-url/ticks", method="POST", json={"dir": str(tmp_path)})
    (record,) = emu.wait_for_records(1, timeout=30)
    assert (tmp_path / "ended").read_text() == "CancelledError"  # Starlette cancels the body on http.disconnect
    assert record.extra["stream"]["caller_left_at"] <= float((tmp_path / "background").read_text()) <= record.next_at
    assert "Response stream cancelled after" in emu.invocation_output(record.request_id)


def test_an_asgi_streaming_response_streams_through_the_runtime_and_its_background_task_runs_after(serve, tmp_path):
    emu = serve("web_streaming.handler", timeout=30)
    gate, stamp = tmp_path / "gate", tmp_path / "stamp"
    params = {"gate": str(gate), "stamp": str(stamp)}
    with requests.get(f"{emu.url}/lambda-url/report", params=params, stream=True, timeout=30) as r:
        assert r.status_code == 200
        assert r.headers["X-Report"] == "yes" and r.headers["Content-Type"].startswith("text/plain")
        assert r.cookies.get("seen") == "1"
        body = r.iter_content(None)
        assert next(body) == b"line 1\n"
        gate.touch()  # the app yields line 2 only now
        assert b"".join(body) == b"line 2\n"
    (record,) = emu.wait_for_records(1)
    assert record.extra["stream"]["ended_at"] <= float(stamp.read_text()) <= record.next_at


def test_an_asgi_app_failing_mid_stream_ends_the_stream_with_its_error(serve):
    emu = serve("web_streaming.handler")
    event = {
        "version": "2.0",
        "rawPath": "/broken",
        "rawQueryString": "",
        "headers": {"host": "x.lambda-url.us-east-1.on.aws"},
        "requestContext": {
            "domainName": "x.lambda-url.us-east-1.on.aws",
            "http": {"method": "GET", "path": "/broken", "protocol": "HTTP/1.1", "sourceIp": "127.0.0.1"},
        },
        "isBase64Encoded": False,
    }
    _, events = _events(emu, event)
    received = list(events)
    assert b"half" in received[0]["PayloadChunk"]["Payload"]
    assert received[-1]["InvokeComplete"]["ErrorCode"] == "ValueError"


def test_past_200_mb_the_stream_ends_with_a_clear_error_trailer_not_a_broken_connection(serve):
    emu = serve("streaming.big", timeout=120, memory_size=512)
    r = emu.invoke({"mb": 201})
    assert r.headers["X-Amz-Function-Error"] == "Unhandled"
    error = r.json()
    assert error["errorType"] == "Function.ResponseSizeTooLarge"
    assert "(209715200 bytes)" in error["errorMessage"]
    (record,) = emu.wait_for_records(1)
    assert record.extra["stream"] == {
        "bytes": 200 * 1024 * 1024,
        "ended_at": record.extra["stream"]["ended_at"],
        "error_type": "Function.ResponseSizeTooLarge",
    }
    assert emu.invoke({"mb": 1}).content == b"x" * 1024 * 1024  # and the loop goes on serving


def test_tail_logs_and_the_report_cover_the_whole_stream(serve, tmp_path):
    emu = serve("streaming.gated", timeout=30)
    gate = tmp_path / "gate"
    response = emu.lambda_client().invoke_with_response_stream(
        FunctionName="function", Payload=json.dumps({"gate": str(gate)}), LogType="Tail"
    )
    events = iter(response["EventStream"])
    next(events)
    gate.touch()
    complete = list(events)[-1]["InvokeComplete"]
    (record,) = emu.wait_for_records(1)
    log = base64.b64decode(complete["LogResult"]).decode()
    assert f"REPORT RequestId: {record.request_id}" in log
    stream_ms = (record.extra["stream"]["ended_at"] - record.delivered_at) * 1000
    assert record.billed_ms >= record.duration_ms >= stream_ms


def test_jobs_deferred_mid_stream_wait_for_its_end_unless_started_now(serve, tmp_path):
    emu = serve("streaming.defers_while_streaming", timeout=30)
    held, now, gate = tmp_path / "held", tmp_path / "now", tmp_path / "gate"
    _, events = _events(emu, {"held": str(held), "now": str(now), "gate": str(gate)})
    assert next(events) == {"PayloadChunk": {"Payload": b"chunk 1\n"}}
    wait_until(now.exists, what="the start_now job to run while the stream is open", interval=0.005)
    assert not held.exists()
    gate.touch()
    list(events)
    (record,) = emu.wait_for_records(1)
    assert float(now.read_text()) < record.extra["stream"]["ended_at"] <= float(held.read_text()) <= record.next_at


def test_a_stream_to_a_slow_reader_may_take_until_the_deadline_not_just_the_post_timeout():
    """Back-pressure slows the sends down: the stream's bound is the invocation's deadline (Lambda enforces it),
    not the short post timeout meant for one small body."""
    from lambda_runtime.api.invocation import Invocation
    from lambda_runtime.invocation.streaming import post_stream

    class RecordingClient:
        post_timeout_s = 10.0

        def __init__(self) -> None:
            self.timeouts: list[float] = []

        def post_stream(self, invocation, body, content_type, timeout_s=None):
            self.timeouts.append(timeout_s)
            for _ in body:
                pass

    deadline_ms = int((time.time() + 600) * 1000)
    invocation = Invocation("req", b"{}", {"Lambda-Runtime-Deadline-Ms": str(deadline_ms)})
    stream = open_stream(iter([b"chunk"]), "req")
    client = RecordingClient()
    assert post_stream(client, invocation, stream)[0] is False
    (timeout_s,) = client.timeouts
    assert 590 < timeout_s <= 600
