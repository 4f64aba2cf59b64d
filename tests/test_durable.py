"""Durable functions (AWS's durable execution SDK) on the runtime and the emulator, end to end: `serve --durable`
runs AWS's local durable execution service beside the emulator, and a caller's Invoke starts an execution."""

from __future__ import annotations

import importlib.util
import json
import logging
import os
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import boto3
import botocore.exceptions
import pytest
from botocore.config import Config

from lambda_runtime.emulator import Emulator
from lambda_runtime.emulator.durable import RUNNER_MODULE


@pytest.fixture(autouse=True)
def durable_sdk() -> None:
    """These tests need the `[durable]` extra; in CI (CI=true) its absence is a failure, not a skip."""
    if (
        importlib.util.find_spec(RUNNER_MODULE) is None
        or importlib.util.find_spec("aws_durable_execution_sdk_python") is None
    ):
        if os.environ.get("CI") == "true":
            pytest.fail("the [durable] extra is not installed: `make install` installs it with the dev extra")
        pytest.skip("AWS's durable execution SDK and its testing SDK are not installed (the [durable] extra)")


def lambda_client(url: str) -> Any:
    return boto3.client(
        "lambda",
        endpoint_url=url,
        region_name="us-east-1",
        aws_access_key_id="local",
        aws_secret_access_key="local",
        config=Config(read_timeout=120, retries={"max_attempts": 0}),
    )


def lines_of(emu: Emulator, logger_name: str) -> list[dict[str, Any]]:
    lines = [json.loads(line) for line in emu.runtime_output().splitlines() if line.startswith("{")]
    return [line for line in lines if line.get("logger") == logger_name]


def test_invoke_starts_an_execution_that_steps_waits_and_answers_with_its_result(
    serve: Callable[..., Emulator],
) -> None:
    emu = serve("durable_fn.workflow", durable=True, timeout=30)
    answer = lambda_client(emu.url).invoke(FunctionName="function", Payload=json.dumps({"name": "ada", "wait": 1}))
    payload = json.loads(answer["Payload"].read())
    assert "FunctionError" not in answer, payload
    assert payload == {"greeting": "hello ada", "loud": "HELLO ADA"}
    arn = answer["DurableExecutionArn"]
    # The caller's endpoint serves the durable execution API too: the execution, and its history.
    client = lambda_client(emu.url)
    assert client.get_durable_execution(DurableExecutionArn=arn)["Status"] == "SUCCEEDED"
    events = [event["EventType"] for event in client.get_durable_execution_history(DurableExecutionArn=arn)["Events"]]
    assert events[0] == "ExecutionStarted" and events[-1] == "ExecutionSucceeded"
    assert "WaitStarted" in events and "WaitSucceeded" in events
    # The wait ended the first invocation (PENDING); the service invoked the function again to finish.
    records = emu.wait_for_records(2)
    assert [record.status for record in records] == ["success", "success"]
    # Each step logged from the SDK's worker thread, with its own invocation's id (Text format: the third field).
    for record, step in zip(records, ("step greet ran for ada", "step shout ran for hello ada"), strict=True):
        (line,) = [line for line in emu.invocation_output(record.request_id).splitlines() if step in line]
        assert line.split("\t")[2] == record.request_id and "dex-handler" in line, line


def test_event_invoke_answers_202_with_the_execution_arn_and_the_execution_runs(serve: Callable[..., Emulator]) -> None:
    emu = serve("durable_fn.workflow", durable=True, timeout=30)
    client = lambda_client(emu.url)
    answer = client.invoke(
        FunctionName="function", InvocationType="Event", Payload=json.dumps({"name": "bo", "wait": 1})
    )
    assert answer["StatusCode"] == 202
    arn = answer["DurableExecutionArn"]
    deadline = time.monotonic() + 60
    while (execution := client.get_durable_execution(DurableExecutionArn=arn))["Status"] == "RUNNING":
        assert time.monotonic() < deadline, execution
        time.sleep(0.1)
    assert execution["Status"] == "SUCCEEDED", execution
    assert json.loads(execution["Result"]) == {"greeting": "hello bo", "loud": "HELLO BO"}


def test_a_failed_workflow_is_a_function_error_for_the_caller(serve: Callable[..., Emulator]) -> None:
    emu = serve("durable_fn.failing", durable=True, timeout=30)
    answer = lambda_client(emu.url).invoke(FunctionName="function", Payload=json.dumps({"name": "cy"}))
    assert answer["FunctionError"] == "Unhandled"
    error = json.loads(answer["Payload"].read())
    assert error["errorType"] == "ValueError" and "no workflow for cy" in error["errorMessage"]
    assert error["durableExecutionStatus"] == "FAILED"


def test_managed_instances_step_logs_carry_the_request_id(serve: Callable[..., Emulator]) -> None:
    emu = serve("durable_fn.workflow", durable=True, timeout=30, max_concurrency=2)
    answer = lambda_client(emu.url).invoke(FunctionName="function", Payload=json.dumps({"name": "di", "wait": 1}))
    assert json.loads(answer["Payload"].read()) == {"greeting": "hello di", "loud": "HELLO DI"}
    ids = {record.request_id for record in emu.wait_for_records(2)}
    steps = lines_of(emu, "durable_fn")
    ran = {line["message"].split(" in ")[0] for line in steps}
    assert ran == {"step greet ran for di", "step shout ran for hello di"}
    assert all("dex-handler" in line["message"] for line in steps)  # the SDK's own thread, not the runtime's
    assert {line["requestId"] for line in steps} <= ids and all(line["requestId"] for line in steps), steps


def test_without_durable_the_checkpoint_api_answers_an_error_naming_the_option(
    serve: Callable[..., Emulator], caplog: pytest.LogCaptureFixture
) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    # The function's SDK is pointed at the emulator, which was started without --durable.
    env = {
        "AWS_ENDPOINT_URL_LAMBDA": f"http://127.0.0.1:{port}",
        "AWS_ACCESS_KEY_ID": "local",
        "AWS_SECRET_ACCESS_KEY": "local",
    }
    emu = serve("durable_fn.workflow", port=port, env=env, timeout=30)
    execution = "arn:aws:lambda:us-east-1:000000000000:function:function:$LATEST/durable-execution/probe/inv-1"
    envelope = {
        "DurableExecutionArn": execution,
        "CheckpointToken": "token",
        "InitialExecutionState": {
            "Operations": [
                {
                    "Id": "inv-1",
                    "Type": "EXECUTION",
                    "Status": "STARTED",
                    "StartTimestamp": 1796676912000,
                    "ExecutionDetails": {"InputPayload": json.dumps({"name": "ed"})},
                }
            ],
            "NextMarker": "",
        },
    }
    with caplog.at_level(logging.WARNING, logger="lambda_runtime.emulator"):
        for _ in range(2):
            answer = emu.invoke(envelope)
            assert answer.json()["Status"] == "FAILED", answer.text
            assert "lambda-runtime serve --durable" in answer.json()["Error"]["ErrorMessage"], answer.text
    warnings = [r.getMessage() for r in caplog.records if "--durable" in r.getMessage()]
    assert len(warnings) == 1, warnings  # once, not once per call
    with pytest.raises(botocore.exceptions.ClientError) as refused:
        lambda_client(emu.url).get_durable_execution(DurableExecutionArn=execution)
    assert refused.value.response["Error"]["Code"] == "ResourceNotFoundException"
    assert "--durable" in refused.value.response["Error"]["Message"]


def test_serve_durable_without_the_testing_sdk_says_what_to_install(tmp_path: Path) -> None:
    # As if the testing SDK were not installed: a module that is None in sys.modules cannot be found or imported.
    script = (
        f"import sys; sys.modules[{RUNNER_MODULE!r}] = None\n"
        "from lambda_runtime.emulator.cli import main\n"
        "sys.exit(main(['serve', 'app.handler', '--durable', '--port', '0', '--task-root', sys.argv[1]]))"
    )
    done = subprocess.run([sys.executable, "-c", script, str(tmp_path)], capture_output=True, text=True, timeout=60)
    assert done.returncode == 2, done.stderr
    assert "--durable needs" in done.stderr and "lambda-runtime[durable]" in done.stderr
