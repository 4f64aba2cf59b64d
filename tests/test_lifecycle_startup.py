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
    reason="no free-threaded CPython with the runtime's dependencies here (see docs/guides/process-jobs.md)",
)


def test_a_regular_build_says_nothing() -> None:
    assert gil_state_line("", gil_enabled=True) is None


def test_a_free_threaded_build_without_the_gil_says_thread_jobs_run_in_parallel() -> None:
    level, message = gil_state_line("t", gil_enabled=False) or (None, "")
    assert level == logging.INFO and "thread jobs run in parallel" in message


def test_a_free_threaded_build_whose_gil_came_back_warns() -> None:
    level, message = gil_state_line("t", gil_enabled=True) or (None, "")
    assert level == logging.WARNING and "thread jobs run one at a time" in message


@needs_free_threaded
@pytest.mark.parametrize(
    ("gil", "seen_in_jobs", "logged"),
    [
        # The runtime's own imports (requests and what it brings) must not turn the GIL back on.
        ("0", "gil=False total=True", "Free-threaded Python (no GIL): thread jobs run in parallel"),
        ("1", "gil=True total=True", "but the GIL is enabled"),  # forced on: the runtime warns
    ],
)
def test_on_a_free_threaded_interpreter_thread_jobs_see_the_gil_and_the_runtime_says_so(  # type: ignore[no-untyped-def]
    serve, tmp_path, gil, seen_in_jobs, logged
) -> None:
    assert FREE_THREADED is not None
    env = {"PYTHON_GIL": gil, "PYTHONPATH": os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")])}
    emu = serve("free_threading.handler", runtime_command=[FREE_THREADED, "-m", "lambda_runtime"], env=env)
    assert emu.invoke({"dir": str(tmp_path)}).json() == "answered"
    emu.wait_for_records(1)
    assert [(tmp_path / name).read_text() for name in "ab"] == [seen_in_jobs] * 2
    assert logged in emu.runtime_output()
