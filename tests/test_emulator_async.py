"""``Event`` invocations: 202 at once, retries with delays, event age, destination records in files."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from lambda_runtime.emulator import Emulator
from tests.emulator_functions.harness import emulators, scripted

TINY = (0.01, 0.02)  # retry delays: the defaults are 60 and 120 s


@pytest.fixture
def emulator() -> Iterator[Callable[..., Emulator]]:
    with emulators() as start:
        yield start


def lines(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []


def test_failing_event_is_retried_twice_then_lands_in_the_failure_file(
    emulator: Callable[..., Emulator], tmp_path: Path
) -> None:
    failures, successes = tmp_path / "failed.jsonl", tmp_path / "ok.jsonl"
    emu = emulator("basic.fail", retry_delays=TINY, on_failure=str(failures), on_success=str(successes))
    result = emu.lambda_client().invoke(FunctionName="function", InvocationType="Event", Payload=b'{"order": 7}')
    assert result["StatusCode"] == 202
    request_id = result["ResponseMetadata"]["RequestId"]
    (outcome,) = emu.wait_for_async_outcomes(1)
    assert lines(failures) == [outcome] and lines(successes) == []
    assert outcome["version"] == "1.0" and outcome["timestamp"].endswith("Z")
    assert outcome["requestContext"] == {
        "requestId": request_id,
        "functionArn": f"{emu.function_arn}:$LATEST",
        "condition": "RetriesExhausted",
        "approximateInvokeCount": 3,
    }
    assert outcome["requestPayload"] == {"order": 7}
    assert outcome["responseContext"] == {"statusCode": 200, "executedVersion": "$LATEST", "functionError": "Unhandled"}
    assert outcome["responsePayload"]["errorType"] == "ValueError"
    assert outcome["responsePayload"]["errorMessage"] == "boom"
    records = emu.wait_for_records(3)
    assert [(r.request_id, r.attempt, r.invocation_type, r.status) for r in records] == [
        (request_id, n, "Event", "error") for n in (1, 2, 3)
    ]


def test_successful_event_lands_in_the_success_file(emulator: Callable[..., Emulator], tmp_path: Path) -> None:
    failures, successes = tmp_path / "failed.jsonl", tmp_path / "ok.jsonl"
    emu = emulator("basic.echo", on_failure=str(failures), on_success=str(successes))
    r = emu.invoke({"k": "v"}, invocation_type="Event")
    assert r.status_code == 202 and r.content == b""
    request_id = r.headers["X-Amzn-RequestId"]
    (outcome,) = emu.wait_for_async_outcomes(1)
    assert lines(successes) == [outcome] and lines(failures) == []
    assert outcome["requestContext"]["condition"] == "Success"
    assert outcome["requestContext"]["approximateInvokeCount"] == 1
    assert outcome["responseContext"] == {"statusCode": 200, "executedVersion": "$LATEST"}
    assert outcome["responsePayload"] == {"event": {"k": "v"}, "request_id": request_id}


def test_a_retry_that_succeeds_counts_its_attempts(emulator: Callable[..., Emulator], tmp_path: Path) -> None:
    flag = tmp_path / "fail-once"
    flag.touch()
    emu = emulator("basic.fail_while_flag", retry_delays=TINY)
    request_id = emu.invoke({"flag": str(flag)}, invocation_type="Event").headers["X-Amzn-RequestId"]
    (outcome,) = emu.wait_for_async_outcomes(1)
    assert outcome["requestContext"]["condition"] == "Success"
    assert outcome["requestContext"]["approximateInvokeCount"] == 2
    assert outcome["responsePayload"] == {"ok": True, "request_id": request_id}  # the same request id on retry


def test_a_timeout_is_a_failure_and_is_retried(emulator: Callable[..., Emulator]) -> None:
    emu = emulator("basic.slow", timeout=1, max_retry_attempts=1, retry_delays=TINY)
    emu.invoke({"sleep": 30}, invocation_type="Event")
    (outcome,) = emu.wait_for_async_outcomes(1)
    assert outcome["requestContext"]["condition"] == "RetriesExhausted"
    assert outcome["requestContext"]["approximateInvokeCount"] == 2
    assert outcome["responsePayload"]["errorType"] == "Sandbox.Timedout"
    assert [r.status for r in emu.wait_for_records(2)] == ["timeout", "timeout"]


def test_no_retries_when_max_retry_attempts_is_zero(emulator: Callable[..., Emulator]) -> None:
    emu = emulator("basic.fail", max_retry_attempts=0)
    emu.invoke({}, invocation_type="Event")
    (outcome,) = emu.wait_for_async_outcomes(1)
    assert outcome["requestContext"]["approximateInvokeCount"] == 1
    assert len(emu.wait_for_records(1)) == 1


def test_event_waiting_too_long_for_an_environment_ages_out(emulator: Callable[..., Emulator], tmp_path: Path) -> None:
    failures = tmp_path / "failed.jsonl"
    emu = emulator("unused", runtime_command=scripted("wait_file"), max_event_age=0.3, on_failure=str(failures))
    gate = tmp_path / "gate"
    assert emu.invoke({"file": str(gate)}).status_code == 200  # the only environment now waits for the gate
    emu.invoke({"file": str(gate), "async": True}, invocation_type="Event")
    (outcome,) = emu.wait_for_async_outcomes(1)  # the gate is still closed: it was never delivered
    assert lines(failures) == [outcome]
    assert outcome["requestContext"]["condition"] == "EventAgeExceeded"
    assert outcome["requestContext"]["approximateInvokeCount"] == 0
    assert outcome["requestPayload"] == {"file": str(gate), "async": True}
    assert outcome["responsePayload"]["errorType"] == "EventAgeExceeded"
    assert "responseContext" not in outcome
    assert emu.queued() == 0  # taken out of the queue
    gate.touch()
    assert [r.attempt for r in emu.wait_for_records(1)] == [1]


def test_event_ages_out_between_retries(emulator: Callable[..., Emulator]) -> None:
    emu = emulator("basic.fail", retry_delays=(30,), max_event_age=1.0)
    emu.invoke({})  # warm: the Event's first attempt is delivered at once
    request_id = emu.invoke({}, invocation_type="Event").headers["X-Amzn-RequestId"]
    (outcome,) = emu.wait_for_async_outcomes(1)  # long before the 30 s retry delay
    assert outcome["requestContext"]["condition"] == "EventAgeExceeded"
    ran = [r for r in emu.records() if r.request_id == request_id]
    assert outcome["requestContext"]["approximateInvokeCount"] == len(ran)
    if ran:  # the attempt that ran is in the record
        assert outcome["responsePayload"]["errorType"] == "ValueError"


def test_dry_run_is_204_and_runs_nothing(emulator: Callable[..., Emulator]) -> None:
    emu = emulator("basic.echo")
    result = emu.lambda_client().invoke(FunctionName="function", InvocationType="DryRun", Payload=b"{}")
    assert result["StatusCode"] == 204
    assert emu.runtime_pid is None  # not even started


def test_events_wait_for_room_instead_of_being_throttled(emulator: Callable[..., Emulator], tmp_path: Path) -> None:
    emu = emulator("unused", runtime_command=scripted("wait_file"), queue_size=0)
    gate = tmp_path / "gate"
    assert emu.invoke({"file": str(gate), "n": 0}).status_code == 200
    assert emu.invoke({"file": str(gate)}).status_code == 429  # a synchronous caller is refused
    ids = [emu.invoke({"file": str(gate), "n": n}, invocation_type="Event").headers["X-Amzn-RequestId"] for n in (1, 2)]
    gate.touch()
    outcomes = emu.wait_for_async_outcomes(2)
    assert sorted(o["requestContext"]["requestId"] for o in outcomes) == sorted(ids)
    assert all(o["requestContext"]["condition"] == "Success" for o in outcomes)


def test_stop_writes_pending_events_out_never_drops_them(tmp_path: Path) -> None:
    unprocessed = tmp_path / "unprocessed.jsonl"
    emu = Emulator(
        "basic.fail",
        task_root=str(Path(__file__).parent / "emulator_functions"),
        retry_delays=(30,),
        unprocessed_file=str(unprocessed),
    )
    with emu:
        request_id = emu.invoke({"k": 1}, invocation_type="Event").headers["X-Amzn-RequestId"]
        emu.wait_for_records(1)  # failed once; the retry is 30 s away
    (outcome,) = emu.async_outcomes()
    assert lines(unprocessed) == [outcome]
    assert outcome["requestContext"]["requestId"] == request_id
    assert outcome["requestContext"]["condition"] == "EmulatorShutdown"
    assert outcome["requestContext"]["approximateInvokeCount"] == 1
    assert outcome["requestPayload"] == {"k": 1} and outcome["responseContext"]["functionError"] == "Unhandled"
