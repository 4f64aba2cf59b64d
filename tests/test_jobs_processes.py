"""The process executor end to end: jobs in worker processes, hard deadlines, deaths, refusals, no /dev/shm."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from lambda_runtime.config import default_processes
from tests.conftest import FUNCTIONS
from tests.polling import wait_until
from tests.scripted_server import Reply, ScriptedRuntimeApi
from tests.test_deferred import json_lines, wait_for_file
from tests.test_deferred_unhappy import summaries

JSON = {"AWS_LAMBDA_LOG_FORMAT": "JSON", "AWS_LAMBDA_LOG_LEVEL": "INFO"}  # jobs log at INFO


def run_jobs(emu, tmp_path, *jobs, **event):
    event = {"dir": str(tmp_path), "jobs": [list(job) for job in jobs], **event}
    return emu.invoke(event).json()


def test_process_jobs_run_in_a_reused_worker_with_the_invocation_s_request_id(serve, tmp_path):
    emu = serve("cpu_jobs.run", env=JSON)
    where = {"dir": str(tmp_path)}
    runtime_pid = run_jobs(emu, tmp_path, ("crunch", where, "first"))
    run_jobs(emu, tmp_path, ("crunch", where, "second"))
    records = emu.wait_for_records(2)
    pids = set()
    for name, record in zip(("first", "second"), records, strict=True):
        pid, request_id, time_left, computed = (tmp_path / name).read_text().split()
        assert (request_id, time_left, computed) == (record["request_id"], "True", "True")
        pids.add(int(pid))
    assert len(pids) == 1 and runtime_pid not in pids  # another process, started once and reused
    lines = json_lines(emu.runtime_output())
    crunched = [line["requestId"] for line in lines if line["message"].startswith("crunched")]
    assert crunched == [record["request_id"] for record in records]  # the worker's own log lines, one record each
    assert [s["ok"] for s in summaries(emu.runtime_output())] == [1, 1]


def test_failures_and_deaths_are_isolated_logged_and_hooked(serve, tmp_path):
    emu = serve("cpu_jobs.run", env={**JSON, "HOOK_DIR": str(tmp_path)})
    where = {"dir": str(tmp_path)}
    run_jobs(emu, tmp_path, ("fail", "boom"), ("die", "segv"), ("die", "exit"), ("crunch", where, "after"))
    (record,) = emu.wait_for_records(1)
    assert (tmp_path / "hook-fail").read_text() == "ProcessJobError ValueError: boom"
    assert (tmp_path / "hook-die").read_text().endswith("the worker process died during the job (exit status 3)")
    lines = json_lines(emu.runtime_output())
    failed = [line for line in lines if line["message"].endswith("failed")]
    # The job's own error, logged by the worker with its traceback and the invocation's request id.
    assert failed[0]["errorType"] == "ValueError" and failed[0]["requestId"] == record["request_id"]
    assert any("fail" in frame for frame in failed[0]["stackTrace"][-1:])
    died = [line["errorMessage"] for line in failed if line["errorType"] == "ProcessJobError"]
    assert died == [
        "WorkerDied: the worker process died during the job (signal SIGSEGV)",
        "WorkerDied: the worker process died during the job (exit status 3)",
    ]
    (summary,) = summaries(emu.runtime_output())
    assert (summary["ok"], summary["failed"]) == (1, 3)  # a new worker took the dead one's place
    assert (tmp_path / "after").exists()


def test_a_process_job_is_stopped_at_its_deadline_and_its_worker_replaced_and_reaped(serve, tmp_path):
    # Two workers, started by a first invocation, so that neither job's time goes on starting a worker.
    emu = serve("cpu_jobs.run", timeout=30, env=JSON, freeze=False, memory_size=3538)  # unfrozen: a late reap shows
    where = {"dir": str(tmp_path)}
    run_jobs(emu, tmp_path, ("crunch", where, "warm1"), ("crunch", where, "warm2"))
    run_jobs(emu, tmp_path, ("spin_forever", where, "polite"), ("ignore_sigterm", where, "stubborn"), job_timeout=1)
    record = emu.wait_for_records(2)[1]
    assert record["next_at"] < record["deadline_ms"] / 1000 - 20  # stopped: not billed to the deadline
    assert (tmp_path / "polite.cleaned").exists()  # SIGTERM first: its finally block ran
    summary = summaries(emu.runtime_output())[1]
    assert (summary["timedOut"], summary["failed"]) == (2, 0)
    overruns = [line for line in json_lines(emu.runtime_output()) if "overran" in line["message"]]
    assert sorted(line["job"] for line in overruns) == ["ignore_sigterm", "spin_forever"]  # one line each
    for name in ("polite", "stubborn"):
        pid = int((tmp_path / f"{name}.started").read_text())
        # killed and reaped: neither running nor a zombie
        wait_until(lambda: not Path(f"/proc/{pid}").exists(), what=f"worker {pid} of {name} to be reaped")  # noqa: B023
    run_jobs(emu, tmp_path, ("crunch", where, "next"))
    emu.wait_for_records(3)
    assert (tmp_path / "next").exists()


def test_what_cannot_be_sent_to_a_process_is_refused_at_defer(serve, tmp_path):
    emu = serve("cpu_jobs.refused")
    refused = emu.invoke({"dir": str(tmp_path)}).json()
    for case in ("lambda", "closure", "socket", "lock"):
        kind, message = refused[case]
        assert kind == "TypeError" and "cannot be sent to a worker process" in message, case
    assert refused["executor"][0] == "ValueError" and "executor" in refused["executor"][1]


def test_two_vcpus_worth_of_memory_runs_two_jobs_at_once(serve, tmp_path):
    # Each job waits for a file only the other creates: with one worker this would wait until the deadline.
    emu = serve("cpu_jobs.run", timeout=60, memory_size=3538)
    where = {"dir": str(tmp_path)}
    run_jobs(emu, tmp_path, ("wait_then_crunch", where, "b", "a"), ("wait_then_crunch", where, "a_gate", "b"))
    (tmp_path / "a_gate").touch()
    (record,) = emu.wait_for_records(1)
    assert record["next_at"] < record["deadline_ms"] / 1000 - 30
    assert {(tmp_path / name).read_text().split()[0] for name in "ab"} != {""}


@pytest.mark.parametrize(("at_init", "workers"), [("false", []), ("true", ["lambda_runtime.jobs.worker"] * 2)])
def test_workers_start_on_first_use_or_at_init_when_asked(serve, at_init, workers):
    emu = serve("cpu_jobs.children", memory_size=3538, env={"LAMBDA_RUNTIME_DEFER_PROCESSES_AT_INIT": at_init})
    assert emu.invoke({}).json() == workers  # the first invocation, before any process job


def test_the_pool_size_follows_the_memory_not_the_host():
    assert [default_processes(mb) for mb in (128, 1769, 3008, 3538, 10240)] == [1, 1, 2, 2, 6]


NO_SHM = shutil.which("unshare") is not None and os.geteuid() == 0


@pytest.mark.skipif(not NO_SHM, reason="needs root and unshare(1) to hide /dev/shm in a mount namespace")
def test_without_dev_shm_the_executor_works_where_multiprocessing_pool_fails(serve, tmp_path):
    # As on Lambda: no usable /dev/shm, so no POSIX semaphores. Here a read-only empty tmpfs hides the host's.
    hide_shm = 'mount -t tmpfs -o ro,size=4k none /dev/shm && exec "$@"'
    command = ["unshare", "-m", "sh", "-c", hide_shm, "sh", sys.executable, "-m", "lambda_runtime"]
    emu = serve("cpu_jobs.pool_in_a_thread_job", runtime_command=command)
    assert emu.invoke({"dir": str(tmp_path)}).json() == "answered"
    emu.wait_for_records(1)
    assert wait_for_file(tmp_path / "pool").read_text().startswith("OSError: [Errno 30]")
    assert (tmp_path / "process_job").exists()


def test_a_free_threaded_interpreter_is_named_in_the_startup_log(tmp_path):
    # Wherever the test suite runs (CI has no free-threaded build: test_lifecycle_startup.py runs a real one when
    # there is one), an interpreter made to answer as one would: a "t" ABI, and sys._is_gil_enabled() False.
    probe = (
        "import sys; sys.abiflags = 't'; sys._is_gil_enabled = lambda: False\n"
        "from lambda_runtime.main import main\nsys.exit(main())"
    )
    with ScriptedRuntimeApi() as api:
        api.add("GET", "/next", Reply(400, b"stop here"))
        env = {**os.environ, "AWS_LAMBDA_RUNTIME_API": api.address, "_HANDLER": "cpu_jobs.run"}
        result = subprocess.run(
            [sys.executable, "-c", probe], env=env, cwd=FUNCTIONS, capture_output=True, text=True, timeout=60
        )
    assert "Free-threaded Python (no GIL): thread jobs run in parallel" in result.stdout, result.stdout + result.stderr


def test_on_lambda_s_telemetry_descriptor_a_worker_s_records_are_frames_too(serve, tmp_path):
    from tests.test_logs import RUNTIME, framed_runtime, read_frames

    env = {"_LAMBDA_TELEMETRY_LOG_FD": "3", "AWS_LAMBDA_LOG_FORMAT": "JSON", "AWS_LAMBDA_LOG_LEVEL": "INFO"}
    emu = serve("cpu_jobs.run", env=env, runtime_command=framed_runtime(tmp_path, *RUNTIME))
    run_jobs(emu, tmp_path, ("crunch", {"dir": str(tmp_path)}, "framed"))
    (record,) = emu.wait_for_records(1)
    frames = read_frames((tmp_path / "frames.bin").read_bytes())
    crunched = [json.loads(frame[2]) for frame in frames if "crunched framed" in frame[2]]
    assert [line["requestId"] for line in crunched] == [record["request_id"]]
    assert "crunched" not in emu.runtime_output()  # not on stdout: one record, one frame


def test_closing_the_executor_reaps_every_worker_so_none_is_left_running_or_a_zombie(tmp_path):
    import psutil

    from lambda_runtime.jobs.processes import ProcessExecutor

    def workers() -> set[int]:
        pids = set()
        for child in psutil.Process().children():
            with contextlib.suppress(psutil.Error):  # another test's child, gone or a zombie meanwhile
                if "lambda_runtime.jobs.worker" in child.cmdline():
                    pids.add(child.pid)
        return pids

    before = workers()
    executor = ProcessExecutor(2, str(tmp_path), "Text", "INFO")
    executor.start()
    started = workers() - before
    assert len(started) == 2
    executor.close()
    # Reaped by close() itself, at once: a worker merely told to stop would still be there, running or a zombie.
    assert [pid for pid in started if Path(f"/proc/{pid}").exists()] == []
