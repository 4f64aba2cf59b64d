"""The local Lambda emulator, tested against the official runtime client (awslambdaric) and a tiny
hand-written runtime (tests/emulator_functions/scripted_runtime.py).

No timing asserts and no sleeps: ordering is proven causally (the runtime waits for a file the test
creates only after it has its answer) and every wait is on an event with a deadline.
"""

from __future__ import annotations

import base64
import http.client
import itertools
import json
import os
import shutil
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from lambda_runtime.emulator import Emulator, InvocationRecord
from tests.emulator_functions.harness import FUNCTIONS, emulators, group_gone, pid_gone, scripted


@pytest.fixture
def emulator() -> Iterator[Callable[..., Emulator]]:
    """Start emulators over tests/emulator_functions; all stop when the test ends."""
    with emulators() as start:
        yield start


# -- the basics ------------------------------------------------------------------------------------


def test_invoke_returns_the_result_and_a_complete_record(emulator: Callable[..., Emulator]) -> None:
    emu = emulator("basic.echo")
    r = emu.invoke({"a": 1})
    assert r.status_code == 200
    assert r.headers["X-Amz-Executed-Version"] == "$LATEST"
    assert "X-Amz-Function-Error" not in r.headers
    request_id = r.headers["X-Amzn-RequestId"]
    assert r.json() == {"event": {"a": 1}, "request_id": request_id}
    uuid.UUID(request_id, version=4)

    second = emu.invoke([1, 2])
    assert second.json()["event"] == [1, 2]

    first, other = emu.wait_for_records(2)
    assert isinstance(first, InvocationRecord)
    assert first.request_id == request_id
    assert first.status == "success" and first.error_type is None
    assert first.received_at <= first.delivered_at <= first.responded_at <= first.next_at  # type: ignore[operator]
    assert first.duration_ms == pytest.approx((first.next_at - first.delivered_at) * 1000)  # type: ignore[operator]
    assert first.billed_ms >= max(1, first.duration_ms)  # type: ignore[operator]
    assert first.billed_ms - first.duration_ms < 1  # type: ignore[operator]
    assert first.init_ms is not None and first.init_ms > 0  # cold start
    assert other.init_ms is None  # warm
    assert other.runtime_pid == first.runtime_pid
    assert emu.record(request_id) is first
    assert json.loads(first.to_json())["request_id"] == request_id
    assert first["status"] == "success" and first.get("nope") is None


def test_empty_payload_is_an_empty_object_and_raw_bytes_pass_through(emulator: Callable[..., Emulator]) -> None:
    emu = emulator("basic.raw")
    assert emu.invoke().json() == {"type": "dict", "value": {}}
    assert emu.invoke(None).json() == {"type": "NoneType", "value": "None"}
    assert emu.invoke(b"").json() == {"type": "dict", "value": {}}  # an empty body is the empty event
    assert emu.invoke(b'"text"').json() == {"type": "str", "value": "text"}
    assert emu.invoke("a string").json() == {"type": "str", "value": "a string"}


def test_context_and_environment(emulator: Callable[..., Emulator], tmp_path: Path) -> None:
    emu = emulator(
        "basic.context_info", function_name="my-fn", memory_size=256, timeout=7, env={"PATH": os.environ["PATH"]}
    )
    trace = "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1"
    r = emu.invoke(
        {},
        function="my-fn",
        client_context={"custom": {"k": "v"}},
        headers={"X-Amzn-Trace-Id": trace},
    )
    assert r.status_code == 200, r.text
    info = r.json()
    arn = "arn:aws:lambda:us-east-1:000000000000:function:my-fn"
    assert emu.function_arn == arn
    assert info["arn"] == arn
    assert info["function_name"] == "my-fn"
    assert info["function_version"] == "$LATEST"
    assert int(info["memory"]) == 256
    assert info["log_group"] == "/aws/lambda/my-fn"
    assert "[$LATEST]" in info["log_stream"]
    assert 0 < info["remaining_ms"] <= 7000
    assert info["client_context"] == {"custom": {"k": "v"}}
    assert info["trace_id"] == trace
    assert info["cwd"] == str(FUNCTIONS)
    env = info["env"]
    assert env["AWS_LAMBDA_RUNTIME_API"] == emu.runtime_api != f"127.0.0.1:{emu.port}"  # a port of its own
    assert env["_HANDLER"] == "basic.context_info"
    assert env["LAMBDA_TASK_ROOT"] == str(FUNCTIONS)
    assert env["AWS_LAMBDA_FUNCTION_TIMEOUT"] == "7"
    assert env["AWS_LAMBDA_FUNCTION_MEMORY_SIZE"] == "256"
    assert env["AWS_REGION"] == env["AWS_DEFAULT_REGION"] == "us-east-1"
    # The base environment is the one given, not the emulator's own.
    assert not any(k.startswith("PYTEST") for k in env)


def test_next_headers_sent_to_the_runtime(emulator: Callable[..., Emulator]) -> None:
    emu = emulator("unused", runtime_command=scripted("headers"), timeout=5)
    context = base64.b64encode(b'{"custom": {"a": 1}}').decode()
    before = time.time()
    headers = emu.invoke({"x": 1}, headers={"X-Amz-Client-Context": context}).json()
    after = time.time()
    assert headers["Content-Type"] == "application/json"
    assert headers["Lambda-Runtime-Invoked-Function-Arn"] == emu.function_arn
    assert json.loads(headers["Lambda-Runtime-Client-Context"]) == {"custom": {"a": 1}}
    deadline = int(headers["Lambda-Runtime-Deadline-Ms"])
    assert emu.wait_for_records(1)[0].deadline_ms == deadline
    assert int(before * 1000) + 5000 <= deadline <= int(after * 1000) + 5000
    trace = headers["Lambda-Runtime-Trace-Id"]
    root, parent, sampled = trace.split(";")
    assert root.startswith("Root=1-") and len(root.split("-")[1]) == 8 and len(root.split("-")[2]) == 24
    assert parent.startswith("Parent=") and len(parent) == len("Parent=") + 16
    assert sampled == "Sampled=0"
    record = emu.wait_for_records(1)[0]
    assert headers["Lambda-Runtime-Aws-Request-Id"] == record.request_id
    assert headers["Lambda-Runtime-Invocation-Id"] == record.invocation_id != record.request_id
    assert "Lambda-Runtime-Cognito-Identity" not in headers


# -- answering at /response ------------------------------------------------------------------------


def test_caller_is_answered_before_the_runtime_asks_for_the_next_event(
    emulator: Callable[..., Emulator], tmp_path: Path
) -> None:
    emu = emulator("unused", runtime_command=scripted("wait_file"))
    gate = tmp_path / "gate"
    r = emu.invoke({"file": str(gate)})
    # The runtime cannot call /next before the gate file exists, and only we create it, now:
    assert r.status_code == 200
    assert r.json() == {"mode": "wait_file", "event": {"file": str(gate)}}
    assert emu.records() == []  # the invocation is not over: no /next yet
    opened_at = time.time()
    gate.touch()
    (record,) = emu.wait_for_records(1)
    assert record.status == "success"
    assert record.responded_at <= opened_at <= record.next_at  # type: ignore[operator]
    assert "file seen" in emu.runtime_output()


def test_responded_at_precedes_next_at_with_the_official_client(emulator: Callable[..., Emulator]) -> None:
    emu = emulator("basic.stamp")
    responses = [emu.invoke({"i": i}) for i in range(3)]
    records = emu.wait_for_records(3)
    for response, record in zip(responses, records, strict=True):
        assert response.headers["X-Amzn-RequestId"] == record.request_id
        ran_at = response.json()["t"]
        assert record.delivered_at <= ran_at <= record.responded_at <= record.next_at  # type: ignore[operator]


# -- errors ----------------------------------------------------------------------------------------


def test_function_error_is_a_boto3_function_error(emulator: Callable[..., Emulator]) -> None:
    emu = emulator("basic.fail")
    client = emu.lambda_client()
    result = client.invoke(FunctionName="function", Payload=b'{"a": 1}')
    assert result["StatusCode"] == 200
    assert result["FunctionError"] == "Unhandled"
    assert result["ExecutedVersion"] == "$LATEST"
    body = json.loads(result["Payload"].read())
    assert body["errorType"] == "ValueError"
    assert body["errorMessage"] == "boom"
    (record,) = emu.wait_for_records(1)
    assert record.status == "error"
    assert record.error_type == "ValueError"
    assert record.request_id == result["ResponseMetadata"]["RequestId"]


def test_boto3_success_and_unknown_function(emulator: Callable[..., Emulator]) -> None:
    emu = emulator("basic.echo")
    client = emu.lambda_client()
    result = client.invoke(FunctionName="function", Payload=json.dumps({"b": 2}))
    assert "FunctionError" not in result
    assert json.loads(result["Payload"].read())["event"] == {"b": 2}
    same = client.invoke(FunctionName=emu.function_arn, Payload=b"{}", Qualifier="$LATEST")
    assert same["StatusCode"] == 200
    with pytest.raises(client.exceptions.ResourceNotFoundException):
        client.invoke(FunctionName="other", Payload=b"{}")


def test_init_error_reaches_the_caller_and_the_next_invocation_reinits(emulator: Callable[..., Emulator]) -> None:
    emu = emulator("basic.missing")
    first = emu.invoke({})
    second = emu.invoke({})
    for r in (first, second):
        assert r.status_code == 200
        assert r.headers["X-Amz-Function-Error"] == "Unhandled"
        assert r.json()["errorType"] == "Runtime.HandlerNotFound"
        assert "Handler 'missing' missing on module 'basic'" in r.json()["errorMessage"]
    a, b = emu.wait_for_records(2)
    assert a.status == b.status == "init_error"
    assert a.error_type == "Runtime.HandlerNotFound"
    assert a.delivered_at is None and a.duration_ms is None
    assert a.init_ms is not None and b.init_ms is not None
    assert a.runtime_pid != b.runtime_pid  # a fresh runtime for each


def test_import_error_then_recovery(emulator: Callable[..., Emulator], tmp_path: Path) -> None:
    flag = tmp_path / "fail-init"
    flag.touch()
    emu = emulator("flaky_init.handler", env={**os.environ, "EMU_TEST_FAIL_INIT": str(flag)})
    r = emu.invoke({})
    assert r.headers["X-Amz-Function-Error"] == "Unhandled"
    assert r.json()["errorType"] == "Runtime.ImportModuleError"
    assert "Unable to import module 'flaky_init'" in r.json()["errorMessage"]
    ok = emu.invoke({})
    assert "X-Amz-Function-Error" not in ok.headers
    assert ok.json()["ok"] is True
    failed, succeeded = emu.wait_for_records(2)
    assert (failed.status, succeeded.status) == ("init_error", "success")
    assert succeeded.init_ms is not None  # a new init
    assert succeeded.runtime_pid == ok.json()["pid"] != failed.runtime_pid


def test_prestarted_init_error_goes_to_the_next_caller(emulator: Callable[..., Emulator]) -> None:
    emu = emulator("basic.missing", prestart=True)
    emu.wait_for_output("HandlerNotFound")
    r = emu.invoke({})
    assert r.json()["errorType"] == "Runtime.HandlerNotFound"
    (record,) = emu.wait_for_records(1)
    assert record.status == "init_error"


def test_runtime_crash_is_an_exit_error_and_the_next_invocation_works(emulator: Callable[..., Emulator]) -> None:
    emu = emulator("crashy.handler")
    crashed = emu.invoke({"exit": 3})
    assert crashed.status_code == 200
    assert crashed.headers["X-Amz-Function-Error"] == "Unhandled"
    request_id = crashed.headers["X-Amzn-RequestId"]
    assert crashed.json() == {
        "errorType": "Runtime.ExitError",
        "errorMessage": f"RequestId: {request_id} Error: Runtime exited with error: exit status 3",
    }
    ok = emu.invoke({})
    assert ok.json()["ok"] is True
    crash, success = emu.wait_for_records(2)
    assert crash.status == "crash" and crash.exit_code == 3 and crash.error_type == "Runtime.ExitError"
    assert crash.next_at is not None and crash.duration_ms is not None
    assert success.status == "success" and success.init_ms is not None
    assert success.runtime_pid == ok.json()["pid"] != crash.runtime_pid
    assert pid_gone(crash.runtime_pid)  # type: ignore[arg-type]
    assert "exiting with 3" in emu.invocation_output(request_id)


def test_exit_status_zero_and_signals_are_worded_like_lambda(emulator: Callable[..., Emulator]) -> None:
    emu = emulator("crashy.handler")
    assert emu.invoke({"exit": 0}).json()["errorMessage"].endswith("Error: Runtime exited without providing a reason")


def test_runtime_asking_for_next_without_answering(emulator: Callable[..., Emulator]) -> None:
    emu = emulator("unused", runtime_command=scripted("no_response"))
    r = emu.invoke({})
    assert r.headers["X-Amz-Function-Error"] == "Unhandled"
    assert r.json()["errorType"] == "Runtime.NoResponse"
    (record,) = emu.wait_for_records(1)
    assert record.status == "error"


def test_second_post_is_refused_and_the_first_answer_stands(emulator: Callable[..., Emulator]) -> None:
    emu = emulator("unused", runtime_command=scripted("double_post"))
    r = emu.invoke({})
    assert r.json() == {"answer": "first"}
    assert "X-Amz-Function-Error" not in r.headers
    output = emu.wait_for_output("second body ")
    assert "double_post statuses 202 410 410" in output
    second_body = json.loads(output.split("second body ", 1)[1].splitlines()[0])
    assert set(second_body) == {"errorMessage", "errorType"}
    (record,) = emu.wait_for_records(1)
    assert record.status == "success"


def test_invocation_id_must_match_when_sent(emulator: Callable[..., Emulator]) -> None:
    emu = emulator("unused", runtime_command=scripted("bad_invocation_id"))
    assert emu.invoke({}).json() == "right"
    assert "invocation id statuses 400 202" in emu.wait_for_output("invocation id statuses")


def test_posts_for_unknown_or_finished_invocations(emulator: Callable[..., Emulator]) -> None:
    emu = emulator("basic.echo")
    request_id = emu.invoke({}).headers["X-Amzn-RequestId"]
    emu.wait_for_records(1)
    for rid, expected in (("not-a-real-id", 400), (request_id, 410)):
        conn = http.client.HTTPConnection(emu.runtime_api, timeout=30)
        conn.request("POST", f"/2018-06-01/runtime/invocation/{rid}/response", body=b"{}")
        response = conn.getresponse()
        assert response.status == expected
        assert set(json.loads(response.read())) == {"errorMessage", "errorType"}
        conn.close()


# -- concurrency -----------------------------------------------------------------------------------


def test_concurrent_invocations_wait_their_turn(emulator: Callable[..., Emulator]) -> None:
    emu = emulator("basic.slow")
    results: dict[int, Any] = {}

    def call(i: int) -> None:
        results[i] = emu.invoke({"sleep": 0.2, "i": i})

    threads = [threading.Thread(target=call, args=(i,)) for i in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert sorted(results) == [0, 1, 2]
    assert all(r.status_code == 200 and r.json() == {"slept": 0.2} for r in results.values())
    records = emu.wait_for_records(3)
    assert len({r.runtime_pid for r in records}) == 1
    for earlier, later in itertools.pairwise(records):
        assert earlier.next_at <= later.delivered_at  # type: ignore[operator]


# -- other callers ---------------------------------------------------------------------------------


def test_raw_http_post_like_curl(emulator: Callable[..., Emulator]) -> None:
    emu = emulator("basic.echo")
    conn = http.client.HTTPConnection("127.0.0.1", emu.port, timeout=30)
    conn.request("POST", "/2015-03-31/functions/function/invocations", body=b'{"a":1}')
    response = conn.getresponse()
    assert response.status == 200
    assert json.loads(response.read())["event"] == {"a": 1}
    conn.close()


@pytest.mark.skipif(shutil.which("curl") is None, reason="no curl")
def test_curl(emulator: Callable[..., Emulator]) -> None:
    emu = emulator("basic.echo")
    out = subprocess.run(
        ["curl", "-sS", "--noproxy", "*", "-d", '{"a":1}', emu.invoke_url],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    ).stdout
    assert json.loads(out)["event"] == {"a": 1}


AWS_CLI = Path(sys.executable).parent / "aws"


@pytest.mark.skipif(not AWS_CLI.exists(), reason="no aws cli in the venv")
def test_aws_cli_invoke(emulator: Callable[..., Emulator], tmp_path: Path) -> None:
    emu = emulator("basic.echo")
    out = tmp_path / "out.json"
    env = {
        **os.environ,
        "AWS_ACCESS_KEY_ID": "x",
        "AWS_SECRET_ACCESS_KEY": "x",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_CONFIG_FILE": str(tmp_path / "none"),
        "AWS_SHARED_CREDENTIALS_FILE": str(tmp_path / "none"),
    }
    version = subprocess.run([str(AWS_CLI), "--version"], capture_output=True, text=True, timeout=60, env=env)
    # v1 sends a --payload string as it is and does not know the v2 option that asks for that.
    v1 = (version.stdout + version.stderr).startswith("aws-cli/1.")
    binary_format = [] if v1 else ["--cli-binary-format", "raw-in-base64-out"]
    done = subprocess.run(
        [
            str(AWS_CLI),
            "lambda",
            "invoke",
            "--endpoint-url",
            emu.url,
            "--function-name",
            "function",
            *binary_format,
            "--payload",
            '{"cli": true}',
            str(out),
        ],
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
    )
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["StatusCode"] == 200
    assert json.loads(out.read_text())["event"] == {"cli": True}


# -- test hooks ------------------------------------------------------------------------------------


def test_hook_overrides_a_next_header(emulator: Callable[..., Emulator]) -> None:
    emu = emulator("basic.raw", test_hooks=True)
    r = emu.invoke(b'{"a": 1}', next_headers={"Content-Type": "application/octet-stream"})
    assert r.json() == {"type": "bytes", "value": "b'{\"a\": 1}'"}


def test_hook_removes_a_header_and_sets_a_new_one(emulator: Callable[..., Emulator]) -> None:
    emu = emulator("unused", runtime_command=scripted("headers"), test_hooks=True)
    headers = emu.invoke(
        {}, next_headers={"Lambda-Runtime-Trace-Id": None, "Lambda-Runtime-Cognito-Identity": "{bad"}
    ).json()
    assert "Lambda-Runtime-Trace-Id" not in headers
    assert headers["Lambda-Runtime-Cognito-Identity"] == "{bad"


def test_hooks_are_ignored_unless_enabled(emulator: Callable[..., Emulator]) -> None:
    emu = emulator("unused", runtime_command=scripted("headers"))
    headers = emu.invoke({}, next_headers={"Lambda-Runtime-Trace-Id": None}).json()
    assert "Lambda-Runtime-Trace-Id" in headers


def test_hook_removing_the_request_id_still_routes_the_answer(emulator: Callable[..., Emulator]) -> None:
    emu = emulator("unused", runtime_command=scripted("no_request_id"), test_hooks=True)
    r = emu.invoke({"x": 1}, next_headers={"Lambda-Runtime-Aws-Request-Id": None})
    assert r.json() == {"mode": "no_request_id", "event": {"x": 1}}
    assert "posted to None status 202" in emu.wait_for_output("posted to None")


def test_malformed_hook_is_a_400(emulator: Callable[..., Emulator]) -> None:
    emu = emulator("basic.echo", test_hooks=True)
    r = emu.invoke({}, headers={"X-Emulator-Next-Headers": "{not json"})
    assert r.status_code == 400


# -- output, records file, shutdown ----------------------------------------------------------------


def test_output_is_captured_and_attributed(emulator: Callable[..., Emulator], tmp_path: Path) -> None:
    report = tmp_path / "report.jsonl"
    emu = emulator("basic.stamp", report_file=str(report))
    first = emu.invoke({}).headers["X-Amzn-RequestId"]
    second = emu.invoke({}).headers["X-Amzn-RequestId"]
    assert f"stamp {second}" in emu.wait_for_output(f"stamp {second}")
    assert f"stamp {first}" in emu.runtime_output()
    emu.wait_for_records(2)
    emu.stop()
    lines = [json.loads(line) for line in report.read_text().splitlines()]
    assert [line["request_id"] for line in lines] == [first, second]
    assert {
        "status",
        "received_at",
        "delivered_at",
        "responded_at",
        "next_at",
        "duration_ms",
        "billed_ms",
        "init_ms",
        "error_type",
    } <= set(lines[0])


def test_wait_helpers_time_out(emulator: Callable[..., Emulator]) -> None:
    emu = emulator("basic.echo")
    with pytest.raises(TimeoutError):
        emu.wait_for_records(1, timeout=0.01)
    with pytest.raises(TimeoutError):
        emu.wait_for_output("never printed", timeout=0.01)


def test_stop_kills_a_runtime_that_ignores_sigterm_and_leaks_nothing(tmp_path: Path) -> None:
    threads_before = set(threading.enumerate())
    with Emulator(
        "unused", task_root=str(FUNCTIONS), runtime_command=scripted("ignore_sigterm"), kill_grace=0.5
    ) as emu:
        assert emu.invoke({}).status_code == 200
        pid = emu.runtime_pid
        assert pid is not None
    assert group_gone(pid)
    assert pid_gone(pid)
    leftover = [t for t in threading.enumerate() if t not in threads_before]
    for t in leftover:  # only the asyncio child watcher's waitpid threads may still be finishing
        assert t.name.startswith("waitpid"), t.name
        t.join(10)
        assert not t.is_alive()


def test_unanswered_callers_get_an_answer_at_shutdown(tmp_path: Path) -> None:
    emu = Emulator("unused", task_root=str(FUNCTIONS), runtime_command=scripted("wait_file")).start()
    gate = tmp_path / "never"
    first = emu.invoke({"file": str(gate)})  # answered; the runtime now waits for a file that never comes
    assert first.status_code == 200
    results: list[Any] = []
    caller = threading.Thread(target=lambda: results.append(emu.invoke({})))
    caller.start()
    emu.wait_for_queued(1)  # the second event waits behind the busy runtime
    emu.stop()
    caller.join(30)
    assert results and results[0].status_code == 503
    (record,) = emu.records()
    assert record.status == "crash" and record.error_type is None  # answered, then killed at shutdown


# -- the command line ------------------------------------------------------------------------------


def test_cli_serve_answers_and_stops_cleanly_on_sigterm(tmp_path: Path) -> None:
    report = tmp_path / "report.jsonl"
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "lambda_runtime.emulator.cli",
            "serve",
            "basic.echo",
            "--port",
            "0",
            "--runtime-command",
            f"{sys.executable} -m awslambdaric basic.echo",
            "--report-file",
            str(report),
            "--log-level",
            "DEBUG",
            "--prestart",  # the runtime's pid is read from the log before any invocation
        ],
        cwd=FUNCTIONS,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stderr is not None
        lines: list[str] = []
        port = runtime_pid = None
        for line in process.stderr:
            lines.append(line)
            if "listening on http://127.0.0.1:" in line:
                port = int(line.split("127.0.0.1:")[1].split(":")[0])
            if "runtime started, pid " in line:
                runtime_pid = int(line.split("pid ")[1].split(":")[0])
            if port and runtime_pid:
                break
        assert port and runtime_pid, "".join(lines)
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        conn.request("POST", "/2015-03-31/functions/function/invocations", body=b'{"a":1}')
        response = conn.getresponse()
        assert response.status == 200
        body = json.loads(response.read())
        conn.close()
        assert body["event"] == {"a": 1}
        for line in process.stderr:  # the invocation's log line comes when the runtime asks for more
            lines.append(line)
            if body["request_id"] in line:
                assert " success " in line
                break
        process.terminate()
        rest = process.communicate(timeout=30)[1]
        assert process.returncode == 0, "".join(lines) + rest
        assert "emulator stopped" in rest
        assert pid_gone(runtime_pid) and group_gone(runtime_pid)
        record = json.loads(report.read_text().splitlines()[0])
        assert record["request_id"] == body["request_id"]
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()


# -- more failure modes and invocation types ---------------------------------------------------------


def test_runtime_command_that_cannot_start(emulator: Callable[..., Emulator], tmp_path: Path) -> None:
    emu = emulator("basic.echo", runtime_command=[str(tmp_path / "no-such-bootstrap")])
    r = emu.invoke({})
    assert r.headers["X-Amz-Function-Error"] == "Unhandled"
    assert r.json()["errorType"] == "Runtime.InvalidEntrypoint"
    (record,) = emu.wait_for_records(1)
    assert record.status == "init_error"


def test_exit_during_init(emulator: Callable[..., Emulator]) -> None:
    emu = emulator("x.y", runtime_command=[sys.executable, "-c", "print('init output'); raise SystemExit(5)"])
    r = emu.invoke({})
    request_id = r.headers["X-Amzn-RequestId"]
    assert r.json() == {
        "errorType": "Runtime.ExitError",
        "errorMessage": f"RequestId: {request_id} Error: Runtime exited with error: exit status 5",
    }
    (record,) = emu.wait_for_records(1)
    assert (record.status, record.exit_code) == ("init_error", 5)
    assert record.runtime_pid is not None
    output = emu.invocation_output(request_id)
    assert output.startswith("init output\nINIT_REPORT Init Duration: ")
    assert output.endswith("\tPhase: init\tStatus: error\tError Type: Runtime.ExitError\n")


def test_event_and_dry_run_invocations(emulator: Callable[..., Emulator]) -> None:
    emu = emulator("basic.stamp")
    r = emu.invoke({"async": True}, invocation_type="Event")
    assert r.status_code == 202
    request_id = r.headers["X-Amzn-RequestId"]
    record = emu.record(request_id)
    assert record.status == "success" and record.invocation_type == "Event"
    assert f"stamp {request_id}" in emu.runtime_output()
    assert emu.invoke({}, invocation_type="DryRun").status_code == 204
    assert emu.invoke({}, invocation_type="Nope").status_code == 400


def test_payload_limits(emulator: Callable[..., Emulator]) -> None:
    from lambda_runtime.emulator import MAX_SYNC_PAYLOAD

    emu = emulator("basic.big")
    too_big = emu.invoke(b'"' + b"x" * MAX_SYNC_PAYLOAD + b'"')
    assert too_big.status_code == 413
    assert too_big.headers["X-Amzn-ErrorType"] == "RequestEntityTooLargeException"
    r = emu.invoke({"size": MAX_SYNC_PAYLOAD + 10})
    assert r.headers["X-Amz-Function-Error"] == "Unhandled"
    assert r.json()["errorType"] == "Function.ResponseSizeTooLarge"
    ok = emu.invoke({"size": 5_000_000})
    assert ok.status_code == 200 and len(ok.json()) == 5_000_000


def test_events_wait_in_order_behind_a_busy_runtime(emulator: Callable[..., Emulator], tmp_path: Path) -> None:
    emu = emulator("unused", runtime_command=scripted("wait_file"))
    gate = tmp_path / "gate"
    assert emu.invoke({"file": str(gate), "n": 0}).status_code == 200  # the runtime now waits for the gate
    results: dict[int, Any] = {}

    def call(n: int) -> None:
        results[n] = emu.invoke({"file": str(gate), "n": n})

    callers = []
    for n in (1, 2):
        callers.append(threading.Thread(target=call, args=(n,)))
        callers[-1].start()
        emu.wait_for_queued(n)
    assert results == {}
    gate.touch()
    for caller in callers:
        caller.join(60)
    assert [results[n].json()["event"]["n"] for n in (1, 2)] == [1, 2]
    records = emu.wait_for_records(3)
    assert [r.received_at for r in records] == sorted(r.received_at for r in records)
    assert emu.queued() == 0
