"""What the emulator keeps for its users, readable from any thread: records, output, async outcomes.

The event loop writes; tests and the ``Emulator`` facade read, under one condition variable, so that a
reader can block until something appears (``wait_for_*``) instead of polling.
"""

from __future__ import annotations

import collections
import itertools
import logging
import threading
from collections.abc import Callable
from typing import IO, Any, TypeVar

from lambda_runtime.emulator.records import InvocationRecord

logger = logging.getLogger("lambda_runtime.emulator")
#: The runtime's output, line by line, without any prefix.
runtime_logger = logging.getLogger("lambda_runtime.emulator.runtime")

T = TypeVar("T")

#: Output lines kept per kept record (START, END, REPORT and what the function prints).
OUTPUT_LINES_PER_RECORD = 10


class JsonLinesFile:
    """An append-only JSON-lines file (report, destinations), line-buffered so readers see whole lines."""

    def __init__(self, path: str | None) -> None:
        self.path = path
        self._file: IO[str] | None = None

    def open(self) -> None:
        if self.path:
            self._file = open(self.path, "a", encoding="utf-8", buffering=1)  # noqa: SIM115

    def write(self, line: str) -> None:
        if self._file is None:
            return
        try:
            self._file.write(line + "\n")
        except OSError as e:
            logger.error("cannot write %s: %s", self.path, e)

    def close(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None


class Store:
    """``keep_records`` records (with their output) and ``OUTPUT_LINES_PER_RECORD`` times as many output lines
    are kept, the latest ones: memory stays bounded however long the emulator runs (the report file has all)."""

    def __init__(self, keep_records: int = 10_000) -> None:
        self._lock = threading.Condition()
        self._records: collections.deque[InvocationRecord] = collections.deque(maxlen=keep_records)
        self._published = 0
        self._record_ids: dict[str, InvocationRecord] = {}
        self._output: collections.deque[str] = collections.deque(maxlen=keep_records * OUTPUT_LINES_PER_RECORD)
        self._output_total = 0
        self._logs: dict[str, list[str]] = {}
        self._queued = 0
        self._async: collections.deque[dict[str, Any]] = collections.deque(maxlen=keep_records)
        self._async_total = 0
        self._throttles = 0

    def _wait(self, ready: Callable[[], T | None], timeout: float, failure: Callable[[], str]) -> T:
        with self._lock:
            result = self._lock.wait_for(ready, timeout)
            if result is None or result is False:
                raise TimeoutError(f"{failure()} after {timeout} s")
            return result

    # -- written by the event loop -------------------------------------------------------------------

    def output_line(self, line: str, target: list[str] | None) -> None:
        """A line of the function's log: runtime output or a platform line (START, END, REPORT ...)."""
        runtime_logger.info("%s", line)
        with self._lock:
            if target is not None:
                target.append(line)
            self._output.append(line)
            self._output_total += 1
            self._lock.notify_all()

    def publish(self, record: InvocationRecord, log_lines: list[str]) -> None:
        with self._lock:
            if len(self._records) == self._records.maxlen:
                oldest = self._records[0]
                if self._record_ids.get(oldest.request_id) is oldest:
                    del self._record_ids[oldest.request_id]
                    self._logs.pop(oldest.request_id, None)
            self._records.append(record)
            self._published += 1
            self._record_ids[record.request_id] = record  # the latest attempt of a retried event
            self._logs[record.request_id] = log_lines
            self._lock.notify_all()

    def set_queued(self, count: int) -> None:
        with self._lock:
            if count != self._queued:
                self._queued = count
                self._lock.notify_all()

    def count_throttle(self) -> None:
        with self._lock:
            self._throttles += 1

    def add_async_outcome(self, outcome: dict[str, Any]) -> None:
        with self._lock:
            self._async.append(outcome)
            self._async_total += 1
            self._lock.notify_all()

    # -- read from any thread --------------------------------------------------------------------------

    def records(self) -> list[InvocationRecord]:
        with self._lock:
            return list(self._records)

    def wait_for_records(self, count: int, timeout: float) -> list[InvocationRecord]:
        """Once ``count`` records were published in all: the ones kept (all of them, unless more than kept)."""
        return self._wait(
            lambda: list(self._records) if self._published >= count else None,
            timeout,
            lambda: f"{self._published} invocation records, expected {count},",
        )

    def wait_for_record(self, request_id: str, timeout: float) -> InvocationRecord:
        return self._wait(
            lambda: self._record_ids.get(request_id), timeout, lambda: f"no complete record for {request_id}"
        )

    def queued(self) -> int:
        with self._lock:
            return self._queued

    def wait_for_queued(self, count: int, timeout: float) -> None:
        self._wait(lambda: self._queued >= count, timeout, lambda: f"{self._queued} events queued, expected {count},")

    def throttles(self) -> int:
        with self._lock:
            return self._throttles

    def async_outcomes(self) -> list[dict[str, Any]]:
        with self._lock:
            return list(self._async)

    def wait_for_async_outcomes(self, count: int, timeout: float) -> list[dict[str, Any]]:
        return self._wait(
            lambda: list(self._async) if self._async_total >= count else None,
            timeout,
            lambda: f"{self._async_total} async outcomes, expected {count},",
        )

    def runtime_output(self) -> str:
        with self._lock:
            return "".join(line + "\n" for line in self._output)

    def wait_for_output(self, text: str, timeout: float) -> str:
        """Block until ``text`` appears in the output printed from now on or still kept; that output."""
        seen = ""
        lines = self._output_total - len(self._output)  # the total count of lines before the kept ones

        def found() -> str | None:
            nonlocal seen, lines
            start = max(0, len(seen) - len(text))
            fresh = self._output_total - lines
            if fresh > len(self._output):  # more came than is kept: what is gone was never seen here
                fresh = len(self._output)
            seen += "".join(line + "\n" for line in itertools.islice(self._output, len(self._output) - fresh, None))
            lines = self._output_total
            return seen if text in seen[start:] else None

        return self._wait(found, timeout, lambda: f"{text!r} not in the runtime output")

    def invocation_lines(self, request_id: str) -> list[str]:
        """The lines of a kept record's log (START ... REPORT), or none."""
        with self._lock:
            return list(self._logs.get(request_id, []))

    def invocation_output(self, request_id: str) -> str:
        with self._lock:
            return "".join(line + "\n" for line in self._logs.get(request_id, []))
