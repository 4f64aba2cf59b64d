"""What `lambda-runtime serve` shows on the terminal: each log record whole (a traceback's lines one under the
other, the error message first), colour on a terminal only, and none with NO_COLOR."""

from __future__ import annotations

import os
import pty
import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from lambda_runtime.emulator.console import DIM, RED, RESET, YELLOW, colour_of_record, readable
from tests.conftest import FUNCTIONS
from tests.emulator_functions.harness import CliServer

MESSAGE = "[ERROR] TypeError: defer() fn must be callable, got a NoneType"


class Terminal:
    """A pseudo-terminal for the emulator's stdout, read by a thread; ``wait_for`` blocks until a text shows."""

    def __init__(self) -> None:
        self.master, self.slave = pty.openpty()
        self._text = ""
        self._changed = threading.Condition()
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        while True:
            try:
                chunk = os.read(self.master, 65536)
            except OSError:  # EIO: every writer closed it
                chunk = b""
            with self._changed:
                if not chunk:
                    self._text += "\0"  # end
                    self._changed.notify_all()
                    return
                self._text += chunk.decode("utf-8", errors="replace")
                self._changed.notify_all()

    def wait_for(self, text: str, timeout: float = 60.0) -> str:
        with self._changed:
            assert self._changed.wait_for(lambda: text in self._text or "\0" in self._text, timeout), self._text
            assert text in self._text, self._text
            # A terminal's line discipline writes "\n" as "\r\n": what is left is what the program wrote.
            return self._text.replace("\r\n", "\n")

    def close(self) -> None:
        os.close(self.slave)
        self._reader.join(10)
        os.close(self.master)


@contextmanager
def serving_on_a_terminal(env: dict[str, str]) -> Iterator[tuple[CliServer, Terminal]]:
    terminal = Terminal()
    cli = CliServer("deferring.defer_none", cwd=FUNCTIONS, stdout=terminal.slave, env=env)
    try:
        yield cli, terminal
        assert cli.stop(signal.SIGINT) == 0
    finally:
        cli.kill()
        terminal.close()


def invoke_and_read(cli: CliServer, terminal: Terminal) -> str:
    status, _ = cli.post(b"{}")
    assert status == 200
    return terminal.wait_for("REPORT RequestId")


def test_a_traceback_shows_line_by_line_after_its_message_when_output_is_not_a_terminal(tmp_path: Path) -> None:
    out = tmp_path / "stdout"
    with out.open("w") as stdout:
        cli = CliServer("deferring.defer_none", cwd=FUNCTIONS, stdout=stdout, env={**os.environ, "NO_COLOR": ""})
        try:
            assert cli.post(b"{}")[0] == 200
            cli.wait_for_line(" error (TypeError) ")  # the invocation ended: its lines were written before
            assert cli.stop(signal.SIGINT) == 0
        finally:
            cli.kill()
    text = out.read_text()
    assert "\r" not in text and "\033[" not in text  # a file gets plain text, whatever the environment says
    lines = text.splitlines()
    first = lines.index(MESSAGE)  # the message on a line of its own, not overwritten by the traceback
    assert lines[first + 1] == "Traceback (most recent call last):"
    assert lines[first + 2].strip().startswith('File "') and lines[first + 3].strip().startswith("context.defer(None)")
    assert any("raise TypeError" in line for line in lines[first + 4 :])


def test_colour_on_a_terminal() -> None:
    with serving_on_a_terminal({**os.environ, "NO_COLOR": "", "TERM": "xterm"}) as (cli, terminal):
        text = invoke_and_read(cli, terminal)
    assert f"{RED}{MESSAGE}\nTraceback (most recent call last):\n" in text
    assert "\r" not in text  # no line overwrites another, on the terminal either
    (start,) = [line for line in text.splitlines() if "START RequestId" in line]
    assert start.startswith(DIM) and start.endswith(RESET)


def test_no_colour_on_a_terminal_with_no_color() -> None:
    with serving_on_a_terminal({**os.environ, "NO_COLOR": "1"}) as (cli, terminal):
        text = invoke_and_read(cli, terminal)
    assert f"\n{MESSAGE}\nTraceback (most recent call last):\n" in text
    assert "\033[" not in text and "\r" not in text


def test_records_of_each_kind_get_their_colour() -> None:
    assert colour_of_record("[WARNING]\t2024-01-02T03:04:05.678Z\trid\tslow") == YELLOW
    assert colour_of_record('{"timestamp": "x", "level": "ERROR", "message": "boom"}') == RED
    assert colour_of_record("[INFO]\t2024-01-02T03:04:05.678Z\trid\tfine") == ""
    assert colour_of_record("REPORT RequestId: r\tDuration: 1.00 ms") == DIM
    assert colour_of_record("2024-01-02T03:04:05.678Z r Task timed out after 1.00 seconds") == RED
    assert colour_of_record("RequestId: r Error: Runtime exited with error: exit status 7") == RED
    assert readable("a\rb\r\nc") == "a\nb\nc"
