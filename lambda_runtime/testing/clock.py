"""The deferred jobs' clock in tests: it stands still until the test moves it."""

from __future__ import annotations

import math
import threading
import time


class SimulatedClock:
    """Monotonic seconds, as `time.monotonic()`, that pass only through `advance()`.

    It starts at the real monotonic time, so a process job (whose worker reads the real clock) sees about the
    deadline it would see on Lambda.
    """

    def __init__(self, start: float | None = None) -> None:
        self._now = time.monotonic() if start is None else start
        self._lock = threading.Lock()

    def __call__(self) -> float:
        return self._now

    def advance(self, seconds: float) -> None:
        if not (math.isfinite(seconds) and seconds >= 0):
            raise ValueError(f"advance() takes a finite number of seconds >= 0, got {seconds!r}")
        with self._lock:
            self._now += seconds

    def advance_to(self, when: float) -> None:
        """Move to `when` (on this clock), if it is later than now."""
        with self._lock:
            self._now = max(self._now, when)
