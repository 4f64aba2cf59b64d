"""`bootstrap` in each way Lambda starts it, run for real by `sh` under the emulator.

Each candidate interpreter is a tiny `sh` script that tags the environment (PROBE_PYTHON) and execs this test's Python,
so the function can tell which one bootstrap chose. The wrapper mode gets the command line Lambda gives an exec
wrapper: the managed runtime's interpreter, then its arguments.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from lambda_runtime.emulator import Emulator

ROOT = Path(__file__).resolve().parent.parent
BOOTSTRAP = ROOT / "bootstrap"

PROBE = """
import os
import sys


def handler(event, context):
    return {
        "python": os.environ.get("PROBE_PYTHON"),
        "function": "handler",
        "pythonpath": os.environ.get("PYTHONPATH", ""),
        "argv": sys.argv,
    }


def other(event, context):
    return {"python": os.environ.get("PROBE_PYTHON"), "function": "other"}
"""


class Pythons:
    """Tagged interpreters in a scratch directory, and the function that reports which one ran it."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.task_root = root / "task"
        self.task_root.mkdir()
        (self.task_root / "probe.py").write_text(PROBE)
        self.path_dir = root / "path"  # what `python3` on PATH finds

    def make(self, path: Path, tag: str) -> Path:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(f'#!/bin/sh\nPROBE_PYTHON={tag} exec "{sys.executable}" "$@"\n')
        path.chmod(0o755)
        return path

    def env(self, **extra: str) -> dict[str, str]:
        # Only our PATH entries and the system's: no virtualenv on it, no PYTHONPATH.
        return {"PATH": f"{self.path_dir}:/usr/bin:/bin", "PYTHONDONTWRITEBYTECODE": "1", **extra}


@pytest.fixture
def pythons(tmp_path: Path) -> Pythons:
    found = Pythons(tmp_path)
    found.make(found.path_dir / "python3", "path")
    return found


@pytest.fixture
def run() -> Iterator[Any]:
    emulators: list[Emulator] = []

    def start(pythons: Pythons, command: list[str], handler: str = "probe.handler", **env: str) -> dict[str, Any]:
        emulator = Emulator(handler, task_root=str(pythons.task_root), env=pythons.env(**env), runtime_command=command)
        emulators.append(emulator.start())
        response = emulator.invoke({})
        assert "X-Amz-Function-Error" not in response.headers, response.text + emulator.runtime_output()
        result: dict[str, Any] = response.json()
        return result

    yield start
    for emulator in emulators:
        emulator.stop()


def test_custom_runtime_uses_python3_on_path_and_the_handler_from__HANDLER(pythons: Pythons, run: Any) -> None:
    # provided.al2023 and container images: Lambda runs bootstrap with no arguments.
    result = run(pythons, ["sh", str(BOOTSTRAP)])
    assert result["python"] == "path"
    assert result["function"] == "handler"
    assert result["argv"][1:] == []  # nothing but the handler (from _HANDLER) reaches the runtime


def test_a_handler_argument_wins_over__HANDLER(pythons: Pythons, run: Any) -> None:
    # A container image's CMD is the handler: ENTRYPOINT ["/var/task/bootstrap"] + CMD ["probe.other"].
    result = run(pythons, ["sh", str(BOOTSTRAP), "probe.other"], handler="probe.handler")
    assert result == {"python": "path", "function": "other"}


def test_exec_wrapper_mode_uses_the_managed_runtimes_interpreter(pythons: Pythons, run: Any) -> None:
    # Lambda calls AWS_LAMBDA_EXEC_WRAPPER with the managed runtime's own command line.
    managed = pythons.make(pythons.root / "var" / "lang" / "bin" / "python3.12", "managed")
    result = run(pythons, ["sh", str(BOOTSTRAP), str(managed), "/var/runtime/bootstrap.py", "--flag"])
    assert result["python"] == "managed"
    # The managed runtime's arguments are dropped: the handler still comes from _HANDLER.
    assert result["function"] == "handler"
    assert result["argv"][1:] == []


def test_exec_wrapper_mode_falls_back_when_the_command_is_not_a_python(pythons: Pythons, run: Any) -> None:
    # Some runtimes pass a launcher script (e.g. /var/runtime/bootstrap) rather than the interpreter.
    launcher = pythons.root / "var" / "runtime" / "bootstrap"
    launcher.parent.mkdir(parents=True)
    launcher.write_text("#!/bin/sh\necho 'the managed runtime must not start' >&2\nexit 3\n")
    launcher.chmod(0o755)
    result = run(pythons, ["sh", str(BOOTSTRAP), str(launcher), "--some-arg"])
    assert result["python"] == "path"
    assert result["function"] == "handler"


def test_LAMBDA_RUNTIME_PYTHON_wins_over_every_guess(pythons: Pythons, run: Any) -> None:
    chosen = pythons.make(pythons.root / "custom" / "python", "override")
    managed = pythons.make(pythons.root / "var" / "lang" / "bin" / "python3.12", "managed")
    result = run(
        pythons, ["sh", str(BOOTSTRAP), str(managed), "/var/runtime/bootstrap.py"], LAMBDA_RUNTIME_PYTHON=str(chosen)
    )
    assert result["python"] == "override"


def test_LAMBDA_RUNTIME_PYTHON_may_be_a_command_name(pythons: Pythons, run: Any) -> None:
    pythons.make(pythons.path_dir / "python3.99", "by-name")
    result = run(pythons, ["sh", str(BOOTSTRAP)], LAMBDA_RUNTIME_PYTHON="python3.99")
    assert result["python"] == "by-name"


def test_the_runtime_and_its_dependencies_come_first_on_PYTHONPATH(pythons: Pythons, run: Any) -> None:
    # Lambda's managed runtimes set PYTHONPATH=/var/runtime: it is kept, after our directory.
    result = run(pythons, ["sh", str(BOOTSTRAP)], PYTHONPATH="/var/runtime")
    entries = result["pythonpath"].split(":")
    assert entries[0] == str(ROOT)
    assert entries[-1] == "/var/runtime"


def test_bootstrap_runs_as_an_executable_from_a_relative_path(pythons: Pythons, run: Any, tmp_path: Path) -> None:
    # Lambda execs /var/task/bootstrap itself (#! line, mode 0755); the emulator's cwd is the task root.
    copy = pythons.task_root / "bootstrap"
    copy.write_bytes(BOOTSTRAP.read_bytes())
    copy.chmod(0o755)
    (pythons.task_root / "lambda_runtime").symlink_to(ROOT / "lambda_runtime")
    result = run(pythons, ["./bootstrap"])
    assert result["python"] == "path"
    assert result["pythonpath"].split(":")[0] == str(pythons.task_root)


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"PATH": "/nonexistent"}, "no Python found"),
        ({"PATH": "/usr/bin:/bin", "LAMBDA_RUNTIME_PYTHON": "/nonexistent/python3"}, "is not an executable file"),
        ({"PATH": "/usr/bin:/bin", "LAMBDA_RUNTIME_PYTHON": "no-such-python"}, "is not on PATH"),
    ],
)
def test_without_a_usable_python_bootstrap_says_why(env: dict[str, str], message: str) -> None:
    # Lambda reports the exit as Runtime.ExitError; the message is what the function's log shows.
    result = subprocess.run(["/bin/sh", str(BOOTSTRAP)], env=env, capture_output=True, text=True, timeout=30)
    assert result.returncode == 127
    assert message in result.stderr


def test_bootstrap_is_posix_sh() -> None:
    assert BOOTSTRAP.read_text().startswith("#!/bin/sh\n")
    assert os.access(BOOTSTRAP, os.X_OK)
    for shell in ("/bin/sh", "/bin/dash", "/bin/bash"):
        if os.path.exists(shell):
            flags = ["--posix"] if shell.endswith("bash") else []
            check = subprocess.run([shell, *flags, "-n", str(BOOTSTRAP)], capture_output=True, text=True)
            assert check.returncode == 0, check.stderr
