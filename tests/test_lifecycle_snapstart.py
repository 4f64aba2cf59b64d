"""SnapStart end to end: the emulator's snap-start mode pauses the runtime at `/runtime/restore/next` (the snapshot)
and continues it (the restore); hooks registered with `snapshot_restore_py` run in AWS's order, and after the restore
the runtime has a new Runtime API connection, fresh `random` state and a working job pool."""

from __future__ import annotations

import random

import pytest

from tests.polling import wait_until
from tests.test_deferred import wait_for_file


def test_hooks_run_in_order_and_the_restore_is_recorded(serve, tmp_path):
    emu = serve("snapstart_fn.handler", snap_start=True, restore_delay=0.2)
    result = emu.invoke({"mark": str(tmp_path / "job")}).json()
    # before-snapshot hooks in reverse registration order, after-restore hooks in registration order, with their args
    assert result["order"] == ["before-2", "before-1", "after-a", "after-b!"]
    (record,) = emu.wait_for_records(1)
    assert record["restore_ms"] is not None and record["restore_ms"] >= 0 and record["init_ms"] is None
    assert "Restore Duration:" in emu.invocation_output(record["request_id"])
    assert "Restored from a SnapStart snapshot" in emu.runtime_output()
    # the deferred-job pool works after the restore: thread jobs, and process jobs (workers restart lazily)
    assert wait_for_file(tmp_path / "job.thread").read_text() == "ran"
    assert wait_for_file(tmp_path / "job.process").read_text() == "ran"


def test_after_the_restore_the_connection_and_random_state_are_new(serve, tmp_path):
    emu = serve("snapstart_fn.handler", snap_start=True)
    first = emu.invoke({}).json()
    env = emu.server.env
    assert env.restore_peer is not None and env.after_restore_peer is not None
    assert env.restore_peer != env.after_restore_peer  # a new connection: another local port
    seeded = random.Random(42)  # what the snapshot's state would draw next without a reseed
    assert first["random"] != seeded.random()


def test_a_failing_before_snapshot_hook_is_a_before_snapshot_error_exit_64(serve, tmp_path):
    emu = serve("snapstart_fn.handler", snap_start=True, env={"SNAP_FAIL": "before"})
    response = emu.invoke({})
    assert response.headers.get("X-Amz-Function-Error") == "Unhandled"
    # As awslambdaric: the body names the exception, the error-type header the phase (the record's error type).
    assert response.json()["errorType"] == "RuntimeError"
    assert emu.wait_for_records(1)[0]["error_type"] == "Runtime.BeforeSnapshotError"
    emu.wait_for_output("Runtime.BeforeSnapshotError: RuntimeError: cannot snapshot")
    assert emu.server.env.restored_at is None  # never restored: the init failed before the snapshot
    assert_exit_status(emu, 64)


def test_a_failing_after_restore_hook_is_an_after_restore_error_exit_65(serve, tmp_path):
    emu = serve("snapstart_fn.handler", snap_start=True, env={"SNAP_FAIL": "after"})
    response = emu.invoke({})
    assert response.json()["errorMessage"] == "cannot restore"
    assert emu.wait_for_records(1)[0]["error_type"] == "Runtime.AfterRestoreError"
    emu.wait_for_output("Runtime.AfterRestoreError: RuntimeError: cannot restore")
    assert_exit_status(emu, 65)


@pytest.mark.parametrize(
    ("fail", "phase", "status", "error"),
    [
        ("before-exit", "Runtime.BeforeSnapshotError", 64, "SystemExit"),
        ("after-interrupt", "Runtime.AfterRestoreError", 65, "KeyboardInterrupt"),
    ],
)
def test_a_hook_raising_systemexit_or_keyboardinterrupt_is_reported_as_its_phase(serve, fail, phase, status, error):
    emu = serve("snapstart_fn.handler", snap_start=True, env={"SNAP_FAIL": fail})
    response = emu.invoke({})
    assert response.headers.get("X-Amz-Function-Error") == "Unhandled"
    assert response.json()["errorType"] == error
    assert emu.wait_for_records(1)[0]["error_type"] == phase
    emu.wait_for_output(f"{phase}: {error}")
    assert_exit_status(emu, status)


def test_without_snap_start_nothing_of_this_runs(serve, tmp_path):
    emu = serve("snapstart_fn.handler")
    assert emu.invoke({}).json()["order"] == []
    (record,) = emu.wait_for_records(1)
    assert record["restore_ms"] is None and record["init_ms"] is not None


def assert_exit_status(emu, status: int) -> None:
    wait_until(lambda: not emu.server.env.alive, what="the runtime to exit")
    assert emu.server.env.last_returncode == status
