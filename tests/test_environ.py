"""PythonLevelEnviron: Python code sees the trace id; the C environment neither goes stale nor leaks."""

from __future__ import annotations

import os
import subprocess
import sys

import psutil
import pytest

from lambda_runtime.environ import PythonLevelEnviron

NAME = "_LAMBDA_RUNTIME_TEST_VARIABLE"


@pytest.fixture
def environ():
    yield PythonLevelEnviron()
    os.environ.pop(NAME, None)


def test_python_sees_writes_and_deletes(environ):
    environ[NAME] = "first"
    assert os.environ[NAME] == os.getenv(NAME) == environ[NAME] == "first"
    environ[NAME] = "second"
    assert os.environ.get(NAME) == "second"
    del environ[NAME]
    assert NAME not in os.environ
    assert environ.pop(NAME, None) is None


def test_child_processes_never_see_a_stale_value(environ):
    os.environ[NAME] = "stale"  # set the ordinary way first, as a user might
    environ[NAME] = "current"
    inherited = subprocess.run(
        [sys.executable, "-c", f"import os; print(os.environ.get({NAME!r}))"], capture_output=True, text=True
    ).stdout.strip()
    assert inherited == "None"
    passed = subprocess.run(
        [sys.executable, "-c", f"import os; print(os.environ.get({NAME!r}))"],
        env=dict(os.environ),
        capture_output=True,
        text=True,
    ).stdout.strip()
    assert passed == "current"


def test_writes_do_not_leak_like_setenv(environ):
    process = psutil.Process()

    def growth(write) -> float:
        before = process.memory_info().rss
        for i in range(30_000):
            write(f"Root=1-{i:08x}-{'a' * 24};Parent={'b' * 16};Sampled=0")
        return (process.memory_info().rss - before) / 2**20

    def through_os_environ(value: str) -> None:
        os.environ[NAME] = value

    def through_wrapper(value: str) -> None:
        environ[NAME] = value

    wrapper = growth(through_wrapper)
    leaking = growth(through_os_environ)
    assert leaking > 2.0  # glibc keeps every overwritten string: ~140 bytes each
    # Relative, not absolute: other threads of a busy test process allocate too.
    assert wrapper < leaking / 3
