"""The suite's child processes: emulator CLIs (whose children are the runtimes under test) and bare runtimes.

Every process is started in its own session (a Ctrl-C in the terminal reaches only the suite, which then stops
them in order) and stopped by `stop_process`: SIGTERM, then SIGKILL for it and its descendants after a grace.
"""

from __future__ import annotations

import contextlib
import os
import re
import shlex
import signal
import subprocess
import sys
import time
from pathlib import Path
from types import TracebackType
from typing import IO

import psutil

HERE = Path(__file__).parent
FUNCTIONS = HERE / "functions"
ROOT = HERE.parent  # the checkout: `python -m benchmarks.*` children start here
FLOOR_RUNTIME = HERE / "floor_runtime.py"
PYTHON = sys.executable
#: The runtimes under test: how each is started (awslambdaric takes the handler as an argument).
RUNTIMES = {
    "ours": [PYTHON, "-m", "lambda_runtime"],
    "awslambdaric": [PYTHON, "-m", "awslambdaric"],
    "floor": [PYTHON, str(FLOOR_RUNTIME)],
}


#: Removed from every child's environment: a runtime should run as Lambda starts it (bytecode written and reused,
#: its own buffering), whatever the shell running the suite exports.
UNSET = ("PYTHONDONTWRITEBYTECODE", "PYTHONUNBUFFERED", "PYTHONPROFILEIMPORTTIME")


def child_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in UNSET}
    env.update(extra)
    return env


def runtime_command(runtime: str, handler: str) -> list[str]:
    base = RUNTIMES[runtime]
    return [*base, handler] if runtime == "awslambdaric" else list(base)


def ours_with(env: dict[str, str], python: str = PYTHON) -> str:
    """A `--runtime-command` for our runtime under `python`, with `env` added to what the emulator gives it."""
    return shlex.join(["env", *(f"{name}={value}" for name, value in env.items()), python, "-m", "lambda_runtime"])


def emulator_command(handler: str, runtime: str, report: Path, freeze: bool, timeout_s: float) -> list[str]:
    """The emulator CLI (`lambda-runtime serve`), run with this interpreter."""
    command = [PYTHON, "-m", "lambda_runtime.emulator", "serve", handler, "--port", "0"]
    command += ["--task-root", str(FUNCTIONS), "--timeout", str(timeout_s), "--report-file", str(report)]
    command += ["--runtime-command", shlex.join(runtime_command(runtime, handler))]
    return command if freeze else [*command, "--no-freeze"]


def stop_process(proc: subprocess.Popen[bytes] | subprocess.Popen[str] | None, grace: float = 10.0) -> None:
    """SIGTERM (an emulator then stops its runtime); SIGKILL to the process after `grace`, and to any descendant
    still alive a few seconds after it exited (a runtime it did not reap in time, say)."""
    if proc is None or proc.poll() is not None:
        return
    try:
        family = psutil.Process(proc.pid).children(recursive=True)
    except psutil.Error:
        family = []
    with contextlib.suppress(ProcessLookupError):
        proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(grace)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
    _, alive = psutil.wait_procs(family, timeout=3)
    for child in alive:  # psutil checks for pid reuse before signalling
        with contextlib.suppress(psutil.Error):
            child.kill()
    psutil.wait_procs(alive, timeout=3)


def tail(path: Path, lines: int = 15) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return ""


class EmulatorProcess:
    """One `lambda-runtime serve` process: one runtime with one handler, its records in a JSON-lines file."""

    def __init__(
        self, name: str, runtime: str, handler: str, workdir: Path, freeze: bool = True, timeout_s: float = 30.0
    ) -> None:
        self.name, self.runtime, self.handler = name, runtime, handler
        self.report = workdir / f"{name}.records.jsonl"
        self.log = workdir / f"{name}.log"
        self.command = emulator_command(handler, runtime, self.report, freeze, timeout_s)
        self.proc: subprocess.Popen[bytes] | None = None
        self.port = 0

    def start(self) -> None:
        with open(self.log, "wb") as log:
            self.proc = subprocess.Popen(
                self.command,
                env=child_env(),
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )

    def wait_ready(self, timeout: float = 60.0) -> int:
        """Block until the emulator listens (its log says where); returns the port."""
        assert self.proc is not None
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            found = re.search(r"listening on http://127\.0\.0\.1:(\d+)", tail(self.log, 200))
            if found:
                self.port = int(found[1])
                return self.port
            if self.proc.poll() is not None:
                raise RuntimeError(f"emulator {self.name} exited ({self.proc.returncode}):\n{tail(self.log)}")
            time.sleep(0.02)
        raise TimeoutError(f"emulator {self.name} not listening after {timeout} s:\n{tail(self.log)}")

    def stop(self) -> None:
        stop_process(self.proc)

    def __enter__(self) -> EmulatorProcess:
        self.start()
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None, tb: TracebackType | None) -> None:
        self.stop()


def start_runtime(
    runtime: str, handler: str, api_port: int, log: IO[bytes], extra_env: dict[str, str] | None = None
) -> subprocess.Popen[bytes]:
    """A bare runtime talking to `127.0.0.1:api_port` (the loop-only server), cwd = the task root."""
    env = child_env(
        AWS_LAMBDA_RUNTIME_API=f"127.0.0.1:{api_port}",
        _HANDLER=handler,
        LAMBDA_TASK_ROOT=str(FUNCTIONS),
        AWS_LAMBDA_FUNCTION_NAME="bench",
        AWS_LAMBDA_FUNCTION_VERSION="$LATEST",
        AWS_LAMBDA_FUNCTION_MEMORY_SIZE="128",
        **(extra_env or {}),
    )
    return subprocess.Popen(
        runtime_command(runtime, handler),
        cwd=FUNCTIONS,
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=log,
        start_new_session=True,
    )


def terminate_on_sigterm() -> None:
    """Turn SIGTERM into KeyboardInterrupt, so that `with` blocks unwind and stop the children."""

    def raise_interrupt(signum: int, frame: object) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, raise_interrupt)
