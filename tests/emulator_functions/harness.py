"""Shared helpers of the emulator tests (tests/test_emulator*.py); not a handler module."""

from __future__ import annotations

import contextlib
import http.client
import os
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import psutil

from lambda_runtime.emulator import Emulator

FUNCTIONS = Path(__file__).parent
SCRIPTED = FUNCTIONS / "scripted_runtime.py"
#: Our runtime, the emulator's default runtime command.
OURS = [sys.executable, "-m", "lambda_runtime"]


def ric(handler: str) -> list[str]:
    """The official client as the runtime command."""
    return [sys.executable, "-m", "awslambdaric", handler]


def scripted(mode: str) -> list[str]:
    return [sys.executable, str(SCRIPTED), mode]


@contextlib.contextmanager
def emulators() -> Iterator[Callable[..., Emulator]]:
    """``start(handler, runtime_command=None, **options)`` over tests/emulator_functions (default runtime:
    the official client); every emulator started is stopped on exit."""
    started: list[Emulator] = []

    def start(handler: str, runtime_command: list[str] | None = None, **options: Any) -> Emulator:
        options.setdefault("task_root", str(FUNCTIONS))
        emu = Emulator(handler, runtime_command=runtime_command or ric(handler), **options)
        started.append(emu.start())
        return emu

    try:
        yield start
    finally:
        for emu in reversed(started):
            emu.stop()


def pid_gone(pid: int) -> bool:
    """True when no process with this pid exists any more (zombies of ours count as existing)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    return False


def group_gone(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return True
    return False


def process_state(pid: int) -> str | None:
    """The state letter of /proc/<pid>/stat (R, S, T ...), None if the process is gone."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return stat.rsplit(")", 1)[1].split()[0]


class CliServer:
    """``lambda-runtime serve ARGS`` in its own process (port 0); its stderr (the debug log) is collected
    by a thread, so that the emulator never blocks on a full pipe."""

    def __init__(
        self,
        *args: str,
        cwd: Path = FUNCTIONS,
        stdout: Any = None,
        env: dict[str, str] | None = None,
        preexec_fn: Callable[[], Any] | None = None,
    ) -> None:
        """`stdout`: where the CLI shows the runtime's output: a file path (created), an open file or descriptor
        (a terminal's, say), or None to drop it; `env`: variables over this process's environment; `preexec_fn`: run in
        the child before the CLI starts (a lower descriptor limit, say)."""
        command = [sys.executable, "-m", "lambda_runtime.emulator.cli", "serve", *args, "--port", "0"]
        with contextlib.ExitStack() as stack:
            out = stack.enter_context(open(stdout, "wb")) if isinstance(stdout, Path) else stdout
            self.process = subprocess.Popen(
                [*command, "--log-level", "DEBUG"],
                cwd=cwd,
                stdout=subprocess.DEVNULL if out is None else out,
                stderr=subprocess.PIPE,
                text=True,
                env={**os.environ, **(env or {})},
                preexec_fn=preexec_fn,
            )
        self._lines: list[str] = []
        self._changed = threading.Condition()
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()
        listening = self.wait_for_line("listening on http://127.0.0.1:")
        self.port = int(listening.split("127.0.0.1:")[1].split(":")[0])

    def _read(self) -> None:
        assert self.process.stderr is not None
        for line in self.process.stderr:
            with self._changed:
                self._lines.append(line)
                self._changed.notify_all()
        with self._changed:
            self._lines.append("")  # EOF
            self._changed.notify_all()

    def wait_for_line(self, text: str, timeout: float = 30.0) -> str:
        def found() -> str | None:
            return next((line for line in self._lines if text in line), None)

        with self._changed:
            self._changed.wait_for(lambda: found() is not None or self._lines[-1:] == [""], timeout)
            line = found()
            if line is None:
                raise AssertionError(f"{text!r} not in the emulator's log:\n{''.join(self._lines)}")
            return line

    def log(self) -> str:
        with self._changed:
            return "".join(self._lines)

    def post(self, body: bytes, headers: dict[str, str] | None = None) -> tuple[int, bytes]:
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)
        try:
            conn.request("POST", "/2015-03-31/functions/function/invocations", body=body, headers=headers or {})
            response = conn.getresponse()
            return response.status, response.read()
        finally:
            conn.close()

    def stop(self, sig: int, timeout: float = 30.0) -> int:
        self.process.send_signal(sig)
        code = self.process.wait(timeout)
        self._reader.join(timeout)
        return code

    def kill(self) -> None:
        """SIGKILL the emulator and every process it started: its runtimes live in process groups of their own, and
        one left frozen when its emulator dies stays stopped for ever."""
        try:
            started = psutil.Process(self.process.pid).children(recursive=True)
        except psutil.NoSuchProcess:
            started = []
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait()
        for process in started:
            with contextlib.suppress(psutil.NoSuchProcess):
                process.kill()
        psutil.wait_procs(started, timeout=30)
