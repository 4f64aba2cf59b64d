"""What the runtime says about the GIL once the handler is imported (lifecycle/startup.py)."""

from __future__ import annotations

import logging
import os
from pathlib import Path

import pytest

from lambda_runtime.lifecycle.startup import gil_state_line
from tests.interpreters import find_free_threaded_python

REPO = Path(__file__).resolve().parent.parent
FREE_THREADED = find_free_threaded_python()
needs_free_threaded = pytest.mark.skipif(
    FREE_THREADED is None,
    reason="no free-threaded CPython with the runtime's dependencies here (README: Free-threaded Python)",
)


def test_a_regular_build_says_nothing() -> None:
    assert gil_state_line("", gil_enabled=True) is None


def test_a_free_threaded_build_without_the_gil_says_thread_jobs_run_in_parallel() -> None:
    level, message = gil_state_line("t", gil_enabled=False) or (None, "")
    assert level == logging.INFO and "thread jobs run in parallel" in message


def test_a_free_threaded_build_whose_gil_came_back_warns() -> None:
    level, message = gil_state_line("t", gil_enabled=True) or (None, "")
    assert level == logging.WARNING and "thread jobs run one at a time" in message


def _serve_free_threaded(serve, gil: str):  # type: ignore[no-untyped-def]
    assert FREE_THREADED is not None
    env = {"PYTHON_GIL": gil, "PYTHONPATH": os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")])}
    return serve("free_threading.handler", runtime_command=[FREE_THREADED, "-m", "lambda_runtime"], env=env)


@needs_free_threaded
def test_on_a_free_threaded_interpreter_thread_jobs_run_without_the_gil(serve, tmp_path) -> None:  # type: ignore[no-untyped-def]
    emu = _serve_free_threaded(serve, gil="0")
    assert emu.invoke({"dir": str(tmp_path)}).json() == "answered"
    emu.wait_for_records(1)
    # The runtime's own imports (requests and what it brings) must not turn the GIL back on.
    assert [(tmp_path / name).read_text() for name in "ab"] == ["gil=False total=True"] * 2
    assert "Free-threaded Python (no GIL): thread jobs run in parallel" in emu.runtime_output()


@needs_free_threaded
def test_on_a_free_threaded_interpreter_with_the_gil_forced_on_the_runtime_warns(serve, tmp_path) -> None:  # type: ignore[no-untyped-def]
    emu = _serve_free_threaded(serve, gil="1")
    assert emu.invoke({"dir": str(tmp_path)}).json() == "answered"
    emu.wait_for_records(1)
    assert [(tmp_path / name).read_text() for name in "ab"] == ["gil=True total=True"] * 2
    assert "but the GIL is enabled" in emu.runtime_output()
