"""A watchdog process that kills the runtimes' process groups if the emulator dies without stopping them.

The runtime itself gets SIGKILL when the emulator dies (``PR_SET_PDEATHSIG``, see ``environment.py``), but its own
children do not: they stay in its process group, stopped (SIGSTOP) if the environment was frozen, and a new session's
group is never "orphaned" in the POSIX sense, so the kernel does not continue them either. The watchdog is a small
process of its own session, never frozen, told on a pipe which groups are alive (``+pgid`` / ``-pgid`` lines). When
the pipe ends (the emulator is gone, however it went) it sends SIGKILL to each group still listed, then exits.
"""

from __future__ import annotations

import contextlib
import logging
import subprocess
import sys

logger = logging.getLogger("lambda_runtime.emulator")

_PROGRAM = """
import os, signal, sys
groups = set()
for line in sys.stdin:
    sign, pgid = line[:1], int(line[1:])
    (groups.add if sign == "+" else groups.discard)(pgid)
for pgid in groups:
    try:
        os.killpg(pgid, signal.SIGKILL)
    except OSError:
        pass
"""


class Watchdog:
    """:meth:`watch` and :meth:`forget` a runtime's group (the first ``watch`` starts the watchdog); :meth:`close`
    at the end."""

    def __init__(self) -> None:
        self._process: subprocess.Popen[str] | None = None
        self._started = False

    def _start(self) -> None:
        self._started = True
        try:
            self._process = subprocess.Popen(
                [sys.executable, "-I", "-S", "-c", _PROGRAM],
                stdin=subprocess.PIPE,
                text=True,
                start_new_session=True,  # no terminal signal (Ctrl-C) reaches it, and it is never frozen
            )
        except OSError as error:
            logger.warning("no watchdog for the runtimes' processes (%s): they may outlive a killed emulator", error)

    def watch(self, pgid: int) -> None:
        if not self._started:
            self._start()
        self._send(f"+{pgid}\n")

    def forget(self, pgid: int) -> None:
        self._send(f"-{pgid}\n")

    def close(self) -> None:
        """After every runtime was stopped: the watchdog finds nothing left to kill and exits."""
        process, self._process = self._process, None
        if process is None:
            return
        with contextlib.suppress(OSError):
            assert process.stdin is not None
            process.stdin.close()
        try:
            process.wait(timeout=2.0)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()

    def _send(self, line: str) -> None:
        if self._process is None or self._process.stdin is None:
            return
        try:
            self._process.stdin.write(line)
            self._process.stdin.flush()
        except OSError:  # the watchdog died: the runtimes' own death signal is all that is left
            self._process = None
