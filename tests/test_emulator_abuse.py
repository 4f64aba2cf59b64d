"""Abuse never wedges the emulator: stray Runtime API calls, an Event backlog, a long run, a shutdown with
Events still queued."""

from __future__ import annotations

import http.client
import json
import signal
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from lambda_runtime.emulator import Emulator
from tests.emulator_functions.harness import OURS, CliServer, emulators, scripted


@pytest.fixture
def emulator() -> Iterator[Callable[..., Emulator]]:
    with emulators() as start:
        yield start


def stray(port: int, method: str, path: str) -> int:
    """A Runtime API call from someone who is not a runtime; its status (it must not hang)."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        conn.request(method, f"/2018-06-01/runtime/{path}", body=b"{}" if method == "POST" else None)
        return conn.getresponse().status
    finally:
        conn.close()


def test_a_stray_next_on_the_invoke_port_changes_nothing(emulator: Callable[..., Emulator]) -> None:
    emu = emulator("basic.slow")
    answers: list[Any] = []
    caller = threading.Thread(target=lambda: answers.append(emu.invoke({"sleep": 1.0})))
    caller.start()
    emu.wait_for_output("START RequestId: ")  # the handler is running now
    assert 400 <= stray(emu.port, "GET", "invocation/next") < 500
    caller.join(60)
    (answer,) = answers
    assert answer.status_code == 200 and "X-Amz-Function-Error" not in answer.headers, answer.text
    assert answer.json() == {"slept": 1.0}
    request_id = answer.headers["X-Amzn-RequestId"]
    assert 400 <= stray(emu.port, "POST", f"invocation/{request_id}/response") < 500
    assert 400 <= stray(emu.port, "POST", "init/error") < 500
    for _ in range(2):  # and every later caller is served
        later = emu.invoke({"sleep": 0})
        assert later.status_code == 200 and later.json() == {"slept": 0}
    assert [r.status for r in emu.wait_for_records(3)] == ["success"] * 3


def test_an_event_backlog_drains(emulator: Callable[..., Emulator], tmp_path: Path) -> None:
    # 1,500 Events queued behind a busy environment: each slot change wakes one waiter, not all of them, so the
    # backlog drains in linear time (before: about 3 a second with 8,000 queued). The bound is very generous.
    emu = emulator("basic.echo", runtime_command=OURS, concurrency=1, queue_size=0, keep_records=100)
    gate = tmp_path / "gate"
    blocker = emulator("unused", runtime_command=scripted("wait_file"))
    assert blocker.invoke({"file": str(gate)}).status_code == 200
    session = emu.lambda_client()
    count = 1500
    for i in range(count):
        session.invoke(FunctionName="function", InvocationType="Event", Payload=json.dumps({"i": i}))
    started = time.monotonic()
    outcomes = emu.wait_for_async_outcomes(count, timeout=300)
    assert {o["requestContext"]["condition"] for o in outcomes} == {"Success"}
    assert time.monotonic() - started < 300
    assert len(emu.records()) == 100  # the ring: the latest ones only
    gate.touch()


def test_records_are_a_ring_and_the_report_file_has_them_all(emulator: Callable[..., Emulator], tmp_path: Path) -> None:
    report = tmp_path / "report.jsonl"
    emu = emulator("basic.echo", runtime_command=OURS, keep_records=5, report_file=str(report))
    ids = [emu.invoke({"i": i}).headers["X-Amzn-RequestId"] for i in range(12)]
    records = emu.wait_for_records(12)
    assert [r.request_id for r in records] == ids[-5:]
    assert [json.loads(line)["request_id"] for line in report.read_text().splitlines()] == ids
    assert emu.invocation_output(ids[0]) == ""  # forgotten in memory...
    assert "START RequestId: " + ids[-1] in emu.invocation_output(ids[-1])
    assert emu.runtime_output().count("START RequestId: ") <= 5 * 10  # ...and the output is bounded too


def test_the_event_queue_is_bounded(emulator: Callable[..., Emulator], tmp_path: Path) -> None:
    gate = tmp_path / "gate"
    emu = emulator("unused", runtime_command=scripted("wait_file"), concurrency=1, queue_size=0, async_queue_size=3)
    assert emu.invoke({"file": str(gate)}).status_code == 200  # the only environment is busy
    client = emu.lambda_client()
    for _ in range(3):
        assert client.invoke(FunctionName="function", InvocationType="Event", Payload=b"{}")["StatusCode"] == 202
    with pytest.raises(client.exceptions.TooManyRequestsException):
        client.invoke(FunctionName="function", InvocationType="Event", Payload=b"{}")
    gate.touch()


def test_stopping_with_events_queued_writes_each_to_the_failure_file(
    emulator: Callable[..., Emulator], tmp_path: Path
) -> None:
    gate, failures = tmp_path / "gate", tmp_path / "failed.jsonl"
    emu = emulator(
        "unused", runtime_command=scripted("wait_file"), concurrency=1, queue_size=0, on_failure=str(failures)
    )
    assert emu.invoke({"file": str(gate)}).status_code == 200
    ids = [
        emu.invoke({"file": str(gate), "n": n}, invocation_type="Event").headers["X-Amzn-RequestId"] for n in range(4)
    ]
    emu.stop()
    written = [json.loads(line) for line in failures.read_text().splitlines()]
    assert [w["requestContext"]["requestId"] for w in written] == ids
    assert {w["requestContext"]["condition"] for w in written} == {"EmulatorShutdown"}
    assert [w["requestPayload"]["n"] for w in written] == [0, 1, 2, 3]


def test_sigterm_writes_queued_events_to_the_named_file(tmp_path: Path) -> None:
    gate, unprocessed = tmp_path / "gate", tmp_path / "unprocessed.jsonl"
    cli = CliServer(
        "unused",
        "--runtime-command",
        " ".join(scripted("wait_file")),
        "--concurrency",
        "1",
        "--unprocessed-file",
        str(unprocessed),
    )
    try:
        assert cli.post(json.dumps({"file": str(gate)}).encode())[0] == 200
        status, _ = cli.post(b'{"n": 1}', {"X-Amz-Invocation-Type": "Event"})
        assert status == 202
        assert cli.stop(signal.SIGTERM) == 0
    finally:
        cli.kill()
    (written,) = [json.loads(line) for line in unprocessed.read_text().splitlines()]
    assert written["requestPayload"] == {"n": 1} and written["requestContext"]["condition"] == "EmulatorShutdown"
    assert "1 Event invocation(s) not processed, written to" in cli.log()
