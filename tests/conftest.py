"""Shared fixtures: the real emulator on 127.0.0.1, port 0, with the real runtime as its child process; and a check
that the suite leaves no process of its own behind."""

from __future__ import annotations

import contextlib
import os
import signal
import sys
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import psutil
import pytest

from lambda_runtime.emulator import Emulator

FUNCTIONS = Path(__file__).parent / "functions"
OFFICIAL_CLIENT = [sys.executable, "-m", "awslambdaric"]
#: Set for the whole session: every process the suite starts with the suite's environment inherits it, so one left
#: behind is found even after its parent died and it was handed to init.
SESSION_MARK = "LAMBDA_RUNTIME_TESTS_SESSION"
#: How long a process that is already on its way out may take to go before it counts as left behind.
LEFTOVER_GRACE_S = 10.0


@pytest.fixture(scope="session", autouse=True)
def no_process_left_behind() -> Iterator[None]:
    """Fail the session if a process the suite started (an emulator, a runtime, a job worker) outlives it.

    A frozen runtime whose emulator died stays stopped (state T) for ever; one that runs on keeps a port, memory and
    CPU. Leftovers are killed (so the machine is clean again) and named in the failure.
    """
    mark = f"{os.getpid()}-{uuid.uuid4().hex}"
    os.environ[SESSION_MARK] = mark
    yield
    leftovers = _ours_alive(mark)
    _, alive = psutil.wait_procs(leftovers, timeout=LEFTOVER_GRACE_S)
    if not alive:
        return
    described = [_describe(process) for process in alive]
    for process in alive:
        with contextlib.suppress(psutil.Error):
            process.send_signal(signal.SIGKILL)  # works on a stopped process too
    psutil.wait_procs(alive, timeout=LEFTOVER_GRACE_S)
    pytest.fail("processes left behind by the test suite (now killed):\n" + "\n".join(described), pytrace=False)


def _ours_alive(mark: str) -> list[psutil.Process]:
    """Descendants of this process, and any process carrying this session's mark in its environment."""
    me = psutil.Process()
    found = {child.pid: child for child in me.children(recursive=True)}
    for process in psutil.process_iter():
        if process.pid in found or process.pid == me.pid:
            continue
        with contextlib.suppress(psutil.Error):
            if process.environ().get(SESSION_MARK) == mark:
                found[process.pid] = process
    return [process for process in found.values() if _alive(process)]


def _alive(process: psutil.Process) -> bool:
    try:
        return process.status() != psutil.STATUS_ZOMBIE
    except psutil.Error:
        return False


def _describe(process: psutil.Process) -> str:
    try:
        return f"pid {process.pid} ({process.status()}): {' '.join(process.cmdline())[:200]}"
    except psutil.Error:
        return f"pid {process.pid} (gone)"


@pytest.fixture
def serve() -> Iterator[Callable[..., Emulator]]:
    """Start an emulator serving `handler` from tests/functions; all are stopped when the test ends."""
    with contextlib.ExitStack() as stack:

        def start(handler: str, **options: Any) -> Emulator:
            options.setdefault("task_root", str(FUNCTIONS))
            # Over the process environment, not instead of it: the runtime under test keeps this interpreter's
            # PATH and PYTHONPATH, so it is the checkout's code whatever a test adds.
            options["env"] = {**os.environ, **options.get("env", {})}
            options.setdefault("test_hooks", True)
            return stack.enter_context(Emulator(handler, **options))

        yield start
