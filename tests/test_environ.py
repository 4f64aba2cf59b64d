"""PythonLevelEnviron: Python code sees the trace id; the C environment neither goes stale nor leaks."""

from __future__ import annotations

import os
import subprocess
import sys

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


def child_sees(**options) -> str:
    command = [sys.executable, "-c", f"import os; print(os.environ.get({NAME!r}))"]
    return subprocess.run(command, capture_output=True, text=True, **options).stdout.strip()


def test_child_processes_see_the_current_value_never_a_stale_one(environ):
    os.environ[NAME] = "stale"  # set the ordinary way first, as a user might
    environ[NAME] = "current"
    assert child_sees() == "current"  # inherited: the C-level environment
    assert child_sees(env=dict(os.environ)) == "current"
    assert os.popen(f"echo ${NAME}").read().strip() == "current"
    environ[NAME] = "a much longer value than before" * 20  # outgrows the buffer
    assert child_sees() == "a much longer value than before" * 20
    environ[NAME] = "short again"
    os.environ[NAME] = "replaced by user code"  # setenv takes the variable away from our buffer...
    environ[NAME] = "ours again"  # ...and the next write takes it back
    assert child_sees() == "ours again"
    del environ[NAME]
    assert child_sees() == "None"
    environ[NAME] = "back"
    assert child_sees() == "back"


LEAK_PROBE = """
import os, psutil
from lambda_runtime.environ import PythonLevelEnviron
process = psutil.Process()
wrapper = PythonLevelEnviron()
def growth(write):
    before = process.memory_info().rss
    for i in range(30_000):
        write(f"Root=1-{i:08x}-{'a' * 24};Parent={'b' * 16};Sampled=0")
    return (process.memory_info().rss - before) / 2**20
print(growth(lambda v: wrapper.__setitem__("_T", v)), growth(lambda v: os.environ.__setitem__("_T", v)))
"""


def test_writes_do_not_leak_like_setenv():
    # A fresh process: in a long-lived one, freed heap from earlier tests absorbs the leak and RSS hides it.
    result = subprocess.run([sys.executable, "-c", LEAK_PROBE], capture_output=True, text=True, timeout=120)
    wrapper, leaking = map(float, result.stdout.split())
    assert leaking > 2.0  # glibc keeps every overwritten string: ~140 bytes each
    assert wrapper < 0.5
