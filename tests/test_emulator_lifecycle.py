"""The emulator's platform behaviour: START/END/REPORT lines, freezing between invocations, timeouts."""

from __future__ import annotations

import re
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from lambda_runtime.emulator import Emulator

FUNCTIONS = Path(__file__).parent / "emulator_functions"
SCRIPTED = FUNCTIONS / "scripted_runtime.py"


def ric(handler: str) -> list[str]:
    return [sys.executable, "-m", "awslambdaric", handler]


@pytest.fixture
def emulator() -> Iterator[Callable[..., Emulator]]:
    started: list[Emulator] = []

    def start(handler: str, runtime_command: list[str] | None = None, **options: Any) -> Emulator:
        options.setdefault("task_root", str(FUNCTIONS))
        emu = Emulator(handler, runtime_command=runtime_command or ric(handler), **options)
        started.append(emu.start())
        return emu

    try:
        yield start
    finally:
        for emu in reversed(started):
            emu.stop()


def process_state(pid: int) -> str | None:
    """The state letter of /proc/<pid>/stat (R, S, T ...), None if the process is gone."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return stat.rsplit(")", 1)[1].split()[0]


def wait_until(predicate: Callable[[], bool], timeout: float = 10.0) -> bool:
    """Poll a condition with a deadline (for kernel-side state that has no event to wait on)."""
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.005)
    return True


REPORT = re.compile(
    r"REPORT RequestId: (?P<id>\S+)\tDuration: (?P<duration>\d+\.\d\d) ms\tBilled Duration: (?P<billed>\d+) ms"
    r"\tMemory Size: (?P<size>\d+) MB\tMax Memory Used: (?P<used>\d+) MB"
    r"(?:\tInit Duration: (?P<init>\d+\.\d\d) ms)?(?:\tStatus: (?P<status>\w+))?$"
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
    emu = emulator("basic.slow", timeout=0.5)
    r = emu.invoke({"sleep": 30})
    request_id = r.headers["X-Amzn-RequestId"]
    assert r.headers["X-Amz-Function-Error"] == "Unhandled"
    assert r.json() == {
        "errorType": "Sandbox.Timedout",
        "errorMessage": f"RequestId: {request_id} Error: Task timed out after 0.50 seconds",
    }
    (record,) = emu.wait_for_records(1)
    assert record.status == "timeout" and record.error_type == "Sandbox.Timedout"
    assert record.duration_ms >= 500  # type: ignore[operator]
    assert wait_until(lambda: process_state(record.runtime_pid) is None)  # type: ignore[arg-type]
    lines = emu.invocation_output(request_id).splitlines()
    assert lines[-3].endswith(f" {request_id} Task timed out after 0.50 seconds")
    assert lines[-1].endswith("\tStatus: timeout")
    ok = emu.invoke({"sleep": 0})
    assert ok.status_code == 200 and "X-Amz-Function-Error" not in ok.headers
    _, fresh = emu.wait_for_records(2)
    assert fresh.status == "success" and fresh.init_ms is not None
    assert fresh.runtime_pid != record.runtime_pid


def test_timeout_after_the_response_keeps_the_answer(emulator: Callable[..., Emulator], tmp_path: Path) -> None:
    emu = emulator("unused", runtime_command=[sys.executable, str(SCRIPTED), "wait_file"], timeout=0.5)
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
