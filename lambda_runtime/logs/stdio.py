"""What the function prints reaches the log at once, and no log record is ever written into the middle of it.

Lambda makes each line of stdout its own CloudWatch event and collects it through a pipe: text must reach the pipe
as it is written (awslambdaric's `Unbuffered` wrapper of sys.stdout and sys.stderr flushes every write), text without
a newline included, or it would show up in a later invocation, after records written after it, or be lost if the
process is killed. A buffered stream writes a long line (past its 8 KB buffer) in several pieces: a log record
written by another thread in between would split the line. So every write of the function's text and every record
of the runtime's (logs.LineHandler) is written whole under one lock, and a record that finds a line another thread
left open (in the moment between print()'s text and its newline, say) starts on a line of its own. A record of the
thread that left its own line open follows its text on that line, as awslambdaric writes it.
"""

from __future__ import annotations

import sys
import threading
from collections.abc import Iterable
from typing import Any, TextIO

#: Held while a whole line or record is written to stdout or stderr.
OUTPUT_LOCK = threading.RLock()


class WholeLines:
    """Stands in for sys.stdout or sys.stderr: each write goes out whole and at once, under `OUTPUT_LOCK`."""

    def __init__(self, stream: TextIO) -> None:
        self.stream = stream

    def write(self, text: str) -> int:
        if not isinstance(text, str):
            raise TypeError(f"write() argument must be str, not {type(text).__name__}")
        if text:
            with OUTPUT_LOCK:
                self.stream.write(text)
                self.stream.flush()
                _note_line_end(text)
        return len(text)

    def writelines(self, lines: Iterable[str]) -> None:
        for line in lines:
            self.write(line)

    def flush(self) -> None:
        with OUTPUT_LOCK:
            self.stream.flush()

    def __getattr__(self, name: str) -> Any:  # fileno, isatty, encoding, buffer, close...: the stream's own
        return getattr(self.stream, name)


_line_left_open_by: list[int | None] = [None]  # under OUTPUT_LOCK: the thread whose text did not end its line


def _note_line_end(text: str) -> None:
    _line_left_open_by[0] = None if text.endswith("\n") else threading.get_ident()


def write_record(stream: TextIO, line: str) -> None:
    """Write one of the runtime's records (a whole line) under `OUTPUT_LOCK`, on a line of its own."""
    with OUTPUT_LOCK:
        if _line_left_open_by[0] not in (None, threading.get_ident()):
            stream.write("\n")
        _line_left_open_by[0] = None
        stream.write(line)
        stream.flush()


def print_whole_lines() -> None:
    """Make sys.stdout and sys.stderr `WholeLines` (once)."""
    for name in ("stdout", "stderr"):
        stream = getattr(sys, name)
        if stream is not None and not isinstance(stream, WholeLines):
            setattr(sys, name, WholeLines(stream))
