"""The emulator's Invoke API as callers see it (boto3 first): payload limits, Tail logs, caller extras."""

from __future__ import annotations

import base64
import json
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError

from lambda_runtime.emulator import MAX_ASYNC_PAYLOAD, MAX_SYNC_PAYLOAD, MAX_SYNC_REQUEST, Emulator
from tests.emulator_functions.harness import emulators, scripted


@pytest.fixture
def emulator() -> Iterator[Callable[..., Emulator]]:
    with emulators() as start:
        yield start


def string_payload(total: int) -> bytes:
    """A JSON string event of exactly ``total`` bytes."""
    return b'"' + b"x" * (total - 2) + b'"'


# -- 5. limits -------------------------------------------------------------------------------------


def too_large(raised: pytest.ExceptionInfo[ClientError]) -> str:
    """The message of a RequestEntityTooLargeException. botocore's model names that shape
    RequestTooLargeException, so with real Lambda too boto3 raises a ClientError with this code."""
    error = raised.value.response["Error"]
    assert error["Code"] == "RequestEntityTooLargeException"
    assert raised.value.response["ResponseMetadata"]["HTTPStatusCode"] == 413
    return str(error["Message"])


def test_sync_request_limit_is_exact_and_boto3_raises(emulator: Callable[..., Emulator]) -> None:
    assert MAX_SYNC_REQUEST == 6 * 1024 * 1024 == MAX_SYNC_PAYLOAD - 100  # 6 MB as the quotas page counts it
    emu = emulator("basic.size")
    client = emu.lambda_client()
    at_limit = client.invoke(FunctionName="function", Payload=string_payload(MAX_SYNC_REQUEST))
    assert "FunctionError" not in at_limit
    assert json.loads(at_limit["Payload"].read()) == {"size": MAX_SYNC_REQUEST - 2}  # whole, not truncated
    with pytest.raises(ClientError) as raised:
        client.invoke(FunctionName="function", Payload=string_payload(MAX_SYNC_REQUEST + 1))
    assert too_large(raised) == "Request must be smaller than 6291456 bytes for the InvokeFunction operation"
    raw = emu.invoke(string_payload(MAX_SYNC_REQUEST + 1))
    assert raw.status_code == 413
    assert raw.json()["Type"] == "User" and set(raw.json()) == {"Type", "message"}
    assert len(emu.wait_for_records(1)) == 1  # the refused ones never reached the function


def test_event_request_limit_is_1_mb(emulator: Callable[..., Emulator], tmp_path: Path) -> None:
    emu = emulator("basic.size", on_success=str(tmp_path / "ok.jsonl"))
    client = emu.lambda_client()
    accepted = client.invoke(FunctionName="function", InvocationType="Event", Payload=string_payload(MAX_ASYNC_PAYLOAD))
    assert accepted["StatusCode"] == 202
    with pytest.raises(ClientError) as raised:
        client.invoke(FunctionName="function", InvocationType="Event", Payload=string_payload(MAX_ASYNC_PAYLOAD + 1))
    assert "payload is too large for the Event invocation type" in too_large(raised)
    # The same size is fine synchronously: the limit is the invocation type's.
    sync = client.invoke(FunctionName="function", Payload=string_payload(MAX_ASYNC_PAYLOAD + 1))
    assert json.loads(sync["Payload"].read()) == {"size": MAX_ASYNC_PAYLOAD - 1}
    (outcome,) = emu.wait_for_async_outcomes(1)
    assert outcome["requestContext"]["condition"] == "Success"
    assert outcome["responsePayload"] == {"size": MAX_ASYNC_PAYLOAD - 2}


@pytest.mark.parametrize("invocation_type", ["RequestResponse", "Event"])
def test_invalid_json_is_refused_as_lambda_does(emulator: Callable[..., Emulator], invocation_type: str) -> None:
    emu = emulator("basic.echo")
    client = emu.lambda_client()
    with pytest.raises(client.exceptions.InvalidRequestContentException) as raised:
        client.invoke(FunctionName="function", InvocationType=invocation_type, Payload=b"{nope")
    response = raised.value.response
    assert response["ResponseMetadata"]["HTTPStatusCode"] == 400
    assert response["Error"]["Message"].startswith(
        "Could not parse request body into json: Could not parse payload into json: "
    )
    raw = emu.invoke(b"\xff\xfe not utf-8")
    assert raw.status_code == 400 and set(raw.json()) == {"Type", "message"}
    assert emu.invoke({"a": 1}).json()["event"] == {"a": 1}  # the first event the function ever saw
    assert len(emu.wait_for_records(1)) == 1


def test_test_hooks_let_invalid_json_through_to_test_runtimes(emulator: Callable[..., Emulator]) -> None:
    emu = emulator("basic.echo", test_hooks=True)
    r = emu.invoke(b"{nope")
    assert r.headers["X-Amz-Function-Error"] == "Unhandled"
    assert r.json()["errorType"] == "Runtime.UnmarshalError"


def test_response_limit_is_exact(emulator: Callable[..., Emulator]) -> None:
    emu = emulator("basic.big")
    client = emu.lambda_client()
    ok = client.invoke(FunctionName="function", Payload=json.dumps({"size": MAX_SYNC_PAYLOAD - 2}))
    assert "FunctionError" not in ok
    assert len(ok["Payload"].read()) == MAX_SYNC_PAYLOAD
    too_big = client.invoke(FunctionName="function", Payload=json.dumps({"size": MAX_SYNC_PAYLOAD - 1}))
    assert too_big["FunctionError"] == "Unhandled"
    error = json.loads(too_big["Payload"].read())
    assert error["errorType"] == "Function.ResponseSizeTooLarge"
    assert str(MAX_SYNC_PAYLOAD + 1) in error["errorMessage"]


def test_runtime_gets_413_for_an_oversized_response(emulator: Callable[..., Emulator]) -> None:
    emu = emulator("unused", runtime_command=scripted("big_response"))
    r = emu.invoke({})
    assert r.headers["X-Amz-Function-Error"] == "Unhandled"
    assert r.json()["errorType"] == "Function.ResponseSizeTooLarge"
    assert "big response status 413" in emu.wait_for_output("big response status")
    (record,) = emu.wait_for_records(1)
    assert record.status == "error" and record.error_type == "Function.ResponseSizeTooLarge"


# -- 8. caller extras ------------------------------------------------------------------------------


def decoded_tail(result: dict[str, object]) -> str:
    return base64.b64decode(str(result["LogResult"])).decode()


def test_tail_log_has_start_output_end_and_report(emulator: Callable[..., Emulator]) -> None:
    emu = emulator("basic.stamp")
    client = emu.lambda_client()
    cold = client.invoke(FunctionName="function", Payload=b"{}", LogType="Tail")
    warm = client.invoke(FunctionName="function", Payload=b"{}", LogType="Tail")
    for result in (cold, warm):
        request_id = result["ResponseMetadata"]["RequestId"]
        lines = decoded_tail(result).splitlines()
        start = lines.index(f"START RequestId: {request_id} Version: $LATEST")
        assert lines[start + 1] == f"stamp {request_id}"
        assert lines[-2] == f"END RequestId: {request_id}"  # as Lambda's: the invocation is over
        assert lines[-1].startswith(f"REPORT RequestId: {request_id}\tDuration: ")
        assert result["ExecutedVersion"] == "$LATEST"
    assert "Init Duration" in decoded_tail(cold) and "Init Duration" not in decoded_tail(warm)
    assert "LogResult" not in client.invoke(FunctionName="function", Payload=b"{}")


def test_tail_log_of_an_error_ends_with_report(emulator: Callable[..., Emulator]) -> None:
    emu = emulator("basic.fail")
    result = emu.lambda_client().invoke(FunctionName="function", Payload=b"{}", LogType="Tail")
    assert result["FunctionError"] == "Unhandled"
    request_id = result["ResponseMetadata"]["RequestId"]
    lines = decoded_tail(result).splitlines()
    assert lines[-2] == f"END RequestId: {request_id}" and lines[-1].startswith(f"REPORT RequestId: {request_id}")


def test_tail_waits_for_the_end_of_the_invocation_other_callers_do_not(
    emulator: Callable[..., Emulator], tmp_path: Path
) -> None:
    emu = emulator("unused", runtime_command=scripted("wait_file"))
    gate = tmp_path / "gate"
    early = emu.invoke({"file": str(gate)})  # answered at /response, while the runtime still works
    assert early.status_code == 200 and "X-Amz-Log-Result" not in early.headers
    gate.touch()
    emu.wait_for_records(1)
    gate.unlink()
    answers: list[Any] = []
    caller = threading.Thread(target=lambda: answers.append(emu.invoke({"file": str(gate)}, tail=True)))
    caller.start()
    emu.wait_for_output("posted ", timeout=30)  # the second one posted its response...
    assert not answers  # ...but a Tail caller gets the log with END and REPORT, so it waits for them
    gate.touch()
    caller.join(60)
    (tail,) = answers
    request_id = tail.headers["X-Amzn-RequestId"]
    lines = base64.b64decode(tail.headers["X-Amz-Log-Result"]).decode().splitlines()
    assert lines[-3] == f"file seen {request_id}"
    assert lines[-2] == f"END RequestId: {request_id}" and lines[-1].startswith("REPORT ")


def test_tail_log_is_the_last_4_kb(emulator: Callable[..., Emulator]) -> None:
    emu = emulator("basic.chatty")
    result = emu.lambda_client().invoke(FunctionName="function", Payload=b'{"lines": 200}', LogType="Tail")
    tail = base64.b64decode(result["LogResult"])
    assert len(tail) == 4096
    lines = tail.decode().splitlines()
    assert lines[-3] == f"line 00199 {'.' * 60}" and lines[-2].startswith("END ") and lines[-1].startswith("REPORT ")


def test_tail_of_a_timeout_includes_end_and_report(emulator: Callable[..., Emulator]) -> None:
    emu = emulator("basic.slow", timeout=1)
    r = emu.invoke({"sleep": 30}, tail=True)
    request_id = r.headers["X-Amzn-RequestId"]
    lines = base64.b64decode(r.headers["X-Amz-Log-Result"]).decode().splitlines()
    assert lines[-3].endswith(f"{request_id} Task timed out after 1.00 seconds")
    assert lines[-2] == f"END RequestId: {request_id}"
    assert lines[-1].startswith(f"REPORT RequestId: {request_id}\t")
    assert lines[-1].endswith("\tStatus: timeout\tEnvironment: 1")


def test_client_context_and_trace_id_reach_the_handler(emulator: Callable[..., Emulator]) -> None:
    emu = emulator("basic.context_info")
    client = emu.lambda_client()
    context = base64.b64encode(json.dumps({"custom": {"who": "boto3"}}).encode()).decode()
    info = json.loads(client.invoke(FunctionName="function", Payload=b"{}", ClientContext=context)["Payload"].read())
    assert info["client_context"] == {"custom": {"who": "boto3"}}
    assert info["trace_id"].startswith("Root=1-")  # generated when the caller sends none
    bad = emu.invoke({}, headers={"X-Amz-Client-Context": "not base64!"})
    assert bad.status_code == 400 and bad.headers["X-Amzn-ErrorType"] == "InvalidRequestContentException"


# -- headers and error shapes, as Lambda sends them -----------------------------------------------


def test_answers_carry_lambdas_headers(emulator: Callable[..., Emulator]) -> None:
    emu = emulator("basic.echo")
    trace = "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1;Lineage=1:9581a8d4:0"
    r = emu.invoke({}, headers={"X-Amzn-Trace-Id": trace})
    assert r.headers["X-Amzn-Trace-Id"] == trace
    assert r.headers["x-amzn-Remapped-Content-Length"] == "0"
    made_up = emu.invoke({}).headers["X-Amzn-Trace-Id"]
    assert made_up.startswith("Root=1-")  # the one the function saw when the caller sent none
    dry = emu.lambda_client().invoke(FunctionName="function", InvocationType="DryRun", Payload=b"{}")
    assert dry["StatusCode"] == 204 and dry["ResponseMetadata"]["RequestId"]
    assert emu.invoke({}, invocation_type="DryRun").headers["X-Amzn-RequestId"]


def botocore_message_member(shape: str) -> str:
    """The message member of an error shape in botocore's Lambda model ("Message" or "message")."""
    import botocore.session

    model = botocore.session.get_session().get_service_model("lambda")
    members = model.shape_for(shape).members
    (name,) = (m for m in members if m.lower() == "message")
    return str(name)


def test_error_bodies_are_shaped_as_botocore_models_them(emulator: Callable[..., Emulator], tmp_path: Path) -> None:
    emu = emulator("unused", runtime_command=scripted("wait_file"), concurrency=1, queue_size=0)
    gate = tmp_path / "gate"
    assert emu.invoke({"file": str(gate)}).status_code == 200
    answers = {
        "ResourceNotFoundException": emu.invoke({}, function="other"),
        "InvalidRequestContentException": emu.invoke(b"{nope"),
        "RequestTooLargeException": emu.invoke(string_payload(MAX_SYNC_REQUEST + 1)),
        "TooManyRequestsException": emu.invoke({}),
        "InvalidParameterValueException": emu.invoke({}, invocation_type="Sometimes"),
    }
    for shape, answer in answers.items():
        body = answer.json()
        assert botocore_message_member(shape) in body, (shape, body)
        assert set(body) - {"Reason"} == {"Type", botocore_message_member(shape)}
    from lambda_runtime.emulator.responses import service_error

    service = json.loads(service_error(500, "ServiceException", "x", kind="Service").text or "")
    assert botocore_message_member("ServiceException") in service
    gate.touch()


def test_not_found_names_the_function_asked_for(emulator: Callable[..., Emulator]) -> None:
    emu = emulator("basic.echo")
    client = emu.lambda_client()
    for asked, named in (("other", "other"), ("other:prod", "other:prod"), ("function:prod", "function:prod")):
        with pytest.raises(client.exceptions.ResourceNotFoundException) as raised:
            client.invoke(FunctionName=asked, Payload=b"{}")
        expected = f"Function not found: arn:aws:lambda:us-east-1:000000000000:function:{named}"
        assert raised.value.response["Error"]["Message"] == expected


def test_tenant_id_reaches_the_runtime_and_each_tenant_has_its_environments(
    emulator: Callable[..., Emulator],
) -> None:
    emu = emulator("unused", runtime_command=scripted("headers"), tenant_isolation=True, concurrency=3)
    client = emu.lambda_client()

    def invoke(tenant: str) -> tuple[dict[str, str], str]:
        result = client.invoke(FunctionName="function", Payload=b"{}", TenantId=tenant)
        return json.loads(result["Payload"].read()), result["ResponseMetadata"]["RequestId"]

    seen_a, first_a = invoke("blue")
    seen_b, first_b = invoke("green")
    _, second_a = invoke("blue")
    assert seen_a["Lambda-Runtime-Aws-Tenant-Id"] == "blue" and seen_b["Lambda-Runtime-Aws-Tenant-Id"] == "green"
    environments = {rid: emu.record(rid).environment for rid in (first_a, first_b, second_a)}
    assert environments[first_a] == environments[second_a] != environments[first_b]
    with pytest.raises(client.exceptions.InvalidParameterValueException):
        client.invoke(FunctionName="function", Payload=b"{}")  # a tenant-isolated function needs a TenantId


def test_tenant_id_is_refused_without_tenant_isolation(emulator: Callable[..., Emulator]) -> None:
    emu = emulator("unused", runtime_command=scripted("headers"))
    client = emu.lambda_client()
    with pytest.raises(client.exceptions.InvalidParameterValueException):
        client.invoke(FunctionName="function", Payload=b"{}", TenantId="blue")
    assert "Lambda-Runtime-Aws-Tenant-Id" not in json.loads(client.invoke(FunctionName="function")["Payload"].read())
