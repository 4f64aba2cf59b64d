"""The one way tests wait for state that has no event to wait on (a file, /proc, a counter another thread bumps).

Where there is an event (a log line, a condition variable, a pipe), wait on it instead. This polls an observable
condition with a generous bound: a barrier, not a timing assumption, and it fails loudly naming what it waited for.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")


def wait_until(condition: Callable[[], T], timeout: float = 30.0, *, what: str = "", interval: float = 0.01) -> T:
    """Return `condition()`'s first truthy value; raise AssertionError (naming `what`) after `timeout` seconds."""
    give_up = time.monotonic() + timeout
    while not (result := condition()):
        if time.monotonic() > give_up:
            raise AssertionError(f"still waiting after {timeout} s for {what or condition}")
        time.sleep(interval)
    return result
