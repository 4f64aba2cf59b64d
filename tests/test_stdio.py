"""sys.stdout and sys.stderr in the runtime: every write goes out whole and at once; a record never splits a line."""

from __future__ import annotations

import io
import threading

from lambda_runtime.logs.stdio import OUTPUT_LOCK, WholeLines, write_record


class Recording(io.StringIO):
    """Remembers each write() it gets, and whether OUTPUT_LOCK was held for it."""

    def __init__(self) -> None:
        super().__init__()
        self.writes: list[str] = []
        self.flushes = 0

    def write(self, text: str) -> int:
        assert OUTPUT_LOCK._is_owned()  # type: ignore[attr-defined]
        self.writes.append(text)
        return super().write(text)

    def flush(self) -> None:
        self.flushes += 1


def test_every_write_goes_out_at_once_whole_and_flushed_under_the_lock():
    stream = Recording()
    out = WholeLines(stream)
    print("x" * 20_000, file=out)  # print() writes the text and the newline separately
    assert stream.writes == ["x" * 20_000, "\n"] and stream.flushes == 2
    out.write("partial")  # no newline: it reaches the stream all the same, before anything written after it
    assert stream.writes[-1] == "partial" and stream.flushes == 3


def test_a_record_starts_on_a_line_of_its_own_when_another_thread_left_a_line_open():
    stream = Recording()
    out = WholeLines(stream)
    printer = threading.Thread(target=lambda: out.write("x" * 100))  # print()'s text, its newline still to come
    printer.start()
    printer.join()
    write_record(stream, "[INFO] a record\n")
    out.write("\n")
    assert stream.getvalue().splitlines()[:2] == ["x" * 100, "[INFO] a record"]


def test_a_record_follows_its_own_threads_open_line_as_awslambdaric_writes_it():
    stream = Recording()
    out = WholeLines(stream)
    out.write("no newline here")
    write_record(stream, "[WARNING] a record\n")
    assert stream.getvalue() == "no newline here[WARNING] a record\n"


def test_everything_else_is_the_streams():
    stream = io.StringIO()
    out = WholeLines(stream)
    assert out.getvalue() == "" and out.closed is False
    out.close()
    assert stream.closed
