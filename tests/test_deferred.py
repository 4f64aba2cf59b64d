"""context.defer() end to end: the caller is answered first, /next waits for the jobs, deadlines hold.

Ordering is proved with the emulator's timestamps and files the jobs write, never with sleeps or timing asserts.
"""

from __future__ import annotations

import contextlib
import json
import threading
import time
from pathlib import Path

import pytest

from lambda_runtime.jobs.batch import BatchPolicy
from lambda_runtime.jobs.phase import JobRunner
from lambda_runtime.jobs.workers import Workers
from tests.polling import wait_until


def read_stamp(path: Path) -> tuple[float, str]:
    when, _, request_id = path.read_text().partition(" ")
    return float(when), request_id


def wait_for_file(path: Path, timeout: float = 30.0) -> Path:
    wait_until(path.exists, timeout, what=f"{path} to appear")
    return path


def json_lines(output: str) -> list[dict]:
    lines = []
    for line in output.splitlines():
        if line.startswith("{"):
            with contextlib.suppress(ValueError):
                lines.append(json.loads(line))
    return lines


def test_response_is_delivered_before_the_job_finishes_and_next_waits_for_it(serve, tmp_path):
    emu = serve("deferring.defer_one")
    response = emu.invoke({"dir": str(tmp_path)})
    # The caller has its answer while the job is still blocked on a file only the test creates.
    assert response.json() == {"deferred": 1}
    assert not (tmp_path / "done").exists()
    (tmp_path / "release").touch()
    (record,) = emu.wait_for_records(1)
    job_done_at, request_id = read_stamp(wait_for_file(tmp_path / "done"))
    assert request_id == record["request_id"]
    assert record["responded_at"] < job_done_at <= record["next_at"]


def test_default_start_waits_for_the_response(serve, tmp_path):
    emu = serve("deferring.defer_stamp")
    emu.invoke({"dir": str(tmp_path)})
    (record,) = emu.wait_for_records(1)
    job_ran_at, _ = read_stamp(tmp_path / "job")
    assert record["responded_at"] <= job_ran_at <= record["next_at"]


def test_start_now_overlaps_the_handler_and_default_does_not(serve):
    emu = serve("deferring.start_now_overlaps_handler")
    assert emu.invoke({}).json() == {"start_now_ran_during_handler": True, "default_ran_during_handler": False}


def test_job_deadline_flags_cancellation_and_next_comes_before_the_invocation_deadline(serve, tmp_path):
    margin_ms = 300
    emu = serve("deferring.cooperative", timeout=2, env={"LAMBDA_RUNTIME_DEFER_MARGIN_MS": str(margin_ms)})
    assert emu.invoke({"dir": str(tmp_path)}).json() == "answered"
    (record,) = emu.wait_for_records(1)
    assert record["status"] == "success"
    deadline = record["deadline_ms"] / 1000
    # /next came after the job's deadline (deadline - margin) and well before Lambda's deadline.
    assert deadline - margin_ms / 1000 - 0.05 <= record["next_at"] < deadline
    # At the invocation deadline there is no grace: the job saw its flag, but /next froze it before it could
    # write. The next invocation thaws the environment and the job finishes, having seen the cancellation.
    emu.invoke({"dir": str(tmp_path)})
    stamp = wait_for_file(tmp_path / f"cooperative-{record['request_id']}")
    assert stamp.read_text().startswith("cancelled=True")


def test_own_job_timeout_is_earlier_than_the_invocation_deadline(serve, tmp_path):
    emu = serve("deferring.cooperative", timeout=30)
    emu.invoke({"dir": str(tmp_path), "job_timeout": 0.2})
    (record,) = emu.wait_for_records(1)
    # A job cancelled at its own timeout gets a short grace, so a cooperative one finishes before /next.
    assert (tmp_path / f"cooperative-{record['request_id']}").read_text().startswith("cancelled=True")
    assert record["next_at"] < record["deadline_ms"] / 1000 - 20  # it did not wait for the invocation deadline


def test_overrun_abandon_logs_and_keeps_the_environment(serve, tmp_path):
    emu = serve("deferring.hang", timeout=1.5, env={"AWS_LAMBDA_LOG_FORMAT": "JSON", "AWS_LAMBDA_LOG_LEVEL": "INFO"})
    assert emu.invoke({"dir": str(tmp_path)}).json() == "answered"
    (first,) = emu.wait_for_records(1)
    assert first["status"] == "success"
    assert first["next_at"] < first["deadline_ms"] / 1000
    output = emu.wait_for_output("abandoned")
    overrun = [line for line in json_lines(output) if "overran its deadline" in line.get("message", "")]
    assert overrun and overrun[0]["requestId"] == first["request_id"] and overrun[0]["job"] == "hanging_job"
    assert "elapsedMs" in overrun[0]
    # The abandoned job is frozen with the environment; it resumes and logs during a later invocation, and its
    # log line still carries the request id of the invocation that deferred it.
    (tmp_path / "unhang").touch()
    second_dir = tmp_path / "second"  # the second invocation's own job waits on a gate that never opens
    second_dir.mkdir()
    emu.invoke({"dir": str(second_dir)})
    wait_for_file(tmp_path / "hang_finished")
    lines = json_lines(emu.wait_for_output("late log from the abandoned job"))
    late = [line for line in lines if line.get("message") == "late log from the abandoned job"]
    assert [line["requestId"] for line in late] == [first["request_id"]]
    second = emu.wait_for_records(2)[1]
    assert second["init_ms"] is None  # same environment: abandon does not restart it


def test_a_failing_job_is_isolated_logged_and_hooked(serve, tmp_path):
    emu = serve("deferring.fail_and_succeed", env={"AWS_LAMBDA_LOG_FORMAT": "JSON", "ERROR_HOOK_DIR": str(tmp_path)})
    assert emu.invoke({"dir": str(tmp_path)}).json() == "fine"
    (record,) = emu.wait_for_records(1)
    assert (tmp_path / "sibling").exists()
    assert (tmp_path / "hook").read_text() == f"exploding_job RuntimeError {record['request_id']}"
    failed = [line for line in json_lines(emu.runtime_output()) if line.get("message", "").startswith("deferred job")]
    assert failed[0]["job"] == "exploding_job"
    assert failed[0]["requestId"] == record["request_id"]
    assert failed[0]["errorType"] == "RuntimeError" and failed[0]["stackTrace"]
    assert emu.invoke({"dir": str(tmp_path)}).json() == "fine"


def test_sys_exit_in_a_job_is_only_a_failed_job(serve, tmp_path):
    emu = serve("deferring.sys_exit_job")
    assert emu.invoke({"dir": str(tmp_path)}).json() == "ok"
    assert emu.invoke({"dir": str(tmp_path)}).json() == "ok"
    assert emu.wait_for_records(2)[1]["init_ms"] is None
    emu.wait_for_output("1 ok, 1 failed")


def test_nested_defers_run_within_the_same_invocation(serve, tmp_path):
    emu = serve("deferring.nested", env={"AWS_LAMBDA_LOG_FORMAT": "JSON"})
    emu.invoke({"dir": str(tmp_path)})
    (record,) = emu.wait_for_records(1)
    for name in ("parent", "child1", "child2"):
        ran_at, request_id = read_stamp(tmp_path / name)
        assert ran_at <= record["next_at"] and request_id == record["request_id"]
    summary = [line for line in json_lines(emu.runtime_output()) if "ok" in line and "postResponseMs" in line]
    assert summary[0]["ok"] == 3 and summary[0]["failed"] == 0 and summary[0]["requestId"] == record["request_id"]


def test_a_job_deferring_itself_forever_is_stopped_by_the_bound(serve):
    emu = serve("deferring.defer_self_forever", env={"LAMBDA_RUNTIME_DEFER_MAX_PENDING": "10"})
    assert emu.invoke({}).json() == "ok"
    emu.wait_for_output("1 rejected")
    assert emu.invoke({}).json() == "ok"


def test_pending_bound_raises_by_default(serve):
    emu = serve("deferring.over_the_bound", env={"LAMBDA_RUNTIME_DEFER_MAX_PENDING": "2"})
    assert emu.invoke({}).json() == ["accepted", "accepted", "rejected"]
    emu.wait_for_output("2 ok, 0 failed, 0 timed out, 0 not started, 1 rejected")


def test_pending_bound_can_run_the_job_inline(serve):
    emu = serve(
        "deferring.over_the_bound_inline",
        env={"LAMBDA_RUNTIME_DEFER_MAX_PENDING": "2", "LAMBDA_RUNTIME_DEFER_WHEN_FULL": "inline"},
    )
    assert emu.invoke({}).json() == ["MainThread"]


@pytest.mark.parametrize(("run_on_error", "expect_job"), [("true", True), ("false", False)])
def test_jobs_deferred_before_a_handler_error(serve, tmp_path, run_on_error, expect_job):
    emu = serve("deferring.defer_then_raise", env={"LAMBDA_RUNTIME_DEFER_ON_ERROR": run_on_error})
    response = emu.invoke({"dir": str(tmp_path)})
    assert response.json()["errorType"] == "ValueError"
    (record,) = emu.wait_for_records(1)
    assert (tmp_path / "job").exists() is expect_job
    if expect_job:
        assert record["responded_at"] <= read_stamp(tmp_path / "job")[0]  # the error was posted first
    else:
        emu.wait_for_output("1 skipped")


def test_no_summary_when_nothing_was_deferred(serve):
    emu = serve("deferring.no_defer")
    emu.invoke({})
    emu.invoke({})
    emu.wait_for_records(2)
    assert "Deferred jobs:" not in emu.runtime_output()


def test_job_runner_pool_is_bounded_and_reused():
    runner = JobRunner(Workers(3, max_abandoned=0), BatchPolicy(max_pending=5), margin_ms=0)
    deadline_ms = int((time.time() + 30) * 1000)
    threads: set[str] = set()
    for _ in range(4):
        batch = runner.batch("req", deadline_ms)
        for _ in range(5):
            batch.defer(
                lambda: threads.add(threading.current_thread().name), (), {}, timeout=None, name=None, start_now=False
            )
        batch.release()
        assert batch.join().counts["ok"] == 5
    assert 1 <= len(threads) <= 3
