"""The emulator's platform behaviour: START/END/REPORT lines, freezing between invocations, timeouts."""

from __future__ import annotations

import json
import re
import signal
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from lambda_runtime.emulator import Emulator
from tests.emulator_functions.harness import (
    FUNCTIONS,
    SCRIPTED,
    CliServer,
    emulators,
    group_gone,
    pid_gone,
    process_state,
    ric,
)
from tests.polling import wait_until


@pytest.fixture
def emulator() -> Iterator[Callable[..., Emulator]]:
    with emulators() as start:
        yield start


REPORT = re.compile(
    r"REPORT RequestId: (?P<id>\S+)\tDuration: (?P<duration>\d+\.\d\d) ms\tBilled Duration: (?P<billed>\d+) ms"
    r"\tMemory Size: (?P<size>\d+) MB\tMax Memory Used: (?P<used>\d+) MB"
    r"(?:\tInit Duration: (?P<init>\d+\.\d\d) ms)?(?:\tStatus: (?P<status>\w+))?\tEnvironment: (?P<env>\d+)$"
)


def test_start_end_report_lines(emulator: Callable[..., Emulator]) -> None:
    emu = emulator("basic.stamp", memory_size=256)
    ids = [emu.invoke({}).headers["X-Amzn-RequestId"] for _ in range(2)]
    records = emu.wait_for_records(2)
    output = emu.runtime_output().splitlines()
    reports = {}
    for request_id, record in zip(ids, records, strict=True):
        start = output.index(f"START RequestId: {request_id} Version: $LATEST")
        assert output[start + 1] == f"stamp {request_id}"
        end = output.index(f"END RequestId: {request_id}")
        match = REPORT.match(output[end + 1])
        assert match, output[end + 1]
        assert match["id"] == request_id
        assert match["duration"] == f"{record.duration_ms:.2f}"
        assert int(match["billed"]) == record.billed_ms
        assert match["size"] == "256"
        assert int(match["used"]) == record.max_memory_used_mb
        assert record.max_memory_used_mb is not None and record.max_memory_used_mb > 5
        reports[request_id] = match
        invocation_lines = emu.invocation_output(request_id).splitlines()
        assert invocation_lines[0] == output[start] and invocation_lines[-1] == output[end + 1]
    first, second = (reports[i] for i in ids)
    assert first["init"] == f"{records[0].init_ms:.2f}"
    assert second["init"] is None
    assert first["status"] is None and second["status"] is None


def test_max_memory_used_follows_the_peak(emulator: Callable[..., Emulator]) -> None:
    emu = emulator("basic.allocate", memory_size=512)
    emu.invoke({"mb": 1})
    emu.invoke({"mb": 64})
    small, big = emu.wait_for_records(2)
    assert big.max_memory_used_mb >= small.max_memory_used_mb + 60  # type: ignore[operator]


def test_runtime_is_frozen_between_invocations(emulator: Callable[..., Emulator]) -> None:
    emu = emulator("basic.background")
    pid = emu.invoke({}).json()["pid"]
    emu.wait_for_records(1)
    assert wait_until(lambda: process_state(pid) == "T"), process_state(pid)
    # Thawed for the next event (else this would never be answered), frozen again after it.
    assert emu.invoke({}).json()["pid"] == pid
    emu.wait_for_records(2)
    assert wait_until(lambda: process_state(pid) == "T"), process_state(pid)


def test_a_thread_left_running_makes_no_progress_while_frozen(
    emulator: Callable[..., Emulator], tmp_path: Path
) -> None:
    counter = tmp_path / "counter"
    emu = emulator("basic.counter")
    pid = emu.invoke({"file": str(counter)}).json()["pid"]
    emu.wait_for_records(1)
    assert wait_until(lambda: process_state(pid) == "T"), process_state(pid)
    frozen_at = counter.read_text()
    time.sleep(0.3)  # an observation window, not synchronisation: unfrozen, the thread writes every 5 ms
    assert counter.read_text() == frozen_at
    emu.invoke({"file": str(counter)})  # thawed for the next event: the thread resumes
    assert wait_until(lambda: int(counter.read_text()) > int(frozen_at))


def test_no_freeze(emulator: Callable[..., Emulator]) -> None:
    emu = emulator("basic.background", freeze=False)
    pid = emu.invoke({}).json()["pid"]
    emu.wait_for_records(1)
    assert process_state(pid) in ("R", "S")


def test_stop_works_on_a_frozen_runtime() -> None:
    with Emulator("basic.echo", task_root=str(FUNCTIONS), runtime_command=ric("basic.echo")) as emu:
        emu.invoke({})
        emu.wait_for_records(1)
        pid = emu.runtime_pid
        assert pid is not None
        assert wait_until(lambda: process_state(pid) == "T")
    assert process_state(pid) is None


def test_timeout_kills_the_runtime_and_the_next_event_gets_a_fresh_one(emulator: Callable[..., Emulator]) -> None:
    emu = emulator("basic.slow", timeout=1)
    r = emu.invoke({"sleep": 30})
    request_id = r.headers["X-Amzn-RequestId"]
    assert r.headers["X-Amz-Function-Error"] == "Unhandled"
    assert r.json() == {
        "errorType": "Sandbox.Timedout",
        "errorMessage": f"RequestId: {request_id} Error: Task timed out after 1.00 seconds",
    }
    (record,) = emu.wait_for_records(1)
    assert record.status == "timeout" and record.error_type == "Sandbox.Timedout"
    assert record.duration_ms >= 1000  # type: ignore[operator]
    assert wait_until(lambda: process_state(record.runtime_pid) is None)  # type: ignore[arg-type]
    lines = emu.invocation_output(request_id).splitlines()
    assert lines[-3].endswith(f" {request_id} Task timed out after 1.00 seconds")
    assert lines[-1].endswith("\tStatus: timeout\tEnvironment: 1")
    ok = emu.invoke({"sleep": 0})
    assert ok.status_code == 200 and "X-Amz-Function-Error" not in ok.headers
    _, fresh = emu.wait_for_records(2)
    assert fresh.status == "success" and fresh.init_ms is not None
    assert fresh.runtime_pid != record.runtime_pid


def test_timeout_after_the_response_keeps_the_answer(emulator: Callable[..., Emulator], tmp_path: Path) -> None:
    emu = emulator("unused", runtime_command=[sys.executable, str(SCRIPTED), "wait_file"], timeout=1)
    r = emu.invoke({"file": str(tmp_path / "never")})
    assert r.status_code == 200 and "X-Amz-Function-Error" not in r.headers
    assert r.json()["mode"] == "wait_file"
    (record,) = emu.wait_for_records(1)
    assert record.status == "timeout" and record.error_type is None
    assert record.responded_at < record.next_at  # type: ignore[operator]
    again = emu.invoke({"file": str(tmp_path)})  # exists: this runtime goes on to /next at once
    assert again.status_code == 200
    assert emu.wait_for_records(2)[1].runtime_pid != record.runtime_pid


def test_init_that_never_finishes_is_killed(emulator: Callable[..., Emulator]) -> None:
    emu = emulator("x.y", runtime_command=[sys.executable, "-c", "import time; time.sleep(60)"], init_timeout=0.5)
    r = emu.invoke({})
    request_id = r.headers["X-Amzn-RequestId"]
    assert r.headers["X-Amz-Function-Error"] == "Unhandled"
    assert r.json() == {
        "errorType": "Sandbox.Timedout",
        "errorMessage": f"RequestId: {request_id} Error: Init timed out after 0.50 seconds",
    }
    (record,) = emu.wait_for_records(1)
    assert record.status == "init_error" and record.exit_code == -9
    assert process_state(record.runtime_pid) is None  # type: ignore[arg-type]


# -- shutting down: no orphans -----------------------------------------------------------------------


def test_cli_sigint_stops_every_environment_even_frozen(tmp_path: Path) -> None:
    failures = tmp_path / "failed.jsonl"
    cli = CliServer(
        "pairs.handler",
        "--concurrency",
        "2",
        "--on-failure",
        str(failures),
        "--retry-delays",
        "0,0",
        "--max-retry-attempts",
        "1",
    )
    try:
        bodies: list[Any] = []
        threads = [
            threading.Thread(target=lambda: bodies.append(cli.post(json.dumps({"dir": str(tmp_path)}).encode())))
            for _ in range(2)
        ]
        for t in threads:
            t.start()
        for t in threads:
            t.join(60)
        assert [status for status, _ in bodies] == [200, 200]
        pids = {json.loads(body)["pid"] for _, body in bodies}
        assert len(pids) == 2  # two environments, both started
        # An Event without "dir" fails; one retry (--max-retry-attempts 1), then the failure file.
        assert cli.post(b"{}", {"X-Amz-Invocation-Type": "Event"})[0] == 202
        assert wait_until(lambda: failures.exists() and failures.read_text().endswith("\n"))
        outcome = json.loads(failures.read_text())
        assert outcome["requestContext"]["approximateInvokeCount"] == 2
        assert outcome["responsePayload"]["errorType"] == "KeyError"
        for pid in pids:
            assert wait_until(lambda pid=pid: process_state(pid) == "T"), process_state(pid)  # frozen
        assert cli.stop(signal.SIGINT) == 0
        assert "emulator stopped" in cli.log()
        for pid in pids:
            assert pid_gone(pid) and group_gone(pid)
    finally:
        cli.kill()


def test_stop_kills_frozen_runtimes_that_ignore_sigterm(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    gate = tmp_path / "gate"
    emu = Emulator(
        "unused",
        task_root=str(FUNCTIONS),
        runtime_command=[sys.executable, str(SCRIPTED), "ignore_sigterm"],
        concurrency=2,
        kill_grace=0.3,
    )
    with emu:
        for _ in range(2):  # the first runtime waits for the gate: the second event needs a second one
            assert emu.invoke({"file": str(gate)}).status_code == 200
        gate.touch()
        records = emu.wait_for_records(2)
        pids = {r.runtime_pid for r in records}
        assert len(pids) == 2 and set(emu.runtime_pids()) == pids
        for pid in pids:
            assert wait_until(lambda pid=pid: process_state(pid) == "T")  # type: ignore[arg-type]
    for pid in pids:
        assert pid_gone(pid) and group_gone(pid)  # type: ignore[arg-type]
    for pid in pids:  # thawed, ignored SIGTERM, killed after the grace period
        assert f"runtime pid {pid} did not exit in 0.3 s, killing it" in caplog.text


def test_binds_loopback_by_default(emulator: Callable[..., Emulator], tmp_path: Path) -> None:
    emu = emulator("pairs.handler", concurrency=2)
    assert emu.url.startswith("http://127.0.0.1:")
    bodies: list[Any] = []
    threads = [threading.Thread(target=lambda: bodies.append(emu.invoke({"dir": str(tmp_path)}).json())) for _ in "ab"]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert all(body["runtime_api"].startswith("127.0.0.1:") for body in bodies)
    ports = {int(body["runtime_api"].rsplit(":", 1)[1]) for body in bodies}
    assert emu.port not in ports and len(ports) == 2  # the Invoke API port is nobody's Runtime API


def test_cli_timeout_comes_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_LAMBDA_FUNCTION_TIMEOUT", "1")
    cli = CliServer("basic.slow")
    try:
        status, body = cli.post(json.dumps({"sleep": 10}).encode())
        assert status == 200
        error = json.loads(body)
        assert error["errorType"] == "Sandbox.Timedout"
        assert "Task timed out after 1.00 seconds" in error["errorMessage"]
    finally:
        cli.kill()
