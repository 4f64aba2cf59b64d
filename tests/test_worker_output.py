"""What process jobs print reaches the invocation's log line by line while they run; a shutdown names the process
jobs it cuts short, logs the summary and leaves no worker traceback on the terminal; long lines come out whole."""

from __future__ import annotations

import signal
from pathlib import Path

from tests.conftest import FUNCTIONS
from tests.emulator_functions.harness import CliServer
from tests.functions.worker_output import LONG_LINE
from tests.polling import wait_until

EXTENSION_ON = {"LAMBDA_RUNTIME_SHUTDOWN_EXTENSION": "true"}
AS_ON_LAMBDA = {"PYTHONUNBUFFERED": ""}  # Lambda does not set it (empty is unset); a developer's shell may


def start(serve, tmp_path: Path, handler: str = "worker_output.handler", **env: str):
    env = {"OUTPUT_DIR": str(tmp_path), **EXTENSION_ON, **AS_ON_LAMBDA, **env}
    return serve(handler, env=env, shutdown_budget=30.0, kill_grace=30.0, timeout=60)


def test_a_process_job_prints_into_its_invocations_log_while_it_runs(serve, tmp_path):
    emu = start(serve, tmp_path)
    response = emu.invoke({"lines": 3, "wait": True})
    assert response.json() == "answered"
    emu.wait_for_output("job line 2", timeout=20)  # the job is still waiting for the release file
    assert not (tmp_path / "release").exists()
    (tmp_path / "release").touch()
    request_id = response.headers["X-Amzn-RequestId"]
    emu.record(request_id)
    output = emu.invocation_output(request_id)
    assert all(f"job line {n}" in output for n in range(3)) and "job finally ran" in output
    assert "1 ok, 0 failed" in output


def test_sigterm_names_the_process_job_it_cuts_short_and_logs_the_summary(serve, tmp_path):
    emu = start(serve, tmp_path)
    response = emu.invoke({"lines": 1, "wait": True})
    request_id = response.headers["X-Amzn-RequestId"]
    emu.wait_for_output("job line 0", timeout=20)
    emu.stop()  # SIGTERM while the job runs: to the runtime, and to its worker (same process group)
    output = emu.runtime_output()
    assert "job finally ran" in output  # flushed before the worker went
    cut = next(line for line in output.splitlines() if "Deferred jobs cut short by SIGTERM" in line)
    assert "talk" in cut and request_id in cut
    summary = next(line for line in output.splitlines() if "Deferred jobs: " in line)
    assert "0 ok, 0 failed, 1 timed out" in summary and request_id in summary
    assert "Traceback" not in output and "Terminated" not in output


def test_stopping_an_idle_runtime_leaves_no_worker_traceback(serve, tmp_path):
    emu = start(serve, tmp_path)
    assert emu.invoke({"lines": 1}).json() == "answered"
    emu.wait_for_records(1)  # the job is over: the worker waits for the next one, the runtime for /next (frozen)
    emu.stop()
    output = emu.runtime_output()
    assert "Shutting down (SIGTERM)" in output
    assert "Traceback" not in output and "Terminated" not in output


def test_ctrl_c_on_serve_after_a_process_job_leaves_no_worker_traceback(tmp_path):
    out = tmp_path / "stdout"
    cli = CliServer("worker_output.handler", cwd=FUNCTIONS, stdout=out, env=AS_ON_LAMBDA)
    try:
        status, _ = cli.post(b'{"lines": 1}')
        assert status == 200
        assert wait_until(lambda: "REPORT" in out.read_text())  # the invocation is over: the runtime waits
        assert cli.stop(signal.SIGINT) == 0
    finally:
        cli.kill()
    terminal = out.read_text() + cli.log()
    assert "job line 0" in terminal
    assert "Traceback" not in terminal and "Terminated" not in terminal


def test_a_long_line_printed_by_one_thread_is_never_split_by_another_threads_record(serve, tmp_path):
    emu = start(serve, tmp_path, "worker_output.long_lines")
    assert emu.invoke({"lines": 40}).json() == "answered"
    emu.wait_for_records(1)
    lines = emu.runtime_output().splitlines()
    assert sum(1 for line in lines if "x" * 100 in line) == 40
    for line in lines:
        if "x" * 100 in line:
            assert line == "x" * LONG_LINE, f"a line of {len(line)} characters: {line[:80]!r}...{line[-80:]!r}"
