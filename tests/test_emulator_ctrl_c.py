"""Ctrl-C on `lambda-runtime serve` stops every runtime in order, frozen or not: it is continued, gets SIGTERM, and
its shutdown hooks run before it exits; none is killed for want of seeing the signal."""

from __future__ import annotations

import json
import os
import signal
import threading
from pathlib import Path

import pytest

from tests.conftest import FUNCTIONS
from tests.emulator_functions.harness import CliServer, process_state
from tests.polling import wait_until

ENVIRONMENTS = 8  # runtimes stopped by one Ctrl-C: each is a trial of its own
ROUNDS = 3


def serve_and_stop(tmp_path: Path, *options: str) -> tuple[list[int], str]:
    """Serve ENVIRONMENTS invocations at once (each defers jobs, so each runtime has worker threads), then SIGINT.

    Returns the runtimes' pids and the emulator's log."""
    marks = tmp_path / "marks"
    marks.mkdir()
    report = tmp_path / "records.jsonl"
    environ = {**os.environ, "SHUTDOWN_DIR": str(marks)}
    args = ("--concurrency", str(ENVIRONMENTS), "--report-file", str(report), *options)
    cli = CliServer("shutdown_fn.handler", *args, cwd=FUNCTIONS, env=environ)
    try:
        event = json.dumps({"meet": ENVIRONMENTS, "jobs": ["quick", "quick"]}).encode()
        statuses: list[int] = []
        callers = [threading.Thread(target=lambda: statuses.append(cli.post(event)[0])) for _ in range(ENVIRONMENTS)]
        for caller in callers:
            caller.start()
        for caller in callers:
            caller.join(120)
        assert statuses == [200] * ENVIRONMENTS
        assert wait_until(lambda: report.exists() and len(report.read_text().splitlines()) == ENVIRONMENTS, 60)
        pids = [json.loads(line)["runtime_pid"] for line in report.read_text().splitlines()]
        assert len(set(pids)) == ENVIRONMENTS
        if "--no-freeze" not in options:
            for pid in pids:  # frozen between invocations, as on Lambda
                assert wait_until(lambda pid=pid: process_state(pid) == "T"), process_state(pid)
        assert cli.stop(signal.SIGINT, timeout=60) == 0
        return pids, cli.log()
    finally:
        cli.kill()


@pytest.mark.parametrize("round_", range(ROUNDS))
def test_ctrl_c_runs_the_shutdown_hooks_of_every_frozen_runtime(tmp_path: Path, round_: int) -> None:
    pids, log = serve_and_stop(tmp_path)
    hooked = {pid for pid in pids if (tmp_path / "marks" / f"hook.done.{pid}").exists()}
    assert sorted(set(pids) - hooked) == [], log
    assert "did not exit in" not in log  # nothing was killed for want of seeing SIGTERM
    assert "emulator stopped" in log


def test_ctrl_c_runs_the_shutdown_hooks_of_runtimes_that_are_not_frozen(tmp_path: Path) -> None:
    pids, log = serve_and_stop(tmp_path, "--no-freeze")
    assert all((tmp_path / "marks" / f"hook.done.{pid}").exists() for pid in pids), log
    assert "did not exit in" not in log
