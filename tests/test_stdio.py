"""sys.stdout and sys.stderr in the runtime: each thread's lines go out whole, flushed at each newline."""

from __future__ import annotations

import io
import threading

from lambda_runtime.stdio import OUTPUT_LOCK, WholeLines


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


def test_text_is_held_until_its_line_is_complete_then_written_at_once_and_flushed():
    stream = Recording()
    out = WholeLines(stream)
    print("x" * 20_000, file=out)  # print() writes the text and the newline separately
    out.write("partial")
    assert stream.writes == ["x" * 20_000 + "\n"] and stream.flushes == 1
    out.write(" line\nand more")
    assert stream.writes[-1] == "partial line\n"
    out.flush()  # an explicit flush (or the interpreter's exit) lets the rest go
    assert stream.writes[-1] == "and more" and stream.getvalue().endswith("partial line\nand more")


def test_threads_partial_lines_are_kept_apart():
    stream = Recording()
    out = WholeLines(stream)
    out.write("a1 ")
    other = threading.Thread(target=lambda: out.write("b1 b2\n"))
    other.start()
    other.join()
    out.write("a2\n")
    assert stream.writes == ["b1 b2\n", "a1 a2\n"]


def test_everything_else_is_the_streams():
    stream = io.StringIO()
    out = WholeLines(stream)
    assert out.getvalue() == "" and out.closed is False
    out.close()
    assert stream.closed
