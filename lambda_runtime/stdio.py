"""What the function prints reaches the log in whole lines, each written at once and never split by another record.

Lambda makes each line of stdout its own CloudWatch event, and collects it through a pipe: a line must reach the
pipe before the environment is frozen (so stdout is flushed at each newline, as awslambdaric's `Unbuffered` wrapper
of sys.stdout and sys.stderr does), and in one piece. A buffered stream writes a long line (past its 8 KB buffer)
in several pieces and `print()` writes the newline separately: a log record written by another thread in between
would split the line. So each thread's text is held until its line is complete, and complete lines and the runtime's
own records (logs.LineHandler) are written under one lock.
"""

from __future__ import annotations

import sys
import threading
from collections.abc import Iterable
from typing import Any, TextIO

#: Held while a whole line or record is written to stdout or stderr.
OUTPUT_LOCK = threading.RLock()


class WholeLines:
    """Stands in for sys.stdout or sys.stderr: each thread's text goes out a line at a time, flushed."""

    def __init__(self, stream: TextIO) -> None:
        self.stream = stream
        self._partial: dict[int, str] = {}  # thread id → its text after its last newline
        self._partial_lock = threading.Lock()

    def write(self, text: str) -> int:
        if not isinstance(text, str):
            raise TypeError(f"write() argument must be str, not {type(text).__name__}")
        me = threading.get_ident()
        with self._partial_lock:
            held = self._partial.pop(me, "") + text
            end = held.rfind("\n") + 1
            if end < len(held):
                self._partial[me] = held[end:]
        if end:
            self._write(held[:end])
        return len(text)

    def writelines(self, lines: Iterable[str]) -> None:
        for line in lines:
            self.write(line)

    def flush(self) -> None:
        """Write out what every thread holds after its last newline (an explicit flush, or the interpreter's exit)."""
        with self._partial_lock:
            held, self._partial = "".join(self._partial.values()), {}
        self._write(held)

    def _write(self, text: str) -> None:
        with OUTPUT_LOCK:
            if text:
                self.stream.write(text)
            self.stream.flush()

    def __getattr__(self, name: str) -> Any:  # fileno, isatty, encoding, buffer, close...: the stream's own
        return getattr(self.stream, name)


def print_whole_lines() -> None:
    """Make sys.stdout and sys.stderr `WholeLines` (once)."""
    for name in ("stdout", "stderr"):
        stream = getattr(sys, name)
        if stream is not None and not isinstance(stream, WholeLines):
            setattr(sys, name, WholeLines(stream))
